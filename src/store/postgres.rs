//! PostgreSQL dialect: for several replicas sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::config::Config;
use crate::store::BusSignal;

pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Options of `pool`, for the bus listener's own connection.
    opts: PgConnectOptions,
    /// NOTIFY channel of the revocation bus: one per database schema.
    bus_channel: String,
}

/// `monban_bus`, or `monban_bus_<schema>` (NOTIFY channels are database-wide, so
/// replica sets on different schemas of one database must not hear each other),
/// cut to PostgreSQL's 63-byte identifier limit.
fn bus_channel(schema: &str) -> String {
    let mut c = if schema.is_empty() {
        "monban_bus".to_string()
    } else {
        format!("monban_bus_{schema}")
    };
    c.truncate(63);
    c
}

impl PostgresStore {
    pub async fn connect(cfg: &Config) -> anyhow::Result<Self> {
        let url = cfg.database_url();
        let mut opts = PgConnectOptions::from_str(&url)
            .map_err(|e| anyhow::anyhow!("database.url is not a PostgreSQL URL: {e}"))?;
        let timeout = Duration::from_secs(cfg.database.connect_timeout_secs);
        let schema = cfg.database.schema.clone();
        if !schema.is_empty() {
            // The name was validated as [A-Za-z0-9_]+ by config; quote it anyway.
            let mut conn = tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(&opts))
                .await
                .map_err(|_| anyhow::anyhow!("cannot reach PostgreSQL at database.url: timed out"))?
                .map_err(|e| anyhow::anyhow!("cannot reach PostgreSQL at database.url: {e}"))?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut conn)
            .await?;
            conn.close().await?;
            opts = opts.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(cfg.database.max_connections)
            .acquire_timeout(timeout)
            .connect_with(opts.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach PostgreSQL at database.url: {e}"))?;
        Ok(Self {
            pool,
            opts,
            bus_channel: bus_channel(&schema),
        })
    }

    /// A listener on the bus channel, on a connection of its own (outside the pool).
    async fn bus_listener(&self) -> Result<PgListener, sqlx::Error> {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(self.opts.clone())
            .await?;
        let mut l = PgListener::connect_with(&own).await?;
        l.listen(&self.bus_channel).await?;
        Ok(l)
    }
}

#[async_trait::async_trait]
impl crate::store::Backend for PostgresStore {
    fn dialect(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> crate::store::StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> crate::store::StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn bus_publish(&self, payload: &str) -> crate::store::StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.bus_channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// LISTENs before returning (so nothing published after start-up is missed), then
    /// forwards each message. After a lost connection it reconnects (every second
    /// until it can), LISTENs again and sends [`BusSignal::Lost`] so the caches are
    /// flushed for whatever was missed. Stops when the store is closed.
    async fn bus_subscribe(
        &self,
    ) -> crate::store::StoreResult<Option<tokio::sync::mpsc::Receiver<BusSignal>>> {
        let mut listener = self.bus_listener().await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let main = self.pool.clone();
        let me = PostgresStore {
            pool: self.pool.clone(),
            opts: self.opts.clone(),
            bus_channel: self.bus_channel.clone(),
        };
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    r = listener.try_recv() => r,
                    _ = main.close_event() => break,
                };
                let signal = match got {
                    Ok(Some(n)) => BusSignal::Message(n.payload().to_string()),
                    // Reconnected and listening again (eager reconnect).
                    Ok(None) => BusSignal::Lost,
                    Err(e) => {
                        tracing::warn!(error = %e, "bus listener lost its connection");
                        if tx.send(BusSignal::Lost).await.is_err() {
                            break;
                        }
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                                _ = main.close_event() => return,
                            }
                            match me.bus_listener().await {
                                Ok(l) => {
                                    listener = l;
                                    break;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "bus listener cannot reconnect yet")
                                }
                            }
                        }
                        tracing::info!("bus listener reconnected");
                        BusSignal::Lost
                    }
                };
                if tx.send(signal).await.is_err() {
                    break;
                }
            }
        });
        Ok(Some(rx))
    }
}

super::accounts::impl_account_store!(PostgresStore, sqlx::Postgres);
super::queue::impl_queue!(PostgresStore, sqlx::Postgres);
super::oidc::impl_oidc_store!(PostgresStore, sqlx::Postgres);
super::mfa::impl_mfa_store!(PostgresStore, sqlx::Postgres);
super::passkeys::impl_passkey_store!(PostgresStore, sqlx::Postgres);
super::federation::impl_federation_store!(PostgresStore, sqlx::Postgres);
super::audit::impl_audit_store!(PostgresStore, sqlx::Postgres);
super::admin::impl_admin_store!(PostgresStore, sqlx::Postgres, USER_COLS, SESSION_COLS);
super::outbox::impl_outbox_store!(PostgresStore, sqlx::Postgres);
super::saml::impl_saml_store!(PostgresStore, sqlx::Postgres);
super::support::impl_support_store!(PostgresStore, sqlx::Postgres);
