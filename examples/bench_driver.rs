//! Load driver for the parts of `bench/run.sh` that wrk cannot script: browser sign-ins
//! (cookies, CSRF tokens, redirects, TOTP) and the set-up steps that need a signed-in
//! browser. Talks HTTP only (keep-alive connections, cookies kept by hand per virtual
//! browser), so it measures Monban as a browser and an app would see it.
//!
//! ```text
//! bench_driver enrol-mfa   USERS_IN USERS_OUT     sign in each "email password" line, enrol TOTP
//! bench_driver refresh-pool N OUT                 N authorization-code grants → refresh tokens
//! bench_driver signin pwd|totp USERS              sign-in load (BENCH_CONNS, BENCH_SECS)
//! bench_driver touch-sessions TOKENS              GET /logout with each session cookie
//! ```
//! Environment: BENCH_BASE (http://127.0.0.1:PORT), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET,
//! BENCH_REDIRECT_URI, BENCH_USER / BENCH_PASSWORD (refresh-pool), BENCH_CONNS (64),
//! BENCH_SECS (15). `signin` prints one JSON line in the format of `bench/wrk/report.lua`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};

struct Env {
    base: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
}

fn env(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn http_client(conns: usize) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(conns)
        .user_agent("monban-bench/1.0")
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// One virtual browser: its cookies, kept by hand so that many browsers share one
/// keep-alive connection pool.
#[derive(Default)]
struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, res: &Response) {
        for v in res.headers().get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
    }

    async fn get(&mut self, c: &Client, url: &str) -> Result<Response> {
        let res = c.get(url).header(COOKIE, self.header()).send().await?;
        self.take(&res);
        Ok(res)
    }

    async fn post(&mut self, c: &Client, url: &str, form: &[(&str, &str)]) -> Result<Response> {
        let res = c
            .post(url)
            .header(COOKIE, self.header())
            .form(form)
            .send()
            .await?;
        self.take(&res);
        Ok(res)
    }
}

fn hidden(html: &str, name: &str) -> Option<String> {
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

fn location(res: &Response) -> Result<String> {
    res.headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{} without Location", res.status()))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// RFC 4648 base32 (as shown at enrolment), padding and case ignored.
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in s.chars().filter(|c| *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The code of TOTP step `step` for a base32 secret.
fn totp_code(secret_b32: &str, step: u64) -> Result<String> {
    let bytes = base32_decode(secret_b32).ok_or_else(|| anyhow!("TOTP secret is not base32"))?;
    monban::authn::mfa::totp::code_at_step(&bytes, step as i64).ok_or_else(|| anyhow!("TOTP code"))
}

/// A user of the sign-in load; `last_step` is the last TOTP step Monban accepted.
struct User {
    email: String,
    password: String,
    totp: Option<(String, u64)>,
}

impl Env {
    fn load() -> Result<Env> {
        Ok(Env {
            base: env("BENCH_BASE")?,
            client_id: env("BENCH_CLIENT_ID")?,
            client_secret: env("BENCH_CLIENT_SECRET")?,
            redirect_uri: env("BENCH_REDIRECT_URI")?,
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    fn authorize_url(&self, scope: &str, challenge: &str, state: &str) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        format!("{}/authorize?{q}", self.base)
    }

    /// Password step (and TOTP step when `code` is given); the browser ends signed in.
    /// Returns where Monban sends the browser next.
    async fn sign_in(
        &self,
        c: &Client,
        b: &mut Browser,
        login_url: &str,
        email: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<String> {
        let res = b.get(c, &self.url(login_url)).await?;
        if res.status() != StatusCode::OK {
            bail!("GET /login: {}", res.status());
        }
        let html = res.text().await?;
        let csrf = hidden(&html, "csrf_token").ok_or_else(|| anyhow!("no csrf_token"))?;
        let mut form = vec![
            ("username", email.to_string()),
            ("password", password.to_string()),
            ("csrf_token", csrf),
        ];
        if let Some(r) = hidden(&html, "return_to") {
            form.push(("return_to", r));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = b.post(c, &self.url("/login"), &form).await?;
        if res.status() != StatusCode::SEE_OTHER {
            bail!("POST /login: {}", res.status());
        }
        let next = location(&res)?;
        let Some(code) = code else { return Ok(next) };
        if !next.starts_with("/login/mfa") {
            bail!("expected the second step, got {next}");
        }
        let res = b.get(c, &self.url(&next)).await?;
        if res.status() != StatusCode::OK {
            bail!("GET {next}: {}", res.status());
        }
        let html = res.text().await?;
        let csrf = hidden(&html, "csrf_token").ok_or_else(|| anyhow!("no csrf_token (mfa)"))?;
        let mut form = vec![("code", code.to_string()), ("csrf_token", csrf)];
        if let Some(r) = hidden(&html, "return_to") {
            form.push(("return_to", r));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = b.post(c, &self.url("/login/mfa"), &form).await?;
        if res.status() != StatusCode::SEE_OTHER {
            bail!("POST /login/mfa: {}", res.status());
        }
        location(&res)
    }

    /// Follows local redirects from `url` until the browser leaves for the client's
    /// redirect URI; returns the code there.
    async fn follow_to_code(&self, c: &Client, b: &mut Browser, url: &str) -> Result<String> {
        let mut next = url.to_string();
        for _ in 0..6 {
            let res = b.get(c, &self.url(&next)).await?;
            if !res.status().is_redirection() {
                bail!("GET {next}: {} instead of a redirect", res.status());
            }
            next = location(&res)?;
            if next.starts_with(&self.redirect_uri) {
                let u = url::Url::parse(&next)?;
                return u
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.to_string())
                    .ok_or_else(|| anyhow!("no code in {next}"));
            }
        }
        bail!("too many redirects")
    }

    async fn exchange(&self, c: &Client, code: &str, verifier: &str) -> Result<serde_json::Value> {
        let res = c
            .post(self.url("/token"))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await?;
        if res.status() != StatusCode::OK {
            bail!("POST /token: {} {}", res.status(), res.text().await?);
        }
        Ok(res.json().await?)
    }

    /// A whole sign-in: /authorize → /login (→ /login/mfa) → /authorize → code → /token.
    async fn full_sign_in(
        &self,
        c: &Client,
        email: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<()> {
        let mut b = Browser::default();
        let (verifier, challenge) = pkce();
        let start = self.authorize_url("openid", &challenge, "bench");
        let res = b.get(c, &start).await?;
        let login = location(&res)?;
        if !login.starts_with("/login") {
            bail!("/authorize sent the browser to {login}, not to /login");
        }
        let next = self
            .sign_in(c, &mut b, &login, email, password, code)
            .await?;
        let code = self.follow_to_code(c, &mut b, &next).await?;
        self.exchange(c, &code, &verifier).await?;
        Ok(())
    }
}

fn pkce() -> (String, String) {
    let verifier = monban::util::random_token(32);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, B64.encode(digest.as_ref()))
}

fn read_users(path: &str) -> Result<Vec<User>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            User {
                email: f[0].to_string(),
                password: f[1].to_string(),
                totp: f.get(2).map(|s| {
                    let last = f.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
                    (s.to_string(), last)
                }),
            }
        })
        .collect())
}

async fn enrol_mfa(input: &str, output: &str) -> Result<()> {
    let e = Arc::new(Env::load()?);
    let users = read_users(input)?;
    let conns = env_num("BENCH_CONNS", 8) as usize;
    let c = http_client(conns);
    let sem = Arc::new(tokio::sync::Semaphore::new(conns));
    let mut tasks = Vec::new();
    for u in users {
        let (e, c, sem) = (e.clone(), c.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let mut b = Browser::default();
            e.sign_in(&c, &mut b, "/login", &u.email, &u.password, None)
                .await?;
            let res = b.get(&c, &e.url("/account/mfa/enroll")).await?;
            let html = res.text().await?;
            let csrf = hidden(&html, "csrf_token").ok_or_else(|| anyhow!("no csrf (enrol)"))?;
            let pending = hidden(&html, "pending_id").ok_or_else(|| anyhow!("no pending_id"))?;
            let start = html
                .find("secret=")
                .ok_or_else(|| anyhow!("no otpauth secret"))?
                + 7;
            let end = html[start..]
                .find(['&', '"'])
                .ok_or_else(|| anyhow!("bad otpauth"))?
                + start;
            let secret = html[start..end].to_string();
            let step = now_secs() / 30;
            let code = totp_code(&secret, step)?;
            let res = b
                .post(
                    &c,
                    &e.url("/account/mfa/enroll"),
                    &[
                        ("csrf_token", &csrf),
                        ("pending_id", &pending),
                        ("code", &code),
                    ],
                )
                .await?;
            if !res.status().is_success() {
                bail!("enrolment of {}: {}", u.email, res.status());
            }
            Ok::<_, anyhow::Error>(format!("{} {} {} {}", u.email, u.password, secret, step))
        }));
    }
    let mut out = String::new();
    for t in tasks {
        out.push_str(&t.await??);
        out.push('\n');
    }
    std::fs::write(output, out)?;
    Ok(())
}

async fn refresh_pool(n: usize, output: &str) -> Result<()> {
    let e = Arc::new(Env::load()?);
    let (email, password) = (env("BENCH_USER")?, env("BENCH_PASSWORD")?);
    let conns = env_num("BENCH_CONNS", 8) as usize;
    let c = http_client(conns);
    let mut b = Browser::default();
    e.sign_in(&c, &mut b, "/login", &email, &password, None)
        .await?;
    let cookies = Arc::new(b.cookies);
    let sem = Arc::new(tokio::sync::Semaphore::new(conns));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (e, c, sem, cookies) = (e.clone(), c.clone(), sem.clone(), cookies.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let mut b = Browser {
                cookies: (*cookies).clone(),
            };
            let (verifier, challenge) = pkce();
            let url = e.authorize_url("openid offline_access", &challenge, &format!("s{i}"));
            let code = e.follow_to_code(&c, &mut b, &url).await?;
            let tok = e.exchange(&c, &code, &verifier).await?;
            tok["refresh_token"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("no refresh_token in {tok}"))
        }));
    }
    let mut out = String::new();
    for t in tasks {
        out.push_str(&t.await??);
        out.push('\n');
    }
    std::fs::write(output, out)?;
    Ok(())
}

/// Sign-in load: BENCH_CONNS browsers in parallel for BENCH_SECS, each taking the next
/// user from a queue. With TOTP, Monban accepts each 30-second step once per user, so a
/// user is taken only when a step later than its last one is still valid (current
/// step or the next), else it waits in the queue.
async fn signin(mode: &str, users: &str) -> Result<()> {
    let e = Arc::new(Env::load()?);
    let with_totp = match mode {
        "pwd" => false,
        "totp" => true,
        _ => bail!("mode is pwd or totp"),
    };
    let conns = env_num("BENCH_CONNS", 64) as usize;
    let secs = env_num("BENCH_SECS", 15);
    let c = http_client(conns);
    let queue: Arc<Mutex<std::collections::VecDeque<User>>> =
        Arc::new(Mutex::new(read_users(users)?.into()));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let starved = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (e, c, queue, ok, errors, starved, latencies, first_error) = (
            e.clone(),
            c.clone(),
            queue.clone(),
            ok.clone(),
            errors.clone(),
            starved.clone(),
            latencies.clone(),
            first_error.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                // Take a user that can sign in now.
                let picked = {
                    let mut q = queue.lock().expect("queue");
                    let now_step = now_secs() / 30;
                    let idx = q.iter().position(|u| match &u.totp {
                        None => true,
                        Some((_, last)) => *last < now_step + 1,
                    });
                    idx.and_then(|i| q.remove(i)).map(|mut u| {
                        let code = u.totp.as_mut().map(|(secret, last)| {
                            let step = (*last + 1).max(now_step);
                            *last = step;
                            totp_code(secret, step).unwrap_or_default()
                        });
                        (u, code)
                    })
                };
                let Some((user, code)) = picked else {
                    starved.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let t0 = Instant::now();
                let r = e
                    .full_sign_in(
                        &c,
                        &user.email,
                        &user.password,
                        if with_totp { code.as_deref() } else { None },
                    )
                    .await;
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                queue.lock().expect("queue").push_back(user);
                if Instant::now() > deadline {
                    break;
                }
                match r {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        latencies.lock().expect("latencies").push(ms);
                    }
                    Err(err) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .expect("first error")
                            .get_or_insert_with(|| format!("{err:#}"));
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64().min(secs as f64).max(0.001);
    let mut l = latencies.lock().expect("latencies").clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| -> f64 {
        if l.is_empty() {
            0.0
        } else {
            l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1]
        }
    };
    let n = ok.load(Ordering::Relaxed);
    if let Some(err) = first_error.lock().expect("first error").as_ref() {
        eprintln!("first error: {err}");
    }
    println!(
        "{}",
        serde_json::json!({
            "requests": n + errors.load(Ordering::Relaxed),
            "rps": n as f64 / elapsed,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "errors": errors.load(Ordering::Relaxed),
            "starved_waits": starved.load(Ordering::Relaxed),
            "duration_s": elapsed,
        })
    );
    Ok(())
}

/// GETs /logout (the sign-out confirmation: one session lookup, no listing) once with
/// each session cookie (TOKENS: one cookie value a line), so that every seeded session
/// is looked up (and touched) through the server. A live session gets the confirmation
/// form (with a CSRF token); an unknown cookie the signed-out page.
async fn touch_sessions(tokens: &str) -> Result<()> {
    let base = env("BENCH_BASE")?;
    let cookie = std::env::var("BENCH_COOKIE_NAME").unwrap_or_else(|_| "monban_session".into());
    let conns = env_num("BENCH_CONNS", 32) as usize;
    let c = http_client(conns);
    let text = std::fs::read_to_string(tokens)?;
    let tokens: Vec<String> = text.lines().map(str::to_string).collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(conns));
    let signed_in = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in tokens {
        let (c, sem, base, cookie) = (c.clone(), sem.clone(), base.clone(), cookie.clone());
        let (signed_in, other) = (signed_in.clone(), other.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let res = c
                .get(format!("{base}/logout"))
                .header(COOKIE, format!("{cookie}={t}"))
                .send()
                .await;
            let live = match res {
                Ok(r) if r.status() == StatusCode::OK => r
                    .text()
                    .await
                    .is_ok_and(|body| body.contains("name=\"csrf_token\"")),
                _ => false,
            };
            if live {
                signed_in.fetch_add(1, Ordering::Relaxed);
            } else {
                other.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    println!(
        "{}",
        serde_json::json!({
            "signed_in": signed_in.load(Ordering::Relaxed),
            "other": other.load(Ordering::Relaxed),
        })
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["enrol-mfa", input, output] => enrol_mfa(input, output).await,
        ["refresh-pool", n, output] => refresh_pool(n.parse()?, output).await,
        ["signin", mode, users] => signin(mode, users).await,
        ["touch-sessions", tokens] => touch_sessions(tokens).await,
        _ => bail!("usage: see the top of examples/bench_driver.rs"),
    }
}
