//! The admin REST API: authorization, users, and every account security control,
//! shown to take effect at once on browser sessions, refresh tokens, introspection
//! and back-channel logout.

use crate::common;
use crate::mfa_support;

use base64::Engine;
use chrono::Duration;
use common::{query_param, set_cookie, Backend, TestApp, REDIRECT};
use monban::clock::Clock;
use serde_json::{json, Value};

const PW: &str = "blue-Kettle-42-orbit";

fn pkce() -> (String, String) {
    let v = monban::util::random_token(32);
    let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        v.as_bytes(),
    ));
    (v, c)
}

fn authz(app: &TestApp, client_id: &str, scope: &str, challenge: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256",
        app.url("/authorize"),
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    )
}

/// Signs `email` in on a fresh browser and gets tokens for the client.
async fn tokens(
    app: &TestApp,
    id: &str,
    secret: Option<&str>,
    email: &str,
    scope: &str,
) -> (reqwest::Client, Value) {
    let browser = app.client();
    let (v, ch) = pkce();
    let r = app
        .browse(
            &browser,
            &authz(app, id, scope, &ch),
            Some((email, PW)),
            true,
        )
        .await
        .unwrap();
    let code = query_param(&r, "code").expect("code");
    let mut req = reqwest::Client::new().post(app.url("/token"));
    let mut form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", v),
    ];
    match secret {
        Some(s) => req = req.basic_auth(id, Some(s)),
        None => form.push(("client_id", id.into())),
    }
    let t: Value = req.form(&form).send().await.unwrap().json().await.unwrap();
    assert!(t["access_token"].is_string(), "{t}");
    (browser, t)
}

async fn introspect(app: &TestApp, id: &str, secret: &str, token: &str) -> bool {
    let v: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"].as_bool().unwrap()
}

async fn refresh(app: &TestApp, id: &str, secret: Option<&str>, rt: &str) -> u16 {
    let mut req = reqwest::Client::new().post(app.url("/token"));
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    match secret {
        Some(s) => req = req.basic_auth(id, Some(s)),
        None => form.push(("client_id", id)),
    }
    req.form(&form).send().await.unwrap().status().as_u16()
}

async fn signed_in(app: &TestApp, c: &reqwest::Client) -> bool {
    c.get(app.url("/account")).send().await.unwrap().status() == 200
}

on_both_backends!(
    admin_authorization,
    users_create_list_get_patch,
    forced_logout_one_and_all,
    admin_sets_password,
    password_change_request_blocks_sso_until_changed,
    suspend_and_unsuspend,
    delete_restore_and_purge,
    lockout_policy_and_unlock,
    mfa_state_and_reset,
    app_block_for_native_apps_and_export,
    login_id_changes_once,
    security_view_history_and_devices,
    clients_crud,
    audit_log_filters_and_openapi,
    invitation_and_notices,
    every_documented_endpoint_refuses_missing_and_wrong_credentials,
    responses_with_secrets_are_not_cached,
    invitation_link_is_single_use_under_a_race,
    a_failed_creation_leaves_nothing_and_can_be_retried,
);

/// A response that shows a client secret must not be kept by any cache (RFC 9111
/// `no-store`, and `Pragma: no-cache` for HTTP/1.0 caches); nor, by default, any other
/// admin API response (they all carry account data).
async fn responses_with_secrets_are_not_cached(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let http = reqwest::Client::new();
    let no_store = |r: &reqwest::Response, what: &str| {
        assert_eq!(
            r.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what}"
        );
        assert_eq!(
            r.headers().get("pragma").map(|v| v.to_str().unwrap()),
            Some("no-cache"),
            "{what}"
        );
    };
    let r = http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "Billing", "kind": "service", "scope": "api"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    no_store(&r, "client creation");
    let c: Value = r.json().await.unwrap();
    assert!(c["client_secret"].is_string());
    let id = c["client_id"].as_str().unwrap();
    let r = http
        .post(app.url(&format!("/admin/v1/clients/{id}/secret")))
        .bearer_auth(&admin.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    no_store(&r, "secret rotation");
    assert!(r.json::<Value>().await.unwrap()["client_secret"].is_string());
    for path in ["/admin/v1/clients", "/admin/v1/users", "/admin/v1/policy"] {
        let r = http
            .get(app.url(path))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        no_store(&r, path);
    }
    let r = http.get(app.url("/admin/v1/users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    no_store(&r, "401");
}

/// Walks the OpenAPI document: every operation answers 401 without a credential and
/// 403 with a credential lacking its scope (and says so as a problem document).
async fn every_documented_endpoint_refuses_missing_and_wrong_credentials(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let support_only = app.admin_token("admin:support").await;
    let audit_only = app.admin_token("admin:audit:read").await;
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(app.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bodies: std::collections::HashMap<&str, Value> = [
        ("/admin/v1/users", json!({"email": "z@example.com"})),
        ("/admin/v1/users/{id}", json!({"display_name": "Z"})),
        ("/admin/v1/users/{id}/password", json!({"password": PW})),
        ("/admin/v1/users/{id}/login-id", json!({"login_id": "zed"})),
        ("/admin/v1/password-change-requests", json!({"user_ids": [uuid::Uuid::new_v4()]})),
        ("/admin/v1/clients", json!({"name": "Z", "kind": "service"})),
        ("/admin/v1/saml/service-providers", json!({"metadata": "<x/>"})),
        ("/admin/v1/identity-providers", json!({"slug": "z", "display_name": "Z", "issuer": "https://z.example",
            "client_id": "c", "client_secret": "s"})),
        ("/admin/v1/identity-providers/{slug}", json!({"display_name": "Z"})),
        ("/admin/v1/support-requests", json!({"support_user_id": uuid::Uuid::new_v4(), "user_id": uuid::Uuid::new_v4(), "reason": "r"})),
        ("/admin/v1/policy", json!({"lockout": {"max_failures": 5, "permanent": false, "lock_duration_secs": 300,
            "backoff_multiplier": 2, "max_lock_duration_secs": 3600}, "mfa_required": false, "mfa_grace_period_days": 0})),
    ]
    .into_iter()
    .collect();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let url = app.url(
                &path
                    .replace("{id}", &uuid::Uuid::new_v4().to_string())
                    .replace("{session_id}", &uuid::Uuid::new_v4().to_string())
                    .replace("{client_id}", "some-client"),
            ) + if path.ends_with("/service-providers") {
                "?entity_id=https%3A%2F%2Fsp.example"
            } else {
                ""
            };
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            let with_body = |r: reqwest::RequestBuilder| match (
                op.get("requestBody"),
                bodies.get(path.as_str()),
            ) {
                (Some(_), Some(b)) => r.json(b),
                (Some(_), None) => panic!("no sample body for {method} {path}"),
                _ => r,
            };
            let r = with_body(http.request(m.clone(), &url))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{method} {path} without a credential");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            // A credential with a scope this operation does not take.
            let needs_support = op["security"].to_string().contains("admin:support");
            let wrong = if needs_support {
                &audit_only
            } else {
                &support_only
            };
            let r = with_body(http.request(m, &url).bearer_auth(wrong))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                403,
                "{method} {path} with a credential lacking the scope"
            );
            checked += 1;
        }
    }
    assert!(checked >= 39, "{checked} operations checked");
}

async fn kinds(app: &TestApp, user: uuid::Uuid) -> Vec<String> {
    let mut k: Vec<String> = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(user), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    k.sort();
    k
}

/// Pending users get an invitation whose link sets the first password (once); the
/// user is told of locks, unlocks, suspensions, password and MFA changes.
async fn invitation_and_notices(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let (s, u) = admin
        .post(
            "/users",
            json!({"email": "new@example.com", "display_name": "新人"}),
        )
        .await;
    assert_eq!(s, 201);
    let id: uuid::Uuid = u["id"].as_str().unwrap().parse().unwrap();
    let msgs = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(id), 10)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].kind, "invitation");
    let link = msgs[0]
        .body_text
        .split_whitespace()
        .find(|w| w.contains("/account/invitation?token="))
        .expect("link in the invitation")
        .to_string();
    assert!(link.starts_with(&app.base));
    let c = app.client();
    let page = c.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let token = common::extract_csrf(&html).unwrap();
    let inv = common::extract_hidden(&html, "token").unwrap();
    let post = |pw: &'static str, confirm: &'static str| {
        let c = c.clone();
        let (token, inv) = (token.clone(), inv.clone());
        let url = app.url("/account/invitation");
        async move {
            c.post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("token", inv.as_str()),
                    ("new_password", pw),
                    ("confirm_password", confirm),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post(PW, "different-Value-99").await.status(), 422);
    assert_eq!(post("password1", "password1").await.status(), 422);
    assert_eq!(post(PW, PW).await.status(), 303);
    assert_eq!(
        app.login(&app.client(), "new@example.com", PW)
            .await
            .status(),
        303
    );
    // Used: the link no longer works.
    assert_eq!(c.get(&link).send().await.unwrap().status(), 400);
    assert_eq!(post(PW, PW).await.status(), 400);
    // Notices.
    admin.post(&format!("/users/{id}/suspend"), json!({})).await;
    admin
        .post(&format!("/users/{id}/unsuspend"), json!({}))
        .await;
    admin
        .put(
            &format!("/users/{id}/password"),
            json!({"password": "orange-Piano-77-river"}),
        )
        .await;
    admin
        .post(&format!("/users/{id}/password-change-request"), json!({}))
        .await;
    admin.delete(&format!("/users/{id}/mfa")).await;
    for _ in 0..5 {
        app.login(&app.client(), "new@example.com", "wrong-password-x")
            .await;
    }
    admin.post(&format!("/users/{id}/unlock"), json!({})).await;
    assert_eq!(
        kinds(&app, id).await,
        [
            "account_locked",
            "account_suspended",
            "account_unlocked",
            "account_unsuspended",
            "invitation",
            "mfa_reset",
            "password_change_requested",
            "password_set_by_admin"
        ]
    );
}

async fn admin_authorization(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let http = reqwest::Client::new();
    let users = app.url("/admin/v1/users");
    let r = http.get(&users).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(
        http.get(&users)
            .bearer_auth("mbat_nonsense")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A token without the scope: 403.
    let ro = app.admin_token("admin:audit:read").await;
    let r = http.get(&users).bearer_auth(&ro).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "insufficient_scope"
    );
    // Read scope can read, not write.
    let read = app.admin_token("admin:users:read").await;
    assert_eq!(
        http.get(&users)
            .bearer_auth(&read)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = http
        .post(&users)
        .bearer_auth(&read)
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Revoked and expired tokens.
    let (row, t) = monban::admin::auth::create_token(
        &app.state,
        "short",
        "admin:*",
        Some(app.clock.now() + Duration::minutes(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        http.get(&users)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.clock.advance(Duration::minutes(6));
    assert_eq!(
        http.get(&users)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(app
        .state
        .store
        .revoke_admin_token(app.state.org.id, &row.id.to_string(), app.clock.now())
        .await
        .unwrap());
    assert!(app
        .state
        .store
        .revoke_admin_token(app.state.org.id, "test", app.clock.now())
        .await
        .unwrap());
    assert_eq!(
        http.get(&users)
            .bearer_auth(&read)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A service client with admin scopes, through client_credentials.
    let svc = app
        .register_client(monban::clients::NewClient {
            name: "ops".into(),
            kind: "service".into(),
            scopes: Some("admin:users:read api".into()),
            ..Default::default()
        })
        .await;
    let t: Value = http
        .post(app.url("/token"))
        .basic_auth(&svc.client_id, svc.client_secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "admin:users:read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        http.get(&users)
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.post(&users)
            .bearer_auth(at)
            .json(&json!({"email": "y@example.com"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // A user's access token is never an admin credential.
    app.create_user("u@example.com", PW).await;
    let (id, secret) = app.web_client().await;
    let (_, ut) = tokens(&app, &id, Some(&secret), "u@example.com", "openid").await;
    let r = http
        .get(&users)
        .bearer_auth(ut["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn users_create_list_get_patch(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let (s, u) = admin
        .post(
            "/users",
            json!({"email": "Aiko@Example.com", "display_name": "Aiko", "password": PW}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(
        (u["email"].as_str(), u["status"].as_str()),
        (Some("aiko@example.com"), Some("active"))
    );
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(
        admin
            .post("/users", json!({"email": "aiko@example.com"}))
            .await
            .0,
        409
    );
    let (s, e) = admin
        .post(
            "/users",
            json!({"email": "weak@example.com", "password": "password1"}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(e["errors"].as_array().is_some_and(|a| !a.is_empty()));
    let (s, e) = admin.post("/users", json!({"email": "not-an-email"})).await;
    assert_eq!((s, e["errors"][0]["field"].as_str()), (400, Some("email")));
    assert_eq!(
        admin
            .post("/users", json!({"email": "a@b.com", "bogus": 1}))
            .await
            .0,
        400
    );
    // Pending (no password).
    let (s, p) = admin
        .post("/users", json!({"email": "pending@example.com"}))
        .await;
    assert_eq!((s, p["status"].as_str()), (201, Some("pending")));
    for i in 0..3 {
        admin
            .post(
                "/users",
                json!({"email": format!("u{i}@example.com"), "password": PW}),
            )
            .await;
    }
    // Get, 404, 400.
    assert_eq!(
        admin.get(&format!("/users/{id}")).await.1["display_name"],
        "Aiko"
    );
    assert_eq!(
        admin
            .get(&format!("/users/{}", uuid::Uuid::new_v4()))
            .await
            .0,
        404
    );
    assert_eq!(admin.get("/users/not-a-uuid").await.0, 400);
    // Patch.
    let (s, u) = admin
        .patch(
            &format!("/users/{id}"),
            json!({"display_name": "Aiko T.", "roles": ["support"]}),
        )
        .await;
    assert_eq!((s, u["display_name"].as_str()), (200, Some("Aiko T.")));
    assert_eq!(u["roles"], json!(["support"]));
    assert_eq!(
        admin
            .patch(&format!("/users/{id}"), json!({"roles": ["root"]}))
            .await
            .0,
        400
    );
    // List: filters and cursor pagination.
    let (_, all) = admin.get("/users?limit=2").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/users?limit=2&cursor={c}"),
            None => "/users?limit=2".into(),
        };
        let (_, page) = admin.get(&path).await;
        for u in page["items"].as_array().unwrap() {
            seen.push(u["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let (_, p) = admin.get("/users?status=pending").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
    let (_, q) = admin.get("/users?q=AIKO").await;
    assert_eq!(q["items"][0]["id"], id.as_str());
    let (_, m) = admin.get("/users?mfa=true").await;
    assert!(m["items"].as_array().unwrap().is_empty());
    assert_eq!(admin.get("/users?status=weird").await.0, 400);
    assert_eq!(admin.get("/users?limit=0").await.0, 400);
    assert_eq!(admin.get("/users?cursor=%%%").await.0, 400);
}

async fn forced_logout_one_and_all(b: Backend) {
    let bc = Arc::new(std::sync::Mutex::new(0usize));
    let bc_url = spawn_bc(bc.clone()).await;
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("kenji@example.com", PW).await;
    let r = app
        .register_client(monban::clients::NewClient {
            backchannel_logout_uri: Some(bc_url),
            ..web_client()
        })
        .await;
    let secret = r.client_secret.clone().unwrap();
    let (b1, t1) = tokens(
        &app,
        &r.client_id,
        Some(&secret),
        "kenji@example.com",
        "openid",
    )
    .await;
    let (b2, t2) = tokens(
        &app,
        &r.client_id,
        Some(&secret),
        "kenji@example.com",
        "openid offline_access",
    )
    .await;
    let (_, sessions) = admin.get(&format!("/users/{}/sessions", user.id)).await;
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    let sid1 = claims(t1["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();
    // One session.
    let (s, v) = admin
        .delete(&format!("/users/{}/sessions/{sid1}", user.id))
        .await;
    assert_eq!((s, v["sessions_ended"].as_u64()), (200, Some(1)));
    assert!(!signed_in(&app, &b1).await);
    assert!(signed_in(&app, &b2).await);
    assert!(
        !introspect(
            &app,
            &r.client_id,
            &secret,
            t1["access_token"].as_str().unwrap()
        )
        .await
    );
    assert_eq!(
        refresh(
            &app,
            &r.client_id,
            Some(&secret),
            t1["refresh_token"].as_str().unwrap()
        )
        .await,
        400
    );
    // A session of someone else: 404.
    assert_eq!(
        admin
            .delete(&format!(
                "/users/{}/sessions/{}",
                user.id,
                uuid::Uuid::new_v4()
            ))
            .await
            .0,
        404
    );
    // All sessions.
    let (s, v) = admin.delete(&format!("/users/{}/sessions", user.id)).await;
    assert_eq!((s, v["sessions_ended"].as_u64()), (200, Some(1)));
    assert!(!signed_in(&app, &b2).await);
    assert!(
        !introspect(
            &app,
            &r.client_id,
            &secret,
            t2["access_token"].as_str().unwrap()
        )
        .await
    );
    wait_until(|| *bc.lock().unwrap() >= 2).await;
    assert_eq!(*bc.lock().unwrap(), 2, "back-channel logout per session");
    let (_, ev) = admin
        .get(&format!(
            "/audit-events?subject={}&action=session.forced_logout",
            user.id
        ))
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 2);
    assert_eq!(ev["items"][0]["actor_kind"], "admin");
}

use std::sync::Arc;

async fn spawn_bc(count: Arc<std::sync::Mutex<usize>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        let c = count.clone();
        actix_web::App::new().route(
            "/bc",
            actix_web::web::post().to(move || {
                let c = c.clone();
                async move {
                    *c.lock().unwrap() += 1;
                    actix_web::HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/bc")
}

async fn wait_until(f: impl Fn() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn web_client() -> monban::clients::NewClient {
    monban::clients::NewClient {
        name: "Web".into(),
        kind: "confidential".into(),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        ..Default::default()
    }
}

async fn admin_sets_password(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("mika@example.com", PW).await;
    let (id, secret) = app.web_client().await;
    let (browser, t) = tokens(
        &app,
        &id,
        Some(&secret),
        "mika@example.com",
        "openid offline_access",
    )
    .await;
    let new_pw = "orange-Piano-77-river";
    assert_eq!(
        admin
            .put(
                &format!("/users/{}/password", user.id),
                json!({"password": "password1"})
            )
            .await
            .0,
        422
    );
    let (s, _) = admin
        .put(
            &format!("/users/{}/password", user.id),
            json!({"password": new_pw}),
        )
        .await;
    assert_eq!(s, 200);
    assert!(!signed_in(&app, &browser).await, "browser session ended");
    assert!(!introspect(&app, &id, &secret, t["access_token"].as_str().unwrap()).await);
    assert_eq!(
        refresh(
            &app,
            &id,
            Some(&secret),
            t["refresh_token"].as_str().unwrap()
        )
        .await,
        400,
        "offline grant revoked too"
    );
    assert_eq!(
        app.login(&app.client(), "mika@example.com", PW)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login(&app.client(), "mika@example.com", new_pw)
            .await
            .status(),
        303
    );
}

async fn password_change_request_blocks_sso_until_changed(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("nao@example.com", PW).await;
    let other = app.create_user("other@example.com", PW).await;
    let (id, _) = app.web_client().await;
    let (s, v) = admin
        .post(
            "/password-change-requests",
            json!({"user_ids": [user.id, other.id, uuid::Uuid::new_v4()]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["requested"].as_array().unwrap().len(), 2);
    assert_eq!(v["not_found"].as_array().unwrap().len(), 1);
    let c = app.client();
    let (_, ch) = pkce();
    let r = app
        .browse(
            &c,
            &authz(&app, &id, "openid", &ch),
            Some(("nao@example.com", PW)),
            true,
        )
        .await;
    let Err((200, html)) = r else {
        panic!("password change page expected, got {r:?}")
    };
    assert!(html.contains("name=\"current_password\""));
    // Change it; then SSO goes on.
    let token = common::extract_csrf(&html).unwrap();
    let ret = common::extract_hidden(&html, "return_to").unwrap();
    let new_pw = "orange-Piano-77-river";
    let r = c
        .post(app.url("/account/password"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("current_password", PW),
            ("new_password", new_pw),
            ("confirm_password", new_pw),
            ("return_to", ret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let next = app.url(r.headers()["location"].to_str().unwrap());
    let back = app.browse(&c, &next, None, true).await.unwrap();
    assert!(query_param(&back, "code").is_some());
    let (_, sec) = admin.get(&format!("/users/{}/security", user.id)).await;
    assert_eq!(sec["password_change_required"], false);
}

async fn suspend_and_unsuspend(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("rin@example.com", PW).await;
    let (id, secret) = app.web_client().await;
    let (browser, t) = tokens(
        &app,
        &id,
        Some(&secret),
        "rin@example.com",
        "openid offline_access",
    )
    .await;
    let (s, u) = admin
        .post(&format!("/users/{}/suspend", user.id), json!({}))
        .await;
    assert_eq!((s, u["status"].as_str()), (200, Some("suspended")));
    assert!(!signed_in(&app, &browser).await);
    assert!(!introspect(&app, &id, &secret, t["access_token"].as_str().unwrap()).await);
    assert_eq!(
        refresh(
            &app,
            &id,
            Some(&secret),
            t["refresh_token"].as_str().unwrap()
        )
        .await,
        400
    );
    let r = app.login(&app.client(), "rin@example.com", PW).await;
    assert_eq!(r.status(), 401);
    // The same answer as a wrong password: no password oracle on a suspended account.
    assert!(r.text().await.unwrap().contains("incorrect"));
    assert_eq!(
        admin
            .post(&format!("/users/{}/suspend", user.id), json!({}))
            .await
            .0,
        409
    );
    let (s, u) = admin
        .post(&format!("/users/{}/unsuspend", user.id), json!({}))
        .await;
    assert_eq!((s, u["status"].as_str()), (200, Some("active")));
    assert_eq!(
        app.login(&app.client(), "rin@example.com", PW)
            .await
            .status(),
        303
    );
}

async fn delete_restore_and_purge(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("sora@example.com", PW).await;
    let c = app.client();
    assert_eq!(app.login(&c, "sora@example.com", PW).await.status(), 303);
    let (s, u) = admin.delete(&format!("/users/{}", user.id)).await;
    assert_eq!((s, u["status"].as_str()), (200, Some("deleted")));
    assert!(!signed_in(&app, &c).await);
    assert_eq!(
        app.login(&app.client(), "sora@example.com", PW)
            .await
            .status(),
        401
    );
    let (s, u) = admin
        .post(&format!("/users/{}/restore", user.id), json!({}))
        .await;
    assert_eq!((s, u["status"].as_str()), (200, Some("active")));
    assert_eq!(
        app.login(&app.client(), "sora@example.com", PW)
            .await
            .status(),
        303
    );
    // After the restore window: 409, then purged.
    admin.delete(&format!("/users/{}", user.id)).await;
    app.clock.advance(Duration::days(8));
    let (s, e) = admin
        .post(&format!("/users/{}/restore", user.id), json!({}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("restore_window_passed"))
    );
    monban::users::purge(&app.state).await.unwrap();
    assert_eq!(admin.get(&format!("/users/{}", user.id)).await.0, 404);
    let (_, ev) = admin
        .get(&format!("/audit-events?subject={}", user.id))
        .await;
    let actions: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.purged") && actions.contains(&"user.deleted"),
        "{actions:?}"
    );
    // The e-mail is free again.
    assert_eq!(
        admin
            .post(
                "/users",
                json!({"email": "sora@example.com", "password": PW})
            )
            .await
            .0,
        201
    );
}

async fn lockout_policy_and_unlock(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("taku@example.com", PW).await;
    let (_, mut p) = admin.get("/policy").await;
    assert_eq!(p["lockout"]["max_failures"], 5);
    p["lockout"]["max_failures"] = json!(2);
    p["lockout"]["permanent"] = json!(true);
    let (s, p2) = admin.put("/policy", p.clone()).await;
    assert_eq!((s, p2["lockout"]["max_failures"].as_u64()), (200, Some(2)));
    let mut bad = p.clone();
    bad["lockout"]["backoff_multiplier"] = json!(0);
    assert_eq!(admin.put("/policy", bad).await.0, 400);
    for _ in 0..2 {
        app.login(&app.client(), "taku@example.com", "wrong-password-x")
            .await;
    }
    let (_, u) = admin.get(&format!("/users/{}", user.id)).await;
    assert_eq!(u["status"], "locked");
    let (_, ev) = admin
        .get(&format!(
            "/audit-events?subject={}&action=account.locked",
            user.id
        ))
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.login(&app.client(), "taku@example.com", PW)
            .await
            .status(),
        401
    );
    let (s, u) = admin
        .post(&format!("/users/{}/unlock", user.id), json!({}))
        .await;
    assert_eq!((s, u["status"].as_str()), (200, Some("active")));
    assert_eq!(
        admin
            .post(&format!("/users/{}/unlock", user.id), json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.login(&app.client(), "taku@example.com", PW)
            .await
            .status(),
        303
    );
    // MFA requirement through the policy.
    let mut p3 = p2.clone();
    p3["mfa_required"] = json!(true);
    admin.put("/policy", p3).await;
    let e = monban::authn::mfa::enforcement(
        &app.state,
        &app.state.store.get_user(user.id).await.unwrap(),
    )
    .await
    .unwrap();
    assert!(matches!(e, monban::authn::mfa::Enforcement::Required));
}

async fn mfa_state_and_reset(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("yui@example.com", PW).await;
    let (_, m) = admin.get(&format!("/users/{}/mfa", user.id)).await;
    assert_eq!(m["enabled"], false);
    let c = app.client();
    assert_eq!(app.login(&c, "yui@example.com", PW).await.status(), 303);
    mfa_support::enrol_signed_in(&app, &c).await;
    let (_, m) = admin.get(&format!("/users/{}/mfa", user.id)).await;
    assert_eq!(
        (m["enabled"].as_bool(), m["backup_codes_remaining"].as_i64()),
        (Some(true), Some(10))
    );
    let (_, list) = admin.get("/users?mfa=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, m) = admin.delete(&format!("/users/{}/mfa", user.id)).await;
    assert_eq!((s, m["enabled"].as_bool()), (200, Some(false)));
    let (_, ev) = admin
        .get(&format!(
            "/audit-events?subject={}&action=mfa.reset",
            user.id
        ))
        .await;
    assert_eq!(ev["items"][0]["actor_kind"], "admin");
}

async fn app_block_for_native_apps_and_export(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("hiro@example.com", PW).await;
    let native = app
        .register_client(monban::clients::NewClient {
            name: "Desktop".into(),
            kind: "public".into(),
            redirect_uris: vec![REDIRECT.into()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let (web_id, web_secret) = app.web_client().await;
    let (_, t) = tokens(&app, &native.client_id, None, "hiro@example.com", "openid").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let (s, u) = admin
        .put(&format!("/users/{}/app-block", user.id), json!({}))
        .await;
    assert_eq!((s, u["app_blocked"].as_bool()), (200, Some(true)));
    // The native app: refresh refused with the clear message; a new sign-in refused.
    let r: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", native.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"], "invalid_grant");
    let browser = app.client();
    let (_, ch) = pkce();
    let back = app
        .browse(
            &browser,
            &authz(&app, &native.client_id, "openid", &ch),
            Some(("hiro@example.com", PW)),
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&back, "error_description").as_deref(),
        Some("you are not permitted to use this service")
    );
    // The browser sign-in to a web client keeps working.
    let (_, wt) = tokens(
        &app,
        &web_id,
        Some(&web_secret),
        "hiro@example.com",
        "openid",
    )
    .await;
    assert!(
        introspect(
            &app,
            &web_id,
            &web_secret,
            wt["access_token"].as_str().unwrap()
        )
        .await
    );
    // Export.
    let http = reqwest::Client::new();
    let csv = http
        .get(app.url("/admin/v1/app-blocks?format=csv"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("name,email,login_id,blocked_since,blocked_by"));
    assert!(text.contains("hiro@example.com") && text.contains("token:test"));
    let xlsx = http
        .get(app.url("/admin/v1/app-blocks?format=xlsx"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");
    assert_eq!(admin.get("/app-blocks?format=pdf").await.0, 400);
    let (_, list) = admin.get("/users?app_blocked=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, u) = admin.delete(&format!("/users/{}/app-block", user.id)).await;
    assert_eq!((s, u["app_blocked"].as_bool()), (200, Some(false)));
    tokens(&app, &native.client_id, None, "hiro@example.com", "openid").await;
}

async fn login_id_changes_once(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("emi@example.com", PW).await;
    let c = app.client();
    assert_eq!(app.login(&c, "emi@example.com", PW).await.status(), 303);
    let (s, u) = admin
        .put(
            &format!("/users/{}/login-id", user.id),
            json!({"login_id": "emi.sato"}),
        )
        .await;
    assert_eq!((s, u["login_id"].as_str()), (200, Some("emi.sato")));
    assert!(!signed_in(&app, &c).await, "sessions end");
    let (s, e) = admin
        .put(
            &format!("/users/{}/login-id", user.id),
            json!({"login_id": "emi.s"}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("login_id_already_changed"))
    );
    assert_eq!(
        admin
            .put(
                &format!("/users/{}/login-id", user.id),
                json!({"login_id": "x"})
            )
            .await
            .0,
        400
    );
    assert_eq!(app.login(&app.client(), "emi.sato", PW).await.status(), 303);
}

async fn security_view_history_and_devices(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let user = app.create_user("jun@example.com", PW).await;
    let chrome = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
        .build()
        .unwrap();
    assert_eq!(
        app.login(&chrome, "jun@example.com", PW).await.status(),
        303
    );
    app.login(&app.client(), "jun@example.com", "wrong-password-x")
        .await;
    let (s, sec) = admin.get(&format!("/users/{}/security", user.id)).await;
    assert_eq!(s, 200);
    assert_eq!(sec["last_access"]["environment"]["browser"], "Chrome");
    assert_eq!(sec["last_access"]["environment"]["os"], "Windows 10");
    assert_eq!(sec["last_access"]["ip"], "127.0.0.1");
    assert_eq!(sec["mfa"]["enabled"], false);
    assert_eq!(sec["lock"]["failed_logins"], 1);
    assert_eq!(sec["app_block"]["blocked"], false);
    assert!(sec["last_password_change"].is_string());
    assert_eq!(sec["linked_logins"], json!([]));
    let (_, h) = admin
        .get(&format!("/users/{}/access-history", user.id))
        .await;
    assert_eq!(h["sessions"].as_array().unwrap().len(), 1);
    let results: Vec<&str> = h["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert!(results.contains(&"success") && results.contains(&"bad_password"));
    let (_, d) = admin.get(&format!("/users/{}/devices", user.id)).await;
    assert_eq!(d[0]["environment"]["browser"], "Chrome");
    assert_eq!(d[0]["sessions"], 1);
    // History older than the retention is purged.
    app.clock.advance(Duration::days(91));
    monban::users::purge(&app.state).await.unwrap();
    let (_, h) = admin
        .get(&format!("/users/{}/access-history", user.id))
        .await;
    assert!(h["sign_ins"].as_array().unwrap().is_empty());
    let _ = set_cookie;
}

async fn clients_crud(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let (s, c) = admin
        .post(
            "/clients",
            json!({"name": "Billing", "kind": "service", "scope": "api"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["client_id"].as_str().unwrap().to_string();
    let secret = c["client_secret"].as_str().unwrap().to_string();
    assert_eq!(
        admin.get(&format!("/clients/{id}")).await.1["client_secret"],
        Value::Null,
        "secret shown once"
    );
    assert_eq!(admin.get("/clients").await.1.as_array().unwrap().len(), 1);
    let cc = |secret: String| {
        let id = id.clone();
        let url = app.url("/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(&id, Some(&secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(cc(secret.clone()).await, 200);
    let (_, r) = admin
        .post(&format!("/clients/{id}/secret"), json!({}))
        .await;
    let new_secret = r["client_secret"].as_str().unwrap().to_string();
    assert_eq!(cc(secret).await, 401);
    assert_eq!(cc(new_secret.clone()).await, 200);
    assert_eq!(admin.post("/clients", json!({"name": "Bad", "kind": "confidential", "redirect_uris": ["http://evil.example/cb"]})).await.0, 400);
    assert_eq!(admin.delete(&format!("/clients/{id}")).await.0, 204);
    assert_eq!(cc(new_secret).await, 401);
    assert_eq!(admin.get(&format!("/clients/{id}")).await.0, 404);
}

async fn audit_log_filters_and_openapi(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    for i in 0..3 {
        admin
            .post(
                "/users",
                json!({"email": format!("a{i}@example.com"), "password": PW}),
            )
            .await;
    }
    let (_, ev) = admin.get("/audit-events?action=user.created&limit=2").await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 2);
    let cursor = ev["next_cursor"].as_str().unwrap();
    let (_, ev2) = admin
        .get(&format!(
            "/audit-events?action=user.created&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(ev2["items"].as_array().unwrap().len(), 1);
    assert!(ev2["next_cursor"].is_null());
    let e = &ev["items"][0];
    assert_eq!(e["actor_kind"], "admin");
    assert_eq!(e["details"]["by"], "token:test");
    assert_eq!(e["ip"], "127.0.0.1");
    let (_, none) = admin
        .get(&format!(
            "/audit-events?from={}",
            (app.clock.now() + Duration::hours(1))
                .to_rfc3339()
                .replace('+', "%2B")
        ))
        .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    // The OpenAPI document and the docs page.
    let doc: Value = reqwest::get(app.url("/admin/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/admin/v1/users",
        "/admin/v1/users/{id}/sessions/{session_id}",
        "/admin/v1/app-blocks",
        "/admin/v1/policy",
        "/admin/v1/audit-events",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let docs = reqwest::get(app.url("/admin/v1/docs/")).await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// An invitation link sets the first password once, even when several submissions
/// race: exactly one is accepted, and its password is the account's.
async fn invitation_link_is_single_use_under_a_race(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let (s, u) = admin
        .post(
            "/users",
            json!({"email": "racer@example.com", "display_name": "Racer"}),
        )
        .await;
    assert_eq!(s, 201);
    let id: uuid::Uuid = u["id"].as_str().unwrap().parse().unwrap();
    let msgs = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(id), 10)
        .await
        .unwrap();
    let link = msgs[0]
        .body_text
        .split_whitespace()
        .find(|w| w.contains("/account/invitation?token="))
        .expect("link in the invitation")
        .to_string();
    let c = app.client();
    let html = c.get(&link).send().await.unwrap().text().await.unwrap();
    let token = common::extract_csrf(&html).unwrap();
    let inv = common::extract_hidden(&html, "token").unwrap();
    let passwords: Vec<String> = (0..6).map(|i| format!("racing-Horse-{i}-meadow")).collect();
    let tries = passwords.iter().map(|pw| {
        let c = c.clone();
        let (token, inv, pw) = (token.clone(), inv.clone(), pw.clone());
        let url = app.url("/account/invitation");
        async move {
            c.post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("token", inv.as_str()),
                    ("new_password", pw.as_str()),
                    ("confirm_password", pw.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let won: Vec<&String> = passwords
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| **s == 303)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(won.len(), 1, "accepted: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 400),
        "{statuses:?}"
    );
    // The winner first (the losers' wrong passwords count towards the lockout).
    let order = std::iter::once(won[0]).chain(passwords.iter().filter(|p| *p != won[0]));
    for pw in order {
        let ok = app
            .login(&app.client(), "racer@example.com", pw)
            .await
            .status()
            == 303;
        assert_eq!(ok, pw == won[0], "{pw}");
    }
}

/// Creating a user writes the user, its audit event and its invitation together: when
/// the invitation cannot be stored, neither is the user nor the event (a retry then
/// succeeds rather than meeting a 409 and a pending user nobody invited).
async fn a_failed_creation_leaves_nothing_and_can_be_retried(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let admin = app.admin().await;
    let body = json!({"email": "kaito@example.com", "roles": ["support"]});
    app.db.fail_inserts_into("outbox").await;
    let (s, e) = admin.post("/users", body.clone()).await;
    assert_eq!(s, 500, "{e}");
    assert!(app
        .state
        .store
        .find_user_by_login(app.state.org.id, "kaito@example.com")
        .await
        .unwrap()
        .is_none());
    let events = app
        .state
        .store
        .list_audit_events(
            app.state.org.id,
            app.clock.now() - chrono::Duration::days(1),
            100,
        )
        .await
        .unwrap();
    assert!(
        events.iter().all(|e| e.action != "user.created"),
        "{events:?}"
    );

    app.db.heal("outbox").await;
    let (s, u) = admin.post("/users", body).await;
    assert_eq!((s, u["status"].as_str()), (201, Some("pending")), "{u}");
    assert_eq!(u["roles"], json!(["support"]));
    let id: uuid::Uuid = u["id"].as_str().unwrap().parse().unwrap();
    let events = app
        .state
        .store
        .list_audit_events_for_user(id, app.clock.now() - chrono::Duration::days(1), 100)
        .await
        .unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.action == "user.created")
        .collect();
    assert_eq!(created.len(), 1, "{events:?}");
    let d: Value = serde_json::from_str(&created[0].details).unwrap();
    assert_eq!(
        (d["status"].as_str(), d["roles"].as_str()),
        (Some("pending"), Some("support"))
    );
    let sent = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(id), 10)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "invitation");
}
