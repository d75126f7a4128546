//! The core every domain service takes: configuration, the store, the signing keys,
//! the clock, the password hasher, the organisation, the outbox and back-channel
//! queues' wake-ups, the caches with their revocation bus, and the hooks the
//! composition root registers for when sessions end.
//!
//! Only types from leaf and infrastructure modules appear here, so that nothing
//! this file imports can import it back: the domain depends on the core, never the
//! other way round. The web state ([`crate::http::state::AppState`]) wraps it.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::authn::passkeys::rp::RelyingParty;
use crate::authn::password::Passwords;
use crate::cache::maps::Caches;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::keys::KeyManager;
use crate::metrics::Metrics;
use crate::notify::transport::NotifyState;
use crate::oidc::state::OidcState;
use crate::store::{Organization, Session, Store, StoreResult};

/// Slug of the organisation created on first start (the only one exposed for now).
pub const DEFAULT_ORG: &str = "default";

/// Called after sessions ended (their rows are already marked ended and every
/// replica's cache has dropped them), with the ended rows and the reason: the
/// back-channel logout, SAML single logout and the user's notices hang here.
pub type SessionsEnded =
    for<'a> fn(&'a Core, &'a [Session], &'a str) -> BoxFuture<'a, StoreResult<()>>;

/// What happens when things end, registered once by the composition root, run in
/// the order registered.
#[derive(Default, Clone)]
pub struct Hooks {
    pub sessions_ended: Vec<SessionsEnded>,
}

pub struct Core {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub keys: Arc<KeyManager>,
    pub clock: SharedClock,
    pub passwords: Passwords,
    /// The default organisation.
    pub org: Organization,
    /// The OIDC discovery document and the back-channel logout queue's wake-up.
    pub oidc: OidcState,
    /// Outgoing notifications: the outbox worker's wake-up and transport.
    pub notify: NotifyState,
    /// Caches of hot lookups and the revocation bus (`[cache]`).
    pub cache: Caches,
    /// The WebAuthn relying party (passkeys), or why passkeys are off.
    pub passkeys: RelyingParty,
    /// Prometheus metrics (served at `/metrics` when `metrics.enabled`).
    pub metrics: Metrics,
    hooks: Hooks,
}

impl Core {
    /// Connects and migrates the database, opens (or generates) the keys, and makes
    /// sure the default organisation exists.
    pub async fn init(cfg: Config, clock: SharedClock, hooks: Hooks) -> anyhow::Result<Core> {
        let store = crate::store::connect_and_migrate(&cfg).await?;
        let org = store
            .ensure_org(DEFAULT_ORG, "Default organisation", clock.now())
            .await
            .map_err(|e| anyhow::anyhow!("creating the default organisation failed: {e}"))?;
        let keys = {
            let cfg = cfg.clone();
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || KeyManager::open(&cfg, clock)).await??
        };
        let passkeys = RelyingParty::from_config(&cfg);
        match passkeys.off_reason() {
            None => tracing::info!(issuer = cfg.issuer(), "passkeys are on"),
            Some(why) => tracing::warn!("passkeys are off: {why}"),
        }
        Ok(Core {
            passkeys,
            passwords: Passwords::new(&cfg.password)?,
            oidc: OidcState::new(&cfg)?,
            notify: NotifyState::new(&cfg)?,
            cache: Caches::new(&cfg),
            metrics: Metrics::new(),
            cfg: Arc::new(cfg),
            store,
            keys: Arc::new(keys),
            clock,
            org,
            hooks,
        })
    }

    /// Runs the registered [`SessionsEnded`] hooks in order; the first error stops.
    pub async fn sessions_ended(&self, ended: &[Session], reason: &str) -> StoreResult<()> {
        for hook in &self.hooks.sessions_ended {
            hook(self, ended, reason).await?;
        }
        Ok(())
    }
}
