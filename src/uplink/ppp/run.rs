//! Running pppd as a child process, behind two small traits so that the
//! supervisor can be driven by a stand-in.
//!
//! [`Spawn`] starts a [`PppdCommand`]; the [`Child`] it returns can be
//! asked whether it has exited, signalled, and offers a descriptor that
//! becomes readable when it exits (a pidfd), so the supervisor waits for it
//! in the same poll(2) as everything else instead of waking up to check.

use super::args::PppdCommand;
use super::exit::Exit;
use crate::sys::{poll, spawn};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// A running pppd (or stand-in).
pub trait Child {
    fn pid(&self) -> u32;
    /// `Some` once it has exited (reaps it).
    fn try_wait(&mut self) -> io::Result<Option<Exit>>;
    /// Send a signal; a no-op once it has been reaped.
    fn signal(&mut self, sig: i32) -> io::Result<()>;
    /// A descriptor that polls readable when the child exits, if the
    /// platform has one.
    fn exit_fd(&self) -> Option<RawFd>;
}

/// Something that starts pppd.
pub trait Spawn {
    type Child: Child;
    fn spawn(&mut self, cmd: &PppdCommand) -> io::Result<Self::Child>;
}

/// Starts real processes.
#[derive(Debug, Clone, Default)]
pub struct ProcessSpawner {
    /// Extra environment for the child (a stand-in reads its script here).
    pub env: Vec<(String, String)>,
}

/// A child process started by [`ProcessSpawner`].
#[derive(Debug)]
pub struct Process {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    exited: Option<Exit>,
}

impl Spawn for ProcessSpawner {
    type Child = Process;

    fn spawn(&mut self, cmd: &PppdCommand) -> io::Result<Process> {
        if let Some((path, body)) = &cmd.secrets {
            write_private(path, body.as_bytes()).map_err(|e| {
                io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
            })?;
        }
        let args: Vec<&OsStr> = cmd.args.iter().map(OsStr::new).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let child = spawn::spawn(
            cmd.program.as_os_str(),
            &args,
            &env,
            [
                spawn::Stdio::Null,
                spawn::Stdio::Inherit,
                spawn::Stdio::Inherit,
            ],
        )
        .map_err(|e| {
            io::Error::new(e.kind(), format!("starting {}: {e}", cmd.program.display()))
        })?;
        Ok(Process {
            pid: child.pid,
            pidfd: pidfd_open(child.pid as u32),
            exited: None,
        })
    }
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this descriptor; we own it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

impl Child for Process {
    fn pid(&self) -> u32 {
        self.pid as u32
    }

    fn try_wait(&mut self) -> io::Result<Option<Exit>> {
        if let Some(e) = self.exited {
            return Ok(Some(e));
        }
        self.exited = spawn::wait(self.pid, false)?.map(|s| match s {
            spawn::Status::Code(c) => Exit::Code(c),
            spawn::Status::Signal(sig) => Exit::Signal(sig),
        });
        Ok(self.exited)
    }

    fn signal(&mut self, sig: i32) -> io::Result<()> {
        if self.exited.is_some() {
            return Ok(());
        }
        // Not reaped yet, so the pid is still ours (a zombie at worst).
        // SAFETY: kill(2) with a pid and a signal number.
        if unsafe { libc::kill(self.pid, sig) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    fn exit_fd(&self) -> Option<RawFd> {
        self.pidfd.as_ref().map(|f| f.as_raw_fd())
    }
}

/// Wait up to `timeout` for the child to exit: in poll(2) on its exit
/// descriptor when it has one, else checking every 20 ms.
pub fn wait_timeout<C: Child + ?Sized>(
    child: &mut C,
    timeout: Duration,
) -> io::Result<Option<Exit>> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(e) = child.try_wait()? {
            return Ok(Some(e));
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match child.exit_fd() {
            Some(fd) => {
                poll::wait(fd, libc::POLLIN, Some(left.min(Duration::from_secs(60))))?;
            }
            None => std::thread::sleep(left.min(Duration::from_millis(20))),
        }
    }
}

/// Stop the child: SIGTERM (pppd hangs up and runs ip-down), then SIGKILL
/// after `grace`. Returns how it ended.
pub fn stop<C: Child + ?Sized>(child: &mut C, grace: Duration) -> io::Result<Exit> {
    child.signal(libc::SIGTERM)?;
    if let Some(e) = wait_timeout(child, grace)? {
        return Ok(e);
    }
    child.signal(libc::SIGKILL)?;
    loop {
        if let Some(e) = wait_timeout(child, Duration::from_secs(5))? {
            return Ok(e);
        }
    }
}

/// Write a file only its owner can read, making its directory when
/// missing; atomically ([`crate::sys::file::write_atomic`]).
pub fn write_private(path: &Path, body: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    crate::sys::file::write_atomic(path, body, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn sh(script: &str) -> PppdCommand {
        PppdCommand {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            secrets: None,
        }
    }

    #[test]
    fn exit_codes_and_stop() {
        let mut s = ProcessSpawner::default();
        let mut c = s.spawn(&sh("exit 8")).unwrap();
        assert_eq!(
            wait_timeout(&mut c, Duration::from_secs(10)).unwrap(),
            Some(Exit::Code(8))
        );
        // Reaped: signalling is a no-op, not an error.
        c.signal(libc::SIGTERM).unwrap();

        // A child that obeys SIGTERM like pppd (exit 5).
        let mut c = s
            .spawn(&sh("trap 'exit 5' TERM; while :; do sleep 0.05; done"))
            .unwrap();
        assert_eq!(
            wait_timeout(&mut c, Duration::from_millis(100)).unwrap(),
            None
        );
        assert_eq!(
            stop(&mut c, Duration::from_secs(10)).unwrap(),
            Exit::Code(5)
        );

        // One that ignores it gets SIGKILL after the grace period.
        let mut c = s
            .spawn(&sh("trap '' TERM; while :; do sleep 0.05; done"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            stop(&mut c, Duration::from_millis(200)).unwrap(),
            Exit::Signal(libc::SIGKILL)
        );
    }

    /// The traits carry no process: a scripted child (as a supervisor's
    /// timeline tests will use) works with `stop` and `wait_timeout`.
    #[derive(Default)]
    struct Scripted {
        signals: Vec<i32>,
        ignore_term: bool,
    }

    impl Child for Scripted {
        fn pid(&self) -> u32 {
            4242
        }
        fn try_wait(&mut self) -> io::Result<Option<Exit>> {
            Ok(match self.signals.last() {
                Some(&libc::SIGKILL) => Some(Exit::Signal(libc::SIGKILL)),
                Some(&libc::SIGTERM) if !self.ignore_term => Some(Exit::Code(5)),
                _ => None,
            })
        }
        fn signal(&mut self, sig: i32) -> io::Result<()> {
            self.signals.push(sig);
            Ok(())
        }
        fn exit_fd(&self) -> Option<RawFd> {
            None
        }
    }

    struct ScriptedSpawner(Vec<Vec<String>>);

    impl Spawn for ScriptedSpawner {
        type Child = Scripted;
        fn spawn(&mut self, cmd: &PppdCommand) -> io::Result<Scripted> {
            self.0.push(cmd.args.clone());
            Ok(Scripted::default())
        }
    }

    #[test]
    fn scripted_child_behind_the_traits() {
        let mut sp = ScriptedSpawner(Vec::new());
        let mut c = sp.spawn(&sh("true")).unwrap();
        assert_eq!(sp.0, [vec!["-c".to_string(), "true".to_string()]]);
        assert_eq!(wait_timeout(&mut c, Duration::ZERO).unwrap(), None);
        assert_eq!(stop(&mut c, Duration::from_secs(1)).unwrap(), Exit::Code(5));
        assert_eq!(c.signals, [libc::SIGTERM]);
        let mut stubborn = Scripted {
            ignore_term: true,
            ..Scripted::default()
        };
        let e = stop(&mut stubborn, Duration::from_millis(30)).unwrap();
        assert_eq!(e, Exit::Signal(libc::SIGKILL));
        assert_eq!(stubborn.signals, [libc::SIGTERM, libc::SIGKILL]);
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let mut s = ProcessSpawner::default();
        let cmd = PppdCommand {
            program: "/nonexistent/pppd".into(),
            args: vec![],
            secrets: None,
        };
        let e = s.spawn(&cmd).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/pppd"), "{e}");
    }

    #[test]
    fn secrets_file_is_private_and_env_passes() {
        let dir = std::env::temp_dir().join(format!("warden-run-{}", std::process::id()));
        let path: PathBuf = dir.join("pppd-wan.options");
        let mut s = ProcessSpawner {
            env: vec![("STANDIN_X".into(), "42".into())],
        };
        let out = dir.join("out");
        let mut cmd = sh(&format!(
            "cat {} > {}; echo $STANDIN_X >> {}",
            path.display(),
            out.display(),
            out.display()
        ));
        cmd.secrets = Some((
            path.clone(),
            zeroize::Zeroizing::new("password \"pw\"\n".into()),
        ));
        let mut c = s.spawn(&cmd).unwrap();
        assert_eq!(
            wait_timeout(&mut c, Duration::from_secs(10)).unwrap(),
            Some(Exit::Code(0))
        );
        assert_eq!(fs::read_to_string(&out).unwrap(), "password \"pw\"\n42\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
