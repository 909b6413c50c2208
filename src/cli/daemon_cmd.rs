//! `warden daemon`: run every enabled service until SIGTERM.

use super::args::{flag, short, Cmd, Parsed};
use super::{Fail, Globals};
use crate::daemon;
use crate::service::Options;
use crate::sys::log::{self as wlog, Sink};

/// run the uplink supervisor and the key services
#[derive(Debug)]
pub struct DaemonCmd {
    /// log to stderr instead of syslog
    foreground: bool,

    /// use the built-in simulated modem instead of USB hardware
    simulate: bool,
}

impl DaemonCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let sink = if self.foreground {
            Sink::Stderr
        } else {
            Sink::Syslog
        };
        // Log config warnings to stderr until the configured level is known.
        wlog::init(sink, log::LevelFilter::Warn);
        let cfg = g.load_config()?;
        wlog::set_level(g.log_level(&cfg));
        let opts = Options {
            config_path: g.config_path().to_path_buf(),
            explicit_config: g.config_path.is_some(),
            simulate: self.simulate,
            verbose: g.verbose,
        };
        daemon::run(cfg, opts).map_err(Fail::from)
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::leaf(
    "daemon",
    "run the uplink supervisor and the key services",
    &[
        short(b'f', flag("foreground", "log to stderr instead of syslog")),
        flag(
            "simulate",
            "use the built-in simulated modem instead of USB hardware",
        ),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<DaemonCmd, Fail> {
    let a = p.leaf();
    Ok(DaemonCmd {
        foreground: a.flag("foreground"),
        simulate: a.flag("simulate"),
    })
}
