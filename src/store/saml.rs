//! SAML persistence: service providers, pending AuthnRequests (resumed after the
//! login page), request IDs already answered (replay refusal), and which service
//! providers took part in each browser session (for Single Logout).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ServiceProvider {
    pub id: Uuid,
    pub org_id: Uuid,
    pub entity_id: String,
    pub name: String,
    /// JSON array of `{ "index", "url", "binding", "default" }`.
    pub acs: String,
    pub slo_url: Option<String>,
    /// Binding URI of the SLO endpoint.
    pub slo_binding: Option<String>,
    /// JSON array of base64 DER signing certificates.
    pub signing_certs: String,
    /// Base64 DER encryption certificate, if the SP published one.
    pub encryption_cert: Option<String>,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
    /// `persistent`, `transient` or `email`.
    pub name_id_format: String,
    /// Space-separated attribute names released: `email`, `name`, `groups`.
    pub attributes: String,
    pub sign_response: bool,
    pub sign_assertion: bool,
    /// Send the Assertion encrypted (AES-256-GCM, key wrapped with RSA-OAEP) to the
    /// SP's encryption certificate.
    pub encrypt_assertions: bool,
    pub idp_initiated: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An AuthnRequest waiting for the user to sign in.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingRequest {
    pub id: String,
    pub sp_entity_id: String,
    /// The AuthnRequest ID (None for IdP-initiated SSO).
    pub request_id: Option<String>,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
    /// The RequestedAuthnContext: comparison, then the class refs, space-separated.
    pub authn_context: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The NameID format URI the request's NameIDPolicy asked for instead of the
    /// SP's configured one (only transient); None: the SP's format.
    pub name_id_format: Option<String>,
}

/// A service provider that received an assertion within a session.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SessionSp {
    pub session_id: Uuid,
    pub sp_entity_id: String,
    pub name_id: String,
    pub name_id_format: String,
    pub session_index: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait SamlStore {
    async fn insert_sp(&self, sp: &ServiceProvider) -> StoreResult<()>;
    async fn get_sp(&self, entity_id: &str) -> StoreResult<Option<ServiceProvider>>;
    async fn list_sps(&self, org_id: Uuid) -> StoreResult<Vec<ServiceProvider>>;
    /// Disables an SP (no more assertions); false when unknown or already disabled.
    async fn disable_sp(
        &self,
        org_id: Uuid,
        entity_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn insert_pending_request(&self, p: &PendingRequest) -> StoreResult<()>;
    async fn get_pending_request(&self, id: &str) -> StoreResult<Option<PendingRequest>>;
    async fn delete_pending_request(&self, id: &str) -> StoreResult<bool>;

    /// Records an AuthnRequest/LogoutRequest ID of an SP; false when seen before.
    async fn record_request_id(
        &self,
        sp_entity_id: &str,
        request_id: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Records (or refreshes) an SP's part in a session.
    async fn put_session_sp(&self, s: &SessionSp) -> StoreResult<()>;
    async fn list_session_sps(&self, session_id: Uuid) -> StoreResult<Vec<SessionSp>>;
    async fn delete_session_sp(&self, session_id: Uuid, sp_entity_id: &str) -> StoreResult<bool>;
    /// The participation an SP names by SessionIndex.
    async fn find_session_sp(
        &self,
        sp_entity_id: &str,
        session_index: &str,
    ) -> StoreResult<Option<SessionSp>>;
    /// Participations of an SP by NameID (newest first).
    async fn find_session_sps_by_name_id(
        &self,
        sp_entity_id: &str,
        name_id: &str,
    ) -> StoreResult<Vec<SessionSp>>;
    /// Deletes pending requests and request IDs past their expiry.
    async fn purge_saml(&self, now: DateTime<Utc>) -> StoreResult<()>;
}

/// Implements [`SamlStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_saml_store {
    ($store:ty, $db:ty) => {
        mod __saml_impl {
            use super::*;
            use $crate::store::saml::{PendingRequest, SamlStore, ServiceProvider, SessionSp};
            use $crate::store::sql::insert_into;
            use $crate::store::sql::select;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const SP_COLS: &str = "id, org_id, entity_id, name, acs, slo_url, slo_binding, signing_certs, \
                encryption_cert, authn_requests_signed, want_assertions_signed, name_id_format, attributes, \
                sign_response, sign_assertion, encrypt_assertions, idp_initiated, disabled, created_at, updated_at";
            const PENDING_COLS: &str = "id, sp_entity_id, request_id, acs_url, relay_state, force_authn, \
                authn_context, created_at, expires_at, name_id_format";
            const SESSION_SP_COLS: &str = "session_id, sp_entity_id, name_id, name_id_format, session_index, created_at";

            #[async_trait::async_trait]
            impl SamlStore for $store {
                async fn insert_sp(&self, sp: &ServiceProvider) -> StoreResult<()> {
                    insert_into!($db, "saml_service_providers", sp => {
                        id, org_id, entity_id, name, acs, slo_url, slo_binding, signing_certs, encryption_cert,
                        authn_requests_signed, want_assertions_signed, name_id_format, attributes,
                        sign_response, sign_assertion, encrypt_assertions, idp_initiated, disabled,
                        created_at, updated_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_sp(&self, entity_id: &str) -> StoreResult<Option<ServiceProvider>> {
                    Ok(select!($db, ServiceProvider, "SELECT {SP_COLS} FROM saml_service_providers WHERE entity_id = $1", entity_id).fetch_optional(&self.pool).await?)
                }

                async fn list_sps(&self, org_id: Uuid) -> StoreResult<Vec<ServiceProvider>> {
                    Ok(select!($db, ServiceProvider, "SELECT {SP_COLS} FROM saml_service_providers WHERE org_id = $1 ORDER BY created_at", org_id).fetch_all(&self.pool).await?)
                }

                async fn disable_sp(&self, org_id: Uuid, entity_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE saml_service_providers SET disabled = TRUE, updated_at = $3 \
                         WHERE org_id = $1 AND entity_id = $2 AND disabled = FALSE",
                    )
                    .bind(org_id)
                    .bind(entity_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn insert_pending_request(&self, p: &PendingRequest) -> StoreResult<()> {
                    insert_into!($db, "saml_pending_requests", p => {
                        id, sp_entity_id, request_id, acs_url, relay_state, force_authn, authn_context,
                        created_at, expires_at, name_id_format,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_pending_request(&self, id: &str) -> StoreResult<Option<PendingRequest>> {
                    Ok(select!($db, PendingRequest, "SELECT {PENDING_COLS} FROM saml_pending_requests WHERE id = $1", id).fetch_optional(&self.pool).await?)
                }

                async fn delete_pending_request(&self, id: &str) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>("DELETE FROM saml_pending_requests WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn record_request_id(
                    &self,
                    sp_entity_id: &str,
                    request_id: &str,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = insert_into!($db, "saml_request_ids", { sp_entity_id, request_id, expires_at },
                        on_conflict: "ON CONFLICT (sp_entity_id, request_id) DO NOTHING")
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn put_session_sp(&self, s: &SessionSp) -> StoreResult<()> {
                    insert_into!($db, "saml_session_sps", s => {
                        session_id, sp_entity_id, name_id, name_id_format, session_index, created_at,
                    }, on_conflict: "ON CONFLICT (session_id, sp_entity_id) DO UPDATE SET name_id = excluded.name_id, \
                         name_id_format = excluded.name_id_format, session_index = excluded.session_index, \
                         created_at = excluded.created_at")
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn list_session_sps(&self, session_id: Uuid) -> StoreResult<Vec<SessionSp>> {
                    Ok(select!($db, SessionSp, "SELECT {SESSION_SP_COLS} FROM saml_session_sps WHERE session_id = $1 ORDER BY created_at", session_id).fetch_all(&self.pool).await?)
                }

                async fn delete_session_sp(&self, session_id: Uuid, sp_entity_id: &str) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "DELETE FROM saml_session_sps WHERE session_id = $1 AND sp_entity_id = $2",
                    )
                    .bind(session_id)
                    .bind(sp_entity_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn find_session_sp(
                    &self,
                    sp_entity_id: &str,
                    session_index: &str,
                ) -> StoreResult<Option<SessionSp>> {
                    Ok(select!($db, SessionSp, "SELECT {SESSION_SP_COLS} FROM saml_session_sps WHERE sp_entity_id = $1 AND session_index = $2", sp_entity_id, session_index).fetch_optional(&self.pool).await?)
                }

                async fn find_session_sps_by_name_id(
                    &self,
                    sp_entity_id: &str,
                    name_id: &str,
                ) -> StoreResult<Vec<SessionSp>> {
                    Ok(select!($db, SessionSp, "SELECT {SESSION_SP_COLS} FROM saml_session_sps WHERE sp_entity_id = $1 AND name_id = $2 \
                         ORDER BY created_at DESC", sp_entity_id, name_id).fetch_all(&self.pool).await?)
                }

                async fn purge_saml(&self, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>("DELETE FROM saml_pending_requests WHERE expires_at < $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    sqlx::query::<$db>("DELETE FROM saml_request_ids WHERE expires_at < $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use impl_saml_store;
