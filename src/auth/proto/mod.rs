//! Authentication protocols, one file each, as sans-IO state machines.
//!
//! A conversation drives a [`Machine`]: it asks what the machine needs
//! ([`Machine::need`]) and feeds it a key, an rpc `read` (the machine
//! produces bytes for the peer) or an rpc `write` (bytes from the peer).
//! A machine never blocks and never does I/O; time and randomness come
//! through [`Env`]. Its [`Machine::phase`] is the state name that `phase`
//! replies and error messages carry; the names are plan9port's (`find key`,
//! `read challenge`, `write user`, ...), so transcripts match.

pub mod apop;
pub mod chap;
pub mod dp9ik;
pub mod hotp;
pub mod key;
pub mod otp;
pub mod p9any;
pub mod p9sk1;
pub mod pass;
pub mod totp;

use crate::auth::attr::Attrs;
use crate::auth::proto::key::{Key, Ring};
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Largest message a machine accepts from an rpc write in one piece; what
/// it asks for (`toosmall 4096`) when a write is empty (libauth's
/// `AuthRpcMax`).
pub const AUTH_RPC_MAX: usize = 4096;

/// The world a machine may look at: the clock and a random source.
pub trait Env: Send {
    /// Seconds since 1970-01-01 UTC.
    fn now(&self) -> u64;
    /// Fill `buf` with unpredictable bytes.
    fn random(&mut self, buf: &mut [u8]);
    /// Ask the authentication server of `authdom` for tickets: send the
    /// 141-byte ticket request `req`, return what it answered (AuthOK and
    /// two tickets, or AuthErr and its message). `auth` is the key's
    /// `auth=` attribute (`host`, `host!port` or `tcp!host!port`) when it
    /// has one.
    ///
    /// This is the one place a protocol machine reaches the network, and it
    /// does so through the environment, which does the I/O: the daemon's
    /// [`SystemEnv`](crate::auth::factotum::SystemEnv) answers from its own
    /// ticket service or dials `auth` on TCP; tests answer from a script.
    /// The default has no ticket service at all.
    fn ticket(&mut self, authdom: &str, auth: Option<&str>, req: &[u8]) -> Result<Vec<u8>, String> {
        let _ = (auth, req);
        Err(format!("no auth server known for domain {authdom}"))
    }
    /// The same for dp9ik: `req` is an AuthPAK request, the server's and
    /// the client's public keys and an AuthTreq (141 + 56 + 56 + 141
    /// bytes, sent at once on one connection); the answer is AuthOK and
    /// the auth server's two public keys, then AuthOK and two form1
    /// tickets (or an AuthErr wherever one came).
    fn pak_tickets(
        &mut self,
        authdom: &str,
        auth: Option<&str>,
        req: &[u8],
    ) -> Result<Vec<u8>, String> {
        let _ = (auth, req);
        Err(format!("no auth server known for domain {authdom}"))
    }
    /// Keep a capability's hash (HMAC-SHA1 of `userid1@userid2` keyed with
    /// the random part) so that the capability can be traded in once; true
    /// when it is kept. The default keeps nothing, and then no capability
    /// is handed out.
    fn caphash(&mut self, hash: [u8; 20]) -> bool {
        let _ = hash;
        false
    }
}

/// What a machine may touch while it runs.
pub struct Ctx<'a> {
    /// The key ring (protocols with state in keys, like an HOTP counter,
    /// update it here).
    pub ring: &'a mut Ring,
    pub env: &'a mut dyn Env,
    /// Who opened the rpc file (reported as the server uid).
    pub sysuser: &'a str,
    /// The conversation's attributes (`attr` verb, authinfo fields).
    pub attr: &'a mut Attrs,
}

/// How a machine wants a key found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// `keyfetch`: honours `confirm`, asks through needkey when none.
    Fetch,
    /// `keylookup`: the first match or none (server roles).
    Find,
}

/// What a machine waits for.
#[derive(Debug)]
pub enum Need {
    /// A key matching these attributes.
    Key(Attrs, Lookup),
    /// An rpc `read`: it has bytes for the peer.
    Read,
    /// An rpc `write`: it wants bytes from the peer.
    Write,
}

/// The answer to an rpc `read`.
pub struct Out {
    pub data: Zeroizing<Vec<u8>>,
    /// The protocol finished successfully with this message.
    pub done: bool,
    /// The protocol failed after this message (a server's `bad ...`).
    pub fail: Option<String>,
}

impl Out {
    pub fn more(data: impl Into<Vec<u8>>) -> Out {
        Out {
            data: Zeroizing::new(data.into()),
            done: false,
            fail: None,
        }
    }
    pub fn done(data: impl Into<Vec<u8>>) -> Out {
        Out {
            done: true,
            ..Out::more(data)
        }
    }
    pub fn fail(data: impl Into<Vec<u8>>, why: &str) -> Out {
        Out {
            fail: Some(why.to_string()),
            ..Out::more(data)
        }
    }
}

/// The outcome of an rpc `write`.
pub enum Written {
    /// Accepted (reply `ok`).
    Ok,
    /// Accepted, and the protocol finished successfully.
    Done,
    /// Too short: reply `toosmall n`, the machine still waits.
    TooSmall(usize),
    /// Refused: reply `error msg`, the machine still waits.
    Refuse(String),
    /// Accepted (reply `ok`), then the protocol failed.
    Fail(Fail),
}

/// How a protocol failed.
pub enum Fail {
    /// Plain failure with a message.
    Error(String),
    /// The peer said the key is bad. With `retry`, a replacement key
    /// (added after the `badkey` reply) is tried; without, the message
    /// ends the conversation.
    BadKey {
        key: Arc<Key>,
        msg: String,
        retry: bool,
    },
}

impl Fail {
    pub fn msg(m: impl Into<String>) -> Fail {
        Fail::Error(m.into())
    }
}

/// A protocol role in progress.
pub trait Machine: Send {
    /// The current phase's name.
    fn phase(&self) -> Cow<'static, str>;
    /// What the machine waits for now.
    fn need(&self) -> Need;
    /// The key asked for (`None` only for [`Lookup::Find`] with no match).
    fn key(&mut self, ctx: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail>;
    /// Produce the next message (called only when `need` is `Read`).
    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail>;
    /// Take a message (called only when `need` is `Write`).
    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written;
}

/// A protocol: its name, roles, the attributes its keys need, the check
/// run when a key is added and the constructor of a role's machine.
pub struct Proto {
    pub name: &'static str,
    pub roles: &'static [&'static str],
    /// Required key attributes (`keyprompt`), or "".
    pub keyprompt: &'static str,
    /// Checks a key when it is added (`checkkey`).
    pub check: fn(&Key) -> Result<(), String>,
    /// Starts `role` (one of `roles`) with the start attributes. An error
    /// ends the conversation after the start's `ok`, as in plan9port.
    pub start: StartFn,
}

/// Starts a role's machine.
pub type StartFn = fn(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String>;

/// Every protocol, in the order the `proto` file lists them.
pub static PROTOS: [&Proto; 9] = [
    &apop::APOP,
    &chap::CHAP,
    &apop::CRAM,
    &dp9ik::DP9IK,
    &hotp::HOTP,
    &p9any::P9ANY,
    &p9sk1::P9SK1,
    &pass::PASS,
    &totp::TOTP,
];

pub fn lookup(name: &str) -> Option<&'static Proto> {
    PROTOS.iter().copied().find(|p| p.name == name)
}

/// A check that accepts every key.
pub fn no_check(_: &Key) -> Result<(), String> {
    Ok(())
}

/// The bytes of a message up to the first NUL, as the C code sees a string
/// written to it.
pub fn cstr(data: &[u8]) -> &[u8] {
    match data.iter().position(|&b| b == 0) {
        Some(i) => data.get(..i).unwrap_or(data),
        None => data,
    }
}

/// `convreadm`: any non-empty message; an empty one gets `toosmall 4096`.
pub fn want_some(data: &[u8]) -> Option<Written> {
    if data.is_empty() {
        Some(Written::TooSmall(AUTH_RPC_MAX))
    } else {
        None
    }
}

/// Parse a `digits=` style small number attribute.
pub fn num_attr<T: std::str::FromStr>(attr: &Attrs, name: &str, default: T) -> Result<T, String> {
    match attr.get(name) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| format!("bad {name}={s}")),
    }
}
