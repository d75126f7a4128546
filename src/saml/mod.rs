//! SAML 2.0 identity provider (SAML2int profile): metadata, Web Browser SSO
//! (AuthnRequest over HTTP-Redirect and HTTP-POST, Response over HTTP-POST), IdP-
//! initiated SSO, and Single Logout (Redirect and POST).
//!
//! Routes:
//! - `GET /saml/metadata`
//! - `GET|POST /saml/sso` — AuthnRequest; `GET /saml/continue?id=` resumes after sign-in
//! - `GET /saml/idp-initiated?sp=ENTITY_ID[&RelayState=]` — only for SPs that allow it
//! - `GET|POST /saml/slo` — LogoutRequest from an SP, or a LogoutResponse answering ours
//! - `GET /saml/error` — the metadata `errorURL`

pub mod assertion;
pub mod binding;
pub mod encrypt;
pub mod metadata;
pub mod slo;
pub mod sso;
pub mod xml;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::core::Core;
use crate::error::{AppError, AppResult};
use xml::InputError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/saml/metadata", web::get().to(metadata::metadata))
        .service(
            web::resource("/saml/sso")
                .route(web::get().to(sso::sso_redirect))
                .route(web::post().to(sso::sso_post)),
        )
        .route("/saml/continue", web::get().to(sso::resume))
        .route("/saml/idp-initiated", web::get().to(sso::idp_initiated))
        .service(
            web::resource("/saml/slo")
                .route(web::get().to(slo::slo_redirect))
                .route(web::post().to(slo::slo_post)),
        )
        .route("/saml/error", web::get().to(error_page));
}

/// The HTTP-POST binding's form body, parsed by the same parser as the Redirect
/// query ([`binding::parse`]): duplicated or encoded protocol fields are refused
/// rather than silently taking the first or the last.
pub fn parse_form<'a>(
    req: &HttpRequest,
    body: &'a web::Bytes,
) -> AppResult<binding::BindingMessage<'a>> {
    use actix_web::HttpMessage;
    if !req
        .content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(AppError::new(
            crate::error::Kind::UnsupportedMediaType,
            "saml_bad_request",
            "expected application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| refuse("saml_bad_request", "the form is not UTF-8"))?;
    Ok(binding::parse(text)?)
}

/// A refusal shown as a localised error page (never sent to an unverified ACS).
pub fn refuse(code: &'static str, detail: impl Into<String>) -> AppError {
    AppError::bad_request(code, detail)
}

impl From<binding::ParamError> for AppError {
    fn from(e: binding::ParamError) -> Self {
        refuse("saml_bad_request", e.to_string())
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        let code = match e {
            InputError::TooLarge => "saml_too_large",
            InputError::Unsigned => "saml_unsigned",
            InputError::BadSignature | InputError::SigAlg | InputError::Wrapped => {
                "saml_bad_signature"
            }
            _ => "saml_bad_request",
        };
        refuse(code, e.to_string())
    }
}

/// Checks the RelayState length (returned untouched otherwise).
pub fn check_relay_state(state: &Core, rs: Option<&str>) -> AppResult<()> {
    match rs {
        Some(r) if r.len() > state.cfg.saml.relay_state_max_bytes => Err(refuse(
            "saml_bad_request",
            "RelayState is longer than allowed",
        )),
        _ => Ok(()),
    }
}

/// The HTTP-POST binding: an auto-submitting form to `action` (the CSP allows that
/// origin as form target and a nonce'd inline script).
pub fn post_form(
    state: &Core,
    action: &str,
    field: &'static str,
    message: String,
    relay_state: Option<&str>,
) -> HttpResponse {
    let mut params = vec![(field, message)];
    if let Some(rs) = relay_state {
        params.push(("RelayState", rs.to_string()));
    }
    crate::http::templates::form_post_response(&state.cfg.ui.product_name, action, &params)
}

/// The HTTP-Redirect binding with a query signature (RSA-SHA256) by the current
/// SAML key: `{field}=…[&RelayState=…]&SigAlg=…&Signature=…`.
pub fn redirect_signed(
    state: &Core,
    location: &str,
    field: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> AppResult<HttpResponse> {
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut query = format!("{field}={}", enc(&xml::encode_redirect(xml)));
    if let Some(rs) = relay_state {
        query.push_str(&format!("&RelayState={}", enc(rs)));
    }
    query.push_str(&format!("&SigAlg={}", enc(xml::SIG_RSA_SHA256)));
    let keys = state.keys.current();
    let key = keys
        .saml_signing_key(state.clock.now())
        .ok_or_else(|| AppError::unavailable("no usable SAML signing key"))?;
    let sig = openssl::pkey::PKey::private_key_from_pem(key.key_pem.as_bytes())
        .and_then(|k| {
            let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &k)?;
            s.update(query.as_bytes())?;
            s.sign_to_vec()
        })
        .map_err(AppError::internal)?;
    query.push_str(&format!("&Signature={}", enc(&B64.encode(sig))));
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, format!("{location}{sep}{query}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Initialises libxml2 and xmlsec once, on the start-up thread, before any worker
/// parses SAML (their global initialisation is not meant to race): signs a tiny
/// document with the current SAML key, which also proves the key usable.
pub fn init(state: &Core) {
    let _ = libxml::parser::Parser::default().parse_string("<init/>");
    if let Err(e) = assertion::self_test(state) {
        tracing::warn!(error = %e, "SAML signing self-test failed");
    }
}

/// Deletes expired pending requests and remembered request IDs every ten minutes.
pub fn spawn_purger(state: std::sync::Arc<Core>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = state.store.purge_saml(state.clock.now()).await {
                tracing::warn!(error = %e, "purging expired SAML requests failed");
            }
        }
    });
}

async fn error_page() -> AppResult<HttpResponse> {
    Err(refuse(
        "saml_bad_request",
        "the single sign-on request could not be completed",
    ))
}
