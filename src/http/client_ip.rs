//! The client's IP address. The TCP peer, unless the peer is a configured trusted
//! proxy (`server.trusted_proxies`): then the right-most address in `X-Forwarded-For`
//! that is not itself a trusted proxy. A client can put anything in the header, so
//! only what trusted proxies appended is believed; from any other peer it is ignored.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The parsed `server.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses IPs (`10.0.0.1`, `::1`) and CIDRs (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for e in entries {
            let e = e.trim();
            let net = match e.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match e.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("`{e}` is not an IP address or CIDR")),
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request from `peer` carrying these `X-Forwarded-For`
    /// header values (in order of appearance).
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // Walk from the nearest hop outwards; the first untrusted address is the client.
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage: whatever lies beyond it cannot be believed.
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an IP, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(v: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_taken_as_they_are() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("192.0.2.1"), ["203.0.113.9"].into_iter()),
            ip("192.0.2.1")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), ["1.1.1.1"].into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_peers_give_the_right_most_untrusted_hop() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        let peer = ip("127.0.0.1");
        // The client spoofed 6.6.6.6; the proxies appended the real 198.51.100.7 and 10.1.1.1.
        let h = ["6.6.6.6, 198.51.100.7", "10.1.1.1"];
        assert_eq!(p.client_ip(peer, h.into_iter()), ip("198.51.100.7"));
        assert_eq!(p.client_ip(peer, std::iter::empty()), peer);
        assert_eq!(
            p.client_ip(peer, ["10.2.2.2, 10.1.1.1"].into_iter()),
            ip("10.2.2.2")
        );
        assert_eq!(
            p.client_ip(peer, ["[2001:db8::1]:443"].into_iter()),
            ip("2001:db8::1")
        );
        assert_eq!(
            p.client_ip(peer, ["1.2.3.4, garbage, 10.1.1.1"].into_iter()),
            ip("10.1.1.1")
        );
        assert_eq!(
            p.client_ip(ip("::ffff:127.0.0.1"), ["192.0.2.5"].into_iter()),
            ip("192.0.2.5")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(proxies(&["10.0.0.7/8"]).contains(ip("10.9.9.9")));
    }
}
