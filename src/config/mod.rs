//! Typed configuration: built-in defaults < TOML file < `MONBAN_<SECTION>__<KEY>` env.
//!
//! Every key is documented with its default in `config/monban.toml`. Unknown keys and
//! values of the wrong type stop start-up with a message that names the key.

use serde::{Deserialize, Serialize};

mod load;
mod ratelimit;
mod sections;
mod validate;

pub use ratelimit::{Limit, RatelimitConfig};
pub use sections::{
    AdminConfig, CacheConfig, DataConfig, DatabaseConfig, KeysConfig, LockoutConfig, LogConfig,
    MetricsConfig, MfaConfig, NotifyConfig, OidcConfig, PasswordConfig, RetentionConfig,
    SamlConfig, ServerConfig, SessionConfig, SupportConfig, TlsConfig, TokensConfig, UiConfig,
};

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
    pub metrics: MetricsConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("configuration: {0}")]
    Other(String),
}

impl Config {
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
