//! secstored in the daemon: `config secstore` (TCP 5356, Plan 9's
//! secstore port; off by default), served by
//! [`frameserve`](crate::sys::frameserve) in one poll loop: every
//! connection is a [`Session`] over the [`KeyfsBackend`]; who gets a
//! connection and when a silent one is closed is [`crate::admit`]'s.
//! A locked keyfs answers the first message at once (`!keyfs is
//! locked`).

use super::files::KeyfsBackend;
use super::pak::RAND_LEN;
use super::sconn;
use super::session::{Event as SEvent, Out, Session};
use crate::auth::keyfs::shared::SharedKeyfs;
use crate::sys::frameserve::{self, Closed, Handler, Limits, Peer, Verdict};
use std::net::{TcpListener, TcpStream};

/// Plan 9's secstore port.
pub const DEFAULT_PORT: u16 = 5356;

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub logins: u64,
    pub failures: u64,
}

pub struct Conn {
    session: Session,
    peer: String,
}

/// The protocol side of the server.
pub struct Secstored {
    pub backend: KeyfsBackend,
    pub name: String,
    pub stats: Stats,
}

impl Secstored {
    fn events(&mut self, c: &mut Conn) {
        for e in c.session.events.drain(..) {
            match e {
                SEvent::Login(u) => {
                    self.stats.logins += 1;
                    log::info!("secstore: {} logged in as {u}", c.peer);
                }
                SEvent::Failed(u) => {
                    self.stats.failures += 1;
                    log::warn!("secstore: {} failed to log in as {u}", c.peer);
                }
            }
        }
    }
}

impl Handler<TcpStream> for Secstored {
    type Conn = Conn;

    fn open(&mut self, _s: &TcpStream, peer: &Peer) -> Option<Conn> {
        self.stats.connections += 1;
        Some(Conn {
            session: Session::new(&self.name),
            peer: peer.name.clone(),
        })
    }

    fn split(&self, c: &Conn, buf: &[u8], _max: usize) -> frameserve::Split {
        match c.session.split(buf) {
            sconn::Split::Need => frameserve::Split::Need,
            sconn::Split::Record(len) => frameserve::Split::Frame { skip: 2, len },
            sconn::Split::Bad => frameserve::Split::Bad,
        }
    }

    fn frame(&mut self, c: &mut Conn, body: &[u8]) -> Verdict {
        let mut rand = zeroize::Zeroizing::new([0u8; RAND_LEN]);
        if crate::sys::random::fill(&mut rand[..]).is_err() {
            log::error!("secstore: getrandom failed; closing {}", c.peer);
            return Verdict::Close;
        }
        let out = c.session.record(body, &mut self.backend, &rand);
        self.events(c);
        match out {
            Out::Send(b) => Verdict::Send(b),
            Out::SendClose(b) if b.is_empty() => Verdict::Close,
            Out::SendClose(b) => Verdict::SendClose(b),
        }
    }

    fn closed(&mut self, mut c: Conn, _peer: &Peer, why: Closed) {
        c.session.closed(&mut self.backend);
        self.events(&mut c);
        if why == Closed::Idle {
            log::debug!("secstore: {} idle, closed", c.peer);
        }
    }
}

/// The limits: `secstore max_conns`, `peer_conns`, `idle_timeout`;
/// records of at most 4096 bytes and their MAC.
pub fn limits(c: &crate::config::Config) -> Limits {
    Limits {
        admit: c.secstore.conns,
        max_frame: sconn::MAXMSG + 20,
    }
}

/// A server bound to `listen` (tests bind port 0).
pub fn bind(
    listen: &str,
    keyfs: SharedKeyfs,
    name: &str,
    limits: Limits,
) -> std::io::Result<frameserve::Server<TcpListener, Secstored>> {
    let listener = TcpListener::bind(crate::dns::resolve::resolve(listen)?)?;
    listener.set_nonblocking(true)?;
    let h = Secstored {
        backend: KeyfsBackend::new(keyfs),
        name: name.to_string(),
        stats: Stats::default(),
    };
    Ok(frameserve::Server::new(listener, h, limits))
}

pub struct SecstoreService {
    pub keyfs: SharedKeyfs,
}

impl crate::service::Service for SecstoreService {
    fn name(&self) -> &'static str {
        "secstore"
    }

    fn run(
        self: Box<Self>,
        ctx: crate::service::Ctx,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let s = &ctx.config.secstore;
        let mut server = bind(&s.listen, self.keyfs.clone(), &s.name, limits(&ctx.config))
            .map_err(|e| format!("listen on {}: {e}", s.listen))?;
        log::info!(
            "secstore: listening on {} as {}; files under {}",
            s.listen,
            s.name,
            server.handler.backend.root.display()
        );
        loop {
            server.serve(ctx.control.fd())?;
            for ev in ctx.control.take() {
                match ev {
                    crate::service::Event::Stop => return Ok(()),
                    crate::service::Event::Reload(c) => {
                        // a new listen address restarts the service
                        // (daemon/plan.rs)
                        server.handler.name = c.secstore.name.clone();
                        server.set_limits(limits(&c));
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "client"))]
mod tests {
    use super::*;
    use crate::auth::keyfs::account::SecstoreAccount;
    use crate::auth::keyfs::{Expiry, Mode, RealFs, Settings, Store};
    use crate::auth::secstore::client::{ClientError, Conn};
    use crate::auth::secstore::pak;
    use crate::sys::signals::Shutdown;
    use std::sync::Arc;
    use std::time::Duration;

    struct Running {
        addr: std::net::SocketAddr,
        stop: Arc<Shutdown>,
        handle: Option<std::thread::JoinHandle<()>>,
        keyfs: SharedKeyfs,
        dir: std::path::PathBuf,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.raise();
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn start(tag: &str) -> Running {
        let dir =
            std::env::temp_dir().join(format!("warden-secstored-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        {
            let mut s = Store::create(RealFs, &file, b"master", 1000).unwrap();
            s.add_user("glenda", Expiry::Never, 0).unwrap();
            let hi = pak::verifier("glenda", b"glenda's secstore").1.to_be_vec();
            let acct = SecstoreAccount {
                hi: zeroize::Zeroizing::new(hi),
                max_files: 2,
                max_bytes: 10_000,
            };
            s.set_secstore("glenda", Some(acct), 0).unwrap();
        }
        let keyfs = SharedKeyfs::new(Settings {
            file,
            mode: Mode::Attended,
            iterations: 1000,
        });
        keyfs.unlock(b"master").unwrap();
        let limits = Limits {
            admit: crate::admit::Limits {
                max_conns: 8,
                per_peer: 8,
                // Longer than a debug build's PAK takes on a busy
                // machine: no test here waits for the idle expiry.
                idle: Duration::from_secs(120),
            },
            max_frame: sconn::MAXMSG + 20,
        };
        let mut srv = bind("127.0.0.1:0", keyfs.clone(), "warden", limits).unwrap();
        let addr = srv.listener.local_addr().unwrap();
        let stop = Arc::new(Shutdown::new().unwrap());
        let st = stop.clone();
        let handle = Some(std::thread::spawn(move || srv.serve(st.fd()).unwrap()));
        Running {
            addr,
            stop,
            handle,
            keyfs,
            dir,
        }
    }

    fn login(r: &Running, pw: &[u8]) -> Result<Conn<TcpStream>, ClientError> {
        let s = TcpStream::connect(r.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
        Conn::login(s, "glenda", pw, &[4; pak::RAND_LEN])
    }

    #[test]
    fn warden_client_against_the_daemons_secstored() {
        let r = start("files");
        let pw = b"glenda's secstore";
        let keys = b"key proto=pass service=ssh user=glenda !password=x\n";
        let mut c = login(&r, pw).unwrap();
        c.put("factotum", keys, pw, [1; 16]).unwrap();
        assert_eq!(&c.get("factotum", pw).unwrap()[..], keys);
        let stored = r.dir.join("secstore/glenda/factotum");
        assert_eq!(
            std::fs::metadata(&stored).unwrap().len(),
            keys.len() as u64 + 32
        );
        // the server holds ciphertext only
        assert!(!std::fs::read(&stored)
            .unwrap()
            .windows(5)
            .any(|w| w == b"proto"));
        c.put("second", b"2", pw, [2; 16]).unwrap();
        // the file quota: a third file is refused, and the connection ends
        let e = c.put("third", b"3", pw, [3; 16]).unwrap_err();
        assert!(
            e.to_string()
                .contains("quota exceeded: glenda may keep 2 files"),
            "{e}"
        );
        assert!(!r.dir.join("secstore/glenda/third").exists());
        // the byte quota, and a replacement that fits
        let mut c = login(&r, pw).unwrap();
        let e = c.put("second", &[0; 10_000], pw, [3; 16]).unwrap_err();
        // the reason, unless the server's hanging up mid-upload reset the
        // connection before it was read
        assert!(
            e.to_string().contains("may keep 10000 bytes") || matches!(e, ClientError::Io(_)),
            "{e}"
        );
        assert_eq!(
            std::fs::read(r.dir.join("secstore/glenda/second"))
                .unwrap()
                .len(),
            33
        );
        let mut c = login(&r, pw).unwrap();
        c.put("second", b"22", pw, [3; 16]).unwrap();
        // path tricks never reach the file system
        let e = c.get_raw("../keys").unwrap_err();
        assert!(e.to_string().contains("no slashes"), "{e}");
        let mut c = login(&r, pw).unwrap();
        c.remove("second").unwrap();
        assert!(c.list().unwrap().starts_with("factotum\t"));
        c.bye().unwrap();
        // a wrong password is a failed login counted in keyfs
        assert!(matches!(login(&r, b"not it"), Err(ClientError::Refused)));
        // counted when the server reads the client's giving up (or its
        // hanging up): wait for that, with a deadline
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while r.keyfs.failures("glenda").unwrap().consecutive == 0
            && std::time::Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(r.keyfs.failures("glenda").unwrap().consecutive, 1);
        login(&r, pw).unwrap().bye().unwrap();
        assert_eq!(r.keyfs.failures("glenda").unwrap().consecutive, 0);
        // a locked keyfs answers at once, and the service keeps serving
        r.keyfs.lock();
        let e = login(&r, pw).err().unwrap();
        assert!(
            e.to_string()
                .starts_with("secstore: the server says: keyfs is locked"),
            "{e}"
        );
        r.keyfs.unlock(b"master").unwrap();
        let mut c = login(&r, pw).unwrap();
        assert_eq!(&c.get("factotum", pw).unwrap()[..], keys);
    }
}
