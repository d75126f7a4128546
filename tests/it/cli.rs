//! The `monban` binary: scriptable user creation, key rotation, clear start-up errors,
//! and a server that starts, says where it listens and stops gracefully.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::common;
use common::{Backend, TestDb};

fn monban(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_monban"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MONBAN_DATABASE__URL", &db.url)
        .env("MONBAN_DATA__DIR", db.dir.path().join("data"))
        .env("MONBAN_KEYS__DIR", db.dir.path().join("keys"))
        .env("MONBAN_PASSWORD__ARGON2_MEMORY_KIB", "1024")
        .env("MONBAN_PASSWORD__ARGON2_ITERATIONS", "1");
    if !db.schema.is_empty() {
        c.env("MONBAN_DATABASE__SCHEMA", &db.schema);
    }
    c
}

fn run(mut cmd: Command, stdin: &str) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if common::postgres_url().is_some() {
        v.push(Backend::Postgres);
    }
    v
}

#[test]
fn user_add_prints_json_and_refuses_duplicates_and_weak_passwords() {
    for b in backends() {
        let db = TestDb::new(b).unwrap();
        let mut c = monban(&db);
        c.args([
            "user",
            "add",
            "--email",
            "Mio@Example.com",
            "--login-id",
            "mio",
            "--password-stdin",
            "--json",
        ]);
        let (code, out, err) = run(c, "blue-Kettle-42-orbit\n");
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["email"], "mio@example.com");
        assert_eq!(v["login_id"], "mio");
        assert_eq!(v["status"], "active");
        assert!(uuid::Uuid::parse_str(v["id"].as_str().unwrap()).is_ok());
        assert!(v.get("password_hash").is_none(), "never printed");

        let mut c = monban(&db);
        c.args(["user", "add", "--email", "mio@example.com"]);
        let (code, _, err) = run(c, "");
        assert_eq!(code, 1);
        assert!(err.contains("email is already in use"), "{err}");

        let mut c = monban(&db);
        c.args([
            "user",
            "add",
            "--email",
            "weak@example.com",
            "--password-stdin",
        ]);
        let (code, _, err) = run(c, "password1\n");
        assert_eq!(code, 1);
        assert!(err.contains("password"), "{err}");

        // Without a password: pending, in plain text.
        let mut c = monban(&db);
        c.args(["user", "add", "--email", "later@example.com"]);
        let (code, out, _) = run(c, "");
        assert_eq!(code, 0);
        assert!(
            out.contains("later@example.com") && out.contains("status=pending"),
            "{out}"
        );
    }
}

#[test]
fn keys_rotate_prints_the_new_keys() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut c = monban(&db);
    c.args(["keys", "list", "--json"]);
    let (code, out, err) = run(c, "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&out)
            .unwrap()
            .len(),
        4
    );
    let mut c = monban(&db);
    c.args(["keys", "rotate", "--json"]);
    let (code, out, err) = run(c, "");
    assert_eq!(code, 0, "{err}");
    let added: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let algs: Vec<&str> = added.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES256", "EdDSA", "SAML"]);
}

#[test]
fn config_errors_name_the_key_and_exit_non_zero() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let file = db.dir.path().join("bad.toml");
    std::fs::write(&file, "[session]\nidle_timeout_secs = \"never\"\n").unwrap();
    let mut c = monban(&db);
    c.arg("--config").arg(&file).arg("migrate");
    let (code, _, err) = run(c, "");
    assert_eq!(code, 2);
    assert!(err.contains("session.idle_timeout_secs"), "{err}");

    let mut c = monban(&db);
    c.env("MONBAN_SERVER__LISTN", "x").arg("migrate");
    let (code, _, err) = run(c, "");
    assert_eq!(code, 2);
    assert!(err.contains("server.listn"), "{err}");
}

#[test]
fn unreachable_database_is_a_clear_start_up_error() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut c = monban(&db);
    c.env(
        "MONBAN_DATABASE__URL",
        "postgres://postgres@127.0.0.1:1/nothing",
    )
    .env("MONBAN_DATABASE__CONNECT_TIMEOUT_SECS", "2")
    // Any free port: the default (8080) may be taken on the machine running the tests.
    .env("MONBAN_SERVER__LISTEN", "127.0.0.1:0")
    .arg("serve");
    let (code, out, err) = run(c, "");
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach PostgreSQL"), "{err}");
    assert!(!out.contains("listening"));
    // Nothing was created for a server that never started.
    assert!(!db.dir.path().join("keys").exists());
}

#[test]
fn serve_says_where_it_listens_and_stops_gracefully() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut c = monban(&db);
    c.env_remove("MONBAN_DATABASE__URL")
        .env("MONBAN_SERVER__LISTEN", "127.0.0.1:0")
        .env("MONBAN_LOG__LEVEL", "warn")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Start-up log lines (e.g. why passkeys are off) may come first.
    let first = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("Monban listening on "))
        .expect("the listening line");
    assert!(
        first.starts_with("Monban listening on http://127.0.0.1:"),
        "{first}"
    );
    let url = first.split_whitespace().nth(3).unwrap().to_string();
    let rest: Vec<String> = lines.by_ref().take(4).map(|l| l.unwrap()).collect();
    assert!(
        rest.iter().any(|l| l.contains("user add")),
        "tells how to create the first user: {rest:?}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("{url}/readyz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    assert!(
        db.dir.path().join("data/monban.db").exists(),
        "embedded SQLite under data.dir"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

#[test]
fn saml_sp_add_reads_metadata_and_list_shows_it() {
    for b in backends() {
        let db = TestDb::new(b).unwrap();
        let sp = common::saml::TestSp::new("cli");
        let file = db.dir.path().join("sp.xml");
        std::fs::write(&file, sp.metadata(true, "HTTP-Redirect")).unwrap();
        let mut c = monban(&db);
        c.args(["saml-sp", "add", "--metadata"]).arg(&file).args([
            "--name-id-format",
            "transient",
            "--json",
        ]);
        let (code, out, err) = run(c, "");
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["entity_id"], sp.entity_id.as_str());
        assert_eq!(v["name_id_format"], "transient");
        assert_eq!(v["authn_requests_signed"], true);
        assert_eq!(v["signing_certs"], 1);
        assert_eq!(v["acs"].as_array().unwrap().len(), 2);
        assert_eq!(v["idp_initiated"], false, "off by default");
        // The same entity again: refused.
        let mut c = monban(&db);
        c.args(["saml-sp", "add", "--metadata"]).arg(&file);
        let (code, _, err) = run(c, "");
        assert_eq!(code, 1);
        assert!(err.contains("already registered"), "{err}");
        // Metadata with a DTD: refused.
        let evil = db.dir.path().join("evil.xml");
        std::fs::write(
            &evil,
            format!(
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
                sp.metadata(false, "HTTP-POST")
            ),
        )
        .unwrap();
        let mut c = monban(&db);
        c.args(["saml-sp", "add", "--metadata"]).arg(&evil);
        let (code, _, err) = run(c, "");
        assert_eq!(code, 1);
        assert!(err.contains("DTD"), "{err}");
        // Without --name-id-format: the format the metadata declares (issue 12:
        // mod_auth_mellon declares and asks for transient).
        let mellon = common::saml::TestSp::new("mellon");
        let file = db.dir.path().join("mellon.xml");
        std::fs::write(
            &file,
            mellon
                .metadata(false, "HTTP-Redirect")
                .replace("nameid-format:persistent", "nameid-format:transient"),
        )
        .unwrap();
        let mut c = monban(&db);
        c.args(["saml-sp", "add", "--json", "--metadata"])
            .arg(&file);
        let (code, out, err) = run(c, "");
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name_id_format"], "transient");
        let mut c = monban(&db);
        c.args(["saml-sp", "list", "--json"]);
        let (code, out, _) = run(c, "");
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
    }
}

/// `log.format = "json"`: one JSON object per line, a request's line naming its
/// `request_id`, the OAuth client and the signed-in user; a refused request's line
/// saying why (here the CSRF check, which the browser would only show as a page).
/// Secrets (the client secret, the password, the session cookie) appear nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_request_client_user_and_why_4xx() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut c = monban(&db);
    c.args([
        "user",
        "add",
        "--email",
        "log@example.com",
        "--password-stdin",
    ]);
    assert_eq!(run(c, "blue-Kettle-42-orbit\n").0, 0);
    let mut c = monban(&db);
    c.args([
        "client", "add", "--name", "svc", "--kind", "service", "--json",
    ]);
    let (code, out, err) = run(c, "");
    assert_eq!(code, 0, "{err}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_string(),
        client["client_secret"].as_str().unwrap().to_string(),
    );

    let mut c = monban(&db);
    c.env("MONBAN_SERVER__LISTEN", "127.0.0.1:0")
        .env("MONBAN_SERVER__ISSUER", "http://127.0.0.1:9")
        .env("MONBAN_LOG__FORMAT", "json")
        .env("MONBAN_LOG__LEVEL", "info")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for l in stdout.lines().map_while(Result::ok) {
                if l.starts_with("Monban listening on ") {
                    let _ = tx.send(l.clone());
                }
                lines.lock().unwrap().push(l);
            }
        });
    }
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("listening line");
    let base = first
        .strip_prefix("Monban listening on ")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A sign-in form posted without its CSRF token.
    let r = http
        .post(format!("{base}/login"))
        .header("x-request-id", "csrf-probe-1")
        .form(&[
            ("username", "log@example.com"),
            ("password", "blue-Kettle-42-orbit"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A real sign-in, then a signed-in page.
    let html = http
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::extract_csrf(&html).unwrap();
    let r = http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "log@example.com"),
            ("password", "blue-Kettle-42-orbit"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = http
        .get(format!("{base}/account"))
        .header("x-request-id", "account-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "account-1");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.lock().unwrap().clone();
    let json: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!json.is_empty(), "{lines:?}");
    let span = |v: &serde_json::Value, k: &str| v["span"][k].as_str().map(String::from);
    let token_line = json
        .iter()
        .find(|v| {
            v["fields"]["message"] == "request" && span(v, "path").as_deref() == Some("/token")
        })
        .unwrap_or_else(|| panic!("no /token line: {lines:?}"));
    assert_eq!(span(token_line, "client_id").as_deref(), Some(id.as_str()));
    assert!(span(token_line, "request_id").is_some());
    let refused = json
        .iter()
        .find(|v| {
            v["fields"]["message"] == "request refused"
                && span(v, "request_id").as_deref() == Some("csrf-probe-1")
        })
        .unwrap_or_else(|| panic!("no refusal line: {lines:?}"));
    assert!(
        refused["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("csrf"),
        "{refused}"
    );
    let account = json
        .iter()
        .find(|v| {
            v["fields"]["message"] == "request"
                && span(v, "request_id").as_deref() == Some("account-1")
        })
        .unwrap_or_else(|| panic!("no /account line: {lines:?}"));
    assert!(uuid::Uuid::parse_str(&span(account, "user_id").unwrap()).is_ok());
    let all = lines.join("\n");
    for secret in [secret.as_str(), "blue-Kettle-42-orbit", "monban_session="] {
        assert!(!all.contains(secret), "{secret} logged");
    }
}
