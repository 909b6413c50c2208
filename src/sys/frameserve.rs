//! A small poll(2) server for length-prefixed frames (uint32 big-endian
//! length, then the body), shared by the signer (TCP) and the ssh-agent
//! (Unix socket). One thread, no thread per connection: each connection
//! has an input buffer and an output buffer; a silent connection is closed
//! after an idle timeout; past `max_conns` new connections are closed at
//! once; a frame longer than `max_frame` closes its connection.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_conns: usize,
    pub idle: Duration,
    pub max_frame: usize,
}

/// Something that accepts connections (non-blocking).
pub trait Listen {
    type Stream: Read + Write + AsRawFd;
    fn fd(&self) -> RawFd;
    /// Ok(None) when nothing is pending.
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, String)>>;
}

impl Listen for std::net::TcpListener {
    type Stream = std::net::TcpStream;
    fn fd(&self) -> RawFd {
        self.as_raw_fd()
    }
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, String)>> {
        match self.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                Ok(Some((s, a.to_string())))
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
    fn accept_one(&self) -> io::Result<Option<(Self::Stream, String)>> {
        match self.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(true)?;
                Ok(Some((s, "unix".into())))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
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

/// The protocol side of a server.
pub trait Handler<S> {
    type Conn;
    /// A new connection; None refuses it (closed at once).
    fn open(&mut self, stream: &S, peer: &str) -> Option<Self::Conn>;
    /// One complete frame body.
    fn frame(&mut self, conn: &mut Self::Conn, body: &[u8]) -> Verdict;
    /// The connection is gone (peer closed, idle, error or our Close).
    fn closed(&mut self, conn: Self::Conn, peer: &str);
}

/// `uint32 len, body`.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

struct Conn<S, C> {
    stream: S,
    peer: String,
    state: C,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    close_after_write: bool,
    last: Instant,
}

/// A listener, its handler and the open connections.
pub struct Server<L: Listen, H: Handler<L::Stream>> {
    pub listener: L,
    pub handler: H,
    pub limits: Limits,
    conns: Vec<Conn<L::Stream, H::Conn>>,
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

impl<L: Listen, H: Handler<L::Stream>> Server<L, H> {
    pub fn new(listener: L, handler: H, limits: Limits) -> Self {
        Server {
            listener,
            handler,
            limits,
            conns: Vec::new(),
        }
    }

    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Serve until `stop` is readable (it is not drained).
    pub fn serve(&mut self, stop: RawFd) -> io::Result<()> {
        loop {
            let mut fds = Vec::with_capacity(2 + self.conns.len());
            fds.push(pollfd(stop, libc::POLLIN));
            fds.push(pollfd(self.listener.fd(), libc::POLLIN));
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
            let mut keep = Vec::with_capacity(self.conns.len());
            for (mut c, fd) in std::mem::take(&mut self.conns).into_iter().zip(&fds[2..]) {
                let alive = if fd.revents != 0 {
                    self.service(&mut c, now)
                } else {
                    now.duration_since(c.last) < self.limits.idle
                };
                if alive {
                    keep.push(c);
                } else {
                    self.handler.closed(c.state, &c.peer);
                }
            }
            self.conns = keep;
            if fds[1].revents != 0 {
                self.accept(now);
            }
        }
    }

    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept_one() {
                Ok(Some((stream, peer))) => {
                    if self.conns.len() >= self.limits.max_conns {
                        log::warn!("{peer} refused, {} connections open", self.conns.len());
                        continue;
                    }
                    let Some(state) = self.handler.open(&stream, &peer) else {
                        continue;
                    };
                    self.conns.push(Conn {
                        stream,
                        peer,
                        state,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        close_after_write: false,
                        last: now,
                    });
                }
                Ok(None) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("accept: {e}");
                    return;
                }
            }
        }
    }

    /// Read, answer and write; false to close.
    fn service(&mut self, c: &mut Conn<L::Stream, H::Conn>, now: Instant) -> bool {
        c.last = now;
        if !c.out.is_empty() {
            match c.stream.write(&c.out) {
                Ok(n) => super::wipe::consume_front(&mut c.out, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
            return !(c.out.is_empty() && c.close_after_write);
        }
        let mut buf = [0u8; 4096];
        match c.stream.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                c.inbuf.extend_from_slice(&buf[..n]);
                // Agent requests carry private keys: no copy on the stack.
                zeroize::Zeroize::zeroize(&mut buf[..n]);
                loop {
                    let Some(len) = c.inbuf.get(..4) else {
                        return true;
                    };
                    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                    if len == 0 || len > self.limits.max_frame {
                        log::debug!("{}: frame of {len} bytes refused", c.peer);
                        return false;
                    }
                    if c.inbuf.len() < 4 + len {
                        return true;
                    }
                    let body = c.inbuf[4..4 + len].to_vec();
                    super::wipe::consume_front(&mut c.inbuf, 4 + len);
                    match self.handler.frame(&mut c.state, &body) {
                        Verdict::Send(b) => c.out.extend_from_slice(&b),
                        Verdict::SendClose(b) => {
                            c.out.extend_from_slice(&b);
                            c.close_after_write = true;
                            c.inbuf.clear();
                            return !c.out.is_empty();
                        }
                        Verdict::Close => return false,
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => false,
        }
    }
}
