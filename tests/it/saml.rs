//! SAML 2.0 identity provider over real HTTP, on both backends, with the fake clock.

use crate::common;
use crate::mfa_support;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::saml::{element_attr, element_text, form, register, verified_response, TestSp};
use common::{Backend, TestApp};
use samael::crypto::CryptoProvider;

use common::saml::{page, setup, sso, PW};

async fn metadata_is_complete(backend: Backend) {
    let Some((app, _)) = setup(backend).await else {
        return;
    };
    let res = app
        .client()
        .get(app.url("/saml/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("samlmetadata+xml"));
    let xml = res.text().await.unwrap();
    let cert = B64.encode(common::saml::idp_cert(&app).der_data());
    assert!(xml.contains(&cert), "signing certificate published");
    for needle in [
        "IDPSSODescriptor",
        "validUntil=",
        "cacheDuration=",
        "errorURL=",
        "bindings:HTTP-Redirect\" Location=\"http://127.0.0.1",
        "/saml/sso\"",
        "/saml/slo\"",
        "nameid-format:persistent",
        "nameid-format:transient",
        "DisplayName",
    ] {
        assert!(xml.contains(needle), "{needle} missing:\n{xml}");
    }
    assert!(libxml::parser::Parser::default().parse_string(&xml).is_ok());
    assert_eq!(xml.matches("KeyDescriptor use=\"signing\"").count(), 1);
    // After a rotation the next certificate is published beside the current one.
    monban::keys::KeyManager::rotate(&app.state.cfg, std::sync::Arc::new(app.clock.clone()))
        .unwrap();
    assert!(app.state.keys.reload_if_changed().unwrap());
    let xml = app
        .client()
        .get(app.url("/saml/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(xml.matches("KeyDescriptor use=\"signing\"").count(), 2);
    assert!(xml.contains(&cert), "the current certificate stays");
}

async fn sp_initiated_sso_issues_a_strict_response(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_req1", ""),
        Some("rs-1"),
        false,
    );
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303, "not signed in: to the login page");
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?return_to=%2Fsaml%2Fcontinue"));
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_req1b", ""),
        Some("rs-1"),
        false,
    );
    let (status, html) = page(&app, &c, &url, true).await;
    assert_eq!(status, 200);
    let (action, resp, rs) = form(&html, "SAMLResponse").unwrap();
    assert_eq!(action, sp.acs);
    assert_eq!(rs.as_deref(), Some("rs-1"));
    let xml = verified_response(&app, &resp);
    assert_eq!(
        element_attr(&xml, "Response", "InResponseTo").as_deref(),
        Some("_req1b")
    );
    assert_eq!(
        element_attr(&xml, "Response", "Destination").as_deref(),
        Some(sp.acs.as_str())
    );
    assert_eq!(
        element_attr(&xml, "SubjectConfirmationData", "Recipient").as_deref(),
        Some(sp.acs.as_str())
    );
    assert_eq!(
        element_attr(&xml, "SubjectConfirmationData", "InResponseTo").as_deref(),
        Some("_req1b")
    );
    assert!(element_attr(&xml, "SubjectConfirmationData", "NotOnOrAfter").is_some());
    assert!(element_attr(&xml, "Conditions", "NotBefore").is_some());
    assert_eq!(
        element_text(&xml, "Audience").as_deref(),
        Some(sp.entity_id.as_str())
    );
    assert_eq!(
        element_text(&xml, "AuthnContextClassRef").as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    );
    assert!(element_attr(&xml, "AuthnStatement", "SessionIndex").is_some());
    assert_eq!(
        xml.matches(":Assertion ").count(),
        1,
        "exactly one Assertion"
    );
    assert!(xml.contains("xmlenc#sha256") && !xml.contains("xmldsig#sha1"));
    assert!(xml.contains("attrname-format:uri"));
    assert!(
        xml.contains("alice@example.com"),
        "email attribute released"
    );
    // The assertion carries its own signature too (WantAssertionsSigned).
    let a_start = xml.find("<saml2:Assertion").unwrap();
    let a_end = xml.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    samael::crypto::Crypto::verify_signed_xml(
        &xml[a_start..a_end],
        &common::saml::idp_cert(&app),
        Some("ID"),
    )
    .expect("assertion signature");
    // Persistent NameID: stable for this SP, opaque (not the e-mail), pairwise.
    let name_id = element_text(&xml, "NameID").unwrap();
    assert!(!name_id.contains('@'));
    let again = sso(&app, &sp, &c, "_req2").await;
    assert_eq!(element_text(&again, "NameID").unwrap(), name_id);
    let sp2 = TestSp::new("sp2");
    register(&app, &sp2, false, |_| {}).await;
    let other = sso(&app, &sp2, &c, "_req3").await;
    assert_ne!(element_text(&other, "NameID").unwrap(), name_id);
}

async fn encrypted_assertion_for_the_sp_key(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |s| s.encrypt_assertions = true).await;
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_enc").await;
    assert!(xml.contains("EncryptedAssertion") && xml.contains("xmlenc11#aes256-gcm"));
    assert!(!xml.contains("alice@example.com") && !xml.contains("<saml2:Assertion"));
    let values: Vec<&str> = xml
        .split("<xenc:CipherValue>")
        .skip(1)
        .map(|v| &v[..v.find('<').unwrap()])
        .collect();
    assert_eq!(values.len(), 2);
    let rsa = sp.key.rsa().unwrap();
    let mut key = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(
            &B64.decode(values[0]).unwrap(),
            &mut key,
            openssl::rsa::Padding::PKCS1_OAEP,
        )
        .unwrap();
    let data = B64.decode(values[1]).unwrap();
    let (iv, rest) = data.split_at(12);
    let (ct, tag) = rest.split_at(rest.len() - 16);
    let plain = openssl::symm::decrypt_aead(
        openssl::symm::Cipher::aes_256_gcm(),
        &key[..n],
        Some(iv),
        &[],
        ct,
        tag,
    )
    .unwrap();
    let assertion = String::from_utf8(plain).unwrap();
    assert!(assertion.starts_with("<saml2:Assertion") && assertion.contains("alice@example.com"));
    samael::crypto::Crypto::verify_signed_xml(
        &assertion,
        &common::saml::idp_cert(&app),
        Some("ID"),
    )
    .expect("the decrypted assertion is signed");
}

async fn form_post_csp_allows_only_the_acs(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_csp", ""),
        None,
        false,
    );
    let res = c.get(&url).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action https://sp1.example.com"), "{csp}");
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
}

async fn signed_requests_required_and_verified(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, true, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    // Unsigned: refused with an error page.
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_u", ""),
        None,
        false,
    );
    let res = c
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("SAMLResponse"));
    // Tampered query signature.
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_t", ""),
        Some("a"),
        true,
    );
    let res = c
        .get(url.replace("RelayState=a", "RelayState=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Signed by another key.
    let evil = TestSp {
        entity_id: sp.entity_id.clone(),
        ..TestSp::new("evil")
    };
    let url = evil.redirect(
        &app,
        "/saml/sso",
        &evil.authn_request(&app, "_e", ""),
        None,
        true,
    );
    assert_eq!(c.get(url).send().await.unwrap().status(), 400);
    // Signed Redirect: accepted.
    sso(&app, &sp, &c, "_ok").await;
    // Signed POST: accepted; the same with a modified signed element: refused.
    let signed = sp.sign_enveloped(&sp.authn_request(&app, "_post", ""));
    let res = c
        .post(app.url("/saml/sso"))
        .form(&[("SAMLRequest", B64.encode(&signed))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(form(&res.text().await.unwrap(), "SAMLResponse").is_some());
    let signed = sp.sign_enveloped(&sp.authn_request(&app, "_post2", ""));
    let tampered = signed.replace("ID=\"_post2\"", "ID=\"_post2\" ForceAuthn=\"true\"");
    let res = c
        .post(app.url("/saml/sso"))
        .form(&[("SAMLRequest", B64.encode(&tampered))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Unsigned POST when signing is required.
    let res = c
        .post(app.url("/saml/sso"))
        .form(&[(
            "SAMLRequest",
            B64.encode(sp.authn_request(&app, "_post3", "")),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn acs_checked_against_metadata(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let bad = sp.authn_request(
        &app,
        "_acs1",
        "AssertionConsumerServiceURL=\"https://evil.example.com/acs\"",
    );
    let res = c
        .get(sp.redirect(&app, "/saml/sso", &bad, None, false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "error page, never a redirect");
    assert!(res.headers().get("location").is_none());
    // An exact match of the non-default ACS, and the ACS by index.
    let ok = sp.authn_request(
        &app,
        "_acs2",
        &format!("AssertionConsumerServiceURL=\"{}2\"", sp.acs),
    );
    let (_, html) = page(
        &app,
        &c,
        &sp.redirect(&app, "/saml/sso", &ok, None, false),
        false,
    )
    .await;
    assert_eq!(
        form(&html, "SAMLResponse").unwrap().0,
        format!("{}2", sp.acs)
    );
    let by_index = sp.authn_request(&app, "_acs3", "AssertionConsumerServiceIndex=\"1\"");
    let (_, html) = page(
        &app,
        &c,
        &sp.redirect(&app, "/saml/sso", &by_index, None, false),
        false,
    )
    .await;
    assert_eq!(
        form(&html, "SAMLResponse").unwrap().0,
        format!("{}2", sp.acs)
    );
}

async fn replayed_request_refused(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_once", ""),
        None,
        true,
    );
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(c.get(&url).send().await.unwrap().status(), 400);
}

async fn passive_and_forced_authn(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    let passive = sp.authn_request(&app, "_p", "IsPassive=\"true\"");
    let res = c
        .get(sp.redirect(&app, "/saml/sso", &passive, None, false))
        .send()
        .await
        .unwrap();
    let (_, resp, _) = form(&res.text().await.unwrap(), "SAMLResponse").unwrap();
    let xml = String::from_utf8(B64.decode(resp).unwrap()).unwrap();
    assert!(xml.contains("status:NoPassive"), "{xml}");
    assert!(!xml.contains("Assertion"));
    // Signed in a while ago; ForceAuthn sends the user to the login page again and
    // the AuthnInstant is the fresh sign-in.
    app.login(&c, "alice@example.com", PW).await;
    app.clock.advance(chrono::Duration::minutes(5));
    let forced = sp.authn_request(&app, "_f", "ForceAuthn=\"true\"");
    let url = sp.redirect(&app, "/saml/sso", &forced, None, false);
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let forced = sp.authn_request(&app, "_f2", "ForceAuthn=\"true\"");
    let url = sp.redirect(&app, "/saml/sso", &forced, None, false);
    let (_, html) = page(&app, &c, &url, true).await;
    let xml = verified_response(&app, &form(&html, "SAMLResponse").unwrap().1);
    let instant = element_attr(&xml, "AuthnStatement", "AuthnInstant").unwrap();
    let issued = element_attr(&xml, "Response", "IssueInstant").unwrap();
    assert_eq!(instant[..19], issued[..19], "fresh AuthnInstant");
}

fn with_children(xml: String, children: &str) -> String {
    xml.replace(
        "</samlp:AuthnRequest>",
        &format!("{children}</samlp:AuthnRequest>"),
    )
}

/// The status codes of an (unsigned) error Response in a page.
fn status_of(html: &str) -> String {
    let (_, resp, _) = form(html, "SAMLResponse").expect("a SAML response");
    String::from_utf8(B64.decode(resp).unwrap()).unwrap()
}

async fn name_id_policy_and_authn_context(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let ask = |id: &str, children: &str| {
        let xml = with_children(sp.authn_request(&app, id, ""), children);
        sp.redirect(&app, "/saml/sso", &xml, None, false)
    };
    let get = |url: String| {
        let c = c.clone();
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // A format the SP is not configured for (the e-mail address would be revealed).
    let email =
        "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\"/>";
    let xml = status_of(&get(ask("_n1", email)).await);
    assert!(
        xml.contains("status:InvalidNameIDPolicy") && !xml.contains("Assertion"),
        "{xml}"
    );
    // Transient is honoured though the SP is configured persistent (issue 12: reveals
    // nothing; mod_auth_mellon asks for it by default).
    let transient =
        "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\"/>";
    let html = get(ask("_n1t", transient)).await;
    let xml = verified_response(&app, &form(&html, "SAMLResponse").expect("a Response").1);
    assert_eq!(
        element_attr(&xml, "NameID", "Format").as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
        "{xml}"
    );
    let first = element_text(&xml, "NameID").unwrap();
    let html = get(ask("_n1u", transient)).await;
    let xml = verified_response(&app, &form(&html, "SAMLResponse").unwrap().1);
    assert_ne!(
        element_text(&xml, "NameID").unwrap(),
        first,
        "one-time NameIDs"
    );
    let persistent = "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\" AllowCreate=\"true\"/>";
    let html = get(ask("_n2", persistent)).await;
    verified_response(&app, &form(&html, "SAMLResponse").unwrap().1);
    let ctx = |class: &str, cmp: &str| {
        format!(
            "<samlp:RequestedAuthnContext Comparison=\"{cmp}\"><saml:AuthnContextClassRef>{class}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"
        )
    };
    let xml = status_of(&get(ask("_c1", &ctx("urn:example:smartcard", "exact"))).await);
    assert!(xml.contains("status:NoAuthnContext"), "{xml}");
    // MFA asked for, the session is password-only.
    let xml = status_of(&get(ask("_c2", &ctx("https://refeds.org/profile/mfa", "exact"))).await);
    assert!(
        xml.contains("status:NoAuthnContext") && !xml.contains("Assertion"),
        "{xml}"
    );
    let ppt = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
    let html = get(ask("_c3", &ctx(ppt, "minimum"))).await;
    verified_response(&app, &form(&html, "SAMLResponse").unwrap().1);
}

async fn bad_input_refused(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let post = |v: String| {
        let c = c.clone();
        let u = app.url("/saml/sso");
        async move { c.post(u).form(&[("SAMLRequest", v)]).send().await.unwrap() }
    };
    let ok = sp.authn_request(&app, "_x", "");
    let cases: Vec<(&str, String)> = vec![
        (
            "dtd",
            ok.replace(
                "<samlp:AuthnRequest",
                "<!DOCTYPE x [<!ENTITY a \"b\">]><samlp:AuthnRequest",
            ),
        ),
        (
            "namespace",
            ok.replace("SAML:2.0:protocol", "SAML:2.0:protocolX"),
        ),
        (
            "duplicate id",
            ok.replace("<saml:Issuer>", "<saml:Issuer ID=\"_x\">"),
        ),
        ("not xml", "<samlp:AuthnRequest".into()),
        (
            "unknown issuer",
            ok.replace(&sp.entity_id, "https://nobody.example.com/sp"),
        ),
    ];
    for (what, xml) in cases {
        let res = post(B64.encode(xml)).await;
        assert_eq!(res.status(), 400, "{what}");
        assert!(
            !res.text().await.unwrap().contains("SAMLResponse"),
            "{what}"
        );
    }
    assert_eq!(post("!!!not base64!!!".into()).await.status(), 400);
    let big = post(B64.encode(vec![b' '; 70 * 1024]))
        .await
        .status()
        .as_u16();
    assert!(big == 400 || big == 413, "oversized: {big}");
    // A deflate bomb over Redirect stops at the cap.
    let bomb = {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'<'; 8 * 1024 * 1024]).unwrap();
        B64.encode(e.finish().unwrap())
    };
    let q: String = url::form_urlencoded::byte_serialize(bomb.as_bytes()).collect();
    let res = c
        .get(app.url(&format!("/saml/sso?SAMLRequest={q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "deflate bomb");
    // Signature wrapping: the signature of a genuine request moved to the root of a
    // forged one, the genuine request tucked into Extensions (the signature still
    // verifies, but it does not cover the root).
    let sp2 = TestSp::new("wrapped");
    register(&app, &sp2, true, |_| {}).await;
    let signed = sp2.sign_enveloped(&sp2.authn_request(&app, "_inner", ""));
    let signed = match signed.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim(),
        None => signed.as_str(),
    };
    let sig_start = signed.find("<ds:Signature").unwrap();
    let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &signed[sig_start..sig_end];
    let inner = format!("{}{}", &signed[..sig_start], &signed[sig_end..]);
    let outer = sp2
        .authn_request(
            &app,
            "_outer",
            "AssertionConsumerServiceURL=\"https://evil.example.com/acs\"",
        )
        .replace(
            "</saml:Issuer>",
            &format!(
                "</saml:Issuer>{sig}<samlp:Extensions>{}</samlp:Extensions>",
                inner.trim()
            ),
        );
    let res = post(B64.encode(&outer)).await;
    assert_eq!(res.status(), 400, "wrapping: {outer}");
    let body = res.text().await.unwrap();
    assert!(body.contains("does not cover the message"), "{body}");
    // Browsers get a localised page.
    let res = c
        .get(app.url("/saml/sso?SAMLRequest=%25%25"))
        .header("accept", "text/html")
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("シングルサインオンの要求が正しくありません"));
    // Expired SP metadata is not registered.
    let old = TestSp::new("old");
    let md = old.metadata(false, "HTTP-Redirect").replacen(
        "entityID=",
        "validUntil=\"2001-01-01T00:00:00Z\" entityID=",
        1,
    );
    let err = monban::clients::saml::register(&app.state, &md, Default::default())
        .await
        .unwrap_err();
    assert!(err.detail.contains("expired"), "{}", err.detail);
    // Still alive.
    assert_eq!(
        c.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );
}

async fn idp_initiated_only_when_enabled(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let sp2 = TestSp::new("sp2");
    register(&app, &sp2, false, |s| s.idp_initiated = true).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let res = c
        .get(app.url(&format!("/saml/idp-initiated?sp={}", enc(&sp.entity_id))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let url = app.url(&format!(
        "/saml/idp-initiated?sp={}&RelayState=home",
        enc(&sp2.entity_id)
    ));
    let (_, html) = page(&app, &c, &url, false).await;
    let (action, resp, rs) = form(&html, "SAMLResponse").unwrap();
    assert_eq!(action, sp2.acs);
    assert_eq!(rs.as_deref(), Some("home"));
    let xml = verified_response(&app, &resp);
    assert!(element_attr(&xml, "Response", "InResponseTo").is_none());
}

async fn locked_user_gets_no_assertion(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let u = app
        .state
        .store
        .find_user_by_login(app.state.org.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    use monban::clock::Clock;
    app.state
        .store
        .lock_user(u.id, None, app.clock.now())
        .await
        .unwrap();
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_l", ""),
        None,
        false,
    );
    let html = c.get(url).send().await.unwrap().text().await.unwrap();
    let (_, resp, _) = form(&html, "SAMLResponse").unwrap();
    let xml = String::from_utf8(B64.decode(resp).unwrap()).unwrap();
    assert!(
        xml.contains("status:RequestDenied") && !xml.contains("Assertion"),
        "{xml}"
    );
}

/// The pre-SSO gate applies to SAML as to OIDC: a password change an admin asked
/// for comes before any assertion; the request waits and resumes afterwards.
async fn password_change_request_comes_before_the_assertion(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let u = app
        .state
        .store
        .find_user_by_login(app.state.org.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    let (s, _) = app
        .admin()
        .await
        .post(
            "/password-change-requests",
            serde_json::json!({ "user_ids": [u.id] }),
        )
        .await;
    assert_eq!(s, 200);
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_pw", ""),
        None,
        false,
    );
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/account/password?return_to=%2Fsaml%2Fcontinue"),
        "{to}"
    );
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("SAMLResponse"),
        "no assertion before the change"
    );
}

on_both_backends!(
    metadata_is_complete,
    sp_initiated_sso_issues_a_strict_response,
    form_post_csp_allows_only_the_acs,
    encrypted_assertion_for_the_sp_key,
    signed_requests_required_and_verified,
    acs_checked_against_metadata,
    replayed_request_refused,
    passive_and_forced_authn,
    bad_input_refused,
    name_id_policy_and_authn_context,
    idp_initiated_only_when_enabled,
    locked_user_gets_no_assertion,
    password_change_request_comes_before_the_assertion,
    service_providers_through_the_admin_api,
    redirect_signature_covers_what_is_used,
    post_binding_fields_parsed_once,
    name_id_format_from_the_metadata,
    readonly_support_grant_says_so,
);

fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Issue 13: the Redirect signature is checked over the very query pairs whose values
/// are used. An unsigned `SAML%52equest` (or a second RelayState) next to a genuinely
/// signed query used to be answered: a forged AuthnRequest got a signed Response sent
/// to another ACS, and the RelayState could be swapped.
async fn redirect_signature_covers_what_is_used(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, true, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let genuine = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_genuine", ""),
        Some("rs-1"),
        true,
    );
    let (base, query) = genuine.split_once('?').unwrap();
    let forged = sp.authn_request(
        &app,
        "_forged",
        &format!("AssertionConsumerServiceURL=\"{}2\"", sp.acs),
    );
    let forged = enc(&monban::saml::xml::encode_redirect(&forged));
    for attack in [
        format!("{base}?SAML%52equest={forged}&{query}"),
        format!("{base}?{query}&SAML%52equest={forged}"),
        format!("{base}?%53AMLRequest={forged}&{query}"),
        format!("{base}?SAMLRequest={forged}&{query}"),
        format!("{base}?SAML%52equest={forged}&RelayState=x&SigAlg=y&Signature=z"),
        format!("{base}?Relay%53tate=evil&{query}"),
        format!("{base}?RelayState=evil&{query}"),
        format!("{base}?{query}&RelayState=evil"),
        format!("{base}?{query}&Sig%41lg=x"),
        format!("{base}?{query}&SAMLResponse=x"),
    ] {
        let res = c.get(&attack).send().await.unwrap();
        let status = res.status().as_u16();
        let html = res.text().await.unwrap();
        assert!(
            form(&html, "SAMLResponse").is_none(),
            "answered: {attack}\n{html}"
        );
        assert_eq!(status, 400, "{attack}: {html}");
    }
    // The genuine query itself is answered, to the ACS it names, with its RelayState.
    let (status, html) = page(&app, &c, &genuine, false).await;
    assert_eq!(status, 200, "{html}");
    let (action, resp, rs) = form(&html, "SAMLResponse").unwrap();
    assert_eq!(
        (action.as_str(), rs.as_deref()),
        (sp.acs.as_str(), Some("rs-1"))
    );
    let xml = verified_response(&app, &resp);
    assert!(xml.contains("InResponseTo=\"_genuine\""), "{xml}");
}

/// The HTTP-POST binding goes through the same parser: duplicated or encoded
/// protocol fields are refused instead of one of them being taken silently.
async fn post_binding_fields_parsed_once(backend: Backend) {
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    register(&app, &sp, false, |_| {}).await;
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let signed = enc(&B64.encode(sp.sign_enveloped(&sp.authn_request(&app, "_p1", ""))));
    let forged = enc(&B64.encode(sp.authn_request(
        &app,
        "_p2",
        &format!("AssertionConsumerServiceURL=\"{}2\"", sp.acs),
    )));
    let post = |body: String| {
        let c = c.clone();
        let url = app.url("/saml/sso");
        async move {
            let res = c
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    for attack in [
        format!("SAMLRequest={forged}&SAMLRequest={signed}"),
        format!("SAMLRequest={signed}&SAML%52equest={forged}"),
        format!("SAML%52equest={forged}"),
        format!("SAMLRequest={signed}&RelayState=a&RelayState=b"),
        format!("SAMLRequest={signed}&Relay%53tate=a"),
    ] {
        let (status, html) = post(attack.clone()).await;
        assert!(form(&html, "SAMLResponse").is_none(), "{attack}\n{html}");
        assert_eq!(status, 400, "{attack}: {html}");
    }
    let (status, html) = post(format!("SAMLRequest={signed}&RelayState=r%20s")).await;
    assert_eq!(status, 200, "{html}");
    let (action, _, rs) = form(&html, "SAMLResponse").unwrap();
    assert_eq!(
        (action.as_str(), rs.as_deref()),
        (sp.acs.as_str(), Some("r s"))
    );
}

/// The NameID format a new SP gets when the operator names none.
async fn registered_format(
    app: &TestApp,
    name: &str,
    declared: &[&str],
    explicit: Option<&str>,
) -> String {
    let sp = TestSp::new(name);
    let decl: String = declared
        .iter()
        .map(|f| format!("<md:NameIDFormat>{f}</md:NameIDFormat>"))
        .collect();
    let xml = sp.metadata(false, "HTTP-Redirect").replace(
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>",
        &decl,
    );
    let s = monban::clients::saml::SpSettings {
        name_id_format: explicit.map(str::to_string),
        ..Default::default()
    };
    monban::clients::saml::register(&app.state, &xml, s)
        .await
        .unwrap()
        .name_id_format
}

/// Issue 12: `saml-sp add` takes the NameIDFormat the SP's metadata declares when the
/// operator names none (mod_auth_mellon declares transient and asks for it).
async fn name_id_format_from_the_metadata(backend: Backend) {
    let Some((app, _)) = setup(backend).await else {
        return;
    };
    let t = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
    let e = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    let u = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
    assert_eq!(registered_format(&app, "f1", &[t], None).await, "transient");
    assert_eq!(
        registered_format(&app, "f2", &[u, e, t], None).await,
        "email"
    );
    assert_eq!(registered_format(&app, "f3", &[], None).await, "persistent");
    assert_eq!(
        registered_format(&app, "f4", &["urn:example:other"], None).await,
        "persistent"
    );
    assert_eq!(
        registered_format(&app, "f5", &[t], Some("persistent")).await,
        "persistent"
    );
    // Such an SP asking for what it declared signs in.
    let sp = TestSp::new("f1"); // a new key: the request goes unsigned
    let c = app.client();
    app.login(&c, "alice@example.com", PW).await;
    let xml = sp.authn_request(&app, "_f1", "").replace(
        "</samlp:AuthnRequest>",
        &format!("<samlp:NameIDPolicy Format=\"{t}\" AllowCreate=\"true\"/></samlp:AuthnRequest>"),
    );
    let url = sp.redirect(&app, "/saml/sso", &xml, None, false);
    let (status, html) = page(&app, &c, &url, false).await;
    assert_eq!(status, 200, "{html}");
    let xml = verified_response(&app, &form(&html, "SAMLResponse").unwrap().1);
    assert_eq!(
        element_attr(&xml, "NameID", "Format").as_deref(),
        Some(t),
        "{xml}"
    );
}

/// Issue 13: an assertion issued under a read-only support grant says so (as the
/// impersonator attribute says who acts); the user's own assertions do not.
async fn readonly_support_grant_says_so(backend: Backend) {
    use monban::clock::Clock;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let pw = mfa_support::PW;
    app.create_user("customer@example.com", pw).await;
    let user_browser = app.client();
    assert_eq!(
        app.login(&user_browser, "customer@example.com", pw)
            .await
            .status(),
        303
    );
    let engineer_browser = app.client();
    let (engineer, _, _) =
        mfa_support::enrolled_user(&app, &engineer_browser, "engineer@example.com").await;
    app.state
        .store
        .update_user_profile(engineer.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    let sp = TestSp::new("sp-ro");
    register(&app, &sp, false, |_| {}).await;
    let assertion_for = |browser: reqwest::Client, id: &'static str| {
        let url = sp.redirect(
            &app,
            "/saml/sso",
            &sp.authn_request(&app, id, ""),
            None,
            false,
        );
        let app = &app;
        async move {
            let Err((200, html)) = app.browse(&browser, &url, None, false).await else {
                panic!("SAML response page expected")
            };
            verified_response(app, &form(&html, "SAMLResponse").unwrap().1)
        }
    };
    let own = assertion_for(user_browser.clone(), "_own").await;
    assert!(!own.contains("support-readonly"), "{own}");
    let token = app.csrf(&user_browser, "/account/support-grants").await;
    let r = user_browser
        .post(app.url("/account/support-grants"))
        .header("accept", "application/json")
        .form(&[("csrf_token", token.as_str()), ("readonly", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let g: serde_json::Value = r.json().await.unwrap();
    let link = g["link"].as_str().unwrap().to_string();
    let html = engineer_browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::extract_csrf(&html).unwrap();
    let r = engineer_browser
        .post(&link)
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let xml = assertion_for(engineer_browser.clone(), "_ro").await;
    assert!(xml.contains("urn:monban:attribute:impersonator"), "{xml}");
    assert!(
        xml.contains("urn:monban:attribute:support-readonly") && xml.contains(">true<"),
        "{xml}"
    );
}

/// `/admin/v1/saml/service-providers`: register from metadata, list, and disable (no
/// more assertions).
async fn service_providers_through_the_admin_api(backend: Backend) {
    use monban::clock::Clock;
    let Some((app, sp)) = setup(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let (s, v) = admin
        .post(
            "/saml/service-providers",
            serde_json::json!({"metadata": sp.metadata(false, "HTTP-Redirect"), "name": "Expense"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["entity_id"], sp.entity_id.as_str());
    assert_eq!(
        admin
            .post(
                "/saml/service-providers",
                serde_json::json!({"metadata": sp.metadata(false, "HTTP-Redirect")})
            )
            .await
            .0,
        409
    );
    let (s, e) = admin
        .post(
            "/saml/service-providers",
            serde_json::json!({"metadata": "<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, list) = admin.get("/saml/service-providers").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Roles are released as the multi-valued `groups` (isMemberOf) attribute.
    let alice = app
        .state
        .store
        .find_user_by_login(app.state.org.id, "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    app.state
        .store
        .update_user_profile(alice.id, None, None, Some("support"), app.clock.now())
        .await
        .unwrap();
    let c = app.client();
    let xml = sso(&app, &sp, &c, "_adm1").await;
    assert!(
        xml.contains("urn:oid:1.3.6.1.4.1.5923.1.5.1.1") && xml.contains(">support<"),
        "{xml}"
    );
    let q: String = url::form_urlencoded::byte_serialize(sp.entity_id.as_bytes()).collect();
    assert_eq!(
        admin
            .delete(&format!("/saml/service-providers?entity_id={q}"))
            .await
            .0,
        204
    );
    assert_eq!(
        admin
            .delete(&format!("/saml/service-providers?entity_id={q}"))
            .await
            .0,
        404
    );
    let url = sp.redirect(
        &app,
        "/saml/sso",
        &sp.authn_request(&app, "_adm2", ""),
        None,
        false,
    );
    let (status, html) = page(&app, &c, &url, false).await;
    assert_eq!(status, 400, "a disabled SP gets an error page: {html}");
    assert!(form(&html, "SAMLResponse").is_none());
}
