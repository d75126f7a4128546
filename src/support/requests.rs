//! Admin-approved support access: support staff ask (reason, scope, duration); admins
//! are notified with a link to an approval page that needs an admin sign-in; on
//! approval a grant bound to the requesting engineer is created; everyone is told the
//! outcome; unanswered requests expire.

use chrono::Duration;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::notify::{self, Message, Recipient};
use crate::sessions::RequestMeta;
use crate::store::support::{SupportGrant, SupportRequest};
use crate::store::User;

pub use crate::store::ADMIN_ROLE;

pub mod action {
    pub const REQUESTED: &str = "support_request.created";
    pub const APPROVED: &str = "support_request.approved";
    pub const DENIED: &str = "support_request.denied";
}

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub support_user_id: Uuid,
    pub user_id: Uuid,
    pub reason: String,
    pub readonly: bool,
    pub client_ids: Vec<String>,
    pub duration_secs: Option<i64>,
}

pub async fn create(
    state: &Core,
    n: NewRequest,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<SupportRequest> {
    let engineer = crate::users::actions::get(state, n.support_user_id).await?;
    if !engineer.has_role(super::SUPPORT_ROLE) {
        return Err(AppError::bad_request(
            "not_support_staff",
            "the requester is not support staff",
        )
        .with_field("support_user_id", "not support staff"));
    }
    let user = crate::users::actions::get(state, n.user_id).await?;
    let reason = n.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "invalid_reason",
            "a reason (1-1000 characters) is required",
        )
        .with_field("reason", "required"));
    }
    let cfg = &state.cfg.support;
    let duration = n.duration_secs.unwrap_or(cfg.grant_lifetime_secs);
    if duration <= 0 || duration > cfg.max_grant_lifetime_secs {
        return Err(
            AppError::bad_request("invalid_duration", "duration out of range")
                .with_field("duration_secs", "out of range"),
        );
    }
    for id in &n.client_ids {
        if !super::app_exists(state, id).await? {
            return Err(
                AppError::bad_request("invalid_client", format!("unknown client {id}"))
                    .with_field("client_ids", "unknown client"),
            );
        }
    }
    let now = state.clock.now();
    let r = SupportRequest {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        support_user_id: engineer.id,
        user_id: user.id,
        reason: reason.clone(),
        readonly: n.readonly,
        client_ids: serde_json::to_string(&n.client_ids).map_err(AppError::internal)?,
        duration_secs: duration,
        status: "pending".into(),
        created_at: now,
        expires_at: now + Duration::seconds(cfg.request_expiry_secs),
        decided_at: None,
        decided_by: None,
        grant_id: None,
    };
    state.store.insert_request(&r).await?;
    audit::record(
        state,
        actor,
        Some(user.id),
        action::REQUESTED,
        meta,
        serde_json::json!({ "request_id": r.id, "support_user_id": engineer.id, "reason": reason }),
    )
    .await?;
    // Every admin is told, with a link to the approval page (which needs their sign-in).
    let link = format!("{}/support/requests/{}", state.cfg.issuer(), r.id);
    for a in admins(state).await? {
        notify::send(
            state,
            &Recipient::user(&a),
            Message::SupportRequestPending {
                user_name: user.display_name.clone(),
                reason: reason.clone(),
                approve_link: link.clone(),
            },
        )
        .await?;
    }
    Ok(r)
}

/// The organisation's active users with the `admin` role (who decide support and
/// device requests).
pub async fn admins(state: &Core) -> AppResult<Vec<User>> {
    let active = state
        .store
        .list_users(
            state.org.id,
            &crate::store::admin::UserFilter {
                status: Some("active".into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    Ok(active
        .into_iter()
        .filter(|a| a.has_role(ADMIN_ROLE))
        .collect())
}

/// Approves or denies a pending request; on approval the grant is created, bound to
/// the requesting engineer (redeemed at `/support/requests/{id}/redeem`).
pub async fn decide(
    state: &Core,
    id: Uuid,
    approve: bool,
    by: &str,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<SupportRequest> {
    let r = state
        .store
        .get_request(id)
        .await?
        .filter(|r| r.org_id == state.org.id)
        .ok_or_else(|| AppError::not_found("no such support request"))?;
    // Four eyes: the engineer who asked cannot approve their own request, even when
    // they are an administrator too.
    if approve && actor.id == Some(r.support_user_id) {
        return Err(AppError::forbidden(
            "own_request",
            "a support request must be approved by another administrator",
        ));
    }
    let now = state.clock.now();
    let grant_id = approve.then(Uuid::new_v4);
    let status = if approve { "approved" } else { "denied" };
    if !state
        .store
        .decide_request(id, status, by, grant_id, now)
        .await?
    {
        return Err(AppError::conflict(
            "request_closed",
            "the request was already decided or has expired",
        ));
    }
    if let Some(gid) = grant_id {
        state
            .store
            .insert_grant(&SupportGrant {
                id: gid,
                org_id: state.org.id,
                user_id: r.user_id,
                // Not a link: only the requesting engineer can open it, by request id.
                token_hash: crate::util::random_bytes(32),
                source: "admin".into(),
                readonly: r.readonly,
                client_ids: r.client_ids.clone(),
                target: None,
                created_at: now,
                expires_at: now + Duration::seconds(r.duration_secs),
                revoked_at: None,
                redeemed_at: None,
                redeemed_by: Some(r.support_user_id),
            })
            .await?;
    }
    audit::record(
        state,
        actor,
        Some(r.user_id),
        if approve {
            action::APPROVED
        } else {
            action::DENIED
        },
        meta,
        serde_json::json!({ "request_id": id, "by": by, "grant_id": grant_id }),
    )
    .await?;
    let user = state.store.get_user(r.user_id).await?;
    for to in [r.support_user_id, r.user_id] {
        let u = state.store.get_user(to).await?;
        notify::send(
            state,
            &Recipient::user(&u),
            Message::SupportRequestDecided {
                user_name: user.display_name.clone(),
                approved: approve,
            },
        )
        .await?;
    }
    state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| AppError::not_found("no such support request"))
}
