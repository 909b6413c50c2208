//! p9any: agree on a protocol and domain, then run it (authsrv(6),
//! plan9port p9any.c, 9front factotum's p9any.c; phases named as 9front).
//!
//! ```text
//! S -> C: "v.2 dp9ik@dom p9sk1@dom\0" (version 1, as 9front servers speak
//!                                     it, has no "v.2 " prefix)
//! C -> S: "dp9ik dom\0"
//! S -> C: "OK\0"                     (version 2 only)
//! then dp9ik (or p9sk1) between the two
//! ```
//!
//! The server offers dp9ik in the domain of the `proto=dp9ik` key it finds
//! and p9sk1 in that of the `proto=p9sk1` key (each with `role=server` and
//! the start attributes, `dom=` among them to choose), dp9ik first. The
//! client takes dp9ik when it is offered and it holds a dp9ik key for
//! that domain, else p9sk1 when it holds a p9sk1 key, else the first
//! protocol offered that it speaks, and fetches the key (through needkey
//! when it has none).

use super::{cstr, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use super::{dp9ik, p9sk1};
use crate::auth::attr::{self, Attrs};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;

/// The protocols p9any negotiates, in the order they are preferred.
const PROTOS: [&str; 2] = ["dp9ik", "p9sk1"];

/// Start attributes for the chosen protocol's machine and its key query.
fn sub_attrs(attr: &Attrs, proto: &str, dom: Option<&str>) -> Attrs {
    let mut a = attr.clone();
    a.set("proto", proto);
    if let Some(d) = dom {
        a.set("dom", d);
    }
    a
}

fn key_query(a: &Attrs) -> Attrs {
    attr::parse(&format!(
        "{} {}",
        a.to_wire().as_str(),
        p9sk1::P9SK1.keyprompt
    ))
}

/// A message up to its NUL; `toosmall` by one more byte until it has one
/// (plan9port's `convreadm`).
fn nul_message(data: &[u8]) -> Result<String, Written> {
    if !data.contains(&0) {
        if data.len() >= super::AUTH_RPC_MAX {
            return Err(Written::Fail(Fail::msg("message too long")));
        }
        return Err(Written::TooSmall(data.len() + 1));
    }
    Ok(String::from_utf8_lossy(cstr(data)).into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CPhase {
    NeedProtos,
    FindKey,
    HaveProto,
    NeedOk,
    Relay,
}

struct Client {
    attr: Attrs,
    phase: CPhase,
    v2: bool,
    proto: &'static str,
    dom: String,
    key: Option<Arc<Key>>,
    sub: Option<Box<dyn Machine>>,
}

impl Client {
    fn relay(&mut self) {
        let a = sub_attrs(&self.attr, self.proto, Some(&self.dom));
        self.sub = Some(if self.proto == "dp9ik" {
            Box::new(dp9ik::Client::new(&a, self.key.clone()))
        } else {
            Box::new(p9sk1::Client::new(&a, self.key.clone()))
        });
        self.phase = CPhase::Relay;
    }
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        match (&self.sub, self.phase) {
            (Some(m), CPhase::Relay) => m.phase(),
            (_, CPhase::NeedProtos) => "CNeedProtos".into(),
            (_, CPhase::FindKey) => "find key".into(),
            (_, CPhase::HaveProto) => "CHaveProto".into(),
            (_, CPhase::NeedOk) => "CNeedOK".into(),
            (None, CPhase::Relay) => "CRelay".into(),
        }
    }

    fn need(&self) -> Need {
        match self.phase {
            CPhase::NeedProtos | CPhase::NeedOk => Need::Write,
            CPhase::FindKey => Need::Key(
                key_query(&sub_attrs(&self.attr, self.proto, Some(&self.dom))),
                Lookup::Fetch,
            ),
            CPhase::HaveProto => Need::Read,
            CPhase::Relay => match &self.sub {
                Some(m) => m.need(),
                None => Need::Read,
            },
        }
    }

    fn key(&mut self, ctx: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        if self.phase == CPhase::Relay {
            return match &mut self.sub {
                Some(m) => m.key(ctx, key),
                None => Err(Fail::msg("no protocol")),
            };
        }
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = CPhase::HaveProto;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        if self.phase == CPhase::HaveProto {
            let msg = format!("{} {}\0", self.proto, self.dom);
            if self.v2 {
                self.phase = CPhase::NeedOk;
            } else {
                self.relay();
            }
            return Ok(Out::more(msg.into_bytes()));
        }
        match &mut self.sub {
            Some(m) => m.read(ctx),
            None => Err(Fail::msg("no protocol")),
        }
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        match self.phase {
            CPhase::NeedProtos => {
                let offer = match nul_message(data) {
                    Ok(s) => s,
                    Err(w) => return w,
                };
                let (v2, list) = match offer.strip_prefix("v.2 ") {
                    Some(rest) => (true, rest),
                    None => (false, offer.as_str()),
                };
                let want = self.attr.get("dom");
                let offered: Vec<(&'static str, String)> = PROTOS
                    .iter()
                    .flat_map(|&proto| {
                        list.split_whitespace()
                            .filter_map(|p| p.split_once('@'))
                            .filter(move |(p, d)| *p == proto && want.is_none_or(|w| w == *d))
                            .map(move |(_, d)| (proto, d.to_string()))
                    })
                    .collect();
                // the first one we hold a key for, else the first we speak
                let held = offered.iter().find(|(p, d)| {
                    ctx.ring
                        .lookup(&key_query(&sub_attrs(&self.attr, p, Some(d))))
                        .is_some()
                });
                let Some((proto, dom)) = held.or(offered.first()).cloned() else {
                    return Written::Fail(Fail::msg(format!(
                        "no supported protocol in offer '{offer}'"
                    )));
                };
                self.v2 = v2;
                self.proto = proto;
                self.dom = dom;
                self.phase = CPhase::FindKey;
                Written::Ok
            }
            CPhase::NeedOk => {
                let Some(ok) = data.get(..3) else {
                    return Written::TooSmall(3);
                };
                if ok != b"OK\0" {
                    return Written::Fail(Fail::msg("server did not say OK"));
                }
                self.relay();
                Written::Ok
            }
            _ => match &mut self.sub {
                Some(m) => m.write(ctx, data),
                None => Written::Fail(Fail::msg("no protocol")),
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SPhase {
    FindKey,
    HaveProtos,
    NeedProto,
    HaveOk,
    Relay,
}

struct Server {
    attr: Attrs,
    phase: SPhase,
    /// The key looked up next (an index in PROTOS).
    looking: usize,
    /// The key found for each of PROTOS.
    keys: [Option<Arc<Key>>; 2],
    sub: Option<Box<dyn Machine>>,
    chosen: Option<usize>,
}

fn dom(k: &Arc<Key>) -> &str {
    k.get("dom").unwrap_or("")
}

impl Machine for Server {
    fn phase(&self) -> Cow<'static, str> {
        match (&self.sub, self.phase) {
            (Some(m), SPhase::Relay) => m.phase(),
            (_, SPhase::FindKey) => "find key".into(),
            (_, SPhase::HaveProtos) => "SHaveProtos".into(),
            (_, SPhase::NeedProto) => "SNeedProto".into(),
            (_, SPhase::HaveOk) => "SHaveOK".into(),
            (None, SPhase::Relay) => "SRelay".into(),
        }
    }

    fn need(&self) -> Need {
        match self.phase {
            SPhase::FindKey => Need::Key(
                key_query(&sub_attrs(&self.attr, PROTOS[self.looking], None)),
                Lookup::Find,
            ),
            SPhase::HaveProtos | SPhase::HaveOk => Need::Read,
            SPhase::NeedProto => Need::Write,
            SPhase::Relay => match &self.sub {
                Some(m) => m.need(),
                None => Need::Read,
            },
        }
    }

    fn key(&mut self, ctx: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        if self.phase == SPhase::Relay {
            return match &mut self.sub {
                Some(m) => m.key(ctx, key),
                None => Err(Fail::msg("no protocol")),
            };
        }
        self.keys[self.looking] = key;
        self.looking += 1;
        if self.looking < PROTOS.len() {
            return Ok(());
        }
        if self.keys.iter().all(Option::is_none) {
            return Err(Fail::msg("no dp9ik or p9sk1 key to offer"));
        }
        self.phase = SPhase::HaveProtos;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        match self.phase {
            SPhase::HaveProtos => {
                self.phase = SPhase::NeedProto;
                let offer: Vec<String> = PROTOS
                    .iter()
                    .zip(&self.keys)
                    .filter_map(|(p, k)| k.as_ref().map(|k| format!("{p}@{}", dom(k))))
                    .collect();
                Ok(Out::more(format!("v.2 {}\0", offer.join(" ")).into_bytes()))
            }
            SPhase::HaveOk => {
                let Some(i) = self.chosen else {
                    return Err(Fail::msg("no protocol"));
                };
                let key = self.keys[i].clone();
                let d = key.as_ref().map(|k| dom(k).to_string());
                let a = sub_attrs(&self.attr, PROTOS[i], d.as_deref());
                self.sub = Some(if i == 0 {
                    Box::new(dp9ik::Server::new(&a, key))
                } else {
                    Box::new(p9sk1::Server::new(&a, key))
                });
                self.phase = SPhase::Relay;
                Ok(Out::more(b"OK\0".to_vec()))
            }
            _ => match &mut self.sub {
                Some(m) => m.read(ctx),
                None => Err(Fail::msg("no protocol")),
            },
        }
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        if self.phase == SPhase::NeedProto {
            let choice = match nul_message(data) {
                Ok(s) => s,
                Err(w) => return w,
            };
            let mut w = choice.split_whitespace();
            let (p, d) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            let i = PROTOS.iter().position(|&x| x == p);
            let ok = i.is_some_and(|i| self.keys[i].as_ref().is_some_and(|k| dom(k) == d));
            if !ok || w.next().is_some() {
                return Written::Fail(Fail::msg(format!("bad choice '{choice}'")));
            }
            self.chosen = i;
            self.phase = SPhase::HaveOk;
            return Written::Ok;
        }
        match &mut self.sub {
            Some(m) => m.write(ctx, data),
            None => Written::Fail(Fail::msg("no protocol")),
        }
    }
}

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    if role == "server" {
        Ok(Box::new(Server {
            attr: attr.clone(),
            phase: SPhase::FindKey,
            looking: 0,
            keys: [None, None],
            sub: None,
            chosen: None,
        }))
    } else {
        Ok(Box::new(Client {
            attr: attr.clone(),
            phase: CPhase::NeedProtos,
            v2: false,
            proto: "p9sk1",
            dom: String::new(),
            key: None,
            sub: None,
        }))
    }
}

pub static P9ANY: Proto = Proto {
    name: "p9any",
    roles: &["client", "server"],
    keyprompt: "",
    check: super::no_check,
    start,
};
