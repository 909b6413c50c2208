//! Signals as readable file descriptors (the self-pipe trick), so the daemon
//! loops can wait for them in poll(2) beside sockets and ttys.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static PENDING: AtomicU32 = AtomicU32::new(0);

/// The signals the daemon reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: stop.
    Terminate,
    /// SIGHUP: reload the configuration.
    Reload,
}

extern "C" fn on_signal(sig: libc::c_int) {
    let bit = match sig {
        libc::SIGHUP => 2,
        _ => 1,
    };
    PENDING.fetch_or(bit, Ordering::SeqCst);
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; `b` lives across the call.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// A pipe that becomes readable when SIGTERM, SIGINT or SIGHUP arrives.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

fn pipe_nonblocking() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl SignalPipe {
    /// Install the handlers. Also ignores SIGPIPE, so a vanished socket
    /// peer is an EPIPE error rather than death.
    pub fn install() -> io::Result<SignalPipe> {
        let (read, write) = pipe_nonblocking()?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with a plain handler is valid; the
            // handler only touches atomics and write(2).
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        // SAFETY: setting SIGPIPE to SIG_IGN has no preconditions.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        Ok(SignalPipe {
            read,
            _write: write,
        })
    }

    /// The descriptor to poll for POLLIN.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Drain the pipe and return what arrived, most urgent first.
    pub fn take(&self) -> Vec<Signal> {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer of the stated length.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
        let bits = PENDING.swap(0, Ordering::SeqCst);
        let mut out = Vec::new();
        if bits & 1 != 0 {
            out.push(Signal::Terminate);
        }
        if bits & 2 != 0 {
            out.push(Signal::Reload);
        }
        out
    }
}

/// A one-shot flag other threads can poll for: readable once raised.
pub struct Shutdown {
    read: OwnedFd,
    write: OwnedFd,
}

impl Shutdown {
    pub fn new() -> io::Result<Shutdown> {
        let (read, write) = pipe_nonblocking()?;
        Ok(Shutdown { read, write })
    }

    /// Descriptor that becomes readable when [`Shutdown::raise`] was called.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    pub fn raise(&self) {
        let b = 1u8;
        // SAFETY: writing one byte from a local to our own pipe.
        unsafe { libc::write(self.write.as_raw_fd(), (&b as *const u8).cast(), 1) };
    }

    pub fn is_raised(&self) -> bool {
        wait_readable(self.fd(), Some(std::time::Duration::ZERO)).unwrap_or(false)
    }
}

/// Wait until `fd` is readable, or the timeout passes (None: forever).
/// Returns whether it is readable.
pub fn wait_readable(fd: RawFd, timeout: Option<std::time::Duration>) -> io::Result<bool> {
    Ok(super::poll::wait(fd, libc::POLLIN, timeout)?
        .is_some_and(|r| r & (libc::POLLIN | libc::POLLHUP) != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shutdown_becomes_readable() {
        let s = Shutdown::new().unwrap();
        assert!(!s.is_raised());
        s.raise();
        assert!(s.is_raised());
        assert!(wait_readable(s.fd(), Some(Duration::from_millis(1))).unwrap());
    }
}
