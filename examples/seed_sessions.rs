//! Seeds N live sessions for one user straight into Monban's database, for the memory
//! part of `bench/run.sh` (creating 100k sessions through argon2 sign-ins would take
//! longer than the measurement). Each row is what a password sign-in writes (same
//! store call, same keyed hash of the cookie value, same amr/acr, a browser-sized user
//! agent), with `last_seen_at` two minutes back so that the first request with its
//! cookie also touches it. Prints the cookie values, one a line, for
//! `bench_driver touch-sessions`.
//!
//! `seed_sessions EMAIL N > tokens.txt`, with the server's MONBAN_* environment (the
//! same data and keys directories).

use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use chrono::Duration;
use monban::clock::{SharedClock, SystemClock};
use monban::keys::KeyManager;
use monban::store::Session;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [email, n] = args.as_slice() else {
        return Err(anyhow!("usage: seed_sessions EMAIL N"));
    };
    let n: usize = n.parse().context("N")?;
    let cfg = monban::Config::load(None)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let keys = KeyManager::open(&cfg, clock.clone())?;
    let store = monban::store::connect_and_migrate(&cfg).await?;
    let org = store.get_org_by_slug(monban::core::DEFAULT_ORG).await?;
    let user = store
        .find_user_by_login(org.id, email)
        .await?
        .ok_or_else(|| anyhow!("no user {email}"))?;
    let now = clock.now();
    let mut out = String::with_capacity(n * 44);
    for _ in 0..n {
        let token = monban::util::random_token(32);
        let s = Session {
            id: Uuid::new_v4(),
            token_hash: keys.secrets().token_hash(token.as_bytes()),
            org_id: user.org_id,
            user_id: user.id,
            created_at: now - Duration::seconds(120),
            last_seen_at: now - Duration::seconds(120),
            expires_at: now + Duration::seconds(cfg.session.absolute_lifetime_secs),
            auth_time: now - Duration::seconds(120),
            amr: "pwd".into(),
            acr: "urn:monban:acr:pwd".into(),
            ip: Some("127.0.0.1".into()),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/130.0.0.0 Safari/537.36"
                    .into(),
            ),
            ended_at: None,
            end_reason: None,
            impersonator_id: None,
            support_grant_id: None,
        };
        store.insert_session(&s).await?;
        out.push_str(&token);
        out.push('\n');
    }
    store.close().await;
    print!("{out}");
    Ok(())
}
