//! Health, headers, request ids, body limits, malformed input, languages, JWKS.

use crate::common;

use common::{Backend, TestApp};
use monban::clock::Clock;
use reqwest::StatusCode;

on_both_backends!(
    health_and_readiness,
    security_headers_and_request_ids,
    oversized_and_malformed_bodies_get_clear_errors,
    unknown_paths_are_404_in_the_right_format,
    pages_follow_the_users_language,
    jwks_is_served_with_etag_and_verifies_signatures,
    forms_allow_exactly_the_destination_of_their_flow,
);

async fn health_and_readiness(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let expected = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(v["database"], expected);
    // Database gone: not ready, said as a problem document.
    app.state.store.close().await;
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

async fn security_headers_and_request_ids(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let r = c.get(app.url("/login")).send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    // Same-origin referrers only: nothing leaks to other sites, and our own form
    // POSTs carry a real Origin (under `no-referrer` browsers send `Origin: null`).
    assert_eq!(h["referrer-policy"], "same-origin");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let id = h["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    // A sane incoming id is kept; a hostile one is replaced.
    let r = c
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = c
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
    // Error responses carry the headers too.
    let r = c.get(app.url("/nope")).send().await.unwrap();
    assert!(r.headers().contains_key("content-security-policy"));
}

async fn oversized_and_malformed_bodies_get_clear_errors(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.server.body_limit_bytes = 4096)
        .await
        .unwrap();
    app.create_user("lee@example.com", "blue-Kettle-42-orbit")
        .await;
    let c = app.client();
    let token = app.csrf(&c, "/login").await;
    let big = "x".repeat(10_000);
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("username", big.as_str()),
            ("password", "p"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "payload_too_large");

    // Duplicate fields and wrong content types.
    let r = c
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username=a&username=b&password=x&csrf_token={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // Nothing was half-done: the user can still sign in normally.
    assert_eq!(
        app.login(&c, "lee@example.com", "blue-Kettle-42-orbit")
            .await
            .status(),
        303
    );
}

async fn unknown_paths_are_404_in_the_right_format(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let r = c.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = c
        .get(app.url("/no/such/page"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("The page was not found."));
}

async fn pages_follow_the_users_language(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let get = |al: &'static str, q: &'static str| {
        let c = c.clone();
        let url = app.url(&format!("/login{q}"));
        async move {
            c.get(url)
                .header("accept-language", al)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let ja = get("ja,en;q=0.5", "").await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains("ログイン"));
    let en = get("en-US,en;q=0.9", "").await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Sign in"));
    // ui_locales overrides Accept-Language, and is remembered in a cookie.
    let forced = get("ja", "?ui_locales=en").await;
    assert!(forced.contains("<html lang=\"en\">"));
    let after = get("ja", "").await;
    assert!(
        after.contains("<html lang=\"en\">"),
        "cookie keeps the choice"
    );
}

async fn jwks_is_served_with_etag_and_verifies_signatures(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let r = c
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/jwk-set+json");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let jwks: jsonwebtoken::jwk::JwkSet = r.json().await.unwrap();
    assert_eq!(jwks.keys.len(), 3);

    let r = c
        .get(app.url("/.well-known/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // Tokens signed by our own signer verify with jsonwebtoken against the JWKS.
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Claims {
        sub: String,
        exp: i64,
        aud: String,
    }
    for (alg, jalg) in [
        (monban::keys::Alg::RS256, jsonwebtoken::Algorithm::RS256),
        (monban::keys::Alg::ES256, jsonwebtoken::Algorithm::ES256),
        (monban::keys::Alg::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let claims = Claims {
            sub: "u1".into(),
            exp: app.clock.now().timestamp() + 60,
            aud: "x".into(),
        };
        let jwt = app.state.keys.sign_jwt(alg, "JWT", &claims).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, jalg);
        let kid = header.kid.unwrap();
        let jwk = jwks.find(&kid).expect("kid published");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(jalg);
        v.set_audience(&["x"]);
        let data = jsonwebtoken::decode::<Claims>(&jwt, &key, &v).unwrap();
        assert_eq!(data.claims.sub, "u1");
        // A flipped bit in the payload fails.
        let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
        parts[1] = parts[1].replacen('e', "f", 1);
        let tampered = parts.join(".");
        assert!(jsonwebtoken::decode::<Claims>(&tampered, &key, &v).is_err());
    }
}

fn form_action(r: &reqwest::Response) -> String {
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action"))
        .unwrap_or_else(|| panic!("no form-action in {csp}"))
        .to_string()
}

/// CSP `form-action` also governs the redirects after a form POST (CSP Level 3): a
/// page whose form ends at a client must allow that client's registered redirect
/// URI's origin — and nothing a request merely names.
async fn forms_allow_exactly_the_destination_of_their_flow(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    app.create_user("csp@example.com", "correct horse battery staple")
        .await;
    let client = app
        .register_client(monban::clients::NewClient {
            name: "Third-party RP".into(),
            kind: "confidential".into(),
            redirect_uris: vec!["https://rp.example.com:8443/cb".into()],
            post_logout_redirect_uris: vec!["https://rp.example.com:8443/bye".into()],
            first_party: false,
            ..Default::default()
        })
        .await;
    let c = app.client();
    let authorize = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email&state=s\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM&code_challenge_method=S256",
        client.client_id, "https%3A%2F%2Frp.example.com%3A8443%2Fcb"
    );
    // Plain sign-in: only Monban itself.
    let r = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(form_action(&r), "form-action 'self'");
    // Sign-in that resumes the authorization: exactly the client's origin.
    let r = c.get(app.url(&authorize)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = r.headers()["location"].to_str().unwrap().to_string();
    let r = c.get(app.url(&login)).send().await.unwrap();
    assert_eq!(
        form_action(&r),
        "form-action 'self' https://rp.example.com:8443"
    );
    // Its language switch keeps the authorization to resume.
    let html = r.text().await.unwrap();
    let switch = html
        .split("class=\"lang\" href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("language switch link")
        .replace("&amp;", "&");
    assert!(
        switch.contains("return_to=%2Fauthorize") && switch.ends_with("ui_locales=ja"),
        "{switch}"
    );
    // A return_to naming an unregistered redirect URI or an unknown client adds nothing.
    for rt in [
        format!(
            "/authorize?client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            client.client_id
        ),
        "/authorize?client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2Fcb".to_string(),
        "https://evil.example/authorize".to_string(),
    ] {
        let enc: String = url::form_urlencoded::byte_serialize(rt.as_bytes()).collect();
        let r = c
            .get(app.url(&format!("/login?return_to={enc}")))
            .send()
            .await
            .unwrap();
        assert_eq!(form_action(&r), "form-action 'self'", "{rt}");
    }
    // The consent page: the client's origin.
    let html = c
        .get(app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::extract_csrf(&html).unwrap();
    let return_to = common::extract_hidden(&html, "return_to").unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("username", "csp@example.com"),
            ("password", "correct horse battery staple"),
            ("csrf_token", token.as_str()),
            ("return_to", return_to.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let mut next = r.headers()["location"].to_str().unwrap().to_string();
    for _ in 0..5 {
        if next.starts_with("/consent") {
            break;
        }
        let r = c.get(app.url(&next)).send().await.unwrap();
        next = r.headers()["location"].to_str().unwrap().to_string();
    }
    assert!(next.starts_with("/consent"), "{next}");
    let r = c.get(app.url(&next)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        form_action(&r),
        "form-action 'self' https://rp.example.com:8443"
    );
    // RP-initiated logout asks (no id_token_hint): the answer leads to the
    // registered post-logout URI.
    let r = c
        .get(app.url(&format!(
            "/end_session?client_id={}&post_logout_redirect_uri={}",
            client.client_id, "https%3A%2F%2Frp.example.com%3A8443%2Fbye"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        form_action(&r),
        "form-action 'self' https://rp.example.com:8443"
    );
}
