//! Password sign-in through the real HTML form over real HTTP, on both dialects.

use crate::common;

use chrono::Duration;
use common::{cookie_value, extract_csrf, set_cookie, Backend, TestApp};
use monban::clock::Clock;
use reqwest::StatusCode;

const PW: &str = "blue-Kettle-42-orbit";

on_both_backends!(
    sign_in_success_sets_session_and_records_attempt,
    wrong_password_and_unknown_user_are_indistinguishable,
    csrf_is_enforced,
    secure_cookies_are_host_only,
    logout_ends_the_server_side_session,
    redirect_after_login_is_local_only,
    lockout_after_repeated_failures_and_lifts_by_itself,
    permanent_lockout_stays,
    idle_and_absolute_session_timeouts,
    pending_user_cannot_sign_in,
    login_by_login_id_and_case_insensitive_email,
    new_sign_in_replaces_the_previous_session,
    locked_account_answers_the_same_whatever_the_password,
    parallel_wrong_passwords_verify_at_most_the_threshold,
    wrong_current_passwords_at_account_password_count_towards_lockout,
);

async fn sign_in_success_sets_session_and_records_attempt(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("alice@example.com", PW).await;
    let c = app.client();

    let page = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf_cookie = set_cookie(&page, "monban_csrf")
        .expect("csrf cookie")
        .to_string();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));
    let html = page.text().await.unwrap();
    for needle in [
        r#"name="username""#,
        r#"autocomplete="username""#,
        r#"name="password""#,
        r#"autocomplete="current-password""#,
        r#"name="csrf_token""#,
        r#"method="post""#,
    ] {
        assert!(html.contains(needle), "login form lacks {needle}");
    }
    let token = extract_csrf(&html).unwrap();

    let res = c
        .post(app.url("/login"))
        .form(&[
            ("username", "alice@example.com"),
            ("password", PW),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/account");
    let sc = set_cookie(&res, "monban_session")
        .expect("session cookie")
        .to_string();
    assert!(sc.contains("HttpOnly"), "{sc}");
    assert!(sc.contains("SameSite=Lax"), "{sc}");
    assert!(sc.contains("Path=/"), "{sc}");
    assert!(!sc.contains("Secure"), "http issuer: no Secure flag: {sc}");
    let token_value = cookie_value(&sc);
    assert_eq!(token_value.len(), 43, "256-bit opaque id");

    let account = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200);
    assert!(account.text().await.unwrap().contains("alice@example.com"));

    // The server-side row: user, IP, user agent, how they authenticated; the cookie
    // value itself is not stored.
    let sessions = app.state.store.list_live_sessions(user.id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.amr, "pwd");
    assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.user_agent.as_deref(), Some("monban-tests/1.0"));
    assert_ne!(s.token_hash, token_value.as_bytes());

    let events = app
        .state
        .store
        .list_login_events(user.id, app.clock.now() - Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].result, "success");
    assert_eq!(events[0].session_id, Some(s.id));
    assert_eq!(events[0].user_agent.as_deref(), Some("monban-tests/1.0"));

    // Sign-in attempts are security events in the audit log too.
    app.clock.advance(Duration::seconds(1));
    app.login(&app.client(), "alice@example.com", "wrong-password-1")
        .await;
    let audit = app
        .state
        .store
        .list_audit_events_for_user(user.id, app.clock.now() - Duration::hours(1), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["sign_in.failed", "sign_in.succeeded"]);
    assert!(audit.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));
    assert_eq!(audit[1].actor_kind, "user");
}

/// Same status and same page for a wrong password and an unknown user; both run
/// argon2 (similar timing), and both are recorded.
async fn wrong_password_and_unknown_user_are_indistinguishable(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        // Real cost, so that hashing dominates and a skipped hash would show.
        c.password.argon2_memory_kib = 19456;
        c.password.argon2_iterations = 2;
        c.lockout.max_failures = 0;
    })
    .await
    .unwrap();
    let user = app.create_user("bob@example.com", PW).await;
    let c = app.client();

    let page_for = |r: String, name: &str| r.replace(name, "NAME");
    let wrong = app.login(&c, "bob@example.com", "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "monban_session").is_none());
    let wrong_body = page_for(wrong.text().await.unwrap(), "bob@example.com");
    let unknown = app
        .login(&c, "nobody@example.com", "not-the-password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown_body = page_for(unknown.text().await.unwrap(), "nobody@example.com");
    assert_eq!(wrong_body, unknown_body, "pages must not differ");
    assert!(wrong_body.contains("The login ID or password is incorrect."));

    // Timing: the median of several attempts of each kind is of the same order.
    let mut t_wrong = Vec::new();
    let mut t_unknown = Vec::new();
    for i in 0..7 {
        let token = app.csrf(&c, "/login").await;
        for (who, times) in [
            ("bob@example.com", &mut t_wrong),
            ("ghost@example.com", &mut t_unknown),
        ] {
            let start = std::time::Instant::now();
            let r = c
                .post(app.url("/login"))
                .form(&[
                    ("username", who),
                    ("password", &format!("wrong-{i}")),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            times.push(start.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (mw, mu) = (median(&mut t_wrong), median(&mut t_unknown));
    // A skipped hash would make the unknown-user path ~20x faster; the wide band only
    // absorbs scheduling noise on a busy machine.
    let ratio = mu / mw;
    assert!(
        (0.33..3.0).contains(&ratio),
        "unknown {mu:.4}s vs wrong {mw:.4}s"
    );

    let events = app
        .state
        .store
        .list_login_events(user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap();
    assert!(events.iter().all(|e| e.result == "bad_password"));
    assert_eq!(events.len(), 8);
}

async fn csrf_is_enforced(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    app.create_user("carol@example.com", PW).await;
    let c = app.client();
    let token = app.csrf(&c, "/login").await;
    let creds = [("username", "carol@example.com"), ("password", PW)];

    // No token.
    let r = c.post(app.url("/login")).form(&creds).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "csrf_failed");

    // A browser gets the explanation as a page.
    let r = c
        .post(app.url("/login"))
        .header("accept", "text/html")
        .header("accept-language", "ja")
        .form(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("このフォームは受け付けられませんでした"),
        "{html}"
    );
    assert!(html.contains("何も変更されていません"), "{html}");
    assert!(
        !html.contains("再読み込み"),
        "reloading cannot help: {html}"
    );
    // With a same-origin Referer it offers to open the form's page again.
    let r = c
        .post(app.url("/login"))
        .header("accept", "text/html")
        .header("referer", app.url("/login?return_to=%2Faccount"))
        .form(&creds)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"id="reopen" href="/login?return_to=%2Faccount""#),
        "{html}"
    );
    let r = c
        .post(app.url("/login"))
        .header("accept", "text/html")
        .header("referer", "https://evil.example/login")
        .form(&creds)
        .send()
        .await
        .unwrap();
    assert!(!r.text().await.unwrap().contains("id=\"reopen\""));

    // A garbage token, and another browser's valid token.
    let other = app.client();
    let other_token = app.csrf(&other, "/login").await;
    for bad in ["garbage", "", &other_token] {
        let r = c
            .post(app.url("/login"))
            .form(&[creds[0], creds[1], ("csrf_token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {bad:?}");
    }
    // The right token from a foreign Origin.
    let r = c
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[creds[0], creds[1], ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // `Origin: null` (what browsers send under privacy-preserving referrer policies)
    // proves nothing either way: a bad token is still refused...
    for bad in ["garbage", &other_token] {
        let r = c
            .post(app.url("/login"))
            .header("origin", "null")
            .form(&[creds[0], creds[1], ("csrf_token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "Origin: null with {bad:?}"
        );
    }
    // ...and foreign origins that merely look alike are refused.
    for foreign in [
        format!("{}.evil.example", app.base),
        app.base.replace("127.0.0.1", "localhost"),
        format!("{}/", app.base),
        "NULL".to_string(),
    ] {
        let r = c
            .post(app.url("/login"))
            .header("origin", foreign.as_str())
            .form(&[creds[0], creds[1], ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "Origin: {foreign}");
    }
    // Token without its cookie (a fresh client).
    let r = app
        .client()
        .post(app.url("/login"))
        .form(&[creds[0], creds[1], ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nothing above signed anyone in, and the real thing works: with our Origin, and
    // with `Origin: null` and a valid token (a real browser's form POST).
    let r = c
        .post(app.url("/login"))
        .header("origin", app.base.as_str())
        .form(&[creds[0], creds[1], ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let other_browser = app.client();
    let t = app.csrf(&other_browser, "/login").await;
    let r = other_browser
        .post(app.url("/login"))
        .header("origin", "null")
        .form(&[creds[0], creds[1], ("csrf_token", &t)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "Origin: null with a valid token"
    );

    // Logout is CSRF-protected too.
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
}

async fn logout_ends_the_server_side_session(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("dave@example.com", PW).await;
    let c = app.client();
    let r = app.login(&c, "dave@example.com", PW).await;
    let session_token = cookie_value(set_cookie(&r, "monban_session").unwrap());

    let token = app.csrf(&c, "/account").await;
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let removal = set_cookie(&r, "monban_session").unwrap();
    assert!(removal.contains("Max-Age=0"), "{removal}");

    // Replaying the old cookie value does not work: the row is ended, not just the cookie.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = replay
        .get(app.url("/account"))
        .header("cookie", format!("monban_session={session_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?return_to=%2Faccount");
    assert!(app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .is_empty());
}

async fn redirect_after_login_is_local_only(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    app.create_user("erin@example.com", PW).await;
    for (target, expected) in [
        ("/account?tab=security", "/account?tab=security"),
        ("https://evil.example/steal", "/account"),
        ("//evil.example/steal", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ] {
        let c = app.client();
        let page = c
            .get(app.url("/login"))
            .query(&[("return_to", target)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = extract_csrf(&page).unwrap();
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("username", "erin@example.com"),
                ("password", PW),
                ("csrf_token", &token),
                ("return_to", target),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], expected, "return_to={target}");
    }
}

async fn lockout_after_repeated_failures_and_lifts_by_itself(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 3;
        c.lockout.lock_duration_secs = 300;
        c.lockout.backoff_multiplier = 2;
    })
    .await
    .unwrap();
    let user = app.create_user("frank@example.com", PW).await;
    let c = app.client();
    for _ in 0..3 {
        let r = app.login(&c, "frank@example.com", "wrong-password-x").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert!(u.is_locked(app.clock.now()), "{u:?}");
    // Right password while locked: refused, with the same answer as any other try
    // during the lock (which says the account is locked).
    let r = app.login(&c, "frank@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("locked"));

    app.clock.advance(Duration::seconds(301));
    let r = app.login(&c, "frank@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "temporary lock lifted");
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.status, "active");
    assert_eq!(u.failed_logins, 0);

    // Backoff: lock again twice; the second lock lasts twice as long.
    let c2 = app.client();
    for _ in 0..3 {
        app.login(&c2, "frank@example.com", "wrong-password-x")
            .await;
    }
    app.clock.advance(Duration::seconds(301));
    for _ in 0..3 {
        app.login(&c2, "frank@example.com", "wrong-password-x")
            .await;
    }
    app.clock.advance(Duration::seconds(301));
    let r = app.login(&c2, "frank@example.com", PW).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "second lock lasts 600s"
    );
    app.clock.advance(Duration::seconds(300));
    let r = app.login(&c2, "frank@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn permanent_lockout_stays(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 2;
        c.lockout.permanent = true;
    })
    .await
    .unwrap();
    let user = app.create_user("gina@example.com", PW).await;
    let c = app.client();
    for _ in 0..2 {
        app.login(&c, "gina@example.com", "wrong-password-x").await;
    }
    app.clock.advance(Duration::days(30));
    let r = app.login(&c, "gina@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.status, "locked");
    assert_eq!(u.locked_until, None);
}

async fn idle_and_absolute_session_timeouts(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.session.idle_timeout_secs = 600;
        c.session.absolute_lifetime_secs = 1800;
    })
    .await
    .unwrap();
    let user = app.create_user("hana@example.com", PW).await;
    let c = app.client();
    assert_eq!(app.login(&c, "hana@example.com", PW).await.status(), 303);
    // Activity every 9 minutes keeps it alive…
    for _ in 0..3 {
        app.clock.advance(Duration::seconds(540));
        assert_eq!(
            c.get(app.url("/account")).send().await.unwrap().status(),
            200
        );
    }
    // …until the absolute lifetime (1800 s) has passed.
    app.clock.advance(Duration::seconds(240));
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        303
    );

    // Idle timeout.
    let c2 = app.client();
    assert_eq!(app.login(&c2, "hana@example.com", PW).await.status(), 303);
    app.clock.advance(Duration::seconds(601));
    assert_eq!(
        c2.get(app.url("/account")).send().await.unwrap().status(),
        303
    );
    assert!(app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .is_empty());
}

async fn pending_user_cannot_sign_in(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let u = monban::users::create(
        &app.state,
        monban::users::CreateUser {
            email: "ivy@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(u.status, "pending");
    let r = app.login(&app.client(), "ivy@example.com", "").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .login(&app.client(), "ivy@example.com", "anything-at-all")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn login_by_login_id_and_case_insensitive_email(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    monban::users::create(
        &app.state,
        monban::users::CreateUser {
            email: "Jun@Example.com".into(),
            login_id: Some("jun.sato".into()),
            password: Some(PW.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.login(&app.client(), "JUN@example.COM ", PW)
            .await
            .status(),
        303
    );
    assert_eq!(app.login(&app.client(), "Jun.Sato", PW).await.status(), 303);
}

async fn new_sign_in_replaces_the_previous_session(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("kai@example.com", PW).await;
    let c = app.client();
    let first = cookie_value(
        set_cookie(
            &app.login(&c, "kai@example.com", PW).await,
            "monban_session",
        )
        .unwrap(),
    );
    let second = cookie_value(
        set_cookie(
            &app.login(&c, "kai@example.com", PW).await,
            "monban_session",
        )
        .unwrap(),
    );
    assert_ne!(first, second, "session id changes at sign-in");
    let live = app.state.store.list_live_sessions(user.id).await.unwrap();
    assert_eq!(live.len(), 1);
}

/// The login events of a user, oldest first.
async fn results(app: &TestApp, user: uuid::Uuid) -> Vec<String> {
    let mut ev = app
        .state
        .store
        .list_login_events(user, app.clock.now() - Duration::hours(1), 1000)
        .await
        .unwrap();
    ev.reverse();
    ev.into_iter().map(|e| e.result).collect()
}

/// While an account is locked, the right and a wrong password get the same status and
/// the same page (no oracle); each try is counted and audited, and enough of them
/// during the lock lock it again (permanently under a permanent policy).
async fn locked_account_answers_the_same_whatever_the_password(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 3;
        c.lockout.lock_duration_secs = 300;
    })
    .await
    .unwrap();
    let user = app.create_user("lena@example.com", PW).await;
    let c = app.client();
    for _ in 0..3 {
        app.login(&c, "lena@example.com", "wrong-password-x").await;
    }
    assert!(app
        .state
        .store
        .get_user(user.id)
        .await
        .unwrap()
        .is_locked(app.clock.now()));
    let right = app.login(&c, "lena@example.com", PW).await;
    let (rs, rl) = (right.status(), right.headers().get("location").cloned());
    let right_body = right.text().await.unwrap();
    let wrong = app.login(&c, "lena@example.com", "wrong-password-y").await;
    let (ws, wl) = (wrong.status(), wrong.headers().get("location").cloned());
    let wrong_body = wrong.text().await.unwrap();
    assert_eq!(rs, StatusCode::UNAUTHORIZED);
    assert_eq!((rs, rl), (ws, wl));
    assert_eq!(right_body, wrong_body, "no oracle while locked");
    // Both say what happened: only time or an administrator can help now.
    assert!(
        right_body.contains("locked after repeated failed sign-ins"),
        "{right_body}"
    );
    // Both tries were counted and audited.
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.failed_logins, 2, "{u:?}");
    let r = results(&app, user.id).await;
    assert_eq!(&r[3..], ["locked", "locked"], "{r:?}");
    let audit = app
        .state
        .store
        .list_audit_events_for_user(user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "sign_in.failed" && e.details.contains("\"locked\""))
            .count(),
        2
    );
    // The admin makes the policy permanent: the next tries during the lock trip it.
    let api = app.admin().await;
    let (s, mut p) = api.get("/policy").await;
    assert_eq!(s, 200, "{p}");
    p["lockout"]["permanent"] = serde_json::json!(true);
    let (s, p) = api.put("/policy", p).await;
    assert_eq!(s, 200, "{p}");
    app.login(&c, "lena@example.com", "wrong-password-z").await;
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.status, "locked");
    assert_eq!(u.locked_until, None, "now locked for good: {u:?}");
    app.clock.advance(Duration::days(1));
    let r = app.login(&c, "lena@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// 30 wrong passwords at once against an account that locks after 5: at most 5 are
/// ever checked (the others are refused unchecked), and then the right password is
/// refused too.
async fn parallel_wrong_passwords_verify_at_most_the_threshold(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 5;
        c.lockout.lock_duration_secs = 600;
        c.database.max_connections = 8;
    })
    .await
    .unwrap();
    let user = app.create_user("mika@example.com", PW).await;
    let c = app.client();
    let token = app.csrf(&c, "/login").await;
    let tries = (0..30).map(|i| {
        let c = c.clone();
        let url = app.url("/login");
        let token = token.clone();
        async move {
            c.post(url)
                .form(&[
                    ("username", "mika@example.com"),
                    ("password", &format!("wrong-guess-{i}")),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    let r = results(&app, user.id).await;
    assert_eq!(r.len(), 30, "every try is recorded: {r:?}");
    let checked = r
        .iter()
        .filter(|x| *x == "bad_password" || *x == "bad_password_locked")
        .count();
    assert!(checked <= 5, "{checked} passwords checked: {r:?}");
    let locks = app
        .state
        .store
        .list_audit_events_for_user(user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "account.locked")
        .count();
    // Locked, and locked again (longer) by the tries counted during the lock.
    assert!(locks >= 1, "{r:?}");
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert!(u.is_locked(app.clock.now()), "{u:?}");
    let r = app.login(&c, "mika@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "monban_session").is_none());
}

/// Wrong current passwords at `/account/password` count towards the lockout like
/// wrong ones at sign-in, and are audited; once locked, the right current password
/// gets the same answer as a wrong one.
async fn wrong_current_passwords_at_account_password_count_towards_lockout(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 3;
        c.lockout.lock_duration_secs = 600;
    })
    .await
    .unwrap();
    let user = app.create_user("nora@example.com", PW).await;
    let c = app.client();
    assert_eq!(app.login(&c, "nora@example.com", PW).await.status(), 303);
    let change = |current: &'static str| {
        let c = c.clone();
        let app = &app;
        async move {
            let token = app.csrf(&c, "/account/password").await;
            let r = c
                .post(app.url("/account/password"))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("current_password", current),
                    ("new_password", "violet-Harbor-77-quartz"),
                    ("confirm_password", "violet-Harbor-77-quartz"),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    for i in 0..3 {
        let (s, _) = change(["guess-1-wrong", "guess-2-wrong", "guess-3-wrong"][i]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert!(u.is_locked(app.clock.now()), "{u:?}");
    let r = results(&app, user.id).await;
    assert_eq!(
        &r[1..],
        [
            "password_change_bad_password",
            "password_change_bad_password",
            "bad_password_locked"
        ],
        "{r:?}"
    );
    // Locked: right and wrong current passwords get the same answer; nothing changes.
    let (rs, rb) = change(PW).await;
    let (ws, wb) = change("guess-4-wrong").await;
    assert_eq!((rs, &rb), (ws, &wb));
    let u2 = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(
        u2.password_hash, u.password_hash,
        "the password did not change"
    );
    assert_eq!(
        app.login(&app.client(), "nora@example.com", PW)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Behind https, the CSRF and session cookies carry the `__Host-` prefix: a sibling
/// (sub)domain cannot plant one (browsers refuse such a cookie with a `Domain`), and a
/// plain-named cookie it could plant is not read.
async fn secure_cookies_are_host_only(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.server.issuer = "https://idp.example.com".into();
    })
    .await
    .unwrap();
    app.create_user("host@example.com", PW).await;
    // No cookie store: the cookies are Secure and this is plain http.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c.get(app.url("/login")).send().await.unwrap();
    let sc = set_cookie(&r, "__Host-monban_csrf").expect("__Host- CSRF cookie");
    assert!(
        sc.contains("Secure") && sc.contains("Path=/") && !sc.contains("Domain"),
        "{sc}"
    );
    assert!(set_cookie(&r, "monban_csrf").is_none());
    let value = cookie_value(sc);
    let token = extract_csrf(&r.text().await.unwrap()).unwrap();
    let form = [
        ("username", "host@example.com"),
        ("password", PW),
        ("csrf_token", token.as_str()),
    ];
    // The same pair under the plain name (what a sibling domain could set): refused.
    let r = c
        .post(app.url("/login"))
        .header("cookie", format!("monban_csrf={value}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Under its own name: signed in, with a __Host- session cookie.
    let r = c
        .post(app.url("/login"))
        .header("cookie", format!("__Host-monban_csrf={value}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&r, "__Host-monban_session").expect("__Host- session cookie");
    assert!(
        session.contains("Secure") && session.contains("Path=/") && !session.contains("Domain")
    );
    let token = cookie_value(session);
    // A plain-named session cookie is not read.
    let r = c
        .get(app.url("/account"))
        .header("cookie", format!("monban_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "not signed in");
    let r = c
        .get(app.url("/account"))
        .header("cookie", format!("__Host-monban_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
