//! A p9any/p9sk1 server for trying other clients by hand: warden's ticket
//! service holding `glenda` (password `glenda pw`) and `cpu` (`cpu key`)
//! on 127.0.0.1, and a TCP port where warden's factotum, as `cpu`, serves
//! p9any (role server) for one connection and prints the authinfo.
//!
//! Usage: p9any_server      (prints "auth PORT" and "server PORT" first)

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use warden::auth::authsrv::decide::{Accounts, SpeaksFor};
use warden::auth::authsrv::server::TicketServer;
use warden::auth::factotum::{Factotum, SystemEnv};
use warden::auth::keyfs::account::passtokey;
use warden::auth::proxy::auth_proxy;
use warden::sys::signals::Shutdown;

struct Db(HashMap<&'static str, [u8; 7]>);

impl Accounts for Db {
    fn des_key(&self, user: &str) -> Option<[u8; 7]> {
        self.0.get(user).copied()
    }
}

fn main() {
    let db = Db(HashMap::from([
        ("glenda", passtokey(b"glenda pw")),
        ("cpu", passtokey(b"cpu key")),
    ]));
    let mut srv = TicketServer::bind(
        "127.0.0.1:0",
        Arc::new(db),
        SpeaksFor::default(),
        warden::config::Config::default().authsrv.conns,
    )
    .expect("bind");
    println!("auth {}", srv.local_addr().expect("addr").port());
    let stop = Arc::new(Shutdown::new().expect("pipe"));
    let s2 = stop.clone();
    let h = std::thread::spawn(move || srv.serve(s2.fd()).expect("serve"));
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("server {}", l.local_addr().expect("addr").port());
    let (mut s, _) = l.accept().expect("accept");
    let mut f = Factotum::new("cpu", Box::new(SystemEnv::default()));
    f.ctl_write(b"key proto=p9sk1 dom=lan user=cpu !password='cpu key'")
        .expect("key");
    match auth_proxy(&mut f, &mut s, "proto=p9any role=server") {
        Ok(ai) => println!(
            "server done: cuid={} suid={} secret={} bytes",
            ai.cuid,
            ai.suid,
            ai.secret.len()
        ),
        Err(e) => println!("server failed: {e}"),
    }
    stop.raise();
    h.join().expect("server");
}
