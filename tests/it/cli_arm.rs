//! `--output arm` on `app show/list` and `request show/list`, the same document in this process
//! and through a service, and ARM's ids (object ids, resource ids, role definition ids) taken
//! wherever the command line takes a user, an application or a role.

use serde_json::Value;

use super::arm_documents::{APP_ID, store};
use crate::common::service::Service;
use crate::common::{ALICE, DAVE, ERIN, NADIA, parse_id};

const ROLE: &str = "ecd05a23-931a-4c38-a52b-ac7c4c583334";
const DAVES_ID: &str = "1db8e132-e293-4dbc-b8e1-178a61319491";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn object_id(service_store: &crate::common::Store, upn: &str) -> String {
    service_store.json(&["user", "search", upn, "--json"])[0]["objectId"].as_str().unwrap().to_string()
}

#[test]
fn arm_documents_in_this_process_and_through_a_service_are_the_same() {
    let s = store();
    // Dave, by his object id, asks for the role by its definition id on the application by its resource id.
    let id = parse_id(&s.ok(&[
        "--as",
        DAVES_ID,
        "request",
        "create",
        "--app",
        APP_ID,
        "--role",
        ROLE,
        "--duration",
        "2h",
        "--reason",
        "fix",
    ]));
    let shown = json(&s.ok_as(ALICE, &["request", "show", &id.to_string(), "--output", "arm"]));
    let sub_and_group = "/subscriptions/00c76877-e316-48a7-af60-4a09fec9d43f/resourceGroups/52F30DB2";
    assert_eq!(shown["id"], format!("{sub_and_group}/providers/Microsoft.Solutions/jitRequests/jit-{id}"));
    assert_eq!(shown["type"], "Microsoft.Solutions/jitRequests");
    let p = &shown["properties"];
    assert_eq!(p["applicationResourceId"], APP_ID);
    assert_eq!(p["jitAuthorizationPolicies"][0]["principalId"], DAVES_ID);
    assert_eq!(p["jitAuthorizationPolicies"][0]["roleDefinitionId"], ROLE);
    assert_eq!(p["jitSchedulingPolicy"]["duration"], "PT2H");
    assert_eq!(
        (p["jitRequestState"].as_str(), p["jitdeskState"].as_str()),
        (Some("Pending"), Some("Pending"))
    );
    // Revoked after approval: ARM's Expired, jitdesk's exact state beside it.
    s.ok_as(ALICE, &["request", "approve", &id.to_string(), "--reason", "ok"]);
    s.ok_as(ALICE, &["access", "revoke", &id.to_string(), "--reason", "done"]);
    let listed = json(&s.ok_as(DAVE, &["request", "list", "--output", "arm"]));
    let value = listed["value"].as_array().expect("ARM's list shape");
    assert_eq!(value.len(), 1, "{listed}");
    assert_eq!(value[0]["properties"]["jitRequestState"], "Expired");
    assert_eq!(value[0]["properties"]["jitdeskState"], "Revoked");
    let app = json(&s.ok_as(ALICE, &["app", "show", APP_ID, "--output", "arm"]));
    assert_eq!(app["name"], "7E193158");
    assert_eq!(app["properties"]["jitAccessPolicy"]["jitApprovalMode"], "ManualApprove");
    assert_eq!(app["properties"]["jitAccessPolicy"]["maximumJitAccessDuration"], "PT8H");
    assert_eq!(app["properties"]["jitAccessPolicy"]["jitApprovers"][0]["id"], object_id(&s, ALICE));
    let apps = json(&s.ok_as(ALICE, &["app", "list", "--output", "arm"]));
    assert_eq!(apps["value"].as_array().map(Vec::len), Some(2), "{apps}");
    // `--output json` is --json.
    assert_eq!(
        s.ok_as(ALICE, &["app", "list", "--output", "json"]),
        s.ok_as(ALICE, &["app", "list", "--json"])
    );

    let local: Vec<String> = [
        &["request", "show", &id.to_string(), "--output", "arm"][..],
        &["request", "list", "--output", "arm"],
        &["app", "show", "7E193158", "--output", "arm"],
        &["app", "list", "--output", "arm"],
    ]
    .iter()
    .map(|args| s.ok_as(ALICE, args))
    .collect();
    let service = Service::on(s);
    let socket = service.socket.to_str().unwrap().to_string();
    for (args, expected) in [
        &["request", "show", &id.to_string(), "--output", "arm"][..],
        &["request", "list", "--output", "arm"],
        &["app", "show", "7E193158", "--output", "arm"],
        &["app", "list", "--output", "arm"],
    ]
    .iter()
    .zip(&local)
    {
        let mut all = vec!["--as", ALICE];
        all.extend_from_slice(args);
        let run = service.store.run_with(&all, &[("JITDESK_SOCKET", &socket), ("JITDESK_SERVICE_ONLY", "1")]);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_eq!(&run.stdout, expected, "{args:?} through the service");
    }
}

#[test]
fn arm_ids_name_users_applications_and_roles_everywhere() {
    let s = store();
    let alices = object_id(&s, ALICE);
    // An approver added and removed by object id, kept by UPN.
    let set = s.ok_as(ALICE, &["app", "set", APP_ID, "--add-approver", &object_id(&s, crate::common::ALICE)]);
    assert!(set.contains(ALICE), "{set}");
    let erin = object_id(&s, ERIN);
    let refused = s.run_as(ALICE, &["app", "set", APP_ID, "--add-approver", &erin]);
    // Erin is in another tenant: refused as nobody of contoso's, without naming her.
    assert!(refused.error_line().contains(&format!("no user or group `{erin}` in tenant")), "{refused:?}");
    let id = s.create_request(DAVE, APP_ID, ROLE, "1h", "r");
    // Filters by resource id and by object id.
    let mine = s.json(&["request", "list", "--app", APP_ID, "--json"]);
    assert_eq!(mine[0]["id"], id);
    let run = s.run_as(&alices, &["access", "check", "--app", APP_ID, "--user", DAVES_ID]);
    assert_eq!(run.code, 3, "pending is no access yet: {run:?}");
    // An unknown object id or resource id is refused as an unknown name is, and one nadia may not
    // see as one that is not there.
    let unknown = s.run_as(NADIA, &["app", "show", &APP_ID.replace("7E193158", "nope"), "--output", "arm"]);
    assert!(unknown.error_line().starts_with("error: no application `/subscriptions/"), "{unknown:?}");
    let hidden = s.run_as(NADIA, &["app", "show", APP_ID, "--output", "arm"]);
    assert_eq!(hidden.error_line(), unknown.error_line(), "a long id is cut short the same way in both");
    // So is a change of its settings: the refusal names what was given, never the name it found.
    let other = APP_ID.replace("7E193158", "nope");
    let unknown = s.run_as(NADIA, &["app", "set", &other, "--max-duration", "1h"]);
    let hidden = s.run_as(NADIA, &["app", "set", APP_ID, "--max-duration", "1h"]);
    assert!(unknown.error_line().starts_with("error: no application `/subscriptions/"), "{unknown:?}");
    assert_eq!(hidden.error_line(), unknown.error_line(), "{hidden:?}");
    let nobody = s.run(&["--as", "00000000-0000-0000-0000-000000000009", "request", "list"]);
    assert!(nobody.error_line().contains("no user"), "{nobody:?}");
    // A role definition id the offer does not have is refused with the roles it has.
    let other_role = s.run_as(
        ERIN,
        &[
            "request",
            "create",
            "--app",
            APP_ID,
            "--role",
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "--duration",
            "1h",
            "--reason",
            "r",
        ],
    );
    assert!(other_role.error_line().contains("offers no role"), "{other_role:?}");
}

#[test]
fn json_and_arm_are_one_choice() {
    let s = store();
    let both = s.run(&["app", "list", "--json", "--output", "arm"]);
    assert_eq!(both.code, 2, "{both:?}");
    assert!(both.stderr.contains("cannot be used with"), "{both:?}");
}
