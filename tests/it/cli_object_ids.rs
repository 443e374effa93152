//! Object ids and resource ids from the command line: a user or an application gets the id it is
//! given, or one made from its name; a malformed id, one that names another application, or one
//! somebody already has is refused with one line, exit 1, and nothing changes.

use jitdesk::domain::arm_ids;

use crate::common::*;

const GIVEN: &str = "2A5C8B04-7E1F-4B6D-9C3E-0F8A1D2B3C4E";

fn users(s: &Store) -> serde_json::Value {
    s.json(&["user", "search", "", "--json"])
}

fn object_id_of(s: &Store, upn: &str) -> String {
    let users = users(s);
    let user = users.as_array().unwrap().iter().find(|u| u["upn"] == upn).expect("the user is listed");
    user["objectId"].as_str().expect("an object id").to_string()
}

#[test]
fn a_user_gets_the_object_id_given_or_one_made_from_the_upn() {
    let s = directory();
    assert_eq!(object_id_of(&s, ALICE), arm_ids::user_guid(ALICE));
    s.ok(&["user", "add", "zoe@contoso.com", "--tenant", "contoso", "--object-id", GIVEN]);
    assert_eq!(object_id_of(&s, "zoe@contoso.com"), GIVEN.to_lowercase(), "kept in canonical form");

    let before = s.snapshot();
    let taken = s.run(&[
        "user",
        "add",
        "yan@contoso.com",
        "--tenant",
        "contoso",
        "--object-id",
        &GIVEN.to_lowercase(),
    ]);
    assert_eq!(taken.code, 1, "{taken:?}");
    assert!(taken.error_line().contains("already names someone"), "{}", taken.error_line());
    let made = arm_ids::user_guid(BOB);
    let bobs = s.run(&["user", "add", "yan@contoso.com", "--tenant", "contoso", "--object-id", &made]);
    assert_eq!(bobs.code, 1, "a made id is taken as surely as a given one: {bobs:?}");
    let malformed =
        s.run(&["user", "add", "yan@contoso.com", "--tenant", "contoso", "--object-id", "not-a-guid"]);
    assert_eq!(malformed.code, 1);
    assert!(malformed.error_line().contains("is not an object id"), "{}", malformed.error_line());
    assert_eq!(s.snapshot(), before, "refusals change nothing");
}

#[test]
fn an_application_gets_the_resource_id_given_or_one_made_from_its_tenant_and_name() {
    let s = directory();
    let prod = s.json(&["app", "show", "prod", "--json"]);
    assert_eq!(prod["resourceId"], arm_ids::application_id("contoso", "prod"));

    let id = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/apps/providers/Microsoft.Solutions/applications/billing";
    let deploy = |name: &str, resource_id: &str| {
        s.run_as(ALICE, &["app", "deploy", name, "--offer", "crm", "--resource-id", resource_id])
    };
    let before = s.snapshot();
    let other_name = deploy("payroll", id);
    assert_eq!(other_name.code, 1, "{other_name:?}");
    assert!(other_name.error_line().contains("its last segment must be the application's name"));
    let not_arm =
        deploy("billing", "/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/billing");
    assert_eq!(not_arm.code, 1);
    assert!(not_arm.error_line().contains("is not an application's resource id"), "{}", not_arm.error_line());
    assert_eq!(s.snapshot(), before, "refusals change nothing");

    assert_eq!(deploy("billing", id).code, 0);
    assert_eq!(s.json(&["app", "show", "billing", "--json"])["resourceId"], id);
    // Names are compared byte for byte, ARM ids whatever their case: `Billing` is another name, but
    // its id in other letters is billing's.
    let again = deploy("Billing", &id.to_uppercase().replace("/BILLING", "/Billing"));
    assert_eq!(again.code, 1, "the same id in other letters is the same id: {again:?}");
    assert!(
        again.error_line().contains("already belongs to application `billing`"),
        "{}",
        again.error_line()
    );
}
