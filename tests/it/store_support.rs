//! `SupportStore` on both dialects: support requests (decided once, not after they
//! expire), grants (redeemed by one engineer, the rolling daily limit counted and
//! inserted atomically) and the impersonation sessions and tokens they lead to.

use chrono::Duration;
use monban::store::StoreError;
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    requests_are_decided_once_before_they_expire,
    grants_round_trip_revoke_and_redeem_once,
    user_grants_respect_the_rolling_limit,
    concurrent_grants_never_exceed_the_limit,
    impersonation_sessions_and_tokens_end_together,
);

async fn requests_are_decided_once_before_they_expire(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let eng = fx::user(&s, org, "eng@example.com").await;
    let u = fx::user(&s, org, "u@example.com").await;
    let t = now();
    let r1 = fx::support_request(org, eng.id, u.id, t);
    let r2 = fx::support_request(org, eng.id, u.id, t + Duration::seconds(1));
    s.insert_request(&r1).await.unwrap();
    s.insert_request(&r2).await.unwrap();
    assert!(matches!(
        s.insert_request(&r1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_request(r1.id).await.unwrap(), Some(r1.clone()));
    assert!(s.get_request(Uuid::new_v4()).await.unwrap().is_none());
    assert_eq!(
        s.list_requests(org).await.unwrap(),
        vec![r2.clone(), r1.clone()],
        "newest first"
    );

    let g = fx::grant(org, u.id, "admin", t);
    s.insert_grant(&g).await.unwrap();
    let td = t + Duration::minutes(1);
    assert!(s
        .decide_request(r1.id, "approved", "admin:ops", Some(g.id), td)
        .await
        .unwrap());
    assert!(
        !s.decide_request(r1.id, "denied", "admin:other", None, td)
            .await
            .unwrap(),
        "decided already"
    );
    let got = s.get_request(r1.id).await.unwrap().unwrap();
    assert_eq!(got.status, "approved");
    assert_eq!(
        (got.decided_by.as_deref(), got.decided_at, got.grant_id),
        (Some("admin:ops"), Some(td), Some(g.id))
    );
    // Past its expiry a request can no longer be decided.
    let late = r2.expires_at + Duration::seconds(1);
    assert!(!s
        .decide_request(r2.id, "approved", "admin:ops", None, late)
        .await
        .unwrap());
    assert_eq!(
        s.get_request(r2.id).await.unwrap().unwrap().status,
        "pending"
    );
    assert!(!s
        .decide_request(Uuid::new_v4(), "denied", "x", None, td)
        .await
        .unwrap());
}

async fn grants_round_trip_revoke_and_redeem_once(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let t = now();
    let g1 = fx::grant(org, u.id, "user", t);
    let mut g2 = fx::grant(org, u.id, "admin", t + Duration::seconds(1));
    g2.readonly = false;
    g2.client_ids = r#"["rp-a","rp-b"]"#.into();
    g2.target = Some("rp-a".into());
    s.insert_grant(&g1).await.unwrap();
    s.insert_grant(&g2).await.unwrap();
    let mut clash = fx::grant(org, u.id, "user", t);
    clash.token_hash = g1.token_hash.clone();
    assert!(matches!(
        s.insert_grant(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_grant(g2.id).await.unwrap(), Some(g2.clone()));
    assert_eq!(
        s.find_grant_by_token(&g1.token_hash).await.unwrap(),
        Some(g1.clone())
    );
    assert!(s.find_grant_by_token(b"nope").await.unwrap().is_none());
    assert!(s.get_grant(Uuid::new_v4()).await.unwrap().is_none());
    assert_eq!(
        s.list_grants(u.id).await.unwrap(),
        vec![g2.clone(), g1.clone()]
    );

    // Of engineers racing to redeem one grant exactly one gets it; the same engineer
    // may come back to it, keeping the first redemption time.
    let gid = g1.id;
    let engineers: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
    let tasks: Vec<_> = engineers
        .iter()
        .map(|&e| {
            let s = s.clone();
            tokio::spawn(async move { (e, s.redeem_grant(gid, e, t).await.unwrap()) })
        })
        .collect();
    let mut winners = Vec::new();
    for x in tasks {
        let (e, won) = x.await.unwrap();
        if won {
            winners.push(e);
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = winners[0];
    assert!(s
        .redeem_grant(g1.id, winner, t + Duration::minutes(5))
        .await
        .unwrap());
    let got = s.get_grant(g1.id).await.unwrap().unwrap();
    assert_eq!((got.redeemed_by, got.redeemed_at), (Some(winner), Some(t)));

    let tr = t + Duration::minutes(10);
    assert!(s.revoke_grant(g2.id, tr).await.unwrap());
    assert!(!s.revoke_grant(g2.id, tr).await.unwrap());
    assert!(!s.revoke_grant(Uuid::new_v4(), tr).await.unwrap());
    assert_eq!(
        s.get_grant(g2.id).await.unwrap().unwrap().revoked_at,
        Some(tr)
    );
    assert!(!s.redeem_grant(g2.id, winner, tr).await.unwrap(), "revoked");
}

async fn user_grants_respect_the_rolling_limit(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let v = fx::user(&s, org, "v@example.com").await;
    let t = now();
    let since = t - Duration::hours(24);
    // Outside the window, issued by an admin, or another user's: not counted.
    s.insert_grant(&fx::grant(org, u.id, "user", since - Duration::seconds(1)))
        .await
        .unwrap();
    s.insert_grant(&fx::grant(org, u.id, "admin", t))
        .await
        .unwrap();
    s.insert_grant(&fx::grant(org, v.id, "user", t))
        .await
        .unwrap();
    for i in 0..3 {
        let g = fx::grant(org, u.id, "user", t + Duration::seconds(i));
        assert!(
            s.insert_grant_within_limit(&g, since, 3).await.unwrap(),
            "grant {i}"
        );
        assert_eq!(s.get_grant(g.id).await.unwrap(), Some(g));
    }
    let over = fx::grant(org, u.id, "user", t + Duration::seconds(5));
    assert!(!s.insert_grant_within_limit(&over, since, 3).await.unwrap());
    assert!(
        s.get_grant(over.id).await.unwrap().is_none(),
        "not inserted"
    );
    assert_eq!(s.list_grants(u.id).await.unwrap().len(), 5);
    // The window moves on.
    let later_since = t + Duration::seconds(1);
    assert!(s
        .insert_grant_within_limit(&over, later_since, 3)
        .await
        .unwrap());
    // An unknown user is an error, not a silent insert.
    let ghost = fx::grant(org, Uuid::new_v4(), "user", t);
    assert!(matches!(
        s.insert_grant_within_limit(&ghost, since, 3).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.get_grant(ghost.id).await.unwrap().is_none());
}

async fn concurrent_grants_never_exceed_the_limit(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let t = now();
    let since = t - Duration::hours(24);
    let won = fx::winners(10, || {
        let s = s.clone();
        let g = fx::grant(org, u.id, "user", t);
        async move { s.insert_grant_within_limit(&g, since, 3).await.unwrap() }
    })
    .await;
    assert_eq!(won, 3);
    assert_eq!(s.list_grants(u.id).await.unwrap().len(), 3);
}

async fn impersonation_sessions_and_tokens_end_together(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let eng = Uuid::new_v4();
    let other_eng = Uuid::new_v4();
    let t = now();
    let g = fx::grant(org, u.id, "user", t);
    s.insert_grant(&g).await.unwrap();
    let imp = |who: Uuid, grant: Option<Uuid>| {
        let mut x = fx::session(org, u.id, t);
        x.impersonator_id = Some(who);
        x.support_grant_id = grant;
        x
    };
    let a = imp(eng, Some(g.id));
    let bb = imp(eng, Some(g.id));
    let c = imp(other_eng, None);
    let own = fx::session(org, u.id, t);
    for x in [&a, &bb, &c, &own] {
        s.insert_session(x).await.unwrap();
    }
    assert_eq!(
        s.get_session(a.id).await.unwrap().unwrap().impersonator_id,
        Some(eng)
    );
    s.end_session(bb.id, t, "logout").await.unwrap();
    assert_eq!(
        s.grant_sessions(g.id).await.unwrap(),
        vec![a.id],
        "live ones"
    );
    assert!(s.grant_sessions(Uuid::new_v4()).await.unwrap().is_empty());

    let mut f1 = fx::family("rp", u.id, Some(a.id), false);
    f1.impersonator_id = Some(eng);
    f1.support_grant_id = Some(g.id);
    let mut f2 = fx::family("rp", u.id, None, true);
    f2.impersonator_id = Some(eng);
    let mut f3 = fx::family("rp", u.id, None, false);
    f3.impersonator_id = Some(other_eng);
    let f4 = fx::family("rp", u.id, Some(own.id), false);
    for f in [&f1, &f2, &f3, &f4] {
        s.insert_family(f).await.unwrap();
    }
    let te = t + Duration::minutes(1);
    assert_eq!(
        s.revoke_impersonated_families(eng, te, "support_ended")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.revoke_impersonated_families(eng, te, "again")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.get_family(f2.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_reason
            .as_deref(),
        Some("support_ended")
    );
    assert!(s
        .get_family(f3.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert!(s
        .get_family(f4.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());

    assert_eq!(
        s.end_impersonation_sessions(eng, te, "support_ended")
            .await
            .unwrap(),
        vec![a.id]
    );
    assert!(s
        .end_impersonation_sessions(eng, te, "again")
        .await
        .unwrap()
        .is_empty());
    let ended = s.get_session(a.id).await.unwrap().unwrap();
    assert_eq!(
        (ended.ended_at, ended.end_reason.as_deref()),
        (Some(te), Some("support_ended"))
    );
    assert!(s
        .get_session(c.id)
        .await
        .unwrap()
        .unwrap()
        .ended_at
        .is_none());
    assert!(s
        .get_session(own.id)
        .await
        .unwrap()
        .unwrap()
        .ended_at
        .is_none());
    assert!(s.grant_sessions(g.id).await.unwrap().is_empty());
}
