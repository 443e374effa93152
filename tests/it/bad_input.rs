//! Bad input through the command line: times past what RFC 3339 can write, text an older version
//! stored before the checks knew every invisible character (it must show as placeholders in tables
//! and `show`, and as escapes in `--json`), and error messages from a service that answers with
//! escape sequences.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;

use crate::common::{ALICE, DAVE, Store, directory, request_create};
use jitdesk::domain::{AccessRequest, User};
use redb::ReadableTable;
use serde_json::Value;

/// Every kind of character the checks refuse and the printers replace, behind readable text.
const HIDDEN: &str = "\u{2028}\u{2029}\u{e0041}\u{e007f}\u{115f}\u{1160}\u{3164}\u{ffa0}\u{180e}\u{2063}\u{206f}\
                      \u{fe0f}\u{e0100}\u{34f}\u{fff9}\u{fffb}\u{202e}\u{1b}]0;x\u{7}\u{9b}";
/// A letter under seven combining marks; four are kept, the rest shown as placeholders.
const STACKED: &str = "e\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}";

/// The characters of `HIDDEN` and `STACKED` that are in `text` as they are, which printed output
/// must never hold (the readable parts aside).
fn raw_characters(text: &str) -> Vec<char> {
    HIDDEN
        .chars()
        .filter(|c| !c.is_ascii_graphic())
        .chain(['\u{305}', '\u{306}', '\u{307}'])
        .filter(|&c| text.contains(c))
        .collect()
}

#[test]
fn a_start_after_9999_is_refused_with_nothing_changed() {
    let s = directory();
    let before = s.snapshot();
    let create = |start: &str, duration: &str| {
        let args = ["request", "create", "--app", "dev", "--role", "Owner", "--reason", "x"];
        s.run_as(DAVE, &[&args[..], &["--duration", duration, "--start", start]].concat())
    };
    let run = create("9999-12-31T23:59:59-01:00", "1h");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "the time +10000-01-01T00:59:59Z is after 9999-12-31T23:59:59Z, the latest time jitdesk takes"
        ),
        "{run:?}"
    );
    let run = create("+10000-01-01T00:00:00Z", "1h");
    assert_eq!(run.code, 2, "{run:?}");
    // A start just inside the range whose end is not.
    let run = create("9999-12-31T23:00:00Z", "2h");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.error_line(),
        "error: the end +10000-01-01T01:00:00Z is after 9999-12-31T23:59:59Z, the latest time jitdesk takes: \
         choose an earlier one"
    );
    assert_eq!(s.snapshot(), before, "nothing was changed");
}

/// Rewrites one record in the store file, as an older version that checked less could have stored
/// it: decoded and encoded again as the store encodes records (postcard).
fn store_unchecked<K: redb::Key + 'static, T: serde::Serialize + serde::de::DeserializeOwned>(
    store: &Path,
    table: &str,
    key: K::SelfType<'_>,
    change: impl FnOnce(&mut T),
) where
    for<'a> K::SelfType<'a>: Copy,
{
    let definition: redb::TableDefinition<K, &[u8]> = redb::TableDefinition::new(table);
    let db = redb::Database::open(store).expect("open the store with redb");
    let txn = db.begin_write().expect("write");
    {
        let mut table = txn.open_table(definition).expect("the table");
        let mut record: T = {
            let bytes = table.get(key).expect("get").expect("the record is stored");
            postcard::from_bytes(bytes.value()).expect("a stored record")
        };
        change(&mut record);
        table.insert(key, postcard::to_stdvec(&record).expect("encode").as_slice()).expect("insert");
    }
    txn.commit().expect("commit");
}

/// Output that shows `text` (see `HIDDEN`, `STACKED`) through the sanitizer.
fn assert_placeholders(what: &str, out: &str) {
    let raw = raw_characters(out);
    assert!(raw.is_empty(), "{what} printed {raw:?} raw:\n{out}");
    assert!(out.contains("see\u{fffd}"), "{what} shows a placeholder where the text was:\n{out}");
    assert!(out.contains("\u{241b}]0;x\u{2407}"), "{what}: the escape as its control picture:\n{out}");
    assert!(out.contains("\u{304}\u{fffd}"), "{what}: marks past the fourth replaced:\n{out}");
}

#[test]
fn text_stored_by_an_older_version_shows_as_placeholders_and_json_escapes_it() {
    let s = directory();
    let id = s.create_request(DAVE, "prod", "Owner", "1h", "fix INC-1");
    let text = format!("see{HIDDEN}{STACKED}done");
    store_unchecked::<u64, AccessRequest>(&s.path, "requests", id, |r| r.justification = text.clone());
    store_unchecked::<&str, User>(&s.path, "users", "bob@contoso.com", |u| u.display_name = text.clone());

    assert_placeholders("request show", &s.ok_as(ALICE, &["request", "show", &id.to_string()]));
    assert_placeholders("the user table", &s.ok(&["user", "search", "bob"]));

    let out = s.ok_as(ALICE, &["request", "show", &id.to_string(), "--json"]);
    let raw = raw_characters(&out);
    assert!(raw.is_empty(), "--json printed {raw:?} raw: {out}");
    for escape in [
        "\\u2028",
        "\\u2029",
        "\\udb40\\udc41",
        "\\u3164",
        "\\ufe0f",
        "\\u034f",
        "\\u202e",
        "\\u009b",
        "\\u0305",
    ] {
        assert!(out.contains(escape), "--json escapes {escape}: {out}");
    }
    let view: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(view["justification"], text.as_str(), "the escapes read back as the stored text");
    let users: Value = serde_json::from_str(&s.ok(&["user", "search", "bob", "--json"])).expect("JSON");
    assert_eq!(users[0]["displayName"], text.as_str());
}

#[test]
fn new_text_with_any_of_those_characters_is_refused() {
    let s = directory();
    let before = s.snapshot();
    for c in HIDDEN.chars().filter(|c| !c.is_ascii()) {
        let reason = format!("fix{c}INC-1");
        let run = s.run_as(DAVE, &request_create("dev", "Owner", "1h", &reason));
        assert_eq!(run.code, 1, "U+{:04X}: {run:?}", u32::from(c));
        let line = run.error_line();
        assert!(line.contains(&format!("U+{:04X}", u32::from(c))), "{line}");
        assert!(raw_characters(line).is_empty(), "the refusal quotes nothing raw: {line:?}");
    }
    let run = s.run_as(
        DAVE,
        &["request", "create", "--app", "dev", "--role", "Owner", "--duration", "1h", "--reason", STACKED],
    );
    assert!(run.error_line().contains("a combining mark after 4 others in a row"), "{run:?}");
    assert_eq!(s.snapshot(), before, "nothing was changed");
}

/// A fake service on the store's socket: it answers `/v1/health` as jitdesk for `store`, and
/// everything else with a refusal whose message is `message`.
fn fake_service(socket: &Path, store: &Path, message: &'static str) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(socket).expect("bind the fake socket");
    let health = serde_json::json!({"service": "jitdesk", "version": "0.1.0", "store": store}).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(stream) = stream else { return };
            let health = health.clone();
            std::thread::spawn(move || serve_fake(stream, &health, message));
        }
    })
}

fn serve_fake(stream: std::os::unix::net::UnixStream, health: &str, message: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let (status, answer) = if head.starts_with("GET /v1/health ") {
            ("200 OK", health.to_string())
        } else {
            (
                "400 Bad Request",
                serde_json::json!({"error": {"kind": "invalid", "message": message}}).to_string(),
            )
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_services_error_message_is_printed_sanitized() {
    let s = Store::init();
    let socket = s.path.with_file_name("jitdesk.redb.sock");
    let _fake =
        fake_service(&socket, &s.path, "refused\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\u{2028}done");
    let run = s.run(&["offer", "list"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.error_line(),
        "error: refused\u{241b}]0;owned\u{2407}\u{241b}[2J\u{fffd}31m\u{fffd}\u{fffd}done"
    );
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}
