//! `warden modem switch` and `warden modem ports`: wake a USB stick from
//! storage mode and find its PPP and AT ports.

use super::args::{flag, many, opt, Cmd, Level};
use super::{Fail, Globals};
use crate::config::Config;
use crate::sys::log::{self as wlog, Sink};
use crate::uplink::ports::{self, Overrides};
use crate::uplink::usb::device::{Clock, SystemClock, Usb};
use crate::uplink::usb::load;
#[cfg(feature = "sim")]
use crate::uplink::usb::sim::{Behavior, SimUsb};
use crate::uplink::usb::switch::{self, Options};
use crate::uplink::usb::usbfs::UsbFs;
use crate::uplink::usb::{Table, UsbId};
use std::path::{Path, PathBuf};

/// switch a USB modem from storage mode to modem mode and wait for it
#[derive(Debug)]
pub struct SwitchCmd {
    /// the device to switch, vvvv:pppp (default: the first one the switch
    /// table knows)
    vid_pid: Option<UsbId>,

    /// how long to wait for the modem to come back: 20s, 1m (default: the
    /// uplink's switch_timeout, 20s)
    timeout: Option<super::grammar::Dur>,

    /// usb-modeswitch data: a directory, a data file, usb-mode.json or
    /// configPack.tar.gz (repeatable; default: the uplink's modeswitch_data,
    /// else /etc/usb_modeswitch.d, /etc/usb-mode.json and Debian's data)
    data: Vec<PathBuf>,

    /// only read the switch data and report what it holds
    check: bool,

    /// switch the built-in simulated E367 instead of real hardware
    simulate: bool,
}

/// list a modem's serial ports and which one is PPP and which AT
#[derive(Debug)]
pub struct PortsCmd {
    /// print JSON
    json: bool,

    /// sysfs root (default /sys)
    sysfs: PathBuf,

    /// where the tty nodes are (default /dev)
    dev: PathBuf,

    /// only this device, vvvv:pppp
    vid_pid: Option<UsbId>,
}

fn setup(g: &Globals) -> Result<Config, Fail> {
    wlog::init(Sink::Stderr, log::LevelFilter::Warn);
    let cfg = g.load_config()?;
    wlog::set_level(g.log_level(&cfg));
    Ok(cfg)
}

impl SwitchCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let cfg = setup(g)?;
        let (paths, explicit) = if !self.data.is_empty() {
            (self.data.clone(), true)
        } else if !cfg.uplink.modeswitch_data.is_empty() {
            (cfg.uplink.modeswitch_data.clone(), true)
        } else {
            (load::default_paths(), false)
        };
        let (table, errors) = load::table(&paths, explicit)?;
        if self.check {
            return check(&table, &errors, &paths);
        }
        for e in &errors {
            log::warn!("switch data: {e}");
        }
        let timeout = self
            .timeout
            .map(|d| d.0)
            .unwrap_or(cfg.uplink.switch_timeout);
        let opts = Options {
            timeout,
            ..Options::default()
        };
        let clock = SystemClock::default();
        let ov = overrides(&cfg);
        if self.simulate {
            #[cfg(feature = "sim")]
            {
                let mut usb = SimUsb::new(clock, Behavior::Switches, vec![])?;
                let dev = usb.dev_root().to_path_buf();
                return run_switch(&mut usb, &clock, &table, self.vid_pid, &opts, &dev, &ov);
            }
            #[cfg(not(feature = "sim"))]
            return Err(Fail::msg(
                "this warden was built without the simulator (cargo feature 'sim')",
            ));
        }
        let mut usb = UsbFs::default();
        run_switch(
            &mut usb,
            &clock,
            &table,
            self.vid_pid,
            &opts,
            Path::new("/dev"),
            &ov,
        )
    }
}

fn overrides(cfg: &Config) -> Overrides {
    Overrides {
        device: cfg.uplink.device.clone(),
        control_device: cfg.uplink.control_device.clone(),
    }
}

fn check(
    table: &Table,
    errors: &[crate::uplink::usb::table::TableError],
    paths: &[PathBuf],
) -> Result<(), Fail> {
    let from_files = table
        .entries
        .iter()
        .filter(|e| e.source != crate::uplink::usb::table::Source::BuiltIn)
        .count();
    let plannable = table.entries.iter().filter(|e| e.plan().is_ok()).count();
    let shown: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    println!(
        "{} entries ({} from {}, {} built in), {} can be switched, {} errors",
        table.entries.len(),
        from_files,
        shown.join(", "),
        table.entries.len() - from_files,
        plannable,
        errors.len()
    );
    for e in errors {
        println!("error: {e}");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Fail::msg(format!(
            "{} bad switch data entries",
            errors.len()
        )))
    }
}

/// `3.1s`, without pulling float formatting into the binary.
fn run_switch(
    usb: &mut dyn Usb,
    clock: &dyn Clock,
    table: &Table,
    want: Option<UsbId>,
    opts: &Options,
    dev_root: &Path,
    ov: &Overrides,
) -> Result<(), Fail> {
    let o = switch::switch(usb, clock, table, want, opts)?;
    match (&o.from, &o.to) {
        (None, Some(to)) => println!("{to} is already in modem mode"),
        (Some(from), Some(to)) => println!(
            "switched {from} -> {to} in {}{}",
            crate::uplink::status::tenths(o.elapsed),
            if o.bound_option {
                " (option driver bound via new_id)"
            } else {
                ""
            }
        ),
        (Some(from), None) => println!(
            "{from} left storage mode in {} (no target id known to check)",
            crate::uplink::status::tenths(o.elapsed)
        ),
        (None, None) => {}
    }
    if let Some(to) = &o.to {
        if !o.ttys.is_empty() {
            print!(
                "{}",
                ports::classify(to, &o.ttys, dev_root)
                    .with_overrides(ov)
                    .to_text()
            );
        }
    }
    Ok(())
}

impl PortsCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let cfg = setup(g)?;
        let ov = overrides(&cfg);
        let found: Vec<_> = ports::discover(&self.sysfs, &self.dev, self.vid_pid)?
            .into_iter()
            .map(|p| p.with_overrides(&ov))
            .collect();
        if self.json {
            let items: Vec<String> = found.iter().map(|p| p.to_json()).collect();
            println!("[{}]", items.join(","));
        } else {
            for p in &found {
                print!("{}", p.to_text());
            }
        }
        if found.is_empty() {
            let what = match self.vid_pid {
                Some(id) => format!("USB device {id} with serial ports"),
                None => "USB device with serial ports".into(),
            };
            return Err(Fail::msg(format!(
                "no {what} under {}",
                self.sysfs.join("bus/usb/devices").display()
            )));
        }
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const SWITCH: Cmd = Cmd::leaf(
    "switch",
    "switch a USB modem from storage mode to modem mode and wait for it",
    &[
        opt(
            "vid-pid",
            "the device to switch, vvvv:pppp (default: the first one the switch table knows)",
        ),
        opt(
            "timeout",
            "how long to wait for the modem to come back: 20s, 1m (default: the uplink's \
             switch_timeout, 20s)",
        ),
        many(
            "data",
            "usb-modeswitch data: a directory, a data file, usb-mode.json or configPack.tar.gz \
             (repeatable; default: the uplink's modeswitch_data, else /etc/usb_modeswitch.d, \
             /etc/usb-mode.json and Debian's data)",
        ),
        flag(
            "check",
            "only read the switch data and report what it holds",
        ),
        flag(
            "simulate",
            "switch the built-in simulated E367 instead of real hardware",
        ),
    ],
);
pub const PORTS: Cmd = Cmd::leaf(
    "ports",
    "list a modem's serial ports and which one is PPP and which AT",
    &[
        flag("json", "print JSON"),
        opt("sysfs", "sysfs root (default /sys)"),
        opt("dev", "where the tty nodes are (default /dev)"),
        opt("vid-pid", "only this device, vvvv:pppp"),
    ],
);

/// `--vid-pid`.
fn vid_pid(a: &Level) -> Result<Option<UsbId>, Fail> {
    a.opt("vid-pid")
        .map(|v| v.parse().map_err(|e: String| a.bad("vid-pid", &v, &e)))
        .transpose()
}

/// `modem switch` from the words [`SWITCH`] took.
pub fn switch(a: &Level) -> Result<SwitchCmd, Fail> {
    Ok(SwitchCmd {
        vid_pid: vid_pid(a)?,
        timeout: a.dur("timeout")?,
        data: a.paths("data"),
        check: a.flag("check"),
        simulate: a.flag("simulate"),
    })
}

/// `modem ports` from the words [`PORTS`] took.
pub fn ports(a: &Level) -> Result<PortsCmd, Fail> {
    Ok(PortsCmd {
        json: a.flag("json"),
        sysfs: a.path_or("sysfs", "/sys"),
        dev: a.path_or("dev", "/dev"),
        vid_pid: vid_pid(a)?,
    })
}
