//! Why a call the dashboard made did not go through: the engine's answer (in this process or in
//! the service) or the trouble reaching it, a rule the dashboard found broken while reading a form,
//! each kept typed until a form or a toast shows it; or the dashboard's own reason for not sending it.

use std::fmt;

use crate::client;
use crate::domain::{Input, RuleError};

/// Why a call did not go through; its `Display` is the one line a form or a toast shows.
#[derive(Debug)]
pub enum Refusal {
    /// The engine refused, or could not be reached.
    Refused(client::Error),
    /// Not sent: a form's value breaks one of the domain's rules, found while reading the form with
    /// the engine's own parsers and checks.
    Invalid(RuleError),
    /// Not sent: the form was out of date, it changes nothing, or nothing can change while the
    /// service is away.
    NotSent(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Refused(e) => e.fmt(f),
            Refusal::Invalid(e) => f.write_str(&in_form(e)),
            Refusal::NotSent(why) => f.write_str(why),
        }
    }
}

/// A refusal of the rules in a form's words: how the inputs it is about are given here.
fn in_form(e: &RuleError) -> String {
    let keys: Vec<&str> = e
        .about
        .iter()
        .filter_map(|input| match input {
            Input::Roles => Some("←/→ to move, Space to toggle"),
            _ => None,
        })
        .collect();
    if keys.is_empty() { e.message.clone() } else { format!("{}: {}", e.message, keys.join("; ")) }
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

impl From<RuleError> for Refusal {
    fn from(e: RuleError) -> Self {
        Refusal::Invalid(e)
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
