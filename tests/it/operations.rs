//! What operators meet: the database going away and coming back (fast 503s with
//! `Retry-After`, an honest `/readyz`, the revocation bus back within a second),
//! slow request bodies, a graceful shutdown that answers what it accepted, metrics
//! in the Prometheus format, and native TLS with a certificate renewed in place.

use crate::common;
use crate::replicas::{account, sign_in};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::{via_proxy, FaultProxy};
use common::{Backend, TestApp, TestDb};
use monban::Application;

const PW: &str = "blue-Kettle-42-orbit";

on_both_backends!(metrics_are_served_in_the_prometheus_format);

/// A service client (`client_credentials`, scope `api`).
async fn service_client(app: &TestApp) -> monban::clients::Registered {
    app.register_client(monban::clients::NewClient {
        name: "Svc".into(),
        kind: "service".into(),
        scopes: Some("api".into()),
        ..Default::default()
    })
    .await
}

/// An instance on `db`'s schema whose database connections go through `proxy`.
async fn through_proxy(
    db: &TestDb,
    proxy: &FaultProxy,
    issuer: &str,
    clock: &monban::clock::FakeClock,
) -> (
    String,
    actix_web::web::Data<monban::AppState>,
    actix_web::dev::ServerHandle,
) {
    let (url, _) = via_proxy(&db.url, proxy.port);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cfg = db.config();
    cfg.database.url = url;
    cfg.database.acquire_timeout_ms = 500;
    cfg.server.listen = format!("127.0.0.1:{port}");
    cfg.server.issuer = issuer.to_string();
    cfg.server.workers = 2;
    let app = Application::build_with_listener(cfg, listener, Arc::new(clock.clone()))
        .await
        .expect("instance starts");
    let state = app.state();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    (format!("http://127.0.0.1:{port}"), state, handle)
}

/// The database goes away: requests that need it are answered 503 with
/// `Retry-After` within about `database.acquire_timeout_ms` (not after a 5 s wait with
/// a 500), in each protocol's format; `/readyz` says 503; `/healthz` stays 200. When
/// it is back, so is the instance, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_answered_503_at_once_and_recovers() {
    let Some(pg) = common::postgres_url() else {
        eprintln!("MONBAN_TEST_POSTGRES not set: skipped (SQLite has no connection to lose)");
        return;
    };
    let setup = TestApp::spawn(Backend::Postgres).await.unwrap();
    let svc = service_client(&setup).await;
    let admin = setup.admin_token("admin:*").await;
    let (_, target) = via_proxy(&pg, 1);
    let proxy = FaultProxy::start(target).await;
    let (base, _state, handle) = through_proxy(&setup.db, &proxy, &setup.base, &setup.clock).await;
    let http = reqwest::Client::new();
    let ready = |http: reqwest::Client, base: String| async move {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready(http.clone(), base.clone()).await, 200);

    proxy.cut();
    let t = Instant::now();
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // OAuth: temporarily_unavailable (RFC 6749), 503, Retry-After.
    let t = Instant::now();
    let r = http
        .post(format!("{base}/token"))
        .basic_auth(&svc.client_id, svc.client_secret.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The admin API: problem+json, 503, Retry-After.
    let r = http
        .get(format!("{base}/admin/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    // Liveness does not depend on the database.
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    proxy.restore();
    let t = Instant::now();
    while ready(http.clone(), base.clone()).await != 200 {
        assert!(t.elapsed() < Duration::from_secs(5), "not ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http
        .get(format!("{base}/admin/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    handle.stop(true).await;
}

/// PostgreSQL goes away for one replica and comes back: a session forced out on
/// another replica right after is refused there within a second (the bus listener
/// reconnects on Monban's schedule, and the caches are bypassed until it has).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_bus_is_back_within_a_second_after_an_outage() {
    let Some(pg) = common::postgres_url() else {
        eprintln!("MONBAN_TEST_POSTGRES not set: skipped (the bus is PostgreSQL's)");
        return;
    };
    let a = TestApp::spawn(Backend::Postgres).await.unwrap();
    let user = a.create_user("bus@example.com", PW).await;
    let admin = a.admin_token("admin:*").await;
    let (_, target) = via_proxy(&pg, 1);
    let proxy = FaultProxy::start(target).await;
    let (b_base, b_state, handle) = through_proxy(&a.db, &proxy, &a.base, &a.clock).await;
    let cookie_name = a.state.cfg.session_cookie_name();
    let cookie = sign_in(&a.base, &cookie_name, "bus@example.com").await;
    assert_eq!(account(&b_base, &cookie).await, 200, "cached on B");

    proxy.cut();
    let t = Instant::now();
    while b_state.cache.bus_connected() {
        assert!(t.elapsed() < Duration::from_secs(5), "B never noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.restore();

    // At once: A forces the user out (B's listener may not be back yet).
    let r = reqwest::Client::new()
        .delete(a.url(&format!("/admin/v1/users/{}/sessions", user.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let forced = Instant::now();
    loop {
        // 303 to the sign-in page: refused (a 503 while B reconnects is not an answer).
        let status = account(&b_base, &cookie).await;
        if status == 303 {
            break;
        }
        assert!(
            forced.elapsed() < Duration::from_secs(1),
            "B still answers {status} for the forced-out session {:?} after",
            forced.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // And the listener is back soon after, counted in the metrics.
    let t = Instant::now();
    while !b_state.cache.bus_connected() {
        assert!(t.elapsed() < Duration::from_secs(3), "bus not back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b_state.metrics.bus_reconnects.get(), 1);
    handle.stop(true).await;
}

/// A client that announces a body and sends little of it is answered 408 after
/// `server.body_timeout_secs`, and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_off_with_408() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.server.body_timeout_secs = 1)
        .await
        .unwrap();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\ngrant_type=client_cre"
    )
    .unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(text.contains("body_timeout"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

async fn metrics_are_served_in_the_prometheus_format(b: Backend) {
    // Off by default: no /metrics.
    let Some(off) = TestApp::spawn(b).await else {
        return;
    };
    let r = reqwest::get(off.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), 404);
    off.stop().await;

    let app = TestApp::spawn_with(b, |c| c.metrics.enabled = true)
        .await
        .unwrap();
    app.create_user("metrics@example.com", PW).await;
    let svc = service_client(&app).await;
    let http = reqwest::Client::new();
    let r = http
        .post(app.url("/token"))
        .basic_auth(&svc.client_id, svc.client_secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = app.client();
    app.login(&c, "metrics@example.com", "wrong-password-1")
        .await;
    app.login(&c, "metrics@example.com", PW).await;
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "monban_http_requests_total{method=\"POST\",route=\"/token\",status=\"200\"} 1",
        "monban_http_request_duration_seconds_bucket{method=\"POST\",route=\"/token\",le=\"+Inf\"} 1",
        "monban_tokens_issued_total{grant=\"client_credentials\"} 1",
        "monban_sign_ins_total{method=\"pwd\",outcome=\"bad_password\"} 1",
        "monban_sign_ins_total{method=\"pwd\",outcome=\"success\"} 1",
        "monban_queue_depth{queue=\"outbox\"} 0",
        "monban_db_pool_connections{state=\"max\"} 4",
        "monban_cache_hits_total{cache=\"clients\"}",
        "# TYPE monban_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    // Route patterns, not raw paths: an id does not make a series of its own.
    let r = http
        .get(app.url(&format!("/admin/v1/users/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("route=\"/admin/v1/users/{id}\",status=\"401\"} 1"),
        "{text}"
    );
    // Nor does a method the client made up.
    let r = http
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            app.url("/token"),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("BREW"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");

    // On an address of its own: not on the main listener; with a token, only for it.
    let sep = TestApp::spawn_with(b, |c| {
        c.metrics.enabled = true;
        c.metrics.listen = "127.0.0.1:0".into();
        c.metrics.token = "scrape-secret-1".into();
    })
    .await
    .unwrap();
    assert_eq!(
        reqwest::get(sep.url("/metrics")).await.unwrap().status(),
        404
    );
    let port = sep.metrics_port.expect("metrics listener");
    let url = format!("http://127.0.0.1:{port}/metrics");
    for wrong in [None, Some("scrape-secret-2"), Some("")] {
        let mut q = http.get(&url);
        if let Some(t) = wrong {
            q = q.bearer_auth(t);
        }
        assert_eq!(q.send().await.unwrap().status(), 401, "{wrong:?}");
    }
    let r = http
        .get(&url)
        .bearer_auth("scrape-secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("monban_start_time_seconds"));
}

/// A CA and a certificate for `localhost` it signed: (CA PEM, cert PEM, key PEM).
fn certificate() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

fn trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .resolve("localhost", "127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap()
}

/// Native TLS: HTTPS with the configured certificate; a renewed certificate written
/// over the files is served to new connections without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_tls_serves_and_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (ca1, cert1, key1) = certificate();
    std::fs::write(&cert_file, &cert1).unwrap();
    std::fs::write(&key_file, &key1).unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.tls.cert_file = cert_file.display().to_string();
        c.server.tls.key_file = key_file.display().to_string();
        c.server.tls.reload_interval_secs = 1;
        c.server.issuer = "https://localhost".into();
    })
    .await
    .unwrap();
    let url = format!("https://localhost:{}/healthz", app.port);
    let r = trusting(&ca1).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP on the TLS port gets nowhere.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{}/healthz", app.port))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );

    let (ca2, cert2, key2) = certificate();
    std::fs::write(&key_file, &key2).unwrap();
    std::fs::write(&cert_file, &cert2).unwrap();
    let t = Instant::now();
    loop {
        if let Ok(r) = trusting(&ca2).get(&url).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "not reloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        trusting(&ca1).get(&url).send().await.is_err(),
        "the old certificate is no longer served"
    );
    // A broken pair is not taken up: the renewed one stays in use.
    std::fs::write(&cert_file, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(trusting(&ca2).get(&url).send().await.unwrap().status(), 200);
}

/// SIGTERM under load: every request sent before it and during the first half of
/// `server.drain_secs` is answered (new connections are still accepted, `/readyz`
/// says 503 so a balancer stops sending, responses close their connections); then
/// the listener closes, connections are refused, and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_and_answers_what_it_accepted() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_monban"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MONBAN_DATABASE__URL", &db.url)
        .env("MONBAN_DATA__DIR", db.dir.path().join("data"))
        .env("MONBAN_KEYS__DIR", db.dir.path().join("keys"))
        .env("MONBAN_SERVER__LISTEN", "127.0.0.1:0")
        .env("MONBAN_SERVER__WORKERS", "2")
        .env("MONBAN_SERVER__DRAIN_SECS", "1")
        .env("MONBAN_LOG__LEVEL", "warn")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("monban serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("Monban listening on "))
        .expect("the listening line");
    std::thread::spawn(move || for _ in lines {});
    let base = first
        .strip_prefix("Monban listening on ")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    // The clients stop sending new requests half-way through the drain, as a load
    // balancer does once `/readyz` says 503.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (base, stop) = (base.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut answered, mut refused, mut lost, mut not_ready) = (0, 0, Vec::new(), 0);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match http
                    .get(format!("{base}/.well-known/openid-configuration"))
                    .send()
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.status(), 200);
                        r.bytes().await.unwrap();
                        answered += 1;
                    }
                    Err(e) if e.is_connect() => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => lost.push(format!("{e:?}")),
                }
                if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
                    not_ready += (r.status() == 503) as u32;
                }
            }
            (answered, refused, lost, not_ready)
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (mut answered, mut refused, mut lost, mut not_ready) = (0, 0, Vec::new(), 0);
    for w in workers {
        let (a, r, l, n) = w.await.unwrap();
        answered += a;
        refused += r;
        lost.extend(l);
        not_ready += n;
    }
    assert!(status.success(), "exit status {status:?}");
    assert!(
        lost.is_empty(),
        "{} lost of {answered}: {:?}",
        lost.len(),
        &lost[..lost.len().min(3)]
    );
    assert!(answered > 100, "{answered}");
    assert!(not_ready > 0, "/readyz said 503 while draining");
    assert_eq!(refused, 0, "refused while draining");
    // Gone: refused, not left hanging.
    let e = reqwest::get(format!("{base}/healthz")).await.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
}
