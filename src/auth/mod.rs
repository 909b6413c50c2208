//! Authentication: the Plan 9 auth server, OATH one-time passwords, keyfs
//! (the user database), the SSH signer and agent formats.

pub mod authsrv;
pub mod keyfs;
pub mod oath;
pub mod signer;
pub mod ssh;

/// Constant-time equality, for every comparison that involves a secret
/// (passwords, MACs, one-time codes, digests of passphrases).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
