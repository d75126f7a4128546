//! `/admin/apps`: OIDC clients and SAML service providers — list, register, rotate a
//! client secret (shown once), disable (both after a step-up).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{done, error_text, notice, step_up, table, Col, Console, ConsoleForm, Page};
use crate::admin::ops::apps;
use crate::clients::saml::SpSettings;
use crate::clients::NewClient;
use crate::error::{AppError, AppResult, Kind};
use crate::http::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/apps").route(web::get().to(list)))
        .service(web::resource("/admin/apps/clients").route(web::post().to(create_client)))
        .service(
            web::resource("/admin/apps/clients/{id}/{action}").route(web::post().to(client_action)),
        )
        .service(web::resource("/admin/apps/saml").route(web::post().to(create_sp)))
        .service(web::resource("/admin/apps/saml/disable").route(web::post().to(disable_sp)))
        .service(web::resource("/admin/apps/identity-providers").route(web::post().to(create_idp)))
        .service(
            web::resource("/admin/apps/identity-providers/{slug}/{action}")
                .route(web::post().to(idp_action)),
        );
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn list(
    req: HttpRequest,
    c: Console,
    state: web::Data<AppState>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    page(&req, &c, &state, q.done.as_deref(), None, None).await
}

/// The apps page; `secret` shows a client secret once (after registering or
/// rotating); `failed` says why a registration was refused, with what was typed.
async fn page(
    req: &HttpRequest,
    c: &Console,
    state: &AppState,
    done_what: Option<&str>,
    secret: Option<(&str, &str)>,
    failed: Option<(&AppError, &HashMap<String, String>)>,
) -> AppResult<HttpResponse> {
    let l = c.locale;
    let clients = apps::clients(state, &c.ctx).await?;
    let sps = apps::service_providers(state, &c.ctx).await?;
    let idps = crate::federation::providers::list(state, &c.ctx).await?;
    let page = Page::new(req, state);
    let kept = |k: &str| -> String {
        failed
            .and_then(|(_, f)| f.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let small_form = |action: &str, name: &str, label: &str, extra: Markup| {
        html! {
            form.action method="post" action=(action) {
                (page.token())
                (extra)
                button type="submit" data-action=(name) class="danger" { (label) }
            }
        }
    };
    let body = html! {
        h1 { (l.t("console.apps.title")) }
        (notice(l, done_what))
        @if let Some((id, s)) = secret {
            div.notice role="status" {
                p { (l.t("console.apps.secret_once")) }
                dl.facts {
                    dt { "client_id" } dd { code #client-id { (id) } }
                    dt { "client_secret" } dd { code #client-secret { (s) } }
                }
            }
        }
        @if let Some((e, _)) = failed { p.error role="alert" { (error_text(l, e)) } }
        section aria-labelledby="clients-h" {
            h2 #clients-h { (l.t("console.apps.clients")) }
            (table("", &[Col::Text(l.t("console.members.name")), Col::Text("client_id"), Col::Text(l.t("console.apps.kind")), Col::Text(l.t("console.apps.redirect_uris")), Col::Hidden(l.t("console.actions"))], html! {
                    @for cl in &clients {
                        @let base = format!("/admin/apps/clients/{}", urlencode(&cl.client_id));
                        tr {
                            td { (cl.name) }
                            td { code.small { (cl.client_id) } }
                            td { (cl.kind) }
                            td { (crate::clients::ClientView::from(cl).redirect_uris.join(" ")) }
                            td.actions {
                                @if cl.kind == crate::clients::CONFIDENTIAL || cl.kind == crate::clients::SERVICE {
                                    (small_form(&format!("{base}/rotate-secret"), "rotate-secret", l.t("console.apps.rotate"), html!{}))
                                }
                                (small_form(&format!("{base}/disable"), "disable-client", l.t("console.apps.disable"), html!{}))
                            }
                        }
                    }
                }))
            h3 { (l.t("console.apps.register_client")) }
            form method="post" action="/admin/apps/clients" {
                (page.token())
                label for="client-name" { (l.t("console.members.name")) }
                input #client-name type="text" name="name" value=(kept("name")) maxlength="200" required;
                label for="client-kind" { (l.t("console.apps.kind")) }
                select #client-kind name="kind" {
                    @for k in [crate::clients::CONFIDENTIAL, crate::clients::PUBLIC, crate::clients::SERVICE] {
                        option value=(k) selected[kept("kind") == k] { (k) }
                    }
                }
                label for="redirect-uris" { (l.t("console.apps.redirect_uris_hint")) }
                textarea #redirect-uris name="redirect_uris" rows="3" { (kept("redirect_uris")) }
                button type="submit" data-action="register-client" { (l.t("console.apps.register")) }
            }
        }
        section aria-labelledby="sps-h" {
            h2 #sps-h { (l.t("console.apps.sps")) }
            (table("", &[Col::Text(l.t("console.members.name")), Col::Text("entityID"), Col::Hidden(l.t("console.actions"))], html! {
                    @for sp in &sps {
                        tr {
                            td { (sp.name) }
                            td { code.small { (sp.entity_id) } }
                            td { (small_form("/admin/apps/saml/disable", "disable-sp", l.t("console.apps.disable"), html! {
                                input type="hidden" name="entity_id" value=(sp.entity_id);
                            })) }
                        }
                    }
                }))
            h3 { (l.t("console.apps.register_sp")) }
            form method="post" action="/admin/apps/saml" {
                (page.token())
                label for="sp-name" { (l.t("console.members.name")) }
                input #sp-name type="text" name="sp_name" value=(kept("sp_name")) maxlength="200";
                label for="sp-metadata" { (l.t("console.apps.metadata")) }
                textarea #sp-metadata name="metadata" rows="6" required { (kept("metadata")) }
                button type="submit" data-action="register-sp" { (l.t("console.apps.register")) }
            }
        }
        section aria-labelledby="idps-h" {
            h2 #idps-h { (l.t("console.idp.title")) }
            p.hint { (l.t("console.idp.hint")) }
            (table("idps", &[Col::Text(l.t("console.members.name")), Col::Text("slug"), Col::Text(l.t("console.idp.issuer")), Col::Text(l.t("console.idp.redirect_uri")), Col::Hidden(l.t("console.actions"))], html! {
                    @for p in &idps {
                        tr data-provider=(p.slug) {
                            td { (p.display_name) @if p.disabled { " (" (l.t("console.idp.disabled")) ")" } }
                            td { code.small { (p.slug) } }
                            td { code.small { (p.issuer) } }
                            td { code.small { (p.redirect_uri) } }
                            td { @if p.disabled {
                                (small_form(&format!("/admin/apps/identity-providers/{}/enable", urlencode(&p.slug)), "enable-idp", l.t("console.idp.enable"), html!{}))
                            } @else {
                                (small_form(&format!("/admin/apps/identity-providers/{}/disable", urlencode(&p.slug)), "disable-idp", l.t("console.apps.disable"), html!{}))
                            } }
                        }
                    }
                }))
            h3 { (l.t("console.idp.register")) }
            form method="post" action="/admin/apps/identity-providers" {
                (page.token())
                label for="idp-slug" { "slug" }
                input #idp-slug type="text" name="slug" value=(kept("slug")) maxlength="40" pattern="[a-z0-9][a-z0-9\\-]*" required;
                label for="idp-name" { (l.t("console.members.name")) }
                input #idp-name type="text" name="display_name" value=(kept("display_name")) maxlength="100" required;
                label for="idp-issuer" { (l.t("console.idp.issuer")) }
                input #idp-issuer type="url" name="issuer" value=(kept("issuer")) maxlength="500" required;
                label for="idp-client-id" { "client_id" }
                input #idp-client-id type="text" name="client_id" value=(kept("client_id")) maxlength="200" required;
                label for="idp-client-secret" { "client_secret" }
                input #idp-client-secret type="password" name="client_secret" autocomplete="off" maxlength="500" required;
                label for="idp-scopes" { (l.t("console.idp.scopes")) }
                input #idp-scopes type="text" name="scopes" value=(if failed.is_some() { kept("scopes") } else { "openid email profile".into() }) maxlength="500";
                label.check { input type="checkbox" name="create_users" value="1" checked[!kept("create_users").is_empty()]; " " (l.t("console.idp.create_users")) }
                label.check { input type="checkbox" name="link_by_verified_email" value="1" checked[!kept("link_by_verified_email").is_empty()]; " " (l.t("console.idp.link_by_verified_email")) }
                label.check { input type="checkbox" name="require_local_mfa" value="1" checked[failed.is_none() || !kept("require_local_mfa").is_empty()]; " " (l.t("console.idp.require_local_mfa")) }
                button type="submit" data-action="register-idp" { (l.t("console.apps.register")) }
            }
        }
    };
    let status = failed.map_or(StatusCode::OK, |(e, _)| crate::http::errors::status(e.kind));
    Ok(page.render(state, c, status, l.t("console.apps.title"), body))
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Refusals of what was typed come back on the page; the rest are errors.
fn typed(e: &AppError) -> bool {
    matches!(
        e.kind,
        Kind::BadRequest | Kind::Conflict | Kind::Unprocessable
    )
}

async fn create_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(c, f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let n = NewClient {
        name: get("name"),
        kind: get("kind"),
        redirect_uris: get("redirect_uris")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        ..Default::default()
    };
    match apps::create_client(&state, &c.ctx, n).await {
        Ok((cl, secret)) => match secret {
            Some(s) => page(&req, &c, &state, None, Some((&cl.client_id, &s)), None).await,
            None => Ok(done("/admin/apps", "client_registered")),
        },
        Err(e) if typed(&e) => page(&req, &c, &state, None, None, Some((&e, &f))).await,
        Err(e) => Err(e),
    }
}

async fn client_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    ConsoleForm(c, mut f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let key = match action.as_str() {
        "rotate-secret" => "console.apps.rotate",
        "disable" => "console.apps.disable",
        _ => return Err(AppError::not_found("no such action")),
    };
    // Known and allowed before the password is asked for.
    let cl = apps::client(&state, &c.ctx, &id).await?;
    let post_to = format!("/admin/apps/clients/{}/{action}", urlencode(&cl.client_id));
    let what = format!("{} — {}", c.locale.t(key), cl.name);
    if let Some(r) = step_up(&req, &c, &state, &post_to, &what, "/admin/apps", &mut f).await? {
        return Ok(r);
    }
    if action == "rotate-secret" {
        let (cl, secret) = apps::rotate_client_secret(&state, &c.ctx, &id).await?;
        page(&req, &c, &state, None, Some((&cl.client_id, &secret)), None).await
    } else {
        apps::disable_client(&state, &c.ctx, &id).await?;
        Ok(done("/admin/apps", "client_disabled"))
    }
}

async fn create_sp(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(c, f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let name = f
        .get("sp_name")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let metadata = f.get("metadata").map(String::as_str).unwrap_or("");
    let settings = SpSettings {
        name,
        ..Default::default()
    };
    match apps::register_sp(&state, &c.ctx, metadata, settings).await {
        Ok(_) => Ok(done("/admin/apps", "sp_registered")),
        Err(e) if typed(&e) => page(&req, &c, &state, None, None, Some((&e, &f))).await,
        Err(e) => Err(e),
    }
}

async fn disable_sp(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(c, mut f): ConsoleForm,
) -> AppResult<HttpResponse> {
    c.ctx.require(crate::users::actions::scope::CLIENTS)?;
    let entity = f.get("entity_id").cloned().unwrap_or_default();
    let what = format!("{} — {entity}", c.locale.t("console.apps.disable"));
    if let Some(r) = step_up(
        &req,
        &c,
        &state,
        "/admin/apps/saml/disable",
        &what,
        "/admin/apps",
        &mut f,
    )
    .await?
    {
        return Ok(r);
    }
    apps::disable_sp(&state, &c.ctx, &entity).await?;
    Ok(done("/admin/apps", "sp_disabled"))
}

async fn create_idp(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(c, f): ConsoleForm,
) -> AppResult<HttpResponse> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let on = |k: &str| f.get(k).is_some_and(|v| !v.is_empty());
    let n = crate::federation::providers::NewProvider {
        slug: get("slug"),
        display_name: get("display_name"),
        issuer: get("issuer"),
        client_id: get("client_id"),
        client_secret: f.get("client_secret").cloned().unwrap_or_default(),
        scopes: get("scopes")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        claim_email: None,
        claim_name: None,
        create_users: on("create_users"),
        link_by_verified_email: on("link_by_verified_email"),
        require_local_mfa: on("require_local_mfa"),
    };
    match crate::federation::providers::create(&state, &c.ctx, n).await {
        Ok(_) => Ok(done("/admin/apps", "idp_registered")),
        Err(e) if typed(&e) => page(&req, &c, &state, None, None, Some((&e, &f))).await,
        Err(e) => Err(e),
    }
}

async fn idp_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    ConsoleForm(c, _): ConsoleForm,
) -> AppResult<HttpResponse> {
    let (slug, action) = path.into_inner();
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::not_found("no such action")),
    };
    let patch = crate::federation::providers::ProviderPatch {
        disabled: Some(disabled),
        ..Default::default()
    };
    crate::federation::providers::update(&state, &c.ctx, &slug, patch).await?;
    Ok(done(
        "/admin/apps",
        if disabled {
            "idp_disabled"
        } else {
            "idp_enabled"
        },
    ))
}
