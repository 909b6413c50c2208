//! `warden user ...`: accounts in keyfs. When the daemon runs with keyfs
//! unlocked, add, passwd, del, list, show, disable, enable and expire work
//! through its keyfs tree (no master passphrase); otherwise, and for the
//! other commands, the key file is opened (taking the master passphrase)
//! and changed atomically (a daemon holding it unlocked re-reads it).
//! Nothing prints a secret except where asked to (`otp --show-uri`,
//! `export-oath`).

use super::args::{flag, opt, pos, pos_opt, Cmd, Parsed};
use super::keyfs::open;
use super::{prompt, when, Fail, Globals};
use crate::auth::keyfs::{Expiry, KeyfsError, Status};
use crate::auth::oath::{self, Hash, Kind, Token};
use crate::ninep::client::Error as NinepError;
use crate::ninep::files::Files as Client;
use std::io::Read;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// manage keyfs accounts
#[derive(Debug)]
pub struct UserCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Add(Add),
    Passwd(Passwd),
    Del(Del),
    Rename(Rename),
    List(List),
    Show(Show),
    Disable(Disable),
    Enable(Enable),
    Expire(ExpireCmd),
    Attr(Attr),
    Otp(Otp),
    ExportOath(ExportOath),
    ImportOath(ImportOath),
}

/// add an account (no password yet: set one with 'user passwd')
#[derive(Debug)]
struct Add {
    name: String,
    /// expiry: never, seconds since the epoch, or YYYY-MM-DD[ HH:MM[:SS]] (UTC)
    expire: Option<String>,
}

/// set an account's password (prompted without echo, or read from stdin)
#[derive(Debug)]
struct Passwd {
    name: String,
    /// set only the 16-byte AES key (dp9ik), read from stdin raw as 9front's
    /// keyfs aeskey file holds it, or as 32 hex digits
    aeskey: bool,
    /// set only the 7-byte DES key (p9sk1), read from stdin raw as Plan 9's
    /// keyfs key file holds it, or as 14 hex digits
    deskey: bool,
}

/// A key given by itself: the keyfs tree's file for it and its bytes.
type RawKey = (&'static str, Zeroizing<Vec<u8>>);

impl Passwd {
    /// With --aeskey or --deskey: the keyfs tree's file and the key read
    /// from stdin.
    fn raw_key(&self) -> Result<Option<RawKey>, Fail> {
        let (file, len) = match (self.aeskey, self.deskey) {
            (false, false) => return Ok(None),
            (true, true) => return Err(Fail::Usage("--aeskey and --deskey: one at a time".into())),
            (true, false) => ("aeskey", crate::auth::keyfs::account::AESKEYLEN),
            (false, true) => ("key", crate::auth::keyfs::account::DESKEYLEN),
        };
        let mut raw = Zeroizing::new(Vec::new());
        std::io::Read::take(std::io::stdin().lock(), 256)
            .read_to_end(&mut raw)
            .map_err(|e| Fail::msg(format!("reading the key from stdin: {e}")))?;
        Ok(Some((file, parse_raw_key(&raw, len).map_err(Fail::msg)?)))
    }
}

/// A key given on stdin: exactly `len` bytes, or `2*len` hex digits with
/// an optional newline. The error never shows the bytes.
fn parse_raw_key(raw: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    if raw.len() == len {
        return Ok(Zeroizing::new(raw.to_vec()));
    }
    let text = raw.strip_suffix(b"\n").unwrap_or(raw);
    if text.len() == 2 * len && text.iter().all(u8::is_ascii_hexdigit) {
        return Ok(Zeroizing::new(crate::auth::dec16(text)));
    }
    Err(format!(
        "the key on stdin must be {len} bytes, or {} hex digits; got {} bytes",
        2 * len,
        raw.len()
    ))
}

/// delete an account
#[derive(Debug)]
struct Del {
    name: String,
}

/// rename an account (its password, token and attributes stay)
#[derive(Debug)]
struct Rename {
    old: String,
    new: String,
}

/// list accounts: name, status, expiry (tab-separated; ISO 8601 times)
#[derive(Debug)]
struct List {
    /// print a JSON array of {name, status, expire, failures} instead
    /// (failures: consecutive failed logins, counted by the running daemon)
    json: bool,
}

/// Print `user list`'s rows: tab-separated lines, or JSON.
fn print_users(rows: &[(String, String, Expiry, u32)], json: bool) {
    let expire = |e: &Expiry| match e {
        Expiry::Never => "never".to_string(),
        Expiry::At(t) => when::iso(*t),
    };
    if json {
        let v: Vec<crate::json::Value> = rows
            .iter()
            .map(|(n, s, e, f)| {
                crate::json::Obj::new()
                    .field("name", n.as_str())
                    .field("status", s.as_str())
                    .field("expire", expire(e))
                    .field("failures", *f)
                    .into()
            })
            .collect();
        println!("{}", crate::json::Value::Arr(v));
        return;
    }
    for (n, s, e, _) in rows {
        println!("{n}\t{s}\t{}", expire(e));
    }
}

/// show one account (never its secrets): status, expiry, whether a
/// password and an OATH token are set, principals, attributes, failures
#[derive(Debug)]
struct Show {
    name: String,
    /// print a JSON object instead
    json: bool,
}

/// disable an account
#[derive(Debug)]
struct Disable {
    name: String,
}

/// enable an account (also clears its failure count)
#[derive(Debug)]
struct Enable {
    name: String,
}

/// set an account's expiry: never, epoch seconds or a date (UTC)
#[derive(Debug)]
struct ExpireCmd {
    name: String,
    when: String,
}

/// set (NAME ATTR VALUE) or remove (NAME ATTR) a free-form attribute
#[derive(Debug)]
struct Attr {
    name: String,
    attr: String,
    value: Option<String>,
}

/// enrol an OATH token (a fresh random seed unless --key is given)
#[derive(Debug)]
struct Otp {
    name: String,
    /// time-based token (TOTP, RFC 6238)
    totp: bool,
    /// counter-based token (HOTP, RFC 4226)
    hotp: bool,
    /// digits per code: 6 (default), 7 or 8
    digits: u8,
    /// TOTP time step: 30s, 1m (default 30s; whole seconds)
    step: super::grammar::Dur,
    /// HMAC hash: SHA1 (default; the only one pam_oath knows), SHA256, SHA512
    hash: String,
    /// the seed as hex (default: 20 random bytes)
    key: Option<String>,
    /// print the otpauth:// URI for phone apps (it holds the seed)
    show_uri: bool,
    /// remove the account's token instead
    remove: bool,
}

/// write accounts' OATH tokens in pam_oath's users.oath format
#[derive(Debug)]
struct ExportOath {
    /// output file (mode 0600, written atomically); standard output
    /// without one (or with `-- -`)
    file: Option<PathBuf>,
}

/// read OATH tokens from a users.oath file (all lines or none)
#[derive(Debug)]
struct ImportOath {
    file: PathBuf,
    /// create accounts named in the file that do not exist
    create: bool,
}

use crate::auth::admin::OATH_PASS_ATTR;

fn parse_expiry(s: &str) -> Result<Expiry, Fail> {
    if s == "never" {
        return Ok(Expiry::Never);
    }
    when::parse(s).map(Expiry::at).ok_or_else(|| {
        Fail::Usage(format!(
            "bad expiry '{s}': expected never, seconds since the epoch or YYYY-MM-DD[ HH:MM[:SS]]"
        ))
    })
}

fn show_expiry(e: Expiry) -> String {
    match e {
        Expiry::Never => "never".into(),
        Expiry::At(t) => when::iso(t),
    }
}

/// Print an admin answer: its output on stdout, its notes on stderr.
fn print(a: &crate::auth::admin::Answer) {
    use std::io::Write;
    for n in &a.notes {
        eprintln!("warden: {n}");
    }
    let _ = std::io::stdout().write_all(&a.out);
}

/// Merge an imported token into an existing one: with the same seed the
/// replay state never moves backwards.
fn merge(old: Option<&Token>, mut new: Token) -> Token {
    if let Some(o) = old {
        if o.key == new.key && o.kind == new.kind && o.digits == new.digits {
            if o.counter > new.counter {
                new.counter = o.counter;
                new.last_otp.clone_from(&o.last_otp);
            }
            if o.last_time > new.last_time && o.kind != Kind::Hotp {
                new.last_time = o.last_time;
                new.last_otp.clone_from(&o.last_otp);
            }
            new.hash = o.hash;
        }
    }
    new
}

impl UserCmd {
    /// The daemon runs with keyfs unlocked: work through its keyfs tree
    /// (no master passphrase needed).
    fn via_daemon(self, mut c: Client) -> Result<(), Fail> {
        let exists = |c: &mut Client, n: &str| -> Result<(), Fail> {
            c.read_text(&format!("{n}/status"))
                .map(|_| ())
                .map_err(|e| match e {
                    NinepError::Remote(m) if m.contains("not found") => {
                        KeyfsError::NoUser(n.to_string()).into()
                    }
                    e => e.into(),
                })
        };
        match self.what {
            What::Add(a) => {
                c.mkdir("", &a.name)?;
                if let Some(e) = &a.expire {
                    let exp = parse_expiry(e)?;
                    c.write(&format!("{}/expire", a.name), exp.to_string().as_bytes())?;
                }
                println!("added {}", a.name);
            }
            What::Passwd(p) => {
                exists(&mut c, &p.name)?;
                if let Some((file, key)) = p.raw_key()? {
                    c.write(&format!("{}/{file}", p.name), &key)?;
                    println!("{file} of {} set", p.name);
                    return Ok(());
                }
                let pw = prompt::new_secret_of(
                    &format!("password for {}: ", p.name),
                    prompt::MIN_PASSWORD,
                )?;
                c.write(&format!("{}/secret", p.name), &pw)?;
                println!("password of {} set", p.name);
            }
            What::Del(d) => {
                exists(&mut c, &d.name)?;
                c.remove(&d.name)?;
                println!("deleted {}", d.name);
            }
            What::Rename(r) => {
                if crate::auth::keyfs::account::RESERVED.contains(&r.old.as_str()) {
                    // the tree's own file has that name: only the key file
                    // (with the daemon's keyfs locked) reaches the account
                    return Err(Fail::msg(format!(
                        "the daemon's keyfs tree cannot reach an account named '{}': \
                         lock keyfs (warden lock) and rename it again",
                        r.old
                    )));
                }
                exists(&mut c, &r.old)?;
                c.rename(&r.old, &r.new)?;
                println!("renamed {} to {}", r.old, r.new);
            }
            What::Disable(d) => {
                exists(&mut c, &d.name)?;
                c.write(&format!("{}/status", d.name), b"disabled")?;
                println!("{} disabled", d.name);
            }
            What::Enable(e) => {
                exists(&mut c, &e.name)?;
                c.write(&format!("{}/status", e.name), b"ok")?;
                println!("{} enabled", e.name);
            }
            What::Expire(e) => {
                exists(&mut c, &e.name)?;
                let exp = parse_expiry(&e.when)?;
                c.write(&format!("{}/expire", e.name), exp.to_string().as_bytes())?;
                println!("{} expires {}", e.name, show_expiry(exp));
            }
            What::List(l) => {
                let mut rows = Vec::new();
                for st in c.list("")? {
                    if !st.qid.is_dir() {
                        continue;
                    }
                    let status = c.read_text(&format!("{}/status", st.name))?;
                    let exp = c.read_text(&format!("{}/expire", st.name))?;
                    let exp = Expiry::parse(&exp).ok_or_else(|| {
                        Fail::msg(format!("{}/expire: '{}'", st.name, exp.escape_default()))
                    })?;
                    // `N` or `N purgatory SECS`.
                    let log = c.read_text(&format!("{}/log", st.name))?;
                    let failures = log
                        .split_whitespace()
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    rows.push((st.name, status, exp, failures));
                }
                print_users(&rows, l.json);
            }
            _ => return Err(Fail::msg("not served by the daemon's keyfs tree")),
        }
        Ok(())
    }

    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let now = when::now();
        // Check arguments before asking for the passphrase.
        match &self.what {
            What::Rename(r) => {
                crate::auth::keyfs::account::check_name(&r.new).map_err(Fail::Usage)?;
            }
            What::Add(a) => {
                crate::auth::keyfs::account::check_name(&a.name).map_err(Fail::Usage)?;
                if let Some(e) = &a.expire {
                    parse_expiry(e)?;
                }
            }
            What::Expire(e) => {
                parse_expiry(&e.when)?;
            }
            What::Otp(o) => {
                if !o.remove && o.totp == o.hotp {
                    return Err(Fail::Usage("give one of --totp or --hotp".into()));
                }
                if !oath::valid_digits(o.digits) {
                    return Err(Fail::Usage(format!(
                        "--digits {}: only 6, 7 and 8 are supported",
                        o.digits
                    )));
                }
                if o.step.0.as_secs() == 0 || o.step.0.subsec_nanos() != 0 {
                    return Err(Fail::Usage(
                        "--step must be whole seconds, at least 1s".into(),
                    ));
                }
                if Hash::parse(&o.hash).is_none() {
                    return Err(Fail::Usage(format!(
                        "--hash {}: expected SHA1, SHA256 or SHA512",
                        o.hash
                    )));
                }
                if let Some(k) = &o.key {
                    let max = crate::auth::keyfs::store::MAX_OTP_KEY;
                    if oath::hex_decode(k).is_none_or(|k| k.is_empty() || k.len() > max) {
                        return Err(Fail::Usage(format!(
                            "--key: expected 1 to {max} bytes in hex"
                        )));
                    }
                }
            }
            _ => {}
        }
        // Admin requests: the daemon answers while it holds keyfs unlocked.
        match &self.what {
            What::Show(s) => {
                let mut w = vec!["user", "show", s.name.as_str()];
                if s.json {
                    w.push("json");
                }
                print(&super::keyfs::admin1(g, &w)?);
                return Ok(());
            }
            What::Otp(x) => {
                let req = if x.remove {
                    crate::auth::admin::request(&["user", "otp-remove", &x.name])
                } else {
                    let digits = x.digits.to_string();
                    let step = x.step.0.as_secs().to_string();
                    let key = Zeroizing::new(x.key.clone().unwrap_or_else(|| "-".into()));
                    crate::auth::admin::request(&[
                        "user",
                        "otp",
                        &x.name,
                        if x.totp { "totp" } else { "hotp" },
                        &digits,
                        &step,
                        &x.hash,
                        &key,
                    ])
                };
                let a = super::keyfs::admin(g, &[req])?;
                let Some(a) = a.first() else { return Ok(()) };
                if x.remove {
                    print(a);
                } else {
                    println!("{}: OATH token enrolled", x.name);
                    if x.show_uri {
                        print(a);
                        println!();
                    }
                }
                return Ok(());
            }
            What::ExportOath(e) => {
                let a = super::keyfs::admin1(g, &["user", "export-oath"])?;
                for s in &a.notes {
                    eprintln!("warden: warning: {s}");
                }
                let file = e.file.clone().unwrap_or_else(|| PathBuf::from("-"));
                let w = super::output::write_out(&file, &a.out, 0o600)?;
                if !matches!(w, super::output::Written::Stdout) {
                    eprintln!("{w}: {} byte(s) written", a.out.len());
                }
                return Ok(());
            }
            _ => {}
        }
        let routed = matches!(
            self.what,
            What::Add(_)
                | What::Passwd(_)
                | What::Del(_)
                | What::Rename(_)
                | What::List(_)
                | What::Disable(_)
                | What::Enable(_)
                | What::Expire(_)
        );
        if routed {
            if let Some(c) = super::keyfs::unlocked_daemon(g)? {
                return self.via_daemon(c);
            }
        }
        let mut o = open(g)?;
        let st = &mut o.store;
        match self.what {
            What::Add(a) => {
                let exp = match &a.expire {
                    Some(e) => parse_expiry(e)?,
                    None => Expiry::Never,
                };
                st.add_user(&a.name, exp, now)?;
                println!("added {}", a.name);
            }
            What::Passwd(p) => {
                st.user(&p.name)?;
                if let Some((file, key)) = p.raw_key()? {
                    st.set_key(&p.name, &key, now)?;
                    println!("{file} of {} set", p.name);
                    return Ok(());
                }
                let pw = prompt::new_secret_of(
                    &format!("password for {}: ", p.name),
                    prompt::MIN_PASSWORD,
                )?;
                st.set_password(&p.name, &pw, now)?;
                println!("password of {} set", p.name);
            }
            What::Del(d) => {
                st.del_user(&d.name)?;
                println!("deleted {}", d.name);
                if let Err(e) = super::secstore::stored_files(g)?.remove_all(&d.name) {
                    eprintln!(
                        "warden: {} deleted, but not its secstore files: {e}",
                        d.name
                    );
                }
            }
            What::Rename(r) => {
                let had_secstore = st.rename_user(&r.old, &r.new, now)?;
                println!("renamed {} to {}", r.old, r.new);
                if let Err(e) = super::secstore::stored_files(g)?.rename(&r.old, &r.new) {
                    eprintln!("warden: {} renamed, but not its secstore files: {e}", r.old);
                }
                if had_secstore {
                    println!(
                        "the secstore password is bound to the name: set it again \
                         (warden secstore add {})",
                        r.new
                    );
                }
            }
            What::List(l) => {
                let rows: Vec<_> = st
                    .users()
                    .map(|a| {
                        (
                            a.name.clone(),
                            a.status.as_str().to_string(),
                            a.expire,
                            st.failures(&a.name).consecutive,
                        )
                    })
                    .collect();
                print_users(&rows, l.json);
            }
            What::Disable(d) => {
                st.set_status(&d.name, Status::Disabled, now)?;
                println!("{} disabled", d.name);
            }
            What::Enable(e) => {
                st.set_status(&e.name, Status::Ok, now)?;
                println!("{} enabled", e.name);
            }
            What::Expire(e) => {
                let exp = parse_expiry(&e.when)?;
                st.set_expire(&e.name, exp, now)?;
                println!("{} expires {}", e.name, show_expiry(exp));
            }
            What::Attr(a) => {
                st.set_attr(&a.name, &a.attr, a.value.as_deref(), now)?;
            }
            // answered above, as admin requests
            What::Show(_) | What::Otp(_) | What::ExportOath(_) => {}
            What::ImportOath(i) => {
                let text = Zeroizing::new(
                    std::fs::read_to_string(&i.file)
                        .map_err(|e| KeyfsError::io("read", &i.file, e))?,
                );
                let lines = oath::parse_users(&text)
                    .map_err(|e| Fail::msg(format!("{}: {e}", i.file.display())))?;
                // Check every line before changing anything.
                for (n, l) in lines.iter().enumerate() {
                    crate::auth::keyfs::account::check_name(&l.user).map_err(|m| {
                        Fail::msg(format!("{}: entry {}: {m}", i.file.display(), n + 1))
                    })?;
                    if l.pass != "-" && l.pass != "+" {
                        return Err(Fail::msg(format!(
                            "{}: user '{}' has a static password in the PASS column; keyfs keeps only '-' (none) or '+' (checked by another module); nothing imported",
                            i.file.display(),
                            l.user
                        )));
                    }
                    crate::auth::keyfs::store::check_token(&l.token).map_err(|e| {
                        Fail::msg(format!("{}: user '{}': {e}", i.file.display(), l.user))
                    })?;
                    if !i.create && st.user(&l.user).is_err() {
                        return Err(Fail::msg(format!(
                            "{}: no account '{}' (add it first, or use --create); nothing imported",
                            i.file.display(),
                            l.user
                        )));
                    }
                }
                let count = lines.len();
                st.update(|db| {
                    for l in lines {
                        let acc = db.accounts.get_or_try_insert_with(l.user.clone(), || {
                            crate::auth::keyfs::Account::new(&l.user, Expiry::Never, now)
                                .map_err(KeyfsError::BadName)
                        })?;
                        acc.otp = Some(merge(acc.otp.as_ref(), l.token));
                        acc.attrs.retain(|(k, _)| k != OATH_PASS_ATTR);
                        if l.pass == "+" {
                            acc.attrs.push((OATH_PASS_ATTR.into(), "+".into()));
                        }
                        acc.changed = now;
                    }
                    Ok(())
                })?;
                println!("imported {count} token(s) from {}", i.file.display());
            }
        }
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "user",
    "manage keyfs accounts",
    &[
        ADD, PASSWD, DEL, RENAME, LIST, SHOW, DISABLE, ENABLE, EXPIRECMD, ATTR, OTP, EXPORTOATH,
        IMPORTOATH,
    ],
);
const ADD: Cmd = Cmd::leaf(
    "add",
    "add an account (no password yet: set one with 'user passwd')",
    &[
        pos("name", ""),
        opt(
            "expire",
            "expiry: never, seconds since the epoch, or YYYY-MM-DD[ HH:MM[:SS]] (UTC)",
        ),
    ],
);
const PASSWD: Cmd = Cmd::leaf(
    "passwd",
    "set an account's password (prompted without echo, or read from stdin)",
    &[
        pos("name", ""),
        flag(
            "aeskey",
            "set only the 16-byte AES key (dp9ik), read from stdin raw as 9front's keyfs aeskey \
             file holds it, or as 32 hex digits",
        ),
        flag(
            "deskey",
            "set only the 7-byte DES key (p9sk1), read from stdin raw as Plan 9's keyfs key file \
             holds it, or as 14 hex digits",
        ),
    ],
);
const DEL: Cmd = Cmd::leaf("del", "delete an account", &[pos("name", "")]);
const RENAME: Cmd = Cmd::leaf(
    "rename",
    "rename an account (its password, token and attributes stay)",
    &[pos("old", ""), pos("new", "")],
);
const LIST: Cmd = Cmd::leaf(
    "list",
    "list accounts: name, status, expiry (tab-separated; ISO 8601 times)",
    &[flag(
        "json",
        "print a JSON array of {name, status, expire, failures} instead (failures: consecutive \
         failed logins, counted by the running daemon)",
    )],
);
const SHOW: Cmd = Cmd::leaf(
    "show",
    "show one account (never its secrets): status, expiry, whether a password and an OATH token \
     are set, principals, attributes, failures",
    &[pos("name", ""), flag("json", "print a JSON object instead")],
);
const DISABLE: Cmd = Cmd::leaf("disable", "disable an account", &[pos("name", "")]);
const ENABLE: Cmd = Cmd::leaf(
    "enable",
    "enable an account (also clears its failure count)",
    &[pos("name", "")],
);
const EXPIRECMD: Cmd = Cmd::leaf(
    "expire",
    "set an account's expiry: never, epoch seconds or a date (UTC)",
    &[pos("name", ""), pos("when", "")],
);
const ATTR: Cmd = Cmd::leaf(
    "attr",
    "set (NAME ATTR VALUE) or remove (NAME ATTR) a free-form attribute",
    &[pos("name", ""), pos("attr", ""), pos_opt("value", "")],
);
const OTP: Cmd = Cmd::leaf(
    "otp",
    "enrol an OATH token (a fresh random seed unless --key is given)",
    &[
        pos("name", ""),
        flag("totp", "time-based token (TOTP, RFC 6238)"),
        flag("hotp", "counter-based token (HOTP, RFC 4226)"),
        opt("digits", "digits per code: 6 (default), 7 or 8"),
        opt(
            "step",
            "TOTP time step: 30s, 1m (default 30s; whole seconds)",
        ),
        opt(
            "hash",
            "HMAC hash: SHA1 (default; the only one pam_oath knows), SHA256, SHA512",
        ),
        opt("key", "the seed as hex (default: 20 random bytes)"),
        flag(
            "show-uri",
            "print the otpauth:// URI for phone apps (it holds the seed)",
        ),
        flag("remove", "remove the account's token instead"),
    ],
);
const EXPORTOATH: Cmd = Cmd::leaf(
    "export-oath",
    "write accounts' OATH tokens in pam_oath's users.oath format",
    &[pos_opt(
        "file",
        "output file (mode 0600, written atomically); standard output without one (or with `-- -`)",
    )],
);
const IMPORTOATH: Cmd = Cmd::leaf(
    "import-oath",
    "read OATH tokens from a users.oath file (all lines or none)",
    &[
        pos("file", ""),
        flag(
            "create",
            "create accounts named in the file that do not exist",
        ),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<UserCmd, Fail> {
    let a = p.leaf();
    Ok(UserCmd {
        what: match p.sub(2) {
            "add" => What::Add(Add {
                name: a.string("name"),
                expire: a.opt("expire"),
            }),
            "passwd" => What::Passwd(Passwd {
                name: a.string("name"),
                aeskey: a.flag("aeskey"),
                deskey: a.flag("deskey"),
            }),
            "del" => What::Del(Del {
                name: a.string("name"),
            }),
            "rename" => What::Rename(Rename {
                old: a.string("old"),
                new: a.string("new"),
            }),
            "list" => What::List(List {
                json: a.flag("json"),
            }),
            "show" => What::Show(Show {
                name: a.string("name"),
                json: a.flag("json"),
            }),
            "disable" => What::Disable(Disable {
                name: a.string("name"),
            }),
            "enable" => What::Enable(Enable {
                name: a.string("name"),
            }),
            "expire" => What::Expire(ExpireCmd {
                name: a.string("name"),
                when: a.string("when"),
            }),
            "attr" => What::Attr(Attr {
                name: a.string("name"),
                attr: a.string("attr"),
                value: a.opt("value"),
            }),
            "otp" => What::Otp(Otp {
                name: a.string("name"),
                totp: a.flag("totp"),
                hotp: a.flag("hotp"),
                digits: a.num("digits", 255)?.unwrap_or(6) as u8,
                step: a
                    .dur("step")?
                    .unwrap_or(super::grammar::Dur(std::time::Duration::from_secs(30))),
                hash: a.string_or("hash", "SHA1"),
                key: a.opt("key"),
                show_uri: a.flag("show-uri"),
                remove: a.flag("remove"),
            }),
            "export-oath" => What::ExportOath(ExportOath {
                file: a.opt_path("file"),
            }),
            "import-oath" => What::ImportOath(ImportOath {
                file: a.path("file"),
                create: a.flag("create"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
