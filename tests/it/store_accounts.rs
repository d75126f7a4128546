//! `OrgStore`, `UserStore` and `SessionStore` methods that `store.rs` leaves out, on
//! both dialects: slugs, profile claims, the first password (once), the reserved
//! password attempts and the conditional lock, sessions by id and "all but this one".

use chrono::Duration;
use monban::store::{StoreError, UserClaims};
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    orgs_by_slug_and_profile_claims,
    first_password_is_set_once,
    login_attempts_reserve_release_and_lock_when_due,
    concurrent_login_attempts_each_see_their_own_count,
    sessions_by_id_and_ending_all_but_one,
);

async fn orgs_by_slug_and_profile_claims(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    assert_eq!(s.get_org_by_slug("default").await.unwrap().id, org);
    assert!(matches!(
        s.get_org_by_slug("nope").await,
        Err(StoreError::NotFound)
    ));
    let other = s.ensure_org("acme", "Acme", now()).await.unwrap();
    assert_ne!(other.id, org);
    assert_eq!(s.get_org_by_slug("acme").await.unwrap(), other);

    let u = fx::user(&s, org, "c@example.com").await;
    assert!(!u.email_verified && u.phone_number.is_none());
    let t = now() + Duration::seconds(5);
    let claims = UserClaims {
        email_verified: true,
        phone_number: Some("+81 3 1234 5678".into()),
        phone_number_verified: true,
        address: Some(r#"{"country":"JP"}"#.into()),
        locale: Some("ja-JP".into()),
    };
    s.set_user_claims(u.id, &claims, t).await.unwrap();
    let got = s.get_user(u.id).await.unwrap();
    assert!(got.email_verified && got.phone_number_verified);
    assert_eq!(got.phone_number.as_deref(), Some("+81 3 1234 5678"));
    assert_eq!(got.address.as_deref(), Some(r#"{"country":"JP"}"#));
    assert_eq!(got.locale.as_deref(), Some("ja-JP"));
    assert_eq!(got.updated_at, t);
    // Clearing goes back to NULL.
    s.set_user_claims(u.id, &UserClaims::default(), t)
        .await
        .unwrap();
    let got = s.get_user(u.id).await.unwrap();
    assert!(got.phone_number.is_none() && got.address.is_none() && !got.email_verified);
    assert!(matches!(
        s.set_user_claims(Uuid::new_v4(), &claims, t).await,
        Err(StoreError::NotFound)
    ));
}

async fn first_password_is_set_once(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let mut n = fx::new_user(org, "invitee@example.com", now());
    n.status = "pending".into();
    n.password_hash = None;
    let p = s.insert_user(&n).await.unwrap();
    let t = now();
    let pid = p.id;
    // Of racing invitation submissions exactly one sets the password.
    let won = fx::winners(8, || {
        let s = s.clone();
        async move {
            s.set_first_password(pid, &format!("$argon2id${}", Uuid::new_v4()), t)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(won, 1);
    let got = s.get_user(p.id).await.unwrap();
    assert_eq!(got.status, "active");
    assert_eq!(got.password_changed_at, Some(t));
    let hash = got.password_hash.clone().unwrap();
    assert!(!s
        .set_first_password(p.id, "$argon2id$late", t)
        .await
        .unwrap());
    assert_eq!(s.get_user(p.id).await.unwrap().password_hash.unwrap(), hash);

    // A pending user who already has a password (set by an admin) is not touched.
    let mut n = fx::new_user(org, "pending-with-pw@example.com", now());
    n.status = "pending".into();
    let q = s.insert_user(&n).await.unwrap();
    assert!(!s.set_first_password(q.id, "$argon2id$x", t).await.unwrap());
    assert_eq!(s.get_user(q.id).await.unwrap().status, "pending");
    assert!(!s
        .set_first_password(Uuid::new_v4(), "$argon2id$x", t)
        .await
        .unwrap());
}

async fn login_attempts_reserve_release_and_lock_when_due(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "l@example.com").await;
    let t = now();
    let a = s.begin_login_attempt(u.id, t).await.unwrap().unwrap();
    assert_eq!((a.failed_logins, a.status.as_str()), (1, "active"));
    assert!(!a.locked(t));
    // A right password takes its reservation back.
    assert!(s.release_login_attempt(u.id, t).await.unwrap());
    assert_eq!(s.get_user(u.id).await.unwrap().failed_logins, 0);
    assert!(s.release_login_attempt(u.id, t).await.unwrap());
    assert_eq!(
        s.get_user(u.id).await.unwrap().failed_logins,
        0,
        "never below zero"
    );

    // Not due below the threshold.
    s.begin_login_attempt(u.id, t).await.unwrap();
    s.begin_login_attempt(u.id, t).await.unwrap();
    let until = t + Duration::minutes(15);
    assert_eq!(
        s.lock_user_if_due(u.id, 3, Some(until), t).await.unwrap(),
        None
    );
    let a = s.begin_login_attempt(u.id, t).await.unwrap().unwrap();
    assert_eq!(a.failed_logins, 3);
    assert_eq!(
        s.lock_user_if_due(u.id, 3, Some(until), t).await.unwrap(),
        Some(Some(until))
    );
    let l = s.get_user(u.id).await.unwrap();
    assert_eq!(
        (
            l.status.as_str(),
            l.failed_logins,
            l.lock_count,
            l.locked_until
        ),
        ("locked", 0, 1, Some(until))
    );
    // Attempts on a locked account are still counted, and shown locked …
    let a = s.begin_login_attempt(u.id, t).await.unwrap().unwrap();
    assert!(a.locked(t) && a.status == "locked");
    // … and a right password does not take them back while the lock holds.
    assert!(!s.release_login_attempt(u.id, t).await.unwrap());
    for _ in 0..2 {
        s.begin_login_attempt(u.id, t).await.unwrap();
    }
    // A shorter lock never shortens the one in force.
    assert_eq!(
        s.lock_user_if_due(u.id, 3, Some(t + Duration::minutes(1)), t)
            .await
            .unwrap(),
        Some(Some(until))
    );
    assert_eq!(s.get_user(u.id).await.unwrap().lock_count, 2);
    // After the lock ran out the reservation can be released again.
    let after = until + Duration::seconds(1);
    assert!(s.release_login_attempt(u.id, after).await.unwrap());
    // Permanent: applied once, then left alone.
    for _ in 0..3 {
        s.begin_login_attempt(u.id, after).await.unwrap();
    }
    assert_eq!(
        s.lock_user_if_due(u.id, 3, None, after).await.unwrap(),
        Some(None)
    );
    for _ in 0..3 {
        s.begin_login_attempt(u.id, after).await.unwrap();
    }
    assert_eq!(
        s.lock_user_if_due(u.id, 3, Some(after), after)
            .await
            .unwrap(),
        None,
        "a permanent lock is left alone"
    );
    let p = s.get_user(u.id).await.unwrap();
    assert!(p.locked_until.is_none() && p.is_locked(after + Duration::days(999)));

    // Accounts that cannot sign in reserve nothing.
    let mut n = fx::new_user(org, "pending@example.com", t);
    n.status = "pending".into();
    let pending = s.insert_user(&n).await.unwrap();
    assert!(s
        .begin_login_attempt(pending.id, t)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.get_user(pending.id).await.unwrap().failed_logins, 0);
    assert!(s
        .begin_login_attempt(Uuid::new_v4(), t)
        .await
        .unwrap()
        .is_none());
}

async fn concurrent_login_attempts_each_see_their_own_count(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "race@example.com").await;
    let uid = u.id;
    let t = now();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.begin_login_attempt(uid, t)
                    .await
                    .unwrap()
                    .unwrap()
                    .failed_logins
            })
        })
        .collect();
    let mut seen = Vec::new();
    for x in tasks {
        seen.push(x.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=12).collect::<Vec<i64>>());
    // Of many racing lockers, one applies the lock.
    let until = t + Duration::minutes(5);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.lock_user_if_due(uid, 10, Some(until), t).await.unwrap() })
        })
        .collect();
    let mut applied = 0;
    for x in tasks {
        applied += x.await.unwrap().is_some() as i32;
    }
    assert_eq!(applied, 1);
    assert_eq!(s.get_user(u.id).await.unwrap().lock_count, 1);
}

async fn sessions_by_id_and_ending_all_but_one(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "s@example.com").await;
    let v = fx::user(&s, org, "v@example.com").await;
    let keep = fx::live_session(&s, org, u.id).await;
    let a = fx::live_session(&s, org, u.id).await;
    let c = fx::live_session(&s, org, u.id).await;
    let other = fx::live_session(&s, org, v.id).await;
    assert_eq!(s.get_session(keep.id).await.unwrap(), Some(keep.clone()));
    assert!(s.get_session(Uuid::new_v4()).await.unwrap().is_none());

    let t = now();
    let mut ended = s
        .end_user_sessions_except(u.id, keep.id, t, "password_changed")
        .await
        .unwrap();
    ended.sort();
    let mut want = vec![a.id, c.id];
    want.sort();
    assert_eq!(ended, want);
    assert!(s
        .end_user_sessions_except(u.id, keep.id, t, "again")
        .await
        .unwrap()
        .is_empty());
    // Ended sessions are still found by id, with why and when.
    let got = s.get_session(a.id).await.unwrap().unwrap();
    assert_eq!(got.ended_at, Some(t));
    assert_eq!(got.end_reason.as_deref(), Some("password_changed"));
    assert!(s.find_live_session(&a.token_hash).await.unwrap().is_none());
    let live: Vec<Uuid> = s
        .list_live_sessions(u.id)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(live, vec![keep.id]);
    assert_eq!(s.list_live_sessions(v.id).await.unwrap(), vec![other]);
}
