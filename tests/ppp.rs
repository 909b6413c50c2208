//! pppd's side of the uplink: the command line against the real pppd's
//! option parser, and the whole hook path (spawn, ip-up with DNS1/DNS2,
//! the netifd/warden-ppp-up script, `warden notify`, the listener, ip-down,
//! the exit status and its class) with the stand-in pppd from
//! tests/standin, since this machine has no kernel PPP.

mod common;
use common::Deadline;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use warden::uplink::ppp::hook::{Listener, Notice};
use warden::uplink::ppp::run::{self, Child, ProcessSpawner, Spawn};
use warden::uplink::ppp::{build, classify, Class, Exit, Keepalive, PppdConfig};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warden-ppp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(dir: &Path) -> PppdConfig {
    let mut c = PppdConfig::new("wan", "/dev/null");
    c.apn = "internet".into();
    c.username = "web".into();
    c.password = zeroize::Zeroizing::new("pass word".into());
    c.keepalive = Keepalive::parse("5 10").unwrap();
    c.mtu = Some(1400);
    c.fallback_dns = vec!["9.9.9.9".parse().unwrap()];
    c.ip_up = Path::new(ROOT).join("netifd/warden-ppp-up");
    c.ip_down = Path::new(ROOT).join("netifd/warden-ppp-down");
    // IPv6 as ppp.sh's ipv6 'auto' with every DHCPv6 child option: real
    // pppd must take +ipv6, the ipv6 scripts and the `set`s, and the
    // ipv6 hooks must not disturb warden's own (ip-up/ip-down) notices.
    c.ipv6 = warden::config::Ipv6::Auto;
    c.reqprefix = Some("56".into());
    c.norelease = true;
    c.sourcefilter = false;
    c.delegate = false;
    c.ipv6_up = Path::new(ROOT).join("netifd/warden-ppp6-up");
    c.ipv6_down = Path::new(ROOT).join("netifd/warden-ppp6-down");
    c.socket = dir.join("uplink.sock");
    c.warden = env!("CARGO_BIN_EXE_warden").into();
    c.secrets_file = dir.join("pppd-wan.options");
    c
}

/// pppd parses its options before it looks for kernel support: our command
/// line must get past the parser (exit 0 with dryrun where /dev/ppp works,
/// 4 where it does not), where a bad option exits 2.
#[test]
fn real_pppd_accepts_the_command_line() {
    let pppd = ["/usr/sbin/pppd", "/sbin/pppd"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("pppd is not installed (package ppp, listed in .ci/apt-packages)");
    let dir = tmpdir("real");
    let mut c = config(&dir);
    c.pppd_options = vec!["dryrun".into()];
    let cmd = build(&c).unwrap();
    let (path, body) = cmd.secrets.as_ref().unwrap();
    run::write_private(path, body.as_bytes()).unwrap();
    let run = |args: &[String]| {
        let out = Command::new(pppd)
            .args(args)
            .output_within(common::CHILD_DEADLINE)
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // ipv6-up-script and ipv6-down-script come from the patch OpenWRT's
    // ppp carries (120-debian_ipv6_updown_option.patch; ppp.sh passes
    // both); Debian's pppd 2.4.9 has no such options, so here they are
    // left out and the rest (+ipv6 and the `set`s) goes to the parser.
    let mut args = Vec::new();
    let mut words = cmd.args.iter();
    let mut dropped = 0;
    while let Some(w) = words.next() {
        if w == "ipv6-up-script" || w == "ipv6-down-script" {
            words.next();
            dropped += 1;
        } else {
            args.push(w.clone());
        }
    }
    assert_eq!(dropped, 2, "{:?}", cmd.args);
    assert!(args.iter().any(|w| w == "+ipv6"));
    let (code, err) = run(&args);
    assert!(
        matches!(code, Some(0) | Some(4)),
        "pppd rejected warden's command line ({code:?}): {err}\n{:?}",
        cmd.args
    );
    // The control: the same line with one bad option is refused.
    let mut bad = args.clone();
    bad.push("no-such-option".into());
    let (code, err) = run(&bad);
    assert_eq!(code, Some(2), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn wait_notice(l: &Listener) -> Notice {
    for _ in 0..400 {
        if let Some(n) = l.recv().unwrap() {
            return n.unwrap();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no notice within 10 s");
}

fn standin(env: &[(&str, &str)], log: &Path) -> ProcessSpawner {
    let mut e: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    e.push(("STANDIN_LOG".into(), log.to_string_lossy().into_owned()));
    ProcessSpawner { env: e }
}

#[test]
fn link_up_hooks_reach_warden_and_exit_is_classified() {
    let dir = tmpdir("updown");
    let log = dir.join("standin.log");
    let mut c = config(&dir);
    c.pppd = Path::new(ROOT).join("tests/standin/pppd");
    let cmd = build(&c).unwrap();
    let listener = Listener::bind(&c.socket).unwrap();

    // Up with a placeholder and a real server, down after a moment, exit 16.
    let mut s = standin(
        &[
            ("STANDIN_DNS1", "10.11.12.13"),
            ("STANDIN_DNS2", "192.0.2.53"),
            ("STANDIN_UP_SECS", "0.3"),
            ("STANDIN_EXIT", "16"),
        ],
        &log,
    );
    let mut child = s.spawn(&cmd).unwrap();
    let up = match wait_notice(&listener) {
        Notice::PppUp(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(up.ifname, "3g-wan");
    assert_eq!(up.tty, "/dev/null");
    assert_eq!(up.ipparam, "wan");
    assert_eq!(up.local, Some("10.64.0.2".parse().unwrap()));
    assert_eq!(up.remote, Some("10.64.64.64".parse().unwrap()));
    assert_eq!(
        up.dns,
        [
            "10.11.12.13".parse::<std::net::IpAddr>().unwrap(),
            "192.0.2.53".parse().unwrap()
        ]
    );
    // With +ipv6 (ipv6 'auto'), ipv6-up after ip-up and ipv6-down before
    // ip-down tell warden the link-local address, for its status.
    assert_eq!(
        wait_notice(&listener),
        Notice::Ppp6(Some("fe80::2".parse().unwrap()))
    );
    assert_eq!(wait_notice(&listener), Notice::Ppp6(None));
    assert!(matches!(wait_notice(&listener), Notice::PppDown(_)));
    let exit = run::wait_timeout(&mut child, Duration::from_secs(10)).unwrap();
    assert_eq!(exit, Some(Exit::Code(16)));
    assert_eq!(classify(Exit::Code(16)).0, Class::Modem);
    // The stand-in was given exactly warden's command line; the password
    // file it read is private.
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        format!("args {}", cmd.args.join(" "))
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&c.secrets_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Stopped by warden: ip-down still runs, exit 5 is "stopped".
    let mut s = standin(&[("STANDIN_DNS1", "192.0.2.53")], &log);
    let mut child = s.spawn(&cmd).unwrap();
    assert!(matches!(wait_notice(&listener), Notice::PppUp(_)));
    let exit = run::stop(&mut child, Duration::from_secs(10)).unwrap();
    assert_eq!(exit, Exit::Code(5));
    assert_eq!(classify(exit).0, Class::Stopped);
    // (ipv6-up and -down may come between, as the stop finds them.)
    let down = loop {
        match wait_notice(&listener) {
            Notice::Ppp6(_) => continue,
            n => break n,
        }
    };
    assert!(matches!(down, Notice::PppDown(_)), "{down:?}");
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failures_before_link_up() {
    let dir = tmpdir("fail");
    let log = dir.join("standin.log");
    let mut c = config(&dir);
    c.pppd = Path::new(ROOT).join("tests/standin/pppd");
    let listener = Listener::bind(&c.socket).unwrap();
    let run_with = |c: &PppdConfig, env: &[(&str, &str)]| {
        let mut s = standin(env, &log);
        let mut child = s.spawn(&build(c).unwrap()).unwrap();
        run::wait_timeout(&mut child, Duration::from_secs(10))
            .unwrap()
            .expect("the stand-in did not exit")
    };
    // Authentication refused by the network.
    let e = run_with(&c, &[("STANDIN_FAIL", "19")]);
    assert_eq!(classify(e).0, Class::Auth);
    // The chat fails (a modem that does not answer): exit 8.
    let mut c2 = c.clone();
    c2.chat = "/bin/false".into();
    let e = run_with(&c2, &[("STANDIN_CONNECT", "1"), ("STANDIN_UP_SECS", "0")]);
    assert_eq!(e, Exit::Code(8));
    assert_eq!(classify(e).0, Class::Modem);
    // A bad pppd_options word: pppd's exit 2, permanent.
    let mut c3 = c.clone();
    c3.pppd_options = vec!["no-such-option".into()];
    let e = run_with(&c3, &[]);
    assert_eq!(e, Exit::Code(2));
    assert_eq!(classify(e).0, Class::Permanent);
    assert!(listener.recv().unwrap().is_none(), "no link came up");
    // A chat that succeeds brings the link up.
    let mut c4 = c.clone();
    c4.chat = "/bin/true".into();
    let e = run_with(
        &c4,
        &[
            ("STANDIN_CONNECT", "1"),
            ("STANDIN_UP_SECS", "0"),
            ("STANDIN_EXIT", "15"),
        ],
    );
    assert_eq!(classify(e).0, Class::Transient);
    assert!(matches!(wait_notice(&listener), Notice::PppUp(_)));
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With nobody listening the hooks neither fail nor hang pppd.
#[test]
fn hooks_survive_warden_not_running() {
    let dir = tmpdir("absent");
    let log = dir.join("standin.log");
    let mut c = config(&dir);
    c.pppd = Path::new(ROOT).join("tests/standin/pppd");
    c.socket = dir.join("nobody-here.sock");
    let mut s = standin(
        &[
            ("STANDIN_DNS1", "192.0.2.53"),
            ("STANDIN_UP_SECS", "0"),
            ("STANDIN_EXIT", "0"),
        ],
        &log,
    );
    let mut child = s.spawn(&build(&c).unwrap()).unwrap();
    let e = run::wait_timeout(&mut child, Duration::from_secs(10)).unwrap();
    assert_eq!(e, Some(Exit::Code(0)));
    assert!(child.exit_fd().is_some() || cfg!(not(target_os = "linux")));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\ndown\n"), "{text}");
    // And the notify command says so plainly, with status 1.
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["notify", "--socket"])
        .arg(&c.socket)
        .args(["reconnect", "test"])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no warden is listening on"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// pppd's ipv6-up/-down hooks tell warden the link-local address
/// (`LLLOCAL`, else the fourth argument) and that IPv6CP went down.
#[test]
fn notify_ppp6_carries_the_link_local_address() {
    let dir = tmpdir("ppp6");
    let sock = dir.join("uplink.sock");
    let listener = Listener::bind(&sock).unwrap();
    let args = [
        "3g-wan",
        "/dev/ttyUSB0",
        "115200",
        "fe80::2",
        "fe80::1",
        "wan",
    ];
    for (kind, lllocal, want) in [
        (
            "ppp6-up",
            Some("fe80::5c3e:1"),
            Notice::Ppp6(Some("fe80::5c3e:1".parse().unwrap())),
        ),
        (
            "ppp6-up",
            None,
            Notice::Ppp6(Some("fe80::2".parse().unwrap())),
        ),
        ("ppp6-down", Some("fe80::2"), Notice::Ppp6(None)),
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
        c.args(["notify", "--socket"])
            .arg(&sock)
            .arg(kind)
            .args(args);
        c.env_remove("LLLOCAL");
        if let Some(a) = lllocal {
            c.env("LLLOCAL", a);
        }
        let out = c.output_within(common::CHILD_DEADLINE).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(wait_notice(&listener), want, "{kind} {lllocal:?}");
    }
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}
