//! Directory groups through the binary, on the store and through its service, with the same
//! answers either way: a tenant admin adds a group and its members, a group is made an approver
//! by id or object id, its members decide (alone or in bulk) and are told, and what another tenant
//! or a non-member tries is refused in one line with nothing changed.

use crate::common::serve::Serve;
use crate::common::*;

/// `ops` of contoso with Carol in it, made by its object id the only approver of `prod` besides Alice.
fn ops_approves_prod(s: &Store) {
    let out = s.ok_as(ALICE, &["group", "add", "ops", "--tenant", "contoso", "--name", "Ops team"]);
    assert!(out.starts_with("added group ops (Ops team) to tenant contoso, object id "), "{out}");
    let out = s.ok_as(ALICE, &["group", "member", "add", "ops", CAROL, BOB]);
    assert_eq!(out, format!("added to group ops (Ops team): {CAROL}, {BOB}\n"));
    let again = s.ok_as(ALICE, &["group", "member", "add", "ops", CAROL]);
    assert!(again.starts_with("no one added"), "{again}");
    s.ok_as(ALICE, &["group", "member", "remove", "ops", BOB]);
    let object_id =
        s.json_as(CAROL, &["group", "show", "ops", "--json"])["objectId"].as_str().unwrap().to_string();
    let out = s.ok_as(ALICE, &["app", "set", "prod", "--remove-approver", BOB, "--add-approver", &object_id]);
    assert!(out.ends_with(&format!("approvers: {ALICE}, group ops\n")), "{out}");
}

fn groups_approve(s: &Store) {
    ops_approves_prod(s);
    let shown = s.ok_as(BOB, &["app", "show", "prod"]);
    assert!(shown.contains(&format!("{ALICE}, group Ops team (ops)")), "{shown}");
    let view = s.json_as(BOB, &["app", "show", "prod", "--json"]);
    let approvers = &view["jitAccessPolicy"]["jitApprovers"];
    assert_eq!(approvers[1]["type"], "group", "{view}");
    assert_eq!(approvers[1]["id"], "ops", "{view}");
    assert_eq!(approvers[1]["displayName"], "Ops team", "{view}");

    let group = s.json_as(ALICE, &["group", "show", "ops", "--json"]);
    assert_eq!(group["members"], serde_json::json!([CAROL]), "{group}");
    let list = s.json_as(BOB, &["group", "list", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(s.json_as(DAVE, &["group", "list", "--json"]).as_array().unwrap().is_empty(), "not fabrikam's");

    let id = s.create_request(DAVE, "prod", "Owner", "1h", "INC-7");
    let told = s.json_as(CAROL, &["notifications", "--json"]);
    assert!(
        told.as_array().unwrap().iter().any(|n| n["action"] == "request.create"),
        "Carol is told: {told}"
    );
    let refused = s.run_as(BOB, &["request", "approve", &id.to_string(), "--reason", "ok"]);
    assert_eq!((refused.code, refused.stderr.lines().count()), (1, 1), "{refused:?}");
    assert!(refused.error_line().contains("not an approver"), "{refused:?}");
    let bulk =
        s.run_as(CAROL, &["request", "approve", "--all-pending", "--app", "prod", "--reason", "checked"]);
    assert_eq!(bulk.code, 0, "{bulk:?}");
    assert_eq!(s.state_of(id), "Approved");
}

fn refusals_change_nothing(s: &Store) {
    let groups = || (s.ok(&["group", "list", "--json"]), s.ok(&["group", "show", "ops", "--json"]));
    let before = (s.snapshot(), groups());
    for (who, args, word) in [
        (Some(BOB), &["group", "add", "x", "--tenant", "contoso"][..], "only its admins"),
        (Some(NADIA), &["group", "add", "x", "--tenant", "contoso"], "only its admins"),
        (None, &["group", "add", "x", "--tenant", "fabrikam"], "customer tenants"),
        (Some(ALICE), &["group", "add", "ops", "--tenant", "contoso"], "already exists"),
        (Some(ALICE), &["group", "add", "a@b", "--tenant", "contoso"], "group id"),
        (
            Some(ALICE),
            &["group", "add", "x", "--tenant", "contoso", "--name", "a\x1b[2Jb"],
            "group name contains",
        ),
        (Some(ALICE), &["group", "member", "add", "ops", DAVE], "must be its users"),
        (Some(ALICE), &["group", "member", "remove", "ops", BOB], "not a member"),
        (Some(NADIA), &["group", "member", "add", "ops", NADIA], "no group `ops`"),
        (Some(NADIA), &["group", "show", "ops"], "no group `ops`"),
        (Some(ALICE), &["app", "set", "prod", "--add-approver", "nobody-group"], "no user or group"),
        (
            Some(BOB),
            &["request", "approve", "--all-pending", "--app", "prod", "--reason", "x"],
            "not an approver",
        ),
    ] {
        let run = match who {
            Some(upn) => s.run_as(upn, args),
            None => s.run(args),
        };
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
        assert!(run.error_line().contains(word), "{args:?} should say {word:?}: {run:?}");
    }
    assert_eq!((s.snapshot(), groups()), before, "a refusal changes nothing");
    // Another tenant's user, or tenant, answers in the same words as one that is not there.
    for (hidden, missing) in [
        (
            &["group", "member", "add", "ops", NADIA][..],
            &["group", "member", "add", "ops", "nobody@northwind.com"][..],
        ),
        (
            &["app", "set", "prod", "--add-approver", NADIA],
            &["app", "set", "prod", "--add-approver", "nobody@northwind.com"],
        ),
        (&["group", "add", "x", "--tenant", "northwind"], &["group", "add", "x", "--tenant", "nowhere"]),
    ] {
        let (hidden, missing) = (s.run_as(ALICE, hidden), s.run_as(ALICE, missing));
        let unnamed = |line: &str| {
            line.replace(NADIA, "X").replace("nobody@northwind.com", "X").replace("nowhere", "northwind")
        };
        assert_eq!(hidden.code, 1, "{hidden:?}");
        let (hidden, missing) = (unnamed(hidden.error_line()), unnamed(missing.error_line()));
        assert_eq!(hidden, missing);
    }
    assert_eq!((s.snapshot(), groups()), before, "a refusal changes nothing");
}

#[test]
fn groups_on_the_store() {
    let s = directory();
    groups_approve(&s);
    refusals_change_nothing(&s);
}

#[test]
fn groups_through_a_service() {
    let s = directory();
    let _service = Serve::on(&s.path);
    groups_approve(&s);
    refusals_change_nothing(&s);
}
