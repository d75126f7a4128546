//! The `monban` command: CLI → config → app. Nothing else lives here.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use monban::clock::{SharedClock, SystemClock};
use monban::keys::KeyManager;
use monban::{Application, Config};

#[derive(Parser)]
#[command(
    name = "monban",
    version,
    about = "Monban (門番): a self-hosted identity provider"
)]
struct Cli {
    /// Configuration file (TOML). Environment variables MONBAN_<SECTION>__<KEY> override it.
    #[arg(long, global = true, env = "MONBAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Manage OAuth 2.0 / OpenID Connect clients.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage admin API credentials.
    #[command(subcommand)]
    AdminToken(AdminTokenCmd),
    /// Manage SAML 2.0 service providers.
    #[command(subcommand, name = "saml-sp")]
    SamlSp(SamlSpCmd),
}

#[derive(Subcommand)]
enum SamlSpCmd {
    /// Register a service provider from its SAML metadata.
    Add(Box<SamlSpAdd>),
    /// List registered service providers.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct SamlSpAdd {
    /// The SP's metadata (an EntityDescriptor with an SPSSODescriptor).
    #[arg(long)]
    metadata: PathBuf,
    /// Display name (default: the entityID).
    #[arg(long)]
    name: Option<String>,
    /// NameID format: persistent (pairwise, opaque), transient or email (default: the
    /// first of these the metadata declares as NameIDFormat, else persistent).
    #[arg(long)]
    name_id_format: Option<String>,
    /// Attributes to release, comma-separated: email, name, groups.
    #[arg(long, value_delimiter = ',')]
    attributes: Option<Vec<String>>,
    /// What to sign: response, assertion or both.
    #[arg(long, default_value = "both")]
    sign: String,
    /// Encrypt assertions (AES-256-GCM, RSA-OAEP) to the SP's encryption certificate.
    #[arg(long)]
    encrypt_assertions: bool,
    /// Allow IdP-initiated SSO (/saml/idp-initiated?sp=ENTITY_ID).
    #[arg(long)]
    idp_initiated: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AdminTokenCmd {
    /// Create an admin API token; prints it once.
    Create {
        #[arg(long)]
        name: String,
        /// Space- or comma-separated: admin:users:read admin:users:write admin:sessions
        /// admin:security admin:clients admin:audit:read admin:support, or admin:*.
        #[arg(long)]
        scopes: String,
        /// Lifetime such as 90d, 12h or 30m (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List admin tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name or id.
    Revoke { name_or_id: String },
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Register a client; prints its id and (once) its secret.
    Add(Box<ClientAdd>),
    /// List registered clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace a client's secret; prints the new one (once).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct ClientAdd {
    #[arg(long)]
    name: String,
    /// confidential (web app with a secret), public (native/SPA, PKCE), service (client_credentials).
    #[arg(long, default_value = "confidential")]
    kind: String,
    /// web or native (default: web for confidential, native for public).
    #[arg(long)]
    app_type: Option<String>,
    /// Exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Space-separated scopes the client may ask for.
    #[arg(long)]
    scopes: Option<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt, none (public).
    #[arg(long)]
    auth_method: Option<String>,
    /// File holding the client's public JWK Set (private_key_jwt).
    #[arg(long)]
    jwks_file: Option<PathBuf>,
    /// Signing algorithm for its ID and access tokens: RS256 (default), ES256, EdDSA.
    #[arg(long)]
    alg: Option<String>,
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Skip the consent page (the organisation's own apps).
    #[arg(long)]
    first_party: bool,
    /// Choose the client id instead of a random one.
    #[arg(long)]
    client_id: Option<String>,
    /// Allow the Device Authorization Grant (RFC 8628).
    #[arg(long)]
    device: bool,
    /// Device-flow tokens also need an administrator's approval (implies --device; no
    /// redirect URIs).
    #[arg(long)]
    requires_admin_approval: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user. Without --password-stdin the user is `pending` (no password yet).
    Add(UserAdd),
}

#[derive(Args)]
struct UserAdd {
    #[arg(long)]
    email: String,
    #[arg(long)]
    login_id: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add new signing keys: published in the JWKS at once, used after
    /// keys.publish_before_use_secs; the keys they replace retire later.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// List the keys and their time windows.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// glibc raises its mmap threshold after the first large block is freed; from then on
/// argon2's work areas (`password.argon2_memory_kib`, 19 MiB by default) come from
/// per-thread arenas and stay resident (the benchmark saw ~1 GB after a few hundred
/// sign-ins). A fixed threshold keeps them mmapped, so each is returned when freed, and
/// two arenas keep the idle footprint small.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() {
    tune_allocator();
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(run(cli.command.unwrap_or(Command::Serve), cfg));
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cmd: Command, cfg: Config) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    match cmd {
        Command::Serve => serve(cfg, clock).await,
        Command::Migrate => {
            let store = monban::store::connect_and_migrate(&cfg).await?;
            println!("migrations applied ({})", store.dialect());
            store.close().await;
            Ok(())
        }
        Command::User(UserCmd::Add(a)) => user_add(cfg, clock, a).await,
        Command::Client(cmd) => client_cmd(cfg, clock, cmd).await,
        Command::AdminToken(cmd) => admin_token_cmd(cfg, clock, cmd).await,
        Command::SamlSp(cmd) => saml_sp_cmd(cfg, clock, cmd).await,
        Command::Keys(KeysCmd::Rotate { json }) => {
            let added = KeyManager::rotate(&cfg, clock)?;
            if cfg.is_postgres() {
                // Running replicas reload at once instead of at their next poll.
                let store = monban::store::connect(&cfg).await?;
                monban::cache::announce(&store, monban::cache::Event::KeysChanged).await?;
                store.close().await;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&added)?);
            } else {
                for k in added {
                    println!(
                        "added {} key {} (signs from {})",
                        k.alg,
                        k.kid,
                        k.not_before.to_rfc3339()
                    );
                }
            }
            Ok(())
        }
        Command::Keys(KeysCmd::List { json }) => {
            let km = KeyManager::open(&cfg, clock)?;
            let set = km.current();
            let entries: Vec<_> = set
                .keys
                .iter()
                .map(|k| &k.entry)
                .chain(set.saml.iter().map(|k| &k.entry))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    println!(
                        "{:6} {}  signs from {}  retires {}",
                        e.alg,
                        e.kid,
                        e.not_before.to_rfc3339(),
                        e.retire_after
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_else(|| "-".into())
                    );
                }
            }
            Ok(())
        }
    }
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log.level));
    // Colour only when the log goes to a terminal (not into files or journald).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(cfg: Config, clock: SharedClock) -> anyhow::Result<()> {
    init_logging(&cfg);
    let db = cfg.database_url();
    let issuer = cfg.issuer().to_string();
    let app = Application::build(cfg, clock).await?;
    let state = app.state();
    let users = state.store.count_users(state.org.id).await.unwrap_or(0);
    let host = state
        .cfg
        .server
        .listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let scheme = if state.cfg.server.tls.cert_file.is_empty() {
        "http"
    } else {
        "https"
    };
    println!(
        "Monban listening on {scheme}://{host}:{} (issuer {issuer})",
        app.port()
    );
    if let Some(port) = app.metrics_port() {
        let host = state
            .cfg
            .metrics
            .listen
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        println!("  metrics:  http://{host}:{port}/metrics");
    }
    println!("  database: {db}");
    println!("  keys:     {}", state.keys.dir().display());
    if users == 0 {
        println!("  No users yet. Create the first one with:");
        println!("    echo 'a-long-passphrase' | monban user add --email you@example.com --password-stdin");
        println!("  (or: cargo run --release -- user add …), then sign in at {issuer}/login");
    }
    app.run_until_stopped().await?;
    Ok(())
}

async fn user_add(cfg: Config, clock: SharedClock, a: UserAdd) -> anyhow::Result<()> {
    let password = if a.password_stdin {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprint!("password: ");
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            anyhow::bail!("--password-stdin: no password on standard input");
        }
        Some(pw)
    } else {
        None
    };
    let state = monban::app::core(cfg, clock).await?;
    let user = monban::users::create(
        &state,
        monban::users::CreateUser {
            email: a.email,
            login_id: a.login_id,
            display_name: a.display_name,
            password,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| {
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        if fields.is_empty() {
            anyhow::anyhow!("{}", e.detail)
        } else {
            anyhow::anyhow!("{} ({})", e.detail, fields.join("; "))
        }
    })?;
    state.store.close().await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&user)?);
    } else {
        println!(
            "created user {} <{}>{} status={}",
            user.id,
            user.email,
            user.login_id
                .as_deref()
                .map(|l| format!(" login_id={l}"))
                .unwrap_or_default(),
            user.status
        );
    }
    Ok(())
}

fn app_error(e: monban::error::AppError) -> anyhow::Error {
    let fields: Vec<String> = e
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", e.detail)
    } else {
        anyhow::anyhow!("{} ({})", e.detail, fields.join("; "))
    }
}

async fn client_cmd(cfg: Config, clock: SharedClock, cmd: ClientCmd) -> anyhow::Result<()> {
    let state = monban::app::core(cfg, clock).await?;
    let result = match cmd {
        ClientCmd::Add(a) => {
            let jwks = match &a.jwks_file {
                Some(f) => Some(
                    std::fs::read_to_string(f)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
                ),
                None => None,
            };
            let r = monban::clients::register(
                &state,
                monban::clients::NewClient {
                    name: a.name,
                    kind: a.kind,
                    application_type: a.app_type,
                    redirect_uris: a.redirect_uris,
                    post_logout_redirect_uris: a.post_logout_redirect_uris,
                    scopes: a.scopes,
                    auth_method: a.auth_method,
                    signing_alg: a.alg,
                    jwks,
                    backchannel_logout_uri: a.backchannel_logout_uri,
                    first_party: a.first_party,
                    client_id: a.client_id,
                    device_grant: a.device,
                    requires_admin_approval: a.requires_admin_approval,
                },
            )
            .await
            .map_err(app_error)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("client_id:     {}", r.client_id);
                if let Some(s) = &r.client_secret {
                    println!("client_secret: {s}   (shown once: store it now)");
                }
                println!(
                    "kind: {}  auth: {}  alg: {}",
                    r.client.kind, r.client.token_endpoint_auth_method, r.client.signing_alg
                );
            }
            Ok(())
        }
        ClientCmd::List { json } => {
            let clients = state.store.list_clients(state.org.id).await?;
            let views: Vec<serde_json::Value> = clients
                .iter()
                .map(|c| {
                    let mut v = serde_json::to_value(monban::clients::ClientView::from(c))
                        .unwrap_or_default();
                    v["client_id"] = serde_json::json!(c.client_id);
                    v
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for c in &clients {
                    println!(
                        "{}  {}  ({}, {})",
                        c.client_id, c.name, c.kind, c.token_endpoint_auth_method
                    );
                }
            }
            Ok(())
        }
        ClientCmd::RotateSecret { client_id, json } => {
            let secret = monban::clients::rotate_secret(&state, &client_id)
                .await
                .map_err(app_error)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "client_id": client_id, "client_secret": secret })
                );
            } else {
                println!("client_secret: {secret}   (shown once: store it now)");
            }
            Ok(())
        }
    };
    state.store.close().await;
    result
}

fn parse_lifetime(s: &str) -> anyhow::Result<chrono::Duration> {
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .map_err(|_| anyhow::anyhow!("--expires: use e.g. 90d, 12h or 30m"))?;
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "m" => Ok(chrono::Duration::minutes(n)),
        _ => anyhow::bail!("--expires: use e.g. 90d, 12h or 30m"),
    }
}

async fn admin_token_cmd(
    cfg: Config,
    clock: SharedClock,
    cmd: AdminTokenCmd,
) -> anyhow::Result<()> {
    let state = monban::app::core(cfg, clock).await?;
    let result = match cmd {
        AdminTokenCmd::Create {
            name,
            scopes,
            expires,
            json,
        } => {
            let exp = match expires {
                Some(e) => Some(state.clock.now() + parse_lifetime(&e)?),
                None => None,
            };
            let (row, token) = monban::admin::auth::create_token(&state, &name, &scopes, exp)
                .await
                .map_err(app_error)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "id": row.id, "name": row.name, "token": token, "scopes": row.scopes, "expires_at": row.expires_at })
                );
            } else {
                println!("token: {token}   (shown once: store it now)");
                println!(
                    "name: {}  scopes: {}  expires: {}",
                    row.name,
                    row.scopes,
                    row.expires_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "never".into())
                );
            }
            Ok(())
        }
        AdminTokenCmd::List { json } => {
            let rows = state.store.list_admin_tokens(state.org.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    let st = if r.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("{}  {}  [{}]  {}", r.id, r.name, r.scopes, st);
                }
            }
            Ok(())
        }
        AdminTokenCmd::Revoke { name_or_id } => {
            if state
                .store
                .revoke_admin_token(state.org.id, &name_or_id, state.clock.now())
                .await?
            {
                println!("revoked {name_or_id}");
                Ok(())
            } else {
                Err(anyhow::anyhow!("no active token named {name_or_id}"))
            }
        }
    };
    state.store.close().await;
    result
}

async fn saml_sp_cmd(cfg: Config, clock: SharedClock, cmd: SamlSpCmd) -> anyhow::Result<()> {
    let state = monban::app::core(cfg, clock).await?;
    let result = match cmd {
        SamlSpCmd::Add(a) => {
            let xml = std::fs::read_to_string(&a.metadata)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.metadata.display()))?;
            let sp = monban::clients::saml::register(
                &state,
                &xml,
                monban::clients::saml::SpSettings {
                    name: a.name,
                    name_id_format: a.name_id_format,
                    attributes: a.attributes,
                    sign: Some(a.sign),
                    encrypt_assertions: a.encrypt_assertions,
                    idp_initiated: a.idp_initiated,
                },
            )
            .await
            .map_err(app_error)?;
            let view = monban::clients::saml::SpView::from(&sp);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!("entity_id: {}", view.entity_id);
                for acs in &view.acs {
                    println!(
                        "acs[{}]{}: {}",
                        acs.index,
                        if acs.default { " (default)" } else { "" },
                        acs.url
                    );
                }
                println!(
                    "name_id: {}  signing certs: {}  requests signed: {}",
                    view.name_id_format, view.signing_certs, view.authn_requests_signed
                );
            }
            Ok(())
        }
        SamlSpCmd::List { json } => {
            let sps = state.store.list_sps(state.org.id).await?;
            let views: Vec<monban::clients::saml::SpView> = sps
                .iter()
                .map(monban::clients::saml::SpView::from)
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for v in &views {
                    println!("{}  {}  ({})", v.entity_id, v.name, v.name_id_format);
                }
            }
            Ok(())
        }
    };
    state.store.close().await;
    result
}
