//! The caches themselves (one [`Slot`] per kind of row, with its invalidation epoch)
//! and the events of the revocation bus; the lookups and the bus are in
//! [`crate::cache`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use moka::future::Cache;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::config::Config;
use crate::store::oidc::Client;
use crate::store::saml::ServiceProvider;
use crate::store::{Session, User};

/// What changed. Receivers drop what they cached about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Event {
    /// A session ended or its row changed (step-up): by the hex keyed hash of its cookie.
    SessionEnded { token_hash: String },
    /// Status, lock, password, app block, roles, profile, deletion or MFA of a user.
    UserChanged { user_id: Uuid },
    /// An OAuth client was added, disabled or got a new secret.
    ClientChanged { client_id: String },
    /// A SAML service provider was added, changed or disabled.
    SpChanged { entity_id: String },
    /// A support grant was revoked: impersonation sessions under it end.
    GrantRevoked { grant_id: Uuid },
    /// The signing keys changed on disk (`monban keys rotate`): reload them.
    KeysChanged,
    /// Drop everything (a replica that lost its bus connection, or an operator).
    FlushAll,
}

/// An event and the instance that sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: Uuid,
    #[serde(flatten)]
    pub event: Event,
}

/// Hit and miss counters of one cache.
#[derive(Debug, Default)]
pub struct Counter {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl Counter {
    pub(super) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    pub sessions: Counter,
    pub users: Counter,
    pub clients: Counter,
    pub sps: Counter,
    /// Events received from other instances (broadcast or NOTIFY) and applied.
    pub received: AtomicU64,
}

/// One cache with its invalidation epoch.
pub(super) struct Slot<K, V> {
    pub(super) cache: Cache<K, V>,
    pub(super) epoch: AtomicU64,
}

impl<K, V> Slot<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(super) fn new(max: u64, ttl: Duration) -> Self {
        Slot {
            cache: Cache::builder()
                .max_capacity(max)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            epoch: AtomicU64::new(0),
        }
    }

    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Stores `v` unless the cache was invalidated since `epoch` was read.
    pub(super) async fn put_if(&self, epoch: u64, k: K, v: V) {
        if self.epoch() == epoch {
            self.cache.insert(k, v).await;
            // An invalidation that ran between the check and the insert: undo.
            if self.epoch() != epoch {
                self.cache.invalidate_all();
            }
        }
    }

    pub(super) async fn drop_key(&self, k: &K) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(k).await;
    }

    pub(super) fn drop_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }
}

pub struct Caches {
    pub(super) enabled: bool,
    /// This instance, so that its own NOTIFYs are ignored.
    pub(super) origin: Uuid,
    pub(super) sessions: Slot<Vec<u8>, Session>,
    pub(super) users: Slot<Uuid, User>,
    pub(super) clients: Slot<String, Client>,
    pub(super) sps: Slot<String, ServiceProvider>,
    /// Instances in this process on the same database.
    pub(super) local: broadcast::Sender<Envelope>,
    /// The bus listener lost its connection and is not back yet: another replica's
    /// change could be missed, so nothing is read from or kept in the caches.
    bus_down: std::sync::atomic::AtomicBool,
    pub stats: Stats,
}

/// One broadcast channel per database (URL and schema) in this process.
fn local_bus(cfg: &Config) -> broadcast::Sender<Envelope> {
    static BUSES: OnceLock<Mutex<HashMap<String, broadcast::Sender<Envelope>>>> = OnceLock::new();
    let key = format!("{}#{}", cfg.database_url(), cfg.database.schema);
    let mut map = BUSES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(key)
        .or_insert_with(|| broadcast::channel(1024).0)
        .clone()
}

impl Caches {
    pub fn new(cfg: &Config) -> Caches {
        let c = &cfg.cache;
        let ttl = Duration::from_secs(c.ttl_secs.max(1));
        Caches {
            enabled: c.enabled && c.ttl_secs > 0,
            origin: Uuid::new_v4(),
            sessions: Slot::new(c.max_sessions, ttl),
            users: Slot::new(c.max_users, ttl),
            clients: Slot::new(c.max_clients, ttl),
            sps: Slot::new(c.max_sps, ttl),
            local: local_bus(cfg),
            bus_down: std::sync::atomic::AtomicBool::new(false),
            stats: Stats::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Enabled, and the bus is connected (see [`Caches::set_bus_down`]).
    pub fn usable(&self) -> bool {
        self.enabled && !self.bus_down.load(Ordering::SeqCst)
    }

    pub fn set_bus_down(&self, down: bool) {
        self.bus_down.store(down, Ordering::SeqCst);
    }

    /// The bus listener is connected (or there is none to lose: SQLite).
    pub fn bus_connected(&self) -> bool {
        !self.bus_down.load(Ordering::SeqCst)
    }

    /// Drops whatever `event` concerns. Idempotent.
    pub(super) async fn apply(&self, event: &Event) {
        match event {
            Event::SessionEnded { token_hash } => {
                if let Ok(h) = super::hex_decode(token_hash) {
                    self.sessions.drop_key(&h).await;
                } else {
                    self.sessions.drop_all();
                }
            }
            Event::UserChanged { user_id } => self.users.drop_key(user_id).await,
            Event::ClientChanged { client_id } => self.clients.drop_key(client_id).await,
            Event::SpChanged { entity_id } => self.sps.drop_key(entity_id).await,
            Event::GrantRevoked { grant_id } => {
                let gid = *grant_id;
                self.sessions.epoch.fetch_add(1, Ordering::SeqCst);
                if self
                    .sessions
                    .cache
                    .invalidate_entries_if(move |_, s| s.support_grant_id == Some(gid))
                    .is_err()
                {
                    self.sessions.drop_all();
                }
            }
            Event::KeysChanged => {}
            Event::FlushAll => self.flush(),
        }
    }

    /// Drops every entry of every cache.
    pub fn flush(&self) {
        self.sessions.drop_all();
        self.users.drop_all();
        self.clients.drop_all();
        self.sps.drop_all();
    }

    /// Events from the other instances in this process (for tests and watchers).
    pub fn subscribe(&self) -> broadcast::Receiver<Envelope> {
        self.local.subscribe()
    }
}
