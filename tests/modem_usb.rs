//! `warden modem switch` and `warden modem ports`, run as the binary.

mod common;
use common::Deadline;
use std::path::Path;
use std::process::{Command, Output};
use warden::uplink::usb::sim::{e367_modem, e367_storage, write_device};
use warden::uplink::usb::tmp::TempDir;

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["-c", "/nonexistent/warden.toml"])
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .expect("run warden")
}

/// Run with the built-in default config (no -c).
fn warden_defaults(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .expect("run warden")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn ports_from_a_fake_sysfs_tree() {
    let t = TempDir::new("warden-cli").unwrap();
    let sys = t.path().join("sys");
    write_device(&sys, &e367_storage("1-2", 4)).unwrap();
    write_device(&sys, &e367_modem("1-1", 3, 4, true)).unwrap();
    let sys_s = sys.to_str().unwrap();
    let o = warden_defaults(&["modem", "ports", "--sysfs", sys_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("12d1:1506 1-1 HUAWEI Mobile\n"), "{out}");
    assert!(
        out.contains("ppp: /dev/ttyUSB4\nat: /dev/ttyUSB5\n"),
        "{out}"
    );

    let o = warden_defaults(&["modem", "ports", "--json", "--sysfs", sys_s, "--dev", "/x"]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    let v = warden::uplink::usb::json::parse(&out).unwrap();
    let warden::uplink::usb::json::Json::Arr(items) = v else {
        panic!("{out}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].get("ppp"),
        Some(&warden::uplink::usb::json::Json::Str("/x/ttyUSB4".into()))
    );

    let o = warden_defaults(&["modem", "ports", "--sysfs", sys_s, "--vid-pid", "12d1:1446"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no USB device 12d1:1446 with serial ports"));
}

#[test]
fn ports_and_switch_fail_cleanly_without_usb() {
    let t = TempDir::new("warden-cli").unwrap();
    let o = warden_defaults(&["modem", "ports", "--sysfs", t.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no USB devices:") && text(&o.stderr).contains("missing"),
        "{}",
        text(&o.stderr)
    );
    if !Path::new("/dev/bus/usb").exists() {
        let o = warden_defaults(&["modem", "switch", "--timeout", "1s"]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            text(&o.stderr).trim_end(),
            "warden: no USB devices: /dev/bus/usb missing"
        );
    }
}

#[test]
fn switch_check_reads_data_and_reports_errors() {
    let t = TempDir::new("warden-cli").unwrap();
    std::fs::write(
        t.path().join("12d1:1446"),
        "HuaweiNewMode=1\nTargetVendor=0x12d1\nTargetProduct=0x1506\n",
    )
    .unwrap();
    let d = t.path().to_str().unwrap();
    let o = warden_defaults(&["modem", "switch", "--check", "--data", d]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("(1 from "), "{}", text(&o.stdout));
    std::fs::write(t.path().join("1234:5678"), "MessageContent=\"5\"\n").unwrap();
    let o = warden_defaults(&["modem", "switch", "--check", "--data", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("1234:5678:1: MessageContent: hex string of odd length"));
    let o = warden_defaults(&["modem", "switch", "--check", "--data", "/nonexistent/data"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent/data"));
    let o = warden_defaults(&["modem", "switch", "--vid-pid", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not a USB id"),
        "{}",
        text(&o.stderr)
    );
    // An explicit config file that is missing is a config error.
    let o = warden(&["modem", "ports"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The demo: the simulated E367 switches in about three seconds of real
/// time (the binary runs on the real clock).
#[test]
fn switch_the_simulated_e367() {
    let o = warden_defaults(&["modem", "switch", "--simulate"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("switched 12d1:1446 on bus 001 device 002 (1-1) -> 12d1:1506"),
        "{out}"
    );
    assert!(out.contains("rule: huawei interface class"), "{out}");
    assert!(out.contains("ttyUSB0  if 0  ff/02/01 ppp"), "{out}");
}
