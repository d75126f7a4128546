//! A TCP proxy the tests can cut, to take a dependency (PostgreSQL) away from one
//! instance and give it back: an outage as that instance sees it, without stopping
//! the database the other tests use.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: connections of an older generation close.
    generation: watch::Sender<u64>,
    pub accepted: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `target`.
    pub async fn start(target: String) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let (u, g, a) = (up.clone(), generation.clone(), accepted.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !u.load(Ordering::SeqCst) {
                    drop(client); // refused: closed at once
                    continue;
                }
                a.fetch_add(1, Ordering::SeqCst);
                let target = target.clone();
                let mut rx = g.subscribe();
                let born = *rx.borrow();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut cr, &mut sw) => {}
                        _ = tokio::io::copy(&mut sr, &mut cw) => {}
                        _ = async {
                            while rx.changed().await.is_ok() {
                                if *rx.borrow() != born {
                                    break;
                                }
                            }
                        } => {}
                    }
                });
            }
        });
        FaultProxy {
            port,
            up,
            generation,
            accepted,
        }
    }

    /// Closes every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The PostgreSQL test URL with its host and port replaced by the proxy's.
pub fn via_proxy(pg_url: &str, port: u16) -> (String, String) {
    let mut u = url::Url::parse(pg_url).unwrap();
    let target = format!(
        "{}:{}",
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(5432)
    );
    u.set_host(Some("127.0.0.1")).unwrap();
    u.set_port(Some(port)).unwrap();
    (u.to_string(), target)
}
