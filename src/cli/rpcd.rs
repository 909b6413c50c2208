//! `warden rpcd list` and `warden rpcd call METHOD`: rpcd's exec-plugin
//! protocol, for `ubus call warden ...` and LuCI. The plugin rpcd runs is
//! `/usr/libexec/rpcd/warden`, two lines of sh that exec this command.
//!
//! `list` prints every method with a sample of each argument (rpcd takes
//! the argument types from the samples); `call` reads the arguments as one
//! JSON object on stdin (rpcd adds `ubus_rpc_session`; ignored) and prints
//! one JSON object, the reply. Errors are replies too, `{"error": "..."}`;
//! the exit status is 0 for any method `list` names (rpcd ignores it).
//!
//! Read methods (status, dns, keyfs, users, services) answer from the
//! status sockets, the configuration and the keyfs daemon; the admin
//! methods run this same binary's commands (`warden user add NAME`,
//! `warden unlock`, ...) with their arguments as separate words, never
//! through a shell, and return what they printed. The passphrase of
//! `unlock` goes to `warden unlock` on its stdin: never on a command line,
//! never in a reply or a log. `service_set` changes `enabled` of the
//! signer or the ticket service with uci(1) and reloads the daemon.
//! /usr/share/rpcd/acl.d/warden.json grants the read methods to the
//! `warden` ACL and the admin ones to `warden-admin`.

use super::args::{pos, pos_opt, Cmd, Parsed};
use super::status::{collect, locate, ANSWER_TIMEOUT};
use super::{Fail, Globals};
#[cfg(feature = "auth")]
use crate::auth::keyfs::Mode;
use crate::json::{Obj, Value};
use crate::sys::spawn;
use crate::uplink::usb::json::{parse, Json};
use std::ffi::OsStr;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// rpcd exec plugin: 'list' the methods, or 'call METHOD' (JSON on stdin)
#[derive(Debug)]
pub struct RpcdCmd {
    /// list or call
    verb: String,
    /// the method, for call
    method: Option<String>,
}

/// Every method and its arguments' samples, as `list` prints them: the
/// read ones, then from `unlock` on the admin ones (the ACL's split).
const METHODS: &[(&str, &str)] = &[
    ("status", "{}"),
    ("dns", "{}"),
    ("keyfs", "{}"),
    ("users", "{}"),
    ("services", "{}"),
    ("unlock", r#"{"passphrase":"str"}"#),
    ("lock", "{}"),
    ("user_add", r#"{"name":"str","expire":"str"}"#),
    ("user_disable", r#"{"name":"str"}"#),
    ("user_enable", r#"{"name":"str"}"#),
    ("user_expire", r#"{"name":"str","when":"str"}"#),
    ("service_set", r#"{"service":"str","enabled":true}"#),
];

/// The most stdin a call may bring (a passphrase and a name fit easily).
const MAX_ARGS: u64 = 64 * 1024;

impl RpcdCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        match (self.verb.as_str(), self.method.as_deref()) {
            ("list", None) => {
                let body: Vec<String> = METHODS
                    .iter()
                    .map(|(m, a)| format!("\"{m}\":{a}"))
                    .collect();
                println!("{{{}}}", body.join(","));
                Ok(())
            }
            ("call", Some(m)) if METHODS.iter().any(|(n, _)| *n == m) => {
                let mut raw = Zeroizing::new(Vec::new());
                std::io::stdin()
                    .take(MAX_ARGS)
                    .read_to_end(&mut raw)
                    .map_err(|e| Fail::msg(format!("reading the arguments: {e}")))?;
                let reply = match args(&raw) {
                    Ok(a) => call(g, m, &a).unwrap_or_else(|e| error(&e)),
                    Err(e) => error(&e),
                };
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{reply}");
                Ok(())
            }
            ("call", Some(m)) => Err(Fail::Usage(format!("rpcd: no method '{m}'"))),
            _ => Err(Fail::Usage(
                "usage: warden rpcd list | warden rpcd call METHOD".into(),
            )),
        }
    }
}

/// The call's arguments: one JSON object (nothing at all counts as `{}`).
fn args(raw: &[u8]) -> Result<Args, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "the arguments are not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Ok(Args(Json::Obj(Vec::new())));
    }
    match parse(text) {
        Ok(v @ Json::Obj(_)) => Ok(Args(v)),
        Ok(_) => Err("the arguments are not a JSON object".into()),
        Err(e) => Err(format!("the arguments: line {}: {}", e.line, e.msg)),
    }
}

/// A call's arguments, wiped when dropped (they may hold a passphrase).
struct Args(Json);

impl Drop for Args {
    fn drop(&mut self) {
        fn wipe(v: &mut Json) {
            match v {
                Json::Str(s) => zeroize::Zeroize::zeroize(s),
                Json::Arr(a) => a.iter_mut().for_each(wipe),
                Json::Obj(m) => m.iter_mut().for_each(|(_, v)| wipe(v)),
                _ => {}
            }
        }
        wipe(&mut self.0);
    }
}

impl Args {
    fn str(&self, key: &str) -> Result<&str, String> {
        match self.0.get(key) {
            Some(Json::Str(s)) => Ok(s),
            Some(_) => Err(format!("argument '{key}' must be a string")),
            None => Err(format!("argument '{key}' is missing")),
        }
    }

    #[cfg(feature = "auth")]
    fn opt_str(&self, key: &str) -> Result<Option<&str>, String> {
        match self.0.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) if s.is_empty() => Ok(None),
            _ => self.str(key).map(Some),
        }
    }

    #[cfg(feature = "auth")]
    /// A user name: one word that cannot pass for an option.
    fn name(&self) -> Result<&str, String> {
        let n = self.str("name")?;
        if n.is_empty() || n.starts_with('-') || n.chars().any(|c| c.is_control()) {
            return Err(format!("'{}' is not a user name", n.escape_default()));
        }
        Ok(n)
    }

    fn bool(&self, key: &str) -> Result<bool, String> {
        match self.0.get(key) {
            Some(Json::Bool(b)) => Ok(*b),
            // ubus and shell callers may send 0/1 or "0"/"1".
            Some(Json::Int(0)) => Ok(false),
            Some(Json::Int(1)) => Ok(true),
            Some(Json::Str(s)) if s == "0" || s == "1" => Ok(s == "1"),
            Some(_) => Err(format!("argument '{key}' must be true or false")),
            None => Err(format!("argument '{key}' is missing")),
        }
    }
}

fn error(e: &str) -> String {
    let v: Value = Obj::new().field("error", e).into();
    v.to_string()
}

/// A parsed answer back as a value to print.
fn value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Int(n) => Value::Int(*n),
        Json::Str(s) => Value::Str(s.clone()),
        Json::Arr(a) => Value::Arr(a.iter().map(value).collect()),
        Json::Obj(m) => Value::Obj(m.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

fn fail_text(f: &Fail) -> String {
    match f {
        Fail::Usage(m) => m.clone(),
        Fail::Config(e) => e.to_string(),
        Fail::Exit(c) => format!("exit status {c}"),
        Fail::Runtime(e) => {
            let mut line = e.to_string();
            let mut src = e.source();
            while let Some(s) = src {
                line.push_str(&format!(": {s}"));
                src = s.source();
            }
            line
        }
    }
}

/// Carry out one method; `Err` is the reply's error text.
fn call(g: &Globals, method: &str, a: &Args) -> Result<String, String> {
    #[cfg(not(feature = "auth"))]
    if KEY_METHODS.contains(&method) {
        return Err("this warden is built without the key service (warden-uplink)".into());
    }
    match method {
        "status" => status(g),
        "dns" => dns(g),
        #[cfg(feature = "auth")]
        "keyfs" => keyfs_state(g).map(|k| k.json()),
        #[cfg(feature = "auth")]
        "users" => {
            let k = keyfs_state(g)?;
            k.usable()?;
            let out = run_self(g, &["user", "list", "--json"], None)?;
            let users = parse(&out).map_err(|e| format!("user list: {}", e.msg))?;
            let v: Value = Obj::new().field("users", value(&users)).into();
            Ok(v.to_string())
        }
        "services" => services(g),
        #[cfg(feature = "auth")]
        "unlock" => {
            let k = keyfs_state(g)?;
            if k.state == "unlocked" {
                return Ok(done("keyfs is already unlocked"));
            }
            let pass = match k.mode {
                Mode::Unattended { .. } => None,
                Mode::Attended => {
                    let p = a.str("passphrase")?;
                    if p.is_empty() {
                        return Err("the passphrase is empty".into());
                    }
                    if p.contains(['\n', '\r']) {
                        return Err("the passphrase holds a line break".into());
                    }
                    let mut line = Zeroizing::new(p.as_bytes().to_vec());
                    line.push(b'\n');
                    Some(line)
                }
            };
            run_self(g, &["unlock"], pass.as_deref().map(|p| &p[..])).map(|m| done(&m))
        }
        #[cfg(feature = "auth")]
        "lock" => run_self(g, &["lock"], None).map(|m| done(&m)),
        #[cfg(feature = "auth")]
        "user_add" | "user_disable" | "user_enable" | "user_expire" => {
            keyfs_state(g)?.usable()?;
            let name = a.name()?;
            let out = match method {
                "user_add" => match a.opt_str("expire")? {
                    Some(e) => run_self(g, &["user", "add", name, "--expire", e], None),
                    None => run_self(g, &["user", "add", name], None),
                },
                "user_disable" => run_self(g, &["user", "disable", name], None),
                "user_enable" => run_self(g, &["user", "enable", name], None),
                _ => {
                    let when = a.str("when")?;
                    if when.starts_with('-') {
                        return Err(format!("'{}' is not an expiry", when.escape_default()));
                    }
                    run_self(g, &["user", "expire", name, when], None)
                }
            }?;
            Ok(done(&out))
        }
        "service_set" => {
            let section = match a.str("service")? {
                s @ ("signer" | "authsrv") => s,
                s => {
                    return Err(format!(
                        "no service '{}' (signer or authsrv)",
                        s.escape_default()
                    ))
                }
            };
            let on = a.bool("enabled")?;
            let set = format!("warden.{section}.enabled={}", u8::from(on));
            run("uci".as_ref(), &["set".as_ref(), set.as_ref()], None)?;
            run(
                "uci".as_ref(),
                &["commit".as_ref(), "warden".as_ref()],
                None,
            )?;
            // procd's reload trigger fires on reload_config; do it here.
            let init = std::path::Path::new("/etc/init.d/warden");
            let reloaded =
                init.exists() && run(init.as_os_str(), &["reload".as_ref()], None).is_ok();
            let v: Value = Obj::new()
                .field("ok", true)
                .field("service", section)
                .field("enabled", on)
                .field("reloaded", reloaded)
                .into();
            Ok(v.to_string())
        }
        _ => Err(format!("no method '{method}'")),
    }
}

#[cfg(feature = "auth")]
fn done(message: &str) -> String {
    let v: Value = Obj::new()
        .field("ok", true)
        .field("message", message.trim())
        .into();
    v.to_string()
}

/// `warden status --json`'s object, every uplink.
fn status(g: &Globals) -> Result<String, String> {
    let (run_dir, own) = locate(g, None).map_err(|f| fail_text(&f))?;
    Ok(collect(&run_dir, &own, true, ANSWER_TIMEOUT)
        .render(true)
        .trim()
        .to_string())
}

/// The DNS part of the status: each uplink's interface, state and servers.
fn dns(g: &Globals) -> Result<String, String> {
    let all = parse(&status(g)?).map_err(|e| format!("status: {}", e.msg))?;
    let uplinks: Vec<Value> = match all.get("uplinks") {
        Some(Json::Arr(a)) => a
            .iter()
            .map(|u| {
                let mut o = Obj::new();
                for k in ["interface", "state", "link", "dns"] {
                    if let Some(v) = u.get(k) {
                        o = o.field(k, value(v));
                    }
                }
                o.into()
            })
            .collect(),
        _ => Vec::new(),
    };
    let v: Value = Obj::new().field("uplinks", Value::Arr(uplinks)).into();
    Ok(v.to_string())
}

/// The key service's methods, answered with an error by warden-uplink.
#[cfg(not(feature = "auth"))]
const KEY_METHODS: [&str; 8] = [
    "keyfs",
    "users",
    "unlock",
    "lock",
    "user_add",
    "user_disable",
    "user_enable",
    "user_expire",
];

#[cfg(feature = "auth")]
struct KeyfsState {
    enabled: bool,
    mode: Mode,
    file: std::path::PathBuf,
    /// unlocked, locked, or not-running (no daemon serves keyfs).
    state: &'static str,
}

#[cfg(feature = "auth")]
impl KeyfsState {
    fn json(&self) -> String {
        let v: Value = Obj::new()
            .field("enabled", self.enabled)
            .field("state", self.state)
            .field(
                "mode",
                match self.mode {
                    Mode::Attended => "attended",
                    Mode::Unattended { .. } => "unattended",
                },
            )
            .field("file", self.file.display().to_string())
            .field("file_exists", self.file.exists())
            .into();
        v.to_string()
    }

    /// Whether the user commands can work without asking for the master
    /// passphrase (which only `unlock` takes).
    fn usable(&self) -> Result<(), String> {
        match (self.state, &self.mode) {
            ("unlocked", _) | (_, Mode::Unattended { .. }) => Ok(()),
            ("locked", Mode::Attended) => Err("keyfs is locked: unlock it first".into()),
            _ => Err("no warden daemon serves keyfs: start it and unlock keyfs".into()),
        }
    }
}

#[cfg(feature = "auth")]
fn keyfs_state(g: &Globals) -> Result<KeyfsState, String> {
    let cfg = g.load_config().map_err(|f| fail_text(&f))?;
    let s = crate::auth::keyfs::Settings::from_config(&cfg.keyfs);
    let state = match super::keyfs::daemon(g).map_err(|f| fail_text(&f))? {
        None => "not-running",
        Some(mut d) => match d.unlocked().map_err(|f| fail_text(&f))? {
            true => "unlocked",
            false => "locked",
        },
    };
    Ok(KeyfsState {
        enabled: cfg.keyfs.enabled,
        mode: s.mode,
        file: s.file,
        state,
    })
}

fn services(g: &Globals) -> Result<String, String> {
    let cfg = g.load_config().map_err(|f| fail_text(&f))?;
    let v: Value = Obj::new()
        .field(
            "signer",
            Obj::new()
                .field("enabled", cfg.signer.enabled)
                .field("listen", cfg.signer.listen.as_str()),
        )
        .field(
            "authsrv",
            Obj::new()
                .field("enabled", cfg.authsrv.enabled)
                .field("listen", cfg.authsrv.listen.as_str())
                .field("authdom", cfg.authsrv.authdom.as_str()),
        )
        .into();
    Ok(v.to_string())
}

#[cfg(feature = "auth")]
/// Run this binary's command `args` (with the same configuration file).
fn run_self(g: &Globals, args: &[&str], stdin: Option<&[u8]>) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("which program am I: {e}"))?;
    let mut all: Vec<&OsStr> = Vec::new();
    if let Some(p) = &g.config_path {
        all.extend(["-c".as_ref(), p.as_os_str()]);
    }
    all.extend(args.iter().map(OsStr::new));
    run(exe.as_os_str(), &all, stdin)
}

/// Run `program` with `args`, feed it `stdin` (or nothing), and return its
/// stdout; a failure is its stderr without the `warden: ` prefix.
fn run(program: &OsStr, args: &[&OsStr], stdin: Option<&[u8]>) -> Result<String, String> {
    let name = program.to_string_lossy();
    let out = spawn::output(program, args, stdin).map_err(|e| format!("cannot run {name}: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .map(|l| l.strip_prefix("warden: ").unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .collect();
    Err(if lines.is_empty() {
        format!("{name} failed ({})", out.status)
    } else {
        lines.join("; ")
    })
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::leaf(
    "rpcd",
    "rpcd exec plugin: 'list' the methods, or 'call METHOD' (JSON on stdin)",
    &[
        pos("verb", "list or call"),
        pos_opt("method", "the method, for call"),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse_rpcd(p: &Parsed) -> Result<RpcdCmd, Fail> {
    let a = p.leaf();
    Ok(RpcdCmd {
        verb: a.string("verb"),
        method: a.opt("method"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_an_object() {
        for (m, a) in METHODS {
            assert!(matches!(parse(a), Ok(Json::Obj(_))), "{m}");
        }
    }

    #[test]
    fn arguments_are_checked_before_anything_runs() {
        assert!(args(b"").is_ok());
        assert!(args(b"[1]").is_err());
        assert!(args(b"{\"name\":").is_err());
        let a = args(br#"{"name":"-rf","ubus_rpc_session":"x","enabled":"1"}"#).unwrap();
        assert!(a.bool("enabled").unwrap());
        assert!(a.str("when").unwrap_err().contains("missing"));
        #[cfg(feature = "auth")]
        {
            assert!(a.name().unwrap_err().contains("not a user name"));
            let a = args(br#"{"name":"glenda","expire":""}"#).unwrap();
            assert_eq!(a.name(), Ok("glenda"));
            assert_eq!(a.opt_str("expire"), Ok(None));
        }
    }
}
