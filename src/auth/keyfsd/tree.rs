//! keyfs as a 9P file tree, like Inferno's keyfs(4), served to the admin
//! only (the daemon's uid and root):
//!
//! ```text
//! /ctl            0600  write `unlock PASSPHRASE`, `lock`, or
//!                       `key ATTRS` (a factotum key to keep in keyfs's
//!                       factotum record); read `locked` or `unlocked`;
//!                       or write an admin request (`cert ...`, `user
//!                       ...`, see auth/admin.rs) and read its answer on
//!                       the same open file
//! /NAME/          0700  one directory per user: mkdir adds the user,
//!                       remove deletes it, wstat of the name renames it
//! /NAME/key       0200  write the 7-byte DES key itself (p9sk1)
//! /NAME/aeskey    0200  write the 16-byte AES key itself (dp9ik): with
//!                       `key`, an account moves from a Plan 9 or 9front
//!                       keyfs without its password
//! /NAME/secret    0200  write a new password: every secret is derived
//!                       from it (DES key, AES key, the shared secret)
//! /NAME/expire    0600  `never` or seconds since the epoch
//! /NAME/status    0600  `ok` or `disabled`
//! /NAME/log       0600  write `bad` or `good`; read the consecutive
//!                       failure count, then ` purgatory SECS` while the
//!                       account sits out a lockout
//! ```
//!
//! Reads end with a newline; writes may. Every write is one whole value
//! (the offset is ignored), as in keyfs(4).
//!
//! Secrets are never read back. Plan 9's keyfs(4) lets its owner read
//! `key` (the DES key) and `secret`, 9front's `aeskey` too, and Inferno's
//! `secret`, because there the ticket and signer services are separate
//! programs that get keys through the tree. Here they run inside the
//! daemon and share its keyfs directly ([`crate::auth::keyfs::shared::SharedKeyfs`]),
//! so `key`, `aeskey` and `secret` are write-only (mode 0200; a read is
//! refused with `permission denied`): no file gives a secret back. The one
//! exception is asked for by name: the admin requests `user export-oath`
//! and `user otp` answer with OATH seeds (users.oath text, an otpauth://
//! URI), as the commands print them when they open the key file
//! themselves; passwords and the keys derived from them never leave.
//!
//! While keyfs is locked, the root lists only `ctl`, and every walk into a
//! user, and every read or write of a user's file, fails at once with
//! `keyfs is locked`. Failure counts written to `log` stay in memory; the
//! key file is written only when one changes an account's state (the
//! 50th consecutive failure disables it).

use crate::auth::keyfs::account::{Expiry, Status};
use crate::auth::keyfs::shared::{now, SharedKeyfs};
use crate::auth::keyfs::KeyfsError;
use crate::ninep::fcall::{Qid, Stat, DMDIR, QTDIR, QTFILE};
use crate::ninep::server::{err, FsError, Handle, Read, ReqId, Tree, Who};
use crate::ninep::vecmap::VecMap;
use zeroize::Zeroizing;

const ROOT: u64 = 1;
const CTL: u64 = 2;
/// Per-user qid paths: `id << 3 | kind`.
const K_DIR: u64 = 0;
const K_SECRET: u64 = 1;
const K_EXPIRE: u64 = 2;
const K_STATUS: u64 = 3;
const K_LOG: u64 = 4;
const K_KEY: u64 = 5;
const K_AESKEY: u64 = 6;
const USER_FILES: [(u64, &str, u32); 6] = [
    (K_KEY, "key", 0o200),
    (K_AESKEY, "aeskey", 0o200),
    (K_SECRET, "secret", 0o200),
    (K_EXPIRE, "expire", 0o600),
    (K_STATUS, "status", 0o600),
    (K_LOG, "log", 0o600),
];

impl From<KeyfsError> for FsError {
    fn from(e: KeyfsError) -> FsError {
        FsError::new(e.to_string())
    }
}

/// The keyfs tree over the daemon's shared keyfs.
pub struct KeyfsTree {
    keyfs: SharedKeyfs,
    owner: String,
    ids: VecMap<String, u64>,
    names: VecMap<u64, String>,
    next_id: u64,
    open: VecMap<Handle, u64>,
    /// The answer to the admin request last written on an open `ctl`.
    answers: VecMap<Handle, Zeroizing<Vec<u8>>>,
}

fn qid(path: u64) -> Qid {
    let dir = path == ROOT || (path >= 8 && path & 7 == K_DIR);
    Qid {
        ty: if dir { QTDIR } else { QTFILE },
        vers: 0,
        path,
    }
}

/// A write as one text value: UTF-8, without the final newline.
fn text(data: &[u8]) -> Result<&str, FsError> {
    let s = std::str::from_utf8(data).map_err(|_| FsError::new("not UTF-8 text"))?;
    Ok(s.strip_suffix('\n').unwrap_or(s))
}

fn at_offset(data: &[u8], offset: u64, count: u32) -> Vec<u8> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = start.saturating_add(count as usize).min(data.len());
    data.get(start..end).unwrap_or(&[]).to_vec()
}

impl KeyfsTree {
    pub fn new(keyfs: SharedKeyfs, owner: &str) -> KeyfsTree {
        KeyfsTree {
            keyfs,
            owner: owner.into(),
            ids: VecMap::new(),
            names: VecMap::new(),
            next_id: 1,
            open: VecMap::new(),
            answers: VecMap::new(),
        }
    }

    fn id_of(&mut self, name: &str) -> u64 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(name.to_string(), id);
        self.names.insert(id, name.to_string());
        id
    }

    fn forget(&mut self, name: &str) {
        if let Some(id) = self.ids.remove(name) {
            self.names.remove(&id);
        }
    }

    /// The user a qid path belongs to.
    fn user_of(&self, path: u64) -> Result<String, FsError> {
        self.names
            .get(&(path >> 3))
            .cloned()
            .ok_or_else(|| err::NOTFOUND.into())
    }

    fn mkstat(&self, path: u64, name: &str, mode: u32) -> Stat {
        Stat {
            qid: qid(path),
            mode,
            name: name.into(),
            uid: self.owner.clone(),
            gid: self.owner.clone(),
            muid: self.owner.clone(),
            ..Stat::default()
        }
    }

    fn content(&mut self, path: u64) -> Result<Vec<u8>, FsError> {
        if path == CTL {
            let s = if self.keyfs.is_locked() {
                "locked\n"
            } else {
                "unlocked\n"
            };
            return Ok(s.as_bytes().to_vec());
        }
        if matches!(path & 7, K_KEY | K_AESKEY | K_SECRET) {
            // write-only by mode already; never by accident either
            return Err(err::PERM.into());
        }
        let name = self.user_of(path)?;
        let now = now();
        let s = self.keyfs.with(|s| {
            let a = s.user(&name)?;
            Ok(match path & 7 {
                K_EXPIRE => format!("{}\n", a.expire),
                K_STATUS => format!("{}\n", a.status.as_str()),
                K_LOG => {
                    let f = s.failures(&name);
                    match f.locked(now) {
                        Some(secs) => format!("{} purgatory {secs}\n", f.consecutive),
                        None => format!("{}\n", f.consecutive),
                    }
                }
                _ => String::new(),
            })
        })?;
        Ok(s.into_bytes())
    }

    fn ctl(&mut self, h: Handle, data: &[u8]) -> Result<(), FsError> {
        let line = Zeroizing::new(text(data)?.to_string());
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb {
            // `warden cert ...`, `warden user otp|show|export-oath`: the
            // same requests the CLI runs on a key file it opened itself.
            "cert" | "user" => {
                self.answers.remove(&h);
                let a = self
                    .keyfs
                    .with(|s| crate::auth::admin::answer(s, &line, now()))?;
                self.answers.insert(h, a.encode());
                Ok(())
            }
            // A second unlock would start over with fresh failure counts.
            "unlock" if !self.keyfs.is_locked() => {
                Err("keyfs is already unlocked (write 'lock' first)".into())
            }
            "unlock" if !arg.is_empty() => {
                for w in self.keyfs.unlock(arg.as_bytes())? {
                    log::warn!("keyfs: {w}");
                }
                Ok(())
            }
            "unlock" => match self.keyfs.settings().mode {
                crate::auth::keyfs::Mode::Unattended { .. } => {
                    for w in self.keyfs.unlock_unattended()? {
                        log::warn!("keyfs: {w}");
                    }
                    Ok(())
                }
                crate::auth::keyfs::Mode::Attended => Err("usage: unlock PASSPHRASE".into()),
            },
            // `warden key add --save`: store a factotum key in the
            // factotum record; the factotum loads it at once.
            "key" => {
                crate::auth::factotum::persist::check_line(&line).map_err(FsError::new)?;
                self.keyfs.save_factotum_key(&line)?;
                Ok(())
            }
            "lock" if arg.is_empty() => {
                self.keyfs.lock();
                Ok(())
            }
            _ => Err(FsError::new(format!(
                "unknown ctl request '{}' (unlock PASSPHRASE, lock, key ATTRS, cert ..., user ...)",
                verb.escape_default()
            ))),
        }
    }

    fn write_user(&mut self, path: u64, data: &[u8]) -> Result<(), FsError> {
        let name = self.user_of(path)?;
        let now = now();
        match path & 7 {
            K_KEY | K_AESKEY => {
                let want = if path & 7 == K_KEY { 7 } else { 16 };
                if data.len() != want {
                    // 9front's keyfs says the same for a key of the wrong size
                    return Err(FsError::new(format!(
                        "garbled write data: {} is {want} bytes, not {}",
                        if want == 7 { "key" } else { "aeskey" },
                        data.len()
                    )));
                }
                self.keyfs.with(|s| s.set_key(&name, data, now))?;
            }
            K_SECRET => {
                let pw = Zeroizing::new(text(data)?.as_bytes().to_vec());
                self.keyfs.with(|s| s.set_password(&name, &pw, now))?;
            }
            K_EXPIRE => {
                let t = text(data)?;
                let e = Expiry::parse(t).ok_or_else(|| {
                    FsError::new(format!(
                        "bad expiry '{}': never or seconds since the epoch",
                        t.escape_default()
                    ))
                })?;
                self.keyfs.with(|s| s.set_expire(&name, e, now))?;
            }
            K_STATUS => {
                let t = text(data)?;
                let st = Status::parse(t).ok_or_else(|| {
                    FsError::new(format!(
                        "bad status '{}': ok or disabled",
                        t.escape_default()
                    ))
                })?;
                self.keyfs.with(|s| s.set_status(&name, st, now))?;
            }
            K_LOG => match text(data)?.trim() {
                "bad" => {
                    self.keyfs.with(|s| s.bad(&name, now))?;
                }
                "good" => self.keyfs.good(&name)?,
                t => {
                    return Err(FsError::new(format!(
                        "bad log entry '{}': bad or good",
                        t.escape_default()
                    )))
                }
            },
            _ => return Err(err::BOTCH.into()),
        }
        Ok(())
    }
}

impl Tree for KeyfsTree {
    fn root(&mut self) -> Qid {
        qid(ROOT)
    }

    fn walk(&mut self, dir: Qid, name: &str) -> Result<Qid, FsError> {
        if name == ".." {
            return Ok(qid(ROOT));
        }
        if dir.path == ROOT {
            if name == "ctl" {
                return Ok(qid(CTL));
            }
            self.keyfs
                .with(|s| s.user(name).map(|_| ()))
                .map_err(|e| match e {
                    KeyfsError::NoUser(_) => FsError::from(err::NOTFOUND),
                    e => e.into(),
                })?;
            return Ok(qid(self.id_of(name) << 3 | K_DIR));
        }
        if dir.path & 7 != K_DIR {
            return Err(err::WALKNODIR.into());
        }
        let user = self.user_of(dir.path)?;
        self.keyfs.with(|s| s.user(&user).map(|_| ()))?;
        USER_FILES
            .iter()
            .find(|f| f.1 == name)
            .map(|f| qid(dir.path | f.0))
            .ok_or_else(|| err::NOTFOUND.into())
    }

    fn stat(&mut self, q: Qid) -> Result<Stat, FsError> {
        match q.path {
            ROOT => Ok(self.mkstat(ROOT, "/", DMDIR | 0o700)),
            CTL => Ok(self.mkstat(CTL, "ctl", 0o600)),
            p => {
                let user = self.user_of(p)?;
                if p & 7 == K_DIR {
                    return Ok(self.mkstat(p, &user, DMDIR | 0o700));
                }
                USER_FILES
                    .iter()
                    .find(|f| f.0 == p & 7)
                    .map(|f| self.mkstat(p, f.1, f.2))
                    .ok_or_else(|| err::NOTFOUND.into())
            }
        }
    }

    fn list(&mut self, dir: Qid) -> Result<Vec<Stat>, FsError> {
        if dir.path == ROOT {
            let mut v = vec![self.mkstat(CTL, "ctl", 0o600)];
            let names: Vec<String> = self
                .keyfs
                .with(|s| Ok(s.users().map(|a| a.name.clone()).collect()))
                .unwrap_or_default();
            // an account named like one of the root's own files (from a
            // key file older than the rule) cannot be walked to: listing
            // it would show a name twice and one of them unreachable
            let names = names
                .into_iter()
                .filter(|n| !crate::auth::keyfs::account::RESERVED.contains(&n.as_str()));
            for n in names {
                let id = self.id_of(&n);
                v.push(self.mkstat(id << 3, &n, DMDIR | 0o700));
            }
            return Ok(v);
        }
        let user = self.user_of(dir.path)?;
        self.keyfs.with(|s| s.user(&user).map(|_| ()))?;
        Ok(USER_FILES
            .iter()
            .map(|f| self.mkstat(dir.path | f.0, f.1, f.2))
            .collect())
    }

    fn open(&mut self, h: Handle, q: Qid, _mode: u8, _who: &Who<'_>) -> Result<(), FsError> {
        if q.path != ROOT && q.path != CTL {
            let user = self.user_of(q.path)?;
            self.keyfs.with(|s| s.user(&user).map(|_| ()))?;
        }
        self.open.insert(h, q.path);
        Ok(())
    }

    fn read(&mut self, h: Handle, _req: ReqId, offset: u64, count: u32) -> Result<Read, FsError> {
        let path = *self.open.get(&h).ok_or(FsError::from(err::BOTCH))?;
        if let Some(a) = self.answers.get(&h) {
            return Ok(Read::Ready(at_offset(a, offset, count)));
        }
        let data = self.content(path)?;
        Ok(Read::Ready(at_offset(&data, offset, count)))
    }

    fn write(&mut self, h: Handle, _offset: u64, data: &[u8]) -> Result<u32, FsError> {
        let path = *self.open.get(&h).ok_or(FsError::from(err::BOTCH))?;
        if path == CTL {
            self.ctl(h, data)?;
        } else {
            self.write_user(path, data)?;
        }
        Ok(u32::try_from(data.len()).unwrap_or(u32::MAX))
    }

    fn clunk(&mut self, h: Handle) {
        self.open.remove(&h);
        self.answers.remove(&h);
    }

    fn create(
        &mut self,
        h: Handle,
        dir: Qid,
        name: &str,
        perm: u32,
        _mode: u8,
        _who: &Who<'_>,
    ) -> Result<Qid, FsError> {
        if dir.path != ROOT || perm & DMDIR == 0 {
            return Err(FsError::new(
                "create prohibited: only user directories, in the root (mkdir NAME)",
            ));
        }
        self.keyfs
            .with(|s| s.add_user(name, Expiry::Never, now()))?;
        let p = self.id_of(name) << 3 | K_DIR;
        self.open.insert(h, p);
        Ok(qid(p))
    }

    fn remove(&mut self, q: Qid, _who: &Who<'_>) -> Result<(), FsError> {
        if q.path == ROOT || q.path == CTL || q.path & 7 != K_DIR {
            return Err(err::NOREMOVE.into());
        }
        let user = self.user_of(q.path)?;
        self.keyfs.with(|s| s.del_user(&user))?;
        self.forget(&user);
        // its secstore files go with it: a new account of the same name
        // must not find them
        let files = crate::auth::secstore::files::KeyfsBackend::new(self.keyfs.clone());
        if let Err(e) = files.remove_all(&user) {
            log::warn!("keyfs: deleted {user}, but not its secstore files: {e}");
        }
        Ok(())
    }

    fn wstat(&mut self, q: Qid, st: &Stat, _who: &Who<'_>) -> Result<(), FsError> {
        if q.path == ROOT || q.path == CTL || q.path & 7 != K_DIR {
            return Err(err::NOWSTAT.into());
        }
        let old = self.user_of(q.path)?;
        if st.name.is_empty() || st.name == old {
            return Ok(());
        }
        let new = st.name.clone();
        let had_secstore = self.keyfs.with(|s| s.rename_user(&old, &new, now()))?;
        let files = crate::auth::secstore::files::KeyfsBackend::new(self.keyfs.clone());
        if let Err(e) = files.rename(&old, &new) {
            log::warn!("keyfs: renamed {old} to {new}, but not its secstore files: {e}");
        }
        if had_secstore {
            log::info!(
                "keyfs: renamed {old} to {new}; its secstore password is bound to the name: \
                 set it again (warden secstore add {new})"
            );
        }
        let id = q.path >> 3;
        self.ids.remove(&old);
        if let Some(stale) = self.ids.insert(new.clone(), id) {
            self.names.remove(&stale);
        }
        self.names.insert(id, new);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::tests::TempDir;
    use crate::auth::keyfs::{Mode, RealFs, Settings, Store};
    use crate::ninep::server::Peer;

    fn who() -> Who<'static> {
        Who {
            conn: 1,
            peer: Peer {
                pid: 1,
                uid: 0,
                gid: 0,
            },
            owner: true,
            uname: "glenda",
        }
    }

    fn read(t: &mut KeyfsTree, q: Qid, h: Handle) -> Result<String, FsError> {
        t.open(h, q, 0, &who())?;
        let r = t.read(h, 1, 0, 8192);
        t.clunk(h);
        match r? {
            Read::Ready(d) => Ok(String::from_utf8(d).unwrap()),
            Read::Pending => panic!("keyfs reads never wait"),
        }
    }

    fn write(t: &mut KeyfsTree, q: Qid, h: Handle, data: &[u8]) -> Result<u32, FsError> {
        t.open(h, q, 1, &who())?;
        let r = t.write(h, 0, data);
        t.clunk(h);
        r
    }

    /// A new attended key file (passphrase "master"), its keyfs, locked,
    /// and the tree over it.
    fn fresh(tag: &str) -> (TempDir, SharedKeyfs, KeyfsTree) {
        let d = TempDir::new(tag);
        Store::create(RealFs, &d.keys(), b"master", 1000).unwrap();
        let k = SharedKeyfs::new(Settings {
            file: d.keys(),
            mode: Mode::Attended,
            iterations: 1000,
        });
        let t = KeyfsTree::new(k.clone(), "glenda");
        (d, k, t)
    }

    #[test]
    fn tree_operations_locked_and_unlocked() {
        let (_d, k, mut t) = fresh("tree");
        let root = t.root();
        let ctl = t.walk(root, "ctl").unwrap();
        assert_eq!(read(&mut t, ctl, 1).unwrap(), "locked\n");
        let e = t
            .create(2, root, "ken", DMDIR | 0o700, 0, &who())
            .unwrap_err();
        assert!(e.0.contains("keyfs is locked"), "{e:?}");
        assert_eq!(t.list(root).unwrap().len(), 1);
        assert!(write(&mut t, ctl, 3, b"unlock wrong").is_err());
        write(&mut t, ctl, 4, b"unlock master\n").unwrap();
        assert_eq!(read(&mut t, ctl, 5).unwrap(), "unlocked\n");

        let dir = t.create(6, root, "ken", DMDIR | 0o700, 0, &who()).unwrap();
        t.clunk(6);
        assert!(dir.is_dir());
        assert_eq!(t.stat(dir).unwrap().name, "ken");
        assert!(t.create(7, root, "f", 0o600, 1, &who()).is_err());
        let names: Vec<String> = t.list(dir).unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["key", "aeskey", "secret", "expire", "status", "log"]
        );
        let secret = t.walk(dir, "secret").unwrap();
        assert_eq!(t.stat(secret).unwrap().mode, 0o200);
        write(&mut t, secret, 8, b"password\n").unwrap();
        let want = crate::auth::authsrv::des::passtokey(b"password");
        use crate::auth::authsrv::decide::Accounts;
        assert_eq!(k.des_key("ken"), Some(want));
        let log = t.walk(dir, "log").unwrap();
        for i in 0..9 {
            write(&mut t, log, 10 + i, b"bad").unwrap();
        }
        assert_eq!(read(&mut t, log, 20).unwrap(), "9\n");
        write(&mut t, log, 21, b"bad").unwrap();
        assert!(read(&mut t, log, 22).unwrap().starts_with("10 purgatory "));
        assert_eq!(k.des_key("ken"), None, "in purgatory");
        write(&mut t, log, 23, b"good").unwrap();
        assert_eq!(read(&mut t, log, 24).unwrap(), "0\n");
        let expire = t.walk(dir, "expire").unwrap();
        write(&mut t, expire, 25, b"99").unwrap();
        assert_eq!(read(&mut t, expire, 26).unwrap(), "99\n");
        assert_eq!(k.des_key("ken"), None, "expired");

        // expire 0 means never, as in Plan 9 and Inferno
        write(&mut t, expire, 27, b"0\n").unwrap();
        assert_eq!(read(&mut t, expire, 28).unwrap(), "never\n");
        assert_eq!(k.des_key("ken"), Some(want), "0 is never");
        // the root's own names and invisible names are refused
        for bad in ["ctl", "glen\u{200b}da", "\u{feff}x", "a\u{202e}b"] {
            let e = t
                .create(29, root, bad, DMDIR | 0o700, 0, &who())
                .unwrap_err();
            assert!(
                e.0.contains("not a user name") || e.0.contains("invisible"),
                "{bad:?}: {e:?}"
            );
            let st = Stat {
                name: bad.into(),
                ..Stat::default()
            };
            assert!(t.wstat(dir, &st, &who()).is_err(), "rename to {bad:?}");
        }
        assert_eq!(t.stat(dir).unwrap().name, "ken");
        assert_eq!(t.walk(root, "ctl").unwrap(), ctl);

        // Rename keeps the qid; the old name is gone.
        let st = Stat {
            name: "rob".into(),
            ..Stat::default()
        };
        t.wstat(dir, &st, &who()).unwrap();
        assert_eq!(t.stat(dir).unwrap().name, "rob");
        assert!(t.walk(root, "ken").is_err());
        assert_eq!(t.walk(root, "rob").unwrap(), dir);
        t.remove(dir, &who()).unwrap();
        assert!(t.walk(root, "rob").is_err());
        assert!(t.remove(ctl, &who()).is_err());

        let ann = t.create(29, root, "ann", DMDIR | 0o700, 0, &who()).unwrap();
        t.clunk(29);
        let status = t.walk(ann, "status").unwrap();
        write(&mut t, ctl, 30, b"lock").unwrap();
        assert!(t
            .walk(root, "ann")
            .unwrap_err()
            .0
            .contains("keyfs is locked"));
        assert!(read(&mut t, status, 31)
            .unwrap_err()
            .0
            .contains("keyfs is locked"));
        assert!(write(&mut t, status, 32, b"ok")
            .unwrap_err()
            .0
            .contains("keyfs is locked"));
    }

    #[test]
    fn an_account_moves_from_9front_by_its_keys() {
        use crate::auth::authsrv::decide::Accounts;
        use crate::auth::keyfs::account::passtoaeskey;
        let (_d, k, mut t) = fresh("tree-keys");
        let root = t.root();
        let ctl = t.walk(root, "ctl").unwrap();
        write(&mut t, ctl, 1, b"unlock master").unwrap();
        let dir = t
            .create(2, root, "bootes", DMDIR | 0o700, 0, &who())
            .unwrap();
        t.clunk(2);
        let aeskey = t.walk(dir, "aeskey").unwrap();
        let key = t.walk(dir, "key").unwrap();
        assert_eq!(t.stat(aeskey).unwrap().mode, 0o200);
        // the size is checked, and the bytes are raw (not text)
        let e = write(&mut t, aeskey, 3, b"0123456789abcdef0").unwrap_err();
        assert!(e.0.contains("garbled write data"), "{e:?}");
        assert_eq!(k.aes_key("bootes"), None);
        let aes = passtoaeskey(b"bootes pw");
        write(&mut t, aeskey, 4, &aes).unwrap();
        assert_eq!(k.aes_key("bootes"), Some(aes));
        // no password: a DES key nobody knows, and no shared secret
        let des = k.des_key("bootes").unwrap();
        assert_ne!(des, crate::auth::authsrv::des::passtokey(b"bootes pw"));
        assert!(
            k.secret("bootes").is_none(),
            "chap must not take an empty secret"
        );
        // the DES key by itself, leaving the AES key as it was
        let des = crate::auth::authsrv::des::passtokey(b"bootes pw");
        assert!(write(&mut t, key, 5, &des[..6]).is_err());
        write(&mut t, key, 6, &des).unwrap();
        assert_eq!(k.des_key("bootes"), Some(des));
        assert_eq!(k.aes_key("bootes"), Some(aes));
        // never read back, and kept across a lock and unlock (on disk)
        assert!(read(&mut t, aeskey, 7).is_err());
        write(&mut t, ctl, 8, b"lock").unwrap();
        write(&mut t, ctl, 9, b"unlock master").unwrap();
        assert_eq!(k.aes_key("bootes"), Some(aes));
        assert_eq!(k.des_key("bootes"), Some(des));
    }
}
