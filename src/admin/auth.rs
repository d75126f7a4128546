//! Who may call the admin API: an admin token (`monban admin-token create`, stored as a
//! keyed hash) or Monban's own access token from a service client granted `admin:*`
//! scopes. Tokens minted under a support grant never qualify.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::Actor;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::store::admin::AdminToken;
use crate::users::actions::AdminCtx;

pub const TOKEN_PREFIX: &str = "mbat_";

/// Every admin scope.
pub const SCOPES: &[&str] = crate::users::actions::scope::ALL;

/// An authenticated admin caller of the API; its scopes are in `ctx` and every
/// admin operation checks the one it needs ([`AdminCtx::require`]).
pub struct Admin {
    pub ctx: AdminCtx,
}

impl Admin {
    /// 403 unless the credential carries `scope` (or `admin:*`).
    pub fn require(&self, scope: &str) -> AppResult<()> {
        self.ctx.require(scope)
    }
}

fn unauthorized(detail: &str) -> AppError {
    let mut e = AppError::unauthorized(detail);
    e.www_authenticate = Some(format!(
        "Bearer realm=\"monban-admin\", error=\"invalid_token\", error_description=\"{detail}\""
    ));
    e
}

/// Validates scope names for a new credential.
pub fn parse_scopes(s: &str) -> AppResult<Vec<String>> {
    let v: Vec<String> = s
        .split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect();
    if v.is_empty() {
        return Err(AppError::bad_request(
            "invalid_scope",
            "at least one scope is required",
        ));
    }
    for x in &v {
        if x != "admin:*" && !SCOPES.contains(&x.as_str()) {
            return Err(AppError::bad_request(
                "invalid_scope",
                format!("unknown scope {x}"),
            ));
        }
    }
    Ok(v)
}

/// Creates an admin token; returns the row and the token (shown once).
pub async fn create_token(
    state: &Core,
    name: &str,
    scopes: &str,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(AdminToken, String)> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::bad_request("invalid_name", "1-100 characters"));
    }
    let scopes = parse_scopes(scopes)?;
    let secret = format!("{TOKEN_PREFIX}{}", crate::util::random_token(32));
    let row = AdminToken {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        name: name.to_string(),
        token_hash: state.keys.secrets().token_hash(secret.as_bytes()),
        scopes: scopes.join(" "),
        created_at: state.clock.now(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    state.store.insert_admin_token(&row).await?;
    Ok((row, secret))
}

async fn authenticate(req: HttpRequest) -> AppResult<Admin> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no state"))?;
    let meta = crate::http::request_meta(&req);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string())
        .ok_or_else(|| unauthorized("a bearer token is required"))?;
    // Per credential presented, before it is looked up or verified.
    state
        .limits
        .check(crate::ratelimit::Action::AdminCredential, &token)?;
    let now = state.clock.now();
    if token.starts_with(TOKEN_PREFIX) {
        let hash = state.keys.secrets().token_hash(token.as_bytes());
        let row = state
            .store
            .find_admin_token(&hash)
            .await?
            .filter(|t| {
                t.org_id == state.org.id
                    && t.revoked_at.is_none()
                    && t.expires_at.is_none_or(|e| e > now)
            })
            .ok_or_else(|| unauthorized("unknown, revoked or expired token"))?;
        if row
            .last_used_at
            .is_none_or(|t| now - t > chrono::Duration::seconds(60))
        {
            state.store.touch_admin_token(row.id, now).await?;
        }
        return Ok(Admin {
            ctx: AdminCtx {
                actor: Actor::admin(Some(row.id)),
                label: format!("token:{}", row.name),
                meta,
                scopes: row.scopes.split_whitespace().map(String::from).collect(),
            },
        });
    }
    // Our own access token, from a service client (client_credentials) with admin scopes.
    let (claims, family) = crate::oidc::userinfo::validate_access_token(&state, &token)
        .await
        .map_err(|_| unauthorized("invalid or expired access token"))?;
    if family.is_some() || claims.gid.is_some() || claims.sub != claims.client_id {
        // A user's token (including one minted under a support grant) is never an admin credential.
        return Err(AppError::forbidden(
            "not_admin_credential",
            "user tokens cannot use the admin API",
        ));
    }
    let client = crate::cache::client(&state, &claims.client_id)
        .await?
        .filter(|c| c.kind == crate::clients::SERVICE && !c.disabled)
        .ok_or_else(|| unauthorized("unknown client"))?;
    let scopes: Vec<String> = claims
        .scope
        .split_whitespace()
        .filter(|s| s.starts_with("admin:"))
        .map(String::from)
        .collect();
    if scopes.is_empty() {
        return Err(AppError::forbidden(
            "insufficient_scope",
            "the token carries no admin scope",
        ));
    }
    Ok(Admin {
        ctx: AdminCtx {
            actor: Actor::admin(None),
            label: format!("client:{}", client.client_id),
            meta,
            scopes,
        },
    })
}

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await.map_err(actix_web::Error::from) })
    }
}
