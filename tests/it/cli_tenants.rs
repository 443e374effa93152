//! `tenant list|show|set` and `user list|search` on the command line: a downgrade below P2 prints
//! a warning per JIT application on stderr and makes requests fail in the guide's words until the
//! tenant is upgraded again; a tenant the caller may not see answers as a missing one; a user
//! lists and finds only the users of their own tenant.

use serde_json::Value;

use crate::common::*;

const P2_WORDS: &str = "needs a Microsoft Entra ID P2 licence";

fn keys(v: &Value, key: &str) -> Vec<String> {
    v.as_array().expect("a JSON array").iter().map(|i| i[key].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_downgrade_warns_of_each_jit_application_and_refuses_requests_until_upgraded() {
    let s = directory();
    let run = s.run_as(ALICE, &["tenant", "set", "contoso", "--licence", "p1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "tenant contoso: licence P2 -> P1\n");
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "prod and dev have JIT access, legacy not: {run:?}");
    assert!(warnings[0].starts_with("warning: `dev` has JIT access"), "{run:?}");
    assert!(warnings[1].starts_with("warning: `prod` has JIT access"), "{run:?}");

    let before = s.snapshot();
    let refused = s.run_as(DAVE, &request_create("prod", "Owner", "1h", "incident"));
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.lines().count(), 1, "{refused:?}");
    assert!(refused.error_line().contains(P2_WORDS), "{refused:?}");
    assert_eq!(s.snapshot(), before, "a refused request changes nothing");

    let shown = s.json_as(ALICE, &["tenant", "show", "contoso", "--json"]);
    assert_eq!(shown["tenant"]["license"], "p1");
    assert_eq!(shown["users"], 3);
    assert_eq!(shown["jitApplications"], serde_json::json!(["dev", "prod"]));

    let up = s.json(&["tenant", "set", "contoso", "--license", "p2", "--json"]);
    assert_eq!((up["before"].as_str(), up["warnings"].as_array().map(Vec::len)), (Some("p1"), Some(0)));
    s.create_request(DAVE, "prod", "Owner", "1h", "incident");

    let down = s.json(&["tenant", "set", "contoso", "--license", "free", "--json"]);
    assert_eq!(down["warnings"].as_array().map(Vec::len), Some(2), "{down}");
}

#[test]
fn a_licence_is_changed_by_the_tenants_admins_and_the_operator_only_and_never_a_publishers() {
    let s = directory();
    let before = s.snapshot();
    for (run, words) in [
        (
            s.run_as(BOB, &["tenant", "set", "contoso", "--license", "free"]),
            "only its admins and the operator",
        ),
        (s.run(&["tenant", "set", "fabrikam", "--license", "p2"]), "only customer tenants carry a licence"),
    ] {
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.error_line().contains(words), "{run:?}");
    }
    let run = s.run(&["tenant", "set", "contoso", "--license", "gold"]);
    assert_eq!(run.code, 2, "a licence that does not exist is a usage error: {run:?}");
    assert_eq!(s.snapshot(), before);
}

#[test]
fn a_hidden_tenant_answers_like_a_missing_one() {
    let s = directory();
    assert_eq!(keys(&s.json_as(NADIA, &["tenant", "list", "--json"]), "id"), ["fabrikam", "northwind"]);
    assert_eq!(keys(&s.json(&["tenant", "list", "--json"]), "id"), ["contoso", "fabrikam", "northwind"]);
    for args in [&["tenant", "show"][..], &["tenant", "set"][..]] {
        let with = |id: &'static str| {
            let mut all = args.to_vec();
            all.push(id);
            if args[1] == "set" {
                all.extend(["--license", "p1"]);
            }
            s.run_as(NADIA, &all)
        };
        let (hidden, missing) = (with("contoso"), with("nosuch"));
        assert_eq!(hidden.code, 1, "{hidden:?}");
        assert_eq!(hidden.code, missing.code);
        assert_eq!(hidden.stderr.replace("contoso", "X"), missing.stderr.replace("nosuch", "X"));
    }
    let table = s.ok_as(DAVE, &["tenant", "list"]);
    assert!(table.starts_with("ID") && table.contains("contoso") && !table.contains("northwind"), "{table}");
    let shown = s.ok_as(DAVE, &["tenant", "show", "contoso"]);
    assert!(shown.contains("licence: P2") && !shown.contains("users:"), "{shown}");
}

#[test]
fn a_user_lists_and_finds_only_its_own_tenants_users() {
    let s = directory();
    assert_eq!(keys(&s.json_as(DAVE, &["user", "search", "", "--json"]), "upn"), [DAVE, ERIN]);
    assert!(keys(&s.json_as(DAVE, &["user", "search", "contoso", "--json"]), "upn").is_empty());
    assert_eq!(keys(&s.json_as(DAVE, &["user", "list", "--json"]), "upn"), [DAVE, ERIN]);
    assert_eq!(keys(&s.json_as(ALICE, &["user", "list", "--json", "--limit", "1"]), "upn"), [ALICE]);
    let everyone = keys(&s.json(&["user", "list", "--json"]), "upn");
    assert_eq!(everyone.len(), 6);
    assert_eq!(keys(&s.json(&["user", "list", "--tenant", "northwind", "--json"]), "upn"), [NADIA]);
    let run = s.run_as(DAVE, &["user", "list", "--tenant", "contoso"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("only the users of tenant `fabrikam`"), "{run:?}");
    let hidden = s.run_as(DAVE, &["user", "list", "--tenant", "northwind"]);
    let missing = s.run_as(DAVE, &["user", "list", "--tenant", "nosuch"]);
    assert_eq!(hidden.stderr.replace("northwind", "X"), missing.stderr.replace("nosuch", "X"));
}
