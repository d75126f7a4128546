//! In-memory caches for the hot paths (browser sessions by cookie hash, users, OAuth
//! clients, SAML service providers) and the revocation bus that keeps them honest.
//!
//! Every write that changes what a cache holds calls [`publish`] with an [`Event`]
//! after the database write: the entry is dropped here at once, the event goes to
//! the other instances in this process on the same database (a tokio broadcast), and
//! on PostgreSQL to the other replicas by `NOTIFY` (each replica LISTENs in
//! [`spawn_listener`], ignores its own messages, and flushes every cache when its
//! listening connection was lost, since it may have missed events). Entries also
//! expire after `cache.ttl_secs`, a safety net behind the bus.
//!
//! A lookup that misses reads the database and stores the row only if no
//! invalidation of that cache happened meanwhile (an epoch counter), so a write
//! racing a read cannot leave the old row cached. Session hits are checked against
//! the clock (see [`crate::sessions::lookup`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::core::Core;
use crate::store::oidc::Client;
use crate::store::saml::ServiceProvider;
use crate::store::{Session, StoreResult, User};

pub mod maps;
pub use maps::{Caches, Counter, Envelope, Event, Stats};

/// Announces a change: drops the entries here, then tells the other instances in
/// this process and (PostgreSQL) the other replicas. Call it after the write.
pub async fn publish(state: &Core, event: Event) {
    let c = &state.cache;
    c.apply(&event).await;
    if matches!(event, Event::KeysChanged) {
        reload_keys(state).await;
    }
    let env = Envelope {
        origin: c.origin,
        event,
    };
    let _ = c.local.send(env.clone());
    match serde_json::to_string(&env) {
        Ok(json) => {
            if let Err(e) = state.store.bus_publish(&json).await {
                tracing::error!(error = %e, event = ?env.event, "could not tell the other replicas of a change; they keep their caches until cache.ttl_secs");
            }
        }
        Err(e) => tracing::error!(error = %e, "bus event not serialisable"),
    }
}

/// Tells the replicas of a change from a process without caches of its own (the
/// command line): PostgreSQL only.
pub async fn announce(store: &crate::store::Store, event: Event) -> StoreResult<()> {
    let env = Envelope {
        origin: Uuid::new_v4(),
        event,
    };
    let json = serde_json::to_string(&env).unwrap_or_default();
    store.bus_publish(&json).await
}

/// Applies an event that came from elsewhere (not this instance).
async fn receive(state: &Core, env: Envelope) {
    if env.origin == state.cache.origin {
        return;
    }
    tracing::debug!(event = ?env.event, "bus event received");
    state.cache.stats.received.fetch_add(1, Ordering::Relaxed);
    state.cache.apply(&env.event).await;
    if matches!(env.event, Event::KeysChanged) {
        reload_keys(state).await;
    }
}

/// Reloads the signing keys from disk if they changed there (a bus event, a lost bus
/// connection, or the periodic check); on failure the loaded keys stay in use.
pub async fn reload_keys(state: &Core) {
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

/// Starts receiving events (unless `cache.listen = false`): from the other instances
/// in this process on the same database, and on PostgreSQL from the other replicas.
pub async fn spawn_listener(state: Arc<Core>) -> anyhow::Result<()> {
    if !state.cfg.cache.listen {
        return Ok(());
    }
    let mut rx = state.cache.subscribe();
    {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(env) => receive(&state, env).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => state.cache.flush(),
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
    let Some(mut signals) = state.store.bus_subscribe().await? else {
        return Ok(());
    };
    tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            match signal {
                crate::store::BusSignal::Message(json) => {
                    match serde_json::from_str::<Envelope>(&json) {
                        Ok(env) => receive(&state, env).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable bus message; flushing the caches");
                            state.cache.flush();
                        }
                    }
                }
                crate::store::BusSignal::Down => {
                    tracing::warn!("bus connection lost; caches bypassed until it is back");
                    state.cache.set_bus_down(true);
                    state.cache.flush();
                }
                crate::store::BusSignal::Lost => {
                    tracing::warn!("bus connection back; flushing the caches");
                    state.cache.flush();
                    state.cache.set_bus_down(false);
                    state.metrics.bus_reconnects.inc();
                    reload_keys(&state).await;
                }
            }
        }
    });
    Ok(())
}

// ---------------------------------------------------------------- lookups

/// The cached row of a live session by cookie hash, if any. The caller checks
/// expiry and idleness against the clock and goes to the database when in doubt.
pub(crate) async fn cached_session(state: &Core, hash: &[u8]) -> Option<Session> {
    let c = &state.cache;
    if !c.usable() {
        return None;
    }
    let s = c.sessions.cache.get(hash).await;
    if s.is_some() {
        c.stats.sessions.hit();
    } else {
        c.stats.sessions.miss();
    }
    s
}

/// Remembers a session row that [`crate::sessions::lookup`] just checked (read with
/// `epoch` taken before the database read). Impersonation sessions are never kept.
pub(crate) async fn keep_session(state: &Core, epoch: u64, s: &Session) {
    let c = &state.cache;
    if c.usable() && s.support_grant_id.is_none() && s.ended_at.is_none() {
        c.sessions
            .put_if(epoch, s.token_hash.clone(), s.clone())
            .await;
    }
}

pub(crate) fn session_epoch(state: &Core) -> u64 {
    state.cache.sessions.epoch()
}

/// A user by id (cached). For status checks on hot paths; writes go to the store
/// and then [`user_changed`].
pub async fn user(state: &Core, id: Uuid) -> StoreResult<User> {
    let c = &state.cache;
    if !c.usable() {
        return state.store.get_user(id).await;
    }
    if let Some(u) = c.users.cache.get(&id).await {
        c.stats.users.hit();
        return Ok(u);
    }
    c.stats.users.miss();
    let epoch = c.users.epoch();
    let u = state.store.get_user(id).await?;
    c.users.put_if(epoch, id, u.clone()).await;
    Ok(u)
}

/// An OAuth client by id (cached; unknown ids are not remembered).
pub async fn client(state: &Core, client_id: &str) -> StoreResult<Option<Client>> {
    let c = &state.cache;
    if !c.usable() {
        return state.store.get_client(client_id).await;
    }
    if let Some(cl) = c.clients.cache.get(client_id).await {
        c.stats.clients.hit();
        return Ok(Some(cl));
    }
    c.stats.clients.miss();
    let epoch = c.clients.epoch();
    let found = state.store.get_client(client_id).await?;
    if let Some(cl) = &found {
        c.clients
            .put_if(epoch, client_id.to_string(), cl.clone())
            .await;
    }
    Ok(found)
}

/// A SAML service provider by entity id (cached; unknown ids are not remembered).
pub async fn sp(state: &Core, entity_id: &str) -> StoreResult<Option<ServiceProvider>> {
    let c = &state.cache;
    if !c.usable() {
        return state.store.get_sp(entity_id).await;
    }
    if let Some(sp) = c.sps.cache.get(entity_id).await {
        c.stats.sps.hit();
        return Ok(Some(sp));
    }
    c.stats.sps.miss();
    let epoch = c.sps.epoch();
    let found = state.store.get_sp(entity_id).await?;
    if let Some(sp) = &found {
        c.sps.put_if(epoch, entity_id.to_string(), sp.clone()).await;
    }
    Ok(found)
}

// ---------------------------------------------------------------- shorthands

pub async fn user_changed(state: &Core, user_id: Uuid) {
    publish(state, Event::UserChanged { user_id }).await;
}

pub async fn session_changed(state: &Core, s: &Session) {
    publish(
        state,
        Event::SessionEnded {
            token_hash: hex_encode(&s.token_hash),
        },
    )
    .await;
}

pub async fn client_changed(state: &Core, client_id: &str) {
    publish(
        state,
        Event::ClientChanged {
            client_id: client_id.to_string(),
        },
    )
    .await;
}

pub async fn sp_changed(state: &Core, entity_id: &str) {
    publish(
        state,
        Event::SpChanged {
            entity_id: entity_id.to_string(),
        },
    )
    .await;
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    if !s.len().is_multiple_of(2) {
        return Err(());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or(())?, 16).map_err(|_| ()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::maps::Slot;
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_round_trip_as_json() {
        let env = Envelope {
            origin: Uuid::nil(),
            event: Event::UserChanged {
                user_id: Uuid::nil(),
            },
        };
        let json = serde_json::to_string(&env).unwrap();
        assert!(json.contains("\"t\":\"user_changed\""), "{json}");
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back.event, env.event);
        let k: Envelope = serde_json::from_str(&format!(
            "{{\"origin\":\"{}\",\"t\":\"keys_changed\"}}",
            Uuid::nil()
        ))
        .unwrap();
        assert_eq!(k.event, Event::KeysChanged);
    }

    #[test]
    fn hex_round_trip() {
        let b = vec![0u8, 1, 0xab, 0xff];
        assert_eq!(hex_decode(&hex_encode(&b)).unwrap(), b);
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
    }

    #[tokio::test]
    async fn an_invalidation_during_a_read_keeps_the_old_row_out() {
        let slot: Slot<u32, u32> = Slot::new(10, Duration::from_secs(60));
        let epoch = slot.epoch();
        // A write (and its invalidation) lands while the database read is in flight…
        slot.drop_key(&1).await;
        // …so the row read before it is not stored.
        slot.put_if(epoch, 1, 100).await;
        assert_eq!(slot.cache.get(&1).await, None);
        let epoch = slot.epoch();
        slot.put_if(epoch, 1, 200).await;
        assert_eq!(slot.cache.get(&1).await, Some(200));
    }
}
