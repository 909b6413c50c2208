//! The Inferno signer's key: RSA as libsec makes and uses it (rsagen,
//! rsadecrypt: raw RSA with the Chinese remainder theorem, no padding)
//! and the Diffie-Hellman group logind hands to clients; on the shared
//! big-number module. Randomness comes in as a function.

use super::keyring::{self, Certificate, PublicKey, RsaSecret, SecretKey};
use crate::auth::bignum::{Modulus, Nat};
use zeroize::Zeroizing;

/// createsignerkey's default modulus size.
pub const DEFAULT_BITS: usize = 1024;
/// The public exponent (libsec's rsagen draws a small random one; any
/// odd exponent prime to phi verifies the same).
pub const E: u32 = 65537;

/// The Diffie-Hellman group: RFC 2409's 1024-bit MODP group (Oakley
/// group 2), a safe prime with generator 2. createsignerkey makes a new
/// 1024-bit prime (DSAprimes) per signer; clients take whatever p and
/// alpha logind sends (they check only that alpha has 2 to p's bits).
pub const DH_P: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
pub const DH_ALPHA: u32 = 2;

/// The DH group as big-endian bytes (alpha, p).
pub fn dh_group() -> (Vec<u8>, Vec<u8>) {
    (vec![DH_ALPHA as u8], crate::auth::dec16(DH_P.as_bytes()))
}

pub(super) fn nat(b: &[u8]) -> Nat {
    Nat::from_be_bytes(b).unwrap_or(Nat::ZERO)
}

/// base^exp mod m for an odd m (the DH group's prime); zero for a bad
/// modulus.
pub fn modexp_be(base: &[u8], exp: &[u8], m: &[u8], secret_exp: bool) -> Vec<u8> {
    let Some(md) = Modulus::new(&nat(m)) else {
        return vec![0];
    };
    let e = nat(exp);
    let r = if secret_exp {
        md.pow_ct(&nat(base), &e, 8 * exp.len())
    } else {
        md.pow(&nat(base), &e)
    };
    r.to_be_vec()
}

/// The signer: its secret key (RSA or ElGamal) and the DH group it
/// serves.
#[derive(Clone)]
pub struct Signer {
    pub sk: SecretKey,
    pub alpha: Vec<u8>,
    pub p: Vec<u8>,
}

/// Raw RSA signature of a number (rsadecrypt: Garner's CRT).
pub fn sign_num(k: &RsaSecret, m: &[u8]) -> Vec<u8> {
    let (p, q) = (nat(&k.p), nat(&k.q));
    let (Some(mp), Some(mq)) = (Modulus::new(&p), Modulus::new(&q)) else {
        return vec![0];
    };
    let m = nat(m);
    let v1 = mp.pow_ct(&mp.reduce(&m), &nat(&k.kp), 8 * k.p.len());
    let v2 = mq.pow_ct(&mq.reduce(&m), &nat(&k.kq), 8 * k.q.len());
    // out = v1 + p * ((v2 - v1) * c2 mod q)
    let d = mq.sub(&v2, &mq.reduce(&v1));
    let h = mq.mul(&d, &mq.reduce(&nat(&k.c2)));
    let out = p.mul(&h).and_then(|x| x.add(&v1)).unwrap_or(Nat::ZERO);
    out.to_be_vec()
}

impl Signer {
    pub fn public(&self) -> PublicKey {
        self.sk.public()
    }

    /// Certify a public key's text (exactly as the client sent it) until
    /// `exp` (0: never), as logind does: SHA1 of the text, then of
    /// "SIGNER EXP", signed (ElGamal draws its k from `rng`).
    pub fn certify(&self, pk_text: &[u8], exp: i32, rng: &mut dyn FnMut(&mut [u8])) -> Certificate {
        let owner = match &self.sk {
            SecretKey::Rsa(k) => &k.owner,
            SecretKey::Elgamal(k) => &k.owner,
        };
        let d = keyring::cert_digest(pk_text, owner, exp);
        let (alg, sig) = match &self.sk {
            SecretKey::Rsa(k) => ("rsa", vec![sign_num(k, &d)]),
            SecretKey::Elgamal(k) => {
                let (r, s) = super::elgamal::sign(k, &d, rng);
                ("elgamal", vec![r, s])
            }
        };
        Certificate {
            alg: alg.into(),
            hash: "sha1".into(),
            signer: owner.clone(),
            exp,
            sig,
        }
    }

    /// Check a certificate against this signer's public key.
    pub fn verify(&self, pk_text: &[u8], c: &Certificate) -> bool {
        check(&self.public(), pk_text, c, 0).is_ok()
    }
}

/// What Inferno's `Keyring->auth` asks of the peer's certificate for its
/// public key's text `pk_text`: signed by `spk` (same algorithm, SHA1 over
/// the text and "SIGNER EXP"), and unexpired at `now` (exp 0: never).
/// The errors are keyring.c's.
pub fn check(
    spk: &PublicKey,
    pk_text: &[u8],
    c: &Certificate,
    now: i64,
) -> Result<(), &'static str> {
    let d = keyring::cert_digest(pk_text, &c.signer, c.exp);
    let signed = matches!(c.hash.as_str(), "sha1" | "sha")
        && match (spk.alg.as_str(), c.alg.as_str(), &spk.nums[..], &c.sig[..]) {
            ("rsa", "rsa", [n, ek], [s]) => modexp_be(s, ek, n, false) == keyring::trim(&d),
            ("elgamal", "elgamal", [p, alpha, y], [r, s]) => {
                super::elgamal::verify(p, alpha, y, r, s, &d)
            }
            _ => false,
        };
    if !signed {
        return Err("pk doesn't match certificate");
    }
    if c.exp != 0 && i64::from(c.exp) <= now {
        return Err("certificate expired");
    }
    Ok(())
}

const SMALL_PRIMES: usize = 300;

pub(super) fn small_primes() -> Vec<u32> {
    let mut v = Vec::with_capacity(SMALL_PRIMES);
    let mut n = 3u32;
    while v.len() < SMALL_PRIMES {
        if v.iter().take_while(|&&p| p * p <= n).all(|&p| n % p != 0) {
            v.push(n);
        }
        n += 2;
    }
    v
}

pub(super) fn rem_small(be: &[u8], d: u32) -> u32 {
    be.iter().fold(0u32, |r, &b| {
        ((u64::from(r) << 8 | u64::from(b)) % u64::from(d)) as u32
    })
}

/// Miller-Rabin with `rounds` random bases: false for a composite,
/// true for a probable prime. `n` odd and > 3.
pub fn probable_prime(n: &Nat, rounds: usize, rng: &mut dyn FnMut(&mut [u8])) -> bool {
    let Some(md) = Modulus::new(n) else {
        return false;
    };
    let one = Nat::from_u32(1);
    let Some(n1) = n.sub(&one) else {
        return false;
    };
    let mut s = 0;
    while !n1.bit(s) {
        s += 1;
    }
    let d = n1.shr(s);
    let bytes = n.bytes();
    for _ in 0..rounds {
        let mut b = Zeroizing::new(vec![0u8; bytes]);
        rng(&mut b);
        let a = md.reduce(&nat(&b));
        if a.bits() < 2 || a == n1 {
            continue;
        }
        let mut x = md.pow(&a, &d);
        if x == one || x == n1 {
            continue;
        }
        let mut witness = true;
        for _ in 1..s {
            x = md.mul(&x, &x);
            if x == n1 {
                witness = false;
                break;
            }
        }
        if witness {
            return false;
        }
    }
    true
}

/// A random prime of exactly `bits` bits with its top two bits set (so
/// two of them multiply to exactly twice the bits).
pub fn gen_prime(bits: usize, rng: &mut dyn FnMut(&mut [u8])) -> Nat {
    let small = small_primes();
    let bytes = bits.div_ceil(8);
    let top = (bits - 1) % 8;
    loop {
        let mut b = Zeroizing::new(vec![0u8; bytes]);
        rng(&mut b);
        // clear above the top bit, set the top two and the bottom one
        b[0] &= ((1u16 << (top + 1)) - 1) as u8;
        if top >= 1 {
            b[0] |= 3 << (top - 1);
        } else {
            b[0] |= 1;
            b[1] |= 0x80;
        }
        b[bytes - 1] |= 1;
        if small.iter().any(|&p| rem_small(&b, p) == 0) {
            continue;
        }
        let n = nat(&b);
        if probable_prime(&n, 20, rng) {
            return n;
        }
    }
}

/// A new RSA signer key of `bits` bits for `owner` (createsignerkey).
pub fn generate(owner: &str, bits: usize, rng: &mut dyn FnMut(&mut [u8])) -> RsaSecret {
    let e = Nat::from_u32(E);
    let one = Nat::from_u32(1);
    loop {
        let p = gen_prime(bits / 2, rng);
        let q = gen_prime(bits - bits / 2, rng);
        if p == q {
            continue;
        }
        let (Some(p1), Some(q1)) = (p.sub(&one), q.sub(&one)) else {
            continue;
        };
        let Some(phi) = p1.mul(&q1) else { continue };
        let Some(dk) = e.inv_mod(&phi) else { continue };
        let Some(c2) = p.inv_mod(&q) else { continue };
        let (Some((_, kp)), Some((_, kq))) = (dk.div_rem(&p1), dk.div_rem(&q1)) else {
            continue;
        };
        let Some(n) = p.mul(&q) else { continue };
        let z = |x: &Nat| Zeroizing::new(x.to_be_vec());
        return RsaSecret {
            owner: owner.into(),
            n: n.to_be_vec(),
            ek: e.to_be_vec(),
            dk: z(&dk),
            p: z(&p),
            q: z(&q),
            kp: z(&kp),
            kq: z(&kq),
            c2: z(&c2),
        };
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic generator for tests (SHA1 in counter mode).
    pub fn test_rng(seed: u8) -> impl FnMut(&mut [u8]) {
        use sha1::{Digest, Sha1};
        let mut ctr = 0u64;
        move |out: &mut [u8]| {
            for chunk in out.chunks_mut(20) {
                ctr += 1;
                let h = Sha1::new()
                    .chain_update([seed])
                    .chain_update(ctr.to_be_bytes())
                    .finalize();
                chunk.copy_from_slice(&h[..chunk.len()]);
            }
        }
    }

    #[test]
    fn the_dh_group_is_a_safe_prime() {
        let (alpha, p) = dh_group();
        assert_eq!(p.len(), 128);
        assert_eq!(alpha, [2]);
        let mut rng = test_rng(1);
        let p = nat(&p);
        assert!(probable_prime(&p, 4, &mut rng));
        assert!(probable_prime(&p.shr(1), 4, &mut rng));
    }

    #[test]
    fn small_composites_and_primes() {
        let mut rng = test_rng(2);
        assert!(probable_prime(&Nat::from_u32(65537), 10, &mut rng));
        assert!(!probable_prime(&Nat::from_u32(65535), 10, &mut rng));
        // 561 is a Carmichael number
        assert!(!probable_prime(&Nat::from_u32(561), 10, &mut rng));
    }

    #[test]
    fn generated_key_signs_and_verifies() {
        let mut rng = test_rng(3);
        let sk = generate("signer", 512, &mut rng);
        assert_eq!(nat(&sk.n).bits(), 512);
        let (alpha, p) = dh_group();
        // CRT gives what m^dk mod n gives
        let m = [0x12u8; 20];
        assert_eq!(sign_num(&sk, &m), modexp_be(&m, &sk.dk, &sk.n, false));
        // and the text form carries every number
        assert_eq!(RsaSecret::parse(&sk.text()).unwrap(), sk);
        let s = Signer {
            sk: SecretKey::Rsa(sk),
            alpha,
            p,
        };
        let c = s.certify(b"rsa\nglenda\nAw==\nAw==\n", 0, &mut rng);
        assert!(s.verify(b"rsa\nglenda\nAw==\nAw==\n", &c));
        assert!(!s.verify(b"rsa\nglenda\nAw==\nBw==\n", &c));
    }
}
