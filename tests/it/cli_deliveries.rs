//! `tenant channel`, `user set`, `user contact` and `deliveries` from the command line, on the store
//! itself and through `jitdesk serve`: the same answers and the same refusals either way, one
//! `error:` line each; secrets read from private files only, and never printed, listed or logged.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::common::serve::Serve;
use crate::common::*;

const ALICE: &str = "alice@contoso.com";
const BOB: &str = "bob@contoso.com";
const DAVE: &str = "dave@fabrikam.com";
const ERIN: &str = "erin@fabrikam.com";
/// What the secret files hold: no output may ever carry it.
const SECRET: &str = "s3cret-never-shown-7f3a";
const PASSWORD: &str = "pw-never-shown-91bd";

/// A file holding `text`, with `mode`.
fn file(dir: &Path, name: &str, text: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).expect("write a secret file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

/// What a run shows that does not depend on the clock: its exit code and its first line of output,
/// or its one error line; and it never shows a secret.
fn seen(run: &Run) -> String {
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains(SECRET) && !text.contains(PASSWORD) && !text.contains("hunter2"),
            "a secret is shown: {text}"
        );
    }
    if run.code == 0 {
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        format!("0 {}", run.stdout.lines().next().unwrap_or(""))
    } else {
        assert_eq!(run.stderr.lines().count(), 1, "one error line: {}", run.stderr);
        format!("{} {}", run.code, run.error_line())
    }
}

/// The same steps on a sample store, whichever way the CLI reaches it.
fn steps(s: &Store, secrets: &Path) -> Vec<String> {
    let secret = file(secrets, "secret", SECRET, 0o600);
    let password = file(secrets, "password", PASSWORD, 0o600);
    let shared = file(secrets, "shared", SECRET, 0o644);
    let empty = file(secrets, "empty", "", 0o600);
    let mut out = Vec::new();
    let mut step = |upn: Option<&str>, args: &[&str]| {
        let run = match upn {
            Some(upn) => s.run_as(upn, args),
            None => s.run(args),
        };
        out.push(format!("{upn:?} {args:?} -> {}", seen(&run)));
        run
    };
    let webhook = ["tenant", "channel", "add", "contoso", "--webhook", "https://chat.example/jit"];
    step(Some(ALICE), &[&webhook[..], &["--format", "slack", "--secret-file", &secret]].concat());
    step(Some(DAVE), &[&webhook[..], &["--secret-file", &secret]].concat());
    step(Some(ALICE), &[&webhook[..], &["--secret-file", &shared]].concat());
    step(
        Some(ALICE),
        &["tenant", "channel", "add", "contoso", "--webhook", "http://10.0.0.1/x", "--secret-file", &secret],
    );
    step(Some(ALICE), &["tenant", "channel", "add", "contoso", "--hook", "/bin/true"]);
    step(
        Some(ALICE),
        &[
            "tenant",
            "channel",
            "add",
            "contoso",
            "--sendmail",
            "/usr/sbin/sendmail",
            "--from",
            "jit@contoso.com",
        ],
    );
    step(
        Some(ALICE),
        &[
            "tenant",
            "channel",
            "add",
            "contoso",
            "--smtp",
            "smtps://jit@mail.example:465",
            "--password-file",
            &password,
            "--from",
            "jit@contoso.com",
        ],
    );
    step(None, &["tenant", "channel", "add", "contoso", "--hook", "/bin/true", "--arg", "-x"]);
    let listed = step(Some(ALICE), &["tenant", "channel", "list", "contoso", "--json"]);
    let listed: Value = serde_json::from_str(&listed.stdout).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    assert_eq!(listed[0]["type"], "webhook");
    assert_eq!(listed[0]["secretSet"], true);
    assert_eq!(listed[1]["passwordSet"], true);
    step(Some(ALICE), &["tenant", "channel", "list", "contoso"]);
    step(Some(DAVE), &["tenant", "channel", "list", "contoso"]);
    step(Some(DAVE), &["tenant", "channel", "list", "nosuch"]);
    step(Some(DAVE), &["tenant", "channel", "remove", "contoso", "1"]);
    step(Some(ALICE), &["tenant", "channel", "remove", "contoso", "3"]);
    step(Some(ALICE), &["tenant", "channel", "remove", "contoso", "3"]);

    step(Some(BOB), &["user", "set", BOB, "--email", BOB, "--mute", "ending-soon", "--digest", "30"]);
    let contact = step(Some(BOB), &["user", "contact", "--json"]);
    let contact: Value = serde_json::from_str(&contact.stdout).expect("JSON");
    assert_eq!(contact["email"], BOB);
    assert_eq!(contact["muted"], serde_json::json!(["ending-soon"]));
    assert_eq!(contact["digestMinutes"], 30);
    step(Some(BOB), &["user", "set", ALICE, "--email", "x@example.com"]);
    step(Some(ALICE), &["user", "set", BOB, "--no-digest", "--unmute", "ending-soon"]);
    step(Some(ALICE), &["user", "contact", BOB]);
    step(Some(DAVE), &["user", "contact", BOB]);
    step(Some(BOB), &["user", "set", BOB, "--mute", "bogus"]);
    step(Some(BOB), &["user", "set", BOB]);
    step(Some(BOB), &["user", "set", BOB, "--digest", "0"]);
    step(Some(BOB), &["user", "set", BOB, "--email", "not-an-address"]);
    step(
        Some(ALICE),
        &["tenant", "channel", "add", "contoso", "--webhook", "ftp://chat.example", "--secret-file", &secret],
    );
    let smtp =
        |url: &'static str| ["tenant", "channel", "add", "contoso", "--smtp", url, "--from", "j@contoso.com"];
    step(Some(ALICE), &smtp("smtp://127.0.0.1:25"));
    step(Some(ALICE), &smtp("smtps://jit:hunter2@mail.example:465"));
    step(Some(ALICE), &[&webhook[..], &["--secret-file", &empty]].concat());
    step(Some(ALICE), &[&webhook[..], &["--format", "bogus", "--secret-file", &secret]].concat());

    // A request for contoso's approvers: a notice to each channel (the webhook) and to each
    // approver with an address (bob's mail over the SMTP relay).
    step(
        Some(ERIN),
        &[
            "request",
            "create",
            "--app",
            "contoso-crm-eu",
            "--role",
            "Owner",
            "--duration",
            "1h",
            "--reason",
            "sync",
        ],
    );
    let all = step(None, &["deliveries", "--json"]);
    let all: Value = serde_json::from_str(&all.stdout).expect("JSON");
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|d| d["kind"] == "to-decide" && d["tenant"] == "contoso"), "{all:?}");
    assert_eq!(all.iter().filter(|d| d["to"] == BOB && d["channel"] == 2).count(), 1, "{all:?}");
    assert_eq!(all.iter().filter(|d| d["to"].is_null() && d["channel"] == 1).count(), 1, "{all:?}");
    let mine = step(Some(BOB), &["deliveries", "--json"]);
    let mine: Value = serde_json::from_str(&mine.stdout).expect("JSON");
    assert_eq!(
        mine.as_array().map(|m| m.iter().all(|d| d["to"] == BOB && d["audit"] == all[0]["audit"])),
        Some(true)
    );
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    let theirs = step(Some(DAVE), &["deliveries", "--json"]);
    assert_eq!(theirs.stdout.trim(), "[]", "another tenant's deliveries are not dave's to see");
    step(Some(ALICE), &["deliveries", "--failed"]);
    // The audit log tells of channels without their secrets.
    step(None, &["audit", "--json", "--limit", "1000"]);
    out
}

#[test]
fn delivery_commands_answer_alike_on_the_store_and_through_the_service() {
    let secrets = tempfile::tempdir().expect("a folder for the secrets");
    let local = Store::new();
    local.ok(&["init", "--sample"]);
    let direct = steps(&local, secrets.path());

    let shared = Store::new();
    shared.ok(&["init", "--sample"]);
    let service = Serve::on(&shared.path);
    let served = steps(&shared, secrets.path());
    assert_eq!(direct, served);
    let log = std::fs::read_to_string(service.log()).unwrap_or_default();
    assert!(!log.contains(SECRET) && !log.contains(PASSWORD), "the log has a secret:\n{log}");

    // And what they said, for the record of what each step does.
    let expect = [
        "0 added channel 1 to contoso: https://chat.example/jit (slack)",
        "1 error: dave@fabrikam.com may not manage the channels of tenant contoso",
        "1 error: the secret file",
        "1 error: alice@contoso.com may not add a plain http:// webhook",
        "1 error: alice@contoso.com may not add a hook, which runs a program: only the operator can (--sendmail or --hook)",
        "1 error: alice@contoso.com may not add a sendmail channel",
        "0 added channel 2 to contoso: smtps://jit@mail.example:465 from jit@contoso.com",
        "0 added channel 3 to contoso: /bin/true -x",
        "0 [",
        "0 ID  TYPE",
        "1 error: dave@fabrikam.com may not manage the channels of tenant contoso",
        "1 error: no tenant `nosuch`",
        "1 error: dave@fabrikam.com may not manage the channels of tenant contoso",
        "0 removed channel 3 from contoso: /bin/true -x",
        "1 error: tenant contoso has no channel 3",
        "0 user    bob@contoso.com",
        "0 {",
        "1 error: no user `alice@contoso.com`",
        "0 user    bob@contoso.com",
        "0 user    bob@contoso.com",
        "1 error: no user `bob@contoso.com`",
        "2 error: invalid value 'bogus' for '--mute <KIND>': unknown kind of notice",
        "2 error: the following required arguments were not provided",
        "1 error: a digest every 0 minutes is out of range: give 1 to 1440 minutes (--digest)",
        "1 error: `not-an-address` is not an e-mail address such as ana@contoso.com (--email)",
        "1 error: the webhook URL must start with https:// or http:// (--webhook or --smtp)",
        "1 error: alice@contoso.com may not add a channel to 127.0.0.1, an internal host: only the operator can (--webhook or --smtp)",
        "1 error: the SMTP URL for mail.example holds a password, which is never kept in a URL: give the password on its own (--webhook or --smtp, --secret-file or --password-file)",
        "1 error: the webhook secret is empty: give a file that holds it (--secret-file or --password-file)",
        "2 error: invalid value 'bogus' for '--format <FORMAT>' [possible values: jitdesk, slack, teams]",
        "0 ",
        "0 [",
        "0 [",
        "0 []",
        "0 ID  STATE",
        "0 [",
    ];
    assert_eq!(direct.len(), expect.len(), "{direct:#?}");
    for (step, start) in direct.iter().zip(expect) {
        let (_, said) = step.split_once(" -> ").expect("a step");
        assert!(said.starts_with(start), "{step:?} should start with {start:?}");
    }
    let shared =
        direct.iter().find(|s| s.contains("(given with --secret-file)")).expect("the refused secret file");
    assert!(shared.contains("may be read by others (mode 0644)"), "{shared}");
}
