//! `/account/support-grants` (the user's own grants) and `/support/redeem/{token}`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{IssueRequest, READONLY_SCOPE};
use crate::audit::Actor;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::http::{self, csrf, templates, OwnSession};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/account/support-grants")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/account/support-grants/{id}/revoke").route(web::post().to(revoke)))
    .service(
        web::resource("/support/redeem/{token}")
            .route(web::get().to(redeem_page))
            .route(web::post().to(redeem_submit)),
    )
    .service(web::resource("/support/requests/{id}").route(web::get().to(approval_page)))
    .service(
        web::resource("/support/requests/{id}/decision").route(web::post().to(approval_submit)),
    )
    .service(web::resource("/support/requests/{id}/redeem").route(web::post().to(redeem_request)));
}

/// The approval page an admin reaches from the notification: it needs an admin's own
/// sign-in; the link alone decides nothing.
async fn approval_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let Some((_, admin)) = own.0 else {
        return Ok(crate::account::to_login(&format!(
            "/support/requests/{}",
            *id
        )));
    };
    if !admin.has_role(super::requests::ADMIN_ROLE) {
        return Err(AppError::forbidden(
            "not_admin",
            "only administrators can decide support requests",
        ));
    }
    let r = state
        .store
        .get_request(*id)
        .await?
        .filter(|r| r.org_id == state.org.id)
        .ok_or_else(|| AppError::not_found("no such support request"))?;
    let user = state.store.get_user(r.user_id).await?;
    let engineer = state.store.get_user(r.support_user_id).await?;
    let locale = http::locale(&req, &state);
    let t = csrf::issue(&req, &state);
    let body = html! {
        h1 { (locale.t("support.redeem_title")) }
        p { strong { (engineer.display_name) } " → " strong #request-user { (user.display_name) " <" (user.email) ">" } }
        p #request-reason { (r.reason) }
        p { (r.status) }
        @if r.status == "pending" {
            form method="post" action={ "/support/requests/" (r.id) "/decision" } {
                input type="hidden" name="csrf_token" value=(t.token);
                button type="submit" name="decision" value="approve" { (locale.t("consent.approve")) }
                button type="submit" name="decision" value="deny" { (locale.t("consent.deny")) }
            }
        }
    };
    Ok(page(&state, locale, body, t.set_cookie))
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf_token: Option<String>,
    decision: String,
}

async fn approval_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<DecisionForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, admin) = own.required()?;
    if !admin.has_role(super::requests::ADMIN_ROLE) {
        return Err(AppError::forbidden(
            "not_admin",
            "only administrators can decide support requests",
        ));
    }
    let approve = form.decision == "approve";
    super::requests::decide(
        &state,
        *id,
        approve,
        &format!("user:{}", admin.email),
        &Actor::admin(Some(admin.id)),
        &http::request_meta(&req),
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/support/requests/{}", *id)))
        .finish())
}

/// The requesting engineer opens an approved request (no link: bound to them).
async fn redeem_request(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    redeem(&req, own, &state, form, super::Via::Request(*id)).await
}

/// Opens a support session by `via` for the signed-in engineer (CSRF-checked) and
/// sends the browser to the grant's landing page with the new session cookie.
async fn redeem(
    req: &HttpRequest,
    own: OwnSession,
    state: &AppState,
    form: web::Form<CsrfForm>,
    via: super::Via<'_>,
) -> AppResult<HttpResponse> {
    csrf::verify(req, state, form.csrf_token.as_deref())?;
    let (session, engineer) = own.required()?;
    let (_, cookie, land) =
        super::redeem(state, &session, &engineer, via, &http::request_meta(req)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, land))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(crate::http::cookies::session_cookie(state, cookie))
        .finish())
}

/// A support page: localised frame, no caching, and the CSRF cookie when new.
fn page(
    state: &Core,
    locale: crate::i18n::Locale,
    body: maud::Markup,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    templates::page_response(
        actix_web::http::StatusCode::OK,
        locale,
        &state.cfg.ui.product_name,
        locale.t("support.redeem_title"),
        body,
        cookie,
    )
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf_token: Option<String>,
    target: Option<String>,
    /// Comma- or space-separated client ids.
    clients: Option<String>,
    readonly: Option<String>,
    lifetime_secs: Option<i64>,
}

async fn create(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    form: web::Form<CreateForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (session, user) = own.required()?;
    state.limits.check(
        crate::ratelimit::Action::SupportGrantUser,
        &user.id.to_string(),
    )?;
    let f = form.into_inner();
    let issued = super::issue(
        &state,
        &session,
        &user,
        IssueRequest {
            target: f.target,
            client_ids: f
                .clients
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            readonly: f
                .readonly
                .is_some_and(|v| v == "on" || v == "true" || v == "1"),
            lifetime_secs: f.lifetime_secs,
        },
        &http::request_meta(&req),
        http::locale(&req, &state),
    )
    .await?;
    if wants_json(&req) {
        return Ok(HttpResponse::Created()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(issued));
    }
    let locale = http::locale(&req, &state);
    let body = html! {
        h1 { (locale.t("support.redeem_title")) }
        p { code #support-link { (issued.link) } }
        p { (locale.t("support.until")) ": " (issued.expires_at.format("%Y-%m-%d %H:%M UTC")) }
        p { a href="/account/support-grants" { (locale.t("support.back")) } }
    };
    Ok(HttpResponse::Created()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            templates::layout(
                locale,
                &state.cfg.ui.product_name,
                locale.t("support.redeem_title"),
                body,
            )
            .into_string(),
        ))
}

async fn list(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let Some((_, user)) = http::current_session(&req, &state).await? else {
        return Ok(crate::account::to_login("/account/support-grants"));
    };
    let mut views = Vec::new();
    for g in state.store.list_grants(user.id).await? {
        views.push(super::view(&state, &g).await?);
    }
    if wants_json(&req) {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(views));
    }
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    let body = html! {
        h1 { (locale.t("support.redeem_title")) }
        form method="post" action="/account/support-grants" {
            input type="hidden" name="csrf_token" value=(token.token);
            label for="target" { (locale.t("support.target")) }
            input #target type="url" name="target";
            label { input type="checkbox" name="readonly" value="on"; " " (locale.t("support.readonly")) }
            button type="submit" { (locale.t("support.submit")) }
        }
        table {
            tbody {
                @for v in &views {
                    tr {
                        td { (v.state) }
                        td { (v.created_at.format("%Y-%m-%d %H:%M")) }
                        td { (v.expires_at.format("%Y-%m-%d %H:%M")) }
                        td { (v.redeemed_by.clone().unwrap_or_default()) }
                        td {
                            @if v.state == "active" || v.state == "used" {
                                form method="post" action={ "/account/support-grants/" (v.id) "/revoke" } {
                                    input type="hidden" name="csrf_token" value=(token.token);
                                    button type="submit" { (locale.t("support.revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&state, locale, body, token.set_cookie))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

async fn revoke(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let (_, user) = own.required()?;
    super::revoke(
        &state,
        user.id,
        *id,
        &Actor::user(user.id),
        &http::request_meta(&req),
    )
    .await?;
    if wants_json(&req) {
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account/support-grants"))
        .finish())
}

async fn redeem_page(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let Some((session, engineer)) = own.0 else {
        return Ok(crate::account::to_login(&format!(
            "/support/redeem/{}",
            token.as_str()
        )));
    };
    let (g, user) = super::check_redeemer(
        &state,
        &session,
        &engineer,
        super::Via::Token(&token),
        &http::request_meta(&req),
    )
    .await?;
    let locale = http::locale(&req, &state);
    let t = csrf::issue(&req, &state);
    // Redeeming lands on the grant's page, which may be a registered app's.
    if let Some(target) = &g.target {
        http::csp::allow_form_target(&req, target);
    }
    let body = html! {
        h1 { (locale.t("support.redeem_title")) }
        p { (locale.t("support.redeem_confirm")) " " strong #support-user { (user.display_name) " <" (user.email) ">" } }
        @if g.readonly { p { (locale.t("support.readonly")) " (" (READONLY_SCOPE) ")" } }
        p { (locale.t("support.until")) ": " (g.expires_at.format("%Y-%m-%d %H:%M UTC")) }
        form method="post" {
            input type="hidden" name="csrf_token" value=(t.token);
            button type="submit" { (locale.t("support.submit")) }
        }
    };
    Ok(page(&state, locale, body, t.set_cookie))
}

async fn redeem_submit(
    req: HttpRequest,
    own: OwnSession,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> AppResult<HttpResponse> {
    redeem(&req, own, &state, form, super::Via::Token(&token)).await
}
