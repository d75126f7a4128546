//! Cross-cutting HTTP behaviour: request ids and access logs, security headers, and
//! HTML rendering of [`AppError`] for browsers.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, HttpMessage, HttpResponse};
use tracing::Instrument;

use crate::app::AppState;
use crate::error::AppError;
use crate::http::i18n::{self, Locale};
use crate::http::templates;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = start.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

/// Security headers on every response (a handler may set its own CSP first).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
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
    if path.starts_with("/admin/") || path.starts_with("/api/") {
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
            Locale::parse(&s.cfg.ui.default_locale).unwrap_or(Locale::En),
            s.cfg.ui.product_name.clone(),
        ),
        None => (Locale::En, "Monban".to_string()),
    };
    let locale = Locale::from_request(res.request(), default);
    let message = i18n::error_text(locale, err.code)
        .unwrap_or(&err.detail)
        .to_string();
    let status = err.status;
    let retry = err.retry_after;
    let page = templates::error(locale, &product, status.as_u16(), &message);
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(r) = retry {
        b.insert_header((header::RETRY_AFTER, r.to_string()));
    }
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, b.body(page.into_string())))
}
