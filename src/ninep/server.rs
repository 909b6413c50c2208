//! A 9P2000 server for synthetic file trees, sans-IO.
//!
//! A service describes its files by implementing [`Tree`]: walking names
//! to qids, stat, directory listings, and open/read/write/clunk on open
//! files identified by a [`Handle`]. The [`Server`] does the protocol:
//! version and msize, per-connection fid tables, open modes and permission
//! bits, exclusive opens (`DMEXCL`), directory reads, flush, and cleanup
//! when a client goes away. It takes whole messages in
//! ([`Server::handle`]) and queues encoded replies ([`Server::take_output`]),
//! possibly for other connections than the one whose message it handled.
//!
//! Reads may wait: [`Tree::read`] can answer [`Read::Pending`] and complete
//! later (for instance when another client writes a file) by queueing a
//! [`Completion`], which the server collects through
//! [`Tree::completions`] after every call into the tree and turns into the
//! Rread (or Rerror) for the waiting tag. Replies to pending reads are
//! therefore sent out of order, as 9P allows. Tflush of a pending read
//! calls [`Tree::flush`] and answers Rflush; no Rread follows.
//!
//! Permissions: the listener tells the server, for each connection,
//! whether the peer is the tree's owner (its uid is the server's or
//! root's, checked with SO_PEERCRED); owners get a file's owner bits
//! (`mode >> 6`), everyone else its "other" bits. The user name in
//! Tattach is only a claim and is passed to the tree, never trusted.
//! Open modes are checked as plan9port's factotum does: OREAD needs r,
//! OWRITE w, ORDWR rw, OEXEC x, OTRUNC w; ORCLOSE is refused.
//!
//! Error strings follow lib9p's (`unknown fid`, `duplicate fid`,
//! `walk in non-directory`, `permission denied`, `file in use` ...).

use super::fcall::{self, Fcall, Msg, Qid, Stat};
use super::vecmap::VecMap;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Identifies one open of a file, unique for the server's lifetime. A tree
/// keys its per-open state (a conversation, a read position) by it.
pub type Handle = u64;
/// Identifies one pending read, unique for the server's lifetime.
pub type ReqId = u64;
/// Identifies a connection.
pub type ConnId = u64;

/// An error for an Rerror reply: a short human-readable string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError(pub Cow<'static, str>);

impl FsError {
    pub fn new(s: impl Into<Cow<'static, str>>) -> FsError {
        FsError(s.into())
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&'static str> for FsError {
    fn from(s: &'static str) -> FsError {
        FsError(Cow::Borrowed(s))
    }
}

impl From<String> for FsError {
    fn from(s: String) -> FsError {
        FsError(Cow::Owned(s))
    }
}

/// lib9p's error strings.
pub mod err {
    pub const BOTCH: &str = "9P protocol botch";
    pub const DUPFID: &str = "duplicate fid";
    pub const DUPTAG: &str = "duplicate tag";
    pub const ISDIR: &str = "is a directory";
    pub const NOCREATE: &str = "create prohibited";
    pub const NOREMOVE: &str = "remove prohibited";
    pub const NOWSTAT: &str = "wstat prohibited";
    pub const NOTFOUND: &str = "file not found";
    pub const PERM: &str = "permission denied";
    pub const UNKNOWNFID: &str = "unknown fid";
    pub const WALKNODIR: &str = "walk in non-directory";
    pub const CREATENONDIR: &str = "create in non-directory";
    pub const BADOFFSET: &str = "bad offset";
    pub const INUSE: &str = "file in use";
    pub const OPENFID: &str = "cannot clone open fid";
    pub const NOTOPEN: &str = "fid not open";
    pub const NOREAD: &str = "fid not open for reading";
    pub const NOWRITE: &str = "fid not open for writing";
    pub const CLUNKED: &str = "fid clunked while a read was pending";
    pub const NOVERSION: &str = "Tversion must come first";
    pub const TOOMANYFIDS: &str = "too many fids";
    pub const TOOMANYREADS: &str = "too many pending reads";
}

/// Who is on the other end of a connection (from SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// What a tree learns about the opener of a file.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub conn: ConnId,
    pub peer: Peer,
    /// The peer counts as the files' owner (owner permission bits apply).
    pub owner: bool,
    /// The user name the client claimed in Tattach (not verified).
    pub uname: &'a str,
}

/// The answer to a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The data (at most `count` bytes; more is cut off).
    Ready(Vec<u8>),
    /// The reply comes later as a [`Completion`] for this read's [`ReqId`].
    Pending,
}

/// A pending read finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub req: ReqId,
    pub result: Result<Vec<u8>, FsError>,
}

/// A synthetic file tree. Files are identified by their qid (whose `path`
/// the tree chooses); open files by the [`Handle`] the server assigns.
///
/// The server checks fids, modes, permissions (from [`Tree::stat`]'s mode
/// bits) and exclusive use before calling `open`; the tree only adds its
/// own rules. Offsets are passed through: a tree whose files ignore them
/// (like factotum's ctl and rpc) simply does not look at them.
pub trait Tree {
    /// The qid of the root directory.
    fn root(&mut self) -> Qid;
    /// One step of a walk from directory `dir`. The tree resolves `..`.
    fn walk(&mut self, dir: Qid, name: &str) -> Result<Qid, FsError>;
    /// The directory entry for `qid`.
    fn stat(&mut self, qid: Qid) -> Result<Stat, FsError>;
    /// The entries of directory `dir`, in listing order.
    fn list(&mut self, dir: Qid) -> Result<Vec<Stat>, FsError>;
    /// A file is being opened (permissions already checked).
    fn open(&mut self, _h: Handle, _qid: Qid, _mode: u8, _who: &Who<'_>) -> Result<(), FsError> {
        Ok(())
    }
    /// Read from an open file (never a directory).
    fn read(&mut self, h: Handle, req: ReqId, offset: u64, count: u32) -> Result<Read, FsError>;
    /// Write to an open file; returns the count accepted.
    fn write(&mut self, h: Handle, offset: u64, data: &[u8]) -> Result<u32, FsError>;
    /// The open is over (clunk, remove, or the client went away). Pending
    /// reads on it have already been withdrawn with [`Tree::flush`].
    fn clunk(&mut self, _h: Handle) {}
    /// Withdraw pending read `req` on `h` (Tflush, clunk or hangup): it
    /// must not be completed any more.
    fn flush(&mut self, _h: Handle, _req: ReqId) {}
    /// Move finished pending reads into `out`.
    fn completions(&mut self, _out: &mut Vec<Completion>) {}
    /// Create `name` in `dir` and open it as `h`.
    fn create(
        &mut self,
        _h: Handle,
        _dir: Qid,
        _name: &str,
        _perm: u32,
        _mode: u8,
        _who: &Who<'_>,
    ) -> Result<Qid, FsError> {
        Err(err::NOCREATE.into())
    }
    /// Remove a file (the server clunks its fid whatever the outcome).
    fn remove(&mut self, _qid: Qid, _who: &Who<'_>) -> Result<(), FsError> {
        Err(err::NOREMOVE.into())
    }
    /// Change a file's entry (rename etc.). A null wstat never gets here.
    fn wstat(&mut self, _qid: Qid, _stat: &Stat, _who: &Who<'_>) -> Result<(), FsError> {
        Err(err::NOWSTAT.into())
    }
}

/// A boxed tree is a tree: services serve `Box<dyn Tree + Send>`, so the
/// server and listener are compiled once however many trees there are
/// (each instance cost about 35 KB on the router).
impl<T: Tree + ?Sized> Tree for Box<T> {
    fn root(&mut self) -> Qid {
        (**self).root()
    }
    fn walk(&mut self, dir: Qid, name: &str) -> Result<Qid, FsError> {
        (**self).walk(dir, name)
    }
    fn stat(&mut self, qid: Qid) -> Result<Stat, FsError> {
        (**self).stat(qid)
    }
    fn list(&mut self, dir: Qid) -> Result<Vec<Stat>, FsError> {
        (**self).list(dir)
    }
    fn open(&mut self, h: Handle, qid: Qid, mode: u8, who: &Who<'_>) -> Result<(), FsError> {
        (**self).open(h, qid, mode, who)
    }
    fn read(&mut self, h: Handle, req: ReqId, offset: u64, count: u32) -> Result<Read, FsError> {
        (**self).read(h, req, offset, count)
    }
    fn write(&mut self, h: Handle, offset: u64, data: &[u8]) -> Result<u32, FsError> {
        (**self).write(h, offset, data)
    }
    fn clunk(&mut self, h: Handle) {
        (**self).clunk(h)
    }
    fn flush(&mut self, h: Handle, req: ReqId) {
        (**self).flush(h, req)
    }
    fn completions(&mut self, out: &mut Vec<Completion>) {
        (**self).completions(out)
    }
    fn create(
        &mut self,
        h: Handle,
        dir: Qid,
        name: &str,
        perm: u32,
        mode: u8,
        who: &Who<'_>,
    ) -> Result<Qid, FsError> {
        (**self).create(h, dir, name, perm, mode, who)
    }
    fn remove(&mut self, qid: Qid, who: &Who<'_>) -> Result<(), FsError> {
        (**self).remove(qid, who)
    }
    fn wstat(&mut self, qid: Qid, stat: &Stat, who: &Who<'_>) -> Result<(), FsError> {
        (**self).wstat(qid, stat, who)
    }
}

/// The tree type services serve (see the `Box` impl above).
pub type DynTree = Box<dyn Tree + Send>;

/// Limits that keep one client from taking the server's memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest msize offered in Rversion.
    pub max_msize: u32,
    /// Fids one connection may hold.
    pub max_fids: usize,
    /// Reads one connection may have pending.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_msize: fcall::DEFAULT_MSIZE,
            max_fids: 256,
            max_pending: 32,
        }
    }
}

struct DirRead {
    entries: Vec<Stat>,
    next: usize,
    offset: u64,
}

struct Open {
    mode: u8,
    handle: Handle,
    excl: bool,
    /// Boxed: directory reads are rare, fids are many.
    dir: Option<Box<DirRead>>,
}

struct Fid {
    qid: Qid,
    uname: Arc<str>,
    open: Option<Open>,
}

struct Session {
    peer: Peer,
    owner: bool,
    msize: u32,
    versioned: bool,
    /// Sorted by fid: a few fids per connection is the rule.
    fids: VecMap<u32, Fid>,
    /// tag -> pending read
    pending: VecMap<u16, ReqId>,
}

struct Pending {
    conn: ConnId,
    tag: u16,
    fid: u32,
    handle: Handle,
    count: u32,
}

/// The 9P server state for every connection of one tree.
pub struct Server<T: Tree> {
    pub tree: T,
    /// Prefix of the "authentication not required" error (lib9p uses the
    /// program name).
    name: &'static str,
    limits: Limits,
    sessions: VecMap<ConnId, Session>,
    /// qid paths open exclusively
    excl: VecMap<u64, ()>,
    pending: VecMap<ReqId, Pending>,
    next_conn: ConnId,
    next_handle: Handle,
    next_req: ReqId,
    out: Vec<(ConnId, Vec<u8>)>,
    done: Vec<Completion>,
}

type Reply = Result<Fcall, FsError>;

impl<T: Tree> Server<T> {
    pub fn new(name: &'static str, tree: T, limits: Limits) -> Server<T> {
        Server {
            tree,
            name,
            limits,
            sessions: VecMap::new(),
            excl: VecMap::new(),
            pending: VecMap::new(),
            next_conn: 1,
            next_handle: 1,
            next_req: 1,
            out: Vec::new(),
            done: Vec::new(),
        }
    }

    /// A new connection from `peer`; `owner` selects owner permissions.
    pub fn connect(&mut self, peer: Peer, owner: bool) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        self.sessions.insert(
            id,
            Session {
                peer,
                owner,
                msize: self.limits.max_msize,
                versioned: false,
                fids: VecMap::new(),
                pending: VecMap::new(),
            },
        );
        id
    }

    /// The connection is gone: clunk all its fids, withdraw its reads.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.reset(conn);
        self.sessions.remove(&conn);
        self.collect();
    }

    /// Connections currently known.
    pub fn connections(&self) -> usize {
        self.sessions.len()
    }

    /// Does `conn` wait on the server (a read pending, such as the confirm
    /// or needkey file's)? Such a connection is not idle however long the
    /// wire stays silent.
    pub fn waiting(&self, conn: ConnId) -> bool {
        self.sessions
            .get(&conn)
            .is_some_and(|s| !s.pending.is_empty())
    }

    /// The largest message `conn` may send now (its negotiated msize).
    pub fn msize(&self, conn: ConnId) -> u32 {
        self.sessions
            .get(&conn)
            .map_or(self.limits.max_msize, |s| s.msize)
    }

    /// The largest msize this server offers.
    pub fn max_msize(&self) -> u32 {
        self.limits.max_msize
    }

    /// Encoded replies queued since the last call, with their connection.
    pub fn take_output(&mut self) -> Vec<(ConnId, Vec<u8>)> {
        std::mem::take(&mut self.out)
    }

    /// Collect completions the tree made outside a 9P call (for instance
    /// on a timer); [`Server::handle`] does this by itself.
    pub fn poll_tree(&mut self) {
        self.collect();
    }

    /// Handle one complete message from `conn` (as split by
    /// [`fcall::Framer`]). Replies are queued for [`Server::take_output`].
    /// A message whose body does not decode gets an Rerror naming the
    /// problem; the connection stays usable.
    pub fn handle(&mut self, conn: ConnId, frame: &[u8]) {
        if !self.sessions.contains_key(&conn) {
            return;
        }
        match fcall::decode(frame) {
            Ok(msg) => {
                let tag = msg.tag;
                if let Some(reply) = self.dispatch(conn, msg) {
                    self.reply(conn, tag, reply);
                }
            }
            Err(e) => {
                if let Some((_, tag)) = fcall::peek_header(frame) {
                    self.reply(conn, tag, Err(FsError::new(e.to_string())));
                }
            }
        }
        self.collect();
    }

    fn reply(&mut self, conn: ConnId, tag: u16, r: Reply) {
        let msize = self.msize(conn) as usize;
        let body = r.unwrap_or_else(|e| {
            // The reply must fit in msize: size[4] type[1] tag[2] ename[s].
            let mut ename = e.0.into_owned();
            let mut end = ename.len().min(msize.saturating_sub(fcall::HEADER + 2));
            while !ename.is_char_boundary(end) {
                end -= 1;
            }
            ename.truncate(end);
            Fcall::Rerror { ename }
        });
        self.out.push((conn, Msg::new(tag, body).encode()));
    }

    fn collect(&mut self) {
        self.tree.completions(&mut self.done);
        for c in std::mem::take(&mut self.done) {
            let Some(p) = self.pending.remove(&c.req) else {
                continue;
            };
            if let Some(s) = self.sessions.get_mut(&p.conn) {
                s.pending.remove(&p.tag);
            }
            let r = c.result.map(|mut data| {
                data.truncate(p.count as usize);
                Fcall::Rread { data }
            });
            self.reply(p.conn, p.tag, r);
        }
    }

    /// Clunk every fid of `conn` and drop its pending reads unanswered.
    fn reset(&mut self, conn: ConnId) {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        let fids = std::mem::take(&mut s.fids);
        let tags = std::mem::take(&mut s.pending);
        for req in tags.values() {
            if let Some(p) = self.pending.remove(req) {
                self.tree.flush(p.handle, *req);
            }
        }
        for fid in fids.into_values() {
            self.release(fid);
        }
    }

    fn release(&mut self, fid: Fid) {
        if let Some(o) = fid.open {
            if o.excl {
                self.excl.remove(&fid.qid.path);
            }
            if o.dir.is_none() {
                self.tree.clunk(o.handle);
            }
        }
    }

    /// Handle a decoded message; None when the reply comes later.
    fn dispatch(&mut self, conn: ConnId, msg: Msg) -> Option<Reply> {
        let tag = msg.tag;
        let s = self.sessions.get(&conn)?;
        if let Fcall::Tversion { msize, version } = msg.body {
            return Some(self.version(conn, msize, &version));
        }
        if !s.versioned {
            return Some(Err(err::NOVERSION.into()));
        }
        if s.pending.contains_key(&tag) {
            return Some(Err(err::DUPTAG.into()));
        }
        Some(match msg.body {
            Fcall::Tauth { .. } => {
                Err(format!("{}: authentication not required", self.name).into())
            }
            Fcall::Tattach {
                fid, afid, uname, ..
            } => self.attach(conn, fid, afid, uname),
            Fcall::Tflush { oldtag } => {
                self.flush(conn, oldtag);
                Ok(Fcall::Rflush)
            }
            Fcall::Twalk {
                fid,
                newfid,
                wnames,
            } => self.walk(conn, fid, newfid, &wnames),
            Fcall::Topen { fid, mode } => self.open(conn, fid, mode),
            Fcall::Tcreate {
                fid,
                name,
                perm,
                mode,
            } => self.create(conn, fid, &name, perm, mode),
            Fcall::Tread { fid, offset, count } => {
                return self.read(conn, tag, fid, offset, count);
            }
            Fcall::Twrite { fid, offset, data } => self.write(conn, fid, offset, &data),
            Fcall::Tclunk { fid } => self.clunk(conn, fid).map(|()| Fcall::Rclunk),
            Fcall::Tremove { fid } => self.remove(conn, fid),
            Fcall::Tstat { fid } => self.stat(conn, fid),
            Fcall::Twstat { fid, stat } => self.wstat(conn, fid, &stat),
            other => Err(format!("unexpected {} message", fcall::type_name(other.ty())).into()),
        })
    }

    fn session(&mut self, conn: ConnId) -> Result<&mut Session, FsError> {
        self.sessions.get_mut(&conn).ok_or(err::BOTCH.into())
    }

    fn fid(&mut self, conn: ConnId, fid: u32) -> Result<&mut Fid, FsError> {
        self.session(conn)?
            .fids
            .get_mut(&fid)
            .ok_or(err::UNKNOWNFID.into())
    }

    fn who<'a>(s: &Session, conn: ConnId, uname: &'a str) -> Who<'a> {
        Who {
            conn,
            peer: s.peer,
            owner: s.owner,
            uname,
        }
    }

    fn version(&mut self, conn: ConnId, msize: u32, version: &str) -> Reply {
        // Tversion aborts everything outstanding (version(5)).
        self.reset(conn);
        let max = self.limits.max_msize;
        let s = self.session(conn)?;
        s.versioned = false;
        if !version.starts_with(fcall::VERSION) {
            return Ok(Fcall::Rversion {
                msize: msize.min(max),
                version: "unknown".into(),
            });
        }
        if msize < fcall::MIN_MSIZE {
            return Err(format!("msize {msize} too small (at least {})", fcall::MIN_MSIZE).into());
        }
        s.msize = msize.min(max);
        s.versioned = true;
        Ok(Fcall::Rversion {
            msize: s.msize,
            version: fcall::VERSION.into(),
        })
    }

    fn attach(&mut self, conn: ConnId, fid: u32, afid: u32, uname: String) -> Reply {
        let root = self.tree.root();
        let max = self.limits.max_fids;
        let s = self.session(conn)?;
        if s.fids.contains_key(&fid) {
            return Err(err::DUPFID.into());
        }
        if afid != fcall::NOFID {
            return Err(err::UNKNOWNFID.into());
        }
        if s.fids.len() >= max {
            return Err(err::TOOMANYFIDS.into());
        }
        s.fids.insert(
            fid,
            Fid {
                qid: root,
                uname: Arc::from(uname),
                open: None,
            },
        );
        Ok(Fcall::Rattach { qid: root })
    }

    fn flush(&mut self, conn: ConnId, oldtag: u16) {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        if let Some(req) = s.pending.remove(&oldtag) {
            if let Some(p) = self.pending.remove(&req) {
                self.tree.flush(p.handle, req);
            }
        }
    }

    fn walk(&mut self, conn: ConnId, fid: u32, newfid: u32, names: &[String]) -> Reply {
        let max = self.limits.max_fids;
        let s = self.session(conn)?;
        let nfids = s.fids.len();
        let f = s.fids.get(&fid).ok_or(FsError::from(err::UNKNOWNFID))?;
        if f.open.is_some() {
            return Err(err::OPENFID.into());
        }
        if !names.is_empty() && !f.qid.is_dir() {
            return Err(err::WALKNODIR.into());
        }
        let (start, uname) = (f.qid, f.uname.clone());
        if newfid != fid {
            if s.fids.contains_key(&newfid) {
                return Err(err::DUPFID.into());
            }
            if nfids >= max {
                return Err(err::TOOMANYFIDS.into());
            }
        }
        let mut cur = start;
        let mut wqids = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if !cur.is_dir() {
                break;
            }
            match self.tree.walk(cur, name) {
                Ok(q) => {
                    cur = q;
                    wqids.push(q);
                }
                Err(e) if i == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if wqids.len() == names.len() {
            let s = self.session(conn)?;
            s.fids.insert(
                newfid,
                Fid {
                    qid: cur,
                    uname,
                    open: None,
                },
            );
        }
        Ok(Fcall::Rwalk { wqids })
    }

    /// Check `mode` against the file's permission bits for this peer.
    fn permitted(stat: &Stat, owner: bool, mode: u8) -> Result<(), FsError> {
        if mode & !(3 | fcall::OTRUNC) != 0 {
            return Err(err::PERM.into());
        }
        let bits = if owner { stat.mode >> 6 } else { stat.mode } & 7;
        let mut need = [4, 2, 6, 1][usize::from(mode & 3)];
        if mode & fcall::OTRUNC != 0 {
            need |= 2;
        }
        if need & !bits != 0 {
            return Err(err::PERM.into());
        }
        Ok(())
    }

    fn open(&mut self, conn: ConnId, fid: u32, mode: u8) -> Reply {
        let msize = self.msize(conn);
        let f = self.fid(conn, fid)?;
        if f.open.is_some() {
            return Err(err::BOTCH.into());
        }
        let qid = f.qid;
        let uname = f.uname.clone();
        if qid.is_dir() && mode & !fcall::ORCLOSE != fcall::OREAD {
            return Err(err::ISDIR.into());
        }
        let stat = self.tree.stat(qid)?;
        let s = self.session(conn)?;
        Self::permitted(&stat, s.owner, mode)?;
        let who = Self::who(s, conn, &uname);
        let excl = stat.mode & fcall::DMEXCL != 0;
        if excl && self.excl.contains_key(&qid.path) {
            return Err(err::INUSE.into());
        }
        let handle = self.next_handle;
        self.next_handle += 1;
        let dir = if qid.is_dir() {
            Some(Box::new(DirRead {
                entries: Vec::new(),
                next: 0,
                offset: 0,
            }))
        } else {
            self.tree.open(handle, qid, mode, &who)?;
            None
        };
        if excl {
            self.excl.insert(qid.path, ());
        }
        self.fid(conn, fid)?.open = Some(Open {
            mode,
            handle,
            excl,
            dir,
        });
        Ok(Fcall::Ropen {
            qid,
            iounit: msize.saturating_sub(fcall::IOHDRSZ),
        })
    }

    fn create(&mut self, conn: ConnId, fid: u32, name: &str, perm: u32, mode: u8) -> Reply {
        let msize = self.msize(conn);
        let f = self.fid(conn, fid)?;
        if f.open.is_some() {
            return Err(err::BOTCH.into());
        }
        if !f.qid.is_dir() {
            return Err(err::CREATENONDIR.into());
        }
        let (dir, uname) = (f.qid, f.uname.clone());
        let stat = self.tree.stat(dir)?;
        let s = self.session(conn)?;
        Self::permitted(&stat, s.owner, fcall::OWRITE)?;
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(format!("bad file name '{name}'").into());
        }
        let who = Self::who(s, conn, &uname);
        let handle = self.next_handle;
        self.next_handle += 1;
        let qid = self.tree.create(handle, dir, name, perm, mode, &who)?;
        let f = self.fid(conn, fid)?;
        f.qid = qid;
        f.open = Some(Open {
            mode,
            handle,
            excl: false,
            dir: qid.is_dir().then(|| {
                Box::new(DirRead {
                    entries: Vec::new(),
                    next: 0,
                    offset: 0,
                })
            }),
        });
        Ok(Fcall::Rcreate {
            qid,
            iounit: msize.saturating_sub(fcall::IOHDRSZ),
        })
    }

    fn read(&mut self, conn: ConnId, tag: u16, fid: u32, offset: u64, count: u32) -> Option<Reply> {
        let msize = self.msize(conn);
        let max_pending = self.limits.max_pending;
        let count = count.min(msize.saturating_sub(fcall::IOHDRSZ));
        let f = match self.fid(conn, fid) {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        };
        let qid = f.qid;
        let Some(o) = f.open.as_mut() else {
            return Some(Err(err::NOTOPEN.into()));
        };
        if !matches!(o.mode & 3, fcall::OREAD | fcall::ORDWR | fcall::OEXEC) {
            return Some(Err(err::NOREAD.into()));
        }
        let handle = o.handle;
        if o.dir.is_some() {
            return Some(self.read_dir(conn, fid, qid, offset, count));
        }
        let s = self.sessions.get(&conn)?;
        if s.pending.len() >= max_pending {
            return Some(Err(err::TOOMANYREADS.into()));
        }
        let req = self.next_req;
        self.next_req += 1;
        match self.tree.read(handle, req, offset, count) {
            Ok(Read::Ready(mut data)) => {
                data.truncate(count as usize);
                Some(Ok(Fcall::Rread { data }))
            }
            Ok(Read::Pending) => {
                self.pending.insert(
                    req,
                    Pending {
                        conn,
                        tag,
                        fid,
                        handle,
                        count,
                    },
                );
                if let Some(s) = self.sessions.get_mut(&conn) {
                    s.pending.insert(tag, req);
                }
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// Directory reads return whole entries; an offset must be 0 (restart)
    /// or where the previous read ended (read(5)).
    fn read_dir(&mut self, conn: ConnId, fid: u32, qid: Qid, offset: u64, count: u32) -> Reply {
        let fresh = if offset == 0 {
            Some(self.tree.list(qid)?)
        } else {
            None
        };
        let f = self.fid(conn, fid)?;
        let Some(d) = f.open.as_mut().and_then(|o| o.dir.as_mut()) else {
            return Err(err::BOTCH.into());
        };
        if let Some(entries) = fresh {
            **d = DirRead {
                entries,
                next: 0,
                offset: 0,
            };
        } else if offset != d.offset {
            return Err(err::BADOFFSET.into());
        }
        let mut w = crate::wire::Writer::new();
        while let Some(st) = d.entries.get(d.next) {
            if w.buf.len() + st.encoded_len() > count as usize {
                break;
            }
            st.write(&mut w);
            d.next += 1;
        }
        if d.next >= d.entries.len() {
            d.entries = Vec::new();
            d.next = 0;
        }
        d.offset += w.buf.len() as u64;
        Ok(Fcall::Rread { data: w.into_vec() })
    }

    fn write(&mut self, conn: ConnId, fid: u32, offset: u64, data: &[u8]) -> Reply {
        let f = self.fid(conn, fid)?;
        let Some(o) = f.open.as_ref() else {
            return Err(err::NOTOPEN.into());
        };
        if !matches!(o.mode & 3, fcall::OWRITE | fcall::ORDWR) {
            return Err(err::NOWRITE.into());
        }
        let h = o.handle;
        let count = self.tree.write(h, offset, data)?;
        Ok(Fcall::Rwrite {
            count: count.min(data.len() as u32),
        })
    }

    fn clunk(&mut self, conn: ConnId, fid: u32) -> Result<(), FsError> {
        let s = self
            .sessions
            .get_mut(&conn)
            .ok_or(FsError::from(err::BOTCH))?;
        let f = s.fids.remove(&fid).ok_or(FsError::from(err::UNKNOWNFID))?;
        let pending = &self.pending;
        // Reads still pending on this fid get an error, then the tree
        // forgets them.
        let tags: Vec<(u16, ReqId)> = s
            .pending
            .iter()
            .filter(|(_, req)| pending.get(req).is_some_and(|p| p.fid == fid))
            .map(|(t, r)| (*t, *r))
            .collect();
        for (tag, req) in tags {
            if let Some(s) = self.sessions.get_mut(&conn) {
                s.pending.remove(&tag);
            }
            if let Some(p) = self.pending.remove(&req) {
                self.tree.flush(p.handle, req);
            }
            self.reply(conn, tag, Err(err::CLUNKED.into()));
        }
        self.release(f);
        Ok(())
    }

    fn remove(&mut self, conn: ConnId, fid: u32) -> Reply {
        let f = self.fid(conn, fid)?;
        let (qid, uname) = (f.qid, f.uname.clone());
        let stat = self.tree.stat(qid);
        let s = self.session(conn)?;
        let who = Self::who(s, conn, &uname);
        let owner = s.owner;
        // The fid is clunked whether or not the remove succeeds (remove(5)).
        let r = match stat {
            // Removing needs write permission in the parent; the server
            // does not know parents, so it asks for owner rights on the
            // file itself and leaves the rest to the tree.
            Ok(_) if !owner => Err(err::PERM.into()),
            Ok(_) => self.tree.remove(qid, &who),
            Err(e) => Err(e),
        };
        self.clunk(conn, fid)?;
        r.map(|()| Fcall::Rremove)
    }

    fn stat(&mut self, conn: ConnId, fid: u32) -> Reply {
        let qid = self.fid(conn, fid)?.qid;
        let stat = self.tree.stat(qid)?;
        Ok(Fcall::Rstat { stat })
    }

    fn wstat(&mut self, conn: ConnId, fid: u32, stat: &Stat) -> Reply {
        let f = self.fid(conn, fid)?;
        let (qid, uname) = (f.qid, f.uname.clone());
        if stat.is_null_wstat() {
            return Ok(Fcall::Rwstat);
        }
        let s = self.session(conn)?;
        if !s.owner {
            return Err(err::PERM.into());
        }
        let who = Self::who(s, conn, &uname);
        self.tree.wstat(qid, stat, &who).map(|()| Fcall::Rwstat)
    }
}

/// Bytes a connection's server-side state occupies when idle with `fids`
/// fids: the session in the server's map (a vector grown by doubling:
/// about 1.5 entries' space each), the fid vector (grown by doubling) and the attach name
/// (shared by walked fids). No buffers: the server keeps none.
pub fn idle_session_bytes(fids: usize) -> usize {
    use std::mem::size_of;
    let session = (size_of::<ConnId>() + size_of::<Session>()) * 3 / 2;
    let fid_vec = fids.next_power_of_two().max(4) * size_of::<(u32, Fid)>();
    let uname = if fids > 0 { 16 + 16 } else { 0 };
    session + fid_vec + uname
}

/// `(Session, Fid)` sizes, for the memory report.
pub fn struct_sizes() -> (usize, usize) {
    (std::mem::size_of::<Session>(), std::mem::size_of::<Fid>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ninep::demo::DemoTree;
    use crate::ninep::fcall::*;

    const ME: Peer = Peer {
        pid: 1,
        uid: 1000,
        gid: 1000,
    };

    struct T {
        srv: Server<DemoTree>,
        tag: u16,
    }

    impl T {
        fn new() -> T {
            T {
                srv: Server::new("test", DemoTree::new("glenda"), Limits::default()),
                tag: 0,
            }
        }

        fn conn(&mut self, owner: bool) -> ConnId {
            let c = self.srv.connect(ME, owner);
            assert_eq!(
                self.rpc(
                    c,
                    Fcall::Tversion {
                        msize: 8192,
                        version: "9P2000".into()
                    }
                ),
                Fcall::Rversion {
                    msize: 8192,
                    version: "9P2000".into()
                }
            );
            assert!(matches!(
                self.rpc(
                    c,
                    Fcall::Tattach {
                        fid: 0,
                        afid: NOFID,
                        uname: "glenda".into(),
                        aname: "".into()
                    }
                ),
                Fcall::Rattach { .. }
            ));
            c
        }

        fn send(&mut self, c: ConnId, body: Fcall) -> u16 {
            self.tag = self.tag.wrapping_add(1);
            self.srv.handle(c, &Msg::new(self.tag, body).encode());
            self.tag
        }

        fn out(&mut self) -> Vec<(ConnId, Msg)> {
            self.srv
                .take_output()
                .into_iter()
                .map(|(c, b)| (c, decode(&b).unwrap()))
                .collect()
        }

        fn rpc(&mut self, c: ConnId, body: Fcall) -> Fcall {
            let tag = self.send(c, body);
            let mut out = self.out();
            assert_eq!(out.len(), 1, "{out:?}");
            let (rc, m) = out.remove(0);
            assert_eq!((rc, m.tag), (c, tag));
            m.body
        }

        fn err(&mut self, c: ConnId, body: Fcall) -> String {
            match self.rpc(c, body) {
                Fcall::Rerror { ename } => ename,
                other => panic!("expected Rerror, got {other:?}"),
            }
        }

        fn walk_open(&mut self, c: ConnId, fid: u32, path: &[&str], mode: u8) -> Fcall {
            let wnames = path.iter().map(|s| s.to_string()).collect();
            match self.rpc(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: fid,
                    wnames,
                },
            ) {
                Fcall::Rwalk { wqids } if wqids.len() == path.len() => {}
                other => return other,
            }
            self.rpc(c, Fcall::Topen { fid, mode })
        }
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `NAMESPACE=... 9p read demo/readonly` from plan9port (lib9pclient),
    /// captured with strace: every message it wrote, in order, and the
    /// bytes it read back.
    #[test]
    fn plan9port_9p_read_transcript() {
        // Tversion, Tauth (refused), Tattach, Twalk readonly, Topen,
        // Tread at 0, Tread at 10 (end), Tclunk. All with tag 0 but the
        // first.
        #[rustfmt::skip]
        const TRANSCRIPT: [(&str, &str); 8] = [
            ("1300000064ffff002000000600395032303030", "1300000065ffff002000000600395032303030"),
            ("13000000660000000000000400726f6f740000", "2a0000006b0000210064656d6f3a2061757468656e7469636174696f6e206e6f74207265717569726564"),
            ("1700000068000000000000ffffffff0400726f6f740000", "1400000069000080000000000100000000000000"),
            ("1b0000006e0000000000000100000001000800726561646f6e6c79", "160000006f0000010000000000000600000000000000"),
            ("0c0000007000000100000000", "1800000071000000000000000600000000000000e81f0000"),
            ("1700000074000001000000000000000000000000100000", "150000007500000a00000072656164206f6e6c790a"),
            ("17000000740000010000000a0000000000000000100000", "0b00000075000000000000"),
            ("0b00000078000001000000", "07000000790000"),
        ];
        let mut srv = Server::new("demo", DemoTree::new("demo"), Limits::default());
        let c = srv.connect(ME, true);
        for (t, r) in TRANSCRIPT {
            let t = unhex(t);
            assert!(decode(&t).is_ok(), "{t:02x?}");
            srv.handle(c, &t);
            let out = srv.take_output();
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].1, unhex(r), "reply to {:?}", decode(&t));
        }
    }

    #[test]
    fn version_negotiates_msize_and_rejects_others() {
        let mut t = T::new();
        let c = t.srv.connect(ME, true);
        assert_eq!(t.err(c, Fcall::Tstat { fid: 0 }), err::NOVERSION);
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tversion {
                    msize: 1 << 20,
                    version: "9P2000".into()
                }
            ),
            Fcall::Rversion {
                msize: DEFAULT_MSIZE,
                version: "9P2000".into()
            }
        );
        assert_eq!(t.srv.msize(c), DEFAULT_MSIZE);
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tversion {
                    msize: 8192,
                    version: "9P2000.L".into()
                }
            ),
            Fcall::Rversion {
                msize: 8192,
                version: "9P2000".into()
            }
        );
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tversion {
                    msize: 8192,
                    version: "9P1999".into()
                }
            ),
            Fcall::Rversion {
                msize: 8192,
                version: "unknown".into()
            }
        );
        assert_eq!(t.err(c, Fcall::Tstat { fid: 0 }), err::NOVERSION);
        assert!(t
            .err(
                c,
                Fcall::Tversion {
                    msize: 100,
                    version: "9P2000".into()
                }
            )
            .contains("too small"));
    }

    #[test]
    fn auth_is_refused_like_lib9p() {
        let mut t = T::new();
        let c = t.conn(true);
        assert_eq!(
            t.err(
                c,
                Fcall::Tauth {
                    afid: 10,
                    uname: "u".into(),
                    aname: "".into()
                }
            ),
            "test: authentication not required"
        );
    }

    #[test]
    fn walk_errors() {
        let mut t = T::new();
        let c = t.conn(true);
        assert_eq!(
            t.err(
                c,
                Fcall::Twalk {
                    fid: 9,
                    newfid: 1,
                    wnames: vec![]
                }
            ),
            err::UNKNOWNFID
        );
        assert_eq!(
            t.err(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 0,
                    wnames: vec!["nope".into()]
                }
            ),
            err::NOTFOUND
        );
        // Partial walk: one qid back, newfid not made.
        match t.rpc(
            c,
            Fcall::Twalk {
                fid: 0,
                newfid: 1,
                wnames: vec!["echo".into(), "x".into()],
            },
        ) {
            Fcall::Rwalk { wqids } => assert_eq!(wqids.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.err(c, Fcall::Tstat { fid: 1 }), err::UNKNOWNFID);
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 1,
                    wnames: vec!["echo".into()]
                }
            ),
            Fcall::Rwalk { .. }
        ));
        assert_eq!(
            t.err(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 1,
                    wnames: vec![]
                }
            ),
            err::DUPFID
        );
        assert_eq!(
            t.err(
                c,
                Fcall::Twalk {
                    fid: 1,
                    newfid: 2,
                    wnames: vec!["x".into()]
                }
            ),
            err::WALKNODIR
        );
        // Walk to the subdirectory and back up.
        match t.rpc(
            c,
            Fcall::Twalk {
                fid: 0,
                newfid: 3,
                wnames: vec!["sub".into(), "..".into(), "sub".into(), "deep".into()],
            },
        ) {
            Fcall::Rwalk { wqids } => assert_eq!(wqids.len(), 4),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.err(
                c,
                Fcall::Tattach {
                    fid: 3,
                    afid: NOFID,
                    uname: "".into(),
                    aname: "".into()
                }
            ),
            err::DUPFID
        );
        assert_eq!(
            t.err(
                c,
                Fcall::Tattach {
                    fid: 7,
                    afid: 3,
                    uname: "".into(),
                    aname: "".into()
                }
            ),
            err::UNKNOWNFID
        );
    }

    #[test]
    fn modes_and_permissions() {
        let mut t = T::new();
        let owner = t.conn(true);
        let other = t.conn(false);
        // secret is 0600: owner only.
        assert!(matches!(
            t.walk_open(owner, 1, &["secret"], ORDWR),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.walk_open(other, 1, &["secret"], OREAD),
            Fcall::Rerror {
                ename: err::PERM.into()
            }
        );
        // readonly is 0444.
        assert!(matches!(
            t.walk_open(other, 2, &["readonly"], OREAD),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.walk_open(owner, 2, &["readonly"], OWRITE),
            Fcall::Rerror {
                ename: err::PERM.into()
            }
        );
        assert_eq!(
            t.walk_open(owner, 3, &["readonly"], OREAD | OTRUNC),
            Fcall::Rerror {
                ename: err::PERM.into()
            }
        );
        assert_eq!(
            t.walk_open(owner, 4, &["echo"], OREAD | ORCLOSE),
            Fcall::Rerror {
                ename: err::PERM.into()
            }
        );
        assert_eq!(
            t.walk_open(owner, 5, &["echo"], OEXEC),
            Fcall::Rerror {
                ename: err::PERM.into()
            }
        );
        // Directories open for reading only.
        assert_eq!(
            t.walk_open(owner, 6, &[], OWRITE),
            Fcall::Rerror {
                ename: err::ISDIR.into()
            }
        );
        // Reading a write-only open, writing a read-only open.
        assert!(matches!(
            t.walk_open(owner, 7, &["echo"], OWRITE),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.err(
                owner,
                Fcall::Tread {
                    fid: 7,
                    offset: 0,
                    count: 10
                }
            ),
            err::NOREAD
        );
        assert_eq!(
            t.err(
                other,
                Fcall::Twrite {
                    fid: 2,
                    offset: 0,
                    data: b"x".to_vec()
                }
            ),
            err::NOWRITE
        );
        assert_eq!(
            t.err(
                owner,
                Fcall::Tread {
                    fid: 0,
                    offset: 0,
                    count: 10
                }
            ),
            err::NOTOPEN
        );
        assert_eq!(
            t.err(
                owner,
                Fcall::Topen {
                    fid: 7,
                    mode: OREAD
                }
            ),
            err::BOTCH
        );
        assert_eq!(
            t.err(
                owner,
                Fcall::Twalk {
                    fid: 7,
                    newfid: 8,
                    wnames: vec![]
                }
            ),
            err::OPENFID
        );
    }

    #[test]
    fn exclusive_open_is_one_at_a_time_across_connections() {
        let mut t = T::new();
        let a = t.conn(true);
        let b = t.conn(true);
        assert!(matches!(
            t.walk_open(a, 1, &["excl"], OREAD),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.walk_open(b, 1, &["excl"], OREAD),
            Fcall::Rerror {
                ename: err::INUSE.into()
            }
        );
        assert_eq!(
            t.walk_open(a, 2, &["excl"], OREAD),
            Fcall::Rerror {
                ename: err::INUSE.into()
            }
        );
        assert_eq!(t.rpc(a, Fcall::Tclunk { fid: 1 }), Fcall::Rclunk);
        assert!(matches!(
            t.rpc(
                b,
                Fcall::Topen {
                    fid: 1,
                    mode: OREAD
                }
            ),
            Fcall::Ropen { .. }
        ));
        // A vanished client releases its exclusive open.
        t.srv.disconnect(b);
        assert!(matches!(
            t.rpc(
                a,
                Fcall::Topen {
                    fid: 2,
                    mode: OREAD
                }
            ),
            Fcall::Ropen { .. }
        ));
    }

    #[test]
    fn echo_ignores_offsets_and_dirs_list() {
        let mut t = T::new();
        let c = t.conn(true);
        assert!(matches!(
            t.walk_open(c, 1, &["echo"], ORDWR),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.rpc(
                c,
                Fcall::Twrite {
                    fid: 1,
                    offset: 999,
                    data: b"hello".to_vec()
                }
            ),
            Fcall::Rwrite { count: 5 }
        );
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tread {
                    fid: 1,
                    offset: 12345,
                    count: 3
                }
            ),
            Fcall::Rread {
                data: b"hel".to_vec()
            }
        );
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tread {
                    fid: 1,
                    offset: 0,
                    count: 100
                }
            ),
            Fcall::Rread {
                data: b"lo".to_vec()
            }
        );
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tread {
                    fid: 1,
                    offset: 0,
                    count: 100
                }
            ),
            Fcall::Rread { data: vec![] }
        );
        assert!(matches!(t.walk_open(c, 2, &[], OREAD), Fcall::Ropen { .. }));
        let Fcall::Rread { data } = t.rpc(
            c,
            Fcall::Tread {
                fid: 2,
                offset: 0,
                count: 8000,
            },
        ) else {
            panic!()
        };
        let mut r = crate::wire::Reader::new(&data);
        let mut names = Vec::new();
        while r.remaining() > 0 {
            names.push(Stat::read(&mut r).unwrap().name);
        }
        assert_eq!(
            names,
            ["echo", "wait", "kick", "secret", "readonly", "excl", "sub"]
        );
        let end = data.len() as u64;
        assert_eq!(
            t.rpc(
                c,
                Fcall::Tread {
                    fid: 2,
                    offset: end,
                    count: 8000
                }
            ),
            Fcall::Rread { data: vec![] }
        );
        assert_eq!(
            t.err(
                c,
                Fcall::Tread {
                    fid: 2,
                    offset: 3,
                    count: 8000
                }
            ),
            err::BADOFFSET
        );
        // A small count returns whole entries only, and continues.
        let Fcall::Rread { data: one } = t.rpc(
            c,
            Fcall::Tread {
                fid: 2,
                offset: 0,
                count: 70,
            },
        ) else {
            panic!()
        };
        assert_eq!(
            Stat::read(&mut crate::wire::Reader::new(&one))
                .unwrap()
                .name,
            "echo"
        );
        let Fcall::Rread { data: two } = t.rpc(
            c,
            Fcall::Tread {
                fid: 2,
                offset: one.len() as u64,
                count: 70,
            },
        ) else {
            panic!()
        };
        assert_eq!(
            Stat::read(&mut crate::wire::Reader::new(&two))
                .unwrap()
                .name,
            "wait"
        );
        assert!(
            matches!(t.rpc(c, Fcall::Tstat { fid: 1 }), Fcall::Rstat { stat } if stat.name == "echo" && stat.mode == 0o666)
        );
    }

    #[test]
    fn pending_read_completes_out_of_order_on_another_connection_write() {
        let mut t = T::new();
        let a = t.conn(true);
        let b = t.conn(true);
        assert!(matches!(
            t.walk_open(a, 1, &["wait"], OREAD),
            Fcall::Ropen { .. }
        ));
        let tag = t.send(
            a,
            Fcall::Tread {
                fid: 1,
                offset: 0,
                count: 100,
            },
        );
        assert!(t.out().is_empty());
        // The same tag again while pending.
        t.srv
            .handle(a, &Msg::new(tag, Fcall::Tstat { fid: 1 }).encode());
        assert_eq!(
            t.out()[0].1.body,
            Fcall::Rerror {
                ename: err::DUPTAG.into()
            }
        );
        // Other requests on a are answered meanwhile.
        assert!(matches!(
            t.rpc(a, Fcall::Tstat { fid: 1 }),
            Fcall::Rstat { .. }
        ));
        assert!(matches!(
            t.walk_open(b, 1, &["kick"], OWRITE),
            Fcall::Ropen { .. }
        ));
        let wtag = t.send(
            b,
            Fcall::Twrite {
                fid: 1,
                offset: 0,
                data: b"go".to_vec(),
            },
        );
        let out = t.out();
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.contains(&(b, Msg::new(wtag, Fcall::Rwrite { count: 2 }))));
        assert!(out.contains(&(
            a,
            Msg::new(
                tag,
                Fcall::Rread {
                    data: b"go".to_vec()
                }
            )
        )));
    }

    #[test]
    fn flush_cancels_a_pending_read() {
        let mut t = T::new();
        let a = t.conn(true);
        assert!(matches!(
            t.walk_open(a, 1, &["wait"], OREAD),
            Fcall::Ropen { .. }
        ));
        let tag = t.send(
            a,
            Fcall::Tread {
                fid: 1,
                offset: 0,
                count: 100,
            },
        );
        assert_eq!(t.rpc(a, Fcall::Tflush { oldtag: tag }), Fcall::Rflush);
        assert_eq!(t.srv.tree.waiting(), 0);
        // Flushing something already answered is fine too.
        assert_eq!(t.rpc(a, Fcall::Tflush { oldtag: 999 }), Fcall::Rflush);
        assert!(matches!(
            t.walk_open(a, 2, &["kick"], OWRITE),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.rpc(
                a,
                Fcall::Twrite {
                    fid: 2,
                    offset: 0,
                    data: b"x".to_vec()
                }
            ),
            Fcall::Rwrite { count: 1 }
        );
    }

    #[test]
    fn clunk_and_disconnect_clean_up() {
        let mut t = T::new();
        let a = t.conn(true);
        assert!(matches!(
            t.walk_open(a, 1, &["wait"], OREAD),
            Fcall::Ropen { .. }
        ));
        let tag = t.send(
            a,
            Fcall::Tread {
                fid: 1,
                offset: 0,
                count: 100,
            },
        );
        let ctag = t.send(a, Fcall::Tclunk { fid: 1 });
        let out = t.out();
        assert_eq!(
            out,
            [
                (
                    a,
                    Msg::new(
                        tag,
                        Fcall::Rerror {
                            ename: err::CLUNKED.into()
                        }
                    )
                ),
                (a, Msg::new(ctag, Fcall::Rclunk))
            ]
        );
        assert_eq!(t.srv.tree.open_handles(), 0);
        assert!(matches!(
            t.walk_open(a, 1, &["wait"], OREAD),
            Fcall::Ropen { .. }
        ));
        t.send(
            a,
            Fcall::Tread {
                fid: 1,
                offset: 0,
                count: 100,
            },
        );
        assert!(matches!(
            t.walk_open(a, 2, &["echo"], OREAD),
            Fcall::Ropen { .. }
        ));
        assert_eq!(t.srv.tree.open_handles(), 2);
        t.srv.disconnect(a);
        assert_eq!(t.srv.tree.open_handles(), 0);
        assert_eq!(t.srv.tree.waiting(), 0);
        assert_eq!(t.srv.connections(), 0);
        assert!(t.out().is_empty());
        // Messages for a gone connection are ignored.
        t.srv
            .handle(a, &Msg::new(1, Fcall::Tclunk { fid: 0 }).encode());
        assert!(t.out().is_empty());
    }

    #[test]
    fn bad_bodies_get_rerror_and_the_connection_goes_on() {
        let mut t = T::new();
        let c = t.conn(true);
        t.srv.handle(c, &[10, 0, 0, 0, 120, 5, 0, 1, 0, 0]);
        let out = t.out();
        assert_eq!(
            out[0].1,
            Msg::new(
                5,
                Fcall::Rerror {
                    ename: "bad Tclunk: truncated at byte 7 (field of 4 bytes)".into()
                }
            )
        );
        t.srv.handle(c, &[7, 0, 0, 0, 200, 6, 0]);
        assert_eq!(
            t.out()[0].1,
            Msg::new(
                6,
                Fcall::Rerror {
                    ename: "unknown 9P message type 200".into()
                }
            )
        );
        assert_eq!(t.err(c, Fcall::Rclunk), "unexpected Rclunk message");
        assert!(matches!(
            t.rpc(c, Fcall::Tstat { fid: 0 }),
            Fcall::Rstat { .. }
        ));
    }

    #[test]
    fn long_errors_are_cut_to_fit_msize() {
        // The server's name starts the Tauth error: make it too long, with
        // two-byte characters so the cut falls inside one.
        let name: &'static str = Box::leak("é".repeat(300).into_boxed_str());
        let mut t = T::new();
        t.srv = Server::new(name, DemoTree::new("glenda"), Limits::default());
        let c = t.srv.connect(ME, true);
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Tversion {
                    msize: 256,
                    version: "9P2000".into()
                }
            ),
            Fcall::Rversion { msize: 256, .. }
        ));
        let e = t.err(
            c,
            Fcall::Tauth {
                afid: 1,
                uname: "".into(),
                aname: "".into(),
            },
        );
        assert_eq!(e.len(), 246, "cut at a character boundary below 256 - 9");
        assert!(e.chars().all(|ch| ch == 'é'));
    }

    #[test]
    fn limits_hold() {
        let mut t = T::new();
        let c = t.conn(true);
        for i in 1..256 {
            assert!(matches!(
                t.rpc(
                    c,
                    Fcall::Twalk {
                        fid: 0,
                        newfid: i,
                        wnames: vec![]
                    }
                ),
                Fcall::Rwalk { .. }
            ));
        }
        assert_eq!(
            t.err(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 999,
                    wnames: vec![]
                }
            ),
            err::TOOMANYFIDS
        );
        for i in 1..=32 {
            assert!(matches!(
                t.rpc(
                    c,
                    Fcall::Twalk {
                        fid: i,
                        newfid: i,
                        wnames: vec!["wait".into()]
                    }
                ),
                Fcall::Rwalk { .. }
            ));
            assert!(matches!(
                t.rpc(
                    c,
                    Fcall::Topen {
                        fid: i,
                        mode: OREAD
                    }
                ),
                Fcall::Ropen { .. }
            ));
            t.send(
                c,
                Fcall::Tread {
                    fid: i,
                    offset: 0,
                    count: 1,
                },
            );
        }
        assert!(t.out().is_empty());
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Twalk {
                    fid: 40,
                    newfid: 40,
                    wnames: vec!["wait".into()]
                }
            ),
            Fcall::Rwalk { .. }
        ));
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Topen {
                    fid: 40,
                    mode: OREAD
                }
            ),
            Fcall::Ropen { .. }
        ));
        assert_eq!(
            t.err(
                c,
                Fcall::Tread {
                    fid: 40,
                    offset: 0,
                    count: 1
                }
            ),
            err::TOOMANYREADS
        );
    }

    #[test]
    fn wstat_remove_create() {
        let mut t = T::new();
        let c = t.conn(true);
        let o = t.conn(false);
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 1,
                    wnames: vec!["echo".into()]
                }
            ),
            Fcall::Rwalk { .. }
        ));
        let null = Stat {
            ty: !0,
            dev: !0,
            qid: Qid {
                ty: !0,
                vers: !0,
                path: !0,
            },
            mode: !0,
            atime: !0,
            mtime: !0,
            length: !0,
            ..Stat::default()
        };
        assert_eq!(
            t.rpc(
                c,
                Fcall::Twstat {
                    fid: 1,
                    stat: null.clone()
                }
            ),
            Fcall::Rwstat
        );
        let mut rename = null;
        rename.name = "other".into();
        assert_eq!(
            t.err(
                c,
                Fcall::Twstat {
                    fid: 1,
                    stat: rename
                }
            ),
            err::NOWSTAT
        );
        assert_eq!(t.err(c, Fcall::Tremove { fid: 1 }), err::NOREMOVE);
        assert_eq!(t.err(c, Fcall::Tstat { fid: 1 }), err::UNKNOWNFID);
        // The demo's root is 0555: nobody may create in it.
        assert_eq!(
            t.err(
                c,
                Fcall::Tcreate {
                    fid: 0,
                    name: "n".into(),
                    perm: 0o600,
                    mode: OREAD
                }
            ),
            err::PERM
        );
        assert!(matches!(
            t.rpc(
                c,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 2,
                    wnames: vec!["echo".into()]
                }
            ),
            Fcall::Rwalk { .. }
        ));
        assert_eq!(
            t.err(
                c,
                Fcall::Tcreate {
                    fid: 2,
                    name: "n".into(),
                    perm: 0o600,
                    mode: OREAD
                }
            ),
            err::CREATENONDIR
        );
        assert_eq!(
            t.err(
                o,
                Fcall::Tcreate {
                    fid: 0,
                    name: "n".into(),
                    perm: 0o600,
                    mode: OREAD
                }
            ),
            err::PERM
        );
    }
}
