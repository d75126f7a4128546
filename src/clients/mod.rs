//! OAuth 2.0 / OIDC relying parties: kinds, validation, registration, secrets.
//!
//! Kinds:
//! - `confidential`: a server-side web app with a secret (or `private_key_jwt`);
//! - `public`: a native or single-page app without a secret; PKCE required;
//! - `service`: machine-to-machine, `client_credentials` only.
//!
//! Secrets are 256 random bits, shown once, stored as a keyed HMAC-SHA-256 (not
//! argon2: a full-entropy secret gains nothing from a slow hash, and the token
//! endpoint must stay fast).

pub mod saml;

use serde::Serialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::keys::Alg;
pub use crate::store::oidc::Client;

pub const CONFIDENTIAL: &str = "confidential";
pub const PUBLIC: &str = "public";
pub const SERVICE: &str = "service";

pub const AUTH_BASIC: &str = "client_secret_basic";
pub const AUTH_POST: &str = "client_secret_post";
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const AUTH_NONE: &str = "none";

pub const GRANT_CODE: &str = "authorization_code";
pub const GRANT_REFRESH: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
/// OAuth 2.0 Device Authorization Grant (RFC 8628).
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Scopes a user-facing client may ask for unless told otherwise.
pub const DEFAULT_USER_SCOPES: &str = "openid profile email address phone offline_access";

#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    /// confidential | public | service
    pub kind: String,
    /// web | native (default: web for confidential, native for public)
    pub application_type: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Option<String>,
    pub auth_method: Option<String>,
    pub signing_alg: Option<String>,
    /// Public JWK Set (JSON) for private_key_jwt.
    pub jwks: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub first_party: bool,
    /// Choose the client id (otherwise random).
    pub client_id: Option<String>,
    /// May use the Device Authorization Grant (RFC 8628): input-constrained devices
    /// and installed viewers without a browser of their own.
    pub device_grant: bool,
    /// Device-flow tokens need an administrator's approval after the user's.
    /// Implies `device_grant`; such a client has no redirect URIs (every grant goes
    /// through the device flow, so none can bypass the approval).
    pub requires_admin_approval: bool,
}

#[derive(Debug, Serialize)]
pub struct Registered {
    pub client_id: String,
    /// Shown once; None for public and private_key_jwt clients.
    pub client_secret: Option<String>,
    #[serde(flatten)]
    pub client: ClientView,
}

/// What may be shown about a client (no secret hash).
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub name: String,
    pub kind: String,
    pub application_type: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub grant_types: Vec<String>,
    pub signing_alg: String,
    pub backchannel_logout_uri: Option<String>,
    pub first_party: bool,
    pub requires_admin_approval: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        ClientView {
            name: c.name.clone(),
            kind: c.kind.clone(),
            application_type: c.application_type.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
            redirect_uris: c.redirect_uri_list(),
            post_logout_redirect_uris: c.post_logout_uri_list(),
            scope: c.allowed_scopes.clone(),
            grant_types: c.grant_types.split_whitespace().map(String::from).collect(),
            signing_alg: c.signing_alg.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            first_party: c.first_party,
            requires_admin_approval: c.requires_admin_approval,
        }
    }
}

impl Client {
    pub fn redirect_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }

    pub fn post_logout_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.post_logout_redirect_uris).unwrap_or_default()
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.split_whitespace().any(|g| g == grant)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.allowed_scopes.split_whitespace().any(|s| s == scope)
    }

    pub fn is_public(&self) -> bool {
        self.kind == PUBLIC
    }

    pub fn alg(&self) -> Alg {
        Alg::parse(&self.signing_alg).unwrap_or(Alg::RS256)
    }

    pub fn is_native(&self) -> bool {
        self.application_type == "native"
    }
}

fn invalid(field: &'static str, msg: impl Into<String>) -> AppError {
    let msg = msg.into();
    AppError::bad_request("invalid_client_metadata", format!("{field}: {msg}"))
        .with_field(field, msg)
}

/// Exact-match redirect URIs: absolute, no fragment, https — or http only on a
/// loopback host; native apps may also use private-use schemes (`com.example.app:/cb`).
pub fn validate_redirect_uri(uri: &str, native: bool) -> Result<(), String> {
    if uri.len() > 2000 {
        return Err("too long".into());
    }
    let u = url::Url::parse(uri).map_err(|e| format!("not an absolute URI ({e})"))?;
    if u.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" => match u.host_str() {
            Some("localhost") | Some("127.0.0.1") | Some("[::1]") => Ok(()),
            _ => Err("http is only allowed for loopback hosts; use https".into()),
        },
        "javascript" | "data" | "file" | "vbscript" => Err("scheme not allowed".into()),
        s if native && s.contains('.') => Ok(()),
        _ => Err("use https (or a reverse-domain private-use scheme for native apps)".into()),
    }
}

/// Registers a client; returns its id and (once) its secret.
pub async fn register(state: &Core, n: NewClient) -> AppResult<Registered> {
    let kind = n.kind.as_str();
    if ![CONFIDENTIAL, PUBLIC, SERVICE].contains(&kind) {
        return Err(invalid("kind", "must be confidential, public or service"));
    }
    let name = n.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name", "1-200 characters"));
    }
    let application_type = n.application_type.clone().unwrap_or_else(|| {
        if kind == PUBLIC {
            "native".into()
        } else {
            "web".into()
        }
    });
    if !["web", "native"].contains(&application_type.as_str()) {
        return Err(invalid("application_type", "must be web or native"));
    }
    let native = application_type == "native";
    let auth_method = n.auth_method.clone().unwrap_or_else(|| match kind {
        PUBLIC => AUTH_NONE.into(),
        _ => AUTH_BASIC.into(),
    });
    match (kind, auth_method.as_str()) {
        (PUBLIC, AUTH_NONE) => {}
        (PUBLIC, _) => {
            return Err(invalid(
                "token_endpoint_auth_method",
                "public clients use none",
            ))
        }
        (_, AUTH_BASIC | AUTH_POST | AUTH_PRIVATE_KEY_JWT) => {}
        _ => {
            return Err(invalid(
                "token_endpoint_auth_method",
                "must be client_secret_basic, client_secret_post or private_key_jwt",
            ))
        }
    }
    let jwks = match (&auth_method[..], &n.jwks) {
        (AUTH_PRIVATE_KEY_JWT, Some(j)) => {
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(j)
                .map_err(|e| invalid("jwks", format!("not a JWK Set: {e}")))?;
            if set.keys.is_empty() {
                return Err(invalid("jwks", "has no keys"));
            }
            for k in &set.keys {
                jsonwebtoken::DecodingKey::from_jwk(k)
                    .map_err(|e| invalid("jwks", format!("unusable key: {e}")))?;
            }
            Some(serde_json::to_string(&set).map_err(AppError::internal)?)
        }
        (AUTH_PRIVATE_KEY_JWT, None) => {
            return Err(invalid(
                "jwks",
                "private_key_jwt needs the client's public keys",
            ))
        }
        _ => None,
    };
    let signing_alg = n.signing_alg.clone().unwrap_or_else(|| "RS256".into());
    if Alg::parse(&signing_alg).is_none() {
        // `none` and HS256 are refused on purpose.
        return Err(invalid("signing_alg", "must be RS256, ES256 or EdDSA"));
    }
    let device = n.device_grant || n.requires_admin_approval;
    if device && kind == SERVICE {
        return Err(invalid(
            "grant_types",
            "service clients cannot use the device flow",
        ));
    }
    if n.requires_admin_approval && !n.redirect_uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "a client that needs admin approval uses the device flow only: no redirect URIs",
        ));
    }
    let grant_types = match kind {
        SERVICE => GRANT_CLIENT_CREDENTIALS.to_string(),
        _ => {
            let mut g = Vec::new();
            if !n.redirect_uris.is_empty() {
                g.push(GRANT_CODE);
            }
            if device {
                g.push(GRANT_DEVICE_CODE);
            }
            g.push(GRANT_REFRESH);
            g.join(" ")
        }
    };
    if kind == SERVICE {
        if !n.redirect_uris.is_empty() {
            return Err(invalid(
                "redirect_uris",
                "service clients have no redirect URIs",
            ));
        }
    } else if n.redirect_uris.is_empty() && !device {
        return Err(invalid("redirect_uris", "at least one is required"));
    }
    for u in n.redirect_uris.iter().chain(&n.post_logout_redirect_uris) {
        validate_redirect_uri(u, native)
            .map_err(|e| invalid("redirect_uris", format!("{u}: {e}")))?;
    }
    if let Some(b) = &n.backchannel_logout_uri {
        validate_redirect_uri(b, false).map_err(|e| invalid("backchannel_logout_uri", e))?;
    }
    let scopes = n.scopes.clone().unwrap_or_else(|| match kind {
        SERVICE => String::new(),
        _ => DEFAULT_USER_SCOPES.into(),
    });
    let scopes: Vec<&str> = scopes.split_whitespace().collect();
    for s in &scopes {
        if s.len() > 100
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            return Err(invalid("scope", format!("bad scope token {s:?}")));
        }
    }
    let client_id = match n.client_id.clone() {
        Some(id) => {
            if !(3..=100).contains(&id.len())
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(invalid("client_id", "3-100 of A-Z a-z 0-9 - _ ."));
            }
            id
        }
        None => crate::util::random_token(16),
    };
    let secret = (kind != PUBLIC && auth_method != AUTH_PRIVATE_KEY_JWT)
        .then(|| crate::util::random_token(32));
    let now = state.clock.now();
    let client = Client {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        client_id: client_id.clone(),
        name,
        kind: kind.into(),
        application_type,
        secret_hash: secret
            .as_ref()
            .map(|s| state.keys.secrets().client_secret_hash(s.as_bytes())),
        token_endpoint_auth_method: auth_method,
        redirect_uris: serde_json::to_string(&n.redirect_uris).map_err(AppError::internal)?,
        post_logout_redirect_uris: serde_json::to_string(&n.post_logout_redirect_uris)
            .map_err(AppError::internal)?,
        allowed_scopes: scopes.join(" "),
        grant_types,
        signing_alg,
        jwks,
        backchannel_logout_uri: n.backchannel_logout_uri.clone(),
        first_party: n.first_party,
        disabled: false,
        created_at: now,
        updated_at: now,
        requires_admin_approval: n.requires_admin_approval,
    };
    state
        .store
        .insert_client(&client)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => {
                AppError::conflict("conflict", "client_id is already in use")
            }
            other => other.into(),
        })?;
    Ok(Registered {
        client_id,
        client_secret: secret,
        client: ClientView::from(&client),
    })
}

/// Replaces a client's secret; returns the new one (shown once).
pub async fn rotate_secret(state: &Core, client_id: &str) -> AppResult<String> {
    let client = state
        .store
        .get_client(client_id)
        .await?
        .ok_or_else(|| AppError::not_found("no such client"))?;
    if client.secret_hash.is_none() {
        return Err(AppError::conflict(
            "no_secret",
            "this client does not use a secret",
        ));
    }
    let secret = crate::util::random_token(32);
    let hash = state.keys.secrets().client_secret_hash(secret.as_bytes());
    state
        .store
        .set_client_secret(client_id, &hash, state.clock.now())
        .await?;
    crate::cache::client_changed(state, client_id).await;
    Ok(secret)
}

/// Constant-time check of a presented secret.
pub fn secret_matches(state: &Core, client: &Client, presented: &str) -> bool {
    let Some(stored) = &client.secret_hash else {
        return false;
    };
    let h = state
        .keys
        .secrets()
        .client_secret_hash(presented.as_bytes());
    bool::from(h.ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::validate_redirect_uri as v;

    #[test]
    fn redirect_uri_rules() {
        assert!(v("https://app.example.com/cb", false).is_ok());
        assert!(v("http://127.0.0.1:8000/cb", false).is_ok());
        assert!(v("http://localhost/cb", false).is_ok());
        assert!(v("http://app.example.com/cb", false).is_err());
        assert!(v("https://app.example.com/cb#frag", false).is_err());
        assert!(v("/relative", false).is_err());
        assert!(v("javascript:alert(1)", true).is_err());
        assert!(v("com.example.app:/cb", true).is_ok());
        assert!(v("com.example.app:/cb", false).is_err());
    }
}
