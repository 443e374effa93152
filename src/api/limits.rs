//! How much and how long: every limit and timeout of the API, which the service enforces and its
//! clients plan around (a client's deadline follows the service's). docs/api.md states each of
//! them; tests/api_doc.rs keeps the two the same.

use std::time::Duration;

// How many items a list answer gives unless asked (`DEFAULT_LIMIT`) and at most (`MAX_LIMIT`):
// rules of every door, the CLI on a local store included, so they live with the lists themselves.
pub use crate::domain::list::{DEFAULT_LIMIT, MAX_LIMIT};

/// The largest request body read.
pub const MAX_BODY: usize = 64 * 1024;
/// The largest request head (request line and headers).
pub const MAX_HEADERS: usize = 64 * 1024;
/// How long a client may take to send a request's body, read before the request waits for a turn.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send a request's headers; also how long an idle connection stays.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a request may take, waiting for its turn included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most making a backup (`GET /v1/backup`) may take: a copy of the whole store, which grows
/// with it. Sending the copy afterwards has no limit but the client's pace.
pub const BACKUP_TIMEOUT: Duration = Duration::from_secs(600);
/// How many requests are handled at once; more wait for a turn (within their deadline).
pub const MAX_IN_FLIGHT: usize = 64;
/// How many connections are open at once; more are closed at once. Lower when the process may open
/// fewer files (`RESERVED_FILES` kept aside): the limit is raised to its hard maximum at start.
pub const MAX_CONNECTIONS: usize = 1024;
/// Descriptors kept aside from connections: the store, the log, the listener, the runtime's own.
pub const RESERVED_FILES: usize = 64;
/// How many connections one uid may have open at once; more are closed at once.
pub const MAX_CONNECTIONS_PER_UID: usize = 64;
/// How many connections one address may have open at once on the HTTPS door; more are closed at once.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// How long a client of the HTTPS door may take to finish its TLS handshake; then it is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many event streams one uid may have open at once; more are refused with 429.
pub const MAX_STREAMS_PER_UID: usize = 16;
/// How many refusals of one uid are logged in each `REFUSAL_INTERVAL`; the rest are summed up in
/// one line when the interval is over (or the service stops).
pub const REFUSAL_LINES: u32 = 5;
/// The window `REFUSAL_LINES` counts in, per uid.
pub const REFUSAL_INTERVAL: Duration = Duration::from_secs(60);
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often an event stream says something (a comment) when nothing happens.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a client lets an event stream be silent before it takes the service for gone: two
/// keep-alives missed, and a margin.
pub const STREAM_SILENCE: Duration = Duration::from_secs(2 * KEEP_ALIVE.as_secs() + 5);
/// How long a client lets the service take to say whether it serves the client's store (and to
/// accept the connection): a service whose queue of connections is full is as silent as a stopped
/// one, and is reported alike.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a command waits for a service that holds its store to answer, or to let go of it (one
/// that is starting or stopping), before it says the store is in use.
pub const SERVICE_WAIT: Duration = Duration::from_secs(3);
/// How many SSH sessions (a command or a dashboard) one user may have open at once; more are told
/// so and end at once.
pub const MAX_SSH_SESSIONS_PER_USER: usize = 8;
/// How many SSH sessions may be open at once, all users together.
pub const MAX_SSH_SESSIONS: usize = 256;
/// How many SSH connections one address may have open at once, before and after authentication;
/// more are closed at once.
pub const MAX_SSH_CONNECTIONS_PER_ADDR: usize = 16;
/// How long a command run over SSH may go without output before it is stopped.
pub const SSH_COMMAND_IDLE: Duration = Duration::from_secs(60);
/// The most an SSH session buffers of a command's output (stdout and stderr together); when the
/// client reads no further, the command is read no further either.
pub const SSH_SESSION_BUFFER: usize = 64 * 1024;
/// How many failed authentications an address may have in `SSH_FAILURE_WINDOW`; past that it is
/// refused at once for `SSH_BLOCKED_FOR`.
pub const SSH_FAILURES: u32 = 10;
/// The window `SSH_FAILURES` counts in, per address.
pub const SSH_FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long an address that failed too often is refused at once.
pub const SSH_BLOCKED_FOR: Duration = Duration::from_secs(300);
