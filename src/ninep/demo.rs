//! A small synthetic tree that exercises every part of the server, for
//! tests and for trying 9P clients against the listener:
//!
//! ```text
//! echo      0666  a write replaces the content; reads ignore the offset
//!                 and go on from where the last read on this open ended
//! wait      0444  a read waits until someone writes kick
//! kick      0222  a write completes every waiting read with its data
//! secret    0600  owner only; reads "secret\n"
//! readonly  0444  reads "read only\n" at the offset given
//! excl      0600|DMEXCL  one open at a time
//! sub/deep  0444  reads "deep\n"
//! ```

use super::fcall::{Qid, Stat, DMDIR, DMEXCL, QTDIR, QTEXCL, QTFILE};
use super::server::{err, Completion, FsError, Handle, Read, ReqId, Tree, Who};
use super::vecmap::VecMap;

const ROOT: u64 = 1;
const ECHO: u64 = 2;
const WAIT: u64 = 3;
const KICK: u64 = 4;
const SECRET: u64 = 5;
const READONLY: u64 = 6;
const EXCL: u64 = 7;
const SUB: u64 = 8;
const DEEP: u64 = 9;

/// (path, parent, name, mode)
const FILES: [(u64, u64, &str, u32); 9] = [
    (ROOT, ROOT, "/", DMDIR | 0o555),
    (ECHO, ROOT, "echo", 0o666),
    (WAIT, ROOT, "wait", 0o444),
    (KICK, ROOT, "kick", 0o222),
    (SECRET, ROOT, "secret", 0o600),
    (READONLY, ROOT, "readonly", 0o444),
    (EXCL, ROOT, "excl", DMEXCL | 0o600),
    (SUB, ROOT, "sub", DMDIR | 0o555),
    (DEEP, SUB, "deep", 0o444),
];

fn qid(path: u64, mode: u32) -> Qid {
    let ty = if mode & DMDIR != 0 {
        QTDIR
    } else if mode & DMEXCL != 0 {
        QTEXCL
    } else {
        QTFILE
    };
    Qid { ty, vers: 0, path }
}

fn entry(path: u64) -> Option<&'static (u64, u64, &'static str, u32)> {
    FILES.iter().find(|f| f.0 == path)
}

/// The demo tree.
pub struct DemoTree {
    owner: String,
    echo: Vec<u8>,
    /// Open files: qid path and read position (for echo).
    open: VecMap<Handle, (u64, usize)>,
    waiting: Vec<(Handle, ReqId)>,
    done: Vec<Completion>,
}

impl DemoTree {
    pub fn new(owner: &str) -> DemoTree {
        DemoTree {
            owner: owner.into(),
            echo: Vec::new(),
            open: VecMap::new(),
            waiting: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Reads waiting on `wait`.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Files currently open.
    pub fn open_handles(&self) -> usize {
        self.open.len()
    }

    fn stat_of(&self, f: &(u64, u64, &str, u32)) -> Stat {
        Stat {
            qid: qid(f.0, f.3),
            mode: f.3,
            name: f.2.into(),
            uid: self.owner.clone(),
            gid: self.owner.clone(),
            length: if f.0 == ECHO {
                self.echo.len() as u64
            } else {
                0
            },
            ..Stat::default()
        }
    }
}

fn at_offset(data: &[u8], offset: u64, count: u32) -> Vec<u8> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = start.saturating_add(count as usize).min(data.len());
    data.get(start..end).unwrap_or(&[]).to_vec()
}

impl Tree for DemoTree {
    fn root(&mut self) -> Qid {
        qid(ROOT, DMDIR)
    }

    fn walk(&mut self, dir: Qid, name: &str) -> Result<Qid, FsError> {
        if name == ".." {
            let parent = entry(dir.path).map_or(ROOT, |f| f.1);
            return Ok(qid(parent, DMDIR));
        }
        FILES
            .iter()
            .find(|f| f.1 == dir.path && f.0 != ROOT && f.2 == name)
            .map(|f| qid(f.0, f.3))
            .ok_or(err::NOTFOUND.into())
    }

    fn stat(&mut self, q: Qid) -> Result<Stat, FsError> {
        entry(q.path)
            .map(|f| self.stat_of(f))
            .ok_or(err::NOTFOUND.into())
    }

    fn list(&mut self, dir: Qid) -> Result<Vec<Stat>, FsError> {
        Ok(FILES
            .iter()
            .filter(|f| f.1 == dir.path && f.0 != ROOT)
            .map(|f| self.stat_of(f))
            .collect())
    }

    fn open(&mut self, h: Handle, q: Qid, _mode: u8, _who: &Who<'_>) -> Result<(), FsError> {
        self.open.insert(h, (q.path, 0));
        Ok(())
    }

    fn read(&mut self, h: Handle, req: ReqId, offset: u64, count: u32) -> Result<Read, FsError> {
        let (path, pos) = self.open.get_mut(&h).ok_or(FsError::from(err::BOTCH))?;
        Ok(match *path {
            ECHO => {
                let data = at_offset(&self.echo, *pos as u64, count);
                *pos += data.len();
                Read::Ready(data)
            }
            WAIT => {
                self.waiting.push((h, req));
                Read::Pending
            }
            SECRET => Read::Ready(at_offset(b"secret\n", offset, count)),
            READONLY => Read::Ready(at_offset(b"read only\n", offset, count)),
            DEEP => Read::Ready(at_offset(b"deep\n", offset, count)),
            _ => Read::Ready(Vec::new()),
        })
    }

    fn write(&mut self, h: Handle, _offset: u64, data: &[u8]) -> Result<u32, FsError> {
        match self.open.get(&h).map(|o| o.0) {
            Some(ECHO) => self.echo = data.to_vec(),
            Some(KICK) => {
                for (_, req) in self.waiting.drain(..) {
                    self.done.push(Completion {
                        req,
                        result: Ok(data.to_vec()),
                    });
                }
            }
            Some(_) => {}
            None => return Err(err::BOTCH.into()),
        }
        Ok(data.len() as u32)
    }

    fn clunk(&mut self, h: Handle) {
        self.open.remove(&h);
        self.waiting.retain(|w| w.0 != h);
    }

    fn flush(&mut self, _h: Handle, req: ReqId) {
        self.waiting.retain(|w| w.1 != req);
    }

    fn completions(&mut self, out: &mut Vec<Completion>) {
        out.append(&mut self.done);
    }
}
