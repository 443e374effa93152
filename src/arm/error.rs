//! ARM's error body, `{error: {code, message}}`, and the codes the ARM routes answer with.

use serde::{Deserialize, Serialize};

/// An ARM error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub error: FailureDetail,
}

/// ARM's `error` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    /// One of `code`'s constants.
    pub code: String,
    /// One line saying what is wrong and what to do.
    pub message: String,
}

/// The codes, in ARM's spelling.
pub mod code {
    /// No `api-version` in the query.
    pub const MISSING_API_VERSION: &str = "MissingApiVersionParameter";
    /// An `api-version` other than the one spoken.
    pub const INVALID_API_VERSION: &str = "InvalidApiVersionParameter";
    /// A malformed body or query, or input the rules refuse.
    pub const INVALID: &str = "InvalidRequestContent";
    /// Nothing there, or nothing the caller may see.
    pub const NOT_FOUND: &str = "ResourceNotFound";
    /// Not allowed.
    pub const FORBIDDEN: &str = "AuthorizationFailed";
    /// The resource's state, or another resource at its name, forbids the change.
    pub const CONFLICT: &str = "Conflict";
    /// A limit on the caller was reached.
    pub const TOO_MANY: &str = "TooManyRequests";
    /// The service cannot answer now.
    pub const UNAVAILABLE: &str = "ServiceUnavailable";
}
