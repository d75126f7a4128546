//! Request bodies are read before any handler or middleware answers.
//!
//! actix-web closes a keep-alive connection when a response goes out while the
//! request's `Content-Length` body is still unread (a 401 from client or admin
//! authentication, a 429 from a rate limit, a refusal by the support guard…), so the
//! client has to open a new connection for its next request — a measured 2.5x
//! slowdown under load. This middleware, the outermost, reads the whole body first
//! (up to `server.body_limit_bytes`) and hands it on as the request's payload, so
//! whatever answers, the connection stays usable. A body over the limit is handed on
//! as it comes (the buffered part, then the rest of the stream): the extractor then
//! refuses it with 413 and the connection closes, which is what a client that sends
//! too much deserves.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpMessage;
use futures_util::{Stream, StreamExt};

type Boxed = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

use crate::error::{AppError, Kind};
use crate::http::state::AppState;

/// What a body buffer starts with; it grows with what actually arrives.
const INITIAL_CAPACITY: usize = 8 * 1024;

pub async fn read_first(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if length.unwrap_or(0) == 0 && !chunked {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let (limit, timeout) =
        req.app_data::<actix_web::web::Data<AppState>>()
            .map_or((64 * 1024, 10), |s| {
                (
                    s.cfg.server.body_limit_bytes,
                    s.cfg.server.body_timeout_secs,
                )
            });
    if length.is_some_and(|n| n > limit) {
        // Refused by the extractor without reading; the connection closes.
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let mut payload = req.take_payload();
    // Grown as the bytes arrive: `Content-Length` is the client's word, and a
    // client that announces much and sends little must not hold memory for it.
    let mut buf = BytesMut::with_capacity(length.unwrap_or(0).min(INITIAL_CAPACITY));
    let mut overflow = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                tracing::info!(
                    reason = "body_timeout",
                    received = buf.len(),
                    announced = ?length,
                    "request refused: the body did not arrive within server.body_timeout_secs"
                );
                let e = AppError::new(
                    Kind::RequestTimeout,
                    "body_timeout",
                    "the request body did not arrive in time",
                );
                let mut res = actix_web::ResponseError::error_response(&e);
                res.head_mut().set_connection_type(ConnectionType::Close);
                return Ok(req.into_response(res).map_into_right_body());
            }
        };
        match chunk {
            Ok(c) => {
                buf.extend_from_slice(&c);
                if buf.len() > limit {
                    overflow = true;
                    break;
                }
            }
            Err(e) => {
                // Broken body: let the extractor see the same error.
                let head = futures_util::stream::once(async move { Ok(buf.freeze()) });
                let err = futures_util::stream::once(async move { Err(e) });
                req.set_payload(Payload::from(Box::pin(head.chain(err)) as Boxed));
                return next
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body);
            }
        }
    }
    let body: Bytes = buf.freeze();
    if overflow {
        let head = futures_util::stream::once(async move { Ok(body) });
        req.set_payload(Payload::from(Box::pin(head.chain(payload)) as Boxed));
    } else {
        req.set_payload(Payload::from(body));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
