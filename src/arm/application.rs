//! A managed application as ARM shows it (`Microsoft.Solutions/applications`), with its
//! `jitAccessPolicy`. jitdesk's offers play the part of application definitions, so an
//! application is of kind `ServiceCatalog`, its definition named beside it.

use serde::{Deserialize, Serialize};

use super::state::ProvisioningState;
use super::{APPLICATION_TYPE, ClientDetails, Directory, place};
use crate::domain::{self, ApprovalMode, Period, arm_ids};

/// The role the publisher always keeps on an application with JIT access: read-only.
const STANDING_ROLE: &str = "Reader";

/// One entry of `jitApprovers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approver {
    /// The user's or group's object id.
    pub id: String,
    /// `user` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's or group's display name; the UPN or group id when the directory lacks it.
    pub display_name: String,
}

/// ARM's `jitAccessPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitAccessPolicy {
    /// Whether access goes through JIT requests; fixed at deployment.
    pub jit_access_enabled: bool,
    /// `AutoApprove` or `ManualApprove`; absent without JIT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit_approval_mode: Option<ApprovalMode>,
    /// Who decides requests: users, then groups.
    pub jit_approvers: Vec<Approver>,
    /// The longest access one request may ask for, in ISO 8601 (`PT8H`); absent without JIT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_jit_access_duration: Option<Period>,
}

/// One entry of `authorizations`: a role the publisher holds on the managed resource group at
/// all times, its principal being the publisher tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// The publisher tenant's GUID.
    pub principal_id: String,
    /// The role's definition id.
    pub role_definition_id: String,
}

/// A managed application resource. The fields ARM has and jitdesk does not keep (`managedBy`,
/// `plan`, `identity`, `sku`) are there, null, so ARM's clients find every field they expect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Its resource id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Always `Microsoft.Solutions/applications`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always null.
    pub managed_by: Option<String>,
    /// Always null: offers have no plans.
    pub plan: Option<serde_json::Value>,
    /// Always null: applications have no managed identity.
    pub identity: Option<serde_json::Value>,
    /// ARM's kind of application: `ServiceCatalog`.
    #[serde(rename = "kind")]
    pub application_kind: String,
    /// Always null.
    pub sku: Option<serde_json::Value>,
    /// What it was deployed from, where, and its JIT policy.
    pub properties: ApplicationProperties,
}

/// The `properties` of a managed application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationProperties {
    /// The offer it was deployed from, as an application definition beside it.
    pub application_definition_id: String,
    /// The managed resource group access is granted on.
    pub managed_resource_group_id: String,
    /// Always null.
    pub outputs: Option<serde_json::Value>,
    /// Always null.
    pub parameters: Option<serde_json::Value>,
    /// `Succeeded`: an application is there once deployed.
    pub provisioning_state: ProvisioningState,
    /// Always null.
    pub billing_details: Option<serde_json::Value>,
    /// Whether and how access goes through JIT requests.
    pub jit_access_policy: JitAccessPolicy,
    /// The GUID of the publisher tenant.
    pub publisher_tenant_id: String,
    /// The publisher's standing roles: read-only with JIT, the offer's roles without.
    pub authorizations: Vec<Authorization>,
    /// Always `Managed`.
    pub management_mode: String,
    /// Always null.
    pub customer_support: Option<serde_json::Value>,
    /// Always null.
    pub support_urls: Option<serde_json::Value>,
    /// Always empty.
    pub artifacts: Vec<serde_json::Value>,
    /// The customer admin who deployed it.
    pub created_by: ClientDetails,
    /// The same: changes of policy are in the audit log.
    pub updated_by: ClientDetails,
}

impl Application {
    /// The ARM view of an application, naming approvers and its offer's roles through `directory`.
    pub fn new(app: &domain::Application, directory: &Directory) -> Self {
        let p = &app.policy;
        let (subscription, resource_group) = place(&app.resource_id);
        let users = p.approvers.iter().map(|upn| Approver {
            id: directory.object_id(upn),
            kind: "user".to_string(),
            display_name: directory.user(upn).map_or_else(|| upn.clone(), |u| u.display_name.clone()),
        });
        let groups = p.approver_groups.iter().map(|id| {
            let group = directory.groups.iter().find(|g| g.id == *id);
            Approver {
                id: group.map_or_else(|| arm_ids::group_guid(id), |g| g.object_id.clone()),
                kind: "group".to_string(),
                display_name: group.map_or_else(|| id.clone(), |g| g.display_name.clone()),
            }
        });
        let standing: Vec<String> = if p.enabled {
            vec![STANDING_ROLE.to_string()]
        } else {
            directory.offers.iter().find(|o| o.id == app.offer).map(|o| o.roles.clone()).unwrap_or_default()
        };
        let publisher = arm_ids::tenant_guid(&app.publisher_tenant);
        let deployer = ClientDetails::of(&app.deployed_by, directory);
        Application {
            id: app.resource_id.clone(),
            name: app.name.clone(),
            kind: APPLICATION_TYPE.to_string(),
            managed_by: None,
            plan: None,
            identity: None,
            application_kind: "ServiceCatalog".to_string(),
            sku: None,
            properties: ApplicationProperties {
                application_definition_id: format!(
                    "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Solutions/applicationDefinitions/{}",
                    app.offer
                ),
                managed_resource_group_id: format!(
                    "/subscriptions/{subscription}/resourceGroups/{}",
                    app.resource_group
                ),
                outputs: None,
                parameters: None,
                provisioning_state: ProvisioningState::Succeeded,
                billing_details: None,
                jit_access_policy: JitAccessPolicy {
                    jit_access_enabled: p.enabled,
                    jit_approval_mode: p.enabled.then_some(p.mode),
                    jit_approvers: users.chain(groups).collect(),
                    maximum_jit_access_duration: p.enabled.then_some(p.max_duration),
                },
                authorizations: standing
                    .iter()
                    .map(|role| Authorization {
                        principal_id: publisher.clone(),
                        role_definition_id: arm_ids::role_definition_id(&app.offer, role),
                    })
                    .collect(),
                publisher_tenant_id: publisher,
                management_mode: "Managed".to_string(),
                customer_support: None,
                support_urls: None,
                artifacts: Vec::new(),
                created_by: deployer.clone(),
                updated_by: deployer,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::{Group, JitPolicy, Offer};

    fn app(enabled: bool) -> domain::Application {
        domain::Application {
            name: "crm".into(),
            offer: "fabrikam-crm".into(),
            customer_tenant: "contoso".into(),
            publisher_tenant: "fabrikam".into(),
            resource_group: "mrg-crm".into(),
            policy: JitPolicy {
                enabled,
                mode: ApprovalMode::ManualApprove,
                max_duration: Period::from_hours(4),
                approvers: vec!["gone@contoso.com".into()],
                request_timeout: Period::from_hours(24),
                approver_groups: vec!["ops".into(), "unknown".into()],
                approvals_required: 1,
                max_extensions: 0,
            },
            deployed_by: "alice@contoso.com".into(),
            deployed_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            resource_id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Solutions/applications/crm"
                .into(),
        }
    }

    fn directory() -> Directory {
        Directory {
            groups: vec![Group {
                id: "ops".into(),
                display_name: "Operations".into(),
                tenant: "contoso".into(),
                object_id: "22222222-2222-2222-2222-222222222222".into(),
            }],
            offers: vec![Offer {
                id: "fabrikam-crm".into(),
                name: "CRM".into(),
                publisher_tenant: "fabrikam".into(),
                published_by: "dave@fabrikam.com".into(),
                jit_available: true,
                roles: vec!["Owner".into(), "Operator".into()],
            }],
            ..Directory::default()
        }
    }

    #[test]
    fn approvers_are_named_by_object_id_users_first_then_groups() {
        let doc = serde_json::to_value(Application::new(&app(true), &directory())).unwrap();
        let policy = &doc["properties"]["jitAccessPolicy"];
        assert_eq!(policy["jitApprovalMode"], "ManualApprove");
        assert_eq!(policy["maximumJitAccessDuration"], "PT4H");
        let approvers = policy["jitApprovers"].as_array().unwrap();
        // A user the directory no longer holds keeps the id made from the UPN, and the UPN as name.
        assert_eq!(approvers[0]["id"], arm_ids::user_guid("gone@contoso.com"));
        assert_eq!(
            (approvers[0]["type"].as_str(), approvers[0]["displayName"].as_str()),
            (Some("user"), Some("gone@contoso.com"))
        );
        assert_eq!(approvers[1]["id"], "22222222-2222-2222-2222-222222222222");
        assert_eq!(
            (approvers[1]["type"].as_str(), approvers[1]["displayName"].as_str()),
            (Some("group"), Some("Operations"))
        );
        assert_eq!(approvers[2]["id"], arm_ids::group_guid("unknown"));
        assert_eq!(doc["properties"]["managedResourceGroupId"], "/subscriptions/s/resourceGroups/mrg-crm");
        assert_eq!(
            doc["properties"]["applicationDefinitionId"],
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Solutions/applicationDefinitions/fabrikam-crm"
        );
        // With JIT, the publisher keeps read-only access.
        let standing = &doc["properties"]["authorizations"];
        assert_eq!(standing.as_array().unwrap().len(), 1);
        assert_eq!(standing[0]["roleDefinitionId"], "acdd72a7-3385-48ef-bd42-f606fba81ae7");
        assert_eq!(standing[0]["principalId"], arm_ids::tenant_guid("fabrikam"));
    }

    #[test]
    fn without_jit_the_publisher_holds_the_offers_roles_and_the_policy_has_no_mode() {
        let doc = serde_json::to_value(Application::new(&app(false), &directory())).unwrap();
        let policy = &doc["properties"]["jitAccessPolicy"];
        assert_eq!(policy["jitAccessEnabled"], false);
        assert!(policy.get("jitApprovalMode").is_none() && policy.get("maximumJitAccessDuration").is_none());
        let roles: Vec<&str> = doc["properties"]["authorizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["roleDefinitionId"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            [
                arm_ids::role_definition_id("x", "Owner"),
                arm_ids::role_definition_id("fabrikam-crm", "Operator")
            ]
        );
        for null in ["managedBy", "plan", "identity", "sku"] {
            assert!(doc[null].is_null(), "{null}");
        }
        assert_eq!(doc["kind"], "ServiceCatalog");
        assert_eq!(doc["type"], "Microsoft.Solutions/applications");
    }
}
