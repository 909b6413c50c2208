//! keyfs's file server, above the user database ([`crate::auth::keyfs`])
//! and the admin requests ([`crate::auth::admin`]) its `ctl` answers:
//! - [`tree`]: the 9P tree like Inferno's keyfs(4) (a directory per user
//!   with `secret`, `expire`, `status`, `log`, and a `ctl` for unlock,
//!   lock and admin requests);
//! - [`service`]: serves it at `<run_dir>/keyfs` to the admin only.

pub mod service;
pub mod tree;
