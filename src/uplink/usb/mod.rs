//! USB mode switching: wake a 3G stick that plugs in as a CD-ROM.
//!
//! - [`table`]: which ids need switching and how (built-in Huawei entries,
//!   usb-modeswitch-data files), and the plan of USB operations per entry;
//!   [`modeswitch`] parses usb-modeswitch-data's files, [`json`] reads OpenWRT's `/etc/usb-mode.json`, [`load`] reads all of
//!   these from disk (Debian's `configPack.tar.gz` with cargo feature
//!   `configpack`, on by default; the router build can leave it out and
//!   read usb-mode.json or a directory).
//! - [`device`]: the USB side behind a small trait ([`device::Usb`],
//!   [`device::UsbHandle`]) and the [`device::Clock`] the logic runs on.
//! - [`usbfs`]: the real implementation, [`sim`]: a simulated E367.
//! - [`switch`]: the procedure (send, read CSW, release; wait bounded for
//!   the target; new_id when no tty comes). Ports are then found by
//!   [`crate::uplink::ports`].
//!
//! ## Why usbdevfs and not rusb
//!
//! rusb with a vendored libusb added 130,644 bytes (128 KiB) to the
//! stripped mips binary when measured with this project's cross build (the
//! same operations as here, through rusb 0.9 with `vendored`), needs the C
//! cross compiler at build time, and brings libusb's event thread and hotplug
//! machinery that a one-shot switch never uses; without `vendored` it needs
//! libusb on the router. A mode switch needs nine ioctls of the stable
//! kernel ABI (`linux/usbdevice_fs.h`) plus sysfs for enumeration, which is
//! what [`usbfs`] does in about 4 KB of code with the `libc` crate warden
//! already uses. nusb (pure Rust) did not compile for 32-bit mips. The trait keeps
//! the door open: another backend is one `impl Usb`.

pub mod device;
pub mod json;
pub mod load;
pub mod modeswitch;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod switch;
pub mod sysfs;
pub mod table;
pub mod tmp;
pub mod usbfs;

pub use table::{Method, Step, SwitchEntry, Table, UsbId};
