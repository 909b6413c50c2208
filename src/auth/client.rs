//! Client-side helpers for `warden key ...` and `warden rpc`, which talk to
//! a running factotum over its socket. These functions build and check
//! what is sent; the command line supplies the I/O.
//!
//! Secrets never come from argv alone (other users can read a process's
//! arguments): on the command line a secret is written as a query,
//! `!password?`, and its value is read from stdin or typed at a prompt
//! without echo.

use crate::auth::attr::{self, Attr, Attrs, Kind};
use std::fmt;
use std::io::{self, BufRead, Write};
use zeroize::Zeroizing;

/// Why a key command was refused.
#[derive(Debug)]
pub enum KeyCmdError {
    /// A secret value was given on the command line.
    SecretOnArgv(String),
    /// No `proto=`.
    NoProto,
    /// Input for a prompted value ended.
    NoInput(String),
    /// `key del` with nothing to match and no `--all`.
    NoPattern,
    /// `key del --all` with attributes too.
    AllWithPattern,
    /// An unterminated quote or a secret given twice.
    Syntax(attr::SyntaxError),
    Io(io::Error),
}

impl fmt::Display for KeyCmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyCmdError::SecretOnArgv(n) => write!(
                f,
                "{n}: secret values are not taken from the command line (others can see it); \
                 write {n}? and give the value on stdin or at the prompt"
            ),
            KeyCmdError::NoProto => f.write_str("key without protos"),
            KeyCmdError::Syntax(e) => write!(f, "{e}"),
            KeyCmdError::NoInput(n) => write!(f, "no value given for {n}"),
            KeyCmdError::NoPattern => f.write_str(
                "key del needs attributes to match (warden key del --all deletes every key)",
            ),
            KeyCmdError::AllWithPattern => {
                f.write_str("key del --all deletes every key and takes no attributes")
            }
            KeyCmdError::Io(e) => write!(f, "reading a value: {e}"),
        }
    }
}

impl std::error::Error for KeyCmdError {}

/// Where prompted values come from.
pub trait Values {
    /// The value for `name` (`!name` for a secret); `None` at end of input.
    fn value(&mut self, name: &str, secret: bool) -> io::Result<Option<Zeroizing<String>>>;
}

/// Values as lines of a reader (stdin when it is not a terminal), in the
/// order the queries appear.
pub struct Lines<R: BufRead>(pub R);

impl<R: BufRead> Values for Lines<R> {
    fn value(&mut self, _: &str, _: bool) -> io::Result<Option<Zeroizing<String>>> {
        let mut s = Zeroizing::new(String::new());
        if self.0.read_line(&mut s)? == 0 {
            return Ok(None);
        }
        while s.ends_with(['\n', '\r']) {
            s.pop();
        }
        Ok(Some(s))
    }
}

/// Values typed at the terminal: secrets without echo (like plan9port's
/// `factotum -g` prompts).
pub struct Prompt;

impl Values for Prompt {
    fn value(&mut self, name: &str, secret: bool) -> io::Result<Option<Zeroizing<String>>> {
        let label = name.trim_start_matches('!');
        if secret {
            return crate::sys::tty::read_no_echo(&format!("{label}[hidden]: "));
        }
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")?;
        write!(tty, "{label}: ")?;
        tty.flush()?;
        Lines(io::BufReader::new(tty)).value(name, false)
    }
}

/// Build the ctl line for `warden key add ATTRS...`: `key attrs` with every
/// query (`user?`, `!password?`) filled in from `values`, non-secret
/// queries first, as plan9port's `promptforkey` does. The result holds
/// secrets: it is zeroized on drop and must never be logged.
pub fn key_add_line(
    args: &[String],
    values: &mut dyn Values,
) -> Result<Zeroizing<String>, KeyCmdError> {
    let joined = Zeroizing::new(args.join(" "));
    let mut a = attr::parse_checked(&joined).map_err(KeyCmdError::Syntax)?;
    if let Some(x) = a.iter().find(|x| x.kind == Kind::Val && x.is_secret()) {
        return Err(KeyCmdError::SecretOnArgv(x.name.clone()));
    }
    if a.get("proto").is_none() {
        return Err(KeyCmdError::NoProto);
    }
    for secret in [false, true] {
        for x in a.0.iter_mut() {
            if x.kind != Kind::Query || x.is_secret() != secret {
                continue;
            }
            let v = values
                .value(&x.name, secret)
                .map_err(KeyCmdError::Io)?
                .ok_or_else(|| KeyCmdError::NoInput(x.name.clone()))?;
            *x = Attr::val(&x.name, &v);
        }
    }
    let mut line = Zeroizing::new(String::from("key "));
    line.push_str(&a.to_wire());
    Ok(line)
}

/// The ctl line for `warden key del ATTRS...` (secrets only as `!name?`)
/// or `warden key del --all`.
///
/// The ctl file's `delkey` with no attributes matches every key, as
/// plan9port's factotum's does (ctl.c), and stays so for its clients. The
/// command does not send it by accident: an empty pattern (no arguments,
/// or only blank ones) is refused, and deleting everything takes `--all`
/// (`all`), which takes no attributes. An `--all` after the attributes
/// (the greedy attributes take it) is that mistake too.
pub fn key_del_line(args: &[String], all: bool) -> Result<String, KeyCmdError> {
    let all_too = args.iter().any(|a| a == "--all");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--all")
        .collect();
    let a = attr::parse_checked(&args.join(" ")).map_err(KeyCmdError::Syntax)?;
    if let Some(x) = a.iter().find(|x| x.kind == Kind::Val && x.is_secret()) {
        return Err(KeyCmdError::SecretOnArgv(x.name.clone()));
    }
    match (a.is_empty(), all || all_too) {
        (true, true) => Ok("delkey".to_string()),
        (true, false) => Err(KeyCmdError::NoPattern),
        (false, true) => Err(KeyCmdError::AllWithPattern),
        (false, false) => Ok(format!("delkey {}", a.to_wire().as_str())),
    }
}

/// The answer line for a `confirm tag=N ...` request.
pub fn confirm_answer(request: &str, yes: bool) -> Option<String> {
    let a: Attrs = attr::parse(request.strip_prefix("confirm ")?);
    let tag = a.get("tag")?;
    Some(format!(
        "tag={} answer={}",
        attr::quote(tag),
        if yes { "yes" } else { "no" }
    ))
}

/// An open rpc file: one conversation.
pub trait RpcFile {
    fn write(&mut self, req: &[u8]) -> Result<(), String>;
    fn read(&mut self) -> Result<Vec<u8>, String>;
}

/// `9p rdwr factotum/rpc`: for each input line, write it (without the
/// newline) and print what a read returns followed by a newline; errors go
/// to `err` as `write: ...`/`read: ...` and the session goes on. Unlike
/// 9p rdwr it does not read before the first write (that read can only
/// fail with `no rpc pending`).
pub fn rdwr(
    file: &mut dyn RpcFile,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let mut line = Zeroizing::new(Vec::new());
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if let Err(e) = file.write(&line) {
            writeln!(err, "write: {e}")?;
        }
        match file.read() {
            Ok(r) => {
                out.write_all(&r)?;
                out.write_all(b"\n")?;
            }
            Err(e) => writeln!(err, "read: {e}")?,
        }
        out.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::factotum::{ConvId, Factotum, RpcRead};

    struct Fixed(Vec<&'static str>);
    impl Values for Fixed {
        fn value(&mut self, _: &str, _: bool) -> io::Result<Option<Zeroizing<String>>> {
            Ok(if self.0.is_empty() {
                None
            } else {
                Some(Zeroizing::new(self.0.remove(0).to_string()))
            })
        }
    }

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn key_add() {
        let l = key_add_line(
            &args("proto=pass user? !password? server=x"),
            &mut Fixed(vec!["glenda", "open sesame"]),
        )
        .unwrap();
        assert_eq!(
            l.as_str(),
            "key proto=pass user=glenda !password='open sesame' server=x"
        );
        let l = key_add_line(&args("proto=pass !password?"), &mut Lines(&b"pw\n"[..])).unwrap();
        assert_eq!(l.as_str(), "key proto=pass !password=pw");
        let e =
            key_add_line(&args("proto=pass user=u !password=pw"), &mut Fixed(vec![])).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("!password: secret values are not taken"));
        assert!(!e.to_string().contains("pw "));
        let e = key_add_line(&args("proto=pass !password?"), &mut Fixed(vec![])).unwrap_err();
        assert_eq!(e.to_string(), "no value given for !password");
        let e = key_add_line(&args("user=u"), &mut Fixed(vec![])).unwrap_err();
        assert_eq!(e.to_string(), "key without protos");
        // argv's quoting mistake does not hide a secret on the command line
        let e = key_add_line(
            &args("proto=pass server='unterminated !password=pw"),
            &mut Fixed(vec![]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "syntax error: unterminated quote");
    }

    #[test]
    fn key_del_and_confirm() {
        assert_eq!(
            key_del_line(&args("proto=pass user=u"), false).unwrap(),
            "delkey proto=pass user=u"
        );
        assert!(key_del_line(&args("!password=x"), false).is_err());
        // Everything only with --all, which takes no attributes.
        assert_eq!(key_del_line(&[], true).unwrap(), "delkey");
        for blank in [vec![], vec![String::new()], args("  ")] {
            let e = key_del_line(&blank, false).unwrap_err();
            assert!(e.to_string().contains("--all deletes every key"), "{e}");
        }
        for with in [args("server=mail"), args("server=mail --all")] {
            let e = key_del_line(&with, with.len() == 1).unwrap_err();
            assert!(e.to_string().contains("takes no attributes"), "{e}");
        }
        assert_eq!(
            confirm_answer("confirm tag=7 proto=pass user=u !password?", true).as_deref(),
            Some("tag=7 answer=yes")
        );
        assert_eq!(confirm_answer("needkey tag=7", true), None);
    }

    struct Local<'a>(&'a mut Factotum, ConvId);
    impl RpcFile for Local<'_> {
        fn write(&mut self, req: &[u8]) -> Result<(), String> {
            self.0.rpc_write(self.1, req).map_err(|e| e.to_string())
        }
        fn read(&mut self) -> Result<Vec<u8>, String> {
            match self.0.rpc_read(self.1).map_err(|e| e.to_string())? {
                RpcRead::Reply(r) => Ok(r.to_vec()),
                RpcRead::Pending => Err("pending".into()),
            }
        }
    }

    #[test]
    fn rdwr_session() {
        struct E;
        impl crate::auth::proto::Env for E {
            fn now(&self) -> u64 {
                0
            }
            fn random(&mut self, b: &mut [u8]) {
                b.fill(7);
            }
        }
        let mut f = Factotum::new("glenda", Box::new(E));
        f.ctl_write(b"key proto=pass user=glenda !password=pw")
            .unwrap();
        let id = f.rpc_open("glenda");
        let mut input = &b"start proto=pass role=client\nread\nfrob\nread\n"[..];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        rdwr(&mut Local(&mut f, id), &mut input, &mut out, &mut err).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "ok\nok glenda pw\ndone\n");
        assert_eq!(
            String::from_utf8_lossy(&err),
            "write: bad rpc verb: frob\nread: no rpc pending\n"
        );
    }
}
