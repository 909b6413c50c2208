//! The key file's outer layer: a fixed 64-byte header, then the payload
//! sealed with ChaCha20-Poly1305 under a key derived from the passphrase.
//!
//! ```text
//! off len field
//!   0   8 magic "WKEYFS\r\n" (the CR LF catches text-mode mangling)
//!   8   1 format version (1)
//!   9   1 KDF id (1 = PBKDF2-HMAC-SHA256)
//!  10   1 AEAD id (1 = ChaCha20-Poly1305)
//!  11   1 reserved, 0
//!  12   4 KDF iterations, little-endian
//!  16  16 KDF salt
//!  32  16 key check: HMAC-SHA256(derived, "warden keyfs check")[..16]
//!  48  12 AEAD nonce (fresh random on every write)
//!  60   4 ciphertext length including the 16-byte tag, little-endian
//!  64   n ciphertext || tag; the AAD is bytes 0..64
//! ```
//!
//! The key check tells a wrong passphrase (check differs) from a damaged or
//! tampered file (check matches, tag does not). The AEAD key is
//! HMAC-SHA256(derived, "warden keyfs aead"), so the check reveals nothing
//! about it. Raising the iteration count later needs only a re-seal: the
//! count travels in the header.

use super::KeyfsError;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hmac::{Hmac, Mac};
use std::path::Path;
use zeroize::Zeroizing;

pub const MAGIC: &[u8; 8] = b"WKEYFS\r\n";
pub const VERSION: u8 = 1;
pub const KDF_PBKDF2_SHA256: u8 = 1;
pub const AEAD_CHACHA20POLY1305: u8 = 1;
pub const HEADER_LEN: usize = 64;
pub const TAG_LEN: usize = 16;
pub const SALT_LEN: usize = 16;
/// Default PBKDF2-HMAC-SHA256 iterations: about a second on a 400 MHz
/// MIPS 24Kc. One iteration executes about 8,800 instructions in the mips
/// build (counted under qemu); at 1.3 cycles per instruction that is
/// 35,000 iterations a second. See bench/keyfs/README.md.
pub const DEFAULT_ITERATIONS: u32 = 35_000;
/// Fewer iterations than this are refused (except by tests).
pub const MIN_ITERATIONS: u32 = 1_000;

/// Fill `buf` from the kernel's random source.
pub fn random(buf: &mut [u8]) -> Result<(), KeyfsError> {
    crate::sys::random::fill(buf)
        .map_err(|e| KeyfsError::io("read random bytes from", Path::new("getrandom(2)"), e))
}

/// A derived master key with the parameters that produced it. Zeroized on
/// drop; never printed.
#[derive(Clone)]
pub struct MasterKey {
    pub iterations: u32,
    pub salt: [u8; SALT_LEN],
    derived: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(iterations={}, <secret>)", self.iterations)
    }
}

fn hmac256(key: &[u8], msg: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mut m) = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key) {
        m.update(msg);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

impl MasterKey {
    /// Run the KDF (the slow part of unlocking).
    pub fn derive(pass: &[u8], salt: [u8; SALT_LEN], iterations: u32) -> MasterKey {
        let mut derived = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pass, &salt, iterations, &mut derived[..]);
        MasterKey {
            iterations,
            salt,
            derived,
        }
    }

    /// A fresh salt, then derive.
    pub fn new(pass: &[u8], iterations: u32) -> Result<MasterKey, KeyfsError> {
        let mut salt = [0u8; SALT_LEN];
        random(&mut salt)?;
        Ok(MasterKey::derive(pass, salt, iterations))
    }

    fn check(&self) -> [u8; 16] {
        let h = hmac256(&self.derived[..], b"warden keyfs check");
        let mut c = [0u8; 16];
        c.copy_from_slice(&h[..16]);
        c
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        let k = hmac256(&self.derived[..], b"warden keyfs aead");
        let key = chacha20poly1305::Key::from(*k);
        ChaCha20Poly1305::new(&key)
    }
}

/// The header fields, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub iterations: u32,
    pub salt: [u8; SALT_LEN],
    pub check: [u8; 16],
    pub nonce: [u8; 12],
    pub ct_len: u32,
}

/// Parse and check the header of a key file read from `path`.
pub fn parse_header(path: &Path, data: &[u8]) -> Result<Header, KeyfsError> {
    let corrupt = |d: String| KeyfsError::Corrupt {
        path: path.to_path_buf(),
        detail: d,
    };
    if data.is_empty() {
        return Err(corrupt("the file is empty".into()));
    }
    if data.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, the header alone is {HEADER_LEN}",
            data.len()
        )));
    }
    let mut r = crate::wire::Reader::new(data);
    let bad = |e: crate::wire::Short| corrupt(e.to_string());
    if r.bytes(8).map_err(bad)? != MAGIC {
        return Err(corrupt("not a warden key file (bad magic)".into()));
    }
    let version = r.u8().map_err(bad)?;
    if version != VERSION {
        return Err(KeyfsError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let kdf = r.u8().map_err(bad)?;
    let aead = r.u8().map_err(bad)?;
    let _reserved = r.u8().map_err(bad)?;
    if kdf != KDF_PBKDF2_SHA256 {
        return Err(corrupt(format!("unknown KDF id {kdf}")));
    }
    if aead != AEAD_CHACHA20POLY1305 {
        return Err(corrupt(format!("unknown AEAD id {aead}")));
    }
    let iterations = r.u32le().map_err(bad)?;
    if iterations == 0 {
        return Err(corrupt("KDF iteration count is 0".into()));
    }
    let salt = r.array().map_err(bad)?;
    let check = r.array().map_err(bad)?;
    let nonce = r.array().map_err(bad)?;
    let ct_len = r.u32le().map_err(bad)?;
    let have = data.len() - HEADER_LEN;
    if (ct_len as usize) < TAG_LEN || ct_len as usize != have {
        return Err(corrupt(format!(
            "truncated or padded: header says {ct_len} bytes of ciphertext, file has {have}"
        )));
    }
    Ok(Header {
        version,
        iterations,
        salt,
        check,
        nonce,
        ct_len,
    })
}

/// Decrypt a key file with a derived key; checks the header first.
pub fn open(path: &Path, data: &[u8], key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyfsError> {
    let h = parse_header(path, data)?;
    if h.salt != key.salt
        || h.iterations != key.iterations
        || !crate::auth::ct_eq(&h.check, &key.check())
    {
        return Err(KeyfsError::WrongPassphrase(path.to_path_buf()));
    }
    let (aad, rest) = data.split_at(HEADER_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut buf = Zeroizing::new(ct.to_vec());
    let nonce = chacha20poly1305::Nonce::from(h.nonce);
    let tag = chacha20poly1305::Tag::try_from(tag)
        .map_err(|_| KeyfsError::Tampered(path.to_path_buf()))?;
    key.cipher()
        .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
        .map_err(|_| KeyfsError::Tampered(path.to_path_buf()))?;
    Ok(buf)
}

/// Seal a payload into a complete key file image.
pub fn seal(key: &MasterKey, plain: &[u8]) -> Result<Vec<u8>, KeyfsError> {
    let mut nonce = [0u8; 12];
    random(&mut nonce)?;
    let ct_len = u32::try_from(plain.len() + TAG_LEN)
        .map_err(|_| KeyfsError::Invalid("database too large".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, KDF_PBKDF2_SHA256, AEAD_CHACHA20POLY1305, 0]);
    out.extend_from_slice(&key.iterations.to_le_bytes());
    out.extend_from_slice(&key.salt);
    out.extend_from_slice(&key.check());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct_len.to_le_bytes());
    out.extend_from_slice(plain);
    let (aad, body) = out.split_at_mut(HEADER_LEN);
    let tag = key
        .cipher()
        .encrypt_inout_detached(&chacha20poly1305::Nonce::from(nonce), aad, body.into())
        .map_err(|_| KeyfsError::Invalid("database too large".into()))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::derive(b"secret", [7; SALT_LEN], 10)
    }

    #[test]
    fn seal_open_round_trip() {
        let k = key();
        let f = seal(&k, b"hello").unwrap();
        assert_eq!(f.len(), HEADER_LEN + 5 + TAG_LEN);
        assert_eq!(&open(Path::new("k"), &f, &k).unwrap()[..], b"hello");
        // Fresh nonce each time.
        assert_ne!(seal(&k, b"hello").unwrap(), f);
    }

    #[test]
    fn wrong_key_is_reported_as_such() {
        let f = seal(&key(), b"hello").unwrap();
        let other = MasterKey::derive(b"guess", [7; SALT_LEN], 10);
        assert!(matches!(
            open(Path::new("k"), &f, &other),
            Err(KeyfsError::WrongPassphrase(_))
        ));
    }

    #[test]
    fn every_flipped_byte_after_the_check_is_tampering() {
        let k = key();
        let f = seal(&k, b"hello world").unwrap();
        for i in 48..f.len() {
            let mut g = f.clone();
            g[i] ^= 0x01;
            let e = open(Path::new("k"), &g, &k).unwrap_err();
            let ok = matches!(e, KeyfsError::Tampered(_))
                || ((60..64).contains(&i) && matches!(e, KeyfsError::Corrupt { .. }));
            assert!(ok, "byte {i}: {e}");
        }
        // Header bytes before the check: corrupt, wrong version or wrong key.
        for i in 0..48 {
            let mut g = f.clone();
            g[i] ^= 0x01;
            assert!(open(Path::new("k"), &g, &k).is_err(), "byte {i}");
        }
    }

    #[test]
    fn truncated_empty_and_version() {
        let k = key();
        let f = seal(&k, b"hello").unwrap();
        for n in 0..f.len() {
            let e = open(Path::new("k"), &f[..n], &k).unwrap_err();
            assert!(matches!(e, KeyfsError::Corrupt { .. }), "{n}: {e}");
        }
        let e = open(Path::new("k"), &[], &k).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let mut g = f.clone();
        g[8] = 2;
        let e = open(Path::new("k"), &g, &k).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
    }
}
