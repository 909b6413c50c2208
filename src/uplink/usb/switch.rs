//! The switch procedure, over a [`Usb`] and a [`Clock`]:
//!
//! 1. find the device in install mode and its table entry;
//! 2. run the entry's plan (detach usb-storage, claim, send the message(s),
//!    read each 13-byte CSW, clearing a stall once, wait 50 ms, release);
//!    a device that vanishes mid-plan has switched, not failed;
//! 3. poll once a second, bounded (default 20 s), until a target id appears
//!    that was not there before (or, with no target ids in the entry, the
//!    original vanishes);
//! 4. wait for its ttys; if none appear within a few seconds, teach the
//!    option driver the id (new_id) once and wait again, still bounded.

use super::device::{Clock, Device, Usb, UsbError, UsbHandle};
use super::sysfs;
use super::table::{Dir, Step, SwitchEntry, Table, UsbId};
use std::fmt;
use std::time::Duration;

/// Bulk and control transfer timeout (usb_modeswitch uses 3 s and 1 s).
const BULK_TIMEOUT: Duration = Duration::from_secs(3);
const CONTROL_TIMEOUT: Duration = Duration::from_secs(1);

/// Knobs, with usb_modeswitch's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Overall bound on waiting for the target (and its ttys).
    pub timeout: Duration,
    /// How often to look.
    pub poll: Duration,
    /// How long a fresh target may go without ttys before new_id.
    pub tty_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(20),
            poll: Duration::from_secs(1),
            tty_grace: Duration::from_secs(3),
        }
    }
}

/// A successful switch.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The install-mode device, None if a target was already there.
    pub from: Option<Device>,
    /// The modem-mode device (None if the entry names no target and the
    /// original vanished).
    pub to: Option<Device>,
    /// Serial ports of the target: (interface, tty name).
    pub ttys: Vec<(u8, String)>,
    /// new_id was written for the target.
    pub bound_option: bool,
    pub elapsed: Duration,
}

/// Why a switch failed.
pub enum SwitchFault {
    /// Listing devices failed (no USB here, permissions).
    Usb(UsbError),
    /// Nothing to switch was plugged in.
    NotFound(Option<UsbId>),
    /// The id is not in the table.
    NoEntry(UsbId),
    /// The entry cannot be carried out.
    Plan(UsbId, String),
    /// An operation the switch cannot go on without failed.
    Op { op: String, err: UsbError },
    /// The original device was still there at the deadline.
    DidNotVanish { dev: Box<Device>, waited: Duration },
    /// It vanished, but no target appeared in time.
    NoTarget { targets: String, waited: Duration },
    /// The target came, but no serial port did (even after new_id).
    NoPorts {
        dev: Box<Device>,
        bound_option: bool,
    },
}

impl fmt::Display for SwitchFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchFault::Usb(e) => write!(f, "{e}"),
            SwitchFault::NotFound(Some(id)) => write!(f, "no USB device {id} is plugged in"),
            SwitchFault::NotFound(None) => {
                f.write_str("no USB device in install (storage) mode that the switch table knows")
            }
            SwitchFault::NoEntry(id) => write!(
                f,
                "{id} is not in the switch table (give usb-modeswitch data with --data)"
            ),
            SwitchFault::Plan(id, m) => write!(f, "cannot switch {id}: {m}"),
            SwitchFault::Op { op, err } => write!(f, "{op}: {err}"),
            SwitchFault::DidNotVanish { dev, waited } => write!(
                f,
                "{dev} was still there after {}s: the switch message did not take",
                waited.as_secs()
            ),
            SwitchFault::NoTarget { targets, waited } => write!(
                f,
                "the device left install mode but no target ({targets}) appeared within {}s",
                waited.as_secs()
            ),
            SwitchFault::NoPorts { dev, bound_option } => write!(
                f,
                "switched to {dev} but no serial port appeared{}",
                if *bound_option {
                    " (even after binding the option driver via new_id)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// A [`SwitchFault`] behind one pointer: a `Result<_, SwitchError>` is one
/// word, so each `?` moves a pointer, not the whole error.
pub struct SwitchError(Box<SwitchFault>);

/// As Display: a derived Debug would pull every device field's Debug code
/// into the router binary for the error box that needs one.
impl fmt::Debug for SwitchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SwitchError {}

impl SwitchError {
    /// What went wrong.
    pub fn fault(&self) -> &SwitchFault {
        &self.0
    }
}

impl From<SwitchFault> for SwitchError {
    fn from(f: SwitchFault) -> Self {
        SwitchError(Box::new(f))
    }
}

impl fmt::Display for SwitchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Is `d` a target of `e`? (`orig`: the id in install mode.)
fn is_target(e: &SwitchEntry, d: &Device) -> bool {
    if e.target_vendor.is_some() {
        return e.is_target(d.id) && e.target_class.is_none_or(|c| d.effective_class() == c);
    }
    match e.target_class {
        Some(c) => d.id == e.id && d.effective_class() == c,
        None => false,
    }
}

/// Switch the device `want` (or the first device the table knows).
pub fn switch(
    usb: &mut dyn Usb,
    clock: &dyn Clock,
    table: &Table,
    want: Option<UsbId>,
    opts: &Options,
) -> Result<Outcome, SwitchError> {
    let start = clock.now();
    let devs = usb.devices().map_err(SwitchFault::Usb)?;
    let found = match want {
        Some(id) => devs.iter().find(|d| d.id == id),
        None => devs.iter().find(|d| {
            table
                .lookup(d.id, &d.strings)
                .is_some_and(|e| !is_target(e, d))
        }),
    };
    let Some(dev) = found.cloned() else {
        // Already switched? Then say so rather than fail.
        if let Some(id) = want {
            if let Some(t) = devs.iter().find(|d| {
                table
                    .entries
                    .iter()
                    .any(|e| e.is_target(d.id) && e.id.vendor == id.vendor)
                    || d.id == id
            }) {
                let ttys = sysfs::device_ttys(usb.sysfs_root(), t);
                if !ttys.is_empty() {
                    return Ok(Outcome {
                        from: None,
                        to: Some(t.clone()),
                        ttys,
                        bound_option: false,
                        elapsed: Duration::ZERO,
                    });
                }
            }
        }
        return Err(SwitchFault::NotFound(want).into());
    };
    let entry = table
        .lookup(dev.id, &dev.strings)
        .ok_or(SwitchFault::NoEntry(dev.id))?;
    if is_target(entry, &dev) {
        // The class says it is in modem mode already.
        return Ok(Outcome {
            ttys: sysfs::device_ttys(usb.sysfs_root(), &dev),
            from: None,
            to: Some(dev),
            bound_option: false,
            elapsed: Duration::ZERO,
        });
    }
    let plan = entry.plan().map_err(|m| SwitchFault::Plan(dev.id, m))?;
    log::info!(
        "switching {dev} ({}) with {} (entry from {})",
        entry.name.as_deref().unwrap_or("unnamed"),
        entry.method.name(),
        entry.source
    );
    let before: Vec<Device> = devs
        .iter()
        .filter(|d| is_target(entry, d))
        .cloned()
        .collect();
    run_plan(usb, clock, entry, &dev, &plan)?;
    let to = wait_target(usb, clock, entry, &dev, &before, start, opts)?;
    let Some(to) = to else {
        return Ok(Outcome {
            from: Some(dev),
            to: None,
            ttys: vec![],
            bound_option: false,
            elapsed: clock.now().saturating_sub(start),
        });
    };
    log::info!("{} switched to {to}", dev.id);
    if entry.no_driver_loading {
        return Ok(Outcome {
            ttys: sysfs::device_ttys(usb.sysfs_root(), &to),
            from: Some(dev),
            to: Some(to),
            bound_option: false,
            elapsed: clock.now().saturating_sub(start),
        });
    }
    let (ttys, bound_option) = wait_ttys(usb, clock, &to, start, opts)?;
    Ok(Outcome {
        from: Some(dev),
        to: Some(to),
        ttys,
        bound_option,
        elapsed: clock.now().saturating_sub(start),
    })
}

/// Carry out a plan on `dev`.
pub fn run_plan(
    usb: &mut dyn Usb,
    clock: &dyn Clock,
    entry: &SwitchEntry,
    dev: &Device,
    plan: &[Step],
) -> Result<(), SwitchError> {
    let iface = entry
        .interface
        .or_else(|| dev.interfaces.first().map(|i| i.number))
        .unwrap_or(0);
    let needs_bulk = plan.iter().any(|s| matches!(s, Step::BulkOut(_)));
    let out_ep = entry
        .message_endpoint
        .or_else(|| dev.first_bulk(iface, false));
    let in_ep = entry
        .response_endpoint
        .or_else(|| dev.first_bulk(iface, true));
    let (out_ep, in_ep) = match (out_ep, in_ep) {
        (Some(o), Some(i)) => (o, i),
        _ if !needs_bulk => (0, 0),
        _ => {
            return Err(SwitchFault::Plan(
                dev.id,
                format!("interface {iface} has no bulk OUT and IN endpoints"),
            )
            .into())
        }
    };
    let mut h = usb.open(dev).map_err(|err| SwitchFault::Op {
        op: format!("open {dev}"),
        err,
    })?;
    for step in plan {
        let r = exec(h.as_mut(), clock, step, iface, out_ep, in_ep);
        match r {
            Ok(()) => {}
            Err(UsbError::NoDevice) => {
                log::info!(
                    "{}: device gone after {}; skipping the rest",
                    dev.id,
                    step_name(step, iface)
                );
                return Ok(());
            }
            Err(err) => {
                let fatal = matches!(
                    step,
                    Step::Claim | Step::Control { .. } | Step::ControlIn { .. }
                );
                if fatal && !matches!(err, UsbError::Stall) {
                    return Err(SwitchFault::Op {
                        op: format!("{} on {}", step_name(step, iface), dev.id),
                        err,
                    }
                    .into());
                }
                log::warn!(
                    "{} on {}: {err}; trying to continue",
                    step_name(step, iface),
                    dev.id
                );
            }
        }
    }
    Ok(())
}

fn step_name(step: &Step, iface: u8) -> String {
    match step {
        Step::Detach => format!("detach kernel driver from interface {iface}"),
        Step::Claim => format!("claim interface {iface}"),
        Step::Release => format!("release interface {iface}"),
        Step::ClearHalt(Dir::Out) => "clear halt (out)".into(),
        Step::ClearHalt(Dir::In) => "clear halt (in)".into(),
        Step::BulkOut(_) => "send switch message".into(),
        Step::ReadCsw => "read CSW".into(),
        Step::ReadResponse(_) => "read response".into(),
        Step::Control { request, .. } | Step::ControlIn { request, .. } => {
            format!("control request {request:#04x}")
        }
        Step::SetConfiguration(c) => format!("set configuration {c}"),
        Step::Reset => "reset".into(),
        Step::Sleep(_) => "sleep".into(),
    }
}

fn exec(
    h: &mut dyn UsbHandle,
    clock: &dyn Clock,
    step: &Step,
    iface: u8,
    out_ep: u8,
    in_ep: u8,
) -> Result<(), UsbError> {
    match step {
        Step::Detach => match h.detach_kernel_driver(iface) {
            Ok(_) | Err(UsbError::NotFound) => Ok(()),
            Err(e) => Err(e),
        },
        Step::Claim => h.claim(iface),
        Step::Release => h.release(iface),
        Step::ClearHalt(Dir::Out) => h.clear_halt(out_ep),
        Step::ClearHalt(Dir::In) => h.clear_halt(in_ep),
        Step::BulkOut(m) => h.bulk_out(out_ep, m, BULK_TIMEOUT).map(|_| ()),
        Step::ReadCsw | Step::ReadResponse(_) => {
            let len = match step {
                Step::ReadResponse(n) => (*n).max(13),
                _ => 13,
            };
            let mut buf = vec![0u8; len];
            // A stalled endpoint is cleared once and read again.
            let n = match h.bulk_in(in_ep, &mut buf, BULK_TIMEOUT) {
                Err(UsbError::Stall) => {
                    log::debug!("response endpoint {in_ep:#04x} stalled; clearing it once");
                    h.clear_halt(in_ep)?;
                    h.bulk_in(in_ep, &mut buf, BULK_TIMEOUT)?
                }
                r => r?,
            };
            if matches!(step, Step::ReadCsw) {
                match parse_csw(buf.get(..n).unwrap_or_default()) {
                    Ok(0) => log::debug!("CSW: command passed"),
                    Ok(s) => log::debug!("CSW: status {s} (usual for switch commands)"),
                    Err(m) => log::debug!("CSW: {m}"),
                }
            }
            Ok(())
        }
        Step::Control {
            req_type,
            request,
            value,
            index,
            data,
        } => {
            let mut d = data.clone();
            h.control(*req_type, *request, *value, *index, &mut d, CONTROL_TIMEOUT)
                .map(|_| ())
        }
        Step::ControlIn {
            req_type,
            request,
            value,
            index,
            len,
        } => {
            let mut d = vec![0u8; usize::from(*len)];
            h.control(*req_type, *request, *value, *index, &mut d, CONTROL_TIMEOUT)
                .map(|_| ())
        }
        Step::SetConfiguration(c) => h.set_configuration(*c),
        Step::Reset => h.reset(),
        Step::Sleep(ms) => {
            clock.sleep(Duration::from_millis(u64::from(*ms)));
            Ok(())
        }
    }
}

/// Decode a 13-byte mass-storage Command Status Wrapper; returns its status
/// (0 passed, 1 failed, 2 phase error).
pub fn parse_csw(b: &[u8]) -> Result<u8, String> {
    let mut r = crate::wire::Reader::new(b);
    let sig = r.array::<4>().map_err(|e| format!("short CSW: {e}"))?;
    if &sig != b"USBS" {
        return Err(format!("bad CSW signature {}", crate::wire::hex(&sig)));
    }
    r.u32le().map_err(|e| format!("short CSW: {e}"))?; // tag
    r.u32le().map_err(|e| format!("short CSW: {e}"))?; // residue
    r.u8().map_err(|e| format!("short CSW: {e}"))
}

fn wait_target(
    usb: &mut dyn Usb,
    clock: &dyn Clock,
    entry: &SwitchEntry,
    orig: &Device,
    before: &[Device],
    start: std::time::Duration,
    opts: &Options,
) -> Result<Option<Device>, SwitchError> {
    let has_targets = entry.target_vendor.is_some() || entry.target_class.is_some();
    let deadline = start.saturating_add(opts.timeout);
    let mut orig_seen = true;
    loop {
        let now = clock.now();
        if now >= deadline {
            break;
        }
        clock.sleep(opts.poll.min(deadline - now));
        let devs = match usb.devices() {
            Ok(d) => d,
            Err(e) => {
                log::debug!("listing USB devices: {e}");
                Vec::new()
            }
        };
        orig_seen = devs.iter().any(|d| d.same(orig));
        if has_targets {
            if let Some(t) = devs
                .iter()
                .find(|d| is_target(entry, d) && !before.iter().any(|b| b.same(d)))
            {
                return Ok(Some(t.clone()));
            }
        } else if !orig_seen {
            log::info!(
                "{} vanished; the entry names no target to wait for",
                orig.id
            );
            return Ok(None);
        }
        if clock.now() >= deadline {
            break;
        }
    }
    let waited = clock.now().saturating_sub(start);
    if orig_seen {
        Err(SwitchFault::DidNotVanish {
            dev: Box::new(orig.clone()),
            waited,
        }
        .into())
    } else {
        Err(SwitchFault::NoTarget {
            targets: entry.targets_text(),
            waited,
        }
        .into())
    }
}

fn wait_ttys(
    usb: &mut dyn Usb,
    clock: &dyn Clock,
    to: &Device,
    start: Duration,
    opts: &Options,
) -> Result<(Vec<(u8, String)>, bool), SwitchError> {
    let appeared = clock.now();
    // At least two grace periods after the target came, even if that was
    // late in the overall timeout.
    let deadline = start
        .saturating_add(opts.timeout)
        .max(appeared.saturating_add(opts.tty_grace.saturating_mul(2)));
    let mut bound = false;
    loop {
        // Re-read the device: interfaces and drivers settle after it comes.
        let dev = usb
            .devices()
            .ok()
            .and_then(|ds| ds.into_iter().find(|d| d.same(to)))
            .unwrap_or_else(|| to.clone());
        let ttys = sysfs::device_ttys(usb.sysfs_root(), &dev);
        if !ttys.is_empty() {
            return Ok((ttys, bound));
        }
        let now = clock.now();
        if !bound && now >= appeared.saturating_add(opts.tty_grace) {
            log::info!(
                "no serial port on {to} after {}s; binding the option driver (new_id {:04x} {:04x})",
                opts.tty_grace.as_secs(),
                to.id.vendor,
                to.id.product
            );
            match usb.bind_option(to.id) {
                Ok(()) => {}
                Err(e) => log::warn!("new_id for {}: {e}", to.id),
            }
            bound = true;
            continue;
        }
        if now >= deadline {
            return Err(SwitchFault::NoPorts {
                dev: Box::new(dev),
                bound_option: bound,
            }
            .into());
        }
        clock.sleep(opts.poll);
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::FakeClock;
    use super::super::sim::{Behavior, SimUsb};
    use super::super::table::{parse_hex_bytes, HUAWEI_NEW_MESSAGE};
    use super::*;
    use crate::uplink::ports::{classify, Role};
    use std::path::PathBuf;

    fn sim(b: Behavior) -> (FakeClock, SimUsb<FakeClock>) {
        let clock = FakeClock::default();
        let ptys = vec![PathBuf::from("/dev/pts/7"), PathBuf::from("/dev/pts/8")];
        let s = SimUsb::new(clock.clone(), b, ptys).unwrap();
        (clock, s)
    }

    const E367: UsbId = UsbId::new(0x12d1, 0x1446);
    const E367_MODEM: UsbId = UsbId::new(0x12d1, 0x1506);

    #[test]
    fn e367_switches_and_ports_follow() {
        let (clock, mut usb) = sim(Behavior::Switches);
        let o = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(E367),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(o.from.as_ref().unwrap().id, E367);
        let to = o.to.clone().unwrap();
        assert_eq!(to.id, E367_MODEM);
        assert!(!o.bound_option);
        assert_eq!(o.ttys.len(), 3);
        // Message at 0, released at 50 ms, target there 3 s after the
        // message; polled once a second: found on the poll at 3.05 s.
        assert_eq!(o.elapsed, Duration::from_millis(3050));
        let msg = format!("bulk_out 01 {HUAWEI_NEW_MESSAGE}");
        assert_eq!(
            usb.ops(),
            [
                "detach 0",
                "claim 0",
                "clear_halt 01",
                msg.as_str(),
                "bulk_in 81 13",
                "clear_halt 81",
                "clear_halt 01",
                "release 0",
            ]
        );
        // The message is the one the notes give, byte for byte.
        assert_eq!(parse_hex_bytes(HUAWEI_NEW_MESSAGE).unwrap().len(), 31);
        // Ports by class; the tty symlinks point at the given ptys.
        let p = classify(&to, &o.ttys, usb.dev_root());
        assert_eq!(p.ppp, Some(usb.dev_root().join("ttyUSB0")));
        assert_eq!(p.at, Some(usb.dev_root().join("ttyUSB1")));
        assert_eq!(
            std::fs::read_link(usb.dev_root().join("ttyUSB1")).unwrap(),
            PathBuf::from("/dev/pts/8")
        );
        assert_eq!(p.ports.iter().filter(|p| p.role == Role::Other).count(), 1);

        // Switching again finds it already in modem mode.
        let o = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(E367),
            &Options::default(),
        )
        .unwrap();
        assert!(o.from.is_none());
        assert_eq!(o.to.unwrap().id, E367_MODEM);

        // Re-plug: new address, ttys renumbered; ports still by class.
        usb.replug().unwrap();
        let o = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            None,
            &Options::default(),
        )
        .unwrap();
        let p = classify(o.to.as_ref().unwrap(), &o.ttys, usb.dev_root());
        assert_eq!(p.ppp, Some(usb.dev_root().join("ttyUSB3")));
        assert_eq!(p.at, Some(usb.dev_root().join("ttyUSB4")));
    }

    #[test]
    fn stalled_csw_is_cleared_once() {
        let (clock, mut usb) = sim(Behavior::StallsCsw);
        let o = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(E367),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(o.to.unwrap().id, E367_MODEM);
        let ops = usb.ops();
        let i = ops.iter().position(|o| o.starts_with("bulk_out")).unwrap();
        assert_eq!(
            ops[i + 1..i + 4],
            ["bulk_in 81 13", "clear_halt 81", "bulk_in 81 13"]
        );
    }

    #[test]
    fn refused_message_times_out_with_device_still_there() {
        let (clock, mut usb) = sim(Behavior::Refuses);
        let opts = Options {
            timeout: Duration::from_secs(5),
            ..Options::default()
        };
        let e = switch(&mut usb, &clock, &Table::builtin(), Some(E367), &opts).unwrap_err();
        assert!(matches!(e.fault(), SwitchFault::DidNotVanish { .. }), "{e}");
        assert!(e.to_string().contains("still there after 5s"), "{e}");
        assert_eq!(clock.now(), Duration::from_millis(5000));
    }

    #[test]
    fn device_that_never_returns() {
        let (clock, mut usb) = sim(Behavior::NeverReturns);
        let e = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(E367),
            &Options::default(),
        )
        .unwrap_err();
        assert!(matches!(e.fault(), SwitchFault::NoTarget { .. }), "{e}");
        let s = e.to_string();
        assert!(s.contains("12d1:{1001,"), "{s}");
        assert!(s.contains("within 20s"), "{s}");
        // Bounded: it gave up at the deadline, not later.
        assert_eq!(clock.now(), Duration::from_secs(20));
    }

    #[test]
    fn late_target_without_ttys_gets_new_id() {
        let (clock, mut usb) = sim(Behavior::NeedsNewId);
        usb.set_appear_after(Duration::from_secs(18));
        let o = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(E367),
            &Options::default(),
        )
        .unwrap();
        assert!(o.bound_option);
        assert_eq!(o.ttys.len(), 3);
        assert!(usb.ops().contains(&"new_id 12d1 1506".to_string()));
        // Target seen at 18.05 s, no ttys for the 3 s grace, new_id at
        // 21.05 s: past the nominal 20 s, because a target that came late
        // still gets its grace period.
        assert_eq!(o.elapsed, Duration::from_millis(21050));
    }

    #[test]
    fn nothing_to_switch() {
        let (clock, mut usb) = sim(Behavior::Switches);
        let e = switch(
            &mut usb,
            &clock,
            &Table::builtin(),
            Some(UsbId::new(1, 2)),
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "no USB device 0001:0002 is plugged in");
        let e = switch(
            &mut usb,
            &clock,
            &Table::default(),
            Some(E367),
            &Options::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not in the switch table"), "{e}");
        let e = switch(
            &mut usb,
            &clock,
            &Table::default(),
            None,
            &Options::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no USB device in install"), "{e}");
        assert_eq!(clock.now(), Duration::ZERO);
    }

    #[test]
    fn control_and_generic_message_plans_reach_the_device() {
        use super::super::modeswitch::parse_data_file;
        use super::super::table::Source;
        let mk = |text: &str| {
            let mut t = Table::default();
            t.prepend(vec![
                parse_data_file("12d1:1446", Source::BuiltIn, text).unwrap()
            ]);
            t
        };
        let opts = Options {
            timeout: Duration::from_secs(2),
            ..Options::default()
        };
        // HuaweiMode: SET_FEATURE(1) to the device; this stick ignores it.
        let (clock, mut usb) = sim(Behavior::Switches);
        let t = mk("TargetVendor=0x12d1\nTargetProduct=0x1506\nHuaweiMode=1\n");
        let e = switch(&mut usb, &clock, &t, Some(E367), &opts).unwrap_err();
        assert!(matches!(e.fault(), SwitchFault::DidNotVanish { .. }), "{e}");
        assert_eq!(usb.ops(), ["control 00 03 0001 0000 0"]);
        // A non-CBW message with NeedResponse reads a response of its size
        // (at least 13 bytes); a CBW one reads a CSW.
        let (clock, mut usb) = sim(Behavior::Switches);
        let t = mk("TargetVendor=0x12d1\nTargetProduct=0x1506\nMessageContent=\"0f00010142\"\nMessageContent2=\"55534243123456780000000000000011062000000101000100000000000000\"\nNeedResponse=1\n");
        let o = switch(&mut usb, &clock, &t, Some(E367), &Options::default()).unwrap();
        assert_eq!(o.to.unwrap().id, E367_MODEM);
        let ops = usb.ops();
        assert_eq!(
            ops[3..6],
            [
                "bulk_out 01 0f00010142",
                "bulk_in 81 13",
                "bulk_out 01 55534243123456780000000000000011062000000101000100000000000000"
            ]
        );
    }

    #[test]
    fn huge_timeout_does_not_overflow() {
        let (clock, mut usb) = sim(Behavior::Switches);
        let opts = Options {
            timeout: Duration::MAX,
            ..Options::default()
        };
        let o = switch(&mut usb, &clock, &Table::builtin(), Some(E367), &opts).unwrap();
        assert_eq!(o.to.unwrap().id, E367_MODEM);
    }

    #[test]
    fn csw_decoding() {
        assert_eq!(parse_csw(b"USBSxxxx\0\0\0\0\x01"), Ok(1));
        assert!(parse_csw(b"USBC").unwrap_err().contains("signature"));
        assert!(parse_csw(b"USBS1234").unwrap_err().contains("short"));
    }
}
