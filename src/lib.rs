//! Monban (門番): a self-hosted identity provider.
//!
//! See `README.md` for running it and `../shared/DESIGN.md` for the architecture.

pub mod account;
pub mod admin;
pub mod app;
pub mod audit;
pub mod authn;
pub mod cache;
pub mod clients;
pub mod clock;
pub mod config;
pub mod console;
pub mod core;
pub mod error;
pub mod federation;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod policy;
pub mod ratelimit;
pub mod saml;
pub mod sessions;
pub mod store;
pub mod support;
pub mod useragent;
pub mod users;
pub mod util;

pub use app::Application;
pub use config::Config;
pub use http::state::AppState;
