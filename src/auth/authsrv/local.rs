//! The process's own ticket service and capability table, for the
//! factotum in the same process.
//!
//! When the daemon runs the ticket service it registers here: the
//! factotum's [`SystemEnv`](crate::auth::factotum::SystemEnv) then answers
//! ticket requests for that domain in process (no socket, no timeout), and
//! keeps capability hashes for the capuse endpoint. Nothing is registered
//! in a command-line process, so there tickets are dialed and no
//! capabilities are handed out.

use super::caps::Caps;
use super::decide::{self, Accounts, Reply, SpeaksFor};
use std::sync::{Arc, Mutex};

struct Local {
    authdom: String,
    accounts: Arc<dyn Accounts + Send + Sync>,
    speaks: SpeaksFor,
}

static LOCAL: Mutex<Option<Local>> = Mutex::new(None);
static CAPS: Mutex<Option<Caps>> = Mutex::new(None);

/// Serve `authdom` in process from now on.
pub fn register(authdom: &str, accounts: Arc<dyn Accounts + Send + Sync>, speaks: SpeaksFor) {
    *LOCAL.lock().unwrap_or_else(|p| p.into_inner()) = Some(Local {
        authdom: authdom.to_string(),
        accounts,
        speaks,
    });
}

pub fn unregister() {
    *LOCAL.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The reply to `req` when `authdom` is served here.
pub fn ticket(authdom: &str, req: &[u8]) -> Option<Vec<u8>> {
    let g = LOCAL.lock().unwrap_or_else(|p| p.into_inner());
    let l = g
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
pub fn pak_tickets(authdom: &str, req: &[u8]) -> Option<Vec<u8>> {
    let g = LOCAL.lock().unwrap_or_else(|p| p.into_inner());
    let l = g
        .as_ref()
        .filter(|l| !l.authdom.is_empty() && l.authdom == authdom)?;
    let mut failed = false;
    let mut random = |b: &mut [u8]| failed |= crate::sys::random::fill(b).is_err();
    let mut s = super::exchanges::Session::new(&l.authdom, false);
    let out = super::exchanges::converse(&mut s, req, l.accounts.as_ref(), &l.speaks, &mut random);
    if failed {
        return Some(super::wire::auth_err("auth server error").to_vec());
    }
    Some(out)
}

/// Start (or stop) keeping capability hashes.
pub fn caps_enable(on: bool) {
    let mut g = CAPS.lock().unwrap_or_else(|p| p.into_inner());
    *g = if on { Some(Caps::default()) } else { None };
}

/// Keep `hash`; false when no capuse endpoint is up.
pub fn caphash(hash: [u8; 20], now: u64) -> bool {
    match CAPS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        Some(c) => {
            c.add(hash, now);
            true
        }
        None => false,
    }
}

/// Trade in a capability: the pair of users it names.
pub fn capuse(cap: &str, now: u64) -> Result<(String, String), &'static str> {
    match CAPS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        Some(c) => c.use_cap(cap, now),
        None => Err("no capabilities kept"),
    }
}
