//! Builds and signs the `samlp:Response` with exactly one Assertion (samael schema
//! structs, serialised, then signed with xmlsec: RSA-SHA256, SHA-256 digests,
//! exclusive C14N). The Assertion is signed first as its own document, embedded, and
//! then the Response is signed, so "both" yields two independent signatures.
//! Error responses (no Assertion) are written by hand: samael cannot express a
//! second-level StatusCode such as `NoPassive`; they are unsigned (SAML2int IDP09).

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef,
    AuthnStatement, Conditions, Issuer, Response, Status, StatusCode, Subject, SubjectConfirmation,
    SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;

use super::xml::{esc, NS_PROTOCOL};
use crate::clients::saml::{ServiceProvider, NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::store::{Session, User};

pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
pub const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
pub const STATUS_NO_PASSIVE: &str = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
pub const STATUS_PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
pub const STATUS_REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
pub const STATUS_UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
pub const STATUS_INVALID_NAMEID_POLICY: &str =
    "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy";
pub const STATUS_NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";

pub const AC_PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
pub const AC_MFA: &str = "https://refeds.org/profile/mfa";
/// A phishing-resistant sign-in (a passkey with user verification). SAML has no
/// standard class for it; service providers ask for this one.
pub const AC_PHR: &str = "urn:monban:ac:classes:phishing-resistant";
/// The `acr` the MFA sign-in sets on a session.
pub const ACR_MFA: &str = "urn:monban:acr:mfa";

/// Says `true` in assertions issued under a read-only support grant.
pub const ATTR_SUPPORT_READONLY: &str = "urn:monban:attribute:support-readonly";
const ATTR_NAME_FORMAT_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
const CONFIRMATION_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// This IdP's entityID (also the metadata URL).
pub fn entity_id(state: &Core) -> String {
    format!("{}/saml/metadata", state.cfg.issuer())
}

/// A fresh message ID: an NCName (starts with `_`), 160 random bits.
pub fn new_id() -> String {
    format!("_{}", hex(&crate::util::random_bytes(20)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The NameID for this user at this SP: persistent ones are opaque and pairwise (a
/// keyed hash of SP and user), transient ones random per assertion. `requested`:
/// the format the AuthnRequest asked for instead of the SP's (transient only).
pub fn name_id(
    state: &Core,
    sp: &ServiceProvider,
    user: &User,
    requested: Option<&str>,
) -> (String, &'static str) {
    let format = match requested {
        Some(NAMEID_TRANSIENT) => NAMEID_TRANSIENT,
        _ => sp.name_id_format_uri(),
    };
    match format {
        NAMEID_EMAIL => (user.email.clone(), NAMEID_EMAIL),
        NAMEID_TRANSIENT => (new_id(), NAMEID_TRANSIENT),
        _ => {
            let input = format!("saml-persistent\0{}\0{}", sp.entity_id, user.id);
            let mac = state.keys.secrets().token_hash(input.as_bytes());
            (URL_SAFE_NO_PAD.encode(mac), NAMEID_PERSISTENT)
        }
    }
}

/// The AuthnContextClassRef for how the session was authenticated.
pub fn context_class(session: &Session) -> &'static str {
    classes_of(session)[0]
}

/// Every class the session's sign-in satisfies, strongest first (a passkey sign-in is
/// also a two-factor and a password-grade sign-in).
pub fn classes_of(session: &Session) -> &'static [&'static str] {
    if session.acr == crate::sessions::ACR_PHR {
        &[AC_PHR, AC_MFA, AC_PASSWORD]
    } else if session.acr == ACR_MFA {
        &[AC_MFA, AC_PASSWORD]
    } else {
        &[AC_PASSWORD]
    }
}

/// Everything a successful Response states.
pub struct Grant<'a> {
    pub sp: &'a ServiceProvider,
    pub user: &'a User,
    pub session: &'a Session,
    pub acs_url: &'a str,
    pub in_response_to: Option<&'a str>,
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub session_index: &'a str,
    /// The session acts under a read-only support grant.
    pub support_readonly: bool,
    /// The AuthnContextClassRef stated: one the session satisfies and the request
    /// (if it asked) accepts.
    pub context_class: &'static str,
}

fn issuer(state: &Core) -> Issuer {
    Issuer {
        value: Some(esc(&entity_id(state))),
        ..Default::default()
    }
}

fn signing_key(state: &Core) -> AppResult<(Vec<u8>, CertificateDer)> {
    let keys = state.keys.current();
    let k = keys
        .saml_signing_key(state.clock.now())
        .ok_or_else(|| AppError::unavailable("no usable SAML signing key"))?;
    let der = openssl::pkey::PKey::private_key_from_pem(k.key_pem.as_bytes())
        .and_then(|p| p.private_key_to_der())
        .map_err(AppError::internal)?;
    Ok((der, CertificateDer::from(k.cert_der.clone())))
}

fn sig_template(id: &str, cert: &CertificateDer) -> Signature {
    let mut s = Signature::template(id, cert);
    for r in &mut s.signed_info.reference {
        r.digest_method.algorithm = DigestAlgorithm::Sha256;
    }
    s
}

/// Signs a document whose first `ds:Signature` is a template; returns it without
/// the XML declaration.
pub fn sign(xml: &str, key_der: &[u8]) -> AppResult<String> {
    let signed = Crypto::sign_xml(xml, key_der).map_err(AppError::internal)?;
    Ok(strip_decl(&signed))
}

/// Signs a minimal document (start-up: initialises xmlsec, checks the key).
pub fn self_test(state: &Core) -> AppResult<()> {
    let (key_der, cert) = signing_key(state)?;
    let id = new_id();
    let template = to_xml(&sig_template(&id, &cert))?;
    sign(&format!("<t ID=\"{id}\">{template}</t>"), &key_der).map(|_| ())
}

fn strip_decl(xml: &str) -> String {
    let t = xml.trim_start();
    match t
        .strip_prefix("<?xml")
        .and_then(|r| r.find("?>").map(|i| &r[i + 2..]))
    {
        Some(rest) => rest.trim_start().to_string(),
        None => t.to_string(),
    }
}

fn to_xml<'a, T>(v: &'a T) -> AppResult<String>
where
    T: ToXml<'a>,
    T::Error: std::fmt::Debug,
{
    v.to_string()
        .map_err(|e| AppError::internal(format!("{e:?}")))
}

fn attributes(g: &Grant) -> Vec<Attribute> {
    let mut out = Vec::new();
    let mut add = |name: &str, friendly: &str, values: Vec<String>| {
        if values.is_empty() {
            return;
        }
        out.push(Attribute {
            friendly_name: Some(friendly.to_string()),
            name: Some(name.to_string()),
            name_format: Some(ATTR_NAME_FORMAT_URI.to_string()),
            values: values
                .into_iter()
                .map(|v| AttributeValue {
                    attribute_type: Some("xs:string".to_string()),
                    value: Some(esc(&v)),
                })
                .collect(),
        });
    };
    if g.sp.releases("email") {
        add(
            "urn:oid:0.9.2342.19200300.100.1.3",
            "mail",
            vec![g.user.email.clone()],
        );
    }
    if g.sp.releases("name") && !g.user.display_name.is_empty() {
        add(
            "urn:oid:2.16.840.1.113730.3.1.241",
            "displayName",
            vec![g.user.display_name.clone()],
        );
    }
    // `groups`: the user's roles, multi-valued (one AttributeValue each), as
    // eduPerson `isMemberOf`.
    if g.sp.releases("groups") {
        add(
            "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
            "isMemberOf",
            g.user
                .roles
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        );
    }
    // Under a support grant the SP is told who really acts (and under which grant).
    if let Some(engineer) = g.session.impersonator_id {
        add(
            "urn:monban:attribute:impersonator",
            "impersonator",
            vec![engineer.to_string()],
        );
        if let Some(grant) = g.session.support_grant_id {
            add(
                "urn:monban:attribute:support-grant",
                "supportGrant",
                vec![grant.to_string()],
            );
        }
        if g.support_readonly {
            add(
                ATTR_SUPPORT_READONLY,
                "supportReadonly",
                vec!["true".to_string()],
            );
        }
    }
    out
}

/// The signed, base64-encoded Response for a successful sign-on.
pub fn success(state: &Core, g: &Grant) -> AppResult<String> {
    let now = state.clock.now();
    let cfg = &state.cfg.saml;
    let not_after = now + Duration::seconds(cfg.assertion_lifetime_secs);
    let (key_der, cert) = signing_key(state)?;
    let assertion_id = new_id();
    let attrs = attributes(g);
    let assertion = Assertion {
        id: assertion_id.clone(),
        issue_instant: now,
        version: "2.0".into(),
        issuer: issuer(state),
        signature: g
            .sp
            .sign_assertion
            .then(|| sig_template(&assertion_id, &cert)),
        subject: Some(Subject {
            name_id: Some(SubjectNameID {
                format: Some(g.name_id_format.to_string()),
                value: esc(g.name_id),
            }),
            subject_confirmations: Some(vec![SubjectConfirmation {
                method: Some(CONFIRMATION_BEARER.into()),
                name_id: None,
                subject_confirmation_data: Some(SubjectConfirmationData {
                    not_before: None,
                    not_on_or_after: Some(not_after),
                    recipient: Some(g.acs_url.to_string()),
                    in_response_to: g.in_response_to.map(str::to_string),
                    address: None,
                    content: None,
                }),
            }]),
        }),
        conditions: Some(Conditions {
            not_before: Some(now - Duration::seconds(cfg.clock_skew_secs)),
            not_on_or_after: Some(not_after),
            audience_restrictions: Some(vec![AudienceRestriction {
                audience: vec![esc(&g.sp.entity_id)],
            }]),
            one_time_use: None,
            proxy_restriction: None,
        }),
        authn_statements: Some(vec![AuthnStatement {
            authn_instant: Some(g.session.auth_time),
            session_index: Some(g.session_index.to_string()),
            session_not_on_or_after: Some(g.session.expires_at),
            subject_locality: None,
            authn_context: Some(AuthnContext {
                value: Some(AuthnContextClassRef {
                    value: Some(g.context_class.to_string()),
                }),
            }),
        }]),
        attribute_statements: (!attrs.is_empty())
            .then(|| vec![AttributeStatement { attributes: attrs }]),
    };
    let mut assertion_xml = strip_decl(&to_xml(&assertion)?);
    if g.sp.sign_assertion {
        assertion_xml = sign(&assertion_xml, &key_der)?;
    }
    if g.sp.encrypt_assertions {
        let cert =
            g.sp.encryption_cert_der()
                .ok_or_else(|| AppError::internal("no SP encryption certificate"))?;
        assertion_xml = super::encrypt::encrypt_assertion(&assertion_xml, &cert)?;
    }
    let response_id = new_id();
    let response = Response {
        id: response_id.clone(),
        in_response_to: g.in_response_to.map(str::to_string),
        version: "2.0".into(),
        issue_instant: now,
        destination: Some(g.acs_url.to_string()),
        consent: None,
        issuer: Some(issuer(state)),
        signature: g
            .sp
            .sign_response
            .then(|| sig_template(&response_id, &cert)),
        status: Some(Status {
            status_code: StatusCode {
                value: Some(STATUS_SUCCESS.into()),
            },
            status_message: None,
            status_detail: None,
        }),
        encrypted_assertion: None,
        assertion: None,
    };
    let response_xml = strip_decl(&to_xml(&response)?);
    let close = "</saml2p:Response>";
    let Some(at) = response_xml.rfind(close) else {
        return Err(AppError::internal("unexpected Response serialisation"));
    };
    let mut full = String::with_capacity(response_xml.len() + assertion_xml.len());
    full.push_str(&response_xml[..at]);
    full.push_str(&assertion_xml);
    full.push_str(close);
    if g.sp.sign_response {
        full = sign(&full, &key_der)?;
    }
    Ok(B64.encode(full))
}

/// An unsigned error Response (`top` with an optional second-level code).
pub fn error_response(
    state: &Core,
    acs_url: &str,
    in_response_to: Option<&str>,
    top: &str,
    second: Option<&str>,
    message: &str,
) -> String {
    let irt = in_response_to
        .map(|i| format!(" InResponseTo=\"{}\"", esc(i)))
        .unwrap_or_default();
    let inner = second
        .map(|s| format!("<samlp:StatusCode Value=\"{}\"/>", esc(s)))
        .unwrap_or_default();
    let xml = format!(
        "<samlp:Response xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{}\" ID=\"{}\" Version=\"2.0\" \
         IssueInstant=\"{}\" Destination=\"{}\"{irt}><saml:Issuer>{}</saml:Issuer><samlp:Status>\
         <samlp:StatusCode Value=\"{}\">{inner}</samlp:StatusCode><samlp:StatusMessage>{}</samlp:StatusMessage>\
         </samlp:Status></samlp:Response>",
        super::xml::NS_ASSERTION,
        new_id(),
        instant(state.clock.now()),
        esc(acs_url),
        esc(&entity_id(state)),
        esc(top),
        esc(message),
    );
    B64.encode(xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_class_follows_the_session_acr() {
        let now = chrono::Utc::now();
        let mut s = Session {
            id: uuid::Uuid::new_v4(),
            token_hash: vec![],
            org_id: uuid::Uuid::new_v4(),
            user_id: uuid::Uuid::new_v4(),
            created_at: now,
            last_seen_at: now,
            expires_at: now,
            auth_time: now,
            amr: "pwd".into(),
            acr: crate::sessions::ACR_PASSWORD.into(),
            ip: None,
            user_agent: None,
            ended_at: None,
            end_reason: None,
            impersonator_id: None,
            support_grant_id: None,
        };
        assert_eq!(context_class(&s), AC_PASSWORD);
        s.amr = "pwd otp mfa".into();
        s.acr = ACR_MFA.into();
        assert_eq!(context_class(&s), AC_MFA);
        s.amr = "pwd hwk user mfa".into();
        s.acr = crate::sessions::ACR_PHR.into();
        assert_eq!(context_class(&s), AC_PHR);
        assert_eq!(classes_of(&s), &[AC_PHR, AC_MFA, AC_PASSWORD]);
    }

    #[test]
    fn ids_are_ncnames_and_declarations_strip() {
        let id = new_id();
        assert!(id.starts_with('_') && id.len() == 41);
        assert_eq!(strip_decl("<?xml version=\"1.0\"?>\n<a/>"), "<a/>");
        assert_eq!(strip_decl("<a/>"), "<a/>");
    }
}
