//! The claim/retry queue behind the notification outbox (`outbox`) and the
//! back-channel logout jobs (`backchannel_queue`): due rows are claimed by one worker
//! at a time through `claimed_until` (a claim that ran out, because a worker died
//! mid-send, can be taken again), then marked done, retried later or given up (kept,
//! with the last error, for admins to see).

use std::sync::OnceLock;

/// One queue table: its columns and how it differs from the other.
pub(crate) struct Queue {
    pub table: &'static str,
    /// The columns a row is read with.
    pub cols: &'static str,
    /// The column set when a row is done (`sent_at`, `delivered_at`).
    pub done: &'static str,
    /// The outbox clears the last error when a message is sent, and ignores a retry or
    /// failure reported for a message sent meanwhile.
    pub settled_guard: bool,
    sql: OnceLock<QueueSql>,
}

pub(crate) struct QueueSql {
    /// `$1` now, `$2` limit: the ids of due rows.
    pub due: String,
    /// `$1` id, `$2` claim until, `$3` now: claims one (re-checked: of two racing
    /// claimers, one matches), returning the row.
    pub claim: String,
    /// `$1` id, `$2` now.
    pub done: String,
    /// `$1` id, `$2` next attempt, `$3` error.
    pub retry: String,
    /// `$1` id, `$2` now, `$3` error.
    pub failed: String,
    /// `$1` id, `$2` the claim's end as claimed: gives an unsent row back (a worker
    /// stopping), without counting the attempt, if the claim is still this one.
    pub release: String,
}

impl Queue {
    pub(crate) const fn new(
        table: &'static str,
        cols: &'static str,
        done: &'static str,
        settled_guard: bool,
    ) -> Queue {
        Queue {
            table,
            cols,
            done,
            settled_guard,
            sql: OnceLock::new(),
        }
    }

    pub(crate) fn sql(&'static self) -> &'static QueueSql {
        self.sql.get_or_init(|| {
            let Queue {
                table, cols, done, ..
            } = self;
            let (clear_error, guard) = if self.settled_guard {
                (", last_error = NULL", format!(" AND {done} IS NULL"))
            } else {
                ("", String::new())
            };
            QueueSql {
                due: format!(
                    "SELECT id FROM {table} WHERE {done} IS NULL AND failed_at IS NULL \
                     AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) \
                     ORDER BY next_attempt_at LIMIT $2"
                ),
                claim: format!(
                    "UPDATE {table} SET claimed_until = $2, attempts = attempts + 1 \
                     WHERE id = $1 AND {done} IS NULL AND failed_at IS NULL \
                     AND (claimed_until IS NULL OR claimed_until <= $3) RETURNING {cols}"
                ),
                done: format!(
                    "UPDATE {table} SET {done} = $2, claimed_until = NULL{clear_error} WHERE id = $1"
                ),
                retry: format!(
                    "UPDATE {table} SET next_attempt_at = $2, last_error = $3, claimed_until = NULL \
                     WHERE id = $1{guard}"
                ),
                failed: format!(
                    "UPDATE {table} SET failed_at = $2, last_error = $3, claimed_until = NULL \
                     WHERE id = $1{guard}"
                ),
                release: format!(
                    "UPDATE {table} SET claimed_until = NULL, attempts = attempts - 1 \
                     WHERE id = $1 AND claimed_until = $2 AND {done} IS NULL AND failed_at IS NULL"
                ),
            }
        })
    }
}

/// Implements the queue operations as inherent methods of `$store` (a struct with a
/// `pool: sqlx::Pool<$db>`), for the store traits of each queue to call.
macro_rules! impl_queue {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Claims up to `limit` due rows of `q` until `claim_until`, adding one to
            /// their attempts.
            pub(crate) async fn queue_claim<T>(
                &self,
                q: &'static $crate::store::queue::Queue,
                now: chrono::DateTime<chrono::Utc>,
                claim_until: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<T>>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                let sql = q.sql();
                let due: Vec<(uuid::Uuid,)> =
                    sqlx::query_as::<$db, (uuid::Uuid,)>(sql.due.as_str())
                        .bind(now)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                let mut out = Vec::new();
                for (id,) in due {
                    let row = sqlx::query_as::<$db, T>(sql.claim.as_str())
                        .bind(id)
                        .bind(claim_until)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    out.extend(row);
                }
                Ok(out)
            }

            /// Rows of `q` waiting (neither done nor given up), counted on the
            /// queue's index of due rows.
            pub(crate) async fn queue_depth(
                &self,
                q: &'static $crate::store::queue::Queue,
            ) -> $crate::store::StoreResult<i64> {
                let (pending,): (i64,) =
                    sqlx::query_as::<$db, (i64,)>(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM {table} WHERE {done} IS NULL AND failed_at IS NULL",
                        done = q.done,
                        table = q.table
                    )))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(pending)
            }

            /// Rows waiting in both queues.
            pub(crate) async fn both_queue_depths(
                &self,
            ) -> $crate::store::StoreResult<$crate::store::QueueDepths> {
                Ok($crate::store::QueueDepths {
                    outbox_pending: self
                        .queue_depth(&$crate::store::outbox::OUTBOX_QUEUE)
                        .await?,
                    backchannel_pending: self
                        .queue_depth(&$crate::store::oidc::backchannel::BACKCHANNEL_QUEUE)
                        .await?,
                })
            }

            /// Runs one of `q`'s updates (`done`, `retry` or `failed`) for row `id`.
            pub(crate) async fn queue_update(
                &self,
                sql: &'static str,
                id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
                error: Option<&str>,
            ) -> $crate::store::StoreResult<()> {
                let mut query = sqlx::query::<$db>(sql).bind(id).bind(at);
                if let Some(error) = error {
                    query = query.bind(error);
                }
                query.execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_queue;
