//! HOTP (RFC 4226) and TOTP (RFC 6238) codes with HMAC-SHA1, and the
//! base32 secrets they are stored as (`!secret=`, as plan9port's totp.c).

use crate::auth::factotum::keystore::Key;
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// The HOTP value of `counter` with `digits` digits (6 to 8).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut m) = hmac::Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return 0;
    };
    m.update(&counter.to_be_bytes());
    let d = m.finalize().into_bytes();
    let off = usize::from(d.get(19).copied().unwrap_or(0) & 0xf);
    let b = |i: usize| u32::from(d.get(off + i).copied().unwrap_or(0));
    let h = ((b(0) & 0x7f) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    h % 10u32.pow(digits.min(9))
}

/// A code as text, zero-padded to `digits`.
pub fn code_text(code: u32, digits: u32) -> String {
    format!("{:0width$}", code, width = digits as usize)
}

/// Decode RFC 4648 base32 (upper or lower case, `=` padding optional).
pub fn base32_decode(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let s = s.trim_end_matches('=');
    if matches!(s.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(s.len() * 5 / 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The settings of an OTP key.
pub struct Params {
    pub secret: Zeroizing<Vec<u8>>,
    pub digits: u32,
    /// TOTP step in seconds.
    pub period: u64,
    /// How far a server looks ahead (HOTP) or either side (TOTP).
    pub window: u64,
    /// HOTP: the next counter value.
    pub counter: u64,
}

/// Read and check an OTP key's attributes.
pub fn params(k: &Key, default_window: u64) -> Result<Params, String> {
    let s = k.secret("!secret").ok_or("key has no secret")?;
    let secret = base32_decode(s).ok_or("malformed secret")?;
    let digits = super::num_attr(&k.attr, "digits", 6u32)?;
    if !(6..=8).contains(&digits) {
        return Err(format!("bad digits={digits}: want 6, 7 or 8"));
    }
    let period = super::num_attr(&k.attr, "period", 30u64)?;
    if period == 0 {
        return Err("bad period=0".into());
    }
    let window = super::num_attr(&k.attr, "window", default_window)?;
    if window > 1000 {
        return Err(format!("bad window={window}: at most 1000"));
    }
    let counter = super::num_attr(&k.attr, "counter", 0u64)?;
    Ok(Params {
        secret,
        digits,
        period,
        window,
        counter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(
                hotp(b"12345678901234567890", c as u64, 6),
                *w,
                "counter {c}"
            );
        }
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        let k = b"12345678901234567890";
        for (t, w) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_text(hotp(k, t / 30, 8), 8), format!("{w:08}"));
        }
    }

    #[test]
    fn base32() {
        assert_eq!(
            &base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap()[..],
            b"12345678901234567890"
        );
        assert_eq!(&base32_decode("mzxw6ytboi======").unwrap()[..], b"foobar");
        assert_eq!(&base32_decode("MZXW6").unwrap()[..], b"foo");
        assert!(base32_decode("M").is_none());
        assert!(base32_decode("MZ1W").is_none());
    }
}
