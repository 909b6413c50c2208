//! The certificate authority: its keys, serials, issue log, revocations
//! and KRL, all kept in keyfs's signer record ([`SignerDb`]). Every
//! function takes the open [`Store`] so each change is one atomic write.
//!
//! Rotation: `rotate` retires the current CA key and makes a new one. A
//! retired key stays in `ca_pubkeys` until the last certificate it signed
//! has expired, so hosts trusting every listed key keep accepting old
//! certificates while new ones come from the new key.

use crate::auth::keyfs::signer::{CaKey, Issued, SignerDb};
use crate::auth::keyfs::{Account, Expiry, Fs, KeyfsError, Store};
use crate::auth::ssh::cert::{self, CertSpec, CertType};
use crate::auth::ssh::key::{Ed25519Key, PublicKey};
use crate::auth::ssh::krl::Krl;
use zeroize::Zeroizing;

/// Issued certificates are forgotten this long after they expire.
pub const KEEP_EXPIRED: u64 = 7 * 24 * 3600;
/// At most this many entries in the issue log (oldest dropped first).
pub const MAX_LOG: usize = 4096;
/// User certificates start this long before "now" (clock skew).
pub const BACKDATE: u64 = 5 * 60;
/// The account attribute naming a user's principals (comma-separated);
/// without it the principal is the account name.
pub const PRINCIPALS_ATTR: &str = "principals";

/// What to certify.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: CertType,
    pub key: PublicKey,
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    /// Who asked (logged and recorded).
    pub by: String,
    /// The certificate's key id starts so; [`issue`] adds ` serial N`,
    /// as `ssh-keygen -I` would be given (the signer's is `ACCOUNT serial
    /// N from ADDRESS`: see [`key_id`]).
    pub key_id: String,
    /// The requester's address, for the key id.
    pub from: Option<String>,
    pub critical: Vec<(String, String)>,
    pub extensions: Vec<String>,
}

/// The key id sshd logs for a certificate: `glenda serial 7 from
/// 192.168.1.10`.
pub fn key_id(id: &str, serial: u64, from: Option<&str>) -> String {
    match from {
        Some(f) => format!("{id} serial {serial} from {f}"),
        None => format!("{id} serial {serial}"),
    }
}

fn current(db: &SignerDb) -> Option<&CaKey> {
    db.cas.iter().rev().find(|c| c.retired.is_none())
}

/// The current CA public key, if one exists.
pub fn current_pubkey(db: &SignerDb) -> Option<PublicKey> {
    current(db).map(|c| Ed25519Key::from_seed(&c.seed).public())
}

/// Every CA public key still worth trusting at `now`: the current one and
/// retired ones whose certificates have not all expired. Newest first.
pub fn ca_pubkeys(db: &SignerDb, now: u64) -> Vec<PublicKey> {
    db.cas
        .iter()
        .rev()
        .filter(|c| c.retired.is_none() || c.until > now)
        .map(|c| Ed25519Key::from_seed(&c.seed).public())
        .collect()
}

pub use crate::when::iso;

/// The CA public-key lines, newest first, as `cert ca-pubkey` prints them
/// and the signer serves them (TrustedUserCAKeys, `@cert-authority`).
/// Each line's comment is distinct: `warden-ca-` and the key's creation
/// time (`-2`, `-3` after it for keys made in the same second), then
/// `current` for the key that signs now or `retired-<time>` for one
/// still trusted until its last certificate expires.
pub fn ca_lines(db: &SignerDb, now: u64) -> String {
    let mut out = String::new();
    for (i, c) in db.cas.iter().enumerate().rev() {
        if c.retired.is_some() && c.until <= now {
            continue;
        }
        let same = db.cas[..i]
            .iter()
            .filter(|o| o.created == c.created)
            .count();
        let mut comment = format!("warden-ca-{}", iso(c.created));
        if same > 0 {
            comment.push_str(&format!("-{}", same + 1));
        }
        match c.retired {
            None => comment.push_str(" current"),
            Some(t) => comment.push_str(&format!(" retired-{}", iso(t))),
        }
        out.push_str(&Ed25519Key::from_seed(&c.seed).public().to_line(&comment));
        out.push('\n');
    }
    out
}

fn new_ca(now: u64) -> Result<CaKey, KeyfsError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::auth::keyfs::sealed::random(&mut seed[..])?;
    Ok(CaKey {
        seed,
        created: now,
        retired: None,
        until: 0,
    })
}

/// Make the CA key if there is none (first use). Returns its public key.
pub fn ensure_ca<F: Fs>(store: &mut Store<F>, now: u64) -> Result<PublicKey, KeyfsError> {
    if let Some(pk) = current_pubkey(&store.db().signer) {
        return Ok(pk);
    }
    let ca = new_ca(now)?;
    store.update(|db| {
        db.signer.cas.push(ca);
        Ok(())
    })?;
    let pk = current_pubkey(&store.db().signer)
        .ok_or_else(|| KeyfsError::Invalid("no CA key after creating one".into()))?;
    log::info!("signer: new CA key {}", pk.fingerprint());
    Ok(pk)
}

/// Retire the current CA key (kept listed until its certificates expire)
/// and make a new one. Returns the new public key.
pub fn rotate<F: Fs>(store: &mut Store<F>, now: u64) -> Result<PublicKey, KeyfsError> {
    let ca = new_ca(now)?;
    store.update(|db| {
        for c in db.signer.cas.iter_mut() {
            if c.retired.is_none() {
                c.retired = Some(now);
            }
        }
        // Retired keys with nothing left valid are dropped.
        db.signer
            .cas
            .retain(|c| c.retired.is_none() || c.until > now);
        db.signer.cas.push(ca);
        Ok(())
    })?;
    let pk = current_pubkey(&store.db().signer)
        .ok_or_else(|| KeyfsError::Invalid("no CA key after rotating".into()))?;
    log::info!("signer: CA key rotated, now {}", pk.fingerprint());
    Ok(pk)
}

/// Principals for an account: its `principals` attribute, else its name.
pub fn principals(a: &Account) -> Vec<String> {
    let v: Vec<String> = a
        .attrs
        .iter()
        .find(|(k, _)| k == PRINCIPALS_ATTR)
        .map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if v.is_empty() {
        vec![a.name.clone()]
    } else {
        v
    }
}

/// The validity of a user certificate: from five minutes ago to the
/// earlier of the account's expiry and now + `max`.
pub fn user_window(now: u64, expire: Expiry, max: u64) -> (u64, u64) {
    let mut before = now.saturating_add(max);
    if let Expiry::At(t) = expire {
        before = before.min(t);
    }
    (now.saturating_sub(BACKDATE), before)
}

/// Whether `key` was revoked outright (`warden cert revoke KEY.pub`): the
/// KRL lists it as an explicit key, so sshd refuses the key and every
/// certificate for it.
///
/// A serial revoked alone (`warden cert revoke SERIAL`) revokes that one
/// certificate, not its key: the KRL lists the serial under its CA, a new
/// certificate gets a fresh serial the KRL does not hold, and `ssh-keygen
/// -Q` passes it. Such a key may be certified again.
pub fn key_revoked(db: &SignerDb, key: &PublicKey) -> bool {
    db.revoked_keys.contains(&key.blob)
}

/// Issue a certificate: a fresh serial, signed by the current CA key
/// (made on first use), recorded and logged. Returns the certificate blob.
/// A revoked key (see [`key_revoked`]) is refused: every signing path
/// (the network request, `cert sign-user`, `cert sign-host`) comes here.
pub fn issue<F: Fs>(
    store: &mut Store<F>,
    req: &Request,
    now: u64,
) -> Result<(u64, Vec<u8>), KeyfsError> {
    if key_revoked(&store.db().signer, &req.key) {
        return Err(KeyfsError::Invalid(format!(
            "key {} is revoked: no certificate issued",
            req.key.fingerprint()
        )));
    }
    if req.principals.is_empty() {
        return Err(KeyfsError::Invalid(
            "a certificate needs a principal".into(),
        ));
    }
    if let Some(bad) = req
        .principals
        .iter()
        .find(|p| p.is_empty() || p.contains(',') || p.len() > 255)
    {
        return Err(KeyfsError::Invalid(format!(
            "bad principal '{}'",
            bad.escape_default()
        )));
    }
    if req.valid_before <= req.valid_after {
        return Err(KeyfsError::Invalid(
            "the certificate would never be valid".into(),
        ));
    }
    ensure_ca(store, now)?;
    let mut nonce = [0u8; 32];
    crate::auth::keyfs::sealed::random(&mut nonce)?;
    let (serial, blob, ca_fp) = store.update(|db| {
        let s = &mut db.signer;
        let serial = s.next_serial;
        s.next_serial = serial
            .checked_add(1)
            .ok_or_else(|| KeyfsError::Invalid("certificate serials exhausted".into()))?;
        let ca = s
            .cas
            .iter_mut()
            .rev()
            .find(|c| c.retired.is_none())
            .ok_or_else(|| KeyfsError::Invalid("no CA key".into()))?;
        ca.until = ca.until.max(req.valid_before);
        let key = Ed25519Key::from_seed(&ca.seed);
        let spec = CertSpec {
            key: req.key.clone(),
            serial,
            kind: req.kind,
            key_id: key_id(&req.key_id, serial, req.from.as_deref()),
            principals: req.principals.clone(),
            valid_after: req.valid_after,
            valid_before: req.valid_before,
            critical: req.critical.clone(),
            extensions: req.extensions.clone(),
        };
        let blob = cert::sign(&spec, &key, &nonce);
        let ca_pub = key.public();
        s.issued
            .retain(|i| i.valid_before.saturating_add(KEEP_EXPIRED) > now);
        if s.issued.len() >= MAX_LOG {
            let drop = s.issued.len() + 1 - MAX_LOG;
            s.issued.drain(..drop);
        }
        s.issued.push(Issued {
            serial,
            kind: req.kind as u8,
            key: req.key.blob.clone(),
            ca: ca_pub.blob.clone(),
            principals: req.principals.clone(),
            valid_after: req.valid_after,
            valid_before: req.valid_before,
            by: req.by.clone(),
            at: now,
            revoked: false,
        });
        Ok((serial, blob, ca_pub.fingerprint()))
    })?;
    log::info!(
        "signer: issued {} certificate serial {serial} for {} key {} principals {} valid {}..{} to {} (CA {ca_fp})",
        match req.kind {
            CertType::User => "user",
            CertType::Host => "host",
        },
        req.key.kind,
        req.key.fingerprint(),
        req.principals.join(","),
        crate::when::iso(req.valid_after),
        crate::when::iso(req.valid_before),
        req.by,
    );
    Ok((serial, blob))
}

/// Make a one-time enrolment token for `host`'s certificate (principals:
/// `host` and `more`), good until `now + expires_in`, for a certificate
/// valid `validity` seconds. Returns the token (shown once).
pub fn enrol_token<F: Fs>(
    store: &mut Store<F>,
    host: &str,
    more: &[String],
    validity: u64,
    expires_in: u64,
    now: u64,
) -> Result<Zeroizing<[u8; 16]>, KeyfsError> {
    let mut principals = vec![host.to_string()];
    principals.extend(more.iter().filter(|p| *p != host).cloned());
    if let Some(bad) = principals.iter().find(|p| {
        p.is_empty() || p.contains(',') || p.contains(char::is_whitespace) || p.len() > 255
    }) {
        return Err(KeyfsError::Invalid(format!(
            "bad host name '{}'",
            bad.escape_default()
        )));
    }
    let mut token = Zeroizing::new([0u8; 16]);
    crate::auth::keyfs::sealed::random(&mut token[..])?;
    let e = crate::auth::keyfs::signer::Enrol {
        host: host.to_string(),
        principals,
        token: token.clone(),
        expires: now.saturating_add(expires_in),
        validity,
    };
    store.update(|db| {
        db.signer.enrol.retain(|x| x.expires > now);
        if db.signer.enrol.len() >= 256 {
            return Err(KeyfsError::Invalid(
                "256 enrolment tokens are waiting already".into(),
            ));
        }
        db.signer.enrol.push(e);
        Ok(())
    })?;
    log::info!("signer: enrolment token made for host {host}");
    Ok(token)
}

/// Revoke a certificate by serial. Errs if no issued certificate has it.
pub fn revoke_serial<F: Fs>(store: &mut Store<F>, serial: u64) -> Result<(), KeyfsError> {
    store.update(|db| {
        let mut found = false;
        for i in db.signer.issued.iter_mut().filter(|i| i.serial == serial) {
            i.revoked = true;
            found = true;
        }
        if !found {
            return Err(KeyfsError::Invalid(format!(
                "no issued certificate has serial {serial} (expired ones are forgotten after {} days)",
                KEEP_EXPIRED / 86400
            )));
        }
        db.signer.krl_version += 1;
        Ok(())
    })?;
    log::info!("signer: revoked certificate serial {serial}");
    Ok(())
}

/// Revoke a key outright: every certificate for it, and the key itself.
pub fn revoke_key<F: Fs>(store: &mut Store<F>, key: &PublicKey) -> Result<usize, KeyfsError> {
    let n = store.update(|db| {
        let mut n = 0;
        for i in db.signer.issued.iter_mut().filter(|i| i.key == key.blob) {
            i.revoked = true;
            n += 1;
        }
        if !db.signer.revoked_keys.contains(&key.blob) {
            db.signer.revoked_keys.push(key.blob.clone());
        }
        db.signer.krl_version += 1;
        Ok(n)
    })?;
    log::info!(
        "signer: revoked key {} ({n} certificate(s))",
        key.fingerprint()
    );
    Ok(n)
}

/// The revocation list: revoked serials per CA, and revoked keys.
pub fn krl(db: &SignerDb, now: u64) -> Krl {
    let mut serials: Vec<(PublicKey, Vec<u64>)> = Vec::new();
    for i in db.issued.iter().filter(|i| i.revoked) {
        let Ok(ca) = PublicKey::from_blob(&i.ca) else {
            continue;
        };
        match serials.iter_mut().find(|(c, _)| *c == ca) {
            Some((_, v)) => v.push(i.serial),
            None => serials.push((ca, vec![i.serial])),
        }
    }
    Krl {
        version: db.krl_version,
        generated: now,
        comment: "warden".into(),
        serials,
        keys: db
            .revoked_keys
            .iter()
            .filter_map(|b| PublicKey::from_blob(b).ok())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::{RealFs, Store};
    use std::path::Path;

    fn store(dir: &Path) -> Store<RealFs> {
        Store::create(RealFs, &dir.join("keys"), b"pass", 1000).unwrap()
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("warden-ca-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn req(key: &PublicKey, after: u64, before: u64) -> Request {
        Request {
            kind: CertType::User,
            key: key.clone(),
            principals: vec!["glenda".into()],
            valid_after: after,
            valid_before: before,
            by: "admin".into(),
            key_id: "glenda".into(),
            from: None,
            critical: Vec::new(),
            extensions: Vec::new(),
        }
    }

    #[test]
    fn serials_rotation_and_revocation() {
        let d = tmp("rot");
        let mut s = store(&d);
        let user = Ed25519Key::from_seed(&[1; 32]).public();
        let (s1, b1) = issue(&mut s, &req(&user, 100, 1000), 100).unwrap();
        let (s2, _) = issue(&mut s, &req(&user, 100, 5000), 100).unwrap();
        assert!(s2 > s1);
        let ca1 = current_pubkey(&s.db().signer).unwrap();
        let p = cert::parse(&b1).unwrap();
        assert!(p.signature_ok);
        assert_eq!(p.ca, ca1);
        assert_eq!(p.spec.serial, s1);
        assert_eq!(p.spec.key_id, format!("glenda serial {s1}"));
        // Survives a reopen: the serial counter is persistent.
        drop(s);
        let (mut s, _) = Store::open(RealFs, &d.join("keys"), b"pass").unwrap();
        let ca2 = rotate(&mut s, 200).unwrap();
        assert_ne!(ca1, ca2);
        assert_eq!(
            ca_pubkeys(&s.db().signer, 200),
            vec![ca2.clone(), ca1.clone()]
        );
        assert_eq!(ca_pubkeys(&s.db().signer, 5000), vec![ca2.clone()]);
        let (s3, b3) = issue(&mut s, &req(&user, 200, 900), 200).unwrap();
        assert!(s3 > s2);
        assert_eq!(cert::parse(&b3).unwrap().ca, ca2);
        revoke_serial(&mut s, s1).unwrap();
        assert!(revoke_serial(&mut s, 999).is_err());
        let k = krl(&s.db().signer, 300);
        assert_eq!(k.serials, vec![(ca1, vec![s1])]);
        assert!(k.version >= 1);
        let other = Ed25519Key::from_seed(&[2; 32]).public();
        assert_eq!(revoke_key(&mut s, &other).unwrap(), 0);
        assert_eq!(krl(&s.db().signer, 300).keys, vec![other.clone()]);
        // A revoked key gets no certificate, and no serial is spent on it.
        let next = s.db().signer.next_serial;
        let e = issue(&mut s, &req(&other, 300, 900), 300).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("key {} is revoked", other.fingerprint())),
            "{e}"
        );
        assert_eq!(s.db().signer.next_serial, next);
        // One revoked by serial only may be certified again (a fresh serial).
        let (s4, _) = issue(&mut s, &req(&user, 300, 900), 300).unwrap();
        assert!(s4 > s3);
        // Revoked by key, it may not; the key revoked stays revoked.
        revoke_key(&mut s, &user).unwrap();
        assert!(key_revoked(&s.db().signer, &user));
        assert!(issue(&mut s, &req(&user, 300, 900), 300).is_err());
        assert!(issue(&mut s, &req(&user, 20, 20), 300).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn ca_lines_have_distinct_comments_and_mark_the_current_key() {
        let d = tmp("lines");
        let mut s = store(&d);
        // 2026-12-03T10:40:00Z
        let t = 1_796_294_400;
        ensure_ca(&mut s, t).unwrap();
        let user = Ed25519Key::from_seed(&[1; 32]).public();
        issue(&mut s, &req(&user, t, t + 1000), t).unwrap();
        rotate(&mut s, t).unwrap();
        rotate(&mut s, t + 60).unwrap();
        let text = ca_lines(&s.db().signer, t + 60);
        let lines: Vec<&str> = text.lines().collect();
        // The second key signed nothing: dropped at the next rotation.
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(" warden-ca-2026-12-03T10:41:00Z current"),
            "{text}"
        );
        assert!(
            lines[1].ends_with(" warden-ca-2026-12-03T10:40:00Z retired-2026-12-03T10:40:00Z"),
            "{text}"
        );
        let keys: Vec<PublicKey> = lines
            .iter()
            .map(|l| PublicKey::parse_line(l).unwrap().0)
            .collect();
        assert_eq!(keys, ca_pubkeys(&s.db().signer, t + 60));
        // Two keys made in the same second still differ.
        let mut db = s.db().signer.clone();
        db.cas[0].retired = Some(t);
        db.cas[0].until = t + 5000;
        db.cas[1].created = db.cas[0].created;
        let text = ca_lines(&db, t + 60);
        assert!(
            text.contains("warden-ca-2026-12-03T10:40:00Z-2 current"),
            "{text}"
        );
        // Past the last certificate, the retired key is gone.
        assert_eq!(ca_lines(&s.db().signer, t + 2000).lines().count(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn principals_and_window() {
        let mut a = Account::new("glenda", Expiry::Never, 0).unwrap();
        assert_eq!(principals(&a), vec!["glenda"]);
        a.attrs
            .push((PRINCIPALS_ATTR.into(), "glenda, backup,".into()));
        assert_eq!(principals(&a), vec!["glenda", "backup"]);
        assert_eq!(user_window(1000, Expiry::Never, 50), (700, 1050));
        assert_eq!(user_window(1000, Expiry::At(1020), 50), (700, 1020));
    }
}
