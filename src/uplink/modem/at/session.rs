//! The command/response state machine: one command in flight, a deadline
//! per command, unsolicited codes kept apart. No I/O and no clock: the
//! caller passes `now` in and carries out the returned [`Action`]s.
//!
//! ```text
//!   Idle --start(cmd)--> Waiting --final result--> Idle   Done(Ok(response))
//!                           |------deadline-----> Idle   Done(Err(Timeout))
//!                           |------CONNECT------> Online (the port carries data)
//! ```
//!
//! Lines that arrive while no command waits are delivered as unsolicited
//! (`Urc::Other`); a final result that arrives while idle is a late answer
//! to a command that already timed out and is counted and dropped. So that
//! a late answer is not credited to the next command, the session counts
//! the answers it is owed ([`Session::owes_reply`]); the driver waits a
//! bounded grace period for them before it sends the next command.

use super::wire::{Event, Final, Parser, Urc};
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The longest command line sent (modems accept at least this much).
pub const MAX_COMMAND: usize = 256;
/// Response lines kept per command; more are counted and dropped.
pub const MAX_RESPONSE_LINES: usize = 128;
/// Unsolicited codes queued before the oldest are dropped.
pub const MAX_QUEUED_URCS: usize = 64;
/// The deadline of a command that does not name one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A command line to send, without `AT` stripped and without the CR.
/// A secret command (one carrying a PIN) is never shown: its text is wiped
/// from memory when dropped and [`Command::shown`] prints a redacted form.
pub struct Command {
    text: Zeroizing<String>,
    timeout: Duration,
    secret: bool,
    /// Written after the modem's `> ` prompt (`AT+CMGS`'s PDU and Ctrl-Z).
    data: Option<Zeroizing<Vec<u8>>>,
}

/// A command line that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadCommand {
    Empty,
    TooLong(usize),
    /// A byte that is not printable ASCII (CR would end the command early).
    Unprintable {
        at: usize,
    },
}

impl fmt::Display for BadCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadCommand::Empty => f.write_str("empty command"),
            BadCommand::TooLong(n) => write!(f, "command of {n} bytes (limit {MAX_COMMAND})"),
            BadCommand::Unprintable { at } => {
                write!(f, "command has an unprintable character at byte {at}")
            }
        }
    }
}

impl std::error::Error for BadCommand {}

impl Command {
    pub fn new(text: impl Into<String>) -> Result<Command, BadCommand> {
        let text = Zeroizing::new(text.into());
        if text.is_empty() {
            return Err(BadCommand::Empty);
        }
        if text.len() > MAX_COMMAND {
            return Err(BadCommand::TooLong(text.len()));
        }
        if let Some(at) = text.bytes().position(|b| !(0x20..=0x7e).contains(&b)) {
            return Err(BadCommand::Unprintable { at });
        }
        Ok(Command {
            text,
            timeout: DEFAULT_TIMEOUT,
            secret: false,
            data: None,
        })
    }

    /// A command carrying a secret (`AT+CPIN="..."`).
    pub fn secret(text: impl Into<String>) -> Result<Command, BadCommand> {
        let mut c = Command::new(text)?;
        c.secret = true;
        Ok(c)
    }

    /// Write `data` when the modem prompts `> ` (27.005's `AT+CMGS`).
    pub fn with_data(mut self, data: Vec<u8>) -> Command {
        self.data = Some(Zeroizing::new(data));
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Command {
        self.timeout = timeout;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The command as it may appear in messages and logs.
    pub fn shown(&self) -> String {
        if self.secret {
            match self.text.find('=') {
                Some(i) => format!("{}=<secret>", self.text.get(..i).unwrap_or("AT")),
                None => "<secret>".into(),
            }
        } else {
            self.text.to_string()
        }
    }

    /// The `+XXX:` or `^XXX:` prefix the command's information lines carry.
    fn info_prefix(&self) -> Option<String> {
        let body = self.text.get(2..)?;
        let first = body.chars().next()?;
        if first != '+' && first != '^' {
            return None;
        }
        let end = body.find(['=', '?']).unwrap_or(body.len());
        Some(format!("{}:", body.get(..end)?.to_ascii_uppercase()))
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Command")
            .field(&self.shown())
            .field(&self.timeout)
            .finish()
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Information lines, in order, without echo and unsolicited codes.
    pub lines: Vec<String>,
    pub result: Final,
}

/// Why a command got no final result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The modem did not finish answering in time (it may be hung, or a
    /// byte of its reply was lost).
    Timeout {
        command: String,
        after: Duration,
        /// Information lines received before the deadline.
        partial: Vec<String>,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout {
                command,
                after,
                partial,
            } => {
                write!(
                    f,
                    "{command}: no final result after {}",
                    crate::uplink::status::tenths(*after)
                )?;
                if !partial.is_empty() {
                    write!(f, " ({} line(s) received)", partial.len())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Failure {}

/// What the caller must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the port. They may carry a secret; do not log.
    Write(Zeroizing<Vec<u8>>),
    /// Call [`Session::tick`] at this instant unless input comes first.
    SetTimer(Instant),
    /// The command finished.
    Done(Result<Response, Failure>),
}

/// A second command while one is in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command is already in flight")
    }
}

impl std::error::Error for Busy {}

struct Pending {
    command: Command,
    prefix: Option<String>,
    started: Instant,
    deadline: Instant,
    lines: Vec<String>,
}

/// Counters worth showing in diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub noise_bytes: u64,
    pub long_lines: u64,
    /// Final results that arrived with no command waiting.
    pub stray_finals: u64,
    pub dropped_lines: u64,
    pub dropped_urcs: u64,
}

/// The state machine.
#[derive(Default)]
pub struct Session {
    parser: Parser,
    pending: Option<Pending>,
    urcs: VecDeque<Urc>,
    stats: Stats,
    /// Final results still owed by commands that timed out.
    owed: u32,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Start a command. Returns the bytes to write and the deadline.
    pub fn start(&mut self, command: Command, now: Instant) -> Result<Vec<Action>, Busy> {
        if self.pending.is_some() {
            return Err(Busy);
        }
        if self.parser.online() {
            // A command after CONNECT means the caller is back in command
            // mode (NO CARRIER was seen, or the port was re-opened).
            self.parser.reset();
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(command.text.len() + 1));
        bytes.extend_from_slice(command.text.as_bytes());
        bytes.push(b'\r');
        let deadline = now + command.timeout;
        if command.data.is_some() {
            self.parser.expect_prompt();
        }
        self.pending = Some(Pending {
            prefix: command.info_prefix(),
            command,
            started: now,
            deadline,
            lines: Vec::new(),
        });
        Ok(vec![Action::Write(bytes), Action::SetTimer(deadline)])
    }

    /// Bytes from the port.
    pub fn input(&mut self, bytes: &[u8], _now: Instant) -> Vec<Action> {
        let mut events = Vec::new();
        self.parser.feed(bytes, &mut events);
        let mut actions = Vec::new();
        for ev in events {
            self.event(ev, &mut actions);
        }
        actions
    }

    /// Time passed: fails the waiting command if its deadline is reached.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        match &self.pending {
            Some(p) if now >= p.deadline => {}
            _ => return Vec::new(),
        }
        let Some(p) = self.pending.take() else {
            return Vec::new();
        };
        self.owed = self.owed.saturating_add(1);
        vec![Action::Done(Err(Failure::Timeout {
            command: p.command.shown(),
            after: now.saturating_duration_since(p.started),
            partial: p.lines,
        }))]
    }

    /// When [`Session::tick`] must be called next.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// True while a command waits for its result.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// True after CONNECT: the port now carries data.
    pub fn online(&self) -> bool {
        self.parser.online()
    }

    /// Take the unsolicited codes received so far, oldest first.
    pub fn take_unsolicited(&mut self) -> Vec<Urc> {
        Vec::from(std::mem::take(&mut self.urcs))
    }

    /// True while a command that timed out has not sent its final result
    /// yet: a final result that comes now belongs to it, so the caller
    /// should wait a little (see [`Session::forgive`]) before the next
    /// command.
    pub fn owes_reply(&self) -> bool {
        self.owed > 0
    }

    /// Stop waiting for late answers (the modem will never send them).
    pub fn forgive(&mut self) {
        self.owed = 0;
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn urc(&mut self, u: Urc) {
        if self.urcs.len() >= MAX_QUEUED_URCS {
            self.urcs.pop_front();
            self.stats.dropped_urcs += 1;
        }
        self.urcs.push_back(u);
    }

    fn event(&mut self, ev: Event, actions: &mut Vec<Action>) {
        match ev {
            Event::Echo(_) => {}
            Event::Noise { bytes } => self.stats.noise_bytes += bytes as u64,
            Event::TooLong { .. } => self.stats.long_lines += 1,
            Event::Unsolicited(u) => {
                // An answer that looks like an unsolicited code (`+CREG: 1`
                // in reply to `AT+CREG?` from a modem that omits <n>) still
                // belongs to the command that asked for it.
                if let (Some(p), Urc::Creg(_) | Urc::Cgreg(_)) = (&self.pending, &u) {
                    if p.prefix.as_deref() == Some(urc_prefix(&u)) {
                        return self.info(urc_line(&u));
                    }
                }
                self.urc(u)
            }
            Event::Info(line) => self.info(line),
            Event::Prompt => {
                if let Some(d) = self.pending.as_mut().and_then(|p| p.command.data.take()) {
                    actions.push(Action::Write(d));
                }
            }
            Event::Final(result) => match self.pending.take() {
                Some(p) => actions.push(Action::Done(Ok(Response {
                    lines: p.lines,
                    result,
                }))),
                None => {
                    self.stats.stray_finals += 1;
                    self.owed = self.owed.saturating_sub(1);
                }
            },
        }
    }

    fn info(&mut self, line: String) {
        match &mut self.pending {
            Some(p) if garbled_echo(&line, &p.command.text) => {}
            Some(p) if p.lines.len() < MAX_RESPONSE_LINES => p.lines.push(line),
            Some(_) => self.stats.dropped_lines += 1,
            None => self.urc(Urc::Other(line)),
        }
    }
}

/// An echo that lost a few bytes on the way (`T+CGMM` for `AT+CGMM`): what
/// is left is the command with at most three bytes missing, in order. A
/// genuine reply line is practically never that.
fn garbled_echo(line: &str, command: &str) -> bool {
    if line.len() > command.len() || line.len() + 3 < command.len() {
        return false;
    }
    let mut c = command.bytes().map(|b| b.to_ascii_uppercase());
    line.bytes()
        .map(|b| b.to_ascii_uppercase())
        .all(|b| c.any(|x| x == b))
}

fn urc_prefix(u: &Urc) -> &'static str {
    match u {
        Urc::Cgreg(_) => "+CGREG:",
        _ => "+CREG:",
    }
}

fn urc_line(u: &Urc) -> String {
    match u {
        Urc::Creg(r) | Urc::Cgreg(r) => {
            let mut s = format!("{} {}", urc_prefix(u), r.stat);
            for f in [&r.lac, &r.ci].into_iter().flatten() {
                s.push_str(&format!(",\"{f}\""));
            }
            s
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::{ErrorCode, RegReport};
    use super::*;

    fn cmd(s: &str) -> Command {
        Command::new(s).unwrap()
    }

    #[test]
    fn data_goes_after_the_prompt() {
        let mut s = Session::new();
        let now = Instant::now();
        let c = cmd("AT+CMGS=23").with_data(b"0011\x1a".to_vec());
        let a = s.start(c, now).unwrap();
        assert!(matches!(&a[0], Action::Write(b) if &b[..] == b"AT+CMGS=23\r"));
        // The echo, then the prompt, split across reads.
        assert!(s.input(b"AT+CMGS=23\r\r\n>", now).is_empty());
        let a = s.input(b" ", now);
        assert!(
            matches!(&a[..], [Action::Write(b)] if &b[..] == b"0011\x1a"),
            "{a:?}"
        );
        let r = done(s.input(b"\r\n+CMGS: 7\r\n\r\nOK\r\n", now))
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, ["+CMGS: 7"]);
        // Without data, "> " is just text.
        s.start(cmd("AT+CSQ"), now).unwrap();
        assert!(s.input(b"> ", now).is_empty());
    }

    fn done(actions: Vec<Action>) -> Option<Result<Response, Failure>> {
        actions.into_iter().find_map(|a| match a {
            Action::Done(r) => Some(r),
            _ => None,
        })
    }

    #[test]
    fn start_writes_the_command_and_sets_the_deadline() {
        let t0 = Instant::now();
        let mut s = Session::new();
        let a = s
            .start(cmd("AT+CSQ").with_timeout(Duration::from_secs(2)), t0)
            .unwrap();
        assert_eq!(
            a,
            vec![
                Action::Write(Zeroizing::new(b"AT+CSQ\r".to_vec())),
                Action::SetTimer(t0 + Duration::from_secs(2))
            ]
        );
        assert_eq!(s.start(cmd("AT"), t0), Err(Busy));
        assert_eq!(s.deadline(), Some(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn a_response_with_echo_and_unsolicited_codes() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+COPS?"), t0).unwrap();
        assert_eq!(s.input(b"AT+COPS?\r\r\n+COPS: 0,0,\"X\",2\r\n", t0), vec![]);
        assert_eq!(s.input(b"\r\n^RSSI:9\r\n\r\nRING\r\n", t0), vec![]);
        let r = done(s.input(b"\r\nOK\r\n", t0)).unwrap().unwrap();
        assert_eq!(r.lines, vec!["+COPS: 0,0,\"X\",2"]);
        assert_eq!(r.result, Final::Ok);
        assert_eq!(s.take_unsolicited(), vec![Urc::Rssi(9), Urc::Ring]);
        assert!(!s.busy());
    }

    #[test]
    fn error_results_complete_the_command() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+CPIN?"), t0).unwrap();
        let r = done(s.input(b"\r\n+CME ERROR: 10\r\n", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.result, Final::CmeError(ErrorCode::Code(10)));
    }

    #[test]
    fn timeout_on_a_scripted_timeline() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+CSQ").with_timeout(Duration::from_secs(3)), t0)
            .unwrap();
        // Part of a reply, then silence for 31 s (never waited for here).
        assert_eq!(s.input(b"\r\n+CSQ: 17,99\r\n\r\nO", t0), vec![]);
        assert_eq!(s.tick(t0 + Duration::from_millis(2999)), vec![]);
        let r = done(s.tick(t0 + Duration::from_secs(31))).unwrap();
        assert_eq!(
            r,
            Err(Failure::Timeout {
                command: "AT+CSQ".into(),
                after: Duration::from_secs(31),
                partial: vec!["+CSQ: 17,99".into()],
            })
        );
        assert!(!s.busy());
        assert_eq!(s.deadline(), None);
        assert_eq!(s.tick(t0 + Duration::from_secs(60)), vec![]);
    }

    #[test]
    fn a_late_answer_is_not_credited_to_the_next_command() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+COPS=?"), t0).unwrap();
        assert!(done(s.tick(t0 + Duration::from_secs(10))).is_some());
        // The late "OK" of AT+COPS=? arrives while idle.
        assert!(s.owes_reply());
        assert_eq!(s.input(b"\r\n+COPS: (2,\"X\")\r\n\r\nOK\r\n", t0), vec![]);
        assert!(!s.owes_reply());
        assert_eq!(s.stats().stray_finals, 1);
        assert_eq!(
            s.take_unsolicited(),
            vec![Urc::Other("+COPS: (2,\"X\")".into())]
        );
        s.start(cmd("AT+CSQ"), t0).unwrap();
        let r = done(s.input(b"\r\n+CSQ: 5,99\r\n\r\nOK\r\n", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, vec!["+CSQ: 5,99"]);
    }

    #[test]
    fn creg_answers_go_to_the_command_and_urcs_elsewhere() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+CREG?"), t0).unwrap();
        let r = done(s.input(b"\r\n+CREG: 1\r\n+CGREG: 2\r\n\r\nOK\r\n", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, vec!["+CREG: 1"]);
        assert_eq!(
            s.take_unsolicited(),
            vec![Urc::Cgreg(RegReport {
                stat: 2,
                lac: None,
                ci: None
            })]
        );
    }

    #[test]
    fn an_echo_that_lost_bytes_is_not_taken_for_the_reply() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("AT+CGMM"), t0).unwrap();
        let r = done(s.input(b"T+CGMM\r\r\nE367\r\n\r\nOK\r\n", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, vec!["E367"]);
        s.start(cmd("AT+CGMM"), t0).unwrap();
        let r = done(s.input(b"A+CGM\r\nE367\r\nOK\r\n", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, vec!["E367"]);
        assert!(!garbled_echo("E367", "AT+CGMM"));
        assert!(!garbled_echo("+CSQ: 17,99", "AT+CSQ"));
        assert!(!garbled_echo("huawei", "AT+CGMI"));
        assert!(!garbled_echo("21.157.01.00.00", "AT+CGMR"));
    }

    #[test]
    fn connect_puts_the_session_online() {
        let t0 = Instant::now();
        let mut s = Session::new();
        s.start(cmd("ATD*99***1#").with_timeout(Duration::from_secs(30)), t0)
            .unwrap();
        let r = done(s.input(b"\r\nCONNECT 3600000\r\n~\xff}#", t0))
            .unwrap()
            .unwrap();
        assert_eq!(r.result, Final::Connect(Some("3600000".into())));
        assert!(s.online());
        assert_eq!(s.input(b"\r\nOK\r\n", t0), vec![]);
        s.start(cmd("AT"), t0).unwrap();
        assert!(!s.online());
    }

    #[test]
    fn secret_commands_are_never_shown() {
        let t0 = Instant::now();
        let c = Command::secret("AT+CPIN=\"4711\"").unwrap();
        assert_eq!(c.shown(), "AT+CPIN=<secret>");
        assert!(!format!("{c:?}").contains("4711"));
        let mut s = Session::new();
        s.start(c, t0).unwrap();
        let r = done(s.tick(t0 + Duration::from_secs(60)))
            .unwrap()
            .unwrap_err();
        assert!(!r.to_string().contains("4711"), "{r}");
    }

    #[test]
    fn bad_commands_are_refused() {
        assert_eq!(Command::new("").unwrap_err(), BadCommand::Empty);
        assert_eq!(
            Command::new("AT\rATZ").unwrap_err(),
            BadCommand::Unprintable { at: 2 }
        );
        assert!(matches!(
            Command::new("A".repeat(300)),
            Err(BadCommand::TooLong(300))
        ));
    }

    #[test]
    fn bounded_queues() {
        let t0 = Instant::now();
        let mut s = Session::new();
        for _ in 0..100 {
            s.input(b"^RSSI:3\r\n", t0);
        }
        assert_eq!(s.take_unsolicited().len(), MAX_QUEUED_URCS);
        assert_eq!(s.stats().dropped_urcs, 100 - MAX_QUEUED_URCS as u64);
        s.start(cmd("ATI"), t0).unwrap();
        for _ in 0..200 {
            s.input(b"line\r\n", t0);
        }
        let r = done(s.input(b"OK\r\n", t0)).unwrap().unwrap();
        assert_eq!(r.lines.len(), MAX_RESPONSE_LINES);
    }
}
