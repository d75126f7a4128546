//! CSRF protection for HTML forms: a random pre-session cookie plus a hidden form
//! field holding an HMAC of it under a server key. A cross-site page can neither read
//! the cookie nor compute the MAC; a cookie planted by a sibling domain has no valid
//! MAC either. When the browser sends an `Origin` other than `null`, it must be our own.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::core::Core;
use crate::error::AppError;

pub const CSRF_COOKIE: &str = "monban_csrf";
pub const CSRF_FIELD: &str = "csrf_token";

/// The token to embed in a form, and the cookie to set when the browser has none.
pub struct CsrfToken {
    pub token: String,
    pub set_cookie: Option<Cookie<'static>>,
}

pub fn issue(req: &HttpRequest, state: &Core) -> CsrfToken {
    let existing = req
        .cookie(&state.cfg.cookie_name(CSRF_COOKIE))
        .map(|c| c.value().to_string())
        .filter(|v| B64.decode(v).map(|b| b.len() == 32).unwrap_or(false));
    let (value, set_cookie) = match existing {
        Some(v) => (v, None),
        None => {
            let v = crate::util::random_token(32);
            let c = Cookie::build(state.cfg.cookie_name(CSRF_COOKIE), v.clone())
                .path("/")
                .http_only(true)
                .secure(state.cfg.secure_cookies())
                .same_site(SameSite::Lax)
                .finish();
            (v, Some(c))
        }
    };
    CsrfToken {
        token: B64.encode(state.keys.secrets().csrf_mac(value.as_bytes())),
        set_cookie,
    }
}

/// Checks a submitted form token against the cookie (constant time) and the Origin.
pub fn verify(req: &HttpRequest, state: &Core, submitted: Option<&str>) -> Result<(), AppError> {
    let fail = || AppError::forbidden("csrf_failed", "missing or invalid CSRF token");
    // A foreign Origin is refused outright. `Origin: null` (sent by browsers for
    // privacy-sensitive contexts, e.g. under a `no-referrer` policy) and no Origin at
    // all say nothing about the sender: the token decides, as for older browsers.
    if let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| fail())?;
        if origin != "null" && origin != crate::util::origin_of(state.cfg.issuer()) {
            return Err(fail());
        }
    }
    let cookie = req
        .cookie(&state.cfg.cookie_name(CSRF_COOKIE))
        .ok_or_else(fail)?;
    let submitted = B64
        .decode(submitted.ok_or_else(fail)?)
        .map_err(|_| fail())?;
    let expected = state.keys.secrets().csrf_mac(cookie.value().as_bytes());
    if bool::from(expected.ct_eq(&submitted)) {
        Ok(())
    } else {
        Err(fail())
    }
}
