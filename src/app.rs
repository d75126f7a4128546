//! Builds the application state and the HTTP server. Tests bind port 0 through
//! [`Application::build_with_listener`] and talk real HTTP to it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::error::{JsonPayloadError, QueryPayloadError, UrlencodedError};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::authn::Passwords;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::http::middleware;
use crate::keys::KeyManager;
use crate::store::{self, Organization, Store};

/// Slug of the organisation created on first start (the only one exposed for now).
pub const DEFAULT_ORG: &str = "default";

pub struct AppState {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub keys: Arc<KeyManager>,
    pub clock: SharedClock,
    pub passwords: Passwords,
    /// The default organisation.
    pub org: Organization,
    pub oidc: crate::oidc::OidcState,
    /// Outgoing notifications: the outbox worker's wake-up and transport.
    pub notify: crate::notify::NotifyState,
    /// Rate limits (`[ratelimit]`).
    pub limits: crate::ratelimit::Limits,
    /// `server.trusted_proxies`: whose `X-Forwarded-For` gives the client IP.
    pub proxies: crate::http::client_ip::TrustedProxies,
    /// Caches of hot lookups and the revocation bus (`[cache]`).
    pub cache: crate::cache::Caches,
}

impl AppState {
    /// Connects and migrates the database, opens (or generates) the keys, and makes
    /// sure the default organisation exists.
    pub async fn init(cfg: Config, clock: SharedClock) -> anyhow::Result<AppState> {
        let store = store::connect_and_migrate(&cfg).await?;
        let org = store
            .ensure_org(DEFAULT_ORG, "Default organisation", clock.now())
            .await
            .map_err(|e| anyhow::anyhow!("creating the default organisation failed: {e}"))?;
        let keys = {
            let cfg = cfg.clone();
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || KeyManager::open(&cfg, clock)).await??
        };
        let passwords = Passwords::new(&cfg.password)?;
        let oidc = crate::oidc::OidcState::new(&cfg)?;
        let notify = crate::notify::NotifyState::new(&cfg)?;
        let limits = crate::ratelimit::Limits::new(
            &cfg.ratelimit.with_rules(cfg.support.daily_limit),
            clock.clone(),
        );
        let proxies = crate::http::client_ip::TrustedProxies::parse(&cfg.server.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?;
        let cache = crate::cache::Caches::new(&cfg);
        Ok(AppState {
            cache,
            cfg: Arc::new(cfg),
            store,
            keys: Arc::new(keys),
            clock,
            passwords,
            org,
            oidc,
            notify,
            limits,
            proxies,
        })
    }
}

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds `server.listen` and builds the server.
    pub async fn build(cfg: Config, clock: SharedClock) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&cfg.server.listen).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} (server.listen): {e}",
                cfg.server.listen
            )
        })?;
        Self::build_with_listener(cfg, listener, clock).await
    }

    pub async fn build_with_listener(
        cfg: Config,
        listener: TcpListener,
        clock: SharedClock,
    ) -> anyhow::Result<Application> {
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState::init(cfg, clock).await?);
        crate::saml::init(&state);
        crate::cache::spawn_listener(state.clone()).await?;
        let server = server(state.clone(), listener)?;
        spawn_key_reloader(state.clone());
        crate::oidc::backchannel::spawn_worker(state.clone());
        spawn_purger(state.clone());
        spawn_limit_sweeper(state.clone());
        crate::notify::spawn_worker(state.clone());
        crate::saml::spawn_purger(state.clone());
        Ok(Application {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM stop gracefully), then closes the database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let r = self.server.await;
        state.notify.shutdown();
        state.store.close().await;
        r
    }
}

fn server(state: web::Data<AppState>, listener: TcpListener) -> anyhow::Result<Server> {
    let cfg = state.cfg.clone();
    let limit = cfg.server.body_limit_bytes;
    let mut http = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::FormConfig::default()
                    .limit(limit)
                    .error_handler(form_error),
            )
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            // Error pages are rendered inside the support-session scope: they show
            // the banner too.
            .wrap(from_fn(middleware::html_errors))
            .wrap(from_fn(crate::http::banner_scope))
            .wrap(from_fn(crate::http::csp::middleware))
            .wrap(middleware::security_headers())
            .wrap(from_fn(middleware::request_id))
            .wrap(from_fn(crate::http::body::read_first))
            .configure(routes)
    })
    .shutdown_timeout(cfg.server.shutdown_timeout_secs)
    .listen(listener)?;
    if cfg.server.workers > 0 {
        http = http.workers(cfg.server.workers);
    }
    Ok(http.run())
}

/// Every route of the application.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(root))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/static/monban.css", web::get().to(css))
        .configure(crate::authn::routes::routes)
        .configure(crate::account::routes)
        .configure(crate::oidc::routes)
        .configure(crate::admin::routes)
        .configure(crate::support::routes::routes)
        .configure(crate::saml::routes)
        .default_service(web::to(not_found));
}

/// Purges users deleted longer ago than the restore window, and access history older
/// than `retention.history_days`.
fn spawn_purger(state: web::Data<AppState>) {
    let every = Duration::from_secs(state.cfg.retention.purge_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = crate::users::purge(&state).await {
                tracing::warn!(error = %e, "purge run failed");
            }
        }
    });
}

/// Forgets rate-limit keys that are back to a full allowance, so memory stays bounded.
fn spawn_limit_sweeper(state: web::Data<AppState>) {
    let every = Duration::from_secs(state.cfg.ratelimit.sweep_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            state.limits.sweep();
        }
    });
}

fn spawn_key_reloader(state: web::Data<AppState>) {
    let every = Duration::from_secs(state.cfg.keys.reload_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let keys = state.keys.clone();
            match tokio::task::spawn_blocking(move || keys.reload_if_changed()).await {
                Ok(Ok(true)) => tracing::info!("signing keys reloaded"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "reloading signing keys failed; keeping the loaded ones")
                }
                Err(e) => tracing::error!(error = %e, "key reload task failed"),
            }
        }
    });
}

async fn root(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let target = if crate::http::current_session(&req, &state).await?.is_some() {
        "/account"
    } else {
        "/login"
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database answers and there is a usable signing key.
async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database not reachable");
        return Err(AppError::unavailable("database not reachable"));
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
        .json(serde_json::json!({ "status": "ready", "database": state.store.dialect() })))
}

/// The JWKS: pre-serialised bytes, ETag, conditional GET.
async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let jwks = state.keys.current().jwks(state.clock.now());
    let cache = format!(
        "public, max-age={}",
        (state.cfg.keys.publish_before_use_secs / 2).clamp(0, 300)
    );
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == jwks.etag || t.trim() == "*")
        });
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, jwks.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("access-control-allow-origin", "*"));
    if not_modified {
        return res.finish();
    }
    res.content_type("application/jwk-set+json").body(jwks.body)
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(crate::http::templates::CSS)
}

async fn not_found() -> AppResult<HttpResponse> {
    Err(AppError::not_found("no such page"))
}

fn form_error(e: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    match e {
        UrlencodedError::Overflow { .. } => payload_too_large(),
        UrlencodedError::ContentType => AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "expected application/x-www-form-urlencoded",
        )
        .into(),
        other => AppError::bad_request("bad_request", format!("malformed form: {other}")).into(),
    }
}

pub(crate) fn json_error(e: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            payload_too_large()
        }
        JsonPayloadError::ContentType => AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "expected application/json",
        )
        .into(),
        other => AppError::bad_request("bad_request", format!("malformed JSON: {other}")).into(),
    }
}

fn query_error(e: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("bad_request", format!("malformed query: {e}")).into()
}

fn path_error(e: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("bad_request", format!("malformed path: {e}")).into()
}

fn payload_too_large() -> actix_web::Error {
    AppError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    )
    .into()
}
