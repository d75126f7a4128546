//! Test harness: the real application on 127.0.0.1:0 with its own temporary SQLite
//! database, or its own PostgreSQL schema when `MONBAN_TEST_POSTGRES` holds a URL, and
//! a fake clock. Each test spawns its own instance, so tests run in parallel.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::web;
use monban::clock::FakeClock;
use monban::store::User;
use monban::{AppState, Application, Config};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> Option<String> {
    std::env::var("MONBAN_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh database for one test: a temp SQLite file, or a new Postgres schema
/// (dropped when the guard is dropped).
pub struct TestDb {
    pub url: String,
    pub schema: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => Some(TestDb {
                url: format!("sqlite://{}/monban.db", dir.path().display()),
                schema: String::new(),
                dir,
            }),
            Backend::Postgres => {
                let url = postgres_url()?;
                Some(TestDb {
                    url,
                    schema: format!("t_{}", uuid::Uuid::new_v4().simple()),
                    dir,
                })
            }
        }
    }

    /// A config pointing at this database, with fast argon2 and the temp dir for data and keys.
    pub fn config(&self) -> Config {
        let mut cfg = Config::default();
        cfg.database.url = self.url.clone();
        cfg.database.schema = self.schema.clone();
        cfg.database.max_connections = 4;
        cfg.data.dir = self.dir.path().join("data");
        cfg.keys.dir = self.dir.path().join("keys");
        cfg.password.argon2_memory_kib = 1024;
        cfg.password.argon2_iterations = 1;
        cfg
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.schema.is_empty() {
            return;
        }
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                    )))
                    .execute(&mut c)
                    .await;
                }
            })
        })
        .join();
    }
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub state: web::Data<AppState>,
    pub clock: FakeClock,
    pub handle: actix_web::dev::ServerHandle,
    pub db: TestDb,
}

impl TestApp {
    /// None when the backend is Postgres and `MONBAN_TEST_POSTGRES` is not set.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let Some(db) = TestDb::new(backend) else {
            eprintln!("MONBAN_TEST_POSTGRES not set: skipping the PostgreSQL variant");
            return None;
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut cfg = db.config();
        cfg.server.listen = format!("127.0.0.1:{port}");
        cfg.server.issuer = format!("http://127.0.0.1:{port}");
        cfg.server.workers = 2;
        tweak(&mut cfg);
        let clock = FakeClock::starting_now();
        let app = Application::build_with_listener(cfg, listener, Arc::new(clock.clone()))
            .await
            .expect("application starts");
        let state = app.state();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Some(TestApp {
            base: format!("http://127.0.0.1:{port}"),
            port,
            state,
            clock,
            handle,
            db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: cookie jar, no automatic redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("monban-tests/1.0")
            .build()
            .unwrap()
    }

    pub async fn create_user(&self, email: &str, password: &str) -> User {
        monban::users::create(
            &self.state,
            monban::users::CreateUser {
                email: email.into(),
                password: Some(password.into()),
                ..Default::default()
            },
        )
        .await
        .expect("create user")
    }

    /// GETs a page and returns the CSRF token in its form.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let html = client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        extract_csrf(&html).unwrap_or_else(|| panic!("no csrf_token on {path}: {html}"))
    }

    /// Signs in through the HTML form; returns the POST's response (not followed).
    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let token = self.csrf(client, "/login").await;
        client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The value of cookie `name` in a response's Set-Cookie headers, with its attributes.
pub fn set_cookie<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// Defines each listed `async fn name(backend: Backend)` as two tests, one per
/// dialect: `sqlite::name` and `postgres::name` (the latter passes without running
/// anything when `MONBAN_TEST_POSTGRES` is unset; CI sets it).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::postgres_url().is_none() {
                        eprintln!("MONBAN_TEST_POSTGRES not set: skipped");
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
