//! Where a send may connect. A channel the operator added reaches whatever its host resolves to; a
//! channel someone else added (`Parcel::restricted`) reaches public addresses only
//! (`domain::address`), so a tenant admin cannot make the service knock on its own network's doors.
//! The host is resolved once per send and the courier connects to exactly the addresses checked,
//! so a name that resolves anew between the check and the connection (DNS rebinding) gains
//! nothing. What a restricted channel's failure says is what its adder may know: that a host could
//! not be reached, never the operating system's reason, which would tell an open port from a closed
//! one.

use std::net::SocketAddr;

use super::{permanent, retry};
use crate::domain::address::internal;
use crate::domain::text::shown;
use crate::engine::outbox::Undelivered;

/// The addresses `host` resolves to, with `port`; for a restricted channel, only if none of them is
/// internal. `whom` names the receiver in a failure.
pub(super) async fn addresses(
    host: &str,
    port: u16,
    restricted: bool,
    whom: &str,
) -> Result<Vec<SocketAddr>, Undelivered> {
    let found: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(found) => found.collect(),
        Err(e) => return Err(unreachable(whom, &e, restricted)),
    };
    if found.is_empty() {
        return Err(retry(format!("cannot reach {whom}: its host has no address")));
    }
    if restricted && found.iter().any(|a| internal(a.ip())) {
        return Err(permanent(format!(
            "the host of {whom} resolves to a private address, which only the operator's channels may reach: name a public host"
        )));
    }
    Ok(found)
}

/// The failure to connect to `whom`: with the operating system's reason for the operator's
/// channels, without it for a restricted one.
pub(super) fn unreachable(whom: &str, e: &dyn std::fmt::Display, restricted: bool) -> Undelivered {
    if restricted {
        retry(format!("cannot reach {whom}"))
    } else {
        retry(format!("cannot reach {whom}: {}", shown(&e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_restricted_channel_is_refused_an_internal_address_for_good() {
        for host in ["127.0.0.1", "localhost", "::ffff:127.0.0.1", "10.0.0.1"] {
            let refused = addresses(host, 443, true, "the webhook at h:443").await.unwrap_err();
            assert!(refused.permanent, "{host}: {refused:?}");
            assert_eq!(
                refused.reason,
                "the host of the webhook at h:443 resolves to a private address, which only the operator's channels may reach: name a public host"
            );
        }
        let found = addresses("127.0.0.1", 443, false, "w").await.expect("the operator's channel");
        assert_eq!(found, ["127.0.0.1:443".parse().unwrap()]);
    }

    #[test]
    fn a_restricted_channel_is_not_told_why_a_connection_failed() {
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let told = unreachable("the webhook at h:8443", &e, true);
        assert_eq!((told.reason.as_str(), told.permanent), ("cannot reach the webhook at h:8443", false));
        let told = unreachable("the webhook at h:8443", &e, false);
        assert!(told.reason.starts_with("cannot reach the webhook at h:8443: "), "{}", told.reason);
        assert!(told.reason.len() > "cannot reach the webhook at h:8443: ".len());
    }
}
