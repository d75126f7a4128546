//! The signed-in user's MFA pages:
//!
//! - `GET /account/mfa` — status, backup codes left, actions;
//! - `GET /account/mfa/enroll?return_to=…` — a new key (QR, account, key, otpauth link);
//!   `POST` confirms it with `code` (+ `pending_id`, `csrf_token`);
//! - `GET/POST /account/mfa/backup-codes` — regenerate (confirm page, then the codes once);
//! - `POST /account/mfa/backup-codes/download` — the codes of the page as a .txt file;
//! - `GET/POST /account/mfa/disable` — turn MFA off.
//!
//! Every page but the first needs a recent password ([`crate::account::reauth`]) and,
//! while MFA is on, a session that did the second step.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::to_login;
use crate::authn::mfa::{self, backup_codes::CodeFormat, ConfirmOutcome, Enforcement};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates_mfa, OwnSession};
use crate::store::{Session, User};
use crate::util::safe_local_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/mfa", web::get().to(settings_page))
        .service(
            web::resource(mfa::ENROL_PATH)
                .route(web::get().to(enrol_page))
                .route(web::post().to(enrol_submit)),
        )
        .service(
            web::resource("/account/mfa/backup-codes")
                .route(web::get().to(regenerate_page))
                .route(web::post().to(regenerate_submit)),
        )
        .route(
            "/account/mfa/backup-codes/download",
            web::post().to(download),
        )
        .service(
            web::resource("/account/mfa/disable")
                .route(web::get().to(disable_page))
                .route(web::post().to(disable_submit)),
        );
}

fn page(
    req: &HttpRequest,
    status: StatusCode,
    body: maud::Markup,
    csrf: Option<csrf::CsrfToken>,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = csrf.and_then(|t| t.set_cookie) {
        res.cookie(c);
    }
    crate::authn::routes::remember_locale(req, &mut res);
    res.body(body.into_string())
}

enum Gate {
    Open(Box<(Session, User)>),
    Redirect(HttpResponse),
}

/// Signed in; MFA session if MFA is on (else step-up); password entered recently
/// (else re-authentication). `here` is where to come back to.
async fn gate(own: OwnSession, state: &Core, here: &str) -> AppResult<Gate> {
    let Some((session, user)) = own.0 else {
        return Ok(Gate::Redirect(to_login(here)));
    };
    if mfa::is_enabled(state, user.id).await? && !mfa::session_has_mfa(&session) {
        return Ok(Gate::Redirect(see_other(&mfa::step_up_path(here))));
    }
    if !mfa::recently_authenticated(state, &session).await? {
        return Ok(Gate::Redirect(see_other(&super::reauth::path(here))));
    }
    Ok(Gate::Open(Box::new((session, user))))
}

async fn settings_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let Some((_, user)) = http::current_session(&req, &state).await? else {
        return Ok(to_login("/account/mfa"));
    };
    let locale = http::locale(&req, &state);
    let st = mfa::status(&state, user.id).await?;
    let body = templates_mfa::settings(
        locale,
        &state.cfg.ui.product_name,
        &templates_mfa::SettingsView {
            enabled: st.enabled,
            enrolled_at: st
                .enrolled_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            remaining: st.backup_codes_remaining,
            required: state.cfg.mfa.required,
        },
    );
    Ok(page(&req, StatusCode::OK, body, None))
}

#[derive(Deserialize)]
struct EnrolQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct EnrolForm {
    csrf_token: Option<String>,
    pending_id: Option<String>,
    code: Option<String>,
    return_to: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_enrol(
    req: &HttpRequest,
    state: &Core,
    status: StatusCode,
    user: &User,
    e: &mfa::Enrolment,
    return_to: Option<&str>,
    error_key: Option<&str>,
) -> AppResult<HttpResponse> {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    http::csp::allow_return_to(req, return_to);
    let enforcement = mfa::enforcement(state, user).await?;
    let re_enrol = mfa::is_enabled(state, user.id).await?;
    let grace_until = match enforcement {
        Enforcement::Grace { until } => Some(until.format("%Y-%m-%d %H:%M UTC").to_string()),
        _ => None,
    };
    let skip_to = grace_until
        .as_ref()
        .map(|_| return_to.unwrap_or("/account"));
    let pending_id = e.pending_id.to_string();
    let body = templates_mfa::enrol(
        locale,
        &state.cfg.ui.product_name,
        &templates_mfa::EnrolView {
            csrf: &token.token,
            pending_id,
            issuer: &e.issuer,
            account: &e.account,
            key: &e.key,
            otpauth_uri: &e.otpauth_uri,
            qr: &e.qr,
            return_to: return_to.or(skip_to),
            error: error_key.map(|k| locale.t(k)),
            required: state.cfg.mfa.required && !re_enrol,
            grace_until,
            re_enrol,
        },
    );
    Ok(page(req, status, body, Some(token)))
}

async fn enrol_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    q: web::Query<EnrolQuery>,
) -> AppResult<HttpResponse> {
    let return_to = q.return_to.as_deref().and_then(safe_local_path);
    let here = return_to.map_or_else(|| mfa::ENROL_PATH.to_string(), mfa::enrol_path);
    let (session, user) = match gate(own, &state, &here).await? {
        Gate::Open(b) => *b,
        Gate::Redirect(r) => return Ok(r),
    };
    let e = mfa::start_enrolment(&state, &user, &session).await?;
    render_enrol(&req, &state, StatusCode::OK, &user, &e, return_to, None).await
}

fn stale(req: &HttpRequest, state: &Core) -> HttpResponse {
    let locale = http::locale(req, state);
    let body = templates_mfa::notice(
        locale,
        &state.cfg.ui.product_name,
        "mfa.stale.title",
        locale.t("mfa.stale"),
        (mfa::ENROL_PATH, locale.t("mfa.stale.again")),
        true,
    );
    page(req, StatusCode::CONFLICT, body, None)
}

async fn enrol_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<EnrolForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let Some((session, user)) = own.0 else {
        return Ok(to_login(mfa::ENROL_PATH));
    };
    let return_to = form.return_to.as_deref().and_then(safe_local_path);
    let Some(pending_id) = form
        .pending_id
        .as_deref()
        .and_then(|p| Uuid::parse_str(p).ok())
    else {
        return Ok(stale(&req, &state));
    };
    let code = form.code.unwrap_or_default();
    let meta = http::request_meta(&req);
    match mfa::confirm_enrolment(&state, &user, &session, pending_id, &code, &meta).await? {
        ConfirmOutcome::Enabled { backup_codes } => Ok(render_codes(
            &req,
            &state,
            &backup_codes,
            true,
            return_to.unwrap_or("/account/mfa"),
        )),
        ConfirmOutcome::WrongCode(e) => {
            let key = if mfa::totp::parse_code(&code).is_none() {
                "mfa.code_format"
            } else {
                "mfa.code_wrong"
            };
            render_enrol(
                &req,
                &state,
                StatusCode::BAD_REQUEST,
                &user,
                &e,
                return_to,
                Some(key),
            )
            .await
        }
        ConfirmOutcome::Stale => Ok(stale(&req, &state)),
    }
}

fn render_codes(
    req: &HttpRequest,
    state: &Core,
    codes: &[String],
    enrolled: bool,
    continue_to: &str,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    let body = templates_mfa::backup_codes(
        locale,
        &state.cfg.ui.product_name,
        &templates_mfa::CodesView {
            csrf: &token.token,
            codes,
            enrolled,
            continue_to,
        },
    );
    page(req, StatusCode::OK, body, Some(token))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

fn confirm_page(
    req: &HttpRequest,
    state: &Core,
    keys: (&str, &str, &str),
    action: &str,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    let body = templates_mfa::confirm(
        locale,
        &state.cfg.ui.product_name,
        &token.token,
        keys.0,
        keys.1,
        action,
        keys.2,
    );
    page(req, StatusCode::OK, body, Some(token))
}

const REGENERATE_PATH: &str = "/account/mfa/backup-codes";
const DISABLE_PATH: &str = "/account/mfa/disable";

async fn regenerate_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let user = match gate(own, &state, REGENERATE_PATH).await? {
        Gate::Open(b) => b.1,
        Gate::Redirect(r) => return Ok(r),
    };
    if !mfa::is_enabled(&state, user.id).await? {
        return Ok(see_other("/account/mfa"));
    }
    Ok(confirm_page(
        &req,
        &state,
        ("mfa.regen.title", "mfa.regen.text", "mfa.regen.button"),
        REGENERATE_PATH,
    ))
}

async fn regenerate_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let user = match gate(own, &state, REGENERATE_PATH).await? {
        Gate::Open(b) => b.1,
        Gate::Redirect(r) => return Ok(r),
    };
    let codes = mfa::regenerate_backup_codes(&state, &user, &http::request_meta(&req)).await?;
    Ok(render_codes(&req, &state, &codes, false, "/account/mfa"))
}

#[derive(Deserialize)]
pub struct DownloadForm {
    csrf_token: Option<String>,
    codes: Option<String>,
}

/// Returns the codes posted by the page that showed them as a text file. Nothing is
/// looked up: the codes exist in plain text only in that page (and this response), so
/// they cannot be fetched again later. Only well-formed codes are accepted.
async fn download(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<DownloadForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, user) = own.required()?;
    let fmt = CodeFormat::from_config(&state.cfg.mfa);
    let codes: Option<Vec<String>> = form
        .codes
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(|c| fmt.normalize(c).map(|n| fmt.display(&n)))
        .collect();
    let codes = codes
        .filter(|c| !c.is_empty() && c.len() <= state.cfg.mfa.backup_code_count as usize)
        .ok_or_else(|| AppError::bad_request("bad_request", "not a list of backup codes"))?;
    let locale = http::locale(&req, &state);
    let mut text = format!(
        "{} {} — {}\r\n\r\n",
        state.cfg.ui.product_name,
        locale.t("mfa.codes.file_header"),
        user.email
    );
    for c in &codes {
        text.push_str(&format!("[ ] {c}\r\n"));
    }
    text.push_str(&format!("\r\n{}\r\n", locale.t("mfa.codes.file_footer")));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"backup-codes.txt\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

async fn disable_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let user = match gate(own, &state, DISABLE_PATH).await? {
        Gate::Open(b) => b.1,
        Gate::Redirect(r) => return Ok(r),
    };
    if !mfa::is_enabled(&state, user.id).await? || state.cfg.mfa.required {
        return Ok(see_other("/account/mfa"));
    }
    Ok(confirm_page(
        &req,
        &state,
        (
            "mfa.disable.title",
            "mfa.disable.text",
            "mfa.disable.button",
        ),
        DISABLE_PATH,
    ))
}

async fn disable_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let user = match gate(own, &state, DISABLE_PATH).await? {
        Gate::Open(b) => b.1,
        Gate::Redirect(r) => return Ok(r),
    };
    if state.cfg.mfa.required {
        return Err(AppError::conflict(
            "mfa_required",
            "the organisation requires MFA; it cannot be turned off",
        ));
    }
    mfa::disable(&state, &user, &http::request_meta(&req)).await?;
    let locale = http::locale(&req, &state);
    let body = templates_mfa::notice(
        locale,
        &state.cfg.ui.product_name,
        "mfa.disable.title",
        locale.t("mfa.disabled.done"),
        ("/account", locale.t("mfa.back_to_account")),
        false,
    );
    Ok(page(&req, StatusCode::OK, body, None))
}
