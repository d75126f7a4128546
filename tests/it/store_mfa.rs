//! The MFA and audit store methods, directly, on both dialects: the conditional
//! updates that make replay and double-spending impossible, and the atomic enrolment.

use crate::common;

use chrono::Duration;
use common::{Backend, TestDb};
use monban::clock::{Clock, SystemClock};
use monban::store::{self, AuditEvent, MfaChallenge, NewUser, PendingEnrolment, Session, Store};
use uuid::Uuid;

on_both_backends!(
    totp_steps_only_move_forward,
    enrolment_is_atomic_and_bound_to_its_session,
    backup_codes_spend_once_and_are_replaced_whole,
    challenges_count_attempts_and_delete_once,
    grace_start_is_recorded_once_and_sessions_upgrade,
    audit_events_round_trip,
);

async fn open(b: Backend) -> (TestDb, Store, Uuid, Uuid, Session) {
    let db = TestDb::new(b).unwrap();
    let store = store::connect_and_migrate(&db.config()).await.unwrap();
    let org = store
        .ensure_org("default", "Default", SystemClock.now())
        .await
        .unwrap()
        .id;
    let user = store
        .insert_user(&NewUser {
            org_id: org,
            email: "m@example.com".into(),
            login_id: None,
            display_name: "M".into(),
            status: "active".into(),
            password_hash: Some("$argon2id$x".into()),
            now: SystemClock.now(),
        })
        .await
        .unwrap();
    let now = SystemClock.now();
    let session = Session {
        id: Uuid::new_v4(),
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        org_id: org,
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(1),
        auth_time: now,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        ip: None,
        user_agent: None,
        ended_at: None,
        end_reason: None,
        impersonator_id: None,
        support_grant_id: None,
    };
    store.insert_session(&session).await.unwrap();
    (db, store, org, user.id, session)
}

fn pending(user: Uuid, session: Uuid, secret: &[u8], ttl: i64) -> PendingEnrolment {
    let now = SystemClock.now();
    PendingEnrolment {
        id: Uuid::new_v4(),
        user_id: user,
        session_id: session,
        secret_enc: secret.to_vec(),
        created_at: now,
        expires_at: now + Duration::seconds(ttl),
    }
}

fn hashes(tag: u8, n: u8) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![tag, i, 0, 1]).collect()
}

async fn totp_steps_only_move_forward(b: Backend) {
    let (_db, s, _, user, sess) = open(b).await;
    let now = SystemClock.now();
    assert!(
        !s.use_totp_step(user, 5, now).await.unwrap(),
        "no credential"
    );
    let p = pending(user, sess.id, b"sealed", 60);
    s.replace_pending_enrolment(&p).await.unwrap();
    assert!(s
        .confirm_enrolment(p.id, user, sess.id, 100, &hashes(1, 2), now)
        .await
        .unwrap());
    assert!(
        !s.use_totp_step(user, 100, now).await.unwrap(),
        "the enrolment step is used"
    );
    assert!(!s.use_totp_step(user, 99, now).await.unwrap());
    assert!(s.use_totp_step(user, 101, now).await.unwrap());
    assert!(!s.use_totp_step(user, 101, now).await.unwrap(), "replay");
    assert!(s.use_totp_step(user, 103, now).await.unwrap());
    // Racing: of many concurrent uses of one step, exactly one wins.
    let results = futures_util::future::join_all((0..8).map(|_| {
        let s = s.clone();
        async move { s.use_totp_step(user, 104, now).await.unwrap() }
    }))
    .await;
    assert_eq!(results.iter().filter(|&&w| w).count(), 1);
    let cred = s.get_totp(user).await.unwrap().unwrap();
    assert_eq!(cred.last_used_step, 104);
    assert_eq!(cred.secret_enc, b"sealed");
}

async fn enrolment_is_atomic_and_bound_to_its_session(b: Backend) {
    let (_db, s, _, user, sess) = open(b).await;
    let now = SystemClock.now();
    let first = pending(user, sess.id, b"one", 60);
    s.replace_pending_enrolment(&first).await.unwrap();
    let second = pending(user, sess.id, b"two", 60);
    s.replace_pending_enrolment(&second).await.unwrap();
    assert!(
        s.get_pending_enrolment(first.id).await.unwrap().is_none(),
        "replaced"
    );
    // Wrong session, wrong user, stale id: nothing happens.
    assert!(!s
        .confirm_enrolment(second.id, user, Uuid::new_v4(), 1, &[], now)
        .await
        .unwrap());
    assert!(!s
        .confirm_enrolment(second.id, Uuid::new_v4(), sess.id, 1, &[], now)
        .await
        .unwrap());
    assert!(!s
        .confirm_enrolment(first.id, user, sess.id, 1, &[], now)
        .await
        .unwrap());
    // Expired.
    let later = now + Duration::seconds(61);
    assert!(!s
        .confirm_enrolment(second.id, user, sess.id, 1, &[], later)
        .await
        .unwrap());
    assert!(s.get_totp(user).await.unwrap().is_none());
    // The right one: credential + codes, once.
    assert!(s
        .confirm_enrolment(second.id, user, sess.id, 7, &hashes(2, 3), now)
        .await
        .unwrap());
    assert!(!s
        .confirm_enrolment(second.id, user, sess.id, 7, &hashes(2, 3), now)
        .await
        .unwrap());
    assert_eq!(s.get_totp(user).await.unwrap().unwrap().secret_enc, b"two");
    assert_eq!(s.count_unused_backup_codes(user).await.unwrap(), 3);
    // Re-enrolment replaces key, step and codes.
    let third = pending(user, sess.id, b"three", 60);
    s.replace_pending_enrolment(&third).await.unwrap();
    assert!(s
        .confirm_enrolment(third.id, user, sess.id, 9, &hashes(3, 2), now)
        .await
        .unwrap());
    let cred = s.get_totp(user).await.unwrap().unwrap();
    assert_eq!(
        (cred.secret_enc.as_slice(), cred.last_used_step),
        (&b"three"[..], 9)
    );
    assert_eq!(s.count_unused_backup_codes(user).await.unwrap(), 2);
    assert!(!s
        .use_backup_code(user, &hashes(2, 3)[0], now)
        .await
        .unwrap());
    // Turning MFA off removes everything.
    assert!(s.delete_mfa(user).await.unwrap());
    assert!(!s.delete_mfa(user).await.unwrap());
    assert!(s.get_totp(user).await.unwrap().is_none());
    assert_eq!(s.count_unused_backup_codes(user).await.unwrap(), 0);
}

async fn backup_codes_spend_once_and_are_replaced_whole(b: Backend) {
    let (_db, s, _, user, _) = open(b).await;
    let now = SystemClock.now();
    let codes = hashes(4, 5);
    s.replace_backup_codes(user, &codes, now).await.unwrap();
    assert!(s.use_backup_code(user, &codes[0], now).await.unwrap());
    assert!(
        !s.use_backup_code(user, &codes[0], now).await.unwrap(),
        "single use"
    );
    assert!(
        !s.use_backup_code(Uuid::new_v4(), &codes[1], now)
            .await
            .unwrap(),
        "per user"
    );
    assert!(!s.use_backup_code(user, b"unknown", now).await.unwrap());
    assert_eq!(s.count_unused_backup_codes(user).await.unwrap(), 4);
    let results = futures_util::future::join_all((0..8).map(|_| {
        let s = s.clone();
        let c = codes[1].clone();
        async move { s.use_backup_code(user, &c, now).await.unwrap() }
    }))
    .await;
    assert_eq!(results.iter().filter(|&&w| w).count(), 1, "one racer wins");
    // Regeneration: every earlier code, used or not, is gone.
    let fresh = hashes(5, 5);
    s.replace_backup_codes(user, &fresh, now).await.unwrap();
    assert_eq!(s.count_unused_backup_codes(user).await.unwrap(), 5);
    for c in &codes {
        assert!(!s.use_backup_code(user, c, now).await.unwrap());
    }
    assert!(s.use_backup_code(user, &fresh[4], now).await.unwrap());
}

async fn challenges_count_attempts_and_delete_once(b: Backend) {
    let (_db, s, _, user, _) = open(b).await;
    let now = SystemClock.now();
    let c = MfaChallenge {
        id: Uuid::new_v4(),
        token_hash: vec![9; 32],
        user_id: user,
        session_id: None,
        login: "m@example.com".into(),
        return_to: Some("/account".into()),
        attempts: 0,
        created_at: now,
        expires_at: now + Duration::seconds(300),
    };
    s.insert_mfa_challenge(&c).await.unwrap();
    assert_eq!(
        s.find_mfa_challenge(&[9; 32]).await.unwrap(),
        Some(c.clone())
    );
    assert!(s.find_mfa_challenge(&[8; 32]).await.unwrap().is_none());
    assert_eq!(s.add_mfa_challenge_attempt(c.id).await.unwrap(), Some(1));
    assert_eq!(s.add_mfa_challenge_attempt(c.id).await.unwrap(), Some(2));
    assert_eq!(s.delete_expired_mfa_challenges(now).await.unwrap(), 0);
    assert!(s.delete_mfa_challenge(c.id).await.unwrap());
    assert!(
        !s.delete_mfa_challenge(c.id).await.unwrap(),
        "only one caller deletes"
    );
    assert_eq!(s.add_mfa_challenge_attempt(c.id).await.unwrap(), None);
    let old = MfaChallenge {
        id: Uuid::new_v4(),
        token_hash: vec![7; 32],
        expires_at: now - Duration::seconds(1),
        ..c
    };
    s.insert_mfa_challenge(&old).await.unwrap();
    assert_eq!(s.delete_expired_mfa_challenges(now).await.unwrap(), 1);
}

async fn grace_start_is_recorded_once_and_sessions_upgrade(b: Backend) {
    let (_db, s, _, user, sess) = open(b).await;
    let t0 = SystemClock.now();
    assert_eq!(s.get_mfa_grace(user).await.unwrap(), None);
    assert_eq!(s.start_mfa_grace(user, t0).await.unwrap(), t0);
    let later = t0 + Duration::days(3);
    assert_eq!(
        s.start_mfa_grace(user, later).await.unwrap(),
        t0,
        "first prompt counts"
    );

    assert_eq!(s.get_session_reauth(sess.id).await.unwrap(), None);
    s.set_session_reauth(sess.id, later).await.unwrap();
    assert_eq!(s.get_session_reauth(sess.id).await.unwrap(), Some(later));
    assert!(s
        .upgrade_session_auth(sess.id, "pwd otp mfa", "urn:monban:acr:mfa", later)
        .await
        .unwrap());
    let live = s.list_live_sessions(user).await.unwrap();
    assert_eq!(live[0].amr, "pwd otp mfa");
    assert_eq!(live[0].acr, "urn:monban:acr:mfa");
    assert_eq!(live[0].auth_time, later);
    s.end_session(sess.id, later, "logout").await.unwrap();
    assert!(
        !s.upgrade_session_auth(sess.id, "pwd otp mfa", "urn:monban:acr:mfa", later)
            .await
            .unwrap(),
        "an ended session is not upgraded"
    );
}

async fn audit_events_round_trip(b: Backend) {
    let (_db, s, org, user, _) = open(b).await;
    let t = SystemClock.now();
    let mk = |action: &str, at| AuditEvent {
        id: Uuid::new_v4(),
        org_id: org,
        actor_kind: "admin".into(),
        actor_id: Some(Uuid::new_v4()),
        subject_user_id: Some(user),
        action: action.into(),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("UA".into()),
        details: r#"{"k":1}"#.into(),
        at,
    };
    let a = mk("mfa.reset", t);
    let bb = mk("mfa.enrolled", t + Duration::seconds(1));
    s.insert_audit_event(&a).await.unwrap();
    s.insert_audit_event(&bb).await.unwrap();
    let mut other = mk("x.y", t);
    other.subject_user_id = None;
    s.insert_audit_event(&other).await.unwrap();
    let mine = s.list_audit_events_for_user(user, t, 10).await.unwrap();
    assert_eq!(mine, vec![bb.clone(), a.clone()], "newest first");
    assert_eq!(s.list_audit_events(org, t, 10).await.unwrap().len(), 3);
    assert_eq!(s.list_audit_events(org, t, 1).await.unwrap(), vec![bb]);
    assert!(s
        .list_audit_events_for_user(user, t + Duration::seconds(2), 10)
        .await
        .unwrap()
        .is_empty());
}
