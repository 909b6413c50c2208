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
