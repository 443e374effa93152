//! Several approvals through the binary, on the store and through its service: the same answers
//! either way. A policy requires N approvals (`--approvals-required`), a request waits pending
//! until N different approvers approved it, and every view says how far it is ("1 of 2
//! approvals") and who approved.

use crate::common::serve::Serve;
use crate::common::*;
use serde_json::Value;

/// `prod` (manual, approvers alice and bob) made to require both.
fn require_both(s: &Store) {
    let out = s.ok_as(ALICE, &["app", "set", "prod", "--approvals-required", "2"]);
    assert!(out.contains("approvals 2"), "{out}");
}

fn refusals_change_nothing(s: &Store) {
    let before = s.snapshot();
    for (args, word) in [
        (&["app", "set", "prod", "--approvals-required", "3"][..], "there are 2"),
        (&["app", "set", "prod", "--approvals-required", "0"], "at least 1"),
        (&["app", "set", "dev", "--approvals-required", "2"], "--approval manual"),
        (&["app", "set", "prod", "--remove-approver", BOB, "--approvals-required", "2"], "there are 1"),
    ] {
        let run = s.run_as(ALICE, args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
        assert!(run.error_line().contains(word), "{args:?} should say {word:?}: {run:?}");
        assert!(run.error_line().contains("--approvals-required"), "it names the flag: {run:?}");
    }
    assert_eq!(s.snapshot(), before, "a refused policy changes nothing");
}

fn two_approvals_show_everywhere(s: &Store) {
    require_both(s);
    let id = s.create_request(DAVE, "prod", "Owner", "1h", "INC-9: two keys");
    let approve = |upn: &str| s.run_as(upn, &["request", "approve", &id.to_string(), "--reason", "checked"]);

    let first = approve(ALICE);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout, format!("request {id} Pending (1 of 2 approvals)\n"));

    let shown = s.ok_as(DAVE, &["request", "show", &id.to_string()]);
    assert!(shown.contains("Pending (1 of 2 approvals)"), "{shown}");
    assert!(
        shown.lines().any(|l| l.contains("approved by") && l.contains(ALICE) && l.contains("checked")),
        "{shown}"
    );
    assert!(shown.contains("request.approval"), "the history has the approval: {shown}");
    let listed = s.ok_as(BOB, &["request", "list", "--app", "prod"]);
    assert!(
        listed.lines().any(|l| l.starts_with(&id.to_string()) && l.contains("1 of 2 approvals")),
        "{listed}"
    );

    let view = s.json_as(DAVE, &["request", "show", &id.to_string(), "--json"]);
    assert_eq!(view["approvalsRequired"], 2, "{view}");
    assert_eq!(view["approvals"][0]["by"], ALICE, "{view}");
    let list = s.json_as(DAVE, &["request", "list", "--json", "--app", "prod"]);
    let row = list.as_array().unwrap().iter().find(|r| r["id"] == id).expect("listed");
    assert_eq!(
        (row["approvalsRequired"].clone(), row["approvals"].as_array().map(Vec::len)),
        (Value::from(2), Some(1))
    );
    let dev = s.json_as(DAVE, &["request", "list", "--json", "--app", "dev"]);
    assert!(dev.as_array().unwrap().iter().all(|r| r.get("approvalsRequired").is_none()), "automatic: {dev}");

    // The requester hears of the approval, with how far it is.
    let notes = s.json_as(DAVE, &["notifications", "--json"]);
    let note = notes.as_array().unwrap().iter().find(|n| n["action"] == "request.approval").expect("told");
    assert!(note["message"].as_str().unwrap().contains("1 of 2 approvals"), "{note}");

    // Deciding in bulk passes over what Alice already approved: it waits for Bob, not for her.
    let bulk = s.run_as(ALICE, &["request", "approve", "--all-pending", "--app", "prod", "--reason", "all"]);
    assert_eq!(bulk.code, 0, "{bulk:?}");
    assert!(bulk.stdout.contains("no pending requests on prod that you can decide"), "{bulk:?}");

    // Alice twice is refused; Bob's approval approves it.
    let again = approve(ALICE);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.error_line().contains("already approved"), "{again:?}");
    let second = approve(BOB);
    assert!(second.stdout.starts_with(&format!("request {id} Approved: access from ")), "{second:?}");
    let view = s.request_json(id);
    assert_eq!(view["jitRequestState"], "Approved");
    assert_eq!(view["decision"]["by"], BOB);
    let by: Vec<&str> =
        view["approvals"].as_array().unwrap().iter().map(|v| v["by"].as_str().unwrap()).collect();
    assert_eq!(by, [ALICE, BOB]);
}

#[test]
fn several_approvals_on_the_store() {
    let s = directory();
    refusals_change_nothing(&s);
    two_approvals_show_everywhere(&s);
}

#[test]
fn several_approvals_through_a_service() {
    let s = directory();
    let _service = Serve::on(&s.path);
    refusals_change_nothing(&s);
    two_approvals_show_everywhere(&s);
}
