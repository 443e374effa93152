//! The remote doors' figures, measured on the real release binary on loopback, each beside a
//! baseline measured in the same run, printed in one table at the end.
//!
//! Run with `cargo bench --bench remote` (`-- keys idle https` runs only the figures named). A plain
//! harness: it makes a store with `init --sample --scale 100000`, in which one approver,
//! morgan@tailspin.com, has 5,000 requests pending on the applications he approves. It prints
//! the machine, a few lines per figure, then the table. It needs OpenSSH's ssh-keygen.
//!
//! 1. Key to frame over SSH: `jitdesk serve --ssh` with a key of the approver's (made by ssh-keygen,
//!    given to him through the API as `jitdesk user key add` does); a russh client opens a pty and a
//!    shell, the dashboard, goes to its Requests tab (his pending requests), then presses `j` down a
//!    few screens and `k` back up. Each key is timed from its sending to the end of the first frame
//!    (read off a vt100 screen) whose selected row is the one the key moves to. A frame that does not
//!    show it (a countdown tick) is not the key's; a key that had one come first is set aside,
//!    not counted. Baseline: the same keys on the same user's dashboard in this process
//!    (`tui::remote::run_remote` over in-memory channels, on the same store, before the service
//!    starts): what SSH adds is the ratio of the p99s.
//! 2. Idle SSH dashboards: 100 new users of the sample's publisher (Litware, with no requests of
//!    their own, so nothing on their screens counts down each second), each with a key of their
//!    own (one user may hold only `MAX_SSH_SESSIONS_PER_USER`), each connected from its own loopback
//!    address (an address may hold only `MAX_SSH_CONNECTIONS_PER_ADDR`), left on their first frame:
//!    the service's resident memory growth per session (baseline: its memory before them), then its
//!    CPU ticks over 10 s left alone, with the frames the sessions received meanwhile: a frame
//!    there is the header clock's minute tick, or the store changing (the sample's pending requests
//!    time out one by one), and the line says which, and the CPU per frame.
//!
//!    Reading: `met` is left blank for the CPU when frames were drawn; the ratio beside the memory
//!    is the service's resident memory with the sessions over before them.
//! 3. Durable creation over HTTPS: 32 clients, each a publisher with an API token of its own on a
//!    keep-alive TLS connection to `serve --listen` (a certificate made here by rcgen), each creating
//!    requests on its own auto-approved application for 5 s; the service's per-requester limits are
//!    lifted in its config (throughput is measured, not the limits), so every request is created.
//!    On a second service, on a fresh `init --sample` store, as the service bench measures creation
//!    (on the 100k store creation itself is several times slower, whichever door). Baseline: the same load (`common::load`) over the Unix socket just before: requests per
//!    second, per-request p50 and p99, and the door's ratio to the socket.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hyper::Method;
use jitdesk::api::paths;
use jitdesk::client::{Backend, Link};
use jitdesk::config::Config;
use jitdesk::domain::rules::Actor;
use jitdesk::engine::{Engine, OpenMode, SystemClock};
use jitdesk::tui::remote::{RemoteTerminal, TermEnv, run_remote};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use russh::ChannelMsg;
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use tokio::sync::{mpsc, watch};

mod common;
use common::load::{Client, Conn, LIFTED_LIMITS, Load, app, drive, publisher, setup_directory};
use common::{Line, Table, clock_ticks_per_second, cpu_ticks, describe_machine, jitdesk, msf, p50, p99};
use common::{first_line, per_second, terminate};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
/// Synthetic requests: about one in twenty is pending, all on the approver's applications.
const SCALE: usize = 100_000;
/// The sample's approver of every synthetic manual application.
const APPROVER: &str = "morgan@tailspin.com";
/// The sample's synthetic publisher, the idle dashboards' users' tenant.
const IDLE_TENANT: &str = "litware";
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
/// Keys timed (half down, half back up), after a few that warm the path up.
const KEYS: usize = 300;
const WARM_KEYS: usize = 20;
/// How long the dashboard stays silent before a key is pressed: whatever frame was on its way is in.
const QUIET: Duration = Duration::from_millis(20);
/// Idle dashboards, and the window their CPU is measured over.
const SESSIONS: usize = 100;
const IDLE: Duration = Duration::from_secs(10);
/// Creating clients over each door, and how long each door's load runs.
const CLIENTS: usize = 32;
const LOAD: Duration = Duration::from_secs(5);
/// How long a frame may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(30);
/// The dashboard's last write of a frame: the end of its synchronized update, then flushed.
const FRAME_END: &[u8] = b"\x1b[?2026l";

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-remote-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    let dir = dir.path();
    describe_machine(dir, BIN);
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));

    let store = dir.join("jitdesk.redb");
    let t = Instant::now();
    let init = jitdesk(dir)
        .arg("--store")
        .arg(&store)
        .args(["init", "--sample", "--scale", &SCALE.to_string()])
        .output()
        .expect("init runs");
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
    println!("store: init --sample --scale {SCALE} in {:.1} s", t.elapsed().as_secs_f64());
    std::fs::create_dir_all(dir.join("jitdesk")).expect("a config folder");
    std::fs::write(dir.join("jitdesk").join("config.toml"), LIFTED_LIMITS).expect("the bench's config");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut table = Table::default();
    // The store is the service's once it runs: the in-process baseline comes first.
    let local = chosen("keys").then(|| runtime.block_on(keys_in_process(&store)));
    let pki = Pki::new(dir);
    let mut service = Service::start(dir, &store, &pki);
    runtime.block_on(async {
        if let Some(local) = &local {
            keys_over_ssh(dir, &service, local, &mut table).await;
        }
        if chosen("idle") {
            idle(dir, &service, &mut table).await;
        }
    });
    println!("\nservice stopped with exit code {} (0 = clean shutdown)", service.stop());
    if chosen("https") {
        // Creation is measured on a fresh sample store, as the service bench measures it, so that
        // what the door adds to the socket is what the ratio shows.
        let fresh = dir.join("fresh.redb");
        let init =
            jitdesk(dir).arg("--store").arg(&fresh).args(["init", "--sample"]).output().expect("init runs");
        assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
        let mut service = Service::start(dir, &fresh, &pki);
        runtime.block_on(https(&service, &pki, &mut table));
        println!("\nservice stopped with exit code {} (0 = clean shutdown)", service.stop());
    }
    drop(runtime);
    println!();
    table.print();
}

// ---------------------------------------------------------------------------------------------------
// The service, with its SSH and HTTPS doors

/// The HTTPS door's certificate, made here: the CA a client trusts, the server's files for `serve`.
struct Pki {
    cert: PathBuf,
    key: PathBuf,
    client: Arc<rustls::ClientConfig>,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a key")).expect("a CA");
        let mut server = CertificateParams::new(vec!["localhost".to_string()]).expect("server parameters");
        server.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("a key");
        let cert = server.signed_by(&key, &*ca).expect("the server's certificate");
        let write = |name: &str, text: &str, mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("a certificate file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let (cert_path, key_path) =
            (write("server.pem", &cert.pem(), 0o644), write("server-key.pem", &key.serialize_pem(), 0o600));
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).expect("the CA as a root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Pki { cert: cert_path, key: key_path, client: Arc::new(client) }
    }
}

struct Service {
    child: Child,
    pid: u32,
    socket: PathBuf,
    ssh: u16,
    https: u16,
}

impl Service {
    fn start(dir: &Path, store: &Path, pki: &Pki) -> Service {
        let socket = dir.join("api.sock");
        let mut child = jitdesk(dir)
            .arg("--store")
            .arg(store)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .args(["--ssh", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(&pki.cert)
            .arg("--tls-key")
            .arg(&pki.key)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let line = first_line(&mut child);
        let port = |after: &str| -> u16 {
            line.split_once(after)
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
                .unwrap_or_else(|| panic!("serve did not say where {after:?} answers: {line:?}"))
        };
        let (ssh, https) = (port("ssh on 127.0.0.1:"), port("https://127.0.0.1:"));
        println!("service: pid {}, {line}", child.id());
        Service { pid: child.id(), child, socket, ssh, https }
    }

    fn stop(&mut self) -> i32 {
        terminate(&mut self.child)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A new ed25519 key made by ssh-keygen as `dir/name`, given to `upn` through the socket as the
/// operator (what `jitdesk user key add UPN --key` does); the private key's path.
async fn give_key(dir: &Path, socket: &Path, upn: &str, name: &str) -> PathBuf {
    let key = dir.join(name);
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs (install openssh-client)");
    assert!(made.success(), "ssh-keygen failed");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("the public key");
    let mut c = Conn::open(socket).await;
    c.expect(201, Method::POST, &paths::user_keys(upn), None, json!({"key": public.trim()})).await;
    key
}

// ---------------------------------------------------------------------------------------------------
// A dashboard's terminal: keys in, bytes out, whichever side it runs on

/// What a dashboard's output draws, read frame by frame.
struct Term {
    shown: vt100::Parser,
    /// Bytes after the last frame end: a frame is looked at only once it is whole.
    pending: Vec<u8>,
}

impl Term {
    fn new() -> Term {
        let (rows, columns) = (std::num::NonZeroU16::new(HEIGHT), std::num::NonZeroU16::new(WIDTH));
        let shown = vt100::Parser::new(rows.expect("rows"), columns.expect("columns"), 0);
        Term { shown, pending: Vec::new() }
    }

    /// Takes in `chunk`: the frames it completed, and whether `done` held after one of them.
    fn take(&mut self, chunk: &[u8], done: impl Fn(&vt100::Screen) -> bool) -> (usize, bool) {
        self.pending.extend_from_slice(chunk);
        let (mut frames, mut held) = (0, false);
        while let Some(at) = self.pending.windows(FRAME_END.len()).position(|w| w == FRAME_END) {
            let end = at + FRAME_END.len();
            self.shown.process(&self.pending[..end]);
            self.pending.drain(..end);
            frames += 1;
            held |= done(self.shown.screen());
        }
        (frames, held)
    }
}

/// The line and request id of the list's selected row (the default theme's reversed bar), below
/// the pending requests' title.
fn selected(screen: &vt100::Screen) -> Option<(u16, u64)> {
    let top = title_row(screen)?;
    (top + 1..HEIGHT).find_map(|row| {
        screen
            .cell(row, 1)
            .is_some_and(vt100::Cell::inverse)
            .then(|| row_id(screen, row))
            .flatten()
            .map(|id| (row, id))
    })
}

/// The request id in the first cell of `row`, if it is a row of the list.
fn row_id(screen: &vt100::Screen, row: u16) -> Option<u64> {
    let text = screen.rows(1, WIDTH - 2).nth(usize::from(row))?;
    text.split_whitespace().next()?.trim_start_matches('*').parse().ok()
}

const TITLE: &str = "Pending requests (";

fn title_row(screen: &vt100::Screen) -> Option<u16> {
    screen.rows(0, WIDTH).position(|line| line.contains(TITLE)).and_then(|r| u16::try_from(r).ok())
}

/// The count in the list's title.
fn pending_shown(screen: &vt100::Screen) -> usize {
    let text = screen.contents();
    let after = text.split_once(TITLE).map_or("", |(_, rest)| rest);
    after.split(')').next().and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

trait Screen {
    async fn press(&mut self, key: &[u8]);
    async fn next_chunk(&mut self) -> Option<Vec<u8>>;
    fn term(&mut self) -> &mut Term;

    /// The next chunk; a dashboard that ends or stays silent for `PATIENCE` ends the bench, saying so.
    async fn chunk(&mut self) -> Vec<u8> {
        match tokio::time::timeout(PATIENCE, self.next_chunk()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => panic!("the dashboard ended; the screen:\n{}", self.term().shown.screen().contents()),
            Err(_) => panic!("the dashboard drew nothing for {PATIENCE:?}"),
        }
    }

    /// Reads until a frame ends with `done` true of the screen.
    async fn until(&mut self, done: impl Fn(&vt100::Screen) -> bool) {
        loop {
            let chunk = self.chunk().await;
            if self.term().take(&chunk, &done).1 {
                return;
            }
        }
    }

    /// Reads whatever is on its way (a tick's frame, the rest of a first screen) until the dashboard
    /// is silent for `QUIET`.
    async fn settle(&mut self) {
        while let Ok(Some(chunk)) = tokio::time::timeout(QUIET, self.next_chunk()).await {
            self.term().take(&chunk, |_| false);
        }
    }

    /// Presses `key` (`j` or `k`) on a settled screen and waits for the first frame whose selected
    /// row is the one the key moves to (the next row on screen, or, past the screen's edge, any
    /// other): the time to that frame's end, and the frames that came before it without it.
    async fn key_to_frame(&mut self, key: &[u8]) -> (f64, usize) {
        self.settle().await;
        let screen = self.term().shown.screen().clone();
        let (row, before) = selected(&screen).expect("a selected row before the key");
        let next = if key == b"j" { row.checked_add(1) } else { row.checked_sub(1) };
        let expected = next.and_then(|r| row_id(&screen, r));
        let moved = |s: &vt100::Screen| {
            selected(s).is_some_and(|(_, id)| id != before && expected.is_none_or(|e| e == id))
        };
        let start = Instant::now();
        self.press(key).await;
        let mut others = 0;
        loop {
            let chunk = self.chunk().await;
            let (frames, held) = self.term().take(&chunk, moved);
            if held {
                return (start.elapsed().as_secs_f64(), others);
            }
            others += frames;
        }
    }
}

/// What the keys of one dashboard measured.
struct Keys {
    /// Seconds from each counted key to its frame.
    samples: Vec<f64>,
    /// Keys whose frame came after another one (a tick): not counted.
    set_aside: usize,
    /// The pending requests the list's title counts.
    rows: usize,
}

/// Goes to the Requests tab, then warms up and times `j` down `KEYS / 2` rows and `k` back.
async fn time_keys(screen: &mut impl Screen) -> Keys {
    screen.until(|s| !s.contents().trim().is_empty()).await;
    screen.press(b"3").await;
    screen.until(|s| selected(s).is_some()).await;
    let rows = pending_shown(screen.term().shown.screen());
    let mut keys = Keys { samples: Vec::with_capacity(KEYS), set_aside: 0, rows };
    let warm = (0..WARM_KEYS).map(|i| i < WARM_KEYS / 2);
    let timed = (0..KEYS).map(|i| i < KEYS / 2);
    for (i, down) in warm.chain(timed).enumerate() {
        let (took, others) = screen.key_to_frame(if down { b"j" } else { b"k" }).await;
        if i < WARM_KEYS {
            continue;
        }
        if others == 0 {
            keys.samples.push(took);
        } else {
            keys.set_aside += 1;
        }
    }
    keys
}

/// The dashboard in this process, on in-memory channels.
struct InProcess {
    keys: mpsc::Sender<Vec<u8>>,
    output: mpsc::Receiver<Vec<u8>>,
    _size: watch::Sender<(u16, u16)>,
    term: Term,
}

impl Screen for InProcess {
    async fn press(&mut self, key: &[u8]) {
        self.keys.send(key.to_vec()).await.expect("the dashboard reads its keys");
    }

    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        self.output.recv().await
    }

    fn term(&mut self) -> &mut Term {
        &mut self.term
    }
}

/// An SSH session's channel.
struct OverSsh {
    channel: russh::Channel<russh::client::Msg>,
    _session: russh::client::Handle<SshClient>,
    term: Term,
}

impl Screen for OverSsh {
    async fn press(&mut self, key: &[u8]) {
        self.channel.data_bytes(key.to_vec()).await.expect("the key is sent");
    }

    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.channel.wait().await? {
                ChannelMsg::Data { data } => return Some(data.to_vec()),
                ChannelMsg::ExitStatus { .. } | ChannelMsg::Eof | ChannelMsg::Close => return None,
                _ => {}
            }
        }
    }

    fn term(&mut self) -> &mut Term {
        &mut self.term
    }
}

struct SshClient;

impl russh::client::Handler for SshClient {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Loopback, to the service this bench started.
        Ok(true)
    }
}

impl OverSsh {
    /// A dashboard over SSH as `upn` with `key`, from loopback address `from`, once it has drawn.
    async fn open(port: u16, upn: &str, key: &Path, from: Ipv4Addr) -> OverSsh {
        let key = load_secret_key(key, None).expect("the user's key");
        let config = Arc::new(russh::client::Config { nodelay: true, ..Default::default() });
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket.bind((from, 0).into()).expect("a loopback source address");
        let stream = socket.connect((Ipv4Addr::LOCALHOST, port).into()).await.expect("SSH connects");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let mut session =
            russh::client::connect_stream(config, stream, SshClient).await.expect("an SSH handshake");
        let auth = session
            .authenticate_publickey(upn, PrivateKeyWithHashAlg::new(Arc::new(key), None))
            .await
            .expect("SSH authenticates");
        assert!(auth.success(), "{upn}'s key is refused");
        let channel = session.channel_open_session().await.expect("a session channel");
        channel
            .request_pty(false, "xterm-256color", u32::from(WIDTH), u32::from(HEIGHT), 0, 0, &[])
            .await
            .expect("a pty");
        // As the in-process baseline's terminal: Unicode borders.
        channel.set_env(false, "LANG", "C.UTF-8").await.expect("the session's LANG");
        channel.request_shell(false).await.expect("a shell");
        let mut ssh = OverSsh { channel, _session: session, term: Term::new() };
        ssh.until(|s| !s.contents().trim().is_empty()).await;
        ssh
    }

    async fn quit(mut self) {
        self.press(b"q").await;
        while self.next_chunk().await.is_some() {}
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Key to frame

async fn keys_in_process(store: &Path) -> Keys {
    let engine =
        Engine::open(store, OpenMode::Existing, Arc::new(SystemClock)).await.expect("the store opens");
    let (keys, input) = mpsc::channel(16);
    let (out, output) = mpsc::channel(64);
    let (size, sizes) = watch::channel((WIDTH, HEIGHT));
    let env = TermEnv::from_vars([("TERM", "xterm-256color"), ("LANG", "C.UTF-8")]);
    let term = RemoteTerminal { input, output: out, size: sizes, env, link: Link::Ssh };
    let actor = Actor::User(APPROVER.into());
    let run = tokio::spawn(run_remote(Backend::Local(engine.clone()), actor, &Config::default(), term));
    let mut screen = InProcess { keys, output, _size: size, term: Term::new() };
    let measured = time_keys(&mut screen).await;
    screen.press(b"q").await;
    let _ = run.await;
    engine.close().await.expect("the store closes");
    measured
}

async fn keys_over_ssh(dir: &Path, service: &Service, local: &Keys, table: &mut Table) {
    let key = give_key(dir, &service.socket, APPROVER, "approver").await;
    let mut ssh = OverSsh::open(service.ssh, APPROVER, &key, Ipv4Addr::LOCALHOST).await;
    let remote = time_keys(&mut ssh).await;
    ssh.quit().await;
    let (median, tail, base) = (p50(&remote.samples), p99(&remote.samples), p99(&local.samples));
    println!(
        "\n[1] key to frame, {APPROVER} on {} pending requests ({} in process): over SSH p50 {} p99 {}; in process p50 {} p99 {}; keys set aside for a tick's frame: {} over SSH, {} in process",
        remote.rows,
        local.rows,
        msf(median),
        msf(tail),
        msf(p50(&local.samples)),
        msf(base),
        remote.set_aside,
        local.set_aside
    );
    table.add(Line {
        figure: "[1] key to frame over SSH, approver's pending list",
        result: format!("{} keys, {} rows", remote.samples.len(), remote.rows),
        median: Some(median),
        p99: Some(tail),
        baseline: format!("{} p99 in process", msf(base)),
        ratio: Some(tail / base),
        target: "p99 < 15 ms",
        met: Some(tail < 0.015),
    });
}

// ---------------------------------------------------------------------------------------------------
// 2. Idle dashboards

fn rss_kib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// The i-th idle session's source address: one address per session, far below the per-address cap.
fn source(i: usize) -> Ipv4Addr {
    let i = u16::try_from(i).expect("a few hundred sessions at most");
    let [high, low] = (i + 1).to_be_bytes();
    Ipv4Addr::new(127, 0, high + 1, low)
}

async fn idle(dir: &Path, service: &Service, table: &mut Table) {
    let mut c = Conn::open(&service.socket).await;
    let users: Vec<String> = (0..SESSIONS).map(|i| format!("idle-{i:03}@{IDLE_TENANT}.com")).collect();
    for upn in &users {
        c.expect(201, Method::POST, paths::USERS, None, json!({"upn": upn, "tenant": IDLE_TENANT})).await;
    }
    let mut keys = Vec::with_capacity(SESSIONS);
    for (i, upn) in users.iter().enumerate() {
        keys.push(give_key(dir, &service.socket, upn, &format!("idle-{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(service.pid);
    let mut sessions = Vec::with_capacity(SESSIONS);
    for (i, (upn, key)) in users.iter().zip(&keys).enumerate() {
        sessions.push(OverSsh::open(service.ssh, upn, key, source(i)).await);
    }
    // Whatever the sessions drew after their first frame is read before the window opens.
    for ssh in &mut sessions {
        ssh.settle().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(service.pid);
    let first = sessions[0].term.shown.screen().contents();
    let title = first.lines().find(|l| l.contains(" (")).unwrap_or("(no list title)");
    let per_session = (after - before) * 1024.0 / SESSIONS as f64;

    // Every session's output is read through the window, so that a tick's frames are seen.
    let (stop, stopped) = watch::channel(false);
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|mut ssh| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut frames = 0;
                loop {
                    tokio::select! {
                        _ = stopped.changed() => break,
                        chunk = ssh.next_chunk() => match chunk {
                            Some(chunk) => frames += ssh.term.take(&chunk, |_| false).0,
                            None => break,
                        },
                    }
                }
                (ssh, frames)
            })
        })
        .collect();
    let stat = PathBuf::from(format!("/proc/{}/stat", service.pid));
    let (start, opened) = (cpu_ticks(&stat), Utc::now());
    tokio::time::sleep(IDLE).await;
    let (spent, closed) = (cpu_ticks(&stat) - start, Utc::now());
    let _ = stop.send(true);
    // The header's clock turns at each minute; anything else that draws is the store changing
    // (the sample's pending requests time out, one by one).
    let minute = opened.timestamp() / 60 != closed.timestamp() / 60;
    let mut frames = 0;
    let mut sessions = Vec::with_capacity(SESSIONS);
    for reader in readers {
        let (ssh, drawn) = reader.await.expect("a session's reader");
        frames += drawn;
        sessions.push(ssh);
    }
    let hz = clock_ticks_per_second();
    println!(
        "\n[2] idle: {SESSIONS} dashboards over SSH (one user and one source address each), the first showing {:?}; RSS {:.1} -> {:.1} MiB ({:.2} MB each); {spent} CPU ticks ({:.0} ms) in {} s, {frames} frames drawn meanwhile{}",
        title.trim(),
        before / 1024.0,
        after / 1024.0,
        per_session / 1e6,
        spent as f64 * 1000.0 / hz,
        IDLE.as_secs(),
        match (frames, minute) {
            (0, _) => String::new(),
            (_, true) => format!(
                " (a minute turned in the window: up to {SESSIONS} frames are the header's clock, the rest the store changing; about {:.1} ms of CPU per frame)",
                spent as f64 * 1000.0 / hz / frames as f64
            ),
            (_, false) => format!(
                " (no minute turned: the store changed; about {:.1} ms of CPU per frame)",
                spent as f64 * 1000.0 / hz / frames as f64
            ),
        }
    );
    table.add(Line {
        figure: "[2] idle SSH dashboards: memory per session",
        result: format!("{:.2} MB x {SESSIONS}", per_session / 1e6),
        median: None,
        p99: None,
        baseline: format!("{:.1} MiB before", before / 1024.0),
        ratio: Some(after / before),
        target: "< 2 MB each",
        met: Some(per_session < 2e6),
    });
    let tick = match (frames, minute) {
        (0, _) => "0",
        (_, true) => "0 (a minute tick fell in: see above)",
        (_, false) => "0 (the store changed: see above)",
    };
    table.add(Line {
        figure: "[2] idle SSH dashboards: CPU over 10 s",
        result: format!("{spent} ticks, {frames} frames"),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: tick,
        met: (frames == 0).then_some(spent == 0),
    });
    for ssh in sessions {
        ssh.quit().await;
    }
}

// ---------------------------------------------------------------------------------------------------
// 3. Durable creation over HTTPS

/// Created requests per second, from the start to the last answer.
fn rate(load: &Load, secs: f64) -> f64 {
    load.latencies.len() as f64 / secs
}

async fn https(service: &Service, pki: &Pki, table: &mut Table) {
    let people: Vec<(String, String)> = (0..CLIENTS).map(|i| (publisher(i), app(i))).collect();
    setup_directory(&service.socket, &people).await;
    let mut c = Conn::open(&service.socket).await;
    let mut tokens = Vec::with_capacity(CLIENTS);
    for (upn, _) in &people {
        // What `jitdesk token create --user UPN` asks for.
        let made =
            c.expect(201, Method::POST, paths::TOKENS, None, json!({"user": upn, "name": "bench"})).await;
        tokens.push(made["secret"].as_str().expect("the token's secret").to_string());
    }

    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let conn = Conn::open(&service.socket).await;
        clients.push(Client { conn, as_user: Some(publisher(i)), app: app(i) }.warm().await);
    }
    let (socket, socket_secs) = drive(clients, LOAD).await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for (i, token) in tokens.iter().enumerate() {
        let conn = Conn::tls(service.https, pki.client.clone(), token).await;
        clients.push(Client { conn, as_user: None, app: app(i) }.warm().await);
    }
    let (door, door_secs) = drive(clients, LOAD).await;

    let (socket_rate, door_rate) = (rate(&socket, socket_secs), rate(&door, door_secs));
    println!(
        "\n[3] durable creation, {CLIENTS} clients for {} s each: socket {} (p50 {}, p99 {}, {} commits, {} refused); HTTPS {} (p50 {}, p99 {}, {} commits, {} refused); answers per second over HTTPS: {}",
        LOAD.as_secs(),
        per_second(socket_rate),
        msf(p50(&socket.latencies)),
        msf(p99(&socket.latencies)),
        socket.commits(),
        socket.failures.len(),
        per_second(door_rate),
        msf(p50(&door.latencies)),
        msf(p99(&door.latencies)),
        door.commits(),
        door.failures.len(),
        door.per_whole_second()
    );
    if let Some(first) = socket.failures.first().or(door.failures.first()) {
        println!("    first refusal: {first}");
    }
    let sound = socket.failures.is_empty() && door.failures.is_empty();
    table.add(Line {
        figure: "[3] 32 clients, durable create over HTTPS",
        result: per_second(door_rate),
        median: Some(p50(&door.latencies)),
        p99: Some(p99(&door.latencies)),
        baseline: format!("{} socket", per_second(socket_rate)),
        ratio: Some(door_rate / socket_rate),
        target: ">= 2,000/s",
        met: Some(sound && door_rate >= 2000.0),
    });
    let (tail, base) = (p99(&door.latencies), p99(&socket.latencies));
    table.add(Line {
        figure: "    same, per-request latency",
        result: format!("{} reqs", door.latencies.len()),
        median: Some(p50(&door.latencies)),
        p99: Some(tail),
        baseline: format!("{} p99 socket", msf(base)),
        ratio: Some(tail / base),
        target: "p99 < 25 ms",
        met: Some(sound && tail < 0.025),
    });
}
