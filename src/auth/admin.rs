//! The admin's requests on an unlocked keyfs: the same code whether the
//! CLI opened the key file itself (with the master passphrase) or the
//! daemon holds keyfs unlocked and answers on its keyfs tree's `ctl` (write
//! a request, read the answer on the same open file; the socket is the
//! admin's alone). So `warden cert ...` and `warden user otp|show|
//! export-oath` need no passphrase while the daemon runs unlocked, and
//! print the same either way.
//!
//! A request is one line, its words quoted as Plan 9's `tokenize` reads
//! them ([`attr::quote`]):
//!
//! ```text
//! cert ca-pubkey                     the CA public keys still trusted
//! cert rotate                        a new CA key, then the keys
//! cert list [json]                   the issue log
//! cert revoke SERIAL                 revoke one certificate
//! cert revoke-key KEYLINE            revoke a key and its certificates
//! cert krl                           the KRL (binary); note: its summary
//! cert sign user|host AFTER BEFORE PRINCIPALS KEYID KEYLINE
//!                                    a certificate blob (PRINCIPALS
//!                                    comma-separated; times in epoch s)
//! user show NAME [json]              an account (no secrets)
//! user otp NAME totp|hotp DIGITS STEP HASH HEXSEED|-
//!                                    enrol a token ('-': a random seed);
//!                                    the answer is its otpauth:// URI
//! user otp-remove NAME               remove the token
//! user export-oath                   users.oath text; notes: skipped ones
//! ```
//!
//! The answer ([`Answer::encode`]): a line with the number of notes, the
//! notes one a line (for standard error), then the output's bytes.

use crate::auth::attr;
use crate::auth::keyfs::{Account, Expiry, Fs, KeyfsError, Store};
use crate::auth::oath::{self, Hash, Kind, Token, UsersLine};
use crate::auth::signer::ca;
use crate::auth::ssh::cert::CertType;
use crate::auth::ssh::key::PublicKey;
use crate::json::{Obj, Value};
use crate::when;
use zeroize::Zeroizing;

/// The attribute remembering a users.oath PASS column of `+`.
pub const OATH_PASS_ATTR: &str = "oath-pass";

/// What a request gives back: notes for standard error, and the output.
#[derive(Default)]
pub struct Answer {
    pub notes: Vec<String>,
    pub out: Zeroizing<Vec<u8>>,
}

impl Answer {
    fn text(s: impl Into<String>) -> Answer {
        Answer {
            notes: Vec::new(),
            out: Zeroizing::new(s.into().into_bytes()),
        }
    }

    /// The answer as the tree serves it.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut b = Zeroizing::new(Vec::with_capacity(self.out.len() + 64));
        b.extend_from_slice(format!("{}\n", self.notes.len()).as_bytes());
        for n in &self.notes {
            b.extend_from_slice(n.replace('\n', " ").as_bytes());
            b.push(b'\n');
        }
        b.extend_from_slice(&self.out);
        b
    }

    /// Read an answer back.
    pub fn decode(b: &[u8]) -> Result<Answer, String> {
        let mut rest = b;
        let mut line = || -> Result<String, String> {
            let i = rest
                .iter()
                .position(|&c| c == b'\n')
                .ok_or("answer cut short")?;
            let l = String::from_utf8_lossy(rest.get(..i).unwrap_or_default()).into_owned();
            rest = rest.get(i + 1..).unwrap_or_default();
            Ok(l)
        };
        let n: usize = line()?
            .parse()
            .map_err(|_| "answer: bad note count".to_string())?;
        let mut notes = Vec::new();
        for _ in 0..n {
            notes.push(line()?);
        }
        Ok(Answer {
            notes,
            out: Zeroizing::new(rest.to_vec()),
        })
    }
}

/// A request line from its words, each quoted as needed.
pub fn request(words: &[&str]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::new());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        attr::quote_into(&mut s, w);
    }
    s
}

fn bad(m: impl Into<String>) -> KeyfsError {
    KeyfsError::Invalid(m.into())
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, KeyfsError> {
    s.parse()
        .map_err(|_| bad(format!("bad {what} '{}'", s.escape_default())))
}

/// Carry out one request on the open store.
pub fn answer<F: Fs>(store: &mut Store<F>, req: &str, now: u64) -> Result<Answer, KeyfsError> {
    let toks = attr::tokenize(req);
    let w: Vec<&str> = toks.iter().map(|t| t.as_str()).collect();
    match w.as_slice() {
        ["cert", "ca-pubkey"] => {
            ca::ensure_ca(store, now)?;
            Ok(Answer::text(ca_lines(store, now)))
        }
        ["cert", "rotate"] => {
            let pk = ca::rotate(store, now)?;
            Ok(Answer::text(format!(
                "new CA key {}\n{}",
                pk.fingerprint(),
                ca_lines(store, now)
            )))
        }
        ["cert", "list"] => Ok(Answer::text(cert_list(store, now, false))),
        ["cert", "list", "json"] => Ok(Answer::text(cert_list(store, now, true))),
        ["cert", "revoke", serial] => {
            let serial = num(serial, "serial")?;
            ca::revoke_serial(store, serial)?;
            Ok(Answer::text(format!("revoked serial {serial}\n")))
        }
        ["cert", "revoke-key", line] => {
            let (pk, _) = PublicKey::parse_line(line).map_err(|e| bad(e.to_string()))?;
            let n = ca::revoke_key(store, &pk)?;
            Ok(Answer::text(format!(
                "revoked key {} ({n} certificate(s))\n",
                pk.fingerprint()
            )))
        }
        ["cert", "krl"] => {
            let k = ca::krl(&store.db().signer, now);
            Ok(Answer {
                notes: vec![format!(
                    "KRL version {}, {} serial(s), {} key(s)",
                    k.version,
                    k.serials.iter().map(|(_, v)| v.len()).sum::<usize>(),
                    k.keys.len()
                )],
                out: Zeroizing::new(k.encode()),
            })
        }
        ["cert", "sign", kind, after, before, principals, key_id, line] => {
            let kind = match *kind {
                "user" => CertType::User,
                "host" => CertType::Host,
                k => {
                    return Err(bad(format!(
                        "bad certificate type '{}'",
                        k.escape_default()
                    )))
                }
            };
            let (key, _) = PublicKey::parse_line(line).map_err(|e| bad(e.to_string()))?;
            let req = ca::Request {
                kind,
                key,
                key_id: key_id.to_string(),
                principals: principals.split(',').map(String::from).collect(),
                valid_after: num(after, "start")?,
                valid_before: num(before, "end")?,
                by: "admin".into(),
                from: None,
                critical: Vec::new(),
                extensions: match kind {
                    CertType::User => crate::auth::ssh::cert::USER_EXTENSIONS
                        .iter()
                        .map(|e| e.to_string())
                        .collect(),
                    CertType::Host => Vec::new(),
                },
            };
            let (_, blob) = ca::issue(store, &req, now)?;
            Ok(Answer {
                notes: Vec::new(),
                out: Zeroizing::new(blob),
            })
        }
        ["cert", "enrol-token", host, principals, validity, expires] => {
            let more: Vec<String> = match *principals {
                "-" => Vec::new(),
                p => p.split(',').map(String::from).collect(),
            };
            let expires = num(expires, "token lifetime")?;
            ca::ensure_ca(store, now)?;
            let tok =
                ca::enrol_token(store, host, &more, num(validity, "validity")?, expires, now)?;
            Ok(Answer {
                notes: vec![format!(
                    "one-time token for host {host}, usable until {}",
                    crate::when::iso(now.saturating_add(expires))
                )],
                out: Zeroizing::new(format!("{}\n", crate::wire::hex(&tok[..])).into_bytes()),
            })
        }
        ["user", "show", name] => Ok(Answer::text(show(store, name, now, false)?)),
        ["user", "show", name, "json"] => Ok(Answer::text(show(store, name, now, true)?)),
        ["user", "otp", name, kind, digits, step, hash, seed] => {
            store.user(name)?;
            let key = match *seed {
                "-" => {
                    let mut k = Zeroizing::new(vec![0u8; 20]);
                    crate::auth::keyfs::sealed::random(&mut k)?;
                    k
                }
                hex => Zeroizing::new(
                    oath::hex_decode(hex)
                        .filter(|k| !k.is_empty())
                        .ok_or_else(|| bad("bad seed: expected hex"))?,
                ),
            };
            let t = Token {
                kind: match *kind {
                    "totp" => Kind::Totp {
                        step: num(step, "step")?,
                    },
                    "hotp" => Kind::Hotp,
                    k => return Err(bad(format!("bad token kind '{}'", k.escape_default()))),
                },
                digits: num(digits, "digits")?,
                hash: Hash::parse(hash).ok_or_else(|| bad("bad hash"))?,
                key,
                counter: 0,
                last_otp: None,
                last_time: None,
            };
            let uri = Zeroizing::new(t.uri("warden", name));
            store.set_otp(name, Some(t), now)?;
            Ok(Answer {
                notes: Vec::new(),
                out: Zeroizing::new(uri.as_bytes().to_vec()),
            })
        }
        ["user", "otp-remove", name] => {
            store.user(name)?;
            store.set_otp(name, None, now)?;
            Ok(Answer::text(format!("{name}: OATH token removed\n")))
        }
        ["user", "export-oath"] => {
            let (text, notes) = export_text(store);
            Ok(Answer {
                notes,
                out: Zeroizing::new(text.as_bytes().to_vec()),
            })
        }
        _ => Err(bad(format!(
            "unknown request '{}' (see auth/admin.rs)",
            w.first().copied().unwrap_or("").escape_default()
        ))),
    }
}

/// `cert ca-pubkey`'s lines.
/// The CA lines as the signer serves them (each with its own comment).
fn ca_lines<F: Fs>(store: &Store<F>, now: u64) -> String {
    ca::ca_lines(&store.db().signer, now)
}

/// Text columns, each as wide as its widest cell (the last one unpadded).
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = width.get(i).copied().unwrap_or(0) - c.chars().count();
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `cert list`: aligned columns, or a JSON array of objects.
fn cert_list<F: Fs>(store: &Store<F>, now: u64, json: bool) -> String {
    let mut rows = vec![[
        "SERIAL",
        "TYPE",
        "STATUS",
        "VALID-FROM",
        "VALID-TO",
        "PRINCIPALS",
        "KEY",
        "BY",
    ]
    .map(String::from)
    .to_vec()];
    let mut objs = Vec::new();
    for i in &store.db().signer.issued {
        let status = if i.revoked {
            "revoked"
        } else if i.valid_before <= now {
            "expired"
        } else {
            "valid"
        };
        let fp = PublicKey::from_blob(&i.key)
            .map(|k| k.fingerprint())
            .unwrap_or_else(|_| "?".into());
        let kind = if i.kind == 2 { "host" } else { "user" };
        if json {
            objs.push(Value::from(
                Obj::new()
                    .field(
                        "serial",
                        Value::Int(i64::try_from(i.serial).unwrap_or(i64::MAX)),
                    )
                    .field("type", kind)
                    .field("status", status)
                    .field("valid_from", when::iso(i.valid_after))
                    .field("valid_to", when::iso(i.valid_before))
                    .field("principals", i.principals.clone())
                    .field("key", fp)
                    .field("by", i.by.as_str())
                    .field("issued", when::iso(i.at)),
            ));
        } else {
            rows.push(vec![
                i.serial.to_string(),
                kind.into(),
                status.into(),
                when::iso(i.valid_after),
                when::iso(i.valid_before),
                i.principals.join(","),
                fp,
                i.by.clone(),
            ]);
        }
    }
    if json {
        format!("{}\n", Value::Arr(objs))
    } else {
        columns(&rows)
    }
}

fn expiry_word(e: Expiry) -> String {
    match e {
        Expiry::Never => "never".into(),
        Expiry::At(t) => when::iso(t),
    }
}

/// `user show`: one account, never its secrets; what the store knows of
/// it (the failure count is the memory of whoever holds the store: the
/// daemon when it answers).
fn show<F: Fs>(store: &Store<F>, name: &str, now: u64, json: bool) -> Result<String, KeyfsError> {
    let a: &Account = store.user(name)?;
    let password = match &a.secrets {
        Some(s) if s.signer.is_some() => "set",
        // Set before the signer existed: 'warden cert request' needs the
        // password set again.
        Some(_) => "set (no signer verifier: set it again for 'cert request')",
        None => "not set",
    };
    let f = store.failures(&a.name);
    let locked = f.locked(now);
    if json {
        let otp = match &a.otp {
            None => Value::Null,
            Some(t) => Obj::new()
                .field(
                    "kind",
                    match t.kind {
                        Kind::Hotp => "hotp",
                        Kind::Totp { .. } => "totp",
                    },
                )
                .field("digits", u32::from(t.digits))
                .field("hash", t.hash.name())
                .field(
                    "step",
                    match t.kind {
                        Kind::Totp { step } => Value::Int(i64::try_from(step).unwrap_or(i64::MAX)),
                        Kind::Hotp => Value::Null,
                    },
                )
                .field(
                    "counter",
                    match t.kind {
                        Kind::Hotp => Value::Int(i64::try_from(t.counter).unwrap_or(i64::MAX)),
                        Kind::Totp { .. } => Value::Null,
                    },
                )
                .field("last_used", t.last_time.map(when::iso))
                .into(),
        };
        let attrs: Vec<Value> = a
            .attrs
            .iter()
            .map(|(k, v)| {
                Obj::new()
                    .field("name", k.as_str())
                    .field("value", v.as_str())
                    .into()
            })
            .collect();
        let v = Obj::new()
            .field("name", a.name.as_str())
            .field("status", a.status.as_str())
            .field("disabled_because", a.disabled_note.clone())
            .field("expire", expiry_word(a.expire))
            .field("expired", a.expire.expired(now))
            .field("password", a.secrets.is_some())
            .field(
                "signer_verifier",
                a.secrets.as_ref().is_some_and(|s| s.signer.is_some()),
            )
            .field("otp", otp)
            .field("principals", ca::principals(a))
            .field("attrs", attrs)
            .field("changed", when::iso(a.changed))
            .field("failures", f.consecutive)
            .field(
                "locked_for",
                locked.map(|s| Value::Int(i64::try_from(s).unwrap_or(i64::MAX))),
            );
        return Ok(format!("{}\n", Value::from(v)));
    }
    let mut o = String::new();
    let mut put = |k: &str, v: String| o.push_str(&format!("{k}: {v}\n"));
    put("name", a.name.clone());
    put("status", a.status.as_str().into());
    if let Some(n) = &a.disabled_note {
        put("disabled because", n.clone());
    }
    put(
        "expire",
        format!(
            "{}{}",
            expiry_word(a.expire),
            if a.expire.expired(now) {
                " (expired)"
            } else {
                ""
            }
        ),
    );
    put("password", password.into());
    put("ssh principals", ca::principals(a).join(","));
    match &a.otp {
        None => put("otp", "none".into()),
        Some(t) => {
            let kind = match t.kind {
                Kind::Hotp => format!("HOTP, counter {}", t.counter),
                Kind::Totp { step } => format!("TOTP, {step} s step"),
            };
            let last = t.last_time.map_or("never used".to_string(), |x| {
                format!("last used {}", when::iso(x))
            });
            put(
                "otp",
                format!("{kind}, {} digits, {}, {last}", t.digits, t.hash.name()),
            );
        }
    }
    for (k, v) in &a.attrs {
        put("attr", format!("{k}={v}"));
    }
    put("changed", when::iso(a.changed));
    put("failures", format!("{} consecutive", f.consecutive));
    if let Some(secs) = locked {
        put("locked", format!("{secs} s more"));
    }
    Ok(o)
}

/// Tokens as users.oath text; SHA256/SHA512 tokens cannot be written
/// (pam_oath knows only SHA1) and are reported.
fn export_text<F: Fs>(store: &Store<F>) -> (Zeroizing<String>, Vec<String>) {
    let mut out = Zeroizing::new(String::new());
    let mut skipped = Vec::new();
    let zone = crate::sys::localtime::Zone::system();
    for a in store.users() {
        let Some(t) = &a.otp else { continue };
        if t.hash != Hash::Sha1 {
            skipped.push(format!(
                "{}: {} token not representable in users.oath, skipped",
                a.name,
                t.hash.name()
            ));
            continue;
        }
        if t.key.len() > oath::MAX_KEY {
            skipped.push(format!(
                "{}: {}-byte seed longer than pam_oath's {} bytes, skipped",
                a.name,
                t.key.len(),
                oath::MAX_KEY
            ));
            continue;
        }
        // `+` (password checked by another module) survives a round trip.
        let pass = a
            .attrs
            .iter()
            .find(|(k, _)| k == OATH_PASS_ATTR)
            .map_or("-", |(_, v)| v.as_str());
        let line = oath::format_users_line(
            &UsersLine {
                user: a.name.clone(),
                pass: pass.into(),
                token: t.clone(),
            },
            &zone,
        );
        out.push_str(&line);
        out.push('\n');
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        let a = Answer {
            notes: vec!["one".into(), "two\nlines".into()],
            out: Zeroizing::new(b"\x00bytes\n\xff".to_vec()),
        };
        let b = Answer::decode(&a.encode()).unwrap();
        assert_eq!(b.notes, ["one", "two lines"]);
        assert_eq!(&b.out[..], &a.out[..]);
        assert!(Answer::decode(b"2\nonly one\n").is_err());
        assert!(Answer::decode(b"x\n").is_err());
    }

    #[test]
    fn requests_quote_their_words() {
        let r = request(&["cert", "revoke-key", "ssh-ed25519 AAAA c'mt"]);
        let w = attr::tokenize(&r);
        assert_eq!(w.len(), 3);
        assert_eq!(w[2].as_str(), "ssh-ed25519 AAAA c'mt");
    }

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["A".to_string(), "BB".into(), "C".into()],
            vec!["long".to_string(), "x".into(), "y".into()],
        ];
        assert_eq!(columns(&rows), "A     BB  C\nlong  x   y\n");
    }
}
