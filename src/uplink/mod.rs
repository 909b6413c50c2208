//! The 3G uplink: USB mode switch, port discovery, modem, pppd supervisor.

pub mod ports;
pub mod usb;
