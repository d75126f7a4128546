use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast;

use super::*;

const LOCALES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/i18n/locales");

/// (language, file) → the file's message ids (not terms).
fn ids_by_file() -> BTreeMap<(&'static str, &'static str), BTreeSet<String>> {
    FILES
        .iter()
        .map(|(lang, name, text)| {
            let res = fluent_syntax::parser::parse(*text)
                .unwrap_or_else(|(_, e)| panic!("{lang}/{name}: {e:?}"));
            let ids = res
                .body
                .iter()
                .filter_map(|e| match e {
                    ast::Entry::Message(m) => Some(m.id.name.to_string()),
                    _ => None,
                })
                .collect();
            ((*lang, *name), ids)
        })
        .collect()
}

/// The variables (`$name`) a pattern refers to, selectors included.
fn variables<'s>(p: &ast::Pattern<&'s str>, out: &mut BTreeSet<&'s str>) {
    fn inline<'s>(e: &ast::InlineExpression<&'s str>, out: &mut BTreeSet<&'s str>) {
        match e {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name);
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                args(arguments, out);
            }
            ast::InlineExpression::TermReference {
                arguments: Some(a), ..
            } => args(a, out),
            ast::InlineExpression::Placeable { expression } => expr(expression, out),
            _ => {}
        }
    }
    fn args<'s>(a: &ast::CallArguments<&'s str>, out: &mut BTreeSet<&'s str>) {
        for e in &a.positional {
            inline(e, out);
        }
        for n in &a.named {
            inline(&n.value, out);
        }
    }
    fn expr<'s>(e: &ast::Expression<&'s str>, out: &mut BTreeSet<&'s str>) {
        match e {
            ast::Expression::Inline(i) => inline(i, out),
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                for v in variants {
                    variables(&v.value, out);
                }
            }
        }
    }
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            expr(expression, out);
        }
    }
}

#[test]
fn every_ftl_file_is_embedded() {
    let mut on_disk = BTreeSet::new();
    for lang in std::fs::read_dir(LOCALES_DIR).unwrap() {
        let lang = lang.unwrap();
        assert!(lang.file_type().unwrap().is_dir(), "{:?}", lang.path());
        let tag = lang.file_name().into_string().unwrap();
        for f in std::fs::read_dir(lang.path()).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            assert!(name.ends_with(".ftl"), "{tag}/{name}: not a .ftl file");
            on_disk.insert((tag.clone(), name));
        }
    }
    let embedded: BTreeSet<(String, String)> = FILES
        .iter()
        .map(|(l, n, _)| (l.to_string(), n.to_string()))
        .collect();
    assert_eq!(
        embedded.len(),
        FILES.len(),
        "a file is listed twice in FILES"
    );
    let missing: Vec<String> = on_disk
        .difference(&embedded)
        .map(|(l, n)| format!("    (\"{l}\", \"{n}\", include_str!(\"locales/{l}/{n}\")),"))
        .collect();
    assert!(
        missing.is_empty(),
        "add to FILES in src/i18n/mod.rs:\n{}",
        missing.join("\n")
    );
    assert_eq!(on_disk, embedded);
}

#[test]
fn every_language_has_the_same_files_and_ids() {
    let by_file = ids_by_file();
    let reference: BTreeMap<&str, &BTreeSet<String>> = by_file
        .iter()
        .filter(|((l, _), _)| *l == Locale::FALLBACK.tag())
        .map(|((_, f), ids)| (*f, ids))
        .collect();
    assert!(reference.values().map(|s| s.len()).sum::<usize>() > 150);
    let mut seen = BTreeSet::new();
    for locale in Locale::all() {
        let files: BTreeMap<&str, &BTreeSet<String>> = by_file
            .iter()
            .filter(|((l, _), _)| *l == locale.tag())
            .map(|((_, f), ids)| (*f, ids))
            .collect();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "{locale:?}: not the files of {:?}",
            Locale::FALLBACK
        );
        for (f, ids) in files {
            let want = reference[f];
            let missing: Vec<_> = want.difference(ids).collect();
            let extra: Vec<_> = ids.difference(want).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}/{f}: missing {missing:?}, extra {extra:?}",
                locale.tag()
            );
        }
        seen.insert(locale.tag());
    }
    assert!(seen.contains("ja") && seen.contains("en"), "{seen:?}");
}

#[test]
fn every_message_formats_without_errors() {
    let mut n = 0;
    for (lang, name, text) in FILES {
        let locale = Locale::all().find(|l| l.tag() == *lang).unwrap();
        let res = fluent_syntax::parser::parse(*text).unwrap();
        for e in &res.body {
            let ast::Entry::Message(m) = e else { continue };
            let key = m.id.name;
            let value = m
                .value
                .as_ref()
                .unwrap_or_else(|| panic!("{lang}/{name}: {key} has no text"));
            let mut vars = BTreeSet::new();
            variables(value, &mut vars);
            let args: Vec<(&str, &str)> = vars.iter().map(|v| (*v, "x")).collect();
            let text = locale
                .t_args_checked(key, &args)
                .unwrap_or_else(|(s, e)| panic!("{lang}/{name}: {key}: {e:?} ({s:?})"));
            assert!(!text.trim().is_empty(), "{lang}/{name}: {key} is empty");
            assert!(
                !text.contains('\u{2068}'),
                "{lang}/{name}: {key}: isolation mark"
            );
            if vars.is_empty() {
                // Formatted once at start-up, served by `t`.
                assert_eq!(locale.t(key), text, "{lang}/{name}: {key}");
            }
            n += 1;
        }
    }
    assert!(n > 300, "{n}");
}

#[test]
fn plain_messages_and_lookup() {
    assert_eq!(
        Locale::EN.t("login.failed"),
        "The login ID or password is incorrect."
    );
    assert_eq!(
        Locale::JA.t("login.failed"),
        "ログインIDまたはパスワードが正しくありません。"
    );
    // The Fluent id works as well as the dotted key.
    assert_eq!(Locale::JA.t("login-failed"), Locale::JA.t("login.failed"));
    assert_eq!(Locale::JA.t("no.such.key"), "");
    assert_eq!(Locale::EN.t_args("no.such.key", &[("a", "b")]), "");
    assert_eq!(
        error_text(Locale::EN, "not_found"),
        Some("The page was not found.")
    );
    assert_eq!(error_text(Locale::EN, "no_such_code"), None);
}

#[test]
fn accept_language_by_quality() {
    assert_eq!(
        Locale::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
        Some(Locale::EN)
    );
    assert_eq!(
        Locale::from_accept_language("fr, ja;q=0.5, en;q=0.4"),
        Some(Locale::JA)
    );
    assert_eq!(Locale::from_accept_language("de, fr"), None);
    assert_eq!(
        Locale::from_accept_language("ja;q=0, en;q=0.1"),
        Some(Locale::EN)
    );
    // Regions and case; the order of the header is not the order of preference.
    assert_eq!(
        Locale::from_accept_language("ja-JP,en-US;q=0.9"),
        Some(Locale::JA)
    );
    assert_eq!(
        Locale::from_accept_language("en-GB;q=0.5, JA-jp;q=0.6"),
        Some(Locale::JA)
    );
    // A tie keeps the header's order.
    assert_eq!(Locale::from_accept_language("en, ja"), Some(Locale::EN));
    assert_eq!(Locale::from_accept_language("ja, en"), Some(Locale::JA));
    assert_eq!(
        Locale::from_accept_language("zh-CN, ja;q=0.5"),
        Some(Locale::JA)
    );
    assert_eq!(Locale::from_accept_language("en;q=0"), None);
    assert_eq!(Locale::from_accept_language("*"), None);
    assert_eq!(Locale::from_accept_language(""), None);
    assert_eq!(Locale::from_accept_language(",;q=1,"), None);
}

#[test]
fn ui_locales_first_supported() {
    assert_eq!(Locale::from_ui_locales("fr-CA ja en"), Some(Locale::JA));
    assert_eq!(Locale::from_ui_locales("de"), None);
    assert_eq!(Locale::from_ui_locales("en-US ja"), Some(Locale::EN));
    assert_eq!(Locale::from_ui_locales("  ja-JP  "), Some(Locale::JA));
    assert_eq!(Locale::from_ui_locales(""), None);
}

#[test]
fn parse_a_tag() {
    assert_eq!(Locale::parse("ja"), Some(Locale::JA));
    assert_eq!(Locale::parse("ja-JP"), Some(Locale::JA));
    assert_eq!(Locale::parse("en_US"), Some(Locale::EN));
    assert_eq!(Locale::parse(" EN "), Some(Locale::EN));
    // A malformed tag counts by its primary subtag, as before.
    assert_eq!(Locale::parse("ja-!!"), Some(Locale::JA));
    assert_eq!(Locale::parse("fr"), None);
    assert_eq!(Locale::parse(""), None);
    assert_eq!(Locale::parse("x"), None);
    for l in Locale::all() {
        assert_eq!(Locale::parse(l.tag()), Some(l));
    }
    assert_eq!(Locale::FALLBACK, Locale::EN);
}

#[test]
fn every_key_has_both_languages() {
    for key in [
        "login.title",
        "login.failed",
        "error.csrf_failed",
        "logout.done",
    ] {
        assert!(!Locale::JA.t(key).is_empty() && !Locale::EN.t(key).is_empty());
        assert_ne!(Locale::JA.t(key), Locale::EN.t(key));
    }
}

/// Every literal key given to `t`/`t_args` anywhere in `src/` is a message.
#[test]
fn every_key_used_in_the_source_exists() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let ids: BTreeSet<String> = ids_by_file().into_values().flatten().collect();
    let mut n = 0;
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        for pat in [".t(\"", ".t_args(\"", "_key: \"", "t_args_checked(\""] {
            for part in src.split(pat).skip(1) {
                let key = part.split('"').next().unwrap();
                if key.is_empty() || key.contains(['{', ' ']) {
                    continue;
                }
                n += 1;
                let id = fluent_id(key);
                assert!(
                    ids.contains(id.as_ref()) || f.ends_with("i18n/tests.rs"),
                    "{}: {key} is not a message",
                    f.display()
                );
            }
        }
    }
    assert!(n > 150, "found only {n} keys");
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
                assert!(!Locale::JA.t(part).is_empty(), "{part} has no Japanese");
                assert!(!Locale::EN.t(part).is_empty(), "{part} has no English");
            }
        }
    }
    assert!(n > 50, "found only {n} keys");
    assert_eq!(
        Locale::JA.t("mfa.code_wrong"),
        "コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。"
    );
}
