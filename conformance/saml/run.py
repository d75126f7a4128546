"""Drives a running Monban with pysaml2 as a strict SAML 2.0 service provider.

    python run.py setup WORKDIR   # SP keys, certificates and metadata (before the server starts)
    python run.py test WORKDIR    # the checks (MONBAN, USER_EMAIL, USER_PASSWORD in the environment)

The SP is pysaml2's Saml2Client, configured strictly: signed Responses and signed
Assertions required, unsolicited Responses refused, Recipient checked (conv_info),
SHA-1 refused (a hook in front of pysaml2's signature check, which accepts SHA-1 by
itself). Its ACS URLs are never contacted: the browser here is `requests`, and the
auto-submit form Monban renders is read and its SAMLResponse handed to pysaml2.
"""

import base64
import html.parser
import logging
import os
import sys
import traceback
import urllib.parse
import zlib

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
import datetime

import saml2
import saml2.sigver
import saml2.time_util
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

SP_BASE = "http://127.0.0.1:9"  # never contacted
# pysaml2 logs every refusal (with xmlsec1's output) at ERROR: the negative checks
# would read like failures. Our own lines say what passed and failed.
logging.getLogger("saml2").setLevel(logging.CRITICAL)
SHA256_ONLY_SIG = {SIG_RSA_SHA256}
SHA256_ONLY_DIGEST = {DIGEST_SHA256}

# ---------------------------------------------------------------- strictness hook

_orig_check = saml2.sigver.SecurityContext._check_signature


def _strict_check(self, decoded_xml, item, node_name, origdoc=None, must=False, only_valid_cert=False, issuer=None):
    sig = getattr(item, "signature", None)
    if sig is not None:
        si = sig.signed_info
        if si.signature_method.algorithm not in SHA256_ONLY_SIG:
            raise saml2.sigver.SignatureError(f"signature algorithm {si.signature_method.algorithm} refused")
        for ref in si.reference:
            if ref.digest_method.algorithm not in SHA256_ONLY_DIGEST:
                raise saml2.sigver.SignatureError(f"digest algorithm {ref.digest_method.algorithm} refused")
    return _orig_check(self, decoded_xml, item, node_name, origdoc, must, only_valid_cert, issuer)


saml2.sigver.SecurityContext._check_signature = _strict_check

# ---------------------------------------------------------------- SP setup


def make_key(work, name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    kf, cf = os.path.join(work, f"{name}.key"), os.path.join(work, f"{name}.crt")
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    with open(cf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return kf, cf


def sp_config(work, name, idp_metadata=None, signed=True, nameid=NAMEID_FORMAT_PERSISTENT):
    kf, cf = os.path.join(work, f"{name}.key"), os.path.join(work, f"{name}.crt")
    conf = {
        "entityid": f"{SP_BASE}/{name}/metadata",
        "key_file": kf,
        "cert_file": cf,
        "encryption_keypairs": [{"key_file": kf, "cert_file": cf}],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "crypto_backend": "xmlsec1",
        "accepted_time_diff": 0,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(f"{SP_BASE}/{name}/acs", BINDING_HTTP_POST)],
                    "single_logout_service": [(f"{SP_BASE}/{name}/slo", BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": signed,
                "logout_requests_signed": True,
                "logout_responses_signed": True,
                "want_response_signed": True,
                "want_assertions_signed": True,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": False,
                "name_id_format": nameid,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
        "allow_unknown_attributes": True,
    }
    if idp_metadata:
        conf["metadata"] = {"local": [idp_metadata]}
    c = SPConfig()
    c.load(conf)
    return c


def setup(work):
    for name, signed in (("sp1", True), ("sp2", False), ("sp3", True), ("stranger", True)):
        make_key(work, name)
        md = create_metadata_string(None, config=sp_config(work, name, signed=signed), valid=24)
        with open(os.path.join(work, f"{name}.xml"), "wb") as f:
            f.write(md)


# ---------------------------------------------------------------- browser helpers


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def parse_form(text):
    p = FormParser()
    p.feed(text)
    return p.action, p.fields


class Run:
    def __init__(self, work):
        self.work = work
        self.base = os.environ["MONBAN"]
        self.email = os.environ["USER_EMAIL"]
        self.password = os.environ["USER_PASSWORD"]
        self.passed = self.failed = 0
        md = requests.get(self.base + "/saml/metadata", timeout=10)
        md.raise_for_status()
        self.metadata = md.text
        self.idp_md = os.path.join(work, "idp.xml")
        with open(self.idp_md, "w") as f:
            f.write(self.metadata)
        self.idp = f"{self.base}/saml/metadata"

    def check(self, name, fn):
        try:
            fn()
            self.passed += 1
            print(f"ok   {name}")
        except Exception as e:  # noqa: BLE001
            self.failed += 1
            print(f"FAIL {name}: {e}")
            traceback.print_exc(limit=3)

    def client(self, name, **kw):
        return Saml2Client(config=sp_config(self.work, name, self.idp_md, **kw))

    def follow_to_page(self, s, url):
        """GETs url, follows Monban-local redirects, signs in when the login page shows."""
        logged_in = False
        for _ in range(10):
            r = s.get(url, allow_redirects=False, timeout=10)
            loc = r.headers.get("location")
            if loc:
                url = urllib.parse.urljoin(self.base + "/", loc)
                if not url.startswith(self.base):
                    return r, url
                continue
            if r.url.startswith(self.base + "/login") and not logged_in:
                _, fields = parse_form(r.text)
                fields.update(username=self.email, password=self.password)
                r = s.post(self.base + "/login", data=fields, allow_redirects=False, timeout=10)
                assert r.status_code == 303, f"login failed: {r.status_code}"
                logged_in = True
                url = urllib.parse.urljoin(self.base + "/", r.headers["location"])
                continue
            return r, None
        raise AssertionError("too many redirects")

    def login(self, cl, s, relay="rs-123", **kw):
        reqid, info = cl.prepare_for_authenticate(
            entityid=self.idp, relay_state=relay, binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, **kw
        )
        url = dict(info["headers"])["Location"]
        r, outside = self.follow_to_page(s, url)
        assert outside is None, f"unexpected redirect to {outside}"
        assert r.status_code == 200, f"status {r.status_code}: {r.text[:300]}"
        action, fields = parse_form(r.text)
        assert "SAMLResponse" in fields, f"no SAMLResponse in page: {r.text[:300]}"
        return reqid, url, action, fields, r

    def parse(self, cl, reqid, fields):
        return cl.parse_authn_request_response(
            fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={reqid: "/"}, conv_info={"remote_addr": "127.0.0.1"}
        )

    # ------------------------------------------------------------ checks

    def metadata_validates(self):
        import xmlschema

        import onelogin.saml2 as ol

        schemas = os.path.join(os.path.dirname(ol.__file__), "schemas")
        schema = xmlschema.XMLSchema(
            [os.path.join(schemas, "saml-schema-metadata-2.0.xsd"), os.path.join(schemas, "sstc-saml-metadata-ui-v1.0.xsd")]
        )
        schema.validate(self.idp_md)
        for needle in ("validUntil=", "cacheDuration=", "errorURL=", "IDPSSODescriptor", "use=\"signing\""):
            assert needle in self.metadata, needle

    def sso_redirect_strict(self):
        cl, s = self.client("sp1"), requests.Session()
        reqid, url, action, fields, page = self.login(cl, s)
        assert action == f"{SP_BASE}/sp1/acs", action
        assert fields.get("RelayState") == "rs-123", fields.get("RelayState")
        csp = page.headers.get("content-security-policy", "")
        assert "form-action http://127.0.0.1:9" in csp, csp
        resp = self.parse(cl, reqid, fields)
        assert resp is not None, "pysaml2 refused the response"
        assert resp.in_response_to == reqid
        assert resp.response.destination == f"{SP_BASE}/sp1/acs"
        assert resp.assertion.conditions.audience_restriction[0].audience[0].text == cl.config.entityid
        conf = resp.assertion.subject.subject_confirmation[0].subject_confirmation_data
        assert conf.recipient == f"{SP_BASE}/sp1/acs" and conf.in_response_to == reqid
        assert resp.response.signature is not None and resp.assertion.signature is not None
        assert resp.name_id.format == NAMEID_FORMAT_PERSISTENT
        assert "@" not in resp.name_id.text
        ava = resp.get_identity()
        assert ava.get("mail") == [self.email], ava
        assert ava.get("displayName") == ["Conformance User"], ava
        classes = [a[0] for a in resp.authn_info()]
        assert classes == ["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"], classes
        self.sp1 = (cl, s, url, resp)

    def replayed_request_refused(self):
        _, s, url, _ = self.sp1
        r = s.get(url, allow_redirects=False, timeout=10)
        assert r.status_code == 400 and "SAMLResponse" not in r.text, r.status_code

    def tampered_response_refused(self):
        cl, s = self.client("sp1"), requests.Session()
        reqid, _, _, fields, _ = self.login(cl, s)
        xml = base64.b64decode(fields["SAMLResponse"]).decode()
        forged = xml.replace(self.email, "mallory@example.com")
        assert forged != xml
        try:
            resp = self.parse(cl, reqid, {"SAMLResponse": base64.b64encode(forged.encode()).decode()})
        except Exception:  # noqa: BLE001
            resp = None
        assert resp is None, "a modified response was accepted"

    def expired_response_refused(self):
        cl, s = self.client("sp1"), requests.Session()
        reqid, _, _, fields, _ = self.login(cl, s)
        real = saml2.time_util.utc_now
        saml2.time_util.utc_now = lambda: real() + 600
        try:
            try:
                resp = self.parse(cl, reqid, fields)
            except Exception:  # noqa: BLE001
                resp = None
        finally:
            saml2.time_util.utc_now = real
        assert resp is None, "an expired response was accepted"
        assert self.parse(cl, reqid, fields) is not None, "the same response in its window"

    def unsigned_requests_allowed_sp_transient(self):
        cl, s = self.client("sp2", signed=False, nameid=NAMEID_FORMAT_TRANSIENT), requests.Session()
        reqid, _, action, fields, _ = self.login(cl, s, sign=False)
        assert action == f"{SP_BASE}/sp2/acs"
        resp = self.parse(cl, reqid, fields)
        assert resp is not None and resp.name_id.format == NAMEID_FORMAT_TRANSIENT

    def encrypted_assertion(self):
        cl, s = self.client("sp3"), requests.Session()
        reqid, _, _, fields, _ = self.login(cl, s)
        xml = base64.b64decode(fields["SAMLResponse"]).decode()
        assert "EncryptedAssertion" in xml and "aes256-gcm" in xml and "rsa-oaep" in xml
        assert self.email not in xml, "attributes visible in clear"
        resp = self.parse(cl, reqid, fields)
        assert resp is not None, "pysaml2 refused the encrypted response"
        assert resp.get_identity().get("mail") == [self.email]
        assert resp.assertion.signature is not None, "the decrypted assertion is signed"

    def slo_sp_initiated(self, binding):
        cl, s = self.client("sp1"), requests.Session()
        reqid, _, _, fields, _ = self.login(cl, s)
        resp = self.parse(cl, reqid, fields)
        out = cl.do_logout(
            resp.name_id, [self.idp], "", None, sign=True, expected_binding=binding, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
        )
        got_binding, info = out[self.idp]
        assert got_binding == binding, got_binding
        if binding == BINDING_HTTP_REDIRECT:
            r = s.get(dict(info["headers"])["Location"], allow_redirects=False, timeout=10)
        else:
            action, data = parse_form(info["data"])
            r = s.post(action, data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 302, f"{r.status_code} {r.text[:300]}"
        loc = r.headers["location"]
        assert loc.startswith(f"{SP_BASE}/sp1/slo?"), loc
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
        assert q["SigAlg"] == SIG_RSA_SHA256
        idp_cert = cl.metadata.certs(self.idp, "idpsso", "signing")[0][1]
        assert saml2.sigver.verify_redirect_signature(q, cl.sec.sec_backend, cert=idp_cert), "LogoutResponse signature"
        lr = cl.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
        assert lr is not None and lr.status_ok(), "LogoutResponse status"
        r = s.get(self.base + "/account", allow_redirects=False, timeout=10)
        assert r.status_code == 303, "the Monban session should have ended"

    def slo_idp_initiated(self):
        cl, s = self.client("sp1"), requests.Session()
        reqid, _, _, fields, _ = self.login(cl, s)
        resp = self.parse(cl, reqid, fields)
        page = s.get(self.base + "/logout", timeout=10)
        _, form = parse_form(page.text)
        r = s.post(self.base + "/logout", data={"csrf_token": form["csrf_token"]}, allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.status_code
        loc = r.headers["location"]
        assert loc.startswith(f"{SP_BASE}/sp1/slo?"), loc
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
        idp_cert = cl.metadata.certs(self.idp, "idpsso", "signing")[0][1]
        assert saml2.sigver.verify_redirect_signature(q, cl.sec.sec_backend, cert=idp_cert), "LogoutRequest signature"
        info = cl.handle_logout_request(
            q["SAMLRequest"],
            resp.name_id,
            BINDING_HTTP_REDIRECT,
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            relay_state=q.get("RelayState"),
            sigalg=q["SigAlg"],
            signature=q["Signature"],
        )
        back = dict(info["headers"])["Location"]
        assert back.startswith(self.base + "/saml/slo"), back
        r = s.get(back, allow_redirects=False, timeout=10)
        assert r.status_code == 200, f"{r.status_code} {r.text[:200]}"
        r = s.get(self.base + "/account", allow_redirects=False, timeout=10)
        assert r.status_code == 303

    def refused(self, url, s=None):
        r = (s or requests.Session()).get(url, allow_redirects=False, timeout=10)
        assert r.status_code == 400, f"status {r.status_code}"
        assert "location" not in r.headers and "SAMLResponse" not in r.text

    def request_url(self, cl, **kw):
        _, info = cl.prepare_for_authenticate(
            entityid=self.idp, relay_state="x", binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, **kw
        )
        return dict(info["headers"])["Location"]

    def unknown_sp(self):
        self.refused(self.request_url(self.client("stranger")))

    def wrong_acs(self):
        self.refused(self.request_url(self.client("sp1"), assertion_consumer_service_url=f"{SP_BASE}/evil/acs"))

    def unsigned_where_required(self):
        self.refused(self.request_url(self.client("sp1"), sign=False))

    def tampered_signature(self):
        url = self.request_url(self.client("sp1"))
        parts = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qsl(parts.query)
        q = [(k, (v[:-6] + ("AAAAAA" if not v.endswith("AAAAAA") else "BBBBBB")) if k == "Signature" else v) for k, v in q]
        self.refused(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q))))

    def tampered_request(self):
        url = self.request_url(self.client("sp1"))
        parts = urllib.parse.urlsplit(url)
        q = dict(urllib.parse.parse_qsl(parts.query))
        xml = zlib.decompress(base64.b64decode(q["SAMLRequest"]), -15).decode()
        xml = xml.replace(f"{SP_BASE}/sp1/acs", f"{SP_BASE}/sp1/acs2")
        c = zlib.compressobj(wbits=-15)
        q["SAMLRequest"] = base64.b64encode(c.compress(xml.encode()) + c.flush()).decode()
        self.refused(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q))))


def main():
    cmd, work = sys.argv[1], sys.argv[2]
    if cmd == "setup":
        setup(work)
        return 0
    r = Run(work)
    r.check("metadata validates against the SAML 2.0 metadata XSD", r.metadata_validates)
    r.check("SP-initiated SSO (Redirect, signed) -> strict signed Response", r.sso_redirect_strict)
    if hasattr(r, "sp1"):
        r.check("replayed AuthnRequest refused", r.replayed_request_refused)
    r.check("modified Response refused by the SP", r.tampered_response_refused)
    r.check("Response outside its validity window refused", r.expired_response_refused)
    r.check("unsigned requests where allowed; transient NameID", r.unsigned_requests_allowed_sp_transient)
    r.check("encrypted Assertion (AES-256-GCM, RSA-OAEP) decrypted and verified by the SP", r.encrypted_assertion)
    r.check("SP-initiated SLO over Redirect", lambda: r.slo_sp_initiated(BINDING_HTTP_REDIRECT))
    r.check("SP-initiated SLO over POST", lambda: r.slo_sp_initiated(BINDING_HTTP_POST))
    r.check("IdP-initiated SLO on browser logout (front-channel)", r.slo_idp_initiated)
    r.check("unknown SP refused", r.unknown_sp)
    r.check("ACS URL not in metadata refused (no redirect)", r.wrong_acs)
    r.check("unsigned AuthnRequest refused where signing is required", r.unsigned_where_required)
    r.check("tampered request signature refused", r.tampered_signature)
    r.check("modified signed request refused", r.tampered_request)
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
