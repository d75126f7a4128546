//! OAuth 2.0 Device Authorization Grant requests (`device_authorizations`, RFC 8628).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreResult;

/// One OAuth 2.0 Device Authorization Grant (RFC 8628) request.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DeviceAuthorization {
    pub id: Uuid,
    pub org_id: Uuid,
    #[serde(skip)]
    pub device_code_hash: Vec<u8>,
    #[serde(skip)]
    pub user_code_hash: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    /// `pending` (waiting for the user), `awaiting_admin`, `approved`, `denied`, `used`.
    pub status: String,
    /// The user who approved (or denied) the request.
    pub user_id: Option<Uuid>,
    pub auth_time: Option<DateTime<Utc>>,
    pub amr: Option<String>,
    pub acr: Option<String>,
    /// Minimum seconds between polls (grows by 5 at each `slow_down`).
    pub interval_secs: i64,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_by: Option<String>,
    /// The grant its tokens belong to, once exchanged.
    pub family_id: Option<Uuid>,
}

/// The user's answer to a device request.
#[derive(Debug, Clone)]
pub struct DeviceUserDecision {
    pub user_id: Uuid,
    /// `awaiting_admin`, `approved` or `denied`.
    pub status: String,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub acr: String,
    /// New expiry (an admin may take longer than the user had).
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait DeviceStore {
    async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()>;
    async fn get_device(&self, id: Uuid) -> StoreResult<Option<DeviceAuthorization>>;
    async fn find_device_by_user_code(
        &self,
        user_code_hash: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>>;
    async fn find_device_by_device_code(
        &self,
        device_code_hash: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Records the user's answer to a pending, unexpired request; false otherwise.
    async fn decide_device_by_user(
        &self,
        id: Uuid,
        d: &DeviceUserDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records an admin's answer to a request awaiting one; false otherwise.
    async fn decide_device_by_admin(
        &self,
        id: Uuid,
        approve: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records a poll unless the previous one was after `not_after` (then: too fast,
    /// and the interval grows by `slow_down_secs`). True when the poll is allowed.
    async fn poll_device(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        not_after: DateTime<Utc>,
        slow_down_secs: i64,
    ) -> StoreResult<bool>;
    /// Marks an approved request used by the grant `family_id`; false if it was not
    /// approved (any more), so only one exchange wins.
    async fn consume_device(&self, id: Uuid, family_id: Uuid) -> StoreResult<bool>;
    /// Denies the device requests a user answered that the device has not exchanged
    /// yet (approved, or waiting for an admin): their tokens would outlive a
    /// credential change. Returns how many.
    async fn deny_open_devices_for_user(&self, user_id: Uuid) -> StoreResult<u64>;
    async fn list_devices(
        &self,
        org_id: Uuid,
        status: Option<&str>,
    ) -> StoreResult<Vec<DeviceAuthorization>>;
}

/// Implements [`DeviceStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_device_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::oidc::device::{DeviceAuthorization, DeviceStore, DeviceUserDecision};
            use $crate::store::sql::{insert_into, named_query, select};
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const DEVICE_COLS: &str = "id, org_id, device_code_hash, user_code_hash, client_id, scope, status, user_id, \
                auth_time, amr, acr, interval_secs, last_polled_at, created_at, expires_at, user_decided_at, \
                admin_decided_at, admin_decided_by, family_id";

            /// The request whose `column` (a unique key) is `$1`.
            fn device_by(column: &str) -> String {
                format!("SELECT {DEVICE_COLS} FROM device_authorizations WHERE {column} = $1")
            }

            #[async_trait::async_trait]
            impl DeviceStore for $store {
                async fn insert_device(&self, d: &DeviceAuthorization) -> StoreResult<()> {
                    insert_into!($db, "device_authorizations", d => {
                        id, org_id, device_code_hash, user_code_hash, client_id, scope, status, user_id,
                        auth_time, amr, acr, interval_secs, last_polled_at, created_at, expires_at,
                        user_decided_at, admin_decided_at, admin_decided_by, family_id,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn get_device(&self, id: Uuid) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(device_by("id")))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn find_device_by_user_code(&self, hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(device_by("user_code_hash")))
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn find_device_by_device_code(&self, hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
                    Ok(sqlx::query_as::<$db, DeviceAuthorization>(sqlx::AssertSqlSafe(device_by("device_code_hash")))
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn decide_device_by_user(
                    &self,
                    id: Uuid,
                    d: &DeviceUserDecision,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = named_query!(
                        $db,
                        "UPDATE device_authorizations SET status = :status, user_id = :user_id, \
                         auth_time = :auth_time, amr = :amr, acr = :acr, expires_at = :expires_at, \
                         user_decided_at = :now \
                         WHERE id = :id AND status = 'pending' AND expires_at > :now",
                        {
                            id,
                            status: &d.status,
                            user_id: d.user_id,
                            auth_time: d.auth_time,
                            amr: &d.amr,
                            acr: &d.acr,
                            expires_at: d.expires_at,
                            now,
                        }
                    )
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn decide_device_by_admin(
                    &self,
                    id: Uuid,
                    approve: bool,
                    by: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = $2, admin_decided_by = $3, admin_decided_at = $4 \
                         WHERE id = $1 AND status = 'awaiting_admin' AND expires_at > $4",
                    )
                    .bind(id)
                    .bind(if approve { "approved" } else { "denied" })
                    .bind(by)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn poll_device(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                    not_after: DateTime<Utc>,
                    slow_down_secs: i64,
                ) -> StoreResult<bool> {
                    let ok = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET last_polled_at = $2 \
                         WHERE id = $1 AND (last_polled_at IS NULL OR last_polled_at <= $3)",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(not_after)
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                        == 1;
                    if !ok {
                        sqlx::query::<$db>(
                            "UPDATE device_authorizations SET interval_secs = interval_secs + $2, last_polled_at = $3 \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(slow_down_secs)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    }
                    Ok(ok)
                }

                async fn consume_device(&self, id: Uuid, family_id: Uuid) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = 'used', family_id = $2 \
                         WHERE id = $1 AND status = 'approved'",
                    )
                    .bind(id)
                    .bind(family_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn deny_open_devices_for_user(&self, user_id: Uuid) -> StoreResult<u64> {
                    Ok(sqlx::query::<$db>(
                        "UPDATE device_authorizations SET status = 'denied' \
                         WHERE user_id = $1 AND status IN ('approved', 'awaiting_admin')",
                    )
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
                }

                async fn list_devices(
                    &self,
                    org_id: Uuid,
                    status: Option<&str>,
                ) -> StoreResult<Vec<DeviceAuthorization>> {
                    Ok(select!($db, DeviceAuthorization, "SELECT {DEVICE_COLS} FROM device_authorizations WHERE org_id = $1 \
                         AND ($2 IS NULL OR status = $2) ORDER BY created_at DESC LIMIT 500", org_id, status).fetch_all(&self.pool).await?)
                }
            }
        };
    };
}

pub(crate) use impl_device_store;
