//! CHAP: PPP's MD5 challenge handshake (RFC 1994; plan9port chap.c), so
//! pppd can authenticate through the agent.
//!
//! ```text
//! S -> C: challenge (any length; PPP peers send 16 bytes)
//! C -> S: user
//! C -> S: Chapreply: id (1 byte) || MD5(id || password || challenge) (16)
//! S -> C: ok | bad [msg]
//! ```
//!
//! The client needs `id=N` (0..255, the PPP packet's identifier) in its
//! start attributes. On `bad msg` the client answers the next rpc with
//! `badkey` and ends (a response is bound to the message id, so there is
//! no point retrying another key). The server role checks the reply
//! against the user's own key in this agent and reports the user in
//! authinfo.

use super::{want_some, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{self, Attrs};
use crate::auth::proto::key::Key;
use md5::{Digest, Md5};
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Challenge length the server sends.
pub const CHAP_CHALLEN: usize = 16;
/// id byte and MD5 digest.
pub const CHAPREPLY_LEN: usize = 17;

fn check(k: &Key) -> Result<(), String> {
    if k.get("user").is_none() || k.secret("!password").is_none() {
        return Err("need user and !password attributes".into());
    }
    Ok(())
}

/// MD5(id || secret || challenge).
pub fn response(id: u8, secret: &[u8], chal: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(chal);
    h.finalize().into()
}

/// C `strtol(s, &e, 10)` with nothing left over, as chap.c checks `id=`.
fn parse_id(s: &str) -> Result<u8, String> {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad id=n attr in start message".into());
    }
    match d.parse::<u16>() {
        Ok(n) if !neg && n < 256 => u8::try_from(n).map_err(|_| String::new()),
        Ok(0) => Ok(0),
        _ => Err("bad id=n attr in start message".into()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CPhase {
    FindKey,
    ReadChallenge,
    WriteUser,
    WriteResponse,
    ReadResult,
    /// Waiting for a replacement after the server said `bad`.
    ReplaceKey,
}

struct Client {
    id: u8,
    attr: Attrs,
    phase: CPhase,
    key: Option<Arc<Key>>,
    chal: Zeroizing<Vec<u8>>,
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            CPhase::FindKey => "find key",
            // chap.c sets "write user" only under a stray `if` for mschap,
            // so chap still says "read challenge" here
            CPhase::ReadChallenge | CPhase::WriteUser => "read challenge",
            CPhase::WriteResponse => "write response",
            CPhase::ReadResult => "read result",
            CPhase::ReplaceKey => "replace key",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            CPhase::FindKey => {
                // plan9port matches `id=` too, which no stored key can
                // carry (it changes with every PPP message): leave it out
                let mut a = self.attr.clone();
                a.remove("id");
                let q = format!("{} {}", a.to_wire().as_str(), CHAP.keyprompt);
                Need::Key(attr::parse(&q), Lookup::Fetch)
            }
            CPhase::ReadChallenge | CPhase::ReadResult | CPhase::ReplaceKey => Need::Write,
            CPhase::WriteUser | CPhase::WriteResponse => Need::Read,
        }
    }

    fn key(&mut self, ctx: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        let k = key.ok_or_else(|| Fail::msg("no key found"))?;
        let mut a = self.attr.clone();
        a.add(&k.attr);
        *ctx.attr = a;
        self.key = Some(k);
        self.phase = CPhase::ReadChallenge;
        Ok(())
    }

    fn read(&mut self, _: &mut Ctx) -> Result<Out, Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        if self.phase == CPhase::WriteUser {
            self.phase = CPhase::WriteResponse;
            return Ok(Out::more(k.get("user").unwrap_or("").as_bytes()));
        }
        let pw = k
            .secret("!password")
            .ok_or_else(|| Fail::msg("key has no password (cannot happen?)"))?;
        let mut r = Zeroizing::new(Vec::with_capacity(CHAPREPLY_LEN));
        r.push(self.id);
        r.extend_from_slice(&response(self.id, pw.as_bytes(), &self.chal));
        self.phase = CPhase::ReadResult;
        Ok(Out::more(r.to_vec()))
    }

    fn write(&mut self, _: &mut Ctx, data: &[u8]) -> Written {
        if let Some(w) = want_some(data) {
            return w;
        }
        if self.phase == CPhase::ReadChallenge {
            self.chal = Zeroizing::new(data.to_vec());
            self.phase = CPhase::WriteUser;
            return Written::Ok;
        }
        let res = String::from_utf8_lossy(super::cstr(data)).into_owned();
        if res == "ok" {
            return Written::Done;
        }
        match (res.strip_prefix("bad "), &self.key) {
            (Some(msg), Some(k)) => {
                self.phase = CPhase::ReplaceKey;
                Written::Fail(Fail::BadKey {
                    key: k.clone(),
                    msg: msg.to_string(),
                    retry: false,
                })
            }
            _ => Written::Fail(Fail::msg(format!("bad result: {res}"))),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SPhase {
    WriteChallenge,
    ReadUser,
    ReadResponse,
    Authwrite,
    WriteStatus,
}

struct Server {
    attr: Attrs,
    phase: SPhase,
    chal: [u8; CHAP_CHALLEN],
    user: String,
    resp: Zeroizing<Vec<u8>>,
    ok: bool,
}

impl Machine for Server {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.phase {
            SPhase::WriteChallenge => "write challenge",
            SPhase::ReadUser => "read user",
            SPhase::ReadResponse => "read response",
            SPhase::Authwrite => "authwrite",
            SPhase::WriteStatus => "write status",
        })
    }

    fn need(&self) -> Need {
        match self.phase {
            SPhase::WriteChallenge | SPhase::WriteStatus => Need::Read,
            SPhase::ReadUser | SPhase::ReadResponse => Need::Write,
            SPhase::Authwrite => {
                let mut q = self.attr.clone();
                q.remove("role");
                q.remove("id");
                q.set("user", &self.user);
                q.push(attr::Attr::query("!password"));
                Need::Key(q, Lookup::Find)
            }
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.ok = match (
            key.as_ref().and_then(|k| k.secret("!password")),
            self.resp.split_first(),
        ) {
            (Some(pw), Some((&id, got))) if self.resp.len() == CHAPREPLY_LEN => {
                let want = Zeroizing::new(response(id, pw.as_bytes(), &self.chal));
                crate::auth::ct_eq(&want[..], got)
            }
            _ => false,
        };
        self.phase = SPhase::WriteStatus;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        if self.phase == SPhase::WriteChallenge {
            ctx.env.random(&mut self.chal);
            self.phase = SPhase::ReadUser;
            return Ok(Out::more(self.chal.to_vec()));
        }
        if self.ok {
            ctx.attr.set("cuid", &self.user);
            ctx.attr.set("suid", ctx.sysuser);
            return Ok(Out::done("ok"));
        }
        Ok(Out::fail(
            "bad authentication failed",
            "authentication failed",
        ))
    }

    fn write(&mut self, _: &mut Ctx, data: &[u8]) -> Written {
        if let Some(w) = want_some(data) {
            return w;
        }
        if self.phase == SPhase::ReadUser {
            self.user = String::from_utf8_lossy(super::cstr(data)).into_owned();
            self.phase = SPhase::ReadResponse;
        } else {
            self.resp = Zeroizing::new(data.to_vec());
            self.phase = SPhase::Authwrite;
        }
        Written::Ok
    }
}

fn start(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    if role == "server" {
        return Ok(Box::new(Server {
            attr: attr.clone(),
            phase: SPhase::WriteChallenge,
            chal: [0; CHAP_CHALLEN],
            user: String::new(),
            resp: Zeroizing::new(Vec::new()),
            ok: false,
        }));
    }
    let id = match attr.get("id") {
        None | Some("") => return Err("need id=n attr in start message".into()),
        Some(s) => parse_id(s)?,
    };
    Ok(Box::new(Client {
        id,
        attr: attr.clone(),
        phase: CPhase::FindKey,
        key: None,
        chal: Zeroizing::new(Vec::new()),
    }))
}

pub static CHAP: Proto = Proto {
    name: "chap",
    roles: &["client", "server"],
    keyprompt: "user? !password?",
    check,
    start,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id("0"), Ok(0));
        assert_eq!(parse_id("255"), Ok(255));
        assert!(parse_id("256").is_err());
        assert!(parse_id("-1").is_err());
        assert!(parse_id("1x").is_err());
    }

    #[test]
    fn known_response() {
        // id 1, secret "secret", challenge 00 01 .. 0f: the MD5 of the
        // concatenation, computed independently with Python's hashlib:
        // hashlib.md5(b"\x01" + b"secret" + bytes(range(16))).hexdigest()
        let chal: Vec<u8> = (0u8..16).collect();
        let r = response(1, b"secret", &chal);
        assert_eq!(
            crate::auth::enc16(&r).to_lowercase(),
            "740e86463bda3a4d7017d6e0fba0699d"
        );
    }
}
