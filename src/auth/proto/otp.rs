//! HOTP (RFC 4226) and TOTP (RFC 6238) codes with HMAC-SHA1, the base32
//! secrets they are stored as (`!secret=`, as plan9port's totp.c), and the
//! exchange both protocols share ([`start`] with their [`Rules`]).

use super::{want_some, Ctx, Fail, Lookup, Machine, Need, Out, Written};
use crate::auth::attr::Attrs;
use crate::auth::proto::key::Key;
use hmac::{KeyInit, Mac};
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The HOTP value of `counter` with `digits` digits (6 to 8).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut m) = hmac::Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return 0;
    };
    m.update(&counter.to_be_bytes());
    let d = m.finalize().into_bytes();
    let off = usize::from(d.get(19).copied().unwrap_or(0) & 0xf);
    let b = |i: usize| u32::from(d.get(off + i).copied().unwrap_or(0));
    let h = ((b(0) & 0x7f) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    h % 10u32.pow(digits.min(9))
}

/// A code as text, zero-padded to `digits`.
pub fn code_text(code: u32, digits: u32) -> String {
    format!("{:0width$}", code, width = digits as usize)
}

/// Decode RFC 4648 base32 (upper or lower case, `=` padding optional).
pub fn base32_decode(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let s = s.trim_end_matches('=');
    if matches!(s.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(s.len() * 5 / 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The settings of an OTP key.
pub struct Params {
    pub secret: Zeroizing<Vec<u8>>,
    pub digits: u32,
    /// TOTP step in seconds.
    pub period: u64,
    /// How far a server looks ahead (HOTP) or either side (TOTP).
    pub window: u64,
    /// HOTP: the next counter value.
    pub counter: u64,
}

/// Read and check an OTP key's attributes.
pub fn params(k: &Key, default_window: u64) -> Result<Params, String> {
    let s = k.secret("!secret").ok_or("key has no secret")?;
    let secret = base32_decode(s).ok_or("malformed secret")?;
    let digits = super::num_attr(&k.attr, "digits", 6u32)?;
    if !(6..=8).contains(&digits) {
        return Err(format!("bad digits={digits}: want 6, 7 or 8"));
    }
    let period = super::num_attr(&k.attr, "period", 30u64)?;
    if period == 0 {
        return Err("bad period=0".into());
    }
    let window = super::num_attr(&k.attr, "window", default_window)?;
    if window > 1000 {
        return Err(format!("bad window={window}: at most 1000"));
    }
    let counter = super::num_attr(&k.attr, "counter", 0u64)?;
    Ok(Params {
        secret,
        digits,
        period,
        window,
        counter,
    })
}

/// What differs between hotp and totp; the exchange is the same.
pub struct Rules {
    /// The server's look-ahead (hotp) or either-side (totp) window when
    /// the key names none.
    pub default_window: u64,
    /// The client's code for its key (hotp also moves the live key's
    /// counter past it).
    pub code: fn(&mut Ctx, &Key) -> Result<String, Fail>,
    /// Whether the server takes `got` for the live key `k`, with its
    /// parameters `p`; a code taken is recorded so that it is never taken
    /// again.
    pub accept: fn(now: u64, k: &mut Key, p: &Params, got: &str) -> bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    FindKey,
    WriteResponse,
    ReadResult,
    ReadResponse,
    WriteStatus,
}

/// One hotp or totp conversation, either role.
struct Otp {
    rules: &'static Rules,
    server: bool,
    attr: Attrs,
    phase: Phase,
    key: Option<Arc<Key>>,
    ok: bool,
}

/// A conversation of the protocol that `rules` describe.
pub fn start(rules: &'static Rules, role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    Ok(Box::new(Otp {
        rules,
        server: role == "server",
        attr: attr.clone(),
        phase: Phase::FindKey,
        key: None,
        ok: false,
    }))
}

impl Otp {
    fn tag(&self) -> u64 {
        self.key.as_ref().map_or(0, |k| k.tag())
    }
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
        let key = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        let code = (self.rules.code)(ctx, &key)?;
        self.phase = Phase::ReadResult;
        Ok(Out::more(code))
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
        let now = ctx.env.now();
        // the live key: its counter or last step may have moved since it
        // was found
        let Some(k) = ctx.ring.by_tag_mut(self.tag()) else {
            return Written::Ok;
        };
        let Ok(p) = params(k, self.rules.default_window) else {
            return Written::Ok;
        };
        self.ok = (self.rules.accept)(now, k, &p, s.trim());
        Written::Ok
    }
}

/// The first of `candidates` whose code is `got`, looking at every one:
/// time must not tell which matched.
pub fn first_match(p: &Params, candidates: impl Iterator<Item = u64>, got: &str) -> Option<u64> {
    let mut hit = None;
    for c in candidates {
        let want = code_text(hotp(&p.secret, c, p.digits), p.digits);
        if crate::auth::ct_eq(want.as_bytes(), got.as_bytes()) && hit.is_none() {
            hit = Some(c);
        }
    }
    hit
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(
                hotp(b"12345678901234567890", c as u64, 6),
                *w,
                "counter {c}"
            );
        }
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        let k = b"12345678901234567890";
        for (t, w) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_text(hotp(k, t / 30, 8), 8), format!("{w:08}"));
        }
    }

    #[test]
    fn base32() {
        assert_eq!(
            &base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap()[..],
            b"12345678901234567890"
        );
        assert_eq!(&base32_decode("mzxw6ytboi======").unwrap()[..], b"foobar");
        assert_eq!(&base32_decode("MZXW6").unwrap()[..], b"foo");
        assert!(base32_decode("M").is_none());
        assert!(base32_decode("MZ1W").is_none());
    }
}
