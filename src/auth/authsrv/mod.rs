//! The Plan 9 authentication server: DES as Plan 9 uses it (`des.rs`), the
//! message formats of authsrv(6) (`wire.rs`), the ticket service's
//! decisions (`decide.rs`: one request in, the reply out) and the
//! multi-message exchanges (`exchanges.rs`), both sans-IO; the TCP loop
//! (`server.rs`), the client side (`dial.rs`) and the daemon service.

pub mod authpak;
pub mod caps;
pub mod decide;
pub mod des;
pub mod dial;
pub mod ed448;
pub mod exchanges;
pub mod form1;
pub mod local;
pub mod pak;
pub mod server;
pub mod service;
pub mod wire;
