//! The sections of [`Config`](super::Config), each with its built-in defaults
//! (documented key by key in `config/monban.toml`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Port 0 picks a free port (tests).
    pub listen: String,
    /// Public base URL of this IdP; used as the OIDC issuer and SAML entity base.
    pub issuer: String,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// On SIGTERM/SIGINT, seconds to keep accepting and answering (with `/readyz`
    /// answering 503, so a load balancer stops sending) before the listener closes;
    /// then in-flight requests get `shutdown_timeout_secs` to finish.
    pub drain_secs: u64,
    /// Seconds a client has to send a whole request body; then 408 and the
    /// connection closes.
    pub body_timeout_secs: u64,
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Native TLS (HTTPS without a reverse proxy): PEM files, reloaded on change.
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). Empty: plain HTTP.
    pub cert_file: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// Seconds between checks of the files for a renewed certificate.
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: String::new(),
            key_file: String::new(),
            reload_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// Another address for `/metrics` (e.g. `127.0.0.1:9090`); empty: the main listener.
    pub listen: String,
    /// If set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub token: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            // A host name, not 127.0.0.1: WebAuthn (passkeys) needs one, and browsers
            // treat localhost as a secure context.
            issuer: "http://localhost:8080".into(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 10,
            drain_secs: 2,
            body_timeout_secs: 10,
            trusted_proxies: Vec::new(),
            tls: TlsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`. Empty: `sqlite://<data.dir>/monban.db`.
    pub url: String,
    /// PostgreSQL only: schema to use (created if missing). Empty: the server default.
    pub schema: String,
    pub max_connections: u32,
    /// Seconds to wait for a connection at start-up before giving up.
    pub connect_timeout_secs: u64,
    /// Milliseconds a request waits for a database connection while serving; then
    /// it is answered 503 with `Retry-After` (the database is down or saturated).
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            schema: String::new(),
            max_connections: 16,
            connect_timeout_secs: 5,
            acquire_timeout_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Directory holding signing keys (created with mode 0700, files 0600).
    pub dir: PathBuf,
    /// After `keys rotate`, seconds a new key is only published (JWKS) before it signs.
    pub publish_before_use_secs: i64,
    /// Seconds between checks of the key manifest for keys rotated by another process.
    pub reload_interval_secs: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            dir: "keys".into(),
            publish_before_use_secs: 3600,
            reload_interval_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Directory for the embedded SQLite database and other local state.
    pub dir: PathBuf,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self { dir: "data".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A browser session ends after this many seconds without a request.
    pub idle_timeout_secs: i64,
    /// A browser session ends this many seconds after sign-in, whatever happens.
    pub absolute_lifetime_secs: i64,
    pub cookie_name: String,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 2 * 3600,
            absolute_lifetime_secs: 24 * 3600,
            cookie_name: "monban_session".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub max_length: usize,
    /// Refuse passwords found in the common-password dictionary (zxcvbn's list).
    pub reject_common: bool,
    /// Minimum zxcvbn strength score 0..=4 (0 disables the check).
    pub min_score: u8,
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Concurrent hashes; 0 = number of cores.
    pub hash_concurrency: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_length: 10,
            max_length: 256,
            reject_common: true,
            min_score: 2,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_concurrency: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Consecutive failed sign-ins that lock an account; 0 disables lockout.
    pub max_failures: u32,
    /// true: a locked account stays locked until an admin unlocks it.
    pub permanent: bool,
    /// First temporary lock, in seconds.
    pub lock_duration_secs: i64,
    /// Each further lock lasts this many times longer than the one before.
    pub backoff_multiplier: u32,
    /// Longest temporary lock, in seconds.
    pub max_lock_duration_secs: i64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            permanent: false,
            lock_duration_secs: 300,
            backoff_multiplier: 2,
            max_lock_duration_secs: 24 * 3600,
        }
    }
}

/// Two-step sign-in (TOTP and backup codes) and the organisation's MFA policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Organisation policy: users without MFA must enrol at their next sign-in before
    /// any SSO completes.
    pub required: bool,
    /// With `required`: days a user may still skip enrolment, counted from the first
    /// sign-in at which the policy asked them to enrol. 0 = no grace.
    pub grace_period_days: u32,
    /// Issuer shown by authenticator apps (the `otpauth://` label and `issuer=`).
    pub issuer: String,
    /// Backup codes created at enrolment and at each regeneration.
    pub backup_code_count: u32,
    /// Backup code characters: `base32` (Crockford: 0-9 a-z without i l o u, 5 bits
    /// each) or `digits` (3.3 bits each).
    pub backup_code_alphabet: String,
    /// Characters per backup code; length × bits per character must be at least 40.
    pub backup_code_length: u32,
    /// Show backup codes in groups of this many characters joined by `-`; 0 = no groups.
    pub backup_code_group: u32,
    /// Wrong codes allowed per half-finished sign-in; then it is dropped and counts
    /// as one failed sign-in towards `lockout.max_failures`.
    pub max_attempts: u32,
    /// Seconds a half-finished sign-in (password done, code pending) stays usable.
    pub challenge_lifetime_secs: i64,
    /// Seconds an enrolment page (its new, unconfirmed key) stays usable.
    pub enrollment_lifetime_secs: i64,
    /// Changing MFA needs a password entered (sign-in or re-entry) this many seconds ago at most.
    pub reauth_window_secs: i64,
    /// Passkeys and security keys (WebAuthn): as a second step, for passwordless sign-in
    /// and at enrolment. The relying-party id is the issuer's host; when that is an IP
    /// address passkeys stay off whatever this says (the start-up log says why).
    pub passkeys: bool,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            required: false,
            grace_period_days: 0,
            issuer: "Monban".into(),
            backup_code_count: 10,
            backup_code_alphabet: "base32".into(),
            backup_code_length: 10,
            backup_code_group: 5,
            max_attempts: 5,
            challenge_lifetime_secs: 300,
            enrollment_lifetime_secs: 900,
            reauth_window_secs: 300,
            passkeys: true,
        }
    }
}

impl MfaConfig {
    /// Bits of entropy per backup-code character for the configured alphabet.
    pub fn backup_code_bits_per_char(&self) -> Option<f64> {
        match self.backup_code_alphabet.as_str() {
            "base32" => Some(5.0),
            "digits" => Some(10f64.log2()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Authorization codes are single-use and expire after this many seconds.
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// A confidential client that retries a refresh whose answer it lost (a timeout,
    /// a 5xx on the way) within this many seconds of the rotation gets a new token
    /// instead of having the grant revoked as a replay, as long as the token it was
    /// not given was never used (that one is retired). Public clients get no
    /// window. 0 = every second use is a replay.
    pub refresh_retry_grace_secs: i64,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            refresh_retry_grace_secs: 10,
        }
    }
}

impl TokensConfig {
    /// The longest time a signed token can stay valid: keys are retired only after it.
    pub fn longest_signed_lifetime_secs(&self) -> i64 {
        self.access_token_ttl_secs.max(self.id_token_ttl_secs)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportConfig {
    /// Default lifetime of a support grant, in seconds.
    pub grant_lifetime_secs: i64,
    /// Longest lifetime a user may choose, in seconds.
    pub max_grant_lifetime_secs: i64,
    /// Grants a user may issue in any rolling 24 hours.
    pub daily_limit: u32,
    /// Seconds an unanswered admin-approval request stays open.
    pub request_expiry_secs: i64,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            grant_lifetime_secs: 24 * 3600,
            max_grant_lifetime_secs: 7 * 24 * 3600,
            daily_limit: 10,
            request_expiry_secs: 12 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Cache clients, SAML SPs, sessions and users in memory (invalidated by the
    /// revocation bus). Off: every lookup reads the database.
    pub enabled: bool,
    /// Longest an entry is kept, in seconds: a safety net behind the bus.
    pub ttl_secs: u64,
    /// Entries per cache.
    pub max_sessions: u64,
    pub max_users: u64,
    pub max_clients: u64,
    pub max_sps: u64,
    /// PostgreSQL: LISTEN for other replicas' invalidations. Turn off only when a
    /// single process uses the database.
    pub listen: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_secs: 60,
            max_sessions: 100_000,
            max_users: 100_000,
            max_clients: 10_000,
            max_sps: 10_000,
            listen: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// A deleted user can be restored for this many days, then is purged.
    pub deleted_user_days: u32,
    /// Sign-in records and ended sessions are kept this many days.
    pub history_days: u32,
    /// Seconds between purge runs.
    pub purge_interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            deleted_user_days: 7,
            history_days: 90,
            purge_interval_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Largest page of users, sessions or audit events an admin list returns.
    pub max_page_size: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { max_page_size: 200 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Seconds to wait for a client's back-channel logout endpoint.
    pub backchannel_timeout_secs: u64,
    /// Seconds a device code (RFC 8628) lives while the user has not answered.
    pub device_code_lifetime_secs: i64,
    /// Minimum seconds between a device's token polls (`slow_down` adds 5).
    pub device_poll_interval_secs: i64,
    /// Seconds a user-approved device request of a `requires_admin_approval` client
    /// waits for an administrator.
    pub device_admin_approval_secs: i64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            backchannel_timeout_secs: 5,
            device_code_lifetime_secs: 600,
            device_poll_interval_secs: 5,
            device_admin_approval_secs: 43_200,
        }
    }
}

/// Outgoing notifications (e-mail to users and admins) and their delivery worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// `log` (only logged), `file` (one `.eml` per message in `file_dir`) or `smtp`.
    pub transport: String,
    /// `file` transport: directory for the `.eml` files. Empty: `<data.dir>/outbox`.
    pub file_dir: PathBuf,
    /// Sender (`From:`), e.g. `Monban <no-reply@example.com>`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// Empty: no SMTP authentication.
    pub smtp_username: String,
    pub smtp_password: String,
    /// `starttls` (required), `tls` (implicit TLS, usually port 465) or `none`.
    pub smtp_tls: String,
    /// Seconds to wait for the SMTP server.
    pub smtp_timeout_secs: u64,
    /// Delivery attempts before a message is given up (kept as failed).
    pub max_attempts: u32,
    /// Wait after the first failed attempt, in seconds; doubled after each further one.
    pub retry_base_secs: i64,
    /// Longest wait between attempts, in seconds.
    pub retry_max_secs: i64,
    /// Seconds a worker holds a claimed message before another replica may take it.
    pub claim_secs: i64,
    /// Milliseconds between looks at the queue when nothing wakes the worker.
    pub poll_interval_ms: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            transport: "log".into(),
            file_dir: PathBuf::new(),
            from: "Monban <no-reply@localhost>".into(),
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_tls: "starttls".into(),
            smtp_timeout_secs: 30,
            max_attempts: 8,
            retry_base_secs: 30,
            retry_max_secs: 3600,
            claim_secs: 120,
            poll_interval_ms: 1000,
        }
    }
}

impl NotifyConfig {
    /// The directory of the `file` transport.
    pub fn effective_file_dir(&self, data_dir: &Path) -> PathBuf {
        if self.file_dir.as_os_str().is_empty() {
            data_dir.join("outbox")
        } else {
            self.file_dir.clone()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamlConfig {
    /// Seconds an assertion (and its bearer confirmation) stays valid.
    pub assertion_lifetime_secs: i64,
    /// Seconds `NotBefore` is set back to allow for clock skew at the SP.
    pub clock_skew_secs: i64,
    /// Seconds an AuthnRequest may wait for the user to sign in; request IDs are
    /// remembered (replay refusal) this long.
    pub request_lifetime_secs: i64,
    /// Seconds from now to the metadata `validUntil`.
    pub metadata_valid_secs: i64,
    /// Metadata `cacheDuration` in seconds.
    pub metadata_cache_secs: i64,
    /// Longest RelayState accepted, in bytes (SAML bindings §3.4.3 says 80).
    pub relay_state_max_bytes: usize,
    /// Technical contact in the metadata (omitted when empty).
    pub contact_email: String,
}

impl Default for SamlConfig {
    fn default() -> Self {
        Self {
            assertion_lifetime_secs: 300,
            clock_skew_secs: 60,
            request_lifetime_secs: 600,
            metadata_valid_secs: 7 * 86400,
            metadata_cache_secs: 3600,
            relay_state_max_bytes: 80,
            contact_email: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Locale when neither `ui_locales`, the cookie nor `Accept-Language` chooses: a language
    /// of `src/i18n/locales/` (`ja` or `en`).
    pub default_locale: String,
    /// Product name shown on pages.
    pub product_name: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            default_locale: "en".into(),
            product_name: "Monban".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// tracing filter, e.g. `info` or `monban=debug,actix_web=info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}
