//! The other side of `jitdesk serve`: the CLI and the dashboard use a service when one runs for
//! their store, and the engine in-process when none does (`Backend`). This is the HTTP part: a small
//! HTTP/1.1 client over the service's Unix socket (the contract is docs/api.md and `crate::api`)
//! that turns the service's answers back into what a local engine would have returned, refusals
//! included, so messages and exit codes are the same either way.
//!
//! Every new connection to a socket is checked before anything is sent on it (`api::trust`); a
//! remote service proves itself with its certificate. Connections are
//! kept for the next call while they are fresh (the service closes idle ones after
//! `api::limits::HEADER_TIMEOUT`); a call that a kept connection could not take goes out on a new one.

mod arm;
mod backend;
mod backup;
mod delivery;
mod error;
mod events;
mod export;
mod groups;
mod remote;
mod tenants;

pub use backend::{Backend, Link, Open, Routed, SERVICE_ONLY_ENV, os_login};
pub use error::{Error, Result};
pub use events::{Change, Events};
pub use remote::Remote;
pub(crate) use remote::{client_config, loopback};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::api::limits::{HEADER_TIMEOUT, HEALTH_TIMEOUT, REQUEST_TIMEOUT};
use crate::api::paths;
use crate::api::trust::Trust;
use crate::api::wire::{self, AS_HEADER};
use crate::config::Config;
use crate::engine::location;

/// How long connecting to the socket may take: as long as the service may take to answer whether
/// it serves our store.
const CONNECT_TIMEOUT: Duration = HEALTH_TIMEOUT;
/// How long one call may take: the service's own deadline and a margin.
const CALL_TIMEOUT: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 5);
/// A kept connection is used again only while it is well inside the service's idle timeout, so
/// the service never closes it under a request.
const REUSE_WITHIN: Duration = Duration::from_secs(HEADER_TIMEOUT.as_secs() / 2);
/// The most connections kept for reuse.
const KEEP: usize = 4;

/// The socket of the service for a store: `JITDESK_SOCKET`, else `socket` in the config file, else
/// `<store file>.sock` beside it, or for a PostgreSQL store one named from its URL in the user's
/// runtime folder (the same rule `jitdesk serve` follows).
pub fn socket_for(store: &Path, config: &Config) -> PathBuf {
    if let Some(socket) = std::env::var_os("JITDESK_SOCKET").filter(|s| !s.is_empty()) {
        return PathBuf::from(socket);
    }
    config.socket.clone().unwrap_or_else(|| match location::database(store) {
        Some(url) => location::local_file(&paths::runtime_dir(), url, ".sock"),
        None => paths::default_socket(store),
    })
}

/// Whether a service might answer on `socket`: there is a socket file. Cheap and without I/O
/// drivers, so one-shot commands only start them when there is something to connect to.
pub fn may_answer(socket: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket())
}

/// Whether a service holds the store's lock, or nobody does (any more): a `jitdesk serve` process,
/// or this very program (a dashboard, which serves its store while it runs, and holds it without
/// answering for a moment as it starts and quits). On Linux, which says who holds a lock; elsewhere
/// nobody is ever named, so this says yes.
pub fn held_by_a_service_or_free(store: &Path) -> bool {
    let Some(pid) = crate::engine::holder_pid(store) else { return true };
    let serve = std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|line| line.split(|b| *b == 0).any(|arg| arg == b"serve"));
    // Another user's process may not be looked at this way; its `serve` shows above.
    let this_program = match (std::fs::read_link(format!("/proc/{pid}/exe")), std::env::current_exe()) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        _ => false,
    };
    serve || this_program
}

/// For a command that found its store in use by a service that does not answer on its socket (one
/// that is starting or stopping): waits, at most `within`, until the service answers for the store
/// or lets go of it; false when neither happens in time, or the store is held by something else.
pub async fn wait_for_service_or_store(store: &Path, socket: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if crate::engine::holder_pid(store).is_none() {
            return true;
        }
        match Client::discover(store, socket, None).await {
            Ok(Some(_)) => return true,
            Ok(None) => {}
            // It will not let us in, will not be trusted, or is silent; trying again says why.
            Err(_) => return true,
        }
        if Instant::now() >= deadline || !held_by_a_service_or_free(store) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service's answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// A client of one service. Cheap to clone; clones share their kept connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    socket: PathBuf,
    /// Where the service is, for messages: the socket's path or the remote service's URL.
    place: String,
    /// A service on another machine, reached over TCP instead of the socket.
    remote: Option<Remote>,
    store: PathBuf,
    /// Whom a new connection to the socket may reach.
    trust: Option<Trust>,
    /// `--as`: sent with calls that ask for the caller's own view.
    as_user: Option<String>,
    idle: Mutex<Vec<(SendRequest<Full<Bytes>>, Instant)>>,
}

impl Client {
    /// A client for the service on `socket`, for `store`, acting as `as_user` (`--as`) where the
    /// caller's own view is asked for. Connects only when called; fails only when the service
    /// account cannot be read from the config.
    pub fn new(store: &Path, socket: &Path, as_user: Option<&str>) -> Result<Client> {
        let as_user = as_user.map(str::trim).filter(|u| !u.is_empty()).map(str::to_lowercase);
        Ok(Client {
            inner: Arc::new(Inner {
                socket: socket.to_path_buf(),
                place: socket.display().to_string(),
                remote: None,
                store: store.to_path_buf(),
                trust: Some(Trust::for_store(store)?),
                as_user,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// A client for the service on another machine, acting as `as_user` (`--as`, which only its
    /// operator may use) where the caller's own view is asked for. Connects only when called.
    pub fn remote(remote: Remote, as_user: Option<&str>) -> Client {
        let as_user = as_user.map(str::trim).filter(|u| !u.is_empty()).map(str::to_lowercase);
        Client {
            inner: Arc::new(Inner {
                socket: PathBuf::new(),
                place: remote.shown.clone(),
                remote: Some(remote),
                store: PathBuf::new(),
                trust: None,
                as_user,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The service for `store` on `socket`, if one answers there and serves that very store. No
    /// socket, nobody listening (a stale socket of a killed service) or another store: None, and
    /// the caller opens the store itself. A socket this user may not connect to, a process on it
    /// that is not to be trusted, or a service that does not answer in time is an error: opening
    /// the store here instead would only hide what is wrong.
    pub async fn discover(store: &Path, socket: &Path, as_user: Option<&str>) -> Result<Option<Client>> {
        if !may_answer(socket) {
            return Ok(None);
        }
        let client = Client::new(store, socket, as_user)?;
        match client.serves_our_store().await {
            Ok(ours) => Ok(ours.then_some(client)),
            Err(Error::Unreachable(e)) => {
                tracing::info!("no service on {}: {e}", socket.display());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Asks `GET /v1/health`, on a new connection, whether the service owns our store.
    pub async fn serves_our_store(&self) -> Result<bool> {
        let asked = tokio::time::timeout(HEALTH_TIMEOUT, self.health());
        let health = asked.await.map_err(|_| self.silent())??;
        // A remote service's store is on its own machine: the URL named it, so it is ours. So is the
        // service of a command a door runs (`SERVICE_ONLY_ENV`): the door named it, and a remote
        // caller's door does not say where the store is.
        let named = self.inner.remote.is_some() || std::env::var_os(backend::SERVICE_ONLY_ENV).is_some();
        let ours = health.service == "jitdesk"
            && (named || location::same(&self.inner.store, Path::new(&health.store)));
        if !ours {
            // The store path is the service's text: shown, never raw, in the log.
            tracing::info!(
                "the service on {} serves {}, not {}",
                self.inner.place,
                crate::domain::text::shown(&health.store),
                self.inner.store.display()
            );
        }
        Ok(ours)
    }

    async fn health(&self) -> Result<wire::Health> {
        let mut sender = self.connect().await?;
        let request = self.request(Method::GET, paths::HEALTH, None, None)?;
        // Closed unanswered: a service on its way out, which was asked nothing that changes things.
        let response = sender.send_request(request).await.map_err(|e| {
            Error::Unreachable(format!(
                "the jitdesk service on {} closed the connection unanswered ({e})",
                self.inner.place
            ))
        })?;
        let answer = self.finish(response, sender).await?;
        self.read(answer)
    }

    /// Where this client talks to the service, for messages: its socket or its URL.
    pub fn place(&self) -> &str {
        &self.inner.place
    }

    /// `--as`, as given (trimmed, lower-cased); None without it.
    pub fn as_user(&self) -> Option<&str> {
        self.inner.as_user.as_deref()
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, as_user: Option<&str>) -> Result<T> {
        let answer = self.call(Method::GET, path, as_user, None).await?;
        self.read(answer)
    }

    /// A GET whose answer also carries a header worth having.
    pub(crate) async fn get_with<T: DeserializeOwned>(
        &self,
        path: &str,
        as_user: Option<&str>,
        header: &str,
    ) -> Result<(T, Option<String>)> {
        let answer = self.call(Method::GET, path, as_user, None).await?;
        let value = answer.headers.get(header).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok((self.read(answer)?, value))
    }

    pub(crate) async fn submit<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: &B,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Local(format!("cannot write JSON: {e}")))?;
        let answer = self.call(method, path, as_user, Some(body)).await?;
        self.read(answer)
    }

    /// The answer's JSON, or the refusal it carries as the error a local engine would have given.
    fn read<T: DeserializeOwned>(&self, answer: Answer) -> Result<T> {
        if answer.status.is_success() {
            return serde_json::from_slice(&answer.body).map_err(|e| {
                Error::Service(format!(
                    "the jitdesk service on {} answered in a way this jitdesk cannot read ({e}): is it another version?",
                    self.inner.place
                ))
            });
        }
        Err(failure(&self.inner.place, answer.status, &answer.body))
    }

    /// One call, its answer read whole, within `CALL_TIMEOUT`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let request = self.request(method, path, as_user, body)?;
        match tokio::time::timeout(CALL_TIMEOUT, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(self.no_answer(CALL_TIMEOUT)),
        }
    }

    async fn exchange(&self, mut request: Request<Full<Bytes>>) -> Result<Answer> {
        // A kept connection the service has closed meanwhile hands the request back unsent, and it
        // goes out on the next one (a new one at the end).
        while let Some(mut sender) = self.kept() {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return self.finish(response, sender).await,
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(self.lost(&e.into_error())),
                },
            }
        }
        let mut sender = self.connect().await?;
        let response = sender.send_request(request).await.map_err(|e| self.lost(&e))?;
        self.finish(response, sender).await
    }

    /// Reads the whole answer, and keeps the connection for the next call.
    async fn finish(&self, response: Response<Incoming>, sender: SendRequest<Full<Bytes>>) -> Result<Answer> {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| self.lost(&e))?.to_bytes();
        self.keep(sender);
        Ok(Answer { status: parts.status, headers: parts.headers, body })
    }

    fn kept(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((sender, since)) = idle.pop() {
            if since.elapsed() < REUSE_WITHIN && !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn keep(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(s, since)| since.elapsed() < REUSE_WITHIN && !s.is_closed());
        if idle.len() < KEEP {
            idle.push((sender, Instant::now()));
        }
    }

    /// A request to the service, with whom it is from when the service is remote: its host and
    /// the bearer token.
    fn request(
        &self,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Request<Full<Bytes>>> {
        let mut request = request(method, path, as_user, body)?;
        if let Some(remote) = &self.inner.remote {
            let headers = request.headers_mut();
            if let Ok(host) = HeaderValue::from_str(remote.authority()) {
                headers.insert(HOST, host);
            }
            if let Some(token) = &remote.token {
                headers.insert(AUTHORIZATION, token.clone());
            }
        }
        Ok(request)
    }

    /// A new connection, its driver running as a task of its own.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        if let Some(remote) = &self.inner.remote {
            return match tokio::time::timeout(CONNECT_TIMEOUT, remote.connect()).await {
                Ok(connected) => connected,
                Err(_) => Err(self.no_answer(CONNECT_TIMEOUT)),
            };
        }
        let socket = &self.inner.socket;
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(socket)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::from(crate::domain::RuleError::forbidden(format!(
                    "a jitdesk service owns this store, and you may not connect to its socket {} ({e}): ask its operator to add you to the socket's group (`jitdesk serve --group`)",
                    socket.display()
                ))));
            }
            Ok(Err(e)) => {
                return Err(Error::Unreachable(format!(
                    "cannot reach the jitdesk service on {}: {e}; nothing was changed: try again",
                    socket.display()
                )));
            }
            Err(_) => return Err(self.no_answer(CONNECT_TIMEOUT)),
        };
        if let Some(trust) = &self.inner.trust {
            trust.check(socket, &stream)?;
        }
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| self.lost(&e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("a connection to the service ended: {e}");
            }
        });
        Ok(sender)
    }

    /// The event stream (`GET /v1/events`), once it is live: whatever is read after this returns
    /// and changes later arrives as an event. On a connection of its own, kept open for the stream.
    pub async fn events(&self) -> Result<Events> {
        let subscribe = async {
            let mut sender = self.connect().await?;
            let request = self.request(Method::GET, paths::EVENTS, self.as_user(), None)?;
            let response = sender.send_request(request).await.map_err(|e| self.lost(&e))?;
            if !response.status().is_success() {
                let status = response.status();
                let body = response.into_body().collect().await.map_err(|e| self.lost(&e))?.to_bytes();
                return Err(failure(&self.inner.place, status, &body));
            }
            let mut stream = events::Sse::new(response.into_body(), sender);
            match stream.message().await {
                Some(m) if m.event == wire::EVENT_READY => Ok(Events::remote(stream)),
                _ => Err(Error::Service(format!(
                    "the jitdesk service on {} did not start the event stream",
                    self.inner.place
                ))),
            }
        };
        tokio::time::timeout(CALL_TIMEOUT, subscribe).await.map_err(|_| self.no_answer(CALL_TIMEOUT))?
    }

    fn lost(&self, e: &hyper::Error) -> Error {
        Error::Service(format!(
            "the jitdesk service on {} closed the connection before answering ({e}); a change may still have been made: look before trying again",
            self.inner.place
        ))
    }

    /// A service that did not say, in time, which store it serves: stopped, or overloaded.
    fn silent(&self) -> Error {
        Error::Service(format!(
            "the jitdesk service on {} did not answer within {} s: it may be stopped or overloaded; nothing was changed: ask its operator to check it, then try again",
            self.inner.place,
            HEALTH_TIMEOUT.as_secs()
        ))
    }

    fn no_answer(&self, waited: Duration) -> Error {
        Error::Service(format!(
            "the jitdesk service on {} did not answer within {} s; a change may still have been made: look before trying again",
            self.inner.place,
            waited.as_secs()
        ))
    }
}

fn request(
    method: Method,
    path: &str,
    as_user: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder().method(method).uri(path).header(HOST, "localhost");
    if let Some(upn) = as_user {
        let value = HeaderValue::from_str(upn).map_err(|_| {
            Error::from(crate::domain::RuleError::invalid(format!(
                "`{}` is not a user name the service can be told: use a plain UPN",
                crate::domain::text::shown(upn)
            )))
        })?;
        builder = builder.header(AS_HEADER, value);
    }
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| Error::Local(format!("cannot make the request {path}: {e}")))
}

/// A refusal as the error a local engine would have returned: the rules' refusals as `Rule`, with
/// their kind and message; the service's own trouble (store, busy, deadline) as `Service`.
fn failure(place: &str, status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<wire::Failure>(body) {
        // Whatever answers on the socket may say anything, and the message reaches a terminal.
        Ok(mut failure) => {
            failure.error.message = crate::domain::text::sanitize(&failure.error.message).into_owned();
            match failure.rule() {
                Some(rule) => Error::from(rule),
                None => Error::Service(failure.error.message),
            }
        }
        Err(_) => {
            Error::Service(format!("the jitdesk service on {place} answered {status} without saying why"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_has_its_socket_in_the_runtime_folder_unless_configured() {
        if std::env::var_os("JITDESK_SOCKET").is_some() {
            return eprintln!("skipped: JITDESK_SOCKET is set, and wins over both");
        }
        let url = Path::new("postgres://jit@db.example.com/jitdesk");
        let socket = socket_for(url, &Config::default());
        assert_eq!(socket.parent(), Some(paths::runtime_dir().as_path()));
        let name = socket.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(name.starts_with("jitdesk-pg-") && name.ends_with(".sock"), "{name}");
        let configured = Config { socket: Some(PathBuf::from("/run/jitdesk/j.sock")), ..Config::default() };
        assert_eq!(socket_for(url, &configured), Path::new("/run/jitdesk/j.sock"));
    }

    #[test]
    fn refusals_come_back_as_the_engines_errors() {
        let socket = "/run/s.sock";
        let body =
            br#"{"error":{"kind":"conflict","message":"cannot approve request 11: it is already Approved"}}"#;
        match failure(socket, StatusCode::CONFLICT, body) {
            Error::Engine(crate::engine::Error::Rule(rule)) => {
                assert_eq!(rule.kind, crate::domain::ErrorKind::Conflict);
                assert_eq!(rule.message, "cannot approve request 11: it is already Approved");
            }
            other => panic!("{other:?}"),
        }
        let busy = br#"{"error":{"kind":"unavailable","message":"the service is too busy"}}"#;
        let e = failure(socket, StatusCode::SERVICE_UNAVAILABLE, busy);
        assert!(matches!(&e, Error::Service(m) if m == "the service is too busy"), "{e:?}");
        assert_eq!(e.kind(), None, "store trouble, not a rule");
        let e = failure(socket, StatusCode::BAD_REQUEST, b"");
        assert!(e.to_string().contains("answered 400 Bad Request"), "{e}");
    }

    #[test]
    fn a_services_message_is_sanitized() {
        let socket = "/run/s.sock";
        let body = "{\"error\":{\"kind\":\"invalid\",\"message\":\"no \\u001b]0;pwned\\u0007 \\u009b2J \u{202e}x\"}}";
        let e = failure(socket, StatusCode::BAD_REQUEST, body.as_bytes());
        assert_eq!(e.to_string(), "no ␛]0;pwned␇ \u{FFFD}2J \u{FFFD}x");
        let busy = "{\"error\":{\"kind\":\"unavailable\",\"message\":\"busy\\u001b[2J\"}}";
        let e = failure(socket, StatusCode::SERVICE_UNAVAILABLE, busy.as_bytes());
        assert_eq!(e.to_string(), "busy␛[2J");
    }

    /// What a test's log lines say, caught for the test's own thread.
    #[derive(Clone, Default)]
    struct Caught(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Caught {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_store_another_service_names_reaches_the_log_shown() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        // Ours, so the service answering for it passes the socket check and is asked.
        let store = dir.path().join("ours.redb");
        std::fs::write(&store, b"").unwrap();
        let socket = dir.path().join("s.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let theirs = r"/elsewhere/\u001b]0;pwned\u0007\u202e\u2028x.redb";
        let body = format!(r#"{{"service":"jitdesk","version":"0","store":"{theirs}"}}"#);
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        });
        let caught = Caught::default();
        let writer = caught.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _log = tracing::subscriber::set_default(subscriber);
        let found = Client::discover(&store, &socket, None).await.expect("asked");
        assert!(found.is_none(), "another store's service is not used");
        let log = String::from_utf8(caught.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("serves /elsewhere/"), "{log}");
        for c in ['\u{1b}', '\u{7}', '\u{202e}', '\u{2028}'] {
            assert!(!log.contains(c), "U+{:04X} raw in the log: {log:?}", u32::from(c));
        }
    }
}
