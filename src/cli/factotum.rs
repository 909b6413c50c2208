//! `warden factotum` (the key agent alone, in the foreground) and the
//! commands that talk 9P to a running factotum's socket: `warden key
//! add|del|list|confirm` and `warden rpc`. No mount is needed, so they
//! work over ssh.

use super::args::{flag, greedy, many, only, opt, short, Cmd, Parsed};
use super::{Fail, Globals};
use crate::auth::client::{self, Lines, Prompt, RpcFile, Values};
use crate::auth::factotum::handle::AuthHandle;
use crate::ninep::client::Conn;
use crate::ninep::fcall::{ORDWR, OREAD, OWRITE};
use crate::sys::log::{self as wlog, Sink};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// run the factotum alone in the foreground (default socket
/// $NAMESPACE/factotum, as plan9port's factotum)
#[derive(Debug)]
pub struct FactotumCmd {
    /// the socket to serve (default $NAMESPACE/factotum, else
    /// /tmp/ns.$USER.$DISPLAY/factotum)
    socket: Option<PathBuf>,
    /// the secstore whose 'factotum' file is loaded at start (default
    /// $secstore; the password is prompted for once)
    #[cfg(feature = "client")]
    secstore: Option<String>,
    /// start empty: no secstore (as plan9port's factotum -n)
    #[cfg(feature = "client")]
    no_secstore: bool,
}

/// Load the user's `factotum` file from a secstore into `auth`, one key
/// per line (a line the factotum refuses is reported by number, never
/// shown: it holds secrets). plan9port's factotum does this at start.
#[cfg(feature = "client")]
fn load_secstore(auth: &AuthHandle, server: &str) -> Result<usize, Fail> {
    use super::secstore::{address, login};
    let user = crate::auth::listener::self_name();
    let (mut c, pw) = login(&address(server), &user, None)?;
    let data = c.get("factotum", &pw)?;
    let _ = c.bye();
    let mut n = 0;
    let mut f = auth.lock();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match f.factotum.ctl_write(line) {
            Ok(()) => n += 1,
            Err(e) => eprintln!("warden: secstore factotum file, line {}: {e}", i + 1),
        }
    }
    Ok(n)
}

/// plan9port's default: `$NAMESPACE/factotum`, else
/// `/tmp/ns.$USER.$DISPLAY/factotum` with DISPLAY `:0` when unset.
pub fn namespace_socket() -> PathBuf {
    let dir = crate::ninep::unix::namespace_dir().unwrap_or_else(|| {
        let user = std::env::var("USER").unwrap_or_else(|_| crate::auth::listener::self_name());
        PathBuf::from(format!("/tmp/ns.{user}.:0"))
    });
    dir.join("factotum")
}

impl FactotumCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        wlog::init(Sink::Stderr, log::LevelFilter::Warn);
        let cfg = g.load_config()?;
        wlog::set_level(g.log_level(&cfg));
        crate::sys::harden::harden();
        let path = self.socket.unwrap_or_else(namespace_socket);
        let sigs = crate::sys::signals::SignalPipe::install()?;
        // alone: no ticket service in this process
        let auth = AuthHandle::new(
            &crate::auth::listener::self_name(),
            crate::auth::authsrv::local::Local::default(),
        );
        #[cfg(feature = "client")]
        if !self.no_secstore {
            let server = self
                .secstore
                .clone()
                .or_else(|| std::env::var("secstore").ok().filter(|v| !v.is_empty()));
            if let Some(server) = server {
                match load_secstore(&auth, &server) {
                    Ok(n) => eprintln!("warden: {n} keys from secstore {server}"),
                    // as plan9port's: the factotum starts anyway
                    Err(e) => {
                        super::report(&e);
                        eprintln!("warden: starting without keys from secstore {server}");
                    }
                }
            }
        }
        auth.lock()
            .factotum
            .set_confirm_wait(cfg.factotum.confirm_wait);
        let policy = crate::auth::factotum::service::factotum_policy(&cfg.factotum);
        let mut l =
            crate::auth::factotum::service::listen(&auth, &path, policy, cfg.factotum.conns)
                .map_err(|e| Fail::msg(format!("{}: {e}", path.display())))?;
        crate::auth::factotum::service::serve_until(&mut l, sigs.fd(), || {
            !sigs
                .take()
                .contains(&crate::sys::signals::Signal::Terminate)
        })?;
        Ok(())
    }
}

/// the socket of the running factotum (default: the configuration's
/// factotum.socket, else <run_dir>/factotum)
fn socket(g: &Globals, given: Option<PathBuf>) -> Result<PathBuf, Fail> {
    wlog::init(Sink::Stderr, log::LevelFilter::Warn);
    match given {
        Some(p) => Ok(p),
        None => Ok(crate::auth::factotum::service::socket_path(
            &g.load_config()?,
        )),
    }
}

fn dial(path: &Path) -> Result<Conn, Fail> {
    let user = std::env::var("USER").unwrap_or_else(|_| crate::auth::listener::self_name());
    Conn::dial(path, &user).map_err(|e| Fail::msg(format!("factotum at {}: {e}", path.display())))
}

/// Write one ctl line.
fn ctl(path: &Path, line: &[u8]) -> Result<(), Fail> {
    let mut c = dial(path)?;
    let fid = c.open("ctl", OWRITE)?;
    let r = c.write(fid, line);
    c.clunk(fid);
    r?;
    Ok(())
}

/// manage the running factotum's keys (over its socket; works over ssh)
#[derive(Debug)]
pub struct KeyCmd {
    cmd: KeySub,
}

#[derive(Debug)]
enum KeySub {
    Add(KeyAdd),
    Del(KeyDel),
    List(KeyList),
    Confirm(KeyConfirm),
}

/// add a key: 'warden key add proto=pass user=glenda !password?' (values of
/// queries come from stdin lines, or a prompt without echo on a terminal)
#[derive(Debug)]
struct KeyAdd {
    /// the factotum's socket (default from the configuration)
    socket: Option<PathBuf>,
    /// also keep the key in keyfs: through the daemon while it holds keyfs
    /// unlocked (its factotum loads the key at once), else in the key file
    /// (loaded at the next unlock); what 'warden keyfs save-key' does
    save: bool,
    /// the key's attributes; secrets as queries (!password?)
    attrs: Vec<String>,
}

/// delete every key matching the attributes ('warden key del server=mail'),
/// or with --all every key
#[derive(Debug)]
struct KeyDel {
    /// the factotum's socket (default from the configuration)
    socket: Option<PathBuf>,
    /// delete every key (no attributes given)
    all: bool,
    /// attributes the keys must match (at least one)
    attrs: Vec<String>,
}

/// list the keys (secrets shown as !name?)
#[derive(Debug)]
struct KeyList {
    /// the factotum's socket (default from the configuration)
    socket: Option<PathBuf>,
    /// print a JSON array, one object per key: its public attributes,
    /// and "secrets", the names of its secret ones
    json: bool,
}

/// The ctl listing (`key proto=pass user=c !password?` lines) as JSON.
fn keys_json(listing: &str) -> crate::json::Value {
    let keys = listing
        .lines()
        .filter_map(|l| l.strip_prefix("key "))
        .map(|l| {
            let a = crate::auth::attr::parse(l);
            let mut o = crate::json::Obj::new();
            let mut secrets = Vec::new();
            for x in a.iter() {
                if x.is_secret() {
                    secrets.push(crate::json::Value::from(x.name.as_str()));
                } else {
                    o = o.field(&x.name, x.val.as_str());
                }
            }
            o.field("secrets", crate::json::Value::Arr(secrets)).into()
        })
        .collect();
    crate::json::Value::Arr(keys)
}

/// show confirm requests and answer them (interactively, or --yes/--no TAG)
#[derive(Debug)]
struct KeyConfirm {
    /// the factotum's socket (default from the configuration)
    socket: Option<PathBuf>,
    /// allow the request with this tag
    yes: Vec<String>,
    /// refuse the request with this tag
    no: Vec<String>,
    /// stop after this long without a request: 30s, 5m (default: never
    /// when interactive, 10s with --yes/--no)
    wait: Option<super::grammar::Dur>,
}

impl KeyCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        match self.cmd {
            KeySub::Add(a) => {
                if a.attrs.is_empty() {
                    return Err(Fail::Usage("key add needs attributes".into()));
                }
                let path = socket(g, a.socket)?;
                let line = if crate::sys::tty::stdin_is_tty() {
                    client::key_add_line(&a.attrs, &mut Prompt)
                } else {
                    let mut v = Lines(std::io::stdin().lock());
                    client::key_add_line(&a.attrs, &mut v as &mut dyn Values)
                }
                .map_err(|e| Fail::Usage(e.to_string()))?;
                if !a.save {
                    return ctl(&path, line.as_bytes());
                }
                let attrs = line.strip_prefix("key ").unwrap_or(&line);
                if let Some(m) = super::keyfs::save_in_daemon(g, attrs)? {
                    println!("{m}");
                    return Ok(());
                }
                ctl(&path, line.as_bytes())?;
                println!("{}", super::keyfs::save_factotum_key(g, attrs)?);
                Ok(())
            }
            KeySub::Del(d) => {
                let line = client::key_del_line(&d.attrs, d.all)
                    .map_err(|e| Fail::Usage(e.to_string()))?;
                ctl(&socket(g, d.socket)?, line.as_bytes())
            }
            KeySub::List(l) => {
                let path = socket(g, l.socket)?;
                let mut c = dial(&path)?;
                let fid = c.open("ctl", OREAD)?;
                let data = c.read_all(fid);
                c.clunk(fid);
                let data = data?;
                if l.json {
                    println!("{}", keys_json(&String::from_utf8_lossy(&data)));
                } else {
                    std::io::stdout().write_all(&data)?;
                }
                Ok(())
            }
            KeySub::Confirm(k) => k.run(g),
        }
    }
}

impl KeyConfirm {
    fn run(self, g: &Globals) -> Result<(), Fail> {
        let path = socket(g, self.socket)?;
        let scripted = !self.yes.is_empty() || !self.no.is_empty();
        let wait = match (self.wait, scripted) {
            (Some(d), _) => Some(d.0.max(Duration::from_millis(1))),
            (None, true) => Some(Duration::from_secs(10)),
            (None, false) => None,
        };
        let mut todo: Vec<(String, bool)> = self
            .yes
            .iter()
            .map(|t| (t.clone(), true))
            .chain(self.no.iter().map(|t| (t.clone(), false)))
            .collect();
        let mut c = dial(&path)?;
        let fid = c.open("confirm", ORDWR)?;
        let out = std::io::stdout();
        loop {
            if scripted && todo.is_empty() {
                break;
            }
            let Some(req) = c.read_wait(fid, wait)? else {
                break;
            };
            let req = String::from_utf8_lossy(&req);
            let req = req.trim_end_matches('\n');
            writeln!(out.lock(), "{req}")?;
            let tag = crate::auth::attr::parse(req.strip_prefix("confirm ").unwrap_or(""))
                .get("tag")
                .map(String::from)
                .unwrap_or_default();
            let answer = if scripted {
                todo.iter()
                    .position(|(t, _)| *t == tag)
                    .map(|i| todo.swap_remove(i).1)
            } else {
                ask_yes_no(&format!("use this key (tag {tag})? yes/no: "))?
            };
            let Some(yes) = answer else {
                writeln!(out.lock(), "left unanswered: tag {tag}")?;
                if scripted {
                    continue;
                }
                break;
            };
            let Some(line) = client::confirm_answer(req, yes) else {
                continue;
            };
            c.write(fid, line.as_bytes())?;
            writeln!(out.lock(), "{line}")?;
        }
        c.clunk(fid);
        if !todo.is_empty() {
            let tags: Vec<&str> = todo.iter().map(|t| t.0.as_str()).collect();
            return Err(Fail::msg(format!(
                "no confirm request came for tag {}",
                tags.join(", ")
            )));
        }
        Ok(())
    }
}

/// Ask on stderr and read the answer from stdin (the terminal, or lines
/// of a script); `None` at end of input.
fn ask_yes_no(q: &str) -> Result<Option<bool>, Fail> {
    loop {
        eprint!("{q}");
        let mut s = String::new();
        if std::io::stdin().lock().read_line(&mut s)? == 0 {
            return Ok(None);
        }
        match s.trim() {
            "y" | "yes" => return Ok(Some(true)),
            "n" | "no" => return Ok(Some(false)),
            _ => {}
        }
    }
}

/// one rpc conversation from stdin, like '9p rdwr factotum/rpc': each line
/// is written, each reply printed
#[derive(Debug)]
pub struct RpcCmd {
    /// the factotum's socket (default from the configuration)
    socket: Option<PathBuf>,
}

struct Remote {
    c: Conn,
    fid: u32,
}

impl RpcFile for Remote {
    fn write(&mut self, req: &[u8]) -> Result<(), String> {
        self.c
            .write(self.fid, req)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn read(&mut self) -> Result<Vec<u8>, String> {
        self.c.read(self.fid, 0).map_err(|e| e.to_string())
    }
}

impl RpcCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let path = socket(g, self.socket)?;
        let mut c = dial(&path)?;
        let fid = c.open("rpc", ORDWR)?;
        let mut r = Remote { c, fid };
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        client::rdwr(
            &mut r,
            &mut std::io::stdin().lock(),
            &mut stdout.lock(),
            &mut stderr.lock(),
        )?;
        r.c.clunk(fid);
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const FACTOTUM: Cmd = Cmd::leaf(
    "factotum",
    "run the factotum alone in the foreground (default socket $NAMESPACE/factotum, as plan9port's \
     factotum)",
    &[
        opt(
            "socket",
            "the socket to serve (default $NAMESPACE/factotum, else \
             /tmp/ns.$USER.$DISPLAY/factotum)",
        ),
        only(
            cfg!(feature = "client"),
            opt(
                "secstore",
                "the secstore whose 'factotum' file is loaded at start (default $secstore; the \
                 password is prompted for once)",
            ),
        ),
        only(
            cfg!(feature = "client"),
            short(
                b'n',
                flag(
                    "no-secstore",
                    "start empty: no secstore (as plan9port's factotum -n)",
                ),
            ),
        ),
    ],
);
pub const KEY: Cmd = Cmd::group(
    "key",
    "manage the running factotum's keys (over its socket; works over ssh)",
    &[KEYADD, KEYDEL, KEYLIST, KEYCONFIRM],
);
const KEYADD: Cmd = Cmd::leaf(
    "add",
    "add a key: 'warden key add proto=pass user=glenda !password?' (values of queries come from \
     stdin lines, or a prompt without echo on a terminal)",
    &[
        opt(
            "socket",
            "the factotum's socket (default from the configuration)",
        ),
        flag(
            "save",
            "also keep the key in keyfs: through the daemon while it holds keyfs unlocked (its \
             factotum loads the key at once), else in the key file (loaded at the next unlock); \
             what 'warden keyfs save-key' does",
        ),
        greedy(
            "attrs",
            "the key's attributes; secrets as queries (!password?)",
        ),
    ],
);
const KEYDEL: Cmd = Cmd::leaf(
    "del",
    "delete every key matching the attributes ('warden key del server=mail'), or with --all every \
     key",
    &[
        opt(
            "socket",
            "the factotum's socket (default from the configuration)",
        ),
        flag("all", "delete every key (no attributes given)"),
        greedy("attrs", "attributes the keys must match (at least one)"),
    ],
);
const KEYLIST: Cmd = Cmd::leaf(
    "list",
    "list the keys (secrets shown as !name?)",
    &[
        opt(
            "socket",
            "the factotum's socket (default from the configuration)",
        ),
        flag(
            "json",
            "print a JSON array, one object per key: its public attributes, and \"secrets\", the \
             names of its secret ones",
        ),
    ],
);
const KEYCONFIRM: Cmd = Cmd::leaf(
    "confirm",
    "show confirm requests and answer them (interactively, or --yes/--no TAG)",
    &[
        opt(
            "socket",
            "the factotum's socket (default from the configuration)",
        ),
        many("yes", "allow the request with this tag"),
        many("no", "refuse the request with this tag"),
        opt(
            "wait",
            "stop after this long without a request: 30s, 5m (default: never when interactive, 10s \
             with --yes/--no)",
        ),
    ],
);
pub const RPC: Cmd = Cmd::leaf(
    "rpc",
    "one rpc conversation from stdin, like '9p rdwr factotum/rpc': each line is written, each \
     reply printed",
    &[opt(
        "socket",
        "the factotum's socket (default from the configuration)",
    )],
);

/// The command from the words [`FACTOTUM`] took.
pub fn parse_factotum(p: &Parsed) -> Result<FactotumCmd, Fail> {
    let a = p.leaf();
    Ok(FactotumCmd {
        socket: a.opt_path("socket"),
        #[cfg(feature = "client")]
        secstore: a.opt("secstore"),
        #[cfg(feature = "client")]
        no_secstore: a.flag("no-secstore"),
    })
}

/// The command from the words [`KEY`] took.
pub fn parse_key(p: &Parsed) -> Result<KeyCmd, Fail> {
    let a = p.leaf();
    Ok(KeyCmd {
        cmd: match p.sub(2) {
            "add" => KeySub::Add(KeyAdd {
                socket: a.opt_path("socket"),
                save: a.flag("save"),
                attrs: a.strings("attrs"),
            }),
            "del" => KeySub::Del(KeyDel {
                socket: a.opt_path("socket"),
                all: a.flag("all"),
                attrs: a.strings("attrs"),
            }),
            "list" => KeySub::List(KeyList {
                socket: a.opt_path("socket"),
                json: a.flag("json"),
            }),
            "confirm" => KeySub::Confirm(KeyConfirm {
                socket: a.opt_path("socket"),
                yes: a.strings("yes"),
                no: a.strings("no"),
                wait: a.dur("wait")?,
            }),
            _ => return Err(p.unknown()),
        },
    })
}

/// The command from the words [`RPC`] took.
pub fn parse_rpc(p: &Parsed) -> Result<RpcCmd, Fail> {
    let a = p.leaf();
    Ok(RpcCmd {
        socket: a.opt_path("socket"),
    })
}
