//! secstored's speed. Serves one account (in a keyfs in a temporary
//! directory) on 127.0.0.1 and reports PAK logins per second over
//! loopback, each a new connection running warden's client (its side
//! included: the password hash H^r and the inverse are the costly part of
//! a login there). Run by bench/secstore.
//!
//! Usage: secstore_bench [SECONDS] [CLIENTS]
//!        secstore_bench server N   the server's side of N logins, in
//!                                  process (for instruction counts)

use warden::auth::secstore::pak::{self, RAND_LEN};
use warden::auth::secstore::sconn::Channel;
use warden::auth::secstore::session::{Memory, Out, Session};

fn server_side(n: usize) {
    let mut be = Memory::default();
    be.add("glenda", b"bench password");
    // one client message, made once: the figure is the server's work
    let (_, hello) = pak::Client::start("glenda", b"bench password", &[7; RAND_LEN]);
    let rec = Channel::new().seal(&hello).unwrap();
    let mut ok = 0;
    for i in 0..n {
        let mut s = Session::new("warden");
        if let Out::Send(a) = s.record(&rec[2..], &mut be, &[i as u8 | 1; RAND_LEN]) {
            ok += a.len();
        }
        // the proof's check is a hash: a wrong one costs what a right one does
        let p = Channel::new()
            .seal(b"k'=AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
            .unwrap();
        std::hint::black_box(s.record(&p[2..], &mut be, &[0; RAND_LEN]));
    }
    println!("{n} server sides ({ok} bytes answered)");
}

#[cfg(feature = "client")]
fn loopback(secs: u64, clients: usize) {
    use std::time::{Duration, Instant};
    use warden::auth::keyfs::account::SecstoreAccount;
    use warden::auth::keyfs::shared::SharedKeyfs;
    use warden::auth::keyfs::{Expiry, Mode, RealFs, Settings, Store};
    use warden::auth::secstore::client::Conn;
    let dir = std::env::temp_dir().join(format!("warden-secstore-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys");
    {
        let mut s = Store::create(RealFs, &file, b"master", 1000).unwrap();
        s.add_user("glenda", Expiry::Never, 0).unwrap();
        let hi = pak::verifier("glenda", b"bench password").1.to_be_vec();
        s.set_secstore(
            "glenda",
            Some(SecstoreAccount {
                hi: zeroize::Zeroizing::new(hi),
                max_files: 4,
                max_bytes: 4096,
            }),
            0,
        )
        .unwrap();
    }
    let k = SharedKeyfs::new(Settings {
        file,
        mode: Mode::Attended,
        iterations: 1000,
    });
    k.unlock(b"master").unwrap();
    let limits = warden::sys::frameserve::Limits {
        admit: warden::admit::Limits {
            max_conns: 64,
            per_peer: 64,
            idle: Duration::from_secs(10),
        },
        max_frame: 4116,
    };
    let mut srv =
        warden::auth::secstore::service::bind("127.0.0.1:0", k, "warden", limits).unwrap();
    let addr = srv.listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(warden::sys::signals::Shutdown::new().unwrap());
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        srv.serve(st.fd()).unwrap();
        srv.handler.stats.logins
    });
    let end = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < end {
                    let s = std::net::TcpStream::connect(addr).unwrap();
                    let c = Conn::login(s, "glenda", b"bench password", &[i as u8 + 1; RAND_LEN])
                        .unwrap();
                    c.bye().unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let dt = t0.elapsed().as_secs_f64();
    stop.raise();
    let logins = h.join().unwrap();
    println!(
        "secstore: {n} logins in {dt:.1} s with {clients} clients: {:.1} logins/s (client side included; server counted {logins})",
        n as f64 / dt
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.first().map(String::as_str) == Some("server") {
        server_side(a.get(1).and_then(|n| n.parse().ok()).unwrap_or(1));
        return;
    }
    #[cfg(feature = "client")]
    loopback(
        a.first().and_then(|s| s.parse().ok()).unwrap_or(3),
        a.get(1).and_then(|s| s.parse().ok()).unwrap_or(2),
    );
    #[cfg(not(feature = "client"))]
    eprintln!("loopback logins need the client feature");
}
