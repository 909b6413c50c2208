//! Serving a [`Server`] on a Unix socket from one thread with poll(2).
//!
//! plan9port's clients (lib9pclient's `nsinit`, via lib9's `dial`) connect
//! to `unix!$NAMESPACE/<service>` and start speaking 9P at once (Tversion
//! first, no extra handshake), so neither does this listener.
//!
//! No thread per connection and no buffers while idle: a connection is a
//! descriptor, an empty [`Framer`], an empty output vector and the
//! server's session (a few hundred bytes in all, see [`idle_conn_bytes`]).
//! Input is read into one shared scratch buffer and only a partial message
//! is kept. Each connection's queued output is capped: past the cap its
//! input is no longer read (nor buffered input processed) until the client
//! reads its replies, so a client that never reads cannot grow the
//! server. A framing error (size below a header or above msize) closes
//! that connection; everyone else keeps being served.
//!
//! Hardening beyond plan9port (which relies on the directory alone):
//! every accepted connection's SO_PEERCRED must name the owner, root, or a
//! configured uid or primary gid ([`PeerPolicy`]); the socket directory
//! must be ours and closed to others ([`prepare_dir`]); the socket is
//! mode 0600; an existing socket is removed only when nobody answers on
//! it.

use super::fcall::Framer;
use super::server::{ConnId, Peer, Server, Tree};
use super::vecmap::VecMap;
use crate::admit;
use crate::sys::poll;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Who may connect. Root and the owner always may; others only when
/// listed. Only the owner and root get the files' owner permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPolicy {
    pub owner: u32,
    pub allow_uids: Vec<u32>,
    /// Matched against the peer's primary gid (SO_PEERCRED carries no
    /// supplementary groups).
    pub allow_gids: Vec<u32>,
}

impl PeerPolicy {
    /// Only the current effective uid and root.
    pub fn owner_only() -> PeerPolicy {
        PeerPolicy {
            owner: crate::sys::cred::euid(),
            allow_uids: Vec::new(),
            allow_gids: Vec::new(),
        }
    }

    /// Some(owner?) when `peer` may connect, None when it may not.
    pub fn admits(&self, peer: &Peer) -> Option<bool> {
        if peer.uid == 0 || peer.uid == self.owner {
            Some(true)
        } else if self.allow_uids.contains(&peer.uid) || self.allow_gids.contains(&peer.gid) {
            Some(false)
        } else {
            None
        }
    }

    /// Others than the owner may connect, so the directory must let them
    /// reach the socket.
    pub fn shared(&self) -> bool {
        !self.allow_uids.is_empty() || !self.allow_gids.is_empty()
    }
}

/// The peer credentials of a connected Unix socket ([`crate::sys::cred`]).
pub fn peer_cred(fd: RawFd) -> io::Result<Peer> {
    crate::sys::cred::peer(fd).map(|c| Peer {
        pid: c.pid,
        uid: c.uid,
        gid: c.gid,
    })
}

/// plan9port's name space directory: `$NAMESPACE`, else
/// `/tmp/ns.$USER.$DISPLAY` with `:0.0` shortened to `:0` and `/` in the
/// display turned into `_` (lib9/getns.c).
pub fn namespace_dir() -> Option<PathBuf> {
    let user = std::env::var("USER").unwrap_or_else(|_| {
        // SAFETY: getuid cannot fail.
        unsafe { libc::getuid() }.to_string()
    });
    namespace_from(
        std::env::var_os("NAMESPACE").map(PathBuf::from),
        std::env::var("DISPLAY").ok(),
        &user,
    )
}

fn namespace_from(ns: Option<PathBuf>, display: Option<String>, user: &str) -> Option<PathBuf> {
    if ns.is_some() {
        return ns;
    }
    let mut disp = display?;
    if let Some(colon) = disp.rfind(':') {
        let after = disp.get(colon + 1..).unwrap_or("");
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if after.get(digits..) == Some(".0") {
            disp.truncate(colon + 1 + digits);
        }
    }
    let disp = disp.replace('/', "_");
    Some(PathBuf::from(format!("/tmp/ns.{user}.{disp}")))
}

/// Make sure `dir` exists, is a real directory owned by the effective uid
/// and gives nobody else read or write access (like plan9port's rule for
/// `$NAMESPACE`, which must be 0700). A new directory is made 0700, or
/// 0711 when `shared` (others allowed by uid/gid must reach the socket;
/// they still cannot list the directory, and SO_PEERCRED decides).
/// Missing parents are created with the default mode.
pub fn prepare_dir(dir: &Path, shared: bool) -> io::Result<()> {
    let mode = if shared { 0o711 } else { 0o700 };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)?;
                }
            }
            match std::fs::DirBuilder::new().mode(mode).create(dir) {
                Ok(()) => {
                    // The umask may have taken bits away; set exactly.
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
                    Ok(())
                }
                // Another service of the daemon made it meanwhile (they
                // start together): check it like any existing directory.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    check_dir(dir, &std::fs::symlink_metadata(dir)?, shared)
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
        Ok(md) => check_dir(dir, &md, shared),
    }
}

/// The rules [`prepare_dir`] applies to a directory that exists.
fn check_dir(dir: &Path, md: &std::fs::Metadata, shared: bool) -> io::Result<()> {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let bad = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing socket directory {}: {why}", dir.display()),
        ))
    };
    if !md.file_type().is_dir() {
        return bad("not a directory".into());
    }
    if md.uid() != me {
        return bad(format!("owned by uid {}, not {me}", md.uid()));
    }
    let m = md.mode() & 0o7777;
    if m & 0o700 != 0o700 || m & 0o066 != 0 {
        return bad(format!("mode {m:04o}, want 0700"));
    }
    if shared && m & 0o011 == 0 {
        log::warn!(
            "socket directory {} is {m:04o}: the allowed uids and gids cannot reach the socket",
            dir.display()
        );
    }
    Ok(())
}

/// Remove an existing socket at `path` only if nobody answers on it.
fn clear_stale(path: &Path) -> io::Result<()> {
    let md = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(md) => md,
    };
    use std::os::unix::fs::FileTypeExt;
    if !md.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is being served by another process", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            log::info!("removing stale socket {}", path.display());
            std::fs::remove_file(path)
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("{}: cannot tell whether it is stale: {e}", path.display()),
        )),
    }
}

/// Bind a listening socket at `path`: directory checked or created by
/// [`prepare_dir`], a stale socket removed, the socket then made mode 0600
/// (0666 when `shared`, with SO_PEERCRED as the barrier). Until the chmod
/// the closed directory keeps others away; the umask is left alone, since
/// it is process-wide and the daemon's other threads create files and
/// directories at the same moment.
pub fn bind(path: &Path, shared: bool) -> io::Result<UnixListener> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    prepare_dir(dir, shared)?;
    clear_stale(path)?;
    let l = UnixListener::bind(path)
        .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", path.display())))?;
    let mode = if shared { 0o666 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Limits of the listener (the server has its own).
#[derive(Debug, Clone, Copy)]
pub struct ListenLimits {
    /// Who gets a connection, and how long an idle one lives
    /// ([`crate::admit`]); more are accepted and closed at once.
    pub admit: admit::Limits,
    /// Queued output past which a connection's input is not read.
    pub out_cap: usize,
}

impl Default for ListenLimits {
    fn default() -> Self {
        ListenLimits {
            admit: admit::Limits {
                max_conns: 1024,
                per_peer: 64,
                idle: Duration::from_secs(3600),
            },
            out_cap: 64 * 1024,
        }
    }
}

struct Conn {
    fd: OwnedFd,
    peer: admit::Peer,
    input: Framer,
    out: Vec<u8>,
    out_off: usize,
    dead: bool,
    /// When the peer last sent or took bytes.
    last: Instant,
}

impl Conn {
    fn queued(&self) -> usize {
        self.out.len() - self.out_off
    }
}

/// Approximate bytes one idle connection costs the listener and server
/// together in user space, with `fids` fids: the connection in the
/// listener's map (a vector grown by doubling: about 1.5 entries' space
/// each), its pollfd and
/// id in the per-iteration arrays, and the server's session. No buffers
/// are held while idle (the kernel's socket buffers are not counted).
pub fn idle_conn_bytes(fids: usize) -> usize {
    use std::mem::size_of;
    (size_of::<ConnId>() + size_of::<Conn>()) * 3 / 2
        + size_of::<libc::pollfd>()
        + size_of::<ConnId>()
        + super::server::idle_session_bytes(fids)
}

/// Size of the listener's per-connection struct, for the memory report.
pub fn conn_struct_size() -> usize {
    std::mem::size_of::<Conn>()
}

/// Serves one tree on one listening socket.
pub struct Listener<T: Tree> {
    pub server: Server<T>,
    pub policy: PeerPolicy,
    sock: UnixListener,
    /// Remove this socket file (if it is still ours) when dropped.
    path: Option<(PathBuf, u64, u64)>,
    limits: ListenLimits,
    /// Sorted by id; new connections get larger ids, so they append.
    conns: VecMap<ConnId, Conn>,
    admission: admit::Admission,
    refusals: admit::Refusals,
    /// The refusal log's clock.
    epoch: Instant,
    accept_paused: bool,
    scratch: Vec<u8>,
}

/// A name for logs: the service's socket path.
fn shown(p: &Option<(PathBuf, u64, u64)>) -> String {
    p.as_ref()
        .map_or_else(|| "9P".into(), |(p, _, _)| p.display().to_string())
}

impl<T: Tree> Listener<T> {
    /// Serve `server` on `sock` (non-blocking, e.g. from [`bind`]). If
    /// `path` is given, the socket file there is removed on drop if it is
    /// still the one bound.
    pub fn new(
        sock: UnixListener,
        path: Option<&Path>,
        server: Server<T>,
        policy: PeerPolicy,
        limits: ListenLimits,
    ) -> io::Result<Listener<T>> {
        sock.set_nonblocking(true)?;
        let path = match path {
            Some(p) => {
                let md = std::fs::symlink_metadata(p)?;
                Some((p.to_path_buf(), md.dev(), md.ino()))
            }
            None => None,
        };
        Ok(Listener {
            server,
            policy,
            sock,
            path,
            limits,
            conns: VecMap::new(),
            admission: admit::Admission::new(limits.admit),
            refusals: admit::Refusals::default(),
            epoch: Instant::now(),
            accept_paused: false,
            scratch: Vec::new(),
        })
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Heap bytes held in connection buffers (input and output).
    pub fn buffered_bytes(&self) -> usize {
        self.conns
            .values()
            .map(|c| c.input.capacity() + c.out.capacity())
            .sum()
    }

    /// Serve until `on_control` returns false. It is called whenever
    /// `control` (e.g. the daemon's [`crate::service::Control`] fd) is
    /// readable, and may change the peer policy and the connection limits
    /// (a reload; connections already open stay).
    pub fn run(
        &mut self,
        control: RawFd,
        mut on_control: impl FnMut(&mut PeerPolicy, &mut admit::Limits) -> bool,
    ) -> io::Result<()> {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut ids: Vec<ConnId> = Vec::new();
        loop {
            fds.clear();
            ids.clear();
            fds.push(poll::fd(control, libc::POLLIN));
            fds.push(poll::fd(
                self.sock.as_raw_fd(),
                if self.accept_paused { 0 } else { libc::POLLIN },
            ));
            let now = Instant::now();
            let mut timeout = self.refusals.wait(self.millis(now));
            let mut sooner = |t: Duration| timeout = Some(timeout.map_or(t, |o| o.min(t)));
            for (&id, c) in self.conns.iter() {
                let mut ev = 0;
                let msize = self.server.msize(id);
                if c.queued() < self.limits.out_cap {
                    if c.input.buffered() < 2 * msize as usize {
                        ev |= libc::POLLIN;
                    }
                    if c.input.ready(msize) {
                        sooner(Duration::ZERO);
                    }
                }
                if c.queued() > 0 {
                    ev |= libc::POLLOUT;
                }
                if !self.server.waiting(id) {
                    if let Some(t) = self.limits.admit.idle_left(now.duration_since(c.last)) {
                        sooner(t);
                    }
                } else {
                    // the tree may answer a waiting read on its own time
                    sooner(Duration::from_secs(1));
                }
                fds.push(poll::fd(c.fd.as_raw_fd(), ev));
                ids.push(id);
            }
            poll::poll(&mut fds, timeout)?;
            if fds.first().is_some_and(|f| f.revents != 0) {
                let go = on_control(&mut self.policy, &mut self.limits.admit);
                self.admission.limits = self.limits.admit;
                if !go {
                    return Ok(());
                }
            }
            let now = Instant::now();
            for (f, id) in fds.iter().skip(2).zip(&ids) {
                if f.revents != 0 {
                    if let Some(c) = self.conns.get_mut(id) {
                        c.last = now;
                    }
                }
                if f.revents & libc::POLLOUT != 0 {
                    self.flush(*id);
                }
                if f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    self.read(*id);
                }
            }
            for id in &ids {
                self.process(*id);
            }
            self.server.poll_tree();
            self.route();
            self.expire_idle(now);
            self.reap();
            // accept after the reap, so closed connections make room
            if fds.get(1).is_some_and(|f| f.revents & libc::POLLIN != 0) {
                self.accept_some();
            }
            if let Some(line) = self.refusals.due(self.millis(Instant::now())) {
                log::warn!("{}: {line}", shown(&self.path));
            }
        }
    }

    /// The refusal log's clock: milliseconds since the listener started.
    fn millis(&self, now: Instant) -> u64 {
        now.duration_since(self.epoch).as_millis() as u64
    }

    /// Close connections idle past the limit that wait on nothing (a
    /// pending read, such as `key confirm` waiting for a request, is not
    /// idleness).
    fn expire_idle(&mut self, now: Instant) {
        for (&id, c) in self.conns.iter_mut() {
            if !c.dead
                && self
                    .limits
                    .admit
                    .idle_expired(now.duration_since(c.last), self.server.waiting(id))
            {
                log::debug!("{}: connection {id} idle, closed", shown(&self.path));
                c.dead = true;
            }
        }
    }

    /// Refuse a connection (it is dropped, so closed, by the caller).
    fn refuse(&mut self, peer: admit::Peer, why: admit::Why) {
        if let Some(line) = self
            .refusals
            .refused(peer, why, self.millis(Instant::now()))
        {
            log::warn!("{}: {line}", shown(&self.path));
        }
    }

    /// Make room for a privileged peer at its cap: close its connection
    /// idle longest that waits on nothing. False when all are busy.
    fn evict_idlest(&mut self, peer: admit::Peer) -> bool {
        let victim = self
            .conns
            .iter()
            .filter(|(id, c)| c.peer == peer && !c.dead && !self.server.waiting(**id))
            .min_by_key(|(_, c)| c.last)
            .map(|(id, _)| *id);
        let Some(id) = victim else {
            return false;
        };
        log::debug!(
            "{}: connection {id} ({peer}) closed to make room",
            shown(&self.path)
        );
        if let Some(c) = self.conns.get_mut(&id) {
            c.dead = true;
        }
        self.reap();
        true
    }

    fn accept_some(&mut self) {
        for _ in 0..64 {
            let stream = match self.sock.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: wait until a connection closes
                    // instead of spinning on a readable listener.
                    log::warn!("{}: accept: {e}", shown(&self.path));
                    self.accept_paused = true;
                    return;
                }
            };
            let peer = match peer_cred(stream.as_raw_fd()) {
                Ok(p) => p,
                Err(e) => {
                    log::warn!(
                        "{}: SO_PEERCRED: {e}; connection refused",
                        shown(&self.path)
                    );
                    continue;
                }
            };
            let Some(owner) = self.policy.admits(&peer) else {
                log::warn!(
                    "{}: refused connection from uid {} gid {} pid {}",
                    shown(&self.path),
                    peer.uid,
                    peer.gid,
                    peer.pid
                );
                continue;
            };
            let who = admit::Peer::Local {
                uid: peer.uid,
                privileged: owner,
            };
            match self.admission.decide(&who) {
                admit::Decision::Admit => {}
                admit::Decision::EvictIdlest if self.evict_idlest(who) => {}
                admit::Decision::EvictIdlest => {
                    self.refuse(who, admit::Why::PeerFull);
                    continue;
                }
                admit::Decision::Refuse(why) => {
                    self.refuse(who, why);
                    continue;
                }
            }
            if let Err(e) = stream.set_nonblocking(true) {
                log::warn!("{}: {e}", shown(&self.path));
                continue;
            }
            let id = self.server.connect(peer, owner);
            log::debug!(
                "{}: connection {id} from uid {} pid {}",
                shown(&self.path),
                peer.uid,
                peer.pid
            );
            self.admission.opened(who);
            self.conns.insert(
                id,
                Conn {
                    fd: OwnedFd::from(stream),
                    peer: who,
                    input: Framer::new(),
                    out: Vec::new(),
                    out_off: 0,
                    dead: false,
                    last: Instant::now(),
                },
            );
        }
    }

    fn read(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.dead {
            return;
        }
        if self.scratch.is_empty() {
            self.scratch = vec![0; 2 * self.server.max_msize() as usize];
        }
        // SAFETY: reading into our scratch buffer of the stated length.
        let n = unsafe {
            libc::recv(
                c.fd.as_raw_fd(),
                self.scratch.as_mut_ptr().cast(),
                self.scratch.len(),
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => c.dead = true,
            n if n > 0 => {
                let got = self.scratch.get_mut(..n as usize).unwrap_or(&mut []);
                c.input.push(got);
                // The scratch buffer lives on: wipe what a key line left.
                zeroize::Zeroize::zeroize(got);
            }
            _ => {
                let e = io::Error::last_os_error();
                if !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) {
                    c.dead = true;
                }
            }
        }
    }

    /// Hand complete messages to the server while the output has room.
    fn process(&mut self, id: ConnId) {
        loop {
            let msize = self.server.msize(id);
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            if c.dead || c.queued() >= self.limits.out_cap {
                return;
            }
            match c.input.next_frame(msize) {
                Ok(Some(frame)) => {
                    self.server.handle(id, &frame);
                    self.route();
                }
                Ok(None) => return,
                Err(e) => {
                    log::info!("{}: connection {id}: {e}; closing it", shown(&self.path));
                    c.dead = true;
                    return;
                }
            }
        }
    }

    /// Queue the server's replies on their connections and try to send.
    fn route(&mut self) {
        for (id, bytes) in self.server.take_output() {
            if let Some(c) = self.conns.get_mut(&id) {
                if !c.dead {
                    c.out.extend_from_slice(&bytes);
                }
            }
            self.flush(id);
        }
    }

    fn flush(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        while c.queued() > 0 && !c.dead {
            let pending = c.out.get(c.out_off..).unwrap_or(&[]);
            // SAFETY: sending from a live slice of the stated length.
            let n = unsafe {
                libc::send(
                    c.fd.as_raw_fd(),
                    pending.as_ptr().cast(),
                    pending.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => break,
                    _ => c.dead = true,
                }
            } else {
                c.out_off += n as usize;
            }
        }
        if c.queued() == 0 {
            c.out = Vec::new();
            c.out_off = 0;
        } else if c.out_off > c.out.len() / 2 {
            crate::sys::wipe::consume_front(&mut c.out, c.out_off);
            c.out_off = 0;
        }
    }

    /// Drop dead connections; the server clunks their fids, which may
    /// complete reads of others.
    fn reap(&mut self) {
        let dead: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.dead)
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            if let Some(c) = self.conns.remove(&id) {
                self.admission.closed(&c.peer);
            }
            self.server.disconnect(id);
            self.accept_paused = false;
            log::debug!("{}: connection {id} closed", shown(&self.path));
        }
        self.route();
    }
}

/// Remove the socket file `path` names if it is still the one bound.
fn remove_ours(path: &Option<(PathBuf, u64, u64)>) {
    if let Some((p, dev, ino)) = path {
        if let Ok(md) = std::fs::symlink_metadata(p) {
            if md.dev() == *dev && md.ino() == *ino {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl<T: Tree> Listener<T> {
    /// Serve on the socket at `path` from now on (a reload): a new path is
    /// bound as [`bind`] binds (its directory checked or made) and the old
    /// socket file removed if it is still ours; the connections already
    /// open stay. At the same path only the socket's mode is set (0666
    /// when `shared`, else 0600) and its directory checked again. On an
    /// error the old socket stays. Returns whether the socket moved.
    pub fn rebind(&mut self, path: &Path, shared: bool) -> io::Result<bool> {
        if self.path.as_ref().is_some_and(|(p, _, _)| p == path) {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                prepare_dir(dir, shared)?;
            }
            let mode = if shared { 0o666 } else { 0o600 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            return Ok(false);
        }
        let sock = bind(path, shared)?;
        let md = std::fs::symlink_metadata(path)?;
        let old = self.path.replace((path.to_path_buf(), md.dev(), md.ino()));
        // the old listening socket closes here
        self.sock = sock;
        remove_ours(&old);
        Ok(true)
    }
}

impl<T: Tree> Drop for Listener<T> {
    fn drop(&mut self) {
        remove_ours(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_admits_owner_root_and_listed() {
        let p = PeerPolicy {
            owner: 1000,
            allow_uids: vec![1001],
            allow_gids: vec![50],
        };
        let peer = |uid, gid| Peer { pid: 1, uid, gid };
        assert_eq!(p.admits(&peer(1000, 1000)), Some(true));
        assert_eq!(p.admits(&peer(0, 0)), Some(true));
        assert_eq!(p.admits(&peer(1001, 1001)), Some(false));
        assert_eq!(p.admits(&peer(1002, 50)), Some(false));
        assert_eq!(p.admits(&peer(1002, 1002)), None);
        assert!(p.shared());
        assert!(!PeerPolicy::owner_only().shared());
    }

    #[test]
    fn namespace_dir_follows_plan9port() {
        let d = |disp: &str| namespace_from(None, Some(disp.into()), "glenda");
        assert_eq!(
            d("host/x:0.0"),
            Some(PathBuf::from("/tmp/ns.glenda.host_x:0"))
        );
        assert_eq!(d(":1"), Some(PathBuf::from("/tmp/ns.glenda.:1")));
        assert_eq!(d(":1.1"), Some(PathBuf::from("/tmp/ns.glenda.:1.1")));
        assert_eq!(namespace_from(None, None, "glenda"), None);
        let ns = Some(PathBuf::from("/tmp/elsewhere"));
        assert_eq!(namespace_from(ns.clone(), Some(":0".into()), "u"), ns);
    }

    /// A reload moves a listener to a new socket: the old file goes, the
    /// new one is served; the same path only has its mode set; a path that
    /// cannot be bound leaves the old socket in place.
    #[test]
    fn rebind_moves_the_socket_or_stays() {
        let base = std::env::temp_dir().join(format!("warden-unix-rebind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (a, b) = (base.join("run/a"), base.join("other/b"));
        let server = Server::new(
            "demo",
            super::super::demo::DemoTree::new("root"),
            super::super::server::Limits::default(),
        );
        let sock = bind(&a, false).unwrap();
        let mut l = Listener::new(
            sock,
            Some(&a),
            server,
            PeerPolicy::owner_only(),
            ListenLimits::default(),
        )
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert!(!l.rebind(&a, true).unwrap());
        assert_eq!(mode(&a), 0o666);
        assert!(!l.rebind(&a, false).unwrap());
        assert_eq!(mode(&a), 0o600);
        assert!(l.rebind(&b, false).unwrap());
        assert!(!a.exists(), "the old socket file is removed");
        assert!(UnixStream::connect(&b).is_ok(), "the new one is listening");
        assert_eq!(mode(b.parent().unwrap()) & 0o077, 0);
        // Not a socket at the new path: refused, still on b.
        let file = base.join("other/file");
        std::fs::write(&file, b"x").unwrap();
        assert!(l.rebind(&file, false).is_err());
        assert!(UnixStream::connect(&b).is_ok());
        drop(l);
        assert!(!b.exists(), "removed when dropped");
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// The daemon's services bind their sockets in one run directory at
    /// the same moment; whichever makes the directory, all of them bind.
    #[test]
    fn services_racing_for_the_socket_directory_all_bind() {
        for round in 0..20 {
            let base = std::env::temp_dir()
                .join(format!("warden-unix-race-{}-{round}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            let run = base.join("run");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let binders: Vec<_> = (0..4)
                .map(|i| {
                    let (run, barrier) = (run.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        bind(&run.join(format!("s{i}")), false).map(drop)
                    })
                })
                .collect();
            for b in binders {
                b.join().unwrap().unwrap();
            }
            let mode = std::fs::metadata(&run).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
            std::fs::remove_dir_all(&base).unwrap();
        }
    }
}
