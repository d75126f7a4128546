//! Organisation policies that admins change at run time (`GET/PUT /admin/v1/policy`):
//! account lockout and the MFA requirement. Stored per organisation as JSON; the
//! configuration file gives the defaults until an admin sets them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Core;
use crate::error::{AppError, AppResult};

/// The longest lock a policy may set: ten years.
pub const MAX_LOCK_SECS: i64 = 10 * 365 * 24 * 3600; // 315360000, as in the OpenAPI schema

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Consecutive failed sign-ins that lock an account; 0 disables lockout.
    #[schema(maximum = 1000)]
    pub max_failures: u32,
    /// true: locked until an admin unlocks; false: temporary locks that lift by themselves.
    pub permanent: bool,
    /// First temporary lock, in seconds (at most ten years).
    #[schema(minimum = 1, maximum = 315360000)]
    pub lock_duration_secs: i64,
    /// Each further lock lasts this many times longer than the one before.
    #[schema(minimum = 1, maximum = 100)]
    pub backoff_multiplier: u32,
    /// Longest temporary lock, in seconds: at least `lock_duration_secs`, at most ten
    /// years.
    #[schema(maximum = 315360000)]
    pub max_lock_duration_secs: i64,
}

/// Who must sign in with a phishing-resistant factor (a passkey with user
/// verification) before any sign-on completes and before the admin console opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhishingResistant {
    /// Nobody (applications may still ask for it with `acr_values`).
    #[default]
    Off,
    /// Admins, auditors and support staff (users with a role).
    Staff,
    Everyone,
}

impl PhishingResistant {
    pub fn as_str(self) -> &'static str {
        match self {
            PhishingResistant::Off => "off",
            PhishingResistant::Staff => "staff",
            PhishingResistant::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(PhishingResistant::Off),
            "staff" => Some(PhishingResistant::Staff),
            "everyone" => Some(PhishingResistant::Everyone),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPolicy {
    pub lockout: LockoutPolicy,
    /// Users without MFA must enrol at their next sign-in before any SSO completes.
    pub mfa_required: bool,
    /// Days a user may still skip enrolment after the policy first asked them.
    #[schema(maximum = 365)]
    pub mfa_grace_period_days: u32,
    /// Who must use a passkey: `off`, `staff` (admins, auditors, support) or
    /// `everyone`. Users without a passkey register one first.
    #[serde(default)]
    pub phishing_resistant: PhishingResistant,
    /// Whether new passkeys must prove (attestation) to be an allowed model.
    #[serde(default)]
    pub passkey_attestation: crate::authn::passkeys::rp::PasskeyAttestation,
}

impl OrgPolicy {
    /// The configured defaults.
    pub fn from_config(cfg: &crate::config::Config) -> OrgPolicy {
        let l = &cfg.lockout;
        OrgPolicy {
            lockout: LockoutPolicy {
                max_failures: l.max_failures,
                permanent: l.permanent,
                lock_duration_secs: l.lock_duration_secs,
                backoff_multiplier: l.backoff_multiplier,
                max_lock_duration_secs: l.max_lock_duration_secs,
            },
            mfa_required: cfg.mfa.required,
            mfa_grace_period_days: cfg.mfa.grace_period_days,
            phishing_resistant: PhishingResistant::Off,
            passkey_attestation: Default::default(),
        }
    }

    pub fn validate(&self) -> AppResult<()> {
        let bad = |f: &str, m: &str| {
            Err(AppError::bad_request("invalid_policy", format!("{f}: {m}")).with_field(f, m))
        };
        let l = &self.lockout;
        if l.max_failures > 1000 {
            return bad("lockout.max_failures", "must be at most 1000");
        }
        if l.lock_duration_secs <= 0 || l.lock_duration_secs > MAX_LOCK_SECS {
            return bad(
                "lockout.lock_duration_secs",
                "must be 1..=315360000 (ten years)",
            );
        }
        if l.max_lock_duration_secs > MAX_LOCK_SECS {
            return bad(
                "lockout.max_lock_duration_secs",
                "must be at most 315360000 (ten years)",
            );
        }
        if l.backoff_multiplier == 0 || l.backoff_multiplier > 100 {
            return bad("lockout.backoff_multiplier", "must be 1..=100");
        }
        if l.max_lock_duration_secs < l.lock_duration_secs {
            return bad(
                "lockout.max_lock_duration_secs",
                "must be at least lock_duration_secs",
            );
        }
        if self.mfa_grace_period_days > 365 {
            return bad("mfa_grace_period_days", "must be at most 365");
        }
        let att = &self.passkey_attestation;
        if let Err(e) = crate::authn::passkeys::rp::ca_list(att) {
            return bad("passkey_attestation", &e);
        }
        if att.required && att.authenticators.is_empty() {
            return bad(
                "passkey_attestation.authenticators",
                "at least one authenticator when attestation is required",
            );
        }
        Ok(())
    }
}

/// The organisation's policy now.
pub async fn current(state: &Core) -> AppResult<OrgPolicy> {
    match state.store.get_policy(state.org.id).await? {
        Some(json) => serde_json::from_str(&json).map_err(AppError::internal),
        None => Ok(OrgPolicy::from_config(&state.cfg)),
    }
}

pub async fn update(state: &Core, p: &OrgPolicy) -> AppResult<()> {
    p.validate()?;
    // A policy that needs passkeys cannot be met while they are off.
    if let Some(why) = state.passkeys.off_reason() {
        if p.phishing_resistant != PhishingResistant::Off || p.passkey_attestation.required {
            return Err(AppError::conflict(
                "passkeys_off",
                format!("passkeys are off, so the policy cannot ask for them: {why}"),
            ));
        }
    }
    let json = serde_json::to_string(p).map_err(AppError::internal)?;
    state
        .store
        .put_policy(state.org.id, &json, state.clock.now())
        .await?;
    Ok(())
}
