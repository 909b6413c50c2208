//! One ticket-service connection as a sans-IO state machine: the requests
//! that take more than one message (9front/Plan 9 authsrv.c `challengebox`,
//! `apop`, `chap`, `changepasswd`) keep their state here between messages.
//!
//! ```text
//! AuthChal:  C: Ticketreq          S: AuthOK, decimal challenge (NETCHLEN 16)
//!            C: response (16)      S: AuthOK Ts(hostid's key) Ac(K) | AuthErr
//! AuthApop/AuthCram:
//!            C: Ticketreq          S: AuthOKvar, "%-5d" length, <..@authdom>
//!            C: Ticketreq, hex MD5 response (32)
//!                                  S: AuthOK Ts Ac | AuthErr (6 tries)
//! AuthChap:  C: Ticketreq          S: challenge (8)
//!            C: id[1] uid[28] resp[16]
//!                                  S: AuthOK Ts Ac | AuthErr, close
//! AuthPass:  C: Ticketreq          S: AuthOK, Tp (AuthTp ticket in the old key)
//!            C: Passwordreq (90, in Tp's key)
//!                                  S: AuthOK | AuthErr (try again)
//! ```
//!
//! The ticket for the server (Ts, cuid = suid = uid) is sealed in the
//! requesting host owner's key, so only the server that asked can use it;
//! the authenticator Ac in the ticket's key. Unknown users and hosts get
//! the same shapes of answer as known ones with a wrong response. Error
//! texts are Plan 9's (`cr-fail`, `apop-fail bad response`, `chap-fail
//! bad response`), without the peer's address.

use super::decide::{self, made_up, Accounts, Logged, Reply, SpeaksFor};
use super::des::{self, DESKEYLEN};
use super::pak::{self, Pak};
use super::wire::{
    auth_err, types, Authenticator, Ticket, Ticketreq, ANAMELEN, CHALLEN, TICKETLEN, TICKREQLEN,
};
use crate::auth::authsrv::des::passtokey;
use zeroize::Zeroizing;

/// Length of a net challenge and its response.
pub const NETCHLEN: usize = 16;
/// The largest net challenge (exclusive).
pub const MAXNETCHAL: u32 = 100_000;
/// MD5 digest in hex.
const APOP_RESPLEN: usize = 32;
/// OChapreply: id[1] uid[28] resp[16].
pub const CHAPREPLYLEN: usize = 1 + ANAMELEN + 16;
/// Passwordreq: num[1] old[28] new[28] changesecret[1] secret[32].
pub const PASSREQLEN: usize = 1 + 2 * ANAMELEN + 1 + 32;
/// The password-change ticket's tag.
pub const AUTH_TP: u8 = 68;
/// AuthApop/AuthCram tries before the connection is closed.
const APOP_TRIES: u32 = 6;

enum Wait {
    Request,
    /// AuthPAK: a party's public key.
    PakY,
    Chal {
        tr: Ticketreq,
        chal: u32,
    },
    Apop {
        ty: u8,
        chal: String,
        tries: u32,
    },
    Chap {
        tr: Ticketreq,
        chal: [u8; CHALLEN],
    },
    Pass {
        tr: Ticketreq,
        tkey: Zeroizing<[u8; DESKEYLEN]>,
        okey: Zeroizing<[u8; DESKEYLEN]>,
    },
}

/// A connection's state.
pub struct Session {
    wait: Wait,
    pub authdom: String,
    pub allow_passwd: bool,
    /// Failed proofs so far (for the service's counters).
    pub failures: u64,
    /// DES tickets may be given (p9sk1 and the challenge/response
    /// exchanges); false for a dp9ik-only domain.
    pub des: bool,
    /// The dp9ik state: pakkeys of the last AuthPAK, form1 from then on.
    pub pak: Pak,
    /// AuthPAK exchanges completed (for the service's counters).
    pub paks: u64,
}

type Rand<'a> = &'a mut dyn FnMut(&mut [u8]);

impl Session {
    pub fn new(authdom: &str, allow_passwd: bool) -> Session {
        Session {
            wait: Wait::Request,
            authdom: authdom.to_string(),
            allow_passwd,
            failures: 0,
            des: true,
            pak: Pak::default(),
            paks: 0,
        }
    }

    /// Refuse DES (p9sk1) tickets: only AuthPAK then AuthTreq.
    pub fn without_des(mut self) -> Session {
        self.des = false;
        self
    }

    /// Bytes the next message has.
    pub fn want(&self) -> usize {
        match self.wait {
            Wait::Request => TICKREQLEN,
            Wait::PakY => pak::WANT,
            Wait::Chal { .. } => NETCHLEN,
            Wait::Apop { .. } => TICKREQLEN + APOP_RESPLEN,
            Wait::Chap { .. } => CHAPREPLYLEN,
            Wait::Pass { .. } => PASSREQLEN,
        }
    }

    /// Take one message of [`Session::want`] bytes.
    pub fn input(
        &mut self,
        msg: &[u8],
        db: &dyn Accounts,
        speaks: &SpeaksFor,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        match std::mem::replace(&mut self.wait, Wait::Request) {
            Wait::Request => {
                let r = self.request(msg, db, speaks, random);
                if !matches!(self.wait, Wait::PakY) {
                    // 9front keeps the pakkeys for one request after the PAK
                    self.pak.invalidate();
                }
                r
            }
            Wait::PakY => {
                let (r, failed) = self.pak.input(msg, db);
                if failed.is_some() {
                    self.failures += 1;
                } else if self.pak.waiting() {
                    self.wait = Wait::PakY;
                } else {
                    self.paks += 1;
                }
                (r, None)
            }
            Wait::Chal { tr, chal } => self.chal_resp(&tr, chal, msg, db, random),
            Wait::Apop { ty, chal, tries } => self.apop_resp(ty, chal, tries, msg, db, random),
            Wait::Chap { tr, chal } => self.chap_resp(tr, &chal, msg, db, random),
            Wait::Pass { tr, tkey, okey } => self.pass_resp(tr, tkey, okey, msg, db),
        }
    }

    fn request(
        &mut self,
        req: &[u8],
        db: &dyn Accounts,
        speaks: &SpeaksFor,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        let tr = match decide::parse(req) {
            Ok(tr) => tr,
            Err(r) => return (r, None),
        };
        if tr.ty == types::AUTH_PAK {
            let r = self.pak.start(&tr, db, random);
            if self.pak.waiting() {
                self.wait = Wait::PakY;
            } else {
                self.paks += 1;
            }
            return (r, None);
        }
        if tr.ty == types::AUTH_TREQ && self.pak.form1 {
            return self.pak.ticket_request(&tr, speaks, random);
        }
        if self.pak.form1 || !self.des {
            // every other answer is a DES ticket (or needs a DES key)
            let known = matches!(
                tr.ty,
                types::AUTH_TREQ
                    | types::AUTH_CHAL
                    | types::AUTH_APOP
                    | types::AUTH_CRAM
                    | types::AUTH_CHAP
                    | types::AUTH_PASS
            );
            if known {
                return (
                    Reply::Close(
                        auth_err("DES is disabled").to_vec(),
                        format!(
                            "need DES key for {}@{}, but DES is disabled",
                            tr.uid, tr.hostid
                        ),
                    ),
                    None,
                );
            }
        }
        match tr.ty {
            types::AUTH_CHAL => {
                let mut r = [0u8; 4];
                random(&mut r);
                let chal = u32::from_le_bytes(r) % MAXNETCHAL;
                let mut out = vec![0u8; 1 + NETCHLEN];
                out[0] = types::AUTH_OK;
                let s = chal.to_string();
                out[1..1 + s.len()].copy_from_slice(s.as_bytes());
                self.wait = Wait::Chal { tr, chal };
                (Reply::Send(out), None)
            }
            types::AUTH_APOP | types::AUTH_CRAM => {
                let mut r = [0u8; 16];
                random(&mut r);
                let w = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
                let chal = format!(
                    "<{:x}{:x}.{:x}{:x}@{}>",
                    w(0),
                    w(4),
                    w(8),
                    w(12),
                    self.authdom
                );
                let mut out = vec![types::AUTH_OKVAR];
                out.extend_from_slice(format!("{:<5}", chal.len()).as_bytes());
                out.extend_from_slice(chal.as_bytes());
                self.wait = Wait::Apop {
                    ty: tr.ty,
                    chal,
                    tries: 0,
                };
                (Reply::Send(out), None)
            }
            types::AUTH_CHAP => {
                let mut chal = [0u8; CHALLEN];
                random(&mut chal);
                self.wait = Wait::Chap { tr, chal };
                (Reply::Send(chal.to_vec()), None)
            }
            types::AUTH_PASS if self.allow_passwd => {
                let okey = Zeroizing::new(db.des_key(&tr.uid).unwrap_or_else(|| made_up(random)));
                let t = Ticket {
                    num: AUTH_TP,
                    chal: tr.chal,
                    cuid: tr.uid.clone(),
                    suid: tr.uid.clone(),
                    key: made_up(random),
                };
                let mut out = vec![types::AUTH_OK];
                match t.seal(&okey) {
                    Ok(b) => out.extend_from_slice(&b),
                    Err(e) => {
                        return (
                            Reply::Close(auth_err("internal error").to_vec(), e.to_string()),
                            None,
                        )
                    }
                }
                self.wait = Wait::Pass {
                    tr,
                    tkey: Zeroizing::new(t.key),
                    okey,
                };
                (Reply::Send(out), None)
            }
            _ => decide::answer(&tr, db, speaks, random),
        }
    }

    fn fail(&mut self, db: &dyn Accounts, uid: &str) {
        self.failures += 1;
        db.bad(uid);
    }

    fn chal_resp(
        &mut self,
        tr: &Ticketreq,
        chal: u32,
        resp: &[u8],
        db: &dyn Accounts,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        let ok = db
            .des_key(&tr.uid)
            .is_some_and(|k| netcheck(&k, chal, resp));
        if !ok {
            self.fail(db, &tr.uid);
            let l = decide::logged(tr, vec!["bad challenge response"]);
            let msg = format!("cr-fail bad response {}", tr.uid);
            return (Reply::Send(auth_err(&msg).to_vec()), Some(l));
        }
        db.good(&tr.uid);
        tickauthreply(tr, db, random)
    }

    fn apop_resp(
        &mut self,
        ty: u8,
        chal: String,
        tries: u32,
        msg: &[u8],
        db: &dyn Accounts,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        let (req, hex) = msg.split_at(TICKREQLEN.min(msg.len()));
        let tr = match Ticketreq::parse(req) {
            Ok(tr) if tr.ty == ty => tr,
            _ => {
                return (
                    Reply::Close(Vec::new(), "apop: bad ticket request".into()),
                    None,
                )
            }
        };
        let resp = crate::auth::dec16(hex);
        let ok = match (db.secret(&tr.uid), db.des_key(&tr.hostid)) {
            (Some(secret), Some(_)) => {
                let cram = ty == types::AUTH_CRAM;
                let want = super::wire::apop_response(cram, chal.as_bytes(), secret.as_bytes());
                resp.len() == want.len() && crate::auth::ct_eq(&want, &resp)
            }
            _ => false,
        };
        if ok {
            db.good(&tr.uid);
            return tickauthreply(&tr, db, random);
        }
        self.fail(db, &tr.uid);
        let l = decide::logged(&tr, vec!["bad apop response"]);
        let err = auth_err("apop-fail bad response").to_vec();
        if tries + 1 >= APOP_TRIES {
            return (Reply::Close(err, "apop: too many tries".into()), Some(l));
        }
        self.wait = Wait::Apop {
            ty,
            chal,
            tries: tries + 1,
        };
        (Reply::Send(err), Some(l))
    }

    fn chap_resp(
        &mut self,
        mut tr: Ticketreq,
        chal: &[u8; CHALLEN],
        msg: &[u8],
        db: &dyn Accounts,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        let (id, rest) = msg.split_at(1.min(msg.len()));
        let (uid, resp) = rest.split_at(ANAMELEN.min(rest.len()));
        let end = uid.iter().position(|&c| c == 0).unwrap_or(uid.len());
        tr.uid = match std::str::from_utf8(&uid[..end]) {
            Ok(u) => u.to_string(),
            Err(_) => {
                return (
                    Reply::Close(
                        auth_err("chap-fail bad response").to_vec(),
                        "chap: bad uid".into(),
                    ),
                    None,
                )
            }
        };
        let ok = match (db.secret(&tr.uid), db.des_key(&tr.hostid)) {
            (Some(secret), Some(_)) => {
                use md5::{Digest, Md5};
                let mut h = Md5::new();
                h.update(id);
                h.update(secret.as_bytes());
                h.update(chal);
                let d: [u8; 16] = h.finalize().into();
                crate::auth::ct_eq(&d, resp)
            }
            _ => false,
        };
        if !ok {
            self.fail(db, &tr.uid);
            let l = decide::logged(&tr, vec!["bad chap response"]);
            return (
                Reply::Close(
                    auth_err("chap-fail bad response").to_vec(),
                    "chap: bad response".into(),
                ),
                Some(l),
            );
        }
        db.good(&tr.uid);
        tickauthreply(&tr, db, random)
    }

    fn pass_resp(
        &mut self,
        tr: Ticketreq,
        tkey: Zeroizing<[u8; DESKEYLEN]>,
        okey: Zeroizing<[u8; DESKEYLEN]>,
        msg: &[u8],
        db: &dyn Accounts,
    ) -> (Reply, Option<Logged>) {
        let mut pr = Zeroizing::new(msg.to_vec());
        des::decrypt(&tkey, &mut pr);
        if pr.len() != PASSREQLEN || pr[0] != types::AUTH_PASS {
            return (
                Reply::Close(auth_err("protocol botch1").to_vec(), "passwd: botch".into()),
                None,
            );
        }
        let field = |r: std::ops::Range<usize>| -> Zeroizing<String> {
            let b = &pr[r];
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            Zeroizing::new(String::from_utf8_lossy(&b[..end]).into_owned())
        };
        let old = field(1..1 + ANAMELEN);
        let new = field(1 + ANAMELEN..1 + 2 * ANAMELEN);
        let retry = |s: &mut Session, why: &str| {
            s.wait = Wait::Pass {
                tr: tr.clone(),
                tkey: tkey.clone(),
                okey: okey.clone(),
            };
            (
                Reply::Send(auth_err(why).to_vec()),
                Some(decide::logged(&tr, vec!["password change refused"])),
            )
        };
        let k = Zeroizing::new(passtokey(old.as_bytes()));
        if !crate::auth::ct_eq(&k[..], &okey[..]) || db.des_key(&tr.uid).is_none() {
            self.fail(db, &tr.uid);
            return retry(self, "protocol botch2");
        }
        if !new.is_empty() {
            if new.chars().count() < 8 {
                return retry(self, "password too short");
            }
            if let Err(e) = db.set_password(&tr.uid, &new) {
                log::warn!("passwd: {}: {e}", tr.uid);
                return retry(self, "can't write key");
            }
        }
        db.good(&tr.uid);
        (
            Reply::Send(vec![types::AUTH_OK]),
            Some(decide::logged(&tr, Vec::new())),
        )
    }
}

/// Run a client's whole byte stream through a fresh session: every
/// reply's bytes, in order, up to a close (the in-process ticket service
/// answers a dp9ik client's AuthPAK + AuthTreq so).
pub fn converse(
    s: &mut Session,
    mut bytes: &[u8],
    db: &dyn Accounts,
    speaks: &SpeaksFor,
    random: Rand,
) -> Vec<u8> {
    let mut out = Vec::new();
    while bytes.len() >= s.want() {
        let (msg, rest) = bytes.split_at(s.want());
        bytes = rest;
        match s.input(msg, db, speaks, random).0 {
            Reply::Send(b) => out.extend_from_slice(&b),
            Reply::Close(b, _) => {
                out.extend_from_slice(&b);
                break;
            }
        }
    }
    out
}

/// Plan 9's `netcheck`: the response is the first four bytes of the DES
/// encryption of the decimal challenge (7 characters at most, NUL padded to
/// 8), in lowercase hex.
pub fn netcheck(key: &[u8; DESKEYLEN], chal: u32, resp: &[u8]) -> bool {
    let want = netcrypt(key, chal);
    let end = resp.iter().position(|&c| c == 0).unwrap_or(resp.len());
    crate::auth::ct_eq(want.as_bytes(), resp.get(..end).unwrap_or_default())
}

/// The response to net challenge `chal` with `key`.
pub fn netcrypt(key: &[u8; DESKEYLEN], chal: u32) -> String {
    let mut buf = [0u8; 8];
    let s = chal.to_string();
    let n = s.len().min(7);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    des::encrypt(key, &mut buf);
    format!("{:02x}{:02x}{:02x}{:02x}", buf[0], buf[1], buf[2], buf[3])
}

/// AuthOK, a ticket for the server in the host owner's key (cuid = suid =
/// uid) and an authenticator in the ticket's key.
fn tickauthreply(tr: &Ticketreq, db: &dyn Accounts, random: Rand) -> (Reply, Option<Logged>) {
    let mut problems = Vec::new();
    let hkey = Zeroizing::new(db.des_key(&tr.hostid).unwrap_or_else(|| {
        problems.push("unknown hostid");
        made_up(random)
    }));
    let t = Ticket {
        num: types::AUTH_TS,
        chal: tr.chal,
        cuid: tr.uid.clone(),
        suid: tr.uid.clone(),
        key: made_up(random),
    };
    let mut out = vec![types::AUTH_OK];
    match t.seal(&hkey) {
        Ok(b) => out.extend_from_slice(&b),
        Err(e) => {
            return (
                Reply::Close(auth_err("internal error").to_vec(), e.to_string()),
                None,
            )
        }
    }
    let a = Authenticator {
        num: types::AUTH_AC,
        chal: tr.chal,
        id: 0,
    };
    out.extend_from_slice(&a.seal(&t.key));
    debug_assert_eq!(out.len(), 1 + TICKETLEN + 13);
    (Reply::Send(out), Some(decide::logged(tr, problems)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Mutex;

    struct Db {
        users: HashMap<&'static str, &'static str>,
        bad: Mutex<Vec<String>>,
        good: Mutex<Vec<String>>,
        set: RefCell<Vec<(String, String)>>,
    }

    impl Accounts for Db {
        fn des_key(&self, user: &str) -> Option<[u8; 7]> {
            self.users.get(user).map(|p| passtokey(p.as_bytes()))
        }
        fn secret(&self, user: &str) -> Option<Zeroizing<String>> {
            self.users.get(user).map(|p| Zeroizing::new(p.to_string()))
        }
        fn bad(&self, user: &str) {
            self.bad.lock().unwrap().push(user.into());
        }
        fn good(&self, user: &str) {
            self.good.lock().unwrap().push(user.into());
        }
        fn set_password(&self, user: &str, pw: &str) -> Result<(), String> {
            self.set.borrow_mut().push((user.into(), pw.into()));
            Ok(())
        }
    }

    fn db() -> Db {
        Db {
            users: HashMap::from([("glenda", "glenda pw"), ("cpu", "cpu key pw")]),
            bad: Mutex::new(Vec::new()),
            good: Mutex::new(Vec::new()),
            set: RefCell::new(Vec::new()),
        }
    }

    fn rnd() -> impl FnMut(&mut [u8]) {
        let mut n = 7u8;
        move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_mul(31).wrapping_add(3);
                *x = n;
            }
        }
    }

    fn treq(ty: u8, uid: &str) -> Vec<u8> {
        Ticketreq {
            ty,
            authid: "cpu".into(),
            authdom: "lan".into(),
            chal: *b"SERVCHAL",
            hostid: "cpu".into(),
            uid: uid.into(),
        }
        .emit()
        .unwrap()
        .to_vec()
    }

    fn send(r: Reply) -> Vec<u8> {
        match r {
            Reply::Send(b) => b,
            Reply::Close(b, why) => panic!("closed: {why} {b:?}"),
        }
    }

    /// The server's ticket opens with the host owner's key and names uid.
    fn check_tickauth(b: &[u8], uid: &str) {
        assert_eq!(b.len(), 1 + TICKETLEN + 13);
        assert_eq!(b[0], types::AUTH_OK);
        let t = Ticket::open(&b[1..73], &passtokey(b"cpu key pw")).unwrap();
        assert_eq!((t.num, &t.chal), (types::AUTH_TS, b"SERVCHAL"));
        assert_eq!((t.cuid.as_str(), t.suid.as_str()), (uid, uid));
        let a = Authenticator::open(&b[73..], &t.key).unwrap();
        assert_eq!((a.num, &a.chal, a.id), (types::AUTH_AC, b"SERVCHAL", 0));
    }

    #[test]
    fn netcrypt_matches_plan9_des() {
        // netcrypt is encrypt() of the decimal string, NUL padded to 8
        let key = passtokey(b"glenda pw");
        let mut b = *b"12345\0\0\0";
        des::encrypt(&key, &mut b);
        let want = format!("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
        assert_eq!(netcrypt(&key, 12345), want);
        assert!(netcheck(
            &key,
            12345,
            format!("{want}\0\0\0\0\0\0\0\0").as_bytes()
        ));
        assert!(!netcheck(&key, 12346, want.as_bytes()));
    }

    #[test]
    fn chal_right_and_wrong() {
        let d = db();
        let sp = SpeaksFor::default();
        for right in [true, false] {
            let mut s = Session::new("lan", false);
            let (r, _) = s.input(&treq(types::AUTH_CHAL, "glenda"), &d, &sp, &mut rnd());
            let b = send(r);
            assert_eq!((b.len(), b[0]), (17, types::AUTH_OK));
            assert_eq!(s.want(), NETCHLEN);
            let chal: u32 = std::str::from_utf8(&b[1..])
                .unwrap()
                .trim_end_matches('\0')
                .parse()
                .unwrap();
            let key = if right {
                passtokey(b"glenda pw")
            } else {
                passtokey(b"nope")
            };
            let mut resp = netcrypt(&key, chal).into_bytes();
            resp.resize(NETCHLEN, 0);
            let (r, _) = s.input(&resp, &d, &sp, &mut rnd());
            let b = send(r);
            if right {
                check_tickauth(&b, "glenda");
            } else {
                assert_eq!(b[0], types::AUTH_ERR);
                assert!(String::from_utf8_lossy(&b).contains("cr-fail"));
            }
            assert_eq!(s.want(), TICKREQLEN);
        }
        assert_eq!(*d.bad.lock().unwrap(), ["glenda"]);
        assert_eq!(*d.good.lock().unwrap(), ["glenda"]);
    }

    #[test]
    fn apop_and_cram_with_retries() {
        let d = db();
        let sp = SpeaksFor::default();
        for ty in [types::AUTH_APOP, types::AUTH_CRAM] {
            let mut s = Session::new("lan", false);
            let (r, _) = s.input(&treq(ty, ""), &d, &sp, &mut rnd());
            let b = send(r);
            assert_eq!(b[0], types::AUTH_OKVAR);
            let n: usize = std::str::from_utf8(&b[1..6])
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let chal = &b[6..];
            assert_eq!(chal.len(), n);
            assert!(chal.starts_with(b"<") && chal.ends_with(b"@lan>"));
            let cram = ty == types::AUTH_CRAM;
            let wrong = crate::auth::authsrv::wire::apop_response(cram, chal, b"nope");
            let mut m = treq(ty, "glenda");
            m.extend_from_slice(crate::auth::enc16(&wrong).as_bytes());
            let b = send(s.input(&m, &d, &sp, &mut rnd()).0);
            assert_eq!(&b[1..22], b"apop-fail bad respons");
            let right = crate::auth::authsrv::wire::apop_response(cram, chal, b"glenda pw");
            let mut m = treq(ty, "glenda");
            m.extend_from_slice(crate::auth::enc16(&right).to_lowercase().as_bytes());
            check_tickauth(&send(s.input(&m, &d, &sp, &mut rnd()).0), "glenda");
        }
        // six wrong answers close the connection
        let mut s = Session::new("lan", false);
        send(s.input(&treq(types::AUTH_APOP, ""), &d, &sp, &mut rnd()).0);
        let mut m = treq(types::AUTH_APOP, "glenda");
        m.extend_from_slice(&[b'0'; 32]);
        for i in 0..6 {
            let (r, _) = s.input(&m, &d, &sp, &mut rnd());
            assert_eq!(matches!(r, Reply::Close(..)), i == 5, "try {i}");
        }
        // a request of another type mid-exchange closes
        send(s.input(&treq(types::AUTH_APOP, ""), &d, &sp, &mut rnd()).0);
        let mut m = treq(types::AUTH_CRAM, "glenda");
        m.extend_from_slice(&[b'0'; 32]);
        assert!(matches!(
            s.input(&m, &d, &sp, &mut rnd()).0,
            Reply::Close(..)
        ));
    }

    #[test]
    fn chap() {
        let d = db();
        let sp = SpeaksFor::default();
        for (pw, ok) in [("glenda pw", true), ("nope", false)] {
            let mut s = Session::new("lan", false);
            let chal = send(s.input(&treq(types::AUTH_CHAP, ""), &d, &sp, &mut rnd()).0);
            assert_eq!(chal.len(), CHALLEN);
            use md5::{Digest, Md5};
            let mut h = Md5::new();
            h.update([9u8]);
            h.update(pw.as_bytes());
            h.update(&chal);
            let mut m = vec![9u8];
            let mut uid = [0u8; ANAMELEN];
            uid[..6].copy_from_slice(b"glenda");
            m.extend_from_slice(&uid);
            m.extend_from_slice(&h.finalize());
            let (r, _) = s.input(&m, &d, &sp, &mut rnd());
            if ok {
                check_tickauth(&send(r), "glenda");
            } else {
                let Reply::Close(b, _) = r else { panic!() };
                assert!(String::from_utf8_lossy(&b).contains("chap-fail bad response"));
            }
        }
    }

    #[test]
    fn passwd_only_when_allowed_and_old_proven() {
        let d = db();
        let sp = SpeaksFor::default();
        let mut s = Session::new("lan", false);
        assert!(matches!(
            s.input(&treq(types::AUTH_PASS, "glenda"), &d, &sp, &mut rnd())
                .0,
            Reply::Close(..)
        ));
        let mut s = Session::new("lan", true);
        let b = send(
            s.input(&treq(types::AUTH_PASS, "glenda"), &d, &sp, &mut rnd())
                .0,
        );
        let t = Ticket::open(&b[1..], &passtokey(b"glenda pw")).unwrap();
        assert_eq!(t.num, AUTH_TP);
        let pr = |old: &str, new: &str| {
            let mut p = vec![0u8; PASSREQLEN];
            p[0] = types::AUTH_PASS;
            p[1..1 + old.len()].copy_from_slice(old.as_bytes());
            p[29..29 + new.len()].copy_from_slice(new.as_bytes());
            des::encrypt(&t.key, &mut p);
            p
        };
        let b = send(s.input(&pr("wrong", "new password"), &d, &sp, &mut rnd()).0);
        assert_eq!(b[0], types::AUTH_ERR);
        let b = send(s.input(&pr("glenda pw", "short"), &d, &sp, &mut rnd()).0);
        assert!(String::from_utf8_lossy(&b).contains("too short"));
        let b = send(
            s.input(&pr("glenda pw", "new password"), &d, &sp, &mut rnd())
                .0,
        );
        assert_eq!(b, [types::AUTH_OK]);
        assert_eq!(
            *d.set.borrow(),
            [("glenda".to_string(), "new password".to_string())]
        );
        assert_eq!(*d.bad.lock().unwrap(), ["glenda"]);
    }

    #[test]
    fn garbage_in_every_state_never_panics() {
        let d = db();
        let sp = SpeaksFor::default();
        let mut r = rnd();
        for ty in [1u8, 2, 3, 7, 10, 12, 99] {
            for _ in 0..50 {
                let mut s = Session::new("lan", true);
                let _ = s.input(&treq(ty, "glenda"), &d, &sp, &mut rnd());
                let mut g = vec![0u8; s.want()];
                r(&mut g);
                let _ = s.input(&g, &d, &sp, &mut rnd());
                let _ = s.input(&g[..g.len() / 2], &d, &sp, &mut rnd());
            }
        }
    }
}
