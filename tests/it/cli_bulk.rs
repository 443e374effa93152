//! Decisions in bulk through the binary: `request approve|deny` with several ids or with
//! `--all-pending --app`, on the store and through its service. Each decision is the engine's own
//! command (its own audit record and notice), a refused one does not stop the others, every id gets
//! one outcome line, and the exit code says whether all of them went through.

use crate::common::serve::Serve;
use crate::common::*;
use serde_json::Value;

/// The audit records of `action` on requests, as (actor, request id), oldest first.
fn decisions(s: &Store, action: &str) -> Vec<(String, u64)> {
    let records = s.json(&["audit", "--json", "--limit", "1000"]);
    let mut found: Vec<(String, u64)> = records
        .as_array()
        .expect("audit is a JSON array")
        .iter()
        .filter(|r| r["action"] == action)
        .map(|r| {
            let id = r["target"]["id"].as_u64().expect("a request id");
            (r["actor"].as_str().expect("an actor").to_string(), id)
        })
        .collect();
    found.reverse();
    found
}

/// Whether `upn` was told that request `id` was decided with `action`.
fn told(s: &Store, upn: &str, id: u64, action: &str) -> bool {
    let notes = s.json_as(upn, &["notifications", "--json"]);
    notes
        .as_array()
        .expect("a JSON array")
        .iter()
        .any(|n: &Value| n["request"] == id && n["action"] == action)
}

/// Checks the outcome lines of a bulk decision: each of `decided` has one line on stdout, in the
/// order given, and each of `refused` one `error: request ID: ...` line on stderr containing its word.
fn assert_outcomes(run: &Run, state: &str, decided: &[u64], refused: &[(u64, &str)]) {
    let out: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(out.len(), decided.len(), "one line per decided request: {run:?}");
    for (line, id) in out.iter().zip(decided) {
        assert!(line.starts_with(&format!("request {id} {state}")), "{line:?} in {run:?}");
    }
    let err: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(err.len(), refused.len(), "one error line per refused request: {run:?}");
    for (line, (id, word)) in err.iter().zip(refused) {
        assert!(line.starts_with(&format!("error: request {id}: ")), "{line:?} in {run:?}");
        assert!(line.to_lowercase().contains(word), "{line:?} should say {word:?}");
    }
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    let code = if refused.is_empty() { 0 } else { 1 };
    assert_eq!(run.code, code, "{run:?}");
}

/// Several ids: a refused one (already decided, unknown) does not stop those after it.
fn several_ids_are_decided_each_on_its_own(s: &Store) {
    let done = s.create_request(DAVE, "prod", "Contributor", "1h", "INC-3: decided already");
    s.ok_as(ALICE, &["request", "deny", &done.to_string(), "--reason", "not now"]);
    let a = s.create_request(DAVE, "prod", "Owner", "1h", "INC-1: look at the logs");
    let b = s.create_request(ERIN, "prod", "Contributor", "2h", "INC-2: restart the service");
    let before = decisions(s, "request.approve");

    let ids = [a, done, 999_999, b].map(|id| id.to_string());
    let mut args = vec!["request", "approve"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--reason", "INC confirmed"]);
    let run = s.run_as(BOB, &args);
    assert_outcomes(&run, "Approved: access from ", &[a, b], &[(done, "already"), (999_999, "no request")]);

    let mut expected = before;
    expected.extend([(BOB.to_string(), a), (BOB.to_string(), b)]);
    assert_eq!(decisions(s, "request.approve"), expected, "one audit record per approval");
    assert!(told(s, DAVE, a, "request.approve"), "dave hears of his approval");
    assert!(told(s, ERIN, b, "request.approve"), "erin hears of hers");
    assert_eq!(s.state_of(done), "Denied", "a refused decision changes nothing");

    // All of them refused: exit 1, one line each, nothing on stdout.
    let run = s.run_as(BOB, &["request", "deny", &a.to_string(), &b.to_string(), "--reason", "changed"]);
    assert_outcomes(&run, "Denied", &[], &[(a, "already"), (b, "already")]);
}

/// `--all-pending --app`: every pending request of that application the caller can decide, and
/// nothing on any other application.
fn all_pending_decides_one_application(s: &Store) {
    s.ok_as(ALICE, &["app", "deploy", "eu", "--offer", "crm", "--approval", "manual", "--approver", ALICE]);
    let on_prod = [
        s.create_request(DAVE, "prod", "Owner", "1h", "INC-4: deploy the fix"),
        s.create_request(ERIN, "prod", "Owner", "1h", "INC-5: check the fix"),
    ];
    let on_eu = s.create_request(DAVE, "eu", "Owner", "1h", "INC-6: the same in the EU");

    // Carol approves nothing: refused as a whole, before anything is decided.
    let before = s.snapshot();
    let run = s.run_as(CAROL, &["request", "deny", "--all-pending", "--app", "prod", "--reason", "no"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("not an approver of `prod`"), "{run:?}");
    assert_eq!(s.snapshot(), before, "a refused bulk decision changes nothing");

    let run = s.run_as(BOB, &["request", "deny", "--all-pending", "--app", "prod", "--reason", "freeze"]);
    // Newest first, as the requests list gives them.
    assert_outcomes(&run, "Denied", &[on_prod[1], on_prod[0]], &[]);
    for id in on_prod {
        assert_eq!(s.state_of(id), "Denied");
        assert!(decisions(s, "request.deny").contains(&(BOB.to_string(), id)), "request {id} audited");
    }
    assert_eq!(s.state_of(on_eu), "Pending", "another application's request stays pending");

    // Nothing left to decide is said, and is no failure.
    let run = s.run_as(BOB, &["request", "approve", "--all-pending", "--app", "prod", "--reason", "ok"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("no pending requests on prod that you can decide"), "{run:?}");
}

#[test]
fn bulk_decisions_on_the_store() {
    let s = directory();
    several_ids_are_decided_each_on_its_own(&s);
    all_pending_decides_one_application(&s);
}

#[test]
fn bulk_decisions_through_a_service() {
    let s = directory();
    let _service = Serve::on(&s.path);
    // The service holds the store: only a command sent through it can work.
    let direct = s.run(&["init"]);
    assert!(direct.error_line().contains("in use"), "{direct:?}");
    several_ids_are_decided_each_on_its_own(&s);
    all_pending_decides_one_application(&s);
}

#[test]
fn which_requests_to_decide_is_said_exactly_once() {
    let s = directory();
    for args in [
        &["request", "approve", "--reason", "no ids"][..],
        &["request", "approve", "--all-pending", "--reason", "no app"],
        &["request", "deny", "--app", "prod", "--reason", "no --all-pending"],
        &["request", "deny", "1", "--all-pending", "--app", "prod", "--reason", "both"],
    ] {
        let run = s.run_as(BOB, args);
        assert_eq!(run.code, 2, "jitdesk {args:?}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
}
