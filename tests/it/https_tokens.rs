//! API tokens through the HTTPS door, end to end: tokens made with `jitdesk token create` through
//! the socket, then used with curl (`Authorization: Bearer`), with the CLI (`JITDESK_URL`,
//! `JITDESK_TOKEN`, `--ca`) and with the dashboard in tmux. A token is its one user and sees what
//! the socket shows that user; revoked, expired and unknown tokens are 401 with
//! `WWW-Authenticate: Bearer`; a read-only token reads and changes nothing; the engine's rules
//! refuse a token's user as they refuse them on the socket; only the operator's token acts as
//! someone else; and no secret reaches a log.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use jitdesk::api::paths;
use serde_json::Value;

use crate::common::https::*;
use crate::common::tmux::{STARTUP, Tmux, row_ids};
use crate::common::*;

/// A token made through the service's socket by `upn` (the operator for `None`) with `args` after
/// `token create`: its id and its secret.
fn token(store: &Store, upn: Option<&str>, args: &[&str]) -> (String, String) {
    let mut all = vec!["token", "create", "--json"];
    all.extend_from_slice(args);
    let made = match upn {
        Some(upn) => store.json_as(upn, &all),
        None => store.json(&all),
    };
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("no text in {made}")).to_string();
    (text(&made["token"]["id"]), text(&made["secret"]))
}

/// curl on the door with `secret` as its bearer token and `extra` arguments.
fn with_token(pki: &Pki, port: u16, secret: &str, path: &str, extra: &[&str]) -> Curl {
    let header = format!("Authorization: Bearer {secret}");
    let mut args = vec!["-H", header.as_str()];
    args.extend_from_slice(extra);
    https(pki, port, path, &args)
}

/// The arguments that make curl POST `body` as JSON.
fn post(body: &str) -> [&str; 6] {
    ["-X", "POST", "-H", "content-type: application/json", "--data", body]
}

/// The error message of a JSON refusal.
fn message(curl: &Curl) -> String {
    curl.json()["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {}", curl.body))
        .to_string()
}

/// A refusal for want of a known token: 401, and how to prove who one is.
fn assert_401(curl: &Curl, what: &str) {
    assert_eq!(curl.status, 401, "{what}: {}", curl.body);
    assert!(curl.headers.contains("www-authenticate: bearer"), "{what}: {}", curl.headers);
    assert!(message(curl).contains("unknown, revoked or expired"), "{what}: {}", curl.body);
}

/// Polls `read` until `done` holds; fails after a generous while (the machine is noisy).
fn wait_until<T: std::fmt::Debug>(what: &str, read: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let start = Instant::now();
    loop {
        let seen = read();
        if done(&seen) {
            return seen;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "waited for {what}; last saw {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The service with its door, logging every request (`JITDESK_LOG=debug`) into
/// `<store folder>/jitdesk/jitdesk.log`.
fn start_logging(store: &Store, pki: &Pki) -> (crate::common::process::Process, u16) {
    let mut cmd = serve(store, &["--listen", "127.0.0.1:0"]);
    cmd.env("JITDESK_LOG", "debug");
    door(&mut cmd, pki)
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_token_through_the_door_is_its_one_user_and_its_secret_is_never_logged() {
    if !curl_present() {
        return;
    }
    let store = directory();
    let id = store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    let approve = paths::decide(id, true);
    let pki = Pki::new();
    let (_service, port) = start_logging(&store, &pki);
    let (_, alice) = token(&store, Some(ALICE), &["--name", "laptop"]);
    let (_, reader) = token(&store, Some(ALICE), &["--read-only"]);
    let (_, dave) = token(&store, None, &["--user", DAVE]);
    let (_, operator) = token(&store, None, &["--operator"]);
    let (erin_id, erin) = token(&store, Some(ERIN), &[]);

    // A token is its user, and sees what the socket shows that user.
    let me = with_token(&pki, port, &alice, "/v1/me", &[]);
    assert_eq!((me.code, me.status), (0, 200), "{}", me.body);
    assert_eq!(me.json()["user"]["upn"], ALICE, "{}", me.body);
    assert_eq!(me.json()["operator"], false);
    for (secret, upn) in [(&alice, ALICE), (&reader, ALICE), (&dave, DAVE), (&erin, ERIN)] {
        let remote = with_token(&pki, port, secret, "/v1/requests", &[]);
        assert_eq!(remote.status, 200, "{upn}: {}", remote.body);
        assert_eq!(remote.json(), socket_as(&store, upn, "/v1/requests").json(), "{upn}");
    }

    // The socket ignores a bearer token: its caller is who the socket's peer credentials say.
    let socket = format!("{}.sock", store.path.display());
    let header = format!("Authorization: Bearer {dave}");
    let local = curl(&["--unix-socket", &socket, "-H", &header, "http://localhost/v1/me"]);
    assert_eq!(local.status, 200, "{}", local.body);
    assert_eq!(local.json()["operator"], true, "the test runs as the service's operator: {}", local.body);
    assert!(local.json()["user"].is_null(), "{}", local.body);

    // Unknown, revoked and expired tokens are nobody.
    assert_401(&with_token(&pki, port, "jdt_0000_nothing", "/v1/requests", &[]), "unknown");
    assert_eq!(with_token(&pki, port, &erin, "/v1/me", &[]).status, 200);
    store.ok_as(ERIN, &["token", "revoke", &erin_id]);
    assert_401(&with_token(&pki, port, &erin, "/v1/me", &[]), "revoked");
    let (bob_id, bob) = token(&store, Some(BOB), &["--expires", "2s"]);
    let expired = wait_until(
        "the token to expire",
        || with_token(&pki, port, &bob, "/v1/me", &[]),
        |c| c.status != 200,
    );
    assert_401(&expired, "expired");
    let listed = store.json_as(BOB, &["token", "list", "--json"]);
    let bobs = &listed.as_array().expect("a list")[0];
    assert_eq!(bobs["id"], bob_id.as_str());
    assert!(bobs["revokedAt"].is_null() && bobs["expiresAt"].is_string(), "expired, not revoked: {bobs}");

    // A read-only token reads but may not approve; a publisher's token is refused by the engine's
    // rule, in the socket's words; nothing changes.
    let before = store.snapshot();
    let body = r#"{"reason":"through the door"}"#;
    let refused = with_token(&pki, port, &reader, &approve, &post(body));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(message(&refused).contains("may only read"), "{}", refused.body);
    let theirs = with_token(&pki, port, &dave, &approve, &post(body));
    let on_socket = socket_call(&store, DAVE, &approve, &post(body));
    assert_eq!((theirs.status, theirs.json()), (on_socket.status, on_socket.json()));
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    assert_eq!(store.snapshot(), before, "no refusal changes anything");

    // Only the operator's token acts as someone else.
    let posing = with_token(&pki, port, &dave, "/v1/me", &["-H", &format!("X-Jitdesk-As: {ALICE}")]);
    assert_eq!(posing.status, 403, "{}", posing.body);
    assert!(message(&posing).contains("may not act as"), "{}", posing.body);
    let op = with_token(&pki, port, &operator, "/v1/me", &[]);
    assert_eq!(op.json()["operator"], true, "{}", op.body);
    let as_alice = format!("X-Jitdesk-As: {ALICE}");
    let acting = with_token(&pki, port, &operator, "/v1/requests", &["-H", &as_alice]);
    assert_eq!(acting.json(), socket_as(&store, ALICE, "/v1/requests").json());

    // Alice's own token approves, and the socket sees it.
    let approved = with_token(&pki, port, &alice, &approve, &post(body));
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(store.state_of(id), "Approved");
    assert_eq!(store.request_json(id)["decision"]["by"], ALICE);

    // The log has the door's requests and refusals, and none of the secrets used or tried.
    let last = format!("/v1/requests/{id}");
    assert_eq!(with_token(&pki, port, &alice, &last, &[]).status, 200);
    let log = wait_until(
        "the last request in the log",
        || read_log(&store.dir.path().join("jitdesk").join("jitdesk.log")),
        |log| log.contains(&format!("GET {last} ")),
    );
    assert!(log.contains("-> 401"), "the refusals are logged:\n{log}");
    let audit = store.ok(&["audit", "--json", "--limit", "1000"]);
    assert!(audit.contains("token.create"), "the tokens' making is audited: {audit}");
    for secret in [&alice, &reader, &dave, &operator, &erin, &bob, &"jdt_0000_nothing".to_string()] {
        assert!(!log.contains(secret.as_str()), "a secret reached the log:\n{log}");
        assert!(!audit.contains(secret.as_str()), "a secret reached the audit log: {audit}");
    }
}

#[test]
fn the_cli_with_a_token_is_its_user_and_says_each_refusal_in_one_line() {
    let store = directory();
    let id = store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    let id = id.to_string();
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    // The words `token create` prints: the secret once, on its own last line, for a script to take.
    let made = store.ok_as(ALICE, &["token", "create", "--name", "laptop", "--expires", "30d"]);
    assert!(made.contains("not shown again"), "{made}");
    let alice = made.lines().last().expect("the secret's line").to_string();
    let alice_id = alice.split('_').nth(1).expect("the id in the secret").to_string();
    assert!(
        made.starts_with(&format!("created token {alice_id} for {ALICE} (read-write, expires ")),
        "{made}"
    );
    let (_, reader) = token(&store, None, &["--user", ALICE, "--read-only"]);
    let listed = store.ok_as(ALICE, &["token", "list"]);
    assert!(listed.contains(&alice_id) && listed.contains("laptop"), "{listed}");
    assert!(!listed.contains(&alice) && !listed.contains(&reader), "a list shows a secret: {listed}");
    let (_, dave) = token(&store, Some(DAVE), &[]);
    let (_, operator) = token(&store, None, &["--operator"]);
    // The client's own log, if it writes one, is looked at too.
    let data = pki.path("client-data").to_string_lossy().to_string();
    let as_holder =
        |secret: &str| vec![("JITDESK_TOKEN", secret.to_string()), ("XDG_DATA_HOME", data.clone())];

    let list = ["request", "list", "--json"];
    let (run, nowhere) = cli(&pki, port, &list, &as_holder(&alice));
    assert_eq!(parse_json(&list, &expect_ok(&list, run)), store.json_as(ALICE, &list));
    assert!(!nowhere.exists(), "with a URL no store is opened or made here");
    let (run, _) = cli(&pki, port, &list, &as_holder(&reader));
    assert_eq!(parse_json(&list, &expect_ok(&list, run)), store.json_as(ALICE, &list));
    let (run, _) = cli(&pki, port, &list, &as_holder(&dave));
    assert_eq!(parse_json(&list, &expect_ok(&list, run)), store.json_as(DAVE, &list));

    let before = store.snapshot();
    let approve = ["request", "approve", id.as_str(), "--reason", "through the door"];
    let (run, _) = cli(&pki, port, &approve, &as_holder(&reader));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("may only read"), "{run:?}");
    // The engine refuses a publisher's token as it refuses the publisher on the socket.
    let (run, _) = cli(&pki, port, &approve, &as_holder(&dave));
    let on_socket = store.run_as(DAVE, &approve);
    assert_eq!((run.code, run.error_line()), (on_socket.code, on_socket.error_line()));
    assert_ne!(run.code, 0);
    let mut posing = vec!["--as", ALICE];
    posing.extend_from_slice(&list);
    let (run, _) = cli(&pki, port, &posing, &as_holder(&dave));
    assert!(run.error_line().contains("may not act as"), "{run:?}");
    assert_eq!(store.snapshot(), before, "no refusal changes anything");
    let (run, _) = cli(&pki, port, &posing, &as_holder(&operator));
    assert_eq!(parse_json(&posing, &expect_ok(&posing, run)), store.json_as(ALICE, &list));

    let (run, _) = cli(&pki, port, &approve, &as_holder(&alice));
    expect_ok(&approve, run);
    assert_eq!(store.state_of(id.parse().expect("an id")), "Approved");
    store.ok_as(ALICE, &["token", "revoke", &alice_id]);
    let (run, _) = cli(&pki, port, &list, &as_holder(&alice));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("unknown, revoked or expired"), "{run:?}");
    let logged = read_log(&Path::new(&data).join("jitdesk").join("jitdesk.log"));
    for secret in [&alice, &reader, &dave, &operator] {
        assert!(!logged.contains(secret.as_str()), "a secret reached the client's log:\n{logged}");
    }
}

#[test]
fn the_dashboard_through_the_door_with_a_token_approves_by_keyboard() {
    let t = Tmux::new("https-token");
    t.cli(&["init", "--sample"]);
    let pki = Pki::new();
    let service = t.path("service");
    std::fs::create_dir_all(&service).expect("a folder for the service");
    let (_service, port) = door(&mut serve_in(&t.store(), &service, &["--listen", "127.0.0.1:0"]), &pki);
    let made = t.json(&["--as", ALICE, "token", "create", "--name", "dashboard", "--json"]);
    let secret = made["secret"].as_str().expect("the secret").to_string();
    // The dashboard selects the pending request due soonest of those Alice may see: RFC 3339 times
    // in UTC sort as text.
    let listed =
        t.json(&["--as", ALICE, "request", "list", "--state", "pending", "--json", "--limit", "100"]);
    let mut pending: Vec<&Value> = listed.as_array().expect("a JSON array").iter().collect();
    assert!(!pending.is_empty(), "the sample has requests pending for Alice: {listed:#}");
    pending.sort_by_key(|r| r["decideBy"].as_str().unwrap_or_default().to_string());
    let id = pending[0]["id"].as_u64().expect("an id");

    let nowhere = t.path("none.redb");
    let command = format!(
        "JITDESK_URL=https://127.0.0.1:{port} JITDESK_TOKEN={secret} exec '{}' --store '{}' --ca '{}'",
        BIN,
        nowhere.display(),
        pki.path("ca.pem").display()
    );
    t.start(120, 35, &command);
    let screen = t.wait_screen("Alice's pending requests", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s).contains(&id)
    });
    assert_eq!(row_ids(&screen).first(), Some(&id), "the soonest due is selected:\n{screen}");
    assert!(screen.contains(ALICE), "the header shows who the token is:\n{screen}");
    t.keys(&["a"]);
    let form = format!("Approve request {id}");
    t.wait_screen("the approve form", STARTUP, |s| s.contains(&form));
    let reason = "approved over HTTPS with a token";
    t.type_text(reason);
    t.wait_screen("the typed reason", STARTUP, |s| s.contains(reason));
    t.keys(&["Enter"]);
    t.wait_screen("the approved row to leave the list", STARTUP, |s| {
        !s.contains(&form) && !row_ids(s).contains(&id)
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q ends the dashboard with status 0");
    assert!(!nowhere.exists(), "with a URL no store is opened or made here");

    let shown = t.json(&["request", "show", &id.to_string(), "--json"]);
    assert_eq!(shown["jitRequestState"], "Approved", "{shown:#}");
    assert_eq!(shown["decision"]["by"], ALICE, "{shown:#}");
    assert_eq!(shown["decision"]["reason"], reason, "{shown:#}");
}

#[test]
fn a_token_file_behind_a_symbolic_link_is_refused_before_anything_is_sent() {
    // No service: the token file is refused before any connection is tried.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "secret").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("token-link");
    std::os::unix::fs::symlink(&token, &link).unwrap();
    std::fs::create_dir_all(dir.path().join("config/jitdesk")).unwrap();
    std::fs::write(
        dir.path().join("config/jitdesk/config.toml"),
        format!("token_file = {:?}\n", link.display().to_string()),
    )
    .unwrap();
    let nowhere = dir.path().join("none.redb");
    let mut cmd = bare_command();
    cmd.env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("JITDESK_URL", "https://127.0.0.1:9")
        .arg("--store")
        .arg(&nowhere)
        .args(["request", "list"]);
    let run = Run::from_cmd(&mut cmd);
    assert_ne!(run.code, 0, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("symbolic link") && line.contains("token-link"), "{line}");
    assert!(!nowhere.exists(), "with a URL no store is opened or made here");
}
