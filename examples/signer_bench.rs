//! bench/signer: certificates issued per second and agent signatures per
//! second, in-process and over loopback. Run by bench/signer/run.
//! `signer_bench quick`: a tenth of the rounds (bench/signer/run with
//! BENCH_QUICK=1). `signer_bench count sign|spake|issue N`: that alone, N
//! times, for the qemu instruction counts of bench/signer/run's MIPS=1.

use std::io::{Read, Write};
use std::time::{Duration, Instant};
use warden::auth::keyfs::shared::SharedKeyfs as Shared;
use warden::auth::keyfs::{Expiry, Mode, RealFs, Settings, Store};
use warden::auth::signer::agent::{AgentHandler, Policy};
use warden::auth::signer::{ca, pake, service};
use warden::auth::ssh::cert::CertType;
use warden::auth::ssh::key::Ed25519Key;
use warden::auth::ssh::wire::put_string;
use warden::config::model::ConfirmPolicy;

/// The peer the in-process rounds pretend to be.
fn bench_peer() -> warden::sys::frameserve::Peer {
    warden::sys::frameserve::Peer {
        who: warden::admit::Peer::Remote([127, 0, 0, 1].into()),
        name: "bench".into(),
    }
}
use warden::sys::frameserve::{self, Handler, Verdict};
use warden::sys::signals::Shutdown;
use warden::wire::Writer;

fn rate(n: u32, t: Duration) -> String {
    format!(
        "{:.0}/s ({:.2} ms each)",
        f64::from(n) / t.as_secs_f64(),
        t.as_secs_f64() * 1000.0 / f64::from(n)
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.first().map(String::as_str) == Some("quick");
    // Rounds per measurement: the full count, or a tenth of it.
    let rounds = |n: u32| if quick { n / 10 } else { n };
    let count = args.first().map(String::as_str) == Some("count");
    let n_count: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
    match args.get(1).map(String::as_str) {
        Some("sign") if count => {
            let k = Ed25519Key::from_seed(&[7; 32]);
            for _ in 0..n_count {
                std::hint::black_box(k.sign(&[0x55; 200]));
            }
            return;
        }
        Some("spake") if count => return spake_server(n_count),
        _ => {}
    }
    let dir = std::env::temp_dir().join(format!("warden-signer-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys");
    let now = service::now();
    {
        let mut s = Store::create(RealFs, &file, b"master", 1000).unwrap();
        s.add_user("glenda", Expiry::Never, now).unwrap();
        if !count {
            // (the 50,000-round verifier: not under qemu's count)
            s.set_password("glenda", b"correct horse", now).unwrap();
        }
        // A realistic database: 100 more accounts.
        for i in 0..100 {
            s.add_user(&format!("user{i}"), Expiry::Never, now).unwrap();
        }
    }
    let keyfs = Shared::new(Settings {
        file: file.clone(),
        mode: Mode::Attended,
        iterations: 1000,
    });
    keyfs.unlock(b"master").unwrap();
    let user_key = Ed25519Key::from_seed(&[3; 32]).public();
    let issue = || {
        keyfs
            .with(|s| {
                let now = service::now();
                let (a, b) = ca::user_window(now, Expiry::Never, 3600);
                ca::issue(
                    s,
                    &ca::Request {
                        kind: CertType::User,
                        key: user_key.clone(),
                        principals: vec!["glenda".into()],
                        valid_after: a,
                        valid_before: b,
                        by: "bench".into(),
                        key_id: "glenda".into(),
                        from: None,
                        critical: Vec::new(),
                        extensions: Vec::new(),
                    },
                    now,
                )
            })
            .unwrap();
    };
    if count {
        assert_eq!(
            args.get(1).map(String::as_str),
            Some("issue"),
            "count sign|spake|issue N"
        );
        (0..n_count).for_each(|_| issue());
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // 1. Issue: sign + record + atomic keyfs write (with fsync).
    let n = rounds(200);
    let t = Instant::now();
    for _ in 0..n {
        issue();
    }
    println!(
        "issue (sign + keyfs write, fsync): {}",
        rate(n, t.elapsed())
    );

    // 2. The client's PBKDF2 (the password-equivalent), per request.
    let t = Instant::now();
    let _ = pake::derive_secret(
        b"correct horse",
        &[0; 16],
        warden::auth::keyfs::signer::VERIFIER_ITERATIONS,
    );
    println!(
        "client PBKDF2-HMAC-SHA256 x {}: {:.1} ms",
        warden::auth::keyfs::signer::VERIFIER_ITERATIONS,
        t.elapsed().as_secs_f64() * 1000.0
    );

    // 3. Whole exchanges in-process (client and server, the server through
    // its frame handler), then the server's share alone.
    let mut signer = service::Signer::new(
        keyfs.clone(),
        service::Policy {
            max_validity: 3600,
            otp_window: 1,
        },
    )
    .unwrap();
    let n = rounds(20);
    let mut server_time = Duration::ZERO;
    let t = Instant::now();
    for _ in 0..n {
        let mut conn =
            <service::Signer as Handler<()>>::open(&mut signer, &(), &bench_peer()).unwrap();
        let mut step = |signer: &mut service::Signer, conn: &mut _, body: &[u8]| {
            let t = Instant::now();
            let v = <service::Signer as Handler<()>>::frame(signer, conn, body);
            server_time += t.elapsed();
            match v {
                Verdict::Send(b) | Verdict::SendClose(b) => b[4..].to_vec(),
                Verdict::Close => panic!("closed"),
            }
        };
        let (c, hello) = pake::Client::start("glenda", b"correct horse");
        // the first frame reaches the handler with its header (its first
        // byte tells warden's request from Inferno's login)
        let params = step(
            &mut signer,
            &mut conn,
            &warden::sys::frameserve::frame(&hello),
        );
        let (c, a) = c.on_params(&params).unwrap();
        let b = step(&mut signer, &mut conn, &a);
        let body = service::encode_request(&user_key, &Default::default());
        let (c, req) = c.on_b(&b, b"", &body).unwrap();
        let reply = step(&mut signer, &mut conn, &req);
        let plain = c.on_reply(&reply).unwrap();
        assert_eq!(plain[0], service::REPLY_CERT);
    }
    println!(
        "request in-process (client + server): {}; server side alone: {}",
        rate(n, t.elapsed()),
        rate(n, server_time)
    );

    // 4. Over loopback TCP, the real client against the poll-loop server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut server = frameserve::Server::new(
        listener,
        signer,
        service::limits(&warden::config::Config::default()),
    );
    let stop = std::sync::Arc::new(Shutdown::new().unwrap());
    let s2 = stop.clone();
    let h = std::thread::spawn(move || server.serve(s2.fd()).unwrap());
    let t = Instant::now();
    for _ in 0..n {
        match service::request(
            &addr,
            "glenda",
            b"correct horse",
            &user_key,
            None,
            &Default::default(),
        )
        .unwrap()
        {
            service::Answer::Cert(_) => {}
            a => panic!("{a:?}"),
        }
    }
    println!(
        "request over loopback (sequential, client PBKDF2 included): {}",
        rate(n, t.elapsed())
    );
    stop.raise();
    h.join().unwrap();

    // 5. Agent signatures, in-process and over its Unix socket.
    let mut agent = AgentHandler::new(keyfs.clone(), Box::new(Policy(ConfirmPolicy::Deny)), &[]);
    let k = Ed25519Key::from_seed(&[7; 32]);
    let pk = k.public().key_fields()[4..].to_vec();
    let mut add = Writer::new();
    add.u8(25);
    put_string(&mut add, b"ssh-ed25519");
    put_string(&mut add, &pk);
    let mut sk = vec![7u8; 32];
    sk.extend_from_slice(&pk);
    put_string(&mut add, &sk);
    put_string(&mut add, b"bench");
    add.u8(1).u32be(3600);
    assert_eq!(agent.answer(&add.buf), frameserve::frame(&[6]));
    let mut sign = Writer::new();
    sign.u8(13);
    put_string(&mut sign, &k.public().blob);
    put_string(&mut sign, &[0x55; 200]);
    sign.u32be(0);
    let n = rounds(2000);
    let t = Instant::now();
    for _ in 0..n {
        assert_eq!(agent.answer(&sign.buf)[4], 14);
    }
    println!("agent sign in-process: {}", rate(n, t.elapsed()));
    let sock = dir.join("agent");
    let listener = warden::auth::signer::agent::bind(&sock).unwrap();
    let mut server = frameserve::Server::new(
        listener,
        agent,
        warden::auth::signer::agent::limits(&warden::config::Config::default()),
    );
    let stop = std::sync::Arc::new(Shutdown::new().unwrap());
    let s2 = stop.clone();
    let h = std::thread::spawn(move || server.serve(s2.fd()).unwrap());
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let req = frameserve::frame(&sign.buf);
    let t = Instant::now();
    for _ in 0..n {
        c.write_all(&req).unwrap();
        let mut len = [0u8; 4];
        c.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        c.read_exact(&mut body).unwrap();
        assert_eq!(body[0], 14);
    }
    println!("agent sign over its Unix socket: {}", rate(n, t.elapsed()));
    stop.raise();
    h.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The router's SPAKE2 share of a request, `n` times: the server's hello
/// and its answer to one client's A (the client's share, its PBKDF2
/// included, is done once, outside the count).
fn spake_server(n: u32) {
    let salt = [7; pake::SALT_LEN];
    let secret = pake::derive_secret(b"correct horse", &salt, 1000);
    let v = || pake::Verifier {
        salt,
        iterations: 1000,
        secret: secret.clone(),
    };
    let (c, hello) = pake::Client::start("glenda", b"correct horse");
    let lookup = |_: &str| Some(v());
    let (_, params) = pake::Server::on_hello(&hello, &lookup, &|_| v()).unwrap();
    let (_, a) = c.on_params(&params).unwrap();
    for _ in 0..n {
        let (s, _) = pake::Server::on_hello(&hello, &lookup, &|_| v()).unwrap();
        std::hint::black_box(s.on_a(&a).unwrap());
    }
}
