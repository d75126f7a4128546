//! Persistence of passkeys (WebAuthn credentials) and of their half-finished
//! ceremonies. Expanded per dialect by [`impl_passkey_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

/// A registered passkey or security key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The WebAuthn credential id (raw bytes), unique across all users.
    pub credential_id: Vec<u8>,
    /// What the user called it.
    pub name: String,
    /// RFC 8176 `amr`: `hwk` (device-bound) or `swk` (synced passkey).
    pub kind: String,
    pub aaguid: Option<String>,
    /// webauthn-rs's `Passkey` as JSON (public key, counter, backup flags).
    pub credential: String,
    pub sign_count: i64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A registration or authentication between its two requests.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebauthnCeremony {
    pub id: Uuid,
    /// Keyed hash of the random token in the browser's cookie.
    pub token_hash: Vec<u8>,
    /// `register`, `second_step` or `passwordless`.
    pub purpose: String,
    pub user_id: Option<Uuid>,
    /// The session that registers, or that a step-up upgrades.
    pub session_id: Option<Uuid>,
    /// The half-finished sign-in a second step belongs to.
    pub mfa_challenge_id: Option<Uuid>,
    pub return_to: Option<String>,
    /// webauthn-rs's registration or authentication state as JSON.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait PasskeyStore {
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: Uuid) -> StoreResult<Vec<PasskeyRow>>;
    async fn count_passkeys(&self, user_id: Uuid) -> StoreResult<i64>;
    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> StoreResult<Option<PasskeyRow>>;
    /// `Conflict("credential_id")` when that credential is already registered.
    async fn insert_passkey(&self, p: &PasskeyRow) -> StoreResult<()>;
    /// False when the user has no such passkey.
    async fn rename_passkey(&self, user_id: Uuid, id: Uuid, name: &str) -> StoreResult<bool>;
    /// The removed passkey (None when the user has no such passkey).
    async fn delete_passkey(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<PasskeyRow>>;
    /// Records a use: the new counter, credential and kind, in one conditional UPDATE that
    /// succeeds only while the stored counter is below `sign_count` (or both are 0,
    /// an authenticator without a counter). False: the counter did not go up (a cloned
    /// authenticator, or a racing use of the same assertion).
    async fn use_passkey(
        &self,
        id: Uuid,
        sign_count: i64,
        credential: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn insert_ceremony(&self, c: &WebauthnCeremony) -> StoreResult<()>;
    /// Takes (deletes and returns) the unexpired ceremony with this token hash and
    /// purpose: of two racing requests, one gets it.
    async fn take_ceremony(
        &self,
        token_hash: &[u8],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebauthnCeremony>>;
    async fn delete_expired_ceremonies(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// Implements [`PasskeyStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_passkey_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::passkeys::{PasskeyRow, PasskeyStore, WebauthnCeremony};
            use $crate::store::sql::{insert_into, select};
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const PASSKEY_COLS: &str = "id, user_id, credential_id, name, kind, aaguid, credential, \
                sign_count, created_at, last_used_at";
            const CEREMONY_COLS: &str = "id, token_hash, purpose, user_id, session_id, \
                mfa_challenge_id, return_to, state, created_at, expires_at";

            #[async_trait::async_trait]
            impl PasskeyStore for $store {
                async fn list_passkeys(&self, user_id: Uuid) -> StoreResult<Vec<PasskeyRow>> {
                    Ok(select!($db, PasskeyRow,
                        "SELECT {PASSKEY_COLS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
                        user_id)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn count_passkeys(&self, user_id: Uuid) -> StoreResult<i64> {
                    let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>(
                        "SELECT COUNT(*) FROM passkeys WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(n)
                }

                async fn find_passkey_by_credential(&self, credential_id: &[u8]) -> StoreResult<Option<PasskeyRow>> {
                    Ok(select!($db, PasskeyRow,
                        "SELECT {PASSKEY_COLS} FROM passkeys WHERE credential_id = $1",
                        credential_id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn insert_passkey(&self, p: &PasskeyRow) -> StoreResult<()> {
                    insert_into!($db, "passkeys", p => {
                        id, user_id, credential_id, name, kind, aaguid, credential, sign_count,
                        created_at, last_used_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(|e| match StoreError::from_sqlx(e) {
                        StoreError::Conflict(_) => StoreError::Conflict("credential_id"),
                        e => e,
                    })?;
                    Ok(())
                }

                async fn rename_passkey(&self, user_id: Uuid, id: Uuid, name: &str) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2",
                    )
                    .bind(user_id)
                    .bind(id)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete_passkey(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<PasskeyRow>> {
                    Ok(select!($db, PasskeyRow,
                        "DELETE FROM passkeys WHERE user_id = $1 AND id = $2 RETURNING {PASSKEY_COLS}",
                        user_id, id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn use_passkey(
                    &self,
                    id: Uuid,
                    sign_count: i64,
                    credential: &str,
                    kind: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE passkeys SET sign_count = $2, credential = $3, last_used_at = $4, kind = $5 \
                         WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))",
                    )
                    .bind(id)
                    .bind(sign_count)
                    .bind(credential)
                    .bind(now)
                    .bind(kind)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn insert_ceremony(&self, c: &WebauthnCeremony) -> StoreResult<()> {
                    insert_into!($db, "webauthn_ceremonies", c => {
                        id, token_hash, purpose, user_id, session_id, mfa_challenge_id, return_to,
                        state, created_at, expires_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn take_ceremony(
                    &self,
                    token_hash: &[u8],
                    purpose: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<WebauthnCeremony>> {
                    Ok(select!($db, WebauthnCeremony,
                        "DELETE FROM webauthn_ceremonies WHERE token_hash = $1 AND purpose = $2 \
                         AND expires_at > $3 RETURNING {CEREMONY_COLS}",
                        token_hash, purpose, now)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn delete_expired_ceremonies(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let r = sqlx::query::<$db>("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected())
                }
            }
        };
    };
}

pub(crate) use impl_passkey_store;
