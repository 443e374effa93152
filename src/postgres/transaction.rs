//! One transaction on one pooled connection (`On`), the engine's reads and writes go through it
//! (`reads.rs`, `writes.rs`). Two things keep its round trips few, since each is a wait on the
//! store thread, and writers on every replica take turns:
//!
//! - Statements whose answers nobody needs (the transaction's start, its lock, every write) are
//!   not waited for: they go out with the next statement that is, and its answer comes after
//!   theirs, so a read sees every write before it, and the first failure among them is the one
//!   reported; one that fails before it goes stops everything after it, the commit included.
//!   The commit goes out with the last of them.
//! - A write transaction keeps the directory records it reads (`Kept`) for the next one, as long
//!   as nobody changed the directory in between: every change to it, by whoever makes it, counts
//!   up one number in the database (`DIRECTORY_VERSION`, counted by triggers: schema.rs), which
//!   each write transaction reads after taking the lock.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::connect::{Conn, Driver};
use super::errors;
use crate::engine::{Error, Result, StoreError};

/// Owned arguments for `On::later`, which keeps them until they are sent.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        vec![$(Box::new($arg) as Box<dyn tokio_postgres::types::ToSql + Sync>),*]
    };
}
pub(super) use args;

/// The `jitdesk_meta` key of the number every change to the directory counts up.
pub(super) const DIRECTORY_VERSION: &str = "directory_version";

/// The tables whose records a write transaction keeps for the next: the directory's, which
/// changes seldom and which every command reads.
pub(super) const KEPT_TABLES: &[&str] =
    &["tenants", "users", "offers", "apps", "groups", "group_members", "channels", "contacts"];

/// The most answers kept: enough for every user and application a busy replica sees, bounded so
/// that a directory of any size cannot grow it without end.
const MAX_KEPT: usize = 10_000;

/// The directory's answers kept between write transactions, as of one `DIRECTORY_VERSION`.
#[derive(Default)]
pub(super) struct Kept {
    /// The directory version they were read at.
    version: Option<i64>,
    /// The rows of each query, by its text and arguments.
    answers: HashMap<String, Arc<[Row]>>,
}

/// The answer to come of a statement sent without waiting.
type Answer<'a> = Pin<Box<dyn Future<Output = std::result::Result<(), tokio_postgres::Error>> + 'a>>;

/// A statement sent without waiting for its answer.
enum Later {
    /// Text with no arguments (the transaction's start, its end).
    Simple(&'static str),
    Execute(Statement, Vec<Box<dyn ToSql + Sync>>),
}

/// One transaction, seen through the engine's traits (`reads.rs`, `writes.rs`). It takes turns
/// on the one connection, hence the cells.
pub(super) struct On<'a> {
    client: &'a Client,
    driver: RefCell<&'a mut Driver>,
    /// The connection's prepared statements, by their text.
    statements: RefCell<&'a mut HashMap<String, Statement>>,
    /// Sent, unanswered, in order: they go out with the next statement waited for.
    later: RefCell<Vec<Later>>,
    /// Whether the transaction has begun and not yet ended: one dropped half way is rolled back.
    open: Cell<bool>,
    /// The directory's answers, while they hold: in a write transaction that has not changed
    /// the directory.
    kept: RefCell<Option<Kept>>,
    /// The first and last audit ids appended in this transaction, for the commit's notification.
    appended: Cell<Option<(u64, u64)>>,
    /// The next request id, once asked for: writers take turns, so it counts on from there.
    next_request: Cell<Option<u64>>,
}

impl<'a> On<'a> {
    /// A transaction that `begin` (START TRANSACTION ...) starts; it goes out with the first
    /// statement waited for.
    pub(super) fn begin(conn: &'a mut Conn, begin: &'static str) -> On<'a> {
        let Conn { client, driver, statements } = conn;
        On {
            client,
            driver: RefCell::new(driver),
            statements: RefCell::new(statements),
            later: RefCell::new(vec![Later::Simple(begin)]),
            open: Cell::new(true),
            kept: RefCell::new(None),
            appended: Cell::new(None),
            next_request: Cell::new(None),
        }
    }

    /// Commits, with whatever is still to send; the first failure among them if any, in which
    /// case nothing of the transaction is kept (PostgreSQL ends a failed transaction's COMMIT as
    /// a rollback).
    pub(super) fn commit(self) -> Result<()> {
        self.later.borrow_mut().push(Later::Simple("COMMIT"));
        // Left open on a failure, so that dropping it rolls back whatever did not go.
        self.send(std::future::ready(Ok(())))?;
        self.open.set(false);
        Ok(())
    }

    /// Keeps the directory's answers in this transaction from now on, when `kept` was read at
    /// the version the database holds now (else starts afresh at it).
    pub(super) fn keep(&self, mut kept: Kept) -> Result<()> {
        let sql = "SELECT value FROM jitdesk_meta WHERE key = $1";
        let version: Option<i64> = self.rows(sql, &[&DIRECTORY_VERSION])?.first().map(|row| row.get(0));
        // Without the number (a database changed by hand), nothing can tell that they still hold.
        if version.is_some() {
            if kept.version != version {
                kept = Kept { version, answers: HashMap::new() };
            }
            *self.kept.borrow_mut() = Some(kept);
        }
        Ok(())
    }

    /// The directory's answers to keep for the next write transaction, if they still hold.
    pub(super) fn kept(&self) -> Option<Kept> {
        self.kept.borrow_mut().take()
    }

    /// Notes a change to the directory: its answers kept so far are forgotten and none are kept
    /// for the rest of this transaction. (The database's triggers count the version up.)
    pub(super) fn directory_changed(&self) {
        self.kept.borrow_mut().take();
    }

    /// The first and last audit ids appended, if any.
    pub(super) fn appended(&self) -> Option<(u64, u64)> {
        self.appended.get()
    }

    /// Notes an appended audit id.
    pub(super) fn note_appended(&self, id: u64) {
        let span = self.appended.get().map_or((id, id), |(first, last)| (first.min(id), last.max(id)));
        self.appended.set(Some(span));
    }

    /// The next request id as last asked or counted on, if any.
    pub(super) fn next_request(&self) -> &Cell<Option<u64>> {
        &self.next_request
    }

    /// The statement of `sql`, prepared on this connection the first time it is asked for.
    pub(super) fn prepared(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.send(self.client.prepare(sql))?;
        self.statements.borrow_mut().insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Runs a query, with the database's refusal as the store's error.
    pub(super) fn rows(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.prepared(sql)?;
        self.send(self.client.query(&statement, args))
    }

    /// A query on the directory (`KEPT_TABLES`): its answer kept earlier while it holds.
    pub(super) fn kept_rows(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Arc<[Row]>> {
        if self.kept.borrow().is_none() {
            return Ok(Arc::from(self.rows(sql, args)?));
        }
        // Arguments show as their values (`ToSql` is `Debug`): the key tells one query's
        // answers from another's.
        let key = format!("{sql}\u{0}{args:?}");
        if let Some(rows) = self.kept.borrow().as_ref().and_then(|k| k.answers.get(&key)) {
            return Ok(rows.clone());
        }
        let rows: Arc<[Row]> = Arc::from(self.rows(sql, args)?);
        if let Some(kept) = self.kept.borrow_mut().as_mut()
            && kept.answers.len() < MAX_KEPT
        {
            kept.answers.insert(key, rows.clone());
        }
        Ok(rows)
    }

    /// Runs a statement that returns no rows, waiting for how many it changed.
    pub(super) fn run(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.prepared(sql)?;
        self.send(self.client.execute(&statement, args))
    }

    /// Sends a statement whose answer nobody needs with the next one that is waited for.
    pub(super) fn later(&self, sql: &str, args: Vec<Box<dyn ToSql + Sync>>) -> Result<()> {
        let statement = self.prepared(sql)?;
        self.later.borrow_mut().push(Later::Execute(statement, args));
        Ok(())
    }

    /// Sends everything waiting to go and then `last`, in that order, in one round trip, and
    /// waits for all their answers: the first failure among them, or what `last` answered.
    fn send<T>(
        &self,
        last: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let later = std::mem::take(&mut *self.later.borrow_mut());
        let client = self.client;
        let args: Vec<Vec<&(dyn ToSql + Sync)>> = later
            .iter()
            .map(|l| match l {
                Later::Simple(_) => Vec::new(),
                Later::Execute(_, args) => args.iter().map(|a| a.as_ref() as _).collect(),
            })
            .collect();
        let mut earlier: Vec<Answer<'_>> = later
            .iter()
            .zip(&args)
            .map(|(l, args)| match l {
                Later::Simple(sql) => Box::pin(client.batch_execute(sql)) as Answer<'_>,
                Later::Execute(statement, _) => {
                    Box::pin(async move { client.execute(statement, args).await.map(drop) })
                }
            })
            .collect();
        let mut answers: Vec<Option<std::result::Result<(), tokio_postgres::Error>>> =
            earlier.iter().map(|_| None).collect();
        let mut last = std::pin::pin!(last);
        let mut out = None;
        // How many are sent: all, unless one fails before it goes (the connection closed, an
        // argument that does not encode), when none after it goes either, the commit included.
        let (mut cut, mut stopped) = (earlier.len(), false);
        let (mut sent, mut next) = (false, 0);
        let all = std::future::poll_fn(|cx| {
            // The first poll of each, in order, is when the client sends it: the server then
            // answers them in that order.
            if !sent {
                for (i, (future, answer)) in earlier.iter_mut().zip(answers.iter_mut()).enumerate() {
                    if let Poll::Ready(a) = future.as_mut().poll(cx) {
                        let failed = a.is_err();
                        *answer = Some(a);
                        if failed {
                            (cut, stopped) = (i + 1, true);
                            break;
                        }
                    }
                }
                if !stopped && let Poll::Ready(a) = last.as_mut().poll(cx) {
                    out = Some(a);
                }
                sent = true;
            }
            // Then only the first still waiting: none after it can be answered before it, and
            // polling them all at every answer would take as long as the answers squared.
            while let Some(future) = earlier[..cut].get_mut(next) {
                if answers[next].is_none() {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(a) => answers[next] = Some(a),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                next += 1;
            }
            if out.is_none() && !stopped {
                match last.as_mut().poll(cx) {
                    Poll::Ready(a) => out = Some(a),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Ready(())
        });
        self.driver.borrow_mut().wait(all);
        let failed = |e: tokio_postgres::Error| {
            // A failure leaves the transaction failed: nothing after it is kept.
            self.kept.borrow_mut().take();
            Error::from(errors::storage(&e))
        };
        for answer in answers.into_iter().flatten() {
            answer.map_err(failed)?;
        }
        match out {
            Some(answer) => answer.map_err(failed),
            // `wait` returns once every answer is in.
            None => Err(StoreError::Storage("the database connection ended without an answer".into()).into()),
        }
    }
}

impl Drop for On<'_> {
    fn drop(&mut self) {
        // A transaction left half way (an error, a refusal of the whole work, a failed commit)
        // is rolled back before its connection goes back to the pool; a connection that cannot
        // be is closed by the pool as it comes back (`has_broken`).
        if self.open.get() {
            self.later.borrow_mut().push(Later::Simple("ROLLBACK"));
            let _ = self.send(std::future::ready(Ok(())));
        }
    }
}
