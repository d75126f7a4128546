//! The device flow's pages: the user's code entry, confirmation and decision at
//! `/device`, and the administrator's approval page at `/device/requests/{id}`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::clients::Client;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};
use crate::i18n::Locale;
use crate::notify::{self, Message, Recipient};
use crate::ratelimit::Action;
use crate::store::oidc::{DeviceAuthorization, DeviceUserDecision};
use crate::store::{Session, User};

use super::*;

/// The signed-in user who may answer device requests, or where to send the browser.
async fn device_user(
    req: &HttpRequest,
    state: &Core,
    back: &str,
) -> AppResult<Result<(Session, User), HttpResponse>> {
    let Some((session, user)) = http::current_session(req, state).await? else {
        return Ok(Err(crate::account::to_login(back)));
    };
    if session.impersonator_id.is_some() {
        return Err(AppError::forbidden(
            "impersonation_forbidden",
            "a device cannot be connected in a support session",
        ));
    }
    let gate = crate::authn::gate::before_sso(state, &user, &session, back, false).await?;
    if let Some(path) = gate {
        return Ok(Err(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()));
    }
    Ok(Ok((session, user)))
}

fn back_to(user_code: Option<&str>) -> String {
    match user_code {
        Some(c) => format!(
            "/device?user_code={}",
            percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "/device".into(),
    }
}

fn page(
    state: &Core,
    locale: Locale,
    status: actix_web::http::StatusCode,
    body: Markup,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    templates::page_response(
        status,
        locale,
        &state.cfg.ui.product_name,
        locale.t("device.title"),
        body,
        cookie,
    )
}

/// The user-code form, with an error line when the last code was refused.
fn entry_page(
    req: &HttpRequest,
    state: &Core,
    error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let t = csrf::issue(req, state);
    let body = html! {
        h1 { (locale.t("device.title")) }
        @if let Some(e) = error {
            p .error #device-error role="alert" { (locale.t(e)) }
        }
        p { (locale.t("device.enter")) }
        form method="post" action="/device" {
            input type="hidden" name="csrf_token" value=(t.token);
            label for="user_code" { (locale.t("device.code_label")) }
            input #user_code type="text" name="user_code" autocomplete="one-time-code"
                autocapitalize="characters" spellcheck="false" required;
            button type="submit" { (locale.t("device.continue")) }
        }
    };
    page(state, locale, status, body, t.set_cookie)
}

/// Looks a typed code up (rate-limited per user); None (and an audit event) when it
/// is unknown, answered already or expired.
async fn lookup(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    typed: &str,
) -> AppResult<Option<(DeviceAuthorization, Client)>> {
    state
        .limits
        .check(Action::DeviceUserCode, &user.id.to_string())?;
    let now = state.clock.now();
    let found = match normalize_user_code(typed) {
        Some(n) => state
            .store
            .find_device_by_user_code(&user_code_hash(state, &n))
            .await?
            .filter(|d| d.org_id == state.org.id),
        None => None,
    };
    let reason = match &found {
        None => "unknown_user_code",
        Some(d) if d.status != PENDING => "answered",
        Some(d) if d.expires_at <= now => "expired",
        Some(_) => "",
    };
    if let (Some(d), "") = (found, reason) {
        if let Some(c) = state
            .store
            .get_client(&d.client_id)
            .await?
            .filter(|c| !c.disabled)
        {
            return Ok(Some((d, c)));
        }
    }
    audit::record(
        state,
        &Actor::user(user.id),
        Some(user.id),
        action::REFUSED,
        &http::request_meta(req),
        serde_json::json!({ "reason": if reason.is_empty() { "client_disabled" } else { reason } }),
    )
    .await?;
    Ok(None)
}

fn confirm_page(
    req: &HttpRequest,
    state: &Core,
    user: &User,
    d: &DeviceAuthorization,
    client: &Client,
    typed: &str,
) -> HttpResponse {
    let locale = http::locale(req, state);
    let t = csrf::issue(req, state);
    let body = html! {
        h1 { (locale.t("device.title")) }
        p { strong #device-client { (client.name) } " " (locale.t("device.asks")) }
        p { (locale.t("device.account")) " " strong { (user.email) } }
        ul #device-scopes {
            @for s in d.scope.split_whitespace() {
                @let label = locale.t(&format!("scope.{s}"));
                li { @if label.is_empty() { (s) } @else { (label) } }
            }
        }
        @if client.requires_admin_approval {
            p #device-admin-note { (locale.t("device.needs_admin")) }
        }
        p { (locale.t("device.check_code")) " " code { (typed) } }
        form method="post" action="/device/decision" {
            input type="hidden" name="csrf_token" value=(t.token);
            input type="hidden" name="user_code" value=(typed);
            button type="submit" name="decision" value="approve" { (locale.t("consent.approve")) }
            button type="submit" name="decision" value="deny" { (locale.t("consent.deny")) }
        }
    };
    page(
        state,
        locale,
        actix_web::http::StatusCode::OK,
        body,
        t.set_cookie,
    )
}

/// `GET /device[?user_code=…]`: the code form, or (with a code) the confirmation.
pub async fn device_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let typed = crate::i18n::query_param(req.query_string(), "user_code");
    let (_, user) = match device_user(&req, &state, &back_to(typed.as_deref())).await? {
        Ok(v) => v,
        Err(redirect) => return Ok(redirect),
    };
    let Some(typed) = typed else {
        return Ok(entry_page(
            &req,
            &state,
            None,
            actix_web::http::StatusCode::OK,
        ));
    };
    show(&req, &state, &user, &typed).await
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    typed: &str,
) -> AppResult<HttpResponse> {
    match lookup(req, state, user, typed).await? {
        Some((d, c)) => Ok(confirm_page(req, state, user, &d, &c, typed)),
        None => Ok(entry_page(
            req,
            state,
            Some("device.bad_code"),
            actix_web::http::StatusCode::BAD_REQUEST,
        )),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    user_code: String,
}

/// `POST /device`: a typed code → the confirmation.
pub async fn device_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, user) = match device_user(&req, &state, &back_to(Some(&form.user_code))).await? {
        Ok(v) => v,
        Err(redirect) => return Ok(redirect),
    };
    show(&req, &state, &user, &form.user_code).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf_token: Option<String>,
    user_code: String,
    decision: String,
}

/// `POST /device/decision`: the user approves or denies.
pub async fn device_decision(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<DecisionForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (session, user) = match device_user(&req, &state, &back_to(Some(&form.user_code))).await? {
        Ok(v) => v,
        Err(redirect) => return Ok(redirect),
    };
    let Some((d, client)) = lookup(&req, &state, &user, &form.user_code).await? else {
        return Ok(entry_page(
            &req,
            &state,
            Some("device.bad_code"),
            actix_web::http::StatusCode::BAD_REQUEST,
        ));
    };
    let now = state.clock.now();
    let approve = form.decision == "approve";
    let status = match (approve, client.requires_admin_approval) {
        (false, _) => DENIED,
        (true, true) => AWAITING_ADMIN,
        (true, false) => APPROVED,
    };
    let expires_at = if status == AWAITING_ADMIN {
        now + Duration::seconds(state.cfg.oidc.device_admin_approval_secs)
    } else {
        d.expires_at
    };
    let decided = state
        .store
        .decide_device_by_user(
            d.id,
            &DeviceUserDecision {
                user_id: user.id,
                status: status.into(),
                auth_time: session.auth_time,
                amr: session.amr.clone(),
                acr: session.acr.clone(),
                expires_at,
            },
            now,
        )
        .await?;
    if !decided {
        return Ok(entry_page(
            &req,
            &state,
            Some("device.bad_code"),
            actix_web::http::StatusCode::BAD_REQUEST,
        ));
    }
    audit::record(
        &state,
        &Actor::user(user.id),
        Some(user.id),
        if approve {
            action::USER_APPROVED
        } else {
            action::USER_DENIED
        },
        &http::request_meta(&req),
        serde_json::json!({
            "device_request": d.id,
            "client_id": client.client_id,
            "scope": d.scope,
            "needs_admin": status == AWAITING_ADMIN,
        }),
    )
    .await?;
    if status == AWAITING_ADMIN {
        let link = format!("{}/device/requests/{}", state.cfg.issuer(), d.id);
        for a in crate::support::requests::admins(&state).await? {
            notify::send(
                &state,
                &Recipient::user(&a),
                Message::DeviceApprovalPending {
                    user_name: user.display_name.clone(),
                    app_name: client.name.clone(),
                    approve_link: link.clone(),
                },
            )
            .await?;
        }
    }
    let locale = http::locale(&req, &state);
    let key = match status {
        DENIED => "device.denied",
        AWAITING_ADMIN => "device.awaiting_admin",
        _ => "device.done",
    };
    let body = html! {
        h1 { (locale.t("device.title")) }
        p #device-result data-status=(status) { (locale.t(key)) }
    };
    Ok(page(
        &state,
        locale,
        actix_web::http::StatusCode::OK,
        body,
        None,
    ))
}

// ------------------------------------------------------------------ admin pages

/// The signed-in administrator (own session, not a support session), or where to send
/// the browser; a non-admin is refused and the refusal audited.
async fn device_admin(
    req: &HttpRequest,
    state: &Core,
    id: Uuid,
) -> AppResult<Result<User, HttpResponse>> {
    let back = format!("/device/requests/{id}");
    let Some((session, admin)) = http::current_session(req, state).await? else {
        return Ok(Err(crate::account::to_login(&back)));
    };
    let is_admin =
        session.impersonator_id.is_none() && admin.has_role(crate::support::requests::ADMIN_ROLE);
    if !is_admin {
        audit::record(
            state,
            &Actor::user(admin.id),
            None,
            action::REFUSED,
            &http::request_meta(req),
            serde_json::json!({ "device_request": id, "reason": "not_admin" }),
        )
        .await?;
        return Err(AppError::forbidden(
            "not_admin",
            "only administrators can approve devices",
        ));
    }
    if let Some(path) = crate::authn::mfa::sso_requirement(state, &admin, &session, &back).await? {
        return Ok(Err(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .finish()));
    }
    Ok(Ok(admin))
}

/// `GET /device/requests/{id}`: what the administrator is asked to approve.
pub async fn approval_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    if let Err(redirect) = device_admin(&req, &state, *id).await? {
        return Ok(redirect);
    }
    let d = load(&state, *id).await?;
    let user = state.store.get_user(d.user_id.unwrap_or_default()).await?;
    let client_name = app_name(&state, &d.client_id).await?;
    let now = state.clock.now();
    let open = d.status == AWAITING_ADMIN && d.expires_at > now;
    let shown_status = if d.status == AWAITING_ADMIN && !open {
        "expired"
    } else {
        d.status.as_str()
    };
    let locale = http::locale(&req, &state);
    let t = csrf::issue(&req, &state);
    let body = html! {
        h1 { (locale.t("device.approval_title")) }
        p { strong #device-client { (client_name) } }
        p #device-user { (user.display_name) " <" (user.email) ">" }
        p { (locale.t("device.scope")) " " code #device-scope { (d.scope) } }
        p { (locale.t("device.status")) " " span #device-status { (shown_status) } }
        @if open {
            form method="post" action={ "/device/requests/" (d.id) "/decision" } {
                input type="hidden" name="csrf_token" value=(t.token);
                button type="submit" name="decision" value="approve" { (locale.t("consent.approve")) }
                button type="submit" name="decision" value="deny" { (locale.t("consent.deny")) }
            }
        }
    };
    Ok(page(
        &state,
        locale,
        actix_web::http::StatusCode::OK,
        body,
        t.set_cookie,
    ))
}

#[derive(Deserialize)]
pub struct AdminDecisionForm {
    csrf_token: Option<String>,
    decision: String,
}

/// `POST /device/requests/{id}/decision`.
pub async fn approval_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<AdminDecisionForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let admin = match device_admin(&req, &state, *id).await? {
        Ok(a) => a,
        Err(redirect) => return Ok(redirect),
    };
    let d = decide_by_admin(
        &state,
        *id,
        form.decision == "approve",
        &format!("user:{}", admin.email),
        &Actor::admin(Some(admin.id)),
        &http::request_meta(&req),
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/device/requests/{}", d.id)))
        .finish())
}
