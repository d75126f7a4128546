//! Backup codes over real HTTP: single use (also when two sign-ins race), how many
//! remain, regeneration, download, and turning MFA off.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{set_cookie, Backend, TestApp};
use mfa_support::*;
use reqwest::StatusCode;

on_both_backends!(
    backup_code_signs_in_once_and_keeps_mfa_on,
    remaining_codes_are_shown_and_two_or_fewer_warn,
    concurrent_submissions_of_one_backup_code_exactly_one_wins,
    regenerating_invalidates_every_earlier_code,
    codes_download_as_text_only_from_the_page_that_showed_them,
    disabling_needs_reauth_and_invalidates_the_codes,
    re_enrolling_replaces_the_authenticator_and_the_codes,
);

async fn backup_sign_in(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    let c = app.client();
    password_step(app, &c, email).await;
    submit_code(app, &c, "/login/backup-code", code).await
}

async fn backup_code_signs_in_once_and_keeps_mfa_on(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (user, _, codes) = enrolled_user(&app, &setup, "kim@example.com").await;
    let c = app.client();
    password_step(&app, &c, "kim@example.com").await;
    let page = c.get(app.url("/login/backup-code")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        r#"action="/login/backup-code""#,
        r#"name="code""#,
        r#"name="csrf_token""#,
        r#"href="/login/mfa""#,
        "xxxxx-xxxxx",
    ] {
        assert!(html.contains(needle), "backup form lacks {needle}");
    }
    // Typed loosely: upper case, spaces instead of the dash.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let r = submit_code(&app, &c, "/login/backup-code", &typed).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(set_cookie(&r, "monban_session").is_some());
    assert!(set_cookie(&r, "monban_mfa").unwrap().contains("Max-Age=0"));
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<strong id="backup-codes-left">9</strong>"#),
        "{html}"
    );
    assert!(html.contains(r#"href="/account""#), "continue link");
    assert!(!html.contains("running out"));
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
    let s = newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd backup_code mfa");
    assert_eq!(s.acr, "urn:monban:acr:mfa");
    // MFA stays on.
    let st = monban::authn::mfa::status(&app.state, user.id)
        .await
        .unwrap();
    assert!(st.enabled);
    assert_eq!(st.backup_codes_remaining, 9);

    // The same code again, an unknown code, a malformed one: refused.
    let r = backup_sign_in(&app, "kim@example.com", &codes[0]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "monban_session").is_none());
    assert!(r.text().await.unwrap().contains("already been used"));
    let r = backup_sign_in(&app, "kim@example.com", "22222-22222").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("already been used"));
    for bad in ["1234", "abcde-fghij-k", "uuuuu-uuuuu", "<script>"] {
        let r = backup_sign_in(&app, "kim@example.com", bad).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("not the format of a backup code"));
    }
    // In Japanese.
    let c = app.client();
    password_step(&app, &c, "kim@example.com").await;
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/login/backup-code"))
        .header("accept-language", "ja")
        .form(&[("code", codes[0].as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("すでに使用されています"));

    // A security event, with the count left, IP and user agent.
    let used: Vec<_> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.backup_code.used")
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(used[0].user_agent.as_deref(), Some("monban-tests/1.0"));
    let d: serde_json::Value = serde_json::from_str(&used[0].details).unwrap();
    assert_eq!(d["remaining"], 9);
}

async fn remaining_codes_are_shown_and_two_or_fewer_warn(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.backup_code_count = 4)
        .await
        .unwrap();
    let setup = app.client();
    let (_, _, codes) = enrolled_user(&app, &setup, "lee@example.com").await;
    assert_eq!(codes.len(), 4);
    let r = backup_sign_in(&app, "lee@example.com", &codes[0]).await;
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<strong id="backup-codes-left">3</strong>"#));
    assert!(!html.contains("You are running out of backup codes"));
    let r = backup_sign_in(&app, "lee@example.com", &codes[1]).await;
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<strong id="backup-codes-left">2</strong>"#));
    assert!(
        html.contains("You are running out of backup codes"),
        "{html}"
    );
    assert!(html.contains(r#"href="/account/mfa""#), "a way to re-enrol");
    // The account page shows the count and the warning too.
    let html = setup
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<strong id="backup-codes-remaining">2</strong>"#));
    assert!(html.contains("You are running out of backup codes"));
    // In Japanese.
    let c = app.client();
    password_step(&app, &c, "lee@example.com").await;
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/login/backup-code"))
        .header("accept-language", "ja")
        .form(&[("code", codes[2].as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("バックアップコードの残りが少なくなっています"),
        "{html}"
    );
    let r = backup_sign_in(&app, "lee@example.com", &codes[3]).await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(r#"<strong id="backup-codes-left">0</strong>"#));
}

async fn concurrent_submissions_of_one_backup_code_exactly_one_wins(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let setup = app.client();
    let (user, _, codes) = enrolled_user(&app, &setup, "max@example.com").await;
    for (round, code) in codes.iter().take(3).enumerate() {
        // Two browsers racing with the same code.
        let (c1, c2) = (app.client(), app.client());
        password_step(&app, &c1, "max@example.com").await;
        password_step(&app, &c2, "max@example.com").await;
        let (t1, t2) = (app.csrf(&c1, "/login").await, app.csrf(&c2, "/login").await);
        let (r1, r2) = tokio::join!(
            c1.post(app.url("/login/backup-code"))
                .form(&[("code", code.as_str()), ("csrf_token", t1.as_str())])
                .send(),
            c2.post(app.url("/login/backup-code"))
                .form(&[("code", code.as_str()), ("csrf_token", t2.as_str())])
                .send(),
        );
        let mut statuses = [r1.unwrap().status(), r2.unwrap().status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::UNAUTHORIZED],
            "round {round}"
        );
    }
    // The same browser submitting one code twice at once.
    let c = app.client();
    password_step(&app, &c, "max@example.com").await;
    let token = app.csrf(&c, "/login").await;
    let send = || {
        c.post(app.url("/login/backup-code"))
            .form(&[("code", codes[3].as_str()), ("csrf_token", token.as_str())])
            .send()
    };
    let (r1, r2) = tokio::join!(send(), send());
    let mut statuses = [r1.unwrap().status(), r2.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    let st = monban::authn::mfa::status(&app.state, user.id)
        .await
        .unwrap();
    assert_eq!(st.backup_codes_remaining, 6);
}

async fn regenerating_invalidates_every_earlier_code(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, auth, old) = enrolled_user(&app, &c, "nia@example.com").await;
    assert_eq!(
        backup_sign_in(&app, "nia@example.com", &old[0])
            .await
            .status(),
        200
    );

    // Needs a recent password.
    app.clock.advance(Duration::seconds(301));
    let r = c
        .get(app.url("/account/mfa/backup-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        "/account/reauth?return_to=%2Faccount%2Fmfa%2Fbackup%2Dcodes"
    );
    let r = post_form(&app, &c, "/account/mfa/backup-codes", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the POST is gated too");
    assert_eq!(
        monban::authn::mfa::status(&app.state, user.id)
            .await
            .unwrap()
            .backup_codes_remaining,
        9
    );
    let r = post_form(
        &app,
        &c,
        "/account/reauth",
        &[("password", PW), ("return_to", "/account/mfa/backup-codes")],
    )
    .await;
    assert_eq!(location(&r), "/account/mfa/backup-codes");
    let r = c
        .get(app.url("/account/mfa/backup-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(r#"action="/account/mfa/backup-codes""#));
    // CSRF.
    let r = c
        .post(app.url("/account/mfa/backup-codes"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = post_form(&app, &c, "/account/mfa/backup-codes", &[]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let new = backup_codes_in(&html);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|n| !old.contains(n)));
    assert!(html.contains("All earlier backup codes, used or not, no longer work."));

    // Every old code is dead, used or not; the new ones work; MFA is still on.
    for code in [&old[0], &old[1], &old[9]] {
        let r = backup_sign_in(&app, "nia@example.com", code).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{code}");
    }
    assert_eq!(
        backup_sign_in(&app, "nia@example.com", &new[0])
            .await
            .status(),
        200
    );
    let c2 = sign_in_with_totp(&app, "nia@example.com", &auth).await;
    drop(c2);
    let events = audit_actions(&app, user.id).await;
    let regen = events
        .iter()
        .find(|e| e.action == "mfa.backup_codes.regenerated")
        .expect("regeneration recorded");
    assert_eq!(regen.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(regen.user_agent.as_deref(), Some("monban-tests/1.0"));
}

async fn codes_download_as_text_only_from_the_page_that_showed_them(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (_, _, codes) = enrolled_user(&app, &c, "oli@example.com").await;
    let joined = codes.join(" ");
    let r = post_form(
        &app,
        &c,
        "/account/mfa/backup-codes/download",
        &[("codes", &joined)],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"backup-codes.txt\""
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = r.text().await.unwrap();
    for code in &codes {
        assert!(text.contains(code.as_str()), "{text}");
    }
    assert!(text.contains("oli@example.com"));
    // Nothing else is echoed; no CSRF, no session: refused.
    for bad in [
        "",
        "hello world",
        "<b>x</b>",
        &format!("{joined} {}", codes[0]),
    ] {
        let r = post_form(
            &app,
            &c,
            "/account/mfa/backup-codes/download",
            &[("codes", bad)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let r = c
        .post(app.url("/account/mfa/backup-codes/download"))
        .form(&[("codes", joined.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let anon = app.client();
    let r = post_form(
        &app,
        &anon,
        "/account/mfa/backup-codes/download",
        &[("codes", &joined)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The codes cannot be fetched again: no page or endpoint shows stored codes.
    for path in ["/account", "/account/mfa"] {
        let html = c
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            codes.iter().all(|code| !html.contains(code.as_str())),
            "{path}"
        );
    }
}

async fn disabling_needs_reauth_and_invalidates_the_codes(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, _, codes) = enrolled_user(&app, &c, "pat@example.com").await;
    app.clock.advance(Duration::seconds(301));
    let r = c.get(app.url("/account/mfa/disable")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        "/account/reauth?return_to=%2Faccount%2Fmfa%2Fdisable"
    );
    let r = post_form(&app, &c, "/account/mfa/disable", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/account/reauth"));
    assert!(monban::authn::mfa::is_enabled(&app.state, user.id)
        .await
        .unwrap());

    post_form(
        &app,
        &c,
        "/account/reauth",
        &[("password", PW), ("return_to", "/account/mfa/disable")],
    )
    .await;
    let r = c.get(app.url("/account/mfa/disable")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(app.url("/account/mfa/disable"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "CSRF");
    let r = post_form(&app, &c, "/account/mfa/disable", &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Two-step verification is off"));
    let st = monban::authn::mfa::status(&app.state, user.id)
        .await
        .unwrap();
    assert_eq!((st.enabled, st.backup_codes_remaining), (false, 0));
    assert_eq!(
        app.state
            .store
            .count_unused_backup_codes(user.id)
            .await
            .unwrap(),
        0
    );
    // Password alone signs in now.
    let r = app.login(&app.client(), "pat@example.com", PW).await;
    assert_eq!(location(&r), "/account");
    assert!(set_cookie(&r, "monban_session").is_some());
    // Enrolling again: the old codes stay dead.
    let (_, new) = enrol_signed_in(&app, &c).await;
    assert_eq!(new.len(), 10);
    let r = backup_sign_in(&app, "pat@example.com", &codes[1]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let actions: Vec<String> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"mfa.disabled".to_string()), "{actions:?}");
}

async fn re_enrolling_replaces_the_authenticator_and_the_codes(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, old_auth, old_codes) = enrolled_user(&app, &c, "quinn@example.com").await;
    // Re-enrol from a fresh MFA session.
    let c = sign_in_with_totp(&app, "quinn@example.com", &old_auth).await;
    let p = open_enrolment(&app, &c).await;
    assert!(p.html.contains("replaces your current authenticator"));
    // Until confirmed, the old authenticator and codes still work.
    assert_eq!(
        backup_sign_in(&app, "quinn@example.com", &old_codes[0])
            .await
            .status(),
        200
    );
    let r = confirm_enrolment(&app, &c, &p.pending_id, &p.auth.code(&app, 0)).await;
    assert_eq!(r.status(), 200);
    let new_codes = backup_codes_in(&r.text().await.unwrap());
    app.clock.advance(Duration::seconds(30));
    // The old app's codes and the old backup codes are dead.
    let c2 = app.client();
    password_step(&app, &c2, "quinn@example.com").await;
    let old_code = old_auth.code(&app, 0);
    if old_code != p.auth.code(&app, 0) {
        let r = submit_code(&app, &c2, "/login/mfa", &old_code).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        backup_sign_in(&app, "quinn@example.com", &old_codes[1])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    sign_in_with_totp(&app, "quinn@example.com", &p.auth).await;
    assert_eq!(
        backup_sign_in(&app, "quinn@example.com", &new_codes[0])
            .await
            .status(),
        200
    );
    let enrolled: Vec<serde_json::Value> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.enrolled")
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    assert_eq!(enrolled.len(), 2);
    assert!(enrolled.iter().any(|d| d["re_enrolment"] == true));
}
