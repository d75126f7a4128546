//! The OIDC store on both dialects: clients, token families, authorization codes and
//! refresh tokens (each spent once, replays told apart from unknown values), revoked
//! and used JWT ids, consents and the clients a session took part with.

use chrono::Duration;
use monban::store::oidc::*;
use monban::store::StoreError;
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    clients_round_trip_unique_and_disable_revokes_grants,
    families_revoke_once_and_by_session,
    auth_codes_are_spent_once_by_their_client,
    issuing_a_code_writes_all_or_nothing,
    refresh_tokens_are_spent_once,
    jtis_revoked_and_assertions_single_use,
    consents_upsert_and_session_clients_deduplicate,
);

async fn clients_round_trip_unique_and_disable_revokes_grants(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let t = now();
    let a = fx::client(org, "rp-a", t);
    let mut bb = fx::client(org, "rp-b", t + Duration::seconds(1));
    bb.kind = "public".into();
    bb.secret_hash = None;
    bb.jwks = Some(r#"{"keys":[]}"#.into());
    bb.first_party = true;
    bb.requires_admin_approval = true;
    s.insert_client(&a).await.unwrap();
    s.insert_client(&bb).await.unwrap();
    assert_eq!(s.get_client("rp-a").await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_client("rp-b").await.unwrap(), Some(bb.clone()));
    assert!(s.get_client("nope").await.unwrap().is_none());
    assert_eq!(
        s.list_clients(org).await.unwrap(),
        vec![a.clone(), bb.clone()]
    );
    assert!(s.list_clients(Uuid::new_v4()).await.unwrap().is_empty());
    let dup = fx::client(org, "rp-a", t);
    assert!(matches!(
        s.insert_client(&dup).await,
        Err(StoreError::Conflict(_))
    ));

    let t2 = t + Duration::minutes(1);
    assert!(s.set_client_secret("rp-a", &[9, 9], t2).await.unwrap());
    assert!(!s.set_client_secret("nope", &[9], t2).await.unwrap());
    let got = s.get_client("rp-a").await.unwrap().unwrap();
    assert_eq!((got.secret_hash, got.updated_at), (Some(vec![9, 9]), t2));

    let u = fx::user(&s, org, "u@example.com").await;
    let f1 = fx::family("rp-a", u.id, None, false);
    let f2 = fx::family("rp-a", u.id, None, true);
    let other = fx::family("rp-b", u.id, None, false);
    for f in [&f1, &f2, &other] {
        s.insert_family(f).await.unwrap();
    }
    assert!(s.disable_client("rp-a", t2).await.unwrap());
    assert!(
        !s.disable_client("rp-a", t2).await.unwrap(),
        "disabled already"
    );
    assert!(!s.disable_client("nope", t2).await.unwrap());
    assert!(s.get_client("rp-a").await.unwrap().unwrap().disabled);
    for f in [&f1, &f2] {
        let g = s.get_family(f.id).await.unwrap().unwrap();
        assert_eq!(g.revoked_at, Some(t2), "offline grants too");
        assert_eq!(g.revoked_reason.as_deref(), Some("client_disabled"));
    }
    assert!(s
        .get_family(other.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
}

async fn families_revoke_once_and_by_session(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let s1 = Uuid::new_v4();
    let s2 = Uuid::new_v4();
    let mut on_s1 = fx::family("rp", u.id, Some(s1), false);
    on_s1.claims = Some(r#"{"id_token":{"acr":null}}"#.into());
    on_s1.impersonator_id = Some(Uuid::new_v4());
    let offline_s1 = fx::family("rp", u.id, Some(s1), true);
    let on_s2 = fx::family("rp", u.id, Some(s2), false);
    let unrelated = fx::family("rp", u.id, None, false);
    for f in [&on_s1, &offline_s1, &on_s2, &unrelated] {
        s.insert_family(f).await.unwrap();
    }
    assert_eq!(s.get_family(on_s1.id).await.unwrap(), Some(on_s1.clone()));
    assert!(s.get_family(Uuid::new_v4()).await.unwrap().is_none());
    assert!(matches!(
        s.insert_family(&on_s1).await,
        Err(StoreError::Conflict(_))
    ));

    let t = now();
    let n = s
        .revoke_families_for_sessions(&[s1, s2], t, "logout")
        .await
        .unwrap();
    assert_eq!(n, 2, "session-bound ones only");
    assert!(s
        .get_family(offline_s1.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert_eq!(
        s.revoke_families_for_sessions(&[s1, s2], t, "logout")
            .await
            .unwrap(),
        0
    );
    let g = s.get_family(on_s2.id).await.unwrap().unwrap();
    assert_eq!(
        (g.revoked_at, g.revoked_reason.as_deref()),
        (Some(t), Some("logout"))
    );

    assert!(s.revoke_family(unrelated.id, t, "revoked").await.unwrap());
    assert!(!s.revoke_family(unrelated.id, t, "again").await.unwrap());
    assert!(!s.revoke_family(Uuid::new_v4(), t, "x").await.unwrap());
    assert_eq!(
        s.get_family(unrelated.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_reason
            .as_deref(),
        Some("revoked"),
        "the first reason stays"
    );
}

fn code(hash: &[u8], family: Uuid, client: &str, user: Uuid, ttl: i64) -> AuthCode {
    let t = now();
    AuthCode {
        code_hash: hash.to_vec(),
        family_id: family,
        client_id: client.into(),
        user_id: user,
        session_id: Uuid::new_v4(),
        redirect_uri: "https://rp.example.com/cb".into(),
        redirect_uri_given: true,
        scope: "openid email".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        claims: None,
        auth_time: t,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        created_at: t,
        expires_at: t + Duration::seconds(ttl),
        used_at: None,
    }
}

async fn auth_codes_are_spent_once_by_their_client(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let f = fx::family("rp", u.id, None, false);
    s.insert_family(&f).await.unwrap();
    let c = code(b"code-1", f.id, "rp", u.id, 60);
    s.insert_auth_code(&c).await.unwrap();
    assert!(matches!(
        s.insert_auth_code(&c).await,
        Err(StoreError::Conflict(_))
    ));
    let t = now();
    // Another client's attempt neither spends nor reveals it.
    assert!(matches!(
        s.consume_auth_code(b"code-1", "intruder", t).await.unwrap(),
        Consumed::Unknown
    ));
    assert!(matches!(
        s.consume_auth_code(b"nope", "rp", t).await.unwrap(),
        Consumed::Unknown
    ));
    match s.consume_auth_code(b"code-1", "rp", t).await.unwrap() {
        Consumed::Fresh(got) => assert_eq!(
            got,
            AuthCode {
                used_at: Some(t),
                ..c.clone()
            }
        ),
        other => panic!("first use: {other:?}"),
    }
    match s.consume_auth_code(b"code-1", "rp", t).await.unwrap() {
        Consumed::Reused(got) => assert_eq!(got.used_at, Some(t), "the first use is kept"),
        other => panic!("second use: {other:?}"),
    }
    // Racing exchanges of one code: exactly one is fresh.
    let c2 = code(b"code-2", f.id, "rp", u.id, 60);
    s.insert_auth_code(&c2).await.unwrap();
    let fresh = fx::winners(8, || {
        let s = s.clone();
        async move {
            matches!(
                s.consume_auth_code(b"code-2", "rp", now()).await.unwrap(),
                Consumed::Fresh(_)
            )
        }
    })
    .await;
    assert_eq!(fresh, 1);
}

/// What an authorization writes (the grant, its code, the session's client list)
/// commits together: a code that cannot be written leaves no grant and no client.
async fn issuing_a_code_writes_all_or_nothing(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let session = fx::session(org, u.id, now());
    s.insert_session(&session).await.unwrap();
    let f = fx::family("rp", u.id, Some(session.id), false);
    let c = AuthCode {
        session_id: session.id,
        ..code(b"code-a", f.id, "rp", u.id, 60)
    };
    s.issue_code(&f, &c).await.unwrap();
    assert_eq!(s.get_family(f.id).await.unwrap(), Some(f.clone()));
    assert_eq!(
        s.list_session_clients(session.id).await.unwrap(),
        vec!["rp"]
    );
    assert!(matches!(
        s.consume_auth_code(b"code-a", "rp", now()).await.unwrap(),
        Consumed::Fresh(_)
    ));
    // Another client presenting the spent code learns nothing and sets off no
    // revocation: to it the code is unknown, not reused.
    assert!(matches!(
        s.consume_auth_code(b"code-a", "intruder", now())
            .await
            .unwrap(),
        Consumed::Unknown
    ));
    assert_eq!(s.get_family(f.id).await.unwrap().unwrap().revoked_at, None);
    // Another authorization whose code collides with it: nothing of it stays.
    let f2 = fx::family("rp2", u.id, Some(session.id), false);
    let c2 = AuthCode {
        session_id: session.id,
        ..code(b"code-a", f2.id, "rp2", u.id, 60)
    };
    assert!(s.issue_code(&f2, &c2).await.is_err());
    assert_eq!(s.get_family(f2.id).await.unwrap(), None);
    assert_eq!(
        s.list_session_clients(session.id).await.unwrap(),
        vec!["rp"]
    );
}

fn refresh(hash: &[u8], family: Uuid) -> RefreshToken {
    let t = now();
    RefreshToken {
        id: Uuid::new_v4(),
        token_hash: hash.to_vec(),
        family_id: family,
        client_id: "rp".into(),
        scope: "openid offline_access".into(),
        created_at: t,
        expires_at: t + Duration::days(30),
        used_at: None,
        replaced_by: None,
    }
}

async fn refresh_tokens_are_spent_once(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let f = fx::family("rp", u.id, None, true);
    s.insert_family(&f).await.unwrap();
    let r1 = refresh(b"rt-1", f.id);
    s.insert_refresh_token(&r1).await.unwrap();
    assert!(matches!(
        s.insert_refresh_token(&refresh(b"rt-1", f.id)).await,
        Err(StoreError::Conflict(_))
    ));
    // The family must exist (a foreign key on both dialects).
    assert!(s
        .insert_refresh_token(&refresh(b"rt-orphan", Uuid::new_v4()))
        .await
        .is_err());
    assert_eq!(
        s.find_refresh_token(b"rt-1").await.unwrap(),
        Some(r1.clone())
    );
    assert!(s.find_refresh_token(b"nope").await.unwrap().is_none());

    // Rotation: the old one is marked used with its successor, in one transaction.
    let t = now();
    let r1b = refresh(b"rt-1b", f.id);
    match s
        .rotate_refresh_token(b"rt-1", &r1b, t, t - Duration::seconds(10))
        .await
        .unwrap()
    {
        Rotation::Rotated(got) => assert_eq!(
            got,
            RefreshToken {
                used_at: Some(t),
                replaced_by: Some(r1b.id),
                ..r1.clone()
            }
        ),
        other => panic!("first use: {other:?}"),
    }
    let spent = s.find_refresh_token(b"rt-1").await.unwrap().unwrap();
    assert_eq!((spent.used_at, spent.replaced_by), (Some(t), Some(r1b.id)));
    // A retry within the window: the unused successor is retired, the new one stored.
    let r1c = refresh(b"rt-1c", f.id);
    let soon = t + Duration::seconds(5);
    assert!(matches!(
        s.rotate_refresh_token(b"rt-1", &r1c, soon, soon - Duration::seconds(10))
            .await
            .unwrap(),
        Rotation::Retried(_)
    ));
    let retired = s.find_refresh_token(b"rt-1b").await.unwrap().unwrap();
    assert_eq!(retired.used_at, Some(soon));
    assert!(s.find_refresh_token(b"rt-1c").await.unwrap().is_some());
    // Outside the window: a replay, nothing stored.
    let later = t + Duration::seconds(30);
    let r1d = refresh(b"rt-1d", f.id);
    match s
        .rotate_refresh_token(b"rt-1", &r1d, later, later - Duration::seconds(10))
        .await
        .unwrap()
    {
        Rotation::Reused(got) => assert_eq!(got.used_at, Some(t)),
        other => panic!("reuse: {other:?}"),
    }
    assert!(s.find_refresh_token(b"rt-1d").await.unwrap().is_none());
    // Within the window but the successor was used: a replay too.
    let r1e = refresh(b"rt-1e", f.id);
    s.rotate_refresh_token(b"rt-1c", &r1e, soon, soon)
        .await
        .unwrap();
    let r1f = refresh(b"rt-1f", f.id);
    assert!(matches!(
        s.rotate_refresh_token(b"rt-1", &r1f, soon, t)
            .await
            .unwrap(),
        Rotation::Reused(_)
    ));
    assert!(matches!(
        s.rotate_refresh_token(b"nope", &refresh(b"rt-x", f.id), t, t)
            .await
            .unwrap(),
        Rotation::Unknown
    ));
    // A failing insert of the successor leaves the old token unused.
    let r3 = refresh(b"rt-3", f.id);
    s.insert_refresh_token(&r3).await.unwrap();
    let clash = refresh(b"rt-1", f.id); // its hash is taken
    assert!(s.rotate_refresh_token(b"rt-3", &clash, t, t).await.is_err());
    assert_eq!(
        s.find_refresh_token(b"rt-3")
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
    let r2 = refresh(b"rt-2", f.id);
    s.insert_refresh_token(&r2).await.unwrap();
    let fid = f.id;
    let fresh = fx::winners(8, || {
        let s = s.clone();
        async move {
            let next = refresh(Uuid::new_v4().as_bytes(), fid);
            let t = now();
            matches!(
                s.rotate_refresh_token(b"rt-2", &next, t, t).await,
                Ok(Rotation::Rotated(_))
            )
        }
    })
    .await;
    assert_eq!(fresh, 1, "one rotation wins");
}

async fn jtis_revoked_and_assertions_single_use(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let exp = now() + Duration::hours(1);
    assert!(!s.is_jti_revoked("at-1").await.unwrap());
    s.revoke_jti("at-1", exp).await.unwrap();
    s.revoke_jti("at-1", exp).await.unwrap(); // idempotent
    assert!(s.is_jti_revoked("at-1").await.unwrap());
    assert!(!s.is_jti_revoked("at-2").await.unwrap());

    assert!(s.record_assertion_jti("jwt-1", exp).await.unwrap());
    assert!(
        !s.record_assertion_jti("jwt-1", exp).await.unwrap(),
        "replay"
    );
    let marker = format!("{FRESH_LOGIN_PREFIX}{}", Uuid::new_v4());
    assert!(s.record_assertion_jti(&marker, exp).await.unwrap());
    assert!(!s.record_assertion_jti(&marker, exp).await.unwrap());
    // The two tables are separate: a revoked access token id is not a used assertion.
    assert!(s.record_assertion_jti("at-1", exp).await.unwrap());
    let won = fx::winners(8, || {
        let s = s.clone();
        async move { s.record_assertion_jti("jwt-race", exp).await.unwrap() }
    })
    .await;
    assert_eq!(won, 1);
}

async fn consents_upsert_and_session_clients_deduplicate(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let v = fx::user(&s, org, "v@example.com").await;
    let t = now();
    assert!(s.get_consent(u.id, "rp").await.unwrap().is_none());
    s.put_consent(u.id, "rp", "openid", t).await.unwrap();
    s.put_consent(u.id, "rp", "openid email", t).await.unwrap();
    s.put_consent(v.id, "rp", "openid profile", t)
        .await
        .unwrap();
    assert_eq!(
        s.get_consent(u.id, "rp").await.unwrap().as_deref(),
        Some("openid email")
    );
    assert_eq!(
        s.get_consent(v.id, "rp").await.unwrap().as_deref(),
        Some("openid profile")
    );
    assert!(s.get_consent(u.id, "other").await.unwrap().is_none());

    let sid = Uuid::new_v4();
    s.add_session_client(sid, "rp-b", t).await.unwrap();
    s.add_session_client(sid, "rp-a", t + Duration::seconds(1))
        .await
        .unwrap();
    s.add_session_client(sid, "rp-b", t + Duration::seconds(2))
        .await
        .unwrap();
    assert_eq!(
        s.list_session_clients(sid).await.unwrap(),
        vec!["rp-b".to_string(), "rp-a".to_string()],
        "once each, in order of first use"
    );
    assert!(s
        .list_session_clients(Uuid::new_v4())
        .await
        .unwrap()
        .is_empty());
}
