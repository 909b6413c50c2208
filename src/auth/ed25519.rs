//! Ed25519 (RFC 8032) and SPAKE2 over its group (as the `spake2` crate's
//! `Ed25519Group` computes it, so the signer's requests stay
//! byte-compatible), sans-IO: the caller brings the randomness.
//!
//! ```text
//! field   p = 2^255 - 19
//! curve   -x^2 + y^2 = 1 + d x^2 y^2,  d = -121665/121666 (twisted Edwards)
//! points  extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
//! bytes   32, little-endian: y, with x's parity in the top bit
//! order   L = 2^252 + 27742317777372353535851937790883648493
//! ```
//!
//! Field elements are 10 limbs of 26 and 25 bits alternately (ref10's
//! radix 2^25.5): a product is 100 32x32->64 multiplications (a square
//! 55), which 32-bit MIPS does in one instruction each. Points add with
//! the complete (unified) formula and double with dbl-2008-hwcd. Scalar
//! multiplication walks 4-bit windows and picks each table entry by
//! masking all 16: nothing
//! branches on or indexes by a secret. Decoding (a peer's or a
//! signature's point, public data) may return early; it accepts what
//! curve25519-dalek's `decompress` accepts (y taken mod p), and
//! [`verify`] refuses what ed25519-dalek's `verify_strict` refuses.

// Limb loops walk two or three arrays in step; indexing reads plainest.
#![allow(clippy::needless_range_loop)]

use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// A mask: all ones for true, zero for false.
type Mask = u32;

/// Limb `i` holds 26 bits when `i` is even, 25 when odd.
const fn width(i: usize) -> u32 {
    26 - (i as u32 & 1)
}

/// An element of GF(p). Limbs are at most a little over their width
/// (the value may be p or a little above it); every operation takes and
/// gives limbs in that range.
#[derive(Clone, Copy)]
struct Fe([u32; 10]);

const D: [u8; 32] = [
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
];
const D2: [u8; 32] = [
    0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83, 0x82, 0x9a, 0x14, 0xe0, 0x00,
    0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80, 0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24,
];
/// 2^((p-1)/4), a square root of -1.
const SQRT_M1: [u8; 32] = [
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
];
/// The base point B: x, and y = 4/5 (B's encoding is 0x58, 0x66 x 31).
const BASE_X: [u8; 32] = [
    0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
    0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21,
];
const BASE_Y: [u8; 32] = {
    let mut b = [0x66; 32];
    b[0] = 0x58;
    b
};

const D_FE: Fe = Fe::from_bytes(&D);
const D2_FE: Fe = Fe::from_bytes(&D2);
const SQRT_M1_FE: Fe = Fe::from_bytes(&SQRT_M1);

/// `[e(0), ..., e(9)]` with `i` each index in turn: arrays built without
/// zeroing them first and indexed by constants (the router's build zeroes
/// and copies memory a byte at a time, and keeps a loop a loop).
macro_rules! limbs {
    ($i:ident => $e:expr) => {
        [
            {
                let $i = 0;
                $e
            },
            {
                let $i = 1;
                $e
            },
            {
                let $i = 2;
                $e
            },
            {
                let $i = 3;
                $e
            },
            {
                let $i = 4;
                $e
            },
            {
                let $i = 5;
                $e
            },
            {
                let $i = 6;
                $e
            },
            {
                let $i = 7;
                $e
            },
            {
                let $i = 8;
                $e
            },
            {
                let $i = 9;
                $e
            },
        ]
    };
}

/// Carry each limb into the next; what leaves the top (c * 2^255) comes
/// back in as 19c.
#[inline(always)]
fn carry(t: &mut [u64; 10]) -> Fe {
    let mut c = 0;
    for i in (0..10).step_by(2) {
        t[i] += c;
        t[i + 1] += t[i] >> 26;
        t[i] &= (1 << 26) - 1;
        c = t[i + 1] >> 25;
        t[i + 1] &= (1 << 25) - 1;
    }
    t[0] += 19 * c;
    t[1] += t[0] >> 26;
    t[0] &= (1 << 26) - 1;
    Fe(limbs!(i => t[i] as u32))
}

impl Fe {
    const ZERO: Fe = Fe([0; 10]);
    const ONE: Fe = Fe([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    /// From 32 little-endian bytes, the top bit ignored (so 2^255 - 19
    /// and above are taken mod p, as curve25519-dalek does).
    const fn from_bytes(b: &[u8; 32]) -> Fe {
        let mut l = [0u32; 10];
        let (mut i, mut off) = (0, 0);
        while i < 10 {
            let mut v = 0u64;
            let mut k = 0;
            while k < 5 && off / 8 + k < 32 {
                v |= (b[off / 8 + k] as u64) << (8 * k);
                k += 1;
            }
            l[i] = (v >> (off % 8)) as u32 & ((1 << width(i)) - 1);
            off += width(i) as usize;
            i += 1;
        }
        Fe(l)
    }

    /// The canonical 32 bytes (value below p).
    fn to_bytes(self) -> [u8; 32] {
        let t = carry(&mut limbs!(i => u64::from(self.0[i]))).0;
        // t < 2^255 + 2^45 < 2p: pack it, then subtract p if t + 19
        // reaches 2^255.
        let mut v = [0u8; 32];
        let (mut acc, mut bits, mut k) = (0u64, 0, 0);
        for i in 0..10 {
            acc += u64::from(t[i]) << bits;
            bits += width(i);
            while bits >= 8 {
                v[k] = acc as u8;
                acc >>= 8;
                bits -= 8;
                k += 1;
            }
        }
        v[31] = acc as u8;
        let mut w = [0u8; 32];
        let mut c = 19u16;
        for i in 0..32 {
            c += u16::from(v[i]);
            w[i] = c as u8;
            c >>= 8;
        }
        let m = 0u8.wrapping_sub(w[31] >> 7);
        w[31] &= 0x7f;
        for i in 0..32 {
            v[i] = (w[i] & m) | (v[i] & !m);
        }
        v
    }

    fn add(&self, b: &Fe) -> Fe {
        carry(&mut limbs!(i => u64::from(self.0[i]) + u64::from(b.0[i])))
    }

    /// `self - b`, as `self + 2p - b` (b's limbs are below 2p's).
    fn sub(&self, b: &Fe) -> Fe {
        carry(&mut limbs!(i => {
            let two_p = (2u64 << width(i)) - if i == 0 { 38 } else { 2 };
            u64::from(self.0[i]) + two_p - u64::from(b.0[i])
        }))
    }

    fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    fn mul(&self, b: &Fe) -> Fe {
        let (a, b) = (&self.0, &b.0);
        // Column k sums a[i] b[j] for i + j = k or k + 10. Two odd limbs'
        // offsets add to one more than their sum's; 2^255 wraps round as
        // 19. Limbs stay below 2^26, so even 38 b[j] fits 32 bits and
        // every product is one 32x32->64. (Unrolling the columns too made
        // a signature on mips 26% faster and the binary 7.8 KB larger.)
        carry(&mut limbs!(k => {
            let mut s = 0u64;
            for i in 0..10 {
                let (j, wrap) = if i <= k { (k - i, 1) } else { (k + 10 - i, 19) };
                s += u64::from(a[i]) * u64::from(wrap * (b[j] << (i & j & 1)));
            }
            s
        }))
    }

    /// `self^2`: `mul`'s products, each pair once (doubled: 2 * 38 a[j]
    /// still fits 32 bits).
    fn square(&self) -> Fe {
        let a = &self.0;
        carry(&mut limbs!(k => {
            let mut s = 0u64;
            for i in 0..10 {
                let (j, wrap) = if i <= k { (k - i, 1) } else { (k + 10 - i, 19) };
                if i <= j {
                    let c = (a[j] << (i & j & 1)) << u32::from(i != j);
                    s += u64::from(a[i]) * u64::from(wrap * c);
                }
            }
            s
        }))
    }

    fn square_n(&self, n: u32) -> Fe {
        let mut r = *self;
        for _ in 0..n {
            r = r.square();
        }
        r
    }

    /// `(self^(2^250 - 1), self^11)`: ref10's chain, shared by the
    /// inversion and the square root.
    fn pow_250(&self) -> (Fe, Fe) {
        let z2 = self.square();
        let z9 = z2.square_n(2).mul(self);
        let z11 = z9.mul(&z2);
        let z5 = z11.square().mul(&z9); // 2^5 - 1
        let z10 = z5.square_n(5).mul(&z5);
        let z20 = z10.square_n(10).mul(&z10);
        let z40 = z20.square_n(20).mul(&z20);
        let z50 = z40.square_n(10).mul(&z10);
        let z100 = z50.square_n(50).mul(&z50);
        let z200 = z100.square_n(100).mul(&z100);
        (z200.square_n(50).mul(&z50), z11)
    }

    /// `self^(p-2)`: `1/self` (0 for 0).
    fn invert(&self) -> Fe {
        let (t, z11) = self.pow_250();
        t.square_n(5).mul(&z11)
    }

    /// `self^((p-5)/8)`.
    fn pow_p58(&self) -> Fe {
        self.pow_250().0.square_n(2).mul(self)
    }

    fn ct_eq(&self, b: &Fe) -> Mask {
        let (x, y) = (self.to_bytes(), b.to_bytes());
        let mut d = 0u8;
        for i in 0..32 {
            d |= x[i] ^ y[i];
        }
        mask_zero(u32::from(d))
    }

    fn is_negative(&self) -> Mask {
        0u32.wrapping_sub(u32::from(self.to_bytes()[0] & 1))
    }
}

/// All ones when `v` is zero.
fn mask_zero(v: u32) -> Mask {
    let v = core::hint::black_box(v);
    ((v | v.wrapping_neg()) >> 31).wrapping_sub(1)
}

/// A point in extended coordinates.
#[derive(Clone, Copy)]
struct Point {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

impl Point {
    const IDENTITY: Point = Point {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ONE,
        t: Fe::ZERO,
    };

    fn base() -> Point {
        const X: Fe = Fe::from_bytes(&BASE_X);
        const Y: Fe = Fe::from_bytes(&BASE_Y);
        let (x, y) = (X, Y);
        Point {
            x,
            y,
            z: Fe::ONE,
            t: x.mul(&y),
        }
    }

    /// add-2008-hwcd-3 (a = -1): complete, so it doubles too.
    fn add(&self, q: &Point) -> Point {
        let a = self.y.sub(&self.x).mul(&q.y.sub(&q.x));
        let b = self.y.add(&self.x).mul(&q.y.add(&q.x));
        let c = self.t.mul(&D2_FE).mul(&q.t);
        let d = self.z.add(&self.z).mul(&q.z);
        let (e, f, g, h) = (b.sub(&a), d.sub(&c), d.add(&c), b.add(&a));
        Point {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }

    /// dbl-2008-hwcd (a = -1): `add(self, self)` in 4 squarings and 4
    /// products instead of 9 products.
    fn double(&self) -> Point {
        let a = self.x.square();
        let b = self.y.square();
        let c = self.z.square();
        let c = c.add(&c);
        let e = self.x.add(&self.y).square().sub(&a).sub(&b);
        let g = b.sub(&a);
        let f = g.sub(&c);
        let h = Fe::ZERO.sub(&a).sub(&b);
        Point {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }

    fn neg(&self) -> Point {
        Point {
            x: self.x.neg(),
            t: self.t.neg(),
            ..*self
        }
    }

    /// `s * self`, `s` a little-endian 256-bit number, in constant time.
    fn mul(&self, s: &[u8; 32]) -> Point {
        let mut table = [Point::IDENTITY; 16];
        for i in 1..16 {
            table[i] = table[i - 1].add(self);
        }
        let mut r = Point::IDENTITY;
        for i in (0..64).rev() {
            for _ in 0..4 {
                r = r.double();
            }
            let nibble = u32::from(s[i / 2] >> (4 * (i & 1))) & 15;
            let mut e = Point::IDENTITY;
            for (j, p) in table.iter().enumerate() {
                let m = mask_zero(j as u32 ^ nibble);
                for (d, s) in [
                    (&mut e.x, &p.x),
                    (&mut e.y, &p.y),
                    (&mut e.z, &p.z),
                    (&mut e.t, &p.t),
                ] {
                    for l in 0..10 {
                        d.0[l] ^= m & (d.0[l] ^ s.0[l]);
                    }
                }
            }
            r = r.add(&e);
        }
        r
    }

    fn compress(&self) -> [u8; 32] {
        let zi = self.z.invert();
        let mut b = self.y.mul(&zi).to_bytes();
        b[31] |= (self.x.mul(&zi).to_bytes()[0] & 1) << 7;
        b
    }

    /// The point `b` encodes, or None when y gives no point on the
    /// curve (curve25519-dalek's `decompress`: y taken mod p; x = 0 with
    /// the sign bit set is x = 0).
    fn decompress(b: &[u8; 32]) -> Option<Point> {
        let y = Fe::from_bytes(b);
        let yy = y.square();
        let u = yy.sub(&Fe::ONE);
        let v = yy.mul(&D_FE).add(&Fe::ONE);
        // x = sqrt(u/v) = u v^3 (u v^7)^((p-5)/8), times sqrt(-1) if
        // that squares to -u/v
        let v3 = v.square().mul(&v);
        let mut x = u.mul(&v3).mul(&u.mul(&v3).mul(&v3).mul(&v).pow_p58());
        let check = v.mul(&x.square());
        if check.ct_eq(&u) == 0 {
            if check.ct_eq(&u.neg()) == 0 {
                return None;
            }
            x = x.mul(&SQRT_M1_FE);
        }
        if (x.is_negative() != 0) != (b[31] >> 7 == 1) {
            x = x.neg();
        }
        Some(Point {
            x,
            y,
            z: Fe::ONE,
            t: x.mul(&y),
        })
    }

    /// `8 self` is the identity.
    fn is_small_order(&self) -> bool {
        let p = self.double().double().double();
        p.x.ct_eq(&Fe::ZERO) != 0 && p.y.ct_eq(&p.z) != 0
    }
}

// ---------------------------------------------------------------- scalars

/// L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `x mod L`, `x` 64 signed byte-sized digits (TweetNaCl's modL; constant
/// time). Wipes `x`.
fn mod_l(x: &mut [i64; 64]) -> [u8; 32] {
    for i in (32..64).rev() {
        let mut carry = 0;
        let mut j = i - 32;
        while j < i - 12 {
            x[j] += carry - 16 * x[i] * i64::from(L[j - (i - 32)]);
            carry = (x[j] + 128) >> 8;
            x[j] -= carry << 8;
            j += 1;
        }
        x[j] += carry;
        x[i] = 0;
    }
    let mut carry = 0;
    for j in 0..32 {
        x[j] += carry - (x[31] >> 4) * i64::from(L[j]);
        carry = x[j] >> 8;
        x[j] &= 255;
    }
    for j in 0..32 {
        x[j] -= carry * i64::from(L[j]);
    }
    let mut r = [0u8; 32];
    for i in 0..32 {
        x[i + 1] += x[i] >> 8;
        r[i] = x[i] as u8;
    }
    x.zeroize();
    r
}

/// A 64-byte little-endian number mod L.
fn reduce_wide(b: &[u8; 64]) -> [u8; 32] {
    mod_l(&mut b.map(i64::from))
}

/// `a b + c mod L`.
fn mul_add(a: &[u8; 32], b: &[u8; 32], c: &[u8; 32]) -> [u8; 32] {
    let mut x = [0i64; 64];
    for i in 0..32 {
        x[i] = i64::from(c[i]);
    }
    for i in 0..32 {
        for j in 0..32 {
            x[i + j] += i64::from(a[i]) * i64::from(b[j]);
        }
    }
    mod_l(&mut x)
}

/// `s < L` (the only encoding of a scalar `verify` accepts).
fn is_canonical(s: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if s[i] != L[i] {
            return s[i] < L[i];
        }
    }
    false
}

fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

// ---------------------------------------------------------------- Ed25519

/// The secret scalar (clamped) and the nonce prefix of a seed.
fn expand(seed: &[u8; 32]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let h = Zeroizing::new(sha512(&[seed]));
    let (mut a, mut prefix) = (Zeroizing::new([0u8; 32]), Zeroizing::new([0u8; 32]));
    a.copy_from_slice(&h[..32]);
    prefix.copy_from_slice(&h[32..]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    (a, prefix)
}

/// The public key of a 32-byte seed.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    Point::base().mul(&expand(seed).0).compress()
}

/// The signature of `msg` by `seed`, whose public key is `public`.
pub fn sign(seed: &[u8; 32], public: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    let (a, prefix) = expand(seed);
    let r = Zeroizing::new(reduce_wide(&Zeroizing::new(sha512(&[&prefix[..], msg]))));
    let big_r = Point::base().mul(&r).compress();
    let k = reduce_wide(&sha512(&[&big_r, public, msg]));
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&mul_add(&k, &a, &r));
    sig
}

/// Whether `sig` is `public`'s signature of `msg`, as ed25519-dalek's
/// `verify_strict` decides: S below L, neither A nor R of small order,
/// and R's bytes equal to the encoding of S B - k A.
pub fn verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let (r, s): (&[u8; 32], &[u8; 32]) = (
        sig[..32].try_into().expect("32 bytes"),
        sig[32..].try_into().expect("32 bytes"),
    );
    if !is_canonical(s) {
        return false;
    }
    let (Some(a), Some(big_r)) = (Point::decompress(public), Point::decompress(r)) else {
        return false;
    };
    if a.is_small_order() || big_r.is_small_order() {
        return false;
    }
    let k = reduce_wide(&sha512(&[r, public, msg]));
    Point::base().mul(s).add(&a.neg().mul(&k)).compress() == *r
}

// ---------------------------------------------------------------- SPAKE2

/// spake2's M and N for Ed25519 (python-spake2's, from its seeds).
const M: [u8; 32] = [
    0x15, 0xcf, 0xd1, 0x8e, 0x38, 0x59, 0x52, 0x98, 0x2b, 0x6a, 0x8f, 0x8c, 0x78, 0x54, 0x96, 0x3b,
    0x58, 0xe3, 0x43, 0x88, 0xc8, 0xe6, 0xda, 0xe8, 0x91, 0xdb, 0x75, 0x64, 0x81, 0xa0, 0x23, 0x12,
];
const N: [u8; 32] = [
    0xf0, 0x4f, 0x2e, 0x7e, 0xb7, 0x34, 0xb2, 0xa8, 0xf8, 0xb4, 0x72, 0xea, 0xf9, 0xc3, 0xc6, 0x32,
    0x57, 0x6a, 0xc6, 0x4a, 0xea, 0x65, 0x0b, 0x49, 0x6a, 0x8a, 0x20, 0xff, 0x00, 0xe5, 0x83, 0xc3,
];

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    use hmac::{KeyInit, Mac};
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    Zeroizing::new(m.finalize().into_bytes().into())
}

/// spake2's password scalar: HKDF-SHA256 (empty salt, info "SPAKE2 pw")
/// to 48 bytes, read big-endian, mod L.
fn password_scalar(password: &[u8]) -> Zeroizing<[u8; 32]> {
    let prk = hmac_sha256(b"", &[password]);
    let t1 = hmac_sha256(&prk[..], &[b"SPAKE2 pw", &[1]]);
    let t2 = hmac_sha256(&prk[..], &[&t1[..], b"SPAKE2 pw", &[2]]);
    let mut wide = Zeroizing::new([0u8; 64]);
    for (i, b) in t1.iter().chain(&t2[..16]).enumerate() {
        wide[47 - i] = *b;
    }
    Zeroizing::new(reduce_wide(&wide))
}

/// One side of a SPAKE2 exchange with identities (the spake2 crate's
/// `Spake2::<Ed25519Group>::start_a`/`start_b`).
pub struct Spake2 {
    a: bool,
    x: Zeroizing<[u8; 32]>,
    pw: Zeroizing<[u8; 32]>,
    /// SHA-256 of the password, of id A and of id B: the transcript's head.
    head: Zeroizing<[u8; 96]>,
    msg1: [u8; 32],
}

impl Spake2 {
    /// Side A (`a`) or B, with 64 random bytes; returns the message to
    /// send (side byte 'A' or 'B', then the point).
    pub fn start(
        a: bool,
        password: &[u8],
        id_a: &[u8],
        id_b: &[u8],
        random: &[u8; 64],
    ) -> (Spake2, Vec<u8>) {
        let x = Zeroizing::new(reduce_wide(random));
        let pw = password_scalar(password);
        let blind = Point::decompress(if a { &M } else { &N }).expect("a constant point");
        let msg1 = Point::base().mul(&x).add(&blind.mul(&pw)).compress();
        let mut head = Zeroizing::new([0u8; 96]);
        for (i, v) in [password, id_a, id_b].iter().enumerate() {
            head[32 * i..32 * i + 32].copy_from_slice(&Sha256::digest(v));
        }
        let mut msg = vec![if a { b'A' } else { b'B' }];
        msg.extend_from_slice(&msg1);
        (
            Spake2 {
                a,
                x,
                pw,
                head,
                msg1,
            },
            msg,
        )
    }

    /// The shared key from the peer's message, or why the message is bad.
    pub fn finish(self, msg2: &[u8]) -> Result<Zeroizing<[u8; 32]>, &'static str> {
        let (&side, y) = msg2.split_first().ok_or("SPAKE2 message length")?;
        let y: &[u8; 32] = y.try_into().map_err(|_| "SPAKE2 message length")?;
        if side != if self.a { b'B' } else { b'A' } {
            return Err("SPAKE2 message side");
        }
        let y_point = Point::decompress(y).ok_or("SPAKE2 point")?;
        let unblind = Point::decompress(if self.a { &N } else { &M }).expect("a constant point");
        let k = y_point
            .add(&unblind.mul(&self.pw).neg())
            .mul(&self.x)
            .compress();
        let (first, second) = if self.a {
            (&self.msg1, y)
        } else {
            (y, &self.msg1)
        };
        let mut h = Sha256::new();
        h.update(&self.head[..]);
        h.update(first);
        h.update(second);
        h.update(k);
        Ok(Zeroizing::new(h.finalize().into()))
    }
}

#[cfg(test)]
mod tests;
