//! The small routes of the root: `/` (account or sign-in), health and readiness, the
//! JWKS, the stylesheet, and the answer for unknown paths.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{AppError, AppResult};
use crate::http::state::AppState;

pub async fn root(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let target = if crate::http::current_session(&req, &state).await?.is_some() {
        "/account"
    } else {
        "/login"
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish())
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "status": "ok" }))
}

/// Ready when not shutting down, the database answers (within
/// `database.acquire_timeout_ms`) and there is a usable signing key. Says whether the
/// revocation bus is connected (while it is not, the caches are bypassed).
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if state.is_draining() {
        return Err(AppError::unavailable("shutting down"));
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database not reachable");
        let mut e = AppError::unavailable("database not reachable");
        e.retry_after = Some(crate::store::RETRY_AFTER_SECS);
        return Err(e);
    }
    let now = state.clock.now();
    if state
        .keys
        .current()
        .signing_key(crate::keys::Alg::RS256, now)
        .is_none()
    {
        return Err(AppError::unavailable("no usable signing key"));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "status": "ready",
            "database": state.store.dialect(),
            "bus": if state.cache.bus_connected() { "connected" } else { "reconnecting" },
        })))
}

/// Prometheus metrics in the text format (only routed when `metrics.enabled`);
/// with `metrics.token`, only for `Authorization: Bearer <token>`.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let want = &state.cfg.metrics.token;
    if !want.is_empty() {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let h = |s: &str| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            h(given).as_ref(),
            h(want).as_ref(),
        )) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
                .finish();
        }
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render_metrics(&state).await)
}

/// The metrics text with the figures read now (queues, caches, the pool).
pub async fn render_metrics(state: &crate::core::Core) -> String {
    let queues = match state.store.queue_depths().await {
        Ok(d) => Some((d.outbox_pending, d.backchannel_pending)),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: queue depths not readable");
            None
        }
    };
    let (pool_size, pool_idle, pool_max) = state.store.pool_stats();
    let st = &state.cache.stats;
    let snap = crate::metrics::Snapshot {
        queues,
        caches: vec![
            ("sessions", st.sessions.hits(), st.sessions.misses()),
            ("users", st.users.hits(), st.users.misses()),
            ("clients", st.clients.hits(), st.clients.misses()),
            ("sps", st.sps.hits(), st.sps.misses()),
        ],
        pool_size,
        pool_idle,
        pool_max,
    };
    state.metrics.render(&snap)
}

/// The JWKS: pre-serialised bytes, ETag, conditional GET.
pub async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let jwks = state.keys.current().jwks(state.clock.now());
    let cache = format!(
        "public, max-age={}",
        (state.cfg.keys.publish_before_use_secs / 2).clamp(0, 300)
    );
    public_document(
        &req,
        &jwks.etag,
        &cache,
        "application/jwk-set+json",
        jwks.body,
    )
}

/// `/.well-known/openid-configuration`, built once at start-up.
pub async fn discovery(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let d = &state.oidc.discovery;
    public_document(
        &req,
        &d.etag,
        "public, max-age=3600",
        "application/json",
        d.body.clone(),
    )
}

/// A public, cacheable document any origin may read: answered `304 Not Modified`
/// when `If-None-Match` names its ETag (or `*`).
fn public_document(
    req: &HttpRequest,
    etag: &str,
    cache_control: &str,
    content_type: &str,
    body: bytes::Bytes,
) -> HttpResponse {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.to_string()))
        .insert_header((header::CACHE_CONTROL, cache_control.to_string()))
        .insert_header(("access-control-allow-origin", "*"));
    if not_modified {
        return res.finish();
    }
    res.content_type(content_type.to_string()).body(body)
}

pub async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(crate::http::templates::CSS)
}

/// The passkey script (`/static/passkey.js`), for the pages whose CSP allows it.
pub async fn passkey_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("passkey.js"))
}

pub async fn not_found() -> AppResult<HttpResponse> {
    Err(AppError::not_found("no such page"))
}
