//! Caches and the revocation bus: what an admin does on one instance takes effect on
//! every other instance of the same database within a second, although each keeps
//! sessions, users, clients and SAML SPs in memory.
//!
//! - in-process: two (or three) `Application`s on one database, on SQLite (the
//!   in-process bus) and on PostgreSQL (that bus and LISTEN/NOTIFY);
//! - real processes (PostgreSQL only): three `monban serve` processes of
//!   `target/debug/monban` on one schema, so only NOTIFY can carry the news.
//!
//! Each scenario also runs an instance with `cache.listen = false` that was warmed the
//! same way: it keeps serving from its cache, which shows that the other instance
//! refused because of the bus, not because it never cached anything.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use common::{set_cookie, Backend, TestApp, TestDb};
use monban::{AppState, Application};
use serde_json::json;

const PW: &str = "blue-Kettle-42-orbit";

/// Another instance on `a`'s database, keys and clock, with the same issuer (as
/// replicas behind one load balancer).
struct Peer {
    base: String,
    state: web::Data<AppState>,
    handle: actix_web::dev::ServerHandle,
}

async fn peer(a: &TestApp, listen: bool) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cfg = a.db.config();
    cfg.server.listen = format!("127.0.0.1:{port}");
    cfg.server.issuer = a.base.clone();
    cfg.server.workers = 2;
    cfg.cache.listen = listen;
    let app = Application::build_with_listener(cfg, listener, Arc::new(a.clock.clone()))
        .await
        .expect("peer starts");
    let state = app.state();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    Peer {
        base: format!("http://127.0.0.1:{port}"),
        state,
        handle,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in on `base` through the form; returns the `Cookie` header value.
pub(crate) async fn sign_in(base: &str, cookie_name: &str, email: &str) -> String {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::extract_csrf(&html).expect("csrf");
    let r = c
        .post(format!("{base}/login"))
        .form(&[("username", email), ("password", PW), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in on {base}");
    let v = common::cookie_value(set_cookie(&r, cookie_name).expect("session cookie"));
    format!("{cookie_name}={v}")
}

/// 200 when `/account` on `base` accepts the cookie, 303 (to /login) when not.
pub(crate) async fn account(base: &str, cookie: &str) -> u16 {
    http()
        .get(format!("{base}/account"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls `f` every 50 ms for up to 1 s until it returns true; the time it took.
async fn within_a_second<F, Fut>(mut f: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() <= Duration::from_secs(1) {
        if f().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn wait_out_the_second(since: Instant) {
    if let Some(rest) = Duration::from_millis(1100).checked_sub(since.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

/// A user signed in on A, the cookie accepted (and cached) on B and on the deaf C.
async fn signed_in_everywhere(
    a: &TestApp,
    b: &Peer,
    c: &Peer,
    email: &str,
) -> (uuid::Uuid, String) {
    let user = a.create_user(email, PW).await;
    let cookie = sign_in(&a.base, &a.state.cfg.session.cookie_name, email).await;
    for p in [b, c] {
        let hits = p.state.cache.stats.sessions.hits();
        assert_eq!(account(&p.base, &cookie).await, 200);
        assert_eq!(account(&p.base, &cookie).await, 200);
        assert!(
            p.state.cache.stats.sessions.hits() > hits,
            "the second request is served from the session cache"
        );
    }
    (user.id, cookie)
}

#[derive(Clone, Copy)]
enum Act {
    ForcedLogout,
    Suspend,
    SetPassword,
}

async fn session_ending_action_reaches_the_other_instance(backend: Backend, email: &str, act: Act) {
    let Some(a) = TestApp::spawn(backend).await else {
        return;
    };
    let b = peer(&a, true).await;
    let c = peer(&a, false).await;
    let (id, cookie) = signed_in_everywhere(&a, &b, &c, email).await;
    let admin = a.admin().await;
    let t0 = Instant::now();
    let status = match act {
        Act::ForcedLogout => admin.delete(&format!("/users/{id}/sessions")).await.0,
        Act::Suspend => {
            admin
                .post(&format!("/users/{id}/suspend"), json!({}))
                .await
                .0
        }
        Act::SetPassword => {
            admin
                .put(
                    &format!("/users/{id}/password"),
                    json!({ "password": "green-Ladder-77-comet" }),
                )
                .await
                .0
        }
    };
    assert!((200..300).contains(&status), "admin action: {status}");
    assert_eq!(
        account(&a.base, &cookie).await,
        303,
        "refused where it happened"
    );
    let (bb, ck) = (&b.base, &cookie);
    let took = within_a_second(|| async move { account(bb, ck).await == 303 }).await;
    assert!(
        took.is_some(),
        "the other instance refuses the cookie within 1 s"
    );
    wait_out_the_second(t0).await;
    assert_eq!(
        account(&c.base, &cookie).await,
        200,
        "an instance that does not listen still serves its cached session: the bus did it"
    );
    b.handle.stop(false).await;
    c.handle.stop(false).await;
}

async fn forced_logout_reaches_the_other_instance(backend: Backend) {
    session_ending_action_reaches_the_other_instance(backend, "fl@example.com", Act::ForcedLogout)
        .await;
}

async fn suspension_reaches_the_other_instance(backend: Backend) {
    session_ending_action_reaches_the_other_instance(backend, "su@example.com", Act::Suspend).await;
}

async fn password_set_by_admin_reaches_the_other_instance(backend: Backend) {
    session_ending_action_reaches_the_other_instance(backend, "pw@example.com", Act::SetPassword)
        .await;
}

/// App block ends no session: only the cached user row knows it. B must refuse the
/// native app at /authorize within a second.
async fn app_block_reaches_the_other_instance(backend: Backend) {
    let Some(a) = TestApp::spawn(backend).await else {
        return;
    };
    let b = peer(&a, true).await;
    let c = peer(&a, false).await;
    let native = a
        .register_client(monban::clients::NewClient {
            name: "Native".into(),
            kind: "public".into(),
            redirect_uris: vec!["com.example.app:/cb".into()],
            first_party: true,
            ..Default::default()
        })
        .await
        .client_id;
    let (id, cookie) = signed_in_everywhere(&a, &b, &c, "ab@example.com").await;
    let authorize = |base: String, cookie: String, native: String| async move {
        let url = format!(
            "{base}/authorize?response_type=code&client_id={native}&redirect_uri=com.example.app%3A%2Fcb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        let r = http()
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    for base in [&b.base, &c.base, &b.base, &c.base] {
        let loc = authorize(base.clone(), cookie.clone(), native.clone()).await;
        assert!(loc.starts_with("com.example.app:/cb?code="), "{loc}");
    }
    let t0 = Instant::now();
    let (s, _) = a
        .admin()
        .await
        .put(&format!("/users/{id}/app-block"), json!({}))
        .await;
    assert!((200..300).contains(&s), "{s}");
    let (authorize, bb, ck, nat) = (&authorize, &b.base, &cookie, &native);
    let took = within_a_second(|| async move {
        authorize(bb.clone(), ck.clone(), nat.clone())
            .await
            .contains("error=access_denied")
    })
    .await;
    assert!(
        took.is_some(),
        "the other instance refuses the native app within 1 s"
    );
    wait_out_the_second(t0).await;
    let stale = authorize(c.base.clone(), cookie.clone(), native.clone()).await;
    assert!(
        stale.contains("code="),
        "the deaf instance still has the old user row: {stale}"
    );
    // The browser session itself goes on (web clients keep working).
    assert_eq!(account(&b.base, &cookie).await, 200);
}

/// A disabled client is refused by the other instance's token endpoint, and a
/// disabled SAML SP is no longer served from its cache.
async fn client_and_sp_changes_reach_the_other_instance(backend: Backend) {
    let Some(a) = TestApp::spawn(backend).await else {
        return;
    };
    let b = peer(&a, true).await;
    let c = peer(&a, false).await;
    let r = a
        .register_client(monban::clients::NewClient {
            name: "Svc".into(),
            kind: "service".into(),
            scopes: Some("api".into()),
            ..Default::default()
        })
        .await;
    let (id, secret) = (r.client_id, r.client_secret.unwrap());
    let token = |base: String| {
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            http()
                .post(format!("{base}/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for p in [&b, &c] {
        assert_eq!(token(p.base.clone()).await, 200);
        let hits = p.state.cache.stats.clients.hits();
        assert_eq!(token(p.base.clone()).await, 200);
        assert!(
            p.state.cache.stats.clients.hits() > hits,
            "client cache hit"
        );
    }
    let admin = a.admin().await;
    let t0 = Instant::now();
    assert_eq!(admin.delete(&format!("/clients/{id}")).await.0, 204);
    let (tk, bb) = (&token, &b.base);
    let took = within_a_second(|| async move { tk(bb.clone()).await == 401 }).await;
    assert!(
        took.is_some(),
        "the other instance refuses the client within 1 s"
    );
    wait_out_the_second(t0).await;
    assert_eq!(
        token(c.base.clone()).await,
        200,
        "deaf instance: stale cache"
    );

    // SAML SP: cached on B, disabled through A's admin API.
    let sp = common::saml::TestSp::new("sp-cache");
    common::saml::register(&a, &sp, false, |_| {}).await;
    // The registration is announced too (on PostgreSQL twice: in-process and by
    // NOTIFY), which may drop a first warm-up; within a second the SP is a hit.
    for p in [&b, &c] {
        let (st, eid) = (&p.state, &sp.entity_id);
        let hit = within_a_second(|| async move {
            let hits = st.cache.stats.sps.hits();
            for _ in 0..2 {
                let got = monban::cache::sp(st, eid).await.unwrap();
                assert!(got.is_some_and(|s| !s.disabled));
            }
            st.cache.stats.sps.hits() > hits
        })
        .await;
        assert!(hit.is_some(), "SP cache hit");
    }
    // Let any late copy of the announcement land before the change below.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let q: String = url::form_urlencoded::byte_serialize(sp.entity_id.as_bytes()).collect();
    let (s, body) = admin
        .delete(&format!("/saml/service-providers?entity_id={q}"))
        .await;
    assert!((200..300).contains(&s), "{s} {body}");
    let (bs, eid) = (&b.state, &sp.entity_id);
    let took = within_a_second(|| async move {
        monban::cache::sp(bs, eid)
            .await
            .unwrap()
            .is_none_or(|s| s.disabled)
    })
    .await;
    assert!(
        took.is_some(),
        "the other instance sees the SP disabled within 1 s"
    );
    wait_out_the_second(t0).await;
    assert!(monban::cache::sp(&c.state, &sp.entity_id)
        .await
        .unwrap()
        .is_some_and(|s| !s.disabled));
}

/// A revoked support grant is announced; the other instance receives it.
async fn grant_revocation_is_announced(backend: Backend) {
    let Some(a) = TestApp::spawn(backend).await else {
        return;
    };
    let b = peer(&a, true).await;
    let before = b
        .state
        .cache
        .stats
        .received
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut rx = b.state.cache.subscribe();
    let gid = uuid::Uuid::new_v4();
    monban::cache::publish(
        &a.state,
        monban::cache::Event::GrantRevoked { grant_id: gid },
    )
    .await;
    let env = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("within 1 s")
        .unwrap();
    assert_eq!(
        env.event,
        monban::cache::Event::GrantRevoked { grant_id: gid }
    );
    let bs = &b.state;
    let took = within_a_second(|| async move {
        bs.cache
            .stats
            .received
            .load(std::sync::atomic::Ordering::Relaxed)
            > before
    })
    .await;
    assert!(took.is_some(), "applied by the other instance");
}

/// The session cache never extends a session: idle timeout and last-seen bookkeeping
/// work as without it; user changes are seen on the same instance at once.
async fn cached_sessions_still_time_out_and_are_touched(backend: Backend) {
    let Some(a) = TestApp::spawn_with(backend, |c| c.session.idle_timeout_secs = 120).await else {
        return;
    };
    a.create_user("idle@example.com", PW).await;
    let cookie = sign_in(
        &a.base,
        &a.state.cfg.session.cookie_name,
        "idle@example.com",
    )
    .await;
    let stats = &a.state.cache.stats.sessions;
    assert_eq!(account(&a.base, &cookie).await, 200);
    let hits = stats.hits();
    assert_eq!(account(&a.base, &cookie).await, 200);
    assert!(stats.hits() > hits, "served from the cache");
    // 61 s later: read from the database again and touched…
    a.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(account(&a.base, &cookie).await, 200);
    // …so 100 s after that (161 s after sign-in, > idle) the session is still alive…
    a.clock.advance(chrono::Duration::seconds(100));
    assert_eq!(account(&a.base, &cookie).await, 200);
    // …and 121 s of silence end it, although the row is cached.
    a.clock.advance(chrono::Duration::seconds(121));
    assert_eq!(account(&a.base, &cookie).await, 303);
}

on_both_backends!(
    forced_logout_reaches_the_other_instance,
    suspension_reaches_the_other_instance,
    password_set_by_admin_reaches_the_other_instance,
    app_block_reaches_the_other_instance,
    client_and_sp_changes_reach_the_other_instance,
    grant_revocation_is_announced,
    cached_sessions_still_time_out_and_are_touched,
);

// ------------------------------------------------------------ real processes

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &TestDb, listen: bool) -> Proc {
    let mut c = Command::new(env!("CARGO_BIN_EXE_monban"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MONBAN_DATABASE__URL", &db.url)
        .env("MONBAN_DATABASE__SCHEMA", &db.schema)
        .env("MONBAN_DATA__DIR", db.dir.path().join("data"))
        .env("MONBAN_KEYS__DIR", db.dir.path().join("keys"))
        .env("MONBAN_SERVER__LISTEN", "127.0.0.1:0")
        .env("MONBAN_SERVER__ISSUER", "http://127.0.0.1:9")
        .env("MONBAN_SERVER__WORKERS", "2")
        .env(
            "MONBAN_CACHE__LISTEN",
            if listen { "true" } else { "false" },
        )
        .env("MONBAN_LOG__LEVEL", "warn")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().expect("monban serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Start-up log lines (e.g. why passkeys are off) may come first.
    let first = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("Monban listening on "))
        .expect("the listening line");
    let base = first
        .strip_prefix("Monban listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Proc { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_monban_processes_share_revocations_over_postgres() {
    if common::postgres_url().is_none() {
        eprintln!(
            "MONBAN_TEST_POSTGRES not set: skipped (SQLite has one process per database file)"
        );
        return;
    }
    // Prepare the schema, keys, a user, an admin token and a service client, then stop.
    let setup = TestApp::spawn(Backend::Postgres).await.unwrap();
    let user = setup.create_user("proc@example.com", PW).await;
    let token = setup.admin_token("admin:*").await;
    let svc = setup
        .register_client(monban::clients::NewClient {
            name: "Svc".into(),
            kind: "service".into(),
            scopes: Some("api".into()),
            ..Default::default()
        })
        .await;
    let cookie_name = setup.state.cfg.session.cookie_name.clone();
    let db = setup.stop_and_take_db().await;

    let a = serve(&db, true);
    let b = serve(&db, true);
    let deaf = serve(&db, false);

    // Forced logout on A: B refuses the cookie within 1 s; the deaf process does not.
    let cookie = sign_in(&a.base, &cookie_name, "proc@example.com").await;
    for p in [&b, &deaf] {
        assert_eq!(account(&p.base, &cookie).await, 200);
        assert_eq!(account(&p.base, &cookie).await, 200);
    }
    let t0 = Instant::now();
    let r = http()
        .delete(format!("{}/admin/v1/users/{}/sessions", a.base, user.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (bb, ck) = (&b.base, &cookie);
    let took = within_a_second(|| async move { account(bb, ck).await == 303 }).await;
    assert!(took.is_some(), "process B refuses the cookie within 1 s");
    eprintln!("forced logout reached process B in {took:?}");
    wait_out_the_second(t0).await;
    assert_eq!(
        account(&deaf.base, &cookie).await,
        200,
        "a process that does not LISTEN serves its cached session"
    );

    // Client disabled on A: B's token endpoint refuses it within 1 s.
    let (id, secret) = (svc.client_id.clone(), svc.client_secret.clone().unwrap());
    let cc = |base: String| {
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            http()
                .post(format!("{base}/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for p in [&b, &deaf] {
        assert_eq!(cc(p.base.clone()).await, 200);
        assert_eq!(cc(p.base.clone()).await, 200);
    }
    let t0 = Instant::now();
    let r = http()
        .delete(format!("{}/admin/v1/clients/{}", a.base, id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (ccr, bb) = (&cc, &b.base);
    let took = within_a_second(|| async move { ccr(bb.clone()).await == 401 }).await;
    assert!(
        took.is_some(),
        "process B refuses the disabled client within 1 s"
    );
    wait_out_the_second(t0).await;
    assert_eq!(
        cc(deaf.base.clone()).await,
        200,
        "deaf process: stale cache"
    );

    // Suspension on A of a user signed in again: B refuses the new cookie.
    let cookie = sign_in(&a.base, &cookie_name, "proc@example.com").await;
    assert_eq!(account(&b.base, &cookie).await, 200);
    assert_eq!(account(&b.base, &cookie).await, 200);
    let r = http()
        .post(format!("{}/admin/v1/users/{}/suspend", a.base, user.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (bb, ck) = (&b.base, &cookie);
    let took = within_a_second(|| async move { account(bb, ck).await == 303 }).await;
    assert!(
        took.is_some(),
        "process B refuses a suspended user's cookie within 1 s"
    );
    drop((a, b, deaf));
    drop(db);
}
