//! 9P2000: the codec ([`fcall`]), a synthetic file tree server
//! ([`server`]) and its Unix-socket listener ([`unix`]).
//!
//! A service (the factotum, keyfs, a status tree) implements
//! [`server::Tree`]; the [`server::Server`] handles 9P sessions, fids,
//! modes, permissions and exclusive opens over it, and [`unix::Listener`]
//! serves it to many clients from one thread with poll(2).
//!
//! How a tree maps onto factotum's files (plan9port
//! src/cmd/auth/factotum/fs.c): `stat` gives ctl 0600, rpc 0666, proto
//! 0444, needkey/confirm/log `DMEXCL|0600`, so the server enforces the
//! modes and the one-at-a-time opens; `open` starts an rpc conversation
//! keyed by the [`server::Handle`]; `read` on rpc, needkey, confirm or log
//! answers [`server::Read::Pending`] when nothing is ready and later
//! queues a [`server::Completion`] (for instance when a write to confirm
//! lets a conversation go on); `flush` and `clunk` end waits and
//! conversations. ctl and rpc ignore the offset they are given.
//!
//! Running it as a daemon service:
//!
//! ```no_run
//! # use warden::ninep::{demo::DemoTree, server::{Limits, Server}, unix};
//! # use warden::auth::factotum::service::{factotum_policy, socket_path};
//! # use warden::auth::listener::{serve, Reloaded};
//! # fn f(ctx: warden::service::Ctx) -> std::io::Result<()> {
//! let path = std::path::Path::new("/var/run/warden/factotum");
//! let policy = factotum_policy(&ctx.config.factotum);
//! let sock = unix::bind(path, policy.shared())?;
//! let server = Server::new("factotum", DemoTree::new("root"), Limits::default());
//! let mut l = unix::Listener::new(sock, Some(path), server, policy, Default::default())?;
//! serve("factotum", &mut l, &ctx.control, |cfg| Reloaded {
//!     policy: factotum_policy(&cfg.factotum),
//!     conns: cfg.factotum.conns,
//!     socket: socket_path(cfg),
//! })
//! # }
//! ```
//!
//! plan9port's clients find a service `S` at `$NAMESPACE/S`
//! ([`unix::namespace_dir`]) and speak 9P on it at once.

pub mod client;
pub mod demo;
pub mod fcall;
pub mod files;
pub mod fuzzing;
pub mod server;
pub mod unix;
pub mod vecmap;
