//! DNS messages (RFC 1035), only as much as a health probe needs: build a
//! recursive query for one A record, and parse the reply to it.
//!
//! Sans-IO and panic-free: every read goes through [`crate::wire::Reader`],
//! names are followed with a hop limit, and each way a reply can be wrong has
//! its own [`WireError`] variant saying what was wrong and where.
//!
//! ```text
//! header  0..2 id | 2..4 flags (QR opcode AA TC RD RA Z rcode) |
//!         4..6 qdcount | 6..8 ancount | 8..10 nscount | 10..12 arcount
//! question  name, type (1 = A), class (1 = IN)
//! answer    name, type, class, ttl (4), rdlength (2), rdata
//! ```

use crate::wire::{Reader, Short, Writer};
use core::net::Ipv4Addr;
use std::fmt;

/// Header length in bytes.
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 2.3.4).
pub const MAX_NAME: usize = 255;
/// Longest label.
pub const MAX_LABEL: usize = 63;

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const OPCODE_MASK: u16 = 0x7800;
const RCODE_MASK: u16 = 0x000f;

/// A response code (RFC 1035 4.1.1, RFC 6895).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
    Other(u8),
}

impl Rcode {
    fn from_bits(v: u8) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            n => Rcode::Other(n),
        }
    }

    fn bits(self) -> u8 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(n) => n & 0x0f,
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(n) => write!(f, "RCODE{n}"),
        }
    }
}

/// A name we refuse to put in a query: our own input, checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

/// Check a probe name: dotted labels of letters, digits, '-' and '_', each
/// 1..=63 bytes, 255 bytes at most on the wire. A trailing dot is allowed.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(NameError("empty name".into()));
    }
    if trimmed.len() + 2 > MAX_NAME {
        return Err(NameError(format!(
            "name is {} bytes, longer than {} on the wire",
            trimmed.len(),
            MAX_NAME
        )));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(NameError(format!("empty label in '{name}'")));
        }
        if label.len() > MAX_LABEL {
            return Err(NameError(format!(
                "label '{label}' is {} bytes, more than {MAX_LABEL}",
                label.len()
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(NameError(format!(
                "character '{}' not allowed in '{name}'",
                c.escape_debug()
            )));
        }
    }
    Ok(())
}

/// A recursive query (RD set) for the A records of `name`.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, NameError> {
    check_name(name)?;
    let mut w = Writer::new();
    w.u16be(id)
        .u16be(FLAG_RD)
        .u16be(1)
        .u16be(0)
        .u16be(0)
        .u16be(0);
    put_name(&mut w, name);
    w.u16be(TYPE_A).u16be(CLASS_IN);
    Ok(w.into_vec())
}

fn put_name(w: &mut Writer, name: &str) {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    for label in trimmed.split('.') {
        w.u8(label.len() as u8).bytes(label.as_bytes());
    }
    w.u8(0);
}

/// Why a datagram is not an acceptable reply to our query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The datagram ended inside a field (peer or network: garbage or cut).
    Short(Short),
    /// QR is clear: this is a query, not a response.
    NotResponse,
    /// The id is not the one we sent (a stale or forged reply).
    IdMismatch { want: u16, got: u16 },
    /// TC is set: the server could not fit its answer in UDP.
    Truncated,
    /// An opcode other than QUERY.
    Opcode(u8),
    /// The question section does not echo our question.
    QuestionMismatch(String),
    /// A malformed name at this offset.
    BadName { at: usize, why: &'static str },
    /// An A record whose data is not 4 bytes.
    BadRecord { at: usize, len: u16 },
}

impl From<Short> for WireError {
    fn from(s: Short) -> Self {
        WireError::Short(s)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Short(s) => write!(f, "reply cut short: {s}"),
            WireError::NotResponse => f.write_str("not a response (QR clear)"),
            WireError::IdMismatch { want, got } => {
                write!(f, "mismatched id (sent {want:#06x}, got {got:#06x})")
            }
            WireError::Truncated => f.write_str("truncated reply (TC set)"),
            WireError::Opcode(o) => write!(f, "unexpected opcode {o}"),
            WireError::QuestionMismatch(why) => write!(f, "question not echoed: {why}"),
            WireError::BadName { at, why } => write!(f, "bad name at byte {at}: {why}"),
            WireError::BadRecord { at, len } => {
                write!(f, "A record at byte {at} has {len} data bytes, not 4")
            }
        }
    }
}

impl std::error::Error for WireError {}

/// A parsed reply to our query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub id: u16,
    pub rcode: Rcode,
    /// The answer count from the header.
    pub ancount: u16,
    /// The A records in the answer section (CNAMEs etc. are skipped).
    pub addrs: Vec<Ipv4Addr>,
}

/// Just the id of a datagram, to tell a stale reply from garbage.
pub fn peek_id(buf: &[u8]) -> Option<u16> {
    Reader::new(buf).u16be().ok()
}

/// Parse `buf` as the reply to the query with `id` for `name`.
pub fn parse_response(buf: &[u8], id: u16, name: &str) -> Result<Response, WireError> {
    let mut r = Reader::new(buf);
    let got = r.u16be()?;
    let flags = r.u16be()?;
    let qdcount = r.u16be()?;
    let ancount = r.u16be()?;
    let _nscount = r.u16be()?;
    let _arcount = r.u16be()?;
    if flags & FLAG_QR == 0 {
        return Err(WireError::NotResponse);
    }
    if got != id {
        return Err(WireError::IdMismatch { want: id, got });
    }
    let opcode = ((flags & OPCODE_MASK) >> 11) as u8;
    if opcode != 0 {
        return Err(WireError::Opcode(opcode));
    }
    if flags & FLAG_TC != 0 {
        return Err(WireError::Truncated);
    }
    let rcode = Rcode::from_bits((flags & RCODE_MASK) as u8);
    // Servers may omit the question in error replies (e.g. FORMERR); when it
    // is there it must be ours.
    if qdcount > 1 {
        return Err(WireError::QuestionMismatch(format!(
            "{qdcount} questions, expected 1"
        )));
    }
    if qdcount == 1 {
        let at = r.pos();
        let qname = read_name(buf, &mut r)?;
        let qtype = r.u16be()?;
        let qclass = r.u16be()?;
        let want = name.strip_suffix('.').unwrap_or(name);
        if !qname.eq_ignore_ascii_case(want) {
            return Err(WireError::QuestionMismatch(format!(
                "name '{qname}' at byte {at}, asked '{want}'"
            )));
        }
        if qtype != TYPE_A || qclass != CLASS_IN {
            return Err(WireError::QuestionMismatch(format!(
                "type {qtype} class {qclass}, asked A IN"
            )));
        }
    } else if rcode == Rcode::NoError && ancount > 0 {
        return Err(WireError::QuestionMismatch(
            "answers without a question".into(),
        ));
    }
    let mut addrs = Vec::new();
    for _ in 0..ancount {
        read_name(buf, &mut r)?;
        let rtype = r.u16be()?;
        let class = r.u16be()?;
        let _ttl = r.u32be()?;
        let len = r.u16be()?;
        let at = r.pos();
        let data = r.bytes(usize::from(len))?;
        if rtype == TYPE_A && class == CLASS_IN {
            let a: [u8; 4] = data
                .try_into()
                .map_err(|_| WireError::BadRecord { at, len })?;
            addrs.push(Ipv4Addr::from(a));
        }
    }
    Ok(Response {
        id: got,
        rcode,
        ancount,
        addrs,
    })
}

/// Read a possibly compressed name at the reader's position, leaving the
/// reader after it. Returns the dotted name without the final dot.
fn read_name(buf: &[u8], r: &mut Reader<'_>) -> Result<String, WireError> {
    let mut out = String::new();
    let mut wire_len = 1usize;
    // Where the reader resumes: after the first pointer, or after the name.
    let mut cur = Reader::new(buf);
    let mut jumped = false;
    cur.bytes(r.pos())?;
    for _hop in 0..MAX_NAME {
        let at = cur.pos();
        let len = cur.u8()?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    if !jumped {
                        r.bytes(cur.pos() - r.pos())?;
                    }
                    return Ok(out);
                }
                let label = cur.bytes(usize::from(len))?;
                wire_len += usize::from(len) + 1;
                if wire_len > MAX_NAME {
                    return Err(WireError::BadName {
                        at,
                        why: "longer than 255 bytes",
                    });
                }
                if !out.is_empty() {
                    out.push('.');
                }
                for &b in label {
                    if b.is_ascii_graphic() && b != b'.' {
                        out.push(char::from(b));
                    } else {
                        out.push_str(&format!("\\{b:03}"));
                    }
                }
            }
            0xc0 => {
                let lo = cur.u8()?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                if target >= at {
                    return Err(WireError::BadName {
                        at,
                        why: "compression pointer does not point backwards",
                    });
                }
                if !jumped {
                    r.bytes(cur.pos() - r.pos())?;
                    jumped = true;
                }
                cur = Reader::new(buf);
                cur.bytes(target)?;
            }
            _ => {
                return Err(WireError::BadName {
                    at,
                    why: "reserved label type",
                })
            }
        }
    }
    Err(WireError::BadName {
        at: r.pos(),
        why: "too many labels or pointers",
    })
}

/// Build a reply laid out as dnsmasq lays out its local answers (AA, RA,
/// TTL 0, answer names compressed), for tests and test servers.
pub fn build_response(id: u16, name: &str, rcode: Rcode, addrs: &[Ipv4Addr]) -> Vec<u8> {
    let mut w = Writer::new();
    let flags = FLAG_QR | 0x0400 | FLAG_RD | 0x0080 | u16::from(rcode.bits());
    w.u16be(id).u16be(flags).u16be(1).u16be(addrs.len() as u16);
    w.u16be(0).u16be(0);
    put_name(&mut w, name);
    w.u16be(TYPE_A).u16be(CLASS_IN);
    for a in addrs {
        // A pointer to the question name at offset 12.
        w.u16be(0xc00c)
            .u16be(TYPE_A)
            .u16be(CLASS_IN)
            .u32be(0)
            .u16be(4);
        w.bytes(&a.octets());
    }
    w.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: [u8; 28] = [
        0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // header
        5, b'p', b'r', b'o', b'b', b'e', 4, b't', b'e', b's', b't', 0, // name
        0x00, 0x01, 0x00, 0x01, // A IN
    ];

    /// dnsmasq 2.90's reply for `--address=/probe.test/192.0.2.1`, byte for
    /// byte as captured (question echoed, answer name compressed to 12).
    const REPLY: [u8; 44] = [
        0xbe, 0xef, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
        5, b'p', b'r', b'o', b'b', b'e', 4, b't', b'e', b's', b't', 0, 0x00, 0x01, 0x00, 0x01,
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 192, 0, 2, 1,
    ];

    #[test]
    fn query_bytes() {
        assert_eq!(build_query(0xbeef, "probe.test").unwrap(), QUERY);
        assert_eq!(build_query(0xbeef, "probe.test.").unwrap(), QUERY);
    }

    #[test]
    fn bad_names_refused() {
        for bad in ["", ".", "a..b", "has space.test", "a/b", &"x".repeat(64)] {
            assert!(build_query(1, bad).is_err(), "{bad:?}");
        }
        let long = ["abcdefghij"; 24].join(".");
        assert!(check_name(&long).is_err());
        assert!(check_name("_dmarc.example-1.org").is_ok());
    }

    #[test]
    fn parse_good_reply() {
        let r = parse_response(&REPLY, 0xbeef, "probe.test").unwrap();
        assert_eq!(r.rcode, Rcode::NoError);
        assert_eq!(r.ancount, 1);
        assert_eq!(r.addrs, [Ipv4Addr::new(192, 0, 2, 1)]);
        // Case-insensitive question match (0x20 style servers).
        assert!(parse_response(&REPLY, 0xbeef, "PROBE.Test.").is_ok());
        assert_eq!(
            build_response(
                0xbeef,
                "probe.test",
                Rcode::NoError,
                &[Ipv4Addr::new(192, 0, 2, 1)]
            ),
            REPLY
        );
    }

    #[test]
    fn rcodes() {
        for (rc, text) in [
            (Rcode::ServFail, "SERVFAIL"),
            (Rcode::Refused, "REFUSED"),
            (Rcode::NxDomain, "NXDOMAIN"),
            (Rcode::Other(9), "RCODE9"),
        ] {
            let b = build_response(7, "a.b", rc, &[]);
            let r = parse_response(&b, 7, "a.b").unwrap();
            assert_eq!(r.rcode, rc);
            assert_eq!(r.rcode.to_string(), text);
        }
    }

    #[test]
    fn rejects_with_reasons() {
        let e = |b: &[u8]| parse_response(b, 0xbeef, "probe.test").unwrap_err();
        // Every truncation point is an error, never a panic.
        for n in 0..REPLY.len() {
            assert!(matches!(e(&REPLY[..n]), WireError::Short(_)), "cut at {n}");
        }
        assert_eq!(
            parse_response(&REPLY, 0x1234, "probe.test").unwrap_err(),
            WireError::IdMismatch {
                want: 0x1234,
                got: 0xbeef
            }
        );
        assert_eq!(e(&QUERY), WireError::NotResponse);
        let mut tc = REPLY;
        tc[2] |= 0x02;
        assert_eq!(e(&tc), WireError::Truncated);
        let mut op = REPLY;
        op[2] |= 0x10;
        assert_eq!(e(&op), WireError::Opcode(2));
        let other = build_response(0xbeef, "other.test", Rcode::NoError, &[]);
        assert!(matches!(e(&other), WireError::QuestionMismatch(_)));
        let mut loopy = REPLY;
        loopy[28] = 0xc0;
        loopy[29] = 28; // points at itself
        assert!(matches!(e(&loopy), WireError::BadName { at: 28, .. }));
        let mut badlen = REPLY.to_vec();
        badlen[39] = 3;
        badlen.pop();
        assert!(matches!(
            e(&badlen),
            WireError::BadRecord { at: 40, len: 3 }
        ));
        assert!(e(&REPLY[..3]).to_string().contains("cut short"));
        assert_eq!(peek_id(&REPLY), Some(0xbeef));
        assert_eq!(peek_id(&[1]), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = crate::uplink::backoff::Rng::new(9);
        for len in 0..200usize {
            for _ in 0..50 {
                let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                if b.len() > 3 {
                    b[0] = 0xbe;
                    b[1] = 0xef;
                    b[2] |= 0x80;
                }
                let _ = parse_response(&b, 0xbeef, "probe.test");
            }
        }
    }
}
