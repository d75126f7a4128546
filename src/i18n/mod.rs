//! Page and e-mail language: `ui_locales` query parameter > `monban_lang` cookie >
//! `Accept-Language` > `ui.default_locale`, negotiated (fluent-langneg) among the
//! languages that have a folder under `locales/` beside this file.
//!
//! The texts are Fluent files, `locales/<language>/*.ftl`, compiled into the binary
//! (`FILES` below). A message key in Rust is written with dots (`login.title`); its
//! Fluent id has a dash in place of each dot (`login-title`). Messages without
//! variables are formatted once and served as `&'static str` ([`Locale::t`]); messages
//! with variables are formatted per call ([`Locale::t_args`]).
//!
//! Adding a language: copy `locales/en/` to `locales/<tag>/`, translate, and add its
//! files to `FILES` (a unit test lists the missing lines). Every language must have
//! exactly the message ids of the others (unit-tested).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentError, FluentResource};
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use fluent_syntax::ast::Entry;
use unic_langid::LanguageIdentifier;

pub const LANG_COOKIE: &str = "monban_lang";

/// Every Fluent file, compiled in: (language folder, file name, text). Each file under
/// `locales/` must be listed (unit-tested against the folders).
const FILES: &[(&str, &str, &str)] = &[
    ("en", "console.ftl", include_str!("locales/en/console.ftl")),
    ("en", "device.ftl", include_str!("locales/en/device.ftl")),
    ("en", "mfa.ftl", include_str!("locales/en/mfa.ftl")),
    ("en", "notify.ftl", include_str!("locales/en/notify.ftl")),
    ("en", "pages.ftl", include_str!("locales/en/pages.ftl")),
    ("ja", "console.ftl", include_str!("locales/ja/console.ftl")),
    ("ja", "device.ftl", include_str!("locales/ja/device.ftl")),
    ("ja", "mfa.ftl", include_str!("locales/ja/mfa.ftl")),
    ("ja", "notify.ftl", include_str!("locales/ja/notify.ftl")),
    ("ja", "pages.ftl", include_str!("locales/ja/pages.ftl")),
];

/// A language with a folder under `locales/` (only those are ever made).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locale(&'static str);

impl Locale {
    pub const JA: Locale = Locale("ja");
    pub const EN: Locale = Locale("en");
    /// The language of last resort (a text missing in a language is taken from it).
    pub const FALLBACK: Locale = Locale::EN;

    pub fn tag(self) -> &'static str {
        self.0
    }

    /// Every available language, by tag.
    pub fn all() -> impl Iterator<Item = Locale> {
        CATALOG.languages.iter().map(|l| Locale(l.tag))
    }

    /// The available language matching `tag` (`ja-JP` → ja; `en_US` → en).
    pub fn parse(tag: &str) -> Option<Locale> {
        negotiate(lang_id(tag).into_iter().collect())
    }

    /// First supported tag of a space-separated `ui_locales` value.
    pub fn from_ui_locales(v: &str) -> Option<Locale> {
        negotiate(v.split_whitespace().filter_map(lang_id).collect())
    }

    /// Best supported language of an `Accept-Language` header: by q-value (`q=0`
    /// refuses a language), on a tie the earlier entry.
    pub fn from_accept_language(v: &str) -> Option<Locale> {
        let mut ranked: Vec<(f32, LanguageIdentifier)> = v
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = lang_id(it.next().unwrap_or(""))?;
                let q = it
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, tag))
            })
            .collect();
        // Stable: equal q-values keep the header's order.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        negotiate(ranked.into_iter().map(|(_, l)| l).collect())
    }

    /// Text of the message `key` (no variables) in this language, else in the fallback
    /// language; empty when unknown there too.
    pub fn t(self, key: &str) -> &'static str {
        let id = fluent_id(key);
        [self, Locale::FALLBACK]
            .iter()
            .find_map(|l| CATALOG.language(*l)?.plain.get(id.as_ref()))
            .map_or("", String::as_str)
    }

    /// Text of the message `key` with its variables (`{ $name }`) set from `args`, in
    /// this language else the fallback one; empty when unknown. A formatting error (say, a variable not given) is logged and
    /// the text shown as Fluent renders it (`{$name}` in place of the value).
    pub fn t_args(self, key: &str, args: &[(&str, &str)]) -> String {
        match self.t_args_checked(key, args) {
            Ok(s) => s,
            Err((s, errors)) => {
                tracing::warn!(locale = self.0, key, ?errors, "message formatting failed");
                s
            }
        }
    }

    /// [`Locale::t_args`], with the errors.
    pub(crate) fn t_args_checked(
        self,
        key: &str,
        args: &[(&str, &str)],
    ) -> Result<String, (String, Vec<FluentError>)> {
        let id = fluent_id(key);
        let found = [self, Locale::FALLBACK].iter().find_map(|l| {
            let bundle = &CATALOG.language(*l)?.bundle;
            Some((bundle, bundle.get_message(&id)?.value()?))
        });
        let Some((bundle, pattern)) = found else {
            return Ok(String::new());
        };
        let mut fargs = FluentArgs::with_capacity(args.len());
        for (k, v) in args {
            fargs.set(*k, *v);
        }
        let mut errors = Vec::new();
        let s = bundle
            .format_pattern(pattern, Some(&fargs), &mut errors)
            .into_owned();
        if errors.is_empty() {
            Ok(s)
        } else {
            Err((s, errors))
        }
    }
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Localised description of an error code, if there is one.
pub fn error_text(locale: Locale, code: &str) -> Option<&'static str> {
    let t = locale.t(&format!("error.{code}"));
    (!t.is_empty()).then_some(t)
}

/// The Fluent id of a message key: `login.title` → `login-title`.
fn fluent_id(key: &str) -> Cow<'_, str> {
    if key.contains('.') {
        Cow::Owned(key.replace('.', "-"))
    } else {
        Cow::Borrowed(key)
    }
}

/// A language tag as asked for; a malformed one by its primary subtag (`ja-!!` → ja).
fn lang_id(tag: &str) -> Option<LanguageIdentifier> {
    let tag = tag.trim();
    tag.parse().ok().or_else(|| {
        tag.split(['-', '_'])
            .next()
            .filter(|p| !p.is_empty())?
            .parse()
            .ok()
    })
}

/// The best available language for `requested` (best first), if any matches.
fn negotiate(requested: Vec<LanguageIdentifier>) -> Option<Locale> {
    let best = *negotiate_languages(
        &requested,
        &CATALOG.ids,
        None,
        NegotiationStrategy::Filtering,
    )
    .first()?;
    let i = CATALOG.ids.iter().position(|id| id == best)?;
    Some(Locale(CATALOG.languages[i].tag))
}

/// One language: its messages, and those without variables formatted once.
struct Language {
    tag: &'static str,
    bundle: FluentBundle<FluentResource>,
    plain: HashMap<String, String>,
}

struct Catalog {
    /// By tag.
    languages: Vec<Language>,
    /// The languages' identifiers, in the same order (for negotiation).
    ids: Vec<LanguageIdentifier>,
}

impl Catalog {
    fn language(&self, l: Locale) -> Option<&Language> {
        self.languages.iter().find(|x| x.tag == l.0)
    }

    /// Parses `files`; panics on a syntax error or an id defined twice in a language
    /// (the unit tests load the compiled-in files, so that fails the tests first).
    fn load(files: &[(&'static str, &str, &str)]) -> Catalog {
        let mut tags: Vec<&'static str> = files.iter().map(|f| f.0).collect();
        tags.sort_unstable();
        tags.dedup();
        let mut languages = Vec::new();
        let mut ids = Vec::new();
        for tag in tags {
            let id: LanguageIdentifier = tag
                .parse()
                .unwrap_or_else(|e| panic!("i18n/locales/{tag}: not a language tag: {e}"));
            let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
            // No Unicode isolation marks around variables: plain-text e-mails and HTML
            // carry the text as written.
            bundle.set_use_isolating(false);
            let mut message_ids = Vec::new();
            for (_, name, text) in files.iter().filter(|f| f.0 == tag) {
                let res = FluentResource::try_new(text.to_string()).unwrap_or_else(|(_, e)| {
                    panic!("i18n/locales/{tag}/{name}: Fluent syntax errors: {e:?}")
                });
                message_ids.extend(res.entries().filter_map(|e| match e {
                    Entry::Message(m) => Some(m.id.name.to_string()),
                    _ => None,
                }));
                if let Err(e) = bundle.add_resource(res) {
                    panic!("i18n/locales/{tag}/{name}: {e:?}");
                }
            }
            let mut plain = HashMap::new();
            for msg_id in message_ids {
                let Some(pattern) = bundle.get_message(&msg_id).and_then(|m| m.value()) else {
                    continue;
                };
                let mut errors = Vec::new();
                let s = bundle.format_pattern(pattern, None, &mut errors);
                if errors.is_empty() {
                    plain.insert(msg_id, s.into_owned());
                }
            }
            languages.push(Language { tag, bundle, plain });
            ids.push(id);
        }
        Catalog { languages, ids }
    }
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::load(FILES));

#[cfg(test)]
mod tests;
