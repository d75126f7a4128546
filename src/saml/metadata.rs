//! `GET /saml/metadata`: the IdP's EntityDescriptor (SAML metadata 2.0, SAML2int
//! MD/IDP33): an IDPSSODescriptor with a signing KeyDescriptor for every published
//! SAML certificate (old and new during rotation), SSO and SLO endpoints for the
//! Redirect and POST bindings, NameID formats, `validUntil`, `cacheDuration`,
//! `errorURL`, a display name (mdui) and, when configured, a technical contact.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Duration;

use super::assertion::{entity_id, instant};
use super::xml::esc;
use crate::clients::saml::{
    BINDING_POST, BINDING_REDIRECT, NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT,
};
use crate::core::Core;
use crate::http::state::AppState;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .insert_header((
            header::CACHE_CONTROL,
            format!(
                "public, max-age={}",
                state.cfg.saml.metadata_cache_secs.min(3600)
            ),
        ))
        .insert_header(("access-control-allow-origin", "*"))
        .body(document(&state))
}

/// The metadata document.
pub fn document(state: &Core) -> String {
    let now = state.clock.now();
    let base = state.cfg.issuer();
    let cfg = &state.cfg.saml;
    let keys = state.keys.current();
    let mut key_descriptors = String::new();
    for k in keys.saml_published(now) {
        key_descriptors.push_str(&format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
            B64.encode(&k.cert_der)
        ));
    }
    let endpoints = |element: &str, path: &str| {
        [BINDING_REDIRECT, BINDING_POST]
            .iter()
            .map(|b| {
                format!(
                    "<md:{element} Binding=\"{b}\" Location=\"{}{path}\"/>",
                    esc(base)
                )
            })
            .collect::<String>()
    };
    let product = esc(&state.cfg.ui.product_name);
    let contact = if cfg.contact_email.is_empty() {
        String::new()
    } else {
        format!(
            "<md:ContactPerson contactType=\"technical\"><md:EmailAddress>mailto:{}</md:EmailAddress>\
             </md:ContactPerson>",
            esc(&cfg.contact_email)
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" \
         entityID=\"{entity}\" validUntil=\"{valid}\" cacheDuration=\"PT{cache}S\">\
         <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         WantAuthnRequestsSigned=\"false\" errorURL=\"{base}/saml/error\">\
         <md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang=\"en\">{product}</mdui:DisplayName>\
         </mdui:UIInfo></md:Extensions>\
         {key_descriptors}{slo}\
         <md:NameIDFormat>{NAMEID_PERSISTENT}</md:NameIDFormat>\
         <md:NameIDFormat>{NAMEID_TRANSIENT}</md:NameIDFormat>\
         <md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>\
         {sso}</md:IDPSSODescriptor>\
         <md:Organization><md:OrganizationName xml:lang=\"en\">{product}</md:OrganizationName>\
         <md:OrganizationDisplayName xml:lang=\"en\">{product}</md:OrganizationDisplayName>\
         <md:OrganizationURL xml:lang=\"en\">{base}/</md:OrganizationURL></md:Organization>\
         {contact}</md:EntityDescriptor>\n",
        entity = esc(&entity_id(state)),
        valid = instant(now + Duration::seconds(cfg.metadata_valid_secs)),
        cache = cfg.metadata_cache_secs,
        base = esc(base),
        slo = endpoints("SingleLogoutService", "/saml/slo"),
        sso = endpoints("SingleSignOnService", "/saml/sso"),
    )
}
