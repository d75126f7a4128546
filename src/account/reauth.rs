//! `GET/POST /account/reauth?return_to=…`: the signed-in user enters the password
//! again before a sensitive change. Success is recorded on the session
//! (`sessions.reauth_at`) and as a security event; a wrong password counts towards the
//! lockout like one at sign-in.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::to_login;
use crate::authn::login::{self, result, Check};
use crate::authn::mfa;
use crate::core::Core;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates_mfa, OwnSession};
use crate::util::safe_local_path;

pub const PATH: &str = "/account/reauth";

/// The re-authentication page, coming back to `return_to` afterwards.
pub fn path(return_to: &str) -> String {
    format!(
        "{PATH}?return_to={}",
        percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
    )
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .route(web::get().to(reauth_page))
            .route(web::post().to(reauth_submit)),
    );
}

#[derive(Deserialize)]
struct ReauthQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct ReauthForm {
    csrf_token: Option<String>,
    password: Option<String>,
    return_to: Option<String>,
}

fn render(
    req: &HttpRequest,
    state: &Core,
    status: StatusCode,
    email: &str,
    return_to: Option<&str>,
    error_key: Option<&str>,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    http::csp::allow_return_to(req, return_to);
    let body = templates_mfa::reauth(
        locale,
        &state.cfg.ui.product_name,
        &templates_mfa::ReauthView {
            csrf: &token.token,
            email,
            return_to,
            error: error_key.map(|k| locale.t(k)),
        },
    );
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    crate::authn::routes::remember_locale(req, &mut res);
    res.body(body.into_string())
}

async fn reauth_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    q: web::Query<ReauthQuery>,
) -> AppResult<HttpResponse> {
    let return_to = q.return_to.as_deref().and_then(safe_local_path);
    let Some((_, user)) = own.0 else {
        return Ok(to_login(&path(return_to.unwrap_or("/account"))));
    };
    Ok(render(
        &req,
        &state,
        StatusCode::OK,
        &user.email,
        return_to,
        None,
    ))
}

async fn reauth_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<ReauthForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let return_to = form.return_to.as_deref().and_then(safe_local_path);
    let Some((session, user)) = own.0 else {
        return Ok(to_login(&path(return_to.unwrap_or("/account"))));
    };
    let password = form.password.unwrap_or_default();
    let meta = http::request_meta(&req);
    // One counted attempt, like at sign-in: while the account is locked the check's
    // result is not used, so right and wrong get the same answer.
    let (code, key) = match login::counted_check(&state, &user, &password).await? {
        Check::Right => {
            mfa::record_reauth(&state, &session, &meta).await?;
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, return_to.unwrap_or("/account")))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish());
        }
        Check::Wrong { locked: true } => (result::NOW_LOCKED, "reauth.failed"),
        Check::Wrong { locked: false } => (result::REAUTH_BAD_PASSWORD, "reauth.failed"),
        Check::Refused { .. } | Check::Inactive => (result::LOCKED, "login.locked"),
    };
    login::record(&state, Some(user.id), &user.email, code, &meta, None).await?;
    Ok(render(
        &req,
        &state,
        StatusCode::UNAUTHORIZED,
        &user.email,
        return_to,
        Some(key),
    ))
}
