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
    /// PostgreSQL has row locks: write transactions need no turn of their own.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

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
        // While serving, a request waits `acquire_timeout_ms` for a connection and is
        // then answered 503; at start-up, connecting is retried for
        // `connect_timeout_secs`.
        let deadline = tokio::time::Instant::now() + timeout;
        let pool = loop {
            let tried = PgPoolOptions::new()
                .max_connections(cfg.database.max_connections)
                .acquire_timeout(
                    Duration::from_millis(cfg.database.acquire_timeout_ms).min(timeout),
                )
                .connect_with(opts.clone())
                .await;
            match tried {
                Ok(pool) => break pool,
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    anyhow::bail!("cannot reach PostgreSQL at database.url: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
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
            .acquire_timeout(BUS_CONNECT_TIMEOUT)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(self.opts.clone())
            .await?;
        let mut l = PgListener::connect_with(&own).await?;
        // A lost connection is ours to re-establish (see `bus_subscribe`), not the
        // driver's: its pool backs off for seconds.
        l.eager_reconnect(false);
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

    async fn bus_publish(&self, payload: &str) -> crate::store::StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.bus_channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// LISTENs before returning (so nothing published after start-up is missed), then
    /// forwards each message. When the listening connection is lost it sends
    /// [`BusSignal::Down`] at once (the caches stop being trusted), tries to connect
    /// again every [`BUS_RETRY`] (each try bounded by [`BUS_CONNECT_TIMEOUT`], not the
    /// driver's growing backoff), LISTENs again and sends [`BusSignal::Lost`] so the
    /// caches are flushed for whatever was missed: within about a second of the
    /// database being back. Stops when the store is closed.
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
                    lost => {
                        match lost {
                            Err(e) => {
                                tracing::warn!(error = %e, "bus listener lost its connection")
                            }
                            _ => tracing::warn!("bus listener lost its connection"),
                        }
                        if tx.send(BusSignal::Down).await.is_err() {
                            break;
                        }
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep(BUS_RETRY) => {}
                                _ = main.close_event() => return,
                            }
                            match tokio::time::timeout(BUS_CONNECT_TIMEOUT, me.bus_listener()).await
                            {
                                Ok(Ok(l)) => {
                                    listener = l;
                                    break;
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "bus listener cannot reconnect yet")
                                }
                                Err(_) => tracing::debug!("bus listener reconnect timed out"),
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

/// Between attempts to reconnect the bus listener.
const BUS_RETRY: Duration = Duration::from_millis(200);
/// One attempt to reconnect the bus listener, at most.
const BUS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

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
