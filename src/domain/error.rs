//! The one error type every rule returns. Its kind tells a caller (CLI exit code, HTTP status) what sort
//! of failure it is; its message is a sentence for people: what is wrong and what to do about it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Malformed or out-of-range input.
    Invalid,
    /// A name or id that does not exist.
    NotFound,
    /// The actor may not do this.
    Forbidden,
    /// The thing exists already or is in a state that does not allow this.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub kind: ErrorKind,
    pub message: String,
}

impl RuleError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::NotFound, message: message.into() }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Forbidden, message: message.into() }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, message: message.into() }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

pub type RuleResult<T> = Result<T, RuleError>;
