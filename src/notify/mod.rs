//! Notifications to users and admins (e-mail). [`send`] renders a [`Message`] in the
//! recipient's language and queues it in the `outbox` table; a worker
//! ([`spawn_worker`]) delivers queued messages through the configured transport with
//! retries and exponential backoff.
//!
//! Guarantees: a queued message stays in the database until it is sent, or given up
//! after `notify.max_attempts` or a permanent refusal (an SMTP 5xx reply); nothing is
//! lost across restarts. A worker claims messages with a lease (`claimed_until`), so
//! replicas sharing a database never send the same message at the same time. Delivery is at least once: a worker that dies
//! after the SMTP server accepted a message but before it was marked sent leaves it to
//! be sent again when the lease runs out (the `Message-ID` stays the same).
//!
//! ```ignore
//! notify::send(&state, &Recipient::user(&user), Message::AccountUnlocked).await?;
//! ```

pub mod templates;
pub mod transport;

pub use transport::NotifyState;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::config::Config;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::store::{OutboxMessage, StoreResult, User};

/// Messages claimed per round.
const BATCH: i64 = 20;

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The user it is about (kept with the message for the admin's view).
    pub user_id: Option<Uuid>,
    pub email: String,
    pub display_name: String,
    /// A language of `src/i18n/locales/` (a tag like `ja-JP` is fine); else `ui.default_locale`.
    pub locale: Option<String>,
}

impl Recipient {
    pub fn user(u: &User) -> Recipient {
        Recipient {
            user_id: Some(u.id),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            locale: u.locale.clone(),
        }
    }
}

/// What to tell the recipient. Each variant has a subject and a body in every language
/// (`notify-<kind>-subject`, `notify-<kind>-body` in `src/i18n/locales/*/notify.ftl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Account created without a password: set one at `link`.
    Invitation {
        link: String,
    },
    /// An admin asks the user to change the password.
    PasswordChangeRequested {
        link: String,
    },
    /// An admin set a new password; all sessions ended.
    PasswordSetByAdmin,
    /// Locked after failed sign-ins, until a time or (None) until unlocked.
    AccountLocked {
        until: Option<DateTime<Utc>>,
    },
    AccountUnlocked,
    AccountSuspended,
    AccountUnsuspended,
    /// An admin turned the user's MFA off.
    MfaReset,
    /// The user registered a passkey.
    PasskeyAdded {
        name: String,
    },
    /// An upstream account was linked to the user's (a new way to sign in).
    LinkedLoginAdded {
        provider: String,
    },
    /// An upstream sign-in (e.g. a company Google account) was unlinked.
    LinkedLoginRemoved {
        provider: String,
        by_admin: bool,
    },
    /// A passkey was removed, by the user or (`by_admin`) an admin.
    PasskeyRemoved {
        name: String,
        by_admin: bool,
    },
    SupportGrantRedeemed {
        support_name: String,
        expires_at: DateTime<Utc>,
    },
    SupportSessionEnded {
        support_name: String,
    },
    /// To admins: a support request waits for approval.
    SupportRequestPending {
        user_name: String,
        reason: String,
        approve_link: String,
    },
    SupportRequestDecided {
        user_name: String,
        approved: bool,
    },
    /// To admins: a user approved a device of an app that also needs an admin's approval.
    DeviceApprovalPending {
        user_name: String,
        app_name: String,
        approve_link: String,
    },
    /// To the user: an admin decided on their device.
    DeviceApprovalDecided {
        app_name: String,
        approved: bool,
    },
}

impl Message {
    /// Template name, stored as the outbox row's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Invitation { .. } => "invitation",
            Message::PasswordChangeRequested { .. } => "password_change_requested",
            Message::PasswordSetByAdmin => "password_set_by_admin",
            Message::AccountLocked { .. } => "account_locked",
            Message::AccountUnlocked => "account_unlocked",
            Message::AccountSuspended => "account_suspended",
            Message::AccountUnsuspended => "account_unsuspended",
            Message::MfaReset => "mfa_reset",
            Message::PasskeyAdded { .. } => "passkey_added",
            Message::LinkedLoginRemoved { .. } => "linked_login_removed",
            Message::LinkedLoginAdded { .. } => "linked_login_added",
            Message::PasskeyRemoved { .. } => "passkey_removed",
            Message::SupportGrantRedeemed { .. } => "support_grant_redeemed",
            Message::SupportSessionEnded { .. } => "support_session_ended",
            Message::SupportRequestPending { .. } => "support_request_pending",
            Message::SupportRequestDecided { .. } => "support_request_decided",
            Message::DeviceApprovalPending { .. } => "device_approval_pending",
            Message::DeviceApprovalDecided { .. } => "device_approval_decided",
        }
    }
}

/// The language for a recipient: their locale if supported, else `ui.default_locale`.
pub fn locale_for(cfg: &Config, to: &Recipient) -> Locale {
    to.locale
        .as_deref()
        .and_then(Locale::parse)
        .or_else(|| Locale::parse(&cfg.ui.default_locale))
        .unwrap_or(Locale::FALLBACK)
}

/// Renders `msg` for `to`, queues it and wakes the worker. Returns the outbox id.
pub async fn send(state: &Core, to: &Recipient, msg: Message) -> AppResult<Uuid> {
    let m = compose(state, to, &msg)?;
    state.store.enqueue_outbox(&m).await?;
    queued(state, &m);
    Ok(m.id)
}

/// Wakes the delivery worker for a message just stored (by [`send`], or by a store
/// method that wrote it in the same transaction as the change it tells of).
pub fn queued(state: &Core, m: &OutboxMessage) {
    state.notify.wake.notify_one();
    tracing::debug!(id = %m.id, kind = %m.kind, "notification queued");
}

/// The outbox row of a message in the recipient's language, not yet stored.
pub fn compose(state: &Core, to: &Recipient, msg: &Message) -> AppResult<OutboxMessage> {
    let email = to.email.trim();
    if email.parse::<lettre::Address>().is_err() {
        return Err(AppError::bad_request(
            "invalid_email",
            "the recipient's e-mail address is not valid",
        ));
    }
    // A display name goes into the To: header; keep it on one line.
    let display_name: String = to
        .display_name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let display_name = display_name.trim().to_string();
    let locale = locale_for(&state.cfg, to);
    let name = if display_name.is_empty() {
        email
    } else {
        &display_name
    };
    let r = templates::render(locale, &state.cfg.ui.product_name, name, msg);
    let now = state.clock.now();
    let m = OutboxMessage {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        user_id: to.user_id,
        to_address: email.to_string(),
        to_name: display_name,
        locale: locale.tag().to_string(),
        kind: msg.kind().to_string(),
        subject: r.subject,
        body_text: r.body_text,
        body_html: None,
        attempts: 0,
        next_attempt_at: now,
        claimed_until: None,
        created_at: now,
        sent_at: None,
        failed_at: None,
        last_error: None,
    };
    Ok(m)
}

/// Wait before attempt `attempts + 1` after `attempts` failed ones: `retry_base_secs`
/// doubled per further failure, at most `retry_max_secs`.
pub fn backoff(cfg: &Config, attempts: i64) -> Duration {
    let n = &cfg.notify;
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let secs = n
        .retry_base_secs
        .saturating_mul(2i64.saturating_pow(exp))
        .min(n.retry_max_secs);
    Duration::seconds(secs)
}

/// Delivers queued messages until [`NotifyState::shutdown`].
pub fn spawn_worker(state: std::sync::Arc<Core>) {
    let every = StdDuration::from_millis(state.cfg.notify.poll_interval_ms);
    tracing::info!(
        transport = state.notify.transport_name(),
        "notification worker started"
    );
    let notify = state.clone();
    let worker = tokio::spawn(async move {
        loop {
            if state.notify.is_stopped() {
                break;
            }
            match deliver_due(&state).await {
                // A full batch: there may be more.
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "notification delivery round failed"),
            }
            let wake = state.notify.wake.clone();
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
        tracing::debug!("notification worker stopped");
    });
    notify.notify.set_worker(worker);
}

/// One round: claims due messages and delivers them. Returns how many were claimed.
pub async fn deliver_due(state: &Core) -> StoreResult<usize> {
    let now = state.clock.now();
    let claim_until = now + Duration::seconds(state.cfg.notify.claim_secs);
    let jobs = state.store.claim_outbox(now, claim_until, BATCH).await?;
    let n = jobs.len();
    let mut jobs = jobs.into_iter();
    while let Some(m) = jobs.next() {
        let result = tokio::select! {
            // A send that finished is recorded as sent, even if shutdown began meanwhile.
            biased;
            r = state.notify.transport.send(&state.notify.from, &m) => r,
            _ = state.notify.stopping() => {
                // Shutting down: this message and the rest go back at once, rather
                // than waiting out the claim (`notify.claim_secs`) for another worker.
                for m in std::iter::once(m).chain(jobs.by_ref()) {
                    if let Err(e) = state.store.outbox_release(m.id, claim_until).await {
                        tracing::warn!(id = %m.id, error = %e, "could not give back a claimed notification");
                    }
                }
                tracing::info!("notification worker stopping: unsent claims given back");
                break;
            }
        };
        let now = state.clock.now();
        match result {
            Ok(()) => {
                state.store.outbox_sent(m.id, now).await?;
                tracing::info!(id = %m.id, kind = %m.kind, attempts = m.attempts, "notification sent");
            }
            Err(err) if err.permanent || m.attempts >= i64::from(state.cfg.notify.max_attempts) => {
                state
                    .metrics
                    .delivery_failures
                    .with_label_values(&["outbox"])
                    .inc();
                state.store.outbox_failed(m.id, now, &err.message).await?;
                tracing::error!(id = %m.id, kind = %m.kind, attempts = m.attempts,
                    error = %err.message, permanent = err.permanent, "notification given up");
            }
            Err(err) => {
                state
                    .metrics
                    .delivery_failures
                    .with_label_values(&["outbox"])
                    .inc();
                let next = now + backoff(&state.cfg, m.attempts);
                state.store.outbox_retry(m.id, next, &err.message).await?;
                tracing::warn!(id = %m.id, kind = %m.kind, attempts = m.attempts, error = %err.message,
                    retry_at = %next, "notification delivery failed; will retry");
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut cfg = Config::default();
        cfg.notify.retry_base_secs = 30;
        cfg.notify.retry_max_secs = 200;
        let secs: Vec<i64> = (1..=6).map(|a| backoff(&cfg, a).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 200, 200, 200]);
        assert_eq!(backoff(&cfg, i64::MAX).num_seconds(), 200);
    }

    #[test]
    fn every_transport_builds_from_config() {
        for (transport, tls) in [
            ("log", "starttls"),
            ("file", "starttls"),
            ("smtp", "starttls"),
            ("smtp", "tls"),
            ("smtp", "none"),
        ] {
            let mut cfg = Config::default();
            cfg.notify.transport = transport.into();
            cfg.notify.smtp_tls = tls.into();
            cfg.notify.smtp_username = "u".into();
            cfg.notify.smtp_password = "p".into();
            let n = NotifyState::new(&cfg).unwrap();
            assert_eq!(n.transport_name(), transport);
        }
    }

    #[test]
    fn locale_falls_back_to_the_default() {
        let mut cfg = Config::default();
        cfg.ui.default_locale = "ja".into();
        let mut to = Recipient {
            user_id: None,
            email: "a@example.com".into(),
            display_name: "A".into(),
            locale: None,
        };
        assert_eq!(locale_for(&cfg, &to), Locale::JA);
        to.locale = Some("en-US".into());
        assert_eq!(locale_for(&cfg, &to), Locale::EN);
        to.locale = Some("fr".into());
        assert_eq!(locale_for(&cfg, &to), Locale::JA);
    }
}
