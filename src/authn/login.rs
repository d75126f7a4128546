//! The password step of sign-in, with lockout, and the recording of every attempt.
//!
//! Unknown users, users without a password and wrong passwords all take one argon2
//! verification and get the same answer. Only someone who knows the right password
//! learns that an account is locked or suspended.

use chrono::Duration;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::AppResult;
use crate::sessions::{self, AuthContext, RequestMeta};
use crate::store::{user_status, LoginEvent, Session, User};

/// Result codes stored in `login_events.result`.
pub mod result {
    pub const SUCCESS: &str = "success";
    pub const UNKNOWN_USER: &str = "unknown_user";
    pub const BAD_PASSWORD: &str = "bad_password";
    pub const LOCKED: &str = "locked";
    pub const NOW_LOCKED: &str = "bad_password_locked";
    pub const SUSPENDED: &str = "suspended";
    pub const INACTIVE: &str = "inactive";
    /// A wrong, malformed or replayed second-factor code.
    pub const BAD_SECOND_FACTOR: &str = "bad_second_factor";
    /// Too many wrong codes: the half-finished sign-in was dropped (one failure).
    pub const SECOND_FACTOR_DROPPED: &str = "second_factor_dropped";
    /// A wrong password at re-authentication (counts as a failure).
    pub const REAUTH_BAD_PASSWORD: &str = "reauth_bad_password";
}

#[derive(Debug)]
pub enum PasswordOutcome {
    /// Right password, account usable: go on (second factor, or finish).
    Verified(Box<User>),
    /// Wrong login or password (or an account that cannot sign in): one message for all.
    Failed,
    /// Right password, but the account is locked after failures.
    Locked,
    /// Right password, but an admin suspended the account.
    Suspended,
}

/// Normalises what users type as their login: trimmed, lower-case.
pub fn normalize_login(s: &str) -> String {
    crate::util::truncate(s.trim(), 256).to_lowercase()
}

pub async fn password_step(
    state: &AppState,
    login: &str,
    password: &str,
    meta: &RequestMeta,
) -> AppResult<PasswordOutcome> {
    let login = normalize_login(login);
    let user = state.store.find_user_by_login(state.org.id, &login).await?;
    let ok = state
        .passwords
        .verify(
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
            password,
        )
        .await;
    let now = state.clock.now();
    let Some(user) = user else {
        record(state, None, &login, result::UNKNOWN_USER, meta, None).await?;
        return Ok(PasswordOutcome::Failed);
    };
    let (outcome, code) = match user.status.as_str() {
        _ if user.is_locked(now) => {
            if ok {
                (PasswordOutcome::Locked, result::LOCKED)
            } else {
                (PasswordOutcome::Failed, result::LOCKED)
            }
        }
        user_status::SUSPENDED if ok => (PasswordOutcome::Suspended, result::SUSPENDED),
        // Failures are cleared only when the whole sign-in succeeds ([`finish`]): a
        // right password followed by wrong second factors must not reset the count.
        user_status::ACTIVE | user_status::LOCKED if ok => {
            return Ok(PasswordOutcome::Verified(Box::new(user)));
        }
        user_status::ACTIVE | user_status::LOCKED => {
            let code = register_failure(state, &user).await?;
            (PasswordOutcome::Failed, code)
        }
        _ => (PasswordOutcome::Failed, result::INACTIVE),
    };
    record(state, Some(user.id), &login, code, meta, None).await?;
    Ok(outcome)
}

/// Counts a failed sign-in (a wrong password, or a half-finished sign-in dropped
/// after too many wrong codes); locks the account when the policy says so. Returns
/// [`result::NOW_LOCKED`] when this failure locked it, else [`result::BAD_PASSWORD`].
pub(crate) async fn register_failure(state: &AppState, user: &User) -> AppResult<&'static str> {
    let now = state.clock.now();
    let failures = state.store.increment_failed_logins(user.id, now).await?;
    let policy = crate::policy::current(state).await?.lockout;
    if policy.max_failures == 0 || failures < i64::from(policy.max_failures) {
        return Ok(result::BAD_PASSWORD);
    }
    let until = (!policy.permanent).then(|| {
        let factor = i64::from(policy.backoff_multiplier)
            .saturating_pow(user.lock_count.clamp(0, 30) as u32);
        let secs = policy
            .lock_duration_secs
            .saturating_mul(factor)
            .min(policy.max_lock_duration_secs);
        now + Duration::seconds(secs)
    });
    if state.store.lock_user(user.id, until, now).await? {
        crate::cache::user_changed(state, user.id).await;
        tracing::warn!(user = %user.id, ?until, "account locked after failed sign-ins");
        crate::audit::record(
            state,
            &crate::audit::Actor::system(),
            Some(user.id),
            crate::audit::action::ACCOUNT_LOCKED,
            &RequestMeta::default(),
            serde_json::json!({ "until": until, "failures": failures }),
        )
        .await?;
        crate::users::actions::notify_locked(state, user, until).await?;
    }
    Ok(result::NOW_LOCKED)
}

/// Completes a sign-in: starts the session and records the success.
pub async fn finish(
    state: &AppState,
    user: &User,
    ctx: &AuthContext,
    meta: &RequestMeta,
    login: &str,
) -> AppResult<(Session, String)> {
    state
        .store
        .clear_login_failures(user.id, state.clock.now())
        .await?;
    if user.failed_logins > 0 || user.lock_count > 0 || user.status == user_status::LOCKED {
        crate::cache::user_changed(state, user.id).await;
    }
    let (session, token) = sessions::create(state, user, ctx, meta).await?;
    record(
        state,
        Some(user.id),
        &normalize_login(login),
        result::SUCCESS,
        meta,
        Some(session.id),
    )
    .await?;
    Ok((session, token))
}

/// Writes one `login_events` row.
pub(crate) async fn record(
    state: &AppState,
    user_id: Option<Uuid>,
    login: &str,
    result: &str,
    meta: &RequestMeta,
    session_id: Option<Uuid>,
) -> AppResult<()> {
    let e = LoginEvent {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        user_id,
        login: crate::util::truncate(login, 256),
        result: result.to_string(),
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_deref()
            .map(|u| crate::util::truncate(u, 512)),
        session_id,
        at: state.clock.now(),
    };
    state.store.insert_login_event(&e).await?;
    // Every attempt is a security event too (the audit log is what admins search).
    let (actor, act) = match (result, user_id) {
        (result::SUCCESS, Some(u)) => (
            crate::audit::Actor::user(u),
            crate::audit::action::SIGN_IN_SUCCEEDED,
        ),
        _ => (
            crate::audit::Actor::system(),
            crate::audit::action::SIGN_IN_FAILED,
        ),
    };
    crate::audit::record(
        state,
        &actor,
        user_id,
        act,
        meta,
        serde_json::json!({ "result": result, "login": e.login, "session_id": session_id }),
    )
    .await
}
