//! The second sign-in step: `GET/POST /login/mfa` (authenticator code) and
//! `GET/POST /login/backup-code`. Both forms post a field named `code` plus
//! `csrf_token`. `GET /login/mfa?step_up=1&return_to=…` starts a step-up for the
//! current password-only session.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::backup_codes::CodeFormat;
use super::challenge::{self, Factor, Outcome};
use crate::core::Core;
use crate::error::AppResult;
use crate::http::see_other;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates_mfa};
use crate::ratelimit::Action;
use crate::util::safe_local_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login/mfa")
            .route(web::get().to(totp_page))
            .route(web::post().to(totp_submit)),
    )
    .service(
        web::resource("/login/backup-code")
            .route(web::get().to(backup_page))
            .route(web::post().to(backup_submit)),
    );
}

#[derive(Deserialize)]
struct StepQuery {
    step_up: Option<String>,
    return_to: Option<String>,
    /// A step-up that only a passkey satisfies (a phishing-resistant sign-in).
    passkey: Option<String>,
}

/// Which second factors the page offers.
#[derive(Clone, Copy)]
struct Offer {
    passkey: bool,
    totp: bool,
    backup: bool,
}

impl Offer {
    /// What `user_id` has; `passkey_only` for a step-up that needs a passkey.
    async fn of(state: &Core, user_id: uuid::Uuid, passkey_only: bool) -> AppResult<Offer> {
        let passkey = crate::authn::passkeys::view::has_usable(state, user_id).await?;
        let totp = !passkey_only && super::has_totp(state, user_id).await?;
        let backup = !passkey_only && state.store.count_unused_backup_codes(user_id).await? > 0;
        Ok(Offer {
            passkey,
            totp,
            backup,
        })
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: Option<String>,
    csrf_token: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn render_step(
    req: &HttpRequest,
    state: &Core,
    status: StatusCode,
    factor: Factor,
    error_key: Option<&str>,
    step_up: bool,
    offer: Offer,
    challenge_cookie: Option<Cookie<'static>>,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let token = csrf::issue(req, state);
    let product = &state.cfg.ui.product_name;
    if offer.passkey {
        http::csp::allow_own_script(req);
    }
    let view = templates_mfa::SecondStepView {
        csrf: &token.token,
        error: error_key.map(|k| locale.t(k)),
        step_up,
        passkey: offer.passkey,
        totp: offer.totp,
        backup: offer.backup,
    };
    let page = match factor {
        Factor::Totp => templates_mfa::second_step_totp(locale, product, &view),
        Factor::BackupCode => {
            let fmt = CodeFormat::from_config(&state.cfg.mfa);
            let example = fmt.display(&"x".repeat(state.cfg.mfa.backup_code_length as usize));
            templates_mfa::second_step_backup(locale, product, &view, &example)
        }
    };
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    if let Some(c) = challenge_cookie {
        res.cookie(c);
    }
    res.body(page.into_string())
}

/// A dead end with a message and a link back to sign-in; drops the challenge cookie.
fn start_again(req: &HttpRequest, state: &Core, message_key: &str) -> HttpResponse {
    let locale = http::locale(req, state);
    let page = templates_mfa::notice(
        locale,
        &state.cfg.ui.product_name,
        "mfa.expired.title",
        locale.t(message_key),
        ("/login", locale.t("mfa.login_again")),
        true,
    );
    HttpResponse::Unauthorized()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(challenge::removal_cookie(state))
        .body(page.into_string())
}

async fn page(
    req: HttpRequest,
    state: &Core,
    factor: Factor,
    passkey_only: bool,
) -> AppResult<HttpResponse> {
    Ok(match challenge::current(&req, state).await? {
        None => start_again(&req, state, "mfa.no_challenge"),
        Some(ch) => {
            http::csp::allow_return_to(&req, ch.return_to.as_deref());
            let offer = Offer::of(state, ch.user_id, passkey_only).await?;
            render_step(
                &req,
                state,
                StatusCode::OK,
                factor,
                None,
                ch.session_id.is_some(),
                offer,
                None,
            )
        }
    })
}

async fn totp_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<StepQuery>,
) -> AppResult<HttpResponse> {
    let passkey_only = q.passkey.as_deref() == Some("1");
    if q.step_up.as_deref() == Some("1") {
        return step_up(req, &state, q.return_to.as_deref(), passkey_only).await;
    }
    page(req, &state, Factor::Totp, passkey_only).await
}

async fn backup_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    page(req, &state, Factor::BackupCode, false).await
}

/// Starts a step-up for the current session (see [`super::step_up_path`]).
async fn step_up(
    req: HttpRequest,
    state: &Core,
    return_to: Option<&str>,
    passkey_only: bool,
) -> AppResult<HttpResponse> {
    let return_to = return_to.and_then(safe_local_path).unwrap_or("/account");
    let Some((session, user)) = http::current_session(&req, state).await? else {
        return Ok(crate::account::to_login(return_to));
    };
    if passkey_only {
        // Only a passkey sign-in will do (the application or the policy asked).
        if session.acr == crate::sessions::ACR_PHR {
            return Ok(see_other(return_to));
        }
        if !crate::authn::passkeys::view::has_usable(state, user.id).await? {
            return Ok(see_other(&crate::authn::passkeys::enrol_path(return_to)));
        }
    } else if super::session_has_mfa(&session) {
        return Ok(see_other(return_to));
    }
    if !super::is_enabled(state, user.id).await? {
        return Ok(see_other(&super::enrol_path(return_to)));
    }
    let cookie =
        challenge::begin(state, &user, &user.email, Some(return_to), Some(session.id)).await?;
    http::csp::allow_return_to(&req, Some(return_to));
    let offer = Offer::of(state, user.id, passkey_only).await?;
    Ok(render_step(
        &req,
        state,
        StatusCode::OK,
        Factor::Totp,
        None,
        true,
        offer,
        Some(cookie),
    ))
}

async fn totp_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    submit(req, &state, form.into_inner(), Factor::Totp).await
}

async fn backup_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    submit(req, &state, form.into_inner(), Factor::BackupCode).await
}

async fn submit(
    req: HttpRequest,
    state: &AppState,
    form: CodeForm,
    factor: Factor,
) -> AppResult<HttpResponse> {
    let meta = http::request_meta(&req);
    state.limits.check_ip(Action::MfaIp, meta.ip.as_deref())?;
    csrf::verify(&req, state, form.csrf_token.as_deref())?;
    let Some(ch) = challenge::current(&req, state).await? else {
        return Ok(start_again(&req, state, "mfa.no_challenge"));
    };
    state
        .limits
        .check(Action::MfaAccount, &ch.user_id.to_string())?;
    let current = http::current_session(&req, state).await?.map(|(s, _)| s);
    let code = form.code.unwrap_or_default();
    let outcome = challenge::submit(state, &ch, factor, &code, current.as_ref(), &meta).await?;
    Ok(match outcome {
        Outcome::Done {
            session_token,
            return_to,
            backup_codes_left,
        } => {
            let target = return_to.as_deref().unwrap_or("/account");
            let mut res = match backup_codes_left {
                None => {
                    let mut b = HttpResponse::SeeOther();
                    b.insert_header((header::LOCATION, target));
                    b
                }
                Some(_) => {
                    let mut b = HttpResponse::Ok();
                    b.content_type("text/html; charset=utf-8");
                    b
                }
            };
            res.insert_header((header::CACHE_CONTROL, "no-store"))
                .cookie(challenge::removal_cookie(state));
            if let Some(token) = session_token {
                res.cookie(crate::http::cookies::session_cookie(state, token));
            }
            match backup_codes_left {
                None => res.finish(),
                Some(left) => {
                    let locale = http::locale(&req, state);
                    let page = templates_mfa::backup_signed_in(
                        locale,
                        &state.cfg.ui.product_name,
                        left,
                        target,
                    );
                    res.body(page.into_string())
                }
            }
        }
        Outcome::Wrong { malformed } => {
            let key = match (factor, malformed) {
                (Factor::Totp, true) => "mfa.code_format",
                (Factor::Totp, false) => "mfa.code_wrong",
                (Factor::BackupCode, true) => "mfa.backup_format",
                (Factor::BackupCode, false) => "mfa.backup_wrong",
            };
            http::csp::allow_return_to(&req, ch.return_to.as_deref());
            let offer = Offer::of(state, ch.user_id, false).await?;
            render_step(
                &req,
                state,
                StatusCode::UNAUTHORIZED,
                factor,
                Some(key),
                ch.session_id.is_some(),
                offer,
                None,
            )
        }
        Outcome::Dropped => start_again(&req, state, "mfa.too_many"),
        Outcome::Gone => start_again(&req, state, "mfa.no_challenge"),
    })
}
