//! Support grants (user-issued): issue → redeem by support staff with MFA → SSO into an
//! app with `act` in the tokens → the user revokes → session and tokens die at once;
//! the refusals, and the 11th grant in 24 hours refused.

use crate::common;
use crate::mfa_support;

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
    world_with(b, |_| {}).await
}

async fn world_with(b: Backend, tweak: impl FnOnce(&mut monban::Config)) -> World {
    let app = TestApp::spawn_with(b, tweak).await.unwrap();
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
    encoded_paths_do_not_get_past_the_support_session_refusal,
    support_sessions_end_with_the_engineers_standing,
    parallel_creations_stop_exactly_at_the_daily_limit,
    the_rate_limit_lets_the_daily_limit_speak,
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
    // An engineer who is an administrator too cannot approve their own request.
    set_roles(app, w.engineer.id, "support admin").await;
    let own = w
        .engineer_browser
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let t = common::extract_csrf(&own).expect("the admin's approval page");
    let r = w
        .engineer_browser
        .post(app.url(&format!("/support/requests/{id}/decision")))
        .form(&[("csrf_token", t.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "approving one's own request");
    set_roles(app, w.engineer.id, "support").await;
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
            .form(&[
                ("csrf_token", token.as_str()),
                ("current_password", PW),
                ("new_password", "green-Teapot-77-comet"),
                ("confirm_password", "green-Teapot-77-comet"),
            ])
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

// ------------------------------------------------------------------ issue 13

/// The engineer of `w` redeems a fresh grant: their browser is then in a support
/// session on the user's account. Returns the grant.
async fn impersonate(w: &World, browser: &reqwest::Client) -> Value {
    let g: Value = issue(w, &[("target", "/account")])
        .await
        .json()
        .await
        .unwrap();
    let r = redeem(w, browser, g["link"].as_str().unwrap()).await;
    assert_eq!(r.status(), 303, "redeemed");
    g
}

/// The problem code of a JSON error response.
async fn problem_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, code)
}

/// `path` with the characters at `positions` (byte indices of ASCII characters)
/// percent-encoded, in lower- or upper-case hex.
fn encode_at(path: &str, positions: &[usize], upper: bool) -> String {
    path.char_indices()
        .map(|(i, c)| match (positions.contains(&i), upper) {
            (true, false) => format!("%{:02x}", c as u32),
            (true, true) => format!("%{:02X}", c as u32),
            (false, _) => c.to_string(),
        })
        .collect()
}

/// Spellings of `path` that route to the same handler (percent-encoded letters, in
/// both hex cases), and spellings that must not route anywhere (`%2F`, doubled and
/// trailing slashes).
fn spellings(path: &str) -> (Vec<String>, Vec<String>) {
    let after_account = "/account/".len();
    let letters: Vec<usize> = path
        .char_indices()
        .filter(|(_, c)| *c != '/')
        .map(|(i, _)| i)
        .collect();
    // A letter whose code has a hex letter (m = 6d, o = 6f, n = 6e, …) when there is one.
    let hexy: Vec<usize> = path
        .char_indices()
        .filter(|(i, c)| {
            *i >= after_account && format!("{:x}", *c as u32).contains(char::is_alphabetic)
        })
        .map(|(i, _)| i)
        .take(1)
        .collect();
    let mut routed = vec![path.to_string()];
    for upper in [false, true] {
        routed.push(encode_at(path, &[after_account], upper));
        routed.push(encode_at(path, &hexy, upper));
        routed.push(encode_at(path, &letters, upper));
        routed.push(encode_at(path, &[1], upper));
    }
    routed.dedup();
    let unrouted = vec![
        path.replacen("/account/", "/account%2F", 1),
        path.replacen("/account/", "/account%2f", 1),
        path.replacen("/account/", "/account//", 1),
        format!("/{path}"),
        format!("{path}/"),
    ];
    (routed, unrouted)
}

/// From a support session, every spelling of every credential, MFA, re-auth and
/// grant action is refused (403 `impersonation_forbidden`) or routes nowhere (404),
/// and nothing changes; the user's own session still uses the same spellings.
async fn encoded_paths_do_not_get_past_the_support_session_refusal(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let kept: Value = issue(&w, &[]).await.json().await.unwrap();
    let kept_id = kept["id"].as_str().unwrap().to_string();
    impersonate(&w, &w.engineer_browser).await;
    let eng = &w.engineer_browser;
    let token = app.csrf(eng, "/account").await;
    const NEW: &str = "green-Teapot-77-comet";
    let pending = uuid::Uuid::new_v4().to_string();
    let revoke = format!("/account/support-grants/{kept_id}/revoke");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("POST", "/account/support-grants", vec![]),
        ("POST", &revoke, vec![]),
        (
            "POST",
            "/account/password",
            vec![
                ("current_password", PW),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        ),
        ("GET", "/account/password", vec![]),
        ("POST", "/account/reauth", vec![("password", PW)]),
        ("GET", "/account/reauth", vec![]),
        ("GET", "/account/mfa/enroll", vec![]),
        (
            "POST",
            "/account/mfa/enroll",
            vec![("pending_id", &pending), ("code", "123456")],
        ),
        ("GET", "/account/mfa/backup-codes", vec![]),
        ("POST", "/account/mfa/backup-codes", vec![]),
        (
            "POST",
            "/account/mfa/backup-codes/download",
            vec![("codes", "abcde-fghij")],
        ),
        ("GET", "/account/mfa/disable", vec![]),
        ("POST", "/account/mfa/disable", vec![]),
    ];
    for (method, path, fields) in &cases {
        let (routed, unrouted) = spellings(path);
        for (spelling, must_route) in routed
            .iter()
            .map(|s| (s, true))
            .chain(unrouted.iter().map(|s| (s, false)))
        {
            let mut form: Vec<(&str, &str)> = fields.clone();
            form.push(("csrf_token", &token));
            let url = app.url(spelling);
            let r = match *method {
                "GET" => eng.get(&url),
                _ => eng.post(&url).form(&form),
            }
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
            let (status, code) = problem_code(r).await;
            let refused = status == 403 && code == "impersonation_forbidden";
            if must_route {
                assert!(refused, "{method} {spelling}: {status} {code}");
            } else {
                assert!(
                    refused || status == 404,
                    "{method} {spelling}: {status} {code}"
                );
            }
        }
    }
    // Nothing changed: no new grant, the user's grant is live, same password, no MFA.
    let grants = app.state.store.list_grants(w.user.id).await.unwrap();
    assert_eq!(grants.len(), 2, "no grant minted in the support session");
    assert!(grants.iter().all(|g| g.revoked_at.is_none()));
    assert!(app.state.store.get_totp(w.user.id).await.unwrap().is_none());
    assert_eq!(
        app.login(&app.client(), "customer@example.com", PW)
            .await
            .status(),
        303,
        "password unchanged"
    );
    // The support session itself is still there (refusals do not end it).
    assert_eq!(
        eng.get(app.url("/account")).send().await.unwrap().status(),
        200
    );
    // The user's own session uses the same spellings.
    let ut = app.csrf(&w.user_browser, "/account").await;
    let r = w
        .user_browser
        .post(app.url("/account/%73upport-grants"))
        .header("accept", "application/json")
        .form(&[("csrf_token", ut.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the user's own grant");
    let r = w
        .user_browser
        .post(app.url("/account/%72eauth"))
        .form(&[
            ("csrf_token", ut.as_str()),
            ("password", PW),
            ("return_to", "/account/mfa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the user's own re-authentication");
    let r = w
        .user_browser
        .get(app.url("/account/%6Dfa/enroll"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the user's own enrolment page");
    let r = w
        .user_browser
        .get(app.url("/account/%70assword"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the user's own password page");
}

/// How a support session may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Support {
    /// Used as the user (pages, SSO, sign-in and sign-out) or not session-based at
    /// all (OAuth back-channel, admin API with bearer tokens, metadata).
    Allowed,
    /// Refused: 403 `impersonation_forbidden`.
    Refused,
    /// Refused as "not an administrator" even when the user is one (device approvals).
    NotAdmin,
}

/// Every route of the application and what a support session may do with it. A route
/// added without a line here fails [`every_route_is_classified_for_support_sessions`].
const ROUTES: &[(&str, &str, Support)] = {
    use Support::*;
    &[
        ("GET", "/", Allowed),
        ("GET", "/healthz", Allowed),
        ("GET", "/readyz", Allowed),
        ("GET", "/.well-known/jwks.json", Allowed),
        ("GET", "/static/monban.css", Allowed),
        // Sign-in and sign-out: a new sign-in replaces the support session.
        ("GET", "/login", Allowed),
        ("POST", "/login", Allowed),
        ("GET", "/logout", Allowed),
        ("POST", "/logout", Allowed),
        ("GET", "/login/mfa", Allowed),
        ("POST", "/login/mfa", Allowed),
        ("GET", "/login/backup-code", Allowed),
        ("POST", "/login/backup-code", Allowed),
        ("POST", "/login/passkey/options", Allowed),
        ("POST", "/login/passkey/finish", Allowed),
        ("POST", "/login/mfa/passkey/options", Allowed),
        ("POST", "/login/mfa/passkey/finish", Allowed),
        ("GET", "/static/passkey.js", Allowed),
        // Sign-in through an upstream provider: a new sign-in replaces the support session.
        ("GET", "/login/federation/{slug}", Allowed),
        ("GET", "/login/federation/{slug}/callback", Allowed),
        // The user's account: read as the user, change nothing that guards it.
        ("GET", "/account", Allowed),
        ("GET", "/account/mfa", Allowed),
        ("GET", "/account/mfa/enroll", Refused),
        ("POST", "/account/mfa/enroll", Refused),
        ("GET", "/account/mfa/backup-codes", Refused),
        ("POST", "/account/mfa/backup-codes", Refused),
        ("POST", "/account/mfa/backup-codes/download", Refused),
        ("GET", "/account/mfa/disable", Refused),
        ("POST", "/account/mfa/disable", Refused),
        ("GET", "/account/passkeys", Refused),
        ("POST", "/account/passkeys/options", Refused),
        ("POST", "/account/passkeys/finish", Refused),
        ("POST", "/account/passkeys/{id}/rename", Refused),
        ("POST", "/account/passkeys/{id}/remove", Refused),
        ("GET", "/account/linked-logins", Refused),
        ("POST", "/account/linked-logins/{slug}/link", Refused),
        ("POST", "/account/linked-logins/{slug}/unlink", Refused),
        ("GET", "/account/reauth", Refused),
        ("POST", "/account/reauth", Refused),
        ("GET", "/account/invitation", Allowed),
        ("POST", "/account/invitation", Allowed),
        ("GET", "/account/password", Refused),
        ("POST", "/account/password", Refused),
        ("GET", "/account/support-grants", Allowed),
        ("POST", "/account/support-grants", Refused),
        ("POST", "/account/support-grants/{id}/revoke", Refused),
        ("GET", "/support/redeem/{token}", Refused),
        ("POST", "/support/redeem/{token}", Refused),
        ("GET", "/support/requests/{id}", Refused),
        ("POST", "/support/requests/{id}/decision", Refused),
        ("POST", "/support/requests/{id}/redeem", Refused),
        // OpenID Connect.
        ("GET", "/.well-known/openid-configuration", Allowed),
        ("GET", "/authorize", Allowed),
        ("POST", "/authorize", Allowed),
        ("GET", "/consent", Allowed),
        ("POST", "/consent", Allowed),
        ("POST", "/token", Allowed),
        ("POST", "/device_authorization", Allowed),
        ("GET", "/device", Refused),
        ("POST", "/device", Refused),
        ("POST", "/device/decision", Refused),
        ("GET", "/device/requests/{id}", NotAdmin),
        ("POST", "/device/requests/{id}/decision", NotAdmin),
        ("GET", "/userinfo", Allowed),
        ("POST", "/userinfo", Allowed),
        ("POST", "/introspect", Allowed),
        ("POST", "/revoke", Allowed),
        ("GET", "/end_session", Allowed),
        ("POST", "/end_session", Allowed),
        ("POST", "/end_session/confirm", Allowed),
        // SAML.
        ("GET", "/saml/metadata", Allowed),
        ("GET", "/saml/sso", Allowed),
        ("POST", "/saml/sso", Allowed),
        ("GET", "/saml/continue", Allowed),
        ("GET", "/saml/idp-initiated", Allowed),
        ("GET", "/saml/slo", Allowed),
        ("POST", "/saml/slo", Allowed),
        ("GET", "/saml/error", Allowed),
        // The admin console: never in a support session.
        ("GET", "/admin", Allowed),
        ("GET", "/admin/", Refused),
        ("GET", "/admin/members", Refused),
        (
            "POST",
            "/admin/members/bulk-request-password-change",
            Refused,
        ),
        ("GET", "/admin/members/{id}", Refused),
        ("POST", "/admin/members/{id}/{action}", Refused),
        ("GET", "/admin/audit", Refused),
        ("GET", "/admin/audit/export", Refused),
        ("GET", "/admin/apps", Refused),
        ("POST", "/admin/apps/clients", Refused),
        ("POST", "/admin/apps/clients/{id}/{action}", Refused),
        ("POST", "/admin/apps/saml", Refused),
        ("POST", "/admin/apps/saml/disable", Refused),
        ("POST", "/admin/apps/identity-providers", Refused),
        (
            "POST",
            "/admin/apps/identity-providers/{slug}/{action}",
            Refused,
        ),
        ("GET", "/admin/app-blocks", Refused),
        ("GET", "/admin/app-blocks/export", Refused),
        ("GET", "/admin/support", Refused),
        ("POST", "/admin/support/{kind}/{id}/{decision}", Refused),
        ("GET", "/admin/policy", Refused),
        ("POST", "/admin/policy", Refused),
        // Admin API: bearer credentials only, never the browser session.
        ("GET", "/admin/v1/docs/{_:.*}", Allowed),
        ("GET", "/admin/v1/docs/openapi.json", Allowed),
        ("GET", "/admin/v1/openapi.json", Allowed),
        ("GET", "/admin/v1/users", Allowed),
        ("POST", "/admin/v1/users", Allowed),
        ("GET", "/admin/v1/users/{id}", Allowed),
        ("PATCH", "/admin/v1/users/{id}", Allowed),
        ("DELETE", "/admin/v1/users/{id}", Allowed),
        ("POST", "/admin/v1/users/{id}/restore", Allowed),
        ("POST", "/admin/v1/users/{id}/suspend", Allowed),
        ("POST", "/admin/v1/users/{id}/unsuspend", Allowed),
        ("POST", "/admin/v1/users/{id}/unlock", Allowed),
        ("PUT", "/admin/v1/users/{id}/password", Allowed),
        (
            "POST",
            "/admin/v1/users/{id}/password-change-request",
            Allowed,
        ),
        ("POST", "/admin/v1/password-change-requests", Allowed),
        ("PUT", "/admin/v1/users/{id}/app-block", Allowed),
        ("DELETE", "/admin/v1/users/{id}/app-block", Allowed),
        ("PUT", "/admin/v1/users/{id}/login-id", Allowed),
        ("GET", "/admin/v1/users/{id}/sessions", Allowed),
        ("DELETE", "/admin/v1/users/{id}/sessions", Allowed),
        (
            "DELETE",
            "/admin/v1/users/{id}/sessions/{session_id}",
            Allowed,
        ),
        ("GET", "/admin/v1/users/{id}/access-history", Allowed),
        ("GET", "/admin/v1/users/{id}/devices", Allowed),
        ("GET", "/admin/v1/users/{id}/security", Allowed),
        ("GET", "/admin/v1/users/{id}/mfa", Allowed),
        ("DELETE", "/admin/v1/users/{id}/mfa", Allowed),
        (
            "DELETE",
            "/admin/v1/users/{id}/passkeys/{passkey_id}",
            Allowed,
        ),
        (
            "DELETE",
            "/admin/v1/users/{id}/linked-logins/{provider}",
            Allowed,
        ),
        ("GET", "/admin/v1/identity-providers", Allowed),
        ("POST", "/admin/v1/identity-providers", Allowed),
        ("GET", "/admin/v1/identity-providers/{slug}", Allowed),
        ("PATCH", "/admin/v1/identity-providers/{slug}", Allowed),
        ("GET", "/admin/v1/policy", Allowed),
        ("PUT", "/admin/v1/policy", Allowed),
        ("GET", "/admin/v1/audit-events", Allowed),
        ("GET", "/admin/v1/app-blocks", Allowed),
        ("GET", "/admin/v1/clients", Allowed),
        ("POST", "/admin/v1/clients", Allowed),
        ("GET", "/admin/v1/clients/{client_id}", Allowed),
        ("DELETE", "/admin/v1/clients/{client_id}", Allowed),
        ("POST", "/admin/v1/clients/{client_id}/secret", Allowed),
        ("GET", "/admin/v1/saml/service-providers", Allowed),
        ("POST", "/admin/v1/saml/service-providers", Allowed),
        ("DELETE", "/admin/v1/saml/service-providers", Allowed),
        ("GET", "/admin/v1/support-requests", Allowed),
        ("POST", "/admin/v1/support-requests", Allowed),
        ("POST", "/admin/v1/support-requests/{id}/approve", Allowed),
        ("POST", "/admin/v1/support-requests/{id}/deny", Allowed),
        ("GET", "/admin/v1/device-requests", Allowed),
        ("POST", "/admin/v1/device-requests/{id}/approve", Allowed),
        ("POST", "/admin/v1/device-requests/{id}/deny", Allowed),
    ]
};

/// Every path pattern registered in the application, read from actix's resource map
/// (the tree the router matches against), scopes joined with their resources.
pub(crate) async fn registered_patterns() -> std::collections::BTreeSet<String> {
    let svc =
        actix_web::test::init_service(actix_web::App::new().configure(monban::app::routes)).await;
    let res = actix_web::test::call_service(
        &svc,
        actix_web::test::TestRequest::get()
            .uri("/static/monban.css")
            .to_request(),
    )
    .await;
    let dump = format!("{:#?}", res.request().resource_map());
    // (indent, pattern, leaf) of every ResourceMap node, in tree order.
    let lines: Vec<&str> = dump.lines().collect();
    let mut nodes: Vec<(usize, String, bool)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t == "ResourceMap {" || t.ends_with(": ResourceMap {") {
            // The first `patterns:` after it is its own.
            let j = (i..lines.len())
                .find(|&j| lines[j].trim().starts_with("patterns:"))
                .expect("a pattern");
            let rest = lines[j..].join("\n");
            let q = rest.find('"').expect("a quoted pattern") + 1;
            let end = rest[q..].find('"').expect("end of pattern") + q;
            nodes.push((indent, rest[q..end].to_string(), false));
        } else if t == "nodes: None," {
            let own = indent.saturating_sub(4);
            if let Some(n) = nodes.iter_mut().rev().find(|n| n.0 == own) {
                n.2 = true;
            }
        }
    }
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = std::collections::BTreeSet::new();
    for (indent, pattern, leaf) in nodes {
        while stack.last().is_some_and(|(d, _)| *d >= indent) {
            stack.pop();
        }
        let full: String = stack
            .iter()
            .map(|(_, p)| p.as_str())
            .chain([pattern.as_str()])
            .collect();
        if leaf {
            out.insert(full.clone());
        }
        stack.push((indent, pattern));
    }
    out
}

/// Walks every route registered for pages and APIs, with every method, from a support
/// session on an administrator's account, and checks each against [`ROUTES`]: routes
/// and methods not in the table fail the test, as do refused ones that answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_classified_for_support_sessions() {
    let patterns = registered_patterns().await;
    let table: std::collections::BTreeSet<&str> = ROUTES.iter().map(|r| r.1).collect();
    let unclassified: Vec<&String> = patterns
        .iter()
        .filter(|p| !table.contains(p.as_str()))
        .collect();
    assert!(
        unclassified.is_empty(),
        "routes without a support-session policy in ROUTES: {unclassified:?}"
    );
    let stale: Vec<&&str> = table.iter().filter(|p| !patterns.contains(**p)).collect();
    assert!(
        stale.is_empty(),
        "ROUTES names unregistered paths: {stale:?}"
    );

    let w = world_with(Backend::Sqlite, |c| c.support.daily_limit = 1000).await;
    let app = &w.app;
    // The user is an administrator: the support session still decides nothing.
    app.state
        .store
        .update_user_profile(w.user.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    // An engineer whose authenticator we hold, to open a new support session when a
    // route (sign-out, a new sign-in) ended the last one.
    let walker = "walker@example.com";
    let first = app.client();
    let (walker_user, auth, _) = mfa_support::enrolled_user(app, &first, walker).await;
    app.state
        .store
        .update_user_profile(walker_user.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    let mut eng = first;
    impersonate(&w, &eng).await;
    let mut token = app.csrf(&eng, "/account").await;
    let concrete = |p: &str| -> String {
        p.replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{session_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{token}", &"x".repeat(43))
            .replace("{client_id}", "nope")
            .replace("{_:.*}", "index.html")
    };
    let mut seen = Vec::new();
    for pattern in &patterns {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let form = [
                ("csrf_token", token.as_str()),
                ("decision", "deny"),
                ("new_password", "x"),
                ("confirm_password", "x"),
                ("password", "x"),
                ("code", "000000"),
                ("user_code", "BCDF-GHJK"),
            ];
            let url = app.url(&concrete(pattern));
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = eng
                .request(m, &url)
                .header("accept", "application/json")
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let code = body["code"].as_str().unwrap_or_default().to_string();
            let unrouted = status == 405 || (status == 404 && body["detail"] == "no such page");
            let expected = ROUTES
                .iter()
                .find(|r| r.0 == method && r.1 == pattern)
                .map(|r| r.2);
            match (expected, unrouted) {
                (None, true) => continue,
                (None, false) => {
                    panic!("{method} {pattern} answers ({status} {code}) but has no line in ROUTES")
                }
                (Some(_), true) => panic!("{method} {pattern} is in ROUTES but not routed"),
                (Some(Support::Refused), false) => assert_eq!(
                    (status, code.as_str()),
                    (403, "impersonation_forbidden"),
                    "{method} {pattern}: {text}"
                ),
                (Some(Support::NotAdmin), false) => assert_eq!(
                    (status, code.as_str()),
                    (403, "not_admin"),
                    "{method} {pattern}: {text}"
                ),
                (Some(Support::Allowed), false) => assert_ne!(
                    code, "impersonation_forbidden",
                    "{method} {pattern} is refused but ROUTES allows it"
                ),
            }
            seen.push((method, pattern.clone()));
            // Keep a support session for the next route.
            let alive = eng.get(app.url("/account")).send().await.unwrap().status();
            if alive != 200 {
                eng = mfa_support::sign_in_with_totp(app, walker, &auth).await;
                impersonate(&w, &eng).await;
                token = app.csrf(&eng, "/account").await;
            }
        }
    }
    assert_eq!(seen.len(), ROUTES.len(), "every line of ROUTES was walked");
}

/// Mints OIDC tokens in the support session of `browser`: (access token, refresh token).
async fn tokens_in(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    secret: &str,
) -> (String, Option<String>) {
    let v = monban::util::random_token(32);
    let ch = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        v.as_bytes(),
    ));
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s&code_challenge={ch}&code_challenge_method=S256",
        app.url("/authorize"),
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let back = app.browse(browser, &url, None, true).await.unwrap();
    let code = query_param(&back, "code").expect("code");
    let t: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
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
    assert!(claims(t["access_token"].as_str().unwrap())["act"]["sub"].is_string());
    (
        t["access_token"].as_str().unwrap().to_string(),
        t["refresh_token"].as_str().map(str::to_string),
    )
}

async fn active(app: &TestApp, client_id: &str, secret: &str, token: &str) -> bool {
    let v: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"].as_bool().unwrap()
}

/// Suspending, locking or deleting the engineer, removing their `support` role or
/// resetting their MFA ends their support sessions at once — in the database, before
/// anyone uses them again — and the tokens minted in them.
async fn support_sessions_end_with_the_engineers_standing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let admin = app.admin().await;
    let (client_id, secret) = app.web_client().await;
    for trigger in ["suspend", "lock", "delete", "role", "mfa_reset"] {
        let browser = app.client();
        let email = format!("eng-{trigger}@example.com");
        let (eng, _, _) = mfa_support::enrolled_user(app, &browser, &email).await;
        app.state
            .store
            .update_user_profile(eng.id, None, None, Some("support"), app.clock.now())
            .await
            .unwrap();
        impersonate(&w, &browser).await;
        let (at, rt) = tokens_in(app, &browser, &client_id, &secret).await;
        assert!(active(app, &client_id, &secret, &at).await, "{trigger}");
        let path = format!("/users/{}", eng.id);
        match trigger {
            "suspend" => {
                let (st, _) = admin
                    .post(&format!("{path}/suspend"), serde_json::json!({}))
                    .await;
                assert_eq!(st, 200);
            }
            "lock" => {
                for _ in 0..5 {
                    app.login(&app.client(), &email, "wrong-password").await;
                }
                let u = app.state.store.get_user(eng.id).await.unwrap();
                assert!(u.is_locked(app.clock.now()), "locked");
            }
            "delete" => assert_eq!(admin.delete(&path).await.0, 200),
            "role" => {
                let (st, _) = admin
                    .patch(&path, serde_json::json!({ "roles": ["admin"] }))
                    .await;
                assert_eq!(st, 200);
            }
            "mfa_reset" => assert_eq!(admin.delete(&format!("{path}/mfa")).await.0, 200),
            _ => unreachable!(),
        }
        // Ended in the database at once (not only when next used).
        let live = app.state.store.list_live_sessions(w.user.id).await.unwrap();
        assert!(
            live.iter().all(|s| s.impersonator_id != Some(eng.id)),
            "{trigger}: the support session is still live"
        );
        assert!(
            !active(app, &client_id, &secret, &at).await,
            "{trigger}: access token still active"
        );
        if let Some(rt) = rt {
            let r = reqwest::Client::new()
                .post(app.url("/token"))
                .basic_auth(&client_id, Some(&secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{trigger}: refresh still works");
        }
        assert_eq!(
            browser
                .get(app.url("/account"))
                .send()
                .await
                .unwrap()
                .status(),
            303,
            "{trigger}: the browser is signed out"
        );
        // The user's own session is untouched.
        assert_eq!(
            w.user_browser
                .get(app.url("/account"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

/// The daily limit holds under concurrency: 30 parallel creations make exactly 10
/// links; the others get 429 with the product's message.
async fn parallel_creations_stop_exactly_at_the_daily_limit(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let token = app.csrf(&w.user_browser, "/account/support-grants").await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let c = w.user_browser.clone();
        let url = app.url("/account/support-grants");
        let token = token.clone();
        set.spawn(async move {
            let r = c
                .post(url)
                .header("accept", "application/json")
                .header("accept-language", "ja")
                .form(&[("csrf_token", token)])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body)
        });
    }
    let mut created = 0;
    while let Some(r) = set.join_next().await {
        let (status, body) = r.unwrap();
        match status {
            201 => created += 1,
            429 => assert_eq!(
                body["detail"],
                "現在すでに上限に達しているため、これ以上認証リンクを生成できません"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(
        app.state.store.list_grants(w.user.id).await.unwrap().len(),
        10
    );
}

/// The per-user rate limit never refuses what the daily limit allows, even when
/// configured stricter (the old default, burst 5): ten links in a row pass, and the
/// eleventh (and a retry) meet the daily limit's own message.
async fn the_rate_limit_lets_the_daily_limit_speak(b: Backend) {
    let w = world_with(b, |c| {
        c.ratelimit.support_grant_user = monban::config::Limit::new(10, 3600, 5);
    })
    .await;
    for i in 0..10 {
        let r = issue(&w, &[]).await;
        assert_eq!(r.status(), 201, "link {}", i + 1);
    }
    let token = w.app.csrf(&w.user_browser, "/account/support-grants").await;
    for _ in 0..2 {
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
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "support_grant_limit");
        assert_eq!(
            body["detail"],
            "現在すでに上限に達しているため、これ以上認証リンクを生成できません"
        );
    }
}

/// The other raw-path decision (error rendering): an encoded spelling of the admin
/// API is the admin API for the router, so its errors stay `problem+json` for it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_admin_paths_answer_in_the_apis_format() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    for path in ["/admin/v1/users", "/%61dmin/v1/users", "/admin/v1/%75sers"] {
        let r = reqwest::Client::new()
            .get(app.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/problem+json"), "{path}: {ct}");
    }
}

async fn set_roles(app: &TestApp, id: uuid::Uuid, roles: &str) {
    app.state
        .store
        .update_user_profile(id, None, None, Some(roles), app.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&app.state, id).await;
}
