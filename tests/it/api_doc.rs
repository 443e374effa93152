//! docs/api.md is the contract people read; `jitdesk::api` is the one the service and its clients
//! compile against. These tests read the document and check that it states the same limits,
//! timeouts, header names, event names and routes as the constants, so neither can change without
//! the other.

use std::collections::BTreeSet;
use std::time::Duration;

use jitdesk::api::limits::*;
use jitdesk::api::{paths, wire};

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The document's words with every run of white space as one space, so that a sentence reads the
/// same wherever its lines break.
fn prose(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The row of a table in the document whose first cell is `first`.
fn row(doc: &str, first: &str) -> String {
    let start = format!("| {first} |");
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with(&start)).collect();
    assert_eq!(rows.len(), 1, "docs/api.md should have one table row starting `{start}`: {rows:?}");
    rows[0].to_string()
}

fn says(text: &str, what: &str) {
    assert!(text.contains(what), "docs/api.md should say `{what}` here:\n{text}");
}

/// A duration as the document writes it.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

#[test]
fn the_limits_table_states_the_constants() {
    let doc = doc();
    let body = row(&doc, "request body");
    says(&body, &format!("{} KiB", MAX_BODY / 1024));
    says(&body, &format!("within {}", secs(BODY_TIMEOUT)));
    let headers = row(&doc, "request headers");
    says(&headers, &format!("{} KiB", MAX_HEADERS / 1024));
    says(&headers, &format!("within {}", secs(HEADER_TIMEOUT)));
    says(&headers, &format!("closed after {}", secs(HEADER_TIMEOUT)));
    let one = row(&doc, "one request");
    says(&one, &secs(REQUEST_TIMEOUT));
    assert_eq!(BACKUP_TIMEOUT.as_secs() % 60, 0, "the document gives the backup's limit in minutes");
    says(&one, &format!("making a backup: {} min", BACKUP_TIMEOUT.as_secs() / 60));
    says(&row(&doc, "requests handled at once"), &format!("| {MAX_IN_FLIGHT};"));
    let open = row(&doc, "open connections");
    says(&open, &format!("| {MAX_CONNECTIONS},"));
    says(&open, &format!("{RESERVED_FILES} below the process's limit"));
    says(&row(&doc, "connections of one uid"), &format!("| {MAX_CONNECTIONS_PER_UID};"));
    says(&row(&doc, "connections of one address (HTTPS)"), &format!("| {MAX_CONNECTIONS_PER_ADDRESS};"));
    says(&row(&doc, "TLS handshake (HTTPS)"), &format!("within {}", secs(TLS_HANDSHAKE_TIMEOUT)));
    says(&prose(&doc), &format!("The TLS handshake must finish within {}", secs(TLS_HANDSHAKE_TIMEOUT)));
    says(&row(&doc, "event streams of one uid"), &format!("| {MAX_STREAMS_PER_UID};"));
    let logged = row(&doc, "refusals logged");
    let per = if REFUSAL_INTERVAL == Duration::from_secs(60) {
        "a minute".to_string()
    } else {
        secs(REFUSAL_INTERVAL)
    };
    says(&logged, &format!("{REFUSAL_LINES} lines per uid {per}"));
    says(&logged, &format!("in the last {}", secs(REFUSAL_INTERVAL)));
    says(&row(&doc, "list sizes"), &format!("`limit` 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"));
    let limits = jitdesk::engine::Limits::default();
    let requester = row(&doc, "requests of one requester");
    says(&requester, &format!("`requests_per_hour` (default {})", limits.requests_per_hour));
    says(&requester, &format!("not ended (default {})", limits.live_grants));
}

#[test]
fn the_errors_table_states_the_body_limits() {
    let doc = doc();
    says(&row(&doc, "408"), &format!("did not arrive within {}", secs(BODY_TIMEOUT)));
    says(&row(&doc, "413"), &format!("over {} KiB", MAX_BODY / 1024));
    says(&prose(&doc), &format!("headers over {} KiB", MAX_HEADERS / 1024));
}

#[test]
fn every_page_size_the_document_names_is_the_constants() {
    let doc = doc();
    let mut named = 0;
    for (at, _) in doc.match_indices("(default ") {
        let rest = &doc[at..];
        let Some(end) = rest.find(')') else { continue };
        let words = &rest[..=end];
        if words.contains("at most") {
            named += 1;
            assert_eq!(words, format!("(default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"), "docs/api.md");
        }
    }
    assert!(named >= 2, "the conventions and the requests' query both give the page sizes");
}

#[test]
fn the_timeouts_clients_and_streams_keep_are_the_constants() {
    let doc = prose(&doc());
    says(&doc, &format!("requests in flight finish (at most {})", secs(SHUTDOWN_GRACE)));
    says(&doc, &format!("`: keep-alive` every {}", secs(KEEP_ALIVE)));
    says(&doc, &format!("or was silent for {}", secs(STREAM_SILENCE)));
    says(&doc, &format!("health check within {}", secs(HEALTH_TIMEOUT)));
    says(&doc, &format!("did not answer within {}", secs(HEALTH_TIMEOUT)));
    says(&doc, &format!("waits up to {} for the service", secs(SERVICE_WAIT)));
}

#[test]
fn the_document_names_exactly_the_headers_of_the_api() {
    let doc = doc().to_lowercase();
    let mut named = BTreeSet::new();
    for (at, _) in doc.match_indices("x-jitdesk-") {
        let name: String = doc[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        named.insert(name);
    }
    let ours: BTreeSet<String> =
        [wire::AS_HEADER, wire::MORE_HEADER, wire::SEEN_HEADER].iter().map(|h| h.to_string()).collect();
    assert_eq!(named, ours, "the X-Jitdesk-* headers docs/api.md names");
}

#[test]
fn the_event_stream_example_uses_the_event_names() {
    let doc = doc();
    says(&doc, &format!("# event: {}\n# data: {{}}", wire::EVENT_READY));
    says(&doc, &format!("# event: {}\n# data: {{\"reason\"", wire::EVENT_RELOAD));
    says(&prose(&doc), &format!("`{}` comes first", wire::EVENT_READY));
    says(&prose(&doc), &format!("`{}` ends the stream", wire::EVENT_RELOAD));
}

/// The paths of the routes table in the document's section `title`, without their queries.
fn routes_of(doc: &str, title: &str) -> BTreeSet<String> {
    let section = doc.split(&format!("\n## {title}\n")).nth(1);
    let section = section.unwrap_or_else(|| panic!("docs/api.md has a section `{title}`"));
    let mut listed = BTreeSet::new();
    for line in section.lines().take_while(|l| !l.starts_with("##")) {
        let Some(cell) = line.strip_prefix("| `") else { continue };
        let Some((method_and_path, _)) = cell.split_once('`') else { continue };
        let Some((_, path)) = method_and_path.split_once(' ') else { continue };
        listed.insert(path.split('?').next().unwrap_or(path).to_string());
    }
    listed
}

#[test]
fn the_routes_table_lists_exactly_the_routes() {
    let ours: BTreeSet<String> = paths::ALL.iter().map(|p| p.to_string()).collect();
    assert_eq!(routes_of(&doc(), "Routes"), ours, "the paths of docs/api.md's routes table");
}

#[test]
fn the_arm_routes_table_lists_exactly_the_arm_routes() {
    let ours: BTreeSet<String> = paths::ARM_ALL.iter().map(|p| p.to_string()).collect();
    assert_eq!(routes_of(&doc(), "ARM's routes"), ours, "the paths of docs/api.md's ARM routes table");
}

#[test]
fn the_arm_states_table_is_the_mapping() {
    let doc = doc();
    for state in jitdesk::domain::RequestState::ALL {
        let arm = serde_json::to_value(jitdesk::arm::state(state)).unwrap();
        let provisioning = serde_json::to_value(jitdesk::arm::provisioning_state(state)).unwrap();
        let expected =
            format!("| {} | {} | {} |", state.name(), arm.as_str().unwrap(), provisioning.as_str().unwrap());
        assert_eq!(row(&doc, state.name()), expected);
    }
}

#[test]
fn the_limits_table_states_the_ssh_doors_constants() {
    let doc = doc();
    says(&row(&doc, "SSH sessions of one user"), &format!("| {MAX_SSH_SESSIONS_PER_USER};"));
    says(&row(&doc, "SSH sessions"), &format!("| {MAX_SSH_SESSIONS},"));
    says(&row(&doc, "SSH connections of one address"), &format!("| {MAX_SSH_CONNECTIONS_PER_ADDR},"));
    let command = row(&doc, "an SSH command");
    says(&command, &format!("after {} without output", secs(SSH_COMMAND_IDLE)));
    says(&command, &format!("at most {} KiB of its output", SSH_SESSION_BUFFER / 1024));
    let failures = row(&doc, "SSH authentication failures");
    says(&failures, &format!("{SSH_FAILURES} per address in {}", secs(SSH_FAILURE_WINDOW)));
    says(&failures, &format!("refused at once for {}", secs(SSH_BLOCKED_FOR)));
}
