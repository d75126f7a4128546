//! What admins do to accounts. Every action takes effect at once (sessions end,
//! grants are revoked, clients are told by back-channel logout), is written to the
//! audit log with who, whom, when and from where, and tells the user when it concerns
//! them.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, action, Actor};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions::{self, RequestMeta};
use crate::store::{user_status, User};

/// The admin scopes: what an admin credential (API) or an admin's roles (console)
/// allow. Every admin operation checks its scope where it acts ([`AdminCtx::require`]),
/// so the API and the console cannot disagree.
pub mod scope {
    pub const USERS_READ: &str = "admin:users:read";
    pub const USERS_WRITE: &str = "admin:users:write";
    pub const SESSIONS: &str = "admin:sessions";
    pub const SECURITY: &str = "admin:security";
    pub const CLIENTS: &str = "admin:clients";
    pub const AUDIT_READ: &str = "admin:audit:read";
    pub const SUPPORT: &str = "admin:support";
    /// Every scope.
    pub const ALL: &[&str] = &[
        USERS_READ,
        USERS_WRITE,
        SESSIONS,
        SECURITY,
        CLIENTS,
        AUDIT_READ,
        SUPPORT,
    ];

    /// The scopes a user's roles give in the console: `admin` everything, `auditor`
    /// reading members and the audit log; other roles none.
    pub fn for_roles(roles: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for role in roles.split_whitespace() {
            let granted: &[&str] = match role {
                crate::store::ADMIN_ROLE => &["admin:*"],
                crate::store::AUDITOR_ROLE => &[USERS_READ, AUDIT_READ],
                _ => &[],
            };
            for s in granted {
                if !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
        }
        out
    }
}

/// Who is acting, from where, and with which scopes.
#[derive(Debug, Clone)]
pub struct AdminCtx {
    pub actor: Actor,
    /// Human-readable name of the credential (admin token name, client id, or
    /// `user:<e-mail>` for an admin in the console).
    pub label: String,
    pub meta: RequestMeta,
    /// Scopes of the credential (`admin:*` for all).
    pub scopes: Vec<String>,
}

impl AdminCtx {
    /// May this caller use `scope`?
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope || s == "admin:*")
    }

    /// 403 unless the caller holds `scope` (or `admin:*`).
    pub fn require(&self, scope: &str) -> AppResult<()> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "insufficient_scope",
                format!("this credential lacks the {scope} scope"),
            ))
        }
    }
}

/// A user of this organisation (404 otherwise).
pub async fn get(state: &Core, id: Uuid) -> AppResult<User> {
    match state.store.get_user(id).await {
        Ok(u) if u.org_id == state.org.id => Ok(u),
        Ok(_) | Err(crate::store::StoreError::NotFound) => Err(AppError::not_found("no such user")),
        Err(e) => Err(e.into()),
    }
}

async fn record(
    state: &Core,
    ctx: &AdminCtx,
    user: Uuid,
    act: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    let mut d = details;
    if let Some(o) = d.as_object_mut() {
        o.insert("by".into(), json!(ctx.label));
    }
    audit::record(state, &ctx.actor, Some(user), act, &ctx.meta, d).await
}

/// Ends every session and revokes every grant (offline ones too).
async fn cut_off(state: &Core, user: Uuid, reason: &str) -> AppResult<usize> {
    revoke_all_access(state, user, None, reason).await
}

/// Takes away everything that lets someone act as the user without signing in
/// again: every browser session but `keep` ends (the one a user changed their own
/// password in continues), and every grant of the user is revoked — refresh tokens,
/// `offline_access` ones too, device grants, and with them every access token issued
/// under them (introspection answers `active: false`, userinfo refuses them); device
/// requests the user approved that the device has not exchanged yet are denied.
///
/// Every credential change calls this (the user's own password change, also when an
/// admin asked for it; an admin-set password; the first password from an invitation),
/// as do suspension, deletion and a login id change. Returns the sessions ended.
pub async fn revoke_all_access(
    state: &Core,
    user: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> AppResult<usize> {
    let ended = sessions::end_all_for_user_but(state, user, keep, reason).await?;
    // Before the grants: an approval exchanged from here on would mint a new grant.
    state.store.deny_open_devices_for_user(user).await?;
    let revoked = state
        .store
        .revoke_user_families(user, state.clock.now(), reason)
        .await?;
    tracing::info!(%user, reason, sessions = ended.len(), grants = revoked, "access revoked");
    Ok(ended.len())
}

/// A credential of the user changed: see [`revoke_all_access`]. `keep` is the
/// session the user made the change in, if any.
pub async fn credentials_changed(
    state: &Core,
    user: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> AppResult<usize> {
    crate::cache::user_changed(state, user).await;
    revoke_all_access(state, user, keep, reason).await
}

pub async fn suspend(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    let user = get(state, id).await?;
    let now = state.clock.now();
    if !state
        .store
        .set_user_status(
            id,
            &[
                user_status::ACTIVE,
                user_status::LOCKED,
                user_status::PENDING,
            ],
            user_status::SUSPENDED,
            now,
        )
        .await?
    {
        return Err(AppError::conflict(
            "invalid_state",
            format!("a {} user cannot be suspended", user.status),
        ));
    }
    crate::cache::user_changed(state, id).await;
    let ended = cut_off(state, id, "suspended").await?;
    record(
        state,
        ctx,
        id,
        action::USER_SUSPENDED,
        json!({ "sessions_ended": ended }),
    )
    .await?;
    notify_user(state, &user, Notice::Suspended).await?;
    get(state, id).await
}

pub async fn unsuspend(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    let user = get(state, id).await?;
    let target = if user.password_hash.is_some() {
        user_status::ACTIVE
    } else {
        user_status::PENDING
    };
    if !state
        .store
        .set_user_status(id, &[user_status::SUSPENDED], target, state.clock.now())
        .await?
    {
        return Err(AppError::conflict(
            "invalid_state",
            "the user is not suspended",
        ));
    }
    crate::cache::user_changed(state, id).await;
    record(state, ctx, id, action::USER_UNSUSPENDED, json!({})).await?;
    notify_user(state, &user, Notice::Unsuspended).await?;
    get(state, id).await
}

pub async fn delete(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::USERS_WRITE)?;
    get(state, id).await?;
    if !state.store.soft_delete_user(id, state.clock.now()).await? {
        return Err(AppError::conflict(
            "invalid_state",
            "the user is already deleted",
        ));
    }
    crate::cache::user_changed(state, id).await;
    let ended = cut_off(state, id, "deleted").await?;
    record(
        state,
        ctx,
        id,
        action::USER_DELETED,
        json!({ "sessions_ended": ended }),
    )
    .await?;
    get(state, id).await
}

pub async fn restore(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::USERS_WRITE)?;
    let user = get(state, id).await?;
    if user.status != user_status::DELETED {
        return Err(AppError::conflict(
            "invalid_state",
            "the user is not deleted",
        ));
    }
    let since =
        state.clock.now() - Duration::days(i64::from(state.cfg.retention.deleted_user_days));
    if !state
        .store
        .restore_user(id, since, state.clock.now())
        .await?
    {
        return Err(AppError::conflict(
            "restore_window_passed",
            "the restore window has passed",
        ));
    }
    crate::cache::user_changed(state, id).await;
    record(state, ctx, id, action::USER_RESTORED, json!({})).await?;
    get(state, id).await
}

pub async fn unlock(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    let user = get(state, id).await?;
    if !state.store.unlock_user(id, state.clock.now()).await? {
        return Err(AppError::conflict(
            "invalid_state",
            "the user is not locked",
        ));
    }
    crate::cache::user_changed(state, id).await;
    record(state, ctx, id, action::ACCOUNT_UNLOCKED, json!({})).await?;
    notify_user(state, &user, Notice::Unlocked).await?;
    get(state, id).await
}

/// An admin sets a new password: every session ends and every grant is revoked.
pub async fn set_password(
    state: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    password: &str,
    require_change: bool,
) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    let user = get(state, id).await?;
    if user.status == user_status::DELETED {
        return Err(AppError::conflict("invalid_state", "the user is deleted"));
    }
    super::check_password(
        state,
        &user.email,
        user.login_id.as_deref(),
        &user.display_name,
        password,
    )?;
    let hash = state
        .passwords
        .hash(password)
        .await
        .map_err(AppError::internal)?;
    let now = state.clock.now();
    state.store.set_password_hash(id, &hash, now).await?;
    state
        .store
        .set_password_change_required(id, require_change, now)
        .await?;
    let ended = credentials_changed(state, id, None, "password_set_by_admin").await?;
    record(
        state,
        ctx,
        id,
        action::PASSWORD_SET_BY_ADMIN,
        json!({ "sessions_ended": ended, "require_change": require_change }),
    )
    .await?;
    notify_user(state, &user, Notice::PasswordSetByAdmin).await?;
    get(state, id).await
}

/// The user must change their password at the next sign-in, before any SSO.
pub async fn request_password_change(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    let user = get(state, id).await?;
    if user.status == user_status::DELETED {
        return Err(AppError::conflict("invalid_state", "the user is deleted"));
    }
    state
        .store
        .set_password_change_required(id, true, state.clock.now())
        .await?;
    crate::cache::user_changed(state, id).await;
    record(state, ctx, id, action::PASSWORD_CHANGE_REQUESTED, json!({})).await?;
    notify_user(state, &user, Notice::PasswordChangeRequested).await?;
    get(state, id).await
}

/// Blocks native apps: new tokens for native clients are refused and the grants the
/// user holds with them are revoked; browser sign-in to web clients keeps working.
pub async fn block_apps(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    get(state, id).await?;
    let now = state.clock.now();
    let changed = state.store.set_app_block(id, Some(&ctx.label), now).await?;
    crate::cache::user_changed(state, id).await;
    let native: Vec<String> = state
        .store
        .list_clients(state.org.id)
        .await?
        .into_iter()
        .filter(|c| c.is_native())
        .map(|c| c.client_id)
        .collect();
    let revoked = state
        .store
        .revoke_families_for_user_clients(id, &native, now, "app_blocked")
        .await?;
    if changed {
        record(
            state,
            ctx,
            id,
            action::APP_BLOCKED,
            json!({ "grants_revoked": revoked }),
        )
        .await?;
    }
    get(state, id).await
}

pub async fn unblock_apps(state: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<User> {
    ctx.require(scope::SECURITY)?;
    get(state, id).await?;
    if state
        .store
        .set_app_block(id, None, state.clock.now())
        .await?
    {
        crate::cache::user_changed(state, id).await;
        record(state, ctx, id, action::APP_UNBLOCKED, json!({})).await?;
    }
    get(state, id).await
}

/// Changes the login id, once per user; every session ends.
pub async fn change_login_id(
    state: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    login_id: &str,
) -> AppResult<User> {
    ctx.require(scope::USERS_WRITE)?;
    let user = get(state, id).await?;
    let new = super::normalize_login_id(login_id).ok_or_else(|| {
        AppError::bad_request("invalid_login_id", "login id must be 3-64 of a-z 0-9 . _ -")
            .with_field("login_id", "invalid")
    })?;
    if user.login_id_changed_at.is_some() {
        return Err(AppError::conflict(
            "login_id_already_changed",
            "the login id can be changed only once",
        ));
    }
    if !state
        .store
        .change_login_id(id, &new, state.clock.now())
        .await?
    {
        return Err(AppError::conflict(
            "login_id_already_changed",
            "the login id can be changed only once",
        ));
    }
    crate::cache::user_changed(state, id).await;
    let ended = cut_off(state, id, "login_id_changed").await?;
    record(
        state,
        ctx,
        id,
        action::LOGIN_ID_CHANGED,
        json!({ "from": user.login_id, "to": new, "sessions_ended": ended }),
    )
    .await?;
    get(state, id).await
}

/// Ends one session of a user and revokes every grant issued under it
/// (`offline_access` ones too); or, when `session_id` is None, everything: every
/// session and every grant of the user ([`revoke_all_access`]).
pub async fn force_logout(
    state: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    session_id: Option<Uuid>,
) -> AppResult<usize> {
    ctx.require(scope::SESSIONS)?;
    get(state, id).await?;
    let n = match session_id {
        Some(sid) => {
            match state.store.get_session(sid).await? {
                Some(s) if s.user_id == id => {}
                _ => return Err(AppError::not_found("no such session")),
            }
            let ended = sessions::end(state, sid, "admin_forced_logout").await?;
            // Also when it had ended already (a retry): its grants go in any case.
            state
                .store
                .revoke_all_session_families(&[sid], state.clock.now(), "admin_forced_logout")
                .await?;
            usize::from(ended)
        }
        None => {
            // Total and idempotent: every session and every grant of the user,
            // `offline_access` ones and those of sessions that ended before, so a
            // retry after a failure half-way ends what is left.
            let since = state.clock.now()
                - chrono::Duration::seconds(state.cfg.cache.ttl_secs.max(60) as i64);
            let n = revoke_all_access(state, id, None, "admin_forced_logout").await?;
            // Sessions a failed earlier attempt ended may still be cached elsewhere:
            // every replica drops them now.
            for s in state.store.list_sessions_ended_since(id, since).await? {
                crate::cache::session_changed(state, &s).await;
            }
            n
        }
    };
    record(
        state,
        ctx,
        id,
        action::SESSION_FORCED_LOGOUT,
        json!({ "session_id": session_id, "sessions_ended": n }),
    )
    .await?;
    Ok(n)
}

pub async fn update_profile(
    state: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    display_name: Option<&str>,
    email: Option<&str>,
    roles: Option<&[String]>,
) -> AppResult<User> {
    ctx.require(scope::USERS_WRITE)?;
    get(state, id).await?;
    let email = match email {
        Some(e) => Some(super::normalize_email(e).ok_or_else(|| {
            AppError::bad_request("invalid_email", "not a valid e-mail address")
                .with_field("email", "invalid")
        })?),
        None => None,
    };
    if let Some(d) = display_name {
        if d.trim().is_empty() || d.chars().count() > 200 || d.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                "invalid_display_name",
                "1-200 characters, no control characters",
            )
            .with_field("display_name", "invalid"));
        }
    }
    let roles = match roles {
        Some(r) => {
            for role in r {
                if !super::ROLES.contains(&role.as_str()) {
                    return Err(AppError::bad_request(
                        "invalid_role",
                        format!("unknown role {role}"),
                    )
                    .with_field("roles", "unknown role"));
                }
            }
            Some(r.join(" "))
        }
        None => None,
    };
    state
        .store
        .update_user_profile(
            id,
            display_name.map(str::trim),
            email.as_deref(),
            roles.as_deref(),
            state.clock.now(),
        )
        .await?;
    crate::cache::user_changed(state, id).await;
    // Without the `support` role, the support sessions they opened end at once.
    let support_sessions_ended = match &roles {
        Some(r)
            if !r
                .split_whitespace()
                .any(|r| r == crate::support::SUPPORT_ROLE) =>
        {
            sessions::end_impersonations_by(state, id, "support_role_removed")
                .await?
                .len()
        }
        _ => 0,
    };
    record(
        state,
        ctx,
        id,
        action::USER_UPDATED,
        json!({ "display_name": display_name, "email": email, "roles": roles, "support_sessions_ended": support_sessions_ended }),
    )
    .await?;
    get(state, id).await
}

/// What a user is told by the outbox.
#[derive(Debug, Clone)]
pub enum Notice {
    Locked(Option<DateTime<Utc>>),
    Unlocked,
    Suspended,
    Unsuspended,
    PasswordSetByAdmin,
    PasswordChangeRequested,
}

/// Queues a notice to the user (delivered by the outbox worker).
pub async fn notify_user(state: &Core, user: &User, notice: Notice) -> AppResult<()> {
    super::notices::for_user(state, user, notice).await
}

/// The account was just locked after failed sign-ins (called from the sign-in path):
/// ends the support sessions the user opened as an engineer, and tells the user.
pub async fn notify_locked(
    state: &Core,
    user: &User,
    until: Option<DateTime<Utc>>,
) -> AppResult<()> {
    sessions::end_impersonations_by(state, user.id, "locked").await?;
    notify_user(state, user, Notice::Locked(until)).await
}
