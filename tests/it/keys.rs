//! Keys: generated once with safe permissions, reused, rotated publish-before-use.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use chrono::Duration;
use common::{Backend, TestDb};
use monban::clock::Clock;
use monban::clock::FakeClock;
use monban::keys::{Alg, KeyManager};

fn cfg() -> (TestDb, monban::Config) {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut cfg = db.config();
    cfg.keys.publish_before_use_secs = 600;
    cfg.tokens.access_token_ttl_secs = 300;
    cfg.tokens.id_token_ttl_secs = 900;
    (db, cfg)
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

#[test]
fn keys_are_generated_once_with_private_permissions_and_reused() {
    let (_db, cfg) = cfg();
    let clock = Arc::new(FakeClock::starting_now());
    let km = KeyManager::open(&cfg, clock.clone()).unwrap();
    let first: Vec<String> = km
        .current()
        .keys
        .iter()
        .map(|k| k.entry.kid.clone())
        .collect();
    assert_eq!(first.len(), 3);
    assert_eq!(km.current().saml.len(), 1);
    let dir = &cfg.keys.dir;
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let e = entry.unwrap();
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", e.file_name());
    }
    let saml = &km.current().saml[0];
    assert!(saml.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    drop(km);

    let again = KeyManager::open(&cfg, clock).unwrap();
    let second: Vec<String> = again
        .current()
        .keys
        .iter()
        .map(|k| k.entry.kid.clone())
        .collect();
    assert_eq!(first, second, "restart reuses the keys");
    // RS256 key is RSA-2048.
    let jwks: serde_json::Value =
        serde_json::from_slice(&again.current().jwks(chrono::Utc::now()).body).unwrap();
    let rsa = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .unwrap();
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        rsa["n"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(n.len() * 8, 2048);
}

#[test]
fn rotation_publishes_before_use_and_retires_after_the_longest_token() {
    let (_db, cfg) = cfg();
    let clock = FakeClock::starting_now();
    let km = KeyManager::open(&cfg, Arc::new(clock.clone())).unwrap();
    let old = kid_of(
        &km.sign_jwt(Alg::RS256, "JWT", &serde_json::json!({"a": 1}))
            .unwrap(),
    );
    let etag_before = km.current().jwks(clock.now()).etag;

    let added = KeyManager::rotate(&cfg, Arc::new(clock.clone())).unwrap();
    assert_eq!(added.len(), 4, "RS256, ES256, EdDSA and SAML");
    let new = added.iter().find(|k| k.alg == "RS256").unwrap().kid.clone();
    // The manifest changed on disk: the running manager picks it up.
    assert!(km.reload_if_changed().unwrap());

    // Published at once…
    let jwks = km.current().jwks(clock.now());
    assert_ne!(jwks.etag, etag_before);
    let body = String::from_utf8(jwks.body.to_vec()).unwrap();
    assert!(body.contains(&old) && body.contains(&new));
    // …but not used to sign yet.
    assert_eq!(
        kid_of(
            &km.sign_jwt(Alg::RS256, "JWT", &serde_json::json!({}))
                .unwrap()
        ),
        old
    );
    assert_eq!(
        km.current().saml_published(clock.now()).count(),
        2,
        "metadata shows old and new"
    );

    clock.advance(Duration::seconds(601));
    assert_eq!(
        kid_of(
            &km.sign_jwt(Alg::RS256, "JWT", &serde_json::json!({}))
                .unwrap()
        ),
        new
    );
    // The old key stays published while tokens it signed may still be valid (900 s)…
    clock.advance(Duration::seconds(890));
    assert!(
        String::from_utf8(km.current().jwks(clock.now()).body.to_vec())
            .unwrap()
            .contains(&old)
    );
    // …and is gone after.
    clock.advance(Duration::seconds(20));
    let body = String::from_utf8(km.current().jwks(clock.now()).body.to_vec()).unwrap();
    assert!(!body.contains(&old) && body.contains(&new));

    // The next rotation removes retired keys' files.
    let old_file = cfg.keys.dir.join(format!("{old}.pem"));
    assert!(old_file.exists());
    KeyManager::rotate(&cfg, Arc::new(clock.clone())).unwrap();
    assert!(!old_file.exists());
}

#[test]
fn unwritable_keys_dir_is_a_clear_error_and_writes_nothing() {
    let (db, mut cfg) = cfg();
    let blocker = db.dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"file").unwrap();
    cfg.keys.dir = blocker.join("keys");
    let err = KeyManager::open(&cfg, Arc::new(FakeClock::starting_now()))
        .err()
        .expect("fails");
    let msg = err.to_string();
    assert!(
        msg.contains("keys directory") && msg.contains("not-a-dir"),
        "{msg}"
    );
}

#[test]
fn a_damaged_key_file_is_named() {
    let (_db, cfg) = cfg();
    let km = KeyManager::open(&cfg, Arc::new(FakeClock::starting_now())).unwrap();
    let kid = km.current().keys[0].entry.kid.clone();
    drop(km);
    std::fs::write(
        cfg.keys.dir.join(format!("{kid}.pem")),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = KeyManager::open(&cfg, Arc::new(FakeClock::starting_now()))
        .err()
        .expect("fails");
    assert!(err.to_string().contains(&kid), "{err}");
}
