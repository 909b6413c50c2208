//! A 9P tree's Unix listener as a daemon service, for the factotum's
//! ([`crate::auth::factotum::service`]) and the keyfs tree's
//! ([`crate::auth::keyfs::service`]) sockets: limits from a section's
//! connection options, and the loop that follows the daemon's stop and
//! reload events.

use crate::config::{model::ConnLimits, Config};
use crate::ninep::server::Tree;
use crate::ninep::unix::{ListenLimits, Listener, PeerPolicy};
use crate::service::{Control, Event};
use std::io;

/// The listener limits of a 9P socket with connection limits `conns`.
pub fn listen_limits(conns: ConnLimits) -> ListenLimits {
    ListenLimits {
        admit: conns,
        ..ListenLimits::default()
    }
}

/// Run `l` as a daemon service (the factotum's, the keyfs tree's): until
/// [`Event::Stop`] arrives on `control`; on [`Event::Reload`], `policy`
/// maps the new configuration to the peer policy and connection limits
/// (connections already admitted stay).
pub fn serve<T: Tree>(
    l: &mut Listener<T>,
    control: &Control,
    mut policy: impl FnMut(&Config) -> (PeerPolicy, ConnLimits),
) -> io::Result<()> {
    l.run(control.fd(), |p, limits| {
        let mut go = true;
        for ev in control.take() {
            match ev {
                Event::Stop => go = false,
                Event::Reload(cfg) => (*p, *limits) = policy(&cfg),
            }
        }
        go
    })
}

/// The user name the daemon runs as (the files' owner).
pub fn self_name() -> String {
    // SAFETY: geteuid cannot fail.
    crate::sys::users::name_of(unsafe { libc::geteuid() })
}
