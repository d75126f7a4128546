//! Native TLS (`[server.tls]`): rustls on aws-lc-rs, the certificate chain and key
//! read from PEM files and read again when they change (a renewed certificate is used
//! for new connections without a restart; a pair that does not load is logged and
//! the one in use is kept).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// The certificate in use, swapped when the files change.
#[derive(Debug)]
pub struct Certificate {
    current: ArcSwap<CertifiedKey>,
    cert_file: PathBuf,
    key_file: PathBuf,
    /// Modification times of the files as last loaded.
    loaded: std::sync::Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn modified(p: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn load(cert_file: &PathBuf, key_file: &PathBuf) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| anyhow::anyhow!("server.tls.cert_file {}: {e}", cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("server.tls.cert_file {}: {e}", cert_file.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "server.tls.cert_file {}: no certificate in it",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("server.tls.key_file {}: {e}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
        anyhow::anyhow!(
            "server.tls: the key does not go with the certificate or is not usable: {e}"
        )
    })
}

impl Certificate {
    pub fn open(cfg: &TlsConfig) -> anyhow::Result<Arc<Certificate>> {
        let (cert_file, key_file) = (PathBuf::from(&cfg.cert_file), PathBuf::from(&cfg.key_file));
        let stamps = (modified(&cert_file), modified(&key_file));
        let key = load(&cert_file, &key_file)?;
        Ok(Arc::new(Certificate {
            current: ArcSwap::from_pointee(key),
            cert_file,
            key_file,
            loaded: std::sync::Mutex::new(stamps),
        }))
    }

    /// Loads the files again if either changed since; true if a new pair is in use.
    pub fn reload_if_changed(&self) -> bool {
        let stamps = (modified(&self.cert_file), modified(&self.key_file));
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if *loaded == stamps {
            return false;
        }
        match load(&self.cert_file, &self.key_file) {
            Ok(key) => {
                self.current.store(Arc::new(key));
                *loaded = stamps;
                tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Perhaps half-written (the certificate renewed before the key): tried
                // again at the next check; the pair in use stays.
                tracing::warn!(error = %e, "TLS certificate not reloaded; keeping the one in use");
                false
            }
        }
    }

    /// The rustls configuration serving this certificate (HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<rustls::ServerConfig> {
        let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(c)
    }

    /// Checks the files every `every` for as long as the process runs.
    pub fn spawn_reloader(self: &Arc<Self>, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let m = me.clone();
                let _ = tokio::task::spawn_blocking(move || m.reload_if_changed()).await;
            }
        });
    }
}
