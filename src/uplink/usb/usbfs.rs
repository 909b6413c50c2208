//! The real USB side on Linux: sysfs for enumeration, usbdevfs ioctls on
//! `/dev/bus/usb/BBB/DDD` for the transfers.
//!
//! Why not rusb: see the module documentation of [`super`]. A mode switch
//! needs nine ioctls; these are stable kernel ABI (`linux/usbdevice_fs.h`).
//! The ioctl numbers are computed per architecture (mips encodes direction
//! bits differently).

use super::device::{Device, Usb, UsbError, UsbHandle};
use super::sysfs;
use super::table::UsbId;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod ioc {
    pub const NONE: u32 = 1;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 4;
    pub const DIRSHIFT: u32 = 29;
}

#[cfg(not(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod ioc {
    pub const NONE: u32 = 0;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 1;
    pub const DIRSHIFT: u32 = 30;
}

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << ioc::DIRSHIFT) | ((size as u32) << 16) | ((b'U' as u32) << 8) | nr
}

/// `struct usbdevfs_ctrltransfer` (values in host order: the kernel
/// converts).
#[repr(C)]
struct CtrlTransfer {
    b_request_type: u8,
    b_request: u8,
    w_value: u16,
    w_index: u16,
    w_length: u16,
    timeout: u32,
    data: *mut libc::c_void,
}

/// `struct usbdevfs_bulktransfer`.
#[repr(C)]
struct BulkTransfer {
    ep: libc::c_uint,
    len: libc::c_uint,
    timeout: libc::c_uint,
    data: *mut libc::c_void,
}

/// `struct usbdevfs_ioctl`.
#[repr(C)]
struct UsbIoctl {
    ifno: libc::c_int,
    ioctl_code: libc::c_int,
    data: *mut libc::c_void,
}

const UINT: usize = std::mem::size_of::<libc::c_uint>();
const USBDEVFS_CONTROL: u32 = ioc(
    ioc::READ | ioc::WRITE,
    0,
    std::mem::size_of::<CtrlTransfer>(),
);
const USBDEVFS_BULK: u32 = ioc(
    ioc::READ | ioc::WRITE,
    2,
    std::mem::size_of::<BulkTransfer>(),
);
const USBDEVFS_SETCONFIGURATION: u32 = ioc(ioc::READ, 5, UINT);
const USBDEVFS_CLAIMINTERFACE: u32 = ioc(ioc::READ, 15, UINT);
const USBDEVFS_RELEASEINTERFACE: u32 = ioc(ioc::READ, 16, UINT);
const USBDEVFS_IOCTL: u32 = ioc(ioc::READ | ioc::WRITE, 18, std::mem::size_of::<UsbIoctl>());
const USBDEVFS_RESET: u32 = ioc(ioc::NONE, 20, 0);
const USBDEVFS_CLEAR_HALT: u32 = ioc(ioc::READ, 21, UINT);
const USBDEVFS_DISCONNECT: u32 = ioc(ioc::NONE, 22, 0);

/// Where Linux keeps USB device nodes.
pub const DEV_BUS_USB: &str = "/dev/bus/usb";

/// USB through sysfs and usbdevfs.
#[derive(Debug, Clone)]
pub struct UsbFs {
    sysfs_root: PathBuf,
    dev_root: PathBuf,
}

impl Default for UsbFs {
    fn default() -> Self {
        UsbFs::new("/sys", DEV_BUS_USB)
    }
}

impl UsbFs {
    pub fn new(sysfs_root: impl Into<PathBuf>, dev_root: impl Into<PathBuf>) -> UsbFs {
        UsbFs {
            sysfs_root: sysfs_root.into(),
            dev_root: dev_root.into(),
        }
    }

    fn node(&self, d: &Device) -> PathBuf {
        self.dev_root
            .join(format!("{:03}", d.bus))
            .join(format!("{:03}", d.address))
    }
}

fn errno_to_usb(e: io::Error, what: &str) -> UsbError {
    match e.raw_os_error() {
        Some(libc::ENODEV) | Some(libc::ESHUTDOWN) => UsbError::NoDevice,
        Some(libc::EPIPE) => UsbError::Stall,
        Some(libc::ETIMEDOUT) => UsbError::Timeout,
        Some(libc::EBUSY) => UsbError::Busy,
        Some(libc::EACCES) | Some(libc::EPERM) => UsbError::Access(format!("{what} (run as root)")),
        Some(libc::ENODATA) => UsbError::NotFound,
        _ => UsbError::Other(format!("{what}: {e}")),
    }
}

impl Usb for UsbFs {
    fn devices(&mut self) -> Result<Vec<Device>, UsbError> {
        if !self.dev_root.is_dir() {
            return Err(UsbError::Unavailable(format!(
                "{} missing",
                self.dev_root.display()
            )));
        }
        sysfs::devices(&self.sysfs_root).map_err(|e| {
            UsbError::Unavailable(format!(
                "{}: {e}",
                sysfs::devices_dir(&self.sysfs_root).display()
            ))
        })
    }

    fn open(&mut self, dev: &Device) -> Result<Box<dyn UsbHandle>, UsbError> {
        let path = self.node(dev);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => UsbError::NoDevice,
                _ => errno_to_usb(e, &path.display().to_string()),
            })?;
        Ok(Box::new(UsbFsHandle { f, path }))
    }

    fn bind_option(&mut self, id: UsbId) -> Result<(), UsbError> {
        let p = self
            .sysfs_root
            .join("bus/usb-serial/drivers/option1/new_id");
        std::fs::write(&p, format!("{:04x} {:04x}\n", id.vendor, id.product)).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                UsbError::Other(format!(
                    "{}: the option driver is not loaded (modprobe option)",
                    p.display()
                ))
            } else {
                errno_to_usb(e, &p.display().to_string())
            }
        })
    }

    fn sysfs_root(&self) -> &Path {
        &self.sysfs_root
    }
}

/// An open `/dev/bus/usb/BBB/DDD`; closed on drop.
#[derive(Debug)]
pub struct UsbFsHandle {
    f: File,
    path: PathBuf,
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl UsbFsHandle {
    /// ioctl with a pointer argument.
    fn ioctl<T>(&self, req: u32, arg: *mut T, what: &str) -> Result<libc::c_int, UsbError> {
        // SAFETY: `req` is a usbdevfs request whose argument type is T (or
        // none, for the _IO requests, where the pointer is ignored); `arg`
        // points to a live T (and any buffer it points to is live and as
        // long as the length it states) for the duration of the call.
        let r = unsafe { libc::ioctl(self.f.as_raw_fd(), req as _, arg) };
        if r < 0 {
            Err(errno_to_usb(
                io::Error::last_os_error(),
                &format!("{what} on {}", self.path.display()),
            ))
        } else {
            Ok(r)
        }
    }

    fn uint(&self, req: u32, v: u32, what: &str) -> Result<(), UsbError> {
        let mut v: libc::c_uint = v;
        self.ioctl(req, &mut v, what).map(|_| ())
    }

    fn bulk(&self, ep: u8, ptr: *mut u8, len: usize, t: Duration) -> Result<usize, UsbError> {
        let mut b = BulkTransfer {
            ep: ep.into(),
            len: u32::try_from(len).map_err(|_| UsbError::Other("transfer too long".into()))?,
            timeout: ms(t),
            data: ptr.cast(),
        };
        self.ioctl(USBDEVFS_BULK, &mut b, "bulk transfer")
            .map(|n| usize::try_from(n).unwrap_or(0))
    }
}

impl UsbHandle for UsbFsHandle {
    fn detach_kernel_driver(&mut self, iface: u8) -> Result<bool, UsbError> {
        let mut c = UsbIoctl {
            ifno: iface.into(),
            ioctl_code: USBDEVFS_DISCONNECT as libc::c_int,
            data: std::ptr::null_mut(),
        };
        match self.ioctl(USBDEVFS_IOCTL, &mut c, "detach kernel driver") {
            Ok(_) => Ok(true),
            Err(UsbError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn claim(&mut self, iface: u8) -> Result<(), UsbError> {
        self.uint(USBDEVFS_CLAIMINTERFACE, iface.into(), "claim interface")
    }

    fn release(&mut self, iface: u8) -> Result<(), UsbError> {
        self.uint(USBDEVFS_RELEASEINTERFACE, iface.into(), "release interface")
    }

    fn bulk_out(&mut self, ep: u8, data: &[u8], t: Duration) -> Result<usize, UsbError> {
        // The kernel only reads from an OUT buffer.
        let mut copy = data.to_vec();
        self.bulk(ep & 0x7f, copy.as_mut_ptr(), copy.len(), t)
    }

    fn bulk_in(&mut self, ep: u8, buf: &mut [u8], t: Duration) -> Result<usize, UsbError> {
        self.bulk(ep | 0x80, buf.as_mut_ptr(), buf.len(), t)
    }

    fn clear_halt(&mut self, ep: u8) -> Result<(), UsbError> {
        self.uint(USBDEVFS_CLEAR_HALT, ep.into(), "clear halt")
    }

    fn control(
        &mut self,
        req_type: u8,
        request: u8,
        value: u16,
        index: u16,
        buf: &mut [u8],
        t: Duration,
    ) -> Result<usize, UsbError> {
        let mut c = CtrlTransfer {
            b_request_type: req_type,
            b_request: request,
            w_value: value,
            w_index: index,
            w_length: u16::try_from(buf.len())
                .map_err(|_| UsbError::Other("control transfer too long".into()))?,
            timeout: ms(t),
            data: if buf.is_empty() {
                std::ptr::null_mut()
            } else {
                buf.as_mut_ptr().cast()
            },
        };
        self.ioctl(USBDEVFS_CONTROL, &mut c, "control transfer")
            .map(|n| usize::try_from(n).unwrap_or(0))
    }

    fn set_configuration(&mut self, config: u8) -> Result<(), UsbError> {
        self.uint(
            USBDEVFS_SETCONFIGURATION,
            config.into(),
            "set configuration",
        )
    }

    fn reset(&mut self) -> Result<(), UsbError> {
        self.ioctl(USBDEVFS_RESET, std::ptr::null_mut::<u8>(), "reset")
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sim::{e367_storage, write_device};
    use super::super::tmp::TempDir;
    use super::*;

    /// The numbers `linux/usbdevice_fs.h` gives on x86_64 (checked against
    /// the C headers); on other targets the layout follows the same rules.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn ioctl_numbers_match_the_kernel_headers() {
        assert_eq!(USBDEVFS_CONTROL, 0xc018_5500);
        assert_eq!(USBDEVFS_BULK, 0xc018_5502);
        assert_eq!(USBDEVFS_SETCONFIGURATION, 0x8004_5505);
        assert_eq!(USBDEVFS_CLAIMINTERFACE, 0x8004_550f);
        assert_eq!(USBDEVFS_RELEASEINTERFACE, 0x8004_5510);
        assert_eq!(USBDEVFS_IOCTL, 0xc010_5512);
        assert_eq!(USBDEVFS_RESET, 0x0000_5514);
        assert_eq!(USBDEVFS_CLEAR_HALT, 0x8004_5515);
        assert_eq!(USBDEVFS_DISCONNECT, 0x0000_5516);
    }

    #[test]
    #[cfg(target_arch = "mips")]
    fn ioctl_numbers_mips32() {
        // mips: _IOC_READ 2, _IOC_WRITE 4 at bit 29; 32-bit pointers.
        // (Checked against linux/usbdevice_fs.h compiled for mips.)
        assert_eq!(USBDEVFS_BULK, 0xc010_5502);
        assert_eq!(USBDEVFS_CLAIMINTERFACE, 0x4004_550f);
        assert_eq!(USBDEVFS_RESET, 0x2000_5514);
    }

    #[test]
    fn no_dev_bus_usb_fails_cleanly() {
        let t = TempDir::new("warden-usbfs").unwrap();
        let mut u = UsbFs::new(t.path().join("sys"), t.path().join("dev/bus/usb"));
        let e = u.devices().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no USB devices: {}/dev/bus/usb missing", t.path().display())
        );
        // This machine's own state: a clean error where there is no USB.
        if !Path::new(DEV_BUS_USB).exists() {
            let e = UsbFs::default().devices().unwrap_err();
            assert_eq!(e.to_string(), "no USB devices: /dev/bus/usb missing");
        }
    }

    #[test]
    fn enumerates_sysfs_and_reports_missing_nodes() {
        let t = TempDir::new("warden-usbfs").unwrap();
        std::fs::create_dir_all(t.path().join("dev/bus/usb")).unwrap();
        write_device(&t.path().join("sys"), &e367_storage("1-1", 2)).unwrap();
        let mut u = UsbFs::new(t.path().join("sys"), t.path().join("dev/bus/usb"));
        let devs = u.devices().unwrap();
        assert_eq!(devs.len(), 1);
        let d = &devs[0];
        assert_eq!(d.id, UsbId::new(0x12d1, 0x1446));
        assert_eq!((d.bus, d.address), (1, 2));
        assert_eq!(d.first_bulk(0, false), Some(0x01));
        assert_eq!(d.first_bulk(0, true), Some(0x81));
        assert_eq!(d.interfaces[0].driver.as_deref(), Some("usb-storage"));
        assert_eq!(d.strings.manufacturer.as_deref(), Some("HUAWEI Technology"));
        // Node /dev/bus/usb/001/002 does not exist: the device is "gone".
        assert_eq!(u.open(d).err(), Some(UsbError::NoDevice));
        // A node that is not a usbdevfs file: ioctls fail with errors, not
        // panics.
        std::fs::create_dir_all(t.path().join("dev/bus/usb/001")).unwrap();
        std::fs::write(t.path().join("dev/bus/usb/001/002"), b"").unwrap();
        let mut h = u.open(d).unwrap();
        assert!(h.claim(0).is_err());
        assert!(h.bulk_out(1, &[0x55], Duration::from_secs(1)).is_err());
        let e = u.bind_option(UsbId::new(0x12d1, 0x1506)).unwrap_err();
        assert!(e.to_string().contains("modprobe option"), "{e}");
    }
}
