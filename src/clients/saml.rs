//! SAML 2.0 service providers: registration from SP metadata plus per-SP settings,
//! validation, and the views the CLI prints.
//!
//! From the metadata: entityID, AssertionConsumerService endpoints (HTTP-POST only;
//! indexed, with a default), the SingleLogoutService (Redirect preferred, else POST),
//! signing certificates (several allowed, for rollover), an encryption certificate,
//! `AuthnRequestsSigned` and `WantAssertionsSigned`. Per-SP settings: NameID format,
//! released attributes, what to sign, IdP-initiated SSO (off unless asked for).

use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use samael::metadata::EntityDescriptor;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::Core;
use crate::error::{AppError, AppResult};
pub use crate::store::saml::ServiceProvider;

pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Attributes that can be released, by short name.
pub const ATTRIBUTES: [&str; 3] = ["email", "name", "groups"];

/// Longest entityID accepted (SAML2int G04).
const MAX_ENTITY_ID: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AcsEndpoint {
    pub index: usize,
    pub url: String,
    pub binding: String,
    pub default: bool,
}

/// Settings that are not in the SP's metadata (or that override it).
#[derive(Debug, Clone, Default)]
pub struct SpSettings {
    /// Display name (default: the entityID).
    pub name: Option<String>,
    /// `persistent`, `transient` or `email` (default: the first of these the SP's
    /// metadata declares as `NameIDFormat`, else `persistent`).
    pub name_id_format: Option<String>,
    /// Released attributes (default: all of [`ATTRIBUTES`]).
    pub attributes: Option<Vec<String>>,
    /// `response`, `assertion` or `both` (default: `both`; `assertion` alone is
    /// upgraded to `both` because SAML2int requires the Response signature).
    pub sign: Option<String>,
    /// Encrypt assertions to the SP's encryption certificate (which must exist).
    pub encrypt_assertions: bool,
    pub idp_initiated: bool,
}

/// What the CLI and (later) the admin API show.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SpView {
    pub entity_id: String,
    pub name: String,
    pub acs: Vec<AcsEndpoint>,
    pub slo_url: Option<String>,
    pub signing_certs: usize,
    pub has_encryption_cert: bool,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
    pub name_id_format: String,
    pub attributes: Vec<String>,
    pub sign_response: bool,
    pub sign_assertion: bool,
    pub encrypt_assertions: bool,
    pub idp_initiated: bool,
    pub disabled: bool,
}

impl From<&ServiceProvider> for SpView {
    fn from(sp: &ServiceProvider) -> Self {
        SpView {
            entity_id: sp.entity_id.clone(),
            name: sp.name.clone(),
            acs: sp.acs_endpoints(),
            slo_url: sp.slo_url.clone(),
            signing_certs: sp.signing_certs_der().len(),
            has_encryption_cert: sp.encryption_cert.is_some(),
            authn_requests_signed: sp.authn_requests_signed,
            want_assertions_signed: sp.want_assertions_signed,
            name_id_format: sp.name_id_format.clone(),
            attributes: sp
                .attributes
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            sign_response: sp.sign_response,
            sign_assertion: sp.sign_assertion,
            encrypt_assertions: sp.encrypt_assertions,
            idp_initiated: sp.idp_initiated,
            disabled: sp.disabled,
        }
    }
}

impl ServiceProvider {
    pub fn acs_endpoints(&self) -> Vec<AcsEndpoint> {
        serde_json::from_str(&self.acs).unwrap_or_default()
    }

    /// The default ACS: the one flagged default, else the lowest index (SAML
    /// metadata §2.2.3).
    pub fn default_acs(&self) -> Option<AcsEndpoint> {
        let all = self.acs_endpoints();
        all.iter()
            .find(|a| a.default)
            .or_else(|| all.iter().min_by_key(|a| a.index))
            .cloned()
    }

    pub fn signing_certs_der(&self) -> Vec<Vec<u8>> {
        let list: Vec<String> = serde_json::from_str(&self.signing_certs).unwrap_or_default();
        list.iter().filter_map(|c| B64.decode(c).ok()).collect()
    }

    /// The NameID format URI.
    pub fn name_id_format_uri(&self) -> &'static str {
        match self.name_id_format.as_str() {
            "transient" => NAMEID_TRANSIENT,
            "email" => NAMEID_EMAIL,
            _ => NAMEID_PERSISTENT,
        }
    }

    pub fn encryption_cert_der(&self) -> Option<Vec<u8>> {
        self.encryption_cert
            .as_deref()
            .and_then(|c| B64.decode(c).ok())
    }

    pub fn releases(&self, attr: &str) -> bool {
        self.attributes.split_whitespace().any(|a| a == attr)
    }
}

/// What was read from an SP's metadata.
#[derive(Debug, Clone)]
pub struct ParsedMetadata {
    pub entity_id: String,
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
    pub acs: Vec<AcsEndpoint>,
    pub slo: Option<(String, String)>,
    pub signing_certs: Vec<Vec<u8>>,
    pub encryption_cert: Option<Vec<u8>>,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
    /// The `NameIDFormat`s the SP declares, in its order.
    pub name_id_formats: Vec<String>,
}

impl ParsedMetadata {
    /// The first declared NameID format Monban can issue, as a setting
    /// (`persistent`, `transient`, `email`); `unspecified` and unknown ones are skipped.
    pub fn declared_name_id_format(&self) -> Option<&'static str> {
        self.name_id_formats.iter().find_map(|f| match f.trim() {
            NAMEID_PERSISTENT => Some("persistent"),
            NAMEID_TRANSIENT => Some("transient"),
            NAMEID_EMAIL => Some("email"),
            _ => None,
        })
    }
}

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::unprocessable("invalid_metadata", detail)
}

/// Parses and checks SP metadata (one EntityDescriptor with an SPSSODescriptor).
pub fn parse_metadata(xml: &str) -> AppResult<ParsedMetadata> {
    crate::saml::xml::refuse_dtd(xml.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let ed = EntityDescriptor::from_str(xml)
        .map_err(|e| invalid(format!("not SAML metadata with one EntityDescriptor: {e}")))?;
    let entity_id = ed
        .entity_id
        .clone()
        .ok_or_else(|| invalid("entityID is missing"))?;
    check_entity_id(&entity_id)?;
    let sp = match ed.sp_sso_descriptors.as_deref() {
        Some([one]) => one,
        _ => return Err(invalid("expected exactly one SPSSODescriptor")),
    };
    let mut acs = Vec::new();
    for a in &sp.assertion_consumer_services {
        if a.binding != BINDING_POST {
            continue; // Only HTTP-POST responses are sent (SAML2int IDP08).
        }
        check_url(&a.location, "AssertionConsumerService Location")?;
        if acs.iter().any(|x: &AcsEndpoint| x.index == a.index) {
            return Err(invalid(format!("duplicate ACS index {}", a.index)));
        }
        acs.push(AcsEndpoint {
            index: a.index,
            url: a.location.clone(),
            binding: a.binding.clone(),
            default: a.is_default.unwrap_or(false),
        });
    }
    if acs.is_empty() {
        return Err(invalid(
            "no AssertionConsumerService with the HTTP-POST binding",
        ));
    }
    if acs.iter().filter(|a| a.default).count() > 1 {
        return Err(invalid("more than one default AssertionConsumerService"));
    }
    let slos = sp.single_logout_services.clone().unwrap_or_default();
    let slo = slos
        .iter()
        .find(|e| e.binding == BINDING_REDIRECT)
        .or_else(|| slos.iter().find(|e| e.binding == BINDING_POST))
        .map(|e| (e.location.clone(), e.binding.clone()));
    if let Some((url, _)) = &slo {
        check_url(url, "SingleLogoutService Location")?;
    }
    let mut signing_certs = Vec::new();
    let mut encryption_cert = None;
    for kd in sp.key_descriptors.as_deref().unwrap_or_default() {
        let certs = kd
            .key_info
            .x509_data
            .as_ref()
            .map(|d| d.certificates.clone())
            .unwrap_or_default();
        for c in certs {
            let der = samael::crypto::decode_x509_cert(&c)
                .map_err(|_| invalid("an X509Certificate is not base64"))?
                .der_data()
                .to_vec();
            check_cert(&der)?;
            match kd.key_use.as_deref() {
                Some("signing") => signing_certs.push(der),
                Some("encryption") => encryption_cert = encryption_cert.or(Some(der)),
                None => {
                    signing_certs.push(der.clone());
                    encryption_cert = encryption_cert.or(Some(der));
                }
                Some(other) => return Err(invalid(format!("unknown KeyDescriptor use {other}"))),
            }
        }
    }
    let authn_requests_signed = sp.authn_requests_signed.unwrap_or(false);
    if authn_requests_signed && signing_certs.is_empty() {
        return Err(invalid(
            "AuthnRequestsSigned is true but there is no signing certificate",
        ));
    }
    Ok(ParsedMetadata {
        entity_id,
        valid_until: ed.valid_until,
        acs,
        slo,
        signing_certs,
        encryption_cert,
        authn_requests_signed,
        want_assertions_signed: sp.want_assertions_signed.unwrap_or(false),
        name_id_formats: sp.name_id_formats.clone().unwrap_or_default(),
    })
}

fn check_entity_id(id: &str) -> AppResult<()> {
    if id.is_empty() || id.len() > MAX_ENTITY_ID || url::Url::parse(id).is_err() {
        return Err(invalid(
            "entityID must be an absolute URI of at most 256 characters",
        ));
    }
    Ok(())
}

fn check_url(u: &str, what: &str) -> AppResult<()> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "https" | "http") && p.fragment().is_none() => Ok(()),
        _ => Err(invalid(format!(
            "{what} must be an absolute http(s) URL: {u}"
        ))),
    }
}

/// A parseable X.509 certificate whose RSA key has at least 2048 bits (EC keys at
/// least 256) — SAML2int MD06/07.
fn check_cert(der: &[u8]) -> AppResult<()> {
    let cert = openssl::x509::X509::from_der(der)
        .map_err(|_| invalid("an X509Certificate does not parse"))?;
    let key = cert
        .public_key()
        .map_err(|_| invalid("a certificate has an unusable public key"))?;
    let ok = match key.id() {
        openssl::pkey::Id::RSA => key.bits() >= 2048,
        openssl::pkey::Id::EC => key.bits() >= 256,
        _ => false,
    };
    if !ok {
        return Err(invalid(
            "certificate keys must be RSA ≥ 2048 bits or EC ≥ 256 bits",
        ));
    }
    Ok(())
}

/// Registers an SP from its metadata (the same path for the CLI and the admin API).
pub async fn register(state: &Core, metadata: &str, s: SpSettings) -> AppResult<ServiceProvider> {
    let m = parse_metadata(metadata)?;
    // The operator's choice, else the first format the SP declares that Monban can
    // issue (an SP asking for the one it declares then gets it), else persistent.
    let name_id_format = s.name_id_format.unwrap_or_else(|| {
        m.declared_name_id_format()
            .unwrap_or("persistent")
            .to_string()
    });
    if !["persistent", "transient", "email"].contains(&name_id_format.as_str()) {
        return Err(AppError::unprocessable(
            "invalid_setting",
            "NameID format must be persistent, transient or email",
        ));
    }
    let attributes = s
        .attributes
        .unwrap_or_else(|| ATTRIBUTES.iter().map(|a| a.to_string()).collect());
    if let Some(bad) = attributes
        .iter()
        .find(|a| !ATTRIBUTES.contains(&a.as_str()))
    {
        return Err(AppError::unprocessable(
            "invalid_setting",
            format!("unknown attribute {bad} (known: email, name, groups)"),
        ));
    }
    let (sign_response, sign_assertion) = match s.sign.as_deref().unwrap_or("both") {
        "response" => (true, m.want_assertions_signed),
        "assertion" | "both" => (true, true),
        _ => {
            return Err(AppError::unprocessable(
                "invalid_setting",
                "sign must be response, assertion or both",
            ))
        }
    };
    if s.encrypt_assertions && m.encryption_cert.is_none() {
        return Err(AppError::unprocessable(
            "invalid_setting",
            "assertion encryption needs an encryption certificate in the SP metadata",
        ));
    }
    let now = state.clock.now();
    if m.valid_until.is_some_and(|v| v <= now) {
        return Err(invalid(
            "the metadata has expired (validUntil is in the past)",
        ));
    }
    let sp = ServiceProvider {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        name: s
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| m.entity_id.clone()),
        entity_id: m.entity_id,
        acs: serde_json::to_string(&m.acs).map_err(AppError::internal)?,
        slo_url: m.slo.as_ref().map(|s| s.0.clone()),
        slo_binding: m.slo.map(|s| s.1),
        signing_certs: serde_json::to_string(
            &m.signing_certs
                .iter()
                .map(|c| B64.encode(c))
                .collect::<Vec<_>>(),
        )
        .map_err(AppError::internal)?,
        encryption_cert: m.encryption_cert.map(|c| B64.encode(c)),
        authn_requests_signed: m.authn_requests_signed,
        want_assertions_signed: m.want_assertions_signed,
        name_id_format,
        attributes: attributes.join(" "),
        sign_response,
        sign_assertion,
        encrypt_assertions: s.encrypt_assertions,
        idp_initiated: s.idp_initiated,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_sp(&sp).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => AppError::conflict(
            "conflict",
            format!("a service provider {} is already registered", sp.entity_id),
        ),
        other => other.into(),
    })?;
    crate::cache::sp_changed(state, &sp.entity_id).await;
    Ok(sp)
}
