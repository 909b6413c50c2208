//! secstore: the network file store a user reaches with one password
//! (Plan 9's secstore, as plan9port's client speaks it), holding each
//! user's encrypted files, the key file a factotum loads at start among
//! them. `pak.rs` is the password exchange, `sconn.rs` the record layer.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod file;
pub mod files;
pub mod pak;
pub mod sconn;
pub mod service;
pub mod session;
