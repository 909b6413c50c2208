//! secstore's PAK (plan9port src/cmd/auth/secstore/pak.c), sans-IO: the
//! password verifier and the three messages that give both sides a
//! session key, with the randomness handed in.
//!
//! ```text
//! group  p 1024 bits, q 160 bits, p = q r + 1, g of order q (pak.c)
//! H      Cp = "secstore" C SHA1(password); buf = HMAC-SHA1(key 'A'+i, Cp),
//!        i = 0..6 (140 bytes); H = (buf mod p)^r mod p;  Hi = H^-1 mod p
//! C->S   "secstore\tPAK\nC=<user>\nm=<g^x H>\n"     (m = 0: "does it exist")
//! S->C   "mu=<g^y>\nk=<ks>\nS=<server>\n"
//! C->S   "k'=<kc>\n"
//! ks, kc, session = shorthash("server" | "client" | "session"), SHA1 over
//!        mess C S m mu sigma Hi, twice in a row (the texts as sent)
//! ```
//!
//! Numbers travel as base64 of their big-endian magnitude (libmp's
//! mptoa(.., 64)); x and y are 240 random bits reduced mod q (0 becomes 1).

use crate::auth::bignum::{Modulus, Nat};
use crate::auth::ssh::wire::{base64, unbase64};
use hmac::{KeyInit, Mac};
use sha1::{Digest, Sha1};
use std::sync::OnceLock;
use zeroize::Zeroizing;

pub const VERSION: &str = "secstore";

const P: &str = "C41CFBE4D4846F67A3DF7DE9921A49D3B42DC33728427AB159CEC8CBB\
    DB12B5F0C244F1A734AEB9840804EA3C25036AD1B61AFF3ABBC247CD4B384224567A86\
    3A6F020E7EE9795554BCD08ABAD7321AF27E1E92E3DB1C6E7E94FAAE590AE9C48F96D9\
    3D178E809401ABE8A534A1EC44359733475A36A70C7B425125062B1142D";
const Q: &str = "E0F0EF284E10796C5A2A511E94748BA03C795C13";
const G: &str = "2F1C308DC46B9A44B52DF7DACCE1208CCEF72F69C743ADD4D23271734\
    44ED6E65E074694246E07F9FD4AE26E0FDDD9F54F813C40CB9BCD4338EA6F242AB94CD\
    410E676C290368A16B1A3594877437E516C53A6EEE5493A038A017E955E218E7819734\
    E3E2A6E0BAE08B14258F8C03CC1B30E0DDADFCF7CEDF0727684D3D255F1";

/// Bits of the random exponents x and y (pak.c's mprand(240)).
pub const EXP_BITS: usize = 240;
/// Bytes of randomness a client or server exchange takes.
pub const RAND_LEN: usize = EXP_BITS / 8;

/// The group: p as a Montgomery modulus, q, r = (p-1)/q, g.
pub struct Group {
    pub p: Modulus,
    pub q: Nat,
    pub r: Nat,
    pub g: Nat,
}

fn hexnat(s: &str) -> Nat {
    Nat::from_be_bytes(&crate::auth::dec16(s.as_bytes())).unwrap_or(Nat::ZERO)
}

/// secstore's fixed group (computed once; boxed, as a OnceLock's value
/// sits in .data and the group would be 1.3 KB of the binary).
pub fn group() -> &'static Group {
    static G_: OnceLock<Box<Group>> = OnceLock::new();
    G_.get_or_init(|| {
        let p = hexnat(P);
        let q = hexnat(Q);
        let r = p
            .sub(&Nat::from_u32(1))
            .and_then(|pm1| pm1.div_rem(&q))
            .map_or(Nat::ZERO, |(r, _)| r);
        Box::new(Group {
            // P is a constant odd prime: new() cannot fail on it.
            p: Modulus::new(&p).unwrap_or_else(|| unreachable!()),
            q,
            r,
            g: hexnat(G),
        })
    })
}

/// libmp's mptoa(n, 64): base64 of the minimal big-endian magnitude.
pub fn b64(n: &Nat) -> String {
    base64(&n.to_be_vec())
}

/// libmp's strtomp(s, 64) then mod p: the leading base64 characters (it
/// stops at the first other one) as a number, reduced. None when there
/// are none or too many for a number of this group.
pub fn parse_b64(s: &str) -> Option<Nat> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
        .unwrap_or(s.len());
    let digits = &s[..end];
    if digits.is_empty() || digits.len() > 700 {
        return None;
    }
    // A ragged end (1 to 3 digits past a multiple of 4) gives what
    // dec64 gives: the whole bytes its bits hold.
    let bytes = Zeroizing::new(unbase64(digits)?);
    Some(group().p.reduce_be_bytes(&bytes))
}

/// H and Hi for user `c` and `password` (pak.c longhash and PAK_Hi).
pub fn verifier(c: &str, password: &[u8]) -> (Nat, Nat) {
    let gr = group();
    let ph = Sha1::digest(password);
    let mut cp = Zeroizing::new(Vec::with_capacity(VERSION.len() + c.len() + 20));
    cp.extend_from_slice(VERSION.as_bytes());
    cp.extend_from_slice(c.as_bytes());
    cp.extend_from_slice(&ph);
    let mut buf = Zeroizing::new([0u8; 140]);
    for i in 0..7u8 {
        if let Ok(mut m) = hmac::Hmac::<Sha1>::new_from_slice(&[b'A' + i]) {
            m.update(&cp);
            buf[20 * usize::from(i)..20 * usize::from(i) + 20]
                .copy_from_slice(&m.finalize().into_bytes());
        }
    }
    let h0 = gr.p.reduce_be_bytes(&buf[..]);
    let h = gr.p.pow_ct(&h0, &gr.r, gr.r.bits());
    let hi = gr.p.inv_prime(&h).unwrap_or(Nat::ZERO);
    (h, hi)
}

/// pak.c's shorthash.
#[allow(clippy::too_many_arguments)]
fn shorthash(mess: &str, c: &str, s: &str, m: &str, mu: &str, sigma: &str, hi: &str) -> [u8; 20] {
    let mut h = Sha1::new();
    for _ in 0..2 {
        for part in [mess, c, s, m, mu, sigma, hi] {
            h.update(part.as_bytes());
        }
    }
    h.finalize().into()
}

/// An exponent from RAND_LEN random bytes: mod q, 0 becomes 1.
fn exponent(rand: &[u8; RAND_LEN]) -> Nat {
    let gr = group();
    let x = Nat::from_be_bytes(rand).unwrap_or(Nat::ZERO);
    // x < 2^240 and q < 2^160: div_rem's time depends only on x's bit
    // length, which leaks a few bits of x at most for a few values.
    let x = x.div_rem(&gr.q).map_or(Nat::ZERO, |(_, r)| r);
    Nat::select(&x, &Nat::from_u32(1), x.is_zero())
}

/// What went wrong in an exchange; the text is what the peer is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PakError {
    /// A message that does not parse (named).
    Syntax(&'static str),
    /// The other side does not know the password (or is not who it says).
    Mismatch,
}

impl std::fmt::Display for PakError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PakError::Syntax(w) => write!(f, "PAK: {w}"),
            PakError::Mismatch => f.write_str("PAK: verifier didn't match"),
        }
    }
}

/// The session key both sides end with (SConn's secret).
pub type SessionKey = Zeroizing<[u8; 20]>;

/// The client after its first message.
pub struct Client {
    user: String,
    x: Nat,
    m: String,
    hi: String,
}

impl Client {
    /// Start: the first message (`secstore\tPAK\nC=..\nm=..\n`).
    pub fn start(user: &str, password: &[u8], rand: &[u8; RAND_LEN]) -> (Client, Vec<u8>) {
        let gr = group();
        let (h, hi) = verifier(user, password);
        let x = exponent(rand);
        let gx = gr.p.pow_ct(&gr.g, &x, EXP_BITS);
        let m = b64(&gr.p.mul(&gx, &h));
        let msg = format!("{VERSION}\tPAK\nC={user}\nm={m}\n").into_bytes();
        let c = Client {
            user: user.to_string(),
            x,
            m,
            hi: b64(&hi),
        };
        (c, msg)
    }

    /// The server's answer: check its proof; the reply (`k'=..\n`), the
    /// session key and the server's name.
    pub fn finish(self, reply: &[u8]) -> Result<(Vec<u8>, SessionKey, String), PakError> {
        let gr = group();
        let text =
            std::str::from_utf8(reply).map_err(|_| PakError::Syntax("verifier is not text"))?;
        let rest = text
            .strip_prefix("mu=")
            .ok_or(PakError::Syntax("verifier syntax error"))?;
        let (mu_s, rest) = rest
            .split_once("\nk=")
            .ok_or(PakError::Syntax("verifier syntax error"))?;
        let (ks, rest) = rest
            .split_once("\nS=")
            .ok_or(PakError::Syntax("verifier syntax error for secstore 1.0"))?;
        let (server, _) = rest
            .split_once('\n')
            .ok_or(PakError::Syntax("verifier syntax error for secstore 1.0"))?;
        let mu = parse_b64(mu_s).ok_or(PakError::Syntax("mu is not a number"))?;
        let sigma = Zeroizing::new(b64(&gr.p.pow_ct(&mu, &self.x, EXP_BITS)));
        let u = &self.user;
        let want = shorthash("server", u, server, &self.m, mu_s, &sigma, &self.hi);
        if !crate::auth::ct_eq(base64(&want).as_bytes(), ks.as_bytes()) {
            return Err(PakError::Mismatch);
        }
        let kc = shorthash("client", u, server, &self.m, mu_s, &sigma, &self.hi);
        let key = Zeroizing::new(shorthash(
            "session", u, server, &self.m, mu_s, &sigma, &self.hi,
        ));
        Ok((
            format!("k'={}\n", base64(&kc)).into_bytes(),
            key,
            server.to_string(),
        ))
    }
}

/// The client's first message, parsed.
pub struct Hello<'a> {
    pub user: &'a str,
    /// m as sent (the hashes take the text).
    pub m_text: &'a str,
    /// m mod p.
    pub m: Nat,
}

impl Hello<'_> {
    /// m = 0: the client only asks whether the account exists.
    pub fn is_probe(&self) -> bool {
        self.m.is_zero()
    }
}

/// Parse `secstore\tPAK\nC=<user>\nm=<m>\n`.
pub fn parse_hello(msg: &[u8]) -> Result<Hello<'_>, PakError> {
    let text =
        std::str::from_utf8(msg).map_err(|_| PakError::Syntax("first message is not text"))?;
    let rest = text
        .strip_prefix("secstore\tPAK\n")
        .ok_or(PakError::Syntax("protocol should start with ver alg"))?;
    let rest = rest
        .strip_prefix("C=")
        .ok_or(PakError::Syntax("PAK version mismatch"))?;
    let (user, rest) = rest
        .split_once("\nm=")
        .ok_or(PakError::Syntax("PAK version mismatch"))?;
    let (m_text, _) = rest
        .split_once('\n')
        .ok_or(PakError::Syntax("PAK version mismatch"))?;
    if user.contains('\n') {
        return Err(PakError::Syntax("PAK version mismatch"));
    }
    let m = parse_b64(m_text).ok_or(PakError::Syntax("m is not a number"))?;
    Ok(Hello { user, m_text, m })
}

/// The server after its answer, waiting for the client's proof.
pub struct Server {
    kc: [u8; 20],
    key: SessionKey,
}

impl Server {
    /// Answer `hello` for an account whose verifier is `hi`, as `name`.
    pub fn answer(
        hello: &Hello<'_>,
        hi: &Nat,
        name: &str,
        rand: &[u8; RAND_LEN],
    ) -> (Server, Vec<u8>) {
        let gr = group();
        let y = exponent(rand);
        let mu = b64(&gr.p.pow_ct(&gr.g, &y, EXP_BITS));
        let mhi = gr.p.mul(&hello.m, hi);
        let sigma = Zeroizing::new(b64(&gr.p.pow_ct(&mhi, &y, EXP_BITS)));
        let his = b64(hi);
        let (u, m) = (hello.user, hello.m_text);
        let ks = shorthash("server", u, name, m, &mu, &sigma, &his);
        let kc = shorthash("client", u, name, m, &mu, &sigma, &his);
        let key = Zeroizing::new(shorthash("session", u, name, m, &mu, &sigma, &his));
        let msg = format!("mu={mu}\nk={}\nS={name}\n", base64(&ks)).into_bytes();
        (Server { kc, key }, msg)
    }

    /// The client's `k'=..\n`: the session key when it proves the password.
    pub fn finish(self, msg: &[u8]) -> Result<SessionKey, PakError> {
        let text =
            std::str::from_utf8(msg).map_err(|_| PakError::Syntax("verifier syntax error"))?;
        let kc = text
            .strip_prefix("k'=")
            .and_then(|r| r.split_once('\n'))
            .map(|(k, _)| k)
            .ok_or(PakError::Syntax("verifier syntax error"))?;
        if crate::auth::ct_eq(base64(&self.kc).as_bytes(), kc.as_bytes()) {
            Ok(self.key)
        } else {
            Err(PakError::Mismatch)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
