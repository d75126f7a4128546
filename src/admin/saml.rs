//! `/admin/v1/saml/service-providers`: SAML service providers, registered from their
//! metadata through the same code path as `monban saml-sp add`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::views::Problem;
use crate::clients::saml::{self as sp, SpView};
use crate::error::{AppError, AppResult};
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
    admin.require("admin:clients")?;
    let v: Vec<SpView> = state
        .store
        .list_sps(state.org.id)
        .await?
        .iter()
        .filter(|s| !s.disabled)
        .map(SpView::from)
        .collect();
    Ok(HttpResponse::Ok().json(v))
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
    admin.require("admin:clients")?;
    let b = body.into_inner();
    if b.metadata.is_empty() || b.metadata.len() > 60_000 {
        return Err(
            AppError::bad_request("invalid_metadata", "metadata must be 1-60000 bytes")
                .with_field("metadata", "1-60000 bytes"),
        );
    }
    let created = sp::register(
        &state,
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
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        "saml_sp.created",
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "entity_id": created.entity_id }),
    )
    .await?;
    Ok(HttpResponse::Created().json(SpView::from(&created)))
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
    admin.require("admin:clients")?;
    if !state
        .store
        .disable_sp(state.org.id, &q.entity_id, state.clock.now())
        .await?
    {
        return Err(AppError::not_found("no such service provider"));
    }
    crate::cache::sp_changed(&state, &q.entity_id).await;
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        None,
        "saml_sp.deleted",
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "entity_id": q.entity_id }),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
