//! rpc throughput and memory of a running `warden factotum`, over its
//! socket (run by bench/factotum, which starts the factotum).
//!
//! Usage: factotum_bench SOCKET PID [N]
//!
//! Prints transactions per second and latency percentiles for proto=pass
//! (start + read: two writes and two reads) and proto=hotp role=client
//! (start + read), then the factotum's RSS growth per open conversation and
//! per key (from /proc/PID/status).

use std::path::Path;
use std::time::{Duration, Instant};
use warden::ninep::client::Conn;
use warden::ninep::fcall::{ORDWR, OWRITE};

fn rss_kib(pid: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ctl(c: &mut Conn, line: &str) {
    let fid = c.open("ctl", OWRITE).expect("open ctl");
    c.write(fid, line.as_bytes()).expect("ctl write");
    c.clunk(fid);
}

fn round(c: &mut Conn, fid: u32, start: &str, want: &str) {
    c.write(fid, start.as_bytes()).expect("start");
    let r = c.read(fid, 0).expect("read");
    assert_eq!(r, b"ok", "start: {}", String::from_utf8_lossy(&r));
    c.write(fid, b"read").expect("write read");
    let r = c.read(fid, 0).expect("read");
    assert!(
        r.starts_with(want.as_bytes()),
        "{}",
        String::from_utf8_lossy(&r)
    );
}

fn report(what: &str, mut lat: Vec<Duration>, total: Duration) {
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    println!(
        "{what}: {} transactions in {:.2} s: {:.0}/s; latency p50 {:?} p99 {:?} max {:?}",
        lat.len(),
        total.as_secs_f64(),
        lat.len() as f64 / total.as_secs_f64(),
        pct(50),
        pct(99),
        lat[lat.len() - 1]
    );
}

fn bench(c: &mut Conn, n: usize, what: &str, start: &str, want: &str) {
    let fid = c.open("rpc", ORDWR).expect("open rpc");
    for _ in 0..n / 10 {
        round(c, fid, start, want);
    }
    let mut lat = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        round(c, fid, start, want);
        lat.push(t.elapsed());
    }
    report(what, lat, t0.elapsed());
    c.clunk(fid);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(sock), Some(pid)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: factotum_bench SOCKET PID [N]");
        std::process::exit(2);
    };
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20000);
    let path = Path::new(sock);
    let mut c = Conn::dial(path, "bench").expect("connect");
    ctl(&mut c, "key proto=pass user=glenda !password=pw");
    ctl(
        &mut c,
        "key proto=hotp user=glenda counter=0 !secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    );
    bench(
        &mut c,
        n,
        "pass start+read",
        "start proto=pass role=client",
        "ok glenda pw",
    );
    bench(
        &mut c,
        n,
        "hotp start+read",
        "start proto=hotp role=client",
        "ok",
    );

    // memory per open conversation: 8 connections x 200 conversations,
    // each started (so it holds its protocol machine)
    let conns = 8;
    let per = 200;
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(pid);
    let mut held = Vec::new();
    for _ in 0..conns {
        let mut k = Conn::dial(path, "bench").expect("connect");
        let mut fids = Vec::new();
        for _ in 0..per {
            let fid = k.open("rpc", ORDWR).expect("open rpc");
            k.write(fid, b"start proto=pass role=client")
                .expect("start");
            fids.push(fid);
        }
        held.push((k, fids));
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib(pid);
    let convs = conns * per;
    println!(
        "conversations: {convs} open: RSS {before} -> {after} KiB: {:.0} bytes each (incl. the fids and 9P sessions holding them)",
        (after.saturating_sub(before) * 1024) as f64 / convs as f64
    );
    drop(held);

    let keys = 5000;
    let before = rss_kib(pid);
    for i in 0..keys {
        ctl(
            &mut c,
            &format!("key proto=pass user=user{i} server=host{i}.example !password=password{i}"),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib(pid);
    println!(
        "keys: {keys} added (proto=pass user server !password): RSS {before} -> {after} KiB: {:.0} bytes each",
        (after.saturating_sub(before) * 1024) as f64 / keys as f64
    );
}
