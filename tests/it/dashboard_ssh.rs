//! The dashboard over SSH, end to end: OpenSSH's client (`ssh -tt`) runs in a private tmux server
//! against `serve --ssh` on loopback, is driven by keys and read from the screen as a person would,
//! and its effects are checked through the CLI on the service's socket.

use std::process::Command;

use crate::common::ALICE;
use crate::common::ssh::{Door, openssh};
use crate::common::tmux::{POLL, STARTUP, Tmux, row_ids};

/// `cmd` as one line for tmux's shell: each word single-quoted, its environment given to `env -i`.
fn shell_line(cmd: &Command) -> String {
    let quote = |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"));
    let mut words = vec!["exec".to_string(), "env".to_string(), "-i".to_string()];
    for (name, value) in cmd.get_envs() {
        if let Some(value) = value {
            let pair = format!("{}={}", name.to_string_lossy(), value.to_string_lossy());
            words.push(quote(pair.as_ref()));
        }
    }
    words.push("TERM=xterm-256color".into());
    words.push("LANG=C.UTF-8".into());
    words.push(quote(cmd.get_program()));
    words.extend(cmd.get_args().map(quote));
    words.join(" ")
}

/// The dashboard over SSH with `key`, in `t`'s session of `w`x`h`.
fn dashboard_over_ssh(t: &Tmux, door: &Door, key: &std::path::Path, w: u16, h: u16) {
    // The session's LANG is what tells the dashboard it may draw Unicode, as for a local terminal.
    t.start(w, h, &shell_line(&door.ssh_with(key, &["-tt", "-o", "SetEnv=LANG=C.UTF-8"], &[])));
}

/// Whether process `pid` is over: gone, or dead and not reaped yet.
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

const TABS: &str = "1 Applications";

#[test]
fn the_operators_key_opens_the_dashboard_which_switches_tabs_redraws_and_quits_with_status_0() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let t = Tmux::new("ssh-dash");
    dashboard_over_ssh(&t, &door, &door.operator, 120, 35);
    // Loaded once the header says who is signed in: the operator, read-only in the workflow.
    let screen = t.wait_screen("the dashboard over SSH", STARTUP, |s| {
        s.contains(TABS) && s.lines().next().is_some_and(|h| h.contains("read-only"))
    });
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains(" ssh "), "the header says the session is over SSH:\n{screen}");
    // The operator is no directory user: the workflow is read-only for it, as on the socket.
    assert!(header.contains("read-only"), "{screen}");

    t.keys(&["4"]);
    t.wait_screen("the Access tab", STARTUP, |s| s.contains("Access ("));
    t.keys(&["Tab"]);
    t.wait_screen("the tab after Access", STARTUP, |s| !s.contains("Access ("));
    t.keys(&["3"]);
    t.wait_screen("the Requests tab", STARTUP, |s| s.contains("Pending requests ("));

    // A window change reaches the dashboard, which fills the new size.
    t.resize(90, 25);
    let screen = t.wait_screen("the redraw at 90x25", STARTUP, |s| {
        s.lines().count() == 25 && s.lines().last().is_some_and(|l| l.contains("quit"))
    });
    assert!(screen.lines().all(|l| l.chars().count() <= 90), "{screen}");

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q ends the session with status 0");
}

#[test]
fn killing_the_client_ends_its_session_and_the_service_answers_a_new_one() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let t = Tmux::new("ssh-kill");
    dashboard_over_ssh(&t, &door, &door.operator, 100, 30);
    t.wait_screen("the dashboard over SSH", STARTUP, |s| s.contains(TABS));
    let pid: i32 = t.display("#{pane_pid}").parse().expect("the pane's pid");
    let killed = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
    assert!(killed.success());
    let start = std::time::Instant::now();
    while !ended(pid) {
        assert!(start.elapsed() < STARTUP, "the killed client {pid} is still there");
        std::thread::sleep(POLL);
    }

    // The session ended on the service: one line says so, and nothing is logged as an error.
    let log = door.store.dir.path().join("jitdesk").join("jitdesk.log");
    let said = "SSH: the dashboard of the operator ended: the client went away";
    let start = std::time::Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(said) {
            break text;
        }
        assert!(start.elapsed() < STARTUP, "the service did not end the session:\n{text}");
        std::thread::sleep(POLL);
    };
    assert_eq!(text.matches(said).count(), 1, "{text}");
    assert!(!text.contains("ERROR") && !text.contains("WARN"), "{text}");

    // The service still answers commands, and a new dashboard opens and quits as the first would.
    let listed = door.ssh(&["app", "list"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let again = Tmux::new("ssh-again");
    dashboard_over_ssh(&again, &door, &door.operator, 100, 30);
    again.wait_screen("a new dashboard over SSH", STARTUP, |s| s.contains(TABS));
    again.keys(&["q"]);
    assert_eq!(again.wait_exit(STARTUP), 0);
}

#[test]
fn an_approvers_key_approves_by_keyboard_and_the_socket_says_approved() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let key = door.store.dir.path().join("alice");
    crate::common::ssh::keygen(&key);
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("alice's public key");
    door.store.ok(&["user", "key", "add", ALICE, "--key", public.trim()]);
    let t = Tmux::new("ssh-approve");
    dashboard_over_ssh(&t, &door, &key, 120, 35);
    let screen = t.wait_screen("alice's pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && !row_ids(s).is_empty()
    });
    let id = row_ids(&screen)[0];
    assert_eq!(door.store.state_of(id), "Pending");
    t.keys(&["a"]);
    t.wait_screen("the approve form", STARTUP, |s| s.contains(&format!("Approve request {id}")));
    t.type_text("approved over ssh");
    t.keys(&["Enter"]);
    t.wait_screen("the approval", STARTUP, |s| !row_ids(s).contains(&id));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0);

    assert_eq!(door.store.state_of(id), "Approved", "the socket says what the dashboard did");
    let shown = door.store.request_json(id);
    assert_eq!(shown["decision"]["by"], ALICE, "{shown:#}");
}
