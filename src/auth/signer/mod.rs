//! The signer: SSH certificates for the LAN, requested over a PAKE.

pub mod pake;
