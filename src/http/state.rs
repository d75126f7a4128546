//! The web layer's state: the [`Core`] the domain services take, and what only the
//! HTTP side needs (rate limits, trusted proxies). Handlers take
//! `web::Data<AppState>` and pass `&state` where a `&Core` is wanted (it derefs).

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::core::{Core, Hooks};
use crate::http::client_ip::TrustedProxies;
use crate::ratelimit::Limits;

pub struct AppState {
    pub core: Arc<Core>,
    /// Rate limits (`[ratelimit]`).
    pub limits: Limits,
    /// `server.trusted_proxies`: whose `X-Forwarded-For` gives the client IP.
    pub proxies: TrustedProxies,
    /// Set on SIGTERM/SIGINT: `/readyz` answers 503 and connections are not kept.
    draining: AtomicBool,
}

impl AppState {
    pub async fn init(cfg: Config, clock: SharedClock, hooks: Hooks) -> anyhow::Result<AppState> {
        let limits = Limits::new(
            &cfg.ratelimit.with_rules(cfg.support.daily_limit),
            clock.clone(),
        );
        let proxies = TrustedProxies::parse(&cfg.server.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?;
        let core = Core::init(cfg, clock, hooks).await?;
        Ok(AppState {
            core: Arc::new(core),
            limits,
            proxies,
            draining: AtomicBool::new(false),
        })
    }

    /// Shutting down (see `server.drain_secs`).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

impl Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}
