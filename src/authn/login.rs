//! The password step of sign-in, with lockout, and the recording of every attempt.
//!
//! Every password check against an account is one counted attempt
//! ([`counted_check`]): before the password is looked at, one atomic `UPDATE`
//! reserves the attempt (the failure count goes up) and says whether the account is
//! locked and how many attempts are under way; only an attempt that finds the account
//! unlocked and within `lockout.max_failures` has its password checked, so however
//! many guesses arrive at once, on however many replicas, at most `max_failures` are
//! ever checked before the lock. A right password takes its reservation back; a wrong
//! one keeps it and locks the account, in one conditional `UPDATE`, once the count
//! reaches the policy. Tries while the account is locked are counted and audited too,
//! and enough of them lock it again (for longer, or for good under a permanent policy).
//!
//! Unknown users, users without a password, wrong passwords and every try against an
//! account that cannot sign in now (locked, suspended, pending, deleted) take one
//! argon2 computation and get the same answer: whether a password is right is only
//! ever revealed by a sign-in that succeeds. The lock itself is announced to the user
//! by e-mail, not on the sign-in page.

use chrono::Duration;
use uuid::Uuid;

use crate::core::Core;
use crate::error::AppResult;
use crate::policy::LockoutPolicy;
use crate::sessions::{self, AuthContext, RequestMeta};
use crate::store::{user_status, LoginEvent, Session, User};

/// Result codes stored in `login_events.result`.
pub mod result {
    pub const SUCCESS: &str = "success";
    pub const UNKNOWN_USER: &str = "unknown_user";
    pub const BAD_PASSWORD: &str = "bad_password";
    /// A try while the account was locked (or while as many attempts as the policy
    /// allows were under way): counted, the password not checked.
    pub const LOCKED: &str = "locked";
    pub const NOW_LOCKED: &str = "bad_password_locked";
    pub const SUSPENDED: &str = "suspended";
    pub const INACTIVE: &str = "inactive";
    /// A wrong, malformed or replayed second-factor code.
    pub const BAD_SECOND_FACTOR: &str = "bad_second_factor";
    /// A passkey sign-in with a credential nobody has registered (or a user handle
    /// that does not match it).
    pub const PASSKEY_UNKNOWN: &str = "passkey_unknown";
    /// A sign-in through an upstream provider that was refused (account not known,
    /// not linkable, linked elsewhere).
    pub const FEDERATION_REFUSED: &str = "federation_refused";
    /// A passkey whose signature counter did not go up (possible clone): refused.
    pub const PASSKEY_CLONED: &str = "passkey_cloned";
    /// Too many wrong codes: the half-finished sign-in was dropped (one failure).
    pub const SECOND_FACTOR_DROPPED: &str = "second_factor_dropped";
    /// A wrong password at re-authentication (counts as a failure).
    pub const REAUTH_BAD_PASSWORD: &str = "reauth_bad_password";
    /// A wrong current password at `/account/password` (counts as a failure).
    pub const CHANGE_BAD_PASSWORD: &str = "password_change_bad_password";
}

#[derive(Debug)]
pub enum PasswordOutcome {
    /// Right password, account usable: go on (second factor, or finish).
    Verified(Box<User>),
    /// Anything else — wrong login or password, an account that cannot sign in
    /// (suspended, pending, deleted) — whatever the password was: one answer for all.
    Failed,
    /// The account is locked after repeated failures (this try locked it, or it was
    /// locked already), whatever the password was: the user is told so, since only the
    /// administrator or time can help. The password is not checked.
    Locked,
}

/// What one counted password check ([`counted_check`]) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The right password, and the account may sign in.
    Right,
    /// A wrong password, counted; `locked`: this failure locked the account.
    Wrong { locked: bool },
    /// Not checked (the account is locked, or as many attempts as the policy allows
    /// are under way), but counted like a failure; `locked`: this try (re)locked it.
    Refused { locked: bool },
    /// The account cannot sign in (suspended, pending, deleted): not checked, not counted.
    Inactive,
}

/// Normalises what users type as their login: trimmed, lower-case.
pub fn normalize_login(s: &str) -> String {
    crate::util::truncate(s.trim(), 256).to_lowercase()
}

pub async fn password_step(
    state: &Core,
    login: &str,
    password: &str,
    meta: &RequestMeta,
) -> AppResult<PasswordOutcome> {
    let login = normalize_login(login);
    let Some(user) = state.store.find_user_by_login(state.org.id, &login).await? else {
        // The same argon2 work as for a real account.
        state.passwords.verify(None, password).await;
        record(state, None, &login, result::UNKNOWN_USER, meta, None).await?;
        return Ok(PasswordOutcome::Failed);
    };
    // Failures are cleared only when the whole sign-in succeeds ([`finish`]): a right
    // password followed by wrong second factors must not reset the count.
    let (code, outcome) = match counted_check(state, &user, password).await? {
        Check::Right => return Ok(PasswordOutcome::Verified(Box::new(user))),
        Check::Wrong { locked: true } => (result::NOW_LOCKED, PasswordOutcome::Locked),
        Check::Wrong { locked: false } => (result::BAD_PASSWORD, PasswordOutcome::Failed),
        Check::Refused { .. } => (result::LOCKED, PasswordOutcome::Locked),
        Check::Inactive if user.status == user_status::SUSPENDED => {
            (result::SUSPENDED, PasswordOutcome::Failed)
        }
        Check::Inactive => (result::INACTIVE, PasswordOutcome::Failed),
    };
    record(state, Some(user.id), &login, code, meta, None).await?;
    Ok(outcome)
}

/// Checks `password` for `user` as one counted attempt (see the module docs): the
/// one function every password check against an account goes through (sign-in,
/// re-authentication, the current password at a password change).
///
/// The argon2 hash is computed in every case (against the user's own hash, so with
/// its parameters), also when the attempt is refused, so a refused try takes as long
/// as a checked one; its result is used only for an attempt allowed to check.
pub async fn counted_check(state: &Core, user: &User, password: &str) -> AppResult<Check> {
    let now = state.clock.now();
    let Some(attempt) = state.store.begin_login_attempt(user.id, now).await? else {
        state
            .passwords
            .verify(user.password_hash.as_deref(), password)
            .await;
        return Ok(Check::Inactive);
    };
    let policy = crate::policy::current(state).await?.lockout;
    let max = i64::from(policy.max_failures);
    let was_locked = attempt.locked(now);
    let open = !was_locked && (max == 0 || attempt.failed_logins <= max);
    let right = state
        .passwords
        .verify(user.password_hash.as_deref(), password)
        .await;
    if open && right {
        if state.store.release_login_attempt(user.id, now).await? {
            return Ok(Check::Right);
        }
        // Locked by a concurrent attempt meanwhile: this one was counted in the
        // failures that locked it.
        return Ok(Check::Refused { locked: false });
    }
    let locked = lock_if_due(
        state,
        user,
        attempt.failed_logins,
        attempt.lock_count,
        was_locked,
        &policy,
    )
    .await?;
    Ok(if open {
        Check::Wrong { locked }
    } else {
        Check::Refused { locked }
    })
}

/// Counts a failed sign-in that did not go through [`counted_check`] (a half-finished
/// sign-in dropped after too many wrong codes); locks the account when the policy
/// says so. Returns [`result::NOW_LOCKED`] when this failure locked it, else
/// [`result::BAD_PASSWORD`].
pub(crate) async fn register_failure(state: &Core, user: &User) -> AppResult<&'static str> {
    let now = state.clock.now();
    let failures = state.store.increment_failed_logins(user.id, now).await?;
    let policy = crate::policy::current(state).await?.lockout;
    let locked = lock_if_due(
        state,
        user,
        failures,
        user.lock_count,
        user.is_locked(now),
        &policy,
    )
    .await?;
    Ok(if locked {
        result::NOW_LOCKED
    } else {
        result::BAD_PASSWORD
    })
}

/// Locks the account when its failures have reached the policy — one conditional
/// `UPDATE`, so of concurrent failures exactly one applies the lock. A lock applied
/// while the account was already locked lasts longer (the next backoff step), or is
/// permanent when the policy now says so. Audited; the user is told by e-mail of a new
/// lock (and of one that became permanent).
/// The longest lock arithmetic ever meets (ten years; the policy is capped there too),
/// so a time far in the future can never overflow.
const MAX_LOCK_SECS: i64 = crate::policy::MAX_LOCK_SECS;

async fn lock_if_due(
    state: &Core,
    user: &User,
    failures: i64,
    lock_count: i64,
    was_locked: bool,
    policy: &LockoutPolicy,
) -> AppResult<bool> {
    if policy.max_failures == 0 || failures < i64::from(policy.max_failures) {
        return Ok(false);
    }
    let now = state.clock.now();
    let until = (!policy.permanent).then(|| {
        let factor =
            i64::from(policy.backoff_multiplier).saturating_pow(lock_count.clamp(0, 30) as u32);
        let secs = policy
            .lock_duration_secs
            .saturating_mul(factor)
            .min(policy.max_lock_duration_secs)
            .clamp(1, MAX_LOCK_SECS);
        now + Duration::seconds(secs)
    });
    let Some(until) = state
        .store
        .lock_user_if_due(user.id, i64::from(policy.max_failures), until, now)
        .await?
    else {
        return Ok(false);
    };
    crate::cache::user_changed(state, user.id).await;
    tracing::warn!(user = %user.id, ?until, extended = was_locked, "account locked after failed sign-ins");
    state.metrics.lockouts.inc();
    crate::audit::record(
        state,
        &crate::audit::Actor::system(),
        Some(user.id),
        crate::audit::action::ACCOUNT_LOCKED,
        &RequestMeta::default(),
        serde_json::json!({ "until": until, "failures": failures, "extended": was_locked }),
    )
    .await?;
    if !was_locked || until.is_none() {
        crate::users::actions::notify_locked(state, user, until).await?;
    }
    Ok(true)
}

/// Completes a sign-in: starts the session and records the success.
pub async fn finish(
    state: &Core,
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

/// The step a failed sign-in failed at, for the metrics (`amr`-like names).
fn failed_step(result: &str) -> &'static str {
    match result {
        result::BAD_SECOND_FACTOR | result::SECOND_FACTOR_DROPPED => "mfa",
        result::PASSKEY_UNKNOWN | result::PASSKEY_CLONED => "passkey",
        result::FEDERATION_REFUSED => "fed",
        _ => "pwd",
    }
}

/// Writes one `login_events` row.
pub(crate) async fn record(
    state: &Core,
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
    // Successes are counted with their method where the session starts.
    if result != result::SUCCESS {
        state.metrics.sign_in(failed_step(result), result);
    }
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
