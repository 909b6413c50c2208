//! keyfs served by the daemon: the 9P tree through py9p and through
//! warden's own client, `warden unlock`/`lock` against a running daemon,
//! `warden user` through the daemon without a passphrase, locked answers,
//! the peer policy, and no flash writes for failures that change nothing.

mod common;
use common::Deadline;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use warden::ninep::client::Error as ClientError;
use warden::ninep::files::Files as Client;

struct Daemon {
    child: Child,
    socket: PathBuf,
    cfg: PathBuf,
    _s: Scratch,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn config(s: &Scratch, extra: &str) -> PathBuf {
    let cfg = s.path("warden.toml");
    std::fs::write(
        &cfg,
        format!(
            "[main]\nrun_dir = \"{}\"\n[uplink]\nenabled = false\n[keyfs]\nfile = \"{}\"\nkdf_iterations = 1000\n{extra}",
            s.path("run").display(),
            s.path("keys").display()
        ),
    )
    .unwrap();
    cfg
}

fn connect(socket: &Path) -> Client {
    Client::dial(socket, "glenda").unwrap()
}

/// Start a daemon over a fresh key file (created with passphrase "pw").
fn start(tag: &str, extra: &str) -> Daemon {
    let s = Scratch::new(tag);
    let cfg = config(&s, extra);
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let child = Command::new(warden())
        .arg("-c")
        .arg(&cfg)
        .args(["daemon", "--foreground"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = s.path("run").join("keyfs");
    let end = Instant::now() + Duration::from_secs(60);
    while Client::dial(&socket, "glenda").is_err() {
        assert!(
            Instant::now() < end,
            "the daemon's keyfs socket never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Daemon {
        child,
        socket,
        cfg,
        _s: s,
    }
}

fn server_err<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Remote(m)) => m,
        other => panic!("expected an Rerror, got {other:?}"),
    }
}

/// (inode, size, mtime ns): any write of the key file changes it.
fn identity(p: &Path) -> (u64, u64, i64) {
    let m = std::fs::metadata(p).unwrap();
    (
        m.ino(),
        m.size(),
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
    )
}

fn python(script: &str, socket: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py9p")
        .join(script);
    let out = Command::new("python3")
        .arg(&script)
        .arg(socket)
        .output_within(common::CHILD_DEADLINE)
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/setup installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'py9pfactotum'") {
        panic!("py9pfactotum from PyPI is needed (.ci/pip-packages): {stderr}");
    }
    assert!(
        out.status.success(),
        "{} failed: {stderr}",
        script.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn attended_unlock_tree_and_lock() {
    let d = start("keyfsd-attended", "");
    let mut c = connect(&d.socket);
    // Locked: ctl says so, users are out of reach at once.
    assert_eq!(c.read_text("ctl").unwrap(), "locked");
    assert!(server_err(c.mkdir("", "ken")).contains("keyfs is locked"));
    assert!(server_err(c.read("glenda/status")).contains("keyfs is locked"));
    assert_eq!(c.list("").unwrap().len(), 1, "only ctl while locked");
    assert!(server_err(c.write("ctl", b"unlock wrong")).contains("wrong passphrase"));
    assert!(server_err(c.write("ctl", b"open sesame")).contains("unknown ctl request"));

    // warden unlock with the passphrase piped on stdin.
    let out = ok(&d.cfg, &["unlock"], "pw\n");
    assert!(out.contains("keyfs unlocked"), "{out}");
    assert_eq!(c.read_text("ctl").unwrap(), "unlocked");
    assert!(ok(&d.cfg, &["unlock"], "").contains("already unlocked"));
    assert!(server_err(c.write("ctl", b"unlock pw")).contains("already unlocked"));

    // warden user with the daemon unlocked: no passphrase (empty stdin).
    ok(&d.cfg, &["user", "add", "glenda"], "");
    ok(&d.cfg, &["user", "passwd", "glenda"], "secret pw\n");
    // the raw DES key, as Plan 9's keyfs `key` file holds it, through the
    // daemon's keyfs tree; never read back
    let des = warden::auth::authsrv::des::passtokey(b"other pw");
    let mut raw = String::from_utf8(des.to_vec()).unwrap_or_default();
    if raw.len() != 7 {
        raw = des.iter().map(|b| format!("{b:02x}")).collect();
    }
    let out = ok(&d.cfg, &["user", "passwd", "--deskey", "glenda"], &raw);
    assert!(out.contains("key of glenda set"), "{out}");
    assert!(server_err(c.read("glenda/key")).contains("permission denied"));
    {
        use warden::auth::keyfs::{RealFs, Store};
        let (st, _) = Store::open(RealFs, &d._s.path("keys"), b"pw").unwrap();
        let sec = st.secrets("glenda", 0).unwrap();
        assert_eq!(*sec.des_key, des, "written through to the key file");
        let aes = warden::auth::keyfs::account::passtoaeskey(b"secret pw");
        assert_eq!(*sec.aes_key, aes, "the AES key is left as it was");
    }
    ok(
        &d.cfg,
        &["user", "add", "bob", "--expire", "2100-01-01"],
        "",
    );
    ok(&d.cfg, &["user", "disable", "bob"], "");
    let list = ok(&d.cfg, &["user", "list"], "");
    assert!(
        list.contains("glenda\tok\tnever") && list.contains("bob\tdisabled\t2100-01-01"),
        "{list}"
    );
    let json = ok(&d.cfg, &["user", "list", "--json"], "");
    assert!(
        json.contains(
            r#"{"name":"bob","status":"disabled","expire":"2100-01-01T00:00:00Z","failures":0}"#
        ) && json.contains(r#"{"name":"glenda","status":"ok","expire":"never","failures":0}"#),
        "{json}"
    );
    ok(&d.cfg, &["user", "enable", "bob"], "");
    ok(&d.cfg, &["user", "expire", "bob", "never"], "");
    ok(&d.cfg, &["user", "del", "bob"], "");
    let o = run_warden(&d.cfg, &["user", "del", "bob"], "");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user 'bob'"));

    // The tree through py9p (a real 9P client).
    assert_eq!(python("keyfs.py", &d.socket).trim(), "py9p keyfs ok");

    // Through warden's client: rename, text formats, bad input.
    c.mkdir("", "ken").unwrap();
    assert!(server_err(c.mkdir("", "a/b")).contains("bad file name"));
    assert!(server_err(c.mkdir("", &"x".repeat(29))).contains("at most 28"));
    c.rename("ken", "rob").unwrap();
    assert!(server_err(c.read("ken/status")).contains("not found"));
    assert!(server_err(c.rename("rob", "glenda")).contains("exists"));
    c.write("rob/expire", b"12345\n").unwrap();
    assert_eq!(c.read_text("rob/expire").unwrap(), "12345");
    assert!(server_err(c.write("rob/status", b"maybe")).contains("bad status"));
    assert!(server_err(c.read("rob/secret")).contains("permission denied"));
    assert!(server_err(c.write("rob/log", b"ugly")).contains("bad log entry"));
    // expire 0 is never (Plan 9 and Inferno); the root's own names and
    // invisible names are refused for new and renamed accounts
    c.write("rob/expire", b"0").unwrap();
    assert_eq!(c.read_text("rob/expire").unwrap(), "never");
    for bad in ["ctl", "r\u{200b}ob"] {
        let o = run_warden(&d.cfg, &["user", "add", bad], "");
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(
            server_err(c.mkdir("", bad)).contains("user name"),
            "{bad:?}"
        );
        assert!(
            server_err(c.rename("rob", bad)).contains("user name"),
            "{bad:?}"
        );
    }
    assert_eq!(c.list("").unwrap().len(), 3, "ctl, glenda, rob");
    ok(&d.cfg, &["user", "rename", "rob", "ken"], "");
    assert_eq!(c.read_text("ken/expire").unwrap(), "never");
    ok(&d.cfg, &["user", "rename", "ken", "rob"], "");
    c.remove("rob").unwrap();
    assert!(server_err(c.remove("ctl")).contains("remove prohibited"));

    // Failures: in memory until they change the account's state.
    let keys = d.cfg.parent().unwrap().join("keys");
    let before = identity(&keys);
    for _ in 0..20 {
        c.write("glenda/log", b"bad").unwrap();
    }
    assert_eq!(identity(&keys), before, "20 failures wrote the key file");
    let log = c.read_text("glenda/log").unwrap();
    assert!(log.starts_with("20 purgatory "), "{log}");
    let show = ok(&d.cfg, &["user", "show", "glenda"], "");
    assert!(
        show.contains("failures: 20 consecutive") && show.contains("locked: "),
        "{show}"
    );
    for _ in 20..49 {
        c.write("glenda/log", b"bad").unwrap();
    }
    assert_eq!(identity(&keys), before, "49 failures wrote the key file");
    assert_eq!(c.read_text("glenda/status").unwrap(), "ok");
    c.write("glenda/log", b"bad").unwrap();
    assert_ne!(identity(&keys), before, "the 50th failure must persist");
    assert_eq!(c.read_text("glenda/status").unwrap(), "disabled");
    c.write("glenda/status", b"ok").unwrap();
    assert_eq!(c.read_text("glenda/log").unwrap(), "0");

    // warden lock: the daemon forgets; users are out of reach at once.
    assert!(ok(&d.cfg, &["lock"], "").contains("keyfs locked"));
    assert!(ok(&d.cfg, &["lock"], "").contains("keyfs is already locked"));
    assert_eq!(c.read_text("ctl").unwrap(), "locked");
    assert!(server_err(c.read("glenda/status")).contains("keyfs is locked"));
    // With the daemon locked, warden user works on the file (passphrase).
    let list = ok(&d.cfg, &["user", "list"], "pw\n");
    assert!(list.contains("glenda\tok"), "{list}");
    ok(&d.cfg, &["user", "add", "late"], "pw\n");
    // ...and the next unlock sees that change.
    ok(&d.cfg, &["unlock"], "pw\n");
    assert_eq!(c.read_text("late/status").unwrap(), "ok");
}

#[test]
fn unattended_daemon_unlocks_itself() {
    let s = Scratch::new("keyfsd-unattended-keyfile");
    let keyfile = s.path("keys.key");
    let extra = format!(
        "mode = \"unattended\"\nkeyfile = \"{}\"\n",
        keyfile.display()
    );
    // `keyfs init` in unattended mode creates the key file; start() feeds
    // "pw" on stdin, which unattended mode does not read.
    let d = start("keyfsd-unattended", &extra);
    let mut c = connect(&d.socket);
    assert_eq!(c.read_text("ctl").unwrap(), "unlocked");
    ok(&d.cfg, &["user", "add", "glenda"], "");
    // A factotum key kept in keyfs, through the daemon (stdin: no secret
    // on the command line).
    let out = ok(
        &d.cfg,
        &["keyfs", "save-key"],
        "proto=pass server=mail user=glenda !password=s3cret\n",
    );
    assert!(out.contains("saved in the daemon's keyfs"), "{out}");
    // `key add --save`, as save-key's help says: the secret from stdin
    let out = ok(
        &d.cfg,
        &[
            "key",
            "add",
            "--save",
            "proto=pass",
            "server=web",
            "user=glenda",
            "!password?",
        ],
        "s3cret2\n",
    );
    assert!(out.contains("saved in the daemon's keyfs"), "{out}");
    let keys = ok(&d.cfg, &["key", "list"], "");
    assert!(
        keys.contains("server=web") && !keys.contains("s3cret2"),
        "{keys}"
    );
    let o = run_warden(
        &d.cfg,
        &["keyfs", "save-key", "proto=nope", "!password=s3cret"],
        "",
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("unknown proto nope") && !e.contains("s3cret"),
        "{e}"
    );
    ok(&d.cfg, &["lock"], "");
    assert_eq!(c.read_text("ctl").unwrap(), "locked");
    // locked: the factotum forgets the record's keys
    assert!(!ok(&d.cfg, &["key", "list"], "").contains("server=web"));
    let check = ok(&d.cfg, &["keyfs", "check"], "");
    assert!(check.contains("factotum keys: 2"), "{check}");
    // Unattended unlock needs no passphrase: the daemon reads its key file.
    ok(&d.cfg, &["unlock"], "");
    assert_eq!(c.read_text("glenda/status").unwrap(), "ok");
    // ...and holds them again once unlocked
    let keys = ok(&d.cfg, &["key", "list"], "");
    assert!(
        keys.contains("server=web") && keys.contains("server=mail"),
        "{keys}"
    );
}

#[test]
fn no_daemon_falls_back_to_the_file() {
    let s = Scratch::new("keyfsd-none");
    let cfg = config(&s, "");
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let out = ok(&cfg, &["unlock"], "pw\n");
    assert!(out.contains("no warden daemon listens"), "{out}");
    let out = ok(&cfg, &["lock"], "");
    assert!(out.contains("no warden daemon listens"), "{out}");
    ok(&cfg, &["user", "add", "glenda"], "pw\n");
}

#[test]
fn only_the_owner_and_root_are_served() {
    let d = start("keyfsd-peers", "");
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    assert_eq!(common::tversion_as_uid(me, &d.socket), "served");
    if me != 0 {
        // Another uid needs root; the policy's unit test covers the rule.
        return;
    }
    // Open the socket and its directory to everyone, so that only the
    // SO_PEERCRED check stands between uid 4242 and the tree.
    use std::os::unix::fs::PermissionsExt;
    let dir = d.socket.parent().unwrap();
    for p in [dir.parent().unwrap(), dir] {
        let mut perm = std::fs::metadata(p).unwrap().permissions();
        perm.set_mode(perm.mode() | 0o011);
        std::fs::set_permissions(p, perm).unwrap();
    }
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = common::tversion_as_uid(4242, &d.socket);
    assert!(r.starts_with("refused"), "uid 4242: {r}");
    assert_eq!(common::tversion_as_uid(0, &d.socket), "served");
}
