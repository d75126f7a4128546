//! OIDC with two-factor sign-in: the ID token of an MFA sign-in carries the right
//! `amr`/`acr`, MFA users are stepped up before SSO completes, `mfa.required` sends
//! users to enrolment before any code is issued, and `prompt=none` cannot skip either.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{authz, claims_of, exchange, query_param, Backend, TestApp};
use mfa_support::{enrolled_user, location, submit_code, PW};

on_both_backends!(
    totp_sign_in_through_authorize_gives_mfa_amr_and_acr,
    password_only_session_is_stepped_up_before_sso,
    required_mfa_sends_users_to_enrolment_before_a_code,
);

async fn totp_sign_in_through_authorize_gives_mfa_amr_and_acr(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let (id, secret) = app.web_client().await;
    let setup = app.client();
    let (_user, auth, _) = enrolled_user(&app, &setup, "mfa-rp@example.com").await;
    let c = app.client();
    let (url, verifier) = authz(&app, &id, "");
    // Password through the login form; it sends us to the second step, not back yet.
    let err = app
        .browse(&c, &url, Some(("mfa-rp@example.com", PW)), true)
        .await;
    assert!(
        matches!(err, Err((200, ref html)) if html.contains("name=\"code\"")),
        "second step shown"
    );
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), 303);
    let back = app.url(&location(&r));
    let redirect = app.browse(&c, &back, None, true).await.unwrap();
    let t = exchange(&app, &id, &secret, &redirect, &verifier).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], monban::sessions::ACR_MFA);
    assert_eq!(
        claims_of(t["access_token"].as_str().unwrap())["acr"],
        monban::sessions::ACR_MFA
    );
}

async fn password_only_session_is_stepped_up_before_sso(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let (id, secret) = app.web_client().await;
    let c = app.client();
    // Signed in with a password before enrolling on another browser: a password-only session.
    let user = app.create_user("stepup@example.com", PW).await;
    assert_eq!(app.login(&c, "stepup@example.com", PW).await.status(), 303);
    let other = app.client();
    assert_eq!(
        app.login(&other, "stepup@example.com", PW).await.status(),
        303
    );
    let (auth, _) = mfa_support::enrol_signed_in(&app, &other).await;
    let _ = user;
    // prompt=none cannot skip the step-up.
    let (none_url, _) = authz(
        &app,
        &id,
        "&prompt=none&acr_values=urn%3Amonban%3Aacr%3Amfa",
    );
    let r = app.browse(&c, &none_url, None, false).await.unwrap();
    assert_eq!(
        query_param(&r, "error").as_deref(),
        Some("interaction_required")
    );
    // Interactive: the step-up page, then the code.
    let (url, verifier) = authz(&app, &id, "&acr_values=urn%3Amonban%3Aacr%3Amfa");
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let step = location(&r);
    assert!(step.starts_with("/login/mfa?step_up=1"), "{step}");
    let page = c
        .get(app.url(&step))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"code\""));
    let token = common::extract_csrf(&page).unwrap();
    let return_to = common::extract_hidden(&page, "return_to");
    let mut form = vec![("code", auth.code(&app, 0)), ("csrf_token", token)];
    if let Some(rt) = return_to {
        form.push(("return_to", rt));
    }
    let r = c
        .post(app.url("/login/mfa"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let redirect = app
        .browse(&c, &app.url(&location(&r)), None, true)
        .await
        .unwrap();
    let t = exchange(&app, &id, &secret, &redirect, &verifier).await;
    assert_eq!(
        claims_of(t["id_token"].as_str().unwrap())["acr"],
        monban::sessions::ACR_MFA
    );
}

async fn required_mfa_sends_users_to_enrolment_before_a_code(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.required = true)
        .await
        .unwrap();
    let (id, _) = app.web_client().await;
    app.create_user("must-enrol@example.com", PW).await;
    let c = app.client();
    let (url, _) = authz(&app, &id, "");
    let r = app
        .browse(&c, &url, Some(("must-enrol@example.com", PW)), true)
        .await;
    let Err((_, html)) = r else {
        panic!("no code before enrolment")
    };
    assert!(html.contains("otpauth://"), "enrolment page");
    let (none_url, _) = authz(&app, &id, "&prompt=none");
    let r = app.browse(&c, &none_url, None, false).await.unwrap();
    assert_eq!(
        query_param(&r, "error").as_deref(),
        Some("interaction_required")
    );
    app.clock.advance(Duration::seconds(1));
}
