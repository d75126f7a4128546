//! The organisation's MFA policy (forced enrolment, grace period), step-up of a
//! password-only session, what SSO must ask before completing, the admin-side domain
//! functions, and the security event log.

use crate::common;
use crate::mfa_support;

use chrono::Duration;
use common::{Backend, TestApp};
use mfa_support::*;
use monban::audit::Actor;
use monban::authn::mfa;
use monban::clock::Clock;
use reqwest::StatusCode;

on_both_backends!(
    required_policy_forces_enrolment_before_sso,
    grace_period_lets_users_put_enrolment_off,
    step_up_upgrades_a_password_only_session,
    sso_requirement_and_session_helpers,
    admin_status_and_reset,
    audit_events_are_append_only,
);

const AUTHORIZE: &str = "/authorize?client_id=app&acr_values=x";

async fn required_policy_forces_enrolment_before_sso(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.mfa.required = true)
        .await
        .unwrap();
    let user = app.create_user("rae@example.com", PW).await;
    let c = app.client();
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("username", "rae@example.com"),
            ("password", PW),
            ("csrf_token", &token),
            ("return_to", AUTHORIZE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let enrol = location(&r);
    assert_eq!(enrol, mfa::enrol_path(AUTHORIZE));
    assert!(enrol.starts_with("/account/mfa/enroll?return_to=%2Fauthorize%3F"));
    // SSO must not complete yet: it is told where to send the user.
    let s = newest_session(&app, user.id).await;
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &s, AUTHORIZE)
            .await
            .unwrap(),
        Some(enrol.clone())
    );
    // The enrolment page (the password was just entered: no re-entry) has no way out.
    let r = c.get(app.url(&enrol)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Your organisation requires two-step verification."));
    assert!(!html.contains(r#"id="skip""#));
    let pending = field_value(&html, "pending_id").unwrap();
    let key = between(&html, "<code id=\"totp-key\">", "<").unwrap();
    let auth = Authenticator::from_base32(key);
    let token = app.csrf(&c, "/login").await;
    let r = c
        .post(app.url("/account/mfa/enroll"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("pending_id", &pending),
            ("code", &auth.code(&app, 0)),
            ("return_to", AUTHORIZE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("href=\"/authorize?client_id=app&amp;acr_values=x\""),
        "continue to SSO"
    );
    // Now SSO may go ahead: the session did the second step at enrolment.
    let s = newest_session(&app, user.id).await;
    assert!(mfa::session_has_mfa(&s));
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &s, AUTHORIZE)
            .await
            .unwrap(),
        None
    );
    // While required, MFA cannot be turned off by the user.
    let r = c.get(app.url("/account/mfa/disable")).send().await.unwrap();
    assert_eq!(location(&r), "/account/mfa");
    let r = post_form(&app, &c, "/account/mfa/disable", &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(mfa::is_enabled(&app.state, user.id).await.unwrap());
    // Next sign-ins take the second step and go straight on.
    app.clock.advance(Duration::seconds(30));
    let c2 = app.client();
    password_step(&app, &c2, "rae@example.com").await;
    let r = submit_code(&app, &c2, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(location(&r), "/account");
}

async fn grace_period_lets_users_put_enrolment_off(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.mfa.required = true;
        c.mfa.grace_period_days = 7;
    })
    .await
    .unwrap();
    let user = app.create_user("sam@example.com", PW).await;
    let c = app.client();
    let r = app.login(&c, "sam@example.com", PW).await;
    assert_eq!(location(&r), mfa::enrol_path("/account"));
    let html = c
        .get(app.url(&location(&r)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your organisation requires two-step verification."));
    assert!(html.contains(r#"<a id="skip" href="/account">"#), "{html}");
    let s = newest_session(&app, user.id).await;
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &s, AUTHORIZE)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        mfa::enforcement(&app.state, &user).await.unwrap(),
        mfa::Enforcement::Grace { until } if until == app.clock.now() + Duration::days(7)
    ));
    // Days later, still in grace: counted from the first prompt, not from now.
    app.clock.advance(Duration::days(6));
    let c = app.client();
    app.login(&c, "sam@example.com", PW).await;
    let s = newest_session(&app, user.id).await;
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &s, AUTHORIZE)
            .await
            .unwrap(),
        None
    );
    // After the grace period: enrolment is forced.
    app.clock.advance(Duration::days(1) + Duration::seconds(1));
    let c = app.client();
    let r = app.login(&c, "sam@example.com", PW).await;
    assert_eq!(location(&r), mfa::enrol_path("/account"));
    let html = c
        .get(app.url(&location(&r)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(r#"id="skip""#));
    let s = newest_session(&app, user.id).await;
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &s, AUTHORIZE)
            .await
            .unwrap(),
        Some(mfa::enrol_path(AUTHORIZE))
    );
    // A user created later gets the full grace from their own first prompt.
    let newer = app.create_user("tia@example.com", PW).await;
    app.login(&app.client(), "tia@example.com", PW).await;
    assert!(matches!(
        mfa::enforcement(&app.state, &newer).await.unwrap(),
        mfa::Enforcement::Grace { .. }
    ));
}

async fn step_up_upgrades_a_password_only_session(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let user = app.create_user("uma@example.com", PW).await;
    // Browser A signs in with the password only; then the user enrols in browser B.
    let a = app.client();
    app.login(&a, "uma@example.com", PW).await;
    let a_session = newest_session(&app, user.id).await;
    let bb = app.client();
    app.login(&bb, "uma@example.com", PW).await;
    let (auth, codes) = enrol_signed_in(&app, &bb).await;
    let a_row = app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == a_session.id)
        .unwrap();
    assert_eq!(a_row.amr, "pwd");
    assert!(!mfa::session_has_mfa(&a_row));
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &a_row, AUTHORIZE)
            .await
            .unwrap(),
        Some(mfa::step_up_path(AUTHORIZE))
    );
    // Changing MFA from A needs the step-up first.
    let r = a
        .get(app.url("/account/mfa/backup-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), mfa::step_up_path("/account/mfa/backup-codes"));

    let step_up = mfa::step_up_path(AUTHORIZE);
    let r = a.get(app.url(&step_up)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("confirm it is you"));
    let r = submit_code(&app, &a, "/login/mfa", "000001").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = submit_code(&app, &a, "/login/mfa", &auth.code(&app, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), AUTHORIZE);
    assert!(
        common::set_cookie(&r, "monban_session").is_none(),
        "same session, upgraded"
    );
    let a_row = app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == a_session.id)
        .unwrap();
    assert_eq!(a_row.amr, "pwd otp mfa");
    assert_eq!(a_row.acr, "urn:monban:acr:mfa");
    assert_eq!(a_row.auth_time, app.clock.now());
    assert_eq!(
        mfa::sso_requirement(&app.state, &user, &a_row, AUTHORIZE)
            .await
            .unwrap(),
        None
    );
    // Already MFA: the step-up page goes straight on.
    let r = a.get(app.url(&step_up)).send().await.unwrap();
    assert_eq!(location(&r), AUTHORIZE);

    // Step-up with a backup code, from another password-only session.
    app.clock.advance(Duration::seconds(30));
    // (a password-only session for an MFA user: sign in before MFA existed is not
    // possible any more, so make one directly)
    let (s, cookie) = monban::sessions::create(
        &app.state,
        &user,
        &monban::sessions::AuthContext::password(),
        &Default::default(),
    )
    .await
    .unwrap();
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let jar_cookie = |extra: &str| format!("monban_session={cookie}{extra}");
    let r = raw
        .get(app.url(&mfa::step_up_path("/account")))
        .header("cookie", jar_cookie(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ch = common::cookie_value(common::set_cookie(&r, "monban_mfa").unwrap());
    let csrf_cookie = common::cookie_value(common::set_cookie(&r, "monban_csrf").unwrap());
    let csrf = common::extract_csrf(&r.text().await.unwrap()).unwrap();
    // The step-up challenge is bound to its session: without it, refused.
    let r = raw
        .post(app.url("/login/backup-code"))
        .header(
            "cookie",
            format!("monban_csrf={csrf_cookie}; monban_mfa={ch}"),
        )
        .form(&[("code", codes[0].as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = raw
        .get(app.url(&mfa::step_up_path("/account")))
        .header(
            "cookie",
            jar_cookie(&format!("; monban_csrf={csrf_cookie}")),
        )
        .send()
        .await
        .unwrap();
    let ch = common::cookie_value(common::set_cookie(&r, "monban_mfa").unwrap());
    let r = raw
        .post(app.url("/login/backup-code"))
        .header(
            "cookie",
            jar_cookie(&format!("; monban_csrf={csrf_cookie}; monban_mfa={ch}")),
        )
        .form(&[("code", codes[0].as_str()), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let row = app
        .state
        .store
        .list_live_sessions(user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == s.id)
        .unwrap();
    assert_eq!(row.amr, "pwd backup_code mfa");
    assert_eq!(row.acr, "urn:monban:acr:mfa");

    // Without a session, step-up sends to the sign-in page (which then does both steps).
    let r = app.client().get(app.url(&step_up)).send().await.unwrap();
    assert!(location(&r).starts_with("/login?return_to=%2Fauthorize"));
    let steps: Vec<String> = audit_actions(&app, user.id)
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.step_up")
        .map(|e| e.details)
        .collect();
    assert_eq!(steps.len(), 2, "{steps:?}");
}

async fn sso_requirement_and_session_helpers(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    // No policy, no MFA: SSO goes ahead.
    let plain = app.create_user("val@example.com", PW).await;
    let c = app.client();
    app.login(&c, "val@example.com", PW).await;
    let s = newest_session(&app, plain.id).await;
    assert!(!mfa::session_has_mfa(&s));
    assert_eq!(
        mfa::sso_requirement(&app.state, &plain, &s, "/x")
            .await
            .unwrap(),
        None
    );
    // A user without MFA whose RP asks for MFA (step-up) is sent to enrol.
    let r = c
        .get(app.url(&mfa::step_up_path("/x")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), mfa::enrol_path("/x"));
    // After a TOTP sign-in, SSO goes ahead.
    let setup = app.client();
    let (u, auth, _) = enrolled_user(&app, &setup, "wes@example.com").await;
    sign_in_with_totp(&app, "wes@example.com", &auth).await;
    let s = newest_session(&app, u.id).await;
    assert!(mfa::session_has_mfa(&s));
    assert_eq!(
        mfa::sso_requirement(&app.state, &u, &s, "/x")
            .await
            .unwrap(),
        None
    );
    // Only local return paths are carried.
    let r = c
        .get(app.url("/login/mfa?step_up=1&return_to=https%3A%2F%2Fevil.example%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), mfa::enrol_path("/account"));
}

async fn admin_status_and_reset(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, _, codes) = enrolled_user(&app, &c, "xia@example.com").await;
    let st = mfa::status(&app.state, user.id).await.unwrap();
    assert!(st.enabled);
    assert_eq!(st.backup_codes_remaining, 10);
    assert!(st.enrolled_at.is_some());
    let admin = uuid::Uuid::new_v4();
    let meta = monban::sessions::RequestMeta {
        ip: Some("192.0.2.9".into()),
        user_agent: Some("admin-console".into()),
    };
    assert!(
        mfa::reset(&app.state, user.id, &Actor::admin(Some(admin)), &meta)
            .await
            .unwrap()
    );
    let st = mfa::status(&app.state, user.id).await.unwrap();
    assert_eq!(
        st,
        mfa::MfaStatus {
            enabled: false,
            totp: false,
            enrolled_at: None,
            backup_codes_remaining: 0,
            passkeys: vec![],
        }
    );
    // Password alone signs in; the old codes are gone for good.
    let r = app.login(&app.client(), "xia@example.com", PW).await;
    assert_eq!(location(&r), "/account");
    let c3 = app.client();
    app.login(&c3, "xia@example.com", PW).await;
    enrol_signed_in(&app, &c3).await;
    let c2 = app.client();
    password_step(&app, &c2, "xia@example.com").await;
    let r = submit_code(&app, &c2, "/login/backup-code", &codes[0]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let reset = audit_actions(&app, user.id)
        .await
        .into_iter()
        .find(|e| e.action == "mfa.reset")
        .unwrap();
    assert_eq!(reset.actor_kind, "admin");
    assert_eq!(reset.actor_id, Some(admin));
    assert_eq!(reset.subject_user_id, Some(user.id));
    assert_eq!(reset.ip.as_deref(), Some("192.0.2.9"));
    assert_eq!(reset.user_agent.as_deref(), Some("admin-console"));
}

async fn audit_events_are_append_only(b: Backend) {
    let app = TestApp::spawn(b).await.unwrap();
    let c = app.client();
    let (user, _, _) = enrolled_user(&app, &c, "yui@example.com").await;
    let all = app
        .state
        .store
        .list_audit_events(app.state.org.id, app.clock.now() - Duration::days(1), 100)
        .await
        .unwrap();
    assert!(all.iter().any(|e| e.subject_user_id == Some(user.id)));
    let url = app.db.url.clone();
    let schema = app.db.schema.clone();
    let errs = match b {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            [
                sqlx::query("UPDATE audit_events SET action = 'x'")
                    .execute(&mut conn)
                    .await
                    .is_err(),
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err(),
            ]
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET search_path TO \"{schema}\""
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            [
                sqlx::query("UPDATE audit_events SET action = 'x'")
                    .execute(&mut conn)
                    .await
                    .is_err(),
                sqlx::query("DELETE FROM audit_events")
                    .execute(&mut conn)
                    .await
                    .is_err(),
            ]
        }
    };
    assert_eq!(errs, [true, true], "UPDATE and DELETE are refused");
    assert_eq!(audit_actions(&app, user.id).await.len(), 1);
}
