//! Organisation screens of the console: the block list (with CSV and XLSX download),
//! support (pending support and device requests, grants in force) and the policy.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{done, error_text, notice, step_up, table, Col, Console, ConsoleForm, Page};
use crate::admin::ops;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/app-blocks").route(web::get().to(blocks)))
        .service(web::resource("/admin/app-blocks/export").route(web::get().to(blocks_export)))
        .service(web::resource("/admin/support").route(web::get().to(support)))
        .service(
            web::resource("/admin/support/{kind}/{id}/{decision}")
                .route(web::post().to(support_decide)),
        )
        .service(
            web::resource("/admin/policy")
                .route(web::get().to(policy))
                .route(web::post().to(policy_save)),
        );
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn blocks(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let l = c.locale;
    let users = ops::block_list(&state, &c.ctx).await?;
    let page = Page::new(&req, &state);
    let body = html! {
        h1 { (l.t("console.blocks.title")) }
        p.downloads {
            a #blocks-csv href="/admin/app-blocks/export?format=csv" download { (l.t("console.blocks.csv")) }
            " "
            a #blocks-xlsx href="/admin/app-blocks/export?format=xlsx" download { (l.t("console.blocks.xlsx")) }
        }
        @if users.is_empty() { p { (l.t("console.blocks.none")) } }
        @else {
            (table("", &[Col::Text(l.t("console.members.name")), Col::Text(l.t("console.members.email_or_id")), Col::Text(l.t("console.blocks.since")), Col::Text(l.t("console.blocks.by"))], html! {
                    @for u in &users {
                        tr {
                            td { a href={ "/admin/members/" (u.id.to_string()) } { (u.display_name) } }
                            td { (u.email) @if let Some(id) = &u.login_id { br; span.muted { (id) } } }
                            td { (u.app_blocked_at.map(ops::when).unwrap_or_default()) }
                            td { (u.app_blocked_by.as_deref().unwrap_or("—")) }
                        }
                    }
                }))
        }
    };
    Ok(page.render(
        &state,
        &c,
        StatusCode::OK,
        l.t("console.blocks.title"),
        body,
    ))
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn blocks_export(
    c: Console,
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let file = ops::block_list_export(&state, &c.ctx, q.format.as_deref().unwrap_or("csv")).await?;
    Ok(crate::admin::org::download(file))
}

/// A user's name and e-mail for a row (the id when the user is gone).
async fn who(state: &AppState, id: Uuid) -> String {
    match state.store.get_user(id).await {
        Ok(u) => format!("{} <{}>", u.display_name, u.email),
        Err(_) => id.to_string(),
    }
}

async fn support(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let l = c.locale;
    let now = state.clock.now();
    let requests: Vec<_> = ops::support_requests(&state, &c.ctx)
        .await?
        .into_iter()
        .filter(|r| r.status == "pending" && r.expires_at > now)
        .collect();
    let mut request_rows = Vec::new();
    for r in &requests {
        request_rows.push((
            r,
            who(&state, r.support_user_id).await,
            who(&state, r.user_id).await,
        ));
    }
    let devices = if c.allows(crate::users::actions::scope::USERS_READ) {
        ops::device_requests(&state, &c.ctx, Some("awaiting_admin"))
            .await?
            .into_iter()
            .filter(|d| d.expires_at > now)
            .collect()
    } else {
        Vec::new()
    };
    let mut device_rows = Vec::new();
    for d in &devices {
        let user = match d.user_id {
            Some(u) => who(&state, u).await,
            None => "—".into(),
        };
        device_rows.push((d, user));
    }
    let grants = ops::live_grants(&state, &c.ctx).await?;
    let mut grant_rows = Vec::new();
    for (g, user) in &grants {
        grant_rows.push((g, *user, who(&state, *user).await));
    }
    let page = Page::new(&req, &state);
    let decide = |kind: &str, id: Uuid, decision: &str, label: &str| {
        html! {
            form.action method="post" action={ "/admin/support/" (kind) "/" (id.to_string()) "/" (decision) } {
                (page.token())
                button type="submit" data-action=(decision) class=[(decision != "approve").then_some("danger")] { (label) }
            }
        }
    };
    let body = html! {
        h1 { (l.t("console.support.title")) }
        (notice(l, q.done.as_deref()))
        section aria-labelledby="requests-h" {
            h2 #requests-h { (l.t("console.support.requests")) }
            @if request_rows.is_empty() { p { (l.t("console.support.none")) } }
            @else {
                (table("", &[Col::Text(l.t("console.support.engineer")), Col::Text(l.t("console.support.user")), Col::Text(l.t("console.support.reason")), Col::Text(l.t("console.member.expires")), Col::Hidden(l.t("console.actions"))], html! {
                        @for (r, engineer, user) in &request_rows {
                            tr data-request=(r.id.to_string()) {
                                td { (engineer) } td { (user) } td { (r.reason) } td { (ops::when(r.expires_at)) }
                                td.actions {
                                    (decide("requests", r.id, "approve", l.t("console.action.approve")))
                                    (decide("requests", r.id, "deny", l.t("console.action.deny")))
                                }
                            }
                        }
                    }))
            }
        }
        section aria-labelledby="devices-h" {
            h2 #devices-h { (l.t("console.support.devices")) }
            @if device_rows.is_empty() { p { (l.t("console.support.none")) } }
            @else {
                (table("", &[Col::Text(l.t("console.support.app")), Col::Text(l.t("console.support.user")), Col::Text(l.t("console.support.scope")), Col::Text(l.t("console.member.expires")), Col::Hidden(l.t("console.actions"))], html! {
                        @for (d, user) in &device_rows {
                            tr data-device=(d.id.to_string()) {
                                td { (d.client_id) } td { (user) } td { (d.scope) } td { (ops::when(d.expires_at)) }
                                td.actions {
                                    (decide("devices", d.id, "approve", l.t("console.action.approve")))
                                    (decide("devices", d.id, "deny", l.t("console.action.deny")))
                                }
                            }
                        }
                    }))
            }
        }
        section aria-labelledby="grants-h" {
            h2 #grants-h { (l.t("console.support.grants")) }
            @if grant_rows.is_empty() { p { (l.t("console.support.none")) } }
            @else {
                (table("", &[Col::Text(l.t("console.support.user")), Col::Text(l.t("console.member.grant_state")), Col::Text(l.t("console.member.expires")), Col::Hidden(l.t("console.actions"))], html! {
                        @for (g, user, name) in &grant_rows {
                            tr data-grant=(g.id.to_string()) {
                                td { a href={ "/admin/members/" (user.to_string()) } { (name) } }
                                td { (g.state) } td { (ops::when(g.expires_at)) }
                                td { (decide("grants", g.id, "revoke-grant", l.t("console.action.revoke_grant"))) }
                            }
                        }
                    }))
            }
        }
    };
    Ok(page.render(
        &state,
        &c,
        StatusCode::OK,
        l.t("console.support.title"),
        body,
    ))
}

async fn support_decide(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    // Nothing but the token, checked by the extractor.
    ConsoleForm(c, _): ConsoleForm,
) -> AppResult<HttpResponse> {
    let (kind, id, decision) = path.into_inner();
    let id = super::path_id(&id)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" | "revoke-grant" => false,
        _ => return Err(AppError::not_found("no such action")),
    };
    match (kind.as_str(), decision.as_str()) {
        ("requests", "approve" | "deny") => {
            ops::decide_support_request(&state, &c.ctx, id, approve).await?;
        }
        ("devices", "approve" | "deny") => {
            ops::decide_device_request(&state, &c.ctx, id, approve).await?;
        }
        ("grants", "revoke-grant") => {
            ops::revoke_grant(&state, &c.ctx, id).await?;
        }
        _ => return Err(AppError::not_found("no such action")),
    }
    Ok(done("/admin/support", &decision.replace('-', "_")))
}

async fn policy(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let p = ops::policy(&state, &c.ctx).await?;
    policy_page(&req, &c, &state, &p, q.done.as_deref(), None)
}

fn policy_page(
    req: &HttpRequest,
    c: &Console,
    state: &AppState,
    p: &crate::policy::OrgPolicy,
    done_what: Option<&str>,
    error: Option<&AppError>,
) -> AppResult<HttpResponse> {
    let l = c.locale;
    let page = Page::new(req, state);
    let body = html! {
        h1 { (l.t("console.policy.title")) }
        (notice(l, done_what))
        @if let Some(e) = error { p.error role="alert" { (error_text(l, e)) } }
        form method="post" action="/admin/policy" {
            (page.token())
            fieldset {
                legend { (l.t("console.policy.lockout")) }
                label for="max_failures" { (l.t("console.policy.max_failures")) }
                input #max_failures type="number" name="max_failures" min="0" max="1000" value=(p.lockout.max_failures) required;
                label for="lock_duration_secs" { (l.t("console.policy.lock_duration")) }
                input #lock_duration_secs type="number" name="lock_duration_secs" min="1" value=(p.lockout.lock_duration_secs) required;
                label for="backoff_multiplier" { (l.t("console.policy.backoff")) }
                input #backoff_multiplier type="number" name="backoff_multiplier" min="1" max="100" value=(p.lockout.backoff_multiplier) required;
                label for="max_lock_duration_secs" { (l.t("console.policy.max_lock")) }
                input #max_lock_duration_secs type="number" name="max_lock_duration_secs" min="1" value=(p.lockout.max_lock_duration_secs) required;
                label.check { input type="checkbox" name="permanent" value="1" checked[p.lockout.permanent]; " " (l.t("console.policy.permanent")) }
            }
            fieldset {
                legend { (l.t("console.policy.mfa")) }
                label.check { input type="checkbox" name="mfa_required" value="1" checked[p.mfa_required]; " " (l.t("console.policy.mfa_required")) }
                label for="mfa_grace_period_days" { (l.t("console.policy.grace")) }
                input #mfa_grace_period_days type="number" name="mfa_grace_period_days" min="0" max="365" value=(p.mfa_grace_period_days) required;
                label for="phishing_resistant" { (l.t("console.policy.phishing_resistant")) }
                select #phishing_resistant name="phishing_resistant" {
                    @for v in [crate::policy::PhishingResistant::Off, crate::policy::PhishingResistant::Staff, crate::policy::PhishingResistant::Everyone] {
                        option value=(v.as_str()) selected[p.phishing_resistant == v] { (l.t(&format!("console.policy.phr_{}", v.as_str()))) }
                    }
                }
            }
            button type="submit" data-action="save-policy" { (l.t("console.policy.save")) }
        }
    };
    let status = error.map_or(StatusCode::OK, |e| crate::http::errors::status(e.kind));
    Ok(page.render(state, c, status, l.t("console.policy.title"), body))
}

async fn policy_save(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(c, mut f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let current = ops::policy(&state, &c.ctx).await?;
    // The policy weakens or strengthens every account's protection: a fresh password.
    let what = c.locale.t("console.policy.save");
    if let Some(r) = step_up(
        &req,
        &c,
        &state,
        "/admin/policy",
        what,
        "/admin/policy",
        &mut f,
    )
    .await?
    {
        return Ok(r);
    }
    let parsed = (|| -> AppResult<crate::policy::OrgPolicy> {
        fn num<T: std::str::FromStr>(f: &HashMap<String, String>, k: &str) -> AppResult<T> {
            f.get(k).and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
                AppError::bad_request("invalid_policy", format!("{k}: not a number"))
                    .with_field(k, "a number")
            })
        }
        let mut p = current.clone();
        p.lockout.max_failures = num(&f, "max_failures")?;
        p.lockout.lock_duration_secs = num(&f, "lock_duration_secs")?;
        p.lockout.backoff_multiplier = num(&f, "backoff_multiplier")?;
        p.lockout.max_lock_duration_secs = num(&f, "max_lock_duration_secs")?;
        p.lockout.permanent = f.contains_key("permanent");
        p.mfa_required = f.contains_key("mfa_required");
        p.mfa_grace_period_days = num(&f, "mfa_grace_period_days")?;
        if let Some(v) = f.get("phishing_resistant") {
            p.phishing_resistant = crate::policy::PhishingResistant::parse(v).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_policy",
                    "phishing_resistant: off, staff or everyone",
                )
                .with_field("phishing_resistant", "off, staff or everyone")
            })?;
        }
        Ok(p)
    })();
    // Refused: the form again with the reason and what was typed.
    let p = match parsed {
        Ok(p) => p,
        Err(e) => return policy_page(&req, &c, &state, &current, None, Some(&e)),
    };
    match ops::put_policy(&state, &c.ctx, &p).await {
        Ok(_) => Ok(done("/admin/policy", "policy_saved")),
        Err(e) if e.kind == crate::error::Kind::BadRequest => {
            policy_page(&req, &c, &state, &p, None, Some(&e))
        }
        Err(e) => Err(e),
    }
}
