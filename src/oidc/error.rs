//! OAuth 2.0 wire errors (RFC 6749 §5.2 JSON) for the token, introspection,
//! revocation and userinfo endpoints.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `WWW-Authenticate` value (client authentication and bearer token failures).
    pub www_authenticate: Option<String>,
    /// `Retry-After` seconds (429 from a rate limit).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// A rate limit refused the request: 429, `temporarily_unavailable` (RFC 6749's
    /// registered code for a server that cannot handle the request now; `slow_down`
    /// means "poll more slowly" to device-flow clients), with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        OAuthError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "temporarily_unavailable",
            description: "too many requests; try again later".into(),
            www_authenticate: None,
            retry_after: Some(retry_after_secs.max(1)),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }

    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }

    /// 401 with a `WWW-Authenticate: Basic` challenge.
    pub fn invalid_client(d: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: d.into(),
            www_authenticate: Some("Basic realm=\"monban\", charset=\"UTF-8\"".into()),
            retry_after: None,
        }
    }

    /// RFC 6750 bearer token error (userinfo).
    pub fn invalid_token(d: impl Into<String>) -> Self {
        let d = d.into();
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            www_authenticate: Some(format!(
                "Bearer realm=\"monban\", error=\"invalid_token\", error_description=\"{}\"",
                d.replace(['"', '\\'], "'")
            )),
            description: d,
            retry_after: None,
        }
    }

    pub fn server_error(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "server error in an OAuth endpoint");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "an unexpected error occurred".into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        b.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(w) = &self.www_authenticate {
            b.insert_header((header::WWW_AUTHENTICATE, w.clone()));
        }
        if let Some(secs) = self.retry_after {
            b.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        b.json(serde_json::json!({ "error": self.error, "error_description": self.description }))
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            return crate::error::AppError::from(e).into();
        }
        OAuthError::server_error(e)
    }
}

impl From<crate::keys::KeyError> for OAuthError {
    fn from(e: crate::keys::KeyError) -> Self {
        OAuthError::server_error(e)
    }
}

impl From<crate::error::AppError> for OAuthError {
    fn from(e: crate::error::AppError) -> Self {
        match e.retry_after {
            Some(secs) if e.kind == crate::error::Kind::TooManyRequests => {
                OAuthError::rate_limited(secs)
            }
            // The database is down (in a step that speaks AppError, e.g. the device
            // grant's audit): RFC 6749's code for a server that cannot answer now.
            Some(secs) if e.kind == crate::error::Kind::Unavailable => OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "the service is temporarily unavailable; try again shortly".into(),
                www_authenticate: None,
                retry_after: Some(secs),
            },
            _ => OAuthError::server_error(e),
        }
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
