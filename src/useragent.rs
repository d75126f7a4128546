//! What a user agent string says: operating system, browser or app (woothee).

use serde::Serialize;
use utoipa::ToSchema;

/// Operating system, browser or app, parsed from the user agent (woothee).
#[derive(Serialize, ToSchema, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Environment {
    pub os: String,
    pub os_version: String,
    pub browser: String,
    pub browser_version: String,
    /// pc, smartphone, mobilephone, crawler, appliance or misc.
    pub category: String,
}

impl Environment {
    pub fn parse(ua: Option<&str>) -> Environment {
        let unknown = || "UNKNOWN".to_string();
        match ua.and_then(|u| woothee::parser::Parser::new().parse(u)) {
            Some(r) => Environment {
                os: r.os.to_string(),
                os_version: r.os_version.to_string(),
                browser: r.name.to_string(),
                browser_version: r.version.to_string(),
                category: r.category.to_string(),
            },
            None => Environment {
                os: unknown(),
                os_version: unknown(),
                browser: unknown(),
                browser_version: unknown(),
                category: unknown(),
            },
        }
    }
}

impl Environment {
    /// A short text for people: "Chrome 156.0 · Linux"; `None` when woothee knew
    /// neither the browser nor the system.
    pub fn short(&self) -> Option<String> {
        let known = |s: &str| !s.is_empty() && s != "UNKNOWN";
        let part = |name: &str, version: &str| {
            if known(version) {
                format!("{name} {version}")
            } else {
                name.to_string()
            }
        };
        match (known(&self.browser), known(&self.os)) {
            (true, true) => Some(format!(
                "{} · {}",
                part(&self.browser, &self.browser_version),
                part(&self.os, &self.os_version)
            )),
            (true, false) => Some(part(&self.browser, &self.browser_version)),
            (false, true) => Some(part(&self.os, &self.os_version)),
            (false, false) => None,
        }
    }

    /// [`Environment::short`] of a user agent, or the raw string (cut) when woothee
    /// does not know it.
    pub fn label(ua: Option<&str>) -> String {
        Environment::parse(ua)
            .short()
            .unwrap_or_else(|| crate::util::truncate(ua.unwrap_or(""), 60))
    }
}

#[cfg(test)]
mod tests {
    use super::Environment;

    #[test]
    fn labels_are_short_and_readable() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/156.0.8078.73 Safari/537.36";
        let l = Environment::label(Some(chrome));
        assert!(l.starts_with("Chrome 156") && l.contains("Linux"), "{l}");
        assert!(Environment::label(Some("curl/8.0")).contains("curl"));
        assert_eq!(Environment::label(None), "");
    }
}
