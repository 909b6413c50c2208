//! The blocking modem driver: runs the AT [`Session`] over a serial port
//! with real time. The port sits behind the small [`Port`] trait; the only
//! implementation that ships is [`TtyPort`] (termios and poll, see `tty`).
//!
//! Waiting is always bounded: every read waits at most until the command's
//! deadline, a vanished device (hangup, EIO, end of file) is an error at
//! once, and nothing spins.

use super::at::session::BadCommand;
use super::at::{Action, Command, ErrorCode, Failure, Final, Response, Session, Urc};
use super::commands::{
    self as c, Operator, ParseError, PinCounters, Registration, Signal, SimState, SysCfg,
};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// A byte stream to a modem with bounded waits.
pub trait Port {
    /// Wait at most `timeout` for input. `Ok(None)`: nothing arrived in
    /// time. End of file is an error (the device went away), never `Some(0)`.
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>>;
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
}

pub use super::tty::TtyPort;

/// What went wrong talking to the modem; each names the command.
#[derive(Debug)]
pub enum ModemFault {
    /// The tty could not be opened (missing, permissions, not a tty).
    Open { path: String, source: io::Error },
    /// Another process holds the port.
    InUse { path: String },
    /// The device went away (unplugged, reset, hangup).
    Vanished { command: String, detail: String },
    /// Any other read/write failure.
    Io { command: String, source: io::Error },
    /// No final result in time.
    Timeout(Failure),
    /// The modem answered with an error result.
    Rejected { command: String, result: Final },
    /// The modem answered OK, but not with what the command asks for.
    Reply { command: String, source: ParseError },
    /// A command that cannot be sent (ours or the user's).
    BadCommand(BadCommand),
    /// The APN to set is missing or malformed.
    Apn(c::BadApn),
}

impl fmt::Display for ModemFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModemFault::Open { path, source } => write!(f, "cannot open {path}: {source}"),
            ModemFault::InUse { path } => write!(f, "{path} is in use by another process"),
            ModemFault::Vanished { command, detail } => {
                write!(f, "{command}: the modem went away ({detail})")
            }
            ModemFault::Io { command, source } => write!(f, "{command}: {source}"),
            ModemFault::Timeout(t) => write!(f, "{t}"),
            ModemFault::Rejected { command, result } => {
                write!(f, "{command}: modem answered {result}")
            }
            ModemFault::Reply { command, source } => write!(f, "{command}: {source}"),
            ModemFault::BadCommand(b) => write!(f, "{b}"),
            ModemFault::Apn(a) => write!(f, "{a}"),
        }
    }
}

/// A [`ModemFault`] behind one pointer: a `Result<_, ModemError>` is one
/// word, so each of the driver's many `?` moves a pointer, not the whole
/// error (less code on mips).
#[derive(Debug)]
pub struct ModemError(Box<ModemFault>);

impl ModemError {
    /// What went wrong.
    pub fn fault(&self) -> &ModemFault {
        &self.0
    }

    pub fn into_fault(self) -> ModemFault {
        *self.0
    }
}

impl From<ModemFault> for ModemError {
    fn from(f: ModemFault) -> Self {
        ModemError(Box::new(f))
    }
}

impl fmt::Display for ModemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ModemError {}

impl From<BadCommand> for ModemError {
    fn from(b: BadCommand) -> Self {
        ModemFault::BadCommand(b).into()
    }
}

fn is_vanished(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof | io::ErrorKind::NotConnected
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::ENXIO | libc::ENODEV)
    )
}

/// The modem's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub revision: Option<String>,
    pub imei: Option<String>,
}

/// Everything `warden modem info` shows. A field is `None` when the modem
/// does not support the query or its answer made no sense.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub identity: Identity,
    pub iccid: Option<String>,
    pub sim: Option<SimState>,
    pub pin_attempts: Option<PinCounters>,
    pub registration: Option<Registration>,
    pub gprs_registration: Option<Registration>,
    pub operator: Option<Operator>,
    pub mode: Option<SysCfg>,
    pub signal: Option<Signal>,
}

/// What the SIM needs, with what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimStatus {
    pub state: SimState,
    pub counters: Option<PinCounters>,
    pub iccid: Option<String>,
    pub imei: Option<String>,
}

/// Unsolicited codes kept between commands.
const MAX_KEPT_URCS: usize = 64;

/// A modem on a port.
pub struct Modem<P: Port = TtyPort> {
    port: P,
    session: Session,
    urcs: VecDeque<Urc>,
    grace: Duration,
    timeouts: Timeouts,
    dialect: c::Dialect,
}

impl Modem<TtyPort> {
    /// Open the AT port. Sends nothing.
    pub fn open(path: &Path) -> Result<Modem<TtyPort>, ModemError> {
        Ok(Modem::new(TtyPort::open(path)?))
    }
}

/// Command deadlines. Most answers come at once; PIN checks, mode changes
/// and a reset take seconds on an E367; dialing takes longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub quick: Duration,
    pub slow: Duration,
    pub dial: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            quick: Duration::from_secs(5),
            slow: Duration::from_secs(20),
            dial: Duration::from_secs(60),
        }
    }
}

/// How long, at most, the answer of a timed-out command is waited for
/// before the next command goes out (as long as the command was given,
/// at least a second).
pub const LATE_GRACE: Duration = Duration::from_secs(3);

impl<P: Port> Modem<P> {
    pub fn new(port: P) -> Modem<P> {
        Modem {
            port,
            session: Session::new(),
            urcs: VecDeque::new(),
            grace: LATE_GRACE,
            timeouts: Timeouts::default(),
            dialect: c::Dialect::Auto,
        }
    }

    /// Use other command deadlines.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Modem<P> {
        self.timeouts = timeouts;
        self
    }

    /// Speak this dialect (`Auto`: the one [`Modem::identity`] finds).
    pub fn set_dialect(&mut self, d: c::Dialect) {
        self.dialect = d;
    }

    pub fn dialect(&self) -> c::Dialect {
        self.dialect
    }

    /// Send one command and wait for its final result, whatever it is.
    pub fn run(&mut self, command: Command) -> Result<Response, ModemError> {
        let shown = command.shown();
        let mut buf = [0u8; 256];
        // Whatever arrived since the last command (unsolicited codes, a
        // late answer) is read first, so it cannot be taken for this
        // command's reply. Bounded: a chattering device cannot hold us.
        for _ in 0..16 {
            if !self.feed(&mut buf, Duration::ZERO, &shown)? {
                break;
            }
        }
        // A command that timed out may still answer: give it a bounded
        // grace period so its answer is not taken for this command's.
        if self.session.owes_reply() {
            let until = Instant::now() + self.grace;
            while self.session.owes_reply() {
                let now = Instant::now();
                if now >= until {
                    self.session.forgive();
                    break;
                }
                self.feed(&mut buf, until - now, &shown)?;
            }
        }
        let mut actions =
            self.session
                .start(command, Instant::now())
                .map_err(|_| ModemFault::Io {
                    command: shown.clone(),
                    source: io::Error::other("a command is already in flight"),
                })?;
        loop {
            for a in actions.drain(..) {
                match a {
                    Action::Write(bytes) => {
                        if let Err(e) = self.port.write_all(&bytes) {
                            self.abandon();
                            return Err(self.io_error(&shown, e));
                        }
                    }
                    Action::SetTimer(_) => {}
                    Action::Done(r) => {
                        self.keep_urcs();
                        if let Err(Failure::Timeout { after, .. }) = &r {
                            self.grace = (*after).clamp(Duration::from_secs(1), LATE_GRACE);
                        }
                        return r.map_err(|f| ModemFault::Timeout(f).into());
                    }
                }
            }
            let now = Instant::now();
            let Some(deadline) = self.session.deadline() else {
                // Cannot happen: a session with no deadline has finished.
                return Err(ModemFault::Io {
                    command: shown,
                    source: io::Error::other("session lost its command"),
                }
                .into());
            };
            if now >= deadline {
                actions = self.session.tick(now);
                continue;
            }
            match self.port.read_timeout(&mut buf, deadline - now) {
                Ok(Some(n)) => {
                    actions = self
                        .session
                        .input(buf.get(..n).unwrap_or(&[]), Instant::now())
                }
                Ok(None) => actions = self.session.tick(Instant::now()),
                Err(e) => {
                    self.abandon();
                    return Err(self.io_error(&shown, e));
                }
            }
        }
    }

    /// The port failed mid-command: keep what was heard, start afresh.
    fn abandon(&mut self) {
        self.keep_urcs();
        self.session = Session::new();
    }

    /// Read what arrives within `wait` into the session, whose actions
    /// are not wanted here (late replies, unsolicited codes); whether
    /// anything came.
    fn feed(&mut self, buf: &mut [u8], wait: Duration, command: &str) -> Result<bool, ModemError> {
        match self.port.read_timeout(buf, wait) {
            Ok(Some(n)) => {
                let _ = self
                    .session
                    .input(buf.get(..n).unwrap_or(&[]), Instant::now());
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(self.io_error(command, e)),
        }
    }

    fn io_error(&self, command: &str, e: io::Error) -> ModemError {
        if is_vanished(&e) {
            ModemFault::Vanished {
                command: command.to_string(),
                detail: e.to_string(),
            }
            .into()
        } else {
            ModemFault::Io {
                command: command.to_string(),
                source: e,
            }
            .into()
        }
    }

    fn keep_urcs(&mut self) {
        for u in self.session.take_unsolicited() {
            if self.urcs.len() >= MAX_KEPT_URCS {
                self.urcs.pop_front();
            }
            self.urcs.push_back(u);
        }
    }

    /// Send a command line as given (`warden modem at`); error results are
    /// returned, not turned into errors.
    #[inline(never)] // one copy, not one per query (size on the router)
    pub fn at(&mut self, text: &str, timeout: Duration) -> Result<Response, ModemError> {
        self.run(Command::new(text)?.with_timeout(timeout))
    }

    /// Send a command that must answer OK; returns its information lines.
    #[inline(never)]
    pub fn command(&mut self, text: &str, timeout: Duration) -> Result<Vec<String>, ModemError> {
        let r = self.at(text, timeout)?;
        match r.result {
            Final::Ok => Ok(r.lines),
            result => Err(ModemFault::Rejected {
                command: text.to_string(),
                result,
            }
            .into()),
        }
    }

    fn query<T>(
        &mut self,
        text: &str,
        parse: fn(&[String]) -> Result<T, ParseError>,
    ) -> Result<T, ModemError> {
        let lines = self.command(text, self.timeouts.quick)?;
        parse(&lines).map_err(|source| {
            ModemFault::Reply {
                command: text.to_string(),
                source,
            }
            .into()
        })
    }

    /// Unsolicited codes received so far, oldest first.
    pub fn take_unsolicited(&mut self) -> Vec<Urc> {
        self.keep_urcs();
        Vec::from(std::mem::take(&mut self.urcs))
    }

    /// Echo off and numeric +CME errors: what the other queries expect.
    pub fn init(&mut self) -> Result<(), ModemError> {
        self.command("ATE0", self.timeouts.quick)?;
        optional(self.command("AT+CMEE=1", self.timeouts.quick))?;
        Ok(())
    }

    /// Also settles an `Auto` dialect by the manufacturer.
    pub fn identity(&mut self) -> Result<Identity, ModemError> {
        let manufacturer =
            optional(self.query("AT+CGMI", |l| c::parse_identity(l, "manufacturer")))?;
        if let (c::Dialect::Auto, Some(m)) = (self.dialect, &manufacturer) {
            self.dialect = c::Dialect::of_manufacturer(m);
        }
        Ok(Identity {
            manufacturer,
            model: optional(self.query("AT+CGMM", |l| c::parse_identity(l, "model")))?,
            revision: optional(self.query("AT+CGMR", |l| c::parse_identity(l, "revision")))?,
            imei: optional(self.query("AT+CGSN", c::parse_imei))?,
        })
    }

    /// `+CPIN?`; a missing SIM (`+CME ERROR: 10`) is a state, not an error.
    pub fn sim_state(&mut self) -> Result<SimState, ModemError> {
        let e = match self.query("AT+CPIN?", c::parse_cpin) {
            Err(e) => e,
            r => return r,
        };
        match e.fault() {
            ModemFault::Rejected {
                result: Final::CmeError(ErrorCode::Code(10)),
                ..
            } => Ok(SimState::NotInserted),
            ModemFault::Rejected {
                result: Final::CmeError(ErrorCode::Code(12)),
                ..
            } => Ok(SimState::Puk),
            _ => Err(e),
        }
    }

    /// PIN attempts left: Huawei's `^CPIN?` (not in the generic dialect),
    /// else 3GPP's `+CPINR`; `None` when the modem tells neither.
    pub fn pin_counters(&mut self) -> Result<Option<PinCounters>, ModemError> {
        if self.dialect.carets() {
            if let Some((_, n)) = optional(self.query("AT^CPIN?", c::parse_huawei_cpin))? {
                return Ok(Some(n));
            }
        }
        optional(self.query("AT+CPINR=\"SIM PIN\"", c::parse_cpinr))
    }

    /// The SIM's ICCID: Huawei's `^ICCID?`, else a READ BINARY of EF_ICCID.
    pub fn iccid(&mut self) -> Result<Option<String>, ModemError> {
        if self.dialect.carets() {
            if let Some(i) = optional(self.query("AT^ICCID?", c::parse_huawei_iccid))? {
                return Ok(Some(i));
            }
        }
        optional(self.query(c::CRSM_READ_ICCID, c::parse_crsm_iccid))
    }

    /// What PIN handling needs to know.
    pub fn sim_status(&mut self) -> Result<SimStatus, ModemError> {
        let state = self.sim_state()?;
        let counters = self.pin_counters()?;
        let iccid = self.iccid()?;
        let imei = optional(self.query("AT+CGSN", c::parse_imei))?;
        Ok(SimStatus {
            state,
            counters,
            iccid,
            imei,
        })
    }

    pub fn registration(&mut self) -> Result<Registration, ModemError> {
        self.query("AT+CREG?", |l| c::parse_registration(l, "+CREG:"))
    }

    pub fn gprs_registration(&mut self) -> Result<Registration, ModemError> {
        self.query("AT+CGREG?", |l| c::parse_registration(l, "+CGREG:"))
    }

    pub fn operator(&mut self) -> Result<Operator, ModemError> {
        self.query("AT+COPS?", c::parse_cops)
    }

    pub fn signal(&mut self) -> Result<Signal, ModemError> {
        self.query("AT+CSQ", c::parse_csq)
    }

    pub fn syscfg(&mut self) -> Result<SysCfg, ModemError> {
        self.query("AT^SYSCFG?", c::parse_syscfg)
    }

    /// Select the network mode as OpenWRT's 3g.sh does (`AT^SYSCFG=...`),
    /// or in the generic dialect with `AT+WS46`.
    pub fn set_service(&mut self, service: c::Service) -> Result<(), ModemError> {
        self.command(service.mode_command(self.dialect), self.timeouts.slow)
            .map(|_| ())
    }

    pub fn apns(&mut self) -> Result<Vec<c::PdpContext>, ModemError> {
        self.query("AT+CGDCONT?", c::parse_cgdcont)
    }

    /// Define PDP context 1 with this APN.
    pub fn set_apn(&mut self, apn: &str) -> Result<(), ModemError> {
        let cmd = c::cgdcont_command(1, apn).map_err(ModemFault::Apn)?;
        self.command(&cmd, self.timeouts.quick).map(|_| ())
    }

    /// Restart the modem (`AT+CFUN=1,1`). A real modem drops off the USB
    /// bus afterwards: the port is useless once this returns.
    pub fn reset(&mut self) -> Result<(), ModemError> {
        match self.command("AT+CFUN=1,1", self.timeouts.slow) {
            Ok(_) => Ok(()),
            // Some firmwares reset before the OK gets out.
            Err(e) if matches!(e.fault(), ModemFault::Vanished { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Dial (`ATD<number>`); returns CONNECT's text. The port then carries
    /// data for pppd.
    pub fn dial(&mut self, number: &str) -> Result<Option<String>, ModemError> {
        let text = format!("ATD{number}");
        let r = self.at(&text, self.timeouts.dial)?;
        match r.result {
            Final::Connect(speed) => Ok(speed),
            result => Err(ModemFault::Rejected {
                command: text,
                result,
            }
            .into()),
        }
    }

    /// The messages in the modem's storage (PDU mode, `AT+CMGL=4`), each
    /// PDU parsed; reading them marks the unread ones read.
    pub fn sms_list(&mut self) -> Result<Vec<super::sms::Stored>, ModemError> {
        self.command("AT+CMGF=0", self.timeouts.quick)?;
        let lines = self.command("AT+CMGL=4", self.timeouts.slow)?;
        let listed = c::parse_cmgl(&lines).map_err(|source| ModemFault::Reply {
            command: "AT+CMGL=4".into(),
            source,
        })?;
        listed
            .into_iter()
            .map(|l| {
                Ok(super::sms::Stored {
                    index: l.index,
                    stat: l.stat,
                    msg: deliver(&l.pdu, "AT+CMGL=4")?,
                })
            })
            .collect()
    }

    /// Ask for new messages to be announced with `+CMTI` (27.005 3.4.1);
    /// a modem that refuses is left as it is.
    pub fn announce_sms(&mut self) -> Result<(), ModemError> {
        optional(self.command("AT+CNMI=2,1,0,0,0", self.timeouts.quick)).map(|_| ())
    }

    /// Where the new messages announced so far (`+CMTI`) are stored;
    /// other unsolicited codes are kept.
    pub fn announced_sms(&mut self) -> Vec<u32> {
        self.keep_urcs();
        let mut found = Vec::new();
        self.urcs.retain(|u| match u {
            Urc::Other(l) => c::parse_cmti(l).map(|i| found.push(i)).is_none(),
            _ => true,
        });
        found
    }

    /// One message (`AT+CMGR=<index>`).
    pub fn sms_read(&mut self, index: u32) -> Result<super::sms::Stored, ModemError> {
        self.command("AT+CMGF=0", self.timeouts.quick)?;
        let cmd = format!("AT+CMGR={index}");
        let lines = self.command(&cmd, self.timeouts.slow)?;
        let (stat, pdu) = c::parse_cmgr(&lines).map_err(|source| ModemFault::Reply {
            command: cmd.clone(),
            source,
        })?;
        Ok(super::sms::Stored {
            index,
            stat,
            msg: deliver(&pdu, &cmd)?,
        })
    }

    /// Delete one message (`AT+CMGD=<index>`).
    pub fn sms_delete(&mut self, index: u32) -> Result<(), ModemError> {
        self.command(&format!("AT+CMGD={index}"), self.timeouts.slow)
            .map(|_| ())
    }

    /// Send a message (one `AT+CMGS` per part); the parts' references.
    pub fn sms_send(&mut self, to: &str, text: &str, reference: u8) -> Result<Vec<u8>, ModemError> {
        let parts = super::sms::submit(to, text, reference).map_err(|e| ModemFault::Reply {
            command: "AT+CMGS".into(),
            source: ParseError {
                what: "a message to send",
                got: e.to_string(),
            },
        })?;
        self.command("AT+CMGF=0", self.timeouts.quick)?;
        let mut refs = Vec::with_capacity(parts.len());
        for p in parts {
            let cmd = format!("AT+CMGS={}", p.tpdu_len);
            let mut data = p.hex.into_bytes();
            data.push(0x1A);
            let r = self.run(
                Command::new(cmd.clone())?
                    .with_data(data)
                    .with_timeout(self.timeouts.dial),
            )?;
            if r.result != Final::Ok {
                return Err(ModemFault::Rejected {
                    command: cmd,
                    result: r.result,
                }
                .into());
            }
            refs.push(c::parse_cmgs(&r.lines).map_err(|source| ModemFault::Reply {
                command: cmd,
                source,
            })?);
        }
        Ok(refs)
    }

    /// A USSD request (`*100#`), sent as Huawei modems take it (packed
    /// 7-bit hex, DCS 15); the network's answer as text. The answer comes
    /// as `+CUSD:` in the reply or, as most modems send it, after OK,
    /// within the slow timeout.
    pub fn ussd(&mut self, code: &str) -> Result<c::Cusd, ModemError> {
        let hex = super::sms::ussd_encode(code).ok_or_else(|| ModemFault::Reply {
            command: "AT+CUSD".into(),
            source: ParseError {
                what: "a USSD code in the GSM alphabet",
                got: code.chars().take(80).collect(),
            },
        })?;
        let cmd = format!("AT+CUSD=1,\"{hex}\",15");
        let lines = self.command(&cmd, self.timeouts.slow)?;
        let found = match lines.iter().find_map(|l| l.strip_prefix("+CUSD:")) {
            Some(rest) => Some(rest.to_string()),
            None => self.wait_urc("+CUSD:", self.timeouts.slow)?,
        };
        let rest = found.ok_or_else(|| {
            ModemFault::Timeout(Failure::Timeout {
                command: cmd.clone(),
                after: self.timeouts.slow,
                partial: Vec::new(),
            })
        })?;
        let mut r = c::parse_cusd(&rest).map_err(|source| ModemFault::Reply {
            command: cmd,
            source,
        })?;
        r.text = r.text.map(|t| ussd_text(&t, r.dcs));
        Ok(r)
    }

    /// Wait up to `within` for an unsolicited line starting with `prefix`;
    /// its text after the prefix. Other codes are kept.
    fn wait_urc(&mut self, prefix: &str, within: Duration) -> Result<Option<String>, ModemError> {
        let until = Instant::now() + within;
        let mut buf = [0u8; 256];
        loop {
            self.keep_urcs();
            let at = self
                .urcs
                .iter()
                .position(|u| matches!(u, Urc::Other(l) if l.starts_with(prefix)));
            if let Some(Urc::Other(l)) = at.and_then(|i| self.urcs.remove(i)) {
                return Ok(Some(l[prefix.len()..].to_string()));
            }
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            self.feed(&mut buf, until - now, prefix)?;
        }
    }

    /// Enter the SIM PIN if, and only if, that is safe: see
    /// [`super::pin`] for the rules.
    pub fn enter_pin(
        &mut self,
        pin: &super::pin::Pin,
        store: &mut super::pin::PinStore,
        policy: super::pin::Policy,
    ) -> Result<super::pin::Unlocked, super::pin::PinError> {
        super::pin::unlock(self, pin, store, policy)
    }

    /// Send the PIN. Crate-private: the only way in from outside is
    /// [`super::pin::unlock`], which decides whether it is safe.
    pub(crate) fn send_pin(&mut self, pin: &super::pin::Pin) -> Result<Response, ModemError> {
        let text = zeroize::Zeroizing::new(format!("AT+CPIN=\"{}\"", pin.digits()));
        self.run(Command::secret(text.as_str())?.with_timeout(self.timeouts.slow))
    }

    /// Everything `warden modem info` shows.
    pub fn info(&mut self) -> Result<Info, ModemError> {
        let identity = self.identity()?;
        let sim = optional(self.sim_state())?;
        let pin_attempts = self.pin_counters()?;
        let iccid = self.iccid()?;
        Ok(Info {
            identity,
            iccid,
            sim,
            pin_attempts,
            registration: optional(self.registration())?,
            gprs_registration: optional(self.gprs_registration())?,
            operator: optional(self.operator())?,
            mode: match self.dialect.carets() {
                true => optional(self.syscfg())?,
                false => None,
            },
            signal: optional(self.signal())?,
        })
    }
}

/// An answer the modem may not give: an error result or an odd reply is
/// `None`; a timeout or a vanished device is still an error.
/// A stored PDU's hex, parsed; an error names the command.
fn deliver(hex: &str, command: &str) -> Result<super::sms::Deliver, ModemError> {
    super::sms::from_hex(hex)
        .and_then(|b| super::sms::parse_deliver(&b))
        .map_err(|e| {
            ModemFault::Reply {
                command: command.to_string(),
                source: ParseError {
                    what: "an SMS PDU",
                    got: e.to_string(),
                },
            }
            .into()
        })
}

/// A USSD answer's text: Huawei's packed 7-bit hex (DCS 15), UCS-2 hex
/// (DCS 72), else as given (a modem that decoded it).
fn ussd_text(t: &str, dcs: Option<u8>) -> String {
    match dcs {
        Some(72) => super::sms::from_hex(t)
            .map(|b| super::sms::ucs2_decode(&b))
            .unwrap_or_else(|_| t.to_string()),
        Some(15) => super::sms::ussd_decode_packed(t).unwrap_or_else(|| t.to_string()),
        _ => t.to_string(),
    }
}

fn optional<T>(r: Result<T, ModemError>) -> Result<Option<T>, ModemError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if matches!(
                e.fault(),
                ModemFault::Rejected { .. } | ModemFault::Reply { .. }
            ) =>
        {
            log::debug!("{e}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
