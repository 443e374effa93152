//! JSON answers. axum's own `Json` writes with serde_json's defaults; this one writes through
//! `crate::json_writer`, so text from other people reaches the caller with the same escapes as
//! the CLI's `--json`.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A value answered as `application/json`.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match crate::json_writer::to_string(&self.0) {
            Ok(text) => {
                ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], text).into_response()
            }
            Err(e) => {
                tracing::error!("cannot write an answer as JSON: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "cannot write the answer as JSON").into_response()
            }
        }
    }
}
