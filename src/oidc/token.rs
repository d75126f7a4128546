//! The token endpoint: `authorization_code` (single use, PKCE), `refresh_token`
//! (rotation with reuse detection) and `client_credentials`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Duration;
use serde::Serialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::client_auth;
use super::error::{OAuthError, OAuthResult};
use super::params::Params;
use super::tokens::{self, AccessClaims, IdClaims};
use crate::clients::{self, Client};
use crate::core::Core;
use crate::http::state::AppState;
use crate::ratelimit::Action;
use crate::sessions;
use crate::store::oidc::{Consumed, RefreshToken, Rotation, TokenFamily};
use crate::store::User;

pub const TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "device_code",
];

#[derive(Serialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    pub(super) token_type: &'static str,
    pub(super) expires_in: i64,
    pub(super) scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token: Option<String>,
}

/// Reads an `application/x-www-form-urlencoded` body into parameters.
pub fn form_params(req: &HttpRequest, body: &[u8], known: &[&str]) -> OAuthResult<Params> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "expected an application/x-www-form-urlencoded body",
        ));
    }
    Params::parse(body, known).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> OAuthResult<HttpResponse> {
    // Per IP before any work; per client once it has proved who it is (so nobody can
    // spend another client's allowance by naming it).
    let ip = crate::http::client_ip(&req).map(|ip| ip.to_string());
    state.limits.check_ip(Action::TokenIp, ip.as_deref())?;
    let p = form_params(&req, &body, TOKEN_PARAMS)?;
    let client = client_auth::authenticate(&req, &state, &p, client_auth::Endpoint::Token).await?;
    state.limits.check(Action::TokenClient, &client.client_id)?;
    let grant = p
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    let res = match grant {
        clients::GRANT_CODE
        | clients::GRANT_REFRESH
        | clients::GRANT_CLIENT_CREDENTIALS
        | clients::GRANT_DEVICE_CODE
            if !client.allows_grant(grant) =>
        {
            return Err(OAuthError::unauthorized_client(
                "this client may not use this grant type",
            ))
        }
        clients::GRANT_CODE => code_grant(&state, &client, &p).await?,
        clients::GRANT_REFRESH => refresh_grant(&state, &client, &p).await?,
        clients::GRANT_CLIENT_CREDENTIALS => client_credentials(&state, &client, &p)?,
        clients::GRANT_DEVICE_CODE => {
            super::device::token_grant(&state, &client, &p, &crate::http::request_meta(&req))
                .await?
        }
        _ => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "unsupported grant_type",
            ))
        }
    };
    state.metrics.tokens.with_label_values(&[grant]).inc();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(res))
}

fn pkce_ok(challenge: &str, verifier: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
    let computed = B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    valid && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The user behind a grant, if still allowed to receive tokens.
pub(super) async fn active_user(state: &Core, user_id: Uuid) -> OAuthResult<User> {
    let user = crate::cache::user(state, user_id).await?;
    let now = state.clock.now();
    if !user.is_usable(now) {
        return Err(OAuthError::invalid_grant(
            "the user may not use this grant any more",
        ));
    }
    Ok(user)
}

/// Native apps of a user whose app access an admin blocked get no tokens.
pub(super) fn refuse_blocked_app(client: &Client, user: &User) -> OAuthResult<()> {
    if client.is_native() && user.app_blocked_at.is_some() {
        return Err(OAuthError::invalid_grant(
            "you are not permitted to use this service",
        ));
    }
    Ok(())
}

/// A session-bound grant needs its session to be alive.
async fn session_alive(state: &Core, family: &TokenFamily) -> OAuthResult<bool> {
    let Some(sid) = family.session_id.filter(|_| !family.offline) else {
        return Ok(true);
    };
    let now = state.clock.now();
    Ok(state
        .store
        .get_session(sid)
        .await?
        .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now))
}

async fn code_grant(state: &Core, client: &Client, p: &Params) -> OAuthResult<TokenResponse> {
    let code = p
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let now = state.clock.now();
    let hash = sessions::hash_token(state, code);
    // Bound to its client: another client's code is refused without spending it.
    let c = match state
        .store
        .consume_auth_code(&hash, &client.client_id, now)
        .await?
    {
        Consumed::Fresh(c) => c,
        Consumed::Reused(c) => {
            // The consuming UPDATE is bound to this client: a reuse is its own.
            if state
                .store
                .revoke_family(c.family_id, now, "code_reuse")
                .await?
            {
                tracing::warn!(client = %client.client_id, "authorization code reused: its tokens are revoked");
            }
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used",
            ));
        }
        Consumed::Unknown => return Err(OAuthError::invalid_grant("unknown authorization code")),
    };
    if c.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if c.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    match (c.redirect_uri_given, p.get("redirect_uri")) {
        (true, Some(u)) if u == c.redirect_uri => {}
        (false, None) => {}
        (false, Some(u)) if u == c.redirect_uri => {}
        _ => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
    }
    match (&c.code_challenge, p.get("code_verifier")) {
        (Some(ch), Some(v)) if pkce_ok(ch, v) => {}
        (Some(_), _) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier given but no code_challenge was",
            ))
        }
        (None, None) => {}
    }
    let family = state
        .store
        .get_family(c.family_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("unknown grant"))?;
    if family.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the grant has been revoked"));
    }
    let user = active_user(state, c.user_id).await?;
    refuse_blocked_app(client, &user)?;
    let session = state.store.get_session(c.session_id).await?;
    if session.is_none_or(|s| s.ended_at.is_some() || s.expires_at <= now) {
        return Err(OAuthError::invalid_grant("the sign-in session has ended"));
    }
    issue(
        state,
        client,
        &user,
        &family,
        &c.scope,
        c.nonce.as_deref(),
        true,
    )
    .await
}

async fn refresh_grant(state: &Core, client: &Client, p: &Params) -> OAuthResult<TokenResponse> {
    let presented = p
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let hash = sessions::hash_token(state, presented);
    let now = state.clock.now();
    // Bound to its client: another client's token is refused without touching it.
    let t = match state.store.find_refresh_token(&hash).await? {
        Some(t) if t.client_id == client.client_id => t,
        _ => return Err(OAuthError::invalid_grant("unknown refresh token")),
    };
    // A retry of a rotation whose answer was lost is allowed for
    // `tokens.refresh_retry_grace_secs`, to clients that authenticate (a public
    // client's token is all it takes to use it: no second chance for a copy).
    let grace = state.cfg.tokens.refresh_retry_grace_secs;
    let retry_since = if grace > 0 && !client.is_public() {
        now - Duration::seconds(grace)
    } else {
        now + Duration::days(1) // no used token is recent enough
    };
    // A replay is found out before anything else can refuse it.
    if t.used_at.is_some_and(|used| used < retry_since) {
        return Err(reused(state, client, t.family_id, now).await?);
    }
    if t.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let family = state
        .store
        .get_family(t.family_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("unknown grant"))?;
    if family.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the grant has been revoked"));
    }
    if !session_alive(state, &family).await? {
        state
            .store
            .revoke_family(family.id, now, "session_ended")
            .await?;
        return Err(OAuthError::invalid_grant("the sign-in session has ended"));
    }
    let user = active_user(state, family.user_id).await?;
    refuse_blocked_app(client, &user)?;
    let scope = match p.get("scope") {
        None => t.scope.clone(),
        Some(s) => {
            let granted: Vec<&str> = t.scope.split_whitespace().collect();
            if !s.split_whitespace().all(|x| granted.contains(&x)) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the granted scope",
                ));
            }
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    // A read-only support grant stays read-only: narrowing cannot drop the marker.
    let readonly = crate::support::READONLY_SCOPE;
    let scope = if [&family.scope, &t.scope]
        .iter()
        .any(|g| g.split_whitespace().any(|x| x == readonly))
        && !scope.split_whitespace().any(|x| x == readonly)
    {
        format!("{scope} {readonly}").trim_start().to_string()
    } else {
        scope
    };
    let mut res = issue(state, client, &user, &family, &scope, None, false).await?;
    // The new refresh token keeps the whole grant's scope. Marking the old one used
    // and storing the new one commit together: a failure leaves the old one usable.
    let (token, new) = new_refresh_token(state, client, &family, &t.scope);
    match state
        .store
        .rotate_refresh_token(&hash, &new, now, retry_since)
        .await?
    {
        Rotation::Rotated(_) => {}
        Rotation::Retried(_) => {
            // Either a client that lost an answer or a copy of the token used within
            // the window; the token the client was not given is retired, so if it was
            // the copy, the client's next refresh is a replay and ends the grant.
            tracing::warn!(client = %client.client_id, family = %family.id, "refresh token presented again within the retry window: its unused successor is retired");
        }
        Rotation::Reused(t) => return Err(reused(state, client, t.family_id, now).await?),
        Rotation::Unknown => return Err(OAuthError::invalid_grant("unknown refresh token")),
    }
    res.refresh_token = Some(token);
    Ok(res)
}

/// A used refresh token presented again: the whole grant is revoked (RFC 9700
/// §4.14.2); the refusal to send.
async fn reused(
    state: &Core,
    client: &Client,
    family: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> OAuthResult<OAuthError> {
    if state
        .store
        .revoke_family(family, now, "refresh_reuse")
        .await?
    {
        tracing::warn!(client = %client.client_id, %family, "refresh token reused: grant revoked");
    }
    Ok(OAuthError::invalid_grant(
        "the refresh token was already used; the grant is revoked",
    ))
}

fn client_credentials(state: &Core, client: &Client, p: &Params) -> OAuthResult<TokenResponse> {
    let scope = match p.get("scope") {
        None => client.allowed_scopes.clone(),
        Some(s) => {
            if let Some(bad) = s.split_whitespace().find(|x| !client.allows_scope(x)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {bad} is not allowed for this client"
                )));
            }
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    let now = state.clock.now();
    let ttl = state.cfg.tokens.access_token_ttl_secs;
    let claims = AccessClaims {
        iss: state.cfg.issuer().to_string(),
        sub: client.client_id.clone(),
        aud: client.client_id.clone(),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: tokens::new_jti(),
        client_id: client.client_id.clone(),
        scope: scope.clone(),
        auth_time: None,
        acr: None,
        amr: None,
        sid: None,
        gid: None,
        act: None,
        support_grant: None,
    };
    let access_token = tokens::sign(state, client.alg(), tokens::TYP_ACCESS, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope,
        id_token: None,
        refresh_token: None,
    })
}

/// A new refresh token of `family` (not stored): the token and its row.
fn new_refresh_token(
    state: &Core,
    client: &Client,
    family: &TokenFamily,
    scope: &str,
) -> (String, RefreshToken) {
    let token = crate::util::random_token(32);
    let now = state.clock.now();
    let row = RefreshToken {
        id: Uuid::new_v4(),
        token_hash: sessions::hash_token(state, &token),
        family_id: family.id,
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        created_at: now,
        expires_at: now + Duration::seconds(state.cfg.tokens.refresh_token_ttl_secs),
        used_at: None,
        replaced_by: None,
    };
    (token, row)
}

/// Mints the access token, the ID token (when `openid` was granted) and, for a new
/// grant, the first refresh token.
pub(super) async fn issue(
    state: &Core,
    client: &Client,
    user: &User,
    family: &TokenFamily,
    scope: &str,
    nonce: Option<&str>,
    first: bool,
) -> OAuthResult<TokenResponse> {
    let now = state.clock.now();
    let ttl = state.cfg.tokens.access_token_ttl_secs;
    let sid = family.session_id.map(|s| s.to_string());
    let amr: Vec<String> = family.amr.split_whitespace().map(String::from).collect();
    let access = AccessClaims {
        iss: state.cfg.issuer().to_string(),
        sub: user.id.to_string(),
        aud: client.client_id.clone(),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: tokens::new_jti(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: Some(family.auth_time.timestamp()),
        acr: Some(family.acr.clone()),
        amr: Some(amr.clone()),
        sid: sid.clone(),
        gid: Some(family.id),
        act: family
            .impersonator_id
            .map(|i| tokens::Actor { sub: i.to_string() }),
        support_grant: family.support_grant_id,
    };
    let alg = client.alg();
    let access_token = tokens::sign(state, alg, tokens::TYP_ACCESS, &access)?;
    let id_token = if scope.split_whitespace().any(|s| s == "openid") {
        // Claims asked for in the ID token, among those the granted scopes cover.
        let requested = super::userinfo::requested_claims(family.claims.as_deref(), "id_token");
        let granted: Vec<&str> = scope.split_whitespace().collect();
        let extra = super::userinfo::user_claims(user, &granted, Some(&requested));
        let id = IdClaims {
            iss: state.cfg.issuer().to_string(),
            sub: user.id.to_string(),
            aud: client.client_id.clone(),
            exp: now.timestamp() + state.cfg.tokens.id_token_ttl_secs,
            iat: now.timestamp(),
            auth_time: family.auth_time.timestamp(),
            nonce: nonce.map(str::to_string),
            at_hash: Some(tokens::at_hash(alg, &access_token)),
            amr,
            acr: family.acr.clone(),
            sid: family.session_id.map(|s| s.to_string()),
            azp: client.client_id.clone(),
            act: family
                .impersonator_id
                .map(|i| tokens::Actor { sub: i.to_string() }),
            support_grant: family.support_grant_id,
            extra,
        };
        Some(tokens::sign(state, alg, tokens::TYP_ID, &id)?)
    } else {
        None
    };
    let refresh_token = if first && client.allows_grant(clients::GRANT_REFRESH) {
        let (token, row) = new_refresh_token(state, client, family, &family.scope);
        state.store.insert_refresh_token(&row).await?;
        Some(token)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: scope.to_string(),
        id_token,
        refresh_token,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_s256() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(super::pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            verifier
        ));
        assert!(!super::pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "wrong-verifier-wrong-verifier-wrong-verifier"
        ));
        assert!(!super::pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "short"
        ));
    }
}
