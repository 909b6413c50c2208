//! Known answers from plan9port's own pak.c and SConn.c
//! (tests/vectors/secstore-pak.txt: x and y fixed, both sides on one
//! connection, every record as it went over the wire).

use super::*;
use crate::auth::secstore::sconn::{Channel, Split};
use crate::auth::{dec16, enc16};

pub(crate) struct Vectors {
    pub lines: Vec<(String, String)>,
}

impl Vectors {
    pub fn load() -> Vectors {
        let text = include_str!("../../../../tests/vectors/secstore-pak.txt");
        let lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(' ').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        Vectors { lines }
    }
    pub fn get(&self, k: &str) -> &str {
        &self.lines.iter().find(|(a, _)| a == k).unwrap().1
    }
    /// The records one side sent, in order.
    pub fn records(&self, who: &str) -> Vec<Vec<u8>> {
        self.lines
            .iter()
            .filter(|(a, _)| a == who)
            .map(|(_, v)| dec16(v.as_bytes()))
            .collect()
    }
    pub fn rand(&self, k: &str) -> [u8; RAND_LEN] {
        let n = Nat::from_be_bytes(&dec16(self.get(k).as_bytes())).unwrap();
        let mut r = [0u8; RAND_LEN];
        assert!(n.write_be_bytes(&mut r));
        r
    }
}

#[test]
fn verifier_matches_plan9port() {
    let v = Vectors::load();
    let (h, hi) = verifier(v.get("user"), v.get("password").as_bytes());
    assert_eq!(enc16(&h.to_be_vec()), v.get("H"));
    assert_eq!(b64(&hi), v.get("Hi"));
}

#[test]
fn exchange_matches_plan9port_byte_for_byte() {
    let v = Vectors::load();
    let (c_recs, s_recs) = (v.records("C"), v.records("S"));
    let (user, pass, name) = (v.get("user"), v.get("password"), v.get("server"));
    let (mut cch, mut sch) = (Channel::new(), Channel::new());

    let (client, hello) = Client::start(user, pass.as_bytes(), &v.rand("x"));
    assert_eq!(cch.seal(&hello).unwrap(), c_recs[0]);
    let Split::Record(n) = sch.split(&c_recs[0]) else {
        panic!()
    };
    let got = sch.open(&c_recs[0][2..2 + n]).unwrap();
    let h = parse_hello(&got).unwrap();
    assert_eq!((h.user, h.m_text, h.is_probe()), (user, v.get("m"), false));

    let (_, hi) = verifier(user, pass.as_bytes());
    let (server, answer) = Server::answer(&h, &hi, name, &v.rand("y"));
    assert_eq!(sch.seal(&answer).unwrap(), s_recs[0]);

    assert_eq!(&cch.open(&s_recs[0][2..]).unwrap()[..], &answer[..]);
    let (proof, ckey, sname) = client.finish(&answer).unwrap();
    assert_eq!(sname, name);
    assert_eq!(cch.seal(&proof).unwrap(), c_recs[1]);
    assert_eq!(&sch.open(&c_recs[1][2..]).unwrap()[..], &proof[..]);
    let skey = server.finish(&proof).unwrap();
    assert_eq!(enc16(&ckey[..]), v.get("session"));
    assert_eq!(ckey, skey);

    cch.set_secret(&ckey[..], false);
    sch.set_secret(&skey[..], true);
    assert_eq!(sch.seal(b"OK").unwrap(), s_recs[1]);
    assert_eq!(&cch.open(&s_recs[1][2..]).unwrap()[..], b"OK");
    assert_eq!(cch.seal(b"GET factotum\n").unwrap(), c_recs[2]);
    assert_eq!(cch.seal(b"BYE").unwrap(), c_recs[3]);
    assert_eq!(&sch.open(&c_recs[2][2..]).unwrap()[..], b"GET factotum\n");
    assert_eq!(&sch.open(&c_recs[3][2..]).unwrap()[..], b"BYE");
}

#[test]
fn wrong_password_and_bad_messages() {
    let v = Vectors::load();
    let (user, pass) = (v.get("user"), v.get("password"));
    let (_, hi) = verifier(user, pass.as_bytes());
    let (client, hello) = Client::start(user, b"not the password", &[5; RAND_LEN]);
    let h = parse_hello(&hello).unwrap();
    let (server, answer) = Server::answer(&h, &hi, "s", &[9; RAND_LEN]);
    // The client sees the server does not know its (wrong) password...
    assert_eq!(client.finish(&answer).err(), Some(PakError::Mismatch));
    // ...and a proof made another way does not pass the server.
    assert_eq!(server.finish(b"k'=AAAA\n").err(), Some(PakError::Mismatch));
    // A replayed proof from the recorded exchange fails against new y.
    let (c2, hello2) = Client::start(user, pass.as_bytes(), &v.rand("x"));
    let h2 = parse_hello(&hello2).unwrap();
    let (s2, _) = Server::answer(&h2, &hi, v.get("server"), &[1; RAND_LEN]);
    let recorded_proof = &v.records("C")[1][2..];
    assert_eq!(s2.finish(recorded_proof).err(), Some(PakError::Mismatch));
    drop(c2);
    for bad in [
        &b"secstore\tPAK\nC=glenda\n"[..],
        b"secstore\tPAK\nC=glenda\nm=\n",
        b"secstore\tPAK\nC=glenda\nm=AAAA",
        b"secstore\tSRP\nC=glenda\nm=AAAA\n",
        b"secstore\tPAK\nm=AAAA\n",
        b"\xff\xfe",
        b"",
    ] {
        assert!(parse_hello(bad).is_err(), "{bad:?}");
    }
    let probe = parse_hello(b"secstore\tPAK\nC=glenda\nm=AA==\n").unwrap();
    assert!(probe.is_probe());
    let (c3, _) = Client::start(user, pass.as_bytes(), &[3; RAND_LEN]);
    assert!(matches!(
        c3.finish(b"mu=AAAA\nk=x\n"),
        Err(PakError::Syntax(_))
    ));
    let (s3, _) = Server::answer(&h, &hi, "s", &[9; RAND_LEN]);
    assert!(matches!(s3.finish(b"k'=abc"), Err(PakError::Syntax(_))));
}
