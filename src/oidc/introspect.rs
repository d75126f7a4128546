//! Token introspection (RFC 7662) and revocation (RFC 7009).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::client_auth;
use super::error::{OAuthError, OAuthResult};
use super::token::form_params;
use super::userinfo::{token_user, validate_access_token};
use crate::clients;
use crate::http::state::AppState;
use crate::sessions;

const PARAMS: &[&str] = &[
    "token",
    "token_type_hint",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

fn looks_like_jwt(t: &str) -> bool {
    t.bytes().filter(|b| *b == b'.').count() == 2
}

fn inactive() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "active": false }))
}

pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> OAuthResult<HttpResponse> {
    let p = form_params(&req, &body, PARAMS)?;
    let client =
        client_auth::authenticate(&req, &state, &p, client_auth::Endpoint::Introspection).await?;
    state.limits.check(
        crate::ratelimit::Action::IntrospectClient,
        &client.client_id,
    )?;
    if client.token_endpoint_auth_method == clients::AUTH_NONE {
        return Err(OAuthError::invalid_client(
            "public clients may not introspect tokens",
        ));
    }
    let token = p
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let now = state.clock.now();

    if looks_like_jwt(token) {
        let Ok((c, _family)) = validate_access_token(&state, token).await else {
            return Ok(inactive());
        };
        // RFC 7662 §4: only to the client it was issued to or meant for; to anyone
        // else it is as good as unknown (no user, e-mail or scope leaks).
        if c.client_id != client.client_id && c.aud != client.client_id {
            return Ok(inactive());
        }
        let username = match token_user(&state, &c).await? {
            Some(u) => Some(u.email),
            None if c.gid.is_some() => return Ok(inactive()),
            None => None,
        };
        let mut body = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": c.scope,
            "client_id": c.client_id,
            "sub": c.sub,
            "aud": c.aud,
            "iss": c.iss,
            "exp": c.exp,
            "iat": c.iat,
            "jti": c.jti,
        });
        if let Some(u) = username {
            body["username"] = json!(u);
        }
        if let Some(a) = &c.act {
            body["act"] = json!({ "sub": a.sub });
        }
        if let Some(g) = c.support_grant {
            body["support_grant"] = json!(g);
        }
        if let Some(s) = c.sid {
            body["sid"] = json!(s);
        }
        if let Some(a) = c.auth_time {
            body["auth_time"] = json!(a);
        }
        if let Some(a) = c.acr {
            body["acr"] = json!(a);
        }
        // How the user signed in (e.g. `fed` through an upstream provider, `hwk` a
        // passkey), as the token says.
        if let Some(a) = c.amr {
            body["amr"] = json!(a);
        }
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body));
    }

    let Some(t) = state
        .store
        .find_refresh_token(&sessions::hash_token(&state, token))
        .await?
    else {
        return Ok(inactive());
    };
    // Refresh tokens are for their client's eyes only (RFC 7662 §4).
    if t.client_id != client.client_id || t.used_at.is_some() || t.expires_at <= now {
        return Ok(inactive());
    }
    let Some(family) = state.store.get_family(t.family_id).await? else {
        return Ok(inactive());
    };
    if family.revoked_at.is_some() {
        return Ok(inactive());
    }
    if let Some(sid) = family.session_id.filter(|_| !family.offline) {
        let alive = state
            .store
            .get_session(sid)
            .await?
            .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now);
        if !alive {
            return Ok(inactive());
        }
    }
    let user = crate::cache::user(&state, family.user_id).await?;
    if !user.is_usable(now) {
        return Ok(inactive());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": t.scope,
            "client_id": t.client_id,
            "sub": family.user_id.to_string(),
            "username": user.email,
            "iss": state.cfg.issuer(),
            "exp": t.expires_at.timestamp(),
            "iat": t.created_at.timestamp(),
        })))
}

pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> OAuthResult<HttpResponse> {
    let p = form_params(&req, &body, PARAMS)?;
    let client =
        client_auth::authenticate(&req, &state, &p, client_auth::Endpoint::Revocation).await?;
    let token = p
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let now = state.clock.now();
    if looks_like_jwt(token) {
        if let Ok((c, _)) = validate_access_token(&state, token).await {
            if c.client_id == client.client_id {
                let exp = chrono::DateTime::from_timestamp(c.exp, 0).unwrap_or(now);
                state.store.revoke_jti(&c.jti, exp).await?;
            }
        }
    } else if let Some(t) = state
        .store
        .find_refresh_token(&sessions::hash_token(&state, token))
        .await?
    {
        // Revoking a refresh token revokes its whole grant, access tokens included.
        if t.client_id == client.client_id {
            state
                .store
                .revoke_family(t.family_id, now, "revoked_by_client")
                .await?;
        }
    }
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
