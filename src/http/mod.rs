//! HTTP plumbing shared by the handlers: request metadata, the signed-in session,
//! CSRF, i18n, middleware and page templates.

pub mod basics;
pub mod body;
pub mod client_ip;
pub mod cookies;
pub mod csp;
pub mod csrf;
pub mod errors;
pub mod middleware;
pub mod rejections;
pub mod state;
pub mod templates;
pub mod templates_mfa;
pub mod templates_passkeys;
pub mod tls;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::core::Core;
use crate::error::AppResult;
use crate::http::state::AppState;
use crate::i18n::{query_param, Locale, LANG_COOKIE};
use crate::sessions::{self, RequestMeta};
use crate::store::{user_status, Session, User};

/// The client's address: the TCP peer, or — when the peer is one of
/// `server.trusted_proxies` — the right-most untrusted `X-Forwarded-For` hop.
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>() else {
        return Some(peer.to_canonical());
    };
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(state.proxies.client_ip(peer, forwarded))
}

tokio::task_local! {
    /// Set while a request is served under an impersonation session: the name shown
    /// in the "support session for …" banner on every page.
    pub static SUPPORT_BANNER: std::cell::RefCell<Option<SupportContext>>;
}

/// The request runs in an impersonation session: who acts, for whom.
#[derive(Debug, Clone)]
pub struct SupportContext {
    pub banner: String,
    pub engineer: uuid::Uuid,
    pub user: uuid::Uuid,
    pub grant: Option<uuid::Uuid>,
}

/// The banner text for the current request, if it runs under a support grant.
pub fn support_banner() -> Option<String> {
    SUPPORT_BANNER
        .try_with(|b| b.borrow().as_ref().map(|c| c.banner.clone()))
        .ok()
        .flatten()
}

/// Gives each request a place for the support context (see [`current_session`]) and
/// audits every request served under a support grant, with both the engineer (actor)
/// and the user (subject).
pub async fn banner_scope(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    // Only a browser with cookies can be in a support session: requests without any
    // (token, introspection, admin API) skip the bookkeeping. The request itself must
    // not be held across the call (routing needs it unshared), so copy what is needed.
    let audit = req
        .headers()
        .contains_key(actix_web::http::header::COOKIE)
        .then(|| {
            (
                req.app_data::<actix_web::web::Data<AppState>>().cloned(),
                req.method().to_string(),
                req.path().to_string(),
                request_meta(req.request()),
            )
        });
    SUPPORT_BANNER
        .scope(std::cell::RefCell::new(None), async move {
            let res = next.call(req).await?;
            let ctx = SUPPORT_BANNER.try_with(|b| b.borrow().clone()).ok().flatten();
            if let (Some(c), Some((Some(state), method, path, meta))) = (ctx, audit) {
                let details = serde_json::json!({
                    "method": method, "path": path, "status": res.status().as_u16(), "grant_id": c.grant,
                });
                let actor = crate::audit::Actor::support(c.engineer);
                if let Err(e) =
                    crate::audit::record(&state, &actor, Some(c.user), "support_session.request", &meta, details).await
                {
                    tracing::warn!(error = %e, "could not audit a support-session request");
                }
            }
            Ok(res)
        })
        .await
}

/// Client address and user agent of a request.
/// `303 See Other` to `to`, not cached: where a page or form sends the browser next.
pub fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        ip: client_ip(req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The page locale for a request.
pub fn locale(req: &HttpRequest, state: &Core) -> Locale {
    negotiate_locale(
        req,
        Locale::parse(&state.cfg.ui.default_locale).unwrap_or(Locale::FALLBACK),
    )
}

/// Negotiates the locale for a request: `ui_locales` query parameter >
/// `monban_lang` cookie > `Accept-Language` > `default`.
pub fn negotiate_locale(req: &HttpRequest, default: Locale) -> Locale {
    if let Some(l) =
        query_param(req.query_string(), "ui_locales").and_then(|v| Locale::from_ui_locales(&v))
    {
        return l;
    }
    if let Some(l) = req
        .cookie(LANG_COOKIE)
        .and_then(|c| Locale::parse(c.value()))
    {
        return l;
    }
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(default)
}

/// The signed-in session and its user, if the session cookie names a live session of
/// a user who may still use it. A session whose user was suspended or deleted is ended.
pub async fn current_session(
    req: &HttpRequest,
    state: &Core,
) -> AppResult<Option<(Session, User)>> {
    let Some(cookie) = req.cookie(&state.cfg.session_cookie_name()) else {
        return Ok(None);
    };
    let Some(session) = sessions::lookup(state, cookie.value()).await? else {
        return Ok(None);
    };
    let user = crate::cache::user(state, session.user_id).await?;
    middleware::record_user(user.id);
    if matches!(
        user.status.as_str(),
        user_status::SUSPENDED | user_status::DELETED
    ) {
        sessions::end(state, session.id, "user_inactive").await?;
        return Ok(None);
    }
    if let Some(engineer) = session.impersonator_id {
        let ctx = SupportContext {
            banner: format!("{} <{}>", user.display_name, user.email),
            engineer,
            user: user.id,
            grant: session.support_grant_id,
        };
        let _ = SUPPORT_BANNER.try_with(|b| *b.borrow_mut() = Some(ctx));
    }
    Ok(Some((session, user)))
}

/// The signed-in user's **own** session: the extractor for every handler that changes
/// credentials, MFA, re-authentication or support grants. It holds the session and
/// its user (`None` when nobody is signed in: the handler sends the browser to sign
/// in), and refuses the request with 403 `impersonation_forbidden` when the session
/// is an impersonation session (a support engineer acting under a grant).
///
/// The decision is taken on the session the handler acts with, whatever path or
/// encoding routed the request there.
pub struct OwnSession(pub Option<(Session, User)>);

impl OwnSession {
    /// The session and user, or 401 when nobody is signed in (for APIs and forms that
    /// have no page to send the browser to).
    pub fn required(self) -> AppResult<(Session, User)> {
        self.0
            .ok_or_else(|| crate::error::AppError::unauthorized("sign in first"))
    }
}

impl actix_web::FromRequest for OwnSession {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<actix_web::web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| crate::error::AppError::internal("application state missing"))?;
            let current = current_session(&req, &state).await?;
            if let Some((session, _)) = &current {
                sessions::refuse_impersonation(session)?;
            }
            Ok(OwnSession(current))
        })
    }
}
