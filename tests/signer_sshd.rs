//! The signer and the agent end to end against Debian's OpenSSH: a warden
//! daemon (signer on TCP, agent on a Unix socket) and an sshd started here
//! on 127.0.0.1 with warden's CA key and KRL.

mod common;
use common::Deadline;
use common::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn config(s: &Scratch, name: &str, mode: &str, signer_port: u16) -> PathBuf {
    let cfg = s.path(&format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"[main]
run_dir = "{run}"
log_level = "info"
[uplink]
enabled = false
[keyfs]
file = "{keys}"
mode = "{mode}"
keyfile = "{keyfile}"
kdf_iterations = 1000
[signer]
enabled = true
listen = "127.0.0.1:{signer_port}"
# the client's unoptimized PBKDF2 on a busy machine may outlast 15 s
idle_timeout = "10m"
max_validity = "1h"
krl = "{krl}"
agent = true
agent_socket = "{sock}"
"#,
            run = s.path(&format!("run-{name}")).display(),
            keys = s.path("keys").display(),
            keyfile = s.path("keys.key").display(),
            krl = s.path("revoked.krl").display(),
            sock = s.path(&format!("agent-{name}/sock")).display(),
        ),
    )
    .unwrap();
    cfg
}

fn daemon(cfg: &Path) -> Kill {
    Kill(
        Command::new(warden())
            .arg("-c")
            .arg(cfg)
            .args(["daemon", "-f"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn keygen(path: &Path) {
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn text(o: &Output) -> String {
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    s
}

fn local_user() -> String {
    let o = Command::new("id")
        .arg("-un")
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// ssh into the test sshd running `true`; the extra options choose the key.
fn ssh(port: u16, user: &str, opts: &[String]) -> (bool, String, Duration) {
    let start = Instant::now();
    let o = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(["-o", "ConnectTimeout=20"])
        .args(opts)
        .arg("-p")
        .arg(port.to_string())
        .arg(format!("{user}@127.0.0.1"))
        .arg("true")
        .stdin(Stdio::null())
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    (o.status.success(), text(&o), start.elapsed())
}

fn with_cert(key: &Path) -> Vec<String> {
    vec![
        "-o".into(),
        "IdentityAgent=none".into(),
        "-o".into(),
        "IdentitiesOnly=yes".into(),
        "-o".into(),
        format!("IdentityFile={}", key.display()),
        "-o".into(),
        format!("CertificateFile={}-cert.pub", key.display()),
    ]
}

fn keygen_l(cert: &Path) -> String {
    let o = Command::new("ssh-keygen")
        .arg("-Lf")
        .arg(cert)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "ssh-keygen -L: {}", text(&o));
    text(&o)
}

fn request(cfg: &Path, port: u16, key: &Path, password: &str) -> Output {
    run_warden(
        cfg,
        &[
            "cert",
            "request",
            "--signer",
            &format!("127.0.0.1:{port}"),
            "--user",
            "glenda",
            "--key",
            &format!("{}.pub", key.display()),
        ],
        &format!("{password}\n"),
    )
}

#[test]
fn certificates_and_agent_against_openssh() {
    for (t, p) in [
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
        ("ssh-add", "openssh-client"),
    ] {
        need_tool(t, p);
    }
    let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is missing: install the Debian package openssh-server (listed in .ci/apt-packages)");
    let s = Scratch::new("signer-sshd");
    let me = local_user();
    let signer_port = free_port();
    let cfg = config(&s, "main", "unattended", signer_port);

    // The router's side: a key file, an account whose principal is the
    // local user, a CA key and an empty KRL.
    ok(&cfg, &["keyfs", "init"], "");
    ok(&cfg, &["user", "add", "glenda"], "");
    ok(&cfg, &["user", "passwd", "glenda"], "correct horse\n");
    ok(
        &cfg,
        &[
            "user",
            "attr",
            "glenda",
            "principals",
            &format!("{me},backup"),
        ],
        "",
    );
    let ca = ok(&cfg, &["cert", "ca-pubkey"], "");
    assert!(ca.starts_with("ssh-ed25519 AAAA"), "{ca}");
    std::fs::write(s.path("ca.pub"), &ca).unwrap();
    ok(&cfg, &["cert", "krl"], "");

    // sshd with warden's CA and KRL.
    let sshd_port = free_port();
    keygen(&s.path("host_ed25519"));
    keygen(&s.path("agentkey"));
    std::fs::copy(s.path("agentkey.pub"), s.path("authorized_keys")).unwrap();
    std::fs::create_dir_all("/run/sshd").ok();
    std::fs::write(
        s.path("sshd_config"),
        format!(
            "Port {sshd_port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM no\nStrictModes no\n\
             AuthorizedKeysFile {ak}\nTrustedUserCAKeys {ca}\nRevokedKeys {krl}\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
            hk = s.path("host_ed25519").display(),
            pid = s.path("sshd.pid").display(),
            ak = s.path("authorized_keys").display(),
            ca = s.path("ca.pub").display(),
            krl = s.path("revoked.krl").display(),
        ),
    )
    .unwrap();
    let _sshd = Kill(
        Command::new(sshd_bin)
            .arg("-f")
            .arg(s.path("sshd_config"))
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("sshd", || port_open(sshd_port));

    let _d = daemon(&cfg);
    wait_for("the signer", || port_open(signer_port));

    // A LAN user gets a certificate with the account's password and logs in.
    let k1 = s.path("id1");
    keygen(&k1);
    let o = request(&cfg, signer_port, &k1, "correct horse");
    assert!(o.status.success(), "cert request: {}", text(&o));
    let l = keygen_l(&s.path("id1-cert.pub"));
    assert!(
        l.contains("ssh-ed25519-cert-v01@openssh.com user certificate"),
        "{l}"
    );
    assert!(l.contains(&format!("\n                {me}\n")), "{l}");
    assert!(l.contains("backup"), "{l}");
    let ca_fp = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(s.path("ca.pub"))
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let ca_fp = text(&ca_fp).split_whitespace().nth(1).unwrap().to_string();
    assert!(l.contains(&format!("Signing CA: ED25519 {ca_fp}")), "{l}");
    assert!(l.contains("Serial: "), "{l}");
    let (okay, out, _) = ssh(sshd_port, &me, &with_cert(&k1));
    assert!(okay, "login with a requested certificate failed: {out}");

    // A wrong password is refused and counted.
    let k2 = s.path("id2");
    keygen(&k2);
    let o = request(&cfg, signer_port, &k2, "wrong horse");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("wrong user, password or TOTP code"),
        "{}",
        text(&o)
    );
    assert!(!s.path("id2-cert.pub").exists());

    // An expired certificate (admin-signed, valid in 2020) is refused.
    let o = run_warden(
        &cfg,
        &[
            "cert",
            "sign-user",
            "--principal",
            &me,
            "--key",
            &format!("{}.pub", k2.display()),
            "--from",
            "2020-01-01",
            "--validity",
            "1h",
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(keygen_l(&s.path("id2-cert.pub")).contains("2020-01-01T00:00:00"));
    let (okay, out, _) = ssh(sshd_port, &me, &with_cert(&k2));
    assert!(!okay, "an expired certificate logged in: {out}");

    // Revoked: logs in, then not once the KRL lists its serial.
    let k3 = s.path("id3");
    keygen(&k3);
    let o = request(&cfg, signer_port, &k3, "correct horse");
    assert!(o.status.success(), "{}", text(&o));
    let (okay, out, _) = ssh(sshd_port, &me, &with_cert(&k3));
    assert!(okay, "{out}");
    let l = keygen_l(&s.path("id3-cert.pub"));
    let serial = l
        .lines()
        .find_map(|x| x.trim().strip_prefix("Serial: "))
        .unwrap()
        .to_string();
    ok(&cfg, &["cert", "revoke", &serial], "");
    let q = Command::new("ssh-keygen")
        .arg("-Qf")
        .arg(s.path("revoked.krl"))
        .arg(s.path("id3-cert.pub"))
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(text(&q).contains("REVOKED"), "{}", text(&q));
    let (okay, out, _) = ssh(sshd_port, &me, &with_cert(&k3));
    assert!(!okay, "a revoked certificate logged in: {out}");
    // The first certificate still works.
    assert!(ssh(sshd_port, &me, &with_cert(&k1)).0);
    let list = ok(&cfg, &["cert", "list"], "");
    assert!(
        list.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq([serial.as_str(), "user", "revoked"])),
        "{list}"
    );
    assert!(list.contains("glenda from 127.0.0.1"), "{list}");
    // The daemon and the CLI both issued: the daemon's request after the
    // CLI's sign-user (serial 2, expired in 2020 and so already dropped
    // from the log) got serial 3, not 2 again.
    let serials: Vec<&str> = list
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(serials, ["1", "3"], "{list}");
    assert_eq!(serial, "3");

    // A host certificate.
    let o = run_warden(
        &cfg,
        &[
            "cert",
            "sign-host",
            "--principal",
            "router.lan",
            "--key",
            &format!("{}.pub", s.path("host_ed25519").display()),
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let l = keygen_l(&s.path("host_ed25519-cert.pub"));
    assert!(
        l.contains("host certificate") && l.contains("router.lan"),
        "{l}"
    );

    // Revoked by key: the KRL lists the key, and no signing path certifies
    // it again (the network request, sign-user, sign-host); an unrevoked
    // key still gets its certificate.
    let k3pub = format!("{}.pub", k3.display());
    let out = ok(&cfg, &["cert", "revoke", &k3pub], "");
    assert!(out.contains("revoked key SHA256:"), "{out}");
    let fp = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&k3pub)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let fp = text(&fp).split_whitespace().nth(1).unwrap().to_string();
    let q = Command::new("ssh-keygen")
        .arg("-Qf")
        .arg(s.path("revoked.krl"))
        .arg(&k3pub)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(text(&q).contains("REVOKED"), "{}", text(&q));
    let before = std::fs::read(s.path("id3-cert.pub")).unwrap();
    let refused = |o: &Output, what: &str| {
        assert!(!o.status.success(), "{what} certified a revoked key");
        assert!(
            text(o).contains(&format!("key {fp} is revoked")),
            "{what}: {}",
            text(o)
        );
    };
    refused(
        &request(&cfg, signer_port, &k3, "correct horse"),
        "cert request",
    );
    for (cmd, principal) in [("sign-user", me.as_str()), ("sign-host", "router.lan")] {
        let o = run_warden(
            &cfg,
            &["cert", cmd, "--principal", principal, "--key", &k3pub],
            "",
        );
        refused(&o, cmd);
    }
    assert_eq!(std::fs::read(s.path("id3-cert.pub")).unwrap(), before);
    let list = ok(&cfg, &["cert", "list"], "");
    assert_eq!(list.lines().count(), 1 + 3, "{list}");
    let o = request(&cfg, signer_port, &k1, "correct horse");
    assert!(o.status.success(), "cert request: {}", text(&o));
    let q = Command::new("ssh-keygen")
        .arg("-Qf")
        .arg(s.path("revoked.krl"))
        .arg(s.path("id1-cert.pub"))
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        q.status.success() && text(&q).contains(": ok"),
        "{}",
        text(&q)
    );
    assert!(ssh(sshd_port, &me, &with_cert(&k1)).0);

    // The agent: empty, ssh-add a key, delete the file: only warden holds
    // it, and ssh logs in through the agent.
    let sock = s.path("agent-main/sock");
    wait_for("the agent socket", || sock.exists());
    let add = |args: &[&str], sock: &Path| {
        Command::new("ssh-add")
            .args(args)
            .env("SSH_AUTH_SOCK", sock)
            .stdin(Stdio::null())
            .output_within(common::CHILD_DEADLINE)
            .unwrap()
    };
    let o = add(&["-L"], &sock);
    assert!(text(&o).contains("no identities"), "{}", text(&o));
    let o = add(&[s.path("agentkey").to_str().unwrap()], &sock);
    assert!(o.status.success(), "ssh-add: {}", text(&o));
    std::fs::remove_file(s.path("agentkey")).unwrap();
    let o = add(&["-L"], &sock);
    let pubkey = std::fs::read_to_string(s.path("agentkey.pub")).unwrap();
    let b64 = pubkey.split_whitespace().nth(1).unwrap().to_string();
    assert!(text(&o).contains(&b64), "{}", text(&o));
    let agent_opts = vec![
        "-o".to_string(),
        format!("IdentityAgent={}", sock.display()),
        "-o".into(),
        format!("IdentityFile={}", s.path("nonexistent").display()),
    ];
    let (okay, out, _) = ssh(sshd_port, &me, &agent_opts);
    assert!(okay, "login through warden's agent failed: {out}");
    // Saved in keyfs: a daemon restarted later lists it again.
    drop(_d);
    let _d = daemon(&cfg);
    wait_for("the agent socket", || add(&["-L"], &sock).status.success());
    assert!(text(&add(&["-L"], &sock)).contains(&b64));

    // A daemon whose keyfs is locked (attended mode, never unlocked): the
    // agent lists nothing and ssh fails at once; the signer says so.
    let port2 = free_port();
    let cfg2 = config(&s, "locked", "attended", port2);
    let _d2 = daemon(&cfg2);
    let sock2 = s.path("agent-locked/sock");
    wait_for("the locked daemon", || sock2.exists() && port_open(port2));
    let o = add(&["-L"], &sock2);
    assert!(text(&o).contains("no identities"), "{}", text(&o));
    let opts2 = vec![
        "-o".to_string(),
        format!("IdentityAgent={}", sock2.display()),
        "-o".into(),
        format!("IdentityFile={}", s.path("nonexistent").display()),
    ];
    let (okay, out, took) = ssh(sshd_port, &me, &opts2);
    assert!(!okay, "{out}");
    assert!(
        took < Duration::from_secs(15),
        "ssh took {took:?} with keyfs locked"
    );
    let o = request(&cfg2, port2, &k2, "correct horse");
    assert!(!o.status.success());
    assert!(text(&o).contains("locked"), "{}", text(&o));

    // With a TOTP token the code is proven with the password: without
    // --totp (or with a wrong code) the answer is the same refusal as a
    // wrong password's; with the code from oathtool, a certificate.
    need_tool("oathtool", "oathtool");
    let hex = "3132333435363738393031323334353637383930";
    ok(&cfg, &["user", "otp", "glenda", "--totp", "--key", hex], "");
    let refused = |o: &Output| {
        assert!(!o.status.success());
        assert!(
            text(o).contains("wrong user, password or TOTP code"),
            "{}",
            text(o)
        );
        assert!(!s.path("id2-cert.pub").exists());
    };
    let totp_request = |input: &str| {
        run_warden(
            &cfg,
            &[
                "cert",
                "request",
                "--signer",
                &format!("127.0.0.1:{signer_port}"),
                "--user",
                "glenda",
                "--key",
                &format!("{}.pub", k2.display()),
                "--totp",
            ],
            input,
        )
    };
    // the daemon notices the changed key file by itself
    wait_for("the token to reach the daemon", || {
        let o = request(&cfg, signer_port, &k2, "correct horse");
        let _ = std::fs::remove_file(s.path("id2-cert.pub"));
        !o.status.success()
    });
    refused(&request(&cfg, signer_port, &k2, "correct horse"));
    refused(&totp_request("correct horse\n000000\n"));
    let code = Command::new("oathtool")
        .args(["--totp", hex])
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let code = text(&code).trim().to_string();
    refused(&totp_request(&format!("wrong horse\n{code}\n")));
    let o = totp_request(&format!("correct horse\n{code}\n"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(s.path("id2-cert.pub").exists());
    std::fs::remove_file(s.path("id2-cert.pub")).unwrap();
}

/// sshd on 127.0.0.1 trusting the CA keys in `ca`, refusing what `krl`
/// lists, logging to `log`.
fn start_sshd(s: &Scratch, tag: &str, ca: &Path, krl: &Path, log: &Path) -> (Kill, u16) {
    let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is missing: install the Debian package openssh-server (listed in .ci/apt-packages)");
    let port = free_port();
    let hk = s.path(&format!("{tag}_host_ed25519"));
    keygen(&hk);
    std::fs::create_dir_all("/run/sshd").ok();
    let conf = s.path(&format!("{tag}_sshd_config"));
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM no\nStrictModes no\n\
             AuthorizedKeysFile none\nTrustedUserCAKeys {ca}\nRevokedKeys {krl}\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
            hk = hk.display(),
            pid = s.path(&format!("{tag}_sshd.pid")).display(),
            ca = ca.display(),
            krl = krl.display(),
        ),
    )
    .unwrap();
    let kill = Kill(
        Command::new(sshd_bin)
            .arg("-f")
            .arg(&conf)
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for("sshd", || port_open(port));
    (kill, port)
}

/// ssh running `cmd` (with `-tt` when `tty`), for what the certificate
/// allows.
fn ssh_cmd(port: u16, user: &str, key: &Path, tty: bool, cmd: &str) -> (bool, String) {
    let o = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(["-o", "ConnectTimeout=20"])
        .args(with_cert(key))
        .args(if tty { &["-tt"][..] } else { &["-T"][..] })
        .arg("-p")
        .arg(port.to_string())
        .arg(format!("{user}@127.0.0.1"))
        .arg(cmd)
        .stdin(Stdio::null())
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    (o.status.success(), text(&o))
}

fn lan(cfg: &Path, args: &[&str], port: u16) -> Output {
    let signer = format!("127.0.0.1:{port}");
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--signer", &signer]);
    run_warden(cfg, &a, "")
}

fn serial_of(cert: &Path) -> String {
    keygen_l(cert)
        .lines()
        .find_map(|x| x.trim().strip_prefix("Serial: "))
        .unwrap()
        .to_string()
}

/// Issue 18's signer features as OpenSSH sees them: CA lines fetched over
/// the network and rotated, account policy (force-command, source-address,
/// extensions, fewer principals), the key id in sshd's log, a revoke
/// reaching a host through `cert fetch-krl`, and renewal without the
/// password (key file and agent).
#[test]
fn signer_features_against_openssh() {
    for (t, p) in [("ssh", "openssh-client"), ("ssh-keygen", "openssh-client")] {
        need_tool(t, p);
    }
    let s = Scratch::new("signer-features");
    let me = local_user();
    let signer_port = free_port();
    let cfg = config(&s, "main", "unattended", signer_port);
    ok(&cfg, &["keyfs", "init"], "");
    // glenda: no pty, a forced command; far: only from 10.0.0.0/8.
    for (u, attrs) in [
        (
            "glenda",
            &[
                ("principals", format!("{me},backup")),
                ("extensions", "port-forwarding".to_string()),
                ("force_command", "echo forced-by-warden".to_string()),
            ][..],
        ),
        (
            "far",
            &[
                ("principals", me.clone()),
                ("source_address", "10.0.0.0/8".to_string()),
            ][..],
        ),
        ("plain", &[("principals", format!("{me},backup"))][..]),
    ] {
        ok(&cfg, &["user", "add", u], "");
        ok(&cfg, &["user", "passwd", u], "correct horse\n");
        for (k, v) in attrs {
            ok(&cfg, &["user", "attr", u, k, v], "");
        }
    }
    let ca = ok(&cfg, &["cert", "ca-pubkey"], "");
    let first = ca.lines().next().unwrap().to_string();
    assert_eq!(ca.lines().count(), 1, "{ca}");
    assert!(
        first.contains(" warden-ca-20") && first.ends_with("Z current"),
        "{ca}"
    );
    let _d = daemon(&cfg);
    wait_for("the signer", || port_open(signer_port));

    // The host fetches the CA keys and the KRL over the network, no
    // password: what it writes is what the router says.
    let (host_ca, host_krl) = (s.path("host-ca.pub"), s.path("host.krl"));
    let fetch_ca = || {
        lan(
            &cfg,
            &["cert", "fetch-ca", "--out", host_ca.to_str().unwrap()],
            signer_port,
        )
    };
    // the port opens before the daemon has unlocked keyfs
    wait_for("keyfs unlocked", || !text(&fetch_ca()).contains("locked"));
    let o = fetch_ca();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 CA key(s)"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&host_ca).unwrap(), ca);
    let o = lan(
        &cfg,
        &["cert", "fetch-krl", "--out", host_krl.to_str().unwrap()],
        signer_port,
    );
    assert!(o.status.success(), "{}", text(&o));
    let log = s.path("sshd.log");
    let (_sshd, port) = start_sshd(&s, "h", &host_ca, &host_krl, &log);

    let req = |user: &str, key: &Path, extra: &[&str]| {
        let signer = format!("127.0.0.1:{signer_port}");
        let k = format!("{}.pub", key.display());
        let mut a = vec![
            "cert", "request", "--signer", &signer, "--user", user, "--key", &k,
        ];
        a.extend(extra);
        let o = run_warden(&cfg, &a, "correct horse\n");
        assert!(o.status.success(), "cert request {user}: {}", text(&o));
    };

    // Policy: the forced command runs instead of ours, no pty is given.
    let kg = s.path("glenda");
    keygen(&kg);
    req("glenda", &kg, &[]);
    let l = keygen_l(&s.path("glenda-cert.pub"));
    assert!(l.contains("force-command echo forced-by-warden"), "{l}");
    assert!(
        l.contains("Extensions: \n                permit-port-forwarding\n"),
        "{l}"
    );
    let serial = serial_of(&s.path("glenda-cert.pub"));
    let id = format!("glenda serial {serial} from 127.0.0.1");
    assert!(l.contains(&format!("Key ID: \"{id}\"")), "{l}");
    let (okay, out) = ssh_cmd(port, &me, &kg, false, "echo not-forced");
    assert!(
        okay && out.contains("forced-by-warden") && !out.contains("not-forced"),
        "{out}"
    );
    let (_, out) = ssh_cmd(port, &me, &kg, true, "true");
    assert!(out.contains("PTY allocation request failed"), "{out}");
    // sshd logs the key id: account, serial, requester.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&format!("ID {id} (serial {serial})")),
        "{logged}"
    );
    // source-address: not from here.
    let kf = s.path("far");
    keygen(&kf);
    req("far", &kf, &[]);
    assert!(keygen_l(&s.path("far-cert.pub")).contains("source-address 10.0.0.0/8"));
    let (okay, out) = ssh_cmd(port, &me, &kf, false, "true");
    assert!(
        !okay,
        "a certificate bound to 10.0.0.0/8 logged in from 127.0.0.1: {out}"
    );
    // Asking for less: only the principal backup, so not a login as me;
    // asking for more is refused, nothing written.
    let kp = s.path("plain");
    keygen(&kp);
    req(
        "plain",
        &kp,
        &["--principal", "backup", "--extension", "pty"],
    );
    let l = keygen_l(&s.path("plain-cert.pub"));
    assert!(l.contains("Principals: \n                backup\n"), "{l}");
    assert!(
        l.contains("Extensions: \n                permit-pty\n"),
        "{l}"
    );
    assert!(!ssh_cmd(port, &me, &kp, false, "true").0);
    std::fs::remove_file(s.path("plain-cert.pub")).unwrap();
    let o = run_warden(
        &cfg,
        &[
            "cert",
            "request",
            "--signer",
            &format!("127.0.0.1:{signer_port}"),
            "--user",
            "plain",
            "--key",
            &format!("{}.pub", kp.display()),
            "--principal",
            "operator",
        ],
        "correct horse\n",
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("principal 'operator' is not one of plain's"),
        "{}",
        text(&o)
    );
    assert!(!s.path("plain-cert.pub").exists());
    req("plain", &kp, &[]);
    let (okay, out) = ssh_cmd(port, &me, &kp, false, "true");
    assert!(okay, "{out}");

    // A revoke reaches the host when it fetches the KRL.
    let pserial = serial_of(&s.path("plain-cert.pub"));
    ok(&cfg, &["cert", "revoke", &pserial], "");
    assert!(
        ssh_cmd(port, &me, &kp, false, "true").0,
        "the host's KRL is the old one"
    );
    wait_for("the revoke to reach the daemon", || {
        let o = lan(
            &cfg,
            &["cert", "fetch-krl", "--out", host_krl.to_str().unwrap()],
            signer_port,
        );
        let q = Command::new("ssh-keygen")
            .arg("-Qf")
            .arg(&host_krl)
            .arg(s.path("plain-cert.pub"))
            .output_within(common::CHILD_DEADLINE)
            .unwrap();
        o.status.success() && text(&q).contains("REVOKED")
    });
    let (okay, out) = ssh_cmd(port, &me, &kp, false, "true");
    assert!(
        !okay,
        "a revoked certificate logged in after fetch-krl: {out}"
    );

    // Renewal without the password, from the key file: a certificate of a
    // minute (five more backdated) is due at once; the new one logs in.
    let kr = s.path("renew");
    keygen(&kr);
    req("plain", &kr, &["--validity", "1m"]);
    let cert = s.path("renew-cert.pub");
    let old = serial_of(&cert);
    let renew = |env: Option<&Path>| {
        let mut c = Command::new(warden());
        c.arg("-c").arg(&cfg).args([
            "cert",
            "renew",
            "--signer",
            &format!("127.0.0.1:{signer_port}"),
            "--key",
            &format!("{}.pub", kr.display()),
        ]);
        match env {
            Some(sock) => c.env("SSH_AUTH_SOCK", sock),
            None => c.env_remove("SSH_AUTH_SOCK"),
        };
        c.stdin(Stdio::null())
            .output_within(common::CHILD_DEADLINE)
            .unwrap()
    };
    let o = renew(None);
    assert!(o.status.success(), "cert renew: {}", text(&o));
    let new = serial_of(&cert);
    assert_ne!(old, new);
    let l = keygen_l(&cert);
    assert!(
        l.contains(&format!("Key ID: \"plain serial {new} from 127.0.0.1\"")),
        "{l}"
    );
    assert!(ssh_cmd(port, &me, &kr, false, "true").0);
    // Not yet due: nothing asked, nothing changed, no failure (for cron).
    let kn = s.path("notdue");
    keygen(&kn);
    req("plain", &kn, &[]);
    let before = std::fs::read(s.path("notdue-cert.pub")).unwrap();
    let o = lan(
        &cfg,
        &["cert", "renew", "--key", &format!("{}.pub", kn.display())],
        signer_port,
    );
    assert!(
        o.status.success() && text(&o).contains("is not due for renewal until"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(s.path("notdue-cert.pub")).unwrap(), before);
    // Through an agent holding the key (warden's), the key file gone.
    let sock = s.path("agent-main/sock");
    wait_for("the agent socket", || sock.exists());
    let o = Command::new("ssh-add")
        .arg(&kr)
        .env("SSH_AUTH_SOCK", &sock)
        .stdin(Stdio::null())
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(o.status.success(), "ssh-add: {}", text(&o));
    std::fs::rename(&kr, s.path("renew.away")).unwrap();
    let o = renew(Some(&sock));
    assert!(
        o.status.success(),
        "cert renew through the agent: {}",
        text(&o)
    );
    assert_ne!(serial_of(&cert), new);
    std::fs::rename(s.path("renew.away"), &kr).unwrap();
    // Refused once the account is disabled, and once the key is revoked.
    ok(&cfg, &["user", "disable", "plain"], "");
    wait_for("the disable to reach the daemon", || {
        let o = renew(None);
        !o.status.success() && text(&o).contains("'plain' is disabled")
    });
    ok(&cfg, &["user", "enable", "plain"], "");
    wait_for("the enable to reach the daemon", || {
        renew(None).status.success()
    });
    ok(
        &cfg,
        &["cert", "revoke", &format!("{}.pub", kr.display())],
        "",
    );
    wait_for("the revoke to reach the daemon", || {
        let o = renew(None);
        !o.status.success() && text(&o).contains("is revoked")
    });

    // The agent holds a key with its certificate (ssh-add finds
    // KEY-cert.pub beside KEY): two identities, the certificate one logs in
    // where only certificates are trusted (no authorized_keys here).
    let ka = s.path("agentcert");
    keygen(&ka);
    req("plain", &ka, &[]);
    let agent = |args: &[&str]| {
        Command::new("ssh-add")
            .args(args)
            .env("SSH_AUTH_SOCK", &sock)
            .stdin(Stdio::null())
            .output_within(common::CHILD_DEADLINE)
            .unwrap()
    };
    let o = agent(&[ka.to_str().unwrap()]);
    assert!(o.status.success(), "ssh-add: {}", text(&o));
    assert!(text(&o).contains("Certificate added"), "{}", text(&o));
    let listed = text(&agent(&["-l"]));
    assert!(listed.contains("(ED25519-CERT)"), "{listed}");
    let cert_b64 = std::fs::read_to_string(s.path("agentcert-cert.pub")).unwrap();
    let cert_b64 = cert_b64.split_whitespace().nth(1).unwrap().to_string();
    assert!(text(&agent(&["-L"])).contains(&cert_b64));
    std::fs::rename(&ka, s.path("agentcert.away")).unwrap();
    let o = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(["-o", "ConnectTimeout=20", "-o", "IdentitiesOnly=no"])
        .arg("-o")
        .arg(format!("IdentityAgent={}", sock.display()))
        .arg("-o")
        .arg(format!("IdentityFile={}", s.path("nonexistent").display()))
        .arg("-p")
        .arg(port.to_string())
        .arg(format!("{me}@127.0.0.1"))
        .arg("true")
        .stdin(Stdio::null())
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        o.status.success(),
        "login with the agent's certificate: {}",
        text(&o)
    );
    // Removing the key removes its certificate too (ssh-add -d KEY).
    std::fs::rename(s.path("agentcert.away"), &ka).unwrap();
    let o = agent(&["-d", ka.to_str().unwrap()]);
    assert!(o.status.success(), "ssh-add -d: {}", text(&o));
    assert!(!text(&agent(&["-L"])).contains(&cert_b64));

    // Rotation: the host fetches both keys; the old CA's certificate and
    // the new CA's both log in; the current key is marked.
    ok(&cfg, &["cert", "rotate"], "");
    wait_for("the rotation to reach the daemon", || {
        let o = lan(
            &cfg,
            &["cert", "fetch-ca", "--out", host_ca.to_str().unwrap()],
            signer_port,
        );
        o.status.success() && std::fs::read_to_string(&host_ca).unwrap().lines().count() == 2
    });
    let lines = std::fs::read_to_string(&host_ca).unwrap();
    let l: Vec<&str> = lines.lines().collect();
    assert!(
        l[0].ends_with("Z current") && l[1].contains(" retired-20"),
        "{lines}"
    );
    assert_eq!(
        l[1].split_whitespace().take(3).collect::<Vec<_>>(),
        first.split_whitespace().take(3).collect::<Vec<_>>()
    );
    assert_eq!(lines, ok(&cfg, &["cert", "ca-pubkey"], ""));
    let k2 = s.path("rotated");
    keygen(&k2);
    req("glenda", &k2, &[]);
    std::fs::write(s.path("current-ca.pub"), format!("{}\n", l[0])).unwrap();
    let new_ca = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(s.path("current-ca.pub"))
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let fp = text(&new_ca).split_whitespace().nth(1).unwrap().to_string();
    let l = keygen_l(&s.path("rotated-cert.pub"));
    assert!(l.contains(&format!("Signing CA: ED25519 {fp}")), "{fp} {l}");
    let (okay, out) = ssh_cmd(port, &me, &k2, false, "true");
    assert!(okay && out.contains("forced-by-warden"), "{out}");
    let (okay, out) = ssh_cmd(port, &me, &kg, false, "true");
    assert!(okay, "the retired CA's certificate: {out}");
}

/// A host gets its host certificate over the network with a one-time
/// token made on the router, and ssh (trusting the CA by an
/// `@cert-authority` line, no host key known) accepts the host; the
/// token is spent; the host renews by proof of possession.
#[test]
fn host_enrolment_against_openssh() {
    for (t, p) in [("ssh", "openssh-client"), ("ssh-keygen", "openssh-client")] {
        need_tool(t, p);
    }
    let s = Scratch::new("signer-enrol");
    let me = local_user();
    let signer_port = free_port();
    let cfg = config(&s, "main", "unattended", signer_port);
    ok(&cfg, &["keyfs", "init"], "");
    ok(&cfg, &["user", "add", "glenda"], "");
    ok(&cfg, &["user", "passwd", "glenda"], "correct horse\n");
    ok(&cfg, &["user", "attr", "glenda", "principals", &me], "");
    let ca = ok(&cfg, &["cert", "ca-pubkey"], "");
    let token = ok(
        &cfg,
        &[
            "cert",
            "enrol-token",
            "nas.lan",
            "--principal",
            "127.0.0.1",
            "--validity",
            "1m",
        ],
        "",
    );
    let token = token.trim().to_string();
    assert_eq!(token.len(), 32, "{token}");
    let _d = daemon(&cfg);
    wait_for("keyfs unlocked", || {
        let o = lan(&cfg, &["cert", "fetch-ca"], signer_port);
        o.status.success()
    });

    // The host enrols its key with the token, once.
    let hk = s.path("nas_host_ed25519");
    keygen(&hk);
    let hk_pub = format!("{}.pub", hk.display());
    let enrol = |tok: &str| {
        run_warden(
            &cfg,
            &[
                "cert",
                "enrol",
                "--signer",
                &format!("127.0.0.1:{signer_port}"),
                "--host",
                "nas.lan",
                "--key",
                &hk_pub,
            ],
            &format!("{tok}\n"),
        )
    };
    let o = enrol(&"0".repeat(32));
    assert!(
        !o.status.success() && text(&o).contains("no valid enrolment token"),
        "{}",
        text(&o)
    );
    let o = enrol(&token);
    assert!(o.status.success(), "cert enrol: {}", text(&o));
    let cert = s.path("nas_host_ed25519-cert.pub");
    let l = keygen_l(&cert);
    assert!(l.contains("host certificate"), "{l}");
    assert!(
        l.contains("Principals: \n                nas.lan\n                127.0.0.1\n"),
        "{l}"
    );
    let first = serial_of(&cert);
    std::fs::rename(&cert, s.path("first-cert.pub")).unwrap();
    let o = enrol(&token);
    assert!(
        !o.status.success() && text(&o).contains("no valid enrolment token"),
        "{}",
        text(&o)
    );
    std::fs::rename(s.path("first-cert.pub"), &cert).unwrap();

    // sshd presents it; ssh trusts the CA for hosts, knows no host key.
    let port = free_port();
    let conf = s.path("sshd_config");
    std::fs::create_dir_all("/run/sshd").ok();
    std::fs::write(s.path("ca.pub"), &ca).unwrap();
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nHostCertificate {cert}\nPidFile {pid}\n\
             UsePAM no\nStrictModes no\nAuthorizedKeysFile none\nTrustedUserCAKeys {ca}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
            hk = hk.display(),
            cert = cert.display(),
            pid = s.path("sshd.pid").display(),
            ca = s.path("ca.pub").display(),
        ),
    )
    .unwrap();
    let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd is missing: install openssh-server");
    let _sshd = Kill(
        Command::new(sshd_bin)
            .arg("-f")
            .arg(&conf)
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("sshd", || port_open(port));
    let ku = s.path("user");
    keygen(&ku);
    let o = request(&cfg, signer_port, &ku, "correct horse");
    assert!(o.status.success(), "{}", text(&o));
    let login = |known: &str| {
        std::fs::write(s.path("known_hosts"), known).unwrap();
        let o = Command::new("ssh")
            .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                s.path("known_hosts").display()
            ))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=20",
            ])
            .args(with_cert(&ku))
            .arg("-p")
            .arg(port.to_string())
            .arg(format!("{me}@127.0.0.1"))
            .arg("true")
            .stdin(Stdio::null())
            .output_within(common::CHILD_DEADLINE)
            .unwrap();
        (o.status.success(), text(&o))
    };
    let (okay, out) = login(&format!("@cert-authority * {ca}"));
    assert!(
        okay,
        "ssh did not accept the enrolled host certificate: {out}"
    );
    // Another CA: the host is not trusted.
    keygen(&s.path("other_ca"));
    let other = std::fs::read_to_string(s.path("other_ca.pub")).unwrap();
    let (okay, out) = login(&format!("@cert-authority * {other}"));
    assert!(
        !okay && out.contains("Host key verification failed"),
        "{out}"
    );

    // Renewal: a minute (backdated five) is due at once.
    let o = lan(&cfg, &["cert", "renew", "--key", &hk_pub], signer_port);
    assert!(o.status.success(), "host renew: {}", text(&o));
    assert_ne!(serial_of(&cert), first);
    let l = keygen_l(&cert);
    assert!(
        l.contains("host certificate") && l.contains("nas.lan"),
        "{l}"
    );
    let list = ok(&cfg, &["cert", "list"], "");
    assert!(list.contains("host nas.lan from 127.0.0.1"), "{list}");
}
