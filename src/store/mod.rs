//! Persistence. The only module that names sqlx: one trait per aggregate, one
//! implementation per dialect ([`sqlite::SqliteStore`], [`postgres::PostgresStore`]),
//! both expanded from the same SQL in [`sql`] (placeholders `$n` work in both).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::config::Config;

mod accounts;
pub mod admin;
pub mod audit;
pub mod federation;
pub mod mfa;
pub mod oidc;
pub mod outbox;
pub mod passkeys;
pub mod postgres;
mod queue;
pub mod saml;
mod sql;
pub mod sqlite;
pub mod support;

pub use audit::{AuditEvent, AuditStore};
pub use federation::{FederationState, FederationStore, IdentityProvider, LinkedLogin};
pub use mfa::{MfaChallenge, MfaStore, PendingEnrolment, TotpCredential};
pub use outbox::{OutboxMessage, OutboxStore};
pub use passkeys::{PasskeyRow, PasskeyStore, WebauthnCeremony};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint failed; the field that clashed.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn from_sqlx(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let text = format!("{} {}", db.constraint().unwrap_or(""), db.message());
                let field = if text.contains("login_id") {
                    "login_id"
                } else if text.contains("email") {
                    "email"
                } else if text.contains("slug") {
                    "slug"
                } else {
                    "id"
                };
                return StoreError::Conflict(field);
            }
        }
        StoreError::Db(e)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// `Retry-After` seconds of a 503 answered because the database is unavailable.
pub const RETRY_AFTER_SECS: u64 = 5;

impl StoreError {
    /// The database cannot be reached or gave no connection in time (down,
    /// restarting, saturated): worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            // PostgreSQL: connection failures (not 08P01, a protocol violation: a bug),
            // and a server shutting down or starting (57P01-57P03).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                matches!(
                    c.as_ref(),
                    "08000" | "08001" | "08003" | "08004" | "08006" | "57P01" | "57P02" | "57P03"
                )
            }),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------- models

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Account status as stored. `locked` with a past `locked_until` has lifted by itself.
pub mod user_status {
    pub const ACTIVE: &str = "active";
    pub const PENDING: &str = "pending";
    pub const SUSPENDED: &str = "suspended";
    pub const LOCKED: &str = "locked";
    pub const DELETED: &str = "deleted";
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub login_id: Option<String>,
    pub display_name: String,
    pub status: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub failed_logins: i64,
    pub lock_count: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    /// OIDC `address` claim as a JSON object.
    pub address: Option<String>,
    pub locale: Option<String>,
    /// An admin asked for a new password: it must be changed before any SSO.
    pub password_change_required: bool,
    pub password_change_requested_at: Option<DateTime<Utc>>,
    /// Native/desktop apps blocked since (browser sign-in keeps working).
    pub app_blocked_at: Option<DateTime<Utc>>,
    pub app_blocked_by: Option<String>,
    /// Set when the login id was changed (allowed once).
    pub login_id_changed_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub status_before_delete: Option<String>,
    /// Space-separated roles, e.g. `support`.
    pub roles: String,
}

/// Optional profile claims released to relying parties by scope.
#[derive(Debug, Clone, Default)]
pub struct UserClaims {
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub address: Option<String>,
    pub locale: Option<String>,
}

/// The role that lets a user act in support sessions (`crate::support`).
pub const SUPPORT_ROLE: &str = "support";
/// Administers the organisation (the admin console, support approvals).
pub const ADMIN_ROLE: &str = "admin";
/// Reads members and the audit log in the admin console, changes nothing.
pub const AUDITOR_ROLE: &str = "auditor";

impl User {
    /// Does the user hold `role` (roles are a space-separated list)?
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.split_whitespace().any(|r| r == role)
    }

    /// May sign in and receive or use tokens now: active, or under a lock that has lifted.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status == user_status::ACTIVE
            || (self.status == user_status::LOCKED && !self.is_locked(now))
    }

    /// Locked now: permanently (no `locked_until`) or until a time still ahead.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.status == user_status::LOCKED && self.locked_until.is_none_or(|t| t > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub org_id: Uuid,
    /// Already normalised (trimmed, lower-case).
    pub email: String,
    pub login_id: Option<String>,
    pub display_name: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    #[serde(skip)]
    pub token_hash: Vec<u8>,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_time: DateTime<Utc>,
    /// Space-separated RFC 8176 values, e.g. `pwd` or `pwd otp mfa`.
    pub amr: String,
    pub acr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// Support engineer acting as this session's user (impersonation), if any.
    pub impersonator_id: Option<Uuid>,
    /// The support grant an impersonation session runs under.
    pub support_grant_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LoginEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Option<Uuid>,
    /// What was typed as the login (truncated), kept for failed attempts.
    pub login: String,
    pub result: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

// ---------------------------------------------------------------- traits

#[async_trait]
pub trait OrgStore {
    /// Creates the organisation with this slug if it does not exist; returns it.
    async fn ensure_org(
        &self,
        slug: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Organization>;
    async fn get_org_by_slug(&self, slug: &str) -> StoreResult<Organization>;
}

#[async_trait]
pub trait UserStore {
    async fn insert_user(&self, new: &NewUser) -> StoreResult<User>;
    /// Inserts a user with its id and roles, and in the same transaction what the
    /// creation writes besides: its audit event and the message it sends (an
    /// invitation). Either all of it is stored or none.
    async fn insert_user_with(
        &self,
        id: Uuid,
        new: &NewUser,
        roles: &str,
        audit: Option<&AuditEvent>,
        message: Option<&OutboxMessage>,
    ) -> StoreResult<User>;
    async fn get_user(&self, id: Uuid) -> StoreResult<User>;
    async fn count_users(&self, org_id: Uuid) -> StoreResult<i64>;
    /// Matches the normalised e-mail or login id within an organisation.
    async fn find_user_by_login(&self, org_id: Uuid, login: &str) -> StoreResult<Option<User>>;
    async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Sets the first password of a pending user who has none, and activates them, in
    /// one statement; false when the user is no longer pending or has a password (so
    /// of racing invitation submissions exactly one succeeds).
    async fn set_first_password(
        &self,
        id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn set_user_claims(
        &self,
        id: Uuid,
        claims: &UserClaims,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Atomically adds one failed sign-in; returns the new count.
    async fn increment_failed_logins(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<i64>;
    /// Locks the account (until `until`, or until unlocked when `None`) unless it is
    /// already under a lock that has not expired; resets the failure count. Returns
    /// whether this call applied the lock.
    async fn lock_user(
        &self,
        id: Uuid,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// After a successful sign-in: failures and lock history reset, an expired lock
    /// cleared. A lock still in force is left as it is.
    async fn clear_login_failures(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Reserves one password attempt in a single atomic step, before the password is
    /// looked at: the failure count goes up by one (an attempt is a failure until it
    /// proves right, see [`UserStore::release_login_attempt`]) and the row as this
    /// step left it is returned, so concurrent attempts (on any replica) each see a
    /// distinct count. None when the account cannot sign in (not active or locked).
    async fn begin_login_attempt(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<LoginAttempt>>;
    /// A reserved attempt proved right: its reservation is taken back, unless the
    /// account is under a lock (or no longer active) by now. Returns whether the
    /// account may go on signing in.
    async fn release_login_attempt(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Locks the account when `failed_logins` has reached `max_failures`, in one
    /// statement: until `until` (a later lock already in force is kept), or for good
    /// when `until` is None; the count restarts and `lock_count` goes up. A permanent
    /// lock is left alone. Returns the lock's end (None = permanent) when this call
    /// applied it.
    async fn lock_user_if_due(
        &self,
        id: Uuid,
        max_failures: i64,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Option<DateTime<Utc>>>>;
}

/// The account as one reserved password attempt left it ([`UserStore::begin_login_attempt`]).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LoginAttempt {
    /// Failures counted so far, this attempt included.
    pub failed_logins: i64,
    pub status: String,
    pub locked_until: Option<DateTime<Utc>>,
    pub lock_count: i64,
}

impl LoginAttempt {
    /// Under a lock now (permanent, or until a time still ahead).
    pub fn locked(&self, now: DateTime<Utc>) -> bool {
        self.status == user_status::LOCKED && self.locked_until.is_none_or(|t| t > now)
    }
}

#[async_trait]
pub trait SessionStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()>;
    /// A session that has not been ended, by the hash of its cookie value.
    async fn find_live_session(&self, token_hash: &[u8]) -> StoreResult<Option<Session>>;
    /// A session by id, live or ended.
    async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>>;
    async fn touch_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Ends one session; false when it was already ended or unknown.
    async fn end_session(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<bool>;
    /// Ends every live session of a user; returns the ids ended.
    async fn end_user_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<Vec<Uuid>>;
    async fn list_live_sessions(&self, user_id: Uuid) -> StoreResult<Vec<Session>>;
    /// A user's sessions that ended at or after `since` (some replica may still hold
    /// them in its cache).
    async fn list_sessions_ended_since(
        &self,
        user_id: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>>;
    /// Ends every live session of a user but `keep`; returns the ids ended.
    async fn end_user_sessions_except(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<Vec<Uuid>>;
}

#[async_trait]
pub trait LoginEventStore {
    async fn insert_login_event(&self, e: &LoginEvent) -> StoreResult<()>;
    /// Newest first, at most `limit`.
    async fn list_login_events(
        &self,
        user_id: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<LoginEvent>>;
}

#[async_trait]
pub trait Backend:
    OrgStore
    + UserStore
    + oidc::OidcStore
    + SessionStore
    + LoginEventStore
    + MfaStore
    + PasskeyStore
    + FederationStore
    + AuditStore
    + admin::AdminStore
    + OutboxStore
    + saml::SamlStore
    + support::SupportStore
    + Send
    + Sync
    + 'static
{
    fn dialect(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;
    async fn migrate(&self) -> StoreResult<()>;
    async fn close(&self);
    /// Tells the other replicas of a change (the revocation bus, see `crate::cache`):
    /// PostgreSQL `NOTIFY` on this schema's channel; nothing on SQLite.
    async fn bus_publish(&self, payload: &str) -> StoreResult<()>;
    /// Starts hearing the other replicas' bus messages (PostgreSQL `LISTEN`, on a
    /// connection of its own); None on SQLite.
    async fn bus_subscribe(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<BusSignal>>>;
    /// Rows waiting in the outbox and the back-channel queue (metrics).
    async fn queue_depths(&self) -> StoreResult<QueueDepths>;
    /// The pool's open, idle and maximum connections (metrics).
    fn pool_stats(&self) -> (i64, i64, i64);
}

#[derive(Debug, Clone, Copy, Default)]
pub struct QueueDepths {
    pub outbox_pending: i64,
    pub backchannel_pending: i64,
}

/// What the bus listener hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusSignal {
    /// A message another replica published (JSON).
    Message(String),
    /// The listening connection was lost and is being re-established: until
    /// [`BusSignal::Lost`], messages may be missed, so caches must not be trusted.
    Down,
    /// The listening connection was lost (and is back): messages may have been missed.
    Lost,
}

/// The handle the rest of the app uses.
pub type Store = Arc<dyn Backend>;

/// Connects to the configured database (creating the SQLite file or the Postgres
/// schema if needed). Does not migrate.
pub async fn connect(cfg: &Config) -> anyhow::Result<Store> {
    if cfg.is_postgres() {
        Ok(Arc::new(postgres::PostgresStore::connect(cfg).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::connect(cfg).await?))
    }
}

/// Connects and applies migrations.
pub async fn connect_and_migrate(cfg: &Config) -> anyhow::Result<Store> {
    let store = connect(cfg).await?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("applying database migrations failed: {e}"))?;
    Ok(store)
}
