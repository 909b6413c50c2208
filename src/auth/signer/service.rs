//! The signer on the network: the [`pake`](super::pake) exchange over TCP
//! (each message one length-prefixed frame, at most [`pake::MAX_MSG`]
//! bytes), served by [`frameserve`](crate::sys::frameserve) in one poll
//! loop; and the client `warden cert request` uses.
//!
//! The sealed request and reply:
//!
//! ```text
//! request = version:u8(=3) key:string ask             (string = u32be len, bytes)
//! ask     = validity:u64 (0: the longest allowed)
//!           principals:string (comma-separated; empty: all the account's)
//!           0 (every extension allowed) | 1 extensions:string (comma-separated)
//! reply   = 0 cert:string | 1 message:string
//! ```
//!
//! (A version 2 request is the key alone: it asks for everything the
//! account allows, see [`policy`](super::policy).)
//!
//! One answer for every failure to log in: an account that is unknown,
//! disabled, expired, in purgatory or without a signer verifier gets a
//! made-up exchange, and a wrong password, a wrong or replayed TOTP/HOTP
//! code (proven inside the exchange, see [`pake`](super::pake)) or a
//! missing one all end with the connection closed after the request,
//! nothing sent. For an existing account each counts as a failed login
//! (keyfs's purgatory and 50-strikes rules); a success resets the count.
//! Sealed error messages go only to a client that proved both factors.

use super::ca;
use super::pake::{self, PakeError, Server, ServerAwaitRequest, Verifier};
use super::plain::{self, Hello};
use super::policy;
use crate::auth::inferno::logind::{self, Logind, Lookup};
use crate::auth::inferno::rsa::Signer as InfernoSigner;
use crate::auth::inferno::{keyring, ssl};
use crate::auth::keyfs::shared::SharedKeyfs as Shared;
use crate::auth::keyfs::KeyfsError;
use crate::auth::ssh::cert::CertType;
use crate::auth::ssh::key::PublicKey;
use crate::auth::ssh::wire::{get_string, put_string};
use crate::sys::frameserve::{self, Closed, Handler, Limits, Peer, Split, Verdict};
use crate::wire::{Reader, Writer};
use std::time::Duration;
use zeroize::Zeroizing;

/// Inferno's signer port (logind, `inflogin`): warden's own certificate
/// request and Inferno's login share it, told apart by the first byte.
pub const DEFAULT_PORT: u16 = 6673;

pub const REPLY_CERT: u8 = 0;
pub const REPLY_ERROR: u8 = 1;
/// The sealed request's version.
pub const REQUEST_VERSION: u8 = 3;

/// What the signer needs from the configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    pub max_validity: u64,
    pub otp_window: u64,
}

struct PakeConn<'a> {
    state: &'a mut State,
    peer: &'a mut String,
}

pub enum State {
    Hello,
    AwaitA(Server),
    AwaitRequest(ServerAwaitRequest),
    /// A renewal: the certificate, and the challenge its key must sign.
    AwaitProof(Vec<u8>, [u8; plain::CHALLENGE_LEN]),
    /// An enrolment: the host, and the challenge its token's MAC covers.
    AwaitEnrol(Vec<u8>, [u8; plain::CHALLENGE_LEN]),
    Done,
}

/// One connection: which protocol its first byte chose.
pub enum Conn {
    /// Nothing read yet.
    Undecided { peer: String },
    /// warden's own certificate request (frames start with a u32 length:
    /// first byte 0x00).
    Pake { state: State, peer: String },
    /// Inferno's getauthinfo (devssl records: first byte 0x80 or more).
    Inferno {
        login: Box<Logind>,
        key: Option<Box<InfernoSigner>>,
        peer: String,
    },
}

/// The signer's protocol handler.
pub struct Signer {
    keyfs: Shared,
    pub policy: Policy,
    /// Made-up verifiers for unknown users derive from this.
    fake_key: Zeroizing<[u8; 32]>,
    /// Time source (seconds since the epoch).
    pub clock: fn() -> u64,
    pub issued: u64,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn reply(code: u8, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(code);
    put_string(&mut w, body);
    w.into_vec()
}

impl Signer {
    pub fn new(keyfs: Shared, policy: Policy) -> Result<Signer, KeyfsError> {
        let mut fake_key = Zeroizing::new([0u8; 32]);
        crate::auth::keyfs::sealed::random(&mut fake_key[..])?;
        Ok(Signer {
            keyfs,
            policy,
            fake_key,
            clock: now,
            issued: 0,
        })
    }

    fn fake(&self, user: &str) -> Verifier {
        use hmac::{Hmac, KeyInit, Mac};
        let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.fake_key[..])
            .expect("HMAC takes any key length");
        m.update(user.as_bytes());
        let h: [u8; 32] = m.finalize().into_bytes().into();
        let mut salt = [0u8; pake::SALT_LEN];
        salt.copy_from_slice(&h[..pake::SALT_LEN]);
        Verifier {
            salt,
            iterations: crate::auth::keyfs::signer::VERIFIER_ITERATIONS,
            // Random per exchange: nobody can know it.
            secret: Zeroizing::new(crate::sys::random::array().unwrap_or(h)),
        }
    }

    fn lookup(&self, user: &str) -> Option<Verifier> {
        let now = (self.clock)();
        self.keyfs
            .with(|s| {
                let a = s.usable(user, now)?;
                Ok(a.secrets
                    .as_ref()
                    .and_then(|x| x.signer.as_ref())
                    .map(|v| Verifier {
                        salt: v.salt,
                        iterations: v.iterations,
                        secret: v.secret.clone(),
                    }))
            })
            .ok()
            .flatten()
    }

    fn count_bad(&self, user: &str, peer: &str) {
        let now = (self.clock)();
        match self.keyfs.with(|s| s.bad(user, now)) {
            Ok(out) => log::warn!("signer: {peer}: failed login for {user} ({out})"),
            Err(KeyfsError::NoUser(_)) => {
                log::warn!("signer: {peer}: failed login for unknown {user}")
            }
            Err(e) => log::warn!("signer: {peer}: failed login for {user}: {e}"),
        }
    }

    /// The second factors `user` may prove now: the codes its token's
    /// window allows, or one empty code for an account without a token
    /// (or one that cannot log in: its exchange fails anyway).
    fn codes(&self, user: &str) -> Vec<Zeroizing<String>> {
        let now = (self.clock)();
        let window = self.policy.otp_window;
        self.keyfs
            .with(|s| {
                Ok(s.usable(user, now)?
                    .otp
                    .as_ref()
                    .map(|t| t.candidates(now, window)))
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![Zeroizing::new(String::new())])
    }

    /// Both factors fitted: record the code (a replay is refused here, and
    /// counted, like a wrong one) or the success. False: treat as failed.
    fn logged_in(&self, user: &str, code: &str, peer: &str) -> bool {
        let now = (self.clock)();
        let window = self.policy.otp_window;
        let r = self.keyfs.with(|s| {
            if code.is_empty() {
                s.good(user);
                Ok(())
            } else {
                s.verify_otp(user, code, now, window)
            }
        });
        match r {
            Ok(()) => true,
            Err(e) => {
                log::warn!("signer: {peer}: failed login for {user}: {e}");
                false
            }
        }
    }

    /// After both factors: issue the certificate.
    fn serve_request(&mut self, user: &str, peer: &str, req: &[u8]) -> Vec<u8> {
        let now = (self.clock)();
        let Some((key, ask)) = parse_request(req) else {
            return reply(REPLY_ERROR, b"malformed request");
        };
        let key = match PublicKey::from_blob(&key) {
            Ok(k) => k,
            Err(e) => return reply(REPLY_ERROR, format!("key: {e}").as_bytes()),
        };
        let r = self
            .keyfs
            .with(|s| issue_user(s, self.policy.max_validity, user, peer, &key, &ask, now));
        self.answer(r, user, peer)
    }

    fn answer(&mut self, r: Result<(u64, Vec<u8>), KeyfsError>, user: &str, peer: &str) -> Vec<u8> {
        match r {
            Ok((_, blob)) => {
                self.issued += 1;
                reply(REPLY_CERT, &blob)
            }
            Err(e) => {
                log::warn!("signer: {peer}: {user}: {e}");
                reply(REPLY_ERROR, e.to_string().as_bytes())
            }
        }
    }
}

/// `192.168.1.10:5123` -> `192.168.1.10` (`[::1]:5123` -> `::1`).
fn address(peer: &str) -> &str {
    match peer.rsplit_once(':') {
        Some((a, p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
            a.trim_start_matches('[').trim_end_matches(']')
        }
        _ => peer,
    }
}

fn list(b: &[u8]) -> Option<Vec<String>> {
    let s = std::str::from_utf8(b).ok()?;
    Some(
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect(),
    )
}

/// The sealed request: the key's blob and what the client asks for.
fn parse_request(req: &[u8]) -> Option<(Vec<u8>, policy::Ask)> {
    let mut r = Reader::new(req);
    let v = r.u8().ok()?;
    if v != 2 && v != REQUEST_VERSION {
        return None;
    }
    let key = get_string(&mut r).ok()?.to_vec();
    let mut ask = policy::Ask::default();
    if v == REQUEST_VERSION {
        ask.validity = crate::auth::ssh::wire::get_u64(&mut r).ok()?;
        ask.principals = list(get_string(&mut r).ok()?)?;
        ask.extensions = match r.u8().ok()? {
            0 => None,
            1 => Some(list(get_string(&mut r).ok()?)?),
            _ => return None,
        };
    }
    (r.remaining() == 0).then_some((key, ask))
}

/// The request [`parse_request`] reads.
pub fn encode_request(key: &PublicKey, ask: &policy::Ask) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new();
    w.u8(REQUEST_VERSION);
    put_string(&mut w, &key.blob);
    crate::auth::ssh::wire::put_u64(&mut w, ask.validity);
    put_string(&mut w, ask.principals.join(",").as_bytes());
    match &ask.extensions {
        None => {
            w.u8(0);
        }
        Some(e) => {
            w.u8(1);
            put_string(&mut w, e.join(",").as_bytes());
        }
    }
    Zeroizing::new(w.into_vec())
}

impl Signer {
    /// A fetch: the KRL or the CA key lines, as they are now.
    fn fetch(&self, what: &[u8], peer: &str) -> Verdict {
        let now = (self.clock)();
        let r = self.keyfs.with(|s| {
            let db = &s.db().signer;
            Ok(match what {
                b"krl" => Some(ca::krl(db, now).encode()),
                b"ca" => Some(ca::ca_lines(db, now).into_bytes()),
                _ => None,
            })
        });
        let msg = match r {
            Ok(Some(d)) if !d.is_empty() => {
                log::debug!("signer: {peer}: fetched {}", String::from_utf8_lossy(what));
                return Verdict::SendClose(frameserve::frame(&plain::pair(
                    plain::FETCH.as_bytes(),
                    &d,
                )));
            }
            Ok(Some(_)) => "no CA key yet (warden cert ca-pubkey on the router makes it)".into(),
            Ok(None) => format!("nothing to fetch named '{}'", String::from_utf8_lossy(what)),
            Err(e) => e.to_string(),
        };
        Verdict::SendClose(err_frame(&msg))
    }

    /// An enrolment: `body` is the token's MAC and the request.
    fn enrol(&mut self, host: &[u8], ch: &[u8], body: &[u8], peer: &str) -> Vec<u8> {
        let now = (self.clock)();
        let name = String::from_utf8_lossy(host).into_owned();
        let r = self.keyfs.with(|s| {
            let refused = || {
                KeyfsError::Invalid(format!(
                    "refused: no valid enrolment token for host '{}'",
                    name.escape_default()
                ))
            };
            let (mac, req) = plain::two(body).ok_or_else(refused)?;
            let (key, _) = parse_request(req).ok_or_else(refused)?;
            let key =
                PublicKey::from_blob(&key).map_err(|e| KeyfsError::Invalid(format!("key: {e}")))?;
            let t = s
                .update(|db| Ok(plain::take_token(&mut db.signer, host, ch, req, mac, now)))?
                .ok_or_else(refused)?;
            issue_host(s, &t.principals, t.validity, peer, &key, now)
        });
        if r.is_ok() {
            log::info!("signer: {peer}: host {name} enrolled with its token");
        }
        self.answer(r, &format!("host {name}"), peer)
    }

    /// A renewal: `body` is the signature over the challenge and the
    /// request (see [`plain`]).
    fn renew(&mut self, cert: &[u8], ch: &[u8], body: &[u8], peer: &str) -> Vec<u8> {
        let now = (self.clock)();
        let Some((sig, req)) = plain::two(body) else {
            return reply(REPLY_ERROR, b"malformed renewal");
        };
        let Some((key, ask)) = parse_request(req) else {
            return reply(REPLY_ERROR, b"malformed request");
        };
        let max = self.policy.max_validity;
        let mut who = String::from("?");
        let r = self.keyfs.with(|s| {
            let rn = plain::renewable(&s.db().signer, cert, now).map_err(KeyfsError::Invalid)?;
            let k = &rn.cert.spec.key;
            if key != k.blob
                || !crate::auth::ssh::key::verify(k, &plain::signed(ch, cert, req), sig)
            {
                return Err(KeyfsError::Invalid(
                    "the signature does not prove possession of the certificate's key".into(),
                ));
            }
            match rn.account {
                Some(a) => {
                    who = a;
                    issue_user(s, max, &who, peer, k, &ask, now)
                }
                None => {
                    // A host: the same names for as long again.
                    let p = &rn.cert.spec;
                    who = format!("host {}", p.principals.first().map_or("?", |h| h.as_str()));
                    let life = p.valid_before - p.valid_after;
                    issue_host(s, &p.principals, life, peer, k, now)
                }
            }
        });
        if r.is_ok() {
            log::info!("signer: {peer}: {who} renewed a certificate by proof of possession");
        }
        self.answer(r, &who, peer)
    }
}

/// Issue a host certificate for `key` (enrolled or renewed from `peer`).
fn issue_host(
    s: &mut crate::auth::keyfs::Store,
    principals: &[String],
    validity: u64,
    peer: &str,
    key: &PublicKey,
    now: u64,
) -> Result<(u64, Vec<u8>), KeyfsError> {
    let host = principals.first().cloned().unwrap_or_default();
    let req = ca::Request {
        kind: CertType::Host,
        key: key.clone(),
        principals: principals.to_vec(),
        valid_after: now.saturating_sub(ca::BACKDATE),
        valid_before: now.saturating_add(validity),
        by: format!("host {host} from {peer}"),
        key_id: host,
        from: Some(address(peer).to_string()),
        critical: Vec::new(),
        extensions: Vec::new(),
    };
    ca::issue(s, &req, now)
}

/// Issue `user` a certificate for `key` by the account's policy.
fn issue_user(
    s: &mut crate::auth::keyfs::Store,
    max: u64,
    user: &str,
    peer: &str,
    key: &PublicKey,
    ask: &policy::Ask,
    now: u64,
) -> Result<(u64, Vec<u8>), KeyfsError> {
    let a = s.usable(user, now)?.clone();
    let g = policy::grant(&a, max, now, ask).map_err(KeyfsError::Invalid)?;
    let req = ca::Request {
        kind: CertType::User,
        key: key.clone(),
        principals: g.principals,
        valid_after: g.valid_after,
        valid_before: g.valid_before,
        by: format!("{user} from {peer}"),
        key_id: user.to_string(),
        from: Some(address(peer).to_string()),
        critical: g.critical,
        extensions: g.extensions,
    };
    ca::issue(s, &req, now)
}

fn err_frame(msg: &str) -> Vec<u8> {
    // Outside the PAKE: an error frame is a zero-length version string
    // followed by the message (the client shows it).
    let mut w = Writer::new();
    put_string(&mut w, b"");
    put_string(&mut w, msg.as_bytes());
    frameserve::frame(&w.buf)
}

impl<S> Handler<S> for Signer {
    type Conn = Conn;

    fn open(&mut self, _stream: &S, peer: &Peer) -> Option<Conn> {
        Some(Conn::Undecided {
            peer: peer.name.clone(),
        })
    }

    /// The first frame is cut with its header (so `frame` sees the first
    /// byte and picks the protocol); later ones without.
    fn split(&self, c: &Conn, buf: &[u8], max_frame: usize) -> Split {
        let inferno = |buf: &[u8], keep: bool| match ssl::split(buf, logind::MAX_IN_RECORD) {
            Ok(None) => Split::Need,
            Ok(Some((skip, len))) if buf.len() >= skip + len => Split::Frame {
                skip: if keep { 0 } else { skip },
                len: if keep { skip + len } else { len },
            },
            Ok(Some(_)) => Split::Need,
            Err(_) => Split::Bad,
        };
        match c {
            Conn::Undecided { .. } => match buf.first() {
                None => Split::Need,
                Some(b) if b & 0x80 != 0 => inferno(buf, true),
                Some(_) => match frameserve::length_prefixed(buf, max_frame) {
                    Split::Frame { skip, len } => Split::Frame {
                        skip: 0,
                        len: skip + len,
                    },
                    x => x,
                },
            },
            Conn::Pake { .. } => frameserve::length_prefixed(buf, max_frame),
            Conn::Inferno { .. } => inferno(buf, false),
        }
    }

    fn frame(&mut self, c: &mut Conn, body: &[u8]) -> Verdict {
        if let Conn::Undecided { peer } = c {
            let peer = std::mem::take(peer);
            if body.first().is_some_and(|b| b & 0x80 != 0) {
                let key = self.inferno_key();
                *c = Conn::Inferno {
                    login: Box::default(),
                    key: key.as_ref().ok().cloned().map(Box::new),
                    peer,
                };
                if let Err(e) = key {
                    log::warn!("signer: inferno login from {}: {e}", c.peer());
                    let mut out = ssl::OneWay::default();
                    return Verdict::SendClose(out.seal(&ssl::error(&e)));
                }
                return self.inferno_record(c, body.get(2..).unwrap_or_default());
            }
            *c = Conn::Pake {
                state: State::Hello,
                peer,
            };
            return self.pake_frame(c, body.get(4..).unwrap_or_default());
        }
        if let Conn::Inferno { .. } = c {
            return self.inferno_record(c, body);
        }
        self.pake_frame(c, body)
    }

    /// A client that leaves before its request proved nothing and learnt
    /// nothing: not a failed login. An Inferno client that leaves after
    /// the password-encrypted value (or sends garbage then) failed to
    /// log in.
    fn closed(&mut self, c: Conn, _peer: &Peer, _why: Closed) {
        if let Conn::Inferno { login, peer, .. } = &c {
            if let Some(u) = login.closed() {
                let u = u.to_string();
                self.count_bad(&u, peer);
            }
        }
    }
}

impl Conn {
    fn peer(&self) -> &str {
        match self {
            Conn::Undecided { peer } | Conn::Pake { peer, .. } | Conn::Inferno { peer, .. } => peer,
        }
    }
}

/// logind's accounts: keyfs's, with SHA1 of the password as the secret
/// (what Inferno's changelogin stores).
struct KeyfsEnv<'a> {
    keyfs: &'a Shared,
    now: u64,
}

impl logind::Env for KeyfsEnv<'_> {
    fn lookup(&mut self, name: &str) -> Lookup {
        let now = self.now;
        let r = self.keyfs.with(|s| {
            let Some(secret) = s
                .user(name)
                .ok()
                .and_then(|a| a.secrets.as_ref())
                .map(|x| logind::password_secret(&x.secret))
            else {
                return Ok(Lookup::Unknown);
            };
            Ok(match s.usable(name, now) {
                Ok(a) => Lookup::Ok {
                    secret,
                    exp: keyring::cert_exp(a.expire),
                },
                Err(e) => Lookup::Refused(e.to_string()),
            })
        });
        r.unwrap_or(Lookup::Unknown)
    }

    fn random(&mut self, buf: &mut [u8]) {
        crate::sys::random::fill_or_abort(buf);
    }
}

impl Signer {
    /// The Inferno signer key, or why there is none.
    fn inferno_key(&self) -> Result<InfernoSigner, String> {
        let k = self
            .keyfs
            .with(|s| Ok(s.db().signer.inferno.clone()))
            .map_err(|e| format!("the signer's keyfs: {e}"))?
            .ok_or("the signer has no Inferno key (warden signer createkey)")?;
        let sk = keyring::SecretKey::parse(&k.sk)
            .map_err(|e| format!("the signer's Inferno key: {e}"))?;
        Ok(InfernoSigner {
            sk,
            alpha: k.alpha,
            p: k.p,
        })
    }

    fn inferno_record(&mut self, c: &mut Conn, body: &[u8]) -> Verdict {
        let Conn::Inferno { login, key, peer } = c else {
            return Verdict::Close;
        };
        let Some(key) = key.as_ref() else {
            return Verdict::Close;
        };
        let mut env = KeyfsEnv {
            keyfs: &self.keyfs,
            now: (self.clock)(),
        };
        match login.record(body, key, &mut env) {
            logind::Out::Send(r) => Verdict::Send(r),
            logind::Out::Issued { records, user } => {
                self.keyfs
                    .with(|s| {
                        s.good(&user);
                        Ok(())
                    })
                    .ok();
                self.issued += 1;
                log::info!("signer: {peer}: inferno certificate for {user}");
                **login = Logind::new();
                Verdict::SendClose(records)
            }
            logind::Out::Fail { records, why, bad } => {
                let who = login.user().unwrap_or("?").to_string();
                log::warn!("signer: {peer}: inferno login for {who}: {why}");
                if let Some(u) = bad {
                    self.count_bad(&u, peer);
                }
                **login = Logind::new();
                if records.is_empty() {
                    Verdict::Close
                } else {
                    Verdict::SendClose(records)
                }
            }
        }
    }

    fn pake_frame(&mut self, c: &mut Conn, body: &[u8]) -> Verdict {
        let Conn::Pake { state, peer } = c else {
            return Verdict::Close;
        };
        let c = PakeConn { state, peer };
        match std::mem::replace(c.state, State::Done) {
            State::Hello => {
                if self.keyfs.is_locked() {
                    return Verdict::SendClose(err_frame("the signer's keyfs is locked"));
                }
                match plain::hello(body) {
                    Hello::Fetch(what) => return self.fetch(what, c.peer),
                    Hello::Renew(cert) => {
                        let Ok(ch) = crate::sys::random::array() else {
                            return Verdict::SendClose(err_frame("no random numbers"));
                        };
                        *c.state = State::AwaitProof(cert.to_vec(), ch);
                        return Verdict::Send(frameserve::frame(&plain::pair(
                            plain::RENEW.as_bytes(),
                            &ch,
                        )));
                    }
                    Hello::Enrol(host) => {
                        let Ok(ch) = crate::sys::random::array() else {
                            return Verdict::SendClose(err_frame("no random numbers"));
                        };
                        *c.state = State::AwaitEnrol(host.to_vec(), ch);
                        return Verdict::Send(frameserve::frame(&plain::pair(
                            plain::ENROL.as_bytes(),
                            &ch,
                        )));
                    }
                    Hello::Pake => {}
                }
                let lookup = |u: &str| self.lookup(u);
                let fake = |u: &str| self.fake(u);
                match Server::on_hello(body, &lookup, &fake) {
                    Ok((s, params)) => {
                        *c.state = State::AwaitA(s);
                        Verdict::Send(frameserve::frame(&params))
                    }
                    Err(e) => {
                        log::debug!("signer: {}: {e}", c.peer);
                        Verdict::SendClose(err_frame(&e.to_string()))
                    }
                }
            }
            State::AwaitA(s) => match s.on_a(body) {
                Ok((s, b)) => {
                    *c.state = State::AwaitRequest(s);
                    Verdict::Send(frameserve::frame(&b))
                }
                Err(e) => {
                    log::debug!("signer: {}: {e}", c.peer);
                    Verdict::Close
                }
            },
            State::AwaitRequest(s) => {
                let codes = self.codes(&s.user);
                match s.on_request(body, &codes) {
                    Ok((done, req, i)) => {
                        let code = codes.get(i).map_or("", |c| c.as_str());
                        if !self.logged_in(&s.user, code, c.peer) {
                            return Verdict::Close;
                        }
                        let out = self.serve_request(&s.user, c.peer, &req);
                        Verdict::SendClose(frameserve::frame(&done.reply(&out)))
                    }
                    Err(PakeError::WrongPassword) => {
                        self.count_bad(&s.user, c.peer);
                        Verdict::Close
                    }
                    Err(e) => {
                        log::debug!("signer: {}: {e}", c.peer);
                        Verdict::Close
                    }
                }
            }
            State::AwaitEnrol(host, ch) => {
                Verdict::SendClose(frameserve::frame(&self.enrol(&host, &ch, body, c.peer)))
            }
            State::AwaitProof(cert, ch) => {
                Verdict::SendClose(frameserve::frame(&self.renew(&cert, &ch, body, c.peer)))
            }
            State::Done => Verdict::Close,
        }
    }
}

/// The signer's limits: `signer max_conns`, `peer_conns`,
/// `idle_timeout`, and frames no larger than the protocol allows.
pub fn limits(c: &crate::config::Config) -> Limits {
    Limits {
        admit: c.signer.conns,
        max_frame: pake::MAX_MSG,
    }
}

// ---------------------------------------------------------------- client

/// What the signer answered.
#[derive(Debug)]
pub enum Answer {
    Cert(Vec<u8>),
    Error(String),
}

/// What a client is told when the signer closes after its request: every
/// failure to log in ends so.
pub const REFUSED: &str =
    "refused: wrong user, password or TOTP code (an account with a TOTP token needs --totp), or the account may not log in now";

fn read_frame(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    read_frame_max(s, pake::MAX_MSG)
}

/// A fetched KRL may be larger than a PAKE message.
const MAX_FETCH: usize = 4 << 20;

fn read_frame_max(s: &mut std::net::TcpStream, max: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 || n > max {
        return Err(std::io::Error::other(format!(
            "signer sent a {n}-byte frame"
        )));
    }
    let mut b = vec![0u8; n];
    s.read_exact(&mut b)?;
    Ok(b)
}

/// The server's plain error frame, if this is one.
fn plain_error(b: &[u8]) -> Option<String> {
    let mut r = Reader::new(b);
    let v = get_string(&mut r).ok()?;
    if !v.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(get_string(&mut r).ok()?).into_owned())
}

/// Run one request over `stream`. Every message the client writes is
/// passed to `tap` too (tests record the exchange).
pub fn request_over(
    stream: &mut std::net::TcpStream,
    user: &str,
    password: &[u8],
    key: &PublicKey,
    totp: Option<&str>,
    ask: &policy::Ask,
    tap: &mut dyn FnMut(&[u8]),
) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::Write;
    fn send(
        s: &mut std::net::TcpStream,
        tap: &mut dyn FnMut(&[u8]),
        b: &[u8],
    ) -> std::io::Result<()> {
        let f = frameserve::frame(b);
        tap(&f);
        s.write_all(&f)
    }
    let (c, hello) = pake::Client::start(user, password);
    send(stream, tap, &hello)?;
    let params = read_frame(stream)?;
    tap(&params);
    if let Some(m) = plain_error(&params) {
        return Ok(Answer::Error(m));
    }
    let (c, a) = c.on_params(&params)?;
    send(stream, tap, &a)?;
    let b = match read_frame(stream) {
        Ok(b) => b,
        Err(_) => return Ok(Answer::Error("the signer closed the connection".into())),
    };
    tap(&b);
    let req = encode_request(key, ask);
    let (c, msg) = c.on_b(&b, totp.unwrap_or("").as_bytes(), &req)?;
    send(stream, tap, &msg)?;
    let sealed = match read_frame(stream) {
        Ok(b) => b,
        Err(_) => return Ok(Answer::Error(REFUSED.into())),
    };
    tap(&sealed);
    let plain = c.on_reply(&sealed)?;
    Ok(answer(&plain)?)
}

/// The signer's answer: a certificate, or why not.
fn answer(b: &[u8]) -> Result<Answer, PakeError> {
    let mut r = Reader::new(b);
    let code = r.u8().map_err(|_| PakeError::Malformed("reply"))?;
    let body = get_string(&mut r).map_err(|_| PakeError::Malformed("reply"))?;
    Ok(match code {
        REPLY_CERT => Answer::Cert(body.to_vec()),
        _ => Answer::Error(String::from_utf8_lossy(body).into_owned()),
    })
}

/// Connect (with a timeout) and run one request.
pub fn request(
    addr: &str,
    user: &str,
    password: &[u8],
    key: &PublicKey,
    totp: Option<&str>,
    ask: &policy::Ask,
) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
    let mut s = connect(addr)?;
    request_over(&mut s, user, password, key, totp, ask, &mut |_| {})
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Makes the certified key's SSH signature over the bytes it is given.
pub type Sign<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, BoxError> + 'a;

/// Fetch `what` (`krl` or `ca`) from the signer at `addr`.
pub fn fetch(addr: &str, what: &str) -> Result<Vec<u8>, BoxError> {
    use std::io::Write;
    let mut s = connect(addr)?;
    s.write_all(&frameserve::frame(&plain::pair(
        plain::FETCH.as_bytes(),
        what.as_bytes(),
    )))?;
    let b = read_frame_max(&mut s, MAX_FETCH)?;
    if let Some(m) = plain_error(&b) {
        return Err(m.into());
    }
    match plain::two(&b) {
        Some((n, d)) if n == plain::FETCH.as_bytes() => Ok(d.to_vec()),
        _ => Err("the signer's answer is malformed".into()),
    }
}

/// Renew `cert` (a certificate blob) at the signer at `addr`: `sign`
/// makes the certified key's SSH signature over the bytes it is given.
pub fn renew(
    addr: &str,
    cert: &[u8],
    ask: &policy::Ask,
    sign: &mut Sign<'_>,
) -> Result<Answer, BoxError> {
    use std::io::Write;
    let key = crate::auth::ssh::cert::parse(cert)?.spec.key;
    let mut s = connect(addr)?;
    s.write_all(&frameserve::frame(&plain::pair(
        plain::RENEW.as_bytes(),
        cert,
    )))?;
    let b = read_frame(&mut s)?;
    if let Some(m) = plain_error(&b) {
        return Ok(Answer::Error(m));
    }
    let ch = match plain::two(&b) {
        Some((n, ch)) if n == plain::RENEW.as_bytes() && ch.len() == plain::CHALLENGE_LEN => ch,
        _ => return Err("the signer's challenge is malformed".into()),
    };
    let req = encode_request(&key, ask);
    let sig = sign(&plain::signed(ch, cert, &req))?;
    s.write_all(&frameserve::frame(&plain::pair(&sig, &req)))?;
    read_reply(&mut s)
}

/// Enrol `key` as `host`'s at the signer at `addr` with the one-time
/// `token` (which never crosses the wire).
pub fn enrol(addr: &str, host: &str, token: &[u8], key: &PublicKey) -> Result<Answer, BoxError> {
    use std::io::Write;
    let mut s = connect(addr)?;
    s.write_all(&frameserve::frame(&plain::pair(
        plain::ENROL.as_bytes(),
        host.as_bytes(),
    )))?;
    let b = read_frame(&mut s)?;
    if let Some(m) = plain_error(&b) {
        return Ok(Answer::Error(m));
    }
    let ch = match plain::two(&b) {
        Some((n, ch)) if n == plain::ENROL.as_bytes() && ch.len() == plain::CHALLENGE_LEN => ch,
        _ => return Err("the signer's challenge is malformed".into()),
    };
    let req = encode_request(key, &policy::Ask::default());
    let mac = plain::enrol_mac(token, ch, host.as_bytes(), &req);
    s.write_all(&frameserve::frame(&plain::pair(&mac, &req)))?;
    read_reply(&mut s)
}

fn read_reply(s: &mut std::net::TcpStream) -> Result<Answer, BoxError> {
    Ok(answer(&read_frame(s)?)?)
}

/// Connect with a timeout; reads and writes time out too.
pub fn connect(
    addr: &str,
) -> Result<std::net::TcpStream, Box<dyn std::error::Error + Send + Sync>> {
    use std::net::ToSocketAddrs;
    let sa = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let s = std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(10))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(s)
}

/// The signer as a daemon service.
pub struct SignerService {
    pub keyfs: Shared,
}

impl crate::service::Service for SignerService {
    fn name(&self) -> &'static str {
        "signer"
    }

    fn run(
        self: Box<Self>,
        ctx: crate::service::Ctx,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let policy = |c: &crate::config::Config| Policy {
            max_validity: c.signer.max_validity.as_secs(),
            otp_window: c.keyfs.otp_window,
        };
        let listen = &ctx.config.signer.listen;
        let listener = crate::dns::resolve::resolve(listen)
            .and_then(std::net::TcpListener::bind)
            .map_err(|e| format!("listen on {listen}: {e}"))?;
        listener.set_nonblocking(true)?;
        log::info!("signer: listening on {}", ctx.config.signer.listen);
        let handler = Signer::new(self.keyfs.clone(), policy(&ctx.config))?;
        let mut server = frameserve::Server::new(listener, handler, limits(&ctx.config));
        loop {
            server.serve(ctx.control.fd())?;
            for ev in ctx.control.take() {
                match ev {
                    crate::service::Event::Stop => return Ok(()),
                    crate::service::Event::Reload(c) => {
                        server.handler.policy = policy(&c);
                        // A new listen address restarts the service
                        // (daemon/plan.rs).
                        server.set_limits(limits(&c));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::{Expiry, Mode, RealFs, Settings, Store};
    use crate::auth::oath::{self, Hash, Kind, Token};
    use crate::auth::ssh::cert;
    use crate::auth::ssh::key::Ed25519Key;
    use crate::sys::signals::Shutdown;
    use std::sync::Arc;

    struct Running {
        addr: String,
        stop: Arc<Shutdown>,
        handle: Option<std::thread::JoinHandle<u64>>,
        keyfs: Shared,
        dir: std::path::PathBuf,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.raise();
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn start(tag: &str, unlocked: bool) -> Running {
        start_with(tag, unlocked, now)
    }

    fn start_with(tag: &str, unlocked: bool, clock: fn() -> u64) -> Running {
        let dir = std::env::temp_dir().join(format!("warden-signer-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        let now = now();
        {
            let mut s = Store::create(RealFs, &file, b"master", 1000).unwrap();
            s.add_user("glenda", Expiry::Never, now).unwrap();
            s.set_password("glenda", b"correct horse", now).unwrap();
            s.set_attr("glenda", "principals", Some("glenda,backup"), now)
                .unwrap();
            s.add_user("bob", Expiry::At(now + 600), now).unwrap();
            s.set_password("bob", b"bobs pw", now).unwrap();
            // the client derives from the verifier's count each exchange:
            // 1000, not the shipped 50,000, keeps the many exchanges here
            // quick unoptimized and under qemu
            for (u, pw) in [("glenda", &b"correct horse"[..]), ("bob", b"bobs pw")] {
                s.update(|db| {
                    let a = db.accounts.get_mut(&u.to_string()).unwrap();
                    a.secrets.as_mut().unwrap().signer =
                        Some(crate::auth::keyfs::signer::SignerVerifier::new(pw, 1000).unwrap());
                    Ok(())
                })
                .unwrap();
            }
            s.set_otp(
                "bob",
                Some(Token {
                    kind: Kind::Totp { step: 30 },
                    digits: 6,
                    hash: Hash::Sha1,
                    key: Zeroizing::new(b"12345678901234567890".to_vec()),
                    counter: 0,
                    last_otp: None,
                    last_time: None,
                }),
                now,
            )
            .unwrap();
        }
        let keyfs = Shared::new(Settings {
            file,
            mode: Mode::Attended,
            iterations: 1000,
        });
        if unlocked {
            keyfs.unlock(b"master").unwrap();
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handler = Signer::new(
            keyfs.clone(),
            Policy {
                max_validity: 3600,
                otp_window: 1,
            },
        )
        .unwrap();
        let mut handler = handler;
        handler.clock = clock;
        // The client's PBKDF2 runs between messages: unoptimized and on a
        // busy machine it can outlast the shipped 15 s idle limit.
        let mut cfg = crate::config::Config::default();
        cfg.signer.conns.idle = Duration::from_secs(600);
        let mut server = frameserve::Server::new(listener, handler, limits(&cfg));
        let stop = Arc::new(Shutdown::new().unwrap());
        let s2 = stop.clone();
        let handle = std::thread::spawn(move || {
            server.serve(s2.fd()).unwrap();
            server.handler.issued
        });
        Running {
            addr,
            stop,
            handle: Some(handle),
            keyfs,
            dir,
        }
    }

    fn key() -> PublicKey {
        Ed25519Key::from_seed(&[3; 32]).public()
    }

    fn failures(r: &Running, user: &str) -> u32 {
        r.keyfs.with(|s| Ok(s.failures(user).consecutive)).unwrap()
    }

    /// Wait (generously) until the server has noticed a closed connection.
    fn wait_failures(r: &Running, user: &str, n: u32) {
        for _ in 0..1000 {
            if failures(r, user) >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("failure count of {user} never reached {n}");
    }

    fn read_record(s: &mut std::net::TcpStream) -> Vec<u8> {
        use std::io::Read;
        let mut h = [0u8; 2];
        s.read_exact(&mut h).unwrap();
        let (_, len) = ssl::split(&h, ssl::MAX_RECORD).unwrap().unwrap();
        let mut b = vec![0u8; len];
        s.read_exact(&mut b).unwrap();
        b
    }

    /// Inferno's login on the same port: the first byte picks it; no key
    /// yet gets a clear error; a client that leaves after the encrypted
    /// value counts as a failed login.
    #[test]
    fn inferno_logins_share_the_port() {
        use std::io::Write;
        let r = start("inferno", true);
        let name = ssl::OneWay::default().seal(&ssl::message(b"glenda"));
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&name).unwrap();
        let e = read_record(&mut s);
        assert_eq!(
            ssl::parse(&e),
            ssl::Msg::Error("the signer has no Inferno key (warden signer createkey)".into())
        );
        let sg = crate::auth::inferno::logind::tests::signer();
        r.keyfs
            .with(|st| {
                st.update(|db| {
                    db.signer.inferno = Some(crate::auth::keyfs::signer::InfernoKey {
                        created: 1,
                        sk: sg.sk.text(),
                        alpha: sg.alpha.clone(),
                        p: sg.p.clone(),
                    });
                    Ok(())
                })
            })
            .unwrap();
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&name).unwrap();
        assert_eq!(read_record(&mut s), b"\0glenda");
        let mut out = ssl::OneWay {
            count: 1,
            ..Default::default()
        };
        s.write_all(&out.seal(&ssl::message(&[7; 8]))).unwrap();
        let _encrypted = read_record(&mut s);
        assert_eq!(read_record(&mut s), b"\0Ag==");
        let p = read_record(&mut s);
        assert_eq!(
            crate::auth::inferno::keyring::from_b64(std::str::from_utf8(&p[1..]).unwrap()),
            Some(sg.p.clone())
        );
        assert_eq!(failures(&r, "glenda"), 0);
        drop(s);
        wait_failures(&r, "glenda", 1);
        // the SPAKE2 request still works on the same port
        let a = request(
            &r.addr,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap();
        assert!(matches!(a, Answer::Cert(_)), "{a:?}");
    }

    #[test]
    fn issues_to_the_right_password_and_counts_wrong_ones() {
        let r = start("issue", true);
        let t0 = now();
        let a = request(
            &r.addr,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap();
        let Answer::Cert(blob) = a else {
            panic!("{a:?}")
        };
        let p = cert::parse(&blob).unwrap();
        assert!(p.signature_ok);
        assert_eq!(p.spec.principals, vec!["glenda", "backup"]);
        assert_eq!(p.spec.key, key());
        let t1 = now();
        assert!(p.spec.valid_after >= t0 - ca::BACKDATE && p.spec.valid_after <= t1 - ca::BACKDATE);
        assert!(p.spec.valid_before >= t0 + 3600 && p.spec.valid_before <= t1 + 3600);
        let ca_now = r
            .keyfs
            .with(|s| Ok(ca::current_pubkey(&s.db().signer)))
            .unwrap();
        assert_eq!(Some(p.ca), ca_now);

        // A wrong password: the server closes after the request, sending
        // nothing, and counts it.
        assert_eq!(failures(&r, "glenda"), 0);
        let a = request(
            &r.addr,
            "glenda",
            b"wrong",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap();
        assert!(matches!(&a, Answer::Error(m) if m == REFUSED), "{a:?}");
        wait_failures(&r, "glenda", 1);
        // A client that leaves after B proved nothing: not counted.
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (c, hello) = pake::Client::start("glenda", b"wrong");
        use std::io::Write;
        s.write_all(&frameserve::frame(&hello)).unwrap();
        let params = read_frame(&mut s).unwrap();
        let (_, msg_a) = c.on_params(&params).unwrap();
        s.write_all(&frameserve::frame(&msg_a)).unwrap();
        let _b = read_frame(&mut s).unwrap();
        drop(s);
        let mut forged = Writer::new();
        put_string(&mut forged, &[0u8; 32]);
        put_string(&mut forged, &[0u8; 40]);
        // A forged request (bad MAC): counted.
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (c, hello) = pake::Client::start("glenda", b"wrong");
        s.write_all(&frameserve::frame(&hello)).unwrap();
        let params = read_frame(&mut s).unwrap();
        let (_, msg_a) = c.on_params(&params).unwrap();
        s.write_all(&frameserve::frame(&msg_a)).unwrap();
        let _b = read_frame(&mut s).unwrap();
        s.write_all(&frameserve::frame(&forged.buf)).unwrap();
        assert!(read_frame(&mut s).is_err());
        wait_failures(&r, "glenda", 2);
        // The right password again resets the count.
        assert!(matches!(
            request(
                &r.addr,
                "glenda",
                b"correct horse",
                &key(),
                None,
                &Default::default()
            )
            .unwrap(),
            Answer::Cert(_)
        ));
        assert_eq!(failures(&r, "glenda"), 0);
        // Unknown users fail like wrong passwords.
        let a = request(&r.addr, "nobody", b"x", &key(), None, &Default::default()).unwrap();
        assert!(matches!(&a, Answer::Error(m) if m == REFUSED), "{a:?}");
        // Serials are unique and logged.
        let serials: Vec<u64> = r
            .keyfs
            .with(|s| Ok(s.db().signer.issued.iter().map(|i| i.serial).collect()))
            .unwrap();
        assert_eq!(serials.len(), 2);
        assert_ne!(serials[0], serials[1]);
    }

    /// What the server sends for a request, raw: every byte after B.
    fn raw_answer(r: &Running, user: &str, pw: &[u8], code: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (c, hello) = pake::Client::start(user, pw);
        s.write_all(&frameserve::frame(&hello)).unwrap();
        let params = read_frame(&mut s).unwrap();
        let (c, a) = c.on_params(&params).unwrap();
        s.write_all(&frameserve::frame(&a)).unwrap();
        let b = read_frame(&mut s).unwrap();
        // version 2: the key alone
        let mut w = Writer::new();
        w.u8(2);
        put_string(&mut w, &key().blob);
        let (_, req) = c.on_b(&b, code.as_bytes(), &w.buf).unwrap();
        s.write_all(&frameserve::frame(&req)).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        rest
    }

    fn bob_code(at: u64) -> String {
        oath::format_otp(
            oath::hotp(
                b"12345678901234567890",
                oath::totp_counter(at, 0, 30),
                6,
                Hash::Sha1,
            ),
            6,
        )
    }

    #[test]
    fn the_totp_code_is_proven_with_the_password_and_no_failure_says_which() {
        let r = start("totp", true);
        let code = bob_code(now());
        // Right password without the code, with a wrong code, a wrong
        // password with the right code, an unknown user: the same bytes
        // (none), so the password cannot be tested without the code.
        for (user, pw, c) in [
            ("bob", &b"bobs pw"[..], ""),
            ("bob", b"bobs pw", "000000"),
            ("bob", b"wrong", code.as_str()),
            ("nobody", b"bobs pw", code.as_str()),
        ] {
            assert_eq!(raw_answer(&r, user, pw, c), b"", "{user} {c}");
        }
        wait_failures(&r, "bob", 3);
        // a fresh code: the failures above may have taken longer than the
        // window on a busy machine
        let code = bob_code(now());
        let a = request(
            &r.addr,
            "bob",
            b"bobs pw",
            &key(),
            Some(&code),
            &Default::default(),
        )
        .unwrap();
        let Answer::Cert(blob) = a else {
            panic!("{a:?}")
        };
        assert_eq!(failures(&r, "bob"), 0);
        // The account expires in 600 s: the certificate ends then.
        let p = cert::parse(&blob).unwrap();
        assert!(p.spec.valid_before <= now() + 600);
        assert_eq!(p.spec.principals, vec!["bob"]);
        // The same code again is a replay: refused like the rest.
        assert_eq!(raw_answer(&r, "bob", b"bobs pw", &code), b"");
        wait_failures(&r, "bob", 1);
    }

    #[test]
    fn account_policy_and_asking_for_less() {
        let r = start("policy", true);
        r.keyfs
            .with(|s| {
                let now = now();
                s.set_attr("glenda", policy::MAX_VALIDITY, Some("20m"), now)?;
                s.set_attr(
                    "glenda",
                    policy::EXTENSIONS,
                    Some("pty,port-forwarding"),
                    now,
                )?;
                s.set_attr("glenda", policy::FORCE_COMMAND, Some("backup"), now)?;
                s.set_attr("glenda", policy::SOURCE_ADDRESS, Some("127.0.0.1/32"), now)
            })
            .unwrap();
        let get = |ask: &policy::Ask| {
            request(&r.addr, "glenda", b"correct horse", &key(), None, ask).unwrap()
        };
        let Answer::Cert(blob) = get(&policy::Ask::default()) else {
            panic!()
        };
        let p = cert::parse(&blob).unwrap();
        assert_eq!(
            p.spec.valid_before - p.spec.valid_after,
            1200 + ca::BACKDATE
        );
        assert_eq!(p.spec.extensions, ["permit-port-forwarding", "permit-pty"]);
        assert_eq!(
            p.spec.critical,
            [
                ("force-command".to_string(), "backup".to_string()),
                ("source-address".to_string(), "127.0.0.1/32".to_string())
            ]
        );
        assert_eq!(
            p.spec.key_id,
            format!("glenda serial {} from 127.0.0.1", p.spec.serial)
        );
        let less = policy::Ask {
            validity: 60,
            principals: vec!["backup".into()],
            extensions: Some(vec![]),
        };
        let Answer::Cert(blob) = get(&less) else {
            panic!()
        };
        let p = cert::parse(&blob).unwrap();
        assert_eq!(p.spec.principals, ["backup"]);
        assert_eq!(p.spec.valid_before - p.spec.valid_after, 60 + ca::BACKDATE);
        assert!(p.spec.extensions.is_empty());
        let more = policy::Ask {
            principals: vec!["root".into()],
            ..policy::Ask::default()
        };
        let a = get(&more);
        assert!(
            matches!(&a, Answer::Error(m) if m.contains("principal 'root' is not one of glenda's")),
            "{a:?}"
        );
        // A version 2 request (the key alone) gets what the account allows.
        assert_eq!(
            parse_request(&[2, 0, 0, 0, 1, 7]),
            Some((vec![7], Default::default()))
        );
        assert_eq!(parse_request(&[2, 0, 0, 0, 1, 7, 0]), None);
        let v3 = encode_request(&key(), &less);
        assert_eq!(parse_request(&v3), Some((key().blob, less)));
        for n in 0..v3.len() {
            assert_eq!(parse_request(&v3[..n]), None);
        }
    }

    // (32 bits: mips has no 64-bit atomics, and the offsets are small)
    static LATER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    fn later() -> u64 {
        now() + u64::from(LATER.load(std::sync::atomic::Ordering::SeqCst))
    }

    // each test its own clock: tests run in parallel
    static LATER_HOST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    fn later_host() -> u64 {
        now() + u64::from(LATER_HOST.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[test]
    fn fetch_serves_the_krl_and_the_ca_lines_as_they_are_now() {
        let r = start("fetch", true);
        let e = fetch(&r.addr, "ca").unwrap_err().to_string();
        assert!(e.contains("no CA key yet"), "{e}");
        assert!(matches!(
            request(
                &r.addr,
                "glenda",
                b"correct horse",
                &key(),
                None,
                &Default::default()
            )
            .unwrap(),
            Answer::Cert(_)
        ));
        let lines = fetch(&r.addr, "ca").unwrap();
        let want = r
            .keyfs
            .with(|s| Ok(ca::ca_lines(&s.db().signer, now())))
            .unwrap();
        assert_eq!(String::from_utf8(lines).unwrap(), want);
        let k0 = fetch(&r.addr, "krl").unwrap();
        assert!(k0.starts_with(b"SSHKRL\n\0"));
        r.keyfs
            .with(|s| ca::revoke_key(s, &key()).map(|_| ()))
            .unwrap();
        let k1 = fetch(&r.addr, "krl").unwrap();
        assert_ne!(k0, k1);
        assert!(k1.windows(key().blob.len()).any(|w| w == key().blob));
        let e = fetch(&r.addr, "passwords").unwrap_err().to_string();
        assert!(e.contains("nothing to fetch named 'passwords'"), "{e}");
        let l = start("fetch-locked", false);
        let e = fetch(&l.addr, "krl").unwrap_err().to_string();
        assert!(e.contains("locked"), "{e}");
    }

    #[test]
    fn renewal_by_proof_of_possession() {
        use std::sync::atomic::Ordering::SeqCst;
        let r = start_with("renew", true, later);
        let holder = Ed25519Key::from_seed(&[3; 32]);
        let Answer::Cert(old) = request(
            &r.addr,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap() else {
            panic!()
        };
        let by_key = |blob: &[u8], k: &Ed25519Key| {
            let k = Ed25519Key::from_seed(&k.seed());
            renew(&r.addr, blob, &Default::default(), &mut |d| Ok(k.sign(d))).unwrap()
        };
        let refused = |a: Answer, want: &str| {
            assert!(
                matches!(&a, Answer::Error(m) if m.contains(want)),
                "{a:?} ({want})"
            );
        };
        // 3600 s + the backdating: due 1950 s after its start.
        refused(by_key(&old, &holder), "is not due for renewal until");
        LATER.store(1700, SeqCst);
        let Answer::Cert(new) = by_key(&old, &holder) else {
            panic!()
        };
        let (p0, p1) = (cert::parse(&old).unwrap(), cert::parse(&new).unwrap());
        assert!(p1.signature_ok);
        assert!(p1.spec.serial > p0.spec.serial);
        assert_eq!(p1.spec.key, key());
        assert_eq!(p1.spec.principals, p0.spec.principals);
        assert!(p1.spec.valid_before >= p0.spec.valid_before + 1700);
        assert_eq!(
            p1.spec.key_id,
            format!("glenda serial {} from 127.0.0.1", p1.spec.serial)
        );
        // Another key's signature proves nothing.
        refused(
            by_key(&old, &Ed25519Key::from_seed(&[4; 32])),
            "does not prove possession",
        );
        // Too late: the old one has expired.
        LATER.store(4000, SeqCst);
        refused(by_key(&old, &holder), "is not valid now");
        LATER.store(1700 + 1950, SeqCst);
        // Neither a disabled account nor a revoked key renews.
        let t = later();
        r.keyfs
            .with(|s| s.set_status("glenda", crate::auth::keyfs::Status::Disabled, t))
            .unwrap();
        refused(by_key(&new, &holder), "glenda");
        r.keyfs
            .with(|s| s.set_status("glenda", crate::auth::keyfs::Status::Ok, t))
            .unwrap();
        assert!(matches!(by_key(&new, &holder), Answer::Cert(_)));
        r.keyfs
            .with(|s| ca::revoke_key(s, &key()).map(|_| ()))
            .unwrap();
        refused(by_key(&new, &holder), "is revoked");
        LATER.store(0, SeqCst);
    }

    #[test]
    fn host_enrolment_with_a_one_time_token_and_renewal() {
        use std::sync::atomic::Ordering::SeqCst;
        let r = start_with("enrol", true, later_host);
        let host = Ed25519Key::from_seed(&[6; 32]);
        let hk = host.public();
        let t0 = now();
        let token = r
            .keyfs
            .with(|s| ca::enrol_token(s, "nas.lan", &["nas".into()], 7200, 600, t0))
            .unwrap();
        let refused = |a: Answer| {
            assert!(
                matches!(&a, Answer::Error(m) if m.contains("no valid enrolment token for host")),
                "{a:?}"
            )
        };
        refused(enrol(&r.addr, "nas.lan", b"guessed", &hk).unwrap());
        refused(enrol(&r.addr, "other.lan", &token[..], &hk).unwrap());
        let Answer::Cert(blob) = enrol(&r.addr, "nas.lan", &token[..], &hk).unwrap() else {
            panic!()
        };
        let p = cert::parse(&blob).unwrap();
        assert_eq!(p.spec.kind, CertType::Host);
        assert_eq!(p.spec.principals, ["nas.lan", "nas"]);
        assert_eq!(
            p.spec.valid_before - p.spec.valid_after,
            7200 + ca::BACKDATE
        );
        assert!(
            p.spec.key_id.starts_with("nas.lan serial "),
            "{}",
            p.spec.key_id
        );
        // Spent.
        refused(enrol(&r.addr, "nas.lan", &token[..], &hk).unwrap());
        // Renewed by proof of possession, in the second half of its life.
        LATER_HOST.store(3800, SeqCst);
        let Answer::Cert(new) = renew(&r.addr, &blob, &Default::default(), &mut |d| {
            Ok(host.sign(d))
        })
        .unwrap() else {
            panic!()
        };
        let q = cert::parse(&new).unwrap();
        assert_eq!(q.spec.kind, CertType::Host);
        assert_eq!(q.spec.principals, p.spec.principals);
        assert!(q.spec.serial > p.spec.serial);
        LATER_HOST.store(0, SeqCst);
        // An expired token is refused too.
        let token = r
            .keyfs
            .with(|s| ca::enrol_token(s, "old.lan", &[], 7200, 1, t0 - 10))
            .unwrap();
        refused(enrol(&r.addr, "old.lan", &token[..], &hk).unwrap());
    }

    #[test]
    fn signer_failures_send_the_account_to_purgatory() {
        let r = start("purgatory", true);
        for n in 1..=crate::auth::keyfs::account::PURGATORY_EVERY {
            assert_eq!(raw_answer(&r, "glenda", b"guess", ""), b"");
            wait_failures(&r, "glenda", n);
        }
        // Locked out: the right password fails the same way.
        assert_eq!(raw_answer(&r, "glenda", b"correct horse", ""), b"");
        let a = request(
            &r.addr,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap();
        assert!(matches!(&a, Answer::Error(m) if m == REFUSED), "{a:?}");
    }

    #[test]
    fn oversized_and_garbage_frames_close_the_connection() {
        use std::io::{Read, Write};
        let r = start("frames", true);
        for junk in [
            ((pake::MAX_MSG + 1) as u32).to_be_bytes().to_vec(),
            frameserve::frame(b"not a hello"),
            vec![0, 0, 0, 0],
        ] {
            let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s.write_all(&junk).unwrap();
            let mut rest = Vec::new();
            // Closed (an error frame at most), never left hanging.
            let _ = s.read_to_end(&mut rest);
            assert!(rest.len() < 200, "{rest:?}");
        }
        // The server still serves.
        assert!(matches!(
            request(
                &r.addr,
                "glenda",
                b"correct horse",
                &key(),
                None,
                &Default::default()
            )
            .unwrap(),
            Answer::Cert(_)
        ));
    }

    #[test]
    fn locked_keyfs_answers_at_once() {
        let r = start("locked", false);
        let t = std::time::Instant::now();
        let a = request(
            &r.addr,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
        )
        .unwrap();
        assert!(
            matches!(&a, Answer::Error(m) if m.contains("locked")),
            "{a:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(20));
    }

    /// A recorded exchange holds neither the password nor anything derived
    /// from it alone (the PBKDF2 output, the stored verifier).
    #[test]
    fn capture_shows_nothing_password_derived() {
        let r = start("capture", true);
        let mut wire = Vec::new();
        let mut s = std::net::TcpStream::connect(&r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let a = request_over(
            &mut s,
            "glenda",
            b"correct horse",
            &key(),
            None,
            &Default::default(),
            &mut |b| wire.extend_from_slice(b),
        )
        .unwrap();
        assert!(matches!(a, Answer::Cert(_)));
        assert!(wire.len() > 200);
        let v = r
            .keyfs
            .with(|s| {
                Ok(s.user("glenda")?
                    .secrets
                    .as_ref()
                    .and_then(|x| x.signer.clone())
                    .unwrap())
            })
            .unwrap();
        let w = pake::derive_secret(b"correct horse", &v.salt, v.iterations);
        assert_eq!(w.as_slice(), v.secret.as_slice());
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|x| x == needle);
        for n in 0..=24 {
            assert!(!contains(&wire, &w[n..n + 8]), "PBKDF2 output at {n}");
        }
        assert!(!contains(&wire, b"correct horse"));
        assert!(!contains(&wire, b"horse"));
        // The salt and user name are public by design.
        assert!(contains(&wire, &v.salt));
    }
}
