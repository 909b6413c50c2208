//! Fixed-size unsigned big numbers and arithmetic modulo an odd number:
//! the one big-number module under the modular-arithmetic protocols
//! (secstore's PAK over a 1024-bit prime, Inferno's RSA and
//! Diffie-Hellman), sans-IO and allocation-free.
//!
//! ```text
//! Nat       LIMBS 32-bit limbs, little-endian (2112 bits); plain add, sub,
//!           mul (None on overflow), div_rem, shifts, big-endian bytes
//! Modulus   an odd modulus of up to MAX_BITS bits with its Montgomery
//!           constants; add, sub, mul, pow, inverse modulo it
//! ```
//!
//! Constant time: `Modulus::{reduce (see there), reduce_be_bytes, add, sub, mul,
//! pow_ct, inv_prime}` and `Nat::{add, sub, ct_eq, ct_lt, select}` neither
//! branch on nor index by the values they are given (only by lengths, the
//! modulus, and `pow_ct`'s stated exponent length), so they may take
//! secrets. `Modulus::pow` walks the exponent's bit length (for public
//! exponents); `Nat::div_rem`, `Nat::inv_mod`, `Nat::bits` and `Nat::cmp`
//! are variable-time, for public values and key generation. Every `Nat`
//! is wiped when dropped.

// Limb loops walk two or three arrays in step; indexing reads plainest.
#![allow(clippy::needless_range_loop)]

use core::cmp::Ordering;
use zeroize::Zeroize;

/// Limbs in a `Nat`: room for a 2048-bit modulus, the carry of a sum
/// and a full 1024 x 1024-bit product.
pub const LIMBS: usize = 66;
/// The largest modulus `Modulus::new` takes, in bits.
pub const MAX_BITS: usize = 2048;
const MAX_MOD_LIMBS: usize = MAX_BITS / 32;

/// All ones for 1, zero for 0 (`b` is 0 or 1).
#[inline(always)]
fn mask(b: u32) -> u32 {
    core::hint::black_box(b).wrapping_neg()
}

/// A number below 2^(32 * LIMBS). Wiped when dropped.
#[derive(Clone)]
pub struct Nat {
    l: [u32; LIMBS],
}

impl Drop for Nat {
    fn drop(&mut self) {
        self.l.zeroize();
    }
}

/// Hex, for test failures only (a Nat may be a secret).
#[cfg(test)]
impl core::fmt::Debug for Nat {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(&crate::auth::enc16(&self.to_be_vec()))
    }
}

impl PartialEq for Nat {
    fn eq(&self, o: &Nat) -> bool {
        self.ct_eq(o)
    }
}
impl Eq for Nat {}

impl Nat {
    pub const ZERO: Nat = Nat { l: [0; LIMBS] };

    pub fn from_u32(v: u32) -> Nat {
        let mut n = Nat::ZERO;
        n.l[0] = v;
        n
    }

    pub fn from_u64(v: u64) -> Nat {
        let mut n = Nat::ZERO;
        n.l[0] = v as u32;
        n.l[1] = (v >> 32) as u32;
        n
    }

    /// A big-endian magnitude of any length (leading zeros allowed);
    /// None when the value needs more than LIMBS limbs.
    pub fn from_be_bytes(b: &[u8]) -> Option<Nat> {
        let lead = b.iter().take_while(|&&c| c == 0).count();
        let b = &b[lead..];
        if b.len() > 4 * LIMBS {
            return None;
        }
        let mut n = Nat::ZERO;
        for (i, &c) in b.iter().rev().enumerate() {
            n.l[i / 4] |= u32::from(c) << (8 * (i % 4));
        }
        Some(n)
    }

    /// Big-endian into exactly `out.len()` bytes, zero-padded on the
    /// left; false (and `out` untouched) when the value does not fit.
    pub fn write_be_bytes(&self, out: &mut [u8]) -> bool {
        if self.bytes() > out.len() {
            return false;
        }
        let k = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            let j = k - 1 - i; // byte index from the bottom
            *o = if j < 4 * LIMBS {
                (self.l[j / 4] >> (8 * (j % 4))) as u8
            } else {
                0
            };
        }
        true
    }

    /// The minimal big-endian magnitude (no leading zero byte; zero is
    /// one zero byte, as libmp's mptobe gives it).
    pub fn to_be_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.bytes().max(1)];
        self.write_be_bytes(&mut v);
        v
    }

    /// Bytes the minimal magnitude takes (0 for zero). Variable-time.
    pub fn bytes(&self) -> usize {
        self.bits().div_ceil(8)
    }

    /// The bit length (0 for zero). Variable-time.
    pub fn bits(&self) -> usize {
        for i in (0..LIMBS).rev() {
            if self.l[i] != 0 {
                return 32 * i + 32 - self.l[i].leading_zeros() as usize;
            }
        }
        0
    }

    /// Bit `i` (false beyond the top).
    pub fn bit(&self, i: usize) -> bool {
        i < 32 * LIMBS && (self.l[i / 32] >> (i % 32)) & 1 == 1
    }

    pub fn is_odd(&self) -> bool {
        self.l[0] & 1 == 1
    }

    /// The low 32 bits.
    pub fn low_u32(&self) -> u32 {
        self.l[0]
    }

    pub fn is_zero(&self) -> bool {
        self.ct_eq(&Nat::ZERO)
    }

    /// Equality in constant time.
    pub fn ct_eq(&self, o: &Nat) -> bool {
        let mut d = 0u32;
        for i in 0..LIMBS {
            d |= self.l[i] ^ o.l[i];
        }
        core::hint::black_box(d) == 0
    }

    /// self < o, in constant time.
    pub fn ct_lt(&self, o: &Nat) -> bool {
        let (_, borrow) = sub_limbs(&self.l, &o.l);
        borrow == 1
    }

    /// `b` when `choose`, else `a`, without branching on `choose`.
    pub fn select(a: &Nat, b: &Nat, choose: bool) -> Nat {
        let m = mask(choose as u32);
        let mut r = Nat::ZERO;
        for i in 0..LIMBS {
            r.l[i] = (a.l[i] & !m) | (b.l[i] & m);
        }
        r
    }

    /// self + o; None on overflow of LIMBS limbs.
    pub fn add(&self, o: &Nat) -> Option<Nat> {
        let (l, carry) = add_limbs(&self.l, &o.l);
        (carry == 0).then_some(Nat { l })
    }

    /// self - o; None when o > self.
    pub fn sub(&self, o: &Nat) -> Option<Nat> {
        let (l, borrow) = sub_limbs(&self.l, &o.l);
        (borrow == 0).then_some(Nat { l })
    }

    /// self * o; None when the product needs more than LIMBS limbs.
    pub fn mul(&self, o: &Nat) -> Option<Nat> {
        let na = self.l.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        let nb = o.l.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        if na + nb > LIMBS + 1 {
            return None;
        }
        let mut t = [0u32; LIMBS + 1];
        for i in 0..na {
            let mut c = 0u64;
            for j in 0..nb {
                let v = u64::from(self.l[i]) * u64::from(o.l[j]) + u64::from(t[i + j]) + c;
                t[i + j] = v as u32;
                c = v >> 32;
            }
            t[i + nb] = c as u32;
        }
        if t[LIMBS] != 0 {
            t.zeroize();
            return None;
        }
        let mut r = Nat::ZERO;
        r.l.copy_from_slice(&t[..LIMBS]);
        t.zeroize();
        Some(r)
    }

    /// self << 1 with the bit shifted out of the top.
    fn shl1(&mut self, bit_in: u32) -> u32 {
        let mut c = bit_in;
        for v in self.l.iter_mut() {
            let n = *v >> 31;
            *v = (*v << 1) | c;
            c = n;
        }
        c
    }

    /// self >> n (n of any size).
    pub fn shr(&self, n: usize) -> Nat {
        let (w, b) = (n / 32, n % 32);
        let mut r = Nat::ZERO;
        for i in 0..LIMBS {
            let lo = self.l.get(i + w).copied().unwrap_or(0);
            let hi = self.l.get(i + w + 1).copied().unwrap_or(0);
            r.l[i] = if b == 0 {
                lo
            } else {
                (lo >> b) | (hi << (32 - b))
            };
        }
        r
    }

    /// self << n; None when bits would leave the top.
    pub fn shl(&self, n: usize) -> Option<Nat> {
        if self.is_zero() {
            return Some(Nat::ZERO);
        }
        if self.bits() + n > 32 * LIMBS {
            return None;
        }
        let (w, b) = (n / 32, n % 32);
        let mut r = Nat::ZERO;
        for i in w..LIMBS {
            let lo = self.l[i - w];
            let below = if i > w { self.l[i - w - 1] } else { 0 };
            r.l[i] = if b == 0 {
                lo
            } else {
                (lo << b) | (below >> (32 - b))
            };
        }
        Some(r)
    }

    /// Quotient and remainder; None for a zero divisor. Variable-time
    /// (shift and subtract over the dividend's bits).
    pub fn div_rem(&self, d: &Nat) -> Option<(Nat, Nat)> {
        if d.is_zero() {
            return None;
        }
        let mut q = Nat::ZERO;
        let mut r = Nat::ZERO;
        for i in (0..self.bits()).rev() {
            let top = r.shl1(self.bit(i) as u32);
            q.shl1(0);
            if top == 1 || !r.ct_lt(d) {
                r = Nat {
                    l: sub_limbs(&r.l, &d.l).0,
                };
                q.l[0] |= 1;
            }
        }
        Some((q, r))
    }

    /// self^-1 mod m for any m > 1 (odd or even); None when they share a
    /// factor. Variable-time: for public values and key generation (an
    /// RSA private exponent from e and phi). For a secret modulo a prime,
    /// use `Modulus::inv_prime`.
    pub fn inv_mod(&self, m: &Nat) -> Option<Nat> {
        let one = Nat::from_u32(1);
        if m.cmp(&one) != Ordering::Greater {
            return None;
        }
        let (_, a) = self.div_rem(m)?;
        if m.is_odd() {
            return inv_odd(&a, m);
        }
        if !a.is_odd() {
            return None;
        }
        if a == one {
            return Some(one);
        }
        // m even, a odd: y = m^-1 mod a gives m*y = 1 + k*a, so
        // a*k = -1 mod m and the inverse is m - k.
        let (_, mr) = m.div_rem(&a)?;
        let y = inv_odd(&mr, &a)?;
        let my = m.mul(&y)?;
        let (k, _) = my.sub(&one)?.div_rem(&a)?;
        let (_, k) = k.div_rem(m)?;
        m.sub(&k)
    }

    /// Ordering. Variable-time.
    #[allow(clippy::should_implement_trait)]
    pub fn cmp(&self, o: &Nat) -> Ordering {
        for i in (0..LIMBS).rev() {
            match self.l[i].cmp(&o.l[i]) {
                Ordering::Equal => {}
                x => return x,
            }
        }
        Ordering::Equal
    }
}

fn add_limbs(a: &[u32; LIMBS], b: &[u32; LIMBS]) -> ([u32; LIMBS], u32) {
    let mut r = [0u32; LIMBS];
    let mut c = 0u64;
    for i in 0..LIMBS {
        let v = u64::from(a[i]) + u64::from(b[i]) + c;
        r[i] = v as u32;
        c = v >> 32;
    }
    (r, c as u32)
}

fn sub_limbs(a: &[u32; LIMBS], b: &[u32; LIMBS]) -> ([u32; LIMBS], u32) {
    let mut r = [0u32; LIMBS];
    let mut borrow = 0u32;
    for i in 0..LIMBS {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow);
        r[i] = d;
        borrow = (b1 | b2) as u32;
    }
    (r, borrow)
}

/// Halve x modulo the odd m (x < m).
fn half_mod(x: &Nat, m: &Nat) -> Nat {
    if x.is_odd() {
        let (s, c) = add_limbs(&x.l, &m.l);
        let mut r = Nat { l: s }.shr(1);
        r.l[LIMBS - 1] |= c << 31;
        r
    } else {
        x.shr(1)
    }
}

/// (a - b) mod m for a, b < m.
fn sub_mod_plain(a: &Nat, b: &Nat, m: &Nat) -> Nat {
    let (d, borrow) = sub_limbs(&a.l, &b.l);
    if borrow == 1 {
        Nat {
            l: add_limbs(&d, &m.l).0,
        }
    } else {
        Nat { l: d }
    }
}

/// a^-1 mod the odd m > 1 (a < m), binary extended Euclid. Variable-time.
fn inv_odd(a: &Nat, m: &Nat) -> Option<Nat> {
    let one = Nat::from_u32(1);
    if a.is_zero() {
        return None;
    }
    let (mut u, mut v) = (a.clone(), m.clone());
    let (mut x1, mut x2) = (one.clone(), Nat::ZERO);
    while u != one && v != one {
        if u.is_zero() || v.is_zero() {
            return None;
        }
        while !u.is_odd() {
            u = u.shr(1);
            x1 = half_mod(&x1, m);
        }
        while !v.is_odd() {
            v = v.shr(1);
            x2 = half_mod(&x2, m);
        }
        if u.cmp(&v) != Ordering::Less {
            u = u.sub(&v)?;
            x1 = sub_mod_plain(&x1, &x2, m);
        } else {
            v = v.sub(&u)?;
            x2 = sub_mod_plain(&x2, &x1, m);
        }
    }
    Some(if u == one { x1 } else { x2 })
}

/// An odd modulus m > 1 of at most MAX_BITS bits with its Montgomery
/// constants (R = 2^(32 * len), len = m's limb count).
#[derive(Clone)]
pub struct Modulus {
    m: Nat,
    len: usize,
    /// -m^-1 mod 2^32.
    m0inv: u32,
    /// R^2 mod m.
    rr: Nat,
}

impl Modulus {
    /// None for an even modulus, 1, or one over MAX_BITS bits.
    pub fn new(m: &Nat) -> Option<Modulus> {
        let bits = m.bits();
        if !m.is_odd() || !(2..=MAX_BITS).contains(&bits) {
            return None;
        }
        let len = bits.div_ceil(32);
        debug_assert!(len <= MAX_MOD_LIMBS);
        // Newton's iteration for m0^-1 mod 2^32 (five steps double the
        // correct bits from 1 to 32).
        let m0 = m.l[0];
        let mut inv = 1u32;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(m0.wrapping_mul(inv)));
        }
        let mut md = Modulus {
            m: m.clone(),
            len,
            m0inv: inv.wrapping_neg(),
            rr: Nat::ZERO,
        };
        // R^2 mod m by doubling 1 (64 * len times).
        let mut r = Nat::from_u32(1);
        for _ in 0..64 * len {
            r = md.double(&r);
        }
        md.rr = r;
        Some(md)
    }

    /// The modulus as a Nat.
    pub fn value(&self) -> &Nat {
        &self.m
    }

    /// The modulus' bit length.
    pub fn bits(&self) -> usize {
        self.m.bits()
    }

    /// (2 * a) mod m for a < m; constant time.
    fn double(&self, a: &Nat) -> Nat {
        let mut d = a.clone();
        let top = d.shl1(0);
        self.cond_sub(d, top)
    }

    /// x - m when x (with `top` above its LIMBS limbs) >= m, else x;
    /// constant time. x < 2m.
    fn cond_sub(&self, x: Nat, top: u32) -> Nat {
        let (d, borrow) = sub_limbs(&x.l, &self.m.l);
        // Subtract when there was a top bit or no borrow.
        let take = top | (borrow ^ 1);
        Nat::select(&x, &Nat { l: d }, take == 1)
    }

    /// x mod m for any x: Horner over chunks of the modulus' limb count,
    /// from the top (r = r R + chunk, three Montgomery products a chunk),
    /// in time that depends only on the modulus and on how many chunks x
    /// takes (so a secret below 2^(32 * len) is safe).
    pub fn reduce(&self, x: &Nat) -> Nat {
        let n = self.len;
        let used = x.l.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
        let one = Nat::from_u32(1);
        let mut r = Nat::ZERO;
        for k in (0..used.div_ceil(n)).rev() {
            let end = (k * n + n).min(LIMBS);
            let mut c = Nat::ZERO;
            c.l[..end - k * n].copy_from_slice(&x.l[k * n..end]);
            // c < R: c R mod m (below 2m before the final subtraction),
            // then out of Montgomery form
            let c = self.mont_mul(&self.mont_mul(&c, &self.rr), &one);
            r = self.add(&self.mont_mul(&r, &self.rr), &c);
        }
        r
    }

    /// A big-endian magnitude of any length, mod m; as [`Modulus::reduce`]
    /// (in time that depends on the bytes' count and the chunks the value
    /// takes), bit by bit beyond a Nat's size.
    pub fn reduce_be_bytes(&self, b: &[u8]) -> Nat {
        if let Some(x) = Nat::from_be_bytes(b) {
            return self.reduce(&x);
        }
        let mut r = Nat::ZERO;
        for &c in b {
            for k in (0..8).rev() {
                r = self.double(&r);
                r = self.add_bit(r, u32::from(c >> k) & 1);
            }
        }
        r
    }

    /// (r + bit) mod m for r < m.
    fn add_bit(&self, r: Nat, bit: u32) -> Nat {
        let (s, c) = add_limbs(&r.l, &Nat::from_u32(bit).l);
        self.cond_sub(Nat { l: s }, c)
    }

    /// (a + b) mod m for a, b < m; constant time.
    pub fn add(&self, a: &Nat, b: &Nat) -> Nat {
        let (s, c) = add_limbs(&a.l, &b.l);
        self.cond_sub(Nat { l: s }, c)
    }

    /// (a - b) mod m for a, b < m; constant time.
    pub fn sub(&self, a: &Nat, b: &Nat) -> Nat {
        let (d, borrow) = sub_limbs(&a.l, &b.l);
        let (s, _) = add_limbs(&d, &self.m.l);
        Nat::select(&Nat { l: d }, &Nat { l: s }, borrow == 1)
    }

    /// a * b * R^-1 mod m (CIOS Montgomery multiplication) for a, b < m;
    /// constant time.
    fn mont_mul(&self, a: &Nat, b: &Nat) -> Nat {
        let n = self.len;
        let m = &self.m.l;
        let mut t = [0u32; MAX_MOD_LIMBS + 2];
        for i in 0..n {
            // t = (t + a b_i + q m) / 2^32 in one pass: q makes the low
            // limb zero, so each limb lands one place down
            let bi = u64::from(b.l[i]);
            let v = u64::from(a.l[0]) * bi + u64::from(t[0]);
            let mut c1 = v >> 32;
            let q = u64::from((v as u32).wrapping_mul(self.m0inv));
            let mut c2 = (q * u64::from(m[0]) + (v & 0xffff_ffff)) >> 32;
            for j in 1..n {
                let v = u64::from(a.l[j]) * bi + u64::from(t[j]) + c1;
                c1 = v >> 32;
                let w = q * u64::from(m[j]) + (v & 0xffff_ffff) + c2;
                c2 = w >> 32;
                t[j - 1] = w as u32;
            }
            let v = u64::from(t[n]) + c1 + c2;
            t[n - 1] = v as u32;
            t[n] = (v >> 32) as u32;
        }
        let mut r = Nat::ZERO;
        // The carry limb stays in place: cond_sub compares and subtracts
        // over all LIMBS limbs (n < LIMBS), so x - m comes out right below
        // 2^(32n) (passing it as `top` left a borrow in the high limbs).
        r.l[..=n].copy_from_slice(&t[..=n]);
        t.zeroize();
        self.cond_sub(r, 0)
    }

    fn enter_mont(&self, a: &Nat) -> Nat {
        self.mont_mul(a, &self.rr)
    }

    fn leave_mont(&self, a: &Nat) -> Nat {
        self.mont_mul(a, &Nat::from_u32(1))
    }

    /// (a * b) mod m for a, b < m; constant time.
    pub fn mul(&self, a: &Nat, b: &Nat) -> Nat {
        let t = self.mont_mul(a, b);
        self.mont_mul(&t, &self.rr)
    }

    /// base^exp mod m, walking `exp`'s bit length: for public exponents
    /// (constant time in `base`).
    pub fn pow(&self, base: &Nat, exp: &Nat) -> Nat {
        self.pow_ct(base, exp, exp.bits())
    }

    /// base^exp mod m for an exponent below 2^bits, in time that depends
    /// only on `bits` and the modulus: for secret bases and exponents.
    /// Bits of `exp` at or above `bits` are ignored. Any base (reduced
    /// first).
    pub fn pow_ct(&self, base: &Nat, exp: &Nat, bits: usize) -> Nat {
        const W: usize = 4;
        let bits = bits.min(32 * LIMBS);
        let b = self.enter_mont(&self.reduce(base));
        let one = self.enter_mont(&Nat::from_u32(1));
        // table[k] = base^k in Montgomery form.
        let mut table: [Nat; 1 << W] = core::array::from_fn(|_| Nat::ZERO);
        table[0] = one.clone();
        table[1] = b;
        for k in 2..1 << W {
            table[k] = self.mont_mul(&table[k - 1], &table[1]);
        }
        let mut acc = one;
        let windows = bits.div_ceil(W);
        for w in (0..windows).rev() {
            if w + 1 != windows {
                for _ in 0..W {
                    acc = self.mont_mul(&acc, &acc);
                }
            }
            let mut idx = 0u32;
            for k in 0..W {
                let i = w * W + k;
                if i < bits {
                    idx |= ((exp.l[i / 32] >> (i % 32)) & 1) << k;
                }
            }
            // Read every entry, keep the one at idx.
            let mut pick = Nat::ZERO;
            for (k, e) in table.iter().enumerate() {
                let hit = mask(((k as u32 ^ idx).wrapping_sub(1) >> 31) & 1);
                for i in 0..LIMBS {
                    pick.l[i] |= e.l[i] & hit;
                }
            }
            acc = self.mont_mul(&acc, &pick);
        }
        self.leave_mont(&acc)
    }

    /// a^-1 mod m for a prime modulus, as a^(m-2) (Fermat), constant
    /// time; None for a = 0 mod m. Only right for a prime m.
    pub fn inv_prime(&self, a: &Nat) -> Option<Nat> {
        let a = self.reduce(a);
        if a.is_zero() {
            return None;
        }
        let e = self.m.sub(&Nat::from_u32(2))?;
        Some(self.pow_ct(&a, &e, self.bits()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Nat {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
        Nat::from_be_bytes(&crate::auth::dec16(s.as_bytes())).unwrap()
    }

    fn hex(n: &Nat) -> String {
        crate::auth::enc16(&n.to_be_vec())
    }

    /// secstore's PAK group p (plan9port pak.c).
    const P: &str = "C41CFBE4D4846F67A3DF7DE9921A49D3B42DC33728427AB159CEC8CBB\
        DB12B5F0C244F1A734AEB9840804EA3C25036AD1B61AFF3ABBC247CD4B384224567A86\
        3A6F020E7EE9795554BCD08ABAD7321AF27E1E92E3DB1C6E7E94FAAE590AE9C48F96D9\
        3D178E809401ABE8A534A1EC44359733475A36A70C7B425125062B1142D";
    const G: &str = "2F1C308DC46B9A44B52DF7DACCE1208CCEF72F69C743ADD4D23271734\
        44ED6E65E074694246E07F9FD4AE26E0FDDD9F54F813C40CB9BCD4338EA6F242AB94CD\
        410E676C290368A16B1A3594877437E516C53A6EEE5493A038A017E955E218E7819734\
        E3E2A6E0BAE08B14258F8C03CC1B30E0DDADFCF7CEDF0727684D3D255F1";
    const Q: &str = "E0F0EF284E10796C5A2A511E94748BA03C795C13";

    #[test]
    fn bytes_round_trip() {
        let n = Nat::from_be_bytes(&[0, 0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(n.to_be_vec(), [1, 2, 3, 4, 5]);
        assert_eq!(n.bits(), 33);
        assert_eq!(Nat::ZERO.to_be_vec(), [0]);
        let mut out = [9u8; 8];
        assert!(n.write_be_bytes(&mut out));
        assert_eq!(out, [0, 0, 0, 1, 2, 3, 4, 5]);
        assert!(!n.write_be_bytes(&mut [0u8; 4]));
        assert!(Nat::from_be_bytes(&[1u8; 4 * LIMBS + 1]).is_none());
        assert!(Nat::from_be_bytes(&[0u8; 4 * LIMBS + 9]).is_some());
        let p = h(P);
        assert_eq!(hex(&p), P.replace(char::is_whitespace, ""));
        assert_eq!(p.bits(), 1024);
    }

    #[test]
    fn plain_arithmetic() {
        let a = h("FFFFFFFFFFFFFFFFFFFFFFFF");
        let one = Nat::from_u32(1);
        assert_eq!(hex(&a.add(&one).unwrap()), "01000000000000000000000000");
        assert_eq!(a.add(&one).unwrap().sub(&one).unwrap(), a);
        assert!(one.sub(&a).is_none());
        // python3: hex(0xFFFFFFFFFFFFFFFFFFFFFFFF**2)
        assert_eq!(
            hex(&a.mul(&a).unwrap()),
            "FFFFFFFFFFFFFFFFFFFFFFFE000000000000000000000001"
        );
        let big = Nat::from_u32(1).shl(32 * LIMBS - 1).unwrap();
        assert!(big.add(&big).is_none());
        assert!(big.mul(&Nat::from_u32(2)).is_none());
        assert!(big.shl(1).is_none());
        assert_eq!(big.shr(32 * LIMBS - 1), one);
        // python3: divmod(P, Q)
        let (q, r) = h(P).div_rem(&h(Q)).unwrap();
        assert_eq!(
            hex(&q),
            "DF310F4E54A5FEC5D86D3E14863921E834113E060F90052AD332B3241CEF2497\
             EFA0303D6344F7C819691A0F9C4A773815AF8EAECFB7EC1D98F039F17A32A7E887D9\
             7251A927D093F44A55577F4D70444AEBD06B9B45695EC23962B175F266895C67D21C\
             4656848614D888A4"
                .replace(char::is_whitespace, "")
        );
        assert_eq!(r, one);
        assert!(one.div_rem(&Nat::ZERO).is_none());
        assert!(one.ct_lt(&a) && !a.ct_lt(&one) && !a.ct_lt(&a));
        assert_eq!(a.cmp(&one), Ordering::Greater);
    }

    #[test]
    fn modular_known_answers() {
        let p = Modulus::new(&h(P)).unwrap();
        let g = h(G);
        let q = h(Q);
        // g generates the order-q subgroup: python3 pow(G, Q, P) == 1.
        assert_eq!(p.pow(&g, &q), Nat::from_u32(1));
        assert_eq!(p.pow_ct(&g, &q, 240), Nat::from_u32(1));
        // python3: hex(pow(G, 0x123456789ABCDEF, P))
        assert_eq!(
            hex(&p.pow(&g, &h("0123456789ABCDEF"))),
            "7D92E3BD1694807C99BEFC12227164887ABCF555D7D15597FFB0125BFA0DBEE1\
             0A54845F3A50D5D2C379935FB60F2D3CE1CAD3B68E35BB7091F3E082B82F4869\
             AC56C39AB7743F7CCCC4D5B3FFB6A22D027E294BED024C4485DCBA2EC5B7E722\
             D90701295B62C8FFD33FBB617E50BC8A05780157F22483F3313EF9CC11376C92"
                .replace(char::is_whitespace, "")
        );
    }

    /// A secret-length exponent (secstore's r, 864 bits) through pow_ct
    /// at the modulus' full length, and the inverse by Fermat.
    #[test]
    fn long_exponent_known_answers() {
        let p = Modulus::new(&h(P)).unwrap();
        let q = h(Q);
        let r = p
            .value()
            .sub(&Nat::from_u32(1))
            .unwrap()
            .div_rem(&q)
            .unwrap()
            .0;
        let base = h(G).add(&Nat::from_u32(12345)).unwrap();
        // python3: hex(pow(G + 12345, (P - 1) // Q, P))
        let want = h(
            "6F0A7952E8B6ECC2CEAE8AB6DCE79EE22EFC5F8D9274E71A9E388CE7F2CCA1C1\
            FBCD8485BB50180A1B98D40F81D202998C1377A91F0A9E34A4FA5A2C7CDA04F9\
            6132E639993FF20310C1E2604973E3D086B8E0894546BDAF8F7DEF48D7359F72\
            72E1E4BB3BA76C34B3EB4524F65E2900E0BE014F8D1762176BA58BA76BA68EF7",
        );
        assert_eq!(p.pow_ct(&base, &r, 1024), want);
        assert_eq!(p.pow(&base, &r), want);
        // python3: hex(pow(G, -1, P))
        let gi = h(
            "5BE70D21763FB1691613520CFF8F431D2CB5334CA3111BA60259F1CE5D9A4227\
            6DAAAFF4B52E2E690C28CCA59F3134E176BDEB038FD2D013FD716AAE73670FD5\
            E786596A023E60D5546BCFBC612186C74E876391E3C99B8D8F2807871923B426\
            E8CDB4F60D3A325889F931C4044310888BB0679B6D4AC8389FB3F56444F0B0C3",
        );
        assert_eq!(p.inv_prime(&h(G)).unwrap(), gi);
        // A base above the modulus is reduced first.
        let big = h(G).add(p.value()).unwrap();
        assert_eq!(p.pow(&big, &r), p.pow(&h(G), &r));
    }

    #[test]
    fn small_moduli_against_plain_arithmetic() {
        let mut s = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..200 {
            let m = (next() >> 2) | 1 | (1 << 40);
            let md = Modulus::new(&Nat::from_u64(m)).unwrap();
            let (a, b, e) = (next() % m, next() % m, next() >> 40);
            let (na, nb) = (Nat::from_u64(a), Nat::from_u64(b));
            let mm = u128::from(m);
            let want_mul = (u128::from(a) * u128::from(b) % mm) as u64;
            assert_eq!(md.mul(&na, &nb), Nat::from_u64(want_mul));
            assert_eq!(
                md.add(&na, &nb),
                Nat::from_u64(((u128::from(a) + u128::from(b)) % mm) as u64)
            );
            assert_eq!(
                md.sub(&na, &nb),
                Nat::from_u64(((u128::from(a) + mm - u128::from(b)) % mm) as u64)
            );
            let mut want = 1u128;
            for i in (0..64).rev() {
                want = want * want % mm;
                if (e >> i) & 1 == 1 {
                    want = want * u128::from(a) % mm;
                }
            }
            assert_eq!(md.pow(&na, &Nat::from_u64(e)), Nat::from_u64(want as u64));
            assert_eq!(
                md.pow_ct(&na, &Nat::from_u64(e), 64),
                Nat::from_u64(want as u64)
            );
            let x = Nat::from_u64(next()).mul(&Nat::from_u64(next())).unwrap();
            let xb = x.to_be_vec();
            let want_red = Nat::from_be_bytes(&xb)
                .unwrap()
                .div_rem(&Nat::from_u64(m))
                .unwrap()
                .1;
            assert_eq!(md.reduce(&x), want_red);
            assert_eq!(md.reduce_be_bytes(&xb), want_red);
            if let Some(inv) = na.inv_mod(&Nat::from_u64(m)) {
                assert_eq!(md.mul(&na, &inv), Nat::from_u32(1));
            }
        }
    }

    #[test]
    fn inverses() {
        let p = Modulus::new(&h(P)).unwrap();
        let g = h(G);
        let gi = p.inv_prime(&g).unwrap();
        assert_eq!(p.mul(&g, &gi), Nat::from_u32(1));
        assert_eq!(g.inv_mod(p.value()).unwrap(), gi);
        assert!(p.inv_prime(&Nat::ZERO).is_none());
        assert!(p.inv_prime(p.value()).is_none());
        // Even modulus (an RSA phi): python3 pow(65537, -1, 0x...).
        let phi = h("C0000000000000000000000000000000000000000000000000000000000000A2");
        let e = Nat::from_u32(65537);
        let d = e.inv_mod(&phi).unwrap();
        assert_eq!(
            hex(&d),
            "2B0F54F0AB0F54F0AB0F54F0AB0F54F0AB0F54F0AB0F54F0AB0F54F0AB0F5515"
        );
        assert_eq!(
            e.mul(&d).unwrap().div_rem(&phi).unwrap().1,
            Nat::from_u32(1)
        );
        assert!(Nat::from_u32(4).inv_mod(&Nat::from_u32(10)).is_none());
        assert!(Nat::from_u32(6).inv_mod(&Nat::from_u32(9)).is_none());
        assert_eq!(
            Nat::from_u32(3).inv_mod(&Nat::from_u32(10)),
            Some(Nat::from_u32(7))
        );
        assert!(Modulus::new(&Nat::from_u32(10)).is_none());
        assert!(Modulus::new(&Nat::from_u32(1)).is_none());
        assert!(Modulus::new(
            &Nat::from_u32(1)
                .shl(MAX_BITS)
                .unwrap()
                .add(&Nat::from_u32(1))
                .unwrap()
        )
        .is_none());
    }
}

#[cfg(test)]
mod carry_tests {
    use super::*;

    /// A Montgomery product can reach 2^(32 len) before its final
    /// subtraction (moduli just under a limb boundary): the carry limb
    /// must take part in it, or the result gets the high limbs of a
    /// borrow.
    #[test]
    fn products_near_the_limb_boundary() {
        // 2^64 - 59 is prime
        let m = Nat::from_u64(u64::MAX - 58);
        let md = Modulus::new(&m).unwrap();
        for i in 1..40u32 {
            let a = m.sub(&Nat::from_u32(i)).unwrap();
            let b = m.sub(&Nat::from_u32(2 * i + 1)).unwrap();
            let want = a.mul(&b).unwrap().div_rem(&m).unwrap().1;
            assert!(md.mul(&a, &b) == want, "i={i}");
        }
    }

    /// The same for squares (a^16 is four of them, in pow).
    #[test]
    fn squares_near_the_limb_boundary() {
        let m = Nat::from_u64(u64::MAX - 58);
        let md = Modulus::new(&m).unwrap();
        for i in 1..40u32 {
            let a = m.sub(&Nat::from_u32(i)).unwrap();
            let mut want = a.clone();
            for _ in 0..4 {
                want = want.mul(&want).unwrap().div_rem(&m).unwrap().1;
            }
            assert!(md.pow(&a, &Nat::from_u32(16)) == want, "i={i}");
        }
    }
}
