//! A JIT request as ARM shows it (`Microsoft.Solutions/jitRequests`), and the bodies ARM's PUT
//! and PATCH of one send.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::{ProvisioningState, State, provisioning_state, state};
use super::{ClientDetails, Directory, JIT_REQUEST_TYPE, location, request_resource_id};
use crate::domain::arm_ids;
use crate::domain::{AccessRequest, Application, RequestState};
use crate::json::SchedulingPolicy;

/// ARM's tags of a resource: names to values.
pub type Tags = BTreeMap<String, String>;

/// One entry of `jitAuthorizationPolicies`: a role asked for, for a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationPolicy {
    /// The requester's object id.
    pub principal_id: String,
    /// The role's definition id (`arm_ids::role_definition_id`).
    pub role_definition_id: String,
}

/// A JIT request resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitRequest {
    /// Its resource id: `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Solutions/jitRequests/{name}`.
    pub id: String,
    /// Its name: the one it was created under through ARM's API, else `jit-{number}`.
    pub name: String,
    /// Always `Microsoft.Solutions/jitRequests`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its tags, as ARM's PATCH set them; absent when it has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// What it asks for and where it stands.
    pub properties: JitRequestProperties,
}

/// The `properties` of a JIT request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitRequestProperties {
    /// The resource id of the application access is asked to.
    pub application_resource_id: String,
    /// The GUID of the application's publisher tenant.
    pub publisher_tenant_id: String,
    /// The roles asked for, one entry each, for the requester.
    pub jit_authorization_policies: Vec<AuthorizationPolicy>,
    /// The start and duration asked for.
    pub jit_scheduling_policy: SchedulingPolicy,
    /// `Accepted` while pending, `Succeeded` after.
    pub provisioning_state: ProvisioningState,
    /// Its state in ARM's enum (`Revoked` reads `Expired`).
    pub jit_request_state: State,
    /// The requester.
    pub created_by: ClientDetails,
    /// Whoever changed its state last (the requester until then; the engine's own changes name
    /// no person).
    pub updated_by: ClientDetails,
    /// jitdesk's exact state, `Revoked` included; not an ARM field.
    pub jitdesk_state: RequestState,
    /// jitdesk's number for it, as the CLI names it; not an ARM field.
    pub jitdesk_id: u64,
}

impl JitRequest {
    /// The ARM view of a request on `app`, naming people by the ids in `directory`.
    pub fn new(request: &AccessRequest, app: &Application, directory: &Directory) -> Self {
        let place = location(request, &app.resource_id);
        let principal = directory.object_id(&request.requester);
        let last = [&request.decision, &request.closed].into_iter().flatten().max_by_key(|v| v.at);
        JitRequest {
            id: request_resource_id(&place),
            name: place.name,
            kind: JIT_REQUEST_TYPE.to_string(),
            tags: request.tags.clone(),
            properties: JitRequestProperties {
                application_resource_id: app.resource_id.clone(),
                publisher_tenant_id: arm_ids::tenant_guid(&app.publisher_tenant),
                jit_authorization_policies: request
                    .roles
                    .iter()
                    .map(|role| AuthorizationPolicy {
                        principal_id: principal.clone(),
                        role_definition_id: arm_ids::role_definition_id(&app.offer, role),
                    })
                    .collect(),
                jit_scheduling_policy: SchedulingPolicy {
                    kind: "Once".to_string(),
                    duration: request.duration,
                    start_time: request.start,
                },
                provisioning_state: provisioning_state(request.state),
                jit_request_state: state(request.state),
                created_by: ClientDetails::of(&request.requester, directory),
                updated_by: ClientDetails::of(last.map_or(&request.requester, |v| &v.by), directory),
                jitdesk_state: request.state,
                jitdesk_id: request.id,
            },
        }
    }
}

/// The body of ARM's PUT of a JIT request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitRequestBody {
    /// What is asked for.
    pub properties: JitRequestInput,
    /// Tags to give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// The `properties` a PUT gives; the rest of a JIT request's properties are the service's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JitRequestInput {
    /// The application's resource id.
    pub application_resource_id: String,
    /// The roles asked for, each for the caller's own object id.
    pub jit_authorization_policies: Vec<AuthorizationPolicy>,
    /// `Once`, with a duration and a start.
    pub jit_scheduling_policy: SchedulingPolicy,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::{ApprovalMode, JitPolicy, Period, User, Verdict};

    fn app() -> Application {
        Application {
            name: "a".into(),
            offer: "o".into(),
            customer_tenant: "contoso".into(),
            publisher_tenant: "fabrikam".into(),
            resource_group: "mrg-a".into(),
            policy: JitPolicy {
                enabled: true,
                mode: ApprovalMode::ManualApprove,
                max_duration: Period::from_hours(8),
                approvers: vec!["a@x.com".into()],
                request_timeout: Period::from_hours(24),
                approver_groups: Vec::new(),
                approvals_required: 1,
                max_extensions: 0,
            },
            deployed_by: "a@x.com".into(),
            deployed_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            resource_id: "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Solutions/applications/a"
                .into(),
        }
    }

    fn user(upn: &str, object_id: &str) -> User {
        User {
            upn: upn.into(),
            display_name: upn.into(),
            tenant: "t".into(),
            admin: false,
            login: None,
            object_id: object_id.into(),
        }
    }

    #[test]
    fn a_request_made_elsewhere_lives_beside_its_application_as_jit_n() {
        let directory = Directory {
            users: vec![user("p@x.com", "11111111-1111-1111-1111-111111111111")],
            ..Directory::default()
        };
        let view = JitRequest::new(&request(RequestState::Approved, None), &app(), &directory);
        let doc = serde_json::to_value(&view).unwrap();
        assert_eq!(
            doc["id"],
            "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Solutions/jitRequests/jit-1"
        );
        assert_eq!(doc["name"], "jit-1");
        assert_eq!(doc["type"], "Microsoft.Solutions/jitRequests");
        assert!(doc.get("tags").is_none(), "no tags, no field");
        let p = &doc["properties"];
        assert_eq!(p["jitAuthorizationPolicies"][0]["principalId"], "11111111-1111-1111-1111-111111111111");
        assert_eq!(
            p["jitAuthorizationPolicies"][0]["roleDefinitionId"],
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
        );
        assert_eq!(p["jitSchedulingPolicy"]["duration"], "PT2H");
        assert_eq!(p["jitSchedulingPolicy"]["type"], "Once");
        assert_eq!(p["publisherTenantId"], arm_ids::tenant_guid("fabrikam"));
        assert_eq!(p["createdBy"]["oid"], "11111111-1111-1111-1111-111111111111");
        // Decided by a@x.com, whom the directory does not hold: the id made from the UPN.
        assert_eq!(p["updatedBy"]["oid"], arm_ids::user_guid("a@x.com"));
        assert_eq!(p["createdBy"]["applicationId"], arm_ids::client_application_id());
        assert_eq!(
            (p["jitRequestState"].as_str(), p["provisioningState"].as_str()),
            (Some("Approved"), Some("Succeeded"))
        );
    }

    #[test]
    fn a_revoked_request_reads_expired_and_keeps_its_exact_state() {
        let mut revoked = request(RequestState::Revoked, None);
        revoked.arm = Some(crate::domain::ArmName {
            subscription: "sub".into(),
            resource_group: "rg".into(),
            name: "mine".into(),
        });
        let at = revoked.created_at + chrono::TimeDelta::hours(1);
        revoked.closed = Some(Verdict { by: crate::domain::SYSTEM.into(), at, reason: "r".into() });
        let doc = serde_json::to_value(JitRequest::new(&revoked, &app(), &Directory::default())).unwrap();
        assert_eq!(
            doc["id"],
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Solutions/jitRequests/mine"
        );
        assert_eq!(doc["properties"]["jitRequestState"], "Expired");
        assert_eq!(doc["properties"]["jitdeskState"], "Revoked");
        assert_eq!(doc["properties"]["updatedBy"]["oid"], "", "the engine's own change names no person");
    }

    #[test]
    fn a_put_body_with_anything_unknown_is_refused() {
        let body = serde_json::json!({"properties": {
            "applicationResourceId": "x",
            "jitAuthorizationPolicies": [],
            "jitSchedulingPolicy": {"type": "Once", "duration": "PT8H", "startTime": "2021-04-22T05:48:30.6661804Z"},
            "provisioningState": "Succeeded"
        }});
        assert!(serde_json::from_value::<JitRequestBody>(body).is_err());
    }
}
