//! The JSON shapes of jitdesk's resources, shared by the CLI's `--json` and (later) the service.
//! The ARM parts use ARM's names (`jitAccessPolicy`, `jitRequestState`, ...), so scripts written
//! against Azure's REST API read them without translation.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::rules::AccessStatus;
use crate::domain::*;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approver {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub display_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JitAccessPolicy {
    pub jit_access_enabled: bool,
    pub jit_approval_mode: Option<ApprovalMode>,
    pub maximum_jit_access_duration: Option<Span>,
    pub jit_approvers: Vec<Approver>,
    pub request_timeout: Option<Span>,
}

#[derive(Serialize)]
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
                kind: "user",
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingPolicy {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub duration: Span,
    pub start_time: DateTime<Utc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    pub principal_id: String,
    pub role_definition_id: String,
}

#[derive(Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
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
                kind: "Once",
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
            history: None,
        }
    }
}

#[derive(Serialize)]
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
