//! PostgreSQL's failures as the store's errors, sorted by what a caller can do about them: a server
//! out of reach, a login refused, a database missing, a full disk, or trouble inside a transaction.
//! The store's errors name a path; here it is the URL without any password.

use std::path::PathBuf;

use ::postgres::error::SqlState;

use crate::engine::StoreError;

/// A failure to connect or to log in, worded for whoever runs jitdesk.
pub(super) fn connecting(url: &str, e: &::postgres::Error) -> StoreError {
    let path = PathBuf::from(url);
    let detail = match e.code() {
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            format!(
                "the database server refused the login ({}): check the user in the URL and the password in [store] password_file or PGPASSFILE",
                message(e)
            )
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            format!("{}: create the database (`createdb`, or CREATE DATABASE) and try again", message(e))
        }
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => {
            format!("{}: grant the user the rights on the database, or use its owner", message(e))
        }
        Some(_) => message(e),
        None => format!(
            "cannot reach the database server ({}): check that it runs and that the URL's host and port are right",
            message(e)
        ),
    };
    StoreError::Unreadable { path, detail }
}

/// A failure inside an open database.
pub(super) fn storage(e: &::postgres::Error) -> StoreError {
    match e.code() {
        Some(code) if *code == SqlState::DISK_FULL => StoreError::DiskFull,
        Some(code) if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED => {
            StoreError::Damaged(message(e))
        }
        Some(_) => StoreError::Storage(format!("the database refused: {}", message(e))),
        None if e.is_closed() => StoreError::Storage(format!(
            "the connection to the database was lost ({}): check that the server runs",
            message(e)
        )),
        None => StoreError::Storage(format!("the database failed: {}", message(e))),
    }
}

/// The pool gave no connection within its timeout: the server is out of reach, or every
/// connection is busy.
pub(super) fn pool(url: &str, e: &r2d2::Error) -> StoreError {
    StoreError::Storage(format!(
        "no connection to the database {url} ({e}): check that the server runs and takes connections"
    ))
}

/// The server's own words, one line: its message alone for a database error (no SQL state codes
/// or positions), the client's otherwise.
fn message(e: &::postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => with_cause(e),
    };
    crate::domain::text::sanitize(&text).into_owned()
}

/// An error and its cause, which the client's own words leave out ("error connecting to server").
pub(super) fn with_cause(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
