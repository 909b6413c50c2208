//! The ticket service as a daemon service: the TCP listener of
//! `config authsrv`, the control socket `<run_dir>/authsrv` (`status`,
//! `capuse CAP`; root and the daemon's uid only), and the in-process
//! registration that lets the daemon's factotum get tickets for its own
//! domain without a socket.

use super::decide::{Accounts, SpeaksFor};
use super::server::TicketServer;
use crate::service::{Ctx, Event, Service};
use std::sync::Arc;

/// The control socket's name in the run directory.
pub const SOCKET_NAME: &str = "authsrv";

pub struct AuthsrvService {
    accounts: Arc<dyn Accounts + Send + Sync>,
}

impl AuthsrvService {
    /// Serve tickets from `accounts` (the daemon's shared keyfs).
    pub fn new(accounts: Arc<dyn Accounts + Send + Sync>) -> AuthsrvService {
        AuthsrvService { accounts }
    }
}

impl Service for AuthsrvService {
    fn name(&self) -> &'static str {
        "authsrv"
    }

    fn run(self: Box<Self>, ctx: Ctx) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut cfg = ctx.config.clone();
        loop {
            let a = &cfg.authsrv;
            let speaks = SpeaksFor::parse(&a.speaksfor)?;
            let limits = a.conns;
            let srv = TicketServer::bind(&a.listen, self.accounts.clone(), speaks.clone(), limits)
                .map_err(|e| format!("listen on {}: {e}", a.listen))?;
            let sock = cfg.main.run_dir.join(SOCKET_NAME);
            let ctl = crate::ninep::unix::bind(&sock, false)
                .map_err(|e| format!("{}: {e}", sock.display()))?;
            let mut srv = srv
                .with_options(&a.authdom, a.allow_passwd)
                .with_p9sk1(a.p9sk1)
                .with_control(ctl)?;
            super::local::register(&a.authdom, self.accounts.clone(), speaks);
            super::local::caps_enable(true);
            log::info!(
                "authsrv: tickets for {} on {}; control {}",
                a.authdom,
                a.listen,
                sock.display()
            );
            let r = srv.serve(ctx.control.fd());
            super::local::unregister();
            super::local::caps_enable(false);
            let _ = std::fs::remove_file(&sock);
            r?;
            // the control fd woke us: stop, or rebind with the new config
            let mut next = None;
            for ev in ctx.control.take() {
                match ev {
                    Event::Stop => return Ok(()),
                    Event::Reload(c) => next = Some(c),
                }
            }
            if let Some(c) = next {
                cfg = c;
            }
            log::info!(
                "authsrv: reloading ({} tickets so far)",
                srv.stats().tickets
            );
        }
    }
}

/// Ask the running service (`status` or `capuse CAP`) on its control
/// socket.
pub fn ask(sock: &std::path::Path, req: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.write_all(req.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
