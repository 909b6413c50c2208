//! The ticket service's half of dp9ik, sans-IO (9front authsrv.c `pak`,
//! `pak1`, `getkey`, `ticketrequest` with `ticketform` 1): AuthPAK proves
//! nothing by itself; it gives each named party a pakkey shared with the
//! service, under which the next AuthTreq's tickets are sealed (form1).
//!
//! ```text
//! C->AS  Ticketreq{AuthPAK, authid, authdom, chal, hostid, uid}
//! AS->C  AuthOK
//!        for each of authid, hostid (hostid given; authid if given),
//!        or uid alone (no hostid):
//! AS->C    Y_AS (56)                    decaf(x G + PN(id))
//! C->AS    Y_id (56)                    the party's decaf(x' G + PM(id))
//!                                       pakkey(id) = authpak_finish
//! C->AS  Ticketreq{AuthTreq, ...}      on the same connection
//! AS->C  AuthOK, Tc (124, pakkey(hostid)), Ts (124, pakkey(authid))
//!        Tc/Ts = {chal, cuid = suid = uid, key[32]} sealed form1
//! ```
//!
//! After AuthPAK the connection speaks form1 only: a request whose names
//! have no pakkey from the PAK just before is answered `DES is disabled`
//! and closed, as 9front does; so is any DES request when the service
//! refuses p9sk1 (`option p9sk1 '0'`). An unknown user, one without an AES
//! key, disabled or in purgatory, gets a made-up key, so the answer does
//! not tell; a wrong password cannot be seen here at all (that is the
//! point of the PAK), only a public key that does not decode, which is
//! counted against the account. The keys live until the next request
//! that is not AuthPAK.

use super::authpak::{PakHash, PakPriv, PAKKEYLEN, PAKYLEN};
use super::decide::{logged, Accounts, Logged, Reply, SpeaksFor};
use super::form1;
use super::wire::{auth_err, types, Ticketreq, TICKREQLEN};
use zeroize::Zeroizing;

type Rand<'a> = &'a mut dyn FnMut(&mut [u8]);

/// A party's pakkey from the last AuthPAK (9front's Keyslot).
pub struct Slot {
    pub id: String,
    key: Zeroizing<[u8; PAKKEYLEN]>,
    /// A real account's key (else made up).
    real: bool,
}

/// Which of 9front's slots a PAK fills.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Authid,
    Hostid,
    Uid,
}

/// The PAK state of a connection.
#[derive(Default)]
pub struct Pak {
    pub authid: Option<Slot>,
    pub hostid: Option<Slot>,
    pub uid: Option<Slot>,
    /// A PAK was done: tickets are form1 from now on (9front's
    /// `ticketform`).
    pub form1: bool,
    /// Parties still to be heard from: the slot, the id, our half.
    pending: Vec<(Which, String, PakHash, PakPriv, bool)>,
}

impl Pak {
    pub fn invalidate(&mut self) {
        self.authid = None;
        self.hostid = None;
        self.uid = None;
    }

    /// The names the last PAK gave keys to, for the log.
    pub fn names(&self) -> String {
        let v: Vec<&str> = [&self.authid, &self.hostid, &self.uid]
            .into_iter()
            .flatten()
            .map(|s| s.id.as_str())
            .collect();
        v.join(", ")
    }

    /// Waiting for a party's public key.
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The password points of `id`: a real account's, or made up.
    fn hash(id: &str, db: &dyn Accounts, random: Rand) -> (PakHash, bool) {
        match db.aes_key(id).filter(|k| k.iter().any(|&b| b != 0)) {
            Some(k) => (PakHash::new(&Zeroizing::new(k), id), true),
            None => {
                let mut k = Zeroizing::new([0u8; 16]);
                random(&mut k[..]);
                (PakHash::new(&k, id), false)
            }
        }
    }

    /// AuthPAK: AuthOK and the first of our public keys.
    pub fn start(&mut self, tr: &Ticketreq, db: &dyn Accounts, random: Rand) -> Reply {
        self.invalidate();
        self.pending.clear();
        let mut parties = Vec::new();
        if !tr.hostid.is_empty() {
            if !tr.authid.is_empty() {
                parties.push((Which::Authid, tr.authid.clone()));
            }
            parties.push((Which::Hostid, tr.hostid.clone()));
        } else if !tr.uid.is_empty() {
            parties.push((Which::Uid, tr.uid.clone()));
        }
        // 9front answers in order: its key, then reads the party's; the
        // later ones are made when their turn comes, so keep them as names
        for (w, id) in parties.into_iter().rev() {
            let (h, real) = Pak::hash(&id, db, random);
            let p = PakPriv::new(&h, false, random);
            self.pending.push((w, id, h, p, real));
        }
        self.form1 = true;
        let mut out = vec![types::AUTH_OK];
        if let Some((_, _, _, p, _)) = self.pending.last() {
            out.extend_from_slice(p.y());
        }
        Reply::Send(out)
    }

    /// A party's public key: finish its PAK, send our next key if any.
    pub fn input(&mut self, y: &[u8], db: &dyn Accounts) -> (Reply, Option<String>) {
        let Some((w, id, h, p, real)) = self.pending.pop() else {
            return (Reply::Close(Vec::new(), "pak: no exchange".into()), None);
        };
        let key = match p.finish(&h, y) {
            Ok(k) => k,
            Err(e) => {
                self.pending.clear();
                if real {
                    db.bad(&id);
                }
                return (
                    Reply::Close(Vec::new(), format!("pak: {id}: {e}")),
                    Some(id),
                );
            }
        };
        let slot = Slot {
            id: id.clone(),
            key,
            real,
        };
        match w {
            Which::Authid => self.authid = Some(slot),
            Which::Hostid => self.hostid = Some(slot),
            Which::Uid => self.uid = Some(slot),
        }
        let out = match self.pending.last() {
            Some((_, _, _, p, _)) => p.y().to_vec(),
            None => Vec::new(),
        };
        (Reply::Send(out), None)
    }

    /// AuthTreq in form1: both tickets in the pakkeys of the PAK before.
    pub fn ticket_request(
        &self,
        tr: &Ticketreq,
        speaks: &SpeaksFor,
        random: Rand,
    ) -> (Reply, Option<Logged>) {
        if tr.uid.is_empty() {
            return (
                Reply::Close(Vec::new(), "ticket request without uid".into()),
                None,
            );
        }
        fn find<'a>(slot: &'a Option<Slot>, id: &str) -> Option<&'a Slot> {
            slot.as_ref().filter(|s| s.id == id && !id.is_empty())
        }
        let (Some(a), Some(h)) = (
            find(&self.authid, &tr.authid),
            find(&self.hostid, &tr.hostid),
        ) else {
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
        };
        let mut problems = Vec::new();
        if !a.real {
            problems.push("unknown authid");
        }
        if !h.real {
            problems.push("unknown hostid");
        }
        let mut akey = Zeroizing::new(*a.key);
        let mut hkey = Zeroizing::new(*h.key);
        if !speaks.allows(&tr.hostid, &tr.uid) {
            problems.push("hostid may not speak for uid");
            random(&mut akey[..]);
            random(&mut hkey[..]);
        }
        let mut t = form1::Ticket {
            num: types::AUTH_TC,
            chal: tr.chal,
            cuid: tr.uid.clone(),
            suid: tr.uid.clone(),
            key: Zeroizing::new([0; form1::NONCELEN]),
        };
        random(&mut t.key[..]);
        let mut out = vec![types::AUTH_OK];
        let tc = t.seal(&hkey, form1::next_counter());
        t.num = types::AUTH_TS;
        let ts = t.seal(&akey, form1::next_counter());
        match (tc, ts) {
            (Ok(tc), Ok(ts)) => {
                out.extend_from_slice(&tc);
                out.extend_from_slice(&ts);
            }
            _ => {
                return (
                    Reply::Close(auth_err("internal error").to_vec(), "form1 seal".into()),
                    None,
                )
            }
        }
        (Reply::Send(out), Some(logged(tr, problems)))
    }
}

/// Bytes of the next message while a PAK waits for a party's key.
pub const WANT: usize = PAKYLEN;

/// What a dp9ik client sends the ticket service in one go: the AuthPAK
/// request with the server's and its own public keys, then the AuthTreq.
pub fn client_request(pak: &[u8; TICKREQLEN], ys: &[u8], yc: &[u8], treq: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(3 * TICKREQLEN);
    v.extend_from_slice(pak);
    v.extend_from_slice(ys);
    v.extend_from_slice(yc);
    v.extend_from_slice(treq);
    v
}

#[cfg(test)]
mod tests {
    use super::super::exchanges::{converse, Session};
    use super::*;
    use crate::auth::keyfs::account::passtoaeskey;
    use std::collections::HashMap;
    use std::sync::Mutex;

    struct Db {
        aes: HashMap<&'static str, [u8; 16]>,
        bad: Mutex<Vec<String>>,
    }

    impl Accounts for Db {
        fn des_key(&self, _: &str) -> Option<[u8; 7]> {
            Some([1; 7])
        }
        fn aes_key(&self, user: &str) -> Option<[u8; 16]> {
            self.aes.get(user).copied()
        }
        fn bad(&self, user: &str) {
            self.bad.lock().unwrap().push(user.into());
        }
    }

    fn db() -> Db {
        Db {
            aes: HashMap::from([
                ("glenda", passtoaeskey(b"glenda pw")),
                ("cpu", passtoaeskey(b"cpu pw")),
                // an account from before AES keys
                ("old", [0; 16]),
            ]),
            bad: Mutex::new(Vec::new()),
        }
    }

    fn rnd() -> impl FnMut(&mut [u8]) {
        let mut n = 1u8;
        move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_mul(29).wrapping_add(11);
                *x = n;
            }
        }
    }

    fn tr(ty: u8, authid: &str, hostid: &str, uid: &str) -> [u8; TICKREQLEN] {
        Ticketreq {
            ty,
            authid: authid.into(),
            authdom: "lan".into(),
            chal: *b"SERVCHAL",
            hostid: hostid.into(),
            uid: uid.into(),
        }
        .emit()
        .unwrap()
    }

    /// A party of the PAK (the server's or the client's factotum).
    fn party(pw: &str, user: &str, r: &mut dyn FnMut(&mut [u8])) -> (PakHash, PakPriv) {
        let h = PakHash::new(&passtoaeskey(pw.as_bytes()), user);
        let p = PakPriv::new(&h, true, r);
        (h, p)
    }

    fn send(r: Reply) -> Vec<u8> {
        match r {
            Reply::Send(b) => b,
            Reply::Close(b, why) => panic!("closed: {why} {b:?}"),
        }
    }

    /// Message by message, as 9front's authsrv reads them.
    #[test]
    fn pak_then_treq_gives_form1_tickets() {
        let (d, sp) = (db(), SpeaksFor::default());
        let mut r = rnd();
        let mut s = Session::new("lan", false);
        let (hs, ps) = party("cpu pw", "cpu", &mut r);
        let (hc, pc) = party("glenda pw", "glenda", &mut r);
        let b = send(
            s.input(
                &tr(types::AUTH_PAK, "cpu", "glenda", "glenda"),
                &d,
                &sp,
                &mut r,
            )
            .0,
        );
        assert_eq!((b.len(), b[0]), (1 + PAKYLEN, types::AUTH_OK));
        assert_eq!(s.want(), PAKYLEN);
        let ya_s = b[1..].to_vec();
        let ya_c = send(s.input(ps.y(), &d, &sp, &mut r).0);
        assert_eq!(ya_c.len(), PAKYLEN);
        assert_eq!(send(s.input(pc.y(), &d, &sp, &mut r).0), b"");
        assert_eq!((s.want(), s.paks), (TICKREQLEN, 1));
        let ks = ps.finish(&hs, &ya_s).unwrap();
        let kc = pc.finish(&hc, &ya_c).unwrap();
        let (b, log) = s.input(
            &tr(types::AUTH_TREQ, "cpu", "glenda", "glenda"),
            &d,
            &sp,
            &mut r,
        );
        assert!(log.unwrap().problems.is_empty());
        let b = send(b);
        assert_eq!((b.len(), b[0]), (1 + 2 * form1::TICKETLEN, types::AUTH_OK));
        let tc = form1::Ticket::open(&b[1..125], &kc).unwrap();
        let ts = form1::Ticket::open(&b[125..], &ks).unwrap();
        assert_eq!((tc.num, ts.num), (types::AUTH_TC, types::AUTH_TS));
        assert_eq!(
            (&tc.chal, tc.cuid.as_str(), tc.suid.as_str()),
            (b"SERVCHAL", "glenda", "glenda")
        );
        assert_eq!(tc.key, ts.key);
        // the keys served one request: another AuthTreq is refused
        let Reply::Close(b, _) = s
            .input(
                &tr(types::AUTH_TREQ, "cpu", "glenda", "glenda"),
                &d,
                &sp,
                &mut r,
            )
            .0
        else {
            panic!()
        };
        assert!(String::from_utf8_lossy(&b).contains("DES is disabled"));
    }

    /// All at once, as a client writes it; a wrong password gives tickets
    /// that do not open, with the same shape.
    #[test]
    fn the_whole_stream_and_a_wrong_password() {
        let (d, sp) = (db(), SpeaksFor::default());
        for (pw, ok) in [("glenda pw", true), ("wrong", false)] {
            let mut r = rnd();
            let (hs, ps) = party("cpu pw", "cpu", &mut r);
            let (hc, pc) = party(pw, "glenda", &mut r);
            let req = client_request(
                &tr(types::AUTH_PAK, "cpu", "glenda", "glenda"),
                ps.y(),
                pc.y(),
                &tr(types::AUTH_TREQ, "cpu", "glenda", "glenda"),
            );
            let out = converse(
                &mut Session::new("lan", false).without_des(),
                &req,
                &d,
                &sp,
                &mut r,
            );
            assert_eq!(out.len(), 1 + 2 * PAKYLEN + 1 + 2 * form1::TICKETLEN);
            let ks = ps.finish(&hs, &out[1..57]).unwrap();
            let kc = pc.finish(&hc, &out[57..113]).unwrap();
            let t = &out[114..];
            assert!(form1::Ticket::open(&t[124..], &ks).is_ok());
            assert_eq!(form1::Ticket::open(&t[..124], &kc).is_ok(), ok);
        }
    }

    #[test]
    fn unknown_users_and_speaksfor_get_keys_nobody_has() {
        let d = db();
        for (hostid, uid, speaks, why) in [
            ("mallory", "mallory", SpeaksFor::default(), "unknown hostid"),
            ("old", "old", SpeaksFor::default(), "unknown hostid"),
            (
                "glenda",
                "cpu",
                SpeaksFor::default(),
                "hostid may not speak for uid",
            ),
        ] {
            let mut r = rnd();
            let (hs, ps) = party("cpu pw", "cpu", &mut r);
            let mut s = Session::new("lan", false);
            let b = send(
                s.input(
                    &tr(types::AUTH_PAK, "cpu", hostid, uid),
                    &d,
                    &speaks,
                    &mut r,
                )
                .0,
            );
            send(s.input(ps.y(), &d, &speaks, &mut r).0);
            let ks = ps.finish(&hs, &b[1..]).unwrap();
            let (_, pc) = party("glenda pw", hostid, &mut r);
            send(s.input(pc.y(), &d, &speaks, &mut r).0);
            let (reply, log) = s.input(
                &tr(types::AUTH_TREQ, "cpu", hostid, uid),
                &d,
                &speaks,
                &mut r,
            );
            assert_eq!(log.unwrap().problems.last(), Some(&why));
            let b = send(reply);
            let opens = form1::Ticket::open(&b[125..], &ks).is_ok();
            assert_eq!(opens, why != "hostid may not speak for uid", "{hostid}");
        }
    }

    #[test]
    fn des_refused_and_bad_keys() {
        let (d, sp) = (db(), SpeaksFor::default());
        let mut r = rnd();
        // p9sk1 off: a DES ticket request is refused, by name
        let mut s = Session::new("lan", false).without_des();
        let Reply::Close(b, _) = s
            .input(
                &tr(types::AUTH_TREQ, "cpu", "glenda", "glenda"),
                &d,
                &sp,
                &mut r,
            )
            .0
        else {
            panic!()
        };
        assert_eq!((b.len(), &b[1..16]), (65, &b"DES is disabled"[..]));
        let mut s = Session::new("lan", false).without_des();
        assert!(matches!(
            s.input(&tr(types::AUTH_CHAL, "", "cpu", "glenda"), &d, &sp, &mut r)
                .0,
            Reply::Close(..)
        ));
        // a public key that does not decode closes and counts
        let mut s = Session::new("lan", false);
        send(
            s.input(
                &tr(types::AUTH_PAK, "cpu", "glenda", "glenda"),
                &d,
                &sp,
                &mut r,
            )
            .0,
        );
        assert!(
            matches!(s.input(&[0xff; 56], &d, &sp, &mut r).0, Reply::Close(ref b, _) if b.is_empty())
        );
        assert_eq!((s.failures, s.paks), (1, 0));
        assert_eq!(*d.bad.lock().unwrap(), ["cpu"]);
        // uid alone: one key; no names: AuthOK only
        let mut s = Session::new("lan", false);
        let b = send(
            s.input(&tr(types::AUTH_PAK, "", "", "glenda"), &d, &sp, &mut r)
                .0,
        );
        assert_eq!(b.len(), 57);
        let mut s = Session::new("lan", false);
        assert_eq!(
            send(s.input(&tr(types::AUTH_PAK, "", "", ""), &d, &sp, &mut r).0),
            [types::AUTH_OK]
        );
        assert_eq!(s.want(), TICKREQLEN);
        // garbage after a PAK never panics
        let mut g = [0u8; 200];
        for i in 0..50u8 {
            r(&mut g);
            let mut s = Session::new("lan", false);
            let _ = s.input(
                &tr(types::AUTH_PAK, "cpu", "glenda", "glenda"),
                &d,
                &sp,
                &mut r,
            );
            let _ = converse(&mut s, &g[..usize::from(i) * 4], &d, &sp, &mut r);
        }
    }
}
