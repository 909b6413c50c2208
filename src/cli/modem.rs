//! `warden modem ...`: talk to the 3G modem's AT port.
//!
//! Each subcommand is a struct with its own `run`; adding one is one
//! variant in [`What`], its table in [`CMD`], and one arm each in
//! [`parse`] and [`ModemCmd::run`].

use super::args::{flag, opt, pos, req, Cmd, Parsed};
use super::{Fail, Globals};
use crate::uplink::modem::pin::{self, Pin, PinStore, Policy, Unlocked};
use crate::uplink::modem::{Info, Modem};
#[cfg(feature = "sim")]
use crate::uplink::sim::{SimConfig, SimModem};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// talk to the 3G modem (identity, SIM, signal, raw AT commands)
#[derive(Debug)]
pub struct ModemCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Info(InfoCmd),
    At(AtCmd),
    Pin(PinCmd),
    #[cfg(feature = "sim")]
    Sim(SimCmd),
    Switch(super::modem_usb::SwitchCmd),
    Ports(super::modem_usb::PortsCmd),
}

impl ModemCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let level = match g.verbose {
            0 => log::LevelFilter::Warn,
            1 => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        };
        crate::sys::log::init(crate::sys::log::Sink::Stderr, level);
        match self.what {
            What::Info(c) => c.run(g),
            What::At(c) => c.run(g),
            What::Pin(c) => c.run(g),
            #[cfg(feature = "sim")]
            What::Sim(c) => c.run(g),
            What::Switch(c) => c.run(g),
            What::Ports(c) => c.run(g),
        }
    }
}

/// show the modem's identity, SIM state, registration and signal
#[derive(Debug)]
struct InfoCmd {
    /// the modem's AT port (e.g. /dev/ttyUSB2)
    device: PathBuf,
    /// print one JSON object instead of key: value lines
    json: bool,
}

/// A value in `modem info`'s output.
enum Val {
    Text(String),
    Num(i64),
    Unknown,
}

fn text(v: Option<impl ToString>) -> Val {
    v.map_or(Val::Unknown, |s| Val::Text(s.to_string()))
}

fn num(v: Option<impl Into<i64>>) -> Val {
    v.map_or(Val::Unknown, |n| Val::Num(n.into()))
}

/// The fields of `warden modem info`, in order.
fn info_fields(i: &Info) -> Vec<(&'static str, Val)> {
    let id = &i.identity;
    vec![
        ("manufacturer", text(id.manufacturer.as_ref())),
        ("model", text(id.model.as_ref())),
        ("revision", text(id.revision.as_ref())),
        ("imei", text(id.imei.as_ref())),
        ("iccid", text(i.iccid.as_ref())),
        ("sim", text(i.sim.as_ref())),
        ("pin_attempts", num(i.pin_attempts.map(|c| c.pin))),
        ("puk_attempts", num(i.pin_attempts.and_then(|c| c.puk))),
        (
            "registration",
            text(i.registration.as_ref().map(|r| r.stat)),
        ),
        (
            "gprs_registration",
            text(i.gprs_registration.as_ref().map(|r| r.stat)),
        ),
        (
            "operator",
            text(i.operator.as_ref().and_then(|o| o.name.as_ref())),
        ),
        (
            "technology",
            text(i.operator.as_ref().and_then(|o| o.technology())),
        ),
        ("mode", text(i.mode.as_ref())),
        ("signal_csq", num(i.signal.map(|s| s.rssi))),
        ("signal_dbm", num(i.signal.and_then(|s| s.dbm()))),
    ]
}

/// JSON string escaping (RFC 8259).
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn render_info(i: &Info, json: bool) -> String {
    let fields = info_fields(i);
    if json {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Val::Text(s) => json_str(s),
                    Val::Num(n) => n.to_string(),
                    Val::Unknown => "null".into(),
                };
                format!("{}:{v}", json_str(k))
            })
            .collect();
        return format!("{{{}}}\n", body.join(","));
    }
    let mut out = String::new();
    for (k, v) in fields {
        match v {
            Val::Text(s) => out.push_str(&format!("{k}: {s}\n")),
            Val::Num(n) => out.push_str(&format!("{k}: {n}\n")),
            // Attempt counters only when the modem tells them.
            Val::Unknown if k.ends_with("_attempts") => {}
            Val::Unknown => out.push_str(&format!("{k}: unknown\n")),
        }
    }
    out
}

impl InfoCmd {
    fn run(self, _g: &Globals) -> Result<(), Fail> {
        let mut m = Modem::open(&self.device)?;
        m.init()?;
        let info = m.info()?;
        print!("{}", render_info(&info, self.json));
        Ok(())
    }
}

/// send one AT command and print the response lines and the final result
#[derive(Debug)]
struct AtCmd {
    /// the modem's AT port (e.g. /dev/ttyUSB2)
    device: PathBuf,
    /// how long to wait for the final result: 500ms, 10s (default 10s)
    timeout: super::grammar::Dur,
    /// the command, e.g. AT+CSQ
    command: String,
}

impl AtCmd {
    fn run(self, _g: &Globals) -> Result<(), Fail> {
        let cmd = self.command.trim();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("AT+CPIN=")
            || upper.starts_with("AT+CPWD")
            || upper.starts_with("AT+CLCK")
        {
            return Err(Fail::Usage(
                "PIN commands are not sent raw; use 'warden modem pin', which protects the SIM"
                    .into(),
            ));
        }
        let mut m = Modem::open(&self.device)?;
        let r = m.at(cmd, self.timeout.0)?;
        let mut out = std::io::stdout().lock();
        for l in &r.lines {
            writeln!(out, "{l}")?;
        }
        writeln!(out, "{}", r.result)?;
        out.flush()?;
        if r.result.is_success() {
            Ok(())
        } else {
            Err(Fail::msg(format!("{cmd}: {}", r.result)))
        }
    }
}

/// enter the SIM PIN safely (from --pin, else a prompt without echo, else
/// one line of standard input): never the last attempt unless --force,
/// never a PIN the SIM rejected before, never a PUK
#[derive(Debug)]
struct PinCmd {
    /// the modem's AT port (e.g. /dev/ttyUSB2)
    device: PathBuf,
    /// the PIN (visible to other users in the process list: prefer stdin
    /// or the prompt)
    pin: Option<String>,
    /// allow spending the last PIN attempt, or one the modem does not
    /// count (a PIN the SIM rejected before is refused even so)
    force: bool,
    /// file remembering PINs the SIM rejected (default
    /// <state_dir>/pin-rejected, state_dir from the configuration:
    /// /etc/warden)
    state: Option<PathBuf>,
}

/// Read the PIN: a prompt without echo on a terminal, else one line.
fn read_pin() -> Result<Zeroizing<String>, Fail> {
    let stdin = std::io::stdin();
    let fd = 0;
    // SAFETY: isatty on our standard input.
    let tty = unsafe { libc::isatty(fd) } == 1;
    let mut saved: Option<libc::termios> = None;
    if tty {
        // SAFETY: tcgetattr/tcsetattr on our own terminal with a local
        // termios; the old settings are restored below.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) == 0 {
                saved = Some(t);
                t.c_lflag &= !libc::ECHO;
                t.c_lflag |= libc::ECHONL;
                libc::tcsetattr(fd, libc::TCSANOW, &t);
            }
        }
        // Echo is off before the prompt invites typing.
        eprint!("SIM PIN: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = Zeroizing::new(String::new());
    let r = stdin.lock().read_line(&mut line);
    if let Some(t) = saved {
        // SAFETY: restoring the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) };
    }
    match r {
        Ok(0) => Err(Fail::Usage("no PIN given (stdin was empty)".into())),
        Ok(_) => Ok(line),
        Err(e) => Err(e.into()),
    }
}

impl PinCmd {
    fn run(self, g: &Globals) -> Result<(), Fail> {
        let state = match self.state {
            Some(s) => s,
            None => g.load_config()?.main.pin_store(),
        };
        let text = match &self.pin {
            Some(p) => Zeroizing::new(p.clone()),
            None => read_pin()?,
        };
        let pin = Pin::new(&text).map_err(|e| Fail::Usage(e.to_string()))?;
        drop(text);
        let mut store = PinStore::open(&state)?;
        let mut m = Modem::open(&self.device)?;
        m.init()?;
        let policy = Policy { force: self.force };
        match pin::unlock(&mut m, &pin, &mut store, policy)? {
            Unlocked::AlreadyReady => println!("sim: ready (no PIN needed)"),
            Unlocked::Accepted => println!("sim: ready (PIN accepted)"),
        }
        Ok(())
    }
}

#[cfg(feature = "sim")]
/// run a simulated Huawei E367 on a pseudo-terminal and print its path
#[derive(Debug)]
struct SimCmd {
    /// the SIM's PIN (default 1234)
    pin: String,
    /// the SIM asks for no PIN
    no_pin: bool,
    /// do not answer AT^CPIN? (attempts unknown)
    no_cpin: bool,
    /// delay every reply by this long: 200ms, 1s (default none)
    slow: super::grammar::Dur,
    /// unsolicited codes in the middle of replies and every second
    chatty: bool,
    /// garbage bytes around replies
    garbage: bool,
    /// drop every N-th byte sent
    drop: Option<u32>,
    /// vanish when this command (prefix) arrives, e.g. AT+CSQ
    vanish_on: Option<String>,
}

#[cfg(feature = "sim")]
impl SimCmd {
    fn run(self, _g: &Globals) -> Result<(), Fail> {
        let cfg = SimConfig {
            pin: (!self.no_pin).then_some(self.pin),
            huawei_cpin: !self.no_cpin,
            reply_delay: self.slow.0,
            urc_mid_response: self.chatty,
            urc_interval: self.chatty.then_some(Duration::from_secs(1)),
            garbage: self.garbage,
            drop_every: self.drop,
            vanish_on: self.vanish_on.map(|s| s.to_ascii_uppercase()),
            ..SimConfig::default()
        };
        let pin = cfg.pin.clone();
        let sim = SimModem::spawn(cfg)?;
        eprintln!(
            "warden: simulated Huawei E367 on {} (SIM PIN {}); Ctrl-C stops it",
            sim.path().display(),
            pin.as_deref().unwrap_or("none")
        );
        println!("{}", sim.path().display());
        std::io::stdout().flush()?;
        // Runs until the device vanishes or the process is stopped.
        sim.wait();
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "modem",
    "talk to the 3G modem (identity, SIM, signal, raw AT commands)",
    &[
        INFOCMD,
        ATCMD,
        PINCMD,
        SIMCMD,
        super::modem_usb::SWITCH,
        super::modem_usb::PORTS,
    ],
);
const INFOCMD: Cmd = Cmd::leaf(
    "info",
    "show the modem's identity, SIM state, registration and signal",
    &[
        req("device", "the modem's AT port (e.g. /dev/ttyUSB2)"),
        flag("json", "print one JSON object instead of key: value lines"),
    ],
);
const ATCMD: Cmd = Cmd::leaf(
    "at",
    "send one AT command and print the response lines and the final result",
    &[
        req("device", "the modem's AT port (e.g. /dev/ttyUSB2)"),
        opt(
            "timeout",
            "how long to wait for the final result: 500ms, 10s (default 10s)",
        ),
        pos("command", "the command, e.g. AT+CSQ"),
    ],
);
const PINCMD: Cmd = Cmd::leaf(
    "pin",
    "enter the SIM PIN safely (from --pin, else a prompt without echo, else one line of standard \
     input): never the last attempt unless --force, never a PIN the SIM rejected before, never a \
     PUK",
    &[
        req("device", "the modem's AT port (e.g. /dev/ttyUSB2)"),
        opt(
            "pin",
            "the PIN (visible to other users in the process list: prefer stdin or the prompt)",
        ),
        flag(
            "force",
            "allow spending the last PIN attempt, or one the modem does not count (a PIN the SIM \
             rejected before is refused even so)",
        ),
        opt(
            "state",
            "file remembering PINs the SIM rejected (default <state_dir>/pin-rejected, state_dir \
             from the configuration: /etc/warden)",
        ),
    ],
);
const SIMCMD: Cmd = Cmd::only(
    cfg!(feature = "sim"),
    Cmd::leaf(
        "sim",
        "run a simulated Huawei E367 on a pseudo-terminal and print its path",
        &[
            opt("pin", "the SIM's PIN (default 1234)"),
            flag("no-pin", "the SIM asks for no PIN"),
            flag("no-cpin", "do not answer AT^CPIN? (attempts unknown)"),
            opt(
                "slow",
                "delay every reply by this long: 200ms, 1s (default none)",
            ),
            flag(
                "chatty",
                "unsolicited codes in the middle of replies and every second",
            ),
            flag("garbage", "garbage bytes around replies"),
            opt("drop", "drop every N-th byte sent"),
            opt(
                "vanish-on",
                "vanish when this command (prefix) arrives, e.g. AT+CSQ",
            ),
        ],
    ),
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<ModemCmd, Fail> {
    let a = p.leaf();
    Ok(ModemCmd {
        what: match p.sub(2) {
            "info" => What::Info(InfoCmd {
                device: a.path("device"),
                json: a.flag("json"),
            }),
            "at" => What::At(AtCmd {
                device: a.path("device"),
                timeout: a
                    .dur("timeout")?
                    .unwrap_or(super::grammar::Dur(Duration::from_secs(10))),
                command: a.string("command"),
            }),
            "pin" => What::Pin(PinCmd {
                device: a.path("device"),
                pin: a.opt("pin"),
                force: a.flag("force"),
                state: a.opt_path("state"),
            }),
            #[cfg(feature = "sim")]
            "sim" => What::Sim(SimCmd {
                pin: a.string_or("pin", "1234"),
                no_pin: a.flag("no-pin"),
                no_cpin: a.flag("no-cpin"),
                slow: a
                    .dur("slow")?
                    .unwrap_or(super::grammar::Dur(Duration::ZERO)),
                chatty: a.flag("chatty"),
                garbage: a.flag("garbage"),
                drop: a.u32("drop")?,
                vanish_on: a.opt("vanish-on"),
            }),
            "switch" => What::Switch(super::modem_usb::switch(a)?),
            "ports" => What::Ports(super::modem_usb::ports(a)?),
            _ => return Err(p.unknown()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::modem::commands::{PinCounters, Signal, SimState};

    #[test]
    fn info_text_and_json() {
        let mut i = Info::default();
        i.identity.model = Some("E\"367".into());
        i.sim = Some(SimState::Pin);
        i.signal = Some(Signal { rssi: 17, ber: 99 });
        let t = render_info(&i, false);
        assert!(t.contains("model: E\"367\n"));
        assert!(t.contains("sim: pin-required\n"));
        assert!(t.contains("signal_dbm: -79\n"));
        assert!(t.contains("operator: unknown\n"));
        assert!(!t.contains("pin_attempts"));
        i.pin_attempts = Some(PinCounters { pin: 2, puk: None });
        assert!(render_info(&i, false).contains("pin_attempts: 2\n"));
        let j = render_info(&i, true);
        assert!(
            j.starts_with("{\"manufacturer\":null,\"model\":\"E\\\"367\","),
            "{j}"
        );
        assert!(j.contains("\"pin_attempts\":2,"));
        assert!(j.ends_with("\"signal_dbm\":-79}\n"));
        assert_eq!(json_str("a\nb\\"), "\"a\\u000ab\\\\\"");
    }
}
