//! PostgreSQL dialect: for several replicas sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::config::Config;

pub struct PostgresStore {
    pub(crate) pool: PgPool,
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
            .connect_with(opts)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach PostgreSQL at database.url: {e}"))?;
        Ok(Self { pool })
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
}

super::sql::impl_sql_store!(PostgresStore, sqlx::Postgres);
super::oidc::impl_oidc_store!(PostgresStore, sqlx::Postgres);
super::mfa::impl_mfa_store!(PostgresStore, sqlx::Postgres);
super::audit::impl_audit_store!(PostgresStore, sqlx::Postgres);
super::admin::impl_admin_store!(PostgresStore, sqlx::Postgres, USER_COLS, SESSION_COLS);
super::outbox::impl_outbox_store!(PostgresStore, sqlx::Postgres);
super::saml::impl_saml_store!(PostgresStore, sqlx::Postgres);
super::support::impl_support_store!(PostgresStore, sqlx::Postgres);
