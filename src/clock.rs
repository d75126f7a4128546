//! Time source. Production uses the system clock; tests inject a [`FakeClock`] so TOTP
//! windows, expiries and lockouts can be driven without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Time since an arbitrary fixed origin, for measuring intervals (rate limits).
    /// The system clock makes it monotonic; by default it follows [`Clock::now`], so a
    /// fake clock drives it too.
    fn elapsed(&self) -> std::time::Duration {
        let us = self.now().timestamp_micros().max(0) as u64;
        std::time::Duration::from_micros(us)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microsecond precision: what PostgreSQL stores, so values round-trip exactly.
        let now = Utc::now();
        Utc.timestamp_micros(now.timestamp_micros())
            .single()
            .unwrap_or(now)
    }

    fn elapsed(&self) -> std::time::Duration {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ORIGIN.get_or_init(std::time::Instant::now).elapsed()
    }
}

/// A clock that only moves when told to. Cheap to clone; clones share the time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    micros: Arc<AtomicI64>,
}

impl FakeClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(start.timestamp_micros())),
        }
    }

    /// Starts at the current system time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, by: Duration) {
        let us = by.num_microseconds().unwrap_or(i64::MAX);
        self.micros.fetch_add(us, Ordering::SeqCst);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.micros.store(to.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.micros.load(Ordering::SeqCst))
            .single()
            .expect("fake clock in range")
    }
}

pub type SharedClock = Arc<dyn Clock>;
