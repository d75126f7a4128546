//! The admin console (`/admin/`) over HTTP: who gets in (signed out, non-admin,
//! support session, admin without the second step), CSRF on every action, step-up
//! before destructive ones, scopes by role (an auditor reads, changes nothing), the
//! audit actor, and the same effect through `/admin/v1` as through the console.
//! The console in Chromium is driven in `browser.rs`.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{extract_csrf, Backend, TestApp};
use mfa_support::{enrolled_user, location, sign_in_with_totp, Authenticator, PW};
use monban::clock::Clock;
use reqwest::StatusCode;

/// Gives `user` the roles (as an admin would).
async fn set_roles(app: &TestApp, user: uuid::Uuid, roles: &str) {
    app.state
        .store
        .update_user_profile(user, None, None, Some(roles), app.clock.now())
        .await
        .unwrap();
    monban::cache::user_changed(&app.state, user).await;
}

/// An admin with MFA, signed in with both steps; returns the browser and authenticator.
async fn admin_browser(app: &TestApp, email: &str) -> (reqwest::Client, uuid::Uuid, Authenticator) {
    let c = app.client();
    let (user, auth, _) = enrolled_user(app, &c, email).await;
    set_roles(app, user.id, "admin").await;
    let c = sign_in_with_totp(app, email, &auth).await;
    (c, user.id, auth)
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String, String) {
    let r = c
        .get(app.url(path))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let loc = location(&r);
    (status, loc, r.text().await.unwrap())
}

/// Posts a console form with the token of the page it was on.
async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, _, html) = get(app, c, page).await;
    let token = extract_csrf(&html).unwrap_or_else(|| panic!("no form on {page}: {html}"));
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    c.post(app.url(action))
        .header("accept", "text/html")
        .header("origin", app.base.clone())
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn who_gets_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Signed out: every page sends the browser to sign in, coming back afterwards.
    let anon = app.client();
    for path in ["/admin/", "/admin/members?q=x", "/admin/audit"] {
        let (s, loc, _) = get(&app, &anon, path).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{path}");
        assert!(
            loc.starts_with("/login?return_to=%2Fadmin%2F"),
            "{path}: {loc}"
        );
    }
    // A member without an admin role: 403 page everywhere, and no action.
    let member = app.create_user("member@example.com", PW).await;
    let mc = app.client();
    assert_eq!(app.login(&mc, "member@example.com", PW).await.status(), 303);
    for path in [
        "/admin/".to_string(),
        "/admin/members".to_string(),
        format!("/admin/members/{}", member.id),
        "/admin/audit".to_string(),
        "/admin/app-blocks".to_string(),
        "/admin/support".to_string(),
        "/admin/policy".to_string(),
    ] {
        let (s, _, html) = get(&app, &mc, &path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("<html"), "a page, not JSON: {html}");
    }
    let token = app.csrf(&mc, "/account").await;
    let r = mc
        .post(app.url(&format!("/admin/members/{}/suspend", member.id)))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let u = app.state.store.get_user(member.id).await.unwrap();
    assert_eq!(u.status, "active");

    // An admin with a password-only session and no MFA: enrolment first.
    let admin = app.create_user("admin@example.com", PW).await;
    set_roles(&app, admin.id, "admin").await;
    let ac = app.client();
    assert_eq!(app.login(&ac, "admin@example.com", PW).await.status(), 303);
    let (s, loc, _) = get(&app, &ac, "/admin/members").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        loc.starts_with("/account/mfa/enroll?return_to=%2Fadmin%2Fmembers"),
        "{loc}"
    );
    // Enrolled, then signed in with both steps: in.
    let (_auth, _) = mfa_support::enrol_signed_in(&app, &ac).await;
    let (s, _, html) = get(&app, &ac, "/admin/members").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("member@example.com"));

    // An admin with MFA whose new session did only the password: the second step.
    let ac2 = app.client();
    mfa_support::password_step(&app, &ac2, "admin@example.com").await;
    let (s, loc, _) = get(&app, &ac2, "/admin/").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/login"), "{loc}");
    app.stop().await;
}

async fn actions_csrf_step_up_and_audit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ac, admin_id, _) = admin_browser(&app, "admin@example.com").await;
    let target = app.create_user("bob@example.com", PW).await;
    let page = format!("/admin/members/{}", target.id);

    // The member page: every action a form whose button names it.
    let (s, _, html) = get(&app, &ac, &page).await;
    assert_eq!(s, StatusCode::OK);
    for a in [
        "suspend",
        "delete",
        "app-block",
        "request-password-change",
        "set-password",
        "change-login-id",
    ] {
        assert!(
            html.contains(&format!("data-action=\"{a}\"")),
            "{a} on the page"
        );
    }

    // No CSRF token, or a foreign Origin: refused, nothing changed.
    let r = ac
        .post(app.url(&format!("{page}/app-block")))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let token = extract_csrf(&html).unwrap();
    let r = ac
        .post(app.url(&format!("{page}/app-block")))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app
        .state
        .store
        .get_user(target.id)
        .await
        .unwrap()
        .app_blocked_at
        .is_none());

    // A non-destructive action goes ahead, audited with the admin as actor.
    let r = post(&app, &ac, &page, &format!("{page}/app-block"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("{page}?done=app_block"));
    let u = app.state.store.get_user(target.id).await.unwrap();
    assert!(u.app_blocked_at.is_some());
    let events = mfa_support::audit_actions(&app, target.id).await;
    let e = events
        .iter()
        .find(|e| e.action == "app_access.blocked")
        .expect("audited");
    assert_eq!(e.actor_id, Some(admin_id));
    assert_eq!(e.actor_kind, "admin");
    assert!(e.ip.is_some());

    // Past the re-authentication window a destructive action asks for the password
    // first: nothing happens until it is given, a wrong one is refused.
    app.clock.advance(Duration::minutes(10));
    let r = post(&app, &ac, &page, &format!("{page}/suspend"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"password\""), "{html}");
    assert_eq!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "active"
    );
    let token = extract_csrf(&html).unwrap();
    let r = ac
        .post(app.url(&format!("{page}/suspend")))
        .form(&[
            ("csrf_token", token.as_str()),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "active"
    );
    let r = ac
        .post(app.url(&format!("{page}/suspend")))
        .form(&[("csrf_token", token.as_str()), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "suspended"
    );
    // Within the window now: the next destructive action needs no password.
    let r = post(&app, &ac, &page, &format!("{page}/delete"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "deleted"
    );
    // A deleted member's page offers restore; restoring works.
    let (_, _, html) = get(&app, &ac, &page).await;
    assert!(html.contains("data-action=\"restore\""));
    let r = post(&app, &ac, &page, &format!("{page}/restore"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_ne!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "deleted"
    );

    // A weak password is refused with the reason on the page; nothing changes.
    let before = app
        .state
        .store
        .get_user(target.id)
        .await
        .unwrap()
        .password_hash;
    let r = post(
        &app,
        &ac,
        &page,
        &format!("{page}/set-password"),
        &[("new_password", "short")],
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let html = r.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert_eq!(
        app.state
            .store
            .get_user(target.id)
            .await
            .unwrap()
            .password_hash,
        before
    );

    // A session of another user cannot be ended through this member's page.
    let other = app.create_user("carol@example.com", PW).await;
    let oc = app.client();
    app.login(&oc, "carol@example.com", PW).await;
    let other_session = mfa_support::newest_session(&app, other.id).await;
    let r = post(
        &app,
        &ac,
        &page,
        &format!("{page}/disconnect-session"),
        &[("session_id", &other_session.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(app
        .state
        .store
        .get_session(other_session.id)
        .await
        .unwrap()
        .unwrap()
        .ended_at
        .is_none());
    app.stop().await;
}

async fn auditor_reads_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let c = app.client();
    let (user, auth, _) = enrolled_user(&app, &c, "auditor@example.com").await;
    set_roles(&app, user.id, "auditor").await;
    let c = sign_in_with_totp(&app, "auditor@example.com", &auth).await;
    let target = app.create_user("bob@example.com", PW).await;
    let page = format!("/admin/members/{}", target.id);
    let (s, _, html) = get(&app, &c, &page).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(!html.contains("data-action="), "no action offered: {html}");
    let (s, _, _) = get(&app, &c, "/admin/audit").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = get(&app, &c, "/admin/policy").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Posting the action anyway (with a valid token from another page): 403.
    let r = post(&app, &c, "/account", &format!("{page}/app-block"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app
        .state
        .store
        .get_user(target.id)
        .await
        .unwrap()
        .app_blocked_at
        .is_none());
    app.stop().await;
}

/// The signed-in user of `c` issues a support grant for their own account.
pub(crate) async fn issue_grant(app: &TestApp, c: &reqwest::Client) -> serde_json::Value {
    let token = app.csrf(c, "/account/support-grants").await;
    let r = c
        .post(app.url("/account/support-grants"))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// What an attacker holding an admin's session cookie (but not the password) might try:
/// guessing the password at the step-up (counted: the account locks and the locked
/// admin is out of the console, so it cannot unlock itself), a policy that would make
/// sign-in overflow, reading a secret back from the step-up page, cached exports,
/// dates the database cannot hold.
async fn stolen_session_gets_nowhere(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ac, admin_id, _) = admin_browser(&app, "admin@example.com").await;
    let target = app.create_user("bob@example.com", PW).await;
    let page = format!("/admin/members/{}", target.id);
    // Exports are never cached; nonsense dates are a 400, not a 500.
    let r = ac.get(app.url("/admin/audit/export")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (s, _, _) = get(&app, &ac, "/admin/audit?from=-5000-01-01").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A lock longer than ten years is refused (it would overflow the clock at sign-in).
    let r = post(
        &app,
        &ac,
        "/admin/policy",
        "/admin/policy",
        &[
            ("max_failures", "5"),
            ("lock_duration_secs", "9000000000000"),
            ("backoff_multiplier", "2"),
            ("max_lock_duration_secs", "9000000000000"),
            ("mfa_grace_period_days", "0"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Past the window: the step-up page never shows the new password typed.
    app.clock.advance(Duration::minutes(10));
    let r = post(
        &app,
        &ac,
        &page,
        &format!("{page}/set-password"),
        &[("new_password", "Secret-Typed-Into-The-Form-1")],
    )
    .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(!html.contains("Secret-Typed-Into-The-Form-1"), "{html}");
    assert!(
        html.contains("name=\"new_password\""),
        "asked again: {html}"
    );
    // Guessing at the step-up: counted like sign-in failures (5 lock by default).
    for _ in 0..5 {
        let r = post(
            &app,
            &ac,
            &page,
            &format!("{page}/suspend"),
            &[("password", "a-wrong-guess")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.state.store.get_user(target.id).await.unwrap().status,
        "active"
    );
    assert!(app
        .state
        .store
        .get_user(admin_id)
        .await
        .unwrap()
        .is_locked(app.clock.now()));
    // Locked: out of the console (the session ends), so it cannot unlock itself.
    let (s, loc, _) = get(&app, &ac, &format!("/admin/members/{admin_id}")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/login"), "{loc}");
    let r = ac
        .post(app.url(&format!("/admin/members/{admin_id}/unlock")))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with("/login"), "signed out");
    assert!(app
        .state
        .store
        .get_user(admin_id)
        .await
        .unwrap()
        .is_locked(app.clock.now()));
    app.stop().await;
}

/// A support session (impersonating an admin) never reaches the console.
async fn support_session_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ac, _, _) = admin_browser(&app, "admin@example.com").await;
    let c = app.client();
    let (engineer, _, _) = enrolled_user(&app, &c, "eng@example.com").await;
    set_roles(&app, engineer.id, "support").await;
    // The admin issues a grant for their own account; the engineer redeems it.
    let g = issue_grant(&app, &ac).await;
    let link = g["link"].as_str().unwrap().to_string();
    let html = c.get(&link).send().await.unwrap().text().await.unwrap();
    let token = extract_csrf(&html).expect("redeem form");
    let r = c
        .post(&link)
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "redeemed");
    for path in ["/admin/", "/admin/members", "/admin/audit"] {
        let (s, _, _) = get(&app, &c, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    app.stop().await;
}

/// Bulk request from the members list, seen through the API.
async fn bulk_and_api_agree(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ac, _, _) = admin_browser(&app, "admin@example.com").await;
    let a = app.create_user("a@example.com", PW).await;
    let b = app.create_user("b@example.com", PW).await;
    let (_, _, html) = get(&app, &ac, "/admin/members?q=example.com").await;
    assert!(html.contains(&format!("href=\"/admin/members/{}\"", a.id)));
    let token = extract_csrf(&html).unwrap();
    let r = ac
        .post(app.url("/admin/members/bulk-request-password-change"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("user_id", &a.id.to_string()),
            ("user_id", &b.id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let api = app.admin().await;
    for u in [a.id, b.id] {
        let (s, v) = api.get(&format!("/users/{u}/security")).await;
        assert_eq!(s, 200);
        assert_eq!(v["password_change_required"], true, "{v}");
    }
    // Search and filters: a status that does not exist is a clear error, kept in the form.
    let (s, _, html) = get(&app, &ac, "/admin/members?status=bogus&q=zz").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("value=\"zz\""));
    app.clock.advance(Duration::seconds(1));
    app.stop().await;
}

on_both_backends!(
    who_gets_in,
    actions_csrf_step_up_and_audit,
    auditor_reads_only,
    support_session_refused,
    bulk_and_api_agree,
    support_screen_revokes_grants,
    stolen_session_gets_nowhere,
);

/// Every console route (read from the router, so a new one cannot be forgotten), with
/// every method it answers: a signed-out browser is sent to sign in (pages) or refused
/// (forms), a signed-in member without an admin role gets 403 — before any id, form or
/// query is looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_route_refuses_non_admins_and_the_signed_out() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let member = app.create_user("member@example.com", PW).await;
    let mc = app.client();
    assert_eq!(app.login(&mc, "member@example.com", PW).await.status(), 303);
    let token = app.csrf(&mc, "/account").await;
    let anon = app.client();
    let console: Vec<String> = crate::support::registered_patterns()
        .await
        .into_iter()
        .filter(|p| p.starts_with("/admin/") && !p.starts_with("/admin/v1"))
        .collect();
    assert!(console.len() >= 15, "{console:?}");
    let mut checked = 0;
    for pattern in &console {
        let path = pattern
            .replace("{id}", &member.id.to_string())
            .replace("{action}", "suspend")
            .replace("{kind}", "requests")
            .replace("{decision}", "approve");
        for method in ["GET", "POST"] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let form = [("csrf_token", token.as_str()), ("user_id", "x")];
            let r = mc
                .request(m.clone(), app.url(&path))
                .form(&form)
                .send()
                .await
                .unwrap();
            if r.status() == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "member: {method} {path}");
            let r = anon
                .request(m, app.url(&path))
                .form(&form)
                .send()
                .await
                .unwrap();
            if method == "GET" {
                assert_eq!(
                    r.status(),
                    StatusCode::SEE_OTHER,
                    "signed out: {method} {path}"
                );
                assert!(location(&r).starts_with("/login?return_to="), "{path}");
            } else {
                // A form post from a signed-out browser: sent to sign in, nothing done.
                assert!(
                    r.status() == StatusCode::SEE_OTHER || r.status() == StatusCode::FORBIDDEN,
                    "signed out: {method} {path}: {}",
                    r.status()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
    assert_eq!(
        app.state.store.get_user(member.id).await.unwrap().status,
        "active"
    );
    app.stop().await;
}

/// The support screen revokes a grant of any member; the engineer's session under it
/// ends at once.
async fn support_screen_revokes_grants(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ac, _, _) = admin_browser(&app, "admin@example.com").await;
    let user = app.create_user("customer@example.com", PW).await;
    let uc = app.client();
    app.login(&uc, "customer@example.com", PW).await;
    let g = issue_grant(&app, &uc).await;
    let grant = g["id"].as_str().unwrap().to_string();
    let (s, _, html) = get(&app, &ac, "/admin/support").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("data-grant=\"{grant}\"")), "{html}");
    let r = post(
        &app,
        &ac,
        "/admin/support",
        &format!("/admin/support/grants/{grant}/revoke-grant"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let grants = app.state.store.list_grants(user.id).await.unwrap();
    assert!(grants[0].revoked_at.is_some());
    let events = mfa_support::audit_actions(&app, user.id).await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "support_grant.revoked" && e.actor_kind == "admin"),
        "{events:?}"
    );
    // An unknown grant: 404, nothing else touched.
    let r = post(
        &app,
        &ac,
        "/admin/policy",
        &format!(
            "/admin/support/grants/{}/revoke-grant",
            uuid::Uuid::new_v4()
        ),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

/// Every console form (each POST route read from the router) refuses a signed-in
/// admin's post without the CSRF token, or with another site's Origin: 403, nothing
/// changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_form_needs_its_csrf_token() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (ac, _, _) = admin_browser(&app, "admin@example.com").await;
    let target = app.create_user("bob@example.com", PW).await;
    let (_, _, html) = get(&app, &ac, "/admin/policy").await;
    let token = extract_csrf(&html).unwrap();
    let posts: Vec<String> = crate::support::registered_patterns()
        .await
        .into_iter()
        .filter(|p| p.starts_with("/admin/") && !p.starts_with("/admin/v1"))
        .collect();
    let mut checked = 0;
    for pattern in &posts {
        let path = pattern
            .replace("{id}", &target.id.to_string())
            .replace("{action}", "suspend")
            .replace("{kind}", "requests")
            .replace("{decision}", "approve");
        let no_token = ac
            .post(app.url(&path))
            .form(&[
                ("user_id", target.id.to_string()),
                ("max_failures", "0".into()),
            ])
            .send()
            .await
            .unwrap();
        if no_token.status() == StatusCode::METHOD_NOT_ALLOWED {
            continue;
        }
        assert_eq!(no_token.status(), StatusCode::FORBIDDEN, "no token: {path}");
        let foreign = ac
            .post(app.url(&path))
            .header("origin", "https://evil.example")
            .form(&[
                ("csrf_token", token.as_str()),
                ("user_id", &target.id.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            foreign.status(),
            StatusCode::FORBIDDEN,
            "foreign origin: {path}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked} forms");
    let u = app.state.store.get_user(target.id).await.unwrap();
    assert_eq!(u.status, "active");
    assert!(!u.password_change_required);
    let (_, p) = app.admin().await.get("/policy").await;
    assert_ne!(p["lockout"]["max_failures"], 0);
    app.stop().await;
}
