//! Refusals as HTTP answers: a status that fits and `{"error": {"kind", "message"}}`.

use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};

use super::reply::Json;
use crate::api::wire::{ErrorKind, Failure, FailureDetail};
use crate::domain::{Input, RuleError};
use crate::engine::Error;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds until trying again can succeed, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// The inputs a refused rule is about.
    pub about: Vec<Input>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { status, kind, message: message.into(), retry_after: None, about: Vec::new() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::Invalid, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, ErrorKind::Forbidden, message)
    }

    /// 401: the caller proved nobody; `WWW-Authenticate: Bearer` says how to.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Unavailable, message)
    }

    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Invalid,
            format!("the request body is larger than {} KiB, the most this service reads", limit / 1024),
        )
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        let status = match e.kind {
            crate::domain::ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            crate::domain::ErrorKind::NotFound => StatusCode::NOT_FOUND,
            crate::domain::ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            crate::domain::ErrorKind::Conflict => StatusCode::CONFLICT,
            crate::domain::ErrorKind::Limited => StatusCode::TOO_MANY_REQUESTS,
        };
        // Whole seconds, rounded up, and at least one: a client that waits that long is not refused again.
        let retry_after = e.retry_at.map(|at| {
            let ms = (at - chrono::Utc::now()).num_milliseconds().max(0) as u64;
            ms.div_ceil(1000).max(1)
        });
        ApiError { retry_after, about: e.about, ..ApiError::new(status, e.kind.into(), e.message) }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Rule(rule) => rule.into(),
            other => {
                tracing::error!("store trouble: {other}");
                ApiError::unavailable(other.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            Failure { error: FailureDetail { kind: self.kind, message: self.message, about: self.about } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, seconds.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
