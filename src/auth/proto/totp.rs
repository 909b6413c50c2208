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

use super::otp::{self, code_text, first_match, hotp, params, Params, Rules};
use super::{Ctx, Fail, Machine, Proto};
use crate::auth::attr::Attrs;
use crate::auth::proto::key::Key;

pub const DEFAULT_WINDOW: u64 = 1;

fn check(k: &Key) -> Result<(), String> {
    params(k, DEFAULT_WINDOW).map(|_| ())
}

/// The code for the current time step.
fn code(ctx: &mut Ctx, k: &Key) -> Result<String, Fail> {
    let p = params(k, DEFAULT_WINDOW).map_err(Fail::msg)?;
    let step = ctx.env.now() / p.period;
    Ok(code_text(hotp(&p.secret, step, p.digits), p.digits))
}

/// A code for a step within the window either side of now, later than
/// the last one taken.
fn accept(now: u64, k: &mut Key, p: &Params, got: &str) -> bool {
    let t = now / p.period;
    let last = k.otp_last_step;
    let steps = (t.saturating_sub(p.window)..=t.saturating_add(p.window))
        .filter(|&step| last.is_none_or(|last| step > last));
    let Some(step) = first_match(p, steps, got) else {
        return false;
    };
    k.otp_last_step = Some(step);
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

pub static TOTP: Proto = Proto {
    name: "totp",
    roles: &["client", "server"],
    keyprompt: "user? dom? !secret?",
    check,
    start,
};
