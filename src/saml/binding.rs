//! The one parser of SAML binding parameters, for the HTTP-Redirect query of every
//! endpoint (SSO and SLO) and for the HTTP-POST form body.
//!
//! The input is split once into raw `name=value` pairs. Every later step works on
//! those same pairs: the Redirect signature is checked over their raw bytes
//! ([`BindingMessage::signed_octets`], SAML bindings §3.4.4.1) and the message,
//! RelayState and signature used afterwards are their decoded values — so what was
//! verified is exactly what is used. To leave no room for two readings of one query:
//!
//! - a protocol parameter (`SAMLRequest`, `SAMLResponse`, `RelayState`, `SigAlg`,
//!   `Signature`) may appear at most once, counting names by their decoded spelling
//!   (`SAML%52equest` and `SAMLRequest` are the same parameter);
//! - a protocol parameter's name must be sent in its canonical spelling (a
//!   percent-encoded or `+`-encoded name that decodes to one is refused);
//! - exactly one of `SAMLRequest` and `SAMLResponse`;
//! - protocol values must be valid percent-encoded UTF-8.
//!
//! Other parameters are ignored.

/// The parameters the bindings define.
pub const PROTOCOL_PARAMS: [&str; 5] = [
    "SAMLRequest",
    "SAMLResponse",
    "RelayState",
    "SigAlg",
    "Signature",
];

/// One parameter: its bytes as received and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param<'a> {
    /// The value exactly as received (still percent-encoded).
    pub raw: &'a str,
    /// The decoded value (`+` is a space, `%XX` an octet, UTF-8).
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

impl Kind {
    pub fn field(self) -> &'static str {
        match self {
            Kind::Request => "SAMLRequest",
            Kind::Response => "SAMLResponse",
        }
    }
}

/// A binding message as parsed, borrowing the raw input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingMessage<'a> {
    pub kind: Kind,
    pub message: Param<'a>,
    pub relay_state: Option<Param<'a>>,
    pub sig_alg: Option<Param<'a>>,
    pub signature: Option<Param<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("the parameter {0} appears more than once")]
    Duplicate(&'static str),
    #[error("the parameter name {0} must not be percent-encoded")]
    Encoded(&'static str),
    #[error("the parameter {0} is not valid percent-encoded UTF-8")]
    BadValue(&'static str),
    #[error("SAMLRequest or SAMLResponse is missing")]
    Missing,
    #[error("SAMLRequest and SAMLResponse must not both be present")]
    Both,
}

/// `application/x-www-form-urlencoded` decoding of one component; None when the
/// octets are not UTF-8.
pub fn decode_component(raw: &str) -> Option<String> {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Parses a raw query string or form body (see the module documentation).
pub fn parse(input: &str) -> Result<BindingMessage<'_>, ParamError> {
    let mut found: [Option<Param<'_>>; 5] = Default::default();
    for pair in input.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = String::from_utf8_lossy(
            &percent_encoding::percent_decode_str(&raw_name.replace('+', " ")).collect::<Vec<u8>>(),
        )
        .into_owned();
        let Some(slot) = PROTOCOL_PARAMS.iter().position(|p| *p == decoded) else {
            continue;
        };
        let name = PROTOCOL_PARAMS[slot];
        if found[slot].is_some() {
            return Err(ParamError::Duplicate(name));
        }
        if raw_name != name {
            return Err(ParamError::Encoded(name));
        }
        let value = decode_component(raw_value).ok_or(ParamError::BadValue(name))?;
        found[slot] = Some(Param {
            raw: raw_value,
            value,
        });
    }
    let [request, response, relay_state, sig_alg, signature] = found;
    let (kind, message) = match (request, response) {
        (Some(m), None) => (Kind::Request, m),
        (None, Some(m)) => (Kind::Response, m),
        (Some(_), Some(_)) => return Err(ParamError::Both),
        (None, None) => return Err(ParamError::Missing),
    };
    Ok(BindingMessage {
        kind,
        message,
        relay_state,
        sig_alg,
        signature,
    })
}

impl BindingMessage<'_> {
    /// Whether the (Redirect) message claims a query signature.
    pub fn is_signed(&self) -> bool {
        self.sig_alg.is_some() || self.signature.is_some()
    }

    pub fn relay_state(&self) -> Option<String> {
        self.relay_state.as_ref().map(|p| p.value.clone())
    }

    /// The octets a Redirect signature covers, built from the raw bytes of the very
    /// pairs parsed: `{field}=…[&RelayState=…]&SigAlg=…` (None without SigAlg).
    pub fn signed_octets(&self) -> Option<String> {
        let sig_alg = self.sig_alg.as_ref()?;
        let mut s = format!("{}={}", self.kind.field(), self.message.raw);
        if let Some(rs) = &self.relay_state {
            s.push_str("&RelayState=");
            s.push_str(rs.raw);
        }
        s.push_str("&SigAlg=");
        s.push_str(sig_alg.raw);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: &str) -> String {
        url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
    }

    /// A signed query as an SP writes it, with its signed octets.
    fn signed_query(msg: &str, rs: Option<&str>) -> (Vec<String>, String) {
        let mut pairs = vec![format!("SAMLRequest={}", enc(msg))];
        if let Some(r) = rs {
            pairs.push(format!("RelayState={}", enc(r)));
        }
        pairs.push(format!("SigAlg={}", enc("urn:alg")));
        let octets = pairs.join("&");
        pairs.push("Signature=c2ln".to_string());
        (pairs, octets)
    }

    #[test]
    fn canonical_query_parses() {
        let (pairs, octets) = signed_query("bXNn+/=", Some("r s&t"));
        let q = pairs.join("&");
        let m = parse(&q).unwrap();
        assert_eq!(m.kind, Kind::Request);
        assert_eq!(m.message.value, "bXNn+/=");
        assert_eq!(m.relay_state().as_deref(), Some("r s&t"));
        assert_eq!(m.signed_octets().unwrap(), octets);
        assert_eq!(m.signature.unwrap().value, "c2ln");
    }

    #[test]
    fn ambiguous_queries_refused() {
        let (pairs, _) = signed_query("real", Some("rs"));
        let signed = pairs.join("&");
        for (q, e) in [
            (
                format!("SAML%52equest=forged&{signed}"),
                ParamError::Encoded("SAMLRequest"),
            ),
            (
                "SAML%52equest=forged".to_string(),
                ParamError::Encoded("SAMLRequest"),
            ),
            (
                "%53AMLRequest=x&SAMLRequest=y".to_string(),
                ParamError::Encoded("SAMLRequest"),
            ),
            (
                format!("{signed}&Relay%53tate=other"),
                ParamError::Duplicate("RelayState"),
            ),
            (
                format!("RelayState=other&{signed}"),
                ParamError::Duplicate("RelayState"),
            ),
            (
                format!("{signed}&SigAlg=x"),
                ParamError::Duplicate("SigAlg"),
            ),
            (
                format!("{signed}&Signature=x"),
                ParamError::Duplicate("Signature"),
            ),
            (format!("{signed}&SAMLResponse=x"), ParamError::Both),
            ("RelayState=x".to_string(), ParamError::Missing),
            (
                "SAMLRequest=%FF".to_string(),
                ParamError::BadValue("SAMLRequest"),
            ),
        ] {
            assert_eq!(parse(&q), Err(e), "{q}");
        }
        // Unrelated parameters (even look-alikes in another case) are ignored.
        let q = format!("samlrequest=x&{signed}&foo=%FF");
        let m = parse(&q).unwrap();
        assert_eq!(m.message.value, "real");
    }

    /// Variants of a parameter name: the canonical spelling, or one where some
    /// characters are percent-encoded (upper or lower case hex).
    fn name_variant(name: &'static str) -> impl Strategy<Value = String> {
        proptest::collection::vec((any::<bool>(), any::<bool>()), name.len()).prop_map(
            move |flags| {
                name.bytes()
                    .zip(flags)
                    .map(|(b, (encode, lower))| match (encode, lower) {
                        (false, _) => (b as char).to_string(),
                        (true, false) => format!("%{b:02X}"),
                        (true, true) => format!("%{b:02x}"),
                    })
                    .collect()
            },
        )
    }

    /// Extra pairs an attacker could add: any protocol name in any spelling, with
    /// any value, or unrelated pairs.
    fn extra_pair() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                proptest::sample::select(PROTOCOL_PARAMS.to_vec())
                    .prop_flat_map(name_variant)
                    .boxed(),
                "[a-zA-Z%0-9]{0,12}".boxed(),
            ],
            "[a-zA-Z0-9%+/=]{0,16}",
        )
            .prop_map(|(n, v)| format!("{n}={v}"))
    }

    proptest! {
        /// Whatever is added to a signed query, and in whatever order, the parse is
        /// refused or the message, RelayState and signed octets are exactly those
        /// that were signed.
        #[test]
        fn refused_or_what_was_signed(
            msg in "[A-Za-z0-9+/=]{1,40}",
            rs in proptest::option::of("[ -~]{0,20}"),
            extras in proptest::collection::vec(extra_pair(), 0..4),
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        ) {
            let (mut pairs, octets) = signed_query(&msg, rs.as_deref());
            pairs.extend(extras);
            for (i, idx) in order.iter().enumerate() {
                let n = pairs.len();
                pairs.swap(i % n, idx.index(n));
            }
            let q = pairs.join("&");
            // Accepted and covered by the signature (the octets are those signed):
            // then the values used are exactly those signed. Any other octets fail
            // the signature check.
            if let Ok(m) = parse(&q) {
                if m.signed_octets() == Some(octets.clone()) {
                    prop_assert_eq!(m.kind, Kind::Request);
                    prop_assert_eq!(&m.message.value, &msg);
                    prop_assert_eq!(m.relay_state(), rs.clone());
                    prop_assert_eq!(m.signature.map(|s| s.value), Some("c2ln".to_string()));
                }
            }
        }

        /// A query with only canonical, distinct protocol names always parses, in
        /// any order, to its own values.
        #[test]
        fn canonical_permutations_parse(
            msg in "[A-Za-z0-9+/=]{1,40}",
            rs in "[ -~]{0,20}",
            seed in any::<proptest::sample::Index>(),
        ) {
            let (mut pairs, octets) = signed_query(&msg, Some(&rs));
            let n = pairs.len();
            pairs.rotate_left(seed.index(n));
            let q = pairs.join("&");
            let m = parse(&q).unwrap();
            prop_assert_eq!(m.relay_state(), Some(rs));
            prop_assert_eq!(m.signed_octets(), Some(octets));
            prop_assert_eq!(m.message.value, msg);
        }

        /// A protocol name in any spelling other than the canonical one is refused.
        #[test]
        fn encoded_names_refused(
            name in proptest::sample::select(PROTOCOL_PARAMS.to_vec()).prop_flat_map(|n| (Just(n), name_variant(n))),
        ) {
            let (canonical, variant) = name;
            prop_assume!(variant != canonical);
            let q = format!("SAMLRequest=a&{variant}=b");
            prop_assert!(parse(&q).is_err());
        }
    }
}
