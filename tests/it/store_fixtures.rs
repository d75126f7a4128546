//! Shared set-up of the direct store tests (`store_*` modules): a migrated database
//! on one dialect with an organisation, and builders for the rows most tests need.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use monban::clock::{Clock, SystemClock};
use monban::store::oidc::{Client, TokenFamily};
use monban::store::support::{SupportGrant, SupportRequest};
use monban::store::{self, AuditEvent, NewUser, Session, Store, User};
use uuid::Uuid;

use crate::common::{Backend, TestDb};

/// Microsecond-precise now (what both dialects store exactly).
pub fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// A fresh, migrated database with the `default` organisation.
pub async fn open(b: Backend) -> (TestDb, Store, Uuid) {
    let db = TestDb::new(b).expect("database");
    let s = store::connect_and_migrate(&db.config()).await.unwrap();
    let org = s.ensure_org("default", "Default", now()).await.unwrap().id;
    (db, s, org)
}

pub fn new_user(org: Uuid, email: &str, at: DateTime<Utc>) -> NewUser {
    NewUser {
        org_id: org,
        email: email.into(),
        login_id: None,
        display_name: email.split('@').next().unwrap().into(),
        status: "active".into(),
        password_hash: Some("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into()),
        now: at,
    }
}

pub async fn user(s: &Store, org: Uuid, email: &str) -> User {
    s.insert_user(&new_user(org, email, now())).await.unwrap()
}

pub fn session(org: Uuid, user: Uuid, created: DateTime<Utc>) -> Session {
    Session {
        id: Uuid::new_v4(),
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        org_id: org,
        user_id: user,
        created_at: created,
        last_seen_at: created,
        expires_at: created + Duration::hours(8),
        auth_time: created,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        ip: Some("192.0.2.7".into()),
        user_agent: Some("UA".into()),
        ended_at: None,
        end_reason: None,
        impersonator_id: None,
        support_grant_id: None,
    }
}

pub async fn live_session(s: &Store, org: Uuid, user: Uuid) -> Session {
    let x = session(org, user, now());
    s.insert_session(&x).await.unwrap();
    x
}

pub fn client(org: Uuid, client_id: &str, at: DateTime<Utc>) -> Client {
    Client {
        id: Uuid::new_v4(),
        org_id: org,
        client_id: client_id.into(),
        name: format!("RP {client_id}"),
        kind: "confidential".into(),
        application_type: "web".into(),
        secret_hash: Some(vec![1, 2, 3]),
        token_endpoint_auth_method: "client_secret_basic".into(),
        redirect_uris: r#"["https://rp.example.com/cb"]"#.into(),
        post_logout_redirect_uris: "[]".into(),
        allowed_scopes: "openid profile email offline_access".into(),
        grant_types: "authorization_code refresh_token".into(),
        signing_alg: "RS256".into(),
        jwks: None,
        backchannel_logout_uri: Some("https://rp.example.com/bcl".into()),
        first_party: false,
        disabled: false,
        created_at: at,
        updated_at: at,
        requires_admin_approval: false,
    }
}

pub fn family(client_id: &str, user: Uuid, session: Option<Uuid>, offline: bool) -> TokenFamily {
    let t = now();
    TokenFamily {
        id: Uuid::new_v4(),
        client_id: client_id.into(),
        user_id: user,
        session_id: session,
        scope: "openid".into(),
        auth_time: t,
        amr: "pwd".into(),
        acr: "urn:monban:acr:pwd".into(),
        offline,
        claims: None,
        created_at: t,
        revoked_at: None,
        revoked_reason: None,
        impersonator_id: None,
        support_grant_id: None,
    }
}

/// Runs `n` copies of `f` at once and counts the ones that returned true.
pub async fn winners<F, Fut>(n: usize, f: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(f())).collect();
    let mut won = 0;
    for t in tasks {
        won += t.await.unwrap() as usize;
    }
    won
}

pub fn grant(org: Uuid, user: Uuid, source: &str, created: DateTime<Utc>) -> SupportGrant {
    SupportGrant {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: user,
        token_hash: Uuid::new_v4().as_bytes().to_vec(),
        source: source.into(),
        readonly: true,
        client_ids: "[]".into(),
        target: None,
        created_at: created,
        expires_at: created + Duration::hours(1),
        revoked_at: None,
        redeemed_at: None,
        redeemed_by: None,
    }
}

pub fn support_request(
    org: Uuid,
    engineer: Uuid,
    user: Uuid,
    created: DateTime<Utc>,
) -> SupportRequest {
    SupportRequest {
        id: Uuid::new_v4(),
        org_id: org,
        support_user_id: engineer,
        user_id: user,
        reason: "ticket #42".into(),
        readonly: false,
        client_ids: r#"["rp"]"#.into(),
        duration_secs: 3600,
        status: "pending".into(),
        created_at: created,
        expires_at: created + Duration::hours(24),
        decided_at: None,
        decided_by: None,
        grant_id: None,
    }
}

pub fn audit(org: Uuid, action: &str, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        org_id: org,
        actor_kind: "admin".into(),
        actor_id: None,
        subject_user_id: None,
        action: action.into(),
        ip: None,
        user_agent: None,
        details: "{}".into(),
        at,
    }
}

/// Runs one statement on the test database directly (not through the store), e.g.
/// to check what the schema itself refuses.
pub async fn raw_execute(db: &TestDb, sql: &'static str) -> Result<u64, sqlx::Error> {
    if db.schema.is_empty() {
        let pool = sqlx::SqlitePool::connect(&db.url).await?;
        let r = sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected());
        pool.close().await;
        r
    } else {
        use std::str::FromStr;
        let opts = sqlx::postgres::PgConnectOptions::from_str(&db.url)?
            .options([("search_path", db.schema.as_str())]);
        let pool = sqlx::PgPool::connect_with(opts).await?;
        let r = sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected());
        pool.close().await;
        r
    }
}
