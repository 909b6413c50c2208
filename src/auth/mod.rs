//! Authentication: Plan 9 style keys, the factotum, keyfs and the auth server.

pub mod authsrv;
