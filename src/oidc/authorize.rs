//! The authorization endpoint (`GET`/`POST /authorize`) and the consent page.
//!
//! Until the client and its redirect URI are known to be registered, errors are
//! shown as a page and nobody is redirected anywhere. After that, errors go back to
//! the client the way the request asked (`query` or `form_post`), with `state` and
//! the RFC 9207 `iss`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::Deserialize;
use uuid::Uuid;

use super::params::{ParamError, Params};
use crate::app::AppState;
use crate::clients::{self, Client};
use crate::error::{AppError, AppResult};
use crate::http::{self, csrf};
use crate::sessions;
use crate::store::oidc::{AuthCode, TokenFamily};

pub const AUTHZ_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "display",
    "claims",
    "request",
    "request_uri",
    "registration",
    FRESH_PARAM,
];

/// Marker the server adds when it sends the user to sign in again (`prompt=login`,
/// `max_age`): `{time}.{nonce}.{mac}`, the MAC covering the time, a random nonce and
/// a digest of the authorization request it was issued for. It is good only for
/// that same request, for [`FRESH_VALID_SECS`], and once: its nonce is recorded as
/// used (atomically, in the store) when a code is issued on the strength of it.
const FRESH_PARAM: &str = "mb_fresh";
const FRESH_VALID_SECS: i64 = 900;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Query,
    FormPost,
}

/// Where and how responses go once the redirect URI is trusted.
struct Target {
    redirect_uri: String,
    mode: Mode,
    state: Option<String>,
}

enum Step {
    /// Show an error page (client or redirect URI not trusted).
    Page(AppError),
    /// Send parameters back to the client.
    Respond(Target, Vec<(&'static str, String)>),
    /// Send the browser somewhere in Monban (login, consent).
    Local(String),
}

pub async fn authorize_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let raw = req.query_string().as_bytes().to_vec();
    run(&req, &state, &raw, false).await
}

pub async fn authorize_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "expected application/x-www-form-urlencoded",
        ));
    }
    run(&req, &state, &body, false).await
}

async fn run(
    req: &HttpRequest,
    state: &AppState,
    raw: &[u8],
    consent_given: bool,
) -> AppResult<HttpResponse> {
    let (p, problems) = Params::parse_all(raw, AUTHZ_PARAMS);
    let step = if problems.is_empty() {
        decide(req, state, p, consent_given).await?
    } else {
        refuse_malformed(state, &p, &problems).await?
    };
    Ok(render(req, state, step))
}

/// The parameters that decide where and how an answer goes: while one of them is in
/// doubt (repeated, say), nothing is sent to any client.
const TARGET_PARAMS: &[&str] = &["client_id", "redirect_uri", "response_mode"];

/// A request with a repeated parameter (RFC 6749 §3.1): `invalid_request`,
/// redirected to the client once its client and redirect URI are beyond doubt
/// (without `state` if `state` itself was repeated). A page instead when a repeated
/// parameter is one that says where the answer goes, or when a value is oversized
/// or not UTF-8 (hostile input is not bounced through the client).
async fn refuse_malformed(
    state: &AppState,
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
async fn trusted_target(
    state: &AppState,
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

fn oauth_error(target: Target, error: &'static str, desc: &str) -> Step {
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
fn fresh_marker(state: &AppState, p: &Params) -> String {
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
async fn fresh_marker_of(state: &AppState, p: &Params) -> AppResult<Option<FreshMarker>> {
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

/// Sends the browser to sign in, coming back to this request with a new marker.
fn to_login(state: &AppState, p: &mut Params) -> Step {
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

async fn decide(
    req: &HttpRequest,
    state: &AppState,
    mut p: Params,
    consent_given: bool,
) -> AppResult<Step> {
    let (client, target, redirect_given) = match trusted_target(state, &p).await? {
        Ok(t) => t,
        Err(page) => return Ok(page),
    };
    if let Some(m) = p.get("response_mode") {
        if m != "query" && m != "form_post" {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "unsupported response_mode",
            ));
        }
    }
    if p.has("request") {
        return Ok(oauth_error(
            target,
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if p.has("request_uri") {
        return Ok(oauth_error(
            target,
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match p.get("response_type") {
        None => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "response_type is missing",
            ))
        }
        Some("code") => {}
        Some(_) => {
            return Ok(oauth_error(
                target,
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant(clients::GRANT_CODE) {
        return Ok(oauth_error(
            target,
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    let mut scopes: Vec<&str> = Vec::new();
    for s in p.get("scope").unwrap_or("").split_whitespace() {
        if client.allows_scope(s) && !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if scopes.is_empty() {
        return Ok(oauth_error(
            target,
            "invalid_scope",
            "no requested scope is allowed for this client",
        ));
    }
    let scope = scopes.join(" ");
    let challenge = p.get("code_challenge");
    match (challenge, p.get("code_challenge_method")) {
        (None, Some(_)) => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "code_challenge is missing",
            ))
        }
        (Some(_), None) => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed)",
            ))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed)",
            ))
        }
        (Some(c), _) if !valid_pkce_value(c) => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "code_challenge is malformed",
            ))
        }
        (None, None) if client.is_public() => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "PKCE with S256 is required for this client",
            ))
        }
        _ => {}
    }
    let prompt = match parse_prompt(p.get("prompt")) {
        Ok(pr) => pr,
        Err(e) => return Ok(oauth_error(target, "invalid_request", e)),
    };
    let max_age = match p.get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "max_age must be a non-negative integer",
            ))
        }
    };
    if let Some(c) = p.get("claims") {
        if !serde_json::from_str::<serde_json::Value>(c).is_ok_and(|v| v.is_object()) {
            return Ok(oauth_error(
                target,
                "invalid_request",
                "claims must be a JSON object",
            ));
        }
    }
    let hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(h) => {
            match super::tokens::verify::<serde_json::Value>(state, h, super::tokens::TYP_ID, false)
            {
                Ok(c) => c.get("sub").and_then(|s| s.as_str()).map(str::to_string),
                Err(_) => {
                    return Ok(oauth_error(
                        target,
                        "invalid_request",
                        "id_token_hint is not a valid ID token from this issuer",
                    ))
                }
            }
        }
    };

    // Who is signed in, and is that good enough for this request?
    let now = state.clock.now();
    let current = http::current_session(req, state).await?;
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
        if prompt.none {
            return Ok(oauth_error(
                target,
                "login_required",
                "the user must sign in",
            ));
        }
        return Ok(to_login(state, &mut p));
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
    let gate = match crate::account::password::change_required_path(&user, &back) {
        Some(p) => Some(p),
        None => crate::authn::mfa::sso_requirement(state, &user, &session, &back).await?,
    };
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
        let key = format!("{}{}", crate::store::oidc::FRESH_LOGIN_PREFIX, f.nonce);
        if !state.store.record_assertion_jti(&key, until).await? {
            if prompt.none {
                return Ok(oauth_error(
                    target,
                    "login_required",
                    "the user must sign in",
                ));
            }
            return Ok(to_login(state, &mut p));
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
    state.store.insert_family(&family).await?;
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
    state.store.insert_auth_code(&row).await?;
    state
        .store
        .add_session_client(session.id, &client.client_id, now)
        .await?;
    Ok(Step::Respond(target, vec![("code", code)]))
}

fn render(req: &HttpRequest, state: &AppState, step: Step) -> HttpResponse {
    match step {
        Step::Page(e) => {
            let locale = http::locale(req, state);
            let msg = format!("{} ({})", locale.t("authz.error"), e.detail);
            HttpResponse::build(e.status)
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(
                    crate::http::templates::error(
                        locale,
                        &state.cfg.ui.product_name,
                        e.status.as_u16(),
                        &msg,
                        None,
                    )
                    .into_string(),
                )
        }
        Step::Local(path) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Step::Respond(target, mut params) => {
            if let Some(s) = &target.state {
                params.push(("state", s.clone()));
            }
            params.push(("iss", state.cfg.issuer().to_string()));
            respond(state, &target, &params)
        }
    }
}

fn respond(state: &AppState, target: &Target, params: &[(&'static str, String)]) -> HttpResponse {
    match target.mode {
        Mode::Query => {
            let mut u = match url::Url::parse(&target.redirect_uri) {
                Ok(u) => u,
                Err(_) => return HttpResponse::BadRequest().finish(),
            };
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            HttpResponse::Found()
                .insert_header((header::LOCATION, u.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Mode::FormPost => {
            let nonce = crate::util::random_token(16);
            let origin = crate::util::origin_of(&target.redirect_uri);
            let page = crate::http::templates::form_post(
                &state.cfg.ui.product_name,
                &target.redirect_uri,
                params,
                &nonce,
            );
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    format!(
                        "default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; \
                         frame-ancestors 'none'; base-uri 'none'"
                    ),
                ))
                .body(page.into_string())
        }
    }
}

// ---------------------------------------------------------------- consent

pub async fn consent_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let p = Params::parse(req.query_string().as_bytes(), AUTHZ_PARAMS)
        .map_err(|e| AppError::bad_request("invalid_request", e.to_string()))?;
    let (client, target, _) = match trusted_target(&state, &p).await? {
        Ok(t) => t,
        Err(step) => return Ok(render(&req, &state, step)),
    };
    // Either decision leads to the client's (registered) redirect URI.
    http::csp::allow_form_target(&req, &target.redirect_uri);
    let Some((_, user)) = http::current_session(&req, &state).await? else {
        return Ok(crate::account::to_login(&format!(
            "/authorize?{}",
            req.query_string()
        )));
    };
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    let scopes: Vec<String> = p
        .get("scope")
        .unwrap_or("")
        .split_whitespace()
        .filter(|s| client.allows_scope(s))
        .map(str::to_string)
        .collect();
    let page = crate::http::templates::consent(
        locale,
        &state.cfg.ui.product_name,
        &crate::http::templates::ConsentView {
            client_name: &client.name,
            user: &user.email,
            scopes: &scopes,
            request: &p.to_query(&[]),
            csrf: &token.token,
        },
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    Ok(res.body(page.into_string()))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf_token: Option<String>,
    request: String,
    decision: String,
}

pub async fn consent_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ConsentForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let p = Params::parse(form.request.as_bytes(), AUTHZ_PARAMS)
        .map_err(|e| AppError::bad_request("invalid_request", e.to_string()))?;
    let (client, target, _) = match trusted_target(&state, &p).await? {
        Ok(t) => t,
        Err(step) => return Ok(render(&req, &state, step)),
    };
    let Some((session, user)) = http::current_session(&req, &state).await? else {
        return Ok(crate::account::to_login(&format!(
            "/authorize?{}",
            form.request
        )));
    };
    if form.decision != "approve" {
        return Ok(render(
            &req,
            &state,
            oauth_error(target, "access_denied", "the user denied the request"),
        ));
    }
    // A support engineer acting as the user may approve this one authorization, but
    // does not speak for the user: nothing is remembered for later.
    if session.impersonator_id.is_some() {
        return run(&req, &state, form.request.as_bytes(), true).await;
    }
    let scope: Vec<&str> = p
        .get("scope")
        .unwrap_or("")
        .split_whitespace()
        .filter(|s| client.allows_scope(s))
        .collect();
    // Remember the union of what was granted before and now.
    let mut all: Vec<String> = state
        .store
        .get_consent(user.id, &client.client_id)
        .await?
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    for s in scope {
        if !all.iter().any(|x| x == s) {
            all.push(s.to_string());
        }
    }
    state
        .store
        .put_consent(
            user.id,
            &client.client_id,
            &all.join(" "),
            state.clock.now(),
        )
        .await?;
    run(&req, &state, form.request.as_bytes(), true).await
}
