//! The Plan 9 authentication server: DES as Plan 9 uses it, the ticket
//! formats of authsrv(6), and the ticket service.

pub mod caps;
pub mod des;
pub mod dial;
pub mod exchanges;
pub mod local;
pub mod server;
pub mod service;
pub mod ticket;
pub mod tickets;
