//! Exclusive locks on files, against other processes and other threads:
//! the modem's tty and the key file's `<file>.lock`.
//!
//! Between processes the lock is a POSIX record lock (fcntl F_SETLK),
//! which belongs to the process and is not inherited across fork(2). An
//! flock(2) lock belongs to the open file description instead, which a
//! child forked by any thread (pppd, a hook) shares until its exec: a
//! file unlocked and locked again at once met its own lock, held by that
//! child for as long as it took to reach exec (seconds, on a busy
//! machine). A record lock does not exclude the process that holds it,
//! and closing any descriptor of the file drops it, so within the process
//! a [`Claim`] comes first: a registry entry taken before the file is
//! opened at all, waited for by other threads, released after the
//! descriptor is closed. Nothing is held while a lock is waited for, so a
//! slow holder elsewhere never stalls this process's other locks.

use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a claim is on: a device (a tty, by its device number, so every
/// path to it is one) or a path (a lock file that may not exist yet).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Key {
    Dev(libc::dev_t),
    Path(std::path::PathBuf),
}

static HELD: Mutex<Vec<Key>> = Mutex::new(Vec::new());
static FREED: Condvar = Condvar::new();

fn held() -> MutexGuard<'static, Vec<Key>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

fn would_block() -> io::Error {
    io::Error::from_raw_os_error(libc::EWOULDBLOCK)
}

/// This process's hold on a key, until dropped. Drop it after the
/// descriptor it guards is closed (declare that field first).
#[derive(Debug)]
pub struct Claim(Key);

impl Drop for Claim {
    fn drop(&mut self) {
        let mut h = held();
        if let Some(i) = h.iter().position(|k| *k == self.0) {
            h.swap_remove(i);
        }
        FREED.notify_all();
    }
}

/// Claim `key` in this process, waiting up to `wait` for another thread
/// to let go; EWOULDBLOCK once the time is up.
pub fn claim(key: Key, wait: Duration) -> io::Result<Claim> {
    let deadline = Instant::now() + wait;
    let mut h = held();
    while h.contains(&key) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(would_block());
        }
        h = FREED
            .wait_timeout(h, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    h.push(key.clone());
    Ok(Claim(key))
}

/// Take the record lock on the whole of `fd` for writing, waiting up to
/// `wait` (in short naps) for another process to let go; EWOULDBLOCK once
/// the time is up. Hold a [`Claim`] on the file first.
pub fn record_lock(fd: libc::c_int, wait: Duration) -> io::Result<()> {
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
            Some(libc::EAGAIN | libc::EACCES) => return Err(would_block()),
            _ => return Err(e),
        }
    }
}

/// An open lock file, locked against other processes and threads.
#[derive(Debug)]
pub struct LockFile {
    _file: std::fs::File,
    _claim: Claim,
}

/// Create (mode 0600) and lock the file at `path`, waiting up to `wait`
/// in all; EWOULDBLOCK (kind WouldBlock) once the time is up.
pub fn lock_file(path: &std::path::Path, wait: Duration) -> io::Result<LockFile> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let deadline = Instant::now() + wait;
    let claim = claim(Key::Path(path.to_path_buf()), wait)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    record_lock(
        file.as_raw_fd(),
        deadline.saturating_duration_since(Instant::now()),
    )?;
    Ok(LockFile {
        _file: file,
        _claim: claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("warden-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("f.lock")
    }

    #[test]
    fn threads_take_turns_and_a_timeout_says_would_block() {
        let p = scratch("threads");
        let first = lock_file(&p, Duration::from_secs(5)).unwrap();
        let e = lock_file(&p, Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        let p2 = p.clone();
        let t = std::thread::spawn(move || lock_file(&p2, Duration::from_secs(30)).map(drop));
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        t.join().unwrap().unwrap();
        // a claim on another key is never held up
        let _a = claim(Key::Dev(libc::dev_t::MAX), Duration::ZERO).unwrap();
        let _b = lock_file(&p, Duration::ZERO).unwrap();
        assert!(claim(Key::Dev(libc::dev_t::MAX), Duration::ZERO).is_err());
    }

    /// The lock is the process's: another process (python's lockf takes
    /// the same record lock) is refused while it is held, and a child
    /// forked while it is held does not keep it once the parent lets go.
    #[test]
    fn another_process_is_refused_and_a_forked_child_does_not_keep_it() {
        let p = scratch("procs");
        let try_lock = |p: &std::path::Path| {
            std::process::Command::new("python3")
                .args([
                    "-c",
                    "import fcntl, os, sys\n\
                     fd = os.open(sys.argv[1], os.O_RDWR)\n\
                     try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n\
                     except OSError:\n    sys.exit(3)\n",
                ])
                .arg(p)
                .status()
                .unwrap()
                .code()
        };
        let l = lock_file(&p, Duration::from_secs(5)).unwrap();
        assert_eq!(try_lock(&p), Some(3));
        // a child that sleeps before its exec, as a busy machine's do
        // SAFETY: the child only sleeps and exits (async-signal-safe).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::sleep(5);
                libc::_exit(0)
            }
        }
        drop(l);
        assert_eq!(try_lock(&p), Some(0), "the forked child kept the lock");
        // SAFETY: killing and reaping the child forked above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
}
