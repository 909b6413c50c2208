//! One grammar for every subcommand: `-h` and `--help`, `--opt=value`,
//! and a mistake told in full with the help of the subcommand it was
//! made in.

mod common;
use common::Deadline;
use std::process::Command;

fn warden(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(common::warden())
        .args(["-c", "/nonexistent/warden.conf"])
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_and_errors_name_the_subcommand() {
    for h in ["-h", "--help"] {
        let (rc, out, _) = warden(&["user", "add", h]);
        assert_eq!(rc, 0, "{h}");
        assert!(out.starts_with("Usage: warden user add "), "{h}: {out}");
    }
    // a missing subcommand lists them
    let (rc, _, err) = warden(&["user"]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("subcommands must be present: help, add, passwd, del"),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("try 'warden user --help'"),
        "{err}"
    );
    // --opt=value is --opt value: the next complaint is the missing --key
    let (rc, _, err) = warden(&["cert", "sign-user", "--validity=10m"]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("Required options not provided: --key"),
        "{err}"
    );
    assert!(err.contains("try 'warden cert sign-user --help'"), "{err}");
    let (rc, _, err) = warden(&["user", "add", "glenda", "--bogus=1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("Unrecognized argument: --bogus"), "{err}");
    assert!(err.contains("try 'warden user add --help'"), "{err}");
    let (rc, _, err) = warden(&["frobnicate"]);
    assert_eq!(rc, 2);
    assert!(err.contains("try 'warden --help'"), "{err}");
}

/// One duration syntax on every flag: a unit is always written (a bare
/// number, once milliseconds for some flags, is refused).
#[test]
fn durations_take_one_syntax() {
    for args in [
        &["dns", "check", "--timeout", "1000", "192.0.2.1"][..],
        &[
            "modem",
            "at",
            "--timeout=2000",
            "--device",
            "/dev/null",
            "AT",
        ],
        &["key", "confirm", "--wait", "10"],
        &["user", "otp", "glenda", "--totp", "--step", "30"],
    ] {
        let (rc, _, err) = warden(args);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(
            err.contains("needs a unit: 500ms, 2s, 10m"),
            "{args:?}: {err}"
        );
    }
    let (rc, _, err) = warden(&[
        "cert",
        "sign-user",
        "--principal",
        "g",
        "--key",
        "/nonexistent.pub",
        "--validity",
        "1x",
    ]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("bad duration '1x'"), "{err}");
    // a usage error found by the command names its help too
    assert!(
        err.trim_end()
            .ends_with("try 'warden cert sign-user --help'"),
        "{err}"
    );
}

/// `config show --json`: every section of the UCI output, as JSON.
#[test]
fn config_show_json() {
    let o = Command::new(common::warden())
        .args(["config", "show", "--json"])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(r#"[{"type":"warden","name":"main","options":{"log_level":"#),
        "{out}"
    );
    assert!(out.contains(r#"{"type":"signer","name":"#), "{out}");
    assert!(out.contains(r#""max_validity":"#), "{out}");
}
