//! secstored's backend on the daemon's keyfs: accounts (the PAK verifier
//! and the quotas) in the encrypted key file, failures counted by
//! [`SharedKeyfs::bad`] (purgatory, the 50-strikes rule), and the stored
//! files, opaque to the router (the client encrypts them), under the
//! keyfs directory:
//!
//! ```text
//! <keyfs dir>/secstore/<user>/<name>     0600, in a 0700 directory
//! ```
//!
//! Every file is written whole and atomically (a temporary `.put.*` file,
//! fsync, rename, fsync of the directory); a PUT that fails leaves the
//! old file as it was.

use super::session::{check_name, Backend, MAXFILESIZE};
use crate::auth::bignum::Nat;
use crate::auth::keyfs::account::SecstoreAccount;
use crate::auth::keyfs::shared::{now, SharedKeyfs};
use crate::auth::keyfs::KeyfsError;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The directory under the keyfs directory that holds the files.
pub const DIR: &str = "secstore";

/// The store of one daemon.
#[derive(Clone)]
pub struct KeyfsBackend {
    pub keyfs: SharedKeyfs,
    pub root: PathBuf,
}

pub use crate::config::vocab::secstore_root as root_for;

impl KeyfsBackend {
    pub fn new(keyfs: SharedKeyfs) -> KeyfsBackend {
        let root = root_for(&keyfs.settings().file);
        KeyfsBackend { keyfs, root }
    }

    fn dir(&self, user: &str) -> Result<PathBuf, String> {
        // keyfs names are checked when made; an old odd one is refused here
        if user.is_empty() || user == "." || user == ".." || user.contains(['/', '\0']) {
            return Err(format!(
                "'{}' cannot have a secstore",
                user.escape_default()
            ));
        }
        Ok(self.root.join(user))
    }

    fn account(&self, user: &str) -> Result<SecstoreAccount, String> {
        self.keyfs
            .with(|s| s.secstore(user, now()).cloned())
            .map_err(|e| e.to_string())
    }

    /// (name, size, mtime) of the stored files, by name.
    pub fn files(&self, user: &str) -> Result<Vec<(String, u64, i64)>, String> {
        use std::os::unix::fs::MetadataExt;
        let dir = self.dir(user)?;
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        };
        let mut v = Vec::new();
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if check_name(&name).is_err() {
                continue; // temporary files and anything not put here
            }
            let Ok(m) = e.metadata() else { continue };
            if m.is_file() {
                v.push((name, m.len(), m.mtime()));
            }
        }
        v.sort();
        Ok(v)
    }

    /// Move the stored files of `old` to `new` (an account renamed). The
    /// directory of `new` must not exist: a store never mixes two
    /// accounts' files.
    pub fn rename(&self, old: &str, new: &str) -> Result<(), String> {
        let (from, to) = (self.dir(old)?, self.dir(new)?);
        if std::fs::symlink_metadata(&to).is_ok() {
            return Err(format!("{} exists", to.display()));
        }
        match std::fs::rename(&from, &to) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            r => r.map_err(|e| format!("{} to {}: {e}", from.display(), to.display()))?,
        }
        std::fs::File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("{}: {e}", self.root.display()))
    }

    /// Remove every stored file of `user` and the directory (flat: the
    /// store makes no subdirectories).
    pub fn remove_all(&self, user: &str) -> Result<(), String> {
        let dir = self.dir(user)?;
        let err = |e: std::io::Error| format!("{}: {e}", dir.display());
        let rd = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            r => r.map_err(err)?,
        };
        for e in rd {
            std::fs::remove_file(e.map_err(err)?.path()).map_err(err)?;
        }
        std::fs::remove_dir(&dir).map_err(err)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// secstored's dirls: `name<pad>\tsize<pad> date sha1` per file, names
/// padded to the longest, sizes right-aligned; the date as Plan 9's
/// ctime from the month on (in GMT); the SHA1 of the stored bytes in
/// base64.
pub fn listing(files: &[(String, u64, i64, [u8; 20])]) -> String {
    let nw = files.iter().map(|f| f.0.len()).max().unwrap_or(0);
    let lw = files
        .iter()
        .map(|f| f.1.to_string().len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for (name, len, mtime, sum) in files {
        let (y, mo, d, h, mi, se) = crate::sys::localtime::civil(*mtime);
        let month = MONTHS
            .get((mo - 1).clamp(0, 11) as usize)
            .copied()
            .unwrap_or("Jan");
        s.push_str(&format!(
            "{name:<nw$}\t{len:>lw$} {month} {d:02} {h:02}:{mi:02}:{se:02} GMT {y} {}\n",
            crate::auth::ssh::wire::base64(sum)
        ));
    }
    s
}

fn read_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err("not a plain file".into()),
        Ok(m) if m.len() > MAXFILESIZE => return Err(format!("implausible file size {}", m.len())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    std::fs::read(path)
        .map(|d| Some(Zeroizing::new(d)))
        .map_err(|e| e.to_string())
}

impl Backend for KeyfsBackend {
    fn verifier(&mut self, user: &str) -> Result<Option<Nat>, String> {
        match self
            .keyfs
            .with(|s| s.secstore(user, now()).map(|a| a.hi.clone()))
        {
            Ok(hi) => Ok(Nat::from_be_bytes(&hi)),
            Err(KeyfsError::NoUser(_)) | Err(KeyfsError::Invalid(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn bad(&mut self, user: &str) {
        match self.keyfs.bad(user) {
            Ok(out) => log::warn!("secstore: failed login for {user} ({out})"),
            Err(e) => log::debug!("secstore: failure for {user} not recorded: {e}"),
        }
    }

    fn good(&mut self, user: &str) {
        if let Err(e) = self.keyfs.good(user) {
            log::debug!("secstore: success for {user} not recorded: {e}");
        }
    }

    fn set_verifier(&mut self, user: &str, hi: &Nat) -> Result<(), String> {
        let hi = Zeroizing::new(hi.to_be_vec());
        self.keyfs
            .with(|s| {
                let mut a = s
                    .user(user)?
                    .secstore
                    .clone()
                    .ok_or_else(|| KeyfsError::Invalid(format!("{user} has no secstore")))?;
                a.hi = hi.clone();
                s.set_secstore(user, Some(a), now())
            })
            .map_err(|e| e.to_string())
    }

    fn list(&mut self, user: &str) -> Result<Vec<u8>, String> {
        let dir = self.dir(user)?;
        let mut v = Vec::new();
        for (name, len, mtime) in self.files(user)? {
            use sha1::Digest;
            let Some(d) = read_file(&dir.join(&name))? else {
                continue;
            };
            v.push((name, len, mtime, sha1::Sha1::digest(&d[..]).into()));
        }
        Ok(listing(&v).into_bytes())
    }

    fn get(&mut self, user: &str, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        check_name(name)?;
        read_file(&self.dir(user)?.join(name))
    }

    fn may_put(&mut self, user: &str, name: &str, len: u64) -> Result<(), String> {
        let a = self.account(user)?;
        let others: Vec<_> = self
            .files(user)?
            .into_iter()
            .filter(|f| f.0 != name)
            .collect();
        if others.len() as u64 + 1 > u64::from(a.max_files) {
            return Err(format!(
                "quota exceeded: {user} may keep {} files and has {}",
                a.max_files,
                others.len()
            ));
        }
        let used: u64 = others.iter().map(|f| f.1).sum();
        if used.saturating_add(len) > a.max_bytes {
            return Err(format!(
                "quota exceeded: {user} may keep {} bytes, has {used} in other files, and this is {len}",
                a.max_bytes
            ));
        }
        Ok(())
    }

    fn put(&mut self, user: &str, name: &str, data: &[u8]) -> Result<(), String> {
        check_name(name)?;
        self.may_put(user, name, data.len() as u64)?;
        let dir = self.dir(user)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        crate::sys::file::write_atomic(&dir.join(name), data, 0o600)
            .map_err(|e| format!("cannot store {name}: {e}"))
    }

    fn remove(&mut self, user: &str, name: &str) -> Result<(), String> {
        check_name(name)?;
        let p = self.dir(user)?.join(name);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => std::fs::remove_file(&p).map_err(|e| e.to_string()),
            Ok(_) => Err("not a plain file".into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("{name} does not exist"))
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_is_dirls() {
        let l = listing(&[
            ("factotum".into(), 1234, 0, [0; 20]),
            ("x".into(), 5, 86400 * 400, [0xff; 20]),
        ]);
        assert_eq!(
            l,
            "factotum\t1234 Jan 01 00:00:00 GMT 1970 AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
             x       \t   5 Feb 05 00:00:00 GMT 1971 //////////////////////////8=\n"
        );
    }
}
