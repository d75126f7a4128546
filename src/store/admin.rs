//! Admin persistence: admin API tokens, organisation policies, and the user queries
//! and state changes admins make (listing with filters, status transitions, app
//! blocks, login id change, purges), plus filtered audit log reads.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{AuditEvent, Session, StoreResult, User};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AdminToken {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub token_hash: Vec<u8>,
    /// Space-separated `admin:*` scopes.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Filters and cursor for listing users (ordered by creation time, then id).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub status: Option<String>,
    pub mfa: Option<bool>,
    pub app_blocked: Option<bool>,
    /// Substring of e-mail, login id or display name (case-insensitive).
    pub q: Option<String>,
    /// Continue after this (created_at, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// What the member list shows beside each user: MFA on or off, last access.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserOverview {
    pub id: Uuid,
    pub mfa: bool,
    /// When a session of the user was last seen (none: never signed in).
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub subject_user_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Continue before this (at, id) — newest first.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

#[async_trait]
pub trait AdminStore {
    async fn insert_admin_token(&self, t: &AdminToken) -> StoreResult<()>;
    async fn find_admin_token(&self, token_hash: &[u8]) -> StoreResult<Option<AdminToken>>;
    async fn list_admin_tokens(&self, org_id: Uuid) -> StoreResult<Vec<AdminToken>>;
    async fn revoke_admin_token(
        &self,
        org_id: Uuid,
        id_or_name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn touch_admin_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    async fn get_policy(&self, org_id: Uuid) -> StoreResult<Option<String>>;
    async fn put_policy(&self, org_id: Uuid, json: &str, now: DateTime<Utc>) -> StoreResult<()>;

    async fn list_users(&self, org_id: Uuid, f: &UserFilter) -> StoreResult<Vec<User>>;
    /// For each of `ids` (a page of members): MFA on or off and the last access, in
    /// one query for the page.
    async fn user_overviews(&self, ids: &[Uuid]) -> StoreResult<Vec<UserOverview>>;
    /// Sets the given fields (None = unchanged).
    async fn update_user_profile(
        &self,
        id: Uuid,
        display_name: Option<&str>,
        email: Option<&str>,
        roles: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves a user from one of `from` to `to`; false when the user was in another state.
    async fn set_user_status(
        &self,
        id: Uuid,
        from: &[&str],
        to: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn soft_delete_user(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Restores a soft-deleted user deleted at or after `deleted_since`.
    async fn restore_user(
        &self,
        id: Uuid,
        deleted_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Lifts a lock (temporary or permanent) and resets the failure counters.
    async fn unlock_user(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn set_password_change_required(
        &self,
        id: Uuid,
        required: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Blocks (`Some(by)`) or unblocks (`None`) native apps; false when nothing changed.
    async fn set_app_block(
        &self,
        id: Uuid,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Changes the login id unless it was changed before; false then.
    async fn change_login_id(
        &self,
        id: Uuid,
        login_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn list_app_blocked(&self, org_id: Uuid) -> StoreResult<Vec<User>>;

    /// Sessions of a user created since `since`, live or ended, newest first.
    async fn list_sessions_since(
        &self,
        user_id: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;
    /// Revokes every grant issued under these sessions, offline ones included.
    async fn revoke_all_session_families(
        &self,
        sessions: &[Uuid],
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<u64>;
    /// Revokes every grant of a user, offline ones included.
    async fn revoke_user_families(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<u64>;
    /// Revokes the grants a user holds with these clients.
    async fn revoke_families_for_user_clients(
        &self,
        user_id: Uuid,
        client_ids: &[String],
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<u64>;

    /// Deletes users soft-deleted before `before` and everything that hangs off them.
    async fn purge_deleted_users(&self, before: DateTime<Utc>) -> StoreResult<Vec<Uuid>>;
    /// Deletes sign-in records and sessions that ended before `before`.
    async fn purge_history(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    async fn list_audit_filtered(
        &self,
        org_id: Uuid,
        f: &AuditFilter,
    ) -> StoreResult<Vec<AuditEvent>>;
}

/// Implements [`AdminStore`] for a store struct with a `pool` of `$db`.
macro_rules! impl_admin_store {
    ($store:ty, $db:ty, $user_cols:expr, $session_cols:expr) => {
        const _: () = {
            use $crate::store::admin::{AdminStore, AdminToken, AuditFilter, UserFilter, UserOverview};
            use $crate::store::audit::AUDIT_COLS;
            use $crate::store::sql::{insert_into, named_query, select};
            use $crate::store::{AuditEvent, Session, StoreError, StoreResult, User};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const TOKEN_COLS: &str =
                "id, org_id, name, token_hash, scopes, created_at, expires_at, revoked_at, last_used_at";

            /// Before any member's creation (0001-01-01T00:00:00Z): the list's cursor
            /// when none is given.
            fn list_start() -> DateTime<Utc> {
                DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).expect("0001-01-01 is a valid time")
            }

            fn prefixed(cols: &str, p: &str) -> String {
                cols.split(',').map(|c| format!("{p}.{}", c.trim())).collect::<Vec<_>>().join(", ")
            }

            #[async_trait::async_trait]
            impl AdminStore for $store {
                async fn insert_admin_token(&self, t: &AdminToken) -> StoreResult<()> {
                    insert_into!($db, "admin_tokens", t => {
                        id, org_id, name, token_hash, scopes, created_at, expires_at, revoked_at, last_used_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn find_admin_token(&self, token_hash: &[u8]) -> StoreResult<Option<AdminToken>> {
                    Ok(select!($db, AdminToken, "SELECT {TOKEN_COLS} FROM admin_tokens WHERE token_hash = $1", token_hash).fetch_optional(&self.pool).await?)
                }

                async fn list_admin_tokens(&self, org_id: Uuid) -> StoreResult<Vec<AdminToken>> {
                    Ok(select!($db, AdminToken, "SELECT {TOKEN_COLS} FROM admin_tokens WHERE org_id = $1 ORDER BY created_at", org_id).fetch_all(&self.pool).await?)
                }

                async fn revoke_admin_token(&self, org_id: Uuid, id_or_name: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let id = id_or_name.parse::<Uuid>().ok();
                    let r = sqlx::query::<$db>(
                        "UPDATE admin_tokens SET revoked_at = $3 WHERE org_id = $1 AND revoked_at IS NULL \
                         AND (name = $2 OR id = $4)",
                    )
                    .bind(org_id)
                    .bind(id_or_name)
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() > 0)
                }

                async fn touch_admin_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>("UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_policy(&self, org_id: Uuid) -> StoreResult<Option<String>> {
                    let row: Option<(String,)> =
                        sqlx::query_as::<$db, (String,)>("SELECT policy FROM org_policies WHERE org_id = $1")
                            .bind(org_id)
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(row.map(|(p,)| p))
                }

                async fn put_policy(&self, org_id: Uuid, json: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    insert_into!($db, "org_policies", { org_id, policy: json, updated_at: now },
                        on_conflict: "ON CONFLICT (org_id) DO UPDATE SET policy = excluded.policy, \
                                      updated_at = excluded.updated_at")
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn user_overviews(&self, ids: &[Uuid]) -> StoreResult<Vec<UserOverview>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT u.id, (EXISTS (SELECT 1 FROM mfa_totp m WHERE m.user_id = u.id) OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = u.id)) AS mfa, \
                         (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at \
                         FROM users u WHERE u.id IN ({})",
                        marks.join(", ")
                    );
                    // Only `$n` placeholders are interpolated; the ids are bound.
                    let mut q = sqlx::query_as::<$db, UserOverview>(sqlx::AssertSqlSafe(sql));
                    for id in ids {
                        q = q.bind(*id);
                    }
                    Ok(q.fetch_all(&self.pool).await?)
                }

                async fn list_users(&self, org_id: Uuid, f: &UserFilter) -> StoreResult<Vec<User>> {
                    let q = f.q.as_ref().map(|q| {
                        let esc = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                        format!("%{esc}%")
                    });
                    // Without a cursor, from before the first member: the cursor is then
                    // always a range on the index users_org_created (org_id, created_at,
                    // id), which walks the list's order and stops after the page, at the
                    // first page as 90,000 members in (an `:after IS NULL OR …` test
                    // would hide the range from SQLite's planner and from PostgreSQL's
                    // generic plans).
                    let (after_t, after_id) = f.after.unwrap_or((list_start(), Uuid::nil()));
                    Ok(named_query!(
                        $db as User,
                        format!(
                            "SELECT {cols} FROM users u WHERE u.org_id = :org_id \
                             AND (:status IS NULL OR u.status = :status) \
                             AND (:mfa IS NULL OR (EXISTS (SELECT 1 FROM mfa_totp m WHERE m.user_id = u.id) OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = u.id)) = :mfa) \
                             AND (:app_blocked IS NULL OR (u.app_blocked_at IS NOT NULL) = :app_blocked) \
                             AND (:q IS NULL OR u.email LIKE :q ESCAPE '\\' OR u.login_id LIKE :q ESCAPE '\\' \
                                  OR LOWER(u.display_name) LIKE :q ESCAPE '\\') \
                             AND (u.created_at, u.id) > (:after_t, :after_id) \
                             ORDER BY u.created_at, u.id LIMIT :limit",
                            cols = prefixed($user_cols, "u")
                        ),
                        {
                            org_id,
                            status: &f.status,
                            mfa: f.mfa,
                            app_blocked: f.app_blocked,
                            q,
                            after_t,
                            after_id,
                            limit: f.limit,
                        }
                    )
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn update_user_profile(
                    &self,
                    id: Uuid,
                    display_name: Option<&str>,
                    email: Option<&str>,
                    roles: Option<&str>,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET display_name = COALESCE($2, display_name), email = COALESCE($3, email), \
                         email_verified = CASE WHEN $3 IS NULL OR $3 = email THEN email_verified ELSE FALSE END, \
                         roles = COALESCE($4, roles), updated_at = $5 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(display_name)
                    .bind(email)
                    .bind(roles)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    if r.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn set_user_status(&self, id: Uuid, from: &[&str], to: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let from = from.join(",");
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET status = $3, updated_at = $4 \
                         WHERE id = $1 AND (',' || $2 || ',') LIKE ('%,' || status || ',%')",
                    )
                    .bind(id)
                    .bind(from)
                    .bind(to)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn soft_delete_user(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET status_before_delete = status, status = 'deleted', deleted_at = $2, \
                         updated_at = $2 WHERE id = $1 AND status <> 'deleted'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn restore_user(&self, id: Uuid, deleted_since: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET status = COALESCE(status_before_delete, 'active'), status_before_delete = NULL, \
                         deleted_at = NULL, updated_at = $3 \
                         WHERE id = $1 AND status = 'deleted' AND deleted_at >= $2",
                    )
                    .bind(id)
                    .bind(deleted_since)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn unlock_user(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET status = 'active', locked_until = NULL, failed_logins = 0, lock_count = 0, \
                         updated_at = $2 WHERE id = $1 AND status = 'locked'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn set_password_change_required(&self, id: Uuid, required: bool, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET password_change_required = $2, \
                         password_change_requested_at = CASE WHEN $2 THEN $3 ELSE password_change_requested_at END, \
                         updated_at = $3 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(required)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn set_app_block(&self, id: Uuid, by: Option<&str>, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = match by {
                        Some(by) => sqlx::query::<$db>(
                            "UPDATE users SET app_blocked_at = $2, app_blocked_by = $3, updated_at = $2 \
                             WHERE id = $1 AND app_blocked_at IS NULL",
                        )
                        .bind(id)
                        .bind(now)
                        .bind(by),
                        None => sqlx::query::<$db>(
                            "UPDATE users SET app_blocked_at = NULL, app_blocked_by = NULL, updated_at = $2 \
                             WHERE id = $1 AND app_blocked_at IS NOT NULL",
                        )
                        .bind(id)
                        .bind(now),
                    }
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn change_login_id(&self, id: Uuid, login_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let r = sqlx::query::<$db>(
                        "UPDATE users SET login_id = $2, login_id_changed_at = $3, updated_at = $3 \
                         WHERE id = $1 AND login_id_changed_at IS NULL",
                    )
                    .bind(id)
                    .bind(login_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(r.rows_affected() == 1)
                }

                async fn list_app_blocked(&self, org_id: Uuid) -> StoreResult<Vec<User>> {
                    Ok(sqlx::query_as::<$db, User>(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM users WHERE org_id = $1 AND app_blocked_at IS NOT NULL ORDER BY app_blocked_at",
                        $user_cols
                    )))
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn list_sessions_since(&self, user_id: Uuid, since: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Session>> {
                    Ok(sqlx::query_as::<$db, Session>(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sessions WHERE user_id = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT $3",
                        $session_cols
                    )))
                    .bind(user_id)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn revoke_all_session_families(&self, sessions: &[Uuid], now: DateTime<Utc>, reason: &str) -> StoreResult<u64> {
                    let mut n = 0;
                    for s in sessions {
                        n += self.revoke_families_where("session_id = $1", *s, now, reason).await?;
                    }
                    Ok(n)
                }

                async fn revoke_user_families(&self, user_id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<u64> {
                    self.revoke_families_where("user_id = $1", user_id, now, reason).await
                }

                async fn revoke_families_for_user_clients(
                    &self,
                    user_id: Uuid,
                    client_ids: &[String],
                    now: DateTime<Utc>,
                    reason: &str,
                ) -> StoreResult<u64> {
                    let mut n = 0;
                    for c in client_ids {
                        n += sqlx::query::<$db>(
                            "UPDATE token_families SET revoked_at = $3, revoked_reason = $4 \
                             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                        )
                        .bind(user_id)
                        .bind(c)
                        .bind(now)
                        .bind(reason)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    }
                    Ok(n)
                }

                async fn purge_deleted_users(&self, before: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
                    let ids: Vec<(Uuid,)> = sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT id FROM users WHERE status = 'deleted' AND deleted_at < $1",
                    )
                    .bind(before)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut out = Vec::new();
                    for (id,) in ids {
                        let mut tx = self.pool.begin().await?;
                        for sql in [
                            "DELETE FROM refresh_tokens WHERE family_id IN (SELECT id FROM token_families WHERE user_id = $1)",
                            "DELETE FROM authorization_codes WHERE user_id = $1",
                            "DELETE FROM token_families WHERE user_id = $1",
                            "DELETE FROM consents WHERE user_id = $1",
                            "DELETE FROM support_grants WHERE user_id = $1",
                            "DELETE FROM support_requests WHERE user_id = $1 OR support_user_id = $1",
                            "DELETE FROM device_authorizations WHERE user_id = $1",
                            "DELETE FROM mfa_pending WHERE user_id = $1",
                            "DELETE FROM mfa_challenges WHERE user_id = $1",
                            "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                            "DELETE FROM mfa_totp WHERE user_id = $1",
                            "DELETE FROM passkeys WHERE user_id = $1",
                            "DELETE FROM linked_logins WHERE user_id = $1",
                            "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
                            "DELETE FROM mfa_grace WHERE user_id = $1",
                            "DELETE FROM login_events WHERE user_id = $1",
                            "DELETE FROM session_clients WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
                            "DELETE FROM saml_session_sps WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
                            "DELETE FROM sessions WHERE user_id = $1",
                            "DELETE FROM users WHERE id = $1 AND status = 'deleted'",
                        ] {
                            sqlx::query::<$db>(sql).bind(id).execute(&mut *tx).await?;
                        }
                        tx.commit().await?;
                        out.push(id);
                    }
                    Ok(out)
                }

                async fn purge_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                    let mut tx = self.pool.begin().await?;
                    let mut n = sqlx::query::<$db>("DELETE FROM login_events WHERE at < $1")
                        .bind(before)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    for sql in [
                        "DELETE FROM device_authorizations WHERE expires_at < $1",
                        "DELETE FROM session_clients WHERE session_id IN \
                         (SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1)",
                        "DELETE FROM mfa_pending WHERE session_id IN \
                         (SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1)",
                        "DELETE FROM saml_session_sps WHERE session_id IN \
                         (SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1)",
                    ] {
                        sqlx::query::<$db>(sql).bind(before).execute(&mut *tx).await?;
                    }
                    n += sqlx::query::<$db>("DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1")
                        .bind(before)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(n)
                }

                async fn list_audit_filtered(&self, org_id: Uuid, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
                    let (bt, bid) = match f.before {
                        Some((t, id)) => (Some(t), Some(id)),
                        None => (None, None),
                    };
                    Ok(named_query!(
                        $db as AuditEvent,
                        format!(
                            "SELECT {AUDIT_COLS} FROM audit_events WHERE org_id = :org_id \
                             AND (:actor_id IS NULL OR actor_id = :actor_id) \
                             AND (:subject_user_id IS NULL OR subject_user_id = :subject_user_id) \
                             AND (:action IS NULL OR action = :action) AND (:from IS NULL OR at >= :from) \
                             AND (:to IS NULL OR at < :to) \
                             AND (:before_t IS NULL OR at < :before_t OR (at = :before_t AND id < :before_id)) \
                             ORDER BY at DESC, id DESC LIMIT :limit"
                        ),
                        {
                            org_id,
                            actor_id: f.actor_id,
                            subject_user_id: f.subject_user_id,
                            action: &f.action,
                            from: f.from,
                            to: f.to,
                            before_t: bt,
                            before_id: bid,
                            limit: f.limit,
                        }
                    )
                    .fetch_all(&self.pool)
                    .await?)
                }
            }
        };
    };
}

pub(crate) use impl_admin_store;
