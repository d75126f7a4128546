//! Security events: an append-only log of who did what to whom, when and from where.
//!
//! ```ignore
//! audit::record(state, &Actor::user(user.id), Some(user.id), action::MFA_ENROLLED, &meta,
//!     serde_json::json!({ "re_enrolment": false })).await?;
//! ```

use uuid::Uuid;

use crate::core::Core;
use crate::error::AppResult;
use crate::store::AuditEvent;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Admin,
    System,
    Support,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Admin => "admin",
            ActorKind::System => "system",
            ActorKind::Support => "support",
        }
    }
}

impl Actor {
    pub fn user(id: Uuid) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id),
        }
    }
    pub fn admin(id: Option<Uuid>) -> Actor {
        Actor {
            kind: ActorKind::Admin,
            id,
        }
    }
    pub fn support(id: Uuid) -> Actor {
        Actor {
            kind: ActorKind::Support,
            id: Some(id),
        }
    }
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
        }
    }
}

/// Action names (stable: admins filter on them).
pub mod action {
    /// MFA turned on, or a new authenticator replaced the old one (`re_enrolment`).
    pub const MFA_ENROLLED: &str = "mfa.enrolled";
    /// The user turned MFA off.
    pub const MFA_DISABLED: &str = "mfa.disabled";
    /// An admin (or support, or the system) turned a user's MFA off.
    pub const MFA_RESET: &str = "mfa.reset";
    pub const MFA_BACKUP_CODES_REGENERATED: &str = "mfa.backup_codes.regenerated";
    pub const MFA_BACKUP_CODE_USED: &str = "mfa.backup_code.used";
    /// Too many wrong codes: the half-finished sign-in was dropped.
    pub const MFA_CHALLENGE_DROPPED: &str = "mfa.challenge.dropped";
    /// A passkey or security key was registered (by the user).
    pub const PASSKEY_REGISTERED: &str = "passkey.registered";
    pub const PASSKEY_RENAMED: &str = "passkey.renamed";
    /// A passkey was removed, by the user or an admin (the actor says which).
    pub const PASSKEY_REMOVED: &str = "passkey.removed";
    /// A passkey's signature counter did not go up: a cloned authenticator or a
    /// replayed assertion; the sign-in was refused (actor: system).
    pub const PASSKEY_CLONE_DETECTED: &str = "passkey.clone_detected";
    /// A session was upgraded to MFA (step-up).
    pub const MFA_STEP_UP: &str = "mfa.step_up";
    /// The user re-entered their password for a sensitive change.
    pub const REAUTHENTICATED: &str = "session.reauthenticated";
    /// Locked after repeated failed sign-ins (actor: system).
    pub const ACCOUNT_LOCKED: &str = "account.locked";
    pub const ACCOUNT_UNLOCKED: &str = "account.unlocked";
    pub const USER_CREATED: &str = "user.created";
    pub const USER_UPDATED: &str = "user.updated";
    pub const USER_SUSPENDED: &str = "user.suspended";
    pub const USER_UNSUSPENDED: &str = "user.unsuspended";
    pub const USER_DELETED: &str = "user.deleted";
    pub const USER_RESTORED: &str = "user.restored";
    pub const USER_PURGED: &str = "user.purged";
    pub const SESSION_FORCED_LOGOUT: &str = "session.forced_logout";
    pub const PASSWORD_SET_BY_ADMIN: &str = "password.set_by_admin";
    pub const PASSWORD_CHANGE_REQUESTED: &str = "password.change_requested";
    pub const PASSWORD_CHANGED: &str = "password.changed";
    pub const APP_BLOCKED: &str = "app_access.blocked";
    pub const APP_UNBLOCKED: &str = "app_access.unblocked";
    pub const LOGIN_ID_CHANGED: &str = "user.login_id_changed";
    pub const POLICY_UPDATED: &str = "policy.updated";
    pub const CLIENT_CREATED: &str = "client.created";
    pub const CLIENT_SECRET_ROTATED: &str = "client.secret_rotated";
    pub const CLIENT_UPDATED: &str = "client.updated";
    pub const CLIENT_DELETED: &str = "client.deleted";
    pub const SIGN_IN_SUCCEEDED: &str = "sign_in.succeeded";
    pub const SIGN_IN_FAILED: &str = "sign_in.failed";
}

/// Where a request comes from, for audit events, session rows and sign-in records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Appends one security event. `details` should be a JSON object without secrets.
pub async fn record(
    state: &Core,
    actor: &Actor,
    subject_user_id: Option<Uuid>,
    action: &str,
    meta: &RequestMeta,
    details: serde_json::Value,
) -> AppResult<()> {
    let e = event(state, actor, subject_user_id, action, meta, details);
    state.store.insert_audit_event(&e).await?;
    tracing::info!(action, subject = ?subject_user_id, actor = actor.kind.as_str(), "security event");
    Ok(())
}

/// One security event, not yet stored: for a store method that writes it in the
/// same transaction as the change it records.
pub fn event(
    state: &Core,
    actor: &Actor,
    subject_user_id: Option<Uuid>,
    action: &str,
    meta: &RequestMeta,
    details: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        actor_kind: actor.kind.as_str().to_string(),
        actor_id: actor.id,
        subject_user_id,
        action: action.to_string(),
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_deref()
            .map(|u| crate::util::truncate(u, 512)),
        details: details.to_string(),
        at: state.clock.now(),
    }
}
