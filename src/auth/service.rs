//! The factotum as a daemon service: its 9P tree ([`FactotumTree`]) on a
//! Unix socket, admitting the owner, root and the configured uids/gids
//! (SO_PEERCRED, [`PeerPolicy::for_factotum`]). The process was hardened
//! at daemon start ([`crate::sys::harden`]: undumpable, no core, mlockall
//! where permitted).

use crate::auth::factotum::tree::FactotumTree;
use crate::auth::state::AuthHandle;
use crate::config::Config;
use crate::daemon::{Ctx, Service};
use crate::ninep::server::{DynTree, Limits, Server};
use crate::ninep::unix::{self, ListenLimits, Listener, PeerPolicy};
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

/// The socket the configuration names: `factotum.socket`, else
/// `<run_dir>/factotum`.
pub fn socket_path(cfg: &Config) -> PathBuf {
    cfg.factotum
        .socket
        .clone()
        .unwrap_or_else(|| cfg.main.run_dir.join("factotum"))
}

/// The user name the daemon runs as (the files' owner).
pub fn self_name() -> String {
    // SAFETY: geteuid cannot fail.
    crate::sys::users::name_of(unsafe { libc::geteuid() })
}

/// Bind `path` and make the listener serving `auth`'s factotum.
pub fn listen(auth: &AuthHandle, path: &Path, policy: PeerPolicy) -> io::Result<Listener<DynTree>> {
    let sock = unix::bind(path, policy.shared())?;
    // Served as a trait object, like the keyfs tree: one copy of the 9P
    // server's code in the binary, not one per tree (about 25 KB on mips).
    let tree: DynTree = Box::new(FactotumTree::new(auth.clone(), &self_name()));
    let server = Server::new("factotum", tree, Limits::default());
    let l = Listener::new(sock, Some(path), server, policy, ListenLimits::default())?;
    log::info!("factotum: serving {}", path.display());
    Ok(l)
}

/// Serve until `control` readable makes `go` say stop (for the foreground
/// command, which watches signals instead of the daemon's control pipe).
pub fn serve_until(
    l: &mut Listener<DynTree>,
    control: RawFd,
    mut go: impl FnMut() -> bool,
) -> io::Result<()> {
    l.run(control, |_| go())
}

/// The daemon's factotum service.
pub struct FactotumService {
    pub auth: AuthHandle,
}

impl Service for FactotumService {
    fn name(&self) -> &'static str {
        "factotum"
    }

    fn run(self: Box<Self>, ctx: Ctx) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let path = socket_path(&ctx.config);
        let mut l = listen(
            &self.auth,
            &path,
            PeerPolicy::for_factotum(&ctx.config.factotum),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        unix::serve(&mut l, &ctx.control, |cfg| {
            PeerPolicy::for_factotum(&cfg.factotum)
        })?;
        Ok(())
    }
}
