//! Assertion encryption (SAML2int IDP11, ALG01): the signed Assertion is encrypted
//! with a fresh AES-256-GCM key (`xmlenc11#aes256-gcm`: IV ‖ ciphertext ‖ tag), the key
//! wrapped for the SP's encryption certificate with RSA-OAEP (`rsa-oaep-mgf1p`, the
//! OAEP variant xmlsec and the common SP stacks all read), and the result carried in
//! a `saml:EncryptedAssertion`. samael only decrypts, so the XML is written here.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::rsa::Padding;
use openssl::symm::Cipher;

use crate::error::{AppError, AppResult};

pub const ALG_AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
pub const ALG_RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

/// Encrypts an Assertion element (serialised, standalone namespaces) for `cert_der`.
pub fn encrypt_assertion(assertion_xml: &str, cert_der: &[u8]) -> AppResult<String> {
    let rsa = openssl::x509::X509::from_der(cert_der)
        .and_then(|c| c.public_key())
        .and_then(|k| k.rsa())
        .map_err(|e| AppError::internal(format!("SP encryption certificate: {e}")))?;
    let key = crate::util::random_bytes(32);
    let iv = crate::util::random_bytes(12);
    let mut tag = [0u8; 16];
    let ciphertext = openssl::symm::encrypt_aead(
        Cipher::aes_256_gcm(),
        &key,
        Some(&iv),
        &[],
        assertion_xml.as_bytes(),
        &mut tag,
    )
    .map_err(AppError::internal)?;
    let mut data = iv;
    data.extend_from_slice(&ciphertext);
    data.extend_from_slice(&tag);
    let mut wrapped = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(&key, &mut wrapped, Padding::PKCS1_OAEP)
        .map_err(AppError::internal)?;
    wrapped.truncate(n);
    Ok(format!(
        "<saml2:EncryptedAssertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">\
         <xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">\
         <xenc:EncryptionMethod Algorithm=\"{ALG_AES256_GCM}\"/>\
         <ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{ALG_RSA_OAEP}\">\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></xenc:EncryptionMethod>\
         <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>\
         </ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>\
         </xenc:EncryptedData></saml2:EncryptedAssertion>",
        B64.encode(wrapped),
        B64.encode(data),
    ))
}
