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
    the_console_registers_disables_and_unlinks,
    mis_signed_and_expired_id_tokens_are_refused,
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
    let (s, p) = a
        .patch("/identity-providers/other", json!({ "slug": "other2" }))
        .await;
    assert_eq!(s, 200, "{p}");
    assert!(p["redirect_uri"]
        .as_str()
        .unwrap()
        .ends_with("/login/federation/other2/callback"));
    let (s, _) = a
        .patch("/identity-providers/other2", json!({ "slug": "up" }))
        .await;
    assert_eq!(s, 409, "taken");
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
        .get_provider(w.down.state.org.id, "other2")
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
    // An application signing in through this session learns how: `fed` in the ID
    // token's and the access token's `amr`.
    let (client_id, secret) = w.down.web_client().await;
    let (url, verifier) = common::authz(&w.down, &client_id, "");
    let url = url.replace(&w.down.base, &w.base);
    let r = browser.get(&url).send().await.unwrap();
    let redirect = location(&r);
    assert!(redirect.starts_with(common::REDIRECT), "{redirect}");
    let t = common::exchange(&w.down, &client_id, &secret, &redirect, &verifier).await;
    let id = common::claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(id["amr"][0], "fed", "{id}");
    let at = common::claims_of(t["access_token"].as_str().unwrap());
    assert_eq!(at["amr"][0], "fed", "{at}");
    let intro: Value = reqwest::Client::new()
        .post(w.down.url("/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], true);
    assert_eq!(intro["amr"][0], "fed", "{intro}");
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

    // An invited member (no password yet) whose e-mail the upstream verified: linked,
    // and the invitation is answered (active).
    let invited = monban::users::create(
        &w.down.state,
        monban::users::CreateUser {
            email: "ivan@corp.example".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(invited.status, "pending");
    upstream_user(&w, "ivan@corp.example", true).await;
    let browser = w.down.client();
    let r = sign_in_through(&w, &browser, "ivan@corp.example").await;
    assert_eq!(r.status(), 303);
    assert!(signed_in(&w, &browser).await);
    let ivan = w.down.state.store.get_user(invited.id).await.unwrap();
    assert_eq!(ivan.status, "active");
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
    // A federated sign-in is not a recent (Monban) password: unlinking asks for one.
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
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).starts_with("/account/reauth?"),
        "{}",
        location(&r)
    );
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
    assert!(
        kinds.contains(&"linked_login_added".to_string()),
        "{kinds:?}"
    );

    // Unlinked, the upstream account no longer gets in: the account it created has
    // no password, and is never joined again by e-mail.
    let r = sign_in_through(&w, &w.down.client(), "carol@corp.example").await;
    assert_eq!(r.status(), 403);

    // Another member signs in through it; then the provider's issuer changes: the
    // links to the old issuer's accounts go, with their sessions.
    upstream_user(&w, "dan@corp.example", true).await;
    let again = w.down.client();
    assert_eq!(
        sign_in_through(&w, &again, "dan@corp.example")
            .await
            .status(),
        303
    );
    assert!(signed_in(&w, &again).await);
    let dan = w
        .down
        .state
        .store
        .find_user_by_login(w.down.state.org.id, "dan@corp.example")
        .await
        .unwrap()
        .unwrap();
    let (s, body) = w
        .admin
        .patch(
            "/identity-providers/up",
            json!({ "issuer": format!("{}/", w.up.base) }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(w
        .down
        .state
        .store
        .list_links(dan.id)
        .await
        .unwrap()
        .is_empty());
    assert!(!signed_in(&w, &again).await);
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

async fn the_console_registers_disables_and_unlinks(b: Backend) {
    let Some(w) = world(b, true, false).await else {
        return;
    };
    upstream_user(&w, "erin@corp.example", true).await;
    let member_browser = w.down.client();
    assert_eq!(
        sign_in_through(&w, &member_browser, "erin@corp.example")
            .await
            .status(),
        303
    );
    let member = w
        .down
        .state
        .store
        .find_user_by_login(w.down.state.org.id, "erin@corp.example")
        .await
        .unwrap()
        .unwrap();
    // An admin with both steps, in the console.
    let (admin, totp, _) =
        mfa_support::enrolled_user(&w.down, &w.down.client(), "root@example.com").await;
    w.down
        .state
        .store
        .update_user_profile(admin.id, None, None, Some("admin"), w.down.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&w.down.state, admin.id).await;
    let c = mfa_support::sign_in_with_totp(&w.down, "root@example.com", &totp).await;
    let get = |path: &str| {
        let c = c.clone();
        let url = w.down.url(path);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let apps = get("/admin/apps").await;
    assert!(apps.contains(r#"data-action="register-idp""#), "{apps}");
    assert!(apps.contains(&format!("{}/login/federation/up/callback", w.base)));
    let token = common::extract_csrf(&apps).unwrap();
    let r = c
        .post(w.down.url("/admin/apps/identity-providers"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("slug", "second"),
            ("display_name", "Second IdP"),
            ("issuer", "https://idp2.example.com"),
            ("client_id", "c2"),
            ("client_secret", "s2"),
            ("scopes", "openid email"),
            ("create_users", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("done=idp_registered"));
    let p = w
        .down
        .state
        .store
        .get_provider(w.down.state.org.id, "second")
        .await
        .unwrap()
        .expect("registered");
    assert!(p.create_users && !p.link_by_verified_email);
    // A refused registration comes back with the reason and what was typed.
    let r = c
        .post(w.down.url("/admin/apps/identity-providers"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("slug", "third"),
            ("display_name", "Third"),
            ("issuer", "http://idp3.example.com"),
            ("client_id", "c3"),
            ("client_secret", "s3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("idp3.example.com"));
    let r = c
        .post(w.down.url("/admin/apps/identity-providers/second/disable"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("done=idp_disabled"));
    // The member page lists the link; unlinking ends the member's session.
    let page = get(&format!("/admin/members/{}", member.id)).await;
    assert!(page.contains(r#"data-action="unlink-login""#), "{page}");
    let r = c
        .post(
            w.down
                .url(&format!("/admin/members/{}/unlink-login", member.id)),
        )
        .form(&[("csrf_token", token.as_str()), ("provider", "up")])
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).contains("done=unlink_login"),
        "{}",
        location(&r)
    );
    assert!(!signed_in(&w, &member_browser).await);
}

/// What the fake upstream's token endpoint answers with.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Good,
    /// Signed by a key that is not in the upstream's JWKS.
    WrongKey,
    /// Expired an hour ago.
    Expired,
    /// Issued for another client.
    OtherAudience,
}

struct Fake {
    base: String,
    mode: std::sync::Mutex<Mode>,
    nonce: std::sync::Mutex<String>,
    key: aws_lc_rs::signature::EcdsaKeyPair,
    other_key: aws_lc_rs::signature::EcdsaKeyPair,
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn es256_key() -> aws_lc_rs::signature::EcdsaKeyPair {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap()
}

impl Fake {
    fn id_token(&self, client_id: &str) -> String {
        let mode = *self.mode.lock().unwrap();
        let now = chrono::Utc::now().timestamp();
        let (iat, exp) = if mode == Mode::Expired {
            (now - 7200, now - 3600)
        } else {
            (now, now + 300)
        };
        let aud = if mode == Mode::OtherAudience {
            "someone-else"
        } else {
            client_id
        };
        let header = json!({ "alg": "ES256", "kid": "k1", "typ": "JWT" });
        let claims = json!({
            "iss": self.base, "sub": "fake-subject-1", "aud": aud, "iat": iat, "exp": exp,
            "nonce": *self.nonce.lock().unwrap(), "email": "fake@corp.example", "email_verified": true,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let key = if mode == Mode::WrongKey {
            &self.other_key
        } else {
            &self.key
        };
        let sig = key
            .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    fn jwks(&self) -> Value {
        use aws_lc_rs::signature::KeyPair;
        let p = self.key.public_key().as_ref();
        json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": b64(&p[1..33]), "y": b64(&p[33..65]) }] })
    }
}

/// A minimal OpenID provider whose token endpoint answers as [`Mode`] says.
async fn fake_upstream() -> std::sync::Arc<Fake> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let fake = std::sync::Arc::new(Fake {
        base: base.clone(),
        mode: std::sync::Mutex::new(Mode::Good),
        nonce: std::sync::Mutex::new(String::new()),
        key: es256_key(),
        other_key: es256_key(),
    });
    let f = fake.clone();
    let server = HttpServer::new(move || {
        let f = f.clone();
        App::new()
            .app_data(web::Data::from(f))
            .route(
                "/.well-known/openid-configuration",
                web::get().to(|f: web::Data<Fake>| async move {
                    HttpResponse::Ok().json(json!({
                        "issuer": f.base,
                        "authorization_endpoint": format!("{}/authorize", f.base),
                        "token_endpoint": format!("{}/token", f.base),
                        "jwks_uri": format!("{}/jwks", f.base),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["ES256"],
                    }))
                }),
            )
            .route(
                "/jwks",
                web::get()
                    .to(|f: web::Data<Fake>| async move { HttpResponse::Ok().json(f.jwks()) }),
            )
            .route(
                "/token",
                web::post().to(|f: web::Data<Fake>| async move {
                    HttpResponse::Ok().json(json!({
                        "access_token": "fake-access-token", "token_type": "Bearer",
                        "expires_in": 300, "id_token": f.id_token("fake-client"),
                    }))
                }),
            )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    tokio::spawn(server);
    fake
}

async fn mis_signed_and_expired_id_tokens_are_refused(b: Backend) {
    let Some(w) = world(b, true, false).await else {
        return;
    };
    let fake = fake_upstream().await;
    let (s, body) = w
        .admin
        .post(
            "/identity-providers",
            json!({ "slug": "fake", "display_name": "Fake", "issuer": fake.base,
                "client_id": "fake-client", "client_secret": "x", "create_users": true }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    // One round: off to the fake upstream, straight back with a code.
    let round = |mode: Mode| {
        let fake = fake.clone();
        let base = w.base.clone();
        let browser = w.down.client();
        async move {
            *fake.mode.lock().unwrap() = mode;
            let r = browser
                .get(format!("{base}/login/federation/fake"))
                .send()
                .await
                .unwrap();
            let authorize = location(&r);
            assert!(authorize.starts_with(&fake.base), "{authorize}");
            *fake.nonce.lock().unwrap() = common::query_param(&authorize, "nonce").unwrap();
            let state = common::query_param(&authorize, "state").unwrap();
            let r = browser
                .get(format!(
                    "{base}/login/federation/fake/callback?code=c&state={state}"
                ))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for mode in [Mode::WrongKey, Mode::Expired, Mode::OtherAudience] {
        let (s, page) = round(mode).await;
        assert_eq!(s, 400, "{page}");
        assert!(page.contains("could not be verified"), "{page}");
    }
    assert_eq!(
        w.down
            .state
            .store
            .count_users(w.down.state.org.id)
            .await
            .unwrap(),
        0
    );
    // The same fake with a good token: signed in (so the refusals above were the
    // tokens', not the fake's).
    let (s, _) = round(Mode::Good).await;
    assert_eq!(s, 303);
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
