//! The socket a client talks to, tried as another user on the host would: whoever answers on a
//! store's socket without owning the store (or being the configured service account) is sent
//! nothing at all, not even a health check, and the command refuses with one line that names
//! them; `serve` refuses a socket in a folder anyone may write to without the sticky bit, and a
//! stale socket that another user left there.
//!
//! The impostor is a plain Unix listener in this test that counts the bytes it receives. Making it
//! another user's needs root (CI runs the tests as root); anyone else gets a printed skip.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::os_users::{Accounts, as_uid, bounded, ids};
use crate::common::{BIN, Run, request_create};

/// What a test run as anyone but root prints instead of proving anything.
fn skipped(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    eprintln!(
        "SKIPPED {test}: another user's socket and files need root (CI runs the tests as root); run `cargo test --test it socket_trust` as root"
    );
    true
}

/// A Unix listener that never answers and counts what it is sent.
struct Impostor {
    path: PathBuf,
    accepted: Arc<AtomicUsize>,
    /// Connections whose bytes are all counted (the other end closed, or went quiet).
    finished: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
}

impl Impostor {
    /// Listens on `path`, as `uid`/`gid` when given (the socket file and its peer credentials are
    /// then theirs), else as this process; anyone may connect.
    fn listen(path: &Path, owner: Option<(u32, u32)>) -> Impostor {
        let bind = || {
            let listener = UnixListener::bind(path).expect("bind the impostor's socket");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).expect("chmod the socket");
            listener
        };
        let listener = match owner {
            Some((uid, gid)) => as_uid(uid, gid, bind),
            None => bind(),
        };
        let impostor = Impostor {
            path: path.to_path_buf(),
            accepted: Arc::default(),
            finished: Arc::default(),
            received: Arc::default(),
        };
        let (accepted, finished, received) =
            (impostor.accepted.clone(), impostor.finished.clone(), impostor.received.clone());
        // The thread ends with the test process; it only ever reads.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (finished, received) = (finished.clone(), received.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(8)));
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        received.fetch_add(n, Ordering::SeqCst);
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        impostor
    }

    /// Once the client has gone: how many connections it made and how many bytes they carried.
    /// The listening thread accepts in its own time (late on a busy machine), so this waits for
    /// `at_least` connections, the fewest the client made, and for each to end.
    fn heard(&self, at_least: usize) -> (usize, usize) {
        let started = Instant::now();
        while (self.accepted.load(Ordering::SeqCst) < at_least
            || self.finished.load(Ordering::SeqCst) < self.accepted.load(Ordering::SeqCst))
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        (self.accepted.load(Ordering::SeqCst), self.received.load(Ordering::SeqCst))
    }
}

/// A folder under /tmp with the given mode, removed at the end.
fn folder(mode: u32) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("jitdesk-trust-").tempdir_in("/tmp").expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    dir
}

/// The binary with a clean environment: no config file, no JITDESK_* variables.
fn jitdesk(config_home: &Path, store: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "UTC")
        .env("HOME", config_home)
        .env("XDG_CONFIG_HOME", config_home)
        .env("XDG_DATA_HOME", config_home)
        .arg("--store")
        .arg(store)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(cmd: Command, what: &str) -> Run {
    bounded(cmd, what).0
}

/// A refusal: exit 1, nothing on stdout, one `error:` line (returned).
fn refused(run: &Run) -> String {
    assert_eq!(run.code, 1, "not refused: {run:?}");
    assert!(run.stdout.is_empty(), "a refusal printed output: {run:?}");
    run.error_line().to_string()
}

fn init(store: &Path, home: &Path) {
    let done = run(jitdesk(home, store, &["init", "--sample"], &[]), "init");
    assert_eq!(done.code, 0, "{done:?}");
}

#[test]
fn a_socket_another_user_answers_on_is_sent_nothing() {
    if skipped("a_socket_another_user_answers_on_is_sent_nothing") {
        return;
    }
    let pid = std::process::id();
    let login = format!("jdimp{pid}");
    let mut accounts = Accounts::default();
    let (uid, gid) = (accounts.user(&login, None), ids(&login).1);

    // The README's shared folder: anyone may create files in it (sticky, as /tmp is).
    let shared = folder(0o1777);
    let home = folder(0o700);
    let store = shared.path().join("jitdesk.redb");
    init(&store, home.path());
    let before = std::fs::read(&store).unwrap();
    // The other user gets there first with a socket of their own under the store's socket name.
    let socket = PathBuf::from(format!("{}.sock", store.display()));
    let impostor = Impostor::listen(&socket, Some((uid, gid)));
    assert_eq!(std::fs::symlink_metadata(&impostor.path).unwrap().uid(), uid);

    for args in [&["request", "list"][..], &request_create("contoso-crm", "Reader", "1h", "secret")] {
        let line = refused(&run(jitdesk(home.path(), &store, args, &[]), "a command beside the impostor"));
        assert!(line.contains(&socket.display().to_string()), "names the socket: {line}");
        assert!(line.contains(&format!("{login} (uid {uid})")), "names who answers there: {line}");
        assert!(line.contains("nothing was sent"), "{line}");
        assert!(line.contains("service_user"), "says what to do: {line}");
    }
    let (connections, bytes) = impostor.heard(2);
    assert!(connections >= 2, "the commands connected (the check is on the connection itself)");
    assert_eq!(bytes, 0, "the impostor received {bytes} bytes");
    assert_eq!(std::fs::read(&store).unwrap(), before, "nothing was done on the store instead");

    // Named as the service account (the systemd set-up), the same process is trusted and asked,
    // and one that then does not answer is reported as silent.
    let env = [("JITDESK_SERVICE_USER", login.as_str())];
    let line = refused(&run(jitdesk(home.path(), &store, &["request", "list"], &env), "request list"));
    assert!(
        line.contains(&format!("the jitdesk service on {} did not answer within 3 s", socket.display())),
        "{line}"
    );
    let (_, bytes) = impostor.heard(3);
    assert!(bytes > 0, "the service account was asked which store it serves");
}

#[test]
fn a_store_the_caller_cannot_see_trusts_only_the_configured_service_account() {
    if skipped("a_store_the_caller_cannot_see_trusts_only_the_configured_service_account") {
        return;
    }
    let pid = std::process::id();
    let login = format!("jdcaller{pid}");
    let mut accounts = Accounts::default();
    let (uid, gid) = (accounts.user(&login, None), ids(&login).1);

    // The systemd set-up: the service account's store in a folder nobody else may enter.
    let private = folder(0o700);
    let root_home = folder(0o700);
    let store = private.path().join("jitdesk.redb");
    init(&store, root_home.path());
    // The caller's socket and config, where the caller may read them.
    let public = folder(0o755);
    let socket = public.path().join("service.sock");
    let impostor = Impostor::listen(&socket, None);
    let home = public.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    let as_caller = |env: &[(&str, &str)]| {
        let mut cmd = jitdesk(&home, &store, &["request", "list"], env);
        cmd.env("JITDESK_SOCKET", &socket).uid(uid).gid(gid).stdout(Stdio::piped());
        run(cmd, "request list as the caller")
    };

    // No service account configured: the root process cannot be told from an impostor.
    let line = refused(&as_caller(&[]));
    assert!(line.contains("root (uid 0)") && line.contains(&socket.display().to_string()), "{line}");
    assert!(line.contains("you cannot see who owns the store"), "{line}");
    assert!(line.contains("service_user") && line.contains("JITDESK_SERVICE_USER"), "{line}");
    assert!(!line.contains("jitdesk init"), "not reported as a missing store: {line}");
    let (connections, bytes) = impostor.heard(1);
    assert!(connections >= 1);
    assert_eq!(bytes, 0, "the unconfigured service received {bytes} bytes");

    // Configured in config.toml: trusted, asked, and its silence reported as such.
    let config = home.join("jitdesk");
    std::fs::create_dir(&config).unwrap();
    std::fs::write(config.join("config.toml"), "service_user = \"root\"\n").unwrap();
    let line = refused(&as_caller(&[]));
    assert!(line.contains("did not answer within 3 s"), "{line}");
    assert!(!line.contains("jitdesk init"), "{line}");
    assert!(impostor.heard(2).1 > 0, "the configured account was asked");
}

#[test]
fn serve_refuses_a_socket_in_a_folder_anyone_may_write_without_the_sticky_bit() {
    let open = folder(0o777);
    let home = folder(0o700);
    let store = home.path().join("jitdesk.redb");
    init(&store, home.path());
    let socket = open.path().join("jitdesk.sock");
    let socket_arg = socket.to_str().unwrap();
    let line = refused(&run(jitdesk(home.path(), &store, &["serve", "--socket", socket_arg], &[]), "serve"));
    assert!(line.contains(&open.path().display().to_string()) && line.contains("sticky"), "{line}");
    assert!(line.contains("0777"), "says the mode: {line}");
    assert!(!socket.exists(), "no socket was made");
}

#[test]
fn serve_leaves_another_users_stale_socket_alone() {
    if skipped("serve_leaves_another_users_stale_socket_alone") {
        return;
    }
    let pid = std::process::id();
    let login = format!("jdstale{pid}");
    let mut accounts = Accounts::default();
    let (uid, gid) = (accounts.user(&login, None), ids(&login).1);
    let shared = folder(0o1777);
    let home = folder(0o700);
    let store = home.path().join("jitdesk.redb");
    init(&store, home.path());
    let socket = shared.path().join("jitdesk.sock");
    // Their socket, and nobody listens on it any more.
    drop(as_uid(uid, gid, || UnixListener::bind(&socket).expect("bind")));
    let socket_arg = socket.to_str().unwrap();
    let line = refused(&run(jitdesk(home.path(), &store, &["serve", "--socket", socket_arg], &[]), "serve"));
    assert!(line.contains("stale socket") && line.contains(&format!("{login} (uid {uid})")), "{line}");
    let meta = std::fs::symlink_metadata(&socket).expect("their socket is still there");
    assert_eq!(meta.uid(), uid);
}
