//! Every command that writes a file it was named (`cert krl --out`, the KRL
//! `cert revoke` rewrites, `cert sign-user/sign-host/request --out`, `user
//! export-oath FILE`) follows one policy: `-` is standard output, a regular
//! file is replaced atomically (through a symbolic link, the link stays),
//! anything else is refused and left as it was; status lines go to stderr.

mod common;
use common::Deadline;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn config(s: &Scratch) -> PathBuf {
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n[signer]\nkrl = \"{}\"\n",
            s.path("keys").display(),
            s.path("revoked.krl").display()
        ),
    )
    .unwrap();
    cfg
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn refused(cfg: &Path, args: &[&str], why: &str) {
    let o = run_warden(cfg, args, "pw\n");
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(o.stdout.is_empty(), "{args:?} wrote to stdout");
    assert!(
        stderr(&o).contains(why)
            && stderr(&o).contains("give a regular file, or - for standard output"),
        "{args:?}: {}",
        stderr(&o)
    );
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .unwrap()
        .file_type()
        .is_symlink()
}

fn mkfifo(p: &Path) {
    let o = Command::new("mkfifo")
        .arg(p)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "mkfifo: {}", stderr(&o));
}

/// Issued serials, from `cert list`.
fn serials(cfg: &Path) -> usize {
    ok(cfg, &["cert", "list"], "pw\n").lines().count() - 1
}

/// `ssh-keygen -Q` of `key` against the KRL at `krl`: "ok" or "REVOKED".
fn query(krl: &Path, key: &Path) -> String {
    let o = Command::new("ssh-keygen")
        .arg("-Qf")
        .arg(krl)
        .arg(key)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o)
}

#[test]
fn output_paths_follow_one_policy() {
    need_tool("ssh-keygen", "openssh-client");
    let s = Scratch::new("cli-output");
    let cfg = config(&s);
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let key = s.path("id");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&key)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pubkey = s.path("id.pub");
    let pubkey = pubkey.to_str().unwrap();
    let fifo = s.path("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let to_stdout = s.path("to-stdout");
    std::os::unix::fs::symlink("/dev/stdout", &to_stdout).unwrap();
    let to_stdout = to_stdout.to_str().unwrap();

    // cert krl: `-` is standard output, the data alone; the status line
    // goes to stderr.
    let o = run_warden(&cfg, &["cert", "krl", "--out", "-"], "pw\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"SSHKRL\n\0"));
    assert!(
        stderr(&o).contains("standard output: KRL version 0"),
        "{}",
        stderr(&o)
    );
    assert!(!s.path("-").exists());
    // Devices, fifos and links to them are refused and left alone.
    for (out, why) in [
        ("/dev/null", "/dev/null: a character device (not replaced)"),
        (fifo, "fifo: a fifo (not replaced)"),
        (to_stdout, "a symbolic link to /dev/stdout"),
        ("/dev/stdout", "/dev/stdout: a symbolic link to"),
    ] {
        refused(&cfg, &["cert", "krl", "--out", out], why);
    }
    assert!(is_link(Path::new(to_stdout)));
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A regular file is replaced, through a link too (the link stays).
    let krl = s.path("out.krl");
    std::fs::write(&krl, "old").unwrap();
    let link = s.path("krl-link");
    std::os::unix::fs::symlink("out.krl", &link).unwrap();
    for out in [&krl, &link] {
        let o = run_warden(
            &cfg,
            &["cert", "krl", "--out", out.to_str().unwrap()],
            "pw\n",
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(std::fs::read(&krl).unwrap().starts_with(b"SSHKRL\n\0"));
    }
    assert!(is_link(&link));

    // sign-user and sign-host: the path is checked before a serial is spent.
    for (cmd, principal) in [("sign-user", "glenda"), ("sign-host", "router.lan")] {
        for (out, why) in [
            ("/dev/null", "a character device"),
            (fifo, "a fifo"),
            (to_stdout, "symbolic link"),
        ] {
            let args = [
                "cert",
                cmd,
                "--principal",
                principal,
                "--key",
                pubkey,
                "--out",
                out,
            ];
            refused(&cfg, &args, why);
        }
        assert_eq!(serials(&cfg), 0);
    }
    let o = run_warden(
        &cfg,
        &[
            "cert",
            "sign-user",
            "--principal",
            "glenda",
            "--key",
            pubkey,
            "--validity",
            "10m",
            "--out",
            "-",
        ],
        "pw\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        line.starts_with("ssh-ed25519-cert-v01@openssh.com AAAA"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    // --validity 10m is ten minutes of use from now; the start is
    // backdated besides
    let blob = warden::auth::ssh::wire::unbase64(line.split_whitespace().nth(1).unwrap()).unwrap();
    let spec = warden::auth::ssh::cert::parse(&blob).unwrap().spec;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 590..=now + 600).contains(&spec.valid_before),
        "{spec:?}"
    );
    let back = warden::auth::signer::ca::BACKDATE;
    assert!(spec.valid_after + back <= now + 1 && spec.valid_after + back + 60 >= now);
    assert!(
        stderr(&o).contains("standard output: serial 1"),
        "{}",
        stderr(&o)
    );
    assert!(!s.path("id-cert.pub").exists() && !s.path("-").exists());
    // The default (KEY-cert.pub), then replaced.
    for serial in ["2", "3"] {
        let o = run_warden(
            &cfg,
            &[
                "cert",
                "sign-host",
                "--principal",
                "router.lan",
                "--key",
                pubkey,
            ],
            "pw\n",
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(stderr(&o).contains(&format!("id-cert.pub: serial {serial}")));
    }
    let o = Command::new("ssh-keygen")
        .arg("-Lf")
        .arg(s.path("id-cert.pub"))
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("Serial: 3"));

    // cert request (the LAN's side) checks its --out before it asks.
    let o = run_warden(
        &cfg,
        &[
            "cert",
            "request",
            "--signer",
            "127.0.0.1:1",
            "--user",
            "glenda",
            "--key",
            pubkey,
            "--out",
            "/dev/null",
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/dev/null: a character device"),
        "{}",
        stderr(&o)
    );

    // cert revoke rewrites the configured KRL by the same rules: refused
    // through a link to a device (the revocation itself is kept, and said).
    let conf_krl = s.path("revoked.krl");
    std::os::unix::fs::symlink("/dev/null", &conf_krl).unwrap();
    let o = run_warden(&cfg, &["cert", "revoke", pubkey], "pw\n");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("revoked in keyfs, but the KRL was not written")
            && stderr(&o).contains("a symbolic link to /dev/null"),
        "{}",
        stderr(&o)
    );
    assert!(is_link(&conf_krl));
    std::fs::remove_file(&conf_krl).unwrap();
    let o = run_warden(&cfg, &["cert", "krl"], "pw\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(query(&conf_krl, Path::new(pubkey)).contains("REVOKED"));

    // user export-oath: standard output without a file (or with `-- -`),
    // a file replaced with mode 0600, specials refused.
    ok(&cfg, &["user", "add", "glenda"], "pw\n");
    ok(
        &cfg,
        &[
            "user",
            "otp",
            "glenda",
            "--totp",
            "--key",
            "3132333435363738393031323334353637383930",
        ],
        "pw\n",
    );
    let plain = ok(&cfg, &["user", "export-oath"], "pw\n");
    assert!(plain.contains("HOTP/T30\tglenda\t-\t"), "{plain}");
    assert_eq!(ok(&cfg, &["user", "export-oath", "--", "-"], "pw\n"), plain);
    for (out, why) in [
        ("/dev/null", "a character device"),
        (fifo, "a fifo"),
        (to_stdout, "symbolic link"),
    ] {
        refused(&cfg, &["user", "export-oath", out], why);
    }
    let users = s.path("users.oath");
    std::fs::write(&users, "old").unwrap();
    let o = run_warden(
        &cfg,
        &["user", "export-oath", users.to_str().unwrap()],
        "pw\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&users).unwrap(), plain);
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    assert_eq!(
        std::fs::metadata(&users).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Nothing left behind in the directory but what the test made.
    let mut names: Vec<String> = std::fs::read_dir(&s.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp") || n.ends_with(".new"))
        .collect();
    names.sort();
    assert!(names.is_empty(), "{names:?}");
}
