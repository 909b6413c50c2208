//! The Inferno signer's speed: `inferno_bench` alone prints certificates
//! per second in-process (the server's side of a whole login: two 1024-bit
//! DH exponentiations and the RSA signature) and over loopback TCP;
//! `inferno_bench sign N` signs N certificates and `inferno_bench login N`
//! runs N server sides of the recorded login, for counting instructions
//! under qemu (bench/inferno: N=1 less N=0); `sign-eg N` signs with an
//! ElGamal key over RFC 2409's group and `mr N` runs N Miller-Rabin rounds
//! on a 1023-bit number (what a new 1024-bit safe prime costs, in rounds,
//! is printed by `keygen BITS`, which times one).
//!
//! The login is tests/inferno/getauthinfo.txt (recorded with Inferno's
//! getauthinfo), replayed with its own randomness, so every run does the
//! same work with the signer's 1024-bit test key.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::Instant;
use warden::auth::inferno::elgamal;
use warden::auth::inferno::keyring::{RsaSecret, SecretKey};
use warden::auth::inferno::logind::{Env, Logind, Lookup, Out};
use warden::auth::inferno::rsa::{self, Signer};
use warden::auth::inferno::ssl;
use zeroize::Zeroizing;

const TRANSCRIPT: &str = include_str!("../tests/inferno/getauthinfo.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

struct T {
    signer: Signer,
    account: (String, Vec<u8>, i32),
    random: Vec<Vec<u8>>,
    c2s: Vec<Vec<u8>>,
}

fn load() -> T {
    let mut sk = None;
    let mut account = None;
    let (mut random, mut c2s) = (Vec::new(), Vec::new());
    for l in TRANSCRIPT.lines() {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "signer-key" => sk = Some(String::from_utf8(unhex(v)).unwrap()),
            "account" => {
                let f: Vec<&str> = v.split(' ').collect();
                account = Some((f[0].to_string(), unhex(f[1]), f[2].parse().unwrap()));
            }
            "random" => random.push(unhex(v)),
            "c2s" => c2s.push(unhex(v)),
            _ => {}
        }
    }
    let (alpha, p) = rsa::dh_group();
    T {
        signer: Signer {
            sk: SecretKey::Rsa(RsaSecret::parse(&sk.unwrap()).unwrap()),
            alpha,
            p,
        },
        account: account.unwrap(),
        random,
        c2s,
    }
}

struct Replay<'a> {
    t: &'a T,
    random: VecDeque<Vec<u8>>,
}

impl Env for Replay<'_> {
    fn lookup(&mut self, _name: &str) -> Lookup {
        let mut secret = Zeroizing::new([0u8; 20]);
        secret.copy_from_slice(&self.t.account.1);
        Lookup::Ok {
            secret,
            exp: self.t.account.2,
        }
    }
    fn random(&mut self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.random.pop_front().unwrap());
    }
}

/// One server side of the recorded login; true when it issued.
fn login(t: &T, mut input: impl FnMut() -> Option<Vec<u8>>, mut output: impl FnMut(&[u8])) -> bool {
    let mut env = Replay {
        t,
        random: t.random.iter().cloned().collect(),
    };
    let mut m = Logind::new();
    while let Some(rec) = input() {
        match m.record(&rec[2..], &t.signer, &mut env) {
            Out::Send(r) => output(&r),
            Out::Issued { records, .. } => {
                output(&records);
                return true;
            }
            Out::Fail { .. } => return false,
        }
    }
    false
}

fn in_process(t: &T) -> bool {
    let mut it = t.c2s.iter().cloned();
    login(t, || it.next(), |_| {})
}

/// A fixed generator (xorshift): the same work on every run.
fn rng() -> impl FnMut(&mut [u8]) {
    let mut n = 0x9e37_79b9_7f4a_7c15u64;
    move |b: &mut [u8]| {
        for x in b {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            *x = (n >> 24) as u8;
        }
    }
}

/// An ElGamal signer over RFC 2409's group (createkey --alg elgamal --modp).
fn elgamal(t: &T) -> Signer {
    Signer {
        sk: SecretKey::Elgamal(elgamal::generate("signer", 1024, true, &mut rng())),
        ..t.signer.clone()
    }
}

fn main() {
    let t = load();
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut r = rng();
    match args.get(1).map(String::as_str) {
        Some(w @ ("sign" | "sign-eg")) => {
            let s = if w == "sign" {
                t.signer.clone()
            } else {
                elgamal(&t)
            };
            for i in 0..n {
                let c = s.certify(format!("rsa\nuser{i}\nAw==\nAw==\n").as_bytes(), 0, &mut r);
                std::hint::black_box(c);
            }
            return;
        }
        Some("mr") => {
            let q = warden::auth::bignum::Nat::from_be_bytes(&t.signer.p)
                .unwrap()
                .shr(1);
            for _ in 0..n {
                std::hint::black_box(rsa::probable_prime(&q, 1, &mut r));
            }
            return;
        }
        Some("keygen") => {
            let bits = n.max(64);
            let t0 = Instant::now();
            let mut rounds = 0u64;
            let rr = |b: &mut [u8]| warden::sys::random::fill_or_abort(b);
            let mut counting = |b: &mut [u8]| {
                // every Miller-Rabin round draws one base of the number's size
                if b.len() >= bits / 8 - 1 {
                    rounds += 1;
                }
                rr(b)
            };
            let k = elgamal::generate("signer", bits, false, &mut counting);
            std::hint::black_box(k);
            println!(
                "elgamal keygen: a {bits}-bit safe prime in {:.1} s, about {rounds} Miller-Rabin rounds",
                t0.elapsed().as_secs_f64()
            );
            return;
        }
        Some("login") => {
            for _ in 0..n {
                assert!(in_process(&t));
            }
            return;
        }
        _ => {}
    }
    let rounds = if args.get(1).map(String::as_str) == Some("quick") {
        5
    } else {
        50
    };
    for (what, s) in [
        ("RSA 1024 bits, CRT", t.signer.clone()),
        ("ElGamal 1024 bits", elgamal(&t)),
    ] {
        let t0 = Instant::now();
        for _ in 0..rounds {
            let c = s.certify(b"rsa\nglenda\nAw==\nAw==\n", 0, &mut r);
            std::hint::black_box(c);
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "inferno signer: {:.0} certificate signatures/s ({what})",
            rounds as f64 / s
        );
    }
    let t0 = Instant::now();
    for _ in 0..rounds {
        assert!(in_process(&t));
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "inferno logind: {:.0} logins/s in-process (server side: 2 DH + 1 signature)",
        rounds as f64 / s
    );
    // Over loopback: a server thread answering each connection, a client
    // sending the recorded records and reading the answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::sync::Arc::new(t);
    let ts = t.clone();
    let server = std::thread::spawn(move || {
        for _ in 0..rounds {
            let (mut s, _) = l.accept().unwrap();
            let mut r = s.try_clone().unwrap();
            login(
                &ts,
                || {
                    let mut h = [0u8; 2];
                    r.read_exact(&mut h).ok()?;
                    let (_, len) = ssl::split(&h, ssl::MAX_RECORD).ok()??;
                    let mut b = vec![0u8; 2 + len];
                    b[..2].copy_from_slice(&h);
                    r.read_exact(&mut b[2..]).ok()?;
                    Some(b)
                },
                |o| {
                    let _ = s.write_all(o);
                },
            );
        }
    });
    let t0 = Instant::now();
    for _ in 0..rounds {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        // each client record, then wait for what the server sends back
        // (three records after the ivec, one after the others)
        for (i, rec) in t.c2s.iter().enumerate() {
            c.write_all(rec).unwrap();
            let mut b = [0u8; 4096];
            // read until the server's answer for this step is in: at least
            // one record header and body
            let mut buf = Vec::new();
            loop {
                let n = c.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&b[..n]);
                let mut rest = &buf[..];
                let mut whole = 0;
                while let Ok(Some((skip, len))) = ssl::split(rest, ssl::MAX_RECORD) {
                    if rest.len() < skip + len {
                        break;
                    }
                    whole += 1;
                    rest = &rest[skip + len..];
                }
                let need = if i == 1 { 3 } else { 1 };
                if whole >= need && rest.is_empty() {
                    break;
                }
            }
        }
    }
    let s = t0.elapsed().as_secs_f64();
    server.join().unwrap();
    println!(
        "inferno logind: {:.0} certificates/s over loopback TCP",
        rounds as f64 / s
    );
}
