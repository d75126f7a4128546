//! Notifications: the outbox, its delivery worker and the transports, on both dialects.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use base64::Engine;
use chrono::{Duration, TimeZone, Utc};
use common::{Backend, TestApp, TestDb};
use monban::clock::{Clock, SystemClock};
use monban::notify::{self, Message, Recipient};
use monban::store::{self, OutboxMessage, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

on_both_backends!(
    file_transport_delivers_japanese_and_english,
    smtp_failure_is_retried_with_backoff,
    gives_up_after_max_attempts,
    a_permanent_refusal_is_not_retried,
    nothing_is_lost_across_a_restart,
    replicas_never_claim_the_same_message,
    claims_are_given_back_on_shutdown,
);

// ------------------------------------------------------------------ helpers

/// A parsed `.eml`: unfolded headers (RFC 2047 words decoded) and the decoded body.
#[derive(Debug)]
struct Eml {
    headers: Vec<(String, String)>,
    body: String,
}

impl Eml {
    fn parse(raw: &str) -> Eml {
        let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().expect("continuation").1.push_str(line);
            } else {
                let (k, v) = line.split_once(':').expect("header line");
                headers.push((k.to_string(), v.trim_start().to_string()));
            }
        }
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k, decode_words(&v)))
            .collect::<Vec<_>>();
        let eml = Eml {
            headers,
            body: String::new(),
        };
        assert_eq!(eml.header("Content-Transfer-Encoding"), "base64");
        let b64: String = body.split_whitespace().collect();
        let body = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64 body");
        Eml {
            // Lines end in CRLF on the wire.
            body: String::from_utf8(body)
                .expect("utf-8 body")
                .replace("\r\n", "\n"),
            ..eml
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

/// Decodes `=?utf-8?b?…?=` words; whitespace between two encoded words is dropped.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let ws_len = rest.len() - rest.trim_start().len();
        let (ws, after) = rest.split_at(ws_len);
        if let Some(word) = after.strip_prefix("=?utf-8?b?") {
            let end = word.find("?=").expect("end of encoded word");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&word[..end])
                .expect("encoded word");
            if !last_was_word {
                out.push_str(ws);
            }
            out.push_str(&String::from_utf8(bytes).expect("utf-8 word"));
            rest = &word[end + 2..];
            last_was_word = true;
        } else {
            out.push_str(ws);
            let end = after
                .find(|c: char| c.is_whitespace())
                .unwrap_or(after.len());
            out.push_str(&after[..end]);
            rest = &after[end..];
            last_was_word = false;
        }
    }
    out
}

fn outbox_dir(app: &TestApp) -> PathBuf {
    app.state
        .cfg
        .notify
        .effective_file_dir(&app.state.cfg.data.dir)
}

fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // Skip the transport's temporary files (`.<id>.tmp`), renamed into place when complete.
    let mut files: Vec<(String, String)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Polls until `f` holds (the worker runs in the background), at most 10 s.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn row(app: &TestApp, id: Uuid) -> OutboxMessage {
    app.state.store.get_outbox(id).await.unwrap().unwrap()
}

fn recipient(email: &str, name: &str, locale: Option<&str>) -> Recipient {
    Recipient {
        user_id: None,
        email: email.into(),
        display_name: name.into(),
        locale: locale.map(String::from),
    }
}

/// A minimal SMTP server (220/250/354/250/221). The first `fail_first` messages are
/// refused after DATA with `fail_reply`.
struct FakeSmtp {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
    data_commands: Arc<AtomicUsize>,
}

async fn fake_smtp(fail_first: usize, fail_reply: &'static [u8]) -> FakeSmtp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let data_commands = Arc::new(AtomicUsize::new(0));
    let (rx, dc) = (received.clone(), data_commands.clone());
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (rx, dc) = (rx.clone(), dc.clone());
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake.test\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        "DATA" => {
                            w.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                                data.push_str("\r\n");
                            }
                            if dc.fetch_add(1, Ordering::SeqCst) < fail_first {
                                fail_reply
                            } else {
                                rx.lock().unwrap().push(data);
                                b"250 OK queued\r\n"
                            }
                        }
                        _ => b"500 unknown command\r\n",
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    FakeSmtp {
        port,
        received,
        data_commands,
    }
}

const TEMPORARY: &[u8] = b"451 4.3.0 try again later\r\n";

/// A local port nothing listens on (connections are refused).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn smtp_to(cfg: &mut monban::Config, port: u16) {
    cfg.notify.transport = "smtp".into();
    cfg.notify.smtp_host = "127.0.0.1".into();
    cfg.notify.smtp_port = port;
    cfg.notify.smtp_tls = "none".into();
    cfg.notify.smtp_timeout_secs = 5;
    cfg.notify.poll_interval_ms = 50;
}

// ------------------------------------------------------------------ tests

async fn file_transport_delivers_japanese_and_english(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| {
        c.notify.transport = "file".into();
        c.notify.from = "Acme ID <id@acme.example>".into();
        c.notify.poll_interval_ms = 50;
        c.ui.product_name = "Acme ID".into();
    })
    .await
    else {
        return;
    };
    let user = app
        .create_user("yamada@example.com", "a-long-passphrase-1")
        .await;
    let ja = notify::send(
        &app.state,
        &Recipient {
            user_id: Some(user.id),
            email: user.email.clone(),
            display_name: "山田 太郎".into(),
            locale: Some("ja-JP".into()),
        },
        Message::Invitation {
            link: "https://id.acme.example/invite/t0k3n".into(),
        },
    )
    .await
    .unwrap();
    let until = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 0).unwrap();
    // No locale: ui.default_locale (en).
    let en = notify::send(
        &app.state,
        &recipient("bob@example.com", "Bob Smith", None),
        Message::AccountLocked { until: Some(until) },
    )
    .await
    .unwrap();

    let dir = outbox_dir(&app);
    eventually("two .eml files", || async { read_dir(&dir).len() == 2 }).await;
    let files = read_dir(&dir);
    assert!(files.iter().all(|(n, _)| n.ends_with(".eml")), "{files:?}");
    let find = |id: Uuid| {
        let (_, raw) = files
            .iter()
            .find(|(n, _)| n.contains(&id.simple().to_string()))
            .unwrap_or_else(|| panic!("no file for {id}: {files:?}"));
        Eml::parse(raw)
    };

    let m = find(ja);
    assert_eq!(m.header("From"), "\"Acme ID\" <id@acme.example>");
    assert_eq!(m.header("To"), "山田 太郎 <yamada@example.com>");
    assert_eq!(m.header("Subject"), "【Acme ID】アカウント登録のご案内");
    assert_eq!(m.header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(m.header("X-Monban-Kind"), "invitation");
    assert_eq!(
        m.header("Message-ID"),
        format!("<{}@acme.example>", ja.simple())
    );
    assert!(!m.header("Date").is_empty());
    assert!(m
        .body
        .starts_with("山田 太郎 様\n\nAcme ID にあなたのアカウントが作成されました。"));
    assert!(m
        .body
        .contains("\n\nhttps://id.acme.example/invite/t0k3n\n\n"));

    let m = find(en);
    assert_eq!(m.header("To"), "\"Bob Smith\" <bob@example.com>");
    assert_eq!(
        m.header("Subject"),
        "[Acme ID] Your account has been locked"
    );
    assert_eq!(m.header("X-Monban-Kind"), "account_locked");
    assert!(m
        .body
        .starts_with("Hello Bob Smith,\n\nYour Acme ID account has been locked"));
    assert!(m
        .body
        .contains("unlocked automatically at 2030-01-02 03:04 UTC."));

    for id in [ja, en] {
        let r = row(&app, id).await;
        assert!(r.sent_at.is_some(), "{r:?}");
        assert_eq!(r.attempts, 1);
        assert_eq!(r.claimed_until, None);
    }
    let r = row(&app, ja).await;
    assert_eq!((r.locale.as_str(), r.user_id), ("ja", Some(user.id)));
    assert_eq!(row(&app, en).await.locale, "en");
    let listed = app
        .state
        .store
        .list_outbox(app.state.org.id, Some(user.id), 10)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ja]);

    // A bad address is refused at once, not queued.
    let e = notify::send(
        &app.state,
        &recipient("not an address", "X", None),
        Message::AccountUnlocked,
    )
    .await
    .unwrap_err();
    assert_eq!(monban::http::errors::status(e.kind).as_u16(), 400, "{e:?}");
}

async fn smtp_failure_is_retried_with_backoff(b: Backend) {
    let smtp = fake_smtp(1, TEMPORARY).await;
    let Some(app) = TestApp::spawn_with(b, |c| {
        smtp_to(c, smtp.port);
        c.notify.retry_base_secs = 30;
    })
    .await
    else {
        return;
    };
    let id = notify::send(
        &app.state,
        &recipient("carol@example.com", "Carol", Some("en")),
        Message::AccountSuspended,
    )
    .await
    .unwrap();
    eventually("a first, failed attempt", || async {
        row(&app, id).await.last_error.is_some()
    })
    .await;
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 1);
    assert!(r.sent_at.is_none() && r.failed_at.is_none(), "{r:?}");
    assert!(r.last_error.as_deref().unwrap().contains("SMTP"), "{r:?}");
    assert_eq!(r.next_attempt_at, r.created_at + Duration::seconds(30));
    assert_eq!(r.claimed_until, None, "the claim is released");

    // Not retried before the backoff has passed.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(smtp.data_commands.load(Ordering::SeqCst), 1);
    assert!(smtp.received.lock().unwrap().is_empty());

    app.clock.advance(Duration::seconds(31));
    eventually("the retry is delivered", || async {
        row(&app, id).await.sent_at.is_some()
    })
    .await;
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 2);
    let received = smtp.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "sent exactly once");
    let m = Eml::parse(&received[0]);
    assert_eq!(m.header("To"), "Carol <carol@example.com>");
    assert_eq!(
        m.header("Subject"),
        "[Monban] Your account has been suspended"
    );
    assert_eq!(m.header("From"), "Monban <no-reply@localhost>");
    assert!(m
        .body
        .contains("An administrator has suspended your Monban account."));
}

async fn gives_up_after_max_attempts(b: Backend) {
    let port = closed_port();
    let Some(app) = TestApp::spawn_with(b, |c| {
        smtp_to(c, port);
        c.notify.max_attempts = 3;
        c.notify.retry_base_secs = 10;
    })
    .await
    else {
        return;
    };
    let id = notify::send(
        &app.state,
        &recipient("dave@example.com", "Dave", Some("ja")),
        Message::MfaReset,
    )
    .await
    .unwrap();
    for (attempt, wait) in [(1, 10), (2, 20)] {
        eventually("a failed attempt", || async {
            let r = row(&app, id).await;
            r.attempts == attempt && r.claimed_until.is_none() && r.last_error.is_some()
        })
        .await;
        let r = row(&app, id).await;
        assert!(r.failed_at.is_none());
        // Exponential: 10 s after the first failure, 20 s after the second.
        assert_eq!(
            r.next_attempt_at,
            app.clock.now() + Duration::seconds(wait),
            "attempt {attempt}"
        );
        app.clock.advance(Duration::seconds(wait));
    }
    eventually("given up", || async {
        row(&app, id).await.failed_at.is_some()
    })
    .await;
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 3);
    assert!(r.sent_at.is_none());
    assert!(r.last_error.is_some());
    // A failed message is never claimed again.
    app.clock.advance(Duration::days(1));
    let now = app.clock.now();
    let claimed = app
        .state
        .store
        .claim_outbox(now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert!(claimed.is_empty());
}

async fn a_permanent_refusal_is_not_retried(b: Backend) {
    let smtp = fake_smtp(usize::MAX, b"550 5.1.1 no such mailbox\r\n").await;
    let Some(app) = TestApp::spawn_with(b, |c| smtp_to(c, smtp.port)).await else {
        return;
    };
    let id = notify::send(
        &app.state,
        &recipient("nobody@example.com", "Nobody", None),
        Message::AccountUnlocked,
    )
    .await
    .unwrap();
    eventually("given up at once", || async {
        row(&app, id).await.failed_at.is_some()
    })
    .await;
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 1);
    assert!(r.sent_at.is_none());
    assert!(
        r.last_error.as_deref().unwrap().contains("no such mailbox"),
        "{r:?}"
    );
    app.clock.advance(Duration::days(1));
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(smtp.data_commands.load(Ordering::SeqCst), 1, "not retried");
}

async fn nothing_is_lost_across_a_restart(b: Backend) {
    // The first instance cannot reach its SMTP server; it stops with the message queued.
    let port = closed_port();
    let Some(first) = TestApp::spawn_with(b, |c| smtp_to(c, port)).await else {
        return;
    };
    let id = notify::send(
        &first.state,
        &recipient("erin@example.com", "Erin", Some("ja")),
        Message::AccountUnlocked,
    )
    .await
    .unwrap();
    eventually("a failed attempt", || async {
        let r = row(&first, id).await;
        r.last_error.is_some() && r.claimed_until.is_none()
    })
    .await;
    let db = first.stop_and_take_db().await;

    // A new instance on the same database and keys delivers it once the backoff passed.
    let second = TestApp::spawn_on(db, |c| {
        c.notify.transport = "file".into();
        c.notify.poll_interval_ms = 50;
    })
    .await;
    let r = row(&second, id).await;
    assert!(r.sent_at.is_none(), "still queued after the restart: {r:?}");
    second.clock.advance(Duration::seconds(
        second.state.cfg.notify.retry_base_secs + 1,
    ));
    let dir = outbox_dir(&second);
    eventually("delivered by the new instance", || async {
        read_dir(&dir).len() == 1
    })
    .await;
    let (_, raw) = read_dir(&dir).remove(0);
    let m = Eml::parse(&raw);
    assert_eq!(
        m.header("Subject"),
        "【Monban】アカウントのロックが解除されました"
    );
    assert!(m.body.starts_with("Erin 様\n\n"));
    eventually("marked sent", || async {
        row(&second, id).await.sent_at.is_some()
    })
    .await;
    assert_eq!(row(&second, id).await.attempts, 2);
}

fn queued(org: Uuid, now: chrono::DateTime<Utc>, i: usize) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::new_v4(),
        org_id: org,
        user_id: None,
        to_address: format!("u{i}@example.com"),
        to_name: String::new(),
        locale: "en".into(),
        kind: "account_unlocked".into(),
        subject: format!("message {i}"),
        body_text: "body".into(),
        body_html: None,
        attempts: 0,
        next_attempt_at: now,
        claimed_until: None,
        created_at: now,
        sent_at: None,
        failed_at: None,
        last_error: None,
    }
}

/// Two replicas (two connection pools on one database) claim at once: every message
/// goes to exactly one of them.
async fn replicas_never_claim_the_same_message(b: Backend) {
    let db = TestDb::new(b).unwrap();
    let a: Store = store::connect_and_migrate(&db.config()).await.unwrap();
    let b2: Store = store::connect_and_migrate(&db.config()).await.unwrap();
    let now = SystemClock.now();
    let org = a.ensure_org("default", "Default", now).await.unwrap().id;
    let mut ids = Vec::new();
    for i in 0..40 {
        let m = queued(org, now, i);
        ids.push(m.id);
        a.enqueue_outbox(&m).await.unwrap();
    }
    let lease = now + Duration::seconds(60);
    let worker = |s: Store| async move {
        let mut got = Vec::new();
        loop {
            let batch = s.claim_outbox(now, lease, 3).await.unwrap();
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|m| (m.id, m.attempts)));
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(worker(a.clone())),
        tokio::spawn(worker(b2.clone()))
    );
    let mut all: Vec<(Uuid, i64)> = x.unwrap().into_iter().chain(y.unwrap()).collect();
    all.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        all.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        expected,
        "each message claimed exactly once"
    );
    assert!(all.iter().all(|(_, n)| *n == 1));

    // Under a live claim nothing is handed out again…
    assert!(a.claim_outbox(now, lease, 100).await.unwrap().is_empty());
    // …sent, retried-later and failed messages are not claimable…
    a.outbox_sent(ids[0], now).await.unwrap();
    a.outbox_retry(ids[1], now + Duration::hours(1), "later")
        .await
        .unwrap();
    a.outbox_failed(ids[2], now, "gave up").await.unwrap();
    // …and when a claim runs out (its worker died), another replica takes the rest.
    let after = lease + Duration::seconds(1);
    let retaken = b2
        .claim_outbox(after, now + Duration::hours(2), 100)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 37);
    assert!(retaken.iter().all(|m| m.attempts == 2));
    assert!(!retaken.iter().any(|m| ids[..3].contains(&m.id)));
    // The one retried later comes back when due.
    let later = now + Duration::hours(1);
    let due = a
        .claim_outbox(later, later + Duration::seconds(60), 100)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert_eq!(due[0].last_error.as_deref(), Some("later"));
    let sent = a.get_outbox(ids[0]).await.unwrap().unwrap();
    assert_eq!(sent.sent_at, Some(now));
    assert_eq!(a.list_outbox(org, None, 100).await.unwrap().len(), 40);
    a.close().await;
    b2.close().await;
}

/// Stopping while the worker holds claims (one message mid-send to an SMTP server
/// that never answers, two more waiting in its batch) gives them all back at once:
/// the next instance delivers them without waiting out `notify.claim_secs`, and the
/// abandoned attempt is not counted.
async fn claims_are_given_back_on_shutdown(b: Backend) {
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hung.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    {
        let held = held.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = hung.accept().await {
                held.lock().unwrap().push(sock); // accepted, never answered
            }
        });
    }
    let Some(first) = TestApp::spawn_with(b, |c| {
        smtp_to(c, port);
        c.notify.smtp_timeout_secs = 120;
        c.notify.claim_secs = 600;
        // One round, after all three are queued (the wake below).
        c.notify.poll_interval_ms = 600_000;
        c.server.shutdown_timeout_secs = 10;
    })
    .await
    else {
        return;
    };
    // Due a minute from now, so that the worker's first round (at start-up) leaves
    // them; then the clock moves and one round claims all three.
    let mut ids = Vec::new();
    for i in 0..3 {
        let m = queued(
            first.state.org.id,
            first.clock.now() + Duration::seconds(60),
            i,
        );
        first.state.store.enqueue_outbox(&m).await.unwrap();
        ids.push(m.id);
    }
    first.clock.advance(Duration::seconds(61));
    first.state.notify.wake.notify_one();
    eventually("all three claimed, one mid-send", || async {
        let mut claimed = 0;
        for id in &ids {
            claimed += row(&first, *id).await.claimed_until.is_some() as usize;
        }
        claimed == 3 && !held.lock().unwrap().is_empty()
    })
    .await;
    let started = std::time::Instant::now();
    let db = first.stop_and_take_db().await;
    assert!(
        started.elapsed() < StdDuration::from_secs(8),
        "the hung send did not hold up the shutdown: {:?}",
        started.elapsed()
    );

    // Within the claim the first instance took, another delivers all three.
    let smtp = fake_smtp(0, TEMPORARY).await;
    let second = TestApp::spawn_on(db, |c| {
        smtp_to(c, smtp.port);
        c.notify.poll_interval_ms = 50;
    })
    .await;
    for id in &ids {
        let r = row(&second, *id).await;
        assert_eq!(
            (r.claimed_until, r.attempts),
            (None, 0),
            "given back: {r:?}"
        );
    }
    second.clock.advance(Duration::seconds(61));
    second.state.notify.wake.notify_one();
    eventually("delivered by the next instance", || async {
        smtp.received.lock().unwrap().len() == 3
    })
    .await;
    for id in &ids {
        eventually("marked sent", || async {
            row(&second, *id).await.sent_at.is_some()
        })
        .await;
        assert_eq!(row(&second, *id).await.attempts, 1);
    }
}
