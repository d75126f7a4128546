//! Cross-cutting HTTP behaviour: request ids and access logs, security headers, and
//! HTML rendering of [`AppError`] for browsers.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, HttpMessage, HttpResponse};
use tracing::Instrument;

use crate::error::AppError;
use crate::http::state::AppState;
use crate::http::templates;
use crate::i18n::{self, Locale};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The query string of the request being served: the language switch of a page
    /// keeps it (a sign-in that resumes an authorization must not lose `return_to`).
    static PAGE_QUERY: String;
}

/// The link that shows the current page in `lang`: the same query, `ui_locales`
/// replaced.
pub fn language_switch_href(lang: &str) -> String {
    let query = PAGE_QUERY.try_with(|q| q.clone()).unwrap_or_default();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "ui_locales" {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair("ui_locales", lang);
    format!("?{}", out.finish())
}

/// The request id of the current request (from a sane incoming `X-Request-Id`, or new).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| s.to_string())
}

/// Assigns a request id, runs the request inside a tracing span carrying it, logs one
/// line per request, and echoes the id in the response.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    // `user_id` and `client_id` are filled in where they become known (the session
    // lookup, client authentication): see [`record_user`], [`record_client`].
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        user_id = tracing::field::Empty,
        client_id = tracing::field::Empty,
    );
    let start = Instant::now();
    let query = req.query_string().to_string();
    let mut res = PAGE_QUERY
        .scope(query, next.call(req).instrument(span.clone()))
        .await?;
    let status = res.status().as_u16();
    let elapsed = start.elapsed().as_secs_f64();
    span.in_scope(|| {
        tracing::info!(status, elapsed_ms = elapsed * 1000.0, "request");
    });
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        if state.cfg.metrics.enabled {
            // The route pattern, never the raw path (ids would make series without end).
            let route = res.request().match_pattern();
            let route = route.as_deref().unwrap_or("unmatched");
            let method = res.request().method().as_str();
            state
                .metrics
                .observe_request(route, method, status, elapsed);
            if status == 429 {
                state.metrics.rate_limited.with_label_values(&[route]).inc();
            }
        }
        if state.is_draining() {
            // Shutting down: no connection is kept for another request, so none is
            // idle (and closed under a client's next request) when the listener stops.
            res.response_mut()
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

/// Names the signed-in user in the current request's log lines.
pub fn record_user(user: uuid::Uuid) {
    tracing::Span::current().record("user_id", tracing::field::display(user));
}

/// Names the OAuth client in the current request's log lines.
pub fn record_client(client_id: &str) {
    tracing::Span::current().record("client_id", client_id);
}

/// Security headers on every response (the CSP comes from [`crate::http::csp`]).
///
/// `Referrer-Policy: same-origin`: no page of Monban tells another site where the
/// browser came from (an authorization request's parameters stay here), while a form
/// posted to Monban itself carries its real `Origin` (under `no-referrer` browsers
/// send `Origin: null` on every form POST).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(("cross-origin-opener-policy", "same-origin"))
        .add((
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ))
}

/// Does this request come from a browser that wants a page rather than JSON? APIs
/// always answer JSON. The path is the one routing used (percent-decoded), not the
/// raw request path, so `/%61dmin/…` is the admin API here as it is for the router.
pub fn wants_html(req: &actix_web::HttpRequest) -> bool {
    let path = req.match_info().as_str();
    // The admin API answers JSON; the admin console (`/admin/…` otherwise) is pages.
    if path.starts_with("/admin/v1/") || path == "/admin/v1" || path.starts_with("/api/") {
        return false;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Re-renders [`AppError`] responses as a localised HTML page for browsers.
pub async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    if let Some(e) = res.response().error() {
        // Why it was refused, for whoever reads the log: a browser shows a page (or
        // nothing) and an API client may not say. A malformed body, query or path
        // is named by its code only: the parser's message may quote what was sent.
        if res.status().is_client_error() {
            let reason = match e.as_error::<AppError>() {
                Some(a) if a.code == "bad_request" => format!("{:?} ({})", a.kind, a.code),
                _ => e.to_string(),
            };
            tracing::info!(status = res.status().as_u16(), %reason, "request refused");
        }
    }
    let Some(err) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    else {
        return Ok(res);
    };
    if !wants_html(res.request()) {
        return Ok(res);
    }
    let state = res.request().app_data::<web::Data<AppState>>().cloned();
    let (default, product) = match &state {
        Some(s) => (
            Locale::parse(&s.cfg.ui.default_locale).unwrap_or(Locale::FALLBACK),
            s.cfg.ui.product_name.clone(),
        ),
        None => (Locale::FALLBACK, "Monban".to_string()),
    };
    let locale = crate::http::negotiate_locale(res.request(), default);
    let message = i18n::error_text(locale, err.code)
        .unwrap_or(&err.detail)
        .to_string();
    let status = crate::http::errors::status(err.kind);
    let retry = err.retry_after;
    let reopen = (err.code == "csrf_failed")
        .then(|| same_origin_referer(res.request()))
        .flatten();
    let page = templates::error(
        locale,
        &product,
        status.as_u16(),
        &message,
        reopen.as_deref(),
    );
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(r) = retry {
        b.insert_header((header::RETRY_AFTER, r.to_string()));
    }
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, b.body(page.into_string())))
}

/// The local page (path and query) a same-origin `Referer` names: the page whose form
/// was refused, to open again with a fresh token.
fn same_origin_referer(req: &actix_web::HttpRequest) -> Option<String> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let u = url::Url::parse(referer).ok()?;
    if u.origin().ascii_serialization() != crate::util::origin_of(state.cfg.issuer()) {
        return None;
    }
    let local = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    crate::util::safe_local_path(&local).map(str::to_string)
}
