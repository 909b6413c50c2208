//! Ed448 ("Goldilocks") arithmetic as 9front's AuthPAK uses it
//! (libauthsrv ed448.mpc, edwards.mpc, decaf.mpc, elligator2.mpc,
//! spake2ee.mpc), sans-IO.
//!
//! ```text
//! field   p = 2^448 - 2^224 - 1             (p = 3 mod 4)
//! curve   x^2 + y^2 = 1 + d x^2 y^2,  a = 1, d = -39081 (untwisted Edwards)
//! base    G = (297EA0EA...0AED939F, 19)     (9front's, not RFC 8032's B)
//! points  extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
//! bytes   56, big-endian (9front's mptober), not RFC 8032's little-endian
//! ```
//!
//! Public keys travel as Hamburg's decaf encoding of a point (56 bytes;
//! P and P + (0, -1) encode alike, whatever their Z); the password's points
//! come from Elligator 2 with the non-residue 7 (the first n >= 2 with
//! Legendre symbol -1). Every formula is 9front's, step for step, so the
//! projective coordinates match its as well as the encodings.
//!
//! Field elements are 16 limbs of 28 bits. Nothing here branches on or
//! indexes by a secret value: the scalar ladder, the square roots and the
//! sign choices select with masks. Only decoding a peer's public key
//! (public data) may return early.

// Limb loops walk two or three arrays in step; indexing reads plainest.
#![allow(clippy::needless_range_loop)]

/// Bytes of a field element, a scalar and an encoded point.
pub const LEN: usize = 56;

const LIMBS: usize = 16;
const BITS: u32 = 28;
const MASK: u64 = (1 << BITS) - 1;

/// -d: the curve constant is d = -39081.
const MINUS_D: u32 = 39081;
/// The non-residue Elligator 2 uses (the first n >= 2 with (n|p) = -1).
const NONRESIDUE: u32 = 7;

/// A mask: all ones for true, zero for false.
type Mask = u32;

fn mask(b: bool) -> Mask {
    (b as u32).wrapping_neg()
}

/// An element of GF(p), limbs little-endian. Limbs are at most 2^28
/// (weakly reduced: the value may be p or a little above it); every
/// operation takes and gives limbs in that range.
#[derive(Clone, Copy)]
pub struct Fe([u32; LIMBS]);

/// p's limbs: all ones but bit 224 (limb 8, bit 0).
const P: [u32; LIMBS] = {
    let mut l = [MASK as u32; LIMBS];
    l[8] = MASK as u32 - 1;
    l
};

/// (p-1)/2 = 2^447 - 2^223 - 1: bits 223 (limb 7, bit 27) and 447
/// (limb 15, bit 27) clear.
const HALF: [u32; LIMBS] = {
    let mut l = [MASK as u32; LIMBS];
    l[7] = (MASK >> 1) as u32;
    l[15] = (MASK >> 1) as u32;
    l
};

/// Carry each limb into the next; what leaves the top (c * 2^448) comes
/// back in as c * (2^224 + 1).
#[inline(always)]
fn carry(c: &mut [u64; LIMBS]) {
    let mut k = 0u64;
    for v in c.iter_mut() {
        *v += k;
        k = *v >> BITS;
        *v &= MASK;
    }
    c[0] += k;
    c[8] += k;
}

/// Accumulators (each below 2^63) to an element with limbs <= 2^28.
///
/// Here and below, arrays are written out element by element and the
/// helpers always inlined: the router's size-optimised build calls
/// closures instead of inlining them and clears and copies arrays a byte
/// at a time, which cost more than the arithmetic.
#[rustfmt::skip]
fn reduce(c: &mut [u64; LIMBS]) -> Fe {
    carry(c);
    carry(c);
    Fe([
        c[0] as u32,
        c[1] as u32,
        c[2] as u32,
        c[3] as u32,
        c[4] as u32,
        c[5] as u32,
        c[6] as u32,
        c[7] as u32,
        c[8] as u32,
        c[9] as u32,
        c[10] as u32,
        c[11] as u32,
        c[12] as u32,
        c[13] as u32,
        c[14] as u32,
        c[15] as u32,
    ])
}

/// The 8x8 limb product's columns, written out: straight-line code is
/// what the size-optimised build keeps fast.
#[rustfmt::skip]
fn mul8(a: &[u32; 8], b: &[u32; 8]) -> [u64; 15] {
    let m = |x: u32, y: u32| u64::from(x) * u64::from(y);
    [
        m(a[0], b[0]),
        m(a[0], b[1]) + m(a[1], b[0]),
        m(a[0], b[2]) + m(a[1], b[1]) + m(a[2], b[0]),
        m(a[0], b[3]) + m(a[1], b[2]) + m(a[2], b[1]) + m(a[3], b[0]),
        m(a[0], b[4]) + m(a[1], b[3]) + m(a[2], b[2]) + m(a[3], b[1]) + m(a[4], b[0]),
        m(a[0], b[5]) + m(a[1], b[4]) + m(a[2], b[3]) + m(a[3], b[2]) + m(a[4], b[1]) + m(a[5], b[0]),
        m(a[0], b[6]) + m(a[1], b[5]) + m(a[2], b[4]) + m(a[3], b[3]) + m(a[4], b[2]) + m(a[5], b[1]) + m(a[6], b[0]),
        m(a[0], b[7]) + m(a[1], b[6]) + m(a[2], b[5]) + m(a[3], b[4]) + m(a[4], b[3]) + m(a[5], b[2]) + m(a[6], b[1]) + m(a[7], b[0]),
        m(a[1], b[7]) + m(a[2], b[6]) + m(a[3], b[5]) + m(a[4], b[4]) + m(a[5], b[3]) + m(a[6], b[2]) + m(a[7], b[1]),
        m(a[2], b[7]) + m(a[3], b[6]) + m(a[4], b[5]) + m(a[5], b[4]) + m(a[6], b[3]) + m(a[7], b[2]),
        m(a[3], b[7]) + m(a[4], b[6]) + m(a[5], b[5]) + m(a[6], b[4]) + m(a[7], b[3]),
        m(a[4], b[7]) + m(a[5], b[6]) + m(a[6], b[5]) + m(a[7], b[4]),
        m(a[5], b[7]) + m(a[6], b[6]) + m(a[7], b[5]),
        m(a[6], b[7]) + m(a[7], b[6]),
        m(a[7], b[7]),
    ]
}

/// The 8-limb square's columns (each cross product once, doubled).
#[rustfmt::skip]
fn sq8(a: &[u32; 8]) -> [u64; 15] {
    let m = |x: u32, y: u32| u64::from(x) * u64::from(y);
    [
        m(a[0], a[0]),
        2 * m(a[0], a[1]),
        2 * m(a[0], a[2]) + m(a[1], a[1]),
        2 * (m(a[0], a[3]) + m(a[1], a[2])),
        2 * (m(a[0], a[4]) + m(a[1], a[3])) + m(a[2], a[2]),
        2 * (m(a[0], a[5]) + m(a[1], a[4]) + m(a[2], a[3])),
        2 * (m(a[0], a[6]) + m(a[1], a[5]) + m(a[2], a[4])) + m(a[3], a[3]),
        2 * (m(a[0], a[7]) + m(a[1], a[6]) + m(a[2], a[5]) + m(a[3], a[4])),
        2 * (m(a[1], a[7]) + m(a[2], a[6]) + m(a[3], a[5])) + m(a[4], a[4]),
        2 * (m(a[2], a[7]) + m(a[3], a[6]) + m(a[4], a[5])),
        2 * (m(a[3], a[7]) + m(a[4], a[6])) + m(a[5], a[5]),
        2 * (m(a[4], a[7]) + m(a[5], a[6])),
        2 * m(a[5], a[7]) + m(a[6], a[6]),
        2 * m(a[6], a[7]),
        m(a[7], a[7]),
    ]
}

/// Three half products to an element: columns `p00 + p11` at 0..14 and
/// `pss - p00` at 8..22 (times phi), then 2^448 = 2^224 + 1 folds column
/// 16+k into 8+k and k. Limbs are at most 2^28 (sums 2^29), so a column
/// of `pss` is at most 2^61 and every sum stays below 2^63 (the
/// subtractions never go below zero once their column is complete; they
/// are written after the additions).
#[inline(always)]
#[rustfmt::skip]
fn combine(p00: &[u64; 15], p11: &[u64; 15], pss: &[u64; 15]) -> Fe {
    let mut c = [
        p00[0] + p11[0] + pss[8] - p00[8],
        p00[1] + p11[1] + pss[9] - p00[9],
        p00[2] + p11[2] + pss[10] - p00[10],
        p00[3] + p11[3] + pss[11] - p00[11],
        p00[4] + p11[4] + pss[12] - p00[12],
        p00[5] + p11[5] + pss[13] - p00[13],
        p00[6] + p11[6] + pss[14] - p00[14],
        p00[7] + p11[7],
        p00[8] + p11[8] + pss[0] - p00[0] + pss[8] - p00[8],
        p00[9] + p11[9] + pss[1] - p00[1] + pss[9] - p00[9],
        p00[10] + p11[10] + pss[2] - p00[2] + pss[10] - p00[10],
        p00[11] + p11[11] + pss[3] - p00[3] + pss[11] - p00[11],
        p00[12] + p11[12] + pss[4] - p00[4] + pss[12] - p00[12],
        p00[13] + p11[13] + pss[5] - p00[5] + pss[13] - p00[13],
        p00[14] + p11[14] + pss[6] - p00[6] + pss[14] - p00[14],
        pss[7] - p00[7],
    ];
    reduce(&mut c)
}

/// Limbwise sum of two halves.
#[inline(always)]
#[rustfmt::skip]
fn sum8(a: &[u32; 8], b: &[u32; 8]) -> [u32; 8] {
    [
        a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3],
        a[4] + b[4], a[5] + b[5], a[6] + b[6], a[7] + b[7],
    ]
}

/// The halves of an element's limbs, without copying.
#[inline(always)]
fn halves(a: &[u32; LIMBS]) -> (&[u32; 8], &[u32; 8]) {
    let (lo, hi) = a.split_at(8);
    (
        lo.try_into().expect("8 limbs"),
        hi.try_into().expect("8 limbs"),
    )
}

/// `a - b` over limbs below 2^28 with the borrow: the limbs of the
/// difference and -1 when `a < b`, else 0.
fn sub_borrow(a: &[u32; LIMBS], b: &[u32; LIMBS]) -> ([u32; LIMBS], i64) {
    let mut out = [0u32; LIMBS];
    let mut borrow = 0i64;
    for i in 0..LIMBS {
        let t = i64::from(a[i]) - i64::from(b[i]) + borrow;
        out[i] = (t & MASK as i64) as u32;
        borrow = t >> BITS;
    }
    (out, borrow)
}

impl Fe {
    pub const ZERO: Fe = Fe([0; LIMBS]);
    pub const ONE: Fe = Fe::small(1);

    /// A small constant (below 2^28).
    pub const fn small(v: u32) -> Fe {
        let mut l = [0u32; LIMBS];
        l[0] = v;
        Fe(l)
    }

    /// The big-endian integer `b` (any 448-bit value) modulo p.
    pub fn from_be_bytes(b: &[u8; LEN]) -> Fe {
        let mut out = [0u32; LIMBS];
        // 7 bytes hold two limbs; the last 7 bytes are the lowest.
        for (j, pair) in out.chunks_exact_mut(2).enumerate() {
            let mut v = 0u64;
            for k in 0..7 {
                v |= u64::from(b[LEN - 1 - (7 * j + k)]) << (8 * k);
            }
            pair[0] = (v & MASK) as u32;
            pair[1] = (v >> BITS) as u32;
        }
        Fe(out)
    }

    /// The canonical value (below p) as 56 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; LEN] {
        let l = self.canonical();
        let mut b = [0u8; LEN];
        for (j, pair) in l.chunks_exact(2).enumerate() {
            let v = u64::from(pair[0]) | (u64::from(pair[1]) << BITS);
            for k in 0..7 {
                b[LEN - 1 - (7 * j + k)] = (v >> (8 * k)) as u8;
            }
        }
        b
    }

    /// The limbs of the value reduced below p, each below 2^28.
    fn canonical(&self) -> [u32; LIMBS] {
        let mut c = [0u64; LIMBS];
        for (v, l) in c.iter_mut().zip(self.0) {
            *v = u64::from(l);
        }
        // Limbs <= 2^28: a pass carries at most 1 out of the top. After
        // two, limbs are below 2^28 but 0 and 8 (at most 2^28), and a
        // second top carry left limb 15 at 0, so the third pass carries
        // nothing out.
        carry(&mut c);
        carry(&mut c);
        let mut k = 0u64;
        for v in c.iter_mut() {
            *v += k;
            k = *v >> BITS;
            *v &= MASK;
        }
        debug_assert_eq!(k, 0);
        let mut l = [0u32; LIMBS];
        for (o, v) in l.iter_mut().zip(c) {
            *o = v as u32;
        }
        // the value is now below 2^448 < 2p: subtract p once if it fits
        let (d, borrow) = sub_borrow(&l, &P);
        let keep = borrow as u32; // all ones when l < p
        for (o, d) in l.iter_mut().zip(d) {
            *o = (*o & keep) | (d & !keep);
        }
        l
    }

    #[rustfmt::skip]
    pub fn add(&self, b: &Fe) -> Fe {
        let (a, b) = (&self.0, &b.0);
        let w = |x: u32| u64::from(x);
        let mut c = [
            w(a[0]) + w(b[0]),
            w(a[1]) + w(b[1]),
            w(a[2]) + w(b[2]),
            w(a[3]) + w(b[3]),
            w(a[4]) + w(b[4]),
            w(a[5]) + w(b[5]),
            w(a[6]) + w(b[6]),
            w(a[7]) + w(b[7]),
            w(a[8]) + w(b[8]),
            w(a[9]) + w(b[9]),
            w(a[10]) + w(b[10]),
            w(a[11]) + w(b[11]),
            w(a[12]) + w(b[12]),
            w(a[13]) + w(b[13]),
            w(a[14]) + w(b[14]),
            w(a[15]) + w(b[15]),
        ];
        reduce(&mut c)
    }

    /// `self - b`, computed as `self + 2p - b` so no limb goes negative.
    #[rustfmt::skip]
    pub fn sub(&self, b: &Fe) -> Fe {
        let (a, b) = (&self.0, &b.0);
        let w = |x: u32| u64::from(x);
        // 2p's limbs
        let mut c = [
            w(a[0]) + 0x1ffffffe - w(b[0]),
            w(a[1]) + 0x1ffffffe - w(b[1]),
            w(a[2]) + 0x1ffffffe - w(b[2]),
            w(a[3]) + 0x1ffffffe - w(b[3]),
            w(a[4]) + 0x1ffffffe - w(b[4]),
            w(a[5]) + 0x1ffffffe - w(b[5]),
            w(a[6]) + 0x1ffffffe - w(b[6]),
            w(a[7]) + 0x1ffffffe - w(b[7]),
            w(a[8]) + 0x1ffffffc - w(b[8]),
            w(a[9]) + 0x1ffffffe - w(b[9]),
            w(a[10]) + 0x1ffffffe - w(b[10]),
            w(a[11]) + 0x1ffffffe - w(b[11]),
            w(a[12]) + 0x1ffffffe - w(b[12]),
            w(a[13]) + 0x1ffffffe - w(b[13]),
            w(a[14]) + 0x1ffffffe - w(b[14]),
            w(a[15]) + 0x1ffffffe - w(b[15]),
        ];
        reduce(&mut c)
    }

    pub fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    /// Karatsuba on the golden prime (Hamburg's): with halves of 8 limbs
    /// and phi = 2^224, phi^2 = phi + 1, so
    /// `a b = (a0 b0 + a1 b1) + ((a0 + a1)(b0 + b1) - a0 b0) phi`:
    /// three 8x8 products instead of one 16x16.
    pub fn mul(&self, b: &Fe) -> Fe {
        let (a0, a1) = halves(&self.0);
        let (b0, b1) = halves(&b.0);
        let sa = sum8(a0, a1);
        let sb = sum8(b0, b1);
        combine(&mul8(a0, b0), &mul8(a1, b1), &mul8(&sa, &sb))
    }

    /// The same split with squares: `a^2 = (a0^2 + a1^2) +
    /// ((a0 + a1)^2 - a0^2) phi`.
    pub fn square(&self) -> Fe {
        let (a0, a1) = halves(&self.0);
        let sa = sum8(a0, a1);
        combine(&sq8(a0), &sq8(a1), &sq8(&sa))
    }

    /// `self * k` for a small constant `k` (below 2^32).
    #[rustfmt::skip]
    pub fn mul_small(&self, k: u32) -> Fe {
        let a = &self.0;
        let w = |x: u32| u64::from(x) * u64::from(k);
        let mut c = [
            w(a[0]),
            w(a[1]),
            w(a[2]),
            w(a[3]),
            w(a[4]),
            w(a[5]),
            w(a[6]),
            w(a[7]),
            w(a[8]),
            w(a[9]),
            w(a[10]),
            w(a[11]),
            w(a[12]),
            w(a[13]),
            w(a[14]),
            w(a[15]),
        ];
        reduce(&mut c)
    }

    fn square_n(&self, n: u32) -> Fe {
        let mut x = *self;
        for _ in 0..n {
            x = x.square();
        }
        x
    }

    /// `self^((p-3)/4)`: the inverse square root of a square (9front's
    /// misqrt). (p-3)/4 = 2^446 - 2^222 - 1 is 223 ones, a zero and 222
    /// ones; t_k below is `self^(2^k - 1)`.
    pub fn isr(&self) -> Fe {
        let t1 = *self;
        let t2 = t1.square().mul(&t1);
        let t3 = t2.square().mul(&t1);
        let t6 = t3.square_n(3).mul(&t3);
        let t12 = t6.square_n(6).mul(&t6);
        let t24 = t12.square_n(12).mul(&t12);
        let t48 = t24.square_n(24).mul(&t24);
        let t96 = t48.square_n(48).mul(&t48);
        let t192 = t96.square_n(96).mul(&t96);
        let t216 = t192.square_n(24).mul(&t24);
        let t222 = t216.square_n(6).mul(&t6);
        let t223 = t222.square().mul(&t1);
        t223.square_n(223).mul(&t222)
    }

    /// `1/self` (0 for 0): `self^(p-2) = isr(self)^4 * self`.
    pub fn invert(&self) -> Fe {
        self.isr().square().square().mul(self)
    }

    /// 9front's msqrt: `self^((p+1)/4)` when `self` is a nonzero square,
    /// else 0; and whether it was one.
    pub fn sqrt(&self) -> (Fe, Mask) {
        let t = self.isr();
        // t^2 * self = self^((p-1)/2), the Legendre symbol
        let is_square = t.square().mul(self).ct_eq(&Fe::ONE);
        (Fe::select(is_square, &t.mul(self), &Fe::ZERO), is_square)
    }

    pub fn ct_eq(&self, b: &Fe) -> Mask {
        let (x, y) = (self.canonical(), b.canonical());
        let mut d = 0u32;
        for i in 0..LIMBS {
            d |= x[i] ^ y[i];
        }
        mask(d == 0)
    }

    pub fn is_zero(&self) -> Mask {
        self.ct_eq(&Fe::ZERO)
    }

    /// The value (reduced) is above (p-1)/2: the test behind 9front's
    /// decaf_neg.
    pub fn is_negative(&self) -> Mask {
        let (_, borrow) = sub_borrow(&HALF, &self.canonical());
        borrow as u32
    }

    /// `a` where `m` is all ones, `b` where it is zero.
    #[rustfmt::skip]
    pub fn select(m: Mask, a: &Fe, b: &Fe) -> Fe {
        let (a, b) = (&a.0, &b.0);
        Fe([
            (a[0] & m) | (b[0] & !m),
            (a[1] & m) | (b[1] & !m),
            (a[2] & m) | (b[2] & !m),
            (a[3] & m) | (b[3] & !m),
            (a[4] & m) | (b[4] & !m),
            (a[5] & m) | (b[5] & !m),
            (a[6] & m) | (b[6] & !m),
            (a[7] & m) | (b[7] & !m),
            (a[8] & m) | (b[8] & !m),
            (a[9] & m) | (b[9] & !m),
            (a[10] & m) | (b[10] & !m),
            (a[11] & m) | (b[11] & !m),
            (a[12] & m) | (b[12] & !m),
            (a[13] & m) | (b[13] & !m),
            (a[14] & m) | (b[14] & !m),
            (a[15] & m) | (b[15] & !m),
        ])
    }

    /// `-self` where `m` is all ones.
    fn neg_if(&self, m: Mask) -> Fe {
        Fe::select(m, &self.neg(), self)
    }

    /// `d * self` (d = -39081).
    fn mul_d(&self) -> Fe {
        self.mul_small(MINUS_D).neg()
    }
}

impl zeroize::Zeroize for Fe {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::Zeroize for Point {
    fn zeroize(&mut self) {
        for f in [&mut self.x, &mut self.y, &mut self.z, &mut self.t] {
            f.zeroize();
        }
    }
}

/// A point in extended coordinates.
#[derive(Clone, Copy)]
pub struct Point {
    pub x: Fe,
    pub y: Fe,
    pub z: Fe,
    pub t: Fe,
}

/// The neutral element (0, 1).
pub const IDENTITY: Point = Point {
    x: Fe::ZERO,
    y: Fe::ONE,
    z: Fe::ONE,
    t: Fe::ZERO,
};

/// 9front's base point's x (y = 19), big-endian.
const GX: [u8; LEN] = [
    0x29, 0x7e, 0xa0, 0xea, 0x26, 0x92, 0xff, 0x1b, 0x4f, 0xaf, 0xf4, 0x60, 0x98, 0x45, 0x3a, 0x6a,
    0x26, 0xad, 0xf7, 0x33, 0x24, 0x5f, 0x06, 0x5c, 0x3c, 0x59, 0xd0, 0x70, 0x9c, 0xec, 0xfa, 0x96,
    0x14, 0x7e, 0xaa, 0xf3, 0x93, 0x2d, 0x94, 0xc6, 0x3d, 0x96, 0xc1, 0x70, 0x03, 0x3f, 0x4b, 0xa0,
    0xc7, 0xf0, 0xde, 0x84, 0x0a, 0xed, 0x93, 0x9f,
];

/// 9front's base point G = (GX, 19), T = GX * 19.
pub fn base() -> Point {
    let x = Fe::from_be_bytes(&GX);
    let y = Fe::small(19);
    Point {
        x,
        y,
        z: Fe::ONE,
        t: x.mul(&y),
    }
}

impl Point {
    /// 9front's edwards_add (the unified formula, a = 1); doubling too.
    pub fn add(&self, q: &Point) -> Point {
        let a = self.x.mul(&q.x);
        let b = self.y.mul(&q.y);
        let c = self.t.mul(&q.t).mul_d();
        let d = self.z.mul(&q.z);
        let e = self.x.add(&self.y).mul(&q.x.add(&q.y)).sub(&a).sub(&b);
        let f = d.sub(&c);
        let g = d.add(&c);
        let h = b.sub(&a);
        Point {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }

    pub fn neg(&self) -> Point {
        Point {
            x: self.x.neg(),
            y: self.y,
            z: self.z,
            t: self.t.neg(),
        }
    }

    /// `self = a` where `m` is all ones, in place.
    #[inline(always)]
    fn assign_if(&mut self, m: Mask, a: &Point) {
        // one loop over the four coordinates' limbs: the table scans run
        // this for every entry of every window
        for i in 0..LIMBS {
            self.x.0[i] ^= (self.x.0[i] ^ a.x.0[i]) & m;
            self.y.0[i] ^= (self.y.0[i] ^ a.y.0[i]) & m;
            self.z.0[i] ^= (self.z.0[i] ^ a.z.0[i]) & m;
            self.t.0[i] ^= (self.t.0[i] ^ a.t.0[i]) & m;
        }
    }

    /// `2 self` (dbl-2008-hwcd, a = 1): four squarings, four products.
    pub fn double(&self) -> Point {
        self.double_with(true)
    }

    /// `2 self`, leaving T zero unless `with_t`: doubling reads X, Y and Z
    /// only, so in a run of doublings only the last, which an addition
    /// follows, needs T (a product less for each of the others). Whether
    /// to compute T is fixed by the caller's loop, never by a secret.
    #[inline(always)]
    fn double_with(&self, with_t: bool) -> Point {
        let a = self.x.square();
        let b = self.y.square();
        let c = self.z.square();
        let c = c.add(&c);
        let e = self.x.add(&self.y).square().sub(&a).sub(&b);
        let g = a.add(&b);
        let f = g.sub(&c);
        let h = a.sub(&b);
        Point {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: if with_t { e.mul(&h) } else { Fe::ZERO },
        }
    }

    /// `s * self` for a 448-bit big-endian scalar (9front's
    /// edwards_scale gives the same point): a fixed 4-bit window, the
    /// table entry picked by a masked scan of all 16, so neither the time
    /// nor the memory touched depends on `s`.
    pub fn scale(&self, s: &[u8; LEN]) -> Point {
        let mut table = [IDENTITY; 16];
        for i in 1..16 {
            table[i] = table[i - 1].add(self);
        }
        let pick = |nibble: u8| {
            let mut p = IDENTITY;
            for (i, e) in table.iter().enumerate() {
                p.assign_if(mask(i == usize::from(nibble)), e);
            }
            p
        };
        // the top nibble's entry as it is: doubling the identity first
        // would be four doublings for nothing
        let mut acc = pick(s[0] >> 4);
        for (i, byte) in s.iter().enumerate() {
            let nibbles = [byte >> 4, byte & 15];
            for &nibble in &nibbles[usize::from(i == 0)..] {
                acc = acc.double_with(false).double_with(false).double_with(false);
                acc = acc.double().add(&pick(nibble));
            }
        }
        acc
    }

    /// `s G` for the base point, equal to `base().scale(s)`: a comb with
    /// five teeth 90 bits apart (Lim-Lee). Column j of the scalar's bits
    /// (bits j, j+90, ..., j+360) picks one of 32 sums of G, 2^90 G, ...,
    /// 2^360 G, made once per process (8 KiB); then 90 doublings and 90
    /// additions instead of the window's 448 and 112. The entry is picked
    /// by a masked scan of all 32, as in [`Point::scale`].
    pub fn scale_base(s: &[u8; LEN]) -> Point {
        // Boxed: a OnceLock's value sits in .data (its Once starts
        // non-zero), so an unboxed table would be 8 KiB of the binary.
        static COMB: std::sync::OnceLock<Box<[Point; 1 << COMB_TEETH]>> =
            std::sync::OnceLock::new();
        let table = COMB.get_or_init(|| {
            let mut teeth = [base(); COMB_TEETH];
            for k in 1..COMB_TEETH {
                let mut p = teeth[k - 1];
                for _ in 0..COMB_SPACING {
                    p = p.double();
                }
                teeth[k] = p;
            }
            let mut t = [IDENTITY; 1 << COMB_TEETH];
            for d in 1..t.len() {
                // the highest tooth in d, added to the sum of the others
                let k = 31 - (d as u32).leading_zeros() as usize;
                t[d] = t[d & !(1 << k)].add(&teeth[k]);
            }
            Box::new(t)
        });
        // bit i of the big-endian scalar (none past its 448)
        let bit = |i: usize| match LEN.checked_sub(1 + i / 8) {
            Some(at) => (s[at] >> (i % 8)) & 1,
            None => 0,
        };
        let mut acc = IDENTITY;
        for j in (0..COMB_SPACING).rev() {
            let mut d = 0u8;
            for k in 0..COMB_TEETH {
                d |= bit(j + k * COMB_SPACING) << k;
            }
            let mut p = IDENTITY;
            for (i, e) in table.iter().enumerate() {
                p.assign_if(mask(i == usize::from(d)), e);
            }
            acc = acc.double().add(&p);
        }
        acc
    }

    /// 9front's decaf_encode: 56 bytes, the same for `self` and
    /// `self + (0, -1)` and for every choice of Z.
    pub fn encode(&self) -> [u8; LEN] {
        let (x, y, z, t) = (&self.x, &self.y, &self.z, &self.t);
        let a_minus_d = MINUS_D + 1;
        let r = z.add(y).mul(&z.sub(y)).mul_small(a_minus_d).isr();
        let u = r.mul_small(a_minus_d);
        let r = r.neg_if(u.add(&u).mul(z).neg().is_negative());
        // a = 1: a*Z*X - d*Y*T, and the division by a is none
        let s = r.mul(&z.mul(x).sub(&y.mul(t).mul_d())).add(y).mul(&u);
        s.neg_if(s.is_negative()).to_be_bytes()
    }

    /// 9front's decaf_decode: None for a non-canonical (above (p-1)/2) or
    /// invalid encoding. The input is public; this may return early.
    pub fn decode(b: &[u8; LEN]) -> Option<Point> {
        // compare the integer itself: 56 bytes can exceed p
        let s = Fe::from_be_bytes(b);
        if sub_borrow(&HALF, &s.0).1 != 0 {
            return None;
        }
        let ss = s.square();
        let z = Fe::ONE.add(&ss);
        // u = Z^2 - 4 d s^2
        let u = z.square().add(&ss.mul_small(4 * MINUS_D));
        let v = u.mul(&ss);
        let v = if v.is_zero() != 0 {
            v
        } else {
            let (root, ok) = v.sqrt();
            if ok == 0 {
                return None;
            }
            root.invert()
        };
        let v = v.neg_if(u.mul(&v).is_negative());
        let w = v.mul(&s).mul(&Fe::small(2).sub(&z));
        let w = Fe::select(s.is_zero(), &w.add(&Fe::ONE), &w);
        let x = s.add(&s);
        Some(Point {
            x,
            y: w.mul(&z),
            z,
            t: w.mul(&x),
        })
    }

    /// 9front's spake2ee_h2P: a 56-byte hash (taken modulo p) to a point
    /// by Elligator 2.
    pub fn from_hash(h: &[u8; LEN]) -> Point {
        elligator2(&Fe::from_be_bytes(h))
    }
}

/// Elligator 2 on the a = 1 Edwards curve (9front's elligator2.mpc) with
/// n = 7; the square-root branches are masked selects.
fn elligator2(r0: &Fe) -> Point {
    let n = NONRESIDUE;
    let a_minus_2d = 2 * MINUS_D + 1;
    let r = r0.mul_small(n).mul(r0);
    // D = (d r + a - d) (d r - a r - d)
    let dr = r.mul_d();
    let den = dr
        .add(&Fe::small(MINUS_D + 1))
        .mul(&dr.sub(&r).add(&Fe::small(MINUS_D)));
    // N = (r + 1) (a - 2d)
    let num = r.add(&Fe::ONE).mul_small(a_minus_2d);
    let nd = num.mul(&den);
    // ND a square (or 0): c = 1, e = 1/sqrt(ND) = isr(ND) (0 for 0);
    // else c = -1, e = n r0 isr(n ND)
    let isr = nd.isr();
    let square = isr.square().mul(&nd).ct_eq(&Fe::ONE) | nd.is_zero();
    let other = r0.mul_small(n).mul(&nd.mul_small(n).isr());
    let e = Fe::select(square, &isr, &other);
    let cn = num.neg_if(!square);
    let s = cn.mul(&e);
    // t = -(c N (r - 1) ((a - 2d) e)^2) - 1
    let ae = e.mul_small(a_minus_2d);
    let t = cn
        .mul(&r.sub(&Fe::ONE))
        .mul(&ae.square())
        .neg()
        .sub(&Fe::ONE);
    let s2 = s.square();
    let one_minus = Fe::ONE.sub(&s2);
    let one_plus = Fe::ONE.add(&s2);
    let two_s = s.add(&s);
    Point {
        x: two_s.mul(&t),
        y: one_minus.mul(&one_plus),
        z: one_plus.mul(&t),
        t: two_s.mul(&one_minus),
    }
}

/// The base point's comb: 5 teeth 90 bits apart cover 450 >= 448 bits.
const COMB_TEETH: usize = 5;
const COMB_SPACING: usize = 90;

/// 9front's spake2ee_1: `decaf(x G + P)`, a party's public key.
pub fn spake2ee_1(x: &[u8; LEN], p: &Point) -> [u8; LEN] {
    Point::scale_base(x).add(p).encode()
}

/// 9front's spake2ee_2: `decaf(x (Y - P))` for the peer's public key `y`
/// and the peer's point `p`; None when `y` does not decode.
pub fn spake2ee_2(p: &Point, x: &[u8; LEN], y: &[u8; LEN]) -> Option<[u8; LEN]> {
    let q = Point::decode(y)?;
    Some(q.add(&p.neg()).scale(x).encode())
}

#[cfg(test)]
mod tests;
