//! Passkeys and security keys (WebAuthn, on `webauthn-rs`): enrolment from the account
//! pages, the second step after a password, passwordless sign-in from the login page,
//! and what admins see and remove.
//!
//! - Every ceremony (registration, authentication) has two requests. Between them its
//!   state is a database row ([`crate::store::WebauthnCeremony`]), found by the keyed
//!   hash of a random token in an HttpOnly cookie, bound to the session that registers
//!   or to the half-finished sign-in of the second step, and taken by one `DELETE …
//!   RETURNING`: a challenge is answered once, by the browser that asked, before it
//!   expires (`mfa.challenge_lifetime_secs`).
//! - User verification (PIN, biometrics) is required, so a passkey is two factors; the
//!   credential is discoverable (resident) so it can sign in without a user name.
//! - The signature counter is raised in one conditional `UPDATE`: a counter that does
//!   not go up means a cloned authenticator (or a replayed assertion); the sign-in is
//!   refused and a security event recorded.
//! - `kind`: `swk` for a backup-eligible (synced) passkey, `hwk` for a device-bound key
//!   (RFC 8176), carried into `amr`.

pub mod routes;
pub mod rp;
pub mod view;

pub use view::{has_usable, list, policy_requires, PasskeyView};

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::Duration;
use serde::Serialize;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AttestationMetadata, AttestedPasskeyRegistration, CreationChallengeResponse,
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, WebauthnError,
};
use webauthn_rs::Webauthn;

use crate::audit::{self, action, Actor};
use crate::authn::login::{self, result};
use crate::authn::mfa::challenge::{self, Outcome};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions::{self, AuthContext, RequestMeta};
use crate::store::{MfaChallenge, PasskeyRow, Session, StoreError, User, WebauthnCeremony};

/// The cookie naming the browser's ceremony in progress.
pub const COOKIE: &str = "monban_webauthn";
/// The account page that lists, registers, renames and removes passkeys.
pub const ACCOUNT_PATH: &str = "/account/passkeys";
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What a ceremony row is for.
pub mod purpose {
    pub const REGISTER: &str = "register";
    pub const SECOND_STEP: &str = "second_step";
    pub const PASSWORDLESS: &str = "passwordless";
}

/// The relying party, or 409 `passkeys_off` (with the reason) when passkeys are off.
pub fn relying_party(core: &Core) -> AppResult<&Webauthn> {
    core.passkeys.webauthn().ok_or_else(|| {
        AppError::conflict(
            "passkeys_off",
            core.passkeys
                .off_reason()
                .unwrap_or("passkeys are off")
                .to_string(),
        )
    })
}

fn ceremony_cookie(core: &Core, token: String, lifetime: i64) -> Cookie<'static> {
    Cookie::build(core.cfg.cookie_name(COOKIE), token)
        .path("/")
        .http_only(true)
        .secure(core.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(lifetime))
        .finish()
}

/// Removes the ceremony cookie.
pub fn removal_cookie(core: &Core) -> Cookie<'static> {
    ceremony_cookie(core, String::new(), 0)
}

/// Stores a new ceremony; returns the cookie that names it.
async fn begin(
    core: &Core,
    purpose: &str,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
    mfa_challenge_id: Option<Uuid>,
    return_to: Option<&str>,
    state: &impl Serialize,
) -> AppResult<Cookie<'static>> {
    let now = core.clock.now();
    core.store.delete_expired_ceremonies(now).await?;
    let token = crate::util::random_token(32);
    let lifetime = core.cfg.mfa.challenge_lifetime_secs;
    core.store
        .insert_ceremony(&WebauthnCeremony {
            id: Uuid::new_v4(),
            token_hash: sessions::hash_token(core, &token),
            purpose: purpose.to_string(),
            user_id,
            session_id,
            mfa_challenge_id,
            return_to: return_to
                .and_then(crate::util::safe_local_path)
                .map(str::to_string),
            state: serde_json::to_string(state).map_err(AppError::internal)?,
            created_at: now,
            expires_at: now + Duration::seconds(lifetime),
        })
        .await?;
    Ok(ceremony_cookie(core, token, lifetime))
}

/// Takes the browser's ceremony of `purpose` (single use).
async fn take(
    core: &Core,
    req: &HttpRequest,
    purpose: &str,
) -> AppResult<Option<WebauthnCeremony>> {
    let Some(cookie) = req.cookie(&core.cfg.cookie_name(COOKIE)) else {
        return Ok(None);
    };
    if cookie.value().len() != 43 {
        return Ok(None);
    }
    let hash = sessions::hash_token(core, cookie.value());
    Ok(core
        .store
        .take_ceremony(&hash, purpose, core.clock.now())
        .await?)
}

fn state_of<T: serde::de::DeserializeOwned>(c: &WebauthnCeremony) -> AppResult<T> {
    serde_json::from_str(&c.state).map_err(AppError::internal)
}

fn passkey_of(row: &PasskeyRow) -> AppResult<Passkey> {
    serde_json::from_str(&row.credential).map_err(AppError::internal)
}

// ---------------------------------------------------------------------------------
// Registration

/// Starts registering a passkey for the signed-in user (the caller checked the recent
/// password and, when MFA is on, a two-step session). Refused in a support session.
pub async fn start_registration(
    core: &Core,
    user: &User,
    session: &Session,
) -> AppResult<(CreationChallengeResponse, Cookie<'static>)> {
    sessions::refuse_impersonation(session)?;
    let wa = relying_party(core)?;
    let mut exclude = Vec::new();
    for row in core.store.list_passkeys(user.id).await? {
        exclude.push(passkey_of(&row)?.cred_id().clone());
    }
    let display = if user.display_name.trim().is_empty() {
        user.email.as_str()
    } else {
        user.display_name.as_str()
    };
    let att = crate::policy::current(core).await?.passkey_attestation;
    let failed =
        |e: WebauthnError| AppError::internal(format!("starting a passkey registration: {e}"));
    let (mut ccr, reg) = if att.required {
        // Only the models the organisation allows: their attestation is verified.
        let cas = rp::ca_list(&att).map_err(AppError::internal)?;
        let (ccr, reg) = wa
            .start_attested_passkey_registration(
                user.id,
                &user.email,
                display,
                Some(exclude),
                cas,
                None,
            )
            .map_err(failed)?;
        (ccr, Registration::Attested(reg))
    } else {
        let (ccr, reg) = wa
            .start_passkey_registration(user.id, &user.email, display, Some(exclude))
            .map_err(failed)?;
        (ccr, Registration::Plain(reg))
    };
    let cookie = begin(
        core,
        purpose::REGISTER,
        Some(user.id),
        Some(session.id),
        None,
        None,
        &reg,
    )
    .await?;
    // A discoverable credential, so that it can also sign in without a user name
    // (webauthn-rs asks for none by default; its state does not depend on this).
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
    Ok((ccr, cookie))
}

/// A registration's state between its two requests: plain, or one whose attestation
/// must chain to the policy's CAs.
#[derive(serde::Serialize, serde::Deserialize)]
enum Registration {
    Plain(PasskeyRegistration),
    Attested(AttestedPasskeyRegistration),
}

/// Why a registration was refused (a message key of the account pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No ceremony of this browser and session (expired, used, or never started).
    Stale,
    /// The authenticator's answer did not verify.
    Rejected,
    /// That credential is already registered.
    Duplicate,
    /// Attestation is required and the authenticator is not an allowed model (or
    /// could not prove which it is).
    NotAllowed,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Stale => "passkeys.stale",
            Refusal::Rejected => "passkeys.rejected",
            Refusal::Duplicate => "passkeys.duplicate",
            Refusal::NotAllowed => "passkeys.not_allowed",
        }
    }
}

/// The name a user gave, trimmed and limited; a dated default when empty.
pub fn clean_name(core: &Core, name: &str) -> String {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.is_empty() {
        format!("Passkey {}", core.clock.now().format("%Y-%m-%d"))
    } else {
        name
    }
}

/// Finishes a registration with the authenticator's answer: stores the passkey,
/// records it, tells the user. The registering session is not upgraded (a
/// registration proves no possession of an existing key): the next sign-on that needs
/// the passkey asks for it once.
pub async fn finish_registration(
    core: &Core,
    req: &HttpRequest,
    user: &User,
    session: &Session,
    name: &str,
    answer: &RegisterPublicKeyCredential,
    meta: &RequestMeta,
) -> AppResult<Result<PasskeyView, Refusal>> {
    sessions::refuse_impersonation(session)?;
    let wa = relying_party(core)?;
    let Some(c) = take(core, req, purpose::REGISTER).await? else {
        return Ok(Err(Refusal::Stale));
    };
    if c.user_id != Some(user.id) || c.session_id != Some(session.id) {
        return Ok(Err(Refusal::Stale));
    }
    let (pk, aaguid) = match state_of::<Registration>(&c)? {
        // Attestation switched on while this ceremony ran: it no longer qualifies.
        Registration::Plain(_)
            if crate::policy::current(core)
                .await?
                .passkey_attestation
                .required =>
        {
            return Ok(Err(Refusal::NotAllowed));
        }
        Registration::Plain(reg) => match wa.finish_passkey_registration(answer, &reg) {
            Ok(pk) => (pk, None),
            Err(e) => {
                tracing::info!(user = %user.id, error = %e, "passkey registration refused");
                return Ok(Err(Refusal::Rejected));
            }
        },
        Registration::Attested(reg) => {
            match wa.finish_attested_passkey_registration(answer, &reg) {
                Ok(att) => {
                    let aaguid = match &att.attestation().metadata {
                        AttestationMetadata::Packed { aaguid }
                        | AttestationMetadata::Tpm { aaguid, .. } => Some(aaguid.to_string()),
                        _ => None,
                    };
                    (Passkey::from(att), aaguid)
                }
                Err(e) => {
                    tracing::info!(user = %user.id, error = %e, "passkey attestation refused");
                    return Ok(Err(Refusal::NotAllowed));
                }
            }
        }
    };
    // webauthn-rs keeps the credential's fields private: read them from its JSON, the
    // form it is stored in.
    let stored = serde_json::to_value(&pk).map_err(AppError::internal)?;
    let field = |f: &str| stored.get("cred").and_then(|c| c.get(f));
    let backup_eligible = field("backup_eligible")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let kind = if backup_eligible {
        sessions::AMR_SWK
    } else {
        sessions::AMR_HWK
    };
    let now = core.clock.now();
    let row = PasskeyRow {
        id: Uuid::new_v4(),
        user_id: user.id,
        credential_id: pk.cred_id().to_vec(),
        name: clean_name(core, name),
        kind: kind.to_string(),
        aaguid,
        sign_count: field("counter").and_then(|v| v.as_i64()).unwrap_or(0),
        credential: stored.to_string(),
        created_at: now,
        last_used_at: None,
    };
    match core.store.insert_passkey(&row).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(Err(Refusal::Duplicate)),
        Err(e) => return Err(e.into()),
    }
    crate::cache::user_changed(core, user.id).await;
    audit::record(
        core,
        &Actor::user(user.id),
        Some(user.id),
        action::PASSKEY_REGISTERED,
        meta,
        serde_json::json!({ "passkey_id": row.id, "name": row.name, "kind": row.kind }),
    )
    .await?;
    crate::notify::send(
        core,
        &crate::notify::Recipient::user(user),
        crate::notify::Message::PasskeyAdded {
            name: row.name.clone(),
        },
    )
    .await?;
    Ok(Ok(PasskeyView::from(&row)))
}

/// The user renames one of their passkeys. False when they have no such passkey.
pub async fn rename(
    core: &Core,
    user: &User,
    session: &Session,
    id: Uuid,
    name: &str,
    meta: &RequestMeta,
) -> AppResult<bool> {
    sessions::refuse_impersonation(session)?;
    let name = clean_name(core, name);
    if !core.store.rename_passkey(user.id, id, &name).await? {
        return Ok(false);
    }
    audit::record(
        core,
        &Actor::user(user.id),
        Some(user.id),
        action::PASSKEY_RENAMED,
        meta,
        serde_json::json!({ "passkey_id": id, "name": name }),
    )
    .await?;
    Ok(true)
}

/// Whether the user may remove passkey `id` themselves: not their last second factor
/// while the organisation requires MFA, nor their last passkey while it requires a
/// passkey of them (an admin can still remove it).
pub async fn user_may_remove(core: &Core, user: &User, id: Uuid) -> AppResult<bool> {
    let keys = core.store.list_passkeys(user.id).await?;
    if !keys.iter().any(|k| k.id == id) || keys.len() > 1 {
        return Ok(true);
    }
    let policy = crate::policy::current(core).await?;
    let last_factor = !crate::authn::mfa::has_totp(core, user.id).await?;
    Ok(!((policy.mfa_required && last_factor) || policy_requires(core, user).await?))
}

/// Removes a passkey of `user`, by the user (from the account page; the handler
/// checked re-authentication and [`user_may_remove`]) or by an admin (`actor`).
/// Recorded, and the user told. False when the user has no such passkey.
pub async fn remove(
    core: &Core,
    user: &User,
    id: Uuid,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<bool> {
    let Some(row) = core.store.delete_passkey(user.id, id).await? else {
        return Ok(false);
    };
    crate::cache::user_changed(core, user.id).await;
    audit::record(
        core,
        actor,
        Some(user.id),
        action::PASSKEY_REMOVED,
        meta,
        serde_json::json!({ "passkey_id": id, "name": row.name, "kind": row.kind }),
    )
    .await?;
    crate::notify::send(
        core,
        &crate::notify::Recipient::user(user),
        crate::notify::Message::PasskeyRemoved {
            name: row.name,
            by_admin: actor.id != Some(user.id),
        },
    )
    .await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------
// Authentication

/// Starts the second step with a passkey for the browser's half-finished sign-in
/// (after a password, or a step-up of its session): the options list the user's
/// passkeys. None when the user has none.
pub async fn start_second_step(
    core: &Core,
    ch: &MfaChallenge,
) -> AppResult<Option<(RequestChallengeResponse, Cookie<'static>)>> {
    let wa = relying_party(core)?;
    let rows = core.store.list_passkeys(ch.user_id).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let creds = rows.iter().map(passkey_of).collect::<AppResult<Vec<_>>>()?;
    let (rcr, auth) = wa
        .start_passkey_authentication(&creds)
        .map_err(|e| AppError::internal(format!("starting a passkey sign-in: {e}")))?;
    let cookie = begin(
        core,
        purpose::SECOND_STEP,
        Some(ch.user_id),
        ch.session_id,
        Some(ch.id),
        ch.return_to.as_deref(),
        &auth,
    )
    .await?;
    Ok(Some((rcr, cookie)))
}

/// Starts a passwordless sign-in (a discoverable credential, no user name).
/// `conditional`: for the browser's autofill (conditional mediation) rather than a
/// button.
pub async fn start_passwordless(
    core: &Core,
    return_to: Option<&str>,
    conditional: bool,
) -> AppResult<(RequestChallengeResponse, Cookie<'static>)> {
    let wa = relying_party(core)?;
    let (mut rcr, auth) = wa
        .start_discoverable_authentication()
        .map_err(|e| AppError::internal(format!("starting a passkey sign-in: {e}")))?;
    if !conditional {
        rcr.mediation = None;
    }
    let cookie = begin(
        core,
        purpose::PASSWORDLESS,
        None,
        None,
        None,
        return_to,
        &auth,
    )
    .await?;
    Ok((rcr, cookie))
}

/// How a passkey sign-in ended.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in (`session_token`: the new session's cookie value) or the step-up
    /// session upgraded (None); go to `return_to`.
    Done {
        session_token: Option<String>,
        return_to: Option<String>,
    },
    /// The assertion did not verify, or the passkey is unknown: try again.
    Refused,
    /// The authenticator's counter did not go up: a cloned authenticator; refused
    /// and recorded.
    Cloned,
    /// Nothing to finish (no ceremony, expired, used, or the sign-in it belonged to
    /// is gone or can no longer finish): start again.
    Gone,
    /// Too many failures on this half-finished sign-in: dropped.
    Dropped,
}

/// Verifies `answer` against the stored credential and raises its counter. Err(SignIn)
/// when refused (already recorded).
async fn verify(
    core: &Core,
    row: &PasskeyRow,
    result: Result<webauthn_rs::prelude::AuthenticationResult, WebauthnError>,
    meta: &RequestMeta,
) -> AppResult<Result<&'static str, SignIn>> {
    let res = match result {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            cloned(core, row, meta).await?;
            return Ok(Err(SignIn::Cloned));
        }
        Err(e) => {
            tracing::info!(user = %row.user_id, error = %e, "passkey assertion refused");
            return Ok(Err(SignIn::Refused));
        }
    };
    let mut pk = passkey_of(row)?;
    pk.update_credential(&res);
    let count = i64::from(res.counter());
    let json = serde_json::to_string(&pk).map_err(AppError::internal)?;
    // A key that became backup-eligible (synced) is a software key from now on.
    let kind = if res.backup_eligible() || row.kind == sessions::AMR_SWK {
        sessions::AMR_SWK
    } else {
        sessions::AMR_HWK
    };
    if !core
        .store
        .use_passkey(row.id, count, &json, kind, core.clock.now())
        .await?
    {
        cloned(core, row, meta).await?;
        return Ok(Err(SignIn::Cloned));
    }
    Ok(Ok(kind))
}

/// Records a counter that went back (or stood still): a security event and a
/// refused sign-in.
async fn cloned(core: &Core, row: &PasskeyRow, meta: &RequestMeta) -> AppResult<()> {
    tracing::warn!(user = %row.user_id, passkey = %row.id, "passkey counter did not go up: possible clone");
    audit::record(
        core,
        &Actor::system(),
        Some(row.user_id),
        action::PASSKEY_CLONE_DETECTED,
        meta,
        serde_json::json!({ "passkey_id": row.id, "name": row.name, "stored_count": row.sign_count }),
    )
    .await?;
    login::record(
        core,
        Some(row.user_id),
        "",
        result::PASSKEY_CLONED,
        meta,
        None,
    )
    .await?;
    Ok(())
}

/// Finishes the second step with a passkey: the browser's ceremony must belong to its
/// live half-finished sign-in `ch`.
pub async fn finish_second_step(
    core: &Core,
    req: &HttpRequest,
    ch: &MfaChallenge,
    answer: &PublicKeyCredential,
    current: Option<&Session>,
    meta: &RequestMeta,
) -> AppResult<SignIn> {
    let wa = relying_party(core)?;
    let Some(c) = take(core, req, purpose::SECOND_STEP).await? else {
        return Ok(SignIn::Gone);
    };
    if c.mfa_challenge_id != Some(ch.id) || c.user_id != Some(ch.user_id) {
        return Ok(SignIn::Gone);
    }
    let Some(user) = challenge::still_valid(core, ch, current).await? else {
        return Ok(SignIn::Gone);
    };
    let row = core
        .store
        .find_passkey_by_credential(answer.get_credential_id())
        .await?
        .filter(|r| r.user_id == user.id);
    let Some(row) = row else {
        return Ok(from_challenge(
            challenge::passkey_failed(core, ch, &user, meta).await?,
        ));
    };
    let auth: PasskeyAuthentication = state_of(&c)?;
    let kind = match verify(
        core,
        &row,
        wa.finish_passkey_authentication(answer, &auth),
        meta,
    )
    .await?
    {
        Ok(kind) => kind,
        Err(SignIn::Refused) => {
            return Ok(from_challenge(
                challenge::passkey_failed(core, ch, &user, meta).await?,
            ));
        }
        Err(refused) => {
            challenge::passkey_failed(core, ch, &user, meta).await?;
            return Ok(refused);
        }
    };
    let ctx = AuthContext::passkey(kind, true);
    Ok(from_challenge(
        challenge::complete(core, ch, &user, &ctx, false, current, meta).await?,
    ))
}

fn from_challenge(o: Outcome) -> SignIn {
    match o {
        Outcome::Done {
            session_token,
            return_to,
            ..
        } => SignIn::Done {
            session_token,
            return_to,
        },
        Outcome::Wrong { .. } => SignIn::Refused,
        Outcome::Dropped => SignIn::Dropped,
        Outcome::Gone => SignIn::Gone,
    }
}

/// Finishes a passwordless sign-in: the passkey names its user (user handle); the
/// account must be able to sign in now. A new session (the browser's previous one
/// ends).
pub async fn finish_passwordless(
    core: &Core,
    req: &HttpRequest,
    answer: &PublicKeyCredential,
    current: Option<&Session>,
    meta: &RequestMeta,
) -> AppResult<SignIn> {
    let wa = relying_party(core)?;
    let Some(c) = take(core, req, purpose::PASSWORDLESS).await? else {
        return Ok(SignIn::Gone);
    };
    let Ok((user_id, cred_id)) = wa.identify_discoverable_authentication(answer) else {
        return Ok(SignIn::Refused);
    };
    let row = core
        .store
        .find_passkey_by_credential(cred_id)
        .await?
        .filter(|r| r.user_id == user_id);
    let Some(row) = row else {
        login::record(core, None, "", result::PASSKEY_UNKNOWN, meta, None).await?;
        return Ok(SignIn::Refused);
    };
    let user = core.store.get_user(row.user_id).await?;
    if user.org_id != core.org.id || !challenge::can_sign_in(&user, core.clock.now()) {
        login::record(core, Some(user.id), "", result::INACTIVE, meta, None).await?;
        return Ok(SignIn::Refused);
    }
    let auth: DiscoverableAuthentication = state_of(&c)?;
    let pk = passkey_of(&row)?;
    let kind = match verify(
        core,
        &row,
        wa.finish_discoverable_authentication_v2(answer, auth, &pk),
        meta,
    )
    .await?
    {
        Ok(kind) => kind,
        Err(refused) => {
            if let SignIn::Refused = refused {
                login::record(
                    core,
                    Some(user.id),
                    "",
                    result::BAD_SECOND_FACTOR,
                    meta,
                    None,
                )
                .await?;
            }
            return Ok(refused);
        }
    };
    if let Some(old) = current {
        sessions::end(core, old.id, "replaced").await?;
    }
    let ctx = AuthContext::passkey(kind, false);
    let (_, token) = login::finish(core, &user, &ctx, meta, &user.email).await?;
    Ok(SignIn::Done {
        session_token: Some(token),
        return_to: c.return_to,
    })
}

// ---------------------------------------------------------------------------------
// Policy: phishing-resistant sign-in

/// The step-up that asks for a passkey, then goes to `return_to`.
pub fn step_up_path(return_to: &str) -> String {
    format!("{}&passkey=1", crate::authn::mfa::step_up_path(return_to))
}

/// The account page to register a first passkey, then back to `return_to`.
pub fn enrol_path(return_to: &str) -> String {
    format!(
        "{ACCOUNT_PATH}?return_to={}",
        percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// Where a sign-on must go first for a phishing-resistant sign-in, if anywhere:
/// `asked` when the application asked for it (`acr_values`, RequestedAuthnContext),
/// else only when the organisation's policy requires it. A user with a passkey steps
/// up with it; under the policy, a user without one registers one first; when only the
/// application asked and the user has none, the sign-on goes on (the `acr` says what
/// happened). Nothing while passkeys are off.
pub async fn requirement(
    core: &Core,
    user: &User,
    session: &Session,
    return_to: &str,
    asked: bool,
) -> AppResult<Option<String>> {
    if session.acr == sessions::ACR_PHR || core.passkeys.webauthn().is_none() {
        return Ok(None);
    }
    let required = policy_requires(core, user).await?;
    if !asked && !required {
        return Ok(None);
    }
    if core.store.count_passkeys(user.id).await? > 0 {
        return Ok(Some(step_up_path(return_to)));
    }
    Ok(required.then(|| enrol_path(return_to)))
}
