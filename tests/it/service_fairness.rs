//! What one caller can take from everyone: a uid holding many connections, half-sent requests or
//! event streams is capped, and everyone else's calls still answer; its refusals fill no disk.
//!
//! Other uids are real kernel credentials: as root (CI runs as root), a thread of this test sets its
//! own effective uid (the raw syscall changes that thread only) before it connects, so the service
//! reads that uid from the socket's peer credentials. The uids have no password entry: the
//! "unmapped user" of the attack. Without root those tests print why they skip.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::common;
use crate::common::os_users::as_uid;
use crate::common::serve::{Serve, status};
use jitdesk::api::limits::{
    BODY_TIMEOUT, MAX_CONNECTIONS_PER_UID as CONNECTIONS_PER_UID, MAX_STREAMS_PER_UID as STREAMS_PER_UID,
    REFUSAL_INTERVAL, REFUSAL_LINES,
};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A uid nobody has, different for each test process and each `n`.
fn stranger(n: u32) -> u32 {
    2_000_000_000 + std::process::id() * 4 + n
}

/// A service for the directory fixture, whose folder uids other than root may pass through (by
/// the root group, as the socket's group).
fn service() -> (common::Store, tempfile::TempDir, Serve) {
    let store = common::directory();
    std::fs::set_permissions(store.dir.path(), std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let config = tempfile::tempdir().expect("a config folder");
    let serve = Serve::start(&store, config.path(), false);
    (store, config, serve)
}

/// Whether the service closed this connection (as opposed to still waiting for more of it).
fn closed(stream: &UnixStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    match (&*stream).read(&mut byte) {
        Ok(0) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        // A reset, or an answer (a refusal): either way the service is done with it.
        _ => true,
    }
}

/// Opens `count` connections as `uid`, each sending `start` and then nothing more. The group
/// stays root, to pass the socket's 0660 root:root.
fn hold(serve: &Serve, uid: u32, count: usize, start: &str) -> Vec<UnixStream> {
    as_uid(uid, 0, || {
        (0..count)
            .map(|_| {
                let mut stream = UnixStream::connect(&serve.socket).expect("connect as another uid");
                // A connection the service closed at once may refuse the bytes: that is the point.
                let _ = stream.write_all(start.as_bytes());
                stream
            })
            .collect()
    })
}

#[test]
fn one_uid_holding_many_half_sent_requests_holds_up_nobody_else() {
    if !is_root() {
        eprintln!("skipped: taking another uid needs root");
        return;
    }
    let (_store, _config, serve) = service();
    let flood = hold(&serve, stranger(0), 100, "GET /v1/me HTTP/1.1\r\nHost: jitdesk\r\n");
    // Connections are taken in turn, so once this answers every one of the flood's was seen.
    let answer = serve.call("GET", "/v1/me", &[], "");
    assert_eq!(status(&answer), 200, "the operator's call answered: {answer}");
    let open = flood.iter().filter(|s| !closed(s)).count();
    assert!(open <= CONNECTIONS_PER_UID, "{open} of one uid's connections are held open");
    assert!(open > 0, "the uid keeps its own share");
}

/// The uid of a system account that exists on every Linux host (`daemon`, `bin`), if it does here.
fn system_uid(login: &str) -> Option<u32> {
    nix::unistd::User::from_name(login).ok().flatten().map(|u| u.uid.as_raw())
}

#[test]
fn half_sent_bodies_take_no_turn_from_others() {
    if !is_root() {
        eprintln!("skipped: taking another uid needs root");
        return;
    }
    let (Some(daemon), Some(bin)) = (system_uid("daemon"), system_uid("bin")) else {
        eprintln!("skipped: this host has no `daemon` or `bin` account to map directory users to");
        return;
    };
    let (store, _config, serve) = service();
    // Two publishers known to the service by their OS logins, so that their requests get past
    // identity to the point where the body is read.
    for (upn, login) in [("d@fabrikam.com", "daemon"), ("b@fabrikam.com", "bin")] {
        store.ok(&["user", "add", upn, "--tenant", "fabrikam", "--login", login]);
    }
    // Each with as many connections as a uid may have, each request's body cut short: more than
    // there are turns for requests handled at once.
    let start = "POST /v1/requests HTTP/1.1\r\nHost: jitdesk\r\nContent-Length: 100\r\n\r\n{";
    let mut flood = hold(&serve, daemon, CONNECTIONS_PER_UID, start);
    flood.extend(hold(&serve, bin, CONNECTIONS_PER_UID, start));
    let answer = serve.call("GET", "/v1/me", &[], "");
    assert_eq!(status(&answer), 200, "the operator's call answered, not 'too busy': {answer}");
    // The slow sender hears why.
    let mut slow = &flood[0];
    slow.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut heard = Vec::new();
    let _ = slow.read_to_end(&mut heard);
    let heard = String::from_utf8_lossy(&heard);
    assert_eq!(status(&heard), 408, "{heard}");
    assert!(heard.contains("did not arrive within"), "{heard}");
}

/// Subscribes to the event stream on a new connection; returns the connection and the answer's head.
fn subscribe(serve: &Serve) -> (UnixStream, String) {
    let mut stream = serve.connect();
    stream.write_all(b"GET /v1/events HTTP/1.1\r\nHost: jitdesk\r\n\r\n").expect("subscribe");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).expect("read the answer") == 1 {
        head.push(byte[0]);
    }
    (stream, String::from_utf8_lossy(&head).into_owned())
}

#[test]
fn the_seventeenth_event_stream_of_one_uid_is_refused_while_its_calls_still_answer() {
    let (_store, _config, serve) = service();
    let streams: Vec<UnixStream> = (0..STREAMS_PER_UID)
        .map(|_| {
            let (stream, head) = subscribe(&serve);
            assert_eq!(status(&head), 200, "{head}");
            stream
        })
        .collect();
    let (_, head) = subscribe(&serve);
    assert_eq!(status(&head), 429, "{head}");
    // The same uid's ordinary calls still answer.
    let answer = serve.call("GET", "/v1/me", &[], "");
    assert_eq!(status(&answer), 200, "{answer}");
    let refused = serve.call("GET", "/v1/events", &[], "");
    assert!(refused.contains(r#""kind":"limited""#) && refused.contains("event streams open"), "{refused}");
    // A stream that ends gives its place back (once the service sees it gone).
    let mut streams = streams;
    drop(streams.pop());
    let again = (0..300).find_map(|_| {
        let (stream, head) = subscribe(&serve);
        if status(&head) == 200 {
            return Some(stream);
        }
        std::thread::sleep(Duration::from_millis(100));
        None
    });
    assert!(again.is_some(), "the place of a closed stream never came back");
}

#[test]
fn the_log_is_private_from_its_first_byte_and_refusals_are_throttled() {
    let store = common::directory();
    let config = tempfile::tempdir().expect("a config folder");
    let serve = Serve::start(&store, config.path(), true);
    let log = serve.log();
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").mode() & 0o777;
    assert_eq!(mode(log.parent().expect("the log folder")), 0o700, "under umask 000");
    assert_eq!(mode(&log), 0o600, "under umask 000");
    // A flood of refusals from one uid (this test's, the operator's: no root needed).
    for n in 0..50 {
        let answer = serve.call("GET", &format!("/v1/requests/{}", 9000 + n), &[], "");
        assert_eq!(status(&answer), 404, "{answer}");
    }
    let uid = nix::unistd::geteuid().as_raw();
    let text = std::fs::read_to_string(&log).expect("the log");
    let lines = text.lines().filter(|l| l.contains(&format!("uid {uid} ->"))).count();
    assert!((1..=REFUSAL_LINES as usize).contains(&lines), "{lines} refusal lines for 50 refusals:\n{text}");
}

#[test]
fn the_api_document_states_the_limits_the_service_keeps() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).expect("docs/api.md");
    for line in [
        format!("| connections of one uid | {CONNECTIONS_PER_UID};"),
        format!("| event streams of one uid | {STREAMS_PER_UID};"),
        format!("must arrive within {} s (else 408)", BODY_TIMEOUT.as_secs()),
        format!("| refusals logged | {REFUSAL_LINES} lines per uid a minute;"),
    ] {
        assert!(doc.contains(&line), "docs/api.md does not say `{line}`");
    }
    assert_eq!(REFUSAL_INTERVAL.as_secs(), 60, "docs/api.md says a minute");
}
