//! The session against warden's own client and against plan9port's
//! recorded client messages, with an in-memory backend.

use super::*;
use crate::auth::secstore::client::{ClientError, Conn};
use crate::auth::secstore::pak::tests::Vectors;
use std::io::{self, Read, Write};

pub(crate) type Mem = Memory;

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
        assert!(
            l.starts_with("big     \t9032 Jan 01 00:00:00 GMT 1970 "),
            "{l}"
        );
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
    let mut be = Mem {
        max_bytes: 100_000,
        ..Mem::default()
    };
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

/// Replay a transcript tests/secstore/ holds (recorded by
/// examples/secstore_record.rs with plan9port's secstore or factotum
/// as the client): every client record, with the random bytes the
/// session had, must get the answer it got then, byte for byte.
fn replay(text: &str) -> Mem {
    let mut be = Mem::default();
    let mut lines = text.lines().map(|l| l.split_once(' ').unwrap_or((l, "")));
    let (_, user) = lines.next().unwrap();
    let (_, pass) = lines.next().unwrap();
    be.add(user, pass.as_bytes());
    let mut sess = None;
    let mut rec = Vec::new();
    let mut rand = [0u8; RAND_LEN];
    let mut got = Out::Send(Vec::new());
    let mut n = 0;
    for (k, v) in lines {
        match k {
            "conn" => {
                if let Some(mut s) = sess.take() {
                    Session::closed(&mut s, &mut be);
                }
                sess = Some(Session::new("warden"));
            }
            "C" => rec = crate::auth::dec16(v.as_bytes()),
            "R" => {
                rand.copy_from_slice(&crate::auth::dec16(v.as_bytes()));
                let s = sess.as_mut().unwrap();
                let Split::Record(len) = s.split(&rec) else {
                    panic!("record {n}")
                };
                assert_eq!(len + 2, rec.len());
                got = s.record(&rec[2..], &mut be, &rand);
                n += 1;
            }
            "S" => {
                let want = if v == "-" {
                    Vec::new()
                } else {
                    crate::auth::dec16(v.as_bytes())
                };
                let bytes = match &got {
                    Out::Send(b) | Out::SendClose(b) => b.clone(),
                };
                assert_eq!(
                    crate::auth::enc16(&bytes),
                    crate::auth::enc16(&want),
                    "answer {n}"
                );
            }
            "close" => assert!(matches!(got, Out::SendClose(_)), "close after {n}"),
            _ => panic!("transcript line {k}"),
        }
    }
    be
}

#[test]
fn plan9port_secstore_transcript_replays() {
    // put factotum; get factotum and the listing; a wrong password; a
    // password change (secstore -c: CHPASS, GET ., GET and PUT again);
    // get with the new password
    let be = replay(include_str!(
        "../../../../tests/secstore/plan9port-secstore.txt"
    ));
    assert_eq!(be.good.len(), 4);
    assert_eq!(be.bad, ["glenda"]);
    let stored = &be.files[&("glenda".to_string(), "factotum".to_string())];
    let keys = crate::auth::secstore::file::open(b"newer-pass", stored).unwrap();
    assert!(keys.starts_with(b"key proto=pass service=ssh user=glenda !password=sshpw\n"));
    assert_eq!(be.hi["glenda"], pak::verifier("glenda", b"newer-pass").1);
}

#[test]
fn plan9port_factotum_transcript_replays() {
    // secstore -p factotum; then factotum at start: the m=0 probe, the
    // login and GET factotum
    let be = replay(include_str!(
        "../../../../tests/secstore/plan9port-factotum.txt"
    ));
    assert_eq!(be.good.len(), 2);
    assert!(be.bad.is_empty());
}
