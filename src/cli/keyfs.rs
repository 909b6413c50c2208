//! `warden unlock`, `warden lock` and `warden keyfs init|passwd|check`.
//!
//! `unlock` and `lock` talk to the running daemon: they write `unlock
//! PASSPHRASE` or `lock` to the `ctl` file of its keyfs tree
//! (`<run_dir>/keyfs`). With no daemon listening, `unlock` only checks the
//! passphrase against the key file and `lock` has nothing to forget.
//! `keyfs init|passwd|check` work on the key file directly, taking the
//! master passphrase each time (attended mode: prompted, or read from
//! stdin when piped; unattended mode: from the configured key file).

use super::args::{greedy, opt, Cmd, Parsed};
use super::{prompt, Fail, Globals};
use crate::auth::admin::Answer;
use crate::auth::keyfs::{self, sealed, KeyfsError, Mode, RealFs, Settings, Store};
use crate::ninep::client::Error as NinepError;
use crate::ninep::files::Files as Client;
use zeroize::Zeroizing;

/// The keyfs settings from the configuration.
pub fn settings(g: &Globals) -> Result<Settings, Fail> {
    crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
    let cfg = g.load_config()?;
    Ok(Settings::from_config(&cfg.keyfs))
}

/// The master passphrase: prompted (attended) or from the key file.
pub fn master_pass(s: &Settings) -> Result<Zeroizing<Vec<u8>>, Fail> {
    match &s.mode {
        Mode::Attended => prompt::secret("keyfs passphrase: "),
        Mode::Unattended { keyfile } => Ok(keyfs::read_keyfile(keyfile)?),
    }
}

/// A store opened for a change, with the file lock held until dropped.
pub struct Opened {
    pub store: Store,
    _lock: crate::sys::lock::LockFile,
}

/// Open the key file for one command: lock, take the passphrase, open,
/// print any warning (e.g. the backup was used).
pub fn open(g: &Globals) -> Result<Opened, Fail> {
    let s = settings(g)?;
    if !s.file.exists() && !store_sibling_exists(&s) {
        return Err(KeyfsError::NoFile(s.file.clone()).into());
    }
    // The passphrase first: the lock is held only while the file is
    // read and changed, never while someone types (the daemon takes the
    // same lock for each of its operations).
    let pass = master_pass(&s)?;
    let lock = keyfs::store::lock_exclusive(&s.file, keyfs::store::LOCK_WAIT)?;
    let (store, warnings) = Store::open(RealFs, &s.file, &pass)?;
    for w in warnings {
        eprintln!("warden: warning: {w}");
    }
    Ok(Opened { store, _lock: lock })
}

fn store_sibling_exists(s: &Settings) -> bool {
    keyfs::store::sibling(&s.file, ".bak").exists()
}

/// The running daemon's keyfs tree, if a daemon listens.
pub struct Daemon {
    pub client: Client,
    pub socket: std::path::PathBuf,
}

impl Daemon {
    /// Whether the daemon holds keyfs unlocked (its `ctl` says so).
    pub fn unlocked(&mut self) -> Result<bool, Fail> {
        Ok(self.client.read_text("ctl")? == "unlocked")
    }
}

/// Connect to the daemon's keyfs socket. None when no daemon listens there
/// (no socket, or nobody answers on it).
pub fn daemon(g: &Globals) -> Result<Option<Daemon>, Fail> {
    crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
    let cfg = g.load_config()?;
    let socket = cfg.keyfs.socket_path(&cfg.main.run_dir);
    let user = std::env::var("USER").unwrap_or_else(|_| "warden".into());
    match Client::dial(&socket, &user) {
        Ok(client) => Ok(Some(Daemon { client, socket })),
        Err(NinepError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(Fail::msg(format!(
            "the daemon's keyfs at {}: {e}",
            socket.display()
        ))),
    }
}

/// The daemon's keyfs tree when the daemon runs and holds keyfs unlocked;
/// otherwise None (the caller works on the key file directly).
pub fn unlocked_daemon(g: &Globals) -> Result<Option<Client>, Fail> {
    match daemon(g)? {
        Some(mut d) => {
            if d.unlocked()? {
                Ok(Some(d.client))
            } else {
                eprintln!("warden: the daemon's keyfs is locked; working on the key file directly");
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

/// Carry out admin requests ([`crate::auth::admin`]) on keyfs: through
/// the running daemon when it holds keyfs unlocked (no passphrase asked),
/// else on the key file, opened once for all of them (the passphrase
/// asked once). The caller shows each answer (its notes are for standard
/// error).
pub fn admin(g: &Globals, reqs: &[Zeroizing<String>]) -> Result<Vec<Answer>, Fail> {
    let mut out = Vec::with_capacity(reqs.len());
    if let Some(mut c) = unlocked_daemon(g)? {
        for r in reqs {
            let b = Zeroizing::new(c.ask("ctl", r.as_bytes())?);
            out.push(
                Answer::decode(&b).map_err(|e| Fail::msg(format!("the daemon's keyfs: {e}")))?,
            );
        }
        return Ok(out);
    }
    let mut o = open(g)?;
    for r in reqs {
        out.push(crate::auth::admin::answer(
            &mut o.store,
            r,
            super::when::now(),
        )?);
    }
    Ok(out)
}

/// One admin request; see [`admin`].
pub fn admin1(g: &Globals, words: &[&str]) -> Result<Answer, Fail> {
    let mut v = admin(g, &[crate::auth::admin::request(words)])?;
    v.pop().ok_or_else(|| Fail::msg("no answer"))
}

/// unlock the running daemon's keyfs (passphrase prompted, or stdin)
#[derive(Debug)]
pub struct UnlockCmd {}

/// lock the running daemon's keyfs: it forgets the master key
#[derive(Debug)]
pub struct LockCmd {}

impl UnlockCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let s = settings(g)?;
        let Some(mut d) = daemon(g)? else {
            let o = open(g)?;
            println!(
                "{}: passphrase ok, {} account(s); no warden daemon listens, so nothing stays unlocked",
                o.store.path().display(),
                o.store.users().count()
            );
            return Ok(());
        };
        if d.unlocked()? {
            println!("keyfs is already unlocked");
            return Ok(());
        }
        let line = match &s.mode {
            Mode::Attended => {
                let pass = master_pass(&s)?;
                let mut l = Zeroizing::new(b"unlock ".to_vec());
                l.extend_from_slice(&pass);
                l
            }
            // The daemon reads its own key file.
            Mode::Unattended { .. } => Zeroizing::new(b"unlock".to_vec()),
        };
        let t = std::time::Instant::now();
        d.client.write("ctl", &line)?;
        let e = t.elapsed();
        let ms = e.as_secs() * 1000 + u64::from(e.subsec_millis());
        println!(
            "keyfs unlocked in {}.{:03} s ({})",
            ms / 1000,
            ms % 1000,
            d.socket.display()
        );
        Ok(())
    }
}

impl LockCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match daemon(g)? {
            Some(mut d) => {
                if !d.unlocked()? {
                    println!("keyfs is already locked ({})", d.socket.display());
                    return Ok(());
                }
                d.client.write("ctl", b"lock")?;
                println!("keyfs locked ({})", d.socket.display());
            }
            None => {
                let s = settings(g)?;
                println!(
                    "no warden daemon listens; nothing holds the key of {}",
                    s.file.display()
                );
            }
        }
        Ok(())
    }
}

/// manage the key file itself
#[derive(Debug)]
pub struct KeyfsCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Init(Init),
    Passwd(Passwd),
    Check(Check),
    SaveKey(SaveKey),
}

/// keep a factotum key in keyfs (what 'warden key add --save' does); the
/// key line is read from stdin when no attributes are given, so secrets
/// stay off the command line
#[derive(Debug)]
struct SaveKey {
    /// the key's attributes, e.g. proto=pass server=mail user=glenda !password=...
    attrs: Vec<String>,
}

/// Store a factotum key through the running daemon when it holds keyfs
/// unlocked (its factotum loads it at once); None when no daemon does.
pub fn save_in_daemon(g: &Globals, attrs: &str) -> Result<Option<String>, Fail> {
    let line = Zeroizing::new(format!("key {}", attrs.trim()));
    crate::auth::factotum::persist::check_line(&line).map_err(Fail::Usage)?;
    match unlocked_daemon(g)? {
        Some(mut c) => {
            c.write("ctl", line.as_bytes())?;
            Ok(Some(
                "saved in the daemon's keyfs; its factotum holds the key now".into(),
            ))
        }
        None => Ok(None),
    }
}

/// Store a factotum key (`ATTRS`, as after `key ` in a factotum ctl line)
/// in keyfs's factotum record: through the running daemon when it holds
/// keyfs unlocked (its factotum loads the key at once), else in the key
/// file directly (loaded at the next unlock). For `warden key add --save`.
pub fn save_factotum_key(g: &Globals, attrs: &str) -> Result<String, Fail> {
    if let Some(m) = save_in_daemon(g, attrs)? {
        return Ok(m);
    }
    let line = Zeroizing::new(format!("key {}", attrs.trim()));
    let mut o = open(g)?;
    let mut keys = o.store.factotum_keys().to_vec();
    if !keys.iter().any(|k| k.as_str() == line.as_str()) {
        keys.push(line);
        o.store.set_factotum_keys(keys)?;
    }
    Ok(format!(
        "saved in {}; the factotum loads it when keyfs is unlocked",
        o.store.path().display()
    ))
}

/// create an empty key file (unattended mode: creates the key file too)
#[derive(Debug)]
struct Init {
    /// PBKDF2 iterations (default: the configuration's kdf_iterations)
    iterations: Option<u32>,
}

/// change the master passphrase (and the KDF iterations)
#[derive(Debug)]
struct Passwd {
    /// PBKDF2 iterations (default: the configuration's kdf_iterations)
    iterations: Option<u32>,
}

/// open the key file and report its header and contents (no secrets)
#[derive(Debug)]
struct Check {}

fn iterations(opt: Option<u32>, s: &Settings) -> Result<u32, Fail> {
    let n = opt.unwrap_or(s.iterations);
    if n < sealed::MIN_ITERATIONS {
        return Err(Fail::Usage(format!(
            "--iterations {n} is too few (at least {})",
            sealed::MIN_ITERATIONS
        )));
    }
    Ok(n)
}

/// Make the unattended key file: 32 random bytes as hex, mode 0600.
fn make_keyfile(path: &std::path::Path) -> Result<(), Fail> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut raw = Zeroizing::new([0u8; 32]);
    sealed::random(&mut raw[..])?;
    let hex = Zeroizing::new(crate::wire::hex(&raw[..]) + "\n");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| KeyfsError::io("create key file", path, e))?;
    f.write_all(hex.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| KeyfsError::io("write key file", path, e))?;
    Ok(())
}

impl KeyfsCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let s = settings(g)?;
        match self.what {
            What::Init(i) => {
                let n = iterations(i.iterations, &s)?;
                if let Some(dir) = s.file.parent() {
                    if !dir.as_os_str().is_empty() && !dir.exists() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| KeyfsError::io("create directory", dir, e))?;
                    }
                }
                let _lock = keyfs::store::lock_exclusive(&s.file, keyfs::store::LOCK_WAIT)?;
                let pass = match &s.mode {
                    Mode::Attended => prompt::new_secret("new keyfs passphrase: ")?,
                    Mode::Unattended { keyfile } => {
                        if !keyfile.exists() {
                            make_keyfile(keyfile)?;
                            println!("created key file {}", keyfile.display());
                        }
                        keyfs::read_keyfile(keyfile)?
                    }
                };
                let st = Store::create(RealFs, &s.file, &pass, n)?;
                println!("created {} ({} PBKDF2 iterations)", st.path().display(), n);
            }
            What::Passwd(p) => {
                if !matches!(s.mode, Mode::Attended) {
                    return Err(Fail::msg(
                        "unattended mode: the passphrase is the key file's content; change that file and run 'warden keyfs passwd' in attended mode",
                    ));
                }
                let n = iterations(p.iterations, &s)?;
                let mut o = open(g)?;
                let new = prompt::new_secret("new keyfs passphrase: ")?;
                o.store.change_passphrase(&new, n)?;
                println!("{}: passphrase changed", o.store.path().display());
            }
            What::SaveKey(k) => {
                let attrs = if k.attrs.is_empty() {
                    let l = prompt::secret("key attributes: ")?;
                    Zeroizing::new(
                        String::from_utf8(l.to_vec())
                            .map_err(|_| Fail::Usage("the key line is not UTF-8".into()))?,
                    )
                } else {
                    Zeroizing::new(k.attrs.join(" "))
                };
                println!("{}", save_factotum_key(g, &attrs)?);
            }
            What::Check(_) => {
                let o = open(g)?;
                let st = &o.store;
                let size = std::fs::metadata(st.path()).map(|m| m.len()).unwrap_or(0);
                println!("file: {} ({size} bytes)", st.path().display());
                println!(
                    "format: version {}, PBKDF2-HMAC-SHA256 x {}, ChaCha20-Poly1305",
                    sealed::VERSION,
                    st.iterations()
                );
                println!("accounts: {}", st.users().count());
                println!("factotum keys: {}", st.factotum_keys().len());
                let bak = keyfs::store::sibling(st.path(), ".bak");
                println!(
                    "backup: {}",
                    if bak.exists() {
                        bak.display().to_string()
                    } else {
                        "none".into()
                    }
                );
            }
        }
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const UNLOCK: Cmd = Cmd::leaf(
    "unlock",
    "unlock the running daemon's keyfs (passphrase prompted, or stdin)",
    &[],
);
pub const LOCK: Cmd = Cmd::leaf(
    "lock",
    "lock the running daemon's keyfs: it forgets the master key",
    &[],
);
pub const KEYFS: Cmd = Cmd::group(
    "keyfs",
    "manage the key file itself",
    &[INIT, PASSWD, CHECK, SAVEKEY],
);
const SAVEKEY: Cmd = Cmd::leaf(
    "save-key",
    "keep a factotum key in keyfs (what 'warden key add --save' does); the key line is read from \
     stdin when no attributes are given, so secrets stay off the command line",
    &[greedy(
        "attrs",
        "the key's attributes, e.g. proto=pass server=mail user=glenda !password=...",
    )],
);
const INIT: Cmd = Cmd::leaf(
    "init",
    "create an empty key file (unattended mode: creates the key file too)",
    &[opt(
        "iterations",
        "PBKDF2 iterations (default: the configuration's kdf_iterations)",
    )],
);
const PASSWD: Cmd = Cmd::leaf(
    "passwd",
    "change the master passphrase (and the KDF iterations)",
    &[opt(
        "iterations",
        "PBKDF2 iterations (default: the configuration's kdf_iterations)",
    )],
);
const CHECK: Cmd = Cmd::leaf(
    "check",
    "open the key file and report its header and contents (no secrets)",
    &[],
);

/// The command from the words [`KEYFS`] took.
pub fn parse_keyfs(p: &Parsed) -> Result<KeyfsCmd, Fail> {
    let a = p.leaf();
    Ok(KeyfsCmd {
        what: match p.sub(2) {
            "init" => What::Init(Init {
                iterations: a.u32("iterations")?,
            }),
            "passwd" => What::Passwd(Passwd {
                iterations: a.u32("iterations")?,
            }),
            "check" => What::Check(Check {}),
            "save-key" => What::SaveKey(SaveKey {
                attrs: a.strings("attrs"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
