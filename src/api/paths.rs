//! Where the API is: the socket beside a store, and the path of each route on it. The service's
//! router is built from the patterns below and the client fills them in (the functions below), so
//! both always name the same routes.

use std::path::{Path, PathBuf};

/// `GET`: whether a service answers and which store it serves; no identity needed.
pub const HEALTH: &str = "/v1/health";
/// `GET`: who the service takes the caller to be.
pub const ME: &str = "/v1/me";
/// `GET` lists the directory's tenants; `POST` adds one (operator).
pub const TENANTS: &str = "/v1/tenants";
/// `GET` one tenant with its counts, as far as the caller sees it; `PATCH` changes a customer
/// tenant's licence (its admins or the operator).
pub const TENANT: &str = "/v1/tenants/{id}";
/// `GET` lists, or searches, the directory users the caller may list (`search`, `tenant`); `POST`
/// adds one (operator).
pub const USERS: &str = "/v1/users";
/// `GET`: the users whose names the caller's screens show (their own tenant's and those of the
/// tenants it has applications with).
pub const PEOPLE: &str = "/v1/people";
/// `GET` lists offers; `POST` publishes one (publisher-tenant user).
pub const OFFERS: &str = "/v1/offers";
/// `GET` lists the applications the caller may see; `POST` deploys one (customer admin).
pub const APPLICATIONS: &str = "/v1/applications";
/// `GET` one application; `PATCH` changes its JIT policy (customer admin).
pub const APPLICATION: &str = "/v1/applications/{name}";
/// `GET` lists requests, filtered by the query; `POST` makes one (publisher-tenant user).
pub const REQUESTS: &str = "/v1/requests";
/// `GET` one request, with its history.
pub const REQUEST: &str = "/v1/requests/{id}";
/// `POST`: an approver approves a pending request, with a reason.
pub const APPROVE: &str = "/v1/requests/{id}/approve";
/// `POST`: an approver denies a pending request, with a reason.
pub const DENY: &str = "/v1/requests/{id}/deny";
/// `POST`: the requester withdraws a request that is still pending.
pub const CANCEL: &str = "/v1/requests/{id}/cancel";
/// `POST`: the requester of approved access that has not ended asks for more time.
pub const EXTEND: &str = "/v1/requests/{id}/extend";
/// `POST`: an approver approves the extension a grant's requester asked for, with a reason.
pub const EXTENSION_APPROVE: &str = "/v1/requests/{id}/extension/approve";
/// `POST`: an approver denies the extension a grant's requester asked for, with a reason.
pub const EXTENSION_DENY: &str = "/v1/requests/{id}/extension/deny";
/// `GET`: approved grants not yet ended (active or scheduled) that the caller may see.
pub const ACCESS: &str = "/v1/access";
/// `GET`: whether a user (the caller unless named) has access to an application now.
pub const ACCESS_CHECK: &str = "/v1/access/check";
/// `POST`: a customer admin or approver ends a grant early, with a reason.
pub const REVOKE: &str = "/v1/access/{id}/revoke";
/// `GET`: the caller's notifications, with the newest seen id in a header.
pub const NOTIFICATIONS: &str = "/v1/notifications";
/// `POST`: marks the caller's notifications as seen up to an id.
pub const SEEN: &str = "/v1/notifications/seen";
/// `GET`: the audit records the caller may see, newest first.
pub const AUDIT: &str = "/v1/audit";
/// `GET`: a server-sent event stream of what is committed from now on.
pub const EVENTS: &str = "/v1/events";
/// `GET`: a consistent copy of the whole store as a redb file (operator).
pub const BACKUP: &str = "/v1/backup";
/// `GET`: the requests (`requests`) or audit records (`audit`) of a window the caller may see,
/// streamed as JSON lines or CSV.
pub const EXPORT: &str = "/v1/export/{what}";

/// `GET` lists a user's SSH keys; `POST` adds one (the user or the operator).
pub const USER_KEYS: &str = "/v1/users/{upn}/keys";
/// `DELETE` removes one of a user's SSH keys, by fingerprint (the user or the operator).
pub const USER_KEY: &str = "/v1/users/{upn}/keys/{fingerprint}";
/// `GET` lists a tenant's trusted SSH CAs; `POST` adds one (its admins or the operator).
pub const TENANT_CAS: &str = "/v1/tenants/{id}/cas";
/// `DELETE` takes a tenant's trust from an SSH CA, by fingerprint (its admins or the operator).
pub const TENANT_CA: &str = "/v1/tenants/{id}/cas/{fingerprint}";
/// `GET` lists the API tokens the caller may see; `POST` makes one and answers its secret once.
pub const TOKENS: &str = "/v1/tokens";
/// `POST` revokes an API token (its owner or the operator).
pub const TOKEN_REVOKE: &str = "/v1/tokens/{id}/revoke";

/// `GET` lists a tenant's notice channels; `POST` adds one (its admins or the operator).
pub const CHANNELS: &str = "/v1/tenants/{id}/channels";
/// `DELETE` removes one of a tenant's notice channels, by id (its admins or the operator).
pub const CHANNEL: &str = "/v1/tenants/{id}/channels/{channel}";
/// `GET` shows how a user is reached; `PUT` changes it (the user, their tenant's admins, the operator).
pub const CONTACT: &str = "/v1/users/{upn}/contact";
/// `GET`: the deliveries of notices the caller may see, newest first.
pub const DELIVERIES: &str = "/v1/deliveries";

/// `GET` lists the directory groups the caller may see; `POST` adds one (a tenant admin or the operator).
pub const GROUPS: &str = "/v1/groups";
/// `GET` one group with a page of its members.
pub const GROUP: &str = "/v1/groups/{id}";
/// `POST` makes users members of a group (a tenant admin or the operator).
pub const GROUP_MEMBERS: &str = "/v1/groups/{id}/members";
/// `DELETE` takes a user out of a group (a tenant admin or the operator).
pub const GROUP_MEMBER: &str = "/v1/groups/{id}/members/{upn}";

/// Every route, for whoever needs them all (the router's tests, the document's).
pub const ALL: [&str; 40] = [
    HEALTH,
    ME,
    TENANTS,
    TENANT,
    USERS,
    PEOPLE,
    OFFERS,
    APPLICATIONS,
    APPLICATION,
    REQUESTS,
    REQUEST,
    APPROVE,
    DENY,
    CANCEL,
    EXTEND,
    EXTENSION_APPROVE,
    EXTENSION_DENY,
    ACCESS,
    ACCESS_CHECK,
    REVOKE,
    NOTIFICATIONS,
    SEEN,
    AUDIT,
    EVENTS,
    BACKUP,
    EXPORT,
    USER_KEYS,
    USER_KEY,
    TENANT_CAS,
    TENANT_CA,
    TOKENS,
    TOKEN_REVOKE,
    CHANNELS,
    CHANNEL,
    CONTACT,
    DELIVERIES,
    GROUPS,
    GROUP,
    GROUP_MEMBERS,
    GROUP_MEMBER,
];

/// Where the sockets of services for PostgreSQL stores are by default: the user's runtime folder
/// (`XDG_RUNTIME_DIR`), else the system's temporary folder.
pub fn runtime_dir() -> PathBuf {
    dirs::runtime_dir().unwrap_or_else(std::env::temp_dir)
}

/// The socket beside a store: `<store file>.sock`.
pub fn default_socket(store: &Path) -> PathBuf {
    let mut name = store.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "jitdesk".into());
    name.push(".sock");
    store.with_file_name(name)
}

/// One application's path.
pub fn application(name: &str) -> String {
    fill(APPLICATION, name)
}

/// The path of an export of `what` (`requests` or `audit`).
pub fn export(what: &str) -> String {
    fill(EXPORT, what)
}

/// One request's path.
pub fn request(id: u64) -> String {
    fill(REQUEST, &id.to_string())
}

/// The path that approves a request, or denies it.
pub fn decide(id: u64, approve: bool) -> String {
    fill(if approve { APPROVE } else { DENY }, &id.to_string())
}

/// The path that cancels a pending request.
pub fn cancel(id: u64) -> String {
    fill(CANCEL, &id.to_string())
}

/// The path that extends a grant (a request approved, by id).
pub fn extend(id: u64) -> String {
    fill(EXTEND, &id.to_string())
}

/// The path that approves a grant's pending extension, or denies it.
pub fn decide_extension(id: u64, approve: bool) -> String {
    fill(if approve { EXTENSION_APPROVE } else { EXTENSION_DENY }, &id.to_string())
}

/// The path that revokes a grant (a request approved, by id).
pub fn revoke(id: u64) -> String {
    fill(REVOKE, &id.to_string())
}

/// A user's SSH keys' path.
pub fn user_keys(upn: &str) -> String {
    fill(USER_KEYS, upn)
}

/// One of a user's SSH keys' path.
pub fn user_key(upn: &str, fingerprint: &str) -> String {
    fill_each(USER_KEY, &[upn, fingerprint])
}

/// One tenant's path.
pub fn tenant(id: &str) -> String {
    fill(TENANT, id)
}

/// A tenant's trusted SSH CAs' path.
pub fn tenant_cas(tenant: &str) -> String {
    fill(TENANT_CAS, tenant)
}

/// One of a tenant's trusted SSH CAs' path.
pub fn tenant_ca(tenant: &str, fingerprint: &str) -> String {
    fill_each(TENANT_CA, &[tenant, fingerprint])
}

/// The path that revokes a token.
pub fn token_revoke(id: &str) -> String {
    fill(TOKEN_REVOKE, id)
}

/// A tenant's notice channels' path.
pub fn channels(tenant: &str) -> String {
    fill(CHANNELS, tenant)
}

/// One of a tenant's notice channels' path.
pub fn channel(tenant: &str, id: u64) -> String {
    fill_each(CHANNEL, &[tenant, &id.to_string()])
}

/// A user's contact's path.
pub fn contact(upn: &str) -> String {
    fill(CONTACT, upn)
}

/// One group's path.
pub fn group(id: &str) -> String {
    fill(GROUP, id)
}

/// The path that adds members to a group.
pub fn group_members(id: &str) -> String {
    fill(GROUP_MEMBERS, id)
}

/// The path of one member of a group.
pub fn group_member(id: &str, upn: &str) -> String {
    fill_each(GROUP_MEMBER, &[id, upn])
}

/// `pattern` with its one `{...}` segment replaced by `value`, percent-encoded.
fn fill(pattern: &str, value: &str) -> String {
    fill_each(pattern, &[value])
}

/// `pattern` with its `{...}` segments replaced by `values` in order, percent-encoded.
fn fill_each(pattern: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    for value in values {
        match (rest.find('{'), rest.find('}')) {
            (Some(open), Some(close)) if open < close => {
                out.push_str(&rest[..open]);
                out.push_str(&encode(value));
                rest = &rest[close + 1..];
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

/// Percent-encodes a path segment or query value: everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// ARM's routes (docs/api.md, "ARM's routes"), at the paths of Azure's Microsoft.Solutions API,
/// each taking `?api-version=2021-07-01`. `PUT` makes a JIT request for the caller, `GET` shows
/// one, `PATCH` changes its tags.
pub const ARM_JIT_REQUEST: &str =
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/jitRequests/{name}";
/// `GET`: the JIT requests of a resource group the caller may see.
pub const ARM_JIT_REQUESTS: &str =
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/jitRequests";
/// `GET`: the JIT requests of a subscription the caller may see.
pub const ARM_SUBSCRIPTION_JIT_REQUESTS: &str =
    "/subscriptions/{subscription}/providers/Microsoft.Solutions/jitRequests";
/// `GET`: one managed application, by its resource id.
pub const ARM_APPLICATION: &str =
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/applications/{name}";
/// `GET`: the managed applications of a resource group the caller may see.
pub const ARM_APPLICATIONS: &str =
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/applications";

/// Every ARM route, for the router's tests and the document's.
pub const ARM_ALL: [&str; 5] =
    [ARM_JIT_REQUEST, ARM_JIT_REQUESTS, ARM_SUBSCRIPTION_JIT_REQUESTS, ARM_APPLICATION, ARM_APPLICATIONS];

/// The ARM path of the JIT request at this place, with its `api-version`.
pub fn arm_jit_request(subscription: &str, group: &str, name: &str) -> String {
    format!(
        "{}?api-version={}",
        fill_each(ARM_JIT_REQUEST, &[subscription, group, name]),
        crate::domain::arm::API_VERSION
    )
}

/// The ARM path of the application of this resource id's parts, with its `api-version`.
pub fn arm_application(subscription: &str, group: &str, name: &str) -> String {
    format!(
        "{}?api-version={}",
        fill_each(ARM_APPLICATION, &[subscription, group, name]),
        crate::domain::arm::API_VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("contoso-crm_1.x~"), "contoso-crm_1.x~");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn a_filled_path_names_its_one_segment_encoded() {
        assert_eq!(application("crm eu/1"), "/v1/applications/crm%20eu%2F1");
        assert_eq!(request(12), "/v1/requests/12");
        assert_eq!(decide(12, true), "/v1/requests/12/approve");
        assert_eq!(decide(12, false), "/v1/requests/12/deny");
        assert_eq!(cancel(3), "/v1/requests/3/cancel");
        assert_eq!(revoke(4), "/v1/access/4/revoke");
        assert_eq!(extend(5), "/v1/requests/5/extend");
        assert_eq!(decide_extension(5, true), "/v1/requests/5/extension/approve");
        assert_eq!(decide_extension(5, false), "/v1/requests/5/extension/deny");
        assert_eq!(user_key("d@x.com", "SHA256:a/b+c"), "/v1/users/d%40x.com/keys/SHA256%3Aa%2Fb%2Bc");
        assert_eq!(tenant_ca("fab", "SHA256:z"), "/v1/tenants/fab/cas/SHA256%3Az");
        assert_eq!(token_revoke("ab12"), "/v1/tokens/ab12/revoke");
        assert_eq!(channels("fab"), "/v1/tenants/fab/channels");
        assert_eq!(channel("fab", 7), "/v1/tenants/fab/channels/7");
        assert_eq!(contact("d@x.com"), "/v1/users/d%40x.com/contact");
    }

    #[test]
    fn the_socket_is_beside_the_store() {
        assert_eq!(default_socket(Path::new("/var/lib/j/s.redb")), Path::new("/var/lib/j/s.redb.sock"));
    }
}
