//! p9sk1 and p9any end to end: warden's ticket service on 127.0.0.1, two
//! factotums shuttled like auth_proxy, and the real peer, 9front's
//! drawterm, against a CPU-server stand-in built on warden's factotum.

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
use warden::auth::authsrv::server::TicketServer;
use warden::auth::factotum::{Factotum, SystemEnv};
use warden::auth::proxy::auth_proxy;
use warden::sys::signals::Shutdown;

struct Db(HashMap<String, [u8; 7]>);

impl Accounts for Db {
    fn des_key(&self, user: &str) -> Option<[u8; 7]> {
        self.0.get(user).copied()
    }
}

const USERS: [(&str, &str); 2] = [("glenda", "glenda's secret"), ("cpu", "cpu server key")];

/// A ticket service holding USERS; dropped Shutdown raised by the caller.
fn ticket_service() -> (SocketAddr, Arc<Shutdown>, thread::JoinHandle<()>) {
    let db = Db(USERS
        .iter()
        .map(|(u, p)| (u.to_string(), passtokey(p.as_bytes())))
        .collect());
    let mut srv = TicketServer::bind(
        "127.0.0.1:0",
        Arc::new(db),
        SpeaksFor::default(),
        warden::config::Config::default().authsrv.conns,
    )
    .unwrap();
    let addr = srv.local_addr().unwrap();
    let stop = Arc::new(Shutdown::new().unwrap());
    let s2 = stop.clone();
    let h = thread::spawn(move || srv.serve(s2.fd()).unwrap());
    (addr, stop, h)
}

fn factotum(owner: &str, keys: &[String]) -> Factotum {
    let mut f = Factotum::new(owner, Box::new(SystemEnv::default()));
    for k in keys {
        f.ctl_write(k.as_bytes()).unwrap();
    }
    f
}

fn client_key(auth: SocketAddr, pw: &str) -> String {
    format!(
        "key proto=p9sk1 dom=lan user=glenda auth=tcp!127.0.0.1!{} !password='{}'",
        auth.port(),
        pw.replace('\'', "''")
    )
}

fn server_key() -> String {
    "key proto=p9sk1 dom=lan user=cpu !password='cpu server key'".to_string()
}

/// cuid, suid, secret, cap, or the error.
type Outcome = Result<(String, String, Vec<u8>, String), String>;

fn exchange(proto: &str, client_pw: &str) -> (Outcome, Outcome) {
    let (auth, stop, h) = ticket_service();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start_s = format!("proto={proto} role=server");
    let srv = thread::spawn(move || {
        let mut f = factotum("cpu", &[server_key()]);
        let r = auth_proxy(&mut f, &mut a, &start_s)
            .map(|ai| (ai.cuid, ai.suid, ai.secret.to_vec(), ai.cap));
        drop(a);
        r
    });
    let mut f = factotum("glenda", &[client_key(auth, client_pw)]);
    let c = auth_proxy(&mut f, &mut b, &format!("proto={proto} role=client"))
        .map(|ai| (ai.cuid, ai.suid, ai.secret.to_vec(), ai.cap));
    drop(b);
    let s = srv.join().unwrap();
    stop.raise();
    h.join().unwrap();
    (c, s)
}

#[test]
fn p9any_between_two_factotums() {
    for proto in ["p9any", "p9sk1"] {
        let (c, s) = exchange(proto, "glenda's secret");
        let c = c.unwrap_or_else(|e| panic!("{proto} client: {e}"));
        let s = s.unwrap_or_else(|e| panic!("{proto} server: {e}"));
        assert_eq!((c.0.as_str(), c.1.as_str()), ("glenda", "glenda"));
        assert_eq!((s.0.as_str(), s.1.as_str()), ("glenda", "glenda"));
        assert_eq!(c.2.len(), 8, "the secret is des56to64 of the ticket key");
        assert_eq!(c.2, s.2, "both ends hold the same secret");
        // the factotum here keeps no capability hashes, so hands out none
        assert_eq!(c.3, "");
        assert_eq!(s.3, "");
    }
}

#[test]
fn p9any_wrong_password_fails_on_both_ends() {
    let (c, s) = exchange("p9any", "not the password");
    let e = c.unwrap_err();
    assert!(e.contains("key mismatch with auth server"), "{e}");
    assert!(
        e.starts_with("badkey proto=p9sk1 dom=lan user=glenda"),
        "{e}"
    );
    assert!(!e.contains("not the password"), "{e}");
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
    // an empty string: no error
    s.write_all(b"\0").map_err(|e| e.to_string())?;
    let mut f = factotum("cpu", &[server_key()]);
    let ai = auth_proxy(&mut f, &mut s, "proto=p9any role=server")?;
    let _dir = read_cstr(&mut s)?;
    s.write_all(b"\0").map_err(|e| e.to_string())?;
    Ok((ai.cuid, ai.suid, ai.secret.len()))
}

#[test]
fn drawterm_9front_authenticates_with_p9sk1() {
    let (auth, stop, h) = ticket_service();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let cpu = l.local_addr().unwrap();
    let srv = thread::spawn(move || cpu_standin(l));
    let (code, out) = drawterm(auth, cpu, "glenda", "glenda's secret");
    let got = srv.join().unwrap();
    assert_eq!(code, 0, "drawterm: {out}\nstand-in: {got:?}");
    assert_eq!(got, Ok(("glenda".to_string(), "glenda".to_string(), 8)));

    // a wrong password: drawterm fails, so does the server side. drawterm
    // knows its ticket is bad only by its one-byte type (t.num != AuthTc):
    // with a wrong key that byte still comes out right 1 time in 256, and
    // then drawterm sends an authenticator the server cannot open, the
    // server hangs up, and drawterm says it cannot read the authenticator.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let cpu = l.local_addr().unwrap();
    let srv = thread::spawn(move || cpu_standin(l));
    let (code, out) = drawterm(auth, cpu, "glenda", "wrong");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("wrong password")
            || out.contains("remote:")
            || out.contains("mismatch")
            || out.contains("cannot read authenticator"),
        "{out}"
    );
    assert!(srv.join().unwrap().is_err());
    stop.raise();
    h.join().unwrap();
}
