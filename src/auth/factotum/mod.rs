//! The factotum: keys, conversations and the files they are reached by, as
//! one sans-IO object.
//!
//! A 9P server (or a test) maps file operations onto methods:
//!
//! | file    | open                      | write               | read                |
//! |---------|---------------------------|---------------------|---------------------|
//! | ctl     | [`Factotum::check_open`]  | [`Factotum::ctl_write`] | [`Factotum::ctl_read`] (whole listing; the server slices by offset) |
//! | rpc     | [`Factotum::rpc_open`]    | [`Factotum::rpc_write`] | [`Factotum::rpc_read`] |
//! | proto   |                           |                     | [`Factotum::proto_read`] |
//! | confirm | [`Factotum::open_exclusive`] | [`Factotum::confirm_write`] | [`Factotum::confirm_read`] |
//! | needkey | [`Factotum::open_exclusive`] | [`Factotum::needkey_write`] | [`Factotum::needkey_read`] |
//! | log     | [`Factotum::open_exclusive`] |                  | [`Factotum::log_read`] |
//! | conv    |                           |                     | [`Factotum::conv_read`] |
//!
//! Reads of rpc, confirm, needkey and log may have nothing to give yet
//! (`Pending`/`None`): the server keeps the 9P read waiting and tries again
//! after [`Factotum::take_events`] names the file. Closing a file (clunk)
//! calls [`Factotum::rpc_close`] or [`Factotum::close_exclusive`].
//!
//! Error strings are plan9port's. Secrets never appear in a reply other
//! than proto=pass's password, in errors, in the log or in Debug output.

pub mod confirm;
pub mod conv;
pub mod ctl;
pub mod handle;
pub mod persist;
pub mod queue;
pub mod rpc;
pub mod service;
#[cfg(test)]
mod tests;
pub mod tree;

use crate::auth::proto::key::Ring;
use crate::auth::proto::Env;
use crate::ninep::vecmap::VecMap;
use conv::Conv;
pub use conv::ConvId;
use queue::Queue;
use std::fmt;
use zeroize::Zeroizing;

/// A failed file operation; the text is the 9P error string.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub fn new(s: impl Into<String>) -> Error {
        Error(s.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?})", self.0)
    }
}

impl std::error::Error for Error {}

/// Something a waiting read may now get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The conversation has a reply for its pending rpc read.
    Rpc(ConvId),
    Log,
    Confirm,
    Needkey,
}

/// The answer to an rpc read.
pub enum RpcRead {
    Reply(Zeroizing<Vec<u8>>),
    /// Waiting on the confirm or needkey file; read again after
    /// `Event::Rpc` for this conversation.
    Pending,
}

impl fmt::Debug for RpcRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // a pass reply holds a password
            RpcRead::Reply(r) => write!(f, "Reply({} bytes)", r.len()),
            RpcRead::Pending => f.write_str("Pending"),
        }
    }
}

/// The factotum's files, with plan9port's names and permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum File {
    Confirm,
    Needkey,
    Ctl,
    Rpc,
    Proto,
    Log,
    Conv,
}

/// `DMEXCL`: one open at a time.
pub const DMEXCL: u32 = 0x2000_0000;

impl File {
    pub const ALL: [File; 7] = [
        File::Confirm,
        File::Needkey,
        File::Ctl,
        File::Rpc,
        File::Proto,
        File::Log,
        File::Conv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            File::Confirm => "confirm",
            File::Needkey => "needkey",
            File::Ctl => "ctl",
            File::Rpc => "rpc",
            File::Proto => "proto",
            File::Log => "log",
            File::Conv => "conv",
        }
    }

    /// Permission bits as in plan9port's dirtab (with DMEXCL).
    pub fn perm(self) -> u32 {
        match self {
            File::Confirm | File::Needkey | File::Log => 0o600 | DMEXCL,
            File::Ctl => 0o600,
            File::Rpc => 0o666,
            File::Proto => 0o444,
            File::Conv => 0o400,
        }
    }

    pub fn lookup(name: &str) -> Option<File> {
        File::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Everything but the conversations (so a conversation can run with the
/// rest of the agent borrowed).
pub(crate) struct World {
    pub ring: Ring,
    pub env: Box<dyn Env>,
    pub log: Queue,
    pub confirm: Queue,
    pub needkey: Queue,
    pub events: Vec<Event>,
    pub debug: bool,
    /// Seconds a confirm request waits for a confirmer.
    pub confirm_wait: u64,
    /// The user the factotum belongs to: its conversations may use any key.
    pub owner: String,
}

impl World {
    /// Nobody holds confirm and a request may not wait for a confirmer
    /// (`confirm_wait` 0: plan9port's confirmkey refuses at once).
    pub fn unconfirmable(&self) -> bool {
        !self.confirm.open && self.confirm_wait == 0
    }

    /// Append to the log (`flog`). Callers format attributes with their
    /// Display, which hides secret values.
    pub fn flog(&mut self, s: String) {
        log::debug!("factotum: {s}");
        self.log.push(s);
        self.events.push(Event::Log);
    }
}

/// The key agent.
pub struct Factotum {
    w: World,
    convs: VecMap<u64, Conv>,
    conv_taggen: u64,
}

impl Factotum {
    /// A factotum with no keys, owned by `owner` (the user name that gets
    /// owner permissions on its files).
    pub fn new(owner: &str, env: Box<dyn Env>) -> Factotum {
        Factotum {
            w: World {
                ring: Ring::new(),
                env,
                log: Queue::default(),
                confirm: Queue::default(),
                needkey: Queue::default(),
                events: Vec::new(),
                debug: false,
                confirm_wait: 30,
                owner: owner.to_string(),
            },
            convs: VecMap::new(),
            conv_taggen: 0,
        }
    }

    pub fn owner(&self) -> &str {
        &self.w.owner
    }

    /// The key ring (read only).
    pub fn keys(&self) -> &Ring {
        &self.w.ring
    }

    /// Is debugging on (the `debug` ctl verb toggles it)?
    pub fn debug(&self) -> bool {
        self.w.debug
    }

    /// How long a confirm request waits for someone to open confirm.
    pub fn set_confirm_wait(&mut self, d: std::time::Duration) {
        self.w.confirm_wait = d.as_secs();
    }

    /// Fail the confirm requests that waited their time for a confirmer
    /// (call now and then while rpc reads wait).
    pub fn tick(&mut self) {
        if self.w.confirm.open {
            return;
        }
        let now = self.w.env.now();
        for (&id, c) in self.convs.iter_mut() {
            if c.confirm_expired(now, &mut self.w) {
                self.w.events.push(Event::Rpc(ConvId(id)));
            }
        }
    }

    /// Events since the last call: reads that may now be answered.
    pub fn take_events(&mut self) -> Vec<Event> {
        let mut v = std::mem::take(&mut self.w.events);
        v.dedup();
        v
    }

    /// May `user` open `file` with 9P open `mode` (plan9port `fsopen`)?
    /// Exclusive files are then taken with [`Factotum::open_exclusive`].
    pub fn check_open(&self, file: File, user: &str, mode: u8) -> Result<(), Error> {
        const OTRUNC: u8 = 0x10;
        let perm = if user == self.w.owner {
            file.perm() >> 6
        } else {
            file.perm()
        } & 7;
        let need = [4u32, 2, 6, 1][usize::from(mode & 3)];
        if mode & !(3 | OTRUNC) != 0 || need & !perm != 0 {
            return Err(Error::new("permission denied"));
        }
        Ok(())
    }

    fn queue(&mut self, file: File) -> Option<&mut Queue> {
        match file {
            File::Confirm => Some(&mut self.w.confirm),
            File::Needkey => Some(&mut self.w.needkey),
            File::Log => Some(&mut self.w.log),
            _ => None,
        }
    }

    /// Open confirm, needkey or log: one holder at a time (`file in use`).
    /// Other files need nothing here.
    pub fn open_exclusive(&mut self, file: File) -> Result<(), Error> {
        match self.queue(file) {
            Some(q) if q.open => Err(Error::new("file in use")),
            Some(q) => {
                q.open = true;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The holder of confirm, needkey or log closed it. Conversations
    /// waiting on it go on: an unanswered confirm counts as `no`, an
    /// unanswered needkey as done.
    pub fn close_exclusive(&mut self, file: File) {
        if let Some(q) = self.queue(file) {
            q.open = false;
        }
        let ids: Vec<u64> = self.convs.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.convs.get_mut(&id) {
                if !c.blocked() {
                    continue;
                }
                match file {
                    File::Confirm => c.confirmed(false, &mut self.w),
                    File::Needkey => c.needkey_done(&mut self.w),
                    _ => {}
                }
                if c.reply.is_some() {
                    self.w.events.push(Event::Rpc(ConvId(id)));
                }
            }
        }
    }

    /// A write to ctl.
    pub fn ctl_write(&mut self, data: &[u8]) -> Result<(), Error> {
        let data = crate::auth::proto::cstr(data);
        let s = Zeroizing::new(
            std::str::from_utf8(data)
                .map_err(|_| Error::new("ctl write is not UTF-8"))?
                .to_string(),
        );
        let r = ctl::parse(&s).and_then(|c| ctl::run(&mut self.w, c));
        self.logged("ctl", r)
    }

    /// fs.c logs every failed write as `write FILE: ERR`.
    fn logged(&mut self, file: &str, r: Result<(), Error>) -> Result<(), Error> {
        if let Err(e) = &r {
            self.w.flog(format!("write {file}: {e}"));
        }
        r
    }

    /// What ctl reads: one `key ...` line per key, secrets as `!name?`.
    pub fn ctl_read(&mut self) -> String {
        self.w.ring.listing()
    }

    /// What proto reads: the protocol names, one a line.
    pub fn proto_read(&self) -> String {
        let mut s = String::new();
        for p in crate::auth::proto::PROTOS {
            s.push_str(p.name);
            s.push('\n');
        }
        s
    }

    /// What conv reads: one line per conversation (plan9port `convlist`).
    pub fn conv_read(&self) -> String {
        let mut s = String::new();
        for c in self.convs.values().rev() {
            match &c.state {
                conv::State::Active(a) => s.push_str(&format!(
                    "conv state={} {}\n",
                    crate::auth::attr::quote(&a.phase()),
                    c.attr
                )),
                conv::State::Idle { err, .. } => s.push_str(&format!(
                    "conv state=closed err={}\n",
                    crate::auth::attr::quote(err)
                )),
            }
        }
        s
    }

    /// A read of ctl, proto or conv as plan9port serves them (fs.c
    /// `readlist`): offsets are ignored; the fid remembers the next line
    /// (`next`, 0 after open) and each read returns the whole lines that
    /// fit in `count` bytes. Returns the bytes and the new `next`. Other
    /// files give nothing.
    pub fn read_lines(&mut self, file: File, next: usize, count: usize) -> (Vec<u8>, usize) {
        let text = match file {
            File::Ctl => self.ctl_read(),
            File::Proto => self.proto_read(),
            File::Conv => self.conv_read(),
            _ => String::new(),
        };
        let mut out = Vec::new();
        let mut i = next;
        for line in text.split_inclusive('\n').skip(next) {
            if out.len() + line.len() > count {
                break;
            }
            out.extend_from_slice(line.as_bytes());
            i += 1;
        }
        (out, i)
    }

    /// Open rpc: a new conversation for `sysuser` (the peer's user name).
    pub fn rpc_open(&mut self, sysuser: &str) -> ConvId {
        self.conv_taggen += 1;
        let tag = self.conv_taggen;
        self.convs.insert(tag, Conv::new(tag, sysuser));
        ConvId(tag)
    }

    /// The conversation was closed (clunk of its fid). A 9P read still
    /// waiting on it should be answered with the error `hangup`, as
    /// plan9port's `fskickreply` does.
    pub fn rpc_close(&mut self, id: ConvId) {
        self.convs.remove(&id.0);
    }

    /// Number of open conversations.
    pub fn conv_count(&self) -> usize {
        self.convs.len()
    }

    fn conv(&mut self, id: ConvId) -> Result<&mut Conv, Error> {
        self.convs
            .get_mut(&id.0)
            .ok_or_else(|| Error::new("no such conversation"))
    }

    /// A write to rpc: sets up a request (and cancels an unanswered one).
    pub fn rpc_write(&mut self, id: ConvId, data: &[u8]) -> Result<(), Error> {
        let c = self.conv(id)?;
        c.rpc = None;
        c.reply = None;
        c.set_rpc(rpc::parse(data)?);
        Ok(())
    }

    /// A read of rpc: the reply to the request written, or `Pending`.
    pub fn rpc_read(&mut self, id: ConvId) -> Result<RpcRead, Error> {
        let c = self
            .convs
            .get_mut(&id.0)
            .ok_or_else(|| Error::new("no such conversation"))?;
        if let Some(r) = c.reply.take() {
            return Ok(RpcRead::Reply(r));
        }
        if c.rpc.is_none() {
            return Err(Error::new("no rpc pending"));
        }
        c.exec(&mut self.w);
        match c.reply.take() {
            Some(r) => Ok(RpcRead::Reply(r)),
            None => Ok(RpcRead::Pending),
        }
    }

    /// The next line for a confirm reader (`confirm tag=N attrs`), if any.
    pub fn confirm_read(&mut self) -> Option<String> {
        self.w.confirm.pop()
    }

    /// The next line for a needkey reader, if any.
    pub fn needkey_read(&mut self) -> Option<String> {
        self.w.needkey.pop()
    }

    /// The next log line, if any.
    pub fn log_read(&mut self) -> Option<String> {
        self.w.log.pop()
    }

    /// `tag=N answer=yes|no` written to confirm.
    pub fn confirm_write(&mut self, data: &[u8]) -> Result<(), Error> {
        let r = confirm::parse_confirm(data, &mut self.w)
            .and_then(|(tag, allow)| self.answer(tag, |c, w| c.confirmed(allow, w)));
        self.logged("confirm", r)
    }

    /// `tag=N` written to needkey: the key asked for was added (or not).
    pub fn needkey_write(&mut self, data: &[u8]) -> Result<(), Error> {
        let r =
            confirm::parse_needkey(data).and_then(|tag| self.answer(tag, |c, w| c.needkey_done(w)));
        self.logged("needkey", r)
    }

    fn answer(&mut self, tag: u64, f: impl FnOnce(&mut Conv, &mut World)) -> Result<(), Error> {
        let c = self
            .convs
            .get_mut(&tag)
            .ok_or_else(|| Error::new("tag not found"))?;
        if c.blocked() {
            f(c, &mut self.w);
            if c.reply.is_some() {
                self.w.events.push(Event::Rpc(ConvId(tag)));
            }
        }
        Ok(())
    }

    /// Memory held by a conversation: its size and an estimate of its
    /// heap (attributes, the protocol machine and its copy of the start
    /// attributes, the last error).
    pub fn conv_memory(&self, id: ConvId) -> Option<(usize, usize)> {
        let c = self.convs.get(&id.0)?;
        let attrs = |a: &crate::auth::attr::Attrs| {
            a.0.capacity() * std::mem::size_of::<crate::auth::attr::Attr>()
                + a.iter()
                    .map(|x| x.name.capacity() + x.val.capacity())
                    .sum::<usize>()
        };
        let heap = c.sysuser.capacity()
            + attrs(&c.attr)
            + match &c.state {
                conv::State::Active(a) => {
                    std::mem::size_of::<conv::Active>()
                        + std::mem::size_of_val(&*a.m)
                        + attrs(&c.attr)
                }
                conv::State::Idle { err, .. } => err.capacity(),
            };
        Some((std::mem::size_of::<Conv>(), heap))
    }
}

/// The system clock, kernel random numbers, and the process's own ticket
/// service (a handle nothing registers on outside the daemon).
#[derive(Default)]
pub struct SystemEnv {
    pub local: crate::auth::authsrv::local::Local,
}

impl Env for SystemEnv {
    /// The daemon's own ticket service answers for its domain in process;
    /// other domains are dialed (the key's `auth=`).
    fn ticket(&mut self, authdom: &str, auth: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
        match self.local.ticket(authdom, req) {
            Some(r) => Ok(r),
            None => crate::auth::authsrv::dial::for_domain(authdom, auth, req),
        }
    }

    fn pak_tickets(
        &mut self,
        authdom: &str,
        auth: Option<&str>,
        req: &[u8],
    ) -> Result<Vec<u8>, String> {
        match self.local.pak_tickets(authdom, req) {
            Some(r) => Ok(r),
            None => crate::auth::authsrv::dial::pak_for_domain(authdom, auth, req),
        }
    }

    /// Kept while the auth service's capuse endpoint is up.
    fn caphash(&mut self, hash: [u8; 20]) -> bool {
        self.local.caphash(hash, self.now())
    }

    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn random(&mut self, buf: &mut [u8]) {
        crate::sys::random::fill_or_abort(buf)
    }
}
