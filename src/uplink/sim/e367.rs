//! The simulated Huawei E367's behaviour, sans-IO: command bytes in (with
//! the time), scheduled output out. [`super::SimModem`] runs it on a pty.
//!
//! It answers like an E367 on its PCUI port: echo (ATE0/ATE1, on after
//! power-up), verbose results, `COMMAND NOT SUPPORT` for what it does not
//! know, `+CME ERROR` as `AT+CMEE` asks (plain `ERROR` by default), SIM PIN
//! with attempt counting (3 wrong PINs lock the SIM to PUK; `^CPIN?` shows
//! what is left), `^SYSCFG`, `+CGDCONT`, `+CREG`/`+CGREG` with unsolicited
//! reports, `+COPS`, `+CSQ`, `AT+CFUN=1,1` (a reset: the SIM wants its PIN
//! again, its attempt counter stays), `ATD*99***1#` -> `CONNECT`, and
//! `+++` back to command mode.
//!
//! Misbehaviour knobs ([`SimConfig`]): slow replies, unsolicited codes in
//! the middle of replies and at intervals, garbage bytes, dropped bytes,
//! commands it never answers, a vanish in the middle of a command, and a
//! wedge ([`Wedge`]) that only a given rung of the recovery ladder cures.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How the simulated modem and its SIM behave.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub manufacturer: String,
    pub model: String,
    pub revision: String,
    pub imei: String,
    pub iccid: String,
    /// The SIM's PIN; `None`: the SIM asks for none.
    pub pin: Option<String>,
    pub puk: String,
    /// PIN attempts the SIM allows before it locks to PUK.
    pub pin_attempts: u8,
    pub puk_attempts: u8,
    pub operator: String,
    /// Signal in +CSQ units (0..=31, 99 unknown).
    pub csq: u8,
    pub apn: String,
    /// Echo after power-up (an E367 echoes).
    pub echo: bool,
    /// Answer `^CPIN?`; off, the modem does not tell the attempts left.
    pub huawei_cpin: bool,
    /// A plain 3GPP modem, not a Huawei: every `^` command is `ERROR`,
    /// no `^` code is sent; `+CPINR` tells the attempts left, `+WS46`
    /// sets the network mode.
    pub generic: bool,
    /// From SIM unlock to network registration.
    pub register_delay: Duration,
    /// Every reply (not the echo) comes this late.
    pub reply_delay: Duration,
    /// Send `^RSSI` and `^BOOT` at this interval.
    pub urc_interval: Option<Duration>,
    /// Put unsolicited codes in the middle of every reply.
    pub urc_mid_response: bool,
    /// Put non-printable garbage bytes before and inside every reply.
    pub garbage: bool,
    /// Drop every n-th byte sent.
    pub drop_every: Option<u32>,
    /// A command (prefix, upper case, e.g. `AT+CSQ`) on which the device
    /// vanishes after sending half its reply.
    pub vanish_on: Option<String>,
    /// Commands (prefixes) that are never answered.
    pub ignore: Vec<String>,
    /// `AT+CFUN=1,1` makes the device vanish, as a real one drops off USB.
    pub vanish_on_reset: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            manufacturer: "huawei".into(),
            model: "E367".into(),
            revision: "11.810.09.00.00".into(),
            imei: "353142030000005".into(),
            iccid: "89490200001234567890".into(),
            pin: Some("1234".into()),
            puk: "12345678".into(),
            pin_attempts: 3,
            puk_attempts: 10,
            operator: "Sim Telecom".into(),
            csq: 17,
            apn: "internet".into(),
            echo: true,
            huawei_cpin: true,
            generic: false,
            register_delay: Duration::ZERO,
            reply_delay: Duration::ZERO,
            urc_interval: None,
            urc_mid_response: false,
            garbage: false,
            drop_every: None,
            vanish_on: None,
            ignore: Vec::new(),
            vanish_on_reset: false,
        }
    }
}

/// A wedged modem, named by the gentlest recovery that cures it, as real
/// firmwares wedge: [`E367::wedge`] sets it, [`E367::cure`] applies a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wedge {
    /// Answers AT, but the network side is stuck: it never registers and
    /// every dial ends in `NO CARRIER`; `AT+CFUN=1,1` cures it.
    Cfun,
    /// The firmware is hung: no echo, no answer to anything, until a USB
    /// reset.
    UsbReset,
    /// Hung so that only cutting the power helps (port power or the
    /// board's switch).
    Power,
}

/// What cures a wedge: the recovery a real modem would see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cure {
    Cfun,
    UsbReset,
    Power,
}

/// What the SIM waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Ready,
    Pin,
    Puk,
    /// PUK attempts used up: the SIM is dead.
    Blocked,
}

/// What tests may look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub lock: Lock,
    pub pin_left: u8,
    pub puk_left: u8,
    /// PIN entries the SIM counted (right or wrong).
    pub pin_entries: u32,
    pub wrong_pins: u32,
    pub commands: u32,
    pub resets: u32,
    pub online: bool,
    pub registered: bool,
    pub vanished: bool,
    /// Wedged now, and how.
    pub wedge: Option<Wedge>,
    /// Cures applied (USB resets, power cycles; a CFUN reset counts in
    /// `resets`).
    pub cures: u32,
    /// The PDUs sent with `AT+CMGS` (hex, SMSC part first).
    pub sms_sent: Vec<String>,
    /// `^` (Huawei) commands received.
    pub carets: u32,
    /// The mode `AT+WS46=` set (generic).
    pub ws46: Option<u8>,
}

/// Something to send at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Bytes(Vec<u8>),
    /// The device goes away (the pty master is closed).
    Vanish,
}

const MAX_CMD_LINE: usize = 512;
const GARBAGE: &[u8] = b"\x00\xff\xfe\x1b\x7f\x80\x11";

/// The modem.
pub struct E367 {
    cfg: SimConfig,
    pin: String,
    echo: bool,
    cmee: u8,
    creg_n: u8,
    cgreg_n: u8,
    syscfg: (u8, u8, String, u8, u8),
    contexts: Vec<(u8, String, String)>,
    line: Vec<u8>,
    plus_run: u8,
    registers_at: Option<Instant>,
    next_urc: Option<Instant>,
    out: VecDeque<(Instant, Out)>,
    sent_bytes: u64,
    stats: Stats,
    /// SMS storage (index, stat, PDU hex) in PDU mode, and what was sent.
    sms: Vec<(u32, u8, String)>,
    /// After `AT+CMGS=<len>`'s prompt: the TPDU length and the hex so far.
    cmgs: Option<(usize, Vec<u8>)>,
    next_mr: u8,
    /// `AT+CNMI`'s `<mt>`: 1 announces a new message with `+CMTI`.
    cnmi_mt: u8,
}

/// The SIM's messages at power-up: the published "hellohello" DELIVER
/// (unread) and "See you at noon" in two parts (read), stored out of
/// order (python-gsmmodem-new's decodeSmsPdu reads both parts so).
pub const SIM_SMS: [(u32, u8, &str); 3] = [
    (
        1,
        0,
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
    ),
    (
        2,
        1,
        "0044049194710000622091410000000E050003CC0202C27490FBFD7603",
    ),
    (
        3,
        1,
        "0044049194710000622091410000000F050003CC0201A6E53228FFAE8300",
    ),
];

/// The network's answer to `*100#` (others: "unknown code").
pub const SIM_BALANCE: &str = "Balance: 12.34 EUR";

impl E367 {
    pub fn new(cfg: SimConfig, now: Instant) -> E367 {
        let lock = if cfg.pin.is_some() {
            Lock::Pin
        } else {
            Lock::Ready
        };
        let mut m = E367 {
            pin: cfg.pin.clone().unwrap_or_default(),
            echo: cfg.echo,
            cmee: 0,
            creg_n: 0,
            cgreg_n: 0,
            syscfg: (2, 2, "3FFFFFFF".into(), 1, 2),
            contexts: vec![(1, "IP".into(), cfg.apn.clone())],
            line: Vec::new(),
            plus_run: 0,
            registers_at: None,
            next_urc: cfg.urc_interval.map(|i| now + i),
            out: VecDeque::new(),
            sent_bytes: 0,
            sms: SIM_SMS
                .iter()
                .map(|&(i, st, p)| (i, st, p.to_string()))
                .collect(),
            cmgs: None,
            next_mr: 1,
            cnmi_mt: 0,
            stats: Stats {
                lock,
                pin_left: cfg.pin_attempts,
                puk_left: cfg.puk_attempts,
                pin_entries: 0,
                wrong_pins: 0,
                commands: 0,
                resets: 0,
                online: false,
                registered: false,
                vanished: false,
                wedge: None,
                cures: 0,
                sms_sent: Vec::new(),
                carets: 0,
                ws46: None,
            },
            cfg,
        };
        if lock == Lock::Ready {
            m.registers_at = Some(now + m.cfg.register_delay);
        }
        m
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When something is due next.
    pub fn poll_at(&self) -> Option<Instant> {
        [
            self.out.front().map(|(t, _)| *t),
            self.registers_at,
            self.next_urc,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Everything due by `now`, in order.
    pub fn due(&mut self, now: Instant) -> Vec<Out> {
        if self.registers_at.is_some_and(|t| t <= now) {
            self.registers_at = None;
            self.register(now);
        }
        if let (Some(t), Some(i)) = (self.next_urc, self.cfg.urc_interval) {
            if t <= now {
                self.next_urc = Some(now + i.max(Duration::from_millis(10)));
                if !self.stats.online && !self.cfg.generic {
                    let csq = self.cfg.csq;
                    self.send(
                        now,
                        format!("\r\n^RSSI:{csq}\r\n\r\n^BOOT:20769641,0,0,0,72\r\n").into_bytes(),
                    );
                }
            }
        }
        let mut due = Vec::new();
        while self.out.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, o)) = self.out.pop_front() {
                due.push(o);
            }
        }
        due
    }

    /// Wedge the modem (None: unwedge it, as if nothing had happened).
    pub fn wedge(&mut self, w: Option<Wedge>) {
        self.stats.wedge = w;
        if w.is_some() {
            self.stats.online = false;
            self.stats.registered = false;
            self.registers_at = None;
            self.line.clear();
        }
    }

    /// A recovery from outside (USB reset, power cycle): the modem
    /// restarts as after `AT+CFUN=1,1`, and the wedges it cures are gone.
    pub fn cure(&mut self, c: Cure, now: Instant) {
        self.stats.cures += 1;
        let cured = match self.stats.wedge {
            None => true,
            Some(Wedge::Cfun) => true,
            Some(Wedge::UsbReset) => c >= Cure::UsbReset,
            Some(Wedge::Power) => c >= Cure::Power,
        };
        if cured {
            self.stats.wedge = None;
        }
        self.out.clear();
        self.line.clear();
        self.restart(now);
    }

    /// Mark the device gone (the pty is closed); nothing more is sent.
    pub fn vanished(&mut self) {
        self.stats.vanished = true;
        self.out.clear();
    }

    /// A message arrives from the network (SIM_SMS's first, again): stored
    /// unread, announced with `+CMTI` when `AT+CNMI` asked for that.
    pub fn receive_sms(&mut self, now: Instant) {
        let index = self.sms.iter().map(|m| m.0).max().unwrap_or(0) + 1;
        self.sms.push((index, 0, SIM_SMS[0].2.to_string()));
        if self.cnmi_mt == 1 {
            self.send(now, format!("\r\n+CMTI: \"SM\",{index}\r\n").into_bytes());
        }
    }

    /// Leave data mode as if the network hung up: `NO CARRIER`.
    pub fn hang_up(&mut self, now: Instant) {
        if self.stats.online {
            self.stats.online = false;
            self.send(now, b"\r\nNO CARRIER\r\n".to_vec());
        }
    }

    fn last_time(&self, now: Instant) -> Instant {
        self.out.back().map_or(now, |(t, _)| (*t).max(now))
    }

    /// Queue bytes after whatever is queued, applying the drop knob.
    fn send(&mut self, at: Instant, bytes: Vec<u8>) {
        let at = self.last_time(at);
        let bytes = match self.cfg.drop_every {
            Some(n) if n > 0 => bytes
                .into_iter()
                .filter(|_| {
                    self.sent_bytes += 1;
                    self.sent_bytes % u64::from(n) != 0
                })
                .collect(),
            _ => bytes,
        };
        if !bytes.is_empty() {
            self.out.push_back((at, Out::Bytes(bytes)));
        }
    }

    /// Bytes from the computer.
    pub fn input(&mut self, bytes: &[u8], now: Instant) {
        if self.stats.vanished || matches!(self.stats.wedge, Some(Wedge::UsbReset | Wedge::Power)) {
            return;
        }
        for &b in bytes {
            if self.stats.online {
                // Data mode: "+++" returns to command mode (guard times
                // are not simulated); everything else is swallowed.
                self.plus_run = if b == b'+' { self.plus_run + 1 } else { 0 };
                if self.plus_run == 3 {
                    self.plus_run = 0;
                    self.stats.online = false;
                    self.send(now, b"\r\nOK\r\n".to_vec());
                }
                continue;
            }
            if self.echo {
                self.send(now, vec![b]);
            }
            if let Some((len, hex)) = self.cmgs.as_mut() {
                match b {
                    0x1A => {
                        let (len, hex) = (*len, std::mem::take(hex));
                        self.cmgs = None;
                        self.cmgs_done(len, &hex, now);
                    }
                    0x1B => {
                        self.cmgs = None;
                        self.ok(now, &[]);
                    }
                    _ if hex.len() < 2 * 200 => hex.push(b),
                    _ => {}
                }
                continue;
            }
            match b {
                b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    let text = String::from_utf8_lossy(&line).trim().to_string();
                    if text.len() >= 2
                        && text.get(..2).is_some_and(|h| h.eq_ignore_ascii_case("AT"))
                    {
                        self.command(&text, now);
                    }
                }
                b'\n' => {}
                0x08 => {
                    self.line.pop();
                }
                _ if self.line.len() < MAX_CMD_LINE => self.line.push(b),
                _ => {}
            }
        }
    }

    fn cme(&self, code: u16, text: &str) -> String {
        match self.cmee {
            1 => format!("+CME ERROR: {code}"),
            2 => format!("+CME ERROR: {text}"),
            _ => "ERROR".into(),
        }
    }

    fn reply(&mut self, now: Instant, lines: &[String], fin: &str) {
        let at = now + self.cfg.reply_delay;
        let mut b = Vec::new();
        let mid = format!("\r\n^RSSI:{}\r\n\r\n^MODE:5,4\r\n", self.cfg.csq);
        if self.cfg.garbage {
            b.extend_from_slice(GARBAGE);
        }
        for (i, l) in lines.iter().enumerate() {
            b.extend_from_slice(format!("\r\n{l}\r\n").as_bytes());
            if i == 0 && self.cfg.urc_mid_response {
                b.extend_from_slice(mid.as_bytes());
            }
        }
        if lines.is_empty() && self.cfg.urc_mid_response {
            b.extend_from_slice(mid.as_bytes());
        }
        b.extend_from_slice(b"\r\n");
        if self.cfg.garbage {
            b.extend_from_slice(GARBAGE);
        }
        b.extend_from_slice(fin.as_bytes());
        b.extend_from_slice(b"\r\n");
        self.send(at, b);
    }

    fn ok(&mut self, now: Instant, lines: &[String]) {
        self.reply(now, lines, "OK");
    }

    fn register(&mut self, now: Instant) {
        if self.stats.lock != Lock::Ready || self.stats.registered || self.stats.wedge.is_some() {
            return;
        }
        self.stats.registered = true;
        let mut b = String::from(match self.cfg.generic {
            false => "\r\n^SRVST:2\r\n\r\n^MODE:5,4\r\n",
            true => "",
        });
        if self.creg_n > 0 {
            b.push_str("\r\n+CREG: 1\r\n");
        }
        if self.cgreg_n > 0 {
            b.push_str("\r\n+CGREG: 1\r\n");
        }
        self.send(now, b.into_bytes());
    }

    fn reset(&mut self, now: Instant) {
        self.stats.resets += 1;
        self.restart(now);
    }

    /// Power-up state again (the SIM keeps its lock and counters).
    fn restart(&mut self, now: Instant) {
        self.stats.registered = false;
        self.stats.online = false;
        self.echo = self.cfg.echo;
        self.cmee = 0;
        self.creg_n = 0;
        self.cgreg_n = 0;
        self.cnmi_mt = 0;
        self.registers_at = None;
        match self.stats.lock {
            Lock::Ready if self.cfg.pin.is_some() => self.stats.lock = Lock::Pin,
            Lock::Ready => self.registers_at = Some(now + self.cfg.register_delay),
            _ => {}
        }
    }

    fn cpin_state(&self) -> &'static str {
        match self.stats.lock {
            Lock::Ready => "READY",
            Lock::Pin => "SIM PIN",
            Lock::Puk | Lock::Blocked => "SIM PUK",
        }
    }

    fn command(&mut self, text: &str, now: Instant) {
        self.stats.commands += 1;
        let upper = text.to_ascii_uppercase();
        if self
            .cfg
            .ignore
            .iter()
            .any(|p| upper.starts_with(p.as_str()))
        {
            return;
        }
        if let Some(v) = &self.cfg.vanish_on {
            if upper.starts_with(v.as_str()) {
                self.send(now + self.cfg.reply_delay, b"\r\n+CSQ: 1".to_vec());
                let at = self.last_time(now);
                self.out.push_back((at, Out::Vanish));
                return;
            }
        }
        let body = text.get(2..).unwrap_or("");
        let ubody = upper.get(2..).unwrap_or("");
        let s = |v: &str| vec![v.to_string()];
        if ubody.starts_with('^') {
            self.stats.carets += 1;
            if self.cfg.generic {
                return self.reply(now, &[], "ERROR");
            }
        }
        match ubody {
            "" | "V1" | "Q0" | "H" | "H0" | "&C1" | "&D2" | "S0=0" | "+CFUN=1" => self.ok(now, &[]),
            "E" | "E0" => {
                self.echo = false;
                self.ok(now, &[])
            }
            "E1" => {
                self.echo = true;
                self.ok(now, &[])
            }
            "Z" | "&F" | "&F0" => {
                self.echo = self.cfg.echo;
                self.cmee = 0;
                self.ok(now, &[])
            }
            "I" => {
                let c = &self.cfg;
                let lines = vec![
                    format!("Manufacturer: {}", c.manufacturer),
                    format!("Model: {}", c.model),
                    format!("Revision: {}", c.revision),
                    format!("IMEI: {}", c.imei),
                    "+GCAP: +CGSM,+DS,+ES".to_string(),
                ];
                self.ok(now, &lines)
            }
            "+CGMI" | "+GMI" => self.ok(now, &s(&self.cfg.manufacturer.clone())),
            "+CGMM" | "+GMM" => self.ok(now, &s(&self.cfg.model.clone())),
            "+CGMR" | "+GMR" => self.ok(now, &s(&self.cfg.revision.clone())),
            "+CGSN" | "+GSN" => self.ok(now, &s(&self.cfg.imei.clone())),
            "+CMEE?" => {
                let l = format!("+CMEE: {}", self.cmee);
                self.ok(now, &s(&l))
            }
            "+CFUN?" => self.ok(now, &s("+CFUN: 1")),
            "+CFUN=1,1" => {
                self.ok(now, &[]);
                if self.stats.wedge == Some(Wedge::Cfun) {
                    self.stats.wedge = None;
                }
                self.reset(now);
                if self.cfg.vanish_on_reset {
                    let at = self.last_time(now);
                    self.out.push_back((at, Out::Vanish));
                }
            }
            "+CPIN?" => {
                let l = format!("+CPIN: {}", self.cpin_state());
                self.ok(now, &s(&l))
            }
            "^CPIN?" if self.cfg.huawei_cpin => {
                let st = &self.stats;
                let l = match st.lock {
                    Lock::Ready => format!("^CPIN: READY,,{},{},10,3", st.puk_left, st.pin_left),
                    Lock::Pin => format!(
                        "^CPIN: SIM PIN,{},{},{},10,3",
                        st.pin_left, st.puk_left, st.pin_left
                    ),
                    Lock::Puk | Lock::Blocked => {
                        format!("^CPIN: SIM PUK,{},{},0,10,3", st.puk_left, st.puk_left)
                    }
                };
                self.ok(now, &s(&l))
            }
            "+CPINR=\"SIM PIN\"" if self.cfg.generic => {
                let l = format!(
                    "+CPINR: SIM PIN,{},{}",
                    self.stats.pin_left, self.cfg.pin_attempts
                );
                self.ok(now, &s(&l))
            }
            "+WS46=12" | "+WS46=22" | "+WS46=25" if self.cfg.generic => {
                self.stats.ws46 = ubody[6..].parse().ok();
                self.ok(now, &[])
            }
            "^ICCID?" => {
                let l = format!("^ICCID: {}", self.cfg.iccid);
                self.ok(now, &s(&l))
            }
            "+CRSM=176,12258,0,0,10" => {
                let mut d: Vec<u8> = self.cfg.iccid.bytes().collect();
                if d.len() % 2 == 1 {
                    d.push(b'F');
                }
                let swapped: String = d
                    .chunks(2)
                    .flat_map(|p| p.iter().rev().map(|&c| char::from(c)))
                    .collect();
                let l = format!("+CRSM: 144,0,\"{swapped}\"");
                self.ok(now, &s(&l))
            }
            "^SYSCFG?" => {
                let (a, b, c, d, e) = &self.syscfg;
                let l = format!("^SYSCFG: {a},{b},{c},{d},{e}");
                self.ok(now, &s(&l))
            }
            "+CGDCONT?" => {
                let lines: Vec<String> = self
                    .contexts
                    .iter()
                    .map(|(c, t, a)| format!("+CGDCONT: {c},\"{t}\",\"{a}\",\"0.0.0.0\",0,0"))
                    .collect();
                self.ok(now, &lines)
            }
            "+CREG?" => {
                let l = format!("+CREG: {},{}", self.creg_n, self.reg_stat());
                self.ok(now, &s(&l))
            }
            "+CGREG?" => {
                let l = format!("+CGREG: {},{}", self.cgreg_n, self.reg_stat());
                self.ok(now, &s(&l))
            }
            "+COPS?" => {
                let l = if self.stats.registered {
                    format!("+COPS: 0,0,\"{}\",2", self.cfg.operator)
                } else {
                    "+COPS: 0".to_string()
                };
                self.ok(now, &s(&l))
            }
            "+CSQ" => {
                let l = format!("+CSQ: {},99", self.cfg.csq);
                self.ok(now, &s(&l))
            }
            _ => self.command_with_args(body, ubody, now),
        }
    }

    fn reg_stat(&self) -> u8 {
        match (self.stats.registered, self.stats.lock) {
            (true, _) => 1,
            (false, Lock::Ready) => 2,
            _ => 0,
        }
    }

    /// The PDU after `AT+CMGS`'s prompt: hex of an SMS-SUBMIT whose TPDU
    /// is `len` octets (SMSC part in front).
    fn cmgs_done(&mut self, len: usize, hex: &[u8], now: Instant) {
        let text = String::from_utf8_lossy(hex).trim().to_string();
        let ok = crate::uplink::modem::sms::from_hex(&text)
            .ok()
            .filter(|b| {
                b.first()
                    .is_some_and(|&l| b.len() == 1 + usize::from(l) + len)
            })
            .filter(|b| b.get(1 + usize::from(b[0])).is_some_and(|f| f & 3 == 1));
        if ok.is_none() {
            return self.reply(now, &[], "+CMS ERROR: 304");
        }
        self.stats.sms_sent.push(text);
        let mr = self.next_mr;
        self.next_mr = self.next_mr.wrapping_add(1);
        self.ok(now, &[format!("+CMGS: {mr}")]);
    }

    /// SMS and USSD in PDU mode (27.005, 27.007 7.15).
    fn messaging(&mut self, ubody: &str, now: Instant) -> bool {
        let tpdu_len = |pdu: &str| {
            (pdu.len() / 2).saturating_sub(
                1 + usize::from(u8::from_str_radix(pdu.get(..2).unwrap_or("00"), 16).unwrap_or(0)),
            )
        };
        if let Some(n) = ubody.strip_prefix("+CMGF=") {
            match n {
                "0" => self.ok(now, &[]),
                _ => self.reply(now, &[], "+CMS ERROR: 303"),
            }
        } else if let Some(st) = ubody.strip_prefix("+CMGL=") {
            let Ok(st) = st.parse::<u8>() else {
                self.reply(now, &[], "+CMS ERROR: 302");
                return true;
            };
            let mut lines = Vec::new();
            for m in self.sms.iter_mut().filter(|m| st == 4 || m.1 == st) {
                lines.push(format!("+CMGL: {},{},,{}", m.0, m.1, tpdu_len(&m.2)));
                lines.push(m.2.clone());
                if m.1 == 0 {
                    m.1 = 1;
                }
            }
            self.ok(now, &lines);
        } else if let Some(i) = ubody.strip_prefix("+CMGR=") {
            match self.sms.iter_mut().find(|m| i.parse() == Ok(m.0)) {
                Some(m) => {
                    let lines = vec![format!("+CMGR: {},,{}", m.1, tpdu_len(&m.2)), m.2.clone()];
                    if m.1 == 0 {
                        m.1 = 1;
                    }
                    self.ok(now, &lines);
                }
                None => self.reply(now, &[], "+CMS ERROR: 321"),
            }
        } else if let Some(i) = ubody.strip_prefix("+CMGD=") {
            let i = i.split(',').next().unwrap_or("");
            match i.parse::<u32>() {
                Ok(i) => {
                    self.sms.retain(|m| m.0 != i);
                    self.ok(now, &[]);
                }
                Err(_) => self.reply(now, &[], "+CMS ERROR: 321"),
            }
        } else if let Some(n) = ubody.strip_prefix("+CMGS=") {
            match n.parse::<usize>() {
                Ok(len) if (1..=164).contains(&len) => {
                    self.cmgs = Some((len, Vec::new()));
                    self.send(now + self.cfg.reply_delay, b"\r\n> ".to_vec());
                }
                _ => self.reply(now, &[], "+CMS ERROR: 304"),
            }
        } else if let Some(a) = ubody.strip_prefix("+CUSD=") {
            let f = crate::uplink::modem::at::wire::split_fields(a);
            let asked = f
                .get(1)
                .and_then(|h| crate::uplink::modem::sms::ussd_decode_packed(h));
            match (f.first().map(String::as_str), asked) {
                (Some("1"), Some(code)) => {
                    self.ok(now, &[]);
                    let answer = if code == "*100#" {
                        SIM_BALANCE
                    } else {
                        "Unknown code"
                    };
                    let hex = crate::uplink::modem::sms::ussd_encode(answer).unwrap_or_default();
                    // The network's answer, after the OK, as Huawei's do.
                    let at = self.last_time(now) + Duration::from_millis(50);
                    self.send(at, format!("\r\n+CUSD: 0,\"{hex}\",15\r\n").into_bytes());
                }
                (Some("2"), _) => self.ok(now, &[]),
                _ => self.reply(now, &[], "+CME ERROR: 258"),
            }
        } else {
            return false;
        }
        true
    }

    fn command_with_args(&mut self, body: &str, ubody: &str, now: Instant) {
        if self.messaging(ubody, now) {
            return;
        }
        let args = |prefix: &str| -> Option<Vec<String>> {
            ubody
                .starts_with(prefix)
                .then(|| {
                    body.get(prefix.len()..)
                        .map(crate::uplink::modem::at::wire::split_fields)
                })
                .flatten()
        };
        if let Some(a) = args("+CPIN=") {
            return self.enter_pin(&a, now);
        }
        if let Some(a) = args("+CREG=") {
            return match a
                .first()
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|n| *n <= 2)
            {
                Some(n) => {
                    self.creg_n = n;
                    self.ok(now, &[])
                }
                None => self.reply(now, &[], "ERROR"),
            };
        }
        if let Some(a) = args("+CGREG=") {
            return match a
                .first()
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|n| *n <= 2)
            {
                Some(n) => {
                    self.cgreg_n = n;
                    self.ok(now, &[])
                }
                None => self.reply(now, &[], "ERROR"),
            };
        }
        if let Some(a) = args("+CNMI=") {
            // SMS services need the SIM.
            if self.stats.lock != Lock::Ready {
                let e = self.cme(11, "SIM PIN required");
                return self.reply(now, &[], &e);
            }
            self.cnmi_mt = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            return self.ok(now, &[]);
        }
        if let Some(a) = args("+CMEE=") {
            return match a
                .first()
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|n| *n <= 2)
            {
                Some(n) => {
                    self.cmee = n;
                    self.ok(now, &[])
                }
                None => self.reply(now, &[], "ERROR"),
            };
        }
        if let Some(a) = args("^SYSCFG=") {
            let n = |i: usize| a.get(i).and_then(|v| v.parse::<u8>().ok());
            return match (n(0), n(1), a.get(2), n(3), n(4)) {
                (
                    Some(m @ (2 | 13 | 14 | 16)),
                    Some(o @ 0..=3),
                    Some(band),
                    Some(r @ 0..=3),
                    Some(d @ 0..=4),
                ) if a.len() == 5 => {
                    self.syscfg = (m, o, band.clone(), r, d);
                    self.ok(now, &[])
                }
                _ => self.reply(now, &[], "ERROR"),
            };
        }
        if let Some(a) = args("+CGDCONT=") {
            let cid = a
                .first()
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|c| (1..=16).contains(c));
            return match (cid, a.get(1), a.get(2)) {
                (Some(cid), Some(t), apn) => {
                    let apn = apn.cloned().unwrap_or_default();
                    self.contexts.retain(|(c, _, _)| *c != cid);
                    self.contexts.push((cid, t.clone(), apn));
                    self.contexts.sort();
                    self.ok(now, &[])
                }
                _ => self.reply(now, &[], "ERROR"),
            };
        }
        if ubody.starts_with('D') {
            let fin = match self.stats.lock {
                Lock::Ready if self.stats.registered => {
                    self.stats.online = true;
                    "CONNECT 3600000".to_string()
                }
                Lock::Ready => "NO CARRIER".to_string(),
                Lock::Pin => self.cme(11, "SIM PIN required"),
                Lock::Puk | Lock::Blocked => self.cme(12, "SIM PUK required"),
            };
            return self.reply(now, &[], &fin);
        }
        self.reply(now, &[], "COMMAND NOT SUPPORT")
    }

    fn enter_pin(&mut self, a: &[String], now: Instant) {
        let fin = match (self.stats.lock, a) {
            (Lock::Pin, [pin]) => {
                self.stats.pin_entries += 1;
                if *pin == self.pin {
                    self.stats.lock = Lock::Ready;
                    self.stats.pin_left = self.cfg.pin_attempts;
                    self.registers_at = Some(now + self.cfg.register_delay);
                    "OK".to_string()
                } else {
                    self.stats.wrong_pins += 1;
                    self.stats.pin_left = self.stats.pin_left.saturating_sub(1);
                    if self.stats.pin_left == 0 {
                        self.stats.lock = Lock::Puk;
                    }
                    self.cme(16, "incorrect password")
                }
            }
            (Lock::Puk, [puk, new_pin]) => {
                if *puk == self.cfg.puk {
                    self.pin = new_pin.clone();
                    self.stats.lock = Lock::Ready;
                    self.stats.pin_left = self.cfg.pin_attempts;
                    self.stats.puk_left = self.cfg.puk_attempts;
                    self.registers_at = Some(now + self.cfg.register_delay);
                    "OK".to_string()
                } else {
                    self.stats.puk_left = self.stats.puk_left.saturating_sub(1);
                    if self.stats.puk_left == 0 {
                        self.stats.lock = Lock::Blocked;
                    }
                    self.cme(16, "incorrect password")
                }
            }
            (Lock::Puk, _) => self.cme(12, "SIM PUK required"),
            (Lock::Blocked, _) => self.cme(13, "SIM failure"),
            (Lock::Ready, _) => self.cme(3, "operation not allowed"),
            (Lock::Pin, _) => "ERROR".to_string(),
        };
        self.reply(now, &[], &fin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a command line and collect what is due right away.
    fn talk(m: &mut E367, line: &str, now: Instant) -> String {
        m.input(format!("{line}\r").as_bytes(), now);
        let mut s = Vec::new();
        for o in m.due(now) {
            if let Out::Bytes(b) = o {
                s.extend(b);
            }
        }
        String::from_utf8_lossy(&s).into_owned()
    }

    #[test]
    fn echo_and_results() {
        let t = Instant::now();
        let mut m = E367::new(SimConfig::default(), t);
        assert_eq!(talk(&mut m, "AT", t), "AT\r\r\nOK\r\n");
        assert_eq!(talk(&mut m, "ATE0", t), "ATE0\r\r\nOK\r\n");
        assert_eq!(talk(&mut m, "AT+CGMM", t), "\r\nE367\r\n\r\nOK\r\n");
        assert_eq!(talk(&mut m, "AT+FOO", t), "\r\nCOMMAND NOT SUPPORT\r\n");
        assert_eq!(talk(&mut m, "hello", t), "");
    }

    #[test]
    fn three_wrong_pins_lock_the_sim_to_puk() {
        let t = Instant::now();
        let mut m = E367::new(SimConfig::default(), t);
        talk(&mut m, "ATE0", t);
        talk(&mut m, "AT+CMEE=1", t);
        assert!(talk(&mut m, "AT^CPIN?", t).contains("^CPIN: SIM PIN,3,10,3,10,3"));
        for left in [2, 1] {
            assert!(talk(&mut m, "AT+CPIN=\"0000\"", t).contains("+CME ERROR: 16"));
            assert!(talk(&mut m, "AT^CPIN?", t).contains(&format!("SIM PIN,{left},10,{left},")));
        }
        talk(&mut m, "AT+CPIN=\"0000\"", t);
        assert!(talk(&mut m, "AT+CPIN?", t).contains("+CPIN: SIM PUK"));
        assert!(talk(&mut m, "AT+CPIN=\"1234\"", t).contains("+CME ERROR: 12"));
        assert_eq!(m.stats().lock, Lock::Puk);
        assert!(talk(&mut m, "AT+CPIN=\"12345678\",\"4321\"", t).contains("OK"));
        assert_eq!(m.stats().lock, Lock::Ready);
    }

    #[test]
    fn unlock_register_dial_and_back() {
        let t = Instant::now();
        let mut m = E367::new(SimConfig::default(), t);
        talk(&mut m, "ATE0", t);
        assert!(talk(&mut m, "ATD*99***1#", t).contains("ERROR"));
        talk(&mut m, "AT+CREG=1", t);
        let urcs = talk(&mut m, "AT+CPIN=\"1234\"", t);
        assert!(
            urcs.contains("OK\r\n") && urcs.contains("+CREG: 1"),
            "{urcs}"
        );
        assert!(talk(&mut m, "AT+COPS?", t).contains("\"Sim Telecom\""));
        assert!(talk(&mut m, "ATD*99***1#", t).contains("CONNECT 3600000"));
        assert!(m.stats().online);
        assert_eq!(talk(&mut m, "AT", t), "");
        m.input(b"+++", t);
        assert!(!m.stats().online);
        assert!(talk(&mut m, "AT+CFUN=1,1", t).contains("OK"));
        assert!(talk(&mut m, "AT+CPIN?", t).contains("SIM PIN"));
        assert_eq!(m.stats().resets, 1);
    }

    /// Each wedge ignores what a wedged firmware ignores, and only its rung
    /// (or a stronger one) cures it.
    #[test]
    fn wedges_and_their_cures() {
        let t = Instant::now();
        let mut m = E367::new(
            SimConfig {
                pin: None,
                ..SimConfig::default()
            },
            t,
        );
        m.due(t);
        assert!(talk(&mut m, "AT+CREG?", t).contains("+CREG: 0,1"));
        m.wedge(Some(Wedge::Cfun));
        assert!(talk(&mut m, "ATD*99***1#", t).contains("NO CARRIER"));
        assert!(talk(&mut m, "AT+CFUN=1,1", t).contains("OK"));
        assert_eq!(m.stats().wedge, None);
        m.due(t);
        assert!(talk(&mut m, "ATD*99***1#", t).contains("CONNECT"));
        m.input(b"+++", t);
        m.due(t);
        m.wedge(Some(Wedge::UsbReset));
        assert_eq!(
            talk(&mut m, "AT+CFUN=1,1", t),
            "",
            "a hung firmware answers nothing"
        );
        m.cure(Cure::Cfun, t);
        assert_eq!(m.stats().wedge, Some(Wedge::UsbReset));
        m.cure(Cure::UsbReset, t);
        assert_eq!(m.stats().wedge, None);
        assert!(talk(&mut m, "AT", t).contains("OK"));
        m.wedge(Some(Wedge::Power));
        m.cure(Cure::UsbReset, t);
        assert_eq!(talk(&mut m, "AT", t), "");
        m.cure(Cure::Power, t);
        assert!(talk(&mut m, "AT", t).contains("OK"));
        assert_eq!(m.stats().cures, 4);
    }

    #[test]
    fn slow_replies_are_scheduled() {
        let t = Instant::now();
        let cfg = SimConfig {
            reply_delay: Duration::from_secs(2),
            echo: false,
            ..SimConfig::default()
        };
        let mut m = E367::new(cfg, t);
        assert_eq!(talk(&mut m, "AT", t), "");
        assert_eq!(m.poll_at(), Some(t + Duration::from_secs(2)));
        assert_eq!(
            m.due(t + Duration::from_secs(2)),
            vec![Out::Bytes(b"\r\nOK\r\n".to_vec())]
        );
    }

    #[test]
    fn crsm_iccid_is_nibble_swapped() {
        let t = Instant::now();
        let mut m = E367::new(SimConfig::default(), t);
        talk(&mut m, "ATE0", t);
        assert!(talk(&mut m, "AT+CRSM=176,12258,0,0,10", t).contains("\"98942000002143658709\""));
    }
}
