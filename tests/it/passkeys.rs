//! Passkeys over real HTTP, with webauthn-authenticator-rs's software authenticator
//! doing the client side of WebAuthn (real P-256 keys, signatures, client data):
//! registration, the second step, passwordless sign-in, replayed and foreign
//! challenges, a cloned authenticator, a support session, the admin's view and removal,
//! `acr_values` for a phishing-resistant sign-in, the organisation's policy, and an
//! issuer whose host is an IP address.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{authz, claims_of, exchange, query_param, Backend, TestApp};
use mfa_support::{audit_actions, location, PW};
use monban::clock::Clock;
use serde_json::{json, Value};
use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

on_both_backends!(
    register_then_second_step_gives_hwk_user_mfa_and_phr,
    passwordless_sign_in_from_the_login_page,
    replayed_foreign_and_expired_challenges_are_refused,
    cloned_authenticator_is_refused_and_audited,
    support_session_cannot_register_and_registration_needs_a_recent_password,
    admin_lists_and_removes_passkeys,
    console_shows_and_removes_a_members_passkey,
    acr_values_phr_is_met_only_by_a_passkey,
    policy_requires_a_passkey_for_staff,
    attestation_policy_allows_only_listed_models,
);

/// An instance whose issuer is `http://localhost:PORT` (a host name: WebAuthn's
/// relying-party id), reached at 127.0.0.1 by the test's HTTP client.
async fn spawn(b: Backend) -> Option<TestApp> {
    TestApp::spawn_with(b, |cfg| {
        let port = cfg.server.listen.rsplit(':').next().unwrap().to_string();
        cfg.server.issuer = format!("http://localhost:{port}");
    })
    .await
}

/// The user's most recently created live session (the clock is advanced between
/// sign-ins so that it is the one just made).
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

fn origin(app: &TestApp) -> Url {
    Url::parse(&format!("http://localhost:{}", app.port)).unwrap()
}

/// The software authenticator keeps no resident keys and refuses to be asked for one:
/// ask it without (the server's state does not depend on it; a platform authenticator,
/// as in the browser suite, makes a discoverable credential).
fn soft(mut ccr: CreationChallengeResponse) -> CreationChallengeResponse {
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Discouraged);
    }
    ccr
}

fn authenticator() -> SoftPasskey {
    // `true`: the authenticator says it verified the user (PIN/biometrics).
    SoftPasskey::new(true)
}

async fn post_json(app: &TestApp, c: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let r = c.post(app.url(path)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn csrf(app: &TestApp, c: &reqwest::Client) -> String {
    app.csrf(c, "/login").await
}

/// Registers a passkey for the user signed in on `c`; returns the finish answer.
async fn register(
    app: &TestApp,
    c: &reqwest::Client,
    auth: &mut SoftPasskey,
    name: &str,
) -> (u16, Value) {
    let token = csrf(app, c).await;
    let (s, opts) = post_json(
        app,
        c,
        "/account/passkeys/options",
        json!({ "csrf_token": token }),
    )
    .await;
    assert_eq!(s, 200, "{opts}");
    let ccr: CreationChallengeResponse = serde_json::from_value(opts).unwrap();
    assert!(
        ccr.public_key
            .authenticator_selection
            .as_ref()
            .unwrap()
            .require_resident_key,
        "a discoverable credential is asked for"
    );
    let cred = auth.do_registration(origin(app), soft(ccr)).unwrap();
    post_json(
        app,
        c,
        "/account/passkeys/finish",
        json!({ "csrf_token": token, "name": name, "credential": cred }),
    )
    .await
}

/// A user signed in with a password on `c`, with one passkey registered.
async fn user_with_passkey(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
) -> (monban::store::User, SoftPasskey) {
    let user = app.create_user(email, PW).await;
    assert_eq!(app.login(c, email, PW).await.status(), 303);
    let mut auth = authenticator();
    let (s, body) = register(app, c, &mut auth, "YubiKey").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["redirect"], "/account/passkeys?done=added");
    (user, auth)
}

/// The second step with the passkey on `c` (which has done the password step).
async fn second_step(
    app: &TestApp,
    c: &reqwest::Client,
    auth: &mut SoftPasskey,
) -> (u16, Value, PublicKeyCredential) {
    let token = csrf(app, c).await;
    let (s, opts) = post_json(
        app,
        c,
        "/login/mfa/passkey/options",
        json!({ "csrf_token": token }),
    )
    .await;
    assert_eq!(s, 200, "{opts}");
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = auth.do_authentication(origin(app), rcr).unwrap();
    let (s, body) = post_json(
        app,
        c,
        "/login/mfa/passkey/finish",
        json!({ "csrf_token": token, "credential": cred }),
    )
    .await;
    (s, body, cred)
}

/// Passwordless options, answered by `auth` for `credential_id` with `user_handle`.
async fn passwordless(
    app: &TestApp,
    c: &reqwest::Client,
    auth: &mut SoftPasskey,
    credential_id: &[u8],
    user_handle: &[u8],
) -> (u16, Value) {
    let token = csrf(app, c).await;
    let (s, opts) = post_json(
        app,
        c,
        "/login/passkey/options",
        json!({ "csrf_token": token, "conditional": false, "return_to": "/account" }),
    )
    .await;
    assert_eq!(s, 200, "{opts}");
    let mut rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    assert!(
        rcr.public_key.allow_credentials.is_empty(),
        "no user name, no credential list"
    );
    assert!(rcr.mediation.is_none(), "a button, not autofill");
    // The software authenticator keeps no resident keys: point it at its credential
    // (as a platform authenticator finds it by itself) and give the user handle a
    // discoverable credential returns.
    rcr.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: credential_id.to_vec(),
        transports: None,
    }];
    let mut cred = auth.do_authentication(origin(app), rcr).unwrap();
    cred.response.user_handle = Some(user_handle.to_vec());
    post_json(
        app,
        c,
        "/login/passkey/finish",
        json!({ "csrf_token": token, "credential": cred }),
    )
    .await
}

async fn register_then_second_step_gives_hwk_user_mfa_and_phr(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (user, mut auth) = user_with_passkey(&app, &setup, "pk@example.com").await;
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "YubiKey");
    assert_eq!(rows[0].kind, "hwk", "not backup-eligible: device-bound");
    assert!(
        !rows[0].credential.contains("private"),
        "only the public key is stored"
    );
    let acts: Vec<String> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(acts.contains(&"passkey.registered".to_string()), "{acts:?}");
    // The account page lists it.
    let page = setup
        .get(app.url("/account/passkeys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("YubiKey") && page.contains(r#"data-action="passkey-register""#));

    app.clock.advance(Duration::seconds(1));
    // A passkey is a second factor: the password now leads to the second step, which
    // offers the passkey (and no code form: the user has no authenticator app).
    let c = app.client();
    let r = app.login(&c, "pk@example.com", PW).await;
    assert_eq!(location(&r), "/login/mfa");
    let step = c
        .get(app.url("/login/mfa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(step.contains(r#"data-action="passkey-signin""#), "{step}");
    assert!(!step.contains(r#"name="code""#), "no TOTP without an app");
    let (s, body, _) = second_step(&app, &c, &mut auth).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["redirect"], "/account");
    let session = newest_session(&app, user.id).await;
    assert_eq!(session.amr, "pwd hwk user mfa");
    assert_eq!(session.acr, monban::sessions::ACR_PHR);
    let account = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "signed in");
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert!(rows[0].last_used_at.is_some() && rows[0].sign_count >= 1);

    // The admin API lists it under `passkeys`.
    let admin = app.admin().await;
    let (s, mfa) = admin.get(&format!("/users/{}/mfa", user.id)).await;
    assert_eq!(s, 200);
    assert_eq!(mfa["enabled"], true);
    assert_eq!(mfa["passkeys"][0]["name"], "YubiKey");
    assert_eq!(mfa["passkeys"][0]["id"], rows[0].id.to_string());
    assert!(mfa["passkeys"][0]["created_at"].is_string());
    assert!(mfa["passkeys"][0]["last_used_at"].is_string());

    // Registering the same authenticator's credential twice is excluded by the
    // options, and a second key gets its own row; a name is cleaned and limited.
    let mut other = authenticator();
    let long = "x".repeat(200);
    let (s, _) = register(&app, &c, &mut other, &format!("  {long}\u{7}  ")).await;
    assert_eq!(s, 200);
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().any(|r| r.name == "x".repeat(64)),
        "cleaned and cut"
    );
}

async fn passwordless_sign_in_from_the_login_page(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (user, mut auth) = user_with_passkey(&app, &setup, "nopw@example.com").await;
    let cred_id = app.state.store.list_passkeys(user.id).await.unwrap()[0]
        .credential_id
        .clone();
    // The login page offers it, with autofill on the user-name field.
    let login = app.client().get(app.url("/login")).send().await.unwrap();
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = login.text().await.unwrap();
    assert!(html.contains(r#"data-action="passkey-signin""#));
    assert!(html.contains(r#"autocomplete="username webauthn""#));

    app.clock.advance(Duration::seconds(1));
    let c = app.client();
    let (s, body) = passwordless(&app, &c, &mut auth, &cred_id, user.id.as_bytes()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["redirect"], "/account");
    let session = newest_session(&app, user.id).await;
    assert_eq!(session.amr, "hwk user mfa", "no password");
    assert_eq!(session.acr, monban::sessions::ACR_PHR);
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
    // A passwordless sign-in is not a recent password: changing passkeys asks for it.
    let t = csrf(&app, &c).await;
    let (s, body) = post_json(
        &app,
        &c,
        "/account/passkeys/options",
        json!({ "csrf_token": t }),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        body["redirect"],
        "/account/reauth?return_to=%2Faccount%2Fpasskeys"
    );

    // A user handle that is not the credential's owner: refused, nobody signed in.
    let other = app.create_user("other@example.com", PW).await;
    let c2 = app.client();
    let (s, body) = passwordless(&app, &c2, &mut auth, &cred_id, other.id.as_bytes()).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "passkey_refused");
    assert!(body["message"].as_str().unwrap().contains("not registered"));
    assert_eq!(
        c2.get(app.url("/account")).send().await.unwrap().status(),
        303
    );

    // A suspended account cannot sign in with its passkey.
    assert!(app
        .state
        .store
        .set_user_status(user.id, &["active"], "suspended", app.clock.now())
        .await
        .unwrap());
    monban::cache::user_changed(&app.state, user.id).await;
    let c3 = app.client();
    let (s, _) = passwordless(&app, &c3, &mut auth, &cred_id, user.id.as_bytes()).await;
    assert_eq!(s, 401);
    assert_eq!(
        c3.get(app.url("/account")).send().await.unwrap().status(),
        303
    );
}

async fn replayed_foreign_and_expired_challenges_are_refused(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (user, mut auth) = user_with_passkey(&app, &setup, "replay@example.com").await;

    // A second step completed, then its answer posted again: the challenge is gone.
    let c = app.client();
    app.login(&c, "replay@example.com", PW).await;
    let (s, _, cred) = second_step(&app, &c, &mut auth).await;
    assert_eq!(s, 200);
    let c2 = app.client();
    app.login(&c2, "replay@example.com", PW).await;
    let token = csrf(&app, &c2).await;
    let (s, body) = post_json(
        &app,
        &c2,
        "/login/mfa/passkey/finish",
        json!({ "csrf_token": token, "credential": cred }),
    )
    .await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "passkey_expired");

    // Options started in one browser, answered from another that has its own
    // half-finished sign-in: the answer is for the other challenge, refused.
    let (s, opts) = post_json(
        &app,
        &c2,
        "/login/mfa/passkey/options",
        json!({ "csrf_token": token }),
    )
    .await;
    assert_eq!(s, 200);
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = auth.do_authentication(origin(&app), rcr).unwrap();
    let c3 = app.client();
    app.login(&c3, "replay@example.com", PW).await;
    let t3 = csrf(&app, &c3).await;
    let (s, _) = post_json(
        &app,
        &c3,
        "/login/mfa/passkey/options",
        json!({ "csrf_token": t3 }),
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = post_json(
        &app,
        &c3,
        "/login/mfa/passkey/finish",
        json!({ "csrf_token": t3, "credential": cred }),
    )
    .await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(
        c3.get(app.url("/account")).send().await.unwrap().status(),
        303,
        "not signed in"
    );

    // Expired: the challenge lives mfa.challenge_lifetime_secs (300).
    let c4 = app.client();
    app.login(&c4, "replay@example.com", PW).await;
    let t4 = csrf(&app, &c4).await;
    let (_, opts) = post_json(
        &app,
        &c4,
        "/login/mfa/passkey/options",
        json!({ "csrf_token": t4 }),
    )
    .await;
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = auth.do_authentication(origin(&app), rcr).unwrap();
    app.clock.advance(Duration::seconds(301));
    let (s, _) = post_json(
        &app,
        &c4,
        "/login/mfa/passkey/finish",
        json!({ "csrf_token": t4, "credential": cred }),
    )
    .await;
    assert_eq!(s, 401);

    // Without the CSRF token: refused before anything.
    let c5 = app.client();
    app.login(&c5, "replay@example.com", PW).await;
    let r = c5
        .post(app.url("/login/mfa/passkey/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let _ = user;
}

async fn cloned_authenticator_is_refused_and_audited(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (user, mut auth) = user_with_passkey(&app, &setup, "clone@example.com").await;
    let c = app.client();
    app.login(&c, "clone@example.com", PW).await;
    assert_eq!(second_step(&app, &c, &mut auth).await.0, 200);
    let row = app
        .state
        .store
        .list_passkeys(user.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(row.sign_count, 1);

    // The genuine authenticator has signed 100 times elsewhere (the stored counter and
    // credential say so); this copy's counter is at 2: a clone.
    let mut cred: Value = serde_json::from_str(&row.credential).unwrap();
    cred["cred"]["counter"] = json!(100);
    assert!(app
        .state
        .store
        .use_passkey(row.id, 100, &cred.to_string(), "hwk", app.clock.now())
        .await
        .unwrap());
    let c2 = app.client();
    app.login(&c2, "clone@example.com", PW).await;
    let (s, body, _) = second_step(&app, &c2, &mut auth).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "passkey_cloned");
    assert_eq!(
        c2.get(app.url("/account")).send().await.unwrap().status(),
        303
    );
    let acts: Vec<String> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        acts.contains(&"passkey.clone_detected".to_string()),
        "{acts:?}"
    );

    // Only the counter column ahead (a racing use on another replica raised it after
    // the options were made): the conditional UPDATE refuses too.
    let row = app
        .state
        .store
        .list_passkeys(user.id)
        .await
        .unwrap()
        .remove(0);
    let mut cred: Value = serde_json::from_str(&row.credential).unwrap();
    cred["cred"]["counter"] = json!(2);
    assert!(app
        .state
        .store
        .use_passkey(row.id, 100, &cred.to_string(), "hwk", app.clock.now())
        .await
        .is_ok());
    let c3 = app.client();
    app.login(&c3, "clone@example.com", PW).await;
    let token = csrf(&app, &c3).await;
    let (_, opts) = post_json(
        &app,
        &c3,
        "/login/mfa/passkey/options",
        json!({ "csrf_token": token }),
    )
    .await;
    // Between the options and the answer, the stored counter moves past this one.
    app.state
        .store
        .use_passkey(row.id, 1000, &row.credential, "hwk", app.clock.now())
        .await
        .unwrap();
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = auth.do_authentication(origin(&app), rcr).unwrap();
    let (s, body) = post_json(
        &app,
        &c3,
        "/login/mfa/passkey/finish",
        json!({ "csrf_token": token, "credential": cred }),
    )
    .await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"], "passkey_cloned");
}

async fn support_session_cannot_register_and_registration_needs_a_recent_password(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let user = app.create_user("cust@example.com", PW).await;
    let (engineer, _, _) = mfa_support::enrolled_user(&app, &app.client(), "eng@example.com").await;
    app.state
        .store
        .update_user_profile(engineer.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&app.state, engineer.id).await;
    // A redeemed support grant and the engineer's session under it.
    let g = crate::store_fixtures::grant(app.state.org.id, user.id, "user", app.clock.now());
    app.state.store.insert_grant(&g).await.unwrap();
    assert!(app
        .state
        .store
        .redeem_grant(g.id, engineer.id, app.clock.now())
        .await
        .unwrap());
    let (_, token) = monban::sessions::create_impersonation(
        &app.state,
        &user,
        engineer.id,
        g.id,
        g.expires_at,
        &monban::sessions::AuthContext::totp(),
        &monban::audit::RequestMeta::default(),
    )
    .await
    .unwrap();
    let cookie = format!("{}={token}", app.state.cfg.session_cookie_name());
    // A browser without a cookie jar: the CSRF cookie and token of one page, and the
    // support session's cookie.
    let plain = reqwest::Client::new();
    let page = plain.get(app.url("/login")).send().await.unwrap();
    let csrf_name = app.state.cfg.cookie_name("monban_csrf");
    let csrf_cookie = common::set_cookie(&page, &csrf_name)
        .map(|v| format!("{csrf_name}={}", common::cookie_value(v)))
        .expect("a CSRF cookie");
    let t = common::extract_csrf(&page.text().await.unwrap()).unwrap();
    let r = plain
        .post(app.url("/account/passkeys/options"))
        .header("cookie", format!("{cookie}; {csrf_cookie}"))
        .json(&json!({ "csrf_token": t }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "impersonation_forbidden", "{body}");
    assert!(app
        .state
        .store
        .list_passkeys(user.id)
        .await
        .unwrap()
        .is_empty());

    // The user's own session, with the password entered too long ago: sent to enter
    // it again first.
    let own = app.client();
    assert_eq!(app.login(&own, "cust@example.com", PW).await.status(), 303);
    app.clock.advance(Duration::seconds(301));
    let t = csrf(&app, &own).await;
    let (s, body) = post_json(
        &app,
        &own,
        "/account/passkeys/options",
        json!({ "csrf_token": t }),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        body["redirect"],
        "/account/reauth?return_to=%2Faccount%2Fpasskeys"
    );
    // Signed out: to the login page.
    let anon = app.client();
    let t = csrf(&app, &anon).await;
    let (_, body) = post_json(
        &app,
        &anon,
        "/account/passkeys/options",
        json!({ "csrf_token": t }),
    )
    .await;
    assert!(body["redirect"].as_str().unwrap().starts_with("/login?"));
}

async fn admin_lists_and_removes_passkeys(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (user, _auth) = user_with_passkey(&app, &setup, "lost@example.com").await;
    let admin = app.admin().await;
    let (_, mfa) = admin.get(&format!("/users/{}/mfa", user.id)).await;
    let pid = mfa["passkeys"][0]["id"].as_str().unwrap().to_string();
    // Unknown passkey, or another member's: 404, nothing removed.
    let other = app.create_user("x@example.com", PW).await;
    let (s, _) = admin
        .delete(&format!("/users/{}/passkeys/{pid}", other.id))
        .await;
    assert_eq!(s, 404);
    let (s, _) = admin
        .delete(&format!(
            "/users/{}/passkeys/{}",
            user.id,
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(s, 404);
    // A token without admin:security cannot.
    let reader = common::AdminClient {
        base: admin.base.clone(),
        token: app.admin_token("admin:users:read").await,
        http: reqwest::Client::new(),
    };
    let (s, _) = reader
        .delete(&format!("/users/{}/passkeys/{pid}", user.id))
        .await;
    assert_eq!(s, 403);
    let (s, mfa) = admin
        .delete(&format!("/users/{}/passkeys/{pid}", user.id))
        .await;
    assert_eq!(s, 200, "{mfa}");
    assert_eq!(mfa["passkeys"], json!([]));
    assert_eq!(mfa["enabled"], false);
    let events = audit_actions(&app, user.id).await;
    let removed = events
        .iter()
        .find(|e| e.action == "passkey.removed")
        .expect("audited");
    assert_eq!(removed.actor_kind, "admin");
    // The user is told (the outbox holds the notice).
    let kinds: Vec<String> = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(user.id), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert!(kinds.contains(&"passkey_removed".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"passkey_added".to_string()), "{kinds:?}");
}

async fn console_shows_and_removes_a_members_passkey(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let setup = app.client();
    let (member, _auth) = user_with_passkey(&app, &setup, "member@example.com").await;
    // An admin signed in with both steps (the password is recent: no step-up).
    let (admin, totp, _) =
        mfa_support::enrolled_user(&app, &app.client(), "admin@example.com").await;
    app.state
        .store
        .update_user_profile(admin.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&app.state, admin.id).await;
    let c = mfa_support::sign_in_with_totp(&app, "admin@example.com", &totp).await;
    let page = format!("/admin/members/{}", member.id);
    let html = c
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("YubiKey"), "{html}");
    assert!(html.contains(r#"data-action="remove-passkey""#));
    let pid = app.state.store.list_passkeys(member.id).await.unwrap()[0].id;
    let token = common::extract_csrf(&html).unwrap();
    let r = c
        .post(app.url(&format!("{page}/remove-passkey")))
        .form(&[
            ("csrf_token", token.as_str()),
            ("passkey_id", &pid.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).contains("done=remove_passkey"),
        "{}",
        location(&r)
    );
    assert!(app
        .state
        .store
        .list_passkeys(member.id)
        .await
        .unwrap()
        .is_empty());
    let ev = audit_actions(&app, member.id)
        .await
        .into_iter()
        .find(|e| e.action == "passkey.removed")
        .expect("audited");
    assert_eq!(ev.actor_kind, "admin");
    assert_eq!(ev.actor_id, Some(admin.id));
}

async fn acr_values_phr_is_met_only_by_a_passkey(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let (id, secret) = app.web_client().await;
    // A user with an authenticator app and a passkey, signed in with the app's code.
    let c = app.client();
    let (user, totp, _) = mfa_support::enrolled_user(&app, &c, "phr@example.com").await;
    let mut auth = authenticator();
    assert_eq!(register(&app, &c, &mut auth, "Laptop").await.0, 200);
    assert_eq!(
        newest_session(&app, user.id).await.acr,
        monban::sessions::ACR_MFA
    );
    let _ = totp;

    // Without acr_values: a code at once, acr mfa.
    let (url, verifier) = authz(&app, &id, "");
    let redirect = app.browse(&c, &url, None, true).await.unwrap();
    let t = exchange(&app, &id, &secret, &redirect, &verifier).await;
    assert_eq!(
        claims_of(t["id_token"].as_str().unwrap())["acr"],
        monban::sessions::ACR_MFA
    );

    // Asking for the phishing-resistant level: a passkey step-up first.
    let phr = url::form_urlencoded::byte_serialize(monban::sessions::ACR_PHR.as_bytes())
        .collect::<String>();
    let (url, verifier) = authz(&app, &id, &format!("&acr_values={phr}"));
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let step = location(&r);
    assert!(
        step.starts_with("/login/mfa?step_up=1") && step.ends_with("&passkey=1"),
        "{step}"
    );
    let page = c
        .get(app.url(&step))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-action="passkey-signin""#));
    assert!(!page.contains(r#"name="code""#), "a code will not do");
    let (s, body, _) = second_step(&app, &c, &mut auth).await;
    assert_eq!(s, 200, "{body}");
    let back = body["redirect"].as_str().unwrap().to_string();
    assert!(back.starts_with("/authorize?"), "{back}");
    let redirect = app.browse(&c, &app.url(&back), None, true).await.unwrap();
    let t = exchange(&app, &id, &secret, &redirect, &verifier).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], monban::sessions::ACR_PHR);
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]));
    // prompt=none with a passkey-less session cannot skip it.
    let c2 = app.client();
    mfa_support::password_step(&app, &c2, "phr@example.com").await;
    let r = mfa_support::submit_code(&app, &c2, "/login/mfa", &totp_code(&app, &totp)).await;
    assert_eq!(r.status(), 303);
    let (none_url, _) = authz(&app, &id, &format!("&acr_values={phr}&prompt=none"));
    let r = app.browse(&c2, &none_url, None, false).await.unwrap();
    assert_eq!(
        query_param(&r, "error").as_deref(),
        Some("interaction_required")
    );
}

fn totp_code(app: &TestApp, a: &mfa_support::Authenticator) -> String {
    app.clock.advance(Duration::seconds(30));
    a.code(app, 0)
}

async fn policy_requires_a_passkey_for_staff(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let (id, _) = app.web_client().await;
    let admin = app.admin().await;
    let (_, mut policy) = admin.get("/policy").await;
    policy["phishing_resistant"] = json!("staff");
    let (s, body) = admin.put("/policy", policy).await;
    assert_eq!(s, 200, "{body}");
    // A member without a role is not asked.
    let c = app.client();
    app.create_user("member@example.com", PW).await;
    let (url, _) = authz(&app, &id, "");
    assert!(app
        .browse(&c, &url, Some(("member@example.com", PW)), true)
        .await
        .is_ok());
    // Support staff without a passkey register one first, then go on.
    let staff = app.create_user("staff@example.com", PW).await;
    app.state
        .store
        .update_user_profile(staff.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&app.state, staff.id).await;
    let s = app.client();
    assert_eq!(app.login(&s, "staff@example.com", PW).await.status(), 303);
    let r = s.get(&url).send().await.unwrap();
    let to = location(&r);
    assert!(
        to.starts_with("/account/passkeys?return_to=%2Fauthorize"),
        "{to}"
    );
    let page = s
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-action="passkey-register""#));
    let mut auth = authenticator();
    let token = csrf(&app, &s).await;
    let rt = query_param(&app.url(&to), "return_to").unwrap();
    let (_, opts) = post_json(
        &app,
        &s,
        "/account/passkeys/options",
        json!({ "csrf_token": token, "return_to": rt }),
    )
    .await;
    let ccr: CreationChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = auth.do_registration(origin(&app), soft(ccr)).unwrap();
    let (st, body) = post_json(
        &app,
        &s,
        "/account/passkeys/finish",
        json!({ "csrf_token": token, "name": "Key", "credential": cred, "return_to": rt }),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["redirect"].as_str().unwrap(), rt);
    // Registering proves no possession of a key: the session is not upgraded, and the
    // sign-on asks for the new passkey once.
    assert_eq!(
        newest_session(&app, staff.id).await.acr,
        monban::sessions::ACR_PASSWORD
    );
    let r = s.get(app.url(&rt)).send().await.unwrap();
    let step = location(&r);
    assert!(step.starts_with("/login/mfa?step_up=1"), "{step}");
    s.get(app.url(&step)).send().await.unwrap();
    let (st, body, _) = second_step(&app, &s, &mut auth).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        newest_session(&app, staff.id).await.acr,
        monban::sessions::ACR_PHR
    );
    assert!(app
        .browse(&s, &app.url(body["redirect"].as_str().unwrap()), None, true)
        .await
        .is_ok());

    // Their only passkey cannot be removed by themselves while the policy needs it.
    let pid = app.state.store.list_passkeys(staff.id).await.unwrap()[0].id;
    let t = csrf(&app, &s).await;
    let r = s
        .post(app.url(&format!("/account/passkeys/{pid}/remove")))
        .form(&[("csrf_token", t.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/account/passkeys?error=last");
    assert_eq!(
        app.state.store.list_passkeys(staff.id).await.unwrap().len(),
        1
    );
}

/// An issuer whose host is an IP address: passkeys are off, the server says why, and
/// nothing offers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_off_on_an_ip_issuer_and_say_why() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let reason = app.state.passkeys.off_reason().unwrap().to_string();
    assert!(reason.contains("IP address"), "{reason}");
    let c = app.client();
    let login = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("passkey-signin"));
    assert!(!login.contains("webauthn"));
    app.create_user("ip@example.com", PW).await;
    assert_eq!(app.login(&c, "ip@example.com", PW).await.status(), 303);
    let page = c
        .get(app.url("/account/passkeys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"passkeys-off\""), "{page}");
    assert!(page.contains("IP address"));
    assert!(!page.contains(r#"data-action="passkey-register""#));
    let t = csrf(&app, &c).await;
    let (s, body) = post_json(
        &app,
        &c,
        "/account/passkeys/options",
        json!({ "csrf_token": t }),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["code"], "passkeys_off");
    // Nor can the policy ask for passkeys.
    let admin = app.admin().await;
    let (_, mut p) = admin.get("/policy").await;
    p["phishing_resistant"] = json!("everyone");
    let (s, body) = admin.put("/policy", p).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["code"], "passkeys_off");
}

/// Passkeys switched off after users registered them (here: the issuer became an IP
/// address): their second step is still asked for, never skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_switched_off_still_ask_for_the_second_step() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let setup = app.client();
    user_with_passkey(&app, &setup, "off@example.com").await;
    let db = app.stop_and_take_db().await;
    let app = TestApp::spawn_on(db, |_| {}).await;
    assert!(app.state.passkeys.off_reason().is_some());
    let c = app.client();
    let r = app.login(&c, "off@example.com", PW).await;
    assert_eq!(
        location(&r),
        "/login/mfa",
        "the password alone is not enough"
    );
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        303
    );
}

/// The PEM of a software token's attestation CA.
fn ca_pem(ca: &crypto_glue::x509::Certificate) -> String {
    use crypto_glue::traits::EncodePem;
    ca.to_pem(crypto_glue::der::pem::LineEnding::LF).unwrap()
}

async fn attestation_policy_allows_only_listed_models(b: Backend) {
    use webauthn_authenticator_rs::softtoken::{SoftToken, AAGUID};
    let Some(app) = spawn(b).await else { return };
    let admin = app.admin().await;
    let (_, base) = admin.get("/policy").await;
    let (mut token, ca) = SoftToken::new(true).unwrap();
    let (_, other_ca) = SoftToken::new(true).unwrap();
    let set = |authenticators: Value| {
        let mut p = base.clone();
        p["passkey_attestation"] = json!({ "required": true, "authenticators": authenticators });
        p
    };
    // A policy that cannot be right is refused, and nothing changes.
    let (s, body) = admin
        .put(
            "/policy",
            set(json!([{ "name": "X", "ca_pem": "not a certificate", "aaguids": [AAGUID] }])),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "invalid_policy");
    let (s, _) = admin.put("/policy", set(json!([]))).await;
    assert_eq!(s, 400, "required without any allowed model");

    let c = app.client();
    let user = app.create_user("att@example.com", PW).await;
    assert_eq!(app.login(&c, "att@example.com", PW).await.status(), 303);
    // Another vendor's CA: refused.
    let (s, _) = admin
        .put(
            "/policy",
            set(json!([{ "name": "Other", "ca_pem": ca_pem(&other_ca), "aaguids": [AAGUID] }])),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = attested_register(&app, &c, &mut token).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"], "passkey_not_allowed");
    // The right CA but another model: refused.
    let (s, _) = admin
        .put("/policy", set(json!([{ "name": "Soft", "ca_pem": ca_pem(&ca), "aaguids": [uuid::Uuid::new_v4()] }])))
        .await;
    assert_eq!(s, 200);
    let (s, _) = attested_register(&app, &c, &mut token).await;
    assert_eq!(s, 403);
    assert!(app
        .state
        .store
        .list_passkeys(user.id)
        .await
        .unwrap()
        .is_empty());
    // The listed model under its CA: registered, with its AAGUID.
    let (s, _) = admin
        .put(
            "/policy",
            set(json!([{ "name": "Soft", "ca_pem": ca_pem(&ca), "aaguids": [AAGUID] }])),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = attested_register(&app, &c, &mut token).await;
    assert_eq!(s, 200, "{body}");
    let rows = app.state.store.list_passkeys(user.id).await.unwrap();
    assert_eq!(rows[0].aaguid.as_deref(), Some(AAGUID.to_string().as_str()));
}

/// Registers `token` (which attests) for the user signed in on `c`.
async fn attested_register(
    app: &TestApp,
    c: &reqwest::Client,
    token: &mut webauthn_authenticator_rs::softtoken::SoftToken,
) -> (u16, Value) {
    let t = csrf(app, c).await;
    let (s, opts) = post_json(
        app,
        c,
        "/account/passkeys/options",
        json!({ "csrf_token": t }),
    )
    .await;
    assert_eq!(s, 200, "{opts}");
    let ccr: CreationChallengeResponse = serde_json::from_value(opts).unwrap();
    let cred = token.do_registration(origin(app), soft(ccr)).unwrap();
    post_json(
        app,
        c,
        "/account/passkeys/finish",
        json!({ "csrf_token": t, "name": "Key", "credential": cred }),
    )
    .await
}
