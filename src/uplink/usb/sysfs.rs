//! USB devices from sysfs (`<root>/bus/usb/devices`), the way the kernel
//! lays them out:
//!
//! ```text
//! bus/usb/devices/1-1/            idVendor idProduct busnum devnum bDeviceClass
//!                                 bConfigurationValue manufacturer product serial
//! bus/usb/devices/1-1/1-1:1.0/    bInterfaceNumber bInterfaceClass
//!                                 bInterfaceSubClass bInterfaceProtocol
//!                                 driver -> .../drivers/option
//!                                 ep_81/{bEndpointAddress,type}
//!                                 ttyUSB0/          (usb-serial port)
//!                                 tty/ttyACM0/      (cdc-acm)
//! ```
//!
//! Reading never panics: a device whose files are unreadable or malformed is
//! skipped (it may be vanishing as we read).

use super::device::{Device, Endpoint, EpKind, Interface};
use super::table::{DeviceStrings, UsbId};
use std::fs;
use std::path::{Path, PathBuf};

/// `<root>/bus/usb/devices`.
pub fn devices_dir(root: &Path) -> PathBuf {
    root.join("bus/usb/devices")
}

fn read(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn hex(p: &Path) -> Option<u16> {
    u16::from_str_radix(&read(p)?, 16).ok()
}

fn hex8(p: &Path) -> Option<u8> {
    u8::from_str_radix(&read(p)?, 16).ok()
}

fn dec(p: &Path) -> Option<u16> {
    read(p)?.parse().ok()
}

/// Every USB device under `root` (interfaces included), sorted by name.
pub fn devices(root: &Path) -> std::io::Result<Vec<Device>> {
    let dir = devices_dir(root);
    let mut names: Vec<String> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.contains(':'))
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .filter_map(|n| device(&dir.join(&n), &n))
        .collect())
}

/// One device directory.
pub fn device(path: &Path, sysname: &str) -> Option<Device> {
    let id = UsbId::new(hex(&path.join("idVendor"))?, hex(&path.join("idProduct"))?);
    let mut interfaces: Vec<Interface> = fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            n.strip_prefix(sysname)?.strip_prefix(':')?;
            interface(&path.join(&n))
        })
        .collect();
    interfaces.sort_by_key(|i| i.number);
    Some(Device {
        id,
        bus: dec(&path.join("busnum")).unwrap_or(0),
        address: dec(&path.join("devnum")).unwrap_or(0),
        sysname: sysname.to_string(),
        class: hex8(&path.join("bDeviceClass")).unwrap_or(0),
        configuration: read(&path.join("bConfigurationValue")).and_then(|s| s.parse().ok()),
        strings: DeviceStrings {
            manufacturer: read(&path.join("manufacturer")),
            product: read(&path.join("product")),
            serial: read(&path.join("serial")),
        },
        interfaces,
    })
}

fn interface(path: &Path) -> Option<Interface> {
    let mut endpoints: Vec<Endpoint> = fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ep_"))
        .filter_map(|e| {
            let p = e.path();
            let kind = match read(&p.join("type"))?.as_str() {
                "Bulk" => EpKind::Bulk,
                "Interrupt" => EpKind::Interrupt,
                "Isoc" => EpKind::Isochronous,
                _ => EpKind::Control,
            };
            Some(Endpoint {
                address: hex8(&p.join("bEndpointAddress"))?,
                kind,
            })
        })
        .collect();
    endpoints.sort_by_key(|e| e.address);
    Some(Interface {
        number: hex8(&path.join("bInterfaceNumber"))?,
        class: hex8(&path.join("bInterfaceClass"))?,
        subclass: hex8(&path.join("bInterfaceSubClass")).unwrap_or(0),
        protocol: hex8(&path.join("bInterfaceProtocol")).unwrap_or(0),
        endpoints,
        driver: fs::read_link(path.join("driver"))
            .ok()
            .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned())),
    })
}

/// The serial ports (`ttyUSB0`, `ttyACM0`, ...) of one interface directory.
pub fn interface_ttys(iface_dir: &Path) -> Vec<String> {
    let is_tty = |n: &str| {
        n.starts_with("tty") && n.len() > 3 && n.bytes().last().is_some_and(|b| b.is_ascii_digit())
    };
    let list = |d: &Path| -> Vec<String> {
        fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| is_tty(n))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut v = list(iface_dir);
    v.extend(list(&iface_dir.join("tty")));
    v.sort();
    v.dedup();
    v
}

/// The ttys of a device, by interface (no classification: that is
/// `uplink::ports::classify`, which reads nothing).
pub fn device_ttys(sysfs_root: &Path, dev: &Device) -> Vec<(u8, String)> {
    let dir = devices_dir(sysfs_root).join(&dev.sysname);
    let mut out = Vec::new();
    for i in &dev.interfaces {
        // Interface directories are named <sysname>:<config>.<number>.
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let n = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = n
                .strip_prefix(dev.sysname.as_str())
                .and_then(|r| r.strip_prefix(':'))
            else {
                continue;
            };
            let num = rest.split_once('.').and_then(|(_, n)| n.parse::<u8>().ok());
            if num == Some(i.number) {
                for t in interface_ttys(&e.path()) {
                    out.push((i.number, t));
                }
            }
        }
    }
    out
}
