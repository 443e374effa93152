//! A client given several endpoints (`JITDESK_URL=https://a,https://b`) moves to the next when one
//! dies. Two services, each on a store of its own, stand in for two replicas of one service: their
//! data differs, so each test sees which one answered. The CLI's reads and writes reach the second
//! when the first was killed (SIGKILL) or never started; the dashboard connected to the first
//! carries on through the second, shows its data and takes a decision there.

use nix::sys::signal::Signal;

use crate::common::https::*;
use crate::common::process::Process;
use crate::common::tmux::{STARTUP, Tmux, row_ids};
use crate::common::*;

/// A port on loopback where nothing listens: a replica that was never started.
fn never_started() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// `JITDESK_URL` naming the replicas on `ports`, in order.
fn urls(ports: &[u16]) -> String {
    ports.iter().map(|p| format!("https://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
}

/// The CLI as Alice (her client certificate) through the replicas on `ports`; no store of its own.
fn cli(pki: &Pki, ports: &[u16], args: &[&str]) -> Run {
    let mut cmd = bare_command();
    cmd.env("XDG_CONFIG_HOME", pki.path("config"))
        .env("JITDESK_URL", urls(ports))
        .env("JITDESK_CERT", pki.path("alice.pem"))
        .env("JITDESK_KEY", pki.path("alice-key.pem"))
        .arg("--store")
        .arg(pki.path("none.redb"))
        .arg("--ca")
        .arg(pki.path("ca.pem"))
        .args(args);
    Run::from_cmd(&mut cmd)
}

/// The reasons of the requests a list answer holds: which replica answered.
fn reasons(run: Run) -> Vec<String> {
    let list = ["request", "list", "--json"];
    let listed = parse_json(&list, &expect_ok(&list, run));
    let items = listed.as_array().expect("a JSON array");
    items.iter().map(|r| r["justification"].as_str().unwrap_or_default().to_string()).collect()
}

/// Two replicas with different data: `a` holds one request asked "on a", `b` one asked "on b".
fn two() -> (Store, u64, Store, u64) {
    let a = directory();
    let on_a = a.create_request(DAVE, "prod", "Owner", "1h", "asked on a");
    let b = directory();
    let on_b = b.create_request(DAVE, "prod", "Owner", "1h", "asked on b");
    (a, on_a, b, on_b)
}

fn kill(process: &mut Process) {
    process.signal(Signal::SIGKILL);
    process.wait(STARTUP);
}

#[test]
fn cli_reads_and_writes_reach_the_second_when_the_first_is_killed() {
    let (a, _, b, on_b) = two();
    let pki = Pki::with_clients(&[("alice", ALICE)]);
    let (mut first, port_a) = start(&a, &pki);
    let (_second, port_b) = start(&b, &pki);
    let both = [port_a, port_b];
    let list = ["request", "list", "--json"];
    assert_eq!(reasons(cli(&pki, &both, &list)), ["asked on a"], "the first answers while it runs");

    kill(&mut first);
    assert_eq!(reasons(cli(&pki, &both, &list)), ["asked on b"]);
    let id = on_b.to_string();
    let approve = ["request", "approve", id.as_str(), "--reason", "approved on b"];
    expect_ok(&approve, cli(&pki, &both, &approve));
    let shown = b.request_json(on_b);
    assert_eq!(shown["jitRequestState"], "Approved", "{shown:#}");
    assert_eq!(shown["decision"]["reason"], "approved on b", "{shown:#}");
}

#[test]
fn a_replica_never_started_is_passed_over_and_all_down_is_one_line() {
    let (_, _, b, on_b) = two();
    let pki = Pki::with_clients(&[("alice", ALICE)]);
    let (_second, port_b) = start(&b, &pki);
    let nobody = never_started();
    let list = ["request", "list", "--json"];
    assert_eq!(reasons(cli(&pki, &[nobody, port_b], &list)), ["asked on b"]);
    let id = on_b.to_string();
    let deny = ["request", "deny", id.as_str(), "--reason", "denied on b"];
    expect_ok(&deny, cli(&pki, &[nobody, port_b], &deny));
    assert_eq!(b.state_of(on_b), "Denied");

    let other = never_started();
    let before = b.snapshot();
    let run = cli(&pki, &[nobody, other], &["request", "cancel", id.as_str()]);
    assert_ne!(run.code, 0, "{run:?}");
    let line = run.error_line();
    for port in [nobody, other] {
        assert!(line.contains(&format!("https://127.0.0.1:{port}")), "each is named: {line}");
    }
    assert!(line.contains("nothing was changed"), "{line}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    assert_eq!(b.snapshot(), before);
}

#[test]
fn the_dashboard_carries_on_through_the_second_and_decides_there() {
    let (a, on_a, b, _) = two();
    // A request on the second alone, which Alice is to decide once the first is gone.
    let only_b = b.create_request(ERIN, "prod", "Contributor", "2h", "only on b");
    assert_ne!(only_b, on_a, "the replicas' rows tell them apart");
    let pki = Pki::with_clients(&[("alice", ALICE)]);
    let (mut first, port_a) = start(&a, &pki);
    let (_second, port_b) = start(&b, &pki);

    let t = Tmux::new("failover");
    let command = format!(
        "JITDESK_URL={} JITDESK_CERT='{}' JITDESK_KEY='{}' exec '{}' --store '{}' --ca '{}'",
        urls(&[port_a, port_b]),
        pki.path("alice.pem").display(),
        pki.path("alice-key.pem").display(),
        BIN,
        t.path("none.redb").display(),
        pki.path("ca.pem").display()
    );
    t.start(120, 35, &command);
    let screen = t.wait_screen("the first replica's pending request", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s) == [on_a]
    });
    assert!(screen.contains(ALICE) || screen.contains("Alice"), "signed in as Alice:\n{screen}");

    kill(&mut first);
    let moved = format!("now on https://127.0.0.1:{port_b}");
    t.wait_screen("the toast naming the second replica", STARTUP, |s| s.contains(&moved));
    t.wait_screen("the second replica's requests", STARTUP, |s| row_ids(s).contains(&only_b));
    // The selection stays on the id it was on (the first replica's request, the first row); the
    // request only the second has is the row below it.
    t.keys(&["Down"]);
    t.keys(&["a"]);
    let form = format!("Approve request {only_b}");
    t.wait_screen("the approve form of the second's own request", STARTUP, |s| s.contains(&form));
    let reason = "approved on b after failover";
    t.type_text(reason);
    t.wait_screen("the typed reason", STARTUP, |s| s.contains(reason));
    t.keys(&["Enter"]);
    t.wait_screen("the approved row to leave the list", STARTUP, |s| {
        !s.contains("Approve request ") && !row_ids(s).contains(&only_b)
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q ends the dashboard with status 0");
    let shown = b.request_json(only_b);
    assert_eq!(shown["jitRequestState"], "Approved", "{shown:#}");
    assert_eq!(shown["decision"]["by"], ALICE, "{shown:#}");
    assert_eq!(shown["decision"]["reason"], reason, "{shown:#}");
}
