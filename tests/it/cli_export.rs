//! `jitdesk export` and `audit --since/--until`: a window holds its start and not its end, each
//! caller exports exactly what `request list` and `audit` show them, CSV keeps a spreadsheet from
//! running what other people typed, a service streams the very bytes the store itself gives, and a
//! history longer than a page comes out whole, a page at a time.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::common::serve::{self, Serve};
use crate::common::*;

const NADIA_SAMPLE: &str = "nadia@northwind.com";
const ALICE_SAMPLE: &str = "alice@contoso.com";

fn sample() -> Store {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    store
}

/// Every line of an NDJSON export, each read as JSON.
fn lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

fn ids(values: &[Value]) -> Vec<u64> {
    values.iter().map(|v| v["id"].as_u64().expect("an id")).collect()
}

/// The whole audit log as `audit --json` gives it to `upn` (None: the operator), newest first.
fn audit_log(store: &Store, upn: Option<&str>) -> Vec<Value> {
    let args = ["audit", "--json", "--limit", "1000"];
    let out = match upn {
        Some(upn) => store.ok_as(upn, &args),
        None => store.ok(&args),
    };
    serde_json::from_str::<Vec<Value>>(&out).expect("audit --json")
}

fn at(v: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    v[field].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("no time in {field}: {v}"))
}

#[test]
fn a_window_holds_the_record_at_its_start_and_not_the_one_at_its_end() {
    let store = sample();
    let log = audit_log(&store, None);
    assert!(log.len() > 10, "the sample has a history");
    // Two times the log really has, some way apart: a record sits exactly on each bound.
    let since = at(&log[log.len() * 3 / 4], "at");
    let until = at(&log[log.len() / 4], "at");
    assert!(since < until);
    let (s, u) = (since.to_rfc3339(), until.to_rfc3339());
    let expected: Vec<u64> = log
        .iter()
        .filter(|r| at(r, "at") >= since && at(r, "at") < until)
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert!(log.iter().any(|r| at(r, "at") == since) && log.iter().any(|r| at(r, "at") == until));

    let exported = lines(&store.ok(&["export", "audit", "--since", &s, "--until", &u]));
    assert_eq!(ids(&exported), expected);
    assert_eq!(
        exported,
        log.iter().filter(|r| expected.contains(&r["id"].as_u64().unwrap())).cloned().collect::<Vec<_>>(),
        "the shapes of --json"
    );
    let listed: Vec<Value> = serde_json::from_str(
        &store.ok(&["audit", "--json", "--since", &s, "--until", &u, "--limit", "1000"]),
    )
    .unwrap();
    assert_eq!(ids(&listed), expected, "audit --since/--until lists the same window");

    // Requests by their creation time, the same way.
    let requests: Vec<Value> =
        serde_json::from_str(&store.ok(&["request", "list", "--json", "--limit", "1000"])).unwrap();
    let (since, until) = (at(&requests[requests.len() - 2], "createdAt"), at(&requests[1], "createdAt"));
    let expected: Vec<u64> = requests
        .iter()
        .filter(|r| at(r, "createdAt") >= since && at(r, "createdAt") < until)
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert!(!expected.is_empty());
    let (rs, ru) = (since.to_rfc3339(), until.to_rfc3339());
    let out = store.ok(&["export", "requests", "--since", &rs, "--until", &ru]);
    assert_eq!(ids(&lines(&out)), expected);
    let listed: Vec<Value> =
        serde_json::from_str(&store.ok(&["request", "list", "--json", "--since", &rs, "--until", &ru]))
            .unwrap();
    assert_eq!(ids(&listed), expected, "request list --since/--until lists the same window");

    // A date is its midnight in UTC; an empty window exports nothing; a reversed one is refused.
    let day = since.format("%Y-%m-%d").to_string();
    let midnight = since.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let from_day = lines(&store.ok(&["export", "audit", "--since", &day]));
    assert_eq!(
        ids(&from_day),
        ids(&log.iter().filter(|r| at(r, "at") >= midnight).cloned().collect::<Vec<_>>())
    );
    assert_eq!(store.ok(&["export", "audit", "--since", &s, "--until", &s]), "");
    let run = store.run(&["export", "audit", "--since", &u, "--until", &s]);
    assert_eq!(run.code, 1);
    assert!(run.error_line().contains("ends") && run.stdout.is_empty(), "{run:?}");
}

#[test]
fn each_caller_exports_what_they_may_see_and_a_hidden_application_is_a_missing_one() {
    let store = sample();
    for upn in [ALICE_SAMPLE, NADIA_SAMPLE] {
        let seen = audit_log(&store, Some(upn));
        assert_eq!(ids(&lines(&store.ok_as(upn, &["export", "audit"]))), ids(&seen), "{upn}");
        let listed: Vec<Value> =
            serde_json::from_str(&store.ok_as(upn, &["request", "list", "--json", "--limit", "1000"]))
                .unwrap();
        assert_eq!(ids(&lines(&store.ok_as(upn, &["export", "requests"]))), ids(&listed), "{upn}");
    }
    assert!(store.ok_as(NADIA_SAMPLE, &["export", "audit"]).is_empty(), "another tenant sees nothing");
    assert!(!store.ok_as(ALICE_SAMPLE, &["export", "audit"]).is_empty());

    // One application alice sees: only its records; nadia is told it does not exist, as for a
    // name nobody has.
    let app = audit_log(&store, Some(ALICE_SAMPLE))
        .iter()
        .find_map(|r| r["app"].as_str().map(str::to_string))
        .expect("a record of an application");
    let of_app = lines(&store.ok_as(ALICE_SAMPLE, &["export", "audit", "--app", &app]));
    assert!(!of_app.is_empty() && of_app.iter().all(|r| r["app"] == app.as_str()));
    let hidden = store.run_as(NADIA_SAMPLE, &["export", "requests", "--app", &app]);
    let missing = store.run_as(NADIA_SAMPLE, &["export", "requests", "--app", "no-such-app"]);
    assert_eq!((hidden.code, missing.code), (1, 1));
    assert_eq!(hidden.error_line().replace(&app, "X"), missing.error_line().replace("no-such-app", "X"));
    assert!(hidden.stdout.is_empty());
}

#[test]
fn csv_quotes_other_peoples_text_and_no_spreadsheet_runs_it() {
    let store = directory();
    // The rules refuse control characters in a justification already (the unit tests of
    // `export` cover a cell that has them); a formula, commas and quotes they let through.
    let reason = "=HYPERLINK(\"http://evil\",\"x\"), then \"quoted\", done";
    let id = store.create_request(DAVE, "dev", "Contributor", "1h", reason);
    let out = store.ok(&["export", "requests", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header = reader.headers().expect("a header row").clone();
    assert_eq!(&header[0], "id");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let row = rows.iter().find(|r| r[0] == id.to_string()).expect("the request's row");
    let cell = &row[column("justification")];
    assert_eq!(cell, format!("'{reason}"));
    assert_eq!(&row[column("requester")], DAVE);
    assert_eq!(&row[column("jitRequestState")], "Approved");
    let created = &row[column("createdAt")];
    assert!(created.ends_with('Z') && created.parse::<chrono::DateTime<chrono::Utc>>().is_ok(), "{created}");
    // Every row has every column; no line of the output starts a formula.
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert!(!out.lines().any(|l| l.starts_with(['=', '+', '-', '@'])));

    let audit = store.ok(&["export", "audit", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(audit.as_bytes());
    let header = ["id", "at", "actor", "action", "target", "application", "reason", "before", "after"];
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), header);
    assert!(reader.records().any(|r| r.unwrap()[4] == *format!("request/{id}")));
}

#[test]
fn a_file_is_private_from_the_first_byte_and_never_overwritten_unless_forced() {
    let store = sample();
    let file = store.dir.path().join("audit.csv");
    assert_eq!(store.ok(&["export", "audit", "--format", "csv", "--output", file.to_str().unwrap()]), "");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), store.ok(&["export", "audit", "--format", "csv"]));

    let run = store.run(&["export", "requests", "--output", file.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.error_line().contains("already exists"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        store.ok(&["export", "audit", "--format", "csv"]),
        "kept"
    );

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    store.ok(&["export", "requests", "--output", file.to_str().unwrap(), "--force"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), store.ok(&["export", "requests"]));
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(store.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_service_streams_the_same_bytes_the_store_gives() {
    let store = sample();
    // Fixed before the service starts, so that whatever its ticker does later is outside.
    let until = chrono::Utc::now().to_rfc3339();
    let exports: Vec<Vec<&str>> = ["requests", "audit"]
        .into_iter()
        .flat_map(|what| {
            ["json", "csv"].map(|format| vec!["export", what, "--format", format, "--until", &until])
        })
        .collect();
    let local: Vec<(String, String)> = exports
        .iter()
        .flat_map(|args| {
            [(String::new(), store.ok(args)), (ALICE_SAMPLE.to_string(), store.ok_as(ALICE_SAMPLE, args))]
        })
        .collect();
    // The lists' windows too, through the service's list routes: narrower than the history.
    let log = audit_log(&store, Some(ALICE_SAMPLE));
    let (since, middle) =
        (at(&log[log.len() * 3 / 4], "at").to_rfc3339(), at(&log[log.len() / 2], "at").to_rfc3339());
    let windows: [&[&str]; 3] = [
        &["audit", "--json", "--since", &since, "--until", &middle],
        &["request", "list", "--json", "--since", &since, "--until", &middle],
        &[
            "export",
            "audit",
            "--since",
            &since,
            "--until",
            &middle,
            "--app",
            "contoso-crm",
            "--format",
            "csv",
        ],
    ];
    let listed: Vec<String> = windows.iter().map(|args| store.ok_as(ALICE_SAMPLE, args)).collect();
    let narrowed: Vec<Value> = serde_json::from_str(&listed[0]).unwrap();
    assert!(!narrowed.is_empty() && narrowed.len() < log.len(), "a window narrower than the log");

    let service = Serve::on(&store.path);
    let served: Vec<(String, String)> = exports
        .iter()
        .flat_map(|args| {
            [(String::new(), store.ok(args)), (ALICE_SAMPLE.to_string(), store.ok_as(ALICE_SAMPLE, args))]
        })
        .collect();
    assert_eq!(served, local);
    assert_eq!(windows.iter().map(|args| store.ok_as(ALICE_SAMPLE, args)).collect::<Vec<_>>(), listed);

    // The route itself: chunked, in its media type; refusals before the first byte as errors.
    let answer = service.call("GET", "/v1/export/audit?format=csv", &[], "");
    assert_eq!(serve::status(&answer), 200, "{answer}");
    assert!(serve::header(&answer, "content-type").is_some_and(|t| t.starts_with("text/csv")), "{answer}");
    assert_eq!(serve::header(&answer, "transfer-encoding"), Some("chunked"));
    let (status, body) = service.request("GET", "/v1/export/everything", None, None);
    assert_eq!(status, 404, "{body}");
    let (status, body) = service.request("GET", "/v1/export/audit?format=xml", None, None);
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        service.request("GET", "/v1/export/audit?since=2026-02-01&until=2026-01-01", None, None);
    assert_eq!(status, 400, "{body}");
    let (hidden, _) = service.request("GET", "/v1/export/requests?app=contoso-crm", Some(NADIA_SAMPLE), None);
    let (missing, _) =
        service.request("GET", "/v1/export/requests?app=no-such-app", Some(NADIA_SAMPLE), None);
    assert_eq!((hidden, missing), (404, 404));
}

#[test]
fn a_history_longer_than_a_page_comes_out_whole() {
    let store = Store::new();
    store.ok(&["init", "--sample", "--scale", "2500"]);
    let out = store.ok(&["export", "requests"]);
    let exported = ids(&lines(&out));
    // Newest first, each once, and as many as the store holds (walked through `request list`).
    assert!(exported.windows(2).all(|w| w[0] > w[1]));
    let mut listed = BTreeSet::new();
    let mut after: Option<u64> = None;
    loop {
        let mut args =
            vec!["request".to_string(), "list".into(), "--json".into(), "--limit".into(), "1000".into()];
        args.extend(after.iter().flat_map(|a| ["--after".to_string(), a.to_string()]));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let page: Vec<Value> = serde_json::from_str(&store.ok(&refs)).unwrap();
        listed.extend(ids(&page));
        if page.len() < 1000 {
            break;
        }
        after = page.last().and_then(|r| r["id"].as_u64());
    }
    assert!(exported.len() > 2000, "more than two pages: {}", exported.len());
    assert_eq!(exported.iter().copied().collect::<BTreeSet<_>>(), listed);
    let csv = store.ok(&["export", "audit", "--format", "csv"]);
    assert_eq!(csv.lines().filter(|l| l.starts_with("id,")).count(), 1, "one header row, however many pages");

    // An export under way when the service stops is cut short, never ended as if whole, and the
    // service stops all the same: its reader took the first page and then nothing.
    let mut service = Serve::on(&store.path);
    let mut stream = service.connect();
    stream
        .write_all(b"GET /v1/export/requests HTTP/1.1\r\nHost: jitdesk\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("the answer starts");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert_eq!(service.stop(), 0, "the service stops with an export under way");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(!rest.ends_with("\r\n0\r\n\r\n"), "the body is not ended as if whole");
    assert!(rest.matches("\"jitRequestState\"").count() < exported.len(), "it was cut short");
}
