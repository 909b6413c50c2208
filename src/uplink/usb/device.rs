//! The USB side, behind a small trait: enumerate devices, open one, and the
//! handful of operations a mode switch needs. [`super::usbfs`] implements it
//! with Linux usbdevfs ioctls and sysfs; [`super::sim`] simulates a modem.

use super::table::{DeviceStrings, UsbId};
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Transfer type of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpKind {
    Control,
    Isochronous,
    Bulk,
    Interrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Bit 7 set: IN (device to host).
    pub address: u8,
    pub kind: EpKind,
}

/// One interface of the active configuration (alternate setting 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub number: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub endpoints: Vec<Endpoint>,
    /// The kernel driver bound to it, if any (`usb-storage`, `option`...).
    pub driver: Option<String>,
}

/// A USB device as enumerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: UsbId,
    pub bus: u16,
    pub address: u16,
    /// The kernel's name for it, also its sysfs directory: `1-1.2`.
    pub sysname: String,
    pub class: u8,
    /// bConfigurationValue of the active configuration, if configured.
    pub configuration: Option<u8>,
    pub strings: DeviceStrings,
    pub interfaces: Vec<Interface>,
}

impl Device {
    pub fn interface(&self, number: u8) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.number == number)
    }

    /// The first bulk endpoint of an interface in a direction.
    pub fn first_bulk(&self, iface: u8, dir_in: bool) -> Option<u8> {
        self.interface(iface)?
            .endpoints
            .iter()
            .find(|e| e.kind == EpKind::Bulk && (e.address & 0x80 != 0) == dir_in)
            .map(|e| e.address)
    }

    /// The class that counts for a target-class check: the device's, or
    /// its first interface's when the device leaves it to the interfaces
    /// (or disagrees with it, as some sticks do).
    pub fn effective_class(&self) -> u8 {
        let first = self.interfaces.first().map(|i| i.class);
        match (self.class, first) {
            (_, Some(ic)) => ic,
            (c, None) => c,
        }
    }

    /// Same physical enumeration (id, bus and address).
    pub fn same(&self, other: &Device) -> bool {
        self.id == other.id && self.bus == other.bus && self.address == other.address
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on bus {:03} device {:03} ({})",
            self.id, self.bus, self.address, self.sysname
        )
    }
}

/// Why a USB operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbError {
    /// No USB here at all (no /dev/bus/usb, no sysfs).
    Unavailable(String),
    /// The device is gone (ENODEV/ESHUTDOWN): after a switch, good news.
    NoDevice,
    /// The endpoint stalled (EPIPE).
    Stall,
    Timeout,
    /// Someone else holds it (EBUSY).
    Busy,
    /// Permission denied: run as root.
    Access(String),
    /// Nothing to do (ENODATA/ENOENT), e.g. no kernel driver to detach.
    NotFound,
    Other(String),
}

impl fmt::Display for UsbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsbError::Unavailable(m) => write!(f, "no USB devices: {m}"),
            UsbError::NoDevice => f.write_str("device is gone"),
            UsbError::Stall => f.write_str("endpoint stalled"),
            UsbError::Timeout => f.write_str("timed out"),
            UsbError::Busy => f.write_str("busy (claimed by someone else)"),
            UsbError::Access(m) => write!(f, "permission denied: {m}"),
            UsbError::NotFound => f.write_str("not found"),
            UsbError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for UsbError {}

/// Finding and opening devices. Used as `dyn Usb` so the switch logic is
/// compiled once, whatever the backend (size matters on the router).
pub trait Usb {
    /// Every device now present.
    fn devices(&mut self) -> Result<Vec<Device>, UsbError>;
    fn open(&mut self, dev: &Device) -> Result<Box<dyn UsbHandle>, UsbError>;
    /// Teach the `option` serial driver an id it does not know
    /// (`/sys/bus/usb-serial/drivers/option1/new_id`).
    fn bind_option(&mut self, id: UsbId) -> Result<(), UsbError>;
    /// The sysfs tree the devices live in (for port discovery).
    fn sysfs_root(&self) -> &Path;
}

/// An open device.
pub trait UsbHandle {
    /// Detach the kernel driver from an interface; Ok(false) if none was
    /// bound.
    fn detach_kernel_driver(&mut self, iface: u8) -> Result<bool, UsbError>;
    fn claim(&mut self, iface: u8) -> Result<(), UsbError>;
    fn release(&mut self, iface: u8) -> Result<(), UsbError>;
    fn bulk_out(&mut self, ep: u8, data: &[u8], timeout: Duration) -> Result<usize, UsbError>;
    fn bulk_in(&mut self, ep: u8, buf: &mut [u8], timeout: Duration) -> Result<usize, UsbError>;
    fn clear_halt(&mut self, ep: u8) -> Result<(), UsbError>;
    /// A control request; bit 7 of `req_type` decides the direction: OUT
    /// sends `buf`, IN fills it. Returns the bytes moved.
    fn control(
        &mut self,
        req_type: u8,
        request: u8,
        value: u16,
        index: u16,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, UsbError>;
    fn set_configuration(&mut self, config: u8) -> Result<(), UsbError>;
    fn reset(&mut self) -> Result<(), UsbError>;
}

/// Monotonic time and sleeping, passed in so tests run on a fake clock.
pub trait Clock {
    /// Time since some fixed start.
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// A clock that only moves when slept on: tests and simulations. Clones
/// share the time; it can be sent to another thread. (A mutex, not an
/// AtomicU64: 32-bit mips has no 64-bit atomics.)
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    now: std::sync::Arc<std::sync::Mutex<Duration>>,
}

impl FakeClock {
    fn get(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn advance(&self, d: Duration) {
        let mut n = self.get();
        *n = n.saturating_add(d);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        *self.get()
    }
    fn sleep(&self, d: Duration) {
        self.advance(d)
    }
}
