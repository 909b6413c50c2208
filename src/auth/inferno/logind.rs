//! Inferno's login service, the signer side of getauthinfo (Inferno
//! appl/cmd/auth/logind.b, its client appl/lib/login.b), sans-IO: records
//! in, records out, the account and randomness from an [`Env`].
//!
//! ```text
//! C->S  name                                   clear
//! S->C  name (the acknowledgement)             clear
//! C->S  ivec (8 random bytes)                  clear
//! S->C  b64(alpha^r0 mod p)                    rc4, key: the password's
//!                                              SHA1 folded to 8 bytes ^ ivec
//! S->C  b64(alpha), b64(p)                     clear
//! C->S  b64(alpha^r1 mod p)                    clear
//! S->C  signer's public key                    sha1 digests keyed with the
//! C->S  the client's public key (owner = name)   DH secret alpha^(r0 r1)
//! S->C  certificate of the client's key, expiring with the account
//! ```
//!
//! A client with the wrong password cannot decrypt `alpha^r0` and hangs
//! up ("name or secret incorrect"); its leaving after that record is a
//! failed login ([`Logind::closed`]). An unknown name, or an account
//! without a password, gets the same exchange under a random key, so a
//! listener learns nothing about which names exist; an account that may
//! not log in (disabled, expired, resting after failures) gets Inferno's
//! error message in clear, as Inferno's logind sends it.

use super::keyring::{self, PublicKey};
use super::rsa::{modexp_be, Signer};
use super::ssl::{self, Mode, Msg, OneWay};
use crate::auth::bignum::Nat;
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// Inferno's name limit is none; keyfs names are at most 28 bytes.
pub const MAX_NAME: usize = 64;
/// The largest record a client sends (its public key: about 400 bytes
/// for RSA 1024, 600 for ElGamal).
pub const MAX_IN_RECORD: usize = ssl::MAX_MSG + 20;
/// Bits of the server's Diffie-Hellman exponent r0 (Inferno draws
/// between a quarter and all of p's bits; 256 keep the 1024-bit group's
/// strength and take a quarter of the time).
pub const R0_BITS: usize = 256;

/// What the signer knows of an account.
pub enum Lookup {
    /// May log in: SHA1 of its password and the certificate's expiry.
    Ok {
        secret: Zeroizing<[u8; 20]>,
        exp: i32,
    },
    /// Exists, has a password, may not log in now: why (sent in clear).
    Refused(String),
    /// No such account, or no password.
    Unknown,
}

/// The service's side: accounts and randomness.
pub trait Env {
    fn lookup(&mut self, name: &str) -> Lookup;
    fn random(&mut self, buf: &mut [u8]);
}

/// SHA1 of a password: what Inferno's keyfs holds as the secret.
pub fn password_secret(pw: &[u8]) -> Zeroizing<[u8; 20]> {
    Zeroizing::new(Sha1::digest(pw).into())
}

/// The RC4 key both sides make from the secret and the client's ivec.
pub fn rc4_key(secret: &[u8; 20], ivec: &[u8; 8]) -> Zeroizing<[u8; 8]> {
    let mut k = Zeroizing::new([0u8; 8]);
    for i in 0..8 {
        k[i] = secret[i] ^ secret[8 + i] ^ ivec[i];
    }
    for i in 0..4 {
        k[i] ^= secret[16 + i];
    }
    k
}

enum State {
    Name,
    Ivec {
        name: String,
    },
    AlphaR1 {
        name: String,
        r0: Zeroizing<Vec<u8>>,
        exp: i32,
        /// A real account: its leaving now is a failed login.
        real: bool,
    },
    Pk {
        name: String,
        exp: i32,
        real: bool,
    },
    Done,
}

/// What to do after a record.
#[derive(Debug)]
pub enum Out {
    /// Send these records, wait for the next.
    Send(Vec<u8>),
    /// The certificate went out for `user`: send, then close.
    Issued { records: Vec<u8>, user: String },
    /// Send these records (perhaps none), then close. `bad`: the account
    /// that failed to log in, to count.
    Fail {
        records: Vec<u8>,
        why: String,
        bad: Option<String>,
    },
}

/// One login conversation.
pub struct Logind {
    state: State,
    inw: OneWay,
    outw: OneWay,
}

impl Default for Logind {
    fn default() -> Self {
        Logind::new()
    }
}

fn fail(records: Vec<u8>, why: String, bad: Option<String>) -> Out {
    Out::Fail { records, why, bad }
}

impl Logind {
    pub fn new() -> Logind {
        Logind {
            state: State::Name,
            inw: OneWay::default(),
            outw: OneWay::default(),
        }
    }

    /// The user named so far, for logs.
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Ivec { name } | State::AlphaR1 { name, .. } | State::Pk { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

    /// The connection closed before the certificate: the account to
    /// count a failed login against, if the client had what only the
    /// password opens and left (or sent garbage) instead of going on.
    pub fn closed(&self) -> Option<&str> {
        match &self.state {
            State::AlphaR1 {
                name, real: true, ..
            }
            | State::Pk {
                name, real: true, ..
            } => Some(name),
            _ => None,
        }
    }

    fn error_record(&mut self, text: &str) -> Vec<u8> {
        self.outw.seal(&ssl::error(text))
    }

    /// One record's body (what [`ssl::split`] cut out).
    pub fn record(&mut self, body: &[u8], signer: &Signer, env: &mut dyn Env) -> Out {
        let state = std::mem::replace(&mut self.state, State::Done);
        let bad_of = |s: &State| match s {
            State::AlphaR1 {
                name, real: true, ..
            }
            | State::Pk {
                name, real: true, ..
            } => Some(name.clone()),
            _ => None,
        };
        let bad = bad_of(&state);
        let msg = match self.inw.open(body) {
            Ok(m) => Zeroizing::new(m),
            Err(e) => return fail(Vec::new(), e.to_string(), bad),
        };
        let data = match ssl::parse(&msg) {
            Msg::Data(d) => d,
            Msg::Error(e) => return fail(Vec::new(), format!("the client: {e}"), bad),
            Msg::Garbled | Msg::Empty => {
                return fail(Vec::new(), "a message with no status byte".into(), bad)
            }
        };
        match state {
            State::Name => {
                let name = match std::str::from_utf8(data) {
                    Ok(n) if !n.is_empty() && n.len() <= MAX_NAME && !n.contains('\n') => n,
                    _ => {
                        let r = self.error_record("bad user name");
                        return fail(r, "a bad user name".into(), None);
                    }
                };
                let ack = self.outw.seal(&ssl::message(name.as_bytes()));
                self.state = State::Ivec { name: name.into() };
                Out::Send(ack)
            }
            State::Ivec { name } => self.on_ivec(name, data, signer, env),
            State::AlphaR1 {
                name,
                r0,
                exp,
                real,
            } => {
                let p = Nat::from_be_bytes(&signer.p).unwrap_or(Nat::ZERO);
                let p1 = p.sub(&Nat::from_u32(1)).unwrap_or(Nat::ZERO);
                let ok = std::str::from_utf8(data)
                    .ok()
                    .and_then(keyring::from_b64)
                    .filter(|v| {
                        Nat::from_be_bytes(v).is_some_and(|a| a.bits() > 1 && a.cmp(&p1).is_lt())
                    });
                let Some(a1) = ok else {
                    let r = self.error_record("bad alpha**r1 mod p");
                    return fail(r, "a bad alpha**r1 mod p".into(), real.then_some(name));
                };
                let shared = Zeroizing::new(modexp_be(&a1, &r0, &signer.p, true));
                self.inw.mode = Mode::Sha1(Zeroizing::new(shared.to_vec()));
                self.outw.mode = Mode::Sha1(Zeroizing::new(shared.to_vec()));
                let pk = signer.public().text();
                let r = self.outw.seal(&ssl::message(pk.as_bytes()));
                self.state = State::Pk { name, exp, real };
                Out::Send(r)
            }
            State::Pk { name, exp, real } => {
                let parsed = std::str::from_utf8(data)
                    .map_err(|_| "the client's public key is not text".to_string())
                    .and_then(|s| PublicKey::parse(s).map_err(|e| e.to_string()));
                let pk = match parsed {
                    Ok(pk) => pk,
                    Err(e) => {
                        let r = self.error_record(&e);
                        return fail(r, e, None);
                    }
                };
                if pk.owner != name {
                    let r = self.error_record("pk name doesn't match user name");
                    return fail(
                        r,
                        format!("a public key for '{}'", pk.owner.escape_default()),
                        None,
                    );
                }
                if !real {
                    // Cannot happen: nobody opens the random key.
                    return fail(
                        Vec::new(),
                        "an unknown account's exchange went on".into(),
                        None,
                    );
                }
                let cert = signer.certify(data, exp, &mut |b| env.random(b));
                let r = self.outw.seal(&ssl::message(cert.text().as_bytes()));
                Out::Issued {
                    records: r,
                    user: name,
                }
            }
            State::Done => fail(Vec::new(), "a record after the end".into(), None),
        }
    }

    fn on_ivec(&mut self, name: String, data: &[u8], signer: &Signer, env: &mut dyn Env) -> Out {
        let Ok(ivec) = <[u8; 8]>::try_from(data) else {
            let r = self.error_record("can't get initialization vector: not 8 bytes");
            return fail(r, format!("a {}-byte ivec", data.len()), None);
        };
        let (secret, exp, real) = match env.lookup(&name) {
            Lookup::Ok { secret, exp } => (secret, exp, true),
            Lookup::Refused(why) => {
                let r = self.error_record(&why);
                return fail(r, why, None);
            }
            Lookup::Unknown => {
                let mut s = Zeroizing::new([0u8; 20]);
                env.random(&mut s[..]);
                (s, 0, false)
            }
        };
        let mut r0 = Zeroizing::new(vec![0u8; R0_BITS / 8]);
        env.random(&mut r0);
        r0[0] |= 0x80;
        let a0 = modexp_be(&signer.alpha, &r0, &signer.p, true);
        let key = rc4_key(&secret, &ivec);
        let clear = std::mem::replace(&mut self.outw.mode, Mode::rc4_40(&key[..]));
        let mut out = self
            .outw
            .seal(&ssl::message(keyring::dh_b64(&a0).as_bytes()));
        self.outw.mode = clear;
        for v in [&signer.alpha, &signer.p] {
            out.extend(self.outw.seal(&ssl::message(keyring::dh_b64(v).as_bytes())));
        }
        self.state = State::AlphaR1 {
            name,
            r0,
            exp,
            real,
        };
        Out::Send(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::inferno::keyring::SecretKey;
    use crate::auth::inferno::rsa::{self, Signer};

    pub struct TestEnv {
        pub secret: Option<Zeroizing<[u8; 20]>>,
        pub refused: Option<String>,
        pub seed: u8,
        ctr: u64,
    }

    impl TestEnv {
        pub fn new(pw: Option<&[u8]>) -> TestEnv {
            TestEnv {
                secret: pw.map(password_secret),
                refused: None,
                seed: 7,
                ctr: 0,
            }
        }
    }

    impl Env for TestEnv {
        fn lookup(&mut self, _name: &str) -> Lookup {
            if let Some(r) = &self.refused {
                return Lookup::Refused(r.clone());
            }
            match &self.secret {
                Some(s) => Lookup::Ok {
                    secret: s.clone(),
                    exp: 1_900_000_000,
                },
                None => Lookup::Unknown,
            }
        }
        fn random(&mut self, buf: &mut [u8]) {
            for b in buf {
                self.ctr += 1;
                *b = (self.ctr as u8).wrapping_mul(31) ^ self.seed;
            }
        }
    }

    pub fn signer() -> Signer {
        // a small key keeps the tests fast (the protocol does not care),
        // made once for them all
        static S: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
        S.get_or_init(|| {
            let mut rng = crate::auth::inferno::rsa::tests::test_rng(9);
            let sk = rsa::generate("signer", 512, &mut rng);
            let (alpha, p) = rsa::dh_group();
            Signer {
                sk: SecretKey::Rsa(sk),
                alpha,
                p,
            }
        })
        .clone()
    }

    /// Split a run of records into their bodies.
    fn bodies(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while let Ok(Some((skip, len))) = ssl::split(b, ssl::MAX_RECORD) {
            v.push(b[skip..skip + len].to_vec());
            b = &b[skip + len..];
        }
        v
    }

    /// login.b's side, as far as `pw` takes it: the certificate's text or
    /// the client's error.
    pub fn client(name: &str, pw: &[u8], s: &Signer, env: &mut TestEnv) -> Result<String, String> {
        let mut srv = Logind::new();
        let (mut cin, mut cout) = (OneWay::default(), OneWay::default());
        let send = |srv: &mut Logind, cout: &mut OneWay, m: &[u8], env: &mut TestEnv| {
            let r = cout.seal(&ssl::message(m));
            srv.record(&r[2..], s, env)
        };
        let sent = |o: Out| match o {
            Out::Send(r) | Out::Issued { records: r, .. } => Ok(bodies(&r)),
            Out::Fail { records, why, .. } => Err((bodies(&records), why)),
        };
        let ack = sent(send(&mut srv, &mut cout, name.as_bytes(), env)).map_err(|e| e.1)?;
        let ack = cin.open(&ack[0]).unwrap();
        assert_eq!(ssl::parse(&ack), Msg::Data(name.as_bytes()));
        let ivec = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let recs = match sent(send(&mut srv, &mut cout, &ivec, env)) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        let key = rc4_key(&password_secret(pw), &ivec);
        cin.mode = Mode::rc4_40(&key[..]);
        let m = cin.open(&recs[0]).unwrap();
        let a0 = match ssl::parse(&m) {
            Msg::Data(d) => keyring::from_b64(std::str::from_utf8(d).unwrap()).unwrap(),
            Msg::Garbled => return Err("name or secret incorrect (alpha**r0 mod p)".into()),
            Msg::Error(e) => return Err(format!("remote:{e}")),
            Msg::Empty => return Err("empty".into()),
        };
        cin.mode = Mode::Clear;
        let alpha = cin.open(&recs[1]).unwrap();
        let p = cin.open(&recs[2]).unwrap();
        assert_eq!(&alpha[1..], b"Ag==");
        let p = keyring::from_b64(std::str::from_utf8(&p[1..]).unwrap()).unwrap();
        let r1 = [0x55u8; 32];
        let a1 = rsa::modexp_be(&[2], &r1, &p, true);
        let out = send(&mut srv, &mut cout, keyring::dh_b64(&a1).as_bytes(), env);
        let secret = rsa::modexp_be(&a0, &r1, &p, true);
        cin.mode = Mode::Sha1(Zeroizing::new(secret.clone()));
        cout.mode = Mode::Sha1(Zeroizing::new(secret));
        let recs = sent(out).map_err(|e| e.1)?;
        let spk = cin.open(&recs[0]).map_err(|e| e.to_string())?;
        assert_eq!(&spk[1..], s.public().text().as_bytes());
        let mine = PublicKey {
            alg: "rsa".into(),
            owner: name.into(),
            nums: vec![vec![0xc5; 64], vec![3]],
        }
        .text();
        let out = send(&mut srv, &mut cout, mine.as_bytes(), env);
        let recs = sent(out).map_err(|e| e.1)?;
        let cert = cin.open(&recs[0]).unwrap();
        let cert = String::from_utf8(cert[1..].to_vec()).unwrap();
        let c = keyring::Certificate::parse(&cert).unwrap();
        assert!(s.verify(mine.as_bytes(), &c));
        Ok(cert)
    }

    #[test]
    fn a_login_gets_a_certificate_until_the_account_expires() {
        let s = signer();
        let mut env = TestEnv::new(Some(b"password1"));
        let cert = client("glenda", b"password1", &s, &mut env).unwrap();
        assert!(
            cert.starts_with("rsa\nsha1\nsigner\n1900000000\n"),
            "{cert}"
        );
    }

    #[test]
    fn a_wrong_password_cannot_read_alpha_r0() {
        let s = signer();
        // the server's encrypted first byte decrypts to neither status
        // byte under this key (checked: a fixed env makes it fixed)
        let mut env = TestEnv::new(Some(b"password1"));
        let e = client("glenda", b"password2", &s, &mut env).unwrap_err();
        assert_eq!(e, "name or secret incorrect (alpha**r0 mod p)");
        let mut env = TestEnv::new(None);
        let e = client("nobody", b"password1", &s, &mut env).unwrap_err();
        assert_eq!(e, "name or secret incorrect (alpha**r0 mod p)");
    }

    #[test]
    fn leaving_after_alpha_r0_is_a_failed_login_but_not_for_unknown_names() {
        let s = signer();
        for (pw, counted) in [(Some(&b"password1"[..]), true), (None, false)] {
            let mut env = TestEnv::new(pw);
            let mut srv = Logind::new();
            let mut cout = OneWay::default();
            for m in [&b"glenda"[..], &[9u8; 8]] {
                let r = cout.seal(&ssl::message(m));
                assert!(matches!(srv.record(&r[2..], &s, &mut env), Out::Send(_)));
            }
            assert_eq!(srv.closed() == Some("glenda"), counted);
        }
    }

    #[test]
    fn refused_accounts_and_bad_messages() {
        let s = signer();
        let mut env = TestEnv::new(Some(b"password1"));
        env.refused = Some("account glenda is disabled".into());
        let mut srv = Logind::new();
        let mut cout = OneWay::default();
        let r = cout.seal(&ssl::message(b"glenda"));
        srv.record(&r[2..], &s, &mut env);
        let r = cout.seal(&ssl::message(&[0; 8]));
        match srv.record(&r[2..], &s, &mut env) {
            Out::Fail { records, bad, .. } => {
                assert_eq!(&records[2..], b"\xffaccount glenda is disabled");
                assert_eq!(bad, None);
            }
            o => panic!("{o:?}"),
        }
        // a short ivec, an empty name, an error from the client
        for (first, second) in [
            (&b"\0glenda"[..], &b"\0short"[..]),
            (&b"\0"[..], &b""[..]),
            (&b"\xffno"[..], &b""[..]),
            (&b"\x07x"[..], &b""[..]),
        ] {
            let mut srv = Logind::new();
            let o = srv.record(first, &s, &mut env);
            let o = if second.is_empty() {
                o
            } else {
                srv.record(second, &s, &mut env)
            };
            assert!(matches!(o, Out::Fail { .. }), "{o:?}");
        }
    }
}
