//! `GET`/`POST /userinfo` (OIDC Core §5.3), and validation of our access tokens for
//! every endpoint that accepts them.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::error::{OAuthError, OAuthResult};
use super::params::Params;
use super::tokens::{self, AccessClaims};
use crate::core::Core;
use crate::http::state::AppState;
use crate::store::oidc::TokenFamily;
use crate::store::User;

/// Why an access token is not (or no longer) good.
pub async fn validate_access_token(
    state: &Core,
    token: &str,
) -> OAuthResult<(AccessClaims, Option<TokenFamily>)> {
    let claims: AccessClaims = tokens::verify(state, token, tokens::TYP_ACCESS, true)
        .map_err(|e| OAuthError::invalid_token(e.to_string()))?;
    if state.store.is_jti_revoked(&claims.jti).await? {
        return Err(OAuthError::invalid_token("token revoked"));
    }
    let family = match claims.gid {
        None => None,
        Some(gid) => {
            let f = state
                .store
                .get_family(gid)
                .await?
                .ok_or_else(|| OAuthError::invalid_token("unknown grant"))?;
            if f.revoked_at.is_some() {
                return Err(OAuthError::invalid_token("grant revoked"));
            }
            if let Some(sid) = f.session_id.filter(|_| !f.offline) {
                let now = state.clock.now();
                let alive = state
                    .store
                    .get_session(sid)
                    .await?
                    .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now);
                if !alive {
                    return Err(OAuthError::invalid_token("the sign-in session has ended"));
                }
            }
            Some(f)
        }
    };
    Ok((claims, family))
}

/// The user behind a user token, if still active.
pub async fn token_user(state: &Core, claims: &AccessClaims) -> OAuthResult<Option<User>> {
    if claims.gid.is_none() {
        return Ok(None);
    }
    let Ok(id) = claims.sub.parse() else {
        return Ok(None);
    };
    let user = match crate::cache::user(state, id).await {
        Ok(u) => u,
        Err(crate::store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let ok = user.is_usable(state.clock.now());
    Ok(ok.then_some(user))
}

/// Claim names requested for `target` (`userinfo` or `id_token`) by a `claims`
/// request parameter.
pub fn requested_claims(claims_param: Option<&str>, target: &str) -> Vec<String> {
    claims_param
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|v| {
            v.get(target)
                .and_then(|t| t.as_object())
                .map(|o| o.keys().cloned().collect())
        })
        .unwrap_or_default()
}

/// The claims of `user` released under the `granted` scopes — all of them, or with
/// `only`, just those named there.
///
/// A claim is never released outside the grant's scopes, which are those the client
/// is registered for and (for a third-party client) the user consented to: the
/// `claims` request parameter (OIDC Core §5.5) chooses among those claims (e.g. to
/// have `email` in the ID token when `email` was granted) but cannot add one the
/// scopes do not cover.
pub fn user_claims(user: &User, granted: &[&str], only: Option<&[String]>) -> Map<String, Value> {
    let want = |scope: &str, claim: &str| {
        granted.contains(&scope) && only.is_none_or(|o| o.iter().any(|r| r == claim))
    };
    let mut m = Map::new();
    if want("profile", "name") {
        m.insert("name".into(), json!(user.display_name));
    }
    if want("profile", "preferred_username") {
        m.insert(
            "preferred_username".into(),
            json!(user.login_id.clone().unwrap_or_else(|| user.email.clone())),
        );
    }
    if want("profile", "updated_at") {
        m.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if let Some(l) = &user.locale {
        if want("profile", "locale") {
            m.insert("locale".into(), json!(l));
        }
    }
    if want("email", "email") {
        m.insert("email".into(), json!(user.email));
    }
    if want("email", "email_verified") {
        m.insert("email_verified".into(), json!(user.email_verified));
    }
    if let Some(ph) = &user.phone_number {
        if want("phone", "phone_number") {
            m.insert("phone_number".into(), json!(ph));
        }
        if want("phone", "phone_number_verified") {
            m.insert(
                "phone_number_verified".into(),
                json!(user.phone_number_verified),
            );
        }
    }
    if let Some(a) = user
        .address
        .as_deref()
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
    {
        if want("address", "address") {
            m.insert("address".into(), a);
        }
    }
    m
}

fn bearer(req: &HttpRequest) -> OAuthResult<Option<String>> {
    let Some(h) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let h = h
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match h.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Ok(Some(t.trim().to_string()))
        }
        _ => Ok(None),
    }
}

pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> OAuthResult<HttpResponse> {
    let from_header = bearer(&req)?;
    let from_body = if req.method() == actix_web::http::Method::POST && !body.is_empty() {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            Params::parse(&body, &["access_token"])
                .map_err(|e| OAuthError::invalid_request(e.to_string()))?
                .get("access_token")
                .map(str::to_string)
        } else {
            None
        }
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "send the token in one place only",
            ))
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            let mut e = OAuthError::invalid_token("no access token");
            e.error = "invalid_request";
            e.www_authenticate = Some("Bearer realm=\"monban\"".into());
            return Err(e);
        }
    };
    let (claims, _) = validate_access_token(&state, &token).await?;
    let scopes: Vec<&str> = claims.scope.split_whitespace().collect();
    if !scopes.contains(&"openid") {
        let mut e = OAuthError::new("insufficient_scope", "the token lacks the openid scope")
            .with_status(actix_web::http::StatusCode::FORBIDDEN);
        e.www_authenticate =
            Some("Bearer realm=\"monban\", error=\"insufficient_scope\", scope=\"openid\"".into());
        return Err(e);
    }
    let user = token_user(&state, &claims)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the user is no longer active"))?;
    // Every claim of the token's scopes; a `claims` request for the userinfo
    // endpoint cannot add any (see `user_claims`).
    let mut body = user_claims(&user, &scopes, None);
    body.insert("sub".into(), json!(user.id.to_string()));
    if let Some(a) = &claims.act {
        body.insert("act".into(), json!({ "sub": a.sub }));
        body.insert("support_grant".into(), json!(claims.support_grant));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Value::Object(body)))
}
