//! The daemon's one keyfs, shared by every service that needs accounts or
//! secrets: the keyfs 9P tree, the factotum (its persistent keys), the
//! ticket service ([`Accounts`]) and the signer.
//!
//! [`SharedKeyfs`] is a cloneable handle (`Arc<Mutex<..>>`) around one
//! [`Keyfs`], locked or unlocked. Every call takes the mutex for one short
//! operation and answers [`KeyfsError::Locked`] at once while keyfs is
//! locked; nothing waits for `warden unlock`. The slow part of unlocking
//! (the KDF) runs without the mutex held, so other services keep failing
//! fast (or being served) meanwhile.
//!
//! Services that keep state derived from keyfs subscribe with
//! [`SharedKeyfs::on_change`]: they are told [`Change::Unlocked`] with the
//! factotum record's key lines (the factotum adds them), [`Change::Locked`]
//! (it forgets them) and [`Change::FactotumKeys`] after the record changed.
//! Listeners run after the mutex is released, so they may call back in.
//!
//! Another process may change the key file while the daemon holds it
//! unlocked (a `warden user` command that works on the file directly).
//! Before each operation the file's identity (device, inode, size, mtime)
//! is compared with what the daemon last saw; on a difference the file is
//! re-read with the master key already held ([`Store::reload`]). If it was
//! re-sealed under another passphrase, keyfs locks itself with a warning.
//! Each operation holds the key file's lock (`<file>.lock`, which `warden
//! user` commands hold while they write) for its duration, waiting at most
//! [`BUSY_WAIT`] for it, so neither side loses the other's change.
//!
//! Failure counting ([`SharedKeyfs::bad`], [`SharedKeyfs::good`]) is in
//! memory: the key file is written only when a failure disables an account
//! (the 50th in a row), never for a failure that changes nothing on disk.

use super::account::{FailOutcome, Failures, DESKEYLEN};
use super::{Keyfs, KeyfsError, RealFs, Settings, Store};
use crate::auth::authsrv::decide::Accounts;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, MutexGuard};
use zeroize::Zeroizing;

/// What changed, for listeners.
#[derive(Debug)]
pub enum Change<'a> {
    /// keyfs was unlocked; the factotum record's lines.
    Unlocked(&'a [Zeroizing<String>]),
    /// keyfs was locked: forget everything that came from it.
    Locked,
    /// The factotum record was replaced (while unlocked).
    FactotumKeys(&'a [Zeroizing<String>]),
}

type Listener = Box<dyn Fn(&Change<'_>) + Send + Sync>;

/// (dev, ino, size, mtime seconds, mtime nanoseconds)
type Stamp = (u64, u64, u64, i64, i64);

struct Inner {
    keyfs: Keyfs<RealFs>,
    stamp: Option<Stamp>,
}

/// A cloneable handle on the daemon's keyfs. See the module docs.
#[derive(Clone)]
pub struct SharedKeyfs {
    inner: Arc<Mutex<Inner>>,
    listeners: Arc<Mutex<Vec<Listener>>>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for SharedKeyfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKeyfs")
            .field("file", &self.settings.file)
            .field("locked", &self.is_locked())
            .finish()
    }
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// How long an operation waits for the key file's lock (`<file>.lock`,
/// held by `warden user` commands while they write) before failing.
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SharedKeyfs {
    /// A locked keyfs for these settings.
    pub fn new(settings: Settings) -> SharedKeyfs {
        SharedKeyfs {
            inner: Arc::new(Mutex::new(Inner {
                keyfs: Keyfs::new(settings.clone(), RealFs),
                stamp: None,
            })),
            listeners: Arc::new(Mutex::new(Vec::new())),
            settings: Arc::new(settings),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn guard(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self, c: &Change<'_>) {
        let ls = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        for l in ls.iter() {
            l(c);
        }
    }

    /// Be told of unlocks, locks and factotum record changes. A listener
    /// added while keyfs is unlocked is told `Unlocked` at once.
    pub fn on_change(&self, l: impl Fn(&Change<'_>) + Send + Sync + 'static) {
        let keys = self.factotum_keys().ok();
        if let Some(k) = &keys {
            l(&Change::Unlocked(k));
        }
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(l));
    }

    pub fn is_locked(&self) -> bool {
        self.guard().keyfs.is_locked()
    }

    /// Unlock with a passphrase: derives the key (about a second on the
    /// router) without holding the mutex. Returns warnings (e.g. the backup
    /// was opened).
    pub fn unlock(&self, pass: &[u8]) -> Result<Vec<String>, KeyfsError> {
        let (store, warnings) = Store::open(RealFs, &self.settings.file, pass)?;
        let keys: Vec<Zeroizing<String>> = store.factotum_keys().to_vec();
        {
            let mut g = self.guard();
            g.keyfs.install(store);
            g.stamp = stamp(&self.settings.file);
        }
        log::info!("keyfs: unlocked {}", self.settings.file.display());
        self.notify(&Change::Unlocked(&keys));
        Ok(warnings)
    }

    /// Unattended mode: unlock with the configured key file.
    pub fn unlock_unattended(&self) -> Result<Vec<String>, KeyfsError> {
        match &self.settings.mode {
            super::Mode::Unattended { keyfile } => {
                let pass = super::read_keyfile(keyfile)?;
                self.unlock(&pass)
            }
            super::Mode::Attended => Err(KeyfsError::Invalid(
                "keyfs is in attended mode: unlock with a passphrase".into(),
            )),
        }
    }

    /// Forget the master key and every account; listeners forget theirs.
    pub fn lock(&self) {
        let was = {
            let mut g = self.guard();
            let was = !g.keyfs.is_locked();
            g.keyfs.lock();
            g.stamp = None;
            was
        };
        if was {
            log::info!("keyfs: locked");
            self.notify(&Change::Locked);
        }
    }

    /// Run `f` on the unlocked store (after picking up changes another
    /// process made to the file), or fail at once with `Locked`.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut Store<RealFs>) -> Result<R, KeyfsError>,
    ) -> Result<R, KeyfsError> {
        // One copy of the locking and re-reading below for every caller
        // (each closure would otherwise get its own: kilobytes on mips).
        let mut f = Some(f);
        let mut r = None;
        self.enter(&mut |s| {
            if let Some(f) = f.take() {
                r = Some(f(s));
            }
        })?;
        r.unwrap_or(Err(KeyfsError::Locked))
    }

    fn enter(&self, f: &mut dyn FnMut(&mut Store<RealFs>)) -> Result<(), KeyfsError> {
        let mut relocked = false;
        let r = {
            let mut g = self.guard();
            let inner = &mut *g;
            if inner.keyfs.is_locked() {
                return Err(KeyfsError::Locked);
            }
            // The lock `warden user` commands hold while they change the
            // file: taken briefly, never waited on for long.
            let _lock = super::store::lock_exclusive(&self.settings.file, BUSY_WAIT)?;
            let now_stamp = stamp(&self.settings.file);
            if now_stamp.is_some() && now_stamp != inner.stamp {
                let store = inner.keyfs.store()?;
                match store.reload() {
                    Ok(()) => log::info!("keyfs: re-read the key file (changed by another process)"),
                    Err(e @ (KeyfsError::WrongPassphrase(_) | KeyfsError::Invalid(_))) => {
                        log::warn!("keyfs: {e}: the file was re-sealed under another passphrase; locking");
                        inner.keyfs.lock();
                        inner.stamp = None;
                        relocked = true;
                    }
                    Err(e) => log::warn!("keyfs: the key file changed but cannot be re-read ({e}); keeping what is in memory"),
                }
            }
            if relocked {
                Err(KeyfsError::Locked)
            } else {
                let store = inner.keyfs.store()?;
                f(store);
                inner.stamp = stamp(&self.settings.file);
                Ok(())
            }
        };
        if relocked {
            self.notify(&Change::Locked);
        }
        r
    }

    /// Record a failed authentication of `user` (in memory; written only
    /// when it disables the account).
    pub fn bad(&self, user: &str) -> Result<FailOutcome, KeyfsError> {
        self.with(|s| s.bad(user, now()))
    }

    /// Record a success: the failure count resets (no write).
    pub fn good(&self, user: &str) -> Result<(), KeyfsError> {
        self.with(|s| {
            s.user(user)?;
            s.good(user);
            Ok(())
        })
    }

    /// The in-memory failure state of `user`.
    pub fn failures(&self, user: &str) -> Result<Failures, KeyfsError> {
        self.with(|s| {
            s.user(user)?;
            Ok(s.failures(user))
        })
    }

    /// The factotum record's key lines.
    pub fn factotum_keys(&self) -> Result<Vec<Zeroizing<String>>, KeyfsError> {
        self.with(|s| Ok(s.factotum_keys().to_vec()))
    }

    /// Add one key line to the factotum record (`warden key add --save`);
    /// an identical line is not stored twice. Listeners are told.
    pub fn save_factotum_key(&self, line: &str) -> Result<(), KeyfsError> {
        let line = line.trim();
        if line.is_empty() {
            return Err(KeyfsError::Invalid("an empty factotum key".into()));
        }
        let keys = self.with(|s| {
            let mut keys = s.factotum_keys().to_vec();
            if !keys.iter().any(|k| k.as_str() == line) {
                keys.push(Zeroizing::new(line.to_string()));
                s.set_factotum_keys(keys.clone())?;
            }
            Ok(keys)
        })?;
        self.notify(&Change::FactotumKeys(&keys));
        Ok(())
    }
}

/// The ticket service's view: a DES key only for a usable account (known,
/// enabled, not expired, not in purgatory) while keyfs is unlocked.
impl Accounts for SharedKeyfs {
    fn des_key(&self, user: &str) -> Option<[u8; DESKEYLEN]> {
        self.with(|s| Ok(*s.secrets(user, now())?.des_key)).ok()
    }

    fn aes_key(&self, user: &str) -> Option<[u8; 16]> {
        self.with(|s| Ok(*s.secrets(user, now())?.aes_key)).ok()
    }

    fn secret(&self, user: &str) -> Option<zeroize::Zeroizing<String>> {
        self.with(|s| {
            let sec = s.secrets(user, now())?;
            Ok(zeroize::Zeroizing::new(
                String::from_utf8_lossy(&sec.secret).into_owned(),
            ))
        })
        .ok()
        // an account given only a DES or AES key has no shared secret:
        // chap, apop and cram must not take "" for one
        .filter(|s| !s.is_empty())
    }

    fn bad(&self, user: &str) {
        if let Err(e) = SharedKeyfs::bad(self, user) {
            log::debug!("keyfs: failure for {user} not recorded: {e}");
        }
    }

    fn good(&self, user: &str) {
        if let Err(e) = SharedKeyfs::good(self, user) {
            log::debug!("keyfs: success for {user} not recorded: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::tests::TempDir;
    use crate::auth::keyfs::{Expiry, Mode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn setup() -> (TempDir, SharedKeyfs) {
        let dir = TempDir::new("shared");
        let file = dir.keys();
        Store::create(RealFs, &file, b"master", 1000).unwrap();
        let k = SharedKeyfs::new(Settings {
            file,
            mode: Mode::Attended,
            iterations: 1000,
        });
        (dir, k)
    }

    #[test]
    fn locked_answers_at_once_and_unlock_lock_notify() {
        let (_d, k) = setup();
        assert!(matches!(k.bad("glenda"), Err(KeyfsError::Locked)));
        assert_eq!(k.des_key("glenda"), None);
        let seen = Arc::new(AtomicUsize::new(0));
        let s2 = seen.clone();
        k.on_change(move |c| {
            let n = match c {
                Change::Unlocked(keys) => 1 + 10 * keys.len(),
                Change::Locked => 100,
                Change::FactotumKeys(keys) => 1000 * keys.len(),
            };
            s2.fetch_add(n, Ordering::SeqCst);
        });
        assert!(matches!(
            k.unlock(b"wrong"),
            Err(KeyfsError::WrongPassphrase(_))
        ));
        assert!(k.is_locked());
        k.unlock(b"master").unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        k.save_factotum_key("key proto=pass user=g !password=x")
            .unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1001);
        k.lock();
        assert_eq!(seen.load(Ordering::SeqCst), 1101);
        k.unlock(b"master").unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1112);
    }

    #[test]
    fn des_key_only_for_usable_accounts() {
        let (_d, k) = setup();
        k.unlock(b"master").unwrap();
        k.with(|s| {
            s.add_user("glenda", Expiry::Never, now())?;
            s.set_password("glenda", b"password", now())?;
            s.add_user("old", Expiry::At(1), now())?;
            s.set_password("old", b"password", now())
        })
        .unwrap();
        let want = crate::auth::authsrv::des::passtokey(b"password");
        assert_eq!(k.des_key("glenda"), Some(want));
        assert_eq!(k.des_key("old"), None);
        assert_eq!(k.des_key("nobody"), None);
        for _ in 0..10 {
            k.bad("glenda").unwrap();
        }
        assert_eq!(k.des_key("glenda"), None, "purgatory");
        k.lock();
        assert_eq!(k.des_key("glenda"), None);
    }

    #[test]
    fn picks_up_changes_made_by_another_process() {
        let (_d, k) = setup();
        k.unlock(b"master").unwrap();
        // Another process (a CLI command) changes the file directly.
        let (mut other, _) = Store::open(RealFs, &k.settings().file, b"master").unwrap();
        other.add_user("ken", Expiry::Never, now()).unwrap();
        assert!(k.with(|s| s.user("ken").map(|_| ())).is_ok());
        // Re-sealed under another passphrase: keyfs locks itself.
        other.change_passphrase(b"other", 1000).unwrap();
        assert!(matches!(
            k.with(|s| s.user("ken").map(|_| ())),
            Err(KeyfsError::Locked)
        ));
        assert!(k.is_locked());
    }
}
