//! Whole-file operations over a [`client::Conn`](super::client::Conn),
//! for commands that drive a synthetic tree by path (`warden unlock`
//! writes keyfs's `ctl`; `warden user` makes, renames and removes user
//! directories and reads and writes their files).

use super::client::{Conn, Error};
use super::fcall::{self, Fcall, Qid, Stat};
use std::path::Path;

/// [`Conn::dial`] attaches the root as fid 1.
const ROOT: u32 = 1;

/// A connection used file by file.
pub struct Files {
    pub conn: Conn,
}

fn names(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Files {
    pub fn dial(path: &Path, uname: &str) -> Result<Files, Error> {
        Conn::dial(path, uname).map(|conn| Files { conn })
    }

    /// A new fid walked to `path` (not opened).
    fn walk(&mut self, path: &str) -> Result<u32, Error> {
        let fid = self.conn.session.fid();
        let wnames = names(path);
        let n = wnames.len();
        match self.conn.call(Fcall::Twalk {
            fid: ROOT,
            newfid: fid,
            wnames,
        }) {
            Ok(Fcall::Rwalk { wqids }) if wqids.len() == n => Ok(fid),
            Ok(_) => {
                self.conn.session.release(fid);
                Err(Error::Remote(format!("{path}: file not found")))
            }
            Err(e) => {
                self.conn.session.release(fid);
                Err(e)
            }
        }
    }

    /// Read a whole file.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, Error> {
        let fid = self.conn.open(path, fcall::OREAD)?;
        let r = self.conn.read_all(fid);
        self.conn.clunk(fid);
        r
    }

    /// Read a whole file as text, without its final newline.
    pub fn read_text(&mut self, path: &str) -> Result<String, Error> {
        let b = self.read(path)?;
        let s = String::from_utf8(b).map_err(|_| Error::Protocol(format!("{path}: not UTF-8")))?;
        Ok(s.strip_suffix('\n').unwrap_or(&s).to_string())
    }

    /// Write `data` to a file in one Twrite; all of it must be taken.
    pub fn write(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        if data.len() > self.conn.session.iounit() as usize {
            return Err(Error::Protocol(format!("{path}: write larger than msize")));
        }
        let fid = self.conn.open(path, fcall::OWRITE)?;
        let r = self.conn.write(fid, data);
        self.conn.clunk(fid);
        match r? {
            n if n as usize == data.len() => Ok(()),
            n => Err(Error::Protocol(format!(
                "{path}: short write ({n} of {})",
                data.len()
            ))),
        }
    }

    /// Write a request and read the whole answer on the same open file
    /// (the keyfs tree's admin requests on `ctl`).
    pub fn ask(&mut self, path: &str, req: &[u8]) -> Result<Vec<u8>, Error> {
        if req.len() > self.conn.session.iounit() as usize {
            return Err(Error::Protocol(format!(
                "{path}: request larger than msize"
            )));
        }
        let fid = self.conn.open(path, fcall::ORDWR)?;
        let r = self
            .conn
            .write(fid, req)
            .and_then(|_| self.conn.read_all(fid));
        self.conn.clunk(fid);
        r
    }

    /// The entries of a directory.
    pub fn list(&mut self, path: &str) -> Result<Vec<Stat>, Error> {
        let data = self.read(path)?;
        let mut r = crate::wire::Reader::new(&data);
        let mut out = Vec::new();
        while r.remaining() > 0 {
            out.push(
                Stat::read(&mut r)
                    .map_err(|e| Error::Protocol(format!("{path}: directory entry: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Make directory `name` in `dir`.
    pub fn mkdir(&mut self, dir: &str, name: &str) -> Result<Qid, Error> {
        let fid = self.walk(dir)?;
        let r = self.conn.call(Fcall::Tcreate {
            fid,
            name: name.into(),
            perm: fcall::DMDIR | 0o700,
            mode: fcall::OREAD,
        });
        self.conn.clunk(fid);
        match r? {
            Fcall::Rcreate { qid, .. } => Ok(qid),
            _ => Err(Error::Protocol("bad Rcreate".into())),
        }
    }

    /// Remove a file or directory.
    pub fn remove(&mut self, path: &str) -> Result<(), Error> {
        let fid = self.walk(path)?;
        // Tremove clunks the fid whatever the outcome.
        let r = self.conn.call(Fcall::Tremove { fid });
        self.conn.session.release(fid);
        r.map(|_| ())
    }

    /// Rename: a wstat that changes only the name.
    pub fn rename(&mut self, path: &str, new: &str) -> Result<(), Error> {
        let fid = self.walk(path)?;
        let stat = Stat {
            ty: u16::MAX,
            dev: u32::MAX,
            qid: Qid {
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
        let r = self.conn.call(Fcall::Twstat { fid, stat });
        self.conn.clunk(fid);
        r.map(|_| ())
    }
}
