//! A simulated Huawei E367 on a pseudo-terminal.
//!
//! [`SimModem::spawn`] opens a pty pair (posix_openpt, the portable form of
//! openpty that needs no libutil), puts the slave side in raw mode, and
//! runs the [`e367::E367`] behaviour on the master side in a thread with its
//! own poll(2) loop. Programs open [`SimModem::path`] (`/dev/pts/N`) exactly
//! as they would open `/dev/ttyUSB2`.
//!
//! The thread keeps a descriptor of the slave open, so the tty keeps its
//! raw settings between users and the master never sees a hangup. To make
//! the device vanish, the thread closes both: every user of the slave then
//! gets a hangup (POLLHUP, EIO), like an unplugged USB modem.

pub mod e367;
pub mod world;

pub use e367::{Cure, Lock, SimConfig, Stats, Wedge};

use crate::sys::poll;
use e367::{Out, E367};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running simulated modem. Dropping it stops the thread and removes the
/// device.
pub struct SimModem {
    path: PathBuf,
    control: OwnedFd,
    shared: Arc<Mutex<Stats>>,
    thread: Option<JoinHandle<()>>,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Open a pty pair: (master, slave, slave path). The slave is in raw mode.
fn open_pty() -> io::Result<(OwnedFd, OwnedFd, PathBuf)> {
    // SAFETY: plain libc calls on descriptors we own; ptsname_r writes at
    // most `buf.len()` bytes including the terminating NUL.
    unsafe {
        let m = cvt(libc::posix_openpt(
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        ))?;
        let master = OwnedFd::from_raw_fd(m);
        cvt(libc::grantpt(m))?;
        cvt(libc::unlockpt(m))?;
        let mut buf = [0 as libc::c_char; 128];
        let r = libc::ptsname_r(m, buf.as_mut_ptr(), buf.len());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let path = PathBuf::from(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned());
        let cpath = std::ffi::CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "pty name"))?;
        let s = cvt(libc::open(
            cpath.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        ))?;
        let slave = OwnedFd::from_raw_fd(s);
        let mut t: libc::termios = std::mem::zeroed();
        cvt(libc::tcgetattr(s, &mut t))?;
        libc::cfmakeraw(&mut t);
        cvt(libc::tcsetattr(s, libc::TCSANOW, &t))?;
        let flags = cvt(libc::fcntl(m, libc::F_GETFL))?;
        cvt(libc::fcntl(m, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
        Ok((master, slave, path))
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 returned two fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

const STOP: u8 = b'q';
const VANISH: u8 = b'v';
const HANGUP: u8 = b'h';
const UNWEDGE: u8 = b'0';
const WEDGE_CFUN: u8 = b'1';
const WEDGE_USB: u8 = b'2';
const WEDGE_POWER: u8 = b'3';
const CURE_CFUN: u8 = b'c';
const CURE_USB: u8 = b'u';
const CURE_POWER: u8 = b'p';
const SMS_IN: u8 = b's';

impl SimModem {
    /// Start the simulated modem.
    pub fn spawn(cfg: SimConfig) -> io::Result<SimModem> {
        let (master, slave, path) = open_pty()?;
        let (ctl_read, ctl_write) = pipe()?;
        let now = Instant::now();
        let modem = E367::new(cfg, now);
        let shared = Arc::new(Mutex::new(modem.stats().clone()));
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sim-e367".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                if let Err(e) = serve(modem, master, slave, ctl_read, &sh) {
                    log::error!("simulated modem: {e}");
                }
                if let Ok(mut s) = sh.lock() {
                    s.vanished = true;
                }
            })?;
        Ok(SimModem {
            path,
            control: ctl_write,
            shared,
            thread: Some(thread),
        })
    }

    /// The tty to open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The modem's state now.
    pub fn stats(&self) -> Stats {
        self.shared
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn tell(&self, what: u8) {
        // SAFETY: writing one byte from a local to our own pipe.
        unsafe { libc::write(self.control.as_raw_fd(), (&what as *const u8).cast(), 1) };
    }

    /// Make the device vanish now (as if unplugged).
    pub fn vanish(&self) {
        self.tell(VANISH);
    }

    /// In data mode: the network drops the call (`NO CARRIER`).
    pub fn hang_up(&self) {
        self.tell(HANGUP);
    }

    /// Wedge the modem (None: unwedge it).
    pub fn wedge(&self, w: Option<Wedge>) {
        self.tell(match w {
            None => UNWEDGE,
            Some(Wedge::Cfun) => WEDGE_CFUN,
            Some(Wedge::UsbReset) => WEDGE_USB,
            Some(Wedge::Power) => WEDGE_POWER,
        });
    }

    /// A recovery from outside: the modem restarts, cured of what `c` cures.
    pub fn cure(&self, c: Cure) {
        self.tell(match c {
            Cure::Cfun => CURE_CFUN,
            Cure::UsbReset => CURE_USB,
            Cure::Power => CURE_POWER,
        });
    }

    /// A message arrives from the network ([`E367::receive_sms`]).
    pub fn receive_sms(&self) {
        self.tell(SMS_IN);
    }

    /// Wait until the device has vanished (for `warden modem sim`).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimModem {
    fn drop(&mut self) {
        self.tell(STOP);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut modem: E367,
    master: OwnedFd,
    slave: OwnedFd,
    control: OwnedFd,
    shared: &Mutex<Stats>,
) -> io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 512];
    let publish = |m: &E367| {
        if let Ok(mut s) = shared.lock() {
            *s = m.stats().clone();
        }
    };
    loop {
        let now = Instant::now();
        let mut vanish = false;
        for o in modem.due(now) {
            match o {
                Out::Bytes(b) => pending.extend_from_slice(&b),
                Out::Vanish => vanish = true,
            }
        }
        // Stats first: a test that sees a reply also sees its effect.
        publish(&modem);
        // Write what can be written; a reader that stops reading makes the
        // pty buffer fill up, and then we wait for POLLOUT.
        while !pending.is_empty() {
            // SAFETY: writing from a live buffer of the stated length.
            let n =
                unsafe { libc::write(master.as_raw_fd(), pending.as_ptr().cast(), pending.len()) };
            if n > 0 {
                pending.drain(..n as usize);
            } else {
                break;
            }
        }
        if vanish {
            modem.vanished();
            publish(&modem);
            drop(master);
            drop(slave);
            return Ok(());
        }
        let timeout = modem.poll_at().map(|t| {
            t.saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), Duration::from_secs(60))
        });
        let out = if pending.is_empty() { 0 } else { libc::POLLOUT };
        let mut fds = [
            poll::fd(master.as_raw_fd(), libc::POLLIN | out),
            poll::fd(control.as_raw_fd(), libc::POLLIN),
        ];
        poll::poll(&mut fds, timeout)?;
        if fds[1].revents != 0 {
            let mut c = [0u8; 16];
            // SAFETY: reading into a local buffer of the stated length.
            let n = unsafe { libc::read(control.as_raw_fd(), c.as_mut_ptr().cast(), c.len()) };
            for &what in c.get(..n.max(0) as usize).unwrap_or(&[]) {
                match what {
                    STOP => return Ok(()),
                    VANISH => {
                        modem.vanished();
                        publish(&modem);
                        return Ok(());
                    }
                    HANGUP => modem.hang_up(Instant::now()),
                    UNWEDGE => modem.wedge(None),
                    WEDGE_CFUN => modem.wedge(Some(Wedge::Cfun)),
                    WEDGE_USB => modem.wedge(Some(Wedge::UsbReset)),
                    WEDGE_POWER => modem.wedge(Some(Wedge::Power)),
                    CURE_CFUN => modem.cure(Cure::Cfun, Instant::now()),
                    CURE_USB => modem.cure(Cure::UsbReset, Instant::now()),
                    CURE_POWER => modem.cure(Cure::Power, Instant::now()),
                    SMS_IN => modem.receive_sms(Instant::now()),
                    _ => {}
                }
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let n = read_fd(master.as_raw_fd(), &mut buf);
            if n > 0 {
                modem.input(buf.get(..n as usize).unwrap_or(&[]), Instant::now());
            }
        } else if fds[0].revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            // Cannot happen while we hold the slave open; never spin on it.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// For tests that open a tty: true (with a printed note) when they run
/// under qemu-user (`cross/test` sets WARDEN_UNDER_QEMU). warden's own tty
/// code needs only what qemu emulates, and the library's pty tests run
/// there; this guard is for tests that run other programs on a tty.
pub fn skip_under_qemu() -> bool {
    if std::env::var_os("WARDEN_UNDER_QEMU").is_some() {
        eprintln!("note: skipped under qemu (WARDEN_UNDER_QEMU is set): needs a real tty");
        return true;
    }
    false
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> isize {
    // SAFETY: reading into a live buffer of the stated length.
    unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pty_answers_and_vanishes() {
        let sim = SimModem::spawn(SimConfig::default()).unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(sim.path())
            .unwrap();
        use std::io::{Read, Write};
        (&f).write_all(b"AT+CGMM\r").unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(&got).contains("OK\r\n") && Instant::now() < deadline {
            let mut b = [0u8; 64];
            let n = (&f).read(&mut b).unwrap();
            got.extend_from_slice(&b[..n]);
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            "AT+CGMM\r\r\nE367\r\n\r\nOK\r\n"
        );
        sim.vanish();
        let mut b = [0u8; 64];
        // A hangup: end of file or EIO, never a hang.
        match (&f).read(&mut b) {
            Ok(0) => {}
            Err(e) if e.raw_os_error() == Some(libc::EIO) => {}
            other => panic!("expected a hangup, got {other:?}"),
        }
        assert!(sim.stats().vanished);
    }
}
