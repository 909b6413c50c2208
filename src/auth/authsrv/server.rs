//! The ticket service on TCP (port 567, "ticket"), served by
//! [`frameserve`](crate::sys::frameserve) in one poll loop with the other
//! request/answer services: each connection sends fixed-size requests
//! (141 bytes, or what the exchange in progress waits for) and gets
//! answers; a client that stalls is dropped after an idle timeout, each
//! address has its own cap, a full house turns new connections away at
//! once ([`crate::admit`]), and nothing a client sends can block the
//! others. The control socket (`status`, `capuse CAP`) is the loop's
//! extra descriptor.

use super::decide::{Accounts, Reply, SpeaksFor};
use super::exchanges::Session;
use super::local::Local;
use crate::sys::frameserve::{self, Closed, Handler, Peer, Split, Verdict};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::time::Duration;

/// The ticket service's connection limits: the shared policy's
/// ([`crate::admit::Limits`], `authsrv max_conns`, `peer_conns`,
/// `idle_timeout`).
pub type Limits = crate::admit::Limits;

/// Counters for `warden authsrv status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub tickets: u64,
    pub refused: u64,
    pub timeouts: u64,
    /// Requests answered with AuthErr or closed as malformed.
    pub errors: u64,
    /// Failed proofs (challenge/response, password change, a PAK key
    /// that does not decode) recorded against accounts.
    pub failures: u64,
    /// AuthPAK exchanges completed (dp9ik).
    pub paks: u64,
}

/// The protocol side: accounts, policy, counters.
pub struct Tickets {
    /// `<run_dir>/authsrv`: `status` and `capuse CAP`, root and the
    /// daemon's uid only.
    control: Option<UnixListener>,
    accounts: Arc<dyn Accounts + Send + Sync>,
    speaks: SpeaksFor,
    authdom: String,
    allow_passwd: bool,
    /// The capability table capuse trades in.
    local: Local,
    p9sk1: bool,
    open: usize,
    pub stats: Stats,
}

/// One connection: its peer (for logs) and the exchange in progress.
pub struct Conn {
    peer: String,
    session: Session,
}

pub struct TicketServer {
    server: frameserve::Server<TcpListener, Tickets>,
}

impl TicketServer {
    pub fn bind(
        addr: &str,
        accounts: Arc<dyn Accounts + Send + Sync>,
        speaks: SpeaksFor,
        limits: Limits,
    ) -> io::Result<TicketServer> {
        let listener = TcpListener::bind(crate::dns::resolve::resolve(addr)?)?;
        listener.set_nonblocking(true)?;
        let tickets = Tickets {
            control: None,
            accounts,
            speaks,
            authdom: String::new(),
            allow_passwd: false,
            local: Local::default(),
            p9sk1: true,
            open: 0,
            stats: Stats::default(),
        };
        let limits = frameserve::Limits {
            admit: limits,
            max_frame: 0,
        };
        Ok(TicketServer {
            server: frameserve::Server::new(listener, tickets, limits),
        })
    }

    /// The domain named in apop challenges, and whether AuthPass is served.
    pub fn with_options(mut self, authdom: &str, allow_passwd: bool) -> TicketServer {
        self.server.handler.authdom = authdom.to_string();
        self.server.handler.allow_passwd = allow_passwd;
        self
    }

    /// Whether DES (p9sk1) tickets are given (`option p9sk1`).
    pub fn with_p9sk1(mut self, on: bool) -> TicketServer {
        self.server.handler.p9sk1 = on;
        self
    }

    /// Answer `status` on `l` too, and `capuse` from `local`'s table.
    pub fn with_control(mut self, l: UnixListener, local: Local) -> io::Result<TicketServer> {
        l.set_nonblocking(true)?;
        self.server.handler.control = Some(l);
        self.server.handler.local = local;
        Ok(self)
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.server.handler.stats
    }

    /// The counters as `name: value` lines.
    pub fn status_text(&self) -> String {
        self.server.handler.status_text()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.listener.local_addr()
    }

    /// Serve until `stop` becomes readable.
    pub fn serve(&mut self, stop: RawFd) -> io::Result<()> {
        self.server.serve(stop)
    }
}

impl Tickets {
    fn status_text(&self) -> String {
        format!(
            "connections: {}\nopen: {}\ntickets: {}\npaks: {}\nrefused: {}\ntimeouts: {}\nerrors: {}\nfailures: {}\n",
            self.stats.connections,
            self.open,
            self.stats.tickets,
            self.stats.paks,
            self.stats.refused,
            self.stats.timeouts,
            self.stats.errors,
            self.stats.failures,
        )
    }

    fn control(&mut self) {
        let Some(l) = &self.control else { return };
        while let Ok((mut s, _)) = l.accept() {
            let admitted = crate::sys::cred::peer(s.as_raw_fd())
                .is_ok_and(|p| crate::sys::cred::privileged(p.uid));
            if !admitted {
                continue;
            }
            // a local, root-or-owner client gets a short deadline; it
            // cannot hold the loop longer than that
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 512];
            let mut n = 0;
            while n < buf.len() {
                match s.read(&mut buf[n..]) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => {
                        n += k;
                        if buf[..n].contains(&b'\n') {
                            break;
                        }
                    }
                }
            }
            let line = String::from_utf8_lossy(&buf[..n]);
            let line = line.trim_end_matches(['\n', '\0']);
            let answer = if line == "status" {
                self.status_text()
            } else if let Some(cap) = line.strip_prefix("capuse ") {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                match self.local.capuse(cap, now) {
                    Ok((from, to)) => {
                        log::info!("capuse: {from} may become {to}");
                        format!("ok {to}\n")
                    }
                    Err(e) => format!("error {e}\n"),
                }
            } else {
                "error unknown request (status, capuse CAP)\n".to_string()
            };
            buf.fill(0);
            let _ = s.write_all(answer.as_bytes());
        }
    }
}

impl Handler<TcpStream> for Tickets {
    type Conn = Conn;

    fn open(&mut self, _stream: &TcpStream, peer: &Peer) -> Option<Conn> {
        self.stats.connections += 1;
        self.open += 1;
        let mut session = Session::new(&self.authdom, self.allow_passwd);
        session.des = self.p9sk1;
        Some(Conn {
            peer: peer.name.clone(),
            session,
        })
    }

    /// A request is what the exchange in progress waits for: a ticket
    /// request, a challenge's answer, a password change.
    fn split(&self, c: &Conn, buf: &[u8], _max_frame: usize) -> Split {
        let want = c.session.want();
        if buf.len() < want {
            Split::Need
        } else {
            Split::Frame { skip: 0, len: want }
        }
    }

    fn frame(&mut self, c: &mut Conn, req: &[u8]) -> Verdict {
        let mut no_random = false;
        let mut random = |b: &mut [u8]| {
            if crate::sys::random::fill(b).is_err() {
                no_random = true;
            }
        };
        let (before, paks) = (c.session.failures, c.session.paks);
        let (mut reply, logged) =
            c.session
                .input(req, self.accounts.as_ref(), &self.speaks, &mut random);
        self.stats.failures += c.session.failures - before;
        if c.session.paks > paks {
            self.stats.paks += c.session.paks - paks;
            log::info!("pak: {} (authpak for {})", c.peer, c.session.pak.names());
        }
        if no_random {
            // Without fresh keys no ticket may leave.
            reply = Reply::Close(
                super::wire::auth_err("auth server error").to_vec(),
                "getrandom failed".into(),
            );
        }
        if let Some(l) = logged {
            if l.problems.is_empty() {
                self.stats.tickets += 1;
                log::info!(
                    "ticket: {} for {}@{} (authid {})",
                    c.peer,
                    l.uid,
                    l.hostid,
                    l.authid
                );
            } else {
                log::warn!(
                    "ticket: {} for {}@{} (authid {}): {}",
                    c.peer,
                    l.uid,
                    l.hostid,
                    l.authid,
                    l.problems.join(", ")
                );
            }
        }
        match reply {
            Reply::Send(b) => Verdict::Send(b),
            Reply::Close(b, why) => {
                self.stats.errors += 1;
                log::warn!("ticket: {}: {why}; closing", c.peer);
                Verdict::SendClose(b)
            }
        }
    }

    fn closed(&mut self, c: Conn, _peer: &Peer, why: Closed) {
        self.open = self.open.saturating_sub(1);
        if why == Closed::Idle {
            self.stats.timeouts += 1;
            log::debug!("ticket: {} idle, closed", c.peer);
        }
    }

    fn refused(&mut self, _peer: &Peer) {
        self.stats.connections += 1;
        self.stats.refused += 1;
    }

    fn extra_fd(&self) -> Option<RawFd> {
        self.control.as_ref().map(|c| c.as_raw_fd())
    }

    fn extra(&mut self) {
        self.control();
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::{types, Ticket, Ticketreq, TICKETLEN};
    use super::*;
    use crate::sys::signals::Shutdown;
    use std::collections::HashMap;
    use std::thread;

    struct Db(HashMap<&'static str, [u8; 7]>);

    impl Accounts for Db {
        fn des_key(&self, user: &str) -> Option<[u8; 7]> {
            self.0.get(user).copied()
        }
    }

    fn start(limits: Limits) -> (SocketAddr, Arc<Shutdown>, thread::JoinHandle<Stats>) {
        let db = Arc::new(Db(HashMap::from([("bootes", [1; 7]), ("glenda", [2; 7])])));
        let mut srv = TicketServer::bind("127.0.0.1:0", db, SpeaksFor::default(), limits).unwrap();
        let addr = srv.local_addr().unwrap();
        let stop = Arc::new(Shutdown::new().unwrap());
        let s2 = stop.clone();
        let h = thread::spawn(move || {
            srv.serve(s2.fd()).unwrap();
            srv.stats().clone()
        });
        (addr, stop, h)
    }

    fn treq(uid: &str) -> Vec<u8> {
        Ticketreq {
            ty: types::AUTH_TREQ,
            authid: "bootes".into(),
            authdom: "lan".into(),
            chal: *b"01234567",
            hostid: uid.into(),
            uid: uid.into(),
        }
        .emit()
        .unwrap()
        .to_vec()
    }

    fn ask(s: &mut TcpStream, req: &[u8]) -> Vec<u8> {
        s.write_all(req).unwrap();
        let mut b = vec![0u8; 1 + 2 * TICKETLEN];
        s.read_exact(&mut b).unwrap();
        b
    }

    #[test]
    fn answers_requests_and_keeps_serving_others() {
        let (addr, stop, h) = start(Limits {
            idle: Duration::from_millis(300),
            ..crate::config::Config::default().authsrv.conns
        });
        // A client that sends half a request and stalls.
        let mut staller = TcpStream::connect(addr).unwrap();
        staller.write_all(&treq("glenda")[..50]).unwrap();
        // A client that vanishes mid-request.
        let mut gone = TcpStream::connect(addr).unwrap();
        gone.write_all(&[1; 20]).unwrap();
        drop(gone);
        // A good client, two requests on one connection, byte by byte for
        // the second.
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let r = ask(&mut c, &treq("glenda"));
        assert_eq!(r[0], types::AUTH_OK);
        let t = Ticket::open(&r[1..73], &[2; 7]).unwrap();
        assert_eq!(t.num, types::AUTH_TC);
        assert_eq!(t.suid, "glenda");
        for b in treq("glenda") {
            c.write_all(&[b]).unwrap();
        }
        let mut again = vec![0u8; 145];
        c.read_exact(&mut again).unwrap();
        assert_eq!(again[0], types::AUTH_OK);
        // Garbage type: AuthErr and close.
        let mut g = TcpStream::connect(addr).unwrap();
        g.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut bad = treq("glenda");
        bad[0] = 99;
        g.write_all(&bad).unwrap();
        let mut e = Vec::new();
        g.read_to_end(&mut e).unwrap();
        assert_eq!(e.len(), 65);
        assert_eq!(e[0], types::AUTH_ERR);
        // The staller is cut off after the idle time.
        staller
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sink = Vec::new();
        assert_eq!(staller.read_to_end(&mut sink).unwrap_or(0), 0);
        stop.raise();
        let stats = h.join().unwrap();
        assert_eq!(stats.tickets, 2);
        assert!(stats.timeouts >= 1);
    }

    #[test]
    fn a_full_house_refuses_at_once() {
        let (addr, stop, h) = start(Limits {
            max_conns: 4,
            per_peer: 4,
            idle: Duration::from_secs(30),
        });
        let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
        // Let the server accept them.
        let mut probe = None;
        for _ in 0..100 {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut b = [0u8; 1];
            if let Ok(0) = s.read(&mut b) {
                probe = Some(());
                break;
            }
        }
        assert!(probe.is_some(), "the fifth connection was not closed");
        drop(idle);
        // Slots free up again.
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut ok = false;
        for _ in 0..100 {
            match c.write_all(&treq("glenda")).and_then(|_| {
                let mut b = vec![0u8; 145];
                c.read_exact(&mut b).map(|_| b)
            }) {
                Ok(b) if b[0] == types::AUTH_OK => {
                    ok = true;
                    break;
                }
                _ => {
                    thread::sleep(Duration::from_millis(20));
                    c = TcpStream::connect(addr).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                }
            }
        }
        assert!(ok);
        stop.raise();
        assert!(h.join().unwrap().refused >= 1);
    }
}
