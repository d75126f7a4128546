//! Builds the application state and the HTTP server. Tests bind port 0 through
//! [`Application::build_with_listener`] and talk real HTTP to it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use futures_util::future::BoxFuture;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::core::{Core, Hooks, SessionsEnded};
use crate::http::basics::{css, healthz, jwks, not_found, readyz, root};
use crate::http::middleware;
use crate::http::rejections::{form_error, json_error, path_error, query_error};
use crate::http::state::AppState;
use crate::store::{Session, StoreResult};

/// The hooks that run when sessions end, in this order: back-channel logout to the
/// OIDC clients, SAML single logout to the service providers, then the user's notice
/// when a support session on their account ended.
pub fn hooks() -> Hooks {
    /// A `SessionsEnded` hook from an async fn of the same arguments.
    macro_rules! hook {
        ($f:path) => {{
            fn hook<'a>(
                core: &'a Core,
                ended: &'a [Session],
                reason: &'a str,
            ) -> BoxFuture<'a, StoreResult<()>> {
                Box::pin($f(core, ended, reason))
            }
            hook as SessionsEnded
        }};
    }
    Hooks {
        sessions_ended: vec![
            hook!(crate::oidc::backchannel::sessions_ended),
            hook!(crate::saml::slo::sessions_ended),
            hook!(crate::support::sessions_ended),
        ],
    }
}

/// The core for a command-line action (no server, no rate limits), with the same
/// hooks as the server's.
pub async fn core(cfg: Config, clock: SharedClock) -> anyhow::Result<Core> {
    Core::init(cfg, clock, hooks()).await
}

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
    /// `/metrics` on its own address (`metrics.listen`), if configured.
    metrics: Option<(Server, u16)>,
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
        let state = web::Data::new(AppState::init(cfg, clock, hooks()).await?);
        let core = state.core.clone();
        crate::saml::init(&core);
        crate::cache::spawn_listener(core.clone()).await?;
        let server = server(state.clone(), listener)?;
        let metrics = metrics_server(state.clone())?;
        spawn_key_reloader(core.clone());
        crate::oidc::backchannel::spawn_worker(core.clone());
        spawn_purger(core.clone());
        spawn_limit_sweeper(state.clone());
        crate::notify::spawn_worker(core.clone());
        crate::saml::spawn_purger(core);
        Ok(Application {
            server,
            port,
            state,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener (`metrics.listen`), if any.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, p)| *p)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then stops the background work and closes the database.
    ///
    /// SIGTERM or SIGINT: first `server.drain_secs` of draining (`/readyz` answers
    /// 503 so a load balancer stops sending; requests are still accepted and
    /// answered, with `Connection: close`), then the listener closes and in-flight
    /// requests get `server.shutdown_timeout_secs` to finish. The notification worker
    /// then abandons the message it is sending and gives back every claim it holds.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let handle = self.server.handle();
        let metrics_handle = self.metrics.as_ref().map(|(m, _)| m.handle());
        if let Some((m, _)) = self.metrics {
            tokio::spawn(m);
        }
        let signals = tokio::spawn(drain_on_signal(state.clone(), handle));
        let r = self.server.await;
        signals.abort();
        if let Some(m) = metrics_handle {
            m.stop(true).await;
        }
        let wait = Duration::from_secs(state.cfg.server.shutdown_timeout_secs);
        state.notify.shutdown(wait).await;
        state.store.close().await;
        r
    }
}

/// Waits for SIGTERM or SIGINT, drains for `server.drain_secs`, then stops the
/// server gracefully.
async fn drain_on_signal(state: web::Data<AppState>, handle: ServerHandle) {
    let term = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = term => {}
        r = tokio::signal::ctrl_c() => if r.is_err() { std::future::pending::<()>().await },
    }
    let drain = state.cfg.server.drain_secs;
    tracing::info!(drain_secs = drain, "shutting down: draining, then stopping");
    state.start_draining();
    tokio::time::sleep(Duration::from_secs(drain)).await;
    handle.stop(true).await;
}

/// `/metrics` on `metrics.listen`, when metrics are on and that address is set.
fn metrics_server(state: web::Data<AppState>) -> anyhow::Result<Option<(Server, u16)>> {
    let m = &state.cfg.metrics;
    if !m.enabled || m.listen.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(&m.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (metrics.listen): {e}", m.listen))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(crate::http::basics::metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(Some((server, port)))
}

fn server(state: web::Data<AppState>, listener: TcpListener) -> anyhow::Result<Server> {
    let cfg = state.cfg.clone();
    let limit = cfg.server.body_limit_bytes;
    let metrics_here = cfg.metrics.enabled && cfg.metrics.listen.is_empty();
    let tls = if cfg.server.tls.cert_file.is_empty() {
        None
    } else {
        let cert = crate::http::tls::Certificate::open(&cfg.server.tls)?;
        cert.spawn_reloader(Duration::from_secs(cfg.server.tls.reload_interval_secs));
        Some(cert.server_config()?)
    };
    let mut http = HttpServer::new(move || {
        let app = App::new();
        let app = if metrics_here {
            app.route("/metrics", web::get().to(crate::http::basics::metrics))
        } else {
            app
        };
        app.app_data(state.clone())
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
    // Signals are handled by `Application::run_until_stopped` (drain first).
    .disable_signals();
    http = match tls {
        Some(tls) => http.listen_rustls_0_23(listener, tls)?,
        None => http.listen(listener)?,
    };
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
        .route(
            "/static/passkey.js",
            web::get().to(crate::http::basics::passkey_js),
        )
        .configure(crate::authn::routes::routes)
        .configure(crate::account::routes)
        .configure(crate::federation::routes::routes)
        .configure(crate::oidc::routes)
        .configure(crate::admin::routes)
        .configure(crate::console::routes)
        .configure(crate::support::routes::routes)
        .configure(crate::saml::routes)
        .default_service(web::to(not_found));
}

/// Purges users deleted longer ago than the restore window, and access history older
/// than `retention.history_days`.
fn spawn_purger(state: Arc<Core>) {
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

fn spawn_key_reloader(state: Arc<Core>) {
    let every = Duration::from_secs(state.cfg.keys.reload_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            crate::cache::reload_keys(&state).await;
        }
    });
}
