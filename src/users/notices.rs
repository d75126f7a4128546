//! Notices to users about what happened to their account, queued in the outbox
//! ([`crate::notify`]) in the user's language.

use crate::core::Core;
use crate::error::AppResult;
use crate::notify::{self, Message, Recipient};
use crate::store::User;

use super::actions::Notice;

/// Queues `notice` for `user`.
pub async fn for_user(state: &Core, user: &User, notice: Notice) -> AppResult<()> {
    let msg = match notice {
        Notice::Locked(until) => Message::AccountLocked { until },
        Notice::Unlocked => Message::AccountUnlocked,
        Notice::Suspended => Message::AccountSuspended,
        Notice::Unsuspended => Message::AccountUnsuspended,
        Notice::PasswordSetByAdmin => Message::PasswordSetByAdmin,
        Notice::PasswordChangeRequested => Message::PasswordChangeRequested {
            link: format!("{}/account/password", state.cfg.issuer()),
        },
    };
    notify::send(state, &Recipient::user(user), msg).await?;
    Ok(())
}

/// Tells a user an admin turned their MFA off.
pub async fn mfa_reset(state: &Core, user: &User) -> AppResult<()> {
    notify::send(state, &Recipient::user(user), Message::MfaReset).await?;
    Ok(())
}

/// Sends a pending user the link to set a first password.
pub async fn invitation(state: &Core, user: &User, link: &str) -> AppResult<()> {
    notify::send(
        state,
        &Recipient::user(user),
        Message::Invitation {
            link: link.to_string(),
        },
    )
    .await?;
    Ok(())
}
