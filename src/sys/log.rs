//! Logging through the `log` facade: to syslog (ident `warden`, facility
//! daemon, what `logread` shows on OpenWRT) for the daemon, to stderr with
//! `--foreground` and for commands.

use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stderr,
    Syslog,
}

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "warden: {}: {}",
            record.level().as_str().to_ascii_lowercase(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Install the global logger. Falls back to stderr (with a warning) when
/// syslog cannot be reached. Calling it twice keeps the first logger.
pub fn init(sink: Sink, level: LevelFilter) {
    let installed = match sink {
        Sink::Syslog => {
            let fmt = syslog::Formatter3164 {
                facility: syslog::Facility::LOG_DAEMON,
                hostname: None,
                process: "warden".into(),
                pid: std::process::id(),
            };
            match syslog::unix(fmt) {
                Ok(logger) => {
                    log::set_boxed_logger(Box::new(syslog::BasicLogger::new(logger))).is_ok()
                }
                Err(e) => {
                    let ok = log::set_logger(&StderrLogger).is_ok();
                    log::set_max_level(level);
                    log::warn!("syslog unavailable ({e}); logging to stderr");
                    ok
                }
            }
        }
        Sink::Stderr => log::set_logger(&StderrLogger).is_ok(),
    };
    if installed {
        log::set_max_level(level);
    }
}

/// Change the level at run time (config reload).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}
