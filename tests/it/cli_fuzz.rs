//! Arbitrary argument vectors to the real binary: whatever a person or a script types, jitdesk
//! answers with a result or a refusal (exit 0 to 3), never a panic (exit 101) or a hang.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::{self, ALICE, DAVE, Run, directory};

/// Commands that finish by themselves; `serve`, `demo` and the dashboard wait for a person, and
/// `init` writes where it is told.
const COMMANDS: &[&[&str]] = &[
    &["tenant", "add"],
    &["user", "add"],
    &["user", "search"],
    &["offer", "publish"],
    &["offer", "list"],
    &["app", "deploy"],
    &["app", "set"],
    &["app", "list"],
    &["app", "show"],
    &["request", "create"],
    &["request", "list"],
    &["request", "show"],
    &["request", "approve"],
    &["request", "deny"],
    &["request", "cancel"],
    &["access", "list"],
    &["access", "check"],
    &["access", "revoke"],
    &["notifications"],
    &["audit"],
    &["man"],
    &["completions"],
];

/// Flags and values that mean something to some command, mixed with anything.
const WORDS: &[&str] = &[
    "--json",
    "--limit",
    "--app",
    "--role",
    "--duration",
    "--start",
    "--reason",
    "--ticket",
    "--state",
    "--mine",
    "--kind",
    "--name",
    "--license",
    "--tenant",
    "--admin",
    "--login",
    "--jit",
    "--roles",
    "--offer",
    "--approval",
    "--max-duration",
    "--approver",
    "--request-timeout",
    "--resource-group",
    "--add-approver",
    "--remove-approver",
    "--user",
    "--as",
    "--utc",
    "--help",
    "on",
    "off",
    "manual",
    "auto",
    "customer",
    "publisher",
    "p2",
    "free",
    "prod",
    "dev",
    "legacy",
    "crm",
    "contoso",
    "fabrikam",
    "Owner",
    "pending",
    "approved",
    "1",
    "0",
    "-1",
    "18446744073709551616",
    "now",
    "+30m",
    "+P3653D",
    "9999-12-31T23:59:59-01:00",
    "+10000-01-01T00:00:00Z",
    "PT1H",
    "P3654D",
    "1h",
    "alice@contoso.com",
    "dave@fabrikam.com",
    "\u{1b}[2J",
    "\u{2028}",
    "",
];

fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_string),
        // Arguments cannot hold NUL bytes; anything else can reach the binary.
        1 => any::<String>().prop_map(|s| s.replace('\0', "")),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn run(store: &common::Store, args: &[String]) -> Run {
    let mut cmd = store.command();
    cmd.args(args).timeout(Duration::from_secs(60));
    Run::from_cmd(&mut cmd)
}

#[test]
fn any_arguments_get_an_answer_never_a_panic() {
    let store = directory();
    let case = (
        proptest::sample::select(&[None, Some(ALICE), Some(DAVE)][..]),
        proptest::sample::select(COMMANDS),
        proptest::collection::vec(argument(), 0..6),
    );
    let mut runner = TestRunner::new(Config { cases: 200, failure_persistence: None, ..Config::default() });
    runner
        .run(&case, |(caller, command, rest)| {
            let mut args: Vec<String> =
                caller.map(|upn| vec!["--as".to_string(), upn.to_string()]).unwrap_or_default();
            args.extend(command.iter().map(|a| a.to_string()));
            args.extend(rest);
            let run = run(&store, &args);
            prop_assert!(
                (0..=3).contains(&run.code),
                "jitdesk {args:?} exited {}: {:?}",
                run.code,
                run.stderr
            );
            prop_assert!(!run.stderr.contains("panicked"), "jitdesk {args:?}: {:?}", run.stderr);
            prop_assert!(!run.stderr.contains("internal error"), "jitdesk {args:?}: {:?}", run.stderr);
            if run.code != 0 && run.code != 3 {
                prop_assert!(!run.stderr.trim().is_empty(), "jitdesk {args:?} failed silently");
            }
            prop_assert!(
                !run.stderr.contains('\u{1b}'),
                "jitdesk {args:?} printed an escape: {:?}",
                run.stderr
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
