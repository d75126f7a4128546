//! What the account page, the admin API, the console and the MFA state show of a
//! user's passkeys. A leaf of the passkey module: the MFA core reads it without
//! depending on the ceremonies (which depend on the MFA core).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::core::Core;
use crate::error::AppResult;
use crate::store::{PasskeyRow, User};

/// What the account page, the admin API and the console show of a passkey.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    /// `hwk` (device-bound security key) or `swk` (synced passkey).
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&PasskeyRow> for PasskeyView {
    fn from(p: &PasskeyRow) -> Self {
        PasskeyView {
            id: p.id,
            name: p.name.clone(),
            kind: p.kind.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

pub async fn list(core: &Core, user_id: Uuid) -> AppResult<Vec<PasskeyView>> {
    Ok(core
        .store
        .list_passkeys(user_id)
        .await?
        .iter()
        .map(PasskeyView::from)
        .collect())
}

/// Does the user have a passkey they can use now (passkeys on)?
pub async fn has_usable(core: &Core, user_id: Uuid) -> AppResult<bool> {
    Ok(core.passkeys.webauthn().is_some() && core.store.count_passkeys(user_id).await? > 0)
}

/// Whether the organisation's policy asks `user` for a phishing-resistant sign-in.
pub async fn policy_requires(core: &Core, user: &User) -> AppResult<bool> {
    use crate::policy::PhishingResistant;
    let p = crate::policy::current(core).await?;
    Ok(match p.phishing_resistant {
        PhishingResistant::Off => false,
        PhishingResistant::Everyone => true,
        PhishingResistant::Staff => user.roles.split_whitespace().any(|r| {
            [
                crate::store::ADMIN_ROLE,
                crate::store::AUDITOR_ROLE,
                crate::store::SUPPORT_ROLE,
            ]
            .contains(&r)
        }),
    })
}
