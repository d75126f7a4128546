//! Deciding an authorization request (the domain side of `/authorize`): validate the
//! client, redirect URI and parameters; then, for whoever is signed in, sign in
//! first, pass the gates, ask for consent, or issue the code. The outcome is a
//! [`Step`] the web layer ([`super::authorize`]) renders.

use chrono::Duration;
use uuid::Uuid;

use super::params::{ParamError, Params};
use crate::clients::{self, Client};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions;
use crate::store::oidc::{AuthCode, TokenFamily};
use crate::store::{Session, User};

/// Marker the server adds when it sends the user to sign in again (`prompt=login`,
/// `max_age`): `{time}.{nonce}.{mac}`, the MAC covering the time, a random nonce and
/// a digest of the authorization request it was issued for. It is good only for
/// that same request, for [`FRESH_VALID_SECS`], and once: its nonce is recorded as
/// used (atomically, in the store) when a code is issued on the strength of it.
pub(super) const FRESH_PARAM: &str = "mb_fresh";
const FRESH_VALID_SECS: i64 = 900;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Query,
    FormPost,
}

/// Where and how responses go once the redirect URI is trusted.
pub struct Target {
    pub(super) redirect_uri: String,
    pub(super) mode: Mode,
    pub(super) state: Option<String>,
}

pub enum Step {
    /// Show an error page (client or redirect URI not trusted).
    Page(AppError),
    /// Send parameters back to the client.
    Respond(Target, Vec<(&'static str, String)>),
    /// Send the browser somewhere in Monban (login, consent).
    Local(String),
}

/// The parameters that decide where and how an answer goes: while one of them is in
/// doubt (repeated, say), nothing is sent to any client.
const TARGET_PARAMS: &[&str] = &["client_id", "redirect_uri", "response_mode"];

/// A request with a repeated parameter (RFC 6749 §3.1): `invalid_request`,
/// redirected to the client once its client and redirect URI are beyond doubt
/// (without `state` if `state` itself was repeated). A page instead when a repeated
/// parameter is one that says where the answer goes, or when a value is oversized
/// or not UTF-8 (hostile input is not bounced through the client).
pub async fn refuse_malformed(
    state: &Core,
    p: &Params,
    problems: &[ParamError],
) -> AppResult<Step> {
    let detail = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if problems
        .iter()
        .any(|e| TARGET_PARAMS.contains(&e.name()) || !matches!(e, ParamError::Duplicate(_)))
    {
        return Ok(Step::Page(AppError::bad_request("invalid_request", detail)));
    }
    Ok(match trusted_target(state, p).await? {
        Err(page) => page,
        Ok((_, target, _)) => oauth_error(target, "invalid_request", &detail),
    })
}

fn page_error(detail: &str) -> Step {
    Step::Page(AppError::bad_request(
        "invalid_authorization_request",
        detail.to_string(),
    ))
}

/// The registered client and the redirect URI to use, or an error page.
pub(super) async fn trusted_target(
    state: &Core,
    p: &Params,
) -> AppResult<Result<(Client, Target, bool), Step>> {
    let Some(client_id) = p.get("client_id") else {
        return Ok(Err(page_error("client_id is missing")));
    };
    let client = match crate::cache::client(state, client_id).await? {
        Some(c) if !c.disabled && c.org_id == state.org.id => c,
        _ => return Ok(Err(page_error("unknown client"))),
    };
    let registered = client.redirect_uri_list();
    let (redirect_uri, given) = match p.get("redirect_uri") {
        Some(u) if registered.iter().any(|r| r == u) => (u.to_string(), true),
        Some(_) => {
            return Ok(Err(page_error(
                "redirect_uri is not registered for this client",
            )))
        }
        None if registered.len() == 1 => (registered[0].clone(), false),
        None => return Ok(Err(page_error("redirect_uri is missing"))),
    };
    let mode = match p.get("response_mode") {
        Some("form_post") => Mode::FormPost,
        _ => Mode::Query,
    };
    let target = Target {
        redirect_uri,
        mode,
        state: p.get("state").map(str::to_string),
    };
    Ok(Ok((client, target, given)))
}

pub(super) fn oauth_error(target: Target, error: &'static str, desc: &str) -> Step {
    Step::Respond(
        target,
        vec![("error", error.into()), ("error_description", desc.into())],
    )
}

#[derive(Default)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

fn parse_prompt(v: Option<&str>) -> Result<Prompt, &'static str> {
    let mut p = Prompt::default();
    for t in v.unwrap_or("").split_whitespace() {
        match t {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => {}
            _ => return Err("unsupported prompt value"),
        }
    }
    if p.none && (p.login || p.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(p)
}

fn valid_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// What a fresh-login marker's MAC covers: its time, its nonce and the request.
fn fresh_mac_input(ts: &str, nonce: &str, p: &Params) -> Vec<u8> {
    let request = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        p.to_query(&[FRESH_PARAM]).as_bytes(),
    );
    let mut m = format!("v2.{ts}.{nonce}.").into_bytes();
    m.extend_from_slice(request.as_ref());
    m
}

/// A new marker for the request `p` (its own `mb_fresh`, if any, left out).
fn fresh_marker(state: &Core, p: &Params) -> String {
    let ts = state.clock.now().timestamp().to_string();
    let nonce = crate::util::random_token(16);
    let mac = state
        .keys
        .secrets()
        .fresh_login_mac(&fresh_mac_input(&ts, &nonce, p));
    format!(
        "{ts}.{nonce}.{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, mac)
    )
}

/// A genuine, unexpired marker issued for this very request.
struct FreshMarker {
    issued_at: i64,
    nonce: String,
}

/// The request's marker, if the server issued it for this request, recently, and it
/// has not been used yet.
async fn fresh_marker_of(state: &Core, p: &Params) -> AppResult<Option<FreshMarker>> {
    let Some(v) = p.get(FRESH_PARAM) else {
        return Ok(None);
    };
    let mut parts = v.splitn(3, '.');
    let (Some(ts), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Ok(mac) = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, mac)
    else {
        return Ok(None);
    };
    let expected = state
        .keys
        .secrets()
        .fresh_login_mac(&fresh_mac_input(ts, nonce, p));
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..])) {
        return Ok(None);
    }
    let Ok(issued_at) = ts.parse::<i64>() else {
        return Ok(None);
    };
    let age = state.clock.now().timestamp() - issued_at;
    // A used marker passes here; spending it (below, atomically) refuses it.
    if !(0..=FRESH_VALID_SECS).contains(&age) {
        return Ok(None);
    }
    Ok(Some(FreshMarker {
        issued_at,
        nonce: nonce.to_string(),
    }))
}

/// The request needs a (fresh) sign-in: `login_required` under `prompt=none`,
/// otherwise the sign-in page.
fn sign_in_first(state: &Core, target: Target, prompt: &Prompt, p: &mut Params) -> Step {
    if prompt.none {
        return oauth_error(target, "login_required", "the user must sign in");
    }
    to_login(state, p)
}

/// Sends the browser to sign in, coming back to this request with a new marker.
fn to_login(state: &Core, p: &mut Params) -> Step {
    p.remove(FRESH_PARAM);
    let marker = fresh_marker(state, p);
    p.set(FRESH_PARAM, marker);
    let back = format!("/authorize?{}", p.to_query(&[]));
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("return_to", &back);
    if let Some(h) = p.get("login_hint") {
        q.append_pair("login_hint", h);
    }
    if let Some(l) = p.get("ui_locales") {
        q.append_pair("ui_locales", l);
    }
    Step::Local(format!("/login?{}", q.finish()))
}

/// Checks an authorization request before anyone's session is looked at: the client
/// and redirect URI, then every parameter. `Err` is the answer already decided (an
/// error page, or an error sent back to the client).
pub async fn validate(state: &Core, p: &Params) -> AppResult<Result<Valid, Step>> {
    let (client, target, redirect_given) = match trusted_target(state, p).await? {
        Ok(t) => t,
        Err(page) => return Ok(Err(page)),
    };
    if let Some(m) = p.get("response_mode") {
        if m != "query" && m != "form_post" {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "unsupported response_mode",
            )));
        }
    }
    if p.has("request") {
        return Ok(Err(oauth_error(
            target,
            "request_not_supported",
            "request objects are not supported",
        )));
    }
    if p.has("request_uri") {
        return Ok(Err(oauth_error(
            target,
            "request_uri_not_supported",
            "request_uri is not supported",
        )));
    }
    match p.get("response_type") {
        None => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "response_type is missing",
            )))
        }
        Some("code") => {}
        Some(_) => {
            return Ok(Err(oauth_error(
                target,
                "unsupported_response_type",
                "only response_type=code is supported",
            )))
        }
    }
    if !client.allows_grant(clients::GRANT_CODE) {
        return Ok(Err(oauth_error(
            target,
            "unauthorized_client",
            "this client may not use the authorization code flow",
        )));
    }
    let mut scopes: Vec<&str> = Vec::new();
    for s in p.get("scope").unwrap_or("").split_whitespace() {
        if client.allows_scope(s) && !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if scopes.is_empty() {
        return Ok(Err(oauth_error(
            target,
            "invalid_scope",
            "no requested scope is allowed for this client",
        )));
    }
    let scope = scopes.join(" ");
    let challenge = p.get("code_challenge");
    match (challenge, p.get("code_challenge_method")) {
        (None, Some(_)) => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "code_challenge is missing",
            )))
        }
        (Some(_), None) => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed)",
            )))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed)",
            )))
        }
        (Some(c), _) if !valid_pkce_value(c) => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "code_challenge is malformed",
            )))
        }
        (None, None) if client.is_public() => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "PKCE with S256 is required for this client",
            )))
        }
        _ => {}
    }
    let prompt = match parse_prompt(p.get("prompt")) {
        Ok(pr) => pr,
        Err(e) => return Ok(Err(oauth_error(target, "invalid_request", e))),
    };
    let max_age = match p.get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "max_age must be a non-negative integer",
            )))
        }
    };
    if let Some(c) = p.get("claims") {
        if !serde_json::from_str::<serde_json::Value>(c).is_ok_and(|v| v.is_object()) {
            return Ok(Err(oauth_error(
                target,
                "invalid_request",
                "claims must be a JSON object",
            )));
        }
    }
    let hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(h) => {
            match super::tokens::verify::<serde_json::Value>(state, h, super::tokens::TYP_ID, false)
            {
                Ok(c) => c.get("sub").and_then(|s| s.as_str()).map(str::to_string),
                Err(_) => {
                    return Ok(Err(oauth_error(
                        target,
                        "invalid_request",
                        "id_token_hint is not a valid ID token from this issuer",
                    )))
                }
            }
        }
    };
    Ok(Ok(Valid {
        client,
        target,
        redirect_given,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        scope,
        challenge: challenge.map(str::to_string),
        prompt,
        max_age,
        hint_sub,
    }))
}

/// An authorization request whose client, redirect URI and parameters are valid.
pub struct Valid {
    client: Client,
    target: Target,
    redirect_given: bool,
    scopes: Vec<String>,
    scope: String,
    challenge: Option<String>,
    prompt: Prompt,
    max_age: Option<i64>,
    hint_sub: Option<String>,
}

/// Decides a valid request for whoever is signed in (`current`): sign in first,
/// resolve a gate (password change, second step), ask for consent, or issue the code.
/// `consent_given` when the user just approved on the consent page.
pub async fn decide(
    state: &Core,
    valid: Valid,
    current: Option<(Session, User)>,
    mut p: Params,
    consent_given: bool,
) -> AppResult<Step> {
    let Valid {
        client,
        target,
        redirect_given,
        scopes,
        scope,
        challenge,
        prompt,
        max_age,
        hint_sub,
    } = valid;
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let challenge = challenge.as_deref();
    // Who is signed in, and is that good enough for this request?
    let now = state.clock.now();
    let fresh = fresh_marker_of(state, &p).await?;
    // Whether the sign-in this request asked for (prompt=login, max_age) is what lets
    // it through: then its marker is spent when the code is issued.
    let mut spends_marker = None;
    let need_login = match &current {
        None => true,
        Some((s, u)) => {
            let too_old = max_age.is_some_and(|m| (now - s.auth_time).num_seconds() > m);
            let refreshed = fresh
                .as_ref()
                .filter(|f| s.auth_time.timestamp() >= f.issued_at);
            let other_user = hint_sub.as_deref().is_some_and(|h| h != u.id.to_string());
            if prompt.login || too_old {
                spends_marker = refreshed;
            }
            ((prompt.login || too_old) && spends_marker.is_none()) || other_user
        }
    };
    if need_login {
        return Ok(sign_in_first(state, target, &prompt, &mut p));
    }
    let Some((session, user)) = current else {
        return Ok(oauth_error(
            target,
            "login_required",
            "the user must sign in",
        ));
    };

    // Two-factor: a user with MFA must have done the second step in this session
    // (step-up of a password-only session), and under `mfa.required` a user without
    // MFA must enrol first. `acr_values` asking for MFA is satisfied this way for
    // users who have it; for users without MFA it is voluntary and `acr` says `pwd`.
    let back = format!("/authorize?{}", p.to_query(&[]));
    if client.is_native() && user.app_blocked_at.is_some() {
        return Ok(oauth_error(
            target,
            "access_denied",
            "you are not permitted to use this service",
        ));
    }
    // `acr_values` naming the phishing-resistant level: a user with a passkey steps up
    // with it; without one the request goes on and `acr` says what happened.
    let phr_asked = p
        .get("acr_values")
        .is_some_and(|v| v.split(' ').any(|a| a == crate::sessions::ACR_PHR));
    let gate = crate::authn::gate::before_sso(state, &user, &session, &back, phr_asked).await?;
    if let Some(path) = gate {
        if prompt.none {
            return Ok(oauth_error(
                target,
                "interaction_required",
                "the user must complete two-factor sign-in",
            ));
        }
        return Ok(Step::Local(path));
    }

    if !client.first_party && !consent_given {
        let granted = state.store.get_consent(user.id, &client.client_id).await?;
        let covers =
            granted.is_some_and(|g| scopes.iter().all(|s| g.split_whitespace().any(|x| x == *s)));
        if prompt.consent || !covers {
            if prompt.none {
                return Ok(oauth_error(
                    target,
                    "consent_required",
                    "the user has not consented to this client",
                ));
            }
            return Ok(Step::Local(format!("/consent?{}", p.to_query(&[]))));
        }
    }

    // Issue the code, with the grant it starts (so that a replayed code can revoke
    // everything issued from it, even while the first exchange is still running).
    // Under a support grant: only the applications it covers, never offline access,
    // and read-only grants add a scope the application can honour.
    let (scope, offline) = match session.support_grant_id {
        None => (
            scope,
            scopes.contains(&"offline_access") && client.allows_grant(clients::GRANT_REFRESH),
        ),
        Some(gid) => {
            let Some(g) = state.store.get_grant(gid).await? else {
                return Ok(oauth_error(
                    target,
                    "access_denied",
                    "the support grant has ended",
                ));
            };
            let covered = crate::support::client_ids(&g);
            if !covered.is_empty() && !covered.contains(&client.client_id) {
                return Ok(oauth_error(
                    target,
                    "access_denied",
                    "the support grant does not cover this application",
                ));
            }
            let mut s: Vec<&str> = scopes
                .iter()
                .copied()
                .filter(|s| *s != "offline_access")
                .collect();
            if g.readonly {
                s.push(crate::support::READONLY_SCOPE);
            }
            (s.join(" "), false)
        }
    };
    // One forced sign-in, one authorization: spend the marker (atomically, so that
    // of two requests racing with it only one gets through).
    if let Some(f) = spends_marker {
        let until = now + Duration::seconds(FRESH_VALID_SECS);
        if !state.store.spend_fresh_login(&f.nonce, until).await? {
            return Ok(sign_in_first(state, target, &prompt, &mut p));
        }
    }
    let family = TokenFamily {
        id: Uuid::new_v4(),
        client_id: client.client_id.clone(),
        user_id: user.id,
        session_id: Some(session.id),
        scope: scope.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
        offline,
        claims: p.get("claims").map(str::to_string),
        created_at: now,
        revoked_at: None,
        revoked_reason: None,
        impersonator_id: session.impersonator_id,
        support_grant_id: session.support_grant_id,
    };
    let code = crate::util::random_token(32);
    let row = AuthCode {
        code_hash: sessions::hash_token(state, &code),
        family_id: family.id,
        client_id: client.client_id.clone(),
        user_id: user.id,
        session_id: session.id,
        redirect_uri: target.redirect_uri.clone(),
        redirect_uri_given: redirect_given,
        scope,
        nonce: p.get("nonce").map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        claims: p.get("claims").map(str::to_string),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.cfg.tokens.code_ttl_secs),
        used_at: None,
    };
    // The grant, its code and the session's client list: all or nothing.
    state.store.issue_code(&family, &row).await?;
    Ok(Step::Respond(target, vec![("code", code)]))
}
