//! SAML Single Logout over real HTTP, on both backends: SP-initiated (Redirect and
//! POST), the front-channel chain on browser logout, and propagation to the other SPs.

use crate::common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::saml::{element_attr, element_text, register, setup, sso, TestSp};
use common::Backend;

async fn sp_initiated_logout_ends_the_session(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_s").await;
    let name_id = element_text(&xml, "NameID").unwrap();
    let index = element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap();
    // Unsigned LogoutRequest from an SP with a signing certificate: refused.
    let lr = sp.logout_request(&app, "_lo0", &name_id, &index);
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, None, false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Signed: session ended, signed LogoutResponse (Success) back over Redirect.
    let lr = sp.logout_request(&app, "_lo1", &name_id, &index);
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, Some("r"), true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp.slo));
    assert!(
        loc.contains("&SigAlg=") && loc.contains("&Signature=") && loc.contains("RelayState=r")
    );
    let resp = common::query_param(&loc, "SAMLResponse").unwrap();
    let resp = monban::saml::xml::decode_redirect(&resp).unwrap();
    assert!(
        resp.contains("status:Success") && resp.contains("InResponseTo=\"_lo1\""),
        "{resp}"
    );
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed out");
    // Nothing left to end: the status says so.
    let lr = sp.logout_request(&app, "_lo2", "someone-else", "nope");
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, None, true))
        .send()
        .await
        .unwrap();
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(resp.contains("status:UnknownPrincipal"), "{resp}");
    // POST binding with an enveloped signature.
    let xml = sso(&app, &sp, &c, "_s2").await;
    let lr = sp.sign_enveloped(&sp.logout_request(
        &app,
        "_lo3",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    ));
    let res = c
        .post(app.url("/saml/slo"))
        .form(&[("SAMLRequest", B64.encode(lr))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(resp.contains("status:Success"), "{resp}");
}

async fn sp_initiated_logout_tells_the_other_sps_first(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let sp2 = TestSp::new("sp2");
    register(&app, &sp2, false, |_| {}).await;
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_m1").await;
    let other = sso(&app, &sp2, &c, "_m2").await;
    let lr = sp.logout_request(
        &app,
        "_lo",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    );
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, Some("back"), true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp2.slo), "the other SP first: {loc}");
    let req =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLRequest").unwrap())
            .unwrap();
    assert!(req.contains(&element_text(&other, "NameID").unwrap()));
    let rs = common::query_param(&loc, "RelayState").unwrap();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let res = c
        .get(app.url(&format!("/saml/slo?SAMLResponse=x&RelayState={}", enc(&rs))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp.slo), "then the initiator: {loc}");
    assert_eq!(
        common::query_param(&loc, "RelayState").as_deref(),
        Some("back")
    );
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(
        resp.contains("status:Success") && resp.contains("InResponseTo=\"_lo\""),
        "{resp}"
    );
    // The answer key is not a sign-on request.
    let res = c
        .get(app.url("/saml/continue?id=slo:00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn browser_logout_tells_the_sps(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_b").await;
    let name_id = element_text(&xml, "NameID").unwrap();
    let token = app.csrf(&c, "/logout").await;
    let res = c
        .post(app.url("/logout"))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp.slo));
    let req =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLRequest").unwrap())
            .unwrap();
    assert!(req.contains(&name_id) && req.contains("LogoutRequest"));
    let rs = common::query_param(&loc, "RelayState").unwrap();
    assert!(rs.len() <= 80);
    // The SP answers; the chain ends on the signed-out page.
    let answer = format!(
        "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_a\" Version=\"2.0\" IssueInstant=\"{}\"><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>",
        common::saml::now_instant(&app)
    );
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let url = app.url(&format!(
        "/saml/slo?SAMLResponse={}&RelayState={}",
        enc(&monban::saml::xml::encode_redirect(&answer)),
        enc(&rs)
    ));
    let res = c.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // A forged chain reference is refused.
    let res = c
        .get(app.url(
            "/saml/slo?SAMLResponse=x&RelayState=lo.00000000-0000-0000-0000-000000000000.AAAA",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// An SP whose SingleLogoutService uses HTTP-POST gets enveloped-signed messages.
async fn post_binding_slo_messages_are_signed(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    monban::clients::saml::register(
        &app.state,
        &sp.metadata(false, "HTTP-POST"),
        Default::default(),
    )
    .await
    .unwrap();
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_p").await;
    // SP-initiated: the LogoutResponse comes back as a signed POST form.
    let lr = sp.logout_request(
        &app,
        "_plo",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    );
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, Some("r"), true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let (action, resp, rs) = common::saml::form(&html, "SAMLResponse").unwrap();
    assert_eq!(action, sp.slo);
    assert_eq!(rs.as_deref(), Some("r"));
    let resp = common::saml::verified_response(&app, &resp);
    assert!(resp.contains("LogoutResponse") && resp.contains("status:Success"));
    // Browser logout: the LogoutRequest too.
    sso(&app, &sp, &c, "_p2").await;
    let token = app.csrf(&c, "/logout").await;
    let res = c
        .post(app.url("/logout"))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let (action, req, _) = common::saml::form(&html, "SAMLRequest").unwrap();
    assert_eq!(action, sp.slo);
    let req = common::saml::verified_response(&app, &req);
    assert!(req.contains("LogoutRequest") && req.contains("SessionIndex"));
}

on_both_backends!(
    sp_initiated_logout_ends_the_session,
    sp_initiated_logout_tells_the_other_sps_first,
    browser_logout_tells_the_sps,
    post_binding_slo_messages_are_signed,
    forged_logout_request_beside_a_signed_one,
    unauthenticated_logout_request_denied,
    asynchronous_logout_gets_the_signed_out_page,
);

fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Issue 13: an unsigned `SAML%52equest` naming another user, placed beside a
/// genuinely signed LogoutRequest (the attacker's own, say), used to end that user's
/// session: the signature was checked over one parameter and the other was used.
async fn forged_logout_request_beside_a_signed_one(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let victim = app.client();
    let xml = sso(&app, &sp, &victim, "_v").await;
    let name_id = element_text(&xml, "NameID").unwrap();
    let index = element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap();
    let genuine = sp.redirect(
        &app,
        "/saml/slo",
        &sp.logout_request(&app, "_mine", "the-attacker", "his-index"),
        Some("r"),
        true,
    );
    let (base, query) = genuine.split_once('?').unwrap();
    let forged = enc(&monban::saml::xml::encode_redirect(
        &sp.logout_request(&app, "_forged", &name_id, &index),
    ));
    let attacker = app.client();
    for attack in [
        format!("{base}?SAML%52equest={forged}&{query}"),
        format!("{base}?{query}&SAML%52equest={forged}"),
        format!("{base}?SAMLRequest={forged}&{query}"),
        format!("{base}?{query}&Relay%53tate=swapped"),
    ] {
        let res = attacker.get(&attack).send().await.unwrap();
        assert_eq!(res.status(), 400, "{attack}");
        assert!(res.headers().get("location").is_none(), "{attack}");
    }
    let res = victim.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the victim is still signed in");
    // The genuine request alone is answered (nobody of that name: UnknownPrincipal).
    let res = attacker.get(&genuine).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        common::query_param(&loc, "RelayState").as_deref(),
        Some("r")
    );
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(resp.contains("status:UnknownPrincipal"), "{resp}");
    let res = victim.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the victim is still signed in");
}

/// Issue 13: SAML profiles §4.4.4.1 — a LogoutRequest must be authenticated. An SP
/// registered without signing certificates cannot be, so its (unsigned) requests are
/// denied with a `Requester`/`RequestDenied` LogoutResponse and nobody is signed out.
async fn unauthenticated_logout_request_denied(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    let metadata: String = sp
        .metadata(false, "HTTP-Redirect")
        .lines()
        .filter(|l| !l.contains("KeyDescriptor"))
        .collect::<Vec<_>>()
        .join("\n");
    monban::clients::saml::register(&app.state, &metadata, Default::default())
        .await
        .unwrap();
    let c = app.client();
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_nc", ""),
        None,
        false,
    );
    let (status, html) = common::saml::page(&app, &c, &url, true).await;
    assert_eq!(status, 200, "{html}");
    let xml = common::saml::verified_response(
        &app,
        &common::saml::form(&html, "SAMLResponse").unwrap().1,
    );
    let lr = sp.logout_request(
        &app,
        "_nc1",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    );
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, Some("r"), false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp.slo), "{loc}");
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(
        resp.contains("status:Requester")
            && resp.contains("status:RequestDenied")
            && resp.contains("InResponseTo=\"_nc1\""),
        "{resp}"
    );
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200, "still signed in");
    // Over POST as well.
    let lr = sp.logout_request(
        &app,
        "_nc2",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    );
    let res = c
        .post(app.url("/saml/slo"))
        .form(&[("SAMLRequest", B64.encode(lr))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let resp =
        monban::saml::xml::decode_redirect(&common::query_param(&loc, "SAMLResponse").unwrap())
            .unwrap();
    assert!(resp.contains("status:RequestDenied"), "{resp}");
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200, "still signed in");
}

/// Issue 12: a LogoutRequest with `<aslo:Asynchronous/>` (SAML asynchronous SLO
/// extension) ends the session and, as the extension requires, gets no
/// LogoutResponse: the browser ends on the signed-out page (after the other SPs).
async fn asynchronous_logout_gets_the_signed_out_page(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let sp2 = TestSp::new("sp2");
    register(&app, &sp2, false, |_| {}).await;
    let asynchronous = |xml: String| {
        xml.replace(
            "</saml:Issuer>",
            "</saml:Issuer><samlp:Extensions><aslo:Asynchronous xmlns:aslo=\"urn:oasis:names:tc:SAML:2.0:protocol:ext:async-slo\"/></samlp:Extensions>",
        )
    };
    // Alone in the session: the signed-out page at once.
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_as1").await;
    let lr = asynchronous(sp.logout_request(
        &app,
        "_alo1",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    ));
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, None, true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let html = res.text().await.unwrap();
    assert!(!html.contains("SAMLResponse"), "{html}");
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed out");
    // With another SP: that SP is told, then the signed-out page (no answer to the first).
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_as2").await;
    sso(&app, &sp2, &c, "_as3").await;
    let lr = asynchronous(sp.logout_request(
        &app,
        "_alo2",
        &element_text(&xml, "NameID").unwrap(),
        &element_attr(&xml, "AuthnStatement", "SessionIndex").unwrap(),
    ));
    let res = c
        .get(sp.redirect(&app, "/saml/slo", &lr, Some("r"), true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&sp2.slo), "{loc}");
    let rs = common::query_param(&loc, "RelayState").unwrap();
    let res = c
        .get(app.url(&format!("/saml/slo?SAMLResponse=x&RelayState={}", enc(&rs))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    let res = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed out");
}
