//! Signing keys: generated into `keys.dir` on first start (files mode 0600), reused on
//! restart, rotated by `monban keys rotate`.
//!
//! Layout of the keys dir:
//! - `manifest.json` — every key with its id, algorithm, file and time window; written
//!   last and atomically, so a crash mid-generation leaves the previous state intact;
//! - `<kid>.pem` — PKCS#8 private keys (RS256 / ES256 / EdDSA);
//! - `saml-<kid>.key.pem`, `saml-<kid>.crt.pem` — the SAML signing key and its
//!   self-signed certificate;
//! - `master.key` — 32 random bytes from which local secrets are derived (CSRF …).
//!
//! Rotation publishes a new key in the JWKS at once but signs with it only after
//! `keys.publish_before_use_secs`; the key it replaces keeps being published until
//! the longest token lifetime has passed after that.

pub mod jws;
pub mod secrets;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::config::Config;
pub use jws::{Alg, KeyError, SigningKey};
pub use secrets::Secrets;

const MANIFEST: &str = "manifest.json";
const MASTER: &str = "master.key";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyEntry {
    pub kid: String,
    /// `RS256`, `ES256`, `EdDSA`, or `SAML` (RSA-SHA256 for XML signatures).
    pub alg: String,
    pub file: String,
    /// Certificate file (SAML keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Signs from this time on; published from `created_at`.
    pub not_before: DateTime<Utc>,
    /// No longer published (nor used) from this time on.
    #[serde(default)]
    pub retire_after: Option<DateTime<Utc>>,
}

impl KeyEntry {
    fn published(&self, now: DateTime<Utc>) -> bool {
        self.retire_after.is_none_or(|t| t > now)
    }
    fn usable(&self, now: DateTime<Utc>) -> bool {
        self.not_before <= now && self.published(now)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Manifest {
    pub keys: Vec<KeyEntry>,
}

pub struct LoadedKey {
    pub entry: KeyEntry,
    pub key: SigningKey,
    pub jwk: serde_json::Value,
    /// Parsed once for verifying tokens this key signed.
    pub decoding: jsonwebtoken::DecodingKey,
}

pub struct SamlKey {
    pub entry: KeyEntry,
    /// PKCS#8 PEM of the RSA private key.
    pub key_pem: String,
    /// PEM of the self-signed certificate.
    pub cert_pem: String,
    /// DER of the certificate (for metadata `ds:X509Certificate`).
    pub cert_der: Vec<u8>,
}

/// The keys loaded from one manifest version.
pub struct KeySet {
    pub keys: Vec<LoadedKey>,
    pub saml: Vec<SamlKey>,
    mtime: Option<SystemTime>,
    jwks_cache: ArcSwap<JwksCache>,
}

struct JwksCache {
    kids: Vec<String>,
    body: bytes::Bytes,
    etag: String,
}

/// The JWKS document, pre-serialised, with its ETag.
#[derive(Clone)]
pub struct Jwks {
    pub body: bytes::Bytes,
    pub etag: String,
}

impl KeySet {
    /// The key `alg` signs with now: the newest usable one.
    pub fn signing_key(&self, alg: Alg, now: DateTime<Utc>) -> Option<&LoadedKey> {
        self.keys
            .iter()
            .filter(|k| k.key.alg() == alg && k.entry.usable(now))
            .max_by_key(|k| k.entry.not_before)
    }

    pub fn saml_signing_key(&self, now: DateTime<Utc>) -> Option<&SamlKey> {
        self.saml
            .iter()
            .filter(|k| k.entry.usable(now))
            .max_by_key(|k| k.entry.not_before)
    }

    /// SAML certificates to publish in metadata (current and next during rotation).
    pub fn saml_published(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SamlKey> {
        self.saml.iter().filter(move |k| k.entry.published(now))
    }

    /// A key that is still published (tokens it signed may still be valid).
    pub fn find_published(&self, kid: &str, now: DateTime<Utc>) -> Option<&LoadedKey> {
        self.keys
            .iter()
            .find(|k| k.entry.kid == kid && k.entry.published(now))
    }

    /// The JWKS for `now`: every published key. Served from bytes built once per change.
    pub fn jwks(&self, now: DateTime<Utc>) -> Jwks {
        let kids: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| k.entry.published(now))
            .map(|k| k.entry.kid.as_str())
            .collect();
        let cached = self.jwks_cache.load();
        if cached
            .kids
            .iter()
            .map(String::as_str)
            .eq(kids.iter().copied())
            && !cached.etag.is_empty()
        {
            return Jwks {
                body: cached.body.clone(),
                etag: cached.etag.clone(),
            };
        }
        let jwks: Vec<&serde_json::Value> = self
            .keys
            .iter()
            .filter(|k| k.entry.published(now))
            .map(|k| &k.jwk)
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "keys": jwks })).unwrap_or_default();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body);
        let etag = format!(
            "\"{}\"",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &digest.as_ref()[..16]
            )
        );
        let fresh = JwksCache {
            kids: kids.iter().map(|s| s.to_string()).collect(),
            body: bytes::Bytes::from(body),
            etag,
        };
        let out = Jwks {
            body: fresh.body.clone(),
            etag: fresh.etag.clone(),
        };
        self.jwks_cache.store(Arc::new(fresh));
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("keys directory {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("key file {path}: {message}")]
    Bad { path: PathBuf, message: String },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeysError {
    KeysError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Owns the keys dir and the currently loaded [`KeySet`].
pub struct KeyManager {
    dir: PathBuf,
    publish_before_use: Duration,
    longest_lifetime: Duration,
    clock: SharedClock,
    current: ArcSwap<KeySet>,
    secrets: Secrets,
}

impl KeyManager {
    /// Opens the keys dir, generating the initial keys (and the master secret) if there
    /// are none, and loads them.
    pub fn open(cfg: &Config, clock: SharedClock) -> Result<KeyManager, KeysError> {
        let dir = cfg.keys.dir.clone();
        ensure_dir(&dir)?;
        let _lock = DirLock::acquire(&dir)?;
        let master = load_or_create_master(&dir)?;
        let mut manifest = read_manifest(&dir)?;
        if manifest.keys.is_empty() {
            let now = clock.now();
            manifest = Manifest::default();
            for alg in Alg::ALL {
                manifest.keys.push(generate_jwk_key(&dir, alg, now, now)?);
            }
            manifest.keys.push(generate_saml_key(&dir, cfg, now, now)?);
            write_manifest(&dir, &manifest)?;
            tracing::info!(dir = %dir.display(), "generated signing keys");
        }
        let set = load_set(&dir)?;
        Ok(KeyManager {
            dir,
            publish_before_use: Duration::seconds(cfg.keys.publish_before_use_secs),
            longest_lifetime: Duration::seconds(cfg.tokens.longest_signed_lifetime_secs()),
            clock,
            current: ArcSwap::from_pointee(set),
            secrets: Secrets::derive(&master),
        })
    }

    pub fn current(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }

    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reloads the manifest if another process (e.g. `monban keys rotate`) changed it.
    pub fn reload_if_changed(&self) -> Result<bool, KeysError> {
        let mtime = manifest_mtime(&self.dir);
        if mtime.is_some() && mtime == self.current.load().mtime {
            return Ok(false);
        }
        let set = load_set(&self.dir)?;
        self.current.store(Arc::new(set));
        Ok(true)
    }

    /// Signs claims with the current key for `alg`; returns the compact JWS and its kid.
    pub fn sign_jwt<T: Serialize>(
        &self,
        alg: Alg,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        let set = self.current.load();
        let k = set
            .signing_key(alg, self.clock.now())
            .ok_or_else(|| KeyError::Rejected(format!("no usable {} key", alg.as_str())))?;
        jws::sign_compact(&k.key, &k.entry.kid, typ, claims)
    }

    /// Adds a new key per algorithm (and a SAML key), published now and used after
    /// `publish_before_use`; schedules the retirement of the keys they replace and
    /// removes keys whose retirement has passed.
    pub fn rotate(cfg: &Config, clock: SharedClock) -> Result<Vec<KeyEntry>, KeysError> {
        let dir = cfg.keys.dir.clone();
        ensure_dir(&dir)?;
        let _lock = DirLock::acquire(&dir)?;
        let mut manifest = read_manifest(&dir)?;
        let now = clock.now();
        let not_before = now + Duration::seconds(cfg.keys.publish_before_use_secs);
        let retire = not_before + Duration::seconds(cfg.tokens.longest_signed_lifetime_secs());
        // Drop what has been retired already.
        let (keep, gone): (Vec<_>, Vec<_>) =
            manifest.keys.into_iter().partition(|k| k.published(now));
        manifest.keys = keep;
        let mut added = Vec::new();
        for alg in Alg::ALL.iter().map(|a| a.as_str()).chain(["SAML"]) {
            for k in manifest
                .keys
                .iter_mut()
                .filter(|k| k.alg == alg && k.retire_after.is_none())
            {
                k.retire_after = Some(retire);
            }
            let entry = match Alg::parse(alg) {
                Some(a) => generate_jwk_key(&dir, a, now, not_before)?,
                None => generate_saml_key(&dir, cfg, now, not_before)?,
            };
            added.push(entry.clone());
            manifest.keys.push(entry);
        }
        write_manifest(&dir, &manifest)?;
        for k in gone {
            let _ = fs::remove_file(dir.join(&k.file));
            if let Some(c) = &k.cert_file {
                let _ = fs::remove_file(dir.join(c));
            }
        }
        Ok(added)
    }

    pub fn publish_before_use(&self) -> Duration {
        self.publish_before_use
    }

    pub fn longest_lifetime(&self) -> Duration {
        self.longest_lifetime
    }
}

fn ensure_dir(dir: &Path) -> Result<(), KeysError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, format!("cannot create: {e}")))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_err(dir, e))?;
    }
    if !dir.is_dir() {
        return Err(io_err(dir, "is not a directory"));
    }
    Ok(())
}

/// An exclusive lock on the keys dir for generation and rotation (other processes wait).
struct DirLock(#[allow(dead_code)] File);

impl DirLock {
    fn acquire(dir: &Path) -> Result<DirLock, KeysError> {
        let path = dir.join(".lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io_err(dir, format!("not writable ({e})")))?;
        f.lock().map_err(|e| io_err(&path, e))?;
        Ok(DirLock(f))
    }
}

/// Writes `data` to `dir/name` with mode 0600 through a temporary file and a rename,
/// so that a reader never sees half a file.
fn write_secret_file(dir: &Path, name: &str, data: &[u8]) -> Result<(), KeysError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err(dir, format!("not writable ({e})")))?;
    f.write_all(data).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
    Ok(())
}

fn load_or_create_master(dir: &Path) -> Result<Vec<u8>, KeysError> {
    let path = dir.join(MASTER);
    if path.exists() {
        let data = fs::read(&path).map_err(|e| io_err(&path, e))?;
        if data.len() != 32 {
            return Err(KeysError::Bad {
                path,
                message: "must hold exactly 32 bytes".into(),
            });
        }
        return Ok(data);
    }
    let mut key = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| io_err(dir, "random generator failed"))?;
    write_secret_file(dir, MASTER, &key)?;
    Ok(key)
}

fn read_manifest(dir: &Path) -> Result<Manifest, KeysError> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(Manifest::default());
    }
    let data = fs::read(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_slice(&data).map_err(|e| KeysError::Bad {
        path,
        message: e.to_string(),
    })
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), KeysError> {
    let data = serde_json::to_vec_pretty(m).map_err(|e| io_err(dir, e))?;
    write_secret_file(dir, MANIFEST, &data)
}

fn manifest_mtime(dir: &Path) -> Option<SystemTime> {
    fs::metadata(dir.join(MANIFEST))
        .and_then(|m| m.modified())
        .ok()
}

fn generate_jwk_key(
    dir: &Path,
    alg: Alg,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<KeyEntry, KeysError> {
    let (key, der) = SigningKey::generate(alg).map_err(|e| io_err(dir, e))?;
    let kid = key.thumbprint();
    let file = format!("{kid}.pem");
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    write_secret_file(dir, &file, pem.as_bytes())?;
    Ok(KeyEntry {
        kid,
        alg: alg.as_str().into(),
        file,
        cert_file: None,
        created_at: now,
        not_before,
        retire_after: None,
    })
}

fn generate_saml_key(
    dir: &Path,
    cfg: &Config,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<KeyEntry, KeysError> {
    let (key, der) = SigningKey::generate(Alg::RS256).map_err(|e| io_err(dir, e))?;
    let kid = key.thumbprint();
    let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    let kp = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| io_err(dir, format!("SAML key: {e}")))?;
    let host = url::Url::parse(cfg.issuer())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "monban".into());
    let mut params = rcgen::CertificateParams::new(vec![host.clone()])
        .map_err(|e| io_err(dir, format!("SAML certificate: {e}")))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("Monban SAML signing ({host})"),
    );
    use chrono::Datelike;
    let y = now.year();
    params.not_before = rcgen::date_time_ymd(y, now.month() as u8, now.day() as u8);
    params.not_after = rcgen::date_time_ymd(y + 10, now.month() as u8, 1);
    let cert = params
        .self_signed(&kp)
        .map_err(|e| io_err(dir, format!("SAML certificate: {e}")))?;
    let file = format!("saml-{kid}.key.pem");
    let cert_file = format!("saml-{kid}.crt.pem");
    write_secret_file(dir, &file, key_pem.as_bytes())?;
    write_secret_file(dir, &cert_file, cert.pem().as_bytes())?;
    Ok(KeyEntry {
        kid,
        alg: "SAML".into(),
        file,
        cert_file: Some(cert_file),
        created_at: now,
        not_before,
        retire_after: None,
    })
}

fn read_pem(path: &Path, tag: &str) -> Result<(String, Vec<u8>), KeysError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let p = pem::parse(&text).map_err(|e| KeysError::Bad {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if p.tag() != tag {
        return Err(KeysError::Bad {
            path: path.to_path_buf(),
            message: format!("expected a {tag} PEM block"),
        });
    }
    Ok((text, p.into_contents()))
}

fn load_set(dir: &Path) -> Result<KeySet, KeysError> {
    let mtime = manifest_mtime(dir);
    let manifest = read_manifest(dir)?;
    let mut keys = Vec::new();
    let mut saml = Vec::new();
    for entry in manifest.keys {
        let path = dir.join(&entry.file);
        let (key_pem, der) = read_pem(&path, "PRIVATE KEY")?;
        if entry.alg == "SAML" {
            let cert_path = dir.join(entry.cert_file.as_deref().unwrap_or_default());
            let (cert_pem, cert_der) = read_pem(&cert_path, "CERTIFICATE")?;
            // Parse the key once to be sure it is a usable RSA key.
            SigningKey::from_pkcs8(Alg::RS256, &der).map_err(|e| KeysError::Bad {
                path: path.clone(),
                message: e.to_string(),
            })?;
            saml.push(SamlKey {
                entry,
                key_pem,
                cert_pem,
                cert_der,
            });
            continue;
        }
        let alg = Alg::parse(&entry.alg).ok_or_else(|| KeysError::Bad {
            path: dir.join(MANIFEST),
            message: format!("unknown algorithm {}", entry.alg),
        })?;
        let key = SigningKey::from_pkcs8(alg, &der).map_err(|e| KeysError::Bad {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let jwk = key.public_jwk(&entry.kid);
        let decoding = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk.clone())
            .ok()
            .and_then(|j| jsonwebtoken::DecodingKey::from_jwk(&j).ok())
            .ok_or_else(|| KeysError::Bad {
                path: path.clone(),
                message: "public key cannot be used for verification".into(),
            })?;
        keys.push(LoadedKey {
            entry,
            key,
            jwk,
            decoding,
        });
    }
    Ok(KeySet {
        keys,
        saml,
        mtime,
        jwks_cache: ArcSwap::from_pointee(JwksCache {
            kids: Vec::new(),
            body: bytes::Bytes::new(),
            etag: String::new(),
        }),
    })
}
