//! What the admin API (`/admin/v1`) and the admin console (`/admin/`) both do, once:
//! reads that compose a member's security picture and the operations that are more
//! than one call to [`crate::users::actions`]. Each checks the caller's scope where it
//! acts ([`AdminCtx::require`]); the web layers only parse and render.

pub mod apps;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::views::*;
use crate::audit::action;
use crate::core::Core;
use crate::error::{AppError, AppResult, Kind};
use crate::store::admin::{AuditFilter, UserFilter, UserOverview};
use crate::store::User;
use crate::users::actions::{self, scope, AdminCtx};

/// The member statuses one can filter on.
pub const STATUSES: &[&str] = &["active", "pending", "suspended", "locked", "deleted"];

/// A page of members with what the list shows beside each.
pub struct MemberPage {
    pub page: UserPage,
    /// By user id: MFA on or off and the last access.
    pub overview: HashMap<Uuid, UserOverview>,
}

/// Members matching `q`, oldest first, one page after `q.cursor`.
pub async fn members(core: &Core, ctx: &AdminCtx, q: UserListQuery) -> AppResult<MemberPage> {
    ctx.require(scope::USERS_READ)?;
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(AppError::bad_request("invalid_status", "unknown status")
                .with_field("status", "unknown"));
        }
    }
    let limit = page_limit(core, q.limit, 50)?;
    let after = cursor(q.cursor.as_deref())?;
    let rows = core
        .store
        .list_users(
            core.org.id,
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
    let rows: Vec<User> = rows.into_iter().take(limit as usize).collect();
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let overview: HashMap<Uuid, UserOverview> = core
        .store
        .user_overviews(&ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let now = core.clock.now();
    let items = rows
        .iter()
        .map(|u| UserView::new(u, overview.get(&u.id).is_some_and(|o| o.mfa), now))
        .collect();
    let next_cursor = more
        .then(|| rows.last().map(|u| encode_cursor(u.created_at, u.id)))
        .flatten();
    Ok(MemberPage {
        page: UserPage { items, next_cursor },
        overview,
    })
}

/// One member as the API shows it.
pub async fn member(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<UserView> {
    ctx.require(scope::USERS_READ)?;
    user_view(core, &actions::get(core, id).await?).await
}

/// A user as the API shows it (no scope check: for answering an action already allowed).
pub async fn user_view(core: &Core, u: &User) -> AppResult<UserView> {
    let mfa = crate::authn::mfa::is_enabled(core, u.id).await?;
    Ok(UserView::new(u, mfa, core.clock.now()))
}

/// The member security view: status, last access, password, MFA, lock, app block.
pub async fn security(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<SecurityView> {
    Ok(member_security(core, ctx, id).await?.2)
}

/// The member (as the API shows it), the account row and its security view, read
/// once: what the console's member page shows.
pub async fn member_security(
    core: &Core,
    ctx: &AdminCtx,
    id: Uuid,
) -> AppResult<(UserView, User, SecurityView)> {
    ctx.require(scope::USERS_READ)?;
    let u = actions::get(core, id).await?;
    let now = core.clock.now();
    let recent = core
        .store
        .list_sessions_since(u.id, now - Duration::days(3650), 50)
        .await?;
    let last = recent.iter().max_by_key(|s| s.last_seen_at);
    let last_access = match last {
        Some(s) => Some(LastAccess {
            at: s.last_seen_at,
            ip: s.ip.clone(),
            environment: Environment::parse(s.user_agent.as_deref()),
            client: core.store.list_session_clients(s.id).await?.pop(),
        }),
        None => None,
    };
    let mfa = crate::authn::mfa::status(core, u.id).await?;
    let view = UserView::new(&u, mfa.enabled, now);
    let security = SecurityView {
        user_id: u.id,
        status: view.status.clone(),
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
        linked_logins: crate::federation::links_of(core, u.id).await?,
    };
    Ok((view, u, security))
}

async fn session_view(core: &Core, s: &crate::store::Session) -> AppResult<SessionView> {
    let clients = core.store.list_session_clients(s.id).await?;
    Ok(SessionView::new(s, clients))
}

/// The member's live sessions.
pub async fn sessions(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<Vec<SessionView>> {
    ctx.require(scope::SESSIONS)?;
    actions::get(core, id).await?;
    let mut out = Vec::new();
    for s in core.store.list_live_sessions(id).await? {
        out.push(session_view(core, &s).await?);
    }
    Ok(out)
}

/// Sessions and sign-in attempts of the last `retention.history_days`.
pub async fn access_history(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<AccessHistory> {
    ctx.require(scope::SESSIONS)?;
    actions::get(core, id).await?;
    let since = core.clock.now() - Duration::days(i64::from(core.cfg.retention.history_days));
    let mut sessions = Vec::new();
    for s in core.store.list_sessions_since(id, since, 1000).await? {
        sessions.push(session_view(core, &s).await?);
    }
    let sign_ins = core
        .store
        .list_login_events(id, since, 1000)
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
    Ok(AccessHistory {
        since,
        sessions,
        sign_ins,
    })
}

/// The environments (OS and browser or app) the member used, newest first.
pub async fn devices(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<Vec<DeviceView>> {
    ctx.require(scope::SESSIONS)?;
    actions::get(core, id).await?;
    let since = core.clock.now() - Duration::days(i64::from(core.cfg.retention.history_days));
    let mut by_env: BTreeMap<Environment, DeviceView> = BTreeMap::new();
    for s in core.store.list_sessions_since(id, since, 5000).await? {
        let env = Environment::parse(s.user_agent.as_deref());
        let clients = core.store.list_session_clients(s.id).await?;
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
    Ok(out)
}

/// The member's MFA state.
pub async fn mfa(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<MfaView> {
    ctx.require(scope::USERS_READ)?;
    actions::get(core, id).await?;
    Ok(MfaView::from(crate::authn::mfa::status(core, id).await?))
}

/// Turns the member's MFA off (they enrol again), audited, and tells them.
pub async fn reset_mfa(core: &Core, ctx: &AdminCtx, id: Uuid) -> AppResult<MfaView> {
    ctx.require(scope::SECURITY)?;
    let u = actions::get(core, id).await?;
    crate::authn::mfa::reset(core, id, &ctx.actor, &ctx.meta).await?;
    crate::users::notices::mfa_reset(core, &u).await?;
    Ok(MfaView::from(crate::authn::mfa::status(core, id).await?))
}

/// Removes one of the member's passkeys (a lost or compromised key), audited; the
/// member is told. 404 when the member has no such passkey.
pub async fn remove_passkey(
    core: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    passkey_id: &str,
) -> AppResult<MfaView> {
    ctx.require(scope::SECURITY)?;
    let u = actions::get(core, id).await?;
    let Ok(passkey_id) = passkey_id.trim().parse::<Uuid>() else {
        return Err(AppError::not_found("the member has no such passkey"));
    };
    if !crate::authn::passkeys::remove(core, &u, passkey_id, &ctx.actor, &ctx.meta).await? {
        return Err(AppError::not_found("the member has no such passkey"));
    }
    Ok(MfaView::from(crate::authn::mfa::status(core, id).await?))
}

/// Unlinks the member's account at upstream provider `provider` (a taken-over upstream
/// account): the sessions that came through it end; audited; the member is told.
pub async fn unlink(core: &Core, ctx: &AdminCtx, id: Uuid, provider: &str) -> AppResult<()> {
    ctx.require(scope::SECURITY)?;
    let u = actions::get(core, id).await?;
    if !crate::federation::unlink(core, &u, provider, &ctx.actor, &ctx.meta).await? {
        return Err(AppError::not_found(
            "the member has no login linked at this provider",
        ));
    }
    Ok(())
}

/// Asks each of `ids` to change their password at the next sign-in.
pub async fn bulk_request_password_change(
    core: &Core,
    ctx: &AdminCtx,
    ids: &[Uuid],
) -> AppResult<BulkResult> {
    ctx.require(scope::SECURITY)?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(AppError::bad_request("invalid_request", "1-1000 user ids")
            .with_field("user_ids", "1-1000 ids"));
    }
    let (mut requested, mut not_found) = (Vec::new(), Vec::new());
    for id in ids {
        if requested.contains(id) || not_found.contains(id) {
            continue;
        }
        match actions::request_password_change(core, ctx, *id).await {
            Ok(_) => requested.push(*id),
            Err(e) if matches!(e.kind, Kind::NotFound | Kind::Conflict) => not_found.push(*id),
            Err(e) => return Err(e),
        }
    }
    Ok(BulkResult {
        requested,
        not_found,
    })
}

/// A page of the audit log, newest first.
pub async fn audit(core: &Core, ctx: &AdminCtx, q: AuditQuery) -> AppResult<AuditPage> {
    ctx.require(scope::AUDIT_READ)?;
    let limit = page_limit(core, q.limit, 100)?;
    let before = cursor(q.cursor.as_deref())?;
    let rows = core
        .store
        .list_audit_filtered(
            core.org.id,
            &AuditFilter {
                actor_id: q.actor,
                subject_user_id: q.subject,
                action: q.action.filter(|a| !a.trim().is_empty()),
                from: q.from,
                to: q.to,
                before,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<AuditEventView> = rows
        .iter()
        .take(limit as usize)
        .map(|e| AuditEventView {
            id: e.id,
            at: e.at,
            actor_kind: e.actor_kind.clone(),
            actor_id: e.actor_id,
            subject_user_id: e.subject_user_id,
            action: e.action.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let next_cursor = if more {
        items.last().map(|e| encode_cursor(e.at, e.id))
    } else {
        None
    };
    Ok(AuditPage { items, next_cursor })
}

/// A file to download.
pub struct Export {
    pub content_type: &'static str,
    pub filename: String,
    pub body: Vec<u8>,
}

/// A table as CSV (cells a spreadsheet would run as formulas are prefixed with `'`)
/// or XLSX.
pub fn table(name: &str, format: &str, header: &[&str], rows: &[Vec<String>]) -> AppResult<Export> {
    match format {
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header).map_err(AppError::internal)?;
            for r in rows {
                let safe: Vec<String> = r.iter().map(|c| neutralise_formula(c)).collect();
                w.write_record(&safe).map_err(AppError::internal)?;
            }
            Ok(Export {
                content_type: "text/csv; charset=utf-8",
                filename: format!("{name}.csv"),
                body: w.into_inner().map_err(AppError::internal)?,
            })
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (c, h) in header.iter().enumerate() {
                sheet
                    .write_string(0, c as u16, *h)
                    .map_err(AppError::internal)?;
            }
            for (i, r) in rows.iter().enumerate() {
                for (c, v) in r.iter().enumerate() {
                    sheet
                        .write_string(i as u32 + 1, c as u16, v)
                        .map_err(AppError::internal)?;
                }
            }
            Ok(Export {
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                filename: format!("{name}.xlsx"),
                body: book.save_to_buffer().map_err(AppError::internal)?,
            })
        }
        _ => Err(
            AppError::bad_request("invalid_format", "format must be csv or xlsx")
                .with_field("format", "csv or xlsx"),
        ),
    }
}

fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Members whose native apps are blocked.
pub async fn block_list(core: &Core, ctx: &AdminCtx) -> AppResult<Vec<User>> {
    ctx.require(scope::SECURITY)?;
    Ok(core.store.list_app_blocked(core.org.id).await?)
}

/// The block list as a file: name, e-mail, login id, blocked since, by whom.
pub async fn block_list_export(core: &Core, ctx: &AdminCtx, format: &str) -> AppResult<Export> {
    let users = block_list(core, ctx).await?;
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.display_name.clone(),
                u.email.clone(),
                u.login_id.clone().unwrap_or_default(),
                u.app_blocked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                u.app_blocked_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        "app-blocks",
        format,
        &["name", "email", "login_id", "blocked_since", "blocked_by"],
        &rows,
    )
}

/// Audit events (as filtered, up to `max` rows) as CSV.
pub async fn audit_export(
    core: &Core,
    ctx: &AdminCtx,
    mut q: AuditQuery,
    max: usize,
) -> AppResult<Export> {
    let mut rows = Vec::new();
    q.limit = Some(core.cfg.admin.max_page_size);
    loop {
        let page = audit(
            core,
            ctx,
            AuditQuery {
                cursor: q.cursor.clone(),
                ..q.clone()
            },
        )
        .await?;
        for e in &page.items {
            rows.push(vec![
                e.at.to_rfc3339(),
                e.action.clone(),
                e.actor_kind.clone(),
                e.actor_id.map(|i| i.to_string()).unwrap_or_default(),
                e.subject_user_id.map(|i| i.to_string()).unwrap_or_default(),
                e.ip.clone().unwrap_or_default(),
                e.details.to_string(),
            ]);
        }
        match page.next_cursor {
            Some(c) if rows.len() < max => q.cursor = Some(c),
            _ => break,
        }
    }
    rows.truncate(max);
    table(
        "audit",
        "csv",
        &[
            "at",
            "action",
            "actor_kind",
            "actor_id",
            "subject_user_id",
            "ip",
            "details",
        ],
        &rows,
    )
}

/// Replaces the organisation policy; audited with before and after.
pub async fn put_policy(
    core: &Core,
    ctx: &AdminCtx,
    policy: &crate::policy::OrgPolicy,
) -> AppResult<crate::policy::OrgPolicy> {
    ctx.require(scope::SECURITY)?;
    let before = crate::policy::current(core).await?;
    crate::policy::update(core, policy).await?;
    crate::audit::record(
        core,
        &ctx.actor,
        None,
        action::POLICY_UPDATED,
        &ctx.meta,
        serde_json::json!({ "by": ctx.label, "before": before, "after": policy }),
    )
    .await?;
    crate::policy::current(core).await
}

/// The organisation policy.
pub async fn policy(core: &Core, ctx: &AdminCtx) -> AppResult<crate::policy::OrgPolicy> {
    ctx.require(scope::SECURITY)?;
    crate::policy::current(core).await
}

/// A time as pages show it (UTC).
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

// ---------------------------------------------------------------- support and devices

/// Support requests of the organisation, newest first.
pub async fn support_requests(
    core: &Core,
    ctx: &AdminCtx,
) -> AppResult<Vec<crate::store::support::SupportRequest>> {
    ctx.require(scope::SUPPORT)?;
    Ok(core.store.list_requests(core.org.id).await?)
}

/// Approves or denies a pending support request.
pub async fn decide_support_request(
    core: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    approve: bool,
) -> AppResult<crate::store::support::SupportRequest> {
    ctx.require(scope::SUPPORT)?;
    crate::support::requests::decide(core, id, approve, &ctx.label, &ctx.actor, &ctx.meta).await
}

/// Support grants on one member's account, newest first.
pub async fn grants_of(
    core: &Core,
    ctx: &AdminCtx,
    user: Uuid,
) -> AppResult<Vec<crate::support::GrantView>> {
    ctx.require(scope::SUPPORT)?;
    let mut out = Vec::new();
    for g in core.store.list_grants(user).await? {
        out.push(crate::support::view(core, &g).await?);
    }
    Ok(out)
}

/// Grants in force across the organisation (not revoked, not expired), with whose
/// account each opens.
pub async fn live_grants(
    core: &Core,
    ctx: &AdminCtx,
) -> AppResult<Vec<(crate::support::GrantView, Uuid)>> {
    ctx.require(scope::SUPPORT)?;
    let mut out = Vec::new();
    for g in core
        .store
        .list_live_grants(core.org.id, core.clock.now())
        .await?
    {
        out.push((crate::support::view(core, &g).await?, g.user_id));
    }
    Ok(out)
}

/// Revokes a support grant: the sessions opened under it end at once.
pub async fn revoke_grant(core: &Core, ctx: &AdminCtx, grant: Uuid) -> AppResult<Uuid> {
    ctx.require(scope::SUPPORT)?;
    let g = core
        .store
        .get_grant(grant)
        .await?
        .filter(|g| g.org_id == core.org.id)
        .ok_or_else(|| AppError::not_found("no such grant"))?;
    crate::support::revoke(core, g.user_id, g.id, &ctx.actor, &ctx.meta).await?;
    Ok(g.user_id)
}

/// Device-flow requests, optionally of one status.
pub async fn device_requests(
    core: &Core,
    ctx: &AdminCtx,
    status: Option<&str>,
) -> AppResult<Vec<crate::store::oidc::DeviceAuthorization>> {
    ctx.require(scope::USERS_READ)?;
    if let Some(s) = status {
        if !["pending", "awaiting_admin", "approved", "denied", "used"].contains(&s) {
            return Err(AppError::bad_request("invalid_status", "unknown status")
                .with_field("status", "unknown status"));
        }
    }
    Ok(core.store.list_devices(core.org.id, status).await?)
}

/// An admin's decision on a device-flow request awaiting approval.
pub async fn decide_device_request(
    core: &Core,
    ctx: &AdminCtx,
    id: Uuid,
    approve: bool,
) -> AppResult<crate::store::oidc::DeviceAuthorization> {
    ctx.require(scope::USERS_WRITE)?;
    crate::oidc::device::decide_by_admin(core, id, approve, &ctx.label, &ctx.actor, &ctx.meta).await
}
