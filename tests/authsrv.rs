//! The ticket service over TCP: bad input, many connections, the control
//! socket (`warden authsrv status`, `capuse`) and capabilities from a p9any
//! exchange traded in once.

mod common;
use common::Deadline;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use warden::auth::authsrv::decide::{Accounts, SpeaksFor};
use warden::auth::authsrv::des::passtokey;
use warden::auth::authsrv::local::Local;
use warden::auth::authsrv::server::{Limits, TicketServer};
use warden::auth::authsrv::wire::{types, Ticketreq};
use warden::auth::factotum::{Factotum, SystemEnv};
use warden::auth::proxy::auth_proxy;
use warden::sys::signals::Shutdown;

struct Db(HashMap<String, [u8; 7]>);

impl Accounts for Db {
    fn des_key(&self, user: &str) -> Option<[u8; 7]> {
        self.0.get(user).copied()
    }
}

struct Running {
    addr: SocketAddr,
    run_dir: PathBuf,
    stop: Arc<Shutdown>,
    local: Local,
    h: Option<thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.raise();
        if let Some(h) = self.h.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

fn start(tag: &str, limits: Limits) -> Running {
    let db = Db([("glenda", "glenda pw"), ("cpu", "cpu key")]
        .iter()
        .map(|(u, p)| (u.to_string(), passtokey(p.as_bytes())))
        .collect());
    let run_dir = std::env::temp_dir().join(format!("warden-authsrv-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    let ctl = warden::ninep::unix::bind(&run_dir.join("authsrv"), false).unwrap();
    let db = Arc::new(db);
    // this service's own table, as the daemon's: a factotum given this
    // handle keeps capabilities the control socket then trades in
    let local = Local::default();
    local.register("lan", db.clone(), SpeaksFor::default());
    let srv = TicketServer::bind("127.0.0.1:0", db, SpeaksFor::default(), limits)
        .unwrap()
        .with_options("lan", false)
        .with_control(ctl, local.clone())
        .unwrap();
    let addr = srv.local_addr().unwrap();
    let stop = Arc::new(Shutdown::new().unwrap());
    let s2 = stop.clone();
    let mut srv = srv;
    let h = thread::spawn(move || srv.serve(s2.fd()).unwrap());
    Running {
        addr,
        run_dir,
        stop,
        local,
        h: Some(h),
    }
}

fn treq(ty: u8) -> Vec<u8> {
    Ticketreq {
        ty,
        authid: "cpu".into(),
        authdom: "lan".into(),
        chal: *b"01234567",
        hostid: "glenda".into(),
        uid: "glenda".into(),
    }
    .emit()
    .unwrap()
    .to_vec()
}

fn conn(a: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Everything the server sends until it closes.
fn rest(mut s: TcpStream) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v);
    v
}

/// A ticket request that must succeed. Just after a flood the server may
/// still be full (it turns a connection away at once, by design), so a
/// reset is retried for a while.
fn good_ticket(a: SocketAddr) {
    let mut last = None;
    for _ in 0..100 {
        let mut s = conn(a);
        let mut b = [0u8; 145];
        match s
            .write_all(&treq(types::AUTH_TREQ))
            .and_then(|_| s.read_exact(&mut b))
        {
            Ok(()) => {
                assert_eq!(b[0], types::AUTH_OK);
                return;
            }
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no ticket: {last:?}");
}

fn status(r: &Running) -> HashMap<String, u64> {
    let out = Command::new(common::warden())
        .args(["authsrv", "status", "--run-dir"])
        .arg(&r.run_dir)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map: HashMap<String, u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect();
    // --json: the same counters as one object
    let out = Command::new(common::warden())
        .args(["authsrv", "status", "--json", "--run-dir"])
        .arg(&r.run_dir)
        .output_within(common::CHILD_DEADLINE)
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(
        json.starts_with(r#"{"connections":"#) && json.trim_end().ends_with('}'),
        "{json}"
    );
    for k in map.keys() {
        assert!(json.contains(&format!("\"{k}\":")), "{k}: {json}");
    }
    map
}

#[test]
fn bad_input_is_answered_or_closed_and_others_are_served() {
    let r = start(
        "bad",
        Limits {
            max_conns: 64,
            per_peer: 64,
            idle: Duration::from_millis(500),
        },
    );
    // short: half a request, then hang up
    let mut s = conn(r.addr);
    s.write_all(&treq(types::AUTH_TREQ)[..70]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(rest(s), b"");
    // long: a request and garbage behind it; the first is answered, the
    // garbage is a second request of an unknown type
    let mut s = conn(r.addr);
    let mut m = treq(types::AUTH_TREQ);
    m.extend_from_slice(&[0xee; 141]);
    s.write_all(&m).unwrap();
    let b = rest(s);
    assert_eq!(b[0], types::AUTH_OK);
    assert_eq!(b.len(), 145 + 65);
    assert_eq!(b[145], types::AUTH_ERR);
    // an unknown type: AuthErr and close
    let mut s = conn(r.addr);
    s.write_all(&treq(42)).unwrap();
    let b = rest(s);
    assert_eq!((b.len(), b[0]), (65, types::AUTH_ERR));
    // garbage names
    let mut s = conn(r.addr);
    let mut m = treq(types::AUTH_TREQ);
    m[1..29].fill(0xff);
    s.write_all(&m).unwrap();
    assert_eq!(rest(s)[0], types::AUTH_ERR);
    // a staller does not hold up others and is cut off
    let staller = conn(r.addr);
    let mut st = staller.try_clone().unwrap();
    st.write_all(&[1; 10]).unwrap();
    good_ticket(r.addr);
    let t = Instant::now();
    assert_eq!(rest(staller), b"");
    assert!(t.elapsed() < Duration::from_secs(10));
    let st = status(&r);
    assert_eq!(st["tickets"], 2);
    assert!(st["errors"] >= 3, "{st:?}");
    assert!(st["timeouts"] >= 1, "{st:?}");
}

#[test]
fn ten_thousand_connections_in_bounded_time() {
    let r = start(
        "many",
        Limits {
            max_conns: 64,
            per_peer: 64,
            idle: Duration::from_secs(5),
        },
    );
    let t = Instant::now();
    let mut held = Vec::new();
    for i in 0..10_000 {
        match TcpStream::connect(r.addr) {
            Ok(s) => {
                // keep a few open, drop the rest at once (some vanish
                // mid-request)
                if i % 3 == 0 {
                    let mut s = s;
                    let _ = s.write_all(&[1; 5]);
                } else if held.len() < 200 {
                    held.push(s);
                }
            }
            Err(e) => panic!("connect {i}: {e}"),
        }
    }
    // the service still answers
    good_ticket(r.addr);
    drop(held);
    good_ticket(r.addr);
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    let st = status(&r);
    assert!(st["connections"] >= 10_000, "{st:?}");
    assert!(st["refused"] > 0, "{st:?}");
}

#[test]
fn capabilities_from_a_p9any_server_are_traded_in_once() {
    let r = start("cap", warden::config::Config::default().authsrv.conns);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let local = r.local.clone();
    let srv = thread::spawn(move || {
        let mut f = Factotum::new("cpu", Box::new(SystemEnv { local }));
        f.ctl_write(b"key proto=p9sk1 dom=lan user=cpu !password='cpu key'")
            .unwrap();
        auth_proxy(&mut f, &mut a, "proto=p9any role=server")
    });
    let mut f = Factotum::new("glenda", Box::new(SystemEnv::default()));
    let key = format!(
        "key proto=p9sk1 dom=lan user=glenda auth=tcp!127.0.0.1!{} !password='glenda pw'",
        r.addr.port()
    );
    f.ctl_write(key.as_bytes()).unwrap();
    let c = auth_proxy(&mut f, &mut b, "proto=p9any role=client").unwrap();
    let s = srv.join().unwrap().unwrap();
    assert_eq!(c.cap, "", "clients get no capability");
    let (from_to, random) = s.cap.rsplit_once('@').unwrap();
    assert_eq!(from_to, "cpu@glenda");
    assert_eq!(random.len(), 20);
    let capuse = |cap: &str| {
        Command::new(common::warden())
            .args(["authsrv", "capuse", "--run-dir"])
            .arg(&r.run_dir)
            .arg(cap)
            .output_within(common::CHILD_DEADLINE)
            .unwrap()
    };
    // a forged one fails and does not use up the real one
    let forged = capuse("cpu@bootes@0123456789abcdef0123");
    assert_eq!(forged.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forged.stderr).contains("bad capability"));
    // the real one names the user, once (the control socket is served by
    // this process, which holds the table, as the daemon does)
    let ok = capuse(&s.cap);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "glenda\n");
    let again = capuse(&s.cap);
    assert_eq!(again.status.code(), Some(1));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(r.local.capuse(&s.cap, now).is_err());
}
