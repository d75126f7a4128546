//! The dependency rules of `src/`, checked on the source text (the same reading as
//! `../shared/tools/import_graph.py`: an import is a `crate::`, `super::` or `self::`
//! path outside comments):
//! - nothing imports the composition root (`app.rs`); it imports everything;
//! - no import cycle joins more than three files;
//! - domain and infrastructure modules never name the web framework, requests,
//!   responses, HTTP statuses or the web state: they take the `Core`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Files and folders (relative to `src/`) that must not name web types.
const DOMAIN: &[&str] = &[
    "core.rs",
    "error.rs",
    "audit.rs",
    "policy.rs",
    "clock.rs",
    "util.rs",
    "useragent.rs",
    "i18n/",
    "cache/",
    "store/",
    "keys/",
    "notify/",
    "sessions/",
    "users/",
    "clients/",
    "admin/ops/",
    "admin/views.rs",
    "support/mod.rs",
    "support/requests.rs",
    "authn/gate.rs",
    "authn/login.rs",
    "authn/password.rs",
    "authn/mfa/mod.rs",
    "authn/mfa/totp.rs",
    "authn/mfa/backup_codes.rs",
    "oidc/authorization.rs",
    "oidc/backchannel.rs",
    "oidc/discovery.rs",
    "oidc/params.rs",
    "oidc/state.rs",
    "oidc/tokens.rs",
    "saml/binding.rs",
    "saml/encrypt.rs",
    "saml/xml.rs",
];

const WEB_WORDS: &[&str] = &[
    "actix_web",
    "HttpRequest",
    "HttpResponse",
    "StatusCode",
    "AppState",
];

fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, strip_comments(&std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// Drops `//` comments (doc links are not imports), as the figures' script does.
fn strip_comments(s: &str) -> String {
    s.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Paths after `prefix` (`crate::`, `super::`, `self::`), including `{a, b::c}` groups.
fn paths_after(src: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let item: Vec<String> = item
                    .trim()
                    .split("::")
                    .map(|s| s.trim().to_string())
                    .collect();
                if item.first().is_some_and(|s| !s.is_empty()) {
                    out.push(item);
                }
            }
            continue;
        }
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<String> = rest[..len]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

fn import_graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mods: BTreeMap<Vec<String>, String> = files
        .keys()
        .filter(|r| r.as_str() != "main.rs")
        .map(|r| (module_path(r), r.clone()))
        .collect();
    let resolve = |path: &[String]| -> Option<String> {
        (1..=path.len())
            .rev()
            .find_map(|i| mods.get(&path[..i]).cloned())
    };
    let mut edges = BTreeMap::new();
    for (rel, src) in files {
        let me = module_path(rel);
        let here: Vec<String> = if rel.ends_with("mod.rs") || rel.ends_with("lib.rs") {
            me.clone()
        } else {
            me[..me.len().saturating_sub(1)].to_vec()
        };
        let mut targets = BTreeSet::new();
        for p in paths_after(src, "crate::") {
            targets.extend(resolve(&p));
        }
        for p in paths_after(src, "super::") {
            let mut full = here[..here.len().saturating_sub(1)].to_vec();
            full.extend(p);
            targets.extend(resolve(&full));
        }
        for p in paths_after(src, "self::") {
            let mut full = here.clone();
            full.extend(p);
            targets.extend(resolve(&full));
        }
        targets.remove(rel);
        edges.insert(rel.clone(), targets);
    }
    edges
}

/// Strongly connected components (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            t.out.push(comp);
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn nothing_imports_the_composition_root() {
    let files = sources();
    let graph = import_graph(&files);
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(_, to)| to.contains("app.rs"))
        .map(|(from, _)| from)
        .filter(|from| from.as_str() != "lib.rs")
        .collect();
    assert!(
        importers.is_empty(),
        "these files import app.rs: {importers:?}"
    );
}

#[test]
fn no_import_cycle_joins_more_than_three_files() {
    let graph = import_graph(&sources());
    assert!(
        graph.len() > 50,
        "the source tree was not found: {}",
        graph.len()
    );
    // The reading must see the imports that are there.
    assert!(graph["app.rs"].contains("core.rs"), "{:?}", graph["app.rs"]);
    let big: Vec<Vec<String>> = cycles(&graph).into_iter().filter(|c| c.len() > 3).collect();
    assert!(big.is_empty(), "import cycles over three files: {big:#?}");
}

#[test]
fn domain_modules_do_not_name_web_types() {
    let files = sources();
    let mut found = Vec::new();
    for (rel, src) in &files {
        if !DOMAIN
            .iter()
            .any(|d| rel == d || (d.ends_with('/') && rel.starts_with(d)))
        {
            continue;
        }
        for (n, line) in src.lines().enumerate() {
            for w in WEB_WORDS {
                let named = line.match_indices(w).any(|(i, _)| {
                    let before = line[..i].chars().last();
                    let after = line[i + w.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if named {
                    found.push(format!("src/{rel}:{}: {w}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "domain code names web types:\n{}",
        found.join("\n")
    );
    // And the check itself sees them where they are.
    assert!(files["http/state.rs"].contains("AppState"));
}
