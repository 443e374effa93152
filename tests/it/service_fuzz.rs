//! Arbitrary bodies to every route of the service that reads one: raw bytes, any JSON, and objects
//! with the right field names holding anything. Whatever arrives, the answer is a refusal or a
//! success on the same connection, never a 500, a dropped connection or a dead process.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::common::service::Service;
use crate::common::{ALICE, BOB, DAVE, ERIN};

/// Every route that reads a JSON body.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/tenants"),
    ("POST", "/v1/users"),
    ("POST", "/v1/offers"),
    ("POST", "/v1/applications"),
    ("PATCH", "/v1/applications/contoso-crm"),
    ("POST", "/v1/requests"),
    ("POST", "/v1/requests/10/approve"),
    ("POST", "/v1/requests/11/deny"),
    ("POST", "/v1/requests/10/cancel"),
    ("POST", "/v1/access/1/revoke"),
    ("POST", "/v1/notifications/seen"),
];

/// The operator itself, and directory users of every role.
const CALLERS: &[Option<&str>] = &[None, Some(ALICE), Some(BOB), Some(DAVE), Some(ERIN)];

/// The field names those bodies use, so that generated objects reach the rules, not just serde.
const FIELDS: &[&str] = &[
    "id",
    "kind",
    "name",
    "license",
    "upn",
    "tenant",
    "admin",
    "login",
    "jitAvailable",
    "roles",
    "offer",
    "jit",
    "mode",
    "maxDuration",
    "approvers",
    "requestTimeout",
    "resourceGroup",
    "addApprovers",
    "removeApprovers",
    "app",
    "start",
    "duration",
    "justification",
    "ticket",
    "reason",
    "upto",
];

/// Values that mean something to some route, mixed with anything.
const WORDS: &[&str] = &[
    "contoso",
    "fabrikam",
    "customer",
    "publisher",
    "p2",
    "free",
    "crm",
    "contoso-crm",
    "contoso-crm-eu",
    "Owner",
    "Reader",
    "alice@contoso.com",
    "dave@fabrikam.com",
    "PT1H",
    "P3653D",
    "PT0S",
    "8h",
    "now",
    "+10000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "AutoApprove",
    "ManualApprove",
    "\u{2028}",
    "\u{1b}[2J",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(FIELDS), inner), 0..6).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// An object with the routes' field names, each holding anything.
fn shaped() -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..8).prop_map(|pairs| {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        value().prop_map(|v| v.to_string().into_bytes()),
        shaped().prop_map(|v| v.to_string().into_bytes()),
        // Valid JSON cut short or with bytes flipped.
        (shaped(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, byte)| {
            let mut bytes = v.to_string().into_bytes();
            let at = at.index(bytes.len());
            bytes[at] = byte;
            bytes
        }),
    ]
}

#[test]
fn any_body_on_any_route_is_answered_without_a_server_error() {
    let mut service = Service::sample();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let connection = RefCell::new(runtime.block_on(service.connect()));
    let mut runner = TestRunner::new(Config { cases: 1000, failure_persistence: None, ..Config::default() });
    let case = (proptest::sample::select(ROUTES), proptest::sample::select(CALLERS), body());
    runner
        .run(&case, |((method, path), caller, body)| {
            let reply = runtime.block_on(connection.borrow_mut().call(method, path, caller, &body));
            prop_assert!(
                (200..500).contains(&reply.status) || reply.status == 503,
                "{method} {path} as {caller:?} with {:?}: {} {}",
                String::from_utf8_lossy(&body),
                reply.status,
                reply.text
            );
            if reply.status >= 400 {
                let answer = reply.json();
                prop_assert!(
                    answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{}",
                    reply.text
                );
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(service.running(), "the service is still running");
    let health = runtime.block_on(connection.borrow_mut().call("GET", "/v1/health", None, b""));
    assert_eq!(health.status, 200, "{}", health.text);
}
