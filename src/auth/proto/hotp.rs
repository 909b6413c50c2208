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

use super::otp::{self, code_text, first_match, hotp, params, Params, Rules};
use super::{Ctx, Fail, Machine, Proto};
use crate::auth::attr::Attrs;
use crate::auth::proto::key::Key;

pub const DEFAULT_WINDOW: u64 = 5;

fn check(k: &Key) -> Result<(), String> {
    params(k, DEFAULT_WINDOW).map(|_| ())
}

/// The code for the live key's counter, which moves on at once.
fn code(ctx: &mut Ctx, key: &Key) -> Result<String, Fail> {
    // the live key: its counter may have moved since it was found
    let k = ctx
        .ring
        .by_tag_mut(key.tag())
        .ok_or_else(|| Fail::msg("key was deleted"))?;
    let p = params(k, DEFAULT_WINDOW).map_err(Fail::msg)?;
    let next = p
        .counter
        .checked_add(1)
        .ok_or_else(|| Fail::msg("counter overflow"))?;
    k.attr.set("counter", &next.to_string());
    Ok(code_text(hotp(&p.secret, p.counter, p.digits), p.digits))
}

/// A code for counter .. counter+window; the counter moves past it.
fn accept(_now: u64, k: &mut Key, p: &Params, got: &str) -> bool {
    let window = p.counter..=p.counter.saturating_add(p.window);
    let Some(c) = first_match(p, window, got) else {
        return false;
    };
    k.attr.set("counter", &c.saturating_add(1).to_string());
    true
}

static RULES: Rules = Rules {
    default_window: DEFAULT_WINDOW,
    code,
    accept,
};

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    otp::start(&RULES, role, attr)
}

pub static HOTP: Proto = Proto {
    name: "hotp",
    roles: &["client", "server"],
    keyprompt: "user? !secret?",
    check,
    start,
};
