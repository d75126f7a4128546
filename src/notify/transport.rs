//! How a queued message leaves: logged, written as an `.eml` file, or sent by SMTP
//! (lettre). Each message becomes one RFC 5322 message with a stable `Message-ID`
//! (the outbox id), so a retried delivery can be recognised as the same message.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;

use crate::config::Config;
use crate::store::OutboxMessage;

/// Header naming the template, for filtering and for tests.
pub const KIND_HEADER: &str = "X-Monban-Kind";

/// Why a delivery failed. A permanent failure (the SMTP server refused the message
/// with a 5xx reply, or the message cannot be built) is not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: String) -> SendError {
        SendError {
            permanent: true,
            message,
        }
    }

    fn transient(message: String) -> SendError {
        SendError {
            permanent: false,
            message,
        }
    }
}

pub enum Transport {
    /// Logs recipient and subject (body at debug level); sends nothing.
    Log,
    /// One `.eml` file per message in this directory.
    File(PathBuf),
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

impl Transport {
    pub fn from_config(cfg: &Config) -> anyhow::Result<Transport> {
        let n = &cfg.notify;
        Ok(match n.transport.as_str() {
            "file" => Transport::File(n.effective_file_dir(&cfg.data.dir)),
            "smtp" => {
                let host = n.smtp_host.trim();
                let tls = match n.smtp_tls.as_str() {
                    "starttls" => Tls::Required(TlsParameters::new(host.to_string())?),
                    "tls" => Tls::Wrapper(TlsParameters::new(host.to_string())?),
                    _ => Tls::None,
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(n.smtp_port)
                    .tls(tls)
                    .timeout(Some(Duration::from_secs(n.smtp_timeout_secs)));
                if !n.smtp_username.is_empty() {
                    b = b.credentials(Credentials::new(
                        n.smtp_username.clone(),
                        n.smtp_password.clone(),
                    ));
                }
                Transport::Smtp(Box::new(b.build()))
            }
            _ => Transport::Log,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Transport::Log => "log",
            Transport::File(_) => "file",
            Transport::Smtp(_) => "smtp",
        }
    }

    /// Delivers one message; the error text is kept in the outbox row.
    pub async fn send(&self, from: &Mailbox, m: &OutboxMessage) -> Result<(), SendError> {
        match self {
            Transport::Log => {
                tracing::info!(id = %m.id, kind = %m.kind, to = %m.to_address, subject = %m.subject,
                    "notification (log transport: not sent)");
                tracing::debug!(id = %m.id, body = %m.body_text, "notification body");
                Ok(())
            }
            Transport::File(dir) => {
                let bytes = build(from, m).map_err(SendError::permanent)?.formatted();
                write_eml(dir.clone(), m, bytes)
                    .await
                    .map_err(SendError::transient)
            }
            Transport::Smtp(smtp) => {
                let email = build(from, m).map_err(SendError::permanent)?;
                smtp.send(email).await.map(|_| ()).map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: format!("SMTP: {e}"),
                })
            }
        }
    }
}

/// The RFC 5322 message for an outbox row: UTF-8 plain text, base64 body.
pub fn build(from: &Mailbox, m: &OutboxMessage) -> Result<lettre::Message, String> {
    let address: Address = m
        .to_address
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let name = Some(m.to_name.clone()).filter(|n| !n.trim().is_empty());
    let domain = from.email.domain().to_string();
    lettre::Message::builder()
        .from(from.clone())
        .to(Mailbox::new(name, address))
        .subject(m.subject.clone())
        .date(SystemTime::from(m.created_at))
        .message_id(Some(format!("<{}@{domain}>", m.id.simple())))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(KIND_HEADER),
            m.kind.clone(),
        ))
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::Base64)
        .body(m.body_text.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Writes `<created>-<id>.eml` through a temporary file and a rename, so readers never
/// see half a message and a retry after a crash replaces rather than duplicates it.
async fn write_eml(dir: PathBuf, m: &OutboxMessage, bytes: Vec<u8>) -> Result<(), String> {
    let name = format!(
        "{}-{}.eml",
        m.created_at.format("%Y%m%dT%H%M%S%.6fZ"),
        m.id.simple()
    );
    let tmp_name = format!(".{}.tmp", m.id.simple());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(tmp_name);
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, dir.join(name))?;
        Ok(())
    })
    .await
    .map_err(|e| format!("file transport task: {e}"))?
    .map_err(|e| format!("file transport: {e}"))
}

/// The delivery side, kept in [`crate::core::Core`].
pub struct NotifyState {
    /// Wakes the worker (a message was queued).
    pub wake: Arc<Notify>,
    pub(super) transport: Transport,
    pub(super) from: Mailbox,
    stopped: AtomicBool,
    /// Turns true on shutdown: a send under way is abandoned.
    stop: tokio::sync::watch::Sender<bool>,
    /// The delivery worker, awaited on shutdown.
    worker: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl NotifyState {
    pub fn new(cfg: &Config) -> anyhow::Result<NotifyState> {
        let from: Mailbox = cfg
            .notify
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("notify.from: {e}"))?;
        Ok(NotifyState {
            wake: Arc::new(Notify::new()),
            transport: Transport::from_config(cfg)?,
            from,
            stopped: AtomicBool::new(false),
            stop: tokio::sync::watch::channel(false).0,
            worker: std::sync::Mutex::new(None),
        })
    }

    pub fn transport_name(&self) -> &'static str {
        self.transport.name()
    }

    /// Stops the worker (the server is shutting down): a send under way is
    /// abandoned, and the claims it holds on messages not sent are given back (one
    /// abandoned mid-send may have arrived: it goes again with the same
    /// `Message-ID`, for the receiving side to drop). Waits at most `wait` for it.
    pub async fn shutdown(&self, wait: std::time::Duration) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.send_replace(true);
        self.wake.notify_one();
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = worker {
            if tokio::time::timeout(wait, w).await.is_err() {
                tracing::warn!("the notification worker did not stop in time");
            }
        }
    }

    pub(super) fn set_worker(&self, worker: tokio::task::JoinHandle<()>) {
        *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(worker);
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves when shutdown begins (at once if it has).
    pub(super) async fn stopping(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
