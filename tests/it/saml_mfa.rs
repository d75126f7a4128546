//! SAML with two-factor sign-in: an MFA user does the second step before the assertion
//! is issued, and the assertion's AuthnContextClassRef says MFA.

use crate::common;
use crate::mfa_support;

use common::saml::{element_text, form, register, verified_response, TestSp};
use common::{Backend, TestApp};
use mfa_support::{enrolled_user, location, submit_code, PW};

on_both_backends!(mfa_user_gets_an_mfa_assertion_after_the_second_step);

async fn mfa_user_gets_an_mfa_assertion_after_the_second_step(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let sp = TestSp::new("sp-mfa");
    register(&app, &sp, false, |_| {}).await;
    let (_user, auth, _) = enrolled_user(&app, &app.client(), "saml-mfa@example.com").await;
    let c = app.client();
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_mfa1", ""),
        Some("rs-m"),
        false,
    );
    // Password first; Monban then asks for the code instead of answering the SP.
    let shown = app
        .browse(&c, &url, Some(("saml-mfa@example.com", PW)), false)
        .await;
    let Err((200, html)) = shown else {
        panic!("second step expected: {shown:?}")
    };
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(
        form(&html, "SAMLResponse").is_none(),
        "no assertion before the second step"
    );
    let r = submit_code(&app, &c, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), 303);
    let next = location(&r);
    assert!(next.starts_with("/saml/continue"), "{next}");
    let html = c
        .get(app.url(&next))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, resp, rs) = form(&html, "SAMLResponse").expect("auto-submit form");
    assert_eq!(rs.as_deref(), Some("rs-m"));
    let xml = verified_response(&app, &resp);
    assert_eq!(
        element_text(&xml, "AuthnContextClassRef").as_deref(),
        Some("https://refeds.org/profile/mfa")
    );
}
