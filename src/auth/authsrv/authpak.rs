//! 9front's AuthPAK (libauthsrv authpak.c): a password-authenticated
//! Diffie-Hellman exchange on Ed448 (SPAKE2-EE) between a party and the
//! auth server, which both hold the user's AES key. Sans-IO; randomness
//! comes from the caller.
//!
//! ```text
//! hash:    h = HKDF-SHA256(salt SHA256(user), ikm aeskey[16],
//!                          info "Plan 9 AuthPAK hash", 112 bytes)
//!          PM = Elligator2(h[0..56] mod p), PN = Elligator2(h[56..112])
//! new:     x random in [0, p); Y = decaf(x G + P), P = PM for the client
//!          (who asks for tickets), PN for the server side
//! finish:  Z = decaf(x (decode(Ypeer) - Ppeer)), Ppeer the other point;
//!          pakkey = HKDF-SHA256(salt SHA256(Yclient || Yserver), ikm Z,
//!                               info "Plan 9 AuthPAK key", 32 bytes)
//! ```
//!
//! A wrong password gives both ends different pakkeys; nothing in the
//! exchange tells either which (tickets sealed under the pakkey then fail
//! to open). A Y that does not decode fails `finish`.

use super::ed448::{self, Point, LEN};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// 9front's AES key length (passtoaeskey).
pub const AESKEYLEN: usize = 16;
/// An encoded public key.
pub const PAKYLEN: usize = LEN;
/// The shared key.
pub const PAKKEYLEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// RFC 5869 HKDF with HMAC-SHA256 (libsec's hkdf_x): `out.len()` bytes.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let mac = |key: &[u8]| <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    let mut m = mac(salt);
    m.update(ikm);
    let prk: Zeroizing<[u8; 32]> = Zeroizing::new(m.finalize().into_bytes().into());
    let mut t = Zeroizing::new(Vec::new());
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut m = mac(&prk[..]);
        m.update(&t);
        m.update(info);
        m.update(&[(i + 1) as u8]);
        let block: Zeroizing<[u8; 32]> = Zeroizing::new(m.finalize().into_bytes().into());
        chunk.copy_from_slice(&block[..chunk.len()]);
        t.clear();
        t.extend_from_slice(&block[..]);
    }
}

/// The AuthInfo secret of a dp9ik exchange (9front factotum's
/// `establish`): 256 bytes by HKDF-SHA256 from the ticket key, salted with
/// the client's and the server's authenticator randoms.
pub fn session_secret(crand: &[u8; 32], srand: &[u8; 32], key: &[u8; 32]) -> Zeroizing<[u8; 256]> {
    let mut salt = Zeroizing::new([0u8; 64]);
    salt[..32].copy_from_slice(crand);
    salt[32..].copy_from_slice(srand);
    let mut out = Zeroizing::new([0u8; 256]);
    hkdf_sha256(&salt[..], key, b"Plan 9 session secret", &mut out[..]);
    out
}

/// The user's two password points (9front's `Authkey.pakhash`). Derived
/// from the AES key: as secret as the key itself.
pub struct PakHash {
    pm: Point,
    pn: Point,
}

impl Drop for PakHash {
    fn drop(&mut self) {
        self.pm.zeroize();
        self.pn.zeroize();
    }
}

impl PakHash {
    /// 9front's authpak_hash(key, user).
    pub fn new(aes: &[u8; AESKEYLEN], user: &str) -> PakHash {
        let salt: [u8; 32] = Sha256::digest(user.as_bytes()).into();
        let mut h = Zeroizing::new([0u8; 2 * LEN]);
        hkdf_sha256(&salt, aes, b"Plan 9 AuthPAK hash", &mut h[..]);
        let mut hm = Zeroizing::new([0u8; LEN]);
        let mut hn = Zeroizing::new([0u8; LEN]);
        hm.copy_from_slice(&h[..LEN]);
        hn.copy_from_slice(&h[LEN..]);
        PakHash {
            pm: Point::from_hash(&hm),
            pn: Point::from_hash(&hn),
        }
    }

    /// 9front's layout (X, Y, Z, T of PM, then of PN, big-endian): for
    /// comparing with its vectors.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(8 * LEN));
        for p in [&self.pm, &self.pn] {
            for f in [p.x, p.y, p.z, p.t] {
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
        out
    }

    fn point(&self, client: bool) -> &Point {
        if client {
            &self.pm
        } else {
            &self.pn
        }
    }
}

/// Why a PAK exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PakError {
    /// The peer's public key has the wrong length.
    Length(usize),
    /// The peer's public key is not a valid encoding.
    BadKey,
}

impl fmt::Display for PakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PakError::Length(n) => write!(f, "PAK key: need {PAKYLEN} bytes, got {n}"),
            PakError::BadKey => write!(f, "PAK key does not decode"),
        }
    }
}

impl std::error::Error for PakError {}

/// One side of an exchange in progress (9front's `PAKpriv`).
pub struct PakPriv {
    client: bool,
    x: Zeroizing<[u8; LEN]>,
    y: [u8; PAKYLEN],
}

/// p, big-endian: scalars are drawn below it (mpnrand).
const P_BYTES: [u8; LEN] = {
    let mut b = [0xff; LEN];
    b[27] = 0xfe;
    b
};

impl PakPriv {
    /// 9front's authpak_new: a fresh secret from `random`, and the public
    /// key to send ([`PakPriv::y`]).
    pub fn new(hash: &PakHash, client: bool, random: &mut dyn FnMut(&mut [u8])) -> PakPriv {
        let mut x = Zeroizing::new([0u8; LEN]);
        // uniform in [1, p): p is all but 2^-224 of 2^448, so a retry is
        // practically never needed (compare as big-endian integers)
        loop {
            random(&mut x[..]);
            if x[..] < P_BYTES[..] && x.iter().any(|&b| b != 0) {
                break;
            }
        }
        PakPriv::with_secret(hash, client, x)
    }

    /// The same with a given secret (known-answer tests).
    pub fn with_secret(hash: &PakHash, client: bool, x: Zeroizing<[u8; LEN]>) -> PakPriv {
        let y = ed448::spake2ee_1(&x, hash.point(client));
        PakPriv { client, x, y }
    }

    /// The public key for the peer.
    pub fn y(&self) -> &[u8; PAKYLEN] {
        &self.y
    }

    /// 9front's authpak_finish: the shared key from the peer's public key.
    pub fn finish(
        self,
        hash: &PakHash,
        peer: &[u8],
    ) -> Result<Zeroizing<[u8; PAKKEYLEN]>, PakError> {
        let peer: &[u8; PAKYLEN] = peer.try_into().map_err(|_| PakError::Length(peer.len()))?;
        let z = Zeroizing::new(
            ed448::spake2ee_2(hash.point(!self.client), &self.x, peer).ok_or(PakError::BadKey)?,
        );
        let (yc, ys) = if self.client {
            (&self.y, peer)
        } else {
            (peer, &self.y)
        };
        let mut h = Sha256::new();
        h.update(yc);
        h.update(ys);
        let salt: [u8; 32] = h.finalize().into();
        let mut key = Zeroizing::new([0u8; PAKKEYLEN]);
        hkdf_sha256(&salt, &z[..], b"Plan 9 AuthPAK key", &mut key[..]);
        Ok(key)
    }
}

#[cfg(test)]
mod tests;
