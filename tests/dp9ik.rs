//! dp9ik end to end: warden's ticket service on 127.0.0.1 (AuthPAK then
//! AuthTreq), two factotums shuttled like auth_proxy, and the real peer,
//! 9front's drawterm, against a CPU-server stand-in built on warden's
//! factotum, with p9any offering dp9ik and p9sk1.

mod common;
use common::drawterm::{drawterm, read_cstr};
use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use warden::auth::authsrv::decide::{Accounts, SpeaksFor};
use warden::auth::authsrv::des::passtokey;
use warden::auth::authsrv::server::{Stats, TicketServer};
use warden::auth::factotum::{Factotum, SystemEnv};
use warden::auth::keyfs::account::passtoaeskey;
use warden::auth::proxy::auth_proxy;
use warden::sys::signals::Shutdown;

struct Db(HashMap<String, ([u8; 7], [u8; 16])>);

impl Accounts for Db {
    fn des_key(&self, user: &str) -> Option<[u8; 7]> {
        self.0.get(user).map(|k| k.0)
    }
    fn aes_key(&self, user: &str) -> Option<[u8; 16]> {
        self.0.get(user).map(|k| k.1)
    }
}

const USERS: [(&str, &str); 2] = [("glenda", "glenda's secret"), ("cpu", "cpu server key")];

/// A ticket service holding USERS; its counters come back when stopped.
fn ticket_service(p9sk1: bool) -> (SocketAddr, Arc<Shutdown>, thread::JoinHandle<Stats>) {
    let db = Db(USERS
        .iter()
        .map(|(u, p)| {
            let k = (passtokey(p.as_bytes()), passtoaeskey(p.as_bytes()));
            (u.to_string(), k)
        })
        .collect());
    let mut srv = TicketServer::bind(
        "127.0.0.1:0",
        Arc::new(db),
        SpeaksFor::default(),
        warden::config::Config::default().authsrv.conns,
    )
    .unwrap()
    .with_p9sk1(p9sk1);
    let addr = srv.local_addr().unwrap();
    let stop = Arc::new(Shutdown::new().unwrap());
    let s2 = stop.clone();
    let h = thread::spawn(move || {
        srv.serve(s2.fd()).unwrap();
        srv.stats().clone()
    });
    (addr, stop, h)
}

fn factotum(owner: &str, keys: &[String]) -> Factotum {
    let mut f = Factotum::new(owner, Box::new(SystemEnv::default()));
    for k in keys {
        f.ctl_write(k.as_bytes()).unwrap();
    }
    f
}

fn client_key(proto: &str, auth: SocketAddr, pw: &str) -> String {
    format!(
        "key proto={proto} dom=lan user=glenda auth=tcp!127.0.0.1!{} !password='{}'",
        auth.port(),
        pw.replace('\'', "''")
    )
}

fn server_keys() -> Vec<String> {
    ["dp9ik", "p9sk1"]
        .iter()
        .map(|p| format!("key proto={p} dom=lan user=cpu !password='cpu server key'"))
        .collect()
}

/// cuid, suid, secret, or the error.
type Outcome = Result<(String, String, Vec<u8>), String>;

/// The server factotum (both keys) and a client with one key of
/// `key_proto`, through p9any, dp9ik or p9sk1; the ticket service's
/// counters after.
fn keyed_exchange(
    proto: &str,
    key_proto: &str,
    pw: &str,
    p9sk1: bool,
) -> (Outcome, Outcome, Stats) {
    let (auth, stop, h) = ticket_service(p9sk1);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start_s = format!("proto={proto} role=server");
    let srv = thread::spawn(move || {
        let mut f = factotum("cpu", &server_keys());
        let r =
            auth_proxy(&mut f, &mut a, &start_s).map(|ai| (ai.cuid, ai.suid, ai.secret.to_vec()));
        drop(a);
        r
    });
    let mut f = factotum("glenda", &[client_key(key_proto, auth, pw)]);
    let c = auth_proxy(&mut f, &mut b, &format!("proto={proto} role=client"))
        .map(|ai| (ai.cuid, ai.suid, ai.secret.to_vec()));
    drop(b);
    let s = srv.join().unwrap();
    stop.raise();
    (c, s, h.join().unwrap())
}

#[test]
fn dp9ik_between_two_factotums() {
    for proto in ["p9any", "dp9ik"] {
        let (c, s, st) = keyed_exchange(proto, "dp9ik", "glenda's secret", false);
        let c = c.unwrap_or_else(|e| panic!("{proto} client: {e}"));
        let s = s.unwrap_or_else(|e| panic!("{proto} server: {e}"));
        assert_eq!((c.0.as_str(), c.1.as_str()), ("glenda", "glenda"));
        assert_eq!((s.0.as_str(), s.1.as_str()), ("glenda", "glenda"));
        assert_eq!(c.2.len(), 256, "the dp9ik secret is 256 bytes of HKDF");
        assert_eq!(c.2, s.2, "both ends hold the same secret");
        assert_eq!((st.paks, st.tickets), (1, 1), "{st:?}");
    }
    // with only a p9sk1 key the client picks p9sk1 from the same offer
    let (c, s, st) = keyed_exchange("p9any", "p9sk1", "glenda's secret", true);
    assert_eq!(c.unwrap().2.len(), 8);
    assert!(s.is_ok());
    assert_eq!((st.paks, st.tickets), (0, 1), "{st:?}");
}

#[test]
fn dp9ik_wrong_password_fails_on_both_ends() {
    let (c, s, st) = keyed_exchange("p9any", "dp9ik", "not the password", false);
    let e = c.unwrap_err();
    assert!(e.contains("key mismatch with auth server"), "{e}");
    assert!(
        e.starts_with("badkey proto=dp9ik dom=lan user=glenda"),
        "{e}"
    );
    assert!(!e.contains("not the password"), "{e}");
    assert!(s.is_err());
    // the service saw a PAK; the tickets it gave open for nobody
    assert_eq!(st.paks, 1, "{st:?}");
}

#[test]
fn p9sk1_refused_in_a_dp9ik_only_domain() {
    let (c, s, _) = keyed_exchange("p9sk1", "p9sk1", "glenda's secret", false);
    let e = c.unwrap_err();
    assert!(e.contains("DES is disabled"), "{e}");
    assert!(s.is_err());
}

/// The stand-in for a Plan 9 CPU server speaking the old (`-O`) start:
/// `p9\0` from the client, `\0` back, p9any relayed through the factotum's
/// rpc in the server role, then the client's working directory answered
/// with `\0`.
fn cpu_standin(l: TcpListener) -> Result<(String, String, usize), String> {
    let (mut s, _) = l.accept().map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let hello = read_cstr(&mut s)?;
    if hello != "p9" {
        return Err(format!("start: got {hello:?}"));
    }
    s.write_all(b"\0").map_err(|e| e.to_string())?;
    let mut f = factotum("cpu", &server_keys());
    let ai = auth_proxy(&mut f, &mut s, "proto=p9any role=server")?;
    let _dir = read_cstr(&mut s)?;
    s.write_all(b"\0").map_err(|e| e.to_string())?;
    Ok((ai.cuid, ai.suid, ai.secret.len()))
}

#[test]
fn drawterm_9front_authenticates_with_dp9ik() {
    // a dp9ik-only domain: a p9sk1 fallback would fail
    let (auth, stop, h) = ticket_service(false);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let cpu = l.local_addr().unwrap();
    let srv = thread::spawn(move || cpu_standin(l));
    let (code, out) = drawterm(auth, cpu, "glenda", "glenda's secret");
    let got = srv.join().unwrap();
    assert_eq!(code, 0, "drawterm: {out}\nstand-in: {got:?}");
    assert_eq!(
        got,
        Ok(("glenda".to_string(), "glenda".to_string(), 256)),
        "dp9ik's 256-byte secret, not p9sk1's 8"
    );

    // a wrong password: drawterm fails, so does the server side
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let cpu = l.local_addr().unwrap();
    let srv = thread::spawn(move || cpu_standin(l));
    let (code, out) = drawterm(auth, cpu, "glenda", "wrong");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("wrong password") || out.contains("mismatch"),
        "{out}"
    );
    assert!(srv.join().unwrap().is_err());
    stop.raise();
    let st = h.join().unwrap();
    // both logins went through AuthPAK (the record of the service), and
    // the right one got its tickets
    assert_eq!(st.paks, 2, "{st:?}");
    assert!(st.tickets >= 1, "{st:?}");
}
