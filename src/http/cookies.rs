//! The browser session cookie (the session itself is [`crate::sessions`]).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};

use crate::core::Core;

/// The session cookie: HttpOnly, SameSite=Lax, Secure when the issuer is https.
pub fn session_cookie(state: &Core, token: String) -> Cookie<'static> {
    Cookie::build(state.cfg.session_cookie_name(), token)
        .path("/")
        .http_only(true)
        .secure(state.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn session_removal_cookie(state: &Core) -> Cookie<'static> {
    Cookie::build(state.cfg.session_cookie_name(), "")
        .path("/")
        .http_only(true)
        .secure(state.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::ZERO)
        .finish()
}
