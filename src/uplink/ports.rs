//! Port discovery: which tty of a switched modem carries PPP and which
//! answers AT commands, found from sysfs by interface class, subclass and
//! protocol, never by ttyUSB number (the numbers shift between firmwares,
//! re-plugs and re-enumerations).
//!
//! Rules, first match wins per device:
//! 1. **Huawei** (vendor 12d1), as ModemManager's udev rules say:
//!    `ff/01/01` and `ff/02/01` are the PPP (modem) port, `ff/01/02` and
//!    `ff/02/02` the AT (PCUI) port.
//! 2. **Huawei, older firmware** reporting `ff/ff/ff` everywhere (E169,
//!    E1550...): the lowest-numbered tty interface is the modem, the highest
//!    the PCUI port.
//! 3. **CDC ACM** (interface class 02/02): the first ACM port is PPP, a
//!    second one AT; a single port serves both (AT before dialing).
//! 4. **Anything else**: a guess, logged as such: one port serves both; with
//!    several, the lowest-numbered interface is PPP and the highest AT. Set
//!    the uplink options `device` (PPP) and `control_device` (AT) to override.
//!
//! Overrides from the configuration always win over discovery; with both
//! set and there as ttys, the uplink skips USB discovery altogether
//! (`uplink::plant::configured_ports`).

use crate::uplink::usb::device::Device;
use crate::uplink::usb::sysfs;
use crate::uplink::usb::UsbId;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What a port is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ppp,
    At,
    /// Diagnostics, GPS, ... : not used.
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ppp => "ppp",
            Role::At => "at",
            Role::Other => "other",
        }
    }
}

/// One tty of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Kernel name: `ttyUSB2`.
    pub tty: String,
    /// Device node: `<dev_root>/ttyUSB2`.
    pub path: PathBuf,
    pub interface: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub role: Role,
}

/// The ports of one modem and the choice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    pub id: UsbId,
    pub sysname: String,
    pub product: Option<String>,
    pub ports: Vec<Port>,
    pub ppp: Option<PathBuf>,
    pub at: Option<PathBuf>,
    /// Which rule decided (for logs and `warden modem ports`).
    pub rule: &'static str,
}

/// Configured ports that win over discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub device: Option<PathBuf>,
    pub control_device: Option<PathBuf>,
}

/// Classify the ttys of `dev` (pure: the sysfs reading is done).
pub fn classify(dev: &Device, ttys: &[(u8, String)], dev_root: &Path) -> Ports {
    let mut ports: Vec<Port> = ttys
        .iter()
        .filter_map(|(n, tty)| {
            let i = dev.interface(*n)?;
            Some(Port {
                tty: tty.clone(),
                path: dev_root.join(tty),
                interface: i.number,
                class: i.class,
                subclass: i.subclass,
                protocol: i.protocol,
                role: Role::Other,
            })
        })
        .collect();
    ports.sort_by_key(|p| (p.interface, p.tty.clone()));
    let huawei = dev.id.vendor == 0x12d1;
    let mut rule = "none";
    if huawei {
        for p in &mut ports {
            p.role = match (p.class, p.subclass, p.protocol) {
                (0xff, 0x01 | 0x02, 0x01) => Role::Ppp,
                (0xff, 0x01 | 0x02, 0x02) => Role::At,
                _ => Role::Other,
            };
        }
        if ports.iter().any(|p| p.role != Role::Other) {
            rule = "huawei interface class";
        } else if !ports.is_empty()
            && ports
                .iter()
                .all(|p| (p.class, p.subclass, p.protocol) == (0xff, 0xff, 0xff))
        {
            first_last(&mut ports);
            rule = "huawei ff/ff/ff: first interface ppp, last at";
        }
    }
    if rule == "none" {
        let acm: Vec<usize> = (0..ports.len())
            .filter(|k| {
                ports
                    .get(*k)
                    .is_some_and(|p| p.class == 0x02 && p.subclass == 0x02)
            })
            .collect();
        if let Some(&first) = acm.first() {
            if let Some(p) = ports.get_mut(first) {
                p.role = Role::Ppp;
            }
            if let Some(p) = acm.get(1).and_then(|k| ports.get_mut(*k)) {
                p.role = Role::At;
            }
            rule = "cdc-acm";
        } else if !ports.is_empty() {
            first_last(&mut ports);
            rule = "generic guess: first interface ppp, last at";
        }
    }
    let find = |r: Role| ports.iter().find(|p| p.role == r).map(|p| p.path.clone());
    let ppp = find(Role::Ppp);
    // A modem with one usable port speaks AT on it before dialing.
    let at = find(Role::At).or_else(|| ppp.clone());
    Ports {
        id: dev.id,
        sysname: dev.sysname.clone(),
        product: dev.strings.product.clone(),
        ports,
        ppp,
        at,
        rule,
    }
}

fn first_last(ports: &mut [Port]) {
    let n = ports.len();
    if let Some(p) = ports.first_mut() {
        p.role = Role::Ppp;
    }
    if n > 1 {
        if let Some(p) = ports.last_mut() {
            p.role = Role::At;
        }
    }
}

impl Ports {
    /// Apply configured ports.
    pub fn with_overrides(mut self, o: &Overrides) -> Ports {
        if let Some(d) = &o.device {
            self.ppp = Some(d.clone());
            if o.control_device.is_none() && !self.ports.iter().any(|p| p.role == Role::At) {
                self.at = Some(d.clone());
            }
            self.rule = "configured";
        }
        if let Some(c) = &o.control_device {
            self.at = Some(c.clone());
            self.rule = "configured";
        }
        self
    }

    /// Text for `warden modem ports`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} {} {}\n",
            self.id,
            self.sysname,
            self.product.as_deref().unwrap_or("")
        );
        for p in &self.ports {
            let _ = writeln!(
                s,
                "  {:<8} if {:<2} {:02x}/{:02x}/{:02x} {:<5} {}",
                p.tty,
                p.interface,
                p.class,
                p.subclass,
                p.protocol,
                p.role.as_str(),
                p.path.display()
            );
        }
        let show = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into())
        };
        let _ = writeln!(s, "ppp: {}", show(&self.ppp));
        let _ = writeln!(s, "at: {}", show(&self.at));
        let _ = writeln!(s, "rule: {}", self.rule);
        s
    }

    /// JSON for `warden modem ports --json`.
    pub fn to_json(&self) -> String {
        let opt = |p: &Option<PathBuf>| match p {
            Some(p) => json_str(&p.display().to_string()),
            None => "null".into(),
        };
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{{\"tty\":{},\"path\":{},\"interface\":{},\"class\":\"{:02x}/{:02x}/{:02x}\",\"role\":\"{}\"}}",
                    json_str(&p.tty),
                    json_str(&p.path.display().to_string()),
                    p.interface,
                    p.class,
                    p.subclass,
                    p.protocol,
                    p.role.as_str()
                )
            })
            .collect();
        format!(
            "{{\"id\":\"{}\",\"sysname\":{},\"product\":{},\"ports\":[{}],\"ppp\":{},\"at\":{},\"rule\":{}}}",
            self.id,
            json_str(&self.sysname),
            self.product.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
            ports.join(","),
            opt(&self.ppp),
            opt(&self.at),
            json_str(self.rule)
        )
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Discover the ports of every USB device under `sysfs_root` that has ttys
/// (or only those with `id`), re-reading sysfs each call: call it again
/// after every re-enumeration.
pub fn discover(
    sysfs_root: &Path,
    dev_root: &Path,
    id: Option<UsbId>,
) -> std::io::Result<Vec<Ports>> {
    let dir = sysfs::devices_dir(sysfs_root);
    let devs = sysfs::devices(sysfs_root).map_err(|e| {
        let msg = if e.kind() == std::io::ErrorKind::NotFound {
            format!("no USB devices: {} missing", dir.display())
        } else {
            format!("{}: {e}", dir.display())
        };
        std::io::Error::new(e.kind(), msg)
    })?;
    Ok(devs
        .iter()
        .filter(|d| id.is_none_or(|id| d.id == id))
        .filter_map(|d| {
            let ttys = sysfs::device_ttys(sysfs_root, d);
            (!ttys.is_empty()).then(|| classify(d, &ttys, dev_root))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::usb::sim::{write_device, FakeDevice, FakeIface};
    use crate::uplink::usb::tmp::TempDir;

    /// An E367 after the switch (12d1:1506), modeled on real dumps: three
    /// option ports, a network interface and two storage interfaces.
    fn e367(sysname: &str, devnum: u16, ttys: [&str; 3]) -> FakeDevice {
        let mut d = FakeDevice::new(UsbId::new(0x12d1, 0x1506), sysname, 1, devnum);
        d.product = Some("HUAWEI Mobile".into());
        d.ifaces = vec![
            FakeIface::new(0, (0xff, 0x02, 0x01))
                .driver("option")
                .tty(ttys[0]),
            FakeIface::new(1, (0xff, 0x02, 0x02))
                .driver("option")
                .tty(ttys[1]),
            FakeIface::new(2, (0xff, 0x02, 0x12))
                .driver("option")
                .tty(ttys[2]),
            FakeIface::new(3, (0xff, 0x02, 0x16)).driver("qmi_wwan"),
            FakeIface::new(4, (0x08, 0x06, 0x50)).driver("usb-storage"),
            FakeIface::new(5, (0x08, 0x06, 0x50)).driver("usb-storage"),
        ];
        d
    }

    #[test]
    fn e367_by_class_not_number() {
        let t = TempDir::new("warden-ports").unwrap();
        write_device(t.path(), &e367("1-1", 3, ["ttyUSB0", "ttyUSB1", "ttyUSB2"])).unwrap();
        let found = discover(t.path(), Path::new("/dev"), None).unwrap();
        assert_eq!(found.len(), 1);
        let p = &found[0];
        assert_eq!(p.ppp.as_deref(), Some(Path::new("/dev/ttyUSB0")));
        assert_eq!(p.at.as_deref(), Some(Path::new("/dev/ttyUSB1")));
        assert_eq!(p.rule, "huawei interface class");
        assert_eq!(p.ports.len(), 3);
        assert_eq!(p.ports[2].role, Role::Other);

        // Re-plugged: re-enumerated as 1-2 with the numbers shifted.
        let t = TempDir::new("warden-ports").unwrap();
        write_device(t.path(), &e367("1-2", 4, ["ttyUSB5", "ttyUSB3", "ttyUSB4"])).unwrap();
        let p = &discover(
            t.path(),
            Path::new("/dev"),
            Some(UsbId::new(0x12d1, 0x1506)),
        )
        .unwrap()[0];
        assert_eq!(p.ppp.as_deref(), Some(Path::new("/dev/ttyUSB5")));
        assert_eq!(p.at.as_deref(), Some(Path::new("/dev/ttyUSB3")));
        let text = p.to_text();
        assert!(
            text.contains("ppp: /dev/ttyUSB5\nat: /dev/ttyUSB3\n"),
            "{text}"
        );
        let json = p.to_json();
        assert!(json.contains("\"ppp\":\"/dev/ttyUSB5\""), "{json}");
        assert!(
            json.contains("\"class\":\"ff/02/01\",\"role\":\"ppp\""),
            "{json}"
        );
        crate::uplink::usb::json::parse(&json).unwrap();
    }

    #[test]
    fn older_huawei_and_generic_rules() {
        let t = TempDir::new("warden-ports").unwrap();
        let mut d = FakeDevice::new(UsbId::new(0x12d1, 0x1001), "2-1", 2, 5);
        d.ifaces = (0..3)
            .map(|n| {
                FakeIface::new(n, (0xff, 0xff, 0xff))
                    .driver("option")
                    .tty(&format!("ttyUSB{n}"))
            })
            .collect();
        write_device(t.path(), &d).unwrap();
        let mut z = FakeDevice::new(UsbId::new(0x19d2, 0x0031), "2-2", 2, 6);
        z.ifaces = vec![
            FakeIface::new(0, (0xff, 0xff, 0xff))
                .driver("option")
                .tty("ttyUSB3"),
            FakeIface::new(1, (0xff, 0xff, 0xff))
                .driver("option")
                .tty("ttyUSB4"),
        ];
        write_device(t.path(), &z).unwrap();
        let mut a = FakeDevice::new(UsbId::new(0x1234, 0x0001), "2-3", 2, 7);
        a.ifaces = vec![FakeIface::new(0, (0x02, 0x02, 0x01))
            .driver("cdc_acm")
            .acm("ttyACM0")];
        write_device(t.path(), &a).unwrap();
        let found = discover(t.path(), Path::new("/dev"), None).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].ppp.as_deref(), Some(Path::new("/dev/ttyUSB0")));
        assert_eq!(found[0].at.as_deref(), Some(Path::new("/dev/ttyUSB2")));
        assert!(found[0].rule.starts_with("huawei ff/ff/ff"));
        assert!(found[1].rule.starts_with("generic guess"));
        assert_eq!(found[1].at.as_deref(), Some(Path::new("/dev/ttyUSB4")));
        assert_eq!(found[2].rule, "cdc-acm");
        assert_eq!(found[2].ppp.as_deref(), Some(Path::new("/dev/ttyACM0")));
        assert_eq!(found[2].at.as_deref(), Some(Path::new("/dev/ttyACM0")));
    }

    #[test]
    fn overrides_win() {
        let t = TempDir::new("warden-ports").unwrap();
        write_device(t.path(), &e367("1-1", 3, ["ttyUSB0", "ttyUSB1", "ttyUSB2"])).unwrap();
        let p = discover(t.path(), Path::new("/dev"), None)
            .unwrap()
            .remove(0);
        let o = Overrides {
            device: Some("/dev/ttyUSB2".into()),
            control_device: None,
        };
        let q = p.clone().with_overrides(&o);
        assert_eq!(q.ppp.as_deref(), Some(Path::new("/dev/ttyUSB2")));
        assert_eq!(q.at.as_deref(), Some(Path::new("/dev/ttyUSB1")));
        assert_eq!(q.rule, "configured");
        let o = Overrides {
            device: None,
            control_device: Some("/dev/ttyS0".into()),
        };
        assert_eq!(
            p.with_overrides(&o).at.as_deref(),
            Some(Path::new("/dev/ttyS0"))
        );
    }

    #[test]
    fn no_usb_sysfs_is_a_clear_error() {
        let t = TempDir::new("warden-ports").unwrap();
        let e = discover(t.path(), Path::new("/dev"), None).unwrap_err();
        assert!(e.to_string().contains("bus/usb/devices"), "{e}");
        // A device with no ttys (still in storage mode) is not listed.
        let mut d = FakeDevice::new(UsbId::new(0x12d1, 0x1446), "1-1", 1, 2);
        d.ifaces = vec![FakeIface::new(0, (0x08, 0x06, 0x50)).driver("usb-storage")];
        write_device(t.path(), &d).unwrap();
        assert!(discover(t.path(), Path::new("/dev"), None)
            .unwrap()
            .is_empty());
    }
}
