//! Sign-in through an upstream OpenID provider, against a real upstream: a second
//! Monban started by the test (its own database and keys, at `127.0.0.1`), with the
//! Monban under test at `localhost` (so that the two keep their cookies apart, as two
//! sites would). The admin registers the upstream; users sign in through it, are
//! created or linked as the provider allows (an existing account only by an e-mail the
//! upstream verified), and refusals change nothing; an admin unlinks.

use crate::common;
use crate::mfa_support;

use common::{Backend, TestApp};
use mfa_support::{audit_actions, location, PW};
use monban::clock::Clock;
use serde_json::{json, Value};

on_both_backends!(
    providers_are_managed_by_admins,
    first_sign_in_creates_a_user_and_links_it,
    an_existing_account_is_linked_only_by_a_verified_email,
    refusals_change_nothing,
    an_admin_unlinks_and_the_sessions_through_it_end,
    a_user_links_and_unlinks_from_the_account_page,
);

struct World {
    up: TestApp,
    down: TestApp,
    /// The downstream's base URL (`http://localhost:PORT`).
    base: String,
    admin: common::AdminClient,
}

/// Upstream and downstream Monbans, the provider `up` registered downstream with
/// `create_users` / `link_by_verified_email` as given.
async fn world(b: Backend, create_users: bool, link: bool) -> Option<World> {
    let up = TestApp::spawn(b).await?;
    let down = TestApp::spawn_with(b, |cfg| {
        let port = cfg.server.listen.rsplit(':').next().unwrap().to_string();
        cfg.server.issuer = format!("http://localhost:{port}");
    })
    .await?;
    let base = format!("http://localhost:{}", down.port);
    let reg = up
        .register_client(monban::clients::NewClient {
            name: "Downstream".into(),
            kind: "confidential".into(),
            redirect_uris: vec![format!("{base}/login/federation/up/callback")],
            first_party: true,
            ..Default::default()
        })
        .await;
    let admin = down.admin().await;
    let (s, body) = admin
        .post(
            "/identity-providers",
            json!({
                "slug": "up",
                "display_name": "Corp IdP",
                "issuer": up.base,
                "client_id": reg.client_id,
                "client_secret": reg.client_secret.unwrap(),
                "scopes": ["openid", "email", "profile"],
                "create_users": create_users,
                "link_by_verified_email": link,
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(
        body["redirect_uri"],
        format!("{base}/login/federation/up/callback")
    );
    assert!(body.get("client_secret").is_none(), "never shown again");
    Some(World {
        up,
        down,
        base,
        admin,
    })
}

/// An upstream user (e-mail verified there or not).
async fn upstream_user(w: &World, email: &str, verified: bool) {
    let u = w.up.create_user(email, PW).await;
    w.up.state
        .store
        .set_user_claims(
            u.id,
            &monban::store::UserClaims {
                email_verified: verified,
                ..Default::default()
            },
            w.up.clock.now(),
        )
        .await
        .unwrap();
}

/// The whole sign-in in a browser: the login page's provider link, the upstream's
/// sign-in, back to the callback. Returns the callback's answer.
async fn sign_in_through(w: &World, browser: &reqwest::Client, email: &str) -> reqwest::Response {
    let login = browser
        .get(format!("{}/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains(r#"data-provider="up""#), "{login}");
    let r = browser
        .get(format!("{}/login/federation/up?return_to=/account", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let authorize = location(&r);
    assert!(
        authorize.starts_with(&w.up.url("/authorize?")),
        "{authorize}"
    );
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="));
    let callback =
        w.up.browse(browser, &authorize, Some((email, PW)), true)
            .await
            .expect("back from the upstream");
    assert!(callback.starts_with(&format!("{}/login/federation/up/callback?", w.base)));
    browser.get(&callback).send().await.unwrap()
}

async fn signed_in(w: &World, browser: &reqwest::Client) -> bool {
    browser
        .get(format!("{}/account", w.base))
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

async fn providers_are_managed_by_admins(b: Backend) {
    let Some(w) = world(b, false, false).await else {
        return;
    };
    let a = &w.admin;
    let base = json!({
        "slug": "other", "display_name": "Other", "issuer": "https://idp.example.com",
        "client_id": "c", "client_secret": "s",
    });
    let with = |k: &str, v: Value| {
        let mut x = base.clone();
        x[k] = v;
        x
    };
    for (bad, field) in [
        (with("issuer", json!("http://idp.example.com")), "issuer"),
        (
            with("issuer", json!("https://idp.example.com/?x=1")),
            "issuer",
        ),
        (with("slug", json!("Bad Slug")), "slug"),
        (with("client_secret", json!("")), "client_secret"),
        (with("scopes", json!(["a b"])), "scopes"),
    ] {
        let (s, body) = a.post("/identity-providers", bad).await;
        assert_eq!(s, 400, "{field}: {body}");
        assert_eq!(body["code"], "invalid_identity_provider");
    }
    let (s, _) = a
        .post("/identity-providers", with("slug", json!("up")))
        .await;
    assert_eq!(s, 409, "the slug is taken");
    let (s, created) = a.post("/identity-providers", base.clone()).await;
    assert_eq!(s, 201);
    assert_eq!(
        created["scopes"],
        json!(["openid", "email", "profile"]),
        "the default"
    );
    let (s, p) = a
        .patch(
            "/identity-providers/other",
            json!({ "display_name": "Renamed", "disabled": true, "client_secret": "new" }),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["display_name"], "Renamed");
    assert_eq!(p["disabled"], true);
    let (_, list) = a.get("/identity-providers").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // A disabled provider is not offered on the login page.
    let page = reqwest::get(format!("{}/login", w.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-provider="up""#) && !page.contains(r#"data-provider="other""#));
    // The secret is stored sealed, not as given.
    let row = w
        .down
        .state
        .store
        .get_provider(w.down.state.org.id, "other")
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&row.client_secret_enc).contains("new"));
    // Without admin:clients: refused.
    let reader = common::AdminClient {
        base: a.base.clone(),
        token: w.down.admin_token("admin:users:read").await,
        http: reqwest::Client::new(),
    };
    assert_eq!(reader.get("/identity-providers").await.0, 403);
}

async fn first_sign_in_creates_a_user_and_links_it(b: Backend) {
    let Some(w) = world(b, true, false).await else {
        return;
    };
    upstream_user(&w, "newcomer@corp.example", false).await;
    let browser = w.down.client();
    let r = sign_in_through(&w, &browser, "newcomer@corp.example").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), "/account");
    assert!(signed_in(&w, &browser).await);
    let user = w
        .down
        .state
        .store
        .find_user_by_login(w.down.state.org.id, "newcomer@corp.example")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(user.status, "active");
    assert!(user.password_hash.is_none());
    let session = w
        .down
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .remove(0);
    let amr: Vec<&str> = session.amr.split_whitespace().collect();
    assert_eq!(amr[0], "fed", "{amr:?}");
    assert!(amr.contains(&"pwd"), "what the upstream reported: {amr:?}");
    // The security view lists the link.
    let (_, sec) = w.admin.get(&format!("/users/{}/security", user.id)).await;
    assert_eq!(sec["linked_logins"][0]["provider"], "up");
    assert_eq!(sec["linked_logins"][0]["email"], "newcomer@corp.example");
    assert!(sec["linked_logins"][0]["subject"].is_string());
    assert!(sec["linked_logins"][0]["linked_at"].is_string());
    // A second sign-in uses the link (no second user).
    let again = w.down.client();
    assert_eq!(
        sign_in_through(&w, &again, "newcomer@corp.example")
            .await
            .status(),
        303
    );
    assert_eq!(
        w.down
            .state
            .store
            .count_users(w.down.state.org.id)
            .await
            .unwrap(),
        1
    );
    let acts: Vec<String> = audit_actions(&w.down, user.id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        acts.contains(&"federation.user_created".to_string()),
        "{acts:?}"
    );
    assert!(
        acts.contains(&"federation.signed_in".to_string()),
        "{acts:?}"
    );
}

async fn an_existing_account_is_linked_only_by_a_verified_email(b: Backend) {
    let Some(w) = world(b, false, true).await else {
        return;
    };
    let local = w.down.create_user("alice@corp.example", PW).await;
    // The upstream has not verified the e-mail: no takeover, a clear page.
    upstream_user(&w, "alice@corp.example", false).await;
    let browser = w.down.client();
    let r = sign_in_through(&w, &browser, "alice@corp.example").await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("not linked to an account here"), "{page}");
    assert!(!signed_in(&w, &browser).await);
    assert!(w
        .down
        .state
        .store
        .list_links(local.id)
        .await
        .unwrap()
        .is_empty());
    // Verified upstream: linked, and signed in as that account.
    let up_user =
        w.up.state
            .store
            .find_user_by_login(w.up.state.org.id, "alice@corp.example")
            .await
            .unwrap()
            .unwrap();
    w.up.state
        .store
        .set_user_claims(
            up_user.id,
            &monban::store::UserClaims {
                email_verified: true,
                ..Default::default()
            },
            w.up.clock.now(),
        )
        .await
        .unwrap();
    monban::cache::user_changed(&w.up.state, up_user.id).await;
    let browser = w.down.client();
    let r = sign_in_through(&w, &browser, "alice@corp.example").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(signed_in(&w, &browser).await);
    let links = w.down.state.store.list_links(local.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].email.as_deref(), Some("alice@corp.example"));
}

async fn refusals_change_nothing(b: Backend) {
    let Some(w) = world(b, true, false).await else {
        return;
    };
    upstream_user(&w, "bob@corp.example", true).await;
    // The user declines at the upstream (access_denied comes back with the state).
    let browser = w.down.client();
    let r = browser
        .get(format!("{}/login/federation/up", w.base))
        .send()
        .await
        .unwrap();
    let authorize = location(&r);
    let state = common::query_param(&authorize, "state").unwrap();
    let r = browser
        .get(format!(
            "{}/login/federation/up/callback?error=access_denied&state={state}",
            w.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("cancelled or refused"));
    // A callback with a forged state, or none of this browser, or replayed: refused.
    let r = browser
        .get(format!(
            "{}/login/federation/up/callback?code=x&state=forged",
            w.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let ok = sign_in_through(&w, &w.down.client(), "bob@corp.example").await;
    assert_eq!(ok.status(), 303);
    let replay_browser = w.down.client();
    let r = sign_in_through_capture(&w, &replay_browser, "bob@corp.example").await;
    let first = replay_browser.get(&r).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let again = replay_browser.get(&r).send().await.unwrap();
    assert_eq!(again.status(), 400, "a callback works once");
    // Japanese page.
    let r = w
        .down
        .client()
        .get(format!(
            "{}/login/federation/up/callback?state=x&ui_locales=ja",
            w.base
        ))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("有効期限"));
    // The upstream is down: a clear page, nothing stored.
    let (s, _) = w
        .admin
        .patch(
            "/identity-providers/up",
            json!({ "issuer": "http://127.0.0.1:9" }),
        )
        .await;
    assert_eq!(s, 200);
    let r = w
        .down
        .client()
        .get(format!("{}/login/federation/up", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    // Only bob was created, once.
    assert_eq!(
        w.down
            .state
            .store
            .count_users(w.down.state.org.id)
            .await
            .unwrap(),
        1
    );
}

/// Like [`sign_in_through`], but returns the callback URL without calling it.
async fn sign_in_through_capture(w: &World, browser: &reqwest::Client, email: &str) -> String {
    let r = browser
        .get(format!("{}/login/federation/up", w.base))
        .send()
        .await
        .unwrap();
    w.up.browse(browser, &location(&r), Some((email, PW)), true)
        .await
        .unwrap()
}

async fn an_admin_unlinks_and_the_sessions_through_it_end(b: Backend) {
    let Some(w) = world(b, true, false).await else {
        return;
    };
    upstream_user(&w, "carol@corp.example", true).await;
    let browser = w.down.client();
    assert_eq!(
        sign_in_through(&w, &browser, "carol@corp.example")
            .await
            .status(),
        303
    );
    assert!(signed_in(&w, &browser).await);
    let user = w
        .down
        .state
        .store
        .find_user_by_login(w.down.state.org.id, "carol@corp.example")
        .await
        .unwrap()
        .unwrap();
    let (s, _) = w
        .admin
        .delete(&format!("/users/{}/linked-logins/up", user.id))
        .await;
    assert_eq!(s, 204);
    assert!(
        !signed_in(&w, &browser).await,
        "the session through it ended"
    );
    let (s, _) = w
        .admin
        .delete(&format!("/users/{}/linked-logins/up", user.id))
        .await;
    assert_eq!(s, 404);
    let (_, sec) = w.admin.get(&format!("/users/{}/security", user.id)).await;
    assert_eq!(sec["linked_logins"], json!([]));
    let ev = audit_actions(&w.down, user.id)
        .await
        .into_iter()
        .find(|e| e.action == "federation.unlinked")
        .expect("audited");
    assert_eq!(ev.actor_kind, "admin");
    let kinds: Vec<String> = w
        .down
        .state
        .store
        .list_outbox(w.down.state.org.id, Some(user.id), 20)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert!(
        kinds.contains(&"linked_login_removed".to_string()),
        "{kinds:?}"
    );
}

/// Signs in with a password at the downstream (its own form, at its own address).
async fn local_login(w: &World, browser: &reqwest::Client, email: &str) {
    let page = browser
        .get(format!("{}/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::extract_csrf(&page).unwrap();
    let r = browser
        .post(format!("{}/login", w.base))
        .form(&[
            ("username", email),
            ("password", PW),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

async fn a_user_links_and_unlinks_from_the_account_page(b: Backend) {
    let Some(w) = world(b, false, false).await else {
        return;
    };
    let dave = w.down.create_user("dave@example.com", PW).await;
    upstream_user(&w, "dave.at.corp@corp.example", false).await;
    let browser = w.down.client();
    local_login(&w, &browser, "dave@example.com").await;
    let r = browser
        .get(format!("{}/account/linked-logins", w.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&w.up.base),
        "the link form may lead upstream: {csp}"
    );
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"data-action="link-login""#), "{page}");
    let token = common::extract_csrf(&page).unwrap();
    let r = browser
        .post(format!("{}/account/linked-logins/up/link", w.base))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let callback =
        w.up.browse(
            &browser,
            &location(&r),
            Some(("dave.at.corp@corp.example", PW)),
            true,
        )
        .await
        .unwrap();
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/account/linked-logins?done=linked");
    let links = w.down.state.store.list_links(dave.id).await.unwrap();
    assert_eq!(
        links.len(),
        1,
        "linked without a verified e-mail: the user asked"
    );
    // Now the upstream account signs in as dave.
    let other = w.down.client();
    assert_eq!(
        sign_in_through(&w, &other, "dave.at.corp@corp.example")
            .await
            .status(),
        303
    );
    let (_, me) = (
        (),
        other
            .get(format!("{}/account", w.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(me.contains("dave@example.com"));
    // Unlinking (CSRF-checked) ends that session.
    let page = browser
        .get(format!("{}/account/linked-logins", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::extract_csrf(&page).unwrap();
    let r = browser
        .post(format!("{}/account/linked-logins/up/unlink", w.base))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = browser
        .post(format!("{}/account/linked-logins/up/unlink", w.base))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/account/linked-logins?done=unlinked");
    assert!(w
        .down
        .state
        .store
        .list_links(dave.id)
        .await
        .unwrap()
        .is_empty());
    assert!(!signed_in(&w, &other).await);
    assert!(signed_in(&w, &browser).await, "the password session stays");
}
