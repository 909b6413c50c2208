//! OpenSSH certificates (PROTOCOL.certkeys), built and signed by warden's
//! CA key, and parsed back (for `warden cert list` and tests).
//!
//! ```text
//! string  "<keytype>-cert-v01@openssh.com"
//! string  nonce
//! ...     the subject key's fields (its blob without the type name)
//! uint64  serial          uint32 type (1 user, 2 host)      string key id
//! string  principals      uint64 valid after                uint64 valid before
//! string  critical options   string extensions              string reserved
//! string  signature key   string signature (over everything before it)
//! ```

use super::key::{verify, Ed25519Key, PublicKey};
use super::wire::{base64, get_string, get_text, get_u64, put_string, put_u64, WireError};
use crate::wire::{Reader, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertType {
    User = 1,
    Host = 2,
}

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    pub key: PublicKey,
    pub serial: u64,
    pub kind: CertType,
    pub key_id: String,
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    /// Critical options (`force-command`, `source-address`): name and
    /// value, sorted by name as PROTOCOL.certkeys wants.
    pub critical: Vec<(String, String)>,
    /// Extensions (flags without data), sorted by name.
    pub extensions: Vec<String>,
}

/// The extensions ssh-keygen gives user certificates by default, in the
/// order certificates list them.
pub const USER_EXTENSIONS: &[&str] = &[
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
];

fn cert_type_name(key_kind: &str) -> String {
    match key_kind.strip_suffix("@openssh.com") {
        Some(base) => format!("{base}-cert-v01@openssh.com"),
        None => format!("{key_kind}-cert-v01@openssh.com"),
    }
}

/// Critical options: `string name, string data` where data holds the
/// value as a string; extensions: the same with empty data.
fn options<'a>(list: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Vec<u8> {
    let mut w = Writer::new();
    for (n, v) in list {
        put_string(&mut w, n.as_bytes());
        match v {
            Some(v) => {
                let mut d = Writer::new();
                put_string(&mut d, v.as_bytes());
                put_string(&mut w, &d.buf);
            }
            None => put_string(&mut w, b""),
        }
    }
    w.into_vec()
}

fn get_options(b: &[u8], values: bool) -> Result<Vec<(String, String)>, WireError> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let name = get_text(&mut r)?.to_string();
        let data = get_string(&mut r)?;
        let value = if values && !data.is_empty() {
            let mut d = Reader::new(data);
            get_text(&mut d)?.to_string()
        } else {
            String::new()
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Build and sign a certificate; returns its wire blob.
pub fn sign(spec: &CertSpec, ca: &Ed25519Key, nonce: &[u8; 32]) -> Vec<u8> {
    let mut w = Writer::new();
    put_string(&mut w, cert_type_name(&spec.key.kind).as_bytes());
    put_string(&mut w, nonce);
    w.bytes(spec.key.key_fields());
    put_u64(&mut w, spec.serial);
    w.u32be(spec.kind as u32);
    put_string(&mut w, spec.key_id.as_bytes());
    let mut p = Writer::new();
    for name in &spec.principals {
        put_string(&mut p, name.as_bytes());
    }
    put_string(&mut w, &p.buf);
    put_u64(&mut w, spec.valid_after);
    put_u64(&mut w, spec.valid_before);
    let mut critical: Vec<_> = spec.critical.iter().collect();
    critical.sort();
    put_string(
        &mut w,
        &options(critical.iter().map(|(n, v)| (n.as_str(), Some(v.as_str())))),
    );
    let mut ext: Vec<&str> = spec.extensions.iter().map(String::as_str).collect();
    ext.sort_unstable();
    put_string(&mut w, &options(ext.into_iter().map(|n| (n, None))));
    put_string(&mut w, b""); // reserved
    put_string(&mut w, &ca.public().blob);
    let sig = ca.sign(&w.buf);
    put_string(&mut w, &sig);
    w.into_vec()
}

/// `<type>-cert-v01@openssh.com BASE64 comment`, the `-cert.pub` file.
pub fn to_line(blob: &[u8], comment: &str) -> String {
    let mut r = Reader::new(blob);
    let kind = get_text(&mut r).unwrap_or("ssh-ed25519-cert-v01@openssh.com");
    format!("{kind} {} {comment}", base64(blob))
        .trim_end()
        .to_string()
}

/// A parsed certificate, with the CA key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub spec: CertSpec,
    pub ca: PublicKey,
    /// The signature checks out against `ca` (Ed25519 CAs only).
    pub signature_ok: bool,
}

/// Parse a certificate blob (Ed25519 subject keys only; warden issues
/// others but reads back just these).
pub fn parse(blob: &[u8]) -> Result<Parsed, WireError> {
    let mut r = Reader::new(blob);
    let kind = get_text(&mut r)?;
    if kind != "ssh-ed25519-cert-v01@openssh.com" {
        return Err(WireError::Unsupported(kind.to_string()));
    }
    let _nonce = get_string(&mut r)?;
    let pk = get_string(&mut r)?;
    let mut kw = Writer::new();
    put_string(&mut kw, b"ssh-ed25519");
    put_string(&mut kw, pk);
    let key = PublicKey::from_blob(&kw.buf)?;
    let serial = get_u64(&mut r)?;
    let kind = match r.u32be()? {
        1 => CertType::User,
        2 => CertType::Host,
        _ => return Err(WireError::Bad("certificate type")),
    };
    let key_id = get_text(&mut r)?.to_string();
    let mut pr = Reader::new(get_string(&mut r)?);
    let mut principals = Vec::new();
    while pr.remaining() > 0 {
        principals.push(get_text(&mut pr)?.to_string());
    }
    let valid_after = get_u64(&mut r)?;
    let valid_before = get_u64(&mut r)?;
    let critical = get_options(get_string(&mut r)?, true)?;
    let extensions = get_options(get_string(&mut r)?, false)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let _reserved = get_string(&mut r)?;
    let ca = PublicKey::from_blob(get_string(&mut r)?)?;
    let signed_len = r.pos();
    let sig = get_string(&mut r)?;
    if r.remaining() != 0 {
        return Err(WireError::Trailing(r.remaining()));
    }
    let signature_ok = verify(&ca, &blob[..signed_len], sig);
    Ok(Parsed {
        spec: CertSpec {
            key,
            serial,
            kind,
            key_id,
            principals,
            valid_after,
            valid_before,
            critical,
            extensions,
        },
        ca,
        signature_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CertSpec {
        CertSpec {
            key: Ed25519Key::from_seed(&[1; 32]).public(),
            serial: 42,
            kind: CertType::User,
            key_id: "glenda@lan".into(),
            principals: vec!["glenda".into(), "backup".into()],
            valid_after: 1_700_000_000,
            valid_before: 1_700_086_400,
            critical: vec![
                ("force-command".into(), "uptime".into()),
                ("source-address".into(), "10.0.0.0/8,::1".into()),
            ],
            extensions: USER_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn sign_and_parse_back() {
        let ca = Ed25519Key::from_seed(&[9; 32]);
        let blob = sign(&spec(), &ca, &[5; 32]);
        let p = parse(&blob).unwrap();
        assert_eq!(p.spec, spec());
        assert_eq!(p.ca, ca.public());
        assert!(p.signature_ok);
        // One flipped bit anywhere in the signed part breaks the signature
        // (or the parse).
        for i in [40, 100, blob.len() - 80] {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(
                parse(&bad).map(|p| !p.signature_ok).unwrap_or(true),
                "byte {i}"
            );
        }
        assert!(to_line(&blob, "glenda").starts_with("ssh-ed25519-cert-v01@openssh.com AAAA"));
    }

    #[test]
    fn truncated_certificates_are_errors() {
        let blob = sign(&spec(), &Ed25519Key::from_seed(&[9; 32]), &[5; 32]);
        for n in 0..blob.len() {
            assert!(parse(&blob[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn type_names() {
        assert_eq!(cert_type_name("ssh-rsa"), "ssh-rsa-cert-v01@openssh.com");
        assert_eq!(
            cert_type_name("sk-ssh-ed25519@openssh.com"),
            "sk-ssh-ed25519-cert-v01@openssh.com"
        );
    }
}
