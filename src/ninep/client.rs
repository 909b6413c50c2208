//! A small blocking 9P2000 client for the command line: one request at a
//! time over a Unix socket, paths as slash-separated names from the root.
//! Enough to drive the daemon's synthetic trees (`warden unlock` writes
//! keyfs's `ctl`, `warden user` works on keyfs's user directories).

use super::fcall::{self, Fcall, Msg, Stat, NOFID, NOTAG};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// What went wrong: the connection (I/O, a malformed or unexpected reply)
/// or an Rerror from the server (its text).
#[derive(Debug)]
pub enum ClientError {
    Io(io::Error),
    Protocol(String),
    Server(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Protocol(m) => write!(f, "9P: {m}"),
            ClientError::Server(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

const ROOT_FID: u32 = 0;

/// A client attached to a tree's root.
pub struct Client {
    sock: UnixStream,
    msize: u32,
    next_fid: u32,
}

impl Client {
    /// Connect to `path`, negotiate the version and attach as `uname`.
    /// Each reply must come within `timeout`.
    pub fn connect(path: &Path, uname: &str, timeout: Duration) -> Result<Client> {
        let sock = UnixStream::connect(path)?;
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        let mut c = Client {
            sock,
            msize: fcall::DEFAULT_MSIZE,
            next_fid: 1,
        };
        match c.rpc_tag(
            NOTAG,
            Fcall::Tversion {
                msize: fcall::DEFAULT_MSIZE,
                version: fcall::VERSION.into(),
            },
        )? {
            Fcall::Rversion { msize, version } if version == fcall::VERSION => {
                c.msize = msize.clamp(fcall::MIN_MSIZE, fcall::DEFAULT_MSIZE);
            }
            r => return Err(unexpected("Rversion", &r)),
        }
        match c.rpc(Fcall::Tattach {
            fid: ROOT_FID,
            afid: NOFID,
            uname: uname.into(),
            aname: String::new(),
        })? {
            Fcall::Rattach { .. } => Ok(c),
            r => Err(unexpected("Rattach", &r)),
        }
    }

    fn rpc(&mut self, body: Fcall) -> Result<Fcall> {
        self.rpc_tag(1, body)
    }

    fn rpc_tag(&mut self, tag: u16, body: Fcall) -> Result<Fcall> {
        self.sock.write_all(&Msg::new(tag, body).encode())?;
        let mut size = [0u8; 4];
        self.sock.read_exact(&mut size)?;
        let n = u32::from_le_bytes(size);
        if n < fcall::HEADER as u32 || n > self.msize.max(fcall::DEFAULT_MSIZE) {
            return Err(ClientError::Protocol(format!("reply of {n} bytes")));
        }
        let mut buf = vec![0u8; n as usize];
        buf[..4].copy_from_slice(&size);
        self.sock.read_exact(&mut buf[4..])?;
        let m = fcall::decode(&buf).map_err(|e| ClientError::Protocol(e.to_string()))?;
        if m.tag != tag {
            return Err(ClientError::Protocol(format!(
                "reply tag {} for request tag {tag}",
                m.tag
            )));
        }
        match m.body {
            Fcall::Rerror { ename } => Err(ClientError::Server(ename)),
            b => Ok(b),
        }
    }

    /// Walk a new fid to `path` ("" is the root).
    fn walk(&mut self, path: &str) -> Result<u32> {
        let names: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if names.len() > fcall::MAXWELEM {
            return Err(ClientError::Protocol(format!("path too deep: {path}")));
        }
        let fid = self.next_fid;
        self.next_fid = self.next_fid.wrapping_add(1).max(1);
        let n = names.len();
        match self.rpc(Fcall::Twalk {
            fid: ROOT_FID,
            newfid: fid,
            wnames: names,
        })? {
            Fcall::Rwalk { wqids } if wqids.len() == n => Ok(fid),
            // A partial walk does not create the fid (walk(5)).
            Fcall::Rwalk { .. } => Err(ClientError::Server(format!("'{path}' file not found"))),
            r => Err(unexpected("Rwalk", &r)),
        }
    }

    fn clunk(&mut self, fid: u32) {
        let _ = self.rpc(Fcall::Tclunk { fid });
    }

    fn open(&mut self, path: &str, mode: u8) -> Result<u32> {
        let fid = self.walk(path)?;
        match self.rpc(Fcall::Topen { fid, mode }) {
            Ok(Fcall::Ropen { .. }) => Ok(fid),
            Ok(r) => {
                self.clunk(fid);
                Err(unexpected("Ropen", &r))
            }
            Err(e) => {
                self.clunk(fid);
                Err(e)
            }
        }
    }

    fn read_fid(&mut self, fid: u32) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let count = self.msize - fcall::IOHDRSZ;
            match self.rpc(Fcall::Tread {
                fid,
                offset: out.len() as u64,
                count,
            })? {
                Fcall::Rread { data } if data.is_empty() => return Ok(out),
                Fcall::Rread { data } => out.extend_from_slice(&data),
                r => return Err(unexpected("Rread", &r)),
            }
            if out.len() > 1 << 20 {
                return Err(ClientError::Protocol("file larger than 1 MiB".into()));
            }
        }
    }

    /// Read a whole file.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        let fid = self.open(path, fcall::OREAD)?;
        let r = self.read_fid(fid);
        self.clunk(fid);
        r
    }

    /// Read a whole file as text, without the final newline.
    pub fn read_text(&mut self, path: &str) -> Result<String> {
        let b = self.read(path)?;
        let s = String::from_utf8(b).map_err(|_| ClientError::Protocol("not UTF-8".into()))?;
        Ok(s.strip_suffix('\n').unwrap_or(&s).to_string())
    }

    /// Write `data` to a file in one Twrite.
    pub fn write(&mut self, path: &str, data: &[u8]) -> Result<()> {
        if data.len() > (self.msize - fcall::IOHDRSZ) as usize {
            return Err(ClientError::Protocol("write larger than msize".into()));
        }
        let fid = self.open(path, fcall::OWRITE)?;
        let r = self.rpc(Fcall::Twrite {
            fid,
            offset: 0,
            data: data.to_vec(),
        });
        self.clunk(fid);
        match r? {
            Fcall::Rwrite { count } if count as usize == data.len() => Ok(()),
            Fcall::Rwrite { count } => Err(ClientError::Protocol(format!(
                "short write: {count} of {}",
                data.len()
            ))),
            r => Err(unexpected("Rwrite", &r)),
        }
    }

    /// The entries of a directory.
    pub fn list(&mut self, path: &str) -> Result<Vec<Stat>> {
        let fid = self.open(path, fcall::OREAD)?;
        let data = self.read_fid(fid);
        self.clunk(fid);
        let data = data?;
        let mut r = crate::wire::Reader::new(&data);
        let mut out = Vec::new();
        while r.remaining() > 0 {
            out.push(
                Stat::read(&mut r)
                    .map_err(|e| ClientError::Protocol(format!("directory entry: {e:?}")))?,
            );
        }
        Ok(out)
    }

    /// Make directory `name` in `dir`.
    pub fn mkdir(&mut self, dir: &str, name: &str) -> Result<()> {
        let fid = self.walk(dir)?;
        let r = self.rpc(Fcall::Tcreate {
            fid,
            name: name.into(),
            perm: fcall::DMDIR | 0o700,
            mode: fcall::OREAD,
        });
        self.clunk(fid);
        match r? {
            Fcall::Rcreate { .. } => Ok(()),
            r => Err(unexpected("Rcreate", &r)),
        }
    }

    /// Remove a file or directory.
    pub fn remove(&mut self, path: &str) -> Result<()> {
        let fid = self.walk(path)?;
        // Tremove clunks the fid whatever the outcome.
        match self.rpc(Fcall::Tremove { fid })? {
            Fcall::Rremove => Ok(()),
            r => Err(unexpected("Rremove", &r)),
        }
    }

    /// Rename with a wstat that changes only the name.
    pub fn rename(&mut self, path: &str, new: &str) -> Result<()> {
        let fid = self.walk(path)?;
        let stat = Stat {
            ty: u16::MAX,
            dev: u32::MAX,
            qid: fcall::Qid {
                ty: u8::MAX,
                vers: u32::MAX,
                path: u64::MAX,
            },
            mode: u32::MAX,
            atime: u32::MAX,
            mtime: u32::MAX,
            length: u64::MAX,
            name: new.into(),
            uid: String::new(),
            gid: String::new(),
            muid: String::new(),
        };
        let r = self.rpc(Fcall::Twstat { fid, stat });
        self.clunk(fid);
        match r? {
            Fcall::Rwstat => Ok(()),
            r => Err(unexpected("Rwstat", &r)),
        }
    }
}

fn unexpected(want: &str, got: &Fcall) -> ClientError {
    ClientError::Protocol(format!(
        "expected {want}, got {}",
        fcall::type_name(got.ty())
    ))
}
