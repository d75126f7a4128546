//! Page language: `ui_locales` query parameter > `monban_lang` cookie >
//! `Accept-Language` > `ui.default_locale`. Japanese and English; the texts are in
//! `messages.toml` beside this file.

use std::collections::HashMap;

pub const LANG_COOKIE: &str = "monban_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ja,
    En,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ja" => Some(Locale::Ja),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// First supported tag of a space-separated `ui_locales` value.
    pub fn from_ui_locales(v: &str) -> Option<Locale> {
        v.split_whitespace().find_map(Locale::parse)
    }

    /// Best supported language of an `Accept-Language` header, by q-value.
    pub fn from_accept_language(v: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in v.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(l) = Locale::parse(tag) {
                // Higher q wins; on a tie the earlier entry wins.
                if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                    best = Some((q, i, l));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// Text for `key` in this language (empty when unknown).
    pub fn t(self, key: &str) -> &'static str {
        let (ja, en) = text(key);
        match self {
            Locale::Ja => ja,
            Locale::En => en,
        }
    }
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// One message in both languages.
#[derive(serde::Deserialize)]
struct Text {
    ja: String,
    en: String,
}

/// Every page text by key, from `messages.toml` (compiled in, parsed once; a unit
/// test parses it at build time of the tests).
static MESSAGES: std::sync::LazyLock<HashMap<String, Text>> = std::sync::LazyLock::new(|| {
    toml::from_str(include_str!("messages.toml")).expect("src/i18n/messages.toml is valid")
});

/// (Japanese, English) for `key`; empty for an unknown key.
fn text(key: &str) -> (&'static str, &'static str) {
    match MESSAGES.get(key) {
        Some(t) => (t.ja.as_str(), t.en.as_str()),
        None => ("", ""),
    }
}

/// Localised description of an error code, if there is one.
pub fn error_text(locale: Locale, code: &str) -> Option<&'static str> {
    let t = locale.t(&format!("error.{code}"));
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        assert!(MESSAGES.len() > 150, "{}", MESSAGES.len());
        for (k, t) in MESSAGES.iter() {
            assert!(!t.ja.trim().is_empty(), "{k} has no Japanese");
            assert!(!t.en.trim().is_empty(), "{k} has no English");
        }
        assert_eq!(
            Locale::En.t("login.failed"),
            "The login ID or password is incorrect."
        );
        assert_eq!(Locale::Ja.t("no.such.key"), "");
    }

    #[test]
    fn accept_language_by_quality() {
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("fr, ja;q=0.5, en;q=0.4"),
            Some(Locale::Ja)
        );
        assert_eq!(Locale::from_accept_language("de, fr"), None);
        assert_eq!(
            Locale::from_accept_language("ja;q=0, en;q=0.1"),
            Some(Locale::En)
        );
    }

    #[test]
    fn ui_locales_first_supported() {
        assert_eq!(Locale::from_ui_locales("fr-CA ja en"), Some(Locale::Ja));
        assert_eq!(Locale::from_ui_locales("de"), None);
    }

    #[test]
    fn every_key_has_both_languages() {
        for key in [
            "login.title",
            "login.failed",
            "error.csrf_failed",
            "logout.done",
        ] {
            assert!(!Locale::Ja.t(key).is_empty() && !Locale::En.t(key).is_empty());
            assert_ne!(Locale::Ja.t(key), Locale::En.t(key));
        }
    }

    #[test]
    fn every_key_used_by_the_mfa_pages_has_both_languages() {
        let sources = [
            include_str!("../http/templates_mfa.rs"),
            include_str!("../authn/mfa/routes.rs"),
            include_str!("../account/mfa.rs"),
            include_str!("../account/reauth.rs"),
        ];
        let mut n = 0;
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                let is_key = (part.starts_with("mfa.") || part.starts_with("reauth."))
                    && part.len() > 5
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                if is_key {
                    n += 1;
                    assert!(!Locale::Ja.t(part).is_empty(), "{part} has no Japanese");
                    assert!(!Locale::En.t(part).is_empty(), "{part} has no English");
                }
            }
        }
        assert!(n > 50, "found only {n} keys");
        assert_eq!(
            Locale::Ja.t("mfa.code_wrong"),
            "コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。"
        );
    }
}
