//! Two-step sign-in: TOTP authenticators, single-use backup codes, the organisation's
//! MFA policy, and the domain functions the account pages, the second sign-in step,
//! SSO (OIDC/SAML) and the admin API call.
//!
//! - MFA is on for a user while they have a confirmed TOTP credential or a passkey
//!   ([`crate::authn::passkeys`]).
//! - Changing it (enrol, regenerate codes, disable) needs a password entered within
//!   `mfa.reauth_window_secs` ([`recently_authenticated`]) and, while MFA is on, a
//!   session that did the second step ([`session_has_mfa`]).
//! - Confirming an enrolment also upgrades the current session to MFA: at that moment
//!   the user has shown both the password (recently) and a valid code.

pub mod backup_codes;
pub mod challenge;
pub mod routes;
pub mod totp;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, action, Actor};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions::{AuthContext, RequestMeta};
use crate::store::{PendingEnrolment, Session, User};
use backup_codes::CodeFormat;

/// The local path of the enrolment page.
pub const ENROL_PATH: &str = "/account/mfa/enroll";
/// The local path of the second sign-in step (TOTP).
pub const SECOND_STEP_PATH: &str = "/login/mfa";

/// Folds full-width ASCII variants (`１`, `Ａ`, `－`; a Japanese IME left on) to ASCII.
pub(crate) fn fold_fullwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c => c,
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The enrolment page, coming back to `return_to` (a local path) afterwards.
pub fn enrol_path(return_to: &str) -> String {
    format!("{ENROL_PATH}?return_to={}", encode(return_to))
}

/// The step-up page: an existing password-only session does the second step and is
/// upgraded, then goes to `return_to`. OIDC sends users here when `acr_values` asks
/// for [`crate::sessions::ACR_MFA`].
pub fn step_up_path(return_to: &str) -> String {
    format!(
        "{SECOND_STEP_PATH}?step_up=1&return_to={}",
        encode(return_to)
    )
}

/// Did this session do a second step (passkey, TOTP or backup code)?
pub fn session_has_mfa(session: &Session) -> bool {
    session.amr.split_whitespace().any(|v| v == "mfa")
}

/// What admins and the account page see.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MfaStatus {
    /// A second factor is on: an authenticator app or a passkey.
    pub enabled: bool,
    /// An authenticator app (TOTP) is enrolled.
    pub totp: bool,
    /// When the authenticator app was enrolled.
    pub enrolled_at: Option<DateTime<Utc>>,
    pub backup_codes_remaining: i64,
    pub passkeys: Vec<crate::authn::passkeys::view::PasskeyView>,
}

pub async fn status(state: &Core, user_id: Uuid) -> AppResult<MfaStatus> {
    let cred = state.store.get_totp(user_id).await?;
    let passkeys = crate::authn::passkeys::view::list(state, user_id).await?;
    let enabled = cred.is_some() || !passkeys.is_empty();
    let remaining = if enabled {
        state.store.count_unused_backup_codes(user_id).await?
    } else {
        0
    };
    Ok(MfaStatus {
        enabled,
        totp: cred.is_some(),
        enrolled_at: cred.map(|c| c.enrolled_at),
        backup_codes_remaining: remaining,
        passkeys,
    })
}

/// Is a second factor on: an authenticator app or a passkey? A passkey counts even
/// while passkeys are off (configuration, an IP issuer): the second step is then asked
/// for and only a backup code or an admin's reset gets the user in, rather than the
/// password alone (fail closed).
pub async fn is_enabled(state: &Core, user_id: Uuid) -> AppResult<bool> {
    Ok(state.store.get_totp(user_id).await?.is_some()
        || state.store.count_passkeys(user_id).await? > 0)
}

/// Is an authenticator app (TOTP) enrolled?
pub async fn has_totp(state: &Core, user_id: Uuid) -> AppResult<bool> {
    Ok(state.store.get_totp(user_id).await?.is_some())
}

/// Turns a user's MFA off on someone else's behalf (admin, support, system): the
/// credential, every backup code, pending enrolments and half-finished sign-ins go.
/// Admins can only turn MFA off; turning it on is the user's own enrolment.
pub async fn reset(
    state: &Core,
    user_id: Uuid,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<bool> {
    let was_on = state.store.delete_mfa(user_id).await?;
    crate::cache::user_changed(state, user_id).await;
    // Support sessions need an engineer signed in with MFA: theirs end with it.
    crate::sessions::end_impersonations_by(state, user_id, "mfa_reset").await?;
    audit::record(
        state,
        actor,
        Some(user_id),
        action::MFA_RESET,
        meta,
        serde_json::json!({ "was_enabled": was_on }),
    )
    .await?;
    Ok(was_on)
}

/// The user turns their own MFA off (the handler checked re-authentication).
pub async fn disable(state: &Core, user: &User, meta: &RequestMeta) -> AppResult<bool> {
    let was_on = state.store.delete_mfa(user.id).await?;
    crate::cache::user_changed(state, user.id).await;
    crate::sessions::end_impersonations_by(state, user.id, "mfa_disabled").await?;
    if was_on {
        audit::record(
            state,
            &Actor::user(user.id),
            Some(user.id),
            action::MFA_DISABLED,
            meta,
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(was_on)
}

/// Was the password entered (at sign-in or at `/account/reauth`) recently enough to
/// change MFA? A step-up does not count: it proves the code, not the password; nor
/// does a passwordless sign-in.
pub async fn recently_authenticated(state: &Core, session: &Session) -> AppResult<bool> {
    let reauth = state.store.get_session_reauth(session.id).await?;
    // The sign-in counts only when it took the password (not a passwordless passkey).
    // (Through an upstream provider, `pwd` is the upstream's password, not Monban's.)
    let amr: Vec<&str> = session.amr.split_whitespace().collect();
    let signed_in_with_password = amr.contains(&"pwd") && !amr.contains(&"fed");
    let sign_in = signed_in_with_password.then_some(session.created_at);
    let Some(last) = reauth.max(sign_in) else {
        return Ok(false);
    };
    let window = Duration::seconds(state.cfg.mfa.reauth_window_secs);
    Ok(state.clock.now() - last <= window)
}

/// Records a successful password re-entry on the session.
pub async fn record_reauth(state: &Core, session: &Session, meta: &RequestMeta) -> AppResult<()> {
    crate::sessions::refuse_impersonation(session)?;
    state
        .store
        .set_session_reauth(session.id, state.clock.now())
        .await?;
    audit::record(
        state,
        &Actor::user(session.user_id),
        Some(session.user_id),
        action::REAUTHENTICATED,
        meta,
        serde_json::json!({ "session_id": session.id }),
    )
    .await
}

/// Hashes freshly generated codes for storage.
fn hash_codes(state: &Core, user_id: Uuid, fmt: &CodeFormat, codes: &[String]) -> Vec<Vec<u8>> {
    codes
        .iter()
        .filter_map(|c| fmt.normalize(c))
        .map(|c| state.keys.secrets().backup_code_hash(user_id, &c))
        .collect()
}

/// A new set of backup codes; every earlier code (used or not) stops working. Returns
/// the codes for showing once.
pub async fn regenerate_backup_codes(
    state: &Core,
    user: &User,
    meta: &RequestMeta,
) -> AppResult<Vec<String>> {
    if !is_enabled(state, user.id).await? {
        return Err(AppError::conflict("mfa_not_enabled", "MFA is not on"));
    }
    let fmt = CodeFormat::from_config(&state.cfg.mfa);
    let codes = fmt.generate(state.cfg.mfa.backup_code_count as usize);
    let hashes = hash_codes(state, user.id, &fmt, &codes);
    state
        .store
        .replace_backup_codes(user.id, &hashes, state.clock.now())
        .await?;
    audit::record(
        state,
        &Actor::user(user.id),
        Some(user.id),
        action::MFA_BACKUP_CODES_REGENERATED,
        meta,
        serde_json::json!({ "count": codes.len() }),
    )
    .await?;
    Ok(codes)
}

/// What an enrolment page shows.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub pending_id: Uuid,
    pub issuer: String,
    pub account: String,
    /// Base32, in groups of four.
    pub key: String,
    pub otpauth_uri: String,
    /// `data:image/svg+xml;base64,…`
    pub qr: String,
}

fn enrolment_view(
    state: &Core,
    user: &User,
    pending_id: Uuid,
    secret: &[u8],
) -> AppResult<Enrolment> {
    let issuer = state.cfg.mfa.issuer.clone();
    let account = user.email.clone();
    let uri = totp::otpauth_uri(secret, &issuer, &account)
        .ok_or_else(|| AppError::internal("building the otpauth URI failed"))?;
    let qr = totp::qr_svg_data_uri(&uri)
        .ok_or_else(|| AppError::internal("rendering the QR code failed"))?;
    Ok(Enrolment {
        pending_id,
        issuer,
        account,
        key: totp::base32_grouped(secret),
        otpauth_uri: uri,
        qr,
    })
}

/// Starts an enrolment: a new random key, kept server-side (encrypted) until a code
/// confirms it. Any earlier unconfirmed key of the user is dropped.
pub async fn start_enrolment(state: &Core, user: &User, session: &Session) -> AppResult<Enrolment> {
    crate::sessions::refuse_impersonation(session)?;
    let secret = totp::new_secret();
    let now = state.clock.now();
    let sealed = state
        .keys
        .secrets()
        .seal_totp_secret(user.id, &secret)
        .ok_or_else(|| AppError::internal("sealing the TOTP secret failed"))?;
    let pending = PendingEnrolment {
        id: Uuid::new_v4(),
        user_id: user.id,
        session_id: session.id,
        secret_enc: sealed,
        created_at: now,
        expires_at: now + Duration::seconds(state.cfg.mfa.enrollment_lifetime_secs),
    };
    state.store.replace_pending_enrolment(&pending).await?;
    enrolment_view(state, user, pending.id, &secret)
}

#[derive(Debug)]
pub enum ConfirmOutcome {
    /// MFA is on; the new backup codes, to show once.
    Enabled { backup_codes: Vec<String> },
    /// The code does not match the key on the page: show it again.
    WrongCode(Box<Enrolment>),
    /// The page's key is not the user's current pending one (a newer page was opened,
    /// it expired, or it belongs to another session).
    Stale,
}

/// Confirms an enrolment with a code from the app. Only the key of the user's latest
/// enrolment page, opened by this session and not expired, can be confirmed.
pub async fn confirm_enrolment(
    state: &Core,
    user: &User,
    session: &Session,
    pending_id: Uuid,
    code: &str,
    meta: &RequestMeta,
) -> AppResult<ConfirmOutcome> {
    crate::sessions::refuse_impersonation(session)?;
    let now = state.clock.now();
    let Some(pending) = state.store.get_pending_enrolment(pending_id).await? else {
        return Ok(ConfirmOutcome::Stale);
    };
    if pending.user_id != user.id || pending.session_id != session.id || pending.expires_at <= now {
        return Ok(ConfirmOutcome::Stale);
    }
    let secret = state
        .keys
        .secrets()
        .open_totp_secret(user.id, &pending.secret_enc)
        .ok_or_else(|| AppError::internal("a pending TOTP secret does not decrypt"))?;
    let Some(step) = totp::matching_step(&secret, code, now) else {
        return Ok(ConfirmOutcome::WrongCode(Box::new(enrolment_view(
            state, user, pending.id, &secret,
        )?)));
    };
    let was_on = is_enabled(state, user.id).await?;
    let fmt = CodeFormat::from_config(&state.cfg.mfa);
    let codes = fmt.generate(state.cfg.mfa.backup_code_count as usize);
    let hashes = hash_codes(state, user.id, &fmt, &codes);
    if !state
        .store
        .confirm_enrolment(pending.id, user.id, session.id, step, &hashes, now)
        .await?
    {
        return Ok(ConfirmOutcome::Stale);
    }
    let ctx = AuthContext::totp();
    state
        .store
        .upgrade_session_auth(session.id, &ctx.amr.join(" "), ctx.acr, now)
        .await?;
    crate::cache::session_changed(state, session).await;
    crate::cache::user_changed(state, user.id).await;
    audit::record(
        state,
        &Actor::user(user.id),
        Some(user.id),
        action::MFA_ENROLLED,
        meta,
        serde_json::json!({ "re_enrolment": was_on, "backup_codes": codes.len() }),
    )
    .await?;
    Ok(ConfirmOutcome::Enabled {
        backup_codes: codes,
    })
}

/// Where the organisation's MFA policy stands for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// No policy, or the user has MFA.
    Satisfied,
    /// The user must enrol but may still skip until then.
    Grace { until: DateTime<Utc> },
    /// The user must enrol before any SSO completes.
    Required,
}

/// The policy for `user`. The grace period (`mfa.grace_period_days`) runs from the
/// first time the policy asked this user to enrol (recorded here on first call), so
/// switching the policy on gives everyone the same notice, old and new users alike.
pub async fn enforcement(state: &Core, user: &User) -> AppResult<Enforcement> {
    let cfg = crate::policy::current(state).await?;
    if !cfg.mfa_required || is_enabled(state, user.id).await? {
        return Ok(Enforcement::Satisfied);
    }
    if cfg.mfa_grace_period_days == 0 {
        return Ok(Enforcement::Required);
    }
    let now = state.clock.now();
    let started = state.store.start_mfa_grace(user.id, now).await?;
    let until = started + Duration::days(i64::from(cfg.mfa_grace_period_days));
    Ok(if now < until {
        Enforcement::Grace { until }
    } else {
        Enforcement::Required
    })
}

/// What SSO (OIDC authorize, SAML SSO) must call before completing a sign-in for
/// `session`: `Some(local path)` to send the browser to first, with `return_to` (the
/// SSO request to resume, a local path) carried along; `None` to go ahead.
///
/// - A user with MFA whose session did not do the second step: the step-up page.
/// - `mfa.required`, the user has no MFA and no grace left: the enrolment page.
pub async fn sso_requirement(
    state: &Core,
    user: &User,
    session: &Session,
    return_to: &str,
) -> AppResult<Option<String>> {
    if is_enabled(state, user.id).await? {
        if !session_has_mfa(session) {
            // A user with a passkey is asked for it first (the page offers the others).
            return Ok(Some(step_up_path(return_to)));
        }
        return Ok(None);
    }
    Ok(match enforcement(state, user).await? {
        Enforcement::Required => Some(enrol_path(return_to)),
        Enforcement::Satisfied | Enforcement::Grace { .. } => None,
    })
}

/// After a password-only sign-in: where the policy sends the user before `return_to`
/// (the enrolment page, with a "later" link while in grace).
pub async fn after_sign_in(
    state: &Core,
    user: &User,
    return_to: &str,
) -> AppResult<Option<String>> {
    Ok(match enforcement(state, user).await? {
        Enforcement::Satisfied => None,
        Enforcement::Grace { .. } | Enforcement::Required => Some(enrol_path(return_to)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            enrol_path("/authorize?client_id=a&x=1"),
            "/account/mfa/enroll?return_to=%2Fauthorize%3Fclient%5Fid%3Da%26x%3D1"
        );
        assert_eq!(
            step_up_path("/account"),
            "/login/mfa?step_up=1&return_to=%2Faccount"
        );
    }

    #[test]
    fn full_width_folding() {
        assert_eq!(fold_fullwidth('１'), '1');
        assert_eq!(fold_fullwidth('Ａ'), 'A');
        assert_eq!(fold_fullwidth('－'), '-');
        assert_eq!(fold_fullwidth('\u{3000}'), ' ');
        assert_eq!(fold_fullwidth('門'), '門');
    }
}
