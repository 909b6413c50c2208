//! The key ring (plan9port src/cmd/auth/factotum/key.c): the vocabulary
//! under every protocol and the factotum that runs them, as dat.h is
//! plan9port's.
//!
//! A key is its public attributes (with `proto=` first) and its secret ones
//! (names starting with `!`). Keys are shared with conversations that use
//! them (`Arc`), as plan9port reference-counts them: deleting a key does not
//! pull it from under a conversation in progress. Each addition gets a new
//! tag, so a key replaced while a conversation waited is seen as new.

use super::Proto;
use crate::auth::attr::{self, Attrs};
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct Key {
    tag: u64,
    /// Public attributes, `proto=` first.
    pub attr: Attrs,
    /// Secret attributes (`!name=value`).
    pub privattr: Attrs,
    pub proto: &'static Proto,
    /// TOTP replay guard: the last time step accepted (memory only).
    pub(crate) otp_last_step: Option<u64>,
    /// What a protocol derived from the secrets once (dp9ik's AES key and
    /// password points: 9001 PBKDF2 rounds and two Elligator maps), kept
    /// for the key's life as 9front's factotum keeps `Key.priv`.
    pub(crate) derived: Derived,
}

/// A key's derived secret, computed on first use. A copy of a key starts
/// without one (its secrets may be changed), so the cache never outlives
/// the attributes it came from.
#[derive(Default)]
pub struct Derived(std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>);

impl Clone for Derived {
    fn clone(&self) -> Derived {
        Derived::default()
    }
}

impl Derived {
    /// The value of type `T`, made by `make` the first time (a failure is
    /// not kept: the next call tries again).
    pub fn get_or_try<T: Send + Sync + 'static, E>(
        &self,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(v) = self.0.get().and_then(|v| v.clone().downcast::<T>().ok()) {
            return Ok(v);
        }
        let v = Arc::new(make()?);
        let _ = self.0.set(v.clone());
        Ok(v)
    }
}

impl Key {
    pub fn new(proto: &'static Proto, mut public: Attrs, privattr: Attrs) -> Key {
        let mut attr = Attrs(vec![attr::Attr::val("proto", proto.name)]);
        attr.0.append(&mut public.0);
        Key {
            tag: 0,
            attr,
            privattr,
            proto,
            otp_last_step: None,
            derived: Derived::default(),
        }
    }

    /// The tag given when the key was added (0 before).
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// A public attribute's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attr.get(name)
    }

    /// A secret attribute's value (name with its `!`).
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.privattr.get(name)
    }

    /// Does this key satisfy the pattern?
    pub fn matches(&self, pat: &Attrs) -> bool {
        attr::matches(pat, &self.attr, Some(&self.privattr))
    }

    /// `%A %N`: public attributes and secret names.
    pub fn describe(&self) -> String {
        format!("{} {}", self.attr, self.privattr.names())
    }

    /// Rough heap bytes held by the key (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        let a = |x: &Attrs| {
            x.0.capacity() * std::mem::size_of::<attr::Attr>()
                + x.iter()
                    .map(|a| a.name.capacity() + a.val.capacity())
                    .sum::<usize>()
        };
        a(&self.attr) + a(&self.privattr)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(tag={} {})", self.tag, self.describe())
    }
}

/// The keys, in the order they were added.
#[derive(Default)]
pub struct Ring {
    keys: Vec<Arc<Key>>,
    taggen: u64,
}

impl Ring {
    pub fn new() -> Ring {
        Ring::default()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Key>> {
        self.keys.iter()
    }

    /// Add a key; one with exactly the same public attributes is replaced
    /// in place (`keyadd`). Returns the new tag.
    pub fn add(&mut self, mut k: Key) -> u64 {
        self.taggen += 1;
        k.tag = self.taggen;
        let same = self.keys.iter().position(|o| {
            attr::matches(&k.attr, &o.attr, None) && attr::matches(&o.attr, &k.attr, None)
        });
        match same.and_then(|i| self.keys.get_mut(i)) {
            Some(slot) => *slot = Arc::new(k),
            None => self.keys.push(Arc::new(k)),
        }
        self.taggen
    }

    /// Remove every key matching `pat`; returns them.
    pub fn delete(&mut self, pat: &Attrs) -> Vec<Arc<Key>> {
        let (gone, keep) = std::mem::take(&mut self.keys)
            .into_iter()
            .partition(|k| k.matches(pat));
        self.keys = keep;
        gone
    }

    /// The largest tag in the ring (0 if empty).
    pub fn max_tag(&self) -> u64 {
        self.keys.iter().map(|k| k.tag).max().unwrap_or(0)
    }

    /// The key with this tag, if still in the ring.
    pub fn by_tag(&self, tag: u64) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.tag == tag)
    }

    /// Mutable access to the key with this tag (copied if a conversation
    /// holds it).
    pub fn by_tag_mut(&mut self, tag: u64) -> Option<&mut Key> {
        self.keys
            .iter_mut()
            .find(|k| k.tag == tag)
            .map(Arc::make_mut)
    }

    /// The first key matching `pat` (`keylookup`).
    pub fn lookup(&self, pat: &Attrs) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.matches(pat))
    }

    /// What reading ctl returns: `key <public> <secret names>\n` per key
    /// (plan9port fs.c `keylist`: note the space before the names even
    /// when there are none). As in plan9port, listing sorts each key's
    /// public attributes for good, which later messages show.
    pub fn listing(&mut self) -> String {
        let mut s = String::new();
        for k in self.keys.iter_mut() {
            if !k
                .attr
                .0
                .is_sorted_by(|a, b| a.name.as_bytes() <= b.name.as_bytes())
            {
                Arc::make_mut(k).attr.sort();
            }
            let mut line = format!("key {} {}\n", k.attr, k.privattr.names());
            if line.len() >= 4096 - 5 {
                let mut cut = 4096 - 5;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
                line.push_str("...\n");
            }
            s.push_str(&line);
        }
        s
    }
}
