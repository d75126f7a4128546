//! Apps: OIDC clients and SAML service providers — list, register, rotate a secret
//! (shown once), disable — for the admin API and the console alike.

use super::AdminCtx;
use crate::audit::action;
use crate::clients::saml::{self as sp, SpView};
use crate::clients::{self, Client, NewClient};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::users::actions::scope;

async fn record(
    core: &Core,
    ctx: &AdminCtx,
    act: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    let mut d = details;
    if let Some(o) = d.as_object_mut() {
        o.insert("by".into(), serde_json::json!(ctx.label));
    }
    crate::audit::record(core, &ctx.actor, None, act, &ctx.meta, d).await
}

/// The organisation's OIDC clients in use.
pub async fn clients(core: &Core, ctx: &AdminCtx) -> AppResult<Vec<Client>> {
    ctx.require(scope::CLIENTS)?;
    Ok(core
        .store
        .list_clients(core.org.id)
        .await?
        .into_iter()
        .filter(|c| !c.disabled)
        .collect())
}

/// One client in use (404 otherwise).
pub async fn client(core: &Core, ctx: &AdminCtx, id: &str) -> AppResult<Client> {
    ctx.require(scope::CLIENTS)?;
    core.store
        .get_client(id)
        .await?
        .filter(|c| c.org_id == core.org.id && !c.disabled)
        .ok_or_else(|| AppError::not_found("no such client"))
}

/// Registers a client; returns it and its secret (shown once; none for public and
/// `private_key_jwt` clients).
pub async fn create_client(
    core: &Core,
    ctx: &AdminCtx,
    n: NewClient,
) -> AppResult<(Client, Option<String>)> {
    ctx.require(scope::CLIENTS)?;
    let r = clients::register(core, n).await?;
    let c = client(core, ctx, &r.client_id).await?;
    record(
        core,
        ctx,
        action::CLIENT_CREATED,
        serde_json::json!({ "client_id": c.client_id }),
    )
    .await?;
    Ok((c, r.client_secret))
}

/// A new client secret (the old one stops working); returns it, shown once.
pub async fn rotate_client_secret(
    core: &Core,
    ctx: &AdminCtx,
    id: &str,
) -> AppResult<(Client, String)> {
    let c = client(core, ctx, id).await?;
    let secret = clients::rotate_secret(core, &c.client_id).await?;
    record(
        core,
        ctx,
        action::CLIENT_SECRET_ROTATED,
        serde_json::json!({ "client_id": c.client_id }),
    )
    .await?;
    Ok((c, secret))
}

/// Disables a client: its grants are revoked, it gets no more tokens.
pub async fn disable_client(core: &Core, ctx: &AdminCtx, id: &str) -> AppResult<()> {
    let c = client(core, ctx, id).await?;
    core.store
        .disable_client(&c.client_id, core.clock.now())
        .await?;
    crate::cache::client_changed(core, &c.client_id).await;
    record(
        core,
        ctx,
        action::CLIENT_DELETED,
        serde_json::json!({ "client_id": c.client_id }),
    )
    .await
}

/// The organisation's SAML service providers in use.
pub async fn service_providers(core: &Core, ctx: &AdminCtx) -> AppResult<Vec<SpView>> {
    ctx.require(scope::CLIENTS)?;
    Ok(core
        .store
        .list_sps(core.org.id)
        .await?
        .iter()
        .filter(|s| !s.disabled)
        .map(SpView::from)
        .collect())
}

/// Registers a service provider from its metadata.
pub async fn register_sp(
    core: &Core,
    ctx: &AdminCtx,
    metadata: &str,
    settings: sp::SpSettings,
) -> AppResult<SpView> {
    ctx.require(scope::CLIENTS)?;
    if metadata.is_empty() || metadata.len() > 60_000 {
        return Err(
            AppError::bad_request("invalid_metadata", "metadata must be 1-60000 bytes")
                .with_field("metadata", "1-60000 bytes"),
        );
    }
    let created = sp::register(core, metadata, settings).await?;
    record(
        core,
        ctx,
        "saml_sp.created",
        serde_json::json!({ "entity_id": created.entity_id }),
    )
    .await?;
    Ok(SpView::from(&created))
}

/// Disables a service provider: it gets no more assertions.
pub async fn disable_sp(core: &Core, ctx: &AdminCtx, entity_id: &str) -> AppResult<()> {
    ctx.require(scope::CLIENTS)?;
    if !core
        .store
        .disable_sp(core.org.id, entity_id, core.clock.now())
        .await?
    {
        return Err(AppError::not_found("no such service provider"));
    }
    crate::cache::sp_changed(core, entity_id).await;
    record(
        core,
        ctx,
        "saml_sp.deleted",
        serde_json::json!({ "entity_id": entity_id }),
    )
    .await
}
