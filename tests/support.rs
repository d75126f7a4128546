//! Support grants (user-issued): issue → redeem by support staff with MFA → SSO into an
//! app with `act` in the tokens → the user revokes → session and tokens die at once;
//! the refusals, and the 11th grant in 24 hours refused.

mod common;
mod mfa_support;

use base64::Engine;
use chrono::Duration;
use common::{query_param, Backend, TestApp, REDIRECT};
use monban::clock::Clock;
use serde_json::Value;

const PW: &str = mfa_support::PW;

struct World {
    app: TestApp,
    user: monban::store::User,
    user_browser: reqwest::Client,
    engineer: monban::store::User,
    engineer_browser: reqwest::Client,
}

async fn world(b: Backend) -> World {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("customer@example.com", PW).await;
    let user_browser = app.client();
    assert_eq!(
        app.login(&user_browser, "customer@example.com", PW)
            .await
            .status(),
        303
    );
    // The engineer: support role, signed in with MFA (enrolment upgrades the session).
    let engineer_browser = app.client();
    let (engineer, _, _) =
        mfa_support::enrolled_user(&app, &engineer_browser, "engineer@example.com").await;
    app.state
        .store
        .update_user_profile(engineer.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    World {
        app,
        user,
        user_browser,
        engineer,
        engineer_browser,
    }
}

async fn issue(w: &World, form: &[(&str, &str)]) -> reqwest::Response {
    let token = w.app.csrf(&w.user_browser, "/account/support-grants").await;
    let mut f: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    f.extend_from_slice(form);
    w.user_browser
        .post(w.app.url("/account/support-grants"))
        .header("accept", "application/json")
        .form(&f)
        .send()
        .await
        .unwrap()
}

async fn redeem(_w: &World, browser: &reqwest::Client, link: &str) -> reqwest::Response {
    let page = browser.get(link).send().await.unwrap();
    if page.status() != 200 {
        return page;
    }
    let html = page.text().await.unwrap();
    let token = common::extract_csrf(&html).unwrap();
    browser
        .post(link)
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap()
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

on_both_backends!(
    user_issues_support_redeems_sso_shows_act_user_revokes,
    refusals,
    eleventh_grant_in_a_day_is_refused,
    admin_approved_request_flow,
);

async fn kinds_for(app: &TestApp, user: uuid::Uuid) -> Vec<String> {
    app.state
        .store
        .list_outbox(app.state.org.id, Some(user), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

/// Support asks → admins are notified → an admin approves on the page (own sign-in) →
/// the engineer opens it → acting as the user. Denied and expired requests open nothing.
async fn admin_approved_request_flow(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let api = app.admin().await;
    let boss = app.create_user("boss@example.com", PW).await;
    app.state
        .store
        .update_user_profile(boss.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    let boss_browser = app.client();
    assert_eq!(
        app.login(&boss_browser, "boss@example.com", PW)
            .await
            .status(),
        303
    );
    let ask = |reason: &'static str| serde_json::json!({"support_user_id": w.engineer.id, "user_id": w.user.id, "reason": reason});
    assert_eq!(api.post("/support-requests", serde_json::json!({"support_user_id": w.engineer.id, "user_id": w.user.id, "reason": " "})).await.0, 400);
    assert_eq!(
        api.post(
            "/support-requests",
            serde_json::json!({"support_user_id": w.user.id, "user_id": w.user.id, "reason": "x"})
        )
        .await
        .0,
        400,
        "requester must be support staff"
    );
    let (s, r) = api
        .post("/support-requests", ask("customer cannot see invoices"))
        .await;
    assert_eq!((s, r["status"].as_str()), (201, Some("pending")), "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    // Admins are told, with a link that needs their own sign-in.
    let msgs = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(boss.id), 10)
        .await
        .unwrap();
    let pending = msgs
        .iter()
        .find(|m| m.kind == "support_request_pending")
        .expect("admin notified");
    assert!(pending
        .body_text
        .contains(&format!("/support/requests/{id}")));
    let page_url = app.url(&format!("/support/requests/{id}"));
    let anon = app.client();
    assert_eq!(
        anon.get(&page_url).send().await.unwrap().status(),
        303,
        "the link alone shows nothing"
    );
    assert_eq!(
        w.engineer_browser
            .get(&page_url)
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "not an admin"
    );
    let page = boss_browser
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("customer cannot see invoices") && page.contains("customer@example.com"));
    // Before approval nothing opens.
    let token = app.csrf(&w.engineer_browser, "/account").await;
    let redeem_url = app.url(&format!("/support/requests/{id}/redeem"));
    let r = w
        .engineer_browser
        .post(&redeem_url)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The admin approves on the page.
    let t = common::extract_csrf(&page).unwrap();
    let r = boss_browser
        .post(app.url(&format!("/support/requests/{id}/decision")))
        .form(&[("csrf_token", t.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        api.post(
            &format!("/support-requests/{id}/approve"),
            serde_json::json!({})
        )
        .await
        .0,
        409
    );
    // Only the requesting engineer can open it.
    let r = w
        .engineer_browser
        .post(&redeem_url)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let account = w
        .engineer_browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("customer@example.com") && account.contains("support-banner"));
    assert!(kinds_for(app, w.engineer.id)
        .await
        .contains(&"support_request_decided".to_string()));
    assert!(kinds_for(app, w.user.id)
        .await
        .contains(&"support_request_decided".to_string()));
    // Denied: nothing opens.
    let (_, r2) = api.post("/support-requests", ask("second")).await;
    let id2 = r2["id"].as_str().unwrap();
    let (s, d) = api
        .post(
            &format!("/support-requests/{id2}/deny"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!((s, d["status"].as_str()), (200, Some("denied")));
    // Expired: cannot be approved.
    let (_, r3) = api.post("/support-requests", ask("third")).await;
    app.clock.advance(Duration::hours(13));
    assert_eq!(
        api.post(
            &format!("/support-requests/{}/approve", r3["id"].as_str().unwrap()),
            serde_json::json!({})
        )
        .await
        .0,
        409
    );
    let (_, list) = api.get("/support-requests").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
}

async fn user_issues_support_redeems_sso_shows_act_user_revokes(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let (client_id, secret) = app.web_client().await;
    let sp = common::saml::TestSp::new("sp-support");
    common::saml::register(app, &sp, false, |_| {}).await;
    let other_sp = common::saml::TestSp::new("sp-not-covered");
    common::saml::register(app, &other_sp, false, |_| {}).await;
    let covered = format!("{client_id},{}", sp.entity_id);
    let r = issue(
        &w,
        &[
            ("target", "https://rp.example.com/cb/help"),
            ("readonly", "on"),
            ("clients", &covered),
        ],
    )
    .await;
    assert_eq!(r.status(), 201);
    let g: Value = r.json().await.unwrap();
    let link = g["link"].as_str().unwrap().to_string();
    assert!(link.starts_with(&app.url("/support/redeem/")));
    assert!(g["expires_at"].is_string() && g["id"].is_string());
    // The engineer sees whose account and confirms.
    let page = w
        .engineer_browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("customer@example.com"), "{page}");
    let r = redeem(&w, &w.engineer_browser, &link).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://rp.example.com/cb/help",
        "lands on the page the user gave"
    );
    // Now acting as the customer.
    let account = w
        .engineer_browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("customer@example.com"));
    assert!(
        account.contains("support-banner") && account.contains("Support session for"),
        "banner on every page"
    );
    // SSO into the covered client: tokens say who acts.
    let (v, ch) = {
        let v = monban::util::random_token(32);
        let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            v.as_bytes(),
        ));
        (v, c)
    };
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid+offline_access&state=s&code_challenge={ch}&code_challenge_method=S256",
        app.url("/authorize"),
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let back = app
        .browse(&w.engineer_browser, &url, None, true)
        .await
        .unwrap();
    let code = query_param(&back, "code").expect("code");
    let t: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap().to_string();
    for jwt in [t["id_token"].as_str().unwrap(), &at] {
        let c = claims(jwt);
        assert_eq!(c["sub"], w.user.id.to_string());
        assert_eq!(c["act"]["sub"], w.engineer.id.to_string());
        assert_eq!(c["support_grant"], g["id"]);
    }
    let scope = t["scope"].as_str().unwrap();
    assert!(
        scope.contains("support:readonly") && !scope.contains("offline_access"),
        "{scope}"
    );
    let ui: Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["act"]["sub"], w.engineer.id.to_string());
    let intro: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (intro["active"].as_bool(), intro["act"]["sub"].as_str()),
        (Some(true), Some(w.engineer.id.to_string().as_str()))
    );
    // SAML too: the assertion names the impersonator.
    let url = sp.redirect(
        app,
        "/saml/sso",
        &sp.authn_request(app, "_sup1", ""),
        None,
        false,
    );
    let Err((200, html)) = app.browse(&w.engineer_browser, &url, None, false).await else {
        panic!("SAML response page expected")
    };
    let (_, resp, _) = common::saml::form(&html, "SAMLResponse").expect("SAMLResponse");
    let xml = common::saml::verified_response(app, &resp);
    assert!(
        xml.contains("urn:monban:attribute:impersonator")
            && xml.contains(&w.engineer.id.to_string()),
        "{xml}"
    );
    // An SP the grant does not cover gets no assertion.
    let url = other_sp.redirect(
        app,
        "/saml/sso",
        &other_sp.authn_request(app, "_sup2", ""),
        None,
        false,
    );
    let Err((200, html)) = app.browse(&w.engineer_browser, &url, None, false).await else {
        panic!("SAML response page expected")
    };
    let (_, resp, _) = common::saml::form(&html, "SAMLResponse").expect("SAMLResponse");
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&resp)
            .unwrap(),
    )
    .unwrap();
    assert!(
        xml.contains("RequestDenied")
            && !xml.contains("<saml:Assertion")
            && !xml.contains("Assertion ID"),
        "{xml}"
    );
    // The user's own grant list shows it used, by whom.
    let list: Value = w
        .user_browser
        .get(app.url("/account/support-grants"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["state"], "used");
    assert_eq!(list[0]["redeemed_by"], w.engineer.display_name.as_str());
    // The user revokes: session and tokens die at once.
    let token = app.csrf(&w.user_browser, "/account/support-grants").await;
    let r = w
        .user_browser
        .post(app.url(&format!(
            "/account/support-grants/{}/revoke",
            g["id"].as_str().unwrap()
        )))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        w.engineer_browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let intro: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], false);
    // Audited with both parties; the user was told.
    let ev = app
        .state
        .store
        .list_audit_events_for_user(w.user.id, app.clock.now() - Duration::hours(1), 100)
        .await
        .unwrap();
    let redeemed = ev
        .iter()
        .find(|e| e.action == "support_grant.redeemed")
        .expect("redeem audited");
    assert_eq!(
        (redeemed.actor_kind.as_str(), redeemed.actor_id),
        ("support", Some(w.engineer.id))
    );
    assert!(ev.iter().any(|e| e.action == "support_grant.revoked"));
    let notes = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(w.user.id), 10)
        .await
        .unwrap();
    assert!(notes.iter().any(|m| m.kind == "support_grant_redeemed"));
    assert!(
        notes.iter().any(|m| m.kind == "support_session_ended"),
        "told when the support session ends"
    );
    let per_request = ev
        .iter()
        .find(|e| e.action == "support_session.request" && e.details.contains("/account"))
        .expect("requests under the grant are audited");
    assert_eq!(
        (per_request.actor_kind.as_str(), per_request.actor_id),
        ("support", Some(w.engineer.id))
    );
}

async fn refusals(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    // Targets outside Monban and its registered apps.
    for bad in [
        "https://evil.example/",
        "javascript:alert(1)",
        "//evil.example/x",
    ] {
        let r = issue(&w, &[("target", bad)]).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let g: Value = issue(&w, &[("target", "/account")])
        .await
        .json()
        .await
        .unwrap();
    let link = g["link"].as_str().unwrap().to_string();
    // A non-support user; a support user without MFA.
    let plain = app.client();
    app.create_user("plain@example.com", PW).await;
    app.login(&plain, "plain@example.com", PW).await;
    assert_eq!(redeem(&w, &plain, &link).await.status(), 403);
    let nomfa = app.client();
    let s = app.create_user("support2@example.com", PW).await;
    app.state
        .store
        .update_user_profile(s.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    app.login(&nomfa, "support2@example.com", PW).await;
    let r = redeem(&w, &nomfa, &link).await;
    assert_eq!(r.status(), 403);
    // Unknown link.
    assert_eq!(
        w.engineer_browser
            .get(app.url("/support/redeem/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Redeemed; then someone else cannot use it.
    assert_eq!(redeem(&w, &w.engineer_browser, &link).await.status(), 303);
    let other = app.client();
    let (other_eng, _, _) = mfa_support::enrolled_user(app, &other, "engineer2@example.com").await;
    app.state
        .store
        .update_user_profile(other_eng.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    assert_eq!(redeem(&w, &other, &link).await.status(), 409);
    // In the support session, credentials and grants cannot be changed.
    let token = app.csrf(&w.engineer_browser, "/account").await;
    for path in [
        "/account/password",
        "/account/support-grants",
        "/account/mfa/disable",
    ] {
        let r = w
            .engineer_browser
            .post(app.url(path))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // Nor can a device be connected to the user's account (RFC 8628 `/device`).
    for r in [
        w.engineer_browser.get(app.url("/device")),
        w.engineer_browser.post(app.url("/device/decision")).form(&[
            ("csrf_token", token.as_str()),
            ("user_code", "BCDF-GHJK"),
            ("decision", "approve"),
        ]),
    ] {
        assert_eq!(r.send().await.unwrap().status(), 403);
    }
    // Expiry ends the session; an expired link is refused.
    let g2: Value = issue(&w, &[("lifetime_secs", "600")])
        .await
        .json()
        .await
        .unwrap();
    app.clock.advance(Duration::hours(25));
    assert_eq!(
        w.engineer_browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "grant expired: session over"
    );
    // The engineer signs in again (with MFA) and tries the expired link.
    let _ = g2;
    let ev = app
        .state
        .store
        .list_audit_events(app.state.org.id, app.clock.now() - Duration::days(2), 200)
        .await
        .unwrap();
    assert!(
        ev.iter()
            .filter(|e| e.action == "support_grant.refused")
            .count()
            >= 3
    );
}

async fn eleventh_grant_in_a_day_is_refused(b: Backend) {
    let w = world(b).await;
    for i in 0..10 {
        assert_eq!(issue(&w, &[]).await.status(), 201, "grant {i}");
    }
    let token = w.app.csrf(&w.user_browser, "/account/support-grants").await;
    let r = w
        .user_browser
        .post(w.app.url("/account/support-grants"))
        .header("accept", "application/json")
        .header("accept-language", "ja")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "現在すでに上限に達しているため、これ以上認証リンクを生成できません"
    );
    // Rolling: a day later there is room again.
    w.app
        .clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(
        w.app
            .login(&w.user_browser, "customer@example.com", PW)
            .await
            .status(),
        303
    );
    assert_eq!(issue(&w, &[]).await.status(), 201);
}
