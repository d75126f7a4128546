//! `OutboxStore` on both dialects, beyond what `notify.rs` covers (claims racing across
//! replicas, retries, failures): listing per organisation and user, newest first, and
//! settled messages staying settled.

use chrono::{DateTime, Duration, Utc};
use monban::store::{OutboxMessage, StoreError};
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(outbox_lists_newest_first_and_settled_messages_stay_settled);

fn message(org: Uuid, user: Option<Uuid>, created: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: user,
        to_address: "to@example.com".into(),
        to_name: "To".into(),
        locale: "ja".into(),
        kind: "invitation".into(),
        subject: "件名".into(),
        body_text: "本文".into(),
        body_html: Some("<p>本文</p>".into()),
        attempts: 0,
        next_attempt_at: created,
        claimed_until: None,
        created_at: created,
        sent_at: None,
        failed_at: None,
        last_error: None,
    }
}

async fn outbox_lists_newest_first_and_settled_messages_stay_settled(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let other_org = s.ensure_org("other", "Other", now()).await.unwrap().id;
    let t = now();
    let m1 = message(org, Some(u.id), t);
    let m2 = message(org, None, t + Duration::seconds(1));
    let m3 = message(org, Some(u.id), t + Duration::seconds(2));
    for m in [&m1, &m2, &m3] {
        s.enqueue_outbox(m).await.unwrap();
    }
    s.enqueue_outbox(&message(other_org, None, t))
        .await
        .unwrap();
    assert!(matches!(
        s.enqueue_outbox(&m1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_outbox(m2.id).await.unwrap(), Some(m2.clone()));
    assert!(s.get_outbox(Uuid::new_v4()).await.unwrap().is_none());

    let ids = |v: Vec<OutboxMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_outbox(org, None, 10).await.unwrap()),
        vec![m3.id, m2.id, m1.id]
    );
    assert_eq!(
        ids(s.list_outbox(org, None, 2).await.unwrap()),
        vec![m3.id, m2.id]
    );
    assert_eq!(
        ids(s.list_outbox(org, Some(u.id), 10).await.unwrap()),
        vec![m3.id, m1.id]
    );
    assert!(s
        .list_outbox(org, Some(Uuid::new_v4()), 10)
        .await
        .unwrap()
        .is_empty());

    // Sent is final: a late retry or failure report (a worker whose claim ran out)
    // does not reopen or spoil it.
    let claimed = s
        .claim_outbox(t, t + Duration::seconds(60), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    s.outbox_sent(id, t).await.unwrap();
    s.outbox_retry(id, t + Duration::seconds(10), "late")
        .await
        .unwrap();
    s.outbox_failed(id, t, "late").await.unwrap();
    let got = s.get_outbox(id).await.unwrap().unwrap();
    assert_eq!(got.sent_at, Some(t));
    assert!(got.failed_at.is_none() && got.last_error.is_none() && got.claimed_until.is_none());
    let much_later = t + Duration::days(1);
    let rest = s
        .claim_outbox(much_later, much_later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert!(
        !rest.iter().any(|m| m.id == id),
        "a sent message is never claimed again"
    );
    assert_eq!(rest.len(), 3, "the other two and the other organisation's");
}
