//! Setting and changing one's own password:
//! - `/account/invitation?token=…` — a pending user (created by an admin without a
//!   password) sets the first password from the invitation link. The link is a MAC
//!   over the user, an expiry and the current password state, so it stops working
//!   once used;
//! - `/account/password` — a signed-in user changes the password (required before any
//!   SSO when an admin asked for it).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::audit::{self, action, Actor};
use crate::authn::login::{self, result, Check};
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};
use crate::i18n::Locale;
use crate::users::{self, invitation, NewPasswordRefused};
use crate::util::safe_local_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/account/invitation")
            .route(web::get().to(invitation_page))
            .route(web::post().to(invitation_submit)),
    )
    .service(
        web::resource("/account/password")
            .route(web::get().to(change_page))
            .route(web::post().to(change_submit)),
    );
}

/// What a password form shows.
struct Form<'a> {
    title_key: &'a str,
    action: &'a str,
    csrf: &'a str,
    hidden: &'a [(&'a str, &'a str)],
    /// Ask for the current password too.
    current: bool,
    error: Option<&'a str>,
}

fn page(locale: Locale, product: &str, f: &Form) -> Markup {
    let (title_key, action, csrf, hidden, current, error) =
        (f.title_key, f.action, f.csrf, f.hidden, f.current, f.error);
    let body = html! {
        h1 { (locale.t(title_key)) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action=(action) {
            input type="hidden" name="csrf_token" value=(csrf);
            @for (k, v) in hidden { input type="hidden" name=(k) value=(v); }
            @if current {
                label for="current_password" { (locale.t("password.current")) }
                input #current_password type="password" name="current_password" autocomplete="current-password" required;
            }
            label for="new_password" { (locale.t("password.new")) }
            input #new_password type="password" name="new_password" autocomplete="new-password" minlength="8" maxlength="1024" required;
            label for="confirm_password" { (locale.t("password.confirm")) }
            input #confirm_password type="password" name="confirm_password" autocomplete="new-password" maxlength="1024" required;
            button type="submit" { (locale.t("password.submit")) }
        }
    };
    templates::layout(locale, product, locale.t(title_key), body)
}

fn html_response(
    status: actix_web::http::StatusCode,
    body: Markup,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie {
        r.cookie(c);
    }
    r.body(body.into_string())
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

async fn invitation_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    invitation::check(&state, &q.token).await?;
    let locale = http::locale(&req, &state);
    let t = csrf::issue(&req, &state);
    let p = page(
        locale,
        &state.cfg.ui.product_name,
        &Form {
            title_key: "password.invitation_title",
            action: "/account/invitation",
            csrf: &t.token,
            hidden: &[("token", &q.token)],
            current: false,
            error: None,
        },
    );
    Ok(html_response(
        actix_web::http::StatusCode::OK,
        p,
        t.set_cookie,
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: Option<String>,
    token: Option<String>,
    current_password: Option<String>,
    new_password: String,
    confirm_password: String,
    return_to: Option<String>,
}

/// What the form says when a new password was not taken.
fn refusal_text(locale: Locale, refused: NewPasswordRefused) -> String {
    match refused {
        NewPasswordRefused::Mismatch => locale.t("password.mismatch").to_string(),
        NewPasswordRefused::Policy(e) => policy_error(locale, &e),
    }
}

/// The policy message for a rejected new password, in the user's language.
fn policy_error(locale: Locale, e: &AppError) -> String {
    let details: Vec<&str> = e.fields.iter().map(|f| f.message.as_str()).collect();
    format!("{} ({})", locale.t("password.weak"), details.join("; "))
}

async fn invitation_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let token = form.token.clone().unwrap_or_default();
    let user = invitation::check(&state, &token).await?;
    let locale = http::locale(&req, &state);
    let again = |msg: String| {
        let t = csrf::issue(&req, &state);
        let p = page(
            locale,
            &state.cfg.ui.product_name,
            &Form {
                title_key: "password.invitation_title",
                action: "/account/invitation",
                csrf: &t.token,
                hidden: &[("token", &token)],
                current: false,
                error: Some(&msg),
            },
        );
        html_response(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            p,
            t.set_cookie,
        )
    };
    let (new, confirm) = (&form.new_password, &form.confirm_password);
    let hash = match users::hash_new_password(&state, &user, new, confirm).await? {
        Ok(hash) => hash,
        Err(refused) => return Ok(again(refusal_text(locale, refused))),
    };
    // Single use even under a race: only a pending user without a password gets one.
    if !state
        .store
        .set_first_password(user.id, &hash, state.clock.now())
        .await?
    {
        return Err(AppError::bad_request(
            "invalid_invitation",
            "this invitation link is invalid, used or expired",
        ));
    }
    crate::users::actions::credentials_changed(
        &state,
        user.id,
        None,
        "password_set_from_invitation",
    )
    .await?;
    audit::record(
        &state,
        &Actor::user(user.id),
        Some(user.id),
        action::PASSWORD_CHANGED,
        &http::request_meta(&req),
        serde_json::json!({ "via": "invitation" }),
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .finish())
}

async fn change_page(
    req: HttpRequest,
    own: http::OwnSession,
    state: web::Data<AppState>,
    q: web::Query<ReturnTo>,
) -> AppResult<HttpResponse> {
    let Some((_, _user)) = own.0 else {
        return Ok(crate::account::to_login("/account/password"));
    };
    let locale = http::locale(&req, &state);
    let t = csrf::issue(&req, &state);
    let ret = q
        .return_to
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/account");
    http::csp::allow_return_to(&req, Some(ret));
    let p = page(
        locale,
        &state.cfg.ui.product_name,
        &Form {
            title_key: "password.change_title",
            action: "/account/password",
            csrf: &t.token,
            hidden: &[("return_to", ret)],
            current: true,
            error: None,
        },
    );
    Ok(html_response(
        actix_web::http::StatusCode::OK,
        p,
        t.set_cookie,
    ))
}

#[derive(Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

async fn change_submit(
    req: HttpRequest,
    own: http::OwnSession,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let Some((session, user)) = own.0 else {
        return Ok(crate::account::to_login("/account/password"));
    };
    let locale = http::locale(&req, &state);
    let ret = form
        .return_to
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/account")
        .to_string();
    let again = |msg: String| {
        let t = csrf::issue(&req, &state);
        http::csp::allow_return_to(&req, Some(&ret));
        let p = page(
            locale,
            &state.cfg.ui.product_name,
            &Form {
                title_key: "password.change_title",
                action: "/account/password",
                csrf: &t.token,
                hidden: &[("return_to", &ret)],
                current: true,
                error: Some(&msg),
            },
        );
        html_response(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            p,
            t.set_cookie,
        )
    };
    // The current password is one counted attempt, like at sign-in: wrong ones count
    // towards the lockout and are recorded; while the account is locked, right and
    // wrong get the same answer.
    let current = form.current_password.clone().unwrap_or_default();
    let (code, key) = match login::counted_check(&state, &user, &current).await? {
        Check::Right => (None, ""),
        Check::Wrong { locked: true } => (Some(result::NOW_LOCKED), "password.current_wrong"),
        Check::Wrong { locked: false } => {
            (Some(result::CHANGE_BAD_PASSWORD), "password.current_wrong")
        }
        Check::Refused { .. } | Check::Inactive => (Some(result::LOCKED), "login.locked"),
    };
    if let Some(code) = code {
        let meta = http::request_meta(&req);
        login::record(&state, Some(user.id), &user.email, code, &meta, None).await?;
        return Ok(again(locale.t(key).to_string()));
    }
    let (new, confirm) = (&form.new_password, &form.confirm_password);
    let hash = match users::hash_new_password(&state, &user, new, confirm).await? {
        Ok(hash) => hash,
        Err(refused) => return Ok(again(refusal_text(locale, refused))),
    };
    let now = state.clock.now();
    state.store.set_password_hash(user.id, &hash, now).await?;
    state
        .store
        .set_password_change_required(user.id, false, now)
        .await?;
    // Every other session ends (this one continues) and every grant is revoked,
    // offline and device grants included.
    crate::users::actions::credentials_changed(
        &state,
        user.id,
        Some(session.id),
        "password_changed",
    )
    .await?;
    audit::record(
        &state,
        &Actor::user(user.id),
        Some(user.id),
        action::PASSWORD_CHANGED,
        &http::request_meta(&req),
        serde_json::json!({ "via": "account" }),
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, ret))
        .finish())
}
