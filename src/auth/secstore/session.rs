//! One secstored connection as a state machine (plan9port secstored.c's
//! dologin), sans-IO: records in, records out, the accounts and files
//! behind [`Backend`].
//!
//! ```text
//! C: secstore\tPAK\nC=..\nm=..\n   S: mu=..\nk=..\nS=..\n   C: k'=..\n
//! S: OK                                               (sealed from here)
//! C: GET name\n     S: size, then the file in records of up to 4096 bytes
//!                      (-1: none; "GET ." lists the files)
//! C: PUT name\n     C: size   C: the data         (nothing answered)
//! C: RM name\n                                   (nothing answered)
//! C: CHPASS         C: the new Hi in base64       (nothing answered)
//! C: BYE
//! ```
//!
//! Any failure is answered in-band (`!message`) and ends the connection,
//! as secstored does; nothing is written for a command that fails. Names
//! are at most 299 bytes without `/`, NUL or control characters, not `.`
//! or `..` and, unlike plan9port, not starting with `.` (the store's own
//! temporary files do).

use super::pak::{self, Hello, RAND_LEN};
use super::sconn::{Channel, Split, MAXMSG};
use crate::auth::bignum::Nat;
use zeroize::Zeroizing;

/// secstore.h's MAXFILESIZE: no file is bigger, whatever the quota.
pub const MAXFILESIZE: u64 = 10 * 1024 * 1024;
/// Bytes a stored file has beyond its plaintext (IV block and check).
pub const FILE_OVERHEAD: u64 = 32;

/// Accounts and files, as the session needs them. Errors are the text
/// the client is told.
pub trait Backend {
    /// The PAK verifier Hi of `user`'s secstore. Ok(None): no such
    /// account or no secstore (the exchange goes on with a made-up
    /// verifier and fails, as for a wrong password). Err: refused now
    /// (keyfs locked, account disabled, expired or in purgatory).
    fn verifier(&mut self, user: &str) -> Result<Option<Nat>, String>;
    /// A failed login (a proof that did not match).
    fn bad(&mut self, user: &str);
    fn good(&mut self, user: &str);
    fn set_verifier(&mut self, user: &str, hi: &Nat) -> Result<(), String>;
    /// The listing `GET .` sends (secstored's dirls).
    fn list(&mut self, user: &str) -> Result<Vec<u8>, String>;
    /// A stored file; Ok(None) when there is none.
    fn get(&mut self, user: &str, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String>;
    /// May `user` store `len` bytes as `name` (quotas)?
    fn may_put(&mut self, user: &str, name: &str, len: u64) -> Result<(), String>;
    /// Store a file whole (atomically).
    fn put(&mut self, user: &str, name: &str, data: &[u8]) -> Result<(), String>;
    fn remove(&mut self, user: &str, name: &str) -> Result<(), String>;
}

/// What to do with the connection after a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// Send these bytes (whole records; maybe none) and go on.
    Send(Vec<u8>),
    /// Send these, then close.
    SendClose(Vec<u8>),
}

enum State {
    Hello,
    Proof {
        user: String,
        real: bool,
        server: pak::Server,
    },
    Ready {
        user: String,
    },
    PutSize {
        user: String,
        name: String,
    },
    PutData {
        user: String,
        name: String,
        left: u64,
        got: Zeroizing<Vec<u8>>,
    },
    ChPass {
        user: String,
    },
    Done,
}

/// Check a file name as a client gives it (after `GET `, `PUT `, `RM `).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("no file name".into());
    }
    if name.len() >= 300 {
        return Err(format!("file name of {} bytes (at most 299)", name.len()));
    }
    if name.contains('/') {
        return Err("no slashes allowed in file names".into());
    }
    if name.chars().any(char::is_control) {
        return Err("no NUL or control characters allowed in file names".into());
    }
    if name.starts_with('.') {
        return Err("file names may not start with '.'".into());
    }
    Ok(())
}

/// Login events for the service's counters and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Login(String),
    Failed(String),
}

/// One connection.
pub struct Session {
    ch: Channel,
    state: State,
    name: String,
    /// What happened, for the service to log and count (taken by it).
    pub events: Vec<Event>,
}

impl Session {
    /// A connection to the server called `name` (the client is told it).
    pub fn new(name: &str) -> Session {
        Session {
            ch: Channel::new(),
            state: State::Hello,
            name: name.to_string(),
            events: Vec::new(),
        }
    }

    /// Where the next record ends in what the client sent.
    pub fn split(&self, buf: &[u8]) -> Split {
        self.ch.split(buf)
    }

    /// Logged in as (after the PAK).
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Ready { user }
            | State::PutSize { user, .. }
            | State::PutData { user, .. }
            | State::ChPass { user } => Some(user),
            _ => None,
        }
    }

    /// The connection ended (hung up, timed out, or gave up): a client
    /// that leaves between the server's proof and its own has tried a
    /// password and learnt it was wrong, so that is a failed login.
    pub fn closed(&mut self, be: &mut dyn Backend) {
        if let State::Proof { user, real, .. } = std::mem::replace(&mut self.state, State::Done) {
            if real {
                be.bad(&user);
            }
            self.events.push(Event::Failed(user));
        }
    }

    fn fail(&mut self, mut out: Vec<u8>, msg: &str) -> Out {
        out.extend(self.ch.seal_error(msg));
        self.state = State::Done;
        Out::SendClose(out)
    }

    /// One record's body; `rand` gives the server's secret exponent.
    pub fn record(&mut self, body: &[u8], be: &mut dyn Backend, rand: &[u8; RAND_LEN]) -> Out {
        let data = match self.ch.open(body) {
            Ok(d) => d,
            Err(e) => {
                // a sealed record that fails its MAC: nothing it asked is done
                return self.fail(Vec::new(), &e.to_string());
            }
        };
        if data.first() == Some(&b'!') {
            // the client gave up, telling why (after the server's proof:
            // it has learnt its guess was wrong, and that counts)
            self.closed(be);
            self.state = State::Done;
            return Out::SendClose(Vec::new());
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Hello => self.hello(&data, be, rand),
            State::Proof { user, real, server } => match server.finish(&data) {
                Ok(key) if real => {
                    be.good(&user);
                    self.events.push(Event::Login(user.clone()));
                    self.ch.set_secret(&key[..], true);
                    let ok = self.seal(b"OK");
                    self.state = State::Ready { user };
                    Out::Send(ok)
                }
                // secstored answers a wrong proof by hanging up
                Ok(_) | Err(pak::PakError::Mismatch) => {
                    if real {
                        be.bad(&user);
                    }
                    self.events.push(Event::Failed(user));
                    Out::SendClose(Vec::new())
                }
                Err(e) => {
                    if real {
                        be.bad(&user);
                    }
                    self.events.push(Event::Failed(user));
                    self.fail(Vec::new(), &e.to_string())
                }
            },
            State::Ready { user } => self.command(user, &data, be),
            State::PutSize { user, name } => self.put_size(user, name, &data, be),
            State::PutData {
                user,
                name,
                left,
                mut got,
            } => {
                let n = data.len() as u64;
                if n > left {
                    return self.fail(Vec::new(), "PUT: more data than its size said");
                }
                got.extend_from_slice(&data);
                self.put_more(user, name, left - n, got, be)
            }
            State::ChPass { user } => {
                let text = String::from_utf8_lossy(&data);
                let hi = pak::parse_b64(&text);
                let Some(hi) = hi.filter(|h| !h.is_zero()) else {
                    return self.fail(Vec::new(), "CHPASS: the new verifier is not a number");
                };
                match be.set_verifier(&user, &hi) {
                    Ok(()) => {
                        log::info!("secstore: {user} changed the password");
                        self.state = State::Ready { user };
                        Out::Send(Vec::new())
                    }
                    Err(e) => self.fail(Vec::new(), &format!("CHPASS: {e}")),
                }
            }
            State::Done => Out::SendClose(Vec::new()),
        }
    }

    fn seal(&mut self, data: &[u8]) -> Vec<u8> {
        self.ch.seal(data).unwrap_or_default()
    }

    fn hello(&mut self, data: &[u8], be: &mut dyn Backend, rand: &[u8; RAND_LEN]) -> Out {
        let h: Hello<'_> = match pak::parse_hello(data) {
            Ok(h) => h,
            Err(e) => return self.fail(Vec::new(), &e.to_string()),
        };
        let user = h.user.to_string();
        let hi = match be.verifier(&user) {
            Ok(v) => v,
            Err(e) => return self.fail(Vec::new(), &e),
        };
        if h.is_probe() {
            // plan9port answers this for every name (FICTITIOUS)
            return self.fail(Vec::new(), "account exists");
        }
        let real = hi.is_some();
        // An unknown user gets a verifier nobody knows the password of.
        let hi = hi.unwrap_or_else(|| {
            use sha1::Digest;
            let g = pak::group();
            let mut h = sha1::Sha1::new();
            h.update(b"secstore fictitious");
            h.update(rand);
            let e = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
            let e = Nat::from_be_bytes(&e[..]).unwrap_or(Nat::ZERO);
            g.p.pow_ct(&g.g, &e, 160)
        });
        let (server, answer) = pak::Server::answer(&h, &hi, &self.name, rand);
        let out = self.seal(&answer);
        self.state = State::Proof { user, real, server };
        Out::Send(out)
    }

    fn command(&mut self, user: String, data: &[u8], be: &mut dyn Backend) -> Out {
        let line = String::from_utf8_lossy(data);
        let arg = |p: &str| {
            line.strip_prefix(p)
                .map(|r| r.split('\n').next().unwrap_or(""))
        };
        if let Some(name) = arg("GET ") {
            let name = name.to_string();
            if name == "." {
                return match be.list(&user) {
                    Ok(l) => {
                        let out = self.send_file(&l);
                        self.state = State::Ready { user };
                        Out::Send(out)
                    }
                    Err(e) => self.fail(Vec::new(), &format!("GET .: {e}")),
                };
            }
            if let Err(e) = check_name(&name) {
                return self.fail(Vec::new(), &e);
            }
            return match be.get(&user, &name) {
                Ok(Some(f)) => {
                    let out = self.send_file(&f);
                    self.state = State::Ready { user };
                    Out::Send(out)
                }
                Ok(None) => {
                    let out = self.seal(b"-1");
                    self.fail(out, "operation failed")
                }
                Err(e) => {
                    let out = self.seal(b"-1");
                    self.fail(out, &format!("GET {name}: {e}"))
                }
            };
        }
        if let Some(name) = arg("PUT ") {
            if let Err(e) = check_name(name) {
                return self.fail(Vec::new(), &e);
            }
            self.state = State::PutSize {
                user,
                name: name.to_string(),
            };
            return Out::Send(Vec::new());
        }
        if let Some(name) = arg("RM ") {
            if let Err(e) = check_name(name) {
                return self.fail(Vec::new(), &e);
            }
            return match be.remove(&user, name) {
                Ok(()) => {
                    self.state = State::Ready { user };
                    Out::Send(Vec::new())
                }
                Err(e) => self.fail(Vec::new(), &format!("remove failed: {e}")),
            };
        }
        if line.starts_with("CHPASS") {
            self.state = State::ChPass { user };
            return Out::Send(Vec::new());
        }
        if line.starts_with("BYE") {
            self.state = State::Done;
            return Out::SendClose(Vec::new());
        }
        self.fail(Vec::new(), "unrecognized operation")
    }

    fn put_size(&mut self, user: String, name: String, data: &[u8], be: &mut dyn Backend) -> Out {
        let text = String::from_utf8_lossy(data);
        let Ok(len) = text.trim().parse::<i64>() else {
            return self.fail(Vec::new(), &format!("PUT {name}: the size is not a number"));
        };
        if len < 0 || len as u64 > MAXFILESIZE {
            return self.fail(
                Vec::new(),
                &format!("PUT {name}: implausible file size {len} (at most {MAXFILESIZE})"),
            );
        }
        if let Err(e) = be.may_put(&user, &name, len as u64) {
            return self.fail(Vec::new(), &format!("PUT {name}: {e}"));
        }
        let data = Zeroizing::new(Vec::with_capacity((len as usize).min(1 << 16)));
        self.put_more(user, name, len as u64, data, be)
    }

    fn put_more(
        &mut self,
        user: String,
        name: String,
        left: u64,
        data: Zeroizing<Vec<u8>>,
        be: &mut dyn Backend,
    ) -> Out {
        if left > 0 {
            self.state = State::PutData {
                user,
                name,
                left,
                got: data,
            };
            return Out::Send(Vec::new());
        }
        match be.put(&user, &name, &data) {
            Ok(()) => {
                log::info!("secstore: {user} stored {name} ({} bytes)", data.len());
                self.state = State::Ready { user };
                Out::Send(Vec::new())
            }
            Err(e) => self.fail(Vec::new(), &format!("PUT {name}: {e}")),
        }
    }

    /// Size, then the bytes in MAXMSG records (secstored's getfile).
    fn send_file(&mut self, f: &[u8]) -> Vec<u8> {
        let mut out = self.seal(f.len().to_string().as_bytes());
        for chunk in f.chunks(MAXMSG) {
            out.extend(self.seal(chunk));
        }
        out
    }
}

/// Accounts and files in memory: for tests, benchmarks and the
/// transcript recorder (the listing's dates are all the epoch, so a
/// replay answers byte for byte).
#[derive(Default)]
pub struct Memory {
    pub hi: std::collections::BTreeMap<String, Nat>,
    pub files: std::collections::BTreeMap<(String, String), Vec<u8>>,
    pub bad: Vec<String>,
    pub good: Vec<String>,
    pub locked: bool,
    /// 0: no limit.
    pub max_files: usize,
    pub max_bytes: u64,
}

impl Memory {
    /// An account with the verifier of `password`.
    pub fn add(&mut self, user: &str, password: &[u8]) {
        self.hi.insert(user.into(), pak::verifier(user, password).1);
    }
}

impl Backend for Memory {
    fn verifier(&mut self, user: &str) -> Result<Option<Nat>, String> {
        if self.locked {
            return Err("keyfs is locked".into());
        }
        Ok(self.hi.get(user).cloned())
    }
    fn bad(&mut self, user: &str) {
        self.bad.push(user.into());
    }
    fn good(&mut self, user: &str) {
        self.good.push(user.into());
    }
    fn set_verifier(&mut self, user: &str, hi: &Nat) -> Result<(), String> {
        self.hi.insert(user.into(), hi.clone());
        Ok(())
    }
    fn list(&mut self, user: &str) -> Result<Vec<u8>, String> {
        use sha1::Digest;
        let v: Vec<_> = self
            .files
            .iter()
            .filter(|((u, _), _)| u == user)
            .map(|((_, n), d)| (n.clone(), d.len() as u64, 0, sha1::Sha1::digest(d).into()))
            .collect();
        Ok(super::files::listing(&v).into_bytes())
    }
    fn get(&mut self, user: &str, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        Ok(self
            .files
            .get(&(user.into(), name.into()))
            .map(|d| Zeroizing::new(d.clone())))
    }
    fn may_put(&mut self, user: &str, name: &str, len: u64) -> Result<(), String> {
        let n = self
            .files
            .keys()
            .filter(|(u, f)| u == user && f != name)
            .count();
        if self.max_files > 0 && n + 1 > self.max_files {
            return Err(format!("quota: at most {} files", self.max_files));
        }
        if self.max_bytes > 0 && len > self.max_bytes {
            return Err(format!("quota: at most {} bytes", self.max_bytes));
        }
        Ok(())
    }
    fn put(&mut self, user: &str, name: &str, data: &[u8]) -> Result<(), String> {
        self.files.insert((user.into(), name.into()), data.to_vec());
        Ok(())
    }
    fn remove(&mut self, user: &str, name: &str) -> Result<(), String> {
        self.files
            .remove(&(user.into(), name.into()))
            .map(|_| ())
            .ok_or_else(|| format!("{name} does not exist"))
    }
}

#[cfg(test)]
mod tests;
