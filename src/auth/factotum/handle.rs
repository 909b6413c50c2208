//! The daemon's shared authentication state: one factotum (and, with
//! keyfs, the user database) that several services reach.
//!
//! The 9P service serving the factotum's files holds an [`AuthHandle`];
//! so can any other service that must change the key ring (for instance
//! keyfs loading persistent keys into the factotum when it is unlocked).
//! Lock it briefly: the 9P service takes the lock for each file operation.
//! Reads waiting on the factotum's files (log, confirm, needkey, rpc) are
//! completed the next time the 9P service runs (on its next message), so
//! a change made from another thread that should wake a waiting reader at
//! once is not guaranteed to do so before that.

use super::{Factotum, SystemEnv};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything authentication keeps in memory while the daemon runs.
pub struct AuthState {
    /// The key agent: keys, conversations, its files' queues.
    pub factotum: Factotum,
}

/// A shared handle on [`AuthState`].
#[derive(Clone)]
pub struct AuthHandle(Arc<Mutex<AuthState>>);

impl AuthHandle {
    /// A fresh state: a factotum with no keys owned by `owner` (a user
    /// name), on the system clock and random source, asking `local` (the
    /// daemon's own ticket service, when it runs one) for tickets first.
    pub fn new(owner: &str, local: crate::auth::authsrv::local::Local) -> AuthHandle {
        AuthHandle::from_state(AuthState {
            factotum: Factotum::new(owner, Box::new(SystemEnv { local })),
        })
    }

    pub fn from_state(s: AuthState) -> AuthHandle {
        AuthHandle(Arc::new(Mutex::new(s)))
    }

    /// Lock the state. A panic while it was held (which would be a bug)
    /// does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, AuthState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state if no one holds it now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, AuthState>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}
