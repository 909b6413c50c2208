//! p9sk1: Plan 9's shared-key authentication through an auth server
//! (authsrv(6); plan9port p9sk1.c, 9front libauthsrv and drawterm).
//!
//! ```text
//! C -> S: cchal[8]                                        CHaveChal / SNeedChal
//! S -> C: Ticketreq{AuthTreq, authid, authdom, schal, "", ""} (141)
//!                                                         SHaveTreq / CNeedTreq
//! C -> AS: Ticketreq with hostid = uid = the client's user
//! AS -> C: AuthOK, Tc (in the client's key), Ts (in the server's key)
//! C -> S: Ts, Ac = {AuthAc, schal, 0} in K (72 + 13)      CHaveTicket / SNeedTicket
//! S -> C: As = {AuthAs, cchal, 0} in K (13)               SHaveAuth / CNeedAuth
//! ```
//!
//! Keys: `proto=p9sk1 dom=D user=U !password=P`; the DES key is Plan 9's
//! `passtokey(P)`. The client reaches the auth server only through
//! [`Env::ticket`](super::Env::ticket) (the key's `auth=` attribute, when
//! present, is passed along as the address). On success authinfo carries
//! the ticket's cuid and suid and the 8-byte secret `des56to64(K)`, as
//! Plan 9 fills `AuthInfo.secret`. The server role also hands out a
//! capability `sysuser@suid@random` when the environment keeps its hash
//! ([`Env::caphash`](super::Env::caphash), the paper's section 2.3).

use super::{Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{self, Attrs};
use crate::auth::authsrv::des::passtokey;
use crate::auth::authsrv::des::{des56to64, DESKEYLEN};
use crate::auth::authsrv::dial;
use crate::auth::authsrv::wire::{
    types, Authenticator, Ticket, Ticketreq, AUTHENTLEN, CHALLEN, TICKETLEN, TICKREQLEN,
};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

fn check(k: &Key) -> Result<(), String> {
    if k.get("user").is_none() || k.get("dom").is_none() || k.secret("!password").is_none() {
        return Err("need user, dom and !password attributes".into());
    }
    Ok(())
}

/// The key's DES key (passtokey of its password).
fn des_key(k: &Key) -> Result<Zeroizing<[u8; DESKEYLEN]>, Fail> {
    let pw = k
        .secret("!password")
        .ok_or_else(|| Fail::msg("key has no !password"))?;
    Ok(Zeroizing::new(passtokey(pw.as_bytes())))
}

/// The ticket request's uid: for another user than the factotum's owner
/// (the factotum asked for a `role=speakfor` key) that user's own name,
/// the auth server then checking that the key's user speaks for it; else
/// the key's user.
pub(super) fn speaks_for(attr: &Attrs, ctx: &Ctx, user: &str) -> String {
    if attr.get("role") == Some("speakfor") {
        ctx.sysuser.to_string()
    } else {
        user.to_string()
    }
}

/// Record the outcome in the conversation's attributes (authinfo).
fn authinfo(ctx: &mut Ctx, t: &Ticket) {
    let secret = Zeroizing::new(des56to64(&t.key));
    ctx.attr.set("cuid", &t.cuid);
    ctx.attr.set("suid", &t.suid);
    ctx.attr
        .set("secret", &Zeroizing::new(crate::auth::enc16(&secret[..])));
}

/// A capability for the paper's section 2.3: `from@to@random`, whose
/// HMAC-SHA1 of `from@to` keyed with `random` the environment keeps.
pub fn make_cap(ctx: &mut Ctx, from: &str, to: &str) -> Option<String> {
    let mut r = [0u8; 10];
    ctx.env.random(&mut r);
    let random = crate::auth::enc16(&r).to_lowercase();
    let hash = crate::auth::authsrv::caps::hash(from, to, &random);
    if ctx.env.caphash(hash) {
        Some(format!("{from}@{to}@{random}"))
    } else {
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CPhase {
    FindKey,
    HaveChal,
    NeedTreq,
    HaveTicket,
    NeedAuth,
}

pub(super) struct Client {
    attr: Attrs,
    phase: CPhase,
    key: Option<Arc<Key>>,
    cchal: [u8; CHALLEN],
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
            out: Zeroizing::new(Vec::new()),
            ticket: None,
        }
    }

    fn treq(&mut self, ctx: &mut Ctx, data: &[u8]) -> Result<(), Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        let mut tr = Ticketreq::parse(data).map_err(|e| Fail::msg(e.to_string()))?;
        if tr.ty != types::AUTH_TREQ {
            return Err(Fail::msg(format!("bad ticket request type {}", tr.ty)));
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
        tr.uid = speaks_for(&self.attr, ctx, user);
        let req = tr.emit().map_err(|e| Fail::msg(e.to_string()))?;
        let auth = k.get("auth").or_else(|| self.attr.get("auth"));
        let reply = ctx.env.ticket(&tr.authdom, auth, &req).map_err(Fail::msg)?;
        match reply.first() {
            Some(&types::AUTH_OK) if reply.len() == 1 + 2 * TICKETLEN => {}
            Some(&types::AUTH_ERR) => {
                return Err(Fail::msg(format!("remote: {}", dial::err_text(&reply))))
            }
            _ => return Err(Fail::msg("bad reply from auth server")),
        }
        let mykey = des_key(&k)?;
        let tc = reply.get(1..1 + TICKETLEN).unwrap_or_default();
        let ts = reply.get(1 + TICKETLEN..).unwrap_or_default();
        let t = Ticket::open(tc, &mykey).map_err(|e| Fail::msg(e.to_string()))?;
        if t.num != types::AUTH_TC || !crate::auth::ct_eq(&t.chal, &tr.chal) {
            return Err(Fail::BadKey {
                key: k,
                msg: "key mismatch with auth server".into(),
                retry: false,
            });
        }
        let ac = Authenticator {
            num: types::AUTH_AC,
            chal: tr.chal,
            id: 0,
        }
        .seal(&t.key);
        let mut out = Zeroizing::new(Vec::with_capacity(TICKETLEN + AUTHENTLEN));
        out.extend_from_slice(ts);
        out.extend_from_slice(&ac);
        self.out = out;
        self.ticket = Some(t);
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(t) = &mut self.ticket {
            t.key.fill(0);
        }
    }
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            CPhase::FindKey => "find key",
            CPhase::HaveChal => "CHaveChal",
            CPhase::NeedTreq => "CNeedTreq",
            CPhase::HaveTicket => "CHaveTicket",
            CPhase::NeedAuth => "CNeedAuth",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            CPhase::FindKey => {
                let q = format!("{} {}", self.attr.to_wire().as_str(), P9SK1.keyprompt);
                Need::Key(attr::parse(&q), Lookup::Fetch)
            }
            CPhase::HaveChal | CPhase::HaveTicket => Need::Read,
            CPhase::NeedTreq | CPhase::NeedAuth => Need::Write,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = CPhase::HaveChal;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        if self.phase == CPhase::HaveChal {
            ctx.env.random(&mut self.cchal);
            self.phase = CPhase::NeedTreq;
            return Ok(Out::more(self.cchal.to_vec()));
        }
        self.phase = CPhase::NeedAuth;
        Ok(Out::more(std::mem::take(&mut *self.out)))
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        if self.phase == CPhase::NeedTreq {
            if data.len() < TICKREQLEN {
                return Written::TooSmall(TICKREQLEN);
            }
            return match self.treq(ctx, data.get(..TICKREQLEN).unwrap_or_default()) {
                Ok(()) => {
                    self.phase = CPhase::HaveTicket;
                    Written::Ok
                }
                Err(f) => Written::Fail(f),
            };
        }
        if data.len() < AUTHENTLEN {
            return Written::TooSmall(AUTHENTLEN);
        }
        let Some(t) = &self.ticket else {
            return Written::Fail(Fail::msg("no ticket"));
        };
        let ok = Authenticator::open(data.get(..AUTHENTLEN).unwrap_or_default(), &t.key)
            .is_ok_and(|a| a.num == types::AUTH_AS && crate::auth::ct_eq(&a.chal, &self.cchal));
        if !ok {
            return Written::Fail(Fail::msg("server lies"));
        }
        let t = t.clone();
        authinfo(ctx, &t);
        Written::Done
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SPhase {
    FindKey,
    NeedChal,
    HaveTreq,
    NeedTicket,
    HaveAuth,
}

pub(super) struct Server {
    attr: Attrs,
    phase: SPhase,
    key: Option<Arc<Key>>,
    cchal: [u8; CHALLEN],
    schal: [u8; CHALLEN],
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
            ticket: None,
        }
    }

    fn ticket(&mut self, data: &[u8]) -> Result<Ticket, Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        let mykey = des_key(&k)?;
        let ts = data.get(..TICKETLEN).unwrap_or_default();
        let t = Ticket::open(ts, &mykey).map_err(|e| Fail::msg(e.to_string()))?;
        if t.num != types::AUTH_TS || !crate::auth::ct_eq(&t.chal, &self.schal) {
            return Err(Fail::msg("invalid ticket"));
        }
        let ac = data.get(TICKETLEN..).unwrap_or_default();
        let ok = Authenticator::open(ac, &t.key)
            .is_ok_and(|a| a.num == types::AUTH_AC && crate::auth::ct_eq(&a.chal, &self.schal));
        if !ok {
            return Err(Fail::msg("invalid authenticator"));
        }
        Ok(t)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(t) = &mut self.ticket {
            t.key.fill(0);
        }
    }
}

impl Machine for Server {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            SPhase::FindKey => "find key",
            SPhase::NeedChal => "SNeedChal",
            SPhase::HaveTreq => "SHaveTreq",
            SPhase::NeedTicket => "SNeedTicket",
            SPhase::HaveAuth => "SHaveAuth",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            SPhase::FindKey => {
                let q = format!("{} {}", self.attr.to_wire().as_str(), P9SK1.keyprompt);
                Need::Key(attr::parse(&q), Lookup::Find)
            }
            SPhase::HaveTreq | SPhase::HaveAuth => Need::Read,
            SPhase::NeedChal | SPhase::NeedTicket => Need::Write,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = SPhase::NeedChal;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        if self.phase == SPhase::HaveTreq {
            ctx.env.random(&mut self.schal);
            let tr = Ticketreq {
                ty: types::AUTH_TREQ,
                authid: k.get("user").unwrap_or("").to_string(),
                authdom: k.get("dom").unwrap_or("").to_string(),
                chal: self.schal,
                hostid: String::new(),
                uid: String::new(),
            };
            let b = tr.emit().map_err(|e| Fail::msg(e.to_string()))?;
            self.phase = SPhase::NeedTicket;
            return Ok(Out::more(b.to_vec()));
        }
        let t = self.ticket.clone().ok_or_else(|| Fail::msg("no ticket"))?;
        let a = Authenticator {
            num: types::AUTH_AS,
            chal: self.cchal,
            id: 0,
        }
        .seal(&t.key);
        authinfo(ctx, &t);
        // as Plan 9's factotum: from the server process's user to the
        // user the client proved to be
        let from = ctx.sysuser.to_string();
        if let Some(cap) = make_cap(ctx, &from, &t.suid) {
            ctx.attr.set("cap", &cap);
        }
        Ok(Out::done(a.to_vec()))
    }

    fn write(&mut self, _: &mut Ctx, data: &[u8]) -> Written {
        if self.phase == SPhase::NeedChal {
            let Some(c) = data.get(..CHALLEN) else {
                return Written::TooSmall(CHALLEN);
            };
            self.cchal.copy_from_slice(c);
            self.phase = SPhase::HaveTreq;
            return Written::Ok;
        }
        if data.len() < TICKETLEN + AUTHENTLEN {
            return Written::TooSmall(TICKETLEN + AUTHENTLEN);
        }
        match self.ticket(data) {
            Ok(t) => {
                self.ticket = Some(t);
                self.phase = SPhase::HaveAuth;
                Written::Ok
            }
            Err(f) => Written::Fail(f),
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

pub static P9SK1: Proto = Proto {
    name: "p9sk1",
    roles: &["client", "server"],
    keyprompt: "user? dom? !password?",
    check,
    start,
};
