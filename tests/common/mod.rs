//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod drawterm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small deterministic PRNG (xorshift64*), seeded from the clock unless
/// WARDEN_TEST_SEED is set; the seed is printed so failures can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(tag: &str) -> Rng {
        let seed = std::env::var("WARDEN_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("{tag}: WARDEN_TEST_SEED={seed}");
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Fail (not skip) when a peer tool is missing.
pub fn need_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: install the Debian package {package} (listed in .ci/apt-packages)"
    );
}

pub fn warden() -> &'static str {
    env!("CARGO_BIN_EXE_warden")
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A scratch directory, removed at drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("warden-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run warden with a config, feeding `stdin`.
pub fn run_warden(config: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new(warden())
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // warden may exit before reading (e.g. a usage error): ignore EPIPE.
    let _ = c.stdin.take().unwrap().write_all(stdin.as_bytes());
    wait_within(c, CHILD_DEADLINE, &format!("warden {args:?}")).unwrap()
}

/// Run warden and insist on success; returns stdout.
pub fn ok(config: &Path, args: &[&str], stdin: &str) -> String {
    let o = run_warden(config, args, stdin);
    assert!(
        o.status.success(),
        "warden {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A child process running as `uid` (and gid `uid`) connects to the 9P
/// socket and sends Tversion: "served" when it gets an answer, "refused..."
/// when the server closes the connection (SO_PEERCRED said no), "cannot
/// connect: ..." when the socket is out of its reach.
pub fn tversion_as_uid(uid: u32, socket: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let script = r#"
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("cannot connect:", e)
    sys.exit(0)
try:
    v = b"9P2000"
    body = struct.pack("<BHIH", 100, 0xFFFF, 8192, len(v)) + v
    s.sendall(struct.pack("<I", 4 + len(body)) + body)
    print("served" if len(s.recv(64)) > 0 else "refused")
except OSError as e:
    # the listener closed the connection: SO_PEERCRED said no
    print("refused:", e)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(socket)
        .uid(uid)
        .gid(uid)
        .output()
        .expect("python3 is needed for this test");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A child process killed and reaped when dropped, so a failing test
/// leaves nothing running.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `warden -c CONFIG daemon -f` (its log in CONFIG with the
/// extension `log`) and wait until `socket` accepts connections.
pub fn start_daemon(config: &Path, socket: &Path) -> Kill {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let d = Kill(
        Command::new(warden())
            .arg("-c")
            .arg(config)
            .args(["daemon", "-f"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(config.with_extension("log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            Instant::now() < deadline,
            "the daemon did not serve {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    d
}

/// How long any child of a test may run: far above any test's need, so a
/// hang fails with what the child printed instead of blocking the suite.
pub const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// `output()` and `wait_with_output()` with a deadline: a child still
/// running at the deadline is killed and the test panics, naming it and
/// showing its output so far.
pub trait Deadline {
    /// `output()` (stdin from /dev/null) within `d`.
    fn output_within(&mut self, d: std::time::Duration) -> std::io::Result<Output>;
    /// The same with the stdin the caller set.
    fn run_within(&mut self, d: std::time::Duration) -> std::io::Result<Output>;
}

impl Deadline for Command {
    fn output_within(&mut self, d: std::time::Duration) -> std::io::Result<Output> {
        self.stdin(std::process::Stdio::null()).run_within(d)
    }

    fn run_within(&mut self, d: std::time::Duration) -> std::io::Result<Output> {
        let what = format!("{self:?}");
        let child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        wait_within(child, d, &what)
    }
}

/// Wait for `child` (its stdout and stderr piped, or not) for at most `d`.
pub fn wait_within(
    mut child: std::process::Child,
    d: std::time::Duration,
    what: &str,
) -> std::io::Result<Output> {
    use std::io::Read;
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = std::time::Instant::now() + d;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = out.join().unwrap_or_default();
            let err = err.join().unwrap_or_default();
            panic!(
                "{what} still ran after {d:?}: killed\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `wait()` with a deadline: a child still running then is killed and the
/// test panics.
pub fn status_within(
    child: &mut std::process::Child,
    d: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + d;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {d:?}: killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
