//! `jitdesk serve`: one process owns the store and its ticker, and everyone else talks to it over
//! HTTP/1.1 on a Unix socket (the contract is docs/api.md and `crate::api`). The socket's
//! permissions are the first gate (owner and group only); the caller's identity comes from the
//! socket's peer credentials (`identity`); the engine's rules are the second gate.
//!
//! No caller holds up another: bodies are capped and must arrive within a time before the request
//! takes a turn, headers must arrive within a time, each request has a deadline, only so many run
//! at once, connections and event streams are capped per uid (per address on the HTTPS door,
//! `https`) and overall (`fairness`), refusals are logged a few lines per uid, and event
//! subscribers read from a bounded buffer and are dropped (told to reload) when they fall behind.

mod arm;
mod backup;
mod bearer;
mod deliveries;
mod error;
mod events;
mod export;
mod extensions;
mod extract;
mod fairness;
mod groups;
pub mod https;
pub mod identity;
mod remote_identity;
mod reply;
mod routes;
mod share;
mod socket;
pub mod ssh;
mod tenants;
mod tls;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State as With};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::api::limits::{
    BACKUP_TIMEOUT, BODY_TIMEOUT, HEADER_TIMEOUT, MAX_BODY, MAX_CONNECTIONS_PER_ADDRESS,
    MAX_CONNECTIONS_PER_UID, MAX_HEADERS, MAX_IN_FLIGHT, REFUSAL_INTERVAL, REFUSAL_LINES, REQUEST_TIMEOUT,
    SHUTDOWN_GRACE,
};
use crate::api::paths;
use crate::api::wire::ErrorKind;
use crate::domain::delivery::Retry;
use crate::domain::text::shown;
use crate::engine::OpenMode;
use crate::engine::outbox::Courier;
use crate::engine::{Engine, SystemClock};
use crate::logging::Throttle;
use error::ApiError;
use fairness::Holder;
use identity::{Operator, Peer};
pub use share::share;

/// Once no request is being handled, how long connections get to send their last answers.
const DRAIN: Duration = Duration::from_millis(500);
/// How long a service whose store thread stopped by itself (a damaged store) keeps answering, 503
/// with why, before it exits non-zero for its supervisor to see.
pub const FAULT_GRACE: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    engine: Engine,
    operator: Operator,
    /// Becomes true when the service stops; event streams end on it.
    stopping: watch::Receiver<bool>,
    turns: Arc<Semaphore>,
    /// Event streams open, per holder.
    streams: fairness::PerHolder,
    /// Refusals logged, per holder.
    refusals: Arc<Throttle<Holder>>,
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::engine::Error),
    #[error("{0}")]
    Socket(String),
    #[error("{0}")]
    Config(String),
}

/// The SSH door, as `serve` is asked for it.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// Where to answer SSH (`--ssh`); None: `ssh` in config.toml, else no SSH.
    pub addr: Option<String>,
    /// The operator's authorized_keys file (`--operator-keys`).
    pub operator_keys: Option<std::path::PathBuf>,
}

/// What the service's outbox sends through, and how it tries again: made by whoever starts the
/// service, which knows the couriers.
pub struct Deliveries(pub Arc<dyn Courier>, pub Retry);

/// Serves the store on the socket, on SSH and on HTTPS when asked, until SIGTERM or SIGINT, then
/// stops cleanly: no new connections, requests in flight finish (for at most `SHUTDOWN_GRACE`),
/// event streams end, the store closes, the socket file goes.
pub async fn serve(
    store: &Path,
    socket_path: &Path,
    group: Option<&str>,
    ssh: SshOptions,
    remote: &https::Settings,
    deliveries: Deliveries,
) -> Result<(), ServeError> {
    crate::logging::to_file();
    let open_files = fairness::raise_open_files();
    // Signals are caught from the start, so a stop during start-up still closes cleanly.
    let stop = stop_signal().map_err(|e| ServeError::Socket(format!("cannot watch for signals: {e}")))?;
    let gid = group.map(socket::group_id).transpose()?;
    let config = crate::config::Config::user().map_err(ServeError::Config)?;
    let limits = config.limits;
    // The store's page cache is what bounds the service's memory under load.
    config.store.apply();
    // Refuse before touching the store: the store would only say "in use".
    socket::check_free(socket_path).await?;
    let https_door = https::open(remote).await?;
    // Clients compare the store path in /v1/health with theirs; an absolute path matches from any folder.
    let store = &std::fs::canonicalize(store).unwrap_or_else(|_| store.to_path_buf());
    // The SSH door is made ready before the store is opened: a key or an address it cannot use
    // changes nothing.
    let ssh_door = match ssh.addr.or_else(|| config.ssh.clone()) {
        None => None,
        Some(addr) => {
            let keys = match &ssh.operator_keys {
                Some(path) => ssh::identities::OperatorKeys::load(path).map_err(ServeError::Config)?,
                None => ssh::identities::OperatorKeys::default(),
            };
            Some(
                ssh::Door::bind(store, &addr, keys)
                    .await
                    .map_err(ServeError::Config)?
                    .with_config(config.clone()),
            )
        }
    };
    let engine = Engine::open(store, OpenMode::Existing, Arc::new(SystemClock)).await?;
    engine.set_limits(limits);
    let started = engine.deliver_with(deliveries.0, deliveries.1);
    let mut socket = match started.map_err(ServeError::Store).and_then(|()| socket::bind(socket_path, gid)) {
        Ok(socket) => socket,
        Err(e) => {
            engine.close().await?;
            return Err(e);
        }
    };
    let mut serving = format!("serving {} on {}", store.display(), socket_path.display());
    if let Some(door) = &https_door {
        serving += &format!(" and {}", door.describe());
    }
    if let Some(door) = &ssh_door {
        serving += &format!(", ssh on {}", door.local_addr());
    }
    println!("{serving}");
    let listener = socket.listener.take().expect("a bound socket has its listener");
    let doors = Doors { https: https_door, ssh: ssh_door };
    let fault = answer(&engine, listener, doors, socket_path, open_files, stop).await;
    let closed = engine.close().await;
    socket.remove();
    closed?;
    if let Some(why) = fault {
        return Err(ServeError::Store(why));
    }
    tracing::info!("stopped; the store is closed");
    Ok(())
}

/// The doors besides the Unix socket that `answer` serves, each when asked for.
struct Doors {
    https: Option<https::Door>,
    ssh: Option<ssh::Door<ssh::identities::OperatorKeys>>,
}

impl Doors {
    /// The socket alone.
    fn none() -> Doors {
        Doors { https: None, ssh: None }
    }
}

/// Answers on `listener` (and on the `doors` there are) for `engine`'s store until `stop`
/// resolves, or the store thread stops by itself (then, after `FAULT_GRACE`, with why); then stops
/// cleanly: no new connections, requests in flight finish (for at most `SHUTDOWN_GRACE`), event
/// streams end. The store stays open: closing it and removing the socket file are the caller's.
async fn answer(
    engine: &Engine,
    listener: tokio::net::UnixListener,
    doors: Doors,
    socket_path: &Path,
    open_files: u64,
    stop: impl Future<Output = ()>,
) -> Option<crate::engine::Error> {
    let (stopping_tx, stopping) = watch::channel(false);
    let operator = Operator::current();
    let turns = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let refusals = Arc::new(Throttle::new(REFUSAL_LINES, REFUSAL_INTERVAL));
    let state = State {
        engine: engine.clone(),
        operator: operator.clone(),
        stopping: stopping.clone(),
        turns: turns.clone(),
        streams: fairness::PerHolder::default(),
        refusals: refusals.clone(),
    };
    let app = routes::router()
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state);
    tracing::info!(
        "serving {} on {} (operator {}, uid {})",
        engine.path().display(),
        socket_path.display(),
        operator.login,
        operator.uid
    );

    if let Some(door) = doors.ssh {
        tracing::info!("answering SSH on {}", door.local_addr());
        let (engine, operator) = (engine.clone(), operator.clone());
        let door = door.with_engine(engine.clone());
        tokio::spawn(ssh::run(door, engine, operator, app.clone(), refusals.clone(), stopping.clone()));
    }
    tokio::spawn(sum_up_refusals(refusals.clone(), stopping));
    let graceful = GracefulShutdown::new();
    let max_connections = fairness::connection_cap(open_files);
    let connections = Arc::new(Semaphore::new(max_connections));
    let per_uid = fairness::PerHolder::default();
    let door = doors.https.map(Arc::new);
    if let Some(door) = &door {
        tracing::info!("serving the API on {}", door.describe());
    }
    tokio::pin!(stop);
    // A store thread that stopped by itself ends the service, after a grace in which callers hear why.
    let watched = engine.clone();
    let faulted = async move {
        let why = watched.stopped().await;
        tracing::error!("the store thread stopped: {why}; stopping in {} s", FAULT_GRACE.as_secs());
        tokio::time::sleep(FAULT_GRACE).await;
        why
    };
    tokio::pin!(faulted);
    let mut fault = None;
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            why = &mut faulted => {
                fault = Some(why);
                break;
            }
            accepted = listener.accept() => accepted,
            accepted = remote_accept(door.as_deref()) => {
                let Some(door) = &door else { continue };
                accept_remote(door, accepted, &connections, &per_uid, &refusals, max_connections, &graceful, &app);
                continue;
            }
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or the like: wait a little instead of spinning.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // The kernel's word, read before anything is read from the connection.
        let holder = match stream.peer_cred() {
            Ok(cred) => Holder::Uid(cred.uid()),
            Err(_) => Holder::Unknown,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            fairness::log_refusal(&refusals, &holder, || {
                format!("{max_connections} connections are open; closed a new one of {holder}")
            });
            continue;
        };
        let held = match holder {
            Holder::Unknown => None,
            _ => per_uid.try_take(&holder, MAX_CONNECTIONS_PER_UID),
        };
        let Some(held) = held else {
            fairness::log_refusal(&refusals, &holder, || match holder {
                Holder::Unknown => "a connection came without peer credentials; closed it".to_string(),
                _ => format!("{holder} has {MAX_CONNECTIONS_PER_UID} connections open; closed a new one"),
            });
            continue;
        };
        let watcher = graceful.watcher();
        let app = app.clone();
        tokio::spawn(async move {
            // Reads the peer's login, off the accepting task: a slow password database holds up
            // only this connection.
            let peer = Peer::Local(identity::Local::of(&stream));
            serve_connection(app, stream, peer, watcher).await;
            drop((permit, held));
        });
    }

    tracing::info!("stopping: no new connections; waiting for requests in flight");
    drop(listener);
    let _ = stopping_tx.send(true);
    // Idle connections close at once, busy ones after their answer. A connection that is still
    // sending a request's headers holds up nobody: once no request is being handled (every turn
    // is back) there is a moment for the last answers to go out, and then the rest are dropped.
    let handled = async {
        let all = turns.acquire_many(MAX_IN_FLIGHT as u32).await;
        tokio::time::sleep(DRAIN).await;
        all
    };
    tokio::select! {
        _ = graceful.shutdown() => {}
        all = handled => {
            // Every turn stays taken for good: a request that was still waiting for one is never
            // started on an engine about to close (its connection just ends, unanswered).
            if let Ok(all) = all {
                all.forget();
            }
            tracing::info!("no request in flight; closed the connections left");
        }
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests were still in flight after {SHUTDOWN_GRACE:?}; closed them");
        }
    }
    for summary in refusals.drain(Instant::now()) {
        tracing::warn!("{summary}");
    }
    fault
}

/// The next connection on the HTTPS door; never, without one.
async fn remote_accept(
    door: Option<&https::Door>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match door {
        Some(door) => door.listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Takes a connection of the HTTPS door: counted against its address and the overall cap before
/// anything is read, then its handshake and its requests on a task of their own.
#[allow(clippy::too_many_arguments)]
fn accept_remote(
    door: &Arc<https::Door>,
    accepted: std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)>,
    connections: &Arc<Semaphore>,
    per_addr: &fairness::PerHolder,
    refusals: &Arc<Throttle<Holder>>,
    max_connections: usize,
    graceful: &GracefulShutdown,
    app: &axum::Router,
) {
    let (stream, addr) = match accepted {
        Ok(accepted) => accepted,
        Err(e) => {
            tracing::warn!("cannot accept a connection on the HTTPS door: {e}");
            return;
        }
    };
    let holder = Holder::Addr(addr.ip());
    let Ok(permit) = connections.clone().try_acquire_owned() else {
        fairness::log_refusal(refusals, &holder, || {
            format!("{max_connections} connections are open; closed a new one of {holder}")
        });
        return;
    };
    let Some(held) = per_addr.try_take(&holder, MAX_CONNECTIONS_PER_ADDRESS) else {
        fairness::log_refusal(refusals, &holder, || {
            format!("{holder} has {MAX_CONNECTIONS_PER_ADDRESS} connections open; closed a new one")
        });
        return;
    };
    let watcher = graceful.watcher();
    let (door, app, refusals) = (door.clone(), app.clone(), refusals.clone());
    tokio::spawn(async move {
        match door.handshake(stream, addr.ip()).await {
            Ok((peer, stream)) => serve_connection(app, stream, peer, watcher).await,
            // The library's words about what the caller sent: shown, never raw.
            Err(why) => {
                fairness::log_refusal(&refusals, &holder, || format!("{holder}: {}; closed", shown(&why)))
            }
        }
        drop((permit, held));
    });
}

/// Serves HTTP/1.1 on one connection of any door until it ends or the service stops, as `peer`:
/// whoever the door found at the other end, which `identity` turns into a caller on every request.
async fn serve_connection<I>(app: axum::Router, io: I, peer: Peer, watcher: Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = app.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer.clone()));
        request
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEADERS)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!("connection ended: {e}");
    }
}

/// Resolves on the first SIGTERM or SIGINT.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    })
}

/// Runs around every request: refuses oversized bodies by their declared length, reads the body,
/// waits for a turn, enforces the deadline, and logs.
async fn guard(With(st): With<State>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let holder = request.extensions().get::<ConnectInfo<Peer>>().map_or(Holder::Unknown, |c| c.0.holder());
    let response = match admit(&st, request, next).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    };
    let status = response.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // Refusals are worth a look (who tried what), a few per caller; successes are in the audit log
    // already. The path is the caller's text: shown, never raw.
    let line = || format!("{method} {} {holder} -> {status} in {ms:.1} ms", shown(&path));
    if status.is_client_error() || status.is_server_error() {
        fairness::log_refusal(&st.refusals, &holder, line);
    } else {
        tracing::debug!("{}", line());
    }
    response
}

async fn admit(st: &State, request: Request, next: Next) -> Result<Response, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(ApiError::too_large(MAX_BODY));
    }
    // The body is read before the request waits for a turn: a client that sends it slowly holds
    // its own connection, not one of the turns everyone shares.
    let request = read_body(request).await?;
    let limit = if request.uri().path() == paths::BACKUP { BACKUP_TIMEOUT } else { REQUEST_TIMEOUT };
    let deadline = tokio::time::Instant::now() + limit;
    let busy =
        || ApiError::unavailable("the service is too busy to take this request now: try again shortly");
    let _turn = match tokio::time::timeout_at(deadline, st.turns.acquire()).await {
        Ok(Ok(turn)) => turn,
        _ => return Err(busy()),
    };
    tokio::time::timeout_at(deadline, next.run(request)).await.map_err(|_| {
        ApiError::unavailable(format!(
            "the request took longer than {} s; a change may still have been made: look before trying again",
            limit.as_secs()
        ))
    })
}

/// The request with its body read whole, within `BODY_TIMEOUT` and `MAX_BODY`.
async fn read_body(request: Request) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if is_too_large(&e) => return Err(ApiError::too_large(MAX_BODY)),
        Ok(Err(e)) => return Err(ApiError::invalid(format!("cannot read the request body: {e}"))),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorKind::Invalid,
                format!("the request body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            ));
        }
    };
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Logs the summaries of refusals held back, once a minute until the service stops: a flood that
/// ends is still summed up.
async fn sum_up_refusals(refusals: Arc<Throttle<Holder>>, mut stopping: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(REFUSAL_INTERVAL);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        for summary in refusals.sweep(Instant::now()) {
            tracing::warn!("{summary}");
        }
    }
}
