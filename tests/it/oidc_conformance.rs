//! The OpenID conformance suite's Basic OP plan (`oidcc-basic-certification-test-plan`)
//! and the Config OP plan's discovery check, one test per module, with the
//! `openidconnect` crate as the relying party (the suite itself needs Java 21 and
//! MongoDB). `conformance/plan.md` maps each module to its test.

use crate::common;

use std::time::Duration as StdDuration;

use chrono::Duration;
use common::{query_param, Backend, TestApp, REDIRECT};
use monban::clock::Clock;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdToken,
    CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthorizationCode, AuthorizationRequest, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LanguageTag,
    LoginHint, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

const PW: &str = "blue-Kettle-42-orbit";
const EMAIL: &str = "op-user@example.com";

struct Ctx {
    app: TestApp,
    http: reqwest::Client,
    rp: Rp,
    browser: reqwest::Client,
    client_id: String,
    secret: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn setup_with(b: Backend, n: monban::clients::NewClient) -> Ctx {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user(EMAIL, PW).await;
    app.state
        .store
        .set_user_claims(
            user.id,
            &monban::store::UserClaims {
                email_verified: true,
                phone_number: Some("+81 3 1234 5678".into()),
                phone_number_verified: true,
                address: Some(r#"{"formatted":"1-1 Chiyoda, Tokyo","country":"JP"}"#.into()),
                locale: Some("ja-JP".into()),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let reg = app.register_client(n).await;
    let http = http();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let secret = reg.client_secret.clone().unwrap_or_default();
    let rp = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(reg.client_id.clone()),
        reg.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let browser = app.client();
    Ctx {
        app,
        http,
        rp,
        browser,
        client_id: reg.client_id,
        secret,
    }
}

async fn setup(b: Backend) -> Ctx {
    setup_with(b, web_client()).await
}

fn web_client() -> monban::clients::NewClient {
    monban::clients::NewClient {
        name: "Conformance RP".into(),
        kind: "confidential".into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["https://rp.example.com/bye".into()],
        first_party: true,
        ..Default::default()
    }
}

struct Flow {
    code: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: Option<PkceCodeVerifier>,
    redirect: String,
}

impl Ctx {
    /// Runs an authorization request (built by `tweak`) through the browser; signs
    /// in when asked if `creds`.
    async fn authorize(
        &self,
        creds: bool,
        tweak: impl FnOnce(
            AuthorizationRequest<'_, CoreAuthDisplay, CoreAuthPrompt, CoreResponseType>,
        ) -> AuthorizationRequest<
            '_,
            CoreAuthDisplay,
            CoreAuthPrompt,
            CoreResponseType,
        >,
    ) -> Result<Flow, (u16, String)> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let req = self
            .rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        let (url, state, nonce) = tweak(req).url();
        let redirect = self
            .app
            .browse(
                &self.browser,
                url.as_str(),
                creds.then_some((EMAIL, PW)),
                true,
            )
            .await?;
        let code = query_param(&redirect, "code").unwrap_or_default();
        Ok(Flow {
            code,
            state,
            nonce,
            verifier: Some(verifier),
            redirect,
        })
    }

    async fn exchange(&self, f: &mut Flow) -> openidconnect::core::CoreTokenResponse {
        let mut req = self
            .rp
            .exchange_code(AuthorizationCode::new(f.code.clone()))
            .unwrap();
        if let Some(v) = f.verifier.take() {
            req = req.set_pkce_verifier(v);
        }
        req.request_async(&self.http).await.expect("token exchange")
    }

    fn id_claims(
        &self,
        tr: &openidconnect::core::CoreTokenResponse,
        nonce: &Nonce,
    ) -> CoreIdTokenClaims {
        let id = tr.id_token().expect("id_token");
        let verifier = self.rp.id_token_verifier().set_allowed_algs(vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EdDsa,
        ]);
        let claims = id.claims(&verifier, nonce).expect("valid ID token").clone();
        // at_hash matches the access token.
        let alg = id.signing_alg().unwrap();
        let key = id.signing_key(&verifier).unwrap();
        let expected = AccessTokenHash::from_token(tr.access_token(), alg, key).unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected));
        claims
    }

    async fn userinfo(&self, token: &openidconnect::AccessToken) -> CoreUserInfoClaims {
        self.rp
            .user_info(token.clone(), None)
            .unwrap()
            .request_async(&self.http)
            .await
            .expect("userinfo")
    }

    async fn token_raw(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.app.url("/token"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

fn error_of(redirect: &str) -> Option<String> {
    query_param(redirect, "error")
}

on_both_backends!(
    oidcc_server,
    oidcc_response_type_missing,
    oidcc_idtoken_signature,
    oidcc_idtoken_unsigned,
    oidcc_userinfo_get,
    oidcc_userinfo_post_header,
    oidcc_userinfo_post_body,
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    oidcc_scope_profile,
    oidcc_scope_email,
    oidcc_scope_address,
    oidcc_scope_phone,
    oidcc_scope_all,
    oidcc_alternate_happy_flow,
    oidcc_display_page,
    oidcc_display_popup,
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_ensure_request_with_unknown_parameter_succeeds,
    oidcc_id_token_hint,
    oidcc_login_hint,
    oidcc_ui_locales,
    oidcc_claims_locales,
    oidcc_ensure_request_with_acr_values_succeeds,
    oidcc_codereuse,
    oidcc_codereuse_30seconds,
    oidcc_ensure_registered_redirect_uri,
    oidcc_ensure_post_request_succeeds,
    oidcc_server_client_secret_post,
    oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    oidcc_claims_essential,
    oidcc_ensure_request_object_with_redirect_uri,
    oidcc_refresh_token,
    oidcc_ensure_request_with_valid_pkce_succeeds,
    oidcc_discovery_endpoint_verification,
);

async fn oidcc_server(b: Backend) {
    let c = setup(b).await;
    let mut f = c.authorize(true, |r| r).await.unwrap();
    assert_eq!(
        query_param(&f.redirect, "state").as_deref(),
        Some(f.state.secret().as_str())
    );
    assert_eq!(
        query_param(&f.redirect, "iss").as_deref(),
        Some(c.app.base.as_str()),
        "RFC 9207 iss"
    );
    let tr = c.exchange(&mut f).await;
    let claims = c.id_claims(&tr, &f.nonce);
    assert_eq!(claims.issuer().as_str(), c.app.base);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.nonce().map(|n| n.secret()), Some(f.nonce.secret()));
    let raw = raw_claims(tr.id_token().unwrap());
    for k in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "amr",
        "acr",
        "sid",
    ] {
        assert!(raw.get(k).is_some(), "ID token lacks {k}: {raw}");
    }
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
}

fn raw_claims(id: &CoreIdToken) -> serde_json::Value {
    let s = id.to_string();
    let payload = s.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap()
}

fn raw_header(jwt: &str) -> serde_json::Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h).unwrap(),
    )
    .unwrap()
}

async fn oidcc_response_type_missing(b: Backend) {
    let c = setup(b).await;
    let url = format!(
        "{}?client_id={}&redirect_uri={}&scope=openid&state=s1",
        c.app.url("/authorize"),
        c.client_id,
        urlenc(REDIRECT)
    );
    let r = c
        .app
        .browse(&c.browser, &url, Some((EMAIL, PW)), true)
        .await
        .unwrap();
    assert!(r.starts_with(REDIRECT));
    assert!(matches!(
        error_of(&r).as_deref(),
        Some("invalid_request") | Some("unsupported_response_type")
    ));
    assert_eq!(query_param(&r, "state").as_deref(), Some("s1"));
    assert!(query_param(&r, "code").is_none());
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn oidcc_idtoken_signature(b: Backend) {
    for alg in ["RS256", "ES256", "EdDSA"] {
        let c = setup_with(
            b,
            monban::clients::NewClient {
                signing_alg: Some(alg.into()),
                ..web_client()
            },
        )
        .await;
        let mut f = c.authorize(true, |r| r).await.unwrap();
        let tr = c.exchange(&mut f).await;
        let id = tr.id_token().unwrap().to_string();
        let h = raw_header(&id);
        assert_eq!(h["alg"], alg);
        let kid = h["kid"].as_str().unwrap();
        let jwks: serde_json::Value = c
            .http
            .get(c.app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid),
            "kid in JWKS"
        );
        c.id_claims(&tr, &f.nonce);
        // Access token too, typ at+jwt.
        assert_eq!(raw_header(tr.access_token().secret())["typ"], "at+jwt");
    }
}

/// `alg: none` is refused at registration, so no unsigned ID token can be issued.
async fn oidcc_idtoken_unsigned(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    for alg in ["none", "HS256"] {
        let e = monban::clients::register(
            &app.state,
            monban::clients::NewClient {
                signing_alg: Some(alg.into()),
                ..web_client()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, "invalid_client_metadata");
    }
    let d: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&"none".into()));
}

async fn happy(c: &Ctx, scopes: &[&str]) -> openidconnect::core::CoreTokenResponse {
    let mut f = c
        .authorize(true, |mut r| {
            for s in scopes {
                r = r.add_scope(Scope::new(s.to_string()));
            }
            r
        })
        .await
        .unwrap();
    let tr = c.exchange(&mut f).await;
    c.id_claims(&tr, &f.nonce);
    tr
}

async fn oidcc_userinfo_get(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["email"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert_eq!(ui.email().unwrap().as_str(), EMAIL);
    // Raw GET with the header, and no token at all.
    let r = c
        .http
        .get(c.app.url("/userinfo"))
        .bearer_auth(tr.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c.http.get(c.app.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}

async fn oidcc_userinfo_post_header(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &[]).await;
    let r = c
        .http
        .post(c.app.url("/userinfo"))
        .bearer_auth(tr.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["sub"].is_string());
}

async fn oidcc_userinfo_post_body(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &[]).await;
    let r = c
        .http
        .post(c.app.url("/userinfo"))
        .form(&[("access_token", tr.access_token().secret().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(b: Backend) {
    let c = setup(b).await;
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=xyz",
        c.app.url("/authorize"),
        c.client_id,
        urlenc(REDIRECT)
    );
    let r = c
        .app
        .browse(&c.browser, &url, Some((EMAIL, PW)), true)
        .await
        .unwrap();
    let code = query_param(&r, "code").expect("code");
    let res = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    let id = v["id_token"].as_str().unwrap();
    let payload = id.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert!(claims.get("nonce").is_none());
}

async fn oidcc_scope_profile(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["profile"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert!(ui.name().is_some());
    assert!(ui.preferred_username().is_some());
    assert!(
        ui.email().is_none(),
        "email not released without the email scope"
    );
}

async fn oidcc_scope_email(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["email"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert_eq!(ui.email().unwrap().as_str(), EMAIL);
    assert_eq!(ui.email_verified(), Some(true));
}

async fn oidcc_scope_address(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["address"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert_eq!(
        ui.address().unwrap().country.as_ref().unwrap().as_str(),
        "JP"
    );
}

async fn oidcc_scope_phone(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["phone"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert_eq!(ui.phone_number().unwrap().as_str(), "+81 3 1234 5678");
    assert_eq!(ui.phone_number_verified(), Some(true));
}

async fn oidcc_scope_all(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["profile", "email", "address", "phone"]).await;
    let ui = c.userinfo(tr.access_token()).await;
    assert!(
        ui.name().is_some()
            && ui.email().is_some()
            && ui.address().is_some()
            && ui.phone_number().is_some()
    );
}

async fn oidcc_alternate_happy_flow(b: Backend) {
    let c = setup(b).await;
    // Scopes in another order, openid last, parameters in another order.
    let url = format!(
        "{}?state=st&scope={}&redirect_uri={}&client_id={}&nonce=n-1&response_type=code",
        c.app.url("/authorize"),
        urlenc("email profile openid"),
        urlenc(REDIRECT),
        c.client_id
    );
    let r = c
        .app
        .browse(&c.browser, &url, Some((EMAIL, PW)), true)
        .await
        .unwrap();
    let code = query_param(&r, "code").unwrap();
    let res = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    let granted: Vec<&str> = v["scope"].as_str().unwrap().split(' ').collect();
    for s in ["openid", "email", "profile"] {
        assert!(granted.contains(&s));
    }
}

async fn oidcc_display_page(b: Backend) {
    let c = setup(b).await;
    let mut f = c
        .authorize(true, |r| r.set_display(CoreAuthDisplay::Page))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_display_popup(b: Backend) {
    let c = setup(b).await;
    let mut f = c
        .authorize(true, |r| r.set_display(CoreAuthDisplay::Popup))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_prompt_login(b: Backend) {
    let c = setup(b).await;
    let mut f1 = c.authorize(true, |r| r).await.unwrap();
    let t1 = c
        .id_claims(&c.exchange(&mut f1).await, &f1.nonce)
        .auth_time()
        .unwrap();
    c.app.clock.advance(Duration::seconds(5));
    // With a live session, prompt=login must show the login form again.
    let forced = c
        .authorize(false, |r| r.add_prompt(CoreAuthPrompt::Login))
        .await;
    assert!(
        matches!(forced, Err((200, ref html)) if html.contains("name=\"password\"")),
        "login form shown"
    );
    let mut f2 = c
        .authorize(true, |r| r.add_prompt(CoreAuthPrompt::Login))
        .await
        .unwrap();
    let t2 = c
        .id_claims(&c.exchange(&mut f2).await, &f2.nonce)
        .auth_time()
        .unwrap();
    assert!(t2 > t1, "re-authenticated: later auth_time");
}

async fn oidcc_prompt_none_not_logged_in(b: Backend) {
    let c = setup(b).await;
    let f = c
        .authorize(false, |r| r.add_prompt(CoreAuthPrompt::None))
        .await
        .unwrap();
    assert_eq!(error_of(&f.redirect).as_deref(), Some("login_required"));
    assert_eq!(
        query_param(&f.redirect, "state").as_deref(),
        Some(f.state.secret().as_str())
    );
}

async fn oidcc_prompt_none_logged_in(b: Backend) {
    let c = setup(b).await;
    let mut f1 = c.authorize(true, |r| r).await.unwrap();
    let c1 = c.id_claims(&c.exchange(&mut f1).await, &f1.nonce);
    let mut f2 = c
        .authorize(false, |r| r.add_prompt(CoreAuthPrompt::None))
        .await
        .unwrap();
    let c2 = c.id_claims(&c.exchange(&mut f2).await, &f2.nonce);
    assert_eq!(c1.subject(), c2.subject());
    assert_eq!(c1.auth_time(), c2.auth_time());
}

async fn oidcc_max_age_1(b: Backend) {
    let c = setup(b).await;
    let mut f1 = c.authorize(true, |r| r).await.unwrap();
    let t1 = c
        .id_claims(&c.exchange(&mut f1).await, &f1.nonce)
        .auth_time()
        .unwrap();
    c.app.clock.advance(Duration::seconds(2));
    let again = c
        .authorize(false, |r| r.set_max_age(StdDuration::from_secs(1)))
        .await;
    assert!(
        matches!(again, Err((200, _))),
        "login required after max_age"
    );
    let mut f2 = c
        .authorize(true, |r| r.set_max_age(StdDuration::from_secs(1)))
        .await
        .unwrap();
    let c2 = c.id_claims(&c.exchange(&mut f2).await, &f2.nonce);
    assert!(c2.auth_time().unwrap() > t1);
}

async fn oidcc_max_age_10000(b: Backend) {
    let c = setup(b).await;
    let mut f1 = c.authorize(true, |r| r).await.unwrap();
    let t1 = c
        .id_claims(&c.exchange(&mut f1).await, &f1.nonce)
        .auth_time();
    c.app.clock.advance(Duration::seconds(2));
    let mut f2 = c
        .authorize(false, |r| r.set_max_age(StdDuration::from_secs(10000)))
        .await
        .unwrap();
    let t2 = c
        .id_claims(&c.exchange(&mut f2).await, &f2.nonce)
        .auth_time();
    assert_eq!(t1, t2);
}

async fn oidcc_ensure_request_with_unknown_parameter_succeeds(b: Backend) {
    let c = setup(b).await;
    let mut f = c
        .authorize(true, |r| r.add_extra_param("extra", "foobar"))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_id_token_hint(b: Backend) {
    let c = setup(b).await;
    let mut f1 = c.authorize(true, |r| r).await.unwrap();
    let tr = c.exchange(&mut f1).await;
    let id = tr.id_token().unwrap().clone();
    let mut f2 = c
        .authorize(false, |r| {
            r.add_prompt(CoreAuthPrompt::None)
                .add_extra_param("id_token_hint", id.to_string())
        })
        .await
        .unwrap();
    c.exchange(&mut f2).await;
    // A tampered hint is refused with invalid_request, before anything else.
    let s = id.to_string();
    let mut parts: Vec<String> = s.split('.').map(String::from).collect();
    let flipped = if parts[1].as_bytes()[10] == b'A' {
        "B"
    } else {
        "A"
    };
    parts[1].replace_range(10..11, flipped);
    let bad = parts.join(".");
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&prompt=none&id_token_hint={}",
        c.app.url("/authorize"),
        c.client_id,
        urlenc(REDIRECT),
        bad
    );
    let r = c.app.browse(&c.browser, &url, None, false).await.unwrap();
    assert_eq!(error_of(&r).as_deref(), Some("invalid_request"));
}

async fn oidcc_login_hint(b: Backend) {
    let c = setup(b).await;
    let Err(shown) = c
        .authorize(false, |r| r.set_login_hint(LoginHint::new(EMAIL.into())))
        .await
    else {
        panic!("login page expected");
    };
    assert!(
        shown.1.contains(&format!("value=\"{EMAIL}\"")),
        "login form pre-filled"
    );
    let mut f = c
        .authorize(true, |r| r.set_login_hint(LoginHint::new(EMAIL.into())))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_ui_locales(b: Backend) {
    let c = setup(b).await;
    let Err(shown) = c
        .authorize(false, |r| r.add_ui_locale(LanguageTag::new("ja".into())))
        .await
    else {
        panic!("login page expected");
    };
    assert!(shown.1.contains("lang=\"ja\""), "login page in Japanese");
    let mut f = c
        .authorize(true, |r| r.add_ui_locale(LanguageTag::new("ja".into())))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_claims_locales(b: Backend) {
    let c = setup(b).await;
    let mut f = c
        .authorize(true, |r| r.add_extra_param("claims_locales", "ja en"))
        .await
        .unwrap();
    c.exchange(&mut f).await;
}

async fn oidcc_ensure_request_with_acr_values_succeeds(b: Backend) {
    let c = setup(b).await;
    let mut f = c
        .authorize(true, |r| {
            r.add_auth_context_value(AuthenticationContextClass::new(
                monban::sessions::ACR_PASSWORD.into(),
            ))
        })
        .await
        .unwrap();
    let claims = c.id_claims(&c.exchange(&mut f).await, &f.nonce);
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        monban::sessions::ACR_PASSWORD
    );
}

async fn oidcc_codereuse(b: Backend) {
    let c = setup(b).await;
    let mut f = c.authorize(true, |r| r).await.unwrap();
    let verifier = f.verifier.as_ref().unwrap().secret().clone();
    c.exchange(&mut f).await;
    let r = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &f.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
}

async fn oidcc_codereuse_30seconds(b: Backend) {
    let c = setup(b).await;
    let mut f = c.authorize(true, |r| r).await.unwrap();
    let verifier = f.verifier.as_ref().unwrap().secret().clone();
    let tr = c.exchange(&mut f).await;
    assert_eq!(
        c.http
            .get(c.app.url("/userinfo"))
            .bearer_auth(tr.access_token().secret())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    c.app.clock.advance(Duration::seconds(30));
    let r = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &f.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The tokens issued from the first use are revoked.
    let r = c
        .http
        .get(c.app.url("/userinfo"))
        .bearer_auth(tr.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let rt = tr.refresh_token().unwrap().secret();
    let r = c
        .token_raw(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

async fn oidcc_ensure_registered_redirect_uri(b: Backend) {
    let c = setup(b).await;
    for bad in [
        "https://evil.example.com/cb",
        "https://rp.example.com/cb/extra",
        "https://rp.example.com/cb?x=1",
    ] {
        let url = format!(
            "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
            c.app.url("/authorize"),
            c.client_id,
            urlenc(bad)
        );
        let r = c.browser.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(
            r.headers().get("location").is_none(),
            "never redirected to {bad}"
        );
        assert!(r.text().await.unwrap().contains("redirect_uri"));
    }
    // Unknown client: an error page too.
    let r = c
        .browser
        .get(format!(
            "{}?response_type=code&client_id=nope&redirect_uri={}&scope=openid",
            c.app.url("/authorize"),
            urlenc(REDIRECT)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

async fn oidcc_ensure_post_request_succeeds(b: Backend) {
    let c = setup(b).await;
    // Sign in first, then POST the authorization request as a form.
    c.authorize(true, |r| r).await.unwrap();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let r = c
        .browser
        .post(c.app.url("/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "post-state"),
            ("nonce", "post-nonce"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&loc, "state").as_deref(), Some("post-state"));
    let mut f = Flow {
        code: query_param(&loc, "code").unwrap(),
        state: CsrfToken::new("post-state".into()),
        nonce: Nonce::new("post-nonce".into()),
        verifier: Some(verifier),
        redirect: loc,
    };
    let tr = c.exchange(&mut f).await;
    c.id_claims(&tr, &f.nonce);
}

async fn oidcc_server_client_secret_post(b: Backend) {
    let c = setup_with(
        b,
        monban::clients::NewClient {
            auth_method: Some("client_secret_post".into()),
            ..web_client()
        },
    )
    .await;
    let rp =
        c.rp.clone()
            .set_auth_type(openidconnect::AuthType::RequestBody);
    let mut f = c.authorize(true, |r| r).await.unwrap();
    let tr = rp
        .exchange_code(AuthorizationCode::new(f.code.clone()))
        .unwrap()
        .set_pkce_verifier(f.verifier.take().unwrap())
        .request_async(&c.http)
        .await
        .unwrap();
    c.id_claims(&tr, &f.nonce);
    // Basic is refused for a client registered for client_secret_post.
    let mut f = c.authorize(false, |r| r).await.unwrap();
    let r = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &f.code),
            ("code_verifier", f.verifier.take().unwrap().secret()),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
}

async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(b: Backend) {
    let c = setup(b).await;
    let f = c
        .authorize(true, |r| {
            r.add_extra_param("request_uri", "https://rp.example.com/request.jwt")
        })
        .await
        .unwrap();
    assert_eq!(
        error_of(&f.redirect).as_deref(),
        Some("request_uri_not_supported")
    );
}

async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(b: Backend) {
    let c = setup(b).await;
    let f = c
        .authorize(true, |r| {
            r.add_extra_param("request", "eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6IngifQ.")
        })
        .await
        .unwrap();
    assert_eq!(
        error_of(&f.redirect).as_deref(),
        Some("request_not_supported")
    );
}

async fn oidcc_claims_essential(b: Backend) {
    let c = setup(b).await;
    let claims =
        r#"{"userinfo":{"name":{"essential":true}},"id_token":{"email":{"essential":true}}}"#;
    let mut f = c
        .authorize(true, |r| r.add_extra_param("claims", claims))
        .await
        .unwrap();
    let tr = c.exchange(&mut f).await;
    let raw = raw_claims(tr.id_token().unwrap());
    // Only the openid scope: `claims` cannot release claims of scopes not granted
    // (essential or not; OIDC Core §5.5 lets the OP decline).
    assert!(raw.get("email").is_none(), "{raw}");
    let ui = c.userinfo(tr.access_token()).await;
    assert!(ui.name().is_none());
    // With `profile` and `email` granted, the requested ID token claim is there.
    let mut f = c
        .authorize(false, |r| {
            r.add_scope(Scope::new("profile".into()))
                .add_scope(Scope::new("email".into()))
                .add_extra_param("claims", claims)
        })
        .await
        .unwrap();
    let tr = c.exchange(&mut f).await;
    let raw = raw_claims(tr.id_token().unwrap());
    assert_eq!(raw["email"], EMAIL, "requested ID token claim");
    let ui = c.userinfo(tr.access_token()).await;
    assert!(ui.name().is_some());
    // Malformed claims parameter.
    let f = c
        .authorize(false, |r| r.add_extra_param("claims", "{not json"))
        .await
        .unwrap();
    assert_eq!(error_of(&f.redirect).as_deref(), Some("invalid_request"));
}

/// Request objects are not supported, so a request object's redirect_uri can never
/// win over the registered one: the request is refused to the registered URI.
async fn oidcc_ensure_request_object_with_redirect_uri(b: Backend) {
    let c = setup(b).await;
    let f = c
        .authorize(true, |r| {
            r.add_extra_param(
                "request",
                "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZS5jb20vIn0.",
            )
        })
        .await
        .unwrap();
    assert!(f.redirect.starts_with(REDIRECT));
    assert_eq!(
        error_of(&f.redirect).as_deref(),
        Some("request_not_supported")
    );
}

async fn oidcc_refresh_token(b: Backend) {
    let c = setup(b).await;
    let tr = happy(&c, &["offline_access"]).await;
    let rt = tr.refresh_token().unwrap().clone();
    let tr2 =
        c.rp.exchange_refresh_token(&rt)
            .unwrap()
            .request_async(&c.http)
            .await
            .unwrap();
    assert_ne!(
        tr2.refresh_token().unwrap().secret(),
        rt.secret(),
        "rotated"
    );
    assert!(tr2.id_token().is_some());
    assert_eq!(
        c.userinfo(tr2.access_token()).await.subject(),
        c.userinfo(tr.access_token()).await.subject()
    );
    // Bound to its client: another client cannot use it.
    let other = c
        .app
        .register_client(monban::clients::NewClient {
            name: "Other".into(),
            ..web_client()
        })
        .await;
    let r = c
        .http
        .post(c.app.url("/token"))
        .basic_auth(&other.client_id, other.client_secret.as_deref())
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tr2.refresh_token().unwrap().secret().as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // Still usable by its own client after that attempt.
    let tr3 =
        c.rp.exchange_refresh_token(tr2.refresh_token().unwrap())
            .unwrap()
            .request_async(&c.http)
            .await
            .unwrap();
    assert!(tr3.refresh_token().is_some());
}

async fn oidcc_ensure_request_with_valid_pkce_succeeds(b: Backend) {
    let c = setup(b).await;
    let mut f = c.authorize(true, |r| r).await.unwrap();
    let tr = c.exchange(&mut f).await;
    c.id_claims(&tr, &f.nonce);
    // A wrong verifier fails.
    let f = c.authorize(false, |r| r).await.unwrap();
    let r = c
        .token_raw(&[
            ("grant_type", "authorization_code"),
            ("code", &f.code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "0123456789012345678901234567890123456789012345",
            ),
        ])
        .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

/// Config OP plan: discovery has the required values and they match the endpoints.
async fn oidcc_discovery_endpoint_verification(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let http = http();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    assert_eq!(meta.issuer().as_str(), app.base);
    let d: serde_json::Value = http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ] {
        let url = d[k].as_str().unwrap();
        assert!(url.starts_with(&app.base), "{k}");
        // Every advertised endpoint exists (no 404).
        let r = http.get(url).send().await.unwrap();
        assert_ne!(r.status(), 404, "{k} {url}");
        assert!(r.status().as_u16() < 500, "{k} {url}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], false);
    assert!(d["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"openid".into()));
    // JWKS keys cover the advertised algorithms.
    let jwks: serde_json::Value = http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    for a in d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
    {
        assert!(algs.contains(&a.as_str().unwrap()));
    }
    let r = http
        .get(app.url("/.well-known/openid-configuration"))
        .header("if-none-match", d.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
