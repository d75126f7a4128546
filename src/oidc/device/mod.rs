//! OAuth 2.0 Device Authorization Grant (RFC 8628), with an administrator's approval
//! for clients flagged `requires_admin_approval` (seed 001's viewer registration).
//!
//! 1. The device asks `POST /device_authorization` and shows the user code.
//! 2. The user signs in at `/device` (MFA and password-change gates apply), enters or
//!    confirms the code, and approves or denies.
//! 3. For a `requires_admin_approval` client, every user with the `admin` role is
//!    notified with a link to `/device/requests/{id}`, a page that needs their own
//!    sign-in (the link alone approves nothing); they approve or deny.
//! 4. The device polls `/token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code`:
//!    `authorization_pending` until then, `slow_down` (and 5 s more between polls) when
//!    it polls too fast, `access_denied`, `expired_token`, or — exactly once — tokens.
//!
//! Device codes are 256 random bits; user codes 8 letters from a 20-letter alphabet
//! without vowels (RFC 8628 §6.1), entry rate-limited per user. Both are stored as
//! keyed hashes. Tokens belong to a grant of their own (not bound to the browser
//! session that approved it) that forced logout of all sessions, suspension, password
//! changes and app blocks revoke like any other.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::Serialize;
use uuid::Uuid;

use super::client_auth;
use super::error::{OAuthError, OAuthResult};
use super::params::Params;
use super::token::{self, TokenResponse};
use crate::audit::{self, Actor};
use crate::clients::{self, Client};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http;
use crate::http::state::AppState;
use crate::notify::{self, Message, Recipient};
use crate::ratelimit::Action;
use crate::sessions::RequestMeta;
use crate::store::oidc::{DeviceAuthorization, TokenFamily};
use crate::store::StoreError;

mod pages;
pub use pages::{approval_page, approval_submit, device_decision, device_page, device_submit};

pub const DEVICE_PARAMS: &[&str] = &[
    "client_id",
    "scope",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// RFC 8628 §6.1: consonants only (no words, no 0/O or 1/I confusion).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// RFC 8628 §3.5: each `slow_down` adds five seconds to the polling interval.
const SLOW_DOWN_SECS: i64 = 5;

pub const PENDING: &str = "pending";
pub const AWAITING_ADMIN: &str = "awaiting_admin";
pub const APPROVED: &str = "approved";
pub const DENIED: &str = "denied";

/// Audit actions (stable: admins filter on them).
pub mod action {
    pub const USER_APPROVED: &str = "device.user_approved";
    pub const USER_DENIED: &str = "device.user_denied";
    pub const ADMIN_APPROVED: &str = "device.admin_approved";
    pub const ADMIN_DENIED: &str = "device.admin_denied";
    /// The device exchanged its code for tokens.
    pub const AUTHORIZED: &str = "device.authorized";
    /// A refusal: unknown or expired user code, approval page opened by a non-admin,
    /// a poll that was too fast, denied or expired.
    pub const REFUSED: &str = "device.refused";
}

#[derive(Serialize)]
struct DeviceAuthorizationResponse {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

/// A new user code, shown as `XXXX-XXXX`.
fn new_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN + 1);
    while out.len() < USER_CODE_LEN + 1 {
        for b in crate::util::random_bytes(16) {
            // 240 = 12 × 20: rejecting the rest keeps every letter equally likely.
            if b < 240 && out.len() < USER_CODE_LEN + 1 {
                if out.len() == USER_CODE_LEN / 2 {
                    out.push('-');
                }
                out.push(USER_CODE_ALPHABET[usize::from(b) % USER_CODE_ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// What the user typed, without separators and in upper case; None when it cannot
/// be a user code.
pub fn normalize_user_code(s: &str) -> Option<String> {
    let c: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (c.len() == USER_CODE_LEN && c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(c)
}

fn user_code_hash(state: &Core, normalized: &str) -> Vec<u8> {
    state
        .keys
        .secrets()
        .token_hash(format!("device-user-code:{normalized}").as_bytes())
}

fn device_code_hash(state: &Core, code: &str) -> Vec<u8> {
    state
        .keys
        .secrets()
        .token_hash(format!("device-code:{code}").as_bytes())
}

/// `POST /device_authorization` (RFC 8628 §3.1–3.2).
pub async fn device_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> OAuthResult<HttpResponse> {
    let ip = http::client_ip(&req).map(|ip| ip.to_string());
    state.limits.check_ip(Action::TokenIp, ip.as_deref())?;
    let p = token::form_params(&req, &body, DEVICE_PARAMS)?;
    let client =
        client_auth::authenticate(&req, &state, &p, client_auth::Endpoint::DeviceAuthorization)
            .await?;
    state.limits.check(Action::TokenClient, &client.client_id)?;
    if !client.allows_grant(clients::GRANT_DEVICE_CODE) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the device authorization grant",
        ));
    }
    let scope = requested_scope(&client, &p)?;
    let now = state.clock.now();
    let cfg = &state.cfg.oidc;
    let device_code = crate::util::random_token(32);
    // A user code is short: on the (unlikely) clash with a stored one, draw again.
    let mut attempts = 0;
    let user_code = loop {
        let user_code = new_user_code();
        let norm = normalize_user_code(&user_code).expect("generated codes are valid");
        let row = DeviceAuthorization {
            id: Uuid::new_v4(),
            org_id: state.org.id,
            device_code_hash: device_code_hash(&state, &device_code),
            user_code_hash: user_code_hash(&state, &norm),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            status: PENDING.into(),
            user_id: None,
            auth_time: None,
            amr: None,
            acr: None,
            interval_secs: cfg.device_poll_interval_secs,
            last_polled_at: None,
            created_at: now,
            expires_at: now + Duration::seconds(cfg.device_code_lifetime_secs),
            user_decided_at: None,
            admin_decided_at: None,
            admin_decided_by: None,
            family_id: None,
        };
        match state.store.insert_device(&row).await {
            Ok(()) => break user_code,
            Err(StoreError::Conflict(_)) if attempts < 3 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let iss = state.cfg.issuer();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(DeviceAuthorizationResponse {
            device_code,
            verification_uri: format!("{iss}/device"),
            verification_uri_complete: format!("{iss}/device?user_code={user_code}"),
            user_code,
            expires_in: cfg.device_code_lifetime_secs,
            interval: cfg.device_poll_interval_secs,
        }))
}

/// The asked scopes, each allowed for the client; `openid` when none are asked.
fn requested_scope(client: &Client, p: &Params) -> OAuthResult<String> {
    let asked = p.get("scope").unwrap_or("openid");
    let mut out: Vec<&str> = Vec::new();
    for s in asked.split_whitespace() {
        if !client.allows_scope(s) {
            return Err(OAuthError::invalid_scope(format!(
                "scope {s} is not allowed for this client"
            )));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

/// The device's token request (`grant_type=urn:ietf:params:oauth:grant-type:device_code`).
pub(super) async fn token_grant(
    state: &Core,
    client: &Client,
    p: &Params,
    meta: &RequestMeta,
) -> OAuthResult<TokenResponse> {
    let code = p
        .get("device_code")
        .ok_or_else(|| OAuthError::invalid_request("device_code is missing"))?;
    let now = state.clock.now();
    let d = match state
        .store
        .find_device_by_device_code(&device_code_hash(state, code))
        .await?
    {
        Some(d) if d.client_id == client.client_id && d.org_id == state.org.id => d,
        _ => return Err(OAuthError::invalid_grant("unknown device_code")),
    };
    if d.status == "used" {
        return Err(OAuthError::invalid_grant(
            "the device_code was already exchanged",
        ));
    }
    if d.expires_at <= now {
        refuse(state, &d, meta, "expired").await?;
        return Err(OAuthError::new(
            "expired_token",
            "the device_code has expired; start again",
        ));
    }
    if d.status == DENIED {
        refuse(state, &d, meta, "denied").await?;
        return Err(OAuthError::new(
            "access_denied",
            "the authorization request was denied",
        ));
    }
    if d.status == PENDING || d.status == AWAITING_ADMIN {
        let not_after = now - Duration::seconds(d.interval_secs);
        if !state
            .store
            .poll_device(d.id, now, not_after, SLOW_DOWN_SECS)
            .await?
        {
            refuse(state, &d, meta, "slow_down").await?;
            return Err(OAuthError::new(
                "slow_down",
                format!(
                    "polling too fast: wait at least {} seconds between requests",
                    d.interval_secs + SLOW_DOWN_SECS
                ),
            ));
        }
        return Err(OAuthError::new(
            "authorization_pending",
            if d.status == PENDING {
                "the user has not answered yet"
            } else {
                "waiting for an administrator's approval"
            },
        ));
    }
    if d.status != APPROVED {
        return Err(OAuthError::invalid_grant("unknown device_code"));
    }
    let user_id = d
        .user_id
        .ok_or_else(|| OAuthError::invalid_grant("unknown device_code"))?;
    let user = token::active_user(state, user_id).await?;
    token::refuse_blocked_app(client, &user)?;
    let family = TokenFamily {
        id: Uuid::new_v4(),
        client_id: client.client_id.clone(),
        user_id,
        // The device's grant lives on after the browser session that approved it.
        session_id: None,
        scope: d.scope.clone(),
        auth_time: d.auth_time.unwrap_or(d.created_at),
        amr: d.amr.clone().unwrap_or_default(),
        acr: d.acr.clone().unwrap_or_default(),
        offline: true,
        claims: None,
        created_at: now,
        revoked_at: None,
        revoked_reason: None,
        impersonator_id: None,
        support_grant_id: None,
    };
    // Only one exchange wins, even when two polls race.
    if !state.store.consume_device(d.id, family.id).await? {
        return Err(OAuthError::invalid_grant(
            "the device_code was already exchanged",
        ));
    }
    state.store.insert_family(&family).await?;
    audit::record(
        state,
        &Actor::user(user_id),
        Some(user_id),
        action::AUTHORIZED,
        meta,
        serde_json::json!({ "device_request": d.id, "client_id": d.client_id, "grant": family.id }),
    )
    .await?;
    token::issue(state, client, &user, &family, &d.scope, None, true).await
}

/// Audits a refused poll (the device's user, when known, is the subject).
async fn refuse(
    state: &Core,
    d: &DeviceAuthorization,
    meta: &RequestMeta,
    reason: &str,
) -> AppResult<()> {
    audit::record(
        state,
        &Actor::system(),
        d.user_id,
        action::REFUSED,
        meta,
        serde_json::json!({ "device_request": d.id, "client_id": d.client_id, "reason": reason }),
    )
    .await
}

// ------------------------------------------------------------------ user pages

pub(super) async fn load(state: &Core, id: Uuid) -> AppResult<DeviceAuthorization> {
    state
        .store
        .get_device(id)
        .await?
        .filter(|d| d.org_id == state.org.id && d.user_id.is_some())
        .ok_or_else(|| AppError::not_found("no such device request"))
}

/// An administrator approves or denies a device request the user approved (from the
/// page or the admin API); audited, and the user is told.
pub async fn decide_by_admin(
    state: &Core,
    id: Uuid,
    approve: bool,
    by: &str,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<DeviceAuthorization> {
    let mut d = load(state, id).await?;
    let now = state.clock.now();
    if !state
        .store
        .decide_device_by_admin(d.id, approve, by, now)
        .await?
    {
        return Err(AppError::conflict(
            "request_closed",
            "the device request was already decided, was not approved by the user, or has expired",
        ));
    }
    audit::record(
        state,
        actor,
        d.user_id,
        if approve {
            action::ADMIN_APPROVED
        } else {
            action::ADMIN_DENIED
        },
        meta,
        serde_json::json!({ "device_request": d.id, "client_id": d.client_id, "by": by }),
    )
    .await?;
    if let Some(uid) = d.user_id {
        let user = state.store.get_user(uid).await?;
        notify::send(
            state,
            &Recipient::user(&user),
            Message::DeviceApprovalDecided {
                app_name: app_name(state, &d.client_id).await?,
                approved: approve,
            },
        )
        .await?;
    }
    // What the conditional update just wrote.
    d.status = if approve { APPROVED } else { DENIED }.into();
    d.admin_decided_at = Some(now);
    d.admin_decided_by = Some(by.to_string());
    Ok(d)
}

/// The client's display name (its id when it is gone).
async fn app_name(state: &Core, client_id: &str) -> AppResult<String> {
    Ok(state
        .store
        .get_client(client_id)
        .await?
        .map_or_else(|| client_id.to_string(), |c| c.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_the_documented_shape() {
        for _ in 0..200 {
            let c = new_user_code();
            assert_eq!(c.len(), 9, "{c}");
            assert_eq!(&c[4..5], "-");
            let n = normalize_user_code(&c).expect("valid");
            assert_eq!(n.len(), 8);
            assert!(n.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        }
        assert_ne!(new_user_code(), new_user_code());
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
        assert_eq!(
            normalize_user_code("ABCD-EFGH"),
            None,
            "vowels are never issued"
        );
        assert_eq!(normalize_user_code("BCDF-GHJK-L"), None);
    }
}
