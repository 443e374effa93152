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
//!
//! A remote service may be several replicas (`Remote`): a call goes to the one that answered last,
//! and to the next in order when no connection to it can be made. A request that was sent and
//! whose answer was lost goes again elsewhere only when it reads (`GET`): a change may have been
//! made, so its caller is told the outcome is unknown instead.

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
pub use remote::{Endpoint, MAX_ENDPOINTS, Remote};
pub(crate) use remote::{client_config, loopback};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
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
/// `<store file>.sock` beside it (the same rule `jitdesk serve` follows).
pub fn socket_for(store: &Path, config: &Config) -> PathBuf {
    if let Some(socket) = std::env::var_os("JITDESK_SOCKET").filter(|s| !s.is_empty()) {
        return PathBuf::from(socket);
    }
    config.socket.clone().unwrap_or_else(|| paths::default_socket(store))
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
    /// A service on another machine, reached over TCP instead of the socket.
    remote: Option<Remote>,
    /// The endpoint of `remote` in use, tried first: the last one a connection was made to.
    at: AtomicUsize,
    store: PathBuf,
    /// Whom a new connection to the socket may reach.
    trust: Option<Trust>,
    /// `--as`: sent with calls that ask for the caller's own view.
    as_user: Option<String>,
    idle: Mutex<Vec<Kept>>,
}

/// A connection kept for the next call: to which endpoint, and since when.
struct Kept {
    sender: SendRequest<Full<Bytes>>,
    at: usize,
    since: Instant,
}

/// Why an exchange brought no answer.
enum Missed {
    /// Nothing was sent, or the error says all there is.
    Error(Error),
    /// The request went out on a connection to endpoint `at`, and its answer was lost.
    Lost(usize, hyper::Error),
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
                remote: None,
                at: AtomicUsize::new(0),
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
                remote: Some(remote),
                at: AtomicUsize::new(0),
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
        let ours =
            health.service == "jitdesk" && (named || same_file(&self.inner.store, Path::new(&health.store)));
        if !ours {
            // The store path is the service's text: shown, never raw, in the log.
            tracing::info!(
                "the service on {} serves {}, not {}",
                self.place(),
                crate::domain::text::shown(&health.store),
                self.inner.store.display()
            );
        }
        Ok(ours)
    }

    async fn health(&self) -> Result<wire::Health> {
        let (mut sender, at) = self.connect().await?;
        let request = self.request(at, Method::GET, paths::HEALTH, None, None)?;
        // Closed unanswered: a service on its way out, which was asked nothing that changes things.
        let response = sender.send_request(request).await.map_err(|e| {
            Error::Unreachable(format!(
                "the jitdesk service on {} closed the connection unanswered ({e})",
                self.place_of(at)
            ))
        })?;
        let answer = match self.finish(response, sender, at).await {
            Ok(answer) => answer,
            Err(missed) => return Err(self.missed(missed, &Method::GET)),
        };
        self.read(answer)
    }

    /// Where this client talks to the service, for messages: its socket, or the URL of the
    /// endpoint in use.
    pub fn place(&self) -> String {
        self.place_of(self.inner.at.load(Ordering::Relaxed))
    }

    /// Where endpoint `at` is: the remote service's URL, or the socket.
    fn place_of(&self, at: usize) -> String {
        match &self.inner.remote {
            Some(remote) => remote.endpoint(at).shown.clone(),
            None => self.inner.socket.display().to_string(),
        }
    }

    /// How many endpoints there are to try: the remote service's, or the socket alone.
    fn endpoints(&self) -> usize {
        self.inner.remote.as_ref().map_or(1, |remote| remote.endpoints().len())
    }

    /// From now on endpoint `at` is tried first; kept connections to another are let go, so the
    /// next call goes where this one did.
    fn settle(&self, at: usize) {
        let before = self.inner.at.swap(at, Ordering::Relaxed);
        if before != at {
            tracing::info!("now using the jitdesk service at {}", self.place_of(at));
            self.inner.idle.lock().unwrap_or_else(|p| p.into_inner()).retain(|kept| kept.at == at);
        }
    }

    /// Endpoint `at` failed: the next one is tried first from now on, unless another call has
    /// moved on already.
    fn pass(&self, at: usize) {
        let next = (at + 1) % self.endpoints();
        if self.inner.at.compare_exchange(at, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.inner.idle.lock().unwrap_or_else(|p| p.into_inner()).retain(|kept| kept.at != at);
        }
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
                    self.place()
                ))
            });
        }
        Err(failure(&self.place(), answer.status, &answer.body))
    }

    /// One call, its answer read whole, within `CALL_TIMEOUT` for each endpoint it goes to. A
    /// read whose answer was lost goes to the next endpoint; a change is never sent twice.
    async fn call(
        &self,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let tries = if method == Method::GET { self.endpoints() } else { 1 };
        let make = |at| self.request(at, method.clone(), path, as_user, body.clone());
        let mut tried = 0;
        loop {
            tried += 1;
            match tokio::time::timeout(CALL_TIMEOUT, self.exchange(&make)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(Missed::Lost(at, e))) if tried < tries => {
                    tracing::info!("{} lost the answer to a read ({e}); asking the next", self.place_of(at));
                    self.pass(at);
                }
                Ok(Err(missed)) => return Err(self.missed(missed, &method)),
                // A replica that takes a read and never answers it is passed over too: the one in
                // use, which a connection is made to before anything is sent.
                Err(_) if tried < tries => {
                    let at = self.inner.at.load(Ordering::Relaxed);
                    tracing::info!("{} did not answer a read in time; asking the next", self.place_of(at));
                    self.pass(at);
                }
                Err(_) => return Err(self.no_answer(CALL_TIMEOUT, &method)),
            }
        }
    }

    /// Sends the request `make` makes for an endpoint on a kept connection, else on a new one.
    async fn exchange(
        &self,
        make: &(dyn Fn(usize) -> Result<Request<Full<Bytes>>> + Sync),
    ) -> std::result::Result<Answer, Missed> {
        // A kept connection the service has closed meanwhile hands the request back unsent, and it
        // goes out on the next one (a new one at the end).
        while let Some(Kept { mut sender, at, .. }) = self.kept() {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(make(at).map_err(Missed::Error)?).await {
                Ok(response) => return self.finish(response, sender, at).await,
                Err(mut e) => {
                    if e.take_message().is_none() {
                        return Err(Missed::Lost(at, e.into_error()));
                    }
                }
            }
        }
        // A service that takes the connection and closes it before the request goes out (one on
        // its way down) was sent nothing: the next endpoint is asked.
        let mut unsent = None;
        for _ in 0..self.endpoints() {
            let (mut sender, at) = self.connect().await.map_err(Missed::Error)?;
            match sender.try_send_request(make(at).map_err(Missed::Error)?).await {
                Ok(response) => return self.finish(response, sender, at).await,
                Err(mut e) => {
                    if e.take_message().is_none() {
                        return Err(Missed::Lost(at, e.into_error()));
                    }
                    unsent = Some((at, e.into_error()));
                    self.pass(at);
                }
            }
        }
        let (at, e) = unsent.map_or_else(|| (0, String::new()), |(at, e)| (at, format!(" ({e})")));
        Err(Missed::Error(Error::Unreachable(format!(
            "the jitdesk service on {} closed the connection before the request was sent{e}; nothing was changed: try again",
            self.place_of(at)
        ))))
    }

    /// Reads the whole answer, and keeps the connection for the next call.
    async fn finish(
        &self,
        response: Response<Incoming>,
        sender: SendRequest<Full<Bytes>>,
        at: usize,
    ) -> std::result::Result<Answer, Missed> {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| Missed::Lost(at, e))?.to_bytes();
        self.keep(sender, at);
        Ok(Answer { status: parts.status, headers: parts.headers, body })
    }

    fn kept(&self) -> Option<Kept> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(kept) = idle.pop() {
            if kept.since.elapsed() < REUSE_WITHIN && !kept.sender.is_closed() {
                return Some(kept);
            }
        }
        None
    }

    fn keep(&self, sender: SendRequest<Full<Bytes>>, at: usize) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|kept| kept.since.elapsed() < REUSE_WITHIN && !kept.sender.is_closed());
        if idle.len() < KEEP {
            idle.push(Kept { sender, at, since: Instant::now() });
        }
    }

    /// A request to endpoint `at`, with whom it is from when the service is remote: its host and
    /// the bearer token.
    fn request(
        &self,
        at: usize,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Request<Full<Bytes>>> {
        let mut request = request(method, path, as_user, body)?;
        if let Some(remote) = &self.inner.remote {
            let headers = request.headers_mut();
            if let Ok(host) = HeaderValue::from_str(remote.endpoint(at).authority()) {
                headers.insert(HOST, host);
            }
            if let Some(token) = &remote.token {
                headers.insert(AUTHORIZATION, token.clone());
            }
        }
        Ok(request)
    }

    /// A new connection, its driver running as a task of its own, and the endpoint it reached.
    async fn connect(&self) -> Result<(SendRequest<Full<Bytes>>, usize)> {
        match &self.inner.remote {
            Some(remote) => self.connect_remote(remote).await,
            None => Ok((self.connect_socket().await?, 0)),
        }
    }

    /// A connection to the endpoint in use, else to the next in order that takes one; it is the
    /// one in use from then on. None does: one line naming each and why.
    async fn connect_remote(&self, remote: &Remote) -> Result<(SendRequest<Full<Bytes>>, usize)> {
        let count = remote.endpoints().len();
        let first = self.inner.at.load(Ordering::Relaxed);
        let mut missed = Vec::new();
        for k in 0..count {
            let at = (first + k) % count;
            let endpoint = remote.endpoint(at);
            let reached = tokio::time::timeout(remote::CONNECT_TIMEOUT, endpoint.connect())
                .await
                .unwrap_or(Err(remote::Unreached::Silent));
            match reached {
                Ok(sender) => {
                    self.settle(at);
                    return Ok((sender, at));
                }
                Err(why) if count == 1 => return Err(why.into_error(&endpoint.shown)),
                Err(why) => {
                    tracing::info!("cannot reach the jitdesk service at {} ({why})", endpoint.shown);
                    missed.push(format!("{} ({why})", endpoint.shown));
                }
            }
        }
        Err(Error::Unreachable(format!(
            "no jitdesk service answers at any address of JITDESK_URL: {}; nothing was changed: start one of them (or fix JITDESK_URL, --ca), then try again",
            missed.join(", ")
        )))
    }

    async fn connect_socket(&self) -> Result<SendRequest<Full<Bytes>>> {
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
            Err(_) => return Err(self.no_answer(CONNECT_TIMEOUT, &Method::GET)),
        };
        if let Some(trust) = &self.inner.trust {
            trust.check(socket, &stream)?;
        }
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| self.lost(0, &e, &Method::GET))?;
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
            let (mut sender, at) = self.connect().await?;
            let request = self.request(at, Method::GET, paths::EVENTS, self.as_user(), None)?;
            let lost = |e| self.lost(at, &e, &Method::GET);
            let response = sender.send_request(request).await.map_err(lost)?;
            if !response.status().is_success() {
                let status = response.status();
                let body = response.into_body().collect().await.map_err(lost)?.to_bytes();
                return Err(failure(&self.place_of(at), status, &body));
            }
            let mut stream = events::Sse::new(response.into_body(), sender);
            match stream.message().await {
                Some(m) if m.event == wire::EVENT_READY => Ok(Events::remote(stream)),
                _ => Err(Error::Service(format!(
                    "the jitdesk service on {} did not start the event stream",
                    self.place_of(at)
                ))),
            }
        };
        tokio::time::timeout(CALL_TIMEOUT, subscribe)
            .await
            .map_err(|_| self.no_answer(CALL_TIMEOUT, &Method::GET))?
    }

    /// The answer to a request sent to endpoint `at` was lost. A read changed nothing; a change
    /// may have been made or not, and only looking tells.
    fn lost(&self, at: usize, e: &hyper::Error, method: &Method) -> Error {
        let place = self.place_of(at);
        if *method == Method::GET {
            return Error::Service(format!(
                "the jitdesk service on {place} closed the connection before answering ({e}); nothing was changed: try again"
            ));
        }
        Error::Service(format!(
            "the jitdesk service on {place} went away after the change was sent ({e}): whether it was made is unknown; check with `jitdesk request show` (or the list it changes) before trying again"
        ))
    }

    fn missed(&self, missed: Missed, method: &Method) -> Error {
        match missed {
            Missed::Error(e) => e,
            Missed::Lost(at, e) => self.lost(at, &e, method),
        }
    }

    /// A service that did not say, in time, which store it serves: stopped, or overloaded.
    fn silent(&self) -> Error {
        Error::Service(format!(
            "the jitdesk service on {} did not answer within {} s: it may be stopped or overloaded; nothing was changed: ask its operator to check it, then try again",
            self.place(),
            HEALTH_TIMEOUT.as_secs()
        ))
    }

    /// No answer came within `waited`: a read changed nothing; a change may have been made or not.
    fn no_answer(&self, waited: Duration, method: &Method) -> Error {
        let (place, waited) = (self.place(), waited.as_secs());
        if *method == Method::GET {
            return Error::Service(format!(
                "the jitdesk service on {place} did not answer within {waited} s; nothing was changed: try again"
            ));
        }
        Error::Service(format!(
            "the jitdesk service on {place} did not answer the change within {waited} s: whether it was made is unknown; check with `jitdesk request show` (or the list it changes) before trying again"
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

/// Whether two paths name the same store file (as far as this process can tell).
fn same_file(ours: &Path, theirs: &Path) -> bool {
    match (std::fs::canonicalize(ours), std::fs::canonicalize(theirs)) {
        (Ok(a), Ok(b)) => a == b,
        _ => ours == theirs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Reads one request whole: its head, then as many body bytes as it announces.
    async fn read_request(stream: &mut tokio::net::TcpStream) -> bool {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + length {
                    return true;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A fake service on loopback: each request it reads is counted, then answered with the health
    /// of `store` (and the connection closed), or, without a store, the connection is closed
    /// unanswered. Its URL and its count.
    async fn replica(store: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let heard = Arc::new(AtomicUsize::new(0));
        let count = heard.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if !read_request(&mut stream).await {
                    continue;
                }
                count.fetch_add(1, Ordering::SeqCst);
                if let Some(store) = store {
                    let body = format!(r#"{{"service":"jitdesk","version":"0","store":"{store}"}}"#);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                }
            }
        });
        (url, heard)
    }

    /// A fake service on loopback that reads each request, counts it, and never answers it. Its
    /// URL and its count.
    async fn silent() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let heard = Arc::new(AtomicUsize::new(0));
        let count = heard.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                if read_request(&mut stream).await {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                held.push(stream);
            }
        });
        (url, heard)
    }

    /// The URL of a port nobody listens on (any more).
    async fn dead() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    }

    fn client_of(urls: &[&str]) -> Client {
        Client::remote(Remote::new(urls, None, None, None).unwrap(), None)
    }

    #[tokio::test]
    async fn a_read_moves_past_dead_replicas_and_stays_on_the_one_that_answers() {
        let dead = dead().await;
        let (closer, closer_heard) = replica(None).await;
        let (live, live_heard) = replica(Some("b")).await;
        let client = client_of(&[&dead, &closer, &live]);
        let health: wire::Health = client.get(paths::HEALTH, None).await.expect("the third answers");
        assert_eq!(health.store, "b");
        assert_eq!(client.place(), live);
        // The read reached the second, which closed without answering: it went again, to the third.
        assert_eq!(closer_heard.load(Ordering::SeqCst), 1);
        let health: wire::Health = client.get(paths::HEALTH, None).await.expect("the third again");
        assert_eq!(health.store, "b");
        assert_eq!(closer_heard.load(Ordering::SeqCst), 1, "the one that answered is asked first");
        assert_eq!(live_heard.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_a_replica_never_answers_goes_to_the_next() {
        // The clock is the test's: the call's time runs out as soon as nothing else can happen.
        let (hung, hung_heard) = silent().await;
        let (live, _) = replica(Some("b")).await;
        let client = client_of(&[&hung, &live]);
        let health: wire::Health = client.get(paths::HEALTH, None).await.expect("the second answers");
        assert_eq!(health.store, "b");
        assert_eq!(hung_heard.load(Ordering::SeqCst), 1, "the first was asked, and kept silent");
        assert_eq!(client.place(), live);
        // A change is not sent again: it may have been made.
        let body = serde_json::json!({});
        let client = client_of(&[&hung, &live]);
        let e = client.submit::<_, serde_json::Value>(Method::POST, "/v1/x", None, &body).await.unwrap_err();
        assert!(e.to_string().contains("unknown") && e.to_string().contains("request show"), "{e}");
        assert_eq!(hung_heard.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_change_whose_answer_is_lost_is_never_sent_again() {
        let (closer, closer_heard) = replica(None).await;
        let (live, live_heard) = replica(Some("b")).await;
        let client = client_of(&[&closer, &live]);
        let body = serde_json::json!({"reason": "x"});
        let sent = client.submit::<_, serde_json::Value>(Method::POST, "/v1/requests/1/approve", None, &body);
        let e = sent.await.expect_err("the answer was lost");
        let line = e.to_string();
        assert!(
            line.contains(&closer) && line.contains("unknown") && line.contains("request show"),
            "{line}"
        );
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(closer_heard.load(Ordering::SeqCst), 1);
        assert_eq!(
            live_heard.load(Ordering::SeqCst),
            0,
            "a change that may have been made is not sent again"
        );
    }

    #[tokio::test]
    async fn with_every_replica_down_one_line_names_each() {
        let (a, b) = (dead().await, dead().await);
        let client = client_of(&[&a, &b]);
        let e = client.get::<wire::Health>(paths::HEALTH, None).await.expect_err("nobody answers");
        assert!(matches!(e, Error::Unreachable(_)), "{e:?}");
        let line = e.to_string();
        assert!(line.contains(&a) && line.contains(&b) && line.contains("nothing was changed"), "{line}");
        // A change is refused alike: it was never sent.
        let body = serde_json::json!({});
        let e = client.submit::<_, serde_json::Value>(Method::POST, "/v1/x", None, &body).await.unwrap_err();
        assert!(matches!(e, Error::Unreachable(_)), "{e:?}");
    }
}
