//! Which network addresses belong to the service's own side: this machine, private networks,
//! link-local and carrier-grade NAT ranges, and the forms that hide one of them inside another
//! (IPv4-mapped IPv6). A channel a tenant admin added must not reach them, or the service would
//! relay a tenant's requests into the network it runs in. Pure classification; resolving a name
//! and refusing a send live at the edge.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is on the service's side of the network: any address that is not plainly public.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

/// Whether `host` (a name or an address, brackets allowed) names this machine or an internal
/// address outright. A name may still resolve to one: only the resolved addresses tell.
pub fn internal_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    let lower = host.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(internal)
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        // 0.0.0.0/8: "this network", which Linux connects to this machine.
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, a provider's inside.
        || (a == 100 && (b & 0xc0) == 64)
        // 240.0.0.0/4: reserved.
        || a >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    // An IPv4 address in IPv6 clothing (mapped ::ffff:a.b.c.d or compatible ::a.b.c.d) reaches
    // that IPv4 address. The compatible form also takes in `::` and `::1`, which are 0.0.0.0 and
    // 0.0.0.1 to it: inside 0.0.0.0/8, so internal too.
    if let Some(v4) = ip.to_ipv4() {
        return internal_v4(v4);
    }
    ip.is_multicast()
        // fc00::/7: unique local.
        || (first & 0xfe00) == 0xfc00
        // fe80::/10: link-local.
        || (first & 0xffc0) == 0xfe80
        // fec0::/10: the old site-local.
        || (first & 0xffc0) == 0xfec0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_link_local_and_their_disguises_are_internal() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "feff::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_not_internal() {
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "100.63.255.255",
            "192.169.0.1",
            "2606:4700::1111",
            "fe7f::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_host_that_names_this_machine_or_an_internal_address_is_internal() {
        for host in ["localhost", "LOCALHOST.", "mail.localhost", "127.0.0.1", "[::1]", "[::ffff:10.0.0.1]"] {
            assert!(internal_host(host), "{host}");
        }
        for host in ["mail.example.com", "8.8.8.8", "[2606:4700::1111]", "localhost.example.com"] {
            assert!(!internal_host(host), "{host}");
        }
    }
}
