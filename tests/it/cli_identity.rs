//! `user key`, `tenant ca` and `token` from the command line, run the same way on the store itself
//! and through `jitdesk serve`: the same answers, the same refusals (one `error:` line, exit 1),
//! and a token's secret printed once and never listed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::serve::Serve;
use crate::common::*;

const DAVE: &str = "dave@fabrikam.com";
const ERIN: &str = "erin@fabrikam.com";

/// A new ed25519 key pair made by ssh-keygen: the path of its public half.
fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "laptop", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    path.with_extension("pub").display().to_string()
}

/// What a run shows that does not depend on the clock or on random token ids: its exit code and
/// its output, or its one error line.
fn seen(run: &Run) -> String {
    if run.code == 0 {
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        format!("0 {}", run.stdout.lines().next().unwrap_or(""))
    } else {
        format!("{} {}", run.code, run.error_line())
    }
}

/// The same steps on a sample store, whichever way the CLI reaches it, with the same two keys.
fn steps(s: &Store, dave_key: &str, ca: &str) -> Vec<String> {
    let (dave_key, ca) = (dave_key.to_string(), ca.to_string());
    let mut out = Vec::new();
    let mut step = |upn: Option<&str>, args: &[&str]| {
        let run = match upn {
            Some(upn) => s.run_as(upn, args),
            None => s.run(args),
        };
        out.push(format!("{upn:?} {args:?} -> {}", seen(&run)));
        run
    };
    step(Some(DAVE), &["user", "key", "add", DAVE, "--key-file", &dave_key]);
    let listed = step(Some(DAVE), &["user", "key", "list", "--json"]);
    let listed: Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let fingerprint = listed[0]["fingerprint"].as_str().expect("a fingerprint").to_string();
    assert_eq!(listed[0]["upn"], DAVE);
    assert_eq!(listed[0]["comment"], "laptop");
    step(Some(ERIN), &["user", "key", "add", ERIN, "--key-file", &dave_key]);
    step(Some(ERIN), &["user", "key", "list", DAVE]);
    step(Some(ERIN), &["user", "key", "remove", DAVE, &fingerprint]);
    step(None, &["user", "key", "add", DAVE, "--key", "ssh-ed25519 not-a-key"]);
    step(None, &["user", "key", "add", DAVE, "--key-file", "/nonexistent/key.pub"]);

    step(None, &["tenant", "ca", "add", "fabrikam", "--key-file", &ca]);
    step(Some(DAVE), &["tenant", "ca", "add", "fabrikam", "--key-file", &ca]);
    step(Some(DAVE), &["tenant", "ca", "list", "fabrikam"]);
    let cas = step(None, &["tenant", "ca", "list", "fabrikam", "--json"]);
    let cas: Value = serde_json::from_str(&cas.stdout).expect("JSON");
    let ca_fingerprint = cas[0]["fingerprint"].as_str().expect("a fingerprint").to_string();
    step(Some("alice@contoso.com"), &["tenant", "ca", "add", "contoso", "--key-file", &ca]);
    step(None, &["tenant", "ca", "remove", "fabrikam", &ca_fingerprint]);
    step(None, &["tenant", "ca", "remove", "fabrikam", &ca_fingerprint]);

    let made =
        s.run_as(DAVE, &["token", "create", "--name", "ci", "--expires", "30d", "--read-only", "--json"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let made: Value = serde_json::from_str(&made.stdout).expect("JSON");
    let secret = made["secret"].as_str().expect("the secret").to_string();
    let id = made["token"]["id"].as_str().expect("an id").to_string();
    assert!(secret.starts_with(&format!("jdt_{id}_")), "{secret}");
    assert_eq!(made["token"]["owner"]["user"], DAVE);
    assert_eq!(made["token"]["readOnly"], true);
    step(Some(DAVE), &["token", "create", "--user", ERIN]);
    step(Some(DAVE), &["token", "create", "--operator"]);
    step(None, &["token", "create"]);
    for (upn, args) in [(Some(DAVE), ["token", "list", "--json"]), (None, ["token", "list", "--json"])] {
        let run = match upn {
            Some(upn) => s.run_as(upn, &args),
            None => s.run(&args),
        };
        assert!(!run.stdout.contains(&secret), "a list shows the secret: {}", run.stdout);
        assert!(!run.stdout.contains("hash"), "a list shows the hash: {}", run.stdout);
        let listed: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{}", run.stdout);
    }
    let erin_revokes = s.run_as(ERIN, &["token", "revoke", &id]);
    let missing = s.run_as(ERIN, &["token", "revoke", "feedface"]);
    assert_eq!(erin_revokes.error_line().replace(&id, "ID"), missing.error_line().replace("feedface", "ID"));
    let revoked = s.run_as(DAVE, &["token", "revoke", &id]);
    assert_eq!(seen(&revoked), format!("0 revoked token {id} of {DAVE}"));
    step(Some(DAVE), &["token", "revoke", &id].map(|a| if a == id { "ID" } else { a }));
    out
}

#[test]
fn identity_commands_answer_alike_on_the_store_and_through_the_service() {
    let keys = tempfile::tempdir().expect("a folder for the keys");
    let (dave_key, ca) = (keygen(keys.path(), "dave"), keygen(keys.path(), "ca"));
    let local = Store::new();
    local.ok(&["init", "--sample"]);
    let direct = steps(&local, &dave_key, &ca);

    let shared = Store::new();
    shared.ok(&["init", "--sample"]);
    let _service = Serve::on(&shared.path);
    let served = steps(&shared, &dave_key, &ca);
    assert_eq!(direct, served);

    // And what they said, for the record of what each step does.
    let expect = [
        "0 added SSH key SHA256:",
        "0 [",
        "1 error: the SSH key SHA256:",
        "1 error: erin@fabrikam.com may not manage the SSH keys of dave@fabrikam.com",
        "1 error: erin@fabrikam.com may not manage the SSH keys of dave@fabrikam.com",
        "1 error: the SSH key is not an OpenSSH public key",
        "1 error: cannot read the key file /nonexistent/key.pub",
        "0 tenant fabrikam trusts the SSH CA SHA256:",
        "1 error: dave@fabrikam.com may not manage the SSH certificate authorities of tenant fabrikam",
        "1 error: dave@fabrikam.com may not manage the SSH certificate authorities of tenant fabrikam",
        "0 [",
        "0 tenant contoso trusts the SSH CA SHA256:",
        "0 tenant fabrikam no longer trusts the SSH CA SHA256:",
        "1 error: tenant fabrikam trusts no SSH certificate authority SHA256:",
        "1 error: dave@fabrikam.com may not make tokens of erin@fabrikam.com",
        "1 error: dave@fabrikam.com may not make a token for the operator",
        "1 error: a token acts as a directory user or as the operator",
        "1 error: no token ID",
    ];
    assert_eq!(direct.len(), expect.len(), "{direct:#?}");
    for (step, start) in direct.iter().zip(expect) {
        let (_, said) = step.split_once(" -> ").expect("a step");
        assert!(said.starts_with(start), "{step:?} should start with {start:?}");
    }
}
