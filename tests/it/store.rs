//! The store suite: the same assertions against SQLite and PostgreSQL.

use crate::common;

use chrono::{Duration, Utc};
use common::{Backend, TestDb};
use monban::clock::{Clock, SystemClock};
use monban::store::{self, LoginEvent, NewUser, Session, Store, StoreError};
use uuid::Uuid;

async fn open(b: Backend) -> (TestDb, Store, Uuid) {
    let db = TestDb::new(b).unwrap();
    let store = store::connect_and_migrate(&db.config()).await.unwrap();
    // Migrating twice is a no-op.
    store.migrate().await.unwrap();
    let org = store
        .ensure_org("default", "Default", SystemClock.now())
        .await
        .unwrap();
    let again = store
        .ensure_org("default", "Other name", SystemClock.now())
        .await
        .unwrap();
    assert_eq!(org, again, "ensure_org is idempotent");
    (db, store, org.id)
}

fn new_user(org: Uuid, email: &str, login_id: Option<&str>) -> NewUser {
    NewUser {
        org_id: org,
        email: email.into(),
        login_id: login_id.map(String::from),
        display_name: "Test".into(),
        status: "active".into(),
        password_hash: Some("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into()),
        now: SystemClock.now(),
    }
}

fn session_for(org: Uuid, user: Uuid, hash: &[u8]) -> Session {
    let now = SystemClock.now();
    Session {
        id: Uuid::new_v4(),
        token_hash: hash.to_vec(),
        org_id: org,
        user_id: user,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(1),
        auth_time: now,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("UA".into()),
        ended_at: None,
        end_reason: None,
        impersonator_id: None,
        support_grant_id: None,
    }
}

on_both_backends!(
    users_round_trip_and_lookup,
    unique_email_and_login_id,
    failure_counting_and_locks,
    concurrent_failures_are_all_counted,
    sessions_round_trip_and_end,
    login_events_newest_first,
);

async fn users_round_trip_and_lookup(b: Backend) {
    let (_db, s, org) = open(b).await;
    let u = s
        .insert_user(&new_user(org, "a@example.com", Some("alice")))
        .await
        .unwrap();
    assert_eq!(s.get_user(u.id).await.unwrap(), u);
    assert_eq!(u.failed_logins, 0);
    assert!(u.password_changed_at.is_some());
    assert_eq!(
        s.find_user_by_login(org, "a@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    assert_eq!(
        s.find_user_by_login(org, "alice")
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    assert!(s.find_user_by_login(org, "nobody").await.unwrap().is_none());
    assert!(
        s.find_user_by_login(Uuid::new_v4(), "alice")
            .await
            .unwrap()
            .is_none(),
        "scoped by org"
    );
    assert!(matches!(
        s.get_user(Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.count_users(org).await.unwrap(), 1);

    // A pending user becomes active when a password is set.
    let mut p = new_user(org, "p@example.com", None);
    p.status = "pending".into();
    p.password_hash = None;
    let p = s.insert_user(&p).await.unwrap();
    assert!(p.password_changed_at.is_none());
    let t = SystemClock.now();
    s.set_password_hash(p.id, "$argon2id$new", t).await.unwrap();
    let p = s.get_user(p.id).await.unwrap();
    assert_eq!(p.status, "active");
    assert_eq!(p.password_changed_at, Some(t));
    assert!(matches!(
        s.set_password_hash(Uuid::new_v4(), "x", t).await,
        Err(StoreError::NotFound)
    ));
}

async fn unique_email_and_login_id(b: Backend) {
    let (_db, s, org) = open(b).await;
    s.insert_user(&new_user(org, "a@example.com", Some("alice")))
        .await
        .unwrap();
    let e = s
        .insert_user(&new_user(org, "a@example.com", None))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict("email")), "{e:?}");
    let e = s
        .insert_user(&new_user(org, "b@example.com", Some("alice")))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict("login_id")), "{e:?}");
    // Several users without a login id are fine.
    s.insert_user(&new_user(org, "c@example.com", None))
        .await
        .unwrap();
    s.insert_user(&new_user(org, "d@example.com", None))
        .await
        .unwrap();
}

async fn failure_counting_and_locks(b: Backend) {
    let (_db, s, org) = open(b).await;
    let u = s
        .insert_user(&new_user(org, "a@example.com", None))
        .await
        .unwrap();
    let now = SystemClock.now();
    assert_eq!(s.increment_failed_logins(u.id, now).await.unwrap(), 1);
    assert_eq!(s.increment_failed_logins(u.id, now).await.unwrap(), 2);
    let until = now + Duration::minutes(5);
    assert!(s.lock_user(u.id, Some(until), now).await.unwrap());
    assert!(
        !s.lock_user(u.id, Some(until), now).await.unwrap(),
        "already locked"
    );
    let l = s.get_user(u.id).await.unwrap();
    assert_eq!(
        (l.status.as_str(), l.failed_logins, l.lock_count),
        ("locked", 0, 1)
    );
    assert_eq!(l.locked_until, Some(until));
    assert!(l.is_locked(now) && !l.is_locked(until));
    // Clearing before expiry keeps the lock; after expiry lifts it.
    s.clear_login_failures(u.id, now).await.unwrap();
    assert_eq!(s.get_user(u.id).await.unwrap().status, "locked");
    // An expired lock can be re-applied.
    let later = until + Duration::seconds(1);
    assert!(s
        .lock_user(u.id, Some(later + Duration::minutes(10)), later)
        .await
        .unwrap());
    assert_eq!(s.get_user(u.id).await.unwrap().lock_count, 2);
    let much_later = later + Duration::minutes(11);
    s.clear_login_failures(u.id, much_later).await.unwrap();
    let c = s.get_user(u.id).await.unwrap();
    assert_eq!(
        (c.status.as_str(), c.locked_until, c.lock_count),
        ("active", None, 0)
    );
    // Permanent lock: no expiry, never cleared by time.
    assert!(s.lock_user(u.id, None, much_later).await.unwrap());
    s.clear_login_failures(u.id, much_later + Duration::days(365))
        .await
        .unwrap();
    let p = s.get_user(u.id).await.unwrap();
    assert_eq!(p.status, "locked");
    assert!(p.is_locked(much_later + Duration::days(365)));
}

async fn concurrent_failures_are_all_counted(b: Backend) {
    let (_db, s, org) = open(b).await;
    let u = s
        .insert_user(&new_user(org, "a@example.com", None))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.increment_failed_logins(u.id, Utc::now()).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<i64>>(),
        "each increment saw a distinct count"
    );
    // Only one of many concurrent lock attempts applies.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = s.clone();
        let now = SystemClock.now();
        tasks.push(tokio::spawn(async move {
            s.lock_user(u.id, Some(now + Duration::minutes(5)), now)
                .await
                .unwrap()
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.unwrap() as i32;
    }
    assert_eq!(applied, 1);
}

async fn sessions_round_trip_and_end(b: Backend) {
    let (_db, s, org) = open(b).await;
    let u = s
        .insert_user(&new_user(org, "a@example.com", None))
        .await
        .unwrap();
    let s1 = session_for(org, u.id, b"hash-one");
    let s2 = session_for(org, u.id, b"hash-two");
    s.insert_session(&s1).await.unwrap();
    s.insert_session(&s2).await.unwrap();
    assert!(matches!(
        s.insert_session(&session_for(org, u.id, b"hash-one")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_live_session(b"hash-one").await.unwrap().unwrap(), s1);
    assert!(s.find_live_session(b"nope").await.unwrap().is_none());
    let t = s1.last_seen_at + Duration::seconds(90);
    s.touch_session(s1.id, t).await.unwrap();
    assert_eq!(
        s.find_live_session(b"hash-one")
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        t
    );
    assert_eq!(s.list_live_sessions(u.id).await.unwrap().len(), 2);

    assert!(s.end_session(s1.id, t, "logout").await.unwrap());
    assert!(
        !s.end_session(s1.id, t, "logout").await.unwrap(),
        "ending twice"
    );
    assert!(s.find_live_session(b"hash-one").await.unwrap().is_none());
    let ended = s.end_user_sessions(u.id, t, "admin").await.unwrap();
    assert_eq!(ended, vec![s2.id]);
    assert!(s.list_live_sessions(u.id).await.unwrap().is_empty());
}

async fn login_events_newest_first(b: Backend) {
    let (_db, s, org) = open(b).await;
    let u = s
        .insert_user(&new_user(org, "a@example.com", None))
        .await
        .unwrap();
    let base = SystemClock.now();
    for i in 0..5 {
        s.insert_login_event(&LoginEvent {
            id: Uuid::new_v4(),
            org_id: org,
            user_id: Some(u.id),
            login: "a@example.com".into(),
            result: format!("r{i}"),
            ip: Some("192.0.2.1".into()),
            user_agent: None,
            session_id: None,
            at: base + Duration::seconds(i),
        })
        .await
        .unwrap();
    }
    let ev = s
        .list_login_events(u.id, base + Duration::seconds(1), 3)
        .await
        .unwrap();
    let results: Vec<&str> = ev.iter().map(|e| e.result.as_str()).collect();
    assert_eq!(results, ["r4", "r3", "r2"]);
    // Unknown-user attempts are kept too (user_id NULL).
    s.insert_login_event(&LoginEvent {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: None,
        login: "ghost".into(),
        result: "unknown_user".into(),
        ip: None,
        user_agent: None,
        session_id: None,
        at: base,
    })
    .await
    .unwrap();
}
