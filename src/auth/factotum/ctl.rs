//! The ctl file (plan9port src/cmd/auth/factotum/ctl.c):
//!
//! - `key attrs`: add a key for each `proto=` given, replacing a key with
//!   the same public attributes; each protocol checks its keys;
//! - `delkey attrs`: delete every key matching (secrets only as `!name?`);
//!   with no attributes, every key, as plan9port's factotum does (the
//!   protocol stays compatible; `warden key del` sends that only with
//!   `--all`, see `client::key_del_line`);
//! - `debug`: toggle debugging.
//!
//! Leading white space is skipped, an empty line or a `#` comment does
//! nothing, and only one line is allowed per write (a final newline is
//! fine). The verb ends at the first space.

use super::{Error, World};
use crate::auth::attr::{self, Kind};
use crate::auth::proto;
use crate::auth::proto::key::Key;

/// A parsed ctl request.
#[derive(Debug, PartialEq, Eq)]
pub enum Ctl {
    /// A blank line or a comment.
    Nothing,
    Key(attr::Attrs),
    Delkey(attr::Attrs),
    Debug,
}

/// Parse one ctl write.
pub fn parse(line: &str) -> Result<Ctl, Error> {
    let a = line.trim_start_matches([' ', '\t', '\n']);
    if a.is_empty() || a.starts_with('#') {
        return Ok(Ctl::Nothing);
    }
    let a = match a.find('\n') {
        Some(i) if i + 1 != a.len() => return Err(Error::new("multiline write not allowed")),
        Some(i) => a.get(..i).unwrap_or(a),
        None => a,
    };
    let (verb, rest) = a.split_once(' ').unwrap_or((a, ""));
    match verb {
        "key" => Ok(Ctl::Key(checked(rest)?)),
        "delkey" => Ok(Ctl::Delkey(checked(rest)?)),
        "debug" => Ok(Ctl::Debug),
        v => Err(Error::new(format!("unknown verb {v}"))),
    }
}

/// The attributes of a ctl line, refused (without a word of the line:
/// it may hold a secret) when a quote does not end or a secret is given
/// twice.
fn checked(rest: &str) -> Result<attr::Attrs, Error> {
    attr::parse_checked(rest).map_err(|e| Error::new(e.to_string()))
}

/// Carry out a ctl request.
pub(crate) fn run(w: &mut World, c: Ctl) -> Result<(), Error> {
    match c {
        Ctl::Nothing => Ok(()),
        Ctl::Debug => {
            w.debug = !w.debug;
            w.flog(format!("debug = {}", u8::from(w.debug)));
            Ok(())
        }
        Ctl::Delkey(pat) => {
            // logged as plan9port does, but with secret values hidden
            w.flog(format!("delkey {pat}"));
            if pat.iter().any(|p| p.kind != Kind::Query && p.is_secret()) {
                return Err(Error::new(
                    "only !private? patterns are allowed for private fields",
                ));
            }
            let gone = w.ring.delete(&pat);
            for k in &gone {
                w.flog(format!("deleting {}", k.describe()));
            }
            if gone.is_empty() {
                return Err(Error::new("found no keys to delete"));
            }
            Ok(())
        }
        Ctl::Key(a) => {
            let (protos, rest): (Vec<attr::Attr>, Vec<attr::Attr>) =
                a.0.into_iter().partition(|x| x.name == "proto");
            let protos = attr::Attrs(protos);
            if protos.is_empty() {
                return Err(Error::new("key without protos"));
            }
            let (public, secret) = attr::Attrs(rest).split_secrets();
            w.flog(format!("addkey {} {} {}", protos, public, secret.names()));
            let mut ret = Ok(());
            for pa in protos.iter() {
                let Some(p) = proto::lookup(&pa.val) else {
                    let e = format!("unknown proto {}", pa.val);
                    w.flog(format!("addkey: {e}"));
                    ret = Err(Error::new(e));
                    continue;
                };
                if !p.keyprompt.is_empty()
                    && !attr::matches(&attr::parse(p.keyprompt), &public, Some(&secret))
                {
                    let e = format!("missing attributes -- want {}", p.keyprompt);
                    w.flog(format!("addkey {}: {e}", p.name));
                    ret = Err(Error::new(e));
                    continue;
                }
                let k = Key::new(p, public.clone(), secret.clone());
                if let Err(e) = (p.check)(&k) {
                    w.flog(format!("addkey {}: {e}", p.name));
                    ret = Err(Error::new(e));
                    continue;
                }
                w.flog(format!("adding key: {}", k.describe()));
                w.ring.add(k);
            }
            ret
        }
    }
}
