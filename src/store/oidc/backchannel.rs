//! The back-channel logout queue (`backchannel_queue`): logout tokens waiting to be
//! POSTed to relying parties, on the shared claim/retry [`Queue`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::queue::Queue;
use crate::store::StoreResult;

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

pub(crate) static BACKCHANNEL_QUEUE: Queue = Queue::new(
    "backchannel_queue",
    "id, client_id, uri, logout_token, attempts, next_attempt_at, claimed_until, \
     created_at, delivered_at, failed_at, last_error",
    "delivered_at",
    false,
);

#[async_trait]
pub trait BackchannelStore {
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
}

/// Implements [`BackchannelStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_backchannel_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;
            use $crate::store::oidc::backchannel::BACKCHANNEL_QUEUE as Q;
            use $crate::store::oidc::backchannel::{BackchannelJob, BackchannelStore};
            use $crate::store::sql::insert_into;
            use $crate::store::StoreResult;

            #[async_trait::async_trait]
            impl BackchannelStore for $store {
                async fn enqueue_backchannel(&self, j: &BackchannelJob) -> StoreResult<()> {
                    insert_into!($db, "backchannel_queue", j => {
                        id, client_id, uri, logout_token, attempts, next_attempt_at, claimed_until,
                        created_at, delivered_at, failed_at, last_error,
                    })
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
                    self.queue_claim(&Q, now, claim_until, limit).await
                }

                async fn backchannel_delivered(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    self.queue_update(&Q.sql().done, id, now, None).await
                }

                async fn backchannel_retry(
                    &self,
                    id: Uuid,
                    next_at: DateTime<Utc>,
                    error: &str,
                ) -> StoreResult<()> {
                    self.queue_update(&Q.sql().retry, id, next_at, Some(error))
                        .await
                }

                async fn backchannel_failed(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                    error: &str,
                ) -> StoreResult<()> {
                    self.queue_update(&Q.sql().failed, id, now, Some(error))
                        .await
                }

                async fn list_backchannel(&self) -> StoreResult<Vec<BackchannelJob>> {
                    Ok(
                        sqlx::query_as::<$db, BackchannelJob>(sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM backchannel_queue ORDER BY created_at",
                            Q.cols
                        )))
                        .fetch_all(&self.pool)
                        .await?,
                    )
                }
            }
        };
    };
}

pub(crate) use impl_backchannel_store;
