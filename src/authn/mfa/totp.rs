//! RFC 6238 TOTP as authenticator apps (Google Authenticator and the like) expect it:
//! HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit random key. A code is accepted for
//! the current step and one step either side (clock skew); which step matched is
//! returned so the caller can refuse a step already used.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const DIGITS: usize = 6;
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW: i64 = 1;
/// Key length in bytes (RFC 4226 recommends 160 bits).
pub const SECRET_LEN: usize = 20;

/// A new random key.
pub fn new_secret() -> Vec<u8> {
    crate::util::random_bytes(SECRET_LEN)
}

/// The RFC 6238 time step containing `now`.
pub fn step_at(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECS)
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECS as u64)
        .with_skew(SKEW as u16)
        .with_secret(secret.to_vec())
        .with_issuer(issuer)
        .with_account_name(account)
        .build()
        .ok()
}

/// What the user typed, if it has the shape of a code: 6 digits once spaces (apps show
/// `123 456`) are removed. Full-width digits (a Japanese IME left on) count as digits.
pub fn parse_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(super::fold_fullwidth)
        .collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The code for `step` (what the authenticator app shows during that step).
pub fn code_at_step(secret: &[u8], step: i64) -> Option<String> {
    let t = totp(secret, None, "")?;
    let secs = u64::try_from(step.checked_mul(STEP_SECS)?).ok()?;
    Some(t.generate(secs).to_string())
}

/// The step whose code `code` is, among the current step ± [`SKEW`]; the latest if
/// several match. Every candidate is computed and compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
    let code = parse_code(code)?;
    let current = step_at(now);
    let mut found = None;
    for step in current - SKEW..=current + SKEW {
        let Some(expected) = code_at_step(secret, step) else {
            continue;
        };
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// Characters a `otpauth://` label must not contain (the issuer/account separator).
fn label_safe(s: &str) -> String {
    s.replace(':', " ").trim().to_string()
}

/// The `otpauth://totp/Issuer:account?secret=…&issuer=…` URI (Key Uri Format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Option<String> {
    let issuer = label_safe(issuer);
    let account = label_safe(account);
    totp(secret, Some(&issuer), &account)?.to_url().ok()
}

/// The key in base32 (no padding), in groups of four for typing by hand.
pub fn base32_grouped(secret: &[u8]) -> String {
    let b32 = Secret::from(secret.to_vec()).to_base32();
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A QR code of `text` as an SVG `data:` URI (CSP allows `img-src data:`).
pub fn qr_svg_data_uri(text: &str) -> Option<String> {
    use base64::Engine;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 Appendix B, SHA-1 (the last 6 of the 8-digit values).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at_step(secret, t / 30).unwrap(), code, "t={t}");
        }
    }

    #[test]
    fn window_is_current_step_plus_minus_one() {
        let secret = b"12345678901234567890";
        let now = Utc.timestamp_opt(1_700_000_015, 0).unwrap();
        let s = step_at(now);
        for d in -1..=1 {
            let code = code_at_step(secret, s + d).unwrap();
            assert_eq!(matching_step(secret, &code, now), Some(s + d), "d={d}");
        }
        for d in [-3, -2, 2, 3] {
            let code = code_at_step(secret, s + d).unwrap();
            // (a 1-in-a-million collision with a neighbour's code would flake: check it)
            let clash = (-1..=1).any(|e| code_at_step(secret, s + e).unwrap() == code);
            if !clash {
                assert_eq!(matching_step(secret, &code, now), None, "d={d}");
            }
        }
    }

    #[test]
    fn code_shapes() {
        assert_eq!(parse_code(" 123 456 "), Some("123456".into()));
        assert_eq!(parse_code("１２３４５６"), Some("123456".into()));
        for bad in [
            "12345",
            "1234567",
            "12a456",
            "+12345",
            "",
            "123-456",
            "١٢٣٤٥٦",
        ] {
            assert_eq!(parse_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uri_and_key_text() {
        let secret = b"12345678901234567890";
        let uri = otpauth_uri(secret, "Monban", "alice@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Monban:alice%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Monban"), "{uri}");
        assert!(otpauth_uri(secret, "Monban", "we:ird@example.com").is_some());
        assert_eq!(
            base32_grouped(secret),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        let qr = qr_svg_data_uri(&uri).unwrap();
        assert!(qr.starts_with("data:image/svg+xml;base64,"));
    }
}
