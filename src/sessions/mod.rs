//! Browser sessions: the cookie holds an opaque random id (256 bits); the server keeps
//! the row (user, times, IP, user agent, how the user authenticated), keyed by a keyed
//! hash of the id, so admins can list and end sessions and a database dump yields no
//! usable cookie.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Duration;
use uuid::Uuid;

use crate::core::Core;
use crate::store::{Session, StoreResult, User};

/// How the user proved who they are: RFC 8176 `amr` values and an `acr`.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub amr: Vec<&'static str>,
    pub acr: &'static str,
}

impl AuthContext {
    pub fn password() -> Self {
        AuthContext {
            amr: vec!["pwd"],
            acr: ACR_PASSWORD,
        }
    }

    /// Password, then a TOTP code: `amr` = `pwd otp mfa`.
    pub fn totp() -> Self {
        AuthContext {
            amr: vec!["pwd", "otp", "mfa"],
            acr: ACR_MFA,
        }
    }

    /// Password, then a single-use backup code: `amr` = `pwd backup_code mfa`.
    pub fn backup_code() -> Self {
        AuthContext {
            amr: vec!["pwd", AMR_BACKUP_CODE, "mfa"],
            acr: ACR_MFA,
        }
    }
}

impl AuthContext {
    /// A passkey or security key (`kind`: `hwk` device-bound, `swk` a synced passkey,
    /// RFC 8176), after a password (the second step) or alone (passwordless). User
    /// verification (PIN, biometrics) is always required, so it is two factors
    /// (`user`, `mfa`) and phishing-resistant ([`ACR_PHR`]).
    pub fn passkey(kind: &str, after_password: bool) -> Self {
        let kind = if kind == AMR_SWK { AMR_SWK } else { AMR_HWK };
        let mut amr = if after_password { vec!["pwd"] } else { vec![] };
        amr.extend([kind, "user", "mfa"]);
        AuthContext { amr, acr: ACR_PHR }
    }
}

/// RFC 8176 `amr`: proof of possession of a hardware-bound key.
pub const AMR_HWK: &str = "hwk";
/// RFC 8176 `amr`: proof of possession of a software-secured key (a synced passkey).
pub const AMR_SWK: &str = "swk";

/// `acr` for a phishing-resistant sign-in: a passkey with user verification (above
/// [`ACR_MFA`]; what `acr_values` and SAML's RequestedAuthnContext can ask for).
pub const ACR_PHR: &str = "urn:monban:acr:phr";

/// `acr` for a password-only sign-in.
pub const ACR_PASSWORD: &str = "urn:monban:acr:pwd";
/// `acr` for a sign-in with a second factor (TOTP or a backup code; a passkey gives
/// [`ACR_PHR`]).
pub const ACR_MFA: &str = "urn:monban:acr:mfa";
/// `amr` value for a backup code (not in RFC 8176, which has none for it; distinct
/// from `otp` so relying parties can tell the authenticator app from a recovery code).
pub const AMR_BACKUP_CODE: &str = "backup_code";

/// Refuses a support (impersonation) session with 403 `impersonation_forbidden`: for
/// the domain services that act on a user's credentials, MFA, re-authentication or
/// support grants, so that no caller can forget it (handlers use
/// [`crate::http::OwnSession`], which calls this).
pub fn refuse_impersonation(session: &Session) -> crate::error::AppResult<()> {
    if session.impersonator_id.is_some() {
        return Err(crate::error::AppError::forbidden(
            "impersonation_forbidden",
            "credentials, MFA, re-authentication and support grants cannot be used or changed in a support session",
        ));
    }
    Ok(())
}

pub use crate::audit::RequestMeta;

/// Last-seen is written at most this often per session (saves a write per request).
const TOUCH_EVERY_SECS: i64 = 60;

pub fn hash_token(state: &Core, token: &str) -> Vec<u8> {
    state.keys.secrets().token_hash(token.as_bytes())
}

/// Starts a session for `user`; returns the row and the cookie value.
pub async fn create(
    state: &Core,
    user: &User,
    ctx: &AuthContext,
    meta: &RequestMeta,
) -> StoreResult<(Session, String)> {
    let started = start(state, user, ctx, meta, None).await?;
    state.metrics.sign_in(&ctx.amr.join(" "), "success");
    Ok(started)
}

/// Starts an impersonation session: `engineer` acting as `user` under a support
/// grant, ending no later than the grant.
pub async fn create_impersonation(
    state: &Core,
    user: &User,
    engineer: Uuid,
    grant: Uuid,
    grant_expires: chrono::DateTime<chrono::Utc>,
    ctx: &AuthContext,
    meta: &RequestMeta,
) -> StoreResult<(Session, String)> {
    start(
        state,
        user,
        ctx,
        meta,
        Some((engineer, grant, grant_expires)),
    )
    .await
}

async fn start(
    state: &Core,
    user: &User,
    ctx: &AuthContext,
    meta: &RequestMeta,
    support: Option<(Uuid, Uuid, chrono::DateTime<chrono::Utc>)>,
) -> StoreResult<(Session, String)> {
    let token = crate::util::random_token(32);
    let now = state.clock.now();
    let mut expires_at = now + Duration::seconds(state.cfg.session.absolute_lifetime_secs);
    if let Some((_, _, until)) = support {
        expires_at = expires_at.min(until);
    }
    let s = Session {
        id: Uuid::new_v4(),
        token_hash: hash_token(state, &token),
        org_id: user.org_id,
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        expires_at,
        auth_time: now,
        amr: ctx.amr.join(" "),
        acr: ctx.acr.to_string(),
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_deref()
            .map(|u| crate::util::truncate(u, 512)),
        ended_at: None,
        end_reason: None,
        impersonator_id: support.map(|(e, _, _)| e),
        support_grant_id: support.map(|(_, g, _)| g),
    };
    state.store.insert_session(&s).await?;
    Ok((s, token))
}

/// The live session for a cookie value: ended here when idle or past its lifetime.
/// Served from the cache (see [`crate::cache`]) while the cached row is within its
/// lifetime and was seen less than a minute (and less than the idle timeout) ago;
/// otherwise read from the database, checked, touched and cached again.
pub async fn lookup(state: &Core, token: &str) -> StoreResult<Option<Session>> {
    // Malformed values cannot match; skip the database.
    if token.len() != 43 || B64.decode(token).is_err() {
        return Ok(None);
    }
    let hash = hash_token(state, token);
    let now = state.clock.now();
    let idle = Duration::seconds(state.cfg.session.idle_timeout_secs);
    let touch = Duration::seconds(TOUCH_EVERY_SECS);
    if let Some(s) = crate::cache::cached_session(state, &hash).await {
        if now < s.expires_at && now - s.last_seen_at < idle.min(touch) {
            return Ok(Some(s));
        }
    }
    let epoch = crate::cache::session_epoch(state);
    let Some(mut s) = state.store.find_live_session(&hash).await? else {
        return Ok(None);
    };
    if now >= s.expires_at {
        end(state, s.id, "expired").await?;
        return Ok(None);
    }
    // An impersonation session lives only as long as its grant.
    if let Some(gid) = s.support_grant_id {
        let live = state
            .store
            .get_grant(gid)
            .await?
            .is_some_and(|g| g.is_live(now));
        if !live {
            end(state, s.id, "support_grant_ended").await?;
            return Ok(None);
        }
    }
    // …and as long as the engineer keeps the standing that let them open it (the
    // admin actions end these sessions at once; this catches any other path).
    if let Some(engineer) = s.impersonator_id {
        if !engineer_in_standing(state, engineer).await? {
            end_impersonations_by(state, engineer, "support_engineer_inactive").await?;
            return Ok(None);
        }
    }
    if now - s.last_seen_at >= idle {
        end(state, s.id, "idle_timeout").await?;
        return Ok(None);
    }
    if now - s.last_seen_at >= touch {
        state.store.touch_session(s.id, now).await?;
        s.last_seen_at = now;
    }
    crate::cache::keep_session(state, epoch, &s).await;
    Ok(Some(s))
}

/// Ends one session: its grants are revoked and the clients that took part are
/// told by back-channel logout. Returns false if it had already ended.
pub async fn end(state: &Core, id: Uuid, reason: &str) -> StoreResult<bool> {
    let ended = state
        .store
        .end_session(id, state.clock.now(), reason)
        .await?;
    if ended {
        tracing::info!(session = %id, reason, "session ended");
        after_end(state, &[id], reason).await?;
    }
    Ok(ended)
}

/// Ends every impersonation session `engineer` opened under support grants (each as
/// [`end`] does: the tokens minted in them are revoked, back-channel logout is sent,
/// the users are told). For when the engineer loses the standing that let them open
/// them: suspended, locked, deleted, `support` role removed, MFA reset, credentials
/// changed. Impersonation sessions are never cached, so every replica sees the end at
/// once. Returns the ids ended.
pub async fn end_impersonations_by(
    state: &Core,
    engineer: Uuid,
    reason: &str,
) -> StoreResult<Vec<Uuid>> {
    let ids = state
        .store
        .end_impersonation_sessions(engineer, state.clock.now(), reason)
        .await?;
    if !ids.is_empty() {
        tracing::info!(engineer = %engineer, count = ids.len(), reason, "support sessions ended");
        after_end(state, &ids, reason).await?;
    }
    // Whatever was minted with them acting, whichever session it came from.
    state
        .store
        .revoke_impersonated_families(engineer, state.clock.now(), reason)
        .await?;
    Ok(ids)
}

/// May `engineer` still act in the support sessions they opened? Active (not
/// suspended, locked or deleted), the `support` role, MFA still on.
async fn engineer_in_standing(state: &Core, engineer: Uuid) -> StoreResult<bool> {
    let u = match crate::cache::user(state, engineer).await {
        Ok(u) => u,
        Err(crate::store::StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(u.is_usable(state.clock.now())
        && u.has_role(crate::store::SUPPORT_ROLE)
        && (state.store.get_totp(engineer).await?.is_some()
            || state.store.count_passkeys(engineer).await? > 0))
}

/// Ends every session of a user but `keep`, if given (each as [`end`] does), and
/// every support session they opened as an engineer; returns the ids of the user's
/// own sessions ended.
pub async fn end_all_for_user_but(
    state: &Core,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> StoreResult<Vec<Uuid>> {
    let now = state.clock.now();
    let ids = match keep {
        None => state.store.end_user_sessions(user_id, now, reason).await?,
        Some(keep) => {
            state
                .store
                .end_user_sessions_except(user_id, keep, now, reason)
                .await?
        }
    };
    tracing::info!(user = %user_id, count = ids.len(), kept = ?keep, reason, "sessions ended");
    after_end(state, &ids, reason).await?;
    end_impersonations_by(state, user_id, reason).await?;
    Ok(ids)
}

async fn after_end(state: &Core, ids: &[Uuid], reason: &str) -> StoreResult<()> {
    let mut ended = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = state.store.get_session(*id).await? {
            ended.push(s);
        }
    }
    // Every replica forgets these sessions before anything else happens.
    for s in &ended {
        crate::cache::session_changed(state, s).await;
    }
    // Back-channel logout, single logout, notices: what the composition root
    // registered (see `crate::app::hooks`).
    state.sessions_ended(&ended, reason).await
}
