//! The admin REST API under `/admin/v1` (thin handlers) and its OpenAPI document
//! (`/admin/v1/openapi.json`, browsable at `/admin/v1/docs/` with a vendored Swagger UI).

pub mod auth;
pub mod device;
pub mod idp;
pub mod ops;
pub mod org;
pub mod saml;
pub mod support;
pub mod users;
pub mod views;

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Monban admin API", version = "1", description = "Account security controls for admins. \
        Authenticate with `Authorization: Bearer <admin token>` (from `monban admin-token create`) or with an \
        access token of a service client granted `admin:*` scopes. Errors are RFC 9457 problem documents."),
    paths(
        users::create_user, users::list_users, users::get_user, users::patch_user, users::delete_user,
        users::restore_user, users::suspend_user, users::unsuspend_user, users::unlock_user,
        users::set_password, users::request_password_change, users::bulk_password_change,
        users::block_apps, users::unblock_apps, users::change_login_id,
        users::list_sessions, users::logout_all, users::logout_one, users::access_history, users::devices,
        users::security, users::get_mfa, users::reset_mfa, users::remove_passkey, idp::unlink,
        idp::list, idp::create, idp::get, idp::patch,
        org::get_policy, org::put_policy, org::audit_events, org::app_blocks,
        org::create_client, org::list_clients, org::get_client, org::rotate_client_secret, org::delete_client,
        saml::list, saml::create, saml::delete,
        support::create, support::list, support::approve, support::deny,
        device::list, device::approve, device::deny,
    ),
    modifiers(&BearerAuth),
    tags((name = "users"), (name = "sessions"), (name = "security"), (name = "policy"), (name = "audit"), (name = "clients"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{header::HeaderBuilder, ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Every operation may be rate limited (per credential): 429 with Retry-After;
        // and answered 503 with Retry-After while the database is unavailable.
        let retry_later = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::Integer),
                        ))
                        .build(),
                )
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        let too_many = retry_later("rate limited; retry after the given seconds");
        let unavailable = retry_later("the database is unavailable; retry after the given seconds");
        // Every operation may be refused for a malformed request (400), without a
        // valid credential (401) or without the scope it needs (403): problem
        // documents, declared here once rather than on each operation.
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        let refusals = [
            ("400", problem("malformed request")),
            ("401", problem("no valid credential")),
            ("403", problem("the credential lacks the scope")),
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("429".into(), too_many.clone().into());
                op.responses
                    .responses
                    .insert("503".into(), unavailable.clone().into());
                for (status, response) in &refusals {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| response.clone().into());
                }
            }
        }
    }
}

/// Headers for a response that carries a secret (a client secret, a link that signs
/// someone in): no cache, shared or private, may keep it (RFC 9111 §5.2.2.5; `Pragma`
/// for HTTP/1.0 caches). The API scope sets them on every response (they all carry
/// account data), so a handler that returns a secret needs nothing more.
pub const NO_STORE: [(actix_web::http::header::HeaderName, &str); 2] = [
    (actix_web::http::header::CACHE_CONTROL, "no-store"),
    (actix_web::http::header::PRAGMA, "no-cache"),
];

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_json().unwrap_or_default())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Before the scope: a matched scope answers 404 for what it does not route.
    cfg.service(
        utoipa_swagger_ui::SwaggerUi::new("/admin/v1/docs/{_:.*}")
            .url("/admin/v1/docs/openapi.json", ApiDoc::openapi()),
    );
    cfg.service(
        web::scope("/admin/v1")
            .wrap(
                NO_STORE
                    .iter()
                    .fold(actix_web::middleware::DefaultHeaders::new(), |d, h| {
                        d.add(h.clone())
                    }),
            )
            .route("/openapi.json", web::get().to(openapi_json))
            .service(
                web::resource("/users")
                    .route(web::get().to(users::list_users))
                    .route(web::post().to(users::create_user)),
            )
            .service(
                web::resource("/users/{id}")
                    .route(web::get().to(users::get_user))
                    .route(web::patch().to(users::patch_user))
                    .route(web::delete().to(users::delete_user)),
            )
            .service(
                web::resource("/users/{id}/restore").route(web::post().to(users::restore_user)),
            )
            .service(
                web::resource("/users/{id}/suspend").route(web::post().to(users::suspend_user)),
            )
            .service(
                web::resource("/users/{id}/unsuspend").route(web::post().to(users::unsuspend_user)),
            )
            .service(web::resource("/users/{id}/unlock").route(web::post().to(users::unlock_user)))
            .service(
                web::resource("/users/{id}/password").route(web::put().to(users::set_password)),
            )
            .service(
                web::resource("/users/{id}/password-change-request")
                    .route(web::post().to(users::request_password_change)),
            )
            .service(
                web::resource("/password-change-requests")
                    .route(web::post().to(users::bulk_password_change)),
            )
            .service(
                web::resource("/users/{id}/app-block")
                    .route(web::put().to(users::block_apps))
                    .route(web::delete().to(users::unblock_apps)),
            )
            .service(
                web::resource("/users/{id}/login-id").route(web::put().to(users::change_login_id)),
            )
            .service(
                web::resource("/users/{id}/sessions")
                    .route(web::get().to(users::list_sessions))
                    .route(web::delete().to(users::logout_all)),
            )
            .service(
                web::resource("/users/{id}/sessions/{session_id}")
                    .route(web::delete().to(users::logout_one)),
            )
            .service(
                web::resource("/users/{id}/access-history")
                    .route(web::get().to(users::access_history)),
            )
            .service(web::resource("/users/{id}/devices").route(web::get().to(users::devices)))
            .service(web::resource("/users/{id}/security").route(web::get().to(users::security)))
            .service(
                web::resource("/users/{id}/mfa")
                    .route(web::get().to(users::get_mfa))
                    .route(web::delete().to(users::reset_mfa)),
            )
            .service(
                web::resource("/users/{id}/passkeys/{passkey_id}")
                    .route(web::delete().to(users::remove_passkey)),
            )
            .service(
                web::resource("/users/{id}/linked-logins/{provider}")
                    .route(web::delete().to(idp::unlink)),
            )
            .service(
                web::resource("/identity-providers")
                    .route(web::get().to(idp::list))
                    .route(web::post().to(idp::create)),
            )
            .service(
                web::resource("/identity-providers/{slug}")
                    .route(web::get().to(idp::get))
                    .route(web::patch().to(idp::patch)),
            )
            .service(
                web::resource("/policy")
                    .route(web::get().to(org::get_policy))
                    .route(web::put().to(org::put_policy)),
            )
            .service(web::resource("/audit-events").route(web::get().to(org::audit_events)))
            .service(web::resource("/app-blocks").route(web::get().to(org::app_blocks)))
            .service(
                web::resource("/clients")
                    .route(web::get().to(org::list_clients))
                    .route(web::post().to(org::create_client)),
            )
            .service(
                web::resource("/clients/{client_id}")
                    .route(web::get().to(org::get_client))
                    .route(web::delete().to(org::delete_client)),
            )
            .service(
                web::resource("/clients/{client_id}/secret")
                    .route(web::post().to(org::rotate_client_secret)),
            )
            .service(
                web::resource("/saml/service-providers")
                    // SP metadata can be larger than the default body limit.
                    .app_data(
                        web::JsonConfig::default()
                            .limit(256 * 1024)
                            .error_handler(crate::http::rejections::json_error),
                    )
                    .route(web::get().to(saml::list))
                    .route(web::post().to(saml::create))
                    .route(web::delete().to(saml::delete)),
            )
            .service(
                web::resource("/support-requests")
                    .route(web::get().to(support::list))
                    .route(web::post().to(support::create)),
            )
            .service(
                web::resource("/support-requests/{id}/approve")
                    .route(web::post().to(support::approve)),
            )
            .service(
                web::resource("/support-requests/{id}/deny").route(web::post().to(support::deny)),
            )
            // Resources (not bare routes), so other methods get 405 like every other path.
            .service(web::resource("/device-requests").route(web::get().to(device::list)))
            .service(
                web::resource("/device-requests/{id}/approve")
                    .route(web::post().to(device::approve)),
            )
            .service(
                web::resource("/device-requests/{id}/deny").route(web::post().to(device::deny)),
            ),
    );
}
