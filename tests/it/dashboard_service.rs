//! A dashboard with its store open locks nobody out: it serves the store on the store's socket
//! while it runs, so commands from another terminal and a second dashboard go through it, and the
//! socket goes when it quits. The real binary runs in tmux (see tests/dashboard_e2e.rs); the other
//! terminal is a plain child process of the test.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::common::BIN;
use crate::common::tmux::{POLL, STARTUP, Tmux, row_ids};

const APPROVER: &str = "alice@contoso.com";

/// A command on the test's store from another terminal: its exit code and both outputs.
fn other_terminal(t: &Tmux, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    t.env(&mut cmd);
    let out = cmd.arg("--store").arg(t.store()).args(args).output().expect("run jitdesk");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The sample's first pending request: its id, application and requester.
fn first_pending(t: &Tmux) -> (u64, String, String) {
    let list = t.json(&["request", "list", "--state", "pending", "--json", "--limit", "100"]);
    let first = &list.as_array().expect("a JSON array")[0];
    let text = |key: &str| first[key].as_str().expect("a string").to_string();
    (first["id"].as_u64().expect("an id"), text("application"), text("requester"))
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < STARTUP, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// The dashboard on the test's store, with its first screen up and its socket there.
fn start_dashboard(t: &Tmux, socket: &Path, id: u64) {
    t.start(120, 35, &t.dashboard(&format!("--as {APPROVER}")));
    t.wait_screen("the pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s).contains(&id)
    });
    wait_for("the dashboard's socket", || socket.exists());
}

#[test]
fn commands_from_another_terminal_go_through_a_running_dashboard_which_shows_them_live() {
    let t = Tmux::new("served");
    t.cli(&["init", "--sample"]);
    let (id, app, requester) = first_pending(&t);
    let socket = t.path("store.redb.sock");
    start_dashboard(&t, &socket, id);

    let check = ["access", "check", "--app", app.as_str(), "--user", requester.as_str()];
    let (code, out, err) = other_terminal(&t, &check);
    assert_eq!(code, 3, "no access yet, and the store is not \"in use\": {out}{err}");
    assert!(out.contains("has no access") && err.is_empty(), "stdout {out:?}, stderr {err:?}");

    let id_text = id.to_string();
    let approve =
        ["--as", APPROVER, "request", "approve", id_text.as_str(), "--reason", "from another terminal"];
    let (code, out, err) = other_terminal(&t, &approve);
    assert_eq!(code, 0, "the approval should go through the dashboard: {out}{err}");
    assert!(out.contains(&format!("request {id} Approved")), "{out}");
    // The dashboard sees the change without a keypress: the request leaves its pending list.
    t.wait_screen("the approved request to leave the list", STARTUP, |s| {
        s.contains("Pending requests (") && !row_ids(s).contains(&id)
    });
    let (code, out, err) = other_terminal(&t, &check);
    assert_eq!(code, 0, "access now: {out}{err}");

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q ends the dashboard with status 0");
    assert!(!socket.exists(), "the dashboard's socket should go when it quits");
    // And the store is free for commands of their own again.
    let (code, out, err) = other_terminal(&t, &check);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_second_dashboard_on_the_same_store_uses_the_first_ones_service() {
    let t = Tmux::new("second");
    t.cli(&["init", "--sample"]);
    let (id, _, _) = first_pending(&t);
    let socket = t.path("store.redb.sock");
    start_dashboard(&t, &socket, id);

    t.ok(&["new-window", "-t", "main", &t.dashboard(&format!("--as {APPROVER}"))]);
    let second = || t.ok(&["capture-pane", "-p", "-t", "main:1"]);
    let start = Instant::now();
    let mut screen = second();
    while !(screen.contains(" service ") && row_ids(&screen).contains(&id)) {
        assert!(
            start.elapsed() < STARTUP,
            "the second dashboard should show the store through the service:\n{screen}"
        );
        std::thread::sleep(POLL);
        screen = second();
    }
    assert!(!screen.contains("in use"), "{screen}");

    // A decision made elsewhere reaches both, live.
    let id_text = id.to_string();
    let (code, out, err) =
        other_terminal(&t, &["--as", APPROVER, "request", "deny", id_text.as_str(), "--reason", "not now"]);
    assert_eq!(code, 0, "{out}{err}");
    t.wait_screen("the first dashboard to drop the denied request", STARTUP, |s| !row_ids(s).contains(&id));
    wait_for("the second dashboard to drop it", || !row_ids(&second()).contains(&id));

    t.ok(&["send-keys", "-t", "main:1", "q"]);
    t.ok(&["send-keys", "-t", "main:0", "q"]);
    wait_for("the socket to go", || !socket.exists());
}

#[test]
fn a_dashboard_that_may_not_serve_in_a_folder_carries_on_and_logs_why() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tmux::new("unsafe");
    t.cli(&["init", "--sample"]);
    let (id, _, _) = first_pending(&t);
    // Anyone may write here and there is no sticky bit: anyone could replace a socket in it.
    let open = t.path("open");
    std::fs::create_dir(&open).expect("make a folder");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod 777");
    let socket = open.join("j.sock");
    let command =
        format!("JITDESK_SOCKET='{}' {}", socket.display(), t.dashboard(&format!("--as {APPROVER}")));
    t.start(120, 35, &command);
    t.wait_screen("the dashboard", STARTUP, |s| s.contains("Pending requests (") && row_ids(s).contains(&id));
    assert!(t.alive(), "the dashboard should carry on without serving");
    let log = t.path("data").join("jitdesk").join("jitdesk.log");
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the log line", || logged().contains("not serving"));
    let line = logged().lines().find(|l| l.contains("not serving")).map(str::to_string).unwrap_or_default();
    assert!(line.contains("no sticky bit") && line.contains(&socket.display().to_string()), "{line}");
    assert!(!socket.exists(), "no socket in a folder anyone may write");
    // A command on the store waits a moment for the dashboard to answer, then says who holds it.
    let pid = t.display("#{pane_pid}");
    let (code, out, err) = other_terminal(&t, &["request", "list"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("in use") && err.contains(&format!("dashboard (pid {pid}) that does not answer")),
        "{err}"
    );

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0);
}
