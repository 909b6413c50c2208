//! The daemon: the composition on top of every service. It loads the
//! configuration, hardens the process, starts each enabled service
//! ([`crate::service`]) on its own thread and relays signals to them.
//!
//! SIGTERM/SIGINT ask every service to stop. SIGHUP re-reads the
//! configuration (a bad new file is reported, naming file and line, and
//! the old configuration stays in force) and carries out the [`plan`]
//! over the old one, the new one and the services still running: newly
//! enabled services start, disabled ones are stopped and joined (within
//! [`STOP_WAIT`]), the others are handed the new configuration; what
//! cannot change without a restart is logged. Every service is made on the
//! same keyfs and factotum handles ([`Handles`]), so a reload never locks
//! keyfs (unless it is disabled) nor empties the factotum.

pub mod plan;

#[cfg(feature = "auth")]
use crate::auth::factotum::handle::AuthHandle;
#[cfg(feature = "auth")]
use crate::auth::keyfs::shared::SharedKeyfs;
use crate::config::{self, Config};
use crate::service::{Control, Ctx, Event, Options, Service};
use crate::sys::{harden, signals};
use plan::Kind;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the services share for the daemon's whole life: the one keyfs (the
/// keyfs tree, the factotum, the ticket service, the signer and the agent
/// all reach the database through it) and the factotum's state. Without
/// the `auth` feature (warden-uplink) there is nothing to share.
#[cfg(not(feature = "auth"))]
struct Handles;

#[cfg(not(feature = "auth"))]
impl Handles {
    fn new(_: &Config) -> Handles {
        Handles
    }

    /// The service `k`: the uplink alone ([`plan::wanted`] selects no
    /// other in this build).
    fn service(&self, k: Kind, cfg: &Config, opts: &Options) -> io::Result<Box<dyn Service>> {
        match k {
            Kind::Uplink => Ok(Box::new(crate::uplink::service::UplinkService {
                simulate: opts.simulate || cfg.uplink.simulate,
            })),
            _ => Err(io::Error::other(format!("{}: {}", k.name(), plan::NO_AUTH))),
        }
    }
}

#[cfg(feature = "auth")]
struct Handles {
    keyfs: SharedKeyfs,
    auth: AuthHandle,
    /// The in-process ticket service: the ticket service registers on it,
    /// the factotum asks it first.
    local: crate::auth::authsrv::local::Local,
}

#[cfg(feature = "auth")]
/// The factotum follows keyfs's factotum record
/// ([`crate::auth::factotum::persist`]): its keys are loaded on unlock and
/// when the record changes (`warden key add --save`, `keyfs save-key`),
/// and forgotten on lock. A lock can come from inside a ticket request the
/// factotum is making (keyfs found its file re-sealed and locked itself):
/// then the factotum's state is held by this very thread, and the keys
/// are forgotten by a helper thread once it is free.
fn follow_record(keyfs: &SharedKeyfs, auth: &AuthHandle) {
    use crate::auth::factotum::persist::Persistent;
    use crate::auth::keyfs::shared::Change;
    let record = Arc::new(std::sync::Mutex::new(Persistent::new()));
    let auth = auth.clone();
    let apply = |record: &std::sync::Mutex<Persistent>,
                 f: &mut crate::auth::factotum::Factotum,
                 c: &Change<'_>| {
        let mut r = record.lock().unwrap_or_else(|p| p.into_inner());
        for e in r.apply(f, c) {
            log::warn!("factotum: {e}");
        }
    };
    keyfs.on_change(move |c| match c {
        Change::Locked => match auth.try_lock() {
            Some(mut st) => apply(&record, &mut st.factotum, c),
            None => {
                let (auth, record) = (auth.clone(), record.clone());
                std::thread::spawn(move || {
                    apply(&record, &mut auth.lock().factotum, &Change::Locked)
                });
            }
        },
        _ => apply(&record, &mut auth.lock().factotum, c),
    });
}

#[cfg(feature = "auth")]
impl Handles {
    fn new(cfg: &Config) -> Handles {
        let local = crate::auth::authsrv::local::Local::default();
        let h = Handles {
            keyfs: SharedKeyfs::new(crate::auth::keyfs::Settings::from_config(&cfg.keyfs)),
            auth: AuthHandle::new(&crate::auth::listener::self_name(), local.clone()),
            local,
        };
        follow_record(&h.keyfs, &h.auth);
        h
    }

    /// The service `k`, on these handles.
    fn service(&self, k: Kind, cfg: &Config, opts: &Options) -> io::Result<Box<dyn Service>> {
        let keyfs = self.keyfs.clone();
        Ok(match k {
            Kind::Keyfs => Box::new(crate::auth::keyfsd::service::KeyfsService { keyfs }),
            Kind::Authsrv => Box::new(crate::auth::authsrv::service::AuthsrvService::new(
                Arc::new(keyfs),
                self.local.clone(),
            )),
            Kind::Uplink => Box::new(crate::uplink::service::UplinkService {
                simulate: opts.simulate || cfg.uplink.simulate,
            }),
            Kind::Signer => Box::new(crate::auth::signer::service::SignerService { keyfs }),
            Kind::Agent => Box::new(crate::auth::signer::agent::AgentService { keyfs }),
            Kind::Factotum => Box::new(crate::auth::factotum::service::FactotumService {
                auth: self.auth.clone(),
            }),
            Kind::Secstore => Box::new(crate::auth::secstore::service::SecstoreService { keyfs }),
        })
    }
}

/// A started service: its inbox and its thread.
struct Running {
    kind: Kind,
    control: Arc<Control>,
    handle: JoinHandle<()>,
}

/// Stack size for service threads: the router has 32 MB of RAM.
const STACK: usize = 256 * 1024;

/// How long a stopped service may take to end (the uplink gives pppd 5 s).
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// Start service `k` on its own thread.
fn start(k: Kind, h: &Handles, cfg: &Arc<Config>, opts: &Options) -> io::Result<Running> {
    let svc = h.service(k, cfg, opts)?;
    let control = Control::new()?;
    let name = k.name();
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
    Ok(Running {
        kind: k,
        control,
        handle,
    })
}

/// Ask each of `rs` to stop and wait for them, together, up to `wait`.
/// Returns the ones that did not end in time (still running).
fn stop_all(rs: Vec<Running>, wait: Duration) -> Vec<Running> {
    for r in &rs {
        r.control.send(Event::Stop);
    }
    let deadline = Instant::now() + wait;
    let mut left = rs;
    loop {
        let (done, rest): (Vec<_>, Vec<_>) = left.into_iter().partition(|r| r.handle.is_finished());
        for r in done {
            join(r);
        }
        left = rest;
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for r in &left {
        log::error!(
            "{}: did not stop within {} s; left running",
            r.kind.name(),
            wait.as_secs()
        );
    }
    left
}

fn join(r: Running) {
    let name = r.kind.name();
    if r.handle.join().is_err() {
        log::error!("{name}: thread panicked");
    } else {
        log::debug!("{name}: stopped");
    }
}

/// The daemon's state between signals.
struct Daemon {
    opts: Options,
    handles: Handles,
    /// The configuration in force.
    cfg: Arc<Config>,
    running: Vec<Running>,
    /// Told to stop, not yet ended ([`stop_all`] gave up waiting).
    stopping: Vec<Running>,
}

impl Daemon {
    /// Forget services whose threads ended on their own (an error, logged
    /// by the thread), so a reload starts them again.
    fn reap(&mut self) {
        let (done, alive): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| r.handle.is_finished());
        self.running = alive;
        for r in done {
            log::info!("{}: had ended; started again if enabled", r.kind.name());
            join(r);
        }
        let (done, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.stopping)
            .into_iter()
            .partition(|r| r.handle.is_finished());
        self.stopping = still;
        done.into_iter().for_each(join);
    }

    /// Start `k` unless an earlier instance has still not ended.
    fn start(&mut self, k: Kind) {
        if self.stopping.iter().any(|r| r.kind == k) {
            log::error!(
                "{}: not started: the previous one has not stopped yet",
                k.name()
            );
            return;
        }
        match start(k, &self.handles, &self.cfg, &self.opts) {
            Ok(r) => self.running.push(r),
            Err(e) => log::error!("{}: cannot start: {e}", k.name()),
        }
    }

    /// SIGHUP: read the configuration again and carry out the plan.
    fn reload(&mut self) {
        let new = match read_config(&self.opts) {
            Ok(c) => c,
            Err(e) => {
                log::error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        self.reap();
        let kinds: Vec<Kind> = self.running.iter().map(|r| r.kind).collect();
        let p = plan::plan(&self.cfg, &new, &kinds, self.opts.simulate);
        crate::sys::log::set_level(crate::sys::log::level_for(
            p.config.main.log_level,
            self.opts.verbose,
        ));
        for n in &p.notes {
            log::warn!("{n}");
        }
        self.cfg = Arc::new(p.config);
        let (going, staying): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| p.stop.contains(&r.kind) || p.restart.contains(&r.kind));
        self.running = staying;
        let stuck = stop_all(going, STOP_WAIT);
        self.stopping.extend(stuck);
        #[cfg(feature = "auth")]
        if p.lock_keyfs {
            self.handles.keyfs.lock();
        }
        for r in &self.running {
            r.control.send(Event::Reload(self.cfg.clone()));
        }
        for k in Kind::ALL {
            if p.start.contains(&k) || p.restart.contains(&k) {
                self.start(k);
            }
        }
        let names = |ks: &[Kind]| ks.iter().map(|k| k.name()).collect::<Vec<_>>().join(" ");
        let mut what = Vec::new();
        for (verb, ks) in [
            ("started", &p.start),
            ("stopped", &p.stop),
            ("restarted", &p.restart),
        ] {
            if !ks.is_empty() {
                what.push(format!("{verb} {}", names(ks)));
            }
        }
        if what.is_empty() {
            log::info!("configuration reloaded");
        } else {
            log::info!("configuration reloaded: {}", what.join("; "));
        }
    }
}

/// Run the daemon until SIGTERM or SIGINT.
pub fn run(cfg: Config, opts: Options) -> io::Result<()> {
    harden::harden();
    let sigs = signals::SignalPipe::install()?;
    log::info!(
        "warden {} starting (config {})",
        env!("CARGO_PKG_VERSION"),
        opts.config_path.display()
    );
    // The services bind their sockets in the run directory all at once:
    // make it (closed to others) before they race to.
    if std::fs::symlink_metadata(&cfg.main.run_dir).is_err() {
        #[cfg(feature = "auth")]
        let shared = crate::auth::factotum::service::factotum_policy(&cfg.factotum).shared();
        #[cfg(not(feature = "auth"))]
        let shared = false;
        crate::ninep::unix::prepare_dir(&cfg.main.run_dir, shared).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("run directory {}: {e}", cfg.main.run_dir.display()),
            )
        })?;
    }
    for n in plan::selection_notes(&cfg) {
        log::warn!("{n}");
    }
    let handles = Handles::new(&cfg);
    let cfg = Arc::new(cfg);
    let mut d = Daemon {
        running: Vec::new(),
        stopping: Vec::new(),
        handles,
        cfg,
        opts,
    };
    for k in plan::wanted(&d.cfg, d.opts.simulate) {
        let r = start(k, &d.handles, &d.cfg, &d.opts)?;
        d.running.push(r);
    }
    'main: loop {
        signals::wait_readable(sigs.fd(), None)?;
        for sig in sigs.take() {
            match sig {
                signals::Signal::Terminate => break 'main,
                signals::Signal::Reload => d.reload(),
            }
        }
    }
    log::info!("stopping");
    let mut all = std::mem::take(&mut d.running);
    all.append(&mut d.stopping);
    if !stop_all(all, STOP_WAIT).is_empty() {
        log::error!("exiting with services still running");
    }
    log::info!("stopped");
    Ok(())
}

fn read_config(opts: &Options) -> Result<Config, config::ConfigError> {
    if !opts.explicit_config && !opts.config_path.exists() {
        return Ok(Config::default());
    }
    let (cfg, warnings) = config::load(&opts.config_path, &crate::uplink::check::RULES)?;
    for w in warnings {
        log::warn!("{w}");
    }
    Ok(cfg)
}
