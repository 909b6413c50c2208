//! SIGHUP against a running daemon (what `uci commit warden` does): a
//! newly enabled agent starts on the same, still unlocked keyfs; it moves
//! to a new socket keeping the keys it holds only in memory; a bad file
//! is refused naming file and line, the old configuration staying; an
//! option that takes a restart is named; a disabled agent stops and its
//! socket goes; keyfs stays unlocked throughout. The signer starts and
//! restarts on a new address, the factotum keeps its keys when disabled and
//! enabled again, the (simulated) uplink starts, restarts on a changed
//! option and stops.

mod common;
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The keyfs passphrase (never in the log).
const PASS: &str = "open-sesame-reload\n";

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(30);

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + STEP;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn hup(&self) {
        // SAFETY: signalling our own child by its pid.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) },
            0
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log holds `what` at least `n` times.
    fn wait_log(&self, what: &str, n: usize) {
        wait_for(&format!("{n} × {what:?} in the log"), || {
            self.log().matches(what).count() >= n
        });
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + STEP;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Write the configuration the way an editor should: whole, then renamed
/// over the old one, so the daemon never reads half a file.
fn write_config(s: &Scratch, iterations: u32, extra: &str) -> PathBuf {
    write_config_uplink(s, iterations, "enabled = false\n", extra)
}

/// [`write_config`] with `uplink` as the uplink section's options.
fn write_config_uplink(s: &Scratch, iterations: u32, uplink: &str, extra: &str) -> PathBuf {
    let cfg = s.path("warden.toml");
    let tmp = s.path("warden.toml.new");
    std::fs::write(
        &tmp,
        format!(
            "[main]\nrun_dir = \"{}\"\n[uplink]\n{uplink}[keyfs]\nfile = \"{}\"\nkdf_iterations = {iterations}\n{extra}",
            s.path("run").display(),
            s.path("keys").display(),
        ),
    )
    .unwrap();
    std::fs::rename(&tmp, &cfg).unwrap();
    cfg
}

fn agent(sock: &Path) -> String {
    format!(
        "[signer]\nagent = true\nagent_socket = \"{}\"\n",
        sock.display()
    )
}

/// Run a command to completion within [`STEP`] (killed past it).
fn run_for(cmd: &mut Command, stdin: &str) -> Output {
    let mut c = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = c.stdin.take().unwrap().write_all(stdin.as_bytes());
    let end = Instant::now() + STEP;
    while matches!(c.try_wait(), Ok(None)) {
        if Instant::now() >= end {
            let _ = c.kill();
            let _ = c.wait();
            panic!("{cmd:?} did not finish within {STEP:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    c.wait_with_output().unwrap()
}

fn warden_ok(cfg: &Path, args: &[&str], stdin: &str) -> String {
    let o = run_for(Command::new(warden()).arg("-c").arg(cfg).args(args), stdin);
    assert!(
        o.status.success(),
        "warden {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ssh_add(sock: &Path, args: &[&str]) -> (bool, String) {
    let o = run_for(
        Command::new("ssh-add")
            .args(args)
            .env("SSH_AUTH_SOCK", sock),
        "",
    );
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), s)
}

/// The number of keys the agent at `sock` lists, asked in its own
/// protocol (SSH_AGENTC_REQUEST_IDENTITIES); None when nobody answers.
fn identities(sock: &Path) -> Option<u32> {
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(&[0, 0, 0, 1, 11]).ok()?;
    let mut head = [0u8; 9];
    s.read_exact(&mut head).ok()?;
    assert_eq!(head[4], 12, "SSH_AGENT_IDENTITIES_ANSWER");
    Some(u32::from_be_bytes([head[5], head[6], head[7], head[8]]))
}

/// keyfs is unlocked: `warden unlock` (through the daemon's tree, within
/// [`STEP`]) says so without asking for the passphrase.
fn keyfs_unlocked(cfg: &Path) -> bool {
    warden_ok(cfg, &["unlock"], "").contains("already unlocked")
}

fn keygen(path: &Path) {
    let o = run_for(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "reload", "-f"])
            .arg(path),
        "",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn sighup_starts_moves_and_stops_the_agent_keeping_keyfs_unlocked() {
    need_tool("ssh-add", "openssh-client");
    let s = Scratch::new("reload-agent");
    let run = s.path("run");
    let cfg = write_config(&s, 1000, "");
    warden_ok(&cfg, &["keyfs", "init"], PASS);
    let log = s.path("daemon.log");
    let child = Command::new(warden())
        .arg("-c")
        .arg(&cfg)
        .args(["daemon", "--foreground"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon { child, log };
    wait_for("the keyfs socket", || {
        UnixStream::connect(run.join("keyfs")).is_ok()
    });
    assert!(warden_ok(&cfg, &["unlock"], PASS).contains("keyfs unlocked"));
    assert!(keyfs_unlocked(&cfg));
    let sock = s.path("agent/sock");
    assert!(!sock.exists(), "the agent is off");

    // Enabled: it starts, on the unlocked keyfs (a key without a lifetime
    // is saved there, which fails while keyfs is locked).
    write_config(&s, 1000, &agent(&sock));
    d.hup();
    wait_for("the agent to answer", || identities(&sock) == Some(0));
    d.wait_log("configuration reloaded: started agent", 1);
    assert!(keyfs_unlocked(&cfg), "the reload kept keyfs unlocked");
    keygen(&s.path("saved"));
    keygen(&s.path("memory"));
    let (ok, out) = ssh_add(&sock, &[s.path("saved").to_str().unwrap()]);
    assert!(ok, "ssh-add (saved in keyfs): {out}");
    let (ok, out) = ssh_add(&sock, &["-t", "600", s.path("memory").to_str().unwrap()]);
    assert!(ok, "ssh-add -t (memory only): {out}");
    let (ok, out) = ssh_add(&sock, &["-l"]);
    assert!(ok && out.lines().count() == 2, "ssh-add -l: {out}");

    // A new socket: moved in place, the memory-only key still held.
    let sock2 = s.path("agent2/sock");
    write_config(&s, 1000, &agent(&sock2));
    d.hup();
    wait_for("the agent on its new socket", || {
        identities(&sock2) == Some(2)
    });
    assert!(!sock.exists(), "the old socket is gone");
    d.wait_log("agent: moved to", 1);

    // A bad file: refused with file and line, the old one stays.
    let bad = write_config(
        &s,
        1000,
        &format!("{}agent_confirm = \"maybe\"\n", agent(&sock2)),
    );
    d.hup();
    d.wait_log("reload refused, keeping the old configuration", 1);
    let line = d
        .log()
        .lines()
        .find(|l| l.contains("reload refused"))
        .unwrap()
        .to_string();
    assert!(
        line.contains(&format!("{}:", bad.display())) && line.contains("agent_confirm"),
        "{line}"
    );
    assert_eq!(identities(&sock2), Some(2));

    // An option only a restart applies is named; the rest still applies.
    write_config(&s, 2000, &agent(&sock2));
    d.hup();
    d.wait_log("keyfs: kdf_iterations changed: takes a restart", 1);
    assert_eq!(identities(&sock2), Some(2));

    // Disabled: stopped, its socket gone; keyfs still unlocked.
    write_config(&s, 1000, "");
    d.hup();
    wait_for("the agent socket to go", || !sock2.exists());
    assert_eq!(identities(&sock2), None);
    d.wait_log("configuration reloaded: stopped agent", 1);
    assert!(keyfs_unlocked(&cfg));

    // Enabled again: the saved key is back from keyfs, the memory-only one
    // went with the stopped agent.
    write_config(&s, 1000, &agent(&sock));
    d.hup();
    wait_for("the agent again", || identities(&sock) == Some(1));
    let (ok, out) = ssh_add(&sock, &["-L"]);
    let saved = std::fs::read_to_string(s.path("saved.pub")).unwrap();
    let saved_blob = saved.split_whitespace().nth(1).unwrap();
    assert!(ok && out.contains(saved_blob), "{out}");
    assert!(d.alive(), "the daemon is still running");
    let log = d.log();
    assert!(
        !log.contains(PASS.trim()) && !log.contains("panicked"),
        "{log}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listening(port: u16) -> bool {
    let a = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok()
}

/// The signer starts when enabled and restarts on a new address; the
/// factotum, disabled and enabled again, still holds the key added before.
#[test]
fn sighup_starts_and_moves_the_signer_and_the_factotum_keeps_its_keys() {
    let s = Scratch::new("reload-signer");
    let run = s.path("run");
    let cfg = write_config(&s, 1000, "");
    warden_ok(&cfg, &["keyfs", "init"], PASS);
    let log = s.path("daemon.log");
    let child = Command::new(warden())
        .arg("-c")
        .arg(&cfg)
        .args(["daemon", "--foreground"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon { child, log };
    wait_for("the factotum socket", || {
        UnixStream::connect(run.join("factotum")).is_ok()
    });
    warden_ok(&cfg, &["unlock"], PASS);
    warden_ok(
        &cfg,
        &[
            "key",
            "add",
            "proto=pass",
            "server=mail",
            "user=glenda",
            "!password?",
        ],
        "hunter2\n",
    );

    let (p1, p2) = (free_port(), free_port());
    let signer = |port: u16| format!("[signer]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\n");
    write_config(&s, 1000, &signer(p1));
    d.hup();
    wait_for("the signer", || listening(p1));
    d.wait_log("configuration reloaded: started signer", 1);

    write_config(&s, 1000, &signer(p2));
    d.hup();
    wait_for("the signer on its new address", || listening(p2));
    d.wait_log("signer: listen changed: restarting the signer", 1);
    d.wait_log("configuration reloaded: restarted signer", 1);
    wait_for("the old address to close", || !listening(p1));

    // The factotum off and on again: the same state, the key still there.
    write_config(
        &s,
        1000,
        &format!("{}[factotum]\nenabled = false\n", signer(p2)),
    );
    d.hup();
    wait_for("the factotum socket to go", || {
        !run.join("factotum").exists()
    });
    write_config(&s, 1000, &signer(p2));
    d.hup();
    wait_for("the factotum again", || {
        UnixStream::connect(run.join("factotum")).is_ok()
    });
    let keys = warden_ok(&cfg, &["key", "list"], "");
    assert!(keys.contains("server=mail"), "{keys}");
    assert!(keyfs_unlocked(&cfg));
    assert!(listening(p2));
    assert!(d.alive(), "the daemon is still running");
    let log = d.log();
    assert!(
        !log.contains("hunter2") && !log.contains(PASS.trim()),
        "{log}"
    );
}

/// The uplink (on the simulated modem) starts when enabled, restarts when
/// one of its options changes, and stops when disabled.
#[test]
fn sighup_starts_restarts_and_stops_the_uplink() {
    let s = Scratch::new("reload-uplink");
    let run = s.path("run");
    let status = run.join("status.sock");
    let cfg = write_config(&s, 1000, "");
    warden_ok(&cfg, &["keyfs", "init"], PASS);
    let log = s.path("daemon.log");
    let child = Command::new(warden())
        .arg("-c")
        .arg(&cfg)
        .args(["daemon", "--foreground"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon { child, log };
    wait_for("the keyfs socket", || {
        UnixStream::connect(run.join("keyfs")).is_ok()
    });
    warden_ok(&cfg, &["unlock"], PASS);
    let answers =
        || warden::uplink::status_socket::ask(&status, true, Duration::from_secs(5)).is_ok();
    assert!(!answers(), "the uplink is off");

    let sim = |interval: &str| {
        format!("enabled = false\nsimulate = true\napn = \"internet\"\nprobe_interval = \"{interval}\"\n")
    };
    write_config_uplink(&s, 1000, &sim("60s"), "");
    d.hup();
    wait_for("the uplink's status", answers);
    d.wait_log("configuration reloaded: started uplink", 1);

    write_config_uplink(&s, 1000, &sim("30s"), "");
    d.hup();
    d.wait_log(
        "uplink: probe_interval changed: restarting the uplink (the link is redialed)",
        1,
    );
    d.wait_log("configuration reloaded: restarted uplink", 1);
    wait_for("the restarted uplink's status", answers);
    assert!(keyfs_unlocked(&cfg));

    write_config(&s, 1000, "");
    d.hup();
    d.wait_log("configuration reloaded: stopped uplink", 1);
    wait_for("the status socket to go", || !status.exists());
    assert!(keyfs_unlocked(&cfg));
    assert!(d.alive(), "the daemon is still running");
    assert!(!d.log().contains("did not stop"), "{}", d.log());
}
