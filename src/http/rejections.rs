//! Answers for requests the extractors refuse (malformed form, JSON, query or path;
//! body too large), in the same error format as every other refusal.

use actix_web::error::{JsonPayloadError, QueryPayloadError, UrlencodedError};
use actix_web::HttpRequest;

use crate::error::AppError;

pub fn form_error(e: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    match e {
        UrlencodedError::Overflow { .. } => payload_too_large(),
        UrlencodedError::ContentType => AppError::new(
            crate::error::Kind::UnsupportedMediaType,
            "bad_request",
            "expected application/x-www-form-urlencoded",
        )
        .into(),
        other => AppError::bad_request("bad_request", format!("malformed form: {other}")).into(),
    }
}

pub fn json_error(e: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            payload_too_large()
        }
        JsonPayloadError::ContentType => AppError::new(
            crate::error::Kind::UnsupportedMediaType,
            "bad_request",
            "expected application/json",
        )
        .into(),
        other => AppError::bad_request("bad_request", format!("malformed JSON: {other}")).into(),
    }
}

pub fn query_error(e: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("bad_request", format!("malformed query: {e}")).into()
}

pub fn path_error(e: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("bad_request", format!("malformed path: {e}")).into()
}

fn payload_too_large() -> actix_web::Error {
    AppError::new(
        crate::error::Kind::PayloadTooLarge,
        "payload_too_large",
        "the request body is too large",
    )
    .into()
}
