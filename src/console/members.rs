//! `/admin/members`: search and filters, cursor pages, and the bulk request for a
//! password change.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::{done, error_text, notice, Console, Page};
use crate::admin::ops;
use crate::admin::views::{UserListQuery, UserView};
use crate::error::AppResult;
use crate::http::{csrf, state::AppState};
use crate::i18n::Locale;
use crate::users::actions::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/members").route(web::get().to(list)))
        .service(
            web::resource("/admin/members/bulk-request-password-change")
                .route(web::post().to(bulk)),
        );
}

/// The list's query: what the filter form sends (empty fields mean "any").
#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    /// `on`, `off` or empty.
    mfa: Option<String>,
    /// `yes`, `no` or empty.
    app_blocked: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
    /// How many members the bulk request reached (text: a bad value is ignored, never
    /// a 400 before the gate).
    n: Option<String>,
}

fn flag(v: &Option<String>, yes: &str, no: &str) -> Option<bool> {
    match v.as_deref() {
        Some(x) if x == yes => Some(true),
        Some(x) if x == no => Some(false),
        _ => None,
    }
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The status a member row shows: a lock that has lifted shows as active; a deleted
/// member until when it can be restored.
pub fn status_text(l: Locale, v: &UserView, restore_days: u32) -> String {
    let base = l.t(&format!("console.status.{}", v.status)).to_string();
    match (v.status.as_str(), v.deleted_at, v.locked_until) {
        ("deleted", Some(at), _) => format!(
            "{base} ({} {})",
            l.t("console.status.restorable_until"),
            ops::when(at + Duration::days(i64::from(restore_days)))
        ),
        ("locked", _, Some(until)) => {
            format!(
                "{base} ({} {})",
                l.t("console.status.until"),
                ops::when(until)
            )
        }
        _ => base,
    }
}

fn yes_no(l: Locale, b: bool) -> &'static str {
    l.t(if b { "console.on" } else { "console.off" })
}

fn last_access(l: Locale, t: Option<DateTime<Utc>>) -> String {
    t.map(ops::when)
        .unwrap_or_else(|| l.t("console.never").to_string())
}

async fn list(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let l = c.locale;
    let query = UserListQuery {
        status: nonempty(&q.status),
        mfa: flag(&q.mfa, "on", "off"),
        app_blocked: flag(&q.app_blocked, "yes", "no"),
        q: nonempty(&q.q),
        cursor: nonempty(&q.cursor),
        limit: None,
    };
    let (result, error) = match ops::members(&state, &c.ctx, query.clone()).await {
        Ok(r) => (Some(r), None),
        // A bad filter or a stale cursor: say so, keep the form as typed.
        Err(e) if e.kind == crate::error::Kind::BadRequest => (None, Some(error_text(l, &e))),
        Err(e) => return Err(e),
    };
    let page = Page::new(&req, &state);
    let can_bulk = c.allows(scope::SECURITY);
    let filters = |extra: &[(&str, &str)]| -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &query.q),
            ("status", &query.status),
            ("mfa", &q.mfa),
            ("app_blocked", &q.app_blocked),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            s.append_pair(k, v);
        }
        format!("/admin/members?{}", s.finish())
    };
    let selected = |field: &Option<String>, v: &str| field.as_deref() == Some(v);
    let restore_days = state.cfg.retention.deleted_user_days;
    let body = html! {
        h1 { (l.t("console.members.title")) }
        (notice(l, q.done.as_deref()))
        @if let (Some("bulk"), Some(n)) = (q.done.as_deref(), q.n.as_deref().and_then(|n| n.parse::<usize>().ok())) {
            p.notice { (l.t("console.members.bulk_count")) ": " (n) }
        }
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        form.filters method="get" action="/admin/members" role="search" {
            div.field {
                label for="q" { (l.t("console.members.search")) }
                input #q type="search" name="q" value=(query.q.as_deref().unwrap_or("")) maxlength="100";
            }
            div.field {
                label for="status" { (l.t("console.members.status")) }
                select #status name="status" {
                    option value="" { (l.t("console.any")) }
                    @for s in ops::STATUSES {
                        option value=(s) selected[selected(&query.status, s)] { (l.t(&format!("console.status.{s}"))) }
                    }
                }
            }
            div.field {
                label for="mfa" { (l.t("console.members.mfa")) }
                select #mfa name="mfa" {
                    option value="" { (l.t("console.any")) }
                    option value="on" selected[selected(&q.mfa, "on")] { (l.t("console.on")) }
                    option value="off" selected[selected(&q.mfa, "off")] { (l.t("console.off")) }
                }
            }
            div.field {
                label for="app_blocked" { (l.t("console.members.app_block")) }
                select #app_blocked name="app_blocked" {
                    option value="" { (l.t("console.any")) }
                    option value="yes" selected[selected(&q.app_blocked, "yes")] { (l.t("console.members.blocked")) }
                    option value="no" selected[selected(&q.app_blocked, "no")] { (l.t("console.members.not_blocked")) }
                }
            }
            button type="submit" { (l.t("console.members.search_button")) }
        }
        @if let Some(r) = &result {
            form method="post" action="/admin/members/bulk-request-password-change" {
                (page.token())
                div.table-wrap tabindex="0" {
                    table.members {
                        caption.visually-hidden { (l.t("console.members.title")) }
                        thead { tr {
                            @if can_bulk { th scope="col" { span.visually-hidden { (l.t("console.members.select")) } } }
                            th scope="col" { (l.t("console.members.name")) }
                            th scope="col" { (l.t("console.members.email_or_id")) }
                            th scope="col" { (l.t("console.members.status")) }
                            th scope="col" { (l.t("console.members.mfa")) }
                            th scope="col" { (l.t("console.members.app_block")) }
                            th scope="col" { (l.t("console.members.last_access")) }
                        } }
                        tbody {
                            @for u in &r.page.items {
                                (row(l, u, r.overview.get(&u.id).and_then(|o| o.last_seen_at), can_bulk, restore_days))
                            }
                        }
                    }
                }
                @if r.page.items.is_empty() {
                    p { (l.t("console.members.none")) }
                }
                @if can_bulk && !r.page.items.is_empty() {
                    button type="submit" data-action="bulk-request-password-change" {
                        (l.t("console.members.bulk_request"))
                    }
                }
            }
            nav.pages aria-label=(l.t("console.pages")) {
                @if query.cursor.is_some() {
                    a href=(filters(&[])) { (l.t("console.first_page")) }
                }
                @if let Some(next) = &r.page.next_cursor {
                    a rel="next" href=(filters(&[("cursor", next.as_str())])) { (l.t("console.next_page")) }
                }
            }
        }
    };
    Ok(page.render(
        &state,
        &c,
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        l.t("console.members.title"),
        body,
    ))
}

fn row(
    l: Locale,
    u: &UserView,
    last: Option<DateTime<Utc>>,
    can_bulk: bool,
    restore_days: u32,
) -> Markup {
    let id_label = format!("select-{}", u.id);
    html! {
        tr {
            @if can_bulk {
                td {
                    input id=(id_label) type="checkbox" name="user_id" value=(u.id.to_string());
                    label.visually-hidden for=(id_label) { (u.display_name) }
                }
            }
            td { a href={ "/admin/members/" (u.id.to_string()) } { (u.display_name) } }
            td {
                (u.email)
                @if let Some(id) = &u.login_id { br; span.muted { (id) } }
            }
            td { (status_text(l, u, restore_days)) }
            td { (yes_no(l, u.mfa_enabled)) }
            td { @if u.app_blocked { (l.t("console.members.blocked")) } @else { "—" } }
            td { (last_access(l, last)) }
        }
    }
}

#[derive(Deserialize)]
struct BulkForm {
    csrf_token: Option<String>,
    #[serde(default)]
    user_id: Vec<String>,
}

async fn bulk(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    // Repeated `user_id` fields: parsed from the body as a list.
    let mut form = BulkForm {
        csrf_token: None,
        user_id: Vec::new(),
    };
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf_token" => form.csrf_token = Some(v.into_owned()),
            "user_id" => form.user_id.push(v.into_owned()),
            _ => {}
        }
    }
    csrf::verify(&req, &state, form.csrf_token.as_deref())?;
    let ids: Vec<Uuid> = form
        .user_id
        .iter()
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        return Ok(done("/admin/members", "bulk_none"));
    }
    let r = ops::bulk_request_password_change(&state, &c.ctx, &ids).await?;
    Ok(done(
        &format!("/admin/members?n={}", r.requested.len()),
        "bulk",
    ))
}
