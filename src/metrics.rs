//! Prometheus metrics (`[metrics]`): one registry per instance (tests run several in
//! one process), counted where things happen, and a few figures read when scraped
//! (queue depths, cache hits, the database pool). Rendered in the text format by
//! [`Metrics::render`] for `/metrics`. A leaf module: it imports nothing of Monban.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Figures read at scrape time from other parts (the store, the caches).
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Rows waiting in the outbox and the back-channel queue; None when they could
    /// not be read (the series are then left out and `scrape_errors_total` counts).
    pub queues: Option<(i64, i64)>,
    /// (cache, hits, misses), counters since start.
    pub caches: Vec<(&'static str, u64, u64)>,
    pub pool_size: i64,
    pub pool_idle: i64,
    pub pool_max: i64,
}

pub struct Metrics {
    registry: Registry,
    /// By route pattern (not the raw path: ids would explode the series), method
    /// and status.
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    /// By method (`password`, `totp`, `backup_code`, `passkey`, `federation`, …)
    /// and outcome (`succeeded`, `failed`, …).
    pub sign_ins: IntCounterVec,
    /// By grant type.
    pub tokens: IntCounterVec,
    pub lockouts: IntCounter,
    /// By route.
    pub rate_limited: IntCounterVec,
    /// Deliveries that failed (a retry or given up), by queue.
    pub delivery_failures: IntCounterVec,
    pub bus_reconnects: IntCounter,
    scrape_errors: IntCounter,
    queue_depth: IntGaugeVec,
    cache_hits: IntCounterVec,
    cache_misses: IntCounterVec,
    pool: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new_custom(Some("monban".into()), None).expect("valid prefix");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route and method.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        r.register(Box::new(latency.clone()))
            .expect("registered once");
        let lockouts = IntCounter::new("lockouts_total", "Accounts locked after failed sign-ins.")
            .expect("valid metric");
        r.register(Box::new(lockouts.clone()))
            .expect("registered once");
        let bus_reconnects = IntCounter::new(
            "bus_reconnects_total",
            "Times the revocation bus listener reconnected after losing the database.",
        )
        .expect("valid metric");
        r.register(Box::new(bus_reconnects.clone()))
            .expect("registered once");
        let scrape_errors = IntCounter::new(
            "scrape_errors_total",
            "Scrapes whose database figures (queue depths) could not be read.",
        )
        .expect("valid metric");
        r.register(Box::new(scrape_errors.clone()))
            .expect("registered once");
        let queue_depth = IntGaugeVec::new(
            Opts::new("queue_depth", "Rows waiting in a delivery queue."),
            &["queue"],
        )
        .expect("valid metric");
        r.register(Box::new(queue_depth.clone()))
            .expect("registered once");
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state."),
            &["state"],
        )
        .expect("valid metric");
        r.register(Box::new(pool.clone())).expect("registered once");
        let up_since = IntGauge::new("start_time_seconds", "Unix time the instance started.")
            .expect("valid metric");
        r.register(Box::new(up_since.clone()))
            .expect("registered once");
        up_since.set(chrono::Utc::now().timestamp());
        Metrics {
            requests: counter(
                &r,
                "http_requests_total",
                "HTTP requests answered, by route, method and status.",
                &["route", "method", "status"],
            ),
            latency,
            sign_ins: counter(
                &r,
                "sign_ins_total",
                "Sign-in steps by method and outcome.",
                &["method", "outcome"],
            ),
            tokens: counter(
                &r,
                "tokens_issued_total",
                "Token responses issued, by grant type.",
                &["grant"],
            ),
            lockouts,
            rate_limited: counter(
                &r,
                "rate_limited_total",
                "Requests refused by a rate limit (429), by route.",
                &["route"],
            ),
            delivery_failures: counter(
                &r,
                "delivery_failures_total",
                "Failed deliveries (retried or given up), by queue.",
                &["queue"],
            ),
            bus_reconnects,
            scrape_errors,
            queue_depth,
            cache_hits: counter(&r, "cache_hits_total", "Cache hits, by cache.", &["cache"]),
            cache_misses: counter(
                &r,
                "cache_misses_total",
                "Cache misses, by cache.",
                &["cache"],
            ),
            pool,
            registry: r,
        }
    }

    /// One answered request. The method is one of the standard ones or `other`:
    /// a label never takes a value the client chose.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, secs: f64) {
        let method = match method {
            "GET" => "GET",
            "HEAD" => "HEAD",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "OPTIONS" => "OPTIONS",
            _ => "other",
        };
        self.requests
            .with_label_values(&[route, method, status_label(status)])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(secs);
    }

    pub fn sign_in(&self, method: &str, outcome: &str) {
        self.sign_ins.with_label_values(&[method, outcome]).inc();
    }

    /// The text exposition format, with the scrape-time figures of `snap`.
    pub fn render(&self, snap: &Snapshot) -> String {
        match snap.queues {
            Some((outbox, backchannel)) => {
                self.queue_depth.with_label_values(&["outbox"]).set(outbox);
                self.queue_depth
                    .with_label_values(&["backchannel"])
                    .set(backchannel);
            }
            None => {
                self.queue_depth.reset();
                self.scrape_errors.inc();
            }
        }
        for (cache, hits, misses) in &snap.caches {
            catch_up(&self.cache_hits, cache, *hits);
            catch_up(&self.cache_misses, cache, *misses);
        }
        self.pool.with_label_values(&["open"]).set(snap.pool_size);
        self.pool.with_label_values(&["idle"]).set(snap.pool_idle);
        self.pool.with_label_values(&["max"]).set(snap.pool_max);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Brings a counter up to a total kept elsewhere (counters only go up).
fn catch_up(c: &IntCounterVec, label: &str, total: u64) {
    let c = c.with_label_values(&[label]);
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

/// Statuses as label values without allocating.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 200 => "1xx",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_scrape_time_figures() {
        let m = Metrics::new();
        m.observe_request("/token", "POST", 200, 0.002);
        m.observe_request("/token", "POST", 200, 0.004);
        m.sign_in("password", "succeeded");
        m.lockouts.inc();
        let snap = Snapshot {
            queues: Some((3, 0)),
            caches: vec![("sessions", 5, 2)],
            pool_max: 16,
            ..Default::default()
        };
        let text = m.render(&snap);
        assert!(text.contains(
            "monban_http_requests_total{method=\"POST\",route=\"/token\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "monban_http_request_duration_seconds_count{method=\"POST\",route=\"/token\"} 2"
        ));
        assert!(text.contains("monban_sign_ins_total{method=\"password\",outcome=\"succeeded\"} 1"));
        assert!(text.contains("monban_lockouts_total 1"));
        assert!(text.contains("monban_queue_depth{queue=\"outbox\"} 3"));
        assert!(text.contains("monban_cache_hits_total{cache=\"sessions\"} 5"));
        // Counters from elsewhere only go up, scrape after scrape.
        let again = m.render(&Snapshot {
            caches: vec![("sessions", 7, 2)],
            ..snap
        });
        assert!(again.contains("monban_cache_hits_total{cache=\"sessions\"} 7"));
        // Queue depths that could not be read are left out, not shown as 0.
        let failed = m.render(&Snapshot::default());
        assert!(!failed.contains("monban_queue_depth{"));
        assert!(failed.contains("monban_scrape_errors_total 1"));
    }
}
