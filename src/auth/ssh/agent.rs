//! The OpenSSH agent protocol (draft-miller-ssh-agent), sans-IO: frames in,
//! frames out. [`Agent`] holds Ed25519 keys that never leave it: it lists
//! their public halves, signs with them, and honours lock/unlock, lifetime
//! and confirm constraints. Other key types are refused on add. A key
//! added with its certificate (`ssh-add KEY` with `KEY-cert.pub` beside
//! it: OpenSSH adds the key, then `ssh-ed25519-cert-v01@openssh.com` with
//! the certificate and the same private key) is a second identity, listed
//! by its certificate and signing with the key, as OpenSSH's agent does.
//!
//! ```text
//! frame: uint32 length, byte type, contents
//! 11 REQUEST_IDENTITIES            -> 12 IDENTITIES_ANSWER uint32 n, (string blob, string comment)*
//! 13 SIGN_REQUEST blob data flags  -> 14 SIGN_RESPONSE string signature
//! 17 ADD_IDENTITY / 25 ADD_ID_CONSTRAINED (1 lifetime uint32, 2 confirm)
//! 18 REMOVE_IDENTITY blob, 19 REMOVE_ALL, 22 LOCK pass, 23 UNLOCK pass
//! -> 6 SUCCESS | 5 FAILURE
//! ```

use super::key::{Ed25519Key, PublicKey, ED25519};
use super::wire::{get_string, get_text, put_string, WireError};
use crate::wire::{Reader, Writer};
use zeroize::Zeroizing;

/// Largest frame accepted (OpenSSH's AGENT_MAX_LEN).
pub const MAX_FRAME: usize = 256 * 1024;

const FAILURE: u8 = 5;
const SUCCESS: u8 = 6;
const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
const ADD_IDENTITY: u8 = 17;
const REMOVE_IDENTITY: u8 = 18;
const REMOVE_ALL: u8 = 19;
const LOCK: u8 = 22;
const UNLOCK: u8 = 23;
const ADD_ID_CONSTRAINED: u8 = 25;
const EXTENSION: u8 = 27;

const CONSTRAIN_LIFETIME: u8 = 1;
const CONSTRAIN_CONFIRM: u8 = 2;

/// A client's sign request for `key` over `data`, framed.
pub fn sign_request(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(SIGN_REQUEST);
    put_string(&mut w, key);
    put_string(&mut w, data);
    w.u32be(0);
    let mut f = Writer::new();
    put_string(&mut f, &w.buf);
    f.into_vec()
}

/// The signature in an agent's answer to [`sign_request`] (the frame's
/// body, after its length).
pub fn sign_response(body: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut r = Reader::new(body);
    if r.u8()? != SIGN_RESPONSE {
        return Err(WireError::Bad("agent answer: it did not sign"));
    }
    Ok(get_string(&mut r)?.to_vec())
}

/// A request, parsed.
pub enum Request {
    List,
    Sign {
        key: Vec<u8>,
        data: Vec<u8>,
    },
    Add {
        seed: Zeroizing<[u8; 32]>,
        /// The certificate blob, for a certificate identity.
        cert: Option<Vec<u8>>,
        comment: String,
        lifetime: Option<u32>,
        confirm: bool,
    },
    Remove {
        key: Vec<u8>,
    },
    RemoveAll,
    Lock(Zeroizing<Vec<u8>>),
    Unlock(Zeroizing<Vec<u8>>),
    /// Anything we do not serve (extensions, other key types): FAILURE.
    Unsupported(String),
}

/// Parse one frame's body (type byte and contents).
pub fn parse(body: &[u8]) -> Result<Request, WireError> {
    let mut r = Reader::new(body);
    let ty = r.u8()?;
    let req = match ty {
        REQUEST_IDENTITIES => Request::List,
        SIGN_REQUEST => {
            let key = get_string(&mut r)?.to_vec();
            let data = get_string(&mut r)?.to_vec();
            let _flags = r.u32be()?;
            Request::Sign { key, data }
        }
        ADD_IDENTITY | ADD_ID_CONSTRAINED => {
            let kind = get_text(&mut r)?;
            let cert = if kind == ED25519_CERT {
                Some(get_string(&mut r)?.to_vec())
            } else if kind == ED25519 {
                None
            } else {
                return Ok(Request::Unsupported(format!("add of a {kind} key")));
            };
            let pk = get_string(&mut r)?;
            let sk = get_string(&mut r)?;
            if pk.len() != 32 || sk.len() != 64 || sk[32..] != *pk {
                return Err(WireError::Bad("ed25519 private key"));
            }
            let mut seed = Zeroizing::new([0u8; 32]);
            seed.copy_from_slice(&sk[..32]);
            let comment = String::from_utf8_lossy(get_string(&mut r)?).into_owned();
            let (mut lifetime, mut confirm) = (None, false);
            if ty == ADD_ID_CONSTRAINED {
                while r.remaining() > 0 {
                    match r.u8()? {
                        CONSTRAIN_LIFETIME => lifetime = Some(r.u32be()?),
                        CONSTRAIN_CONFIRM => confirm = true,
                        other => return Ok(Request::Unsupported(format!("constraint {other}"))),
                    }
                }
            }
            let key = Ed25519Key::from_seed(&seed);
            if key.public().key_fields()[4..] != *pk {
                return Err(WireError::Bad("ed25519 key pair"));
            }
            if let Some(c) = &cert {
                if super::cert::parse(c)?.spec.key != key.public() {
                    return Err(WireError::Bad("certificate: not for this key"));
                }
            }
            Request::Add {
                seed,
                cert,
                comment,
                lifetime,
                confirm,
            }
        }
        REMOVE_IDENTITY => Request::Remove {
            key: get_string(&mut r)?.to_vec(),
        },
        REMOVE_ALL => Request::RemoveAll,
        LOCK => Request::Lock(Zeroizing::new(get_string(&mut r)?.to_vec())),
        UNLOCK => Request::Unlock(Zeroizing::new(get_string(&mut r)?.to_vec())),
        EXTENSION => Request::Unsupported(format!("extension {}", get_text(&mut r).unwrap_or("?"))),
        other => Request::Unsupported(format!("message type {other}")),
    };
    Ok(req)
}

/// Splits a byte stream into frame bodies.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame's body; Err when a frame is too large (the
    /// connection should be closed).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let Some(len) = self.buf.get(..4) else {
            return Ok(None);
        };
        let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if n == 0 || n > MAX_FRAME {
            return Err(WireError::Bad("agent frame length"));
        }
        if self.buf.len() < 4 + n {
            return Ok(None);
        }
        let body = self.buf[4..4 + n].to_vec();
        crate::sys::wipe::consume_front(&mut self.buf, 4 + n);
        Ok(Some(body))
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    put_string(&mut w, body);
    w.into_vec()
}

const ED25519_CERT: &str = "ssh-ed25519-cert-v01@openssh.com";

/// A key held by the agent.
pub struct Held {
    pub key: Ed25519Key,
    /// Its certificate, for a certificate identity.
    pub cert: Option<Vec<u8>>,
    pub comment: String,
    /// Seconds since the epoch after which the key is forgotten.
    pub expires: Option<u64>,
    pub confirm: bool,
}

/// The agent's keys and lock state.
#[derive(Default)]
pub struct Agent {
    keys: Vec<Held>,
    /// SHA-256 of the lock passphrase while locked.
    locked: Option<[u8; 32]>,
}

fn digest(p: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(p).into()
}

impl Held {
    /// What the agent lists it as: its certificate, or its public key.
    pub fn blob(&self) -> Vec<u8> {
        match &self.cert {
            Some(c) => c.clone(),
            None => self.key.public().blob,
        }
    }
}

impl Agent {
    pub fn new() -> Agent {
        Agent::default()
    }

    pub fn add(&mut self, held: Held) {
        let id = held.blob();
        self.keys.retain(|h| h.blob() != id);
        self.keys.push(held);
    }

    pub fn is_locked(&self) -> bool {
        self.locked.is_some()
    }

    /// Forget keys whose lifetime has passed.
    pub fn expire(&mut self, now: u64) {
        self.keys.retain(|h| h.expires.is_none_or(|e| now < e));
    }

    /// Answer one frame body; returns the reply frame. `confirm` asks a
    /// person whether a key with the confirm constraint may sign.
    pub fn handle(
        &mut self,
        body: &[u8],
        now: u64,
        confirm: &mut dyn FnMut(&PublicKey, &str) -> bool,
    ) -> Vec<u8> {
        self.expire(now);
        let fail = frame(&[FAILURE]);
        let ok = frame(&[SUCCESS]);
        let req = match parse(body) {
            Ok(r) => r,
            Err(e) => {
                log::debug!("agent: bad request: {e}");
                return fail;
            }
        };
        match req {
            Request::List => {
                let mut w = Writer::new();
                w.u8(IDENTITIES_ANSWER);
                if self.locked.is_some() {
                    w.u32be(0);
                } else {
                    w.u32be(self.keys.len() as u32);
                    for h in &self.keys {
                        put_string(&mut w, &h.blob());
                        put_string(&mut w, h.comment.as_bytes());
                    }
                }
                frame(&w.buf)
            }
            Request::Sign { key, data } => {
                if self.locked.is_some() {
                    return fail;
                }
                let Some(h) = self.keys.iter().find(|h| h.blob() == key) else {
                    return fail;
                };
                if h.confirm && !confirm(&h.key.public(), &h.comment) {
                    log::info!(
                        "agent: signature with {} refused at confirm",
                        h.key.public().fingerprint()
                    );
                    return fail;
                }
                let mut w = Writer::new();
                w.u8(SIGN_RESPONSE);
                put_string(&mut w, &h.key.sign(&data));
                frame(&w.buf)
            }
            Request::Add {
                seed,
                cert,
                comment,
                lifetime,
                confirm,
            } => {
                if self.locked.is_some() {
                    return fail;
                }
                self.add(Held {
                    key: Ed25519Key::from_seed(&seed),
                    cert,
                    comment,
                    expires: lifetime.map(|l| now + u64::from(l)),
                    confirm,
                });
                ok
            }
            Request::Remove { key } => {
                let before = self.keys.len();
                if self.locked.is_none() {
                    self.keys.retain(|h| h.blob() != key);
                }
                if self.keys.len() < before {
                    ok
                } else {
                    fail
                }
            }
            Request::RemoveAll => {
                if self.locked.is_some() {
                    return fail;
                }
                self.keys.clear();
                ok
            }
            Request::Lock(p) => {
                if self.locked.is_some() {
                    return fail;
                }
                self.locked = Some(digest(&p));
                ok
            }
            Request::Unlock(p) => match self.locked {
                Some(h) if crate::auth::ct_eq(&h, &digest(&p)) => {
                    self.locked = None;
                    ok
                }
                _ => fail,
            },
            Request::Unsupported(what) => {
                log::debug!("agent: unsupported: {what}");
                fail
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ty: u8, f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ty);
        f(&mut w);
        w.into_vec()
    }

    fn add_body(seed: [u8; 32], constrained: &[u8]) -> Vec<u8> {
        let k = Ed25519Key::from_seed(&seed);
        let pk = k.public().key_fields()[4..].to_vec();
        let ty = if constrained.is_empty() {
            ADD_IDENTITY
        } else {
            ADD_ID_CONSTRAINED
        };
        body(ty, |w| {
            put_string(w, b"ssh-ed25519");
            put_string(w, &pk);
            let mut sk = seed.to_vec();
            sk.extend_from_slice(&pk);
            put_string(w, &sk);
            put_string(w, b"test key");
            w.bytes(constrained);
        })
    }

    fn yes(_: &PublicKey, _: &str) -> bool {
        true
    }

    #[test]
    fn add_list_sign_remove() {
        let mut a = Agent::new();
        assert_eq!(
            a.handle(&add_body([1; 32], &[]), 0, &mut yes),
            frame(&[SUCCESS])
        );
        let list = a.handle(&[REQUEST_IDENTITIES], 0, &mut yes);
        let pk = Ed25519Key::from_seed(&[1; 32]).public();
        let mut r = Reader::new(&list[4..]);
        assert_eq!(r.u8().unwrap(), IDENTITIES_ANSWER);
        assert_eq!(r.u32be().unwrap(), 1);
        assert_eq!(get_string(&mut r).unwrap(), pk.blob.as_slice());
        assert_eq!(get_string(&mut r).unwrap(), b"test key");

        let sign = body(SIGN_REQUEST, |w| {
            put_string(w, &pk.blob);
            put_string(w, b"data");
            w.u32be(0);
        });
        let resp = a.handle(&sign, 0, &mut yes);
        let mut r = Reader::new(&resp[4..]);
        assert_eq!(r.u8().unwrap(), SIGN_RESPONSE);
        assert!(super::super::key::verify(
            &pk,
            b"data",
            get_string(&mut r).unwrap()
        ));

        let rm = body(REMOVE_IDENTITY, |w| put_string(w, &pk.blob));
        assert_eq!(a.handle(&rm, 0, &mut yes), frame(&[SUCCESS]));
        assert_eq!(a.handle(&rm, 0, &mut yes), frame(&[FAILURE]));
        assert_eq!(a.handle(&sign, 0, &mut yes), frame(&[FAILURE]));
    }

    fn cert_body(seed: [u8; 32], cert_for: [u8; 32]) -> (Vec<u8>, Vec<u8>) {
        use super::super::cert::{self, CertSpec, CertType};
        let spec = CertSpec {
            key: Ed25519Key::from_seed(&cert_for).public(),
            serial: 1,
            kind: CertType::User,
            key_id: "k".into(),
            principals: vec!["glenda".into()],
            valid_after: 0,
            valid_before: 9,
            critical: vec![],
            extensions: vec![],
        };
        let c = cert::sign(&spec, &Ed25519Key::from_seed(&[9; 32]), &[0; 32]);
        let k = Ed25519Key::from_seed(&seed);
        let pk = k.public().key_fields()[4..].to_vec();
        let b = body(ADD_IDENTITY, |w| {
            put_string(w, ED25519_CERT.as_bytes());
            put_string(w, &c);
            put_string(w, &pk);
            let mut sk = seed.to_vec();
            sk.extend_from_slice(&pk);
            put_string(w, &sk);
            put_string(w, b"with cert");
        });
        (b, c)
    }

    #[test]
    fn a_key_with_its_certificate_is_a_second_identity() {
        let mut a = Agent::new();
        let ok = frame(&[SUCCESS]);
        assert_eq!(a.handle(&add_body([1; 32], &[]), 0, &mut yes), ok);
        let (add, c) = cert_body([1; 32], [1; 32]);
        assert_eq!(a.handle(&add, 0, &mut yes), ok);
        let list = a.handle(&[REQUEST_IDENTITIES], 0, &mut yes);
        let mut r = Reader::new(&list[4..]);
        assert_eq!(r.u8().unwrap(), IDENTITIES_ANSWER);
        assert_eq!(r.u32be().unwrap(), 2);
        let pk = Ed25519Key::from_seed(&[1; 32]).public();
        assert_eq!(get_string(&mut r).unwrap(), pk.blob.as_slice());
        get_string(&mut r).unwrap();
        assert_eq!(get_string(&mut r).unwrap(), c.as_slice());
        // Signing by the certificate signs with the key.
        let sign = body(SIGN_REQUEST, |w| {
            put_string(w, &c);
            put_string(w, b"data");
            w.u32be(0);
        });
        let resp = a.handle(&sign, 0, &mut yes);
        let mut r = Reader::new(&resp[4..]);
        assert_eq!(r.u8().unwrap(), SIGN_RESPONSE);
        assert!(super::super::key::verify(
            &pk,
            b"data",
            get_string(&mut r).unwrap()
        ));
        // A certificate for another key is refused.
        let (bad, _) = cert_body([2; 32], [1; 32]);
        assert_eq!(a.handle(&bad, 0, &mut yes), frame(&[FAILURE]));
        let rm = body(REMOVE_IDENTITY, |w| put_string(w, &c));
        assert_eq!(a.handle(&rm, 0, &mut yes), ok);
        assert_eq!(a.handle(&sign, 0, &mut yes), frame(&[FAILURE]));
    }

    #[test]
    fn lock_unlock_lifetime_confirm() {
        let mut a = Agent::new();
        a.handle(
            &add_body(
                [2; 32],
                &[CONSTRAIN_LIFETIME, 0, 0, 0, 10, CONSTRAIN_CONFIRM],
            ),
            100,
            &mut yes,
        );
        let pk = Ed25519Key::from_seed(&[2; 32]).public();
        let sign = body(SIGN_REQUEST, |w| {
            put_string(w, &pk.blob);
            put_string(w, b"x");
            w.u32be(0);
        });
        let mut no = |_: &PublicKey, _: &str| false;
        assert_eq!(a.handle(&sign, 101, &mut no), frame(&[FAILURE]));
        assert_ne!(a.handle(&sign, 101, &mut yes), frame(&[FAILURE]));

        let lock = body(LOCK, |w| put_string(w, b"sesame"));
        let bad = body(UNLOCK, |w| put_string(w, b"wrong"));
        let unlock = body(UNLOCK, |w| put_string(w, b"sesame"));
        assert_eq!(a.handle(&lock, 101, &mut yes), frame(&[SUCCESS]));
        assert_eq!(a.handle(&sign, 101, &mut yes), frame(&[FAILURE]));
        assert_eq!(
            a.handle(&[REQUEST_IDENTITIES], 101, &mut yes)[5..],
            [0, 0, 0, 0]
        );
        assert_eq!(a.handle(&bad, 101, &mut yes), frame(&[FAILURE]));
        assert_eq!(a.handle(&unlock, 101, &mut yes), frame(&[SUCCESS]));
        // The lifetime runs out at 110.
        assert_ne!(a.handle(&sign, 109, &mut yes), frame(&[FAILURE]));
        assert_eq!(a.handle(&sign, 110, &mut yes), frame(&[FAILURE]));
    }

    #[test]
    fn bad_frames() {
        let mut f = Framer::default();
        f.push(&[0, 0, 0, 5, 11]);
        assert_eq!(f.next_frame().unwrap(), None);
        f.push(&[1, 2, 3, 4]);
        assert_eq!(f.next_frame().unwrap(), Some(vec![11, 1, 2, 3, 4]));
        f.push(&[1, 0, 0, 0]);
        assert!(f.next_frame().is_err(), "frame over MAX_FRAME");
        let mut a = Agent::new();
        for garbage in [
            &[][..],
            &[13],
            &[17, 0, 0, 0, 11],
            &[99],
            &[27, 0, 0, 0, 3, b'a', b'b', b'c'],
        ] {
            assert_eq!(a.handle(garbage, 0, &mut yes), frame(&[FAILURE]));
        }
        // A mismatched key pair is refused.
        let mut b = add_body([3; 32], &[]);
        let n = b.len();
        b[n - 20] ^= 1;
        assert_eq!(a.handle(&b, 0, &mut yes), frame(&[FAILURE]));
    }
}
