//! Passkey endpoints. The ceremonies are JSON (called by `/static/passkey.js`), each
//! body carrying the page's `csrf_token`; every answer is `{"publicKey": …}` (options),
//! `{"redirect": url}` (done, or a page to visit first) or `{"error", "message"}`.
//!
//! - `POST /login/passkey/options|finish` — passwordless sign-in from the login page;
//! - `POST /login/mfa/passkey/options|finish` — the second step (or a step-up) of the
//!   browser's half-finished sign-in;
//! - `GET /account/passkeys` — the user's passkeys; `POST /account/passkeys/options|finish`
//!   registers one; `POST /account/passkeys/{id}/rename|remove` (forms).
//!
//! Registering, renaming and removing need a password entered recently and, while MFA
//! is on, a session that did the second step, as for the other MFA settings; a support
//! session is refused (403) whatever it asks.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::{Refusal, SignIn, ACCOUNT_PATH};
use crate::audit::Actor;
use crate::authn::mfa::challenge;
use crate::core::Core;
use crate::error::AppResult;
use crate::http::see_other;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates_passkeys, OwnSession};
use crate::ratelimit::Action;
use crate::store::MfaChallenge;
use crate::util::safe_local_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/login/passkey/options",
        web::post().to(passwordless_options),
    )
    .route("/login/passkey/finish", web::post().to(passwordless_finish))
    .route(
        "/login/mfa/passkey/options",
        web::post().to(second_step_options),
    )
    .route(
        "/login/mfa/passkey/finish",
        web::post().to(second_step_finish),
    )
    .route(ACCOUNT_PATH, web::get().to(account_page))
    .route(
        "/account/passkeys/options",
        web::post().to(register_options),
    )
    .route("/account/passkeys/finish", web::post().to(register_finish))
    .route("/account/passkeys/{id}/rename", web::post().to(rename))
    .route("/account/passkeys/{id}/remove", web::post().to(remove));
}

fn json(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `{"redirect": to}`, setting `cookies`.
fn redirect_json(to: &str, cookies: &[actix_web::cookie::Cookie<'static>]) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CACHE_CONTROL, "no-store"));
    for c in cookies {
        b.cookie(c.clone());
    }
    b.json(serde_json::json!({ "redirect": to }))
}

/// A refusal the page shows (in the user's language).
fn refused(
    req: &HttpRequest,
    state: &Core,
    status: StatusCode,
    code: &str,
    key: &str,
) -> HttpResponse {
    let locale = http::locale(req, state);
    json(
        status,
        serde_json::json!({ "error": code, "message": locale.t(key) }),
    )
}

/// The JSON body, read in the handler (after the session gate, so that a support
/// session is refused whatever it sends): 400 `invalid_request` when it is not the
/// expected JSON.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> AppResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        crate::error::AppError::bad_request("invalid_request", format!("the JSON body: {e}"))
    })
}

#[derive(Deserialize)]
pub struct OptionsBody {
    csrf_token: Option<String>,
    #[serde(default)]
    conditional: bool,
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInBody {
    csrf_token: Option<String>,
    credential: PublicKeyCredential,
}

#[derive(Deserialize)]
pub struct RegisterBody {
    csrf_token: Option<String>,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
    return_to: Option<String>,
}

async fn passwordless_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::LoginIp, meta.ip.as_deref())?;
    let body: OptionsBody = json_body(&body)?;
    csrf::verify(&req, &state, body.csrf_token.as_deref())?;
    let return_to = body.return_to.as_deref().and_then(safe_local_path);
    let (rcr, cookie) = super::start_passwordless(&state, return_to, body.conditional).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .json(rcr))
}

/// The answer to a finished sign-in: the session cookie and where to go.
fn signed_in(req: &HttpRequest, state: &Core, outcome: SignIn, default_to: &str) -> HttpResponse {
    match outcome {
        SignIn::Done {
            session_token,
            return_to,
        } => {
            let to = return_to.unwrap_or_else(|| default_to.to_string());
            let mut cookies = vec![
                challenge::removal_cookie(state),
                super::removal_cookie(state),
            ];
            if let Some(t) = session_token {
                cookies.push(crate::http::cookies::session_cookie(state, t));
            }
            redirect_json(&to, &cookies)
        }
        SignIn::Refused => refused(
            req,
            state,
            StatusCode::UNAUTHORIZED,
            "passkey_refused",
            "passkeys.refused",
        ),
        SignIn::Cloned => refused(
            req,
            state,
            StatusCode::UNAUTHORIZED,
            "passkey_cloned",
            "passkeys.cloned",
        ),
        SignIn::Gone => refused(
            req,
            state,
            StatusCode::UNAUTHORIZED,
            "passkey_expired",
            "passkeys.expired",
        ),
        SignIn::Dropped => refused(
            req,
            state,
            StatusCode::UNAUTHORIZED,
            "too_many_attempts",
            "mfa.too_many",
        ),
    }
}

async fn passwordless_finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::LoginIp, meta.ip.as_deref())?;
    let body: SignInBody = json_body(&body)?;
    csrf::verify(&req, &state, body.csrf_token.as_deref())?;
    let current = http::current_session(&req, &state).await?.map(|(s, _)| s);
    let outcome =
        super::finish_passwordless(&state, &req, &body.credential, current.as_ref(), &meta).await?;
    // The policy's MFA enrolment does not apply: a passkey is two factors.
    Ok(signed_in(&req, &state, outcome, "/account"))
}

/// The common start of the second-step endpoints: the rate limit, the body, its CSRF
/// token, and the browser's half-finished sign-in (Err: the answer when there is none).
async fn half_finished<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
    csrf_token: fn(&T) -> Option<&str>,
) -> AppResult<Result<(T, MfaChallenge, crate::sessions::RequestMeta), HttpResponse>> {
    let meta = http::request_meta(req);
    state.limits.check_ip(Action::MfaIp, meta.ip.as_deref())?;
    let body: T = json_body(body)?;
    csrf::verify(req, state, csrf_token(&body))?;
    Ok(match challenge::current(req, state).await? {
        Some(ch) => Ok((body, ch, meta)),
        None => Err(refused(
            req,
            state,
            StatusCode::UNAUTHORIZED,
            "passkey_expired",
            "mfa.no_challenge",
        )),
    })
}

async fn second_step_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (_, ch, _) =
        match half_finished::<OptionsBody>(&req, &state, &body, |b| b.csrf_token.as_deref()).await?
        {
            Ok(v) => v,
            Err(res) => return Ok(res),
        };
    let Some((rcr, cookie)) = super::start_second_step(&state, &ch).await? else {
        return Ok(refused(
            &req,
            &state,
            StatusCode::CONFLICT,
            "no_passkey",
            "passkeys.none",
        ));
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .json(rcr))
}

async fn second_step_finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (body, ch, meta) = match half_finished::<SignInBody>(&req, &state, &body, |b| {
        b.csrf_token.as_deref()
    })
    .await?
    {
        Ok(v) => v,
        Err(res) => return Ok(res),
    };
    state
        .limits
        .check(Action::MfaAccount, &ch.user_id.to_string())?;
    let current = http::current_session(&req, &state).await?.map(|(s, _)| s);
    let outcome =
        super::finish_second_step(&state, &req, &ch, &body.credential, current.as_ref(), &meta)
            .await?;
    Ok(signed_in(&req, &state, outcome, "/account"))
}

fn here(return_to: Option<&str>) -> String {
    match return_to.and_then(safe_local_path) {
        Some(r) => super::enrol_path(r),
        None => ACCOUNT_PATH.to_string(),
    }
}

async fn register_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let body: OptionsBody = json_body(&body)?;
    csrf::verify(&req, &state, body.csrf_token.as_deref())?;
    let (session, user) = match crate::account::sensitive_gate(
        own,
        &state,
        &here(body.return_to.as_deref()),
    )
    .await?
    {
        Ok(ok) => ok,
        Err(to) => return Ok(redirect_json(&to, &[])),
    };
    let (ccr, cookie) = super::start_registration(&state, &user, &session).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .json(ccr))
}

async fn register_finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let body: RegisterBody = json_body(&body)?;
    csrf::verify(&req, &state, body.csrf_token.as_deref())?;
    let return_to = body.return_to.as_deref().and_then(safe_local_path);
    let (session, user) =
        match crate::account::sensitive_gate(own, &state, &here(return_to)).await? {
            Ok(ok) => ok,
            Err(to) => return Ok(redirect_json(&to, &[])),
        };
    let meta = http::request_meta(&req);
    match super::finish_registration(
        &state,
        &req,
        &user,
        &session,
        &body.name,
        &body.credential,
        &meta,
    )
    .await?
    {
        Ok(_) => {
            let to = return_to
                .map(str::to_string)
                .unwrap_or_else(|| format!("{ACCOUNT_PATH}?done=added"));
            Ok(redirect_json(&to, &[super::removal_cookie(&state)]))
        }
        Err(r) => {
            let (status, code) = match r {
                Refusal::Duplicate => (StatusCode::CONFLICT, "passkey_duplicate"),
                Refusal::NotAllowed => (StatusCode::FORBIDDEN, "passkey_not_allowed"),
                Refusal::Stale => (StatusCode::BAD_REQUEST, "passkey_expired"),
                Refusal::Rejected => (StatusCode::BAD_REQUEST, "passkey_rejected"),
            };
            Ok(refused(&req, &state, status, code, r.key()))
        }
    }
}

#[derive(Deserialize)]
struct PageQuery {
    return_to: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

fn date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn account_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
) -> AppResult<HttpResponse> {
    let q = web::Query::<PageQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(PageQuery {
            return_to: None,
            done: None,
            error: None,
        });
    let return_to = q.return_to.as_deref().and_then(safe_local_path);
    let Some((_, user)) = own.0 else {
        return Ok(crate::account::to_login(&here(return_to)));
    };
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    let passkeys = super::list(&state, user.id).await?;
    http::csp::allow_own_script(&req);
    http::csp::allow_return_to(&req, return_to);
    let notice = match q.done.as_deref() {
        Some("added") => Some(locale.t("passkeys.added")),
        Some("renamed") => Some(locale.t("passkeys.renamed")),
        Some("removed") => Some(locale.t("passkeys.removed")),
        _ => None,
    };
    let error = match q.error.as_deref() {
        Some("unknown") => Some(locale.t("passkeys.unknown")),
        Some("last") => Some(locale.t("passkeys.last")),
        _ => None,
    };
    let body = templates_passkeys::account(
        locale,
        &state.cfg.ui.product_name,
        &templates_passkeys::AccountPasskeysView {
            csrf: &token.token,
            passkeys: &passkeys,
            off_reason: state.passkeys.off_key().map(|k| locale.t(k)),
            return_to,
            notice,
            error,
            no_backup_codes: !passkeys.is_empty()
                && state.store.count_unused_backup_codes(user.id).await? == 0,
            date,
        },
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    crate::authn::routes::remember_locale(&req, &mut res);
    Ok(res.body(body.into_string()))
}

#[derive(Deserialize)]
pub struct NameForm {
    csrf_token: Option<String>,
    name: Option<String>,
}

/// The passkey id of the path (parsed after the session gate, so that a malformed
/// id is answered like an unknown one).
fn passkey_id(req: &HttpRequest) -> Option<Uuid> {
    req.match_info()
        .get("id")
        .and_then(|s| Uuid::parse_str(s).ok())
}

async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    form: web::Form<NameForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (session, user) = match crate::account::sensitive_gate(own, &state, ACCOUNT_PATH).await? {
        Ok(ok) => ok,
        Err(to) => return Ok(see_other(&to)),
    };
    let meta = http::request_meta(&req);
    let name = form.name.as_deref().unwrap_or_default();
    let found = match passkey_id(&req) {
        Some(id) => super::rename(&state, &user, &session, id, name, &meta).await?,
        None => false,
    };
    Ok(see_other(if found {
        "/account/passkeys?done=renamed"
    } else {
        "/account/passkeys?error=unknown"
    }))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    form: web::Form<NameForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, user) = match crate::account::sensitive_gate(own, &state, ACCOUNT_PATH).await? {
        Ok(ok) => ok,
        Err(to) => return Ok(see_other(&to)),
    };
    let meta = http::request_meta(&req);
    let Some(id) = passkey_id(&req) else {
        return Ok(see_other("/account/passkeys?error=unknown"));
    };
    if !super::user_may_remove(&state, &user, id).await? {
        return Ok(see_other("/account/passkeys?error=last"));
    }
    let found = super::remove(&state, &user, id, &Actor::user(user.id), &meta).await?;
    Ok(see_other(if found {
        "/account/passkeys?done=removed"
    } else {
        "/account/passkeys?error=unknown"
    }))
}
