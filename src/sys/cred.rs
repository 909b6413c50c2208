//! The one SO_PEERCRED check: who is at the other end of a Unix socket
//! (the factotum's and keyfs's 9P sockets, the agent, the ticket
//! service's control socket all ask here).

use std::io;
use std::os::fd::RawFd;

/// A Unix socket peer's credentials, as the kernel recorded them at
/// connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// The credentials of the peer of connected Unix socket `fd`.
pub fn peer(fd: RawFd) -> io::Result<Cred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Cred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// This process's effective uid: the sockets' owner.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and takes no arguments.
    unsafe { libc::geteuid() }
}

/// Root or the sockets' owner: the peers every socket of the daemon
/// admits and never shuts out ([`crate::admit`]).
pub fn privileged(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_socket_pair_names_this_process() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let c = peer(a.as_raw_fd()).unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.uid, euid());
        assert!(privileged(c.uid));
        assert!(peer(-1).is_err());
    }
}
