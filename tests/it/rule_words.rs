//! The rules' messages name no door's syntax: a refusal says what is wrong in words every door can
//! show, and which input it is about. The command line adds the flags that give those inputs, the
//! same whether the engine runs in the command or in a service, and the dashboard asks the same
//! rule for its request form instead of keeping its own.

use std::sync::Arc;

use crate::common::serve::Serve;
use crate::common::*;
use jitdesk::domain::rules::{self, Actor, Deployment, NewRequest, NewTenant};
use jitdesk::domain::{ApprovalMode, Input, License, Period, RuleError, TenantKind};
use jitdesk::engine::{Engine, ManualClock, OpenMode};

/// The refusals that are about an input, met through the engine.
async fn refusals() -> Vec<RuleError> {
    let s = directory();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let engine = Engine::open(&s.path, OpenMode::Existing, clock).await.expect("open the store");
    let operator = Actor::Operator("test".into());
    let as_user = |upn: &str| Actor::User(upn.into());
    let request = NewRequest {
        app: "prod".into(),
        roles: Vec::new(),
        start: None,
        duration: Period::from_hours(1),
        justification: "INC-7: look at the logs".into(),
        ticket: None,
    };
    let deployment = |name: &str, offer: &str| Deployment {
        name: name.into(),
        offer: offer.into(),
        resource_group: None,
        jit: None,
        mode: None,
        max_duration: None,
        approvers: Vec::new(),
        request_timeout: None,
        approvals_required: None,
        resource_id: None,
        max_extensions: None,
    };
    let refused = |outcome: jitdesk::Result<_>| match outcome {
        Err(jitdesk::Error::Rule(rule)) => rule,
        other => panic!("expected a refused rule, got {other:?}"),
    };
    let out = vec![
        refused(engine.run(&as_user(DAVE), request.clone()).await.map(|_| ())),
        refused(engine.run(&operator, request).await.map(|_| ())),
        refused(
            engine
                .run(
                    &operator,
                    NewTenant {
                        id: "acme".into(),
                        kind: TenantKind::Publisher,
                        name: None,
                        license: Some(License::P2),
                    },
                )
                .await
                .map(|_| ()),
        ),
        refused(
            engine
                .run(
                    &as_user(ALICE),
                    Deployment {
                        jit: Some(false),
                        mode: Some(ApprovalMode::ManualApprove),
                        ..deployment("x", "crm")
                    },
                )
                .await
                .map(|_| ()),
        ),
        refused(
            engine
                .run(&as_user(ALICE), Deployment { jit: Some(true), ..deployment("y", "plain") })
                .await
                .map(|_| ()),
        ),
    ];
    engine.close().await.expect("close");
    out
}

#[tokio::test]
async fn refusals_name_their_inputs_and_no_flag() {
    let refusals = refusals().await;
    let about: Vec<Vec<Input>> = refusals.iter().map(|r| r.about.clone()).collect();
    assert_eq!(
        about,
        [
            vec![Input::Roles],
            vec![Input::Identity],
            vec![Input::License],
            vec![Input::ApprovalMode, Input::Jit],
            vec![Input::Jit],
        ]
    );
    for refusal in &refusals {
        assert!(!refusal.message.contains("--"), "a rule speaks the command line's syntax: {refusal}");
    }
    assert!(
        refusals[0].message.starts_with("name at least one role; `prod` offers Owner, Contributor"),
        "{}",
        refusals[0]
    );
}

#[test]
fn the_dashboards_form_and_the_engine_share_the_roles_rule() {
    let offered = ["Owner".to_string(), "Reader".to_string()];
    let refusal = rules::need_some_role(&[], "prod", &offered).expect_err("no role is refused");
    assert_eq!(refusal.message, "name at least one role; `prod` offers Owner, Reader");
    assert_eq!(refusal.about, [Input::Roles]);
    assert!(rules::need_some_role(&["Owner".to_string()], "prod", &offered).is_ok());
}

/// The line the command line prints for each refusal above, which its flags complete.
fn expected_lines() -> [(Vec<&'static str>, &'static str); 3] {
    [
        (
            vec![
                "request",
                "create",
                "--app",
                "dev",
                "--role",
                "Owner",
                "--duration",
                "1h",
                "--reason",
                "who am I",
            ],
            "error: this needs a directory user: act as one, or give one your OS login (--as UPN, JITDESK_USER, or `jitdesk user add --login`)",
        ),
        (
            vec!["tenant", "add", "acme", "--kind", "publisher", "--license", "p2"],
            "error: only customer tenants carry a licence: give none for a publisher tenant (--license)",
        ),
        (
            vec![
                "--as",
                ALICE,
                "app",
                "deploy",
                "x",
                "--offer",
                "crm",
                "--jit",
                "off",
                "--approval",
                "manual",
            ],
            "error: the approval mode only applies with JIT access: this deployment has no JIT access, so drop it, or deploy with JIT access (--approval, --jit on|off)",
        ),
    ]
}

#[test]
fn the_command_line_adds_the_flags_in_this_process() {
    let s = directory();
    for (args, line) in expected_lines() {
        let run = s.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(run.error_line(), line, "{args:?}");
    }
}

#[test]
fn the_command_line_adds_the_flags_through_a_service() {
    let s = directory();
    let service = Serve::on(&s.path);
    for (args, line) in expected_lines() {
        let run = s.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(run.error_line(), line, "{args:?}");
    }
    // The refusal went over the wire with what it is about, in the API's words.
    let body = r#"{"app":"prod","duration":"1h","justification":"INC-7: logs"}"#;
    let answer = service.call("POST", "/v1/requests", &[("X-Jitdesk-As", DAVE)], body);
    assert_eq!(crate::common::serve::status(&answer), 400, "{answer}");
    assert!(answer.contains(r#""about":["roles"]"#), "{answer}");
}
