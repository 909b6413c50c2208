//! Typed AT commands and parsers for their replies. Pure functions over the
//! information lines of a [`Response`](super::at::Response): no I/O.
//!
//! | what          | command                     | reply                                   |
//! |---------------|-----------------------------|-----------------------------------------|
//! | identity      | +CGMI +CGMM +CGMR +CGSN     | one line each (optionally prefixed)     |
//! | SIM state     | +CPIN?                      | `+CPIN: READY` / `SIM PIN` / `SIM PUK`  |
//! | PIN attempts  | ^CPIN? (Huawei), +CPINR     | `^CPIN: SIM PIN,3,10,3,10,3`            |
//! | ICCID         | ^ICCID?, +CRSM=176,12258... | `^ICCID: 8949...`, `+CRSM: 144,0,"98.."`|
//! | network mode  | ^SYSCFG? / ^SYSCFG=...      | `^SYSCFG: 2,2,3FFFFFFF,1,2`             |
//! | APN           | +CGDCONT? / +CGDCONT=...    | `+CGDCONT: 1,"IP","internet",...`       |
//! | registration  | +CREG? +CGREG?              | `+CREG: 0,1`                            |
//! | operator      | +COPS?                      | `+COPS: 0,0,"Operator",2`               |
//! | signal        | +CSQ                        | `+CSQ: 17,99` (dBm = -113 + 2n)         |
//! | SMS (PDU mode)| +CMGF=0 +CMGL=4 +CMGR=<i>   | `+CMGL: 1,0,,23` then the PDU's hex     |
//! | SMS send      | +CMGS=<len>, `> `, PDU ^Z   | `+CMGS: 7`                              |
//! | USSD          | +CUSD=1,"<hex>",15          | `+CUSD: 0,"<hex>",15` (often after OK)  |

//!
//! Where 3GPP leaves a gap, the dialect ([`Dialect`], the `dialect`
//! option; `auto` goes by `AT+CGMI`) picks the command; the rest is
//! 27.007 for every modem:
//!
//! | need         | huawei (and auto, until +CGMI answers) | generic          |
//! |--------------|----------------------------------------|------------------|
//! | PIN attempts | ^CPIN?, then +CPINR                    | +CPINR           |
//! | ICCID        | ^ICCID?, then +CRSM                    | +CRSM            |
//! | network mode | ^SYSCFG? / ^SYSCFG=...                 | +WS46=12/22/25   |
//! | signal       | +CSQ (^RSSI unsolicited)               | +CSQ             |

use super::at::wire::split_fields;
pub use crate::config::Dialect;
use std::fmt;

/// A reply line that does not say what it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub what: &'static str,
    pub got: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.got.is_empty() {
            write!(f, "no {} in the reply", self.what)
        } else {
            write!(
                f,
                "cannot read {} from \"{}\"",
                self.what,
                self.got.escape_debug()
            )
        }
    }
}

impl std::error::Error for ParseError {}

fn bad(what: &'static str, got: &str) -> ParseError {
    ParseError {
        what,
        got: got.chars().take(80).collect(),
    }
}

/// The first line starting with `prefix`, with the prefix removed.
fn find<'a>(lines: &'a [String], prefix: &str, what: &'static str) -> Result<&'a str, ParseError> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
        .ok_or_else(|| bad(what, lines.first().map(String::as_str).unwrap_or("")))
}

/// The answer to `AT+CGMI`, `AT+CGMM`, `AT+CGMR`: the first line, without
/// the `+CGMx:` prefix some modems add.
pub fn parse_identity(lines: &[String], what: &'static str) -> Result<String, ParseError> {
    let line = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .ok_or_else(|| bad(what, ""))?;
    let value = match line.split_once(':') {
        Some((head, rest)) if head.starts_with('+') || head.starts_with('^') => rest.trim(),
        _ => line,
    };
    Ok(value.trim_matches('"').to_string())
}

/// The answer to `AT+CGSN`: 14 to 17 digits (IMEI or IMEISV).
pub fn parse_imei(lines: &[String]) -> Result<String, ParseError> {
    let v = parse_identity(lines, "IMEI")?;
    if (14..=17).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v)
    } else {
        Err(bad("IMEI", &v))
    }
}

/// What the SIM is waiting for (`+CPIN?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimState {
    Ready,
    /// Waiting for the PIN.
    Pin,
    /// Locked: only the PUK (from the SIM's card) unlocks it.
    Puk,
    Pin2,
    Puk2,
    /// Another lock (`PH-SIM PIN`, network personalisation, ...).
    Other(String),
    /// `+CME ERROR: 10`: no SIM in the modem.
    NotInserted,
}

impl fmt::Display for SimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimState::Ready => f.write_str("ready"),
            SimState::Pin => f.write_str("pin-required"),
            SimState::Puk => f.write_str("puk-locked"),
            SimState::Pin2 => f.write_str("pin2-required"),
            SimState::Puk2 => f.write_str("puk2-locked"),
            SimState::Other(s) => write!(f, "locked ({s})"),
            SimState::NotInserted => f.write_str("not-inserted"),
        }
    }
}

fn sim_state(code: &str) -> SimState {
    match code.trim() {
        "READY" => SimState::Ready,
        "SIM PIN" => SimState::Pin,
        "SIM PUK" => SimState::Puk,
        "SIM PIN2" => SimState::Pin2,
        "SIM PUK2" => SimState::Puk2,
        other => SimState::Other(other.to_string()),
    }
}

/// `+CPIN: <code>`.
pub fn parse_cpin(lines: &[String]) -> Result<SimState, ParseError> {
    let v = find(lines, "+CPIN:", "SIM state")?;
    if v.is_empty() {
        return Err(bad("SIM state", v));
    }
    Ok(sim_state(v))
}

impl Dialect {
    /// The dialect of a modem by its `AT+CGMI` answer.
    pub fn of_manufacturer(m: &str) -> Dialect {
        if m.to_ascii_lowercase().contains("huawei") {
            Dialect::Huawei
        } else {
            Dialect::Generic
        }
    }

    /// Huawei's `^` commands are sent (each with its 3GPP fallback).
    pub fn carets(self) -> bool {
        self != Dialect::Generic
    }
}

/// Remaining attempts, from Huawei's `^CPIN?` or 3GPP's `+CPINR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinCounters {
    /// PIN attempts left (0 means the SIM wants its PUK).
    pub pin: u8,
    /// PUK attempts left, when reported.
    pub puk: Option<u8>,
}

/// `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`
/// (Huawei). Returns the state and the counters.
pub fn parse_huawei_cpin(lines: &[String]) -> Result<(SimState, PinCounters), ParseError> {
    let v = find(lines, "^CPIN:", "PIN attempts")?;
    let f = split_fields(v);
    let num = |i: usize| -> Option<u8> { f.get(i).and_then(|s| s.parse().ok()) };
    let state = sim_state(f.first().map(String::as_str).unwrap_or(""));
    match (num(3), num(2)) {
        (Some(pin), puk) if f.len() >= 4 && pin <= 10 => Ok((state, PinCounters { pin, puk })),
        _ => Err(bad("PIN attempts", v)),
    }
}

/// `+CPINR: SIM PIN,<retries>[,<default>]` (3GPP 27.007), from
/// `AT+CPINR="SIM PIN"`; the PUK line, when present, fills in `puk`.
pub fn parse_cpinr(lines: &[String]) -> Result<PinCounters, ParseError> {
    let mut pin = None;
    let mut puk = None;
    for l in lines {
        let Some(v) = l.strip_prefix("+CPINR:") else {
            continue;
        };
        let f = split_fields(v);
        let n = f.get(1).and_then(|s| s.parse::<u8>().ok());
        match f.first().map(String::as_str) {
            Some("SIM PIN") => pin = n,
            Some("SIM PUK") => puk = n,
            _ => {}
        }
    }
    match pin {
        Some(pin) if pin <= 10 => Ok(PinCounters { pin, puk }),
        _ => Err(bad(
            "PIN attempts",
            lines.first().map(String::as_str).unwrap_or(""),
        )),
    }
}

fn iccid_digits(s: &str) -> Option<String> {
    let s = s.trim().trim_matches('"').trim_end_matches(['F', 'f']);
    ((18..=22).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_string())
}

/// Huawei's `^ICCID: <iccid>` (digits in order, `F` padding).
pub fn parse_huawei_iccid(lines: &[String]) -> Result<String, ParseError> {
    let v = find(lines, "^ICCID:", "ICCID")?;
    iccid_digits(v).ok_or_else(|| bad("ICCID", v))
}

/// The command reading EF_ICCID (file 0x2FE2) with `+CRSM` READ BINARY.
pub const CRSM_READ_ICCID: &str = "AT+CRSM=176,12258,0,0,10";

/// `+CRSM: 144,0,"98..."`: status 144 (0x90) and the ICCID in swapped
/// nibbles, as stored on the card.
pub fn parse_crsm_iccid(lines: &[String]) -> Result<String, ParseError> {
    let v = find(lines, "+CRSM:", "ICCID")?;
    let f = split_fields(v);
    if f.first().map(String::as_str) != Some("144") {
        return Err(bad("ICCID (SIM status word)", v));
    }
    let raw = f.get(2).map(String::as_str).unwrap_or("");
    let b = raw.as_bytes();
    if b.is_empty() || b.len() % 2 != 0 {
        return Err(bad("ICCID", v));
    }
    let mut swapped = String::with_capacity(b.len());
    for pair in b.chunks(2) {
        if let [hi, lo] = pair {
            swapped.push(char::from(*lo));
            swapped.push(char::from(*hi));
        }
    }
    iccid_digits(&swapped).ok_or_else(|| bad("ICCID", v))
}

/// The network mode choice, named as OpenWRT's `option service` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Auto,
    UmtsOnly,
    GprsOnly,
}

impl Service {
    /// The `service` option, by comgt's names (empty is automatic, and so
    /// is `umts`, LuCI's "UMTS/GPRS" for proto 3g). 3g.sh takes anything
    /// else as automatic too, except `cdma` and `evdo`, which
    /// dial a CDMA modem with its own chat script; warden drives GSM/UMTS
    /// modems only, so it refuses both (and other names) with a reason
    /// instead of guessing. The configuration model calls this (through
    /// `uplink::check`), so `warden config check` and the daemon refuse the
    /// same values with the same words.
    pub fn parse(s: &str) -> Result<Service, String> {
        match s {
            "" | "auto" | "umts" => Ok(Service::Auto),
            "umts_only" => Ok(Service::UmtsOnly),
            "gprs_only" => Ok(Service::GprsOnly),
            "cdma" | "evdo" => Err(format!(
                "'{s}' is comgt's CDMA/EV-DO mode, which warden does not support: it \
                 drives GSM/UMTS modems (auto, umts_only or gprs_only); use proto 3g for a \
                 CDMA modem"
            )),
            other => Err(format!(
                "'{}': expected auto (or umts), umts_only or gprs_only (comgt's names)",
                other.escape_debug()
            )),
        }
    }

    /// The `AT^SYSCFG=` command OpenWRT's 3g.sh sends for this service.
    pub fn syscfg_command(self) -> &'static str {
        self.mode_command(Dialect::Huawei)
    }

    /// The command selecting this service in a dialect: Huawei's
    /// `^SYSCFG` (as 3g.sh), else 27.007's `+WS46` (12 GERAN only,
    /// 22 UTRAN only, 25 every 3GPP radio).
    pub fn mode_command(self, d: Dialect) -> &'static str {
        match (d, self) {
            (Dialect::Generic, Service::Auto) => "AT+WS46=25",
            (Dialect::Generic, Service::UmtsOnly) => "AT+WS46=22",
            (Dialect::Generic, Service::GprsOnly) => "AT+WS46=12",
            (_, Service::Auto) => "AT^SYSCFG=2,2,3FFFFFFF,2,4",
            (_, Service::UmtsOnly) => "AT^SYSCFG=14,2,3FFFFFFF,2,4",
            (_, Service::GprsOnly) => "AT^SYSCFG=13,1,3FFFFFFF,2,4",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Auto => "auto",
            Service::UmtsOnly => "umts_only",
            Service::GprsOnly => "gprs_only",
        })
    }
}

/// `^SYSCFG: <mode>,<acqorder>,<band>,<roam>,<srvdomain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysCfg {
    pub mode: u8,
    pub acqorder: u8,
    pub band: String,
    pub roam: u8,
    pub srvdomain: u8,
}

impl SysCfg {
    /// The service this mode amounts to (mode 2 auto, 14 WCDMA only,
    /// 13 GSM only).
    pub fn service(&self) -> Option<Service> {
        match self.mode {
            2 => Some(Service::Auto),
            14 => Some(Service::UmtsOnly),
            13 => Some(Service::GprsOnly),
            _ => None,
        }
    }
}

impl fmt::Display for SysCfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.service() {
            Some(s) => write!(f, "{s}"),
            None => write!(f, "syscfg-{}-{}", self.mode, self.acqorder),
        }
    }
}

pub fn parse_syscfg(lines: &[String]) -> Result<SysCfg, ParseError> {
    let v = find(lines, "^SYSCFG:", "network mode")?;
    let f = split_fields(v);
    let num = |i: usize| f.get(i).and_then(|s| s.parse::<u8>().ok());
    match (num(0), num(1), f.get(2), num(3), num(4)) {
        (Some(mode), Some(acqorder), Some(band), Some(roam), Some(srvdomain)) => Ok(SysCfg {
            mode,
            acqorder,
            band: band.clone(),
            roam,
            srvdomain,
        }),
        _ => Err(bad("network mode", v)),
    }
}

/// One PDP context from `+CGDCONT?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdpContext {
    pub cid: u8,
    pub pdp_type: String,
    pub apn: String,
}

pub fn parse_cgdcont(lines: &[String]) -> Result<Vec<PdpContext>, ParseError> {
    let mut out = Vec::new();
    for l in lines {
        let Some(v) = l.strip_prefix("+CGDCONT:") else {
            continue;
        };
        let f = split_fields(v);
        let cid = f
            .first()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("PDP context", v))?;
        out.push(PdpContext {
            cid,
            pdp_type: f.get(1).cloned().unwrap_or_default(),
            apn: f.get(2).cloned().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// An APN that cannot be sent (from the configuration, typically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadApn {
    Missing,
    Invalid(String),
}

impl fmt::Display for BadApn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadApn::Missing => f.write_str("no APN configured (set the uplink's apn option)"),
            BadApn::Invalid(a) => write!(
                f,
                "APN \"{}\" is not valid: 1 to 100 letters, digits, '.', '-' or '_'",
                a.escape_debug()
            ),
        }
    }
}

impl std::error::Error for BadApn {}

/// `AT+CGDCONT=<cid>,"IP","<apn>"`. An APN is 1 to 100 characters of
/// letters, digits, `.`, `-` and `_` (3GPP TS 23.003 labels); anything
/// else is refused before it reaches the modem. `cid` is 1 to 16.
pub fn cgdcont_command(cid: u8, apn: &str) -> Result<String, BadApn> {
    if apn.is_empty() {
        return Err(BadApn::Missing);
    }
    let ok = apn.len() <= 100
        && apn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !apn.starts_with('.')
        && !apn.ends_with('.')
        && (1..=16).contains(&cid);
    if !ok {
        return Err(BadApn::Invalid(apn.chars().take(120).collect()));
    }
    Ok(format!("AT+CGDCONT={cid},\"IP\",\"{apn}\""))
}

/// Registration status (`<stat>` of +CREG/+CGREG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegStat {
    NotSearching,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    Other(u8),
}

impl RegStat {
    pub fn from_code(n: u8) -> RegStat {
        match n {
            0 => RegStat::NotSearching,
            1 => RegStat::Home,
            2 => RegStat::Searching,
            3 => RegStat::Denied,
            4 => RegStat::Unknown,
            5 => RegStat::Roaming,
            n => RegStat::Other(n),
        }
    }

    pub fn registered(self) -> bool {
        matches!(self, RegStat::Home | RegStat::Roaming)
    }
}

impl fmt::Display for RegStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegStat::NotSearching => f.write_str("not-registered"),
            RegStat::Home => f.write_str("home"),
            RegStat::Searching => f.write_str("searching"),
            RegStat::Denied => f.write_str("denied"),
            RegStat::Unknown => f.write_str("unknown"),
            RegStat::Roaming => f.write_str("roaming"),
            RegStat::Other(n) => write!(f, "stat-{n}"),
        }
    }
}

/// Registration with location, when reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub stat: RegStat,
    pub lac: Option<String>,
    pub ci: Option<String>,
}

/// `+CREG: <n>,<stat>[,<lac>,<ci>[,<act>]]` (or `+CGREG:`); also the form
/// without `<n>` that some modems answer with.
pub fn parse_registration(lines: &[String], prefix: &str) -> Result<Registration, ParseError> {
    let v = find(lines, prefix, "registration")?;
    let raw: Vec<&str> = v.split(',').map(str::trim).collect();
    let f = split_fields(v);
    let stat_at = match raw.get(1) {
        Some(s) if !s.starts_with('"') => 1,
        _ => 0,
    };
    let stat = f
        .get(stat_at)
        .and_then(|s| s.parse::<u8>().ok())
        .ok_or_else(|| bad("registration", v))?;
    Ok(Registration {
        stat: RegStat::from_code(stat),
        lac: f.get(stat_at + 1).filter(|s| !s.is_empty()).cloned(),
        ci: f.get(stat_at + 2).filter(|s| !s.is_empty()).cloned(),
    })
}

/// `+COPS: <mode>[,<format>,"<oper>"[,<act>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub mode: u8,
    pub name: Option<String>,
    pub act: Option<u8>,
}

impl Operator {
    /// The access technology's name.
    pub fn technology(&self) -> Option<&'static str> {
        Some(match self.act? {
            0 => "GSM",
            1 => "GSM compact",
            2 => "UMTS",
            3 => "EDGE",
            4 => "HSDPA",
            5 => "HSUPA",
            6 => "HSPA",
            7 => "LTE",
            _ => return None,
        })
    }
}

pub fn parse_cops(lines: &[String]) -> Result<Operator, ParseError> {
    let v = find(lines, "+COPS:", "operator")?;
    let f = split_fields(v);
    let mode = f
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("operator", v))?;
    Ok(Operator {
        mode,
        name: f.get(2).filter(|s| !s.is_empty()).cloned(),
        act: f.get(3).and_then(|s| s.parse().ok()),
    })
}

/// `+CSQ: <rssi>,<ber>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub rssi: u8,
    pub ber: u8,
}

impl Signal {
    /// Received power in dBm: 0 is -113 dBm or less, 31 is -51 dBm or
    /// more, 99 (and anything outside 0..=31) is unknown.
    pub fn dbm(self) -> Option<i32> {
        csq_dbm(self.rssi)
    }
}

/// dBm for a +CSQ / ^RSSI value.
pub fn csq_dbm(rssi: u8) -> Option<i32> {
    (rssi <= 31).then(|| -113 + 2 * i32::from(rssi))
}

pub fn parse_csq(lines: &[String]) -> Result<Signal, ParseError> {
    let v = find(lines, "+CSQ:", "signal")?;
    let f = split_fields(v);
    match (
        f.first().and_then(|s| s.parse().ok()),
        f.get(1).and_then(|s| s.parse().ok()),
    ) {
        (Some(rssi), Some(ber)) => Ok(Signal { rssi, ber }),
        _ => Err(bad("signal", v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn identity() {
        assert_eq!(parse_identity(&l(&["huawei"]), "m").unwrap(), "huawei");
        assert_eq!(parse_identity(&l(&["+CGMM: E367"]), "m").unwrap(), "E367");
        assert_eq!(
            parse_identity(&l(&["21.157.01.00.00"]), "r").unwrap(),
            "21.157.01.00.00"
        );
        assert!(parse_identity(&[], "manufacturer").is_err());
        assert_eq!(
            parse_imei(&l(&["353142030000000"])).unwrap(),
            "353142030000000"
        );
        assert!(parse_imei(&l(&["ERROR-ish"])).is_err());
    }

    #[test]
    fn sim_states() {
        assert_eq!(parse_cpin(&l(&["+CPIN: READY"])).unwrap(), SimState::Ready);
        assert_eq!(parse_cpin(&l(&["+CPIN: SIM PIN"])).unwrap(), SimState::Pin);
        assert_eq!(parse_cpin(&l(&["+CPIN: SIM PUK"])).unwrap(), SimState::Puk);
        assert_eq!(
            parse_cpin(&l(&["+CPIN: PH-NET PIN"])).unwrap(),
            SimState::Other("PH-NET PIN".into())
        );
        assert!(parse_cpin(&l(&["+CPIN:"])).is_err());
        assert!(parse_cpin(&l(&["READY"])).is_err());
    }

    #[test]
    fn huawei_pin_counters() {
        assert_eq!(
            parse_huawei_cpin(&l(&["^CPIN: SIM PIN,3,10,3,10,3"])).unwrap(),
            (
                SimState::Pin,
                PinCounters {
                    pin: 3,
                    puk: Some(10)
                }
            )
        );
        assert_eq!(
            parse_huawei_cpin(&l(&["^CPIN: READY,,10,2,10,3"])).unwrap(),
            (
                SimState::Ready,
                PinCounters {
                    pin: 2,
                    puk: Some(10)
                }
            )
        );
        assert_eq!(
            parse_huawei_cpin(&l(&["^CPIN: SIM PUK,10,10,0,10,3"])).unwrap(),
            (
                SimState::Puk,
                PinCounters {
                    pin: 0,
                    puk: Some(10)
                }
            )
        );
        for bad in [
            "^CPIN: SIM PIN",
            "^CPIN: SIM PIN,3,10,x,10,3",
            "^CPIN: ,,,,",
        ] {
            assert!(parse_huawei_cpin(&l(&[bad])).is_err(), "{bad}");
        }
        assert_eq!(
            parse_cpinr(&l(&["+CPINR: SIM PIN,2,3", "+CPINR: SIM PUK,10,10"])).unwrap(),
            PinCounters {
                pin: 2,
                puk: Some(10)
            }
        );
        assert!(parse_cpinr(&l(&["+CPINR: SIM PIN2,2,3"])).is_err());
    }

    #[test]
    fn iccid() {
        assert_eq!(
            parse_huawei_iccid(&l(&["^ICCID: 89490200001234567890"])).unwrap(),
            "89490200001234567890"
        );
        assert_eq!(
            parse_huawei_iccid(&l(&["^ICCID: 8949020000123456789F"])).unwrap(),
            "8949020000123456789"
        );
        assert_eq!(
            parse_crsm_iccid(&l(&["+CRSM: 144,0,\"98942000002143658709\""])).unwrap(),
            "89490200001234567890"
        );
        assert!(parse_crsm_iccid(&l(&["+CRSM: 106,130,\"\""])).is_err());
        assert!(parse_crsm_iccid(&l(&["+CRSM: 144,0,\"989\""])).is_err());
        assert!(parse_huawei_iccid(&l(&["^ICCID: 12ab"])).is_err());
    }

    #[test]
    fn syscfg_as_comgt_sets_it() {
        let s = parse_syscfg(&l(&["^SYSCFG: 14,2,3FFFFFFF,1,2"])).unwrap();
        assert_eq!(s.service(), Some(Service::UmtsOnly));
        assert_eq!(s.to_string(), "umts_only");
        assert_eq!(
            parse_syscfg(&l(&["^SYSCFG: 16,3,40000000,2,4"]))
                .unwrap()
                .to_string(),
            "syscfg-16-3"
        );
        assert!(parse_syscfg(&l(&["^SYSCFG: 2,2"])).is_err());
        assert_eq!(
            Service::parse("umts_only").unwrap().syscfg_command(),
            "AT^SYSCFG=14,2,3FFFFFFF,2,4"
        );
        assert_eq!(
            Service::parse("gprs_only").unwrap().syscfg_command(),
            "AT^SYSCFG=13,1,3FFFFFFF,2,4"
        );
        assert_eq!(
            Service::parse("").unwrap().syscfg_command(),
            "AT^SYSCFG=2,2,3FFFFFFF,2,4"
        );
        assert_eq!(
            Service::UmtsOnly.mode_command(Dialect::Generic),
            "AT+WS46=22"
        );
        assert_eq!(
            Service::GprsOnly.mode_command(Dialect::Generic),
            "AT+WS46=12"
        );
        assert_eq!(Dialect::of_manufacturer("HUAWEI"), Dialect::Huawei);
        assert_eq!(Dialect::of_manufacturer("Quectel"), Dialect::Generic);
        assert!(Service::parse("lte_only").is_err());
        // LuCI's proto 3g writes `umts` for its default, "UMTS/GPRS"
        assert_eq!(Service::parse("umts"), Ok(Service::Auto));
        for cdma in ["cdma", "evdo"] {
            let e = Service::parse(cdma).unwrap_err();
            assert!(e.contains("CDMA/EV-DO") && e.contains("not support"), "{e}");
        }
    }

    #[test]
    fn apn() {
        assert_eq!(
            parse_cgdcont(&l(&[
                "+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0",
                "+CGDCONT: 2,\"IP\",\"\",\"0.0.0.0\",0,0"
            ]))
            .unwrap(),
            vec![
                PdpContext {
                    cid: 1,
                    pdp_type: "IP".into(),
                    apn: "internet".into()
                },
                PdpContext {
                    cid: 2,
                    pdp_type: "IP".into(),
                    apn: "".into()
                }
            ]
        );
        assert_eq!(
            cgdcont_command(1, "web.vodafone.de").unwrap(),
            "AT+CGDCONT=1,\"IP\",\"web.vodafone.de\""
        );
        assert_eq!(
            cgdcont_command(1, "").unwrap_err().to_string(),
            "no APN configured (set the uplink's apn option)"
        );
        for bad in ["a\"b", "x;ATD", ".lead", &"a".repeat(101)] {
            assert!(
                matches!(cgdcont_command(1, bad), Err(BadApn::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn registration() {
        let r = parse_registration(&l(&["+CREG: 0,1"]), "+CREG:").unwrap();
        assert_eq!(r.stat, RegStat::Home);
        let r = parse_registration(&l(&["+CREG: 2,5,\"00C3\",\"A13B\",2"]), "+CREG:").unwrap();
        assert_eq!(
            (r.stat, r.lac.as_deref(), r.ci.as_deref()),
            (RegStat::Roaming, Some("00C3"), Some("A13B"))
        );
        let r = parse_registration(&l(&["+CGREG: 2"]), "+CGREG:").unwrap();
        assert_eq!(r.stat, RegStat::Searching);
        assert!(parse_registration(&l(&["+CREG: x,y"]), "+CREG:").is_err());
        assert!(parse_registration(&l(&["+CGREG: 0,1"]), "+CREG:").is_err());
    }

    #[test]
    fn operator() {
        let o = parse_cops(&l(&["+COPS: 0,0,\"Sim Telecom\",2"])).unwrap();
        assert_eq!(o.name.as_deref(), Some("Sim Telecom"));
        assert_eq!(o.technology(), Some("UMTS"));
        let o = parse_cops(&l(&["+COPS: 0"])).unwrap();
        assert_eq!((o.name, o.act), (None, None));
        assert!(parse_cops(&l(&["+COPS: x"])).is_err());
    }

    #[test]
    fn signal_in_dbm() {
        let s = parse_csq(&l(&["+CSQ: 17,99"])).unwrap();
        assert_eq!(s.dbm(), Some(-79));
        assert_eq!(csq_dbm(0), Some(-113));
        assert_eq!(csq_dbm(31), Some(-51));
        assert_eq!(csq_dbm(99), None);
        assert_eq!(csq_dbm(32), None);
        assert!(parse_csq(&l(&["+CSQ: 17"])).is_err());
        assert!(parse_csq(&l(&["+CSQ: 300,99"])).is_err());
    }
}

/// One stored message as `+CMGL` lists it: index, stat, PDU (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub index: u32,
    pub stat: u8,
    pub pdu: String,
}

/// `+CMGL: <index>,<stat>,[<alpha>],<length>` lines, each followed by the
/// PDU's line (27.005 4.1, PDU mode).
pub fn parse_cmgl(lines: &[String]) -> Result<Vec<Listed>, ParseError> {
    let mut out = Vec::new();
    let mut it = lines.iter();
    while let Some(l) = it.next() {
        let Some(rest) = l.strip_prefix("+CMGL:") else {
            continue;
        };
        let f = split_fields(rest.trim());
        let index = f.first().and_then(|v| v.parse().ok());
        let stat = f.get(1).and_then(|v| v.parse().ok());
        let (Some(index), Some(stat)) = (index, stat) else {
            return Err(bad("a +CMGL entry", l));
        };
        let pdu = it.next().ok_or_else(|| bad("the PDU after +CMGL", l))?;
        out.push(Listed {
            index,
            stat,
            pdu: pdu.trim().to_string(),
        });
    }
    Ok(out)
}

/// `+CMGR: <stat>,[<alpha>],<length>` and the PDU's line.
pub fn parse_cmgr(lines: &[String]) -> Result<(u8, String), ParseError> {
    let i = lines
        .iter()
        .position(|l| l.starts_with("+CMGR:"))
        .ok_or_else(|| bad("+CMGR", lines.first().map_or("", |l| l.as_str())))?;
    let f = split_fields(lines[i]["+CMGR:".len()..].trim());
    let stat = f
        .first()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("the +CMGR status", &lines[i]))?;
    let pdu = lines
        .get(i + 1)
        .ok_or_else(|| bad("the PDU after +CMGR", &lines[i]))?;
    Ok((stat, pdu.trim().to_string()))
}

/// `+CMGS: <mr>`: the message reference.
pub fn parse_cmgs(lines: &[String]) -> Result<u8, ParseError> {
    let v = find(lines, "+CMGS:", "+CMGS")?;
    v.split(',')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| bad("the +CMGS reference", v))
}

/// `+CMTI: "<mem>",<index>`: a new message is stored at `index`.
pub fn parse_cmti(line: &str) -> Option<u32> {
    split_fields(line.strip_prefix("+CMTI:")?)
        .get(1)?
        .parse()
        .ok()
}

/// A USSD answer (27.007 7.15): `+CUSD: <m>[,<str>,<dcs>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cusd {
    /// 0 done, 1 further action, 2 ended by the network, 3 other client,
    /// 4 not supported, 5 timeout.
    pub m: u8,
    pub text: Option<String>,
    pub dcs: Option<u8>,
}

/// The text after `+CUSD:` (a reply line or an unsolicited one).
pub fn parse_cusd(rest: &str) -> Result<Cusd, ParseError> {
    let f = split_fields(rest.trim());
    let m = f
        .first()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("the +CUSD result", rest))?;
    Ok(Cusd {
        m,
        text: f.get(1).cloned(),
        dcs: f.get(2).and_then(|v| v.parse().ok()),
    })
}

#[cfg(test)]
mod sms_tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cmgl_cmgr_cmgs_cusd() {
        let v = parse_cmgl(&l(&[
            "+CMGL: 1,0,,23",
            "07AB",
            "+CMGL: 4,1,\"x\",9",
            "00CD",
        ]))
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].index, v[1].stat, v[1].pdu.as_str()), (4, 1, "00CD"));
        assert!(parse_cmgl(&l(&["+CMGL: 1,0,,23"])).is_err());
        assert!(parse_cmgl(&l(&["+CMGL: x,0,,23", "00"])).is_err());
        assert_eq!(parse_cmgl(&[]).unwrap(), []);
        assert_eq!(
            parse_cmgr(&l(&["+CMGR: 1,,23", "07AB"])).unwrap(),
            (1, "07AB".to_string())
        );
        assert!(parse_cmgr(&l(&["+CMGR: 1,,23"])).is_err());
        assert_eq!(parse_cmgs(&l(&["+CMGS: 7"])).unwrap(), 7);
        assert_eq!(parse_cmti("+CMTI: \"SM\",4"), Some(4));
        assert_eq!(parse_cmti("+CMTI: \"ME\",12"), Some(12));
        assert_eq!(parse_cmti("+CMTI: \"SM\""), None);
        assert_eq!(parse_cmti("+CMTI: \"SM\",x"), None);
        assert_eq!(parse_cmti("+CDSI: \"SM\",4"), None);
        assert_eq!(
            parse_cusd(" 0,\"AA180C3602\",15").unwrap(),
            Cusd {
                m: 0,
                text: Some("AA180C3602".into()),
                dcs: Some(15)
            }
        );
        assert_eq!(parse_cusd("4").unwrap().text, None);
        assert!(parse_cusd("").is_err());
    }
}
