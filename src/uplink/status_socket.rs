//! The status socket: `warden status` asks a running uplink how it is
//! doing over a Unix stream socket at `<run_dir>/status.sock`.
//!
//! The client connects, writes one request line (the hook's vocabulary:
//! `status format=text` or `status format=json`) and reads the answer until
//! the server closes the connection. The answer travels back over the
//! connection itself, so it needs no address of the client's: a client in
//! another network namespace (where abstract socket names differ) reaches
//! the path and gets its answer like any other.
//!
//! The socket is served by a thread of its own from the latest snapshot of
//! the supervisor's [`Status`], which the uplink loop publishes after every
//! input it handles. An answer therefore never waits for the loop, which
//! may be blocked in a bounded but slow step (a mode switch that waits for
//! the stick, an AT command the modem is slow to answer): the snapshot
//! says what the loop is doing ("switching", "preparing"; "starting" before
//! its first step).
//!
//! The socket is mode 0600 (root and the daemon's user) and removed when
//! the server stops; a socket file left behind by an instance that died
//! refuses connections, which the client reports as gone.

use super::ppp::hook::{Notice, MAX_NOTICE, MAX_REPLY};
use super::status::{self, Who};
use super::supervisor::Status;
use crate::service::{Control, Event};
use crate::sys::poll;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The socket's name under the run directory.
pub const SOCKET_NAME: &str = "status.sock";

/// How long the server gives one client to send its request and take the
/// answer; one slow client delays the next by at most twice this.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);

/// The supervisor's status as last published by the uplink loop.
pub type Shared = Arc<Mutex<Status>>;

/// Serves the status socket on a thread until dropped.
pub struct StatusServer {
    stop: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

impl StatusServer {
    /// Bind `path` (replacing a stale socket, refusing one a running warden
    /// answers on) and serve `shared` on it, the answers labelled `who`.
    pub fn start(path: &Path, who: (String, PathBuf), shared: Shared) -> io::Result<StatusServer> {
        let bound = Bound::bind(path)?;
        let stop = Control::new()?;
        let stop_fd = stop.clone();
        let thread = std::thread::Builder::new()
            .name("status".into())
            .stack_size(64 * 1024)
            .spawn(move || serve(&bound, stop_fd.fd(), &who, &shared))?;
        Ok(StatusServer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.stop.send(Event::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The listening socket; its file is removed with it.
struct Bound {
    listener: UnixListener,
    path: PathBuf,
}

impl Bound {
    fn bind(path: &Path) -> io::Result<Bound> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            match UnixStream::connect(path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("{} is in use by a running warden", path.display()),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)?
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("{}: cannot tell whether it is stale: {e}", path.display()),
                    ))
                }
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let listener = UnixListener::bind(path)
            .map_err(|e| io::Error::new(e.kind(), format!("binding {}: {e}", path.display())))?;
        let bound = Bound {
            listener,
            path: path.to_path_buf(),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        bound.listener.set_nonblocking(true)?;
        Ok(bound)
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(bound: &Bound, stop: std::os::fd::RawFd, who: &(String, PathBuf), shared: &Shared) {
    let who = Who {
        interface: &who.0,
        run_dir: &who.1,
    };
    loop {
        let mut fds = [
            poll::fd(stop, libc::POLLIN),
            poll::fd(bound.listener.as_raw_fd(), libc::POLLIN),
        ];
        if let Err(e) = poll::poll(&mut fds, None) {
            log::warn!("uplink: status socket: {e}");
            return;
        }
        if fds[0].revents != 0 {
            return;
        }
        loop {
            match bound.listener.accept() {
                Ok((conn, _)) => {
                    if let Err(e) = answer(conn, &who, shared) {
                        log::debug!("uplink: status request: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: let the next poll try again,
                    // after a pause so a full descriptor table is no spin.
                    log::warn!("uplink: status socket: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    break;
                }
            }
        }
    }
}

/// Read one request (a line, or everything up to EOF) and answer it.
fn answer(mut conn: UnixStream, who: &Who<'_>, shared: &Shared) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut req = Vec::new();
    let mut buf = [0u8; 256];
    while !req.contains(&b'\n') && req.len() <= MAX_NOTICE {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no request"));
        }
        conn.set_read_timeout(Some(left))?;
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => req.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let line = req.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let body = match Notice::parse(line) {
        Ok(Notice::Status { json }) => {
            let st = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let now = Instant::now();
            if json {
                status::json(who, &st, now)
            } else {
                status::text(who, &st, now)
            }
        }
        Ok(_) => "error: this socket answers status requests only\n".to_string(),
        Err(e) => format!("error: {e}\n"),
    };
    conn.write_all(body.as_bytes())
}

/// Why a status request got no answer.
#[derive(Debug)]
pub enum AskError {
    /// There is no socket at the path.
    Missing(PathBuf),
    /// The socket file is there but nothing listens on it: the instance
    /// that made it is gone.
    Gone(PathBuf),
    /// Something accepted but did not answer in time.
    NoAnswer(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::Missing(p) => write!(f, "no socket at {}", p.display()),
            AskError::Gone(p) => write!(
                f,
                "stale socket {}: nothing listens on it (the instance is gone)",
                p.display()
            ),
            AskError::NoAnswer(p) => write!(f, "no answer on {} in time", p.display()),
            AskError::Io(p, e) => write!(f, "asking {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for AskError {}

/// Ask the uplink listening at `path` for its status; waits at most
/// `timeout` for the whole answer (at most [`MAX_REPLY`] bytes).
pub fn ask(path: &Path, json: bool, timeout: Duration) -> Result<String, AskError> {
    let io_err = |e: io::Error| AskError::Io(path.into(), e);
    let mut s = UnixStream::connect(path).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => AskError::Missing(path.into()),
        Some(libc::ECONNREFUSED) => AskError::Gone(path.into()),
        _ => io_err(e),
    })?;
    let deadline = Instant::now() + timeout;
    s.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let req = format!("{}\n", Notice::Status { json }.encode());
    s.write_all(req.as_bytes()).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => AskError::NoAnswer(path.into()),
        _ => io_err(e),
    })?;
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(AskError::NoAnswer(path.into()));
        }
        s.set_read_timeout(Some(left)).map_err(io_err)?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                if out.len() > MAX_REPLY {
                    return Err(io_err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("answer longer than {MAX_REPLY} bytes"),
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(AskError::NoAnswer(path.into()))
            }
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::supervisor::ModemStatus;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("warden-status-sock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn answers_from_the_snapshot_and_cleans_up() {
        let dir = scratch("serve");
        let path = dir.join(SOCKET_NAME);
        assert!(matches!(ask(&path, false, T), Err(AskError::Missing(_))));
        let shared: Shared = Arc::new(Mutex::new(Status {
            state: "preparing",
            modem: ModemStatus {
                model: "E367".into(),
                ..ModemStatus::default()
            },
            ..Status::default()
        }));
        let srv = StatusServer::start(&path, ("lte".into(), dir.clone()), shared.clone()).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let t = ask(&path, false, T).unwrap();
        assert!(
            t.starts_with(&format!(
                "interface: lte\nrun_dir: {}\nstate: preparing\n",
                dir.display()
            )),
            "{t}"
        );
        assert!(t.contains("model: E367\n"), "{t}");
        // The loop publishes; the next answer shows it.
        shared.lock().unwrap().state = "up";
        let j = ask(&path, true, T).unwrap();
        assert!(j.starts_with(r#"{"interface":"lte","run_dir":""#), "{j}");
        assert!(j.contains(r#""state":"up""#), "{j}");
        // A second server must not steal the socket.
        let e = StatusServer::start(&path, ("x".into(), dir.clone()), shared.clone())
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        // Bad requests get an error line, and the server carries on.
        for bad in [&b"hello\n"[..], b"ppp-down\n", b"\xff\n", b""] {
            let mut s = UnixStream::connect(&path).unwrap();
            s.set_read_timeout(Some(T)).unwrap();
            s.write_all(bad).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert!(out.starts_with("error: "), "{bad:?}: {out}");
        }
        // A client that connects and says nothing delays others by at most
        // CLIENT_TIMEOUT.
        let _mute = UnixStream::connect(&path).unwrap();
        let t0 = Instant::now();
        assert!(ask(&path, true, T).is_ok());
        assert!(t0.elapsed() < T);
        drop(srv);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_socket_left_behind_is_gone_and_replaced() {
        let dir = scratch("stale");
        let path = dir.join(SOCKET_NAME);
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let t0 = Instant::now();
        assert!(matches!(ask(&path, false, T), Err(AskError::Gone(_))));
        assert!(t0.elapsed() < Duration::from_secs(1));
        let shared: Shared = Arc::new(Mutex::new(Status::default()));
        let srv = StatusServer::start(&path, ("wan".into(), dir.clone()), shared).unwrap();
        assert!(ask(&path, false, T).is_ok());
        drop(srv);
        // Not a socket: refused, left alone.
        std::fs::write(&path, "x").unwrap();
        let shared: Shared = Arc::new(Mutex::new(Status::default()));
        assert!(StatusServer::start(&path, ("wan".into(), dir.clone()), shared).is_err());
        assert!(path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_listener_that_never_answers_is_no_answer_in_time() {
        let dir = scratch("mute");
        let path = dir.join(SOCKET_NAME);
        let _l = UnixListener::bind(&path).unwrap();
        let t0 = Instant::now();
        assert!(matches!(
            ask(&path, false, Duration::from_millis(200)),
            Err(AskError::NoAnswer(_))
        ));
        assert!(t0.elapsed() < Duration::from_secs(2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
