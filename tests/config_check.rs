//! `warden config check` applies exactly the daemon's validation: every
//! value `warden daemon` refuses is refused by `config check`, with the same
//! message and the same exit status (2), and the daemon refuses it when it
//! starts instead of after setting up the modem.

mod common;
use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run warden with `args`, killed (and failed) after 20 s.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(warden())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("warden {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_check_refuses_what_the_daemon_refuses() {
    let s = Scratch::new("config-check");
    let run_dir = s.path("run");
    // Section, option, value, and what the message must say.
    let cases: &[(&str, &str, &str, &str)] = &[
        ("uplink", "service", "evdo", "CDMA/EV-DO"),
        ("uplink", "service", "cdma", "CDMA/EV-DO"),
        (
            "uplink",
            "service",
            "lte_only",
            "expected auto (or umts), umts_only or gprs_only",
        ),
        ("uplink", "pincode", "12a4", "a SIM PIN is 4 to 8 digits"),
        ("uplink", "apn", "web;reboot", "is not valid"),
        ("uplink", "apn", ".internet", "is not valid"),
        ("uplink", "dialnumber", "*99#;x", "not allowed"),
        (
            "uplink",
            "interface",
            "much-too-long-name",
            "1 to 12 letters",
        ),
        ("uplink", "username", "a\tb", "control character"),
        ("uplink", "mtu", "70000", "pppd takes 128 to 16384"),
        ("uplink", "keepalive", "5 0", "keepalive"),
        ("authsrv", "listen", "567", "no port"),
        ("signer", "listen", "0.0.0.0:http", "bad port"),
        ("signer", "listen", "bad host!:6673", "bad host!"),
    ];
    for (i, (section, option, value, why)) in cases.iter().enumerate() {
        let cfg = s.path(&format!("warden-{i}"));
        std::fs::write(
            &cfg,
            format!(
                "config warden 'main'\n\toption run_dir '{}'\n\toption state_dir '{}'\n\
                 config factotum\n\toption enabled 0\nconfig keyfs\n\toption enabled 0\n\
                 config {section}\n\toption enabled 1\n\toption authdom test\n\
                 \toption {option} '{value}'\n",
                run_dir.display(),
                s.0.display()
            ),
        )
        .unwrap();
        let c = cfg.to_str().unwrap();
        let check = run(&["-c", c, "config", "check"]);
        let daemon = run(&["-c", c, "daemon", "-f"]);
        let (ce, de) = (text(&check.stderr), text(&daemon.stderr));
        assert_eq!(
            check.status.code(),
            Some(2),
            "config check {option} {value:?}: {ce}"
        );
        assert_eq!(
            daemon.status.code(),
            Some(2),
            "daemon {option} {value:?}: {de}"
        );
        let line = ce
            .lines()
            .find(|l| l.contains(&format!("option '{option}'")))
            .unwrap_or_else(|| panic!("{option} {value:?}: config check says {ce}"));
        assert!(line.contains(why), "{option} {value:?}: {line}");
        assert!(
            de.lines().any(|l| l == line),
            "{option} {value:?}: the daemon says {de}, config check {line}"
        );
        assert!(text(&check.stdout).is_empty(), "config check said ok: {ce}");
    }
    // The shipped configuration passes both ways of reading it.
    let shipped = format!("{}/uci/warden", env!("CARGO_MANIFEST_DIR"));
    let o = run(&["-c", &shipped, "config", "check"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
