//! OAuth 2.0 Device Authorization Grant (RFC 8628) with admin approval for clients
//! flagged `requires_admin_approval`: device asks → user approves the user code →
//! (admin approves on a page that needs their sign-in) → the device's poll gets tokens;
//! `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, single use
//! under concurrent polls, and the refusals of bad input.

use crate::common;

use base64::Engine;
use chrono::Duration;
use common::{Backend, TestApp};
use monban::clock::Clock;
use serde_json::Value;

const PW: &str = "blue-Kettle-42-orbit";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

on_both_backends!(
    device_flow_without_admin_approval,
    device_flow_with_admin_approval,
    refusals,
    every_credential_change_revokes_offline_and_device_grants,
);

async fn device_client(app: &TestApp, admin_approval: bool) -> String {
    app.register_client(monban::clients::NewClient {
        name: "Viewer".into(),
        kind: "public".into(),
        device_grant: true,
        requires_admin_approval: admin_approval,
        scopes: Some("openid profile email offline_access".into()),
        ..Default::default()
    })
    .await
    .client_id
}

/// `POST /device_authorization` as a public client.
async fn start(app: &TestApp, client_id: &str, scope: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_eq!(
        r.headers().get("cache-control").unwrap(),
        "no-store",
        "device codes are not cached"
    );
    (s, r.json().await.unwrap())
}

/// The device's poll of `/token`.
async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

/// The user at `/device`: type the code, then approve or deny. Returns the final page.
async fn answer(
    app: &TestApp,
    browser: &reqwest::Client,
    user_code: &str,
    decision: &str,
) -> (u16, String) {
    let token = app.csrf(browser, "/device").await;
    let r = browser
        .post(app.url("/device"))
        .form(&[("csrf_token", token.as_str()), ("user_code", user_code)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    if status != 200 {
        return (status, html);
    }
    assert!(html.contains("Viewer"), "the confirmation names the app");
    let token = common::extract_csrf(&html).unwrap();
    let r = browser
        .post(app.url("/device/decision"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("user_code", user_code),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    app.state
        .store
        .list_audit_events(app.state.org.id, app.clock.now() - Duration::days(2), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.details))
        .collect()
}

async fn signed_in(app: &TestApp, email: &str) -> (monban::store::User, reqwest::Client) {
    let user = app.create_user(email, PW).await;
    let browser = app.client();
    assert_eq!(app.login(&browser, email, PW).await.status(), 303);
    (user, browser)
}

/// Device asks → polls too early (pending, then slow_down) → user approves → the poll
/// gets ID, access and refresh tokens exactly once (two racing polls: one wins) → the
/// refresh token rotates → suspending the user kills the device's grant.
async fn device_flow_without_admin_approval(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let client = device_client(&app, false).await;
    let disc: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        disc["device_authorization_endpoint"],
        app.url("/device_authorization")
    );
    assert!(disc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(DEVICE_GRANT)));

    let (s, d) = start(&app, &client, "openid profile offline_access").await;
    assert_eq!(s, 200, "{d}");
    let device_code = d["device_code"].as_str().unwrap().to_string();
    let user_code = d["user_code"].as_str().unwrap().to_string();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
    assert_eq!(d["verification_uri"], app.url("/device"));
    assert_eq!(
        d["verification_uri_complete"],
        app.url(&format!("/device?user_code={user_code}"))
    );
    assert_eq!(
        (d["expires_in"].as_i64(), d["interval"].as_i64()),
        (Some(600), Some(5))
    );

    // Polling before the user answered; then too fast.
    let (s, e) = poll(&app, &client, &device_code).await;
    assert_eq!((s, error(&e)), (400, "authorization_pending"), "{e}");
    let (s, e) = poll(&app, &client, &device_code).await;
    assert_eq!((s, error(&e)), (400, "slow_down"), "{e}");
    // The interval grew to 10 s: 6 s later is still too fast.
    app.clock.advance(Duration::seconds(6));
    assert_eq!(
        error(&poll(&app, &client, &device_code).await.1),
        "slow_down"
    );
    app.clock.advance(Duration::seconds(16));
    assert_eq!(
        error(&poll(&app, &client, &device_code).await.1),
        "authorization_pending"
    );

    // The user follows the complete link: sign in first, then the confirmation.
    let (user, browser) = signed_in(&app, "viewer-user@example.com").await;
    let anon = app.client();
    let r = anon
        .get(app.url(&format!("/device?user_code={user_code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?return_to="));
    let page = browser
        .get(app.url(&format!("/device?user_code={}", user_code.to_lowercase())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Viewer") && page.contains("viewer-user@example.com"));
    let (s, html) = answer(&app, &browser, &user_code, "approve").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("data-status=\"approved\""), "{html}");

    // Two racing polls: exactly one gets tokens.
    app.clock.advance(Duration::seconds(30));
    let (a, b2) = tokio::join!(
        poll(&app, &client, &device_code),
        poll(&app, &client, &device_code)
    );
    let winners: Vec<&(u16, Value)> = [&a, &b2].into_iter().filter(|r| r.0 == 200).collect();
    assert_eq!(winners.len(), 1, "{a:?} {b2:?}");
    let tokens = winners[0].1.clone();
    let loser = if a.0 == 200 { &b2 } else { &a };
    assert_eq!(error(&loser.1), "invalid_grant", "{loser:?}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], user.id.to_string());
    assert_eq!(id["aud"], client);
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["client_id"], client);
    assert_eq!(tokens["scope"], "openid profile offline_access");
    // Used: the code is gone for good.
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        error(&poll(&app, &client, &device_code).await.1),
        "invalid_grant"
    );

    // The refresh token rotates.
    let refresh = |rt: String| {
        let app = &app;
        let client = client.clone();
        async move {
            let r = reqwest::Client::new()
                .post(app.url("/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", client.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, r1) = refresh(tokens["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(s, 200, "{r1}");
    // The browser session that approved ends: the device keeps working.
    let t = app.csrf(&browser, "/account").await;
    browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", t.as_str())])
        .send()
        .await
        .unwrap();
    let (s, r2) = refresh(r1["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(
        s, 200,
        "the device's grant outlives the browser session: {r2}"
    );
    // An admin suspends the user: the device's grant dies.
    let api = app.admin().await;
    assert_eq!(
        api.post(
            &format!("/users/{}/suspend", user.id),
            serde_json::json!({})
        )
        .await
        .0,
        200
    );
    let (s, e) = refresh(r2["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!((s, error(&e)), (400, "invalid_grant"), "{e}");

    let actions = audit_actions(&app).await;
    for want in ["device.user_approved", "device.authorized"] {
        assert!(
            actions.iter().any(|(a, _)| a == want),
            "{want}: {actions:?}"
        );
    }
    assert!(actions
        .iter()
        .any(|(a, d)| a == "device.refused" && d.contains("slow_down")));
}

/// A client flagged `requires_admin_approval` (registered through the admin API): the
/// user's approval is not enough; admins are notified with a link to a page that needs
/// an admin sign-in; approve → tokens, deny → access_denied, too late → expired_token.
async fn device_flow_with_admin_approval(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let api = app.admin().await;
    let (s, c) = api
        .post(
            "/clients",
            serde_json::json!({
                "name": "Viewer",
                "kind": "public",
                "requires_admin_approval": true,
                "scope": "openid profile",
            }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["requires_admin_approval"], true);
    assert!(c["grant_types"]
        .as_array()
        .unwrap()
        .contains(&Value::from(DEVICE_GRANT)));
    assert!(
        !c["grant_types"]
            .as_array()
            .unwrap()
            .contains(&Value::from("authorization_code")),
        "no way around the approval"
    );
    let (s, e) = api
        .post(
            "/clients",
            serde_json::json!({"name": "X", "kind": "public", "requires_admin_approval": true,
                "redirect_uris": ["https://rp.example.com/cb"]}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let client = c["client_id"].as_str().unwrap().to_string();

    let (boss, boss_browser) = signed_in(&app, "boss@example.com").await;
    app.state
        .store
        .update_user_profile(boss.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    let (user, browser) = signed_in(&app, "viewer-user@example.com").await;

    let (_, d) = start(&app, &client, "openid profile").await;
    let device_code = d["device_code"].as_str().unwrap().to_string();
    let (s, html) = answer(&app, &browser, d["user_code"].as_str().unwrap(), "approve").await;
    assert_eq!(s, 200);
    assert!(html.contains("data-status=\"awaiting_admin\""), "{html}");
    let (s, e) = poll(&app, &client, &device_code).await;
    assert_eq!((s, error(&e)), (400, "authorization_pending"), "{e}");

    // The admin is told, with a link.
    let msgs = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(boss.id), 10)
        .await
        .unwrap();
    let note = msgs
        .iter()
        .find(|m| m.kind == "device_approval_pending")
        .expect("admin notified");
    let path = note
        .body_text
        .split_whitespace()
        .find(|w| w.contains("/device/requests/"))
        .map(|w| w.trim_start_matches(&app.base).to_string())
        .expect("link in the message");
    // The link alone approves nothing; a non-admin is refused (and it is audited).
    let r = app.client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = browser.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let t = app.csrf(&browser, "/account").await;
    let r = browser
        .post(app.url(&format!("{path}/decision")))
        .form(&[("csrf_token", t.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a non-admin cannot approve by POST either");
    assert!(audit_actions(&app)
        .await
        .iter()
        .any(|(a, d)| a == "device.refused" && d.contains("not_admin")));
    app.clock.advance(Duration::seconds(10));
    assert_eq!(
        error(&poll(&app, &client, &device_code).await.1),
        "authorization_pending"
    );

    // The admin approves on the page.
    let page = boss_browser
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("viewer-user@example.com") && page.contains("Viewer"),
        "{page}"
    );
    let t = common::extract_csrf(&page).unwrap();
    let r = boss_browser
        .post(app.url(&format!("{path}/decision")))
        .form(&[("csrf_token", t.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.clock.advance(Duration::seconds(10));
    let (s, tokens) = poll(&app, &client, &device_code).await;
    assert_eq!(s, 200, "{tokens}");
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["sub"],
        user.id.to_string()
    );
    let kinds: Vec<String> = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(user.id), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert!(kinds.contains(&"device_approval_decided".to_string()));
    // Deciding twice is refused.
    let r = boss_browser
        .post(app.url(&format!("{path}/decision")))
        .form(&[("csrf_token", t.as_str()), ("decision", "deny")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // Denied by the admin.
    let (_, d) = start(&app, &client, "openid").await;
    let code2 = d["device_code"].as_str().unwrap().to_string();
    answer(&app, &browser, d["user_code"].as_str().unwrap(), "approve").await;
    let id2 = pending_id(&app, &client).await;
    // This time through the admin API.
    let (s, list) = api.get("/device-requests?status=awaiting_admin").await;
    assert_eq!(s, 200);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == id2.to_string() && d["user_id"] == user.id.to_string()));
    let (s, v) = api
        .post(
            &format!("/device-requests/{id2}/deny"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("denied")), "{v}");
    assert_eq!(
        api.post(
            &format!("/device-requests/{id2}/approve"),
            serde_json::json!({})
        )
        .await
        .0,
        409
    );
    app.clock.advance(Duration::seconds(10));
    let (s, e) = poll(&app, &client, &code2).await;
    assert_eq!((s, error(&e)), (400, "access_denied"), "{e}");

    // Nobody decides in time: the request expires.
    let (_, d) = start(&app, &client, "openid").await;
    let code3 = d["device_code"].as_str().unwrap().to_string();
    answer(&app, &browser, d["user_code"].as_str().unwrap(), "approve").await;
    let id3 = pending_id(&app, &client).await;
    app.clock.advance(Duration::hours(13));
    // (The admin's browser session has timed out by now; the API answers for them.)
    assert_eq!(
        api.post(
            &format!("/device-requests/{id3}/approve"),
            serde_json::json!({})
        )
        .await
        .0,
        409,
        "too late to approve"
    );
    let (_, list) = api.get("/device-requests").await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == id3.to_string() && d["status"] == "expired"));
    let (s, e) = poll(&app, &client, &code3).await;
    assert_eq!((s, error(&e)), (400, "expired_token"), "{e}");
    let actions = audit_actions(&app).await;
    for want in ["device.admin_approved", "device.admin_denied"] {
        assert!(actions.iter().any(|(a, _)| a == want), "{want}");
    }
}

async fn pending_id(app: &TestApp, client: &str) -> uuid::Uuid {
    app.state
        .store
        .list_devices(app.state.org.id, Some("awaiting_admin"))
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.client_id == client)
        .expect("a request awaiting an admin")
        .id
}

/// Bad input: clients without the grant, unknown scopes, unknown or foreign device
/// codes, wrong, expired and reused user codes, a denial, guessing user codes (429).
async fn refusals(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    let client = device_client(&app, false).await;
    let other = device_client(&app, false).await;
    let (web, _) = app.web_client().await;
    let (s, e) = start(&app, &web, "openid").await;
    assert_eq!(
        (s, error(&e)),
        (401, "invalid_client"),
        "a confidential client must authenticate: {e}"
    );
    let plain = app
        .register_client(monban::clients::NewClient {
            name: "Plain".into(),
            kind: "public".into(),
            redirect_uris: vec!["com.example.app:/cb".into()],
            ..Default::default()
        })
        .await
        .client_id;
    let (s, e) = start(&app, &plain, "openid").await;
    assert_eq!((s, error(&e)), (400, "unauthorized_client"), "{e}");
    let (s, e) = start(&app, &client, "openid admin").await;
    assert_eq!((s, error(&e)), (400, "invalid_scope"), "{e}");

    let (_, d) = start(&app, &client, "openid").await;
    let device_code = d["device_code"].as_str().unwrap().to_string();
    let user_code = d["user_code"].as_str().unwrap().to_string();
    assert_eq!(
        error(&poll(&app, &client, "not-a-device-code").await.1),
        "invalid_grant"
    );
    assert_eq!(
        error(&poll(&app, &other, &device_code).await.1),
        "invalid_grant",
        "bound to the client that asked"
    );

    let (viewer, browser) = signed_in(&app, "viewer-user@example.com").await;
    let (s, html) = answer(&app, &browser, "BCDF-GHJK", "approve").await;
    assert_eq!(s, 400);
    assert!(html.contains("device-error"), "{html}");
    // The user denies: the device hears access_denied, and the code cannot be reused.
    let (s, html) = answer(&app, &browser, &user_code, "deny").await;
    assert_eq!(s, 200);
    assert!(html.contains("data-status=\"denied\""));
    app.clock.advance(Duration::seconds(10));
    assert_eq!(
        error(&poll(&app, &client, &device_code).await.1),
        "access_denied"
    );
    let (s, _) = answer(&app, &browser, &user_code, "approve").await;
    assert_eq!(s, 400, "an answered code cannot be used again");

    // Expired before the user answered.
    let (_, d) = start(&app, &client, "openid").await;
    app.clock.advance(Duration::minutes(11));
    let (s, _) = answer(&app, &browser, d["user_code"].as_str().unwrap(), "approve").await;
    assert_eq!(s, 400);
    assert_eq!(
        error(
            &poll(&app, &client, d["device_code"].as_str().unwrap())
                .await
                .1
        ),
        "expired_token"
    );
    let actions = audit_actions(&app).await;
    for reason in ["unknown_user_code", "answered", "expired", "denied"] {
        assert!(
            actions
                .iter()
                .any(|(a, d)| a == "device.refused" && d.contains(reason)),
            "{reason}: {actions:?}"
        );
    }

    // An admin blocks the user's native apps after they approved: no tokens.
    let (_, d) = start(&app, &client, "openid").await;
    let (s, _) = answer(&app, &browser, d["user_code"].as_str().unwrap(), "approve").await;
    assert_eq!(s, 200);
    assert_eq!(
        app.admin()
            .await
            .put(
                &format!("/users/{}/app-block", viewer.id),
                serde_json::json!({})
            )
            .await
            .0,
        200
    );
    app.clock.advance(Duration::seconds(10));
    let (s, e) = poll(&app, &client, d["device_code"].as_str().unwrap()).await;
    assert_eq!((s, error(&e)), (400, "invalid_grant"), "{e}");
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("not permitted"));

    // Guessing user codes is throttled per user.
    let mut last = 0;
    for _ in 0..12 {
        let t = app.csrf(&browser, "/device").await;
        last = browser
            .post(app.url("/device"))
            .form(&[("csrf_token", t.as_str()), ("user_code", "ZZZZ-ZZZZ")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "user-code guessing is rate-limited");
}

/// The grants a user holds that outlive the browser session: an `offline_access`
/// refresh token from the code flow and a device-flow grant.
struct LongGrants {
    web: (String, String),
    device_client: String,
    offline: Value,
    device: Value,
}

async fn long_grants(app: &TestApp, browser: &reqwest::Client, email: &str) -> LongGrants {
    let web = app.web_client().await;
    let verifier = monban::util::random_token(32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
    );
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=nn&code_challenge={challenge}&code_challenge_method=S256",
        app.url("/authorize"),
        web.0,
        enc(common::REDIRECT),
        enc("openid offline_access"),
    );
    let cb = app
        .browse(browser, &url, Some((email, PW)), true)
        .await
        .unwrap();
    let code = common::query_param(&cb, "code").expect("code");
    let r = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&web.0, Some(&web.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", common::REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let offline: Value = r.json().await.unwrap();
    assert!(offline["refresh_token"].is_string(), "{offline}");

    let device_client = device_client(app, false).await;
    let (_, d) = start(app, &device_client, "openid offline_access").await;
    let (s, html) = answer(app, browser, d["user_code"].as_str().unwrap(), "approve").await;
    assert_eq!(s, 200, "{html}");
    app.clock.advance(Duration::seconds(10));
    let (s, device) = poll(app, &device_client, d["device_code"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{device}");
    LongGrants {
        web,
        device_client,
        offline,
        device,
    }
}

impl LongGrants {
    /// (offline refresh works, device refresh works, offline access token active,
    /// device access token accepted at userinfo). Refreshing rotates the stored tokens.
    async fn alive(&mut self, app: &TestApp) -> (bool, bool, bool, bool) {
        let http = reqwest::Client::new();
        let r = http
            .post(app.url("/introspect"))
            .basic_auth(&self.web.0, Some(&self.web.1))
            .form(&[("token", self.offline["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        let at_active = r.json::<Value>().await.unwrap()["active"] == true;
        let r = http
            .get(app.url("/userinfo"))
            .bearer_auth(self.device["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let device_at = r.status() == 200;
        let r = http
            .post(app.url("/token"))
            .basic_auth(&self.web.0, Some(&self.web.1))
            .form(&[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    self.offline["refresh_token"].as_str().unwrap(),
                ),
            ])
            .send()
            .await
            .unwrap();
        let offline_ok = r.status() == 200;
        let v: Value = r.json().await.unwrap();
        if offline_ok {
            self.offline = v;
        }
        let r = http
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    self.device["refresh_token"].as_str().unwrap(),
                ),
                ("client_id", self.device_client.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let device_ok = r.status() == 200;
        let v: Value = r.json().await.unwrap();
        if device_ok {
            self.device = v;
        }
        (offline_ok, device_ok, at_active, device_at)
    }
}

/// The user changes the password at `/account/password` in `browser`'s session.
async fn change_own_password(app: &TestApp, browser: &reqwest::Client, new: &str) {
    let token = app.csrf(browser, "/account/password").await;
    let r = browser
        .post(app.url("/account/password"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("current_password", PW),
            ("new_password", new),
            ("confirm_password", new),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

/// Own change, an admin-set password, and the completion of a change an admin asked
/// for: each revokes the offline refresh token and the device grant (and the access
/// tokens issued under them), not only the browser sessions. The session the user
/// changed the password in continues.
async fn every_credential_change_revokes_offline_and_device_grants(b: Backend) {
    let Some(app) = TestApp::spawn(b).await else {
        return;
    };
    const NEW: &str = "violet-Harbor-77-quartz";
    let api = app.admin().await;
    for path in ["own", "admin_set", "requested"] {
        let email = format!("{path}@example.com");
        let (user, browser) = signed_in(&app, &email).await;
        let mut g = long_grants(&app, &browser, &email).await;
        assert_eq!(
            g.alive(&app).await,
            (true, true, true, true),
            "{path}: alive before"
        );
        match path {
            "own" => change_own_password(&app, &browser, NEW).await,
            "admin_set" => {
                let (s, v) = api
                    .put(
                        &format!("/users/{}/password", user.id),
                        serde_json::json!({ "password": NEW }),
                    )
                    .await;
                assert_eq!(s, 200, "{v}");
            }
            _ => {
                let (s, v) = api
                    .post(
                        &format!("/users/{}/password-change-request", user.id),
                        serde_json::json!({}),
                    )
                    .await;
                assert_eq!(s, 200, "{v}");
                // Asking alone revokes nothing; the change the user then makes does.
                assert_eq!(
                    g.alive(&app).await,
                    (true, true, true, true),
                    "{path}: alive after the request"
                );
                change_own_password(&app, &browser, NEW).await;
                let u = app.state.store.get_user(user.id).await.unwrap();
                assert!(!u.password_change_required);
            }
        }
        assert_eq!(
            g.alive(&app).await,
            (false, false, false, false),
            "{path}: every long-lived grant is revoked"
        );
        if path != "admin_set" {
            assert_eq!(
                browser
                    .get(app.url("/account"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200,
                "{path}: the session the change was made in continues"
            );
        }
    }
}
