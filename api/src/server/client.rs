//! Who the client is: the TCP peer, unless the peer is a trusted proxy
//! (`server.trusted_proxies`), in which case the proxy's headers say.
//!
//! With a trusted peer, the client is taken from `Forwarded` (RFC 7239, its `for=`
//! parameters) if the request has one, else from `X-Forwarded-For`. Either lists the hops
//! in order, each proxy appending the address it received the request from, so only the
//! right-hand end can be believed: the client is the right-most hop that is not itself a
//! trusted proxy (a client can write anything it likes at the left-hand end). When every
//! hop is trusted, the left-most is taken; when the hop found is not an address
//! (`unknown`, an obfuscated `_name`), the last trusted hop stands in for it. With an
//! untrusted peer, or no trusted proxies configured, those headers are ignored.
//!
//! The client's address is what the rate limiter counts, what sessions and the audit log
//! record as `remote_addr`; the proxy it came through is kept too ([`ClientAddr::via`],
//! written as `via` in audit details).

use super::state::AppState;
use crate::net::{self, IpNet};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client's address, when the server knows it (not in `oneshot` tests without a
/// `ConnectInfo`), and the trusted proxy it came through.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientAddr {
    pub client: Option<IpAddr>,
    /// The TCP peer, when it is a trusted proxy whose headers named another client.
    pub via: Option<IpAddr>,
}

impl ClientAddr {
    /// The client's address as text.
    pub fn ip(&self) -> Option<String> {
        self.client.map(|a| a.to_string())
    }

    /// The proxy's address as text.
    pub fn via_text(&self) -> Option<String> {
        self.via.map(|a| a.to_string())
    }

    /// The key the login limiter counts the client under (IPv6: its /64).
    pub fn key(&self) -> Option<String> {
        self.client.map(net::client_key)
    }

    /// Resolves the client of a request from `peer`.
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> ClientAddr {
        let Some(peer) = peer.map(net::canonical) else {
            return ClientAddr::default();
        };
        if !net::trusted(trusted, peer) {
            return ClientAddr {
                client: Some(peer),
                via: None,
            };
        }
        let hops = forwarded_hops(headers).or_else(|| x_forwarded_for_hops(headers));
        let client = hops.map_or(peer, |hops| pick(&hops, peer, trusted));
        ClientAddr {
            client: Some(client),
            via: (client != peer).then_some(peer),
        }
    }
}

/// The right-most hop that is not a trusted proxy; see the module documentation.
fn pick(hops: &[Option<IpAddr>], peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let mut last_trusted = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if net::trusted(trusted, *ip) => last_trusted = *ip,
            Some(ip) => return *ip,
            None => return last_trusted,
        }
    }
    last_trusted
}

/// One hop's node (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`, `2001:db8::1`): its
/// address, or `None` for `unknown`, obfuscated names and anything else.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"').trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(net::canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse::<IpAddr>().ok().map(net::canonical);
    }
    let (addr, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The `for=` of every element of every `Forwarded` header, in order; `None` without the
/// header.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for value in headers.get_all("forwarded") {
        any = true;
        let Ok(text) = value.to_str() else {
            // Not text: nothing in it can be believed, so no hop beyond the proxy.
            hops.push(None);
            continue;
        };
        for element in text.split(',') {
            let found = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v)
            });
            if let Some(v) = found {
                hops.push(node(v));
            }
        }
    }
    any.then_some(hops)
}

/// The hops of every `X-Forwarded-For` header, in order; `None` without the header.
fn x_forwarded_for_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for value in headers.get_all("x-forwarded-for") {
        any = true;
        match value.to_str() {
            Ok(text) => hops.extend(text.split(',').map(node)),
            Err(_) => hops.push(None),
        }
    }
    any.then_some(hops)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr::resolve(
            peer,
            &parts.headers,
            &state.server.trusted_proxies,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("a network")).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
        ]);
        let c = ClientAddr::resolve(Some(ip("203.0.113.5")), &h, &nets(&["10.0.0.0/8"]));
        assert_eq!((c.client, c.via), (Some(ip("203.0.113.5")), None));
        let c = ClientAddr::resolve(Some(ip("10.0.0.2")), &h, &[]);
        assert_eq!(c.client, Some(ip("10.0.0.2")));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "::1"]);
        let proxy = Some(ip("10.0.0.2"));
        // The client wrote a fake first hop; the proxy appended the real one.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.9")]);
        let c = ClientAddr::resolve(proxy, &h, &trusted);
        assert_eq!((c.client, c.via), (Some(ip("198.51.100.7")), proxy));
        // Forwarded wins over X-Forwarded-For; quoted IPv6 with a port; two headers.
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=192.0.2.60;proto=https"),
            (
                "forwarded",
                "For=\"[2001:db8:cafe::17]:4711\", for=10.0.0.3",
            ),
        ]);
        let c = ClientAddr::resolve(proxy, &h, &trusted);
        assert_eq!(c.client, Some(ip("2001:db8:cafe::17")));
        // `unknown` stands for a hop nobody knows: the last trusted proxy is the client.
        let h = headers(&[("forwarded", "for=unknown, for=10.0.0.3")]);
        let c = ClientAddr::resolve(proxy, &h, &trusted);
        assert_eq!(c.client, Some(ip("10.0.0.3")));
        // Every hop trusted: the left-most. No header: the peer.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.2.2.2")]);
        assert_eq!(
            ClientAddr::resolve(proxy, &h, &trusted).client,
            Some(ip("10.1.1.1"))
        );
        let c = ClientAddr::resolve(proxy, &HeaderMap::new(), &trusted);
        assert_eq!((c.client, c.via), (proxy, None));
        // A port on an IPv4 hop.
        let h = headers(&[("x-forwarded-for", "198.51.100.8:5555")]);
        assert_eq!(
            ClientAddr::resolve(Some(ip("::1")), &h, &trusted).client,
            Some(ip("198.51.100.8"))
        );
    }
}
