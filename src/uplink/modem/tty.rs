//! The modem's tty, straight through termios(3) and poll(2).
//!
//! This is all warden needs from a serial library: open, raw 115200 8N1
//! without flow control, an exclusive lock, reads that wait at most a given
//! time, writes that cannot block forever, and a hangup that is reported
//! rather than spun on. The serialport crate does the same for 15 KB more
//! on mips (with its own nix), and its TCGETS2 ioctl is not emulated by
//! qemu-user, where these calls work.

use super::driver::{ModemError, ModemFault, Port};
use crate::sys::lock;
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

/// An open tty in raw mode, locked against other processes and threads
/// ([`crate::sys::lock`]: a record lock, and a claim on the device).
pub struct TtyPort {
    // closed (dropping the record lock) before the claim goes
    fd: OwnedFd,
    _claim: lock::Claim,
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
        let open_err = |source: io::Error| ModemFault::Open {
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
        let in_use = || ModemFault::InUse {
            path: path.display().to_string(),
        };
        // a second open in this process is refused at once
        let key = match rdev {
            0 => lock::Key::Path(path.to_path_buf()), // not a device: refused below
            d => lock::Key::Dev(d),
        };
        let claim = lock::claim(key, Duration::ZERO).map_err(|_| in_use())?;
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
            })
            .into());
        }
        lock::record_lock(raw, LOCK_WAIT).map_err(|e| {
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                in_use()
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
        Ok(TtyPort { fd, _claim: claim })
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
