//! Ticket service throughput and memory. Serves two accounts on
//! 127.0.0.1, then reports: AuthTreq requests per second over kept-open
//! connections (C client threads), the rate with a new connection per
//! request, dp9ik's AuthPAK + AuthTreq exchanges per second on kept-open
//! connections (the clients send public keys made once, so the figure is
//! the service's work alone), and the RSS growth per idle connection. Run
//! by bench/authsrv.
//!
//! Usage: authsrv_bench [SECONDS] [CLIENTS] [IDLE_CONNS]
//!        authsrv_bench pak N      the service's side of N dp9ik logins
//!                                 (two PAKs and the form1 tickets each),
//!                                 in process; for instruction counts
//!        authsrv_bench scalar N   N Ed448 scalar multiplications with
//!                                 the decaf encoding
//!        authsrv_bench base N     N of the base point (the comb), as a
//!                                 PAK's public key is made

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden::auth::authsrv::authpak::{PakHash, PakPriv};
use warden::auth::authsrv::decide::{Accounts, SpeaksFor};
use warden::auth::authsrv::ed448;
use warden::auth::authsrv::exchanges::{converse, Session};
use warden::auth::authsrv::pak;
use warden::auth::authsrv::server::{Limits, TicketServer};
use warden::auth::authsrv::wire::{types, Ticketreq};
use warden::auth::keyfs::account::{passtoaeskey, passtokey};
use warden::sys::signals::Shutdown;

/// DES and AES keys, as keyfs keeps both.
struct Db(HashMap<&'static str, ([u8; 7], [u8; 16])>);

impl Db {
    fn new() -> Db {
        Db(HashMap::from([
            (
                "glenda",
                (passtokey(b"glenda pw"), passtoaeskey(b"glenda pw")),
            ),
            ("cpu", (passtokey(b"cpu key"), passtoaeskey(b"cpu key"))),
        ]))
    }
}

impl Accounts for Db {
    fn des_key(&self, user: &str) -> Option<[u8; 7]> {
        self.0.get(user).map(|k| k.0)
    }
    fn aes_key(&self, user: &str) -> Option<[u8; 16]> {
        self.0.get(user).map(|k| k.1)
    }
}

fn treq(ty: u8) -> [u8; 141] {
    Ticketreq {
        ty,
        authid: "cpu".into(),
        authdom: "lan".into(),
        chal: *b"01234567",
        hostid: "glenda".into(),
        uid: "glenda".into(),
    }
    .emit()
    .expect("emit")
}

/// A dp9ik client's request to the service, its public keys made once.
fn pak_request() -> Vec<u8> {
    let mut n = 0u8;
    let mut random = |b: &mut [u8]| {
        for x in b {
            n = n.wrapping_mul(37).wrapping_add(11);
            *x = n;
        }
    };
    let hs = PakHash::new(&passtoaeskey(b"cpu key"), "cpu");
    let hc = PakHash::new(&passtoaeskey(b"glenda pw"), "glenda");
    let ys = PakPriv::new(&hs, true, &mut random);
    let yc = PakPriv::new(&hc, true, &mut random);
    pak::client_request(
        &treq(types::AUTH_PAK),
        ys.y(),
        yc.y(),
        &treq(types::AUTH_TREQ),
    )
}

fn modes(args: &[String]) -> bool {
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    match args.first().map(String::as_str) {
        Some("pak") => {
            // the base point's comb table, made once per process, is not
            // a login's cost: made before counting starts
            std::hint::black_box(ed448::Point::scale_base(&[1; ed448::LEN]));
            let db = Db::new();
            let req = pak_request();
            let mut r = |b: &mut [u8]| warden::sys::random::fill_or_abort(b);
            for _ in 0..n {
                let mut s = Session::new("lan", false);
                let out = converse(&mut s, &req, &db, &SpeaksFor::default(), &mut r);
                assert_eq!(out.len(), 1 + 2 * 56 + 1 + 2 * 124);
            }
            true
        }
        Some("scalar") => {
            let g = ed448::base();
            let mut x = [0x5au8; ed448::LEN];
            for i in 0..n {
                x[0] = i as u8;
                std::hint::black_box(g.scale(&x).encode());
            }
            true
        }
        Some("base") => {
            std::hint::black_box(ed448::Point::scale_base(&[1; ed448::LEN]));
            let mut x = [0x5au8; ed448::LEN];
            for i in 0..n {
                x[0] = i as u8;
                std::hint::black_box(ed448::Point::scale_base(&x).encode());
            }
            true
        }
        _ => false,
    }
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    if modes(&words) {
        return;
    }
    let args: Vec<u64> = words.iter().filter_map(|a| a.parse().ok()).collect();
    let secs = *args.first().unwrap_or(&3);
    let clients = *args.get(1).unwrap_or(&2);
    let idle = *args.get(2).unwrap_or(&1000) as usize;
    let db = Db::new();
    let mut srv = TicketServer::bind(
        "127.0.0.1:0",
        Arc::new(db),
        SpeaksFor::default(),
        // every client is 127.0.0.1: one peer, so its cap is the house's
        Limits {
            max_conns: idle + 64,
            per_peer: idle + 64,
            idle: Duration::from_secs(600),
        },
    )
    .expect("bind");
    let addr = srv.local_addr().expect("addr");
    let stop = Arc::new(Shutdown::new().expect("pipe"));
    let s2 = stop.clone();
    let h = std::thread::spawn(move || srv.serve(s2.fd()).expect("serve"));
    let req = Ticketreq {
        ty: types::AUTH_TREQ,
        authid: "cpu".into(),
        authdom: "lan".into(),
        chal: *b"01234567",
        hostid: "glenda".into(),
        uid: "glenda".into(),
    }
    .emit()
    .expect("emit");
    let ask = move |s: &mut TcpStream| {
        s.write_all(&req).expect("write");
        let mut b = [0u8; 145];
        s.read_exact(&mut b).expect("read");
        assert_eq!(b[0], types::AUTH_OK);
    };

    // kept-open connections
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).ok();
                let mut n = 0u64;
                while Instant::now() < until {
                    ask(&mut s);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = threads.into_iter().map(|t| t.join().expect("join")).sum();
    println!(
        "AuthTreq, {clients} kept-open connections: {:.0} requests/s",
        n as f64 / secs as f64
    );

    // dp9ik: AuthPAK and AuthTreq on kept-open connections
    let preq = Arc::new(pak_request());
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let preq = preq.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).ok();
                let mut n = 0u64;
                let mut b = vec![0u8; 1 + 2 * 56 + 1 + 2 * 124];
                while Instant::now() < until {
                    s.write_all(&preq).expect("write");
                    s.read_exact(&mut b).expect("read");
                    assert_eq!((b[0], b[113]), (types::AUTH_OK, types::AUTH_OK));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = threads.into_iter().map(|t| t.join().expect("join")).sum();
    println!(
        "dp9ik AuthPAK + AuthTreq, {clients} kept-open connections: {:.0} exchanges/s",
        n as f64 / secs as f64
    );

    // a connection per request
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_secs(secs) {
        let mut s = TcpStream::connect(addr).expect("connect");
        ask(&mut s);
        n += 1;
    }
    println!(
        "AuthTreq, new connection each: {:.0} requests/s",
        n as f64 / t.elapsed().as_secs_f64()
    );

    // idle connections (the server's side; the clients' sockets are in
    // this process too, so the per-connection figure is an upper bound)
    let before = rss_kib();
    let held: Vec<TcpStream> = (0..idle)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(&req[..10]).expect("write");
            s
        })
        .collect();
    // let the server accept and read them all
    let mut probe = TcpStream::connect(addr).expect("connect");
    ask(&mut probe);
    std::thread::sleep(Duration::from_millis(300));
    ask(&mut probe);
    let after = rss_kib();
    println!(
        "{idle} idle connections (half a request each): RSS +{} KiB, {:.0} bytes per connection (server and client side)",
        after.saturating_sub(before),
        (after.saturating_sub(before) * 1024) as f64 / idle as f64
    );
    drop(held);
    stop.raise();
    h.join().expect("server");
}
