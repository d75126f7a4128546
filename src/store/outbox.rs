//! Persistence of outgoing notifications (`outbox`): queued already rendered, on the
//! shared claim/retry [`Queue`] (claimed by one worker at a time through
//! `claimed_until`, kept until sent or given up). Expanded per dialect by
//! [`impl_outbox_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::queue::Queue;
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
    /// The language it was rendered in (`ja`, `en`: a folder of `src/i18n/locales/`).
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
    /// Gives back a claimed message that was not sent (the worker is stopping), so
    /// another worker can take it at once; `claimed_until` is the claim's end as
    /// claimed (a claim taken over meanwhile is left alone).
    async fn outbox_release(&self, id: Uuid, claimed_until: DateTime<Utc>) -> StoreResult<()>;
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

pub(crate) static OUTBOX_QUEUE: Queue = Queue::new(
    "outbox",
    "id, org_id, user_id, to_address, to_name, locale, kind, subject, body_text, body_html, \
     attempts, next_attempt_at, claimed_until, created_at, sent_at, failed_at, last_error",
    "sent_at",
    true,
);

/// Implements [`OutboxStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_outbox_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::outbox::{OutboxMessage, OutboxStore, OUTBOX_QUEUE as Q};
            use $crate::store::sql::insert_into;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            #[async_trait::async_trait]
            impl OutboxStore for $store {
                async fn enqueue_outbox(&self, m: &OutboxMessage) -> StoreResult<()> {
                    insert_into!($db, "outbox", m => {
                        id, org_id, user_id, to_address, to_name, locale, kind, subject, body_text,
                        body_html, attempts, next_attempt_at, claimed_until, created_at, sent_at,
                        failed_at, last_error,
                    })
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
                    self.queue_claim(&Q, now, claim_until, limit).await
                }

                async fn outbox_sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    self.queue_update(&Q.sql().done, id, now, None).await
                }

                async fn outbox_retry(&self, id: Uuid, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
                    self.queue_update(&Q.sql().retry, id, next_at, Some(error)).await
                }

                async fn outbox_release(&self, id: Uuid, claimed_until: DateTime<Utc>) -> StoreResult<()> {
                    self.queue_update(&Q.sql().release, id, claimed_until, None).await
                }

                async fn outbox_failed(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> StoreResult<()> {
                    self.queue_update(&Q.sql().failed, id, now, Some(error)).await
                }

                async fn get_outbox(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>> {
                    Ok(sqlx::query_as::<$db, OutboxMessage>(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM outbox WHERE id = $1",
                        Q.cols
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
                        "SELECT {} FROM outbox WHERE org_id = $1 \
                         AND ($2 IS NULL OR user_id = $2) ORDER BY created_at DESC, id LIMIT $3",
                        Q.cols
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
