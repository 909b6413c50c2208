//! Serve the demo tree on a Unix socket until killed, for trying 9P
//! clients by hand, e.g. plan9port's:
//!
//! ```text
//! cargo run --example ninep_demo -- /tmp/ns.demo/demo &
//! NAMESPACE=/tmp/ns.demo 9p ls demo
//! ```

use warden::ninep::demo::DemoTree;
use warden::ninep::server::{Limits, Server};
use warden::ninep::unix::{self, ListenLimits, Listener, PeerPolicy};
use warden::service::Control;

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: ninep_demo SOCKET");
        std::process::exit(2);
    };
    let sock = unix::bind(&path, false)?;
    let server = Server::new("demo", DemoTree::new("demo"), Limits::default());
    let mut l = Listener::new(
        sock,
        Some(&path),
        server,
        PeerPolicy::owner_only(),
        ListenLimits::default(),
    )?;
    // Nothing ever writes this control pipe: serve until killed.
    let control = Control::new()?;
    l.run(control.fd(), |_, _| true)
}
