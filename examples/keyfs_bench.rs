//! keyfs budgets, run by bench/keyfs/run (not a test: it prints numbers).
//!
//! `keyfs_bench all`     unlock time, lookups among 1,000 and 10,000
//!                       accounts, file size per account, bytes written per
//!                       failed login.
//! `keyfs_bench kdf N`   run N PBKDF2-HMAC-SHA256 iterations and exit (the
//!                       MIPS estimate counts the instructions this executes
//!                       under qemu).
//! `keyfs_bench aeskey N` the same for passtoaeskey's PBKDF2-HMAC-SHA1.

use std::time::Instant;
use warden::auth::keyfs::disk::FaultFs;
use warden::auth::keyfs::sealed::{MasterKey, DEFAULT_ITERATIONS};
use warden::auth::keyfs::{Account, Expiry, KeyfsError, RealFs, Secrets, Store};
use warden::auth::oath::{Hash, Kind, Token};

const PASS: &[u8] = b"bench passphrase";

fn scratch() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("warden-keyfs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A key file with `n` accounts, each with password secrets, a TOTP token
/// and one attribute (a realistic, slightly generous account).
fn populate(path: &std::path::Path, n: usize, iterations: u32) -> Store {
    let mut s = Store::create(RealFs, path, PASS, iterations).expect("create");
    let secrets = Secrets::from_password(b"a typical password");
    s.update(|db| {
        for i in 0..n {
            let name = format!("user{i:05}");
            let mut a = Account::new(&name, Expiry::At(2_000_000_000), 1_700_000_000)
                .map_err(KeyfsError::BadName)?;
            a.secrets = Some(secrets.clone());
            a.otp = Some(Token {
                kind: Kind::Totp { step: 30 },
                digits: 6,
                hash: Hash::Sha1,
                key: zeroize::Zeroizing::new(vec![7u8; 20]),
                counter: 0,
                last_otp: Some("123456".into()),
                last_time: Some(1_700_000_000),
            });
            a.attrs.push(("ssh-principals".into(), name.clone()));
            db.accounts.insert(name, a);
        }
        Ok(())
    })
    .expect("populate");
    s
}

fn kdf(n: u32) {
    // black_box: the work must not be optimised away (router builds print
    // nothing for Debug, so printing the key would not keep it).
    let k = std::hint::black_box(MasterKey::derive(PASS, [1; 16], n));
    println!("{}", k.iterations);
}

fn all() {
    let dir = scratch();
    println!("# keyfs bench (host: {})", std::env::consts::ARCH);

    // KDF and unlock.
    let t = Instant::now();
    let _ = MasterKey::derive(PASS, [1; 16], DEFAULT_ITERATIONS);
    let kdf_s = t.elapsed().as_secs_f64();
    println!(
        "kdf: PBKDF2-HMAC-SHA256 x {DEFAULT_ITERATIONS}: {:.3} s ({:.0} iterations/s)",
        kdf_s,
        f64::from(DEFAULT_ITERATIONS) / kdf_s
    );
    let p = dir.join("keys-unlock");
    drop(populate(&p, 1000, DEFAULT_ITERATIONS));
    let t = Instant::now();
    let (s, _) = Store::open(RealFs, &p, PASS).expect("open");
    println!(
        "unlock: open a 1,000-account file at {DEFAULT_ITERATIONS} iterations: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    drop(s);

    // Size and lookups.
    for n in [1000usize, 10_000] {
        let p = dir.join(format!("keys-{n}"));
        drop(populate(&p, n, 1000));
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        let empty = 64 + 16 + 13; // header, tag, empty payload
        let t = Instant::now();
        let (s, _) = Store::open(RealFs, &p, PASS).expect("open");
        let open_s = t.elapsed().as_secs_f64();
        let kdf_only = {
            let t = Instant::now();
            let _ = MasterKey::derive(PASS, [1; 16], 1000);
            t.elapsed().as_secs_f64()
        };
        let rounds = 200_000u32;
        let names: Vec<String> = (0..997)
            .map(|i| format!("user{:05}", (i * 7919) % n))
            .collect();
        let t = Instant::now();
        let mut hits = 0;
        for r in 0..rounds {
            let name = &names[r as usize % names.len()];
            if s.secrets(name, 1_800_000_000).is_ok() {
                hits += 1;
            }
        }
        let per = t.elapsed().as_secs_f64() / f64::from(rounds);
        assert_eq!(hits, rounds);
        println!(
            "accounts {n}: file {size} bytes ({:.1} bytes/account); decrypt+decode {:.1} ms; lookup (secrets of one user) {:.0} ns",
            (size - empty) as f64 / n as f64,
            (open_s - kdf_only) * 1e3,
            per * 1e9
        );
    }

    // Flash wear per failed login.
    let p = dir.join("keys-wear");
    drop(populate(&p, 100, 1000));
    let fs = FaultFs::new(RealFs, 0);
    let (mut s, _) = Store::open(fs, &p, PASS).expect("open");
    let mut now = 1_800_000_000u64;
    let mut counts = Vec::new();
    for i in 1..=50 {
        let before = s.fs().bytes_written.get();
        match s.check_password("user00001", b"wrong", now) {
            Err(KeyfsError::BadSecret(_)) | Err(KeyfsError::Disabled(_)) => {}
            Err(KeyfsError::Purgatory { secs, .. }) => {
                now += secs;
                let _ = s.check_password("user00001", b"wrong", now);
            }
            other => panic!("{i}: {other:?}"),
        }
        counts.push(s.fs().bytes_written.get() - before);
    }
    let zero = counts.iter().take_while(|c| **c == 0).count();
    println!(
        "failed logins: bytes written for failures 1..{zero}: 0; at the disabling failure: {} (one generation)",
        counts.iter().sum::<u64>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["kdf", n] => kdf(n.parse().expect("kdf N")),
        ["aeskey", n] => {
            // passtoaeskey's PBKDF2-HMAC-SHA1 with N iterations.
            let mut k = [0u8; 16];
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(
                PASS,
                b"Plan 9 key derivation",
                n.parse().expect("N"),
                &mut k,
            );
            println!("{}", std::hint::black_box(k)[0]);
        }
        [] | ["all"] => all(),
        _ => {
            eprintln!("usage: keyfs_bench [all | kdf N]");
            std::process::exit(2);
        }
    }
}
