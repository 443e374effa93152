//! What the CLI and the dashboard can meet on their way to an engine: the engine's own answer
//! (a refused rule, store trouble), or trouble reaching or using a shared service, or a failure on
//! this side before anything was asked. A service's refusals come back as the engine's errors, so
//! the doors word them the same way whether the engine runs here or in the service.

use crate::api::trust::Untrusted;
use crate::domain::{ErrorKind, RuleError};
use crate::engine::{self, StoreError};

/// Why the CLI or the dashboard did not get its answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// What the engine answered, in this process or in the service.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// Trouble using a shared service (`jitdesk serve`): it went away, did not answer in time, or
    /// had trouble with its store. The message is whole and says what to do.
    #[error("{0}")]
    Service(String),
    /// A shared service could not be reached at all, so nothing was sent to it.
    #[error("{0}")]
    Unreachable(String),
    /// A failure on this side, before or beside any engine: a config file that cannot be read, a
    /// call that cannot be put together, a folder or an answer that cannot be written.
    #[error("{0}")]
    Local(String),
}

impl Error {
    /// The rule's kind when a rule refused; None for any other trouble.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Engine(e) => e.kind(),
            _ => None,
        }
    }

    /// The store's trouble, when the engine met some.
    pub fn store(&self) -> Option<&StoreError> {
        match self {
            Error::Engine(engine::Error::Storage(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<RuleError> for Error {
    fn from(e: RuleError) -> Self {
        Error::Engine(e.into())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Engine(e.into())
    }
}

impl From<Untrusted> for Error {
    /// A process the caller may not trust is trouble with the service; a config that cannot be
    /// read is this side's.
    fn from(e: Untrusted) -> Self {
        match e {
            Untrusted::Config(why) => Error::Local(why),
            Untrusted::Refused(why) => Error::Service(why),
        }
    }
}

/// The client side's answers: a value, or why not.
pub type Result<T, E = Error> = std::result::Result<T, E>;
