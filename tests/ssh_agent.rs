//! warden's agent protocol against OpenSSH's ssh-add and ssh-keygen -Y.

mod common;
use common::Deadline;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use warden::auth::ssh::agent::{Agent, Framer};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warden-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Serve the agent on a socket, a thread per connection (test harness only).
fn serve(sock: PathBuf) -> Arc<Mutex<Agent>> {
    let agent = Arc::new(Mutex::new(Agent::new()));
    let listener = UnixListener::bind(&sock).unwrap();
    let a = agent.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let a = a.clone();
            std::thread::spawn(move || {
                let mut f = Framer::default();
                let mut buf = [0u8; 4096];
                loop {
                    let n = match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    f.push(&buf[..n]);
                    while let Ok(Some(body)) = f.next_frame() {
                        let reply = a.lock().unwrap().handle(&body, 0, &mut |_, _| true);
                        if conn.write_all(&reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    agent
}

fn run(cmd: &str, args: &[&str], sock: &PathBuf) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .env("SSH_AUTH_SOCK", sock)
        .output_within(common::CHILD_DEADLINE)
        .unwrap_or_else(|e| panic!("{cmd}: {e} (install openssh-client)"));
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

#[test]
fn ssh_add_lists_adds_signs_and_removes() {
    let dir = tmpdir("agent");
    let sock = dir.join("agent.sock");
    let _agent = serve(sock.clone());
    let key = dir.join("id_ed25519");
    let (ok, out) = run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "held",
            "-f",
            key.to_str().unwrap(),
        ],
        &sock,
    );
    assert!(ok, "{out}");
    let (ok, out) = run("ssh-add", &["-l"], &sock);
    assert!(!ok && out.contains("no identities"), "{out}");
    let (ok, out) = run("ssh-add", &[key.to_str().unwrap()], &sock);
    assert!(ok, "{out}");
    let (ok, out) = run("ssh-add", &["-L"], &sock);
    assert!(ok, "{out}");
    let pubkey = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    assert_eq!(
        out.split_whitespace().take(2).collect::<Vec<_>>(),
        pubkey.split_whitespace().take(2).collect::<Vec<_>>()
    );
    // A signature made through the agent (the private key file is gone),
    // verified by ssh-keygen.
    std::fs::remove_file(&key).unwrap();
    let msg = dir.join("msg");
    std::fs::write(&msg, b"hello").unwrap();
    let (ok, out) = run(
        "ssh-keygen",
        &[
            "-Y",
            "sign",
            "-n",
            "file",
            "-f",
            key.with_extension("pub").to_str().unwrap(),
            msg.to_str().unwrap(),
        ],
        &sock,
    );
    assert!(ok, "{out}");
    let signers = dir.join("allowed");
    std::fs::write(&signers, format!("held {pubkey}")).unwrap();
    let verify = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            signers.to_str().unwrap(),
            "-I",
            "held",
            "-n",
            "file",
            "-s",
        ])
        .arg(dir.join("msg.sig"))
        .stdin(std::fs::File::open(&msg).unwrap())
        .run_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // Remove all.
    let (ok, out) = run("ssh-add", &["-D"], &sock);
    assert!(ok, "{out}");
    let (ok, out) = run("ssh-add", &["-l"], &sock);
    assert!(!ok && out.contains("no identities"), "{out}");
}
