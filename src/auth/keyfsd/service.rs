//! The keyfs daemon service: serves [`KeyfsTree`] over the daemon's one
//! [`SharedKeyfs`] on `<run_dir>/keyfs` (option `socket`), to the daemon's
//! uid and root only. In unattended mode it unlocks keyfs from the key
//! file when it starts; in attended mode keyfs stays locked until
//! `warden unlock` writes `unlock PASSPHRASE` to `ctl`. The keyfs stays
//! unlocked when the service stops (the daemon locks it when a reload
//! disables keyfs); on a reload the tree moves to a new `socket` in place.

use super::tree::KeyfsTree;
use crate::auth::keyfs::shared::SharedKeyfs;
use crate::ninep::server::{Limits, Server};
use crate::ninep::unix::{self, PeerPolicy};
use crate::service::{Ctx, Service};

pub struct KeyfsService {
    pub keyfs: SharedKeyfs,
}

impl Service for KeyfsService {
    fn name(&self) -> &'static str {
        "keyfs"
    }

    fn run(self: Box<Self>, ctx: Ctx) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let cfg = &ctx.config;
        // Started again by a reload while unlocked: it stays as it is.
        if matches!(
            self.keyfs.settings().mode,
            crate::auth::keyfs::Mode::Unattended { .. }
        ) && self.keyfs.is_locked()
        {
            match self.keyfs.unlock_unattended() {
                Ok(warnings) => {
                    for w in warnings {
                        log::warn!("keyfs: {w}");
                    }
                }
                Err(e) => log::error!("keyfs: unattended unlock failed, staying locked: {e}"),
            }
        }
        let path = cfg.keyfs.socket_path(&cfg.main.run_dir);
        // Admin only: the owner and root; no allow lists.
        let policy = PeerPolicy::owner_only();
        let sock =
            unix::bind(&path, false).map_err(|e| format!("keyfs: bind {}: {e}", path.display()))?;
        let owner = std::env::var("USER").unwrap_or_else(|_| "warden".into());
        let server = Server::new(
            "keyfs",
            Box::new(KeyfsTree::new(self.keyfs, &owner)) as crate::ninep::server::DynTree,
            Limits::default(),
        );
        let limits = crate::auth::listener::listen_limits(cfg.keyfs.conns);
        let mut l = unix::Listener::new(sock, Some(&path), server, policy, limits)?;
        log::info!("keyfs: serving {}", path.display());
        crate::auth::listener::serve("keyfs", &mut l, &ctx.control, |c| {
            crate::auth::listener::Reloaded {
                policy: PeerPolicy::owner_only(),
                conns: c.keyfs.conns,
                socket: c.keyfs.socket_path(&c.main.run_dir),
            }
        })?;
        Ok(())
    }
}
