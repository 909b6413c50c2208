//! The factotum as a daemon service: its 9P tree ([`FactotumTree`]) on a
//! Unix socket, admitting the owner, root and the configured uids/gids
//! (SO_PEERCRED, [`factotum_policy`]). The process was hardened
//! at daemon start ([`crate::sys::harden`]: undumpable, no core, mlockall
//! where permitted).

use super::tree::FactotumTree;
use crate::auth::factotum::handle::AuthHandle;
use crate::auth::listener::{listen_limits, self_name, serve, Reloaded};
use crate::config::{self, Config};
use crate::ninep::server::{DynTree, Limits, Server};
use crate::ninep::unix::{self, Listener, PeerPolicy};
use crate::service::{Ctx, Service};
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

/// The daemon's uid as owner plus the factotum section's allow lists.
pub fn factotum_policy(cfg: &config::Factotum) -> PeerPolicy {
    PeerPolicy {
        allow_uids: cfg.allow_uid.clone(),
        allow_gids: cfg.allow_gid.clone(),
        ..PeerPolicy::owner_only()
    }
}

/// Bind `path` and make the listener serving `auth`'s factotum.
pub fn listen(
    auth: &AuthHandle,
    path: &Path,
    policy: PeerPolicy,
    conns: config::model::ConnLimits,
) -> io::Result<Listener<DynTree>> {
    let sock = unix::bind(path, policy.shared())?;
    // Served as a trait object, like the keyfs tree: one copy of the 9P
    // server's code in the binary, not one per tree (about 25 KB on mips).
    let tree: DynTree = Box::new(FactotumTree::new(auth.clone(), &self_name()));
    let server = Server::new("factotum", tree, Limits::default());
    let l = Listener::new(sock, Some(path), server, policy, listen_limits(conns))?;
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
    l.run(control, |_, _| go())
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
        let f = &ctx.config.factotum;
        self.auth.lock().factotum.set_confirm_wait(f.confirm_wait);
        let mut l = listen(&self.auth, &path, factotum_policy(f), f.conns)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        serve("factotum", &mut l, &ctx.control, |cfg| {
            let f = &cfg.factotum;
            self.auth.lock().factotum.set_confirm_wait(f.confirm_wait);
            Reloaded {
                policy: factotum_policy(f),
                conns: f.conns,
                socket: socket_path(cfg),
            }
        })?;
        Ok(())
    }
}
