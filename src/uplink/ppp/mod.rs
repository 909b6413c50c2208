//! pppd: its command line ([`args`]), what its exit status means
//! ([`exit`]), running it as a child ([`run`]) and hearing from its
//! ip-up/ip-down hooks ([`hook`]).
//!
//! The supervisor owns a [`crate::uplink::backoff::Retry`], spawns pppd
//! through [`run::Spawn`], polls the child's exit descriptor and the
//! [`hook::Listener`] in its loop, checks DNS on `ppp-up` within a deadline
//! and stops pppd with [`run::stop`] when the link is no good.

pub mod args;
pub mod exit;
pub mod hook;
pub mod run;

pub use args::{build, Keepalive, PppdCommand, PppdConfig};
pub use exit::{classify, Class, Exit};
