//! Who a client is at the SSH door, from the directory: a key added with `user key add` is that
//! user until `user key remove`, and a certificate signed by an authority a tenant trusts (`tenant
//! ca add`) is its principal while valid and while that principal is a user of that tenant. Every
//! other key or certificate is refused at authentication, and the log says why in the door's
//! words. `--as` stays the operator's. Keys and certificates are made by OpenSSH's `ssh-keygen`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::ssh::*;
use crate::common::*;

/// Text of the client's own that must never reach the log: the key id of every certificate.
const KEY_ID: &str = "key-id-from-the-client";

/// A new key pair named `name` in the door's folder.
fn user_key(door: &Door, name: &str) -> PathBuf {
    let path = door.store.dir.path().join(name);
    keygen(&path);
    path
}

/// The SHA256 fingerprint of the key pair at `path`, as `user key list` shows it.
fn fingerprint(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-E", "sha256", "-l", "-f"])
        .arg(path.with_extension("pub"))
        .output();
    let out = String::from_utf8(out.unwrap().stdout).unwrap();
    out.split_whitespace().nth(1).expect("ssh-keygen -l prints a fingerprint").to_string()
}

/// A new key `name` with a user certificate (`name-cert.pub`, which ssh offers with the key)
/// signed by `ca` for `principal`, valid over `validity` (ssh-keygen's `-V`).
fn certified(door: &Door, name: &str, ca: &Path, principal: &str, validity: &str) -> PathBuf {
    let key = user_key(door, name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(ca)
        .args(["-I", KEY_ID, "-n", principal, "-V", validity])
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -s: {}", String::from_utf8_lossy(&out.stderr));
    key
}

/// `command` over SSH with `key`, from the loopback address `from`.
fn ssh_from(door: &Door, key: &Path, from: &str, command: &[&str]) -> Run {
    Run::from_cmd(&mut assert_cmd::Command::from_std(door.ssh_with(key, &["-b", from], command)))
}

fn refused_at_authentication(run: &Run) {
    assert_eq!(run.code, 255, "{run:?}");
    assert!(run.stderr.contains("Permission denied (publickey)"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

/// `request create` over SSH with `key`: who the service recorded as the requester.
fn requester_over_ssh(door: &Door, key: &Path) -> String {
    let made = door.ssh_key(key, &request_create("dev", "Owner", "1h", "x"));
    assert_eq!(made.code, 0, "{made:?}");
    let made = door.store.request_json(parse_id(&made.stdout));
    made["requester"].as_str().expect("a requester").to_string()
}

fn log(door: &Door) -> String {
    std::fs::read_to_string(door.store.dir.path().join("jitdesk").join("jitdesk.log")).unwrap_or_default()
}

/// The service's log once it has a line ending with each of `lines` (it is written behind the
/// service's back); fails if it never does.
fn log_with(door: &Door, lines: &[String]) -> String {
    let has_all = |log: &str| lines.iter().all(|want| log.lines().any(|l| l.ends_with(want.as_str())));
    for _ in 0..600 {
        let log = log(door);
        if has_all(&log) {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the log never had all of {lines:#?}:\n{}", log(door));
}

#[test]
fn a_users_key_is_that_user_until_it_is_removed() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let dave = user_key(&door, "dave");
    door.store.ok(&["user", "key", "add", DAVE, "--key", &public_line(&dave)]);

    let args = ["request", "list", "--json"];
    let over_ssh = door.ssh_key(&dave, &args);
    let on_socket = door.store.run_as(DAVE, &args);
    assert_eq!(over_ssh.code, 0, "{over_ssh:?}");
    assert_eq!(over_ssh.stdout, on_socket.stdout);
    let seen = parse_json(&args, &over_ssh.stdout);
    assert!(seen.as_array().is_some_and(|a| !a.is_empty()), "{seen}");
    assert_ne!(over_ssh.stdout, door.store.run_as(NADIA, &args).stdout, "another tenant's view");
    assert_eq!(requester_over_ssh(&door, &dave), DAVE);

    // `--as` is the operator's alone, wherever it stands on the line; nothing runs.
    let before = door.store.snapshot();
    let create = request_create("dev", "Owner", "1h", "x");
    let create_as_erin = [&create[..], &["--as", ERIN]].concat();
    for args in [&["--as", ALICE, "request", "list"][..], &create_as_erin] {
        let run = door.ssh_key(&dave, args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.error_line().contains("`--as` is only for the service's operator"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    assert_eq!(door.store.snapshot(), before);

    // Removed, the key is nobody's at once: the service need not restart.
    door.store.ok(&["user", "key", "remove", DAVE, &fingerprint(&dave)]);
    refused_at_authentication(&door.ssh_key(&dave, &args));
    log_with(&door, &["SSH: refused address 127.0.0.1: a key nobody owns".to_string()]);
}

#[test]
fn a_certificate_is_its_principal_while_valid_and_only_for_its_authoritys_tenant() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let dir = door.store.dir.path();
    let (fabrikam_ca, contoso_ca, stray_ca) =
        (dir.join("fabrikam_ca"), dir.join("contoso_ca"), dir.join("stray_ca"));
    for ca in [&fabrikam_ca, &contoso_ca, &stray_ca] {
        keygen(ca);
    }
    door.store.ok(&["tenant", "ca", "add", "fabrikam", "--key", &public_line(&fabrikam_ca)]);
    door.store.ok(&["tenant", "ca", "add", "contoso", "--key", &public_line(&contoso_ca)]);

    // Valid now, for a user of the authority's tenant: that user, as the socket shows them.
    let dave = certified(&door, "dave", &fabrikam_ca, DAVE, "-5m:+1h");
    let args = ["request", "list", "--json"];
    let over_ssh = door.ssh_key(&dave, &args);
    assert_eq!(over_ssh.code, 0, "{over_ssh:?}");
    assert_eq!(over_ssh.stdout, door.store.run_as(DAVE, &args).stdout);
    assert_eq!(requester_over_ssh(&door, &dave), DAVE);
    // OpenSSH offers the key before its certificate: that refusal is taken back once the
    // certificate is accepted, so a certificate's user logging in often is never blocked.
    for _ in 0..jitdesk::api::limits::SSH_FAILURES {
        assert_eq!(door.ssh_key(&dave, &["app", "list"]).code, 0);
    }
    // The principal decides who: the same authority's certificate for Erin is Erin.
    let erin = certified(&door, "erin", &fabrikam_ca, ERIN, "-5m:+1h");
    assert_eq!(requester_over_ssh(&door, &erin), ERIN);
    // A certificate's user is no operator: `--as` stays refused.
    let run = door.ssh_key(&dave, &["--as", ALICE, "request", "list"]);
    assert_eq!(run.code, 2, "{run:?}");

    // Each refusal comes from an address of its own, so that each is logged. The SSH library
    // refuses a certificate outside its validity before asking who it is.
    let before = door.store.snapshot();
    for (from, key) in [
        ("127.0.0.2", certified(&door, "expired", &fabrikam_ca, DAVE, "20200101:20200102")),
        ("127.0.0.3", certified(&door, "later", &fabrikam_ca, DAVE, "+1d:+2d")),
    ] {
        refused_at_authentication(&ssh_from(&door, &key, from, &args));
    }
    let other_tenant = "its principal is a user of another tenant than its authority's";
    let refused = [
        (
            "127.0.0.4",
            certified(&door, "nobody", &fabrikam_ca, "nobody@fabrikam.com", "-5m:+1h"),
            "no principal is a directory user",
        ),
        ("127.0.0.5", certified(&door, "alice", &fabrikam_ca, ALICE, "-5m:+1h"), other_tenant),
        ("127.0.0.6", certified(&door, "contoso_dave", &contoso_ca, DAVE, "-5m:+1h"), other_tenant),
        (
            "127.0.0.7",
            certified(&door, "stray", &stray_ca, DAVE, "-5m:+1h"),
            "signed by an authority no tenant trusts",
        ),
    ];
    for (from, key, _) in &refused {
        refused_at_authentication(&ssh_from(&door, key, from, &args));
    }
    assert_eq!(door.store.snapshot(), before);
    let lines: Vec<String> = refused
        .iter()
        .map(|(from, _, why)| format!("SSH: refused address {from}: a certificate that names nobody: {why}"))
        .collect();
    let log = log_with(&door, &lines);
    assert!(!log.contains(KEY_ID), "the client's key id reached the log");
}
