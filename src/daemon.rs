//! The daemon: the composition on top of every service. It loads the
//! configuration, hardens the process, starts each enabled service
//! ([`crate::service`]) on its own thread and relays signals to them.
//!
//! SIGTERM/SIGINT ask every service to stop, SIGHUP
//! re-reads the configuration and hands the new one to every service (a bad
//! new file is reported and the old configuration stays in force).

use crate::config::{self, Config};
use crate::service::{Control, Ctx, Event, Options, Service};
use crate::sys::{harden, signals};
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

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
    // The ticket service registers here; the factotum asks it first.
    let local = crate::auth::authsrv::local::Local::default();
    if cfg.authsrv.enabled {
        v.push(Box::new(
            crate::auth::authsrv::service::AuthsrvService::new(
                Arc::new(keyfs.clone()),
                local.clone(),
            ),
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
    let auth = crate::auth::state::AuthHandle::new(&crate::auth::listener::self_name(), local);
    if cfg.factotum.enabled {
        v.push(Box::new(crate::auth::factotum::service::FactotumService {
            auth,
        }));
    }
    v
}

/// A started service: its inbox and its thread.
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
        let shared = crate::auth::factotum::service::factotum_policy(&cfg.factotum).shared();
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
