//! OpenID Connect persistence: clients, authorization codes, token families, refresh
//! tokens, revoked access tokens, consents, which clients took part in a session, and
//! the back-channel logout queue.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::StoreResult;

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

/// Everything issued from one authorization (a code, then its refresh chain).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TokenFamily {
    pub id: Uuid,
    pub client_id: String,
    pub user_id: Uuid,
    /// The browser session it came from (the `sid` of its tokens).
    pub session_id: Option<Uuid>,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub acr: String,
    /// `offline_access`: the grant outlives its session.
    pub offline: bool,
    /// The `claims` request parameter (JSON) the grant was made with.
    pub claims: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    /// Support engineer the tokens act for the user on behalf of (RFC 8693 `act`).
    pub impersonator_id: Option<Uuid>,
    pub support_grant_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuthCode {
    pub code_hash: Vec<u8>,
    pub family_id: Uuid,
    pub client_id: String,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (then the token
    /// request must repeat it).
    pub redirect_uri_given: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// The `claims` request parameter (JSON), if any.
    pub claims: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub acr: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub family_id: Uuid,
    pub client_id: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when it was exchanged (rotated); a second use is a reuse.
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BackchannelJob {
    pub id: Uuid,
    pub client_id: String,
    pub uri: String,
    #[serde(skip)]
    pub logout_token: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// One OAuth 2.0 Device Authorization Grant (RFC 8628) request.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DeviceAuthorization {
    pub id: Uuid,
    pub org_id: Uuid,
    #[serde(skip)]
    pub device_code_hash: Vec<u8>,
    #[serde(skip)]
    pub user_code_hash: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    /// `pending` (waiting for the user), `awaiting_admin`, `approved`, `denied`, `used`.
    pub status: String,
    /// The user who approved (or denied) the request.
    pub user_id: Option<Uuid>,
    pub auth_time: Option<DateTime<Utc>>,
    pub amr: Option<String>,
    pub acr: Option<String>,
    /// Minimum seconds between polls (grows by 5 at each `slow_down`).
    pub interval_secs: i64,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_by: Option<String>,
    /// The grant its tokens belong to, once exchanged.
    pub family_id: Option<Uuid>,
}

/// The user's answer to a device request.
#[derive(Debug, Clone)]
pub struct DeviceUserDecision {
    pub user_id: Uuid,
    /// `awaiting_admin`, `approved` or `denied`.
    pub status: String,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub acr: String,
    /// New expiry (an admin may take longer than the user had).
    pub expires_at: DateTime<Utc>,
}

/// Key prefix of used fresh-login markers in the single-use table.
pub const FRESH_LOGIN_PREFIX: &str = "\u{1}fresh-login:";

/// Result of a single-use exchange (code or refresh token).
#[derive(Debug)]
pub enum Consumed<T> {
    /// Marked used by this call.
    Fresh(T),
    /// It had been used before: a replay.
    Reused(T),
    Unknown,
}

#[async_trait]
pub trait OidcStore {
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

    async fn insert_family(&self, f: &TokenFamily) -> StoreResult<()>;
    async fn get_family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>>;
    /// Revokes one family; false if it was revoked already.
    async fn revoke_family(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<bool>;
    /// Revokes the session-bound (not `offline_access`) families of these sessions.
    async fn revoke_families_for_sessions(
        &self,
        sessions: &[Uuid],
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<u64>;

    async fn insert_auth_code(&self, c: &AuthCode) -> StoreResult<()>;
    /// Marks the code used, if it was issued to `client_id` (one statement). A code
    /// issued to another client is left untouched and reported as `Unknown`.
    async fn consume_auth_code(
        &self,
        code_hash: &[u8],
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Consumed<AuthCode>>;

    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()>;
    async fn consume_refresh_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Consumed<RefreshToken>>;
    async fn find_refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;

    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Records a client assertion's `jti` (or a fresh-login marker, under
    /// [`FRESH_LOGIN_PREFIX`]); false when it was seen before (a replay).
    async fn record_assertion_jti(&self, jti: &str, expires_at: DateTime<Utc>)
        -> StoreResult<bool>;

    async fn get_consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<String>>;
    async fn put_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn add_session_client(
        &self,
        session_id: Uuid,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn list_session_clients(&self, session_id: Uuid) -> StoreResult<Vec<String>>;

    async fn enqueue_backchannel(&self, job: &BackchannelJob) -> StoreResult<()>;
    /// Claims up to `limit` due jobs until `claim_until` (so replicas do not send twice).
    async fn claim_backchannel(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<BackchannelJob>>;
    async fn backchannel_delivered(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    async fn backchannel_retry(
        &self,
        id: Uuid,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()>;
    async fn backchannel_failed(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()>;
    async fn list_backchannel(&self) -> StoreResult<Vec<BackchannelJob>>;

    async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()>;
    async fn get_device(&self, id: Uuid) -> StoreResult<Option<DeviceAuthorization>>;
    async fn find_device_by_user_code(
        &self,
        user_code_hash: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>>;
    async fn find_device_by_device_code(
        &self,
        device_code_hash: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Records the user's answer to a pending, unexpired request; false otherwise.
    async fn decide_device_by_user(
        &self,
        id: Uuid,
        d: &DeviceUserDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records an admin's answer to a request awaiting one; false otherwise.
    async fn decide_device_by_admin(
        &self,
        id: Uuid,
        approve: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records a poll unless the previous one was after `not_after` (then: too fast,
    /// and the interval grows by `slow_down_secs`). True when the poll is allowed.
    async fn poll_device(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        not_after: DateTime<Utc>,
        slow_down_secs: i64,
    ) -> StoreResult<bool>;
    /// Marks an approved request used by the grant `family_id`; false if it was not
    /// approved (any more), so only one exchange wins.
    async fn consume_device(&self, id: Uuid, family_id: Uuid) -> StoreResult<bool>;
    /// Denies the device requests a user answered that the device has not exchanged
    /// yet (approved, or waiting for an admin): their tokens would outlive a
    /// credential change. Returns how many.
    async fn deny_open_devices_for_user(&self, user_id: Uuid) -> StoreResult<u64>;
    async fn list_devices(
        &self,
        org_id: Uuid,
        status: Option<&str>,
    ) -> StoreResult<Vec<DeviceAuthorization>>;
}

/// Implements [`OidcStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_oidc_store {
    ($store:ty, $db:ty) => {
        mod __oidc_impl {
            use super::*;
            use $crate::store::oidc::{
                AuthCode, BackchannelJob, Client, Consumed, DeviceAuthorization, DeviceUserDecision, OidcStore,
                RefreshToken, TokenFamily,
            };
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const CLIENT_COLS: &str = "id, org_id, client_id, name, kind, application_type, secret_hash, \
                token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris, allowed_scopes, \
                grant_types, signing_alg, jwks, backchannel_logout_uri, first_party, disabled, created_at, updated_at, \
                requires_admin_approval";
            const DEVICE_COLS: &str = "id, org_id, device_code_hash, user_code_hash, client_id, scope, status, user_id, \
                auth_time, amr, acr, interval_secs, last_polled_at, created_at, expires_at, user_decided_at, \
                admin_decided_at, admin_decided_by, family_id";
            const FAMILY_COLS: &str = "id, client_id, user_id, session_id, scope, auth_time, amr, acr, offline, \
                claims, created_at, revoked_at, revoked_reason, impersonator_id, support_grant_id";
            const CODE_COLS: &str = "code_hash, family_id, client_id, user_id, session_id, redirect_uri, \
                redirect_uri_given, scope, nonce, code_challenge, claims, auth_time, amr, acr, created_at, expires_at, used_at";
            const RT_COLS: &str = "id, token_hash, family_id, client_id, scope, created_at, expires_at, used_at";
            const BC_COLS: &str = "id, client_id, uri, logout_token, attempts, next_attempt_at, claimed_until, \
                created_at, delivered_at, failed_at, last_error";

            #[async_trait::async_trait]
            impl OidcStore for $store {
                async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO clients ({CLIENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
                    )))
                    .bind(c.id)
                    .bind(c.org_id)
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(&c.kind)
                    .bind(&c.application_type)
                    .bind(&c.secret_hash)
                    .bind(&c.token_endpoint_auth_method)
                    .bind(&c.redirect_uris)
                    .bind(&c.post_logout_redirect_uris)
                    .bind(&c.allowed_scopes)
                    .bind(&c.grant_types)
                    .bind(&c.signing_alg)
                    .bind(&c.jwks)
                    .bind(&c.backchannel_logout_uri)
                    .bind(c.first_party)
                    .bind(c.disabled)
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .bind(c.requires_admin_approval)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
                    Ok(sqlx::query_as::<$db, Client>(sqlx::AssertSqlSafe(format!(
                        "SELECT {CLIENT_COLS} FROM clients WHERE client_id = $1"
                    )))
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn list_clients(&self, org_id: Uuid) -> StoreResult<Vec<Client>> {
                    Ok(sqlx::query_as::<$db, Client>(sqlx::AssertSqlSafe(format!(
                        "SELECT {CLIENT_COLS} FROM clients WHERE org_id = $1 ORDER BY created_at"
                    )))
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?)
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

                async fn insert_family(&self, f: &TokenFamily) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO token_families ({FAMILY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                    )))
                    .bind(f.id)
                    .bind(&f.client_id)
                    .bind(f.user_id)
                    .bind(f.session_id)
                    .bind(&f.scope)
                    .bind(f.auth_time)
                    .bind(&f.amr)
                    .bind(&f.acr)
                    .bind(f.offline)
                    .bind(&f.claims)
                    .bind(f.created_at)
                    .bind(f.revoked_at)
                    .bind(&f.revoked_reason)
                    .bind(f.impersonator_id)
                    .bind(f.support_grant_id)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>> {
                    Ok(sqlx::query_as::<$db, TokenFamily>(sqlx::AssertSqlSafe(format!(
                        "SELECT {FAMILY_COLS} FROM token_families WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn revoke_family(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE token_families SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(reason)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn revoke_families_for_sessions(
                    &self,
                    sessions: &[Uuid],
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<u64> {
                    let mut n = 0;
                    for s in sessions {
                        n += sqlx::query::<$db>(
                            "UPDATE token_families SET revoked_at = $2, revoked_reason = $3 \
                             WHERE session_id = $1 AND offline = FALSE AND revoked_at IS NULL",
                        )
                        .bind(s)
                        .bind(now)
                        .bind(reason)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    }
                    Ok(n)
                }

                async fn insert_auth_code(&self, c: &AuthCode) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO authorization_codes ({CODE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                         $10, $11, $12, $13, $14, $15, $16, $17)"
                    )))
                    .bind(&c.code_hash)
                    .bind(c.family_id)
                    .bind(&c.client_id)
                    .bind(c.user_id)
                    .bind(c.session_id)
                    .bind(&c.redirect_uri)
                    .bind(c.redirect_uri_given)
                    .bind(&c.scope)
                    .bind(&c.nonce)
                    .bind(&c.code_challenge)
                    .bind(&c.claims)
                    .bind(c.auth_time)
                    .bind(&c.amr)
                    .bind(&c.acr)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .bind(c.used_at)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn consume_auth_code(
                    &self,
                    code_hash: &[u8],
                    client_id: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Consumed<AuthCode>> {
                    let fresh = sqlx::query_as::<$db, AuthCode>(sqlx::AssertSqlSafe(format!(
                        "UPDATE authorization_codes SET used_at = $2 \
                         WHERE code_hash = $1 AND client_id = $3 AND used_at IS NULL \
                         RETURNING {CODE_COLS}"
                    )))
                    .bind(code_hash)
                    .bind(now)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(c) = fresh {
                        return Ok(Consumed::Fresh(c));
                    }
                    let old = sqlx::query_as::<$db, AuthCode>(sqlx::AssertSqlSafe(format!(
                        "SELECT {CODE_COLS} FROM authorization_codes WHERE code_hash = $1 AND client_id = $2"
                    )))
                    .bind(code_hash)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(old.map(Consumed::Reused).unwrap_or(Consumed::Unknown))
                }

                async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO refresh_tokens ({RT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    )))
                    .bind(t.id)
                    .bind(&t.token_hash)
                    .bind(t.family_id)
                    .bind(&t.client_id)
                    .bind(&t.scope)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .bind(t.used_at)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn consume_refresh_token(
                    &self,
                    token_hash: &[u8],
                    now: DateTime<Utc>,
                ) -> StoreResult<Consumed<RefreshToken>> {
                    let fresh = sqlx::query_as::<$db, RefreshToken>(sqlx::AssertSqlSafe(format!(
                        "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                         RETURNING {RT_COLS}"
                    )))
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(t) = fresh {
                        return Ok(Consumed::Fresh(t));
                    }
                    Ok(self.find_refresh_token(token_hash).await?.map(Consumed::Reused).unwrap_or(Consumed::Unknown))
                }

                async fn find_refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
                    Ok(sqlx::query_as::<$db, RefreshToken>(sqlx::AssertSqlSafe(format!(
                        "SELECT {RT_COLS} FROM refresh_tokens WHERE token_hash = $1"
                    )))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                        .bind(jti)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
                    let row: Option<(String,)> = sqlx::query_as::<$db, (String,)>("SELECT jti FROM revoked_tokens WHERE jti = $1")
                        .bind(jti)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.is_some())
                }

                async fn record_assertion_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "INSERT INTO used_assertions (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                    )
                    .bind(jti)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn get_consent(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<String>> {
                    let row: Option<(String,)> = sqlx::query_as::<$db, (String,)>(
                        "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2",
                    )
                    .bind(user_id)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(s,)| s))
                }

                async fn put_consent(&self, user_id: Uuid, client_id: &str, scope: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                    )
                    .bind(user_id)
                    .bind(client_id)
                    .bind(scope)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn add_session_client(&self, session_id: Uuid, client_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "INSERT INTO session_clients (session_id, client_id, first_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (session_id, client_id) DO NOTHING",
                    )
                    .bind(session_id)
                    .bind(client_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn list_session_clients(&self, session_id: Uuid) -> StoreResult<Vec<String>> {
                    let rows: Vec<(String,)> = sqlx::query_as::<$db, (String,)>(
                        "SELECT client_id FROM session_clients WHERE session_id = $1 ORDER BY first_at",
                    )
                    .bind(session_id)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(|(c,)| c).collect())
                }

                async fn enqueue_backchannel(&self, j: &BackchannelJob) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO backchannel_queue ({BC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    )))
                    .bind(j.id)
                    .bind(&j.client_id)
                    .bind(&j.uri)
                    .bind(&j.logout_token)
                    .bind(j.attempts)
                    .bind(j.next_attempt_at)
                    .bind(j.claimed_until)
                    .bind(j.created_at)
                    .bind(j.delivered_at)
                    .bind(j.failed_at)
                    .bind(&j.last_error)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn claim_backchannel(
                    &self,
                    now: DateTime<Utc>,
                    claim_until: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<Vec<BackchannelJob>> {
                    let due: Vec<(Uuid,)> = sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT id FROM backchannel_queue WHERE delivered_at IS NULL AND failed_at IS NULL \
                         AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) \
                         ORDER BY next_attempt_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut out = Vec::new();
                    for (id,) in due {
                        let job = sqlx::query_as::<$db, BackchannelJob>(sqlx::AssertSqlSafe(format!(
                            "UPDATE backchannel_queue SET claimed_until = $2, attempts = attempts + 1 \
                             WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL \
                             AND (claimed_until IS NULL OR claimed_until <= $3) RETURNING {BC_COLS}"
                        )))
                        .bind(id)
                        .bind(claim_until)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                        out.extend(job);
                    }
                    Ok(out)
                }

                async fn backchannel_delivered(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>("UPDATE backchannel_queue SET delivered_at = $2, claimed_until = NULL WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn backchannel_retry(&self, id: Uuid, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE backchannel_queue SET next_attempt_at = $2, last_error = $3, claimed_until = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(next_at)
                    .bind(error)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn backchannel_failed(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE backchannel_queue SET failed_at = $2, last_error = $3, claimed_until = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(error)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn list_backchannel(&self) -> StoreResult<Vec<BackchannelJob>> {
                    Ok(sqlx::query_as::<$db, BackchannelJob>(sqlx::AssertSqlSafe(format!(
                        "SELECT {BC_COLS} FROM backchannel_queue ORDER BY created_at"
                    )))
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO device_authorizations ({DEVICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
                    )))
                    .bind(d.id)
                    .bind(d.org_id)
                    .bind(&d.device_code_hash)
                    .bind(&d.user_code_hash)
                    .bind(&d.client_id)
                    .bind(&d.scope)
                    .bind(&d.status)
                    .bind(d.user_id)
                    .bind(d.auth_time)
                    .bind(&d.amr)
                    .bind(&d.acr)
                    .bind(d.interval_secs)
                    .bind(d.last_polled_at)
                    .bind(d.created_at)
                    .bind(d.expires_at)
                    .bind(d.user_decided_at)
                    .bind(d.admin_decided_at)
                    .bind(&d.admin_decided_by)
                    .bind(d.family_id)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_device(&self, id: Uuid) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM device_authorizations WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn find_device_by_user_code(&self, hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM device_authorizations WHERE user_code_hash = $1"
                    )))
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn find_device_by_device_code(&self, hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM device_authorizations WHERE device_code_hash = $1"
                    )))
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn decide_device_by_user(
                    &self,
                    id: Uuid,
                    d: &DeviceUserDecision,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = $2, user_id = $3, auth_time = $4, amr = $5, acr = $6, \
                         expires_at = $7, user_decided_at = $8 \
                         WHERE id = $1 AND status = 'pending' AND expires_at > $8",
                    )
                    .bind(id)
                    .bind(&d.status)
                    .bind(d.user_id)
                    .bind(d.auth_time)
                    .bind(&d.amr)
                    .bind(&d.acr)
                    .bind(d.expires_at)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn decide_device_by_admin(
                    &self,
                    id: Uuid,
                    approve: bool,
                    by: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = $2, admin_decided_by = $3, admin_decided_at = $4 \
                         WHERE id = $1 AND status = 'awaiting_admin' AND expires_at > $4",
                    )
                    .bind(id)
                    .bind(if approve { "approved" } else { "denied" })
                    .bind(by)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn poll_device(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                    not_after: DateTime<Utc>,
                    slow_down_secs: i64,
                ) -> StoreResult<bool> {
                    let ok = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET last_polled_at = $2 \
                         WHERE id = $1 AND (last_polled_at IS NULL OR last_polled_at <= $3)",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(not_after)
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                        == 1;
                    if !ok {
                        sqlx::query::<$db>(
                            "UPDATE device_authorizations SET interval_secs = interval_secs + $2, last_polled_at = $3 \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(slow_down_secs)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    }
                    Ok(ok)
                }

                async fn consume_device(&self, id: Uuid, family_id: Uuid) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = 'used', family_id = $2 \
                         WHERE id = $1 AND status = 'approved'",
                    )
                    .bind(id)
                    .bind(family_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn deny_open_devices_for_user(&self, user_id: Uuid) -> StoreResult<u64> {
                    Ok(sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = 'denied' \
                         WHERE user_id = $1 AND status IN ('approved', 'awaiting_admin')",
                    )
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
                }

                async fn list_devices(
                    &self,
                    org_id: Uuid,
                    status: Option<&str>,
                ) -> StoreResult<Vec<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEVICE_COLS} FROM device_authorizations WHERE org_id = $1 \
                         AND ($2 IS NULL OR status = $2) ORDER BY created_at DESC LIMIT 500"
                    )))
                    .bind(org_id)
                    .bind(status)
                    .fetch_all(&self.pool)
                    .await?)
                }
            }
        }
    };
}

pub(crate) use impl_oidc_store;
