//! Capabilities (the paper "Security in Plan 9", section 2.3).
//!
//! After a server-side authentication the factotum hands the server
//! process the string `userid1@userid2@random` (in authinfo's cap field)
//! and gives warden, standing in for Plan 9's kernel `#¤/caphash`, only the
//! HMAC-SHA1 of `userid1@userid2` keyed with `random`. Whoever presents the
//! string later (on the capuse endpoint) proves that the factotum
//! authenticated `userid2` for a process running as `userid1`; warden
//! checks the hash, forgets it (a capability works once), and answers the
//! user it names. Hashes expire after a timeout and their number is
//! bounded, so nothing a client does makes the table grow without end.
//!
//! What a service on the router can do with it: a process that does not
//! hold keys (a small web or 9P server running as an unprivileged user)
//! passes the authenticated connection's capability to warden and gets back
//! the user it may act for, without ever talking to the auth server or
//! seeing a secret; warden, running as root, is the one party that could
//! then change the process's identity or grant it that user's files.

use hmac::{KeyInit, Mac};
use sha1::Sha1;
use std::sync::{Arc, Mutex};

/// HMAC-SHA1(`from@to`, key `random`).
pub fn hash(from: &str, to: &str, random: &str) -> [u8; 20] {
    match hmac::Hmac::<Sha1>::new_from_slice(random.as_bytes()) {
        Ok(mut m) => {
            m.update(from.as_bytes());
            m.update(b"@");
            m.update(to.as_bytes());
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 20],
    }
}

/// How long a capability stays usable, and how many are kept at most.
pub const CAP_TTL_SECS: u64 = 60;
pub const CAP_MAX: usize = 128;

/// Hashes waiting to be traded in.
#[derive(Default)]
pub struct Caps {
    pending: Vec<([u8; 20], u64)>,
}

impl Caps {
    /// Keep `h` until `now + CAP_TTL_SECS`; the oldest goes when full.
    pub fn add(&mut self, h: [u8; 20], now: u64) {
        self.expire(now);
        if self.pending.len() >= CAP_MAX {
            self.pending.remove(0);
        }
        self.pending.push((h, now.saturating_add(CAP_TTL_SECS)));
    }

    fn expire(&mut self, now: u64) {
        self.pending.retain(|&(_, until)| until > now);
    }

    /// Trade in `cap` (`userid1@userid2@random`): the pair of users when
    /// its hash is waiting (it is then forgotten), else an error that says
    /// no more than "bad capability".
    pub fn use_cap(&mut self, cap: &str, now: u64) -> Result<(String, String), &'static str> {
        self.expire(now);
        let cap = cap.trim_end_matches(['\n', '\0']);
        let mut p = cap.rsplitn(2, '@');
        let (Some(random), Some(users)) = (p.next(), p.next()) else {
            return Err("bad capability");
        };
        let Some((from, to)) = users.split_once('@') else {
            return Err("bad capability");
        };
        let h = hash(from, to, random);
        let i = self
            .pending
            .iter()
            .position(|(x, _)| crate::auth::ct_eq(x, &h))
            .ok_or("bad capability")?;
        self.pending.remove(i);
        Ok((from.to_string(), to.to_string()))
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A handle shared by the factotum (adds) and the capuse endpoint (uses).
pub type SharedCaps = Arc<Mutex<Caps>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2202_hmac_sha1() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?"
        let h = hash("what do ya want for nothing?", "", "Jefe");
        // the data here is "what do ya want for nothing?@", so compare with
        // a direct computation instead of the RFC digest
        let mut m = hmac::Hmac::<Sha1>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?@");
        assert_eq!(h[..], m.finalize().into_bytes()[..]);
        let mut m = hmac::Hmac::<Sha1>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            crate::auth::enc16(&m.finalize().into_bytes()).to_lowercase(),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn once_within_the_timeout() {
        let mut c = Caps::default();
        c.add(hash("cpu", "glenda", "abc"), 100);
        assert_eq!(c.use_cap("cpu@glenda@abd", 101), Err("bad capability"));
        assert_eq!(c.use_cap("cpu@bootes@abc", 101), Err("bad capability"));
        assert_eq!(
            c.use_cap("cpu@glenda@abc\n", 101),
            Ok(("cpu".into(), "glenda".into()))
        );
        assert_eq!(c.use_cap("cpu@glenda@abc", 101), Err("bad capability"));
        c.add(hash("cpu", "glenda", "x"), 100);
        assert_eq!(
            c.use_cap("cpu@glenda@x", 100 + CAP_TTL_SECS),
            Err("bad capability")
        );
        assert!(c.is_empty());
        for i in 0..(CAP_MAX as u64 + 10) {
            c.add(hash("a", "b", &i.to_string()), 200);
        }
        assert_eq!(c.len(), CAP_MAX);
        assert!(c.use_cap("a@b@0", 200).is_err());
        assert!(c.use_cap(&format!("a@b@{}", CAP_MAX + 9), 200).is_ok());
        assert!(c.use_cap("garbage", 200).is_err());
        assert!(c.use_cap("", 200).is_err());
    }
}
