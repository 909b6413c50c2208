//! USB mode switching: the switch table (usb-modeswitch-data, OpenWRT's
//! usb-mode.json, built-in Huawei entries), the USB operations behind a small
//! trait, and the switch procedure over that trait and a clock.

pub mod device;
pub mod json;
pub mod load;
pub mod sim;
pub mod switch;
pub mod sysfs;
pub mod table;
pub mod tmp;
pub mod usbfs;

pub use table::{Method, Step, SwitchEntry, Table, UsbId};
