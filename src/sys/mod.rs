//! OS glue: logging, signals, process hardening. The only place (with the
//! daemon loops) that makes system calls directly.

pub mod cred;
pub mod file;
pub mod frameserve;
pub mod harden;
pub mod localtime;
pub mod lock;
pub mod log;
pub mod poll;
pub mod random;
pub mod signals;
pub mod spawn;
pub mod threadname;
pub mod tty;
pub mod users;
pub mod wipe;
