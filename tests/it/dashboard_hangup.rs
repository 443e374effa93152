//! When its terminal goes away, the dashboard ends at once, by itself, with status 1: no abort, no
//! process left, and the demo's throwaway store removed. The terminal is killed the ways it dies in
//! real life: the login shell killed (SIGKILL, SIGHUP), a `script` wrapper killed (its pty closes),
//! the tmux pane closed.
//!
//! The dashboard's own parent dies with its terminal, so the test's process makes itself the
//! "child subreaper" of everything it starts (tmux's server included): the orphaned dashboard is
//! handed to it, and its real exit status can be read. Being process-wide, that happens in a
//! process of the test's own (`common::alone`), never in the one all tests share.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::common::BIN;
use crate::common::alone::alone;
use crate::common::tmux::{POLL, STARTUP, Tmux, demo_folders};

/// The first process named `name` below `root` (children first, then theirs).
fn descendant_named(root: u32, name: &str) -> Option<u32> {
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // `pid (comm) state ppid ...`; comm may hold spaces, so split at the last `)`.
            let Some((head, tail)) = stat.rsplit_once(')') else { continue };
            let Some((pid, comm)) = head.split_once(" (") else { continue };
            let (Ok(pid), Some(ppid)) = (
                pid.trim().parse::<u32>(),
                tail.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()),
            ) else {
                continue;
            };
            if ppid != parent {
                continue;
            }
            if comm == name {
                return Some(pid);
            }
            parents.push(pid);
        }
    }
    None
}

/// Waits for `pid`, orphaned to this process once its parent died, to end; how it ended.
fn reap(pid: u32) -> WaitStatus {
    let start = Instant::now();
    loop {
        match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => return status,
            // Not handed to us yet: its parent is still on its way out.
            Err(Errno::ECHILD) => {}
            Err(e) => panic!("cannot wait for the dashboard {pid}: {e}"),
        }
        assert!(start.elapsed() < STARTUP, "the dashboard {pid} should end when its terminal goes away");
        std::thread::sleep(POLL);
    }
}

/// Runs `command` (a dashboard) in tmux, kills its terminal with `kill`, and checks that the
/// dashboard ended by itself with status 1, logging one line; its log.
fn ends_cleanly_when(t: &Tmux, command: &str, kill: impl FnOnce(&Tmux, u32)) -> String {
    nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
    t.start(120, 35, command);
    t.wait_screen("the dashboard's first screen", STARTUP, |s| s.contains("Pending requests ("));
    let pane: u32 = t.display("#{pane_pid}").parse().expect("the pane's pid");
    let pid = descendant_named(pane, "jitdesk").expect("the dashboard's process");

    kill(t, pane);
    match reap(pid) {
        WaitStatus::Exited(_, code) => assert_eq!(code, 1, "a hang-up ends the dashboard with status 1"),
        other => panic!("the dashboard should exit by itself, not {other:?} (signal 6 is an abort)"),
    }
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "no dashboard process is left");
    let log = std::fs::read_to_string(t.path("data").join("jitdesk").join("jitdesk.log")).unwrap_or_default();
    let said: Vec<&str> = log.lines().filter(|l| l.contains("the terminal went away")).collect();
    assert_eq!(said.len(), 1, "one line says why it ended:\n{log}");
    assert!(!log.contains("panic"), "no panic on the way out:\n{log}");
    log
}

/// The demo as `command`: also, its throwaway store is there while it runs and gone after.
fn demo_ends_cleanly_when(tag: &str, command: &str, kill: impl FnOnce(&Tmux, u32)) {
    let t = Tmux::new(tag);
    let tmp = t.path("tmp");
    ends_cleanly_when(&t, command, |t, pane| {
        assert_eq!(demo_folders(&tmp).len(), 1, "the demo's store folder under TMPDIR");
        kill(t, pane);
    });
    assert_eq!(demo_folders(&tmp), Vec::<String>::new(), "the demo's store folder should be removed");
}

fn signal(pid: u32, signal: &str) {
    let sent =
        Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().expect("run kill");
    assert!(sent.success(), "kill -{signal} {pid} failed");
}

/// The demo as a child of the pane's login shell.
fn under_a_shell() -> String {
    format!("'{BIN}' demo --speed 4; sleep 600")
}

#[test]
fn killing_the_login_shell_ends_the_demo_cleanly() {
    alone(|| {
        demo_ends_cleanly_when("shell-kill", &under_a_shell(), |_, shell| signal(shell, "KILL"));
    });
}

#[test]
fn hanging_up_the_login_shell_ends_the_demo_cleanly() {
    alone(|| {
        demo_ends_cleanly_when("shell-hup", &under_a_shell(), |_, shell| signal(shell, "HUP"));
    });
}

#[test]
fn killing_the_login_shell_of_a_dashboard_removes_its_socket() {
    alone(|| {
        let t = Tmux::new("dash-kill");
        t.cli(&["init", "--sample"]);
        let socket = t.path("store.redb.sock");
        let command = format!("'{BIN}' --store '{}' --as alice@contoso.com; sleep 600", t.store().display());
        ends_cleanly_when(&t, &command, |_, shell| {
            assert!(socket.exists(), "the dashboard serves its store while it runs");
            signal(shell, "KILL");
        });
        assert!(!socket.exists(), "the socket goes with the dashboard");
        // The store is free again: a command opens it itself (`cli` fails on any refusal).
        t.cli(&["request", "list"]);
    });
}

#[test]
fn killing_a_script_wrapper_ends_the_demo_cleanly() {
    alone(|| {
        let command = format!("exec script -qfec \"'{BIN}' demo --speed 4\" /dev/null");
        demo_ends_cleanly_when("script-kill", &command, |_, script| signal(script, "KILL"));
    });
}

#[test]
fn closing_the_tmux_pane_ends_the_demo_cleanly() {
    alone(|| {
        demo_ends_cleanly_when("pane-kill", &under_a_shell(), |t, _| {
            t.ok(&["kill-pane", "-t", "main"]);
        });
    });
}
