//! The ticket service's decisions, sans-IO: a request's bytes in, the reply's
//! bytes out. Follows Plan 9's authsrv `ticketrequest`:
//!
//! ```text
//! C->AS  Ticketreq{AuthTreq, authid, authdom, chal, hostid, uid}
//! AS->C  AuthOK, Tc = {AuthTc, chal, cuid=hostid, suid=uid, K} in key(hostid),
//!                Ts = {AuthTs, chal, cuid=hostid, suid=uid, K} in key(authid)
//! ```
//!
//! Unknown users, and a host owner that may not speak for `uid`, get tickets
//! in made-up keys, so the reply never tells which names exist; the client
//! simply fails to decrypt. K is a fresh random session key.

use super::des::DESKEYLEN;
use super::wire::{auth_err, types, FormatError, Ticket, Ticketreq, TICKETLEN, TICKREQLEN};

/// What the ticket service needs from the user database.
pub trait Accounts {
    /// The user's Plan 9 DES key, or None when the user is unknown,
    /// disabled, expired or sitting out a lockout.
    fn des_key(&self, user: &str) -> Option<[u8; DESKEYLEN]>;
    /// The user's AES key (9front passtoaeskey, for AuthPAK), on the same
    /// conditions. None, or all zeros, means the account has none.
    fn aes_key(&self, user: &str) -> Option<[u8; 16]> {
        let _ = user;
        None
    }
    /// The user's challenge/response secret (keyfs `secret`, used by
    /// AuthApop, AuthCram and AuthChap), on the same conditions.
    fn secret(&self, user: &str) -> Option<zeroize::Zeroizing<String>> {
        let _ = user;
        None
    }
    /// A failed proof by `user` (keyfs's failure count: purgatory and
    /// disabling apply).
    fn bad(&self, user: &str) {
        let _ = user;
    }
    /// A successful proof: the failure count resets.
    fn good(&self, user: &str) {
        let _ = user;
    }
    /// Set `user`'s password (AuthPass, after the old one was proven).
    fn set_password(&self, user: &str, password: &str) -> Result<(), String> {
        let _ = (user, password);
        Err("password changes are not supported here".into())
    }
}

/// No accounts at all: every key is unknown.
pub struct NoAccounts;

impl Accounts for NoAccounts {
    fn des_key(&self, _: &str) -> Option<[u8; DESKEYLEN]> {
        None
    }
}

/// Who may speak for whom: Plan 9's speaks-for rule. A host owner speaks
/// for itself always, and for the users listed for it (`*` for anyone).
/// The configuration's vocabulary ([`crate::config::SpeaksFor`]).
pub use crate::config::SpeaksFor;

/// What to do with a connection after a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes and wait for the next request.
    Send(Vec<u8>),
    /// Send these bytes (maybe none) and close: the request was not
    /// something this service answers.
    Close(Vec<u8>, String),
}

/// Outcome of a ticket request, for the log (never secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub uid: String,
    pub hostid: String,
    pub authid: String,
    /// Empty when both keys were real and speaks-for held.
    pub problems: Vec<&'static str>,
}

/// Answer one 141-byte request that needs no further messages (AuthTreq):
/// what the in-process ticket service answers. `random` fills buffers with
/// fresh random bytes.
pub fn handle(
    req: &[u8],
    db: &dyn Accounts,
    speaks: &SpeaksFor,
    random: &mut dyn FnMut(&mut [u8]),
) -> (Reply, Option<Logged>) {
    match parse(req) {
        Ok(tr) => answer(&tr, db, speaks, random),
        Err(r) => (r, None),
    }
}

/// A request's bytes as a Ticketreq, or the reply that closes the
/// connection: nothing for a short read, AuthErr for a bad request.
pub(super) fn parse(req: &[u8]) -> Result<Ticketreq, Reply> {
    Ticketreq::parse(req).map_err(|e| match e {
        FormatError::Length { .. } => Reply::Close(Vec::new(), e.to_string()),
        e => Reply::Close(auth_err("bad ticket request").to_vec(), e.to_string()),
    })
}

/// The one-message requests: AuthTreq gets its two tickets; any type the
/// caller does not handle itself is refused by name.
pub(super) fn answer(
    tr: &Ticketreq,
    db: &dyn Accounts,
    speaks: &SpeaksFor,
    random: &mut dyn FnMut(&mut [u8]),
) -> (Reply, Option<Logged>) {
    match tr.ty {
        types::AUTH_TREQ => {
            let (bytes, logged) = ticket_request(tr, db, speaks, random);
            (Reply::Send(bytes), Some(logged))
        }
        other => (
            Reply::Close(
                auth_err(&format!("unsupported request type {other}")).to_vec(),
                format!("unsupported request type {other}"),
            ),
            None,
        ),
    }
}

pub(super) fn made_up(random: &mut dyn FnMut(&mut [u8])) -> [u8; DESKEYLEN] {
    let mut k = [0u8; DESKEYLEN];
    random(&mut k);
    k
}

fn ticket_request(
    tr: &Ticketreq,
    db: &dyn Accounts,
    speaks: &SpeaksFor,
    random: &mut dyn FnMut(&mut [u8]),
) -> (Vec<u8>, Logged) {
    let mut problems = Vec::new();
    let mut akey = db.des_key(&tr.authid).unwrap_or_else(|| {
        problems.push("unknown authid");
        made_up(random)
    });
    let mut hkey = db.des_key(&tr.hostid).unwrap_or_else(|| {
        problems.push("unknown hostid");
        made_up(random)
    });
    if !speaks.allows(&tr.hostid, &tr.uid) {
        problems.push("hostid may not speak for uid");
        akey = made_up(random);
        hkey = made_up(random);
    }
    let mut t = Ticket {
        num: types::AUTH_TC,
        chal: tr.chal,
        cuid: tr.hostid.clone(),
        suid: tr.uid.clone(),
        key: made_up(random),
    };
    let mut out = Vec::with_capacity(1 + 2 * TICKETLEN);
    out.push(types::AUTH_OK);
    // Names came from a parsed request, so they fit; a failure here would be
    // a bug, answered as an error rather than a panic.
    match t.seal(&hkey) {
        Ok(b) => out.extend_from_slice(&b),
        Err(_) => return (auth_err("internal error").to_vec(), logged(tr, problems)),
    }
    t.num = types::AUTH_TS;
    match t.seal(&akey) {
        Ok(b) => out.extend_from_slice(&b),
        Err(_) => return (auth_err("internal error").to_vec(), logged(tr, problems)),
    }
    t.key.fill(0);
    akey.fill(0);
    hkey.fill(0);
    (out, logged(tr, problems))
}

pub(super) fn logged(tr: &Ticketreq, problems: Vec<&'static str>) -> Logged {
    Logged {
        uid: tr.uid.clone(),
        hostid: tr.hostid.clone(),
        authid: tr.authid.clone(),
        problems,
    }
}

/// Bytes a request needs before [`handle`] can answer it.
pub const REQUEST_LEN: usize = TICKREQLEN;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Db(HashMap<&'static str, [u8; 7]>);

    impl Accounts for Db {
        fn des_key(&self, user: &str) -> Option<[u8; 7]> {
            self.0.get(user).copied()
        }
    }

    fn db() -> Db {
        Db(HashMap::from([
            ("bootes", [1, 1, 1, 1, 1, 1, 1]),
            ("glenda", [2, 2, 2, 2, 2, 2, 2]),
            ("cpu", [3, 3, 3, 3, 3, 3, 3]),
        ]))
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        }
    }

    fn req(authid: &str, hostid: &str, uid: &str) -> [u8; TICKREQLEN] {
        Ticketreq {
            ty: types::AUTH_TREQ,
            authid: authid.into(),
            authdom: "lan".into(),
            chal: *b"CHALLENG",
            hostid: hostid.into(),
            uid: uid.into(),
        }
        .emit()
        .unwrap()
    }

    fn tickets(reply: Reply) -> (Vec<u8>, Vec<u8>) {
        let Reply::Send(b) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(b.len(), 1 + 2 * TICKETLEN);
        assert_eq!(b[0], types::AUTH_OK);
        (b[1..73].to_vec(), b[73..].to_vec())
    }

    #[test]
    fn both_tickets_open_with_the_right_keys() {
        let (r, log) = handle(
            &req("bootes", "glenda", "glenda"),
            &db(),
            &SpeaksFor::default(),
            &mut counter(),
        );
        assert!(log.unwrap().problems.is_empty());
        let (tc, ts) = tickets(r);
        let c = Ticket::open(&tc, &[2; 7]).unwrap();
        let s = Ticket::open(&ts, &[1; 7]).unwrap();
        assert_eq!(c.num, types::AUTH_TC);
        assert_eq!(s.num, types::AUTH_TS);
        assert_eq!(c.chal, *b"CHALLENG");
        assert_eq!((c.cuid.as_str(), c.suid.as_str()), ("glenda", "glenda"));
        assert_eq!(c.key, s.key, "one session key in both tickets");
        assert_ne!(c.key, [0; 7]);
    }

    #[test]
    fn unknown_users_get_tickets_nobody_can_open() {
        let (r, log) = handle(
            &req("bootes", "mallory", "mallory"),
            &db(),
            &SpeaksFor::default(),
            &mut counter(),
        );
        assert_eq!(log.unwrap().problems, ["unknown hostid"]);
        let (tc, ts) = tickets(r);
        // Same shape as a real answer; the server ticket still opens for the
        // server (so a server can tell), the client ticket for nobody.
        let s = Ticket::open(&ts, &[1; 7]).unwrap();
        assert_eq!(s.num, types::AUTH_TS);
        for k in [[2u8; 7], [3; 7], [0; 7]] {
            let c = Ticket::open(&tc, &k).unwrap();
            assert!(c.num != types::AUTH_TC || c.chal != *b"CHALLENG");
        }
    }

    #[test]
    fn speaks_for_rule() {
        let speaks = SpeaksFor::parse(&["cpu glenda".into(), "bootes *".into()]).unwrap();
        assert!(speaks.allows("glenda", "glenda"));
        assert!(speaks.allows("cpu", "glenda"));
        assert!(!speaks.allows("cpu", "bootes"));
        assert!(speaks.allows("bootes", "anyone"));
        assert!(SpeaksFor::parse(&["lonely".into()]).is_err());

        // A host owner that may not speak for uid: keys are made up.
        let (r, log) = handle(
            &req("bootes", "cpu", "bootes"),
            &db(),
            &speaks,
            &mut counter(),
        );
        assert_eq!(log.unwrap().problems, ["hostid may not speak for uid"]);
        let (tc, ts) = tickets(r);
        let c = Ticket::open(&tc, &[3; 7]).unwrap();
        let s = Ticket::open(&ts, &[1; 7]).unwrap();
        assert!(c.num != types::AUTH_TC || c.chal != *b"CHALLENG");
        assert!(s.num != types::AUTH_TS || s.chal != *b"CHALLENG");

        let (r, _) = handle(
            &req("bootes", "cpu", "glenda"),
            &db(),
            &speaks,
            &mut counter(),
        );
        let (tc, _) = tickets(r);
        let c = Ticket::open(&tc, &[3; 7]).unwrap();
        assert_eq!((c.cuid.as_str(), c.suid.as_str()), ("cpu", "glenda"));
    }

    #[test]
    fn bad_requests_close() {
        let (r, _) = handle(&[1; 10], &db(), &SpeaksFor::default(), &mut counter());
        assert!(matches!(r, Reply::Close(ref b, _) if b.is_empty()));
        let mut b = req("bootes", "glenda", "glenda");
        b[0] = 42;
        let (r, _) = handle(&b, &db(), &SpeaksFor::default(), &mut counter());
        let Reply::Close(bytes, why) = r else {
            panic!()
        };
        assert_eq!(bytes[0], types::AUTH_ERR);
        assert_eq!(bytes.len(), 65);
        assert!(why.contains("42"));
        let mut b = req("bootes", "glenda", "glenda");
        b[114] = 0xfe;
        let (r, _) = handle(&b, &db(), &SpeaksFor::default(), &mut counter());
        assert!(matches!(r, Reply::Close(ref b, _) if b[0] == types::AUTH_ERR));
    }

    #[test]
    fn garbage_never_panics() {
        let mut x = 0x12345678u32;
        for _ in 0..2000 {
            let mut b = [0u8; TICKREQLEN];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *v = x as u8;
            }
            b[0] = (x % 3) as u8;
            let _ = handle(&b, &db(), &SpeaksFor::default(), &mut counter());
        }
    }
}
