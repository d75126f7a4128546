//! Small per-grant records: revoked access-token ids (`revoked_tokens`), single-use
//! assertion ids (`used_assertions`), consents (`consents`) and which clients took
//! part in a browser session (`session_clients`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::StoreResult;

/// Key prefix of used fresh-login markers in the single-use table.
pub const FRESH_LOGIN_PREFIX: &str = "\u{1}fresh-login:";

#[async_trait]
pub trait GrantRecordStore {
    async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Records a client assertion's `jti` (or a fresh-login marker, under
    /// [`FRESH_LOGIN_PREFIX`]); false when it was seen before (a replay).
    async fn record_assertion_jti(&self, jti: &str, expires_at: DateTime<Utc>)
        -> StoreResult<bool>;
    /// Spends a fresh-login marker's nonce (kept with the assertion ids, under
    /// [`FRESH_LOGIN_PREFIX`]): true the first time, false for a replay.
    async fn spend_fresh_login(&self, nonce: &str, until: DateTime<Utc>) -> StoreResult<bool> {
        self.record_assertion_jti(&format!("{FRESH_LOGIN_PREFIX}{nonce}"), until)
            .await
    }

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
}

/// Implements [`GrantRecordStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_grant_record_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::oidc::grants::GrantRecordStore;
            use $crate::store::sql::insert_into;
            use $crate::store::StoreResult;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            #[async_trait::async_trait]
            impl GrantRecordStore for $store {
                async fn revoke_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
                    insert_into!($db, "revoked_tokens", { jti: jti, expires_at: expires_at },
                        on_conflict: "ON CONFLICT (jti) DO NOTHING")
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
                    let r = insert_into!($db, "used_assertions", { jti: jti, expires_at: expires_at },
                        on_conflict: "ON CONFLICT (jti) DO NOTHING")
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
                    insert_into!($db, "consents", { user_id: user_id, client_id: client_id, scope: scope, granted_at: now },
                        on_conflict: "ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
                                      granted_at = excluded.granted_at")
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn add_session_client(&self, session_id: Uuid, client_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    insert_into!($db, "session_clients", { session_id: session_id, client_id: client_id, first_at: now },
                        on_conflict: "ON CONFLICT (session_id, client_id) DO NOTHING")
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
            }
        };
    };
}

pub(crate) use impl_grant_record_store;
