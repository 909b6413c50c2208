//! Known answers from 9front's authpak.c and passtokey.c (drawterm's
//! libauthsrv, built outside the project): the password's AES key, the
//! points of authpak_hash (X, Y, Z, T of PM and PN), the two sides'
//! secrets as authpak_new drew them, their public keys, and the pakkey
//! both derived in authpak_finish.

use super::*;
use crate::auth::keyfs::account::passtoaeskey;

struct Kat {
    password: &'static str,
    user: &'static str,
    aes: &'static str,
    pakhash: &'static str,
    xc: &'static str,
    yc: &'static str,
    xs: &'static str,
    ys: &'static str,
    pakkey: &'static str,
}

const KATS: [Kat; 2] = [
    Kat {
        password: "password",
        user: "glenda",
        aes: "15d13256344211e56c52f50c539de223",
        pakhash: "93ff01be8a0b83b660e720fbace16aaa51cb196307e773be7c0a012c07e533f9219a2d8608b554934ccb106f3764fb92fb7b47ccc2b7ab0c2670e3ec92945f97b74ddfe2d612be6345ebe68db878bf7d130471c61518f35dd10b838e17998af703a42dab86f14beaf269aeada15979cdc4ce1359b49bc6f9a2c7910a6100b5199b3fd92982fe5b57cbdec5bff8d3ac6fc294c386a6e285f7835a33c59be5e96a5718fa8b75e4da4ff64dc8ae21876bace48c2425bf41a659af6acfa3d2e98017aa364f03714b3478c04d28b8dd47a26219439d7128b4f41f0b6088ced861ad2f4797722f4461e9505dd27a921a71afcdcad19dbb33ac8d8b60b805c022763c12221d58fa56ca896c3c2f41738c0ed59b161c6290a91c911e5db6c30ca3c575cf12420cee8e24acc0256fa19ce109b47b3c47a65973df4d244f7eeb9cfb46a3e7487e77a3892a045f98a64cf0ac16c4043deac96dd2d0e6a8af4f96da09171befc46a9310552bfda6f06617dad35cfd2450e0d44119796877cb7c0efcc8dd565f57627ccdbe7ea5d5c0f9becb5d603c3fdf3b8556caf0cf5b93a6240143235a3d309857b3a55c10a1b814e6a1a6d3ca4edaab960b03348b60c3395beed7d0c3cc",
        xc: "23fed9b48f6a4520fbd6b18c67421df8d3ae89643f1af5d0ab86613c17f2cda8835e3914efcaa5805b3611ecc7a27d58330ee9c49f7a5530",
        yc: "33775fcda32948d6fba5a23d5bd540ce15a8bcb804d46ecd2fa753cd962dfaf3af4593e5953dd944d3474fe5ccafcf1035e8a29fc75af500",
        xs: "4823fed9b48f6a4520fbd6b18c67421df8d3ae89643f1af5d0ab86613c17f2cda8835e3914efcaa5805b3611ecc7a27d58330ee9c49f7a55",
        ys: "01fb16bb950b019e3a930838038e291a97df2c240b752ed40f40385953b7249d7d90393a8e2832a19ca5862b24dd1b3576d3fd2f92a9df43",
        pakkey: "95458802173d778eb3c6a7ffa745c583ba5e2d68a2434d554650f637b63611f5",
    },
    Kat {
        password: "glenda's secret",
        user: "glenda",
        aes: "a91114409ef4c4ba76af88bfb390f69b",
        pakhash: "8a8aadd593c0edfca6c204ac4b3b9143e2b8c39d84dc8dfe62880398c5eea33f9a60c708c9cdb7d1be6c986e85a62cf26a7e9b113eaba5687b447f6af2534685358a1bcd8d4d782ce65f2420569e80cf07bba9cdb5acdde8b50747a644981fbb8c1d21db6d74a516e76d1945db6a4a8ae568ae474d421c61613ce89ccb54b87434d3c6785b843e30abd83f47ee3f4c513465de43e87a297728e9aab2a81be815ec805cf2e1b8a16e3187fc8086a55d43948263bcce8fcd01fb73e9f6dbbdb6d5d90766a16d2b1d537058fee13f3cbd347476ddaede2c624991232bbd0bf0e68f0dfedf413c0cc333ac377e02ebe9cca38d0eb2301ea5eb7daba19ce841864007257aba5cd03ce01d6079aa4f603032f2fe068cde3d378a3cfd8a6b2f867151de243f07920ba7062df759c3972e29fe45ef9f28e3e7ea2c392fcbde479b7829f0b78cd72d2e5e7ee3566ef5b98862426a21768fad816775f8e038cf725114cb7b62252de78298860f9c0bbe17e37136f691fdf224872f0d9d451df119280bc849a2e9e0b5744db35fb084a55a4f5c90a082b0b393109a21303ce48a020ff34186af04a86b7146dbd5bbfabc0dcb75134e9e858ade0e0dfba0706aceaabfb3937e",
        xc: "6d4823fed9b48f6a4520fbd6b18c67421df8d3ae89643f1af5d0ab86613c17f2cda8835e3914efcaa5805b3611ecc7a27d58330ee9c49f7a",
        yc: "44c69fc65a3ced6225d05cdfdb43533188d03fb979a308e250057b1684b3cd53f63f36b41fe5020127113073d860221e52648933c2c63a35",
        xs: "926d4823fed9b48f6a4520fbd6b18c67421df8d3ae89643f1af5d0ab86613c17f2cda8835e3914efcaa5805b3611ecc7a27d58330ee9c49f",
        ys: "68d5f4d808e728135cc37eeb64886a24a4d1df6241e36785a626ebef99759d0ba8927036016f7a7e61dc4e73e5bdb9c00dfbfbb77aab9d83",
        pakkey: "4555a21d342bb993efa5025b58450c596e1840ba80403cbf56829f8ecbc5459f",
    },
];

fn hex(b: &[u8]) -> String {
    crate::auth::enc16(b).to_lowercase()
}

fn b56(h: &str) -> Zeroizing<[u8; LEN]> {
    let mut b = Zeroizing::new([0u8; LEN]);
    b.copy_from_slice(&crate::auth::dec16(h.as_bytes()));
    b
}

fn hash(k: &Kat) -> PakHash {
    let aes = passtoaeskey(k.password.as_bytes());
    assert_eq!(hex(&aes), k.aes);
    PakHash::new(&aes, k.user)
}

#[test]
fn ninefront_authpak() {
    for k in &KATS {
        let h = hash(k);
        assert_eq!(hex(&h.to_bytes()), k.pakhash, "{}", k.password);
        let c = PakPriv::with_secret(&h, true, b56(k.xc));
        let s = PakPriv::with_secret(&h, false, b56(k.xs));
        assert_eq!(hex(c.y()), k.yc);
        assert_eq!(hex(s.y()), k.ys);
        let (yc, ys) = (*c.y(), *s.y());
        assert_eq!(hex(&c.finish(&h, &ys).unwrap()[..]), k.pakkey);
        assert_eq!(hex(&s.finish(&h, &yc).unwrap()[..]), k.pakkey);
    }
}

#[test]
fn wrong_password_other_key_same_shapes() {
    let right = hash(&KATS[0]);
    let wrong = PakHash::new(&passtoaeskey(b"not it"), "glenda");
    let mut n = 0u8;
    let mut random = |b: &mut [u8]| {
        for x in b {
            n = n.wrapping_mul(13).wrapping_add(7);
            *x = n;
        }
    };
    let c = PakPriv::new(&wrong, true, &mut random);
    let s = PakPriv::new(&right, false, &mut random);
    let (yc, ys) = (*c.y(), *s.y());
    let kc = c.finish(&wrong, &ys).unwrap();
    let ks = s.finish(&right, &yc).unwrap();
    assert_ne!(kc[..], ks[..]);
    // the other user's points differ too
    let other = PakHash::new(&passtoaeskey(b"password"), "bootes");
    assert_ne!(other.to_bytes()[..], right.to_bytes()[..]);
}

#[test]
fn bad_peer_keys() {
    let h = hash(&KATS[0]);
    let fresh = || PakPriv::with_secret(&h, true, b56(KATS[0].xc));
    assert_eq!(
        fresh().finish(&h, &[0u8; 55]).err(),
        Some(PakError::Length(55))
    );
    assert_eq!(
        fresh().finish(&h, &[0u8; 57]).err(),
        Some(PakError::Length(57))
    );
    // above (p-1)/2, and a non-square
    assert_eq!(
        fresh().finish(&h, &[0xff; 56]).err(),
        Some(PakError::BadKey)
    );
    let mut one = [0u8; 56];
    one[55] = 1;
    assert_eq!(fresh().finish(&h, &one).err(), Some(PakError::BadKey));
    // the identity decodes (9front accepts it too); the key is still a key
    assert!(fresh().finish(&h, &[0u8; 56]).is_ok());
    assert!(PakError::BadKey.to_string().contains("decode"));
}

#[test]
fn scalars_are_below_p_and_nonzero() {
    let h = hash(&KATS[0]);
    // a source that first gives p itself, then zero, then 1
    let mut calls = 0;
    let mut random = |b: &mut [u8]| {
        calls += 1;
        match calls {
            1 => b.copy_from_slice(&P_BYTES),
            2 => b.fill(0),
            _ => {
                b.fill(0);
                b[55] = 1;
            }
        }
    };
    let p = PakPriv::new(&h, true, &mut random);
    assert_eq!(calls, 3);
    let mut one = [0u8; 56];
    one[55] = 1;
    assert_eq!(*p.x, one);
}

#[test]
fn hkdf_rfc5869_case_1() {
    // RFC 5869 A.1
    let ikm = [0x0b; 22];
    let salt = crate::auth::dec16(b"000102030405060708090a0b0c");
    let info = crate::auth::dec16(b"f0f1f2f3f4f5f6f7f8f9");
    let mut okm = [0u8; 42];
    hkdf_sha256(&salt, &ikm, &info, &mut okm);
    assert_eq!(
        hex(&okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

#[test]
fn ninefront_session_secret() {
    // 9front's hkdf_x as factotum's establish calls it: randoms 0, 3, 6,
    // ... (64 bytes), ticket key a0..bf
    let r: [u8; 64] = std::array::from_fn(|i| (i * 3) as u8);
    let (mut c, mut s) = ([0u8; 32], [0u8; 32]);
    c.copy_from_slice(&r[..32]);
    s.copy_from_slice(&r[32..]);
    let key: [u8; 32] = std::array::from_fn(|i| 0xa0 + i as u8);
    assert_eq!(
        hex(&session_secret(&c, &s, &key)[..]),
        "83516320c26d4196ac5088719485215a5a410c76d001b43e4b1dc463f68c94d3e5499f1c84e3d58d4637dc2e46a102b8d6514a530aa5642d0df4a334d903d33d3673e9a195c591c25f3a2f39e2095fa0df381cb2b71f7ee148783df4d547c79cf9b8326045e2b132c399a9513ab6c6a707fbf494c13fe8c802d7ecb7c4f6feb0caa757a33fcdaca935456bc160d5df88087849aaa6191ec8acb181b86001e72aba5ff3e5906f3f433e8661b4de510ec84ee5fcdadcf280a7ade2d0bac1097eae7e807cc03732e12a3934c3391d7bbf425c3b41d2280231e0505bb383b37c0ca07769ac95f5c24acb7e48c008a08cae3675d6acb5b5648081f845fe42d01ffc21"
    );
}
