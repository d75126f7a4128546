//! `/admin/v1/device-requests`: device authorizations (RFC 8628) of clients flagged
//! `requires_admin_approval`, and their approval or denial by admins (scopes
//! `admin:users:read` / `admin:users:write`) — the same decision as the page linked from the notification.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Admin;
use super::views::Problem;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::store::oidc::DeviceAuthorization;

/// A device authorization request (codes are never shown).
#[derive(Serialize, ToSchema)]
pub struct DeviceRequestView {
    pub id: Uuid,
    pub client_id: String,
    /// The user who answered it (none while `pending`).
    pub user_id: Option<Uuid>,
    pub scope: String,
    /// pending, awaiting_admin, approved, denied, used (or expired).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_at: Option<DateTime<Utc>>,
    pub admin_decided_by: Option<String>,
}

pub fn view(d: DeviceAuthorization, now: DateTime<Utc>) -> DeviceRequestView {
    let open = matches!(d.status.as_str(), "pending" | "awaiting_admin" | "approved");
    DeviceRequestView {
        id: d.id,
        client_id: d.client_id,
        user_id: d.user_id,
        scope: d.scope,
        status: if open && d.expires_at <= now {
            "expired".into()
        } else {
            d.status
        },
        created_at: d.created_at,
        expires_at: d.expires_at,
        user_decided_at: d.user_decided_at,
        admin_decided_at: d.admin_decided_at,
        admin_decided_by: d.admin_decided_by,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// pending, awaiting_admin, approved, denied or used
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/admin/v1/device-requests", tag = "clients", params(ListQuery),
    responses((status = 200, body = [DeviceRequestView])),
    security(("bearer" = ["admin:users:read"])))]
pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let rows = super::ops::device_requests(&state, &admin.ctx, q.status.as_deref()).await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(rows.into_iter().map(|d| view(d, now)).collect::<Vec<_>>()))
}

async fn decide(
    admin: Admin,
    state: web::Data<AppState>,
    id: Uuid,
    approve: bool,
) -> AppResult<HttpResponse> {
    let d = super::ops::decide_device_request(&state, &admin.ctx, id, approve).await?;
    Ok(HttpResponse::Ok().json(view(d, state.clock.now())))
}

#[utoipa::path(post, path = "/admin/v1/device-requests/{id}/approve", tag = "clients", params(("id" = Uuid, Path)),
    responses((status = 200, body = DeviceRequestView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:write"])))]
pub async fn approve(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    decide(admin, state, *id, true).await
}

#[utoipa::path(post, path = "/admin/v1/device-requests/{id}/deny", tag = "clients", params(("id" = Uuid, Path)),
    responses((status = 200, body = DeviceRequestView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:write"])))]
pub async fn deny(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    decide(admin, state, *id, false).await
}
