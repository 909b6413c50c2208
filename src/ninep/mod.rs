//! 9P2000: the codec ([`fcall`]), a synthetic file tree server
//! ([`server`]) and its Unix-socket listener ([`unix`]).
//!
//! A service (the factotum, keyfs, a status tree) implements
//! [`server::Tree`]; the [`server::Server`] handles 9P sessions, fids,
//! modes, permissions and exclusive opens over it, and [`unix::Listener`]
//! serves it to many clients from one thread with poll(2).

pub mod demo;
pub mod fcall;
pub mod server;
pub mod unix;
mod vecmap;
