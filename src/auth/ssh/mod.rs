//! SSH formats for the signer and the agent: keys, certificates, KRLs
//! and the agent protocol, sans-IO.

pub mod cert;
pub mod key;
pub mod krl;
pub mod wire;

pub mod agent;

/// Constant-time equality for secrets and digests of secrets.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
