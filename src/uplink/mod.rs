//! The 3G uplink: from a USB modem to a self-healing PPP link.
//!
//! - `modem`: the AT command driver (sans-IO parser and session, typed
//!   commands, a blocking driver over a serial port) and PIN safety.
//! - `sim`: a simulated Huawei E367 on a pseudo-terminal, for tests, demos
//!   and `warden daemon --simulate`.

pub mod modem;
pub mod sim;
