//! Single Logout.
//!
//! - SP-initiated: a LogoutRequest over Redirect or POST, signature always required
//!   (SAML profiles §4.4.4.1; an SP without signing certificates is answered
//!   `Requester`/`RequestDenied`, or refused with an error page when nothing may be
//!   answered: no SLO endpoint, or an asynchronous request), the named session ended through
//!   [`crate::sessions::end`] (which also revokes OIDC grants and sends OIDC
//!   back-channel logout), and a signed LogoutResponse to the SP's SLO endpoint whose
//!   status says whether the session really ended (Success) or not (Responder /
//!   UnknownPrincipal). When other SPs took part in the session they are sent
//!   LogoutRequests first (the same front-channel chain as below) and the initiator
//!   is answered at its end — unless the request carries `<aslo:Asynchronous/>`
//!   (asynchronous SLO extension): then no LogoutResponse, the signed-out page.
//! - IdP-initiated, front-channel, on browser logout: a redirect chain. `POST /logout`
//!   hands over to [`start_chain`], which sends the browser to the first SP that took
//!   part with a signed LogoutRequest; the SP answers at `/saml/slo` with a
//!   LogoutResponse whose RelayState (a MAC'd reference to the ended session) brings
//!   the browser back for the next SP, and finally to the signed-out page.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine;
use samael::crypto::CertificateDer;
use samael::schema::LogoutRequest;
use samael::traits::ToXml;
use uuid::Uuid;

use super::assertion::{self, entity_id, instant, new_id};
use super::binding::{self, Kind};
use super::sso::{check_envelope, known_sp, verify, Incoming};
use super::xml::{self, esc, NS_ASSERTION, NS_PROTOCOL};
use super::{post_form, redirect_signed, refuse};
use crate::clients::saml::{ServiceProvider, BINDING_REDIRECT};
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::http;
use crate::http::state::AppState;
use crate::store::saml::{PendingRequest, SessionSp};

const CHAIN_PREFIX: &str = "lo.";

pub async fn slo_redirect(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let m = binding::parse(req.query_string())?;
    match m.kind {
        Kind::Request => logout_request(&req, &state, Incoming::redirect(&m)?).await,
        Kind::Response => continue_chain(&req, &state, m.relay_state().as_deref()).await,
    }
}

pub async fn slo_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let m = super::parse_form(&req, &body)?;
    match m.kind {
        Kind::Request => logout_request(&req, &state, Incoming::post(&m)?).await,
        Kind::Response => continue_chain(&req, &state, m.relay_state().as_deref()).await,
    }
}

async fn logout_request(
    req: &HttpRequest,
    state: &Core,
    msg: Incoming<'_>,
) -> AppResult<HttpResponse> {
    xml::check_shape(&msg.xml, "LogoutRequest")?;
    let unverified: LogoutRequest = msg
        .xml
        .parse()
        .map_err(|_| refuse("saml_bad_request", "not a valid LogoutRequest"))?;
    let issuer = unverified.issuer.as_ref().and_then(|i| i.value.as_deref());
    let sp = known_sp(state, issuer).await?;
    // SAML profiles §4.4.4.1: the requester MUST authenticate itself, and over the
    // front-channel bindings only a signature does (the browser's cookie proves
    // nothing about the SP: any site can send the browser here). An SP with signing
    // certificates that sends an unsigned request gets an error page (it may be a
    // forgery); one registered without certificates can never be authenticated and
    // is told so with a `Requester`/`RequestDenied` LogoutResponse below.
    let required = !sp.signing_certs_der().is_empty();
    let (trusted, signed) = verify(&sp, &msg, "LogoutRequest", required)?;
    let lr: LogoutRequest = trusted
        .parse()
        .map_err(|_| refuse("saml_bad_request", "not a valid LogoutRequest"))?;
    if lr.issuer.as_ref().and_then(|i| i.value.as_deref()) != Some(sp.entity_id.as_str()) {
        return Err(refuse("saml_bad_request", "the signed Issuer differs"));
    }
    check_envelope(
        state,
        lr.version.as_deref(),
        lr.issue_instant,
        lr.destination.as_deref(),
        &format!("{}/saml/slo", state.cfg.issuer()),
    )?;
    let id = lr.id.clone().filter(|i| !i.is_empty() && i.len() <= 256);
    let Some(id) = id else {
        return Err(refuse("saml_bad_request", "bad request ID"));
    };
    super::check_relay_state(state, msg.relay_state.as_deref())?;
    let details = xml::logout_details(&trusted)?;
    // Asynchronous SLO extension: no LogoutResponse may be sent, so no SLO endpoint
    // is needed; the browser gets the signed-out page instead.
    let slo_url = match (sp.slo_url.clone(), details.asynchronous) {
        (Some(u), _) => u,
        (None, true) => String::new(),
        (None, false) => {
            return Err(refuse(
                "saml_bad_request",
                "the service provider has no SingleLogoutService",
            ))
        }
    };
    if !signed {
        tracing::info!(sp = %sp.entity_id, "unsigned SAML LogoutRequest refused");
        if details.asynchronous || slo_url.is_empty() {
            return Err(refuse(
                "saml_unsigned",
                format!("{} must sign its logout requests", sp.entity_id),
            ));
        }
        let xml = logout_response_status(
            state,
            &slo_url,
            &id,
            assertion::STATUS_REQUESTER,
            Some(assertion::STATUS_REQUEST_DENIED),
        )?;
        return send(
            state,
            &sp,
            &slo_url,
            "SAMLResponse",
            &xml,
            msg.relay_state.as_deref(),
        );
    }
    let life = chrono::Duration::seconds(state.cfg.saml.request_lifetime_secs * 2);
    if !state
        .store
        .record_request_id(&sp.entity_id, &id, state.clock.now() + life)
        .await?
    {
        return Err(refuse("saml_replay", "this request was already used"));
    }
    let name_id = lr
        .name_id
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_default();
    // The SessionIndex elements (samael reads SessionIndex as an attribute, so
    // they come from the structural parse); without one, the NameID alone.
    let mut target = None;
    for si in &details.session_indexes {
        target = state
            .store
            .find_session_sp(&sp.entity_id, si)
            .await?
            .filter(|s| s.name_id == name_id);
        if target.is_some() {
            break;
        }
    }
    if details.session_indexes.is_empty() {
        target = state
            .store
            .find_session_sps_by_name_id(&sp.entity_id, &name_id)
            .await?
            .into_iter()
            .next();
    }
    let (status, ended_here) = match &target {
        None => (assertion::STATUS_UNKNOWN_PRINCIPAL, None),
        Some(t) => {
            let ended = crate::sessions::end(state, t.session_id, "saml_logout").await?;
            let really = ended
                || state
                    .store
                    .get_session(t.session_id)
                    .await?
                    .is_some_and(|s| s.ended_at.is_some());
            let status = if really {
                assertion::STATUS_SUCCESS
            } else {
                assertion::STATUS_RESPONDER
            };
            (status, Some(t.session_id))
        }
    };
    tracing::info!(sp = %sp.entity_id, status, asynchronous = details.asynchronous,
        "SAML LogoutRequest received");
    let mut res = match ended_here.filter(|_| status == assertion::STATUS_SUCCESS) {
        Some(sid) if details.asynchronous => {
            // No answer to the initiator: the other SPs, then the signed-out page.
            state.store.delete_session_sp(sid, &sp.entity_id).await?;
            match next_in_chain(state, sid).await? {
                Some(r) => r,
                None => signed_out_page(req, state),
            }
        }
        None if details.asynchronous => {
            return Err(refuse(
                "saml_bad_request",
                "no session of this browser matched the logout request",
            ))
        }
        Some(sid) => {
            // The other SPs of the session are told first (front-channel chain);
            // the initiator is answered at the end of it.
            state.store.delete_session_sp(sid, &sp.entity_id).await?;
            let key = answer_key(sid);
            state.store.delete_pending_request(&key).await?;
            let now = state.clock.now();
            state
                .store
                .insert_pending_request(&PendingRequest {
                    id: key,
                    sp_entity_id: sp.entity_id.clone(),
                    request_id: Some(id.clone()),
                    acs_url: slo_url.clone(),
                    relay_state: msg.relay_state.clone(),
                    force_authn: false,
                    authn_context: None,
                    created_at: now,
                    expires_at: now + life,
                    name_id_format: None,
                })
                .await?;
            match next_in_chain(state, sid).await? {
                Some(r) => r,
                None => answer_initiator(state, sid)
                    .await?
                    .ok_or_else(|| AppError::internal("the logout answer vanished"))?,
            }
        }
        None => {
            let xml = logout_response(state, &slo_url, &id, status)?;
            send(
                state,
                &sp,
                &slo_url,
                "SAMLResponse",
                &xml,
                msg.relay_state.as_deref(),
            )?
        }
    };
    // The browser's own session is the one that ended: drop its cookie too.
    if let Some(sid) = ended_here {
        let cookie_session = match req.cookie(&state.cfg.session_cookie_name()) {
            Some(c) => state
                .store
                .find_live_session(&crate::sessions::hash_token(state, c.value()))
                .await?
                .map(|s| s.id),
            None => None,
        };
        if cookie_session.is_none() || cookie_session == Some(sid) {
            res.add_cookie(&crate::http::cookies::session_removal_cookie(state))
                .map_err(AppError::internal)?;
        }
    }
    Ok(res)
}

/// Sends a message to an SP's SLO endpoint with its binding.
fn send(
    state: &Core,
    sp: &ServiceProvider,
    url: &str,
    field: &'static str,
    xml: &str,
    relay_state: Option<&str>,
) -> AppResult<HttpResponse> {
    if sp.slo_binding.as_deref() == Some(BINDING_REDIRECT) {
        redirect_signed(state, url, field, xml, relay_state)
    } else {
        let signed = sign_enveloped(state, xml)?;
        Ok(post_form(
            state,
            url,
            field,
            B64.encode(signed),
            relay_state,
        ))
    }
}

/// Inserts a signature template after the Issuer and signs (for the POST binding).
fn sign_enveloped(state: &Core, xml: &str) -> AppResult<String> {
    let keys = state.keys.current();
    let key = keys
        .saml_signing_key(state.clock.now())
        .ok_or_else(|| AppError::unavailable("no usable SAML signing key"))?;
    let der = openssl::pkey::PKey::private_key_from_pem(key.key_pem.as_bytes())
        .and_then(|p| p.private_key_to_der())
        .map_err(AppError::internal)?;
    let id = message_id(xml).ok_or_else(|| AppError::internal("message without ID"))?;
    let mut template =
        samael::signature::Signature::template(&id, &CertificateDer::from(key.cert_der.clone()));
    for r in &mut template.signed_info.reference {
        r.digest_method.algorithm = samael::signature::DigestAlgorithm::Sha256;
    }
    let template = template
        .to_string()
        .map_err(|e| AppError::internal(format!("{e:?}")))?;
    let close = "</saml:Issuer>";
    let at = xml
        .find(close)
        .ok_or_else(|| AppError::internal("message without Issuer"))?
        + close.len();
    let with_template = format!("{}{}{}", &xml[..at], template, &xml[at..]);
    assertion::sign(&with_template, &der)
}

fn message_id(xml: &str) -> Option<String> {
    let start = xml.find(" ID=\"")? + 5;
    let end = xml[start..].find('"')? + start;
    Some(xml[start..end].to_string())
}

fn logout_response(
    state: &Core,
    dest: &str,
    in_response_to: &str,
    status: &str,
) -> AppResult<String> {
    logout_response_status(state, dest, in_response_to, status, None)
}

/// A LogoutResponse whose StatusCode may carry a second-level code.
fn logout_response_status(
    state: &Core,
    dest: &str,
    in_response_to: &str,
    status: &str,
    second: Option<&str>,
) -> AppResult<String> {
    let code = match second {
        Some(s) => format!(
            "<samlp:StatusCode Value=\"{}\"><samlp:StatusCode Value=\"{}\"/></samlp:StatusCode>",
            esc(status),
            esc(s)
        ),
        None => format!("<samlp:StatusCode Value=\"{}\"/>", esc(status)),
    };
    Ok(format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
         <saml:Issuer>{}</saml:Issuer><samlp:Status>{code}</samlp:Status>\
         </samlp:LogoutResponse>",
        new_id(),
        instant(state.clock.now()),
        esc(dest),
        esc(in_response_to),
        esc(&entity_id(state)),
    ))
}

fn logout_request_xml(state: &Core, dest: &str, p: &SessionSp) -> String {
    let now = state.clock.now();
    let until = now + chrono::Duration::seconds(state.cfg.saml.assertion_lifetime_secs);
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" NotOnOrAfter=\"{}\">\
         <saml:Issuer>{}</saml:Issuer><saml:NameID Format=\"{}\">{}</saml:NameID>\
         <samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>",
        new_id(),
        instant(now),
        esc(dest),
        instant(until),
        esc(&entity_id(state)),
        esc(&p.name_id_format),
        esc(&p.name_id),
        esc(&p.session_index),
    )
}

/// RelayState naming an ended session's logout chain: `lo.{uuid}.{mac}`.
fn chain_token(state: &Core, session_id: Uuid) -> String {
    let mac = state
        .keys
        .secrets()
        .token_hash(format!("saml-logout-chain\0{session_id}").as_bytes());
    format!(
        "{CHAIN_PREFIX}{session_id}.{}",
        URL_SAFE_NO_PAD.encode(&mac[..16])
    )
}

fn parse_chain_token(state: &Core, token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(CHAIN_PREFIX)?;
    let (id, _) = rest.split_once('.')?;
    let id = Uuid::parse_str(id).ok()?;
    let expected = chain_token(state, id);
    bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        token.as_bytes(),
    ))
    .then_some(id)
}

/// Key of the pending answer to an SP-initiated LogoutRequest (never a valid
/// `/saml/continue` id: those are random base64url tokens).
pub(super) fn answer_key(session_id: Uuid) -> String {
    format!("{ANSWER_PREFIX}{session_id}")
}

pub(super) const ANSWER_PREFIX: &str = "slo:";

/// A LogoutRequest to the next SP that took part in the ended session, if any.
async fn next_in_chain(state: &Core, session_id: Uuid) -> AppResult<Option<HttpResponse>> {
    for p in state.store.list_session_sps(session_id).await? {
        state
            .store
            .delete_session_sp(session_id, &p.sp_entity_id)
            .await?;
        let Some(sp) = state.store.get_sp(&p.sp_entity_id).await? else {
            continue;
        };
        let Some(url) = sp.slo_url.clone() else {
            continue;
        };
        let xml = logout_request_xml(state, &url, &p);
        let token = chain_token(state, session_id);
        return send(state, &sp, &url, "SAMLRequest", &xml, Some(&token)).map(Some);
    }
    Ok(None)
}

/// The LogoutResponse to the SP that started the logout, once the chain is done.
async fn answer_initiator(state: &Core, session_id: Uuid) -> AppResult<Option<HttpResponse>> {
    let key = answer_key(session_id);
    let Some(p) = state.store.get_pending_request(&key).await? else {
        return Ok(None);
    };
    state.store.delete_pending_request(&key).await?;
    let Some(sp) = state.store.get_sp(&p.sp_entity_id).await? else {
        return Ok(None);
    };
    let irt = p.request_id.unwrap_or_default();
    let xml = logout_response(state, &p.acs_url, &irt, assertion::STATUS_SUCCESS)?;
    send(
        state,
        &sp,
        &p.acs_url,
        "SAMLResponse",
        &xml,
        p.relay_state.as_deref(),
    )
    .map(Some)
}

/// After a browser logout ended `session_id`: the next SP of the chain, or the
/// signed-out page when none is left (`done`).
pub async fn start_chain(
    state: &Core,
    session_id: Uuid,
    done: impl FnOnce() -> HttpResponse,
) -> AppResult<HttpResponse> {
    Ok(next_in_chain(state, session_id).await?.unwrap_or_else(done))
}

async fn continue_chain(
    req: &HttpRequest,
    state: &Core,
    rs: Option<&str>,
) -> AppResult<HttpResponse> {
    let Some(session_id) = rs.and_then(|t| parse_chain_token(state, t)) else {
        return Err(refuse("saml_bad_request", "unexpected LogoutResponse"));
    };
    if let Some(r) = next_in_chain(state, session_id).await? {
        return Ok(r);
    }
    if let Some(r) = answer_initiator(state, session_id).await? {
        return Ok(r);
    }
    Ok(signed_out_page(req, state))
}

/// The signed-out page shown at the end of a logout that answers no SP.
fn signed_out_page(req: &HttpRequest, state: &Core) -> HttpResponse {
    let locale = http::locale(req, state);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::http::templates::logged_out(locale, &state.cfg.ui.product_name).into_string())
}

/// Hook run whenever sessions end ([`crate::sessions`]). SAML Single Logout needs
/// the browser (front-channel; the SOAP back-channel binding is not implemented):
/// the participations are kept so that a browser logout can walk them
/// ([`start_chain`]); other endings (expiry, admin, a user's sessions ended) are
/// logged.
pub async fn sessions_ended(
    state: &Core,
    ended: &[crate::store::Session],
    reason: &str,
) -> crate::store::StoreResult<()> {
    for s in ended {
        let sps = state.store.list_session_sps(s.id).await?;
        // Browser and SP-initiated logouts walk the participations themselves.
        if !sps.is_empty() && reason != "logout" && reason != "saml_logout" {
            let names: Vec<&str> = sps.iter().map(|p| p.sp_entity_id.as_str()).collect();
            tracing::info!(session = %s.id, reason, sps = ?names,
                "session ended; SAML service providers are not told without the browser");
        }
    }
    Ok(())
}

/// A page with a sign-out form for `session_id`: signing out walks the SLO endpoint
/// of each service provider that took part (redirects), so the page's CSP
/// `form-action` must allow them.
pub async fn allow_chain_in_form_action(
    req: &HttpRequest,
    state: &Core,
    session_id: Uuid,
) -> AppResult<()> {
    for p in state.store.list_session_sps(session_id).await? {
        if let Some(url) = crate::cache::sp(state, &p.sp_entity_id)
            .await?
            .and_then(|sp| sp.slo_url)
        {
            crate::http::csp::allow_form_target(req, &url);
        }
    }
    Ok(())
}
