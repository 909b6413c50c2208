//! keyfs: the encrypted, crash-safe user database.
//!
//! Layers, inside out:
//! - [`account`]: one account, name rules, password-derived secrets
//!   (Plan 9 passtokey, 9front passtoaeskey), the failure counter.
//! - [`codec`]: the plaintext form of all accounts plus the factotum record.
//! - [`sealed`]: the header, KDF and AEAD around it.
//! - [`disk`]: the filesystem operations, behind a trait for fault injection.
//! - [`store`]: an unlocked key file; every change is written atomically.
//! - [`Keyfs`]: the locked/unlocked state a daemon owns. While locked every
//!   request that needs a secret fails at once with [`KeyfsError::Locked`].
//! - [`shared`]: the daemon's one keyfs ([`shared::SharedKeyfs`]), lent to
//!   every service: the keyfs tree, the factotum (persistent keys), the
//!   ticket service (it implements the ticket service's `Accounts`) and the
//!   signer; failure counting (`bad`/`good`) for all of them.
//! - the 9P tree over it (keyfs(4)) is [`crate::auth::keyfsd`], above
//!   the admin requests its `ctl` answers.
//!
//! The factotum record ([`Store::factotum_keys`],
//! [`Store::set_factotum_keys`]) holds the agent's persistent keys as
//! opaque lines, like secstore's factotum file.

pub mod account;
pub mod codec;
pub mod disk;
pub mod sealed;
pub mod shared;
pub mod signer;
pub mod store;

pub use account::{Account, Expiry, FailOutcome, Failures, Secrets, Status};
pub use disk::{Fs, RealFs};
pub use store::Store;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Everything that can go wrong in keyfs. Messages never hold a secret.
#[derive(Debug)]
pub enum KeyfsError {
    /// The master key is not loaded (attended mode before `warden unlock`).
    Locked,
    /// No key file (and no backup).
    NoFile(PathBuf),
    /// Creating a key file where one exists.
    Exists(PathBuf),
    /// The passphrase does not open this file (its key check differs).
    WrongPassphrase(PathBuf),
    /// The key check matched but the authentication tag did not: the file
    /// was modified or damaged after it was written.
    Tampered(PathBuf),
    /// Not a readable key file: empty, truncated, bad magic or fields.
    Corrupt {
        path: PathBuf,
        detail: String,
    },
    /// A key file written by a newer format.
    Version {
        path: PathBuf,
        found: u8,
    },
    /// Neither the file nor its backup could be opened.
    BothUnreadable {
        current: Box<KeyfsError>,
        backup: Box<KeyfsError>,
    },
    Io {
        what: String,
        path: PathBuf,
        err: io::Error,
    },
    /// An unattended key file readable by others.
    KeyFileMode {
        path: PathBuf,
        mode: u32,
    },
    BadName(String),
    NoUser(String),
    UserExists(String),
    Disabled(String),
    Expired(String),
    Purgatory {
        name: String,
        secs: u64,
    },
    NoPassword(String),
    BadSecret(String),
    NoOtp(String),
    Otp {
        name: String,
        err: crate::auth::oath::OtpError,
    },
    Invalid(String),
}

impl KeyfsError {
    pub fn io(what: &str, path: &Path, err: io::Error) -> KeyfsError {
        KeyfsError::Io {
            what: what.to_string(),
            path: path.to_path_buf(),
            err,
        }
    }
}

impl fmt::Display for KeyfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use KeyfsError::*;
        match self {
            Locked => f.write_str("keyfs is locked (run 'warden unlock')"),
            NoFile(p) => write!(
                f,
                "no key file {} (create one with 'warden keyfs init')",
                p.display()
            ),
            Exists(p) => write!(f, "{} exists; refusing to overwrite it", p.display()),
            WrongPassphrase(p) => write!(f, "{}: wrong passphrase", p.display()),
            Tampered(p) => write!(
                f,
                "{}: authentication failed: the file was modified or damaged",
                p.display()
            ),
            Corrupt { path, detail } => write!(f, "{}: {detail}", path.display()),
            Version { path, found } => write!(
                f,
                "{}: key file version {found} is not supported (this warden reads version {})",
                path.display(),
                sealed::VERSION
            ),
            BothUnreadable { current, backup } => {
                write!(f, "{current}; and the backup: {backup}")
            }
            Io { what, path, err } => write!(f, "{what} {}: {err}", path.display()),
            KeyFileMode { path, mode } => write!(
                f,
                "{}: mode {mode:04o} lets others read the master key; chmod 600 it",
                path.display()
            ),
            BadName(m) => f.write_str(m),
            NoUser(n) => write!(f, "no user '{n}'"),
            UserExists(n) => write!(f, "user '{n}' exists"),
            Disabled(n) => write!(f, "user '{n}' is disabled"),
            Expired(n) => write!(f, "user '{n}' has expired"),
            Purgatory { name, secs } => write!(
                f,
                "user '{name}' is locked for {secs} s after repeated failures"
            ),
            NoPassword(n) => write!(f, "user '{n}' has no password"),
            BadSecret(n) => write!(f, "wrong password for '{n}'"),
            NoOtp(n) => write!(f, "user '{n}' has no OATH token"),
            Otp { name, err } => write!(f, "user '{name}': {err}"),
            Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KeyfsError {}

/// Where the master key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Locked after boot until `warden unlock` gives the passphrase.
    Attended,
    /// The passphrase is read from this file (mode 0600), like Plan 9's
    /// nvram: the router unlocks itself on boot.
    Unattended { keyfile: PathBuf },
}

/// How to find and open the key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub file: PathBuf,
    pub mode: Mode,
    /// PBKDF2 iterations for new files and passphrase changes.
    pub iterations: u32,
}

impl Settings {
    pub fn from_config(c: &crate::config::model::Keyfs) -> Settings {
        Settings {
            file: c.file.clone(),
            mode: if c.mode == crate::config::model::KeyfsMode::Unattended {
                Mode::Unattended {
                    keyfile: c.keyfile.clone(),
                }
            } else {
                Mode::Attended
            },
            iterations: c.kdf_iterations,
        }
    }
}

/// Read an unattended key file: refuses one that group or others may
/// read; the passphrase is its content without the final newline.
pub fn read_keyfile(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyfsError> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(path).map_err(|e| KeyfsError::io("read key file", path, e))?;
    let mode = md.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyfsError::KeyFileMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut data =
        Zeroizing::new(std::fs::read(path).map_err(|e| KeyfsError::io("read key file", path, e))?);
    while data.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        data.pop();
    }
    if data.is_empty() {
        return Err(KeyfsError::Invalid(format!(
            "{}: the key file is empty",
            path.display()
        )));
    }
    Ok(data)
}

/// The keyfs service state, owned by whoever serves requests (the daemon,
/// or a CLI command for one operation). Locked until [`Keyfs::unlock`].
pub struct Keyfs<F: Fs + Clone = RealFs> {
    settings: Settings,
    fs: F,
    store: Option<Store<F>>,
}

impl<F: Fs + Clone> Keyfs<F> {
    pub fn new(settings: Settings, fs: F) -> Self {
        Keyfs {
            settings,
            fs,
            store: None,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn is_locked(&self) -> bool {
        self.store.is_none()
    }

    /// Unlock with a passphrase (derives the key: about a second on the
    /// router). Returns warnings such as "opened the backup".
    pub fn unlock(&mut self, pass: &[u8]) -> Result<Vec<String>, KeyfsError> {
        let (s, w) = Store::open(self.fs.clone(), &self.settings.file, pass)?;
        self.store = Some(s);
        Ok(w)
    }

    /// Unattended mode: unlock with the key file's content.
    pub fn unlock_unattended(&mut self) -> Result<Vec<String>, KeyfsError> {
        match &self.settings.mode {
            Mode::Unattended { keyfile } => {
                let pass = read_keyfile(keyfile)?;
                self.unlock(&pass)
            }
            Mode::Attended => Err(KeyfsError::Invalid(
                "keyfs is in attended mode: unlock with a passphrase".into(),
            )),
        }
    }

    /// Install a store opened elsewhere (the daemon derives the key
    /// without holding its shared lock, then installs the result).
    pub fn install(&mut self, store: Store<F>) {
        self.store = Some(store);
    }

    /// The open store, if unlocked.
    pub fn store_ref(&self) -> Option<&Store<F>> {
        self.store.as_ref()
    }

    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// Forget the master key and every decrypted account (zeroized on drop).
    pub fn lock(&mut self) {
        self.store = None;
    }

    /// The open store, or `Locked` at once.
    pub fn store(&mut self) -> Result<&mut Store<F>, KeyfsError> {
        self.store.as_mut().ok_or(KeyfsError::Locked)
    }
}

#[cfg(test)]
pub(crate) mod tests;
