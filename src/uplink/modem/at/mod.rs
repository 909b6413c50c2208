//! The AT command protocol, sans-IO: `wire` turns bytes into lines and
//! result codes, `session` runs one command at a time against a deadline.

pub mod session;
pub mod wire;

pub use session::{Action, Command, Failure, Response, Session};
pub use wire::{ErrorCode, Final, Urc};
