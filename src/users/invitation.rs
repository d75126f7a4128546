//! Invitation links: a pending user (created by an admin without a password) sets
//! the first password from the link. The link is a MAC over the user, an expiry and
//! the current password state, so it stops working once used.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Duration;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::store::{user_status, User};

/// Invitations are valid this long.
const INVITE_DAYS: i64 = 7;

fn mac(state: &Core, user: &User, exp: i64) -> Vec<u8> {
    mac_of(state, user.id, &user.status, user.password_changed_at, exp)
}

fn mac_of(
    state: &Core,
    id: Uuid,
    status: &str,
    password_changed_at: Option<chrono::DateTime<chrono::Utc>>,
    exp: i64,
) -> Vec<u8> {
    let st = password_changed_at
        .map(|t| t.timestamp_micros())
        .unwrap_or(0);
    let data = format!("invite|{id}|{exp}|{st}|{status}");
    state.keys.secrets().token_hash(data.as_bytes())
}

/// The invitation link for a pending user (absolute URL).
pub fn link(state: &Core, user: &User) -> String {
    link_with(state, user.id, &user.status, user.password_changed_at)
}

/// The invitation link for a user about to be created pending (no password yet).
pub fn link_for_new(state: &Core, id: Uuid) -> String {
    link_with(state, id, user_status::PENDING, None)
}

fn link_with(
    state: &Core,
    id: Uuid,
    status: &str,
    password_changed_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let exp = (state.clock.now() + Duration::days(INVITE_DAYS)).timestamp();
    let mut raw = id.as_bytes().to_vec();
    raw.extend_from_slice(&exp.to_be_bytes());
    let mac = mac_of(state, id, status, password_changed_at, exp);
    let token = format!("{}.{}", B64.encode(raw), B64.encode(mac));
    format!("{}/account/invitation?token={token}", state.cfg.issuer())
}

pub async fn check(state: &Core, token: &str) -> AppResult<User> {
    let bad = || {
        AppError::bad_request(
            "invalid_invitation",
            "this invitation link is invalid, used or expired",
        )
    };
    let (raw, sig) = token.split_once('.').ok_or_else(bad)?;
    let raw = B64.decode(raw).map_err(|_| bad())?;
    let sig = B64.decode(sig).map_err(|_| bad())?;
    if raw.len() != 24 {
        return Err(bad());
    }
    let id = Uuid::from_slice(&raw[..16]).map_err(|_| bad())?;
    let exp = i64::from_be_bytes(raw[16..24].try_into().map_err(|_| bad())?);
    let user = match state.store.get_user(id).await {
        Ok(u) if u.org_id == state.org.id => u,
        _ => return Err(bad()),
    };
    if !bool::from(mac(state, &user, exp).ct_eq(&sig)) || state.clock.now().timestamp() > exp {
        return Err(bad());
    }
    if user.status != user_status::PENDING || user.password_hash.is_some() {
        return Err(bad());
    }
    Ok(user)
}
