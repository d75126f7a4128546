//! `GET/POST /login`, `GET/POST /logout`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authn::login::{self, PasswordOutcome};
use crate::authn::mfa;
use crate::core::Core;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};
use crate::ratelimit::Action;
use crate::sessions::{self, AuthContext};
use crate::util::safe_local_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login")
            .route(web::get().to(login_page))
            .route(web::post().to(login_submit)),
    )
    .service(
        web::resource("/logout")
            .route(web::get().to(logout_page))
            .route(web::post().to(logout_submit)),
    )
    .configure(super::mfa::routes::routes)
    .configure(super::passkeys::routes::routes);
}

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    /// Pre-fills the login (OIDC `login_hint`).
    login_hint: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    csrf_token: Option<String>,
    return_to: Option<String>,
}

/// Renders the login form with a fresh CSRF token (and its cookie when new), and the
/// upstream providers offered.
fn render_login(
    req: &HttpRequest,
    state: &Core,
    status: actix_web::http::StatusCode,
    username: &str,
    return_to: Option<&str>,
    error_key: Option<&str>,
    providers: &[(String, String)],
) -> HttpResponse {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    http::csp::allow_return_to(req, return_to);
    let page = templates::login(
        locale,
        &state.cfg.ui.product_name,
        &templates::LoginView {
            csrf: &token.token,
            username,
            return_to: return_to.and_then(safe_local_path),
            error: error_key.map(|k| locale.t(k)),
            passkeys: state.passkeys.webauthn().is_some(),
            providers,
        },
    );
    if state.passkeys.webauthn().is_some() {
        http::csp::allow_own_script(req);
    }
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    remember_locale(req, &mut res);
    res.body(page.into_string())
}

/// `?ui_locales=` on a page sets the language cookie so later pages follow it.
pub fn remember_locale(req: &HttpRequest, res: &mut actix_web::HttpResponseBuilder) {
    if let Some(l) = crate::i18n::query_param(req.query_string(), "ui_locales")
        .and_then(|v| crate::i18n::Locale::from_ui_locales(&v))
    {
        res.cookie(
            actix_web::cookie::Cookie::build(crate::i18n::LANG_COOKIE, l.tag())
                .path("/")
                .same_site(actix_web::cookie::SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(365))
                .finish(),
        );
    }
}

async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<LoginQuery>,
) -> AppResult<HttpResponse> {
    let providers = crate::federation::providers::offered(&state).await?;
    Ok(render_login(
        &req,
        &state,
        actix_web::http::StatusCode::OK,
        q.login_hint
            .as_deref()
            .map(|h| h.trim())
            .filter(|h| h.len() <= 256)
            .unwrap_or(""),
        q.return_to.as_deref(),
        None,
        &providers,
    ))
}

async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    // The limits, in this order. A 429 only ever comes *instead of* looking at a
    // password, never after one was checked, so it cannot hide a failure from the
    // account's lockout (the main defence against guessing): every attempt that
    // reaches an account is counted and audited there first.
    // 1. `login_ip`: a generous ceiling on every attempt from this address, before
    //    anything costly (argon2) — a flood, not a colleague's sign-in.
    // 2. `login_ip_failures`: an address that failed too often lately is refused
    //    before its attempt reaches any account (asked, not spent: successes cost
    //    nothing).
    // 3. `login_account`: per login name, likewise before the account.
    // 4. The account step counts the attempt on the account (lockout) and records it,
    //    whatever the outcome; only then is a failure charged to the address.
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::LoginIp, meta.ip.as_deref())?;
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let username = form.username.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let return_to = form.return_to.as_deref().and_then(safe_local_path);
    let providers = crate::federation::providers::offered(&state).await?;
    let fail = |key: &str| {
        render_login(
            &req,
            &state,
            actix_web::http::StatusCode::UNAUTHORIZED,
            &username,
            return_to,
            Some(key),
            &providers,
        )
    };
    if username.trim().is_empty() || password.is_empty() {
        return Ok(fail("login.missing"));
    }
    state.limits.check_login_failures(meta.ip.as_deref())?;
    state
        .limits
        .check(Action::LoginAccount, &login::normalize_login(&username))?;
    let user = match login::password_step(&state, &username, &password, &meta).await? {
        PasswordOutcome::Verified(user) => user,
        PasswordOutcome::Failed => {
            state.limits.login_failed(meta.ip.as_deref());
            return Ok(fail("login.failed"));
        }
        PasswordOutcome::Locked => {
            state.limits.login_failed(meta.ip.as_deref());
            return Ok(fail("login.locked"));
        }
    };
    // MFA: no session yet; a half-finished sign-in bound to this browser's cookie.
    if mfa::is_enabled(&state, user.id).await? {
        let cookie = mfa::challenge::begin(&state, &user, &username, return_to, None).await?;
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, mfa::SECOND_STEP_PATH))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(cookie)
            .finish());
    }
    // A new session id on every sign-in (no fixation); the previous one, if any, ends.
    if let Some((old, _)) = http::current_session(&req, &state).await? {
        sessions::end(&state, old.id, "replaced").await?;
    }
    let (_, token) =
        login::finish(&state, &user, &AuthContext::password(), &meta, &username).await?;
    // mfa.required: users without MFA enrol first.
    let target = return_to.unwrap_or("/account");
    let target = mfa::after_sign_in(&state, &user, target)
        .await?
        .unwrap_or_else(|| target.to_string());
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(crate::http::cookies::session_cookie(&state, token))
        .finish())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}

async fn logout_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let locale = http::locale(&req, &state);
    let product = &state.cfg.ui.product_name;
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    let Some((session, _)) = http::current_session(&req, &state).await? else {
        return Ok(res.body(templates::logged_out(locale, product).into_string()));
    };
    // Signing out walks the SAML service providers of this session (redirects).
    crate::saml::slo::allow_chain_in_form_action(&req, &state, session.id).await?;
    let token = csrf::issue(&req, &state);
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    Ok(res.body(templates::logout_confirm(locale, product, &token.token).into_string()))
}

async fn logout_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LogoutForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let locale = http::locale(&req, &state);
    let product = state.cfg.ui.product_name.clone();
    let done = move || {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(templates::logged_out(locale, &product).into_string())
    };
    let mut res = match http::current_session(&req, &state).await? {
        Some((session, _)) => {
            sessions::end(&state, session.id, "logout").await?;
            // SAML service providers that took part are told front-channel.
            crate::saml::slo::start_chain(&state, session.id, done).await?
        }
        None => done(),
    };
    res.add_cookie(&crate::http::cookies::session_removal_cookie(&state))
        .map_err(crate::error::AppError::internal)?;
    Ok(res)
}
