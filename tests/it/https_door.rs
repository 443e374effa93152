//! The HTTPS door of `jitdesk serve`, from outside: curl and the CLI against a service started with
//! `--listen 127.0.0.1:0 --tls-cert --tls-key --client-ca`, with a CA and certificates made in the
//! test. A client certificate is its directory user and sees what the socket shows that user; no
//! certificate and no token is 401; a certificate of another CA ends the handshake; plain HTTP is
//! refused but on loopback with `--insecure`; the operator's powers stay the operator's.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::common::https::*;
use crate::common::process::Process;
use crate::common::*;

/// What `serve` with `args` says when it refuses to start: its exit code and its error line.
fn refused(store: &Store, args: &[&str]) -> (i32, String) {
    let out = serve(store, args).stdout(Stdio::piped()).output().expect("run serve");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).trim().to_string())
}

#[test]
fn a_client_certificate_is_its_user_and_sees_what_the_socket_shows_them() {
    if !curl_present() {
        return;
    }
    let store = directory();
    store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    let dave = as_client(&pki, "dave");
    let me = https(&pki, port, "/v1/me", &refs(&dave));
    assert_eq!((me.code, me.status), (0, 200), "{}", me.body);
    assert_eq!(me.json()["user"]["upn"], DAVE, "{}", me.body);
    assert_eq!(me.json()["operator"], false);
    let remote = https(&pki, port, "/v1/requests", &refs(&dave));
    let local = socket_as(&store, DAVE, "/v1/requests");
    assert_eq!(remote.status, 200, "{}", remote.body);
    assert_eq!(remote.json(), local.json(), "the door shows dave what the socket shows him");
    assert_eq!(remote.json().as_array().map(Vec::len), Some(1), "{}", remote.body);
    // What is the operator's stays the operator's: no directory changes, no acting as someone else.
    let mut tenant = refs(&dave);
    tenant.extend([
        "-H",
        "content-type: application/json",
        "--data",
        r#"{"id":"x","kind":"customer","name":"X"}"#,
    ]);
    let added = https(&pki, port, "/v1/tenants", &tenant);
    assert_eq!(added.status, 403, "{}", added.body);
    assert_eq!(added.json()["error"]["kind"], "forbidden");
    let mut other = refs(&dave);
    other.extend(["-H", "X-Jitdesk-As: alice@contoso.com"]);
    let posing = https(&pki, port, "/v1/me", &other);
    assert_eq!(posing.status, 403, "{}", posing.body);
    assert!(
        posing.json()["error"]["message"].as_str().unwrap().contains("may not act as"),
        "{}",
        posing.body
    );
}

#[test]
fn no_certificate_and_no_token_is_401_and_another_cas_certificate_ends_the_handshake() {
    if !curl_present() {
        return;
    }
    let store = directory();
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    for extra in
        [vec![], vec!["-H", "Authorization: Bearer not-a-token"], vec!["-H", "Authorization: Basic eDp5"]]
    {
        let anonymous = https(&pki, port, "/v1/requests", &extra);
        assert_eq!((anonymous.code, anonymous.status), (0, 401), "{extra:?}: {}", anonymous.body);
        assert!(anonymous.headers.contains("www-authenticate: bearer"), "{}", anonymous.headers);
        assert_eq!(anonymous.json()["error"]["kind"], "forbidden", "{}", anonymous.body);
    }
    // Health needs nobody, over HTTPS as on the socket, and tells strangers nothing of this host.
    let health = https(&pki, port, "/v1/health", &[]);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["service"], "jitdesk");
    assert_eq!(health.json()["store"], "", "{}", health.body);
    let mallory = https(&pki, port, "/v1/me", &refs(&as_client(&pki, "mallory")));
    assert_ne!(mallory.code, 0, "a certificate of another CA is refused in the handshake: {}", mallory.body);
    assert_eq!(mallory.status, 0, "nothing was answered: {}", mallory.body);
    // The refusal is in the log, named by the caller's address (lines a caller causes are throttled).
    let log = store.dir.path().join("jitdesk").join("jitdesk.log");
    let logged = (0..100).any(|_| {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        std::thread::sleep(std::time::Duration::from_millis(50));
        text.contains("address 127.0.0.1: the TLS handshake failed")
    });
    assert!(logged, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    // A client that does not trust the service's CA does not talk to it either.
    let url = format!("https://127.0.0.1:{port}/v1/health");
    let untrusting = curl(&["--cacert", pki.path("other-ca.pem").to_str().unwrap(), &url]);
    assert_ne!(untrusting.code, 0);
}

#[test]
fn plain_http_is_refused_but_on_loopback_with_insecure() {
    if !curl_present() {
        return;
    }
    let store = directory();
    let (code, line) = refused(&store, &["--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("error: ") && line.lines().count() == 1, "{line}");
    assert!(line.contains("--tls-cert") && line.contains("--insecure"), "{line}");
    let (code, line) = refused(&store, &["--listen", "0.0.0.0:0", "--insecure"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("loopback"), "{line}");
    let (code, line) = refused(&store, &["--listen", "localhost", "--insecure"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("address and a port"), "{line}");
    // Nothing started: the store is free for the next one.
    let (_service, line) = Process::start(&mut serve(&store, &["--listen", "127.0.0.1:0", "--insecure"]));
    let port =
        line.rsplit_once("http://127.0.0.1:").and_then(|(_, rest)| rest.split(' ').next()).unwrap_or("");
    let url = format!("http://127.0.0.1:{port}/v1/requests");
    let plain = curl(&[&url]);
    assert_eq!(plain.status, 401, "tokens are still needed in plain HTTP: {line} {}", plain.body);
}

#[test]
fn a_key_others_may_read_keeps_the_service_from_starting() {
    let store = directory();
    let pki = Pki::new();
    let key = pki.path("server-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (cert, key) = (pki.path("server.pem"), pki.path("server-key.pem"));
    let args =
        ["--listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let (code, line) = refused(&store, &args);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("may be read by others") && line.contains("chmod 600"), "{line}");
    let (code, line) = refused(&store, &args[..4]);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("go together"), "{line}");
}

#[test]
fn a_certificate_behind_a_symbolic_link_keeps_the_service_from_starting() {
    let store = Store::init();
    let pki = Pki::new();
    let link = pki.path("server-link.pem");
    std::os::unix::fs::symlink(pki.path("server.pem"), &link).unwrap();
    let key = pki.path("server-key.pem");
    let args =
        ["--listen", "127.0.0.1:0", "--tls-cert", link.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let (code, line) = refused(&store, &args);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("symbolic link") && line.contains("server-link.pem"), "{line}");
}

fn dave_env(pki: &Pki) -> Vec<(&'static str, String)> {
    let path = |p: &str| pki.path(p).to_string_lossy().to_string();
    vec![("JITDESK_CERT", path("dave.pem")), ("JITDESK_KEY", path("dave-key.pem"))]
}

#[test]
fn the_cli_through_the_door_is_the_certificates_user_and_opens_no_store() {
    let store = directory();
    store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    store.create_request(ERIN, "dev", "Owner", "1h", "not dave's");
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    let dave = dave_env(&pki);
    let args = ["request", "list", "--json"];
    let (run, nowhere) = cli(&pki, port, &args, &dave);
    let remote = parse_json(&args, &expect_ok(&args, run));
    assert_eq!(remote, store.json_as(DAVE, &args), "the door shows dave what the socket shows him");
    assert!(!nowhere.exists(), "with a URL no store is opened or made here");
    let me: Vec<&str> = request_create("dev", "Owner", "1h", "r").to_vec();
    let (run, _) = cli(&pki, port, &me, &dave);
    let id = parse_id(&expect_ok(&me, run));
    assert_eq!(store.request_json(id)["requester"], DAVE, "made as dave, through the door");
    // The operator's command is refused for a user, in one line, and changes nothing.
    let before = store.snapshot();
    let (run, _) = cli(&pki, port, &["tenant", "add", "x", "--kind", "customer"], &dave);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("operator"), "{run:?}");
    let (run, _) = cli(&pki, port, &["--as", ALICE, "request", "list"], &dave);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("may not act as"), "{run:?}");
    assert_eq!(store.snapshot(), before);
}

#[test]
fn the_cli_without_identity_or_trust_says_so_in_one_line() {
    let store = directory();
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    let (run, nowhere) = cli(&pki, port, &["request", "list"], &[]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("token"), "no certificate, no token: {run:?}");
    let (run, _) = cli(&pki, port, &["request", "list"], &[("JITDESK_TOKEN", "not-a-token".into())]);
    assert!(run.error_line().contains("unknown, revoked or expired"), "{run:?}");
    let wrong_ca = [("JITDESK_CA", pki.path("other-ca.pem").to_string_lossy().to_string())];
    let mut cmd = bare_command();
    cmd.env("XDG_CONFIG_HOME", pki.path("config"))
        .env("JITDESK_URL", format!("https://127.0.0.1:{port}"))
        .envs(wrong_ca)
        .args(["--store", nowhere.to_str().unwrap(), "request", "list"]);
    let run = Run::from_cmd(&mut cmd);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("TLS") && run.error_line().contains("--ca"), "{run:?}");
    let token = pki.path("token");
    std::fs::write(&token, "secret").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::create_dir_all(pki.path("config/jitdesk")).unwrap();
    std::fs::write(
        pki.path("config/jitdesk/config.toml"),
        format!("token_file = {:?}\n", token.display().to_string()),
    )
    .unwrap();
    let (run, _) = cli(&pki, port, &["request", "list"], &[]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("may be read by others"), "{run:?}");
    assert!(!nowhere.exists());
}

#[test]
fn one_address_holds_only_so_many_connections_and_a_silent_handshake_is_closed() {
    use jitdesk::api::limits::MAX_CONNECTIONS_PER_ADDRESS;
    use std::io::Read;
    use std::net::TcpStream;
    use std::time::Duration;
    if !curl_present() {
        return;
    }
    let store = directory();
    let pki = Pki::new();
    let (_service, port) = start(&store, &pki);
    // Connections that never start their handshake: each holds a place of 127.0.0.1's.
    let mut held: Vec<TcpStream> =
        (0..MAX_CONNECTIONS_PER_ADDRESS).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    let one_more = https(&pki, port, "/v1/health", &[]);
    assert_eq!(
        one_more.status, 0,
        "a connection over the address's share is closed unanswered: {}",
        one_more.body
    );
    assert_ne!(one_more.code, 0);
    let mut buf = [0u8; 16];
    // A handshake that never comes ends by the service's doing, not the client's.
    let silent = &mut held[0];
    silent.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let ended = silent.read(&mut buf);
    assert!(matches!(ended, Ok(0) | Err(_)), "{ended:?}");
    assert!(
        !matches!(&ended, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the service closed the silent connection"
    );
    drop(held);
    // Places come back: the door answers again.
    let answered = (0..100).any(|_| {
        let health = https(&pki, port, "/v1/health", &[]);
        std::thread::sleep(Duration::from_millis(100));
        health.status == 200
    });
    assert!(answered, "the door answered once the connections were gone");
}
