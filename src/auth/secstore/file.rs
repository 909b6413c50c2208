//! How a secstore client encrypts the files it stores (plan9port
//! secstore.c putfile/getfile, libsec aesCBC), sans-IO. The server never
//! sees a file in the clear.
//!
//! ```text
//! key     SHA1("aescbc file" || password), first 16 bytes (AES-128)
//! stored  CBC(IV, IV || data || "XXXXXXXXXXXXXXXX")   (IV: 16 bytes)
//!         so the first block is E(0); decryption takes it as the IV
//! CBC     Plan 9's: a trailing partial block is XORed with E(last
//!         cipher block), no padding
//! ```

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use sha1::{Digest, Sha1};
use zeroize::{Zeroize, Zeroizing};

const B: usize = 16;
const CHECK: &[u8; B] = b"XXXXXXXXXXXXXXXX";

fn cipher(password: &[u8]) -> aes::Aes128 {
    let mut h = Sha1::new();
    h.update(b"aescbc file");
    h.update(password);
    let mut k = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
    let mut key = [0u8; B];
    key.copy_from_slice(&k[..B]);
    k.zeroize();
    let c = aes::Aes128::new(&key.into());
    key.zeroize();
    c
}

fn enc(c: &aes::Aes128, b: &mut [u8; B]) {
    let mut blk = aes::Block::from(*b);
    c.encrypt_block(&mut blk);
    b.copy_from_slice(&blk);
    blk.zeroize();
}

/// Encrypt `data` for storing (the bytes a PUT sends).
pub fn seal(password: &[u8], data: &[u8], iv: [u8; B]) -> Vec<u8> {
    let c = cipher(password);
    let mut buf = Vec::with_capacity(data.len() + 2 * B);
    buf.extend_from_slice(&iv);
    buf.extend_from_slice(data);
    buf.extend_from_slice(CHECK);
    let mut ivec = iv;
    let mut chunks = buf.chunks_exact_mut(B);
    for blk in &mut chunks {
        let mut b = [0u8; B];
        for i in 0..B {
            b[i] = blk[i] ^ ivec[i];
        }
        enc(&c, &mut b);
        blk.copy_from_slice(&b);
        ivec = b;
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        enc(&c, &mut ivec);
        for (t, k) in tail.iter_mut().zip(ivec) {
            *t ^= k;
        }
    }
    buf
}

/// Why a stored file did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than its IV and check block.
    Short(usize),
    /// The check block is wrong: another password, or damaged.
    Check,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Short(n) => {
                write!(f, "a stored file of {n} bytes is too short (at least 32)")
            }
            OpenError::Check => {
                f.write_str("decrypted file failed to authenticate (another password?)")
            }
        }
    }
}

/// Decrypt a stored file (what a GET brought).
pub fn open(password: &[u8], stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    use aes::cipher::BlockCipherDecrypt;
    if stored.len() < 2 * B {
        return Err(OpenError::Short(stored.len()));
    }
    let c = cipher(password);
    let mut ivec = [0u8; B];
    ivec.copy_from_slice(&stored[..B]);
    let mut out = Zeroizing::new(stored[B..].to_vec());
    let mut chunks = out.chunks_exact_mut(B);
    for blk in &mut chunks {
        let mut next = [0u8; B];
        next.copy_from_slice(blk);
        let mut b = aes::Block::from(next);
        c.decrypt_block(&mut b);
        for i in 0..B {
            blk[i] = b[i] ^ ivec[i];
        }
        b.zeroize();
        ivec = next;
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        enc(&c, &mut ivec);
        for (t, k) in tail.iter_mut().zip(ivec) {
            *t ^= k;
        }
    }
    let n = out.len() - B;
    if !crate::auth::ct_eq(&out[n..], CHECK) {
        return Err(OpenError::Check);
    }
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_lengths_and_wrong_password() {
        for n in [0usize, 1, 15, 16, 17, 100, 4080, 4081, 5000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let s = seal(b"pw", &data, [7; 16]);
            assert_eq!(s.len(), n + 32);
            assert_eq!(&open(b"pw", &s).unwrap()[..], &data[..]);
            assert_eq!(open(b"other", &s), Err(OpenError::Check));
        }
        assert_eq!(open(b"pw", &[0; 31]), Err(OpenError::Short(31)));
        // the first block is E(0) whatever the IV
        assert_eq!(
            seal(b"pw", b"a", [1; 16])[..16],
            seal(b"pw", b"b", [2; 16])[..16]
        );
    }
}
