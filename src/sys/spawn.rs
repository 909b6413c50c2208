//! Child processes through posix_spawn(3): what warden needs of
//! std::process (a program found on PATH, its arguments, extra environment,
//! each standard descriptor the null device, the parent's or a pipe, and
//! its exit status), without std's `Command`, whose fork/exec fallback and
//! environment map cost about 12 KB on mips.
//!
//! musl and glibc both spawn with CLONE_VFORK, so nothing runs in the child
//! between clone and exec but libc's own code: no allocation, no lock a
//! thread of ours holds. Like std, the child starts with an empty signal
//! mask and SIGPIPE at its default (warden ignores it); everything warden
//! opens is close-on-exec, so the child inherits only its three standard
//! descriptors. A program that cannot be run (missing, not executable) is
//! an error from [`spawn`], as from `Command::spawn`.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::ptr;

/// What one of the child's standard descriptors is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// The parent's own.
    Inherit,
    /// /dev/null.
    Null,
    /// A pipe whose other end [`Spawned`] holds.
    Pipe,
}

/// A started child: its pid and the parent's ends of its pipes.
#[derive(Debug)]
pub struct Spawned {
    pub pid: libc::pid_t,
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Code(i32),
    Signal(i32),
}

impl Status {
    fn from_wait(st: libc::c_int) -> Status {
        if libc::WIFSIGNALED(st) {
            Status::Signal(libc::WTERMSIG(st))
        } else {
            Status::Code(libc::WEXITSTATUS(st))
        }
    }

    pub fn success(self) -> bool {
        self == Status::Code(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Code(c) => write!(f, "exit status {c}"),
            Status::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "an argument or variable contains a NUL byte",
        )
    })
}

/// A pipe, both ends close-on-exec: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just made both; they are ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// posix_spawn's error convention: the error number is returned.
fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// The file actions and attributes of one spawn, destroyed on drop.
struct Setup {
    actions: libc::posix_spawn_file_actions_t,
    attr: libc::posix_spawnattr_t,
}

impl Drop for Setup {
    fn drop(&mut self) {
        // SAFETY: both were initialized in `spawn` before a Setup existed.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

/// Start `program` (looked up on PATH when it has no `/`) with `args`
/// (not counting argv[0], which is `program`), the parent's environment
/// plus `env` (a name given here replaces the inherited one), and
/// `stdio` for its descriptors 0, 1 and 2.
pub fn spawn(
    program: &OsStr,
    args: &[&OsStr],
    env: &[(&str, &str)],
    stdio: [Stdio; 3],
) -> io::Result<Spawned> {
    let mut argv = vec![cstr(program)?];
    for a in args {
        argv.push(cstr(a)?);
    }
    let mut envs = Vec::new();
    for (k, v) in std::env::vars_os() {
        if !env.iter().any(|(n, _)| OsStr::new(n) == k) {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envs.push(cstr(OsStr::from_bytes(&kv))?);
        }
    }
    for (k, v) in env {
        envs.push(cstr(OsStr::new(&format!("{k}={v}")))?);
    }
    let mut argp: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argp.push(ptr::null_mut());
    let mut envp: Vec<*mut libc::c_char> = envs.iter().map(|a| a.as_ptr().cast_mut()).collect();
    envp.push(ptr::null_mut());

    // The parent's ends, and the child's (closed here once it has them).
    let mut ours: [Option<OwnedFd>; 3] = [None, None, None];
    let mut theirs: Vec<OwnedFd> = Vec::new();
    let null = if stdio.contains(&Stdio::Null) {
        Some(File::options().read(true).write(true).open("/dev/null")?)
    } else {
        None
    };
    // SAFETY: zeroed storage is what the init functions expect to fill.
    let mut s = unsafe {
        let mut actions = std::mem::zeroed();
        check(libc::posix_spawn_file_actions_init(&mut actions))?;
        let mut attr = std::mem::zeroed();
        if let Err(e) = check(libc::posix_spawnattr_init(&mut attr)) {
            libc::posix_spawn_file_actions_destroy(&mut actions);
            return Err(e);
        }
        Setup { actions, attr }
    };
    for (i, how) in stdio.iter().enumerate() {
        let child_fd: RawFd = match how {
            Stdio::Inherit => continue,
            Stdio::Null => null.as_ref().map_or(-1, |f| f.as_raw_fd()),
            Stdio::Pipe => {
                let (r, w) = pipe()?;
                let (mine, child) = if i == 0 { (w, r) } else { (r, w) };
                ours[i] = Some(mine);
                let fd = child.as_raw_fd();
                theirs.push(child);
                fd
            }
        };
        // dup2 onto 0-2 clears close-on-exec on the copy.
        // SAFETY: `actions` was initialized; both are descriptors.
        check(unsafe {
            libc::posix_spawn_file_actions_adddup2(&mut s.actions, child_fd, i as libc::c_int)
        })?;
    }
    // SAFETY: sigset_t storage filled by sigemptyset/sigaddset; `attr`
    // was initialized.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        check(libc::posix_spawnattr_setsigmask(&mut s.attr, &none))?;
        let mut pipe_sig: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_sig);
        libc::sigaddset(&mut pipe_sig, libc::SIGPIPE);
        check(libc::posix_spawnattr_setsigdefault(&mut s.attr, &pipe_sig))?;
        check(libc::posix_spawnattr_setflags(
            &mut s.attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        ))?;
    }
    let mut pid = 0;
    // SAFETY: argp and envp are NULL-terminated arrays of C strings that
    // outlive the call; actions and attr are initialized.
    check(unsafe {
        libc::posix_spawnp(
            &mut pid,
            argv[0].as_ptr(),
            &s.actions,
            &s.attr,
            argp.as_ptr(),
            envp.as_ptr(),
        )
    })?;
    drop(theirs);
    let [i, o, e] = ours;
    Ok(Spawned {
        pid,
        stdin: i.map(File::from),
        stdout: o.map(File::from),
        stderr: e.map(File::from),
    })
}

/// The child's status once it has exited (reaping it); with `block`
/// false, None while it runs.
pub fn wait(pid: libc::pid_t, block: bool) -> io::Result<Option<Status>> {
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        let mut st = 0;
        // SAFETY: waitpid writes the status into `st`.
        let r = unsafe { libc::waitpid(pid, &mut st, flags) };
        if r == pid {
            return Ok(Some(Status::from_wait(st)));
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// What a finished child printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: Status,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Run `program` to the end with `input` on its standard input (or the
/// null device), collecting its standard output and error.
pub fn output(program: &OsStr, args: &[&OsStr], input: Option<&[u8]>) -> io::Result<Output> {
    let stdin = if input.is_some() {
        Stdio::Pipe
    } else {
        Stdio::Null
    };
    let mut c = spawn(program, args, &[], [stdin, Stdio::Pipe, Stdio::Pipe])?;
    if let (Some(data), Some(mut w)) = (input, c.stdin.take()) {
        // A child that exits early closes the pipe: its stderr says why.
        let _ = w.write_all(data);
    }
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut open = [c.stdout.take(), c.stderr.take()];
    // Both pipes at once, so a child filling one is never stuck on it.
    while open.iter().any(Option::is_some) {
        let raw = |f: &Option<File>| f.as_ref().map_or(-1, |f| f.as_raw_fd());
        let mut p = [
            super::poll::fd(raw(&open[0]), libc::POLLIN),
            super::poll::fd(raw(&open[1]), libc::POLLIN),
        ];
        super::poll::poll(&mut p, None)?;
        for (k, buf) in [&mut stdout, &mut stderr].into_iter().enumerate() {
            if p[k].revents == 0 {
                continue;
            }
            let mut chunk = [0; 4096];
            let n = match open[k].as_mut().map(|f| f.read(&mut chunk)) {
                Some(Ok(n)) => n,
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some(Err(e)) => return Err(e),
                None => continue,
            };
            if n == 0 {
                open[k] = None;
            } else {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    let status = wait(c.pid, true)?.unwrap_or(Status::Code(-1));
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, input: Option<&[u8]>) -> Output {
        output(
            OsStr::new("sh"),
            &[OsStr::new("-c"), OsStr::new(script)],
            input,
        )
        .unwrap()
    }

    #[test]
    fn output_status_and_both_streams() {
        let o = sh("read x; echo out:$x; echo err >&2; exit 3", Some(b"hi\n"));
        assert_eq!(o.status, Status::Code(3));
        assert_eq!(o.stdout, b"out:hi\n");
        assert_eq!(o.stderr, b"err\n");
        assert!(!o.status.success());
        // without input the child reads the null device
        let o = sh("cat; echo done", None);
        assert!(o.status.success());
        assert_eq!(o.stdout, b"done\n");
    }

    #[test]
    fn more_than_a_pipe_holds_on_both_streams() {
        // 200 KB on each: reading one stream to its end first would hang
        let o = sh(
            "head -c 200000 /dev/zero; head -c 200000 /dev/zero >&2; echo x",
            None,
        );
        assert!(o.status.success());
        assert_eq!(o.stdout.len(), 200_002);
        assert_eq!(o.stderr.len(), 200_000);
    }

    #[test]
    fn a_missing_program_is_an_error_and_a_signal_is_reported() {
        let e = spawn(OsStr::new("/nonexistent/prog"), &[], &[], [Stdio::Null; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        let o = sh("kill -TERM $$", None);
        assert_eq!(o.status, Status::Signal(libc::SIGTERM));
        assert_eq!(o.status.to_string(), "killed by signal 15");
    }

    #[test]
    fn environment_added_and_replaced_signals_reset() {
        let o = output(
            OsStr::new("sh"),
            &[OsStr::new("-c"), OsStr::new("echo $WARDEN_T1 $HOME")],
            None,
        )
        .unwrap();
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), home);
        let mut c = spawn(
            OsStr::new("sh"),
            &[OsStr::new("-c"), OsStr::new("echo $WARDEN_T1 $HOME")],
            &[("WARDEN_T1", "one"), ("HOME", "/h")],
            [Stdio::Null, Stdio::Pipe, Stdio::Inherit],
        )
        .unwrap();
        let mut s = String::new();
        c.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "one /h\n");
        assert_eq!(wait(c.pid, true).unwrap(), Some(Status::Code(0)));
        // SIGPIPE is at its default in the child (this process ignores
        // it): `yes` dies of it quietly instead of complaining of EPIPE.
        let o = sh("yes | head -n 1", None);
        assert_eq!((o.stdout, o.stderr), (b"y\n".to_vec(), Vec::new()));
    }
}
