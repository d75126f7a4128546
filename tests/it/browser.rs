//! End-to-end in a real browser: Debian's Chromium (headless) driven over WebDriver
//! types into Monban's real forms and follows what the browser follows — redirects,
//! CSP, cookies, `Origin` headers — against a real Monban (SQLite), with Apache httpd
//! and mod_auth_openidc as a real OpenID Connect relying party, and mod_auth_mellon as
//! a real SAML service provider.
//!
//! Every page looked at is saved as `target/browser-screenshots/<case>-<n>.png`, and
//! Chromium's console log is read after each: no error, no CSP violation.
//! Needs the Debian packages `chromium chromium-driver apache2
//! libapache2-mod-auth-openidc libapache2-mod-auth-mellon` (scripts/install-deps.sh); without them the cases are
//! skipped, or fail when `CI` is set. Run alone: `cargo test --test it browser::`.

use crate::common;
use crate::mfa_support;

#[path = "browser/apache.rs"]
mod apache;
#[path = "browser/harness.rs"]
pub(crate) mod harness;

use chrono::Duration;
use common::{Backend, TestApp};
use harness::Browser;
use mfa_support::{Authenticator, PW};

const WRONG_PASSWORD_EN: &str = "The login ID or password is incorrect.";
const WRONG_PASSWORD_JA: &str = "ログインIDまたはパスワードが正しくありません。";

/// Signs in through the form on the page the browser shows (the login page).
pub(crate) async fn type_credentials(b: &Browser, user: &str, password: &str) {
    let form = b.find("form[action='/login']").await;
    b.type_into("#username", user).await;
    b.type_into("#password", password).await;
    b.click("form[action='/login'] button[type=submit]").await;
    // The answer may be /login again: wait until the page with this form is gone.
    b.wait_gone("sign-in form submitted", &form).await;
}

/// Clicks "Sign out" on the account page and expects the signed-out page.
pub(crate) async fn sign_out(b: &Browser, what: &str) {
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_path(what, "/logout").await;
    assert!(
        b.body_text().await.contains("You have signed out."),
        "{what}: {}",
        b.body_text().await
    );
    b.look(what, &[]).await;
}

async fn live_sessions(app: &TestApp, user: uuid::Uuid) -> usize {
    app.state
        .store
        .list_live_sessions(user)
        .await
        .unwrap()
        .len()
}

// ------------------------------------------------------------------ 1. password sign-in

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_sign_in_languages_and_sign_out() {
    let Some(b) = Browser::start("password").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = app.create_user("alice@example.com", PW).await;

    // The sign-in page, in English (the browser asks for en-US).
    b.goto(&app.url("/login")).await;
    assert_eq!(b.lang().await, "en");
    assert_eq!(b.text("h1").await, "Sign in");
    b.look("login page (en)", &[]).await;

    // A wrong password: the form comes back with the message and the name kept.
    type_credentials(&b, "alice@example.com", "not-the-password").await;
    b.wait_path("wrong password", "/login").await;
    assert_eq!(b.text("p.error").await, WRONG_PASSWORD_EN);
    assert_eq!(
        b.find("#username").await.prop("value").await.unwrap(),
        Some("alice@example.com".into())
    );
    b.look("wrong password", &[401]).await;

    // The language switch: Japanese, and the choice is remembered.
    b.click("header a.lang").await;
    b.wait_url("switch to ja", |u| u.contains("ui_locales=ja"))
        .await;
    assert_eq!(b.lang().await, "ja");
    assert_eq!(b.text("h1").await, "ログイン");
    b.look("login page (ja)", &[]).await;
    type_credentials(&b, "alice@example.com", "still-wrong").await;
    b.wait_path("wrong password (ja)", "/login").await;
    assert_eq!(b.text("p.error").await, WRONG_PASSWORD_JA);
    b.look("wrong password (ja)", &[401]).await;

    // The right password: the account page, in Japanese.
    type_credentials(&b, "alice@example.com", PW).await;
    b.wait_path("sign-in", "/account").await;
    assert_eq!(b.lang().await, "ja");
    assert_eq!(b.text("h1").await, "アカウント");
    assert!(b.body_text().await.contains("alice@example.com"));
    b.look("account page (ja)", &[]).await;
    assert_eq!(live_sessions(&app, user.id).await, 1);

    // Back to English from the account page.
    b.click("header a.lang").await;
    b.wait_url("switch to en", |u| u.contains("ui_locales=en"))
        .await;
    assert_eq!(b.lang().await, "en");
    assert_eq!(b.text("h1").await, "Your account");
    b.look("account page (en)", &[]).await;

    // Sign out (a form POST), and the account page needs a sign-in again.
    sign_out(&b, "sign-out").await;
    assert_eq!(live_sessions(&app, user.id).await, 0);
    b.goto(&app.url("/account")).await;
    b.wait_path("account after sign-out", "/login").await;
    b.look("login after sign-out", &[]).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_message() {
    let Some(b) = Browser::start("lockout").await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.lockout.max_failures = 3;
    })
    .await
    .unwrap();
    app.create_user("bob@example.com", PW).await;
    b.goto(&app.url("/login")).await;
    for i in 0..2 {
        type_credentials(&b, "bob@example.com", &format!("wrong-{i}")).await;
        b.wait_path("wrong password", "/login").await;
        assert_eq!(b.text("p.error").await, WRONG_PASSWORD_EN);
        b.look("wrong password", &[401]).await;
    }
    // The third failure locks the account; from then on, even the right password is
    // refused, and the page says why.
    for (what, pw) in [("locking failure", "wrong-2"), ("right password", PW)] {
        type_credentials(&b, "bob@example.com", pw).await;
        b.wait_path(what, "/login").await;
        let msg = b.text("p.error").await;
        assert!(
            msg.contains("This account is locked after repeated failed sign-ins."),
            "{what}: {msg}"
        );
        b.look("locked", &[401, 403, 423]).await;
    }
    b.close().await;
}

// ------------------------------------------------------------------ 2. MFA

/// The enrolment page as a person uses it: the QR code is shown, the key is read from
/// the page into the authenticator app (totp-rs), and its code typed into the form.
async fn enrol_in_browser(b: &Browser, app: &TestApp) -> (Authenticator, Vec<String>) {
    b.goto(&app.url("/account/mfa/enroll")).await;
    b.wait_path("enrolment page", "/account/mfa/enroll").await;
    let qr = b.find("img#qr").await;
    assert!(qr.is_displayed().await.unwrap(), "QR code visible");
    let loaded =
        b.c.execute(
            "const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::Value::Bool(true), "QR image decoded");
    let key = b.text("#totp-key").await;
    let auth = Authenticator::from_base32(&key);
    b.look("enrolment page", &[]).await;

    b.type_into("#code", &auth.code(app, 0)).await;
    let entry = b.find("form[action='/account/mfa/enroll']").await;
    b.click("form[action='/account/mfa/enroll'] button[type=submit]")
        .await;
    // The answer may come on the same URL: wait until the code form is gone.
    b.wait_gone("enrolment code submitted", &entry).await;
    b.wait_url("enrolment confirmed", |_| true).await;
    let codes: Vec<String> = {
        let mut v = Vec::new();
        for el in
            b.c.find_all(fantoccini::Locator::Css("code.backup-code"))
                .await
                .unwrap()
        {
            v.push(el.text().await.unwrap());
        }
        v
    };
    assert_eq!(
        codes.len(),
        10,
        "backup codes shown: {}",
        b.body_text().await
    );
    b.look("backup codes", &[]).await;
    // The step just used is never accepted again.
    app.clock.advance(Duration::seconds(30));
    (auth, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_totp_and_backup_code_sign_in() {
    let Some(b) = Browser::start("mfa").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = app.create_user("carol@example.com", PW).await;

    b.goto(&app.url("/login")).await;
    type_credentials(&b, "carol@example.com", PW).await;
    b.wait_path("password sign-in", "/account").await;
    b.look("account before MFA", &[]).await;
    let (auth, codes) = enrol_in_browser(&b, &app).await;
    assert!(
        monban::authn::mfa::status(&app.state, user.id)
            .await
            .unwrap()
            .enabled
    );
    b.goto(&app.url("/account")).await;
    b.wait_path("account with MFA", "/account").await;
    assert_eq!(b.text("#backup-codes-remaining").await, "10");
    b.look("account with MFA", &[]).await;
    sign_out(&b, "sign-out after enrolment").await;

    // TOTP sign-in: password, then the code from the app.
    b.goto(&app.url("/login")).await;
    type_credentials(&b, "carol@example.com", PW).await;
    b.wait_path("second step", "/login/mfa").await;
    b.look("second step", &[]).await;
    b.type_into("#code", "000000").await;
    b.click("form[action='/login/mfa'] button[type=submit]")
        .await;
    b.wait_path("wrong code", "/login/mfa").await;
    assert!(b.has("p.error").await, "{}", b.body_text().await);
    b.look("wrong code", &[400, 401]).await;
    b.type_into("#code", &auth.code(&app, 0)).await;
    b.click("form[action='/login/mfa'] button[type=submit]")
        .await;
    b.wait_path("TOTP sign-in", "/account").await;
    b.look("account after TOTP", &[]).await;
    let s = mfa_support::newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd otp mfa");
    app.clock.advance(Duration::seconds(30));
    sign_out(&b, "sign-out after TOTP").await;

    // Backup-code sign-in.
    b.goto(&app.url("/login")).await;
    type_credentials(&b, "carol@example.com", PW).await;
    b.wait_path("second step", "/login/mfa").await;
    b.click("a[href='/login/backup-code']").await;
    b.wait_path("backup-code page", "/login/backup-code").await;
    b.look("backup-code page", &[]).await;
    b.type_into("#code", &codes[0]).await;
    let entry = b.find("form[action='/login/backup-code']").await;
    b.click("form[action='/login/backup-code'] button[type=submit]")
        .await;
    // The answer comes on the same URL: wait until the code form is gone.
    b.wait_gone("backup code submitted", &entry).await;
    b.wait_url("backup code accepted", |u| {
        !u.ends_with("/login/backup-code?")
    })
    .await;
    assert_eq!(b.text("#backup-codes-left").await, "9");
    b.look("backup code used", &[]).await;
    let s = mfa_support::newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd backup_code mfa");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_of_a_password_only_session() {
    let Some(b) = Browser::start("step-up").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = app.create_user("erin@example.com", PW).await;
    // The browser signs in with the password only...
    b.goto(&app.url("/login")).await;
    type_credentials(&b, "erin@example.com", PW).await;
    b.wait_path("password sign-in", "/account").await;
    // ...then the user turns MFA on elsewhere (another device).
    let other = app.client();
    app.login(&other, "erin@example.com", PW).await;
    let (auth, _) = mfa_support::enrol_signed_in(&app, &other).await;

    // Changing MFA settings from the password-only session asks for the second step.
    b.goto(&app.url("/account/mfa/backup-codes")).await;
    b.wait_path("step-up", "/login/mfa").await;
    assert!(b.url().await.contains("step_up=1"));
    b.look("step-up page", &[]).await;
    b.type_into("#code", &auth.code(&app, 0)).await;
    b.click("form[action='/login/mfa'] button[type=submit]")
        .await;
    b.wait_path("after step-up", "/account/mfa/backup-codes")
        .await;
    b.look("after step-up", &[]).await;
    let s = mfa_support::newest_session(&app, user.id).await;
    assert_eq!(s.amr, "pwd otp mfa", "the same session, upgraded");
    assert_eq!(live_sessions(&app, user.id).await, 2);
    b.close().await;
}

// ------------------------------------------------------------------ 3. OIDC with Apache

struct OidcRp {
    apache: apache::Apache,
    client_id: String,
}

/// A browser and a Monban for an OIDC case, when Chromium and mod_auth_openidc are there.
async fn oidc_case(case: &str) -> Option<(Browser, TestApp)> {
    let b = Browser::start(case).await?;
    if !harness::module_available("mod_auth_openidc.so", "libapache2-mod-auth-openidc") {
        return None;
    }
    Some((b, TestApp::spawn(Backend::Sqlite).await.unwrap()))
}

async fn start_openidc_rp(app: &TestApp) -> OidcRp {
    start_openidc_rp_with(app, "").await
}

/// The relying party with `extra` lines of mod_auth_openidc configuration.
async fn start_openidc_rp_with(app: &TestApp, extra: &str) -> OidcRp {
    let (port, dir) = apache::Apache::prepare();
    let rp = format!("http://localhost:{port}");
    let reg = app
        .register_client(monban::clients::NewClient {
            name: "Apache test app".into(),
            kind: "confidential".into(),
            redirect_uris: vec![format!("{rp}/protected/redirect_uri")],
            post_logout_redirect_uris: vec![format!("{rp}/loggedout.html")],
            backchannel_logout_uri: Some(format!("{rp}/protected/redirect_uri?logout=backchannel")),
            first_party: false,
            ..Default::default()
        })
        .await;
    let conf = apache::openidc_conf(
        &app.base,
        &reg.client_id,
        reg.client_secret.as_deref().unwrap(),
    ) + extra;
    let apache = apache::Apache::start(port, dir, &conf).await;
    OidcRp {
        apache,
        client_id: reg.client_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_code_flow_with_mod_auth_openidc() {
    let Some((b, app)) = oidc_case("oidc").await else {
        return;
    };
    let user = app.create_user("dave@example.com", PW).await;
    let rp = start_openidc_rp(&app).await;
    let protected = format!("{}/protected/", rp.apache.base());
    let on_app = {
        let p = protected.clone();
        move |u: &str| u == p
    };

    // The app sends the browser to Monban: sign in, consent, back with the claims.
    b.goto(&protected).await;
    b.wait_path("to Monban's sign-in", "/login").await;
    assert!(b.url().await.starts_with(&app.base));
    b.look("sign-in for the app", &[]).await;
    type_credentials(&b, "dave@example.com", PW).await;
    b.wait_path("consent", "/consent").await;
    assert!(
        b.body_text().await.contains("Apache test app"),
        "{}",
        b.body_text().await
    );
    b.look("consent page", &[]).await;
    b.click("button[name=decision][value=approve]").await;
    b.wait_url("back at the app", &on_app).await;
    assert_eq!(b.text("#oidc-email").await, "dave@example.com");
    assert_eq!(b.text("#user").await, "dave@example.com");
    assert!(!b.text("#oidc-sub").await.is_empty());
    b.look("app with claims", &[]).await;
    assert_eq!(live_sessions(&app, user.id).await, 1);

    // Second visit, the app's own session gone: single sign-on, no password typed and
    // no second consent.
    b.c.delete_all_cookies().await.unwrap();
    b.goto(&protected).await;
    b.wait_url("SSO back at the app", &on_app).await;
    assert_eq!(b.text("#oidc-email").await, "dave@example.com");
    b.look("app after SSO", &[]).await;
    assert_eq!(live_sessions(&app, user.id).await, 1, "the same session");

    // RP-initiated logout: the app sends the browser to Monban's end_session, the user
    // confirms, and lands on the app's signed-out page.
    let logout = format!(
        "{}/protected/redirect_uri?logout={}",
        rp.apache.base(),
        percent_encode(&format!("{}/loggedout.html", rp.apache.base()))
    );
    b.goto(&logout).await;
    b.wait_url("end_session", |u| {
        u.starts_with(&app.base) || u.ends_with("/loggedout.html")
    })
    .await;
    if b.url().await.starts_with(&app.base) {
        b.look("end_session confirmation", &[]).await;
        b.click("form[action='/end_session/confirm'] button[type=submit]")
            .await;
    }
    b.wait_path("signed out at the app", "/loggedout.html")
        .await;
    b.look("app signed out", &[]).await;
    assert_eq!(live_sessions(&app, user.id).await, 0);

    // Sign in again (consent remembered), then an admin forces a logout: Monban tells
    // the app over the back channel, and the app's session ends too.
    b.goto(&protected).await;
    b.wait_path("sign-in again", "/login").await;
    type_credentials(&b, "dave@example.com", PW).await;
    b.wait_url("back at the app (consent remembered)", &on_app)
        .await;
    b.look("app after the second sign-in", &[]).await;
    // (The RP-initiated logout above sent one logout token already.)
    let delivered = |jobs: &[monban::store::oidc::BackchannelJob]| {
        jobs.iter()
            .filter(|j| j.client_id == rp.client_id && j.delivered_at.is_some())
            .count()
    };
    let before = delivered(&app.state.store.list_backchannel().await.unwrap());
    let admin = app.admin().await;
    let (status, body) = admin.delete(&format!("/users/{}/sessions", user.id)).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let mut jobs = Vec::new();
    for _ in 0..100 {
        jobs = app.state.store.list_backchannel().await.unwrap();
        if delivered(&jobs) > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        delivered(&jobs) > before,
        "logout token delivered: {jobs:?}\napache log:\n{}",
        rp.apache.error_log()
    );
    b.goto(&protected).await;
    b.wait_path("the app asks Monban again", "/login").await;
    b.look("sign-in after back-channel logout", &[]).await;
    b.close().await;
}

/// An admin asks for a new password: the next sign-in to an app stops at the password
/// change form (the user types the current and a new password), then goes on to the
/// app — the form's flow ends at the app's redirect URI (CSP `form-action`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_requested_by_an_admin() {
    let Some((b, app)) = oidc_case("password-change").await else {
        return;
    };
    let user = app.create_user("erin@example.com", PW).await;
    let rp = start_openidc_rp(&app).await;
    let protected = format!("{}/protected/", rp.apache.base());
    let admin = app.admin().await;
    let (status, body) = admin
        .post(
            &format!("/users/{}/password-change-request", user.id),
            serde_json::json!({}),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {body}");

    b.goto(&protected).await;
    b.wait_path("to Monban's sign-in", "/login").await;
    type_credentials(&b, "erin@example.com", PW).await;
    b.wait_path("the password change comes first", "/account/password")
        .await;
    b.look("password change requested", &[]).await;
    let new_password = "a brand new passphrase 2026";
    b.type_into("#current_password", PW).await;
    b.type_into("#new_password", new_password).await;
    b.type_into("#confirm_password", new_password).await;
    let form = b.find("form[action='/account/password']").await;
    b.click("form[action='/account/password'] button[type=submit]")
        .await;
    b.wait_gone("password form submitted", &form).await;
    b.wait_path("consent", "/consent").await;
    b.click("button[name=decision][value=approve]").await;
    let p = protected.clone();
    b.wait_url("back at the app", move |u: &str| u == p).await;
    assert_eq!(b.text("#oidc-email").await, "erin@example.com");
    b.look("app after the password change", &[]).await;
    let u = app.state.store.get_user(user.id).await.unwrap();
    assert!(
        app.state
            .passwords
            .verify(u.password_hash.as_deref(), new_password)
            .await,
        "the new password is stored"
    );
    b.close().await;
}

/// mod_auth_openidc refreshes the access token on each request (it is always "about
/// to expire" for it): Monban rotates the refresh token each time, and the app sees a
/// new access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_refresh_through_mod_auth_openidc() {
    let Some((b, app)) = oidc_case("oidc-refresh").await else {
        return;
    };
    app.create_user("fay@example.com", PW).await;
    let rp = start_openidc_rp_with(&app, "OIDCRefreshAccessTokenBeforeExpiry 86400\n").await;
    let protected = format!("{}/protected/", rp.apache.base());
    b.goto(&protected).await;
    b.wait_path("to Monban's sign-in", "/login").await;
    type_credentials(&b, "fay@example.com", PW).await;
    b.wait_path("consent", "/consent").await;
    b.click("button[name=decision][value=approve]").await;
    let p = protected.clone();
    b.wait_url("back at the app", move |u: &str| u == p).await;
    let first = b.text("#oidc-at").await;
    assert!(first.split('.').count() == 3, "a JWT access token: {first}");
    b.look("app with its first access token", &[]).await;
    let mut previous = first;
    for round in 1..=2 {
        b.goto(&protected).await;
        let p = protected.clone();
        b.wait_url("the app again", move |u: &str| u == p).await;
        let now = b.text("#oidc-at").await;
        assert_ne!(
            now,
            previous,
            "round {round}: refreshed\n{}",
            rp.apache.error_log()
        );
        assert!(now.split('.').count() == 3, "{now}");
        previous = now;
    }
    b.look("app after refreshes", &[]).await;
    b.close().await;
}

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ------------------------------------------------------------------ 4. SAML with Apache

const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

struct SamlWorld {
    app: TestApp,
    user: monban::store::User,
    apache: apache::Apache,
    protected: String,
}

/// Monban with a user, and Apache + mod_auth_mellon registered from its metadata.
async fn saml_world() -> SamlWorld {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let user = monban::users::create(
        &app.state,
        monban::users::CreateUser {
            email: "frank@example.com".into(),
            password: Some(PW.into()),
            display_name: Some("Frank Example".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The SP: its key, certificate and metadata; Monban's metadata from Monban.
    let (port, dir) = apache::Apache::prepare();
    let (key, cert) = apache::sp_key_and_cert();
    let sp_metadata = apache::mellon_sp_metadata(port, &cert, TRANSIENT);
    std::fs::write(dir.path().join("sp-key.pem"), key).unwrap();
    std::fs::write(dir.path().join("sp-cert.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("sp-metadata.xml"), &sp_metadata).unwrap();
    let idp_metadata = reqwest::get(app.url("/saml/metadata"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(dir.path().join("idp-metadata.xml"), idp_metadata).unwrap();
    monban::clients::saml::register(
        &app.state,
        &sp_metadata,
        monban::clients::saml::SpSettings {
            name: Some("Apache mellon app".into()),
            // What mellon asks for in its AuthnRequests.
            name_id_format: Some("transient".into()),
            ..Default::default()
        },
    )
    .await
    .expect("SP registered from mellon's metadata");
    let apache = apache::Apache::start(port, dir, &apache::mellon_conf()).await;
    let protected = format!("{}/protected/", apache.base());
    SamlWorld {
        app,
        user,
        apache,
        protected,
    }
}

/// SP-initiated SSO: mellon's signed AuthnRequest, sign-in, the Response posted back by
/// the browser, the attributes reaching the app.
async fn saml_sign_in(b: &Browser, w: &SamlWorld) {
    let app = &w.app;
    b.goto(&w.protected).await;
    b.wait_path("to Monban's sign-in", "/login").await;
    assert!(b.url().await.starts_with(&app.base));
    b.look("sign-in for the SAML app", &[]).await;
    type_credentials(b, "frank@example.com", PW).await;
    let p = w.protected.clone();
    b.wait_url("back at the SAML app", move |u| u == p).await;
    assert_eq!(b.text("#saml-email").await, "frank@example.com");
    assert_eq!(b.text("#saml-name").await, "Frank Example");
    assert!(!b.text("#saml-nameid").await.is_empty());
    b.look("SAML app with attributes", &[]).await;
    assert_eq!(live_sessions(app, w.user.id).await, 1);
}

/// After an IdP-side sign-out: the Monban session is gone, and so is the app's (it asks
/// Monban again).
async fn saml_signed_out_everywhere(b: &Browser, w: &SamlWorld) {
    assert!(
        b.body_text().await.contains("You have signed out."),
        "{} {}",
        b.url().await,
        b.body_text().await
    );
    b.look("signed out through the SP", &[]).await;
    assert_eq!(live_sessions(&w.app, w.user.id).await, 0);
    b.goto(&w.protected).await;
    b.wait_path("the app asks Monban again", "/login").await;
    b.look("sign-in after SLO", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_sso_and_slo_with_mod_auth_mellon() {
    let Some(b) = Browser::start("saml").await else {
        return;
    };
    if !harness::module_available("mod_auth_mellon.so", "libapache2-mod-auth-mellon") {
        return;
    }
    let w = saml_world().await;
    let (app, apache) = (&w.app, &w.apache);
    saml_sign_in(&b, &w).await;

    // SP-initiated logout: mellon's signed LogoutRequest ends the Monban session too.
    b.goto(&format!(
        "{}/mellon/logout?ReturnTo={}",
        apache.base(),
        percent_encode(&format!("{}/loggedout.html", apache.base()))
    ))
    .await;
    b.wait_path("SP-initiated logout", "/loggedout.html").await;
    b.look("SAML app signed out", &[]).await;
    assert_eq!(live_sessions(app, w.user.id).await, 0);

    // Sign in again, then sign out at Monban's sign-out page: the front-channel chain
    // through the SP ends the app's session as well.
    saml_sign_in(&b, &w).await;
    b.goto(&app.url("/logout")).await;
    b.wait_path("sign-out page", "/logout").await;
    b.look("sign-out confirmation", &[]).await;
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_url("IdP-initiated logout chain", |u| {
        u.starts_with(&app.base) && b_is_not(u, "/logout")
    })
    .await;
    saml_signed_out_everywhere(&b, &w).await;
    b.close().await;
}

/// The same sign-out from the "Sign out" button of the account page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_slo_from_the_account_page() {
    let Some(b) = Browser::start("saml-account").await else {
        return;
    };
    if !harness::module_available("mod_auth_mellon.so", "libapache2-mod-auth-mellon") {
        return;
    }
    let w = saml_world().await;
    let app = &w.app;
    saml_sign_in(&b, &w).await;
    b.goto(&app.url("/account")).await;
    b.wait_path("account page", "/account").await;
    b.look("account page", &[]).await;
    b.click("form[action='/logout'] button[type=submit]").await;
    b.wait_url("IdP-initiated logout chain", |u| {
        u.starts_with(&app.base) && b_is_not(u, "/account")
    })
    .await;
    saml_signed_out_everywhere(&b, &w).await;
    b.close().await;
}

/// The URL's path is not `path`.
fn b_is_not(u: &str, path: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| u.path() != path)
}

// ------------------------------------------------------------------ 5. support and device

/// The TOTP second step on the page the browser shows.
async fn type_totp(b: &Browser, app: &TestApp, auth: &Authenticator) {
    b.wait_path("second step", "/login/mfa").await;
    b.type_into("#code", &auth.code(app, 0)).await;
    b.click("form[action='/login/mfa'] button[type=submit]")
        .await;
    app.clock.advance(Duration::seconds(30));
}

/// A customer issues a support grant; an engineer (support role, MFA) redeems it in the
/// browser and ends up acting as the customer, banner shown. Returns the browser there.
async fn support_session(
    case: &str,
) -> Option<(Browser, TestApp, monban::store::User, monban::store::User)> {
    let b = Browser::start(case).await?;
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let customer = app.create_user("customer@example.com", PW).await;
    // The customer issues a grant (on their own device).
    let customer_browser = app.client();
    app.login(&customer_browser, "customer@example.com", PW)
        .await;
    let token = app.csrf(&customer_browser, "/account/support-grants").await;
    let r = customer_browser
        .post(app.url("/account/support-grants"))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let link = r.json::<serde_json::Value>().await.unwrap()["link"]
        .as_str()
        .unwrap()
        .to_string();
    // The engineer: support role, MFA on.
    let enrol = app.client();
    let (engineer, auth, _) =
        mfa_support::enrolled_user(&app, &enrol, "engineer@example.com").await;
    use monban::clock::Clock;
    app.state
        .store
        .update_user_profile(engineer.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();

    // The engineer opens the link in the browser: sign-in with both steps first.
    b.goto(&link).await;
    b.wait_path("sign-in for the link", "/login").await;
    type_credentials(&b, "engineer@example.com", PW).await;
    type_totp(&b, &app, &auth).await;
    b.wait_url("redeem page", |u| u.contains("/support/redeem/"))
        .await;
    assert!(b
        .text("#support-user")
        .await
        .contains("customer@example.com"));
    b.look("redeem page", &[]).await;
    b.click("main form button[type=submit]").await;
    b.wait_url("acting as the customer", |u| {
        !u.contains("/support/redeem/")
    })
    .await;
    let banner = b.find(".support-banner").await;
    assert!(banner.is_displayed().await.unwrap(), "banner visible");
    assert!(
        banner
            .text()
            .await
            .unwrap()
            .contains("customer@example.com"),
        "{}",
        banner.text().await.unwrap()
    );
    b.look("support session", &[]).await;
    b.goto(&app.url("/account")).await;
    b.wait_path("account as the customer", "/account").await;
    assert!(b.body_text().await.contains("customer@example.com"));
    assert!(b.has(".support-banner").await);
    b.look("account in the support session", &[]).await;
    let s = mfa_support::newest_session(&app, customer.id).await;
    assert_eq!(s.impersonator_id, Some(engineer.id));
    Some((b, app, customer, engineer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_grant_redemption() {
    let Some((b, app, _, _)) = support_session("support").await else {
        return;
    };
    // Credential pages are refused.
    b.goto(&app.url("/account/mfa/enroll")).await;
    b.wait_path("MFA enrolment refused", "/account/mfa/enroll")
        .await;
    assert!(
        b.body_text().await.contains("support session"),
        "{}",
        b.body_text().await
    );
    b.screenshot().await;
    b.close().await;
}

/// The refusal of a credential page in a support session, as a person sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_session_refusal_is_a_page() {
    let Some((b, app, _, _)) = support_session("support-refusal").await else {
        return;
    };
    b.goto(&app.url("/account/mfa/enroll")).await;
    b.wait_path("MFA enrolment refused", "/account/mfa/enroll")
        .await;
    assert!(b.has("main p.error").await, "{}", b.body_text().await);
    // Still under the banner, with a way back that fits (the start page: the account).
    assert!(b.has(".support-banner").await, "{}", b.body_text().await);
    b.look("MFA enrolment refused", &[403]).await;
    b.click("a#back").await;
    b.wait_path("back to the account", "/account").await;
    assert!(b.has(".support-banner").await);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_page() {
    let Some(b) = Browser::start("device").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_user("gina@example.com", PW).await;
    let client_id = app
        .register_client(monban::clients::NewClient {
            name: "Meeting-room display".into(),
            kind: "public".into(),
            device_grant: true,
            scopes: Some("openid profile email".into()),
            ..Default::default()
        })
        .await
        .client_id;
    let http = reqwest::Client::new();
    let start: serde_json::Value = http
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client_id.as_str()), ("scope", "openid email")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = start["user_code"].as_str().unwrap();
    let device_code = start["device_code"].as_str().unwrap();

    // The person opens /device, signs in, types the code and approves.
    b.goto(&app.url("/device")).await;
    b.wait_path("sign-in for the device", "/login").await;
    type_credentials(&b, "gina@example.com", PW).await;
    b.wait_path("device page", "/device").await;
    b.look("device page", &[]).await;
    b.type_into("#user_code", user_code).await;
    let entry = b.find("form[action='/device']").await;
    b.click("form[action='/device'] button[type=submit]").await;
    // The same URL answers with the confirmation: wait until the code form is gone.
    b.wait_gone("device code submitted", &entry).await;
    b.wait_url("device confirmation", |_| true).await;
    assert!(
        b.body_text().await.contains("Meeting-room display"),
        "{}",
        b.body_text().await
    );
    b.look("device confirmation", &[]).await;
    b.click("button[name=decision][value=approve]").await;
    b.wait_path("device approved", "/device/decision").await;
    b.look("device approved", &[]).await;

    let r: serde_json::Value = http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["access_token"].is_string(), "{r}");
    b.close().await;
}
