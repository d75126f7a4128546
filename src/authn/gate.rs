//! The one gate before any sign-on completes (OIDC authorization, device approval,
//! SAML SSO): a password change an admin required comes first, then the second step
//! (or MFA enrolment under `mfa.required`), then a passkey where a phishing-resistant
//! sign-in is asked for (by the application) or required (by the organisation).

use crate::core::Core;
use crate::error::AppResult;
use crate::store::{Session, User};

/// Where the browser must go before the sign-on resumes at `return_to` (a local
/// path, carried along), or `None` to go ahead. `phr_asked`: the application asked
/// for a phishing-resistant sign-in.
pub async fn before_sso(
    core: &Core,
    user: &User,
    session: &Session,
    return_to: &str,
    phr_asked: bool,
) -> AppResult<Option<String>> {
    if let Some(path) = password_change_path(user, return_to) {
        return Ok(Some(path));
    }
    if let Some(path) = super::mfa::sso_requirement(core, user, session, return_to).await? {
        return Ok(Some(path));
    }
    super::passkeys::requirement(core, user, session, return_to, phr_asked).await
}

/// Where a user must go before SSO completes because an admin asked for a new password.
fn password_change_path(user: &User, return_to: &str) -> Option<String> {
    user.password_change_required.then(|| {
        format!(
            "/account/password?return_to={}",
            percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
        )
    })
}
