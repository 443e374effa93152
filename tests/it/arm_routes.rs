//! The service's ARM routes beyond Azure's examples: the api-version they require, ARM's error
//! body, a repeated PUT that asks for something else, a PUT for someone else, what a caller may not
//! see answering as what is not there, lists in parts with `nextLink`, and who may tag how much.

use serde_json::{Value, json};

use super::arm_documents::{APP_ID, MANAGED_APP_ID, fixture, store, tomorrow};
use crate::common::service::{Connection, Reply, Service};
use crate::common::{ALICE, DAVE, ERIN, NADIA, parse_id};

const GROUP: &str = "/subscriptions/subid/resourceGroups/rg/providers/Microsoft.Solutions/jitRequests";

fn at(name: &str) -> String {
    format!("{GROUP}/{name}?api-version=2021-07-01")
}

/// The example's PUT body, starting tomorrow, for `principal`.
fn body(principal: &str) -> Value {
    let mut body = fixture("createOrUpdateJitRequest.json")["body"].clone();
    let start = tomorrow(body["properties"]["jitSchedulingPolicy"]["startTime"].as_str().unwrap());
    body["properties"]["jitSchedulingPolicy"]["startTime"] = json!(start);
    body["properties"]["jitAuthorizationPolicies"][0]["principalId"] = json!(principal);
    body
}

/// The object id of a user, as the service's directory shows it.
async fn object_id(c: &mut Connection, upn: &str) -> String {
    let found = c.call("GET", &format!("/v1/users?search={upn}"), None, b"").await.json();
    found[0]["objectId"].as_str().expect("an object id").to_string()
}

/// The CLI through the service, as `upn`; its output.
fn cli(service: &Service, upn: &str, args: &[&str]) -> String {
    let socket = service.socket.to_str().expect("a UTF-8 socket path");
    let run = service.store.run_with(&[&["--as", upn][..], args].concat(), &[("JITDESK_SOCKET", socket)]);
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    run.stdout
}

/// ARM's error body and nothing else; returns its code.
fn arm_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    let error = body["error"].as_object().unwrap_or_else(|| panic!("no error object: {}", reply.text));
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message"], "{}", reply.text);
    assert_eq!(body.as_object().unwrap().len(), 1, "{}", reply.text);
    error["code"].as_str().unwrap().to_string()
}

async fn put(c: &mut Connection, name: &str, upn: &str, body: &Value) -> Reply {
    c.call("PUT", &at(name), Some(upn), body.to_string().as_bytes()).await
}

#[tokio::test]
async fn api_version_is_required_and_refusals_come_in_arms_shape() {
    let service = Service::on(store());
    let mut c = service.connect().await;
    let dave = object_id(&mut c, DAVE).await;
    let bare = format!("{GROUP}/myJitRequest");
    let missing = c.call("GET", &bare, Some(DAVE), b"").await;
    assert_eq!(arm_error(&missing, 400), "MissingApiVersionParameter");
    assert!(missing.json()["error"]["message"].as_str().unwrap().contains("api-version=2021-07-01"));
    let other = c.call("GET", &format!("{bare}?api-version=2019-07-01"), Some(DAVE), b"").await;
    assert_eq!(arm_error(&other, 400), "InvalidApiVersionParameter");
    // Refused before anything is made.
    let unversioned = c.call("PUT", &bare, Some(DAVE), body(&dave).to_string().as_bytes()).await;
    assert_eq!(arm_error(&unversioned, 400), "MissingApiVersionParameter");
    assert_eq!(
        arm_error(&c.call("GET", &at("myJitRequest"), Some(DAVE), b"").await, 404),
        "ResourceNotFound"
    );
    let not_json = c.call("PUT", &at("x"), Some(DAVE), b"[]").await;
    assert_eq!(arm_error(&not_json, 400), "InvalidRequestContent");
}

#[tokio::test]
async fn a_put_is_for_oneself_once_and_a_different_repeat_conflicts() {
    let service = Service::on(store());
    let mut c = service.connect().await;
    let (dave, erin) = (object_id(&mut c, DAVE).await, object_id(&mut c, ERIN).await);
    // For someone else: refused, and nothing made.
    let for_erin = put(&mut c, "theirs", DAVE, &body(&erin)).await;
    assert_eq!(arm_error(&for_erin, 403), "AuthorizationFailed");
    assert_eq!(c.call("GET", &at("theirs"), Some(DAVE), b"").await.status, 404);
    // Recurring access is not jitdesk's.
    let mut recurring = body(&dave);
    recurring["properties"]["jitSchedulingPolicy"]["type"] = json!("Recurring");
    assert_eq!(arm_error(&put(&mut c, "r", DAVE, &recurring).await, 400), "InvalidRequestContent");
    // A name jitdesk gives its own requests is not for a PUT.
    assert_eq!(arm_error(&put(&mut c, "jit-1", DAVE, &body(&dave)).await, 400), "InvalidRequestContent");
    // Made, then asked again differently: a conflict, and the request stays as it was.
    let made = put(&mut c, "mine", DAVE, &body(&dave)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let mut longer = body(&dave);
    longer["properties"]["jitSchedulingPolicy"]["duration"] = json!("PT4H");
    assert_eq!(arm_error(&put(&mut c, "mine", DAVE, &longer).await, 409), "Conflict");
    let mut shown = c.call("GET", &at("mine"), Some(DAVE), b"").await.json();
    assert_eq!(shown["properties"]["jitSchedulingPolicy"]["duration"], "PT8H");
    // Another requester repeating the same body at the name does not get dave's request.
    let erins = put(&mut c, "mine", ERIN, &body(&erin)).await;
    assert_eq!(arm_error(&erins, 409), "Conflict");
    // The request is jitdesk's like any other: the approver sees it and decides it.
    let id = shown["properties"]["jitdeskId"].as_u64().expect("its number");
    let approved = cli(&service, ALICE, &["request", "approve", &id.to_string(), "--reason", "ok"]);
    assert!(approved.contains("Approved"), "{approved}");
    shown = c.call("GET", &at("mine"), Some(DAVE), b"").await.json();
    assert_eq!(shown["properties"]["jitRequestState"], "Approved");
    assert_eq!(shown["properties"]["provisioningState"], "Succeeded");
    assert_eq!(shown["properties"]["updatedBy"]["oid"], object_id(&mut c, ALICE).await);
}

#[tokio::test]
async fn what_a_caller_may_not_see_answers_as_what_is_not_there() {
    let service = Service::on(store());
    let mut c = service.connect().await;
    let dave = object_id(&mut c, DAVE).await;
    let before = c.call("GET", &at("mine"), Some(NADIA), b"").await;
    assert_eq!(arm_error(&before, 404), "ResourceNotFound");
    assert_eq!(put(&mut c, "mine", DAVE, &body(&dave)).await.status, 201);
    let after = c.call("GET", &at("mine"), Some(NADIA), b"").await;
    assert_eq!(
        (after.status, &after.text),
        (before.status, &before.text),
        "the same answer as before it was made"
    );
    let patch = c.call("PATCH", &at("mine"), Some(NADIA), br#"{"tags":{"a":"b"}}"#).await;
    assert_eq!((patch.status, &patch.text), (before.status, &before.text));
    let listed = c.call("GET", &format!("{GROUP}?api-version=2021-07-01"), Some(NADIA), b"").await;
    assert_eq!(listed.json(), json!({"value": []}));
    // The same for an application.
    let app = format!("{MANAGED_APP_ID}?api-version=2021-07-01");
    let hidden = c.call("GET", &app, Some(NADIA), b"").await;
    let gone = c.call("GET", &app.replace("myManagedApplication?", "nothingHere?"), Some(NADIA), b"").await;
    assert_eq!(arm_error(&hidden, 404), "ResourceNotFound");
    assert_eq!(hidden.text.replace("myManagedApplication", "nothingHere"), gone.text);
}

#[tokio::test]
async fn lists_come_in_parts_linked_by_next_link() {
    let service = Service::on(store());
    let mut c = service.connect().await;
    let (dave, erin) = (object_id(&mut c, DAVE).await, object_id(&mut c, ERIN).await);
    assert_eq!(put(&mut c, "first", DAVE, &body(&dave)).await.status, 201);
    assert_eq!(put(&mut c, "second", ERIN, &body(&erin)).await.status, 201);
    // One made with the CLI lives as jit-N beside its application, which is in this group too.
    let id = parse_id(&cli(
        &service,
        DAVE,
        &[
            "request",
            "create",
            "--app",
            MANAGED_APP_ID,
            "--role",
            "ecd05a23-931a-4c38-a52b-ac7c4c583334",
            "--duration",
            "1h",
            "--reason",
            "r",
        ],
    ));
    let mut names = Vec::new();
    let mut next = Some(format!("{GROUP}?api-version=2021-07-01&$top=2"));
    let mut parts = 0;
    while let Some(path) = next.take() {
        let reply = c.call("GET", &path, Some(ALICE), b"").await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        let page = reply.json();
        let value = page["value"].as_array().unwrap();
        assert!(value.len() <= 2, "{page}");
        names.extend(value.iter().map(|r| r["name"].as_str().unwrap().to_string()));
        next = page["nextLink"].as_str().map(str::to_string);
        parts += 1;
    }
    assert_eq!(parts, 2);
    assert_eq!(names, [format!("jit-{id}"), "second".to_string(), "first".to_string()], "newest first");
    // By subscription: the same three; the application of the examples is in another one.
    let sub = c
        .call(
            "GET",
            "/subscriptions/SUBID/providers/Microsoft.Solutions/jitRequests?api-version=2021-07-01",
            Some(ALICE),
            b"",
        )
        .await;
    assert_eq!(sub.json()["value"].as_array().unwrap().len(), 3, "ids match whatever their case");
    let elsewhere = APP_ID.split("/resourceGroups").next().unwrap();
    let none = c
        .call(
            "GET",
            &format!("{elsewhere}/providers/Microsoft.Solutions/jitRequests?api-version=2021-07-01"),
            Some(ALICE),
            b"",
        )
        .await;
    assert_eq!(none.json(), json!({"value": []}));
    let bad = c.call("GET", &format!("{GROUP}?api-version=2021-07-01&$top=0"), Some(ALICE), b"").await;
    assert_eq!(arm_error(&bad, 400), "InvalidRequestContent");
    // Applications of a resource group.
    let apps = c.call("GET", "/subscriptions/subid/resourceGroups/rg/providers/Microsoft.Solutions/applications?api-version=2021-07-01", Some(DAVE), b"").await;
    let apps = apps.json();
    assert_eq!(apps["value"].as_array().unwrap().len(), 1, "{apps}");
    assert_eq!(apps["value"][0]["id"], MANAGED_APP_ID);
    assert_eq!(apps["value"][0]["properties"]["jitAccessPolicy"]["jitApprovers"][0]["type"], "user");
}

#[tokio::test]
async fn only_the_requester_tags_and_tags_are_bounded() {
    let service = Service::on(store());
    let mut c = service.connect().await;
    let dave = object_id(&mut c, DAVE).await;
    assert_eq!(put(&mut c, "mine", DAVE, &body(&dave)).await.status, 201);
    let tags = |value: Value| json!({ "tags": value }).to_string();
    let alice = c.call("PATCH", &at("mine"), Some(ALICE), tags(json!({"a": "b"})).as_bytes()).await;
    assert_eq!(arm_error(&alice, 403), "AuthorizationFailed");
    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("t{i}"), json!("v"))).collect();
    let too_many = c.call("PATCH", &at("mine"), Some(DAVE), tags(Value::Object(many)).as_bytes()).await;
    assert_eq!(arm_error(&too_many, 400), "InvalidRequestContent");
    let escape = c.call("PATCH", &at("mine"), Some(DAVE), tags(json!({"a": "\u{1b}[2J"})).as_bytes()).await;
    assert_eq!(arm_error(&escape, 400), "InvalidRequestContent");
    let set = c.call("PATCH", &at("mine"), Some(DAVE), tags(json!({"cost": "42"})).as_bytes()).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json()["tags"], json!({"cost": "42"}));
    let cleared = c.call("PATCH", &at("mine"), Some(DAVE), tags(json!({})).as_bytes()).await;
    assert!(cleared.json().get("tags").is_none(), "{}", cleared.text);
    let audit = cli(&service, ALICE, &["audit", "--json"]);
    assert!(audit.contains("\"request.tag\"") && audit.contains("cost=42"), "{audit}");
}
