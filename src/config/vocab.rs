//! The words the configuration shares with the services that run it: the
//! types and constants an option's value is made of (a keepalive, a
//! ladder rung, the speaksfor pairs), the defaults the services start
//! from, and the [`Rules`] hook through which a service's own checks
//! refuse a value as the file is read.
//!
//! They live here, under both the model and its users, so that `config`
//! imports nothing from the layers above it (uplink, auth): those import
//! these and build their policies (`uplink::backoff::Backoff`,
//! `uplink::ladder::Policy`) from the typed model.

use super::model::Uplink;
use std::fmt;
use std::time::Duration;

/// Why a service would refuse an option's value (see [`Rules`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The option, as written in the file.
    pub option: &'static str,
    pub msg: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option '{}': {}", self.option, self.msg)
    }
}

/// The checks of the layers above, run on a section as it is read, so a
/// refusal names the option's line and `config check`, the daemon's start
/// and its reload refuse the same values with the same words. The
/// uplink's rules are `uplink::check::RULES` (the one validation, written
/// with the functions the run-time path uses); every loader passes them.
#[derive(Clone, Copy)]
pub struct Rules {
    pub uplink: fn(&Uplink) -> Result<(), Refusal>,
}

/// The file remembering PINs the SIM rejected, in the state directory
/// (`uplink::modem::pin::PinStore`).
pub const PIN_STORE_FILE: &str = "pin-rejected";

/// The redial backoff's defaults (`uplink::backoff::Backoff::default`).
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
pub const BACKOFF_STABLE: Duration = Duration::from_secs(300);

/// LCP echo keepalive: `lcp-echo-failure` / `lcp-echo-interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub failures: u32,
    pub interval: u32,
}

impl Keepalive {
    /// OpenWRT's `keepalive` option: `"FAILURES INTERVAL"` or
    /// `"FAILURES,INTERVAL"`, or just `"FAILURES"` (interval 5 s). Empty or
    /// zero failures means none.
    pub fn parse(s: &str) -> Result<Option<Keepalive>, String> {
        let words: Vec<&str> = s
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        let num = |w: &str| {
            w.parse::<u32>()
                .map_err(|_| format!("keepalive '{s}': '{w}' is not a whole number"))
        };
        let (failures, interval) = match words.as_slice() {
            [] => return Ok(None),
            [f] => (num(f)?, 5),
            [f, i] => (num(f)?, num(i)?),
            _ => return Err(format!("keepalive '{s}': expected 'FAILURES [INTERVAL]'")),
        };
        if failures == 0 {
            return Ok(None);
        }
        if interval == 0 {
            return Err(format!(
                "keepalive '{s}': the interval must be at least 1 s"
            ));
        }
        Ok(Some(Keepalive { failures, interval }))
    }
}

/// One way to recover the modem, from the gentlest up (the recovery
/// ladder, `uplink::ladder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rung {
    /// Hang up and dial again (after the backoff): the bottom, every failure.
    Redial,
    /// `AT+CFUN=1,1`: the modem restarts itself.
    Cfun,
    /// `USBDEVFS_RESET`: the USB device is reset and its drivers rebound.
    UsbReset,
    /// The USB port powered (or at least logically) off and on through
    /// sysfs.
    PortPower,
    /// The board's USB power switch, off and on.
    Gpio,
}

impl Rung {
    pub const ALL: [Rung; 5] = [
        Rung::Redial,
        Rung::Cfun,
        Rung::UsbReset,
        Rung::PortPower,
        Rung::Gpio,
    ];

    /// Its name in the configuration, the log and status.
    pub fn name(self) -> &'static str {
        match self {
            Rung::Redial => "redial",
            Rung::Cfun => "cfun",
            Rung::UsbReset => "usb_reset",
            Rung::PortPower => "port_power",
            Rung::Gpio => "gpio",
        }
    }

    pub fn parse(s: &str) -> Option<Rung> {
        Rung::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Its place in [`Rung::ALL`] (and in per-rung arrays).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The ladder's default rungs above redial, in climbing order.
pub const LADDER: [Rung; 3] = [Rung::Cfun, Rung::UsbReset, Rung::PortPower];

/// The default failures in a row before the first rung (`reset_after`).
pub const RESET_AFTER: u32 = 5;

/// The default failures after a rung before the next (`escalate_after`).
pub const ESCALATE_AFTER: u32 = 3;

/// The default minimum intervals, [`Rung::ALL`] order.
pub const MIN_INTERVALS: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_secs(120),
    Duration::from_secs(300),
    Duration::from_secs(900),
    Duration::from_secs(1800),
];

/// The ticket service's `speaksfor` lines: which hosts may ask tickets
/// for which users (beyond their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpeaksFor {
    pairs: Vec<(String, String)>,
}

impl SpeaksFor {
    /// From config lines `HOSTID USER` (USER may be `*`).
    pub fn parse(lines: &[String]) -> Result<SpeaksFor, String> {
        let mut pairs = Vec::new();
        for l in lines {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some(h), Some(u), None) => pairs.push((h.to_string(), u.to_string())),
                _ => return Err(format!("'{l}': expected 'HOSTID USER' (USER may be *)")),
            }
        }
        Ok(SpeaksFor { pairs })
    }

    pub fn allows(&self, hostid: &str, uid: &str) -> bool {
        hostid == uid
            || self
                .pairs
                .iter()
                .any(|(h, u)| h == hostid && (u == uid || u == "*"))
    }
}

// ---- the modem's AT dialect (uplink/modem/commands.rs speaks it) ----

/// Which family's AT commands the modem takes where 3GPP leaves a gap
/// (the `dialect` option). `Auto`: from the modem's `AT+CGMI` answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Auto,
    Huawei,
    /// Plain 3GPP 27.007: no `^` command is sent.
    Generic,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Auto => "auto",
            Dialect::Huawei => "huawei",
            Dialect::Generic => "generic",
        }
    }
}

// ---- the data quota (uplink/quota.rs counts it) ----

/// The usage file's name under the state directory: this, then the
/// interface (`quota.wan`), so each netifd interface has its own.
pub const FILE_PREFIX: &str = "quota.";

/// What to do once the period's bytes reach the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverAction {
    /// Log a warning once per period; the link stays up.
    Warn,
    /// Hang up until the next period or `warden uplink resume`.
    Stop,
}

impl OverAction {
    pub fn name(self) -> &'static str {
        match self {
            OverAction::Warn => "warn",
            OverAction::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<OverAction> {
        match s {
            "warn" => Some(OverAction::Warn),
            "stop" => Some(OverAction::Stop),
            _ => None,
        }
    }
}

/// The quota options (`quota_*` in `config uplink`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Bytes up plus down per period; 0: no cap (usage is still counted).
    pub limit: u64,
    /// The day of the month a period starts (1 to 28), at local midnight.
    pub start_day: u8,
    pub action: OverAction,
    /// The least time between two writes of the usage file.
    pub save_interval: Duration,
    /// How often the counters are read while the link is up.
    pub sample_interval: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            limit: 0,
            start_day: 1,
            action: OverAction::Warn,
            save_interval: Duration::from_secs(15 * 60),
            sample_interval: Duration::from_secs(30),
        }
    }
}

/// A byte count option: a whole number with an optional K, M, G or T
/// (powers of 1024), e.g. `500M`, `2G`; `0`: none.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

// ---- secstore (auth/secstore keeps its files there) ----

/// Where secstore keeps its users' files: `<dir of the key file>/secstore`
/// (what sysupgrade must keep beside the key file).
pub fn secstore_root(keyfs_file: &std::path::Path) -> std::path::PathBuf {
    keyfs_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .join("secstore")
}
