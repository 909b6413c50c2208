//! p9any: agree on a protocol and domain, then run it (authsrv(6),
//! plan9port p9any.c, 9front factotum's p9any.c; phases named as 9front).
//!
//! ```text
//! S -> C: "v.2 p9sk1@dom ...\0"     (version 1, as 9front servers speak it,
//!                                     has no "v.2 " prefix)
//! C -> S: "p9sk1 dom\0"
//! S -> C: "OK\0"                     (version 2 only)
//! then p9sk1 between the two
//! ```
//!
//! Only p9sk1 is spoken (dp9ik offers are skipped). The server offers
//! p9sk1 in the domain of the key it finds (`proto=p9sk1 role=server` and
//! the start attributes, `dom=` among them to choose); the client takes the
//! first p9sk1 offer and fetches a key for that domain (through needkey
//! when it has none).

use super::p9sk1;
use super::{cstr, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{self, Attrs};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;

/// Start attributes for the chosen protocol's machine and its key query.
fn sub_attrs(attr: &Attrs, dom: Option<&str>) -> Attrs {
    let mut a = attr.clone();
    a.set("proto", "p9sk1");
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
    dom: String,
    key: Option<Arc<Key>>,
    sub: Option<Box<dyn Machine>>,
}

impl Client {
    fn relay(&mut self) {
        let a = sub_attrs(&self.attr, Some(&self.dom));
        self.sub = Some(Box::new(p9sk1::Client::new(&a, self.key.clone())));
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
                key_query(&sub_attrs(&self.attr, Some(&self.dom))),
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
            let msg = format!("p9sk1 {}\0", self.dom);
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
                let dom = list
                    .split_whitespace()
                    .filter_map(|p| p.split_once('@'))
                    .filter(|(p, d)| *p == "p9sk1" && want.is_none_or(|w| w == *d))
                    .map(|(_, d)| d.to_string())
                    .next();
                let Some(dom) = dom else {
                    return Written::Fail(Fail::msg(format!(
                        "no supported protocol in offer '{offer}'"
                    )));
                };
                self.v2 = v2;
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
    key: Option<Arc<Key>>,
    sub: Option<Box<dyn Machine>>,
}

impl Server {
    fn dom(&self) -> &str {
        self.key.as_ref().and_then(|k| k.get("dom")).unwrap_or("")
    }
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
            SPhase::FindKey => Need::Key(key_query(&sub_attrs(&self.attr, None)), Lookup::Find),
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
        self.key = Some(key.ok_or_else(|| Fail::msg("no p9sk1 key to offer"))?);
        self.phase = SPhase::HaveProtos;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        match self.phase {
            SPhase::HaveProtos => {
                self.phase = SPhase::NeedProto;
                Ok(Out::more(
                    format!("v.2 p9sk1@{}\0", self.dom()).into_bytes(),
                ))
            }
            SPhase::HaveOk => {
                let a = sub_attrs(&self.attr, Some(self.dom()));
                self.sub = Some(Box::new(p9sk1::Server::new(&a, self.key.clone())));
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
            if p != "p9sk1" || d != self.dom() || w.next().is_some() {
                return Written::Fail(Fail::msg(format!("bad choice '{choice}'")));
            }
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
            key: None,
            sub: None,
        }))
    } else {
        Ok(Box::new(Client {
            attr: attr.clone(),
            phase: CPhase::NeedProtos,
            v2: false,
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
