//! Request parameters for the OAuth endpoints: `application/x-www-form-urlencoded`
//! pairs from a query string or a body. A parameter sent twice is an error
//! (RFC 6749 §3.1), an empty value counts as absent, and values have a size cap.

use std::collections::HashMap;

/// Longest value accepted for any single parameter.
pub const MAX_VALUE: usize = 4096;

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: HashMap<String, String>,
}

#[derive(Debug, PartialEq)]
pub enum ParamError {
    Duplicate(String),
    TooLong(String),
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamError::Duplicate(k) => write!(f, "parameter {k} is repeated"),
            ParamError::TooLong(k) => write!(f, "parameter {k} is too long"),
        }
    }
}

impl Params {
    /// Parses pairs; only the names in `known` are checked for repetition and kept
    /// (unknown parameters are ignored, as OAuth requires).
    pub fn parse(raw: &[u8], known: &[&str]) -> Result<Params, ParamError> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(raw) {
            if !known.contains(&k.as_ref()) {
                continue;
            }
            if v.len() > MAX_VALUE {
                return Err(ParamError::TooLong(k.into_owned()));
            }
            if v.is_empty() {
                continue;
            }
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(ParamError::Duplicate(k.into_owned()));
            }
        }
        Ok(Params { map })
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
}
