//! The dashboard in a private tmux server, for end-to-end tests: its own socket, folder (store,
//! config, data, temp) and environment, so nothing of the developer's own setup leaks in.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::BIN;

/// A login no directory user has, so the dashboard's identity is only ever what a test passes.
pub const NO_LOGIN: &str = "jitdesk-e2e-unmapped";
pub const POLL: Duration = Duration::from_millis(25);
/// How long a pane may take to show what a test waits for: waits end as soon as it shows, so this
/// only bounds a failure, and a full test run on two busy cores has taken over 10 s to start one.
pub const STARTUP: Duration = Duration::from_secs(30);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One test's world: a private folder (store, config, data, temp) and a private tmux server.
/// Dropping it kills the server (and so the dashboard in it) and removes the folder.
pub struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    pub fn new(tag: &str) -> Tmux {
        let dir = tempfile::Builder::new().prefix("jitdesk-e2e-").tempdir().expect("make a temp folder");
        for sub in ["config", "data", "tmp", "home", "sock"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("make a sub folder");
        }
        // A config of our own, so a user's ~/.tmux.conf cannot change sizes or key handling.
        let conf = "set -g status off\n\
                    set -g remain-on-exit on\n\
                    set -g default-terminal xterm-256color\n\
                    set -g history-limit 200\n\
                    set -g exit-empty off\n";
        std::fs::write(dir.path().join("tmux.conf"), conf).expect("write tmux.conf");
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let socket = format!("jitdesk-e2e-{tag}-{}-{n}", std::process::id());
        Tmux { socket, dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store(&self) -> PathBuf {
        self.path("store.redb")
    }

    /// The environment the dashboard and the CLI see: fixed time zone and terminal, private folders,
    /// nothing from the developer's own jitdesk setup.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("TMPDIR", self.path("tmp"))
            // tmux keeps its `-L` socket under $TMUX_TMPDIR and never removes it: keep it in the
            // test's folder, which goes when the test ends.
            .env("TMUX_TMPDIR", self.path("sock"))
            .env("TERM", "xterm-256color")
            .env("TZ", "UTC")
            .env("LANG", "C.UTF-8")
            .env("USER", NO_LOGIN)
            .env("LOGNAME", NO_LOGIN);
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        cmd.arg("-L").arg(&self.socket).arg("-f").arg(self.path("tmux.conf")).args(args);
        self.env(&mut cmd);
        cmd.output().unwrap_or_else(|e| panic!("cannot run tmux ({e}): install it (.ci/run does)"))
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The CLI on this test's store.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(BIN);
        self.env(&mut cmd);
        let out = cmd.arg("--store").arg(self.store()).args(args).output().expect("run jitdesk");
        assert!(
            out.status.success(),
            "jitdesk {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("jitdesk {args:?}: not JSON ({e}): {out}"))
    }

    /// Starts `command` (run by tmux through /bin/sh) in a detached session of `w`x`h`.
    pub fn start(&self, w: u16, h: u16, command: &str) {
        let (w, h) = (w.to_string(), h.to_string());
        self.ok(&["new-session", "-d", "-s", "main", "-x", &w, "-y", &h, command]);
    }

    pub fn capture(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "main"])
    }

    pub fn display(&self, format: &str) -> String {
        self.ok(&["display-message", "-p", "-t", "main", format]).trim_end().to_string()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    pub fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", "main", "-l", text]);
    }

    pub fn resize(&self, w: u16, h: u16) {
        let (w, h) = (w.to_string(), h.to_string());
        self.ok(&["resize-window", "-t", "main", "-x", &w, "-y", &h]);
    }

    /// Polls the screen until `done` holds; fails with the last screen after `timeout`.
    pub fn wait_screen(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if done(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the pane's process to end and returns its exit status. The process itself is
    /// watched too: under load tmux 3.3 has been seen to leave an exited pane process unreaped
    /// (a zombie) and the pane not dead for over ten seconds, so the status is read from /proc then.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        let pid: u32 = self.display("#{pane_pid}").parse().expect("the pane's pid");
        let start = Instant::now();
        loop {
            let state = self.display("#{pane_dead} #{pane_dead_status}");
            if let Some(status) = state.strip_prefix("1 ") {
                return status.trim().parse().unwrap_or_else(|_| panic!("no exit status in {state:?}"));
            }
            if let Some(status) = zombie_status(pid) {
                return status;
            }
            if start.elapsed() > timeout {
                panic!("the dashboard did not exit within {timeout:?}; the screen was:\n{}", self.capture());
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn alive(&self) -> bool {
        self.display("#{pane_dead}") == "0"
    }

    /// The dashboard's command line, for tmux.
    pub fn dashboard(&self, extra: &str) -> String {
        format!("exec '{BIN}' --store '{}' {extra}", self.store().display())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Best effort: the server may already be gone.
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The exit status of a process that has ended but was not reaped yet, from /proc/PID/stat:
/// the state is field 3 and the wait status (as waitpid reports it) field 52.
pub fn zombie_status(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() != Some(&"Z") {
        return None;
    }
    let status: i32 = fields.get(49)?.parse().ok()?;
    // Exited: the code is in the second byte; killed by a signal: 128 + the signal, as shells say.
    Some(if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) })
}

/// The ids in the first column of the table rows on screen (`│12    contoso-crm ...`).
pub fn row_ids(screen: &str) -> Vec<u64> {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// The demo's throwaway store folders in `tmp`: none may be left once a demo has ended.
pub fn demo_folders(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("jitdesk-demo-"))
                .collect()
        })
        .unwrap_or_default()
}
