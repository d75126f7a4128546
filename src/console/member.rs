//! `/admin/members/{id}`: one member's security — profile and status, last access,
//! password, MFA, lock, app block, sessions and the access history (each with its
//! own disconnect), devices, support grants — and every action on them, each a form
//! posted to `/admin/members/{id}/{action}`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use uuid::Uuid;

use super::members::status_text;
use super::{done, error_text, notice, step_up, table, Col, Console, ConsoleForm, Page};
use crate::admin::ops;
use crate::admin::views::SessionView;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::i18n::Locale;
use crate::users::actions::{self, scope};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/members/{id}").route(web::get().to(show)))
        .service(web::resource("/admin/members/{id}/{action}").route(web::post().to(act)));
}

/// Every action of the member page: its name (the form's `data-action` and the last
/// path segment), the scope it needs, and whether it needs a fresh password first.
const ACTIONS: &[(&str, &str, bool)] = &[
    ("disconnect-session", scope::SESSIONS, false),
    ("disconnect-all", scope::SESSIONS, false),
    ("suspend", scope::SECURITY, true),
    ("unsuspend", scope::SECURITY, false),
    ("unlock", scope::SECURITY, false),
    ("reset-mfa", scope::SECURITY, true),
    ("remove-passkey", scope::SECURITY, true),
    ("unlink-login", scope::SECURITY, true),
    ("app-block", scope::SECURITY, false),
    ("app-unblock", scope::SECURITY, false),
    ("request-password-change", scope::SECURITY, false),
    ("set-password", scope::SECURITY, true),
    ("change-login-id", scope::USERS_WRITE, true),
    ("delete", scope::USERS_WRITE, true),
    ("restore", scope::USERS_WRITE, false),
    ("revoke-grant", scope::SUPPORT, false),
];

fn action(name: &str) -> Option<(&'static str, &'static str, bool)> {
    ACTIONS.iter().copied().find(|(n, _, _)| *n == name)
}

#[derive(serde::Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let id = super::path_id(&id)?;
    member_page(&req, &c, &state, id, q.done.as_deref(), None).await
}

/// The member page; `failed` shows why an action was refused (with its status), the
/// fields the admin typed kept.
async fn member_page(
    req: &HttpRequest,
    c: &Console,
    state: &AppState,
    id: Uuid,
    done_what: Option<&str>,
    failed: Option<(&AppError, &HashMap<String, String>)>,
) -> AppResult<HttpResponse> {
    let l = c.locale;
    let (user, account, security) = ops::member_security(state, &c.ctx, id).await?;
    let sessions_scope = c.allows(scope::SESSIONS);
    let (live, history, devices) = if sessions_scope {
        (
            ops::sessions(state, &c.ctx, id).await?,
            Some(ops::access_history(state, &c.ctx, id).await?),
            ops::devices(state, &c.ctx, id).await?,
        )
    } else {
        (Vec::new(), None, Vec::new())
    };
    let grants = if c.allows(scope::SUPPORT) {
        Some(ops::grants_of(state, &c.ctx, id).await?)
    } else {
        None
    };
    let page = Page::new(req, state);
    let deleted = user.status == "deleted";
    let can = |name: &str| action(name).is_some_and(|(_, s, _)| c.allows(s));
    let form = |name: &str, label: &str, extra: Markup| -> Markup {
        form_for(&page, id, name, label, extra)
    };
    let kept = |k: &str| -> String {
        failed
            .and_then(|(_, f)| f.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let login_id_changed = account.login_id_changed_at.is_some();
    let restore_days = state.cfg.retention.deleted_user_days;
    let body = html! {
        p.crumbs { a href="/admin/members" { (l.t("console.members.title")) } }
        h1 { (user.display_name) }
        (notice(l, done_what))
        @if let Some((e, _)) = failed { p.error role="alert" { (error_text(l, e)) } }
        section aria-labelledby="profile-h" {
            h2 #profile-h { (l.t("console.member.profile")) }
            dl.facts {
                dt { (l.t("account.email")) } dd { (user.email) }
                dt { (l.t("account.login_id")) } dd { (user.login_id.as_deref().unwrap_or("—")) }
                dt { (l.t("console.member.user_id")) } dd { code { (user.id.to_string()) } }
                dt { (l.t("console.members.status")) } dd #member-status { (status_text(l, &user, restore_days)) }
                dt { (l.t("console.member.roles")) } dd { @if user.roles.is_empty() { "—" } @else { (user.roles.join(", ")) } }
                dt { (l.t("console.member.created")) } dd { (ops::when(user.created_at)) }
            }
            @if deleted {
                @if can("restore") { (form("restore", l.t("console.action.restore"), html!{})) }
            } @else {
                div.actions {
                    @if can("suspend") && user.status != "suspended" { (form("suspend", l.t("console.action.suspend"), html!{})) }
                    @if can("unsuspend") && user.status == "suspended" { (form("unsuspend", l.t("console.action.unsuspend"), html!{})) }
                    @if can("delete") { (form("delete", l.t("console.action.delete"), html!{})) }
                }
            }
        }
        @if !deleted {
            section aria-labelledby="security-h" {
                h2 #security-h { (l.t("console.member.security")) }
                dl.facts {
                    dt { (l.t("console.member.last_access")) }
                    dd #last-access {
                        @if let Some(a) = &security.last_access {
                            (ops::when(a.at))
                            @if let Some(env) = a.environment.short() { " · " (env) }
                            @if let Some(ip) = &a.ip { " · " (ip) }
                            @if let Some(cl) = &a.client { " · " (cl) }
                        } @else { (l.t("console.never")) }
                    }
                    dt { (l.t("console.member.password_changed")) }
                    dd { (security.last_password_change.map(ops::when).unwrap_or_else(|| "—".into())) }
                    dt { (l.t("console.member.change_requested")) }
                    dd #change-requested {
                        @if security.password_change_required {
                            (l.t("console.yes"))
                            @if let Some(t) = security.password_change_requested_at { " (" (ops::when(t)) ")" }
                        } @else { (l.t("console.no")) }
                    }
                    dt { (l.t("console.members.mfa")) }
                    dd #mfa-state {
                        @if security.mfa.enabled {
                            (l.t("console.on")) " · " (l.t("console.member.backup_codes_left")) ": " (security.mfa.backup_codes_remaining)
                        } @else { (l.t("console.off")) }
                    }
                    dt { (l.t("console.member.lock")) }
                    dd #lock-state {
                        @if security.lock.locked {
                            (l.t("console.member.locked"))
                            @if let Some(t) = security.lock.locked_until { " (" (l.t("console.status.until")) " " (ops::when(t)) ")" }
                        } @else { (l.t("console.member.not_locked")) }
                        " · " (l.t("console.member.failed_logins")) ": " (security.lock.failed_logins)
                    }
                    dt { (l.t("console.members.app_block")) }
                    dd #app-block-state {
                        @if security.app_block.blocked {
                            (l.t("console.members.blocked"))
                            @if let Some(t) = security.app_block.since { " (" (ops::when(t)) ")" }
                        } @else { (l.t("console.members.not_blocked")) }
                    }
                    dt { (l.t("console.member.linked_logins")) }
                    dd #linked-logins { @if security.linked_logins.is_empty() { "—" } @else {
                        @for ll in &security.linked_logins {
                            div data-provider=(ll.provider) {
                                (ll.provider) @if let Some(e) = &ll.email { " (" (e) ")" }
                                " · " (l.t("federation.col_linked")) " " (ops::when(ll.linked_at))
                                @if let Some(t) = ll.last_used_at { " · " (l.t("federation.col_used")) " " (ops::when(t)) }
                                @if can("unlink-login") {
                                    (form("unlink-login", l.t("federation.unlink"), html! { input type="hidden" name="provider" value=(ll.provider); }))
                                }
                            }
                        }
                    } }
                }
                div.actions {
                    @if can("reset-mfa") && security.mfa.enabled { (form("reset-mfa", l.t("console.action.reset_mfa"), html!{})) }
                    @if can("unlock") && security.lock.locked { (form("unlock", l.t("console.action.unlock"), html!{})) }
                    @if can("app-block") && !security.app_block.blocked { (form("app-block", l.t("console.action.app_block"), html!{})) }
                    @if can("app-unblock") && security.app_block.blocked { (form("app-unblock", l.t("console.action.app_unblock"), html!{})) }
                    @if can("request-password-change") { (form("request-password-change", l.t("console.action.request_password_change"), html!{})) }
                }
                @if can("set-password") {
                    (form("set-password", l.t("console.action.set_password"), html! {
                        label for="new_password" { (l.t("console.member.new_password")) }
                        input #new_password type="password" name="new_password" autocomplete="new-password" minlength="10" maxlength="256" required;
                        label.check {
                            input type="checkbox" name="require_change" value="1";
                            " " (l.t("console.member.require_change"))
                        }
                    }))
                }
                @if can("change-login-id") && !login_id_changed {
                    (form("change-login-id", l.t("console.action.change_login_id"), html! {
                        label for="login_id" { (l.t("console.member.new_login_id")) }
                        input #login_id type="text" name="login_id" value=(kept("login_id")) autocapitalize="none" spellcheck="false" minlength="3" maxlength="64" required;
                        p.hint { (l.t("console.member.login_id_once")) }
                    }))
                }
            }
            section aria-labelledby="passkeys-h" {
                h2 #passkeys-h { (l.t("passkeys.title")) }
                @if security.mfa.passkeys.is_empty() { p #passkeys-none { "—" } }
                @else {
                    (table("passkeys", &[Col::Text(l.t("passkeys.col_name")), Col::Text(l.t("passkeys.col_kind")), Col::Text(l.t("passkeys.col_created")), Col::Text(l.t("passkeys.col_used")), Col::Hidden(l.t("console.actions"))], html! {
                            @for k in &security.mfa.passkeys {
                                tr data-passkey-id=(k.id) {
                                    td { (k.name) }
                                    td { (crate::http::templates_passkeys::kind_label(l, &k.kind)) }
                                    td { (ops::when(k.created_at)) }
                                    td { @match k.last_used_at { Some(t) => (ops::when(t)), None => "—" } }
                                    td { @if can("remove-passkey") {
                                        (form("remove-passkey", l.t("passkeys.remove"), html! { input type="hidden" name="passkey_id" value=(k.id.to_string()); }))
                                    } }
                                }
                            }
                        }))
                }
            }
            @if sessions_scope {
                section aria-labelledby="sessions-h" {
                    h2 #sessions-h { (l.t("console.member.sessions")) }
                    (sessions_table(l, &page, id, &live, true))
                    @if !live.is_empty() && can("disconnect-all") {
                        (form("disconnect-all", l.t("console.action.disconnect_all"), html!{}))
                    }
                }
                @if let Some(h) = &history {
                    section aria-labelledby="history-h" {
                        h2 #history-h { (l.t("console.member.history")) }
                        p.hint { (l.t("console.member.history_since")) " " (ops::when(h.since)) }
                        (sessions_table(l, &page, id, &h.sessions, can("disconnect-session")))
                        h3 { (l.t("console.member.sign_ins")) }
                        (table("", &[Col::Text(l.t("console.member.time")), Col::Text(l.t("console.member.result")), Col::Text(l.t("console.member.environment")), Col::Text(l.t("account.session_ip"))], html! {
                                @for s in h.sign_ins.iter().take(200) {
                                    tr { td { (ops::when(s.at)) } td { (s.result) } td { (env_label(&s.environment)) } td { (s.ip.as_deref().unwrap_or("—")) } }
                                }
                            }))
                    }
                }
                section aria-labelledby="devices-h" {
                    h2 #devices-h { (l.t("console.member.devices")) }
                    (table("", &[Col::Text(l.t("console.member.environment")), Col::Text(l.t("console.member.first_seen")), Col::Text(l.t("console.member.last_seen")), Col::Text(l.t("console.member.apps"))], html! {
                            @for d in &devices {
                                tr { td { (env_label(&d.environment)) } td { (ops::when(d.first_seen)) } td { (ops::when(d.last_seen)) } td { (d.clients.join(", ")) } }
                            }
                        }))
                }
            }
            @if let Some(grants) = &grants {
                section aria-labelledby="grants-h" {
                    h2 #grants-h { (l.t("console.member.grants")) }
                    @if grants.is_empty() { p { "—" } }
                    @else {
                        (table("", &[Col::Text(l.t("console.member.grant_state")), Col::Text(l.t("console.member.created")), Col::Text(l.t("console.member.expires")), Col::Text(l.t("console.member.readonly")), Col::Hidden(l.t("console.actions"))], html! {
                                @for g in grants {
                                    tr {
                                        td { (g.state) } td { (ops::when(g.created_at)) } td { (ops::when(g.expires_at)) }
                                        td { (if g.readonly { l.t("console.yes") } else { l.t("console.no") }) }
                                        td { @if g.state == "active" && can("revoke-grant") {
                                            (form("revoke-grant", l.t("console.action.revoke_grant"), html! { input type="hidden" name="grant_id" value=(g.id.to_string()); }))
                                        } }
                                    }
                                }
                            }))
                    }
                }
            }
        }
    };
    let status = failed.map_or(StatusCode::OK, |(e, _)| crate::http::errors::status(e.kind));
    Ok(page.render(state, c, status, &user.display_name, body))
}

fn env_label(e: &crate::useragent::Environment) -> String {
    e.short().unwrap_or_else(|| "—".into())
}

/// One action's form: posts to `/admin/members/{id}/{name}`, its button carrying
/// `data-action="{name}"`.
fn form_for(page: &Page, id: Uuid, name: &str, label: &str, extra: Markup) -> Markup {
    let danger = action(name).is_some_and(|(_, _, s)| s);
    html! {
        form.action method="post" action={ "/admin/members/" (id.to_string()) "/" (name) } {
            (page.token())
            (extra)
            button type="submit" data-action=(name) class=[danger.then_some("danger")] { (label) }
        }
    }
}

fn sessions_table(
    l: Locale,
    page: &Page,
    user: Uuid,
    rows: &[SessionView],
    disconnect: bool,
) -> Markup {
    html! {
        @if rows.is_empty() { p { (l.t("console.member.no_sessions")) } }
        @else {
            (table("", &[Col::Text(l.t("account.session_started")), Col::Text(l.t("console.member.last_seen")), Col::Text(l.t("console.member.environment")), Col::Text(l.t("account.session_ip")), Col::Text(l.t("console.member.apps")), Col::Text(l.t("console.member.session_state"))], html! {
                    @for s in rows {
                        tr {
                            td { (ops::when(s.created_at)) }
                            td { (ops::when(s.last_seen_at)) }
                            td { (env_label(&s.environment)) }
                            td { (s.ip.as_deref().unwrap_or("—")) }
                            td { (s.clients.join(", ")) }
                            td {
                                @if let Some(t) = s.ended_at {
                                    (l.t("console.member.ended")) " " (ops::when(t))
                                } @else if disconnect {
                                    (form_for(page, user, "disconnect-session", l.t("console.action.disconnect"), html! {
                                        input type="hidden" name="session_id" value=(s.id.to_string());
                                    }))
                                } @else { (l.t("console.member.live")) }
                            }
                        }
                    }
                }))
        }
    }
}

/// Runs one action; the fields are what the form posted.
async fn run(
    state: &AppState,
    c: &Console,
    id: Uuid,
    name: &str,
    f: &HashMap<String, String>,
) -> AppResult<()> {
    let ctx = &c.ctx;
    let uuid_field = |k: &str| -> AppResult<Uuid> {
        f.get(k)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| AppError::bad_request("invalid_request", format!("{k} is missing")))
    };
    match name {
        "disconnect-session" => {
            let sid = uuid_field("session_id")?;
            actions::force_logout(state, ctx, id, Some(sid)).await?;
        }
        "disconnect-all" => {
            actions::force_logout(state, ctx, id, None).await?;
        }
        "suspend" => {
            actions::suspend(state, ctx, id).await?;
        }
        "unsuspend" => {
            actions::unsuspend(state, ctx, id).await?;
        }
        "unlock" => {
            actions::unlock(state, ctx, id).await?;
        }
        "reset-mfa" => {
            ops::reset_mfa(state, ctx, id).await?;
        }
        "unlink-login" => {
            let provider = f.get("provider").map(String::as_str).unwrap_or("");
            ops::unlink(state, ctx, id, provider).await?;
        }
        "remove-passkey" => {
            let pid = f.get("passkey_id").map(String::as_str).unwrap_or("");
            ops::remove_passkey(state, ctx, id, pid).await?;
        }
        "app-block" => {
            actions::block_apps(state, ctx, id).await?;
        }
        "app-unblock" => {
            actions::unblock_apps(state, ctx, id).await?;
        }
        "request-password-change" => {
            actions::request_password_change(state, ctx, id).await?;
        }
        "set-password" => {
            let pw = f.get("new_password").map(String::as_str).unwrap_or("");
            let require = f.get("require_change").is_some_and(|v| !v.is_empty());
            actions::set_password(state, ctx, id, pw, require).await?;
        }
        "change-login-id" => {
            let v = f.get("login_id").map(String::as_str).unwrap_or("");
            actions::change_login_id(state, ctx, id, v).await?;
        }
        "delete" => {
            actions::delete(state, ctx, id).await?;
        }
        "restore" => {
            actions::restore(state, ctx, id).await?;
        }
        "revoke-grant" => {
            let g = uuid_field("grant_id")?;
            // Only a grant on this member's account, from this page.
            let grant = state.store.get_grant(g).await?;
            if grant.is_none_or(|x| x.user_id != id) {
                return Err(AppError::not_found("no such grant"));
            }
            ops::revoke_grant(state, ctx, g).await?;
        }
        _ => return Err(AppError::not_found("no such action")),
    }
    Ok(())
}

async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    ConsoleForm(c, mut f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let (id, name) = path.into_inner();
    let id = super::path_id(&id)?;
    let Some((name, needed, destructive)) = action(&name) else {
        return Err(AppError::not_found("no such action"));
    };
    c.ctx.require(needed)?;
    if destructive {
        let what = c
            .locale
            .t(&format!("console.action.{}", name.replace('-', "_")));
        let here = format!("/admin/members/{id}");
        let post_to = format!("{here}/{name}");
        if let Some(refused) = step_up(&req, &c, &state, &post_to, what, &here, &mut f).await? {
            return Ok(refused);
        }
    }
    match run(&state, &c, id, name, &f).await {
        Ok(()) => Ok(done(
            &format!("/admin/members/{id}"),
            &name.replace('-', "_"),
        )),
        // Refused for what was asked (a weak password, a state that does not allow
        // it): the page again, saying why, with what was typed.
        Err(e)
            if e.kind != crate::error::Kind::Internal
                && e.kind != crate::error::Kind::Forbidden =>
        {
            f.remove("new_password");
            member_page(&req, &c, &state, id, None, Some((&e, &f))).await
        }
        Err(e) => Err(e),
    }
}
