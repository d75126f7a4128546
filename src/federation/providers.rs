//! Upstream providers as admins manage them (`/admin/v1/identity-providers`, scope
//! `admin:clients`): create, read, change. The client secret is sealed at once and
//! never shown again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{action, invalid};
use crate::audit;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::store::{IdentityProvider, StoreError};
use crate::users::actions::{scope, AdminCtx};

/// The callback an upstream must allow for provider `slug`.
pub fn redirect_uri(core: &Core, slug: &str) -> String {
    format!("{}/login/federation/{slug}/callback", core.cfg.issuer())
}

/// A new provider.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    /// 1-40 of a-z 0-9 and `-`; in the callback URL.
    pub slug: String,
    pub display_name: String,
    /// The upstream's issuer (https, or http on a loopback host); discovery is read
    /// from `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes to ask for; `openid` is always asked.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim with the user's e-mail (default `email`).
    #[serde(default)]
    pub claim_email: Option<String>,
    /// The claim with the user's name (default `name`).
    #[serde(default)]
    pub claim_name: Option<String>,
    /// May the first sign-in of an unknown upstream account create a user?
    #[serde(default)]
    pub create_users: bool,
    /// May it be linked to the existing user with the same e-mail, when the upstream
    /// says it verified that e-mail?
    #[serde(default)]
    pub link_by_verified_email: bool,
    /// Is Monban's own second step still asked of users who have one (the upstream's
    /// word that it did MFA not taken)? Default true.
    #[serde(default = "yes")]
    pub require_local_mfa: bool,
}

fn yes() -> bool {
    true
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

/// A change; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    /// A new slug: the redirect URI changes with it (register the new one upstream).
    pub slug: Option<String>,
    pub display_name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub claim_email: Option<String>,
    pub claim_name: Option<String>,
    pub create_users: Option<bool>,
    pub link_by_verified_email: Option<bool>,
    pub require_local_mfa: Option<bool>,
    /// A disabled provider is not offered and its sign-ins are refused.
    pub disabled: Option<bool>,
}

/// A provider as the API shows it (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    pub slug: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub claim_email: String,
    pub claim_name: String,
    pub create_users: bool,
    pub link_by_verified_email: bool,
    pub require_local_mfa: bool,
    pub disabled: bool,
    /// Register this at the upstream: `ISSUER/login/federation/SLUG/callback`.
    pub redirect_uri: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn view(core: &Core, p: &IdentityProvider) -> ProviderView {
    ProviderView {
        slug: p.slug.clone(),
        display_name: p.display_name.clone(),
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        scopes: p.scopes.split_whitespace().map(str::to_string).collect(),
        claim_email: p.claim_email.clone(),
        claim_name: p.claim_name.clone(),
        create_users: p.create_users,
        link_by_verified_email: p.link_by_verified_email,
        require_local_mfa: p.require_local_mfa,
        disabled: p.disabled,
        redirect_uri: redirect_uri(core, &p.slug),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn check_slug(slug: &str) -> AppResult<()> {
    let ok = (1..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(invalid("slug", "1-40 of a-z 0-9 and -"))
    }
}

/// An upstream issuer: https, or http on a loopback host (as for redirect URIs); no
/// query or fragment.
pub fn check_issuer(issuer: &str) -> AppResult<()> {
    let u = url::Url::parse(issuer).map_err(|_| invalid("issuer", "not a URL"))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && loopback);
    if !scheme_ok || u.query().is_some() || u.fragment().is_some() || issuer.len() > 500 {
        return Err(invalid(
            "issuer",
            "must be https (or http on a loopback host), without query or fragment",
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, v: &str, max: usize) -> AppResult<()> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "required, without control characters, not too long",
        ));
    }
    Ok(())
}

fn scopes_text(scopes: &[String]) -> AppResult<String> {
    let mut out = vec!["openid".to_string()];
    for s in scopes {
        let ok = !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
        if !ok {
            return Err(invalid(
                "scopes",
                "each scope: printable ASCII without spaces",
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    if out.len() > 20 {
        return Err(invalid("scopes", "at most 20"));
    }
    Ok(out.join(" "))
}

fn claim(field: &'static str, v: Option<&str>, default: &str) -> AppResult<String> {
    let v = v.unwrap_or(default).trim();
    if v.is_empty() || v.len() > 100 || !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(field, "a claim name"));
    }
    Ok(v.to_string())
}

fn seal(core: &Core, id: Uuid, secret: &str) -> AppResult<Vec<u8>> {
    check_text("client_secret", secret, 500)?;
    core.keys
        .secrets()
        .seal_secret(id, secret.as_bytes())
        .ok_or_else(|| AppError::internal("sealing a client secret failed"))
}

pub async fn create(core: &Core, ctx: &AdminCtx, n: NewProvider) -> AppResult<ProviderView> {
    ctx.require(scope::CLIENTS)?;
    check_slug(&n.slug)?;
    check_text("display_name", &n.display_name, 100)?;
    check_issuer(&n.issuer)?;
    check_text("client_id", &n.client_id, 200)?;
    let id = Uuid::new_v4();
    let now = core.clock.now();
    let p = IdentityProvider {
        id,
        org_id: core.org.id,
        slug: n.slug.clone(),
        display_name: n.display_name.trim().to_string(),
        // Exactly as given: discovery compares the document's issuer with it, byte
        // for byte (some issuers end in `/`).
        issuer: n.issuer.trim().to_string(),
        client_id: n.client_id.trim().to_string(),
        client_secret_enc: seal(core, id, &n.client_secret)?,
        scopes: scopes_text(&n.scopes)?,
        claim_email: claim("claim_email", n.claim_email.as_deref(), "email")?,
        claim_name: claim("claim_name", n.claim_name.as_deref(), "name")?,
        create_users: n.create_users,
        link_by_verified_email: n.link_by_verified_email,
        require_local_mfa: n.require_local_mfa,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    match core.store.insert_provider(&p).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::conflict(
                "identity_provider_exists",
                "a provider with this slug exists",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        core,
        &ctx.actor,
        None,
        action::PROVIDER_CREATED,
        &ctx.meta,
        serde_json::json!({ "slug": p.slug, "issuer": p.issuer, "by": ctx.label }),
    )
    .await?;
    Ok(view(core, &p))
}

async fn find(core: &Core, slug: &str) -> AppResult<IdentityProvider> {
    core.store
        .get_provider(core.org.id, slug)
        .await?
        .ok_or_else(|| AppError::not_found("no such identity provider"))
}

pub async fn get(core: &Core, ctx: &AdminCtx, slug: &str) -> AppResult<ProviderView> {
    ctx.require(scope::CLIENTS)?;
    Ok(view(core, &find(core, slug).await?))
}

pub async fn list(core: &Core, ctx: &AdminCtx) -> AppResult<Vec<ProviderView>> {
    ctx.require(scope::CLIENTS)?;
    Ok(core
        .store
        .list_providers(core.org.id)
        .await?
        .iter()
        .map(|p| view(core, p))
        .collect())
}

pub async fn update(
    core: &Core,
    ctx: &AdminCtx,
    slug: &str,
    patch: ProviderPatch,
) -> AppResult<ProviderView> {
    ctx.require(scope::CLIENTS)?;
    let mut p = find(core, slug).await?;
    if let Some(v) = &patch.slug {
        // A slug taken by another provider is refused by the store (the unique
        // index), answered 409 below: no check-then-write race.
        check_slug(v)?;
        p.slug = v.clone();
    }
    if let Some(v) = &patch.display_name {
        check_text("display_name", v, 100)?;
        p.display_name = v.trim().to_string();
    }
    let before = p.clone();
    if let Some(v) = &patch.issuer {
        check_issuer(v)?;
        p.issuer = v.trim().to_string();
    }
    if let Some(v) = &patch.client_id {
        check_text("client_id", v, 200)?;
        p.client_id = v.trim().to_string();
    }
    if let Some(v) = &patch.client_secret {
        p.client_secret_enc = seal(core, p.id, v)?;
    }
    if let Some(v) = &patch.scopes {
        p.scopes = scopes_text(v)?;
    }
    if let Some(v) = &patch.claim_email {
        p.claim_email = claim("claim_email", Some(v), "email")?;
    }
    if let Some(v) = &patch.claim_name {
        p.claim_name = claim("claim_name", Some(v), "name")?;
    }
    p.create_users = patch.create_users.unwrap_or(p.create_users);
    p.link_by_verified_email = patch
        .link_by_verified_email
        .unwrap_or(p.link_by_verified_email);
    p.require_local_mfa = patch.require_local_mfa.unwrap_or(p.require_local_mfa);
    p.disabled = patch.disabled.unwrap_or(p.disabled);
    p.updated_at = core.clock.now();
    core.store.update_provider(&p).await.map_err(|e| match e {
        StoreError::Conflict(_) => AppError::conflict(
            "identity_provider_exists",
            "a provider with this slug exists",
        ),
        e => e.into(),
    })?;
    // Another issuer is another set of accounts: the links to the old one's subjects
    // (and their sessions) go, so that the new issuer cannot sign in as them.
    let mut links_dropped = 0;
    if before.issuer != p.issuer {
        links_dropped = super::drop_links_of(core, &p, &ctx.actor, &ctx.meta).await?;
    }
    audit::record(
        core,
        &ctx.actor,
        None,
        action::PROVIDER_UPDATED,
        &ctx.meta,
        serde_json::json!({
            "slug": p.slug,
            "before": { "slug": before.slug, "issuer": before.issuer, "client_id": before.client_id,
                "create_users": before.create_users, "link_by_verified_email": before.link_by_verified_email,
                "require_local_mfa": before.require_local_mfa, "disabled": before.disabled },
            "after": { "issuer": p.issuer, "client_id": p.client_id, "create_users": p.create_users,
                "link_by_verified_email": p.link_by_verified_email,
                "require_local_mfa": p.require_local_mfa, "disabled": p.disabled },
            "secret_changed": patch.client_secret.is_some(),
            "links_dropped": links_dropped,
            "by": ctx.label,
        }),
    )
    .await?;
    Ok(view(core, &p))
}

/// The enabled providers, for the login page: (slug, display name).
pub async fn offered(core: &Core) -> AppResult<Vec<(String, String)>> {
    Ok(core
        .store
        .list_providers(core.org.id)
        .await?
        .into_iter()
        .filter(|p| !p.disabled)
        .map(|p| (p.slug, p.display_name))
        .collect())
}

/// The issuers of the enabled providers (the origins the account page's link forms
/// lead to).
pub async fn offered_issuers(core: &Core) -> AppResult<Vec<String>> {
    Ok(core
        .store
        .list_providers(core.org.id)
        .await?
        .into_iter()
        .filter(|p| !p.disabled)
        .map(|p| p.issuer)
        .collect())
}
