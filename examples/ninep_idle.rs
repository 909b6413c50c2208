//! Memory of idle 9P connections: serves the demo tree on a Unix socket,
//! opens N sessions (version + attach + one walked fid each) and reports
//! the process's RSS growth per connection next to the computed struct
//! sizes. Run by bench/ninep-idle.
//!
//! Usage: ninep_idle [N]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use warden::ninep::demo::DemoTree;
use warden::ninep::fcall::{decode, Fcall, Msg, NOFID, NOTAG};
use warden::ninep::server::{Limits, Server};
use warden::ninep::unix::{self, idle_conn_bytes, ListenLimits, Listener, PeerPolicy};
use warden::service::{Control, Event};

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rpc(s: &mut UnixStream, tag: u16, body: Fcall) -> Fcall {
    s.write_all(&Msg::new(tag, body).encode()).unwrap();
    let mut size = [0u8; 4];
    s.read_exact(&mut size).unwrap();
    let mut m = size.to_vec();
    m.resize(u32::from_le_bytes(size) as usize, 0);
    s.read_exact(&mut m[4..]).unwrap();
    decode(&m).unwrap().body
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::temp_dir().join(format!("warden-ninep-idle-{}", std::process::id()));
    let path = dir.join("ns").join("demo");
    let sock = unix::bind(&path, false).unwrap();
    let control = Control::new().unwrap();
    let c = control.clone();
    let p = path.clone();
    let t = std::thread::spawn(move || {
        let server = Server::new("demo", DemoTree::new("bench"), Limits::default());
        let mut l = Listener::new(
            sock,
            Some(&p),
            server,
            PeerPolicy::owner_only(),
            // the bench is one peer (the owner) holding every connection
            ListenLimits {
                admit: warden::admit::Limits {
                    max_conns: n + 16,
                    per_peer: n + 16,
                    idle: std::time::Duration::ZERO,
                },
                ..ListenLimits::default()
            },
        )
        .unwrap();
        l.run(c.fd(), |_, _| {
            !c.take().iter().any(|e| matches!(e, Event::Stop))
        })
        .unwrap();
    });
    // Warm up: one session so the server's scratch buffer and code pages
    // are in before measuring.
    let mut warm = UnixStream::connect(&path).unwrap();
    rpc(
        &mut warm,
        NOTAG,
        Fcall::Tversion {
            msize: 8192,
            version: "9P2000".into(),
        },
    );
    let mut conns = Vec::with_capacity(n);
    let before = rss_kib();
    for _ in 0..n {
        let mut s = UnixStream::connect(&path).unwrap();
        rpc(
            &mut s,
            NOTAG,
            Fcall::Tversion {
                msize: 8192,
                version: "9P2000".into(),
            },
        );
        rpc(
            &mut s,
            1,
            Fcall::Tattach {
                fid: 0,
                afid: NOFID,
                uname: "bench".into(),
                aname: String::new(),
            },
        );
        rpc(
            &mut s,
            2,
            Fcall::Twalk {
                fid: 0,
                newfid: 1,
                wnames: vec!["rpc".into()],
            },
        );
        conns.push(s);
    }
    let after = rss_kib();
    let per = (after.saturating_sub(before) * 1024) as f64 / n as f64;
    println!("idle connections: {n}");
    println!(
        "rss growth: {} KiB, {per:.0} bytes per connection (process-wide, both ends' user space)",
        after.saturating_sub(before)
    );
    println!("computed per connection with 2 fids: {} bytes (structs and fid table; no buffers held when idle)", idle_conn_bytes(2));
    let (session, fid) = warden::ninep::server::struct_sizes();
    println!(
        "struct sizes: listener Conn {} Session {session} Fid {fid}",
        unix::conn_struct_size()
    );
    println!(
        "sizes: Fcall {} Msg {} Stat {}",
        std::mem::size_of::<Fcall>(),
        std::mem::size_of::<Msg>(),
        std::mem::size_of::<warden::ninep::fcall::Stat>()
    );
    drop(conns);
    control.send(Event::Stop);
    t.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
