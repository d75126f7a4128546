//! The admin member list at scale: server time of `GET /admin/members` (the console's
//! HTML page) and `GET /admin/v1/users` (the admin API's JSON), both built on
//! `admin::ops::members`, with 100,000 members, on SQLite and on PostgreSQL.
//!
//! For each database: a Monban in this process (`Application::build_with_listener` on
//! 127.0.0.1, release build, rate limits off), members seeded straight into the
//! database (multi-row INSERTs in one transaction: users with some locked, suspended,
//! pending, deleted and app-blocked, a quarter with an MFA credential, a third with
//! sessions), an admin with the `admin` role, an MFA credential and a session whose
//! `amr` has `mfa` (for the console), and an admin API token. Then, per case, one
//! keep-alive reqwest client sends sequential requests on loopback: a warm-up, then the
//! timed requests. Two figures per request: the client's (send to last body byte) and
//! the server's own (`elapsed_ms` of the access-log event, captured by a tracing layer).
//!
//! Cases: page 1; the page after the 90,000th member (a deep cursor); a search that
//! matches 12 members; `status=locked`; `mfa=on`. Each case checks its first answer
//! (status 200, rows, and for the deep cursor that the page starts at member 90,001).
//!
//! `cargo bench --bench members` prints a markdown table and writes it, with the
//! machine, build and settings, to `bench/results/members-<date>.md`. Environment:
//!
//! - `MEMBERS_N` (100000) members; `MEMBERS_REQUESTS` (200) timed requests per case;
//!   `MEMBERS_WARMUP` (20) untimed requests before them;
//! - `MEMBERS_BACKENDS` (`sqlite postgres`);
//! - `MEMBERS_POSTGRES_URL` (`postgres://postgres@127.0.0.1:5432/test`): a schema of
//!   its own is created there and dropped at the end; unreachable → PostgreSQL skipped
//!   (said in the output);
//! - `MEMBERS_RESULTS`: the results file (empty: none written);
//! - `MEMBERS_KEEP=1`: keep the SQLite file and the PostgreSQL schema for inspection
//!   (EXPLAIN); their names are printed.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;
use uuid::Uuid;

// ------------------------------------------------------------------ settings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

struct Settings {
    n: usize,
    requests: usize,
    warmup: usize,
    dbs: Vec<Db>,
    pg_url: String,
    results: Option<PathBuf>,
    keep: bool,
}

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(d)
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let dbs = std::env::var("MEMBERS_BACKENDS")
            .unwrap_or_else(|_| "sqlite postgres".into())
            .split_whitespace()
            .map(|s| match s {
                "sqlite" => Ok(Db::Sqlite),
                "postgres" => Ok(Db::Postgres),
                o => Err(anyhow!("MEMBERS_BACKENDS: unknown `{o}`")),
            })
            .collect::<Result<Vec<_>>>()?;
        let results = match std::env::var("MEMBERS_RESULTS") {
            Ok(p) if p.is_empty() => None,
            Ok(p) => Some(PathBuf::from(p)),
            Err(_) => Some(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("bench/results")
                    .join(format!("members-{}.md", Utc::now().format("%Y-%m-%d"))),
            ),
        };
        let n = env_or("MEMBERS_N", 100_000usize);
        if n < 100 {
            bail!("MEMBERS_N must be at least 100");
        }
        Ok(Settings {
            n,
            requests: env_or("MEMBERS_REQUESTS", 200usize).max(1),
            warmup: env_or("MEMBERS_WARMUP", 20usize),
            dbs,
            pg_url: std::env::var("MEMBERS_POSTGRES_URL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into()),
            results,
            keep: std::env::var("MEMBERS_KEEP").is_ok_and(|v| v == "1"),
        })
    }
}

// ------------------------------------------------------------------ the server's figure

/// `elapsed_ms` of each access-log event (`monban::http::middleware`, "request"), in
/// the order the server logged them. Requests are sequential, so the one entry added
/// during a request is that request's.
static SERVER_MS: Mutex<Vec<f64>> = Mutex::new(Vec::new());

struct ElapsedLayer;

impl<S: tracing::Subscriber> Layer<S> for ElapsedLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Visit(Option<f64>);
        impl tracing::field::Visit for Visit {
            fn record_f64(&mut self, f: &tracing::field::Field, v: f64) {
                if f.name() == "elapsed_ms" {
                    self.0 = Some(v);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut v = Visit(None);
        event.record(&mut v);
        if let Some(ms) = v.0 {
            SERVER_MS.lock().expect("server figures").push(ms);
        }
    }
}

fn take_server_ms() -> Option<f64> {
    let mut v = SERVER_MS.lock().expect("server figures");
    let last = v.last().copied();
    v.clear();
    last
}

// ------------------------------------------------------------------ the seeded members

/// splitmix64: reproducible ids, hashes and names from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uuid(&mut self) -> Uuid {
        let b = ((self.next() as u128) << 64) | self.next() as u128;
        uuid::Builder::from_random_bytes(b.to_be_bytes()).into_uuid()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const GIVEN: &[&str] = &[
    "Aiko", "Ben", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jun", "Kai",
    "Lena", "Malik", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Akira", "Bea", "Carlos", "Dara",
];
const FAMILY: &[&str] = &[
    "Tanaka",
    "Smith",
    "Rossi",
    "Ivanova",
    "Yılmaz",
    "Haddad",
    "Novak",
    "Sato",
    "García",
    "Kim",
    "Müller",
    "Okafor",
    "Silva",
    "Nguyen",
    "Kowalski",
    "Johansson",
    "Dubois",
    "Costa",
    "Patel",
    "Schmidt",
    "Moreau",
    "Suzuki",
    "Fischer",
    "Lopez",
    "Berg",
    "Larsen",
    "Romano",
    "Weber",
    "Meyer",
    "Nakamura",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "corp.example"];
/// The family name that the search case looks for: 12 members have it.
const RARE: &str = "Quennell";
const RARE_COUNT: usize = 12;
/// A placeholder argon2id PHC string (the list never verifies it; the row has its size).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2hzYWx0$\
                    mS0Xo2hE2s7XQ9b6l9n2e1f7V6oR0m1KpJk3Y4u5w6Q";

struct UserRow {
    id: Uuid,
    email: String,
    login_id: Option<String>,
    display_name: String,
    status: &'static str,
    password_hash: Option<&'static str>,
    password_changed_at: Option<DateTime<Utc>>,
    failed_logins: i64,
    locked_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    email_verified: bool,
    app_blocked_at: Option<DateTime<Utc>>,
    app_blocked_by: Option<&'static str>,
    deleted_at: Option<DateTime<Utc>>,
    status_before_delete: Option<&'static str>,
}

struct TotpRow {
    user_id: Uuid,
    secret_enc: Vec<u8>,
    enrolled_at: DateTime<Utc>,
}

struct SessionRow {
    id: Uuid,
    token_hash: Vec<u8>,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: String,
    ended_at: Option<DateTime<Utc>>,
}

struct Plan {
    users: Vec<UserRow>,
    totp: Vec<TotpRow>,
    sessions: Vec<SessionRow>,
    locked: usize,
}

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/130.0.0.0 Safari/537.36";

/// `n` members created one a minute (plus a few microseconds), ending an hour ago, so
/// that member `i` (0-based) is the `i+1`-th in the list's order (created_at, id).
fn plan(n: usize, now: DateTime<Utc>) -> Plan {
    let mut rng = Rng(0x6d6f_6e62_616e);
    let start = now - Duration::minutes(n as i64 + 60);
    let rare_every = n / RARE_COUNT;
    let mut users = Vec::with_capacity(n);
    let mut totp = Vec::new();
    let mut sessions = Vec::new();
    let mut locked = 0;
    for i in 0..n {
        let id = rng.uuid();
        let created_at = start
            + Duration::minutes(i as i64)
            + Duration::microseconds(rng.below(1_000_000) as i64);
        let given = GIVEN[rng.below(GIVEN.len() as u64) as usize];
        let family = if i % rare_every == rare_every / 2 && i / rare_every < RARE_COUNT {
            RARE
        } else {
            FAMILY[rng.below(FAMILY.len() as u64) as usize]
        };
        let email = format!(
            "{}.{}{i}@{}",
            given.to_lowercase(),
            family.to_lowercase(),
            DOMAINS[i % DOMAINS.len()]
        );
        let mut u = UserRow {
            id,
            email,
            login_id: (i % 10 < 3).then(|| format!("e{i:06}")),
            display_name: format!("{given} {family}"),
            status: "active",
            password_hash: Some(HASH),
            password_changed_at: Some(created_at),
            failed_logins: 0,
            locked_until: None,
            created_at,
            email_verified: i % 5 != 0,
            app_blocked_at: None,
            app_blocked_by: None,
            deleted_at: None,
            status_before_delete: None,
        };
        match i % 200 {
            7 | 107 => {
                u.status = "locked";
                u.failed_logins = 5;
                u.locked_until = Some(now + Duration::days(1));
                locked += 1;
            }
            11 => u.status = "suspended",
            13 => {
                u.status = "pending";
                u.password_hash = None;
                u.password_changed_at = None;
            }
            17 => {
                u.status = "deleted";
                u.deleted_at = Some(now - Duration::days(3));
                u.status_before_delete = Some("active");
            }
            19 => {
                u.app_blocked_at = Some(now - Duration::days(2));
                u.app_blocked_by = Some("admin:members-bench");
            }
            _ => {}
        }
        if i % 4 == 1 {
            totp.push(TotpRow {
                user_id: id,
                secret_enc: rng.bytes(49),
                enrolled_at: created_at + Duration::hours(1),
            });
        }
        if i % 3 == 0 {
            // One session, live for some; a third of these users have two more, ended.
            let extra = if i % 9 == 0 { 3 } else { 1 };
            for k in 0..extra {
                let seen = now - Duration::minutes(rng.below(60 * 24 * 30) as i64 + 1);
                let created = seen.min(created_at + Duration::minutes(5 + k));
                sessions.push(SessionRow {
                    id: rng.uuid(),
                    token_hash: rng.bytes(32),
                    user_id: id,
                    created_at: created,
                    last_seen_at: seen,
                    expires_at: created + Duration::days(30),
                    ip: format!("203.0.113.{}", rng.below(250) + 1),
                    ended_at: (k > 0 || i % 2 == 0).then_some(seen),
                });
            }
        }
        users.push(u);
    }
    Plan {
        users,
        totp,
        sessions,
        locked,
    }
}

/// `INSERT INTO table (cols) VALUES ($1, …), (…), …` for `rows` rows.
fn insert_sql(table: &str, cols: &[&str], rows: usize) -> String {
    let mut s = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut k = 1;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "${k}");
            k += 1;
        }
        s.push(')');
    }
    s
}

const USER_COLS: &[&str] = &[
    "id",
    "org_id",
    "email",
    "login_id",
    "display_name",
    "status",
    "password_hash",
    "password_changed_at",
    "failed_logins",
    "locked_until",
    "created_at",
    "updated_at",
    "email_verified",
    "app_blocked_at",
    "app_blocked_by",
    "deleted_at",
    "status_before_delete",
];
const TOTP_COLS: &[&str] = &["user_id", "secret_enc", "enrolled_at", "last_used_step"];
const SESSION_COLS: &[&str] = &[
    "id",
    "token_hash",
    "org_id",
    "user_id",
    "created_at",
    "last_seen_at",
    "expires_at",
    "auth_time",
    "amr",
    "acr",
    "ip",
    "user_agent",
    "ended_at",
    "end_reason",
];
/// Rows per INSERT: 500 × 17 parameters stays under both engines' limits.
const ROWS_PER_INSERT: usize = 500;

/// Seeds a plan in one transaction, one function per dialect (sqlx types differ).
macro_rules! seed_fn {
    ($name:ident, $db:ty) => {
        async fn $name(pool: &sqlx::Pool<$db>, org_id: Uuid, p: &Plan) -> Result<()> {
            let mut tx = pool.begin().await?;
            for chunk in p.users.chunks(ROWS_PER_INSERT) {
                let sql = insert_sql("users", USER_COLS, chunk.len());
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(sql));
                for u in chunk {
                    q = q
                        .bind(u.id)
                        .bind(org_id)
                        .bind(&u.email)
                        .bind(&u.login_id)
                        .bind(&u.display_name)
                        .bind(u.status)
                        .bind(u.password_hash)
                        .bind(u.password_changed_at)
                        .bind(u.failed_logins)
                        .bind(u.locked_until)
                        .bind(u.created_at)
                        .bind(u.created_at)
                        .bind(u.email_verified)
                        .bind(u.app_blocked_at)
                        .bind(u.app_blocked_by)
                        .bind(u.deleted_at)
                        .bind(u.status_before_delete);
                }
                q.execute(&mut *tx).await.context("inserting users")?;
            }
            for chunk in p.totp.chunks(ROWS_PER_INSERT) {
                let sql = insert_sql("mfa_totp", TOTP_COLS, chunk.len());
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(sql));
                for t in chunk {
                    q = q
                        .bind(t.user_id)
                        .bind(&t.secret_enc)
                        .bind(t.enrolled_at)
                        .bind(0i64);
                }
                q.execute(&mut *tx).await.context("inserting mfa_totp")?;
            }
            for chunk in p.sessions.chunks(ROWS_PER_INSERT) {
                let sql = insert_sql("sessions", SESSION_COLS, chunk.len());
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(sql));
                for s in chunk {
                    q = q
                        .bind(s.id)
                        .bind(&s.token_hash)
                        .bind(org_id)
                        .bind(s.user_id)
                        .bind(s.created_at)
                        .bind(s.last_seen_at)
                        .bind(s.expires_at)
                        .bind(s.created_at)
                        .bind("pwd")
                        .bind("urn:monban:acr:pwd")
                        .bind(&s.ip)
                        .bind(UA)
                        .bind(s.ended_at)
                        .bind(s.ended_at.map(|_| "logout"));
                }
                q.execute(&mut *tx).await.context("inserting sessions")?;
            }
            tx.commit().await?;
            Ok(())
        }
    };
}

seed_fn!(seed_sqlite, sqlx::Sqlite);
seed_fn!(seed_postgres, sqlx::Postgres);

/// The admin's TOTP credential (a placeholder secret: the console only asks whether
/// one exists; the session below already has its second step).
macro_rules! totp_fn {
    ($name:ident, $db:ty) => {
        async fn $name(pool: &sqlx::Pool<$db>, user: Uuid, now: DateTime<Utc>) -> Result<()> {
            sqlx::query::<$db>(
                "INSERT INTO mfa_totp (user_id, secret_enc, enrolled_at, last_used_step) \
                 VALUES ($1, $2, $3, 0)",
            )
            .bind(user)
            .bind(vec![1u8; 49])
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        }
    };
}

totp_fn!(totp_sqlite, sqlx::Sqlite);
totp_fn!(totp_postgres, sqlx::Postgres);

// ------------------------------------------------------------------ one database

/// The database under test, reachable by the bench's own pool.
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Instance {
    db: Db,
    /// Holds the SQLite file (dropped at the end unless kept).
    _dir: Option<tempfile::TempDir>,
    keep: bool,
    dir_path: PathBuf,
    pg_schema: Option<String>,
    pool: Pool,
    state: actix_web::web::Data<monban::AppState>,
    handle: actix_web::dev::ServerHandle,
    base: String,
    seed_secs: f64,
    counts: (usize, usize, usize, usize),
}

async fn start(db: Db, s: &Settings, plan: &Plan) -> Result<Instance> {
    let dir = tempfile::Builder::new().prefix("members-bench").tempdir()?;
    let dir_path = dir.path().to_path_buf();
    let mut cfg = monban::Config::default();
    cfg.data.dir = dir_path.join("data");
    cfg.keys.dir = dir_path.join("keys");
    cfg.ratelimit.enabled = false;
    let mut pg_schema = None;
    match db {
        Db::Sqlite => {
            cfg.database.url = format!("sqlite://{}/monban.db", dir_path.display());
        }
        Db::Postgres => {
            let schema = format!("members_bench_{}", Uuid::new_v4().simple());
            cfg.database.url = s.pg_url.clone();
            cfg.database.schema = schema.clone();
            pg_schema = Some(schema);
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    cfg.server.listen = format!("127.0.0.1:{port}");
    cfg.server.issuer = format!("http://127.0.0.1:{port}");
    let url = cfg.database.url.clone();
    let app = monban::Application::build_with_listener(
        cfg,
        listener,
        Arc::new(monban::clock::SystemClock),
    )
    .await
    .context("Monban starts")?;
    let state = app.state();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    // The bench's own pool on the same database (the store's pool is the store's).
    let pool = match db {
        Db::Sqlite => Pool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    url.parse::<sqlx::sqlite::SqliteConnectOptions>()?
                        .busy_timeout(std::time::Duration::from_secs(30)),
                )
                .await?,
        ),
        Db::Postgres => Pool::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_with(
                    url.parse::<sqlx::postgres::PgConnectOptions>()?
                        .options([("search_path", pg_schema.as_deref().unwrap_or("public"))]),
                )
                .await?,
        ),
    };
    let org_id = state.org.id;
    let t = Instant::now();
    match &pool {
        Pool::Sqlite(p) => seed_sqlite(p, org_id, plan).await?,
        Pool::Postgres(p) => {
            seed_postgres(p, org_id, plan).await?;
            // What autovacuum does shortly after a bulk load; without it the first
            // plans would be made on an empty table's statistics.
            sqlx::query("ANALYZE").execute(p).await?;
        }
    }
    let seed_secs = t.elapsed().as_secs_f64();
    Ok(Instance {
        db,
        _dir: if s.keep {
            let _ = dir.keep();
            None
        } else {
            Some(dir)
        },
        keep: s.keep,
        dir_path,
        pg_schema,
        pool,
        state,
        handle,
        base: format!("http://127.0.0.1:{port}"),
        seed_secs,
        counts: (
            plan.users.len(),
            plan.totp.len(),
            plan.sessions.len(),
            plan.locked,
        ),
    })
}

/// The admin: `admin` role, an MFA credential, a session with both steps; its cookie,
/// and an `admin:*` API token.
async fn admin(inst: &Instance) -> Result<(String, String)> {
    let state = &inst.state;
    let user = monban::users::create(
        state,
        monban::users::CreateUser {
            email: "bench-admin@example.com".into(),
            login_id: None,
            display_name: Some("Bench Admin".into()),
            password: Some("members-Bench-2026-pass!".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow!("admin user: {e:?}"))?;
    let now = state.clock.now();
    state
        .store
        .update_user_profile(user.id, None, None, Some("admin"), now)
        .await?;
    monban::cache::user_changed(state, user.id).await;
    match &inst.pool {
        Pool::Sqlite(p) => totp_sqlite(p, user.id, now).await?,
        Pool::Postgres(p) => totp_postgres(p, user.id, now).await?,
    }
    let (_, cookie) = monban::sessions::create(
        state,
        &user,
        &monban::sessions::AuthContext::totp(),
        &monban::sessions::RequestMeta {
            ip: Some("127.0.0.1".into()),
            user_agent: Some(UA.into()),
        },
    )
    .await?;
    let (_, token) = monban::admin::auth::create_token(state, "members-bench", "admin:*", None)
        .await
        .map_err(|e| anyhow!("admin token: {e:?}"))?;
    Ok((
        format!("{}={cookie}", state.cfg.session_cookie_name()),
        token,
    ))
}

async fn stop(inst: Instance) -> Result<()> {
    inst.handle.stop(true).await;
    match inst.pool {
        Pool::Sqlite(p) => p.close().await,
        Pool::Postgres(p) => {
            if let (Some(schema), false) = (&inst.pg_schema, inst.keep) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&p)
                .await?;
            }
            p.close().await;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the cases

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Console,
    Api,
}

impl Surface {
    fn name(self) -> &'static str {
        match self {
            Surface::Console => "console `/admin/members` (HTML)",
            Surface::Api => "API `/admin/v1/users` (JSON)",
        }
    }
}

struct Case {
    name: String,
    /// Query parameters for the console and for the API (they spell `mfa` differently).
    console: Vec<(&'static str, String)>,
    api: Vec<(&'static str, String)>,
    /// Rows the first page must have.
    rows: usize,
    /// The id the page must start with, if known.
    first: Option<Uuid>,
}

fn cases(plan: &Plan) -> Vec<Case> {
    let n = plan.users.len();
    // The page after the 90,000th member (90% of the way for other sizes).
    let deep = n * 9 / 10;
    let before = &plan.users[deep - 1];
    let cursor = monban::admin::views::encode_cursor(before.created_at, before.id);
    let both = |v: Vec<(&'static str, String)>| (v.clone(), v);
    let mut out = Vec::new();
    let (c, a) = both(vec![]);
    out.push(Case {
        name: "page 1".into(),
        console: c,
        api: a,
        rows: 50,
        first: Some(plan.users[0].id),
    });
    let (c, a) = both(vec![("cursor", cursor)]);
    out.push(Case {
        name: format!("deep cursor: the page after member {deep}"),
        console: c,
        api: a,
        rows: 50,
        first: Some(plan.users[deep].id),
    });
    let (c, a) = both(vec![("q", RARE.to_lowercase())]);
    out.push(Case {
        name: format!("search `q={}` ({RARE_COUNT} matches)", RARE.to_lowercase()),
        console: c,
        api: a,
        rows: RARE_COUNT,
        first: None,
    });
    let (c, a) = both(vec![("status", "locked".into())]);
    out.push(Case {
        name: format!("filter `status=locked` ({} matches)", plan.locked),
        console: c,
        api: a,
        rows: 50.min(plan.locked),
        first: None,
    });
    out.push(Case {
        name: format!(
            "filter MFA on (`mfa=on` / `mfa=true`; {} matches)",
            plan.totp.len()
        ),
        console: vec![("mfa", "on".into())],
        api: vec![("mfa", "true".into())],
        rows: 50,
        first: None,
    });
    out
}

struct Measured {
    db: Db,
    surface: Surface,
    case: String,
    rows: usize,
    bytes: usize,
    client: Vec<f64>,
    server: Vec<f64>,
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// Rows on a page and the first row's id.
fn page_rows(surface: Surface, body: &str) -> Result<(usize, Option<Uuid>)> {
    match surface {
        Surface::Api => {
            let v: serde_json::Value = serde_json::from_str(body)?;
            let items = v["items"].as_array().ok_or_else(|| anyhow!("no items"))?;
            let first = items
                .first()
                .and_then(|i| i["id"].as_str())
                .and_then(|s| s.parse().ok());
            Ok((items.len(), first))
        }
        Surface::Console => {
            let marker = "name=\"user_id\" value=\"";
            let rows = body.matches(marker).count();
            let first = body
                .find(marker)
                .and_then(|i| body.get(i + marker.len()..i + marker.len() + 36))
                .and_then(|s| s.parse().ok());
            Ok((rows, first))
        }
    }
}

async fn measure(
    inst: &Instance,
    s: &Settings,
    client: &reqwest::Client,
    creds: &(String, String),
    surface: Surface,
    case: &Case,
) -> Result<Measured> {
    let (url, params) = match surface {
        Surface::Console => (format!("{}/admin/members", inst.base), &case.console),
        Surface::Api => (format!("{}/admin/v1/users", inst.base), &case.api),
    };
    let request = || {
        let r = client.get(&url).query(params);
        match surface {
            Surface::Console => r
                .header(reqwest::header::COOKIE, &creds.0)
                .header(reqwest::header::ACCEPT, "text/html"),
            Surface::Api => r.bearer_auth(&creds.1),
        }
    };
    // The first answer is checked, then the rest of the warm-up.
    let res = request().send().await?;
    let status = res.status();
    let body = res.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!(
            "{} {}: {} {status}: {}",
            inst.db.name(),
            surface.name(),
            case.name,
            body.chars().take(400).collect::<String>()
        );
    }
    let (rows, first) = page_rows(surface, &body)?;
    if rows != case.rows {
        bail!(
            "{} {} {}: {rows} rows, expected {}",
            inst.db.name(),
            surface.name(),
            case.name,
            case.rows
        );
    }
    if let (Some(want), got) = (case.first, first) {
        if got != Some(want) {
            bail!(
                "{} {} {}: the page starts at {got:?}, expected {want}",
                inst.db.name(),
                surface.name(),
                case.name
            );
        }
    }
    let bytes = body.len();
    for _ in 1..s.warmup {
        let r = request().send().await?;
        r.bytes().await?;
    }
    take_server_ms();
    let mut m = Measured {
        db: inst.db,
        surface,
        case: case.name.clone(),
        rows,
        bytes,
        client: Vec::with_capacity(s.requests),
        server: Vec::with_capacity(s.requests),
    };
    for _ in 0..s.requests {
        let t = Instant::now();
        let r = request().send().await?;
        let ok = r.status() == reqwest::StatusCode::OK;
        r.bytes().await?;
        m.client.push(t.elapsed().as_secs_f64() * 1000.0);
        if !ok {
            bail!("{} {}: a non-200 answer", surface.name(), case.name);
        }
        if let Some(ms) = take_server_ms() {
            m.server.push(ms);
        }
    }
    m.client.sort_by(f64::total_cmp);
    m.server.sort_by(f64::total_cmp);
    Ok(m)
}

// ------------------------------------------------------------------ report

fn sh(cmd: &str) -> String {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Other work on the machine skews every figure: the 1/5/15-minute load averages and
/// the busiest processes.
fn load() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let avg: Vec<&str> = avg.split_whitespace().take(3).collect();
    format!(
        "{} (busiest processes: {})",
        avg.join(" "),
        // Not cargo or this bench (their figures are their own build and run).
        sh(
            "ps -eo pcpu=,comm= --sort=-pcpu | grep -Ev ' (cargo|members-.*)$' | head -n4 \
            | awk '{printf \"%s %s%%; \", $2, $1}'"
        )
    )
}

fn table(ms: &[Measured]) -> String {
    let mut t = String::from(
        "| database | surface | case | rows | bytes | server p50 ms | server p95 ms | client p50 ms | client p95 ms |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in ms {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            m.db.name(),
            m.surface.name(),
            m.case,
            m.rows,
            m.bytes,
            pct(&m.server, 0.50),
            pct(&m.server, 0.95),
            pct(&m.client, 0.50),
            pct(&m.client, 0.95),
        );
    }
    t
}

// ------------------------------------------------------------------ main

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let s = Settings::from_env()?;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("monban::http::middleware", tracing::Level::INFO);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(ElapsedLayer.with_filter(filter)),
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(s))
}

async fn run(s: Settings) -> Result<()> {
    let load_before = load();
    // Microseconds, as Monban's clock (and the list's cursor) keep them.
    let now = monban::clock::Clock::now(&monban::clock::SystemClock);
    let plan = plan(s.n, now);
    let cases = cases(&plan);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(UA)
        .build()?;
    let mut all = Vec::new();
    let mut notes = Vec::new();
    for &db in &s.dbs {
        if db == Db::Postgres {
            use sqlx::Connection;
            if let Err(e) = sqlx::PgConnection::connect(&s.pg_url).await {
                let note = format!("PostgreSQL skipped: cannot connect to the server: {e}");
                eprintln!("{note}");
                notes.push(note);
                continue;
            }
        }
        eprintln!("{}: starting Monban, seeding {} members", db.name(), s.n);
        let inst = start(db, &s, &plan).await?;
        let creds = admin(&inst).await?;
        let (u, t, se, l) = inst.counts;
        let note = format!(
            "{}: seeded {u} users ({t} with TOTP, {l} locked, {se} sessions) in {:.1} s{}",
            db.name(),
            inst.seed_secs,
            if db == Db::Postgres {
                ", then ANALYZE"
            } else {
                ""
            }
        );
        eprintln!("{note}");
        notes.push(note);
        if s.keep {
            let where_ = match &inst.pg_schema {
                Some(schema) => format!("schema {schema} at {}", s.pg_url),
                None => format!("{}/monban.db", inst.dir_path.display()),
            };
            eprintln!("{}: kept: {where_}", db.name());
        }
        for case in &cases {
            for surface in [Surface::Console, Surface::Api] {
                let m = measure(&inst, &s, &client, &creds, surface, case).await?;
                println!(
                    "members {} {} {:<60} server p50 {:>8.2} ms p95 {:>8.2} ms | client p50 {:>8.2} ms p95 {:>8.2} ms",
                    db.name(),
                    match surface {
                        Surface::Console => "console",
                        Surface::Api => "api",
                    },
                    m.case,
                    pct(&m.server, 0.5),
                    pct(&m.server, 0.95),
                    pct(&m.client, 0.5),
                    pct(&m.client, 0.95),
                );
                all.push(m);
            }
        }
        stop(inst).await?;
    }
    let load_after = load();
    let t = table(&all);
    println!("\n{t}");

    if let Some(path) = &s.results {
        let mut md = format!(
            "# Member list at {} members — {}\n\n",
            s.n,
            now.format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(
            md,
            "Produced by `cargo bench --bench members` (benches/members.rs; README, “Benchmarks”): \
             Monban in the bench's process on 127.0.0.1, one keep-alive client sending sequential \
             requests, {} untimed then {} timed per row. *Server* is the access log's `elapsed_ms` \
             (request in → response built); *client* is send → last body byte on loopback. \
             Nearest-rank percentiles.\n",
            s.warmup, s.requests
        );
        let _ = writeln!(
            md,
            "- Build: `cargo bench` profile (release: opt-level 3, no debug info), {}\n\
             - Monban: {}{}\n\
             - Load averages before: {}; after: {}\n\
             - PostgreSQL: {}\n",
            sh("rustc -V"),
            sh("git rev-parse --short HEAD"),
            if sh("git status --porcelain --untracked-files=no").is_empty() {
                ""
            } else {
                " (with uncommitted changes)"
            },
            load_before,
            load_after,
            if s.dbs.contains(&Db::Postgres) {
                sh("psql -XAtc 'SHOW server_version' postgres://postgres@127.0.0.1:5432/test 2>/dev/null")
            } else {
                "not measured".into()
            }
        );
        let _ = writeln!(md, "Machine (`lscpu | head`, memory):\n\n```");
        let _ = writeln!(md, "{}", sh("lscpu | head"));
        let _ = writeln!(md, "{}", sh("grep MemTotal /proc/meminfo"));
        let _ = writeln!(md, "```\n");
        let _ = writeln!(md, "Data:\n");
        for n in &notes {
            let _ = writeln!(md, "- {n}");
        }
        let _ = writeln!(
            md,
            "- Members: one a minute; 1% locked (until tomorrow), 0.5% each suspended, pending, \
             deleted and app-blocked; 30% with a login id; 25% with a TOTP credential; a third with \
             a session (a ninth with two more, ended). {RARE_COUNT} have the family name “{RARE}”.\n\
             - Statistics: PostgreSQL's ANALYZE after the load (what autovacuum does soon after); \
             SQLite has none (Monban does not run ANALYZE), as on a live instance.\n"
        );
        let _ = writeln!(md, "## Figures\n\n{t}");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, md)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
