//! Passkeys in Chromium with WebDriver's virtual authenticator (a platform
//! authenticator with discoverable credentials and user verification): a user enrols a
//! passkey on the account page, signs in with it without a password from the login
//! page's autofill, then as the second step after the password; the page's script, the CSP that lets it
//! run and the browser's WebAuthn do it all, as for a person with a fingerprint reader.
//! The issuer is `http://localhost:PORT` (WebAuthn needs a host name; localhost is a
//! secure context). Screenshots in `target/browser-screenshots/passkeys-*.png`.

use crate::browser::harness::Browser;
use crate::browser::{sign_out, type_credentials};
use crate::common::{Backend, TestApp};
use crate::mfa_support::PW;

/// The user's most recently created live session.
async fn newest_session(app: &TestApp, user: uuid::Uuid) -> monban::store::Session {
    app.state
        .store
        .list_live_sessions(user)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|s| s.created_at)
        .expect("a live session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_then_second_step_then_passwordless_in_chromium() {
    let Some(b) = Browser::start("passkeys").await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        let port = cfg.server.listen.rsplit(':').next().unwrap().to_string();
        cfg.server.issuer = format!("http://localhost:{port}");
    })
    .await
    .unwrap();
    let base = format!("http://localhost:{}", app.port);
    let user = app.create_user("kana@example.com", PW).await;
    let authenticator = b.add_virtual_authenticator().await;

    // Sign in with the password; the account page links to the passkeys.
    b.goto(&format!("{base}/login")).await;
    assert!(
        b.has("button[data-action='passkey-signin']").await,
        "the login page offers passkeys"
    );
    type_credentials(&b, "kana@example.com", PW).await;
    b.wait_path("sign-in", "/account").await;
    b.click("a[href='/account/passkeys']").await;
    b.wait_path("passkeys page", "/account/passkeys").await;
    assert!(b.has("#passkeys-none").await);
    b.look("passkeys page (none yet)", &[]).await;

    // Enrol: name it, press the button; the browser's WebAuthn asks the authenticator.
    b.type_into("#passkey-name", "Work laptop").await;
    b.click("button[data-action='passkey-register']").await;
    b.wait_url("registered", |u| u.contains("done=added")).await;
    assert!(
        b.text("#passkeys").await.contains("Work laptop"),
        "{}",
        b.body_text().await
    );
    b.look("passkeys page (one passkey)", &[]).await;
    // The same page in Japanese.
    b.goto(&format!("{base}/account/passkeys?ui_locales=ja"))
        .await;
    assert_eq!(b.text("h1").await, "パスキーとセキュリティキー");
    assert!(b.text("#passkeys").await.contains("端末固有のキー"));
    b.look("passkeys page (ja)", &[]).await;
    b.goto(&format!("{base}/account/passkeys?ui_locales=en"))
        .await;
    assert_eq!(b.virtual_credentials(&authenticator).await.len(), 1);
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        b.virtual_credentials(&authenticator).await[0]["isResidentCredential"] == true,
        "a discoverable credential"
    );

    // Passwordless, by the login page's autofill (conditional mediation): Chromium's
    // virtual authenticator answers the pending request as soon as the page loads.
    b.goto(&format!("{base}/account")).await;
    sign_out(&b, "sign out").await;
    app.clock.advance(chrono::Duration::seconds(1));
    b.goto(&format!("{base}/login")).await;
    b.wait_path("passwordless sign-in (autofill)", "/account")
        .await;
    let s = newest_session(&app, user.id).await;
    assert!(!s.amr.contains("pwd"), "{}", s.amr);
    assert!(s.amr.ends_with(" user mfa"), "{}", s.amr);
    assert_eq!(s.acr, monban::sessions::ACR_PHR);
    assert!(b.body_text().await.contains("kana@example.com"));
    b.look("account after passwordless sign-in", &[]).await;

    // As the second step: with the key away, the login page offers nothing to the
    // autofill and the password is typed; the key comes back for the second step.
    let away = b.take_away_credentials(&authenticator).await;
    assert_eq!(away.len(), 1);
    sign_out(&b, "sign out again").await;
    app.clock.advance(chrono::Duration::seconds(1));
    b.goto(&format!("{base}/login")).await;
    b.look("login page with passkeys", &[]).await;
    type_credentials(&b, "kana@example.com", PW).await;
    b.wait_path("second step", "/login/mfa").await;
    assert!(
        !b.has("input[name='code']").await,
        "no authenticator app: no code field"
    );
    b.look("second step with a passkey", &[]).await;
    b.put_back_credentials(&authenticator, &away).await;
    b.click("button[data-action='passkey-signin']").await;
    b.wait_path("signed in with the passkey", "/account").await;
    let s = newest_session(&app, user.id).await;
    assert!(
        s.amr.starts_with("pwd ") && s.amr.ends_with(" user mfa"),
        "{}",
        s.amr
    );
    assert_eq!(s.acr, monban::sessions::ACR_PHR);
    b.look("account after the passkey as second step", &[])
        .await;
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert!(rows[0].last_used_at.is_some());
    b.close().await;
}
