//! Authentication: Plan 9 style keys, the factotum, keyfs, the auth server
//! and the SSH signer.

pub mod signer;
pub mod ssh;
