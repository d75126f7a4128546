//! Test harness: the real application on 127.0.0.1:0 with its own temporary SQLite
//! database, or its own PostgreSQL schema when `MONBAN_TEST_POSTGRES` holds a URL, and
//! a fake clock. Each test spawns its own instance, so tests run in parallel.
#![allow(dead_code)]

pub mod proxy;
pub mod saml;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::web;
use base64::Engine;
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
        // Many tests at once on two cores: a connection may take a while to come free.
        cfg.database.acquire_timeout_ms = 10_000;
        cfg.data.dir = self.dir.path().join("data");
        cfg.keys.dir = self.dir.path().join("keys");
        cfg.password.argon2_memory_kib = 1024;
        cfg.password.argon2_iterations = 1;
        // The suites sign in, fail passwords and call /token many times a second from
        // 127.0.0.1, far beyond the production limits: keep limits on (the code path
        // runs) but out of reach. ratelimit.rs sets its own.
        let huge = monban::config::Limit::new(1_000_000, 1, 1_000_000);
        let r = &mut cfg.ratelimit;
        for l in [
            &mut r.login_ip,
            &mut r.login_ip_failures,
            &mut r.login_account,
            &mut r.mfa_ip,
            &mut r.mfa_account,
            &mut r.token_ip,
            &mut r.token_client,
            &mut r.introspect_client,
            &mut r.admin_credential,
            &mut r.support_grant_user,
        ] {
            *l = huge;
        }
        cfg
    }
}

impl TestDb {
    /// Runs `sql` on this database, outside the application (fault injection).
    pub async fn exec(&self, sql: &str) {
        use sqlx::Connection;
        if self.schema.is_empty() {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut c)
                .await
                .unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET search_path TO \"{}\"; {sql}",
                self.schema
            )))
            .execute(&mut c)
            .await
            .unwrap();
        }
    }

    /// From now on every INSERT into `table` fails (a trigger), as a database that
    /// breaks half-way through a request would; [`TestDb::heal`] takes it away.
    pub async fn fail_inserts_into(&self, table: &str) {
        if self.schema.is_empty() {
            self.exec(&format!(
                "CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
            ))
            .await
        } else {
            self.exec(&format!(
                "CREATE FUNCTION fault_{table}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$; \
                 CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION fault_{table}();"
            ))
            .await
        }
    }

    pub async fn heal(&self, table: &str) {
        if self.schema.is_empty() {
            self.exec(&format!("DROP TRIGGER fault_{table};")).await
        } else {
            self.exec(&format!(
                "DROP TRIGGER fault_{table} ON {table}; DROP FUNCTION fault_{table}();"
            ))
            .await
        }
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
    /// `/metrics` on its own listener (`metrics.listen`), if configured.
    pub metrics_port: Option<u16>,
    /// `Application::run_until_stopped`: done when the server, the workers and the
    /// database pool have stopped.
    runner: tokio::task::JoinHandle<std::io::Result<()>>,
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
        Some(Self::spawn_on(db, tweak).await)
    }

    /// Starts an instance on an existing database and keys directory (e.g. the one of
    /// a stopped instance, taken with [`TestApp::stop_and_take_db`]).
    pub async fn spawn_on(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
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
        let metrics_port = app.metrics_port();
        let runner = tokio::spawn(app.run_until_stopped());
        TestApp {
            metrics_port,
            runner,
            base: format!("http://127.0.0.1:{port}"),
            port,
            state,
            clock,
            handle,
            db,
        }
    }

    /// Stops the server (and its background workers) and hands back its database.
    pub async fn stop_and_take_db(self) -> TestDb {
        self.handle.stop(true).await;
        let _ = self.runner.await;
        self.db
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

// ------------------------------------------------------------------ OIDC helpers

pub const REDIRECT: &str = "https://rp.example.com/cb";

/// The claims of a JWT (not verified: the tests that read them verify elsewhere).
pub fn claims_of(jwt: &str) -> serde_json::Value {
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}

/// An authorization request for `client_id` with PKCE (S256), `state` and `nonce`, plus
/// `extra` query text; returns the URL and the code verifier.
pub fn authz(app: &TestApp, client_id: &str, extra: &str) -> (String, String) {
    let verifier = monban::util::random_token(32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
    );
    (
        format!(
            "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256{extra}",
            app.url("/authorize"),
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        ),
        verifier,
    )
}

/// Exchanges the code in `redirect` at `/token` (client_secret_basic); the JSON answer.
pub async fn exchange(
    app: &TestApp,
    id: &str,
    secret: &str,
    redirect: &str,
    verifier: &str,
) -> serde_json::Value {
    let code = query_param(redirect, "code").expect("code");
    reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

impl TestApp {
    /// Registers a client through the same code path as `monban client add`.
    pub async fn register_client(
        &self,
        n: monban::clients::NewClient,
    ) -> monban::clients::Registered {
        monban::clients::register(&self.state, n)
            .await
            .expect("register client")
    }

    /// A confidential web client (client_secret_basic, RS256) redirecting to [`REDIRECT`].
    pub async fn web_client(&self) -> (String, String) {
        let r = self
            .register_client(monban::clients::NewClient {
                name: "Test RP".into(),
                kind: "confidential".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec!["https://rp.example.com/bye".into()],
                first_party: true,
                ..Default::default()
            })
            .await;
        (r.client_id, r.client_secret.unwrap())
    }

    /// Follows a browser through Monban from `url` until it is sent to a URL outside
    /// Monban (returned), signing in with `creds` when asked, approving consent when
    /// asked (if `approve`). Panics if Monban shows a page instead.
    pub async fn browse(
        &self,
        client: &reqwest::Client,
        url: &str,
        creds: Option<(&str, &str)>,
        approve: bool,
    ) -> Result<String, (u16, String)> {
        let mut next = url.to_string();
        let mut logged_in = false;
        for _ in 0..10 {
            let res = client.get(&next).send().await.unwrap();
            let status = res.status().as_u16();
            if let Some(loc) = res.headers().get("location") {
                let loc = loc.to_str().unwrap().to_string();
                let abs = if loc.starts_with('/') {
                    self.url(&loc)
                } else {
                    loc
                };
                if !abs.starts_with(&self.base) {
                    return Ok(abs);
                }
                next = abs;
                continue;
            }
            let html = res.text().await.unwrap();
            if next.starts_with(&self.url("/login")) && status == 200 {
                let Some((u, p)) = creds.filter(|_| !logged_in) else {
                    return Err((status, html));
                };
                logged_in = true;
                let token = extract_csrf(&html).unwrap();
                let return_to = extract_hidden(&html, "return_to");
                let mut form = vec![
                    ("username", u.to_string()),
                    ("password", p.to_string()),
                    ("csrf_token", token),
                ];
                if let Some(r) = return_to {
                    form.push(("return_to", r));
                }
                let r = client
                    .post(self.url("/login"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 303, "login failed");
                next = self.url(r.headers()["location"].to_str().unwrap());
                continue;
            }
            if next.starts_with(&self.url("/consent")) && status == 200 && approve {
                let token = extract_csrf(&html).unwrap();
                let request = extract_hidden(&html, "request").unwrap();
                let r = client
                    .post(self.url("/consent"))
                    .form(&[
                        ("csrf_token", token.as_str()),
                        ("request", request.as_str()),
                        ("decision", "approve"),
                    ])
                    .send()
                    .await
                    .unwrap();
                let loc = r
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_string());
                match loc {
                    Some(l) if !l.starts_with('/') => return Ok(l),
                    Some(l) => next = self.url(&l),
                    None => return Err((r.status().as_u16(), r.text().await.unwrap())),
                }
                continue;
            }
            return Err((status, html));
        }
        panic!("too many redirects from {url}");
    }
}

/// Value of a hidden input (HTML-unescaped).
pub fn extract_hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// ------------------------------------------------------------------ admin helpers

impl TestApp {
    /// An admin API token with these scopes.
    pub async fn admin_token(&self, scopes: &str) -> String {
        monban::admin::auth::create_token(&self.state, "test", scopes, None)
            .await
            .expect("admin token")
            .1
    }

    /// A client for the admin API with a full-scope token.
    pub async fn admin(&self) -> AdminClient {
        AdminClient {
            base: format!("{}/admin/v1", self.base),
            token: self.admin_token("admin:*").await,
            http: reqwest::Client::new(),
        }
    }
}

pub struct AdminClient {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl AdminClient {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}
