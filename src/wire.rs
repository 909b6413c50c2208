//! Byte-level helpers for wire formats: a bounds-checked reader and a writer,
//! little- and big-endian. Every read returns `Err(Short)` instead of
//! panicking when the input ends early, so protocol decoders built on it
//! cannot panic on truncated input.
//!
//! 9P, Plan 9's authinfo and USB mass-storage wrappers are little-endian on
//! the wire whatever the host is; the router is big-endian, so nothing here
//! ever uses native byte order.

/// The input ended before a field did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short {
    /// Offset of the field that did not fit.
    pub at: usize,
    /// Bytes the field needed.
    pub need: usize,
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "truncated at byte {} (field of {} bytes)",
            self.at, self.need
        )
    }
}

impl std::error::Error for Short {}

/// A cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let short = Short {
            at: self.pos,
            need: n,
        };
        let end = self.pos.checked_add(n).ok_or(short)?;
        let b = self.buf.get(self.pos..end).ok_or(short)?;
        self.pos = end;
        Ok(b)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16le(&mut self) -> Result<u16, Short> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32le(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64le(&mut self) -> Result<u64, Short> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn u16be(&mut self) -> Result<u16, Short> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn u32be(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_be_bytes)
    }
}

/// An append-only encoder.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16le(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u32le(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64le(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u16be(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub fn u32be(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// Lowercase hex, two digits a byte.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed bytes: this fails if anything uses native order on a big-endian
    /// host (the router) or a little-endian one.
    #[test]
    fn byte_order_is_fixed_not_native() {
        let mut w = Writer::new();
        w.u16le(0x1234).u32le(0xdeadbeef).u64le(0x0102030405060708);
        w.u16be(0x1234).u32be(0xdeadbeef);
        assert_eq!(
            w.buf,
            [
                0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 8, 7, 6, 5, 4, 3, 2, 1, 0x12, 0x34, 0xde, 0xad,
                0xbe, 0xef
            ]
        );
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u16le(), Ok(0x1234));
        assert_eq!(r.u32le(), Ok(0xdeadbeef));
        assert_eq!(r.u64le(), Ok(0x0102030405060708));
        assert_eq!(r.u16be(), Ok(0x1234));
        assert_eq!(r.u32be(), Ok(0xdeadbeef));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn host_order_is_what_cfg_says() {
        let native = 0x0102u16.to_ne_bytes();
        if cfg!(target_endian = "big") {
            assert_eq!(native, [1, 2]);
        } else {
            assert_eq!(native, [2, 1]);
        }
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16le(), Ok(0x0201));
        assert_eq!(r.u32le(), Err(Short { at: 2, need: 4 }));
        assert_eq!(
            r.bytes(usize::MAX),
            Err(Short {
                at: 2,
                need: usize::MAX
            })
        );
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.u8(), Err(Short { at: 3, need: 1 }));
    }

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }
}
