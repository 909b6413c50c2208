//! DNS health: is the uplink's resolver answering?
//!
//! [`wire`] builds and parses the one query a probe needs; [`check`] judges
//! a server (placeholder addresses without sending anything, every other
//! server with a real query over UDP) and runs many probes at once within a
//! deadline. `warden dns check` is the command-line face of [`check`].
//! [`resolve`] turns the host names warden binds and dials into addresses.

pub mod check;
pub mod resolve;
pub mod wire;

pub use check::{
    check_all, parse_server, placeholder, summarize, Health, Server, Source, Summary, Timing,
};

/// The name probed when none is configured: one that has A records
/// everywhere and that OpenWRT routers resolve anyway.
pub const DEFAULT_PROBE_NAME: &str = "openwrt.org";
