//! jitdesk: just-in-time access to managed applications.
//!
//! Layers, inner to outer: `domain` (rules, no I/O) <- `engine` (commands, queries, ticker, events,
//! and the storage interface they use) <- `service` (the engine shared over a Unix socket) and
//! `client` (the engine in this process or a service's, behind one interface) <- `cli` and `tui`.
//! `store` implements the engine's storage interface on redb; the engine names it only to open it.
//! Outer layers use only the API of the layers below. The service and the client share `api`
//! (wire shapes, paths, limits, trust) and never import each other.

#![forbid(unsafe_code)]
// An unwrap outside tests says why it cannot fail, or it is an error the caller handles.
#![warn(clippy::unwrap_used)]

pub mod api;
pub mod arm;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod engine;
pub mod export;
pub mod json;
pub(crate) mod json_writer;
pub(crate) mod logging;
pub mod notify;
pub(crate) mod os_user;
pub mod postgres;
pub(crate) mod private_file;
pub mod sample;
pub(crate) mod service;
pub mod store;
pub mod tui;

pub use engine::{Error, Result};
