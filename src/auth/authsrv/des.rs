//! Plan 9's DES as its auth protocols use it (libsec `encrypt`/`decrypt`):
//! 7-byte keys expanded to DES's 8 (`des56to64`), and buffers of any length
//! of at least 8 bytes enciphered with overlapping blocks that step by 7
//! bytes, the last block aligned to the end of the buffer.

use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::Des;
use zeroize::Zeroizing;

use super::wire::ANAMELEN;

/// Plan 9's 7-byte DES key length (DESKEYLEN).
pub const DESKEYLEN: usize = 7;

/// Expand a 7-byte key to DES's 8 bytes, 7 key bits per byte and an odd
/// parity bit at the bottom (libsec `des56to64`).
pub fn des56to64(k56: &[u8; DESKEYLEN]) -> [u8; 8] {
    let hi = u32::from_be_bytes([k56[0], k56[1], k56[2], k56[3]]);
    let lo = u32::from_be_bytes([k56[4], k56[5], k56[6], 0]);
    let seven = [
        hi >> 25,
        hi >> 18,
        hi >> 11,
        hi >> 4,
        (hi << 3) | (lo >> 29),
        lo >> 22,
        lo >> 15,
        lo >> 8,
    ];
    seven.map(|v| {
        let v = (v & 0x7f) as u8;
        // Odd parity over the byte, in its lowest bit.
        (v << 1) | ((v.count_ones() as u8 + 1) & 1)
    })
}

fn cipher(key: &[u8; DESKEYLEN]) -> Des {
    // A DES key is always 8 bytes, so this cannot fail.
    Des::new(&des56to64(key).into())
}

/// Encipher (or decipher) the 8 bytes at `at`; the caller checked the length.
fn block(c: &Des, buf: &mut [u8], at: usize, decrypt: bool) {
    let mut b = des::cipher::Block::<Des>::default();
    b.copy_from_slice(&buf[at..at + 8]);
    if decrypt {
        c.decrypt_block(&mut b);
    } else {
        c.encrypt_block(&mut b);
    }
    buf[at..at + 8].copy_from_slice(&b);
    zeroize::Zeroize::zeroize(&mut b[..]);
}

fn blocks(len: usize) -> (usize, usize) {
    let n = len - 1;
    (n / 7, n % 7)
}

/// Encrypt `buf` in place. Returns false (and leaves it alone) when it is
/// shorter than 8 bytes, as Plan 9's `encrypt` does.
pub fn encrypt(key: &[u8; DESKEYLEN], buf: &mut [u8]) -> bool {
    if buf.len() < 8 {
        return false;
    }
    let c = cipher(key);
    let (n, r) = blocks(buf.len());
    for i in 0..n {
        block(&c, buf, i * 7, false);
    }
    if r != 0 {
        block(&c, buf, n * 7 - 7 + r, false);
    }
    true
}

/// The inverse of [`encrypt`].
pub fn decrypt(key: &[u8; DESKEYLEN], buf: &mut [u8]) -> bool {
    if buf.len() < 8 {
        return false;
    }
    let c = cipher(key);
    let (n, r) = blocks(buf.len());
    if r != 0 {
        block(&c, buf, n * 7 - 7 + r, true);
    }
    for i in (0..n).rev() {
        block(&c, buf, i * 7, true);
    }
    true
}

/// Plan 9's passtokey (libauthsrv/passtokey.c): a password to a DES key.
/// Only the first 27 bytes count. The keyfs stores it for each account;
/// p9sk1 clients and the ticket service derive it from a password.
pub fn passtokey(pw: &[u8]) -> [u8; DESKEYLEN] {
    let mut buf = Zeroizing::new([b' '; ANAMELEN]);
    let mut n = pw.len().min(ANAMELEN - 1);
    buf[..n].copy_from_slice(&pw[..n]);
    buf[n] = 0;
    let mut key = [0u8; DESKEYLEN];
    let mut t = 0usize;
    loop {
        for i in 0..DESKEYLEN {
            key[i] = (buf[t + i] >> i).wrapping_add(buf[t + i + 1] << (8 - (i + 1)));
        }
        if n <= 8 {
            return key;
        }
        n -= 8;
        t += 8;
        if n < 8 {
            t -= 8 - n;
            n = 8;
        }
        let mut block = [0u8; 8];
        block.copy_from_slice(&buf[t..t + 8]);
        encrypt(&key, &mut block);
        buf[t..t + 8].copy_from_slice(&block);
        zeroize::Zeroize::zeroize(&mut block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn key_expansion_matches_libsec() {
        // Each 7-bit group lands in the top of a byte with odd parity.
        assert_eq!(des56to64(&[0; 7]), [1; 8]);
        assert_eq!(des56to64(&[0xff; 7]), [0xfe; 8]);
        assert_eq!(
            des56to64(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd]),
            hex("0191d0ad794cae9b").as_slice()
        );
    }

    /// Vectors from tests/vectors/plan9_des.py (Python's `cryptography`
    /// DES, an independent implementation), checked in.
    #[test]
    fn known_answers() {
        for (key, plain, cipher) in VECTORS {
            let key: [u8; 7] = hex(key).try_into().unwrap();
            let mut buf = hex(plain);
            assert!(encrypt(&key, &mut buf));
            assert_eq!(buf, hex(cipher), "encrypt {plain}");
            assert!(decrypt(&key, &mut buf));
            assert_eq!(buf, hex(plain), "decrypt {cipher}");
        }
    }

    #[test]
    fn short_buffers_are_left_alone() {
        let mut b = [1u8; 7];
        assert!(!encrypt(&[0; 7], &mut b));
        assert_eq!(b, [1u8; 7]);
        assert!(!decrypt(&[0; 7], &mut b));
    }

    #[test]
    fn every_length_round_trips() {
        let key = [9, 8, 7, 6, 5, 4, 3];
        for len in 8..200 {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let mut b = plain.clone();
            encrypt(&key, &mut b);
            assert_ne!(b, plain);
            decrypt(&key, &mut b);
            assert_eq!(b, plain, "len {len}");
        }
    }

    include!("des_vectors.rs");

    /// Expected values computed independently with tests/peers/passtokey.py
    /// (a transcription of passtokey.c using OpenSSL's DES).
    #[test]
    fn des_key_matches_plan9() {
        for (pw, want) in PASSTOKEY_VECTORS {
            assert_eq!(crate::wire::hex(&passtokey(pw.as_bytes())), *want, "{pw:?}");
        }
    }

    const PASSTOKEY_VECTORS: &[(&str, &str)] = &[
        ("password", "f0f07c7e7fcbc9"),
        ("a", "61000804028140"),
        ("glenda12", "6776d94d0ec764"),
        ("glenda123", "106d0326ce7fad"),
        ("correct horse battery", "9eced0c1df935d"),
        ("abcdefghijklmnopqrstuvwxyz0123456789", "a18a9bb7091172"),
        ("x1234567y1234567z", "74cf5083f0a825"),
    ];
}
