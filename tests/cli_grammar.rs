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
