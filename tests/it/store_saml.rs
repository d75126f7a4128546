//! `SamlStore` on both dialects: service providers, pending AuthnRequests (resumed
//! once), request IDs (replays refused), the SPs of a session (for Single Logout), and
//! the expiry purge.

use chrono::{DateTime, Duration, Utc};
use monban::store::saml::{PendingRequest, ServiceProvider, SessionSp};
use monban::store::StoreError;
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    service_providers_round_trip_unique_and_disable,
    pending_requests_resume_once_and_request_ids_refuse_replays,
    session_participants_upsert_find_and_delete,
    purge_removes_only_what_expired,
);

fn sp(org: Uuid, entity_id: &str, at: DateTime<Utc>) -> ServiceProvider {
    ServiceProvider {
        id: Uuid::new_v4(),
        org_id: org,
        entity_id: entity_id.into(),
        name: format!("SP {entity_id}"),
        acs: r#"[{"index":0,"url":"https://sp.example.com/acs","binding":"post","default":true}]"#
            .into(),
        slo_url: Some("https://sp.example.com/slo".into()),
        slo_binding: Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect".into()),
        signing_certs: "[]".into(),
        encryption_cert: None,
        authn_requests_signed: true,
        want_assertions_signed: true,
        name_id_format: "persistent".into(),
        attributes: "email name".into(),
        sign_response: true,
        sign_assertion: false,
        encrypt_assertions: false,
        idp_initiated: false,
        disabled: false,
        created_at: at,
        updated_at: at,
    }
}

fn pending(id: &str, expires: DateTime<Utc>) -> PendingRequest {
    PendingRequest {
        id: id.into(),
        sp_entity_id: "https://sp.example.com".into(),
        request_id: Some(format!("_req-{id}")),
        acs_url: "https://sp.example.com/acs".into(),
        relay_state: Some("/dashboard".into()),
        force_authn: true,
        authn_context: Some("exact urn:oasis:names:tc:SAML:2.0:ac:classes:Password".into()),
        created_at: expires - Duration::minutes(10),
        expires_at: expires,
        name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into()),
    }
}

fn participation(
    session: Uuid,
    sp: &str,
    name_id: &str,
    index: &str,
    at: DateTime<Utc>,
) -> SessionSp {
    SessionSp {
        session_id: session,
        sp_entity_id: sp.into(),
        name_id: name_id.into(),
        name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
        session_index: index.into(),
        created_at: at,
    }
}

async fn service_providers_round_trip_unique_and_disable(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let t = now();
    let a = sp(org, "https://a.example.com", t);
    let mut bb = sp(org, "https://b.example.com", t + Duration::seconds(1));
    bb.encryption_cert = Some("MIIB...".into());
    bb.encrypt_assertions = true;
    bb.slo_url = None;
    bb.slo_binding = None;
    s.insert_sp(&a).await.unwrap();
    s.insert_sp(&bb).await.unwrap();
    assert_eq!(
        s.get_sp("https://a.example.com").await.unwrap(),
        Some(a.clone())
    );
    assert!(s
        .get_sp("https://nope.example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.list_sps(org).await.unwrap(), vec![a.clone(), bb.clone()]);
    assert!(matches!(
        s.insert_sp(&sp(org, "https://a.example.com", t)).await,
        Err(StoreError::Conflict(_))
    ));

    let other_org = s.ensure_org("other", "Other", t).await.unwrap().id;
    let t2 = t + Duration::minutes(1);
    assert!(!s
        .disable_sp(other_org, "https://a.example.com", t2)
        .await
        .unwrap());
    assert!(s
        .disable_sp(org, "https://a.example.com", t2)
        .await
        .unwrap());
    assert!(!s
        .disable_sp(org, "https://a.example.com", t2)
        .await
        .unwrap());
    assert!(!s
        .disable_sp(org, "https://nope.example.com", t2)
        .await
        .unwrap());
    let got = s.get_sp("https://a.example.com").await.unwrap().unwrap();
    assert!(got.disabled);
    assert_eq!(got.updated_at, t2);
    assert!(
        !s.get_sp("https://b.example.com")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

async fn pending_requests_resume_once_and_request_ids_refuse_replays(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let exp = now() + Duration::minutes(10);
    let p = pending("p1", exp);
    s.insert_pending_request(&p).await.unwrap();
    let mut idp = pending("p2", exp);
    idp.request_id = None;
    idp.relay_state = None;
    idp.authn_context = None;
    idp.name_id_format = None;
    s.insert_pending_request(&idp).await.unwrap();
    assert!(matches!(
        s.insert_pending_request(&p).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_pending_request("p1").await.unwrap(), Some(p.clone()));
    assert_eq!(s.get_pending_request("p2").await.unwrap(), Some(idp));
    assert!(s.get_pending_request("nope").await.unwrap().is_none());
    // Of racing resumptions one deletes it.
    let won = fx::winners(6, || {
        let s = s.clone();
        async move { s.delete_pending_request("p1").await.unwrap() }
    })
    .await;
    assert_eq!(won, 1);
    assert!(s.get_pending_request("p1").await.unwrap().is_none());

    let sp_a = "https://a.example.com";
    assert!(s.record_request_id(sp_a, "_r1", exp).await.unwrap());
    assert!(
        !s.record_request_id(sp_a, "_r1", exp).await.unwrap(),
        "replay"
    );
    assert!(
        s.record_request_id("https://b.example.com", "_r1", exp)
            .await
            .unwrap(),
        "per SP"
    );
    let won = fx::winners(6, || {
        let s = s.clone();
        async move { s.record_request_id(sp_a, "_race", exp).await.unwrap() }
    })
    .await;
    assert_eq!(won, 1);
}

async fn session_participants_upsert_find_and_delete(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let t = now();
    let (s1, s2) = (Uuid::new_v4(), Uuid::new_v4());
    let a = "https://a.example.com";
    let bb = "https://b.example.com";
    s.put_session_sp(&participation(s1, bb, "alice", "idx-1b", t))
        .await
        .unwrap();
    s.put_session_sp(&participation(
        s1,
        a,
        "alice",
        "idx-1a",
        t + Duration::seconds(1),
    ))
    .await
    .unwrap();
    s.put_session_sp(&participation(
        s2,
        a,
        "alice",
        "idx-2a",
        t + Duration::seconds(2),
    ))
    .await
    .unwrap();
    // A second assertion to the same SP in the same session refreshes the row.
    let refreshed = participation(s1, bb, "alice", "idx-1b-2", t + Duration::seconds(3));
    s.put_session_sp(&refreshed).await.unwrap();

    let list = s.list_session_sps(s1).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|p| (p.sp_entity_id.as_str(), p.session_index.as_str()))
            .collect::<Vec<_>>(),
        vec![(a, "idx-1a"), (bb, "idx-1b-2")],
        "one row per SP, by time"
    );
    assert_eq!(
        s.find_session_sp(bb, "idx-1b-2").await.unwrap(),
        Some(refreshed)
    );
    assert!(
        s.find_session_sp(bb, "idx-1b").await.unwrap().is_none(),
        "replaced"
    );
    assert!(
        s.find_session_sp(a, "idx-1b-2").await.unwrap().is_none(),
        "per SP"
    );
    let by_name: Vec<Uuid> = s
        .find_session_sps_by_name_id(a, "alice")
        .await
        .unwrap()
        .iter()
        .map(|p| p.session_id)
        .collect();
    assert_eq!(by_name, vec![s2, s1], "newest first");
    assert!(s
        .find_session_sps_by_name_id(a, "bob")
        .await
        .unwrap()
        .is_empty());

    assert!(s.delete_session_sp(s1, a).await.unwrap());
    assert!(!s.delete_session_sp(s1, a).await.unwrap());
    assert_eq!(s.list_session_sps(s1).await.unwrap().len(), 1);
    assert_eq!(s.list_session_sps(s2).await.unwrap().len(), 1);
}

async fn purge_removes_only_what_expired(b: Backend) {
    let (_db, s, _org) = fx::open(b).await;
    let t = now();
    s.insert_pending_request(&pending("old", t - Duration::seconds(1)))
        .await
        .unwrap();
    s.insert_pending_request(&pending("edge", t)).await.unwrap();
    s.insert_pending_request(&pending("new", t + Duration::minutes(5)))
        .await
        .unwrap();
    let sp_a = "https://a.example.com";
    s.record_request_id(sp_a, "_old", t - Duration::seconds(1))
        .await
        .unwrap();
    s.record_request_id(sp_a, "_new", t + Duration::minutes(5))
        .await
        .unwrap();

    s.purge_saml(t).await.unwrap();
    assert!(s.get_pending_request("old").await.unwrap().is_none());
    assert!(
        s.get_pending_request("edge").await.unwrap().is_some(),
        "expires at `now`: kept"
    );
    assert!(s.get_pending_request("new").await.unwrap().is_some());
    // A purged request ID may be recorded again; a live one is still refused.
    assert!(s
        .record_request_id(sp_a, "_old", t + Duration::minutes(5))
        .await
        .unwrap());
    assert!(!s
        .record_request_id(sp_a, "_new", t + Duration::minutes(5))
        .await
        .unwrap());
}
