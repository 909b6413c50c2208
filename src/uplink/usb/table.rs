//! The switch table: which USB ids are modems in disguise, and how to wake
//! each one up.
//!
//! Entries come from three places, in this order of precedence:
//! 1. files given explicitly (`--data`, config `modeswitch_data`): a
//!    usb-modeswitch-data directory or single file, a `configPack.tar.gz`
//!    (cargo feature `configpack`), or an OpenWRT `/etc/usb-mode.json`;
//! 2. the built-in entries below (Huawei E367 and its siblings), so the
//!    common sticks work with no database installed at all.
//!
//! Everything here is pure: bytes and text in, entries or errors naming the
//! file and line out. [`SwitchEntry::plan`] turns an entry into the list of
//! USB operations that `usb_modeswitch` (2.x) would perform; the executor in
//! [`super::switch`] runs that list against a [`super::Usb`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A USB vendor:product pair, printed as `12d1:1446`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsbId {
    pub vendor: u16,
    pub product: u16,
}

impl UsbId {
    pub const fn new(vendor: u16, product: u16) -> UsbId {
        UsbId { vendor, product }
    }
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.product)
    }
}

impl FromStr for UsbId {
    type Err = String;
    /// `12d1:1446`, `0x12d1:0x1446` or OpenWRT hotplug's `12d1/1446[/bcd]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a USB id (expected vvvv:pppp in hex, e.g. 12d1:1446)");
        let mut parts = s.split([':', '/']);
        let v = parts.next().and_then(parse_hex16).ok_or_else(bad)?;
        let p = parts.next().and_then(parse_hex16).ok_or_else(bad)?;
        if s.contains(':') && parts.next().is_some() {
            return Err(bad());
        }
        Ok(UsbId::new(v, p))
    }
}

/// Hex with or without `0x`, surrounding blanks allowed: `0x12d1`, `12D1`.
pub fn parse_hex16(s: &str) -> Option<u16> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    u16::from_str_radix(s, 16).ok()
}

pub(super) fn parse_hex8(s: &str) -> Option<u8> {
    parse_hex16(s).and_then(|v| u8::try_from(v).ok())
}

/// Hex string to bytes: `5553...` -> `[0x55, 0x53, ...]`.
pub fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(format!("hex string of odd length {}", s.len()));
    }
    let digits = s.as_bytes();
    let mut out = Vec::with_capacity(digits.len() / 2);
    for (i, pair) in digits.chunks(2).enumerate() {
        let hi = hex_digit(pair.first().copied());
        let lo = hex_digit(pair.get(1).copied());
        match (hi, lo) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return Err(format!("not a hex digit at offset {}", i * 2)),
        }
    }
    Ok(out)
}

fn hex_digit(c: Option<u8>) -> Option<u8> {
    match c? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The `HuaweiNewMode` message built into usb_modeswitch >= 2.4: a mass
/// storage Command Block Wrapper ("USBC", tag 0x12345678, no data, LUN 0, CB
/// length 0x11) carrying Huawei's vendor command `11 06 20 00 00 01 01 00 01`
/// (0x20: "Linux mode").
pub const HUAWEI_NEW_MESSAGE: &str =
    "55534243123456780000000000000011062000000101000100000000000000";
/// usb_modeswitch's `StandardEject`: ALLOW MEDIUM REMOVAL, then START STOP
/// UNIT with LoEj set.
pub const STANDARD_EJECT_1: &str = "5553424387654321000000000000061e000000000000000000000000000000";
pub const STANDARD_EJECT_2: &str = "5553424397654321000000000000061b000000020000000000000000000000";
/// usb_modeswitch's `OptionMode` message (Option "HSO" devices).
pub const OPTION_MESSAGE: &str = "55534243123456780000000000000601000000000000000000000000000000";
/// usb_modeswitch's `CiscoMode` sequence, each message answered by a CSW.
const CISCO_MESSAGES: [&str; 11] = [
    "55534243f83bcd810002000080000afd000000030000000100000000000000",
    "55534243984300820002000080000afd000000070000000100000000000000",
    "55534243984300820000000000000afd000100071000000000000000000000",
    "55534243984300820002000080000afd000200230000000100000000000000",
    "55534243984300820000000000000afd000300238200000000000000000000",
    "55534243984300820002000080000afd000200260000000100000000000000",
    "55534243984300820000000000000afd00030026c800000000000000000000",
    "55534243d84c04820002000080000afd000010730000000100000000000000",
    "55534243d84c04820002000080000afd000200240000000100000000000000",
    "55534243d84c04820000000000000afd000300241300000000000000000000",
    "55534243d84c04820000000000000afd000110732400000000000000000000",
];

/// How a device is switched: usb_modeswitch's "special modes", or plain
/// messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `MessageContent`(2/3) sent to the bulk-out endpoint.
    Messages,
    /// The two standard SCSI eject commands (plus `MessageContent`, if any).
    StandardEject,
    /// `HuaweiNewMode`: the built-in Huawei CBW above.
    HuaweiNew,
    /// `HuaweiMode`: a standard SET_FEATURE(1) control request to the device.
    Huawei,
    /// `OptionMode`: the built-in Option CBW.
    Option,
    Sierra,
    Sequans,
    Quanta,
    Kobil,
    Qisda,
    Gct,
    Blackberry,
    /// `PantechMode=n`: the value is passed through as wValue.
    Pantech(u16),
    Cisco,
    /// Known to usb_modeswitch but not implemented here (clear error).
    Sony,
    MobileAction,
    /// OpenWRT usbmode's "MBIM": pick the MBIM configuration.
    Mbim,
    /// `DetachStorageOnly`: unbinding usb-storage is the whole switch.
    DetachOnly,
    /// Nothing but `Configuration`/`AltSetting` (or no method at all).
    ConfigOnly,
}

impl Method {
    /// The name usb_modeswitch's data files use.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Messages => "MessageContent",
            Method::StandardEject => "StandardEject",
            Method::HuaweiNew => "HuaweiNewMode",
            Method::Huawei => "HuaweiMode",
            Method::Option => "OptionMode",
            Method::Sierra => "SierraMode",
            Method::Sequans => "SequansMode",
            Method::Quanta => "QuantaMode",
            Method::Kobil => "KobilMode",
            Method::Qisda => "QisdaMode",
            Method::Gct => "GCTMode",
            Method::Blackberry => "BlackberryMode",
            Method::Pantech(_) => "PantechMode",
            Method::Cisco => "CiscoMode",
            Method::Sony => "SonyMode",
            Method::MobileAction => "MobileActionMode",
            Method::Mbim => "MBIM",
            Method::DetachOnly => "DetachStorageOnly",
            Method::ConfigOnly => "Configuration",
        }
    }
}

/// A variant keyed by more than vid:pid (usb-modeswitch-data file names like
/// `05c6:1000:uMa=Qualcomm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualifier {
    /// `uMa=`: the USB manufacturer string contains this.
    Manufacturer(String),
    /// `uPr=`: the USB product string contains this.
    Product(String),
    /// `uSe=`: the USB serial string contains this.
    Serial(String),
    /// `sVe=`/`sMo=`/`sRe=`: SCSI INQUIRY strings, which warden does not
    /// read; such variants are used only when nothing better matches.
    Scsi(String),
}

impl Qualifier {
    pub(super) fn parse(s: &str) -> Result<Qualifier, String> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("qualifier '{s}' has no '='"))?;
        let v = v.to_string();
        Ok(match k {
            "uMa" => Qualifier::Manufacturer(v),
            "uPr" => Qualifier::Product(v),
            "uSe" => Qualifier::Serial(v),
            "sVe" | "sMo" | "sRe" => Qualifier::Scsi(s.to_string()),
            _ => return Err(format!("unknown qualifier '{k}' in '{s}'")),
        })
    }
}

/// Where an entry came from (for messages and `--data` precedence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in table"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One device the table knows how to switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchEntry {
    /// The id in "install" (storage) mode.
    pub id: UsbId,
    pub qualifier: Option<Qualifier>,
    /// The comment naming the device, if the data file had one.
    pub name: Option<String>,
    pub method: Method,
    /// MessageContent, MessageContent2, MessageContent3 (decoded).
    pub messages: Vec<Vec<u8>>,
    /// Read a response after non-CBW messages too.
    pub need_response: bool,
    pub message_endpoint: Option<u8>,
    pub response_endpoint: Option<u8>,
    pub interface: Option<u8>,
    pub configuration: Option<u8>,
    pub alt_setting: Option<u8>,
    pub target_vendor: Option<u16>,
    /// TargetProduct / TargetProductList.
    pub target_products: Vec<u16>,
    pub target_class: Option<u8>,
    /// Seconds to wait before switching (`WaitBefore`).
    pub wait_before: u32,
    /// Milliseconds to wait before releasing the interface (`ReleaseDelay`).
    pub release_delay_ms: u32,
    pub reset_usb: bool,
    /// The target needs no serial driver (`NoDriverLoading`).
    pub no_driver_loading: bool,
    pub source: Source,
}

impl SwitchEntry {
    /// An entry with no method and no targets yet.
    pub fn new(id: UsbId, source: Source) -> SwitchEntry {
        SwitchEntry {
            id,
            qualifier: None,
            name: None,
            method: Method::ConfigOnly,
            messages: Vec::new(),
            need_response: false,
            message_endpoint: None,
            response_endpoint: None,
            interface: None,
            configuration: None,
            alt_setting: None,
            target_vendor: None,
            target_products: Vec::new(),
            target_class: None,
            wait_before: 0,
            release_delay_ms: 0,
            reset_usb: false,
            no_driver_loading: false,
            source,
        }
    }

    /// Is `id` one of this entry's targets? With only a target class the
    /// device keeps its id (the class is checked by the caller).
    pub fn is_target(&self, id: UsbId) -> bool {
        match self.target_vendor {
            Some(v) if !self.target_products.is_empty() => {
                id.vendor == v && self.target_products.contains(&id.product)
            }
            Some(v) => id.vendor == v && id != self.id,
            None => false,
        }
    }

    /// Target ids as text, for messages: `12d1:{1001,1404,...}`.
    pub fn targets_text(&self) -> String {
        match (self.target_vendor, self.target_class) {
            (Some(v), _) if !self.target_products.is_empty() => {
                let list: Vec<String> = self
                    .target_products
                    .iter()
                    .map(|p| format!("{p:04x}"))
                    .collect();
                format!("{v:04x}:{{{}}}", list.join(","))
            }
            (Some(v), _) => format!("{v:04x}:*"),
            (None, Some(c)) => format!("{} with class {c:02x}", self.id),
            (None, None) => "(none given)".into(),
        }
    }

    /// The USB operations that switch this device, in order.
    pub fn plan(&self) -> Result<Vec<Step>, String> {
        let mut p = Vec::new();
        // Waits are bounded (a minute) so a bad data file cannot stall
        // hotplug handling for days.
        if self.wait_before > 0 {
            p.push(Step::Sleep(self.wait_before.min(60) * 1000));
        }
        let ctl =
            |req_type: u8, request: u8, value: u16, index: u16, data: Vec<u8>| Step::Control {
                req_type,
                request,
                value,
                index,
                data,
            };
        let hex = |s: &str| parse_hex_bytes(s).map_err(|e| format!("built-in message: {e}"));
        match &self.method {
            Method::Messages => {
                if self.messages.is_empty() {
                    return Err("no MessageContent to send".into());
                }
                p.push(Step::Detach);
                self.message_steps(&mut p, &self.messages, self.need_response);
            }
            Method::StandardEject => {
                let mut m = vec![hex(STANDARD_EJECT_1)?, hex(STANDARD_EJECT_2)?];
                if let Some(first) = self.messages.first() {
                    m.push(first.clone());
                }
                p.push(Step::Detach);
                self.message_steps(&mut p, &m, true);
            }
            Method::HuaweiNew => {
                p.push(Step::Detach);
                self.message_steps(&mut p, &[hex(HUAWEI_NEW_MESSAGE)?], false);
            }
            Method::Option => {
                p.push(Step::Detach);
                self.message_steps(&mut p, &[hex(OPTION_MESSAGE)?], false);
            }
            Method::Cisco => {
                let m = CISCO_MESSAGES
                    .iter()
                    .map(|s| hex(s))
                    .collect::<Result<Vec<_>, _>>()?;
                p.push(Step::Detach);
                self.message_steps(&mut p, &m, true);
            }
            // Control requests, as usb_modeswitch 2.x sends them.
            Method::Huawei => p.push(ctl(0x00, 0x03, 1, 0, vec![])),
            Method::Sierra => p.push(ctl(0x40, 0x0b, 1, 0, vec![])),
            Method::Sequans => p.push(ctl(0x40, 0x0b, 2, 0, vec![])),
            Method::Pantech(v) => {
                p.push(Step::Detach);
                // PantechMode=1: the stick switches by itself once detached.
                if *v > 1 {
                    p.push(ctl(0x40, 0x70, *v, 0, vec![]));
                }
            }
            Method::Quanta => p.push(Step::ControlIn {
                req_type: 0xc0,
                request: 0xff,
                value: 0,
                index: 0,
                len: 0,
            }),
            Method::Kobil => {
                p.push(Step::Detach);
                p.push(Step::ControlIn {
                    req_type: 0xc0,
                    request: 0x88,
                    value: 0,
                    index: 0,
                    len: 8,
                });
            }
            Method::Qisda => p.push(ctl(
                0x40,
                0x04,
                0,
                0,
                vec![
                    0x05, 0x8c, 0x04, 0x08, 0xa0, 0xee, 0x20, 0x00, 0x5c, 0x01, 0x04, 0x08, 0x98,
                    0xcd, 0xea, 0xbf,
                ],
            )),
            Method::Blackberry => {
                p.push(Step::Detach);
                for (request, value, len) in [(0xb1, 0, 8), (0xa9, 0x0e, 2)] {
                    p.push(Step::ControlIn {
                        req_type: 0xc0,
                        request,
                        value,
                        index: 0,
                        len,
                    });
                }
            }
            Method::Gct => {
                let iface = u16::from(self.interface.unwrap_or(0));
                p.push(Step::Detach);
                p.push(Step::Claim);
                for request in [0xa0, 0xfe] {
                    p.push(Step::ControlIn {
                        req_type: 0xa1,
                        request,
                        value: 0,
                        index: iface,
                        len: 1,
                    });
                }
                p.push(Step::Release);
            }
            Method::DetachOnly => p.push(Step::Detach),
            Method::Sony => return Err("SonyMode is not supported by warden".into()),
            Method::Mbim => {
                return Err("MBIM configuration selection is not supported by warden".into())
            }
            Method::MobileAction => {
                return Err("MobileActionMode is not supported by warden".into())
            }
            Method::ConfigOnly => {}
        }
        match self.configuration {
            Some(0) if p.is_empty() => return Err(
                "Configuration=0 (usb_modeswitch's MBIM configuration selection) is not supported"
                    .into(),
            ),
            Some(c) if c > 0 => p.push(Step::SetConfiguration(c)),
            _ => {}
        }
        if self.alt_setting.is_some() {
            return Err("AltSetting is not supported by warden".into());
        }
        if self.reset_usb {
            p.push(Step::Reset);
        }
        if p.is_empty() {
            return Err("no switching method given".into());
        }
        Ok(p)
    }

    fn message_steps(&self, p: &mut Vec<Step>, msgs: &[Vec<u8>], need_response: bool) {
        p.push(Step::Claim);
        p.push(Step::ClearHalt(Dir::Out));
        for m in msgs {
            p.push(Step::BulkOut(m.clone()));
            if m.starts_with(b"USBC") {
                p.push(Step::ReadCsw);
            } else if need_response {
                p.push(Step::ReadResponse(m.len()));
            }
        }
        p.push(Step::ClearHalt(Dir::In));
        p.push(Step::ClearHalt(Dir::Out));
        p.push(Step::Sleep(50));
        if self.release_delay_ms > 0 {
            p.push(Step::Sleep(self.release_delay_ms.min(60_000)));
        }
        p.push(Step::Release);
    }
}

/// Endpoint direction for [`Step::ClearHalt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Out,
    In,
}

/// One USB operation of a switch plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Detach whatever kernel driver holds the interface (usb-storage).
    Detach,
    Claim,
    Release,
    ClearHalt(Dir),
    /// Write to the message endpoint (first bulk OUT unless configured).
    BulkOut(Vec<u8>),
    /// Read the 13-byte Command Status Wrapper from the response endpoint.
    ReadCsw,
    /// Read up to this many bytes of response.
    ReadResponse(usize),
    /// A control request with data going to the device (or none).
    Control {
        req_type: u8,
        request: u8,
        value: u16,
        index: u16,
        data: Vec<u8>,
    },
    /// A control request reading `len` bytes from the device.
    ControlIn {
        req_type: u8,
        request: u8,
        value: u16,
        index: u16,
        len: u16,
    },
    SetConfiguration(u8),
    Reset,
    /// Milliseconds.
    Sleep(u32),
}

/// A bad data file or entry. Boxed, so a `Result<_, TableError>` is one
/// word and each of the parsers' `?` moves a pointer, not the whole error;
/// read (and relabelled) through `Deref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError(Box<ErrorAt>);

/// What a [`TableError`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAt {
    pub file: String,
    /// 0 when not about one line.
    pub line: usize,
    pub msg: String,
}

impl TableError {
    pub fn new(file: String, line: usize, msg: String) -> TableError {
        TableError(Box::new(ErrorAt { file, line, msg }))
    }
}

impl std::ops::Deref for TableError {
    type Target = ErrorAt;
    fn deref(&self) -> &ErrorAt {
        &self.0
    }
}

impl std::ops::DerefMut for TableError {
    fn deref_mut(&mut self) -> &mut ErrorAt {
        &mut self.0
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.msg)
        } else {
            write!(f, "{}: {}", self.file, self.msg)
        }
    }
}

impl std::error::Error for TableError {}

/// The built-in entries: Huawei sticks of the E367 family, so the common
/// case needs no database. Targets as in usb-modeswitch-data.
pub fn builtin() -> Vec<SwitchEntry> {
    let huawei_new = |p: u16, name: &str, targets: &[u16]| {
        let mut e = SwitchEntry::new(UsbId::new(0x12d1, p), Source::BuiltIn);
        e.name = Some(name.into());
        e.method = Method::HuaweiNew;
        e.target_vendor = Some(0x12d1);
        e.target_products = targets.to_vec();
        e
    };
    vec![
        huawei_new(
            0x1446,
            "Huawei, newer modems, and rebrandings (E367, E1550, E173, ...)",
            &[
                0x1001, 0x1404, 0x1406, 0x140b, 0x140c, 0x1412, 0x1417, 0x141b, 0x1429, 0x1432,
                0x1433, 0x1436, 0x14ac, 0x1506, 0x150c, 0x1511,
            ],
        ),
        huawei_new(0x1449, "Huawei E352", &[0x1444]),
        huawei_new(
            0x1505,
            "Huawei EC156, Huawei E372u-8",
            &[0x140b, 0x140c, 0x1506, 0x150f, 0x150a],
        ),
        huawei_new(0x14d1, "Vodafone / Huawei K3770", &[0x14c9]),
        huawei_new(0x1f01, "Huawei E353 (3.se) and others", &[0x14db, 0x14dc]),
        huawei_new(
            0x1c0b,
            "Huawei E173s",
            &[0x1c05, 0x1c06, 0x1c07, 0x1c08, 0x1c10],
        ),
        {
            let mut e = SwitchEntry::new(UsbId::new(0x12d1, 0x1003), Source::BuiltIn);
            e.name = Some("Huawei E220, E230, E270, E870".into());
            e.method = Method::Huawei;
            e.target_class = Some(0xff);
            e
        },
    ]
}

/// USB descriptor strings, for qualified entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceStrings {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
}

/// A set of entries with lookup.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub entries: Vec<SwitchEntry>,
}

impl Table {
    /// The built-in entries only.
    pub fn builtin() -> Table {
        Table { entries: builtin() }
    }

    /// Add entries that take precedence over the ones already present.
    pub fn prepend(&mut self, mut entries: Vec<SwitchEntry>) {
        entries.append(&mut self.entries);
        self.entries = entries;
    }

    /// Is this id a device in install mode that some entry knows?
    pub fn knows(&self, id: UsbId) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// The entry for a device: a variant whose USB string qualifier matches,
    /// else the unqualified entry, else an unverifiable (SCSI-qualified)
    /// variant. The first source wins within each rank.
    pub fn lookup(&self, id: UsbId, strings: &DeviceStrings) -> Option<&SwitchEntry> {
        let has = |s: &Option<String>, want: &str| s.as_deref().is_some_and(|s| s.contains(want));
        let candidates = || self.entries.iter().filter(move |e| e.id == id);
        candidates()
            .find(|e| match &e.qualifier {
                Some(Qualifier::Manufacturer(m)) => has(&strings.manufacturer, m),
                Some(Qualifier::Product(p)) => has(&strings.product, p),
                Some(Qualifier::Serial(s)) => has(&strings.serial, s),
                _ => false,
            })
            .or_else(|| candidates().find(|e| e.qualifier.is_none()))
            .or_else(|| candidates().find(|e| matches!(e.qualifier, Some(Qualifier::Scsi(_)))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::modeswitch::parse_data_file;
    use super::*;

    fn parse(name: &str, text: &str) -> Result<SwitchEntry, TableError> {
        parse_data_file(name, Source::File(name.into()), text)
    }

    #[test]
    fn usb_ids() {
        assert_eq!("12d1:1446".parse(), Ok(UsbId::new(0x12d1, 0x1446)));
        assert_eq!("0x12d1:0x1446".parse(), Ok(UsbId::new(0x12d1, 0x1446)));
        assert_eq!("12d1/1446/0".parse(), Ok(UsbId::new(0x12d1, 0x1446)));
        // OpenWRT hotplug's PRODUCT is unpadded.
        assert_eq!("5c6/1000/0".parse(), Ok(UsbId::new(0x05c6, 0x1000)));
        assert_eq!(UsbId::new(0x12d1, 0x1506).to_string(), "12d1:1506");
        for bad in ["", "12d1", "12d1:", "12345:1", "xyz:1446", "12d1:1446:9"] {
            let e = bad.parse::<UsbId>().unwrap_err();
            assert!(e.contains("not a USB id"), "{bad}: {e}");
        }
    }

    #[test]
    fn hex_messages() {
        assert_eq!(parse_hex_bytes("0aFf"), Ok(vec![0x0a, 0xff]));
        assert!(parse_hex_bytes("abc").unwrap_err().contains("odd length"));
        assert!(parse_hex_bytes("zz").unwrap_err().contains("offset 0"));
        assert!(parse_hex_bytes("00zz").unwrap_err().contains("offset 2"));
    }

    #[test]
    fn huawei_new_mode_plan() {
        let e = parse(
            "12d1:1446",
            "# Huawei\nTargetVendor=0x12d1\nTargetProductList=\"1001,1506\"\nHuaweiNewMode=1\n",
        )
        .unwrap();
        assert_eq!(e.method, Method::HuaweiNew);
        assert_eq!(e.name.as_deref(), Some("Huawei"));
        assert!(e.is_target(UsbId::new(0x12d1, 0x1506)));
        assert!(!e.is_target(UsbId::new(0x12d1, 0x1446)));
        let plan = e.plan().unwrap();
        let msg = parse_hex_bytes(HUAWEI_NEW_MESSAGE).unwrap();
        assert_eq!(msg.len(), 31);
        assert_eq!(
            plan,
            vec![
                Step::Detach,
                Step::Claim,
                Step::ClearHalt(Dir::Out),
                Step::BulkOut(msg),
                Step::ReadCsw,
                Step::ClearHalt(Dir::In),
                Step::ClearHalt(Dir::Out),
                Step::Sleep(50),
                Step::Release,
            ]
        );
    }

    #[test]
    fn standard_eject_appends_message_content() {
        let e = parse(
            "19d2:2000",
            "TargetVendor= 0x19d2\nStandardEject=1\nMessageContent=\"55534243123456702000000080000c85010101180101010101000000000000\"\n",
        )
        .unwrap();
        assert_eq!(e.method, Method::StandardEject);
        let outs: Vec<_> = e
            .plan()
            .unwrap()
            .into_iter()
            .filter_map(|s| match s {
                Step::BulkOut(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(outs.len(), 3);
        assert_eq!(outs[0], parse_hex_bytes(STANDARD_EJECT_1).unwrap());
        assert_eq!(
            outs[2][..8],
            parse_hex_bytes("5553424312345670").unwrap()[..]
        );
    }

    #[test]
    fn no_method_is_a_plan_error() {
        let e = parse("1234:5678", "TargetVendor=0x1234\n").unwrap();
        assert_eq!(e.plan().unwrap_err(), "no switching method given");
        let e = parse("1234:5678", "SonyMode=1\n").unwrap();
        assert!(e.plan().unwrap_err().contains("SonyMode"));
    }

    #[test]
    fn lookup_prefers_matching_qualifier() {
        let mut t = Table::default();
        let mk = |name: &str, tp: &str| {
            parse(
                name,
                &format!("TargetVendor=0x05c6\nTargetProduct={tp}\nStandardEject=1\n"),
            )
            .unwrap()
        };
        t.prepend(vec![
            mk("05c6:1000:sVe=GT", "0x0001"),
            mk("05c6:1000:uMa=Qualcomm", "0x0002"),
            mk("05c6:1000", "0x0003"),
        ]);
        let id = UsbId::new(0x05c6, 0x1000);
        let s = |m: &str| DeviceStrings {
            manufacturer: Some(m.into()),
            ..Default::default()
        };
        assert_eq!(
            t.lookup(id, &s("Qualcomm, Inc")).unwrap().target_products,
            [2]
        );
        assert_eq!(t.lookup(id, &s("Other")).unwrap().target_products, [3]);
        t.entries.retain(|e| e.qualifier.is_some());
        assert_eq!(t.lookup(id, &s("Other")).unwrap().target_products, [1]);
        assert!(t.lookup(UsbId::new(1, 2), &s("x")).is_none());
    }

    #[test]
    fn builtin_has_e367() {
        let t = Table::builtin();
        let e = t
            .lookup(UsbId::new(0x12d1, 0x1446), &DeviceStrings::default())
            .unwrap();
        assert_eq!(e.source, Source::BuiltIn);
        assert!(e.is_target(UsbId::new(0x12d1, 0x1506)));
        assert_eq!(e.target_products.len(), 16);
        for e in &t.entries {
            e.plan().unwrap();
        }
    }
}
