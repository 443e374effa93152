//! OpenSSH's own client against a service's SSH door on loopback: keys made with `ssh-keygen`, the
//! host key pinned from `serve --print-host-key`, and `ssh` runs that never ask anything. Shared by
//! the SSH door's tests and the test of the three doors.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::process::{Process, serve_command};
use super::*;

/// ssh-keygen and ssh, or a reason to skip.
pub fn openssh() -> bool {
    let there =
        |p: &str| Command::new(p).arg("-V").output().is_ok() || Command::new(p).arg("-?").output().is_ok();
    let ok = there("ssh") && there("ssh-keygen");
    if !ok {
        eprintln!(
            "skipped: OpenSSH's ssh and ssh-keygen are not installed (.ci/run installs openssh-client)"
        );
    }
    ok
}

/// A service with the SSH door, and what a client needs to reach it.
pub struct Door {
    pub store: Store,
    pub process: Process,
    pub port: u16,
    /// The operator's key, one nobody owns, the pinned host key, the operator's keys file.
    pub operator: PathBuf,
    pub stranger: PathBuf,
    pub known_hosts: PathBuf,
    pub keys_file: PathBuf,
}

/// A new ed25519 key pair at `path` and `path.pub`, without a passphrase.
pub fn keygen(path: &Path) {
    let out =
        Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).output().unwrap();
    assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
}

/// The public line of the key pair at `path`.
pub fn public_line(path: &Path) -> String {
    std::fs::read_to_string(path.with_extension("pub")).unwrap().trim().to_string()
}

/// `serve --print-host-key` on `store`: the public line and the fingerprint.
pub fn print_host_key(store: &Store) -> (String, String) {
    let out = store.ok(&["serve", "--print-host-key"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("ssh-ed25519 ") && lines[1].starts_with("SHA256:"), "{out}");
    (lines[0].to_string(), lines[1].to_string())
}

/// `serve --ssh 127.0.0.1:0 --operator-keys KEYS` on `store`, with `extra` arguments after; the
/// service and its first line, and the SSH door's port.
pub fn start_with(store: &Store, keys_file: &Path, extra: &[&str]) -> (Process, String, u16) {
    let mut cmd = serve_command(&store.path, store.dir.path());
    cmd.env("XDG_CONFIG_HOME", store.dir.path())
        .arg("--ssh")
        .arg("127.0.0.1:0")
        .arg("--operator-keys")
        .arg(keys_file)
        .args(extra)
        .stderr(Stdio::null());
    let (process, line) = Process::start(&mut cmd);
    let port = line
        .rsplit_once(", ssh on 127.0.0.1:")
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("serve did not say where SSH answers: {line:?}"));
    (process, line, port)
}

pub fn start(store: &Store, keys_file: &Path) -> (Process, u16) {
    let (process, _, port) = start_with(store, keys_file, &[]);
    (process, port)
}

impl Door {
    /// The door on the directory fixture, with two requests of DAVE's.
    pub fn open() -> Door {
        let store = directory();
        store.create_request(DAVE, "prod", "Owner", "1h", "fix the invoices");
        store.create_request(DAVE, "dev", "Contributor", "30m", "deploy");
        Door::on(store, &[]).0
    }

    /// The door on `store` as it is, with `extra` arguments to `serve`; the service's first line.
    pub fn on(store: Store, extra: &[&str]) -> (Door, String) {
        let dir = store.dir.path().to_path_buf();
        let (operator, stranger) = (dir.join("operator"), dir.join("stranger"));
        keygen(&operator);
        keygen(&stranger);
        let keys_file = dir.join("operator_keys");
        std::fs::copy(operator.with_extension("pub"), &keys_file).unwrap();
        std::fs::set_permissions(&keys_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (public, _) = print_host_key(&store);
        let (process, line, port) = start_with(&store, &keys_file, extra);
        let known_hosts = dir.join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {public}\n")).unwrap();
        (Door { store, process, port, operator, stranger, known_hosts, keys_file }, line)
    }

    /// `ssh` with `key`, pinned to the printed host key, never asking anything; `options` go
    /// before the host, `command` after it.
    pub fn ssh_with(&self, key: &Path, options: &[&str], command: &[&str]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.store.dir.path())
            // ssh takes the first value it is given for an option: the test's go first.
            .args(options)
            .args(["-F", "/dev/null", "-i"])
            .arg(key)
            .args(["-p", &self.port.to_string()])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
            .args(["-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30"])
            .args(["--", "127.0.0.1"])
            .args(command)
            .stdin(Stdio::null());
        cmd
    }

    /// `command` over SSH with the operator's key.
    pub fn ssh(&self, command: &[&str]) -> Run {
        self.ssh_key(&self.operator, command)
    }

    /// `command` over SSH with `key` (and its certificate `key-cert.pub`, when there is one).
    pub fn ssh_key(&self, key: &Path, command: &[&str]) -> Run {
        Run::from_cmd(&mut assert_cmd::Command::from_std(self.ssh_with(key, &[], command)))
    }
}
