//! Authentication: OATH one-time passwords, keyfs (the user database), the
//! SSH signer and agent formats.

pub mod keyfs;
pub mod oath;
pub mod signer;
pub mod ssh;
