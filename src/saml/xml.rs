//! Untrusted SAML input: base64 and DEFLATE decoding with hard caps, refusal of
//! DTDs and entity declarations before any parser sees the bytes, a structural check
//! (root element and namespace, no duplicate IDs), and signature verification:
//! XML signatures (only the signed content is used afterwards, which defeats
//! signature wrapping) and HTTP-Redirect query signatures over the exact received
//! bytes (SAML bindings §3.4.4.1).

use std::collections::HashSet;
use std::io::Read;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Largest decoded (or inflated) protocol message accepted.
pub const MAX_XML_BYTES: usize = 64 * 1024;

pub const SIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SIG_RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
const SIG_RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const SIG_ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// Algorithms accepted on incoming XML signatures (no SHA-1).
const ALLOWED: [AllowedSignatureAlgorithm; 4] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("the message is not valid base64")]
    Base64,
    #[error("the message is larger than {MAX_XML_BYTES} bytes")]
    TooLarge,
    #[error("the message is not valid DEFLATE data")]
    Inflate,
    #[error("the message is not UTF-8")]
    Utf8,
    #[error("DTDs and entity declarations are not accepted")]
    Dtd,
    #[error("the message is not well-formed XML")]
    Malformed,
    #[error("expected a {0} in the SAML protocol namespace")]
    WrongElement(&'static str),
    #[error("duplicate ID attribute")]
    DuplicateId,
    #[error("the signature is missing")]
    Unsigned,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("unsupported signature algorithm")]
    SigAlg,
    #[error("the signature does not cover the message")]
    Wrapped,
}

/// Refuses documents with a DOCTYPE or entity declarations (XXE, billion laughs).
pub fn refuse_dtd(xml: &[u8]) -> Result<(), InputError> {
    let lower = xml.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if has(b"<!doctype") || has(b"<!entity") {
        return Err(InputError::Dtd);
    }
    Ok(())
}

fn decode_base64(value: &str) -> Result<Vec<u8>, InputError> {
    // Base64 is 4/3 of the data: refuse before decoding anything huge.
    if value.len() > MAX_XML_BYTES * 2 {
        return Err(InputError::TooLarge);
    }
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact).map_err(|_| InputError::Base64)
}

fn checked_text(bytes: Vec<u8>) -> Result<String, InputError> {
    if bytes.len() > MAX_XML_BYTES {
        return Err(InputError::TooLarge);
    }
    refuse_dtd(&bytes)?;
    String::from_utf8(bytes).map_err(|_| InputError::Utf8)
}

/// An HTTP-POST binding message: base64 of the XML.
pub fn decode_post(value: &str) -> Result<String, InputError> {
    checked_text(decode_base64(value)?)
}

/// An HTTP-Redirect binding message: base64 of raw DEFLATE, inflated to at most
/// [`MAX_XML_BYTES`] (a deflate bomb stops at the cap).
pub fn decode_redirect(value: &str) -> Result<String, InputError> {
    let compressed = decode_base64(value)?;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice())
        .take(MAX_XML_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| InputError::Inflate)?;
    checked_text(out)
}

/// Raw DEFLATE + base64, for messages we send over HTTP-Redirect.
pub fn encode_redirect(xml: &str) -> String {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(xml.as_bytes());
    B64.encode(enc.finish().unwrap_or_default())
}

/// What the structural check learnt about a message.
#[derive(Debug)]
pub struct Shape {
    /// The root element's ID attribute.
    pub id: Option<String>,
    /// Whether the root element has a direct `ds:Signature` child.
    pub signed: bool,
}

/// Checks that the root is `samlp:{local}` and that no two elements share an ID.
pub fn check_shape(xml: &str, local: &'static str) -> Result<Shape, InputError> {
    let doc = libxml::parser::Parser::default()
        .parse_string(xml)
        .map_err(|_| InputError::Malformed)?;
    let root = doc.get_root_element().ok_or(InputError::Malformed)?;
    let ns = root.get_namespace().map(|n| n.get_href());
    if root.get_name() != local || ns.as_deref() != Some(NS_PROTOCOL) {
        return Err(InputError::WrongElement(local));
    }
    let mut seen = HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        if let Some(id) = n.get_attribute("ID") {
            if !seen.insert(id) {
                return Err(InputError::DuplicateId);
            }
        }
        stack.extend(n.get_child_elements());
    }
    let signed = root.get_child_elements().iter().any(|c| {
        c.get_name() == "Signature"
            && c.get_namespace().map(|n| n.get_href()).as_deref() == Some(NS_DSIG)
    });
    Ok(Shape {
        id: root.get_attribute("ID"),
        signed,
    })
}

/// Verifies the enveloped signature of the root message with one of `certs` and
/// returns the signed content only. The signed element must be the root itself
/// (same name and ID): a signature over some other element is a wrapping attempt.
pub fn verify_enveloped(
    xml: &str,
    certs: &[Vec<u8>],
    local: &'static str,
) -> Result<String, InputError> {
    let shape = check_shape(xml, local)?;
    if !shape.signed {
        return Err(InputError::Unsigned);
    }
    let certs: Vec<CertificateDer> = certs.iter().cloned().map(CertificateDer::from).collect();
    let signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::PreDigest,
        Some(&ALLOWED),
    )
    .map_err(|_| InputError::BadSignature)?;
    refuse_dtd(signed.as_bytes())?;
    let inner = check_shape(&signed, local).map_err(|_| InputError::Wrapped)?;
    if inner.id.is_none() || inner.id != shape.id {
        return Err(InputError::Wrapped);
    }
    Ok(signed)
}

/// Namespace of the SAML asynchronous Single Logout protocol extension.
pub const NS_ASYNC_SLO: &str = "urn:oasis:names:tc:SAML:2.0:protocol:ext:async-slo";

/// What a (verified) LogoutRequest says beyond samael's schema.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogoutDetails {
    /// The `samlp:SessionIndex` elements.
    pub session_indexes: Vec<String>,
    /// `samlp:Extensions/aslo:Asynchronous`: the requester wants no LogoutResponse.
    pub asynchronous: bool,
}

pub fn logout_details(xml: &str) -> Result<LogoutDetails, InputError> {
    let doc = libxml::parser::Parser::default()
        .parse_string(xml)
        .map_err(|_| InputError::Malformed)?;
    let root = doc.get_root_element().ok_or(InputError::Malformed)?;
    let ns_is = |n: &libxml::tree::Node, ns: &str| {
        n.get_namespace().map(|x| x.get_href()).as_deref() == Some(ns)
    };
    let mut out = LogoutDetails::default();
    for c in root.get_child_elements() {
        match c.get_name().as_str() {
            "SessionIndex" if ns_is(&c, NS_PROTOCOL) => {
                let v = c.get_content();
                let v = v.trim();
                if !v.is_empty() && v.len() <= 256 {
                    out.session_indexes.push(v.to_string());
                }
            }
            "Extensions" if ns_is(&c, NS_PROTOCOL) => {
                out.asynchronous |= c
                    .get_child_elements()
                    .iter()
                    .any(|e| e.get_name() == "Asynchronous" && ns_is(e, NS_ASYNC_SLO));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Verifies a Redirect-binding signature over the octets of the parsed message
/// (`{msg}=…[&RelayState=…]&SigAlg=…`, the raw bytes of the very pairs whose
/// decoded values are used afterwards; see [`super::binding`]).
pub fn verify_redirect(
    msg: &super::binding::BindingMessage<'_>,
    certs: &[Vec<u8>],
) -> Result<(), InputError> {
    let signed = msg.signed_octets().ok_or(InputError::Unsigned)?;
    let sig_alg = msg.sig_alg.as_ref().ok_or(InputError::Unsigned)?;
    let sig = msg.signature.as_ref().ok_or(InputError::Unsigned)?;
    let digest = match sig_alg.value.as_str() {
        SIG_RSA_SHA256 | SIG_ECDSA_SHA256 => openssl::hash::MessageDigest::sha256(),
        SIG_RSA_SHA384 => openssl::hash::MessageDigest::sha384(),
        SIG_RSA_SHA512 => openssl::hash::MessageDigest::sha512(),
        _ => return Err(InputError::SigAlg),
    };
    let signature = decode_base64(&sig.value)?;
    for der in certs {
        let Ok(key) = openssl::x509::X509::from_der(der).and_then(|c| c.public_key()) else {
            continue;
        };
        let ok = openssl::sign::Verifier::new(digest, &key)
            .and_then(|mut v| {
                v.update(signed.as_bytes())?;
                v.verify(&signature)
            })
            .unwrap_or(false);
        if ok {
            return Ok(());
        }
    }
    Err(InputError::BadSignature)
}

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtd_refused() {
        assert_eq!(
            refuse_dtd(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>"),
            Err(InputError::Dtd)
        );
        assert!(refuse_dtd(b"<x/>").is_ok());
    }

    #[test]
    fn deflate_bomb_capped() {
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let b64 = B64.encode(enc.finish().unwrap());
        assert!(b64.len() < 64 * 1024);
        assert_eq!(decode_redirect(&b64), Err(InputError::TooLarge));
    }

    #[test]
    fn redirect_round_trip() {
        let xml =
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"a\"/>";
        assert_eq!(decode_redirect(&encode_redirect(xml)).unwrap(), xml);
        assert_eq!(decode_redirect("%%%"), Err(InputError::Base64));
    }
}
