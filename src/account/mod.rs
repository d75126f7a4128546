//! The signed-in user's own pages: `/account` (the landing page after sign-in), MFA
//! ([`mfa`]) and password re-entry ([`reauth`]).

pub mod mfa;
pub mod password;
pub mod reauth;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppResult;
use crate::http::state::AppState;
use crate::http::{self, csrf, templates};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(account_page))
        .configure(mfa::routes)
        .configure(reauth::routes)
        .configure(password::routes);
}

/// Before a change that guards the account (passkeys, linked logins): signed in (own
/// session), a two-step session while MFA is on, a password entered recently. Ok: the
/// session and user; Err: the local page to visit first, coming back to `here`.
pub async fn sensitive_gate(
    own: http::OwnSession,
    state: &crate::core::Core,
    here: &str,
) -> AppResult<Result<(crate::store::Session, crate::store::User), String>> {
    use crate::authn::mfa;
    let Some((session, user)) = own.0 else {
        return Ok(Err(format!(
            "/login?return_to={}",
            percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
        )));
    };
    if mfa::is_enabled(state, user.id).await? && !mfa::session_has_mfa(&session) {
        return Ok(Err(mfa::step_up_path(here)));
    }
    if !mfa::recently_authenticated(state, &session).await? {
        return Ok(Err(reauth::path(here)));
    }
    Ok(Ok((session, user)))
}

/// Redirect to the login page, coming back to `path` afterwards.
pub fn to_login(path: &str) -> HttpResponse {
    let target = format!(
        "/login?return_to={}",
        percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC)
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

async fn account_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let Some((session, user)) = http::current_session(&req, &state).await? else {
        return Ok(to_login("/account"));
    };
    let locale = http::locale(&req, &state);
    let token = csrf::issue(&req, &state);
    // The page's sign-out form.
    crate::saml::slo::allow_chain_in_form_action(&req, &state, session.id).await?;
    let sessions = state
        .store
        .list_live_sessions(user.id)
        .await?
        .into_iter()
        .map(|s| templates::SessionRow {
            started: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ip: s.ip.clone().unwrap_or_default(),
            agent: crate::useragent::Environment::label(s.user_agent.as_deref()),
            current: s.id == session.id,
        })
        .collect();
    let mfa_status = crate::authn::mfa::status(&state, user.id).await?;
    let page = templates::account(
        locale,
        &state.cfg.ui.product_name,
        &templates::AccountView {
            display_name: &user.display_name,
            email: &user.email,
            login_id: user.login_id.as_deref(),
            sessions,
            csrf: &token.token,
            mfa: Some(crate::http::templates_mfa::summary(
                locale,
                mfa_status.enabled,
                mfa_status.backup_codes_remaining,
                true,
            )),
        },
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = token.set_cookie {
        res.cookie(c);
    }
    crate::authn::routes::remember_locale(&req, &mut res);
    Ok(res.body(page.into_string()))
}
