//! The signer's requests without a password, sans-IO: on the signer's
//! port, told apart from a PAKE login by their first frame's name.
//!
//! ```text
//! fetch  C->S  "warden-signer fetch", "krl" | "ca"
//!        S->C  "warden-signer fetch", data         (the KRL; the CA key lines)
//! renew  C->S  "warden-signer renew", cert         (the certificate to renew)
//!        S->C  "warden-signer renew", challenge[32]
//!        C->S  signature, request                  (request as the PAKE's, the cert's key)
//!        S->C  reply                               (0 cert | 1 message, as the PAKE's)
//! enrol  C->S  "warden-signer enrol", host         (a host's first certificate)
//!        S->C  "warden-signer enrol", challenge[32]
//!        C->S  mac, request                        mac = HMAC-SHA256(token, enrolled(...))
//!        S->C  reply
//! ```
//!
//! Every field is an SSH string. An error before the reply is the plain
//! error frame (an empty name, then the message). The renewal signature
//! is the certified key's SSH signature over
//! `string "warden-signer renew" string challenge string cert string request`
//! (Ed25519 keys): the client proves it holds the key, as step-ca's SSHPOP.
//!
//! An enrolment proves the one-time token made on the router (`warden cert
//! enrol-token HOST`) without sending it: the MAC covers the challenge,
//! the host and the request (so the key), and the token is spent by the
//! first enrolment that proves it. Any failure gets the same answer.
//!
//! A certificate may be renewed while it is valid, in the second half of
//! its life ([`due`]); it must be one the signer issued to an account
//! over the network (`cert list` says `ACCOUNT from ADDRESS`), neither it
//! nor its key revoked, and the account usable now (not disabled,
//! expired or in purgatory). The new certificate follows the account's
//! policy as a password login's does.

use super::ca;
use crate::auth::keyfs::signer::{Enrol, SignerDb};
use crate::auth::ssh::cert::{self, CertType, Parsed};
use crate::auth::ssh::wire::{get_string, put_string};
use crate::wire::{Reader, Writer};

pub const FETCH: &str = "warden-signer fetch";
pub const RENEW: &str = "warden-signer renew";
pub const ENROL: &str = "warden-signer enrol";
pub const CHALLENGE_LEN: usize = 32;

/// What a first frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Hello<'a> {
    /// `krl` or `ca`.
    Fetch(&'a [u8]),
    /// The certificate blob.
    Renew(&'a [u8]),
    /// The host's name.
    Enrol(&'a [u8]),
    /// Anything else: a PAKE hello (or garbage, which the PAKE refuses).
    Pake,
}

/// Two SSH strings and nothing after them.
pub fn two(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(body);
    let a = get_string(&mut r).ok()?;
    let b = get_string(&mut r).ok()?;
    (r.remaining() == 0).then_some((a, b))
}

pub fn hello(body: &[u8]) -> Hello<'_> {
    match two(body) {
        Some((n, what)) if n == FETCH.as_bytes() => Hello::Fetch(what),
        Some((n, c)) if n == RENEW.as_bytes() => Hello::Renew(c),
        Some((n, h)) if n == ENROL.as_bytes() => Hello::Enrol(h),
        _ => Hello::Pake,
    }
}

/// `string a, string b`.
pub fn pair(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    put_string(&mut w, a);
    put_string(&mut w, b);
    w.into_vec()
}

/// What the renewal signature covers.
pub fn signed(challenge: &[u8], cert: &[u8], request: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    put_string(&mut w, RENEW.as_bytes());
    put_string(&mut w, challenge);
    put_string(&mut w, cert);
    put_string(&mut w, request);
    w.into_vec()
}

/// The MAC an enrolment proves its token with.
pub fn enrol_mac(token: &[u8], challenge: &[u8], host: &[u8], request: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token).expect("HMAC takes any key length");
    let mut w = Writer::new();
    put_string(&mut w, ENROL.as_bytes());
    put_string(&mut w, challenge);
    put_string(&mut w, host);
    put_string(&mut w, request);
    m.update(&w.buf);
    m.finalize().into_bytes().into()
}

/// Spend the token `mac` proves for `host`, if one does (expired tokens
/// are dropped on the way).
pub fn take_token(
    db: &mut SignerDb,
    host: &[u8],
    challenge: &[u8],
    request: &[u8],
    mac: &[u8],
    now: u64,
) -> Option<Enrol> {
    db.enrol.retain(|e| e.expires > now);
    let i = db.enrol.iter().position(|e| {
        e.host.as_bytes() == host
            && crate::auth::ct_eq(&enrol_mac(&e.token[..], challenge, host, request), mac)
    })?;
    Some(db.enrol.remove(i))
}

/// From when a certificate may be renewed: halfway through its life.
pub fn due(valid_after: u64, valid_before: u64) -> u64 {
    valid_after + valid_before.saturating_sub(valid_after) / 2
}

/// A certificate the signer will renew, and for whom.
#[derive(Debug)]
pub struct Renewable {
    pub cert: Parsed,
    /// The account it was issued to; None for a host certificate (issued
    /// by enrolment).
    pub account: Option<String>,
}

/// Check a certificate presented for renewal at `now` (the signature
/// proving possession is checked by the caller, on the key this returns).
pub fn renewable(db: &SignerDb, blob: &[u8], now: u64) -> Result<Renewable, String> {
    let p = cert::parse(blob).map_err(|e| format!("certificate: {e}"))?;
    let s = &p.spec;
    if !p.signature_ok || !ca::ca_pubkeys(db, now).contains(&p.ca) {
        return Err("the certificate is not signed by this signer's CA".into());
    }
    if now < s.valid_after || now >= s.valid_before {
        return Err(format!(
            "certificate serial {} is not valid now: request a new one",
            s.serial
        ));
    }
    let from = due(s.valid_after, s.valid_before);
    if now < from {
        return Err(format!(
            "certificate serial {} is not due for renewal until {}",
            s.serial,
            ca::iso(from)
        ));
    }
    let i = db
        .issued
        .iter()
        .find(|i| i.serial == s.serial && i.key == s.key.blob)
        .ok_or_else(|| format!("certificate serial {} is not in the issue log", s.serial))?;
    if i.revoked {
        return Err(format!("certificate serial {} is revoked", s.serial));
    }
    if ca::key_revoked(db, &s.key) {
        return Err(format!("key {} is revoked", s.key.fingerprint()));
    }
    let who = i.by.split_once(" from ").map(|(a, _)| a);
    let account = match (s.kind, who) {
        (CertType::User, Some(a)) if !a.is_empty() && !a.contains(' ') => Some(a.to_string()),
        (CertType::Host, Some(h)) if h.starts_with("host ") => None,
        _ => {
            return Err(format!(
                "certificate serial {} was not issued over the network (by enrolment or a login)",
                s.serial
            ))
        }
    };
    Ok(Renewable { cert: p, account })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::signer::{CaKey, Issued};
    use crate::auth::ssh::cert::CertSpec;
    use crate::auth::ssh::key::Ed25519Key;
    use zeroize::Zeroizing;

    fn db_and_cert(by: &str) -> (SignerDb, Vec<u8>) {
        let ca = Ed25519Key::from_seed(&[9; 32]);
        let key = Ed25519Key::from_seed(&[1; 32]).public();
        let spec = CertSpec {
            key: key.clone(),
            serial: 5,
            kind: CertType::User,
            key_id: "glenda serial 5".into(),
            principals: vec!["glenda".into()],
            valid_after: 1000,
            valid_before: 2000,
            critical: vec![],
            extensions: vec![],
        };
        let blob = cert::sign(&spec, &ca, &[0; 32]);
        let mut db = SignerDb::default();
        db.cas.push(CaKey {
            seed: Zeroizing::new([9; 32]),
            created: 0,
            retired: None,
            until: 2000,
        });
        db.issued.push(Issued {
            serial: 5,
            kind: 1,
            key: key.blob,
            ca: ca.public().blob,
            principals: vec!["glenda".into()],
            valid_after: 1000,
            valid_before: 2000,
            by: by.into(),
            at: 1000,
            revoked: false,
        });
        (db, blob)
    }

    #[test]
    fn enrolment_tokens_are_spent_once() {
        let mut db = SignerDb::default();
        let tok = |host: &str, t: u8, expires| Enrol {
            host: host.into(),
            principals: vec![host.into()],
            token: Zeroizing::new([t; 16]),
            expires,
            validity: 100,
        };
        db.enrol.push(tok("old.lan", 1, 50));
        db.enrol.push(tok("nas.lan", 2, 200));
        let mac = enrol_mac(&[2; 16], b"ch", b"nas.lan", b"req");
        // Another host, challenge, request or token: no.
        assert!(take_token(&mut db, b"old.lan", b"ch", b"req", &mac, 100).is_none());
        assert!(take_token(&mut db, b"nas.lan", b"cx", b"req", &mac, 100).is_none());
        assert!(take_token(&mut db, b"nas.lan", b"ch", b"rex", &mac, 100).is_none());
        let wrong = enrol_mac(&[3; 16], b"ch", b"nas.lan", b"req");
        assert!(take_token(&mut db, b"nas.lan", b"ch", b"req", &wrong, 100).is_none());
        // The expired one is gone.
        assert_eq!(db.enrol.len(), 1);
        let e = take_token(&mut db, b"nas.lan", b"ch", b"req", &mac, 100).unwrap();
        assert_eq!(e.host, "nas.lan");
        assert!(take_token(&mut db, b"nas.lan", b"ch", b"req", &mac, 100).is_none());
    }

    #[test]
    fn mangled_certificates_and_frames_are_errors_never_panics() {
        let (db, blob) = db_and_cert("glenda from 127.0.0.1:4000");
        for n in 0..blob.len() {
            assert!(renewable(&db, &blob[..n], 1500).is_err(), "prefix {n}");
            let mut b = blob.clone();
            b[n] ^= 0x41;
            assert!(renewable(&db, &b, 1500).is_err(), "byte {n}");
            let _ = hello(&b[..n]);
            let _ = two(&b[n..]);
        }
    }

    #[test]
    fn hellos() {
        assert_eq!(hello(&pair(FETCH.as_bytes(), b"krl")), Hello::Fetch(b"krl"));
        assert_eq!(hello(&pair(RENEW.as_bytes(), b"c")), Hello::Renew(b"c"));
        assert_eq!(hello(&pair(ENROL.as_bytes(), b"h")), Hello::Enrol(b"h"));
        assert_eq!(hello(&pair(b"warden-signer 2", b"glenda")), Hello::Pake);
        let mut long = pair(FETCH.as_bytes(), b"krl");
        long.push(0);
        assert_eq!(hello(&long), Hello::Pake);
        assert_eq!(hello(b""), Hello::Pake);
    }

    #[test]
    fn the_renewal_window_and_refusals() {
        let (db, blob) = db_and_cert("glenda from 127.0.0.1:4000");
        let r = renewable(&db, &blob, 1500).unwrap();
        assert_eq!(r.account.as_deref(), Some("glenda"));
        assert_eq!(r.cert.spec.serial, 5);
        assert!(renewable(&db, &blob, 1499)
            .unwrap_err()
            .contains("not due for renewal until 1970-01-01T00:25:00Z"));
        assert!(renewable(&db, &blob, 2000)
            .unwrap_err()
            .contains("not valid now"));
        let mut d = db.clone();
        d.issued[0].revoked = true;
        assert!(renewable(&d, &blob, 1500)
            .unwrap_err()
            .contains("serial 5 is revoked"));
        let mut d = db.clone();
        d.revoked_keys.push(d.issued[0].key.clone());
        assert!(renewable(&d, &blob, 1500)
            .unwrap_err()
            .contains("is revoked"));
        let mut d = db.clone();
        d.issued.clear();
        assert!(renewable(&d, &blob, 1500)
            .unwrap_err()
            .contains("not in the issue log"));
        let mut d = db.clone();
        d.cas[0].seed = Zeroizing::new([8; 32]);
        assert!(renewable(&d, &blob, 1500)
            .unwrap_err()
            .contains("not signed by this signer"));
        let (db, blob) = db_and_cert("admin");
        assert!(renewable(&db, &blob, 1500)
            .unwrap_err()
            .contains("not issued over the network"));
        assert!(renewable(&db, b"junk", 1500)
            .unwrap_err()
            .starts_with("certificate:"));
    }
}
