//! Users, applications and requests as schemas 1 to 5 stored them, before object ids, resource
//! ids, approver groups, several approvals, extensions and ARM names: only a migration reads
//! them, and each becomes today's record with the ids made from its names and nothing else added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::*;

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    upn: String,
    display_name: String,
    tenant: String,
    admin: bool,
    login: Option<String>,
}

impl From<User> for crate::domain::User {
    fn from(u: User) -> Self {
        let object_id = arm_ids::user_guid(&u.upn);
        crate::domain::User {
            upn: u.upn,
            display_name: u.display_name,
            tenant: u.tenant,
            admin: u.admin,
            login: u.login,
            object_id,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    enabled: bool,
    mode: ApprovalMode,
    max_duration: Period,
    approvers: Vec<String>,
    request_timeout: Period,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Application {
    name: String,
    offer: String,
    customer_tenant: String,
    publisher_tenant: String,
    resource_group: String,
    policy: Policy,
    deployed_by: String,
    #[serde(with = "crate::domain::stamp")]
    deployed_at: DateTime<Utc>,
}

impl From<Application> for crate::domain::Application {
    fn from(a: Application) -> Self {
        let resource_id = arm_ids::application_id(&a.customer_tenant, &a.name);
        let p = a.policy;
        crate::domain::Application {
            name: a.name,
            offer: a.offer,
            customer_tenant: a.customer_tenant,
            publisher_tenant: a.publisher_tenant,
            resource_group: a.resource_group,
            policy: JitPolicy {
                enabled: p.enabled,
                mode: p.mode,
                max_duration: p.max_duration,
                approvers: p.approvers,
                request_timeout: p.request_timeout,
                approver_groups: Vec::new(),
                approvals_required: JitPolicy::DEFAULT_APPROVALS_REQUIRED,
                max_extensions: 0,
            },
            deployed_by: a.deployed_by,
            deployed_at: a.deployed_at,
            resource_id,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Request {
    id: u64,
    app: String,
    requester: String,
    roles: Vec<String>,
    #[serde(with = "crate::domain::stamp")]
    start: DateTime<Utc>,
    duration: Period,
    justification: String,
    ticket: Option<String>,
    #[serde(with = "crate::domain::stamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::stamp")]
    decide_by: DateTime<Utc>,
    state: RequestState,
    decision: Option<Verdict>,
    #[serde(with = "crate::domain::stamp::option")]
    granted_from: Option<DateTime<Utc>>,
    closed: Option<Verdict>,
    started: bool,
}

impl Request {
    /// Where the migration's cursor stands.
    pub(super) fn id(&self) -> u64 {
        self.id
    }
}

impl From<Request> for AccessRequest {
    fn from(r: Request) -> Self {
        AccessRequest {
            id: r.id,
            app: r.app,
            requester: r.requester,
            roles: r.roles,
            start: r.start,
            duration: r.duration,
            justification: r.justification,
            ticket: r.ticket,
            created_at: r.created_at,
            decide_by: r.decide_by,
            state: r.state,
            decision: r.decision,
            granted_from: r.granted_from,
            closed: r.closed,
            started: r.started,
            approvals: Vec::new(),
            extensions: Vec::new(),
            arm: None,
            tags: Default::default(),
        }
    }
}

impl User {
    /// Where the migration's cursor stands.
    pub(super) fn upn(&self) -> &str {
        &self.upn
    }
}

impl Application {
    /// Where the migration's cursor stands.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}
