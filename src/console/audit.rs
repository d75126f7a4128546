//! `/admin/audit`: the audit log with filters and cursor pages, and its CSV export.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{error_text, table, Col, Console, Page};
use crate::admin::ops;
use crate::admin::views::AuditQuery;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/audit").route(web::get().to(list)))
        .service(web::resource("/admin/audit/export").route(web::get().to(export)));
}

/// Rows at most in one export.
const EXPORT_MAX: usize = 50_000;

/// What the filter form sends: empty fields mean "any"; dates are days (UTC).
#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    action: Option<String>,
    actor: Option<String>,
    subject: Option<String>,
    /// First day, `YYYY-MM-DD`.
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    to: Option<String>,
    cursor: Option<String>,
}

fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn day(v: &Option<String>, name: &str, next: bool) -> AppResult<Option<DateTime<Utc>>> {
    match field(v) {
        None => Ok(None),
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
                .ok_or_else(|| {
                    AppError::bad_request("invalid_date", "a date is YYYY-MM-DD, 1970 to 9999")
                        .with_field(name, "YYYY-MM-DD")
                })?;
            let d = if next { d.succ_opt().unwrap_or(d) } else { d };
            Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
        }
    }
}

fn id(v: &Option<String>, name: &str) -> AppResult<Option<Uuid>> {
    match field(v) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            AppError::bad_request("invalid_id", "not a user id").with_field(name, "a user id")
        }),
    }
}

impl Filter {
    fn query(&self) -> AppResult<AuditQuery> {
        Ok(AuditQuery {
            actor: id(&self.actor, "actor")?,
            subject: id(&self.subject, "subject")?,
            action: field(&self.action).map(str::to_string),
            from: day(&self.from, "from", false)?,
            to: day(&self.to, "to", true)?,
            cursor: field(&self.cursor).map(str::to_string),
            limit: None,
        })
    }

    /// This filter as a query string, with `extra` pairs.
    fn href(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("subject", &self.subject),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = field(v) {
                s.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            s.append_pair(k, v);
        }
        format!("{path}?{}", s.finish())
    }
}

async fn list(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    f: web::Query<Filter>,
) -> AppResult<HttpResponse> {
    let f = f.into_inner();
    let l = c.locale;
    let result = match f.query() {
        Ok(q) => ops::audit(&state, &c.ctx, q).await,
        Err(e) => Err(e),
    };
    let (page_data, error) = match result {
        Ok(p) => (Some(p), None),
        Err(e) if e.kind == crate::error::Kind::BadRequest => (None, Some(error_text(l, &e))),
        Err(e) => return Err(e),
    };
    let page = Page::new(&req, &state);
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        h1 { (l.t("console.audit.title")) }
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        form.filters method="get" action="/admin/audit" {
            div.field { label for="action" { (l.t("console.audit.action")) } input #action type="text" name="action" value=(v(&f.action)) maxlength="100"; }
            div.field { label for="actor" { (l.t("console.audit.actor")) } input #actor type="text" name="actor" value=(v(&f.actor)) maxlength="36"; }
            div.field { label for="subject" { (l.t("console.audit.subject")) } input #subject type="text" name="subject" value=(v(&f.subject)) maxlength="36"; }
            div.field { label for="from" { (l.t("console.audit.from")) } input #from type="date" name="from" value=(v(&f.from)); }
            div.field { label for="to" { (l.t("console.audit.to")) } input #to type="date" name="to" value=(v(&f.to)); }
            button type="submit" { (l.t("console.members.search_button")) }
        }
        @if let Some(p) = &page_data {
            p { a #audit-export href=(f.href("/admin/audit/export", &[])) download { (l.t("console.audit.export")) } }
            (table("audit", &[Col::Text(l.t("console.member.time")), Col::Text(l.t("console.audit.action")), Col::Text(l.t("console.audit.actor")), Col::Text(l.t("console.audit.subject")), Col::Text(l.t("account.session_ip")), Col::Text(l.t("console.audit.details"))], html! {
                    @for e in &p.items {
                        tr data-actor=[e.actor_id.map(|a| a.to_string())] {
                            td { (ops::when(e.at)) }
                            td { code { (e.action) } }
                            td { (e.actor_kind) @if let Some(a) = e.actor_id { br; code.small { (a.to_string()) } } }
                            td { @if let Some(s) = e.subject_user_id { a href={ "/admin/members/" (s.to_string()) } { code.small { (s.to_string()) } } } @else { "—" } }
                            td { (e.ip.as_deref().unwrap_or("—")) }
                            td { code.small { (crate::util::truncate(&e.details.to_string(), 200)) } }
                        }
                    }
                }))
            @if p.items.is_empty() { p { (l.t("console.audit.none")) } }
            nav.pages aria-label=(l.t("console.pages")) {
                @if field(&f.cursor).is_some() { a href=(f.href("/admin/audit", &[])) { (l.t("console.first_page")) } }
                @if let Some(n) = &p.next_cursor { a rel="next" href=(f.href("/admin/audit", &[("cursor", n.as_str())])) { (l.t("console.next_page")) } }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page.render(&state, &c, status, l.t("console.audit.title"), body))
}

async fn export(
    c: Console,
    state: web::Data<AppState>,
    f: web::Query<Filter>,
) -> AppResult<HttpResponse> {
    let mut q = f.query()?;
    q.cursor = None;
    let file = ops::audit_export(&state, &c.ctx, q, EXPORT_MAX).await?;
    Ok(crate::admin::org::download(file))
}
