//! 9front's "form1" tickets and authenticators (libauthsrv form1.c,
//! convT2M.c, convA2M.c): the type byte of a message is replaced by an
//! 8-byte signature, which with a little-endian 32-bit counter forms the
//! 12-byte ChaCha20-Poly1305 nonce (RFC 8439, no associated data); the
//! 16-byte tag follows the ciphertext.
//!
//! ```text
//! sealed:        sig[8] counter[4] ciphertext[n-1] tag[16]
//! Ticket (124):  num chal[8] cuid[28] suid[28] key[32]   in a pakkey
//!                (Tc: the client's, Ts: the server's)
//! Authenticator (68): num chal[8] rand[32]                in the ticket key
//! ```
//!
//! Signatures: AuthPass "form1 PR", AuthTs "form1 Ts", AuthTc "form1 Tc",
//! AuthAs "form1 As", AuthAc "form1 Ac", AuthTp "form1 Tp", AuthHr
//! "form1 Hr". A message whose first 8 bytes are none of these is a DES
//! (form 0) message. Opening checks the tag before anything is read.

use super::wire::{get_name as name, put_name, types, FormatError, ANAMELEN, CHALLEN};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use std::sync::atomic::{AtomicU32, Ordering};
use zeroize::Zeroizing;

/// A form1 ticket key, and a random of an authenticator.
pub const NONCELEN: usize = 32;
const HEAD: usize = 12;
const TAG: usize = 16;
/// A sealed form1 ticket.
pub const TICKETLEN: usize = HEAD + CHALLEN + 2 * ANAMELEN + NONCELEN + TAG;
/// A sealed form1 authenticator.
pub const AUTHENTLEN: usize = HEAD + CHALLEN + NONCELEN + TAG;

/// The password-change ticket's and http reply's tags (authsrv.h).
pub const AUTH_TP: u8 = 68;
pub const AUTH_HR: u8 = 69;

const SIGS: [(u8, &[u8; 8]); 7] = [
    (types::AUTH_PASS, b"form1 PR"),
    (types::AUTH_TS, b"form1 Ts"),
    (types::AUTH_TC, b"form1 Tc"),
    (types::AUTH_AS, b"form1 As"),
    (types::AUTH_AC, b"form1 Ac"),
    (AUTH_TP, b"form1 Tp"),
    (AUTH_HR, b"form1 Hr"),
];

/// The message type a sealed message's signature names (form1check), or
/// None: not a form1 message.
pub fn check(msg: &[u8]) -> Option<u8> {
    let sig = msg.get(..8)?;
    SIGS.iter().find(|(_, s)| &s[..] == sig).map(|&(n, _)| n)
}

/// A nonce counter for this process, as 9front keeps one: every message
/// under a key gets a different nonce (keys are fresh per exchange, and
/// one key may seal several messages).
pub fn next_counter() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Seal `body` (the message after its type byte) as type `num`. None for a
/// type with no signature.
pub fn seal(num: u8, body: &[u8], key: &[u8; 32], counter: u32) -> Option<Vec<u8>> {
    let sig = SIGS.iter().find(|(n, _)| *n == num)?.1;
    let mut out = Vec::with_capacity(HEAD + body.len() + TAG);
    out.extend_from_slice(sig);
    out.extend_from_slice(&counter.to_le_bytes());
    out.extend_from_slice(body);
    let mut nonce = [0u8; HEAD];
    nonce.copy_from_slice(&out[..HEAD]);
    let c = ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key));
    let tag = c
        .encrypt_inout_detached(
            &chacha20poly1305::Nonce::from(nonce),
            &[],
            out[HEAD..].as_mut().into(),
        )
        .ok()?;
    out.extend_from_slice(&tag);
    Some(out)
}

/// Open a sealed message: its type and body, or None when it is not form1,
/// too short, or its tag does not verify under `key`.
pub fn open(msg: &[u8], key: &[u8; 32]) -> Option<(u8, Zeroizing<Vec<u8>>)> {
    let num = check(msg)?;
    if msg.len() <= HEAD + TAG {
        return None;
    }
    let (head, rest) = msg.split_at(HEAD);
    let (ct, tag) = rest.split_at(rest.len() - TAG);
    let mut nonce = [0u8; HEAD];
    nonce.copy_from_slice(head);
    let tag = chacha20poly1305::Tag::try_from(tag).ok()?;
    let mut body = Zeroizing::new(ct.to_vec());
    ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key))
        .decrypt_inout_detached(
            &chacha20poly1305::Nonce::from(nonce),
            &[],
            body.as_mut_slice().into(),
            &tag,
        )
        .ok()?;
    Some((num, body))
}

/// Why a sealed message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not the length of this message.
    Length { want: usize, got: usize },
    /// Not form1, or its tag does not verify: sealed under another key,
    /// or changed on the way.
    Forged,
    /// It opened but a name in it is not one.
    Format(FormatError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Length { want, got } => write!(f, "need {want} bytes, got {got}"),
            OpenError::Forged => write!(f, "does not open with this key"),
            OpenError::Format(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {}

/// A form1 ticket.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    pub num: u8,
    pub chal: [u8; CHALLEN],
    pub cuid: String,
    pub suid: String,
    pub key: Zeroizing<[u8; NONCELEN]>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("num", &self.num)
            .field("cuid", &self.cuid)
            .field("suid", &self.suid)
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// Seal in `key` (a pakkey) with nonce counter `counter`.
    pub fn seal(&self, key: &[u8; 32], counter: u32) -> Result<Vec<u8>, FormatError> {
        // body: chal cuid suid key (the type goes into the signature)
        let mut b = Zeroizing::new([0u8; CHALLEN + 2 * ANAMELEN + NONCELEN]);
        let body = &mut b[..];
        body[..CHALLEN].copy_from_slice(&self.chal);
        put_name(&mut body[CHALLEN..CHALLEN + ANAMELEN], &self.cuid, "cuid")?;
        put_name(
            &mut body[CHALLEN + ANAMELEN..CHALLEN + 2 * ANAMELEN],
            &self.suid,
            "suid",
        )?;
        body[CHALLEN + 2 * ANAMELEN..].copy_from_slice(&self.key[..]);
        seal(self.num, body, key, counter).ok_or(FormatError::Name { field: "num" })
    }

    /// Open a 124-byte form1 ticket with `key`.
    pub fn open(msg: &[u8], key: &[u8; 32]) -> Result<Ticket, OpenError> {
        if msg.len() != TICKETLEN {
            return Err(OpenError::Length {
                want: TICKETLEN,
                got: msg.len(),
            });
        }
        let (num, body) = open(msg, key).ok_or(OpenError::Forged)?;
        let mut chal = [0u8; CHALLEN];
        chal.copy_from_slice(&body[..CHALLEN]);
        let mut k = Zeroizing::new([0u8; NONCELEN]);
        k.copy_from_slice(&body[CHALLEN + 2 * ANAMELEN..]);
        Ok(Ticket {
            num,
            chal,
            // 9front keeps at most 27 bytes of each name
            cuid: name(&body[CHALLEN..CHALLEN + ANAMELEN - 1], "cuid")
                .map_err(OpenError::Format)?,
            suid: name(
                &body[CHALLEN + ANAMELEN..CHALLEN + 2 * ANAMELEN - 1],
                "suid",
            )
            .map_err(OpenError::Format)?,
            key: k,
        })
    }
}

/// A form1 authenticator.
#[derive(Clone, PartialEq, Eq)]
pub struct Authenticator {
    pub num: u8,
    pub chal: [u8; CHALLEN],
    pub rand: Zeroizing<[u8; NONCELEN]>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("num", &self.num)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Seal in the ticket's key.
    pub fn seal(&self, key: &[u8; 32], counter: u32) -> Option<Vec<u8>> {
        let mut body = Zeroizing::new([0u8; CHALLEN + NONCELEN]);
        body[..CHALLEN].copy_from_slice(&self.chal);
        body[CHALLEN..].copy_from_slice(&self.rand[..]);
        seal(self.num, &body[..], key, counter)
    }

    /// Open a 68-byte form1 authenticator with the ticket's key.
    pub fn open(msg: &[u8], key: &[u8; 32]) -> Result<Authenticator, OpenError> {
        if msg.len() != AUTHENTLEN {
            return Err(OpenError::Length {
                want: AUTHENTLEN,
                got: msg.len(),
            });
        }
        let (num, body) = open(msg, key).ok_or(OpenError::Forged)?;
        let mut chal = [0u8; CHALLEN];
        chal.copy_from_slice(&body[..CHALLEN]);
        let mut rand = Zeroizing::new([0u8; NONCELEN]);
        rand.copy_from_slice(&body[CHALLEN..]);
        Ok(Authenticator { num, chal, rand })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        crate::auth::enc16(b).to_lowercase()
    }

    fn key() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    fn ticket(num: u8) -> Ticket {
        Ticket {
            num,
            chal: *b"CHALLENG",
            cuid: "glenda".into(),
            suid: "glenda".into(),
            key: Zeroizing::new(std::array::from_fn(|i| 0xa0 + i as u8)),
        }
    }

    fn auth(num: u8, chal: &[u8; 8]) -> Authenticator {
        Authenticator {
            num,
            chal: *chal,
            rand: Zeroizing::new(std::array::from_fn(|i| 0x40 + i as u8)),
        }
    }

    /// 9front's convT2M/convA2M (drawterm's libauthsrv), pakkey 00..1f,
    /// ticket key a0..bf, authenticator rand 40..5f, counters 0..3.
    const TC: &str = "666f726d31205463000000005ac65c2388445de7e76cc50d756d64422ba26f8d192e65e969f508b2efe3009698dadce33dc281abe2f9d07c6ae685fadcb8ec8914bb5c2c8774445dcb49075dee583e096f1d931fa2ad8627b98cc2ec227369dad2cb1edde003ee7e42f385278c1fc225783a4f73117699b5347b7599";
    const TS: &str = "666f726d312054730100000099136817d55154fa3e8758c00feeca8da5b848280f56ebd54c58e01ea5703456ba4658befe3f188c7c17b84c93963e1afc5ef9684d1dbb8b385a15ac9a05bc57b0ef9e2c71577ab36fa4a741826a58f0854e83c39ae26804b6be53a00ec9022e0f0cef45e9bfa59820e32350a6c96e79";
    const AC: &str = "666f726d31204163020000000d78e8d65a75b08682d954feb6c7106f48d0dde1cf62b00a3ab517717cc8fa043813d4a3547941e63025869ccfa5a86a48bcd4c71acae7da";
    const AS: &str = "666f726d31204173030000001b96be692e7d4bf3cb32e6bec3124fe25b78f0d1fde0c7f5a03267308e41b35ba32a7201d8d33acfcf36e5cef308bc48cf0de8edf28495d5";

    #[test]
    fn ninefront_tickets_and_authenticators() {
        let k = key();
        assert_eq!(hex(&ticket(types::AUTH_TC).seal(&k, 0).unwrap()), TC);
        assert_eq!(hex(&ticket(types::AUTH_TS).seal(&k, 1).unwrap()), TS);
        let tk = *ticket(0).key;
        assert_eq!(
            hex(&auth(types::AUTH_AC, b"CHALLENG").seal(&tk, 2).unwrap()),
            AC
        );
        assert_eq!(
            hex(&auth(types::AUTH_AS, b"CLNTCHAL").seal(&tk, 3).unwrap()),
            AS
        );
        let tc = crate::auth::dec16(TC.as_bytes());
        assert_eq!(check(&tc), Some(types::AUTH_TC));
        assert_eq!(Ticket::open(&tc, &k).unwrap(), ticket(types::AUTH_TC));
        let a = Authenticator::open(&crate::auth::dec16(AS.as_bytes()), &tk).unwrap();
        assert_eq!(a, auth(types::AUTH_AS, b"CLNTCHAL"));
        assert_eq!((TICKETLEN, AUTHENTLEN), (124, 68));
    }

    #[test]
    fn refusals() {
        let k = key();
        let tc = crate::auth::dec16(TC.as_bytes());
        // another key, a flipped bit anywhere, a changed nonce
        assert_eq!(Ticket::open(&tc, &[9; 32]), Err(OpenError::Forged));
        for i in [8, 12, 60, 123] {
            let mut t = tc.clone();
            t[i] ^= 1;
            assert_eq!(Ticket::open(&t, &k), Err(OpenError::Forged), "byte {i}");
        }
        // a signature changed to another type's: the tag still binds it?
        // No: the signature is the nonce, so another nonce fails the tag
        let mut t = tc.clone();
        t[..8].copy_from_slice(b"form1 Ts");
        assert_eq!(Ticket::open(&t, &k), Err(OpenError::Forged));
        // not form1 at all (a DES ticket), short and long
        assert_eq!(check(&[0u8; 72]), None);
        assert!(matches!(
            Ticket::open(&tc[..123], &k),
            Err(OpenError::Length {
                want: 124,
                got: 123
            })
        ));
        assert!(Authenticator::open(&tc, &k).is_err());
        assert_eq!(open(b"form1 Tc", &k), None);
        assert_eq!(open(&tc[..28], &k), None);
        assert!(seal(1, b"x", &k, 0).is_none());
        // a name of 28 bytes does not fit
        let mut t = ticket(types::AUTH_TC);
        t.cuid = "x".repeat(28);
        assert!(t.seal(&k, 0).is_err());
    }

    #[test]
    fn counters_differ() {
        assert_ne!(next_counter(), next_counter());
    }
}
