//! Azure's published example documents for Microsoft.Solutions 2021-07-01 (tests/fixtures/arm,
//! with their sources) sent to the service's ARM routes, and its answers compared with the
//! examples' field by field: every field an example has is in the answer with the same JSON type,
//! and with the same value except where listed below with why. GUIDs are compared as GUIDs (ARM
//! writes them with or without hyphens) and times as instants (ARM writes 7 decimals, jitdesk 9).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::common::service::Service;
use crate::common::{ALICE, DAVE, ERIN, NADIA, Store};

/// The application the examples' JIT requests are for.
pub const APP_ID: &str = "/subscriptions/00c76877-e316-48a7-af60-4a09fec9d43f/resourceGroups/52F30DB2/providers/Microsoft.Solutions/applications/7E193158";
/// The managed application of the application examples.
pub const MANAGED_APP_ID: &str =
    "/subscriptions/subid/resourceGroups/rg/providers/Microsoft.Solutions/applications/myManagedApplication";
/// The principal of the examples' requests, as the examples write it.
const PRINCIPAL: &str = "1db8e132e2934dbcb8e1178a61319491";
/// The role of the examples' requests: the offer names it by its definition id.
const ROLE: &str = "ecd05a23-931a-4c38-a52b-ac7c4c583334";

/// How far an answer may differ from the example at a path (`[*]`: any element).
#[derive(Clone, Copy)]
enum May {
    /// Present with the same JSON type, but another value: the service chooses it.
    Differ(&'static str),
    /// Of another type, or absent: the example has what jitdesk does not keep, or leaves null what
    /// jitdesk knows.
    Reshape(&'static str),
}

/// What every JIT request answer may differ in.
const JIT_REQUEST: &[(&str, May)] = &[
    (
        "properties.createdBy.oid",
        May::Differ("the example's caller is a service; here the requester's object id"),
    ),
    ("properties.createdBy.applicationId", May::Differ("the client is jitdesk, with its own application id")),
    (
        "properties.updatedBy.oid",
        May::Differ("the example's caller is a service; here the requester's object id"),
    ),
    ("properties.updatedBy.applicationId", May::Differ("the client is jitdesk, with its own application id")),
    (
        "properties.jitSchedulingPolicy.startTime",
        May::Differ(
            "the example's start (2021) is past, which jitdesk refuses; the test asks for the same time of day tomorrow and checks that one",
        ),
    ),
];

/// What the managed application answers may differ in.
const APPLICATION: &[(&str, May)] = &[
    ("properties.provisioningState", May::Differ("a deployed application is Succeeded, ARM's settled state")),
    (
        "properties.applicationDefinitionId",
        May::Differ(
            "getApplication names `managedApplicationDefinitions`, a type ARM has not; jitdesk names `applicationDefinitions`, as createOrUpdateApplication does",
        ),
    ),
    ("properties.jitAccessPolicy", May::Reshape("null in the example; jitdesk always has the policy")),
    ("properties.publisherTenantId", May::Reshape("null in the example; jitdesk knows the publisher")),
    (
        "properties.authorizations[*].principalId",
        May::Differ("a placeholder in the example; here the publisher tenant's GUID"),
    ),
    (
        "properties.authorizations[*].roleDefinitionId",
        May::Differ("a placeholder in the example; here Reader's id, the publisher's standing role"),
    ),
    (
        "properties.createdBy.oid",
        May::Differ("a placeholder in the example; here the deploying admin's object id"),
    ),
    (
        "properties.createdBy.puid",
        May::Reshape("a Microsoft account's id, which jitdesk's directory has not"),
    ),
    (
        "properties.createdBy.applicationId",
        May::Differ("a placeholder in the example; here jitdesk's own application id"),
    ),
    (
        "properties.updatedBy.oid",
        May::Differ("a placeholder in the example; here the deploying admin's object id"),
    ),
    (
        "properties.updatedBy.puid",
        May::Reshape("a Microsoft account's id, which jitdesk's directory has not"),
    ),
    (
        "properties.updatedBy.applicationId",
        May::Differ("a placeholder in the example; here jitdesk's own application id"),
    ),
];

impl May {
    fn why(self) -> &'static str {
        match self {
            May::Differ(why) | May::Reshape(why) => why,
        }
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/arm/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether two strings say the same: equal, or the same GUID, or the same instant.
fn same_text(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if let (Ok(x), Ok(y)) = (uuid::Uuid::try_parse(a), uuid::Uuid::try_parse(b)) {
        return x == y;
    }
    matches!((a.parse::<DateTime<Utc>>(), b.parse::<DateTime<Utc>>()), (Ok(x), Ok(y)) if x == y)
}

/// `path` with every array index as `[*]`.
fn pattern(path: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[*");
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

fn allowance(path: &str, allowed: &[(&str, May)]) -> Option<May> {
    let general = pattern(path);
    allowed.iter().find(|(p, _)| *p == path || *p == general).map(|(_, may)| *may)
}

/// Every way `ours` falls short of `example` at `path`, as lines.
fn compare(
    path: &str,
    example: &Value,
    ours: Option<&Value>,
    allowed: &[(&str, May)],
    out: &mut Vec<String>,
) {
    let may = allowance(path, allowed);
    if matches!(may, Some(May::Reshape(_))) {
        return;
    }
    let Some(ours) = ours else {
        out.push(format!("{path}: missing (the example has {example})"));
        return;
    };
    if json_type(example) != json_type(ours) {
        out.push(format!(
            "{path}: a {} where the example has a {}: {ours}",
            json_type(ours),
            json_type(example)
        ));
        return;
    }
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (key, value) in e {
                compare(&join(key), value, o.get(key), allowed, out);
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if e.len() != o.len() {
                out.push(format!("{path}: {} items where the example has {}", o.len(), e.len()));
            }
            for (i, (x, y)) in e.iter().zip(o).enumerate() {
                compare(&format!("{path}[{i}]"), x, Some(y), allowed, out);
            }
        }
        (Value::String(e), Value::String(o)) if may.is_none() && !same_text(e, o) => {
            out.push(format!("{path}: `{o}` where the example has `{e}`"));
        }
        (e, o) if may.is_none() && !e.is_string() && e != o => {
            out.push(format!("{path}: {o} where the example has {e}"));
        }
        _ => {}
    }
}

fn assert_matches(what: &str, example: &Value, ours: &Value, allowed: &[(&str, May)]) {
    let mut out = Vec::new();
    compare("", example, Some(ours), allowed, &mut out);
    let allowed: Vec<String> = allowed.iter().map(|(path, may)| format!("{path}: {}", may.why())).collect();
    assert!(
        out.is_empty(),
        "{what} differs from Azure's example:\n{}\n(besides what may differ:\n{})\nanswer: {ours:#}",
        out.join("\n"),
        allowed.join("\n")
    );
}

/// Each allowance under every entry of a list's `value`.
fn in_list(allowed: &[(&'static str, May)]) -> Vec<(String, May)> {
    allowed.iter().map(|(p, may)| (format!("value[*].{p}"), *may)).collect()
}

fn borrowed(owned: &[(String, May)]) -> Vec<(&str, May)> {
    owned.iter().map(|(p, may)| (p.as_str(), *may)).collect()
}

/// A directory whose ids are the examples': dave's object id, the applications' resource ids,
/// an offer naming its role by the examples' role definition id; and nadia, of another customer,
/// who sees none of it.
pub fn store() -> Store {
    let s = Store::init();
    s.ok(&["tenant", "add", "contoso", "--kind", "customer"]);
    s.ok(&["tenant", "add", "northwind", "--kind", "customer"]);
    s.ok(&["tenant", "add", "fabrikam", "--kind", "publisher"]);
    s.ok(&["user", "add", ALICE, "--tenant", "contoso", "--admin"]);
    s.ok(&["user", "add", NADIA, "--tenant", "northwind", "--admin"]);
    s.ok(&["user", "add", DAVE, "--tenant", "fabrikam", "--object-id", PRINCIPAL]);
    s.ok(&["user", "add", ERIN, "--tenant", "fabrikam"]);
    s.ok_as(DAVE, &["offer", "publish", "myAppDef", "--name", "My app", "--jit", "--roles", ROLE]);
    let manual = ["--approval", "manual", "--approver", ALICE];
    s.ok_as(
        ALICE,
        &[&["app", "deploy", "7E193158", "--offer", "myAppDef", "--resource-id", APP_ID][..], &manual]
            .concat(),
    );
    s.ok_as(
        ALICE,
        &[
            &[
                "app",
                "deploy",
                "myManagedApplication",
                "--offer",
                "myAppDef",
                "--resource-group",
                "myManagedRG",
            ][..],
            &["--resource-id", MANAGED_APP_ID],
            &manual,
        ]
        .concat(),
    );
    s
}

/// The example's start moved to the same time of day tomorrow, with its 7 decimals.
pub fn tomorrow(start: &str) -> String {
    let (_, time) = start.split_once('T').expect("an RFC 3339 start");
    format!("{}T{time}", (Utc::now() + chrono::TimeDelta::days(1)).format("%Y-%m-%d"))
}

#[tokio::test]
async fn azures_examples_get_the_answers_azure_documents() {
    let service = Service::on(store());
    let mut c = service.connect().await;

    // createOrUpdateJitRequest: 201, then 200 with the same resource when the same body comes again.
    let create = fixture("createOrUpdateJitRequest.json");
    let path = create["path"].as_str().unwrap();
    let mut body = create["body"].clone();
    let start = tomorrow(body["properties"]["jitSchedulingPolicy"]["startTime"].as_str().unwrap());
    body["properties"]["jitSchedulingPolicy"]["startTime"] = json!(start);
    let made = c.call("PUT", path, Some(DAVE), body.to_string().as_bytes()).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let made = made.json();
    assert_matches("the PUT's 201", &create["responses"]["201"], &made, JIT_REQUEST);
    assert!(same_text(made["properties"]["jitSchedulingPolicy"]["startTime"].as_str().unwrap(), &start));
    let again = c.call("PUT", path, Some(DAVE), body.to_string().as_bytes()).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_matches("the repeated PUT's 200", &create["responses"]["200"], &again.json(), JIT_REQUEST);
    assert_eq!(again.json(), made, "the same resource");

    // getJitRequest.
    let get = fixture("getJitRequest.json");
    let shown = c.call("GET", get["path"].as_str().unwrap(), Some(DAVE), b"").await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_matches("the GET", &get["responses"]["200"], &shown.json(), JIT_REQUEST);

    // listJitRequestsByResourceGroup: its second request is erin's, since one requester has one
    // pending request per application.
    let list = fixture("listJitRequestsByResourceGroup.json");
    let erin = c.call("GET", "/v1/users?search=erin", None, b"").await.json();
    let erins_id = erin[0]["objectId"].as_str().expect("erin's object id").to_string();
    let mut second = body.clone();
    second["properties"]["jitAuthorizationPolicies"][0]["principalId"] = json!(erins_id);
    let second_path = path.replace("/myJitRequest?", "/myJitRequest2?");
    let made2 = c.call("PUT", &second_path, Some(ERIN), second.to_string().as_bytes()).await;
    assert_eq!(made2.status, 201, "{}", made2.text);
    let mut allowed = in_list(JIT_REQUEST);
    allowed.push((
        "value[1].properties.jitAuthorizationPolicies[0].principalId".into(),
        May::Differ("erin's own object id: she made the second request"),
    ));
    let listed = c.call("GET", list["path"].as_str().unwrap(), Some(DAVE), b"").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let mut listed = listed.json();
    // Newest first in jitdesk; the example lists by name.
    listed["value"].as_array_mut().unwrap().sort_by_key(|r| r["name"].as_str().unwrap().to_string());
    assert_matches("the list", &list["responses"]["200"], &listed, &borrowed(&allowed));

    // updateJitRequest: the tags are set and the resource answered.
    let update = fixture("updateJitRequest.json");
    let patched = c
        .call("PATCH", update["path"].as_str().unwrap(), Some(DAVE), update["body"].to_string().as_bytes())
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let patched = patched.json();
    assert_matches("the PATCH", &update["responses"]["200"], &patched, JIT_REQUEST);
    assert_eq!(patched["tags"], update["body"]["tags"]);

    // createOrUpdateApplication (deployed by jitdesk's own command above) and getApplication.
    for (name, status) in [("createOrUpdateApplication.json", "201"), ("getApplication.json", "200")] {
        let example = fixture(name);
        let get_path = format!("{MANAGED_APP_ID}?api-version=2021-07-01");
        assert_eq!(example["path"], json!(get_path), "{name} is about the deployed application");
        let app = c.call("GET", &get_path, Some(ALICE), b"").await;
        assert_eq!(app.status, 200, "{}", app.text);
        assert_matches(name, &example["responses"][status], &app.json(), APPLICATION);
    }
}

#[test]
fn the_comparison_finds_what_differs() {
    let example = json!({"a": {"b": "x", "c": [1, 2]}, "d": null, "g": "1db8e132e2934dbcb8e1178a61319491"});
    let mut out = Vec::new();
    let ours = json!({"a": {"b": "y", "c": [1]}, "d": 3, "g": "1DB8E132-E293-4DBC-B8E1-178A61319491"});
    compare("", &example, Some(&ours), &[], &mut out);
    assert_eq!(
        out,
        [
            "a.b: `y` where the example has `x`",
            "a.c: 1 items where the example has 2",
            "d: a number where the example has a null: 3",
        ]
    );
    let mut none = Vec::new();
    compare(
        "",
        &example,
        Some(&ours),
        &[("a.b", May::Differ("")), ("a.c", May::Reshape("")), ("d", May::Reshape(""))],
        &mut none,
    );
    assert!(none.is_empty(), "{none:?}");
    let mut missing = Vec::new();
    compare("", &json!({"t": "2021-04-22T05:48:30.6661804Z"}), Some(&json!({})), &[], &mut missing);
    assert_eq!(missing, ["t: missing (the example has \"2021-04-22T05:48:30.6661804Z\")"]);
    assert!(same_text("2021-04-22T05:48:30.6661804Z", "2021-04-22T05:48:30.666180400Z"));
}
