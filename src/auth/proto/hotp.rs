//! hotp: counter-based one-time passwords (RFC 4226). New in warden.
//!
//! ```text
//! Key: proto=hotp user=U counter=N [digits=6] [window=5] !secret=BASE32
//!
//! Client:                         Server:
//!   C -> S: code                    read code from C (any of counter ..
//!   S -> C: ok | bad [msg]            counter+window; counter moves past it)
//!                                   S -> C: ok | bad authentication failed
//! ```
//!
//! The client's read returns the code for the key's counter and advances
//! the counter in the key at once (so a code is never handed out twice).
//! The server accepts a code within `window` steps ahead of its counter and
//! moves the counter past it, so a code is never accepted twice; on success
//! authinfo's client uid is the key's user.

use super::otp::{code_text, hotp, params};
use super::{want_some, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::Attrs;
use crate::auth::factotum::keystore::Key;
use std::borrow::Cow;
use std::sync::Arc;

pub const DEFAULT_WINDOW: u64 = 5;

fn check(k: &Key) -> Result<(), String> {
    params(k, DEFAULT_WINDOW).map(|_| ())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    FindKey,
    WriteResponse,
    ReadResult,
    ReadResponse,
    WriteStatus,
}

struct Otp {
    server: bool,
    attr: Attrs,
    phase: Phase,
    key: Option<Arc<Key>>,
    ok: bool,
}

impl Machine for Otp {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            Phase::FindKey => "find key",
            Phase::WriteResponse | Phase::ReadResult => "write response",
            Phase::ReadResponse => "read response",
            Phase::WriteStatus => "write status",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            Phase::FindKey if self.server => Need::Key(self.attr.clone(), Lookup::Find),
            Phase::FindKey => Need::Key(self.attr.clone(), Lookup::Fetch),
            Phase::WriteResponse | Phase::WriteStatus => Need::Read,
            Phase::ReadResult | Phase::ReadResponse => Need::Write,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        self.phase = if self.server {
            Phase::ReadResponse
        } else {
            Phase::WriteResponse
        };
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        let tag = self.key.as_ref().map(|k| k.tag()).unwrap_or(0);
        if self.phase == Phase::WriteStatus {
            if self.ok {
                if let Some(k) = &self.key {
                    ctx.attr.set("cuid", k.get("user").unwrap_or(""));
                }
                ctx.attr.set("suid", ctx.sysuser);
                return Ok(Out::done("ok"));
            }
            return Ok(Out::fail(
                "bad authentication failed",
                "authentication failed",
            ));
        }
        // the live key: its counter may have moved since it was found
        let k = ctx
            .ring
            .by_tag_mut(tag)
            .ok_or_else(|| Fail::msg("key was deleted"))?;
        let p = params(k, DEFAULT_WINDOW).map_err(Fail::msg)?;
        let next = p
            .counter
            .checked_add(1)
            .ok_or_else(|| Fail::msg("counter overflow"))?;
        k.attr.set("counter", &next.to_string());
        self.phase = Phase::ReadResult;
        Ok(Out::more(code_text(
            hotp(&p.secret, p.counter, p.digits),
            p.digits,
        )))
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        if let Some(w) = want_some(data) {
            return w;
        }
        let s = String::from_utf8_lossy(super::cstr(data)).into_owned();
        if self.phase == Phase::ReadResult {
            return client_result(&s);
        }
        let tag = self.key.as_ref().map(|k| k.tag()).unwrap_or(0);
        self.phase = Phase::WriteStatus;
        let Some(k) = ctx.ring.by_tag_mut(tag) else {
            return Written::Ok;
        };
        let Ok(p) = params(k, DEFAULT_WINDOW) else {
            return Written::Ok;
        };
        let got = s.trim();
        let mut hit = None;
        for c in p.counter..=p.counter.saturating_add(p.window) {
            let want = code_text(hotp(&p.secret, c, p.digits), p.digits);
            // look at every candidate: time must not tell which matched
            if crate::auth::ct_eq(want.as_bytes(), got.as_bytes()) && hit.is_none() {
                hit = Some(c);
            }
        }
        if let Some(c) = hit {
            k.attr.set("counter", &c.saturating_add(1).to_string());
            self.ok = true;
        }
        Written::Ok
    }
}

/// A client's view of the server's verdict (totp.c `totpclient`).
pub fn client_result(res: &str) -> Written {
    if res == "ok" {
        return Written::Done;
    }
    match res.strip_prefix("bad ") {
        Some(m) => Written::Fail(Fail::msg(m)),
        None => Written::Fail(Fail::msg(format!("bad result: {res}"))),
    }
}

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    Ok(Box::new(Otp {
        server: role == "server",
        attr: attr.clone(),
        phase: Phase::FindKey,
        key: None,
        ok: false,
    }))
}

pub static HOTP: Proto = Proto {
    name: "hotp",
    roles: &["client", "server"],
    keyprompt: "user? !secret?",
    check,
    start,
};
