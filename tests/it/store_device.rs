//! The OIDC store's queues and state machines on both dialects: device authorizations
//! (RFC 8628: user and admin decisions, polling speed, a single exchange) and the
//! back-channel logout queue (claims that never hand a job to two workers).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use monban::store::oidc::*;
use monban::store::StoreError;
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    device_codes_round_trip_and_poll_speed,
    device_decisions_and_a_single_exchange,
    open_device_grants_are_denied_and_listed,
    backchannel_jobs_are_claimed_retried_and_settled,
    backchannel_claims_never_overlap,
);

fn device(org: Uuid, created: DateTime<Utc>, ttl_secs: i64) -> DeviceAuthorization {
    DeviceAuthorization {
        id: Uuid::new_v4(),
        org_id: org,
        device_code_hash: Uuid::new_v4().as_bytes().to_vec(),
        user_code_hash: Uuid::new_v4().as_bytes().to_vec(),
        client_id: "tv".into(),
        scope: "openid offline_access".into(),
        status: "pending".into(),
        user_id: None,
        auth_time: None,
        amr: None,
        acr: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: created,
        expires_at: created + Duration::seconds(ttl_secs),
        user_decided_at: None,
        admin_decided_at: None,
        admin_decided_by: None,
        family_id: None,
    }
}

fn decision(user: Uuid, status: &str, at: DateTime<Utc>) -> DeviceUserDecision {
    DeviceUserDecision {
        user_id: user,
        status: status.into(),
        auth_time: at,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        expires_at: at + Duration::minutes(30),
    }
}

async fn device_codes_round_trip_and_poll_speed(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let t = now();
    let d = device(org, t, 600);
    s.insert_device(&d).await.unwrap();
    assert_eq!(s.get_device(d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(
        s.find_device_by_user_code(&d.user_code_hash).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        s.find_device_by_device_code(&d.device_code_hash)
            .await
            .unwrap(),
        Some(d.clone())
    );
    assert!(s.get_device(Uuid::new_v4()).await.unwrap().is_none());
    assert!(s.find_device_by_user_code(b"nope").await.unwrap().is_none());
    assert!(s
        .find_device_by_device_code(b"nope")
        .await
        .unwrap()
        .is_none());
    // User codes are short: a clash must be refused, not shadow another request.
    let mut clash = device(org, t, 600);
    clash.user_code_hash = d.user_code_hash.clone();
    assert!(matches!(
        s.insert_device(&clash).await,
        Err(StoreError::Conflict(_))
    ));

    // Polling: the first poll is allowed; one before the interval passed is not, and
    // slows the device down by `slow_down_secs`.
    let interval = |x: &DeviceAuthorization| Duration::seconds(x.interval_secs);
    assert!(s.poll_device(d.id, t, t - interval(&d), 5).await.unwrap());
    let t1 = t + Duration::seconds(2);
    assert!(!s.poll_device(d.id, t1, t1 - interval(&d), 5).await.unwrap());
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!((got.interval_secs, got.last_polled_at), (10, Some(t1)));
    // 6 s later is still too fast under the new interval; 10 s is fine.
    let t2 = t1 + Duration::seconds(6);
    assert!(!s
        .poll_device(d.id, t2, t2 - interval(&got), 5)
        .await
        .unwrap());
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!(got.interval_secs, 15);
    let t3 = t2 + Duration::seconds(15);
    assert!(s
        .poll_device(d.id, t3, t3 - interval(&got), 5)
        .await
        .unwrap());
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!((got.interval_secs, got.last_polled_at), (15, Some(t3)));
}

async fn device_decisions_and_a_single_exchange(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let t = now();

    // Straight approval by the user, then one exchange.
    let d = device(org, t, 600);
    s.insert_device(&d).await.unwrap();
    assert!(
        !s.decide_device_by_admin(d.id, true, "admin", t)
            .await
            .unwrap(),
        "not awaiting an admin"
    );
    assert!(
        !s.consume_device(d.id, Uuid::new_v4()).await.unwrap(),
        "not approved"
    );
    let dec = decision(u.id, "approved", t);
    assert!(s.decide_device_by_user(d.id, &dec, t).await.unwrap());
    assert!(
        !s.decide_device_by_user(d.id, &decision(u.id, "denied", t), t)
            .await
            .unwrap(),
        "decided already"
    );
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!(got.status, "approved");
    assert_eq!(got.user_id, Some(u.id));
    assert_eq!((got.auth_time, got.user_decided_at), (Some(t), Some(t)));
    assert_eq!(got.expires_at, dec.expires_at);
    let fam = Uuid::new_v4();
    let did = d.id;
    let won = fx::winners(8, || {
        let s = s.clone();
        async move { s.consume_device(did, fam).await.unwrap() }
    })
    .await;
    assert_eq!(won, 1, "one exchange wins");
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!((got.status.as_str(), got.family_id), ("used", Some(fam)));
    assert!(!s.consume_device(d.id, Uuid::new_v4()).await.unwrap());

    // Through an admin.
    let d = device(org, t, 600);
    s.insert_device(&d).await.unwrap();
    assert!(s
        .decide_device_by_user(d.id, &decision(u.id, "awaiting_admin", t), t)
        .await
        .unwrap());
    assert!(!s.consume_device(d.id, Uuid::new_v4()).await.unwrap());
    let ta = t + Duration::minutes(5);
    assert!(s
        .decide_device_by_admin(d.id, true, "ops", ta)
        .await
        .unwrap());
    assert!(!s
        .decide_device_by_admin(d.id, false, "ops2", ta)
        .await
        .unwrap());
    let got = s.get_device(d.id).await.unwrap().unwrap();
    assert_eq!(got.status, "approved");
    assert_eq!(
        (got.admin_decided_by.as_deref(), got.admin_decided_at),
        (Some("ops"), Some(ta))
    );
    assert!(s.consume_device(d.id, Uuid::new_v4()).await.unwrap());

    // Denied by an admin: nothing to exchange.
    let d = device(org, t, 600);
    s.insert_device(&d).await.unwrap();
    s.decide_device_by_user(d.id, &decision(u.id, "awaiting_admin", t), t)
        .await
        .unwrap();
    assert!(s
        .decide_device_by_admin(d.id, false, "ops", t)
        .await
        .unwrap());
    assert_eq!(s.get_device(d.id).await.unwrap().unwrap().status, "denied");
    assert!(!s.consume_device(d.id, Uuid::new_v4()).await.unwrap());

    // Expiry: neither the user nor an admin can answer a request that ran out.
    let d = device(org, t, 60);
    s.insert_device(&d).await.unwrap();
    let late = t + Duration::seconds(61);
    assert!(!s
        .decide_device_by_user(d.id, &decision(u.id, "approved", late), late)
        .await
        .unwrap());
    let d = device(org, t, 600);
    s.insert_device(&d).await.unwrap();
    let mut short = decision(u.id, "awaiting_admin", t);
    short.expires_at = t + Duration::seconds(30);
    assert!(s.decide_device_by_user(d.id, &short, t).await.unwrap());
    let late = t + Duration::seconds(31);
    assert!(!s
        .decide_device_by_admin(d.id, true, "ops", late)
        .await
        .unwrap());
    assert_eq!(
        s.get_device(d.id).await.unwrap().unwrap().status,
        "awaiting_admin"
    );
}

async fn open_device_grants_are_denied_and_listed(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let other = fx::user(&s, org, "o@example.com").await;
    let t = now();
    let mut ids = Vec::new();
    for (i, (who, status)) in [
        (u.id, "approved"),
        (u.id, "awaiting_admin"),
        (u.id, "denied"),
        (other.id, "approved"),
    ]
    .into_iter()
    .enumerate()
    {
        let d = device(org, t + Duration::seconds(i as i64), 600);
        s.insert_device(&d).await.unwrap();
        s.decide_device_by_user(d.id, &decision(who, status, t), t)
            .await
            .unwrap();
        ids.push(d.id);
    }
    let used = device(org, t + Duration::seconds(10), 600);
    s.insert_device(&used).await.unwrap();
    s.decide_device_by_user(used.id, &decision(u.id, "approved", t), t)
        .await
        .unwrap();
    s.consume_device(used.id, Uuid::new_v4()).await.unwrap();
    let pending = device(org, t + Duration::seconds(11), 600);
    s.insert_device(&pending).await.unwrap();

    assert_eq!(s.deny_open_devices_for_user(u.id).await.unwrap(), 2);
    assert_eq!(s.deny_open_devices_for_user(u.id).await.unwrap(), 0);
    let status = |id: Uuid| {
        let s = s.clone();
        async move { s.get_device(id).await.unwrap().unwrap().status }
    };
    assert_eq!(status(ids[0]).await, "denied");
    assert_eq!(status(ids[1]).await, "denied");
    assert_eq!(status(ids[3]).await, "approved", "another user's");
    assert_eq!(status(used.id).await, "used", "exchanged already");
    assert_eq!(status(pending.id).await, "pending");

    let all: Vec<Uuid> = s
        .list_devices(org, None)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        all,
        vec![pending.id, used.id, ids[3], ids[2], ids[1], ids[0]],
        "newest first"
    );
    let denied: Vec<Uuid> = s
        .list_devices(org, Some("denied"))
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(denied, vec![ids[2], ids[1], ids[0]]);
    assert!(s
        .list_devices(Uuid::new_v4(), None)
        .await
        .unwrap()
        .is_empty());
}

fn job(due: DateTime<Utc>, created: DateTime<Utc>) -> BackchannelJob {
    BackchannelJob {
        id: Uuid::new_v4(),
        client_id: "rp".into(),
        uri: "https://rp.example.com/bcl".into(),
        logout_token: "eyJ.logout.token".into(),
        attempts: 0,
        next_attempt_at: due,
        claimed_until: None,
        created_at: created,
        delivered_at: None,
        failed_at: None,
        last_error: None,
    }
}

async fn backchannel_jobs_are_claimed_retried_and_settled(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let t = now();
    let a = job(t, t);
    let bb = job(t - Duration::seconds(5), t + Duration::microseconds(1));
    let later = job(t + Duration::hours(1), t + Duration::microseconds(2));
    for j in [&a, &bb, &later] {
        s.enqueue_backchannel(j).await.unwrap();
    }
    let lease = t + Duration::seconds(60);
    let got = s.claim_backchannel(t, lease, 10).await.unwrap();
    let ids: Vec<Uuid> = got.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![bb.id, a.id], "due ones, most overdue first");
    assert!(got
        .iter()
        .all(|j| j.attempts == 1 && j.claimed_until == Some(lease)));
    assert!(
        s.claim_backchannel(t, lease, 10).await.unwrap().is_empty(),
        "claimed"
    );
    assert_eq!(s.claim_backchannel(t, lease, 1).await.unwrap().len(), 0);

    s.backchannel_delivered(a.id, t).await.unwrap();
    let retry_at = t + Duration::seconds(30);
    s.backchannel_retry(bb.id, retry_at, "503").await.unwrap();
    assert!(s
        .claim_backchannel(t + Duration::seconds(29), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s.claim_backchannel(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (bb.id, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("503"));
    s.backchannel_failed(bb.id, retry_at, "gave up")
        .await
        .unwrap();

    // Much later only the job that was never claimed is due; delivered and failed
    // ones are settled for good.
    let much_later = t + Duration::hours(2);
    let last = s
        .claim_backchannel(much_later, much_later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        last.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![later.id]
    );
    // A claim that ran out (its worker died) is taken again.
    let expired = much_later + Duration::seconds(61);
    let retaken = s
        .claim_backchannel(expired, expired + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!((retaken[0].id, retaken[0].attempts), (later.id, 2));

    let all = s.list_backchannel().await.unwrap();
    assert_eq!(
        all.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![a.id, bb.id, later.id],
        "by creation"
    );
    assert_eq!(all[0].delivered_at, Some(t));
    assert!(all[0].claimed_until.is_none() && all[0].failed_at.is_none());
    assert_eq!(all[1].failed_at, Some(retry_at));
    assert_eq!(all[1].last_error.as_deref(), Some("gave up"));
    assert!(all[1].claimed_until.is_none() && all[1].delivered_at.is_none());
}

async fn backchannel_claims_never_overlap(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let t = now();
    let mut want = BTreeSet::new();
    for i in 0..30 {
        let j = job(t, t + Duration::microseconds(i));
        want.insert(j.id);
        s.enqueue_backchannel(&j).await.unwrap();
    }
    let lease = t + Duration::seconds(60);
    let worker = || {
        let s = s.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s.claim_backchannel(t, lease, 4).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|j| j.id));
            }
        })
    };
    let (x, y, z) = (worker(), worker(), worker());
    let mut all = x.await.unwrap();
    all.extend(y.await.unwrap());
    all.extend(z.await.unwrap());
    assert_eq!(all.len(), 30, "no job handed out twice");
    assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), want);
}
