//! The admin console in Chromium: an admin signs in with both steps, searches
//! members, opens a member's security page and presses every action button (typing
//! into the forms that need input, answering the step-up), in English and Japanese;
//! each action's effect is checked through `/admin/v1` as well. A member without an
//! admin role and a signed-out browser are refused. Screenshots in
//! `target/browser-screenshots/console-*.png`.

use crate::browser::harness::Browser;
use crate::browser::{sign_out, type_credentials};
use crate::common::{Backend, TestApp};
use crate::mfa_support::{self, Authenticator, PW};

use chrono::Duration;
use monban::clock::Clock;
use serde_json::Value;

/// Clicks the button of action `name` (the first on the page, or in the row that
/// `scope_css` selects) and waits for the answer page.
async fn press(b: &Browser, scope_css: &str, name: &str) {
    let css = format!("{scope_css} button[data-action='{name}']")
        .trim()
        .to_string();
    let button = b.find(&css).await;
    button
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {name}: {e}"));
    b.wait_gone(name, &button).await;
    b.wait_url(name, |_| true).await;
}

/// After an action: the console says it was done.
async fn expect_done(b: &Browser, name: &str) {
    let url = b.url().await;
    assert!(
        url.contains(&format!("done={}", name.replace('-', "_"))),
        "{name}: {url}\n{}",
        b.body_text().await
    );
    assert!(b.has("p.notice").await, "{name}: a notice");
}

/// A destructive action may ask for the password first: type it and confirm.
async fn answer_step_up(b: &Browser) {
    assert!(
        b.has("input[name='password']").await,
        "step-up form: {}",
        b.body_text().await
    );
    b.look("step-up", &[]).await;
    b.type_into("input[name='password']", PW).await;
    press(b, "", "step-up").await;
}

/// What a link of the page downloads, fetched with the browser's cookies (a headless
/// browser saves downloads to disk instead of showing them).
async fn download(b: &Browser, app: &TestApp, href: &str) -> (String, Vec<u8>) {
    let cookies: Vec<String> =
        b.c.get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
    let url = if href.starts_with('/') {
        app.url(href)
    } else {
        href.to_string()
    };
    let r = reqwest::Client::new()
        .get(url)
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{href}");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    (ct, r.bytes().await.unwrap().to_vec())
}

/// The `status` of the item with this `id` in an API list.
fn status_of(list: &Value, id: &str) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["status"].clone())
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

async fn api_security(app: &TestApp, user: uuid::Uuid) -> Value {
    let api = app.admin().await;
    let (s, v) = api.get(&format!("/users/{user}/security")).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Signs the admin in through the console's own redirects: sign-in, second step,
/// back to the console.
async fn admin_signs_in(b: &Browser, app: &TestApp, auth: &Authenticator) {
    b.goto(&app.url("/admin/")).await;
    b.wait_path("console needs a sign-in", "/login").await;
    type_credentials(b, "admin@example.com", PW).await;
    b.wait_path("second step", "/login/mfa").await;
    b.type_into("#code", &auth.code(app, 0)).await;
    b.click("form[action='/login/mfa'] button[type=submit]")
        .await;
    b.wait_path("console home", "/admin/").await;
    app.clock.advance(Duration::seconds(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_console_every_action() {
    let Some(b) = Browser::start("console").await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        cfg.lockout.max_failures = 3;
        cfg.lockout.permanent = true;
    })
    .await
    .unwrap();
    // The admin: MFA enrolled, admin role.
    let http = app.client();
    let (admin, auth, _) = mfa_support::enrolled_user(&app, &http, "admin@example.com").await;
    app.state
        .store
        .update_user_profile(admin.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    // Bob: MFA on, signed in elsewhere (a live session), has issued a support grant.
    let bob_browser = app.client();
    let (bob, _bob_auth, _) =
        mfa_support::enrolled_user(&app, &bob_browser, "bob@example.com").await;
    crate::console::issue_grant(&app, &bob_browser).await;
    // Carol and Dave for the bulk request; Eve locked after failed sign-ins.
    let carol = app.create_user("carol@example.com", PW).await;
    let dave = app.create_user("dave@example.com", PW).await;
    let eve = app.create_user("eve@example.com", PW).await;
    for _ in 0..3 {
        app.login(&app.client(), "eve@example.com", "wrong-password-1")
            .await;
    }
    assert!(api_security(&app, eve.id).await["lock"]["locked"] == true);

    // Signed out: the console sends the browser to sign in, and back after both steps.
    admin_signs_in(&b, &app, &auth).await;
    assert_eq!(b.text("h1").await, "Admin console");
    b.look("console home", &[]).await;

    // Search: the members page lists bob; his row links to his page.
    b.type_into("#home-q", "bob").await;
    b.click("form.search button[type=submit]").await;
    b.wait_path("members search", "/admin/members").await;
    assert!(b.url().await.contains("q=bob"));
    b.look("members search", &[]).await;
    let link = format!("a[href='/admin/members/{}']", bob.id);
    b.click(&link).await;
    b.wait_path("member page", &format!("/admin/members/{}", bob.id))
        .await;
    assert_eq!(b.text("h1").await, "bob");
    assert!(b.text("#mfa-state").await.starts_with("On"));
    b.look("member page", &[]).await;

    // App block, and unblock.
    press(&b, "", "app-block").await;
    expect_done(&b, "app-block").await;
    assert_eq!(
        api_security(&app, bob.id).await["app_block"]["blocked"],
        true
    );
    b.look("app blocked", &[]).await;
    press(&b, "", "app-unblock").await;
    expect_done(&b, "app-unblock").await;
    assert_eq!(
        api_security(&app, bob.id).await["app_block"]["blocked"],
        false
    );

    // Request a password change.
    press(&b, "", "request-password-change").await;
    expect_done(&b, "request-password-change").await;
    assert_eq!(
        api_security(&app, bob.id).await["password_change_required"],
        true
    );

    // Disconnect his one session (the row's own button): ended at once.
    let api = app.admin().await;
    let (_, sessions) = api.get(&format!("/users/{}/sessions", bob.id)).await;
    let sid = sessions[0]["id"].as_str().unwrap().to_string();
    let field = b
        .find("form input[name='session_id']")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        field.as_deref(),
        Some(sid.as_str()),
        "the form names the session as the API does"
    );
    press(&b, "", "disconnect-session").await;
    expect_done(&b, "disconnect-session").await;
    let (_, sessions) = api.get(&format!("/users/{}/sessions", bob.id)).await;
    assert_eq!(sessions.as_array().unwrap().len(), 0, "{sessions}");
    let r = bob_browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 303, "bob's browser is signed out");

    // Revoke the support grant he issued.
    press(&b, "", "revoke-grant").await;
    expect_done(&b, "revoke-grant").await;
    let grants = app.state.store.list_grants(bob.id).await.unwrap();
    assert!(grants[0].revoked_at.is_some());

    // Reset his MFA (within the re-authentication window of the sign-in: no step-up).
    press(&b, "", "reset-mfa").await;
    expect_done(&b, "reset-mfa").await;
    let (_, mfa) = api.get(&format!("/users/{}/mfa", bob.id)).await;
    assert_eq!(mfa["enabled"], false);

    // Set a password: typed into the form.
    b.type_into("#new_password", "Another-long-Passphrase-77")
        .await;
    press(&b, "", "set-password").await;
    expect_done(&b, "set-password").await;
    assert_eq!(
        app.login(
            &app.client(),
            "bob@example.com",
            "Another-long-Passphrase-77"
        )
        .await
        .status(),
        303
    );

    // Ten minutes later, suspending asks for the password first (step-up).
    app.clock.advance(Duration::minutes(10));
    press(&b, "", "suspend").await;
    answer_step_up(&b).await;
    expect_done(&b, "suspend").await;
    assert_eq!(api_security(&app, bob.id).await["status"], "suspended");
    b.look("suspended", &[]).await;
    press(&b, "", "unsuspend").await;
    expect_done(&b, "unsuspend").await;
    assert_eq!(api_security(&app, bob.id).await["status"], "active");

    // Change the login id (once).
    b.type_into("#login_id", "bob.smith").await;
    press(&b, "", "change-login-id").await;
    expect_done(&b, "change-login-id").await;
    let (_, u) = api.get(&format!("/users/{}", bob.id)).await;
    assert_eq!(u["login_id"], "bob.smith");
    assert!(
        !b.has("button[data-action='change-login-id']").await,
        "only once"
    );

    // Delete; the deleted member's page offers restore.
    press(&b, "", "delete").await;
    expect_done(&b, "delete").await;
    assert_eq!(api_security(&app, bob.id).await["status"], "deleted");
    b.look("deleted member", &[]).await;
    press(&b, "", "restore").await;
    expect_done(&b, "restore").await;
    assert_ne!(api_security(&app, bob.id).await["status"], "deleted");

    // Eve: unlock.
    b.goto(&app.url(&format!("/admin/members/{}", eve.id)))
        .await;
    b.wait_path("eve", &format!("/admin/members/{}", eve.id))
        .await;
    press(&b, "", "unlock").await;
    expect_done(&b, "unlock").await;
    assert_eq!(api_security(&app, eve.id).await["lock"]["locked"], false);

    // Disconnect all of Carol's sessions (two browsers), refresh tokens included.
    for _ in 0..2 {
        app.login(&app.client(), "carol@example.com", PW).await;
    }
    b.goto(&app.url(&format!("/admin/members/{}", carol.id)))
        .await;
    b.wait_path("carol", &format!("/admin/members/{}", carol.id))
        .await;
    press(&b, "", "disconnect-all").await;
    expect_done(&b, "disconnect-all").await;
    let (_, sessions) = api.get(&format!("/users/{}/sessions", carol.id)).await;
    assert_eq!(sessions.as_array().unwrap().len(), 0);

    // Bulk: tick Carol and Dave in the list, request a password change.
    b.goto(&app.url("/admin/members?status=active")).await;
    b.wait_path("members", "/admin/members").await;
    b.click(&format!("input[name='user_id'][value='{}']", carol.id))
        .await;
    b.click(&format!("input[name='user_id'][value='{}']", dave.id))
        .await;
    press(&b, "", "bulk-request-password-change").await;
    expect_done(&b, "bulk").await;
    for u in [carol.id, dave.id] {
        assert_eq!(
            api_security(&app, u).await["password_change_required"],
            true
        );
    }
    assert_eq!(
        api_security(&app, eve.id).await["password_change_required"],
        false
    );
    b.look("bulk done", &[]).await;

    // Support requests: approve one, deny another.
    let engineer = app.create_user("eng@example.com", PW).await;
    app.state
        .store
        .update_user_profile(engineer.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for reason in ["ticket 1", "ticket 2"] {
        let (s, r) = api
            .post(
                "/support-requests",
                serde_json::json!({ "support_user_id": engineer.id, "user_id": dave.id, "reason": reason }),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    b.goto(&app.url("/admin/support")).await;
    b.wait_path("support", "/admin/support").await;
    b.look("support requests", &[]).await;
    press(&b, &format!("tr[data-request='{}']", ids[0]), "approve").await;
    expect_done(&b, "approve").await;
    press(&b, &format!("tr[data-request='{}']", ids[1]), "deny").await;
    expect_done(&b, "deny").await;
    let (_, list) = api.get("/support-requests").await;
    let status = |id: &str| status_of(&list, id);
    assert_eq!(status(&ids[0]), "approved");
    assert_eq!(status(&ids[1]), "denied");

    // The audit log: the console's actions, with the admin as actor.
    b.goto(&app.url("/admin/audit?action=user.suspended")).await;
    b.wait_path("audit", "/admin/audit").await;
    let row = b.find("table.audit tbody tr").await;
    assert_eq!(
        row.attr("data-actor").await.unwrap().as_deref(),
        Some(admin.id.to_string().as_str())
    );
    b.look("audit log", &[]).await;
    let (_, events) = api
        .get(&format!("/audit-events?subject={}&limit=200", bob.id))
        .await;
    for e in events["items"].as_array().unwrap() {
        if e["actor_kind"] == "admin" {
            assert_eq!(e["actor_id"], admin.id.to_string(), "{e}");
        }
    }
    // The CSV export, downloaded with the browser's session (the link on the page).
    let href = b
        .find("#audit-export")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let (ct, csv) = download(&b, &app, &href).await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("at,action,actor_kind,actor_id"), "{csv}");
    assert!(csv.contains("user.suspended"));

    // The block list and its downloads.
    b.goto(&app.url("/admin/app-blocks")).await;
    b.wait_path("block list", "/admin/app-blocks").await;
    b.look("block list", &[]).await;
    let href = b
        .find("#blocks-xlsx")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let (ct, xlsx) = download(&b, &app, &href).await;
    assert!(ct.contains("spreadsheetml"), "{ct}");
    assert_eq!(&xlsx[..2], b"PK", "an XLSX file is a zip");
    let href = b
        .find("#blocks-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let (_, csv) = download(&b, &app, &href).await;
    assert!(String::from_utf8(csv)
        .unwrap()
        .starts_with("name,email,login_id"));

    // In Japanese: the language switch keeps the page; an action says it in Japanese.
    b.goto(&app.url(&format!("/admin/members/{}", dave.id)))
        .await;
    b.wait_path("dave", &format!("/admin/members/{}", dave.id))
        .await;
    b.click("header a.lang").await;
    b.wait_url("switch to ja", |u| u.contains("ui_locales=ja"))
        .await;
    assert_eq!(b.lang().await, "ja");
    assert!(b.body_text().await.contains("メンバーセキュリティ"));
    b.look("member page (ja)", &[]).await;
    press(&b, "", "app-block").await;
    expect_done(&b, "app-block").await;
    assert_eq!(b.text("p.notice").await, "アプリをブロックしました。");
    assert_eq!(
        api_security(&app, dave.id).await["app_block"]["blocked"],
        true
    );
    b.goto(&app.url("/admin/members")).await;
    b.wait_path("members (ja)", "/admin/members").await;
    assert_eq!(b.text("h1").await, "メンバー");
    b.look("members (ja)", &[]).await;
    b.goto(&app.url("/admin/audit")).await;
    b.wait_path("audit (ja)", "/admin/audit").await;
    b.look("audit (ja)", &[]).await;

    // The admin's own account page, then sign out; the console needs a sign-in again.
    b.goto(&app.url("/account?ui_locales=en")).await;
    b.wait_path("account", "/account").await;
    sign_out(&b, "admin signs out").await;
    b.goto(&app.url("/admin/members")).await;
    b.wait_path("signed out", "/login").await;

    // A member without an admin role gets a 403 page, in the console and for its actions.
    type_credentials(&b, "dave@example.com", PW).await;
    // Dave must change his password first (the bulk request): do it.
    b.wait_url("dave signed in", |_| true).await;
    b.goto(&app.url("/admin/")).await;
    b.wait_url("dave at the console", |_| true).await;
    assert!(
        b.body_text().await.contains("403"),
        "403 page: {}",
        b.body_text().await
    );
    b.look("non-admin refused", &[403]).await;
    b.close().await;
}

/// The accessibility check finds what it should: a page with an unlabelled field and an
/// image without text fails it (so the clean result on Monban's pages means something).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accessibility_check_catches_violations() {
    let Some(b) = Browser::start("axe").await else {
        return;
    };
    b.goto("data:text/html,<!doctype html><html><head><title>t</title></head><body><main><input type=text><img src=x.png></main></body></html>")
        .await;
    let problems = b.accessibility_problems("bad page").await;
    if !crate::browser::harness::axe_installed() {
        return;
    }
    assert!(problems.iter().any(|p| p.contains("label")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("image-alt")),
        "{problems:?}"
    );
    b.close().await;
}

/// Apps (register a client and see its secret once, rotate it after a step-up,
/// disable it; register and disable a SAML SP from its metadata), the policy form,
/// and a device sign-in waiting for an admin's approval — in Chromium, each checked
/// through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_console_apps_policy_and_devices() {
    let Some(b) = Browser::start("console-apps").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let http = app.client();
    let (admin, auth, _) = mfa_support::enrolled_user(&app, &http, "admin@example.com").await;
    app.state
        .store
        .update_user_profile(admin.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    let api = app.admin().await;
    admin_signs_in(&b, &app, &auth).await;

    // Register a confidential client: its secret is shown once, and works.
    b.goto(&app.url("/admin/apps")).await;
    b.wait_path("apps", "/admin/apps").await;
    b.look("apps", &[]).await;
    b.type_into("#client-name", "Wiki").await;
    b.type_into("#redirect-uris", "https://wiki.example.com/cb")
        .await;
    press(&b, "", "register-client").await;
    let client_id = b.text("#client-id").await;
    let secret = b.text("#client-secret").await;
    assert!(secret.len() >= 32, "{secret}");
    b.look("client registered", &[]).await;
    let (s, c) = api.get(&format!("/clients/{client_id}")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["redirect_uris"][0], "https://wiki.example.com/cb");
    let basic = |secret: &str| {
        reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth(&client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
    };
    // (a web client may not use client_credentials, but a wrong secret is told apart)
    let good = basic(&secret).send().await.unwrap().status();
    assert_ne!(good, 401, "the shown secret authenticates");

    // A bad registration comes back with the reason and what was typed.
    b.type_into("#client-name", "Broken").await;
    b.type_into("#redirect-uris", "not a url").await;
    press(&b, "", "register-client").await;
    assert!(b.has("p.error").await, "{}", b.body_text().await);
    assert_eq!(
        b.find("#client-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Broken")
    );
    b.look("bad registration", &[400]).await;

    // Rotate the secret, ten minutes on: the password first.
    app.clock.advance(Duration::minutes(10));
    b.goto(&app.url("/admin/apps")).await;
    b.wait_path("apps", "/admin/apps").await;
    press(&b, "", "rotate-secret").await;
    answer_step_up(&b).await;
    let rotated = b.text("#client-secret").await;
    assert_ne!(rotated, secret);
    assert_eq!(
        basic(&secret).send().await.unwrap().status(),
        401,
        "the old secret is gone"
    );

    // Disable it.
    b.goto(&app.url("/admin/apps")).await;
    b.wait_path("apps", "/admin/apps").await;
    press(&b, "", "disable-client").await;
    expect_done(&b, "client-disabled").await;
    let (s, _) = api.get(&format!("/clients/{client_id}")).await;
    assert_eq!(s, 404);

    // A SAML SP from its metadata, then disabled.
    let sp = crate::common::saml::TestSp::new("sp-console");
    b.type_into("#sp-name", "Payroll").await;
    b.type_into("#sp-metadata", &sp.metadata(false, "redirect"))
        .await;
    press(&b, "", "register-sp").await;
    expect_done(&b, "sp-registered").await;
    let (_, sps) = api.get("/saml/service-providers").await;
    assert!(
        sps.as_array()
            .unwrap()
            .iter()
            .any(|s| s["entity_id"] == sp.entity_id.as_str()),
        "{sps}"
    );
    b.look("sp registered", &[]).await;
    press(&b, "", "disable-sp").await;
    expect_done(&b, "sp-disabled").await;
    let (_, sps) = api.get("/saml/service-providers").await;
    assert!(sps.as_array().unwrap().is_empty(), "{sps}");

    // An upstream OpenID provider, typed in; Monban's own second step stays asked
    // unless the admin unticks it. Then disabled and enabled again.
    b.type_into("#idp-slug", "corp").await;
    b.type_into("#idp-name", "Corp SSO").await;
    b.type_into("#idp-issuer", "https://login.corp.example")
        .await;
    b.type_into("#idp-client-id", "monban").await;
    b.type_into("#idp-client-secret", "upstream-secret-1").await;
    press(&b, "", "register-idp").await;
    expect_done(&b, "idp-registered").await;
    assert!(b.has("tr[data-provider='corp']").await);
    b.look("idp registered", &[]).await;
    let (_, p) = api.get("/identity-providers/corp").await;
    assert_eq!(
        (p["issuer"].as_str(), p["require_local_mfa"].as_bool()),
        (Some("https://login.corp.example"), Some(true)),
        "{p}"
    );
    assert!(p.get("client_secret").is_none(), "never shown: {p}");
    press(&b, "tr[data-provider='corp']", "disable-idp").await;
    expect_done(&b, "idp-disabled").await;
    assert_eq!(
        api.get("/identity-providers/corp").await.1["disabled"],
        true
    );
    press(&b, "tr[data-provider='corp']", "enable-idp").await;
    expect_done(&b, "idp-enabled").await;
    assert_eq!(
        api.get("/identity-providers/corp").await.1["disabled"],
        false
    );

    // The policy: stricter lockout and MFA for everyone.
    b.goto(&app.url("/admin/policy")).await;
    b.wait_path("policy", "/admin/policy").await;
    b.look("policy", &[]).await;
    b.type_into("#max_failures", "7").await;
    b.click("input[name='mfa_required']").await;
    press(&b, "", "save-policy").await;
    expect_done(&b, "policy-saved").await;
    let (_, p) = api.get("/policy").await;
    assert_eq!(p["lockout"]["max_failures"], 7);
    assert_eq!(p["mfa_required"], true);
    // Nonsense is refused with the reason, nothing saved.
    // (the browser checks the ranges it knows; the longest lock shorter than the
    // first is the server's to refuse)
    b.type_into("#max_lock_duration_secs", "1").await;
    press(&b, "", "save-policy").await;
    assert!(b.has("p.error").await, "{}", b.body_text().await);
    assert_eq!(
        b.find("#max_lock_duration_secs")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("1"),
        "what was typed is kept"
    );
    b.look("policy refused", &[400]).await;
    let (_, p) = api.get("/policy").await;
    assert_eq!(p["lockout"]["max_failures"], 7);
    assert_ne!(p["lockout"]["max_lock_duration_secs"], 1);

    // A device sign-in the user approved waits for the admin: approve it here.
    let (s, c) = api
        .post(
            "/clients",
            serde_json::json!({ "name": "Viewer", "kind": "public", "requires_admin_approval": true, "scope": "openid" }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let viewer = c["client_id"].as_str().unwrap().to_string();
    let mut pending = Vec::new();
    for _ in 0..2 {
        let r: Value = reqwest::Client::new()
            .post(app.url("/device_authorization"))
            .form(&[("client_id", viewer.as_str()), ("scope", "openid")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user_code = r["user_code"].as_str().unwrap().to_string();
        // The admin approves as the user at /device (in their own HTTP browser).
        let token = app.csrf(&http, "/device").await;
        let page = http
            .post(app.url("/device"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("user_code", user_code.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = crate::common::extract_csrf(&page).unwrap();
        let r = http
            .post(app.url("/device/decision"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("user_code", user_code.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        pending.push(user_code);
    }
    let (_, list) = api.get("/device-requests?status=awaiting_admin").await;
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    b.goto(&app.url("/admin/support")).await;
    b.wait_path("support", "/admin/support").await;
    b.look("device approvals", &[]).await;
    press(&b, &format!("tr[data-device='{}']", ids[0]), "approve").await;
    expect_done(&b, "approve").await;
    press(&b, &format!("tr[data-device='{}']", ids[1]), "deny").await;
    expect_done(&b, "deny").await;
    let (_, list) = api.get("/device-requests").await;
    let status = |id: &str| status_of(&list, id);
    assert_eq!(status(&ids[0]), "approved");
    assert_eq!(status(&ids[1]), "denied");
    b.look("device decided", &[]).await;

    // Every screen in Japanese.
    b.goto(&app.url("/admin/?ui_locales=ja")).await;
    b.wait_path("home (ja)", "/admin/").await;
    for (path, h1) in [
        ("/admin/", "管理コンソール"),
        ("/admin/members", "メンバー"),
        (&format!("/admin/members/{}", admin.id) as &str, "admin"),
        ("/admin/audit", "監査ログ"),
        ("/admin/app-blocks", "アプリブロック一覧"),
        ("/admin/support", "サポート"),
        ("/admin/apps", "アプリ"),
        ("/admin/policy", "ポリシー"),
    ] {
        b.goto(&app.url(path)).await;
        b.wait_path(path, path).await;
        assert_eq!(b.lang().await, "ja", "{path}");
        assert_eq!(b.text("h1").await, h1, "{path}");
        b.look(&format!("{path} (ja)"), &[]).await;
    }
    b.goto(&app.url("/admin/?ui_locales=en")).await;
    b.wait_path("home (en)", "/admin/").await;

    // The console on a phone-sized window stays usable (menu wraps, tables scroll).
    b.c.set_window_size(390, 844).await.unwrap();
    b.goto(&app.url("/admin/members")).await;
    b.wait_path("members on a phone", "/admin/members").await;
    let overflow =
        b.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        Value::Bool(true),
        "no sideways scrolling of the page"
    );
    b.look("members on a phone", &[]).await;
    b.goto(&app.url(&format!("/admin/members/{}", admin.id)))
        .await;
    b.wait_path("member on a phone", &format!("/admin/members/{}", admin.id))
        .await;
    b.look("member on a phone", &[]).await;
    b.close().await;
}

/// An admin without two-step sign-in is sent from the console to enrol, in the
/// browser: sign-in, the enrolment page (the key read from the page, the code typed),
/// then the console opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_without_mfa_enrols_on_the_way_in() {
    let Some(b) = Browser::start("console-enrol").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.create_user("admin@example.com", PW).await;
    app.state
        .store
        .update_user_profile(admin.id, None, None, Some("admin"), app.clock.now())
        .await
        .unwrap();
    b.goto(&app.url("/admin/members")).await;
    b.wait_path("console needs a sign-in", "/login").await;
    type_credentials(&b, "admin@example.com", PW).await;
    let url = b.wait_path("enrolment first", "/account/mfa/enroll").await;
    assert!(url.contains("return_to=%2Fadmin%2Fmembers"), "{url}");
    b.look("enrolment for the console", &[]).await;
    let auth = Authenticator::from_base32(&b.text("#totp-key").await);
    b.type_into("#code", &auth.code(&app, 0)).await;
    let entry = b.find("form[action='/account/mfa/enroll']").await;
    b.click("form[action='/account/mfa/enroll'] button[type=submit]")
        .await;
    b.wait_gone("enrolment code submitted", &entry).await;
    b.wait_url("enrolled", |_| true).await;
    b.look("enrolled", &[]).await;
    b.goto(&app.url("/admin/members")).await;
    b.wait_path("console open", "/admin/members").await;
    assert_eq!(b.text("h1").await, "Members");
    b.look("console after enrolment", &[]).await;
    b.close().await;
}
