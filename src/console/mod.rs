//! The admin console at `/admin/`: server-rendered pages (no JavaScript needed) over
//! the same operations as the admin API ([`crate::admin::ops`],
//! [`crate::users::actions`]), for users with an admin role signed in with their own
//! account.
//!
//! Who gets in is decided by the [`Console`] extractor, on the session the handler
//! acts with: signed out → the sign-in page; a support (impersonation) session or a
//! user whose roles give no admin scope → 403; a required password change first; then
//! two-step sign-in whatever the organisation's policy (the second step, or MFA
//! enrolment for an admin who has none). What each admin may see and do is the scope
//! check of each operation, the same as for API credentials ([`AdminCtx::require`]).
//! Destructive actions need a password entered within `mfa.reauth_window_secs`
//! ([`step_up`]). Every action is audited with the admin as actor.

pub mod apps;
pub mod audit;
pub mod member;
pub mod members;
pub mod org;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use maud::{html, Markup};

use std::collections::HashMap;

use crate::audit::Actor;
use crate::authn::login::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::see_other;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};
use crate::i18n::Locale;
use crate::store::{Session, User};
use crate::users::actions::{scope, AdminCtx};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").route(web::get().to(to_home)))
        .service(web::resource("/admin/").route(web::get().to(home)))
        .configure(members::routes)
        .configure(member::routes)
        .configure(audit::routes)
        .configure(apps::routes)
        .configure(org::routes);
}

/// A signed-in admin in the console.
pub struct Console {
    pub session: Session,
    pub user: User,
    /// Actor (the admin's user id), label, request metadata and the scopes the
    /// admin's roles give.
    pub ctx: AdminCtx,
    pub locale: Locale,
}

impl Console {
    pub fn allows(&self, s: &str) -> bool {
        self.ctx.allows(s)
    }
}

/// The console gate (see the module documentation).
async fn enter(req: &HttpRequest, state: &AppState) -> Result<Console, actix_web::Error> {
    // Where to come back to: this page, or the console's start for a form post.
    let here = if req.method() == Method::GET {
        match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        }
    } else {
        "/admin/".to_string()
    };
    let here = crate::util::safe_local_path(&here)
        .unwrap_or("/admin/")
        .to_string();
    let Some((session, user)) = http::current_session(req, state).await? else {
        return Err(respond(crate::account::to_login(&here)));
    };
    // A support session acts for its user: never as an admin.
    crate::sessions::refuse_impersonation(&session)?;
    let scopes = scope::for_roles(&user.roles);
    if scopes.is_empty() {
        return Err(AppError::forbidden(
            "console_forbidden",
            "the admin console is for administrators",
        )
        .into());
    }
    // Locked after failed passwords (at sign-in or at a step-up): out, until an
    // administrator unlocks the account or the lock lifts.
    if user.is_locked(state.clock.now()) {
        crate::sessions::end(state, session.id, "locked")
            .await
            .map_err(AppError::from)?;
        return Err(respond(crate::account::to_login(&here)));
    }
    if user.password_change_required {
        return Err(respond(see_other(&format!(
            "/account/password?return_to={}",
            encode(&here)
        ))));
    }
    // Two steps, whatever the organisation's policy.
    if crate::authn::mfa::is_enabled(state, user.id).await? {
        if !crate::authn::mfa::session_has_mfa(&session) {
            return Err(respond(see_other(&crate::authn::mfa::step_up_path(&here))));
        }
    } else {
        return Err(respond(see_other(&crate::authn::mfa::enrol_path(&here))));
    }
    // A passkey, where the organisation requires a phishing-resistant sign-in.
    if let Some(path) =
        crate::authn::passkeys::requirement(state, &user, &session, &here, false).await?
    {
        return Err(respond(see_other(&path)));
    }
    let locale = http::locale(req, state);
    Ok(Console {
        ctx: AdminCtx {
            actor: Actor::admin(Some(user.id)),
            label: format!("user:{}", user.email),
            meta: http::request_meta(req),
            scopes,
        },
        session,
        user,
        locale,
    })
}

fn respond(res: HttpResponse) -> actix_web::Error {
    actix_web::error::InternalError::from_response("admin console", res).into()
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl FromRequest for Console {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Console, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal("application state missing"))?;
            enter(&req, &state).await
        })
    }
}

/// A console form post: the admin (the gate decided first, as for pages) and the
/// form's fields, its CSRF token checked and taken out. Every console action takes its
/// input through this, so none can forget the check or run it before the gate.
pub struct ConsoleForm(pub Console, pub HashMap<String, String>);

impl FromRequest for ConsoleForm {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ConsoleForm, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        // The body is taken now (the payload is only lent) and read after the gate.
        let form = web::Form::<HashMap<String, String>>::from_request(&req, payload);
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal("application state missing"))?;
            let console = enter(&req, &state).await?;
            let mut f = form.await?.into_inner();
            csrf::verify(&req, &state, f.get("csrf_token").map(String::as_str))?;
            f.remove("csrf_token");
            Ok(ConsoleForm(console, f))
        })
    }
}

/// A console page being built: the CSRF token its forms carry.
pub struct Page {
    pub csrf: String,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
    req: HttpRequest,
}

impl Page {
    pub fn new(req: &HttpRequest, state: &AppState) -> Page {
        let t = csrf::issue(req, state);
        Page {
            csrf: t.token,
            cookie: t.set_cookie,
            req: req.clone(),
        }
    }

    /// The hidden CSRF field of a form.
    pub fn token(&self) -> Markup {
        html! { input type="hidden" name="csrf_token" value=(self.csrf); }
    }

    /// The whole page: the console navigation above `body`.
    pub fn render(
        self,
        state: &AppState,
        c: &Console,
        status: StatusCode,
        title: &str,
        body: Markup,
    ) -> HttpResponse {
        let l = c.locale;
        let nav = [
            ("/admin/", "console.nav.home", None),
            (
                "/admin/members",
                "console.nav.members",
                Some(scope::USERS_READ),
            ),
            ("/admin/audit", "console.nav.audit", Some(scope::AUDIT_READ)),
            (
                "/admin/app-blocks",
                "console.nav.blocks",
                Some(scope::SECURITY),
            ),
            (
                "/admin/support",
                "console.nav.support",
                Some(scope::SUPPORT),
            ),
            ("/admin/apps", "console.nav.apps", Some(scope::CLIENTS)),
            ("/admin/policy", "console.nav.policy", Some(scope::SECURITY)),
        ];
        let body = html! {
            nav.console aria-label=(l.t("console.nav.label")) {
                ul {
                    @for (href, key, need) in nav {
                        @if need.is_none_or(|s| c.allows(s)) {
                            li { a href=(href) { (l.t(key)) } }
                        }
                    }
                }
                p.whoami { (l.t("console.signed_in_as")) " " strong { (c.user.display_name) } " · " a href="/account" { (l.t("console.own_account")) } }
            }
            (body)
        };
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(c) = self.cookie {
            res.cookie(c);
        }
        // A language chosen with the switch stays for the next pages.
        crate::authn::routes::remember_locale(&self.req, &mut res);
        res.body(templates::layout(l, &state.cfg.ui.product_name, title, body).into_string())
    }
}

/// A column heading of a console table; `Hidden` ones are for screen readers only
/// (the column of action buttons).
pub enum Col<'a> {
    Text(&'a str),
    Hidden(&'a str),
}

/// A console table: headings, then the rows; it scrolls sideways on a narrow screen
/// and can then be reached with the keyboard.
pub fn table(class: &str, cols: &[Col], rows: Markup) -> Markup {
    html! {
        div.table-wrap tabindex="0" {
            table class=[(!class.is_empty()).then_some(class)] {
                thead { tr {
                    @for c in cols {
                        @match c {
                            Col::Text(t) => th scope="col" { (t) },
                            Col::Hidden(t) => th scope="col" { span.visually-hidden { (t) } },
                        }
                    }
                } }
                tbody { (rows) }
            }
        }
    }
}

/// An id from the path; parsed in the handler, after the console gate decided who
/// may ask (an extractor would answer a malformed id before the gate).
pub fn path_id(s: &str) -> AppResult<uuid::Uuid> {
    s.parse().map_err(|_| AppError::not_found("no such page"))
}

/// A success or failure note shown above a page after an action.
pub fn notice(l: Locale, done: Option<&str>) -> Markup {
    html! {
        @if let Some(d) = done {
            @let text = l.t(&format!("console.done.{d}"));
            @if !text.is_empty() {
                p.notice role="status" { (text) }
            }
        }
    }
}

/// The text of an error for a console page (localised when the code has a text).
pub fn error_text(l: Locale, e: &AppError) -> String {
    let mut s = crate::i18n::error_text(l, e.code)
        .map(str::to_string)
        .unwrap_or_else(|| e.detail.clone());
    for f in &e.fields {
        s.push_str(&format!(" ({}: {})", f.field, f.message));
    }
    s
}

/// Back to a console page after a successful action, saying what was done.
pub fn done(path: &str, what: &str) -> HttpResponse {
    let sep = if path.contains('?') { '&' } else { '?' };
    see_other(&format!("{path}{sep}done={what}"))
}

async fn to_home() -> HttpResponse {
    see_other("/admin/")
}

/// `/admin/`: where to go, and what is waiting.
async fn home(req: HttpRequest, c: Console, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let l = c.locale;
    let pending_support = if c.allows(scope::SUPPORT) {
        let now = state.clock.now();
        Some(
            crate::admin::ops::support_requests(&state, &c.ctx)
                .await?
                .iter()
                .filter(|r| r.status == "pending" && r.expires_at > now)
                .count(),
        )
    } else {
        None
    };
    let pending_devices = if c.allows(scope::USERS_READ) && c.allows(scope::SUPPORT) {
        Some(
            crate::admin::ops::device_requests(&state, &c.ctx, Some("awaiting_admin"))
                .await?
                .len(),
        )
    } else {
        None
    };
    let page = Page::new(&req, &state);
    let body = html! {
        h1 { (l.t("console.home.title")) }
        @if c.allows(scope::USERS_READ) {
            form.search method="get" action="/admin/members" role="search" {
                label for="home-q" { (l.t("console.members.search")) }
                input #home-q type="search" name="q" maxlength="100";
                button type="submit" { (l.t("console.members.search_button")) }
            }
        }
        @if let Some(n) = pending_support {
            p { a href="/admin/support" { (l.t("console.home.pending_support")) ": " strong { (n) } } }
        }
        @if let Some(n) = pending_devices {
            p { a href="/admin/support" { (l.t("console.home.pending_devices")) ": " strong { (n) } } }
        }
    };
    Ok(page.render(&state, &c, StatusCode::OK, l.t("console.home.title"), body))
}

/// A destructive action needs the admin's password entered within
/// `mfa.reauth_window_secs` (at sign-in or here). Without it the admin gets a
/// password form that posts the same action (to `post_to`) again, its fields carried
/// along; `Ok(None)` lets the action go ahead. A wrong password counts towards the
/// lockout as at sign-in.
/// Form fields that hold a secret: not carried through the step-up page.
const SECRET_FIELDS: &[&str] = &["new_password"];

pub async fn step_up(
    req: &HttpRequest,
    c: &Console,
    state: &AppState,
    post_to: &str,
    what: &str,
    back: &str,
    f: &mut HashMap<String, String>,
) -> AppResult<Option<HttpResponse>> {
    if crate::authn::mfa::recently_authenticated(state, &c.session).await? {
        f.remove("password");
        return Ok(None);
    }
    let mut error = None;
    if let Some(pw) = f.remove("password") {
        // One counted attempt, as at sign-in: enough wrong ones lock the account, and
        // a locked admin is out of the console (the gate).
        let (code, key) = match login::counted_check(state, &c.user, &pw).await? {
            Check::Right => {
                crate::authn::mfa::record_reauth(state, &c.session, &c.ctx.meta).await?;
                return Ok(None);
            }
            Check::Wrong { locked: true } => (login::result::NOW_LOCKED, "reauth.failed"),
            Check::Wrong { locked: false } => (login::result::REAUTH_BAD_PASSWORD, "reauth.failed"),
            Check::Refused { .. } | Check::Inactive => (login::result::LOCKED, "login.locked"),
        };
        error = Some(key);
        login::record(
            state,
            Some(c.user.id),
            &c.user.email,
            code,
            &c.ctx.meta,
            None,
        )
        .await?;
    }
    let l = c.locale;
    let page = Page::new(req, state);
    let body = html! {
        h1 { (l.t("console.step_up.title")) }
        p { (l.t("console.step_up.why")) " " strong { (what) } }
        @if let Some(k) = error { p.error role="alert" { (l.t(k)) } }
        form method="post" action=(post_to) {
            (page.token())
            @for (k, v) in f.iter().filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str())) {
                input type="hidden" name=(k) value=(v);
            }
            // A secret typed into the action's form is never written into a page:
            // it is asked for again here.
            @for k in SECRET_FIELDS.iter().filter(|k| f.contains_key(**k)) {
                label for=(k) { (l.t(&format!("console.member.{k}"))) }
                input id=(k) type="password" name=(k) autocomplete="new-password" maxlength="256" required;
            }
            label for="password" { (l.t("login.password")) }
            input #password type="password" name="password" autocomplete="current-password" maxlength="1024" required autofocus;
            button type="submit" data-action="step-up" { (l.t("console.step_up.submit")) }
        }
        p { a href=(back) { (l.t("console.cancel")) } }
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    Ok(Some(page.render(
        state,
        c,
        status,
        l.t("console.step_up.title"),
        body,
    )))
}
