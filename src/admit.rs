//! Who gets a connection: the admission policy every socket of the daemon
//! shares (the factotum's and keyfs's 9P sockets, the ssh-agent, the
//! ticket service and the signer on TCP). Sans-IO: the listeners report
//! connections opening and closing and ask what to do; this module keeps
//! the counts and decides.
//!
//! The rules, in order:
//! - each peer (a uid on a Unix socket, an address on TCP) holds at most
//!   `per_peer` connections, so no one peer fills the house;
//! - all unprivileged peers together hold at most `max_conns`;
//! - root and the socket's owner (privileged) are counted apart and are
//!   never shut out by others: at their own `per_peer` cap the listener
//!   closes their longest-idle connection that waits on nothing
//!   ([`Decision::EvictIdlest`]) to make room, so a runaway script of the
//!   admin cannot lock out `warden key` either;
//! - a connection silent for `idle` that waits on nothing is closed
//!   (the listener asks [`Limits::idle_expired`]);
//! - refusals are logged at most once a second, with a count
//!   ([`Refusals`]).

use core::net::IpAddr;
use core::time::Duration;

/// The limits of one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections of all unprivileged peers together.
    pub max_conns: usize,
    /// Connections of any one peer (privileged ones too: they then make
    /// room by closing their idlest connection).
    pub per_peer: usize,
    /// A connection silent this long that waits on nothing is closed;
    /// zero: never.
    pub idle: Duration,
}

impl Limits {
    /// Is a connection silent for `silent`, and waiting on nothing, to be
    /// closed?
    pub fn idle_expired(&self, silent: Duration, waiting: bool) -> bool {
        !waiting && !self.idle.is_zero() && silent >= self.idle
    }

    /// How long until a connection silent for `silent` expires (None:
    /// never); a listener's poll timeout.
    pub fn idle_left(&self, silent: Duration) -> Option<Duration> {
        (!self.idle.is_zero()).then(|| self.idle.saturating_sub(silent))
    }
}

/// A connecting peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A local peer by uid; `privileged` for root and the socket's owner.
    Local { uid: u32, privileged: bool },
    /// A network peer by address.
    Remote(IpAddr),
}

impl Peer {
    fn privileged(&self) -> bool {
        matches!(
            self,
            Peer::Local {
                privileged: true,
                ..
            }
        )
    }
}

impl core::fmt::Display for Peer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Peer::Local { uid, .. } => write!(f, "uid {uid}"),
            Peer::Remote(a) => write!(f, "{a}"),
        }
    }
}

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Serve it ([`Admission::opened`] it then).
    Admit,
    /// A privileged peer at its cap: close that peer's longest-idle
    /// connection that waits on nothing, then serve this one; if every
    /// one of them is busy, refuse.
    EvictIdlest,
    /// Close it at once.
    Refuse(Why),
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The peer holds `per_peer` connections.
    PeerFull,
    /// Unprivileged peers hold `max_conns` together.
    HouseFull,
}

/// Counts of open connections, per peer and in all.
#[derive(Debug, Clone)]
pub struct Admission {
    pub limits: Limits,
    /// (peer, connections): a few entries (one per uid or address with
    /// a connection open), so a vector searched in order.
    per_peer: Vec<(Peer, usize)>,
    /// Unprivileged connections in all.
    unprivileged: usize,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        Admission {
            limits,
            per_peer: Vec::new(),
            unprivileged: 0,
        }
    }

    /// Connections `peer` holds now.
    pub fn held(&self, peer: &Peer) -> usize {
        self.per_peer
            .iter()
            .find(|(p, _)| p == peer)
            .map_or(0, |(_, n)| *n)
    }

    /// Should a new connection from `peer` be served?
    pub fn decide(&self, peer: &Peer) -> Decision {
        let held = self.held(peer);
        if peer.privileged() {
            if held >= self.limits.per_peer.max(1) {
                return Decision::EvictIdlest;
            }
            return Decision::Admit;
        }
        if held >= self.limits.per_peer {
            Decision::Refuse(Why::PeerFull)
        } else if self.unprivileged >= self.limits.max_conns {
            Decision::Refuse(Why::HouseFull)
        } else {
            Decision::Admit
        }
    }

    /// A connection from `peer` is now served.
    pub fn opened(&mut self, peer: Peer) {
        match self.per_peer.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, n)) => *n += 1,
            None => self.per_peer.push((peer, 1)),
        }
        if !peer.privileged() {
            self.unprivileged += 1;
        }
    }

    /// A connection from `peer` closed.
    pub fn closed(&mut self, peer: &Peer) {
        let Some(i) = self.per_peer.iter().position(|(p, _)| p == peer) else {
            return;
        };
        if let Some((_, n)) = self.per_peer.get_mut(i) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.swap_remove(i);
            }
        }
        if !peer.privileged() {
            self.unprivileged = self.unprivileged.saturating_sub(1);
        }
    }
}

/// Refusals, logged at most once a second: the first at once, the rest
/// as a count when a second has passed ([`Refusals::due`]).
#[derive(Debug, Clone, Default)]
pub struct Refusals {
    /// Refused since the last line.
    unlogged: u64,
    /// When the last line was due (ms on the caller's clock).
    last: Option<u64>,
    /// The latest refusal's peer and reason, for the line.
    latest: Option<(Peer, Why)>,
}

impl Refusals {
    /// A refusal at `now_ms`: returns the line to log now, if one is due.
    pub fn refused(&mut self, peer: Peer, why: Why, now_ms: u64) -> Option<String> {
        self.unlogged += 1;
        self.latest = Some((peer, why));
        self.due(now_ms)
    }

    /// The line to log at `now_ms`, if refusals are unlogged and the last
    /// line is a second old.
    pub fn due(&mut self, now_ms: u64) -> Option<String> {
        if self.unlogged == 0 || self.last.is_some_and(|t| now_ms < t.saturating_add(1000)) {
            return None;
        }
        let (peer, why) = self.latest?;
        let why = match why {
            Why::PeerFull => "holds its limit of connections",
            Why::HouseFull => "came to a full house",
        };
        let line = if self.unlogged == 1 {
            format!("refused a connection: {peer} {why}")
        } else {
            format!(
                "refused {} connections in the last second (the latest: {peer} {why})",
                self.unlogged
            )
        };
        self.unlogged = 0;
        self.last = Some(now_ms);
        Some(line)
    }

    /// How long until a pending count is due (a listener's poll timeout).
    pub fn wait(&self, now_ms: u64) -> Option<Duration> {
        (self.unlogged > 0).then(|| {
            let at = self.last.map_or(now_ms, |t| t.saturating_add(1000));
            Duration::from_millis(at.saturating_sub(now_ms))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_conns: 4,
        per_peer: 2,
        idle: Duration::from_secs(10),
    };

    fn uid(u: u32) -> Peer {
        Peer::Local {
            uid: u,
            privileged: false,
        }
    }
    const ROOT: Peer = Peer::Local {
        uid: 0,
        privileged: true,
    };

    #[test]
    fn each_peer_has_its_cap_and_the_house_its_own() {
        let mut a = Admission::new(L);
        for _ in 0..2 {
            assert_eq!(a.decide(&uid(7)), Decision::Admit);
            a.opened(uid(7));
        }
        assert_eq!(a.decide(&uid(7)), Decision::Refuse(Why::PeerFull));
        a.opened(uid(8));
        a.opened(uid(8));
        // the house is full for every unprivileged peer
        assert_eq!(a.decide(&uid(9)), Decision::Refuse(Why::HouseFull));
        // root is counted apart: a full house does not shut it out
        assert_eq!(a.decide(&ROOT), Decision::Admit);
        a.opened(ROOT);
        a.opened(ROOT);
        // at its own cap root makes room instead of being refused
        assert_eq!(a.decide(&ROOT), Decision::EvictIdlest);
        assert_eq!(a.held(&ROOT), 2);
        a.closed(&uid(8));
        assert_eq!(a.decide(&uid(9)), Decision::Admit);
        assert_eq!(a.decide(&uid(8)), Decision::Admit);
        a.closed(&uid(8));
        a.closed(&uid(8));
        assert_eq!(a.held(&uid(8)), 0);
        // closing what never opened changes nothing
        a.closed(&uid(42));
        assert_eq!(a.decide(&uid(7)), Decision::Refuse(Why::PeerFull));
    }

    #[test]
    fn remote_peers_are_counted_by_address() {
        let mut a = Admission::new(L);
        let p = Peer::Remote(IpAddr::from([192, 168, 1, 9]));
        let q = Peer::Remote(IpAddr::from([192, 168, 1, 10]));
        a.opened(p);
        a.opened(p);
        assert_eq!(a.decide(&p), Decision::Refuse(Why::PeerFull));
        assert_eq!(a.decide(&q), Decision::Admit);
        assert_eq!(p.to_string(), "192.168.1.9");
    }

    #[test]
    fn idle_connections_that_wait_on_nothing_expire() {
        assert!(!L.idle_expired(Duration::from_secs(9), false));
        assert!(L.idle_expired(Duration::from_secs(10), false));
        // a pending read (key confirm, needkey) is not idleness
        assert!(!L.idle_expired(Duration::from_secs(3600), true));
        let never = Limits {
            idle: Duration::ZERO,
            ..L
        };
        assert!(!never.idle_expired(Duration::from_secs(1 << 40), false));
        assert_eq!(never.idle_left(Duration::ZERO), None);
        assert_eq!(
            L.idle_left(Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(L.idle_left(Duration::from_secs(40)), Some(Duration::ZERO));
    }

    #[test]
    fn refusals_are_logged_once_a_second_with_a_count() {
        let mut r = Refusals::default();
        assert_eq!(r.wait(0), None);
        let first = r.refused(uid(7), Why::PeerFull, 1000).unwrap();
        assert_eq!(
            first,
            "refused a connection: uid 7 holds its limit of connections"
        );
        for t in 1001..1500 {
            assert_eq!(r.refused(uid(7), Why::PeerFull, t), None);
        }
        assert_eq!(r.wait(1500), Some(Duration::from_millis(500)));
        assert_eq!(r.due(1999), None);
        let line = r.due(2000).unwrap();
        assert_eq!(
            line,
            "refused 499 connections in the last second (the latest: uid 7 holds its limit of connections)"
        );
        assert_eq!(r.due(5000), None);
        assert_eq!(r.wait(5000), None);
        // quiet for a while: the next refusal is logged at once
        assert!(r.refused(uid(9), Why::HouseFull, 9000).is_some());
    }
}
