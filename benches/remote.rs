//! The remote doors' figures, measured on the real release binary on loopback, beside the same
//! dashboard in this process, measured in the same run.
//!
//! Run with `cargo bench --bench remote` (`-- keys idle` runs only the figures named). A plain
//! harness: it makes a store with `init --sample --scale 100000`, prints the machine, then one
//! table. It needs OpenSSH's ssh-keygen. Only the operator's key opens a dashboard over SSH so far,
//! so the figures are the operator's: the approver of all 5,000 pending requests needs a directory
//! user's key.
//!
//! 1. Key to frame over SSH: `jitdesk serve --ssh` with the operator's key (made by ssh-keygen); a
//!    russh client opens a pty and a shell (the dashboard, on its Applications tab: 404 rows), then
//!    presses `j` and `k` in turn, and times each from the key sent to the frame's last byte (the end
//!    of its synchronized update). Baseline: the same keys on `tui::remote::run_remote` in this
//!    process, on the same store, over in-memory channels: what SSH adds is the ratio.
//! 2. Idle SSH dashboards: as many as one user may hold (`MAX_SSH_SESSIONS_PER_USER`, 8), left on
//!    their first frame: the service's resident memory growth per session, and its CPU time over
//!    10 s while nothing changes but the countdowns' minutes.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jitdesk::api::limits::MAX_SSH_SESSIONS_PER_USER;
use jitdesk::client::{Backend, Link};
use jitdesk::config::Config;
use jitdesk::domain::rules::Actor;
use jitdesk::engine::{Engine, OpenMode, SystemClock};
use jitdesk::tui::remote::{RemoteTerminal, TermEnv, run_remote};
use russh::ChannelMsg;
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use tokio::sync::{mpsc, watch};

mod common;
use common::{Line, Table, describe_machine, jitdesk, msf, p50, p99};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
/// Synthetic requests: about one in twenty is pending.
const SCALE: usize = 100_000;
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
/// Keys timed, after a few that warm the path up.
const KEYS: usize = 300;
const WARM_KEYS: usize = 20;
/// The idle window.
const IDLE: Duration = Duration::from_secs(10);
/// How long a frame may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(30);
/// The dashboard's last write of a frame: the end of its synchronized update, then flushed.
const FRAME_END: &[u8] = b"\x1b[?2026l";

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-remote-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    describe_machine(dir.path(), BIN);
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));

    let store = dir.path().join("jitdesk.redb");
    let t = Instant::now();
    let init = jitdesk(dir.path())
        .arg("--store")
        .arg(&store)
        .args(["init", "--sample", "--scale", &SCALE.to_string()])
        .output()
        .expect("init runs");
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
    println!("store: init --sample --scale {SCALE} in {:.1} s", t.elapsed().as_secs_f64());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut table = Table::default();
    let local = chosen("keys").then(|| runtime.block_on(keys_in_process(&store)));
    let mut service = Service::start(dir.path(), &store);
    runtime.block_on(async {
        if let Some(local) = &local {
            keys_over_ssh(&service, local, &mut table).await;
        }
        if chosen("idle") {
            idle(&service, &mut table).await;
        }
    });
    drop(runtime);
    println!("\nservice stopped with exit code {}", service.stop());
    println!();
    table.print();
}

// ---------------------------------------------------------------------------------------------------
// The service, with its SSH door and the operator's key

struct Service {
    child: Child,
    pid: u32,
    port: u16,
    key: PathBuf,
}

impl Service {
    fn start(dir: &Path, store: &Path) -> Service {
        let key = dir.join("operator");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen runs (install openssh-client)");
        assert!(made.success());
        let keys = dir.join("operator_keys");
        std::fs::copy(key.with_extension("pub"), &keys).expect("the operator's keys");
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let mut child = jitdesk(dir)
            .arg("--store")
            .arg(store)
            .arg("serve")
            .arg("--socket")
            .arg(dir.join("api.sock"))
            .args(["--ssh", "127.0.0.1:0", "--operator-keys"])
            .arg(&keys)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            lines.for_each(drop);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("serve says where it listens");
        let port = line
            .rsplit_once(", ssh on 127.0.0.1:")
            .and_then(|(_, port)| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("serve did not say where SSH answers: {line:?}"));
        println!("service: pid {}, {line}", child.id());
        Service { pid: child.id(), child, port, key }
    }

    fn stop(&mut self) -> i32 {
        use nix::sys::signal::{Signal, kill};
        let _ = kill(nix::unistd::Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        -1
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

// ---------------------------------------------------------------------------------------------------
// A dashboard's terminal: keys in, bytes out, whichever side it runs on

/// Reads a dashboard's output until a frame ends after `from` bytes were seen; the bytes read.
trait Screen {
    async fn press(&mut self, key: &[u8]);
    async fn next_chunk(&mut self) -> Option<Vec<u8>>;
    /// The terminal the output is drawn on, as the client would show it.
    fn terminal(&mut self) -> &mut vt100::Parser;

    /// The next chunk; a dashboard silent for `PATIENCE` ends the bench with that said.
    async fn chunk_within_patience(&mut self) -> Option<Vec<u8>> {
        let waited = tokio::time::timeout(PATIENCE, self.next_chunk()).await;
        waited.unwrap_or_else(|_| panic!("the dashboard drew nothing for {PATIENCE:?}"))
    }

    /// Reads until a frame ends with `text` on the screen; the screen's text.
    async fn until(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut last = Vec::new();
        loop {
            let shown = self.terminal().screen().contents();
            assert!(
                Instant::now() < deadline,
                "no frame with {text:?}; the last bytes: {:?}; the screen:\n{shown}",
                String::from_utf8_lossy(&last[last.len().saturating_sub(60)..])
            );
            let Some(chunk) = self.chunk_within_patience().await else { panic!("the dashboard ended") };
            self.terminal().process(&chunk);
            let shown = self.terminal().screen().contents();
            last.clone_from(&chunk);
            if chunk.ends_with(FRAME_END) && shown.contains(text) {
                return shown;
            }
        }
    }

    /// Presses `key` and waits for the frame it makes: the time to its last byte, in seconds.
    async fn key_to_frame(&mut self, key: &[u8]) -> f64 {
        let start = Instant::now();
        self.press(key).await;
        loop {
            let Some(chunk) = self.chunk_within_patience().await else { panic!("the dashboard ended") };
            self.terminal().process(&chunk);
            if chunk.ends_with(FRAME_END) {
                return start.elapsed().as_secs_f64();
            }
            assert!(start.elapsed() < PATIENCE, "no frame after a key");
        }
    }
}

fn terminal() -> vt100::Parser {
    vt100::Parser::new(
        std::num::NonZeroU16::new(HEIGHT).expect("rows"),
        std::num::NonZeroU16::new(WIDTH).expect("columns"),
        0,
    )
}

/// The keys timed: down and up in turn, each a new selection and so a new frame.
async fn time_keys(screen: &mut impl Screen) -> Vec<f64> {
    let mut samples = Vec::with_capacity(KEYS);
    for i in 0..WARM_KEYS + KEYS {
        let took = screen.key_to_frame(if i % 2 == 0 { b"j" } else { b"k" }).await;
        if i >= WARM_KEYS {
            samples.push(took);
        }
    }
    samples
}

/// The dashboard in this process, on in-memory channels.
struct InProcess {
    keys: mpsc::Sender<Vec<u8>>,
    output: mpsc::Receiver<Vec<u8>>,
    _size: watch::Sender<(u16, u16)>,
    shown: vt100::Parser,
}

impl Screen for InProcess {
    async fn press(&mut self, key: &[u8]) {
        self.keys.send(key.to_vec()).await.expect("the dashboard reads its keys");
    }

    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        self.output.recv().await
    }

    fn terminal(&mut self) -> &mut vt100::Parser {
        &mut self.shown
    }
}

/// An SSH session's channel.
struct OverSsh {
    channel: russh::Channel<russh::client::Msg>,
    _session: russh::client::Handle<Client>,
    shown: vt100::Parser,
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

    fn terminal(&mut self) -> &mut vt100::Parser {
        &mut self.shown
    }
}

struct Client;

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Loopback, to the service this bench started.
        Ok(true)
    }
}

/// A dashboard over SSH as the operator, once its first frame is drawn.
async fn open_ssh(service: &Service) -> OverSsh {
    let key = load_secret_key(&service.key, None).expect("the operator's key");
    let config = Arc::new(russh::client::Config { nodelay: true, ..Default::default() });
    let mut session =
        russh::client::connect(config, ("127.0.0.1", service.port), Client).await.expect("SSH connects");
    let auth = session
        .authenticate_publickey("operator", PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .expect("SSH authenticates");
    assert!(auth.success(), "the operator's key is refused");
    let channel = session.channel_open_session().await.expect("a session channel");
    channel
        .request_pty(false, "xterm-256color", u32::from(WIDTH), u32::from(HEIGHT), 0, 0, &[])
        .await
        .expect("a pty");
    channel.request_shell(false).await.expect("a shell");
    let mut ssh = OverSsh { channel, _session: session, shown: terminal() };
    ssh.until("Applications (").await;
    ssh
}

// ---------------------------------------------------------------------------------------------------
// 1. Key to frame

async fn keys_in_process(store: &Path) -> Vec<f64> {
    let engine =
        Engine::open(store, OpenMode::Existing, Arc::new(SystemClock)).await.expect("the store opens");
    let (keys, input) = mpsc::channel(16);
    let (out, output) = mpsc::channel(64);
    let (size, sizes) = watch::channel((WIDTH, HEIGHT));
    let env = TermEnv::from_vars([("TERM", "xterm-256color"), ("LANG", "C.UTF-8")]);
    let term = RemoteTerminal { input, output: out, size: sizes, env, link: Link::Ssh };
    let actor = Actor::Operator("bench".into());
    let run = tokio::spawn(run_remote(Backend::Local(engine.clone()), actor, &Config::default(), term));
    let mut screen = InProcess { keys, output, _size: size, shown: terminal() };
    screen.until("Applications (").await;
    let samples = time_keys(&mut screen).await;
    screen.press(b"q").await;
    let _ = run.await;
    engine.close().await.expect("the store closes");
    samples
}

async fn keys_over_ssh(service: &Service, local: &[f64], table: &mut Table) {
    let mut ssh = open_ssh(service).await;
    let samples = time_keys(&mut ssh).await;
    let (median, tail) = (p50(&samples), p99(&samples));
    println!(
        "key to frame: over SSH p50 {} p99 {}; in process p50 {} p99 {}",
        msf(median),
        msf(tail),
        msf(p50(local)),
        msf(p99(local))
    );
    table.add(Line {
        figure: "key to frame over SSH, the operator on 404 applications",
        result: format!("{KEYS} keys"),
        median: Some(median),
        p99: Some(tail),
        baseline: format!("{} p99 in process", msf(p99(local))),
        ratio: Some(tail / p99(local)),
        target: "p99 < 15 ms",
        met: Some(tail < 0.015),
    });
    ssh.press(b"q").await;
    while ssh.next_chunk().await.is_some() {}
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

/// The process's user and system time, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    field(11) + field(12)
}

async fn idle(service: &Service, table: &mut Table) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(service.pid);
    let mut sessions = Vec::new();
    for _ in 0..MAX_SSH_SESSIONS_PER_USER {
        let ssh = open_ssh(service).await;
        sessions.push(ssh);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(service.pid);
    let per_session = (after - before) / sessions.len() as f64 / 1024.0;
    let start = cpu_ticks(service.pid);
    tokio::time::sleep(IDLE).await;
    let spent = cpu_ticks(service.pid) - start;
    println!(
        "idle: {} dashboards over SSH; RSS {:.1} -> {:.1} MiB ({per_session:.2} MiB each); {spent} CPU ticks in {} s",
        sessions.len(),
        before / 1024.0,
        after / 1024.0,
        IDLE.as_secs()
    );
    table.add(Line {
        figure: "idle SSH dashboards: memory per session",
        result: format!("{per_session:.2} MiB x {}", sessions.len()),
        median: None,
        p99: None,
        baseline: format!("{:.1} MiB before", before / 1024.0),
        ratio: None,
        target: "< 2 MB each",
        met: Some(per_session < 2.0),
    });
    table.add(Line {
        figure: "idle SSH dashboards: CPU over 10 s",
        result: format!("{spent} ticks"),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: "0",
        met: Some(spent == 0),
    });
    for mut ssh in sessions {
        ssh.press(b"q").await;
        while ssh.next_chunk().await.is_some() {}
    }
}
