//! Commands that need only the running daemon ask no master passphrase
//! while its keyfs is unlocked (`cert ...`, `user otp|show|export-oath`,
//! stdin not a terminal and empty), print what the key-file path prints,
//! and fall back to the passphrase once the daemon is locked; OpenSSH's
//! ssh-keygen reads what they wrote.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn config(s: &Scratch) -> PathBuf {
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[main]\nrun_dir = \"{}\"\n[uplink]\nenabled = false\n[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n[signer]\nkrl = \"{}\"\n",
            s.path("run").display(),
            s.path("keys").display(),
            s.path("krl").display(),
        ),
    )
    .unwrap();
    cfg
}

fn keygen(path: &Path) {
    need_tool("ssh-keygen", "openssh-client");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "g@lan", "-f"])
        .arg(path)
        .output_within(CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "ssh-keygen: {o:?}");
}

fn fails(cfg: &Path, args: &[&str], stdin: &str) -> String {
    let o = run_warden(cfg, args, stdin);
    assert!(!o.status.success(), "warden {args:?} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn daemon_answers_without_the_passphrase() {
    let s = Scratch::new("cli-admin");
    let cfg = config(&s);
    ok(&cfg, &["keyfs", "init"], "pw\n");
    ok(&cfg, &["user", "add", "glenda"], "pw\n");
    let _d = start_daemon(&cfg, &s.path("run").join("keyfs"));

    // Locked: the key file is opened, which takes the passphrase.
    let e = fails(&cfg, &["cert", "ca-pubkey"], "");
    assert!(e.contains("locked") || e.contains("passphrase"), "{e}");
    ok(&cfg, &["unlock"], "pw\n");

    // Unlocked: no passphrase (stdin empty, not a terminal).
    let ca = ok(&cfg, &["cert", "ca-pubkey"], "");
    assert!(ca.starts_with("ssh-ed25519 "), "{ca}");
    std::fs::write(s.path("ca.pub"), &ca).unwrap();
    let fp = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(s.path("ca.pub"))
        .output_within(CHILD_DEADLINE)
        .unwrap();
    assert!(
        fp.status.success(),
        "ssh-keygen -l reads the CA line: {fp:?}"
    );

    let key = s.path("id_ed25519");
    keygen(&key);
    let pubkey = s.path("id_ed25519.pub");
    let p = pubkey.to_str().unwrap();
    ok(
        &cfg,
        &[
            "cert",
            "sign-user",
            "--principal",
            "glenda",
            "--key",
            p,
            "--validity",
            "10m",
        ],
        "",
    );
    let cert = s.path("id_ed25519-cert.pub");
    let l = Command::new("ssh-keygen")
        .arg("-Lf")
        .arg(&cert)
        .output_within(CHILD_DEADLINE)
        .unwrap();
    let l = String::from_utf8_lossy(&l.stdout);
    assert!(l.contains("Serial: 1") && l.contains("glenda"), "{l}");
    // the daemon's log gives the validity as ISO 8601, not epoch seconds
    let log = std::fs::read_to_string(cfg.with_extension("log")).unwrap();
    let issued = log
        .lines()
        .find(|l| l.contains("signer: issued user certificate serial 1 "))
        .unwrap_or_else(|| panic!("no issued line in {log}"));
    let valid = issued.split(" valid ").nth(1).unwrap_or_default();
    let (from, to) = valid.split_once("..").unwrap_or_default();
    for t in [from, to.split(' ').next().unwrap_or_default()] {
        assert!(
            t.len() == 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'),
            "{issued}"
        );
    }

    let list = ok(&cfg, &["cert", "list"], "");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    // aligned: each column starts where its header does
    let col = lines[0].find("STATUS").unwrap();
    assert_eq!(&lines[1][col..col + 5], "valid", "{list}");
    let json = ok(&cfg, &["cert", "list", "--json"], "");
    assert!(
        json.starts_with(r#"[{"serial":1,"type":"user","status":"valid","valid_from":""#)
            && json.contains(r#""principals":["glenda"]"#),
        "{json}"
    );

    // revoke writes the configured KRL; ssh-keygen -Q reads it
    let out = ok(&cfg, &["cert", "revoke", "1"], "");
    assert!(out.contains("revoked serial 1"), "{out}");
    let q = Command::new("ssh-keygen")
        .arg("-Qf")
        .arg(s.path("krl"))
        .arg(&cert)
        .output_within(CHILD_DEADLINE)
        .unwrap();
    assert!(
        String::from_utf8_lossy(&q.stdout).contains("REVOKED"),
        "{q:?}"
    );
    let o = run_warden(&cfg, &["cert", "krl", "--out", "-"], "");
    assert!(o.status.success());
    // the same KRL as the file revoke wrote, but for its generated_date
    // (bytes 20..28, the time each was made: a second apart on a busy machine)
    let (mut a, mut b) = (o.stdout.clone(), std::fs::read(s.path("krl")).unwrap());
    assert!(a.len() > 28 && b.len() > 28, "{a:?}");
    a[20..28].fill(0);
    b[20..28].fill(0);
    assert_eq!(a, b);
    assert!(String::from_utf8_lossy(&o.stderr).contains("KRL version"));
    let out = ok(&cfg, &["cert", "rotate"], "");
    assert!(out.starts_with("new CA key SHA256:"), "{out}");
    assert_eq!(ok(&cfg, &["cert", "ca-pubkey"], "").lines().count(), 2);

    // user otp, show, export-oath through the daemon
    let uri = ok(
        &cfg,
        &[
            "user",
            "otp",
            "glenda",
            "--totp",
            "--key",
            "3132333435363738393031323334353637383930",
            "--show-uri",
        ],
        "",
    );
    assert!(uri.contains("otpauth://totp/"), "{uri}");
    let show = ok(&cfg, &["user", "show", "glenda"], "");
    assert!(
        show.contains("password: not set") && show.contains("otp: TOTP, 30 s step"),
        "{show}"
    );
    ok(&cfg, &["user", "passwd", "glenda"], "a good password\n");
    let show = ok(&cfg, &["user", "show", "glenda", "--json"], "");
    assert!(
        show.contains(r#""password":true"#) && show.contains(r#""otp":{"kind":"totp""#),
        "{show}"
    );
    let oath = ok(&cfg, &["user", "export-oath"], "");
    assert!(
        oath.starts_with("HOTP/T30\tglenda\t-\t3132333435363738393031323334353637383930"),
        "{oath}"
    );
    ok(&cfg, &["user", "otp", "glenda", "--remove"], "");
    assert!(ok(&cfg, &["user", "show", "glenda"], "").contains("otp: none"));
    // errors come back with their cause
    let e = fails(&cfg, &["user", "show", "nobody"], "");
    assert!(e.contains("no user 'nobody'"), "{e}");

    // Locked again: the passphrase is asked for (and read from stdin).
    ok(&cfg, &["lock"], "");
    assert!(fails(&cfg, &["cert", "list"], "").contains("passphrase"));
    assert_eq!(ok(&cfg, &["cert", "list"], "pw\n").lines().count(), 2);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run `sh -c SCRIPT` (the README's commands, `ssh root@router.lan`
/// replaced by the local warden), insisting on success.
fn sh(script: &str) -> String {
    let o = Command::new("sh")
        .args(["-c", script])
        .output_within(CHILD_DEADLINE)
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The README's SSH server and LAN machine steps, against OpenSSH: the CA
/// and the KRL for sshd, a host certificate (`sign-host --key - --out -`)
/// as its HostCertificate, and ssh trusting it through an
/// `@cert-authority` line, with no host key of its own in known_hosts.
#[test]
fn readme_host_certificate_and_cert_authority() {
    let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is missing: install openssh-server (.ci/apt-packages)");
    need_tool("ssh", "openssh-client");
    let s = Scratch::new("cli-admin-readme");
    let cfg = config(&s);
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let _d = start_daemon(&cfg, &s.path("run").join("keyfs"));
    ok(&cfg, &["unlock"], "pw\n");
    let me = self_name();
    keygen(&s.path("host_ed25519"));
    keygen(&s.path("id"));
    let w = format!("{} -c {}", warden(), cfg.display());
    let d = s.0.display();
    // the server's steps, as the README writes them
    sh(&format!(
        "{w} cert ca-pubkey > {d}/warden_ca.pub &&
         {w} cert sign-host --principal localhost --key - --out - < {d}/host_ed25519.pub > {d}/host_ed25519-cert.pub &&
         {w} cert krl --out - > {d}/revoked.krl"
    ));
    // the LAN machine's: @cert-authority lines, a user certificate
    sh(&format!(
        "{w} cert ca-pubkey | sed 's/^/@cert-authority localhost /' > {d}/known_hosts &&
         {w} cert sign-user --principal {me} --key {d}/id.pub"
    ));
    let port = free_port();
    std::fs::create_dir_all("/run/sshd").ok();
    std::fs::write(
        s.path("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nHostCertificate {d}/host_ed25519-cert.pub\n\
             PidFile {d}/sshd.pid\nUsePAM no\nStrictModes no\nAuthorizedKeysFile none\n\
             TrustedUserCAKeys {d}/warden_ca.pub\nRevokedKeys {d}/revoked.krl\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        ),
    )
    .unwrap();
    let _sshd = Kill(
        Command::new(sshd_bin)
            .arg("-f")
            .arg(s.path("sshd_config"))
            .args(["-D", "-e"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < end, "sshd never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = sh(&format!(
        "ssh -p {port} -i {d}/id -o BatchMode=yes -o StrictHostKeyChecking=yes \
         -o UserKnownHostsFile={d}/known_hosts -o GlobalKnownHostsFile=/dev/null \
         -o IdentitiesOnly=yes -o ConnectTimeout=20 {me}@localhost echo logged-in"
    ));
    assert_eq!(out.trim(), "logged-in");
}

/// The README's secstore steps against the daemon's secstored: `secstore
/// add` gives the account a secstore, `secstore put` stores a key file,
/// `warden factotum --secstore` starts with its keys (the password read
/// once, from stdin), `user rename` moves the files (not the verifier, which
/// is bound to the name), and `secstore del` takes the secstore and its
/// files away while the keyfs account stays.
#[test]
fn secstore_add_put_factotum_and_del() {
    use std::io::Write;
    let s = Scratch::new("cli-admin-secstore");
    let cfg = config(&s);
    let port = free_port();
    let mut f = std::fs::OpenOptions::new().append(true).open(&cfg).unwrap();
    writeln!(
        f,
        "[secstore]\nenabled = true\nlisten = \"127.0.0.1:{port}\""
    )
    .unwrap();
    // the factotum asks for the secstore of the user it runs as
    let me = self_name();
    ok(&cfg, &["keyfs", "init"], "pw\n");
    ok(&cfg, &["user", "add", &me], "pw\n");
    let out = ok(&cfg, &["secstore", "add", &me], "pw\nsecstore pw\n");
    assert!(out.contains("at most 16 files"), "{out}");
    let _d = start_daemon(&cfg, &s.path("run").join("keyfs"));
    ok(&cfg, &["unlock"], "pw\n");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < end, "secstored never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let server = format!("127.0.0.1:{port}");
    std::fs::write(
        s.path("factotum"),
        "key proto=pass server=mail user=glenda !password=one\n\n\
         key proto=pass server=ftp user=glenda !password=two\n",
    )
    .unwrap();
    let file = s.path("factotum");
    let put = ["secstore", "put", "-s", &server, file.to_str().unwrap()];
    ok(&cfg, &put, "secstore pw\n");
    let listed = ok(&cfg, &["secstore", "list", &me], "pw\n");
    assert!(listed.contains("files: 1 of 16"), "{listed}");
    assert!(listed.contains("\nfactotum\t"), "{listed}");

    // the factotum loads both keys and serves them
    let sock = s.path("ns").join("factotum");
    let log = std::fs::File::create(s.path("factotum.log")).unwrap();
    let mut fac = Command::new(warden());
    fac.arg("-c")
        .arg(&cfg)
        .args(["factotum", "--secstore", &server, "--socket"]);
    let mut fac = Kill(
        fac.arg(&sock)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    fac.0
        .stdin
        .take()
        .unwrap()
        .write_all(b"secstore pw\n")
        .unwrap();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(std::time::Instant::now() < end, "the factotum never served");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let keys = ok(
        &cfg,
        &["key", "list", "--socket", sock.to_str().unwrap()],
        "",
    );
    assert!(
        keys.contains("server=mail") && keys.contains("server=ftp"),
        "{keys}"
    );
    assert!(!keys.contains("one") && !keys.contains("two"), "{keys}");
    drop(fac);
    let said = std::fs::read_to_string(s.path("factotum.log")).unwrap();
    assert!(said.contains("2 keys from secstore"), "{said}");

    // rename: the files move with the account; the PAK verifier, bound to
    // the name, does not (a renamed account sets its password again)
    ok(&cfg, &["user", "rename", &me, "renamed"], "");
    assert!(s
        .path("secstore")
        .join("renamed")
        .join("factotum")
        .is_file());
    assert!(!s.path("secstore").join(&me).exists());
    let e = fails(&cfg, &["secstore", "list", "renamed"], "pw\n");
    assert!(
        e.contains("has no secstore (warden secstore add renamed)"),
        "{e}"
    );
    ok(&cfg, &["user", "rename", "renamed", &me], "");
    let e = fails(&cfg, &["secstore", "ls", "-s", &server], "secstore pw\n");
    assert!(e.contains("login refused"), "{e}");
    ok(&cfg, &["secstore", "add", &me], "pw\nsecstore pw\n");
    let ls = ok(&cfg, &["secstore", "ls", "-s", &server], "secstore pw\n");
    assert!(ls.contains("factotum"), "{ls}");

    // del: the secstore and its files go (a crash's temporary one too),
    // the account stays
    std::fs::write(s.path("secstore").join(&me).join(".warden.1.0.tmp"), "").unwrap();
    let out = ok(&cfg, &["secstore", "del", &me], "pw\n");
    assert!(out.contains("removed"), "{out}");
    assert!(!s.path("secstore").join(&me).exists());
    assert!(fails(&cfg, &["secstore", "list", &me], "pw\n").contains("has no secstore"));
    assert!(fails(&cfg, &["secstore", "del", &me], "pw\n").contains("has no secstore"));
    let e = fails(&cfg, &["secstore", "ls", "-s", &server], "secstore pw\n");
    assert!(e.contains("login refused"), "{e}");
    assert!(ok(&cfg, &["user", "list"], "").contains(&me));
    assert!(fails(&cfg, &["secstore", "del", "nobody"], "pw\n").contains("nobody"));
    // deleting the account takes what is left of its secstore too
    std::fs::create_dir_all(s.path("secstore").join(&me)).unwrap();
    std::fs::write(s.path("secstore").join(&me).join("factotum"), "x").unwrap();
    ok(&cfg, &["user", "del", &me], "");
    assert!(!s.path("secstore").join(&me).exists());
}

fn self_name() -> String {
    let o = Command::new("id")
        .arg("-un")
        .output_within(CHILD_DEADLINE)
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}
