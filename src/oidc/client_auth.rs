//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` and `none`.
//! Exactly one method per request, and it must be the one the client registered.

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use super::error::{OAuthError, OAuthResult};
use super::params::Params;
use crate::clients::{self, Client};
use crate::core::Core;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Parameter names client authentication reads from a body.
pub const AUTH_PARAMS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

fn basic_credentials(req: &HttpRequest) -> OAuthResult<Option<(String, String)>> {
    let Some(h) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let h = h
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
    let Some(b64) = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let raw = STANDARD
        .decode(b64.trim())
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
    let s = String::from_utf8(raw)
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
    let (id, secret) = s
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded.
    let dec = |v: &str| {
        url::form_urlencoded::parse(format!("x={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

async fn load(state: &Core, client_id: &str) -> OAuthResult<Client> {
    match crate::cache::client(state, client_id).await? {
        Some(c) if !c.disabled && c.org_id == state.org.id => Ok(c),
        _ => Err(OAuthError::invalid_client("client authentication failed")),
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    jti: String,
}

/// The client-authenticated endpoint a request was sent to (its handler says which):
/// a `private_key_jwt` assertion must name it, or the issuer, as its audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Introspection,
    Revocation,
    DeviceAuthorization,
}

impl Endpoint {
    /// The endpoint's URL, as discovery publishes it.
    pub fn url(self, issuer: &str) -> String {
        let path = match self {
            Endpoint::Token => "/token",
            Endpoint::Introspection => "/introspect",
            Endpoint::Revocation => "/revoke",
            Endpoint::DeviceAuthorization => "/device_authorization",
        };
        format!("{issuer}{path}")
    }
}

/// Authenticates the client of a token-endpoint-style request sent to `endpoint`.
pub async fn authenticate(
    req: &HttpRequest,
    state: &Core,
    p: &Params,
    endpoint: Endpoint,
) -> OAuthResult<Client> {
    let client = authenticate_inner(req, state, p, endpoint).await?;
    crate::http::middleware::record_client(&client.client_id);
    Ok(client)
}

async fn authenticate_inner(
    req: &HttpRequest,
    state: &Core,
    p: &Params,
    endpoint: Endpoint,
) -> OAuthResult<Client> {
    let basic = basic_credentials(req)?;
    let post_secret = p.get("client_secret");
    let assertion = p.get("client_assertion");
    let used = [basic.is_some(), post_secret.is_some(), assertion.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if used > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    let fail = || OAuthError::invalid_client("client authentication failed");
    if let Some((id, secret)) = basic {
        if p.get("client_id").is_some_and(|c| c != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the credentials",
            ));
        }
        let client = load(state, &id).await?;
        if client.token_endpoint_auth_method != clients::AUTH_BASIC
            || !clients::secret_matches(state, &client, &secret)
        {
            return Err(fail());
        }
        return Ok(client);
    }
    if let Some(secret) = post_secret {
        let id = p.get("client_id").ok_or_else(fail)?;
        let client = load(state, id).await?;
        if client.token_endpoint_auth_method != clients::AUTH_POST
            || !clients::secret_matches(state, &client, secret)
        {
            return Err(fail());
        }
        return Ok(client);
    }
    if let Some(assertion) = assertion {
        if p.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(
                "unsupported client_assertion_type",
            ));
        }
        return private_key_jwt(state, p, assertion, endpoint).await;
    }
    // No credentials: a public client identifying itself.
    let id = p.get("client_id").ok_or_else(fail)?;
    let client = load(state, id).await?;
    if client.token_endpoint_auth_method != clients::AUTH_NONE {
        return Err(fail());
    }
    Ok(client)
}

/// RFC 7523 client assertion: signed by a key in the client's registered JWK Set,
/// `iss` = `sub` = client id, audience exactly our issuer identifier or the URL of
/// the endpoint being called (an assertion made for another endpoint, or for any
/// other URL under the issuer, is refused), unexpired, and a `jti` never seen before.
async fn private_key_jwt(
    state: &Core,
    p: &Params,
    assertion: &str,
    endpoint: Endpoint,
) -> OAuthResult<Client> {
    let fail = |why: &str| {
        tracing::info!(why, "client assertion rejected");
        OAuthError::invalid_client("client authentication failed")
    };
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| fail("malformed"))?;
    let unverified: AssertionClaims = {
        let mut parts = assertion.split('.');
        let payload = parts.nth(1).ok_or_else(|| fail("malformed"))?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| fail("malformed"))?;
        serde_json::from_slice(&bytes).map_err(|_| fail("claims"))?
    };
    if p.get("client_id").is_some_and(|c| c != unverified.sub) {
        return Err(OAuthError::invalid_request(
            "client_id does not match the assertion",
        ));
    }
    let client = load(state, &unverified.sub).await?;
    if client.token_endpoint_auth_method != clients::AUTH_PRIVATE_KEY_JWT {
        return Err(fail("method"));
    }
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(client.jwks.as_deref().unwrap_or("{\"keys\":[]}"))
            .map_err(|_| fail("jwks"))?;
    if !matches!(
        header.alg,
        jsonwebtoken::Algorithm::RS256
            | jsonwebtoken::Algorithm::ES256
            | jsonwebtoken::Algorithm::EdDSA
            | jsonwebtoken::Algorithm::PS256
    ) {
        return Err(fail("alg"));
    }
    let candidates: Vec<&jsonwebtoken::jwk::Jwk> = match &header.kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(|k| k.common.key_id.as_deref() == Some(kid))
            .collect(),
        None => set.keys.iter().collect(),
    };
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let verified = candidates.iter().any(|jwk| {
        jsonwebtoken::DecodingKey::from_jwk(jwk)
            .ok()
            .is_some_and(|k| jsonwebtoken::decode::<serde_json::Value>(assertion, &k, &v).is_ok())
    });
    if !verified {
        return Err(fail("signature"));
    }
    if unverified.iss != client.client_id {
        return Err(fail("iss"));
    }
    let iss = state.cfg.issuer();
    let endpoint_url = endpoint.url(iss);
    let aud_ok = |a: &str| a == iss || a == endpoint_url;
    let aud_ok = match &unverified.aud {
        serde_json::Value::String(a) => aud_ok(a),
        serde_json::Value::Array(v) => v.iter().filter_map(|a| a.as_str()).any(aud_ok),
        _ => false,
    };
    if !aud_ok {
        return Err(fail("aud"));
    }
    let now = state.clock.now();
    if unverified.exp <= now.timestamp() || unverified.exp > now.timestamp() + 3600 {
        return Err(fail("exp"));
    }
    let exp = chrono::DateTime::from_timestamp(unverified.exp, 0).unwrap_or(now);
    let key = format!("{}:{}", client.client_id, unverified.jti);
    if unverified.jti.is_empty()
        || unverified.jti.len() > 200
        || !state.store.record_assertion_jti(&key, exp).await?
    {
        return Err(fail("jti replay"));
    }
    Ok(client)
}
