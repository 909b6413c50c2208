//! Authentication: OATH one-time passwords and keyfs, the user database.

pub mod keyfs;
pub mod oath;
