//! Typed configuration: built-in defaults < TOML file < `MONBAN_<SECTION>__<KEY>` env.
//!
//! Every key is documented with its default in `config/monban.toml`. Unknown keys and
//! values of the wrong type stop start-up with a message that names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

mod ratelimit;
pub use ratelimit::{Limit, RatelimitConfig};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub data: DataConfig,
    pub session: SessionConfig,
    pub password: PasswordConfig,
    pub lockout: LockoutConfig,
    pub mfa: MfaConfig,
    pub tokens: TokensConfig,
    pub oidc: OidcConfig,
    pub retention: RetentionConfig,
    pub admin: AdminConfig,
    pub notify: NotifyConfig,
    pub saml: SamlConfig,
    pub ratelimit: RatelimitConfig,
    pub support: SupportConfig,
    pub cache: CacheConfig,
    pub ui: UiConfig,
    pub log: LogConfig,
}

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
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            issuer: "http://127.0.0.1:8080".into(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 10,
            trusted_proxies: Vec::new(),
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
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            schema: String::new(),
            max_connections: 16,
            connect_timeout_secs: 5,
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

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Key {
                key: format!("mfa.{key}"),
                message: message.into(),
            })
        };
        if self.issuer.trim().is_empty() || self.issuer.contains(':') || self.issuer.len() > 64 {
            return bad("issuer", "must be 1-64 characters without `:`");
        }
        if !(1..=100).contains(&self.backup_code_count) {
            return bad("backup_code_count", "must be 1..=100");
        }
        let Some(bits) = self.backup_code_bits_per_char() else {
            return bad("backup_code_alphabet", "must be `base32` or `digits`");
        };
        if self.backup_code_length > 64 {
            return bad("backup_code_length", "must be at most 64");
        }
        if f64::from(self.backup_code_length) * bits < 40.0 {
            return bad(
                "backup_code_length",
                "too short: each code needs at least 40 bits (base32: 8 characters, digits: 13)",
            );
        }
        if self.backup_code_group == 1 {
            return bad("backup_code_group", "must be 0 (no groups) or at least 2");
        }
        if self.max_attempts == 0 || self.max_attempts > 20 {
            return bad("max_attempts", "must be 1..=20");
        }
        for (k, v) in [
            ("challenge_lifetime_secs", self.challenge_lifetime_secs),
            ("enrollment_lifetime_secs", self.enrollment_lifetime_secs),
            ("reauth_window_secs", self.reauth_window_secs),
        ] {
            if v <= 0 {
                return bad(k, "must be positive");
            }
        }
        Ok(())
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
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
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
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Key {
                key: format!("notify.{key}"),
                message: message.into(),
            })
        };
        if !matches!(self.transport.as_str(), "log" | "file" | "smtp") {
            return bad("transport", "must be `log`, `file` or `smtp`");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "from",
                "must be an address like `Monban <no-reply@example.com>`",
            );
        }
        if !matches!(self.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return bad("smtp_tls", "must be `starttls`, `tls` or `none`");
        }
        if self.transport == "smtp" && self.smtp_host.trim().is_empty() {
            return bad("smtp_host", "must be set for the smtp transport");
        }
        if self.smtp_username.is_empty() != self.smtp_password.is_empty() {
            return bad(
                "smtp_password",
                "set both smtp_username and smtp_password, or neither",
            );
        }
        if self.smtp_timeout_secs == 0 {
            return bad("smtp_timeout_secs", "must be at least 1");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1");
        }
        if self.retry_base_secs <= 0 {
            return bad("retry_base_secs", "must be positive");
        }
        if self.retry_max_secs < self.retry_base_secs {
            return bad("retry_max_secs", "must be at least notify.retry_base_secs");
        }
        if self.claim_secs <= self.smtp_timeout_secs as i64 {
            return bad("claim_secs", "must be longer than notify.smtp_timeout_secs");
        }
        if self.poll_interval_ms == 0 {
            return bad("poll_interval_ms", "must be at least 1");
        }
        Ok(())
    }

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
    /// Locale when neither `ui_locales`, the cookie nor `Accept-Language` chooses: `ja` or `en`.
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

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("configuration: {0}")]
    Other(String),
}

impl Config {
    /// Loads defaults < `file` (if any) < environment (`MONBAN_SECTION__KEY`).
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Other(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("MONBAN_") && k.contains("__"))
            .collect();
        fig = fig.merge(env_provider(env));
        let cfg: Config = fig.extract().map_err(|e| {
            let e = e.into_iter().next().expect("figment error has one entry");
            let key = if e.path.is_empty() {
                "(root)".to_string()
            } else {
                e.path.join(".")
            };
            let key = match &e.kind {
                figment::error::Kind::UnknownField(f, _) => {
                    if e.path.is_empty() {
                        f.clone()
                    } else {
                        format!("{key}.{f}")
                    }
                }
                _ => key,
            };
            let env_hint = format!("MONBAN_{}", key.to_uppercase().replace('.', "__"));
            ConfigError::Key {
                message: format!("{} (from the file, or the env var {env_hint})", e.kind),
                key,
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| {
            Err(ConfigError::Key {
                key: key.into(),
                message,
            })
        };
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "server.listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:8080",
                    self.server.listen
                ),
            );
        }
        match url::Url::parse(&self.server.issuer) {
            Ok(u)
                if (u.scheme() == "https" || u.scheme() == "http")
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.host().is_some() => {}
            _ => {
                return bad(
                    "server.issuer",
                    format!(
                        "`{}` must be an http(s) URL without query or fragment",
                        self.server.issuer
                    ),
                )
            }
        }
        if self.server.body_limit_bytes < 1024 {
            return bad("server.body_limit_bytes", "must be at least 1024".into());
        }
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return bad(
                "database.url",
                format!("`{url}` must start with sqlite: or postgres:"),
            );
        }
        if !self.database.schema.is_empty()
            && !self
                .database
                .schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(
                "database.schema",
                "only letters, digits and _ are allowed".into(),
            );
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1".into());
        }
        if self.session.idle_timeout_secs <= 0 {
            return bad("session.idle_timeout_secs", "must be positive".into());
        }
        if self.session.absolute_lifetime_secs < self.session.idle_timeout_secs {
            return bad(
                "session.absolute_lifetime_secs",
                "must be at least session.idle_timeout_secs".into(),
            );
        }
        if self.session.cookie_name.is_empty()
            || !self
                .session
                .cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad(
                "session.cookie_name",
                "must be letters, digits, _ or -".into(),
            );
        }
        if self.password.min_length < 8 {
            return bad("password.min_length", "must be at least 8".into());
        }
        if self.password.max_length < self.password.min_length || self.password.max_length > 1024 {
            return bad(
                "password.max_length",
                "must be between password.min_length and 1024".into(),
            );
        }
        if self.password.min_score > 4 {
            return bad("password.min_score", "must be 0..=4".into());
        }
        if argon2::Params::new(
            self.password.argon2_memory_kib,
            self.password.argon2_iterations,
            self.password.argon2_parallelism,
            None,
        )
        .is_err()
        {
            return bad(
                "password.argon2_memory_kib",
                "argon2 parameters out of range (memory >= 8*parallelism KiB, iterations >= 1, parallelism >= 1)".into(),
            );
        }
        if self.lockout.lock_duration_secs <= 0 {
            return bad("lockout.lock_duration_secs", "must be positive".into());
        }
        if self.lockout.backoff_multiplier == 0 {
            return bad("lockout.backoff_multiplier", "must be at least 1".into());
        }
        if self.lockout.max_lock_duration_secs < self.lockout.lock_duration_secs {
            return bad(
                "lockout.max_lock_duration_secs",
                "must be at least lockout.lock_duration_secs".into(),
            );
        }
        self.mfa.validate()?;
        for (k, v) in [
            (
                "tokens.access_token_ttl_secs",
                self.tokens.access_token_ttl_secs,
            ),
            ("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs),
            (
                "tokens.refresh_token_ttl_secs",
                self.tokens.refresh_token_ttl_secs,
            ),
        ] {
            if v <= 0 {
                return bad(k, "must be positive".into());
            }
        }
        if self.support.grant_lifetime_secs <= 0
            || self.support.grant_lifetime_secs > self.support.max_grant_lifetime_secs
        {
            return bad(
                "support.grant_lifetime_secs",
                "must be 1..=support.max_grant_lifetime_secs".into(),
            );
        }
        if self.support.daily_limit == 0 {
            return bad("support.daily_limit", "must be at least 1".into());
        }
        if self.retention.deleted_user_days == 0 {
            return bad("retention.deleted_user_days", "must be at least 1".into());
        }
        if self.retention.history_days == 0 {
            return bad("retention.history_days", "must be at least 1".into());
        }
        if self.retention.purge_interval_secs == 0 {
            return bad("retention.purge_interval_secs", "must be at least 1".into());
        }
        if self.admin.max_page_size == 0 || self.admin.max_page_size > 10_000 {
            return bad("admin.max_page_size", "must be 1..=10000".into());
        }
        for (k, v) in [
            (
                "saml.assertion_lifetime_secs",
                self.saml.assertion_lifetime_secs,
            ),
            (
                "saml.request_lifetime_secs",
                self.saml.request_lifetime_secs,
            ),
            ("saml.metadata_valid_secs", self.saml.metadata_valid_secs),
            ("saml.metadata_cache_secs", self.saml.metadata_cache_secs),
        ] {
            if v <= 0 {
                return bad(k, "must be positive".into());
            }
        }
        if !(0..=600).contains(&self.saml.clock_skew_secs) {
            return bad("saml.clock_skew_secs", "must be between 0 and 600".into());
        }
        if self.saml.relay_state_max_bytes < 80 {
            return bad("saml.relay_state_max_bytes", "must be at least 80".into());
        }
        if self.oidc.backchannel_timeout_secs == 0 {
            return bad("oidc.backchannel_timeout_secs", "must be at least 1".into());
        }
        for (k, v, max) in [
            (
                "oidc.device_code_lifetime_secs",
                self.oidc.device_code_lifetime_secs,
                86_400,
            ),
            (
                "oidc.device_poll_interval_secs",
                self.oidc.device_poll_interval_secs,
                60,
            ),
            (
                "oidc.device_admin_approval_secs",
                self.oidc.device_admin_approval_secs,
                30 * 86_400,
            ),
        ] {
            if !(1..=max).contains(&v) {
                return bad(k, format!("must be between 1 and {max}"));
            }
        }
        self.notify.validate()?;
        self.ratelimit.validate()?;
        if let Err(e) = crate::http::client_ip::TrustedProxies::parse(&self.server.trusted_proxies)
        {
            return bad("server.trusted_proxies", e);
        }
        if self.keys.publish_before_use_secs < 0 {
            return bad(
                "keys.publish_before_use_secs",
                "must not be negative".into(),
            );
        }
        if self.keys.reload_interval_secs == 0 {
            return bad("keys.reload_interval_secs", "must be at least 1".into());
        }
        if !matches!(self.ui.default_locale.as_str(), "ja" | "en") {
            return bad("ui.default_locale", "must be `ja` or `en`".into());
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format", "must be `text` or `json`".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad(
                "log.level",
                format!("`{}` is not a valid filter", self.log.level),
            );
        }
        Ok(())
    }

    /// The effective database URL (the embedded SQLite file when none is configured).
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}/monban.db", self.data.dir.display())
        } else {
            self.database.url.clone()
        }
    }

    pub fn is_postgres(&self) -> bool {
        let u = self.database_url();
        u.starts_with("postgres:") || u.starts_with("postgresql:")
    }

    /// The issuer without a trailing slash.
    pub fn issuer(&self) -> &str {
        self.server.issuer.trim_end_matches('/')
    }

    pub fn secure_cookies(&self) -> bool {
        self.server.issuer.starts_with("https://")
    }

    /// A cookie's name as sent: with the `__Host-` prefix when cookies are secure, so
    /// that a sibling (sub)domain cannot plant or overwrite it (browsers accept such a
    /// cookie only from this host, Secure, `Path=/`, without `Domain`).
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure_cookies() && !base.starts_with("__Host-") {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// The session cookie's name (see [`Config::cookie_name`]).
    pub fn session_cookie_name(&self) -> String {
        self.cookie_name(&self.session.cookie_name)
    }
}

/// `MONBAN_SERVER__LISTEN=…` → `server.listen`. Values are parsed like figment's
/// `Env` provider does (numbers and booleans keep their type, the rest are strings).
fn env_provider(vars: Vec<(String, String)>) -> Serialized<figment::value::Dict> {
    use figment::value::{Dict, Value};
    let mut root = Dict::new();
    for (k, v) in vars {
        let path: Vec<String> = k["MONBAN_".len()..]
            .split("__")
            .map(|p| p.to_lowercase())
            .collect();
        let value: Value = v.parse().unwrap_or_else(|_| Value::from(v.clone()));
        // Strings that merely look like numbers stay usable: figment coerces when extracting.
        insert_path(&mut root, &path, value);
    }
    fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
        if path.len() == 1 {
            dict.insert(path[0].clone(), value);
            return;
        }
        let entry = dict
            .entry(path[0].clone())
            .or_insert_with(|| Value::from(Dict::new()));
        if let Value::Dict(_, inner) = entry {
            insert_path(inner, &path[1..], value);
        }
    }
    Serialized::defaults(root)
}
