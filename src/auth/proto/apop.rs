//! APOP and CRAM: MD5 challenge/response (plan9port apop.c).
//!
//! ```text
//! S -> C: random@domain                  (the challenge)
//! C -> S: user
//! C -> S: hex response                   (uppercase, as plan9port's %H)
//! S -> C: ok | bad [msg]
//! ```
//!
//! apop's response is MD5(challenge || password) (RFC 1939); cram's is
//! HMAC-MD5 keyed with the password (RFC 2195). After `bad msg` the client
//! answers the next rpc with `badkey`, and tries a replacement key if one
//! was added. The server role checks the response against the user's own
//! key in this agent (`proto=apop user=U !password=...`) instead of asking
//! an auth server; on success authinfo's client uid is the user.

use super::{want_some, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{self, Attrs};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

fn check(k: &Key) -> Result<(), String> {
    if k.get("user").is_none() || k.secret("!password").is_none() {
        return Err("need user and !password attributes".into());
    }
    Ok(())
}

pub use crate::auth::authsrv::wire::{apop_response as response, hmac_md5};

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
    cram: bool,
    attr: Attrs,
    phase: CPhase,
    ntry: u32,
    key: Option<Arc<Key>>,
    chal: Option<Zeroizing<Vec<u8>>>,
}

impl Client {
    fn use_key(&mut self, ctx: &mut Ctx, k: Arc<Key>) {
        let mut a = self.attr.clone();
        a.add(&k.attr);
        *ctx.attr = a;
        self.key = Some(k);
    }
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        match self.phase {
            CPhase::FindKey => "find key".into(),
            CPhase::ReadChallenge => "read challenge".into(),
            CPhase::WriteUser if self.ntry > 1 => {
                format!("write user (auth attempt #{})", self.ntry).into()
            }
            CPhase::WriteUser => "write user".into(),
            CPhase::WriteResponse => "write response".into(),
            CPhase::ReadResult => "read result".into(),
            CPhase::ReplaceKey => "replace key".into(),
        }
    }

    fn need(&self) -> Need {
        match self.phase {
            CPhase::FindKey => {
                let q = format!("{} {}", self.attr.to_wire().as_str(), APOP.keyprompt);
                Need::Key(attr::parse(&q), Lookup::Fetch)
            }
            CPhase::ReadChallenge | CPhase::ReadResult | CPhase::ReplaceKey => Need::Write,
            CPhase::WriteUser | CPhase::WriteResponse => Need::Read,
        }
    }

    fn key(&mut self, ctx: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        let k = key.ok_or_else(|| Fail::msg("no key found"))?;
        if self.phase == CPhase::FindKey {
            self.key = Some(k);
            self.phase = CPhase::ReadChallenge;
        } else {
            // a replacement after `bad`
            self.ntry += 1;
            self.use_key(ctx, k);
            self.phase = CPhase::WriteUser;
        }
        Ok(())
    }

    fn read(&mut self, _: &mut Ctx) -> Result<Out, Fail> {
        let k = self.key.clone().ok_or_else(|| Fail::msg("no key"))?;
        match self.phase {
            CPhase::WriteUser => {
                self.phase = CPhase::WriteResponse;
                Ok(Out::more(k.get("user").unwrap_or("").as_bytes()))
            }
            _ => {
                let pw = k
                    .secret("!password")
                    .ok_or_else(|| Fail::msg("key has no password (cannot happen?)"))?;
                let chal = self.chal.as_deref().map(Vec::as_slice).unwrap_or_default();
                let r = Zeroizing::new(response(self.cram, chal, pw.as_bytes()));
                self.phase = CPhase::ReadResult;
                Ok(Out::more(crate::auth::enc16(&r[..]).as_bytes()))
            }
        }
    }

    fn write(&mut self, ctx: &mut Ctx, data: &[u8]) -> Written {
        if let Some(w) = want_some(data) {
            return w;
        }
        if self.phase == CPhase::ReadChallenge {
            self.chal = Some(Zeroizing::new(data.to_vec()));
            if let Some(k) = self.key.clone() {
                self.use_key(ctx, k);
            }
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
                    retry: true,
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
    cram: bool,
    attr: Attrs,
    phase: SPhase,
    chal: String,
    user: String,
    resp: Zeroizing<String>,
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
                q.set("user", &self.user);
                q.push(attr::Attr::query("!password"));
                Need::Key(q, Lookup::Find)
            }
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.ok = match key.as_ref().and_then(|k| k.secret("!password")) {
            Some(pw) => {
                let want = Zeroizing::new(response(self.cram, self.chal.as_bytes(), pw.as_bytes()));
                let want = Zeroizing::new(crate::auth::enc16(&want[..]));
                let got = Zeroizing::new(self.resp.to_ascii_uppercase());
                crate::auth::ct_eq(want.as_bytes(), got.as_bytes())
            }
            None => false,
        };
        self.phase = SPhase::WriteStatus;
        Ok(())
    }

    fn read(&mut self, ctx: &mut Ctx) -> Result<Out, Fail> {
        if self.phase == SPhase::WriteChallenge {
            let mut r = [0u8; 8];
            ctx.env.random(&mut r);
            let dom = self.attr.get("dom").unwrap_or("factotum");
            let [a, b, c, d, e, f, g, h] = r;
            self.chal = format!(
                "<{}.{}@{}>",
                u32::from_be_bytes([a, b, c, d]),
                u32::from_be_bytes([e, f, g, h]),
                dom
            );
            self.phase = SPhase::ReadUser;
            return Ok(Out::more(self.chal.as_bytes()));
        }
        if self.ok {
            ctx.attr.set("cuid", &self.user);
            ctx.attr.set("suid", ctx.sysuser);
            return Ok(Out::done("ok"));
        }
        // plan9port's server lets the client try again
        self.phase = SPhase::ReadUser;
        Ok(Out::more("bad authentication failed"))
    }

    fn write(&mut self, _: &mut Ctx, data: &[u8]) -> Written {
        if let Some(w) = want_some(data) {
            return w;
        }
        let s = String::from_utf8_lossy(super::cstr(data)).into_owned();
        if self.phase == SPhase::ReadUser {
            self.user = s;
            self.phase = SPhase::ReadResponse;
        } else {
            self.resp = Zeroizing::new(s);
            self.phase = SPhase::Authwrite;
        }
        Written::Ok
    }
}

fn start_common(cram: bool, role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    if role == "server" {
        return Ok(Box::new(Server {
            cram,
            attr: attr.clone(),
            phase: SPhase::WriteChallenge,
            chal: String::new(),
            user: String::new(),
            resp: Zeroizing::new(String::new()),
            ok: false,
        }));
    }
    Ok(Box::new(Client {
        cram,
        attr: attr.clone(),
        phase: CPhase::FindKey,
        ntry: 1,
        key: None,
        chal: None,
    }))
}

fn start_apop(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    start_common(false, role, attr)
}

fn start_cram(role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    start_common(true, role, attr)
}

pub static APOP: Proto = Proto {
    name: "apop",
    roles: &["client", "server"],
    keyprompt: "user? !password?",
    check,
    start: start_apop,
};

pub static CRAM: Proto = Proto {
    name: "cram",
    roles: &["client", "server"],
    keyprompt: "user? !password?",
    check,
    start: start_cram,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        crate::auth::enc16(b).to_lowercase()
    }

    #[test]
    fn rfc2104_hmac_md5() {
        assert_eq!(
            hex(&hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            hex(&hmac_md5(&[0xaa; 16], &[0xdd; 50])),
            "56be34521d144c88dbb8c733f0e8b3f6"
        );
    }

    #[test]
    fn rfc1939_apop() {
        // RFC 1939 section 7
        let r = response(false, b"<1896.697170952@dbc.mtview.ca.us>", b"tanstaaf");
        assert_eq!(hex(&r), "c4c9334bac560ecc979e58001b3e22fb");
    }

    #[test]
    fn rfc2195_cram() {
        let r = response(
            true,
            b"<1896.697170952@postoffice.reston.mci.net>",
            b"tanstaaftanstaaf",
        );
        assert_eq!(hex(&r), "b913a602c7eda7a495b4e6e7334d3890");
    }
}
