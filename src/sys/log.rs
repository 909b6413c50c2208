//! Logging through the `log` facade: to syslog (ident `warden`, facility
//! daemon, what `logread` shows on OpenWRT) for the daemon, to stderr with
//! `--foreground` and for commands.
//!
//! Syslog is spoken directly: one RFC 3164 datagram per line to `/dev/log`,
//! `<PRI>warden[PID]: message`, which OpenWRT's logd, busybox syslogd and
//! rsyslog all timestamp themselves. (The `syslog` crate did the same but
//! brought the `time` crate's formatting machinery: about 45 KB of the
//! router's 1 MiB budget.)

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
        // One write(2) per line: stderr is unbuffered, and a line written
        // in pieces can be read half-written (by `logread -f`'s file, a
        // test reading the log) or cut by another process's write.
        let line = format!(
            "warden: {}: {}\n",
            record.level().as_str().to_ascii_lowercase(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// The syslog socket on every Linux system.
pub const DEV_LOG: &str = "/dev/log";

const LOG_DAEMON: u8 = 3;

/// One syslog line: `<PRI>warden[PID]: message`, facility daemon. Control
/// characters in the message become spaces, so one record stays one line.
pub fn format_3164(level: Level, pid: u32, msg: &str) -> Vec<u8> {
    let severity = match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    };
    let pri = LOG_DAEMON * 8 + severity;
    let clean: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("<{pri}>warden[{pid}]: {clean}").into_bytes()
}

/// Sends records to a syslog socket, reconnecting once when syslogd was
/// restarted under it.
struct SyslogLogger {
    path: PathBuf,
    sock: Mutex<UnixDatagram>,
    pid: u32,
}

fn connect(path: &Path) -> std::io::Result<UnixDatagram> {
    let s = UnixDatagram::unbound()?;
    s.connect(path)?;
    Ok(s)
}

impl SyslogLogger {
    fn new(path: &Path) -> std::io::Result<SyslogLogger> {
        Ok(SyslogLogger {
            path: path.to_path_buf(),
            sock: Mutex::new(connect(path)?),
            pid: std::process::id(),
        })
    }
}

impl Log for SyslogLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let line = format_3164(record.level(), self.pid, &record.args().to_string());
        let mut sock = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        if sock.send(&line).is_err() {
            if let Ok(s) = connect(&self.path) {
                *sock = s;
                let _ = sock.send(&line);
            }
        }
    }

    fn flush(&self) {}
}

/// Install the global logger. Falls back to stderr (with a warning) when
/// syslog cannot be reached. Calling it twice keeps the first logger.
pub fn init(sink: Sink, level: LevelFilter) {
    let installed = match sink {
        Sink::Syslog => match SyslogLogger::new(Path::new(DEV_LOG)) {
            Ok(logger) => log::set_boxed_logger(Box::new(logger)).is_ok(),
            Err(e) => {
                let ok = log::set_logger(&StderrLogger).is_ok();
                log::set_max_level(level);
                log::warn!("syslog unavailable ({e}); logging to stderr");
                ok
            }
        },
        Sink::Stderr => log::set_logger(&StderrLogger).is_ok(),
    };
    if installed {
        log::set_max_level(level);
    }
}

/// The level to log at: the configured one, raised by `-v` (`verbose`
/// times).
pub fn level_for(configured: LevelFilter, verbose: u8) -> LevelFilter {
    match verbose {
        0 => configured,
        1 => configured.max(LevelFilter::Debug),
        _ => LevelFilter::Trace,
    }
}

/// Change the level at run time (config reload).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn syslog_lines() {
        assert_eq!(
            format_3164(Level::Info, 42, "uplink: link up"),
            b"<30>warden[42]: uplink: link up"
        );
        assert_eq!(format_3164(Level::Error, 1, "a\nb")[..5], *b"<27>w");
        assert!(!format_3164(Level::Warn, 1, "a\nb\tc").contains(&b'\n'));
    }

    #[test]
    fn records_reach_the_socket_and_survive_a_syslogd_restart() {
        let dir = std::env::temp_dir().join(format!("warden-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let logger = SyslogLogger::new(&path).unwrap();
        let rec = |msg: &str| {
            logger.log(
                &Record::builder()
                    .level(Level::Warn)
                    .args(format_args!("{msg}"))
                    .build(),
            )
        };
        // Every receive has a deadline: a lost record fails, never hangs.
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        rec("first");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"<28>warden["));
        assert!(buf[..n].ends_with(b"]: first"));
        // syslogd restarts: a new socket at the same path.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        let server = UnixDatagram::bind(&path).unwrap();
        // A process another test forked in the meantime may still hold the
        // old socket until its exec, and a record sent then goes there:
        // send again until the new socket has one (the logger reconnects
        // on the first send the old socket refuses).
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let got = (0..100).find_map(|_| {
            rec("second");
            let n = server.recv(&mut buf).ok()?;
            Some(buf[..n].to_vec())
        });
        assert!(got
            .expect("no record after the restart")
            .ends_with(b"]: second"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
