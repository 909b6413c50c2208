//! pass: a repository for a password; there is no server side.
//!
//! ```text
//! Client:
//!     start proto=pass ...
//!     read -> ok 'user' 'password'    (each quoted as %q)
//! ```
//!
//! The only protocol that discloses a secret, by design (plan9port
//! src/cmd/auth/factotum/pass.c).

use super::{no_check, Ctx, Fail, Lookup, Machine, Need, Out, Proto, Written};
use crate::auth::attr::{quote, quote_into, Attrs};
use crate::auth::proto::key::Key;
use std::borrow::Cow;
use std::sync::Arc;

struct Client {
    attr: Attrs,
    key: Option<Arc<Key>>,
}

impl Machine for Client {
    fn phase(&self) -> Cow<'static, str> {
        Cow::Borrowed(if self.key.is_some() {
            "write"
        } else {
            "nascent"
        })
    }

    fn need(&self) -> Need {
        match self.key {
            None => Need::Key(self.attr.clone(), Lookup::Fetch),
            Some(_) => Need::Read,
        }
    }

    fn key(&mut self, _: &mut Ctx, key: Option<Arc<Key>>) -> Result<(), Fail> {
        self.key = Some(key.ok_or_else(|| Fail::msg("no key found"))?);
        Ok(())
    }

    fn read(&mut self, _: &mut Ctx) -> Result<Out, Fail> {
        let k = self.key.as_ref().ok_or_else(|| Fail::msg("no key"))?;
        let (user, pw) = (
            k.get("user").unwrap_or(""),
            k.secret("!password").unwrap_or(""),
        );
        let mut s = zeroize::Zeroizing::new(String::with_capacity(2 * (user.len() + pw.len()) + 5));
        s.push_str(&quote(user));
        s.push(' ');
        // straight into the zeroized buffer: no stray copy of the password
        quote_into(&mut s, pw);
        Ok(Out::done(s.as_bytes()))
    }

    fn write(&mut self, _: &mut Ctx, _: &[u8]) -> Written {
        Written::Refuse("pass takes no writes".into())
    }
}

fn start(_role: &str, attr: &Attrs) -> Result<Box<dyn Machine>, String> {
    Ok(Box::new(Client {
        attr: attr.clone(),
        key: None,
    }))
}

pub static PASS: Proto = Proto {
    name: "pass",
    roles: &["client"],
    keyprompt: "user? !password?",
    check: no_check,
    start,
};
