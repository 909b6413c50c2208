//! The signer: SSH certificates for the LAN, requested over a PAKE.

pub mod agent;
pub mod ca;
pub mod pake;
pub mod plain;
pub mod policy;
pub mod service;

/// 64 bytes from the kernel for a SPAKE2 scalar in `pake` (a sans-IO core
/// that takes no other randomness; the spake2 crate drew its own the same
/// way). A generator that fails stops the process (`fill_or_abort`).
fn random64() -> zeroize::Zeroizing<[u8; 64]> {
    let mut b = zeroize::Zeroizing::new([0u8; 64]);
    crate::sys::random::fill_or_abort(&mut b[..]);
    b
}
