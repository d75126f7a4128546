//! Support grants and the impersonation sessions they open.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SupportGrant {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    #[serde(skip)]
    pub token_hash: Vec<u8>,
    /// `user` (issued by the user) or `admin` (approved by an admin).
    pub source: String,
    pub readonly: bool,
    /// JSON array of client ids; empty: every client.
    pub client_ids: String,
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub redeemed_by: Option<Uuid>,
}

impl SupportGrant {
    /// Is the grant usable now (not revoked, not expired)?
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SupportRequest {
    pub id: Uuid,
    pub org_id: Uuid,
    pub support_user_id: Uuid,
    pub user_id: Uuid,
    pub reason: String,
    pub readonly: bool,
    /// JSON array of client ids; empty: every client.
    pub client_ids: String,
    pub duration_secs: i64,
    /// pending, approved or denied (a pending request past `expires_at` has expired).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub grant_id: Option<Uuid>,
}

#[async_trait]
pub trait SupportStore {
    async fn insert_request(&self, r: &SupportRequest) -> StoreResult<()>;
    async fn get_request(&self, id: Uuid) -> StoreResult<Option<SupportRequest>>;
    async fn list_requests(&self, org_id: Uuid) -> StoreResult<Vec<SupportRequest>>;
    /// Decides a pending, unexpired request; false when it was decided or expired.
    async fn decide_request(
        &self,
        id: Uuid,
        status: &str,
        by: &str,
        grant_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn insert_grant(&self, g: &SupportGrant) -> StoreResult<()>;
    /// Inserts a user-issued grant unless the user already issued `limit` grants at or
    /// after `since` (the rolling daily limit); false then. Counting and inserting are
    /// one atomic step: the user's row is locked first (PostgreSQL row lock; SQLite
    /// takes its write lock), so parallel calls are serialised per user.
    async fn insert_grant_within_limit(
        &self,
        g: &SupportGrant,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<bool>;
    async fn list_grants(&self, user_id: Uuid) -> StoreResult<Vec<SupportGrant>>;
    /// Grants of the organisation neither revoked nor expired at `now`, newest first.
    async fn list_live_grants(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SupportGrant>>;
    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<SupportGrant>>;
    async fn find_grant_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<SupportGrant>>;
    async fn revoke_grant(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Marks a grant redeemed by `by` unless another engineer redeemed it first;
    /// false then.
    async fn redeem_grant(&self, id: Uuid, by: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Live sessions opened under a grant.
    async fn grant_sessions(&self, grant_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// Revokes every token family minted with `engineer` acting (offline ones too);
    /// returns how many.
    async fn revoke_impersonated_families(
        &self,
        engineer: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<u64>;
    /// Ends every live impersonation session `engineer` opened; returns their ids.
    async fn end_impersonation_sessions(
        &self,
        engineer: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<Vec<Uuid>>;
}

/// Implements [`SupportStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_support_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::support::{SupportGrant, SupportRequest, SupportStore};
            use $crate::store::sql::{insert_into, named_query, select};
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const COLS: &str = "id, org_id, user_id, token_hash, source, readonly, client_ids, target, \
                created_at, expires_at, revoked_at, redeemed_at, redeemed_by";

            const REQ_COLS: &str = "id, org_id, support_user_id, user_id, reason, readonly, client_ids, \
                duration_secs, status, created_at, expires_at, decided_at, decided_by, grant_id";

            #[async_trait::async_trait]
            impl SupportStore for $store {
                async fn insert_request(&self, r: &SupportRequest) -> StoreResult<()> {
                    insert_into!($db, "support_requests", r => {
                        id, org_id, support_user_id, user_id, reason, readonly, client_ids, duration_secs,
                        status, created_at, expires_at, decided_at, decided_by, grant_id,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_request(&self, id: Uuid) -> StoreResult<Option<SupportRequest>> {
                    Ok(select!($db, SupportRequest, "SELECT {REQ_COLS} FROM support_requests WHERE id = $1", id).fetch_optional(&self.pool).await?)
                }

                async fn list_requests(&self, org_id: Uuid) -> StoreResult<Vec<SupportRequest>> {
                    Ok(select!($db, SupportRequest, "SELECT {REQ_COLS} FROM support_requests WHERE org_id = $1 ORDER BY created_at DESC LIMIT 500", org_id).fetch_all(&self.pool).await?)
                }

                async fn decide_request(
                    &self,
                    id: Uuid,
                    status: &str,
                    by: &str,
                    grant_id: Option<Uuid>,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = named_query!(
                        $db,
                        "UPDATE support_requests SET status = :status, decided_by = :by, grant_id = :grant_id, \
                         decided_at = :now WHERE id = :id AND status = 'pending' AND expires_at > :now",
                        { id, status, by, grant_id, now }
                    )
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn insert_grant(&self, g: &SupportGrant) -> StoreResult<()> {
                    insert_into!($db, "support_grants", g => {
                        id, org_id, user_id, token_hash, source, readonly, client_ids, target,
                        created_at, expires_at, revoked_at, redeemed_at, redeemed_by,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn insert_grant_within_limit(
                    &self,
                    g: &SupportGrant,
                    since: DateTime<Utc>,
                    limit: i64,
                ) -> StoreResult<bool> {
                    // The first statement writes, so the lock is taken before counting.
                    let mut tx = self.pool.begin().await?;
                    let locked = sqlx::query::<$db>("UPDATE users SET updated_at = updated_at WHERE id = $1")
                        .bind(g.user_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if locked != 1 {
                        return Err(StoreError::NotFound);
                    }
                    let r = insert_into!($db, "support_grants", g => {
                        id, org_id, user_id, token_hash, source, readonly, client_ids, target,
                        created_at, expires_at, revoked_at, redeemed_at, redeemed_by,
                    }, select_where: "(SELECT COUNT(*) FROM support_grants \
                        WHERE user_id = :user_id AND source = 'user' AND created_at >= :since) < :limit",
                    { since, limit })
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    tx.commit().await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn list_grants(&self, user_id: Uuid) -> StoreResult<Vec<SupportGrant>> {
                    Ok(select!($db, SupportGrant, "SELECT {COLS} FROM support_grants WHERE user_id = $1 ORDER BY created_at DESC LIMIT 200", user_id).fetch_all(&self.pool).await?)
                }

                async fn list_live_grants(&self, org_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SupportGrant>> {
                    Ok(select!($db, SupportGrant, "SELECT {COLS} FROM support_grants WHERE org_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 500", org_id, now).fetch_all(&self.pool).await?)
                }

                async fn get_grant(&self, id: Uuid) -> StoreResult<Option<SupportGrant>> {
                    Ok(select!($db, SupportGrant, "SELECT {COLS} FROM support_grants WHERE id = $1", id).fetch_optional(&self.pool).await?)
                }

                async fn find_grant_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<SupportGrant>> {
                    Ok(select!($db, SupportGrant, "SELECT {COLS} FROM support_grants WHERE token_hash = $1", token_hash).fetch_optional(&self.pool).await?)
                }

                async fn revoke_grant(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE support_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn redeem_grant(&self, id: Uuid, by: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE support_grants SET redeemed_by = $2, redeemed_at = COALESCE(redeemed_at, $3) \
                         WHERE id = $1 AND revoked_at IS NULL AND (redeemed_by IS NULL OR redeemed_by = $2)",
                    )
                    .bind(id)
                    .bind(by)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn grant_sessions(&self, grant_id: Uuid) -> StoreResult<Vec<Uuid>> {
                    let rows: Vec<(Uuid,)> = sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT id FROM sessions WHERE support_grant_id = $1 AND ended_at IS NULL",
                    )
                    .bind(grant_id)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(|(id,)| id).collect())
                }

                async fn revoke_impersonated_families(
                    &self,
                    engineer: Uuid,
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<u64> {
                    self.revoke_families_where("impersonator_id = $1", engineer, now, reason).await
                }

                async fn end_impersonation_sessions(
                    &self,
                    engineer: Uuid,
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<Vec<Uuid>> {
                    self.end_sessions_where("impersonator_id = $1", engineer, None, now, reason).await
                }
            }
        };
    };
}

pub(crate) use impl_support_store;
