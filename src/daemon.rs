//! The daemon: loads the configuration, hardens the process, starts each
//! enabled service on its own thread and relays signals to them.
//!
//! A service is a loop that waits in poll(2) on its own descriptors plus its
//! [`Control`] descriptor; SIGTERM/SIGINT ask every service to stop, SIGHUP
//! re-reads the configuration and hands the new one to every service (a bad
//! new file is reported and the old configuration stays in force).

use crate::config::{self, Config};
use crate::sys::{harden, signals};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_path: PathBuf,
    /// The path was given on the command line (so it must exist on reload).
    pub explicit_config: bool,
    /// Run the uplink on the built-in simulated modem.
    pub simulate: bool,
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

/// The services the configuration enables.
fn services(cfg: &Config, opts: &Options) -> Vec<Box<dyn Service>> {
    let mut v: Vec<Box<dyn Service>> = Vec::new();
    // The daemon's one keyfs: the keyfs tree, the factotum, the ticket
    // service and the signer all share this handle.
    let keyfs = crate::auth::keyfs::shared::SharedKeyfs::new(
        crate::auth::keyfs::Settings::from_config(&cfg.keyfs),
    );
    if cfg.keyfs.enabled {
        v.push(Box::new(crate::auth::keyfs::service::KeyfsService {
            keyfs: keyfs.clone(),
        }));
    } else if cfg.authsrv.enabled || cfg.signer.enabled || cfg.signer.agent {
        log::warn!("keyfs is disabled: the auth server and the signer find it locked");
    }
    if cfg.authsrv.enabled {
        v.push(Box::new(
            crate::auth::authsrv::service::AuthsrvService::new(Arc::new(keyfs.clone())),
        ));
    }
    let simulate = opts.simulate || cfg.uplink.simulate;
    if cfg.uplink.enabled || simulate {
        v.push(Box::new(crate::uplink::service::UplinkService { simulate }));
    }
    if cfg.signer.enabled {
        v.push(Box::new(crate::auth::signer::service::SignerService {
            keyfs: keyfs.clone(),
        }));
    }
    if cfg.signer.agent {
        v.push(Box::new(crate::auth::signer::agent::AgentService {
            keyfs: keyfs.clone(),
        }));
    }
    let auth = crate::auth::state::AuthHandle::new(&crate::auth::service::self_name());
    if cfg.factotum.enabled {
        v.push(Box::new(crate::auth::service::FactotumService { auth }));
    }
    v
}

/// The accounts the ticket service answers from: the daemon's shared keyfs
/// once it has one. Until then, none: every ticket is sealed in a made-up
/// key, so nobody can authenticate (the service fails closed).
struct Running {
    name: &'static str,
    control: Arc<Control>,
    handle: JoinHandle<()>,
}

/// Stack size for service threads: the router has 32 MB of RAM.
const STACK: usize = 256 * 1024;

/// Run the daemon until SIGTERM or SIGINT.
pub fn run(cfg: Config, opts: Options) -> io::Result<()> {
    harden::harden();
    let sigs = signals::SignalPipe::install()?;
    let mut cfg = Arc::new(cfg);
    log::info!(
        "warden {} starting (config {})",
        env!("CARGO_PKG_VERSION"),
        opts.config_path.display()
    );
    // The services bind their sockets in the run directory all at once:
    // make it (closed to others) before they race to.
    if std::fs::symlink_metadata(&cfg.main.run_dir).is_err() {
        let shared = crate::ninep::unix::PeerPolicy::for_factotum(&cfg.factotum).shared();
        crate::ninep::unix::prepare_dir(&cfg.main.run_dir, shared).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("run directory {}: {e}", cfg.main.run_dir.display()),
            )
        })?;
    }
    let mut running = Vec::new();
    for svc in services(&cfg, &opts) {
        let control = Control::new()?;
        let name = svc.name();
        let ctx = Ctx {
            config: cfg.clone(),
            options: opts.clone(),
            control: control.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(name.into())
            .stack_size(STACK)
            .spawn(move || {
                if let Err(e) = svc.run(ctx) {
                    log::error!("{name}: stopped: {e}");
                }
            })?;
        log::info!("{name}: started");
        running.push(Running {
            name,
            control,
            handle,
        });
    }
    'main: loop {
        signals::wait_readable(sigs.fd(), None)?;
        for sig in sigs.take() {
            match sig {
                signals::Signal::Terminate => break 'main,
                signals::Signal::Reload => match reload(&opts) {
                    Ok(new) => {
                        crate::sys::log::set_level(new.main.log_level);
                        cfg = Arc::new(new);
                        log::info!("configuration reloaded");
                        for r in &running {
                            r.control.send(Event::Reload(cfg.clone()));
                        }
                    }
                    Err(e) => log::error!("reload refused, keeping the old configuration: {e}"),
                },
            }
        }
    }
    log::info!("stopping");
    for r in &running {
        r.control.send(Event::Stop);
    }
    for r in running {
        if r.handle.join().is_err() {
            log::error!("{}: thread panicked", r.name);
        }
    }
    log::info!("stopped");
    Ok(())
}

fn reload(opts: &Options) -> Result<Config, config::ConfigError> {
    if !opts.explicit_config && !opts.config_path.exists() {
        return Ok(Config::default());
    }
    let (cfg, warnings) = config::load(&opts.config_path)?;
    for w in warnings {
        log::warn!("{w}");
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

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
