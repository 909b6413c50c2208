//! Vectors: RFC 7748 (X448, the same field), RFC 8032 (Ed448 public keys:
//! the same curve, its base point B), and known answers from 9front's own
//! code (drawterm's libauthsrv and libmp, built outside the project and run
//! on the inputs given here), recorded as facts.

use super::*;

fn bytes(h: &str) -> [u8; LEN] {
    // left-padded to 56 bytes, as mptober writes an integer
    let v = crate::auth::dec16(h.as_bytes());
    assert!(v.len() <= LEN, "{h}");
    let mut b = [0u8; LEN];
    b[LEN - v.len()..].copy_from_slice(&v);
    b
}

fn hex(b: &[u8]) -> String {
    crate::auth::enc16(b).to_lowercase()
}

fn fe(h: &str) -> Fe {
    Fe::from_be_bytes(&bytes(h))
}

fn coords(p: &Point) -> [String; 4] {
    [p.x, p.y, p.z, p.t].map(|f| hex(&f.to_be_bytes()))
}

/// An affine point from RFC 8032's encoding, for its base point.
fn affine(x: &str, y: &str) -> Point {
    let (x, y) = (fe(x), fe(y));
    Point {
        x,
        y,
        z: Fe::ONE,
        t: x.mul(&y),
    }
}

/// RFC 8032's encoding: y little-endian, x's low bit in the top bit of a
/// 57th byte.
fn rfc8032_encode(p: &Point) -> Vec<u8> {
    let zi = p.z.invert();
    let (x, y) = (p.x.mul(&zi).to_be_bytes(), p.y.mul(&zi).to_be_bytes());
    let mut out: Vec<u8> = y.iter().rev().copied().collect();
    out.push((x[LEN - 1] & 1) << 7);
    out
}

/// RFC 7748's X448 (a test-only Montgomery ladder over this field).
fn x448(k: &str, u: &str) -> String {
    // both are little-endian: reversed, u is a big-endian integer
    let le = |h: &str| {
        let mut b = [0u8; LEN];
        b.copy_from_slice(&crate::auth::dec16(h.as_bytes()));
        b
    };
    let be = |h: &str| {
        let mut b = le(h);
        b.reverse();
        b
    };
    let mut k = le(k);
    k[LEN - 1] |= 0x80;
    k[0] &= 0xfc;
    let u = Fe::from_be_bytes(&be(u));
    let (mut x2, mut z2, mut x3, mut z3) = (Fe::ONE, Fe::ZERO, u, Fe::ONE);
    let mut swap = 0u32;
    for t in (0..448).rev() {
        let bit = mask((k[t / 8] >> (t % 8)) & 1 == 1);
        let s = swap ^ bit;
        (x2, x3) = (Fe::select(s, &x3, &x2), Fe::select(s, &x2, &x3));
        (z2, z3) = (Fe::select(s, &z3, &z2), Fe::select(s, &z2, &z3));
        swap = bit;
        let a = x2.add(&z2);
        let aa = a.square();
        let b = x2.sub(&z2);
        let bb = b.square();
        let e = aa.sub(&bb);
        let c = x3.add(&z3);
        let d = x3.sub(&z3);
        let da = d.mul(&a);
        let cb = c.mul(&b);
        x3 = da.add(&cb).square();
        z3 = u.mul(&da.sub(&cb).square());
        x2 = aa.mul(&bb);
        z2 = e.mul(&aa.add(&e.mul_small(39081)));
    }
    (x2, x3) = (Fe::select(swap, &x3, &x2), Fe::select(swap, &x2, &x3));
    (z2, z3) = (Fe::select(swap, &z3, &z2), Fe::select(swap, &z2, &z3));
    let _ = (x3, z3);
    let mut out = x2.mul(&z2.invert()).to_be_bytes();
    out.reverse();
    hex(&out)
}

#[test]
fn constants() {
    let p = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    let mut b = [0u8; LEN];
    for (j, pair) in P.chunks_exact(2).enumerate() {
        let v = u64::from(pair[0]) | (u64::from(pair[1]) << BITS);
        for k in 0..7 {
            b[LEN - 1 - (7 * j + k)] = (v >> (8 * k)) as u8;
        }
    }
    assert_eq!(hex(&b), p);
    // p reduces to 0, p + 1 to 1, 2^448 - 1 to 2^224
    assert_eq!(fe(p).is_zero(), u32::MAX);
    assert_eq!(hex(&fe(p).add(&Fe::ONE).to_be_bytes()), hex(&bytes("01")));
    let top = "ff".repeat(LEN);
    assert_eq!(
        hex(&fe(&top).to_be_bytes()),
        hex(&bytes(&format!("01{}", "00".repeat(28))))
    );
    // (p-1)/2 is not negative, (p+1)/2 is
    let half = Fe(HALF);
    assert_eq!(half.add(&half).add(&Fe::ONE).is_zero(), u32::MAX);
    assert_eq!(half.is_negative(), 0);
    assert_eq!(half.add(&Fe::ONE).is_negative(), u32::MAX);
    assert_eq!(Fe::ONE.neg().is_negative(), u32::MAX);
    assert_eq!(Fe::ZERO.is_negative(), 0);
    // 7 is the first non-residue: 2..6 are squares
    for n in 2..NONRESIDUE {
        assert_eq!(Fe::small(n).sqrt().1, u32::MAX, "{n}");
    }
    assert_eq!(Fe::small(NONRESIDUE).sqrt().1, 0);
    // the base point is on the curve: x^2 + y^2 = 1 + d x^2 y^2
    let g = base();
    let (x2, y2) = (g.x.square(), g.y.square());
    assert_eq!(
        x2.add(&y2).ct_eq(&Fe::ONE.add(&x2.mul(&y2).mul_d())),
        u32::MAX
    );
}

#[test]
fn field_laws() {
    let a = fe("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    let b = fe(&"ff".repeat(LEN));
    let c = fe("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffffffffffffffffffffffffffffffffffffffffffffffffffffe");
    for x in [a, b, c, Fe::ONE, Fe::small(2)] {
        assert_eq!(x.mul(&x.invert()).ct_eq(&Fe::ONE), u32::MAX);
        assert_eq!(x.sub(&x).is_zero(), u32::MAX);
        assert_eq!(x.add(&x.neg()).is_zero(), u32::MAX);
        let (r, ok) = x.square().sqrt();
        assert_eq!(ok, u32::MAX);
        assert_eq!(r.square().ct_eq(&x.square()), u32::MAX);
        assert_eq!(
            x.square().isr().square().mul(&x.square()).ct_eq(&Fe::ONE),
            u32::MAX
        );
        assert_eq!(x.mul(&b).ct_eq(&b.mul(&x)), u32::MAX);
        assert_eq!(
            x.add(&a).mul(&c).ct_eq(&x.mul(&c).add(&a.mul(&c))),
            u32::MAX
        );
        assert_eq!(
            x.mul_small(39081).ct_eq(&x.mul(&Fe::small(39081))),
            u32::MAX
        );
    }
    assert_eq!(Fe::ZERO.invert().is_zero(), u32::MAX);
    assert_eq!(Fe::ZERO.sqrt().1, 0);
    // long chains stay in range
    let mut x = b;
    for _ in 0..1000 {
        x = x.sub(&a).mul(&x).add(&c).sub(&b);
    }
    assert_eq!(Fe::from_be_bytes(&x.to_be_bytes()).ct_eq(&x), u32::MAX);
}

#[test]
fn rfc7748_x448() {
    // RFC 7748 section 5.2
    assert_eq!(
        x448(
            "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
            "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086"
        ),
        "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"
    );
    assert_eq!(
        x448(
            "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
            "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db"
        ),
        "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d"
    );
}

#[test]
fn rfc8032_ed448_public_keys() {
    // RFC 8032's base point B (not 9front's G)
    let b = affine(
        "4f1970c66bed0ded221d15a622bf36da9e146570470f1767ea6de324a3d3a46412ae1af72ab66511433b80e18b00938e2626a82bc70cc05e",
        "693f46716eb6bc248876203756c9c7624bea73736ca3984087789c1e05a0c2d73ad3ff1ce67c39c4fdbd132c4ed7c8ad9808795bf230fa14",
    );
    // section 7.4, "Blank" and "1 octet": the clamped scalar (from SHAKE256
    // of the secret key, big-endian here) and the public key
    for (s, public) in [
        (
            "b7bbc01fa70105a74feece1566f5f98374d1ee1ed836c005b99c51381d5e0275eef3a45b54f011b488a572f46766edc78e80a0cea03039e8",
            "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
        ),
        (
            "f2fe3ad28fad21358ff9c369c24b14dc010e8e041603deaf515195aac6dc63f745ecfe4b76e07715c6c0ba822c7c79c3234f7035905ea988",
            "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480",
        ),
    ] {
        assert_eq!(hex(&rfc8032_encode(&b.scale(&bytes(s)))), public);
    }
}

#[test]
fn ninefront_scalar_multiples() {
    for (x, want) in SCALAR {
        assert_eq!(hex(&spake2ee_1(&bytes(x), &IDENTITY)), *want, "x = {x}");
    }
}

#[test]
fn ninefront_elligator() {
    for (h, want) in H2P {
        let p = Point::from_hash(&bytes(h));
        assert_eq!(coords(&p), want.map(String::from), "h = {h}");
    }
}

#[test]
fn ninefront_decode() {
    for (s, want) in DECODE {
        let got = Point::decode(&bytes(s)).map(|p| coords(&p));
        assert_eq!(got, want.map(|w| w.map(String::from)), "s = {s}");
    }
}

#[test]
fn decaf_is_one_encoding_per_class() {
    let g = base();
    let x = bytes("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    let p = g.scale(&x);
    let e = p.encode();
    // (1, 0) has order 4, 2 (1, 0) = (0, -1) order 2: 9front's decaf
    // (as its C code shows) encodes P and P + (0, -1) alike, P + (1, 0)
    // not
    let t4 = Point {
        x: Fe::ONE,
        y: Fe::ZERO,
        z: Fe::ONE,
        t: Fe::ZERO,
    };
    let q = p.add(&t4);
    assert_ne!(q.encode(), e);
    assert_eq!(q.add(&t4).encode(), e);
    assert_eq!(q.add(&t4).add(&t4).encode(), q.encode());
    let t2 = t4.add(&t4);
    assert_eq!(t2.encode(), IDENTITY.encode());
    // another Z
    let k = Fe::small(12345);
    let scaled = Point {
        x: p.x.mul(&k),
        y: p.y.mul(&k),
        z: p.z.mul(&k),
        t: p.t.mul(&k),
    };
    assert_eq!(scaled.encode(), e);
    // decode gives a point of the class back
    let d = Point::decode(&e).unwrap();
    assert_eq!(d.encode(), e);
    // 2G = G + G, and scaling distributes
    assert_eq!(g.add(&g).encode(), g.scale(&bytes("02")).encode());
    assert_eq!(
        g.scale(&bytes("05")).encode(),
        g.scale(&bytes("02")).add(&g.scale(&bytes("03"))).encode()
    );
    assert_eq!(g.add(&g.neg()).encode(), IDENTITY.encode());
}

include!("vectors.rs");

#[test]
fn the_base_comb_equals_the_window() {
    let g = base();
    let mut scalars = vec![[0u8; LEN], [0xff; LEN], bytes("01"), bytes("02")];
    // one bit at each tooth's edge, and pseudo-random scalars
    for i in [0usize, 89, 90, 179, 180, 269, 270, 359, 360, 447] {
        let mut s = [0u8; LEN];
        s[LEN - 1 - i / 8] = 1 << (i % 8);
        scalars.push(s);
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..6 {
        let mut s = [0u8; LEN];
        for b in s.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        scalars.push(s);
    }
    for s in &scalars {
        assert_eq!(
            Point::scale_base(s).encode(),
            g.scale(s).encode(),
            "scalar {}",
            hex(s)
        );
    }
    // and the window's T-less doublings still give 9front's multiples
    assert_eq!(
        g.scale(&bytes("05")).encode(),
        g.double().double().add(&g).encode()
    );
}
