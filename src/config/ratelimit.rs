//! `[ratelimit]`: the limits enforced by [`crate::ratelimit`].

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// One rate limit: `requests` per `period_secs` on average (GCRA: one request is
/// replenished every `period_secs / requests`), and at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub requests: u32,
    pub period_secs: u64,
    pub burst: u32,
}

impl Limit {
    pub const fn new(requests: u32, period_secs: u64, burst: u32) -> Limit {
        Limit {
            requests,
            period_secs,
            burst,
        }
    }
}

/// Rate limits per client IP, account, client and admin credential (see `src/ratelimit.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatelimitConfig {
    /// false: every limit is off.
    pub enabled: bool,
    /// Seconds between sweeps that forget keys whose limit is back to full.
    pub sweep_interval_secs: u64,
    /// Keys tracked per limit before a sweep is forced early.
    pub max_keys: usize,
    /// `POST /login`, every attempt per client IP (IPv6: per /64): a generous
    /// ceiling against floods, well above what an office behind one address needs.
    pub login_ip: Limit,
    /// `POST /login`, failed sign-ins per client IP (successes cost nothing).
    pub login_ip_failures: Limit,
    /// `POST /login`, per normalised login name.
    pub login_account: Limit,
    /// Second step (authenticator code or backup code), per client IP.
    pub mfa_ip: Limit,
    /// Second step, per user of the half-finished sign-in.
    pub mfa_account: Limit,
    /// `/token`, per client IP (counted before client authentication).
    pub token_ip: Limit,
    /// `/token`, per authenticated client.
    pub token_client: Limit,
    /// `/introspect`, per authenticated client.
    pub introspect_client: Limit,
    /// Admin API, per credential presented.
    pub admin_credential: Limit,
    /// Support grant creation, per user. Never stricter than `support.daily_limit`
    /// (see [`RatelimitConfig::with_rules`]).
    pub support_grant_user: Limit,
    /// Device-flow user codes entered at `/device`, per signed-in user.
    pub device_user_code: Limit,
}

impl Default for RatelimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sweep_interval_secs: 60,
            max_keys: 100_000,
            login_ip: Limit::new(300, 60, 100),
            login_ip_failures: Limit::new(10, 60, 20),
            login_account: Limit::new(5, 60, 5),
            mfa_ip: Limit::new(10, 60, 20),
            mfa_account: Limit::new(5, 60, 10),
            token_ip: Limit::new(6000, 60, 600),
            token_client: Limit::new(3000, 60, 300),
            introspect_client: Limit::new(6000, 60, 600),
            admin_credential: Limit::new(600, 60, 100),
            support_grant_user: Limit::new(20, 3600, 20),
            device_user_code: Limit::new(20, 600, 10),
        }
    }
}

impl RatelimitConfig {
    /// Every limit with its key name.
    pub fn limits(&self) -> [(&'static str, Limit); 11] {
        [
            ("login_ip", self.login_ip),
            ("login_ip_failures", self.login_ip_failures),
            ("login_account", self.login_account),
            ("mfa_ip", self.mfa_ip),
            ("mfa_account", self.mfa_account),
            ("token_ip", self.token_ip),
            ("token_client", self.token_client),
            ("introspect_client", self.introspect_client),
            ("admin_credential", self.admin_credential),
            ("support_grant_user", self.support_grant_user),
            ("device_user_code", self.device_user_code),
        ]
    }

    /// The limits as enforced: a limiter is never stricter than the rule it guards.
    /// `support_grant_user` allows at least twice `support.daily_limit` at once and
    /// replenishes at least that many per 24 hours, so users meet the daily limit and
    /// its own message (on the 11th link, and on a few retries) before any generic 429.
    pub fn with_rules(&self, support_daily_limit: u32) -> RatelimitConfig {
        let floor = support_daily_limit.saturating_mul(2);
        let mut r = self.clone();
        let l = &mut r.support_grant_user;
        l.burst = l.burst.max(floor);
        if u64::from(l.requests) * 86_400 < u64::from(floor) * l.period_secs {
            l.requests = floor;
            l.period_secs = 86_400;
        }
        r
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Key {
                key: format!("ratelimit.{key}"),
                message: message.into(),
            })
        };
        if self.sweep_interval_secs == 0 {
            return bad("sweep_interval_secs", "must be at least 1");
        }
        if self.max_keys < 100 {
            return bad("max_keys", "must be at least 100");
        }
        for (name, l) in self.limits() {
            if l.requests == 0 {
                return bad(&format!("{name}.requests"), "must be at least 1");
            }
            if l.period_secs == 0 || l.period_secs > 86_400 {
                return bad(&format!("{name}.period_secs"), "must be 1..=86400");
            }
            if l.burst == 0 {
                return bad(&format!("{name}.burst"), "must be at least 1");
            }
        }
        Ok(())
    }
}
