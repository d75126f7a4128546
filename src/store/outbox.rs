//! Persistence of outgoing notifications (`outbox`): queued already rendered, claimed
//! by one worker at a time through `claimed_until`, kept until sent or given up.
//! Expanded per dialect by [`impl_outbox_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The user the message is about, if any.
    pub user_id: Option<Uuid>,
    pub to_address: String,
    /// Display name for the `To:` header (may be empty).
    pub to_name: String,
    /// `ja` or `en`: the language it was rendered in.
    pub locale: String,
    /// Template name, e.g. `invitation`.
    pub kind: String,
    pub subject: String,
    /// Links in bodies can be credentials (invitations): never serialised.
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: Option<String>,
    /// Delivery attempts started (a claim counts as one).
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[async_trait]
pub trait OutboxStore {
    async fn enqueue_outbox(&self, m: &OutboxMessage) -> StoreResult<()>;
    /// Claims up to `limit` due messages (neither sent nor failed, `next_attempt_at`
    /// reached, no live claim) until `claim_until`, adding one to their attempts. A
    /// message is handed to one caller only, also when replicas claim at once; a claim
    /// that ran out (a worker died mid-send) can be taken again.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>>;
    async fn outbox_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Releases the claim and schedules another attempt.
    async fn outbox_retry(&self, id: Uuid, next_at: DateTime<Utc>, error: &str) -> StoreResult<()>;
    /// Gives the message up (kept, with the last error, for admins to see).
    async fn outbox_failed(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> StoreResult<()>;
    async fn get_outbox(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>>;
    /// An organisation's messages, newest first, at most `limit`; only those about
    /// `user_id` when given.
    async fn list_outbox(
        &self,
        org_id: Uuid,
        user_id: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>>;
}

/// Implements [`OutboxStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_outbox_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::outbox::{OutboxMessage, OutboxStore};
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const OUTBOX_COLS: &str = "id, org_id, user_id, to_address, to_name, locale, kind, \
                subject, body_text, body_html, attempts, next_attempt_at, claimed_until, \
                created_at, sent_at, failed_at, last_error";

            #[async_trait::async_trait]
            impl OutboxStore for $store {
                async fn enqueue_outbox(&self, m: &OutboxMessage) -> StoreResult<()> {
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO outbox ({OUTBOX_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                         $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    )))
                    .bind(m.id)
                    .bind(m.org_id)
                    .bind(m.user_id)
                    .bind(&m.to_address)
                    .bind(&m.to_name)
                    .bind(&m.locale)
                    .bind(&m.kind)
                    .bind(&m.subject)
                    .bind(&m.body_text)
                    .bind(&m.body_html)
                    .bind(m.attempts)
                    .bind(m.next_attempt_at)
                    .bind(m.claimed_until)
                    .bind(m.created_at)
                    .bind(m.sent_at)
                    .bind(m.failed_at)
                    .bind(&m.last_error)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn claim_outbox(
                    &self,
                    now: DateTime<Utc>,
                    claim_until: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<Vec<OutboxMessage>> {
                    let due: Vec<(Uuid,)> = sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                         AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) \
                         ORDER BY next_attempt_at LIMIT $2",
                    )
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut out = Vec::new();
                    for (id,) in due {
                        // Re-checked in the UPDATE: of two racing claimers, one matches.
                        let m = sqlx::query_as::<$db, OutboxMessage>(sqlx::AssertSqlSafe(format!(
                            "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1 \
                             WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL \
                             AND (claimed_until IS NULL OR claimed_until <= $3) RETURNING {OUTBOX_COLS}"
                        )))
                        .bind(id)
                        .bind(claim_until)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                        out.extend(m);
                    }
                    Ok(out)
                }

                async fn outbox_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE outbox SET sent_at = $2, claimed_until = NULL, last_error = NULL \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn outbox_retry(
                    &self,
                    id: Uuid,
                    next_at: DateTime<Utc>,
                    error: &str,
                ) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE outbox SET next_attempt_at = $2, last_error = $3, claimed_until = NULL \
                         WHERE id = $1 AND sent_at IS NULL",
                    )
                    .bind(id)
                    .bind(next_at)
                    .bind(error)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn outbox_failed(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                    error: &str,
                ) -> StoreResult<()> {
                    sqlx::query::<$db>(
                        "UPDATE outbox SET failed_at = $2, last_error = $3, claimed_until = NULL \
                         WHERE id = $1 AND sent_at IS NULL",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(error)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn get_outbox(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>> {
                    Ok(sqlx::query_as::<$db, OutboxMessage>(sqlx::AssertSqlSafe(format!(
                        "SELECT {OUTBOX_COLS} FROM outbox WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn list_outbox(
                    &self,
                    org_id: Uuid,
                    user_id: Option<Uuid>,
                    limit: i64,
                ) -> StoreResult<Vec<OutboxMessage>> {
                    Ok(sqlx::query_as::<$db, OutboxMessage>(sqlx::AssertSqlSafe(format!(
                        "SELECT {OUTBOX_COLS} FROM outbox WHERE org_id = $1 \
                         AND ($2 IS NULL OR user_id = $2) ORDER BY created_at DESC, id LIMIT $3"
                    )))
                    .bind(org_id)
                    .bind(user_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
                }
            }
        };
    };
}

pub(crate) use impl_outbox_store;
