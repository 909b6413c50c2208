//! The DNS checker against real peers: dnsmasq (answers, REFUSED, NXDOMAIN,
//! and SERVFAIL relayed from an upstream), a port where nothing listens,
//! small UDP servers that send what dnsmasq never would (garbage, wrong
//! ids, silence), and placeholders. Everything that could address a
//! placeholder runs inside a network namespace with only loopback up.

mod common;
use common::Deadline;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use warden::dns::{self, wire, Health, Server, Source, Timing};

fn need(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(tool).is_file();
    assert!(
        found,
        "{tool} is not installed: the DNS tests need it (listed in .ci/apt-packages; run .ci/setup)"
    );
}

fn free_port(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq(ip: &str, port: u16, upstream: SocketAddr) -> Dnsmasq {
    need("dnsmasq");
    let child = Command::new("dnsmasq")
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--pid-file",
            "--user=root",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--address=/probe.test/192.0.2.1",
            "--local=/nx.test/",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--listen-address={ip}"))
        .arg(format!(
            "--server=/servfail.test/{}#{}",
            upstream.ip(),
            upstream.port()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting dnsmasq");
    let d = Dnsmasq(child);
    // Ready when it answers.
    let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let v = check(&[addr], "probe.test", 300);
        if v[0] == Health::Ok {
            return d;
        }
        assert!(
            Instant::now() < end,
            "dnsmasq on {addr} never answered: {v:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check(addrs: &[SocketAddr], name: &str, ms: u64) -> Vec<Health> {
    let servers: Vec<Server> = addrs
        .iter()
        .map(|&addr| Server {
            addr,
            source: Source::Configured,
        })
        .collect();
    let mut id = 0x4000u16;
    dns::check_all(
        &servers,
        name,
        Timing {
            timeout: Duration::from_millis(ms),
            tries: 2,
        },
        || {
            id = id.wrapping_add(1);
            id
        },
    )
    .unwrap()
}

/// A UDP server on loopback that answers every query with `reply(query)`
/// (None: stay silent). Runs until the process ends.
fn udp_server(reply: fn(&[u8]) -> Option<Vec<u8>>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            if let Some(r) = reply(&buf[..n]) {
                let _ = s.send_to(&r, from);
            }
        }
    });
    addr
}

fn id_of(q: &[u8]) -> u16 {
    u16::from_be_bytes([q[0], q[1]])
}

#[test]
fn verdicts_from_real_servers() {
    let servfail = udp_server(|q| {
        // An upstream that fails everything; dnsmasq relays SERVFAIL.
        let mut r = q.to_vec();
        r[2] |= 0x80;
        r[3] = (r[3] & 0xf0) | 0x80 | 2;
        Some(r)
    });
    let port = free_port("127.0.0.53");
    let _d = dnsmasq("127.0.0.53", port, servfail);
    let dm: SocketAddr = format!("127.0.0.53:{port}").parse().unwrap();

    let garbage = udp_server(|_| Some(b"\x00\x01this is not dns".to_vec()));
    let wrong_id = udp_server(|q| {
        Some(wire::build_response(
            id_of(q) ^ 0x5555,
            "probe.test",
            wire::Rcode::NoError,
            &["192.0.2.9".parse().unwrap()],
        ))
    });
    let silent = udp_server(|_| None);
    let truncated = udp_server(|q| {
        let mut r = wire::build_response(id_of(q), "probe.test", wire::Rcode::NoError, &[]);
        r[2] |= 0x02;
        Some(r)
    });
    let nothing = SocketAddr::from(([127, 0, 0, 1], free_port("127.0.0.1")));

    let all = [dm, garbage, wrong_id, silent, truncated, nothing];
    let t = Instant::now();
    let v = check(&all, "probe.test", 1500);
    let took = t.elapsed();
    assert_eq!(v[0], Health::Ok);
    assert!(
        matches!(&v[1], Health::Error(d) if d.starts_with("garbage reply")),
        "{:?}",
        v[1]
    );
    assert!(
        matches!(&v[2], Health::Error(d) if d.starts_with("mismatched id")),
        "{:?}",
        v[2]
    );
    assert_eq!(v[3], Health::NoAnswer);
    assert!(
        matches!(&v[4], Health::Error(d) if d.contains("TC")),
        "{:?}",
        v[4]
    );
    assert_eq!(v[5], Health::Refused { by_server: false });
    // All at once, not one after another (6 x 1.5 s); generous bound.
    assert!(took < Duration::from_secs(6), "{took:?}");

    // dnsmasq's own error answers.
    assert_eq!(
        check(&[dm], "other.test", 1500),
        [Health::Refused { by_server: true }]
    );
    assert_eq!(
        check(&[dm], "x.nx.test", 1500),
        [Health::Error("NXDOMAIN".into())]
    );
    assert_eq!(
        check(&[dm], "servfail.test", 3000),
        [Health::Error("SERVFAIL".into())]
    );
    let nodata = udp_server(|q| {
        Some(wire::build_response(
            id_of(q),
            "probe.test",
            wire::Rcode::NoError,
            &[],
        ))
    });
    assert_eq!(
        check(&[nodata], "probe.test", 1500),
        [Health::Error("no A record for probe.test".into())]
    );
    for (h, line) in [
        (&Health::Refused { by_server: true }, "refused"),
        (&Health::Error("SERVFAIL".into()), "error SERVFAIL"),
    ] {
        assert_eq!(h.to_string(), line);
    }
}

/// The command line inside a network namespace with only loopback up:
/// placeholders are bogus and nothing reaches them (a dnsmasq listening on
/// 10.11.12.13 inside the namespace logs no query); other addresses get
/// real queries.
#[test]
fn cli_in_a_network_namespace() {
    need("dnsmasq");
    need("unshare");
    need("ip");
    let warden = env!("CARGO_BIN_EXE_warden");
    let dir = std::env::temp_dir().join(format!("warden-dnsns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("placeholder.log");
    let script = format!(
        r#"
set -u
ip link set lo up || exit 90
ip addr add 10.11.12.13/32 dev lo || exit 91
common="--no-daemon --conf-file=/dev/null --pid-file --user=root --bind-interfaces --no-resolv --no-hosts --port=5353 --address=/probe.test/192.0.2.1"
dnsmasq $common --listen-address=127.0.0.53 2>/dev/null & a=$!
dnsmasq $common --listen-address=10.11.12.13 --log-queries --log-facility={log} & b=$!
i=0
until {warden} dns check --name probe.test --timeout 200ms 127.0.0.53:5353 >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 100 ] || {{ kill $a $b; exit 92; }}; sleep 0.1
done
echo "== mixed"
{warden} dns check --name probe.test --timeout 1s 127.0.0.53:5353 10.11.12.13:5353 10.11.12.14 0.0.0.0 10.0.0.1 127.0.0.1:5354
echo "rc=$?"
echo "== healthy"
{warden} dns check --name probe.test --timeout 1s 127.0.0.53:5353
echo "rc=$?"
echo "== json"
{warden} dns check --json --name probe.test --timeout 1s 127.0.0.53:5353 10.11.12.14
echo "rc=$?"
echo "== peer"
{warden} dns check --peer --name probe.test --timeout 1s 127.0.0.53:5353
echo "rc=$?"
echo "== usage"
{warden} dns check --timeout 1s not-an-address
echo "rc=$?"
{warden} dns check --timeout 1000 127.0.0.53:5353
echo "rc=$?"
kill $a $b
wait
"#,
        log = log.display(),
        warden = warden
    );
    let out = Command::new("unshare")
        .args(["-rn", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .output_within(common::CHILD_DEADLINE)
        .expect("running unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "namespace script failed ({}): {stdout}\n{stderr}",
        out.status
    );
    let want = "== mixed
127.0.0.53:5353 ok
10.11.12.13:5353 bogus
10.11.12.14 bogus
0.0.0.0 bogus
10.0.0.1 error network unreachable
127.0.0.1:5354 refused
rc=1
== healthy
127.0.0.53:5353 ok
rc=0
== json
[{\"server\":\"127.0.0.53:5353\",\"verdict\":\"ok\",\"detail\":null,\"reason\":\"answered\"},{\"server\":\"10.11.12.14\",\"verdict\":\"bogus\",\"detail\":null,\"reason\":\"placeholder: 10.11.12.13/14 is what modems hand out before the real servers are known\"}]
rc=1
== peer
127.0.0.53:5353 bogus
rc=1
== usage
rc=2
rc=2
";
    assert_eq!(stdout, want, "stderr: {stderr}");
    assert!(stderr.contains("5 of 6 DNS servers unhealthy"), "{stderr}");
    let mut text = String::new();
    std::fs::File::open(&log)
        .expect("the placeholder dnsmasq wrote no log")
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("started"), "{text}");
    assert!(
        !text.contains("query["),
        "a query reached 10.11.12.13:\n{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The resolver warden uses for listen addresses and the auth server,
/// against dnsmasq: search domains, NXDOMAIN, a dead server skipped for a
/// live one, and garbage ignored.
#[test]
fn resolver_against_dnsmasq() {
    use warden::dns::resolve::Resolver;
    let upstream = udp_server(|_| None);
    let port = free_port("127.0.0.54");
    let _d = dnsmasq("127.0.0.54", port, upstream);
    let dm: SocketAddr = format!("127.0.0.54:{port}").parse().unwrap();
    let silent = udp_server(|_| None);
    let garbage = udp_server(|_| Some(b"\x00\x01this is not dns".to_vec()));
    let r = Resolver {
        hosts: "192.0.2.7 router\n".into(),
        nameservers: vec![silent, dm],
        search: vec!["nx.test".into(), "test".into()],
        timeout: Duration::from_millis(500),
    };
    // `probe` is tried as probe.nx.test (NXDOMAIN from dnsmasq), then as
    // probe.test; both servers are asked at once, dnsmasq's answer counts.
    assert_eq!(
        r.resolve("probe:567").unwrap(),
        "192.0.2.1:567".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        r.resolve("probe.test.:1").unwrap(),
        "192.0.2.1:1".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        r.resolve("router:2").unwrap(),
        "192.0.2.7:2".parse::<SocketAddr>().unwrap()
    );
    let e = r.resolve("nowhere.nx.test:1").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("nowhere.nx.test"), "{e}");
    // Only servers that never answer: the error says so.
    let r = Resolver {
        nameservers: vec![garbage, silent],
        ..r
    };
    let e = r.resolve("probe.test:1").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
    assert!(e.to_string().contains("no answer"), "{e}");
}
