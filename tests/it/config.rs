//! Configuration: the documented file states the defaults; errors name the key.

use std::io::Write;

use monban::Config;

fn load_toml(text: &str, env: &[(&str, &str)]) -> Result<Config, monban::config::ConfigError> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    Config::load_from(
        Some(f.path()),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn documented_file_equals_the_built_in_defaults() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/monban.toml");
    let from_file = Config::load_from(Some(&path), Vec::new()).unwrap();
    let a = serde_json::to_value(&from_file).unwrap();
    let b = serde_json::to_value(Config::default()).unwrap();
    assert_eq!(
        a, b,
        "config/monban.toml must list every key with its default"
    );
    // And it mentions every key (not just agrees by omission).
    let text = std::fs::read_to_string(&path).unwrap();
    let table: toml::Table = text.parse().unwrap();
    for (section, keys) in b.as_object().unwrap() {
        for key in keys.as_object().unwrap().keys() {
            assert!(
                table[section].get(key).is_some(),
                "{section}.{key} is not documented"
            );
        }
    }
}

#[test]
fn env_overrides_file_overrides_defaults() {
    let cfg = load_toml(
        "[server]\nlisten = \"127.0.0.1:9000\"\n[session]\nidle_timeout_secs = 100\n",
        &[
            ("MONBAN_SERVER__LISTEN", "127.0.0.1:9100"),
            (
                "MONBAN_DATABASE__URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            ("MONBAN_LOCKOUT__PERMANENT", "true"),
            ("MONBAN_KEYS__DIR", "/tmp/monban-keys"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.server.listen, "127.0.0.1:9100");
    assert_eq!(cfg.session.idle_timeout_secs, 100);
    assert!(cfg.is_postgres());
    assert!(cfg.lockout.permanent);
    assert_eq!(cfg.keys.dir, std::path::PathBuf::from("/tmp/monban-keys"));
    assert_eq!(cfg.password.min_length, 10, "untouched default");
}

#[test]
fn unknown_keys_are_named() {
    let e = load_toml("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", &[]).unwrap_err();
    assert!(e.to_string().contains("server.lisen"), "{e}");
    let e = load_toml("[nosuchsection]\na = 1\n", &[]).unwrap_err();
    assert!(e.to_string().contains("nosuchsection"), "{e}");
    let e = load_toml("", &[("MONBAN_SERVER__NOPE", "1")]).unwrap_err();
    assert!(e.to_string().contains("server.nope"), "{e}");
}

#[test]
fn bad_values_are_named() {
    for (text, env, key) in [
        (
            "[session]\nidle_timeout_secs = \"soon\"\n",
            vec![],
            "session.idle_timeout_secs",
        ),
        (
            "",
            vec![("MONBAN_SERVER__LISTEN", "not an address")],
            "server.listen",
        ),
        ("[server]\nissuer = \"ftp://x\"\n", vec![], "server.issuer"),
        ("[database]\nurl = \"mysql://x\"\n", vec![], "database.url"),
        (
            "[password]\nmin_length = 4\n",
            vec![],
            "password.min_length",
        ),
        (
            "[ui]\ndefault_locale = \"fr\"\n",
            vec![],
            "ui.default_locale",
        ),
        ("[log]\nformat = \"xml\"\n", vec![], "log.format"),
        (
            "[database]\nschema = \"x; drop\"\n",
            vec![],
            "database.schema",
        ),
        (
            "[lockout]\nmax_failures = -1\n",
            vec![],
            "lockout.max_failures",
        ),
        (
            "[notify]\ntransport = \"pigeon\"\n",
            vec![],
            "notify.transport",
        ),
        ("[notify]\nsmtp_tls = \"ssl\"\n", vec![], "notify.smtp_tls"),
        (
            "[notify]\nfrom = \"not an address\"\n",
            vec![],
            "notify.from",
        ),
        ("[notify]\nclaim_secs = 10\n", vec![], "notify.claim_secs"),
        (
            "[server.tls]\ncert_file = \"/etc/c.pem\"\n",
            vec![],
            "server.tls",
        ),
        (
            "[server.tls]\ncert_file = \"/etc/c.pem\"\nkey_file = \"/etc/k.pem\"\n",
            vec![],
            "server.issuer",
        ),
        (
            "[database]\nacquire_timeout_ms = 0\n",
            vec![],
            "database.acquire_timeout_ms",
        ),
        (
            "[tokens]\nrefresh_retry_grace_secs = 3600\n",
            vec![],
            "tokens.refresh_retry_grace_secs",
        ),
        (
            "[server]\nbody_timeout_secs = 0\n",
            vec![],
            "server.body_timeout_secs",
        ),
        (
            "",
            vec![("MONBAN_NOTIFY__SMTP_USERNAME", "user")],
            "notify.smtp_password",
        ),
        (
            "[ratelimit]\nlogin_ip = { requests = 10, period_secs = 60, burst = 0 }\n",
            vec![],
            "ratelimit.login_ip.burst",
        ),
        (
            "",
            vec![("MONBAN_RATELIMIT__TOKEN_CLIENT__PERIOD_SECS", "0")],
            "ratelimit.token_client.period_secs",
        ),
        (
            "[ratelimit.mfa_ip]\nrequests = 1\nperiod = 5\n",
            vec![],
            "ratelimit.mfa_ip.period",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n",
            vec![],
            "server.trusted_proxies",
        ),
    ] {
        let e = load_toml(text, &env).unwrap_err();
        assert!(e.to_string().contains(key), "expected {key} in: {e}");
    }
}

#[test]
fn a_limit_can_be_changed_one_field_at_a_time() {
    let cfg = load_toml(
        "[ratelimit.login_ip]\nburst = 3\n[server]\ntrusted_proxies = [\"127.0.0.1\", \"fd00::/8\"]\n",
        &[("MONBAN_RATELIMIT__LOGIN_ACCOUNT__REQUESTS", "2")],
    )
    .unwrap();
    let d = monban::config::RatelimitConfig::default();
    assert_eq!(cfg.ratelimit.login_ip.burst, 3);
    assert_eq!(cfg.ratelimit.login_ip.requests, d.login_ip.requests);
    assert_eq!(cfg.ratelimit.login_account.requests, 2);
    assert_eq!(cfg.ratelimit.login_account.burst, d.login_account.burst);
    assert_eq!(cfg.server.trusted_proxies, ["127.0.0.1", "fd00::/8"]);
}

#[test]
fn a_missing_config_file_is_an_error() {
    let e = Config::load_from(
        Some(std::path::Path::new("/nonexistent/monban.toml")),
        Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/monban.toml"));
}
