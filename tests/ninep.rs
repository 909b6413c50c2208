//! The 9P server end to end: the demo tree served by the poll(2) listener
//! on a real Unix socket, driven by py9p (an independent Python client)
//! and by raw sockets for the bad cases.

mod common;
use common::Deadline;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use warden::ninep::demo::DemoTree;
use warden::ninep::fcall::*;
use warden::ninep::server::{Limits, Server};
use warden::ninep::unix::{self, ListenLimits, Listener, PeerPolicy};
use warden::service::{Control, Event};

static N: AtomicU32 = AtomicU32::new(0);

fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "warden-ninep-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

struct Running {
    dir: PathBuf,
    path: PathBuf,
    control: Arc<Control>,
    handle: Option<JoinHandle<()>>,
}

fn start(policy: PeerPolicy) -> Running {
    start_with(policy, ListenLimits::default())
}

fn start_with(policy: PeerPolicy, limits: ListenLimits) -> Running {
    let dir = scratch_dir();
    let path = dir.join("ns").join("demo");
    let sock = unix::bind(&path, policy.shared()).unwrap();
    let control = Control::new().unwrap();
    let c = control.clone();
    let p = path.clone();
    let handle = std::thread::spawn(move || {
        let server = Server::new("demo", DemoTree::new("glenda"), Limits::default());
        let mut l = Listener::new(sock, Some(&p), server, policy, limits).unwrap();
        l.run(c.fd(), |_, _| {
            !c.take().iter().any(|e| matches!(e, Event::Stop))
        })
        .unwrap();
    });
    Running {
        dir,
        path,
        control,
        handle: Some(handle),
    }
}

impl Running {
    fn stop(&mut self) {
        self.control.send(Event::Stop);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Client {
    s: UnixStream,
    tag: u16,
}

impl Client {
    fn connect(path: &Path) -> Client {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client { s, tag: 0 }
    }

    /// Connected, versioned, fid 0 attached to the root.
    fn session(path: &Path) -> Client {
        let mut c = Client::connect(path);
        assert_eq!(
            c.rpc(Fcall::Tversion {
                msize: 8192,
                version: "9P2000".into()
            }),
            Fcall::Rversion {
                msize: 8192,
                version: "9P2000".into()
            }
        );
        assert!(matches!(
            c.rpc(Fcall::Tattach {
                fid: 0,
                afid: NOFID,
                uname: "glenda".into(),
                aname: "".into()
            }),
            Fcall::Rattach { .. }
        ));
        c
    }

    fn send(&mut self, body: Fcall) -> u16 {
        self.tag = self.tag.wrapping_add(1) % NOTAG;
        self.s
            .write_all(&Msg::new(self.tag, body).encode())
            .unwrap();
        self.tag
    }

    fn recv(&mut self) -> Msg {
        let mut size = [0u8; 4];
        self.s.read_exact(&mut size).unwrap();
        let mut msg = size.to_vec();
        msg.resize(u32::from_le_bytes(size) as usize, 0);
        self.s.read_exact(&mut msg[4..]).unwrap();
        decode(&msg).unwrap()
    }

    fn rpc(&mut self, body: Fcall) -> Fcall {
        let tag = self.send(body);
        let m = self.recv();
        assert_eq!(m.tag, tag, "{m:?}");
        m.body
    }

    fn err(&mut self, body: Fcall) -> String {
        match self.rpc(body) {
            Fcall::Rerror { ename } => ename,
            other => panic!("expected Rerror, got {other:?}"),
        }
    }

    fn open(&mut self, fid: u32, path: &[&str], mode: u8) -> Fcall {
        let wnames: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let n = wnames.len();
        match self.rpc(Fcall::Twalk {
            fid: 0,
            newfid: fid,
            wnames,
        }) {
            Fcall::Rwalk { wqids } if wqids.len() == n => {}
            other => return other,
        }
        self.rpc(Fcall::Topen { fid, mode })
    }

    /// The server closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

fn opened(f: Fcall) -> bool {
    matches!(f, Fcall::Ropen { .. })
}

/// python3 with py9pfactotum (whose Python 3 port of py9p is the client).
fn python(script: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py9p")
        .join(script);
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
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
fn py9p_client_session() {
    let r = start(PeerPolicy::owner_only());
    let out = python("session.py", &[r.path.to_str().unwrap()]);
    assert_eq!(out.trim(), "py9p session ok");
}

/// Our encoder and py9p's agree byte for byte, and we decode py9p's bytes.
#[test]
fn codec_agrees_with_py9p_marshaller() {
    let out = python("encode.py", &[]);
    let q = Qid {
        ty: 0x80,
        vers: 7,
        path: 0x0102030405060708,
    };
    let d = Stat {
        qid: Qid {
            ty: 0,
            vers: 3,
            path: 42,
        },
        mode: 0o600 | DMEXCL,
        atime: 1000,
        mtime: 2000,
        length: 12,
        name: "needkey".into(),
        uid: "glenda".into(),
        gid: "glenda".into(),
        ..Stat::default()
    };
    let msgs = [
        Msg::new(
            NOTAG,
            Fcall::Tversion {
                msize: 8192,
                version: "9P2000".into(),
            },
        ),
        Msg::new(
            NOTAG,
            Fcall::Rversion {
                msize: 8216,
                version: "9P2000".into(),
            },
        ),
        Msg::new(
            1,
            Fcall::Tauth {
                afid: 10,
                uname: "glenda".into(),
                aname: "".into(),
            },
        ),
        Msg::new(
            2,
            Fcall::Tattach {
                fid: 11,
                afid: NOFID,
                uname: "glenda".into(),
                aname: "".into(),
            },
        ),
        Msg::new(2, Fcall::Rattach { qid: q }),
        Msg::new(
            3,
            Fcall::Rerror {
                ename: "permission denied".into(),
            },
        ),
        Msg::new(4, Fcall::Tflush { oldtag: 3 }),
        Msg::new(
            5,
            Fcall::Twalk {
                fid: 11,
                newfid: 13,
                wnames: vec!["factotum".into(), "rpc".into()],
            },
        ),
        Msg::new(
            5,
            Fcall::Rwalk {
                wqids: vec![
                    q,
                    Qid {
                        ty: 0,
                        vers: 0,
                        path: 9,
                    },
                ],
            },
        ),
        Msg::new(
            6,
            Fcall::Topen {
                fid: 13,
                mode: ORDWR,
            },
        ),
        Msg::new(
            6,
            Fcall::Ropen {
                qid: q,
                iounit: 8192,
            },
        ),
        Msg::new(
            7,
            Fcall::Tcreate {
                fid: 13,
                name: "new".into(),
                perm: 0o644,
                mode: OWRITE,
            },
        ),
        Msg::new(
            8,
            Fcall::Tread {
                fid: 13,
                offset: 1 << 33,
                count: 4096,
            },
        ),
        Msg::new(
            8,
            Fcall::Rread {
                data: b"ok data".to_vec(),
            },
        ),
        Msg::new(
            9,
            Fcall::Twrite {
                fid: 13,
                offset: 0,
                data: b"start proto=pass".to_vec(),
            },
        ),
        Msg::new(9, Fcall::Rwrite { count: 16 }),
        Msg::new(10, Fcall::Tclunk { fid: 13 }),
        Msg::new(11, Fcall::Tremove { fid: 13 }),
        Msg::new(12, Fcall::Tstat { fid: 13 }),
        Msg::new(12, Fcall::Rstat { stat: d.clone() }),
        Msg::new(13, Fcall::Twstat { fid: 13, stat: d }),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), msgs.len());
    for (m, line) in msgs.iter().zip(lines) {
        let theirs: Vec<u8> = (0..line.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(m.encode(), theirs, "{m:?}");
        assert_eq!(decode(&theirs).as_ref(), Ok(m));
    }
}

#[test]
fn bad_sizes_close_only_that_connection() {
    let r = start(PeerPolicy::owner_only());
    let mut good = Client::session(&r.path);
    // A size smaller than a header.
    let mut bad = Client::connect(&r.path);
    bad.s.write_all(&[3, 0, 0, 0, 100, 0, 0]).unwrap();
    assert!(bad.closed());
    // A size above msize (8192 negotiated).
    let mut big = Client::session(&r.path);
    big.s.write_all(&[0x01, 0x21, 0, 0, 118, 1, 0]).unwrap();
    assert!(big.closed());
    // Garbage that is not 9P at all.
    let mut junk = Client::connect(&r.path);
    junk.s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert!(junk.closed());
    // A truncated body inside a sound frame is an Rerror, not a hangup.
    let mut trunc = Client::session(&r.path);
    trunc
        .s
        .write_all(&[10, 0, 0, 0, 120, 7, 0, 1, 0, 0])
        .unwrap();
    let m = trunc.recv();
    assert_eq!(m.tag, 7);
    assert!(matches!(m.body, Fcall::Rerror { ename } if ename.contains("truncated")));
    assert!(matches!(
        trunc.rpc(Fcall::Tstat { fid: 0 }),
        Fcall::Rstat { .. }
    ));
    // And the first client never noticed.
    assert!(matches!(
        good.rpc(Fcall::Tstat { fid: 0 }),
        Fcall::Rstat { .. }
    ));
}

#[test]
fn errors_for_unknown_fids_and_wrong_modes() {
    let r = start(PeerPolicy::owner_only());
    let mut c = Client::session(&r.path);
    assert_eq!(c.err(Fcall::Tstat { fid: 42 }), "unknown fid");
    assert_eq!(c.err(Fcall::Tclunk { fid: 42 }), "unknown fid");
    assert_eq!(
        c.err(Fcall::Tread {
            fid: 42,
            offset: 0,
            count: 1
        }),
        "unknown fid"
    );
    assert_eq!(
        c.open(1, &["readonly"], OWRITE),
        Fcall::Rerror {
            ename: "permission denied".into()
        }
    );
    assert_eq!(
        c.open(2, &["kick"], OREAD),
        Fcall::Rerror {
            ename: "permission denied".into()
        }
    );
    assert!(opened(c.open(3, &["kick"], OWRITE)));
    assert_eq!(
        c.err(Fcall::Tread {
            fid: 3,
            offset: 0,
            count: 10
        }),
        "fid not open for reading"
    );
    assert_eq!(
        c.err(Fcall::Tauth {
            afid: 9,
            uname: "glenda".into(),
            aname: "".into()
        }),
        "demo: authentication not required"
    );
    assert!(matches!(c.rpc(Fcall::Tclunk { fid: 3 }), Fcall::Rclunk));
}

#[test]
fn exclusive_open_conflict_between_clients() {
    let r = start(PeerPolicy::owner_only());
    let mut a = Client::session(&r.path);
    let mut b = Client::session(&r.path);
    assert!(opened(a.open(1, &["excl"], OREAD)));
    assert_eq!(
        b.open(1, &["excl"], OREAD),
        Fcall::Rerror {
            ename: "file in use".into()
        }
    );
    assert!(matches!(a.rpc(Fcall::Tclunk { fid: 1 }), Fcall::Rclunk));
    assert!(opened(b.rpc(Fcall::Topen {
        fid: 1,
        mode: OREAD
    })));
}

#[test]
fn pending_reads_answer_out_of_order_and_flush_cancels() {
    let r = start(PeerPolicy::owner_only());
    let mut a = Client::session(&r.path);
    let mut b = Client::session(&r.path);
    assert!(opened(a.open(1, &["wait"], OREAD)));
    assert!(opened(b.open(1, &["kick"], OWRITE)));
    let read_tag = a.send(Fcall::Tread {
        fid: 1,
        offset: 0,
        count: 100,
    });
    // Later requests are answered first.
    assert!(matches!(
        a.rpc(Fcall::Tstat { fid: 1 }),
        Fcall::Rstat { .. }
    ));
    assert_eq!(
        b.rpc(Fcall::Twrite {
            fid: 1,
            offset: 0,
            data: b"wake".to_vec()
        }),
        Fcall::Rwrite { count: 4 }
    );
    assert_eq!(
        a.recv(),
        Msg::new(
            read_tag,
            Fcall::Rread {
                data: b"wake".to_vec()
            }
        )
    );

    // Flush: the read never completes.
    let read_tag = a.send(Fcall::Tread {
        fid: 1,
        offset: 0,
        count: 100,
    });
    assert_eq!(a.rpc(Fcall::Tflush { oldtag: read_tag }), Fcall::Rflush);
    assert_eq!(
        b.rpc(Fcall::Twrite {
            fid: 1,
            offset: 0,
            data: b"again".to_vec()
        }),
        Fcall::Rwrite { count: 5 }
    );
    assert!(matches!(
        a.rpc(Fcall::Tstat { fid: 1 }),
        Fcall::Rstat { .. }
    ));
}

/// Retry `f` until it holds: the server notices a vanished client
/// asynchronously.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn vanished_client_is_cleaned_up() {
    let r = start(PeerPolicy::owner_only());
    let mut a = Client::session(&r.path);
    assert!(opened(a.open(1, &["excl"], OREAD)));
    assert!(opened(a.open(2, &["wait"], OREAD)));
    a.send(Fcall::Tread {
        fid: 2,
        offset: 0,
        count: 100,
    });
    // Half a message, then gone.
    a.s.write_all(&[50, 0, 0, 0, 118]).unwrap();
    drop(a);
    let mut b = Client::session(&r.path);
    assert!(opened(b.open(3, &["kick"], OWRITE)));
    eventually("the exclusive open to be released", || {
        let _ = b.rpc(Fcall::Tclunk { fid: 1 });
        opened(b.open(1, &["excl"], OREAD))
    });
    // Its pending read was withdrawn: kicking completes nothing and b's
    // own requests go on.
    assert_eq!(
        b.rpc(Fcall::Twrite {
            fid: 3,
            offset: 0,
            data: b"x".to_vec()
        }),
        Fcall::Rwrite { count: 1 }
    );
    assert!(matches!(
        b.rpc(Fcall::Tstat { fid: 3 }),
        Fcall::Rstat { .. }
    ));
}

#[test]
fn a_thousand_idle_connections() {
    // one peer holding them all: its cap is raised to let it
    let r = start_with(
        PeerPolicy::owner_only(),
        conn_limits(2048, 2048, Duration::from_secs(3600)),
    );
    let t0 = Instant::now();
    let idle: Vec<Client> = (0..1000).map(|_| Client::session(&r.path)).collect();
    let opened_in = t0.elapsed();
    // A newcomer is served at once, the idle ones still answer.
    let t1 = Instant::now();
    let mut c = Client::session(&r.path);
    assert!(opened(c.open(1, &["readonly"], OREAD)));
    assert_eq!(
        c.rpc(Fcall::Tread {
            fid: 1,
            offset: 0,
            count: 100
        }),
        Fcall::Rread {
            data: b"read only\n".to_vec()
        }
    );
    let newcomer = t1.elapsed();
    let mut idle = idle;
    for c in idle.iter_mut().step_by(97) {
        assert!(matches!(
            c.rpc(Fcall::Tstat { fid: 0 }),
            Fcall::Rstat { .. }
        ));
    }
    drop(idle);
    let mut c2 = Client::session(&r.path);
    assert!(matches!(
        c2.rpc(Fcall::Tstat { fid: 0 }),
        Fcall::Rstat { .. }
    ));
    // Generous bounds: a stuck or quadratic server takes far longer.
    assert!(
        opened_in < Duration::from_secs(60),
        "1000 sessions took {opened_in:?}"
    );
    assert!(
        newcomer < Duration::from_secs(10),
        "newcomer took {newcomer:?}"
    );
}

/// Listener limits of `per_peer` connections per uid, `max_conns` in all.
fn conn_limits(max_conns: usize, per_peer: usize, idle: Duration) -> ListenLimits {
    ListenLimits {
        admit: warden::admit::Limits {
            max_conns,
            per_peer,
            idle,
        },
        ..ListenLimits::default()
    }
}

#[test]
fn the_owner_at_its_cap_makes_room_by_closing_its_idlest_connection() {
    let r = start_with(
        PeerPolicy::owner_only(),
        conn_limits(3, 3, Duration::from_secs(3600)),
    );
    let mut held: Vec<Client> = (0..3).map(|_| Client::session(&r.path)).collect();
    // the newest two were used since the first
    for c in held.iter_mut().skip(1) {
        assert!(matches!(
            c.rpc(Fcall::Tstat { fid: 0 }),
            Fcall::Rstat { .. }
        ));
    }
    // a fourth is served at once, and the idlest (the first) is closed
    let mut fresh = Client::session(&r.path);
    assert!(matches!(
        fresh.rpc(Fcall::Tstat { fid: 0 }),
        Fcall::Rstat { .. }
    ));
    assert!(held[0].closed());
    for c in held.iter_mut().skip(1) {
        assert!(matches!(
            c.rpc(Fcall::Tstat { fid: 0 }),
            Fcall::Rstat { .. }
        ));
    }
}

#[test]
fn idle_connections_are_closed_and_busy_ones_stay() {
    let r = start_with(
        PeerPolicy::owner_only(),
        conn_limits(16, 16, Duration::from_millis(300)),
    );
    let mut idle = Client::session(&r.path);
    let mut busy = Client::session(&r.path);
    // a read that waits (the demo tree's blocking file) is not idleness
    let Fcall::Ropen { .. } = busy.open(1, &["wait"], OREAD) else {
        panic!("demo tree has no wait file");
    };
    busy.send(Fcall::Tread {
        fid: 1,
        offset: 0,
        count: 100,
    });
    let t = Instant::now();
    assert!(idle.closed(), "the idle connection stayed open");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    std::thread::sleep(Duration::from_millis(600));
    busy.s
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut b = [0u8; 1];
    let e = busy.s.read(&mut b).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "busy was closed");
}

/// A client of another uid: `n` connections from one process, each
/// sending Tversion; prints, per connection, `ok` if answered or `closed`.
const OTHER_UID_CLIENT: &str = r#"
import socket, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
tv = struct.pack('<IBHI', 19, 100, 0xffff, 8192) + struct.pack('<H', 6) + b'9P2000'
tv = struct.pack('<I', len(tv)) + tv[4:]
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    held.append(s)
    try:
        s.sendall(tv)
        r = s.recv(64)
        print('ok' if r else 'closed')
    except OSError:
        print('closed')
    sys.stdout.flush()
"#;

#[test]
fn an_unprivileged_peer_beyond_its_cap_is_refused_and_others_are_served() {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    // As root, the client runs as nobody; otherwise we are the
    // unprivileged peer of a listener owned by someone else.
    let (policy, as_uid) = if me == 0 {
        (
            PeerPolicy {
                allow_uids: vec![65534],
                ..PeerPolicy::owner_only()
            },
            Some(65534),
        )
    } else {
        (
            PeerPolicy {
                owner: me + 1,
                allow_uids: vec![me],
                allow_gids: vec![],
            },
            None,
        )
    };
    let r = start_with(policy, conn_limits(64, 2, Duration::from_secs(3600)));
    let mut cmd = Command::new("timeout");
    cmd.args(["30", "python3", "-c", OTHER_UID_CLIENT])
        .arg(&r.path)
        .arg("4");
    if let Some(u) = as_uid {
        use std::os::unix::process::CommandExt;
        cmd.uid(u).gid(65534);
    }
    let o = cmd.output_within(common::CHILD_DEADLINE).unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["ok", "ok", "closed", "closed"],
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    if me == 0 {
        // root, privileged, is not held to the others' count
        let mut c = Client::session(&r.path);
        assert!(matches!(
            c.rpc(Fcall::Tstat { fid: 0 }),
            Fcall::Rstat { .. }
        ));
    }
}

#[test]
fn stop_removes_the_socket() {
    let mut r = start(PeerPolicy::owner_only());
    let _c = Client::session(&r.path);
    r.stop();
    assert!(!r.path.exists());
}

#[test]
fn peer_credentials_are_checked() {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if me != 0 {
        // Not root: make ourselves a stranger by naming another owner.
        let r = start(PeerPolicy {
            owner: me + 1,
            allow_uids: vec![],
            allow_gids: vec![],
        });
        let mut c = Client::connect(&r.path);
        c.send(Fcall::Tversion {
            msize: 8192,
            version: "9P2000".into(),
        });
        assert!(c.closed());
        let r = start(PeerPolicy {
            owner: me + 1,
            allow_uids: vec![me],
            allow_gids: vec![],
        });
        let mut c = Client::session(&r.path);
        // Allowed but not the owner: 0600 files are closed to us.
        assert_eq!(
            c.open(1, &["secret"], OREAD),
            Fcall::Rerror {
                ename: "permission denied".into()
            }
        );
        assert!(opened(c.open(2, &["readonly"], OREAD)));
        return;
    }
    // Root: real other uids in child processes. uid 4242 is allowed,
    // 4343 (in gid 4343) is not; root is always admitted.
    let r = start(PeerPolicy {
        owner: 0,
        allow_uids: vec![4242],
        allow_gids: vec![],
    });
    assert_eq!(
        std::fs::metadata(r.path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o711
    );
    assert_eq!(common::tversion_as_uid(4242, &r.path), "served");
    let out = common::tversion_as_uid(4343, &r.path);
    assert!(out.starts_with("refused"), "uid 4343: {out}");
    let r = start(PeerPolicy {
        owner: 0,
        allow_uids: vec![],
        allow_gids: vec![4343],
    });
    assert_eq!(common::tversion_as_uid(4343, &r.path), "served");
    let out = common::tversion_as_uid(4242, &r.path);
    assert!(out.starts_with("refused"), "uid 4242: {out}");
    // Owner only: the 0700 directory already keeps others out.
    let r = start(PeerPolicy::owner_only());
    assert_eq!(
        std::fs::metadata(r.path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let out = common::tversion_as_uid(4242, &r.path);
    assert!(out.starts_with("cannot connect"), "uid 4242: {out}");
}

#[test]
fn socket_directory_and_stale_socket_rules() {
    let d = scratch_dir();
    // A directory open to others is refused, like plan9port's $NAMESPACE.
    let open = d.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = unix::bind(&open.join("s"), false).unwrap_err();
    assert!(e.to_string().contains("mode 0755"), "{e}");
    // A symlink to a good directory is refused too.
    let good = d.join("good");
    std::fs::create_dir(&good).unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&good, d.join("link")).unwrap();
    let e = unix::bind(&d.join("link").join("s"), false).unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
    // A plain file where the socket goes is not removed.
    std::fs::write(good.join("file"), b"x").unwrap();
    let e = unix::bind(&good.join("file"), false).unwrap_err();
    assert!(e.to_string().contains("not a socket"), "{e}");
    // A live socket is not taken over; a stale one is replaced.
    let live = unix::bind(&good.join("s"), false).unwrap();
    let e = unix::bind(&good.join("s"), false).unwrap_err();
    assert!(e.to_string().contains("served by another process"), "{e}");
    drop(live);
    assert!(good.join("s").exists());
    let again = unix::bind(&good.join("s"), false).unwrap();
    let mode = std::fs::metadata(good.join("s"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(again);
    // Someone else's directory (needs root to make one).
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let theirs = d.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
        let e = unix::bind(&theirs.join("s"), false).unwrap_err();
        assert!(e.to_string().contains("owned by uid 4242"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// plan9port's `9p` (lib9pclient) against the demo tree, found as
/// `$PLAN9/bin/9p`. plan9port is not packaged, so this is opt-in:
/// `PLAN9=/path/to/plan9port cargo test --test ninep -- --ignored`.
#[test]
#[ignore = "needs plan9port's 9p built from source: set PLAN9"]
fn plan9port_9p_client() {
    let plan9 = std::env::var("PLAN9").expect("set PLAN9 to a plan9port tree with bin/9p built");
    let nine_p = Path::new(&plan9).join("bin/9p");
    assert!(nine_p.exists(), "{} is missing", nine_p.display());
    let r = start(PeerPolicy::owner_only());
    let ns = r.path.parent().unwrap().to_path_buf();
    let run = |args: &[&str], input: Option<&[u8]>| -> (bool, String, String) {
        use std::process::Stdio;
        let mut child = Command::new(&nine_p)
            .args(args)
            .env("NAMESPACE", &ns)
            .env("PLAN9", &plan9)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i).unwrap();
        }
        drop(stdin);
        let out = common::wait_within(child, common::CHILD_DEADLINE, "child").unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["ls", "demo"], None);
    assert!(ok, "{err}");
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["echo", "excl", "kick", "readonly", "secret", "sub", "wait"]
    );
    let (ok, out, err) = run(&["ls", "-l", "demo/sub"], None);
    assert!(
        ok && out.contains("deep") && out.contains("glenda"),
        "{out} {err}"
    );
    let (ok, out, err) = run(&["read", "demo/readonly"], None);
    assert!(ok, "{err}");
    assert_eq!(out, "read only\n");
    let (ok, _, err) = run(&["write", "demo/echo"], Some(b"hello from 9p\n"));
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["read", "demo/echo"], None);
    assert!(ok, "{err}");
    assert_eq!(out, "hello from 9p\n");
    let (ok, out, err) = run(&["stat", "demo/secret"], None);
    assert!(ok && out.contains("secret"), "{out} {err}");
    let (ok, _, err) = run(&["write", "demo/readonly"], Some(b"x"));
    assert!(!ok && err.contains("permission denied"), "{err}");
}

/// A client that sends far more than it reads (about 1.4 MB of replies,
/// beyond the socket buffers and the 64 KiB output cap, so the server
/// must stop reading it): others keep being served, and every reply
/// arrives in order once the client reads. (That the cap bounds memory
/// is by construction in Listener::process; this checks liveness.)
#[test]
fn a_client_that_does_not_read_stalls_nobody_and_loses_nothing() {
    let r = start(PeerPolicy::owner_only());
    let mut greedy = Client::session(&r.path);
    const N: u16 = 20000;
    let mut w = greedy.s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = Vec::new();
        for tag in 1..=N {
            stream.extend_from_slice(&Msg::new(tag, Fcall::Tstat { fid: 0 }).encode());
        }
        // Blocks once the kernel's buffers and the server's cap are full.
        w.write_all(&stream).unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    let mut other = Client::session(&r.path);
    let t = Instant::now();
    assert!(matches!(
        other.rpc(Fcall::Tstat { fid: 0 }),
        Fcall::Rstat { .. }
    ));
    assert!(t.elapsed() < Duration::from_secs(10));
    for tag in 1..=N {
        let m = greedy.recv();
        assert_eq!(m.tag, tag);
        assert!(matches!(m.body, Fcall::Rstat { .. }));
    }
    writer.join().unwrap();
}
