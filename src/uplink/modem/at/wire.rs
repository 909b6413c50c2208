//! AT response lines from raw bytes. No I/O: bytes go in through
//! [`Parser::feed`], typed [`Event`]s come out.
//!
//! What a modem sends, as seen on an E367's PCUI port:
//!
//! ```text
//! AT+CSQ\r                     echo of the command (while ATE1)
//! \r\n+CSQ: 17,99\r\n          an information line
//! \r\n^RSSI:17\r\n             an unsolicited code, at any moment
//! \r\nOK\r\n                   the final result
//! ```
//!
//! Rules this parser follows:
//! - A line ends at CR or LF, whichever comes; empty lines are skipped, so
//!   `\r\n`, `\n`, `\r` and `\n\r` all work, and so does any chunking.
//! - Bytes that are not printable ASCII (NUL, 0xFF line noise, escape
//!   sequences) are removed from the line and reported as [`Event::Noise`];
//!   they never become part of a result.
//! - A line longer than [`MAX_LINE`] is dropped whole (reported as
//!   [`Event::TooLong`]); the buffer never grows beyond that bound.
//! - A line beginning with `AT` (any case) is the echo of a command: modems
//!   never begin a response line with those letters.
//! - After `CONNECT` the port carries data, not lines: the parser stops
//!   until [`Parser::reset`].
//! - Numeric result codes (ATV0) are not understood: the driver never turns
//!   verbose results off. Neither is the SMS text prompt `> ` (warden
//!   sends no SMS).
//!
//! Every function here is total: no input can make it panic.

use std::fmt;

/// The longest line kept, in bytes. Longer lines are dropped whole.
pub const MAX_LINE: usize = 1024;

/// The code in a `+CME ERROR` or `+CMS ERROR` result: numeric with
/// `AT+CMEE=1`, text with `AT+CMEE=2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    Code(u16),
    Text(String),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Code(n) => write!(f, "{n}"),
            ErrorCode::Text(t) => f.write_str(t),
        }
    }
}

/// A final result code: the end of a command's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    CmeError(ErrorCode),
    CmsError(ErrorCode),
    NoCarrier,
    /// `CONNECT` with the optional speed or text after it.
    Connect(Option<String>),
    Busy,
    NoDialtone,
    NoAnswer,
    /// Huawei's reply to a command it does not know.
    NotSupported,
    /// Huawei's reply to a command with too many parameters.
    TooManyParameters,
}

impl Final {
    /// True for OK and CONNECT.
    pub fn is_success(&self) -> bool {
        matches!(self, Final::Ok | Final::Connect(_))
    }
}

impl fmt::Display for Final {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Final::Ok => f.write_str("OK"),
            Final::Error => f.write_str("ERROR"),
            Final::CmeError(c) => write!(f, "+CME ERROR: {c}"),
            Final::CmsError(c) => write!(f, "+CMS ERROR: {c}"),
            Final::NoCarrier => f.write_str("NO CARRIER"),
            Final::Connect(None) => f.write_str("CONNECT"),
            Final::Connect(Some(s)) => write!(f, "CONNECT {s}"),
            Final::Busy => f.write_str("BUSY"),
            Final::NoDialtone => f.write_str("NO DIALTONE"),
            Final::NoAnswer => f.write_str("NO ANSWER"),
            Final::NotSupported => f.write_str("COMMAND NOT SUPPORT"),
            Final::TooManyParameters => f.write_str("TOO MANY PARAMETERS"),
        }
    }
}

/// A registration report (`+CREG: <stat>[,<lac>,<ci>[,<act>]]`, unsolicited
/// form: without the leading `<n>` of the query's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegReport {
    pub stat: u8,
    pub lac: Option<String>,
    pub ci: Option<String>,
}

/// An unsolicited result code: the modem reports something on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `^RSSI:<n>`: signal in +CSQ units.
    Rssi(u8),
    /// `^MODE:<sys_mode>[,<sys_submode>]`.
    Mode { mode: u8, submode: Option<u8> },
    /// `^BOOT:...`: the modem's periodic heartbeat.
    Boot(String),
    /// `^SRVST:<n>`: service state (2 = full service).
    Srvst(u8),
    /// `^SIMST:<state>[,<lock>]`.
    Simst(u8),
    /// `+CREG: ...` circuit-switched registration.
    Creg(RegReport),
    /// `+CGREG: ...` packet-switched registration.
    Cgreg(RegReport),
    /// `RING` or `+CRING: ...`.
    Ring,
    /// Any other known unsolicited code (`^DSFLOWRPT`, `+CMTI`, `^CEND`,
    /// ...), or a line that arrived while no command was waiting.
    Other(String),
}

/// What the parser found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A command echoed back (ATE1).
    Echo(String),
    /// An information line: part of the current command's response.
    Info(String),
    /// `> `: the modem waits for the command's data (`AT+CMGS`), seen
    /// only after [`Parser::expect_prompt`].
    Prompt,
    Final(Final),
    Unsolicited(Urc),
    /// A line longer than [`MAX_LINE`] was dropped; `len` bytes were seen.
    TooLong {
        len: usize,
    },
    /// `bytes` non-printable bytes were removed from the line that follows
    /// (or from between lines).
    Noise {
        bytes: usize,
    },
}

/// Splits a byte stream into lines and classifies them.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    /// Bytes of the current line beyond MAX_LINE (the line is being dropped).
    overflow: usize,
    noise: usize,
    online: bool,
    /// A `> ` prompt is awaited (it ends no line).
    prompt: bool,
}

impl Parser {
    /// The next `> ` at the start of a line is a prompt ([`Event::Prompt`]).
    pub fn expect_prompt(&mut self) {
        self.prompt = true;
    }

    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feed bytes, appending whatever events they complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        for &b in bytes {
            if self.online {
                return;
            }
            match b {
                b'\r' | b'\n' => self.end_line(out),
                0x20..=0x7e | b'\t' => {
                    if self.overflow > 0 || self.buf.len() >= MAX_LINE {
                        self.overflow += 1;
                    } else {
                        self.buf.push(b);
                    }
                    if self.prompt && self.buf == b"> " {
                        self.buf.clear();
                        self.prompt = false;
                        out.push(Event::Prompt);
                    }
                }
                _ => self.noise += 1,
            }
        }
    }

    /// After CONNECT the stream is data; this returns to command mode (after
    /// the modem says NO CARRIER or the port was re-opened).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overflow = 0;
        self.noise = 0;
        self.online = false;
        self.prompt = false;
    }

    /// True once CONNECT was seen.
    pub fn online(&self) -> bool {
        self.online
    }

    /// Bytes of an unfinished line held (a truncated reply shows up here).
    pub fn pending(&self) -> usize {
        self.buf.len() + self.overflow
    }

    fn end_line(&mut self, out: &mut Vec<Event>) {
        if self.noise > 0 {
            out.push(Event::Noise { bytes: self.noise });
            self.noise = 0;
        }
        if self.overflow > 0 {
            out.push(Event::TooLong {
                len: self.buf.len() + self.overflow,
            });
            self.overflow = 0;
            self.buf.clear();
            return;
        }
        // Only bytes 0x20..=0x7e and tab were kept, so this is valid UTF-8.
        let text = String::from_utf8_lossy(&self.buf).trim().to_string();
        self.buf.clear();
        if text.is_empty() {
            return;
        }
        let ev = classify(text);
        if let Event::Final(Final::Connect(_)) = ev {
            self.online = true;
        }
        out.push(ev);
    }
}

/// Classify one complete, trimmed, non-empty line.
pub fn classify(line: String) -> Event {
    if let Some(f) = final_result(&line) {
        return Event::Final(f);
    }
    let head = line.get(..2).unwrap_or("");
    if head.eq_ignore_ascii_case("AT") {
        return Event::Echo(line);
    }
    match unsolicited(&line) {
        Some(u) => Event::Unsolicited(u),
        None => Event::Info(line),
    }
}

fn final_result(line: &str) -> Option<Final> {
    Some(match line {
        "OK" => Final::Ok,
        "ERROR" => Final::Error,
        "NO CARRIER" => Final::NoCarrier,
        "BUSY" => Final::Busy,
        "NO DIALTONE" | "NO DIAL TONE" => Final::NoDialtone,
        "NO ANSWER" => Final::NoAnswer,
        "COMMAND NOT SUPPORT" => Final::NotSupported,
        "TOO MANY PARAMETERS" => Final::TooManyParameters,
        "CONNECT" => Final::Connect(None),
        _ => {
            if let Some(rest) = line.strip_prefix("CONNECT ") {
                Final::Connect(Some(rest.trim().to_string()))
            } else if let Some(rest) = line.strip_prefix("+CME ERROR:") {
                Final::CmeError(error_code(rest))
            } else if let Some(rest) = line.strip_prefix("+CMS ERROR:") {
                Final::CmsError(error_code(rest))
            } else {
                return None;
            }
        }
    })
}

fn error_code(s: &str) -> ErrorCode {
    let s = s.trim();
    match s.parse::<u16>() {
        Ok(n) => ErrorCode::Code(n),
        Err(_) => ErrorCode::Text(s.to_string()),
    }
}

/// Prefixes of unsolicited codes that carry nothing the driver interprets.
const OTHER_URCS: &[&str] = &[
    "^DSFLOWRPT:",
    "^CEND:",
    "^ORIG:",
    "^CONF:",
    "^CONN:",
    "^STIN:",
    "^HCSQ:",
    "^SMMEMFULL:",
    "^NWTIME:",
    "^NDISSTAT:",
    "^SYSSTART",
    "+CMTI:",
    "+CDSI:",
    "+CUSD:",
    "+CGEV:",
    "+CBM:",
    "+CDS:",
    "+CMT:",
    "+CEREG:",
];

fn unsolicited(line: &str) -> Option<Urc> {
    if line == "RING" || line.starts_with("+CRING:") {
        return Some(Urc::Ring);
    }
    if let Some(v) = line.strip_prefix("^RSSI:") {
        return v.trim().parse().ok().map(Urc::Rssi);
    }
    if let Some(v) = line.strip_prefix("^MODE:") {
        let f = split_fields(v);
        let mode = f.first().and_then(|s| s.parse().ok())?;
        let submode = f.get(1).and_then(|s| s.parse().ok());
        return Some(Urc::Mode { mode, submode });
    }
    if let Some(v) = line.strip_prefix("^BOOT:") {
        return Some(Urc::Boot(v.trim().to_string()));
    }
    if let Some(v) = line.strip_prefix("^SRVST:") {
        return v.trim().parse().ok().map(Urc::Srvst);
    }
    if let Some(v) = line.strip_prefix("^SIMST:") {
        let f = split_fields(v);
        return f.first().and_then(|s| s.parse().ok()).map(Urc::Simst);
    }
    if let Some(v) = line.strip_prefix("+CREG:") {
        return reg_urc(v).map(Urc::Creg);
    }
    if let Some(v) = line.strip_prefix("+CGREG:") {
        return reg_urc(v).map(Urc::Cgreg);
    }
    if OTHER_URCS.iter().any(|p| line.starts_with(p)) {
        return Some(Urc::Other(line.to_string()));
    }
    None
}

/// The unsolicited `+CREG: <stat>[,"<lac>","<ci>"[,<act>]]`, told apart
/// from the answer to `AT+CREG?` (`+CREG: <n>,<stat>[,...]`) by shape: in
/// the answer the second field is an unquoted number.
fn reg_urc(v: &str) -> Option<RegReport> {
    let raw: Vec<&str> = v.split(',').map(str::trim).collect();
    if let Some(second) = raw.get(1) {
        if !second.starts_with('"') {
            return None;
        }
    }
    let f = split_fields(v);
    let stat = f.first()?.parse().ok()?;
    Some(RegReport {
        stat,
        lac: f.get(1).cloned(),
        ci: f.get(2).cloned(),
    })
}

/// Split an AT parameter list at commas outside double quotes, trimming
/// blanks and removing the quotes. `1,"IP","a,b"` gives `1`, `IP`, `a,b`.
pub fn split_fields(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Vec<Event> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        p.feed(bytes, &mut out);
        out
    }

    const CSQ: &[u8] = b"AT+CSQ\r\r\n+CSQ: 17,99\r\n\r\nOK\r\n";

    fn csq_events() -> Vec<Event> {
        vec![
            Event::Echo("AT+CSQ".into()),
            Event::Info("+CSQ: 17,99".into()),
            Event::Final(Final::Ok),
        ]
    }

    #[test]
    fn echo_info_final() {
        assert_eq!(parse_all(CSQ), csq_events());
    }

    #[test]
    fn every_split_point_and_every_chunk_size_give_the_same_events() {
        let whole = parse_all(CSQ);
        for cut in 0..=CSQ.len() {
            let mut p = Parser::new();
            let mut out = Vec::new();
            p.feed(&CSQ[..cut], &mut out);
            p.feed(&CSQ[cut..], &mut out);
            assert_eq!(out, whole, "split at {cut}");
        }
        for size in 1..=CSQ.len() {
            let mut p = Parser::new();
            let mut out = Vec::new();
            for chunk in CSQ.chunks(size) {
                p.feed(chunk, &mut out);
            }
            assert_eq!(out, whole, "chunks of {size}");
        }
    }

    #[test]
    fn line_ending_variants() {
        for text in [
            &b"\n+CSQ: 17,99\nOK\n"[..],
            b"\r+CSQ: 17,99\rOK\r",
            b"\n\r+CSQ: 17,99\n\r\n\rOK\n\r",
            b"+CSQ: 17,99\r\n\r\n\r\nOK\r\n",
        ] {
            assert_eq!(
                parse_all(text),
                vec![Event::Info("+CSQ: 17,99".into()), Event::Final(Final::Ok)],
                "{text:?}"
            );
        }
    }

    #[test]
    fn final_results() {
        let cases: &[(&str, Final)] = &[
            ("OK", Final::Ok),
            ("ERROR", Final::Error),
            ("+CME ERROR: 16", Final::CmeError(ErrorCode::Code(16))),
            (
                "+CME ERROR: incorrect password",
                Final::CmeError(ErrorCode::Text("incorrect password".into())),
            ),
            ("+CMS ERROR: 500", Final::CmsError(ErrorCode::Code(500))),
            ("NO CARRIER", Final::NoCarrier),
            ("CONNECT", Final::Connect(None)),
            ("CONNECT 3600000", Final::Connect(Some("3600000".into()))),
            ("BUSY", Final::Busy),
            ("NO DIALTONE", Final::NoDialtone),
            ("NO ANSWER", Final::NoAnswer),
            ("COMMAND NOT SUPPORT", Final::NotSupported),
        ];
        for (line, f) in cases {
            let text = format!("\r\n{line}\r\n");
            assert_eq!(parse_all(text.as_bytes()), vec![Event::Final(f.clone())]);
            assert_eq!(f.to_string(), *line);
        }
    }

    #[test]
    fn unsolicited_codes() {
        let cases: &[(&str, Urc)] = &[
            ("^RSSI:17", Urc::Rssi(17)),
            (
                "^MODE:5,4",
                Urc::Mode {
                    mode: 5,
                    submode: Some(4),
                },
            ),
            (
                "^BOOT:20769641,0,0,0,72",
                Urc::Boot("20769641,0,0,0,72".into()),
            ),
            ("^SRVST:2", Urc::Srvst(2)),
            ("^SIMST:1", Urc::Simst(1)),
            ("^SIMST:255,1", Urc::Simst(255)),
            (
                "+CREG: 1",
                Urc::Creg(RegReport {
                    stat: 1,
                    lac: None,
                    ci: None,
                }),
            ),
            (
                "+CGREG: 5,\"00C3\",\"0000A13B\"",
                Urc::Cgreg(RegReport {
                    stat: 5,
                    lac: Some("00C3".into()),
                    ci: Some("0000A13B".into()),
                }),
            ),
            ("RING", Urc::Ring),
            ("+CRING: VOICE", Urc::Ring),
            (
                "^DSFLOWRPT:00000010,00000000",
                Urc::Other("^DSFLOWRPT:00000010,00000000".into()),
            ),
        ];
        for (line, u) in cases {
            let text = format!("\r\n{line}\r\n");
            assert_eq!(
                parse_all(text.as_bytes()),
                vec![Event::Unsolicited(u.clone())],
                "{line}"
            );
        }
    }

    #[test]
    fn creg_query_answers_are_info_not_unsolicited() {
        for line in ["+CREG: 0,1", "+CREG: 2,1,\"00C3\",\"A13B\"", "+CGREG: 0,5"] {
            let text = format!("{line}\r\n");
            assert_eq!(parse_all(text.as_bytes()), vec![Event::Info(line.into())]);
        }
    }

    #[test]
    fn unsolicited_in_the_middle_of_a_response() {
        let s = b"\r\n+COPS: 0,0,\"Sim Telecom\",2\r\n\r\n^RSSI:12\r\n\r\n^MODE:5,4\r\n\r\nOK\r\n";
        assert_eq!(
            parse_all(s),
            vec![
                Event::Info("+COPS: 0,0,\"Sim Telecom\",2".into()),
                Event::Unsolicited(Urc::Rssi(12)),
                Event::Unsolicited(Urc::Mode {
                    mode: 5,
                    submode: Some(4)
                }),
                Event::Final(Final::Ok),
            ]
        );
    }

    #[test]
    fn garbage_bytes_are_removed_and_reported() {
        let s = b"\x00\xff\xfe\r\n\x1bOK\x00\r\n";
        assert_eq!(
            parse_all(s),
            vec![
                Event::Noise { bytes: 3 },
                Event::Noise { bytes: 2 },
                Event::Final(Final::Ok)
            ]
        );
        // Every byte value at every position: never a panic, never a line
        // longer than the bound.
        for b in 0..=255u8 {
            let mut v = CSQ.to_vec();
            for pos in 0..v.len() {
                let mut w = v.clone();
                w.insert(pos, b);
                let _ = parse_all(&w);
            }
            v.push(b);
            let _ = parse_all(&v);
        }
    }

    #[test]
    fn truncated_reply_leaves_a_pending_partial_line() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        p.feed(b"\r\n+CSQ: 17,99\r\n\r\nO", &mut out);
        assert_eq!(out, vec![Event::Info("+CSQ: 17,99".into())]);
        assert_eq!(p.pending(), 1);
    }

    #[test]
    fn long_lines_are_dropped_and_memory_stays_bounded() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        let junk = vec![b'x'; 10 * MAX_LINE];
        for _ in 0..100 {
            p.feed(&junk, &mut out);
            assert!(p.buf.capacity() <= 2 * MAX_LINE);
        }
        p.feed(b"\r\nOK\r\n", &mut out);
        assert_eq!(
            out,
            vec![
                Event::TooLong {
                    len: 1000 * MAX_LINE
                },
                Event::Final(Final::Ok)
            ]
        );
        // A line of exactly MAX_LINE bytes is kept.
        let mut p = Parser::new();
        let mut out = Vec::new();
        let mut line = vec![b'y'; MAX_LINE];
        line.extend_from_slice(b"\r\n");
        p.feed(&line, &mut out);
        assert!(matches!(&out[..], [Event::Info(s)] if s.len() == MAX_LINE));
    }

    #[test]
    fn connect_stops_line_parsing() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        p.feed(b"\r\nCONNECT 3600000\r\n\x7e\xff\x7d\x23OK\r\n", &mut out);
        assert_eq!(
            out,
            vec![Event::Final(Final::Connect(Some("3600000".into())))]
        );
        assert!(p.online());
        p.reset();
        p.feed(b"NO CARRIER\r\n", &mut out);
        assert_eq!(out.last(), Some(&Event::Final(Final::NoCarrier)));
    }

    #[test]
    fn fields_split_outside_quotes() {
        assert_eq!(
            split_fields("1,\"IP\",\"a,b\", 0"),
            vec!["1", "IP", "a,b", "0"]
        );
        assert_eq!(split_fields(""), vec![""]);
        assert_eq!(split_fields("\"unterminated,x"), vec!["unterminated,x"]);
    }
}
