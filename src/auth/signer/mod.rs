//! The signer: SSH certificates for the LAN, requested over a PAKE.

pub mod agent;
pub mod ca;
pub mod pake;
pub mod plain;
pub mod policy;
pub mod service;
