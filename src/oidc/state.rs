//! Per-process OIDC state built at start-up (kept in [`crate::core::Core`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::discovery;
use crate::config::Config;

/// Per-process OIDC state built at start-up.
pub struct OidcState {
    pub discovery: discovery::Discovery,
    /// Wakes the back-channel delivery worker.
    pub wake: Arc<Notify>,
    /// Outgoing HTTP (back-channel logout).
    pub http: reqwest::Client,
}

impl OidcState {
    pub fn new(cfg: &Config) -> anyhow::Result<OidcState> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.oidc.backchannel_timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("monban/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(OidcState {
            discovery: discovery::build(cfg),
            wake: Arc::new(Notify::new()),
            http,
        })
    }
}
