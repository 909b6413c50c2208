//! secstore's record layer (plan9port src/cmd/auth/secstore/SConn.c),
//! sans-IO: records in, records out.
//!
//! ```text
//! record   0x80|len>>8  len&0xff  body           (len: 15 bits, > 0)
//! clear    body = data                            (the PAK messages)
//! sealed   body = RC4(MAC) RC4(data), len counts the 20 MAC bytes
//!          MAC = SHA1(secret || data || seq as 4 bytes big-endian)
//! keys     client out = HMAC-SHA1(key "two", session key), in = key "one";
//!          the server mirrors; RC4 is keyed with a secret's first 16 bytes,
//!          one stream per direction
//! seq      counts every record each way since the connection opened,
//!          clear ones included
//! ```
//!
//! Data is at most MAXMSG bytes a record (plan9port reads into a MAXMSG
//! buffer and writes at most MAXMSG + 1). A record whose first byte is
//! `!` is an error message (SConn.c's writerr / readstr).

use hmac::{KeyInit, Mac};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// SConn.h's Maxmsg: the most data one record carries.
pub const MAXMSG: usize = 4096;
const MACLEN: usize = 20;

pub use crate::auth::rc4::Rc4;

/// One direction's secret, cipher and sequence number.
struct Dir {
    secret: Zeroizing<[u8; 20]>,
    rc4: Rc4,
}

/// What went wrong with a record; the text names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The header's top bit is clear, or the length is 0.
    BadHeader,
    /// A sealed record too short to hold its MAC, or too long.
    BadLength(usize),
    /// The MAC does not match: altered, replayed or out of order.
    Integrity,
    /// Data of 0 or more than MAXMSG + 1 bytes to send.
    BadSend(usize),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::BadHeader => f.write_str("record: invalid count"),
            RecordError::BadLength(n) => write!(f, "record: implausible length {n}"),
            RecordError::Integrity => f.write_str("record: integrity check failed"),
            RecordError::BadSend(n) => write!(f, "record: cannot send {n} bytes"),
        }
    }
}

impl std::error::Error for RecordError {}

/// Where the next record ends in `buf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Need,
    /// The body: `len` bytes after the 2-byte header.
    Record(usize),
    Bad,
}

/// One end of a connection: clear until `set_secret`, sealed after.
pub struct Channel {
    keys: Option<(Dir, Dir)>, // (in, out)
    in_seq: u32,
    out_seq: u32,
}

fn hmac1(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 20]> {
    let mut out = Zeroizing::new([0u8; 20]);
    if let Ok(mut m) = hmac::Hmac::<Sha1>::new_from_slice(key) {
        m.update(data);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

fn mac(secret: &[u8; 20], data: &[u8], seq: u32) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(secret);
    h.update(data);
    h.update(seq.to_be_bytes());
    h.finalize().into()
}

impl Default for Channel {
    fn default() -> Self {
        Channel::new()
    }
}

impl Channel {
    pub fn new() -> Channel {
        Channel {
            keys: None,
            in_seq: 0,
            out_seq: 0,
        }
    }

    pub fn sealed(&self) -> bool {
        self.keys.is_some()
    }

    /// Switch to sealed records with the PAK's session key.
    pub fn set_secret(&mut self, session: &[u8], server: bool) {
        let one = hmac1(b"one", session);
        let two = hmac1(b"two", session);
        let (out, inn) = if server { (one, two) } else { (two, one) };
        let mk = |secret: Zeroizing<[u8; 20]>| Dir {
            rc4: Rc4::new(&secret[..16]),
            secret,
        };
        self.keys = Some((mk(inn), mk(out)));
    }

    /// Where the next record in `buf` ends.
    pub fn split(&self, buf: &[u8]) -> Split {
        let Some(&[a, b]) = buf.get(..2) else {
            return Split::Need;
        };
        if a & 0x80 == 0 {
            return Split::Bad;
        }
        let len = usize::from(a & 0x7f) << 8 | usize::from(b);
        let max = MAXMSG + if self.sealed() { MACLEN } else { 0 };
        let min = if self.sealed() { MACLEN + 1 } else { 1 };
        if len < min || len > max {
            return Split::Bad;
        }
        if buf.len() < 2 + len {
            Split::Need
        } else {
            Split::Record(len)
        }
    }

    /// A record's body (after its header) to data.
    pub fn open(&mut self, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        let seq = self.in_seq;
        let out = match &mut self.keys {
            None => {
                if body.is_empty() || body.len() > MAXMSG {
                    return Err(RecordError::BadLength(body.len()));
                }
                Zeroizing::new(body.to_vec())
            }
            Some((inn, _)) => {
                if body.len() <= MACLEN || body.len() > MAXMSG + MACLEN {
                    return Err(RecordError::BadLength(body.len()));
                }
                let mut got = [0u8; MACLEN];
                got.copy_from_slice(&body[..MACLEN]);
                let mut data = Zeroizing::new(body[MACLEN..].to_vec());
                inn.rc4.apply(&mut got);
                inn.rc4.apply(&mut data);
                let want = mac(&inn.secret, &data, seq);
                if !crate::auth::ct_eq(&want, &got) {
                    return Err(RecordError::Integrity);
                }
                data
            }
        };
        self.in_seq = self.in_seq.wrapping_add(1);
        Ok(out)
    }

    /// Data to one whole record (header included).
    pub fn seal(&mut self, data: &[u8]) -> Result<Vec<u8>, RecordError> {
        if data.is_empty() || data.len() > MAXMSG + 1 {
            return Err(RecordError::BadSend(data.len()));
        }
        let seq = self.out_seq;
        let len = data.len() + if self.sealed() { MACLEN } else { 0 };
        let mut rec = Vec::with_capacity(2 + len);
        rec.push(0x80 | (len >> 8) as u8);
        rec.push(len as u8);
        match &mut self.keys {
            None => rec.extend_from_slice(data),
            Some((_, out)) => {
                let mut d = mac(&out.secret, data, seq);
                out.rc4.apply(&mut d);
                rec.extend_from_slice(&d);
                let start = rec.len();
                rec.extend_from_slice(data);
                out.rc4.apply(&mut rec[start..]);
            }
        }
        self.out_seq = self.out_seq.wrapping_add(1);
        Ok(rec)
    }

    /// An in-band error (`!message`), as writerr sends it.
    pub fn seal_error(&mut self, msg: &str) -> Vec<u8> {
        let mut m = format!("!{msg}");
        m.truncate(MAXMSG - 1);
        while !m.is_char_boundary(m.len()) {
            m.pop();
        }
        self.seal(m.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_known_answer() {
        // RFC 6229: key 0102030405, first 16 bytes of keystream.
        let mut r = Rc4::new(&[1, 2, 3, 4, 5]);
        let mut b = [0u8; 16];
        r.apply(&mut b);
        assert_eq!(crate::auth::enc16(&b), "B2396305F03DC027CCC3524A0A1118A8");
    }

    #[test]
    fn sealed_round_trip_and_tampering() {
        let key = [7u8; 20];
        let (mut c, mut s) = (Channel::new(), Channel::new());
        let r = c.seal(b"hello").unwrap();
        assert_eq!(s.split(&r), Split::Record(5));
        assert_eq!(&s.open(&r[2..]).unwrap()[..], b"hello");
        c.set_secret(&key, false);
        s.set_secret(&key, true);
        let r = c.seal(b"GET x\n").unwrap();
        assert_eq!(s.split(&r), Split::Record(26));
        assert_eq!(&s.open(&r[2..]).unwrap()[..], b"GET x\n");
        // replay: the same record again fails (seq and RC4 moved on)
        assert_eq!(s.open(&r[2..]), Err(RecordError::Integrity));
        let mut s2 = Channel::new();
        s2.in_seq = 1;
        s2.set_secret(&key, true);
        let mut bad = r.clone();
        bad[25] ^= 1;
        assert_eq!(s2.open(&bad[2..]), Err(RecordError::Integrity));
        assert_eq!(s.split(&[0x00, 0x05]), Split::Bad);
        assert_eq!(s.split(&[0x80, 0x14]), Split::Bad); // only a MAC
        assert_eq!(s.split(&[0x80]), Split::Need);
        assert_eq!(s.split(&[0x80 | 0x10, 0x15]), Split::Bad); // > MAXMSG + 20
        assert!(c.seal(&[]).is_err());
        assert!(c.seal(&[0; MAXMSG + 2]).is_err());
    }
}
