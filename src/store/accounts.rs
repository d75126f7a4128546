//! Accounts: organisations, users, browser sessions and sign-in records. Expanded once
//! per pool type by [`impl_account_store!`].

/// Implements every store trait for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_account_store {
    ($store:ty, $db:ty) => {
        use $crate::store::{
            LoginAttempt, LoginEvent, LoginEventStore, NewUser, OrgStore, Organization, Session,
            SessionStore, StoreError, StoreResult, User, UserClaims, UserStore,
        };
        use $crate::store::sql::{insert_into, named_query, select};
        use async_trait::async_trait as __async_trait;
        use chrono::{DateTime, Utc};
        use uuid::Uuid;

        const USER_COLS: &str = "id, org_id, email, login_id, display_name, status, \
            password_hash, password_changed_at, failed_logins, lock_count, locked_until, \
            created_at, updated_at, email_verified, phone_number, phone_number_verified, address, locale, \
            password_change_required, password_change_requested_at, app_blocked_at, app_blocked_by, \
            login_id_changed_at, deleted_at, status_before_delete, roles";
        const SESSION_COLS: &str = "id, token_hash, org_id, user_id, created_at, \
            last_seen_at, expires_at, auth_time, amr, acr, ip, user_agent, ended_at, end_reason, \
            impersonator_id, support_grant_id";

        #[__async_trait]
        impl OrgStore for $store {
            async fn ensure_org(
                &self,
                slug: &str,
                name: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Organization> {
                insert_into!($db, "organizations", { id: Uuid::new_v4(), slug, name, created_at: now },
                    on_conflict: "ON CONFLICT (slug) DO NOTHING")
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                self.get_org_by_slug(slug).await
            }

            async fn get_org_by_slug(&self, slug: &str) -> StoreResult<Organization> {
                sqlx::query_as::<$db, Organization>(
                    "SELECT id, slug, name, created_at FROM organizations WHERE slug = $1",
                )
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)
            }
        }

        #[__async_trait]
        impl UserStore for $store {
            async fn insert_user(&self, n: &NewUser) -> StoreResult<User> {
                self.insert_user_with(Uuid::new_v4(), n, "", None, None).await
            }

            async fn insert_user_with(
                &self,
                id: Uuid,
                n: &NewUser,
                roles: &str,
                audit: Option<&$crate::store::AuditEvent>,
                message: Option<&$crate::store::OutboxMessage>,
            ) -> StoreResult<User> {
                let changed = n.password_hash.as_ref().map(|_| n.now);
                let mut tx = self.pool.begin().await?;
                insert_into!($db, "users", {
                    id,
                    org_id: n.org_id,
                    email: &n.email,
                    login_id: &n.login_id,
                    display_name: &n.display_name,
                    status: &n.status,
                    password_hash: &n.password_hash,
                    password_changed_at: changed,
                    failed_logins: 0_i64,
                    lock_count: 0_i64,
                    created_at: n.now,
                    updated_at: n.now,
                    roles,
                })
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
                if let Some(e) = audit {
                    insert_into!($db, "audit_events", e => {
                        id, org_id, actor_kind, actor_id, subject_user_id, action, ip, user_agent, details, at,
                    })
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                if let Some(m) = message {
                    insert_into!($db, "outbox", m => {
                        id, org_id, user_id, to_address, to_name, locale, kind, subject, body_text,
                        body_html, attempts, next_attempt_at, claimed_until, created_at, sent_at,
                        failed_at, last_error,
                    })
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                }
                let user = sqlx::query_as::<$db, User>(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLS} FROM users WHERE id = $1"
                )))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn get_user(&self, id: Uuid) -> StoreResult<User> {
                sqlx::query_as::<$db, User>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)
            }

            async fn count_users(&self, org_id: Uuid) -> StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>("SELECT COUNT(*) FROM users WHERE org_id = $1")
                    .bind(org_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn find_user_by_login(&self, org_id: Uuid, login: &str) -> StoreResult<Option<User>> {
                // E-mail first: a login id can never look like an e-mail (validated on write).
                Ok(select!($db, User, "SELECT {USER_COLS} FROM users WHERE org_id = $1 AND (email = $2 OR login_id = $2) \
                     ORDER BY CASE WHEN email = $2 THEN 0 ELSE 1 END LIMIT 1", org_id, login).fetch_optional(&self.pool).await?)
            }

            async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
                let r = sqlx::query::<$db>(
                    "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3, \
                     status = CASE WHEN status = 'pending' THEN 'active' ELSE status END WHERE id = $1",
                )
                .bind(id)
                .bind(hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn set_first_password(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                let r = sqlx::query::<$db>(
                    "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3, \
                     status = 'active' WHERE id = $1 AND status = 'pending' AND password_hash IS NULL",
                )
                .bind(id)
                .bind(hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_user_claims(&self, id: Uuid, c: &UserClaims, now: DateTime<Utc>) -> StoreResult<()> {
                let r = named_query!(
                    $db,
                    "UPDATE users SET email_verified = :email_verified, phone_number = :phone_number, \
                     phone_number_verified = :phone_number_verified, address = :address, locale = :locale, \
                     updated_at = :now WHERE id = :id",
                    {
                        id,
                        email_verified: c.email_verified,
                        phone_number: &c.phone_number,
                        phone_number_verified: c.phone_number_verified,
                        address: &c.address,
                        locale: &c.locale,
                        now,
                    }
                )
                .execute(&self.pool)
                .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn increment_failed_logins(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as::<$db, (i64,)>(
                    "UPDATE users SET failed_logins = failed_logins + 1, updated_at = $2 \
                     WHERE id = $1 RETURNING failed_logins",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                Ok(n)
            }

            async fn lock_user(
                &self,
                id: Uuid,
                until: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let r = sqlx::query::<$db>(
                    "UPDATE users SET status = 'locked', locked_until = $2, lock_count = lock_count + 1, \
                     failed_logins = 0, updated_at = $3 \
                     WHERE id = $1 AND (status = 'active' OR (status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $3))",
                )
                .bind(id)
                .bind(until)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn clear_login_failures(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query::<$db>(
                    "UPDATE users SET \
                     failed_logins = CASE WHEN status = 'locked' AND (locked_until IS NULL OR locked_until > $2) \
                                   THEN failed_logins ELSE 0 END, \
                     lock_count = CASE WHEN status = 'locked' AND (locked_until IS NULL OR locked_until > $2) \
                                   THEN lock_count ELSE 0 END, \
                     status = CASE WHEN status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $2 \
                                   THEN 'active' ELSE status END, \
                     locked_until = CASE WHEN status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $2 \
                                   THEN NULL ELSE locked_until END, \
                     updated_at = $2 WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn begin_login_attempt(
                &self,
                id: Uuid,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<LoginAttempt>> {
                // One statement: the row lock (PostgreSQL) or the write lock (SQLite)
                // orders concurrent attempts, each sees the count it made.
                Ok(sqlx::query_as::<$db, LoginAttempt>(
                    "UPDATE users SET failed_logins = failed_logins + 1, updated_at = $2 \
                     WHERE id = $1 AND status IN ('active', 'locked') \
                     RETURNING failed_logins, status, locked_until, lock_count",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn release_login_attempt(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                let r = sqlx::query::<$db>(
                    "UPDATE users SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END, \
                     updated_at = $2 \
                     WHERE id = $1 AND (status = 'active' OR (status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $2))",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn lock_user_if_due(
                &self,
                id: Uuid,
                max_failures: i64,
                until: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<Option<DateTime<Utc>>>> {
                let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as::<$db, (Option<DateTime<Utc>>,)>(
                    "UPDATE users SET status = 'locked', \
                     locked_until = CASE WHEN $3 IS NULL THEN NULL \
                                    WHEN status = 'locked' AND locked_until > $3 THEN locked_until ELSE $3 END, \
                     lock_count = lock_count + 1, failed_logins = 0, updated_at = $4 \
                     WHERE id = $1 AND failed_logins >= $2 \
                     AND (status = 'active' OR (status = 'locked' AND locked_until IS NOT NULL)) \
                     RETURNING locked_until",
                )
                .bind(id)
                .bind(max_failures)
                .bind(until)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(u,)| u))
            }
        }

        #[__async_trait]
        impl SessionStore for $store {
            async fn insert_session(&self, s: &Session) -> StoreResult<()> {
                insert_into!($db, "sessions", s => {
                    id, token_hash, org_id, user_id, created_at, last_seen_at, expires_at, auth_time,
                    amr, acr, ip, user_agent, ended_at, end_reason, impersonator_id, support_grant_id,
                })
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn find_live_session(&self, token_hash: &[u8]) -> StoreResult<Option<Session>> {
                Ok(select!($db, Session, "SELECT {SESSION_COLS} FROM sessions WHERE token_hash = $1 AND ended_at IS NULL", token_hash).fetch_optional(&self.pool).await?)
            }

            async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>> {
                Ok(select!($db, Session, "SELECT {SESSION_COLS} FROM sessions WHERE id = $1", id).fetch_optional(&self.pool).await?)
            }

            async fn touch_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query::<$db>("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_session(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<bool> {
                let r = sqlx::query::<$db>(
                    "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .bind(reason)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn end_user_sessions(
                &self,
                user_id: Uuid,
                now: DateTime<Utc>,
                reason: &str,
            ) -> StoreResult<Vec<Uuid>> {
                self.end_sessions_where("user_id = $1", user_id, None, now, reason).await
            }

            async fn end_user_sessions_except(
                &self,
                user_id: Uuid,
                keep: Uuid,
                now: DateTime<Utc>,
                reason: &str,
            ) -> StoreResult<Vec<Uuid>> {
                self.end_sessions_where("user_id = $1", user_id, Some(keep), now, reason).await
            }

            async fn list_live_sessions(&self, user_id: Uuid) -> StoreResult<Vec<Session>> {
                Ok(select!($db, Session, "SELECT {SESSION_COLS} FROM sessions WHERE user_id = $1 AND ended_at IS NULL \
                     ORDER BY created_at DESC", user_id).fetch_all(&self.pool).await?)
            }

            async fn list_sessions_ended_since(
                &self,
                user_id: Uuid,
                since: DateTime<Utc>,
            ) -> StoreResult<Vec<Session>> {
                Ok(select!($db, Session, "SELECT {SESSION_COLS} FROM sessions WHERE user_id = $1 AND ended_at >= $2",
                    user_id, since).fetch_all(&self.pool).await?)
            }
        }

        impl $store {
            /// Ends the live sessions matching `cond` (a condition on `$1`, which is
            /// `key`) but `keep`; returns the ids ended.
            pub(crate) async fn end_sessions_where(
                &self,
                cond: &'static str,
                key: Uuid,
                keep: Option<Uuid>,
                now: DateTime<Utc>,
                reason: &str,
            ) -> StoreResult<Vec<Uuid>> {
                let rows: Vec<(Uuid,)> = sqlx::query_as::<$db, (Uuid,)>(sqlx::AssertSqlSafe(format!(
                    "UPDATE sessions SET ended_at = $2, end_reason = $3 \
                     WHERE {cond} AND ended_at IS NULL AND ($4 IS NULL OR id <> $4) RETURNING id"
                )))
                .bind(key)
                .bind(now)
                .bind(reason)
                .bind(keep)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(id,)| id).collect())
            }
        }

        #[__async_trait]
        impl LoginEventStore for $store {
            async fn insert_login_event(&self, e: &LoginEvent) -> StoreResult<()> {
                insert_into!($db, "login_events", e => {
                    id, org_id, user_id, login, result, ip, user_agent, session_id, at,
                })
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
                Ok(())
            }

            async fn list_login_events(
                &self,
                user_id: Uuid,
                since: DateTime<Utc>,
                limit: i64,
            ) -> StoreResult<Vec<LoginEvent>> {
                Ok(sqlx::query_as::<$db, LoginEvent>(
                    "SELECT id, org_id, user_id, login, result, ip, user_agent, session_id, at \
                     FROM login_events WHERE user_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3",
                )
                .bind(user_id)
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_account_store;
