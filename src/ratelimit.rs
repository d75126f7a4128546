//! Rate limits: one keyed GCRA limiter ([`governor`]) per [`Action`], keyed by a
//! digest of the key (client IP, login name, client id, credential…), configured in
//! `[ratelimit]`. A refused request gets `429` with `Retry-After` (whole seconds,
//! rounded up) in its endpoint's own format: [`AppError::too_many`] (problem+json, or
//! a page for browsers), or `temporarily_unavailable` for OAuth endpoints.
//!
//! Failed sign-ins per client IP (`login_ip_failures`) have a limiter of their own
//! ([`Limits::check_login_failures`] asks, [`Limits::login_failed`] spends): a failure
//! is known only after the attempt, and successes must cost nothing.
//!
//! Keys are stored as 128-bit digests, so an entry costs the same whatever the key,
//! and no login name or address is kept in memory. A sweep (every
//! `ratelimit.sweep_interval_secs`, and early when a limiter holds more than
//! `ratelimit.max_keys`) forgets keys whose limit is back to full, so memory follows
//! the number of clients active within one period.
//!
//! Time comes from the application clock ([`crate::clock::Clock::elapsed`]):
//! monotonic in production, the fake clock in tests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;
use crate::config::{Limit, RatelimitConfig};
use crate::error::{AppError, AppResult};

/// What is being limited; each has its own limit in `[ratelimit]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /login`, every attempt per client IP: a generous ceiling against floods
    /// (failures per IP are [`Limits::check_login_failures`]).
    LoginIp,
    /// `POST /login`, per normalised login name.
    LoginAccount,
    /// Second sign-in step (code or backup code), per client IP.
    MfaIp,
    /// Second sign-in step, per user of the half-finished sign-in.
    MfaAccount,
    /// `/token`, per client IP.
    TokenIp,
    /// `/token`, per authenticated client id.
    TokenClient,
    /// `/introspect`, per authenticated client id.
    IntrospectClient,
    /// Admin API, per credential presented.
    AdminCredential,
    /// Support grant creation, per user.
    SupportGrantUser,
    /// Device-flow user codes entered, per signed-in user (guessing codes).
    DeviceUserCode,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::LoginIp,
        Action::LoginAccount,
        Action::MfaIp,
        Action::MfaAccount,
        Action::TokenIp,
        Action::TokenClient,
        Action::IntrospectClient,
        Action::AdminCredential,
        Action::SupportGrantUser,
        Action::DeviceUserCode,
    ];

    /// The key of its limit in `[ratelimit]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::LoginIp => "login_ip",
            Action::LoginAccount => "login_account",
            Action::MfaIp => "mfa_ip",
            Action::MfaAccount => "mfa_account",
            Action::TokenIp => "token_ip",
            Action::TokenClient => "token_client",
            Action::IntrospectClient => "introspect_client",
            Action::AdminCredential => "admin_credential",
            Action::SupportGrantUser => "support_grant_user",
            Action::DeviceUserCode => "device_user_code",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn limit(self, cfg: &RatelimitConfig) -> Limit {
        match self {
            Action::LoginIp => cfg.login_ip,
            Action::LoginAccount => cfg.login_account,
            Action::MfaIp => cfg.mfa_ip,
            Action::MfaAccount => cfg.mfa_account,
            Action::TokenIp => cfg.token_ip,
            Action::TokenClient => cfg.token_client,
            Action::IntrospectClient => cfg.introspect_client,
            Action::AdminCredential => cfg.admin_credential,
            Action::SupportGrantUser => cfg.support_grant_user,
            Action::DeviceUserCode => cfg.device_user_code,
        }
    }
}

/// governor's view of the application clock.
#[derive(Clone)]
pub struct LimiterClock(SharedClock);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

type Keyed = RateLimiter<u128, DashMapStateStore<u128>, LimiterClock, NoOpMiddleware<Duration>>;

/// The rate limiters of one process (`AppState::limits`).
pub struct Limits {
    enabled: bool,
    max_keys: usize,
    clock: LimiterClock,
    limiters: Vec<Keyed>,
    /// `clock` seconds at the last early sweep (at most one per second).
    last_early_sweep: AtomicU64,
    /// `login_ip_failures`: failed sign-ins per client IP.
    login_failures: Peekable,
}

/// A keyed GCRA limiter whose allowance is consulted ([`Peekable::peek`]) and spent
/// ([`Peekable::charge`]) separately: failures are known only after the attempt, but
/// must be refused before the next one is checked. Keeps, per key, the theoretical
/// arrival time of the next event (on the limiter clock).
struct Peekable {
    /// `period_secs / requests`: one event comes back this often.
    emission: Duration,
    /// `emission × (burst − 1)`: how far ahead the arrival time may run.
    tolerance: Duration,
    tat: Mutex<HashMap<u128, Duration>>,
}

impl Peekable {
    fn new(l: Limit) -> Peekable {
        let emission = (Duration::from_secs(l.period_secs.max(1)) / l.requests.max(1))
            .max(Duration::from_nanos(1));
        Peekable {
            emission,
            tolerance: emission * (l.burst.max(1) - 1),
            tat: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u128, Duration>> {
        self.tat.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ok when one more event would still fit; else how long until it would.
    fn peek(&self, key: u128, now: Duration) -> Result<(), Duration> {
        match self.map().get(&key) {
            Some(tat) if tat.saturating_sub(self.tolerance) > now => {
                Err(tat.saturating_sub(self.tolerance) - now)
            }
            _ => Ok(()),
        }
    }

    /// Records one event (always: events already happened).
    fn charge(&self, key: u128, now: Duration, max_keys: usize) {
        let mut map = self.map();
        if map.len() > max_keys {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.entry(key).or_insert(now);
        *tat = (*tat).max(now) + self.emission;
    }

    /// Forgets keys whose allowance is full again.
    fn sweep(&self, now: Duration) {
        let mut map = self.map();
        map.retain(|_, tat| *tat > now);
        map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map().len()
    }
}

fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn quota(l: Limit) -> Quota {
    let requests = l.requests.max(1);
    let per = Duration::from_secs(l.period_secs.max(1)) / requests;
    let burst = std::num::NonZeroU32::new(l.burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    Quota::with_period(per.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN))
        .allow_burst(burst)
}

/// A fixed-size digest of a key (case kept: callers normalise).
fn digest(key: &str) -> u128 {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    u128::from_le_bytes(b)
}

impl Limits {
    pub fn new(cfg: &RatelimitConfig, clock: SharedClock) -> Limits {
        let clock = LimiterClock(clock);
        let limiters = Action::ALL
            .iter()
            .map(|a| RateLimiter::dashmap_with_clock(quota(a.limit(cfg)), clock.clone()))
            .collect();
        Limits {
            enabled: cfg.enabled,
            max_keys: cfg.max_keys,
            clock,
            limiters,
            last_early_sweep: AtomicU64::new(0),
            login_failures: Peekable::new(cfg.login_ip_failures),
        }
    }

    /// Counts one request for `key` under `action`; `Err` is a 429 with `Retry-After`.
    pub fn check(&self, action: Action, key: &str) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        let limiter = &self.limiters[action.index()];
        if limiter.len() > self.max_keys {
            self.early_sweep(limiter);
        }
        match limiter.check_key(&digest(key)) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let secs = retry_secs(not_until.wait_time_from(self.clock.now()));
                tracing::debug!(action = action.name(), retry_after = secs, "rate limited");
                Err(AppError::too_many(secs))
            }
        }
    }

    /// [`Limits::check`] keyed by a client IP: IPv6 addresses count per /64 (one
    /// subscriber's usual allocation); no address counts as one shared key.
    pub fn check_ip(&self, action: Action, ip: Option<&str>) -> AppResult<()> {
        self.check(action, &ip_key(ip))
    }

    /// Whether this client IP may still fail a sign-in (`login_ip_failures`), without
    /// spending anything: `Err` is a 429 with `Retry-After`. Asked before the
    /// attempt reaches any account; [`Limits::login_failed`] spends after a failure.
    pub fn check_login_failures(&self, ip: Option<&str>) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        match self
            .login_failures
            .peek(digest(&ip_key(ip)), self.clock.now())
        {
            Ok(()) => Ok(()),
            Err(wait) => {
                let secs = retry_secs(wait);
                tracing::debug!(
                    action = "login_ip_failures",
                    retry_after = secs,
                    "rate limited"
                );
                Err(AppError::too_many(secs))
            }
        }
    }

    /// Spends one failed sign-in of this client IP's `login_ip_failures` allowance.
    pub fn login_failed(&self, ip: Option<&str>) {
        if self.enabled {
            self.login_failures
                .charge(digest(&ip_key(ip)), self.clock.now(), self.max_keys);
        }
    }

    /// Forgets keys whose limit is back to full, and frees the space.
    pub fn sweep(&self) {
        for l in &self.limiters {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.login_failures.sweep(self.clock.now());
    }

    fn early_sweep(&self, limiter: &Keyed) {
        let now = self.clock.now().as_secs();
        let last = self.last_early_sweep.load(Ordering::Relaxed);
        if now > last
            && self
                .last_early_sweep
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            limiter.retain_recent();
            tracing::warn!(
                keys = limiter.len(),
                max_keys = self.max_keys,
                "rate limiter over ratelimit.max_keys: swept early"
            );
        }
    }

    /// Keys currently tracked for `action` (tests, metrics).
    pub fn tracked_keys(&self, action: Action) -> usize {
        self.limiters[action.index()].len()
    }

    /// Client IPs with failed sign-ins currently tracked (tests, metrics).
    pub fn tracked_login_failure_keys(&self) -> usize {
        self.login_failures.len()
    }
}

/// The key of a client IP: IPv6 addresses per /64; no address is one shared key.
fn ip_key(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use std::sync::Arc;

    fn limits(cfg: RatelimitConfig) -> (Limits, FakeClock) {
        let clock = FakeClock::starting_now();
        (Limits::new(&cfg, Arc::new(clock.clone())), clock)
    }

    #[test]
    fn burst_then_refused_then_replenished() {
        let (l, clock) = limits(RatelimitConfig {
            login_account: Limit::new(5, 60, 3),
            ..Default::default()
        });
        for _ in 0..3 {
            l.check(Action::LoginAccount, "alice").unwrap();
        }
        let e = l.check(Action::LoginAccount, "alice").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::TooManyRequests);
        assert_eq!(e.retry_after, Some(12), "one request per 12 s");
        l.check(Action::LoginAccount, "bob").unwrap();
        l.check(Action::LoginIp, "alice").unwrap();
        clock.advance(chrono::Duration::seconds(12));
        l.check(Action::LoginAccount, "alice").unwrap();
        assert!(l.check(Action::LoginAccount, "alice").is_err());
    }

    #[test]
    fn login_failures_are_peeked_then_charged() {
        let (l, clock) = limits(RatelimitConfig {
            login_ip_failures: Limit::new(10, 60, 3),
            ..Default::default()
        });
        let ip = Some("192.0.2.7");
        for _ in 0..3 {
            l.check_login_failures(ip).unwrap();
            l.check_login_failures(ip).unwrap();
            l.login_failed(ip);
        }
        let e = l.check_login_failures(ip).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::TooManyRequests);
        assert_eq!(e.retry_after, Some(6), "one failure comes back every 6 s");
        l.check_login_failures(Some("192.0.2.8")).unwrap();
        clock.advance(chrono::Duration::seconds(6));
        l.check_login_failures(ip).unwrap();
        l.login_failed(ip);
        assert!(l.check_login_failures(ip).is_err());
        clock.advance(chrono::Duration::seconds(60));
        l.sweep();
        assert_eq!(l.tracked_login_failure_keys(), 0);
    }

    #[test]
    fn sweeping_forgets_idle_keys() {
        let (l, clock) = limits(RatelimitConfig::default());
        for i in 0..50 {
            l.check(Action::TokenClient, &format!("c{i}")).unwrap();
        }
        assert_eq!(l.tracked_keys(Action::TokenClient), 50);
        clock.advance(chrono::Duration::seconds(61));
        l.sweep();
        assert_eq!(l.tracked_keys(Action::TokenClient), 0);
    }

    #[test]
    fn more_keys_than_max_keys_sweeps_early() {
        let (l, clock) = limits(RatelimitConfig {
            max_keys: 100,
            ..Default::default()
        });
        for i in 0..150 {
            l.check(Action::LoginIp, &format!("10.0.0.{i}")).unwrap();
        }
        assert_eq!(
            l.tracked_keys(Action::LoginIp),
            150,
            "all still within their period"
        );
        clock.advance(chrono::Duration::seconds(60));
        l.check(Action::LoginIp, "10.0.1.1").unwrap();
        assert_eq!(
            l.tracked_keys(Action::LoginIp),
            1,
            "idle keys forgotten on overflow"
        );
    }

    #[test]
    fn ipv6_counts_per_64_and_disabled_allows_all() {
        let mut cfg = RatelimitConfig {
            login_ip: Limit::new(1, 60, 1),
            ..Default::default()
        };
        let (l, _) = limits(cfg.clone());
        l.check_ip(Action::LoginIp, Some("2001:db8:1:2::1"))
            .unwrap();
        assert!(l
            .check_ip(Action::LoginIp, Some("2001:db8:1:2::ffff"))
            .is_err());
        l.check_ip(Action::LoginIp, Some("2001:db8:1:3::1"))
            .unwrap();
        cfg.enabled = false;
        let (l, _) = limits(cfg);
        for _ in 0..10 {
            l.check_ip(Action::LoginIp, Some("192.0.2.1")).unwrap();
        }
    }
}
