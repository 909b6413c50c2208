//! The rpc file's wire format (plan9port src/cmd/auth/factotum/rpc.c).
//!
//! A request is `verb` or `verb SP data` in one write; data may be binary.
//! Verbs: `start attrs`, `read`, `write data`, `readhex`, `writehex hex`,
//! `authinfo`, `attr`. A reply is `ok [data]`, `done`, `error msg`,
//! `needkey attrs`, `badkey attrs...`, `phase msg` or `toosmall n`.

use super::Error;
use zeroize::Zeroizing;

/// Largest rpc request accepted (9front's size; plan9port's is 2048).
pub const MAX_RPC: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Authinfo,
    Attr,
    Read,
    Start,
    Write,
    ReadHex,
    WriteHex,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Authinfo => "authinfo",
            Op::Attr => "attr",
            Op::Read => "read",
            Op::Start => "start",
            Op::Write => "write",
            Op::ReadHex => "readhex",
            Op::WriteHex => "writehex",
        }
    }

    fn classify(v: &[u8]) -> Option<Op> {
        [
            Op::Authinfo,
            Op::Attr,
            Op::Read,
            Op::Start,
            Op::Write,
            Op::ReadHex,
            Op::WriteHex,
        ]
        .into_iter()
        .find(|op| op.name().as_bytes() == v)
    }
}

/// A parsed request.
pub struct Rpc {
    pub op: Op,
    pub data: Zeroizing<Vec<u8>>,
}

/// Parse one rpc write (`rpcwrite`).
pub fn parse(buf: &[u8]) -> Result<Rpc, Error> {
    if buf.len() > MAX_RPC {
        return Err(Error::new("rpc too large"));
    }
    let (verb, data) = match buf.iter().position(|&b| b == b' ') {
        Some(i) => (
            buf.get(..i).unwrap_or_default(),
            buf.get(i + 1..).unwrap_or_default(),
        ),
        None => (buf, &[][..]),
    };
    // the C code compares the verb as a string: it ends at a NUL
    let verb = crate::auth::proto::cstr(verb);
    match Op::classify(verb) {
        Some(op) => Ok(Rpc {
            op,
            data: Zeroizing::new(data.to_vec()),
        }),
        None => Err(Error::new(format!(
            "bad rpc verb: {}",
            String::from_utf8_lossy(verb)
        ))),
    }
}

/// `verb` alone.
pub fn reply(verb: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(verb.as_bytes().to_vec())
}

/// `verb SP data` (`rpcrespondn`), data hex-encoded for `readhex`.
pub fn reply_data(verb: &str, data: &[u8], hex: bool) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(verb.len() + 1 + 2 * data.len()));
    v.extend_from_slice(verb.as_bytes());
    v.push(b' ');
    if hex {
        v.extend_from_slice(crate::auth::enc16(data).as_bytes());
    } else {
        v.extend_from_slice(data);
    }
    v
}

/// Pack an authinfo (`convAI2M`): client uid, server uid, capability and
/// secret, each a 2-byte little-endian length and the bytes. The secret is
/// given in hex, as the `secret=` attribute holds it.
pub fn pack_authinfo(
    cuid: &str,
    suid: &str,
    cap: &str,
    secret_hex: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let h = secret_hex.as_bytes();
    if h.len() % 2 != 0 || !h.iter().all(u8::is_ascii_hexdigit) {
        return Err(Error::new("hexparse failed"));
    }
    let secret = Zeroizing::new(crate::auth::dec16(h));
    // the reply buffer holds "ok " and the fields (pstring's bound check)
    let room = MAX_RPC - 3;
    let mut w = crate::wire::Writer::new();
    let mut used = 0usize;
    for f in [
        cuid.as_bytes(),
        suid.as_bytes(),
        cap.as_bytes(),
        &secret[..],
    ] {
        if used + f.len() + 2 >= room {
            return Err(Error::new("authinfo too big"));
        }
        let n = u16::try_from(f.len()).map_err(|_| Error::new("authinfo too big"))?;
        w.u16le(n).bytes(f);
        used += f.len() + 2;
    }
    Ok(Zeroizing::new(w.into_vec()))
}

/// The fields of a packed authinfo (`convM2AI`), for clients and tests.
pub struct AuthInfo {
    pub cuid: String,
    pub suid: String,
    pub cap: String,
    pub secret: Zeroizing<Vec<u8>>,
}

pub fn unpack_authinfo(b: &[u8]) -> Result<AuthInfo, crate::wire::Short> {
    let mut r = crate::wire::Reader::new(b);
    let mut field = || -> Result<Vec<u8>, crate::wire::Short> {
        let n = r.u16le()?;
        Ok(r.bytes(usize::from(n))?.to_vec())
    };
    let s = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    Ok(AuthInfo {
        cuid: s(field()?),
        suid: s(field()?),
        cap: s(field()?),
        secret: Zeroizing::new(field()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_verbs() {
        let r = parse(b"start proto=pass role=client").unwrap();
        assert_eq!(r.op, Op::Start);
        assert_eq!(&r.data[..], b"proto=pass role=client");
        let r = parse(b"write \x00\x01 x").unwrap();
        assert_eq!(r.op, Op::Write);
        assert_eq!(&r.data[..], b"\x00\x01 x");
        assert_eq!(parse(b"read").unwrap().op, Op::Read);
        assert_eq!(
            parse(b"bogus x").err().unwrap().to_string(),
            "bad rpc verb: bogus"
        );
        assert_eq!(parse(b"").err().unwrap().to_string(), "bad rpc verb: ");
        assert!(parse(&[b'x'; MAX_RPC]).is_err());
        assert_eq!(
            parse(&[b'x'; MAX_RPC + 1]).err().unwrap().to_string(),
            "rpc too large"
        );
        let mut big = b"write ".to_vec();
        big.resize(MAX_RPC, b'a');
        assert_eq!(parse(&big).unwrap().data.len(), MAX_RPC - 6);
    }

    #[test]
    fn authinfo_layout() {
        let b = pack_authinfo("glenda", "bootes", "", "0aff").unwrap();
        assert_eq!(
            &b[..],
            b"\x06\x00glenda\x06\x00bootes\x00\x00\x02\x00\x0a\xff"
        );
        let ai = unpack_authinfo(&b).unwrap();
        assert_eq!((ai.cuid.as_str(), ai.suid.as_str()), ("glenda", "bootes"));
        assert_eq!(&ai.secret[..], [0x0a, 0xff]);
        assert_eq!(
            pack_authinfo(&"x".repeat(5000), "", "", "")
                .err()
                .unwrap()
                .to_string(),
            "authinfo too big"
        );
        assert!(pack_authinfo("", "", "", "abc").is_err());
    }

    #[test]
    fn reply_forms() {
        assert_eq!(&reply_data("ok", b"\x01\xab", true)[..], b"ok 01AB");
        assert_eq!(&reply_data("ok", b"", false)[..], b"ok ");
        assert_eq!(&reply("done")[..], b"done");
    }
}
