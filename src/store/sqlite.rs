//! SQLite dialect: the embedded default (a WAL-mode file under `data.dir`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::config::Config;

pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// Write transactions on hot paths take this first: SQLite has one writer at a
    /// time, and a writer that finds the database locked sleeps in SQLite's busy
    /// handler (1, 2, 5 … 100 ms steps) instead of queueing; in-process, they queue.
    writer: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    /// Held for the length of a write transaction (see `writer`).
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.writer.lock().await)
    }
}

impl SqliteStore {
    pub async fn connect(cfg: &Config) -> anyhow::Result<Self> {
        let url = cfg.database_url();
        let opts = SqliteConnectOptions::from_str(&url)
            .map_err(|e| anyhow::anyhow!("database.url `{url}` is not a SQLite URL: {e}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = opts.get_filename().parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot create the database directory {}: {e}",
                        parent.display()
                    )
                })?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.database.max_connections)
            .acquire_timeout(Duration::from_secs(cfg.database.connect_timeout_secs))
            .connect_with(opts)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the SQLite database `{url}`: {e}"))?;
        Ok(Self {
            pool,
            writer: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait::async_trait]
impl crate::store::Backend for SqliteStore {
    fn dialect(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> crate::store::StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> crate::store::StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn queue_depths(&self) -> crate::store::StoreResult<crate::store::QueueDepths> {
        self.both_queue_depths().await
    }

    fn pool_stats(&self) -> (i64, i64, i64) {
        (
            i64::from(self.pool.size()),
            self.pool.num_idle() as i64,
            i64::from(self.pool.options().get_max_connections()),
        )
    }

    /// One process per database file: the in-process bus is all there is.
    async fn bus_publish(&self, _payload: &str) -> crate::store::StoreResult<()> {
        Ok(())
    }

    async fn bus_subscribe(
        &self,
    ) -> crate::store::StoreResult<Option<tokio::sync::mpsc::Receiver<crate::store::BusSignal>>>
    {
        Ok(None)
    }
}

super::accounts::impl_account_store!(SqliteStore, sqlx::Sqlite);
super::queue::impl_queue!(SqliteStore, sqlx::Sqlite);
super::oidc::impl_oidc_store!(SqliteStore, sqlx::Sqlite);
super::mfa::impl_mfa_store!(SqliteStore, sqlx::Sqlite);
super::passkeys::impl_passkey_store!(SqliteStore, sqlx::Sqlite);
super::federation::impl_federation_store!(SqliteStore, sqlx::Sqlite);
super::audit::impl_audit_store!(SqliteStore, sqlx::Sqlite);
super::admin::impl_admin_store!(SqliteStore, sqlx::Sqlite, USER_COLS, SESSION_COLS);
super::outbox::impl_outbox_store!(SqliteStore, sqlx::Sqlite);
super::saml::impl_saml_store!(SqliteStore, sqlx::Sqlite);
super::support::impl_support_store!(SqliteStore, sqlx::Sqlite);
