//! Certificates and KRLs from warden, read by OpenSSH's own ssh-keygen.

mod common;
use common::Deadline;
use std::path::{Path, PathBuf};
use std::process::Command;
use warden::auth::ssh::cert::{self, CertSpec, CertType};
use warden::auth::ssh::key::{Ed25519Key, PublicKey};
use warden::auth::ssh::krl::Krl;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ssh_keygen(args: &[&str]) -> (bool, String) {
    let out = Command::new("ssh-keygen")
        .args(args)
        .output_within(common::CHILD_DEADLINE)
        .expect("ssh-keygen is missing: install openssh-client (.ci/apt-packages)");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn user_key(dir: &Path, kind: &str, n: u32) -> (PublicKey, PathBuf) {
    let path = dir.join(format!("id_{kind}{n}"));
    let (ok, out) = ssh_keygen(&[
        "-q",
        "-t",
        kind,
        "-N",
        "",
        "-C",
        "glenda@lan",
        "-f",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let pub_path = dir.join(format!("id_{kind}{n}.pub"));
    let line = std::fs::read_to_string(&pub_path).unwrap();
    (PublicKey::parse_line(&line).unwrap().0, pub_path)
}

fn issue(dir: &Path, key: PublicKey, ca: &Ed25519Key, serial: u64) -> PathBuf {
    let spec = CertSpec {
        key,
        serial,
        kind: CertType::User,
        key_id: "glenda@lan".into(),
        principals: vec!["glenda".into(), "backup".into()],
        valid_after: 1_700_000_000,
        valid_before: 4_000_000_000,
        critical: vec![
            ("source-address".into(), "192.168.1.0/24,::1".into()),
            ("force-command".into(), "/usr/bin/backup --now".into()),
        ],
        extensions: vec!["permit-pty".into(), "permit-X11-forwarding".into()],
    };
    let blob = cert::sign(&spec, ca, &[3; 32]);
    let path = dir.join(format!("cert{serial}-cert.pub"));
    std::fs::write(&path, cert::to_line(&blob, "glenda@lan") + "\n").unwrap();
    path
}

#[test]
fn ssh_keygen_reads_warden_certificates() {
    let dir = tmpdir("cert");
    let ca = Ed25519Key::from_seed(&[42; 32]);
    for (kind, serial) in [("ed25519", 7), ("rsa", 8), ("ecdsa", 9)] {
        let path = issue(&dir, user_key(&dir, kind, 0).0, &ca, serial);
        let (ok, out) = ssh_keygen(&["-L", "-f", path.to_str().unwrap()]);
        assert!(ok, "{kind}: {out}");
        assert!(out.contains("user certificate"), "{out}");
        assert!(out.contains(&format!("Serial: {serial}")), "{out}");
        assert!(out.contains("Key ID: \"glenda@lan\""), "{out}");
        let ca_line = format!("Signing CA: ED25519 {}", ca.public().fingerprint());
        assert!(out.contains(&ca_line), "{out}");
        assert!(
            out.contains("glenda\n") && out.contains("backup\n"),
            "{out}"
        );
        // Options and extensions in the order PROTOCOL.certkeys wants
        // (ssh-keygen refuses others), values as sshd reads them.
        assert!(
            out.contains(
                "Critical Options: \n                force-command /usr/bin/backup --now\n                source-address 192.168.1.0/24,::1\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "Extensions: \n                permit-X11-forwarding\n                permit-pty\n"
            ),
            "{out}"
        );
    }
}

#[test]
fn ssh_keygen_honours_warden_krls() {
    let dir = tmpdir("krl");
    let ca = Ed25519Key::from_seed(&[42; 32]);
    let revoked = issue(&dir, user_key(&dir, "ed25519", 1).0, &ca, 100);
    let fine = issue(&dir, user_key(&dir, "ecdsa", 2).0, &ca, 101);
    let krl = Krl {
        version: 1,
        generated: 1_700_000_000,
        comment: "warden test".into(),
        serials: vec![(ca.public(), vec![100])],
        keys: vec![],
    };
    let krl_path = dir.join("revoked.krl");
    std::fs::write(&krl_path, krl.encode()).unwrap();
    let q = |p: &Path| ssh_keygen(&["-Q", "-f", krl_path.to_str().unwrap(), p.to_str().unwrap()]);
    let (ok, out) = q(&revoked);
    assert!(
        !ok && out.contains("REVOKED"),
        "revoked certificate passed: {out}"
    );
    let (ok, out) = q(&fine);
    assert!(ok, "{out}");
    // An explicitly revoked plain key.
    let (key, pub_path) = user_key(&dir, "ed25519", 3);
    let krl = Krl {
        keys: vec![key],
        ..Krl::default()
    };
    std::fs::write(&krl_path, krl.encode()).unwrap();
    let (ok, out) = q(&pub_path);
    assert!(!ok && out.contains("REVOKED"), "{out}");
}

/// `cert renew` signs with a key file ssh-keygen wrote: unencrypted ones
/// are read (the public half matches the .pub), encrypted ones refused
/// with a pointer to the agent, and the signature verifies.
#[test]
fn warden_reads_ssh_keygen_private_keys() {
    let dir = tmpdir("private");
    let (pk, pub_path) = user_key(&dir, "ed25519", 0);
    let private = pub_path.with_extension("");
    let k = Ed25519Key::from_openssh(&std::fs::read_to_string(&private).unwrap()).unwrap();
    assert_eq!(k.public(), pk);
    let sig = k.sign(b"challenge");
    assert!(warden::auth::ssh::key::verify(&pk, b"challenge", &sig));
    let (ok, out) = ssh_keygen(&[
        "-q",
        "-p",
        "-N",
        "secret pw",
        "-P",
        "",
        "-f",
        private.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let e = Ed25519Key::from_openssh(&std::fs::read_to_string(&private).unwrap()).unwrap_err();
    assert!(e.to_string().contains("encrypted (ssh-add it"), "{e}");
    let (_, rsa) = user_key(&dir, "rsa", 1);
    let e = Ed25519Key::from_openssh(&std::fs::read_to_string(rsa.with_extension("")).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("not Ed25519"), "{e}");
    assert!(Ed25519Key::from_openssh("junk").is_err());
}
