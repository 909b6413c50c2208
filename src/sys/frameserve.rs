//! A small poll(2) server for framed request/answer protocols, shared by
//! the signer (TCP), the ssh-agent (Unix socket) and the ticket service
//! (TCP). One thread, no thread per connection: each connection has an
//! input buffer and an output buffer. Who gets a connection, how many
//! each peer holds and when a silent one is closed is the shared
//! admission policy ([`crate::admit`]); a frame the handler calls bad
//! closes its connection.
//!
//! Frames are `uint32 len, body` (big-endian length) unless the handler
//! splits its input otherwise ([`Handler::split`]: the ticket service's
//! requests are fixed-size records).

use crate::admit;
use crate::sys::poll;
use std::any::Any;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    pub admit: admit::Limits,
    pub max_frame: usize,
}

/// Who connected: the admission policy's key and a name for logs.
#[derive(Debug, Clone)]
pub struct Peer {
    pub who: admit::Peer,
    pub name: String,
}

/// Something that accepts connections (non-blocking).
pub trait Listen {
    type Stream: Read + Write + AsRawFd + Send + 'static;
    fn fd(&self) -> RawFd;
    /// Ok(None) when nothing is pending.
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, Peer)>>;
}

impl Listen for std::net::TcpListener {
    type Stream = std::net::TcpStream;
    fn fd(&self) -> RawFd {
        self.as_raw_fd()
    }
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, Peer)>> {
        match self.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                let peer = Peer {
                    who: admit::Peer::Remote(a.ip()),
                    name: a.to_string(),
                };
                Ok(Some((s, peer)))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Listen for std::os::unix::net::UnixListener {
    type Stream = std::os::unix::net::UnixStream;
    fn fd(&self) -> RawFd {
        self.as_raw_fd()
    }
    /// The peer is its uid (SO_PEERCRED); a peer whose credentials cannot
    /// be read is closed at once.
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, Peer)>> {
        loop {
            match self.accept() {
                Ok((s, _)) => {
                    let Ok(c) = super::cred::peer(s.as_raw_fd()) else {
                        continue;
                    };
                    s.set_nonblocking(true)?;
                    let peer = Peer {
                        who: admit::Peer::Local {
                            uid: c.uid,
                            privileged: super::cred::privileged(c.uid),
                        },
                        name: format!("uid {} pid {}", c.uid, c.pid),
                    };
                    return Ok(Some((s, peer)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }
}

/// What to do after a frame.
pub enum Verdict {
    /// Send these bytes (already framed) and keep the connection.
    Send(Vec<u8>),
    /// Send these bytes, then close.
    SendClose(Vec<u8>),
    /// Close now.
    Close,
}

/// How the input buffered so far splits ([`Handler::split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Not a whole frame yet.
    Need,
    /// A frame: `len` bytes of body after `skip` bytes of header.
    Frame { skip: usize, len: usize },
    /// Not a frame of this protocol: close the connection.
    Bad,
}

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The peer hung up, or a read or write failed.
    Gone,
    /// Silent past the idle limit.
    Idle,
    /// A bad frame, or the handler's Close.
    Done,
    /// Closed to make room for a new connection of the same privileged
    /// peer ([`admit::Decision::EvictIdlest`]).
    Evicted,
}

/// The protocol side of a server.
pub trait Handler<S> {
    type Conn: Send + 'static;
    /// A new connection the admission policy let in; None refuses it
    /// (closed at once).
    fn open(&mut self, stream: &S, peer: &Peer) -> Option<Self::Conn>;
    /// How `buf` splits into frames; the default is `uint32 len, body`
    /// with bodies of 1 to `max_frame` bytes.
    fn split(&self, _conn: &Self::Conn, buf: &[u8], max_frame: usize) -> Split {
        length_prefixed(buf, max_frame)
    }
    /// One complete frame body.
    fn frame(&mut self, conn: &mut Self::Conn, body: &[u8]) -> Verdict;
    /// The connection is gone.
    fn closed(&mut self, conn: Self::Conn, peer: &Peer, why: Closed);
    /// The admission policy refused a connection (already logged).
    fn refused(&mut self, _peer: &Peer) {}
    /// One more descriptor to watch (a control socket) and what to do
    /// when it is readable.
    fn extra_fd(&self) -> Option<RawFd> {
        None
    }
    fn extra(&mut self) {}
}

/// `uint32 len, body`.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Split `uint32 len, body` frames; an empty or oversized body is bad.
pub fn length_prefixed(buf: &[u8], max_frame: usize) -> Split {
    let Some(&[a, b, c, d]) = buf.get(..4) else {
        return Split::Need;
    };
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    if len == 0 || len > max_frame {
        Split::Bad
    } else if buf.len() < 4 + len {
        Split::Need
    } else {
        Split::Frame { skip: 4, len }
    }
}

/// A listener, its handler and the open connections.
///
/// The loop itself ([`Core`]) is written once, without type parameters:
/// the signer, the agent and the ticket service share one copy of it (a
/// copy per handler was about 14 KB each on mips). It sees the listener
/// and the handler through [`Dispatch`], which [`Typed`] implements for
/// any `Listen` and `Handler`, and each connection's stream and state
/// through one [`Link`] box.
pub struct Server<L: Listen, H: Handler<L::Stream>> {
    pub listener: L,
    pub handler: H,
    core: Core,
}

impl<L: Listen, H: Handler<L::Stream>> Server<L, H> {
    pub fn new(listener: L, handler: H, limits: Limits) -> Self {
        Server {
            listener,
            handler,
            core: Core::new(limits),
        }
    }

    pub fn connections(&self) -> usize {
        self.core.conns.len()
    }

    pub fn limits(&self) -> &Limits {
        &self.core.limits
    }

    /// New limits (a reload); connections already open stay.
    pub fn set_limits(&mut self, limits: Limits) {
        self.core.admission.limits = limits.admit;
        self.core.limits = limits;
    }

    /// Serve until `stop` is readable (it is not drained).
    pub fn serve(&mut self, stop: RawFd) -> io::Result<()> {
        let mut typed = Typed::<L, H> {
            listener: &self.listener,
            handler: &mut self.handler,
        };
        self.core.serve(stop, &mut typed)
    }
}

/// One connection's stream and its handler's state, as the loop sees
/// them (only [`Typed`], which knows their types, touches the state).
trait Link {
    fn fd(&self) -> RawFd;
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    fn any(&mut self) -> &mut dyn Any;
}

/// The one implementation of [`Link`]: `state` is None until the
/// handler opened the connection, and again once it was told it closed.
struct Slot<S, C> {
    stream: S,
    state: Option<C>,
}

impl<S: Read + Write + AsRawFd + 'static, C: 'static> Link for Slot<S, C> {
    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn any(&mut self) -> &mut dyn Any {
        self
    }
}

/// The listener and the handler as the loop sees them, without their
/// types.
trait Dispatch {
    fn listen_fd(&self) -> RawFd;
    fn accept_one(&mut self) -> io::Result<Option<(Box<dyn Link + Send>, Peer)>>;
    /// [`Handler::open`]; false refuses the connection.
    fn open(&mut self, link: &mut dyn Link, peer: &Peer) -> bool;
    fn split(&self, link: &mut dyn Link, buf: &[u8], max_frame: usize) -> Split;
    fn frame(&mut self, link: &mut dyn Link, body: &[u8]) -> Verdict;
    fn closed(&mut self, link: &mut dyn Link, peer: &Peer, why: Closed);
    fn refused(&mut self, peer: &Peer);
    fn extra_fd(&self) -> Option<RawFd>;
    fn extra(&mut self);
}

/// The thin typed side: a `Listen` and a `Handler` as a [`Dispatch`].
struct Typed<'a, L, H> {
    listener: &'a L,
    handler: &'a mut H,
}

impl<L: Listen, H: Handler<L::Stream>> Typed<'_, L, H> {
    /// The link as this server made it. Every link the loop holds came
    /// from this server's own `accept_one`, so the type always matches.
    fn slot(link: &mut dyn Link) -> Option<&mut Slot<L::Stream, H::Conn>> {
        link.any().downcast_mut()
    }
}

impl<L: Listen, H: Handler<L::Stream>> Dispatch for Typed<'_, L, H> {
    fn listen_fd(&self) -> RawFd {
        self.listener.fd()
    }
    fn accept_one(&mut self) -> io::Result<Option<(Box<dyn Link + Send>, Peer)>> {
        Ok(self.listener.accept_one()?.map(|(stream, peer)| {
            let link: Box<dyn Link + Send> = Box::new(Slot::<L::Stream, H::Conn> {
                stream,
                state: None,
            });
            (link, peer)
        }))
    }
    fn open(&mut self, link: &mut dyn Link, peer: &Peer) -> bool {
        let Some(slot) = Self::slot(link) else {
            return false;
        };
        slot.state = self.handler.open(&slot.stream, peer);
        slot.state.is_some()
    }
    fn split(&self, link: &mut dyn Link, buf: &[u8], max_frame: usize) -> Split {
        match Self::slot(link).and_then(|s| s.state.as_ref()) {
            Some(c) => self.handler.split(c, buf, max_frame),
            None => Split::Bad,
        }
    }
    fn frame(&mut self, link: &mut dyn Link, body: &[u8]) -> Verdict {
        match Self::slot(link).and_then(|s| s.state.as_mut()) {
            Some(c) => self.handler.frame(c, body),
            None => Verdict::Close,
        }
    }
    fn closed(&mut self, link: &mut dyn Link, peer: &Peer, why: Closed) {
        if let Some(c) = Self::slot(link).and_then(|s| s.state.take()) {
            self.handler.closed(c, peer, why);
        }
    }
    fn refused(&mut self, peer: &Peer) {
        self.handler.refused(peer)
    }
    fn extra_fd(&self) -> Option<RawFd> {
        self.handler.extra_fd()
    }
    fn extra(&mut self) {
        self.handler.extra()
    }
}

struct Conn {
    link: Box<dyn Link + Send>,
    peer: Peer,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    close_after_write: bool,
    /// Answered and closing: our side is shut down, and what the peer
    /// still sends is read and dropped until it hangs up or this time,
    /// so a last answer is not lost to a reset (closing a socket with
    /// unread input sends RST, which discards what the peer has not read
    /// yet: a refusal sent while the client still uploads).
    linger: Option<Instant>,
    last: Instant,
}

/// How long a closing connection's leftover input is waited out.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// The poll loop, the admission policy and the open connections.
struct Core {
    limits: Limits,
    admission: admit::Admission,
    refusals: admit::Refusals,
    epoch: Instant,
    conns: Vec<Conn>,
}

impl Core {
    fn new(limits: Limits) -> Self {
        Core {
            admission: admit::Admission::new(limits.admit),
            limits,
            refusals: admit::Refusals::default(),
            epoch: Instant::now(),
            conns: Vec::new(),
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        now.duration_since(self.epoch).as_millis() as u64
    }

    fn serve(&mut self, stop: RawFd, d: &mut dyn Dispatch) -> io::Result<()> {
        let mut fds = Vec::new();
        loop {
            fds.clear();
            fds.push(poll::fd(stop, libc::POLLIN));
            fds.push(poll::fd(d.listen_fd(), libc::POLLIN));
            // -1 when there is none: poll ignores it
            fds.push(poll::fd(d.extra_fd().unwrap_or(-1), libc::POLLIN));
            for c in &self.conns {
                let ev = if c.out.is_empty() {
                    libc::POLLIN
                } else {
                    libc::POLLOUT
                };
                fds.push(poll::fd(c.link.fd(), ev));
            }
            let now = Instant::now();
            let idle = self
                .conns
                .iter()
                .filter_map(|c| match c.linger {
                    Some(t) => Some(t.saturating_duration_since(now)),
                    None => self.limits.admit.idle_left(now.duration_since(c.last)),
                })
                .min();
            let log = self.refusals.wait(self.millis(now));
            let timeout = match (idle, log) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            poll::poll(&mut fds, timeout)?;
            if fds.first().is_some_and(|f| f.revents != 0) {
                return Ok(());
            }
            let now = Instant::now();
            let mut keep = Vec::with_capacity(self.conns.len());
            let ready = fds.get(3..).unwrap_or(&[]);
            for (mut c, fd) in std::mem::take(&mut self.conns).into_iter().zip(ready) {
                let alive = if fd.revents != 0 {
                    self.service(&mut c, now, d)
                } else if c.linger.is_some_and(|t| now >= t) {
                    Err(Closed::Done)
                } else if c.linger.is_none()
                    && self
                        .limits
                        .admit
                        .idle_expired(now.duration_since(c.last), false)
                {
                    log::debug!("{}: idle, closed", c.peer.name);
                    Err(Closed::Idle)
                } else {
                    Ok(())
                };
                match alive {
                    Ok(()) => keep.push(c),
                    Err(why) => {
                        self.admission.closed(&c.peer.who);
                        d.closed(&mut *c.link, &c.peer, why);
                    }
                }
            }
            self.conns = keep;
            if fds.get(1).is_some_and(|f| f.revents != 0) {
                self.accept(now, d);
            }
            if fds.get(2).is_some_and(|f| f.revents != 0) {
                d.extra();
            }
            if let Some(line) = self.refusals.due(self.millis(Instant::now())) {
                log::warn!("{line}");
            }
        }
    }

    fn accept(&mut self, now: Instant, d: &mut dyn Dispatch) {
        loop {
            let (mut link, peer) = match d.accept_one() {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: log and try again on the next wake.
                    log::warn!("accept: {e}");
                    return;
                }
            };
            let why = match self.admission.decide(&peer.who) {
                admit::Decision::Admit => None,
                admit::Decision::EvictIdlest if self.evict_idlest(&peer.who, d) => None,
                admit::Decision::EvictIdlest => Some(admit::Why::PeerFull),
                admit::Decision::Refuse(why) => Some(why),
            };
            if let Some(why) = why {
                if let Some(line) = self.refusals.refused(peer.who, why, self.millis(now)) {
                    log::warn!("{line}");
                }
                d.refused(&peer);
                continue; // dropped: closed at once
            }
            if !d.open(&mut *link, &peer) {
                continue;
            }
            self.admission.opened(peer.who);
            self.conns.push(Conn {
                link,
                peer,
                inbuf: Vec::new(),
                out: Vec::new(),
                close_after_write: false,
                linger: None,
                last: now,
            });
        }
    }

    /// Close the longest-idle connection of `who` with nothing to send;
    /// false when every one is mid-answer.
    fn evict_idlest(&mut self, who: &admit::Peer, d: &mut dyn Dispatch) -> bool {
        let victim = self
            .conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.peer.who == *who && c.out.is_empty())
            .min_by_key(|(_, c)| c.last)
            .map(|(i, _)| i);
        let Some(i) = victim else {
            return false;
        };
        let mut c = self.conns.remove(i);
        log::debug!("{}: closed to make room", c.peer.name);
        self.admission.closed(&c.peer.who);
        d.closed(&mut *c.link, &c.peer, Closed::Evicted);
        true
    }

    /// Read, answer and write; Err to close.
    fn service(&mut self, c: &mut Conn, now: Instant, d: &mut dyn Dispatch) -> Result<(), Closed> {
        let mut buf = [0u8; 4096];
        if c.linger.is_some() {
            return match c.link.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                Ok(n) if n > 0 => Ok(()),
                _ => Err(Closed::Done), // the peer hung up (or broke)
            };
        }
        c.last = now;
        if !c.out.is_empty() {
            match c.link.write(&c.out) {
                Ok(n) => super::wipe::consume_front(&mut c.out, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(Closed::Gone),
            }
            if c.out.is_empty() && c.close_after_write {
                // SAFETY: shutdown(2) on the connection's own descriptor.
                unsafe { libc::shutdown(c.link.fd(), libc::SHUT_WR) };
                c.linger = Some(now + LINGER);
            }
            return Ok(());
        }
        match c.link.read(&mut buf) {
            Ok(0) => Err(Closed::Gone),
            Ok(n) => {
                c.inbuf.extend_from_slice(&buf[..n]);
                // Agent requests carry private keys: no copy on the stack.
                zeroize::Zeroize::zeroize(&mut buf[..n]);
                self.answer(c, d)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(_) => Err(Closed::Gone),
        }
    }

    /// Answer every whole frame buffered.
    fn answer(&mut self, c: &mut Conn, d: &mut dyn Dispatch) -> Result<(), Closed> {
        loop {
            let (skip, len) = match d.split(&mut *c.link, &c.inbuf, self.limits.max_frame) {
                Split::Need => return Ok(()),
                Split::Bad => {
                    log::debug!("{}: bad frame, closed", c.peer.name);
                    return Err(Closed::Done);
                }
                Split::Frame { skip, len } => (skip, len),
            };
            let body = zeroize::Zeroizing::new(
                c.inbuf
                    .get(skip..skip + len)
                    .map(<[u8]>::to_vec)
                    .ok_or(Closed::Done)?,
            );
            super::wipe::consume_front(&mut c.inbuf, skip + len);
            match d.frame(&mut *c.link, &body) {
                Verdict::Send(b) => c.out.extend_from_slice(&b),
                Verdict::SendClose(b) => {
                    c.out.extend_from_slice(&b);
                    c.close_after_write = true;
                    c.inbuf.clear();
                    return if c.out.is_empty() {
                        Err(Closed::Done)
                    } else {
                        Ok(())
                    };
                }
                Verdict::Close => return Err(Closed::Done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_frames_split() {
        assert_eq!(length_prefixed(&[0, 0], 10), Split::Need);
        assert_eq!(length_prefixed(&[0, 0, 0, 0], 10), Split::Bad);
        assert_eq!(length_prefixed(&[0, 0, 0, 11], 10), Split::Bad);
        assert_eq!(length_prefixed(&[0, 0, 0, 2, 9], 10), Split::Need);
        assert_eq!(
            length_prefixed(&[0, 0, 0, 2, 9, 9, 1], 10),
            Split::Frame { skip: 4, len: 2 }
        );
        assert_eq!(frame(&[7]), [0, 0, 0, 1, 7]);
    }

    /// Refuses the first frame with an answer and hangs up.
    struct Refuser;

    impl Handler<std::net::TcpStream> for Refuser {
        type Conn = ();
        fn open(&mut self, _: &std::net::TcpStream, _: &Peer) -> Option<()> {
            Some(())
        }
        fn frame(&mut self, _: &mut (), _: &[u8]) -> Verdict {
            Verdict::SendClose(frame(b"refused"))
        }
        fn closed(&mut self, _: (), _: &Peer, _: Closed) {}
    }

    /// A peer that is still sending when it is refused (an upload over a
    /// quota) reads the refusal: the closing side waits out its input
    /// instead of resetting the connection, which would discard the answer.
    #[test]
    fn a_refusal_reaches_a_peer_that_is_still_sending() {
        use std::time::Duration;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let limits = Limits {
            admit: admit::Limits {
                max_conns: 4,
                per_peer: 4,
                idle: Duration::from_secs(30),
            },
            max_frame: 64,
        };
        let mut srv = Server::new(l, Refuser, limits);
        let stop = std::sync::Arc::new(crate::sys::signals::Shutdown::new().unwrap());
        let st = stop.clone();
        let h = std::thread::spawn(move || srv.serve(st.fd()).unwrap());
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        // a frame, and the rest of the upload after the answer is out
        c.write_all(&frame(b"put")).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..16 {
            c.write_all(&[0u8; 4096]).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let r = c.read_to_end(&mut got);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(got, frame(b"refused"));
        stop.raise();
        h.join().unwrap();
    }
}
