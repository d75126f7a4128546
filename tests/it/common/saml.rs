//! SAML test helpers: a service provider with its own RSA key and certificate that
//! writes metadata, AuthnRequests and LogoutRequests (Redirect with query
//! signatures, POST with enveloped signatures), and readers for Monban's answers.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::traits::ToXml;

use super::{Backend, TestApp};

pub const SIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

pub struct TestSp {
    pub entity_id: String,
    pub acs: String,
    pub slo: String,
    pub key: PKey<Private>,
    pub cert_der: Vec<u8>,
}

fn self_signed() -> (PKey<Private>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "test sp").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build().to_der().unwrap())
}

pub fn now_instant(app: &TestApp) -> String {
    use monban::clock::Clock;
    app.clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl TestSp {
    pub fn new(name: &str) -> TestSp {
        let (key, cert_der) = self_signed();
        TestSp {
            entity_id: format!("https://{name}.example.com/sp"),
            acs: format!("https://{name}.example.com/acs"),
            slo: format!("https://{name}.example.com/slo"),
            key,
            cert_der,
        }
    }

    pub fn metadata(&self, authn_requests_signed: bool, slo_binding: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{e}">
  <md:SPSSODescriptor AuthnRequestsSigned="{s}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:{slo_binding}" Location="{slo}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}2" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"#,
            e = self.entity_id,
            s = authn_requests_signed,
            c = B64.encode(&self.cert_der),
            slo = self.slo,
            acs = self.acs,
        )
    }

    /// An AuthnRequest; `attrs` are extra attributes on the root element.
    pub fn authn_request(&self, app: &TestApp, id: &str, attrs: &str) -> String {
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{t}" Destination="{d}" {attrs}><saml:Issuer>{e}</saml:Issuer></samlp:AuthnRequest>"#,
            t = now_instant(app),
            d = app.url("/saml/sso"),
            e = self.entity_id,
        )
    }

    pub fn logout_request(&self, app: &TestApp, id: &str, name_id: &str, index: &str) -> String {
        format!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{t}" Destination="{d}"><saml:Issuer>{e}</saml:Issuer><saml:NameID>{name_id}</saml:NameID><samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"#,
            t = now_instant(app),
            d = app.url("/saml/slo"),
            e = self.entity_id,
        )
    }

    /// The HTTP-Redirect URL for a message, signed by this SP when `sign`.
    pub fn redirect(
        &self,
        app: &TestApp,
        path: &str,
        xml: &str,
        relay: Option<&str>,
        sign: bool,
    ) -> String {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let mut q = format!(
            "SAMLRequest={}",
            enc(&monban::saml::xml::encode_redirect(xml))
        );
        if let Some(r) = relay {
            q.push_str(&format!("&RelayState={}", enc(r)));
        }
        if sign {
            q.push_str(&format!("&SigAlg={}", enc(SIG_RSA_SHA256)));
            let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key).unwrap();
            s.update(q.as_bytes()).unwrap();
            let sig = s.sign_to_vec().unwrap();
            q.push_str(&format!("&Signature={}", enc(&B64.encode(sig))));
        }
        format!("{}?{q}", app.url(path))
    }

    /// Adds an enveloped RSA-SHA256 signature after the Issuer.
    pub fn sign_enveloped(&self, xml: &str) -> String {
        let id_start = xml.find(" ID=\"").unwrap() + 5;
        let id = &xml[id_start..id_start + xml[id_start..].find('"').unwrap()];
        let mut t = samael::signature::Signature::template(
            id,
            &CertificateDer::from(self.cert_der.clone()),
        );
        for r in &mut t.signed_info.reference {
            r.digest_method.algorithm = samael::signature::DigestAlgorithm::Sha256;
        }
        let t = t.to_string().unwrap();
        let at = xml.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
        let with = format!("{}{}{}", &xml[..at], t, &xml[at..]);
        let der = self.key.private_key_to_der().unwrap();
        Crypto::sign_xml(with, &der).unwrap()
    }
}

/// Registers an SP through the same code path as `monban saml-sp add`.
pub async fn register(
    app: &TestApp,
    sp: &TestSp,
    signed: bool,
    tweak: impl FnOnce(&mut monban::clients::saml::SpSettings),
) {
    let mut s = monban::clients::saml::SpSettings::default();
    tweak(&mut s);
    monban::clients::saml::register(&app.state, &sp.metadata(signed, "HTTP-Redirect"), s)
        .await
        .expect("register SP");
}

/// The auto-submit form of a page: (action, field value, RelayState).
pub fn form(html: &str, field: &str) -> Option<(String, String, Option<String>)> {
    let marker = "action=\"";
    let start = html.find(marker)? + marker.len();
    let action = html[start..start + html[start..].find('"')?].replace("&amp;", "&");
    let value = super::extract_hidden(html, field)?;
    Some((action, value, super::extract_hidden(html, "RelayState")))
}

/// The IdP's current SAML certificate.
pub fn idp_cert(app: &TestApp) -> CertificateDer {
    use monban::clock::Clock;
    let keys = app.state.keys.current();
    CertificateDer::from(
        keys.saml_signing_key(app.clock.now())
            .unwrap()
            .cert_der
            .clone(),
    )
}

/// Decodes a Response and checks its Response-level signature; returns the XML.
pub fn verified_response(app: &TestApp, b64: &str) -> String {
    let xml = String::from_utf8(B64.decode(b64).unwrap()).unwrap();
    Crypto::verify_signed_xml(&xml, &idp_cert(app), Some("ID"))
        .unwrap_or_else(|e| panic!("response signature: {e:?}\n{xml}"));
    xml
}

/// The text of the first element with this local name.
pub fn element_text(xml: &str, local: &str) -> Option<String> {
    let doc = libxml::parser::Parser::default().parse_string(xml).ok()?;
    let mut stack = vec![doc.get_root_element()?];
    while let Some(n) = stack.pop() {
        if n.get_name() == local {
            return Some(n.get_content());
        }
        let mut kids = n.get_child_elements();
        kids.reverse();
        stack.extend(kids);
    }
    None
}

/// An attribute of the first element with this local name.
pub fn element_attr(xml: &str, local: &str, attr: &str) -> Option<String> {
    let doc = libxml::parser::Parser::default().parse_string(xml).ok()?;
    let mut stack = vec![doc.get_root_element()?];
    while let Some(n) = stack.pop() {
        if n.get_name() == local {
            return n.get_attribute(attr);
        }
        let mut kids = n.get_child_elements();
        kids.reverse();
        stack.extend(kids);
    }
    None
}

pub const PW: &str = "correct horse battery staple";

pub async fn setup(backend: Backend) -> Option<(TestApp, TestSp)> {
    let app = TestApp::spawn(backend).await?;
    app.create_user("alice@example.com", PW).await;
    let sp = TestSp::new("sp1");
    Some((app, sp))
}

/// Follows a browser from `url` (signing in if asked) to the page Monban shows.
pub async fn page(app: &TestApp, c: &reqwest::Client, url: &str, login: bool) -> (u16, String) {
    let creds = login.then_some(("alice@example.com", PW));
    match app.browse(c, url, creds, false).await {
        Ok(outside) => panic!("redirected outside Monban: {outside}"),
        Err(page) => page,
    }
}

/// SP-initiated SSO over Redirect; returns the verified Response XML.
pub async fn sso(app: &TestApp, sp: &TestSp, c: &reqwest::Client, id: &str) -> String {
    let url = sp.redirect(
        app,
        "/saml/sso",
        &sp.authn_request(app, id, ""),
        Some("rs-1"),
        true,
    );
    let (status, html) = page(app, c, &url, true).await;
    assert_eq!(status, 200, "{html}");
    let (action, resp, rs) = form(&html, "SAMLResponse").expect("auto-submit form");
    assert_eq!(action, sp.acs);
    assert_eq!(rs.as_deref(), Some("rs-1"));
    verified_response(app, &resp)
}
