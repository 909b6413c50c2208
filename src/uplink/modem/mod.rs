//! The modem's AT side: the sans-IO protocol (`at`), typed commands and
//! reply parsers (`commands`), the blocking driver over a serial port
//! (`driver`) and PIN safety (`pin`).
//!
//! ```no_run
//! use warden::uplink::modem::Modem;
//! let mut m = Modem::open("/dev/ttyUSB2".as_ref())?;
//! m.init()?;
//! let info = m.info()?;
//! # Ok::<(), warden::uplink::modem::ModemError>(())
//! ```

pub mod at;
pub mod commands;
pub mod driver;
pub mod pin;
#[cfg(test)]
mod sim_tests;
pub mod tty;

pub use driver::{Identity, Info, Modem, ModemError, Port, SimStatus, Timeouts, TtyPort};
