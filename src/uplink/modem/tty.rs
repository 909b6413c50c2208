//! The modem's tty, straight through termios(3) and poll(2).
//!
//! This is all warden needs from a serial library: open, raw 115200 8N1
//! without flow control, an exclusive lock, reads that wait at most a given
//! time, writes that cannot block forever, and a hangup that is reported
//! rather than spun on. The serialport crate does the same for 15 KB more
//! on mips (with its own nix), and its TCGETS2 ioctl is not emulated by
//! qemu-user, where these calls work.

use super::driver::{ModemError, Port};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A writer that cannot get its bytes out within this time gives up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a port locked by another process is waited for before it is
/// reported in use (that process may be a warden on its way out).
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// The ttys this process has open, by device number. The lock against
/// other processes is a POSIX record lock (fcntl F_SETLK), which is the
/// process's and is not inherited across fork(2): an flock(2) lock belongs
/// to the open file description, which every child forked while the port
/// is open shares until its exec, so a port closed and reopened at once
/// (a restart, a reset) met its own lock held by another thread's child
/// for as long as the child took to reach exec (seconds, on a busy
/// machine). A record lock does not exclude the process that holds it,
/// and closing any descriptor of the file drops it, so the second open in
/// the same process is refused here, before it opens anything.
static OPEN_HERE: std::sync::Mutex<Vec<libc::dev_t>> = std::sync::Mutex::new(Vec::new());

fn open_here() -> std::sync::MutexGuard<'static, Vec<libc::dev_t>> {
    OPEN_HERE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Take the record lock on the whole of `fd` for writing, waiting up to
/// `wait` (in short naps) for another process to let go. EWOULDBLOCK once
/// the time is up.
fn lock(fd: libc::c_int, wait: Duration) -> io::Result<()> {
    let deadline = Instant::now() + wait;
    // SAFETY: a zeroed flock struct is valid; the fields set below say
    // "the whole file, for writing".
    let mut l: libc::flock = unsafe { std::mem::zeroed() };
    l.l_type = libc::F_WRLCK as _;
    l.l_whence = libc::SEEK_SET as _;
    loop {
        // SAFETY: fcntl on a descriptor the caller owns, with a live struct.
        if unsafe { libc::fcntl(fd, libc::F_SETLK, &l) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN | libc::EACCES) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Some(libc::EAGAIN | libc::EACCES) => {
                return Err(io::Error::from_raw_os_error(libc::EWOULDBLOCK))
            }
            _ => return Err(e),
        }
    }
}

/// An open tty in raw mode, locked against other processes (a record
/// lock) and against a second open in this one ([`OPEN_HERE`]).
pub struct TtyPort {
    fd: OwnedFd,
    rdev: libc::dev_t,
}

impl Drop for TtyPort {
    fn drop(&mut self) {
        let mut held = open_here();
        if let Some(i) = held.iter().position(|&d| d == self.rdev) {
            held.swap_remove(i);
        }
        // the descriptor closes after this, which drops the record lock
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl TtyPort {
    pub fn open(path: &Path) -> Result<TtyPort, ModemError> {
        let open_err = |source: io::Error| ModemError::Open {
            path: path.display().to_string(),
            source,
        };
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            open_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path contains a NUL byte",
            ))
        })?;
        // The device is looked up before anything is opened: opening (and
        // closing) a second descriptor of a port this process holds would
        // drop its record lock.
        // SAFETY: stat(2) with a NUL-terminated path into a zeroed local.
        let rdev = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            cvt(libc::stat(c.as_ptr(), &mut st)).map_err(open_err)?;
            st.st_rdev
        };
        let mut held = open_here();
        if rdev != 0 && held.contains(&rdev) {
            return Err(ModemError::InUse {
                path: path.display().to_string(),
            });
        }
        // SAFETY: open(2) with a NUL-terminated path; the descriptor it
        // returns is owned from here on.
        let fd = unsafe {
            let fd = cvt(libc::open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            ))
            .map_err(open_err)?;
            OwnedFd::from_raw_fd(fd)
        };
        let raw = fd.as_raw_fd();
        // A path that is not a tty is refused before it is locked, so a
        // wrong `device` (say /dev/null) never takes a lock that other
        // users of the same file then meet.
        // SAFETY: tcgetattr on our descriptor into a zeroed local struct.
        let (r, mut t) = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(raw, &mut t), t)
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            return Err(open_err(if e.raw_os_error() == Some(libc::ENOTTY) {
                io::Error::new(io::ErrorKind::InvalidInput, "not a tty")
            } else {
                e
            }));
        }
        lock(raw, LOCK_WAIT).map_err(|e| {
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                ModemError::InUse {
                    path: path.display().to_string(),
                }
            } else {
                open_err(e)
            }
        })?;
        // SAFETY: termios calls on our descriptor with a local struct.
        unsafe {
            libc::cfmakeraw(&mut t);
            t.c_cflag |= libc::CREAD | libc::CLOCAL;
            t.c_cflag &= !libc::CRTSCTS;
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 0;
            libc::cfsetispeed(&mut t, libc::B115200);
            libc::cfsetospeed(&mut t, libc::B115200);
            cvt(libc::tcsetattr(raw, libc::TCSANOW, &t)).map_err(open_err)?;
        }
        held.push(rdev);
        Ok(TtyPort { fd, rdev })
    }

    /// Wait for `events`; false on timeout. A hangup or error condition is
    /// returned as an error, so a dead device is never polled in a loop.
    fn wait(&self, events: libc::c_short, timeout: Duration) -> io::Result<bool> {
        let Some(revents) = crate::sys::poll::wait(self.fd.as_raw_fd(), events, Some(timeout))?
        else {
            return Ok(false);
        };
        if revents & events != 0 {
            return Ok(true);
        }
        if revents & libc::POLLHUP != 0 {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "hangup"));
        }
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
}

impl Port for TtyPort {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        if !self.wait(libc::POLLIN, timeout)? {
            return Ok(None);
        }
        // SAFETY: reading into a live buffer of the stated length.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of file")),
            n if n > 0 => Ok(Some(n as usize)),
            _ => {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                    _ => Err(e),
                }
            }
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        while !bytes.is_empty() {
            // SAFETY: writing from a live buffer of the stated length.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
            if n > 0 {
                bytes = bytes.get(n as usize..).unwrap_or(&[]);
                continue;
            }
            let e = if n == 0 {
                io::Error::from(io::ErrorKind::WouldBlock)
            } else {
                io::Error::last_os_error()
            };
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= deadline || !self.wait(libc::POLLOUT, deadline - now)? {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the modem does not take input",
                        ));
                    }
                }
                _ => return Err(e),
            }
        }
        Ok(())
    }
}
