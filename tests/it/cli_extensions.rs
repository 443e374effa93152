//! `request extend` and `request extension approve|deny` on the command line, on the store itself
//! and through a service on its socket: the same lines, the same refusals (one `error:` line, a
//! non-zero exit, nothing changed), the request's JSON and `request show` listing every extension.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::common::process::{Process, serve_command};
use crate::common::*;

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// A line with its times left out (from ` until ` or ` ends at ` on), so runs a moment apart
/// compare equal.
fn timeless(line: &str) -> String {
    let cut = [" until ", " ends at "].iter().filter_map(|w| line.find(w)).min();
    cut.map_or(line, |at| &line[..at]).trim_end().to_string()
}

/// The outcome of one command as a line to compare: its output or its one `error:` line, and
/// whether it succeeded.
fn said(run: Run) -> String {
    if run.code == 0 {
        format!("ok: {}", timeless(run.stdout.trim_end()))
    } else {
        format!("{}: {}", run.code, timeless(run.error_line()))
    }
}

/// A grant of 2h on `prod` (manual, max 4h, approvers alice and bob) for Dave, then every step of
/// extending it, each told as `said` tells it.
fn walk(s: &Store) -> (u64, Vec<String>) {
    let id = s.create_request(DAVE, "prod", "Owner", "2h", "incident");
    s.ok_as(ALICE, &["request", "approve", &id.to_string(), "--reason", "ok"]);
    let id_text = id.to_string();
    let extend =
        |who: &str, by: &str| s.run_as(who, &["request", "extend", &id_text, "--by", by, "--reason", "more"]);
    let decide =
        |who: &str, verb: &str| s.run_as(who, &["request", "extension", verb, &id_text, "--reason", "fine"]);
    let steps = vec![
        said(extend(DAVE, "3h")),
        said(extend(ERIN, "1h")),
        said(extend(DAVE, "1h")),
        said(extend(DAVE, "1h")),
        said(decide(DAVE, "approve")),
        said(decide(CAROL, "approve")),
        said(decide(BOB, "approve")),
        said(decide(BOB, "deny")),
    ];
    (id, steps)
}

#[test]
fn extending_a_grant_on_the_command_line() {
    let s = directory();
    let (id, steps) = walk(&s);
    assert_eq!(
        steps,
        [
            "1: error: at most 2h more: the maximum is 4h and 2h is granted".to_string(),
            format!("1: error: request {id} is not yours: only its requester can extend it"),
            format!("ok: extension of request {id} by 1h waits for a decision"),
            // The time it waits until is left out, as for every line.
            format!("1: error: request {id} already has an extension of 1h waiting for a decision"),
            "1: error: you cannot approve the extension of your own request".to_string(),
            format!("1: error: {CAROL} is not an approver of `prod`: only its approvers decide its requests"),
            format!("ok: extension of request {id} approved: access now"),
            format!(
                "1: error: request {id} has no extension waiting for a decision: see `jitdesk request show {id}`"
            ),
        ]
    );
    let r = s.request_json(id);
    assert_eq!(time(&r["endTime"]) - time(&r["grantedFrom"]), TimeDelta::hours(3));
    let extensions = r["extensions"].as_array().unwrap();
    assert_eq!(extensions.len(), 1, "refusals left nothing: {r}");
    assert_eq!(
        (extensions[0]["state"].as_str(), extensions[0]["by"].as_str()),
        (Some("Approved"), Some("PT1H"))
    );
    assert_eq!(extensions[0]["decision"]["by"], BOB);
    let history: Vec<&str> =
        r["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(history[history.len() - 2..], ["request.extend", "extension.approve"]);
    let shown = s.ok(&["request", "show", &id.to_string()]);
    assert!(shown.contains(&format!("+1h asked by {DAVE} at ")), "{shown}");
    assert!(shown.contains(&format!("; Approved by {BOB} at ")), "{shown}");

    // Beyond the maximum, once the policy allows it; a deployment without JIT allows none.
    let set = s.ok_as(ALICE, &["app", "set", "prod", "--max-extensions", "1"]);
    assert!(set.contains("extensions 1, approvers:"), "{set}");
    let plain = s.run_as(ALICE, &["app", "deploy", "p2", "--offer", "plain", "--max-extensions", "1"]);
    assert_eq!(
        plain.error_line(),
        "error: the extensions allowed only applies with JIT access: offer `plain` has no JIT access, so drop it (--max-extensions)"
    );
    let beyond = s.ok_as(DAVE, &["request", "extend", &id.to_string(), "--by", "2h", "--reason", "again"]);
    assert!(beyond.starts_with(&format!("extension of request {id} by 2h waits")), "{beyond}");
    let denied = s.ok_as(ALICE, &["request", "extension", "deny", &id.to_string(), "--reason", "no"]);
    assert!(
        denied.starts_with(&format!("extension of request {id} denied: access still ends at ")),
        "{denied}"
    );
    let r = s.request_json(id);
    assert_eq!(r["extensions"][1]["state"], "Denied");
    assert_eq!(time(&r["endTime"]) - time(&r["grantedFrom"]), TimeDelta::hours(3));
}

#[test]
fn automatic_mode_extends_at_once() {
    let s = directory();
    let id = s.create_request(DAVE, "dev", "Owner", "1h", "deploy");
    let out = s.ok_as(DAVE, &["request", "extend", &id.to_string(), "--by", "30m", "--reason", "slow"]);
    assert!(out.starts_with(&format!("extension of request {id} approved: access now until ")), "{out}");
    let r = s.request_json(id);
    assert_eq!(time(&r["endTime"]) - time(&r["grantedFrom"]), TimeDelta::minutes(90));
    assert_eq!(r["extensions"][0]["decision"]["by"], "system");
}

#[test]
fn the_service_door_gives_the_same_answers() {
    let direct = directory();
    let served = directory();
    let (_service, line) = Process::start(&mut serve_command(&served.path, served.dir.path()));
    assert!(line.starts_with("serving "), "{line}");
    let (_, on_store) = walk(&direct);
    let (id, through_service) = walk(&served);
    assert_eq!(through_service, on_store);
    let r = served.request_json(id);
    assert_eq!(r["extensions"][0]["state"], "Approved", "{r}");
}
