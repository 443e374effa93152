//! The GUIDs and resource ids ARM documents name things by. jitdesk keys its records by names
//! people choose (a UPN, an application's name, a role as the offer spells it); ARM names them by
//! object ids, resource ids and role definition ids. Those not given are made here from the names,
//! as name-based (version 5) UUIDs in a namespace of jitdesk's own, so the same directory always
//! gets the same ids, on every machine and after every migration.

use uuid::Uuid;

/// jitdesk's namespace for name-based UUIDs; never changes, or every made id would.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1d_7e5c_2b4f_4c1e_9d3a_8f05_b7e2_c4a9);

/// Azure's built-in role definitions, by the role names offers spell them with.
const BUILT_IN_ROLES: [(&str, &str); 3] = [
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
];

fn made(kind: &str, name: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{name}").as_bytes()).to_string()
}

/// The object id a user gets when none is given: made from the (lower-case) UPN.
pub fn user_guid(upn: &str) -> String {
    made("user", upn)
}

/// The object id a group gets when none is given: made from its id.
pub fn group_guid(id: &str) -> String {
    made("group", id)
}

/// The GUID ARM names a tenant by (`publisherTenantId`), made from its id.
pub fn tenant_guid(tenant: &str) -> String {
    made("tenant", tenant)
}

/// The role definition id of a role an offer names: Azure's own for Owner, Contributor and
/// Reader (whatever the case of the name), the role itself for one the offer names by its
/// definition id (a GUID), else one made from the offer and the role.
pub fn role_definition_id(offer: &str, role: &str) -> String {
    BUILT_IN_ROLES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role))
        .map(|(_, id)| id.to_string())
        .or_else(|| parse_guid(role))
        .unwrap_or_else(|| made("role", &format!("{offer}/{role}")))
}

/// The ARM resource id an application gets when none is given at deployment: in a subscription
/// made from its customer tenant, in the resource group `rg-{name}`.
pub fn application_id(customer_tenant: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-{name}/providers/Microsoft.Solutions/applications/{name}",
        made("subscription", customer_tenant)
    )
}

/// The application id ARM documents give jitdesk as the client that made or changed a resource
/// (`createdBy.applicationId`).
pub fn client_application_id() -> String {
    made("client", "jitdesk")
}

/// The ARM name of a request made other than through ARM's API.
pub fn request_name(id: u64) -> String {
    format!("jit-{id}")
}

/// The id of the request `jit-{id}` names, for a name `request_name` made.
pub fn request_id(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("jit-")?;
    // Only the form `request_name` writes: no sign, no leading zero.
    let canonical = !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    canonical.then(|| digits.parse().ok()).flatten()
}

/// A GUID in its canonical lower-case form, or None for text that is not one.
pub fn parse_guid(text: &str) -> Option<String> {
    Uuid::try_parse(text.trim()).ok().map(|u| u.to_string())
}

/// The parts of an application's ARM resource id (subscription, resource group, name), checked
/// for shape; None for anything else. Segment names match whatever their case, as ARM's do.
pub fn parse_application_id(id: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = id.trim().trim_start_matches('/').split('/').collect();
    let [subs, sub, rgs, rg, providers, namespace, kind, name] = parts.as_slice() else { return None };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let shaped = is(subs, "subscriptions")
        && is(rgs, "resourceGroups")
        && is(providers, "providers")
        && is(namespace, "Microsoft.Solutions")
        && is(kind, "applications")
        && [sub, rg, name].iter().all(|p| !p.is_empty());
    shaped.then(|| (sub.to_string(), rg.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_are_stable_distinct_and_canonical() {
        assert_eq!(user_guid("a@x.com"), user_guid("a@x.com"));
        assert_ne!(user_guid("a@x.com"), user_guid("b@x.com"));
        assert_ne!(user_guid("g"), group_guid("g"), "a user and a group of one name differ");
        let id = user_guid("a@x.com");
        assert_eq!(parse_guid(&id.to_uppercase()), Some(id));
        for made in [group_guid, tenant_guid] {
            let id = made("g");
            assert_eq!(parse_guid(&id), Some(id.clone()), "a canonical GUID");
            assert_eq!(made("g"), id, "the same name, the same id");
            assert_ne!(made("h"), id, "another name, another id");
        }
        assert_ne!(group_guid("g"), tenant_guid("g"), "a group and a tenant of one name differ");
    }

    #[test]
    fn built_in_roles_keep_azures_ids_and_others_are_per_offer() {
        assert_eq!(role_definition_id("o", "owner"), "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
        assert_eq!(role_definition_id("o", "Reader"), "acdd72a7-3385-48ef-bd42-f606fba81ae7");
        assert_ne!(role_definition_id("o1", "Operator"), role_definition_id("o2", "Operator"));
        assert!(parse_guid(&role_definition_id("o1", "Operator")).is_some());
        let custom = "ECD05A23-931A-4C38-A52B-AC7C4C583334";
        assert_eq!(role_definition_id("o1", custom), custom.to_lowercase());
    }

    #[test]
    fn application_ids_parse_back_and_other_shapes_do_not() {
        let id = application_id("contoso", "crm");
        let (sub, rg, name) = parse_application_id(&id.to_uppercase()).unwrap();
        assert_eq!((rg.as_str(), name.as_str()), ("RG-CRM", "CRM"));
        assert!(parse_guid(&sub).is_some());
        assert_eq!(
            parse_application_id("/subscriptions/s/resourceGroups/r/providers/X.Y/applications/n"),
            None
        );
        assert_eq!(
            parse_application_id(
                "/subscriptions//resourceGroups/r/providers/Microsoft.Solutions/applications/n"
            ),
            None
        );
        assert_eq!(parse_application_id("crm"), None);
    }

    #[test]
    fn made_request_names_read_back_and_others_do_not() {
        assert_eq!(request_id(&request_name(42)), Some(42));
        for name in ["jit-", "jit-042", "jit-+4", "jit-4x", "myJitRequest", "jit-99999999999999999999"] {
            assert_eq!(request_id(name), None, "{name}");
        }
    }
}
