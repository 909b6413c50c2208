//! A users.oath exported by warden is accepted by pam_oath (libpam-oath,
//! driven by pamtester), and the file pam_oath rewrites imports back into
//! keyfs with the counter advanced.
//!
//! Needs root: PAM reads service files only from /etc/pam.d, so the test
//! writes /etc/pam.d/warden-test-oath-<pid> (removed afterwards).

mod common;
use common::Deadline;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEY_A: &str = "3132333435363738393031323334353637383930";
const KEY_B: &str = "0102030405060708090a0b0c0d0e0f1011121314";
const KEY_C: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3";

struct PamService(PathBuf);

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pam_oath_module() -> Option<PathBuf> {
    ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path().join("security/pam_oath.so"))
        .chain([PathBuf::from("/lib/security/pam_oath.so")])
        .find(|p| p.is_file())
}

fn pamtester(service: &str, user: &str, otp: &str) -> bool {
    use std::io::Write;
    let mut c = Command::new("pamtester")
        .args([service, user, "authenticate"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(format!("{otp}\n").as_bytes())
        .unwrap();
    common::wait_within(c, common::CHILD_DEADLINE, "c")
        .unwrap()
        .status
        .success()
}

fn oathtool(args: &[&str]) -> String {
    let o = Command::new("oathtool")
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn field(users: &str, user: &str, i: usize) -> Option<String> {
    users
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(user))
        .and_then(|l| l.split_whitespace().nth(i).map(str::to_string))
}

#[test]
fn pam_oath_accepts_export_and_import_advances_counter() {
    need_tool("pamtester", "pamtester");
    need_tool("oathtool", "oathtool");
    assert!(
        pam_oath_module().is_some(),
        "pam_oath.so is missing: install the Debian package libpam-oath (listed in .ci/apt-packages)"
    );
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test needs root: PAM service files live in /etc/pam.d"
    );

    let s = Scratch::new("pam-oath");
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n",
            s.path("keys").display()
        ),
    )
    .unwrap();
    let pass = "master\n";
    ok(&cfg, &["keyfs", "init"], pass);
    for (u, extra) in [
        ("alice", vec!["--hotp", "--key", KEY_A]),
        ("bob", vec!["--totp", "--key", KEY_B]),
        (
            "carol",
            vec!["--totp", "--step", "60s", "--digits", "8", "--key", KEY_C],
        ),
    ] {
        ok(&cfg, &["user", "add", u], pass);
        let mut a = vec!["user", "otp", u];
        a.extend(extra);
        ok(&cfg, &a, pass);
    }
    let users = s.path("users.oath");
    ok(
        &cfg,
        &["user", "export-oath", users.to_str().unwrap()],
        pass,
    );
    let exported = std::fs::read_to_string(&users).unwrap();
    assert!(exported.contains("HOTP\talice\t-\t"), "{exported}");
    assert!(exported.contains("HOTP/T30\tbob\t-\t"), "{exported}");
    assert!(exported.contains("HOTP/T60/8\tcarol\t-\t"), "{exported}");

    let service = format!("warden-test-oath-{}", std::process::id());
    let svc = PamService(Path::new("/etc/pam.d").join(&service));
    std::fs::write(
        &svc.0,
        format!(
            "auth requisite pam_oath.so usersfile={} window=5\naccount required pam_permit.so\n",
            users.display()
        ),
    )
    .unwrap();

    // HOTP: the code for counter 3 is inside pam_oath's window of 5.
    let c3 = oathtool(&["-c", "3", KEY_A]);
    assert!(
        !pamtester(&service, "alice", "000000"),
        "wrong code accepted"
    );
    assert!(
        pamtester(&service, "alice", &c3),
        "pam_oath refused warden's export"
    );
    assert!(
        !pamtester(&service, "alice", &c3),
        "pam_oath accepted a replay"
    );
    // TOTP, 30 s and 60 s steps, 6 and 8 digits.
    let b = oathtool(&["--totp", KEY_B]);
    assert!(pamtester(&service, "bob", &b), "bob's TOTP refused");
    let c = oathtool(&["--totp", "-s", "60", "-d", "8", KEY_C]);
    assert!(pamtester(&service, "carol", &c), "carol's TOTP refused");

    let rewritten = std::fs::read_to_string(&users).unwrap();
    assert_eq!(
        field(&rewritten, "alice", 4).as_deref(),
        Some("3"),
        "{rewritten}"
    );

    // Import pam_oath's file back: counter and last code travel.
    let out = ok(
        &cfg,
        &["user", "import-oath", users.to_str().unwrap()],
        pass,
    );
    assert!(out.contains("imported 3"), "{out}");
    let show = ok(&cfg, &["user", "show", "alice"], pass);
    assert!(show.contains("HOTP, counter 3"), "{show}");
    let again = ok(&cfg, &["user", "export-oath"], pass);
    assert_eq!(field(&again, "alice", 4).as_deref(), Some("3"));
    assert_eq!(field(&again, "alice", 5), Some(c3.clone()));
    assert_eq!(field(&again, "bob", 5), Some(b));
    assert_eq!(field(&again, "carol", 5), Some(c));
    // pam_oath's timestamp survives the round trip.
    assert_eq!(field(&again, "alice", 6), field(&rewritten, "alice", 6));

    // And pam_oath still refuses the replay from the re-exported file.
    ok(
        &cfg,
        &["user", "export-oath", users.to_str().unwrap()],
        pass,
    );
    assert!(
        !pamtester(&service, "alice", &c3),
        "replay after round trip"
    );
    let c4 = oathtool(&["-c", "4", KEY_A]);
    assert!(pamtester(&service, "alice", &c4));
}

#[test]
fn import_rejects_malformed_lines_and_loses_nothing() {
    let s = Scratch::new("import-bad");
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n",
            s.path("keys").display()
        ),
    )
    .unwrap();
    let pass = "master\n";
    ok(&cfg, &["keyfs", "init"], pass);
    ok(&cfg, &["user", "add", "alice"], pass);
    ok(
        &cfg,
        &["user", "otp", "alice", "--hotp", "--key", KEY_A],
        pass,
    );
    let before = ok(&cfg, &["user", "export-oath"], pass);
    let bad = s.path("bad.oath");
    for (text, want) in [
        (
            "HOTP alice - 00\nHOTP/X bob - 00\n",
            "line 2: unknown token type",
        ),
        (
            "HOTP alice - zz\n",
            "line 1: key of user 'alice' is not hex",
        ),
        ("HOTP alice\n", "line 1: expected TYPE USER PASS HEXKEY"),
        ("HOTP a/b - 00\n", "no '/'"),
        ("HOTP nobody - 00\n", "no account 'nobody'"),
        ("HOTP alice 1234 00\n", "static password"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let o = run_warden(&cfg, &["user", "import-oath", bad.to_str().unwrap()], pass);
        assert!(!o.status.success(), "{text}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{text}: {err}");
        assert_eq!(ok(&cfg, &["user", "export-oath"], pass), before);
    }
    // `+` (password checked by another PAM module) survives a round trip;
    // a seed longer than pam_oath's 32 bytes is refused.
    std::fs::write(&bad, format!("HOTP/E alice + {KEY_A} 4\n")).unwrap();
    ok(&cfg, &["user", "import-oath", bad.to_str().unwrap()], pass);
    let out = ok(&cfg, &["user", "export-oath"], pass);
    assert!(
        out.starts_with(&format!("HOTP\talice\t+\t{KEY_A}\t4")),
        "{out}"
    );
    std::fs::write(&bad, format!("HOTP alice - {}\n", "ab".repeat(33))).unwrap();
    let o = run_warden(&cfg, &["user", "import-oath", bad.to_str().unwrap()], pass);
    assert!(String::from_utf8_lossy(&o.stderr).contains("33 bytes"));
}
