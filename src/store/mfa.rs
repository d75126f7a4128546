//! Persistence of two-step sign-in: TOTP credentials, pending enrolments, backup codes,
//! half-finished sign-ins (challenges), the policy's grace start, and the session
//! columns MFA uses (re-authentication time, step-up). Expanded per dialect by
//! [`impl_mfa_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

/// A confirmed TOTP authenticator. MFA is on for a user while this row exists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TotpCredential {
    pub user_id: Uuid,
    /// Sealed by [`crate::keys::Secrets::seal_totp_secret`]; never the plain secret.
    pub secret_enc: Vec<u8>,
    pub enrolled_at: DateTime<Utc>,
    /// The last RFC 6238 step accepted; only later steps are accepted.
    pub last_used_step: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key shown on an enrolment page and not yet confirmed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingEnrolment {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The session that opened the enrolment page; only it may confirm.
    pub session_id: Uuid,
    pub secret_enc: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A half-finished sign-in: the password was right, the second factor is pending.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MfaChallenge {
    pub id: Uuid,
    /// Keyed hash of the random token in the browser's cookie.
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    /// Set for a step-up: the existing session to upgrade.
    pub session_id: Option<Uuid>,
    /// What the user typed as login (for the sign-in record).
    pub login: String,
    pub return_to: Option<String>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait MfaStore {
    async fn get_totp(&self, user_id: Uuid) -> StoreResult<Option<TotpCredential>>;
    /// Stores a new pending enrolment, dropping the user's earlier ones (so the key of
    /// an older enrolment page can no longer be confirmed).
    async fn replace_pending_enrolment(&self, p: &PendingEnrolment) -> StoreResult<()>;
    async fn get_pending_enrolment(&self, id: Uuid) -> StoreResult<Option<PendingEnrolment>>;
    /// Atomically: consumes the pending enrolment (which must belong to this user and
    /// session and be unexpired), makes its key the user's TOTP credential with
    /// `step` as the last used step, and replaces every backup code with `code_hashes`.
    /// False (and nothing changed) when the pending enrolment is gone.
    async fn confirm_enrolment(
        &self,
        pending_id: Uuid,
        user_id: Uuid,
        session_id: Uuid,
        step: i64,
        code_hashes: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Accepts TOTP step `step` if it is later than the last one used (one atomic
    /// conditional update: of two racing requests with the same step, one wins).
    async fn use_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Turns MFA off: removes the TOTP credential, every passkey, every backup code,
    /// pending enrolments and half-finished sign-ins. True when MFA was on.
    async fn delete_mfa(&self, user_id: Uuid) -> StoreResult<bool>;
    /// Replaces every backup code of the user (used or not) with `code_hashes`.
    async fn replace_backup_codes(
        &self,
        user_id: Uuid,
        code_hashes: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Marks an unused backup code used; false when unknown or already used (of two
    /// racing requests with the same code, one wins).
    async fn use_backup_code(
        &self,
        user_id: Uuid,
        code_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn count_unused_backup_codes(&self, user_id: Uuid) -> StoreResult<i64>;

    async fn insert_mfa_challenge(&self, c: &MfaChallenge) -> StoreResult<()>;
    async fn find_mfa_challenge(&self, token_hash: &[u8]) -> StoreResult<Option<MfaChallenge>>;
    /// Counts one wrong code; returns the new count (None when the challenge is gone).
    async fn add_mfa_challenge_attempt(&self, id: Uuid) -> StoreResult<Option<i64>>;
    /// Deletes a challenge; true for the one caller that deleted it.
    async fn delete_mfa_challenge(&self, id: Uuid) -> StoreResult<bool>;
    async fn delete_expired_mfa_challenges(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// When the MFA policy first asked this user to enrol (recorded now if never).
    async fn start_mfa_grace(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>>;
    async fn get_mfa_grace(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>>;

    /// Records that the session's user re-entered their password at `at`.
    async fn set_session_reauth(&self, session_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    async fn get_session_reauth(&self, session_id: Uuid) -> StoreResult<Option<DateTime<Utc>>>;
    /// Step-up: records a stronger authentication on a live session. False when the
    /// session has ended.
    async fn upgrade_session_auth(
        &self,
        session_id: Uuid,
        amr: &str,
        acr: &str,
        auth_time: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Implements [`MfaStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_mfa_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::mfa::{MfaChallenge, MfaStore, PendingEnrolment, TotpCredential};
            use $crate::store::sql::insert_into;
            use $crate::store::sql::select;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const CHALLENGE_COLS: &str = "id, token_hash, user_id, session_id, login, return_to, \
                attempts, created_at, expires_at";

            #[async_trait::async_trait]
            impl MfaStore for $store {
                async fn get_totp(&self, user_id: Uuid) -> StoreResult<Option<TotpCredential>> {
                    Ok(sqlx::query_as::<$db, TotpCredential>(
                        "SELECT user_id, secret_enc, enrolled_at, last_used_step, last_used_at \
                         FROM mfa_totp WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn replace_pending_enrolment(&self, p: &PendingEnrolment) -> StoreResult<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query::<$db>("DELETE FROM mfa_pending WHERE user_id = $1")
                        .bind(p.user_id)
                        .execute(&mut *tx)
                        .await?;
                    insert_into!($db, "mfa_pending", p => {
                        id, user_id, session_id, secret_enc, created_at, expires_at,
                    })
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_pending_enrolment(&self, id: Uuid) -> StoreResult<Option<PendingEnrolment>> {
                    Ok(sqlx::query_as::<$db, PendingEnrolment>(
                        "SELECT id, user_id, session_id, secret_enc, created_at, expires_at \
                         FROM mfa_pending WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn confirm_enrolment(
                    &self,
                    pending_id: Uuid,
                    user_id: Uuid,
                    session_id: Uuid,
                    step: i64,
                    code_hashes: &[Vec<u8>],
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    // The first statement writes, so SQLite takes the write lock at once.
                    let mut tx = self.pool.begin().await?;
                    let taken: Option<(Vec<u8>,)> = sqlx::query_as::<$db, (Vec<u8>,)>(
                        "DELETE FROM mfa_pending WHERE id = $1 AND user_id = $2 AND session_id = $3 \
                         AND expires_at > $4 RETURNING secret_enc",
                    )
                    .bind(pending_id)
                    .bind(user_id)
                    .bind(session_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((secret_enc,)) = taken else {
                        return Ok(false);
                    };
                    insert_into!($db, "mfa_totp", {
                        user_id,
                        secret_enc: &secret_enc,
                        enrolled_at: now,
                        last_used_step: step,
                        last_used_at: now,
                    }, on_conflict: "ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, \
                         enrolled_at = excluded.enrolled_at, last_used_step = excluded.last_used_step, \
                         last_used_at = excluded.last_used_at")
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query::<$db>("DELETE FROM mfa_pending WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    replace_codes(&mut tx, user_id, code_hashes, now).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn use_totp_step(&self, user_id: Uuid, step: i64, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE mfa_totp SET last_used_step = $2, last_used_at = $3 \
                         WHERE user_id = $1 AND last_used_step < $2",
                    )
                    .bind(user_id)
                    .bind(step)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete_mfa(&self, user_id: Uuid) -> StoreResult<bool> {
                    let mut tx = self.pool.begin().await?;
                    let totp = sqlx::query::<$db>("DELETE FROM mfa_totp WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    let passkeys = sqlx::query::<$db>("DELETE FROM passkeys WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    for sql in [
                        "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                        "DELETE FROM mfa_pending WHERE user_id = $1",
                        "DELETE FROM mfa_challenges WHERE user_id = $1",
                        "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
                    ] {
                        sqlx::query::<$db>(sql).bind(user_id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(totp.rows_affected() + passkeys.rows_affected() > 0)
                }

                async fn replace_backup_codes(
                    &self,
                    user_id: Uuid,
                    code_hashes: &[Vec<u8>],
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let mut tx = self.pool.begin().await?;
                    replace_codes(&mut tx, user_id, code_hashes, now).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn use_backup_code(
                    &self,
                    user_id: Uuid,
                    code_hash: &[u8],
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE mfa_backup_codes SET used_at = $3 \
                         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                    )
                    .bind(user_id)
                    .bind(code_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn count_unused_backup_codes(&self, user_id: Uuid) -> StoreResult<i64> {
                    let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>(
                        "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(n)
                }

                async fn insert_mfa_challenge(&self, c: &MfaChallenge) -> StoreResult<()> {
                    insert_into!($db, "mfa_challenges", c => {
                        id, token_hash, user_id, session_id, login, return_to, attempts, created_at, expires_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn find_mfa_challenge(&self, token_hash: &[u8]) -> StoreResult<Option<MfaChallenge>> {
                    Ok(select!($db, MfaChallenge, "SELECT {CHALLENGE_COLS} FROM mfa_challenges WHERE token_hash = $1", token_hash).fetch_optional(&self.pool).await?)
                }

                async fn add_mfa_challenge_attempt(&self, id: Uuid) -> StoreResult<Option<i64>> {
                    Ok(sqlx::query_as::<$db, (i64,)>(
                        "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|(n,)| n))
                }

                async fn delete_mfa_challenge(&self, id: Uuid) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>("DELETE FROM mfa_challenges WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete_expired_mfa_challenges(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let r = sqlx::query::<$db>("DELETE FROM mfa_challenges WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected())
                }

                async fn start_mfa_grace(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
                    insert_into!($db, "mfa_grace", { user_id, started_at: now },
                        on_conflict: "ON CONFLICT (user_id) DO NOTHING")
                    .execute(&self.pool)
                    .await?;
                    self.get_mfa_grace(user_id).await?.ok_or(StoreError::NotFound)
                }

                async fn get_mfa_grace(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
                    Ok(sqlx::query_as::<$db, (DateTime<Utc>,)>(
                        "SELECT started_at FROM mfa_grace WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|(t,)| t))
                }

                async fn set_session_reauth(&self, session_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE sessions SET reauth_at = $2 WHERE id = $1 AND ended_at IS NULL",
                    )
                    .bind(session_id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn get_session_reauth(&self, session_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
                    Ok(sqlx::query_as::<$db, (Option<DateTime<Utc>>,)>(
                        "SELECT reauth_at FROM sessions WHERE id = $1",
                    )
                    .bind(session_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .and_then(|(t,)| t))
                }

                async fn upgrade_session_auth(
                    &self,
                    session_id: Uuid,
                    amr: &str,
                    acr: &str,
                    auth_time: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE sessions SET amr = $2, acr = $3, auth_time = $4 \
                         WHERE id = $1 AND ended_at IS NULL",
                    )
                    .bind(session_id)
                    .bind(amr)
                    .bind(acr)
                    .bind(auth_time)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }
            }

            async fn replace_codes(
                tx: &mut sqlx::Transaction<'static, $db>,
                user_id: Uuid,
                code_hashes: &[Vec<u8>],
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query::<$db>("DELETE FROM mfa_backup_codes WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                for hash in code_hashes {
                    insert_into!($db, "mfa_backup_codes", {
                        id: Uuid::new_v4(),
                        user_id,
                        code_hash: hash,
                        created_at: now,
                        used_at: None::<DateTime<Utc>>,
                    })
                    .execute(&mut **tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                Ok(())
            }
        };
    };
}

pub(crate) use impl_mfa_store;
