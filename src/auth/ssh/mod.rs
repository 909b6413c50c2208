//! SSH formats for the signer and the agent: keys, certificates, KRLs
//! and the agent protocol, sans-IO.

pub mod cert;
pub mod key;
pub mod krl;
pub mod wire;

pub mod agent;
