//! The whole JIT workflow driven through the binary alone, from an empty store: directory, marketplace,
//! deployment, requests in both approval modes, decisions, access checks, revocation, cancellation,
//! policy changes, the OS-login identity, and an audit log that tells it all in order.

use std::collections::BTreeSet;

use crate::common::*;
use chrono::{DateTime, TimeDelta, Utc};
use predicates::prelude::*;
use serde_json::{Value, json};

/// The audit log oldest first, as (actor, action, target) with the target written `type/id`.
fn trail(s: &Store) -> Vec<(String, String, String)> {
    let records = s.json(&["audit", "--json", "--limit", "1000"]);
    let records = records.as_array().expect("audit is a JSON array");
    // Newest first, with strictly decreasing ids and times that never go up.
    for pair in records.windows(2) {
        assert!(pair[0]["id"].as_u64() > pair[1]["id"].as_u64(), "audit ids out of order: {pair:?}");
        assert!(time(&pair[0]["at"]) >= time(&pair[1]["at"]), "audit times out of order: {pair:?}");
    }
    records
        .iter()
        .rev()
        .map(|r| {
            let target = format!(
                "{}/{}",
                r["target"]["type"].as_str().expect("target type"),
                match &r["target"]["id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            );
            (str_of(&r["actor"]), str_of(&r["action"]), target)
        })
        .collect()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap_or_else(|e| panic!("{v} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// How the CLI prints a time without --utc; the tests run with TZ=UTC.
fn shown(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn ids_in(list: &Value) -> BTreeSet<u64> {
    list.as_array().expect("a JSON array").iter().map(|r| r["id"].as_u64().expect("id")).collect()
}

fn entry(actor: &str, action: &str, target: String) -> (String, String, String) {
    (actor.to_string(), action.to_string(), target)
}

fn operator() -> String {
    format!("operator:{NO_LOGIN}")
}

#[test]
fn whole_manual_workflow_from_an_empty_store() {
    let s = Store::init();
    let mut expected = Vec::new();
    let op = operator();

    // Directory: tenants and users need no identity.
    s.ok(&["tenant", "add", "contoso", "--kind", "customer", "--name", "Contoso Ltd"]);
    s.ok(&["tenant", "add", "fabrikam", "--kind", "publisher", "--name", "Fabrikam"]);
    expected.push(entry(&op, "tenant.add", "tenant/contoso".into()));
    expected.push(entry(&op, "tenant.add", "tenant/fabrikam".into()));
    for (upn, tenant, name, admin) in [
        (ALICE, "contoso", "Alice Fischer", true),
        (BOB, "contoso", "Bob Nakamura", false),
        (CAROL, "contoso", "Carol Okafor", true),
        (DAVE, "fabrikam", "Dave Moreau", false),
        (ERIN, "fabrikam", "Erin Lindqvist", false),
    ] {
        let mut args = vec!["user", "add", upn, "--tenant", tenant, "--name", name];
        if admin {
            args.push("--admin");
        }
        let out = s.ok(&args);
        assert!(out.contains(upn), "{out}");
        expected.push(entry(&op, "user.add", format!("user/{upn}")));
    }
    let found = s.json(&["user", "search", "nakam", "--json"]);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["upn"], BOB);

    // Marketplace: a publisher user publishes a JIT offer with two roles.
    let out = s.ok_as(
        DAVE,
        &["offer", "publish", "crm", "--name", "Fabrikam CRM", "--jit", "--roles", "Owner,Contributor"],
    );
    assert!(out.contains("crm"), "{out}");
    expected.push(entry(DAVE, "offer.publish", "offer/crm".into()));
    let offers = s.json(&["offer", "list", "--json"]);
    assert_eq!(offers[0]["id"], "crm");
    assert_eq!(offers[0]["jitAvailable"], true);
    assert_eq!(offers[0]["publisherTenant"], "fabrikam");
    assert_eq!(offers[0]["roles"], json!(["Owner", "Contributor"]));

    // Deployment with manual approval and two approvers.
    s.ok_as(
        ALICE,
        &[
            "app",
            "deploy",
            "prod",
            "--offer",
            "crm",
            "--approval",
            "manual",
            "--max-duration",
            "4h",
            "--approver",
            ALICE,
            "--approver",
            BOB,
        ],
    );
    expected.push(entry(ALICE, "app.deploy", "app/prod".into()));
    let app = s.json(&["app", "show", "prod", "--json"]);
    assert_eq!(app["name"], "prod");
    assert_eq!(app["customerTenant"], "contoso");
    assert_eq!(app["publisherTenant"], "fabrikam");
    assert_eq!(app["managedResourceGroup"], "mrg-prod");
    let policy = &app["jitAccessPolicy"];
    assert_eq!(policy["jitAccessEnabled"], true);
    assert_eq!(policy["jitApprovalMode"], "ManualApprove");
    assert_eq!(policy["maximumJitAccessDuration"], "PT4H");
    assert_eq!(
        policy["jitApprovers"],
        json!([
            {"id": ALICE, "type": "user", "displayName": "Alice Fischer"},
            {"id": BOB, "type": "user", "displayName": "Bob Nakamura"},
        ])
    );
    // Defaults: automatic, eight hours, no approvers.
    s.ok_as(ALICE, &["app", "deploy", "dev", "--offer", "crm"]);
    expected.push(entry(ALICE, "app.deploy", "app/dev".into()));
    let dev = &s.json(&["app", "show", "dev", "--json"])["jitAccessPolicy"];
    assert_eq!(dev["jitAccessEnabled"], true);
    assert_eq!(dev["jitApprovalMode"], "AutoApprove");
    assert_eq!(dev["maximumJitAccessDuration"], "PT8H");
    assert_eq!(dev["jitApprovers"], json!([]));

    // A request: only its id on stdout.
    let before = Utc::now();
    let run = s.run_as(
        DAVE,
        &[
            "request",
            "create",
            "--app",
            "prod",
            "--role",
            "owner",
            "--role",
            "Contributor",
            "--duration",
            "PT2H",
            "--reason",
            "INC-42: database is stuck",
            "--ticket",
            "INC-42",
        ],
    );
    let id = parse_id(&expect_ok(&["request", "create"], run));
    let ids = id.to_string();
    expected.push(entry(DAVE, "request.create", format!("request/{id}")));

    for state in ["pending", "PENDING", "Pending", "pEnDiNg"] {
        let out = s.ok(&["request", "list", "--state", state]);
        let row = out.lines().find(|l| l.split_whitespace().next() == Some(&ids));
        let row = row.unwrap_or_else(|| panic!("--state {state} does not list request {id}: {out}"));
        assert!(row.contains("Pending") && row.contains(DAVE) && row.contains("prod"), "{row}");
    }
    let approved = s.json(&["request", "list", "--state", "approved", "--json"]);
    assert!(!ids_in(&approved).contains(&id), "a pending request listed as approved: {approved}");

    let list = s.json(&["request", "list", "--state", "pending", "--json"]);
    let r = list.as_array().unwrap().iter().find(|r| r["id"] == id).expect("the request in --json");
    assert_eq!(r["application"], "prod");
    assert_eq!(r["requester"], DAVE);
    assert_eq!(r["jitRequestState"], "Pending");
    assert_eq!(r["justification"], "INC-42: database is stuck");
    assert_eq!(r["ticket"], "INC-42");
    let sched = &r["jitSchedulingPolicy"];
    assert_eq!(sched["type"], "Once");
    assert_eq!(sched["duration"], "PT2H");
    let start = time(&sched["startTime"]);
    assert!(start >= before - TimeDelta::seconds(1) && start <= Utc::now(), "start {start} is not now");
    assert_eq!(
        r["jitAuthorizationPolicies"],
        json!([
            {"principalId": DAVE, "roleDefinitionId": "Owner"},
            {"principalId": DAVE, "roleDefinitionId": "Contributor"},
        ]),
        "roles are stored under the offer's spelling"
    );
    assert_eq!(r["decision"], Value::Null);
    assert_eq!(r["endTime"], Value::Null);

    // Every approver hears about it; the requester gets no notice of their own request.
    for approver in [ALICE, BOB] {
        let notes = s.json_as(approver, &["notifications", "--json"]);
        let note = notes.as_array().unwrap().iter().find(|n| n["request"] == id);
        let note = note.unwrap_or_else(|| panic!("{approver} was not notified of request {id}: {notes}"));
        assert_eq!(note["to"], approver);
        assert_eq!(note["app"], "prod");
        assert_eq!(note["action"], "request.create");
    }
    let notes = s.json_as(CAROL, &["notifications", "--json"]);
    assert_eq!(notes, json!([]), "carol is no approver");
    let notes = s.json_as(DAVE, &["notifications", "--json"]);
    assert_eq!(notes, json!([]), "no notice of one's own request");

    // An approver approves with a reason.
    let out = s.ok_as(BOB, &["request", "approve", &ids, "--reason", "go ahead"]);
    assert!(out.contains(&ids) && out.contains("Approved"), "{out}");
    expected.push(entry(BOB, "request.approve", format!("request/{id}")));
    let r = s.request_json(id);
    assert_eq!(r["jitRequestState"], "Approved");
    assert_eq!(r["decision"]["by"], BOB);
    assert_eq!(r["decision"]["reason"], "go ahead");
    let end = time(&r["endTime"]);
    assert_eq!(end - time(&r["grantedFrom"]), TimeDelta::hours(2));
    let notes = s.json_as(DAVE, &["notifications", "--json"]);
    assert!(
        notes.as_array().unwrap().iter().any(|n| n["request"] == id && n["action"] == "request.approve"),
        "the requester is told of the approval: {notes}"
    );

    // Access now, until the end of the window.
    s.command()
        .args(["access", "check", "--app", "prod", "--user", DAVE])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("until {}", shown(end))))
        .stdout(predicate::str::contains(DAVE));
    s.command().args(["access", "check", "--app", "prod", "--user", ERIN]).assert().code(3);
    let grants = s.json(&["access", "list", "--json"]);
    let g = grants.as_array().unwrap().iter().find(|g| g["id"] == id).expect("the grant in access list");
    assert_eq!(g["jitRequestState"], "Approved");
    assert_eq!(g["requester"], DAVE);
    assert_eq!(time(&g["endTime"]), end);

    // The first decision wins; later ones are refused, naming the state.
    for verb in ["approve", "deny"] {
        let run = s.run_as(ALICE, &["request", verb, &ids, "--reason", "me too"]);
        assert_eq!(run.code, 1, "{run:?}");
        let line = run.error_line();
        assert!(line.contains("Approved") && line.contains(BOB), "{line}");
    }
    assert_eq!(s.state_of(id), "Approved");

    // Revocation ends access early.
    let out = s.ok_as(ALICE, &["access", "revoke", &ids, "--reason", "fixed already"]);
    assert!(out.contains("Revoked"), "{out}");
    expected.push(entry(ALICE, "access.revoke", format!("request/{id}")));
    s.command()
        .args(["access", "check", "--app", "prod", "--user", DAVE])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("no access"));
    assert!(!ids_in(&s.json(&["access", "list", "--json"])).contains(&id), "revoked access still listed");
    let r = s.request_json(id);
    assert_eq!(r["jitRequestState"], "Revoked");
    assert_eq!(r["closed"]["by"], ALICE);
    assert_eq!(r["closed"]["reason"], "fixed already");
    // Access ended at the revocation, and every view says so rather than the planned end.
    let revoked_at = time(&r["closed"]["at"]);
    assert_eq!(time(&r["endTime"]), revoked_at, "endTime is the revocation: {r}");
    let planned = time(&r["grantedFrom"]) + chrono::TimeDelta::hours(2);
    assert!(revoked_at < planned, "revoked before its planned end: {r}");
    let shown_text = s.ok(&["request", "show", &ids]);
    let access = shown_text.lines().find(|l| l.starts_with("access")).expect("an access line");
    assert!(access.contains(&format!("until {}", shown(revoked_at))), "{shown_text}");
    let history: Vec<(String, String)> = r["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (str_of(&h["actor"]), str_of(&h["action"])))
        .collect();
    assert_eq!(
        history,
        [(DAVE, "request.create"), (BOB, "request.approve"), (ALICE, "access.revoke")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        r["history"].as_array().unwrap().iter().all(|h| h["target"] == json!({"type": "request", "id": id}))
    );

    // A denial, and a cancellation by the requester.
    let denied = s.create_request(ERIN, "prod", "Owner", "1h", "look at logs");
    expected.push(entry(ERIN, "request.create", format!("request/{denied}")));
    s.ok_as(ALICE, &["request", "deny", &denied.to_string(), "--reason", "not today"]);
    expected.push(entry(ALICE, "request.deny", format!("request/{denied}")));
    assert_eq!(s.state_of(denied), "Denied");
    let canceled = s.create_request(ERIN, "prod", "Contributor", "30m", "look at logs again");
    expected.push(entry(ERIN, "request.create", format!("request/{canceled}")));
    let out = s.ok_as(ERIN, &["request", "cancel", &canceled.to_string()]);
    assert!(out.contains("Canceled"), "{out}");
    expected.push(entry(ERIN, "request.cancel", format!("request/{canceled}")));
    let r = s.request_json(canceled);
    assert_eq!(r["jitRequestState"], "Canceled");
    assert_eq!(r["closed"]["by"], ERIN);
    // Canceled requests are not pending any more, so a new one is accepted.
    let again = s.create_request(ERIN, "prod", "Owner", "1h", "third try");
    expected.push(entry(ERIN, "request.create", format!("request/{again}")));
    let pending = ids_in(&s.json(&["request", "list", "--state", "Pending", "--json"]));
    assert_eq!(pending, BTreeSet::from([again]));

    // The audit log holds every change above, in order, and nothing else.
    assert_eq!(trail(&s), expected);
}

#[test]
fn automatic_mode_approves_at_once_and_still_notifies_approvers() {
    let s = directory();
    s.ok_as(ALICE, &["app", "set", "dev", "--add-approver", CAROL]);
    let id = s.create_request(DAVE, "dev", "Contributor", "90m", "deploy hotfix");
    let r = s.request_json(id);
    assert_eq!(r["jitRequestState"], "Approved");
    assert_eq!(r["decision"]["by"], "system");
    assert_eq!(r["decision"]["reason"], "automatic approval mode");
    assert_eq!(r["jitSchedulingPolicy"]["duration"], "PT1H30M");
    assert_eq!(time(&r["endTime"]) - time(&r["grantedFrom"]), TimeDelta::minutes(90));
    let history: Vec<(String, String)> = r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (str_of(&h["actor"]), str_of(&h["action"])))
        .collect();
    assert_eq!(
        history,
        [(DAVE, "request.create"), ("system", "request.approve")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let notes = s.json_as(CAROL, &["notifications", "--json"]);
    assert!(
        notes.as_array().unwrap().iter().any(|n| n["request"] == id),
        "approver not notified in auto mode: {notes}"
    );
    s.command().args(["access", "check", "--app", "dev", "--user", DAVE]).assert().code(0);
    // Active access does not block another request in automatic mode.
    let second = s.create_request(DAVE, "dev", "Owner", "1h", "one more");
    assert_eq!(s.state_of(second), "Approved");
    assert!(ids_in(&s.json(&["access", "list", "--json"])).is_superset(&BTreeSet::from([id, second])));
}

#[test]
fn app_set_changes_the_policy_but_never_enablement() {
    let s = directory();
    let out = s.ok_as(
        ALICE,
        &["app", "set", "dev", "--approval", "manual", "--add-approver", CAROL, "--max-duration", "PT3H"],
    );
    assert!(out.contains("ManualApprove"), "{out}");
    let policy = &s.json(&["app", "show", "dev", "--json"])["jitAccessPolicy"];
    assert_eq!(policy["jitApprovalMode"], "ManualApprove");
    assert_eq!(policy["maximumJitAccessDuration"], "PT3H");
    assert_eq!(policy["jitApprovers"], json!([{"id": CAROL, "type": "user", "displayName": "Carol Okafor"}]));
    let last = trail(&s).pop().expect("an audit record");
    assert_eq!(last, entry(ALICE, "app.policy", "app/dev".into()));

    // Now manual: a request waits for carol.
    let id = s.create_request(DAVE, "dev", "Owner", "3h", "needs review");
    assert_eq!(s.state_of(id), "Pending");
    let notes = s.json_as(CAROL, &["notifications", "--json"]);
    assert!(notes.as_array().unwrap().iter().any(|n| n["request"] == id), "{notes}");
    s.ok_as(CAROL, &["request", "approve", &id.to_string(), "--reason", "reviewed"]);
    assert_eq!(s.state_of(id), "Approved");

    // Enablement was chosen at deployment.
    let before = s.snapshot();
    let run = s.run_as(ALICE, &["app", "set", "legacy", "--jit", "on"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("only be chosen at deployment"), "{run:?}");
    let run = s.run_as(ALICE, &["app", "set", "prod", "--jit", "off"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("only be chosen at deployment"), "{run:?}");
    assert_eq!(s.snapshot(), before);

    // Repeating the current value is accepted, and changes nothing.
    s.ok_as(ALICE, &["app", "set", "prod", "--jit", "on"]);
    s.ok_as(ALICE, &["app", "set", "legacy", "--jit", "off"]);
    assert_eq!(s.snapshot(), before, "a no-op app set left a trace");
    assert_eq!(s.json(&["app", "show", "prod", "--json"])["jitAccessPolicy"]["jitAccessEnabled"], true);
    assert_eq!(s.json(&["app", "show", "legacy", "--json"])["jitAccessPolicy"]["jitAccessEnabled"], false);
}

#[test]
fn a_policy_change_closes_pending_requests_that_no_longer_fit() {
    let s = directory();
    let long = s.create_request(DAVE, "prod", "Owner", "3h", "long job");
    let short = s.create_request(ERIN, "prod", "Owner", "1h", "short job");
    s.ok_as(ALICE, &["app", "set", "prod", "--max-duration", "1h"]);
    let r = s.request_json(long);
    assert_eq!(r["jitRequestState"], "Denied", "{r}");
    assert_eq!(r["decision"]["by"], "system");
    assert_eq!(r["decision"]["reason"], "policy changed: maximum is now 1h");
    let notes = s.json_as(DAVE, &["notifications", "--json"]);
    assert!(
        notes.as_array().unwrap().iter().any(|n| n["request"] == long
            && n["action"] == "request.deny"
            && str_of(&n["message"]).contains("maximum is now 1h")),
        "the requester is told: {notes}"
    );
    assert_eq!(s.state_of(short), "Pending");
    // The requester is not blocked behind the closed request.
    let again = s.create_request(DAVE, "prod", "Owner", "1h", "shorter job");
    // Automatic mode approves what waits, within the maximum.
    s.ok_as(ALICE, &["app", "set", "prod", "--approval", "auto"]);
    assert_eq!((s.state_of(short), s.state_of(again)), ("Approved".into(), "Approved".into()));
}

#[test]
fn without_jit_the_publisher_has_permanent_access() {
    let s = directory();
    let app = s.json(&["app", "show", "legacy", "--json"]);
    assert_eq!(app["jitAccessPolicy"]["jitAccessEnabled"], false);
    for publisher in [DAVE, ERIN] {
        s.command()
            .args(["access", "check", "--app", "legacy", "--user", publisher])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("permanent"));
    }
    // Customer users have no publisher access; JIT apps give none without a grant.
    s.command().args(["access", "check", "--app", "legacy", "--user", CAROL]).assert().code(3);
    s.command()
        .args(["access", "check", "--app", "prod", "--user", DAVE])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("no access"));
    // An offer without JIT deploys with JIT off by default.
    s.ok_as(ALICE, &["app", "deploy", "plain-app", "--offer", "plain"]);
    assert_eq!(s.json(&["app", "show", "plain-app", "--json"])["jitAccessPolicy"]["jitAccessEnabled"], false);
    s.command().args(["access", "check", "--app", "plain-app", "--user", DAVE]).assert().code(0);
}

#[test]
fn the_os_login_identifies_the_user_without_as() {
    let s = directory();
    let login = "frank-os-login";
    let frank = "frank@fabrikam.com";
    s.ok(&["user", "add", frank, "--tenant", "fabrikam", "--login", login]);
    let env = [("USER", login), ("LOGNAME", login)];
    let args = request_create("prod", "Owner", "1h", "as my login");
    let id = parse_id(&expect_ok(&args, s.run_with(&args, &env)));
    let r = s.request_json(id);
    assert_eq!(r["requester"], frank);
    assert_eq!(r["history"][0]["actor"], frank);

    // --mine follows the same identity.
    s.create_request(DAVE, "prod", "Owner", "1h", "someone else's");
    let mine = parse_json(&[], &expect_ok(&[], s.run_with(&["request", "list", "--mine", "--json"], &env)));
    assert_eq!(ids_in(&mine), BTreeSet::from([id]));
    let notes = parse_json(&[], &expect_ok(&[], s.run_with(&["notifications", "--json"], &env)));
    assert_eq!(notes, json!([]), "frank has no notifications yet");

    // The same login can cancel; with an unmapped login the command is refused.
    let cancel = ["request", "cancel", &id.to_string()];
    let run = s.run(&cancel);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("--as"), "{run:?}");
    expect_ok(&cancel, s.run_with(&cancel, &env));
    assert_eq!(s.state_of(id), "Canceled");
    // --as wins over the login.
    let as_dave = ["--as", DAVE, "request", "list", "--mine", "--json"];
    let mine = parse_json(&as_dave, &expect_ok(&as_dave, s.run_with(&as_dave, &env)));
    assert!(
        mine.as_array().unwrap().iter().all(|r| r["requester"] == DAVE)
            && !mine.as_array().unwrap().is_empty()
    );
    // So does JITDESK_USER.
    let run =
        s.run_with(&["request", "list", "--mine", "--json"], &[("JITDESK_USER", DAVE), ("USER", login)]);
    let mine = parse_json(&[], &expect_ok(&[], run));
    assert!(
        mine.as_array().unwrap().iter().all(|r| r["requester"] == DAVE)
            && !mine.as_array().unwrap().is_empty()
    );
}

#[test]
fn init_sample_shows_every_state() {
    let s = Store::new();
    let out = s.ok(&["init", "--sample"]);
    assert!(out.contains("loaded the sample"), "{out}");
    let all = s.json(&["request", "list", "--json", "--limit", "1000"]);
    let states: BTreeSet<String> =
        all.as_array().unwrap().iter().map(|r| str_of(&r["jitRequestState"])).collect();
    let every: BTreeSet<String> =
        ["Pending", "Approved", "Denied", "Canceled", "Expired", "Timeout", "Revoked"]
            .map(String::from)
            .into();
    assert_eq!(states, every);
    // Each state filter agrees with the full list.
    for state in &every {
        let some =
            s.json(&["request", "list", "--state", &state.to_lowercase(), "--json", "--limit", "1000"]);
        let some = some.as_array().unwrap();
        assert!(!some.is_empty() && some.iter().all(|r| r["jitRequestState"] == state.as_str()), "{state}");
    }
    // Every request's audit history begins with its creation.
    for r in all.as_array().unwrap() {
        let id = r["id"].as_u64().unwrap();
        let detail = s.request_json(id);
        assert_eq!(detail["history"][0]["action"], "request.create", "request {id}");
        assert_eq!(detail["jitRequestState"], r["jitRequestState"]);
    }
    // The sample never lands on a store with data.
    let before = s.snapshot();
    let run = s.run(&["init", "--sample"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("empty store"), "{run:?}");
    assert_eq!(s.snapshot(), before);
    // A plain init on an existing store keeps it.
    let out = s.ok(&["init"]);
    assert!(out.contains("already exists"), "{out}");
    assert_eq!(s.snapshot(), before);
}
