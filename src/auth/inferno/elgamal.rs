//! The Inferno signer's ElGamal key as libsec makes and uses it (eggen
//! over gensafeprime's group, egsign, egverify), on the shared
//! big-number module. Randomness comes in as a function.
//!
//! ```text
//! p = 2q + 1 a safe prime, alpha a generator of (Z/p)*, y = alpha^x
//! sign m:   k in [2, p-2], gcd(k, p-1) = 1; r = alpha^k mod p,
//!           s = (m - x r) k^-1 mod (p-1)
//! verify:   0 < r < p and alpha^m == y^r r^s (mod p)
//! ```
//!
//! Signing works modulo q and modulo 2 and joins the two (p - 1 = 2q, q
//! an odd prime), so every step that touches x or k runs on `Modulus`'s
//! constant-time operations (k's inverse is blinded); it needs p to be
//! a safe prime, which is what gensafeprime (and [`generate`]) make.

use super::keyring::EgSecret;
use super::rsa::{nat, probable_prime, rem_small, small_primes, DH_P};
use crate::auth::bignum::{Modulus, Nat};
use zeroize::Zeroizing;

/// p = 2q + 1 and q as moduli; None unless both are odd and > 1.
fn moduli(p: &Nat) -> Option<(Modulus, Modulus)> {
    Some((Modulus::new(p)?, Modulus::new(&p.shr(1))?))
}

/// A random number below 2^bits.
fn random_below_bits(bits: usize, rng: &mut dyn FnMut(&mut [u8])) -> Nat {
    let mut b = Zeroizing::new(vec![0u8; bits.div_ceil(8)]);
    rng(&mut b);
    if bits % 8 != 0 {
        b[0] &= (1u8 << (bits % 8)) - 1;
    }
    nat(&b)
}

/// ElGamal signature (r, s) of the number `m` (big-endian; a SHA1
/// digest) with `k`'s secret key, as egsign. Zeros for a key whose p
/// is not a safe prime's shape (EgSecret::parse refuses those).
pub fn sign(k: &EgSecret, m: &[u8], rng: &mut dyn FnMut(&mut [u8])) -> (Vec<u8>, Vec<u8>) {
    let p = nat(&k.p);
    let Some((mp, mq)) = moduli(&p) else {
        return (vec![0], vec![0]);
    };
    let q = mq.value();
    let bits = p.bits();
    let two = Nat::from_u32(2);
    let top = p.sub(&two).unwrap_or(Nat::ZERO);
    // k odd, not a multiple of q (so prime to p - 1 = 2q), in [2, p-2]
    let (kn, kq) = loop {
        let kn = random_below_bits(bits, rng);
        let kq = mq.reduce(&kn);
        if kn.is_odd() && !kq.is_zero() && !kn.ct_lt(&two) && !top.ct_lt(&kn) {
            break (kn, kq);
        }
    };
    let r = mp.pow_ct(&nat(&k.alpha), &kn, bits);
    let x = nat(&k.secret);
    let m = nat(m);
    // s mod q = (m - x r) k^-1; s mod 2 = m - x r (k is odd)
    // k^-1 = b (k b)^-1 for a random b: the variable-time inverse only
    // sees k b, which is uniform whatever k is (a quarter of Fermat's
    // a^(q-2) in time)
    let b = loop {
        let b = mq.reduce(&random_below_bits(bits, rng));
        if !b.is_zero() {
            break b;
        }
    };
    let kinv = mq
        .mul(&kq, &b)
        .inv_mod(q)
        .map_or(Nat::ZERO, |i| mq.mul(&i, &b));
    let xr = mq.mul(&mq.reduce(&x), &mq.reduce(&r));
    let sq = mq.mul(&mq.sub(&mq.reduce(&m), &xr), &kinv);
    let s2 = (m.low_u32() ^ (x.low_u32() & r.low_u32())) & 1;
    // s = sq + q t with t = 0 or 1 picking s's parity (q is odd)
    let t = (sq.low_u32() ^ s2) & 1;
    let s = sq
        .add(&Nat::select(&Nat::ZERO, q, t == 1))
        .unwrap_or(Nat::ZERO);
    (r.to_be_vec(), s.to_be_vec())
}

/// egverify: 0 < r < p and alpha^m == y^r r^s (mod p), for a public key
/// (p, alpha, y) and the number `m`. Public values only.
pub fn verify(p: &[u8], alpha: &[u8], y: &[u8], r: &[u8], s: &[u8], m: &[u8]) -> bool {
    let (p, r) = (nat(p), nat(r));
    let Some(mp) = Modulus::new(&p) else {
        return false;
    };
    if r.is_zero() || r.cmp(&p).is_ge() {
        return false;
    }
    let lhs = mp.pow(&nat(alpha), &nat(m));
    let rhs = mp.mul(&mp.pow(&nat(y), &r), &mp.pow(&r, &nat(s)));
    lhs == rhs
}

/// gensafeprime's generator: a random alpha with alpha^2 != 1 and
/// alpha^q != 1 (so of order 2q, all of (Z/p)*).
fn generator(mp: &Modulus, q: &Nat, rng: &mut dyn FnMut(&mut [u8])) -> Nat {
    let one = Nat::from_u32(1);
    loop {
        let a = mp.reduce(&random_below_bits(mp.bits(), rng));
        if a.bits() > 1 && mp.mul(&a, &a) != one && mp.pow(&a, q) != one {
            return a;
        }
    }
}

/// Candidates tried from one random start before drawing another.
const WINDOW: u32 = 1 << 16;

/// A safe prime p = 2q + 1 of exactly `bits` bits, q prime (as
/// gensafeprime, but sieving q and 2q + 1 by small primes along a run
/// of candidates from a random start, then Miller-Rabin on q and p).
pub fn safe_prime(bits: usize, rng: &mut dyn FnMut(&mut [u8])) -> Nat {
    let small = small_primes();
    let one = Nat::from_u32(1);
    loop {
        // q of bits - 1 bits, top bit set, odd
        let mut q0 = random_below_bits(bits - 2, rng);
        q0 = q0
            .add(&one.shl(bits - 2).unwrap_or(Nat::ZERO))
            .unwrap_or(Nat::ZERO);
        if !q0.is_odd() {
            q0 = q0.add(&one).unwrap_or(Nat::ZERO);
        }
        let be = q0.to_be_vec();
        let res: Vec<u32> = small.iter().map(|&r| rem_small(&be, r)).collect();
        for d in (0..WINDOW).step_by(2) {
            let sieved = small.iter().zip(&res).all(|(&r, &x)| {
                let v = (x + d) % r;
                v != 0 && (2 * v + 1) % r != 0
            });
            if !sieved {
                continue;
            }
            let Some(q) = q0.add(&Nat::from_u32(d)) else {
                break;
            };
            if q.bits() != bits - 1 {
                break;
            }
            let Some(p) = q.shl(1).and_then(|x| x.add(&one)) else {
                break;
            };
            if probable_prime(&q, 1, rng)
                && probable_prime(&p, 1, rng)
                && probable_prime(&q, 20, rng)
                && probable_prime(&p, 20, rng)
            {
                return p;
            }
        }
    }
}

/// A new ElGamal signer key for `owner`, as eggen: over a new safe
/// prime of `bits` bits, or (`modp`) over RFC 2409's 1024-bit MODP
/// group (the safe prime logind's Diffie-Hellman uses), with
/// gensafeprime's random generator either way (never 2: with alpha = 2
/// anyone forges r = q, s = -m mod q made even), and a secret of
/// bits - 1 bits.
pub fn generate(owner: &str, bits: usize, modp: bool, rng: &mut dyn FnMut(&mut [u8])) -> EgSecret {
    let (p, mp, mq) = loop {
        let p = if modp {
            nat(&crate::auth::dec16(DH_P.as_bytes()))
        } else {
            safe_prime(bits, rng)
        };
        if let Some((mp, mq)) = moduli(&p) {
            break (p, mp, mq);
        }
    };
    let alpha = generator(&mp, mq.value(), rng);
    let x = loop {
        let x = random_below_bits(p.bits() - 1, rng);
        if !x.is_zero() {
            break x;
        }
    };
    let y = mp.pow_ct(&alpha, &x, p.bits() - 1);
    EgSecret {
        owner: owner.into(),
        p: p.to_be_vec(),
        alpha: alpha.to_be_vec(),
        key: y.to_be_vec(),
        secret: Zeroizing::new(x.to_be_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::inferno::keyring::{self, SecretKey};
    use crate::auth::inferno::rsa::{self, tests::test_rng, Signer};

    /// A 128-bit safe prime, a generator of its whole group, a secret
    /// and alpha^secret (python3: random.seed(16), Miller-Rabin on q and
    /// 2q + 1; pow(alpha, 2, p) != 1 != pow(alpha, q, p);
    /// pow(alpha, x, p)).
    fn small_key() -> EgSecret {
        let h = |s: &str| crate::auth::dec16(s.as_bytes());
        EgSecret {
            owner: "signer".into(),
            p: h("ECC14D37628491D1CA37BE10547C9C43"),
            alpha: h("B2A78EB476CE9CDBD7FCCFCC68E6B28D"),
            key: h("0418C307C748B072E335E8023F3A1BFA"),
            secret: Zeroizing::new(h("42410523E1B204C407E94DD829909841")),
        }
    }

    fn verifies(k: &EgSecret, r: &[u8], s: &[u8], m: &[u8]) -> bool {
        verify(&k.p, &k.alpha, &k.key, r, s, m)
    }

    #[test]
    fn sign_then_verify_and_tampering() {
        let k = small_key();
        let mut rng = test_rng(4);
        let m = [0xa5u8; 20];
        for _ in 0..20 {
            let (r, s) = sign(&k, &m, &mut rng);
            assert!(verifies(&k, &r, &s, &m));
            // s < p - 1, r < p
            assert!(nat(&s)
                .cmp(&nat(&k.p).sub(&Nat::from_u32(1)).unwrap())
                .is_lt());
            let mut m2 = m;
            m2[19] ^= 1;
            assert!(!verifies(&k, &r, &s, &m2));
            let bump = |v: &[u8]| nat(v).add(&Nat::from_u32(1)).unwrap().to_be_vec();
            assert!(!verifies(&k, &bump(&r), &s, &m));
            assert!(!verifies(&k, &r, &bump(&s), &m));
        }
        // r out of range: 0, p, p + r (the same residue)
        let (r, s) = sign(&k, &m, &mut rng);
        let p = nat(&k.p);
        assert!(!verifies(&k, &[0], &s, &m));
        assert!(!verifies(&k, &k.p, &s, &m));
        let wrapped = p.add(&nat(&r)).unwrap().to_be_vec();
        assert!(!verifies(&k, &wrapped, &s, &m));
        // another key's signature
        let mut other = small_key();
        other.key = rsa::modexp_be(&k.alpha, &[7], &k.p, false);
        assert!(!verifies(&other, &r, &s, &m));
    }

    #[test]
    fn text_forms() {
        let k = small_key();
        let t = k.text();
        assert!(
            t.starts_with("elgamal\nsigner\nAOzBTTdihJHRyje+EFR8nEM=\n"),
            "{}",
            *t
        );
        assert_eq!(t.lines().count(), 6);
        assert_eq!(EgSecret::parse(&t).unwrap(), k);
        assert_eq!(SecretKey::parse(&t).unwrap(), SecretKey::Elgamal(k.clone()));
        let pk = k.public().text();
        assert!(pk.starts_with("elgamal\nsigner\n"));
        assert_eq!(keyring::PublicKey::parse(&pk).unwrap(), k.public());
        let err = |s: &str| SecretKey::parse(s).unwrap_err().to_string();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(err(&lines[..5].join("\n")), "secret key: number 4 missing");
        assert_eq!(
            err(&format!("{}\nAw==\n", *t)),
            "secret key: more lines than an elgamal key has"
        );
        assert_eq!(
            err(&t.replace("AOzB", "*OzB")),
            "secret key: number 1 is not base64"
        );
        assert_eq!(
            err(&t.replacen("elgamal", "dsa", 1)),
            "secret key: unknown algorithm 'dsa' (rsa or elgamal)"
        );
        // an even p, alpha = 1, a key of p: not a usable key
        let mut bad = k.clone();
        *bad.p.last_mut().unwrap() ^= 1;
        let mut one = k.clone();
        one.alpha = vec![1];
        let mut big = k.clone();
        big.key = k.p.clone();
        for b in [bad, one, big] {
            assert!(
                err(&b.text()).contains("not an ElGamal key over a safe prime"),
                "{}",
                err(&b.text())
            );
        }
        // a certificate's two numbers
        let c = keyring::Certificate::parse("elgamal\nsha1\nsigner\n0\nAQ==\nAg==\n").unwrap();
        assert_eq!(c.sig, [vec![1], vec![2]]);
        assert!(keyring::Certificate::parse("elgamal\nsha1\nsigner\n0\nAQ==\n").is_err());
    }

    #[test]
    fn generated_keys_are_over_safe_primes() {
        let mut rng = test_rng(5);
        let k = generate("signer", 160, false, &mut rng);
        let p = nat(&k.p);
        assert_eq!(p.bits(), 160);
        assert!(probable_prime(&p, 20, &mut rng));
        assert!(probable_prime(&p.shr(1), 20, &mut rng));
        assert_eq!(EgSecret::parse(&k.text()).unwrap(), k);
        let md = Modulus::new(&p).unwrap();
        let a = nat(&k.alpha);
        let one = Nat::from_u32(1);
        assert!(md.mul(&a, &a) != one && md.pow(&a, &p.shr(1)) != one);
        assert_eq!(md.pow(&a, &nat(&k.secret)), nat(&k.key));
        let m = [0x3cu8; 20];
        let (r, s) = sign(&k, &m, &mut rng);
        assert!(verifies(&k, &r, &s, &m));
        // RFC 2409's group with a random generator, not 2
        let k = generate("signer", 1024, true, &mut rng);
        assert_eq!(k.p, rsa::dh_group().1);
        assert!(k.alpha.len() > 1);
        let (r, s) = sign(&k, &m, &mut rng);
        assert!(verifies(&k, &r, &s, &m));
    }

    /// Why the generator is never 2 (gensafeprime's random one): with
    /// alpha = 2 over a safe prime p = 7 mod 8, r = q and an even s = -m
    /// mod q verify for any m and key.
    #[test]
    fn alpha_two_would_be_forgeable() {
        let (alpha, p) = rsa::dh_group();
        let pn = nat(&p);
        assert_eq!(pn.low_u32() & 7, 7);
        let q = pn.shr(1);
        let mq = Modulus::new(&q).unwrap();
        let m = [0x77u8; 20];
        let s = mq.sub(&Nat::ZERO, &mq.reduce(&nat(&m)));
        let s = if s.is_odd() { s.add(&q).unwrap() } else { s };
        let y = rsa::modexp_be(&alpha, &[0x42; 40], &p, false);
        assert!(verify(&p, &alpha, &y, &q.to_be_vec(), &s.to_be_vec(), &m));
    }

    #[test]
    fn certificates_signed_with_elgamal() {
        let mut rng = test_rng(6);
        let (alpha, p) = rsa::dh_group();
        let s = Signer {
            sk: SecretKey::Elgamal(small_key()),
            alpha,
            p,
        };
        let pk = b"elgamal\nglenda\nAw==\nAg==\nAQ==\n";
        let c = s.certify(pk, 1_900_000_000, &mut rng);
        assert_eq!(c.alg, "elgamal");
        assert_eq!(c.sig.len(), 2);
        let back = keyring::Certificate::parse(&c.text()).unwrap();
        assert_eq!(back, c);
        let spk = s.public();
        assert_eq!(rsa::check(&spk, pk, &c, 0), Ok(()));
        assert_eq!(
            rsa::check(&spk, pk, &c, 1_900_000_000),
            Err("certificate expired")
        );
        let mut later = c.clone();
        later.exp += 1;
        assert!(rsa::check(&spk, pk, &later, 0).is_err());
        assert!(rsa::check(&spk, b"elgamal\nglendb\nAw==\nAg==\nAQ==\n", &c, 0).is_err());
        let mut rsa_named = c.clone();
        rsa_named.alg = "rsa".into();
        assert!(rsa::check(&spk, pk, &rsa_named, 0).is_err());
    }
}
