//! Half-finished sign-ins. After a right password, a user with MFA gets no session
//! yet: a challenge row (user, return_to, attempts, expiry) and a random 256-bit token
//! in an HttpOnly, SameSite=Lax cookie scoped to `/login`; the row keeps only the
//! token's keyed hash. The second step works only with that cookie, so it cannot be
//! done from another browser nor without the first step.
//!
//! Each wrong code counts; at `mfa.max_attempts` the challenge is dropped, the drop
//! counts as one failed sign-in towards the account lockout, and a security event is
//! recorded. A step-up challenge also names the session it will upgrade, and only
//! that session can complete it.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::Duration;
use uuid::Uuid;

use super::backup_codes::CodeFormat;
use super::totp;
use crate::audit::{self, action, Actor};
use crate::authn::login::{self, result};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions::{self, AuthContext, RequestMeta};
use crate::store::{user_status, MfaChallenge, Session, User};

pub const COOKIE: &str = "monban_mfa";
const COOKIE_PATH: &str = "/login";

/// Which second factor was offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    BackupCode,
}

#[derive(Debug)]
pub enum Outcome {
    /// Signed in (a new session: its cookie value) or, for a step-up, the session
    /// upgraded (`session_token` is None). `backup_codes_left` after a backup code.
    Done {
        session_token: Option<String>,
        return_to: Option<String>,
        backup_codes_left: Option<i64>,
    },
    /// Refused; the challenge is still usable. `malformed`: not even the shape of a code.
    Wrong { malformed: bool },
    /// Too many wrong codes: the challenge was dropped.
    Dropped,
    /// There is no usable challenge (none, expired, finished by a racing request, or
    /// the account can no longer sign in): start again.
    Gone,
}

/// Starts a second step for `user`; returns the cookie to set.
pub async fn begin(
    state: &Core,
    user: &User,
    login: &str,
    return_to: Option<&str>,
    step_up_session: Option<Uuid>,
) -> AppResult<Cookie<'static>> {
    let now = state.clock.now();
    state.store.delete_expired_mfa_challenges(now).await?;
    let token = crate::util::random_token(32);
    let lifetime = state.cfg.mfa.challenge_lifetime_secs;
    let c = MfaChallenge {
        id: Uuid::new_v4(),
        token_hash: sessions::hash_token(state, &token),
        user_id: user.id,
        session_id: step_up_session,
        login: crate::util::truncate(login, 256),
        return_to: return_to
            .and_then(crate::util::safe_local_path)
            .map(str::to_string),
        attempts: 0,
        created_at: now,
        expires_at: now + Duration::seconds(lifetime),
    };
    state.store.insert_mfa_challenge(&c).await?;
    Ok(Cookie::build(COOKIE, token)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(state.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(lifetime))
        .finish())
}

/// Removes the challenge cookie.
pub fn removal_cookie(state: &Core) -> Cookie<'static> {
    Cookie::build(COOKIE, "")
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(state.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::ZERO)
        .finish()
}

/// The live challenge named by this browser's cookie.
pub async fn current(req: &HttpRequest, state: &Core) -> AppResult<Option<MfaChallenge>> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let token = cookie.value();
    if token.len() != 43 {
        return Ok(None);
    }
    let Some(c) = state
        .store
        .find_mfa_challenge(&sessions::hash_token(state, token))
        .await?
    else {
        return Ok(None);
    };
    if c.expires_at <= state.clock.now() {
        state.store.delete_mfa_challenge(c.id).await?;
        return Ok(None);
    }
    Ok(Some(c))
}

/// Can this account still finish signing in?
pub fn can_sign_in(user: &User, now: chrono::DateTime<chrono::Utc>) -> bool {
    matches!(
        user.status.as_str(),
        user_status::ACTIVE | user_status::LOCKED
    ) && !user.is_locked(now)
}

/// Checks a submitted code against the challenge and, when right, finishes the
/// sign-in (or upgrades the step-up session). `current` is the browser's live session.
pub async fn submit(
    state: &Core,
    ch: &MfaChallenge,
    factor: Factor,
    code: &str,
    current: Option<&Session>,
    meta: &RequestMeta,
) -> AppResult<Outcome> {
    let Some(user) = still_valid(state, ch, current).await? else {
        return Ok(Outcome::Gone);
    };
    // The try is counted before the code is looked at (one atomic UPDATE), so that of
    // any number of parallel submissions no more than `max_attempts` are checked.
    let Some(attempts) = state.store.add_mfa_challenge_attempt(ch.id).await? else {
        return Ok(Outcome::Gone);
    };
    let (ok, malformed) = if attempts > i64::from(state.cfg.mfa.max_attempts) {
        (false, false)
    } else {
        match factor {
            Factor::Totp => check_totp(state, &user, code).await?,
            Factor::BackupCode => check_backup_code(state, &user, code).await?,
        }
    };
    if !ok {
        return wrong(state, ch, &user, attempts, malformed, meta).await;
    }
    let ctx = match factor {
        Factor::Totp => AuthContext::totp(),
        Factor::BackupCode => AuthContext::backup_code(),
    };
    complete(
        state,
        ch,
        &user,
        &ctx,
        factor == Factor::BackupCode,
        current,
        meta,
    )
    .await
}

/// A second factor was verified for `ch` (a code above, or a passkey): finishes the
/// sign-in with a new session, or upgrades the step-up session. Exactly one request
/// finishes a challenge.
pub async fn complete(
    state: &Core,
    ch: &MfaChallenge,
    user: &User,
    ctx: &AuthContext,
    backup_code: bool,
    current: Option<&Session>,
    meta: &RequestMeta,
) -> AppResult<Outcome> {
    let now = state.clock.now();
    if !state.store.delete_mfa_challenge(ch.id).await? {
        return Ok(Outcome::Gone);
    }
    let backup_codes_left = if backup_code {
        let left = state.store.count_unused_backup_codes(user.id).await?;
        audit::record(
            state,
            &Actor::user(user.id),
            Some(user.id),
            action::MFA_BACKUP_CODE_USED,
            meta,
            serde_json::json!({ "remaining": left, "step_up": ch.session_id.is_some() }),
        )
        .await?;
        Some(left)
    } else {
        None
    };
    let session_token = match (ch.session_id, current) {
        (Some(_), Some(s)) => {
            // A step-up adds to how the session began: one that came through an
            // upstream provider stays `fed` and gains no `pwd` of Monban's.
            let amr = if s.amr.split_whitespace().any(|a| a == "fed") {
                std::iter::once("fed")
                    .chain(ctx.amr.iter().copied().filter(|a| *a != "pwd"))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                ctx.amr.join(" ")
            };
            if !state
                .store
                .upgrade_session_auth(s.id, &amr, ctx.acr, now)
                .await?
            {
                return Ok(Outcome::Gone);
            }
            crate::cache::session_changed(state, s).await;
            audit::record(
                state,
                &Actor::user(user.id),
                Some(user.id),
                action::MFA_STEP_UP,
                meta,
                serde_json::json!({ "session_id": s.id, "amr": amr }),
            )
            .await?;
            None
        }
        _ => {
            // A new session id at sign-in (no fixation); the browser's previous one ends.
            if let Some(old) = current {
                sessions::end(state, old.id, "replaced").await?;
            }
            let (_, token) = login::finish(state, user, ctx, meta, &ch.login).await?;
            Some(token)
        }
    };
    Ok(Outcome::Done {
        session_token,
        return_to: ch.return_to.clone(),
        backup_codes_left,
    })
}

/// Whether `ch` can still be finished by the browser whose live session is `current`:
/// the account can sign in and, for a step-up, it is the session that started it.
/// When not, the challenge is dropped.
pub async fn still_valid(
    state: &Core,
    ch: &MfaChallenge,
    current: Option<&Session>,
) -> AppResult<Option<User>> {
    let user = state.store.get_user(ch.user_id).await?;
    let session_ok = match ch.session_id {
        None => true,
        Some(id) => current.is_some_and(|s| s.id == id),
    };
    if !can_sign_in(&user, state.clock.now()) || !session_ok {
        state.store.delete_mfa_challenge(ch.id).await?;
        return Ok(None);
    }
    Ok(Some(user))
}

/// A passkey assertion for `ch` that failed verification: counted like a wrong code.
pub async fn passkey_failed(
    state: &Core,
    ch: &MfaChallenge,
    user: &User,
    meta: &RequestMeta,
) -> AppResult<Outcome> {
    let Some(attempts) = state.store.add_mfa_challenge_attempt(ch.id).await? else {
        return Ok(Outcome::Gone);
    };
    wrong(state, ch, user, attempts, false, meta).await
}

/// (accepted, malformed)
async fn check_totp(state: &Core, user: &User, code: &str) -> AppResult<(bool, bool)> {
    if totp::parse_code(code).is_none() {
        return Ok((false, true));
    }
    let Some(cred) = state.store.get_totp(user.id).await? else {
        return Ok((false, false));
    };
    let secret = state
        .keys
        .secrets()
        .open_totp_secret(user.id, &cred.secret_enc)
        .ok_or_else(|| AppError::internal("a TOTP secret does not decrypt"))?;
    let now = state.clock.now();
    let Some(step) = totp::matching_step(&secret, code, now) else {
        return Ok((false, false));
    };
    // Replay protection: only a step later than the last one used, atomically.
    Ok((state.store.use_totp_step(user.id, step, now).await?, false))
}

async fn check_backup_code(state: &Core, user: &User, code: &str) -> AppResult<(bool, bool)> {
    let fmt = CodeFormat::from_config(&state.cfg.mfa);
    let Some(code) = fmt.normalize(code) else {
        return Ok((false, true));
    };
    if !super::is_enabled(state, user.id).await? {
        return Ok((false, false));
    }
    let hash = state.keys.secrets().backup_code_hash(user.id, &code);
    Ok((
        state
            .store
            .use_backup_code(user.id, &hash, state.clock.now())
            .await?,
        false,
    ))
}

/// A wrong (or unchecked) code: `attempts` is this try's number on the challenge.
async fn wrong(
    state: &Core,
    ch: &MfaChallenge,
    user: &User,
    attempts: i64,
    malformed: bool,
    meta: &RequestMeta,
) -> AppResult<Outcome> {
    let max = i64::from(state.cfg.mfa.max_attempts);
    if attempts < max {
        login::record(
            state,
            Some(user.id),
            &ch.login,
            result::BAD_SECOND_FACTOR,
            meta,
            None,
        )
        .await?;
        return Ok(Outcome::Wrong { malformed });
    }
    // Only the request that removes the challenge counts the failure.
    if state.store.delete_mfa_challenge(ch.id).await? {
        let code = match login::register_failure(state, user).await? {
            result::NOW_LOCKED => result::NOW_LOCKED,
            _ => result::SECOND_FACTOR_DROPPED,
        };
        login::record(state, Some(user.id), &ch.login, code, meta, None).await?;
        audit::record(
            state,
            &Actor::user(user.id),
            Some(user.id),
            action::MFA_CHALLENGE_DROPPED,
            meta,
            serde_json::json!({ "attempts": attempts, "locked": code == result::NOW_LOCKED }),
        )
        .await?;
    }
    Ok(Outcome::Dropped)
}
