//! The service layer: what every long-running part of the daemon is given
//! and how it is told to stop or reload. A service is a loop that waits in
//! poll(2) on its own descriptors plus its [`Control`] descriptor.
//!
//! This sits low, under every service (uplink, factotum, keyfs, ticket
//! service, signer, agent); `daemon.rs` on top only composes them.

use crate::config::Config;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_path: PathBuf,
    /// The path was given on the command line (so it must exist on reload).
    pub explicit_config: bool,
    /// Run the uplink on the built-in simulated modem.
    pub simulate: bool,
    /// `-v` given this many times: raises the configured log level, on
    /// reload too.
    pub verbose: u8,
}

/// What the daemon asks of a running service.
#[derive(Debug, Clone)]
pub enum Event {
    Stop,
    Reload(Arc<Config>),
}

/// A service's inbox: a pipe that is readable while events are queued.
pub struct Control {
    read: OwnedFd,
    write: OwnedFd,
    queue: Mutex<VecDeque<Event>>,
}

impl Control {
    pub fn new() -> io::Result<Arc<Control>> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 returned two fresh descriptors that we now own.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Arc::new(Control {
            read,
            write,
            queue: Mutex::new(VecDeque::new()),
        }))
    }

    /// Poll this for POLLIN alongside the service's own descriptors.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    pub fn send(&self, ev: Event) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(ev);
        let b = 1u8;
        // SAFETY: writing one byte from a local to our own pipe.
        unsafe { libc::write(self.write.as_raw_fd(), (&b as *const u8).cast(), 1) };
    }

    /// Take every queued event (drains the pipe).
    pub fn take(&self) -> Vec<Event> {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer of the stated length.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        Vec::from(std::mem::take(&mut *q))
    }
}

/// Everything a service gets when it starts.
pub struct Ctx {
    pub config: Arc<Config>,
    pub options: Options,
    pub control: Arc<Control>,
}

/// A long-running part of the daemon.
pub trait Service: Send + 'static {
    fn name(&self) -> &'static str;
    /// Run until an [`Event::Stop`] arrives on `ctx.control`. An error ends
    /// this service (it is logged); the others keep running.
    fn run(self: Box<Self>, ctx: Ctx) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::signals;

    #[test]
    fn control_queues_events_and_signals_readiness() {
        let c = Control::new().unwrap();
        assert!(!signals::wait_readable(c.fd(), Some(std::time::Duration::ZERO)).unwrap());
        c.send(Event::Stop);
        c.send(Event::Reload(Arc::new(Config::default())));
        assert!(signals::wait_readable(c.fd(), Some(std::time::Duration::ZERO)).unwrap());
        let evs = c.take();
        assert!(matches!(evs[..], [Event::Stop, Event::Reload(_)]));
        assert!(!signals::wait_readable(c.fd(), Some(std::time::Duration::ZERO)).unwrap());
    }
}
