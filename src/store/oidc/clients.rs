//! OpenID Connect clients (`clients`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Client {
    pub id: Uuid,
    pub org_id: Uuid,
    pub client_id: String,
    pub name: String,
    /// `confidential`, `public` or `service`.
    pub kind: String,
    /// `web` or `native`.
    pub application_type: String,
    #[serde(skip)]
    pub secret_hash: Option<Vec<u8>>,
    pub token_endpoint_auth_method: String,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    /// JSON array of exact post-logout redirect URIs.
    pub post_logout_redirect_uris: String,
    /// Space-separated scopes the client may ask for.
    pub allowed_scopes: String,
    /// Space-separated grant types.
    pub grant_types: String,
    /// JWS alg for ID and access tokens: RS256, ES256 or EdDSA.
    pub signing_alg: String,
    /// The client's public JWK Set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub first_party: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Device-flow tokens need an admin's approval after the user's (RFC 8628 + admin).
    pub requires_admin_approval: bool,
}

#[async_trait]
pub trait ClientStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self, org_id: Uuid) -> StoreResult<Vec<Client>>;
    async fn set_client_secret(
        &self,
        client_id: &str,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Disables a client and revokes every grant it holds.
    async fn disable_client(&self, client_id: &str, now: DateTime<Utc>) -> StoreResult<bool>;
}

/// Implements [`ClientStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_client_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::oidc::clients::{Client, ClientStore};
            use $crate::store::sql::insert_into;
            use $crate::store::sql::select;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const CLIENT_COLS: &str = "id, org_id, client_id, name, kind, application_type, secret_hash, \
                token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, allowed_scopes, \
                grant_types, signing_alg, jwks, backchannel_logout_uri, first_party, disabled, created_at, updated_at, \
                requires_admin_approval";

            #[async_trait::async_trait]
            impl ClientStore for $store {
                async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                    insert_into!($db, "clients", c => {
                        id, org_id, client_id, name, kind, application_type, secret_hash,
                        token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, allowed_scopes,
                        grant_types, signing_alg, jwks, backchannel_logout_uri, first_party, disabled,
                        created_at, updated_at, requires_admin_approval,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
                    Ok(select!($db, Client, "SELECT {CLIENT_COLS} FROM clients WHERE client_id = $1", client_id).fetch_optional(&self.pool).await?)
                }

                async fn list_clients(&self, org_id: Uuid) -> StoreResult<Vec<Client>> {
                    Ok(select!($db, Client, "SELECT {CLIENT_COLS} FROM clients WHERE org_id = $1 ORDER BY created_at", org_id).fetch_all(&self.pool).await?)
                }

                async fn set_client_secret(&self, client_id: &str, hash: &[u8], now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>("UPDATE clients SET secret_hash = $2, updated_at = $3 WHERE client_id = $1")
                        .bind(client_id)
                        .bind(hash)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn disable_client(&self, client_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let mut tx = self.pool.begin().await?;
                    let r = sqlx::query::<$db>(
                        "UPDATE clients SET disabled = TRUE, updated_at = $2 WHERE client_id = $1 AND disabled = FALSE",
                    )
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query::<$db>(
                        "UPDATE token_families SET revoked_at = $2, revoked_reason = 'client_disabled' \
                         WHERE client_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(r.rows_affected() == 1)
                }
            }
        };
    };
}

pub(crate) use impl_client_store;
