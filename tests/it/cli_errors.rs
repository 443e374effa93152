//! Bad input and refused rules through the binary: every one gives exactly one `error:` line on stderr,
//! nothing on stdout, exit 1 (2 for usage errors caught by the argument parser), and leaves the store's
//! content exactly as it was.

use crate::common::*;

/// A directory (see `common::directory`) plus two requests on `prod`: `pending` by dave, and
/// `approved` by erin (approved by bob).
struct Fixture {
    s: Store,
    pending: String,
    approved: String,
}

fn fixture() -> Fixture {
    let s = directory();
    let pending = s.create_request(DAVE, "prod", "Owner", "1h", "INC-1: look at the logs");
    let approved = s.create_request(ERIN, "prod", "Contributor", "2h", "INC-2: restart the service");
    s.ok_as(BOB, &["request", "approve", &approved.to_string(), "--reason", "ok"]);
    Fixture { s, pending: pending.to_string(), approved: approved.to_string() }
}

/// A refused command: (acting user or None, arguments, expected exit code, words the error line must
/// contain, case-insensitively).
type Case<'a> = (Option<&'a str>, Vec<String>, i32, Vec<&'a str>);

/// Runs each case on the store and checks it was refused properly and changed nothing.
fn expect_refused(s: &Store, cases: &[Case<'_>]) {
    let before = s.snapshot();
    for (who, args, code, needles) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = match who {
            Some(upn) => s.run_as(upn, &args),
            None => s.run(&args),
        };
        assert_eq!(run.code, *code, "jitdesk {args:?} as {who:?}: wrong exit code: {run:?}");
        let line = run.error_line().to_lowercase();
        for needle in needles {
            assert!(
                line.contains(&needle.to_lowercase()),
                "jitdesk {args:?}: error line lacks {needle:?}: {line}"
            );
        }
        assert!(
            run.stdout.is_empty(),
            "jitdesk {args:?}: a refused command printed to stdout: {:?}",
            run.stdout
        );
        assert_eq!(s.snapshot(), before, "jitdesk {args:?} as {who:?} changed the store");
    }
}

fn args_of(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `request create` on `app` with the given duration, start (if any), role and reason.
fn create(app: &str, role: &str, duration: &str, start: Option<&str>, reason: &str) -> Vec<String> {
    let mut args = v(&["request", "create", "--app", app, "--role", role, &format!("--duration={duration}")]);
    if let Some(start) = start {
        args.push(format!("--start={start}"));
    }
    args.push(format!("--reason={reason}"));
    args
}

#[test]
fn malformed_durations_are_usage_errors() {
    let f = fixture();
    let mut cases = Vec::new();
    for bad in ["90x", "-5m", "P1M", "P1Y", "P", "PT", "1h30", "abc", "", "h"] {
        cases.push((Some(ERIN), create("dev", "Owner", bad, None, "why"), 2, vec!["error:", "duration"]));
    }
    // Unquoted, `-5m` reads as an unknown flag: still a usage error.
    cases.push((
        Some(ERIN),
        v(&["request", "create", "--app", "dev", "--role", "Owner", "--duration", "-5m", "--reason", "x"]),
        2,
        vec![],
    ));
    for bad in ["90x", "-1h", "P1M"] {
        cases.push((
            Some(ALICE),
            v(&["app", "set", "dev", &format!("--max-duration={bad}")]),
            2,
            vec!["duration"],
        ));
        cases.push((
            Some(ALICE),
            v(&["app", "deploy", "new", "--offer", "crm", &format!("--request-timeout={bad}")]),
            2,
            vec![],
        ));
    }
    expect_refused(&f.s, &cases);
}

#[test]
fn zero_and_over_maximum_durations_are_refused() {
    let f = fixture();
    let mut cases = Vec::new();
    for zero in ["0m", "0h", "PT0S", "P0D", "0s"] {
        cases.push((Some(ERIN), create("dev", "Owner", zero, None, "why"), 1, vec!["longer than zero"]));
    }
    // prod allows 4h, dev the default 8h.
    for (app, over, max) in
        [("prod", "5h", "4h"), ("prod", "PT4H1S", "4h"), ("dev", "P1D", "8h"), ("dev", "481m", "8h")]
    {
        cases.push((Some(ERIN), create(app, "Owner", over, None, "why"), 1, vec!["at most", max]));
    }
    cases.push((Some(ALICE), v(&["app", "set", "dev", "--max-duration", "0m"]), 1, vec!["longer than zero"]));
    cases.push((
        Some(ALICE),
        v(&["app", "set", "dev", "--request-timeout", "PT0S"]),
        1,
        vec!["longer than zero"],
    ));
    cases.push((
        Some(ALICE),
        v(&["app", "deploy", "zero", "--offer", "crm", "--max-duration", "0s"]),
        1,
        vec!["longer than zero"],
    ));
    expect_refused(&f.s, &cases);

    // The limits themselves are accepted.
    let at_max = f.s.create_request(ERIN, "dev", "Owner", "PT8H", "exactly the maximum");
    assert_eq!(f.s.state_of(at_max), "Approved");
}

#[test]
fn malformed_and_past_start_times_are_refused() {
    let f = fixture();
    let mut cases = Vec::new();
    // Malformed values are usage errors (exit 2), like malformed durations; a past start is a refused rule.
    for bad in ["tomorrow", "2025-13-01T00:00:00Z", "+5x", "yesterday at noon", "12:00"] {
        cases.push((Some(ERIN), create("dev", "Owner", "1h", Some(bad), "why"), 2, vec!["is not a"]));
    }
    cases.push((Some(ERIN), create("dev", "Owner", "1h", Some("+"), "why"), 2, vec!["duration is required"]));
    for past in ["2020-01-01T00:00:00Z", "2001-09-09T01:46:40+02:00"] {
        cases.push((Some(ERIN), create("dev", "Owner", "1h", Some(past), "why"), 1, vec!["in the past"]));
    }
    expect_refused(&f.s, &cases);
}

#[test]
fn unknown_names_and_ids_are_refused() {
    let f = fixture();
    let ghost = "ghost@contoso.com";
    let cases = vec![
        // application
        (Some(ERIN), create("nope", "Owner", "1h", None, "why"), 1, vec!["no application", "nope"]),
        (Some(ALICE), v(&["app", "set", "nope", "--approval", "auto"]), 1, vec!["no application"]),
        (None, v(&["app", "show", "nope"]), 1, vec!["no application"]),
        (None, v(&["access", "check", "--app", "nope", "--user", DAVE]), 1, vec!["no application"]),
        // user
        (Some(ghost), create("dev", "Owner", "1h", None, "why"), 1, vec!["no user", ghost]),
        (Some(ghost), v(&["request", "approve", &f.pending, "--reason", "ok"]), 1, vec!["no user"]),
        (Some(ghost), v(&["notifications"]), 1, vec!["no user"]),
        (None, v(&["access", "check", "--app", "prod", "--user", ghost]), 1, vec!["no user"]),
        (
            Some(ALICE),
            v(&["app", "deploy", "new", "--offer", "crm", "--approval", "manual", "--approver", ghost]),
            1,
            vec!["no user"],
        ),
        (Some(ALICE), v(&["app", "set", "prod", "--add-approver", ghost]), 1, vec!["no user"]),
        (Some(ALICE), v(&["app", "set", "prod", "--remove-approver", CAROL]), 1, vec!["not an approver"]),
        // role
        (Some(ERIN), create("dev", "Reader", "1h", None, "why"), 1, vec!["no role", "Reader", "Owner"]),
        (Some(ERIN), create("dev", "", "1h", None, "why"), 1, vec!["role"]),
        // request id
        (None, v(&["request", "show", "9999"]), 1, vec!["no request 9999"]),
        (Some(ALICE), v(&["request", "approve", "9999", "--reason", "ok"]), 1, vec!["no request 9999"]),
        (Some(ALICE), v(&["request", "deny", "9999", "--reason", "no"]), 1, vec!["no request 9999"]),
        (Some(DAVE), v(&["request", "cancel", "9999"]), 1, vec!["no request 9999"]),
        (Some(ALICE), v(&["access", "revoke", "9999", "--reason", "x"]), 1, vec!["no request 9999"]),
        (None, v(&["request", "show", "abc"]), 2, vec![]),
        (None, v(&["request", "show", "-1"]), 2, vec![]),
        // offer
        (Some(ALICE), v(&["app", "deploy", "new", "--offer", "nope"]), 1, vec!["no offer", "nope"]),
        // tenant
        (None, v(&["user", "add", "zed@nowhere.com", "--tenant", "nope"]), 1, vec!["no tenant", "nope"]),
    ];
    expect_refused(&f.s, &cases);
}

#[test]
fn bad_free_text_is_refused_everywhere() {
    let f = fixture();
    let long = "a".repeat(2001);
    let esc = "before \u{1b}[31mred";
    let newline = "two\nlines";
    let bidi = "evil \u{202e}txt.exe";
    let mut cases = Vec::new();
    for (text, needle) in [
        ("", "required"),
        ("   ", "required"),
        (long.as_str(), "too long"),
        (esc, "U+001B"),
        (newline, "U+000A"),
        (bidi, "U+202E"),
    ] {
        cases.push((Some(ERIN), create("dev", "Owner", "1h", None, text), 1, vec!["justification", needle]));
        for verb in ["approve", "deny"] {
            cases.push((
                Some(ALICE),
                v(&["request", verb, &f.pending, &format!("--reason={text}")]),
                1,
                vec!["reason", needle],
            ));
        }
        cases.push((
            Some(ALICE),
            v(&["access", "revoke", &f.approved, &format!("--reason={text}")]),
            1,
            vec!["reason", needle],
        ));
        let mut ticket = create("dev", "Owner", "1h", None, "fine");
        ticket.push(format!("--ticket={text}"));
        if !text.trim().is_empty() && text.len() < 300 {
            cases.push((Some(ERIN), ticket, 1, vec!["ticket", needle]));
        }
        if !text.trim().is_empty() && text.len() < 300 {
            cases.push((
                None,
                v(&["user", "add", "zed@contoso.com", "--tenant", "contoso", &format!("--name={text}")]),
                1,
                vec![needle],
            ));
            cases.push((
                Some(DAVE),
                v(&["offer", "publish", "x", &format!("--name={text}")]),
                1,
                vec![needle],
            ));
        }
    }
    // Identifiers: control characters and spaces are refused too.
    cases.push((None, v(&["tenant", "add", "bad\u{1b}id", "--kind", "customer"]), 1, vec!["U+001B"]));
    cases.push((None, v(&["tenant", "add", "two words", "--kind", "customer"]), 1, vec!["tenant id"]));
    cases.push((Some(ALICE), v(&["app", "deploy", "bad\nname", "--offer", "crm"]), 1, vec!["U+000A"]));
    cases.push((
        None,
        v(&["user", "add", "notanemail", "--tenant", "contoso"]),
        1,
        vec!["user principal name"],
    ));
    expect_refused(&f.s, &cases);
    // No error line carries the raw control characters: they are shown, never sent to the terminal.
    let run = f.s.run_as(
        ERIN,
        &create("nope\u{1b}]0;pwned\u{7}", "Owner", "1h", None, "x")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'),
        "raw control characters in {:?}",
        run.stderr
    );

    // Exactly 2,000 characters is still accepted.
    let id = f.s.create_request(ERIN, "dev", "Owner", "1h", &"b".repeat(2000));
    assert_eq!(f.s.request_json(id)["justification"].as_str().map(str::len), Some(2000));
}

#[test]
fn decisions_follow_the_rules() {
    let f = fixture();
    let (p, a) = (f.pending.as_str(), f.approved.as_str());
    let cases = vec![
        // Deciding twice: the first decision wins and the error names the state.
        (Some(ALICE), v(&["request", "approve", a, "--reason", "again"]), 1, vec!["already approved", BOB]),
        (Some(BOB), v(&["request", "deny", a, "--reason", "changed my mind"]), 1, vec!["already approved"]),
        // Nobody decides their own request.
        (Some(DAVE), v(&["request", "approve", p, "--reason", "me"]), 1, vec!["your own"]),
        (Some(DAVE), v(&["request", "deny", p, "--reason", "me"]), 1, vec!["your own"]),
        // Publishers never decide.
        (Some(ERIN), v(&["request", "approve", p, "--reason", "colleague"]), 1, vec!["not an approver"]),
        // Only listed approvers decide, admin or not.
        (Some(CAROL), v(&["request", "approve", p, "--reason", "admin"]), 1, vec!["not an approver"]),
        // Another tenant's request reads as one that does not exist.
        (Some(NADIA), v(&["request", "deny", p, "--reason", "other tenant"]), 1, vec!["no request"]),
        // Only the requester cancels, and only while pending.
        (Some(ERIN), v(&["request", "cancel", p]), 1, vec!["only the requester"]),
        (Some(ALICE), v(&["request", "cancel", p]), 1, vec!["only the requester"]),
        (Some(ERIN), v(&["request", "cancel", a]), 1, vec!["already approved"]),
        // Revocation: approvers or customer admins, approved access only.
        (Some(DAVE), v(&["access", "revoke", a, "--reason", "x"]), 1, vec!["cannot revoke"]),
        (Some(NADIA), v(&["access", "revoke", a, "--reason", "x"]), 1, vec!["no request"]),
        (
            Some(ALICE),
            v(&["access", "revoke", p, "--reason", "x"]),
            1,
            vec!["still pending", "cancel", "deny"],
        ),
    ];
    expect_refused(&f.s, &cases);

    // After a denial, both later decisions are refused naming Denied.
    f.s.ok_as(ALICE, &["request", "deny", p, "--reason", "no"]);
    let cases = vec![
        (Some(BOB), v(&["request", "approve", p, "--reason", "yes"]), 1, vec!["already denied", ALICE]),
        (Some(ALICE), v(&["request", "deny", p, "--reason", "no again"]), 1, vec!["already denied"]),
        (Some(DAVE), v(&["request", "cancel", p]), 1, vec!["already denied"]),
        (Some(ALICE), v(&["access", "revoke", p, "--reason", "x"]), 1, vec!["denied"]),
    ];
    expect_refused(&f.s, &cases);

    // A revoked grant cannot be revoked or decided again.
    f.s.ok_as(ALICE, &["access", "revoke", a, "--reason", "done"]);
    let cases = vec![
        (Some(ALICE), v(&["access", "revoke", a, "--reason", "again"]), 1, vec!["already revoked"]),
        (Some(BOB), v(&["request", "approve", a, "--reason", "again"]), 1, vec!["already revoked"]),
    ];
    expect_refused(&f.s, &cases);
}

/// Every action on another tenant's request or application gives, word for word, the line for one that
/// does not exist: nothing about its tenant, requester or even its existence leaks.
#[test]
fn actions_on_what_the_caller_may_not_see_read_as_on_what_does_not_exist() {
    let f = fixture();
    f.s.ok(&["tenant", "add", "litware", "--kind", "publisher"]);
    f.s.ok(&["user", "add", "olga@litware.com", "--tenant", "litware"]);
    let (p, a) = (f.pending.as_str(), f.approved.as_str());
    let missing = "999";
    let request_actions = |id: &str| {
        vec![
            v(&["request", "approve", id, "--reason", "ok"]),
            v(&["request", "deny", id, "--reason", "no"]),
            v(&["request", "cancel", id]),
            v(&["access", "revoke", id, "--reason", "x"]),
        ]
    };
    let before = f.s.snapshot();
    for who in [NADIA, "olga@litware.com"] {
        for id in [p, a] {
            for (hidden, absent) in request_actions(id).into_iter().zip(request_actions(missing)) {
                let hidden_run = f.s.run_as(who, &args_of(&hidden));
                let absent_run = f.s.run_as(who, &args_of(&absent));
                assert_eq!((hidden_run.code, absent_run.code), (1, 1), "{who} {hidden:?}");
                assert_eq!(
                    hidden_run.error_line().replace(id, missing),
                    absent_run.error_line(),
                    "{who} {hidden:?}"
                );
            }
        }
        let set = |app: &str| v(&["app", "set", app, "--max-duration", "1h"]);
        for app in ["prod", "legacy"] {
            let hidden = f.s.run_as(who, &args_of(&set(app)));
            let absent = f.s.run_as(who, &args_of(&set("nowhere")));
            assert_eq!(hidden.code, 1);
            assert_eq!(hidden.error_line().replace(app, "nowhere"), absent.error_line(), "{who} set {app}");
            // Including an application deployed without JIT.
            let ask = |app: &str| create(app, "Owner", "1h", None, "why");
            let hidden = f.s.run_as(who, &args_of(&ask(app)));
            let absent = f.s.run_as(who, &args_of(&ask("nowhere")));
            assert_eq!(hidden.code, 1);
            assert_eq!(hidden.error_line().replace(app, "nowhere"), absent.error_line(), "{who} asks {app}");
        }
    }
    assert_eq!(f.s.snapshot(), before, "nothing changed");
}

#[test]
fn request_rules_are_enforced() {
    let f = fixture();
    let cases = vec![
        // One pending request per requester and application.
        (
            Some(DAVE),
            create("prod", "Contributor", "30m", None, "again"),
            1,
            vec!["already have pending request", f.pending.as_str()],
        ),
        // No JIT: the publisher already has access.
        (Some(DAVE), create("legacy", "Owner", "1h", None, "why"), 1, vec!["permanent access"]),
        // Only the publisher tenant's users request.
        (Some(CAROL), create("prod", "Owner", "1h", None, "why"), 1, vec!["only its users can request"]),
    ];
    expect_refused(&f.s, &cases);
}

#[test]
fn deployment_and_policy_rules_are_enforced() {
    let f = fixture();
    let cases = vec![
        // JIT needs the customer's P2 licence.
        (Some(NADIA), v(&["app", "deploy", "nw", "--offer", "crm"]), 1, vec!["P2", "northwind"]),
        (Some(NADIA), v(&["app", "deploy", "nw", "--offer", "crm", "--jit", "on"]), 1, vec!["P2"]),
        // Manual approval with nobody to approve.
        (
            Some(ALICE),
            v(&["app", "deploy", "m", "--offer", "crm", "--approval", "manual"]),
            1,
            vec!["approver"],
        ),
        (Some(ALICE), v(&["app", "set", "dev", "--approval", "manual"]), 1, vec!["approver"]),
        (
            Some(ALICE),
            v(&["app", "set", "prod", "--remove-approver", ALICE, "--remove-approver", BOB]),
            1,
            vec!["approver"],
        ),
        // Enablement is chosen at deployment, and only where the offer allows it.
        (Some(ALICE), v(&["app", "set", "legacy", "--jit", "on"]), 1, vec!["only be chosen at deployment"]),
        (Some(ALICE), v(&["app", "set", "prod", "--jit", "off"]), 1, vec!["only be chosen at deployment"]),
        (
            Some(ALICE),
            v(&["app", "set", "legacy", "--approval", "manual", "--add-approver", BOB]),
            1,
            vec!["only be chosen at deployment"],
        ),
        (
            Some(ALICE),
            v(&["app", "deploy", "p2", "--offer", "plain", "--jit", "on"]),
            1,
            vec!["does not support jit"],
        ),
        // Approvers come from the customer tenant.
        (Some(ALICE), v(&["app", "set", "prod", "--add-approver", DAVE]), 1, vec!["in tenant `contoso`"]),
        // Who may do what.
        (Some(BOB), v(&["app", "deploy", "b", "--offer", "crm"]), 1, vec!["admin of the customer tenant"]),
        (Some(DAVE), v(&["app", "deploy", "d", "--offer", "crm"]), 1, vec!["admin of the customer tenant"]),
        (
            Some(BOB),
            v(&["app", "set", "prod", "--max-duration", "1h"]),
            1,
            vec!["admin of its customer tenant"],
        ),
        (Some(NADIA), v(&["app", "set", "prod", "--max-duration", "1h"]), 1, vec!["no application `prod`"]),
        // JIT settings on a deployment without JIT are a conflict, not silently dropped.
        (
            Some(ALICE),
            v(&["app", "deploy", "x", "--offer", "crm", "--jit", "off", "--approval", "manual"]),
            1,
            vec!["--approval", "no JIT access", "--jit on"],
        ),
        (
            Some(ALICE),
            v(&["app", "deploy", "x", "--offer", "plain", "--max-duration", "1h", "--approver", BOB]),
            1,
            vec!["--max-duration, --approver", "no JIT access"],
        ),
        (
            Some(ALICE),
            v(&["offer", "publish", "mine", "--name", "Mine"]),
            1,
            vec!["only publisher-tenant users"],
        ),
        // Names are unique.
        (
            Some(ALICE),
            v(&["app", "deploy", "prod", "--offer", "crm", "--approval", "manual", "--approver", BOB]),
            1,
            vec!["already exists"],
        ),
        (Some(DAVE), v(&["offer", "publish", "crm", "--name", "Again"]), 1, vec!["already exists"]),
        (None, v(&["tenant", "add", "contoso", "--kind", "customer"]), 1, vec!["already exists"]),
        (None, v(&["user", "add", "ALICE@contoso.com", "--tenant", "contoso"]), 1, vec!["already exists"]),
        (None, v(&["tenant", "add", "pub2", "--kind", "publisher", "--license", "p2"]), 1, vec!["licence"]),
    ];
    expect_refused(&f.s, &cases);
    // One OS login maps to one user.
    f.s.ok(&["user", "add", "lo@fabrikam.com", "--tenant", "fabrikam", "--login", "shared"]);
    let cases = vec![(
        None,
        v(&["user", "add", "lo2@fabrikam.com", "--tenant", "fabrikam", "--login", "shared"]),
        1,
        vec!["already belongs"],
    )];
    expect_refused(&f.s, &cases);
}

#[test]
fn usage_errors_exit_2_on_one_line() {
    let f = fixture();
    let cases = vec![
        (None, v(&["request", "list", "--state", "bogus"]), 2, vec!["bogus", "Pending"]),
        (None, v(&["request", "list", "--state", ""]), 2, vec![]),
        (
            Some(ERIN),
            v(&["request", "create", "--app", "dev", "--role", "Owner", "--reason", "x"]),
            2,
            vec!["--duration"],
        ),
        (
            Some(ERIN),
            v(&["request", "create", "--app", "dev", "--duration", "1h", "--reason", "x"]),
            2,
            vec!["--role"],
        ),
        (
            Some(ERIN),
            v(&["request", "create", "--app", "dev", "--role", "Owner", "--duration", "1h"]),
            2,
            vec!["--reason"],
        ),
        (
            Some(ERIN),
            v(&["request", "create", "--role", "Owner", "--duration", "1h", "--reason", "x"]),
            2,
            vec!["--app"],
        ),
        (Some(ALICE), v(&["request", "approve", &f.pending]), 2, vec!["--reason"]),
        (Some(ALICE), v(&["access", "revoke", &f.approved]), 2, vec!["--reason"]),
        (None, v(&["access", "check", "--app", "prod"]), 2, vec!["--user"]),
        (None, v(&["tenant", "add", "x"]), 2, vec!["--kind"]),
        (None, v(&["tenant", "add", "x", "--kind", "vendor"]), 2, vec!["vendor"]),
        (None, v(&["user", "add", "x@contoso.com"]), 2, vec!["--tenant"]),
        (Some(ALICE), v(&["app", "deploy", "x"]), 2, vec!["--offer"]),
        (
            Some(ALICE),
            v(&["app", "deploy", "x", "--offer", "crm", "--approval", "sometimes"]),
            2,
            vec!["sometimes"],
        ),
        (Some(ALICE), v(&["app", "set", "dev", "--jit", "maybe"]), 2, vec!["maybe"]),
        (None, v(&["request", "frobnicate"]), 2, vec![]),
        (None, v(&["audit", "--limit", "many"]), 2, vec![]),
    ];
    expect_refused(&f.s, &cases);
}

#[test]
fn workflow_commands_without_an_identity_fail_clearly() {
    let f = fixture();
    // The OS login (jitdesk-test-unmapped) belongs to nobody and there is no --as.
    let cases = vec![
        (None, create("dev", "Owner", "1h", None, "who am I"), 1, vec!["needs a directory user", "--as"]),
        (None, v(&["request", "approve", &f.pending, "--reason", "ok"]), 1, vec!["needs a directory user"]),
        (None, v(&["request", "cancel", &f.pending]), 1, vec!["needs a directory user"]),
        (None, v(&["access", "revoke", &f.approved, "--reason", "x"]), 1, vec!["needs a directory user"]),
        (None, v(&["app", "deploy", "x", "--offer", "crm"]), 1, vec!["needs a directory user"]),
        (None, v(&["app", "set", "dev", "--max-duration", "1h"]), 1, vec!["needs a directory user"]),
        (None, v(&["offer", "publish", "x", "--name", "X"]), 1, vec!["needs a directory user"]),
        (None, v(&["notifications"]), 1, vec!["needs a directory user"]),
        (None, v(&["request", "list", "--mine"]), 1, vec!["needs a directory user"]),
    ];
    expect_refused(&f.s, &cases);
    // Having no OS login at all is no identity either.
    let before = f.s.snapshot();
    let args = create("dev", "Owner", "1h", None, "who am I");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = f.s.command();
    cmd.args(&args).env_remove("USER").env_remove("LOGNAME");
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.lines().count() == 1 && stderr.contains("directory user"),
        "{stderr}"
    );
    assert_eq!(f.s.snapshot(), before);
}

#[test]
fn a_missing_store_says_to_run_init_and_is_not_created() {
    let s = Store::new();
    let create = as_user(DAVE, &request_create("a", "Owner", "1h", "x"));
    for args in [
        &["request", "list"][..],
        &["audit"],
        &["tenant", "add", "x", "--kind", "customer"],
        &create,
        &["access", "check", "--app", "a", "--user", DAVE],
    ] {
        let run = s.run(args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        let line = run.error_line();
        assert!(line.contains("jitdesk init") && line.contains(&s.path.display().to_string()), "{line}");
        assert!(run.stdout.is_empty());
        assert!(!s.path.exists(), "{args:?} created the store");
    }
    // Also in a directory that does not exist: nothing is created on the way.
    let deep = s.dir.path().join("not").join("there.redb");
    let mut cmd = bare_command();
    let out = cmd.arg("--store").arg(&deep).arg("audit").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("jitdesk init"));
    assert!(!s.dir.path().join("not").exists(), "a missing store's directory was created");
    // JITDESK_STORE names the store like --store.
    let out = bare_command().env("JITDESK_STORE", &s.path).arg("audit").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&s.path.display().to_string()));
}

/// An empty JITDESK_USER (as `JITDESK_USER= jitdesk ...` leaves it) should count as unset, so the OS
/// login decides; today it is taken as the UPN "" and refused with "no user `` in the directory".
#[test]
fn an_empty_jitdesk_user_falls_back_to_the_os_login() {
    let s = directory();
    s.ok(&["user", "add", "frank@fabrikam.com", "--tenant", "fabrikam", "--login", "frank-login"]);
    let args = create("dev", "Owner", "1h", None, "empty env");
    let run = s.run_with(
        &args_of(&args),
        &[("JITDESK_USER", ""), ("USER", "frank-login"), ("LOGNAME", "frank-login")],
    );
    let id = parse_id(&expect_ok(&args_of(&args), run));
    assert_eq!(s.request_json(id)["requester"], "frank@fabrikam.com");
}
