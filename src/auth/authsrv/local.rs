//! The process's own ticket service and capability table, for the
//! factotum in the same process: a handle ([`Local`]) the daemon makes
//! once in `services()` and gives to both (as the keyfs handle travels).
//!
//! When the daemon runs the ticket service it registers on the handle:
//! the factotum's [`SystemEnv`](crate::auth::factotum::SystemEnv) then
//! answers ticket requests for that domain in process (no socket, no
//! timeout), and keeps capability hashes for the capuse endpoint. A
//! command-line process gets a handle nothing registers on, so there
//! tickets are dialed and no capabilities are handed out.

use super::caps::Caps;
use super::decide::{self, Accounts, Reply, SpeaksFor};
use std::sync::{Arc, Mutex, MutexGuard};

struct Served {
    authdom: String,
    accounts: Arc<dyn Accounts + Send + Sync>,
    speaks: SpeaksFor,
}

#[derive(Default)]
struct Inner {
    served: Option<Served>,
    caps: Option<Caps>,
}

/// The in-process ticket service and capability table (cheap to clone:
/// every clone is the same table).
#[derive(Clone, Default)]
pub struct Local(Arc<Mutex<Inner>>);

impl Local {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serve `authdom` in process, and keep capability hashes, from now on.
    pub fn register(
        &self,
        authdom: &str,
        accounts: Arc<dyn Accounts + Send + Sync>,
        speaks: SpeaksFor,
    ) {
        let mut g = self.lock();
        g.served = Some(Served {
            authdom: authdom.to_string(),
            accounts,
            speaks,
        });
        g.caps = Some(Caps::default());
    }

    /// The ticket service stopped: no domain served, no capabilities kept.
    pub fn unregister(&self) {
        let mut g = self.lock();
        g.served = None;
        g.caps = None;
    }

    /// The reply to `req` when `authdom` is served here.
    pub fn ticket(&self, authdom: &str, req: &[u8]) -> Option<Vec<u8>> {
        let g = self.lock();
        let l = g
            .served
            .as_ref()
            .filter(|l| !l.authdom.is_empty() && l.authdom == authdom)?;
        let mut failed = false;
        let mut random = |b: &mut [u8]| failed |= crate::sys::random::fill(b).is_err();
        let (r, _) = decide::handle(req, l.accounts.as_ref(), &l.speaks, &mut random);
        if failed {
            return Some(super::wire::auth_err("auth server error").to_vec());
        }
        Some(match r {
            Reply::Send(b) | Reply::Close(b, _) => b,
        })
    }

    /// A dp9ik client's AuthPAK and AuthTreq (`req`: both requests and the
    /// two public keys, as [`super::pak::client_request`] lays them out)
    /// when `authdom` is served here: the replies' bytes.
    pub fn pak_tickets(&self, authdom: &str, req: &[u8]) -> Option<Vec<u8>> {
        let g = self.lock();
        let l = g
            .served
            .as_ref()
            .filter(|l| !l.authdom.is_empty() && l.authdom == authdom)?;
        let mut failed = false;
        let mut random = |b: &mut [u8]| failed |= crate::sys::random::fill(b).is_err();
        let mut s = super::exchanges::Session::new(&l.authdom, false);
        let out =
            super::exchanges::converse(&mut s, req, l.accounts.as_ref(), &l.speaks, &mut random);
        if failed {
            return Some(super::wire::auth_err("auth server error").to_vec());
        }
        Some(out)
    }

    /// Keep `hash`; false when no capuse endpoint is up.
    pub fn caphash(&self, hash: [u8; 20], now: u64) -> bool {
        match self.lock().caps.as_mut() {
            Some(c) => {
                c.add(hash, now);
                true
            }
            None => false,
        }
    }

    /// Trade in a capability: the pair of users it names.
    pub fn capuse(&self, cap: &str, now: u64) -> Result<(String, String), &'static str> {
        match self.lock().caps.as_mut() {
            Some(c) => c.use_cap(cap, now),
            None => Err("no capabilities kept"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoOne;
    impl Accounts for NoOne {
        fn des_key(&self, _: &str) -> Option<[u8; 7]> {
            None
        }
    }

    #[test]
    fn only_a_registered_domain_is_answered_and_clones_share_it() {
        let l = Local::default();
        let other = l.clone();
        assert_eq!(l.ticket("lan", &[1; 141]), None);
        assert!(!l.caphash([0; 20], 1));
        other.register("lan", Arc::new(NoOne), SpeaksFor::default());
        assert!(l.ticket("lan", &[1; 141]).is_some());
        assert_eq!(l.ticket("elsewhere", &[1; 141]), None);
        assert!(l.caphash([0; 20], 1));
        other.unregister();
        assert_eq!(l.ticket("lan", &[1; 141]), None);
        assert_eq!(l.capuse("x", 1), Err("no capabilities kept"));
        // a separate handle (another process's, a test's) shares nothing
        assert_eq!(Local::default().ticket("lan", &[1; 141]), None);
    }
}
