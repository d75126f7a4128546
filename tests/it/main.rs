//! The integration tests, linked into one binary (`cargo test --test it`; one
//! module per area, e.g. `cargo test --test it browser::`). Every test talks real
//! HTTP to a real Monban on SQLite, and on PostgreSQL when `MONBAN_TEST_POSTGRES` is set.

#[macro_use]
mod common;
mod mfa_support;

mod admin;
mod architecture;
mod browser;
mod browser_console;
mod browser_federation;
mod browser_passkeys;
mod cli;
mod config;
mod console;
mod device;
mod federation;
mod http_basics;
mod keepalive;
mod keys;
mod login;
mod mfa;
mod mfa_backup_codes;
mod mfa_policy;
mod notify;
mod oidc;
mod oidc_conformance;
mod oidc_mfa;
mod operations;
mod passkeys;
mod ratelimit;
mod replicas;
mod saml;
mod saml_mfa;
mod saml_slo;
mod store;
mod store_accounts;
mod store_admin;
mod store_admin_purge;
mod store_device;
mod store_fixtures;
mod store_mfa;
mod store_oidc;
mod store_outbox;
mod store_saml;
mod store_schema;
mod store_support;
mod support;
