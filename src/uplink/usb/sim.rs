//! A simulated USB modem for tests and demos: an E367 that is plugged in as
//! 12d1:1446 (storage), takes the switch message, vanishes and comes back as
//! 12d1:1506 with three option ports, all in a fake sysfs tree whose tty
//! nodes are symlinks to whatever paths (ptys) the caller gives.
//!
//! Misbehaviours on request: refuse the message, stall the CSW read, vanish
//! and never come back, or come back without ttys until the option driver
//! is taught the id (new_id). Time comes from a [`Clock`], so tests run on a
//! [`super::device::FakeClock`] with no real sleeps.

use super::device::{Clock, Device, Usb, UsbError, UsbHandle};
use super::sysfs;
use super::table::UsbId;
use super::tmp::TempDir;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// An interface to write into a fake sysfs tree.
#[derive(Debug, Clone)]
pub struct FakeIface {
    pub number: u8,
    pub class: (u8, u8, u8),
    pub driver: Option<String>,
    /// usb-serial port directories (`ttyUSB0/`).
    pub ttys: Vec<String>,
    /// cdc-acm style (`tty/ttyACM0/`).
    pub acm: Vec<String>,
}

impl FakeIface {
    pub fn new(number: u8, class: (u8, u8, u8)) -> FakeIface {
        FakeIface {
            number,
            class,
            driver: None,
            ttys: vec![],
            acm: vec![],
        }
    }
    pub fn driver(mut self, d: &str) -> Self {
        self.driver = Some(d.into());
        self
    }
    pub fn tty(mut self, t: &str) -> Self {
        self.ttys.push(t.into());
        self
    }
    pub fn acm(mut self, t: &str) -> Self {
        self.acm.push(t.into());
        self
    }
}

/// A device to write into a fake sysfs tree.
#[derive(Debug, Clone)]
pub struct FakeDevice {
    pub id: UsbId,
    pub sysname: String,
    pub bus: u16,
    pub devnum: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub ifaces: Vec<FakeIface>,
}

impl FakeDevice {
    pub fn new(id: UsbId, sysname: &str, bus: u16, devnum: u16) -> FakeDevice {
        FakeDevice {
            id,
            sysname: sysname.into(),
            bus,
            devnum,
            manufacturer: None,
            product: None,
            ifaces: vec![],
        }
    }
}

/// Write `d` under `<root>/bus/usb/devices/<sysname>` the way the kernel
/// lays it out (see [`super::sysfs`]).
pub fn write_device(root: &Path, d: &FakeDevice) -> io::Result<()> {
    let dir = sysfs::devices_dir(root).join(&d.sysname);
    fs::create_dir_all(&dir)?;
    let w = |p: PathBuf, s: String| fs::write(p, s + "\n");
    w(dir.join("idVendor"), format!("{:04x}", d.id.vendor))?;
    w(dir.join("idProduct"), format!("{:04x}", d.id.product))?;
    w(dir.join("busnum"), d.bus.to_string())?;
    w(dir.join("devnum"), d.devnum.to_string())?;
    w(dir.join("bDeviceClass"), "00".into())?;
    w(dir.join("bConfigurationValue"), "1".into())?;
    if let Some(m) = &d.manufacturer {
        w(dir.join("manufacturer"), m.clone())?;
    }
    if let Some(p) = &d.product {
        w(dir.join("product"), p.clone())?;
    }
    for i in &d.ifaces {
        let idir = dir.join(format!("{}:1.{}", d.sysname, i.number));
        fs::create_dir_all(&idir)?;
        w(idir.join("bInterfaceNumber"), format!("{:02x}", i.number))?;
        w(idir.join("bInterfaceClass"), format!("{:02x}", i.class.0))?;
        w(
            idir.join("bInterfaceSubClass"),
            format!("{:02x}", i.class.1),
        )?;
        w(
            idir.join("bInterfaceProtocol"),
            format!("{:02x}", i.class.2),
        )?;
        for (addr, dir_name) in [(0x81 + i.number, "in"), (0x01 + i.number, "out")] {
            let ep = idir.join(format!("ep_{addr:02x}"));
            fs::create_dir_all(&ep)?;
            w(ep.join("bEndpointAddress"), format!("{addr:02x}"))?;
            w(ep.join("type"), "Bulk".into())?;
            w(ep.join("direction"), dir_name.into())?;
        }
        if let Some(drv) = &i.driver {
            let ddir = root.join("bus/usb/drivers").join(drv);
            fs::create_dir_all(&ddir)?;
            let link = idir.join("driver");
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&ddir, link)?;
        }
        for t in &i.ttys {
            fs::create_dir_all(idir.join(t).join("tty").join(t))?;
        }
        for t in &i.acm {
            fs::create_dir_all(idir.join("tty").join(t))?;
        }
    }
    Ok(())
}

/// Remove a device from a fake sysfs tree (unplug).
pub fn remove_device(root: &Path, sysname: &str) -> io::Result<()> {
    match fs::remove_dir_all(sysfs::devices_dir(root).join(sysname)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// How the simulated stick reacts to the switch message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Switches: vanishes, then re-enumerates as 12d1:1506 with ttys.
    Switches,
    /// Stalls the message and stays a CD-ROM.
    Refuses,
    /// Stalls the first CSW read (cleared by CLEAR_HALT), then switches.
    StallsCsw,
    /// Vanishes and never comes back.
    NeverReturns,
    /// Comes back, but the kernel binds no serial driver until new_id.
    NeedsNewId,
}

/// The install-mode E367: one storage interface, bulk OUT 0x01, IN 0x81.
pub fn e367_storage(sysname: &str, devnum: u16) -> FakeDevice {
    let mut d = FakeDevice::new(UsbId::new(0x12d1, 0x1446), sysname, 1, devnum);
    d.manufacturer = Some("HUAWEI Technology".into());
    d.product = Some("HUAWEI Mobile".into());
    d.ifaces = vec![FakeIface::new(0, (0x08, 0x06, 0x50)).driver("usb-storage")];
    d
}

/// The modem-mode E367 (12d1:1506): PPP on interface 0 (ff/02/01), PCUI on
/// 1 (ff/02/02), a diagnostics port on 2, network and storage after that.
/// `with_ttys` false: the option driver has not bound yet.
pub fn e367_modem(sysname: &str, devnum: u16, first_tty: u32, with_ttys: bool) -> FakeDevice {
    let mut d = FakeDevice::new(UsbId::new(0x12d1, 0x1506), sysname, 1, devnum);
    d.manufacturer = Some("HUAWEI Technology".into());
    d.product = Some("HUAWEI Mobile".into());
    let port = |n: u8, c: (u8, u8, u8)| {
        let i = FakeIface::new(n, c);
        if with_ttys {
            i.driver("option")
                .tty(&format!("ttyUSB{}", first_tty + u32::from(n)))
        } else {
            i
        }
    };
    d.ifaces = vec![
        port(0, (0xff, 0x02, 0x01)),
        port(1, (0xff, 0x02, 0x02)),
        port(2, (0xff, 0x02, 0x12)),
        FakeIface::new(3, (0xff, 0x02, 0x16)).driver("qmi_wwan"),
        FakeIface::new(4, (0x08, 0x06, 0x50)).driver("usb-storage"),
        FakeIface::new(5, (0x08, 0x06, 0x50)).driver("usb-storage"),
    ];
    d
}

#[derive(Debug)]
struct State {
    behavior: Behavior,
    plugged: bool,
    /// When the switch message arrived.
    switched_at: Option<Duration>,
    vanish_after: Duration,
    appear_after: Duration,
    stalled_once: bool,
    csw_halted: bool,
    pending: bool,
    gone: bool,
    back: bool,
    bound: bool,
    first_tty: u32,
    ops: Vec<String>,
}

trait LockState {
    fn lock_state(&self) -> MutexGuard<'_, State>;
}

impl LockState for Arc<Mutex<State>> {
    /// A poisoned lock (a panicking test thread) still holds valid state.
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The simulated bus with one E367 on it. It is `Send` (with a `Send`
/// clock), so the daemon can hand it to its uplink thread.
pub struct SimUsb<C: Clock + Clone> {
    clock: C,
    st: Arc<Mutex<State>>,
    root: PathBuf,
    dev_root: PathBuf,
    ptys: Vec<PathBuf>,
    _tmp: Option<TempDir>,
}

impl<C: Clock + Clone> SimUsb<C> {
    /// A fresh fake sysfs tree in a temporary directory, with the stick
    /// plugged in (12d1:1446). `ptys`: what ttyUSB0.. of the modem point at.
    pub fn new(clock: C, behavior: Behavior, ptys: Vec<PathBuf>) -> io::Result<SimUsb<C>> {
        let tmp = TempDir::new("warden-sim")?;
        let root = tmp.path().join("sys");
        let dev_root = tmp.path().join("dev");
        fs::create_dir_all(sysfs::devices_dir(&root))?;
        fs::create_dir_all(root.join("bus/usb-serial/drivers/option1"))?;
        fs::create_dir_all(&dev_root)?;
        write_device(&root, &e367_storage("1-1", 2))?;
        Ok(SimUsb {
            clock,
            st: Arc::new(Mutex::new(State {
                behavior,
                plugged: true,
                switched_at: None,
                vanish_after: Duration::from_millis(500),
                appear_after: Duration::from_secs(3),
                stalled_once: false,
                csw_halted: false,
                pending: false,
                gone: false,
                back: false,
                bound: false,
                first_tty: 0,
                ops: vec![],
            })),
            root,
            dev_root,
            ptys,
            _tmp: Some(tmp),
        })
    }

    /// Where the fake `/dev` is (ttyUSBn symlinks to the given ptys).
    pub fn dev_root(&self) -> &Path {
        &self.dev_root
    }

    /// Delay from the message to re-enumeration.
    pub fn set_appear_after(&self, d: Duration) {
        self.st.lock_state().appear_after = d;
    }

    /// Number the modem's ttys from `n` (as after other serial devices).
    pub fn set_first_tty(&self, n: u32) {
        self.st.lock_state().first_tty = n;
    }

    /// Every USB operation seen, in order (`claim 0`, `bulk_out 01 5553...`).
    pub fn ops(&self) -> Vec<String> {
        self.st.lock_state().ops.clone()
    }

    /// Unplug and plug the stick again (install mode, new address).
    pub fn replug(&self) -> io::Result<()> {
        remove_device(&self.root, "1-1")?;
        let mut s = self.st.lock_state();
        *s = State {
            behavior: s.behavior,
            plugged: true,
            switched_at: None,
            vanish_after: s.vanish_after,
            appear_after: s.appear_after,
            stalled_once: false,
            csw_halted: false,
            pending: false,
            gone: false,
            back: false,
            bound: false,
            first_tty: s.first_tty + 3,
            ops: std::mem::take(&mut s.ops),
        };
        write_device(&self.root, &e367_storage("1-1", 10))
    }

    /// Apply what time has done: vanish, re-enumerate.
    fn tick(&self) -> io::Result<()> {
        let now = self.clock.now();
        let mut s = self.st.lock_state();
        let Some(at) = s.switched_at else {
            return Ok(());
        };
        if !s.gone && now >= at + s.vanish_after {
            s.gone = true;
            s.plugged = false;
            remove_device(&self.root, "1-1")?;
        }
        let comes_back = s.behavior != Behavior::NeverReturns;
        if comes_back && !s.back && now >= at + s.appear_after {
            s.back = true;
            let ttys = s.behavior != Behavior::NeedsNewId || s.bound;
            self.write_modem(&s, ttys)?;
        }
        Ok(())
    }

    fn write_modem(&self, s: &State, ttys: bool) -> io::Result<()> {
        write_device(&self.root, &e367_modem("1-1", 3, s.first_tty, ttys))?;
        if ttys {
            for (k, pty) in self.ptys.iter().enumerate() {
                let link = self
                    .dev_root
                    .join(format!("ttyUSB{}", s.first_tty as usize + k));
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(pty, link)?;
            }
        }
        Ok(())
    }
}

fn io_err(e: io::Error) -> UsbError {
    UsbError::Other(format!("simulated sysfs: {e}"))
}

impl<C: Clock + Clone + 'static> Usb for SimUsb<C> {
    fn devices(&mut self) -> Result<Vec<Device>, UsbError> {
        self.tick().map_err(io_err)?;
        sysfs::devices(&self.root).map_err(io_err)
    }

    fn open(&mut self, dev: &Device) -> Result<Box<dyn UsbHandle>, UsbError> {
        self.tick().map_err(io_err)?;
        let s = self.st.lock_state();
        if dev.id != UsbId::new(0x12d1, 0x1446) || !s.plugged {
            return Err(UsbError::NoDevice);
        }
        Ok(Box::new(SimHandle {
            clock: self.clock.clone(),
            st: self.st.clone(),
        }))
    }

    fn bind_option(&mut self, id: UsbId) -> Result<(), UsbError> {
        let mut s = self.st.lock_state();
        s.ops
            .push(format!("new_id {:04x} {:04x}", id.vendor, id.product));
        fs::write(
            self.root.join("bus/usb-serial/drivers/option1/new_id"),
            format!("{:04x} {:04x}\n", id.vendor, id.product),
        )
        .map_err(io_err)?;
        s.bound = true;
        if s.back && id == UsbId::new(0x12d1, 0x1506) {
            self.write_modem(&s, true).map_err(io_err)?;
        }
        Ok(())
    }

    fn sysfs_root(&self) -> &Path {
        &self.root
    }
}

/// An open handle on the simulated stick.
pub struct SimHandle<C: Clock> {
    clock: C,
    st: Arc<Mutex<State>>,
}

impl<C: Clock> SimHandle<C> {
    fn op(&self, s: String) -> Result<(), UsbError> {
        let mut st = self.st.lock_state();
        st.ops.push(s);
        // Gone once it vanished (the timeline is applied on the next poll,
        // but the hardware is gone already).
        match st.switched_at {
            Some(at) if self.clock.now() >= at + st.vanish_after => Err(UsbError::NoDevice),
            _ => Ok(()),
        }
    }
}

impl<C: Clock> UsbHandle for SimHandle<C> {
    fn detach_kernel_driver(&mut self, iface: u8) -> Result<bool, UsbError> {
        self.op(format!("detach {iface}"))?;
        Ok(iface == 0)
    }
    fn claim(&mut self, iface: u8) -> Result<(), UsbError> {
        self.op(format!("claim {iface}"))
    }
    fn release(&mut self, iface: u8) -> Result<(), UsbError> {
        self.op(format!("release {iface}"))
    }
    fn bulk_out(&mut self, ep: u8, data: &[u8], _t: Duration) -> Result<usize, UsbError> {
        self.op(format!("bulk_out {ep:02x} {}", crate::wire::hex(data)))?;
        let mut s = self.st.lock_state();
        if s.behavior == Behavior::Refuses {
            return Err(UsbError::Stall);
        }
        // A Huawei switch command: CBW with CB 11 06.
        if data.starts_with(b"USBC") && data.get(15..17) == Some(&[0x11, 0x06]) {
            if s.behavior == Behavior::StallsCsw {
                // This one switches only once its CSW has been read.
                s.pending = true;
            } else {
                s.switched_at.get_or_insert(self.clock.now());
            }
        }
        Ok(data.len())
    }
    fn bulk_in(&mut self, ep: u8, buf: &mut [u8], _t: Duration) -> Result<usize, UsbError> {
        self.op(format!("bulk_in {ep:02x} {}", buf.len()))?;
        let mut s = self.st.lock_state();
        if s.behavior == Behavior::StallsCsw && !s.stalled_once {
            s.stalled_once = true;
            s.csw_halted = true;
            return Err(UsbError::Stall);
        }
        if s.csw_halted {
            return Err(UsbError::Stall);
        }
        // CSW: "USBS", tag 0x12345678, residue 0, status 0 (passed).
        let csw = [
            0x55, 0x53, 0x42, 0x53, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0,
        ];
        if s.pending {
            s.pending = false;
            s.switched_at.get_or_insert(self.clock.now());
        }
        let n = csw.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), csw.get(..n)) {
            d.copy_from_slice(s);
        }
        Ok(n)
    }
    fn clear_halt(&mut self, ep: u8) -> Result<(), UsbError> {
        self.op(format!("clear_halt {ep:02x}"))?;
        if ep == 0x81 {
            self.st.lock_state().csw_halted = false;
        }
        Ok(())
    }
    fn control(
        &mut self,
        req_type: u8,
        request: u8,
        value: u16,
        index: u16,
        buf: &mut [u8],
        _t: Duration,
    ) -> Result<usize, UsbError> {
        self.op(format!(
            "control {req_type:02x} {request:02x} {value:04x} {index:04x} {}",
            buf.len()
        ))?;
        Ok(buf.len())
    }
    fn set_configuration(&mut self, config: u8) -> Result<(), UsbError> {
        self.op(format!("set_configuration {config}"))
    }
    fn reset(&mut self) -> Result<(), UsbError> {
        self.op("reset".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::{FakeClock, SystemClock};
    use super::*;

    #[test]
    fn simulator_can_move_to_another_thread() {
        fn send<T: Send>(_: &T) {}
        let clock = FakeClock::default();
        let usb = SimUsb::new(clock.clone(), Behavior::Switches, vec![]).unwrap();
        send(&usb);
        send(&SimUsb::new(SystemClock::default(), Behavior::Switches, vec![]).unwrap());
        let t = std::thread::spawn(move || {
            let mut usb = usb;
            let d = usb.devices().unwrap();
            clock.advance(Duration::from_secs(1));
            (d.len(), usb.sysfs_root().exists())
        });
        assert_eq!(t.join().unwrap(), (1, true));
    }
}
