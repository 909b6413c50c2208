//! SSH public keys (the `ssh-ed25519 AAAA... comment` lines and their wire
//! blobs) and the Ed25519 signing key warden holds. Private keys never
//! leave this type: no Debug of the secret, zeroized on drop.

use super::wire::{base64, get_string, get_text, put_string, unbase64, WireError};
use crate::auth::ed25519;
use crate::wire::{Reader, Writer};

pub const ED25519: &str = "ssh-ed25519";

/// Key types a certificate may be issued for: the blob after the type name
/// is copied into the certificate unchanged (PROTOCOL.certkeys).
pub const CERTIFIABLE: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A public key: its type name and the whole wire blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kind: String,
    pub blob: Vec<u8>,
}

impl PublicKey {
    /// From a wire blob; checks that the type is one we know and, for
    /// Ed25519, that the key is 32 bytes.
    pub fn from_blob(blob: &[u8]) -> Result<PublicKey, WireError> {
        let mut r = Reader::new(blob);
        let kind = get_text(&mut r)?.to_string();
        if !CERTIFIABLE.contains(&kind.as_str()) {
            return Err(WireError::Unsupported(kind));
        }
        if kind == ED25519 {
            let pk = get_string(&mut r)?;
            if pk.len() != 32 {
                return Err(WireError::Bad("ed25519 public key length"));
            }
            if r.remaining() != 0 {
                return Err(WireError::Trailing(r.remaining()));
            }
        }
        Ok(PublicKey {
            kind,
            blob: blob.to_vec(),
        })
    }

    /// From an OpenSSH public key line (`type base64 [comment]`).
    pub fn parse_line(line: &str) -> Result<(PublicKey, String), WireError> {
        let mut parts = line.split_whitespace();
        let kind = parts.next().ok_or(WireError::Bad("empty key line"))?;
        let b64 = parts.next().ok_or(WireError::Bad("key line without key"))?;
        let comment = parts.collect::<Vec<_>>().join(" ");
        let blob = unbase64(b64).ok_or(WireError::Bad("base64 in key line"))?;
        let key = PublicKey::from_blob(&blob)?;
        if key.kind != kind {
            return Err(WireError::Bad("key type does not match the key"));
        }
        Ok((key, comment))
    }

    pub fn ed25519(pk: &[u8; 32]) -> PublicKey {
        let mut w = Writer::new();
        put_string(&mut w, ED25519.as_bytes());
        put_string(&mut w, pk);
        PublicKey {
            kind: ED25519.into(),
            blob: w.into_vec(),
        }
    }

    /// The blob after the type name: what a certificate embeds.
    pub fn key_fields(&self) -> &[u8] {
        &self.blob[4 + self.kind.len()..]
    }

    /// `type base64 comment`.
    pub fn to_line(&self, comment: &str) -> String {
        let mut s = format!("{} {}", self.kind, base64(&self.blob));
        if !comment.is_empty() {
            s.push(' ');
            s.push_str(comment);
        }
        s
    }

    /// `SHA256:...` as ssh-keygen -l prints it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let h = sha2::Sha256::digest(&self.blob);
        format!("SHA256:{}", base64(&h).trim_end_matches('='))
    }
}

/// An Ed25519 key warden signs with (the CA, or an agent key): the seed
/// (wiped on drop) and its public key.
pub struct Ed25519Key {
    seed: zeroize::Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Key({})", self.public().fingerprint())
    }
}

impl Ed25519Key {
    /// From the 32-byte seed (the secret).
    pub fn from_seed(seed: &[u8; 32]) -> Ed25519Key {
        Ed25519Key {
            seed: zeroize::Zeroizing::new(*seed),
            public: ed25519::public_key(seed),
        }
    }

    /// A fresh key from the kernel's random source.
    pub fn generate() -> std::io::Result<Ed25519Key> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        crate::sys::random::fill(seed.as_mut())?;
        Ok(Ed25519Key::from_seed(&seed))
    }

    /// The seed, for storing in keyfs (handle with care).
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.seed.clone()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey::ed25519(&self.public)
    }

    /// From an unencrypted OpenSSH private key file (`-----BEGIN OPENSSH
    /// PRIVATE KEY-----`, openssh-key-v1) holding one Ed25519 key. An
    /// encrypted one is refused (ssh-add it and sign through the agent).
    pub fn from_openssh(text: &str) -> Result<Ed25519Key, WireError> {
        let b64: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN OPENSSH PRIVATE KEY-----")
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let raw = zeroize::Zeroizing::new(
            unbase64(&b64).ok_or(WireError::Bad("OpenSSH private key file"))?,
        );
        let rest = raw
            .strip_prefix(b"openssh-key-v1\0")
            .ok_or(WireError::Bad("OpenSSH private key file"))?;
        let mut r = Reader::new(rest);
        if get_string(&mut r)? != b"none" {
            return Err(WireError::Bad(
                "private key: it is encrypted (ssh-add it: the agent signs)",
            ));
        }
        let _kdf = get_string(&mut r)?;
        let _kdfopts = get_string(&mut r)?;
        if r.u32be()? != 1 {
            return Err(WireError::Bad("private key file: not one key"));
        }
        let _pub = get_string(&mut r)?;
        let mut p = Reader::new(get_string(&mut r)?);
        if p.u32be()? != p.u32be()? {
            return Err(WireError::Bad("private key check bytes"));
        }
        if get_text(&mut p)? != ED25519 {
            return Err(WireError::Bad("private key: not Ed25519"));
        }
        let pk = get_string(&mut p)?;
        let sk = get_string(&mut p)?;
        if sk.len() != 64 || pk.len() != 32 || sk[32..] != *pk {
            return Err(WireError::Bad("Ed25519 private key"));
        }
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&sk[..32]);
        let k = Ed25519Key::from_seed(&seed);
        if k.public[..] != *pk {
            return Err(WireError::Bad("Ed25519 private key"));
        }
        Ok(k)
    }

    /// An SSH signature blob: string "ssh-ed25519", string sig.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let sig = ed25519::sign(&self.seed, &self.public, data);
        let mut w = Writer::new();
        put_string(&mut w, ED25519.as_bytes());
        put_string(&mut w, &sig);
        w.into_vec()
    }
}

/// Check an SSH Ed25519 signature blob over `data` by `key`.
pub fn verify(key: &PublicKey, data: &[u8], sig_blob: &[u8]) -> bool {
    let parse = || -> Result<bool, WireError> {
        let mut r = Reader::new(key.key_fields());
        let pk: [u8; 32] = get_string(&mut r)?
            .try_into()
            .map_err(|_| WireError::Bad("key"))?;
        let mut s = Reader::new(sig_blob);
        if get_text(&mut s)? != ED25519 {
            return Ok(false);
        }
        let sig: [u8; 64] = get_string(&mut s)?
            .try_into()
            .map_err(|_| WireError::Bad("signature"))?;
        Ok(ed25519::verify(&pk, data, &sig))
    };
    key.kind == ED25519 && parse().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 section 7.1, TEST 1: secret and public key, empty message.
        let seed: [u8; 32] =
            hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let k = Ed25519Key::from_seed(&seed);
        let pk = hex::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        assert_eq!(k.public().key_fields()[4..], pk);
        let sig = k.sign(b"");
        let want = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        assert_eq!(&sig[4 + 11 + 4..], hex::<64>(want));
        assert!(verify(&k.public(), b"", &sig));
        assert!(!verify(&k.public(), b"x", &sig));
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    #[test]
    fn key_lines_round_trip() {
        let k = Ed25519Key::from_seed(&[7; 32]);
        let line = k.public().to_line("ca@router");
        assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        let (p, c) = PublicKey::parse_line(&line).unwrap();
        assert_eq!(p, k.public());
        assert_eq!(c, "ca@router");
        assert!(PublicKey::parse_line("ssh-dss AAAAB3NzaC1kc3MAAAA=").is_err());
        assert!(PublicKey::parse_line("ssh-ed25519 !!!").is_err());
        assert!(PublicKey::parse_line("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOvP3NlT").is_err());
        assert!(!format!("{k:?}").contains(&format!("{:?}", [7u8; 32])));
    }
}
