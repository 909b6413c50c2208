//! Answers written to the confirm and needkey files (plan9port
//! src/cmd/auth/factotum/confirm.c).
//!
//! - confirm: the agent posts `confirm tag=N <public key attrs> <!secret?
//!   names>` before using a key with a `confirm` attribute; the answer is
//!   `tag=N answer=yes` or `tag=N answer=no`.
//! - needkey: the agent posts `needkey tag=N <attrs wanted>` (or `badkey
//!   tag=N ...`); after adding a key through ctl the helper writes `tag=N`.

use super::{Error, World};
use crate::auth::attr;

/// C `strtoul(s, 0, 0)`: optional sign, `0x` hex, leading-0 octal or
/// decimal; stops at the first non-digit; 0 if none.
pub fn strtoul(s: &str) -> u64 {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or("")),
        Some(b'+') => (false, s.get(1..).unwrap_or("")),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let mut v: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        v = v
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(crate::auth::proto::cstr(data)).into_owned()
}

/// Parse `tag=N answer=yes|no` (`confirmwrite`).
pub(crate) fn parse_confirm(data: &[u8], w: &mut World) -> Result<(u64, bool), Error> {
    let a = attr::parse(&text(data));
    if a.is_empty() {
        return Err(Error::new("bad attr"));
    }
    let Some(t) = a.get("tag") else {
        w.flog("bad confirm write: no tag".into());
        return Err(Error::new("no tag"));
    };
    let tag = strtoul(t);
    let allow = match a.get("answer") {
        None => {
            w.flog("bad confirm write: no answer".into());
            return Err(Error::new("no answer"));
        }
        Some("yes") => true,
        Some("no") => false,
        Some(_) => {
            w.flog("bad confirm write: bad answer".into());
            return Err(Error::new("bad answer"));
        }
    };
    Ok((tag, allow))
}

/// Parse `tag=N` (`needkeywrite`).
pub(crate) fn parse_needkey(data: &[u8]) -> Result<u64, Error> {
    let a = attr::parse(&text(data));
    if a.is_empty() {
        return Err(Error::new("empty write"));
    }
    let t = a.get("tag").ok_or_else(|| Error::new("no tag"))?;
    Ok(strtoul(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_like_c() {
        assert_eq!(strtoul("12"), 12);
        assert_eq!(strtoul("0x1f"), 31);
        assert_eq!(strtoul("010"), 8);
        assert_eq!(strtoul("7abc"), 7);
        assert_eq!(strtoul("junk"), 0);
        assert_eq!(strtoul(""), 0);
        assert_eq!(strtoul("99999999999999999999999"), u64::MAX);
    }

    #[test]
    fn needkey_parse() {
        assert_eq!(parse_needkey(b"tag=3").unwrap(), 3);
        assert_eq!(parse_needkey(b"").err().unwrap().to_string(), "empty write");
        assert_eq!(parse_needkey(b"x=1").err().unwrap().to_string(), "no tag");
    }
}
