//! The 3G uplink: mode switch, ports, modem, pppd, DNS health, supervisor.

pub mod status;
pub mod supervisor;
