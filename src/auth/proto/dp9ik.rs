//! dp9ik: 9front's p9sk1 with AuthPAK and form1 tickets (9front factotum
//! p9sk1.c, drawterm cpu.c). The password never meets the wire in a form
//! an eavesdropper could test offline: each party runs a PAK with the auth
//! server, and tickets are sealed under the keys that gives.
//!
//! ```text
//! C -> S: cchal[8]                                      CHaveChal / SNeedChal
//! S -> C: Ticketreq{AuthPAK, authid, authdom, schal, "", ""} (141) + YS (56)
//!                                                       SHavePAKreq / CNeedPAKreq
//! C -> AS: Ticketreq{AuthPAK, hostid = uid = user} + YS + YC,
//!          then Ticketreq{AuthTreq}, on one connection
//! AS -> C: AuthOK + YAs + YAc, AuthOK + Tc + Ts (124 each, form1)
//! C -> S: YAs (56)                                      CHavePAKy / SNeedPAKy
//! C -> S: Ts + Ac = {AuthAc, schal, crand[32]} in K (124 + 68)
//!                                                       CHaveTicket / SNeedTicket
//! S -> C: As = {AuthAs, cchal, srand[32]} in K (68)    SHaveAuth / CNeedAuth
//! ```
//!
//! Keys: `proto=dp9ik dom=D user=U !password=P` (the AES key is
//! passtoaeskey(P)) or `!hex=` with the 16-byte AES key itself, as 9front
//! takes them. Both ends' pakkeys come from their PAK with the auth server
//! (S's over C's connection, through YS and YAs). authinfo: the tickets'
//! cuid and suid and a 256-byte secret, HKDF-SHA256 of the ticket key
//! salted with crand || srand (9front's `establish`); the server role adds
//! a capability as p9sk1 does.

use super::p9sk1::make_cap;
use super::{Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{self, Attrs};
use crate::auth::authsrv::authpak::{self, PakHash, PakPriv, AESKEYLEN, PAKKEYLEN, PAKYLEN};
use crate::auth::authsrv::dial;
use crate::auth::authsrv::form1::{self, Authenticator, Ticket, NONCELEN};
use crate::auth::authsrv::pak::client_request;
use crate::auth::authsrv::wire::{types, Ticketreq, CHALLEN, TICKREQLEN};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

fn check(k: &Key) -> Result<(), String> {
    if k.get("user").is_none() || k.get("dom").is_none() {
        return Err("need user and dom attributes".into());
    }
    match (k.secret("!password"), k.secret("!hex")) {
        (Some(_), _) => Ok(()),
        (None, Some(h)) if crate::auth::dec16(h.as_bytes()).len() == AESKEYLEN && h.len() == 32 => {
            Ok(())
        }
        (None, Some(_)) => Err("!hex must be the 16-byte AES key in hex".into()),
        (None, None) => Err("need !password or !hex".into()),
    }
}

/// The key's AES key and password points, derived once per key.
fn pak_hash(k: &Key) -> Result<Arc<PakHash>, Fail> {
    k.derived.get_or_try(|| derive(k))
}

fn derive(k: &Key) -> Result<PakHash, Fail> {
    let aes = match (k.secret("!password"), k.secret("!hex")) {
        (Some(pw), _) => Zeroizing::new(crate::auth::keyfs::account::passtoaeskey(pw.as_bytes())),
        (None, Some(h)) => {
            let v = Zeroizing::new(crate::auth::dec16(h.as_bytes()));
            let mut a = Zeroizing::new([0u8; AESKEYLEN]);
            if v.len() != AESKEYLEN {
                return Err(Fail::msg("malformed key data"));
            }
            a.copy_from_slice(&v);
            a
        }
        (None, None) => return Err(Fail::msg("no key data")),
    };
    Ok(PakHash::new(&aes, k.get("user").unwrap_or("")))
}

fn authinfo(ctx: &mut Ctx, t: &Ticket, crand: &[u8; NONCELEN], srand: &[u8; NONCELEN]) {
    let secret = authpak::session_secret(crand, srand, &t.key);
    ctx.attr.set("cuid", &t.cuid);
    ctx.attr.set("suid", &t.suid);
    ctx.attr
        .set("secret", &Zeroizing::new(crate::auth::enc16(&secret[..])));
}

/// A client's key: the keyprompt, so a missing key is asked for with it.
fn query(attr: &Attrs) -> Attrs {
    attr::parse(&format!("{} {}", attr.to_wire().as_str(), DP9IK.keyprompt))
}

/// A server's key: `user? dom?` as 9front's factotum looks it up, so a key
/// holding only `!hex=` (the AES key, e.g. copied from a 9front keyfs's
/// `aeskey`) serves too.
fn server_query(attr: &Attrs) -> Attrs {
    attr::parse(&format!("{} user? dom?", attr.to_wire().as_str()))
}

/// Protocol botch, as 9front's factotum says it.
const EASPROTO: &str = "auth server protocol botch";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CPhase {
    FindKey,
    HaveChal,
    NeedPakReq,
    HavePakY,
    HaveTicket,
    NeedAuth,
}

pub(super) struct Client {
    attr: Attrs,
    phase: CPhase,
    key: Option<Arc<Key>>,
    cchal: [u8; CHALLEN],
    crand: Zeroizing<[u8; NONCELEN]>,
    /// YAs, for the server.
    y: [u8; PAKYLEN],
    /// Ts and Ac, ready for the server.
    out: Zeroizing<Vec<u8>>,
    ticket: Option<Ticket>,
}

impl Client {
    pub(super) fn new(attr: &Attrs, key: Option<Arc<Key>>) -> Client {
        Client {
            attr: attr.clone(),
            phase: if key.is_some() {
                CPhase::HaveChal
            } else {
                CPhase::FindKey
            },
            key,
            cchal: [0; CHALLEN],
            crand: Zeroizing::new([0; NONCELEN]),
            y: [0; PAKYLEN],
            out: Zeroizing::new(Vec::new()),
            ticket: None,
        }
    }

    /// The server's PAK request: get tickets, check ours, make Ac.
    fn pakreq(&mut self, ctx: &mut Ctx, data: &[u8]) -> Result<(), Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        let (req, ys) = data.split_at(TICKREQLEN.min(data.len()));
        let mut tr = Ticketreq::parse(req).map_err(|e| Fail::msg(e.to_string()))?;
        if tr.ty != types::AUTH_PAK || ys.len() != PAKYLEN {
            return Err(Fail::msg(EASPROTO));
        }
        let dom = k.get("dom").unwrap_or("");
        if tr.authdom != dom {
            return Err(Fail::msg(format!(
                "server asks for domain {}, key is for {dom}",
                tr.authdom
            )));
        }
        let user = k.get("user").unwrap_or("");
        tr.hostid = user.to_string();
        tr.uid = super::p9sk1::speaks_for(&self.attr, ctx, user);
        if tr.authid.is_empty() || tr.authdom.is_empty() {
            return Err(Fail::msg("bad ticket request"));
        }
        let pak = tr.emit().map_err(|e| Fail::msg(e.to_string()))?;
        tr.ty = types::AUTH_TREQ;
        let treq = tr.emit().map_err(|e| Fail::msg(e.to_string()))?;
        let hash = pak_hash(&k)?;
        let mut random = |b: &mut [u8]| ctx.env.random(b);
        let mine = PakPriv::new(&hash, true, &mut random);
        let req = client_request(&pak, ys, mine.y(), &treq);
        let auth = k.get("auth").or_else(|| self.attr.get("auth"));
        let reply = ctx
            .env
            .pak_tickets(&tr.authdom, auth, &req)
            .map_err(Fail::msg)?;
        let remote = |b: &[u8]| Fail::msg(format!("remote: {}", dial::err_text(b)));
        let keys = 1 + 2 * PAKYLEN;
        match reply.first() {
            Some(&types::AUTH_OK) if reply.len() >= keys => {}
            Some(&types::AUTH_ERR) => return Err(remote(&reply)),
            _ => return Err(Fail::msg(EASPROTO)),
        }
        self.y.copy_from_slice(&reply[1..1 + PAKYLEN]);
        let pakkey: Zeroizing<[u8; PAKKEYLEN]> = mine
            .finish(&hash, &reply[1 + PAKYLEN..keys])
            .map_err(|_| Fail::msg(EASPROTO))?;
        let tickets = &reply[keys..];
        match tickets.first() {
            Some(&types::AUTH_OK) if tickets.len() == 1 + 2 * form1::TICKETLEN => {}
            Some(&types::AUTH_ERR) => return Err(remote(tickets)),
            _ => return Err(Fail::msg(EASPROTO)),
        }
        let tc = &tickets[1..1 + form1::TICKETLEN];
        let ts = &tickets[1 + form1::TICKETLEN..];
        let t = Ticket::open(tc, &pakkey)
            .ok()
            .filter(|t| t.num == types::AUTH_TC && crate::auth::ct_eq(&t.chal, &tr.chal));
        let Some(t) = t else {
            return Err(Fail::BadKey {
                key: k,
                msg: "key mismatch with auth server".into(),
                retry: false,
            });
        };
        ctx.env.random(&mut self.crand[..]);
        let ac = Authenticator {
            num: types::AUTH_AC,
            chal: tr.chal,
            rand: self.crand.clone(),
        }
        .seal(&t.key, form1::next_counter())
        .ok_or_else(|| Fail::msg("form1 seal"))?;
        let mut out = Zeroizing::new(Vec::with_capacity(ts.len() + ac.len()));
        out.extend_from_slice(ts);
        out.extend_from_slice(&ac);
        self.out = out;
        self.ticket = Some(t);
        Ok(())
    }
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            CPhase::FindKey => "find key",
            CPhase::HaveChal => "CHaveChal",
            CPhase::NeedPakReq => "CNeedPAKreq",
            CPhase::HavePakY => "CHavePAKy",
            CPhase::HaveTicket => "CHaveTicket",
            CPhase::NeedAuth => "CNeedAuth",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            CPhase::FindKey => Need::Key(query(&self.attr), Lookup::Fetch),
            CPhase::HaveChal | CPhase::HavePakY | CPhase::HaveTicket => Need::Read,
            CPhase::NeedPakReq | CPhase::NeedAuth => Need::Write,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = CPhase::HaveChal;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        match self.phase {
            CPhase::HaveChal => {
                ctx.env.random(&mut self.cchal);
                self.phase = CPhase::NeedPakReq;
                Ok(Out::more(self.cchal.to_vec()))
            }
            CPhase::HavePakY => {
                self.phase = CPhase::HaveTicket;
                Ok(Out::more(self.y.to_vec()))
            }
            _ => {
                self.phase = CPhase::NeedAuth;
                Ok(Out::more(std::mem::take(&mut *self.out)))
            }
        }
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        if self.phase == CPhase::NeedPakReq {
            let want = TICKREQLEN + PAKYLEN;
            let Some(m) = data.get(..want) else {
                return Written::TooSmall(want);
            };
            return match self.pakreq(ctx, m) {
                Ok(()) => {
                    self.phase = CPhase::HavePakY;
                    Written::Ok
                }
                Err(f) => Written::Fail(f),
            };
        }
        let Some(m) = data.get(..form1::AUTHENTLEN) else {
            return Written::TooSmall(form1::AUTHENTLEN);
        };
        let Some(t) = &self.ticket else {
            return Written::Fail(Fail::msg("no ticket"));
        };
        let a = Authenticator::open(m, &t.key)
            .ok()
            .filter(|a| a.num == types::AUTH_AS && crate::auth::ct_eq(&a.chal, &self.cchal));
        let Some(a) = a else {
            return Written::Fail(Fail::msg("server lies"));
        };
        let t = t.clone();
        authinfo(ctx, &t, &self.crand, &a.rand);
        Written::Done
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SPhase {
    FindKey,
    NeedChal,
    HavePakReq,
    NeedPakY,
    NeedTicket,
    HaveAuth,
}

pub(super) struct Server {
    attr: Attrs,
    phase: SPhase,
    key: Option<Arc<Key>>,
    cchal: [u8; CHALLEN],
    schal: [u8; CHALLEN],
    pak: Option<(Arc<PakHash>, PakPriv)>,
    pakkey: Zeroizing<[u8; PAKKEYLEN]>,
    /// crand || srand
    rand: Zeroizing<[u8; 2 * NONCELEN]>,
    ticket: Option<Ticket>,
}

impl Server {
    pub(super) fn new(attr: &Attrs, key: Option<Arc<Key>>) -> Server {
        Server {
            attr: attr.clone(),
            phase: if key.is_some() {
                SPhase::NeedChal
            } else {
                SPhase::FindKey
            },
            key,
            cchal: [0; CHALLEN],
            schal: [0; CHALLEN],
            pak: None,
            pakkey: Zeroizing::new([0; PAKKEYLEN]),
            rand: Zeroizing::new([0; 2 * NONCELEN]),
            ticket: None,
        }
    }

    fn ticket(&mut self, data: &[u8]) -> Result<Ticket, Fail> {
        let (ts, ac) = data.split_at(form1::TICKETLEN);
        let t = Ticket::open(ts, &self.pakkey)
            .ok()
            .filter(|t| t.num == types::AUTH_TS && crate::auth::ct_eq(&t.chal, &self.schal))
            .ok_or_else(|| Fail::msg(EASPROTO))?;
        let a = Authenticator::open(ac, &t.key)
            .ok()
            .filter(|a| a.num == types::AUTH_AC && crate::auth::ct_eq(&a.chal, &self.schal))
            .ok_or_else(|| Fail::msg(EASPROTO))?;
        self.rand[..NONCELEN].copy_from_slice(&a.rand[..]);
        Ok(t)
    }
}

impl Machine for Server {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            SPhase::FindKey => "find key",
            SPhase::NeedChal => "SNeedChal",
            SPhase::HavePakReq => "SHavePAKreq",
            SPhase::NeedPakY => "SNeedPAKy",
            SPhase::NeedTicket => "SNeedTicket",
            SPhase::HaveAuth => "SHaveAuth",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            SPhase::FindKey => Need::Key(server_query(&self.attr), Lookup::Find),
            SPhase::HavePakReq | SPhase::HaveAuth => Need::Read,
            SPhase::NeedChal | SPhase::NeedPakY | SPhase::NeedTicket => Need::Write,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = SPhase::NeedChal;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        if self.phase == SPhase::HavePakReq {
            ctx.env.random(&mut self.schal);
            let tr = Ticketreq {
                ty: types::AUTH_PAK,
                authid: k.get("user").unwrap_or("").to_string(),
                authdom: k.get("dom").unwrap_or("").to_string(),
                chal: self.schal,
                hostid: String::new(),
                uid: String::new(),
            };
            let b = tr.emit().map_err(|e| Fail::msg(e.to_string()))?;
            let hash = pak_hash(&k)?;
            let mut random = |b: &mut [u8]| ctx.env.random(b);
            let p = PakPriv::new(&hash, true, &mut random);
            let mut out = b.to_vec();
            out.extend_from_slice(p.y());
            self.pak = Some((hash, p));
            self.phase = SPhase::NeedPakY;
            return Ok(Out::more(out));
        }
        let t = self.ticket.clone().ok_or_else(|| Fail::msg("no ticket"))?;
        let mut srand = Zeroizing::new([0u8; NONCELEN]);
        ctx.env.random(&mut srand[..]);
        self.rand[NONCELEN..].copy_from_slice(&srand[..]);
        let a = Authenticator {
            num: types::AUTH_AS,
            chal: self.cchal,
            rand: srand.clone(),
        }
        .seal(&t.key, form1::next_counter())
        .ok_or_else(|| Fail::msg("form1 seal"))?;
        let mut crand = [0u8; NONCELEN];
        crand.copy_from_slice(&self.rand[..NONCELEN]);
        authinfo(ctx, &t, &crand, &srand);
        crand.fill(0);
        let from = ctx.sysuser.to_string();
        if let Some(cap) = make_cap(ctx, &from, &t.suid) {
            ctx.attr.set("cap", &cap);
        }
        Ok(Out::done(a))
    }

    fn write(&mut self, _: &mut Ctx, data: &[u8]) -> Written {
        match self.phase {
            SPhase::NeedChal => {
                let Some(c) = data.get(..CHALLEN) else {
                    return Written::TooSmall(CHALLEN);
                };
                self.cchal.copy_from_slice(c);
                self.phase = SPhase::HavePakReq;
                Written::Ok
            }
            SPhase::NeedPakY => {
                let Some(y) = data.get(..PAKYLEN) else {
                    return Written::TooSmall(PAKYLEN);
                };
                let Some((hash, p)) = self.pak.take() else {
                    return Written::Fail(Fail::msg("no PAK"));
                };
                match p.finish(&hash, y) {
                    Ok(k) => {
                        self.pakkey = k;
                        self.phase = SPhase::NeedTicket;
                        Written::Ok
                    }
                    Err(_) => Written::Fail(Fail::msg(EASPROTO)),
                }
            }
            _ => {
                let want = form1::TICKETLEN + form1::AUTHENTLEN;
                let Some(m) = data.get(..want) else {
                    return Written::TooSmall(want);
                };
                match self.ticket(m) {
                    Ok(t) => {
                        self.ticket = Some(t);
                        self.phase = SPhase::HaveAuth;
                        Written::Ok
                    }
                    Err(f) => Written::Fail(f),
                }
            }
        }
    }
}

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    if role == "server" {
        Ok(Box::new(Server::new(attr, None)))
    } else {
        Ok(Box::new(Client::new(attr, None)))
    }
}

pub static DP9IK: Proto = Proto {
    name: "dp9ik",
    roles: &["client", "server"],
    keyprompt: "user? dom? !password?",
    check,
    start,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(r: Result<Arc<PakHash>, Fail>) -> Arc<PakHash> {
        r.unwrap_or_else(|_| panic!("no password points"))
    }

    fn key(line: &str) -> Key {
        let (public, secret) = attr::parse(line).split_secrets();
        Key::new(&DP9IK, public, secret)
    }

    #[test]
    fn the_password_points_are_derived_once_per_key() {
        let k = key("dom=lan user=glenda !password=glenda\\ pw");
        let a = ok(pak_hash(&k));
        let b = ok(pak_hash(&k));
        assert!(Arc::ptr_eq(&a, &b), "the second conversation reuses them");
        // a copy (its secrets may change) derives its own
        let c = ok(pak_hash(&k.clone()));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn a_hex_key_is_the_aes_key_itself() {
        let aes = crate::auth::keyfs::account::passtoaeskey(b"glenda pw");
        let hex = key(&format!(
            "dom=lan user=glenda !hex={}",
            crate::auth::enc16(&aes)
        ));
        let pw = key("dom=lan user=glenda !password='glenda pw'");
        let mut r1 = |b: &mut [u8]| b.fill(7);
        let mut r2 = |b: &mut [u8]| b.fill(7);
        let y1 = PakPriv::new(&ok(pak_hash(&hex)), true, &mut r1);
        let y2 = PakPriv::new(&ok(pak_hash(&pw)), true, &mut r2);
        assert_eq!(y1.y(), y2.y());
        assert!(check(&key("dom=lan user=glenda !hex=00ff")).is_err());
        // a server finds a key by user and dom alone, as 9front's does
        let Need::Key(q, _) = Server::new(&attr::parse("proto=dp9ik role=server"), None).need()
        else {
            panic!("a server starts by finding its key")
        };
        assert!(hex.matches(&q) && pw.matches(&q));
        assert!(pak_hash(&key("dom=lan user=glenda !hex=zz")).is_err());
    }
}
