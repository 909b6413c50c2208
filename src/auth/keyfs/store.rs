//! The store: a key file opened with its master key, the accounts in
//! memory, every change written back crash-safely, and the failure
//! counters that never touch the disk until they change an account.
//!
//! Writing (see [`Store::commit`]): seal into `<file>.new` and fsync; hard
//! link the current file to `<file>.bak.new` and rename that over
//! `<file>.bak` (the previous generation); rename `<file>.new` over the
//! file; fsync the directory. At every instant `<file>` is either the old or
//! the new generation, never a mix. Opening falls back to `<file>.bak`, with
//! a warning, only when `<file>` is missing or unreadable (truncated,
//! damaged, tampered); never on a wrong passphrase or an unknown version.
//! An unreadable file is never overwritten: the next write first moves it to
//! `<file>.unreadable`.

use super::account::{Account, Expiry, FailOutcome, Failures, Secrets, Status};
use super::codec::{self, Db};
use super::disk::{Fs, RealFs};
use super::sealed::{self, MasterKey};
use super::KeyfsError;
use crate::auth::oath::Token;
use crate::ninep::vecmap::VecMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// `<file><suffix>` beside the key file.
/// Warnings for accounts whose names new accounts may not have: they
/// load (refusing them would lock their users out), and are named so an
/// admin can rename them.
fn name_warnings(db: &Db) -> Vec<String> {
    db.accounts
        .values()
        .filter_map(|a| super::account::name_warning(&a.name))
        .collect()
}

pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Longest password accepted (the stored secret is length-prefixed u16).
pub const MAX_PASSWORD: usize = 1024;
/// Longest attribute value.
pub const MAX_ATTR_VALUE: usize = 4096;
/// Longest OATH seed (an HMAC-SHA512 block).
pub const MAX_OTP_KEY: usize = 64;

/// Check a token before storing it.
pub fn check_token(t: &Token) -> Result<(), KeyfsError> {
    if t.key.is_empty() || t.key.len() > MAX_OTP_KEY {
        return Err(KeyfsError::Invalid(format!(
            "an OATH seed must be 1 to {MAX_OTP_KEY} bytes, not {}",
            t.key.len()
        )));
    }
    if !crate::auth::oath::valid_digits(t.digits) {
        return Err(KeyfsError::Invalid(
            "OATH codes have 6, 7 or 8 digits".into(),
        ));
    }
    if matches!(t.kind, crate::auth::oath::Kind::Totp { step: 0 }) {
        return Err(KeyfsError::Invalid("a TOTP step of 0 s".into()));
    }
    Ok(())
}

/// An open, unlocked key file.
pub struct Store<F: Fs = RealFs> {
    fs: F,
    path: PathBuf,
    key: MasterKey,
    db: Db,
    failures: VecMap<String, Failures>,
    /// The current file could not be read and we opened the backup.
    current_unreadable: bool,
}

impl<F: Fs> std::fmt::Debug for Store<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("accounts", &self.db.accounts.len())
            .finish()
    }
}

/// Decrypt one file image with `pass`, deriving with its own parameters.
fn decrypt(path: &Path, data: &[u8], pass: &[u8]) -> Result<(MasterKey, Db), KeyfsError> {
    let h = sealed::parse_header(path, data)?;
    let key = MasterKey::derive(pass, h.salt, h.iterations);
    let plain = sealed::open(path, data, &key)?;
    let db = codec::decode(&plain).map_err(|e| KeyfsError::Corrupt {
        path: path.to_path_buf(),
        detail: e.0,
    })?;
    Ok((key, db))
}

impl<F: Fs> Store<F> {
    /// Create a new, empty key file. Refuses if the file or its backup
    /// exists (never overwrite a file we cannot vouch for).
    pub fn create(fs: F, path: &Path, pass: &[u8], iterations: u32) -> Result<Self, KeyfsError> {
        for p in [path.to_path_buf(), sibling(path, ".bak")] {
            if fs.exists(&p) {
                return Err(KeyfsError::Exists(p));
            }
        }
        if pass.is_empty() {
            return Err(KeyfsError::Invalid("empty passphrase".into()));
        }
        let mut s = Store {
            fs,
            path: path.to_path_buf(),
            key: MasterKey::new(pass, iterations)?,
            db: Db::default(),
            failures: VecMap::new(),
            current_unreadable: false,
        };
        let db = Db::default();
        s.commit(&db)?;
        Ok(s)
    }

    /// Open the key file with `pass`. Returns the store and warnings (e.g.
    /// "opened the backup").
    pub fn open(fs: F, path: &Path, pass: &[u8]) -> Result<(Self, Vec<String>), KeyfsError> {
        let bak = sibling(path, ".bak");
        let primary = match fs.read(path) {
            Ok(data) => match decrypt(path, &data, pass) {
                Ok((key, db)) => {
                    let warnings = name_warnings(&db);
                    return Ok((
                        Store {
                            fs,
                            path: path.to_path_buf(),
                            key,
                            db,
                            failures: VecMap::new(),
                            current_unreadable: false,
                        },
                        warnings,
                    ));
                }
                Err(e @ (KeyfsError::WrongPassphrase(_) | KeyfsError::Version { .. })) => {
                    return Err(e)
                }
                Err(e) => e,
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound && !fs.exists(&bak) => {
                return Err(KeyfsError::NoFile(path.to_path_buf()))
            }
            Err(e) => KeyfsError::io("read", path, e),
        };
        // The current generation is unreadable: try the previous one.
        let data = match fs.read(&bak) {
            Ok(d) => d,
            Err(_) => return Err(primary),
        };
        match decrypt(&bak, &data, pass) {
            Ok((key, db)) => {
                let warning = format!(
                    "{primary}; opened the previous generation {} instead (the next change keeps the unreadable file as {})",
                    bak.display(),
                    sibling(path, ".unreadable").display()
                );
                log::warn!("{warning}");
                let mut warnings = vec![warning];
                warnings.extend(name_warnings(&db));
                Ok((
                    Store {
                        fs,
                        path: path.to_path_buf(),
                        key,
                        db,
                        failures: VecMap::new(),
                        current_unreadable: true,
                    },
                    warnings,
                ))
            }
            Err(e) => Err(KeyfsError::BothUnreadable {
                current: Box::new(primary),
                backup: Box::new(e),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fs(&self) -> &F {
        &self.fs
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn iterations(&self) -> u32 {
        self.key.iterations
    }

    /// Write `db` as the new generation; on success it becomes the state.
    fn commit(&mut self, db: &Db) -> Result<(), KeyfsError> {
        let plain = codec::encode(db);
        let image = sealed::seal(&self.key, &plain)?;
        let tmp = sibling(&self.path, ".new");
        let bak = sibling(&self.path, ".bak");
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Err(e) = self.fs.write_synced(&tmp, &image) {
            let _ = self.fs.remove(&tmp);
            return Err(KeyfsError::io("write", &tmp, e));
        }
        let fail = |s: &Self, what: &str, p: &Path, e: io::Error| {
            let _ = s.fs.remove(&tmp);
            Err(KeyfsError::io(what, p, e))
        };
        if self.current_unreadable {
            if self.fs.exists(&self.path) {
                let aside = sibling(&self.path, ".unreadable");
                if let Err(e) = self.fs.rename(&self.path, &aside) {
                    return fail(self, "move aside", &self.path, e);
                }
            }
        } else if self.fs.exists(&self.path) {
            let bak_new = sibling(&self.path, ".bak.new");
            let _ = self.fs.remove(&bak_new);
            match self.fs.hard_link(&self.path, &bak_new) {
                Ok(()) => {
                    if let Err(e) = self.fs.rename(&bak_new, &bak) {
                        let _ = self.fs.remove(&bak_new);
                        return fail(self, "keep backup", &bak, e);
                    }
                }
                // No hard links here (some overlay filesystems): move the
                // current file to the backup; until the rename below the
                // backup alone holds the old generation, which open() uses.
                Err(_) => {
                    if let Err(e) = self.fs.rename(&self.path, &bak) {
                        return fail(self, "keep backup", &bak, e);
                    }
                }
            }
        }
        if let Err(e) = self.fs.rename(&tmp, &self.path) {
            return fail(self, "rename into place", &self.path, e);
        }
        self.current_unreadable = false;
        if let Err(e) = self.fs.sync_dir(&dir) {
            // The rename is done; only its durability is in doubt.
            log::warn!("fsync of {} failed: {e}", dir.display());
        }
        self.db = db.clone();
        Ok(())
    }

    /// Apply a change to a copy of the database and write it; the change
    /// takes effect only if the write succeeded, so a full disk loses
    /// nothing already stored.
    pub fn update<R>(
        &mut self,
        f: impl FnOnce(&mut Db) -> Result<R, KeyfsError>,
    ) -> Result<R, KeyfsError> {
        let mut db = self.db.clone();
        let r = f(&mut db)?;
        self.commit(&db)?;
        Ok(r)
    }

    /// Re-read the key file with the key already held (another process,
    /// such as a `warden user` command, changed it). Fails if the file was
    /// re-sealed under another passphrase: unlock again then.
    pub fn reload(&mut self) -> Result<(), KeyfsError> {
        let data = self
            .fs
            .read(&self.path)
            .map_err(|e| KeyfsError::io("read", &self.path, e))?;
        let h = sealed::parse_header(&self.path, &data)?;
        if h.salt != self.key.salt || h.iterations != self.key.iterations {
            return Err(KeyfsError::Invalid(format!(
                "{}: the master passphrase changed; unlock keyfs again",
                self.path.display()
            )));
        }
        let plain = sealed::open(&self.path, &data, &self.key)?;
        self.db = codec::decode(&plain).map_err(|e| KeyfsError::Corrupt {
            path: self.path.clone(),
            detail: e.0,
        })?;
        Ok(())
    }

    /// Write the current state again (e.g. after opening the backup).
    pub fn rewrite(&mut self) -> Result<(), KeyfsError> {
        let db = self.db.clone();
        self.commit(&db)
    }

    /// Re-seal under a new passphrase (and iteration count).
    pub fn change_passphrase(&mut self, pass: &[u8], iterations: u32) -> Result<(), KeyfsError> {
        if pass.is_empty() {
            return Err(KeyfsError::Invalid("empty passphrase".into()));
        }
        let old = std::mem::replace(&mut self.key, MasterKey::new(pass, iterations)?);
        let db = self.db.clone();
        if let Err(e) = self.commit(&db) {
            self.key = old;
            return Err(e);
        }
        // Write a second generation so the backup is sealed under the new
        // passphrase too: the fallback then opens with it, and the old
        // passphrase opens nothing left on disk.
        self.commit(&db)
    }

    pub fn user(&self, name: &str) -> Result<&Account, KeyfsError> {
        self.db
            .accounts
            .get(name)
            .ok_or_else(|| KeyfsError::NoUser(name.to_string()))
    }

    pub fn users(&self) -> impl Iterator<Item = &Account> {
        self.db.accounts.values()
    }

    fn with_user<R>(
        &mut self,
        name: &str,
        now: u64,
        f: impl FnOnce(&mut Account) -> Result<R, KeyfsError>,
    ) -> Result<R, KeyfsError> {
        self.update(|db| {
            let a = db
                .accounts
                .get_mut(name)
                .ok_or_else(|| KeyfsError::NoUser(name.to_string()))?;
            let r = f(a)?;
            a.changed = now;
            Ok(r)
        })
    }

    pub fn add_user(&mut self, name: &str, expire: Expiry, now: u64) -> Result<(), KeyfsError> {
        let a = Account::new(name, expire, now).map_err(KeyfsError::BadName)?;
        self.update(|db| {
            if db.accounts.contains_key(name) {
                return Err(KeyfsError::UserExists(name.to_string()));
            }
            db.accounts.insert(a.name.clone(), a);
            Ok(())
        })
    }

    pub fn del_user(&mut self, name: &str) -> Result<(), KeyfsError> {
        self.update(|db| {
            db.accounts
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| KeyfsError::NoUser(name.to_string()))
        })?;
        self.failures.remove(name);
        Ok(())
    }

    /// Rename an account; its failure count goes with it. Returns whether
    /// the account had a secstore: its PAK verifier is
    /// derived from the name as well as the password, so it cannot follow
    /// the account and is dropped (`warden secstore add NEW` sets it again;
    /// the stored files, encrypted by the password alone, move with
    /// [`crate::auth::secstore::files::KeyfsBackend::rename`]).
    pub fn rename_user(&mut self, old: &str, new: &str, now: u64) -> Result<bool, KeyfsError> {
        super::account::check_name(new).map_err(KeyfsError::BadName)?;
        let had_secstore = self.update(|db| {
            if db.accounts.contains_key(new) {
                return Err(KeyfsError::UserExists(new.to_string()));
            }
            let mut a = db
                .accounts
                .remove(old)
                .ok_or_else(|| KeyfsError::NoUser(old.to_string()))?;
            a.name = new.to_string();
            a.changed = now;
            let had = a.secstore.take().is_some();
            db.accounts.insert(new.to_string(), a);
            Ok(had)
        })?;
        if let Some(f) = self.failures.remove(old) {
            self.failures.insert(new.to_string(), f);
        }
        Ok(had_secstore)
    }

    /// Set the password: derives the DES and AES keys and the secret.
    pub fn set_password(&mut self, name: &str, pw: &[u8], now: u64) -> Result<(), KeyfsError> {
        if pw.is_empty() || pw.len() > MAX_PASSWORD {
            return Err(KeyfsError::Invalid(format!(
                "a password must be 1 to {MAX_PASSWORD} bytes"
            )));
        }
        let mut s = Secrets::from_password(pw);
        s.signer = Some(super::signer::SignerVerifier::new(
            pw,
            super::signer::VERIFIER_ITERATIONS,
        )?);
        self.with_user(name, now, |a| {
            a.secrets = Some(s);
            Ok(())
        })
    }

    /// Set the DES key (7 bytes, Plan 9's `key` file) or the AES key (16
    /// bytes, 9front's `aeskey`) by itself, as keyfs(4) lets its owner: an
    /// account moves from a Plan 9 or 9front keyfs without its password.
    /// An account without a password gets the other key drawn at random
    /// (nobody knows it) and no shared secret, so only the protocols of
    /// the key given accept it.
    pub fn set_key(&mut self, name: &str, key: &[u8], now: u64) -> Result<(), KeyfsError> {
        use super::account::{AESKEYLEN, DESKEYLEN};
        if key.len() != DESKEYLEN && key.len() != AESKEYLEN {
            return Err(KeyfsError::Invalid(format!(
                "a key is {DESKEYLEN} bytes (DES) or {AESKEYLEN} bytes (AES), not {}",
                key.len()
            )));
        }
        let mut fresh = None;
        if self.user(name)?.secrets.is_none() {
            let mut des = Zeroizing::new([0u8; DESKEYLEN]);
            let mut aes = Zeroizing::new([0u8; AESKEYLEN]);
            sealed::random(&mut des[..])?;
            sealed::random(&mut aes[..])?;
            fresh = Some(Secrets {
                des_key: des,
                aes_key: aes,
                secret: Zeroizing::new(Vec::new()),
                signer: None,
            });
        }
        self.with_user(name, now, |a| {
            let s = match (&mut a.secrets, fresh) {
                (Some(s), _) => s,
                (none, Some(f)) => none.insert(f),
                (None, None) => return Err(KeyfsError::Invalid("no secrets".into())),
            };
            if key.len() == DESKEYLEN {
                s.des_key.copy_from_slice(key);
            } else {
                s.aes_key.copy_from_slice(key);
            }
            Ok(())
        })
    }

    /// Set or clear the secrets directly (e.g. a 9P `key` file written
    /// with a DES key, as Plan 9's keyfs allows).
    pub fn set_secrets(
        &mut self,
        name: &str,
        secrets: Option<Secrets>,
        now: u64,
    ) -> Result<(), KeyfsError> {
        if secrets
            .as_ref()
            .is_some_and(|s| s.secret.len() > MAX_PASSWORD)
        {
            return Err(KeyfsError::Invalid(format!(
                "a secret must be at most {MAX_PASSWORD} bytes"
            )));
        }
        self.with_user(name, now, |a| {
            a.secrets = secrets;
            Ok(())
        })
    }

    /// Give `name` a secstore (its PAK verifier and quotas), or take it
    /// away (None; its stored files are the caller's to remove).
    pub fn set_secstore(
        &mut self,
        name: &str,
        s: Option<super::account::SecstoreAccount>,
        now: u64,
    ) -> Result<(), KeyfsError> {
        self.with_user(name, now, |a| {
            a.secstore = s;
            Ok(())
        })
    }

    /// The secstore of a usable account (known, enabled, not expired,
    /// not in purgatory).
    pub fn secstore(
        &self,
        name: &str,
        now: u64,
    ) -> Result<&super::account::SecstoreAccount, KeyfsError> {
        self.usable(name, now)?
            .secstore
            .as_ref()
            .ok_or_else(|| KeyfsError::Invalid(format!("{name} has no secstore")))
    }

    /// Enable or disable. Enabling also clears the failure count.
    pub fn set_status(&mut self, name: &str, st: Status, now: u64) -> Result<(), KeyfsError> {
        self.with_user(name, now, |a| {
            a.status = st;
            if st == Status::Ok {
                a.disabled_note = None;
            }
            Ok(())
        })?;
        if st == Status::Ok {
            self.failures.remove(name);
        }
        Ok(())
    }

    pub fn set_expire(&mut self, name: &str, e: Expiry, now: u64) -> Result<(), KeyfsError> {
        self.with_user(name, now, |a| {
            a.expire = e;
            Ok(())
        })
    }

    pub fn set_otp(&mut self, name: &str, t: Option<Token>, now: u64) -> Result<(), KeyfsError> {
        if let Some(t) = &t {
            check_token(t)?;
        }
        self.with_user(name, now, |a| {
            a.otp = t;
            Ok(())
        })
    }

    /// Set (Some) or remove (None) a free-form attribute.
    pub fn set_attr(
        &mut self,
        name: &str,
        attr: &str,
        value: Option<&str>,
        now: u64,
    ) -> Result<(), KeyfsError> {
        if value.is_some_and(|v| v.len() > MAX_ATTR_VALUE) {
            return Err(KeyfsError::Invalid(format!(
                "attribute value longer than {MAX_ATTR_VALUE} bytes"
            )));
        }
        if attr.is_empty() || attr.len() > 255 || attr.contains(char::is_whitespace) {
            return Err(KeyfsError::Invalid(format!(
                "bad attribute name '{}'",
                attr.escape_default()
            )));
        }
        self.with_user(name, now, |a| {
            a.attrs.retain(|(k, _)| k != attr);
            if let Some(v) = value {
                a.attrs.push((attr.to_string(), v.to_string()));
            }
            Ok(())
        })
    }

    /// The in-memory failure state of an account.
    pub fn failures(&self, name: &str) -> Failures {
        self.failures.get(name).copied().unwrap_or_default()
    }

    /// The account, if it may authenticate now: it exists, is enabled, has
    /// not expired and is not in purgatory.
    pub fn usable(&self, name: &str, now: u64) -> Result<&Account, KeyfsError> {
        let a = self.user(name)?;
        if a.status == Status::Disabled {
            return Err(KeyfsError::Disabled(name.to_string()));
        }
        if a.expire.expired(now) {
            return Err(KeyfsError::Expired(name.to_string()));
        }
        if let Some(secs) = self.failures(name).locked(now) {
            return Err(KeyfsError::Purgatory {
                name: name.to_string(),
                secs,
            });
        }
        Ok(a)
    }

    /// The password-derived secrets of a usable account.
    pub fn secrets(&self, name: &str, now: u64) -> Result<&Secrets, KeyfsError> {
        self.usable(name, now)?
            .secrets
            .as_ref()
            .ok_or_else(|| KeyfsError::NoPassword(name.to_string()))
    }

    /// Record a failed authentication (keyfs(4)'s `log` file: `bad`).
    /// Only in memory, unless it is the one that disables the account:
    /// then the disabled status is written.
    pub fn bad(&mut self, name: &str, now: u64) -> Result<FailOutcome, KeyfsError> {
        self.user(name)?;
        let mut f = self.failures(name);
        let out = f.bad(now);
        // Write only when this failure changes the stored state: an
        // account already disabled stays as it is on flash.
        let already = self.user(name)?.status == Status::Disabled;
        if out == FailOutcome::Disabled && !already {
            let n = f.consecutive;
            self.with_user(name, now, |a| {
                a.status = Status::Disabled;
                a.disabled_note = Some(format!("{n} consecutive failures"));
                Ok(())
            })?;
            log::warn!("keyfs: {name} disabled after {n} consecutive failures");
        }
        self.failures.insert(name.to_string(), f);
        Ok(out)
    }

    /// Record a success (`log` file: `good`): the count resets. No write.
    pub fn good(&mut self, name: &str) {
        self.failures.remove(name);
    }

    /// Check a password against a usable account; counts a failure.
    pub fn check_password(&mut self, name: &str, pw: &[u8], now: u64) -> Result<(), KeyfsError> {
        let want = self.secrets(name, now)?.aes_key.clone();
        let got = Zeroizing::new(super::account::passtoaeskey(pw));
        if crate::auth::ct_eq(&want[..], &got[..]) {
            self.good(name);
            Ok(())
        } else {
            self.bad(name, now)?;
            Err(KeyfsError::BadSecret(name.to_string()))
        }
    }

    /// Verify a one-time password with replay protection; the accepted
    /// code and counter are written (they must survive a reboot).
    pub fn verify_otp(
        &mut self,
        name: &str,
        otp: &str,
        now: u64,
        window: u64,
    ) -> Result<(), KeyfsError> {
        let mut t = self
            .usable(name, now)?
            .otp
            .clone()
            .ok_or_else(|| KeyfsError::NoOtp(name.to_string()))?;
        match t.verify(otp, now, window) {
            Ok(()) => {
                self.set_otp(name, Some(t), now)?;
                self.good(name);
                Ok(())
            }
            Err(e) => {
                self.bad(name, now)?;
                Err(KeyfsError::Otp {
                    name: name.to_string(),
                    err: e,
                })
            }
        }
    }

    /// The factotum record: the agent's persistent keys, opaque lines.
    pub fn factotum_keys(&self) -> &[Zeroizing<String>] {
        &self.db.factotum
    }

    /// Replace the factotum record.
    pub fn set_factotum_keys(&mut self, keys: Vec<Zeroizing<String>>) -> Result<(), KeyfsError> {
        if let Some(bad) = keys.iter().find(|k| k.contains('\n')) {
            let _ = bad;
            return Err(KeyfsError::Invalid(
                "a factotum key line holds a newline".into(),
            ));
        }
        self.update(|db| {
            db.factotum = keys;
            Ok(())
        })
    }
}

/// How long a `warden user` command waits for the key file's lock
/// (`<file>.lock`) before it says the file is busy.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Hold the lock on `<file>.lock` while changing the key file (two
/// `warden user` commands at once must not lose each other's change), as
/// [`crate::sys::lock`] takes it, waiting up to `wait`.
pub fn lock_exclusive(
    path: &Path,
    wait: std::time::Duration,
) -> Result<crate::sys::lock::LockFile, KeyfsError> {
    let lp = sibling(path, ".lock");
    crate::sys::lock::lock_file(&lp, wait).map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            KeyfsError::io("lock (busy: another warden command holds it)", &lp, e)
        } else {
            KeyfsError::io("lock", &lp, e)
        }
    })
}
