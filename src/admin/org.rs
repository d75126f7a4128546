//! `/admin/v1/policy`, `/admin/v1/audit-events`, `/admin/v1/app-blocks`,
//! `/admin/v1/clients…`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::views::*;
use crate::audit::action;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::policy::OrgPolicy;
use crate::store::admin::AuditFilter;

#[utoipa::path(get, path = "/admin/v1/policy", tag = "policy",
    responses((status = 200, body = OrgPolicy)),
    security(("bearer" = ["admin:security"])))]
pub async fn get_policy(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    Ok(HttpResponse::Ok().json(crate::policy::current(&state).await?))
}

#[utoipa::path(put, path = "/admin/v1/policy", tag = "policy", request_body = OrgPolicy,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = OrgPolicy)),
    security(("bearer" = ["admin:security"])))]
pub async fn put_policy(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<OrgPolicy>,
) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    let before = crate::policy::current(&state).await?;
    crate::policy::update(&state, &body).await?;
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        action::POLICY_UPDATED,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "before": before, "after": *body }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(crate::policy::current(&state).await?))
}

#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage)),
    security(("bearer" = ["admin:audit:read"])))]
pub async fn audit_events(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    admin.require("admin:audit:read")?;
    let q = q.into_inner();
    let limit = page_limit(&state, q.limit, 100)?;
    let before = cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_audit_filtered(
            state.org.id,
            &AuditFilter {
                actor_id: q.actor,
                subject_user_id: q.subject,
                action: q.action,
                from: q.from,
                to: q.to,
                before,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<AuditEventView> = rows
        .iter()
        .take(limit as usize)
        .map(|e| AuditEventView {
            id: e.id,
            at: e.at,
            actor_kind: e.actor_kind.clone(),
            actor_id: e.actor_id,
            subject_user_id: e.subject_user_id,
            action: e.action.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let next_cursor = if more {
        items.last().map(|e| encode_cursor(e.at, e.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AuditPage { items, next_cursor }))
}

/// The block list: name, e-mail, login id, blocked since, by whom.
#[utoipa::path(get, path = "/admin/v1/app-blocks", tag = "security", params(ExportQuery),
    responses((status = 200, description = "the block list as CSV or XLSX", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["admin:security"])))]
pub async fn app_blocks(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    let users = state.store.list_app_blocked(state.org.id).await?;
    let header = ["name", "email", "login_id", "blocked_since", "blocked_by"];
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            [
                u.display_name.clone(),
                u.email.clone(),
                u.login_id.clone().unwrap_or_default(),
                u.app_blocked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                u.app_blocked_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    match q.format.as_deref().unwrap_or("csv") {
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header).map_err(AppError::internal)?;
            for r in &rows {
                // Cells that a spreadsheet would run as formulas are prefixed with '.
                let safe: Vec<String> = r.iter().map(|c| neutralise_formula(c)).collect();
                w.write_record(&safe).map_err(AppError::internal)?;
            }
            let body = w.into_inner().map_err(AppError::internal)?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    "content-disposition",
                    "attachment; filename=\"app-blocks.csv\"",
                ))
                .body(body))
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (c, h) in header.iter().enumerate() {
                sheet
                    .write_string(0, c as u16, *h)
                    .map_err(AppError::internal)?;
            }
            for (i, r) in rows.iter().enumerate() {
                for (c, v) in r.iter().enumerate() {
                    sheet
                        .write_string(i as u32 + 1, c as u16, v)
                        .map_err(AppError::internal)?;
                }
            }
            let bytes = book.save_to_buffer().map_err(AppError::internal)?;
            Ok(HttpResponse::Ok()
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .insert_header((
                    "content-disposition",
                    "attachment; filename=\"app-blocks.xlsx\"",
                ))
                .body(bytes))
        }
        _ => Err(
            AppError::bad_request("invalid_format", "format must be csv or xlsx")
                .with_field("format", "csv or xlsx"),
        ),
    }
}

fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------- clients

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    pub name: String,
    /// confidential, public or service
    pub kind: String,
    /// web or native
    pub application_type: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Space-separated scopes the client may ask for.
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    /// RS256, ES256 or EdDSA
    pub signing_alg: Option<String>,
    /// Public JWK Set for private_key_jwt.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub first_party: bool,
    /// May use the Device Authorization Grant (RFC 8628).
    #[serde(default)]
    pub device_grant: bool,
    /// Device-flow tokens need an administrator's approval after the user's (implies
    /// `device_grant`; no redirect URIs).
    #[serde(default)]
    pub requires_admin_approval: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    /// Only in the response that created or rotated it.
    pub client_secret: Option<String>,
    pub name: String,
    pub kind: String,
    pub application_type: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub grant_types: Vec<String>,
    pub signing_alg: String,
    pub backchannel_logout_uri: Option<String>,
    pub first_party: bool,
    pub requires_admin_approval: bool,
}

fn client_view(c: &crate::clients::Client, secret: Option<String>) -> ClientView {
    let v = crate::clients::ClientView::from(c);
    ClientView {
        client_id: c.client_id.clone(),
        client_secret: secret,
        name: v.name,
        kind: v.kind,
        application_type: v.application_type,
        token_endpoint_auth_method: v.token_endpoint_auth_method,
        redirect_uris: v.redirect_uris,
        post_logout_redirect_uris: v.post_logout_redirect_uris,
        scope: v.scope,
        grant_types: v.grant_types,
        signing_alg: v.signing_alg,
        backchannel_logout_uri: v.backchannel_logout_uri,
        first_party: v.first_party,
        requires_admin_approval: v.requires_admin_approval,
    }
}

async fn load_client(state: &Core, id: &str) -> AppResult<crate::clients::Client> {
    state
        .store
        .get_client(id)
        .await?
        .filter(|c| c.org_id == state.org.id && !c.disabled)
        .ok_or_else(|| AppError::not_found("no such client"))
}

#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = CreateClientRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 201, body = ClientView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn create_client(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateClientRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:clients")?;
    let b = body.into_inner();
    let r = crate::clients::register(
        &state,
        crate::clients::NewClient {
            name: b.name,
            kind: b.kind,
            application_type: b.application_type,
            redirect_uris: b.redirect_uris,
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            scopes: b.scope,
            auth_method: b.token_endpoint_auth_method,
            signing_alg: b.signing_alg,
            jwks: b.jwks.map(|j| j.to_string()),
            backchannel_logout_uri: b.backchannel_logout_uri,
            first_party: b.first_party,
            client_id: None,
            device_grant: b.device_grant,
            requires_admin_approval: b.requires_admin_approval,
        },
    )
    .await?;
    let c = load_client(&state, &r.client_id).await?;
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        action::CLIENT_CREATED,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "client_id": c.client_id }),
    )
    .await?;
    // `Cache-Control: no-store` (it carries the secret) comes from the API scope.
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/v1/clients/{}", c.client_id)))
        .json(client_view(&c, r.client_secret)))
}

#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients",
    responses((status = 200, body = [ClientView])),
    security(("bearer" = ["admin:clients"])))]
pub async fn list_clients(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    admin.require("admin:clients")?;
    let list: Vec<ClientView> = state
        .store
        .list_clients(state.org.id)
        .await?
        .iter()
        .filter(|c| !c.disabled)
        .map(|c| client_view(c, None))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn get_client(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require("admin:clients")?;
    Ok(HttpResponse::Ok().json(client_view(&load_client(&state, &id).await?, None)))
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn rotate_client_secret(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require("admin:clients")?;
    let c = load_client(&state, &id).await?;
    let secret = crate::clients::rotate_secret(&state, &c.client_id).await?;
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        action::CLIENT_SECRET_ROTATED,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "client_id": c.client_id }),
    )
    .await?;
    // `Cache-Control: no-store` (it carries the secret) comes from the API scope.
    Ok(HttpResponse::Ok().json(client_view(&c, Some(secret))))
}

#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 204, description = "disabled; its grants are revoked"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn delete_client(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin.require("admin:clients")?;
    let c = load_client(&state, &id).await?;
    state
        .store
        .disable_client(&c.client_id, state.clock.now())
        .await?;
    crate::cache::client_changed(&state, &c.client_id).await;
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        action::CLIENT_DELETED,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "client_id": c.client_id }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
