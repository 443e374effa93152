//! The contract between the service (`crate::service`, `jitdesk serve`) and its clients
//! (`crate::client`, the CLI and the dashboard): what goes on the wire (`wire`), where it goes
//! (`paths`), how much and how long each side allows (`limits`), and whom a client may talk to
//! (`trust`). Both sides import this module and neither imports the other, so they cannot drift
//! apart; docs/api.md describes the same contract for people, and tests/api_doc.rs checks that it
//! states these very numbers and names.

pub mod limits;
pub mod paths;
pub mod trust;
pub mod wire;
