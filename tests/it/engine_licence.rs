//! Tenants and their licences through the public async engine on a real store file: a downgrade
//! below P2 is made, recorded and warned of once per JIT application; from then on new requests,
//! extensions and approvals on the tenant's applications are refused in the guide's words, while
//! denying goes on and access already granted runs to its end; upgrading again lets requests
//! through. Tenants a user may not see, and other tenants' users, answer as if they did not exist.

use jitdesk::domain::rules::{Actor, NewRequest, NewTenant, NewUser};
use jitdesk::domain::{Action, License, Paging, Period, RequestFilter, RequestState, Target, TenantKind};
use jitdesk::engine::{Decide, Extend, SetLicence, Viewer};

use super::engine_notices::{ADMIN, ALICE, APP, BOB, PAT, PAUL, PEG, World, minutes, t0, user, world};

const P2_WORDS: &str = "needs a Microsoft Entra ID P2 licence";
const NADIA: &str = "nadia@northwind.com";

fn op() -> Actor {
    Actor::Operator("tester".into())
}

fn licence(tenant: &str, license: License) -> SetLicence {
    SetLicence { tenant: tenant.into(), license }
}

fn ask(app: &str) -> NewRequest {
    NewRequest {
        app: app.into(),
        roles: vec!["Owner".into()],
        start: None,
        duration: Period::from_hours(1),
        justification: "incident 42".into(),
        ticket: None,
    }
}

fn viewer(upn: &str) -> Viewer {
    Viewer::User(upn.into())
}

/// The world with a second customer tenant, Northwind, that has no application and one admin.
async fn with_northwind() -> World {
    let w = world().await;
    let new = NewTenant { id: "northwind".into(), kind: TenantKind::Customer, name: None, license: None };
    w.engine.run(&op(), new).await.unwrap();
    let nadia = NewUser {
        upn: NADIA.into(),
        tenant: "northwind".into(),
        name: None,
        admin: true,
        login: None,
        object_id: None,
    };
    w.engine.run(&op(), nadia).await.unwrap();
    w
}

async fn requests(w: &World) -> usize {
    w.engine.requests(&Viewer::Operator, RequestFilter::default()).await.unwrap().items.len()
}

#[tokio::test]
async fn below_p2_new_requests_extensions_and_approvals_are_refused_until_it_is_upgraded() {
    let w = world().await;
    let running = w.granted(PAUL, Period::from_hours(2)).await;
    let pending = w.engine.run(&user(PAT), ask(APP)).await.unwrap().id;

    let change = w.engine.run(&user(ADMIN), licence("contoso", License::P1)).await.unwrap();
    assert_eq!((change.before, change.tenant.license), (Some(License::P2), Some(License::P1)));
    assert_eq!(change.warnings.len(), 1, "one line per JIT application: {:?}", change.warnings);
    assert!(change.warnings[0].contains(APP) && change.warnings[0].contains("P2"), "{:?}", change.warnings);
    let audit = w.engine.audit(&Viewer::Operator, Paging::first(1)).await.unwrap().items;
    let record = &audit[0];
    assert_eq!(record.action, Action::LicenseChanged);
    assert_eq!(record.target, Target::Tenant("contoso".into()));
    assert_eq!((record.before.as_deref(), record.after.as_deref()), (Some("P2"), Some("P1")));
    assert_eq!(record.actor, ADMIN);

    let before = requests(&w).await;
    let refused = w.engine.run(&user(PEG), ask(APP)).await.unwrap_err().to_string();
    assert!(refused.contains(P2_WORDS) && refused.contains("P1"), "{refused}");
    assert_eq!(requests(&w).await, before, "a refused request leaves nothing");

    let approve = Decide { id: pending, approve: true, reason: "go".into() };
    let refused = w.engine.run(&user(ALICE), approve).await.unwrap_err().to_string();
    assert!(refused.contains(P2_WORDS), "{refused}");
    let extend = Extend { id: running, by: Period::from_minutes(30), reason: "longer".into() };
    let refused = w.engine.run(&user(PAUL), extend.clone()).await.unwrap_err().to_string();
    assert!(refused.contains(P2_WORDS), "{refused}");

    // Denying is still open, and access already granted runs to its end.
    let deny = Decide { id: pending, approve: false, reason: "not now".into() };
    assert_eq!(w.engine.run(&user(BOB), deny).await.unwrap().state, RequestState::Denied);
    w.at(t0() + minutes(90)).await;
    let grant = w.engine.request(&Viewer::Operator, running).await.unwrap().request;
    assert_eq!(grant.state, RequestState::Approved, "still running");
    assert!(grant.is_active(t0() + minutes(90)));

    let up = w.engine.run(&op(), licence("contoso", License::P2)).await.unwrap();
    assert!(up.warnings.is_empty(), "an upgrade warns of nothing");
    assert_eq!(w.engine.run(&user(PEG), ask(APP)).await.unwrap().state, RequestState::Pending);
    w.engine.run(&user(PAUL), extend).await.unwrap();
}

#[tokio::test]
async fn the_same_licence_again_changes_nothing_and_a_free_to_p1_change_warns_of_nothing() {
    let w = world().await;
    let audited = w.engine.audit(&Viewer::Operator, Paging::first(1)).await.unwrap().items[0].id;
    let same = w.engine.run(&op(), licence("contoso", License::P2)).await.unwrap();
    assert!(same.warnings.is_empty());
    assert_eq!(w.engine.audit(&Viewer::Operator, Paging::first(1)).await.unwrap().items[0].id, audited);
    w.engine.run(&op(), licence("contoso", License::Free)).await.unwrap();
    let p1 = w.engine.run(&op(), licence("contoso", License::P1)).await.unwrap();
    assert!(p1.warnings.is_empty(), "JIT was stopped already: {:?}", p1.warnings);
}

#[tokio::test]
async fn only_the_operator_and_the_tenants_admins_change_a_customer_tenants_licence() {
    let w = with_northwind().await;
    let refused = w.engine.run(&user(BOB), licence("contoso", License::P1)).await.unwrap_err();
    assert!(refused.to_string().contains("only its admins and the operator"), "{refused}");
    let refused = w.engine.run(&op(), licence("fabrikam", License::P2)).await.unwrap_err();
    assert!(refused.to_string().contains("publisher"), "{refused}");
    // Another customer's admin does not see Contoso: the same answer as for no tenant at all.
    let hidden = w.engine.run(&user(NADIA), licence("contoso", License::P1)).await.unwrap_err().to_string();
    let missing = w.engine.run(&user(NADIA), licence("nosuch", License::P1)).await.unwrap_err().to_string();
    assert_eq!(hidden.replace("contoso", "X"), missing.replace("nosuch", "X"));
    let contoso = w.engine.tenant(&Viewer::Operator, "contoso").await.unwrap().tenant;
    assert_eq!(contoso.license, Some(License::P2), "refusals change nothing");
}

#[tokio::test]
async fn a_user_sees_its_own_tenant_the_publishers_and_the_customers_it_deals_with() {
    let w = with_northwind().await;
    let ids = |page: jitdesk::domain::Page<jitdesk::domain::Tenant>| {
        page.items.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    let all = ids(w.engine.tenants(&Viewer::Operator, Paging::default()).await.unwrap());
    assert_eq!(all, ["contoso", "fabrikam", "northwind"]);
    let pat = ids(w.engine.tenants(&viewer(PAT), Paging::default()).await.unwrap());
    assert_eq!(pat, ["contoso", "fabrikam"], "Fabrikam has an application with Contoso only");
    let nadia = ids(w.engine.tenants(&viewer(NADIA), Paging::default()).await.unwrap());
    assert_eq!(nadia, ["fabrikam", "northwind"]);
    let first = ids(w.engine.tenants(&viewer(NADIA), Paging::first(1)).await.unwrap());
    assert_eq!(first, ["fabrikam"], "paged as it is filtered");

    for (who, hidden) in [(PAT, "northwind"), (NADIA, "contoso")] {
        let hidden_answer = w.engine.tenant(&viewer(who), hidden).await.unwrap_err().to_string();
        let missing = w.engine.tenant(&viewer(who), "nosuch").await.unwrap_err().to_string();
        assert_eq!(hidden_answer.replace(hidden, "X"), missing.replace("nosuch", "X"), "{who}");
    }

    let seen_by_op = w.engine.tenant(&Viewer::Operator, "contoso").await.unwrap();
    assert_eq!(seen_by_op.users, Some(4));
    assert_eq!((seen_by_op.applications, seen_by_op.jit_count), (1, 1));
    assert_eq!(seen_by_op.jit_applications, [APP]);
    let seen_by_pat = w.engine.tenant(&viewer(PAT), "contoso").await.unwrap();
    assert_eq!(seen_by_pat.users, None, "another tenant's users are not Pat's to count");
    assert_eq!(seen_by_pat.jit_applications, [APP]);
}

#[tokio::test]
async fn a_user_lists_and_finds_only_its_own_tenants_users() {
    let w = with_northwind().await;
    let upns = |page: jitdesk::domain::Page<jitdesk::domain::User>| {
        page.items.into_iter().map(|u| u.upn).collect::<Vec<_>>()
    };
    let everyone = upns(w.engine.search_users(&Viewer::Operator, "", Paging::default()).await.unwrap());
    assert_eq!(everyone.len(), 8);
    let pat = upns(w.engine.search_users(&viewer(PAT), "", Paging::default()).await.unwrap());
    assert_eq!(pat, [PAT, PAUL, PEG]);
    assert!(
        w.engine.search_users(&viewer(PAT), "contoso", Paging::default()).await.unwrap().items.is_empty()
    );
    let found = upns(w.engine.search_users(&viewer(ALICE), "BOB", Paging::default()).await.unwrap());
    assert_eq!(found, [BOB]);

    let own = upns(w.engine.users(&viewer(PAT), None, Paging::default()).await.unwrap());
    assert_eq!(own, [PAT, PAUL, PEG]);
    let named = upns(w.engine.users(&viewer(PAT), Some("fabrikam"), Paging::first(2)).await.unwrap());
    assert_eq!(named, [PAT, PAUL]);
    let refused = w.engine.users(&viewer(PAT), Some("contoso"), Paging::default()).await.unwrap_err();
    assert!(refused.to_string().contains("only the users of tenant `fabrikam`"), "{refused}");
    let hidden = w.engine.users(&viewer(PAT), Some("northwind"), Paging::default()).await.unwrap_err();
    let missing = w.engine.users(&viewer(PAT), Some("nosuch"), Paging::default()).await.unwrap_err();
    assert_eq!(hidden.to_string().replace("northwind", "X"), missing.to_string().replace("nosuch", "X"));
    let northwind =
        upns(w.engine.users(&Viewer::Operator, Some("northwind"), Paging::default()).await.unwrap());
    assert_eq!(northwind, [NADIA]);

    // The names a dashboard shows: the parties' people, never another customer's.
    let people = upns(w.engine.people(&viewer(PAT), Paging::default()).await.unwrap());
    assert_eq!(people.len(), 7, "Contoso's and Fabrikam's: {people:?}");
    assert!(!people.contains(&NADIA.to_string()));
    assert_eq!(upns(w.engine.people(&viewer(NADIA), Paging::default()).await.unwrap()), [NADIA]);
    assert_eq!(upns(w.engine.people(&Viewer::Operator, Paging::first(8)).await.unwrap()), everyone);
}

#[tokio::test]
async fn below_p2_a_switch_to_automatic_approves_nothing_and_an_extension_waiting_is_only_denied() {
    use jitdesk::domain::rules::PolicyChange;
    use jitdesk::domain::{ApprovalMode, ExtensionState};
    use jitdesk::engine::{DecideExtension, SetPolicy};

    let w = world().await;
    let running = w.granted(PAUL, Period::from_hours(2)).await;
    let extend = Extend { id: running, by: Period::from_minutes(30), reason: "longer".into() };
    w.engine.run(&user(PAUL), extend).await.unwrap();
    let pending = w.engine.run(&user(PAT), ask(APP)).await.unwrap().id;
    w.engine.run(&op(), licence("contoso", License::Free)).await.unwrap();

    let auto = PolicyChange { mode: Some(ApprovalMode::AutoApprove), ..PolicyChange::default() };
    w.engine.run(&user(ADMIN), SetPolicy { app: APP.into(), change: auto }).await.unwrap();
    let still = w.engine.request(&Viewer::Operator, pending).await.unwrap().request;
    assert_eq!(still.state, RequestState::Pending, "the system approves nothing below P2 either");

    let approve = DecideExtension { id: running, approve: true, reason: "ok".into() };
    let refused = w.engine.run(&user(ALICE), approve).await.unwrap_err().to_string();
    assert!(refused.contains(P2_WORDS), "{refused}");
    let deny = DecideExtension { id: running, approve: false, reason: "not now".into() };
    let denied = w.engine.run(&user(ALICE), deny).await.unwrap();
    assert_eq!(denied.extensions[0].state, ExtensionState::Denied);
}
