//! The engine's error: a rule refused, the store failed, or the engine has stopped. Each door turns
//! it into its own words (the CLI's exit codes, the service's statuses, the dashboard's footer), so
//! nothing here names a transport or a terminal.

use crate::domain::{ErrorKind, RuleError};
pub use crate::store::Error as StoreError;

/// Why a command or query of the engine did not give its answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A rule refused; nothing was written. Its kind says which door status or exit code it gets.
    #[error("{0}")]
    Rule(RuleError),
    /// The store failed; what was asked may not have happened.
    #[error(transparent)]
    Storage(StoreError),
    /// The store thread is gone (closed, or stopped by itself without a fault to tell).
    #[error("the engine has stopped")]
    Stopped,
    /// The delivery worker cannot start as asked (no runtime to run on, one already running, or an
    /// engine that only answers queries); nothing was started.
    #[error("{0}")]
    Worker(&'static str),
}

impl Error {
    /// The rule's kind when a rule refused; None for store trouble.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Rule(rule) => Some(rule.kind),
            _ => None,
        }
    }

    /// Whether the store is damaged, after which writing more could only spread the damage.
    pub fn is_damage(&self) -> bool {
        matches!(self, Error::Storage(StoreError::Damaged(_)))
    }
}

impl From<RuleError> for Error {
    fn from(e: RuleError) -> Self {
        Error::Rule(e)
    }
}

impl From<StoreError> for Error {
    /// A refusal the store met while reading is the rules', not the store's.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(rule) => Error::Rule(rule),
            other => Error::Storage(other),
        }
    }
}

/// The engine's answers: a value, or why not.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_met_in_the_store_is_a_rule() {
        let lifted = Error::from(StoreError::Rule(RuleError::not_found("no request 7")));
        assert_eq!(lifted.kind(), Some(ErrorKind::NotFound));
        assert_eq!(lifted.to_string(), "no request 7");
        let full = Error::from(StoreError::DiskFull);
        assert!(matches!(full, Error::Storage(StoreError::DiskFull)), "{full:?}");
        assert_eq!(full.kind(), None);
    }
}
