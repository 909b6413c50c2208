//! The 3G uplink: from USB plug-in to a self-healing PPP link.

pub mod backoff;
pub mod dns;
pub mod ppp;
pub mod status;
pub mod supervisor;
