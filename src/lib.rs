//! warden: a self-healing 3G uplink and a Plan 9 style key agent, user
//! database and signer for OpenWRT routers. See ARCHITECTURE.md.
//!
//! The protocol code (UCI, wire formats) is sans-IO: pure functions and
//! state machines over bytes. I/O lives in `sys`, `daemon` and the CLI.

pub mod admit;
#[cfg(feature = "auth")]
pub mod auth;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dns;
pub mod json;
pub mod ninep;
pub mod service;
pub mod sys;
pub mod uplink;
pub mod when;
pub mod wire;
