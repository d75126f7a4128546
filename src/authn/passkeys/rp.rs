//! The WebAuthn relying party: its id and origin come from the issuer. Passkeys are on
//! by default; they stay off (and say why) when turned off in the configuration or when
//! the issuer's host is an IP address, which WebAuthn cannot use as a relying-party id.

use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::config::Config;

/// The relying party, or why there is none.
pub struct RelyingParty {
    webauthn: Option<Webauthn>,
    off_reason: Option<String>,
    off_key: Option<&'static str>,
}

impl RelyingParty {
    pub fn from_config(cfg: &Config) -> RelyingParty {
        match build(cfg) {
            Ok(w) => RelyingParty {
                webauthn: Some(w),
                off_reason: None,
                off_key: None,
            },
            Err((key, reason)) => RelyingParty {
                webauthn: None,
                off_reason: Some(reason),
                off_key: Some(key),
            },
        }
    }

    /// The relying party when passkeys are on.
    pub fn webauthn(&self) -> Option<&Webauthn> {
        self.webauthn.as_ref()
    }

    /// Why passkeys are off (None when they are on), for the log and the API.
    pub fn off_reason(&self) -> Option<&str> {
        self.off_reason.as_deref()
    }

    /// The message key of the reason, for pages (`passkeys.off_config`,
    /// `passkeys.off_ip`, `passkeys.off_other`).
    pub fn off_key(&self) -> Option<&'static str> {
        self.off_key
    }
}

fn build(cfg: &Config) -> Result<Webauthn, (&'static str, String)> {
    let other = |m: String| ("passkeys.off_other", m);
    if !cfg.mfa.passkeys {
        return Err((
            "passkeys.off_config",
            "passkeys are turned off in the configuration (mfa.passkeys = false)".into(),
        ));
    }
    let origin =
        Url::parse(cfg.issuer()).map_err(|e| other(format!("the issuer is not a URL: {e}")))?;
    let host = match origin.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {
            return Err((
                "passkeys.off_ip",
                format!(
                    "the issuer's host ({}) is an IP address, which WebAuthn cannot use as a \
                     relying-party id: give the issuer a host name (e.g. localhost) to use passkeys",
                    origin.host_str().unwrap_or_default()
                ),
            ))
        }
        None => return Err(other("the issuer has no host".into())),
    };
    let origin = Url::parse(&origin.origin().ascii_serialization())
        .map_err(|e| other(format!("the issuer's origin is not a URL: {e}")))?;
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name(&cfg.ui.product_name).build())
        .map_err(|e| other(format!("the relying party could not be set up: {e}")))
}

/// The organisation's attestation policy for new passkeys (part of
/// [`crate::policy::OrgPolicy`]): when `required`, only authenticators that prove by
/// their attestation to be a model listed here (a vendor's attestation CA and the
/// AAGUIDs of its models) can be registered.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAttestation {
    #[serde(default)]
    pub required: bool,
    /// The allowed authenticator models.
    #[serde(default)]
    pub authenticators: Vec<TrustedAuthenticator>,
}

/// Authenticator models whose attestation chains to `ca_pem`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedAuthenticator {
    /// What admins call it (e.g. "YubiKey 5").
    pub name: String,
    /// The vendor's attestation root certificate (PEM).
    pub ca_pem: String,
    /// The AAGUIDs of the allowed models (at least one).
    pub aaguids: Vec<uuid::Uuid>,
}

/// The CA list webauthn-rs verifies attestation against; Err names what is wrong.
pub fn ca_list(p: &PasskeyAttestation) -> Result<webauthn_rs::prelude::AttestationCaList, String> {
    let mut b = webauthn_rs::prelude::AttestationCaListBuilder::new();
    if p.authenticators.len() > 100 {
        return Err("at most 100 authenticators".into());
    }
    for (i, a) in p.authenticators.iter().enumerate() {
        if a.aaguids.is_empty() || a.aaguids.len() > 100 {
            return Err(format!("authenticators[{i}].aaguids: 1 to 100 AAGUIDs"));
        }
        if a.ca_pem.len() > 16 * 1024 || a.name.chars().count() > 200 {
            return Err(format!("authenticators[{i}]: too long"));
        }
        for aaguid in &a.aaguids {
            b.insert_device_pem(
                a.ca_pem.as_bytes(),
                *aaguid,
                a.name.clone(),
                Default::default(),
            )
            .map_err(|e| format!("authenticators[{i}].ca_pem: not a certificate ({e:?})"))?;
        }
    }
    Ok(b.build())
}
