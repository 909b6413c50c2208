//! Kill the writer at random points: a child process adds accounts to a key
//! file in a loop, one write per account; the parent SIGKILLs it after a
//! random delay, then opens the file. It must open directly (not from the
//! backup) and hold exactly accounts u0..uN for some N no smaller than
//! before: the old or the new generation, never a mix, never nothing.
//!
//! Runs without the test harness (`harness = false`) so the process is
//! single-threaded when it forks. ITERATIONS env var: rounds (default 200).

#[path = "common/mod.rs"]
mod common;

use common::{Rng, Scratch};
use warden::auth::keyfs::{Expiry, RealFs, Store};

const PASS: &[u8] = b"crash test";

fn child(path: &std::path::Path) -> ! {
    let code = match Store::open(RealFs, path, PASS) {
        Ok((mut s, _)) => {
            let mut i = s.users().count();
            loop {
                if s.add_user(&format!("u{i}"), Expiry::Never, i as u64)
                    .is_err()
                {
                    break 3;
                }
                i += 1;
            }
        }
        Err(_) => 2,
    };
    // SAFETY: leave the forked child without running the parent's atexit.
    unsafe { libc::_exit(code) }
}

fn check(path: &std::path::Path, min: usize, round: u32) -> usize {
    let (s, warnings) = Store::open(RealFs, path, PASS)
        .unwrap_or_else(|e| panic!("round {round}: the key file does not open: {e}"));
    assert!(
        warnings.is_empty(),
        "round {round}: current file unreadable: {warnings:?}"
    );
    let n = s.users().count();
    for i in 0..n {
        assert!(
            s.user(&format!("u{i}")).is_ok(),
            "round {round}: {n} accounts but u{i} missing: a mixed generation"
        );
    }
    assert!(
        n >= min,
        "round {round}: went back from {min} to {n} accounts"
    );
    n
}

fn main() {
    let rounds: u32 = std::env::var("ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut r = Rng::new("keyfs_crash");
    let dir = Scratch::new("keyfs-crash");
    let path = dir.path("keys");
    drop(Store::create(RealFs, &path, PASS, 10).unwrap());
    let mut seen = 0;
    let mut killed_mid_run = 0;
    let mut mid_write = 0;
    for round in 0..rounds {
        // SAFETY: this process is single-threaded (no test harness).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            child(&path);
        }
        std::thread::sleep(std::time::Duration::from_micros(500 + r.below(40_000)));
        let mut status = 0;
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
        }
        if libc::WIFSIGNALED(status) {
            killed_mid_run += 1;
        } else {
            panic!("round {round}: the writer exited by itself (status {status})");
        }
        let tmp = warden::auth::keyfs::store::sibling(&path, ".new");
        if tmp.exists() {
            mid_write += 1;
            // Count each interrupted write once.
            std::fs::remove_file(&tmp).unwrap();
        }
        seen = check(&path, seen, round);
        // Leftovers of an interrupted write are allowed; a lost file is not.
        assert!(!warden::auth::keyfs::store::sibling(&path, ".unreadable").exists());
    }
    println!(
        "keyfs_crash: {rounds} rounds, {killed_mid_run} writers killed ({mid_write} with a write in flight), {seen} accounts survived: ok"
    );
    assert!(
        mid_write > 0,
        "no kill landed inside a write; the test proved nothing"
    );
}
