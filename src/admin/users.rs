//! `/admin/v1/users…`: thin handlers over [`crate::users`] and
//! [`crate::users::actions`].

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::Duration;
use uuid::Uuid;

use super::auth::Admin;
use super::views::*;
use crate::core::Core;
use crate::error::Kind;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::store::admin::UserFilter;
use crate::store::User;
use crate::users::{self, actions};

async fn view(state: &Core, u: &User) -> AppResult<UserView> {
    let mfa = state.store.get_totp(u.id).await?.is_some();
    Ok(UserView::new(u, mfa, state.clock.now()))
}

async fn ok_user(state: &Core, u: User) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(view(state, &u).await?))
}

#[utoipa::path(post, path = "/admin/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 201, body = UserView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:write"])))]
pub async fn create_user(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<CreateUserRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:write")?;
    let b = body.into_inner();
    if let Some(r) = &b.roles {
        if let Some(bad) = r.iter().find(|x| !users::ROLES.contains(&x.as_str())) {
            return Err(
                AppError::bad_request("invalid_role", format!("unknown role {bad}"))
                    .with_field("roles", "unknown role"),
            );
        }
    }
    let user = users::create(
        &state,
        users::CreateUser {
            email: b.email,
            login_id: b.login_id,
            display_name: b.display_name,
            password: b.password,
        },
    )
    .await?;
    let user = match b.roles {
        Some(r) if !r.is_empty() => {
            actions::update_profile(&state, &admin.ctx, user.id, None, None, Some(&r)).await?
        }
        _ => user,
    };
    crate::audit::record(
        &state,
        &admin.ctx.actor,
        Some(user.id),
        crate::audit::action::USER_CREATED,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label, "status": user.status }),
    )
    .await?;
    if user.status == crate::store::user_status::PENDING {
        users::invite(&state, &user).await?;
    }
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/v1/users/{}", user.id)))
        .json(view(&state, &user).await?))
}

#[utoipa::path(get, path = "/admin/v1/users", tag = "users", params(UserListQuery),
    responses((status = 200, body = UserPage)),
    security(("bearer" = ["admin:users:read"])))]
pub async fn list_users(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<UserListQuery>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:read")?;
    let q = q.into_inner();
    if let Some(s) = &q.status {
        if !["active", "pending", "suspended", "locked", "deleted"].contains(&s.as_str()) {
            return Err(AppError::bad_request("invalid_status", "unknown status")
                .with_field("status", "unknown"));
        }
    }
    let limit = page_limit(&state, q.limit, 50)?;
    let after = cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_users(
            state.org.id,
            &UserFilter {
                status: q.status,
                mfa: q.mfa,
                app_blocked: q.app_blocked,
                q: q.q
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().chars().take(100).collect()),
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let mut items = Vec::new();
    for u in rows.iter().take(limit as usize) {
        items.push(view(&state, u).await?);
    }
    let next_cursor = more
        .then(|| {
            rows.get(limit as usize - 1)
                .map(|u| encode_cursor(u.created_at, u.id))
        })
        .flatten();
    Ok(HttpResponse::Ok().json(UserPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn get_user(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:read")?;
    ok_user(&state, actions::get(&state, *id).await?).await
}

#[utoipa::path(patch, path = "/admin/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = PatchUserRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:write"])))]
pub async fn patch_user(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<PatchUserRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:write")?;
    let b = body.into_inner();
    let u = actions::update_profile(
        &state,
        &admin.ctx,
        *id,
        b.display_name.as_deref(),
        b.email.as_deref(),
        b.roles.as_deref(),
    )
    .await?;
    ok_user(&state, u).await
}

macro_rules! user_action {
    ($name:ident, $method:ident, $path:literal, $scope:literal, $action:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = "users", params(("id" = Uuid, Path)),
            responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
            security(("bearer" = [$scope])))]
        pub async fn $name(admin: Admin, state: web::Data<AppState>, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
            admin.require($scope)?;
            let u = $action(&state, &admin.ctx, *id).await?;
            ok_user(&state, u).await
        }
    };
}

user_action!(
    delete_user,
    delete,
    "/admin/v1/users/{id}",
    "admin:users:write",
    actions::delete,
    "Soft delete: every session ends; restorable for `retention.deleted_user_days`."
);
user_action!(
    restore_user,
    post,
    "/admin/v1/users/{id}/restore",
    "admin:users:write",
    actions::restore,
    "Restores a soft-deleted user within the restore window (409 after)."
);
user_action!(
    suspend_user,
    post,
    "/admin/v1/users/{id}/suspend",
    "admin:security",
    actions::suspend,
    "Suspends: no sign-in, every session and grant ends, data kept."
);
user_action!(
    unsuspend_user,
    post,
    "/admin/v1/users/{id}/unsuspend",
    "admin:security",
    actions::unsuspend,
    "Lifts a suspension."
);
user_action!(
    unlock_user,
    post,
    "/admin/v1/users/{id}/unlock",
    "admin:security",
    actions::unlock,
    "Lifts a lock after failed sign-ins."
);
user_action!(
    request_password_change,
    post,
    "/admin/v1/users/{id}/password-change-request",
    "admin:security",
    actions::request_password_change,
    "The user must change the password at the next sign-in, before any SSO."
);
user_action!(
    block_apps,
    put,
    "/admin/v1/users/{id}/app-block",
    "admin:security",
    actions::block_apps,
    "Blocks native apps (their grants are revoked); browser sign-in keeps working."
);
user_action!(
    unblock_apps,
    delete,
    "/admin/v1/users/{id}/app-block",
    "admin:security",
    actions::unblock_apps,
    "Lifts the app block."
);

#[utoipa::path(put, path = "/admin/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path)), request_body = SetPasswordRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn set_password(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<SetPasswordRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    let u = actions::set_password(
        &state,
        &admin.ctx,
        *id,
        &body.password,
        body.require_change.unwrap_or(false),
    )
    .await?;
    ok_user(&state, u).await
}

#[utoipa::path(put, path = "/admin/v1/users/{id}/login-id", tag = "users", params(("id" = Uuid, Path)), request_body = LoginIdRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:write"])))]
pub async fn change_login_id(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<LoginIdRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:write")?;
    let u = actions::change_login_id(&state, &admin.ctx, *id, &body.login_id).await?;
    ok_user(&state, u).await
}

#[utoipa::path(post, path = "/admin/v1/password-change-requests", tag = "users", request_body = BulkPasswordChangeRequest,
    responses((status = 415, body = Problem, content_type = "application/problem+json"), (status = 200, body = BulkResult)),
    security(("bearer" = ["admin:security"])))]
pub async fn bulk_password_change(
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Json<BulkPasswordChangeRequest>,
) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    if body.user_ids.is_empty() || body.user_ids.len() > 1000 {
        return Err(AppError::bad_request("invalid_request", "1-1000 user ids")
            .with_field("user_ids", "1-1000 ids"));
    }
    let (mut requested, mut not_found) = (Vec::new(), Vec::new());
    for id in &body.user_ids {
        match actions::request_password_change(&state, &admin.ctx, *id).await {
            Ok(_) => requested.push(*id),
            Err(e) if matches!(e.kind, Kind::NotFound | Kind::Conflict) => not_found.push(*id),
            Err(e) => return Err(e),
        }
    }
    Ok(HttpResponse::Ok().json(BulkResult {
        requested,
        not_found,
    }))
}

async fn session_view(state: &Core, s: &crate::store::Session) -> AppResult<SessionView> {
    let clients = state.store.list_session_clients(s.id).await?;
    Ok(SessionView::new(s, clients))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = [SessionView]), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn list_sessions(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:sessions")?;
    actions::get(&state, *id).await?;
    let mut out = Vec::new();
    for s in state.store.list_live_sessions(*id).await? {
        out.push(session_view(&state, &s).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = LogoutResult), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn logout_all(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:sessions")?;
    let n = actions::force_logout(&state, &admin.ctx, *id, None).await?;
    Ok(HttpResponse::Ok().json(LogoutResult {
        sessions_ended: n as u32,
    }))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/sessions/{session_id}", tag = "sessions",
    params(("id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = LogoutResult), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn logout_one(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    admin.require("admin:sessions")?;
    let (id, sid) = path.into_inner();
    let n = actions::force_logout(&state, &admin.ctx, id, Some(sid)).await?;
    Ok(HttpResponse::Ok().json(LogoutResult {
        sessions_ended: n as u32,
    }))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/access-history", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessHistory), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn access_history(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:sessions")?;
    actions::get(&state, *id).await?;
    let since = state.clock.now() - Duration::days(i64::from(state.cfg.retention.history_days));
    let mut sessions = Vec::new();
    for s in state.store.list_sessions_since(*id, since, 1000).await? {
        sessions.push(session_view(&state, &s).await?);
    }
    let sign_ins = state
        .store
        .list_login_events(*id, since, 1000)
        .await?
        .into_iter()
        .map(|e| SignInView {
            environment: Environment::parse(e.user_agent.as_deref()),
            at: e.at,
            result: e.result,
            ip: e.ip,
            user_agent: e.user_agent,
            session_id: e.session_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AccessHistory {
        since,
        sessions,
        sign_ins,
    }))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/devices", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = [DeviceView]), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn devices(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:sessions")?;
    actions::get(&state, *id).await?;
    let since = state.clock.now() - Duration::days(i64::from(state.cfg.retention.history_days));
    let mut by_env: BTreeMap<Environment, DeviceView> = BTreeMap::new();
    for s in state.store.list_sessions_since(*id, since, 5000).await? {
        let env = Environment::parse(s.user_agent.as_deref());
        let clients = state.store.list_session_clients(s.id).await?;
        let d = by_env.entry(env.clone()).or_insert_with(|| DeviceView {
            environment: env,
            first_seen: s.created_at,
            last_seen: s.last_seen_at,
            sessions: 0,
            clients: Vec::new(),
        });
        d.sessions += 1;
        d.first_seen = d.first_seen.min(s.created_at);
        d.last_seen = d.last_seen.max(s.last_seen_at);
        for c in clients {
            if !d.clients.contains(&c) {
                d.clients.push(c);
            }
        }
    }
    let mut out: Vec<DeviceView> = by_env.into_values().collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.last_seen));
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/security", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = SecurityView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn security(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:read")?;
    let u = actions::get(&state, *id).await?;
    let now = state.clock.now();
    let recent = state
        .store
        .list_sessions_since(u.id, now - Duration::days(3650), 50)
        .await?;
    let last = recent.iter().max_by_key(|s| s.last_seen_at);
    let last_access = match last {
        Some(s) => Some(LastAccess {
            at: s.last_seen_at,
            ip: s.ip.clone(),
            environment: Environment::parse(s.user_agent.as_deref()),
            client: state.store.list_session_clients(s.id).await?.pop(),
        }),
        None => None,
    };
    let mfa = crate::authn::mfa::status(&state, u.id).await?;
    Ok(HttpResponse::Ok().json(SecurityView {
        user_id: u.id,
        status: UserView::new(&u, mfa.enabled, now).status,
        last_access,
        last_password_change: u.password_changed_at,
        password_change_required: u.password_change_required,
        password_change_requested_at: u.password_change_requested_at,
        mfa: MfaView::from(mfa.clone()),
        lock: LockView {
            locked: u.is_locked(now),
            locked_until: u.locked_until,
            failed_logins: u.failed_logins,
        },
        app_block: AppBlockView {
            blocked: u.app_blocked_at.is_some(),
            since: u.app_blocked_at,
            by: u.app_blocked_by.clone(),
        },
        linked_logins: Vec::new(),
    }))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/mfa", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = MfaView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn get_mfa(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:users:read")?;
    actions::get(&state, *id).await?;
    let m = crate::authn::mfa::status(&state, *id).await?;
    Ok(HttpResponse::Ok().json(MfaView::from(m)))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/mfa", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = MfaView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn reset_mfa(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require("admin:security")?;
    let u = actions::get(&state, *id).await?;
    crate::authn::mfa::reset(&state, *id, &admin.ctx.actor, &admin.ctx.meta).await?;
    crate::users::notices::mfa_reset(&state, &u).await?;
    let m = crate::authn::mfa::status(&state, *id).await?;
    Ok(HttpResponse::Ok().json(MfaView::from(m)))
}
