//! Why a call the dashboard made did not go through: the engine's answer (in this process or in
//! the service) or the trouble reaching it, kept typed until a form or a toast shows it; or the
//! dashboard's own reason for not sending it.

use std::fmt;

use crate::client;

/// Why a call did not go through; its `Display` is the one line a form or a toast shows.
#[derive(Debug)]
pub enum Refusal {
    /// The engine refused, or could not be reached.
    Refused(client::Error),
    /// Not sent: the form was out of date, or nothing can change while the service is away.
    NotSent(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Refused(e) => e.fmt(f),
            Refusal::NotSent(why) => f.write_str(why),
        }
    }
}

impl From<client::Error> for Refusal {
    fn from(e: client::Error) -> Self {
        Refusal::Refused(e)
    }
}

impl From<crate::engine::Error> for Refusal {
    fn from(e: crate::engine::Error) -> Self {
        Refusal::Refused(e.into())
    }
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal::NotSent(why)
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Refusal::NotSent(why.to_string())
    }
}
