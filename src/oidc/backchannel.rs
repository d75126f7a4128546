//! Back-Channel Logout 1.0. When a session ends for any reason, its session-bound
//! grants are revoked and every client that took part and registered a
//! `backchannel_logout_uri` is sent a signed `logout_token`. Delivery runs from a
//! queue table with retries and backoff, so ending a session never waits on a client.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::json;
use tokio::sync::Notify;
use uuid::Uuid;

use super::tokens;
use crate::core::Core;
use crate::store::oidc::BackchannelJob;
use crate::store::{Session, StoreResult};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// Revokes what the ended sessions granted and queues logout tokens.
pub async fn sessions_ended(state: &Core, sessions: &[Session], reason: &str) -> StoreResult<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    state
        .store
        .revoke_families_for_sessions(&ids, now, reason)
        .await?;
    let mut queued = false;
    for s in sessions {
        for client_id in state.store.list_session_clients(s.id).await? {
            let Some(client) = state.store.get_client(&client_id).await? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            let claims = json!({
                "iss": state.cfg.issuer(),
                "aud": client.client_id,
                "iat": now.timestamp(),
                "exp": now.timestamp() + 120,
                "jti": tokens::new_jti(),
                "sub": s.user_id.to_string(),
                "sid": s.id.to_string(),
                "events": { tokens::BACKCHANNEL_EVENT: {} },
            });
            let logout_token = match tokens::sign(state, client.alg(), tokens::TYP_LOGOUT, &claims)
            {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, client = %client_id, "cannot sign a logout token");
                    continue;
                }
            };
            state
                .store
                .enqueue_backchannel(&BackchannelJob {
                    id: Uuid::new_v4(),
                    client_id,
                    uri,
                    logout_token,
                    attempts: 0,
                    next_attempt_at: now,
                    claimed_until: None,
                    created_at: now,
                    delivered_at: None,
                    failed_at: None,
                    last_error: None,
                })
                .await?;
            queued = true;
        }
    }
    if queued {
        state.oidc.wake.notify_one();
    }
    Ok(())
}

/// Delivers queued logout tokens until the process ends.
pub fn spawn_worker(state: std::sync::Arc<Core>) {
    tokio::spawn(async move {
        loop {
            let wake: Arc<Notify> = state.oidc.wake.clone();
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(StdDuration::from_millis(500)) => {}
            }
            if let Err(e) = deliver_due(&state).await {
                tracing::warn!(error = %e, "back-channel logout delivery round failed");
            }
        }
    });
}

async fn deliver_due(state: &Core) -> StoreResult<()> {
    let now = state.clock.now();
    let jobs = state
        .store
        .claim_backchannel(now, now + Duration::seconds(30), 20)
        .await?;
    for job in jobs {
        let result = state
            .oidc
            .http
            .post(&job.uri)
            .form(&[("logout_token", job.logout_token.as_str())])
            .send()
            .await;
        let now = state.clock.now();
        match result {
            Ok(r) if r.status().is_success() => {
                state.store.backchannel_delivered(job.id, now).await?;
                tracing::info!(client = %job.client_id, "back-channel logout delivered");
            }
            other => {
                let err = match other {
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e.to_string(),
                };
                state
                    .metrics
                    .delivery_failures
                    .with_label_values(&["backchannel"])
                    .inc();
                if job.attempts >= MAX_ATTEMPTS {
                    state.store.backchannel_failed(job.id, now, &err).await?;
                    tracing::warn!(client = %job.client_id, error = %err, "back-channel logout given up");
                } else {
                    let backoff = Duration::seconds(2i64.pow(job.attempts.clamp(0, 11) as u32));
                    state
                        .store
                        .backchannel_retry(job.id, now + backoff, &err)
                        .await?;
                }
            }
        }
    }
    Ok(())
}
