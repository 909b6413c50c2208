//! The modem's AT side.
//!
//! | module     | what                                                         |
//! |------------|--------------------------------------------------------------|
//! | `at::wire` | bytes -> echo, information lines, final results, unsolicited |
//! | `at::session` | one command in flight, deadlines, actions (sans-IO)       |
//! | `commands` | typed commands and reply parsers (+CPIN, ^SYSCFG, +CSQ, ...) |
//! | `driver`   | [`Modem`]: the session over a [`Port`] with real time        |
//! | `tty`      | [`TtyPort`]: the tty through termios and poll                |
//! | `pin`      | PIN safety: the decision rule and the rejected-PIN store     |
//! | `sms`      | SMS PDUs (23.040 DELIVER/SUBMIT, GSM 7-bit, UCS-2, concatenation) and Huawei's packed USSD (sans-IO) |
//!
//! From the command line (try it on the simulator: `warden modem sim`
//! prints a tty path):
//!
//! ```text
//! warden modem info --device /dev/ttyUSB2 [--json]
//! warden modem at --device /dev/ttyUSB2 AT+CSQ
//! warden modem pin --device /dev/ttyUSB2          # prompts, no echo
//! ```
//!
//! From code:
//!
//! ```no_run
//! use warden::uplink::modem::{pin, Modem};
//! let mut m = Modem::open("/dev/ttyUSB2".as_ref())?;
//! m.init()?;
//! let state_dir = warden::config::Config::default().main.state_dir;
//! let mut store = pin::PinStore::open(&state_dir.join(pin::STORE_FILE))?;
//! m.enter_pin(&pin::Pin::new("1234")?, &mut store, pin::Policy::default())?;
//! let info = m.info()?;
//! println!("{:?} dBm", info.signal.and_then(|s| s.dbm()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod at;
pub mod commands;
pub mod driver;
pub mod pin;
#[cfg(test)]
mod sim_tests;
pub mod sms;
pub mod tty;

pub use driver::{
    Identity, Info, Modem, ModemError, ModemFault, Port, SimStatus, Timeouts, TtyPort,
};
