//! The SSH wire encoding (RFC 4251 section 5) that certificates, KRLs and
//! the agent protocol are made of: uint32/uint64 big-endian, `string` as a
//! uint32 length and bytes. Built on [`crate::wire`], so truncated input is
//! an error, never a panic.

use crate::wire::{Reader, Short, Writer};

/// Read an SSH `string`.
pub fn get_string<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Short> {
    let n = r.u32be()? as usize;
    r.bytes(n)
}

/// Read an SSH `string` that must be UTF-8 text.
pub fn get_text<'a>(r: &mut Reader<'a>) -> Result<&'a str, WireError> {
    let b = get_string(r)?;
    std::str::from_utf8(b).map_err(|_| WireError::NotText)
}

pub fn get_u64(r: &mut Reader<'_>) -> Result<u64, Short> {
    let hi = r.u32be()? as u64;
    let lo = r.u32be()? as u64;
    Ok(hi << 32 | lo)
}

pub fn put_string(w: &mut Writer, b: &[u8]) {
    // Lengths here are bounded by what we build (keys, certificates).
    w.u32be(b.len() as u32).bytes(b);
}

pub fn put_u64(w: &mut Writer, v: u64) {
    w.u32be((v >> 32) as u32).u32be(v as u32);
}

/// A malformed SSH structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    Short(Short),
    NotText,
    Trailing(usize),
    Unsupported(String),
    Bad(&'static str),
}

impl From<Short> for WireError {
    fn from(s: Short) -> Self {
        WireError::Short(s)
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Short(s) => write!(f, "{s}"),
            WireError::NotText => write!(f, "a text field is not UTF-8"),
            WireError::Trailing(n) => write!(f, "{n} bytes of trailing data"),
            WireError::Unsupported(t) => write!(f, "unsupported key type '{t}'"),
            WireError::Bad(what) => write!(f, "bad {what}"),
        }
    }
}

impl std::error::Error for WireError {}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as OpenSSH key files use.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional, no white space).
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers() {
        let mut w = Writer::new();
        put_string(&mut w, b"ssh-ed25519");
        put_u64(&mut w, 0x0102030405060708);
        assert_eq!(&w.buf[..4], &[0, 0, 0, 11]);
        assert_eq!(&w.buf[15..], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(get_text(&mut r).unwrap(), "ssh-ed25519");
        assert_eq!(get_u64(&mut r).unwrap(), 0x0102030405060708);
        let mut r = Reader::new(&[0, 0, 1, 0, 1]);
        assert!(get_string(&mut r).is_err());
    }

    #[test]
    fn base64_round_trip() {
        for (plain, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain), enc);
            assert_eq!(unbase64(enc).unwrap(), plain);
        }
        assert_eq!(unbase64("Zm9v!"), None);
    }
}
