//! Helpers shared by the MFA integration tests: an authenticator app (totp-rs), HTML
//! scraping, and the enrolment and sign-in flows over real HTTP.
#![allow(dead_code)]

use chrono::Duration;
use monban::clock::Clock;
use reqwest::StatusCode;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::common::TestApp;

pub const PW: &str = "blue-Kettle-42-orbit";
pub const WRONG_CODE_EN: &str =
    "The code is wrong or has expired. Wait for the next code and try again.";
pub const WRONG_CODE_JA: &str = "コードが正しくないか、有効期限が切れています。次のコードが表示されるまで待ってから、もう一度お試しください。";

/// The authenticator app: totp-rs with the key read from the enrolment page.
pub struct Authenticator {
    totp: Totp,
    pub secret: Vec<u8>,
}

impl Authenticator {
    pub fn from_base32(key: &str) -> Authenticator {
        let key: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        let secret = Secret::try_from_base32(&key)
            .expect("base32 key")
            .as_bytes()
            .to_vec();
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(30)
            .with_secret(secret.clone())
            .build()
            .unwrap();
        Authenticator { totp, secret }
    }

    /// The code the app shows at the app's (fake) current time, `d` steps away.
    pub fn code(&self, app: &TestApp, d: i64) -> String {
        let step = app.clock.now().timestamp().div_euclid(30) + d;
        self.totp.generate((step * 30) as u64).to_string()
    }
}

/// The text between `start` and the next `end` after it.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

pub fn field_value(html: &str, name: &str) -> Option<String> {
    between(html, &format!("name=\"{name}\" value=\""), "\"").map(str::to_string)
}

/// Every backup code shown on a page.
pub fn backup_codes_in(html: &str) -> Vec<String> {
    html.split("<code class=\"backup-code\">")
        .skip(1)
        .filter_map(|p| p.split('<').next())
        .map(str::to_string)
        .collect()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// POSTs a form with a fresh CSRF token of this browser.
pub async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = app.csrf(c, "/login").await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", &token));
    c.post(app.url(path)).form(&form).send().await.unwrap()
}

/// Submits a second-step code (`/login/mfa` or `/login/backup-code`).
pub async fn submit_code(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    code: &str,
) -> reqwest::Response {
    post_form(app, c, path, &[("code", code)]).await
}

/// The enrolment page (after sign-in or re-authentication): its key and pending id.
pub struct EnrolPage {
    pub html: String,
    pub auth: Authenticator,
    pub key: String,
    pub pending_id: String,
}

pub async fn open_enrolment(app: &TestApp, c: &reqwest::Client) -> EnrolPage {
    let res = c.get(app.url("/account/mfa/enroll")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "enrolment page");
    let html = res.text().await.unwrap();
    let key = between(&html, "<code id=\"totp-key\">", "<")
        .expect("key on the page")
        .to_string();
    let pending_id = field_value(&html, "pending_id").expect("pending id");
    EnrolPage {
        auth: Authenticator::from_base32(&key),
        html,
        key,
        pending_id,
    }
}

pub async fn confirm_enrolment(
    app: &TestApp,
    c: &reqwest::Client,
    pending_id: &str,
    code: &str,
) -> reqwest::Response {
    let token = app.csrf(c, "/login").await;
    c.post(app.url("/account/mfa/enroll"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("pending_id", pending_id),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// Creates a user, signs in on `c`, enrols, and moves the clock to the next step (the
/// enrolment code's step is used). Returns the app and the backup codes.
pub async fn enrolled_user(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
) -> (monban::store::User, Authenticator, Vec<String>) {
    let user = app.create_user(email, PW).await;
    let r = app.login(c, email, PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (auth, codes) = enrol_signed_in(app, c).await;
    (user, auth, codes)
}

/// Enrols the user signed in on `c` (password entered recently).
pub async fn enrol_signed_in(app: &TestApp, c: &reqwest::Client) -> (Authenticator, Vec<String>) {
    let page = open_enrolment(app, c).await;
    let res = confirm_enrolment(app, c, &page.pending_id, &page.auth.code(app, 0)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let codes = backup_codes_in(&html);
    assert!(!codes.is_empty(), "codes shown: {html}");
    app.clock.advance(Duration::seconds(30));
    (page.auth, codes)
}

/// The password step for a user with MFA: expects the redirect to the second step.
pub async fn password_step(app: &TestApp, c: &reqwest::Client, email: &str) {
    let r = app.login(c, email, PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login/mfa");
    assert!(
        crate::common::set_cookie(&r, "monban_session").is_none(),
        "no session before the second step"
    );
}

/// Signs in fully with the authenticator on a fresh browser; returns it.
pub async fn sign_in_with_totp(
    app: &TestApp,
    email: &str,
    auth: &Authenticator,
) -> reqwest::Client {
    let c = app.client();
    password_step(app, &c, email).await;
    let r = submit_code(app, &c, "/login/mfa", &auth.code(app, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "TOTP sign-in");
    app.clock.advance(Duration::seconds(30));
    c
}

/// Reads the session row behind a browser's current session (the only live one of
/// `user` created by it is the newest).
pub async fn newest_session(app: &TestApp, user: uuid::Uuid) -> monban::store::Session {
    app.state
        .store
        .list_live_sessions(user)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a live session")
}

/// The user's security events other than sign-in attempts (those are checked in
/// login.rs).
pub async fn audit_actions(app: &TestApp, user: uuid::Uuid) -> Vec<monban::store::AuditEvent> {
    app.state
        .store
        .list_audit_events_for_user(user, app.clock.now() - Duration::days(365), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !e.action.starts_with("sign_in."))
        .collect()
}
