//! `AdminStore` purges and the filtered audit log, and `AuditStore`'s append-only
//! guarantee, on both dialects (foreign keys are enforced on both, so a purge that
//! deletes in the wrong order fails here).

use chrono::{DateTime, Duration, Utc};
use monban::store::admin::AuditFilter;
use monban::store::oidc::{AuthCode, DeviceAuthorization, RefreshToken};
use monban::store::saml::SessionSp;
use monban::store::{AuditEvent, LoginEvent, MfaChallenge, OutboxMessage, PendingEnrolment};
use monban::store::{Store, StoreError};
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    purging_deleted_users_removes_what_hangs_off_them,
    purging_history_keeps_live_and_recent_rows,
    audit_log_filters_and_cursor,
    audit_log_is_append_only,
    purges_forget_saml_participation,
);

fn login_event(org: Uuid, user: Uuid, at: DateTime<Utc>) -> LoginEvent {
    LoginEvent {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: Some(user),
        login: "x".into(),
        result: "ok".into(),
        ip: None,
        user_agent: None,
        session_id: None,
        at,
    }
}

fn device(org: Uuid, user: Option<Uuid>, expires: DateTime<Utc>) -> DeviceAuthorization {
    DeviceAuthorization {
        id: Uuid::new_v4(),
        org_id: org,
        device_code_hash: Uuid::new_v4().as_bytes().to_vec(),
        user_code_hash: Uuid::new_v4().as_bytes().to_vec(),
        client_id: "tv".into(),
        scope: "openid".into(),
        status: if user.is_some() {
            "approved"
        } else {
            "pending"
        }
        .into(),
        user_id: user,
        auth_time: None,
        amr: None,
        acr: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: expires - Duration::minutes(10),
        expires_at: expires,
        user_decided_at: None,
        admin_decided_at: None,
        admin_decided_by: None,
        family_id: None,
    }
}

/// Gives `user` a row in every table that hangs off users; returns the session.
async fn everything_of(s: &Store, org: Uuid, user: Uuid, peer: Uuid) -> Uuid {
    let t = now();
    let sess = fx::live_session(s, org, user).await;
    s.insert_login_event(&login_event(org, user, t))
        .await
        .unwrap();
    let fam = fx::family("rp", user, Some(sess.id), true);
    s.insert_family(&fam).await.unwrap();
    s.insert_refresh_token(&RefreshToken {
        id: Uuid::new_v4(),
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        family_id: fam.id,
        client_id: "rp".into(),
        scope: "openid".into(),
        created_at: t,
        expires_at: t + Duration::days(1),
        used_at: None,
        replaced_by: None,
    })
    .await
    .unwrap();
    s.insert_auth_code(&AuthCode {
        code_hash: Uuid::new_v4().as_bytes().to_vec(),
        family_id: fam.id,
        client_id: "rp".into(),
        user_id: user,
        session_id: sess.id,
        redirect_uri: "https://rp.example.com/cb".into(),
        redirect_uri_given: false,
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        claims: None,
        auth_time: t,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        created_at: t,
        expires_at: t + Duration::minutes(1),
        used_at: None,
    })
    .await
    .unwrap();
    s.put_consent(user, "rp", "openid", t).await.unwrap();
    s.add_session_client(sess.id, "rp", t).await.unwrap();
    s.insert_grant(&fx::grant(org, user, "user", t))
        .await
        .unwrap();
    s.insert_request(&fx::support_request(org, user, peer, t))
        .await
        .unwrap();
    s.insert_request(&fx::support_request(org, peer, user, t))
        .await
        .unwrap();
    s.insert_device(&device(org, Some(user), t + Duration::minutes(10)))
        .await
        .unwrap();
    let pending = |id| PendingEnrolment {
        id,
        user_id: user,
        session_id: sess.id,
        secret_enc: b"k".to_vec(),
        created_at: t,
        expires_at: t + Duration::minutes(10),
    };
    let first = pending(Uuid::new_v4());
    s.replace_pending_enrolment(&first).await.unwrap();
    assert!(s
        .confirm_enrolment(first.id, user, sess.id, 1, &[vec![1, 2]], t)
        .await
        .unwrap());
    s.replace_pending_enrolment(&pending(Uuid::new_v4()))
        .await
        .unwrap();
    s.insert_mfa_challenge(&MfaChallenge {
        id: Uuid::new_v4(),
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        user_id: user,
        session_id: Some(sess.id),
        login: "x".into(),
        return_to: None,
        attempts: 0,
        created_at: t,
        expires_at: t + Duration::minutes(5),
    })
    .await
    .unwrap();
    s.start_mfa_grace(user, t).await.unwrap();
    sess.id
}

fn outbox(org: Uuid, user: Uuid, t: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: Some(user),
        to_address: "gone@example.com".into(),
        to_name: String::new(),
        locale: "en".into(),
        kind: "account_deleted".into(),
        subject: "bye".into(),
        body_text: "bye".into(),
        body_html: None,
        attempts: 0,
        next_attempt_at: t,
        claimed_until: None,
        created_at: t,
        sent_at: None,
        failed_at: None,
        last_error: None,
    }
}

async fn purging_deleted_users_removes_what_hangs_off_them(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let doomed = fx::user(&s, org, "doomed@example.com").await;
    let keeper = fx::user(&s, org, "keeper@example.com").await;
    let doomed_session = everything_of(&s, org, doomed.id, keeper.id).await;
    let keeper_session = everything_of(&s, org, keeper.id, doomed.id).await;
    let mail = outbox(org, doomed.id, now());
    s.enqueue_outbox(&mail).await.unwrap();
    let mut about = fx::audit(org, "user.deleted", now());
    about.subject_user_id = Some(doomed.id);
    s.insert_audit_event(&about).await.unwrap();

    let t = now();
    assert!(s.soft_delete_user(doomed.id, t).await.unwrap());
    assert!(
        s.purge_deleted_users(t).await.unwrap().is_empty(),
        "deleted at `before` exactly: not yet"
    );
    let purged = s
        .purge_deleted_users(t + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(purged, vec![doomed.id]);
    assert!(matches!(
        s.get_user(doomed.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.get_session(doomed_session).await.unwrap().is_none());
    assert!(s.get_totp(doomed.id).await.unwrap().is_none());
    assert!(s.get_mfa_grace(doomed.id).await.unwrap().is_none());
    assert!(s.get_consent(doomed.id, "rp").await.unwrap().is_none());
    assert!(s.list_grants(doomed.id).await.unwrap().is_empty());
    assert!(s
        .list_session_clients(doomed_session)
        .await
        .unwrap()
        .is_empty());
    // The outbox keeps the message, no longer tied to the user; the audit log keeps
    // what happened.
    assert_eq!(s.get_outbox(mail.id).await.unwrap().unwrap().user_id, None);
    assert_eq!(
        s.list_audit_events_for_user(doomed.id, t - Duration::hours(1), 10)
            .await
            .unwrap(),
        vec![about]
    );
    // Requests naming the purged user on either side are gone; the keeper's own
    // rows are all there.
    let requests = s.list_requests(org).await.unwrap();
    assert!(requests.is_empty(), "{requests:?}");
    assert!(s.get_session(keeper_session).await.unwrap().is_some());
    assert!(s.get_totp(keeper.id).await.unwrap().is_some());
    assert_eq!(s.count_unused_backup_codes(keeper.id).await.unwrap(), 1);
    assert_eq!(s.list_grants(keeper.id).await.unwrap().len(), 1);
    assert_eq!(
        s.list_session_clients(keeper_session).await.unwrap(),
        vec!["rp"]
    );
    assert_eq!(
        s.get_consent(keeper.id, "rp").await.unwrap().as_deref(),
        Some("openid")
    );
    assert_eq!(s.get_user(keeper.id).await.unwrap().status, "active");
    assert!(s
        .purge_deleted_users(t + Duration::days(1))
        .await
        .unwrap()
        .is_empty());
}

async fn purging_history_keeps_live_and_recent_rows(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "h@example.com").await;
    let old = now() - Duration::days(100);
    let cut = now() - Duration::days(90);
    let recent = now() - Duration::days(1);
    for at in [old, old + Duration::seconds(1), recent] {
        s.insert_login_event(&login_event(org, u.id, at))
            .await
            .unwrap();
    }
    // An old session that ended long ago, with what references it.
    let ended_old = fx::session(org, u.id, old);
    s.insert_session(&ended_old).await.unwrap();
    s.add_session_client(ended_old.id, "rp", old).await.unwrap();
    s.replace_pending_enrolment(&PendingEnrolment {
        id: Uuid::new_v4(),
        user_id: u.id,
        session_id: ended_old.id,
        secret_enc: b"k".to_vec(),
        created_at: old,
        expires_at: old + Duration::minutes(10),
    })
    .await
    .unwrap();
    s.end_session(ended_old.id, old + Duration::hours(1), "logout")
        .await
        .unwrap();
    // An old session that ended recently, and an old one still live.
    let ended_recent = fx::session(org, u.id, old);
    s.insert_session(&ended_recent).await.unwrap();
    s.end_session(ended_recent.id, recent, "logout")
        .await
        .unwrap();
    let live_old = fx::session(org, u.id, old);
    s.insert_session(&live_old).await.unwrap();
    let expired_device = device(org, None, old);
    let open_device = device(org, None, now() + Duration::minutes(5));
    s.insert_device(&expired_device).await.unwrap();
    s.insert_device(&open_device).await.unwrap();

    assert_eq!(
        s.purge_history(cut).await.unwrap(),
        3,
        "2 sign-ins + 1 session"
    );
    assert_eq!(s.purge_history(cut).await.unwrap(), 0);
    let left = s
        .list_login_events(u.id, old - Duration::days(1), 10)
        .await
        .unwrap();
    assert_eq!(left.iter().map(|e| e.at).collect::<Vec<_>>(), vec![recent]);
    assert!(s.get_session(ended_old.id).await.unwrap().is_none());
    assert!(s
        .list_session_clients(ended_old.id)
        .await
        .unwrap()
        .is_empty());
    assert!(s.get_session(ended_recent.id).await.unwrap().is_some());
    assert!(s.get_session(live_old.id).await.unwrap().is_some());
    assert!(s.get_device(expired_device.id).await.unwrap().is_none());
    assert!(s.get_device(open_device.id).await.unwrap().is_some());
}

async fn audit_log_filters_and_cursor(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let other_org = s.ensure_org("other", "Other", now()).await.unwrap().id;
    let (actor, subject) = (Uuid::new_v4(), Uuid::new_v4());
    let t0 = now();
    let mut all = Vec::new();
    // Three events share a timestamp: the id orders them.
    for (i, action) in [
        "user.created",
        "user.locked",
        "user.locked",
        "user.locked",
        "policy.updated",
    ]
    .into_iter()
    .enumerate()
    {
        let at = t0 + Duration::seconds(if (1..=3).contains(&i) { 1 } else { i as i64 });
        let mut e = fx::audit(org, action, at);
        if i < 4 {
            e.actor_id = Some(actor);
            e.subject_user_id = Some(subject);
        }
        s.insert_audit_event(&e).await.unwrap();
        all.push(e);
    }
    s.insert_audit_event(&fx::audit(other_org, "user.locked", t0))
        .await
        .unwrap();
    let ids = |v: &[AuditEvent]| v.iter().map(|e| e.id).collect::<Vec<_>>();
    let list = |f: AuditFilter| {
        let s = s.clone();
        async move {
            s.list_audit_filtered(org, &AuditFilter { limit: 100, ..f })
                .await
                .unwrap()
        }
    };
    let everything = list(AuditFilter::default()).await;
    let mut want = all.clone();
    want.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    assert_eq!(
        ids(&everything),
        ids(&want),
        "newest first, then id descending"
    );

    let by_action = list(AuditFilter {
        action: Some("user.locked".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_action.len(), 3);
    assert_eq!(
        list(AuditFilter {
            actor_id: Some(actor),
            ..Default::default()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        list(AuditFilter {
            subject_user_id: Some(subject),
            ..Default::default()
        })
        .await
        .len(),
        4
    );
    // `from` is inclusive, `to` exclusive.
    let window = AuditFilter {
        from: Some(t0 + Duration::seconds(1)),
        to: Some(t0 + Duration::seconds(4)),
        ..Default::default()
    };
    assert_eq!(list(window).await.len(), 3);
    assert!(list(AuditFilter {
        actor_id: Some(Uuid::new_v4()),
        ..Default::default()
    })
    .await
    .is_empty());

    // Pages of two through the five, each once, across the shared timestamp.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .list_audit_filtered(
                org,
                &AuditFilter {
                    limit: 2,
                    before,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some((last.at, last.id));
        paged.extend(ids(&page));
    }
    assert_eq!(paged, ids(&want));
}

async fn audit_log_is_append_only(b: Backend) {
    let (db, s, org) = fx::open(b).await;
    let e = fx::audit(org, "user.created", now());
    s.insert_audit_event(&e).await.unwrap();
    assert!(matches!(
        s.insert_audit_event(&e).await,
        Err(StoreError::Conflict(_))
    ));
    let upd = fx::raw_execute(&db, "UPDATE audit_events SET action = 'forged'").await;
    let err = upd.expect_err("UPDATE must be refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let del = fx::raw_execute(&db, "DELETE FROM audit_events").await;
    assert!(del
        .expect_err("DELETE must be refused")
        .to_string()
        .contains("append-only"));
    let left = s.list_audit_events(org, e.at, 10).await.unwrap();
    assert_eq!(left, vec![e]);
}

fn participation(session: Uuid, sp: &str, name_id: &str, at: DateTime<Utc>) -> SessionSp {
    SessionSp {
        session_id: session,
        sp_entity_id: sp.into(),
        name_id: name_id.into(),
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
        session_index: format!("idx-{session}"),
        created_at: at,
    }
}

/// Which SAML service providers a session signed in to (the NameID is often the
/// e-mail address): gone with the purged user, and with sessions purged from the
/// history, so that neither personal data nor single logout outlive them.
async fn purges_forget_saml_participation(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let doomed = fx::user(&s, org, "gone@example.com").await;
    let keeper = fx::user(&s, org, "stays@example.com").await;
    let old = now() - Duration::days(100);
    let doomed_session = fx::session(org, doomed.id, now());
    let old_session = fx::session(org, keeper.id, old);
    let live_session = fx::session(org, keeper.id, old);
    for (sess, who) in [
        (&doomed_session, "gone@example.com"),
        (&old_session, "stays@example.com"),
        (&live_session, "stays@example.com"),
    ] {
        s.insert_session(sess).await.unwrap();
        s.put_session_sp(&participation(
            sess.id,
            "https://sp.example",
            who,
            sess.created_at,
        ))
        .await
        .unwrap();
    }
    s.end_session(old_session.id, old + Duration::hours(1), "logout")
        .await
        .unwrap();

    let t = now();
    assert!(s.soft_delete_user(doomed.id, t).await.unwrap());
    s.purge_deleted_users(t + Duration::seconds(1))
        .await
        .unwrap();
    assert!(s
        .list_session_sps(doomed_session.id)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .find_session_sps_by_name_id("https://sp.example", "gone@example.com")
        .await
        .unwrap()
        .iter()
        .all(|p| p.session_id != doomed_session.id));

    s.purge_history(now() - Duration::days(90)).await.unwrap();
    assert!(s.list_session_sps(old_session.id).await.unwrap().is_empty());
    assert_eq!(s.list_session_sps(live_session.id).await.unwrap().len(), 1);
}
