//! The factotum end to end: `warden factotum` on a Unix socket, driven by
//! independent clients (py9p and py9pfactotum from PyPI), by warden's own
//! `key`/`rpc` commands, and by raw 9P for the bad cases; the plan9port
//! transcript (tests/plan9port) replayed through the socket.

mod common;
use common::Deadline;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use warden::ninep::client::{Conn, Error};
use warden::ninep::fcall::*;

static N: AtomicU32 = AtomicU32::new(0);

struct Fact {
    dir: PathBuf,
    ns: PathBuf,
    sock: PathBuf,
    config: PathBuf,
    child: Child,
}

fn start() -> Fact {
    start_with("")
}

/// `warden factotum` with these options added to its section.
fn start_with(options: &str) -> Fact {
    let dir = std::env::temp_dir().join(format!(
        "warden-factotum-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let config = dir.join("warden.uci");
    std::fs::write(
        &config,
        format!("config factotum\n option enabled 1\n{options}"),
    )
    .unwrap();
    let ns = dir.join("ns");
    let sock = ns.join("factotum");
    // the default socket: $NAMESPACE/factotum
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["-c"])
        .arg(&config)
        .arg("factotum")
        .env("NAMESPACE", &ns)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < deadline, "warden factotum did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Fact {
        dir,
        ns,
        sock,
        config,
        child,
    }
}

impl Drop for Fact {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fact {
    /// `warden CMD... --socket SOCK ARGS...` (`key add` is two words).
    fn warden(&self, args: &[&str], stdin: &str) -> Output {
        let words = if args.first() == Some(&"key") { 2 } else { 1 };
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("-c")
            .arg(&self.config)
            .args(&args[..words])
            .arg("--socket")
            .arg(&self.sock)
            .args(&args[words..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        common::wait_within(c, common::CHILD_DEADLINE, "c").unwrap()
    }

    fn conn(&self) -> Conn {
        Conn::dial(&self.sock, "glenda").unwrap()
    }

    fn ctl(&self, line: &str) -> Result<u32, Error> {
        let mut c = self.conn();
        let fid = c.open("ctl", OWRITE)?;
        let r = c.write(fid, line.as_bytes());
        c.clunk(fid);
        r
    }

    fn read_file(&self, name: &str) -> String {
        let mut c = self.conn();
        let fid = c.open(name, OREAD).unwrap();
        let d = c.read_all(fid).unwrap();
        c.clunk(fid);
        String::from_utf8(d).unwrap()
    }

    /// One pass round on a fresh conversation.
    fn pass_round(&self) -> String {
        let mut c = self.conn();
        let fid = c.open("rpc", ORDWR).unwrap();
        c.write(fid, b"start proto=pass role=client user=glenda")
            .unwrap();
        assert_eq!(c.read(fid, 0).unwrap(), b"ok");
        c.write(fid, b"read").unwrap();
        let r = String::from_utf8(c.read(fid, 0).unwrap()).unwrap();
        c.clunk(fid);
        r
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn python(args: &[&str], ns: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py9p/factotum.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .env("NAMESPACE", ns)
        .output_within(common::CHILD_DEADLINE)
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/setup installs it): {e}"));
    let stderr = text(&out.stderr);
    if stderr.contains("No module named 'py9pfactotum'") {
        panic!("py9pfactotum from PyPI is needed (.ci/pip-packages): {stderr}");
    }
    assert!(
        out.status.success(),
        "factotum.py {args:?} failed: {stderr}"
    );
    text(&out.stdout)
}

#[test]
fn py9p_session() {
    let f = start();
    let out = python(&["session", f.sock.to_str().unwrap()], &f.ns);
    assert_eq!(out, "py9p factotum session ok\n");
}

#[test]
fn py9pfactotum_getpass() {
    let f = start();
    let o = f.warden(
        &[
            "key",
            "add",
            "proto=pass",
            "server=getpass.example",
            "user=glenda",
            "!password?",
        ],
        "s3cret\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(python(&["getpass"], &f.ns), "getpass ok\n");
}

#[test]
fn key_commands() {
    let f = start();
    let o = f.warden(
        &[
            "key",
            "add",
            "proto=pass",
            "user?",
            "server=x",
            "!password?",
        ],
        "glenda\nopen sesame\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = f.warden(&["key", "list"], "");
    assert_eq!(
        text(&o.stdout),
        "key proto=pass server=x user=glenda !password?\n"
    );
    let o = f.warden(&["key", "list", "--json"], "");
    assert_eq!(
        text(&o.stdout),
        "[{\"proto\":\"pass\",\"server\":\"x\",\"user\":\"glenda\",\"secrets\":[\"!password\"]}]\n"
    );
    // a secret on the command line is refused, and not echoed
    let o = f.warden(
        &["key", "add", "proto=pass", "user=u", "!password=hunter2"],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!text(&o.stderr).contains("hunter2"), "{}", text(&o.stderr));
    // errors are the factotum's
    let o = f.warden(&["key", "add", "proto=rot13", "user=x"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("unknown proto rot13"),
        "{}",
        text(&o.stderr)
    );

    let o = f.warden(&["rpc"], "start proto=pass role=client\nread\nfrob\n");
    assert_eq!(text(&o.stdout), "ok\nok glenda 'open sesame'\n");
    assert!(
        text(&o.stderr).contains("write: bad rpc verb: frob"),
        "{}",
        text(&o.stderr)
    );

    let o = f.warden(&["key", "del", "server=x"], "");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = f.warden(&["key", "del", "server=x"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("found no keys to delete"));
    assert_eq!(text(&f.warden(&["key", "list"], "").stdout), "");

    // An empty pattern deletes nothing (the ctl file's bare delkey would
    // delete every key); --all does, and takes no attributes.
    for server in ["a", "b"] {
        let o = f.warden(
            &[
                "key",
                "add",
                "proto=pass",
                "user=u",
                &format!("server={server}"),
                "!password?",
            ],
            "pw
",
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let both = text(&f.warden(&["key", "list"], "").stdout);
    assert_eq!(both.lines().count(), 2, "{both}");
    for args in [
        &["key", "del"][..],
        &["key", "del", ""],
        &["key", "del", "server=a", "--all"],
        &["key", "del", "--all", "server=a"],
    ] {
        let o = f.warden(args, "");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = text(&o.stderr);
        assert!(
            e.contains("--all deletes every key") || e.contains("takes no attributes"),
            "{args:?}: {e}"
        );
        assert_eq!(text(&f.warden(&["key", "list"], "").stdout), both);
    }
    let o = f.warden(&["key", "del", "--all"], "");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&f.warden(&["key", "list"], "").stdout), "");
}

#[test]
fn key_confirm_answers_a_waiting_conversation() {
    confirm_round(&["--yes", "1", "--wait", "60s"], "", "");
}

#[test]
fn key_confirm_asks() {
    confirm_round(
        &["--wait", "2s"],
        "maybe\nyes\n",
        "use this key (tag 1)? yes/no: use this key (tag 1)? yes/no: ",
    );
}

fn confirm_round(args: &[&str], stdin: &str, prompts: &str) {
    let f = start();
    let o = f.warden(
        &[
            "key",
            "add",
            "proto=pass",
            "user=c",
            "confirm=yes",
            "!password?",
        ],
        "pw\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // the first conversation opened gets tag 1
    let spawn = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("-c")
            .arg(&f.config)
            .args(["key", "confirm"])
            .args(args)
            .arg("--socket")
            .arg(&f.sock)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child
    };
    let mut confirm = spawn();
    // Wait until it holds the confirm file. The probe below opens that
    // file too: if key confirm's open lands while the probe holds it, key
    // confirm rightly fails with `file in use`, and is started again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut c = f.conn();
        match c.open("confirm", OREAD) {
            Err(Error::Remote(e)) if e == "file in use" => break,
            Ok(fid) => c.clunk(fid),
            Err(e) => panic!("{e}"),
        }
        if confirm.try_wait().unwrap().is_some() {
            let out = common::wait_within(confirm, common::CHILD_DEADLINE, "confirm").unwrap();
            let err = text(&out.stderr);
            assert!(err.contains("file in use"), "key confirm failed: {err}");
            confirm = spawn();
        }
        assert!(
            Instant::now() < deadline,
            "key confirm did not open confirm"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = f.conn();
    let fid = c.open("rpc", ORDWR).unwrap();
    c.write(fid, b"start proto=pass role=client").unwrap();
    assert_eq!(c.read(fid, 0).unwrap(), b"ok");
    c.write(fid, b"read").unwrap();
    // waits for the answer
    assert_eq!(text(&c.read(fid, 0).unwrap()), "ok c pw");
    let out = common::wait_within(confirm, common::CHILD_DEADLINE, "confirm").unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "confirm tag=1 proto=pass user=c confirm=yes !password?\ntag=1 answer=yes\n"
    );
    assert_eq!(text(&out.stderr), prompts);
}

/// A `confirm=yes` pass key added through `warden key add`, and an rpc
/// conversation started on it (the next `read` asks for confirmation).
fn confirm_key_conversation(f: &Fact) -> (Conn, u32) {
    let o = f.warden(
        &[
            "key",
            "add",
            "proto=pass",
            "user=c",
            "confirm=yes",
            "!password?",
        ],
        "pw\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut c = f.conn();
    let fid = c.open("rpc", ORDWR).unwrap();
    c.write(fid, b"start proto=pass role=client").unwrap();
    assert_eq!(c.read(fid, 0).unwrap(), b"ok");
    (c, fid)
}

/// A request for a confirm key made while nobody holds confirm waits for
/// a confirmer: one that comes later answers it; with none, it fails
/// after `confirm_wait`.
#[test]
fn confirm_waits_for_a_confirmer() {
    let f = start_with(" option confirm_wait 20s\n");
    let (mut c, fid) = confirm_key_conversation(&f);
    c.write(fid, b"read").unwrap();
    // no answer while nobody confirms (the read is flushed, asked again)
    let short = Some(Duration::from_millis(300));
    assert_eq!(c.read_wait(fid, short).unwrap(), None);
    let confirm = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("-c")
        .arg(&f.config)
        .args(["key", "confirm", "--yes", "1", "--wait", "10s", "--socket"])
        .arg(&f.sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let got = c.read_wait(fid, Some(Duration::from_secs(30))).unwrap();
    assert_eq!(text(&got.expect("no answer within 30s")), "ok c pw");
    let out = common::wait_within(confirm, common::CHILD_DEADLINE, "confirm").unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "confirm tag=1 proto=pass user=c confirm=yes !password?\ntag=1 answer=yes\n"
    );

    let f = start_with(" option confirm_wait 1s\n");
    let (mut c, fid) = confirm_key_conversation(&f);
    let t0 = Instant::now();
    c.write(fid, b"read").unwrap();
    let got = c.read_wait(fid, Some(Duration::from_secs(30))).unwrap();
    assert_eq!(
        text(&got.expect("no answer within 30s")),
        "error pass client keyconfirm: no confirmer within 1s"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
}

/// Raw 9P on a fresh connection: version and attach done.
struct Raw {
    s: UnixStream,
    tag: u16,
}

impl Raw {
    fn new(f: &Fact) -> Raw {
        let s = UnixStream::connect(&f.sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut r = Raw { s, tag: 0 };
        assert!(matches!(
            r.rpc(Fcall::Tversion {
                msize: 8192,
                version: "9P2000".into()
            }),
            Fcall::Rversion { .. }
        ));
        assert!(matches!(
            r.rpc(Fcall::Tattach {
                fid: 0,
                afid: NOFID,
                uname: "glenda".into(),
                aname: "".into()
            }),
            Fcall::Rattach { .. }
        ));
        r
    }

    fn rpc(&mut self, body: Fcall) -> Fcall {
        self.tag = (self.tag + 1) % NOTAG;
        self.s
            .write_all(&Msg::new(self.tag, body).encode())
            .unwrap();
        let mut size = [0u8; 4];
        self.s.read_exact(&mut size).unwrap();
        let mut msg = size.to_vec();
        msg.resize(u32::from_le_bytes(size) as usize, 0);
        self.s.read_exact(&mut msg[4..]).unwrap();
        let m = decode(&msg).unwrap();
        assert_eq!(m.tag, self.tag);
        m.body
    }

    fn open(&mut self, fid: u32, name: &str, mode: u8) -> Fcall {
        self.rpc(Fcall::Twalk {
            fid: 0,
            newfid: fid,
            wnames: vec![name.into()],
        });
        self.rpc(Fcall::Topen { fid, mode })
    }

    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0) | Err(_))
    }
}

fn rerror(f: Fcall) -> String {
    match f {
        Fcall::Rerror { ename } => ename,
        other => panic!("expected Rerror, got {other:?}"),
    }
}

#[test]
fn bad_input_keeps_others_served() {
    let f = start();
    f.ctl("key proto=pass user=glenda !password=pw").unwrap();
    let mut r = Raw::new(&f);
    // over-long rpc write: an error, and the conversation goes on
    assert!(matches!(r.open(1, "rpc", ORDWR), Fcall::Ropen { .. }));
    let long = vec![b'x'; 5000];
    let e = rerror(r.rpc(Fcall::Twrite {
        fid: 1,
        offset: 0,
        data: long,
    }));
    assert!(!e.is_empty());
    assert!(matches!(
        r.rpc(Fcall::Twrite {
            fid: 1,
            offset: 0,
            data: b"start proto=pass role=client".to_vec()
        }),
        Fcall::Rwrite { .. }
    ));
    assert_eq!(
        r.rpc(Fcall::Tread {
            fid: 1,
            offset: 0,
            count: 8192
        }),
        Fcall::Rread {
            data: b"ok".to_vec()
        }
    );
    // unknown fids, wrong modes, writes to read-only files
    assert_eq!(rerror(r.rpc(Fcall::Tclunk { fid: 77 })), "unknown fid");
    assert_eq!(
        rerror(r.rpc(Fcall::Tread {
            fid: 78,
            offset: 0,
            count: 10
        })),
        "unknown fid"
    );
    assert_eq!(rerror(r.open(2, "proto", OWRITE)), "permission denied");
    assert_eq!(rerror(r.open(3, "nothing", OREAD)), "unknown fid");
    // a malformed ctl line
    assert!(matches!(r.open(4, "ctl", ORDWR), Fcall::Ropen { .. }));
    assert_eq!(
        rerror(r.rpc(Fcall::Twrite {
            fid: 4,
            offset: 0,
            data: b"key proto=pass user='unterminated".to_vec()
        })),
        rerror(r.rpc(Fcall::Twrite {
            fid: 4,
            offset: 0,
            data: b"key proto=pass user='unterminated".to_vec()
        }))
    );
    // bad 9P sizes close only that connection
    for bad in [&[3u8, 0, 0, 0][..], &[0xff, 0xff, 0xff, 0x7f, 100, 0, 0]] {
        let mut b = Raw::new(&f);
        b.s.write_all(bad).unwrap();
        assert!(b.closed(), "{bad:?}");
    }
    // a client vanishing mid-conversation (a read pending on confirm)
    f.ctl("key proto=pass user=w confirm=yes !password=pw")
        .unwrap();
    {
        let mut v = Raw::new(&f);
        assert!(matches!(v.open(1, "confirm", ORDWR), Fcall::Ropen { .. }));
        assert!(matches!(v.open(2, "rpc", ORDWR), Fcall::Ropen { .. }));
        v.rpc(Fcall::Twrite {
            fid: 2,
            offset: 0,
            data: b"start proto=pass role=client user=w".to_vec(),
        });
        // the read waits on confirm; send it and vanish
        v.s.write_all(
            &Msg::new(
                99,
                Fcall::Tread {
                    fid: 2,
                    offset: 0,
                    count: 100,
                },
            )
            .encode(),
        )
        .unwrap();
        let conv = f.read_file("conv");
        assert!(conv.contains("user=w"), "{conv}");
    }
    // its conversation and its hold on confirm are gone
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.read_file("conv").contains("user=w") {
        assert!(Instant::now() < deadline, "conversation not closed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = f.conn();
    let fid = c.open("confirm", OREAD).unwrap();
    c.clunk(fid);
    // and everyone else is still served
    assert_eq!(f.pass_round(), "ok glenda pw");
    assert_eq!(
        r.rpc(Fcall::Tread {
            fid: 1,
            offset: 0,
            count: 8192
        }),
        Fcall::Rerror {
            ename: "no rpc pending".into()
        }
    );
}

#[test]
fn a_thousand_idle_connections() {
    let f = start();
    f.ctl("key proto=pass user=glenda !password=pw").unwrap();
    let mut idle = Vec::new();
    for i in 0..1000 {
        let s = UnixStream::connect(&f.sock).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        if i % 2 == 0 {
            // half of them half-way through a message
            (&s).write_all(&[50, 0, 0, 0, 100]).unwrap();
        }
        idle.push(s);
    }
    let t = Instant::now();
    assert_eq!(f.pass_round(), "ok glenda pw");
    eprintln!("a round with 1000 idle connections: {:?}", t.elapsed());
    drop(idle);
    assert_eq!(f.pass_round(), "ok glenda pw");
}

/// Show a reply as tests/plan9port/record.py does: newlines as \n,
/// bytes as Latin-1.
fn show(out: &mut String, r: &[u8]) {
    for &b in r {
        match b {
            b'\n' => out.push_str("\\n"),
            b => out.push(char::from(b)),
        }
    }
    out.push('\n');
}

/// tests/plan9port/transcript.txt through the socket prints what
/// plan9port's factotum printed for it (as the core's own test checks
/// without the 9P server in between).
#[test]
fn matches_plan9port_transcript_over_the_socket() {
    // plan9port refuses a confirm key at once while nobody holds confirm
    let f = start_with(" option confirm_wait 0\n");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan9port");
    let script = std::fs::read_to_string(dir.join("transcript.txt")).unwrap();
    let want = std::fs::read(dir.join("transcript.plan9port.out")).unwrap();
    let mut c = f.conn();
    let mut conv: Option<u32> = None;
    let mut confirm: Option<(Conn, u32)> = None;
    // a reply comes at once or waits on confirm; this only tells them apart
    let patience = Some(Duration::from_secs(3));
    let mut out = String::new();
    for l in script.lines() {
        if let Some(t) = l.strip_prefix("ctl ") {
            match f.ctl(t) {
                Ok(_) => out.push_str("ctl ok\n"),
                Err(e) => out.push_str(&format!("ctl error: {e}\n")),
            }
        } else if l == "list" {
            out.push_str(&f.read_file("ctl"));
            out.push_str("--\n");
        } else if l == "newconv" {
            if let Some(old) = conv.take() {
                c.clunk(old);
            }
            conv = Some(c.open("rpc", ORDWR).unwrap());
            out.push_str("newconv\n");
        } else if l == "confirm-open" {
            let mut k = f.conn();
            let fid = k.open("confirm", ORDWR).unwrap();
            confirm = Some((k, fid));
            out.push_str("confirm open\n");
        } else if l == "confirm-read" {
            let (k, fid) = confirm.as_mut().unwrap();
            while let Some(m) = k.read_wait(*fid, Some(Duration::from_millis(300))).unwrap() {
                out.push_str(&format!("confirm> {}\n", text(&m).trim_end()));
            }
        } else if let Some(a) = l.strip_prefix("confirm-write ") {
            let (k, fid) = confirm.as_mut().unwrap();
            if let Err(e) = k.write(*fid, a.as_bytes()) {
                out.push_str(&format!("confirm write: {e}\n"));
            }
        } else if l == "rpc-wait" {
            let fid = conv.unwrap();
            match c.read_wait(fid, Some(Duration::from_secs(30))) {
                Ok(Some(r)) => show(&mut out, &r),
                Ok(None) => out.push_str("<pending>\n"),
                Err(e) => out.push_str(&format!("read: {e}\n")),
            }
        } else if let Some(r) = l.strip_prefix("rpc ") {
            let fid = match conv {
                Some(fid) => fid,
                None => *conv.insert(c.open("rpc", ORDWR).unwrap()),
            };
            if let Err(e) = c.write(fid, r.as_bytes()) {
                out.push_str(&format!("write: {e}\n"));
            }
            match c.read_wait(fid, patience) {
                Ok(Some(r)) => show(&mut out, &r),
                Ok(None) => out.push_str("<pending>\n"),
                Err(e) => out.push_str(&format!("read: {e}\n")),
            }
        }
    }
    let want: String = want.iter().map(|&b| char::from(b)).collect();
    for (i, (g, w)) in out.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {} of the transcript differs", i + 1);
    }
    assert_eq!(out.lines().count(), want.lines().count());
}

/// `warden daemon` serves the factotum at `<run_dir>/factotum`, and the
/// key commands find it there from the same configuration.
#[test]
fn daemon_serves_the_configured_socket() {
    let dir = std::env::temp_dir().join(format!(
        "warden-factotum-daemon-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("run");
    let config = dir.join("warden.uci");
    std::fs::write(
        &config,
        format!(
            "config warden 'main'\n option run_dir '{}'\nconfig uplink 'wan'\n option enabled 0\nconfig factotum\n option enabled 1\n",
            run.display()
        ),
    )
    .unwrap();
    let sock = run.join("factotum");
    let mut daemon = common::start_daemon(&config, &sock);
    let w = |args: &[&str], stdin: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("-c")
            .arg(&config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        common::wait_within(c, common::CHILD_DEADLINE, "c").unwrap()
    };
    let o = w(
        &["key", "add", "proto=pass", "user=d", "!password?"],
        "pw\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&w(&["key", "list"], "").stdout),
        "key proto=pass user=d !password?\n"
    );
    let o = w(&["rpc"], "start proto=pass role=client\nread\n");
    assert_eq!(text(&o.stdout), "ok\nok d pw\n");
    // the socket directory is closed to others
    let mode = std::fs::metadata(&run).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    assert!(common::status_within(&mut daemon.0, common::CHILD_DEADLINE, "daemon.0").success());
    assert!(!sock.exists(), "the socket is removed at exit");
    let _ = std::fs::remove_dir_all(&dir);
}
