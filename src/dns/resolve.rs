//! Host names to addresses for the sockets warden binds and dials (listen
//! addresses, the auth server), without the C library's getaddrinfo: musl's
//! resolver, its service and nscd lookups and std's wrapper around them
//! cost about 29 KB on mips, and warden already speaks DNS ([`super::wire`]).
//!
//! What it does is what musl does for these names, IPv4 only over DNS:
//! an IP literal is used as is; then `/etc/hosts`; `localhost` without an
//! entry is the loopback address; then an A query to every `nameserver` of
//! `/etc/resolv.conf` at once (127.0.0.1 when there is none, dnsmasq on
//! OpenWRT), the first in the file's order that has an address winning. A name with fewer dots than `ndots` (1) is tried with each
//! `search` domain first, then as is.

use super::check::{query_all, Health, Server, Source, Timing};
use super::wire::Rcode;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Where names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    /// The text of a hosts file.
    pub hosts: String,
    pub nameservers: Vec<SocketAddr>,
    pub search: Vec<String>,
    /// Per name, for all servers together.
    pub timeout: Duration,
}

impl Resolver {
    /// The system's: `/etc/hosts` and `/etc/resolv.conf` (missing files
    /// count as empty).
    pub fn system() -> Resolver {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let (nameservers, search) = parse_resolv_conf(&read("/etc/resolv.conf"));
        Resolver {
            hosts: read("/etc/hosts"),
            nameservers,
            search,
            timeout: Duration::from_secs(2),
        }
    }

    /// `host:port` (or `[v6]:port`) to a socket address.
    pub fn resolve(&self, hostport: &str) -> io::Result<SocketAddr> {
        if let Ok(a) = hostport.parse::<SocketAddr>() {
            return Ok(a);
        }
        let (host, port) =
            split_hostport(hostport).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let ip = self.lookup(host)?;
        Ok(SocketAddr::new(ip, port))
    }

    /// A host name (or IP literal) to an address.
    pub fn lookup(&self, host: &str) -> io::Result<IpAddr> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(ip);
        }
        if let Some(ip) = hosts_lookup(&self.hosts, host) {
            return Ok(ip);
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        super::wire::check_name(host)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        let mut last = None;
        for name in candidates(host, &self.search) {
            match self.query(&name) {
                Ok(Some(ip)) => return Ok(IpAddr::V4(ip)),
                Ok(None) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            // Some server failed and none answered: say why.
            Some(e) => io::Error::new(e.kind(), format!("{host}: {e}")),
            None => io::Error::new(io::ErrorKind::NotFound, format!("{host}: name not found")),
        })
    }

    /// Ok(None): the servers say the name has no address. Every server
    /// is asked at once (as musl does), through the DNS checker's probes:
    /// retries within the timeout, and replies that are not the answer to
    /// this query are ignored.
    fn query(&self, name: &str) -> io::Result<Option<Ipv4Addr>> {
        if self.nameservers.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no name server"));
        }
        let servers: Vec<Server> = self
            .nameservers
            .iter()
            .map(|&addr| Server {
                addr,
                source: Source::Configured,
            })
            .collect();
        let timing = Timing {
            timeout: self.timeout,
            tries: 2,
        };
        let outcomes = query_all(&servers, name, timing, &mut query_id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let answers = || outcomes.iter().filter_map(|o| o.answer.as_ref());
        // The first server, in resolv.conf's order, that gave an address.
        if let Some(a) = answers()
            .filter(|r| r.rcode == Rcode::NoError)
            .find_map(|r| r.addrs.first())
        {
            return Ok(Some(*a));
        }
        if answers().any(|r| matches!(r.rcode, Rcode::NoError | Rcode::NxDomain)) {
            return Ok(None);
        }
        let why: Vec<String> = servers
            .iter()
            .zip(&outcomes)
            .map(|(s, o)| match &o.health {
                Health::NoAnswer => format!("name server {}: no answer", s.addr),
                h => format!("name server {}: {}", s.addr, h.reason()),
            })
            .collect();
        let kind = if outcomes.iter().any(|o| o.health == Health::NoAnswer) {
            io::ErrorKind::TimedOut
        } else {
            io::ErrorKind::Other
        };
        Err(io::Error::new(kind, why.join("; ")))
    }
}

/// A query id nobody off the path can guess (a spoofed answer must match it).
fn query_id() -> u16 {
    let mut b = [0u8; 2];
    if crate::sys::random::fill(&mut b).is_err() {
        return crate::sys::random::seed() as u16;
    }
    u16::from_ne_bytes(b)
}

/// Resolve with the system's files.
pub fn resolve(hostport: &str) -> io::Result<SocketAddr> {
    Resolver::system().resolve(hostport)
}

/// `host:port` as [`Resolver::resolve`] reads it: the part after the
/// last ':' a port number.
pub fn split_hostport(hostport: &str) -> Result<(&str, u16), String> {
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| format!("{hostport}: no port"))?;
    let port: u16 = port.parse().map_err(|_| format!("{hostport}: bad port"))?;
    Ok((host, port))
}

/// Would [`resolve`] take this address, names aside (whether a name has
/// an address is the network's business, not the configuration's)? An
/// address literal, or `host:port` with an IP literal or a well-formed
/// DNS name: the configuration model checks listen addresses with it.
pub fn check_hostport(hostport: &str) -> Result<(), String> {
    if hostport.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, _) = split_hostport(hostport)?;
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    super::wire::check_name(host).map_err(|e| format!("{host}: {e}"))
}

/// The `nameserver` addresses (port 53) and `search` (or `domain`) list.
pub fn parse_resolv_conf(text: &str) -> (Vec<SocketAddr>, Vec<String>) {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("nameserver") => {
                if let Some(ip) = w.next().and_then(|a| a.parse::<IpAddr>().ok()) {
                    servers.push(SocketAddr::new(ip, 53));
                }
            }
            // The last of `search` and `domain` wins, as in musl.
            Some("search") | Some("domain") => search = w.map(String::from).collect(),
            _ => {}
        }
    }
    if servers.is_empty() {
        servers.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    }
    (servers, search)
}

/// The first address `/etc/hosts` gives `name` (names compare without case).
pub fn hosts_lookup(text: &str, name: &str) -> Option<IpAddr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut w = line.split_whitespace();
        let ip = w.next()?.parse::<IpAddr>().ok()?;
        w.any(|n| n.eq_ignore_ascii_case(name)).then_some(ip)
    })
}

/// The names to query for `host`, in order (ndots 1).
pub fn candidates(host: &str, search: &[String]) -> Vec<String> {
    if let Some(absolute) = host.strip_suffix('.') {
        return vec![absolute.to_string()];
    }
    let mut v = Vec::new();
    if !host.contains('.') {
        v.extend(search.iter().map(|d| format!("{host}.{d}")));
    }
    v.push(host.to_string());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_servers_and_search() {
        let (s, d) = parse_resolv_conf(
            "# generated\nsearch lan home\nnameserver 127.0.0.1\nnameserver ::1\n\
             nameserver bogus\noptions ndots:1\n",
        );
        assert_eq!(
            s,
            ["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
        assert_eq!(d, ["lan", "home"]);
        let (s, d) = parse_resolv_conf("domain lan\n");
        assert_eq!(s, ["127.0.0.1:53".parse().unwrap()]);
        assert_eq!(d, ["lan"]);
    }

    #[test]
    fn hosts_file_entries() {
        let h = "127.0.0.1 localhost\n# 10.0.0.9 commented\n\
                 192.168.1.1 OpenWrt openwrt.lan # the router\n::1 ip6-localhost\n";
        assert_eq!(
            hosts_lookup(h, "openwrt"),
            Some("192.168.1.1".parse().unwrap())
        );
        assert_eq!(
            hosts_lookup(h, "OPENWRT.lan."),
            Some("192.168.1.1".parse().unwrap())
        );
        assert_eq!(
            hosts_lookup(h, "ip6-localhost"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(hosts_lookup(h, "commented"), None);
        assert_eq!(hosts_lookup(h, "10.0.0.9"), None);
    }

    #[test]
    fn short_names_try_the_search_domains_first() {
        let s = vec!["lan".to_string(), "home".to_string()];
        assert_eq!(candidates("auth", &s), ["auth.lan", "auth.home", "auth"]);
        assert_eq!(candidates("auth.example", &s), ["auth.example"]);
        assert_eq!(candidates("auth.", &s), ["auth"]);
    }

    fn offline() -> Resolver {
        Resolver {
            hosts: "192.168.1.1 router\n".into(),
            nameservers: Vec::new(),
            search: Vec::new(),
            timeout: Duration::from_millis(10),
        }
    }

    #[test]
    fn literals_hosts_and_localhost_need_no_server() {
        let r = offline();
        assert_eq!(
            r.resolve("0.0.0.0:567").unwrap(),
            "0.0.0.0:567".parse().unwrap()
        );
        assert_eq!(
            r.resolve("[::1]:6673").unwrap(),
            "[::1]:6673".parse().unwrap()
        );
        assert_eq!(
            r.resolve("router:567").unwrap(),
            "192.168.1.1:567".parse().unwrap()
        );
        assert_eq!(
            r.resolve("localhost:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
    }

    #[test]
    fn bad_input_is_named() {
        let r = offline();
        for (input, why) in [
            ("router", "router: no port"),
            ("router:http", "router:http: bad port"),
            ("router:70000", "router:70000: bad port"),
            ("bad..name:1", "bad..name"),
        ] {
            let e = r.resolve(input).unwrap_err().to_string();
            assert!(e.starts_with(why), "{input}: {e}");
        }
        let e = r.resolve("elsewhere:1").unwrap_err().to_string();
        assert!(
            e.contains("elsewhere") && e.contains("no name server"),
            "{e}"
        );
    }
}
