//! The one error type every rule returns. Its kind tells a caller (CLI exit code, HTTP status) what sort
//! of failure it is; its message is a sentence for people: what is wrong and what to do about it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What sort of failure a refusal is; each door maps it to its own signal (an exit code, an HTTP status).
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
    /// A limit on how much one requester may ask for was reached; it lifts by itself later.
    Limited,
}

/// An input a refusal is about, named in the rules' words. A message says what is wrong in
/// words every door can show; each door adds how its people give the input (the CLI: a flag, the
/// dashboard: a key), so no rule speaks one door's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Input {
    /// Who the caller acts as.
    Identity,
    /// The licence of a customer tenant.
    License,
    /// Whether a deployment has JIT access.
    Jit,
    /// How a deployment's JIT requests are decided: by approvers or automatically.
    ApprovalMode,
    /// The longest access a deployment's JIT policy grants in one request.
    MaxDuration,
    /// Who may decide a deployment's JIT requests.
    Approvers,
    /// How long a pending request waits for a decision before it lapses.
    RequestTimeout,
    /// How many extensions a deployment's grants may have beyond its maximum duration.
    MaxExtensions,
    /// How many different approvers must approve a request.
    ApprovalsRequired,
    /// The roles a request asks for.
    Roles,
    /// Where a user's mail goes.
    Email,
    /// The address a mail channel sends from.
    Sender,
    /// How often a user's notices are gathered into one message.
    Digest,
    /// The kinds of notice a user mutes or unmutes.
    Muted,
    /// Where a channel sends: a webhook's or a mail server's URL.
    Location,
    /// The program a channel runs.
    Program,
    /// The arguments a hook's program is given.
    HookArgs,
    /// A channel's secret: a webhook's signing key, a mail server's password.
    Secret,
}

/// A rule's refusal: what sort it is, a sentence for people, and what a door needs to say more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    /// What sort of failure it is, for a door to pick its exit code or status.
    pub kind: ErrorKind,
    /// One sentence for people: what is wrong and what to do about it.
    pub message: String,
    /// For `Limited`: when trying again can succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    /// The inputs the refusal is about, for a door to say how to give them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub about: Vec<Input>,
}

impl RuleError {
    /// Malformed or out-of-range input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, message: message.into(), retry_at: None, about: Vec::new() }
    }
    /// A name or id that does not exist, or that the actor may not see.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::NotFound, message: message.into(), retry_at: None, about: Vec::new() }
    }
    /// The actor may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Forbidden, message: message.into(), retry_at: None, about: Vec::new() }
    }
    /// The thing exists already or is in a state that does not allow this.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, message: message.into(), retry_at: None, about: Vec::new() }
    }
    /// A limit was reached; `retry_at` is when it lifts (the message says so in words too).
    pub fn limited(message: impl Into<String>, retry_at: Option<DateTime<Utc>>) -> Self {
        Self { kind: ErrorKind::Limited, message: message.into(), retry_at, about: Vec::new() }
    }

    /// The same refusal, saying which inputs it is about.
    pub fn about(self, inputs: &[Input]) -> Self {
        Self { about: inputs.to_vec(), ..self }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// What every rule returns.
pub type RuleResult<T> = Result<T, RuleError>;
