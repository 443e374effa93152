//! Directory groups as approvers, through the public async engine on a real store file: a member
//! of an approver group decides as an approver does and stops the moment they are taken out, two
//! members are two approvals, every member is told once, and a group is seen by its own tenant
//! (and the operator) alone, answered for anyone else as a missing one.

use jitdesk::domain::groups::NewGroup;
use jitdesk::domain::rules::{NewRequest, PolicyChange};
use jitdesk::domain::{Action, ErrorKind, Paging, Period, RequestState, Target};
use jitdesk::engine::{AddMembers, Decide, DecideExtension, Extend, RemoveMember, SetPolicy, Viewer};

use super::engine_notices::{ADMIN, ALICE, APP, BOB, CAROL, PAT, World, minutes, t0, user, world};

impl World {
    /// Adds group `ops` of contoso with these members, as its admin.
    async fn ops(&self, members: &[&str]) {
        let group = NewGroup {
            id: "ops".into(),
            tenant: "contoso".into(),
            name: Some("Ops team".into()),
            object_id: None,
        };
        self.engine.run(&user(ADMIN), group).await.unwrap();
        let upns = members.iter().map(|m| m.to_string()).collect();
        self.engine.run(&user(ADMIN), AddMembers { group: "ops".into(), upns }).await.unwrap();
    }

    /// The application's approvers become these, and the number of approvals required `n`.
    async fn approvers(&self, add: &[&str], remove: &[&str], n: u32) {
        let change = PolicyChange {
            add_approvers: add.iter().map(|a| a.to_string()).collect(),
            remove_approvers: remove.iter().map(|a| a.to_string()).collect(),
            approvals_required: Some(n),
            ..PolicyChange::default()
        };
        self.engine.run(&user(ADMIN), SetPolicy { app: APP.into(), change }).await.unwrap();
    }

    async fn ask(&self) -> u64 {
        let asked = NewRequest {
            app: APP.into(),
            roles: vec!["Owner".into()],
            start: None,
            duration: Period::from_hours(1),
            justification: "incident 42".into(),
            ticket: None,
        };
        self.engine.run(&user(PAT), asked).await.unwrap().id
    }

    async fn decide(&self, by: &str, id: u64) -> Result<RequestState, ErrorKind> {
        let decide = Decide { id, approve: true, reason: "ok".into() };
        self.engine.run(&user(by), decide).await.map(|r| r.state).map_err(|e| e.kind().expect("a refusal"))
    }
}

#[tokio::test]
async fn a_group_member_decides_and_a_non_member_cannot() {
    let w = world().await;
    w.ops(&[CAROL]).await;
    w.approvers(&["ops"], &[BOB], 1).await;
    let id = w.ask().await;
    assert_eq!(
        w.decide(BOB, id).await,
        Err(ErrorKind::Forbidden),
        "Bob approves no more, and is in no group"
    );
    assert_eq!(w.decide(CAROL, id).await, Ok(RequestState::Approved), "Carol approves through ops");
}

#[tokio::test]
async fn a_member_taken_out_of_the_group_decides_no_more_at_once() {
    let w = world().await;
    w.ops(&[CAROL]).await;
    w.approvers(&["ops"], &[], 1).await;
    let id = w.ask().await;
    let (group, removed) =
        w.engine.run(&user(ADMIN), RemoveMember { group: "ops".into(), upn: CAROL.into() }).await.unwrap();
    assert_eq!((group.id.as_str(), removed.as_str()), ("ops", CAROL));
    assert_eq!(w.decide(CAROL, id).await, Err(ErrorKind::Forbidden));
    let again = w.engine.run(&user(ADMIN), RemoveMember { group: "ops".into(), upn: CAROL.into() }).await;
    assert_eq!(again.unwrap_err().kind(), Some(ErrorKind::NotFound), "she is no member to take out");
    assert_eq!(w.decide(ALICE, id).await, Ok(RequestState::Approved), "a direct approver still decides");
}

#[tokio::test]
async fn two_members_of_one_group_are_two_approvals() {
    let w = world().await;
    w.ops(&[BOB, CAROL]).await;
    w.approvers(&["ops"], &[ALICE, BOB], 2).await;
    let id = w.ask().await;
    assert_eq!(w.decide(BOB, id).await, Ok(RequestState::Pending));
    assert_eq!(w.decide(BOB, id).await, Err(ErrorKind::Conflict), "one person counts once");
    assert_eq!(w.decide(CAROL, id).await, Ok(RequestState::Approved));
}

#[tokio::test]
async fn every_member_is_told_once_of_requests_and_extensions() {
    let w = world().await;
    // Alice and Bob approve directly and through the group too; Carol only through it.
    w.ops(&[ALICE, BOB, CAROL]).await;
    w.approvers(&["ops"], &[], 1).await;
    let id = w.ask().await;
    for upn in [ALICE, BOB, CAROL] {
        let told: Vec<_> =
            w.notes(upn).await.into_iter().filter(|n| n.action == Action::RequestCreated).collect();
        assert_eq!(told.len(), 1, "{upn} is told once: {told:?}");
    }
    assert_eq!(w.decide(CAROL, id).await, Ok(RequestState::Approved));
    w.clock.set(t0() + minutes(10));
    w.engine
        .run(&user(PAT), Extend { id, by: Period::from_hours(1), reason: "longer".into() })
        .await
        .unwrap();
    for upn in [ALICE, BOB, CAROL] {
        let told = w.notes(upn).await.into_iter().filter(|n| n.action == Action::ExtensionAsked).count();
        assert_eq!(told, 1, "{upn} is told of the extension once");
    }
    let decided = DecideExtension { id, approve: true, reason: "fine".into() };
    assert!(w.engine.run(&user(CAROL), decided).await.is_ok(), "a member decides the extension");
}

#[tokio::test]
async fn members_of_approver_groups_are_told_of_a_policy_change() {
    let w = world().await;
    w.ops(&[CAROL]).await;
    w.approvers(&["ops"], &[], 1).await;
    let told = w.notes(CAROL).await.into_iter().filter(|n| n.action == Action::PolicyChanged).count();
    assert_eq!(told, 1, "Carol approves through ops from now on, and hears so");
}

#[tokio::test]
async fn groups_are_seen_by_their_tenant_and_the_operator_alone() {
    let w = world().await;
    w.ops(&[BOB]).await;
    let carol = Viewer::User(CAROL.into());
    let pat = Viewer::User(PAT.into());
    let seen = |page: jitdesk::domain::Page<jitdesk::domain::Group>| {
        page.items.into_iter().map(|g| g.id).collect::<Vec<_>>()
    };
    assert_eq!(seen(w.engine.groups(&carol, None, Paging::default()).await.unwrap()), ["ops"]);
    assert_eq!(seen(w.engine.groups(&Viewer::Operator, None, Paging::default()).await.unwrap()), ["ops"]);
    assert!(seen(w.engine.groups(&pat, None, Paging::default()).await.unwrap()).is_empty());
    assert!(seen(w.engine.groups(&pat, Some("contoso"), Paging::default()).await.unwrap()).is_empty());

    let shown = w.engine.group(&carol, "ops", Paging::default()).await.unwrap();
    assert_eq!(
        (shown.group.display_name.as_str(), shown.members.items.clone()),
        ("Ops team", vec![BOB.to_string()])
    );
    let hidden = w.engine.group(&pat, "ops", Paging::default()).await.unwrap_err().to_string();
    let missing = w.engine.group(&pat, "nope", Paging::default()).await.unwrap_err().to_string();
    assert_eq!(hidden.replace("ops", "X"), missing.replace("nope", "X"));

    let by_carol = AddMembers { group: "ops".into(), upns: vec![CAROL.into()] };
    let refused = w.engine.run(&user(CAROL), by_carol).await.unwrap_err();
    assert_eq!(refused.kind(), Some(ErrorKind::Forbidden), "only its tenant's admins change it");
    let outsider = AddMembers { group: "ops".into(), upns: vec![PAT.into()] };
    let outside = w.engine.run(&user(ADMIN), outsider).await.unwrap_err();
    assert_eq!(outside.kind(), Some(ErrorKind::NotFound), "another tenant's user is nobody of its own");

    let audit = w.engine.audit(&Viewer::Operator, Paging::default()).await.unwrap().items;
    let of_ops: Vec<_> =
        audit.iter().filter(|r| r.target == Target::Group("ops".into())).map(|r| r.action).collect();
    assert_eq!(of_ops, [Action::GroupMemberAdded, Action::GroupAdded], "newest first");
}
