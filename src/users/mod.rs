//! User accounts: creation with validated, normalised identifiers; what admins do to
//! them is in [`actions`].

pub mod actions;
pub mod invitation;
pub mod notices;

use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::store::{user_status, NewUser, User};

#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub email: String,
    pub login_id: Option<String>,
    pub display_name: Option<String>,
    /// None: the user is `pending` until a password is set.
    pub password: Option<String>,
    /// Without a password, active at once (a user created by an upstream provider's
    /// sign-in, who signs in there).
    pub active_without_password: bool,
}

/// Lower-cased, trimmed e-mail if it is plausible (one `@`, sane lengths, a dotted or
/// `localhost` domain, no spaces or control characters).
pub fn normalize_email(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    let (local, domain) = s.split_once('@')?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && domain.len() <= 253
        && !domain.contains('@')
        && (domain.contains('.') || domain == "localhost")
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
        && s.len() <= 254;
    ok.then_some(s)
}

/// Login ids: 3–64 of `a-z 0-9 . _ -`, lower-cased; never containing `@`, so a login
/// can be told from an e-mail.
pub fn normalize_login_id(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    let ok = (3..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    ok.then_some(s)
}

/// Why a new password typed on a form was not taken.
pub enum NewPasswordRefused {
    /// The two entries differ.
    Mismatch,
    /// Against the policy (the error lists each violation).
    Policy(AppError),
}

/// A new password the user typed twice, for `user`: checked against the policy and
/// hashed; `Ok(Err(…))` says why it was not taken.
pub async fn hash_new_password(
    state: &Core,
    user: &User,
    new: &str,
    confirm: &str,
) -> AppResult<Result<String, NewPasswordRefused>> {
    if new != confirm {
        return Ok(Err(NewPasswordRefused::Mismatch));
    }
    if let Err(e) = check_password(
        state,
        &user.email,
        user.login_id.as_deref(),
        &user.display_name,
        new,
    ) {
        return Ok(Err(NewPasswordRefused::Policy(e)));
    }
    let hash = state
        .passwords
        .hash(new)
        .await
        .map_err(AppError::internal)?;
    Ok(Ok(hash))
}

/// Roles an admin can give.
pub const ROLES: &[&str] = &[
    crate::store::SUPPORT_ROLE,
    crate::store::ADMIN_ROLE,
    crate::store::AUDITOR_ROLE,
];

/// A new password against the policy (422 with one message per violation).
pub fn check_password(
    state: &Core,
    email: &str,
    login_id: Option<&str>,
    display_name: &str,
    password: &str,
) -> AppResult<()> {
    let personal: Vec<&str> = [Some(email), login_id, Some(display_name)]
        .into_iter()
        .flatten()
        .collect();
    if let Err(v) = state.passwords.check_policy(password, &personal) {
        let mut e =
            AppError::unprocessable("weak_password", "the password does not meet the policy");
        for x in v {
            e = e.with_field("password", x.message());
        }
        return Err(e);
    }
    Ok(())
}

pub async fn create(state: &Core, req: CreateUser) -> AppResult<User> {
    let n = validate_new(state, req).await?;
    Ok(state.store.insert_user(&n).await?)
}

/// What an admin's creation writes, in one transaction: the user with its roles, the
/// audit event (`details` get the status and roles) and, for a pending user, the
/// invitation. A failure stores none of it, so a retry does not meet a 409.
pub async fn create_audited(
    state: &Core,
    req: CreateUser,
    roles: &[String],
    actor: &crate::audit::Actor,
    meta: &crate::audit::RequestMeta,
    mut details: serde_json::Value,
) -> AppResult<User> {
    let n = validate_new(state, req).await?;
    let id = uuid::Uuid::new_v4();
    let roles = roles.join(" ");
    if let Some(o) = details.as_object_mut() {
        o.insert("status".into(), n.status.clone().into());
        o.insert("roles".into(), roles.clone().into());
    }
    let event = crate::audit::event(
        state,
        actor,
        Some(id),
        crate::audit::action::USER_CREATED,
        meta,
        details,
    );
    let invitation = if n.status == user_status::PENDING {
        let to = crate::notify::Recipient {
            user_id: Some(id),
            email: n.email.clone(),
            display_name: n.display_name.clone(),
            locale: None,
        };
        let link = invitation::link_for_new(state, id);
        Some(crate::notify::compose(
            state,
            &to,
            &crate::notify::Message::Invitation { link },
        )?)
    } else {
        None
    };
    let user = state
        .store
        .insert_user_with(id, &n, &roles, Some(&event), invitation.as_ref())
        .await?;
    if let Some(m) = &invitation {
        crate::notify::queued(state, m);
    }
    Ok(user)
}

/// A validated, normalised new user (the password hashed), not yet stored.
async fn validate_new(state: &Core, req: CreateUser) -> AppResult<NewUser> {
    let email = normalize_email(&req.email).ok_or_else(|| {
        AppError::bad_request("invalid_email", "not a valid e-mail address")
            .with_field("email", "invalid")
    })?;
    let login_id = match req.login_id.as_deref() {
        Some(l) => Some(normalize_login_id(l).ok_or_else(|| {
            AppError::bad_request("invalid_login_id", "login id must be 3-64 of a-z 0-9 . _ -")
                .with_field("login_id", "invalid")
        })?),
        None => None,
    };
    let display_name = req
        .display_name
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_display_name",
            "display name is too long or has control characters",
        )
        .with_field("display_name", "invalid"));
    }
    let password_hash = match req.password.as_deref() {
        Some(pw) => {
            check_password(state, &email, login_id.as_deref(), &display_name, pw)?;
            Some(state.passwords.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };
    let status = if password_hash.is_some() || req.active_without_password {
        user_status::ACTIVE
    } else {
        user_status::PENDING
    };
    Ok(NewUser {
        org_id: state.org.id,
        email,
        login_id,
        display_name,
        status: status.into(),
        password_hash,
        now: state.clock.now(),
    })
}

/// Sends a pending user (no password yet) an invitation to set one.
pub async fn invite(state: &Core, user: &User) -> AppResult<()> {
    let link = invitation::link(state, user);
    notices::invitation(state, user, &link).await
}

/// One purge run: users deleted before the restore window, and old access history.
pub async fn purge(state: &Core) -> AppResult<()> {
    let now = state.clock.now();
    let deleted_before =
        now - chrono::Duration::days(i64::from(state.cfg.retention.deleted_user_days));
    for id in state.store.purge_deleted_users(deleted_before).await? {
        crate::cache::user_changed(state, id).await;
        crate::audit::record(
            state,
            &crate::audit::Actor::system(),
            Some(id),
            crate::audit::action::USER_PURGED,
            &crate::sessions::RequestMeta::default(),
            serde_json::json!({}),
        )
        .await?;
    }
    let history_before = now - chrono::Duration::days(i64::from(state.cfg.retention.history_days));
    state.store.purge_history(history_before).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Alice@Example.COM "),
            Some("alice@example.com".into())
        );
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "a@b@c.com",
            "alice@.com",
            "alice@example",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        assert!(normalize_email("admin@localhost").is_some());
    }

    #[test]
    fn login_ids() {
        assert_eq!(
            normalize_login_id("Tanaka.Taro"),
            Some("tanaka.taro".into())
        );
        assert_eq!(normalize_login_id("ab"), None);
        assert_eq!(normalize_login_id("a@b.com"), None);
        assert_eq!(normalize_login_id("田中"), None);
    }
}
