//! `AdminStore` on both dialects: admin tokens, policies, user listing (filters and
//! the (created_at, id) cursor), the state changes admins make, and grant revocation.
//! Purges and the filtered audit log are in `store_admin_purge`.

use chrono::Duration;
use monban::store::admin::{AdminToken, UserFilter};
use monban::store::{PendingEnrolment, StoreError, User};
use uuid::Uuid;

use crate::common::Backend;
use crate::store_fixtures::{self as fx, now};

on_both_backends!(
    admin_tokens_and_policies,
    user_listing_filters,
    user_listing_cursor_visits_each_user_once,
    user_state_changes,
    grants_revoked_by_session_user_and_client,
);

fn token(org: Uuid, name: &str, at: chrono::DateTime<chrono::Utc>) -> AdminToken {
    AdminToken {
        id: Uuid::new_v4(),
        org_id: org,
        name: name.into(),
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        scopes: "admin:users:read".into(),
        created_at: at,
        expires_at: Some(at + Duration::days(30)),
        revoked_at: None,
        last_used_at: None,
    }
}

async fn admin_tokens_and_policies(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let t = now();
    let a = token(org, "ci", t);
    let bb = token(org, "ops", t + Duration::seconds(1));
    s.insert_admin_token(&a).await.unwrap();
    s.insert_admin_token(&bb).await.unwrap();
    let mut dup = token(org, "dup", t);
    dup.token_hash = a.token_hash.clone();
    assert!(matches!(
        s.insert_admin_token(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.find_admin_token(&a.token_hash).await.unwrap(),
        Some(a.clone())
    );
    assert!(s.find_admin_token(b"nope").await.unwrap().is_none());
    assert_eq!(
        s.list_admin_tokens(org).await.unwrap(),
        vec![a.clone(), bb.clone()]
    );
    let used = t + Duration::minutes(1);
    s.touch_admin_token(a.id, used).await.unwrap();
    assert_eq!(
        s.find_admin_token(&a.token_hash)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(used)
    );

    // Revocation by name or by id, once, within the organisation.
    let other_org = s.ensure_org("other", "Other", t).await.unwrap().id;
    assert!(!s.revoke_admin_token(other_org, "ci", t).await.unwrap());
    assert!(s.revoke_admin_token(org, "ci", used).await.unwrap());
    assert!(!s.revoke_admin_token(org, "ci", used).await.unwrap());
    assert!(s
        .revoke_admin_token(org, &bb.id.to_string(), used)
        .await
        .unwrap());
    assert!(!s.revoke_admin_token(org, "unknown", used).await.unwrap());
    let all = s.list_admin_tokens(org).await.unwrap();
    assert!(all.iter().all(|x| x.revoked_at == Some(used)));

    assert!(s.get_policy(org).await.unwrap().is_none());
    s.put_policy(org, r#"{"lockout":{"max":5}}"#, t)
        .await
        .unwrap();
    s.put_policy(org, r#"{"lockout":{"max":3}}"#, used)
        .await
        .unwrap();
    assert_eq!(
        s.get_policy(org).await.unwrap().as_deref(),
        Some(r#"{"lockout":{"max":3}}"#)
    );
    assert!(s.get_policy(other_org).await.unwrap().is_none());
}

fn ids(users: &[User]) -> Vec<Uuid> {
    users.iter().map(|u| u.id).collect()
}

async fn user_listing_filters(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let base = now();
    let mk = |i: i64, email: &str, name: &str| {
        let mut n = fx::new_user(org, email, base + Duration::seconds(i));
        n.display_name = name.into();
        n
    };
    let alice = s
        .insert_user(&mk(0, "alice@example.com", "Alice Ito"))
        .await
        .unwrap();
    let mut bn = mk(1, "bob@example.com", "Bob");
    bn.login_id = Some("bobby".into());
    let bob = s.insert_user(&bn).await.unwrap();
    let pct = s
        .insert_user(&mk(2, "p@example.com", "100% Real"))
        .await
        .unwrap();
    let und = s
        .insert_user(&mk(3, "u@example.com", "snake_case"))
        .await
        .unwrap();
    let plain = s
        .insert_user(&mk(4, "x@example.com", "Under score"))
        .await
        .unwrap();
    let other_org = s.ensure_org("other", "Other", base).await.unwrap().id;
    s.insert_user(&fx::new_user(other_org, "alice@example.com", base))
        .await
        .unwrap();

    let list = |f: UserFilter| {
        let s = s.clone();
        async move {
            ids(&s
                .list_users(org, &UserFilter { limit: 100, ..f })
                .await
                .unwrap())
        }
    };
    assert_eq!(
        list(UserFilter::default()).await,
        vec![alice.id, bob.id, pct.id, und.id, plain.id],
        "one organisation, oldest first"
    );
    // Substring, case-insensitive, over e-mail, login id and display name.
    let q = |q: &str| UserFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(list(q("ALICE")).await, vec![alice.id]);
    assert_eq!(list(q("obb")).await, vec![bob.id], "login id");
    assert_eq!(list(q("ito")).await, vec![alice.id]);
    // LIKE wildcards in the query are literal.
    assert_eq!(list(q("0%")).await, vec![pct.id]);
    assert_eq!(list(q("e_c")).await, vec![und.id]);
    assert_eq!(list(q("%")).await, vec![pct.id]);

    s.set_user_status(bob.id, &["active"], "suspended", base)
        .await
        .unwrap();
    let by_status = |st: &str| UserFilter {
        status: Some(st.into()),
        ..Default::default()
    };
    assert_eq!(list(by_status("suspended")).await, vec![bob.id]);
    assert_eq!(list(by_status("active")).await.len(), 4);

    assert!(s.set_app_block(und.id, Some("admin"), base).await.unwrap());
    let blocked = |v| UserFilter {
        app_blocked: Some(v),
        ..Default::default()
    };
    assert_eq!(list(blocked(true)).await, vec![und.id]);
    assert_eq!(list(blocked(false)).await.len(), 4);

    // MFA: a user with a confirmed TOTP credential.
    let sess = fx::live_session(&s, org, plain.id).await;
    let p = PendingEnrolment {
        id: Uuid::new_v4(),
        user_id: plain.id,
        session_id: sess.id,
        secret_enc: b"sealed".to_vec(),
        created_at: base,
        expires_at: base + Duration::minutes(10),
    };
    s.replace_pending_enrolment(&p).await.unwrap();
    assert!(s
        .confirm_enrolment(p.id, plain.id, sess.id, 1, &[], base)
        .await
        .unwrap());
    let mfa = |v| UserFilter {
        mfa: Some(v),
        ..Default::default()
    };
    assert_eq!(list(mfa(true)).await, vec![plain.id]);
    assert_eq!(list(mfa(false)).await.len(), 4);
    // Filters combine.
    let both = UserFilter {
        mfa: Some(true),
        status: Some("suspended".into()),
        ..Default::default()
    };
    assert!(list(both).await.is_empty());
}

async fn user_listing_cursor_visits_each_user_once(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let base = now();
    // Several users share a creation time: the id breaks the tie.
    for i in 0..11 {
        let at = base + Duration::milliseconds(i / 3);
        s.insert_user(&fx::new_user(org, &format!("u{i}@example.com"), at))
            .await
            .unwrap();
    }
    let all = s
        .list_users(
            org,
            &UserFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 11);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .list_users(
                org,
                &UserFilter {
                    limit: 4,
                    after,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id));
        paged.extend(ids(&page));
    }
    assert_eq!(paged, ids(&all), "pages = the whole list, in order, once");
    let mut sorted = all.iter().map(|u| (u.created_at, u.id)).collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(
        all.iter().map(|u| (u.created_at, u.id)).collect::<Vec<_>>(),
        sorted,
        "ordered by (created_at, id)"
    );
}

async fn user_state_changes(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let t = now();
    let u = fx::user(&s, org, "a@example.com").await;
    let v = fx::user(&s, org, "b@example.com").await;
    s.set_user_claims(
        u.id,
        &monban::store::UserClaims {
            email_verified: true,
            ..Default::default()
        },
        t,
    )
    .await
    .unwrap();

    // Profile: unchanged fields stay; a new e-mail is unverified; clashes are refused.
    s.update_user_profile(u.id, Some("Alice"), None, Some("support"), t)
        .await
        .unwrap();
    let got = s.get_user(u.id).await.unwrap();
    assert_eq!(
        (got.display_name.as_str(), got.roles.as_str()),
        ("Alice", "support")
    );
    assert!(got.email_verified);
    s.update_user_profile(u.id, None, Some("a@example.com"), None, t)
        .await
        .unwrap();
    assert!(
        s.get_user(u.id).await.unwrap().email_verified,
        "same e-mail"
    );
    s.update_user_profile(u.id, None, Some("a2@example.com"), None, t)
        .await
        .unwrap();
    let got = s.get_user(u.id).await.unwrap();
    assert_eq!(
        (got.email.as_str(), got.email_verified),
        ("a2@example.com", false)
    );
    assert!(matches!(
        s.update_user_profile(u.id, None, Some("b@example.com"), None, t)
            .await,
        Err(StoreError::Conflict("email"))
    ));
    assert!(matches!(
        s.update_user_profile(Uuid::new_v4(), Some("x"), None, None, t)
            .await,
        Err(StoreError::NotFound)
    ));

    // Status moves only from the states given.
    assert!(!s
        .set_user_status(u.id, &["suspended"], "active", t)
        .await
        .unwrap());
    assert!(s
        .set_user_status(u.id, &["active", "locked"], "suspended", t)
        .await
        .unwrap());
    assert_eq!(s.get_user(u.id).await.unwrap().status, "suspended");
    assert!(!s
        .set_user_status(u.id, &["active"], "suspended", t)
        .await
        .unwrap());
    // A state whose name contains another's is not confused with it.
    assert!(!s
        .set_user_status(u.id, &["suspend"], "active", t)
        .await
        .unwrap());

    // Soft delete and restore within the window, back to the state before.
    assert!(s.soft_delete_user(u.id, t).await.unwrap());
    assert!(!s.soft_delete_user(u.id, t).await.unwrap());
    let d = s.get_user(u.id).await.unwrap();
    assert_eq!((d.status.as_str(), d.deleted_at), ("deleted", Some(t)));
    assert!(
        !s.restore_user(u.id, t + Duration::seconds(1), t)
            .await
            .unwrap(),
        "deleted before the window"
    );
    assert!(s.restore_user(u.id, t, t).await.unwrap());
    let r = s.get_user(u.id).await.unwrap();
    assert_eq!((r.status.as_str(), r.deleted_at), ("suspended", None));
    assert!(!s.restore_user(u.id, t, t).await.unwrap());

    // Unlock lifts temporary and permanent locks and resets the counters.
    assert!(!s.unlock_user(v.id, t).await.unwrap(), "not locked");
    s.increment_failed_logins(v.id, t).await.unwrap();
    assert!(s.lock_user(v.id, None, t).await.unwrap());
    assert!(s.unlock_user(v.id, t).await.unwrap());
    let got = s.get_user(v.id).await.unwrap();
    assert_eq!(
        (
            got.status.as_str(),
            got.failed_logins,
            got.lock_count,
            got.locked_until
        ),
        ("active", 0, 0, None)
    );

    assert!(s.set_password_change_required(v.id, true, t).await.unwrap());
    let got = s.get_user(v.id).await.unwrap();
    assert!(got.password_change_required);
    assert_eq!(got.password_change_requested_at, Some(t));
    let t2 = t + Duration::minutes(1);
    assert!(s
        .set_password_change_required(v.id, false, t2)
        .await
        .unwrap());
    let got = s.get_user(v.id).await.unwrap();
    assert!(!got.password_change_required);
    assert_eq!(
        got.password_change_requested_at,
        Some(t),
        "when it was asked stays"
    );
    assert!(!s
        .set_password_change_required(Uuid::new_v4(), true, t)
        .await
        .unwrap());

    // App blocks: on, once; listed; off, once.
    assert!(s.set_app_block(v.id, Some("admin:ops"), t).await.unwrap());
    assert!(!s
        .set_app_block(v.id, Some("admin:other"), t2)
        .await
        .unwrap());
    let got = s.get_user(v.id).await.unwrap();
    assert_eq!(
        (got.app_blocked_at, got.app_blocked_by.as_deref()),
        (Some(t), Some("admin:ops"))
    );
    assert_eq!(ids(&s.list_app_blocked(org).await.unwrap()), vec![v.id]);
    assert!(s.set_app_block(v.id, None, t2).await.unwrap());
    assert!(!s.set_app_block(v.id, None, t2).await.unwrap());
    assert!(s.list_app_blocked(org).await.unwrap().is_empty());

    // The login id changes once; a taken one is a conflict.
    let mut n = fx::new_user(org, "c@example.com", t);
    n.login_id = Some("carol".into());
    s.insert_user(&n).await.unwrap();
    assert!(matches!(
        s.change_login_id(v.id, "carol", t).await,
        Err(StoreError::Conflict("login_id"))
    ));
    assert!(s.change_login_id(v.id, "vic", t).await.unwrap());
    assert!(!s.change_login_id(v.id, "victor", t).await.unwrap());
    let got = s.get_user(v.id).await.unwrap();
    assert_eq!(
        (got.login_id.as_deref(), got.login_id_changed_at),
        (Some("vic"), Some(t))
    );
}

async fn grants_revoked_by_session_user_and_client(b: Backend) {
    let (_db, s, org) = fx::open(b).await;
    let u = fx::user(&s, org, "u@example.com").await;
    let v = fx::user(&s, org, "v@example.com").await;
    let base = now();
    let mut sessions = Vec::new();
    for i in 0..4 {
        let x = fx::session(org, u.id, base + Duration::seconds(i));
        s.insert_session(&x).await.unwrap();
        sessions.push(x.id);
    }
    s.end_session(sessions[0], base, "logout").await.unwrap();
    let recent = s
        .list_sessions_since(u.id, base + Duration::seconds(1), 2)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&recent),
        vec![sessions[3], sessions[2]],
        "newest first, limited"
    );
    let every = s.list_sessions_since(u.id, base, 10).await.unwrap();
    assert_eq!(every.len(), 4, "ended ones too");
    assert!(every[3].ended_at.is_some());

    let t = now();
    let on = fx::family("rp-a", u.id, Some(sessions[1]), false);
    let offline = fx::family("rp-b", u.id, Some(sessions[1]), true);
    let elsewhere = fx::family("rp-a", u.id, None, true);
    let other_user = fx::family("rp-a", v.id, None, false);
    for f in [&on, &offline, &elsewhere, &other_user] {
        s.insert_family(f).await.unwrap();
    }
    // Admin revocation of sessions takes offline grants too.
    assert_eq!(
        s.revoke_all_session_families(&[sessions[1], sessions[2]], t, "admin")
            .await
            .unwrap(),
        2
    );
    assert!(s
        .get_family(elsewhere.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    // By client: only the user's grants with those clients.
    let with_a = fx::family("rp-a", u.id, None, false);
    let with_c = fx::family("rp-c", u.id, None, false);
    s.insert_family(&with_a).await.unwrap();
    s.insert_family(&with_c).await.unwrap();
    assert_eq!(
        s.revoke_families_for_user_clients(u.id, &["rp-a".into(), "rp-x".into()], t, "client")
            .await
            .unwrap(),
        2,
        "elsewhere and with_a"
    );
    assert!(s
        .get_family(with_c.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert!(s
        .get_family(other_user.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    // Everything else of the user.
    assert_eq!(s.revoke_user_families(u.id, t, "user").await.unwrap(), 1);
    assert_eq!(s.revoke_user_families(u.id, t, "user").await.unwrap(), 0);
    assert_eq!(
        s.get_family(with_c.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_reason
            .as_deref(),
        Some("user")
    );
    assert!(s
        .get_family(other_user.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
}

fn ids_of(sessions: &[monban::store::Session]) -> Vec<Uuid> {
    sessions.iter().map(|x| x.id).collect()
}
