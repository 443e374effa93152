//! `jitdesk store copy`: a store copied into a new one answers every question as the original
//! does (requests, audit, notifications, keys, CAs, tokens, channels, contacts, deliveries), keeps
//! what no list shows (warnings already given, notifications marked seen, channel ids used), and
//! each refusal is one line that changes nothing.

use std::path::Path;

use jitdesk::domain::{Paging, Period};
use jitdesk::engine::{Engine, MarkSeen, OpenMode};

use super::engine_notices::{ALICE as CONTOSO_APPROVER, PAT, World, minutes, t0, user, world};
use crate::common::*;

/// `store copy --from FROM --to TO`, run with a clean environment.
fn copy(from: &Path, to: &Path) -> Run {
    let mut cmd = bare_command();
    cmd.args(["store", "copy", "--from"]).arg(from).arg("--to").arg(to);
    Run::from_cmd(&mut cmd)
}

/// A sample store with a little of everything the sample leaves out: a channel removed after
/// another was added, a contact, an SSH key, a tenant CA, a token, and deliveries over the channel.
fn rich() -> (Store, tempfile::TempDir) {
    let s = Store::new();
    s.ok(&["init", "--sample"]);
    let keys = tempfile::tempdir().expect("a temporary folder");
    let (dave_key, ca) = (keys.path().join("dave"), keys.path().join("ca"));
    ssh::keygen(&dave_key);
    ssh::keygen(&ca);
    let pub_file = |p: &Path| p.with_extension("pub").display().to_string();
    s.ok(&["tenant", "channel", "add", "contoso", "--hook", "/bin/true"]);
    s.ok(&["tenant", "channel", "add", "contoso", "--hook", "/bin/true", "--arg", "-x"]);
    s.ok(&["tenant", "channel", "remove", "contoso", "2"]);
    s.ok_as(BOB, &["user", "set", BOB, "--email", BOB, "--mute", "ending-soon"]);
    s.ok_as(DAVE, &["user", "key", "add", DAVE, "--key-file", &pub_file(&dave_key)]);
    s.ok(&["tenant", "ca", "add", "fabrikam", "--key-file", &pub_file(&ca)]);
    s.ok_as(DAVE, &["token", "create", "--name", "ci", "--expires", "30d"]);
    s.create_request(DAVE, "contoso-crm-eu", "Reader", "1h", "incident 7");
    (s, keys)
}

/// What a store answers, read through the CLI: every list and every request in full.
fn answers(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        &["audit", "--json", "--limit", "1000"][..],
        &["request", "list", "--json", "--limit", "1000"],
        &["app", "list", "--json"],
        &["offer", "list", "--json"],
        &["tenant", "list", "--json"],
        &["user", "list", "--json"],
        &["group", "list", "--json"],
        &["group", "show", "contoso-approvers", "--json"],
        &["token", "list", "--json"],
        &["tenant", "ca", "list", "fabrikam", "--json"],
        &["deliveries", "--json"],
    ] {
        out.push(s.ok(args));
    }
    for (upn, args) in [
        (ALICE, &["notifications", "--json", "--limit", "1000"][..]),
        (BOB, &["notifications", "--json", "--limit", "1000"]),
        (DAVE, &["notifications", "--json", "--limit", "1000"]),
        (DAVE, &["user", "key", "list", "--json"]),
        (ALICE, &["tenant", "channel", "list", "contoso", "--json"]),
        (BOB, &["user", "contact", BOB, "--json"]),
    ] {
        out.push(s.ok_as(upn, args));
    }
    let requests = s.json(&["request", "list", "--json", "--limit", "1000"]);
    for request in requests.as_array().expect("a list") {
        let id = request["id"].as_u64().expect("an id").to_string();
        let shown = s.run(&["request", "show", &id, "--json"]);
        out.push(format!("{} {}", shown.code, shown.stdout));
    }
    out
}

#[test]
fn a_copy_answers_every_question_as_the_original_does() {
    let (a, _keys) = rich();
    let b = Store::new();
    let run = copy(&a.path, &b.path);
    let printed = expect_ok(&["store", "copy"], run);
    assert!(printed.contains("the counts agree"), "{printed}");
    for kind in [
        "requests",
        "audit records",
        "notifications",
        "SSH keys",
        "SSH CAs",
        "tokens",
        "channels",
        "contacts",
        "deliveries",
    ] {
        let line =
            printed.lines().find(|l| l.starts_with(kind)).unwrap_or_else(|| panic!("no {kind}: {printed}"));
        let counts: Vec<&str> = line[kind.len()..].split_whitespace().collect();
        assert_eq!(counts.len(), 2, "{line}");
        assert_eq!(counts[0], counts[1], "{line}");
        assert_ne!(counts[0], "0", "the store has {kind} to copy: {line}");
    }
    assert_eq!(answers(&a), answers(&b));
    // Channel 2 was removed in the original; its id is not given again in the copy.
    b.ok(&["tenant", "channel", "add", "contoso", "--hook", "/bin/true"]);
    let channels = b.json_as(ALICE, &["tenant", "channel", "list", "contoso", "--json"]);
    let ids: Vec<u64> =
        channels.as_array().expect("a list").iter().map(|c| c["id"].as_u64().expect("an id")).collect();
    assert_eq!(ids, [1, 3]);
}

#[test]
fn refusals_are_one_line_and_change_nothing() {
    let a = Store::new();
    a.ok(&["init", "--sample"]);
    let before = a.snapshot();
    let taken = Store::new();
    taken.ok(&["init", "--sample"]);
    taken.ok(&["tenant", "add", "extra", "--kind", "customer"]);
    let taken_before = taken.snapshot();

    let same = copy(&a.path, &a.path);
    assert_ne!(same.code, 0);
    assert!(same.error_line().contains("both the source and the target"), "{}", same.stderr);

    let full = copy(&a.path, &taken.path);
    assert_ne!(full.code, 0);
    assert!(full.error_line().contains("already holds data"), "{}", full.stderr);
    assert_eq!(taken.snapshot(), taken_before);

    let nowhere = Store::new();
    let missing = copy(&nowhere.path, &a.dir.path().join("copy.redb"));
    assert_ne!(missing.code, 0);
    assert!(missing.error_line().contains("no store at"), "{}", missing.stderr);
    assert!(!a.dir.path().join("copy.redb").exists(), "nothing is made for a missing source");

    let secret = copy(&a.path, Path::new("postgres://jit:hunter2@db.example.com/jitdesk"));
    assert_ne!(secret.code, 0);
    let line = secret.error_line();
    assert!(line.contains("password") && line.contains("--to"), "{line}");
    assert!(!line.contains("hunter2"), "the password is never repeated: {line}");

    assert_eq!(a.snapshot(), before);
}

#[tokio::test]
async fn warnings_given_and_notifications_seen_stay_so_in_the_copy() {
    let w = world().await;
    w.granted(PAT, Period::from_hours(1)).await;
    w.at(t0() + minutes(51)).await;
    assert_eq!(w.warnings(PAT).await.len(), 1, "told once, ten minutes before the end");
    let newest = w.notes(CONTOSO_APPROVER).await.first().expect("a notification").id;
    w.engine.run(&user(CONTOSO_APPROVER), MarkSeen { upto: newest }).await.unwrap();
    let from = w.engine.path().to_path_buf();
    // The store's folder stays with what is left of `w`; the engine lets go of the store.
    let World { engine, clock, .. } = w;
    engine.close().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.redb");
    expect_ok(&["store", "copy"], copy(&from, &to));

    // Opened at a time when the warning is due: given already, it is not given again.
    let copied = Engine::open(&to, OpenMode::Existing, clock).await.unwrap();
    copied.sync().await.unwrap();
    let warnings = copied.notifications(PAT, Paging::first(1000)).await.unwrap().items;
    let warnings = warnings.iter().filter(|n| n.action == jitdesk::domain::Action::AccessEndingSoon).count();
    assert_eq!(warnings, 1);
    assert_eq!(copied.seen_upto(CONTOSO_APPROVER).await.unwrap(), newest);
    copied.close().await.unwrap();
}
