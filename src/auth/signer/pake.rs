//! The certificate-request protocol between `warden cert request` (a LAN
//! machine) and the router, sans-IO. A password never crosses the wire and
//! a capture allows no offline guessing: the two sides run SPAKE2 keyed by
//! a value derived from the account's password, mix in the second factor
//! (a TOTP or HOTP code, empty for an account without a token), then
//! exchange one AEAD-sealed request and reply.
//!
//! ```text
//! C->S  hello    "warden-signer 2", user
//! S->C  params   salt[16], iterations           (made up for unknown users)
//! C->S  pake     SPAKE2 message A               w = PBKDF2-SHA256(password, salt, iterations)
//! S->C  pake     SPAKE2 message B
//! C->S  request  mac_c, seal_c(request)         mac_c = HMAC(K', "client" || transcript)
//! S->C  reply    seal_s(reply)                  or the connection closes
//! ```
//!
//! K is SPAKE2's shared key and K' = HMAC-SHA256(K, "second factor" ||
//! code); the MAC and AEAD keys are HMAC-SHA256(K', label); the transcript
//! hash covers every message before the MAC. The client proves both
//! factors at once and learns nothing before it has: a wrong password, a
//! wrong code, an unknown, disabled or locked-out account all end the
//! same way, the connection closed after the request with nothing sent
//! (version 1 confirmed the password first, so it could be tested without
//! the code). The server tries the codes its window allows (a handful
//! of HMACs) and counts a failed login when none fits.

use crate::auth::ed25519::Spake2;
use crate::wire::{Reader, Short, Writer};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const VERSION: &str = "warden-signer 2";
/// Largest message either side accepts.
pub const MAX_MSG: usize = 16 * 1024;
pub const SALT_LEN: usize = 16;
pub const SECRET_LEN: usize = 32;

/// Why an exchange failed. The wording is safe to show either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PakeError {
    /// The peer sent something malformed.
    Malformed(&'static str),
    /// Key confirmation failed: a wrong password or code, or an account
    /// that may not log in (or an active attacker).
    WrongPassword,
    /// The peer speaks another version.
    Version(String),
}

impl std::fmt::Display for PakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PakeError::Malformed(w) => write!(f, "malformed {w}"),
            PakeError::WrongPassword => write!(f, "wrong user, password or TOTP code"),
            PakeError::Version(v) => write!(f, "unsupported protocol '{v}'"),
        }
    }
}

impl std::error::Error for PakeError {}

impl From<Short> for PakeError {
    fn from(_: Short) -> Self {
        PakeError::Malformed("message")
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The password-equivalent both sides feed to SPAKE2 (kept with the
/// account's verifier, where the router derives it once).
pub use crate::auth::keyfs::signer::derive_secret;

fn put_bytes(w: &mut Writer, b: &[u8]) {
    w.u32be(b.len() as u32).bytes(b);
}

fn get_bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], PakeError> {
    let n = r.u32be()? as usize;
    if n > MAX_MSG {
        return Err(PakeError::Malformed("length"));
    }
    Ok(r.bytes(n)?)
}

fn done(r: &Reader<'_>) -> Result<(), PakeError> {
    if r.remaining() != 0 {
        return Err(PakeError::Malformed("trailing bytes"));
    }
    Ok(())
}

struct Keys {
    mac_c: Zeroizing<[u8; 32]>,
    seal_c: Zeroizing<[u8; 32]>,
    seal_s: Zeroizing<[u8; 32]>,
}

fn label(k: &[u8], l: &str) -> Zeroizing<[u8; 32]> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(k).expect("HMAC takes any key length");
    m.update(l.as_bytes());
    Zeroizing::new(m.finalize().into_bytes().into())
}

impl Keys {
    /// The keys from SPAKE2's `k` and the second factor `code`.
    fn new(k: &[u8], code: &[u8]) -> Keys {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(k).expect("HMAC takes any key length");
        m.update(b"warden-signer second factor");
        m.update(code);
        let k = Zeroizing::new(<[u8; 32]>::from(m.finalize().into_bytes()));
        let k = &k[..];
        Keys {
            mac_c: label(k, "warden-signer mac client"),
            seal_c: label(k, "warden-signer seal client"),
            seal_s: label(k, "warden-signer seal server"),
        }
    }
}

fn mac(key: &[u8; 32], transcript: &[u8; 32]) -> [u8; 32] {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(transcript);
    m.finalize().into_bytes().into()
}

fn check_mac(key: &[u8; 32], transcript: &[u8; 32], got: &[u8]) -> bool {
    crate::auth::ct_eq(&mac(key, transcript), got)
}

fn seal(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    // Each key seals exactly one message, so a zero nonce is never reused.
    let c = ChaCha20Poly1305::new(key.into());
    c.encrypt(&Default::default(), plain).unwrap_or_default()
}

fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, PakeError> {
    let c = ChaCha20Poly1305::new(key.into());
    c.decrypt(&Default::default(), sealed)
        .map(Zeroizing::new)
        .map_err(|_| PakeError::Malformed("sealed message"))
}

const ID_A: &[u8] = b"warden client";
const ID_B: &[u8] = b"warden signer";

// ---------------------------------------------------------------- client

/// The client: one state per message it waits for.
pub struct Client {
    password: Zeroizing<Vec<u8>>,
    transcript: Sha256,
}

pub struct ClientAwaitB {
    spake: Spake2,
    transcript: Sha256,
}

pub struct ClientAwaitReply {
    keys: Keys,
}

impl Client {
    /// Start: returns the hello message.
    pub fn start(user: &str, password: &[u8]) -> (Client, Vec<u8>) {
        let mut w = Writer::new();
        put_bytes(&mut w, VERSION.as_bytes());
        put_bytes(&mut w, user.as_bytes());
        let mut transcript = Sha256::new();
        transcript.update(&w.buf);
        (
            Client {
                password: Zeroizing::new(password.to_vec()),
                transcript,
            },
            w.into_vec(),
        )
    }

    /// Take the params; returns SPAKE2's message A.
    pub fn on_params(mut self, msg: &[u8]) -> Result<(ClientAwaitB, Vec<u8>), PakeError> {
        let mut r = Reader::new(msg);
        let salt = get_bytes(&mut r)?;
        let iterations = r.u32be()?;
        done(&r)?;
        if salt.len() != SALT_LEN || !(1000..=10_000_000).contains(&iterations) {
            return Err(PakeError::Malformed("params"));
        }
        let w = derive_secret(&self.password, salt, iterations);
        let (spake, msg_a) = Spake2::start(true, w.as_slice(), ID_A, ID_B, &super::random64());
        self.transcript.update(msg);
        self.transcript.update(&msg_a);
        Ok((
            ClientAwaitB {
                spake,
                transcript: self.transcript,
            },
            msg_a,
        ))
    }
}

impl ClientAwaitB {
    /// Take B; returns mac_c and the sealed request, proving the password
    /// and the second factor `code` (empty for an account without one).
    pub fn on_b(
        mut self,
        msg: &[u8],
        code: &[u8],
        request: &[u8],
    ) -> Result<(ClientAwaitReply, Vec<u8>), PakeError> {
        let mut r = Reader::new(msg);
        let b = get_bytes(&mut r)?;
        done(&r)?;
        let k = self
            .spake
            .finish(b)
            .map_err(|_| PakeError::Malformed("SPAKE2 message"))?;
        let keys = Keys::new(&k[..], code);
        self.transcript.update(b);
        let t: [u8; 32] = self.transcript.clone().finalize().into();
        let mut w = Writer::new();
        put_bytes(&mut w, &mac(&keys.mac_c, &t));
        put_bytes(&mut w, &seal(&keys.seal_c, request));
        Ok((ClientAwaitReply { keys }, w.into_vec()))
    }
}

impl ClientAwaitReply {
    /// The server's reply, opened: only a server that knows the account's
    /// verifier and code can seal it.
    pub fn on_reply(self, msg: &[u8]) -> Result<Zeroizing<Vec<u8>>, PakeError> {
        let mut r = Reader::new(msg);
        let sealed = get_bytes(&mut r)?;
        done(&r)?;
        open(&self.keys.seal_s, sealed)
    }
}

// ---------------------------------------------------------------- server

/// What the server knows of an account for this protocol.
pub struct Verifier {
    pub salt: [u8; SALT_LEN],
    pub iterations: u32,
    pub secret: Zeroizing<[u8; SECRET_LEN]>,
}

/// The server, from the hello on.
pub struct Server {
    transcript: Sha256,
    /// None for an unknown user: the exchange runs on a random secret and
    /// fails at key confirmation like a wrong password.
    known: bool,
    user: String,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

pub struct ServerAwaitRequest {
    k: Zeroizing<[u8; 32]>,
    transcript: [u8; 32],
    pub user: String,
    known: bool,
}

/// A request that proved both factors: the reply is sealed with its keys.
pub struct ServerConfirmed {
    keys: Keys,
}

impl Server {
    /// Take the hello. `lookup` gives the account's verifier; `fake` makes
    /// up params for unknown users (deterministic per name, so probing a
    /// name twice looks the same).
    pub fn on_hello(
        msg: &[u8],
        lookup: &dyn Fn(&str) -> Option<Verifier>,
        fake: &dyn Fn(&str) -> Verifier,
    ) -> Result<(Server, Vec<u8>), PakeError> {
        let mut r = Reader::new(msg);
        let version = get_bytes(&mut r)?;
        if version != VERSION.as_bytes() {
            return Err(PakeError::Version(
                String::from_utf8_lossy(version).into_owned(),
            ));
        }
        let user = std::str::from_utf8(get_bytes(&mut r)?)
            .map_err(|_| PakeError::Malformed("user name"))?
            .to_string();
        done(&r)?;
        let (v, known) = match lookup(&user) {
            Some(v) => (v, true),
            None => (fake(&user), false),
        };
        let mut w = Writer::new();
        put_bytes(&mut w, &v.salt);
        w.u32be(v.iterations);
        let mut transcript = Sha256::new();
        transcript.update(msg);
        transcript.update(&w.buf);
        Ok((
            Server {
                transcript,
                known,
                user,
                secret: v.secret,
            },
            w.into_vec(),
        ))
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Take A; returns B.
    pub fn on_a(mut self, msg_a: &[u8]) -> Result<(ServerAwaitRequest, Vec<u8>), PakeError> {
        let (spake, msg_b) = Spake2::start(
            false,
            self.secret.as_slice(),
            ID_A,
            ID_B,
            &super::random64(),
        );
        let k = spake
            .finish(msg_a)
            .map_err(|_| PakeError::Malformed("SPAKE2 message"))?;
        self.transcript.update(msg_a);
        self.transcript.update(&msg_b);
        let t: [u8; 32] = self.transcript.finalize().into();
        let mut w = Writer::new();
        put_bytes(&mut w, &msg_b);
        Ok((
            ServerAwaitRequest {
                k,
                transcript: t,
                user: self.user,
                known: self.known,
            },
            w.into_vec(),
        ))
    }
}

impl ServerAwaitRequest {
    /// Check mac_c against each second factor in `codes` (the codes the
    /// account's window allows; one empty code for an account without a
    /// token) and open the request. Ok gives the index of the code that
    /// fitted; Err(WrongPassword) is a failed login for the account, the
    /// same whether the password, the code or the account was wrong.
    pub fn on_request<C: AsRef<[u8]>>(
        &self,
        msg: &[u8],
        codes: &[C],
    ) -> Result<(ServerConfirmed, Zeroizing<Vec<u8>>, usize), PakeError> {
        let mut r = Reader::new(msg);
        let mac_c = get_bytes(&mut r)?;
        let sealed = get_bytes(&mut r)?;
        done(&r)?;
        // every code is tried, so the time taken does not say which fitted
        let mut fit = None;
        for (i, c) in codes.iter().enumerate() {
            let keys = Keys::new(&self.k[..], c.as_ref());
            if check_mac(&keys.mac_c, &self.transcript, mac_c) && fit.is_none() {
                fit = Some((i, keys));
            }
        }
        let Some((i, keys)) = fit.filter(|_| self.known) else {
            return Err(PakeError::WrongPassword);
        };
        let plain = open(&keys.seal_c, sealed)?;
        Ok((ServerConfirmed { keys }, plain, i))
    }
}

impl ServerConfirmed {
    /// Seal the reply.
    pub fn reply(&self, plain: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        put_bytes(&mut w, &seal(&self.keys.seal_s, plain));
        w.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITER: u32 = 1000;

    fn verifier(password: &[u8]) -> Verifier {
        let salt = [7u8; SALT_LEN];
        Verifier {
            salt,
            iterations: ITER,
            secret: derive_secret(password, &salt, ITER),
        }
    }

    fn fake(_: &str) -> Verifier {
        Verifier {
            salt: [9; SALT_LEN],
            iterations: ITER,
            secret: Zeroizing::new([0x55; SECRET_LEN]),
        }
    }

    /// Run the exchange with second factor `code` against a server that
    /// allows `codes`; Ok(reply) or where it failed.
    fn exchange_with(
        user: &str,
        password: &[u8],
        code: &[u8],
        codes: &[&str],
    ) -> Result<Vec<u8>, (&'static str, PakeError)> {
        let lookup = |u: &str| (u == "glenda").then(|| verifier(b"correct horse"));
        let (c, hello) = Client::start(user, password);
        let (s, params) = Server::on_hello(&hello, &lookup, &fake).map_err(|e| ("hello", e))?;
        let (c, a) = c.on_params(&params).map_err(|e| ("params", e))?;
        let (s, b) = s.on_a(&a).map_err(|e| ("a", e))?;
        let (c, req) = c
            .on_b(&b, code, b"sign ssh-ed25519 AAAA...")
            .map_err(|e| ("b", e))?;
        let (s, got, i) = s.on_request(&req, codes).map_err(|e| ("request", e))?;
        assert_eq!(codes[i].as_bytes(), code);
        assert_eq!(got.as_slice(), b"sign ssh-ed25519 AAAA...");
        let reply = s.reply(b"cert ssh-ed25519-cert-v01@openssh.com AAAA...");
        c.on_reply(&reply)
            .map(|r| r.to_vec())
            .map_err(|e| ("reply", e))
    }

    fn exchange(user: &str, password: &[u8]) -> Result<Vec<u8>, (&'static str, PakeError)> {
        exchange_with(user, password, b"", &[""])
    }

    #[test]
    fn right_password_gets_the_reply() {
        assert_eq!(
            exchange("glenda", b"correct horse").unwrap(),
            b"cert ssh-ed25519-cert-v01@openssh.com AAAA..."
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_alike() {
        assert_eq!(
            exchange("glenda", b"wrong").unwrap_err(),
            ("request", PakeError::WrongPassword)
        );
        assert_eq!(
            exchange("nobody", b"correct horse").unwrap_err(),
            ("request", PakeError::WrongPassword)
        );
    }

    #[test]
    fn the_code_is_proven_with_the_password_and_fails_like_it() {
        let window = ["111111", "222222", "333333"];
        assert!(exchange_with("glenda", b"correct horse", b"222222", &window).is_ok());
        // a wrong code, a missing code, a wrong password with the right
        // code: the same failure at the same step
        for (pw, code) in [
            (&b"correct horse"[..], &b"999999"[..]),
            (b"correct horse", b""),
            (b"wrong", b"222222"),
        ] {
            assert_eq!(
                exchange_with("glenda", pw, code, &window).unwrap_err(),
                ("request", PakeError::WrongPassword)
            );
        }
        // the client sees nothing from the server between A and the reply
        // that depends on the password: B alone, the same size either way
        let lookup = |_: &str| Some(verifier(b"correct horse"));
        let b_len = |pw: &[u8]| {
            let (c, hello) = Client::start("glenda", pw);
            let (s, params) = Server::on_hello(&hello, &lookup, &fake).unwrap();
            let (_, a) = c.on_params(&params).unwrap();
            s.on_a(&a).unwrap().1.len()
        };
        assert_eq!(b_len(b"correct horse"), b_len(b"wrong"));
    }

    #[test]
    fn nothing_password_derived_on_the_wire() {
        // Two runs with the same password share no message bytes after the
        // public hello and params: SPAKE2 blinds w with fresh randomness.
        let lookup = |_: &str| Some(verifier(b"pw"));
        let run = || {
            let (c, hello) = Client::start("glenda", b"pw");
            let (s, params) = Server::on_hello(&hello, &lookup, &fake).unwrap();
            let (_, a) = c.on_params(&params).unwrap();
            let (_, b) = s.on_a(&a).unwrap();
            (a, b)
        };
        let (a1, b1) = run();
        let (a2, b2) = run();
        assert_ne!(a1, a2);
        assert_ne!(b1[..36], b2[..36]);
        let w = derive_secret(b"pw", &[7; SALT_LEN], ITER);
        for m in [&a1, &b1] {
            assert!(!m.windows(8).any(|x| w.windows(8).any(|y| x == y)));
        }
    }

    #[test]
    fn tampering_is_detected() {
        let lookup = |_: &str| Some(verifier(b"pw"));
        let (c, hello) = Client::start("glenda", b"pw");
        let (s, params) = Server::on_hello(&hello, &lookup, &fake).unwrap();
        let (c, a) = c.on_params(&params).unwrap();
        let (s, b) = s.on_a(&a).unwrap();
        let (_, mut req) = c.on_b(&b, b"", b"request").unwrap();
        let n = req.len();
        req[n - 1] ^= 1;
        assert!(s.on_request(&req, &[""]).is_err());
        // Garbage everywhere: errors, never panics.
        for g in [&[][..], &[0, 0, 0, 1], &[0xff; 12]] {
            assert!(Server::on_hello(g, &lookup, &fake).is_err());
            assert!(s.on_request(g, &[""]).is_err());
        }
        let (c, _) = Client::start("glenda", b"pw");
        assert!(c.on_params(&[0, 0, 0, 16]).is_err());
    }
}
