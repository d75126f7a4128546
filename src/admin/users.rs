//! `/admin/v1/users…`: thin handlers over [`crate::users`] and
//! [`crate::users::actions`].

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::auth::Admin;
use super::ops;
use super::views::*;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::store::User;
use crate::users::{self, actions};

async fn ok_user(state: &Core, u: User) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::user_view(state, &u).await?))
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
    let user = users::create_audited(
        &state,
        users::CreateUser {
            email: b.email,
            login_id: b.login_id,
            display_name: b.display_name,
            password: b.password,
            ..Default::default()
        },
        b.roles.as_deref().unwrap_or_default(),
        &admin.ctx.actor,
        &admin.ctx.meta,
        serde_json::json!({ "by": admin.ctx.label }),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/v1/users/{}", user.id)))
        .json(ops::user_view(&state, &user).await?))
}

#[utoipa::path(get, path = "/admin/v1/users", tag = "users", params(UserListQuery),
    responses((status = 200, body = UserPage)),
    security(("bearer" = ["admin:users:read"])))]
pub async fn list_users(
    admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<UserListQuery>,
) -> AppResult<HttpResponse> {
    let page = ops::members(&state, &admin.ctx, q.into_inner()).await?.page;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn get_user(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::member(&state, &admin.ctx, *id).await?))
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
    let r = ops::bulk_request_password_change(&state, &admin.ctx, &body.user_ids).await?;
    Ok(HttpResponse::Ok().json(r))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = [SessionView]), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn list_sessions(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::sessions(&state, &admin.ctx, *id).await?))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = LogoutResult), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn logout_all(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
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
    Ok(HttpResponse::Ok().json(ops::access_history(&state, &admin.ctx, *id).await?))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/devices", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = [DeviceView]), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:sessions"])))]
pub async fn devices(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::devices(&state, &admin.ctx, *id).await?))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/security", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = SecurityView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn security(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::security(&state, &admin.ctx, *id).await?))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}/mfa", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = MfaView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:users:read"])))]
pub async fn get_mfa(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::mfa(&state, &admin.ctx, *id).await?))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/passkeys/{passkey_id}", tag = "security",
    params(("id" = Uuid, Path), ("passkey_id" = Uuid, Path)),
    responses((status = 200, body = MfaView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn remove_passkey(
    admin: Admin,
    state: web::Data<AppState>,
    ids: web::Path<(Uuid, String)>,
) -> AppResult<HttpResponse> {
    // The passkey id is parsed by the operation, after the scope check.
    let (id, passkey_id) = ids.into_inner();
    Ok(HttpResponse::Ok().json(ops::remove_passkey(&state, &admin.ctx, id, &passkey_id).await?))
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/mfa", tag = "security", params(("id" = Uuid, Path)),
    responses((status = 200, body = MfaView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin:security"])))]
pub async fn reset_mfa(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ops::reset_mfa(&state, &admin.ctx, *id).await?))
}
