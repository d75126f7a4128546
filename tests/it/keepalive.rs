//! A refused POST does not cost the client its keep-alive connection: the body is
//! read before anything answers (actix-web closes a connection whose request body was
//! left unread), so the next request on the same connection is served.

use crate::common;

use common::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    headers: String,
}

/// Writes one request and reads one response (`Content-Length` bodies) on `conn`.
async fn exchange(conn: &mut TcpStream, request: &str) -> Response {
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response: {request}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let headers = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = headers[9..12].parse().unwrap();
    let len: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed in a body");
        buf.extend_from_slice(&chunk[..n]);
    }
    Response { status, headers }
}

fn post(path: &str, extra: &str, ctype: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{extra}content-type: {ctype}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

const GET_HEALTH: &str = "GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

async fn refused_then_served(app: &TestApp, first: &str, expect: u16) {
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let r = exchange(&mut conn, first).await;
    assert_eq!(r.status, expect, "{}", r.headers);
    assert!(
        !r.headers.contains("connection: close"),
        "the refusal keeps the connection: {}",
        r.headers
    );
    for _ in 0..2 {
        let r = exchange(&mut conn, GET_HEALTH).await;
        assert_eq!(r.status, 200, "next request on the same connection");
    }
}

async fn refused_posts_keep_the_connection(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.ratelimit.admin_credential = monban::config::Limit::new(1, 3600, 1);
    })
    .await
    else {
        return;
    };
    let big = format!(
        "{{\"email\":\"x@example.com\",\"display_name\":\"{}\"}}",
        "a".repeat(8000)
    );
    // 401 from the admin API's credential check, before the JSON body is parsed.
    refused_then_served(
        &app,
        &post(
            "/admin/v1/users",
            "authorization: Bearer mbat_nope\r\n",
            "application/json",
            &big,
        ),
        401,
    )
    .await;
    // 429 from the admin API's rate limit (the same credential again).
    refused_then_served(
        &app,
        &post(
            "/admin/v1/users",
            "authorization: Bearer mbat_nope\r\n",
            "application/json",
            &big,
        ),
        429,
    )
    .await;
    // 401 from client authentication at /token, /introspect and /revoke.
    let basic = "authorization: Basic bm9wZTpub3Bl\r\n";
    for path in ["/token", "/introspect", "/revoke"] {
        refused_then_served(
            &app,
            &post(
                path,
                basic,
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials&token=abc",
            ),
            401,
        )
        .await;
    }
    // 403 from the CSRF check of a form.
    refused_then_served(
        &app,
        &post(
            "/login",
            "",
            "application/x-www-form-urlencoded",
            "username=a&password=b&csrf_token=forged",
        ),
        403,
    )
    .await;
}

on_both_backends!(refused_posts_keep_the_connection);
