//! `/admin/v1/identity-providers`: upstream OpenID providers users can sign in with
//! (scope `admin:clients`), and unlinking a member's upstream account.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::auth::Admin;
use super::views::Problem;
use crate::error::AppResult;
use crate::federation::providers::{self, NewProvider, ProviderPatch, ProviderView};
use crate::http::state::AppState;

#[utoipa::path(get, path = "/admin/v1/identity-providers", tag = "clients",
    responses((status = 200, body = [ProviderView])),
    security(("bearer" = ["admin:clients"])))]
pub async fn list(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(providers::list(&state, &admin.ctx).await?))
}

#[utoipa::path(post, path = "/admin/v1/identity-providers", tag = "clients", request_body = NewProvider,
    responses((status = 201, body = ProviderView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<NewProvider>,
) -> AppResult<HttpResponse> {
    let v = providers::create(&state, &admin.ctx, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(get, path = "/admin/v1/identity-providers/{slug}", tag = "clients",
    params(("slug" = String, Path)),
    responses((status = 200, body = ProviderView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn get(
    admin: Admin,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(providers::get(&state, &admin.ctx, &slug).await?))
}

#[utoipa::path(patch, path = "/admin/v1/identity-providers/{slug}", tag = "clients",
    params(("slug" = String, Path)), request_body = ProviderPatch,
    responses((status = 200, body = ProviderView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the new slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn patch(
    admin: Admin,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Json<ProviderPatch>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(providers::update(&state, &admin.ctx, &slug, body.into_inner()).await?))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/linked-logins/{provider}", tag = "security",
    params(("id" = Uuid, Path), ("provider" = String, Path)),
    responses((status = 204, description = "unlinked; the sessions that came through it ended"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn unlink(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> AppResult<HttpResponse> {
    let (id, provider) = path.into_inner();
    super::ops::unlink(&state, &admin.ctx, id, &provider).await?;
    Ok(HttpResponse::NoContent().finish())
}
