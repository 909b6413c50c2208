//! A 9P tree's Unix listener as a daemon service, for the factotum's
//! ([`crate::auth::factotum::service`]) and the keyfs tree's
//! ([`crate::auth::keyfsd::service`]) sockets: limits from a section's
//! connection options, and the loop that follows the daemon's stop and
//! reload events.

use crate::config::{model::ConnLimits, Config};
use crate::ninep::server::Tree;
use crate::ninep::unix::{ListenLimits, Listener, PeerPolicy};
use crate::service::{Control, Event};
use std::io;
use std::path::PathBuf;

/// The listener limits of a 9P socket with connection limits `conns`.
pub fn listen_limits(conns: ConnLimits) -> ListenLimits {
    ListenLimits {
        admit: conns,
        ..ListenLimits::default()
    }
}

/// What a 9P service takes from a new configuration.
pub struct Reloaded {
    pub policy: PeerPolicy,
    pub conns: ConnLimits,
    /// Where its socket is to be: a new path is bound in place, the
    /// connections already open stay ([`Listener::rebind`]).
    pub socket: PathBuf,
}

/// Run `l` as a daemon service (the factotum's, the keyfs tree's): until
/// [`Event::Stop`] arrives on `control`; on [`Event::Reload`], `reloaded`
/// maps the new configuration to the peer policy, the connection limits
/// and the socket (connections already admitted stay). `name` is for logs.
pub fn serve<T: Tree>(
    name: &str,
    l: &mut Listener<T>,
    control: &Control,
    mut reloaded: impl FnMut(&Config) -> Reloaded,
) -> io::Result<()> {
    loop {
        let mut stop = false;
        let mut socket = None;
        l.run(control.fd(), |p, limits| {
            for ev in control.take() {
                match ev {
                    Event::Stop => stop = true,
                    Event::Reload(cfg) => {
                        let r = reloaded(&cfg);
                        (*p, *limits) = (r.policy, r.conns);
                        socket = Some(r.socket);
                    }
                }
            }
            !stop && socket.is_none()
        })?;
        if stop {
            return Ok(());
        }
        if let Some(path) = socket {
            match l.rebind(&path, l.policy.shared()) {
                Ok(true) => log::info!("{name}: moved to {}", path.display()),
                Ok(false) => {}
                Err(e) => log::error!(
                    "{name}: cannot move to {}, staying where it was: {e}",
                    path.display()
                ),
            }
        }
    }
}

/// The user name the daemon runs as (the files' owner).
pub fn self_name() -> String {
    // SAFETY: geteuid cannot fail.
    crate::sys::users::name_of(unsafe { libc::geteuid() })
}
