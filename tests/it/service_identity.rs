//! The identity routes of the service (docs/api.md) and their statuses: created, refused for who
//! may not (403), unknown or not the caller's to see (404, worded alike), a second owner of a key
//! (409), bodies with unknown fields (400); and a token's secret answered once, never listed.

use std::process::Command;

use serde_json::Value;

use crate::common::serve::{Serve, header, message};
use crate::common::*;
use jitdesk::api::paths;

fn public_key(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "laptop", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    std::fs::read_to_string(path.with_extension("pub")).expect("the public key").trim().to_string()
}

#[test]
fn identity_routes_answer_with_the_statuses_of_the_api() {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let service = Serve::on(&store.path);
    let key = public_key(store.dir.path(), "dave");
    let body = serde_json::json!({ "key": key }).to_string();
    let dave = Some("dave@fabrikam.com");
    let erin = Some("erin@fabrikam.com");

    let (status, added) = service.request("POST", &paths::user_keys("dave@fabrikam.com"), dave, Some(&body));
    assert_eq!(status, 201, "{added}");
    let added: Value = serde_json::from_str(&added).unwrap();
    let fingerprint = added["fingerprint"].as_str().unwrap().to_string();
    let (status, _) = service.request("POST", &paths::user_keys("erin@fabrikam.com"), erin, Some(&body));
    assert_eq!(status, 409);
    let (status, _) = service.request("GET", &paths::user_keys("dave@fabrikam.com"), erin, None);
    assert_eq!(status, 403);
    let extra = serde_json::json!({ "key": key, "owner": "erin@fabrikam.com" }).to_string();
    let (status, _) = service.request("POST", &paths::user_keys("dave@fabrikam.com"), dave, Some(&extra));
    assert_eq!(status, 400);
    let answer = service.call(
        "GET",
        &paths::user_keys("dave@fabrikam.com"),
        &[("X-Jitdesk-As", "dave@fabrikam.com")],
        "",
    );
    assert_eq!(header(&answer, "x-jitdesk-more"), Some("false"));
    assert!(answer.contains(&fingerprint), "{answer}");
    let one = paths::user_key("dave@fabrikam.com", &fingerprint);
    assert_eq!(service.request("DELETE", &one, dave, None).0, 200);
    assert_eq!(service.request("DELETE", &one, dave, None).0, 404);

    let ca = serde_json::json!({ "key": public_key(store.dir.path(), "ca") }).to_string();
    assert_eq!(service.request("POST", &paths::tenant_cas("fabrikam"), dave, Some(&ca)).0, 403);
    assert_eq!(service.request("POST", &paths::tenant_cas("fabrikam"), None, Some(&ca)).0, 201);
    assert_eq!(service.request("POST", &paths::tenant_cas("fabrikam"), None, Some(&ca)).0, 409);
    assert_eq!(service.request("GET", &paths::tenant_cas("nowhere"), None, None).0, 404);

    let (status, made) =
        service.request("POST", paths::TOKENS, dave, Some(r#"{"name":"ci","expiresIn":"30d"}"#));
    assert_eq!(status, 201, "{made}");
    let made: Value = serde_json::from_str(&made).unwrap();
    let (id, secret) = (made["token"]["id"].as_str().unwrap(), made["secret"].as_str().unwrap());
    for who in [dave, None] {
        let (status, listed) = service.request("GET", paths::TOKENS, who, None);
        assert_eq!(status, 200);
        assert!(listed.contains(id) && !listed.contains(secret) && !listed.contains("hash"), "{listed}");
    }
    let (status, theirs) = service.request("POST", &paths::token_revoke(id), erin, None);
    let (_, missing) = service.request("POST", &paths::token_revoke("feedface"), erin, None);
    assert_eq!(status, 404);
    assert_eq!(message(&theirs).replace(id, "ID"), message(&missing).replace("feedface", "ID"));
    assert_eq!(service.request("POST", &paths::token_revoke(id), dave, None).0, 200);
    assert_eq!(service.request("POST", &paths::token_revoke(id), dave, None).0, 409);
    let operator = service.request("POST", paths::TOKENS, dave, Some(r#"{"operator":true}"#));
    assert_eq!(operator.0, 403);
}
