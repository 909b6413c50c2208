//! The keyfs commands end to end: attended and unattended modes, and bad
//! key files reported clearly without losing accounts.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn config(s: &Scratch, extra: &str) -> std::path::PathBuf {
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n{extra}",
            s.path("keys").display()
        ),
    )
    .unwrap();
    cfg
}

fn err(cfg: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let o = run_warden(cfg, args, stdin);
    assert!(!o.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn attended_flow_and_bad_files() {
    let s = Scratch::new("cli-attended");
    let cfg = config(&s, "");
    let e = err(&cfg, &["user", "list"], "pw\n");
    assert!(
        e.contains("no key file") && e.contains("warden keyfs init"),
        "{e}"
    );
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let e = err(&cfg, &["keyfs", "init"], "pw\n");
    assert!(e.contains("exists; refusing to overwrite"), "{e}");
    ok(
        &cfg,
        &["user", "add", "glenda", "--expire", "never"],
        "pw\n",
    );
    ok(&cfg, &["user", "add", "bob"], "pw\n");
    // a password shorter than 8 characters is refused, the account left
    let e = err(&cfg, &["user", "passwd", "glenda"], "pw\nshort\n");
    assert!(e.contains("at least 8 characters"), "{e}");
    ok(&cfg, &["user", "passwd", "glenda"], "pw\nsecret pw\n");
    // a 9front account's AES key, carried over without its password
    let aes = warden::auth::keyfs::account::passtoaeskey(b"9front pw");
    let hex: String = aes.iter().map(|b| format!("{b:02x}")).collect();
    let e = err(
        &cfg,
        &["user", "passwd", "--aeskey", "glenda"],
        "pw\nabcd\n",
    );
    assert!(e.contains("must be 16 bytes, or 32 hex digits"), "{e}");
    let out = ok(
        &cfg,
        &["user", "passwd", "--aeskey", "glenda"],
        &format!("pw\n{hex}\n"),
    );
    assert!(out.contains("aeskey of glenda set"), "{out}");
    {
        use warden::auth::keyfs::{RealFs, Store};
        let (st, _) = Store::open(RealFs, &s.path("keys"), b"pw").unwrap();
        let sec = st.secrets("glenda", 0).unwrap();
        assert_eq!(*sec.aes_key, aes);
        // the DES key still comes from the password
        let des = warden::auth::authsrv::des::passtokey(b"secret pw");
        assert_eq!(*sec.des_key, des);
    }
    let e = err(&cfg, &["user", "add", "x", "--expire", "someday"], "pw\n");
    assert!(e.contains("bad expiry 'someday'"), "{e}");
    let e = err(&cfg, &["user", "list"], "wrong\n");
    assert!(e.contains("wrong passphrase"), "{e}");
    let e = err(&cfg, &["user", "passwd", "nobody"], "pw\nx\n");
    assert!(e.contains("no user 'nobody'"), "{e}");
    let e = err(&cfg, &["unlock"], "");
    assert!(e.contains("standard input ended"), "{e}");
    assert!(ok(&cfg, &["unlock"], "pw\n").contains("2 account(s)"));
    // Change the master passphrase and back (keeps the accounts).
    ok(
        &cfg,
        &["keyfs", "passwd", "--iterations", "1200"],
        "pw\nnew pw\n",
    );
    assert!(err(&cfg, &["user", "list"], "pw\n").contains("wrong passphrase"));
    let check = ok(&cfg, &["keyfs", "check"], "new pw\n");
    assert!(
        check.contains("x 1200") && check.contains("accounts: 2"),
        "{check}"
    );
    ok(&cfg, &["keyfs", "passwd"], "new pw\npw\n");
    let e = err(&cfg, &["keyfs", "passwd", "--iterations", "10"], "pw\nx\n");
    assert!(e.contains("too few"), "{e}");

    // show never prints secrets.
    let show = ok(&cfg, &["user", "show", "glenda"], "pw\n");
    assert!(
        show.contains("password: set") && !show.contains("secret pw"),
        "{show}"
    );

    // Tamper with the current file: reported, the backup (one generation
    // back) is used, nothing is lost.
    let keys = s.path("keys");
    let good = std::fs::read(&keys).unwrap();
    let mut bad = good.clone();
    let n = bad.len() - 5;
    bad[n] ^= 1;
    std::fs::write(&keys, &bad).unwrap();
    let o = run_warden(&cfg, &["user", "list"], "pw\n");
    assert!(o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("modified or damaged") && e.contains("previous generation"),
        "{e}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);
    // Truncated and wrong-version current files, with no backup.
    std::fs::remove_file(s.path("keys.bak")).unwrap();
    std::fs::write(&keys, &good[..40]).unwrap();
    let e = err(&cfg, &["user", "list"], "pw\n");
    assert!(e.contains("truncated"), "{e}");
    let mut v = good.clone();
    v[8] = 7;
    std::fs::write(&keys, &v).unwrap();
    let e = err(&cfg, &["user", "list"], "pw\n");
    assert!(e.contains("version 7 is not supported"), "{e}");
    std::fs::write(&keys, b"").unwrap();
    let e = err(&cfg, &["user", "add", "z"], "pw\n");
    assert!(e.contains("empty"), "{e}");
    // The failed commands did not overwrite what they could not read.
    assert_eq!(std::fs::read(&keys).unwrap(), b"");
    std::fs::write(&keys, &good).unwrap();
    assert_eq!(ok(&cfg, &["user", "list"], "pw\n").lines().count(), 2);
}

#[test]
fn unattended_mode_uses_the_key_file() {
    let s = Scratch::new("cli-unattended");
    let kf = s.path("keys.key");
    let cfg = config(
        &s,
        &format!("mode = \"unattended\"\nkeyfile = \"{}\"\n", kf.display()),
    );
    let out = ok(&cfg, &["keyfs", "init"], "");
    assert!(out.contains("created key file"), "{out}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&kf).unwrap().mode() & 0o777, 0o600);
    ok(&cfg, &["user", "add", "robot"], "");
    assert!(ok(&cfg, &["user", "list"], "").starts_with("robot\t"));
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let e = err(&cfg, &["user", "list"], "");
    assert!(e.contains("mode 0640") && e.contains("chmod 600"), "{e}");
}

#[test]
fn bad_config_values_are_config_errors() {
    let s = Scratch::new("cli-config");
    let cfg = config(&s, "mode = \"sometimes\"\n");
    let o = run_warden(&cfg, &["user", "list"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("attended or unattended"));
    let cfg = s.path("w2.toml");
    std::fs::write(&cfg, "[keyfs]\n\nkdf_iterations = 5\n").unwrap();
    let o = run_warden(&cfg, &["user", "list"], "");
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("w2.toml:3") && e.contains("too few"), "{e}");
}
