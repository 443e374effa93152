//! End-to-end tests of the dashboard: the real binary runs in a detached tmux session and is driven
//! through tmux the way a person drives it through a terminal (keys in, screen out).
//!
//! Every test has its own tmux server (`tmux -L <unique>`), its own temporary store, config, data and
//! temp folders, and a guard that kills the server when the test ends, passed or failed. tmux is
//! required: `.ci/run` installs it when it is missing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::tmux::{STARTUP, Tmux, demo_folders, row_ids};
use crate::common::{BIN, as_user, request_create};

const APPROVER: &str = "alice@contoso.com";

fn requests(t: &Tmux) -> Vec<Value> {
    t.json(&["request", "list", "--json", "--limit", "100"]).as_array().expect("a JSON array").clone()
}

fn state_of(r: &Value) -> &str {
    r["jitRequestState"].as_str().unwrap_or("?")
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
    let mut pending: Vec<&Value> = before.iter().filter(|r| state_of(r) == "Pending").collect();
    assert!(pending.len() >= 2, "the sample should have pending requests: {before:#?}");
    // The dashboard lists the soonest due first, and selects it: RFC 3339 times in UTC sort as text.
    pending.sort_by_key(|r| r["decideBy"].as_str().unwrap_or_default().to_string());
    let id = pending[0]["id"].as_u64().expect("an id");
    let other = pending[1]["id"].as_u64().expect("an id");

    t.start(120, 35, &t.dashboard(&format!("--as {APPROVER}")));
    let screen = t.wait_screen("the pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s).contains(&id)
    });
    assert_eq!(
        row_ids(&screen).first(),
        Some(&id),
        "the soonest due pending request should be the first row:\n{screen}"
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
#[test]
fn the_selection_stays_on_request_10_while_three_requests_arrive() {
    let t = Tmux::new("stays");
    t.cli(&["init", "--sample"]);
    // contoso-crm-dev approves by itself: made manual, its requests wait like the others.
    t.cli(&[
        "--as",
        APPROVER,
        "app",
        "set",
        "contoso-crm-dev",
        "--approval",
        "manual",
        "--add-approver",
        APPROVER,
    ]);
    t.start(120, 35, &t.dashboard(&format!("--as {APPROVER}")));
    t.wait_screen("the pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s).contains(&10)
    });
    // Everything Alice can see, so that requests on contoso-crm-eu (Bob's) arrive too; 10 is due
    // first, so `g` puts the cursor on it.
    t.keys(&["m", "g"]);
    let screen = t.wait_screen("everything", STARTUP, |s| s.contains("everything I can see"));
    assert_eq!(row_ids(&screen).first(), Some(&10), "{screen}");

    for (who, app) in [
        ("dave@fabrikam.com", "contoso-crm-eu"),
        ("erin@fabrikam.com", "contoso-crm-eu"),
        ("dave@fabrikam.com", "contoso-crm-dev"),
    ] {
        // Through the dashboard's own socket: it serves its store while it runs.
        t.cli(&as_user(who, &request_create(app, "Reader", "1h", "e2e arrival")));
    }
    let screen = t.wait_screen("three arrivals", STARTUP, |s| title_count(s, "Pending requests") == Some(5));
    assert_ne!(row_ids(&screen).first(), Some(&10), "some arrived above it:\n{screen}");
    t.keys(&["a"]);
    t.wait_screen("the approve form of request 10", STARTUP, |s| s.contains("Approve request 10"));
    t.keys(&["Escape"]);
    t.wait_screen("the form to close", STARTUP, |s| !s.contains("Approve request 10"));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q should end the dashboard with status 0");
}

fn activity(screen: &str, title: &str) -> (Vec<u64>, Option<u64>, Option<u64>) {
    let mut ids = row_ids(screen);
    ids.sort_unstable();
    (ids, title_count(screen, title), badge(screen))
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
/// the terminal settings (raw mode) are back to what they were. SIGTERM asks it to stop (status 0);
/// SIGHUP says its terminal went away (status 1).
fn signal_restores_the_terminal(tag: &str, signal: &str, status: i32) {
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
        screen.contains(&format!("EXIT={status} TTY=restored")),
        "SIG{signal} should end the dashboard with status {status} and leave the tty as it was:\n{screen}"
    );
    assert!(
        screen.lines().next().is_some_and(|l| l.starts_with("BEFORE-MARKER")),
        "back on the normal screen, the shell's earlier output should be visible where it was:\n{screen}"
    );
    assert!(!screen.contains("Pending requests"), "nothing of the dashboard should be left:\n{screen}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the dashboard process {pid} should be gone");
    assert!(!t.path("store.redb.sock").exists(), "the socket it served the store on should be gone");
    assert_eq!(t.display("#{alternate_on}"), "0", "the alternate screen should be left");
    assert_eq!(t.display("#{cursor_flag}"), "1", "the cursor should be visible again");
    assert_eq!(t.display("#{mouse_any_flag}"), "0", "no mouse reporting should be left on");
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal("term", "TERM", 0);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("hup", "HUP", 1);
}

#[test]
fn approver_marks_two_requests_and_approves_both_with_one_reason() {
    let t = Tmux::new("bulk");
    t.cli(&["init", "--sample"]);
    let mut pending: Vec<Value> = requests(&t).into_iter().filter(|r| state_of(r) == "Pending").collect();
    pending.sort_by_key(|r| r["decideBy"].as_str().unwrap_or_default().to_string());
    let ids: Vec<u64> = pending.iter().take(2).filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids.len(), 2, "the sample should have two pending requests: {pending:#?}");

    t.start(120, 35, &t.dashboard(&format!("--as {APPROVER}")));
    t.wait_screen("the pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && ids.iter().all(|id| row_ids(s).contains(id))
    });
    // Space on the first row, down, Space on the second.
    t.keys(&["Space", "j", "Space"]);
    t.wait_screen("two marks", STARTUP, |s| s.contains("2 marked"));
    t.keys(&["a"]);
    t.wait_screen("the bulk form", STARTUP, |s| s.contains("Approve 2 marked requests"));
    let reason = "e2e bulk approval via tmux";
    t.type_text(reason);
    t.wait_screen("the typed reason", STARTUP, |s| s.contains(reason));
    t.keys(&["Enter"]);
    t.wait_screen("the summary", STARTUP, |s| s.contains("approved 2"));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q should end the dashboard with status 0");

    for id in ids {
        let shown = t.json(&["request", "show", &id.to_string(), "--json"]);
        assert_eq!(state_of(&shown), "Approved", "{shown:#}");
        assert_eq!(shown["decision"]["by"], APPROVER, "{shown:#}");
        assert_eq!(shown["decision"]["reason"], reason, "{shown:#}");
    }
}
