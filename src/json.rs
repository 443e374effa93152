//! The JSON shapes of jitdesk's resources, shared by the CLI's `--json` and the service's API
//! (docs/api.md). The ARM parts use ARM's names (`jitAccessPolicy`, `jitRequestState`, ...), so
//! scripts written against Azure's REST API read them without translation. Every view reads back
//! (`Deserialize`), and the ones a client turns into domain values convert back (`App` ->
//! `Application`, `Request` -> `AccessRequest`, `Access` -> `AccessStatus`).

mod delivery;
mod group;

pub use delivery::{Channel, Contact, Delivery, State as DeliveryState, Target};
pub use group::GroupMembers;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::rules::AccessStatus;
use crate::domain::*;

/// The `type` of an approver that is a directory group.
const GROUP: &str = "group";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// One entry of ARM's `jitApprovers`: a customer-tenant user, or group, who may decide requests.
pub struct Approver {
    /// The approver's UPN, as kept in the application's policy.
    pub id: String,
    /// ARM's `type`: `user`, or `group` for a directory group (whose `id` is then the group's id).
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's or group's display name, or its UPN or id when the directory does not know it.
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// ARM's `jitAccessPolicy` of an application; mode, maximum and timeout are absent while JIT is off.
pub struct JitAccessPolicy {
    /// Whether access goes through JIT requests; fixed at deployment.
    pub jit_access_enabled: bool,
    /// Whether requests wait for an approver or are approved at once; absent without JIT.
    pub jit_approval_mode: Option<ApprovalMode>,
    /// The longest access a request may ask for; absent without JIT.
    pub maximum_jit_access_duration: Option<Period>,
    /// Who may decide requests, in the policy's order.
    pub jit_approvers: Vec<Approver>,
    /// How long a request may wait for a decision before it times out; absent without JIT; not an ARM field.
    pub request_timeout: Option<Period>,
    /// How many different approvers must approve; not an ARM field.
    #[serde(default = "one")]
    pub approvals_required: u32,
    /// How many extensions a grant may have beyond the maximum; not an ARM field.
    #[serde(default)]
    pub max_extensions: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// A managed application as `app show` and `GET /v1/apps/{name}` present it.
pub struct App {
    /// The application's unique name, as ARM's `applications/{name}`.
    pub name: String,
    /// The name of the offer it was deployed from.
    pub offer: String,
    /// The tenant that deployed it and whose approvers decide its requests.
    pub customer_tenant: String,
    /// The offer's tenant, whose users request access.
    pub publisher_tenant: String,
    /// The managed resource group in the customer's subscription, which access grants roles on.
    pub managed_resource_group: String,
    /// The UPN of the customer tenant's administrator who deployed it.
    pub deployed_by: String,
    /// When it was deployed, in UTC.
    pub deployed_at: DateTime<Utc>,
    /// Its ARM resource id.
    pub resource_id: String,
    /// Whether and how access to it goes through JIT requests.
    pub jit_access_policy: JitAccessPolicy,
}

impl App {
    /// `users` and `groups` supply approvers' display names; an approver missing from them shows
    /// its UPN or id.
    pub fn new(app: &Application, users: &[User], groups: &[Group]) -> Self {
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
            .chain(
                p.approver_groups.iter().map(|id| Approver {
                    id: id.clone(),
                    kind: GROUP.to_string(),
                    display_name: groups
                        .iter()
                        .find(|g| g.id == *id)
                        .map_or_else(|| id.clone(), |g| g.display_name.clone()),
                }),
            )
            .collect();
        App {
            name: app.name.clone(),
            offer: app.offer.clone(),
            customer_tenant: app.customer_tenant.clone(),
            publisher_tenant: app.publisher_tenant.clone(),
            managed_resource_group: app.resource_group.clone(),
            deployed_by: app.deployed_by.clone(),
            deployed_at: app.deployed_at,
            resource_id: app.resource_id.clone(),
            jit_access_policy: JitAccessPolicy {
                jit_access_enabled: p.enabled,
                jit_approval_mode: p.enabled.then_some(p.mode),
                maximum_jit_access_duration: p.enabled.then_some(p.max_duration),
                jit_approvers: approvers,
                request_timeout: p.enabled.then_some(p.request_timeout),
                approvals_required: p.approvals_required,
                max_extensions: p.max_extensions,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// ARM's `jitSchedulingPolicy`: when a request's access starts and how long it lasts.
pub struct SchedulingPolicy {
    /// ARM's `type`: always `Once`, since jitdesk has no recurring access.
    #[serde(rename = "type")]
    pub kind: String,
    /// How long the access lasts once it starts.
    pub duration: Period,
    /// The start the requester asked for, in UTC.
    pub start_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// One entry of ARM's `jitAuthorizationPolicies`: a role a request asks for, for its requester.
pub struct AuthorizationPolicy {
    /// The requester's UPN.
    pub principal_id: String,
    /// The role's name (`Owner`, `Reader`, ...).
    pub role_definition_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// A JIT access request as `request show` and `GET /v1/requests/{id}` present it.
pub struct Request {
    /// The request's number, unique in the store and never reused.
    pub id: u64,
    /// The name of the application the request is for.
    pub application: String,
    /// The UPN of the publisher-tenant user who asked.
    pub requester: String,
    /// Where the request stands: ARM's states plus `Revoked`.
    pub jit_request_state: RequestState,
    /// The start and duration asked for.
    pub jit_scheduling_policy: SchedulingPolicy,
    /// The roles asked for, one entry each.
    pub jit_authorization_policies: Vec<AuthorizationPolicy>,
    /// The requester's reason, as typed.
    pub justification: String,
    /// The ticket reference given with the request, if any.
    pub ticket: Option<String>,
    /// When the request was made, in UTC.
    pub created_at: DateTime<Utc>,
    /// Past this, an undecided request times out.
    pub decide_by: DateTime<Utc>,
    /// Who approved or denied it, when and why; absent while undecided.
    pub decision: Option<Verdict>,
    /// Where access starts (the asked start, or the approval if later); absent until approved.
    pub granted_from: Option<DateTime<Utc>>,
    /// Where access ends (`grantedFrom` plus the duration); absent until approved.
    pub end_time: Option<DateTime<Utc>>,
    /// How it left Pending or Approved other than by a decision (cancel, timeout, expiry, revocation).
    pub closed: Option<Verdict>,
    /// Whether the start of the access window has been announced (`access.start`); not an ARM field.
    #[serde(default)]
    pub started: bool,
    /// The approvals given so far, when the policy asks for more than one; not an ARM field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Verdict>,
    /// How many different approvers its application's policy requires now, while it is pending
    /// where approvers decide (absent otherwise); derived, not stored; not an ARM field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals_required: Option<u32>,
    /// Every extension asked for, in order; not an ARM field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// The ARM name it was made under through ARM's API, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_name: Option<ArmName>,
    /// ARM's tags.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// The request's audit records, oldest first; present only on a single request's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AuditRecord>>,
}

impl Request {
    /// The views of requests, each with how many approvals its application (among `apps`) requires.
    pub fn all_needing(requests: &[AccessRequest], apps: &[Application]) -> Vec<Request> {
        requests.iter().map(|r| Request::new(r).needing(apps.iter().find(|a| a.name == r.app))).collect()
    }

    /// The view with how many approvals its application requires, while it waits for them
    /// there: pending, where approvers decide.
    pub fn needing(self, app: Option<&Application>) -> Request {
        let approvals_required = app
            .map(|a| &a.policy)
            .filter(|p| p.enabled && p.mode == ApprovalMode::ManualApprove)
            .filter(|_| self.jit_request_state == RequestState::Pending)
            .map(|p| p.approvals_required);
        Request { approvals_required, ..self }
    }

    /// The view of a domain request, without its history (the caller adds it when it shows one request).
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
            approvals: r.approvals.clone(),
            approvals_required: None,
            extensions: r.extensions.clone(),
            arm_name: r.arm.clone(),
            tags: r.tags.clone(),
            history: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "access")]
/// Whether a user has access to an application now, tagged by `access` on the wire.
pub enum Access {
    /// The application has no JIT: its publisher's users always have access.
    Permanent,
    /// An approved request grants access now.
    Active {
        /// The number of the request that grants it.
        request: u64,
        /// When the access ends, in UTC.
        until: DateTime<Utc>,
    },
    /// No access now.
    None {
        /// One line that says why, for the user to read.
        why: String,
    },
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
                approvers: p.jit_approvers.iter().filter(|a| a.kind != GROUP).map(|a| a.id.clone()).collect(),
                request_timeout: p.request_timeout.unwrap_or(JitPolicy::DEFAULT_REQUEST_TIMEOUT),
                approver_groups: p
                    .jit_approvers
                    .into_iter()
                    .filter(|a| a.kind == GROUP)
                    .map(|a| a.id)
                    .collect(),
                approvals_required: p.approvals_required,
                max_extensions: p.max_extensions,
            },
            deployed_by: app.deployed_by,
            deployed_at: app.deployed_at,
            resource_id: app.resource_id,
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
            approvals: r.approvals,
            extensions: r.extensions,
            arm: r.arm_name,
            tags: r.tags,
        }
    }
}

/// The answer to "does this user have access to this application now?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    /// The name of the application asked about.
    pub application: String,
    /// The UPN of the user asked about.
    pub user: String,
    /// The answer, flattened into this object.
    #[serde(flatten)]
    pub access: Access,
}

/// One engine event: the audit record of a committed change and the users it notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Committed {
    /// The change as the audit log keeps it.
    pub record: AuditRecord,
    /// The UPNs of the users the change notified; on the event stream only the subscriber, or all for the operator.
    pub notified: Vec<String>,
}

impl From<&crate::engine::Committed> for Committed {
    fn from(e: &crate::engine::Committed) -> Self {
        Committed { record: e.record.clone(), notified: e.notified.clone() }
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
            duration: Period::from_hours(2),
            justification: "INC-1: stuck".into(),
            ticket: Some("INC-1".into()),
            created_at: at(1),
            decide_by: at(9),
            state: RequestState::Approved,
            decision: Some(Verdict { by: "alice@contoso.com".into(), at: at(1), reason: "ok".into() }),
            granted_from: Some(at(2)),
            closed: None,
            started: true,
            approvals: Vec::new(),
            extensions: Vec::new(),
            arm: None,
            tags: Default::default(),
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
                max_duration: Period::from_hours(4),
                approvers: vec!["alice@contoso.com".into()],
                request_timeout: Period::from_hours(2),
                approvals_required: 1,
                approver_groups: Vec::new(),
                max_extensions: 0,
            },
            deployed_by: "alice@contoso.com".into(),
            deployed_at: at(3),
            resource_id: String::new(),
        };
        let text = serde_json::to_string(&App::new(&app, &[], &[])).unwrap();
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
