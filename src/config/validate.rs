//! Checks of a loaded [`Config`]: the first key with a value out of range stops
//! start-up with a message that names it.

use std::net::SocketAddr;

use super::{Config, ConfigError, MfaConfig, NotifyConfig};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
        if !(50..=60_000).contains(&self.database.acquire_timeout_ms) {
            return bad("database.acquire_timeout_ms", "must be 50..=60000".into());
        }
        if self.server.body_timeout_secs == 0 {
            return bad("server.body_timeout_secs", "must be at least 1".into());
        }
        if self.server.tls.cert_file.is_empty() != self.server.tls.key_file.is_empty() {
            return bad(
                "server.tls",
                "cert_file and key_file go together: set both or neither".into(),
            );
        }
        if !self.server.tls.cert_file.is_empty() && !self.server.issuer.starts_with("https://") {
            return bad(
                "server.issuer",
                "must be an https:// URL when server.tls serves HTTPS".into(),
            );
        }
        if self.server.tls.reload_interval_secs == 0 {
            return bad(
                "server.tls.reload_interval_secs",
                "must be at least 1".into(),
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
        if !(0..=300).contains(&self.tokens.refresh_retry_grace_secs) {
            return bad("tokens.refresh_retry_grace_secs", "must be 0..=300".into());
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
        if !crate::i18n::Locale::all().any(|l| l.tag() == self.ui.default_locale) {
            let tags: Vec<String> = crate::i18n::Locale::all()
                .map(|l| format!("`{}`", l.tag()))
                .collect();
            return bad(
                "ui.default_locale",
                format!("must be one of {}", tags.join(", ")),
            );
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
}

impl MfaConfig {
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
}
