//! Is this DNS server usable? Placeholders are judged without a packet;
//! every other server gets a real query over UDP.
//!
//! The core, [`Probe`], is sans-IO: it says what to send and until when to
//! wait, and takes datagrams, socket errors and the time. [`check_all`] is
//! the thin I/O edge: one connected UDP socket per server, one poll(2) loop
//! for all of them, bounded by the timeout, so a supervisor can call it and
//! know it returns within `timeout` (plus scheduling), or drive [`Probe`]s
//! from its own loop.
//!
//! # Placeholders
//! - `10.11.12.13` and `10.11.12.14`: what Huawei modems (and the firmware
//!   of some others) hand out in IPCP before the network's real servers are
//!   known; NetworkManager's `nm-modem.c` discards exactly this pair. Only
//!   these two: the rest of 10.0.0.0/8 is used by carriers for real
//!   resolvers, and a query costs at most the timeout.
//! - `0.0.0.0` / `::` (seen as a secondary server from real networks; oFono
//!   patched its AT driver to drop it), broadcast, multicast and the
//!   reserved 240.0.0.0/4.
//! - From the peer only ([`Source::Peer`]): loopback (127.0.0.0/8, `::1`),
//!   0.0.0.0/8 and link-local (169.254.0.0/16, fe80::/10). A 3G network has
//!   no business pointing us at our own host or a link-local address: on the
//!   router 127.0.0.1 is dnsmasq itself, which would forward to itself.
//!   Servers an operator typed in ([`Source::Configured`], e.g. on the
//!   command line) may be loopback: that is how a local resolver is tested.
//!
//! # Verdicts
//! `ok`: a reply with our id and question, NOERROR and at least one A
//! record (the probe name is one that exists). `refused`: the server
//! answered REFUSED, or its host answered ICMP port unreachable. `no-answer`:
//! nothing came back in time. `error DETAIL`: anything else (SERVFAIL,
//! NXDOMAIN, no records, a truncated reply, only garbage or mismatched ids
//! within the time, an unreachable network, ...).

use super::wire::{self, Rcode, WireError};
use crate::sys::poll;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Where a server address came from, which decides what counts as bogus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Handed out by the network (pppd's DNS1/DNS2).
    Peer,
    /// Chosen by the operator (configuration, command line).
    Configured,
}

/// The verdict on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// A placeholder, with why; nothing was sent.
    Bogus(&'static str),
    NoAnswer,
    /// Refused: `true` when the DNS server said REFUSED, `false` for ICMP
    /// port unreachable.
    Refused {
        by_server: bool,
    },
    Error(String),
}

impl Health {
    pub fn is_ok(&self) -> bool {
        matches!(self, Health::Ok)
    }

    /// The first word of the report line.
    pub fn word(&self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Bogus(_) => "bogus",
            Health::NoAnswer => "no-answer",
            Health::Refused { .. } => "refused",
            Health::Error(_) => "error",
        }
    }

    /// A longer explanation for logs.
    pub fn reason(&self) -> String {
        match self {
            Health::Ok => "answered".into(),
            Health::Bogus(why) => format!("placeholder: {why}"),
            Health::NoAnswer => "no reply within the timeout".into(),
            Health::Refused { by_server: true } => "server answered REFUSED".into(),
            Health::Refused { by_server: false } => "port unreachable (nothing listening)".into(),
            Health::Error(d) => d.clone(),
        }
    }
}

/// `ok`, `bogus`, `no-answer`, `refused` or `error DETAIL`.
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Error(d) => write!(f, "error {d}"),
            other => f.write_str(other.word()),
        }
    }
}

/// Why `ip` is a placeholder rather than a server, if it is one.
pub fn placeholder(ip: IpAddr, source: Source) -> Option<&'static str> {
    let peer = source == Source::Peer;
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a == Ipv4Addr::new(10, 11, 12, 13) || a == Ipv4Addr::new(10, 11, 12, 14) {
                Some("10.11.12.13/14 is what modems hand out before the real servers are known")
            } else if a.is_unspecified() {
                Some("unspecified address 0.0.0.0")
            } else if a.is_broadcast() {
                Some("broadcast address")
            } else if a.is_multicast() {
                Some("multicast address")
            } else if o[0] >= 240 {
                Some("reserved address (240.0.0.0/4)")
            } else if peer && a.is_loopback() {
                Some("loopback address from the network")
            } else if peer && o[0] == 0 {
                Some("this-network address (0.0.0.0/8) from the network")
            } else if peer && a.is_link_local() {
                Some("link-local address from the network")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            if a.is_unspecified() {
                Some("unspecified address ::")
            } else if a.is_multicast() {
                Some("multicast address")
            } else if peer && a == Ipv6Addr::LOCALHOST {
                Some("loopback address from the network")
            } else if peer && (a.segments()[0] & 0xffc0) == 0xfe80 {
                Some("link-local address from the network")
            } else {
                None
            }
        }
    }
}

/// What a probe wants done next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the server now.
    Send(Vec<u8>),
    /// Wait for a datagram until this instant, then call `poll` again.
    WaitUntil(Instant),
    /// Finished.
    Done(Health),
}

/// How long and how often to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The whole probe ends after this.
    pub timeout: Duration,
    /// Sends, spread evenly over the timeout (the same id every time, so a
    /// late answer to an early send still counts).
    pub tries: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            timeout: Duration::from_millis(2000),
            tries: 2,
        }
    }
}

/// One query to one server, as a state machine.
#[derive(Debug, Clone)]
pub struct Probe {
    name: String,
    id: u16,
    query: Vec<u8>,
    sent: u32,
    timing: Timing,
    start: Instant,
    /// The last unacceptable datagram, reported if nothing better comes.
    note: Option<String>,
    done: Option<Health>,
    /// The server's answer, once one was accepted.
    answer: Option<wire::Response>,
}

impl Probe {
    /// A probe for the A record of `name` with query id `id`, started `now`.
    pub fn new(
        name: &str,
        id: u16,
        timing: Timing,
        now: Instant,
    ) -> Result<Probe, wire::NameError> {
        let query = wire::build_query(id, name)?;
        Ok(Probe {
            name: name.to_string(),
            id,
            query,
            sent: 0,
            timing: Timing {
                timeout: timing.timeout,
                tries: timing.tries.max(1),
            },
            start: now,
            note: None,
            done: None,
            answer: None,
        })
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// When the n-th send (0-based) is due.
    fn send_at(&self, n: u32) -> Instant {
        self.start + self.timing.timeout / self.timing.tries * n
    }

    fn deadline(&self) -> Instant {
        self.start + self.timing.timeout
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> Action {
        if let Some(h) = &self.done {
            return Action::Done(h.clone());
        }
        if now >= self.deadline() {
            let h = match self.note.take() {
                Some(n) => Health::Error(n),
                None => Health::NoAnswer,
            };
            self.done = Some(h.clone());
            return Action::Done(h);
        }
        if self.sent < self.timing.tries && now >= self.send_at(self.sent) {
            self.sent += 1;
            return Action::Send(self.query.clone());
        }
        let next = if self.sent < self.timing.tries {
            self.send_at(self.sent).min(self.deadline())
        } else {
            self.deadline()
        };
        Action::WaitUntil(next)
    }

    /// A datagram arrived from the server.
    pub fn on_datagram(&mut self, buf: &[u8]) {
        if self.done.is_some() {
            return;
        }
        match wire::parse_response(buf, self.id, &self.name) {
            Ok(r) => {
                self.done = Some(verdict(&self.name, &r));
                self.answer = Some(r);
            }
            // Not ours (stale, forged) or not DNS at all: keep listening,
            // remember it in case nothing better comes.
            Err(
                e @ (WireError::IdMismatch { .. } | WireError::NotResponse | WireError::Short(_)),
            ) => {
                self.note = Some(match e {
                    WireError::IdMismatch { .. } => e.to_string(),
                    other => format!("garbage reply: {other}"),
                });
            }
            // Our id, but wrong: the server is broken.
            Err(e) => self.done = Some(Health::Error(e.to_string())),
        }
    }

    /// The socket reported an error (ICMP errors arrive this way on a
    /// connected UDP socket).
    pub fn on_error(&mut self, e: &io::Error) {
        if self.done.is_some() {
            return;
        }
        self.done = Some(io_verdict(e));
    }
}

fn io_verdict(e: &io::Error) -> Health {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Health::Refused { by_server: false },
        Some(libc::ENETUNREACH) => Health::Error("network unreachable".into()),
        Some(libc::EHOSTUNREACH) => Health::Error("host unreachable".into()),
        _ => Health::Error(e.to_string()),
    }
}

fn verdict(name: &str, r: &wire::Response) -> Health {
    match r.rcode {
        Rcode::NoError if !r.addrs.is_empty() => Health::Ok,
        Rcode::NoError => Health::Error(format!("no A record for {name}")),
        Rcode::Refused => Health::Refused { by_server: true },
        other => Health::Error(other.to_string()),
    }
}

/// One server to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    pub addr: SocketAddr,
    pub source: Source,
}

/// Parse `SERVER[:PORT]`: `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`,
/// `[2001:db8::1]:5353`. The port defaults to 53.
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

/// Check every server at once; returns one verdict per server, in order,
/// within about `timing.timeout`. `ids` supplies the query ids.
pub fn check_all(
    servers: &[Server],
    name: &str,
    timing: Timing,
    mut ids: impl FnMut() -> u16,
) -> Result<Vec<Health>, wire::NameError> {
    Ok(query_all(servers, name, timing, &mut ids)?
        .into_iter()
        .map(|o| o.health)
        .collect())
}

/// What one server made of a query: its verdict, and its answer when it
/// sent one (the resolver reads the addresses and the rcode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub health: Health,
    pub answer: Option<wire::Response>,
}

/// [`check_all`], keeping each server's answer. (`ids` is dynamic: one
/// copy of this loop in the binary, whoever calls it.)
pub fn query_all(
    servers: &[Server],
    name: &str,
    timing: Timing,
    ids: &mut dyn FnMut() -> u16,
) -> Result<Vec<Outcome>, wire::NameError> {
    wire::check_name(name)?;
    let now = Instant::now();
    let done = |health| Outcome {
        health,
        answer: None,
    };
    let mut out: Vec<Option<Outcome>> = Vec::with_capacity(servers.len());
    let mut live: Vec<(usize, Probe, UdpSocket)> = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        if let Some(why) = placeholder(s.addr.ip(), s.source) {
            out.push(Some(done(Health::Bogus(why))));
            continue;
        }
        match open(s.addr) {
            Ok(sock) => {
                out.push(None);
                live.push((i, Probe::new(name, ids(), timing, now)?, sock));
            }
            Err(e) => out.push(Some(done(io_verdict(&e)))),
        }
    }
    let mut buf = [0u8; 1500];
    while !live.is_empty() {
        let now = Instant::now();
        let mut wake = now + timing.timeout;
        let mut k = 0;
        while k < live.len() {
            let (i, probe, sock) = &mut live[k];
            match probe.poll(now) {
                Action::Send(q) => {
                    if let Err(e) = sock.send(&q) {
                        probe.on_error(&e);
                    }
                    continue; // poll this probe again
                }
                Action::WaitUntil(t) => {
                    wake = wake.min(t);
                    k += 1;
                }
                Action::Done(health) => {
                    out[*i] = Some(Outcome {
                        health,
                        answer: probe.answer.take(),
                    });
                    live.swap_remove(k);
                }
            }
        }
        if live.is_empty() {
            break;
        }
        let mut fds: Vec<libc::pollfd> = live
            .iter()
            .map(|(_, _, s)| poll::fd(s.as_raw_fd(), libc::POLLIN))
            .collect();
        let left = wake.saturating_duration_since(Instant::now());
        if let Err(e) = poll::poll(&mut fds, Some(left.min(Duration::from_secs(60)))) {
            for (_, p, _) in &mut live {
                p.on_error(&e);
            }
            continue;
        }
        for (fd, (_, probe, sock)) in fds.iter().zip(live.iter_mut()) {
            if fd.revents == 0 {
                continue;
            }
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => probe.on_datagram(buf.get(..n).unwrap_or(&[])),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        probe.on_error(&e);
                        break;
                    }
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or_else(|| done(Health::Error("not checked".into()))))
        .collect())
}

/// What a set of verdicts means for the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Servers that answered.
    pub usable: Vec<SocketAddr>,
    /// One `SERVER verdict` per server that did not, for the log and the
    /// reconnect reason.
    pub broken: Vec<String>,
}

impl Summary {
    /// The link's DNS works when at least one server answers (resolvers
    /// fall back between them); the broken ones are still reported.
    pub fn link_ok(&self) -> bool {
        !self.usable.is_empty()
    }

    /// `"10.11.12.13:53 bogus, 10.11.12.14:53 bogus"`, or `"no DNS servers"`.
    pub fn reason(&self) -> String {
        if self.usable.is_empty() && self.broken.is_empty() {
            "no DNS servers".into()
        } else {
            self.broken.join(", ")
        }
    }
}

/// Pair servers with their verdicts (as returned by [`check_all`]).
pub fn summarize(servers: &[Server], verdicts: &[Health]) -> Summary {
    let mut s = Summary {
        usable: Vec::new(),
        broken: Vec::new(),
    };
    for (srv, h) in servers.iter().zip(verdicts) {
        if h.is_ok() {
            s.usable.push(srv.addr);
        } else {
            s.broken.push(format!("{} {h}", srv.addr));
        }
    }
    s
}

fn open(addr: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(local)?;
    s.connect(addr)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn placeholders() {
        for ip in [
            v4(10, 11, 12, 13),
            v4(10, 11, 12, 14),
            v4(0, 0, 0, 0),
            v4(255, 255, 255, 255),
            v4(224, 0, 0, 1),
            v4(250, 1, 1, 1),
            "::".parse().unwrap(),
            "ff02::1".parse().unwrap(),
        ] {
            assert!(placeholder(ip, Source::Peer).is_some(), "{ip}");
            assert!(placeholder(ip, Source::Configured).is_some(), "{ip}");
        }
        for ip in [
            v4(127, 0, 0, 1),
            v4(127, 0, 0, 53),
            v4(169, 254, 1, 1),
            v4(0, 1, 2, 3),
            "::1".parse().unwrap(),
            "fe80::1".parse().unwrap(),
        ] {
            assert!(placeholder(ip, Source::Peer).is_some(), "{ip}");
            assert_eq!(placeholder(ip, Source::Configured), None, "{ip}");
        }
        for ip in [
            v4(10, 11, 12, 12),
            v4(10, 11, 12, 15),
            v4(10, 0, 0, 1),
            v4(8, 8, 8, 8),
            v4(192, 0, 2, 1),
            "2001:db8::1".parse().unwrap(),
        ] {
            assert_eq!(placeholder(ip, Source::Peer), None, "{ip}");
        }
    }

    #[test]
    fn server_syntax() {
        assert_eq!(
            parse_server("192.0.2.1"),
            Some("192.0.2.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_server("127.0.0.1:5353"),
            Some("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(
            parse_server("2001:db8::1"),
            Some("[2001:db8::1]:53".parse().unwrap())
        );
        assert_eq!(parse_server("[::1]:99"), Some("[::1]:99".parse().unwrap()));
        for bad in ["", "dns.example", "1.2.3.4:", "1.2.3.4:99999", "1.2.3"] {
            assert_eq!(parse_server(bad), None, "{bad}");
        }
    }

    /// The probe on a scripted timeline: sends, resends, keeps listening
    /// past stale replies, reports the best it saw.
    #[test]
    fn probe_timeline() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let timing = Timing {
            timeout: Duration::from_millis(1000),
            tries: 2,
        };
        let mut p = Probe::new("probe.test", 0x1234, timing, t0).unwrap();
        let q = match p.poll(t0) {
            Action::Send(q) => q,
            a => panic!("{a:?}"),
        };
        assert_eq!(q, wire::build_query(0x1234, "probe.test").unwrap());
        assert_eq!(p.poll(ms(1)), Action::WaitUntil(ms(500)));
        assert!(matches!(p.poll(ms(500)), Action::Send(_)));
        assert_eq!(p.poll(ms(501)), Action::WaitUntil(ms(1000)));
        // A stale reply (another id) and garbage: noted, not final.
        p.on_datagram(&wire::build_response(
            0x9999,
            "probe.test",
            Rcode::NoError,
            &[],
        ));
        assert_eq!(p.poll(ms(600)), Action::WaitUntil(ms(1000)));
        p.on_datagram(b"\x12\x34junk");
        p.on_datagram(&wire::build_response(
            0x9999,
            "probe.test",
            Rcode::NoError,
            &[],
        ));
        match p.poll(ms(1000)) {
            Action::Done(Health::Error(d)) => assert!(d.contains("mismatched id"), "{d}"),
            a => panic!("{a:?}"),
        }
        // Silence: no-answer.
        let mut p = Probe::new("probe.test", 1, timing, t0).unwrap();
        let _ = p.poll(t0);
        assert_eq!(p.poll(ms(2000)), Action::Done(Health::NoAnswer));
        // Our answer: done at once.
        let mut p = Probe::new("probe.test", 2, timing, t0).unwrap();
        let _ = p.poll(t0);
        let a = [Ipv4Addr::new(192, 0, 2, 1)];
        p.on_datagram(&wire::build_response(2, "probe.test", Rcode::NoError, &a));
        assert_eq!(p.poll(ms(3)), Action::Done(Health::Ok));
        // Rcodes.
        for (rc, want) in [
            (Rcode::ServFail, Health::Error("SERVFAIL".into())),
            (Rcode::NxDomain, Health::Error("NXDOMAIN".into())),
            (Rcode::Refused, Health::Refused { by_server: true }),
            (
                Rcode::NoError,
                Health::Error("no A record for probe.test".into()),
            ),
        ] {
            let mut p = Probe::new("probe.test", 3, timing, t0).unwrap();
            p.on_datagram(&wire::build_response(3, "probe.test", rc, &[]));
            assert_eq!(p.poll(ms(1)), Action::Done(want));
        }
        // ICMP port unreachable.
        let mut p = Probe::new("probe.test", 4, timing, t0).unwrap();
        p.on_error(&io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(
            p.poll(ms(1)).clone(),
            Action::Done(Health::Refused { by_server: false })
        );
    }

    #[test]
    fn summary() {
        let srv = |a: &str| Server {
            addr: a.parse().unwrap(),
            source: Source::Peer,
        };
        let servers = [srv("10.11.12.13:53"), srv("192.0.2.53:53")];
        let s = summarize(&servers, &[Health::Bogus("x"), Health::Ok]);
        assert!(s.link_ok());
        assert_eq!(s.reason(), "10.11.12.13:53 bogus");
        let s = summarize(&servers, &[Health::Bogus("x"), Health::NoAnswer]);
        assert!(!s.link_ok());
        assert_eq!(s.reason(), "10.11.12.13:53 bogus, 192.0.2.53:53 no-answer");
        let s = summarize(&[], &[]);
        assert!(!s.link_ok());
        assert_eq!(s.reason(), "no DNS servers");
    }

    #[test]
    fn report_words() {
        assert_eq!(Health::Ok.to_string(), "ok");
        assert_eq!(Health::Bogus("x").to_string(), "bogus");
        assert_eq!(Health::NoAnswer.to_string(), "no-answer");
        assert_eq!(Health::Refused { by_server: true }.to_string(), "refused");
        assert_eq!(
            Health::Error("SERVFAIL".into()).to_string(),
            "error SERVFAIL"
        );
    }
}
