//! The Content-Security-Policy of every page, and where its forms may lead.
//!
//! CSP Level 3 `form-action` governs not only a form's `action` but every redirect
//! that follows its submission. A form whose flow ends at another site (consent →
//! the client's redirect URI, sign-in that resumes an authorization, sign-out that
//! walks SAML service providers) therefore needs that destination in `form-action`,
//! and only that one. A handler that renders such a form says where it leads with
//! [`allow_form_target`] (a URL it has already checked) or [`allow_return_to`] (the
//! local path its flow comes back to); [`middleware`] writes the header.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::core::Core;
use crate::http::state::AppState;

/// Everything but `form-action`.
const BASE: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                    frame-ancestors 'none'; base-uri 'none'";

/// Where the forms of the page being rendered may lead besides Monban itself, and
/// whether it runs Monban's own script.
#[derive(Clone, Default, Debug)]
struct FormTargets {
    /// The page loads `/static/passkey.js` and it calls back to Monban
    /// (`script-src 'self'; connect-src 'self'`).
    scripts: bool,
    /// Checked destinations (absolute URLs).
    urls: Vec<String>,
    /// Local paths the flow comes back to; resolved when the header is written.
    return_to: Vec<String>,
}

/// Adds to the form destinations of the page being rendered.
fn declare(req: &HttpRequest, add: impl FnOnce(&mut FormTargets)) {
    let mut ext = req.extensions_mut();
    if let Some(t) = ext.get_mut::<FormTargets>() {
        add(t);
    } else {
        let mut t = FormTargets::default();
        add(&mut t);
        ext.insert(t);
    }
}

/// The page's form leads, through redirects, to `url` (a destination the caller has
/// checked against a registration, e.g. a redirect URI).
pub fn allow_form_target(req: &HttpRequest, url: &str) {
    declare(req, |t| t.urls.push(url.to_string()));
}

/// The page's form comes back to `return_to` (a local path) when done. When that path
/// resumes an authorization, the client's registered redirect URI is allowed.
pub fn allow_return_to(req: &HttpRequest, return_to: Option<&str>) {
    if let Some(path) = return_to.and_then(crate::util::safe_local_path) {
        declare(req, |t| t.return_to.push(path.to_string()));
    }
}

/// The page runs Monban's own script (`/static/passkey.js`), which talks to Monban.
pub fn allow_own_script(req: &HttpRequest) {
    declare(req, |t| t.scripts = true);
}

/// The CSP source expression for a destination URL: its origin, or its scheme for a
/// native app's private-use scheme (which has no origin); `None` when unusable.
fn source_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    match u.scheme() {
        "http" | "https" => Some(u.origin().ascii_serialization()),
        s if s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            Some(format!("{s}:"))
        }
        _ => None,
    }
}

/// The whole policy with `form-action 'self'` and the given destinations.
pub fn policy(destinations: &[String]) -> String {
    policy_with(destinations, false)
}

/// [`policy`], with `script-src 'self'; connect-src 'self'` when `scripts`.
pub fn policy_with(destinations: &[String], scripts: bool) -> String {
    let mut sources: Vec<String> = vec!["'self'".to_string()];
    for d in destinations.iter().filter_map(|d| source_of(d)) {
        if !sources.contains(&d) {
            sources.push(d);
        }
    }
    let scripts = if scripts {
        "; script-src 'self'; connect-src 'self'"
    } else {
        ""
    };
    format!("{BASE}{scripts}; form-action {}", sources.join(" "))
}

/// The redirect URI an authorization resumed at `path` (a local `/authorize?…`) would
/// answer to, when the client exists and the URI is registered for it.
async fn resumed_redirect_uri(state: &Core, path: &str) -> Option<String> {
    let query = path.strip_prefix("/authorize?")?;
    let (mut client_id, mut redirect_uri) = (None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "client_id" if client_id.is_none() => client_id = Some(v.into_owned()),
            "redirect_uri" if redirect_uri.is_none() => redirect_uri = Some(v.into_owned()),
            _ => {}
        }
    }
    let client = crate::cache::client(state, &client_id?)
        .await
        .ok()
        .flatten()
        .filter(|c| !c.disabled && c.org_id == state.org.id)?;
    let registered = client.redirect_uri_list();
    match redirect_uri {
        Some(u) => registered.into_iter().find(|r| *r == u),
        None if registered.len() == 1 => registered.into_iter().next(),
        None => None,
    }
}

/// Writes the CSP of every response that has none of its own (the SAML and
/// `form_post` pages set theirs), with the form destinations the handler declared.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if res.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        return Ok(res);
    }
    let targets = res.request().extensions().get::<FormTargets>().cloned();
    let mut destinations = Vec::new();
    let mut scripts = false;
    if let Some(t) = targets {
        scripts = t.scripts;
        destinations = t.urls;
        if let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() {
            for path in &t.return_to {
                if let Some(u) = resumed_redirect_uri(&state, path).await {
                    destinations.push(u);
                }
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&policy_with(&destinations, scripts)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_exactly_the_destination_origin() {
        let p = policy(&["https://app.example:8443/cb?x=1".into()]);
        assert!(
            p.ends_with("form-action 'self' https://app.example:8443"),
            "{p}"
        );
        let p = policy(&[]);
        assert!(p.ends_with("form-action 'self'"), "{p}");
        let p = policy(&["com.example.app:/cb".into(), "not a url".into()]);
        assert!(p.ends_with("form-action 'self' com.example.app:"), "{p}");
        let p = policy(&["https://a.example/x".into(), "https://a.example/y".into()]);
        assert!(p.ends_with("form-action 'self' https://a.example"), "{p}");
    }

    #[test]
    fn no_source_can_inject_directives() {
        for bad in ["https://a.example;script-src *", "java;script:x", "x y:z"] {
            let p = policy(&[bad.to_string()]);
            assert_eq!(p.matches(';').count(), 5, "{p}");
        }
    }
}
