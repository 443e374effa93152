//! End-to-end tests of the dashboard: the real binary runs in a detached tmux session and is driven
//! through tmux the way a person drives it through a terminal (keys in, screen out).
//!
//! Every test has its own tmux server (`tmux -L <unique>`), its own temporary store, config, data and
//! temp folders, and a guard that kills the server when the test ends, passed or failed. tmux is
//! required: `.ci/run` installs it when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
const APPROVER: &str = "alice@contoso.com";
/// An OS login that no sample user has, so identity only comes from `--as`.
const NO_LOGIN: &str = "jitdesk-e2e-unmapped";
const POLL: Duration = Duration::from_millis(50);
const STARTUP: Duration = Duration::from_secs(10);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One test's world: a private folder (store, config, data, temp) and a private tmux server.
/// Dropping it kills the server (and so the dashboard in it) and removes the folder.
struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
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

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> PathBuf {
        self.path("store.redb")
    }

    /// The environment the dashboard and the CLI see: fixed time zone and terminal, private folders,
    /// nothing from the developer's own jitdesk setup.
    fn env(&self, cmd: &mut Command) {
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

    fn tmux(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        cmd.arg("-L").arg(&self.socket).arg("-f").arg(self.path("tmux.conf")).args(args);
        self.env(&mut cmd);
        cmd.output().unwrap_or_else(|e| panic!("cannot run tmux ({e}): install it (.ci/run does)"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The CLI on this test's store.
    fn cli(&self, args: &[&str]) -> String {
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

    fn json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("jitdesk {args:?}: not JSON ({e}): {out}"))
    }

    /// Starts `command` (run by tmux through /bin/sh) in a detached session of `w`x`h`.
    fn start(&self, w: u16, h: u16, command: &str) {
        let (w, h) = (w.to_string(), h.to_string());
        self.ok(&["new-session", "-d", "-s", "main", "-x", &w, "-y", &h, command]);
    }

    fn capture(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "main"])
    }

    fn display(&self, format: &str) -> String {
        self.ok(&["display-message", "-p", "-t", "main", format]).trim_end().to_string()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", "main", "-l", text]);
    }

    fn resize(&self, w: u16, h: u16) {
        let (w, h) = (w.to_string(), h.to_string());
        self.ok(&["resize-window", "-t", "main", "-x", &w, "-y", &h]);
    }

    /// Polls the screen until `done` holds; fails with the last screen after `timeout`.
    fn wait_screen(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
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
    fn wait_exit(&self, timeout: Duration) -> i32 {
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

    fn alive(&self) -> bool {
        self.display("#{pane_dead}") == "0"
    }

    /// The dashboard's command line, for tmux.
    fn dashboard(&self, extra: &str) -> String {
        format!("exec '{BIN}' --store '{}' {extra}", self.store().display())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Best effort: the server may already be gone.
        let _ = self.tmux(&["kill-server"]);
    }
}

fn requests(t: &Tmux) -> Vec<Value> {
    t.json(&["request", "list", "--json", "--limit", "100"]).as_array().expect("a JSON array").clone()
}

fn state_of(r: &Value) -> &str {
    r["jitRequestState"].as_str().unwrap_or("?")
}

/// The ids in the first column of the table rows on screen (`│12    contoso-crm ...`).
fn row_ids(screen: &str) -> Vec<u64> {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// The number in a title like `Pending requests (2)`.
fn title_count(screen: &str, title: &str) -> Option<u64> {
    let start = screen.find(&format!("{title} ("))? + title.len() + 2;
    let rest = &screen[start..];
    rest[..rest.find(')')?].parse().ok()
}

/// `2 waiting for you` in the header.
fn badge(screen: &str) -> Option<u64> {
    let header = screen.lines().next()?;
    let at = header.find(" waiting for you")?;
    header[..at].split_whitespace().last()?.parse().ok()
}

#[test]
fn approver_approves_through_the_keyboard_and_the_engine_records_it() {
    let t = Tmux::new("approve");
    t.cli(&["init", "--sample"]);
    let before = requests(&t);
    let pending: Vec<&Value> = before.iter().filter(|r| state_of(r) == "Pending").collect();
    assert!(pending.len() >= 2, "the sample should have pending requests: {before:#?}");
    // Newest first, in the CLI as on the dashboard: the first pending row is the one selected.
    let id = pending[0]["id"].as_u64().expect("an id");
    let other = pending[1]["id"].as_u64().expect("an id");

    t.start(120, 35, &t.dashboard(&format!("--as {APPROVER}")));
    let screen = t.wait_screen("the pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s).contains(&id)
    });
    assert_eq!(
        row_ids(&screen).first(),
        Some(&id),
        "the newest pending request should be the first row:\n{screen}"
    );
    assert!(screen.contains(APPROVER), "the header should show who is signed in:\n{screen}");

    t.keys(&["a"]);
    let form = format!("Approve request {id}");
    t.wait_screen("the approve form", STARTUP, |s| s.contains(&form));
    let reason = format!("e2e approval of {id} via tmux");
    t.type_text(&reason);
    t.wait_screen("the typed reason", STARTUP, |s| s.contains(&reason));
    t.keys(&["Enter"]);
    let toast = format!("request {id} Approved");
    let screen = t.wait_screen("the approval to show", STARTUP, |s| {
        !s.contains(&form) && (s.contains(&toast) || !row_ids(s).contains(&id))
    });
    let screen = if row_ids(&screen).contains(&id) {
        t.wait_screen("the approved row to leave the list", STARTUP, |s| !row_ids(s).contains(&id))
    } else {
        screen
    };
    assert!(row_ids(&screen).contains(&other), "the other pending request should stay:\n{screen}");

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q should end the dashboard with status 0");

    let after = requests(&t);
    assert_eq!(after.len(), before.len(), "no request should appear or vanish");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a["id"], b["id"], "the list order should not change");
        let n = a["id"].as_u64().unwrap_or(0);
        if n == id {
            assert_eq!(state_of(b), "Pending");
            assert_eq!(state_of(a), "Approved", "request {id} should be approved: {a:#}");
        } else {
            assert_eq!(state_of(a), state_of(b), "request {n} should not change: {a:#}");
        }
    }

    let shown = t.json(&["request", "show", &id.to_string(), "--json"]);
    assert_eq!(state_of(&shown), "Approved", "{shown:#}");
    assert_eq!(shown["decision"]["by"], APPROVER, "{shown:#}");
    assert_eq!(shown["decision"]["reason"], reason.as_str(), "{shown:#}");
    assert!(shown["grantedFrom"].is_string(), "an approved request has an access window: {shown:#}");
    let history = shown["history"].as_array().expect("the history");
    assert!(
        history.iter().any(|h| h["action"] == "request.approve"
            && h["actor"] == APPROVER
            && h["reason"] == reason.as_str()),
        "the audit history should record alice's approval with the reason: {history:#?}"
    );
}

/// What says "something happened" on a screen, leaving out clocks and countdowns.
fn activity(screen: &str, title: &str) -> (Vec<u64>, Option<u64>, Option<u64>) {
    let mut ids = row_ids(screen);
    ids.sort_unstable();
    (ids, title_count(screen, title), badge(screen))
}

fn demo_folders(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("jitdesk-demo-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `jitdesk demo --speed 4`, optionally switches tab (before the first capture), then waits with
/// no keypress for what is listed to change (with `badge`, the header's badge counts too); quits and
/// checks the demo store is gone.
fn demo_changes_by_itself(tag: &str, tab: Option<(&str, &str)>, badge: bool) {
    let t = Tmux::new(tag);
    let tmp = t.path("tmp");
    t.start(120, 35, &format!("exec '{BIN}' demo --speed 4"));
    t.wait_screen("the demo's first screen", STARTUP, |s| s.contains("Pending requests ("));
    let folders = demo_folders(&tmp);
    assert_eq!(folders.len(), 1, "the demo should make one store folder under TMPDIR: {folders:?}");
    assert!(tmp.join(&folders[0]).join("demo.redb").exists(), "the demo store should be in {}", folders[0]);

    let title = match tab {
        Some((key, title)) => {
            t.keys(&[key]);
            t.wait_screen(title, STARTUP, |s| s.contains(&format!("{title} (")));
            title
        }
        None => "Pending requests",
    };
    let seen = |s: &str| {
        let (ids, count, waiting) = activity(s, title);
        (ids, count, if badge { waiting } else { None })
    };
    let first = seen(&t.capture());
    // No key from here on: only the simulation can change what is listed.
    let started = Instant::now();
    let later =
        t.wait_screen("new activity without a keypress", Duration::from_secs(20), |s| seen(s) != first);
    assert!(t.alive(), "the demo should still run");
    eprintln!("demo, `{title}` after {:?}: {first:?} -> {:?}", started.elapsed(), seen(&later));

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q should end the demo with status 0");
    assert_eq!(demo_folders(&tmp), Vec::<String>::new(), "the demo store should be removed on exit");
}

#[test]
fn demo_first_screen_changes_without_a_keypress_and_cleans_up() {
    demo_changes_by_itself("demo-first", None, true);
}

#[test]
fn demo_access_tab_lists_new_grants_without_a_keypress() {
    demo_changes_by_itself("demo-access", Some(("4", "Access")), false);
}

#[test]
fn resize_to_too_small_and_back_keeps_running() {
    let t = Tmux::new("resize");
    t.cli(&["init", "--sample"]);
    t.start(100, 30, &t.dashboard(&format!("--as {APPROVER}")));
    let tabs = "1 Applications   2 JIT settings   3 Requests   4 Access   5 Activity";
    t.wait_screen("the dashboard", STARTUP, |s| s.contains(tabs) && s.contains("Pending requests ("));

    t.resize(30, 8);
    assert_eq!(t.display("#{pane_width}x#{pane_height}"), "30x8");
    let screen =
        t.wait_screen("the too-small notice", STARTUP, |s| s.starts_with("too small: 30x8, need 60x12"));
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "the notice should be one line and nothing else:\n{screen}");
    assert!(!screen.contains('│') && !screen.contains("Pending"), "no broken layout:\n{screen}");
    assert!(t.alive(), "the dashboard should survive a tiny terminal");

    t.resize(1, 1);
    t.wait_screen("the notice cut to 1x1", STARTUP, |s| s.trim() == "t");
    assert!(t.alive(), "the dashboard should survive 1x1");

    t.resize(100, 30);
    assert_eq!(t.display("#{pane_width}x#{pane_height}"), "100x30");
    let screen =
        t.wait_screen("the tabs again", STARTUP, |s| s.contains(tabs) && s.contains("Pending requests ("));
    assert!(!screen.contains("too small"), "{screen}");
    assert_eq!(screen.lines().count(), 30, "the layout should fill the new size:\n{screen}");
    assert!(
        screen.lines().last().is_some_and(|l| l.contains("q") && l.contains("quit")),
        "the footer:\n{screen}"
    );

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0);
}

/// The exit status of a process that has ended but was not reaped yet, from /proc/PID/stat:
/// the state is field 3 and the wait status (as waitpid reports it) field 52.
fn zombie_status(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() != Some(&"Z") {
        return None;
    }
    let status: i32 = fields.get(49)?.parse().ok()?;
    // Exited: the code is in the second byte; killed by a signal: 128 + the signal, as shells say.
    Some(if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) })
}

/// The pid of the dashboard, a child of the pane's shell.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split at the last `)`.
        let Some((head, tail)) = stat.rsplit_once(')') else { continue };
        let Some((pid, comm)) = head.split_once(" (") else { continue };
        let ppid = tail.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if comm == name && ppid == Some(parent) {
            return pid.trim().parse().ok();
        }
    }
    None
}

/// The dashboard run from a shell that prints before it, and after it its exit status and whether
/// the terminal settings (raw mode) are back to what they were.
fn signal_restores_the_terminal(tag: &str, signal: &str) {
    let t = Tmux::new(tag);
    t.cli(&["init", "--sample"]);
    let script = format!(
        "#!/bin/sh\n\
         echo BEFORE-MARKER earlier shell output\n\
         saved=$(stty -g)\n\
         '{BIN}' --store '{}' --as {APPROVER}\n\
         status=$?\n\
         if [ \"$(stty -g)\" = \"$saved\" ]; then tty=restored; else tty=changed; fi\n\
         echo \"EXIT=$status TTY=$tty\"\n\
         echo AFTER-DONE\n\
         exec sleep 600\n",
        t.store().display()
    );
    let path = t.path("run.sh");
    std::fs::write(&path, script).expect("write the script");
    t.start(100, 30, &format!("exec /bin/sh '{}'", path.display()));
    t.wait_screen("the dashboard", STARTUP, |s| s.contains("Pending requests ("));
    assert_eq!(t.display("#{alternate_on}"), "1", "the dashboard should use the alternate screen");
    assert!(!t.capture().contains("BEFORE-MARKER"), "the shell's output is hidden while the dashboard runs");

    let shell: u32 = t.display("#{pane_pid}").parse().expect("the pane's pid");
    let pid = child_named(shell, "jitdesk").expect("the dashboard's process");
    let sent =
        Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().expect("run kill");
    assert!(sent.success(), "kill -{signal} {pid} failed");

    let screen = t.wait_screen("the shell after the dashboard", STARTUP, |s| s.contains("AFTER-DONE"));
    assert!(
        screen.contains("EXIT=0 TTY=restored"),
        "SIGTERM/SIGHUP should end the dashboard with status 0 and leave the tty as it was:\n{screen}"
    );
    assert!(
        screen.lines().next().is_some_and(|l| l.starts_with("BEFORE-MARKER")),
        "back on the normal screen, the shell's earlier output should be visible where it was:\n{screen}"
    );
    assert!(!screen.contains("Pending requests"), "nothing of the dashboard should be left:\n{screen}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the dashboard process {pid} should be gone");
    assert_eq!(t.display("#{alternate_on}"), "0", "the alternate screen should be left");
    assert_eq!(t.display("#{cursor_flag}"), "1", "the cursor should be visible again");
    assert_eq!(t.display("#{mouse_any_flag}"), "0", "no mouse reporting should be left on");
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal("term", "TERM");
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("hup", "HUP");
}
