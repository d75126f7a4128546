//! Support grants: a user (or an admin) hands a support engineer time-boxed, scoped
//! access to the account through a unique link — never a password. Redeeming the
//! link opens an impersonation session whose tokens say so (RFC 8693 `act`), in which
//! credentials cannot be changed; it ends the moment the grant expires or is revoked.

pub mod requests;
pub mod routes;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::sessions::{self, RequestMeta};
use crate::store::support::SupportGrant;
use crate::store::{Session, User};

/// The role that may redeem grants.
pub use crate::store::SUPPORT_ROLE;
/// Scope added to tokens of a read-only grant (apps can honour it).
pub const READONLY_SCOPE: &str = "support:readonly";

pub mod action {
    pub const GRANT_ISSUED: &str = "support_grant.issued";
    pub const GRANT_REVOKED: &str = "support_grant.revoked";
    pub const GRANT_REDEEMED: &str = "support_grant.redeemed";
    pub const GRANT_REFUSED: &str = "support_grant.refused";
}

#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    /// Where the engineer should land: a local path or a page of a registered client.
    pub target: Option<String>,
    /// Client ids the grant covers (empty: every client).
    pub client_ids: Vec<String>,
    pub readonly: bool,
    pub lifetime_secs: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Issued {
    pub id: Uuid,
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// What the user sees of a grant.
#[derive(Debug, Serialize)]
pub struct GrantView {
    pub id: Uuid,
    /// active, used, expired or revoked
    pub state: &'static str,
    pub readonly: bool,
    pub client_ids: Vec<String>,
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub redeemed_by: Option<String>,
}

pub fn client_ids(g: &SupportGrant) -> Vec<String> {
    serde_json::from_str(&g.client_ids).unwrap_or_default()
}

pub async fn view(state: &Core, g: &SupportGrant) -> AppResult<GrantView> {
    let now = state.clock.now();
    let st = if g.revoked_at.is_some() {
        "revoked"
    } else if g.expires_at <= now {
        "expired"
    } else if g.redeemed_at.is_some() {
        "used"
    } else {
        "active"
    };
    let by = match g.redeemed_by {
        Some(id) => state.store.get_user(id).await.ok().map(|u| u.display_name),
        None => None,
    };
    Ok(GrantView {
        id: g.id,
        state: st,
        readonly: g.readonly,
        client_ids: client_ids(g),
        target: g.target.clone(),
        created_at: g.created_at,
        expires_at: g.expires_at,
        redeemed_at: g.redeemed_at,
        redeemed_by: by,
    })
}

/// A target page must be Monban's own (a local path) or belong to a registered client
/// (the origin of one of its redirect URIs): a grant link is never an open redirect.
async fn check_target(state: &Core, target: &str) -> AppResult<String> {
    let bad = || {
        AppError::bad_request(
            "invalid_target",
            "the page must belong to Monban or a registered application",
        )
        .with_field("target", "not trusted")
    };
    if let Some(p) = crate::util::safe_local_path(target) {
        return Ok(p.to_string());
    }
    let u = url::Url::parse(target).map_err(|_| bad())?;
    if !matches!(u.scheme(), "https" | "http") || target.len() > 2000 {
        return Err(bad());
    }
    let origin = u.origin().ascii_serialization();
    for c in state.store.list_clients(state.org.id).await? {
        if !c.disabled
            && c.redirect_uri_list()
                .iter()
                .any(|r| crate::util::origin_of(r) == origin)
        {
            return Ok(u.to_string());
        }
    }
    Err(bad())
}

/// An application a grant can cover: an OIDC client id or a SAML SP entity id.
pub async fn app_exists(state: &Core, id: &str) -> AppResult<bool> {
    if state
        .store
        .get_client(id)
        .await?
        .is_some_and(|c| c.org_id == state.org.id && !c.disabled)
    {
        return Ok(true);
    }
    Ok(state
        .store
        .get_sp(id)
        .await?
        .is_some_and(|s| s.org_id == state.org.id && !s.disabled))
}

/// Issues a grant for `user`, acting in their own `session` (never a support session);
/// refused over the rolling daily limit with 429 and the message users know from the
/// manuals. Counting and inserting are one atomic step in the store, so parallel
/// requests cannot overshoot the limit.
pub async fn issue(
    state: &Core,
    session: &Session,
    user: &User,
    req: IssueRequest,
    meta: &RequestMeta,
    locale: Locale,
) -> AppResult<Issued> {
    sessions::refuse_impersonation(session)?;
    if session.user_id != user.id {
        return Err(AppError::forbidden(
            "forbidden",
            "a grant is issued from the user's own session",
        ));
    }
    let cfg = &state.cfg.support;
    let now = state.clock.now();
    let since = now - Duration::hours(24);
    let target = match req
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => Some(check_target(state, t).await?),
        None => None,
    };
    for id in &req.client_ids {
        if !app_exists(state, id).await? {
            return Err(
                AppError::bad_request("invalid_client", format!("unknown client {id}"))
                    .with_field("client_ids", "unknown client"),
            );
        }
    }
    let lifetime = req.lifetime_secs.unwrap_or(cfg.grant_lifetime_secs);
    if lifetime <= 0 || lifetime > cfg.max_grant_lifetime_secs {
        return Err(AppError::bad_request(
            "invalid_lifetime",
            format!(
                "lifetime must be 1..={} seconds",
                cfg.max_grant_lifetime_secs
            ),
        )
        .with_field("lifetime_secs", "out of range"));
    }
    let token = crate::util::random_token(32);
    let g = SupportGrant {
        id: Uuid::new_v4(),
        org_id: state.org.id,
        user_id: user.id,
        token_hash: sessions::hash_token(state, &token),
        source: "user".into(),
        readonly: req.readonly,
        client_ids: serde_json::to_string(&req.client_ids).map_err(AppError::internal)?,
        target,
        created_at: now,
        expires_at: now + Duration::seconds(lifetime),
        revoked_at: None,
        redeemed_at: None,
        redeemed_by: None,
    };
    if !state
        .store
        .insert_grant_within_limit(&g, since, i64::from(cfg.daily_limit))
        .await?
    {
        return Err(limit_reached(state, user, since, locale).await?);
    }
    audit::record(state, &Actor::user(user.id), Some(user.id), action::GRANT_ISSUED, meta,
        serde_json::json!({ "grant_id": g.id, "readonly": g.readonly, "client_ids": req.client_ids, "expires_at": g.expires_at })).await?;
    Ok(Issued {
        id: g.id,
        link: format!("{}/support/redeem/{token}", state.cfg.issuer()),
        expires_at: g.expires_at,
    })
}

/// The 429 for a user at the daily limit, with the wait until the oldest grant of
/// the rolling window leaves it.
async fn limit_reached(
    state: &Core,
    user: &User,
    since: DateTime<Utc>,
    locale: Locale,
) -> AppResult<AppError> {
    let now = state.clock.now();
    let oldest = state
        .store
        .list_grants(user.id)
        .await?
        .into_iter()
        .filter(|g| g.source == "user" && g.created_at >= since)
        .map(|g| g.created_at)
        .min()
        .unwrap_or(now);
    let wait = (oldest + Duration::hours(24) - now).num_seconds().max(1) as u64;
    let mut e = AppError::too_many(wait);
    e.code = "support_grant_limit";
    e.detail = locale.t("error.support_grant_limit").to_string();
    Ok(e)
}

/// Revokes a grant of `user_id`; every session opened under it ends at once (with its
/// tokens and back-channel logout).
pub async fn revoke(
    state: &Core,
    user_id: Uuid,
    grant_id: Uuid,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<()> {
    let g = state
        .store
        .get_grant(grant_id)
        .await?
        .filter(|g| g.user_id == user_id && g.org_id == state.org.id)
        .ok_or_else(|| AppError::not_found("no such grant"))?;
    state.store.revoke_grant(g.id, state.clock.now()).await?;
    crate::cache::publish(state, crate::cache::Event::GrantRevoked { grant_id: g.id }).await;
    let ended = end_grant_sessions(state, g.id, "support_grant_revoked").await?;
    audit::record(
        state,
        actor,
        Some(user_id),
        action::GRANT_REVOKED,
        meta,
        serde_json::json!({ "grant_id": g.id, "sessions_ended": ended }),
    )
    .await?;
    Ok(())
}

async fn end_grant_sessions(state: &Core, grant_id: Uuid, reason: &str) -> AppResult<usize> {
    let ids = state.store.grant_sessions(grant_id).await?;
    for id in &ids {
        sessions::end(state, *id, reason).await?;
    }
    Ok(ids.len())
}

/// How an engineer reaches a grant: a link a user issued, or an approved request.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    Token(&'a str),
    Request(Uuid),
}

async fn resolve(state: &Core, engineer: &User, via: Via<'_>) -> AppResult<Option<SupportGrant>> {
    Ok(match via {
        Via::Token(token) => {
            state
                .store
                .find_grant_by_token(&sessions::hash_token(state, token))
                .await?
        }
        Via::Request(id) => match state.store.get_request(id).await? {
            Some(r) if r.support_user_id == engineer.id => match r.grant_id {
                Some(g) => state.store.get_grant(g).await?,
                None => None,
            },
            _ => None,
        },
    })
}

/// Checks a grant for the signed-in engineer (support role, MFA sign-in); returns the
/// grant and its user.
pub async fn check_redeemer(
    state: &Core,
    session: &Session,
    engineer: &User,
    via: Via<'_>,
    meta: &RequestMeta,
) -> AppResult<(SupportGrant, User)> {
    let refuse = |code: &'static str, detail: &str| AppError::forbidden(code, detail.to_string());
    let result = async {
        if session.impersonator_id.is_some() {
            return Err(refuse(
                "impersonation_forbidden",
                "a support session cannot redeem another grant",
            ));
        }
        if !engineer.has_role(SUPPORT_ROLE) {
            return Err(refuse(
                "not_support_staff",
                "only support staff can use this link",
            ));
        }
        if !crate::authn::mfa::session_has_mfa(session) {
            return Err(refuse(
                "support_mfa_required",
                "sign in with two-factor authentication to use this link",
            ));
        }
        // Staff the organisation asks for a passkey use one for this too.
        if session.acr != sessions::ACR_PHR
            && crate::authn::passkeys::view::policy_requires(state, engineer).await?
        {
            return Err(refuse(
                "support_passkey_required",
                "sign in with a passkey to use this link",
            ));
        }
        let g = resolve(state, engineer, via)
            .await?
            .filter(|g| g.org_id == state.org.id)
            .ok_or_else(|| AppError::not_found("unknown support link"))?;
        let now = state.clock.now();
        if g.revoked_at.is_some() {
            return Err(AppError::new(
                crate::error::Kind::Gone,
                "support_grant_revoked",
                "this support link was revoked",
            ));
        }
        if g.expires_at <= now {
            return Err(AppError::new(
                crate::error::Kind::Gone,
                "support_grant_expired",
                "this support link has expired",
            ));
        }
        if g.redeemed_by.is_some_and(|b| b != engineer.id) {
            return Err(AppError::conflict(
                "support_grant_used",
                "this support link was already used by someone else",
            ));
        }
        let user = state.store.get_user(g.user_id).await?;
        if !user.is_usable(now) {
            return Err(refuse(
                "user_inactive",
                "the account cannot be signed in to",
            ));
        }
        Ok((g, user))
    }
    .await;
    if let Err(e) = &result {
        audit::record(
            state,
            &Actor::support(engineer.id),
            None,
            action::GRANT_REFUSED,
            meta,
            serde_json::json!({ "code": e.code }),
        )
        .await?;
    }
    result
}

/// Opens the impersonation session; returns it, its cookie value and where to land.
pub async fn redeem(
    state: &Core,
    session: &Session,
    engineer: &User,
    via: Via<'_>,
    meta: &RequestMeta,
) -> AppResult<(Session, String, String)> {
    let (g, user) = check_redeemer(state, session, engineer, via, meta).await?;
    if !state
        .store
        .redeem_grant(g.id, engineer.id, state.clock.now())
        .await?
    {
        return Err(AppError::conflict(
            "support_grant_used",
            "this support link was already used by someone else",
        ));
    }
    let ctx = sessions::AuthContext {
        amr: session
            .amr
            .split_whitespace()
            .map(|a| match a {
                "pwd" => "pwd",
                "otp" => "otp",
                "mfa" => "mfa",
                "hwk" => sessions::AMR_HWK,
                "swk" => sessions::AMR_SWK,
                "user" => "user",
                _ => "pwd",
            })
            .collect(),
        // At most `mfa`: the user never used a passkey in this session.
        acr: if crate::authn::mfa::session_has_mfa(session) {
            sessions::ACR_MFA
        } else {
            sessions::ACR_PASSWORD
        },
    };
    let (s, cookie) =
        sessions::create_impersonation(state, &user, engineer.id, g.id, g.expires_at, &ctx, meta)
            .await?;
    audit::record(
        state,
        &Actor::support(engineer.id),
        Some(user.id),
        action::GRANT_REDEEMED,
        meta,
        serde_json::json!({ "grant_id": g.id, "session_id": s.id }),
    )
    .await?;
    crate::notify::send(
        state,
        &crate::notify::Recipient::user(&user),
        crate::notify::Message::SupportGrantRedeemed {
            support_name: engineer.display_name.clone(),
            expires_at: g.expires_at,
        },
    )
    .await?;
    let land = g.target.clone().unwrap_or_else(|| "/account".into());
    Ok((s, cookie, land))
}

/// Session-end hook (registered by the composition root): the user is told when a
/// support session on their account ends.
pub async fn sessions_ended(
    state: &Core,
    ended: &[Session],
    _reason: &str,
) -> crate::store::StoreResult<()> {
    for s in ended {
        let Some(engineer) = s.impersonator_id else {
            continue;
        };
        let support_name = state
            .store
            .get_user(engineer)
            .await
            .map(|u| u.display_name)
            .unwrap_or_default();
        if let Ok(user) = state.store.get_user(s.user_id).await {
            if let Err(e) = crate::notify::send(
                state,
                &crate::notify::Recipient::user(&user),
                crate::notify::Message::SupportSessionEnded { support_name },
            )
            .await
            {
                tracing::warn!(error = %e, "could not queue the support-session-ended notice");
            }
        }
    }
    Ok(())
}
