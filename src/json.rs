//! The JSON shapes of jitdesk's resources, shared by the CLI's `--json` and the service's API
//! (docs/api.md). The ARM parts use ARM's names (`jitAccessPolicy`, `jitRequestState`, ...), so
//! scripts written against Azure's REST API read them without translation. Every view reads back
//! (`Deserialize`), and the ones a client turns into domain values convert back (`App` ->
//! `Application`, `Request` -> `AccessRequest`, `Access` -> `AccessStatus`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::rules::AccessStatus;
use crate::domain::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approver {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitAccessPolicy {
    pub jit_access_enabled: bool,
    pub jit_approval_mode: Option<ApprovalMode>,
    pub maximum_jit_access_duration: Option<Span>,
    pub jit_approvers: Vec<Approver>,
    pub request_timeout: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub name: String,
    pub offer: String,
    pub customer_tenant: String,
    pub publisher_tenant: String,
    pub managed_resource_group: String,
    pub deployed_by: String,
    pub deployed_at: DateTime<Utc>,
    pub jit_access_policy: JitAccessPolicy,
}

impl App {
    /// `users` supplies approvers' display names; an approver missing from it shows its UPN.
    pub fn new(app: &Application, users: &[User]) -> Self {
        let p = &app.policy;
        let approvers = p
            .approvers
            .iter()
            .map(|upn| Approver {
                id: upn.clone(),
                kind: "user".to_string(),
                display_name: users
                    .iter()
                    .find(|u| u.upn == *upn)
                    .map_or_else(|| upn.clone(), |u| u.display_name.clone()),
            })
            .collect();
        App {
            name: app.name.clone(),
            offer: app.offer.clone(),
            customer_tenant: app.customer_tenant.clone(),
            publisher_tenant: app.publisher_tenant.clone(),
            managed_resource_group: app.resource_group.clone(),
            deployed_by: app.deployed_by.clone(),
            deployed_at: app.deployed_at,
            jit_access_policy: JitAccessPolicy {
                jit_access_enabled: p.enabled,
                jit_approval_mode: p.enabled.then_some(p.mode),
                maximum_jit_access_duration: p.enabled.then_some(p.max_duration),
                jit_approvers: approvers,
                request_timeout: p.enabled.then_some(p.request_timeout),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingPolicy {
    #[serde(rename = "type")]
    pub kind: String,
    pub duration: Span,
    pub start_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    pub principal_id: String,
    pub role_definition_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: u64,
    pub application: String,
    pub requester: String,
    pub jit_request_state: RequestState,
    pub jit_scheduling_policy: SchedulingPolicy,
    pub jit_authorization_policies: Vec<AuthorizationPolicy>,
    pub justification: String,
    pub ticket: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decide_by: DateTime<Utc>,
    pub decision: Option<Verdict>,
    pub granted_from: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub closed: Option<Verdict>,
    /// Whether the start of the access window has been announced (`access.start`); not an ARM field.
    #[serde(default)]
    pub started: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AuditRecord>>,
}

impl Request {
    pub fn new(r: &AccessRequest) -> Self {
        Request {
            id: r.id,
            application: r.app.clone(),
            requester: r.requester.clone(),
            jit_request_state: r.state,
            jit_scheduling_policy: SchedulingPolicy {
                kind: "Once".to_string(),
                duration: r.duration,
                start_time: r.start,
            },
            jit_authorization_policies: r
                .roles
                .iter()
                .map(|role| AuthorizationPolicy {
                    principal_id: r.requester.clone(),
                    role_definition_id: role.clone(),
                })
                .collect(),
            justification: r.justification.clone(),
            ticket: r.ticket.clone(),
            created_at: r.created_at,
            decide_by: r.decide_by,
            decision: r.decision.clone(),
            granted_from: r.granted_from,
            end_time: r.end(),
            closed: r.closed.clone(),
            started: r.started,
            history: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "access")]
pub enum Access {
    Permanent,
    Active { request: u64, until: DateTime<Utc> },
    None { why: String },
}

impl From<&AccessStatus> for Access {
    fn from(status: &AccessStatus) -> Self {
        match status {
            AccessStatus::Permanent => Access::Permanent,
            AccessStatus::Active { request, until } => Access::Active { request: *request, until: *until },
            AccessStatus::None { why } => Access::None { why: why.clone() },
        }
    }
}

impl From<Access> for AccessStatus {
    fn from(access: Access) -> Self {
        match access {
            Access::Permanent => AccessStatus::Permanent,
            Access::Active { request, until } => AccessStatus::Active { request, until },
            Access::None { why } => AccessStatus::None { why },
        }
    }
}

impl From<App> for Application {
    /// The inverse of `App::new`. An application without JIT shows no mode, maximum or timeout, so
    /// those come back as the defaults; they mean nothing while JIT is off.
    fn from(app: App) -> Self {
        let p = app.jit_access_policy;
        Application {
            name: app.name,
            offer: app.offer,
            customer_tenant: app.customer_tenant,
            publisher_tenant: app.publisher_tenant,
            resource_group: app.managed_resource_group,
            policy: JitPolicy {
                enabled: p.jit_access_enabled,
                mode: p.jit_approval_mode.unwrap_or(ApprovalMode::AutoApprove),
                max_duration: p.maximum_jit_access_duration.unwrap_or(JitPolicy::DEFAULT_MAX_DURATION),
                approvers: p.jit_approvers.into_iter().map(|a| a.id).collect(),
                request_timeout: p.request_timeout.unwrap_or(JitPolicy::DEFAULT_REQUEST_TIMEOUT),
            },
            deployed_by: app.deployed_by,
            deployed_at: app.deployed_at,
        }
    }
}

impl From<Request> for AccessRequest {
    /// The inverse of `Request::new` (the history, if any, is dropped).
    fn from(r: Request) -> Self {
        AccessRequest {
            id: r.id,
            app: r.application,
            requester: r.requester,
            roles: r.jit_authorization_policies.into_iter().map(|p| p.role_definition_id).collect(),
            start: r.jit_scheduling_policy.start_time,
            duration: r.jit_scheduling_policy.duration,
            justification: r.justification,
            ticket: r.ticket,
            created_at: r.created_at,
            decide_by: r.decide_by,
            state: r.jit_request_state,
            decision: r.decision,
            granted_from: r.granted_from,
            closed: r.closed,
            started: r.started,
        }
    }
}

/// The answer to "does this user have access to this application now?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub application: String,
    pub user: String,
    #[serde(flatten)]
    pub access: Access,
}

/// One engine event: the audit record of a committed change and the users it notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub record: AuditRecord,
    pub notified: Vec<String>,
}

impl From<&crate::engine::Event> for Event {
    fn from(e: &crate::engine::Event) -> Self {
        Event { record: e.record.clone(), notified: e.notified.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn a_request_reads_back_as_itself() {
        let request = AccessRequest {
            id: 7,
            app: "crm".into(),
            requester: "dave@fabrikam.com".into(),
            roles: vec!["Owner".into(), "Reader".into()],
            start: at(2),
            duration: Span::from_hours(2),
            justification: "INC-1: stuck".into(),
            ticket: Some("INC-1".into()),
            created_at: at(1),
            decide_by: at(9),
            state: RequestState::Approved,
            decision: Some(Verdict { by: "alice@contoso.com".into(), at: at(1), reason: "ok".into() }),
            granted_from: Some(at(2)),
            closed: None,
            started: true,
        };
        let text = serde_json::to_string(&Request::new(&request)).unwrap();
        let view: Request = serde_json::from_str(&text).unwrap();
        assert_eq!(AccessRequest::from(view), request);
    }

    #[test]
    fn an_application_reads_back_as_itself() {
        let app = Application {
            name: "crm".into(),
            offer: "offer".into(),
            customer_tenant: "contoso".into(),
            publisher_tenant: "fabrikam".into(),
            resource_group: "mrg-crm".into(),
            policy: JitPolicy {
                enabled: true,
                mode: ApprovalMode::ManualApprove,
                max_duration: Span::from_hours(4),
                approvers: vec!["alice@contoso.com".into()],
                request_timeout: Span::from_hours(2),
            },
            deployed_by: "alice@contoso.com".into(),
            deployed_at: at(3),
        };
        let text = serde_json::to_string(&App::new(&app, &[])).unwrap();
        let view: App = serde_json::from_str(&text).unwrap();
        assert_eq!(Application::from(view), app);
    }

    #[test]
    fn access_reads_back() {
        for status in [
            AccessStatus::Permanent,
            AccessStatus::Active { request: 3, until: at(4) },
            AccessStatus::None { why: "no grant".into() },
        ] {
            let check = AccessCheck { application: "crm".into(), user: "u".into(), access: (&status).into() };
            let text = serde_json::to_string(&check).unwrap();
            let back: AccessCheck = serde_json::from_str(&text).unwrap();
            assert_eq!(AccessStatus::from(back.access), status);
        }
    }
}
