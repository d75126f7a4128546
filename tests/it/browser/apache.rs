//! Apache httpd as a real relying party: its own ServerRoot in a temp dir, a free
//! port on 127.0.0.1 (reached by the browser as `localhost`, another site than
//! Monban's `127.0.0.1`), mod_auth_openidc or mod_auth_mellon protecting `/protected/`,
//! and an SSI page there that prints what the module passed to the app.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::harness::{free_port, wait_for_port, Proc};

pub const MODULES: &str = "/usr/lib/apache2/modules";

pub struct Apache {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _proc: Proc,
}

/// The page behind the module: the OIDC claims / SAML attributes the app received.
const PROTECTED_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test app</title><link rel="icon" href="data:,"></head>
<body><h1>Test app</h1>
<p>User: <span id="user"><!--#echo var="REMOTE_USER" --></span></p>
<p>OIDC email: <span id="oidc-email"><!--#echo var="OIDC_CLAIM_email" --></span></p>
<p>OIDC sub: <span id="oidc-sub"><!--#echo var="OIDC_CLAIM_sub" --></span></p>
<p>OIDC acr: <span id="oidc-acr"><!--#echo var="OIDC_CLAIM_acr" --></span></p>
<p>OIDC access token: <span id="oidc-at"><!--#echo var="OIDC_access_token" --></span></p>
<p>SAML email: <span id="saml-email"><!--#echo var="MELLON_email" --></span></p>
<p>SAML name: <span id="saml-name"><!--#echo var="MELLON_name" --></span></p>
<p>SAML NameID: <span id="saml-nameid"><!--#echo var="MELLON_NAME_ID" --></span></p>
</body></html>
"#;

const LOGGED_OUT_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title><link rel="icon" href="data:,"></head>
<body><h1 id="rp-logged-out">Signed out of the test app</h1></body></html>
"#;

impl Drop for Apache {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("apache error log:\n{}", self.error_log());
        }
    }
}

impl Apache {
    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Starts httpd with `module_conf` (LoadModule line and directives; `@PORT@` and
    /// `@DIR@` are replaced) and waits until it listens.
    pub async fn start(port: u16, dir: tempfile::TempDir, module_conf: &str) -> Apache {
        let d = dir.path();
        std::fs::create_dir_all(d.join("htdocs/protected")).unwrap();
        std::fs::create_dir_all(d.join("run")).unwrap();
        std::fs::write(d.join("htdocs/protected/index.shtml"), PROTECTED_PAGE).unwrap();
        std::fs::write(d.join("htdocs/loggedout.html"), LOGGED_OUT_PAGE).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            // Workers run as www-data: they must read the tree (and mellon's keys).
            let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(d).status();
            let _ = Command::new("chown")
                .args(["-R", "www-data:www-data"])
                .arg(d.join("run"))
                .status();
        }
        let user = if root {
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let conf = format!(
            r#"ServerRoot "{d}"
ServerName localhost
Listen 127.0.0.1:{port}
PidFile "{d}/httpd.pid"
DefaultRuntimeDir "{d}/run"
ErrorLog "{d}/error.log"
LogLevel info
{user}LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule authn_core_module {m}/mod_authn_core.so
LoadModule authz_user_module {m}/mod_authz_user.so
LoadModule mime_module {m}/mod_mime.so
LoadModule include_module {m}/mod_include.so
LoadModule dir_module {m}/mod_dir.so
TypesConfig /etc/mime.types
DocumentRoot "{d}/htdocs"
DirectoryIndex index.shtml index.html
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory "{d}/htdocs">
  Options +Includes
  Require all granted
</Directory>
{module}
"#,
            d = d.display(),
            m = MODULES,
            module = module_conf
                .replace("@PORT@", &port.to_string())
                .replace("@DIR@", &d.display().to_string()),
        );
        let conf_path: PathBuf = d.join("httpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let proc = Proc {
            child: Command::new("/usr/sbin/apache2")
                .arg("-f")
                .arg(&conf_path)
                .arg("-DFOREGROUND")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("apache2 starts"),
            what: "apache2",
        };
        wait_for_port(port, "apache2").await;
        Apache {
            port,
            dir,
            _proc: proc,
        }
    }

    /// A port and a directory for [`Apache::start`] (the port must be known first to
    /// register the client or SP with it).
    pub fn prepare() -> (u16, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (free_port(), dir)
    }
}

/// mod_auth_openidc as a confidential client with PKCE (S256), server-side sessions
/// (needed for back-channel logout), claims passed to the app as environment.
pub fn openidc_conf(issuer: &str, client_id: &str, client_secret: &str) -> String {
    format!(
        r#"LoadModule auth_openidc_module {m}/mod_auth_openidc.so
OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {client_secret}
OIDCRedirectURI http://localhost:@PORT@/protected/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCResponseType code
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCSessionType server-cache
OIDCCacheType shm
OIDCPassClaimsAs environment
OIDCRemoteUserClaim email
OIDCDefaultLoggedOutURL http://localhost:@PORT@/loggedout.html
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
"#,
        m = MODULES,
        passphrase = uuid::Uuid::new_v4().simple(),
    )
}

/// A self-signed RSA-2048 certificate and key (PEM) for the SAML SP.
pub fn sp_key_and_cert() -> (String, String) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    (
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        String::from_utf8(cert.to_pem().unwrap()).unwrap(),
    )
}

/// mod_auth_mellon's SP metadata: signed AuthnRequests, HTTP-POST ACS, HTTP-Redirect
/// SLO, at `http://localhost:<port>/mellon/…`.
pub fn mellon_sp_metadata(port: u16, cert_pem: &str, name_id_format: &str) -> String {
    let cert_b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let base = format!("http://localhost:{port}/mellon");
    format!(
        r#"<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{base}/metadata">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{base}/logout"/>
    <NameIDFormat>{name_id_format}</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{base}/postResponse" index="0" isDefault="true"/>
  </SPSSODescriptor>
</EntityDescriptor>
"#
    )
}

/// mod_auth_mellon protecting `/protected/`, Monban's metadata in `idp-metadata.xml`,
/// the SP's in `sp-metadata.xml`, key and certificate beside them; email and name
/// passed to the app as `MELLON_email` and `MELLON_name`.
pub fn mellon_conf() -> String {
    format!(
        r#"LoadModule auth_mellon_module {m}/mod_auth_mellon.so
<Location />
  MellonEndpointPath /mellon
  MellonSPMetadataFile "@DIR@/sp-metadata.xml"
  MellonSPPrivateKeyFile "@DIR@/sp-key.pem"
  MellonSPCertFile "@DIR@/sp-cert.pem"
  MellonIdPMetadataFile "@DIR@/idp-metadata.xml"
  MellonSignatureMethod rsa-sha256
  # The Response arrives by a cross-site POST: the cookie must be SameSite=None,
  # hence Secure (browsers keep Secure cookies for http://localhost).
  MellonSecureCookie On
  MellonCookieSameSite None
  MellonSetEnv email urn:oid:0.9.2342.19200300.100.1.3
  MellonSetEnv name urn:oid:2.16.840.1.113730.3.1.241
</Location>
<Location /protected>
  AuthType Mellon
  MellonEnable auth
  Require valid-user
</Location>
"#,
        m = MODULES,
    )
}
