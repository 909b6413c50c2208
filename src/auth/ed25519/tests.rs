//! Known answers (RFC 8032's vectors), the constants checked from their
//! definitions, and equivalence with ed25519-dalek (signatures,
//! `verify_strict`'s refusals) and the spake2 crate (either side).

use super::*;

fn bytes<const N: usize>(h: &str) -> [u8; N] {
    crate::auth::dec16(h.as_bytes()).try_into().expect("length")
}

/// A seeded generator (splitmix64): the same cases every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0; N];
        self.fill(&mut b);
        b
    }

    fn vec(&mut self, max: usize) -> Vec<u8> {
        let mut v = vec![0; self.next() as usize % (max + 1)];
        self.fill(&mut v);
        v
    }
}

fn small(n: u32) -> Fe {
    Fe([n, 0, 0, 0, 0, 0, 0, 0, 0, 0])
}

#[test]
fn constants_are_what_they_claim() {
    let d = Fe::from_bytes(&D);
    // d = -121665/121666
    assert!(d.mul(&small(121666)).add(&small(121665)).ct_eq(&Fe::ZERO) != 0);
    assert!(d.add(&d).ct_eq(&Fe::from_bytes(&D2)) != 0);
    let i = Fe::from_bytes(&SQRT_M1);
    assert!(i.square().ct_eq(&Fe::ONE.neg()) != 0);
    // B: y = 4/5, on the curve, x even, and what its encoding decodes to
    let b = Point::base();
    assert!(b.y.mul(&small(5)).ct_eq(&small(4)) != 0);
    let (xx, yy) = (b.x.square(), b.y.square());
    assert!(yy.sub(&xx).ct_eq(&Fe::ONE.add(&d.mul(&xx).mul(&yy))) != 0);
    assert_eq!(b.compress(), BASE_Y);
    let p = Point::decompress(&BASE_Y).unwrap();
    assert!(p.x.ct_eq(&b.x) != 0 && p.y.ct_eq(&b.y) != 0);
    // L B is the identity, (L-1) B is -B
    let lb = b.mul(&L);
    assert!(lb.x.ct_eq(&Fe::ZERO) != 0 && lb.y.ct_eq(&lb.z) != 0);
    let mut l1 = L;
    l1[0] -= 1;
    assert_eq!(b.mul(&l1).compress(), b.neg().compress());
}

#[test]
fn field_edges() {
    // p and p + 1 as inputs (non-canonical) reduce to 0 and 1
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert_eq!(Fe::from_bytes(&p).to_bytes(), [0; 32]);
    p[0] = 0xee;
    assert_eq!(Fe::from_bytes(&p).to_bytes(), Fe::ONE.to_bytes());
    // p - 1 stays; 0 - 1 is p - 1
    p[0] = 0xec;
    assert_eq!(Fe::from_bytes(&p).to_bytes(), p);
    assert_eq!(Fe::ZERO.sub(&Fe::ONE).to_bytes(), p);
    // inverses
    let mut rng = Rng(1);
    for _ in 0..20 {
        let a = Fe::from_bytes(&rng.array());
        assert!(a.mul(&a.invert()).ct_eq(&Fe::ONE) != 0);
    }
    assert_eq!(Fe::ZERO.invert().to_bytes(), [0; 32]);
}

#[test]
fn scalars_reduce_mod_l() {
    let mut wide = [0u8; 64];
    wide[..32].copy_from_slice(&L);
    assert_eq!(reduce_wide(&wide), [0; 32]);
    wide[0] += 5;
    assert_eq!(reduce_wide(&wide)[..2], [5, 0]);
    assert_eq!(reduce_wide(&[0xff; 64])[..], {
        // 2^512 - 1 mod L, from Python
        bytes::<32>("000f9c44e31106a447938568a71b0ed065bef517d273ecce3d9a307c1b419903")
    });
    assert!(is_canonical(&[0; 32]));
    assert!(!is_canonical(&L));
    let mut l1 = L;
    l1[0] -= 1;
    assert!(is_canonical(&l1));
    // (L - 1)(L - 1) + 0 = 1
    assert_eq!(mul_add(&l1, &l1, &[0; 32])[..2], [1, 0]);
}

/// RFC 8032 section 7.1: (secret, public, message, signature).
const RFC8032: &[(&str, &str, &str, &str)] = &[
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    // TEST SHA(abc): the message is SHA-512("abc")
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

#[test]
fn rfc8032_vectors() {
    for (sk, pk, msg, sig) in RFC8032 {
        let (seed, msg) = (bytes::<32>(sk), crate::auth::dec16(msg.as_bytes()));
        let public = public_key(&seed);
        assert_eq!(public, bytes::<32>(pk), "{sk}");
        let s = sign(&seed, &public, &msg);
        assert_eq!(s, bytes::<64>(sig), "{sk}");
        assert!(verify(&public, &msg, &s));
        let mut other = msg.clone();
        other.push(0);
        assert!(!verify(&public, &other, &s));
    }
    assert_eq!(
        Sha512::digest(b"abc")[..],
        crate::auth::dec16(RFC8032[3].2.as_bytes())[..]
    );
}

/// dalek's `verify_strict`, a key it cannot decode refused like a bad
/// signature.
fn dalek_verify(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .map(|vk| {
            vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
                .is_ok()
        })
        .unwrap_or(false)
}

#[test]
fn signatures_equal_ed25519_dalek() {
    let mut rng = Rng(2);
    for _ in 0..200 {
        let seed: [u8; 32] = rng.array();
        let msg = rng.vec(300);
        let dk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = public_key(&seed);
        assert_eq!(public, dk.verifying_key().to_bytes());
        let sig = sign(&seed, &public, &msg);
        use ed25519_dalek::Signer;
        assert_eq!(sig, dk.sign(&msg).to_bytes());
        assert!(verify(&public, &msg, &sig));
    }
}

/// Encodings of points of small order (y = 1, -1, 0, the order-8 ones),
/// some with the sign bit set, and non-canonical ones (y = p + k).
fn odd_encodings() -> Vec<[u8; 32]> {
    let mut v = vec![
        bytes("0100000000000000000000000000000000000000000000000000000000000000"),
        bytes("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        bytes("0000000000000000000000000000000000000000000000000000000000000000"),
        bytes("0000000000000000000000000000000000000000000000000000000000000080"),
        bytes("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        bytes("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        bytes("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
        bytes("0100000000000000000000000000000000000000000000000000000000000080"),
    ];
    for k in 0..19u8 {
        let mut p = [0xff; 32];
        p[0] = 0xed + k;
        p[31] = 0x7f;
        v.push(p);
        p[31] = 0xff;
        v.push(p);
    }
    v
}

#[test]
fn verify_refuses_what_verify_strict_refuses() {
    let mut rng = Rng(3);
    let odd = odd_encodings();
    for e in &odd {
        assert_eq!(
            Point::decompress(e).is_some(),
            ed25519_dalek::VerifyingKey::from_bytes(e).is_ok(),
            "{e:02x?}"
        );
    }
    for round in 0..300 {
        let seed: [u8; 32] = rng.array();
        let mut msg = rng.vec(100);
        let mut public = public_key(&seed);
        let mut sig = sign(&seed, &public, &msg);
        match round % 7 {
            6 => {} // untouched: both accept
            0 => sig[rng.next() as usize % 64] ^= 1 << (rng.next() % 8),
            1 => public[rng.next() as usize % 32] ^= 1 << (rng.next() % 8),
            2 if !msg.is_empty() => {
                let i = rng.next() as usize % msg.len();
                msg[i] ^= 1;
            }
            3 => {
                // S + L: the same point, a non-canonical scalar
                let mut c = 0u16;
                for i in 0..32 {
                    c += u16::from(sig[32 + i]) + u16::from(L[i]);
                    sig[32 + i] = c as u8;
                    c >>= 8;
                }
            }
            4 => public = odd[rng.next() as usize % odd.len()],
            _ => sig[..32].copy_from_slice(&odd[rng.next() as usize % odd.len()]),
        }
        assert_eq!(
            verify(&public, &msg, &sig),
            dalek_verify(&public, &msg, &sig),
            "round {round}"
        );
    }
    // With A the identity, R = r B and S = r satisfy S B = R + k A for
    // every message: plain verification accepts it, strict refuses
    let r = reduce_wide(&rng.array());
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&Point::base().mul(&r).compress());
    sig[32..].copy_from_slice(&r);
    let a = Point::decompress(&odd[0]).unwrap();
    let k = reduce_wide(&sha512(&[&sig[..32], &odd[0], b"any"]));
    let rhs = Point::base().mul(&r).add(&a.mul(&k)).compress();
    assert_eq!(rhs[..], sig[..32]);
    assert!(!verify(&odd[0], b"any", &sig));
    assert!(!dalek_verify(&odd[0], b"any", &sig));
}

#[test]
fn spake2_constants_are_the_crate_s() {
    use spake2::{Ed25519Group, Group};
    assert_eq!(Ed25519Group::element_to_bytes(&Ed25519Group::const_m()), M);
    assert_eq!(Ed25519Group::element_to_bytes(&Ed25519Group::const_n()), N);
    for c in [M, N] {
        let p = Point::decompress(&c).unwrap();
        assert_eq!(p.compress(), c);
        assert!(!p.is_small_order());
    }
}

#[test]
fn spake2_keys_equal_the_crate_s_either_side() {
    use spake2::{Ed25519Group, Identity, Password, Spake2 as Theirs};
    let mut rng = Rng(4);
    let (ia, ib) = (b"warden client", b"warden signer");
    let ids = (Identity::new(ia), Identity::new(ib));
    for round in 0..40 {
        let pw = rng.vec(40);
        let (mine, my_msg) = Spake2::start(round % 2 == 0, &pw, ia, ib, &rng.array());
        let p = Password::new(&pw);
        let (theirs, their_msg) = if round % 2 == 0 {
            Theirs::<Ed25519Group>::start_b(&p, &ids.0, &ids.1)
        } else {
            Theirs::<Ed25519Group>::start_a(&p, &ids.0, &ids.1)
        };
        let k = theirs.finish(&my_msg).unwrap();
        assert_eq!(mine.finish(&their_msg).unwrap()[..], k[..], "round {round}");
    }
    // both sides ours; a wrong password gives another key
    let (a, ma) = Spake2::start(true, b"pw", ia, ib, &rng.array());
    let (b, mb) = Spake2::start(false, b"pw", ia, ib, &rng.array());
    let (c, mc) = Spake2::start(false, b"wrong", ia, ib, &rng.array());
    let (a2, _) = Spake2::start(true, b"pw", ia, ib, &rng.array());
    let ka = a.finish(&mb).unwrap();
    assert_eq!(ka, b.finish(&ma).unwrap());
    assert_ne!(a2.finish(&mc).unwrap(), c.finish(&ma).unwrap());
    // refusals: length, side, a y off the curve
    let (a, _) = Spake2::start(true, b"pw", ia, ib, &rng.array());
    assert!(a.finish(&ma).is_err());
    let (a, _) = Spake2::start(true, b"pw", ia, ib, &rng.array());
    assert!(a.finish(&mb[..32]).is_err());
    let mut off = mb.clone();
    off[1..].copy_from_slice(&bytes::<32>(
        "0200000000000000000000000000000000000000000000000000000000000000",
    ));
    let (a, _) = Spake2::start(true, b"pw", ia, ib, &rng.array());
    assert!(Point::decompress(off[1..].try_into().unwrap()).is_none());
    assert!(a.finish(&off).is_err());
}

#[test]
fn doubling_is_adding_a_point_to_itself() {
    let mut rng = Rng(5);
    for _ in 0..10 {
        let p = Point::base().mul(&rng.array());
        assert_eq!(p.double().compress(), p.add(&p).compress());
    }
    let i = Point::IDENTITY.double();
    assert!(i.x.ct_eq(&Fe::ZERO) != 0 && i.y.ct_eq(&i.z) != 0);
}
