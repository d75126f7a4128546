//! Two-step sign-in over real HTTP with a fake clock and totp-rs as the authenticator
//! app: enrolment, the second step, bad input, replay, races, lockout.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{set_cookie, Backend, TestApp};
use mfa_support::*;
use monban::clock::Clock;
use reqwest::StatusCode;

on_both_backends!(
    enrolment_requires_reauth_and_a_valid_current_code,
    stale_or_foreign_pending_secret_is_refused,
    totp_secret_is_encrypted_at_rest,
    sign_in_requires_the_second_step,
    bad_codes_are_refused_with_a_clear_message,
    window_is_one_step_either_side_and_steps_are_never_reused,
    concurrent_submissions_of_one_step_exactly_one_wins,
    second_step_needs_the_first_step_in_the_same_browser,
    too_many_wrong_codes_drop_the_sign_in_and_count_towards_lockout,
    half_finished_sign_in_expires,
    tries_are_counted_before_the_code_is_checked,
);

async fn enrolment_requires_reauth_and_a_valid_current_code(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("alice@example.com", PW).await;
    let c = app.client();
    assert_eq!(app.login(&c, "alice@example.com", PW).await.status(), 303);

    // Not signed in: to the login page.
    let anon = app
        .client()
        .get(app.url("/account/mfa/enroll"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    assert!(location(&anon).starts_with("/login?return_to="));

    // The password was entered more than reauth_window_secs (300) ago: re-enter it.
    app.clock.advance(Duration::seconds(301));
    let r = c.get(app.url("/account/mfa/enroll")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        "/account/reauth?return_to=%2Faccount%2Fmfa%2Fenroll"
    );
    let page = c.get(app.url(&location(&r))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="password""#) && html.contains("alice@example.com"));
    // Wrong password: refused (and counted).
    let r = post_form(
        &app,
        &c,
        "/account/reauth",
        &[
            ("password", "not-the-password"),
            ("return_to", "/account/mfa/enroll"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The password is incorrect."));
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.failed_logins, 1);
    // CSRF is enforced on re-authentication.
    let r = c
        .post(app.url("/account/reauth"))
        .form(&[("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_form(
        &app,
        &c,
        "/account/reauth",
        &[("password", PW), ("return_to", "/account/mfa/enroll")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/account/mfa/enroll");

    // The enrolment page: QR (inline SVG data URI), otpauth link, account and key.
    let p = open_enrolment(&app, &c).await;
    assert!(p.html.contains(r#"src="data:image/svg+xml;base64,"#));
    let uri = between(&p.html, r#"<a id="otpauth" href=""#, "\"")
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        uri.starts_with("otpauth://totp/Monban:alice%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains("issuer=Monban"), "{uri}");
    let key_plain: String = p.key.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(key_plain.len(), 32, "160-bit key in base32");
    assert!(uri.contains(&format!("secret={key_plain}")), "{uri}");
    assert!(p
        .html
        .contains(r#"<dd id="totp-account">alice@example.com</dd>"#));
    assert_eq!(p.auth.secret.len(), 20);
    assert!(
        !monban::authn::mfa::status(&app.state, user.id)
            .await
            .unwrap()
            .enabled
    );

    // A wrong code and a malformed one: refused, MFA stays off.
    let r = confirm_enrolment(&app, &c, &p.pending_id, &p.auth.code(&app, 3)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains(WRONG_CODE_EN));
    let r = confirm_enrolment(&app, &c, &p.pending_id, "12ab56").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The security code is 6 digits."));
    assert!(
        !monban::authn::mfa::status(&app.state, user.id)
            .await
            .unwrap()
            .enabled
    );
    // CSRF is enforced on the confirmation.
    let r = c
        .post(app.url("/account/mfa/enroll"))
        .form(&[
            ("pending_id", p.pending_id.as_str()),
            ("code", &p.auth.code(&app, 0)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The current code turns MFA on and shows 10 backup codes once.
    let r = confirm_enrolment(&app, &c, &p.pending_id, &p.auth.code(&app, 0)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Two-step verification is on"));
    let codes = backup_codes_in(&html);
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 11, "two groups of five: {code}");
    }
    assert!(html.contains(r#"action="/account/mfa/backup-codes/download""#));
    let st = monban::authn::mfa::status(&app.state, user.id)
        .await
        .unwrap();
    assert!(st.enabled);
    assert_eq!(st.backup_codes_remaining, 10);
    assert_eq!(st.enrolled_at, Some(app.clock.now()));
    // The same page cannot be confirmed twice.
    let r = confirm_enrolment(&app, &c, &p.pending_id, &p.auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // This session proved password + code: it is an MFA session now.
    let s = newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd otp mfa");
    assert_eq!(s.acr, "urn:monban:acr:mfa");
    // The account page shows it, with the codes left.
    let html = c
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<strong id="mfa-state">On</strong>"#),
        "{html}"
    );
    assert!(html.contains(r#"<strong id="backup-codes-remaining">10</strong>"#));

    // Security events, with where they came from.
    let events = audit_actions(&app, user.id).await;
    let mut actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, ["mfa.enrolled", "session.reauthenticated"]);
    for e in &events {
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.user_agent.as_deref(), Some("monban-tests/1.0"));
        assert_eq!(e.actor_kind, "user");
        assert_eq!(e.actor_id, Some(user.id));
    }
    let enrolled = events.iter().find(|e| e.action == "mfa.enrolled").unwrap();
    let details: serde_json::Value = serde_json::from_str(&enrolled.details).unwrap();
    assert_eq!(details["re_enrolment"], false);
}

async fn stale_or_foreign_pending_secret_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("bob@example.com", PW).await;
    let c = app.client();
    app.login(&c, "bob@example.com", PW).await;
    let a = open_enrolment(&app, &c).await;
    let bb = open_enrolment(&app, &c).await;
    assert_ne!(a.key, bb.key, "every enrolment page has a new key");
    let off = || async {
        !monban::authn::mfa::is_enabled(&app.state, user.id)
            .await
            .unwrap()
    };

    // The first page's key was replaced by the second page's.
    let r = confirm_enrolment(&app, &c, &a.pending_id, &a.auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This setup page is out of date"));
    assert!(off().await);
    // Old key's code against the new page: just a wrong code.
    let r = confirm_enrolment(&app, &c, &bb.pending_id, &a.auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(off().await);
    // Garbage ids.
    for id in ["", "not-a-uuid", &uuid::Uuid::new_v4().to_string()] {
        let r = confirm_enrolment(&app, &c, id, &bb.auth.code(&app, 0)).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{id:?}");
    }
    // Another session of the same user cannot confirm this session's page.
    let other = app.client();
    app.login(&other, "bob@example.com", PW).await;
    let r = confirm_enrolment(&app, &other, &bb.pending_id, &bb.auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(off().await);
    // An expired page (enrollment_lifetime_secs = 900) cannot be confirmed.
    let c2 = app.client();
    app.login(&c2, "bob@example.com", PW).await;
    let late = open_enrolment(&app, &c2).await;
    app.clock.advance(Duration::seconds(901));
    let r = confirm_enrolment(&app, &c2, &late.pending_id, &late.auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(off().await);
    // A fresh page works.
    let c3 = app.client();
    app.login(&c3, "bob@example.com", PW).await;
    let p = open_enrolment(&app, &c3).await;
    let r = confirm_enrolment(&app, &c3, &p.pending_id, &p.auth.code(&app, 0)).await;
    assert_eq!(r.status(), 200);
    assert!(!off().await);
}

async fn totp_secret_is_encrypted_at_rest(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, auth, _) = enrolled_user(&app, &c, "carol@example.com").await;
    let row = app.state.store.get_totp(user.id).await.unwrap().unwrap();
    let sealed = &row.secret_enc;
    assert_eq!(
        sealed.len(),
        1 + 12 + 20 + 16,
        "version, nonce, ciphertext, tag"
    );
    assert!(!sealed.windows(20).any(|w| w == auth.secret.as_slice()));
    let b32 = totp_rs::Secret::from(auth.secret.clone()).to_base32();
    assert!(!String::from_utf8_lossy(sealed).contains(&b32));
    let secrets = app.state.keys.secrets();
    assert_eq!(
        secrets.open_totp_secret(user.id, sealed),
        Some(auth.secret.clone())
    );
    assert_eq!(secrets.open_totp_secret(uuid::Uuid::new_v4(), sealed), None);
    // Backup codes are stored only as keyed hashes: no plaintext in the database.
    if b == Backend::Sqlite {
        let dir = app.db.dir.path().to_path_buf();
        let mut bytes = Vec::new();
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            if f.file_name().to_string_lossy().starts_with("monban.db") {
                bytes.extend(std::fs::read(f.path()).unwrap());
            }
        }
        assert!(!bytes.is_empty());
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&b32),
            "the base32 key is not in the database files"
        );
        assert!(!bytes.windows(20).any(|w| w == auth.secret.as_slice()));
    }
}

async fn sign_in_requires_the_second_step(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (user, auth, _) = enrolled_user(&app, &setup, "dave@example.com").await;
    let c = app.client();
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("username", "dave@example.com"),
            ("password", PW),
            ("csrf_token", &token),
            ("return_to", "/account?tab=security"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login/mfa");
    assert!(set_cookie(&r, "monban_session").is_none());
    let ch = set_cookie(&r, "monban_mfa")
        .expect("challenge cookie")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/login", "Max-Age=300"] {
        assert!(ch.contains(attr), "{ch} lacks {attr}");
    }
    assert_eq!(common::cookie_value(&ch).len(), 43, "256-bit token");
    // Not signed in yet.
    let r = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let page = c.get(app.url("/login/mfa")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        r#"action="/login/mfa""#,
        r#"name="code""#,
        r#"autocomplete="one-time-code""#,
        r#"inputmode="numeric""#,
        r#"name="csrf_token""#,
        r#"href="/login/backup-code""#,
    ] {
        assert!(html.contains(needle), "second step lacks {needle}");
    }
    // CSRF is enforced.
    let r = c
        .post(app.url("/login/mfa"))
        .form(&[("code", auth.code(&app, 0))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/account?tab=security", "return_to kept");
    assert!(set_cookie(&r, "monban_session").is_some());
    assert!(set_cookie(&r, "monban_mfa").unwrap().contains("Max-Age=0"));
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
    let s = newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd otp mfa");
    assert_eq!(s.acr, monban::sessions::ACR_MFA);
    let events = app
        .state
        .store
        .list_login_events(user.id, app.clock.now() - Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(events[0].result, "success");
    assert_eq!(events[0].session_id, Some(s.id));
    // The challenge is spent: the same cookie cannot sign in again.
    app.clock.advance(Duration::seconds(30));
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn bad_codes_are_refused_with_a_clear_message(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.max_attempts = 20)
        .await
        .unwrap();
    let setup = app.client();
    let (user, auth, _) = enrolled_user(&app, &setup, "erin@example.com").await;
    let c = app.client();
    password_step(&app, &c, "erin@example.com").await;
    for bad in [
        "",
        "abcdef",
        "12345",
        "1234567",
        "12 34 5",
        "12345a",
        "+12345",
        "１２３４５",
    ] {
        let r = submit_code(&app, &c, "/login/mfa", bad).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
        assert!(set_cookie(&r, "monban_session").is_none());
        let html = r.text().await.unwrap();
        assert!(
            html.contains("The security code is 6 digits."),
            "{bad:?}: {html}"
        );
    }
    for d in [-3, -2, 2, 3, 10] {
        let code = auth.code(&app, d);
        if (-1..=1).any(|e| auth.code(&app, e) == code) {
            continue; // a one-in-a-million clash with an accepted step
        }
        let r = submit_code(&app, &c, "/login/mfa", &code).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "step {d}");
        assert!(r.text().await.unwrap().contains(WRONG_CODE_EN));
    }
    // In Japanese.
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/login/mfa"))
        .header("accept-language", "ja")
        .form(&[("code", "000000"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    if !(-1..=1).any(|e| auth.code(&app, e) == "000000") {
        assert!(html.contains(WRONG_CODE_JA), "{html}");
    }
    // None of that advanced or broke the sign-in: the right code still works.
    assert!(
        app.state
            .store
            .list_live_sessions(user.id)
            .await
            .unwrap()
            .len()
            == 1
    );
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Full-width digits (an IME left on) are read as digits.
    app.clock.advance(Duration::seconds(30));
    let c2 = app.client();
    password_step(&app, &c2, "erin@example.com").await;
    let wide: String = auth
        .code(&app, 0)
        .chars()
        .map(|d| char::from_u32(d as u32 + 0xFEE0).unwrap())
        .collect();
    let r = submit_code(&app, &c2, "/login/mfa", &wide).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Wrong codes were recorded as such.
    let events = app
        .state
        .store
        .list_login_events(user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.result == "bad_second_factor")
            .count()
            >= 10
    );
}

async fn window_is_one_step_either_side_and_steps_are_never_reused(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.max_attempts = 20)
        .await
        .unwrap();
    let setup = app.client();
    let (_, auth, _) = enrolled_user(&app, &setup, "fay@example.com").await;
    app.clock.advance(Duration::seconds(90));
    let sign_in = |code: String| {
        let app = &app;
        async move {
            let c = app.client();
            password_step(app, &c, "fay@example.com").await;
            submit_code(app, &c, "/login/mfa", &code).await.status()
        }
    };
    // One step back is accepted (a slow typist, a slow phone clock)…
    assert_eq!(sign_in(auth.code(&app, -1)).await, 303);
    // …but not twice (replay), nor any earlier step once a later one was used.
    assert_eq!(sign_in(auth.code(&app, -1)).await, 401);
    // The current step.
    assert_eq!(sign_in(auth.code(&app, 0)).await, 303);
    assert_eq!(sign_in(auth.code(&app, 0)).await, 401, "replay");
    assert_eq!(
        sign_in(auth.code(&app, -1)).await,
        401,
        "older than the last used"
    );
    // One step ahead (a fast phone clock).
    assert_eq!(sign_in(auth.code(&app, 1)).await, 303);
    assert_eq!(sign_in(auth.code(&app, 1)).await, 401, "replay");
    assert_eq!(
        sign_in(auth.code(&app, 0)).await,
        401,
        "older than the last used"
    );
    // The replayed code's message says to wait for the next code.
    let c = app.client();
    password_step(&app, &c, "fay@example.com").await;
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 1)).await;
    assert!(r.text().await.unwrap().contains(WRONG_CODE_EN));
    // Waiting for the next code works.
    app.clock.advance(Duration::seconds(30));
    assert_eq!(sign_in(auth.code(&app, 1)).await, 303);
    // Two steps away either side: refused.
    app.clock.advance(Duration::seconds(120));
    let c = app.client();
    password_step(&app, &c, "fay@example.com").await;
    for d in [-2, 2] {
        let code = auth.code(&app, d);
        if (-1..=1).any(|e| auth.code(&app, e) == code) {
            continue;
        }
        assert_eq!(
            submit_code(&app, &c, "/login/mfa", &code).await.status(),
            401
        );
    }
}

async fn concurrent_submissions_of_one_step_exactly_one_wins(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (user, auth, _) = enrolled_user(&app, &setup, "gus@example.com").await;
    for round in 0..4 {
        // Same browser, same half-finished sign-in, same code, twice at once.
        let c = app.client();
        password_step(&app, &c, "gus@example.com").await;
        let token = app.csrf(&c, "/login").await;
        let code = auth.code(&app, 0);
        let send = || {
            c.post(app.url("/login/mfa"))
                .form(&[("code", code.as_str()), ("csrf_token", token.as_str())])
                .send()
        };
        let (r1, r2) = tokio::join!(send(), send());
        let mut statuses = [r1.unwrap().status(), r2.unwrap().status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED],
            "round {round}"
        );
        app.clock.advance(Duration::seconds(30));

        // Two browsers that both did the password step, same code at once.
        let (c1, c2) = (app.client(), app.client());
        password_step(&app, &c1, "gus@example.com").await;
        password_step(&app, &c2, "gus@example.com").await;
        let (t1, t2) = (app.csrf(&c1, "/login").await, app.csrf(&c2, "/login").await);
        let code = auth.code(&app, 0);
        let (r1, r2) = tokio::join!(
            c1.post(app.url("/login/mfa"))
                .form(&[("code", code.as_str()), ("csrf_token", t1.as_str())])
                .send(),
            c2.post(app.url("/login/mfa"))
                .form(&[("code", code.as_str()), ("csrf_token", t2.as_str())])
                .send(),
        );
        let mut statuses = [r1.unwrap().status(), r2.unwrap().status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED],
            "round {round}"
        );
        app.clock.advance(Duration::seconds(30));
    }
    // 1 enrolment session + 8 winners.
    assert_eq!(
        app.state
            .store
            .list_live_sessions(user.id)
            .await
            .unwrap()
            .len(),
        9
    );
}

async fn second_step_needs_the_first_step_in_the_same_browser(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (user, auth, codes) = enrolled_user(&app, &setup, "hal@example.com").await;
    let sessions_before = app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .len();

    // No first step at all.
    let fresh = app.client();
    for path in ["/login/mfa", "/login/backup-code"] {
        let r = fresh.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("was not started in this browser"));
    }
    let r = submit_code(&app, &fresh, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "monban_session").is_none());
    let r = submit_code(&app, &fresh, "/login/backup-code", &codes[0]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The first step in browser A, the second from browser B.
    let a = app.client();
    password_step(&app, &a, "hal@example.com").await;
    let bb = app.client();
    let r = submit_code(&app, &bb, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("was not started in this browser"));
    // A made-up challenge cookie (with a valid CSRF pair of its own).
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = raw.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = common::cookie_value(set_cookie(&page, "monban_csrf").unwrap());
    let csrf = common::extract_csrf(&page.text().await.unwrap()).unwrap();
    let forged = monban::util::random_token(32);
    let r = raw
        .post(app.url("/login/mfa"))
        .header(
            "cookie",
            format!("monban_csrf={csrf_cookie}; monban_mfa={forged}"),
        )
        .form(&[("code", auth.code(&app, 0).as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.state
            .store
            .list_live_sessions(user.id)
            .await
            .unwrap()
            .len(),
        sessions_before,
        "nothing signed in"
    );
    // None of that used up the code or the step: browser A finishes.
    let r = submit_code(&app, &a, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(codes.len() == 10);
    assert_eq!(
        monban::authn::mfa::status(&app.state, user.id)
            .await
            .unwrap()
            .backup_codes_remaining,
        10
    );
}

async fn too_many_wrong_codes_drop_the_sign_in_and_count_towards_lockout(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.lockout.max_failures = 2;
        c.lockout.lock_duration_secs = 600;
    })
    .await
    .unwrap();
    let setup = app.client();
    let (user, auth, _) = enrolled_user(&app, &setup, "ivy@example.com").await;
    let wrong = || {
        let mut w = "000000".to_string();
        while (-1..=1).any(|d| auth.code(&app, d) == w) {
            w = format!("{:06}", w.parse::<u32>().unwrap() + 1);
        }
        w
    };
    let c = app.client();
    password_step(&app, &c, "ivy@example.com").await;
    for i in 1..=4 {
        let r = submit_code(&app, &c, "/login/mfa", &wrong()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(
            r.text().await.unwrap().contains(WRONG_CODE_EN),
            "attempt {i} keeps the form"
        );
    }
    let r = submit_code(&app, &c, "/login/mfa", &wrong()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "monban_mfa").unwrap().contains("Max-Age=0"));
    assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    // Dropped: even the right code no longer signs in with it.
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!(u.failed_logins, 1, "the dropped sign-in counts once");
    assert_eq!(u.status, "active");

    // The right password in between does not reset the count; a second drop locks.
    let c = app.client();
    password_step(&app, &c, "ivy@example.com").await;
    assert_eq!(
        app.state
            .store
            .get_user(user.id)
            .await
            .unwrap()
            .failed_logins,
        1
    );
    for _ in 0..5 {
        submit_code(&app, &c, "/login/mfa", &wrong()).await;
    }
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert!(u.is_locked(app.clock.now()), "{u:?}");
    let r = app.login(&app.client(), "ivy@example.com", PW).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.text().await.unwrap().contains("locked"),
        "while locked, the right password gets the answer any other try gets: locked"
    );

    // Recorded as sign-in results and as security events (with IP and user agent).
    let results: Vec<String> = app
        .state
        .store
        .list_login_events(user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert!(
        results.contains(&"second_factor_dropped".to_string()),
        "{results:?}"
    );
    assert!(
        results.contains(&"bad_password_locked".to_string()),
        "{results:?}"
    );
    let dropped: Vec<_> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.challenge.dropped")
        .collect();
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(dropped[0].user_agent.as_deref(), Some("monban-tests/1.0"));

    // After the lock lifts, a full sign-in works and clears the count.
    app.clock.advance(Duration::seconds(601));
    let c = sign_in_with_totp(&app, "ivy@example.com", &auth).await;
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert_eq!((u.status.as_str(), u.failed_logins), ("active", 0));
}

async fn half_finished_sign_in_expires(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (_, auth, _) = enrolled_user(&app, &setup, "jo@example.com").await;
    let c = app.client();
    password_step(&app, &c, "jo@example.com").await;
    app.clock.advance(Duration::seconds(301));
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("has expired"));
}

/// No more than `mfa.max_attempts` codes are ever checked on one half-finished sign-in,
/// however many submissions run at once: each try is counted before its code is looked
/// at. Here the tries of parallel submissions still in flight are counted on the
/// challenge (as they would be by then); a right code arriving now is not checked.
async fn tries_are_counted_before_the_code_is_checked(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.max_attempts = 3)
        .await
        .unwrap();
    let setup = app.client();
    let (user, auth, _) = enrolled_user(&app, &setup, "quinn@example.com").await;
    let c = app.client();
    let r = app.login(&c, "quinn@example.com", PW).await;
    assert_eq!(location(&r), "/login/mfa");
    let token = common::cookie_value(set_cookie(&r, "monban_mfa").expect("challenge cookie"));
    let ch = app
        .state
        .store
        .find_mfa_challenge(&monban::sessions::hash_token(&app.state, &token))
        .await
        .unwrap()
        .expect("the challenge");
    for _ in 0..3 {
        app.state
            .store
            .add_mfa_challenge_attempt(ch.id)
            .await
            .unwrap();
    }
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a fourth check");
    assert!(set_cookie(&r, "monban_session").is_none());
    assert!(app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .iter()
        .all(|s| s.created_at < ch.created_at));
}
