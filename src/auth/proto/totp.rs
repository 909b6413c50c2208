//! totp: time-based one-time passwords (RFC 6238), compatible with
//! plan9port's totp.c (same key form, same exchange).
//!
//! ```text
//! Key: proto=totp user=U dom=D [digits=6] [period=30] [window=1] !secret=BASE32
//!
//! Client:                         Server:
//!   C -> S: code for now            read code from C (now +/- window steps)
//!   S -> C: ok | bad [msg]          S -> C: ok | bad authentication failed
//! ```
//!
//! Unlike plan9port the server refuses a replay: it remembers the last time
//! step it accepted for the key and accepts only later ones. It also wants
//! exactly `digits` digits. On success authinfo's client uid is the user.

use super::hotp::client_result;
use super::otp::{code_text, hotp, params};
use super::{want_some, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::Attrs;
use crate::auth::factotum::keystore::Key;
use std::borrow::Cow;
use std::sync::Arc;

pub const DEFAULT_WINDOW: u64 = 1;

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

struct Totp {
    server: bool,
    attr: Attrs,
    phase: Phase,
    key: Option<Arc<Key>>,
    ok: bool,
}

impl Machine for Totp {
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
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        if self.phase == Phase::WriteStatus {
            if self.ok {
                ctx.attr.set("cuid", k.get("user").unwrap_or(""));
                ctx.attr.set("suid", ctx.sysuser);
                return Ok(Out::done("ok"));
            }
            return Ok(Out::fail(
                "bad authentication failed",
                "authentication failed",
            ));
        }
        let p = params(&k, DEFAULT_WINDOW).map_err(Fail::msg)?;
        let step = ctx.env.now() / p.period;
        self.phase = Phase::ReadResult;
        Ok(Out::more(code_text(
            hotp(&p.secret, step, p.digits),
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
        self.phase = Phase::WriteStatus;
        let tag = self.key.as_ref().map(|k| k.tag()).unwrap_or(0);
        let now = ctx.env.now();
        let Some(k) = ctx.ring.by_tag_mut(tag) else {
            return Written::Ok;
        };
        let Ok(p) = params(k, DEFAULT_WINDOW) else {
            return Written::Ok;
        };
        let got = s.trim();
        let t = now / p.period;
        let mut hit: Option<u64> = None;
        for step in t.saturating_sub(p.window)..=t.saturating_add(p.window) {
            if k.otp_last_step.is_some_and(|last| step <= last) {
                continue;
            }
            let want = code_text(hotp(&p.secret, step, p.digits), p.digits);
            if crate::auth::ct_eq(want.as_bytes(), got.as_bytes()) && hit.is_none() {
                hit = Some(step);
            }
        }
        if let Some(step) = hit {
            k.otp_last_step = Some(step);
            self.ok = true;
        }
        Written::Ok
    }
}

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    Ok(Box::new(Totp {
        server: role == "server",
        attr: attr.clone(),
        phase: Phase::FindKey,
        key: None,
        ok: false,
    }))
}

pub static TOTP: Proto = Proto {
    name: "totp",
    roles: &["client", "server"],
    keyprompt: "user? dom? !secret?",
    check,
    start,
};
