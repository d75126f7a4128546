//! Server-rendered pages (maud: compile-time templates, HTML-escaped by default).

use maud::{html, Markup, DOCTYPE};

use crate::i18n::Locale;

/// A whole page as a response: the localised frame, `Cache-Control: no-store`, and the
/// CSRF cookie when the page set a new one.
pub fn page_response(
    status: actix_web::http::StatusCode,
    locale: Locale,
    product: &str,
    title: &str,
    body: Markup,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> actix_web::HttpResponse {
    let mut res = actix_web::HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie {
        res.cookie(c);
    }
    res.body(layout(locale, product, title, body).into_string())
}

/// The page frame: language, title, stylesheet, a switch to each other language (named
/// in that language).
pub fn layout(locale: Locale, product: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(locale.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " — " (product) }
                link rel="stylesheet" href="/static/monban.css";
                // No /favicon.ico: without this the browser asks for one on every
                // page and logs the 404 as a console error.
                link rel="icon" href="data:,";
            }
            body {
                @if let Some(who) = crate::http::support_banner() {
                    div.support-banner role="status" { (locale.t("support.banner")) " " strong { (who) } }
                }
                header.top {
                    span.brand { (product) }
                    @for other in Locale::all().filter(|l| *l != locale) {
                        a.lang href=(crate::http::middleware::language_switch_href(other.tag())) hreflang=(other.tag()) { (other.t("lang.name")) }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub struct LoginView<'a> {
    pub csrf: &'a str,
    pub username: &'a str,
    pub return_to: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Offer passwordless sign-in with a passkey (button and autofill).
    pub passkeys: bool,
    /// Upstream providers to sign in with: (slug, display name).
    pub providers: &'a [(String, String)],
}

pub fn login(locale: Locale, product: &str, v: &LoginView) -> Markup {
    let body = html! {
        h1 { (locale.t("login.title")) }
        @if let Some(e) = v.error {
            p.error role="alert" { (e) }
        }
        form method="post" action="/login" {
            input type="hidden" name="csrf_token" value=(v.csrf);
            @if let Some(r) = v.return_to {
                input type="hidden" name="return_to" value=(r);
            }
            label for="username" { (locale.t("login.username")) }
            input #username type="text" name="username" value=(v.username)
                autocomplete=(if v.passkeys { "username webauthn" } else { "username" })
                autocapitalize="none" spellcheck="false"
                maxlength="256" required autofocus;
            label for="password" { (locale.t("login.password")) }
            input #password type="password" name="password"
                autocomplete="current-password" maxlength="1024" required;
            button type="submit" { (locale.t("login.submit")) }
        }
        @if !v.providers.is_empty() {
            section.federation {
                h2 { (locale.t("federation.or_sign_in_with")) }
                ul {
                    @for (slug, name) in v.providers {
                        li { a.button data-provider=(slug) href=(federation_href(slug, v.return_to)) { (name) } }
                    }
                }
            }
        }
        @if v.passkeys {
            (super::templates_passkeys::signin_button(
                locale,
                v.csrf,
                "/login/passkey/options",
                "/login/passkey/finish",
                v.return_to,
                true,
            ))
        }
    };
    layout(locale, product, locale.t("login.title"), body)
}

/// The link that starts a sign-in at an upstream provider.
fn federation_href(slug: &str, return_to: Option<&str>) -> String {
    let slug: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    match return_to {
        Some(r) => format!(
            "/login/federation/{slug}?return_to={}",
            url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => format!("/login/federation/{slug}"),
    }
}

/// `/account/linked-logins`: linked upstream accounts (unlink) and providers to link.
pub fn linked_logins(
    locale: Locale,
    csrf: &str,
    links: &[crate::federation::LinkedLoginView],
    offered: &[(String, String)],
    notice: Option<&str>,
    date: impl Fn(chrono::DateTime<chrono::Utc>) -> String,
) -> Markup {
    let name_of = |slug: &str| {
        offered
            .iter()
            .find(|(s, _)| s == slug)
            .map_or(slug.to_string(), |(_, n)| n.clone())
    };
    html! {
        h1 { (locale.t("federation.account_title")) }
        p { (locale.t("federation.account_intro")) }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if links.is_empty() {
            p #linked-none { (locale.t("federation.none")) }
        } @else {
            div.table-wrap tabindex="0" {
                table #linked-logins {
                    thead { tr {
                        th { (locale.t("federation.col_provider")) }
                        th { (locale.t("federation.col_email")) }
                        th { (locale.t("federation.col_linked")) }
                        th { (locale.t("federation.col_used")) }
                        th { span.visually-hidden { (locale.t("federation.col_actions")) } }
                    } }
                    tbody {
                        @for l in links {
                            tr data-provider=(l.provider) {
                                td { (name_of(&l.provider)) }
                                td { (l.email.as_deref().unwrap_or("—")) }
                                td { (date(l.linked_at)) }
                                td { @match l.last_used_at { Some(t) => (date(t)), None => "—" } }
                                td {
                                    form.action method="post" action=(format!("/account/linked-logins/{}/unlink", l.provider)) {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button.danger type="submit" data-action="unlink-login" { (locale.t("federation.unlink")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @let linkable: Vec<&(String, String)> = offered.iter().filter(|(s, _)| !links.iter().any(|l| &l.provider == s)).collect();
        @if !linkable.is_empty() {
            h2 { (locale.t("federation.link_more")) }
            @for (slug, name) in linkable {
                form.action method="post" action=(format!("/account/linked-logins/{slug}/link")) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    button type="submit" data-action="link-login" data-provider=(slug) { (name) }
                }
            }
        }
        p { a href="/account" { (locale.t("mfa.back_to_account")) } }
    }
}

pub struct SessionRow {
    pub started: String,
    pub ip: String,
    pub agent: String,
    pub current: bool,
}

pub struct AccountView<'a> {
    pub display_name: &'a str,
    pub email: &'a str,
    pub login_id: Option<&'a str>,
    pub sessions: Vec<SessionRow>,
    pub csrf: &'a str,
    /// The MFA section (state, backup codes left, link to its settings).
    pub mfa: Option<Markup>,
}

pub fn account(locale: Locale, product: &str, v: &AccountView) -> Markup {
    let body = html! {
        h1 { (locale.t("account.title")) }
        p { (locale.t("account.signed_in_as")) ": " strong { (v.display_name) } }
        dl {
            dt { (locale.t("account.email")) } dd { (v.email) }
            @if let Some(l) = v.login_id { dt { (locale.t("account.login_id")) } dd { (l) } }
        }
        @if let Some(m) = &v.mfa { (m) }
        h2 { (locale.t("account.sessions")) }
        table {
            thead { tr {
                th { (locale.t("account.session_started")) }
                th { (locale.t("account.session_ip")) }
                th { (locale.t("account.session_agent")) }
            } }
            tbody {
                @for s in &v.sessions {
                    tr {
                        td { (s.started) @if s.current { " " span.nowrap { (locale.t("account.this_session")) } } }
                        td { (s.ip) }
                        td { (s.agent) }
                    }
                }
            }
        }
        (logout_form(locale, v.csrf))
    };
    layout(locale, product, locale.t("account.title"), body)
}

fn logout_form(locale: Locale, csrf: &str) -> Markup {
    html! {
        form method="post" action="/logout" {
            input type="hidden" name="csrf_token" value=(csrf);
            button type="submit" { (locale.t("logout.submit")) }
        }
    }
}

pub fn logout_confirm(locale: Locale, product: &str, csrf: &str) -> Markup {
    let body = html! {
        h1 { (locale.t("logout.title")) }
        p { (locale.t("logout.confirm")) }
        (logout_form(locale, csrf))
    };
    layout(locale, product, locale.t("logout.title"), body)
}

pub fn logged_out(locale: Locale, product: &str) -> Markup {
    let body = html! {
        h1 { (locale.t("logout.title")) }
        p { (locale.t("logout.done")) }
        p { a href="/login" { (locale.t("logout.again")) } }
    };
    layout(locale, product, locale.t("logout.title"), body)
}

/// An error page; `reopen` is a local page to open again (the form that failed).
pub fn error(
    locale: Locale,
    product: &str,
    status: u16,
    message: &str,
    reopen: Option<&str>,
) -> Markup {
    let body = html! {
        h1 { (locale.t("error.title")) " " (status) }
        p.error { (message) }
        @if let Some(r) = reopen {
            p { a #reopen href=(r) { (locale.t("error.reopen")) } }
        }
        p { a #back href="/" { (locale.t("error.back")) } }
    };
    layout(locale, product, locale.t("error.title"), body)
}

pub struct ConsentView<'a> {
    pub client_name: &'a str,
    pub user: &'a str,
    pub scopes: &'a [String],
    /// The authorization request (query string) to continue with.
    pub request: &'a str,
    pub csrf: &'a str,
}

pub fn consent(locale: Locale, product: &str, v: &ConsentView) -> Markup {
    let body = html! {
        h1 { (locale.t("consent.title")) }
        p { strong { (v.client_name) } " " (locale.t("consent.asks")) }
        p { (locale.t("account.signed_in_as")) ": " (v.user) }
        ul {
            @for s in v.scopes {
                @let key = format!("scope.{s}");
                @let text = locale.t(&key);
                li { @if text.is_empty() { code { (s) } } @else { (text) } }
            }
        }
        form method="post" action="/consent" {
            input type="hidden" name="csrf_token" value=(v.csrf);
            input type="hidden" name="request" value=(v.request);
            button type="submit" name="decision" value="approve" { (locale.t("consent.approve")) }
            button type="submit" name="decision" value="deny" { (locale.t("consent.deny")) }
        }
    };
    layout(locale, product, locale.t("consent.title"), body)
}

/// An auto-submitting form to `action` (OAuth 2.0 Form Post Response Mode, the SAML
/// HTTP-POST binding): the script is allowed by a per-response CSP nonce, the form
/// may go to `action`'s origin only, and a button serves browsers without scripts.
pub fn form_post_response(
    product: &str,
    action: &str,
    params: &[(&'static str, String)],
) -> actix_web::HttpResponse {
    use actix_web::http::header;
    let nonce = crate::util::random_token(16);
    let origin = crate::util::origin_of(action);
    let page = html! {
        (DOCTYPE)
        html {
            head { meta charset="utf-8"; title { (product) } }
            body {
                form method="post" action=(action) {
                    @for (k, v) in params {
                        input type="hidden" name=(k) value=(v);
                    }
                    // In the fallback language: no page language is at hand here.
                    noscript { button type="submit" { (Locale::FALLBACK.t("form_post.continue")) } }
                }
                script nonce=(nonce) { "document.forms[0].submit();" }
            }
        }
    };
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .body(page.into_string())
}

pub fn end_session_confirm(locale: Locale, product: &str, csrf: &str, request: &str) -> Markup {
    let body = html! {
        h1 { (locale.t("logout.title")) }
        p { (locale.t("logout.confirm")) }
        form method="post" action="/end_session/confirm" {
            input type="hidden" name="csrf_token" value=(csrf);
            input type="hidden" name="request" value=(request);
            button type="submit" { (locale.t("logout.submit")) }
        }
    };
    layout(locale, product, locale.t("logout.title"), body)
}

pub const CSS: &str = r#"
:root { color-scheme: light dark; font-family: system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; }
body { margin: 0; }
header.top { display: flex; justify-content: space-between; padding: .75rem 1.25rem; border-bottom: 1px solid #8884; }
.brand { font-weight: 600; }
main { max-width: 34rem; margin: 2rem auto; padding: 0 1.25rem; }
form { display: grid; gap: .5rem; margin: 1rem 0; }
input, button { font: inherit; padding: .55rem .65rem; }
button { cursor: pointer; }
.error { color: #b00020; }
.support-banner { background: #b00020; color: #fff; padding: .5rem 1.25rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid #8884; font-size: .9rem; }
th, .nowrap { white-space: nowrap; word-break: keep-all; }
td { overflow-wrap: anywhere; }
code.backup-code, #totp-key { font-size: 1.1rem; letter-spacing: .06em; }
a { color: #0b57d0; }
@media (prefers-color-scheme: dark) { a { color: #8ab4f8; } .error { color: #ff8a80; } }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
section.federation ul { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
a.button { display: block; text-align: center; padding: .6rem 1rem; border: 1px solid #767676; border-radius: 4px; text-decoration: none; color: inherit; background: #f0f0f0; }
@media (prefers-color-scheme: dark) { a.button { background: #2a2a2a; } }
section.passkey { margin-top: 1rem; }
.notice { border-left: 4px solid #1e8e3e; padding: .4rem .75rem; background: #1e8e3e1a; }
.muted, .hint { opacity: .75; font-size: .85rem; }
/* The admin console: wider pages, a menu, tables, forms side by side. */
main:has(.console) { max-width: 72rem; }
nav.console ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0; margin: 0 0 .25rem; }
nav.console { border-bottom: 1px solid #8884; margin-bottom: 1rem; }
.whoami { margin: .25rem 0 .5rem; font-size: .85rem; }
.table-wrap { overflow-x: auto; }
form.filters, form.search { display: flex; flex-wrap: wrap; align-items: end; gap: .5rem 1rem; }
form.filters .field { display: grid; gap: .2rem; }
select { font: inherit; padding: .5rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: start; }
form.action { margin: .25rem 0; display: inline-grid; }
main:has(.console) form > button { justify-self: start; }
td form.action { margin: 0; }
td form.action button { padding: .25rem .5rem; font-size: .85rem; }
button.danger { border: 1px solid #b00020; color: #b00020; background: transparent; border-radius: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.facts dd { margin: 0; }
@media (max-width: 40rem) { dl.facts { grid-template-columns: 1fr; gap: 0; } dl.facts dd { margin-bottom: .5rem; } }
fieldset { display: grid; gap: .4rem; border: 1px solid #8884; }
label.check { display: flex; gap: .4rem; align-items: center; }
nav.pages { display: flex; gap: 1rem; margin: 1rem 0; }
code.small { font-size: .75rem; }
"#;
