//! The ticket service as a daemon service: the TCP listener of
//! `config authsrv`, the control socket `<run_dir>/authsrv` (`status`,
//! `capuse CAP`; root and the daemon's uid only), and the in-process
//! registration that lets the daemon's factotum get tickets for its own
//! domain without a socket.

use super::decide::{Accounts, SpeaksFor};
use super::local::Local;
use super::server::TicketServer;
use crate::service::{Ctx, Event, Service};
use std::sync::Arc;

/// The control socket's name in the run directory.
pub const SOCKET_NAME: &str = "authsrv";

pub struct AuthsrvService {
    accounts: Arc<dyn Accounts + Send + Sync>,
    local: Local,
}

impl AuthsrvService {
    /// Serve tickets from `accounts` (the daemon's shared keyfs), and in
    /// process through `local` (the handle the daemon's factotum asks).
    pub fn new(accounts: Arc<dyn Accounts + Send + Sync>, local: Local) -> AuthsrvService {
        AuthsrvService { accounts, local }
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
                .with_control(ctl, self.local.clone())?;
            self.local
                .register(&a.authdom, self.accounts.clone(), speaks);
            log::info!(
                "authsrv: tickets for {} on {}; control {}",
                a.authdom,
                a.listen,
                sock.display()
            );
            // Serve until stopped, or until a reload changes what the
            // listener was made from (another reload leaves it alone).
            let r = loop {
                if let Err(e) = srv.serve(ctx.control.fd()) {
                    break Err(e);
                }
                let mut stop = false;
                let mut next = None;
                for ev in ctx.control.take() {
                    match ev {
                        Event::Stop => stop = true,
                        Event::Reload(c) => next = Some(c),
                    }
                }
                if stop {
                    break Ok(true);
                }
                if let Some(c) = next {
                    let rebind = c.authsrv != cfg.authsrv || c.main.run_dir != cfg.main.run_dir;
                    cfg = c;
                    if rebind {
                        break Ok(false);
                    }
                }
            };
            self.local.unregister();
            let _ = std::fs::remove_file(&sock);
            if r? {
                return Ok(());
            }
            log::info!(
                "authsrv: options changed, rebinding ({} tickets so far)",
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
