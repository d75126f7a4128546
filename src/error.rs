//! One application error: a [`Kind`] (what went wrong, not how HTTP says it), a
//! stable code and a detail. The web layer maps kinds to statuses in one place
//! (`crate::http::errors`) and renders `application/problem+json` (RFC 9457); the
//! `html_errors` middleware re-renders it as a localised HTML page for browser
//! requests. Protocol modules (OAuth, SAML) render their own wire errors.

use serde::Serialize;

/// What kind of failure: the web layer gives each its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed or names something invalid.
    BadRequest,
    /// The request body is not in a format the operation takes.
    UnsupportedMediaType,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// Who is asking is not known (no or bad credentials).
    Unauthorized,
    /// Known, but not allowed.
    Forbidden,
    NotFound,
    /// Existed, but is no more (revoked, expired).
    Gone,
    /// Conflicts with the current state (e.g. already in use).
    Conflict,
    /// Well-formed but not acceptable (validation).
    Unprocessable,
    /// Rate-limited; see [`AppError::retry_after`].
    TooManyRequests,
    /// The client did not send its request in time.
    RequestTimeout,
    /// A dependency (the database, the keys) is not available.
    Unavailable,
    /// An unexpected failure.
    Internal,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct AppError {
    pub kind: Kind,
    /// Stable machine-readable code, e.g. `csrf_failed`; also the i18n key of its page.
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate` challenge (401 from the admin API).
    pub www_authenticate: Option<String>,
}

impl AppError {
    pub fn new(kind: Kind, code: &'static str, detail: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, "unauthorized", detail)
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Unprocessable, code, detail)
    }

    pub fn too_many(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            Kind::TooManyRequests,
            "rate_limited",
            "too many requests; try again later",
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, "unavailable", detail)
    }

    /// An unexpected failure: logged in full, shown without internals.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(Kind::Internal, "internal", "an unexpected error occurred")
    }

    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.fields.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({}): {}", self.kind, self.code, self.detail)
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => AppError::not_found("no such resource"),
            crate::store::StoreError::Conflict(field) => {
                AppError::conflict("conflict", format!("{field} is already in use"))
                    .with_field(field, "already in use")
            }
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                let mut a =
                    AppError::unavailable("the database is not reachable; try again shortly");
                a.retry_after = Some(crate::store::RETRY_AFTER_SECS);
                a
            }
            other => AppError::internal(other),
        }
    }
}

impl From<crate::keys::KeyError> for AppError {
    fn from(e: crate::keys::KeyError) -> Self {
        AppError::internal(e)
    }
}

pub type AppResult<T> = Result<T, AppError>;
