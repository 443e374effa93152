//! `jitdesk serve --ssh ADDR:PORT`: the service's door for people without an account on its host.
//! A client proves a key (`identities`), and then runs one CLI command (`session`) or the dashboard
//! (`dashboard`) as the user the key belongs to, through the same API and rules as the Unix
//! socket: a command's process talks to the service on a socket of its session, which the service
//! serves as that user, so identity is the service's word and never the process's.
//!
//! Only what those need is taken: public keys (no password, keyboard-interactive or "none"), one
//! session channel at a time per request, a pty, four environment variables. Forwarding of ports,
//! agents and X11, subsystems (SFTP) and a shell without a terminal are refused.

mod command;
mod dashboard;
mod failures;
pub mod host_key;
pub mod identities;
mod places;
mod session;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::keys::{Certificate, PrivateKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::fairness::{self, Holder, PerHolder};
use super::identity::Operator;
use crate::api::limits::{MAX_SSH_CONNECTIONS_PER_ADDR, MAX_SSH_SESSIONS, MAX_SSH_SESSIONS_PER_USER};
use crate::config::Config;
use crate::domain::text::shown;
use crate::engine::Engine;
use crate::logging::Throttle;
use failures::Failures;
use identities::{Directory, OperatorKeys, Owner, SshIdentities};
use session::Channels;

/// The environment variables a client may set, and the most bytes each value may have.
const TAKEN_ENV: [&str; 4] = ["TERM", "COLORTERM", "NO_COLOR", "LANG"];
const MAX_ENV_VALUE: usize = 256;

/// The SSH door, ready to answer: its listener bound, its host key and identities read.
pub struct Door<I> {
    listener: TcpListener,
    host_key: PrivateKey,
    identities: I,
    /// The service's config, for the dashboards it opens.
    config: Config,
}

impl<I: SshIdentities> Door<I> {
    /// Binds `addr` with the host key beside `store` (made on the first start).
    pub async fn bind(store: &Path, addr: &str, identities: I) -> Result<Door<I>, String> {
        let host_key = host_key::load_or_create(&host_key::path_for(store))?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen for SSH on {}: {e}", shown(addr)))?;
        Ok(Door { listener, host_key, identities, config: Config::default() })
    }

    /// Opens dashboards with `config` (the service's), instead of the defaults.
    pub fn with_config(self, config: Config) -> Door<I> {
        Door { config, ..self }
    }

    /// Where the door listens (the port the system chose, when given port 0).
    pub fn local_addr(&self) -> String {
        self.listener.local_addr().map_or_else(|e| format!("? ({e})"), |a| a.to_string())
    }
}

impl Door<OperatorKeys> {
    /// The door that knows the directory's keys and authorities besides the operator's: the door is
    /// bound before the store opens, and given the engine once it is.
    pub fn with_engine(self, engine: Engine) -> Door<Directory> {
        let identities = Directory::new(self.identities, engine);
        Door { listener: self.listener, host_key: self.host_key, identities, config: self.config }
    }
}

/// What every connection of the door shares.
struct Shared<I> {
    identities: I,
    failures: Failures,
    refusals: Arc<Throttle<Holder>>,
    /// Serves the API on each session's socket.
    app: axum::Router,
    store: PathBuf,
    places: places::Places,
    stopping: watch::Receiver<bool>,
    dashboards: dashboard::Dashboards,
}

/// Answers on the door until `stopping` turns true; sessions then end (their commands are stopped).
pub(super) async fn run<I: SshIdentities>(
    door: Door<I>,
    engine: Engine,
    operator: Operator,
    app: axum::Router,
    refusals: Arc<Throttle<Holder>>,
    mut stopping: watch::Receiver<bool>,
) {
    let config = Arc::new(russh::server::Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        keys: vec![door.host_key],
        // A refused key is answered after a pause, so that trying keys is slow; the first "none"
        // every client sends is answered at once.
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        inactivity_timeout: Some(Duration::from_secs(3600)),
        keepalive_interval: Some(Duration::from_secs(30)),
        nodelay: true,
        ..Default::default()
    });
    let shared = Arc::new(Shared {
        identities: door.identities,
        failures: Failures::default(),
        refusals,
        app,
        store: engine.path().to_path_buf(),
        dashboards: dashboard::Dashboards { engine, operator, config: door.config },
        places: places::Places::new(MAX_SSH_SESSIONS, MAX_SSH_SESSIONS_PER_USER),
        stopping: stopping.clone(),
    });
    let per_addr = PerHolder::default();
    loop {
        let accepted = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => break,
            accepted = door.listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("cannot accept an SSH connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // A keypress is a few bytes: without this, Nagle's algorithm holds each one back until the
        // client's delayed acknowledgement of the last frame, tens of milliseconds per key. russh's
        // own `nodelay` applies only to connections it accepts itself.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on an SSH connection: {e}");
        }
        let holder = Holder::Addr(peer.ip());
        if shared.failures.blocked(peer.ip(), Instant::now()) {
            fairness::log_refusal(&shared.refusals, &holder, || {
                format!("SSH: {holder} failed to authenticate too often; closed a new connection")
            });
            continue;
        }
        let Some(held) = per_addr.try_take(&holder, MAX_SSH_CONNECTIONS_PER_ADDR) else {
            fairness::log_refusal(&shared.refusals, &holder, || {
                format!("SSH: {holder} has {MAX_SSH_CONNECTIONS_PER_ADDR} connections open; closed a new one")
            });
            continue;
        };
        let handler = Connection {
            shared: shared.clone(),
            peer,
            owner: None,
            refused: 0,
            channels: Channels::default(),
        };
        let config = config.clone();
        tokio::spawn(async move {
            match russh::server::run_stream(config, stream, handler).await {
                Ok(running) => {
                    if let Err(e) = running.await {
                        tracing::debug!("SSH connection of {peer} ended: {e}");
                    }
                }
                Err(e) => tracing::debug!("SSH connection of {peer} failed to start: {e}"),
            }
            drop(held);
        });
    }
    tracing::info!("SSH: no new connections");
}

/// One client connection: who it proved to be, and its session channels.
struct Connection<I> {
    shared: Arc<Shared<I>>,
    peer: SocketAddr,
    /// Set once a key or certificate is accepted.
    owner: Option<Owner>,
    /// Keys and certificates refused so far: taken back from the address's failures if the
    /// connection authenticates after all.
    refused: u32,
    channels: Channels,
}

impl<I: SshIdentities> Connection<I> {
    fn addr(&self) -> IpAddr {
        self.peer.ip()
    }

    /// Refuses an authentication: counted against the address and logged, a few lines per
    /// address; `why` is the door's own words, never the client's text.
    fn refuse(&mut self, why: &str) -> Auth {
        self.refused += 1;
        let addr = self.addr();
        let holder = Holder::Addr(addr);
        let blocked = self.shared.failures.fail(addr, Instant::now());
        fairness::log_refusal(&self.shared.refusals, &holder, || {
            let then = if blocked { "; it is refused at once for a while" } else { "" };
            format!("SSH: refused {holder}: {why}{then}")
        });
        Auth::reject()
    }

    fn accept(&mut self, owner: Owner) -> Auth {
        let who = Holder::User(owner.clone());
        tracing::info!("SSH: {who} authenticated from {}", self.addr());
        self.shared.failures.forgive(self.addr(), self.refused);
        self.owner = Some(owner);
        Auth::Accept
    }
}

impl<I: SshIdentities> russh::server::Handler for Connection<I> {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Who owns a key or a certificate is decided once its signature is proven; an address
        // that failed too often is not heard at all.
        if self.shared.failures.blocked(self.addr(), Instant::now()) {
            return Ok(Auth::reject());
        }
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, _user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        match self.shared.identities.user_for_key(key.public_key).await {
            Ok(Some(owner)) => Ok(self.accept(owner)),
            Ok(None) => Ok(self.refuse("a key nobody owns")),
            Err(e) => {
                tracing::warn!("SSH: cannot look a key up: {e}");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_openssh_certificate(
        &mut self,
        _user: &str,
        certificate: &Certificate,
    ) -> Result<Auth, Self::Error> {
        if self.shared.failures.blocked(self.addr(), Instant::now()) {
            return Ok(Auth::reject());
        }
        match self.shared.identities.user_for_certificate(certificate).await {
            Ok(Ok(upn)) => Ok(self.accept(Some(upn))),
            Ok(Err(why)) => Ok(self.refuse(&format!("a certificate that names nobody: {why}"))),
            Err(e) => {
                tracing::warn!("SSH: cannot look a certificate up: {e}");
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.owner.is_none() || !self.channels.open(channel) {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if TAKEN_ENV.contains(&name)
            && value.len() <= MAX_ENV_VALUE
            && self.channels.set_env(channel, name, value)
        {
            return session.channel_success(channel);
        }
        session.channel_failure(channel)
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if term.len() <= MAX_ENV_VALUE && self.channels.set_pty(channel, term, cols, rows) {
            return session.channel_success(channel);
        }
        session.channel_failure(channel)
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.resize(channel, cols, rows);
        Ok(())
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        let Some(started) = self.channels.start(channel) else { return session.channel_failure(channel) };
        session.channel_success(channel)?;
        let owner = self.owner.clone().unwrap_or(Some(String::new()));
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            let Some(_place) = take_place(&shared, &owner, &started).await else { return };
            if started.pty.is_none() {
                let why = "error: no shell here: use `ssh -t` for the dashboard or give a command\n";
                started.finish(why, 1).await;
                return;
            }
            dashboard::open(&shared.dashboards, owner, started).await;
        });
        self.channels.running(channel, task);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        line: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(started) = self.channels.start(channel) else { return session.channel_failure(channel) };
        session.channel_success(channel)?;
        let owner = self.owner.clone().unwrap_or(Some(String::new()));
        let shared = self.shared.clone();
        let vetted = command::vet(line, owner.is_none());
        let task = tokio::spawn(async move {
            let Some(_place) = take_place(&shared, &owner, &started).await else { return };
            session::run(&shared, owner, vetted, started).await;
        });
        self.channels.running(channel, task);
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.input(channel, data).await;
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.channels.close(channel);
        Ok(())
    }
}

/// A place among the sessions open, overall and of `owner`; when there is none the client is told
/// so and the session ends.
async fn take_place<I>(
    shared: &Shared<I>,
    owner: &Owner,
    started: &session::Started,
) -> Option<places::Place> {
    match shared.places.take(owner) {
        Ok(place) => Some(place),
        Err((line, told)) => {
            fairness::log_refusal(&shared.refusals, &Holder::User(owner.clone()), || line);
            started.finish(&told, 1).await;
            None
        }
    }
}

/// The environment a channel's client set, as the child and the dashboard take it.
pub type Env = HashMap<String, String>;
