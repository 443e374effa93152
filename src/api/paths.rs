//! Where the API is: the socket beside a store, and the path of each route on it. The service's
//! router is built from the patterns below and the client fills them in (the functions below), so
//! both always name the same routes.

use std::path::{Path, PathBuf};

pub const HEALTH: &str = "/v1/health";
pub const ME: &str = "/v1/me";
pub const TENANTS: &str = "/v1/tenants";
pub const USERS: &str = "/v1/users";
pub const OFFERS: &str = "/v1/offers";
pub const APPLICATIONS: &str = "/v1/applications";
pub const APPLICATION: &str = "/v1/applications/{name}";
pub const REQUESTS: &str = "/v1/requests";
pub const REQUEST: &str = "/v1/requests/{id}";
pub const APPROVE: &str = "/v1/requests/{id}/approve";
pub const DENY: &str = "/v1/requests/{id}/deny";
pub const CANCEL: &str = "/v1/requests/{id}/cancel";
pub const ACCESS: &str = "/v1/access";
pub const ACCESS_CHECK: &str = "/v1/access/check";
pub const REVOKE: &str = "/v1/access/{id}/revoke";
pub const NOTIFICATIONS: &str = "/v1/notifications";
pub const SEEN: &str = "/v1/notifications/seen";
pub const AUDIT: &str = "/v1/audit";
pub const EVENTS: &str = "/v1/events";
pub const BACKUP: &str = "/v1/backup";

/// Every route, for whoever needs them all (the router's tests, the document's).
pub const ALL: [&str; 20] = [
    HEALTH,
    ME,
    TENANTS,
    USERS,
    OFFERS,
    APPLICATIONS,
    APPLICATION,
    REQUESTS,
    REQUEST,
    APPROVE,
    DENY,
    CANCEL,
    ACCESS,
    ACCESS_CHECK,
    REVOKE,
    NOTIFICATIONS,
    SEEN,
    AUDIT,
    EVENTS,
    BACKUP,
];

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

/// One request's path.
pub fn request(id: u64) -> String {
    fill(REQUEST, &id.to_string())
}

/// The path that approves a request, or denies it.
pub fn decide(id: u64, approve: bool) -> String {
    fill(if approve { APPROVE } else { DENY }, &id.to_string())
}

pub fn cancel(id: u64) -> String {
    fill(CANCEL, &id.to_string())
}

pub fn revoke(id: u64) -> String {
    fill(REVOKE, &id.to_string())
}

/// `pattern` with its one `{...}` segment replaced by `value`, percent-encoded.
fn fill(pattern: &str, value: &str) -> String {
    match (pattern.find('{'), pattern.find('}')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}{}", &pattern[..open], encode(value), &pattern[close + 1..])
        }
        _ => pattern.to_string(),
    }
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
    }

    #[test]
    fn the_socket_is_beside_the_store() {
        assert_eq!(default_socket(Path::new("/var/lib/j/s.redb")), Path::new("/var/lib/j/s.redb.sock"));
    }
}
