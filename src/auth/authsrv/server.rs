//! The ticket service on TCP (port 567, "ticket"): one poll(2) loop, no
//! thread per connection. Each connection sends 141-byte requests and gets
//! answers; a client that stalls is dropped after an idle timeout, a full
//! house turns new connections away at once, and nothing a client sends
//! can block the others.

use super::decide::{Accounts, Reply, SpeaksFor, REQUEST_LEN};
use super::exchanges::Session;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_conns: usize,
    /// A connection silent this long (mid-request or between requests) is
    /// closed.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_conns: 128,
            idle: Duration::from_secs(10),
        }
    }
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    inbuf: Vec<u8>,
    session: Session,
    out: Vec<u8>,
    close_after_write: bool,
    last: Instant,
}

/// Counters for `warden authsrv status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub tickets: u64,
    pub refused: u64,
    pub timeouts: u64,
    /// Requests answered with AuthErr or closed as malformed.
    pub errors: u64,
    /// Failed proofs (challenge/response, password change) recorded
    /// against accounts.
    pub failures: u64,
}

pub struct TicketServer {
    listener: TcpListener,
    /// `<run_dir>/authsrv`: `status` and `capuse CAP`, root and the
    /// daemon's uid only.
    control: Option<UnixListener>,
    accounts: Arc<dyn Accounts + Send + Sync>,
    speaks: SpeaksFor,
    limits: Limits,
    conns: Vec<Conn>,
    authdom: String,
    allow_passwd: bool,
    pub stats: Stats,
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
        Ok(TicketServer {
            listener,
            control: None,
            accounts,
            speaks,
            limits,
            conns: Vec::new(),
            authdom: String::new(),
            allow_passwd: false,
            stats: Stats::default(),
        })
    }

    /// The domain named in apop challenges, and whether AuthPass is served.
    pub fn with_options(mut self, authdom: &str, allow_passwd: bool) -> TicketServer {
        self.authdom = authdom.to_string();
        self.allow_passwd = allow_passwd;
        self
    }

    /// Answer `status` and `capuse` on `l` too.
    pub fn with_control(mut self, l: UnixListener) -> io::Result<TicketServer> {
        l.set_nonblocking(true)?;
        self.control = Some(l);
        Ok(self)
    }

    /// The counters as `name: value` lines.
    pub fn status_text(&self) -> String {
        format!(
            "connections: {}\nopen: {}\ntickets: {}\nrefused: {}\ntimeouts: {}\nerrors: {}\nfailures: {}\n",
            self.stats.connections,
            self.conns.len(),
            self.stats.tickets,
            self.stats.refused,
            self.stats.timeouts,
            self.stats.errors,
            self.stats.failures,
        )
    }

    fn control(&mut self) {
        let Some(l) = &self.control else { return };
        while let Ok((mut s, _)) = l.accept() {
            let admitted = crate::ninep::unix::peer_cred(s.as_raw_fd())
                .ok()
                .and_then(|p| crate::ninep::unix::PeerPolicy::owner_only().admits(&p))
                .is_some();
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
                match super::local::capuse(cap, now) {
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

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `stop` becomes readable.
    pub fn serve(&mut self, stop: RawFd) -> io::Result<()> {
        loop {
            let mut fds = Vec::with_capacity(3 + self.conns.len());
            fds.push(pollfd(stop, libc::POLLIN));
            fds.push(pollfd(self.listener.as_raw_fd(), libc::POLLIN));
            // -1 when there is no control socket: poll ignores it
            fds.push(pollfd(
                self.control.as_ref().map_or(-1, |c| c.as_raw_fd()),
                libc::POLLIN,
            ));
            for c in &self.conns {
                let ev = if c.out.is_empty() {
                    libc::POLLIN
                } else {
                    libc::POLLOUT
                };
                fds.push(pollfd(c.stream.as_raw_fd(), ev));
            }
            let now = Instant::now();
            let timeout = self
                .conns
                .iter()
                .map(|c| (c.last + self.limits.idle).saturating_duration_since(now))
                .min();
            let ms = timeout.map_or(-1, |t| t.as_millis().min(60_000) as i32 + 1);
            // SAFETY: `fds` is a valid array of pollfd for the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if fds[0].revents != 0 {
                return Ok(());
            }
            let now = Instant::now();
            // Connections first (their indices match fds[3..]), then accept.
            let mut keep = Vec::with_capacity(self.conns.len());
            for (mut c, fd) in std::mem::take(&mut self.conns).into_iter().zip(&fds[3..]) {
                let alive = if fd.revents != 0 {
                    self.service(&mut c, now)
                } else if now.duration_since(c.last) >= self.limits.idle {
                    self.stats.timeouts += 1;
                    log::debug!("ticket: {} idle, closed", c.peer);
                    false
                } else {
                    true
                };
                if alive {
                    keep.push(c);
                }
            }
            self.conns = keep;
            if fds[1].revents != 0 {
                self.accept(now);
            }
            if fds[2].revents != 0 {
                self.control();
            }
        }
    }

    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    self.stats.connections += 1;
                    if self.conns.len() >= self.limits.max_conns {
                        self.stats.refused += 1;
                        log::warn!(
                            "ticket: {peer} refused, {} connections open",
                            self.conns.len()
                        );
                        continue; // dropped: closed at once
                    }
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    self.conns.push(Conn {
                        stream,
                        peer,
                        inbuf: Vec::with_capacity(REQUEST_LEN),
                        session: Session::new(&self.authdom, self.allow_passwd),
                        out: Vec::new(),
                        close_after_write: false,
                        last: now,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: log and try again on the next wake.
                    log::warn!("ticket: accept: {e}");
                    return;
                }
            }
        }
    }

    /// Read and answer what the connection sent; false to close it.
    fn service(&mut self, c: &mut Conn, now: Instant) -> bool {
        c.last = now;
        if !c.out.is_empty() {
            match c.stream.write(&c.out) {
                Ok(n) => crate::sys::wipe::consume_front(&mut c.out, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
            return !(c.out.is_empty() && c.close_after_write);
        }
        let mut buf = [0u8; 256];
        let need = c.session.want();
        let want = need.saturating_sub(c.inbuf.len()).min(buf.len());
        match c.stream.read(&mut buf[..want]) {
            Ok(0) => false,
            Ok(n) => {
                c.inbuf.extend_from_slice(&buf[..n]);
                zeroize::Zeroize::zeroize(&mut buf[..n]);
                if c.inbuf.len() < need {
                    return true;
                }
                let req = std::mem::take(&mut c.inbuf);
                let mut no_random = false;
                let mut random = |b: &mut [u8]| {
                    if crate::sys::random::fill(b).is_err() {
                        no_random = true;
                    }
                };
                let before = c.session.failures;
                let (mut reply, logged) =
                    c.session
                        .input(&req, self.accounts.as_ref(), &self.speaks, &mut random);
                self.stats.failures += c.session.failures - before;
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
                    Reply::Send(b) => {
                        c.out = b;
                        true
                    }
                    Reply::Close(b, why) => {
                        self.stats.errors += 1;
                        log::warn!("ticket: {}: {why}; closing", c.peer);
                        c.out = b;
                        c.close_after_write = true;
                        !c.out.is_empty()
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => false,
        }
    }
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
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
            srv.stats
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
            ..Limits::default()
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
