//! Grants and what they issue: token families (`token_families`), single-use
//! authorization codes (`authorization_codes`) and rotating refresh tokens
//! (`refresh_tokens`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreResult;

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
    /// The token it was exchanged for.
    pub replaced_by: Option<Uuid>,
}

/// Result of [`TokenStore::rotate_refresh_token`].
#[derive(Debug)]
pub enum Rotation {
    /// The old token (as it is now) was marked used and the new one stored.
    Rotated(RefreshToken),
    /// The old token had been rotated within the grace window and its successor
    /// was never used: the successor is retired and the new one stored instead.
    Retried(RefreshToken),
    /// Used before, outside the window or with a successor in use: a replay.
    Reused(RefreshToken),
    Unknown,
}

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
pub trait TokenStore {
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
    /// What an authorization writes, in one transaction: the grant (`family`), its
    /// code, and the client as one that took part in the code's session.
    async fn issue_code(&self, family: &TokenFamily, code: &AuthCode) -> StoreResult<()>;
    /// Marks the code used, if it was issued to `client_id` (one statement). A code
    /// issued to another client is left untouched and reported as `Unknown`.
    async fn consume_auth_code(
        &self,
        code_hash: &[u8],
        client_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Consumed<AuthCode>>;

    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()>;
    /// Exchanges the refresh token `old_hash` for `new`, in one transaction (a
    /// failure stores neither change): marks it used and stores `new` as its
    /// successor. A token already used at or after `retry_since` whose successor is
    /// unused is a client's retry: that successor is retired and `new` takes its
    /// place. Anything else already used is a replay ([`Rotation::Reused`]).
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new: &RefreshToken,
        now: DateTime<Utc>,
        retry_since: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    async fn find_refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;
}

/// Implements [`TokenStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_token_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::oidc::tokens::{AuthCode, Consumed, RefreshToken, Rotation, TokenFamily, TokenStore};
            use $crate::store::sql::insert_into;
            use $crate::store::sql::select;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const FAMILY_COLS: &str = "id, client_id, user_id, session_id, scope, auth_time, amr, acr, offline, \
                claims, created_at, revoked_at, revoked_reason, impersonator_id, support_grant_id";
            const CODE_COLS: &str = "code_hash, family_id, client_id, user_id, session_id, redirect_uri, \
                redirect_uri_given, scope, nonce, code_challenge, claims, auth_time, amr, acr, created_at, expires_at, used_at";
            const RT_COLS: &str = "id, token_hash, family_id, client_id, scope, created_at, expires_at, used_at, replaced_by";

            async fn write_family<'e, E>(e: E, f: &TokenFamily) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                insert_into!($db, "token_families", f => {
                    id, client_id, user_id, session_id, scope, auth_time, amr, acr, offline,
                    claims, created_at, revoked_at, revoked_reason, impersonator_id, support_grant_id,
                })
                .execute(e)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn write_code<'e, E>(e: E, c: &AuthCode) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                insert_into!($db, "authorization_codes", c => {
                    code_hash, family_id, client_id, user_id, session_id, redirect_uri,
                    redirect_uri_given, scope, nonce, code_challenge, claims, auth_time, amr, acr,
                    created_at, expires_at, used_at,
                })
                .execute(e)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn write_refresh<'e, E>(e: E, t: &RefreshToken) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                insert_into!($db, "refresh_tokens", t => {
                    id, token_hash, family_id, client_id, scope, created_at, expires_at, used_at, replaced_by,
                })
                .execute(e)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl TokenStore for $store {
                async fn insert_family(&self, f: &TokenFamily) -> StoreResult<()> {
                    write_family(&self.pool, f).await
                }

                async fn get_family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>> {
                    Ok(select!($db, TokenFamily, "SELECT {FAMILY_COLS} FROM token_families WHERE id = $1", id).fetch_optional(&self.pool).await?)
                }

                async fn revoke_family(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<bool> {
                    let n = self.revoke_families_where("id = $1", id, now, reason).await?;
                    Ok(n == 1)
                }

                async fn revoke_families_for_sessions(
                    &self,
                    sessions: &[Uuid],
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<u64> {
                    let mut n = 0;
                    for s in sessions {
                        n += self
                            .revoke_families_where("session_id = $1 AND offline = FALSE", *s, now, reason)
                            .await?;
                    }
                    Ok(n)
                }

                async fn insert_auth_code(&self, c: &AuthCode) -> StoreResult<()> {
                    write_code(&self.pool, c).await
                }

                async fn issue_code(&self, f: &TokenFamily, c: &AuthCode) -> StoreResult<()> {
                    let mut tx = self.pool.begin().await?;
                    write_family(&mut *tx, f).await?;
                    write_code(&mut *tx, c).await?;
                    insert_into!($db, "session_clients", {
                        session_id: c.session_id, client_id: &c.client_id, first_at: c.created_at
                    }, on_conflict: "ON CONFLICT (session_id, client_id) DO NOTHING")
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
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
                    write_refresh(&self.pool, t).await
                }

                async fn rotate_refresh_token(
                    &self,
                    old_hash: &[u8],
                    new: &RefreshToken,
                    now: DateTime<Utc>,
                    retry_since: DateTime<Utc>,
                ) -> StoreResult<Rotation> {
                    let _turn = self.write_turn().await;
                    let mut tx = self.pool.begin().await?;
                    // The write first: it waits for a concurrent rotation of the same
                    // token to finish (a row lock; SQLite's write lock), so what is read
                    // after it is what that one committed.
                    let fresh = sqlx::query_as::<$db, RefreshToken>(sqlx::AssertSqlSafe(format!(
                        "UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 \
                         WHERE token_hash = $1 AND used_at IS NULL RETURNING {RT_COLS}"
                    )))
                    .bind(old_hash)
                    .bind(now)
                    .bind(new.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let outcome = if let Some(t) = fresh {
                        Rotation::Rotated(t)
                    } else {
                        let current = sqlx::query_as::<$db, RefreshToken>(sqlx::AssertSqlSafe(format!(
                            "SELECT {RT_COLS} FROM refresh_tokens WHERE token_hash = $1"
                        )))
                        .bind(old_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some(current) = current else { return Ok(Rotation::Unknown) };
                        // A retry: within the window, and the successor it got was
                        // never used (taken here, so two retries cannot both win).
                        let retired = match (current.used_at, current.replaced_by) {
                            (Some(used), Some(successor)) if used >= retry_since => {
                                sqlx::query::<$db>(
                                    "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                                )
                                .bind(successor)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected()
                                    == 1
                            }
                            _ => false,
                        };
                        if !retired {
                            return Ok(Rotation::Reused(current));
                        }
                        sqlx::query::<$db>("UPDATE refresh_tokens SET replaced_by = $2 WHERE token_hash = $1")
                            .bind(old_hash)
                            .bind(new.id)
                            .execute(&mut *tx)
                            .await?;
                        Rotation::Retried(current)
                    };
                    write_refresh(&mut *tx, new).await?;
                    tx.commit().await?;
                    Ok(outcome)
                }

                async fn find_refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
                    Ok(select!($db, RefreshToken, "SELECT {RT_COLS} FROM refresh_tokens WHERE token_hash = $1", token_hash).fetch_optional(&self.pool).await?)
                }
            }

            impl $store {
                /// Revokes the unrevoked token families matching `cond` (a condition on
                /// `$1`, which is `key`); returns how many.
                pub(crate) async fn revoke_families_where(
                    &self,
                    cond: &'static str,
                    key: Uuid,
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<u64> {
                    Ok(sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "UPDATE token_families SET revoked_at = $2, revoked_reason = $3 \
                         WHERE {cond} AND revoked_at IS NULL"
                    )))
                    .bind(key)
                    .bind(now)
                    .bind(reason)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
                }
            }
        };
    };
}

pub(crate) use impl_token_store;
