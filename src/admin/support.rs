//! `/admin/v1/support-requests`: support staff's requests for access, and their
//! approval or denial by admins (scope `admin:support`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Admin;
use super::views::Problem;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::store::support::SupportRequest;
use crate::support::requests::{self, NewRequest};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSupportRequest {
    /// The support engineer asking (a user with the `support` role).
    pub support_user_id: Uuid,
    /// The account they need to get into.
    pub user_id: Uuid,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    #[serde(default)]
    pub readonly: bool,
    /// Client ids the access covers (empty: every client).
    #[serde(default)]
    pub client_ids: Vec<String>,
    #[schema(minimum = 1)]
    pub duration_secs: Option<i64>,
}

#[utoipa::path(post, path = "/admin/v1/support-requests", tag = "support", request_body = CreateSupportRequest,
    responses((status = 201, body = SupportRequest),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:support"])))]
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateSupportRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:support")?;
    let b = body.into_inner();
    let r = requests::create(
        &state,
        NewRequest {
            support_user_id: b.support_user_id,
            user_id: b.user_id,
            reason: b.reason,
            readonly: b.readonly,
            client_ids: b.client_ids,
            duration_secs: b.duration_secs,
        },
        &admin.ctx.actor,
        &admin.ctx.meta,
    )
    .await?;
    Ok(HttpResponse::Created().json(r))
}

#[utoipa::path(get, path = "/admin/v1/support-requests", tag = "support",
    responses((status = 200, body = [SupportRequest])),
    security(("bearer" = ["admin:support"])))]
pub async fn list(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(super::ops::support_requests(&state, &admin.ctx).await?))
}

async fn decide(
    admin: Admin,
    state: web::Data<AppState>,
    id: Uuid,
    approve: bool,
) -> AppResult<HttpResponse> {
    let r = super::ops::decide_support_request(&state, &admin.ctx, id, approve).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(post, path = "/admin/v1/support-requests/{id}/approve", tag = "support", params(("id" = Uuid, Path)),
    responses((status = 200, body = SupportRequest),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:support"])))]
pub async fn approve(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    decide(admin, state, *id, true).await
}

#[utoipa::path(post, path = "/admin/v1/support-requests/{id}/deny", tag = "support", params(("id" = Uuid, Path)),
    responses((status = 200, body = SupportRequest),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:support"])))]
pub async fn deny(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    decide(admin, state, *id, false).await
}
