//! Request parameters for the OAuth endpoints: `application/x-www-form-urlencoded`
//! pairs from a query string or a body.
//!
//! The name that counts is the decoded one (`client%5Fid` *is* `client_id`), and
//! repetition is detected after decoding: a protocol parameter sent twice — even
//! once empty, even spelled differently — is an error (RFC 6749 §3.1), never "the
//! first one wins". An empty value counts as absent; values must be UTF-8 once
//! decoded and have a size cap. Parameters the endpoint does not know are ignored
//! (as OAuth requires) and may repeat.

use std::collections::HashMap;

/// Longest value accepted for any single parameter.
pub const MAX_VALUE: usize = 4096;

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamError {
    Duplicate(String),
    TooLong(String),
    NotUtf8(String),
}

impl ParamError {
    /// The (decoded) name of the offending parameter.
    pub fn name(&self) -> &str {
        match self {
            ParamError::Duplicate(k) | ParamError::TooLong(k) | ParamError::NotUtf8(k) => k,
        }
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamError::Duplicate(k) => write!(f, "parameter {k} is repeated"),
            ParamError::TooLong(k) => write!(f, "parameter {k} is too long"),
            ParamError::NotUtf8(k) => write!(f, "parameter {k} is not valid UTF-8"),
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a
/// space, `%XX` a byte. The bytes, not yet known to be UTF-8.
fn decode(raw: &[u8]) -> Vec<u8> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus).collect()
}

/// Every `name=value` pair, decoded (names lossily: a name that is not UTF-8 cannot
/// be one we know), in order.
fn pairs(raw: &[u8]) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    raw.split(|b| *b == b'&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v))
        })
}

impl Params {
    /// Parses pairs; only the names in `known` are checked and kept (unknown
    /// parameters are ignored, as OAuth requires). The first problem is an error.
    pub fn parse(raw: &[u8], known: &[&str]) -> Result<Params, ParamError> {
        let (p, mut problems) = Self::parse_all(raw, known);
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems.swap_remove(0))
        }
    }

    /// Parses pairs and reports every problem, with the parameters that had none
    /// (a repeated parameter is left out entirely, so that no caller can use one of
    /// its values by mistake). For endpoints that must decide *how* to answer an
    /// invalid request (the authorization endpoint redirects once the client and
    /// redirect URI are trusted).
    pub fn parse_all(raw: &[u8], known: &[&str]) -> (Params, Vec<ParamError>) {
        let mut seen: HashMap<String, Result<String, ParamError>> = HashMap::new();
        let mut problems = Vec::new();
        for (k, v) in pairs(raw) {
            if !known.contains(&k.as_str()) {
                continue;
            }
            let value = if v.len() > MAX_VALUE {
                Err(ParamError::TooLong(k.clone()))
            } else {
                String::from_utf8(v).map_err(|_| ParamError::NotUtf8(k.clone()))
            };
            if let Err(e) = &value {
                if !problems.contains(e) {
                    problems.push(e.clone());
                }
            }
            if let Some(prev) = seen.get_mut(&k) {
                let dup = ParamError::Duplicate(k.clone());
                if !problems.contains(&dup) {
                    problems.push(dup.clone());
                }
                *prev = Err(dup);
                continue;
            }
            seen.insert(k, value);
        }
        let map = seen
            .into_iter()
            .filter_map(|(k, v)| v.ok().filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
        (Params { map }, problems)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }

    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }

    /// Re-encodes as a query string (sorted, for stable URLs), leaving out `drop`.
    pub fn to_query(&self, drop: &[&str]) -> String {
        let mut keys: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !drop.contains(&k.as_str()))
            .collect();
        keys.sort();
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for k in keys {
            s.append_pair(k, &self.map[k]);
        }
        s.finish()
    }

    pub fn set(&mut self, k: &str, v: String) {
        self.map.insert(k.to_string(), v);
    }

    pub fn remove(&mut self, k: &str) {
        self.map.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn duplicates_and_empties() {
        let p = Params::parse(b"a=1&b=&c=x&zz=1&zz=2", &["a", "b", "c"]).unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert!(
            matches!(Params::parse(b"a=1&a=2", &["a"]), Err(ParamError::Duplicate(k)) if k == "a")
        );
        let long = format!("a={}", "x".repeat(MAX_VALUE + 1));
        assert!(matches!(
            Params::parse(long.as_bytes(), &["a"]),
            Err(ParamError::TooLong(_))
        ));
    }

    #[test]
    fn names_count_decoded() {
        let known = &["client_id", "scope"];
        let p = Params::parse(b"client%5Fid=abc&sc%6Fpe=openid+email", known).unwrap();
        assert_eq!(p.get("client_id"), Some("abc"));
        assert_eq!(p.get("scope"), Some("openid email"));
        for dup in [
            &b"client_id=a&client%5Fid=b"[..],
            b"client%5fid=a&client_id=a",
            b"client_id=&client_id=b",
            b"client_id=b&client_id=",
            b"client_id&client_id=b",
            b"%63lient_id=a&client%5Fid=a",
        ] {
            assert_eq!(
                Params::parse(dup, known).unwrap_err(),
                ParamError::Duplicate("client_id".into()),
                "{}",
                String::from_utf8_lossy(dup)
            );
        }
        assert_eq!(
            Params::parse(b"scope=%FF", known).unwrap_err(),
            ParamError::NotUtf8("scope".into())
        );
        // Unknown parameters may repeat and may be anything.
        assert!(Params::parse(b"x=1&x=2&x=%FF&client_id=a", known).is_ok());
    }

    #[test]
    fn parse_all_reports_every_problem_and_keeps_none_of_a_repeated_value() {
        let (p, problems) = Params::parse_all(
            b"state=a&scope=openid&state=b&client_id=c&client_id=c",
            &["state", "scope", "client_id"],
        );
        assert_eq!(
            problems,
            vec![
                ParamError::Duplicate("state".into()),
                ParamError::Duplicate("client_id".into())
            ]
        );
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("client_id"), None);
        assert_eq!(p.get("scope"), Some("openid"));
    }

    const KNOWN: &[&str] = &["client_id", "redirect_uri", "scope", "state", "code"];

    /// Every way to write `s` in a form body: each byte literal or `%XX` (either
    /// case), a space as `+` or `%20`.
    fn spelling(s: &'static str) -> impl Strategy<Value = String> {
        let per_byte: Vec<BoxedStrategy<String>> = s
            .bytes()
            .map(|b| {
                let mut forms = vec![format!("%{b:02X}"), format!("%{b:02x}")];
                if b == b' ' {
                    forms.push("+".into());
                } else if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    forms.push((b as char).to_string());
                }
                proptest::sample::select(forms).boxed()
            })
            .collect();
        per_byte.prop_map(|parts| parts.concat())
    }

    fn any_known() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(KNOWN.to_vec())
    }

    fn value() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ._~:/-]{0,12}"
    }

    fn encode(v: &str) -> String {
        url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
    }

    proptest! {
        /// However a known name is spelled, it is that parameter: the value is found
        /// under the decoded name.
        #[test]
        fn any_spelling_of_a_name_is_that_name(spelled in any_known().prop_flat_map(spelling), v in "[a-z0-9]{1,8}") {
            let decoded = String::from_utf8(decode(spelled.as_bytes())).unwrap();
            let raw = format!("{spelled}={}", encode(&v));
            let p = Params::parse(raw.as_bytes(), KNOWN).unwrap();
            prop_assert_eq!(p.get(&decoded), Some(v.as_str()));
        }

        /// A known name given twice, in any two spellings and with any values (empty
        /// ones included), among any other parameters, is always refused as a
        /// duplicate, and `parse_all` keeps neither value.
        #[test]
        fn a_repeated_name_in_any_spelling_is_refused(
            (name, s1, s2) in any_known().prop_flat_map(|n| (Just(n), spelling(n), spelling(n))),
            v1 in value(),
            v2 in value(),
            others in proptest::collection::vec(("[a-z_]{1,6}", value()), 0..5),
            at in any::<proptest::sample::Index>(),
        ) {
            let mut parts: Vec<String> = others
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            parts.push(format!("{s1}={}", encode(&v1)));
            let i = at.index(parts.len() + 1);
            parts.insert(i, format!("{s2}={}", encode(&v2)));
            let raw = parts.join("&");
            prop_assert_eq!(
                Params::parse(raw.as_bytes(), KNOWN).unwrap_err(),
                ParamError::Duplicate(name.to_string())
            );
            let (p, problems) = Params::parse_all(raw.as_bytes(), KNOWN);
            prop_assert_eq!(problems, vec![ParamError::Duplicate(name.to_string())]);
            prop_assert_eq!(p.get(name), None);
        }

        /// Distinct known names, each once, in any spelling and order, round-trip:
        /// every value is found, and re-encoding then parsing gives the same values.
        #[test]
        fn distinct_names_round_trip(
            entries in proptest::sample::subsequence(KNOWN.to_vec(), 0..=KNOWN.len())
                .prop_shuffle()
                .prop_flat_map(|names| {
                    names
                        .into_iter()
                        .map(|n| (Just(n), spelling(n), value()))
                        .collect::<Vec<_>>()
                }),
        ) {
            let raw = entries
                .iter()
                .map(|(_, spelled, v)| format!("{spelled}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let p = Params::parse(raw.as_bytes(), KNOWN).unwrap();
            for (k, _, v) in &entries {
                let want = (!v.is_empty()).then_some(v.as_str());
                prop_assert_eq!(p.get(k), want);
            }
            let again = Params::parse(p.to_query(&[]).as_bytes(), KNOWN).unwrap();
            for k in KNOWN {
                prop_assert_eq!(again.get(k), p.get(k));
            }
        }

        /// Arbitrary bytes never panic, and whatever is accepted holds only known names
        /// with non-empty UTF-8 values no longer than the cap.
        #[test]
        fn arbitrary_input_is_safe(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = Params::parse(&raw, KNOWN) {
                for k in KNOWN {
                    if let Some(v) = p.get(k) {
                        prop_assert!(!v.is_empty() && v.len() <= MAX_VALUE);
                    }
                }
            }
        }
    }
}
