//! The CLI and the dashboard as clients of `jitdesk serve`: with a service running for their store
//! they use it (nobody sees "store in use") and answer exactly as they do on the store itself; with
//! none, or only a stale socket, they open the store as before; a restarted service loses nothing
//! acknowledged; and the dashboard follows the service live, says when it is gone, and reconnects.
//!
//! The service runs as a child process on the store's default socket (`<store>.sock`), and every
//! command finds it there by itself: no `--socket`, no `JITDESK_SOCKET`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::process::Process;
use crate::common::tmux::{STARTUP, Tmux, row_ids};
use crate::common::{self, *};

/// The longest any command may take, service or not, stopping or starting.
const NO_HANG: Duration = Duration::from_secs(5);

// ---- the service as a child process ----

struct Service {
    /// Signals, waits and the kill at the end.
    process: Process,
    socket: PathBuf,
}

impl Service {
    /// `serve` on the store's default socket, with the environment `prepare` gives. A store still
    /// held by a command that runs on it directly (the gap of a restart) is tried again for a while.
    fn start(store: &Path, prepare: impl Fn(&mut Command)) -> Service {
        let socket = PathBuf::from(format!("{}.sock", store.display()));
        let started = Instant::now();
        loop {
            let mut cmd = Command::new(BIN);
            prepare(&mut cmd);
            cmd.arg("--store").arg(store).arg("serve").stdin(Stdio::null()).stderr(Stdio::piped());
            let (mut process, line) = Process::start(&mut cmd);
            if line == format!("serving {} on {}", store.display(), socket.display()) {
                return Service { process, socket };
            }
            let status = process.child.wait().expect("wait for serve");
            let mut stderr = String::new();
            let _ = process.child.stderr.take().expect("piped stderr").read_to_string(&mut stderr);
            assert!(
                stderr.contains("in use") && started.elapsed() < Duration::from_secs(20),
                "serve did not start ({status}): {line:?} {stderr:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The environment of `common::bare_command`, for a service on `store`; its log goes beside it.
fn clean_env(store: &Store) -> impl Fn(&mut Command) + '_ {
    |cmd: &mut Command| {
        common::clean_env(cmd).env("XDG_DATA_HOME", store.dir.path());
    }
}

/// Runs a command on the store and checks it did not hang.
fn timed(s: &Store, upn: Option<&str>, args: &[&str]) -> Run {
    timed_with(s, upn, args, &[])
}

/// As `timed`, with extra environment variables.
fn timed_with(s: &Store, upn: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let all = upn.map_or_else(|| args.to_vec(), |upn| as_user(upn, args));
    let run = s.run_with(&all, env);
    assert!(started.elapsed() < NO_HANG, "jitdesk {args:?} took {:?}", started.elapsed());
    run
}

/// What the CLI answers on a store, read-only: JSON views of everything, the human tables that hold
/// no countdowns, and a few refusals (their exit code and error line).
fn answers(
    s: &Store,
    id: u64,
    refusals: &[(Option<&str>, Vec<String>)],
) -> Vec<(String, i32, String, String)> {
    let id = id.to_string();
    let reads: Vec<(Option<&str>, Vec<&str>)> = vec![
        (None, vec!["request", "list", "--json", "--limit", "1000"]),
        (None, vec!["request", "list", "--json", "--state", "approved", "--app", "prod", "--limit", "1"]),
        (None, vec!["request", "show", &id, "--json"]),
        (None, vec!["app", "list", "--json"]),
        (None, vec!["app", "list"]),
        (None, vec!["app", "show", "prod", "--json"]),
        (None, vec!["offer", "list", "--json"]),
        (None, vec!["offer", "list"]),
        (None, vec!["user", "search", "", "--json"]),
        (None, vec!["user", "search", "contoso"]),
        (None, vec!["access", "list", "--json"]),
        (None, vec!["audit", "--json", "--limit", "1000"]),
        (None, vec!["access", "check", "--app", "prod", "--user", ERIN]),
        (Some(DAVE), vec!["notifications", "--json"]),
        (Some(DAVE), vec!["request", "list", "--mine", "--json"]),
    ];
    let mut out = Vec::new();
    for (who, args) in reads {
        let run = timed(s, who, &args);
        out.push((format!("{who:?} {args:?}"), run.code, run.stdout, run.stderr));
    }
    for (who, args) in refusals {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = timed(s, *who, &args);
        let line = run.error_line().to_string();
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        out.push((format!("{who:?} {args:?}"), run.code, String::new(), line));
    }
    out
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

// ---- the CLI ----

#[test]
fn with_a_service_every_command_uses_it_and_answers_as_locally() {
    let s = directory();
    let mut service = Service::start(&s.path, clean_env(&s));
    // The service holds the store: opening it directly would be refused.
    let direct = s.run(&["init"]);
    assert_eq!(direct.code, 1, "{direct:?}");
    assert!(direct.error_line().contains("in use"), "{direct:?}");

    // Changes go through the service, which answers with what the engine did.
    let started = Instant::now();
    let id = s.create_request(DAVE, "prod", "Owner", "1h", "INC-7: through the service");
    eprintln!("request create through the service: {:?}", started.elapsed());
    let approved = s.ok_as(ALICE, &["request", "approve", &id.to_string(), "--reason", "INC-7 confirmed"]);
    assert!(approved.starts_with(&format!("request {id} Approved: access from ")), "{approved}");
    let other = s.create_request(ERIN, "prod", "Contributor", "2h", "INC-8: also through it");
    s.ok_as(ERIN, &["request", "cancel", &other.to_string()]);
    s.ok_as(ALICE, &["app", "set", "prod", "--add-approver", CAROL]);
    s.ok(&["tenant", "add", "woodgrove", "--kind", "customer"]);
    s.ok(&["user", "add", "wendy@woodgrove.com", "--tenant", "woodgrove", "--admin"]);
    let granted = timed(&s, None, &["access", "check", "--app", "prod", "--user", DAVE]);
    assert_eq!(granted.code, 0, "{granted:?}");
    assert!(granted.stdout.starts_with(&format!("{DAVE} has access to prod until ")), "{granted:?}");
    let none = timed(&s, None, &["access", "check", "--app", "prod", "--user", ERIN]);
    assert_eq!(none.code, 3, "no access exits 3: {none:?}");
    // The directory as the service's operator sees it: everything.
    let users = s.json(&["user", "search", "", "--json"]);
    assert!(users.as_array().is_some_and(|u| u.iter().any(|u| u["upn"] == "wendy@woodgrove.com")), "{users}");

    // Refusals: the same error line and exit code as the engine gives on the store itself.
    let id_text = id.to_string();
    let refusals = vec![
        (Some(BOB), v(&["request", "approve", &id_text, "--reason", "again"])),
        (Some(DAVE), v(&["request", "approve", &id_text, "--reason", "mine"])),
        (Some(CAROL), v(&["request", "deny", "999", "--reason", "none such"])),
        (Some(DAVE), v(&request_create("legacy", "Owner", "1h", "x"))),
        (Some(DAVE), v(&request_create("prod", "Owner", "9h", "x"))),
        (Some(DAVE), v(&["request", "cancel", &id_text])),
        (Some(BOB), v(&["app", "set", "prod", "--max-duration", "2h"])),
        (Some("nobody@contoso.com"), v(&["request", "approve", &id_text, "--reason", "who?"])),
        (None, v(&["tenant", "add", "contoso", "--kind", "customer"])),
        (None, v(&["notifications"])),
        (None, v(&["request", "show", "999"])),
        (None, v(&["app", "show", "nope"])),
        (None, v(&["access", "check", "--app", "nope", "--user", DAVE])),
    ];
    let second = timed(&s, Some(BOB), &["request", "approve", &id_text, "--reason", "again"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second
            .error_line()
            .starts_with(&format!("error: cannot approve request {id}: it is already Approved"))
    );

    let through_service = answers(&s, id, &refusals);
    assert_eq!(service.process.stop(), 0, "a clean stop");
    assert!(!service.socket.exists(), "the socket goes with the service");
    let on_the_store = answers(&s, id, &refusals);
    for (remote, local) in through_service.iter().zip(&on_the_store) {
        assert_eq!(remote, local, "the service's answer differs from the store's");
    }
    assert_eq!(through_service.len(), on_the_store.len());
}

#[test]
fn without_a_service_or_with_a_stale_socket_commands_run_on_the_store() {
    let s = directory();
    // No service: as always.
    let id = s.create_request(DAVE, "prod", "Owner", "1h", "INC-9: no service");
    s.ok_as(ALICE, &["request", "approve", &id.to_string(), "--reason", "ok"]);
    let refused = s.run_as(BOB, &["request", "approve", &id.to_string(), "--reason", "again"]);
    assert_eq!(refused.code, 1);
    refused.error_line();

    // A service killed with SIGKILL leaves its socket behind; nobody answers on it.
    let mut service = Service::start(&s.path, clean_env(&s));
    service.process.signal(nix::sys::signal::Signal::SIGKILL);
    service.process.wait(Duration::from_secs(5));
    assert!(service.socket.exists(), "SIGKILL leaves the socket file");
    let id = timed(&s, Some(ERIN), &request_create("prod", "Owner", "1h", "INC-10: stale socket"));
    assert_eq!(id.code, 0, "{id:?}");
    let id = parse_id(&id.stdout);
    let decided = timed(&s, Some(BOB), &["request", "deny", &id.to_string(), "--reason", "not now"]);
    assert_eq!(decided.code, 0, "{decided:?}");
    assert_eq!(s.state_of(id), "Denied");
    let check = timed(&s, None, &["access", "check", "--app", "prod", "--user", ERIN]);
    assert_eq!(check.code, 3, "{check:?}");

    // A service for another store on the socket (JITDESK_SOCKET) is not ours: the store is opened here.
    let other = Store::new();
    other.ok(&["init", "--sample"]);
    let mut foreign = Service::start(&other.path, clean_env(&other));
    let run =
        s.run_with(&["request", "list", "--json"], &[("JITDESK_SOCKET", foreign.socket.to_str().unwrap())]);
    assert_eq!(run.code, 0, "{run:?}");
    let listed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|r| r["id"] == id), "our store's requests: {listed}");
    let run = s.run_with(
        &["request", "approve", "1", "--reason", "x"],
        &[("JITDESK_SOCKET", foreign.socket.to_str().unwrap()), ("JITDESK_USER", ALICE)],
    );
    assert!(!run.stderr.contains("in use"), "{run:?}");
    assert_eq!(foreign.process.stop(), 0);
}

#[test]
fn a_stopped_service_is_reported_as_not_answering_never_as_no_store() {
    let s = directory();
    let mut service = Service::start(&s.path, clean_env(&s));
    service.process.signal(nix::sys::signal::Signal::SIGSTOP);
    let run = s.run_as(ALICE, &["request", "list"]);
    service.process.signal(nix::sys::signal::Signal::SIGCONT);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    let silent = format!("the jitdesk service on {} did not answer within 3 s", service.socket.display());
    assert!(line.contains(&silent), "{line}");
    assert!(!line.contains("jitdesk init") && !line.contains("in use"), "{line}");
    // Running again, it answers as before.
    s.ok_as(ALICE, &["request", "list"]);
    assert_eq!(service.process.stop(), 0);
}

#[test]
fn a_restarted_service_loses_nothing_acknowledged_and_never_hangs_a_command() {
    let s = directory();
    // One requester makes a hundred requests here, far past the default limits on requests per
    // requester, which are not what this test is about: the service and the CLI lift them.
    let config_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(config_dir.path().join("jitdesk")).unwrap();
    let limits = "[limits]\nrequests_per_hour = 100000\nlive_grants = 100000\n";
    std::fs::write(config_dir.path().join("jitdesk").join("config.toml"), limits).unwrap();
    let config = config_dir.path().to_str().unwrap().to_string();
    let lifted = [("XDG_CONFIG_HOME", config.as_str())];
    let serve_env = |cmd: &mut Command| {
        clean_env(&s)(cmd);
        cmd.env("XDG_CONFIG_HOME", &config);
    };
    let mut service = Service::start(&s.path, serve_env);
    let stop = AtomicBool::new(false);
    let runs = AtomicUsize::new(0);
    let (acknowledged, failures) = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let (mut acknowledged, mut failures) = (Vec::new(), Vec::new());
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let reason = format!("restart loop {n}");
                let args = request_create("dev", "Owner", "1h", &reason);
                let run = timed_with(&s, Some(DAVE), &args, &lifted);
                runs.fetch_add(1, Ordering::SeqCst);
                if run.code == 0 {
                    acknowledged.push((parse_id(&run.stdout), reason));
                } else {
                    assert_eq!(run.code, 1, "{run:?}");
                    failures.push(run.error_line().to_string());
                }
            }
            (acknowledged, failures)
        });
        let wait_for = |n: usize| {
            let start = Instant::now();
            while runs.load(Ordering::SeqCst) < n {
                assert!(start.elapsed() < Duration::from_secs(60), "the loop is stuck");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for(20);
        for round in 0..3 {
            let stopped = Instant::now();
            assert_eq!(service.process.stop(), 0, "a clean stop under load");
            eprintln!("round {round}: SIGTERM to exit under the loop: {:?}", stopped.elapsed());
            // The gap: the loop runs on the store itself.
            let gap = runs.load(Ordering::SeqCst);
            wait_for(gap + 5);
            service = Service::start(&s.path, serve_env);
            let after = runs.load(Ordering::SeqCst);
            wait_for(after + 15);
        }
        stop.store(true, Ordering::SeqCst);
        worker.join().expect("the loop")
    });
    assert_eq!(service.process.stop(), 0);
    eprintln!(
        "{} runs: {} acknowledged, {} refused: {:?}",
        acknowledged.len() + failures.len(),
        acknowledged.len(),
        failures.len(),
        failures
    );
    assert!(acknowledged.len() >= 60, "most runs succeed: {failures:?}");
    let all = s.json(&["request", "list", "--json", "--limit", "1000"]);
    let all = all.as_array().expect("a list");
    for (id, reason) in &acknowledged {
        let found = all.iter().find(|r| r["id"] == *id);
        let found = found.unwrap_or_else(|| panic!("acknowledged request {id} is missing"));
        assert_eq!(found["justification"], reason.as_str(), "request {id}");
        assert_eq!(found["requester"], DAVE, "request {id}");
    }
    let mut ids: Vec<u64> = acknowledged.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), acknowledged.len(), "ids are never given twice");
}

// ---- the dashboard, in tmux ----

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

const APPROVER: &str = "bob@contoso.com"; // approves contoso-crm and contoso-crm-eu in the sample

#[test]
fn the_dashboard_follows_the_service_live_survives_its_restart_and_reconnects() {
    let t = Tmux::new("live");
    t.cli(&["init", "--sample"]);
    let prepare = |cmd: &mut Command| t.env(cmd);
    let mut service = Service::start(&t.store(), prepare);

    t.ok(&[
        "new-session",
        "-d",
        "-s",
        "main",
        "-x",
        "120",
        "-y",
        "30",
        &format!("exec '{BIN}' --store '{}' --as {APPROVER}", t.store().display()),
    ]);
    let screen = t.wait_screen("the dashboard on the service", STARTUP, |s| {
        s.contains("Pending requests (") && header(s).contains(" service ")
    });
    assert!(!header(&screen).contains(" local "), "{screen}");

    // A request made through the CLI shows up by itself, within a second.
    let first = t.cli(&as_user(
        "dave@fabrikam.com",
        &request_create("contoso-crm-eu", "Reader", "1h", "INC-31: live"),
    ));
    let first: u64 = first.trim().parse().expect("an id");
    let made = Instant::now();
    t.wait_screen("the new request, with no keypress", Duration::from_secs(5), |s| {
        row_ids(s).contains(&first)
    });
    let shown = made.elapsed();
    eprintln!("a request made through the CLI appeared on the dashboard after {shown:?}");
    assert!(shown < Duration::from_secs(1), "the request took {shown:?} to appear");

    // The service stops: the dashboard says so, keeps the rows, and refuses changes.
    assert_eq!(service.process.stop(), 0);
    let gone = t.wait_screen("the service gone", STARTUP, |s| header(s).contains("service gone"));
    assert!(row_ids(&gone).contains(&first), "the last data stays:\n{gone}");
    // No decision is offered, and `a` says why at once, before any form to type into.
    assert!(!gone.contains("a approve"), "a decision offered while gone:\n{gone}");
    t.keys(&["a"]);
    let refused =
        t.wait_screen("the refusal", STARTUP, |s| s.contains("the service is gone, so nothing was changed"));
    assert!(!refused.contains("Approve request "), "a form opened while gone:\n{refused}");

    // It comes back: the dashboard reconnects by itself and follows it again.
    let restarted = Instant::now();
    let mut service = Service::start(&t.store(), prepare);
    let back = t.wait_screen("the reconnection", STARTUP, |s| {
        !header(s).contains("service gone") && header(s).contains(" service ")
    });
    eprintln!("reconnected {:?} after the restart", restarted.elapsed());
    assert!(row_ids(&back).contains(&first), "{back}");
    let second = t.cli(&as_user(
        "erin@fabrikam.com",
        &request_create("contoso-crm-eu", "Reader", "1h", "INC-32: after the restart"),
    ));
    let second: u64 = second.trim().parse().expect("an id");
    let made = Instant::now();
    t.wait_screen("the request made after the restart", Duration::from_secs(5), |s| {
        row_ids(s).contains(&second)
    });
    eprintln!("after the restart, a new request appeared after {:?}", made.elapsed());

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0);
    assert_eq!(service.process.stop(), 0);
}

/// What a directory user reads, as `answers` does: views, and the lines of two refusals that must
/// not tell a hidden object from a missing one.
fn views_of(s: &Store, who: &str, hidden: u64) -> Vec<(String, i32, String, String)> {
    let hidden = hidden.to_string();
    let reads: Vec<Vec<&str>> = vec![
        vec!["app", "list", "--json"],
        vec!["app", "list"],
        vec!["request", "list", "--json"],
        vec!["request", "list", "--state", "approved", "--json"],
        vec!["request", "show", &hidden],
        vec!["request", "show", "9999"],
        vec!["app", "show", "wood"],
        vec!["app", "show", "nope"],
        vec!["access", "list", "--json"],
        vec!["audit", "--json"],
    ];
    reads
        .into_iter()
        .map(|args| {
            let run = timed(s, Some(who), &args);
            (format!("{who} {args:?}"), run.code, run.stdout, run.stderr)
        })
        .collect()
}

#[test]
fn a_users_view_on_the_store_is_the_view_the_service_gives() {
    let s = directory();
    // A second customer, whose application and requests Contoso's users must not see.
    s.ok(&["tenant", "add", "woodgrove", "--kind", "customer"]);
    s.ok(&["user", "add", "wendy@woodgrove.com", "--tenant", "woodgrove", "--admin"]);
    s.ok_as("wendy@woodgrove.com", &["app", "deploy", "wood", "--offer", "crm"]);
    let hidden = s.create_request(DAVE, "wood", "Owner", "1h", "on Woodgrove's application");
    s.create_request(ERIN, "dev", "Owner", "1h", "on Contoso's application");
    s.create_request(DAVE, "prod", "Owner", "1h", "waiting for Contoso");

    let on_the_store = views_of(&s, ALICE, hidden);
    let text = |i: usize| format!("{}{}", on_the_store[i].2, on_the_store[i].3);
    assert!(!text(0).contains("wood") && text(0).contains("prod"), "alice lists only Contoso's: {}", text(0));
    assert!(!text(1).contains("wood"), "{}", text(1));
    let ids = |i: usize| -> Vec<u64> {
        serde_json::from_str::<Value>(&on_the_store[i].2)
            .expect("JSON")
            .as_array()
            .expect("an array")
            .iter()
            .map(|r| r["id"].as_u64().expect("an id"))
            .collect()
    };
    assert!(!ids(2).contains(&hidden) && ids(2).len() == 2, "{:?}", ids(2));
    assert!(!ids(3).contains(&hidden) && !ids(8).contains(&hidden), "{:?} {:?}", ids(3), ids(8));
    assert!(!text(9).contains("\"wood\""), "alice reads none of Woodgrove's history");
    // A hidden request or application answers word for word as a missing one.
    for (hidden_at, missing_at, name) in [(4, 5, hidden.to_string()), (6, 7, "wood".to_string())] {
        let (hidden_run, missing_run) = (&on_the_store[hidden_at], &on_the_store[missing_at]);
        assert_eq!(hidden_run.1, 1, "{hidden_run:?}");
        assert_eq!(missing_run.1, hidden_run.1);
        let missing_name = if name == "wood" { "nope" } else { "9999" };
        assert_eq!(hidden_run.3.replace(&name, "X"), missing_run.3.replace(missing_name, "X"));
    }
    // The operator, on the store itself, still sees everything.
    let everything = s.ok(&["app", "list"]);
    assert!(everything.contains("wood"), "{everything}");

    let mut service = Service::start(&s.path, clean_env(&s));
    let through_service = views_of(&s, ALICE, hidden);
    assert_eq!(service.process.stop(), 0, "a clean stop");
    assert_eq!(through_service.len(), on_the_store.len());
    for (remote, local) in through_service.iter().zip(&on_the_store) {
        assert_eq!(remote, local, "the service's answer differs from the store's");
    }
}

#[test]
fn a_user_nobody_knows_is_refused_and_never_sees_everything() {
    let s = directory();
    let mut refusals = Vec::new();
    let reads = [
        vec!["app", "list"],
        vec!["app", "show", "prod"],
        vec!["request", "list"],
        vec!["request", "show", "1"],
        vec!["audit"],
        vec!["access", "list"],
        vec!["access", "check", "--app", "prod", "--user", DAVE],
        vec!["offer", "list"],
        vec!["user", "search", "o"],
    ];
    for args in reads {
        let by_flag = timed(&s, Some("nobody@x.com"), &args);
        let mut cmd = s.command();
        cmd.env("JITDESK_USER", "nobody@x.com").args(&args);
        let by_env = Run::from_cmd(&mut cmd);
        for run in [by_flag, by_env] {
            assert_eq!(run.code, 1, "{args:?}: {run:?}");
            assert!(run.error_line().contains("no user `nobody@x.com`"), "{run:?}");
            assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
            refusals.push(run.stderr);
        }
    }
    // Through a service, the same refusal.
    let mut service = Service::start(&s.path, clean_env(&s));
    let remote = timed(&s, Some("nobody@x.com"), &["app", "list"]);
    assert_eq!(service.process.stop(), 0, "a clean stop");
    assert_eq!(remote.code, 1, "{remote:?}");
    assert_eq!(remote.stderr, refusals[0]);
}
