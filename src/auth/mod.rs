//! Authentication: Plan 9 style attributes, the factotum key agent and its
//! protocols, keyfs (the user database), OATH one-time passwords, the Plan 9
//! auth server, the SSH signer and agent formats. The protocol code is
//! sans-IO: the factotum is an object that takes file operations (writes to
//! ctl, rpc, confirm, needkey) and answers them; the 9P server, the daemon
//! and the command line do the I/O.

pub mod admin;
pub mod attr;
pub mod authsrv;
pub mod bignum;
pub mod client;
pub mod ed25519;
pub mod factotum;
#[doc(hidden)]
pub mod fuzzing;
pub mod inferno;
pub mod keyfs;
pub mod keyfsd;
pub mod listener;
pub mod oath;
pub mod proto;
pub mod proxy;
pub mod rc4;
pub mod secstore;
pub mod signer;
pub mod ssh;

/// Compare two byte strings in time that depends only on their lengths:
/// every comparison that involves a secret (passwords, MACs, one-time
/// codes, digests of passphrases).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

/// Uppercase hex, as Plan 9's `enc16` and `%H`.
pub fn enc16(b: &[u8]) -> String {
    const T: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(2 * b.len());
    for &c in b {
        s.push(T[usize::from(c >> 4)] as char);
        s.push(T[usize::from(c & 15)] as char);
    }
    s
}

/// Plan 9's `dec16`: digits are `0-9`, `a-z`, `A-Z` (so `g` counts as 16,
/// as in the original), anything else is skipped; pairs make bytes.
pub fn dec16(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 2);
    let (mut w, mut i) = (0u32, 0);
    for &c in s {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => continue,
        };
        w = (w << 4) + u32::from(v);
        i += 1;
        if i == 2 {
            out.push(w as u8);
            w = 0;
            i = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(enc16(&[0x01, 0xab, 0xff]), "01ABFF");
        assert_eq!(dec16(b"01abFF"), [0x01, 0xab, 0xff]);
        assert_eq!(dec16(b"0 1:ab"), [0x01, 0xab]);
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
