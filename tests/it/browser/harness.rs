//! The browser harness: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver + fantoccini). Every page the test looks at is screenshotted into
//! `target/browser-screenshots/<case>-<n>.png` and Chromium's console log is read to
//! assert that the page logged no error and no Content Security Policy violation.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A free TCP port on 127.0.0.1 (bound and released: the caller binds it again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Are Chromium and chromedriver installed? When not: under CI the suite fails
/// (`scripts/install-deps.sh` installs them there), elsewhere it is skipped with a note.
pub fn browser_available(case: &str) -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "browser suite: {} not installed (Debian packages chromium and chromium-driver; \
         scripts/install-deps.sh installs them)",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("{msg}: skipping {case}");
    false
}

/// Is axe-core installed (tests/browser-tools)?
pub fn axe_installed() -> bool {
    axe_source().is_some()
}

/// axe-core's browser build, read once (None, with a note, when not installed
/// outside CI).
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser-tools/node_modules/axe-core/axe.min.js");
        match std::fs::read_to_string(&path) {
            Ok(s) => Some(s),
            Err(e) => {
                let msg = format!(
                    "browser suite: {} not readable ({e}); `npm ci` in tests/browser-tools installs it",
                    path.display()
                );
                if std::env::var_os("CI").is_some() {
                    panic!("{msg}");
                }
                eprintln!("{msg}: accessibility checks skipped");
                None
            }
        }
    })
    .as_deref()
}

/// `target/` of this build (the test binary runs from `target/debug/deps/`), so
/// `CARGO_TARGET_DIR` is honoured.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// A child process stopped with SIGTERM (then reaped) when dropped.
pub struct Proc {
    pub child: Child,
    pub what: &'static str,
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM lets Apache stop its workers and chromedriver its browsers.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM: killing it", self.what);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not start listening on port {port}");
}

/// `POST /session/{id}/se/log` (chromedriver's log endpoint): the browser console
/// entries since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// `POST /session/{id}/webauthn/authenticator` (WebDriver, WebAuthn Level 2 §11.3):
/// adds a virtual authenticator to the browser — here a platform authenticator
/// (internal transport, CTAP2) that stores discoverable credentials, verifies the user
/// and always consents, like a laptop's fingerprint reader.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/authenticator",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(
                json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                })
                .to_string(),
            ),
        )
    }
}

/// Another WebDriver virtual-authenticator command on
/// `session/{id}/webauthn/authenticator/{path}` (credentials of an authenticator).
#[derive(Debug)]
struct VirtualAuthenticatorCmd {
    path: String,
    method: http::Method,
    body: Option<String>,
}

impl WebDriverCompatibleCommand for VirtualAuthenticatorCmd {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/authenticator/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (self.method.clone(), self.body.clone())
    }
}

/// Kills the Chromium processes started with this profile directory (a test that
/// panics never ends its WebDriver session, and chromedriver leaves its browser
/// running when it is stopped).
fn kill_browsers_of(profile: &Path) {
    let marker = format!("--user-data-dir={}", profile.display());
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if cmd.split(|b| *b == 0).any(|arg| arg == marker.as_bytes()) {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_browsers_of(self.profile.path());
    }
}

pub struct Browser {
    pub c: Client,
    case: String,
    shots: PathBuf,
    n: AtomicUsize,
    // Dropped after the client: the WebDriver session ends first.
    _driver: Proc,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh
    /// profile, English as its language. None when the browser is not installed
    /// (outside CI).
    pub async fn start(case: &str) -> Option<Browser> {
        if !browser_available(case) {
            return None;
        }
        let port = free_port();
        let driver = Proc {
            child: Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
            what: "chromedriver",
        };
        wait_for_port(port, "chromedriver").await;
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1024,768".into(),
            "--lang=en-US".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": "en-US,en" },
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with Chromium");
        let shots = target_dir().join("browser-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        // Screenshots of an earlier run of this case would mislead.
        if let Ok(rd) = std::fs::read_dir(&shots) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with(&format!("{case}-")) && name.ends_with(".png") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Some(Browser {
            c,
            case: case.to_string(),
            shots,
            n: AtomicUsize::new(0),
            _driver: driver,
            profile,
        })
    }

    /// Adds a virtual platform authenticator (see [`AddVirtualAuthenticator`]);
    /// returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        match self.c.issue_cmd(AddVirtualAuthenticator).await {
            Ok(Value::String(id)) => id,
            Ok(other) => panic!("unexpected virtual authenticator answer: {other}"),
            Err(e) => panic!("cannot add a virtual authenticator: {e}"),
        }
    }

    /// The credentials the virtual authenticator `id` holds (WebDriver's JSON, with
    /// their private keys).
    pub async fn virtual_credentials(&self, id: &str) -> Vec<Value> {
        let cmd = VirtualAuthenticatorCmd {
            path: format!("{id}/credentials"),
            method: http::Method::GET,
            body: None,
        };
        match self.c.issue_cmd(cmd).await {
            Ok(Value::Array(a)) => a,
            Ok(other) => panic!("unexpected credentials answer: {other}"),
            Err(e) => panic!("cannot read the virtual credentials: {e}"),
        }
    }

    /// Takes every credential out of the virtual authenticator `id` (the device is
    /// "away"); [`Browser::put_back_credentials`] returns them.
    pub async fn take_away_credentials(&self, id: &str) -> Vec<Value> {
        let creds = self.virtual_credentials(id).await;
        let cmd = VirtualAuthenticatorCmd {
            path: format!("{id}/credentials"),
            method: http::Method::DELETE,
            body: None,
        };
        self.c
            .issue_cmd(cmd)
            .await
            .unwrap_or_else(|e| panic!("cannot remove the virtual credentials: {e}"));
        creds
    }

    /// Puts credentials read by [`Browser::take_away_credentials`] back.
    pub async fn put_back_credentials(&self, id: &str, creds: &[Value]) {
        for c in creds {
            let cmd = VirtualAuthenticatorCmd {
                path: format!("{id}/credential"),
                method: http::Method::POST,
                body: Some(c.to_string()),
            };
            self.c
                .issue_cmd(cmd)
                .await
                .unwrap_or_else(|e| panic!("cannot add a virtual credential: {e}"));
        }
    }

    /// The console entries logged since the last call.
    pub async fn log(&self) -> Vec<Value> {
        match self.c.issue_cmd(BrowserLog).await {
            Ok(Value::Array(a)) => a,
            Ok(other) => panic!("unexpected browser log answer: {other}"),
            Err(e) => panic!("cannot read the browser log: {e}"),
        }
    }

    /// Saves a screenshot of the current page as `<case>-<n>.png` and returns its path.
    pub async fn screenshot(&self) -> PathBuf {
        let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        let path = self.shots.join(format!("{}-{n:02}.png", self.case));
        match self.c.screenshot().await {
            Ok(png) => std::fs::write(&path, png).unwrap(),
            Err(e) => eprintln!("no screenshot: {e}"),
        }
        path
    }

    /// Looks at the page the browser shows now: screenshot, and no console error nor CSP
    /// violation since the last look. `allowed_statuses` are HTTP error statuses the
    /// page itself is expected to have (Chromium logs "Failed to load resource: … 401"
    /// for a page answered with 401, e.g. a wrong password).
    pub async fn look(&self, what: &str, allowed_statuses: &[u16]) {
        self.accessible(what).await;
        let shot = self.screenshot().await;
        let url = self.url().await;
        let problems: Vec<String> = self
            .log()
            .await
            .into_iter()
            .filter(|e| {
                let level = e["level"].as_str().unwrap_or("");
                let msg = e["message"].as_str().unwrap_or("");
                let csp = msg.contains("Content Security Policy");
                let expected_status = allowed_statuses.iter().any(|s| {
                    msg.contains("Failed to load resource")
                        && msg.contains(&format!("status of {s} "))
                });
                csp || (level == "SEVERE" && !expected_status)
            })
            .map(|e| e.to_string())
            .collect();
        assert!(
            problems.is_empty(),
            "{what}: the browser logged errors on {url} (screenshot {}):\n{}\npage text:\n{}",
            shot.display(),
            problems.join("\n"),
            self.body_text().await
        );
    }

    /// Runs axe-core (npm, `tests/browser-tools`, installed by `test.sh`) on the page:
    /// no serious or critical WCAG 2.1 A/AA violation. Skipped with a note when axe-core
    /// is not installed, except under `CI`.
    pub async fn accessible(&self, what: &str) {
        let problems = self.accessibility_problems(what).await;
        assert!(
            problems.is_empty(),
            "{what}: accessibility violations on {}:\n{}",
            self.url().await,
            problems.join("\n")
        );
    }

    /// The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page.
    pub async fn accessibility_problems(&self, what: &str) -> Vec<String> {
        let Some(axe) = axe_source() else {
            return Vec::new();
        };
        self.c
            .execute(axe, vec![])
            .await
            .unwrap_or_else(|e| panic!("{what}: axe-core did not load: {e}"));
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', ')}`)))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: axe-core did not run: {e}"));
        match found {
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().unwrap_or("?").to_string())
                .collect(),
            other => vec![format!("unexpected axe answer {other}")],
        }
    }

    pub async fn goto(&self, url: &str) {
        self.c
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub async fn body_text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        el.text().await.unwrap()
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no `{css}` on {} ({e}); page text:\n{}",
                self.url().await,
                self.body_text().await
            ),
        }
    }

    pub async fn has(&self, css: &str) -> bool {
        self.c.find(Locator::Css(css)).await.is_ok()
    }

    /// Types into a field (cleared first), as a person would.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Waits (up to 15 s) until `el` is no longer in the page (the browser navigated).
    pub async fn wait_gone(&self, what: &str, el: &fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while el.is_displayed().await.is_ok() {
            if Instant::now() > deadline {
                panic!("{what}: the page did not change ({})", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s) until the browser's URL satisfies `ok`; panics with the URL,
    /// the page and the console log otherwise.
    pub async fn wait_url(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if ok(&url) && self.ready().await {
                return url;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot().await;
                let log: Vec<String> = self.log().await.iter().map(|e| e.to_string()).collect();
                panic!(
                    "{what}: the browser stayed on {url} (screenshot {});\nbrowser log:\n{}\npage text:\n{}",
                    shot.display(),
                    log.join("\n"),
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the URL's path is `path` (on any host).
    pub async fn wait_path(&self, what: &str, path: &str) -> String {
        let p = path.to_string();
        self.wait_url(what, move |u| {
            url::Url::parse(u).is_ok_and(|u| u.path() == p)
        })
        .await
    }

    async fn ready(&self) -> bool {
        matches!(
            self.c.execute("return document.readyState", vec![]).await,
            Ok(Value::String(s)) if s == "complete"
        )
    }

    /// The `lang` attribute of the page's `<html>`.
    pub async fn lang(&self) -> String {
        self.find("html")
            .await
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn close(self) {
        let _ = self.c.clone().close().await;
    }
}

/// Is this Apache module installed (with `apache2` itself)? Same rule as
/// [`browser_available`]: fail under CI, skip with a note elsewhere.
pub fn module_available(module: &str, package: &str) -> bool {
    let path = Path::new(super::apache::MODULES).join(module);
    if path.exists() && Path::new("/usr/sbin/apache2").exists() {
        return true;
    }
    let msg = format!(
        "browser suite: {} not installed (Debian packages apache2 and {package}; \
         scripts/install-deps.sh installs them)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("{msg}: skipping");
    false
}
