//! The factotum's persistent keys: the `factotum` record inside keyfs
//! (like secstore's `factotum` file), one ctl `key ...` line per key.
//!
//! The daemon subscribes a [`Persistent`] to its shared keyfs
//! ([`crate::auth::keyfs::shared::SharedKeyfs::on_change`]) and hands
//! every change to [`Persistent::apply`]: on unlock the record's keys are
//! added to the factotum, on lock they are deleted again (keys added by
//! hand through ctl stay), and when the record changes (`warden key add
//! --save`) the factotum follows.

use super::Factotum;
use crate::auth::attr::{self, Attrs};
use crate::auth::keyfs::shared::Change;
use zeroize::Zeroizing;

/// Check a line before it goes into the record: a ctl `key` line with at
/// least one `proto=` this factotum knows. Messages never hold secrets.
pub fn check_line(line: &str) -> Result<(), String> {
    let rest = line
        .trim()
        .strip_prefix("key ")
        .ok_or_else(|| "a factotum key line starts with 'key '".to_string())?;
    let a = attr::parse_checked(rest).map_err(|e| e.to_string())?;
    let protos: Vec<&str> = a
        .iter()
        .filter(|x| x.name == "proto")
        .map(|x| x.val.as_str())
        .collect();
    if protos.is_empty() {
        return Err("key without protos".into());
    }
    if let Some(p) = protos
        .iter()
        .find(|p| crate::auth::proto::lookup(p).is_none())
    {
        return Err(format!("unknown proto {p}"));
    }
    Ok(())
}

/// The delkey pattern that removes what `line` added: its `proto=` and
/// public attributes (secrets never take part in a match).
fn pattern(line: &str) -> Option<Attrs> {
    let rest = line.trim().strip_prefix("key ")?;
    let (public, _secret) = attr::parse(rest).split_secrets();
    (!public.is_empty()).then_some(public)
}

/// The keys the factotum holds from keyfs.
#[derive(Default)]
pub struct Persistent {
    loaded: Vec<Zeroizing<String>>,
}

impl Persistent {
    pub fn new() -> Persistent {
        Persistent::default()
    }

    /// How many record lines are loaded now.
    pub fn len(&self) -> usize {
        self.loaded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty()
    }

    /// Follow a keyfs change. Returns the lines that failed (as errors
    /// without secrets); the others are loaded.
    pub fn apply(&mut self, f: &mut Factotum, c: &Change<'_>) -> Vec<String> {
        match c {
            Change::Locked => {
                self.forget(f);
                Vec::new()
            }
            Change::Unlocked(lines) | Change::FactotumKeys(lines) => {
                self.forget(f);
                self.load(f, lines)
            }
        }
    }

    fn load(&mut self, f: &mut Factotum, lines: &[Zeroizing<String>]) -> Vec<String> {
        let mut errs = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match f.ctl_write(l.as_bytes()) {
                Ok(()) => self.loaded.push(l.clone()),
                Err(e) => errs.push(format!("factotum record line {}: {e}", i + 1)),
            }
        }
        errs
    }

    /// Delete every key loaded from keyfs.
    pub fn forget(&mut self, f: &mut Factotum) {
        for l in self.loaded.drain(..) {
            if let Some(p) = pattern(&l) {
                // A key already deleted by hand is fine.
                let _ = f.ctl_write(format!("delkey {p}").as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::shared::SharedKeyfs;
    use crate::auth::keyfs::tests::TempDir;
    use crate::auth::keyfs::{Mode, RealFs, Settings, Store};
    use std::sync::{Arc, Mutex};

    #[test]
    fn lines_are_checked() {
        assert!(check_line("key proto=pass user=glenda !password=x").is_ok());
        assert!(check_line("proto=pass").is_err());
        assert_eq!(
            check_line("key user=glenda !password=x").unwrap_err(),
            "key without protos"
        );
        let e = check_line("key proto=nope !password=secret").unwrap_err();
        assert!(
            e.contains("unknown proto nope") && !e.contains("secret"),
            "{e}"
        );
    }

    #[test]
    fn keys_follow_unlock_save_and_lock() {
        let d = TempDir::new("persist");
        Store::create(RealFs, &d.keys(), b"master", 1000).unwrap();
        let k = SharedKeyfs::new(Settings {
            file: d.keys(),
            mode: Mode::Attended,
            iterations: 1000,
        });
        let fac = Arc::new(Mutex::new((
            Factotum::new("glenda", Box::new(super::super::SystemEnv::default())),
            Persistent::new(),
        )));
        let f2 = fac.clone();
        k.on_change(move |c| {
            let mut g = f2.lock().unwrap();
            let (f, p) = &mut *g;
            assert!(p.apply(f, c).is_empty());
        });
        // A key added by hand stays across lock and unlock.
        fac.lock()
            .unwrap()
            .0
            .ctl_write(b"key proto=pass server=hand user=me !password=h")
            .unwrap();
        k.unlock(b"master").unwrap();
        k.save_factotum_key("key proto=pass server=saved user=glenda !password=s")
            .unwrap();
        let listing = |fac: &Arc<Mutex<(Factotum, Persistent)>>| fac.lock().unwrap().0.ctl_read();
        let l = listing(&fac);
        assert!(
            l.contains("server=saved") && l.contains("server=hand"),
            "{l}"
        );
        assert!(!l.contains("!password=s"), "secrets stay hidden: {l}");
        k.lock();
        let l = listing(&fac);
        assert!(
            !l.contains("server=saved") && l.contains("server=hand"),
            "{l}"
        );
        k.unlock(b"master").unwrap();
        assert!(listing(&fac).contains("server=saved"));
        assert_eq!(fac.lock().unwrap().1.len(), 1);
    }
}
