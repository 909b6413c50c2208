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
