//! The one poll(2) wrapper: descriptors and a timeout in, how many are
//! ready out. A signal (EINTR) polls again for the time that is left, so
//! no caller spins or waits longer than it asked for.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// A pollfd asking for `events` on `fd` (a negative fd is ignored by poll).
pub fn fd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// poll(2) milliseconds for a timeout: rounded up, so a short wait is never
/// a zero-time spin; None waits for ever.
fn millis(timeout: Option<Duration>) -> libc::c_int {
    timeout.map_or(-1, |t| {
        // in u64: a u128 division would link the compiler's 128-bit
        // division routine (2 KB on mips)
        t.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(t.subsec_nanos().div_ceil(1_000_000)))
            .min(libc::c_int::MAX as u64) as libc::c_int
    })
}

/// Wait until one of `fds` is ready or `timeout` passes (None: for ever).
/// Ok(0) on timeout; revents are set as poll(2) sets them.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // SAFETY: `fds` is a valid, writable array of fds.len() pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis(left)) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Wait until `fd` has any of `events` (or a hangup/error condition):
/// its revents, or None on timeout.
pub fn wait(
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> io::Result<Option<libc::c_short>> {
    let mut p = [self::fd(fd, events)];
    Ok(if poll(&mut p, timeout)? == 0 {
        None
    } else {
        Some(p[0].revents)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_and_sees_readiness() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let t = Instant::now();
        assert_eq!(
            wait(a.as_raw_fd(), libc::POLLIN, Some(Duration::from_millis(20))).unwrap(),
            None
        );
        assert!(t.elapsed() >= Duration::from_millis(20));
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        let r = wait(a.as_raw_fd(), libc::POLLIN, Some(Duration::from_secs(5))).unwrap();
        assert!(r.is_some_and(|r| r & libc::POLLIN != 0));
        assert_eq!(millis(Some(Duration::from_micros(1))), 1);
        assert_eq!(millis(None), -1);
    }
}
