//! JSON shapes of the admin API (documented in the OpenAPI document).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::store::{Session, User};

/// RFC 9457 problem document (every error of the admin API).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    /// Per-field messages (400, 422).
    pub errors: Option<Vec<FieldProblem>>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub login_id: Option<String>,
    pub display_name: String,
    /// active, pending, suspended, locked or deleted (a lifted temporary lock shows as active).
    pub status: String,
    pub roles: Vec<String>,
    pub mfa_enabled: bool,
    pub app_blocked: bool,
    pub password_change_required: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl UserView {
    pub fn new(u: &User, mfa_enabled: bool, now: DateTime<Utc>) -> UserView {
        let status = if u.status == crate::store::user_status::LOCKED && !u.is_locked(now) {
            crate::store::user_status::ACTIVE.to_string()
        } else {
            u.status.clone()
        };
        UserView {
            id: u.id,
            email: u.email.clone(),
            login_id: u.login_id.clone(),
            display_name: u.display_name.clone(),
            status,
            roles: u.roles.split_whitespace().map(String::from).collect(),
            mfa_enabled,
            app_blocked: u.app_blocked_at.is_some(),
            password_change_required: u.password_change_required,
            locked_until: u.locked_until,
            created_at: u.created_at,
            updated_at: u.updated_at,
            deleted_at: u.deleted_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// active, pending, suspended, locked or deleted
    #[param(pattern = "^(active|pending|suspended|locked|deleted)$")]
    pub status: Option<String>,
    /// Only users with (true) or without (false) MFA.
    pub mfa: Option<bool>,
    /// Only users whose apps are (true) or are not (false) blocked.
    pub app_blocked: Option<bool>,
    /// Substring of e-mail, login id or display name.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1..=200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[schema(min_length = 3, max_length = 64, pattern = r"^[a-zA-Z0-9._-]+$")]
    pub login_id: Option<String>,
    /// Without a password the user is `pending` and is sent an invitation. The
    /// policy (length, common passwords, strength) may still refuse it with 422.
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUserRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[schema(
        format = "email",
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )]
    pub email: Option<String>,
    pub roles: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// The policy (length, common passwords, strength) may still refuse it with 422.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// Also ask the user to change it at the next sign-in (default false).
    pub require_change: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIdRequest {
    #[schema(min_length = 3, max_length = 64, pattern = r"^[a-zA-Z0-9._-]+$")]
    pub login_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkPasswordChangeRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub user_ids: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub requested: Vec<Uuid>,
    pub not_found: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub environment: Environment,
    pub amr: Vec<String>,
    pub acr: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// Client ids that signed in through this session.
    pub clients: Vec<String>,
}

pub use crate::useragent::Environment;

impl SessionView {
    pub fn new(s: &Session, clients: Vec<String>) -> SessionView {
        SessionView {
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            environment: Environment::parse(s.user_agent.as_deref()),
            amr: s.amr.split_whitespace().map(String::from).collect(),
            acr: s.acr.clone(),
            ended_at: s.ended_at,
            end_reason: s.end_reason.clone(),
            clients,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SignInView {
    pub at: DateTime<Utc>,
    /// success, bad_password, locked, …
    pub result: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub environment: Environment,
    pub session_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessHistory {
    pub since: DateTime<Utc>,
    pub sessions: Vec<SessionView>,
    pub sign_ins: Vec<SignInView>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    pub environment: Environment,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub sessions: u32,
    pub clients: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LastAccess {
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub environment: Environment,
    pub client: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MfaView {
    /// A second factor is on (an authenticator app or a passkey).
    pub enabled: bool,
    /// An authenticator app (TOTP) is enrolled.
    pub totp_enabled: bool,
    /// When the authenticator app was enrolled.
    pub enrolled_at: Option<DateTime<Utc>>,
    pub backup_codes_remaining: i64,
    /// Passkeys and security keys.
    pub passkeys: Vec<crate::authn::passkeys::view::PasskeyView>,
}

#[derive(Serialize, ToSchema)]
pub struct LockView {
    pub locked: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub failed_logins: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AppBlockView {
    pub blocked: bool,
    pub since: Option<DateTime<Utc>>,
    pub by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SecurityView {
    pub user_id: Uuid,
    pub status: String,
    pub last_access: Option<LastAccess>,
    pub last_password_change: Option<DateTime<Utc>>,
    pub password_change_required: bool,
    pub password_change_requested_at: Option<DateTime<Utc>>,
    pub mfa: MfaView,
    pub lock: LockView,
    pub app_block: AppBlockView,
    /// Upstream accounts linked to the account (sign-in with an external provider).
    pub linked_logins: Vec<crate::federation::LinkedLoginView>,
}

#[derive(Serialize, ToSchema)]
pub struct LogoutResult {
    pub sessions_ended: u32,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// user, admin, system or support
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub subject_user_id: Option<Uuid>,
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor: Option<Uuid>,
    pub subject: Option<Uuid>,
    pub action: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339, exclusive.
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// csv (default) or xlsx
    #[param(pattern = "^(csv|xlsx)$")]
    pub format: Option<String>,
}

/// Cursor = base64url("<rfc3339>|<uuid>").
pub fn encode_cursor(t: DateTime<Utc>, id: Uuid) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!(
            "{}|{id}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        ),
    )
}

pub fn decode_cursor(c: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, c).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (t, id) = s.split_once('|')?;
    Some((
        DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc),
        id.parse().ok()?,
    ))
}

/// A page size: `default` when absent, else 1..=`admin.max_page_size` (400 otherwise).
pub fn page_limit(
    state: &crate::core::Core,
    limit: Option<u32>,
    default: u32,
) -> crate::error::AppResult<i64> {
    let max = state.cfg.admin.max_page_size;
    match limit {
        None => Ok(i64::from(default.min(max))),
        Some(l) if l >= 1 && l <= max => Ok(i64::from(l)),
        Some(_) => Err(crate::error::AppError::bad_request(
            "invalid_limit",
            format!("limit must be 1..={max}"),
        )
        .with_field("limit", "out of range")),
    }
}

/// A cursor parameter, if given (400 when malformed).
pub fn cursor(c: Option<&str>) -> crate::error::AppResult<Option<(DateTime<Utc>, Uuid)>> {
    match c {
        Some(c) => decode_cursor(c).map(Some).ok_or_else(|| {
            crate::error::AppError::bad_request("invalid_cursor", "malformed cursor")
                .with_field("cursor", "malformed")
        }),
        None => Ok(None),
    }
}

impl From<crate::authn::mfa::MfaStatus> for MfaView {
    fn from(m: crate::authn::mfa::MfaStatus) -> Self {
        MfaView {
            enabled: m.enabled,
            totp_enabled: m.totp,
            enrolled_at: m.enrolled_at,
            backup_codes_remaining: m.backup_codes_remaining,
            passkeys: m.passkeys,
        }
    }
}
