//! Web Browser SSO: AuthnRequest over HTTP-Redirect and HTTP-POST, sign-in through
//! the shared login page (the request waits server-side under a random id), and the
//! Response over HTTP-POST. Also IdP-initiated SSO for SPs that allow it.
//!
//! Until the SP and its ACS are established (issuer known, signature verified when
//! present or required, ACS URL matching the metadata exactly) every failure is an
//! error page; after that, failures the SP should hear about (IsPassive without a
//! session, a blocked user) go back to it as SAML status codes.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use samael::schema::AuthnRequest;
use serde::Deserialize;

use super::assertion::{self, Grant};
use super::binding::{self, BindingMessage, Kind};
use super::{check_relay_state, post_form, refuse, xml};
use crate::clients::saml::{ServiceProvider, BINDING_POST, NAMEID_TRANSIENT};
use crate::core::Core;
use crate::http::state::AppState;
use samael::schema::AuthnContextComparison;

const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
use crate::error::AppResult;
use crate::http;
use crate::store::saml::{PendingRequest, SessionSp};

/// A protocol message as received.
pub(super) struct Incoming<'a> {
    pub xml: String,
    pub relay_state: Option<String>,
    /// The parsed Redirect-binding query (its signature is over its raw pairs).
    pub redirect: Option<&'a BindingMessage<'a>>,
}

impl<'a> Incoming<'a> {
    /// A parsed Redirect-binding message: the XML inflated from, and the
    /// RelayState taken from, exactly the pairs whose bytes the signature covers.
    pub fn redirect(m: &'a BindingMessage<'a>) -> AppResult<Self> {
        Ok(Incoming {
            xml: xml::decode_redirect(&m.message.value)?,
            relay_state: m.relay_state(),
            redirect: Some(m),
        })
    }

    /// A parsed HTTP-POST binding message (signed, if at all, inside the XML).
    pub fn post(m: &BindingMessage<'_>) -> AppResult<Self> {
        Ok(Incoming {
            xml: xml::decode_post(&m.message.value)?,
            relay_state: m.relay_state(),
            redirect: None,
        })
    }
}

/// Refuses a binding message of the wrong kind at an endpoint that takes requests only.
fn request_only(m: &BindingMessage<'_>) -> AppResult<()> {
    match m.kind {
        Kind::Request => Ok(()),
        Kind::Response => Err(refuse("saml_bad_request", "SAMLRequest is missing")),
    }
}

pub async fn sso_redirect(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let m = binding::parse(req.query_string())?;
    request_only(&m)?;
    authn_request(&req, &state, Incoming::redirect(&m)?).await
}

pub async fn sso_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let m = super::parse_form(&req, &body)?;
    request_only(&m)?;
    authn_request(&req, &state, Incoming::post(&m)?).await
}

/// Verifies a message's signature for `sp`: the Redirect query signature, or the
/// enveloped XML signature for POST. Returns the XML to trust (the signed content
/// for POST) and whether it was signed. Unsigned messages are refused when `required`.
pub(super) fn verify(
    sp: &ServiceProvider,
    msg: &Incoming,
    local: &'static str,
    required: bool,
) -> AppResult<(String, bool)> {
    let certs = sp.signing_certs_der();
    let signed = match msg.redirect {
        Some(m) => m.is_signed(),
        None => xml::check_shape(&msg.xml, local)?.signed,
    };
    if !signed {
        if required {
            return Err(refuse(
                "saml_unsigned",
                format!("{} must sign its requests", sp.entity_id),
            ));
        }
        return Ok((msg.xml.clone(), false));
    }
    if certs.is_empty() {
        return Err(refuse(
            "saml_bad_signature",
            "the service provider has no signing certificate",
        ));
    }
    match msg.redirect {
        Some(m) => {
            xml::verify_redirect(m, &certs)?;
            Ok((msg.xml.clone(), true))
        }
        None => Ok((xml::verify_enveloped(&msg.xml, &certs, local)?, true)),
    }
}

/// The issuer of a protocol message, from an unverified parse (used only to find
/// whose certificates verify it).
pub(super) async fn known_sp(state: &Core, issuer: Option<&str>) -> AppResult<ServiceProvider> {
    let issuer = issuer.ok_or_else(|| refuse("saml_unknown_sp", "the request has no Issuer"))?;
    match crate::cache::sp(state, issuer).await? {
        Some(sp) if !sp.disabled => Ok(sp),
        _ => Err(refuse(
            "saml_unknown_sp",
            format!(
                "unknown service provider {}",
                crate::util::truncate(issuer, 256)
            ),
        )),
    }
}

fn sso_url(state: &Core) -> String {
    format!("{}/saml/sso", state.cfg.issuer())
}

/// Checks the parts of a request message common to SSO and SLO: version, issue
/// instant within the request lifetime (with skew), Destination if given.
pub(super) fn check_envelope(
    state: &Core,
    version: Option<&str>,
    issued: Option<chrono::DateTime<chrono::Utc>>,
    destination: Option<&str>,
    expected_destination: &str,
) -> AppResult<()> {
    if version != Some("2.0") {
        return Err(refuse("saml_bad_request", "Version must be 2.0"));
    }
    let now = state.clock.now();
    let skew = Duration::seconds(state.cfg.saml.clock_skew_secs.max(60));
    let life = Duration::seconds(state.cfg.saml.request_lifetime_secs);
    match issued {
        Some(t) if t <= now + skew && t >= now - life - skew => {}
        _ => {
            return Err(refuse(
                "saml_expired",
                "IssueInstant is too old or in the future",
            ))
        }
    }
    if destination.is_some_and(|d| d != expected_destination) {
        return Err(refuse(
            "saml_bad_request",
            "Destination is not this endpoint",
        ));
    }
    Ok(())
}

async fn authn_request(
    req: &HttpRequest,
    state: &Core,
    msg: Incoming<'_>,
) -> AppResult<HttpResponse> {
    xml::check_shape(&msg.xml, "AuthnRequest")?;
    let unverified: AuthnRequest = msg
        .xml
        .parse()
        .map_err(|_| refuse("saml_bad_request", "not a valid AuthnRequest"))?;
    let issuer = unverified.issuer.as_ref().and_then(|i| i.value.as_deref());
    let sp = known_sp(state, issuer).await?;
    let (trusted, _) = verify(&sp, &msg, "AuthnRequest", sp.authn_requests_signed)?;
    let ar: AuthnRequest = trusted
        .parse()
        .map_err(|_| refuse("saml_bad_request", "not a valid AuthnRequest"))?;
    if ar.issuer.as_ref().and_then(|i| i.value.as_deref()) != Some(sp.entity_id.as_str()) {
        return Err(refuse("saml_bad_request", "the signed Issuer differs"));
    }
    check_envelope(
        state,
        Some(ar.version.as_str()),
        Some(ar.issue_instant),
        ar.destination.as_deref(),
        &sso_url(state),
    )?;
    if ar.id.is_empty() || ar.id.len() > 256 {
        return Err(refuse("saml_bad_request", "bad request ID"));
    }
    if ar
        .protocol_binding
        .as_deref()
        .is_some_and(|b| b != BINDING_POST)
    {
        return Err(refuse(
            "saml_bad_acs",
            "only the HTTP-POST binding is supported for responses",
        ));
    }
    let acs = sp.acs_endpoints();
    let chosen = match (
        &ar.assertion_consumer_service_url,
        ar.assertion_consumer_service_index,
    ) {
        (Some(url), _) => acs.iter().find(|a| &a.url == url).cloned(),
        (None, Some(i)) => acs.iter().find(|a| a.index == i).cloned(),
        (None, None) => sp.default_acs(),
    }
    .ok_or_else(|| {
        refuse(
            "saml_bad_acs",
            "the AssertionConsumerService is not in the metadata",
        )
    })?;
    check_relay_state(state, msg.relay_state.as_deref())?;
    let now = state.clock.now();
    let life = Duration::seconds(state.cfg.saml.request_lifetime_secs);
    if !state
        .store
        .record_request_id(&sp.entity_id, &ar.id, now + life + life)
        .await?
    {
        return Err(refuse("saml_replay", "this request was already used"));
    }
    let refuse_to_sp = |top: &str, second: &str, message: &str| {
        let body =
            assertion::error_response(state, &chosen.url, Some(&ar.id), top, Some(second), message);
        post_form(
            state,
            &chosen.url,
            "SAMLResponse",
            body,
            msg.relay_state.as_deref(),
        )
    };
    // NameIDPolicy: unspecified or the SP's own format; `transient` is honoured
    // whatever the SP's format (a one-time identifier reveals nothing); any other
    // format the SP is not configured for is refused.
    let mut name_id_format = None;
    if let Some(f) = ar.name_id_policy.as_ref().and_then(|p| p.format.as_deref()) {
        if f == NAMEID_TRANSIENT && sp.name_id_format_uri() != NAMEID_TRANSIENT {
            name_id_format = Some(NAMEID_TRANSIENT.to_string());
        } else if f != NAMEID_UNSPECIFIED && f != sp.name_id_format_uri() {
            return Ok(refuse_to_sp(
                assertion::STATUS_REQUESTER,
                assertion::STATUS_INVALID_NAMEID_POLICY,
                "this NameID format is not configured for the service provider",
            ));
        }
    }
    let authn_context = requested_context(&ar);
    if let Some(rc) = &authn_context {
        if !satisfiable(rc) {
            return Ok(refuse_to_sp(
                assertion::STATUS_RESPONDER,
                assertion::STATUS_NO_AUTHN_CONTEXT,
                "the requested authentication context is not supported",
            ));
        }
    }
    let force = ar.force_authn.unwrap_or(false);
    if ar.is_passive.unwrap_or(false) {
        let session = http::current_session(req, state).await?;
        if session.is_none() || force {
            let body = assertion::error_response(
                state,
                &chosen.url,
                Some(&ar.id),
                assertion::STATUS_RESPONDER,
                Some(assertion::STATUS_NO_PASSIVE),
                "the user is not signed in",
            );
            return Ok(post_form(
                state,
                &chosen.url,
                "SAMLResponse",
                body,
                msg.relay_state.as_deref(),
            ));
        }
    }
    let pending = PendingRequest {
        id: crate::util::random_token(24),
        sp_entity_id: sp.entity_id.clone(),
        request_id: Some(ar.id.clone()),
        acs_url: chosen.url,
        relay_state: msg.relay_state,
        force_authn: force,
        authn_context,
        created_at: now,
        expires_at: now + life,
        name_id_format,
    };
    state.store.insert_pending_request(&pending).await?;
    proceed(req, state, pending).await
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    id: Option<String>,
}

/// `GET /saml/continue?id=` — back from the login page.
pub async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<ResumeQuery>,
) -> AppResult<HttpResponse> {
    let id = q.id.as_deref().unwrap_or("");
    if id.starts_with(super::slo::ANSWER_PREFIX) {
        return Err(refuse("saml_expired", "the sign-on request has expired"));
    }
    let pending = match state.store.get_pending_request(id).await? {
        Some(p) if p.expires_at > state.clock.now() => p,
        _ => return Err(refuse("saml_expired", "the sign-on request has expired")),
    };
    proceed(&req, &state, pending).await
}

#[derive(Deserialize)]
pub struct IdpInitiatedQuery {
    sp: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /saml/idp-initiated?sp=` — an unsolicited Response to the SP's default ACS.
pub async fn idp_initiated(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<IdpInitiatedQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let sp = known_sp(&state, q.sp.as_deref()).await?;
    if !sp.idp_initiated {
        return Err(refuse(
            "saml_idp_initiated_disabled",
            "IdP-initiated sign-on is not enabled for this service provider",
        ));
    }
    check_relay_state(&state, q.relay_state.as_deref())?;
    let acs = sp
        .default_acs()
        .ok_or_else(|| refuse("saml_bad_acs", "no AssertionConsumerService"))?;
    let now = state.clock.now();
    let pending = PendingRequest {
        id: crate::util::random_token(24),
        sp_entity_id: sp.entity_id.clone(),
        request_id: None,
        acs_url: acs.url,
        relay_state: q.relay_state,
        force_authn: false,
        authn_context: None,
        created_at: now,
        expires_at: now + Duration::seconds(state.cfg.saml.request_lifetime_secs),
        name_id_format: None,
    };
    state.store.insert_pending_request(&pending).await?;
    proceed(&req, &state, pending).await
}

/// Sends the browser to sign in (and back here), or answers the SP.
async fn proceed(req: &HttpRequest, state: &Core, p: PendingRequest) -> AppResult<HttpResponse> {
    let sp = crate::cache::sp(state, &p.sp_entity_id)
        .await?
        .filter(|s| !s.disabled)
        .ok_or_else(|| {
            refuse(
                "saml_unknown_sp",
                "the service provider is no longer registered",
            )
        })?;
    let current = http::current_session(req, state).await?;
    let fresh_enough = |s: &crate::store::Session| !p.force_authn || s.auth_time >= p.created_at;
    let Some((session, user)) = current.filter(|(s, _)| fresh_enough(s)) else {
        let back = format!("/saml/continue?id={}", p.id);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("return_to", &back);
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?{}", q.finish())))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    };
    // Before any SSO completes: a password change an admin asked for, the second step
    // for a user with MFA (step-up of a password-only session), or enrolment when the
    // organisation requires MFA. The request stays pending and resumes afterwards.
    let back = format!("/saml/continue?id={}", p.id);
    // A RequestedAuthnContext that only a passkey sign-in meets asks for one.
    let phr_asked = p.authn_context.as_deref().is_some_and(|rc| {
        meets(rc, assertion::AC_PHR)
            && !meets(rc, assertion::AC_MFA)
            && !meets(rc, assertion::AC_PASSWORD)
    });
    let gate = crate::authn::gate::before_sso(state, &user, &session, &back, phr_asked).await?;
    if let Some(path) = gate {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, path))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    // Single use: a second tab or a replayed /saml/continue gets nothing.
    if !state.store.delete_pending_request(&p.id).await? {
        return Err(refuse(
            "saml_expired",
            "the sign-on request was already answered",
        ));
    }
    let irt = p.request_id.as_deref();
    // Under a support grant, only the applications it covers.
    let grant = match session.support_grant_id {
        None => None,
        Some(gid) => state.store.get_grant(gid).await?,
    };
    let covered = match (session.support_grant_id, &grant) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(_), Some(g)) => {
            let ids = crate::support::client_ids(g);
            ids.is_empty() || ids.contains(&sp.entity_id)
        }
    };
    // A read-only grant says so in the assertion (as `support:readonly` does in OIDC
    // tokens). A grant that vanished is not covered: no assertion at all.
    let support_readonly = grant.as_ref().is_some_and(|g| g.readonly);
    // A Responder error to the SP, posted to its ACS.
    let deny = |second: &str, message: &str| {
        let body = assertion::error_response(
            state,
            &p.acs_url,
            irt,
            assertion::STATUS_RESPONDER,
            Some(second),
            message,
        );
        post_form(
            state,
            &p.acs_url,
            "SAMLResponse",
            body,
            p.relay_state.as_deref(),
        )
    };
    if !user.is_usable(state.clock.now()) || !covered {
        return Ok(deny(
            assertion::STATUS_REQUEST_DENIED,
            "the account cannot sign in",
        ));
    }
    let context_class = match &p.authn_context {
        None => Some(assertion::context_class(&session)),
        Some(rc) => assertion::classes_of(&session)
            .iter()
            .copied()
            .find(|c| meets(rc, c)),
    };
    let Some(context_class) = context_class else {
        return Ok(deny(
            assertion::STATUS_NO_AUTHN_CONTEXT,
            "the sign-in does not meet the requested authentication context",
        ));
    };
    let (name_id, format) = assertion::name_id(state, &sp, &user, p.name_id_format.as_deref());
    let session_index = assertion::new_id();
    let body = assertion::success(
        state,
        &Grant {
            sp: &sp,
            user: &user,
            session: &session,
            acs_url: &p.acs_url,
            in_response_to: irt,
            name_id: &name_id,
            name_id_format: format,
            session_index: &session_index,
            support_readonly,
            context_class,
        },
    )?;
    state
        .store
        .put_session_sp(&SessionSp {
            session_id: session.id,
            sp_entity_id: sp.entity_id.clone(),
            name_id,
            name_id_format: format.to_string(),
            session_index,
            created_at: state.clock.now(),
        })
        .await?;
    tracing::info!(sp = %sp.entity_id, user = %user.id, session = %session.id, "SAML assertion issued");
    Ok(post_form(
        state,
        &p.acs_url,
        "SAMLResponse",
        body,
        p.relay_state.as_deref(),
    ))
}

/// The RequestedAuthnContext as stored: `comparison class…` (None when absent).
fn requested_context(ar: &AuthnRequest) -> Option<String> {
    let rc = ar.requested_authn_context.as_ref()?;
    let classes: Vec<String> = rc
        .authn_context_class_refs
        .iter()
        .flatten()
        .filter_map(|c| c.value.clone())
        .filter(|c| !c.is_empty() && !c.contains(char::is_whitespace))
        .take(16)
        .collect();
    if classes.is_empty() {
        return None;
    }
    let cmp = rc
        .comparison
        .as_ref()
        .unwrap_or(&AuthnContextComparison::Exact);
    Some(format!("{} {}", cmp.value(), classes.join(" ")))
}

/// Strength of the classes Monban can assert (others are unknown).
fn rank(class: &str) -> Option<u8> {
    match class {
        assertion::AC_PASSWORD => Some(1),
        assertion::AC_MFA => Some(2),
        assertion::AC_PHR => Some(3),
        _ => None,
    }
}

/// Whether the class asserted (`ours`) meets a stored requested context.
fn meets(stored: &str, ours: &str) -> bool {
    let mut it = stored.split(' ');
    let cmp = it.next().unwrap_or("exact");
    let classes: Vec<&str> = it.collect();
    let Some(r) = rank(ours) else { return false };
    let ranks = classes.iter().filter_map(|c| rank(c));
    match cmp {
        "minimum" => ranks.clone().any(|x| r >= x),
        "better" => ranks.clone().any(|x| r > x),
        "maximum" => ranks.clone().any(|x| r <= x),
        _ => classes.contains(&ours),
    }
}

/// Whether any sign-in Monban offers could meet the requested context.
fn satisfiable(stored: &str) -> bool {
    [assertion::AC_PASSWORD, assertion::AC_MFA, assertion::AC_PHR]
        .iter()
        .any(|c| meets(stored, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_context_comparisons() {
        let pwd = assertion::AC_PASSWORD;
        let mfa = assertion::AC_MFA;
        assert!(meets(&format!("exact {pwd}"), pwd));
        assert!(!meets(&format!("exact {mfa}"), pwd));
        assert!(meets(&format!("minimum {pwd}"), mfa));
        assert!(!meets(&format!("better {pwd}"), pwd));
        assert!(meets(&format!("better {pwd}"), mfa));
        assert!(meets(&format!("maximum {mfa}"), pwd));
        let phr = assertion::AC_PHR;
        assert!(meets(&format!("exact {phr}"), phr));
        assert!(!meets(&format!("exact {phr}"), mfa));
        assert!(meets(&format!("minimum {mfa}"), phr));
        assert!(meets(&format!("better {mfa}"), phr));
        assert!(!meets(&format!("better {phr}"), phr));
        assert!(satisfiable(&format!("exact {phr}")));
        assert!(!satisfiable("exact urn:example:smartcard"));
        assert!(satisfiable(&format!("exact urn:example:smartcard {pwd}")));
    }
}
