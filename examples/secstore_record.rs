//! Record what a secstore client (plan9port's, by hand) and warden's
//! secstore session say, for tests/secstore/ to replay: serves
//! connections one at a time on 127.0.0.1 from an in-memory store with
//! one account, and writes every client record, the random bytes the
//! session was given for it, and what the session answered.
//!
//! Usage: secstore_record PORT USER PASSWORD TRANSCRIPT CONNECTIONS
//!
//! Transcript lines: `user U`, `password P`, then per connection `conn`,
//! and per client record `C <hex>`, `R <hex>` (the session's random
//! bytes), `S <hex>` (its answer, `-` for none) and `close` when it
//! ended the connection.

use std::io::{Read, Write};
use std::net::TcpListener;
use warden::auth::secstore::pak::RAND_LEN;
use warden::auth::secstore::sconn::Split;
use warden::auth::secstore::session::{Memory, Out, Session};

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02X}")).collect()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let [_, port, user, pass, out, n] = &a[..] else {
        eprintln!("usage: secstore_record PORT USER PASSWORD TRANSCRIPT CONNECTIONS");
        std::process::exit(2);
    };
    let l = TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    let mut t = std::fs::File::create(out).unwrap();
    writeln!(t, "user {user}\npassword {pass}").unwrap();
    let mut be = Memory::default();
    be.add(user, pass.as_bytes());
    for _ in 0..n.parse::<usize>().unwrap() {
        let (mut s, peer) = l.accept().unwrap();
        eprintln!("connection from {peer}");
        writeln!(t, "conn").unwrap();
        let mut sess = Session::new("warden");
        let mut buf = Vec::new();
        'conn: loop {
            while let Split::Record(k) = sess.split(&buf) {
                let rec: Vec<u8> = buf.drain(..2 + k).collect();
                let rand = warden::sys::random::array::<RAND_LEN>().unwrap();
                writeln!(t, "C {}\nR {}", hex(&rec), hex(&rand)).unwrap();
                let (o, close) = match sess.record(&rec[2..], &mut be, &rand) {
                    Out::Send(o) => (o, false),
                    Out::SendClose(o) => (o, true),
                };
                writeln!(t, "S {}", if o.is_empty() { "-".into() } else { hex(&o) }).unwrap();
                s.write_all(&o).unwrap();
                if close {
                    writeln!(t, "close").unwrap();
                    break 'conn;
                }
            }
            let mut b = [0u8; 8192];
            match s.read(&mut b) {
                Ok(0) | Err(_) => {
                    sess.closed(&mut be);
                    break;
                }
                Ok(k) => buf.extend_from_slice(&b[..k]),
            }
        }
    }
    eprintln!(
        "files at the end: {:?}",
        be.files.keys().collect::<Vec<_>>()
    );
}
