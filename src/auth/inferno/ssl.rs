//! Inferno's devssl records as the login protocol uses them (Inferno
//! emu/port/devssl.c), sans-IO.
//!
//! One write is one record: a two-byte header `0x80|len>>8, len&0xff`
//! (SSLv2's unpadded form; a stream cipher never pads) and `len` bytes.
//! Each direction has its own state and message counter, counted from 0
//! for every record since the connection started, clear ones included:
//!
//! - clear: the body is the message;
//! - rc4 (Inferno's `alg rc4`, 40-bit: only the first 5 bytes of the
//!   secret key RC4; the key stream runs on across records);
//! - sha1: the body is `SHA1(secret || message || be32(count))` followed
//!   by the message.
//!
//! Inside a record the keyring layer (libinterp/keyring.c putbuf/getbuf)
//! adds one status byte: 0x00 a message, 0xFF an error string.

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// The largest body a record header can carry (15 bits).
pub const MAX_RECORD: usize = 0x7fff;
/// Keyring's Maxmsg: a message (status byte included) is shorter.
pub const MAX_MSG: usize = 4096;
const DIGEST: usize = 20;

pub use crate::auth::rc4::Rc4;

/// What a direction does to its records.
#[derive(Clone)]
pub enum Mode {
    Clear,
    Rc4(Box<Rc4>),
    Sha1(Zeroizing<Vec<u8>>),
}

impl Mode {
    /// `alg rc4` with this secret: Inferno's deprecated 40-bit RC4.
    pub fn rc4_40(secret: &[u8]) -> Mode {
        Mode::Rc4(Box::new(Rc4::new(&secret[..secret.len().min(5)])))
    }
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslError {
    /// A record header this protocol never sends (padded form).
    Header(u8),
    TooLong(usize),
    /// A digested record too short to hold its digest.
    Short,
    BadDigest,
}

impl std::fmt::Display for SslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SslError::Header(b) => {
                write!(f, "record header byte {b:#04x} is not an unpadded record")
            }
            SslError::TooLong(n) => write!(f, "a {n}-byte record is longer than allowed"),
            SslError::Short => f.write_str("a digested record shorter than its digest"),
            SslError::BadDigest => f.write_str("bad digest"),
        }
    }
}

impl std::error::Error for SslError {}

/// How many bytes the next record takes: Ok(None) until the header is
/// in, Ok(Some((2, len))) once it is, an error for a header the login
/// protocol never sends or a body over `max`.
pub fn split(buf: &[u8], max: usize) -> Result<Option<(usize, usize)>, SslError> {
    let (Some(&a), Some(&b)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if a & 0x80 == 0 {
        return Err(SslError::Header(a));
    }
    let len = usize::from(a & 0x7f) << 8 | usize::from(b);
    if len > max {
        return Err(SslError::TooLong(len));
    }
    Ok(Some((2, len)))
}

/// One direction: its mode and its record counter.
#[derive(Clone)]
pub struct OneWay {
    pub mode: Mode,
    pub count: u32,
}

impl Default for OneWay {
    fn default() -> Self {
        OneWay {
            mode: Mode::Clear,
            count: 0,
        }
    }
}

fn digest(secret: &[u8], msg: &[u8], count: u32) -> [u8; DIGEST] {
    let mut h = Sha1::new();
    h.update(secret);
    h.update(msg);
    h.update(count.to_be_bytes());
    h.finalize().into()
}

impl OneWay {
    /// One record (header included) carrying `msg` (at most
    /// [`MAX_RECORD`] less the digest: the callers' messages are shorter
    /// than [`MAX_MSG`]).
    pub fn seal(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut body = match &mut self.mode {
            Mode::Clear => msg.to_vec(),
            Mode::Rc4(r) => {
                let mut b = msg.to_vec();
                r.apply(&mut b);
                b
            }
            Mode::Sha1(secret) => {
                let mut b = digest(secret, msg, self.count).to_vec();
                b.extend_from_slice(msg);
                b
            }
        };
        self.count = self.count.wrapping_add(1);
        let n = body.len().min(MAX_RECORD);
        body.truncate(n);
        let mut out = Vec::with_capacity(2 + n);
        out.push(0x80 | (n >> 8) as u8);
        out.push(n as u8);
        out.extend_from_slice(&body);
        out
    }

    /// The message a record's body carries.
    pub fn open(&mut self, body: &[u8]) -> Result<Vec<u8>, SslError> {
        let count = self.count;
        self.count = self.count.wrapping_add(1);
        match &mut self.mode {
            Mode::Clear => Ok(body.to_vec()),
            Mode::Rc4(r) => {
                let mut b = body.to_vec();
                r.apply(&mut b);
                Ok(b)
            }
            Mode::Sha1(secret) => {
                let (d, msg) = body.split_at_checked(DIGEST).ok_or(SslError::Short)?;
                if !crate::auth::ct_eq(d, &digest(secret, msg, count)) {
                    return Err(SslError::BadDigest);
                }
                Ok(msg.to_vec())
            }
        }
    }
}

/// keyring's putstring/putbytearray: status 0x00 then the bytes (cut to
/// Maxmsg-1 as keyring.c does).
pub fn message(data: &[u8]) -> Vec<u8> {
    let n = data.len().min(MAX_MSG - 1);
    let mut m = Vec::with_capacity(n + 1);
    m.push(0);
    m.extend_from_slice(&data[..n]);
    m
}

/// keyring's puterror: status 0xFF then the text.
pub fn error(text: &str) -> Vec<u8> {
    let n = text.len().min(MAX_MSG - 1);
    let mut m = Vec::with_capacity(n + 1);
    m.push(0xff);
    m.extend_from_slice(&text.as_bytes()[..n]);
    m
}

/// What a message holds (keyring's getbuf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg<'a> {
    Data(&'a [u8]),
    /// The peer's error string.
    Error(String),
    /// Neither status byte: what a wrong key makes of an encrypted
    /// message (keyring.c calls it "failure").
    Garbled,
    Empty,
}

pub fn parse(m: &[u8]) -> Msg<'_> {
    match m.split_first() {
        None => Msg::Empty,
        Some((0, rest)) => Msg::Data(rest),
        Some((0xff, rest)) => Msg::Error(String::from_utf8_lossy(rest).into_owned()),
        Some(_) => Msg::Garbled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::hex;

    #[test]
    fn rc4_known_answers() {
        // RFC 6229's first vectors (40-bit key 0102030405, offset 0).
        let mut r = Rc4::new(&[1, 2, 3, 4, 5]);
        let mut b = [0u8; 16];
        r.apply(&mut b);
        assert_eq!(hex(&b), "b2396305f03dc027ccc3524a0a1118a8");
        // The classic "Key"/"Plaintext" vector.
        let mut r = Rc4::new(b"Key");
        let mut p = *b"Plaintext";
        r.apply(&mut p);
        assert_eq!(hex(&p), "bbf316e8d940af0ad3");
        // Inferno's rc4 is 40-bit: bytes past the fifth change nothing.
        let (Mode::Rc4(mut a), Mode::Rc4(mut b)) = (
            Mode::rc4_40(&[1, 2, 3, 4, 5, 6, 7, 8]),
            Mode::rc4_40(&[1, 2, 3, 4, 5, 9, 9, 9]),
        ) else {
            unreachable!()
        };
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        a.apply(&mut x);
        b.apply(&mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn records_round_trip_and_count() {
        let mut out = OneWay::default();
        let mut inw = OneWay::default();
        let r = out.seal(b"\0glenda");
        assert_eq!(r, b"\x80\x07\0glenda");
        assert_eq!(split(&r, 100), Ok(Some((2, 7))));
        assert_eq!(inw.open(&r[2..]).unwrap(), b"\0glenda");
        out.mode = Mode::Sha1(Zeroizing::new(b"k".to_vec()));
        inw.mode = Mode::Sha1(Zeroizing::new(b"k".to_vec()));
        let r = out.seal(b"\0x");
        // digest over secret, message and the count (1: the clear record
        // before it counted).
        let d = digest(b"k", b"\0x", 1);
        assert_eq!(&r[2..22], &d);
        assert_eq!(inw.open(&r[2..]).unwrap(), b"\0x");
        // A replayed record has the wrong count.
        assert_eq!(inw.open(&r[2..]), Err(SslError::BadDigest));
        assert_eq!(inw.open(b"short"), Err(SslError::Short));
    }

    #[test]
    fn headers() {
        assert_eq!(split(&[0x80], 10), Ok(None));
        assert_eq!(split(&[0x00, 5], 10), Err(SslError::Header(0)));
        assert_eq!(split(&[0x81, 0], 10), Err(SslError::TooLong(256)));
        assert_eq!(parse(b"\0ab"), Msg::Data(b"ab"));
        assert_eq!(parse(b"\xffno"), Msg::Error("no".into()));
        assert_eq!(parse(b"\x07"), Msg::Garbled);
        assert_eq!(message(b"a"), b"\0a");
        assert_eq!(error("e"), b"\xffe");
    }
}
