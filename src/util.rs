//! Small helpers shared across modules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// `n` random bytes from the system CSPRNG, base64url without padding.
pub fn random_token(n: usize) -> String {
    B64.encode(random_bytes(n))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b).expect("system random generator");
    b
}

/// `scheme://host[:port]` of a URL (the whole string when it does not parse).
pub fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.to_string(),
    }
}

/// A redirect target after sign-in: only a local absolute path is accepted (no scheme,
/// no host, no `//` or `/\` that browsers treat as another host, no control characters).
pub fn safe_local_path(target: &str) -> Option<&str> {
    let ok = target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && target.len() <= 4096
        && !target.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(target)
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_safe() {
        assert_eq!(safe_local_path("/account"), Some("/account"));
        assert_eq!(safe_local_path("/authorize?x=1"), Some("/authorize?x=1"));
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "account",
            "/a\r\nLocation: x",
            "/a\\b",
            "",
        ] {
            assert_eq!(safe_local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("門番門番", 4), "門");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
