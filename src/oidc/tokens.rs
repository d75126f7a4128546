//! Minting and verifying the JWTs Monban issues: ID tokens (OIDC Core §2), access
//! tokens (RFC 9068, `typ: at+jwt`) and logout tokens (Back-Channel Logout 1.0).
//!
//! Verification never trusts the token's `alg`: the key is found by `kid` among our
//! published keys and the algorithm is the key's own, so `alg: none` and
//! HS256-with-a-public-key tricks fail.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::Core;
use crate::keys::{Alg, KeyError};

pub const TYP_ACCESS: &str = "at+jwt";
pub const TYP_ID: &str = "JWT";
pub const TYP_LOGOUT: &str = "logout+jwt";
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant (token family) this token belongs to: revoking it kills the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<Uuid>,
    /// RFC 8693 actor: the support engineer acting for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The support grant the token was minted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_grant: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Actor {
    pub sub: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    pub amr: Vec<String>,
    pub acr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_grant: Option<Uuid>,
    /// Claims requested through the `claims` parameter for the ID token.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// OIDC `at_hash`: left half of the hash of the access token, with the hash of the
/// ID token's algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let d = match alg {
        Alg::EdDSA => digest::digest(&digest::SHA512, access_token.as_bytes()),
        _ => digest::digest(&digest::SHA256, access_token.as_bytes()),
    };
    let b = d.as_ref();
    B64.encode(&b[..b.len() / 2])
}

pub fn sign<T: Serialize>(
    state: &Core,
    alg: Alg,
    typ: &str,
    claims: &T,
) -> Result<String, KeyError> {
    state.keys.sign_jwt(alg, typ, claims)
}

#[derive(Debug, PartialEq)]
pub enum VerifyError {
    Malformed,
    UnknownKey,
    BadSignature,
    WrongType,
    WrongIssuer,
    Expired,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifyError::Malformed => "malformed token",
            VerifyError::UnknownKey => "unknown signing key",
            VerifyError::BadSignature => "bad signature",
            VerifyError::WrongType => "wrong token type",
            VerifyError::WrongIssuer => "wrong issuer",
            VerifyError::Expired => "token expired",
        })
    }
}

/// Verifies a JWT signed by one of our published keys, of type `typ`, from our
/// issuer; `check_exp` false accepts expired tokens (for `id_token_hint`).
pub fn verify<T: for<'de> Deserialize<'de>>(
    state: &Core,
    token: &str,
    typ: &str,
    check_exp: bool,
) -> Result<T, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
    let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
    let now = state.clock.now();
    let keys = state.keys.current();
    let key = keys
        .find_published(kid, now)
        .ok_or(VerifyError::UnknownKey)?;
    let alg = match key.key.alg() {
        Alg::RS256 => jsonwebtoken::Algorithm::RS256,
        Alg::ES256 => jsonwebtoken::Algorithm::ES256,
        Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    };
    if header.alg != alg {
        return Err(VerifyError::BadSignature);
    }
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    {
        return Err(VerifyError::WrongType);
    }
    let mut v = jsonwebtoken::Validation::new(alg);
    // Time and audience are checked here against the application clock.
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &v)
        .map_err(|_| VerifyError::BadSignature)?;
    let claims = data.claims;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(state.cfg.issuer()) {
        return Err(VerifyError::WrongIssuer);
    }
    if check_exp {
        let exp = claims
            .get("exp")
            .and_then(|v| v.as_i64())
            .ok_or(VerifyError::Malformed)?;
        if now.timestamp() >= exp {
            return Err(VerifyError::Expired);
        }
    }
    serde_json::from_value(claims).map_err(|_| VerifyError::Malformed)
}

pub fn new_jti() -> String {
    crate::util::random_token(16)
}
