//! OIDC provider behaviour beyond the conformance modules: refresh rotation and
//! reuse, introspection, revocation, client_credentials, private_key_jwt, client
//! authentication failures, PKCE rules, consent, form_post, logout (RP-initiated and
//! back-channel), forced logout, and hostile input.

use crate::common;
use crate::mfa_support;

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Duration;
use common::{query_param, Backend, TestApp, REDIRECT};
use monban::clients::NewClient;
use monban::clock::Clock;
use serde_json::{json, Value};

const PW: &str = "blue-Kettle-42-orbit";
const EMAIL: &str = "rp-user@example.com";

fn pkce() -> (String, String) {
    let verifier = monban::util::random_token(32);
    let challenge = B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

fn authz_url(app: &TestApp, client_id: &str, scope: &str, challenge: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=st&nonce=nn&code_challenge={challenge}&code_challenge_method=S256{extra}",
        app.url("/authorize"),
        enc(REDIRECT),
        enc(scope)
    )
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn claims_of(jwt: &str) -> Value {
    serde_json::from_slice(&B64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

struct Rp {
    app: TestApp,
    browser: reqwest::Client,
    http: reqwest::Client,
    id: String,
    secret: String,
    user: monban::store::User,
}

async fn rp(b: Backend) -> Rp {
    rp_with(b, NewClient { ..base_client() }).await
}

fn base_client() -> NewClient {
    NewClient {
        name: "RP".into(),
        kind: "confidential".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["https://rp.example.com/bye".into()],
        first_party: true,
        ..Default::default()
    }
}

async fn rp_with(b: Backend, n: NewClient) -> Rp {
    rp_configured(b, n, |_| {}).await
}

async fn rp_configured(b: Backend, n: NewClient, tweak: impl FnOnce(&mut monban::Config)) -> Rp {
    let app = TestApp::spawn_with(b, tweak).await.unwrap();
    let user = app.create_user(EMAIL, PW).await;
    let r = app.register_client(n).await;
    Rp {
        browser: app.client(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        id: r.client_id,
        secret: r.client_secret.unwrap_or_default(),
        app,
        user,
    }
}

impl Rp {
    /// Signs in (if needed) and returns a code and its PKCE verifier.
    async fn code(&self, scope: &str) -> (String, String) {
        let (v, ch) = pkce();
        let url = authz_url(&self.app, &self.id, scope, &ch, "");
        let r = self
            .app
            .browse(&self.browser, &url, Some((EMAIL, PW)), true)
            .await
            .unwrap();
        (query_param(&r, "code").expect("code"), v)
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(self.app.url("/token"))
            .basic_auth(&self.id, Some(&self.secret))
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn tokens(&self, scope: &str) -> Value {
        let (code, v) = self.code(scope).await;
        let (s, t) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &v),
            ])
            .await;
        assert_eq!(s, 200, "{t}");
        t
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(self.app.url("/introspect"))
            .basic_auth(&self.id, Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn refresh(&self, rt: &str) -> (u16, Value) {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await
    }

    /// The user signs out of Monban in the browser (`POST /logout`).
    async fn sign_out(&self) {
        let token = self.app.csrf(&self.browser, "/account").await;
        self.browser
            .post(self.app.url("/logout"))
            .form(&[("csrf_token", token)])
            .send()
            .await
            .unwrap();
    }
}

on_both_backends!(
    code_of_an_expired_session_is_refused,
    forged_fresh_login_marker_does_not_skip_prompt_login,
    refresh_rotation_and_reuse_revokes_the_family,
    introspection_reflects_revocation_and_needs_client_auth,
    revocation_endpoint,
    client_credentials_for_service_clients,
    private_key_jwt_client_authentication,
    client_authentication_failures,
    pkce_rules,
    code_expiry_and_redirect_uri_binding,
    consent_for_third_party_clients,
    form_post_response_mode,
    hostile_authorization_requests_get_an_error_page,
    forged_tokens_are_refused,
    rp_initiated_logout,
    backchannel_logout_with_retries,
    forced_logout_kills_every_token_at_once,
    offline_access_outlives_the_session,
    claims_parameter_releases_nothing_outside_granted_scopes,
    consent_in_a_support_session_is_not_remembered_and_readonly_survives_refresh,
    introspection_only_for_the_tokens_own_client,
    private_key_jwt_audience_is_the_issuer_or_the_endpoint_called,
    fresh_login_marker_is_bound_to_its_request_and_single_use,
    repeated_parameters_are_refused_in_each_protocols_format,
    code_of_another_client_is_refused_without_spending_it,
    admin_forced_logout_is_total_and_idempotent,
    a_failed_rotation_keeps_the_grant_and_a_lost_answer_can_be_retried,
);

async fn refresh_rotation_and_reuse_revokes_the_family(b: Backend) {
    let rp = rp(b).await;
    let t = rp.tokens("openid").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let (s, t2) = rp.refresh(&rt1).await;
    assert_eq!(s, 200);
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(
        rp.introspect(&rt1).await["active"],
        false,
        "rotated token is inactive"
    );
    assert_eq!(rp.introspect(&rt2).await["active"], true);
    // Narrowing scope is fine; widening is not.
    let (s, e) = rp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("scope", "openid email"),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_scope")));
    // Reuse of rt1 after the retry window (tokens.refresh_retry_grace_secs): refused,
    // and the whole family dies (rt2 and access tokens).
    rp.app.clock.advance(Duration::seconds(11));
    let (s, e) = rp.refresh(&rt1).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = rp.refresh(&rt2).await;
    assert_eq!(s, 400);
    assert_eq!(
        rp.introspect(t2["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        rp.introspect(t["access_token"].as_str().unwrap()).await["active"],
        false
    );

    // Two concurrent refreshes with the same token, within the retry window: the
    // second is taken for a retry, so both may answer, but only one refresh token
    // handed out stays usable (the other was retired).
    let t = rp.tokens("openid").await;
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let (a, b2) = tokio::join!(rp.refresh(&rt), rp.refresh(&rt));
    let given: Vec<String> = [&a, &b2]
        .iter()
        .filter(|r| r.0 == 200)
        .map(|r| r.1["refresh_token"].as_str().unwrap().to_string())
        .collect();
    assert!(!given.is_empty(), "{a:?} {b2:?}");
    let mut live = 0;
    for rt in &given {
        if rp.introspect(rt).await["active"] == true {
            live += 1;
        }
    }
    assert_eq!(live, 1, "one live refresh token: {a:?} {b2:?}");
}

async fn introspection_reflects_revocation_and_needs_client_auth(b: Backend) {
    let rp = rp(b).await;
    let t = rp.tokens("openid email").await;
    let at = t["access_token"].as_str().unwrap();
    let i = rp.introspect(at).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], rp.id);
    assert_eq!(i["sub"], rp.user.id.to_string());
    assert_eq!(i["username"], EMAIL);
    assert_eq!(i["scope"], "openid email");
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(rp.introspect("garbage").await["active"], false);
    // Expired access token.
    rp.app.clock.advance(Duration::seconds(301));
    assert_eq!(rp.introspect(at).await["active"], false);
    // No client authentication.
    let r = rp
        .http
        .post(rp.app.url("/introspect"))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Public clients may not introspect.
    let public = rp
        .app
        .register_client(NewClient {
            name: "Public".into(),
            kind: "public".into(),
            redirect_uris: vec![REDIRECT.into()],
            ..Default::default()
        })
        .await;
    let r = rp
        .http
        .post(rp.app.url("/introspect"))
        .form(&[("token", at), ("client_id", public.client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn revocation_endpoint(b: Backend) {
    let rp = rp(b).await;
    let t = rp.tokens("openid").await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let revoke = |token: String| {
        let rp = &rp;
        async move {
            rp.http
                .post(rp.app.url("/revoke"))
                .basic_auth(&rp.id, Some(&rp.secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(revoke(at.to_string()).await, 200);
    assert_eq!(rp.introspect(at).await["active"], false);
    let r = rp
        .http
        .get(rp.app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        rp.introspect(rt).await["active"],
        true,
        "revoking an access token leaves the grant"
    );
    assert_eq!(revoke(rt.to_string()).await, 200);
    assert_eq!(rp.introspect(rt).await["active"], false);
    assert_eq!(rp.refresh(rt).await.0, 400);
    // Unknown tokens: still 200 (RFC 7009).
    assert_eq!(revoke("nonsense".into()).await, 200);
    // Another client cannot revoke this client's tokens.
    let t = rp.tokens("openid").await;
    let other = rp
        .app
        .register_client(NewClient {
            name: "O".into(),
            ..base_client()
        })
        .await;
    let r = rp
        .http
        .post(rp.app.url("/revoke"))
        .basic_auth(&other.client_id, other.client_secret.as_deref())
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        rp.introspect(t["refresh_token"].as_str().unwrap()).await["active"],
        true
    );
}

async fn client_credentials_for_service_clients(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let http = reqwest::Client::new();
    for alg in ["RS256", "ES256", "EdDSA"] {
        let svc = app
            .register_client(NewClient {
                name: format!("svc-{alg}"),
                kind: "service".into(),
                scopes: Some("api:read api:write".into()),
                signing_alg: Some(alg.into()),
                ..Default::default()
            })
            .await;
        let post = |form: Vec<(&'static str, &'static str)>| {
            http.post(app.url("/token"))
                .basic_auth(&svc.client_id, svc.client_secret.as_deref())
                .form(&form)
                .send()
        };
        let r = post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "api:read"),
        ])
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["scope"], "api:read");
        assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
        let at = t["access_token"].as_str().unwrap();
        let header: Value =
            serde_json::from_slice(&B64.decode(at.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(
            (header["typ"].as_str(), header["alg"].as_str()),
            (Some("at+jwt"), Some(alg))
        );
        let c = claims_of(at);
        assert_eq!(c["sub"], svc.client_id);
        assert_eq!(c["client_id"], svc.client_id);
        for k in ["iss", "exp", "aud", "iat", "jti"] {
            assert!(c.get(k).is_some(), "RFC 9068 claim {k}");
        }
        // Verifies against the JWKS with jsonwebtoken.
        let jwks: jsonwebtoken::jwk::JwkSet = http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::from_str_lossy(alg));
        v.set_audience(&[&svc.client_id]);
        jsonwebtoken::decode::<Value>(at, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v)
            .unwrap();
        let r = post(vec![
            ("grant_type", "client_credentials"),
            ("scope", "admin"),
        ])
        .await
        .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
        let r = post(vec![("grant_type", "authorization_code"), ("code", "x")])
            .await
            .unwrap();
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "unauthorized_client"
        );
        // Userinfo needs a user token with openid.
        let r = http
            .get(app.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    // A web client may not use client_credentials.
    let (id, secret) = app.web_client().await;
    let r = http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

trait LossyAlg {
    fn from_str_lossy(s: &str) -> jsonwebtoken::Algorithm;
}
impl LossyAlg for jsonwebtoken::Algorithm {
    fn from_str_lossy(s: &str) -> jsonwebtoken::Algorithm {
        s.parse().unwrap()
    }
}

async fn private_key_jwt_client_authentication(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let (key, _) = monban::keys::SigningKey::generate(monban::keys::Alg::ES256).unwrap();
    let jwks = json!({ "keys": [key.public_jwk("client-key-1")] }).to_string();
    let svc = app
        .register_client(NewClient {
            name: "pkjwt".into(),
            kind: "service".into(),
            auth_method: Some("private_key_jwt".into()),
            jwks: Some(jwks),
            scopes: Some("api".into()),
            ..Default::default()
        })
        .await;
    assert!(svc.client_secret.is_none());
    let now = app.clock.now().timestamp();
    let assertion = |jti: &str, aud: &str, exp: i64| {
        monban::keys::jws::sign_compact(
            &key,
            "client-key-1",
            "JWT",
            &json!({"iss": svc.client_id, "sub": svc.client_id, "aud": aud, "exp": exp, "iat": now, "jti": jti}),
        )
        .unwrap()
    };
    let http = reqwest::Client::new();
    let send = |a: String| {
        http.post(app.url("/token"))
            .form(&[
                ("grant_type", "client_credentials".to_string()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ),
                ("client_assertion", a),
            ])
            .send()
    };
    let token_ep = app.url("/token");
    let r = send(assertion("j1", &token_ep, now + 60)).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Replay of the same jti.
    let r = send(assertion("j1", &token_ep, now + 60)).await.unwrap();
    assert_eq!(r.status(), 401);
    // Wrong audience, expired, signed by another key.
    assert_eq!(
        send(assertion("j2", "https://elsewhere.example", now + 60))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        send(assertion("j3", &token_ep, now - 1))
            .await
            .unwrap()
            .status(),
        401
    );
    let (other, _) = monban::keys::SigningKey::generate(monban::keys::Alg::ES256).unwrap();
    let forged = monban::keys::jws::sign_compact(
        &other,
        "client-key-1",
        "JWT",
        &json!({"iss": svc.client_id, "sub": svc.client_id, "aud": token_ep, "exp": now + 60, "jti": "j4"}),
    )
    .unwrap();
    assert_eq!(send(forged).await.unwrap().status(), 401);
    // The issuer as audience is accepted too.
    assert_eq!(
        send(assertion("j5", &app.base, now + 60))
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn client_authentication_failures(b: Backend) {
    let rp = rp(b).await;
    let (code, v) = rp.code("openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", v.as_str()),
    ];
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&rp.id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth("nobody", Some("x"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Two methods at once.
    let mut both = form.to_vec();
    both.push(("client_secret", rp.secret.as_str()));
    both.push(("client_id", rp.id.as_str()));
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // Failed authentication did not burn the code.
    let (s, t) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .await;
    assert_eq!(s, 200, "{t}");
    // Other malformed requests.
    let (s, e) = rp
        .token(&[("grant_type", "password"), ("username", "x")])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, e) = rp.token(&[("code", "x")]).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .body("grant_type=authorization_code&grant_type=refresh_token")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&rp.id, Some(&rp.secret))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

async fn pkce_rules(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    app.create_user(EMAIL, PW).await;
    let public = app
        .register_client(NewClient {
            name: "Native".into(),
            kind: "public".into(),
            redirect_uris: vec![REDIRECT.into()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let browser = app.client();
    let base = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        app.url("/authorize"),
        public.client_id,
        enc(REDIRECT)
    );
    // Public client without PKCE; with plain; with a malformed challenge.
    for extra in [
        "",
        "&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghij1234&code_challenge_method=plain",
        "&code_challenge=short&code_challenge_method=S256",
    ] {
        let r = app
            .browse(&browser, &format!("{base}{extra}"), Some((EMAIL, PW)), true)
            .await
            .unwrap();
        assert_eq!(
            query_param(&r, "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
    }
    let (v, ch) = pkce();
    let r = app
        .browse(
            &browser,
            &format!("{base}&code_challenge={ch}&code_challenge_method=S256"),
            Some((EMAIL, PW)),
            true,
        )
        .await
        .unwrap();
    let code = query_param(&r, "code").unwrap();
    let http = reqwest::Client::new();
    let tok = |form: Vec<(&'static str, String)>| http.post(app.url("/token")).form(&form).send();
    // Without the verifier: refused.
    let r = tok(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("client_id", public.client_id.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // That attempt consumed the code; a fresh one with the verifier works.
    let (v2, ch2) = pkce();
    let r = app
        .browse(
            &browser,
            &format!("{base}&code_challenge={ch2}&code_challenge_method=S256"),
            None,
            true,
        )
        .await
        .unwrap();
    let code2 = query_param(&r, "code").unwrap();
    let r = tok(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code2),
        ("client_id", public.client_id.clone()),
        ("code_verifier", v2),
        ("redirect_uri", REDIRECT.into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let _ = v;
}

async fn code_expiry_and_redirect_uri_binding(b: Backend) {
    let rp = rp(b).await;
    let (code, v) = rp.code("openid").await;
    let (s, e) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rp.example.com/other"),
            ("code_verifier", &v),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (code, v) = rp.code("openid").await;
    rp.app.clock.advance(Duration::seconds(61));
    let (s, e) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    assert!(e["error_description"].as_str().unwrap().contains("expired"));
}

async fn consent_for_third_party_clients(b: Backend) {
    let rp = rp_with(
        b,
        NewClient {
            first_party: false,
            ..base_client()
        },
    )
    .await;
    let (_, ch) = pkce();
    let url = authz_url(&rp.app, &rp.id, "openid email", &ch, "");
    // prompt=none without consent → consent_required (after signing in).
    let none = authz_url(&rp.app, &rp.id, "openid email", &ch, "&prompt=none");
    rp.app
        .browse(
            &rp.browser,
            &authz_url(&rp.app, &rp.id, "openid", &ch, "&prompt=login"),
            Some((EMAIL, PW)),
            false,
        )
        .await
        .unwrap_err();
    let r = rp
        .app
        .browse(&rp.browser, &none, None, false)
        .await
        .unwrap();
    assert_eq!(
        query_param(&r, "error").as_deref(),
        Some("consent_required")
    );
    // The consent page names the client and the scopes.
    let page = rp
        .app
        .browse(&rp.browser, &url, None, false)
        .await
        .unwrap_err();
    assert!(
        page.1.contains("RP") && page.1.contains("email"),
        "{}",
        page.1
    );
    // Deny.
    let token = common::extract_csrf(&page.1).unwrap();
    let request = common::extract_hidden(&page.1, "request").unwrap();
    let r = rp
        .browser
        .post(rp.app.url("/consent"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("request", request.as_str()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap();
    assert_eq!(query_param(loc, "error").as_deref(), Some("access_denied"));
    // Consent without a CSRF token does nothing.
    let r = rp
        .browser
        .post(rp.app.url("/consent"))
        .form(&[("request", request.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Approve: a code, and next time no question.
    let r = rp.app.browse(&rp.browser, &url, None, true).await.unwrap();
    assert!(query_param(&r, "code").is_some());
    let r = rp
        .app
        .browse(&rp.browser, &none, None, false)
        .await
        .unwrap();
    assert!(query_param(&r, "code").is_some(), "remembered consent");
    // prompt=consent asks again.
    let again = authz_url(&rp.app, &rp.id, "openid email", &ch, "&prompt=consent");
    assert!(rp
        .app
        .browse(&rp.browser, &again, None, false)
        .await
        .is_err());
    // A wider scope asks again.
    let wider = authz_url(&rp.app, &rp.id, "openid email phone", &ch, "");
    assert!(rp
        .app
        .browse(&rp.browser, &wider, None, false)
        .await
        .is_err());
}

async fn form_post_response_mode(b: Backend) {
    let rp = rp(b).await;
    let (_, ch) = pkce();
    rp.code("openid").await;
    let url = authz_url(&rp.app, &rp.id, "openid", &ch, "&response_mode=form_post");
    let r = rp.browser.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action https://rp.example.com"), "{csp}");
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(
        html.contains("name=\"code\"")
            && html.contains("name=\"state\" value=\"st\"")
            && html.contains("name=\"iss\"")
    );
}

async fn hostile_authorization_requests_get_an_error_page(b: Backend) {
    let rp = rp(b).await;
    let (_, ch) = pkce();
    let good = authz_url(&rp.app, &rp.id, "openid", &ch, "");
    for bad in [
        format!("{good}&redirect_uri={}", enc(REDIRECT)),
        format!("{good}&state={}", "x".repeat(5000)),
        format!(
            "{}?response_type=code&redirect_uri={}&scope=openid",
            rp.app.url("/authorize"),
            enc(REDIRECT)
        ),
    ] {
        let r = rp.browser.get(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{}", &bad[..bad.len().min(200)]);
        assert!(r.headers().get("location").is_none());
    }
    // After the redirect URI is trusted: errors go back to it.
    for (extra, err) in [
        ("&response_type=token", None),
        ("&prompt=none+login", Some("invalid_request")),
        ("&max_age=-5", Some("invalid_request")),
        ("&response_mode=fragment", Some("invalid_request")),
    ] {
        let url = format!(
            "{}{}",
            good.replace(
                "response_type=code&",
                if extra.contains("response_type") {
                    ""
                } else {
                    "response_type=code&"
                }
            ),
            extra
        );
        let r = rp
            .app
            .browse(&rp.browser, &url, Some((EMAIL, PW)), true)
            .await
            .unwrap();
        let got = query_param(&r, "error");
        match err {
            Some(e) => assert_eq!(got.as_deref(), Some(e), "{extra}"),
            None => assert_eq!(got.as_deref(), Some("unsupported_response_type")),
        }
    }
    let r = rp
        .app
        .browse(
            &rp.browser,
            &authz_url(&rp.app, &rp.id, "nonsense", &ch, ""),
            None,
            true,
        )
        .await
        .unwrap();
    assert_eq!(query_param(&r, "error").as_deref(), Some("invalid_scope"));
}

async fn forged_tokens_are_refused(b: Backend) {
    let rp = rp(b).await;
    let t = rp.tokens("openid").await;
    let at = t["access_token"].as_str().unwrap();
    let parts: Vec<&str> = at.split('.').collect();
    let mut claims = claims_of(at);
    claims["sub"] = json!("someone-else");
    let forged_payload = B64.encode(serde_json::to_vec(&claims).unwrap());
    // alg none.
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"at+jwt"}"#),
        forged_payload
    );
    // HS256 keyed with the public RSA modulus from the JWKS.
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let hs_header = B64.encode(
        serde_json::to_vec(&json!({"alg":"HS256","typ":"at+jwt","kid": header["kid"]})).unwrap(),
    );
    let jwks: Value = rp
        .http
        .get(rp.app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap_or("x").to_string();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, n.as_bytes());
    let input = format!("{hs_header}.{forged_payload}");
    let hs = format!(
        "{input}.{}",
        B64.encode(aws_lc_rs::hmac::sign(&key, input.as_bytes()))
    );
    // Swapped payload, original signature.
    let swapped = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    for bad in [none, hs, swapped] {
        let r = rp
            .http
            .get(rp.app.url("/userinfo"))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        assert_eq!(rp.introspect(&bad).await["active"], false);
    }
    // An ID token is not an access token.
    let r = rp
        .http
        .get(rp.app.url("/userinfo"))
        .bearer_auth(t["id_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// A little relying party back-end: records back-channel logout posts and fails the
/// first `fail` of them with 500.
struct BcServer {
    url: String,
    got: Arc<Mutex<Vec<String>>>,
}

async fn bc_server(fail: usize) -> BcServer {
    let got = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(fail));
    let g = got.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        let g = g.clone();
        let f = failures.clone();
        actix_web::App::new().route(
            "/bc",
            actix_web::web::post().to(move |body: String| {
                let g = g.clone();
                let f = f.clone();
                async move {
                    let mut left = f.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        return actix_web::HttpResponse::InternalServerError().finish();
                    }
                    g.lock().unwrap().push(body);
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
    BcServer {
        url: format!("http://127.0.0.1:{port}/bc"),
        got,
    }
}

async fn wait_for(got: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    for _ in 0..100 {
        if got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    got.lock().unwrap().clone()
}

async fn check_logout_token(rp: &Rp, body: &str, session_sid: &str) {
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .unwrap()
        .1
        .into_owned();
    let header: Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    let jwks: jsonwebtoken::jwk::JwkSet = rp
        .http
        .get(rp.app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[&rp.id]);
    v.set_issuer(&[&rp.app.base]);
    let c = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(c["sub"], rp.user.id.to_string());
    assert_eq!(c["sid"], session_sid);
    assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(c.get("nonce").is_none());
    assert!(c["jti"].is_string());
}

async fn rp_initiated_logout(b: Backend) {
    let bc = bc_server(0).await;
    let rp = rp_with(
        b,
        NewClient {
            backchannel_logout_uri: Some(bc.url.clone()),
            ..base_client()
        },
    )
    .await;
    let t = rp.tokens("openid").await;
    let id_token = t["id_token"].as_str().unwrap();
    let sid = claims_of(id_token)["sid"].as_str().unwrap().to_string();
    // Unregistered post-logout URI: error page, still signed in.
    let r = rp
        .browser
        .get(format!(
            "{}?id_token_hint={id_token}&post_logout_redirect_uri={}",
            rp.app.url("/end_session"),
            enc("https://evil.example/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert_eq!(
        rp.browser
            .get(rp.app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Without a hint: Monban asks first.
    let r = rp
        .browser
        .get(rp.app.url("/end_session"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("/end_session/confirm"));
    assert_eq!(
        rp.browser
            .get(rp.app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // With the hint: signed out at once, back to the RP with state.
    let r = rp
        .browser
        .get(format!(
            "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-state",
            rp.app.url("/end_session"),
            enc("https://rp.example.com/bye")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://rp.example.com/bye?state=bye-state"
    );
    assert_eq!(
        rp.browser
            .get(rp.app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // Everything from that session is dead, and the RP was told.
    assert_eq!(
        rp.introspect(t["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        rp.introspect(t["refresh_token"].as_str().unwrap()).await["active"],
        false
    );
    let got = wait_for(&bc.got, 1).await;
    assert_eq!(got.len(), 1);
    check_logout_token(&rp, &got[0], &sid).await;
}

async fn backchannel_logout_with_retries(b: Backend) {
    let bc = bc_server(2).await;
    let rp = rp_with(
        b,
        NewClient {
            backchannel_logout_uri: Some(bc.url.clone()),
            ..base_client()
        },
    )
    .await;
    rp.tokens("openid").await;
    let token = rp.app.csrf(&rp.browser, "/account").await;
    let r = rp
        .browser
        .post(rp.app.url("/logout"))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "logout does not wait for the RP");
    // First attempt fails; the retry waits for its backoff (fake clock).
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        rp.app.clock.advance(Duration::seconds(10));
    }
    let got = wait_for(&bc.got, 1).await;
    assert_eq!(got.len(), 1, "delivered after retries");
    let jobs = rp.app.state.store.list_backchannel().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].delivered_at.is_some());
    assert_eq!(jobs[0].attempts, 3);
}

async fn forced_logout_kills_every_token_at_once(b: Backend) {
    let bc = bc_server(0).await;
    let rp = rp_with(
        b,
        NewClient {
            backchannel_logout_uri: Some(bc.url.clone()),
            ..base_client()
        },
    )
    .await;
    let t = rp.tokens("openid").await;
    let other_browser = rp.app.client();
    let (v, ch) = pkce();
    let r = rp
        .app
        .browse(
            &other_browser,
            &authz_url(&rp.app, &rp.id, "openid", &ch, ""),
            Some((EMAIL, PW)),
            true,
        )
        .await
        .unwrap();
    let (_, t2) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &query_param(&r, "code").unwrap()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .await;
    let ended =
        monban::sessions::end_all_for_user_but(&rp.app.state, rp.user.id, None, "admin_forced")
            .await
            .unwrap();
    assert_eq!(ended.len(), 2);
    for tok in [&t, &t2] {
        assert_eq!(
            rp.introspect(tok["access_token"].as_str().unwrap()).await["active"],
            false
        );
        assert_eq!(
            rp.introspect(tok["refresh_token"].as_str().unwrap()).await["active"],
            false
        );
        assert_eq!(
            rp.refresh(tok["refresh_token"].as_str().unwrap()).await.0,
            400
        );
    }
    assert_eq!(
        rp.browser
            .get(rp.app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        wait_for(&bc.got, 2).await.len(),
        2,
        "one logout token per session"
    );
}

async fn offline_access_outlives_the_session(b: Backend) {
    let rp = rp(b).await;
    let online = rp.tokens("openid").await;
    let offline = rp.tokens("openid offline_access").await;
    rp.sign_out().await;
    assert_eq!(
        rp.refresh(online["refresh_token"].as_str().unwrap())
            .await
            .0,
        400
    );
    let (s, t) = rp.refresh(offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{t}");
    // Its new access token is active although the session it came from has ended.
    assert_eq!(
        rp.introspect(t["access_token"].as_str().unwrap()).await["active"],
        true
    );
    let r = rp
        .http
        .get(rp.app.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// `prompt=login` / `max_age` are satisfied only by a sign-in after a marker the server
/// itself MAC'd: a forged or altered `mb_fresh` still shows the login form.
async fn forged_fresh_login_marker_does_not_skip_prompt_login(b: Backend) {
    let rp = rp(b).await;
    rp.code("openid").await; // signed in
    rp.app.clock.advance(Duration::seconds(5));
    let (_, ch) = pkce();
    let now = rp.app.clock.now().timestamp() - 60;
    for forged in [
        format!("{now}.AAAA"),
        format!("{now}"),
        "garbage".to_string(),
    ] {
        let url = authz_url(
            &rp.app,
            &rp.id,
            "openid",
            &ch,
            &format!("&prompt=login&mb_fresh={}", enc(&forged)),
        );
        let shown = rp.app.browse(&rp.browser, &url, None, false).await;
        assert!(
            matches!(shown, Err((200, ref html)) if html.contains("name=\"password\"")),
            "{forged}: {shown:?}"
        );
    }
    // A genuine marker from an earlier forced sign-in is bound to its time: the session's
    // sign-in predates nothing new, so max_age=0 still asks again after the clock moved.
    let url = authz_url(&rp.app, &rp.id, "openid", &ch, "&max_age=0");
    assert!(rp.app.browse(&rp.browser, &url, None, false).await.is_err());
}

impl Rp {
    /// Tokens for an authorization request with `extra` parameters.
    async fn tokens_with(&self, scope: &str, extra: &str) -> Value {
        let (v, ch) = pkce();
        let url = authz_url(&self.app, &self.id, scope, &ch, extra);
        let r = self
            .app
            .browse(&self.browser, &url, Some((EMAIL, PW)), true)
            .await
            .unwrap();
        let code = query_param(&r, "code").expect("code");
        let (s, t) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &v),
            ])
            .await;
        assert_eq!(s, 200, "{t}");
        t
    }

    async fn userinfo(&self, at: &str) -> Value {
        self.http
            .get(self.app.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

const PERSONAL: [&str; 5] = [
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "phone_number",
];

/// The `claims` request parameter (OIDC Core §5.5) chooses among the claims of the
/// granted scopes; it never releases a claim of a scope the client is not registered
/// for, or that the user did not consent to, in the ID token or at userinfo.
async fn claims_parameter_releases_nothing_outside_granted_scopes(b: Backend) {
    let ask_all = format!(
        "&claims={}",
        enc(&json!({
            "id_token": {"email": {"essential": true}, "email_verified": null, "name": null, "preferred_username": null, "phone_number": null},
            "userinfo": {"email": {"essential": true}, "email_verified": null, "name": null, "preferred_username": null, "phone_number": null},
        })
        .to_string())
    );
    // Registered for `openid` only.
    let rp = rp_with(
        b,
        NewClient {
            scopes: Some("openid".into()),
            ..base_client()
        },
    )
    .await;
    let t = rp.tokens_with("openid email profile", &ask_all).await;
    assert_eq!(t["scope"], "openid");
    let id = claims_of(t["id_token"].as_str().unwrap());
    let ui = rp.userinfo(t["access_token"].as_str().unwrap()).await;
    for c in PERSONAL {
        assert!(id.get(c).is_none(), "{c} in the ID token: {id}");
        assert!(ui.get(c).is_none(), "{c} at userinfo: {ui}");
    }
    assert_eq!(ui["sub"], rp.user.id.to_string());

    // Third party, registered for everything, the user consents to `openid` only.
    let rp = rp_with(
        b,
        NewClient {
            first_party: false,
            ..base_client()
        },
    )
    .await;
    let t = rp.tokens_with("openid", &ask_all).await;
    assert_eq!(t["scope"], "openid");
    let id = claims_of(t["id_token"].as_str().unwrap());
    let ui = rp.userinfo(t["access_token"].as_str().unwrap()).await;
    for c in PERSONAL {
        assert!(id.get(c).is_none(), "{c} in the ID token: {id}");
        assert!(ui.get(c).is_none(), "{c} at userinfo: {ui}");
    }
    // With `email` consented, `claims` can put the e-mail claims in the ID token —
    // and only those: `profile` and `phone` were not granted.
    let t = rp.tokens_with("openid email", &ask_all).await;
    let id = claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(id["email"], EMAIL, "{id}");
    assert!(id.get("email_verified").is_some(), "{id}");
    for c in ["name", "preferred_username", "phone_number"] {
        assert!(id.get(c).is_none(), "{c} in the ID token: {id}");
    }
    let ui = rp.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(ui["email"], EMAIL);
    assert!(ui.get("name").is_none(), "{ui}");
    // Not asked for in the ID token: not there (userinfo has it).
    let t = rp.tokens_with("openid email", "").await;
    assert!(claims_of(t["id_token"].as_str().unwrap())
        .get("email")
        .is_none());
}

/// A support engineer acting as the user may approve a third-party client's request,
/// but that consent is not remembered for the user. And a read-only grant's
/// `support:readonly` survives a refresh that narrows the scope.
async fn consent_in_a_support_session_is_not_remembered_and_readonly_survives_refresh(b: Backend) {
    let rp = rp_with(
        b,
        NewClient {
            first_party: false,
            ..base_client()
        },
    )
    .await;
    let app = &rp.app;
    assert_eq!(app.login(&rp.browser, EMAIL, PW).await.status(), 303);
    // The user issues a read-only support grant; the engineer redeems it.
    let token = app.csrf(&rp.browser, "/account/support-grants").await;
    let r = rp
        .browser
        .post(app.url("/account/support-grants"))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str()), ("readonly", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let g: Value = r.json().await.unwrap();
    let link = g["link"].as_str().unwrap().to_string();
    let engineer = app.client();
    let (e, _, _) = mfa_support::enrolled_user(app, &engineer, "engineer@example.com").await;
    app.state
        .store
        .update_user_profile(e.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    let html = engineer
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::extract_csrf(&html).unwrap();
    let r = engineer
        .post(&link)
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "redeemed");

    // Acting as the user, the engineer approves the consent page.
    let (v, ch) = pkce();
    let url = authz_url(app, &rp.id, "openid email", &ch, "");
    let back = app.browse(&engineer, &url, None, true).await.unwrap();
    let code = query_param(&back, "code").expect("code");
    assert_eq!(
        app.state
            .store
            .get_consent(rp.user.id, &rp.id)
            .await
            .unwrap(),
        None,
        "consent from a support session is not stored"
    );
    // The user is still asked, and prompt=none says consent_required.
    let (_, ch2) = pkce();
    let none = authz_url(app, &rp.id, "openid email", &ch2, "&prompt=none");
    let r = app.browse(&rp.browser, &none, None, false).await.unwrap();
    assert_eq!(
        query_param(&r, "error").as_deref(),
        Some("consent_required")
    );
    let shown = app
        .browse(
            &rp.browser,
            &authz_url(app, &rp.id, "openid email", &ch2, ""),
            None,
            false,
        )
        .await;
    assert!(
        matches!(shown, Err((200, ref html)) if html.contains("name=\"decision\"")),
        "{shown:?}"
    );

    // The read-only marker cannot be dropped by narrowing the scope on refresh.
    let (s, t) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .await;
    assert_eq!(s, 200, "{t}");
    assert!(
        t["scope"].as_str().unwrap().contains("support:readonly"),
        "{t}"
    );
    let mut rt = t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    for narrower in ["openid", "email", "openid email"] {
        let (s, t2) = rp
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("scope", narrower),
            ])
            .await;
        assert_eq!(s, 200, "{t2}");
        let scope = t2["scope"].as_str().unwrap();
        assert!(
            scope.split(' ').any(|x| x == "support:readonly"),
            "{narrower}: {scope}"
        );
        let at = claims_of(t2["access_token"].as_str().unwrap());
        assert!(
            at["scope"]
                .as_str()
                .unwrap()
                .split(' ')
                .any(|x| x == "support:readonly"),
            "{narrower}: {at}"
        );
        assert_eq!(at["act"]["sub"], e.id.to_string());
        rt = t2["refresh_token"].as_str().unwrap().to_string();
    }
}

/// RFC 7662 §4: a client learns nothing about another client's tokens — not even
/// that they are active, let alone whose they are.
async fn introspection_only_for_the_tokens_own_client(b: Backend) {
    let rp = rp(b).await;
    let other = rp
        .app
        .register_client(NewClient {
            name: "Other".into(),
            ..base_client()
        })
        .await;
    let t = rp.tokens("openid email").await;
    let as_other = |token: String| {
        let (id, secret) = (
            other.client_id.clone(),
            other.client_secret.clone().unwrap(),
        );
        let http = rp.http.clone();
        let url = rp.app.url("/introspect");
        async move {
            let r = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    for k in ["access_token", "refresh_token"] {
        let token = t[k].as_str().unwrap().to_string();
        assert_eq!(
            as_other(token.clone()).await,
            json!({"active": false}),
            "{k}"
        );
        let mine = rp.introspect(&token).await;
        assert_eq!(mine["active"], true, "{k}");
        assert_eq!(mine["username"], EMAIL, "{k}");
    }
    // A service client's own token: introspectable by itself only.
    let svc = rp
        .app
        .register_client(NewClient {
            name: "svc".into(),
            kind: "service".into(),
            scopes: Some("api".into()),
            ..Default::default()
        })
        .await;
    let (sid, ssecret) = (svc.client_id.clone(), svc.client_secret.unwrap());
    let cc: Value = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&sid, Some(&ssecret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = cc["access_token"].as_str().unwrap().to_string();
    assert_eq!(as_other(at.clone()).await, json!({"active": false}));
    let own: Value = rp
        .http
        .post(rp.app.url("/introspect"))
        .basic_auth(&sid, Some(&ssecret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own["active"], true);
}

/// A `private_key_jwt` assertion is good for the issuer identifier and for the URL of
/// the endpoint it is sent to, and for nothing else under the issuer.
async fn private_key_jwt_audience_is_the_issuer_or_the_endpoint_called(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let (key, _) = monban::keys::SigningKey::generate(monban::keys::Alg::ES256).unwrap();
    let jwks = json!({ "keys": [key.public_jwk("k1")] }).to_string();
    let svc = app
        .register_client(NewClient {
            name: "pkjwt".into(),
            kind: "service".into(),
            auth_method: Some("private_key_jwt".into()),
            jwks: Some(jwks),
            scopes: Some("api".into()),
            ..Default::default()
        })
        .await;
    let http = reqwest::Client::new();
    let n = std::sync::atomic::AtomicUsize::new(0);
    // Status of a call to `path` authenticated by an assertion with audience `aud`.
    let call = |path: &'static str, aud: Value| {
        let now = app.clock.now().timestamp();
        let jti = format!("j{}", n.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let a = monban::keys::jws::sign_compact(
            &key,
            "k1",
            "JWT",
            &json!({"iss": svc.client_id, "sub": svc.client_id, "aud": aud, "exp": now + 60, "iat": now, "jti": jti}),
        )
        .unwrap();
        let mut form = vec![
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", a),
        ];
        match path {
            "/token" => form.push(("grant_type", "client_credentials".into())),
            "/device_authorization" => {}
            _ => form.push(("token", "not-a-token".into())),
        }
        let req = http.post(app.url(path)).form(&form);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let iss = app.base.clone();
    let ep = |p: &str| format!("{iss}{p}");
    // Accepted: the issuer, or the endpoint called (alone or among others).
    for path in ["/token", "/introspect", "/revoke"] {
        assert_eq!(call(path, json!(iss)).await, 200, "{path} aud=issuer");
        assert_eq!(call(path, json!(ep(path))).await, 200, "{path} aud=itself");
        assert_eq!(
            call(path, json!(["https://other.example", ep(path)])).await,
            200,
            "{path} aud=[other, itself]"
        );
    }
    // The device authorization endpoint authenticates the client, then says this
    // service client may not use the device grant (400, not 401).
    assert_eq!(
        call("/device_authorization", json!(ep("/device_authorization"))).await,
        400
    );
    assert_eq!(
        call("/device_authorization", json!(ep("/token"))).await,
        401
    );
    // Refused: another endpoint, another URL under the issuer, near misses, arrays
    // with no right value.
    for (path, other) in [
        ("/token", "/introspect"),
        ("/token", "/revoke"),
        ("/token", "/device_authorization"),
        ("/introspect", "/token"),
        ("/revoke", "/token"),
        ("/revoke", "/introspect"),
    ] {
        assert_eq!(
            call(path, json!(ep(other))).await,
            401,
            "{path} aud={other}"
        );
    }
    for aud in [
        json!(ep("/foo")),
        json!(ep("/")),
        json!(ep("/token/")),
        json!(format!("{iss}/token?x=1")),
        json!(ep("/authorize")),
        json!(ep("/userinfo")),
        json!(format!("{iss}.evil.example")),
        json!([ep("/introspect")]),
        json!([ep("/foo"), "https://other.example"]),
        json!([]),
        json!(null),
        json!(42),
    ] {
        assert_eq!(call("/token", aud.clone()).await, 401, "aud={aud}");
    }
}

/// The marker that lets a `prompt=login` request through after the sign-in it asked
/// for belongs to that request and is spent by it: it does not let another request
/// skip the sign-in, nor the same request twice.
async fn fresh_login_marker_is_bound_to_its_request_and_single_use(b: Backend) {
    let rp = rp(b).await;
    let app = &rp.app;
    rp.code("openid").await; // signed in
                             // Request A asks for a fresh sign-in: the server sends the browser to /login with
                             // a marker in the way back.
    let (_, ch_a) = pkce();
    let a = authz_url(app, &rp.id, "openid", &ch_a, "&prompt=login");
    let r = rp.browser.get(&a).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = app.url(r.headers()["location"].to_str().unwrap());
    let back_a = query_param(&login, "return_to").unwrap();
    let marker = query_param(&app.url(&back_a), "mb_fresh").expect("marker");
    // The user signs in (any sign-in after the marker's time), a little while ago.
    assert_eq!(app.login(&rp.browser, EMAIL, PW).await.status(), 303);
    app.clock.advance(Duration::seconds(5));
    // Request B (another PKCE challenge) with A's marker: still asked to sign in.
    let (_, ch_b) = pkce();
    for b_url in [
        authz_url(
            app,
            &rp.id,
            "openid",
            &ch_b,
            &format!("&prompt=login&mb_fresh={}", enc(&marker)),
        ),
        authz_url(
            app,
            &rp.id,
            "openid",
            &ch_b,
            &format!("&max_age=0&mb_fresh={}", enc(&marker)),
        ),
        authz_url(
            app,
            &rp.id,
            "openid email",
            &ch_a,
            &format!("&prompt=login&mb_fresh={}", enc(&marker)),
        ),
    ] {
        let shown = app.browse(&rp.browser, &b_url, None, false).await;
        assert!(
            matches!(shown, Err((200, ref html)) if html.contains("name=\"password\"")),
            "{b_url}: {shown:?}"
        );
    }
    // A itself, with its marker, goes through — once.
    let r = app
        .browse(&rp.browser, &app.url(&back_a), None, false)
        .await
        .unwrap();
    assert!(query_param(&r, "code").is_some(), "{r}");
    let again = app
        .browse(&rp.browser, &app.url(&back_a), None, false)
        .await;
    assert!(
        matches!(again, Err((200, ref html)) if html.contains("name=\"password\"")),
        "{again:?}"
    );
    // The normal flow still works end to end.
    let (_, ch_c) = pkce();
    let c = authz_url(app, &rp.id, "openid", &ch_c, "&prompt=login");
    let r = app
        .browse(&rp.browser, &c, Some((EMAIL, PW)), false)
        .await
        .unwrap();
    assert!(query_param(&r, "code").is_some(), "{r}");
}

/// RFC 6749 §3.1: no protocol parameter twice — whatever its spelling (`%5F` for `_`)
/// and even if one copy is empty. The authorization endpoint redirects the error once
/// the client and redirect URI are beyond doubt (and shows a page otherwise); the
/// other endpoints answer in JSON.
async fn repeated_parameters_are_refused_in_each_protocols_format(b: Backend) {
    let rp = rp(b).await;
    let app = &rp.app;
    rp.code("openid").await; // signed in
    let (_, ch) = pkce();
    let base = authz_url(app, &rp.id, "openid", &ch, "");
    for extra in [
        "&scope=openid",
        "&sc%6Fpe=openid",
        "&scope=",
        "&code%5Fchallenge=x",
        "&nonce=other",
        "&prompt=login&prompt=none",
    ] {
        let r = rp
            .browser
            .get(format!("{base}{extra}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{extra}");
        let loc = r.headers()["location"].to_str().unwrap();
        assert!(loc.starts_with(REDIRECT), "{extra}: {loc}");
        assert_eq!(
            query_param(loc, "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
        assert_eq!(query_param(loc, "state").as_deref(), Some("st"), "{extra}");
        assert!(query_param(loc, "code").is_none());
    }
    // `state` itself repeated: the error goes back without a state.
    let r = rp
        .browser
        .get(format!("{base}&st%61te=x"))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_param(loc, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(loc, "state"), None);
    // Where the answer would go is in doubt: a page, no redirect.
    for extra in [
        format!("&client%5Fid={}", rp.id),
        "&client_id=".to_string(),
        format!("&redirect_uri={}", enc("https://evil.example/cb")),
        format!("&redirect%5furi={}", enc(REDIRECT)),
        "&response_mode=query&response%5Fmode=form_post".to_string(),
    ] {
        let r = rp
            .browser
            .get(format!("{base}{extra}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{extra}");
        assert!(r.headers().get("location").is_none(), "{extra}");
    }
    // The same by POST.
    let body = format!("{}&scope=openid", base.split_once('?').unwrap().1);
    let r = rp
        .browser
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        query_param(r.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    // Token, introspection, revocation: 400 invalid_request, JSON.
    let t = rp.tokens("openid").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let post = |path: &'static str, body: String| {
        let req = rp
            .http
            .post(app.url(path))
            .basic_auth(&rp.id, Some(&rp.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let rt_enc = enc(rt);
    for (path, body) in [
        (
            "/token",
            format!("grant_type=refresh_token&refresh_token={rt_enc}&grant%5Ftype=refresh_token"),
        ),
        (
            "/token",
            format!("grant_type=&grant_type=refresh_token&refresh_token={rt_enc}"),
        ),
        (
            "/token",
            format!("grant_type=refresh_token&refresh_token={rt_enc}&refresh%5ftoken={rt_enc}"),
        ),
        (
            "/token",
            format!("grant_type=refresh_token&refresh_token={rt_enc}&scope=openid&scope="),
        ),
        ("/introspect", format!("token={rt_enc}&tok%65n=x")),
        ("/introspect", format!("token=&token={rt_enc}")),
        ("/revoke", format!("token={rt_enc}&token={rt_enc}")),
        (
            "/revoke",
            format!("token={rt_enc}&token%5Ftype%5Fhint=refresh_token&token_type_hint="),
        ),
    ] {
        let (s, v) = post(path, body.clone()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("invalid_request")),
            "{path} {body}: {v}"
        );
    }
    // None of them used the token: it is still good, once.
    assert_eq!(rp.introspect(rt).await["active"], true);
    let (s, _) = rp.refresh(rt).await;
    assert_eq!(s, 200);
}

/// An authorization code presented by another client is refused without being spent
/// (as a refresh token is): a client that learns someone else's code cannot burn it,
/// and the client it was issued to still exchanges it, once.
async fn code_of_another_client_is_refused_without_spending_it(b: Backend) {
    let rp = rp(b).await;
    let other = rp
        .app
        .register_client(NewClient {
            name: "Other".into(),
            ..base_client()
        })
        .await;
    let (code, v) = rp.code("openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", v.as_str()),
    ];
    let r = rp
        .http
        .post(rp.app.url("/token"))
        .basic_auth(&other.client_id, other.client_secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant", "{e}");
    // The code is intact for its own client…
    let (s, t) = rp.token(&form).await;
    assert_eq!(s, 200, "{t}");
    assert!(t["access_token"].is_string());
    // …and still single use.
    let (s, t) = rp.token(&form).await;
    assert_eq!((s, t["error"].as_str()), (400, Some("invalid_grant")));
}

/// A code does not outlive its sign-in session: once the session has expired
/// (absolute lifetime), the code is refused, as when the session was ended.
async fn code_of_an_expired_session_is_refused(b: Backend) {
    let rp = rp_configured(b, base_client(), |c| {
        c.tokens.code_ttl_secs = 4 * 3600;
        c.session.idle_timeout_secs = 3600;
        c.session.absolute_lifetime_secs = 3600;
    })
    .await;
    let (code, v) = rp.code("openid").await;
    rp.app.clock.advance(chrono::Duration::seconds(3601));
    let (s, t) = rp
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
        ])
        .await;
    assert_eq!(
        (s, t["error"].as_str()),
        (400, Some("invalid_grant")),
        "{t}"
    );
}

/// `DELETE /admin/v1/users/{id}/sessions` ends every session and revokes every grant,
/// also `offline_access` ones of sessions that had ended before (a user who signed
/// out keeps those otherwise); called again, it answers the same and ends what is
/// left (a retry after a failure half-way).
async fn admin_forced_logout_is_total_and_idempotent(b: Backend) {
    let rp = rp(b).await;
    let offline = rp.tokens("openid offline_access").await;
    // The user signs out: the offline grant lives on (as it should, until now).
    rp.sign_out().await;
    let (s, t) = rp.refresh(offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{t}");
    let live = rp.tokens("openid").await;
    let admin = rp.app.admin().await;
    let path = format!("/users/{}/sessions", rp.user.id);
    let (s, v) = admin.delete(&path).await;
    assert_eq!(s, 200, "{v}");
    for rt in [
        t["refresh_token"].as_str().unwrap(),
        live["refresh_token"].as_str().unwrap(),
    ] {
        let (s, e) = rp.refresh(rt).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("invalid_grant")),
            "{e}"
        );
    }
    for at in [&t, &live] {
        assert_eq!(
            rp.introspect(at["access_token"].as_str().unwrap()).await["active"],
            false
        );
    }
    // Again: the same answer, nothing left to end.
    let (s, v2) = admin.delete(&path).await;
    assert_eq!(s, 200, "{v2}");

    // One session that had already ended (the user signed out): its offline grant
    // still goes.
    let offline = rp.tokens("openid offline_access").await;
    let sid = claims_of(offline["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();
    rp.sign_out().await;
    let (s, v) = admin.delete(&format!("{path}/{sid}")).await;
    assert_eq!((s, v["sessions_ended"].as_u64()), (200, Some(0)), "{v}");
    let (s, e) = rp.refresh(offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

/// The database fails while a refresh is rotated (the new token cannot be stored):
/// the client gets a 5xx and the old refresh token still works, instead of its retry
/// being taken for a replay that revokes the grant. And an answer lost on the way
/// (the rotation committed, the client never saw it) can be asked for again with the
/// same token within `tokens.refresh_retry_grace_secs`; after that it is a replay.
async fn a_failed_rotation_keeps_the_grant_and_a_lost_answer_can_be_retried(b: Backend) {
    let rp = rp(b).await;
    let t = rp.tokens("openid offline_access").await;
    let rt0 = t["refresh_token"].as_str().unwrap().to_string();
    rp.app.db.fail_inserts_into("refresh_tokens").await;
    let (s, e) = rp.refresh(&rt0).await;
    assert_eq!((s, e["error"].as_str()), (500, Some("server_error")), "{e}");
    rp.app.db.heal("refresh_tokens").await;
    let (s, t1) = rp.refresh(&rt0).await;
    assert_eq!(s, 200, "the retry after the failure: {t1}");
    let rt1 = t1["refresh_token"].as_str().unwrap().to_string();

    // rt1's answer "was lost": the client retries with rt0 within the window.
    rp.app.clock.advance(Duration::seconds(3));
    let (s, t2) = rp.refresh(&rt0).await;
    assert_eq!(s, 200, "a retry within the window: {t2}");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert_eq!(rp.introspect(&rt1).await["active"], false, "retired");
    let (s, t3) = rp.refresh(&rt2).await;
    assert_eq!(s, 200, "{t3}");
    let rt3 = t3["refresh_token"].as_str().unwrap().to_string();
    // rt0 once more, after the window: a replay, the grant is revoked. The replay is
    // found before anything else could refuse the request (here a widened scope,
    // which would otherwise be an invalid_scope that leaves the grant alive).
    rp.app.clock.advance(Duration::seconds(30));
    let (s, e) = rp
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt0),
            ("scope", "openid offline_access email"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (s, _) = rp.refresh(&rt3).await;
    assert_eq!(s, 400, "the grant is revoked");
    // And a retry within the window after its successor was used is a replay too.
    let t = rp.tokens("openid").await;
    let a0 = t["refresh_token"].as_str().unwrap().to_string();
    let (_, a) = rp.refresh(&a0).await;
    let (s, _) = rp.refresh(a["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    let (s, e) = rp.refresh(&a0).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );

    // A public client gets no window: its token is all it takes, so a second use is
    // a replay at once.
    let public = rp
        .app
        .register_client(NewClient {
            name: "Public".into(),
            kind: "public".into(),
            redirect_uris: vec![REDIRECT.into()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let (v, ch) = pkce();
    let url = authz_url(&rp.app, &public.client_id, "openid", &ch, "");
    let r = rp
        .app
        .browse(&rp.browser, &url, Some((EMAIL, PW)), true)
        .await
        .unwrap();
    let code = query_param(&r, "code").unwrap();
    let post = |form: Vec<(&'static str, String)>| {
        let http = rp.http.clone();
        let url = rp.app.url("/token");
        async move {
            let r = http.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, t) = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", v),
        ("client_id", public.client_id.clone()),
    ])
    .await;
    assert_eq!(s, 200, "{t}");
    let p0 = t["refresh_token"].as_str().unwrap().to_string();
    let refresh = vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", p0),
        ("client_id", public.client_id.clone()),
    ];
    assert_eq!(post(refresh.clone()).await.0, 200);
    let (s, e) = post(refresh).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}
