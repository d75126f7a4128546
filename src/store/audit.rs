//! Persistence of security events (`audit_events`, append-only: the schema refuses
//! UPDATE and DELETE). Expanded per dialect by [`impl_audit_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    /// `user`, `admin`, `system` or `support`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// The user the event is about, if any.
    pub subject_user_id: Option<Uuid>,
    /// Dotted name, e.g. `mfa.enrolled`.
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object as text.
    pub details: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait AuditStore {
    async fn insert_audit_event(&self, e: &AuditEvent) -> StoreResult<()>;
    /// Events about one user, newest first, at most `limit`.
    async fn list_audit_events_for_user(
        &self,
        subject_user_id: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Every event of an organisation, newest first, at most `limit`.
    async fn list_audit_events(
        &self,
        org_id: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}

/// The columns an [`AuditEvent`] is read with.
pub(crate) const AUDIT_COLS: &str =
    "id, org_id, actor_kind, actor_id, subject_user_id, action, ip, user_agent, details, at";

/// Implements [`AuditStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_audit_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::audit::{AuditEvent, AuditStore, AUDIT_COLS};
            use $crate::store::sql::insert_into;
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            #[async_trait::async_trait]
            impl AuditStore for $store {
                async fn insert_audit_event(&self, e: &AuditEvent) -> StoreResult<()> {
                    insert_into!($db, "audit_events", e => {
                        id, org_id, actor_kind, actor_id, subject_user_id, action, ip, user_agent, details, at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn list_audit_events_for_user(
                    &self,
                    subject_user_id: Uuid,
                    since: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<Vec<AuditEvent>> {
                    self.audit_events_since("subject_user_id", subject_user_id, since, limit).await
                }

                async fn list_audit_events(
                    &self,
                    org_id: Uuid,
                    since: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<Vec<AuditEvent>> {
                    self.audit_events_since("org_id", org_id, since, limit).await
                }
            }

            impl $store {
                /// The events whose `column` is `key`, at or after `since`, newest first.
                async fn audit_events_since(
                    &self,
                    column: &'static str,
                    key: Uuid,
                    since: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<Vec<AuditEvent>> {
                    // `column` varies per call: not a `select!` (its SQL is built once).
                    Ok(sqlx::query_as::<$db, AuditEvent>(sqlx::AssertSqlSafe(format!(
                        "SELECT {AUDIT_COLS} FROM audit_events WHERE {column} = $1 AND at >= $2 \
                         ORDER BY at DESC, id LIMIT $3"
                    )))
                    .bind(key)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
                }
            }
        };
    };
}

pub(crate) use impl_audit_store;
