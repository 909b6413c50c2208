//! The plant: the world the supervisor acts on, and the steps the real and
//! the simulated worlds share (scan a bus, find the ports, switch, prepare
//! the modem, read its status, check DNS, read pppd's exit).
//!
//! [`RealPlant`] drives USB through usbdevfs, sysfs, the modem's ttys, pppd
//! and real DNS servers; `uplink::sim::world` does the same against a
//! simulated E367 with the same steps. The service loop
//! (`uplink/service.rs`) only sees the [`Plant`] trait.

use super::backoff::Rng;
use super::ladder::Rung;
use super::modem::pin::{self, Pin, PinError, PinStore, Policy};
use super::modem::{commands as c, Modem};
use super::ppp::args;
use super::ppp::exit::{self, classify, Class};
use super::ppp::run::{Child, ProcessSpawner, Spawn};
use super::recover;
use super::supervisor::{Cause, Device, DnsHealth, Exit, ModemStatus, PlantError, Ports};
use super::usb::device::{SystemClock, Usb};
use super::usb::switch;
use super::usb::usbfs::UsbFs;
use super::usb::{load, Table};
use crate::config::{Config, Uplink};
use crate::dns::check::{self, Health, Source, Timing};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A running pppd (or a simulated one).
pub type PppChild = Box<dyn Child + Send>;

/// The world the supervisor acts on.
pub trait Plant: Send {
    /// Is a modem there, and in which mode?
    fn scan(&mut self) -> Device;
    fn switch(&mut self) -> Result<(), PlantError>;
    fn ports(&mut self) -> Result<Ports, PlantError>;
    /// SIM, PIN (safely), network mode, APN; identity and registration.
    fn prepare(&mut self, at: &Path) -> Result<ModemStatus, Exit>;
    /// Registration, operator and signal now.
    fn refresh(&mut self, at: &Path) -> Option<ModemStatus>;
    /// Climb one rung of the recovery ladder (`ladder.rs`); `at`: the AT
    /// port last used, which also names the modem's USB device.
    fn reset(&mut self, rung: Rung, at: Option<&Path>) -> Result<(), PlantError>;
    fn spawn_pppd(&mut self, ppp: &Path) -> Result<PppChild, Exit>;
    /// One verdict per server, within the probe timeout.
    fn check_dns(&mut self, servers: &[IpAddr]) -> Vec<DnsHealth>;
    /// The PPP interface's byte counters (rx, tx); None: no interface.
    fn counters(&mut self) -> Option<(u64, u64)>;
    /// Where state kept across restarts and reboots goes (the data
    /// quota's usage file).
    fn state_dir(&self) -> PathBuf;
    /// An SMS or USSD request on the AT port (free while PPP runs on the
    /// other): the answer for people, `error: ...` when it failed.
    fn messaging(&mut self, at: &Path, request: &str) -> String {
        match crate::uplink::modem::Modem::open(at) {
            Ok(mut m) => messaging(&mut m, request).unwrap_or_else(|e| format!("error: {e}\n")),
            Err(e) => format!("error: {e}\n"),
        }
    }
}

/// Carry out one SMS or USSD request (see [`Plant::messaging`]). Listing
/// shows each message's sender and length, not its text; `read` shows
/// it whole (a concatenated message's parts joined).
pub fn messaging<P: crate::uplink::modem::Port>(
    m: &mut crate::uplink::modem::Modem<P>,
    request: &str,
) -> Result<String, String> {
    use crate::uplink::modem::sms;
    use std::fmt::Write;
    let words: Vec<&str> = request.split(' ').collect();
    let index = |w: Option<&&str>| -> Result<u32, String> {
        w.and_then(|v| v.parse().ok())
            .ok_or_else(|| "expected a message number".to_string())
    };
    let find = |m: &mut crate::uplink::modem::Modem<P>, n: u32| -> Result<sms::Message, String> {
        let all = m.sms_list().map_err(|e| e.to_string())?;
        sms::reassemble(&all)
            .into_iter()
            .find(|msg| msg.indexes.contains(&n))
            .ok_or_else(|| format!("no message {n}"))
    };
    let mut out = String::new();
    match words.as_slice() {
        ["sms", "list"] => {
            let all = m.sms_list().map_err(|e| e.to_string())?;
            for msg in sms::reassemble(&all) {
                let n: Vec<String> = msg.indexes.iter().map(u32::to_string).collect();
                let _ = write!(
                    out,
                    "{}: from {} at {}, {} characters",
                    n.join(","),
                    msg.sender,
                    msg.time,
                    msg.text.chars().count()
                );
                if msg.unread {
                    out.push_str(", unread");
                }
                if msg.missing > 0 {
                    let _ = write!(out, ", {} part(s) missing", msg.missing);
                }
                out.push('\n');
            }
        }
        ["sms", "read", n] => {
            let msg = find(m, index(Some(n))?)?;
            let _ = write!(
                out,
                "from: {}\ntime: {}\n\n{}\n",
                msg.sender, msg.time, msg.text
            );
        }
        ["sms", "delete", n] => {
            let msg = find(m, index(Some(n))?)?;
            for i in &msg.indexes {
                m.sms_delete(*i).map_err(|e| e.to_string())?;
            }
            let _ = writeln!(out, "deleted {} part(s)", msg.indexes.len());
        }
        ["sms", "send", to, ..] if words.len() > 3 => {
            let text = request.splitn(4, ' ').nth(3).unwrap_or("");
            let reference = crate::sys::random::seed() as u8;
            let refs = m.sms_send(to, text, reference).map_err(|e| e.to_string())?;
            let _ = writeln!(out, "sent in {} part(s)", refs.len());
        }
        ["ussd", code] => {
            let r = m.ussd(code).map_err(|e| e.to_string())?;
            out.push_str(r.text.as_deref().unwrap_or(""));
            out.push('\n');
            match r.m {
                0 | 2 => {}
                1 => out.push_str("(the network waits for an answer)\n"),
                4 => out.push_str("(not supported by the network)\n"),
                n => {
                    let _ = writeln!(out, "(result {n})");
                }
            }
        }
        _ => return Err(format!("unknown request '{request}'")),
    }
    Ok(out)
}

/// An interface's byte counters from sysfs
/// (`<sys>/class/net/<ifname>/statistics/{rx,tx}_bytes`).
pub fn read_counters(sys: &Path, ifname: &str) -> Option<(u64, u64)> {
    let dir = sys.join("class/net").join(ifname).join("statistics");
    let one = |name: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((one("rx_bytes")?, one("tx_bytes")?))
}

/// What pppd's exit means to the supervisor. An authentication failure
/// (exit 11 or 19) stops the uplink only with `authfail` on, as ppp.sh
/// blocks netifd's restart only then; otherwise it is redialed with
/// backoff like any failure.
pub fn ppp_exit(e: exit::Exit, authfail: bool) -> Exit {
    let (class, what) = classify(e);
    let why = format!("{what} ({e})");
    match class {
        Class::Auth if !authfail => Exit::Transient(format!("{why}; authfail is off: redialing")),
        Class::Auth | Class::Permanent => Exit::Permanent(why),
        Class::Transient | Class::Modem | Class::Stopped => Exit::Transient(why),
    }
}

/// Turn DNS verdicts into the supervisor's form.
pub fn dns_health(servers: &[IpAddr], verdicts: &[Health]) -> Vec<DnsHealth> {
    servers
        .iter()
        .zip(verdicts)
        .map(|(&server, h)| DnsHealth {
            server,
            verdict: h.to_string(),
            healthy: h.is_ok(),
        })
        .collect()
}

/// Check servers handed out by the network: placeholders are bogus
/// unsent, the rest get a real query. `route` may send a server's query
/// elsewhere (the simulated network); None: unreachable.
pub fn check_peer_dns(
    servers: &[IpAddr],
    name: &str,
    timeout: Duration,
    route: impl Fn(IpAddr) -> Option<SocketAddr>,
) -> Vec<DnsHealth> {
    let mut verdicts: Vec<Option<Health>> = vec![None; servers.len()];
    let mut probe = Vec::new();
    let mut at = Vec::new();
    for (i, &ip) in servers.iter().enumerate() {
        if let Some(why) = check::placeholder(ip, Source::Peer) {
            verdicts[i] = Some(Health::Bogus(why));
        } else if let Some(addr) = route(ip) {
            // The address was judged above as the network's; the query may
            // go to a routed stand-in, which is checked as configured.
            let source = if addr.ip() == ip {
                Source::Peer
            } else {
                Source::Configured
            };
            probe.push(check::Server { addr, source });
            at.push(i);
        } else {
            verdicts[i] = Some(Health::NoAnswer);
        }
    }
    if !probe.is_empty() {
        let timing = Timing {
            timeout,
            ..Timing::default()
        };
        let mut rng = Rng::new(crate::sys::random::seed());
        match check::check_all(&probe, name, timing, || rng.next_u16()) {
            Ok(v) => {
                for (h, &i) in v.into_iter().zip(&at) {
                    verdicts[i] = Some(h);
                }
            }
            Err(e) => {
                for &i in &at {
                    verdicts[i] = Some(Health::Error(e.to_string()));
                }
            }
        }
    }
    let verdicts: Vec<Health> = verdicts
        .into_iter()
        .map(|v| v.unwrap_or(Health::NoAnswer))
        .collect();
    dns_health(servers, &verdicts)
}

fn registration_text(r: &c::Registration) -> String {
    r.stat.to_string()
}

/// Read registration, operator and signal from an open modem.
pub fn modem_status<P: super::modem::driver::Port>(
    m: &mut Modem<P>,
    base: ModemStatus,
) -> ModemStatus {
    let mut s = base;
    if let Ok(r) = m.registration() {
        s.registration = registration_text(&r);
    }
    if let Ok(o) = m.operator() {
        s.operator = o.name.clone().unwrap_or_default();
        s.mode = o.technology().unwrap_or_default().to_string();
    }
    if let Ok(sig) = m.signal() {
        s.signal_dbm = sig.dbm();
    }
    s
}

/// [`modem_status`], and the new messages the modem announced (`+CMTI`)
/// since the port was last read: each read, logged by sender and length
/// (its text only with `sms_log_text`), written to `sms_spool` when set.
pub fn refresh_modem<P: super::modem::driver::Port>(m: &mut Modem<P>, u: &Uplink) -> ModemStatus {
    let mut s = modem_status(m, ModemStatus::default());
    for index in m.announced_sms() {
        match m.sms_read(index) {
            Ok(st) => {
                s.new_sms += 1;
                note_sms(&st.msg, index, u);
            }
            Err(e) => log::warn!("uplink: new SMS {index}: {e}"),
        }
    }
    s
}

fn note_sms(msg: &super::modem::sms::Deliver, index: u32, u: &Uplink) {
    let part = msg
        .concat
        .map(|c| format!(", part {} of {}", c.seq, c.total))
        .unwrap_or_default();
    let text = match u.sms_log_text {
        true => format!(": {}", msg.text.escape_debug()),
        false => String::new(),
    };
    log::info!(
        "uplink: new SMS {index} from {} ({} characters{part}){text}",
        msg.sender,
        msg.text.chars().count()
    );
    if let Some(dir) = &u.sms_spool {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let file = dir.join(format!("{secs}-{index}.sms"));
        let body = format!("from: {}\ntime: {}\n\n{}\n", msg.sender, msg.time, msg.text);
        if let Err(e) = pin::write_atomic(&file, body.as_bytes()) {
            log::warn!("uplink: sms_spool: {}: {e}", file.display());
        }
    }
}

/// Bring the modem to the point where it can dial: SIM unlocked (never
/// risking the PIN), network mode and APN set, registered.
pub fn prepare_modem<P: super::modem::driver::Port>(
    m: &mut Modem<P>,
    u: &Uplink,
    store_path: &Path,
) -> Result<ModemStatus, Exit> {
    let t = |e: super::modem::ModemError| Exit::Transient(format!("modem: {e}"));
    m.init().map_err(t)?;
    m.set_dialect(u.dialect);
    let id = m.identity().map_err(t)?;
    log::debug!("uplink: AT dialect {}", m.dialect().name());
    let status = m.sim_status().map_err(t)?;
    if status.state != c::SimState::Ready {
        let Some(code) = u.pincode.expose_nonempty() else {
            return Err(Exit::Permanent(format!(
                "the SIM wants {}, and no pincode is configured",
                status.state
            )));
        };
        let pin = Pin::new(code).map_err(|e| Exit::Permanent(format!("pincode: {e}")))?;
        let mut store = PinStore::open(store_path)
            .map_err(|e| Exit::Transient(format!("rejected-PIN store: {e}")))?;
        match pin::unlock(m, &pin, &mut store, Policy::default()) {
            Ok(_) => {}
            Err(e @ (PinError::Refused(_) | PinError::Rejected { .. })) => {
                return Err(Exit::Permanent(e.to_string()))
            }
            Err(e) => return Err(Exit::Transient(e.to_string())),
        }
    }
    // SMS services need the SIM: new messages are announced from here on.
    m.announce_sms().map_err(t)?;
    // The configuration was checked when it was read (uplink::check,
    // with these same functions); what is left here cannot be refused.
    if !u.service.is_empty() && u.service != "auto" {
        let svc =
            c::Service::parse(&u.service).map_err(|e| Exit::Permanent(format!("service {e}")))?;
        m.set_service(svc).map_err(t)?;
    }
    // No APN: the modem's own context 1 is used as it is (comgt's 3g
    // likewise dials without setting one).
    if !u.apn.is_empty() {
        m.set_apn(&u.apn).map_err(t)?;
    }
    let base = ModemStatus {
        manufacturer: id.manufacturer.unwrap_or_default(),
        model: id.model.unwrap_or_default(),
        imei: id.imei.unwrap_or_default(),
        ..ModemStatus::default()
    };
    let s = modem_status(m, base);
    match m.registration() {
        Ok(r) if r.stat.registered() => Ok(s),
        Ok(r) => Err(Exit::Transient(format!(
            "not registered yet ({})",
            registration_text(&r)
        ))),
        Err(e) => Err(t(e)),
    }
}

/// The real world: USB through usbdevfs, sysfs, the modem's ttys, pppd.
/// Present when the kernel has IPv6 (ppp.sh's test).
const KERNEL_IPV6: &str = "/proc/sys/net/ipv6";

pub struct RealPlant {
    cfg: Arc<Config>,
    table: Table,
    usb: UsbFs,
    /// Where the ttys are (`/dev`).
    dev_root: PathBuf,
    warden: PathBuf,
}

impl RealPlant {
    pub fn new(cfg: Arc<Config>) -> RealPlant {
        RealPlant::with_roots(cfg, UsbFs::default(), PathBuf::from("/dev"))
    }

    /// The real plant on other roots: sysfs and usbdevfs (`usb`), the
    /// ttys (`dev_root`); tests give it a fake tree.
    pub fn with_roots(cfg: Arc<Config>, usb: UsbFs, dev_root: PathBuf) -> RealPlant {
        let u = &cfg.uplink;
        let (paths, explicit) = if u.modeswitch_data.is_empty() {
            (load::default_paths(), false)
        } else {
            (u.modeswitch_data.clone(), true)
        };
        let table = match load::table(&paths, explicit) {
            Ok((t, errors)) => {
                for e in errors {
                    log::warn!("uplink: switch data: {e}");
                }
                t
            }
            Err(e) => {
                log::warn!("uplink: switch data: {e}; using the built-in table");
                Table::builtin()
            }
        };
        RealPlant {
            cfg,
            table,
            usb,
            dev_root,
            warden: std::env::current_exe().unwrap_or_else(|_| "/usr/sbin/warden".into()),
        }
    }
}

/// The ports configured as `device` and `control_device`, when both are
/// set: Ok(Some) when both are there as tty devices, to be used as they
/// are, without USB discovery (a modem not on USB, or one whose interface
/// classes no discovery rule knows); Err(why) when one is not there;
/// Ok(None) when not both are set.
pub fn configured_ports(u: &Uplink) -> Result<Option<Ports>, PlantError> {
    let (Some(ppp), Some(at)) = (&u.device, &u.control_device) else {
        return Ok(None);
    };
    tty_device("device", ppp)?;
    tty_device("control_device", at)?;
    Ok(Some(Ports {
        ppp: ppp.clone(),
        at: at.clone(),
    }))
}

/// Is the port configured as `option` there as a tty? A character device
/// is what a tty node is; opening it for AT commands checks the rest.
fn tty_device(option: &str, path: &Path) -> Result<(), PlantError> {
    use std::os::unix::fs::FileTypeExt;
    let why = match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_char_device() => return Ok(()),
        Ok(_) => format!("configured {option} {} is not a tty device", path.display()),
        Err(e) => format!("configured {option} {}: {e}", path.display()),
    };
    Err(PlantError::new(Cause::Config, why))
}

/// Scan for a modem: the configured ports when both are there, else a
/// USB device the table would switch, or one with PPP and AT ports. A
/// [`Device::None`] says what was looked for and why it was not found.
pub fn scan_bus(usb: &mut dyn Usb, table: &Table, dev_root: &Path, u: &Uplink) -> Device {
    let configured = match configured_ports(u) {
        Ok(Some(_)) => return Device::InModemMode,
        Ok(None) => None,
        Err(why) => Some(why.to_string()),
    };
    let none = |why: String| {
        Device::None(match &configured {
            Some(c) => format!("{c}; {why}"),
            None => why,
        })
    };
    let devs = match usb.devices() {
        Ok(d) => d,
        Err(e) => return none(e.to_string()),
    };
    if devs.iter().any(|d| {
        table
            .lookup(d.id, &d.strings)
            .is_some_and(|e| !e.is_target(d.id) && d.effective_class() == 8)
    }) {
        return Device::NeedsSwitch;
    }
    match super::ports::discover(usb.sysfs_root(), dev_root, None) {
        Ok(found) if found.iter().any(|p| p.ppp.is_some() && p.at.is_some()) => Device::InModemMode,
        Ok(_) => none(format!(
            "no USB modem ({} USB devices, none with a PPP and an AT tty, none the switch table knows)",
            devs.len()
        )),
        Err(e) => none(e.to_string()),
    }
}

/// Find the PPP and AT ports: both configured ones as they are (no USB
/// discovery), else discovered from sysfs with any configured one winning.
pub fn find_ports(sysfs_root: &Path, dev_root: &Path, u: &Uplink) -> Result<Ports, PlantError> {
    if let Some(p) = configured_ports(u)? {
        return Ok(p);
    }
    let ov = super::ports::Overrides {
        device: u.device.clone(),
        control_device: u.control_device.clone(),
    };
    let found = super::ports::discover(sysfs_root, dev_root, None)
        .map_err(|e| PlantError::other(e.to_string()))?;
    for p in found {
        let p = p.with_overrides(&ov);
        if let (Some(ppp), Some(at)) = (p.ppp, p.at) {
            return Ok(Ports { ppp, at });
        }
    }
    Err(PlantError::new(
        Cause::Gone,
        "no modem with both a PPP and an AT port",
    ))
}

/// Switch whatever the table knows, bounded by `timeout`.
pub fn switch_bus(usb: &mut dyn Usb, table: &Table, timeout: Duration) -> Result<(), PlantError> {
    let opts = switch::Options {
        timeout,
        ..switch::Options::default()
    };
    let clock = SystemClock::default();
    switch::switch(usb, &clock, table, None, &opts)
        .map(|o| {
            if let (Some(from), Some(to)) = (&o.from, &o.to) {
                log::info!(
                    "uplink: switched {from} -> {to} in {}",
                    super::status::tenths(o.elapsed)
                );
            }
        })
        .map_err(|e| {
            use super::usb::device::UsbError;
            let cause = match e.fault() {
                switch::SwitchFault::NotFound(_) => Cause::Gone,
                switch::SwitchFault::DidNotVanish { .. }
                | switch::SwitchFault::NoTarget { .. }
                | switch::SwitchFault::Op {
                    err: UsbError::Timeout,
                    ..
                } => Cause::Timeout,
                switch::SwitchFault::Usb(UsbError::Unavailable(_) | UsbError::Access(_)) => {
                    Cause::Config
                }
                _ => Cause::Other,
            };
            PlantError::new(cause, e.to_string())
        })
}

/// The modem's reset (AT+CFUN=1,1) on its AT port.
pub fn reset_modem(at: Option<&Path>) -> Result<(), PlantError> {
    reset_modem_within(at, super::modem::Timeouts::default())
}

/// [`reset_modem`] with these command deadlines.
pub fn reset_modem_within(
    at: Option<&Path>,
    timeouts: super::modem::Timeouts,
) -> Result<(), PlantError> {
    use super::modem::driver::{ModemError, ModemFault};
    let at = at.ok_or_else(|| PlantError::other("no AT port known"))?;
    let cause = |e: &ModemError| match e.fault() {
        ModemFault::Vanished { .. } => Cause::Gone,
        ModemFault::Open { source, .. } if source.kind() == io::ErrorKind::NotFound => Cause::Gone,
        ModemFault::Timeout(_) => Cause::Timeout,
        _ => Cause::Other,
    };
    let mut m = Modem::open(at)
        .map_err(|e| PlantError::new(cause(&e), e.to_string()))?
        .with_timeouts(timeouts);
    m.reset()
        .map_err(|e| PlantError::new(cause(&e), e.to_string()))
}

impl Plant for RealPlant {
    fn scan(&mut self) -> Device {
        scan_bus(&mut self.usb, &self.table, &self.dev_root, &self.cfg.uplink)
    }

    fn switch(&mut self) -> Result<(), PlantError> {
        switch_bus(&mut self.usb, &self.table, self.cfg.uplink.switch_timeout)
    }

    fn ports(&mut self) -> Result<Ports, PlantError> {
        find_ports(self.usb.sysfs_root(), &self.dev_root, &self.cfg.uplink)
    }

    fn prepare(&mut self, at: &Path) -> Result<ModemStatus, Exit> {
        let mut m = Modem::open(at).map_err(|e| Exit::Transient(format!("modem: {e}")))?;
        prepare_modem(&mut m, &self.cfg.uplink, &self.cfg.main.pin_store())
    }

    fn refresh(&mut self, at: &Path) -> Option<ModemStatus> {
        let mut m = Modem::open(at).ok()?;
        Some(refresh_modem(&mut m, &self.cfg.uplink))
    }

    fn reset(&mut self, rung: Rung, at: Option<&Path>) -> Result<(), PlantError> {
        let off = self.cfg.uplink.power_off_time;
        let mut pause = std::thread::sleep;
        match rung {
            Rung::Redial => Ok(()),
            Rung::Cfun => reset_modem(at),
            Rung::UsbReset => {
                let d = recover::modem_device(self.usb.sysfs_root(), &self.dev_root, at)?;
                recover::usb_reset(&mut self.usb, &d)
            }
            Rung::PortPower => {
                let d = recover::modem_device(self.usb.sysfs_root(), &self.dev_root, at)?;
                recover::port_power(self.usb.sysfs_root(), &d, &mut pause, off)
            }
            Rung::Gpio => {
                recover::gpio_power(self.cfg.uplink.gpio_power.as_deref(), &mut pause, off)
            }
        }
    }

    fn spawn_pppd(&mut self, ppp: &Path) -> Result<PppChild, Exit> {
        let mut pc = args::PppdConfig::from_config(
            &self.cfg.uplink,
            &self.cfg.main.run_dir,
            ppp,
            &self.warden,
        );
        // As ppp.sh: a kernel without IPv6 gets no +ipv6 (pppd would fail).
        if pc.ipv6 != crate::config::Ipv6::Off && !Path::new(KERNEL_IPV6).exists() {
            log::info!("uplink: ipv6: {KERNEL_IPV6} is missing (a kernel without IPv6): IPv4 only");
            pc.ipv6 = crate::config::Ipv6::Off;
        }
        let cmd = args::build(&pc).map_err(|e| Exit::Permanent(format!("pppd options: {e}")))?;
        let child = ProcessSpawner::default()
            .spawn(&cmd)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                    Exit::Permanent(e.to_string())
                }
                _ => Exit::Transient(e.to_string()),
            })?;
        Ok(Box::new(child))
    }

    fn check_dns(&mut self, servers: &[IpAddr]) -> Vec<DnsHealth> {
        let u = &self.cfg.uplink;
        check_peer_dns(servers, &u.probe_name, u.probe_timeout, |ip| {
            Some(SocketAddr::new(ip, 53))
        })
    }

    fn counters(&mut self) -> Option<(u64, u64)> {
        let u = &self.cfg.uplink;
        let ifname = crate::uplink::ppp::args::ifname(u.pppname.as_deref(), &u.interface);
        read_counters(self.usb.sysfs_root(), &ifname)
    }

    fn state_dir(&self) -> PathBuf {
        self.cfg.main.state_dir.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_counters_from_sysfs() {
        let root = std::env::temp_dir().join(format!("warden-counters-{}", std::process::id()));
        let dir = root.join("class/net/3g-wan/statistics");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rx_bytes"), "123456\n").unwrap();
        std::fs::write(dir.join("tx_bytes"), "789\n").unwrap();
        assert_eq!(read_counters(&root, "3g-wan"), Some((123_456, 789)));
        assert_eq!(read_counters(&root, "3g-lte"), None);
        std::fs::write(dir.join("tx_bytes"), "lots\n").unwrap();
        assert_eq!(read_counters(&root, "3g-wan"), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn placeholders_are_bogus_unsent_and_unroutable_is_no_answer() {
        let servers: Vec<IpAddr> = ["10.11.12.13", "0.0.0.0", "192.0.2.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let out = check_peer_dns(&servers, "example.com", Duration::from_millis(100), |_| {
            None
        });
        assert_eq!(out.len(), 3);
        assert!(out[0].verdict.starts_with("bogus"), "{out:?}");
        assert!(out[1].verdict.starts_with("bogus"));
        assert_eq!(out[2].verdict, "no-answer");
        assert!(out.iter().all(|d| !d.healthy));
    }

    /// A modem that is not on USB (or whose ttys no discovery rule finds):
    /// with both ports configured and there as ttys, they are used as they
    /// are, without USB discovery.
    #[test]
    fn configured_ports_need_no_usb_discovery() {
        use crate::uplink::sim::{SimConfig, SimModem};
        let ppp = SimModem::spawn(SimConfig::default()).unwrap();
        let at = SimModem::spawn(SimConfig::default()).unwrap();
        let text = format!(
            "config uplink\n option device '{}'\n option control_device '{}'\n",
            ppp.path().display(),
            at.path().display()
        );
        let (cfg, _) =
            crate::config::parse(Path::new("t"), &text, &crate::uplink::check::RULES).unwrap();
        let mut plant = RealPlant::new(Arc::new(cfg));
        assert_eq!(plant.scan(), Device::InModemMode);
        assert_eq!(
            plant.ports(),
            Ok(Ports {
                ppp: ppp.path().to_path_buf(),
                at: at.path().to_path_buf(),
            })
        );
    }

    /// A configured port that is not there says so, and what else was
    /// looked for; USB discovery is still tried (a stick may bring it).
    #[test]
    fn missing_configured_ports_say_why() {
        use crate::uplink::sim::{SimConfig, SimModem};
        let ppp = SimModem::spawn(SimConfig::default()).unwrap();
        let t = crate::uplink::usb::tmp::TempDir::new("warden-scan").unwrap();
        let file = t.path().join("plain-file");
        std::fs::write(&file, "").unwrap();
        let mut usb = UsbFs::new(t.path().join("sys"), t.path().join("bus"));
        for (at, says) in [
            (t.path().join("ttyGONE"), "No such file"),
            (file, "is not a tty device"),
        ] {
            let u = Uplink {
                device: Some(ppp.path().to_path_buf()),
                control_device: Some(at.clone()),
                ..Uplink::default()
            };
            let Device::None(why) = scan_bus(&mut usb, &Table::builtin(), t.path(), &u) else {
                panic!("a modem found without its control_device");
            };
            let want = format!("configured control_device {}", at.display());
            assert!(why.starts_with(&want), "{why}");
            assert!(why.contains(says), "{why}");
            assert!(why.contains("no USB devices"), "{why}");
            let e = find_ports(&t.path().join("sys"), t.path(), &u).unwrap_err();
            assert!(e.what.starts_with(&want), "{e}");
            assert_eq!(
                e.cause,
                Cause::Config,
                "a reset cannot fix the configuration"
            );
        }
    }

    /// The daemon's rejected-PIN memory is `<state_dir>/pin-rejected`: a
    /// PIN recorded there as rejected by this SIM is not entered.
    #[test]
    fn the_rejected_pin_memory_is_in_the_state_dir() {
        use crate::uplink::modem::pin::{sim_keys, Pin, PinStore};
        use crate::uplink::sim::{SimConfig, SimModem};
        let state = crate::uplink::usb::tmp::TempDir::new("warden-state").unwrap();
        let sim = SimModem::spawn(SimConfig::default()).unwrap();
        let status = Modem::open(sim.path()).unwrap().sim_status().unwrap();
        let mut store = PinStore::open(&state.path().join("pin-rejected")).unwrap();
        store
            .remember(&sim_keys(&status), &Pin::new("1234").unwrap())
            .unwrap();
        let text = format!(
            "config warden 'main'\n option state_dir '{}'\nconfig uplink\n option pincode 1234\n option apn internet\n",
            state.path().display()
        );
        let (cfg, _) =
            crate::config::parse(Path::new("t"), &text, &crate::uplink::check::RULES).unwrap();
        let mut plant = RealPlant::new(Arc::new(cfg));
        match plant.prepare(sim.path()) {
            Err(Exit::Permanent(e)) => assert!(e.contains("rejected"), "{e}"),
            other => panic!("the PIN remembered in the state dir was entered: {other:?}"),
        }
    }

    /// The real plant's rungs on a fake sysfs/usbdevfs tree: each acts
    /// on the modem that owns the AT port, under the roots it was given.
    #[test]
    fn the_rungs_act_on_the_modem_under_the_given_roots() {
        use crate::uplink::usb::sim::{e367_modem, write_device};
        let t = crate::uplink::usb::tmp::TempDir::new("warden-rungs").unwrap();
        let (sys, bus) = (t.path().join("sys"), t.path().join("dev/bus/usb"));
        write_device(&sys, &e367_modem("1-1", 4, 0, true)).unwrap();
        std::fs::create_dir_all(bus.join("001")).unwrap();
        std::fs::write(bus.join("001/004"), b"").unwrap();
        let port = sys.join("bus/usb/devices/1-0:1.0/usb1-port1");
        std::fs::create_dir_all(&port).unwrap();
        std::fs::write(port.join("disable"), "0").unwrap();
        let gpio = t.path().join("gpio21");
        std::fs::create_dir_all(&gpio).unwrap();
        std::fs::write(gpio.join("value"), "1").unwrap();
        let text = format!(
            "config uplink\n option gpio_power '{}'\n option power_off_time 100ms\n",
            gpio.join("value").display()
        );
        let (cfg, _) =
            crate::config::parse(Path::new("t"), &text, &crate::uplink::check::RULES).unwrap();
        let mut plant =
            RealPlant::with_roots(Arc::new(cfg), UsbFs::new(&sys, &bus), t.path().join("dev"));
        let at = Path::new("/dev/ttyUSB1");
        assert_eq!(plant.reset(Rung::Redial, Some(at)), Ok(()));
        let e = plant.reset(Rung::UsbReset, Some(at)).unwrap_err();
        assert!(
            e.what
                .contains(&format!("reset on {}", bus.join("001/004").display())),
            "{e}"
        );
        let t0 = std::time::Instant::now();
        assert_eq!(plant.reset(Rung::PortPower, Some(at)), Ok(()));
        assert_eq!(std::fs::read_to_string(port.join("disable")).unwrap(), "0");
        assert_eq!(plant.reset(Rung::Gpio, None), Ok(()));
        assert_eq!(std::fs::read_to_string(gpio.join("value")).unwrap(), "1");
        assert!(
            t0.elapsed() >= Duration::from_millis(200),
            "power off for power_off_time"
        );
    }

    #[test]
    fn pppd_exits_map_to_retry_or_stop() {
        assert!(matches!(
            ppp_exit(exit::Exit::Code(16), false),
            Exit::Transient(_)
        ));
        assert!(matches!(
            ppp_exit(exit::Exit::Code(2), false),
            Exit::Permanent(_)
        ));
        // Authentication: stops only with authfail, as ppp.sh.
        for code in [11, 19] {
            assert!(matches!(
                ppp_exit(exit::Exit::Code(code), true),
                Exit::Permanent(_)
            ));
            match ppp_exit(exit::Exit::Code(code), false) {
                Exit::Transient(why) => assert!(why.contains("authfail"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            ppp_exit(exit::Exit::Signal(9), true),
            Exit::Transient(_)
        ));
    }
}
