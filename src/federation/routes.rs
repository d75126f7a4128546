//! `GET /login/federation/{slug}?return_to=…` (off to the upstream provider) and
//! `GET /login/federation/{slug}/callback` (back from it). Refusals are a page in the
//! user's language with a way back to the sign-in page; nothing changes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{Callback, Failure};
use crate::audit::Actor;
use crate::error::AppResult;
use crate::http::see_other;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates, OwnSession};
use crate::ratelimit::Action;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/federation/{slug}", web::get().to(start))
        .route("/login/federation/{slug}/callback", web::get().to(callback))
        .route(ACCOUNT_PATH, web::get().to(account_page))
        .route("/account/linked-logins/{slug}/link", web::post().to(link))
        .route(
            "/account/linked-logins/{slug}/unlink",
            web::post().to(unlink),
        );
}

/// The account page of linked logins.
pub const ACCOUNT_PATH: &str = "/account/linked-logins";

#[derive(Deserialize)]
struct StartQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `res` setting `cookie` too.
fn with_cookie(mut res: HttpResponse, cookie: actix_web::cookie::Cookie<'static>) -> HttpResponse {
    // Adding a cookie to a response only fails for an invalid header value, which a
    // cookie built here cannot be.
    let _ = res.add_cookie(&cookie);
    res
}

/// The refusal page.
fn failed(req: &HttpRequest, state: &AppState, f: &Failure) -> HttpResponse {
    let locale = http::locale(req, state);
    let status = match f {
        Failure::Upstream(_) => StatusCode::BAD_GATEWAY,
        Failure::NoProvider => StatusCode::NOT_FOUND,
        Failure::AccountUnusable | Failure::UnknownAccount | Failure::Denied => {
            StatusCode::FORBIDDEN
        }
        Failure::LinkedElsewhere => StatusCode::CONFLICT,
        Failure::BadState | Failure::InvalidToken(_) => StatusCode::BAD_REQUEST,
    };
    let body = templates::error(
        locale,
        &state.cfg.ui.product_name,
        status.as_u16(),
        locale.t(f.key()),
        Some("/login"),
    );
    let mut res = templates::page_response(
        status,
        locale,
        &state.cfg.ui.product_name,
        locale.t("federation.title"),
        body,
        None,
    );
    let _ = res.add_cookie(&super::removal_cookie(state));
    res
}

async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::LoginIp, meta.ip.as_deref())?;
    let q = web::Query::<StartQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(StartQuery { return_to: None });
    Ok(
        match super::start(&state, &slug, q.return_to.as_deref(), None).await? {
            Ok((url, cookie)) => with_cookie(see_other(&url), cookie),
            Err(f) => failed(&req, &state, &f),
        },
    )
}

async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::LoginIp, meta.ip.as_deref())?;
    let q = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(CallbackQuery {
            code: None,
            state: None,
            error: None,
        });
    let cookie = req.cookie(super::COOKIE);
    let current = http::current_session(&req, &state).await?.map(|(s, _)| s);
    let outcome = super::finish(
        &state,
        &slug,
        Callback {
            cookie: cookie.as_ref().map(|c| c.value()),
            code: q.code.as_deref(),
            state: q.state.as_deref(),
            error: q.error.as_deref(),
        },
        current.as_ref(),
        &meta,
    )
    .await?;
    Ok(match outcome {
        Ok(done) => {
            let target = done.return_to.unwrap_or_else(|| "/account".into());
            let mut res = with_cookie(see_other(&target), super::removal_cookie(&state));
            if let Some(token) = done.session_token {
                res = with_cookie(res, crate::http::cookies::session_cookie(&state, token));
            }
            res
        }
        Err(f) => failed(&req, &state, &f),
    })
}

#[derive(Deserialize)]
struct PageQuery {
    done: Option<String>,
}

/// `/account/linked-logins`: the user's upstream accounts (unlink), and the providers
/// they can link (a recent password first). Refused in a support session.
async fn account_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
) -> AppResult<HttpResponse> {
    let Some((_, user)) = own.0 else {
        return Ok(crate::account::to_login(ACCOUNT_PATH));
    };
    let q = web::Query::<PageQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(PageQuery { done: None });
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    let links = super::links_of(&state, user.id).await?;
    let offered = super::providers::offered(&state).await?;
    // The link forms lead, through a redirect, to the upstreams' sign-in (CSP
    // form-action governs redirects after a form's submission).
    for issuer in super::providers::offered_issuers(&state).await? {
        http::csp::allow_form_target(&req, &issuer);
    }
    let notice = match q.done.as_deref() {
        Some("linked") => Some(locale.t("federation.linked")),
        Some("unlinked") => Some(locale.t("federation.unlinked")),
        _ => None,
    };
    let body = templates::linked_logins(locale, &token.token, &links, &offered, notice, |t| {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    });
    Ok(templates::page_response(
        StatusCode::OK,
        locale,
        &state.cfg.ui.product_name,
        locale.t("federation.account_title"),
        body,
        token.set_cookie,
    ))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// Starts linking an upstream account to the signed-in user.
async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    slug: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (session, _) = match crate::account::sensitive_gate(own, &state, ACCOUNT_PATH).await? {
        Ok(ok) => ok,
        Err(to) => return Ok(see_other(&to)),
    };
    let back = format!("{ACCOUNT_PATH}?done=linked");
    Ok(
        match super::start(&state, &slug, Some(&back), Some(&session)).await? {
            Ok((url, cookie)) => with_cookie(see_other(&url), cookie),
            Err(f) => failed(&req, &state, &f),
        },
    )
}

/// Unlinks one of the signed-in user's upstream accounts.
async fn unlink(
    req: HttpRequest,
    state: web::Data<AppState>,
    own: OwnSession,
    slug: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, user) = match crate::account::sensitive_gate(own, &state, ACCOUNT_PATH).await? {
        Ok(ok) => ok,
        Err(to) => return Ok(see_other(&to)),
    };
    let meta = http::request_meta(&req);
    super::unlink(&state, &user, &slug, &Actor::user(user.id), &meta).await?;
    Ok(see_other(&format!("{ACCOUNT_PATH}?done=unlinked")))
}
