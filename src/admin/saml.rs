//! `/admin/v1/saml/service-providers`: SAML service providers, registered from their
//! metadata through the same code path as `monban saml-sp add`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::ops::apps;
use super::views::Problem;
use crate::clients::saml::{self as sp, SpView};
use crate::error::AppResult;
use crate::http::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpRequest {
    /// The SP's SAML metadata (an EntityDescriptor with an SPSSODescriptor), as XML.
    #[schema(min_length = 1, max_length = 60000)]
    pub metadata: String,
    pub name: Option<String>,
    /// persistent (default; pairwise and opaque), transient or email
    pub name_id_format: Option<String>,
    /// Attributes to release: email, name, groups (default: all).
    pub attributes: Option<Vec<String>>,
    /// response, assertion or both (default both)
    pub sign: Option<String>,
    #[serde(default)]
    pub encrypt_assertions: bool,
    #[serde(default)]
    pub idp_initiated: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityQuery {
    /// The SP's entityID.
    pub entity_id: String,
}

#[utoipa::path(get, path = "/admin/v1/saml/service-providers", tag = "clients",
    responses((status = 200, body = [SpView])),
    security(("bearer" = ["admin:clients"])))]
pub async fn list(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(apps::service_providers(&state, &admin.ctx).await?))
}

#[utoipa::path(post, path = "/admin/v1/saml/service-providers", tag = "clients", request_body = CreateSpRequest,
    responses((status = 201, body = SpView), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the metadata is refused", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateSpRequest>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let created = apps::register_sp(
        &state,
        &admin.ctx,
        &b.metadata,
        sp::SpSettings {
            name: b.name,
            name_id_format: b.name_id_format,
            attributes: b.attributes,
            sign: b.sign,
            encrypt_assertions: b.encrypt_assertions,
            idp_initiated: b.idp_initiated,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/admin/v1/saml/service-providers", tag = "clients", params(EntityQuery),
    responses((status = 204, description = "disabled: it gets no more assertions"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:clients"])))]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<EntityQuery>,
) -> AppResult<HttpResponse> {
    apps::disable_sp(&state, &admin.ctx, &q.entity_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
