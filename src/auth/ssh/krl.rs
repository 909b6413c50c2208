//! OpenSSH key revocation lists (PROTOCOL.krl), as `sshd -o RevokedKeys`
//! and `ssh-keygen -Q` read them: revoked certificate serials under a CA
//! key, and explicitly revoked keys.
//!
//! ```text
//! uint64 magic "SSHKRL\n\0"   uint32 format 1   uint64 krl version
//! uint64 generated date       uint64 flags      string reserved   string comment
//! sections: byte type, string data
//!   1 certificates: string ca key, string reserved, then
//!       0x20 serial list: uint64 serial...
//!   2 explicit keys: string key blob...
//! ```

use super::key::PublicKey;
use super::wire::{put_string, put_u64};
use crate::wire::Writer;

const MAGIC: u64 = 0x5353484b524c0a00;
const FORMAT_VERSION: u32 = 1;
const SECTION_CERTIFICATES: u8 = 1;
const SECTION_EXPLICIT_KEY: u8 = 2;
const CERT_SERIAL_LIST: u8 = 0x20;

/// What to revoke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Krl {
    pub version: u64,
    pub generated: u64,
    pub comment: String,
    /// Certificate serials revoked, per CA key.
    pub serials: Vec<(PublicKey, Vec<u64>)>,
    /// Keys revoked outright (certified or not).
    pub keys: Vec<PublicKey>,
}

impl Krl {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        put_u64(&mut w, MAGIC);
        w.u32be(FORMAT_VERSION);
        put_u64(&mut w, self.version);
        put_u64(&mut w, self.generated);
        put_u64(&mut w, 0); // flags
        put_string(&mut w, b"");
        put_string(&mut w, self.comment.as_bytes());
        for (ca, serials) in &self.serials {
            if serials.is_empty() {
                continue;
            }
            let mut sorted = serials.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let mut list = Writer::new();
            for s in sorted {
                put_u64(&mut list, s);
            }
            let mut sec = Writer::new();
            put_string(&mut sec, &ca.blob);
            put_string(&mut sec, b"");
            sec.u8(CERT_SERIAL_LIST);
            put_string(&mut sec, &list.buf);
            w.u8(SECTION_CERTIFICATES);
            put_string(&mut w, &sec.buf);
        }
        if !self.keys.is_empty() {
            let mut sec = Writer::new();
            for k in &self.keys {
                put_string(&mut sec, &k.blob);
            }
            w.u8(SECTION_EXPLICIT_KEY);
            put_string(&mut w, &sec.buf);
        }
        w.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::super::key::Ed25519Key;
    use super::*;

    #[test]
    fn layout() {
        let ca = Ed25519Key::from_seed(&[1; 32]).public();
        let k = Ed25519Key::from_seed(&[2; 32]).public();
        let krl = Krl {
            version: 3,
            generated: 1_700_000_000,
            comment: "warden".into(),
            serials: vec![(ca.clone(), vec![9, 2, 9])],
            keys: vec![k.clone()],
        };
        let b = krl.encode();
        assert_eq!(&b[..8], b"SSHKRL\n\0");
        assert_eq!(&b[8..12], &[0, 0, 0, 1]);
        assert_eq!(&b[12..20], &3u64.to_be_bytes());
        // header: 8+4+8+8+8 + reserved(4) + comment(4+6)
        let sec = 8 + 4 + 8 + 8 + 8 + 4 + 10;
        assert_eq!(b[sec], SECTION_CERTIFICATES);
        // serials sorted and deduplicated: 2, 9
        let tail = &b[b.len() - (1 + 4 + 4 + k.blob.len()) - 16..];
        assert_eq!(
            &tail[..16],
            &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9]
        );
        assert!(b.ends_with(&k.blob));
    }
}
