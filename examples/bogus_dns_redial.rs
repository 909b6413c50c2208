//! Measures the path from "link up with bogus DNS" to "redial started",
//! with the pieces the uplink supervisor is built from: pppd (the stand-in
//! from tests/standin) spawned through `ppp::run`, its ip-up hook (the real
//! netifd/warden-ppp-up running the real `warden notify`) arriving on the
//! `hook::Listener`, the DNS check, `run::stop`, the backoff decision and
//! the next spawn. Run by bench/bogus-dns-redial, inside a network namespace.
//!
//! usage: bogus_dns_redial STANDIN_PPPD REPO_DIR WARDEN_BIN ROUNDS DNS1 [DNS2]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use warden::dns::{self, Server, Source, Timing};
use warden::uplink::backoff::{Backoff, Retry, Rng};
use warden::uplink::ppp::hook::{Listener, Notice};
use warden::uplink::ppp::run::{self, ProcessSpawner, Spawn};
use warden::uplink::ppp::{build, PppdConfig};

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 5 {
        eprintln!("usage: bogus_dns_redial STANDIN_PPPD REPO_DIR WARDEN_BIN ROUNDS DNS1 [DNS2]");
        std::process::exit(2);
    }
    let repo = PathBuf::from(&a[1]);
    let rounds: usize = a[3].parse().expect("ROUNDS");
    let tmp = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let log = tmp.join("standin.log");
    let sock = tmp.join("uplink.sock");
    let listener = Listener::bind(&sock).expect("binding the hook socket");

    let mut cfg = PppdConfig::new("wan", "/dev/null");
    cfg.pppd = a[0].clone().into();
    cfg.apn = "internet".into();
    cfg.ip_up = repo.join("netifd/warden-ppp-up");
    cfg.ip_down = repo.join("netifd/warden-ppp-down");
    cfg.socket = sock.clone();
    cfg.warden = a[2].clone().into();
    cfg.secrets_file = tmp.join("pppd-wan.options");
    let cmd = build(&cfg).expect("pppd command line");
    let mut env = vec![
        (
            "STANDIN_LOG".to_string(),
            log.to_string_lossy().into_owned(),
        ),
        ("STANDIN_DNS1".to_string(), a[4].clone()),
    ];
    if let Some(d2) = a.get(5) {
        env.push(("STANDIN_DNS2".to_string(), d2.clone()));
    }
    let mut spawner = ProcessSpawner { env };
    let mut retry = Retry::new(Backoff::default(), Rng::new(warden::sys::random::seed()));
    let timing = Timing::default();

    println!(
        "round  up->hook  hook->verdict  verdict->exited  exited->redial  up->redial  verdict"
    );
    let mut totals = Vec::new();
    let mut child = spawner.spawn(&cmd).expect("spawning the stand-in pppd");
    for round in 1..=rounds {
        // Wait for ip-up's notice.
        let notice = loop {
            let mut p = libc::pollfd {
                fd: listener.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, 10_000) };
            assert!(n > 0, "no ip-up notice within 10 s");
            match listener.recv().expect("reading the hook socket") {
                Some(Ok(Notice::PppUp(l))) => break l,
                // The previous pppd's ip-down.
                Some(Ok(Notice::PppDown(_))) => {}
                Some(other) => eprintln!("ignoring {other:?}"),
                None => {}
            }
        };
        let t_hook = wall();
        let servers: Vec<Server> = notice
            .dns
            .iter()
            .map(|ip| Server {
                addr: std::net::SocketAddr::new(*ip, 53),
                source: Source::Peer,
            })
            .collect();
        let mut ids = Rng::new(warden::sys::random::seed());
        let verdicts = dns::check_all(&servers, dns::DEFAULT_PROBE_NAME, timing, || ids.next_u16())
            .expect("probe name");
        let t_verdict = wall();
        let healthy = verdicts.iter().any(|h| h.is_ok());
        let words: Vec<String> = verdicts.iter().map(|h| h.to_string()).collect();
        assert!(!healthy, "the bench needs broken DNS, got {words:?}");
        let exit = run::stop(&mut child, Duration::from_secs(5)).expect("stopping pppd");
        let t_exited = wall();
        let delay = retry.failed_retry_now_once(Instant::now());
        std::thread::sleep(delay);
        child = spawner.spawn(&cmd).expect("redialing");
        let t_redial = wall();
        // The stand-in logged when it called ip-up.
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let t_up: f64 = text
            .lines()
            .filter(|l| l.starts_with("up "))
            .nth(round - 1)
            .and_then(|l| l.rsplit("at=").next())
            .and_then(|s| s.trim().parse().ok())
            .expect("the stand-in's up time");
        let ms = |x: f64| x * 1000.0;
        println!(
            "{round:5}  {:8.1}  {:13.1}  {:15.1}  {:14.1}  {:10.1}  {} ({exit}, backoff {delay:?})",
            ms(t_hook - t_up),
            ms(t_verdict - t_hook),
            ms(t_exited - t_verdict),
            ms(t_redial - t_exited),
            ms(t_redial - t_up),
            words.join(","),
        );
        totals.push(t_redial - t_up);
        // Every bogus round after the first backs off; keep rounds
        // comparable by starting over as a stable link would.
        retry.reset();
    }
    let _ = run::stop(&mut child, Duration::from_secs(5));
    totals.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    let median = totals[totals.len() / 2];
    let max = totals[totals.len() - 1];
    println!(
        "link-up -> redial started: median {:.1} ms, max {:.1} ms over {} rounds (budget 3000 ms)",
        median * 1000.0,
        max * 1000.0,
        totals.len()
    );
    let _ = std::fs::remove_dir_all(&tmp);
    if max > 3.0 {
        std::process::exit(1);
    }
}
