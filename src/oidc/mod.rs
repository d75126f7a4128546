//! The OpenID Provider: discovery, authorization (with consent), token, userinfo,
//! introspection, revocation, RP-initiated and back-channel logout, and the device
//! authorization grant.

pub mod authorization;
pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod introspect;
pub mod params;
pub mod state;
pub mod token;
pub mod tokens;
pub mod userinfo;

pub use state::OidcState;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(crate::http::basics::discovery),
    )
    .service(
        web::resource("/authorize")
            .route(web::get().to(authorize::authorize_get))
            .route(web::post().to(authorize::authorize_post)),
    )
    .service(
        web::resource("/consent")
            .route(web::get().to(authorize::consent_page))
            .route(web::post().to(authorize::consent_submit)),
    )
    .service(web::resource("/token").route(web::post().to(token::token)))
    .service(
        web::resource("/device_authorization").route(web::post().to(device::device_authorization)),
    )
    .service(
        web::resource("/device")
            .route(web::get().to(device::device_page))
            .route(web::post().to(device::device_submit)),
    )
    .service(web::resource("/device/decision").route(web::post().to(device::device_decision)))
    .service(web::resource("/device/requests/{id}").route(web::get().to(device::approval_page)))
    .service(
        web::resource("/device/requests/{id}/decision")
            .route(web::post().to(device::approval_submit)),
    )
    .service(
        web::resource("/userinfo")
            .route(web::get().to(userinfo::userinfo))
            .route(web::post().to(userinfo::userinfo)),
    )
    .service(web::resource("/introspect").route(web::post().to(introspect::introspect)))
    .service(web::resource("/revoke").route(web::post().to(introspect::revoke)))
    .service(
        web::resource("/end_session")
            .route(web::get().to(end_session::end_session_get))
            .route(web::post().to(end_session::end_session_post)),
    )
    .route(
        "/end_session/confirm",
        web::post().to(end_session::end_session_confirm),
    );
}
