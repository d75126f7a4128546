//! `/admin/v1/policy`, `/admin/v1/audit-events`, `/admin/v1/app-blocks`,
//! `/admin/v1/clients…`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::ops;
use super::ops::apps;
use super::views::*;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::policy::OrgPolicy;

#[utoipa::path(get, path = "/admin/v1/policy", tag = "policy",
    responses((status = 200, body = OrgPolicy)),
    security(("bearer" = ["admin:security"])))]
pub async fn get_policy(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::policy(&state, &admin.ctx).await?))
}

#[utoipa::path(put, path = "/admin/v1/policy", tag = "policy", request_body = OrgPolicy,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = OrgPolicy),
        (status = 409, description = "the policy asks for passkeys while they are off (`passkeys_off`)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn put_policy(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<OrgPolicy>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::put_policy(&state, &admin.ctx, &body).await?))
}

#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage)),
    security(("bearer" = ["admin:audit:read"])))]
pub async fn audit_events(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::audit(&state, &admin.ctx, q.into_inner()).await?))
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
    let file =
        ops::block_list_export(&state, &admin.ctx, q.format.as_deref().unwrap_or("csv")).await?;
    Ok(download(file))
}

/// A file as an attachment.
pub fn download(file: ops::Export) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    // Account data: no cache may keep it (the console's downloads too, not only the API's).
    for h in super::NO_STORE {
        res.insert_header(h);
    }
    res.content_type(file.content_type)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}\"", file.filename),
        ))
        .body(file.body)
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

#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = CreateClientRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 201, body = ClientView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn create_client(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateClientRequest>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let (c, secret) = apps::create_client(
        &state,
        &admin.ctx,
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
    // `Cache-Control: no-store` (it carries the secret) comes from the API scope.
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/v1/clients/{}", c.client_id)))
        .json(client_view(&c, secret)))
}

#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients",
    responses((status = 200, body = [ClientView])),
    security(("bearer" = ["admin:clients"])))]
pub async fn list_clients(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let list: Vec<ClientView> = apps::clients(&state, &admin.ctx)
        .await?
        .iter()
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
    let c = apps::client(&state, &admin.ctx, &id).await?;
    Ok(HttpResponse::Ok().json(client_view(&c, None)))
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn rotate_client_secret(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (c, secret) = apps::rotate_client_secret(&state, &admin.ctx, &id).await?;
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
    apps::disable_client(&state, &admin.ctx, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
