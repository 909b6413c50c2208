//! The whole uplink on the simulated E367: `warden daemon --simulate`,
//! observed only through `warden status`, as an admin would.

mod common;
use common::Deadline;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

struct Daemon {
    child: Child,
    run: PathBuf,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str, pincode: &str) -> Daemon {
    start_in(name, pincode, "run")
}

/// A daemon whose run directory is `<tmp>/<run>`.
fn start_in(name: &str, pincode: &str, run: &str) -> Daemon {
    start_with(name, pincode, run, &[], &[])
}

/// A daemon with some lines of the shipped configuration replaced
/// (`(old, new)`) and these variables in its environment.
fn start_with(
    name: &str,
    pincode: &str,
    run: &str,
    replace: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Daemon {
    let dir = std::env::temp_dir().join(format!("warden-uplink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join(run);
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("uci/warden")).unwrap();
    let cfg = base
        .replace(
            "option run_dir '/var/run/warden'",
            &format!("option run_dir '{}'", run.display()),
        )
        .replace("option pincode ''", &format!("option pincode '{pincode}'"));
    let cfg = replace.iter().fold(cfg, |c, (old, new)| {
        assert!(c.contains(old), "the shipped configuration has no {old:?}");
        c.replace(old, new)
    });
    let path = dir.join("warden");
    std::fs::write(&path, cfg).unwrap();
    let child = Command::new(WARDEN)
        .args([
            "-c",
            path.to_str().unwrap(),
            "daemon",
            "--foreground",
            "--simulate",
        ])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon { child, run, dir }
}

fn status(d: &Daemon) -> Option<String> {
    let out = Command::new(WARDEN)
        .args(["status", "--json", "--run-dir", d.run.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait_for(d: &Daemon, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_within(d, what, Duration::from_secs(60), ok)
}

fn wait_within(d: &Daemon, what: &str, within: Duration, ok: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < end {
        if let Some(s) = status(d) {
            if ok(&s) {
                return s;
            }
            last = s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no {what} within {} s; last status: {last}",
        within.as_secs()
    );
}

#[test]
fn plug_switch_dial_bogus_dns_reconnect_healthy() {
    let d = start("story", "1234");
    // IPv6CP's address comes with pppd's ipv6-up, after ip-up and the DNS
    // check: wait for it too (a busy machine shows the moment between)
    let s = wait_for(&d, "healthy link after a reconnect", |s| {
        s.contains("\"state\":\"up\"")
            && s.contains("\"reconnects\":1")
            && s.contains("\"healthy\":true")
            && !s.contains("\"address6\":null")
    });
    assert!(
        s.contains("broken DNS: 10.11.12.13 bogus, 10.11.12.14 bogus"),
        "{s}"
    );
    assert!(s.contains("\"model\":\"E367\""), "{s}");
    assert!(s.contains("\"signal_dbm\":-"), "{s}");
    // ipv6 'auto' (the default): IPv6CP's link-local address.
    assert!(s.contains("\"address6\":\"fe80::5c3e:0:0:1\""), "{s}");
    assert!(s.contains("ttyUSB0") && s.contains("ttyUSB1"), "{s}");
    // Text form for people.
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", d.run.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("state: up\nlink: up\n"), "{text}");
    assert!(text.contains("dns: 192.0.2.53 ok"), "{text}");
    assert!(text.contains("\naddress6: fe80::5c3e:0:0:1\n"), "{text}");
}

#[test]
fn a_wrong_pin_stops_after_one_attempt_and_never_reaches_puk() {
    let d = start("wrongpin", "0000");
    let s = wait_for(&d, "a stop", |s| s.contains("\"state\":\"stopped\""));
    assert!(s.contains("rejected the PIN"), "{s}");
    assert!(s.contains("2 attempt(s) left"), "{s}");
    // It stays stopped: no second attempt is spent.
    std::thread::sleep(Duration::from_secs(3));
    let s = status(&d).unwrap();
    assert!(
        s.contains("\"state\":\"stopped\"") && s.contains("2 attempt(s) left"),
        "{s}"
    );
}

#[test]
fn no_pincode_for_a_locked_sim_is_a_clear_stop() {
    let d = start("nopin", "");
    let s = wait_for(&d, "a stop", |s| s.contains("\"state\":\"stopped\""));
    assert!(s.contains("no pincode is configured"), "{s}");
}

/// A modem that is no Huawei (every `^` command is ERROR) and not on
/// USB, on its configured ports: the daemon finds it by the ports alone,
/// reads the PIN attempts with +CPINR (unknown attempts would stop it),
/// enters the PIN, sets the mode with +WS46, and the link comes up, with
/// the signal from +CSQ.
#[test]
fn a_generic_3gpp_modem_on_configured_ports_gets_online() {
    let d = start_with(
        "generic",
        "1234",
        "run",
        &[("option service 'auto'", "option service 'umts_only'")],
        &[("WARDEN_SIM_MODEM", "generic")],
    );
    let s = wait_for(&d, "a healthy link", |s| {
        s.contains("\"state\":\"up\"") && s.contains("\"healthy\":true")
    });
    assert!(s.contains("\"manufacturer\":\"Simulated\""), "{s}");
    assert!(s.contains("\"signal_dbm\":-79"), "{s}");
    assert!(s.contains("/dev/pts/"), "the configured ports: {s}");
}

#[test]
fn status_finds_netifd_interfaces_under_the_run_dir() {
    // netifd's proto handler runs one daemon per interface in
    // <run_dir>/<interface>; plain `warden status` finds them.
    let d = start_in("iface", "1234", "run/wan");
    wait_for(&d, "the interface's daemon", |s| s.contains("\"state\""));
    let top = d.run.parent().unwrap();
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", top.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with(&format!(
            "interface: wan\nrun_dir: {}\nstate: ",
            d.run.display()
        )),
        "{text}"
    );
}

/// Is `s` one JSON value? (python3's json module decides.)
fn valid_json(s: &str) -> bool {
    use std::io::Write;
    let mut p = Command::new("python3")
        .args(["-c", "import json, sys; json.load(sys.stdin)"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/setup installs it): {e}"));
    p.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    common::status_within(&mut p, common::CHILD_DEADLINE, "p").success()
}

#[test]
fn a_gone_interface_is_shown_and_does_not_hide_the_others() {
    // The shipped layout: the daemon's run directory with the uplink off,
    // `wan` running, `lte` crashed with its sockets left behind.
    let d = start_in("gone", "1234", "run/wan");
    wait_for(&d, "the interface's daemon", |s| s.contains("\"state\""));
    let top = d.run.parent().unwrap();
    let lte = top.join("lte");
    std::fs::create_dir_all(&lte).unwrap();
    drop(std::os::unix::net::UnixListener::bind(lte.join("status.sock")).unwrap());
    drop(std::os::unix::net::UnixDatagram::bind(lte.join("uplink.sock")).unwrap());
    let t = Instant::now();
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", top.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.starts_with(&format!(
            "interface: lte\nrun_dir: {}\nstate: gone\nlink: down\nerror: stale socket ",
            lte.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\n\ninterface: wan\nrun_dir: {}\nstate: ",
            d.run.display()
        )),
        "{text}"
    );
    let out = Command::new(WARDEN)
        .args(["status", "--json", "--run-dir", top.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(valid_json(&json), "{json}");
    assert!(
        json.starts_with(r#"{"uplinks":[{"interface":"lte","run_dir":"#)
            && json.contains(r#""state":"gone""#)
            && json.contains(r#"},{"interface":"wan","run_dir":"#),
        "{json}"
    );
    // No flags, on the shipped configuration (uplink off; only its
    // run_dir moved here): the same.
    let shipped = d.dir.join("shipped");
    std::fs::write(
        &shipped,
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("uci/warden"))
            .unwrap()
            .replace(
                "option run_dir '/var/run/warden'",
                &format!("option run_dir '{}'", top.display()),
            ),
    )
    .unwrap();
    let out = Command::new(WARDEN)
        .args(["-c", shipped.to_str().unwrap(), "status"])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let plain = String::from_utf8_lossy(&out.stdout);
    let lte_block = text.split("\n\n").next().unwrap();
    assert!(
        plain.starts_with(&format!("{lte_block}\n\ninterface: wan\n")),
        "{plain}"
    );
    // Once lte's sockets are gone (netifd tore it down), all is well.
    std::fs::remove_dir_all(&lte).unwrap();
    let out = Command::new(WARDEN)
        .args(["status", "--json", "--run-dir", top.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(valid_json(&String::from_utf8_lossy(&out.stdout)));
}

#[test]
fn status_answers_at_once_while_the_stick_is_being_switched() {
    // The simulated stick takes 1.5 s to come back in modem mode, and the
    // uplink loop waits for it; the status socket still answers at once.
    let d = start("prompt", "1234");
    let sock = d.run.join("status.sock");
    let end = Instant::now() + Duration::from_secs(30);
    let (mut prompt_while_switching, mut slowest) = (0, Duration::ZERO);
    let mut states = Vec::new();
    while Instant::now() < end {
        let t = Instant::now();
        let Ok(a) = warden::uplink::status_socket::ask(&sock, true, Duration::from_secs(5)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let took = t.elapsed();
        slowest = slowest.max(took);
        let state = a
            .split("\"state\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string();
        if state == "switching" && took < Duration::from_millis(100) {
            prompt_while_switching += 1;
        }
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if prompt_while_switching > 0 && state != "switching" && state != "scanning" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        prompt_while_switching > 0,
        "no answer within 100 ms while switching; states seen {states:?}, slowest {slowest:?}"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "slowest answer {slowest:?}"
    );
}

#[test]
fn status_from_another_network_namespace() {
    // Abstract socket names belong to a network namespace; the status
    // socket is a path and answers over the connection, so a client in
    // another namespace is answered. `unshare -rn` needs no root where
    // unprivileged user namespaces are allowed; elsewhere this is skipped.
    let probe = Command::new("unshare")
        .args(["-rn", "true"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: unshare -rn (a user and network namespace) is not allowed here");
        return;
    }
    let d = start("netns", "1234");
    wait_for(&d, "the daemon", |s| s.contains("\"state\""));
    let out = Command::new("unshare")
        .args(["-rn", WARDEN, "status", "--json", "--run-dir"])
        .arg(&d.run)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains(r#""state":""#), "{json}");
}

#[test]
fn status_without_a_daemon_fails_at_once() {
    let t = Instant::now();
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", "/nonexistent/warden"])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no warden uplink is running"));
    assert!(out.stdout.is_empty());
    let out = Command::new(WARDEN)
        .args(["status", "--json", "--run-dir", "/nonexistent/warden"])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"uplinks\":[]}\n");
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// A modem wedged so that only `cure` helps, under a quick ladder (the
/// first rung after one failure, the next after two more): the daemon
/// climbs to that rung, the link comes up healthy, and status counts each
/// rung and shows the last with its reason.
fn wedged_until(name: &str, wedge: &str, cure: &str, counts: &str) {
    let d = start_with(
        name,
        "1234",
        "run",
        &[
            ("option reset_after '5'", "option reset_after '1'"),
            ("option escalate_after '3'", "option escalate_after '2'"),
            ("option backoff_initial '2s'", "option backoff_initial '1s'"),
            (
                "option power_off_time '2s'",
                "option power_off_time '100ms'",
            ),
        ],
        &[("WARDEN_SIM_WEDGE", wedge)],
    );
    let s = wait_within(
        &d,
        "a healthy link after the ladder",
        Duration::from_secs(240),
        |s| s.contains("\"state\":\"up\"") && s.contains("\"healthy\":true"),
    );
    assert!(s.contains(counts), "{s}");
    assert!(
        s.contains(&format!(
            "\"last_recovery\":{{\"rung\":\"{cure}\",\"reason\":\""
        )),
        "{s}"
    );
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", d.run.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("\nlast_recovery: {cure} ")),
        "{text}"
    );
}

#[test]
fn a_modem_wedged_until_cfun_recovers_on_cfun() {
    wedged_until(
        "wedge-cfun",
        "cfun",
        "cfun",
        r#""cfun":1,"usb_reset":0,"port_power":0,"gpio":0}"#,
    );
}

#[test]
fn a_hung_firmware_recovers_on_the_usb_reset() {
    wedged_until(
        "wedge-usb",
        "usb_reset",
        "usb_reset",
        r#""cfun":1,"usb_reset":1,"port_power":0,"gpio":0}"#,
    );
}

#[test]
fn a_modem_only_power_cures_recovers_on_port_power() {
    wedged_until(
        "wedge-power",
        "power",
        "port_power",
        r#""cfun":1,"usb_reset":1,"port_power":1,"gpio":0}"#,
    );
}

/// A dnsmasq on `ip` (a free port) that answers the probe name and logs
/// every query to `log`: the network's new resolver after a change.
struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq(ip: &str, log: &Path) -> (Dnsmasq, std::net::SocketAddr) {
    let port = std::net::UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("dnsmasq")
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--pid-file",
            "--user=root",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--log-queries",
            "--address=/openwrt.org/192.0.2.1",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--listen-address={ip}"))
        .arg(format!("--log-facility={}", log.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dnsmasq (listed in .ci/apt-packages; run .ci/setup)");
    let addr: std::net::SocketAddr = format!("{ip}:{port}").parse().unwrap();
    // Ready when its log says so (it logs the start before it serves the
    // first query only once the socket is bound).
    let end = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(log).is_ok_and(|l| l.contains("started, version")) {
        assert!(Instant::now() < end, "dnsmasq on {addr} never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Dnsmasq(child), addr)
}

/// The network renegotiates IPCP (the simulated network's `renegotiate`
/// file, written atomically).
fn renegotiate(d: &Daemon, body: &str) {
    let dir = d.run.join("sim");
    let tmp = dir.join("renegotiate.tmp");
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, dir.join("renegotiate")).unwrap();
}

fn healthy_once_reconnected(d: &Daemon) -> String {
    wait_for(d, "healthy link after a reconnect", |s| {
        s.contains("\"state\":\"up\"")
            && s.contains("\"reconnects\":1")
            && s.contains("\"healthy\":true")
    })
}

#[test]
fn an_address_and_dns_change_mid_session_is_checked_and_shown() {
    let d = start("renegotiate", "1234");
    let s = healthy_once_reconnected(&d);
    assert!(s.contains("\"address\":\"10.64.1.2\""), "{s}");
    assert!(s.contains("\"changes\":{\"address\":0,\"dns\":0}"), "{s}");
    let log = d.dir.join("dnsmasq.log");
    let (_dns, addr) = dnsmasq("127.0.0.77", &log);
    renegotiate(&d, &format!("local 10.64.1.3\ndns 198.51.100.7 {addr}\n"));
    let s = wait_for(&d, "the new address and DNS, checked", |s| {
        s.contains("\"address\":\"10.64.1.3\"")
            && s.contains(r#"{"server":"198.51.100.7","verdict":"ok","healthy":true}"#)
    });
    assert!(s.contains("\"changes\":{\"address\":1,\"dns\":1}"), "{s}");
    assert!(
        s.contains("\"reconnects\":1"),
        "a change is not a reconnect: {s}"
    );
    assert!(s.contains("\"state\":\"up\""), "{s}");
    assert!(
        s.contains(r#""dns":[{"server":"198.51.100.7","#),
        "the old server is gone: {s}"
    );
    // The check asked the new resolver (dnsmasq's own log).
    let l = std::fs::read_to_string(&log).unwrap();
    assert!(l.contains("query[A] openwrt.org from 127.0.0.1"), "{l}");
    let out = Command::new(WARDEN)
        .args(["status", "--run-dir", d.run.to_str().unwrap()])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\naddress: 10.64.1.3\n"), "{text}");
    assert!(text.contains("\nchanges: address 1, dns 1\n"), "{text}");
    assert!(
        text.contains("ago: address 10.64.1.2 peer 10.64.64.64 -> 10.64.1.3 peer 10.64.64.64; DNS 192.0.2.53 -> 198.51.100.7\n"),
        "{text}"
    );
}

#[test]
fn a_second_ip_up_with_dead_dns_is_not_left_online() {
    let d = start("renegotiate-dead", "1234");
    healthy_once_reconnected(&d);
    // A second ip-up alone (no ip-down), with a server nothing answers
    // for: the check runs at once and the link is redialed, then healthy
    // again on the network's resolver.
    renegotiate(&d, "no-ip-down\ndns 198.51.100.8\n");
    let s = wait_for(&d, "a redial after the dead DNS", |s| {
        s.contains("\"reconnects\":2") && s.contains("\"healthy\":true")
    });
    assert!(s.contains("broken DNS: 198.51.100.8 no-answer"), "{s}");
    assert!(s.contains("\"changes\":{\"address\":0,\"dns\":1}"), "{s}");
}

/// The data quota on the simulated link (10,000 bytes down and 1,000 up
/// every 100 ms): stop at the cap, `warden uplink resume`, and the usage
/// kept across a restart, where a used-up quota holds the link down before
/// it is dialed.
#[test]
fn the_quota_stops_the_link_resumes_and_survives_a_restart() {
    let mut d = start_with(
        "quota",
        "1234",
        "run",
        &[
            ("option quota_limit '0'", "option quota_limit '300K'"),
            ("option quota_action 'warn'", "option quota_action 'stop'"),
            ("option quota_interval '30s'", "option quota_interval '1s'"),
        ],
        &[],
    );
    let s = wait_for(&d, "the link held down at the quota", |s| {
        s.contains("\"state\":\"over-quota\"") && s.contains("\"over\":true")
    });
    assert!(s.contains("\"link\":\"down\""), "{s}");
    assert!(s.contains("data quota reached"), "{s}");
    assert!(s.contains("\"limit\":307200,\"action\":\"stop\""), "{s}");
    // The hook socket (where `warden status` asks while the status socket
    // is not there yet, as at a start) answers the same status.
    let hooked = warden::uplink::ppp::hook::ask(
        &d.run.join(warden::uplink::ppp::hook::SOCKET_NAME),
        &warden::uplink::ppp::hook::Notice::Status { json: true },
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(
        hooked.contains("\"limit\":307200,\"action\":\"stop\""),
        "{hooked}"
    );
    let run = d.run.to_str().unwrap().to_string();
    let out = Command::new(WARDEN)
        .args(["uplink", "resume", "--run-dir", &run])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = wait_for(&d, "a resumed, healthy link", |s| {
        s.contains("\"state\":\"up\"")
            && s.contains("\"resumed\":true")
            && s.contains("\"healthy\":true")
    });
    assert!(s.contains("\"over\":false"), "{s}");
    let text = Command::new(WARDEN)
        .args(["status", "--run-dir", &run])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains(" of 300.0 KiB (") && text.contains("resumed by an admin"),
        "{text}"
    );
    // A clean stop writes the usage; the next start reads it and, over
    // the cap with no resume yet, never dials.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(d.child.id() as i32, libc::SIGTERM) };
    common::status_within(&mut d.child, common::CHILD_DEADLINE, "the daemon");
    let file = d.run.join("sim/quota.wan");
    let saved = std::fs::read_to_string(&file).unwrap();
    let rx: u64 = saved
        .lines()
        .find_map(|l| l.strip_prefix("rx "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rx in {saved}"));
    assert!(rx >= 300 * 1024 - 100_000, "{saved}");
    d.child = Command::new(WARDEN)
        .args([
            "-c",
            d.dir.join("warden").to_str().unwrap(),
            "daemon",
            "--foreground",
            "--simulate",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = wait_for(&d, "the restarted uplink held down", |s| {
        s.contains("\"state\":\"over-quota\"")
    });
    let rx_now: u64 = s
        .split("\"rx\":")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rx in {s}"));
    assert!(rx_now >= rx, "{rx_now} < {rx}: {s}");
    assert!(s.contains("\"reconnects\":0"), "never dialed: {s}");
}

/// A message that arrives while the link is up is noticed at the
/// uplink's next look at the modem (every probe_interval), counted in
/// status and written to the spool directory.
#[test]
fn an_incoming_sms_is_counted_and_spooled() {
    let spool = std::env::temp_dir().join(format!("warden-sms-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&spool);
    let line = format!("option sms_spool '{}'", spool.display());
    let d = start_with(
        "sms-in",
        "1234",
        "run",
        &[
            ("option probe_interval '60s'", "option probe_interval '1s'"),
            ("#option sms_spool '/tmp/sms'", &line),
        ],
        &[],
    );
    let s = healthy_once_reconnected(&d);
    assert!(s.contains("\"sms_received\":0"), "{s}");
    std::fs::write(d.run.join("sim/sms"), "").unwrap();
    wait_within(&d, "the SMS counted", Duration::from_secs(30), |s| {
        s.contains("\"sms_received\":1")
    });
    let files: Vec<_> = std::fs::read_dir(&spool).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    let _ = std::fs::remove_dir_all(&spool);
    assert!(text.starts_with("from: 27838890001\n"), "{text}");
    assert!(text.ends_with("\n\nhellohello\n"), "{text}");
}

/// `warden sms` and `warden ussd` go through the running uplink, which
/// owns the AT port, while the link is up.
#[test]
fn sms_and_ussd_through_the_running_uplink() {
    let d = start("sms", "1234");
    healthy_once_reconnected(&d);
    let run = d.run.to_str().unwrap().to_string();
    let warden = |args: &[&str]| {
        // Options before the greedy operands.
        let out = Command::new(WARDEN)
            .arg(args[0])
            .args(["--run-dir", &run])
            .args(&args[1..])
            .output_within(common::CHILD_DEADLINE)
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, list, err) = warden(&["sms", "list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        list.contains("1: from 27838890001 at 99-03-29 15:16:59+02:00, 10 characters, unread\n"),
        "{list}"
    );
    assert!(list.contains("3,2: from +4917 at "), "{list}");
    assert!(
        !list.contains("hellohello"),
        "a listing shows no text: {list}"
    );
    let (_, read, _) = warden(&["sms", "read", "2"]);
    assert!(read.ends_with("\n\nSee you at noon\n"), "{read}");
    let (code, sent, err) = warden(&["sms", "send", "+4917", "on my way €"]);
    assert_eq!(
        (code, sent.as_str()),
        (Some(0), "sent in 1 part(s)\n"),
        "{err}"
    );
    let (_, del, _) = warden(&["sms", "delete", "3"]);
    assert_eq!(del, "deleted 2 part(s)\n");
    let (_, list, _) = warden(&["sms", "list"]);
    assert!(!list.contains("+4917"), "{list}");
    let (code, _, err) = warden(&["sms", "read", "7"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no message 7"), "{err}");
    let (code, bal, err) = warden(&["ussd", "*100#"]);
    assert_eq!(
        (code, bal.as_str()),
        (Some(0), "Balance: 12.34 EUR\n"),
        "{err}"
    );
    // The link stayed up throughout.
    let s = status(&d).unwrap();
    assert!(s.contains("\"state\":\"up\""), "{s}");
}
