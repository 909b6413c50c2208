//! The session against warden's own client and against plan9port's
//! recorded client messages, with an in-memory backend.

use super::*;
use crate::auth::secstore::client::{ClientError, Conn};
use crate::auth::secstore::pak::tests::Vectors;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

#[derive(Default)]
pub(crate) struct Mem {
    pub hi: BTreeMap<String, Nat>,
    pub files: BTreeMap<(String, String), Vec<u8>>,
    pub bad: Vec<String>,
    pub good: Vec<String>,
    pub locked: bool,
    pub max_files: usize,
}

impl Backend for Mem {
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
        let mut s = String::new();
        for ((u, n), d) in &self.files {
            if u == user {
                use sha1::Digest;
                let sum = crate::auth::ssh::wire::base64(&sha1::Sha1::digest(d));
                s.push_str(&format!(
                    "{n}\t{} Jan  1 00:00:00 GMT 1970 {sum}\n",
                    d.len()
                ));
            }
        }
        Ok(s.into_bytes())
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
        if len > 100_000 {
            return Err("quota: at most 100000 bytes".into());
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
            .ok_or_else(|| "no such file".into())
    }
}

/// A client's stream that runs the session as bytes arrive.
pub(crate) struct Loop<'a> {
    pub sess: Session,
    pub be: &'a mut Mem,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pub closed: bool,
    n: u8,
}

impl<'a> Loop<'a> {
    pub fn new(be: &'a mut Mem) -> Loop<'a> {
        Loop {
            sess: Session::new("warden"),
            be,
            inbuf: Vec::new(),
            out: Vec::new(),
            closed: false,
            n: 0,
        }
    }
}

impl Write for Loop<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.inbuf.extend_from_slice(b);
        while let Split::Record(n) = self.sess.split(&self.inbuf) {
            let body: Vec<u8> = self.inbuf.drain(..2 + n).skip(2).collect();
            self.n = self.n.wrapping_add(1);
            match self.sess.record(&body, self.be, &[self.n; RAND_LEN]) {
                Out::Send(o) => self.out.extend(o),
                Out::SendClose(o) => {
                    self.out.extend(o);
                    self.closed = true;
                    break;
                }
            }
        }
        if self.sess.split(&self.inbuf) == Split::Bad {
            self.closed = true;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Loop<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        if self.out.is_empty() {
            return if self.closed {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = b.len().min(self.out.len());
        b[..n].copy_from_slice(&self.out[..n]);
        self.out.drain(..n);
        Ok(n)
    }
}

fn account(be: &mut Mem, user: &str, pw: &str) {
    let (_, hi) = pak::verifier(user, pw.as_bytes());
    be.hi.insert(user.into(), hi);
}

#[test]
fn warden_client_put_get_list_rm_chpass() {
    let mut be = Mem::default();
    account(&mut be, "glenda", "old password");
    let key = b"key proto=pass user=glenda !password=x\n".to_vec();
    {
        let mut c = Conn::login(
            Loop::new(&mut be),
            "glenda",
            b"old password",
            &[3; RAND_LEN],
        )
        .unwrap();
        assert_eq!(c.server, "warden");
        c.put("factotum", &key, b"old password", [1; 16]).unwrap();
        let big: Vec<u8> = (0..9000u32).map(|i| i as u8).collect();
        c.put("big", &big, b"old password", [2; 16]).unwrap();
        assert_eq!(&c.get("factotum", b"old password").unwrap()[..], &key[..]);
        assert_eq!(&c.get("big", b"old password").unwrap()[..], &big[..]);
        let l = c.list().unwrap();
        assert!(l.starts_with("big\t9032 "), "{l}");
        c.remove("big").unwrap();
        assert_eq!(
            c.change_password("glenda", b"old password", b"new password", || [4; 16])
                .unwrap(),
            ["factotum"]
        );
        c.bye().unwrap();
    }
    assert_eq!(be.good, ["glenda"]);
    // the old password no longer logs in; the new one does and opens the file
    assert!(matches!(
        Conn::login(
            Loop::new(&mut be),
            "glenda",
            b"old password",
            &[5; RAND_LEN]
        ),
        Err(ClientError::Refused)
    ));
    assert_eq!(be.bad, ["glenda"]);
    let mut c = Conn::login(
        Loop::new(&mut be),
        "glenda",
        b"new password",
        &[6; RAND_LEN],
    )
    .unwrap();
    assert_eq!(&c.get("factotum", b"new password").unwrap()[..], &key[..]);
    assert!(matches!(
        c.get("factotum", b"old password"),
        Err(ClientError::Protocol(_))
    ));
}

#[test]
fn unknown_user_locked_keyfs_and_probe() {
    let mut be = Mem::default();
    assert!(matches!(
        Conn::login(Loop::new(&mut be), "nobody", b"pw", &[1; RAND_LEN]),
        Err(ClientError::Refused)
    ));
    assert!(be.bad.is_empty(), "no account to count against");
    be.locked = true;
    let e = Conn::login(Loop::new(&mut be), "nobody", b"pw", &[1; RAND_LEN])
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "secstore: the server says: keyfs is locked");
    be.locked = false;
    let mut l = Loop::new(&mut be);
    let mut ch = Channel::new();
    l.write_all(&ch.seal(b"secstore\tPAK\nC=glenda\nm=AA==\n").unwrap())
        .unwrap();
    let mut out = Vec::new();
    l.read_to_end(&mut out).unwrap();
    assert_eq!(&ch.open(&out[2..]).unwrap()[..], b"!account exists");
}

/// A logged-in session for bad-input tests: the session, the client's
/// channel, and the records it has.
fn logged_in(be: &mut Mem) -> (Session, Channel) {
    account(be, "glenda", "pw");
    let mut s = Session::new("warden");
    let mut ch = Channel::new();
    let (pc, hello) = pak::Client::start("glenda", b"pw", &[1; RAND_LEN]);
    let r = ch.seal(&hello).unwrap();
    let Out::Send(a) = s.record(&r[2..], be, &[2; RAND_LEN]) else {
        panic!()
    };
    let ans = ch.open(&a[2..]).unwrap();
    let (proof, key, _) = pc.finish(&ans).unwrap();
    let r = ch.seal(&proof).unwrap();
    let Out::Send(ok) = s.record(&r[2..], be, &[2; RAND_LEN]) else {
        panic!()
    };
    ch.set_secret(&key[..], false);
    assert_eq!(&ch.open(&ok[2..]).unwrap()[..], b"OK");
    (s, ch)
}

fn say(s: &mut Session, ch: &mut Channel, be: &mut Mem, what: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let r = ch.seal(what).unwrap();
    let (out, close) = match s.record(&r[2..], be, &[0; RAND_LEN]) {
        Out::Send(o) => (o, false),
        Out::SendClose(o) => (o, true),
    };
    let mut recs = Vec::new();
    let mut rest = &out[..];
    while let Split::Record(n) = ch.split(rest) {
        recs.push(ch.open(&rest[2..2 + n]).unwrap().to_vec());
        rest = &rest[2 + n..];
    }
    (recs, close)
}

#[test]
fn path_tricks_and_bad_names_write_nothing() {
    for bad in [
        "../x",
        "/etc/passwd",
        "a/b",
        "..",
        ".",
        ".hidden",
        "nul\0byte",
        "ctl\x07",
        "",
    ] {
        let mut be = Mem::default();
        let (mut s, mut ch) = logged_in(&mut be);
        let (recs, close) = say(&mut s, &mut ch, &mut be, format!("PUT {bad}\n").as_bytes());
        assert!(close, "{bad:?}");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0][0], b'!', "{bad:?}");
        assert!(be.files.is_empty());
    }
    let long = "a".repeat(300);
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    let (recs, close) = say(&mut s, &mut ch, &mut be, format!("GET {long}\n").as_bytes());
    assert!(close && recs[0].starts_with(b"!file name of 300 bytes"));
}

#[test]
fn oversized_and_over_quota_puts_write_nothing() {
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    assert_eq!(say(&mut s, &mut ch, &mut be, b"PUT f\n"), (vec![], false));
    let (recs, close) = say(&mut s, &mut ch, &mut be, b"10485761");
    assert!(
        close && recs[0].starts_with(b"!PUT f: implausible file size"),
        "{recs:?}"
    );
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    say(&mut s, &mut ch, &mut be, b"PUT f\n");
    let (recs, _) = say(&mut s, &mut ch, &mut be, b"100001");
    assert_eq!(recs[0], b"!PUT f: quota: at most 100000 bytes");
    // more data than the size said
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    say(&mut s, &mut ch, &mut be, b"PUT f\n");
    say(&mut s, &mut ch, &mut be, b"3");
    let (recs, close) = say(&mut s, &mut ch, &mut be, b"abcd");
    assert!(close && recs[0].starts_with(b"!PUT: more data"));
    assert!(be.files.is_empty());
    // file count quota
    let mut be = Mem {
        max_files: 1,
        ..Mem::default()
    };
    let (mut s, mut ch) = logged_in(&mut be);
    for (msg, want) in [
        (&b"PUT a\n"[..], false),
        (b"1", false),
        (b"x", false),
        (b"PUT b\n", false),
    ] {
        assert_eq!(say(&mut s, &mut ch, &mut be, msg).1, want);
    }
    let (recs, close) = say(&mut s, &mut ch, &mut be, b"1");
    assert!(close && recs[0] == b"!PUT b: quota: at most 1 files");
    assert_eq!(be.files.len(), 1);
}

#[test]
fn mac_failure_and_replay_close_and_do_nothing() {
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    let mut r = ch.seal(b"RM f\n").unwrap();
    let last = r.len() - 1;
    r[last] ^= 0x20;
    match s.record(&r[2..], &mut be, &[0; RAND_LEN]) {
        Out::SendClose(o) => {
            // the error goes out sealed; the client cannot trust it, but sees it
            assert!(!o.is_empty());
        }
        o => panic!("{o:?}"),
    }
    // a replayed record (sequence numbers moved on)
    let mut be = Mem::default();
    let (mut s, mut ch) = logged_in(&mut be);
    be.files
        .insert(("glenda".into(), "f".into()), b"x".to_vec());
    let r = ch.seal(b"GET f\n").unwrap();
    assert!(matches!(
        s.record(&r[2..], &mut be, &[0; RAND_LEN]),
        Out::Send(_)
    ));
    assert!(matches!(
        s.record(&r[2..], &mut be, &[0; RAND_LEN]),
        Out::SendClose(_)
    ));
}

#[test]
fn truncated_and_replayed_pak_messages() {
    let v = Vectors::load();
    let recs = v.records("C");
    let mut be = Mem::default();
    account(&mut be, v.get("user"), v.get("password"));
    // plan9port's recorded first message, truncated at every length: never
    // a panic, always an error and a close
    for n in 1..recs[0].len() - 3 {
        let mut s = Session::new("kat");
        match s.record(&recs[0][2..2 + n], &mut be, &[0; RAND_LEN]) {
            Out::SendClose(_) => {}
            o => panic!("{n}: {o:?}"),
        }
    }
    // the whole recorded login replayed against a server with another y:
    // the proof fails, the failure is counted, nothing more happens
    let mut s = Session::new(v.get("server"));
    assert!(matches!(
        s.record(&recs[0][2..], &mut be, &[9; RAND_LEN]),
        Out::Send(_)
    ));
    assert_eq!(
        s.record(&recs[1][2..], &mut be, &[9; RAND_LEN]),
        Out::SendClose(vec![])
    );
    assert_eq!(be.bad, [v.get("user")]);
    // a client that hangs up after the server's proof has had its guess
    let mut s = Session::new("kat");
    assert!(matches!(
        s.record(&recs[0][2..], &mut be, &[9; RAND_LEN]),
        Out::Send(_)
    ));
    s.closed(&mut be);
    assert_eq!(be.bad.len(), 2);
    be.bad.clear();
    // with the recorded y, the server answers exactly what plan9port's did
    let mut s = Session::new(v.get("server"));
    let Out::Send(a) = s.record(&recs[0][2..], &mut be, &v.rand("y")) else {
        panic!()
    };
    assert_eq!(a, v.records("S")[0]);
    let Out::Send(ok) = s.record(&recs[1][2..], &mut be, &v.rand("y")) else {
        panic!()
    };
    assert_eq!(ok, v.records("S")[1]);
    assert_eq!(s.user(), Some(v.get("user")));
}
