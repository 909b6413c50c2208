//! The 3G uplink: from USB plug-in to a self-healing PPP link.
//!
//! - `usb`, `ports`: the mode switch and port discovery by interface class.
//! - `modem`: the AT command driver (sans-IO parser and session, typed
//!   commands, a blocking driver over the tty) and PIN safety.
//! - `sim`: a simulated Huawei E367 on a pseudo-terminal, for tests, demos
//!   and `warden daemon --simulate`.
//! - `ppp`, `backoff`: pppd's command line and hooks, the one backoff
//!   policy; the DNS health check is [`crate::dns`].
//! - `check`: the one validation of the `uplink` section (the config
//!   model calls it, so `config check` and the daemon agree).
//! - `quota`: the data quota's meter, periods and usage file (sans-IO).
//! - `supervisor` decides (the recovery ladder's rungs: `ladder`, whose
//!   I/O is `recover` and the plant), `status` reports, `status_socket`
//!   answers `warden status`.

pub mod backoff;
pub mod check;
pub mod ladder;
pub mod modem;
pub mod plant;
pub mod ports;
pub mod ppp;
pub mod quota;
pub mod recover;
pub mod service;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod status;
pub mod status_socket;
pub mod supervisor;
pub mod usb;
