//! A small 9P2000 client: the session logic sans-IO ([`Session`] makes
//! requests and checks replies) and a blocking Unix-socket transport
//! ([`Conn`]) for the command line (`warden key`, `warden rpc`).
//!
//! It speaks as plan9port's `9p` does: Tversion, Tattach with no auth,
//! then walk/open/read/write/clunk on fids it allocates.

use super::fcall::{self, Fcall, Msg, Qid, NOFID, NOTAG};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Why a 9P call failed.
#[derive(Debug)]
pub enum Error {
    /// The server answered Rerror.
    Remote(String),
    /// The reply made no sense (wrong type or tag, undecodable).
    Protocol(String),
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Remote(e) => f.write_str(e),
            Error::Protocol(e) => write!(f, "9P protocol error: {e}"),
            Error::Io(e) => write!(f, "9P connection: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

/// Session state: tags, fids and the negotiated msize. Pure.
#[derive(Debug)]
pub struct Session {
    pub msize: u32,
    next_tag: u16,
    next_fid: u32,
    free_fids: Vec<u32>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session {
            msize: fcall::DEFAULT_MSIZE,
            next_tag: 0,
            next_fid: 1,
            free_fids: Vec::new(),
        }
    }

    /// A request with a fresh tag.
    pub fn request(&mut self, body: Fcall) -> Msg {
        let tag = if matches!(body, Fcall::Tversion { .. }) {
            NOTAG
        } else {
            self.next_tag = (self.next_tag + 1) % NOTAG;
            self.next_tag
        };
        Msg::new(tag, body)
    }

    /// A fid not in use.
    pub fn fid(&mut self) -> u32 {
        self.free_fids.pop().unwrap_or_else(|| {
            self.next_fid += 1;
            self.next_fid
        })
    }

    /// `fid` was clunked (whatever the reply).
    pub fn release(&mut self, fid: u32) {
        self.free_fids.push(fid);
    }

    /// Check `reply` answers `req`: its tag and the reply type for the
    /// request's type; Rerror becomes [`Error::Remote`].
    pub fn check(&mut self, req: &Msg, reply: Msg) -> Result<Fcall, Error> {
        if reply.tag != req.tag {
            return Err(Error::Protocol(format!(
                "reply tag {} for request tag {}",
                reply.tag, req.tag
            )));
        }
        match reply.body {
            Fcall::Rerror { ename } => Err(Error::Remote(ename)),
            b if b.ty() == req.body.ty() + 1 => {
                if let Fcall::Rversion { msize, version } = &b {
                    if version != "9P2000" {
                        return Err(Error::Protocol(format!("server speaks {version}")));
                    }
                    self.msize = (*msize).min(self.msize);
                }
                Ok(b)
            }
            b => Err(Error::Protocol(format!(
                "{} in reply to {}",
                fcall::type_name(b.ty()),
                fcall::type_name(req.body.ty())
            ))),
        }
    }

    /// The most data one read or write may carry.
    pub fn iounit(&self) -> u32 {
        self.msize.saturating_sub(fcall::IOHDRSZ)
    }
}

/// A 9P connection over a Unix socket, attached to the root as fid 1.
pub struct Conn {
    s: UnixStream,
    pub session: Session,
}

const ROOT: u32 = 1;

impl Conn {
    /// Connect to `path`, negotiate the version and attach as `uname`.
    pub fn dial(path: &Path, uname: &str) -> Result<Conn, Error> {
        let s = UnixStream::connect(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut c = Conn {
            s,
            session: Session::new(),
        };
        c.call(Fcall::Tversion {
            msize: fcall::DEFAULT_MSIZE,
            version: "9P2000".into(),
        })?;
        c.call(Fcall::Tattach {
            fid: ROOT,
            afid: NOFID,
            uname: uname.into(),
            aname: String::new(),
        })?;
        Ok(c)
    }

    fn send(&mut self, m: &Msg) -> Result<(), Error> {
        Ok(self.s.write_all(&m.encode())?)
    }

    fn recv(&mut self) -> Result<Msg, Error> {
        let mut size = [0u8; 4];
        self.s.read_exact(&mut size)?;
        let n = u32::from_le_bytes(size);
        if n < 7 || n > self.session.msize.max(fcall::DEFAULT_MSIZE) {
            return Err(Error::Protocol(format!("reply of {n} bytes")));
        }
        let mut msg = size.to_vec();
        msg.resize(n as usize, 0);
        self.s.read_exact(msg.get_mut(4..).unwrap_or_default())?;
        fcall::decode(&msg).map_err(|e| Error::Protocol(e.to_string()))
    }

    /// One request and its reply.
    pub fn call(&mut self, body: Fcall) -> Result<Fcall, Error> {
        let req = self.session.request(body);
        self.send(&req)?;
        let reply = self.recv()?;
        self.session.check(&req, reply)
    }

    /// Walk from the root to `path` (names separated by `/`) and open it.
    pub fn open(&mut self, path: &str, mode: u8) -> Result<u32, Error> {
        let fid = self.session.fid();
        let wnames: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let n = wnames.len();
        match self.call(Fcall::Twalk {
            fid: ROOT,
            newfid: fid,
            wnames,
        }) {
            Ok(Fcall::Rwalk { wqids }) if wqids.len() == n => {}
            Ok(_) => {
                self.session.release(fid);
                return Err(Error::Remote(format!("{path}: file not found")));
            }
            Err(e) => {
                self.session.release(fid);
                return Err(e);
            }
        }
        if let Err(e) = self.call(Fcall::Topen { fid, mode }) {
            self.clunk(fid);
            return Err(e);
        }
        Ok(fid)
    }

    /// One read (offset 0: factotum's files ignore offsets).
    pub fn read(&mut self, fid: u32, offset: u64) -> Result<Vec<u8>, Error> {
        let count = self.session.iounit();
        match self.call(Fcall::Tread { fid, offset, count })? {
            Fcall::Rread { data } => Ok(data),
            _ => Err(Error::Protocol("bad Rread".into())),
        }
    }

    /// A whole file: reads until one returns nothing.
    pub fn read_all(&mut self, fid: u32) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        loop {
            let d = self.read(fid, out.len() as u64)?;
            if d.is_empty() {
                return Ok(out);
            }
            out.extend_from_slice(&d);
        }
    }

    /// One read that may wait: gives up after `wait` (flushing the read),
    /// returning `None`.
    pub fn read_wait(
        &mut self,
        fid: u32,
        wait: Option<Duration>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let count = self.session.iounit();
        let req = self.session.request(Fcall::Tread {
            fid,
            offset: 0,
            count,
        });
        self.send(&req)?;
        self.s.set_read_timeout(wait)?;
        let first = self.recv();
        self.s.set_read_timeout(None)?;
        match first {
            Ok(reply) => match self.session.check(&req, reply)? {
                Fcall::Rread { data } => Ok(Some(data)),
                _ => Err(Error::Protocol("bad Rread".into())),
            },
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let flush = self.session.request(Fcall::Tflush { oldtag: req.tag });
                self.send(&flush)?;
                // The read may have been answered before the flush arrived.
                let mut got = None;
                loop {
                    let m = self.recv()?;
                    if m.tag == flush.tag {
                        return Ok(got);
                    }
                    if m.tag == req.tag {
                        if let Fcall::Rread { data } = self.session.check(&req, m)? {
                            got = Some(data);
                        }
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    /// One write; the count the server took.
    pub fn write(&mut self, fid: u32, data: &[u8]) -> Result<u32, Error> {
        match self.call(Fcall::Twrite {
            fid,
            offset: 0,
            data: data.to_vec(),
        })? {
            Fcall::Rwrite { count } => Ok(count),
            _ => Err(Error::Protocol("bad Rwrite".into())),
        }
    }

    pub fn clunk(&mut self, fid: u32) {
        let _ = self.call(Fcall::Tclunk { fid });
        self.session.release(fid);
    }

    /// The open fid's stat qid (for tests and tools).
    pub fn stat_qid(&mut self, fid: u32) -> Result<Qid, Error> {
        match self.call(Fcall::Tstat { fid })? {
            Fcall::Rstat { stat } => Ok(stat.qid),
            _ => Err(Error::Protocol("bad Rstat".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_checks_tags_types_and_errors() {
        let mut s = Session::new();
        let v = s.request(Fcall::Tversion {
            msize: 1 << 20,
            version: "9P2000".into(),
        });
        assert_eq!(v.tag, NOTAG);
        let r = Msg::new(
            NOTAG,
            Fcall::Rversion {
                msize: 4096,
                version: "9P2000".into(),
            },
        );
        assert!(s.check(&v, r).is_ok());
        assert_eq!(s.msize, 4096);
        let q = s.request(Fcall::Tclunk { fid: 3 });
        let e = s.check(
            &q,
            Msg::new(
                q.tag,
                Fcall::Rerror {
                    ename: "unknown fid".into(),
                },
            ),
        );
        assert!(matches!(e, Err(Error::Remote(ref m)) if m == "unknown fid"));
        let e = s.check(&q, Msg::new(q.tag + 1, Fcall::Rclunk));
        assert!(matches!(e, Err(Error::Protocol(_))));
        let e = s.check(&q, Msg::new(q.tag, Fcall::Rflush));
        assert!(matches!(e, Err(Error::Protocol(_))));
        assert!(s.check(&q, Msg::new(q.tag, Fcall::Rclunk)).is_ok());
        let (a, b) = (s.fid(), s.fid());
        assert_ne!(a, b);
        s.release(a);
        assert_eq!(s.fid(), a);
    }
}
