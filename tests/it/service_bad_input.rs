//! Bad input to the service: bodies that are JSON but not objects, a seen mark past the newest
//! notification, a start after 9999-12-31, and text in a refusal that must reach the caller escaped.

use serde_json::json;

use crate::common::service::{Reply, Service};
use crate::common::{ALICE, DAVE};

/// The sample's request still waiting for dave's decision on `contoso-crm` (approvers alice, bob).
const DAVES_PENDING: u64 = 10;

/// Every route that reads a JSON body, with a caller that may use it.
const BODY_ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("POST", "/v1/tenants", None),
    ("POST", "/v1/users", None),
    ("POST", "/v1/offers", Some(DAVE)),
    ("POST", "/v1/applications", Some(ALICE)),
    ("PATCH", "/v1/applications/contoso-crm", Some(ALICE)),
    ("POST", "/v1/requests", Some(DAVE)),
    ("POST", "/v1/requests/10/approve", Some(ALICE)),
    ("POST", "/v1/requests/10/deny", Some(ALICE)),
    ("POST", "/v1/requests/10/cancel", Some(DAVE)),
    ("POST", "/v1/access/1/revoke", Some(ALICE)),
    ("POST", "/v1/notifications/seen", Some(DAVE)),
];

fn refused_as_invalid(reply: &Reply) -> String {
    assert_eq!(reply.status, 400, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["error"]["kind"], "invalid", "{}", reply.text);
    body["error"]["message"].as_str().expect("a message").to_string()
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let s = Service::sample();
    let mut c = s.connect().await;
    let state = |reply: Reply| reply.json()["jitRequestState"].as_str().map(str::to_string);
    let before = c.call("GET", "/v1/audit?limit=1000", None, b"").await.text;
    // serde would read `["ok"]` as `{"reason": "ok"}` and approve.
    let reply =
        c.call("POST", &format!("/v1/requests/{DAVES_PENDING}/approve"), Some(ALICE), br#"["ok"]"#).await;
    assert_eq!(refused_as_invalid(&reply), "this call takes a JSON object as its body: send `{...}`");
    for (method, path, caller) in BODY_ROUTES {
        for body in [&b"[]"[..], b" [\"x\", 1]", b"\"x\"", b"42", b"null", b"true"] {
            let reply = c.call(method, path, *caller, body).await;
            let message = refused_as_invalid(&reply);
            assert!(message.contains("JSON object"), "{method} {path} {body:?}: {message}");
        }
    }
    let request = c.call("GET", &format!("/v1/requests/{DAVES_PENDING}"), Some(ALICE), b"").await;
    assert_eq!(state(request), Some("Pending".to_string()));
    assert_eq!(c.call("GET", "/v1/audit?limit=1000", None, b"").await.text, before, "nothing was changed");
}

#[tokio::test]
async fn the_seen_mark_stops_at_the_newest_notification() {
    let s = Service::sample();
    let mut c = s.connect().await;
    let notes = c.call("GET", "/v1/notifications?limit=1", Some(DAVE), b"").await.json();
    let newest = notes[0]["id"].as_u64().expect("dave has notifications");
    let seen =
        c.call("POST", "/v1/notifications/seen", Some(DAVE), br#"{"upto": 18446744073709551615}"#).await;
    assert_eq!(seen.json(), json!({"seenUpto": newest}), "capped at the newest");

    // A notification that comes later is not hidden by the earlier mark.
    let denied = c
        .call("POST", &format!("/v1/requests/{DAVES_PENDING}/deny"), Some(ALICE), br#"{"reason": "not now"}"#)
        .await;
    assert_eq!(denied.status, 200, "{}", denied.text);
    let notes = c.call("GET", "/v1/notifications?limit=1", Some(DAVE), b"").await.json();
    let latest = notes[0]["id"].as_u64().expect("dave was told");
    assert!(latest > newest, "{notes}");
    let me = c.call("GET", "/v1/me", Some(DAVE), b"").await.json();
    assert_eq!(me["seenUpto"], newest, "the denial is still unseen");
}

#[tokio::test]
async fn a_start_after_9999_is_refused_in_a_body() {
    let s = Service::sample();
    let mut c = s.connect().await;
    let before = c.call("GET", "/v1/audit?limit=1000", None, b"").await.text;
    let ask = |start: &str, duration: &str| {
        json!({
            "app": "contoso-crm-eu", "roles": ["Owner"], "duration": duration, "start": start,
            "justification": "later"
        })
        .to_string()
    };
    let reply =
        c.call("POST", "/v1/requests", Some(DAVE), ask("+10000-01-01T00:00:00Z", "PT1H").as_bytes()).await;
    assert_eq!(
        refused_as_invalid(&reply),
        "the start +10000-01-01T00:00:00Z is after 9999-12-31T23:59:59Z, the latest time jitdesk takes: \
         choose an earlier one"
    );
    let reply =
        c.call("POST", "/v1/requests", Some(DAVE), ask("9999-12-31T23:30:00Z", "PT1H").as_bytes()).await;
    assert!(
        refused_as_invalid(&reply).starts_with("the end +10000-01-01T00:30:00Z is after"),
        "{}",
        reply.text
    );
    // The last representable second itself overflows nothing.
    let reply =
        c.call("POST", "/v1/requests", Some(DAVE), ask("+262142-12-31T23:59:59Z", "PT1H").as_bytes()).await;
    assert!(
        refused_as_invalid(&reply).starts_with("the start +262142-12-31T23:59:59Z is after"),
        "{}",
        reply.text
    );
    assert_eq!(c.call("GET", "/v1/audit?limit=1000", None, b"").await.text, before, "nothing was changed");
}

#[tokio::test]
async fn text_quoted_in_an_answer_is_escaped() {
    let s = Service::sample();
    let mut c = s.connect().await;
    // serde names the unknown field as it was sent; the answer carries it escaped.
    let body = "{\"reason\": \"ok\", \"why\u{2028}\u{85}\u{202e}\u{e0041}\": 1}";
    let reply =
        c.call("POST", &format!("/v1/requests/{DAVES_PENDING}/approve"), Some(ALICE), body.as_bytes()).await;
    let message = refused_as_invalid(&reply);
    assert!(message.contains("why\u{2028}\u{85}\u{202e}\u{e0041}"), "the message reads back: {message}");
    for c in ['\u{2028}', '\u{85}', '\u{202e}', '\u{e0041}'] {
        assert!(!reply.text.contains(c), "U+{:04X} raw in the answer: {}", u32::from(c), reply.text);
    }
    assert!(reply.text.contains("why\\u2028\\u0085\\u202e\\udb40\\udc41"), "{}", reply.text);
}
