//! The recovery ladder's rungs above cfun, as I/O (the ladder's decisions
//! are `ladder.rs`): which USB device is the modem, its USB reset, its
//! port's power cycle through sysfs, and the board's USB power switch.
//!
//! Everything is found under a sysfs root and a usbdevfs root given by the
//! caller, so tests run on a fake tree in a temporary directory; the
//! pause between off and on is the caller's too.
//!
//! - usb_reset: `USBDEVFS_RESET` on `/dev/bus/usb/BBB/DDD`; the kernel
//!   re-enumerates and rebinds the drivers (tty names may move: the
//!   supervisor finds the ports again).
//! - port_power: the hub port's `disable` (1, then 0; `<dev>/port/disable`,
//!   else `<hub-intf>/<hub>-port<N>/disable`, Linux 6.0+; it cuts Vbus
//!   only on hubs with per-port power switching), else the device's
//!   `authorized` (0, then 1: every interface unbound and probed again).
//! - gpio: `gpio_power` is a GPIO's `value` (`0`, then `1`; an
//!   `active_low` line is the kernel's business) or an LED's `brightness`
//!   (`0`, then its `max_brightness`), e.g. the TL-WR1043ND v2-v4's
//!   `/sys/class/gpio/tp-link:power:usb/value`.

use super::supervisor::{Cause, PlantError};
use super::usb::device::{Device, Usb, UsbError};
use super::usb::sysfs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The modem's USB device: the one whose interfaces own the AT port's tty
/// (`at`, or the file it links to), else the one device with both a PPP
/// and an AT port.
pub fn modem_device(
    sysfs_root: &Path,
    dev_root: &Path,
    at: Option<&Path>,
) -> Result<Device, PlantError> {
    let devs = sysfs::devices(sysfs_root).map_err(|e| {
        PlantError::new(
            Cause::Config,
            format!(
                "no USB devices: {}: {e}",
                sysfs::devices_dir(sysfs_root).display()
            ),
        )
    })?;
    let mut names: Vec<String> = Vec::new();
    if let Some(at) = at {
        for p in [Some(at.to_path_buf()), std::fs::canonicalize(at).ok()]
            .into_iter()
            .flatten()
        {
            if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                names.push(n.to_string());
            }
        }
        if let Some(d) = devs.iter().find(|d| {
            sysfs::device_ttys(sysfs_root, d)
                .iter()
                .any(|(_, t)| names.contains(t))
        }) {
            return Ok(d.clone());
        }
    }
    let found = super::ports::discover(sysfs_root, dev_root, None)
        .map_err(|e| PlantError::new(Cause::Config, e.to_string()))?;
    let modems: Vec<&super::ports::Ports> = found
        .iter()
        .filter(|p| p.ppp.is_some() && p.at.is_some())
        .collect();
    if let [one] = modems.as_slice() {
        if let Some(d) = devs.iter().find(|d| d.sysname == one.sysname) {
            return Ok(d.clone());
        }
    }
    let port = at.map_or("no AT port known".to_string(), |p| {
        format!("{} is no USB device's tty", p.display())
    });
    Err(PlantError::new(
        Cause::Config,
        format!(
            "no USB modem to recover ({port}; {} modems on USB)",
            modems.len()
        ),
    ))
}

/// `USBDEVFS_RESET` on the device's usbdevfs node.
pub fn usb_reset(usb: &mut dyn Usb, dev: &Device) -> Result<(), PlantError> {
    let what = format!(
        "USB reset of {} ({}, bus {} device {})",
        dev.sysname, dev.id, dev.bus, dev.address
    );
    let err = |e: UsbError| {
        let cause = match e {
            UsbError::NoDevice | UsbError::NotFound => Cause::Gone,
            UsbError::Timeout => Cause::Timeout,
            UsbError::Access(_) | UsbError::Unavailable(_) => Cause::Config,
            _ => Cause::Other,
        };
        PlantError::new(cause, format!("{what}: {e}"))
    };
    let mut h = usb.open(dev).map_err(err)?;
    h.reset().map_err(err)?;
    log::info!("uplink: {what}: done");
    Ok(())
}

/// The hub port's `disable` file for a device named `sysname`, as the
/// kernel names port devices (`%s-port%d` after the hub, under the hub's
/// interface): `1-1.2` -> `1-1:1.0/1-1-port2/disable`, a root hub's
/// `1-1` -> `usb1/1-0:1.0/usb1-port1/disable`.
pub fn hub_port_disable(sysfs_root: &Path, sysname: &str) -> Option<PathBuf> {
    let dir = sysfs::devices_dir(sysfs_root);
    let (hub, port, intf) = match sysname.rsplit_once('.') {
        Some((hub, port)) => (hub.to_string(), port, format!("{hub}:1.0")),
        None => {
            let (bus, port) = sysname.split_once('-')?;
            (format!("usb{bus}"), port, format!("{bus}-0:1.0"))
        }
    };
    let port: u32 = port.parse().ok()?;
    Some(
        dir.join(intf)
            .join(format!("{hub}-port{port}"))
            .join("disable"),
    )
}

fn write(p: &Path, v: &str) -> Result<(), PlantError> {
    std::fs::write(p, v).map_err(|e| {
        let cause = match e.kind() {
            io::ErrorKind::NotFound => Cause::Gone,
            io::ErrorKind::PermissionDenied => Cause::Config,
            _ => Cause::Other,
        };
        PlantError::new(cause, format!("writing {v} to {}: {e}", p.display()))
    })
}

/// Power the device's port off and on: the hub port's `disable`, else the
/// device's `authorized`. `pause` waits between the two writes.
pub fn port_power(
    sysfs_root: &Path,
    dev: &Device,
    pause: &mut dyn FnMut(Duration),
    off: Duration,
) -> Result<(), PlantError> {
    let dir = sysfs::devices_dir(sysfs_root).join(&dev.sysname);
    let disable = [
        Some(dir.join("port/disable")),
        hub_port_disable(sysfs_root, &dev.sysname),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file());
    let (file, off_v, on_v) = match disable {
        // The port's own path: the device's directory (and its `port`
        // link) is gone once the port is off.
        Some(p) => (std::fs::canonicalize(&p).unwrap_or(p), "1", "0"),
        None if dir.join("authorized").is_file() => (dir.join("authorized"), "0", "1"),
        None => {
            return Err(PlantError::new(
                Cause::Config,
                format!(
                    "no way to power {} off: no hub port 'disable' file, no 'authorized' in {}",
                    dev.sysname,
                    dir.display()
                ),
            ))
        }
    };
    write(&file, off_v)?;
    pause(off);
    write(&file, on_v)?;
    log::info!(
        "uplink: port power of {} cycled ({} {off_v}, then {on_v})",
        dev.sysname,
        file.display()
    );
    Ok(())
}

/// The board's USB power switch off and on: `0` then `1` to a GPIO's
/// `value`, `0` then `max_brightness` to an LED's `brightness`.
pub fn gpio_power(
    path: Option<&Path>,
    pause: &mut dyn FnMut(Duration),
    off: Duration,
) -> Result<(), PlantError> {
    let Some(path) = path else {
        return Err(PlantError::new(
            Cause::Config,
            "no gpio_power configured (the board's USB power switch)",
        ));
    };
    let on = if path.file_name().is_some_and(|n| n == "brightness") {
        path.parent()
            .and_then(|d| std::fs::read_to_string(d.join("max_brightness")).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s != "0")
            .unwrap_or_else(|| "1".into())
    } else {
        "1".into()
    };
    let cfg = |e: PlantError| match e.cause {
        // A configured switch that is not there is the configuration's.
        Cause::Gone => PlantError::new(Cause::Config, format!("gpio_power: {}", e.what)),
        _ => e,
    };
    write(path, "0").map_err(cfg)?;
    pause(off);
    write(path, &on).map_err(cfg)?;
    log::info!(
        "uplink: USB power switched off and on ({} 0, then {on})",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::usb::sim::{e367_modem, write_device, FakeDevice};
    use super::super::usb::table::UsbId;
    use super::super::usb::tmp::TempDir;
    use super::super::usb::usbfs::UsbFs;
    use super::*;
    use std::fs;

    /// A fake sysfs with an E367 at 1-1.2 (bus 1, device 5; ttyUSB0..2)
    /// behind a hub at 1-1, and a printer at 1-1.3.
    fn tree() -> (TempDir, PathBuf) {
        let t = TempDir::new("warden-recover").unwrap();
        let root = t.path().join("sys");
        write_device(&root, &e367_modem("1-1.2", 5, 0, true)).unwrap();
        let mut other = FakeDevice::new(UsbId::new(0x04b8, 0x0005), "1-1.3", 1, 6);
        other.ifaces = vec![];
        write_device(&root, &other).unwrap();
        (t, root)
    }

    #[test]
    fn the_modem_is_the_device_of_its_at_tty() {
        let (t, root) = tree();
        let dev = t.path().join("dev");
        let d = modem_device(&root, &dev, Some(Path::new("/dev/ttyUSB1"))).unwrap();
        assert_eq!((d.sysname.as_str(), d.bus, d.address), ("1-1.2", 1, 5));
        // Unknown port: the one USB modem there is.
        let d = modem_device(&root, &dev, Some(Path::new("/dev/ttyS0"))).unwrap();
        assert_eq!(d.sysname, "1-1.2");
        let d = modem_device(&root, &dev, None).unwrap();
        assert_eq!(d.sysname, "1-1.2");
        // No USB modem at all: a configuration matter, said.
        fs::remove_dir_all(sysfs::devices_dir(&root).join("1-1.2")).unwrap();
        let e = modem_device(&root, &dev, Some(Path::new("/dev/ttyS0"))).unwrap_err();
        assert_eq!(e.cause, Cause::Config);
        assert!(e.what.contains("/dev/ttyS0 is no USB device's tty"), "{e}");
        let e = modem_device(&t.path().join("nothing"), &dev, None).unwrap_err();
        assert!(e.what.starts_with("no USB devices"), "{e}");
    }

    #[test]
    fn usb_reset_opens_the_devices_node() {
        let (t, root) = tree();
        let bus = t.path().join("dev/bus/usb");
        let mut usb = UsbFs::new(&root, &bus);
        let d = modem_device(&root, &t.path().join("dev"), Some(Path::new("ttyUSB1"))).unwrap();
        // No node: gone.
        let e = usb_reset(&mut usb, &d).unwrap_err();
        assert_eq!(e.cause, Cause::Gone, "{e}");
        assert!(e.what.starts_with("USB reset of 1-1.2 (12d1:1506"), "{e}");
        // A node that is no usbdevfs file: the ioctl on it fails, cleanly,
        // naming the node.
        fs::create_dir_all(bus.join("001")).unwrap();
        fs::write(bus.join("001/005"), b"").unwrap();
        let e = usb_reset(&mut usb, &d).unwrap_err();
        assert!(
            e.what
                .contains(&format!("reset on {}", bus.join("001/005").display())),
            "{e}"
        );
    }

    #[test]
    fn hub_ports_are_named_as_the_kernel_names_them() {
        let r = Path::new("/sys");
        let p = |s: &str| hub_port_disable(r, s).map(|p| p.display().to_string());
        assert_eq!(
            p("1-1.2").as_deref(),
            Some("/sys/bus/usb/devices/1-1:1.0/1-1-port2/disable")
        );
        assert_eq!(
            p("2-1").as_deref(),
            Some("/sys/bus/usb/devices/2-0:1.0/usb2-port1/disable")
        );
        assert_eq!(
            p("1-1.4.3").as_deref(),
            Some("/sys/bus/usb/devices/1-1.4:1.0/1-1.4-port3/disable")
        );
        assert_eq!(p("usb1"), None);
        assert_eq!(p("1-x"), None);
    }

    /// The hub port's `disable` when there is one (1 while off, then 0),
    /// else the device's `authorized` (0 while off, then 1), else a clear
    /// error.
    #[test]
    fn port_power_prefers_the_hub_port_then_authorized() {
        let (t, root) = tree();
        let dev = t.path().join("dev");
        let d = modem_device(&root, &dev, None).unwrap();
        let e = port_power(&root, &d, &mut |_| {}, Duration::ZERO).unwrap_err();
        assert_eq!(e.cause, Cause::Config);
        assert!(e.what.contains("no way to power 1-1.2 off"), "{e}");
        let auth = sysfs::devices_dir(&root).join("1-1.2/authorized");
        fs::write(&auth, "1\n").unwrap();
        let mut seen = Vec::new();
        port_power(
            &root,
            &d,
            &mut |off| seen.push((off, fs::read_to_string(&auth).unwrap())),
            Duration::from_millis(2500),
        )
        .unwrap();
        assert_eq!(seen, [(Duration::from_millis(2500), "0".to_string())]);
        assert_eq!(fs::read_to_string(&auth).unwrap(), "1");
        let port = sysfs::devices_dir(&root).join("1-1:1.0/1-1-port2");
        fs::create_dir_all(&port).unwrap();
        fs::write(port.join("disable"), "0\n").unwrap();
        let mut seen = Vec::new();
        port_power(
            &root,
            &d,
            &mut |_| seen.push(fs::read_to_string(port.join("disable")).unwrap()),
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(seen, ["1"]);
        assert_eq!(fs::read_to_string(port.join("disable")).unwrap(), "0");
        assert_eq!(
            fs::read_to_string(&auth).unwrap(),
            "1",
            "authorized untouched"
        );
    }

    #[test]
    fn gpio_power_switches_a_gpio_or_an_led() {
        let t = TempDir::new("warden-gpio").unwrap();
        let gpio = t.path().join("class/gpio/tp-link:power:usb");
        fs::create_dir_all(&gpio).unwrap();
        let value = gpio.join("value");
        fs::write(&value, "1\n").unwrap();
        let mut seen = Vec::new();
        gpio_power(
            Some(&value),
            &mut |_| seen.push(fs::read_to_string(&value).unwrap()),
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(
            (
                seen[0].as_str(),
                fs::read_to_string(&value).unwrap().as_str()
            ),
            ("0", "1")
        );
        let led = t.path().join("class/leds/usb-power");
        fs::create_dir_all(&led).unwrap();
        fs::write(led.join("max_brightness"), "255\n").unwrap();
        fs::write(led.join("brightness"), "255\n").unwrap();
        gpio_power(Some(&led.join("brightness")), &mut |_| {}, Duration::ZERO).unwrap();
        assert_eq!(fs::read_to_string(led.join("brightness")).unwrap(), "255");
        // Not configured, or not there: the configuration's matter.
        let e = gpio_power(None, &mut |_| {}, Duration::ZERO).unwrap_err();
        assert_eq!(e.cause, Cause::Config);
        let e = gpio_power(
            Some(&t.path().join("gpio99/value")),
            &mut |_| {},
            Duration::ZERO,
        )
        .unwrap_err();
        assert_eq!(e.cause, Cause::Config);
        assert!(e.what.starts_with("gpio_power: writing 0 to "), "{e}");
    }
}
