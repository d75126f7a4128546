//! A small JWS (compact serialisation) signer over parsed aws-lc-rs key pairs.
//!
//! `jsonwebtoken::encode` re-parses the PEM key on every call; keeping the parsed key
//! pair in memory signs at the raw algorithm's rate. Verification stays with
//! jsonwebtoken (see the tests).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::Serialize;

/// JWS algorithms Monban signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key rejected: {0}")]
    Rejected(String),
    #[error("signing failed")]
    Sign,
}

impl SigningKey {
    /// Generates a fresh key: RSA-2048, P-256 or Ed25519.
    pub fn generate(alg: Alg) -> Result<(SigningKey, Vec<u8>), KeyError> {
        let rej = |_| KeyError::Rejected("key generation failed".into());
        match alg {
            Alg::RS256 => {
                use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
                let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(rej)?;
                let der: Pkcs8V1Der = kp.as_der().map_err(rej)?;
                let der = der.as_ref().to_vec();
                Ok((SigningKey::Rsa(kp), der))
            }
            Alg::ES256 => {
                let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(rej)?;
                let der = kp.to_pkcs8v1().map_err(rej)?.as_ref().to_vec();
                Ok((SigningKey::Ec(kp), der))
            }
            Alg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(rej)?;
                let der = kp.to_pkcs8v1().map_err(rej)?.as_ref().to_vec();
                Ok((SigningKey::Ed(kp), der))
            }
        }
    }

    /// Parses a PKCS#8 DER private key for `alg`.
    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<SigningKey, KeyError> {
        let rej = |e: aws_lc_rs::error::KeyRejected| KeyError::Rejected(e.to_string());
        Ok(match alg {
            Alg::RS256 => {
                let kp = RsaKeyPair::from_pkcs8(der).map_err(rej)?;
                if kp.public_modulus_len() * 8 < 2048 {
                    return Err(KeyError::Rejected(
                        "RSA keys must have at least 2048 bits".into(),
                    ));
                }
                SigningKey::Rsa(kp)
            }
            Alg::ES256 => SigningKey::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(rej)?,
            ),
            Alg::EdDSA => SigningKey::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(rej)?),
        })
    }

    pub fn alg(&self) -> Alg {
        match self {
            SigningKey::Rsa(_) => Alg::RS256,
            SigningKey::Ec(_) => Alg::ES256,
            SigningKey::Ed(_) => Alg::EdDSA,
        }
    }

    /// Raw signature over `msg` in JWS form (RSASSA-PKCS1-v1_5, ECDSA r||s, Ed25519).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            SigningKey::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            SigningKey::Ec(kp) => Ok(kp
                .sign(&SystemRandom::new(), msg)
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec()),
            SigningKey::Ed(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }

    /// The public JWK members (without `kid`, `use`, `alg`), in RFC 7638 order.
    pub fn public_jwk_members(&self) -> Vec<(&'static str, String)> {
        match self {
            SigningKey::Rsa(kp) => {
                let pk = kp.public_key();
                vec![
                    (
                        "e",
                        B64.encode(pk.exponent().big_endian_without_leading_zero()),
                    ),
                    ("kty", "RSA".into()),
                    (
                        "n",
                        B64.encode(pk.modulus().big_endian_without_leading_zero()),
                    ),
                ]
            }
            SigningKey::Ec(kp) => {
                let point = kp.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                vec![
                    ("crv", "P-256".into()),
                    ("kty", "EC".into()),
                    ("x", B64.encode(&point[1..33])),
                    ("y", B64.encode(&point[33..65])),
                ]
            }
            SigningKey::Ed(kp) => vec![
                ("crv", "Ed25519".into()),
                ("kty", "OKP".into()),
                ("x", B64.encode(kp.public_key().as_ref())),
            ],
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url): used as the key id.
    pub fn thumbprint(&self) -> String {
        let members = self.public_jwk_members();
        let mut canon = String::from("{");
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                canon.push(',');
            }
            canon.push_str(&format!("\"{k}\":\"{v}\""));
        }
        canon.push('}');
        B64.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canon.as_bytes(),
        ))
    }

    /// The public JWK with `kid`, `use` and `alg`.
    pub fn public_jwk(&self, kid: &str) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in self.public_jwk_members() {
            m.insert(k.into(), v.into());
        }
        m.insert("kid".into(), kid.into());
        m.insert("use".into(), "sig".into());
        m.insert("alg".into(), self.alg().as_str().into());
        serde_json::Value::Object(m)
    }
}

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn sign_compact<T: Serialize>(
    key: &SigningKey,
    kid: &str,
    typ: &str,
    claims: &T,
) -> Result<String, KeyError> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        typ: &'a str,
        kid: &'a str,
    }
    let header = serde_json::to_vec(&Header {
        alg: key.alg().as_str(),
        typ,
        kid,
    })
    .map_err(|_| KeyError::Sign)?;
    let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
    let mut out = String::with_capacity(64 + payload.len() * 4 / 3 + 512);
    B64.encode_string(&header, &mut out);
    out.push('.');
    B64.encode_string(&payload, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    B64.encode_string(&sig, &mut out);
    Ok(out)
}
