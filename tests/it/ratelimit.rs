//! Rate limits over real HTTP: sign-in per IP and per account, the MFA step, /token
//! and /introspect per client, the admin API per credential, Retry-After in each
//! endpoint's format, recovery when the fake clock moves on, the switch, and the
//! client IP taken from X-Forwarded-For only when the peer is a trusted proxy.
//!
//! Distinct clients are simulated by trusting 127.0.0.1 as a proxy and sending
//! different `X-Forwarded-For` addresses.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{Backend, TestApp};
use mfa_support::{enrolled_user, location, password_step, submit_code, PW};
use monban::config::{Config, Limit};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

on_both_backends!(
    login_flood_from_one_ip_is_throttled_while_others_sign_in,
    spoofed_forwarded_for_from_an_untrusted_peer_is_ignored,
    per_account_limit_holds_across_ips,
    mfa_step_is_limited_per_user_and_per_ip,
    token_flood_is_refused_per_client_and_per_ip_in_oauth_json,
    introspection_is_limited_per_client,
    admin_api_is_limited_per_credential,
    disabled_limits_allow_everything,
    an_office_behind_one_address_signs_in,
    repeated_failures_from_one_address_get_429,
    the_ceiling_on_all_sign_ins_per_address_still_applies,
);

/// Trust the test's own address as a proxy, and set every limit out of reach but `set`.
fn behind_proxy(set: impl FnOnce(&mut Config)) -> impl FnOnce(&mut Config) {
    move |cfg| {
        cfg.server.trusted_proxies = vec!["127.0.0.1".into(), "::1".into()];
        set(cfg);
    }
}

/// A browser (cookies, no redirects) whose requests arrive through the proxy from `ip`.
fn browser_from(ip: &str) -> reqwest::Client {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(h)
        .build()
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn login_status(app: &TestApp, c: &reqwest::Client, user: &str, pw: &str) -> u16 {
    app.login(c, user, pw).await.status().as_u16()
}

async fn login_flood_from_one_ip_is_throttled_while_others_sign_in(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        behind_proxy(|c| c.ratelimit.login_ip = Limit::new(3, 60, 3)),
    )
    .await
    .unwrap();
    let user = app.create_user("alice@example.com", PW).await;
    let attacker = browser_from("198.51.100.1");
    for _ in 0..3 {
        assert_eq!(
            login_status(&app, &attacker, "nobody@example.com", "guess-guess-1").await,
            401
        );
    }
    // The 4th from that IP is refused before any password is checked.
    let r = app.login(&attacker, "alice@example.com", PW).await;
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 20, "one attempt comes back every 60/3 s");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "rate_limited");
    // A browser gets a page, with Retry-After too.
    let token = app.csrf(&attacker, "/login").await;
    let r = attacker
        .post(app.url("/login"))
        .header("accept", "text/html")
        .form(&[
            ("username", "x@example.com"),
            ("password", "y"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 20);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Too many requests. Wait a moment and try again."));

    // Another client signs in meanwhile, and is recorded under its own address.
    let other = browser_from("203.0.113.7");
    assert_eq!(
        login_status(&app, &other, "alice@example.com", PW).await,
        303
    );
    let s = app.state.store.list_live_sessions(user.id).await.unwrap();
    assert_eq!(s[0].ip.as_deref(), Some("203.0.113.7"));
    let since = app.state.clock.now() - Duration::hours(1);
    let ev = app
        .state
        .store
        .list_login_events(user.id, since, 10)
        .await
        .unwrap();
    assert_eq!(ev[0].ip.as_deref(), Some("203.0.113.7"));

    // Once the period has passed, the first client may try again.
    app.clock.advance(Duration::seconds(20));
    assert_eq!(
        login_status(&app, &attacker, "alice@example.com", PW).await,
        303
    );
    assert_eq!(
        login_status(&app, &attacker, "alice@example.com", PW).await,
        429
    );
}

async fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(b: Backend) {
    // No trusted proxies (the default): X-Forwarded-For means nothing.
    let app = TestApp::spawn_with(b, |c| c.ratelimit.login_ip = Limit::new(2, 60, 2))
        .await
        .unwrap();
    let user = app.create_user("bob@example.com", PW).await;
    let c = browser_from("198.51.100.1");
    assert_eq!(login_status(&app, &c, "bob@example.com", PW).await, 303);
    let s = app.state.store.list_live_sessions(user.id).await.unwrap();
    assert_eq!(
        s[0].ip.as_deref(),
        Some("127.0.0.1"),
        "the TCP peer, not the header"
    );
    assert_eq!(
        login_status(
            &app,
            &browser_from("198.51.100.2"),
            "bob@example.com",
            "wrong-wrong-1"
        )
        .await,
        401
    );
    // A third "client" claiming yet another address is the same peer: refused.
    assert_eq!(
        login_status(&app, &browser_from("198.51.100.3"), "bob@example.com", PW).await,
        429
    );
    assert_eq!(
        login_status(&app, &app.client(), "bob@example.com", PW).await,
        429
    );
}

async fn per_account_limit_holds_across_ips(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        behind_proxy(|c| c.ratelimit.login_account = Limit::new(2, 60, 2)),
    )
    .await
    .unwrap();
    app.create_user("carol@example.com", PW).await;
    app.create_user("dave@example.com", PW).await;
    // Two wrong passwords from two addresses; the login is normalised (case, spaces).
    let c1 = browser_from("198.51.100.1");
    let c2 = browser_from("2001:db8:1:1::5");
    assert_eq!(
        login_status(&app, &c1, "carol@example.com", "wrong-wrong-1").await,
        401
    );
    assert_eq!(
        login_status(&app, &c2, " CAROL@example.com ", "wrong-wrong-2").await,
        401
    );
    // From a third address, even the right password is refused for that account…
    let c3 = browser_from("203.0.113.9");
    assert_eq!(login_status(&app, &c3, "carol@example.com", PW).await, 429);
    // …while another account signs in from there.
    assert_eq!(login_status(&app, &c3, "dave@example.com", PW).await, 303);
    // The refused attempts did not reach the password check: no extra failure counted.
    let carol = app
        .state
        .store
        .find_user_by_login(app.state.org.id, "carol@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carol.failed_logins, 2);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(login_status(&app, &c3, "carol@example.com", PW).await, 303);
}

async fn mfa_step_is_limited_per_user_and_per_ip(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        behind_proxy(|c| {
            c.ratelimit.mfa_account = Limit::new(2, 60, 2);
            c.ratelimit.mfa_ip = Limit::new(4, 60, 4);
        }),
    )
    .await
    .unwrap();
    let (_, erin_auth, erin_codes) = enrolled_user(&app, &app.client(), "erin@example.com").await;
    let (_, _, _) = enrolled_user(&app, &app.client(), "frank@example.com").await;

    // Per user: two wrong codes, then even the right code (or a backup code) waits.
    let x = browser_from("198.51.100.1");
    password_step(&app, &x, "erin@example.com").await;
    for _ in 0..2 {
        assert_eq!(
            submit_code(&app, &x, "/login/mfa", "000000").await.status(),
            401
        );
    }
    let r = submit_code(&app, &x, "/login/mfa", &erin_auth.code(&app, 0)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 30);
    let r = submit_code(&app, &x, "/login/backup-code", &erin_codes[0]).await;
    assert_eq!(r.status(), 429);

    // Per IP: that address has made 4 second-step attempts; frank's 1st from it is refused.
    let y = browser_from("198.51.100.1");
    password_step(&app, &y, "frank@example.com").await;
    assert_eq!(
        submit_code(&app, &y, "/login/mfa", "000000").await.status(),
        429
    );

    // After the period, erin finishes (the half-finished sign-in is still alive).
    app.clock.advance(Duration::seconds(30));
    let r = submit_code(&app, &x, "/login/mfa", &erin_auth.code(&app, 0)).await;
    assert_eq!(r.status(), 303, "signed in after waiting");
    assert_eq!(location(&r), "/account");
}

async fn service(app: &TestApp, name: &str) -> (String, String) {
    let r = app
        .register_client(monban::clients::NewClient {
            name: name.into(),
            kind: "service".into(),
            scopes: Some("api:read".into()),
            ..Default::default()
        })
        .await;
    (r.client_id, r.client_secret.unwrap())
}

async fn cc(http: &reqwest::Client, app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    http.post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

async fn token_flood_is_refused_per_client_and_per_ip_in_oauth_json(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        behind_proxy(|c| {
            c.ratelimit.token_client = Limit::new(3, 60, 3);
            c.ratelimit.token_ip = Limit::new(8, 60, 8);
        }),
    )
    .await
    .unwrap();
    let (a, a_secret) = service(&app, "A").await;
    let (b_id, b_secret) = service(&app, "B").await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(cc(&http, &app, &a, &a_secret).await.status(), 200);
    }
    let r = cc(&http, &app, &a, &a_secret).await;
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 20);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "temporarily_unavailable");
    // Another client is unaffected.
    assert_eq!(cc(&http, &app, &b_id, &b_secret).await.status(), 200);
    // Failed client authentication does not spend A's allowance, but counts per IP.
    let flood = reqwest::Client::builder()
        .default_headers({
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.66"));
            h
        })
        .build()
        .unwrap();
    for _ in 0..8 {
        assert_eq!(
            cc(&flood, &app, &b_id, "not-the-secret").await.status(),
            401
        );
    }
    let r = cc(&flood, &app, &b_id, &b_secret).await;
    assert_eq!(r.status(), 429);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "temporarily_unavailable");
    assert_eq!(cc(&http, &app, &b_id, &b_secret).await.status(), 200);
    // The period passes: A is served again.
    app.clock.advance(Duration::seconds(20));
    assert_eq!(cc(&http, &app, &a, &a_secret).await.status(), 200);
}

async fn introspection_is_limited_per_client(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.ratelimit.introspect_client = Limit::new(2, 60, 2);
    })
    .await
    .unwrap();
    let (a, a_secret) = service(&app, "A").await;
    let (b_id, b_secret) = service(&app, "B").await;
    let http = reqwest::Client::new();
    let t: Value = cc(&http, &app, &a, &a_secret).await.json().await.unwrap();
    let at = t["access_token"].as_str().unwrap();
    let introspect = |id: String, secret: String| {
        http.post(app.url("/introspect"))
            .basic_auth(id, Some(secret))
            .form(&[("token", at)])
            .send()
    };
    for _ in 0..2 {
        let r = introspect(a.clone(), a_secret.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = introspect(a.clone(), a_secret.clone()).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 30);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "temporarily_unavailable");
    let r = introspect(b_id, b_secret).await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn admin_api_is_limited_per_credential(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.ratelimit.admin_credential = Limit::new(3, 60, 3);
    })
    .await
    .unwrap();
    let one = app.admin().await;
    let two = app.admin().await;
    for _ in 0..3 {
        assert_eq!(one.get("/users").await.0, 200);
    }
    let r = one
        .http
        .get(format!("{}/users", one.base))
        .bearer_auth(&one.token)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 20);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json",
        "the admin API always answers JSON"
    );
    assert_eq!(two.get("/users").await.0, 200);
    app.clock.advance(Duration::seconds(20));
    assert_eq!(one.get("/users").await.0, 200);
    assert_eq!(one.get("/users").await.0, 429);
}

async fn disabled_limits_allow_everything(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        let one = Limit::new(1, 3600, 1);
        c.ratelimit.enabled = false;
        c.ratelimit.login_ip = one;
        c.ratelimit.login_account = one;
        c.ratelimit.token_ip = one;
        c.ratelimit.token_client = one;
        c.ratelimit.admin_credential = one;
    })
    .await
    .unwrap();
    let c = app.client();
    for _ in 0..4 {
        assert_eq!(
            login_status(&app, &c, "nobody@example.com", "guess-guess-1").await,
            401
        );
    }
    let (a, a_secret) = service(&app, "A").await;
    let http = reqwest::Client::new();
    for _ in 0..4 {
        assert_eq!(cc(&http, &app, &a, &a_secret).await.status(), 200);
    }
    let admin = app.admin().await;
    for _ in 0..4 {
        assert_eq!(admin.get("/users").await.0, 200);
    }
}

/// The production defaults of the sign-in limits (tests/common puts them out of reach).
fn production_login_limits(c: &mut Config) {
    let d = monban::config::RatelimitConfig::default();
    c.ratelimit.login_ip = d.login_ip;
    c.ratelimit.login_ip_failures = d.login_ip_failures;
    c.ratelimit.login_account = d.login_account;
}

/// 50 colleagues behind one NAT address sign in within a minute: all succeed.
async fn an_office_behind_one_address_signs_in(b: Backend) {
    let app = TestApp::spawn_with(b, behind_proxy(production_login_limits))
        .await
        .unwrap();
    for i in 0..50 {
        app.create_user(&format!("colleague{i}@example.com"), PW)
            .await;
    }
    for i in 0..50 {
        let c = browser_from("198.51.100.10");
        assert_eq!(
            login_status(&app, &c, &format!("colleague{i}@example.com"), PW).await,
            303,
            "colleague {i}"
        );
    }
}

/// Failures from one address run out its allowance (429 with Retry-After, before
/// any password is checked); each failure was counted on its account first; other
/// addresses are unaffected; the allowance comes back with time.
async fn repeated_failures_from_one_address_get_429(b: Backend) {
    let app = TestApp::spawn_with(b, behind_proxy(production_login_limits))
        .await
        .unwrap();
    let d = monban::config::RatelimitConfig::default().login_ip_failures;
    let victim = app.create_user("olga@example.com", PW).await;
    app.create_user("pat@example.com", PW).await;
    let attacker = browser_from("198.51.100.20");
    for i in 0..d.burst {
        let who = if i % 7 == 0 {
            "olga@example.com".to_string()
        } else {
            format!("ghost{i}@example.com")
        };
        assert_eq!(
            login_status(&app, &attacker, &who, "guess-guess-1").await,
            401,
            "failure {i}"
        );
    }
    let counted = app.state.store.get_user(victim.id).await.unwrap();
    assert_eq!(
        (0..d.burst).filter(|i| i % 7 == 0).count() as i64,
        counted.failed_logins,
        "every failure was counted on the account"
    );
    // Out of failures: refused before any password is checked, even a right one.
    let r = app.login(&attacker, "pat@example.com", PW).await;
    assert_eq!(r.status(), 429);
    let wait = retry_after(&r);
    assert_eq!(wait, d.period_secs / u64::from(d.requests));
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "rate_limited");
    let after = app.state.store.get_user(victim.id).await.unwrap();
    assert_eq!(after.failed_logins, counted.failed_logins);
    // Another address is unaffected.
    assert_eq!(
        login_status(&app, &browser_from("203.0.113.20"), "pat@example.com", PW).await,
        303
    );
    app.clock.advance(Duration::seconds(wait as i64));
    assert_eq!(
        login_status(&app, &attacker, "pat@example.com", PW).await,
        303
    );
}

/// The ceiling on all sign-in attempts per address (successes included) still holds.
async fn the_ceiling_on_all_sign_ins_per_address_still_applies(b: Backend) {
    let app = TestApp::spawn_with(
        b,
        behind_proxy(|c| c.ratelimit.login_ip = Limit::new(5, 60, 5)),
    )
    .await
    .unwrap();
    app.create_user("quinn@example.com", PW).await;
    let c = browser_from("198.51.100.30");
    for _ in 0..5 {
        assert_eq!(login_status(&app, &c, "quinn@example.com", PW).await, 303);
    }
    let r = app.login(&c, "quinn@example.com", PW).await;
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 12);
}
