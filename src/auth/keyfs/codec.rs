//! The plaintext inside the key file: every account and the factotum
//! record, in a compact versioned binary form (little-endian, every length
//! checked on decode).
//!
//! ```text
//! db       = "KFDB" version:u8(=3) naccounts:u32 account* nfactotum:u32 line*
//!            signer                  (version 2 on; see keyfs::signer; its
//!                                     Inferno key from version 3)
//! account  = len:u32 body            (len bytes, parsed to the end exactly)
//! body     = name:str8 status:u8 expire:(0 | 1 u64) changed:u64
//!            secrets:(0 | 1 des[7] aes[16] secret:bytes16
//!                     verifier:(0 | 1 salt[16] iterations:u32 secret[32]))
//!                                    (verifier: version 2 on)
//!            otp:(0 | 1 kind:u8 step:u64 digits:u8 hash:u8 key:bytes8
//!                 counter:u64 lastotp:(0 | 1 str8) lasttime:(0 | 1 u64))
//!            nattrs:u16 (name:str16 value:str16)* note:(0 | 1 str16)
//!            secstore:(0 | 1 hi:bytes16 files:u32 bytes:u64)
//!                                    (secstore: version 3 only)
//! line     = bytes32                 (one factotum key, opaque text)
//! ```
//!
//! Version 1 files (before the signer) still open: their accounts have no
//! verifier and the signer record starts empty; version 2 files have no
//! enrolment tokens, no Inferno signer key and no secstore accounts. Every
//! write is version 3.

use super::account::{Account, Expiry, Secrets, SecstoreAccount, Status, AESKEYLEN, DESKEYLEN};
use super::signer::{AgentKey, CaKey, Enrol, InfernoKey, Issued, SignerDb, SignerVerifier};
use crate::auth::oath::{valid_digits, Hash, Kind, Token};
use crate::ninep::vecmap::VecMap;
use crate::wire::{Reader, Short, Writer};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"KFDB";
/// The payload format this build writes and reads.
pub const DB_VERSION: u8 = 3;

/// The whole database, decrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Db {
    /// By name (a sorted vector: the file holds them in this order, so
    /// loading appends).
    pub accounts: VecMap<String, Account>,
    /// The factotum's persistent keys: opaque key lines, kept in order.
    pub factotum: Vec<Zeroizing<String>>,
    /// The signer's CA keys, serials, issued log and agent keys.
    pub signer: SignerDb,
}

/// The decrypted payload did not parse (it was written by a broken build:
/// the AEAD already vouched for its integrity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Short> for DecodeError {
    fn from(s: Short) -> Self {
        DecodeError(s.to_string())
    }
}

fn str_n(w: &mut Writer, s: &[u8], wide: bool) {
    if wide {
        w.u16le(s.len().min(usize::from(u16::MAX)) as u16);
        w.bytes(&s[..s.len().min(usize::from(u16::MAX))]);
    } else {
        w.u8(s.len().min(255) as u8);
        w.bytes(&s[..s.len().min(255)]);
    }
}

fn put_account(w: &mut Writer, a: &Account) {
    str_n(w, a.name.as_bytes(), false);
    w.u8(match a.status {
        Status::Ok => 0,
        Status::Disabled => 1,
    });
    match a.expire {
        Expiry::Never => {
            w.u8(0);
        }
        Expiry::At(t) => {
            w.u8(1).u64le(t);
        }
    }
    w.u64le(a.changed);
    match &a.secrets {
        None => {
            w.u8(0);
        }
        Some(s) => {
            w.u8(1).bytes(&s.des_key[..]).bytes(&s.aes_key[..]);
            str_n(w, &s.secret, true);
            match &s.signer {
                None => {
                    w.u8(0);
                }
                Some(v) => {
                    w.u8(1)
                        .bytes(&v.salt)
                        .u32le(v.iterations)
                        .bytes(&v.secret[..]);
                }
            }
        }
    }
    match &a.otp {
        None => {
            w.u8(0);
        }
        Some(t) => {
            let (kind, step) = match t.kind {
                Kind::Hotp => (1, 0),
                Kind::Totp { step } => (2, step),
            };
            w.u8(1).u8(kind).u64le(step).u8(t.digits).u8(t.hash.id());
            str_n(w, &t.key, false);
            w.u64le(t.counter);
            match &t.last_otp {
                None => {
                    w.u8(0);
                }
                Some(o) => {
                    w.u8(1);
                    str_n(w, o.as_bytes(), false);
                }
            }
            match t.last_time {
                None => {
                    w.u8(0);
                }
                Some(x) => {
                    w.u8(1).u64le(x);
                }
            }
        }
    }
    w.u16le(a.attrs.len().min(usize::from(u16::MAX)) as u16);
    for (k, v) in a.attrs.iter().take(usize::from(u16::MAX)) {
        str_n(w, k.as_bytes(), true);
        str_n(w, v.as_bytes(), true);
    }
    match &a.disabled_note {
        None => {
            w.u8(0);
        }
        Some(n) => {
            w.u8(1);
            str_n(w, n.as_bytes(), true);
        }
    }
    match &a.secstore {
        None => {
            w.u8(0);
        }
        Some(s) => {
            w.u8(1);
            str_n(w, &s.hi, true);
            w.u32le(s.max_files).u64le(s.max_bytes);
        }
    }
}

/// Serialize the database. The result holds secrets: it is zeroized on drop.
pub fn encode(db: &Db) -> Zeroizing<Vec<u8>> {
    let mut w = Writer {
        buf: Vec::with_capacity(64 + db.accounts.len() * 160),
    };
    w.bytes(MAGIC).u8(DB_VERSION);
    w.u32le(db.accounts.len() as u32);
    let mut body = Writer::new();
    for a in db.accounts.values() {
        body.buf.clear();
        put_account(&mut body, a);
        w.u32le(body.buf.len() as u32).bytes(&body.buf);
    }
    zeroize::Zeroize::zeroize(&mut body.buf);
    w.u32le(db.factotum.len() as u32);
    for l in &db.factotum {
        w.u32le(l.len() as u32).bytes(l.as_bytes());
    }
    put_signer(&mut w, &db.signer);
    Zeroizing::new(w.into_vec())
}

fn get_str(r: &mut Reader<'_>, wide: bool, what: &str) -> Result<String, DecodeError> {
    let n = if wide {
        usize::from(r.u16le()?)
    } else {
        usize::from(r.u8()?)
    };
    let b = r.bytes(n)?;
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError(format!("{what} is not UTF-8")))
}

fn flag(r: &mut Reader<'_>, what: &str) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        x => Err(DecodeError(format!("{what}: bad flag {x}"))),
    }
}

fn put_signer(w: &mut Writer, s: &SignerDb) {
    w.u64le(s.next_serial).u64le(s.krl_version);
    w.u16le(s.cas.len().min(usize::from(u16::MAX)) as u16);
    for c in s.cas.iter().take(usize::from(u16::MAX)) {
        w.bytes(&c.seed[..]).u64le(c.created);
        match c.retired {
            None => {
                w.u8(0);
            }
            Some(t) => {
                w.u8(1).u64le(t);
            }
        }
        w.u64le(c.until);
    }
    w.u32le(s.issued.len() as u32);
    for i in &s.issued {
        w.u64le(i.serial).u8(i.kind);
        str_n(w, &i.key, true);
        str_n(w, &i.ca, true);
        str_n(w, i.principals.join(",").as_bytes(), true);
        w.u64le(i.valid_after).u64le(i.valid_before);
        str_n(w, i.by.as_bytes(), false);
        w.u64le(i.at).u8(u8::from(i.revoked));
    }
    w.u16le(s.revoked_keys.len().min(usize::from(u16::MAX)) as u16);
    for k in s.revoked_keys.iter().take(usize::from(u16::MAX)) {
        str_n(w, k, true);
    }
    w.u16le(s.agent_keys.len().min(usize::from(u16::MAX)) as u16);
    for k in s.agent_keys.iter().take(usize::from(u16::MAX)) {
        w.bytes(&k.seed[..]);
        str_n(w, k.comment.as_bytes(), true);
        w.u8(u8::from(k.confirm));
        str_n(w, k.cert.as_deref().unwrap_or_default(), true);
    }
    w.u16le(s.enrol.len().min(usize::from(u16::MAX)) as u16);
    for e in s.enrol.iter().take(usize::from(u16::MAX)) {
        str_n(w, e.host.as_bytes(), false);
        str_n(w, e.principals.join(",").as_bytes(), true);
        w.bytes(&e.token[..]).u64le(e.expires).u64le(e.validity);
    }
    match &s.inferno {
        None => {
            w.u8(0);
        }
        Some(k) => {
            w.u8(1).u64le(k.created);
            str_n(w, k.sk.as_bytes(), true);
            str_n(w, &k.alpha, true);
            str_n(w, &k.p, true);
        }
    }
}

fn get_bytes16(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let n = usize::from(r.u16le()?);
    Ok(r.bytes(n)?.to_vec())
}

fn get_signer(r: &mut Reader<'_>, version: u8) -> Result<SignerDb, DecodeError> {
    let ctx = |m: &str| DecodeError(format!("signer record: {m}"));
    let mut s = SignerDb {
        next_serial: r.u64le()?,
        krl_version: r.u64le()?,
        ..SignerDb::default()
    };
    let ncas = r.u16le()?;
    for _ in 0..ncas {
        let seed = Zeroizing::new(r.array::<32>()?);
        let created = r.u64le()?;
        let retired = if flag(r, "retired")? {
            Some(r.u64le()?)
        } else {
            None
        };
        let until = r.u64le()?;
        s.cas.push(CaKey {
            seed,
            created,
            retired,
            until,
        });
    }
    let nissued = r.u32le()?;
    for _ in 0..nissued {
        let serial = r.u64le()?;
        let kind = r.u8()?;
        if kind != 1 && kind != 2 {
            return Err(ctx(&format!("certificate {serial}: bad type {kind}")));
        }
        let key = get_bytes16(r)?;
        let ca = get_bytes16(r)?;
        let principals = get_str(r, true, "principals")?;
        let valid_after = r.u64le()?;
        let valid_before = r.u64le()?;
        let by = get_str(r, false, "issued by")?;
        let at = r.u64le()?;
        let revoked = flag(r, "revoked")?;
        s.issued.push(Issued {
            serial,
            kind,
            key,
            ca,
            principals: if principals.is_empty() {
                Vec::new()
            } else {
                principals.split(',').map(String::from).collect()
            },
            valid_after,
            valid_before,
            by,
            at,
            revoked,
        });
    }
    let nrev = r.u16le()?;
    for _ in 0..nrev {
        s.revoked_keys.push(get_bytes16(r)?);
    }
    let nagent = r.u16le()?;
    for _ in 0..nagent {
        let seed = Zeroizing::new(r.array::<32>()?);
        let comment = get_str(r, true, "agent key comment")?;
        let confirm = flag(r, "agent key confirm")?;
        let cert = if version >= 3 {
            Some(get_bytes16(r)?).filter(|c| !c.is_empty())
        } else {
            None
        };
        s.agent_keys.push(AgentKey {
            seed,
            cert,
            comment,
            confirm,
        });
    }
    if version >= 3 {
        for _ in 0..r.u16le()? {
            let host = get_str(r, false, "enrolment host")?;
            let principals = get_str(r, true, "enrolment principals")?;
            let token = Zeroizing::new(r.array::<16>()?);
            s.enrol.push(Enrol {
                host,
                principals: principals.split(',').map(String::from).collect(),
                token,
                expires: r.u64le()?,
                validity: r.u64le()?,
            });
        }
    }
    Ok(s)
}

fn get_account(body: &[u8], version: u8) -> Result<Account, DecodeError> {
    let mut r = Reader::new(body);
    let name = get_str(&mut r, false, "user name")?;
    let ctx = |m: &str| DecodeError(format!("account '{name}': {m}"));
    let status = match r.u8()? {
        0 => Status::Ok,
        1 => Status::Disabled,
        x => return Err(ctx(&format!("bad status {x}"))),
    };
    let expire = if flag(&mut r, "expire")? {
        Expiry::at(r.u64le()?)
    } else {
        Expiry::Never
    };
    let changed = r.u64le()?;
    let secrets = if flag(&mut r, "secrets")? {
        let des_key = Zeroizing::new(r.array::<DESKEYLEN>()?);
        let aes_key = Zeroizing::new(r.array::<AESKEYLEN>()?);
        let n = usize::from(r.u16le()?);
        let secret = Zeroizing::new(r.bytes(n)?.to_vec());
        let signer = if version >= 2 && flag(&mut r, "verifier")? {
            let salt = r.array::<16>()?;
            let iterations = r.u32le()?;
            let secret = Zeroizing::new(r.array::<32>()?);
            Some(SignerVerifier {
                salt,
                iterations,
                secret,
            })
        } else {
            None
        };
        Some(Secrets {
            des_key,
            aes_key,
            secret,
            signer,
        })
    } else {
        None
    };
    let otp = if flag(&mut r, "otp")? {
        let kind = r.u8()?;
        let step = r.u64le()?;
        let kind = match (kind, step) {
            (1, _) => Kind::Hotp,
            (2, s) if s > 0 => Kind::Totp { step: s },
            _ => return Err(ctx("bad OTP kind")),
        };
        let digits = r.u8()?;
        if !valid_digits(digits) {
            return Err(ctx("bad OTP digits"));
        }
        let hash = Hash::from_id(r.u8()?).ok_or_else(|| ctx("bad OTP hash"))?;
        let n = usize::from(r.u8()?);
        let key = Zeroizing::new(r.bytes(n)?.to_vec());
        let counter = r.u64le()?;
        let last_otp = if flag(&mut r, "last otp")? {
            Some(get_str(&mut r, false, "last otp")?)
        } else {
            None
        };
        let last_time = if flag(&mut r, "last time")? {
            Some(r.u64le()?)
        } else {
            None
        };
        Some(Token {
            kind,
            digits,
            hash,
            key,
            counter,
            last_otp,
            last_time,
        })
    } else {
        None
    };
    let nattrs = r.u16le()?;
    let mut attrs = Vec::with_capacity(usize::from(nattrs).min(64));
    for _ in 0..nattrs {
        let k = get_str(&mut r, true, "attribute name")?;
        let v = get_str(&mut r, true, "attribute value")?;
        attrs.push((k, v));
    }
    let disabled_note = if flag(&mut r, "note")? {
        Some(get_str(&mut r, true, "note")?)
    } else {
        None
    };
    let secstore = if version >= 3 && flag(&mut r, "secstore")? {
        let n = usize::from(r.u16le()?);
        let hi = Zeroizing::new(r.bytes(n)?.to_vec());
        let max_files = r.u32le()?;
        let max_bytes = r.u64le()?;
        Some(SecstoreAccount {
            hi,
            max_files,
            max_bytes,
        })
    } else {
        None
    };
    if r.remaining() != 0 {
        return Err(ctx(&format!("{} trailing bytes", r.remaining())));
    }
    Ok(Account {
        name,
        status,
        expire,
        secrets,
        otp,
        attrs,
        changed,
        disabled_note,
        secstore,
    })
}

/// Parse a decrypted payload.
pub fn decode(buf: &[u8]) -> Result<Db, DecodeError> {
    let mut r = Reader::new(buf);
    if r.bytes(4)? != MAGIC {
        return Err(DecodeError("payload magic is wrong".into()));
    }
    let v = r.u8()?;
    if !(1..=DB_VERSION).contains(&v) {
        return Err(DecodeError(format!(
            "payload version {v} not supported (this build reads {DB_VERSION})"
        )));
    }
    let n = r.u32le()?;
    let mut db = Db::default();
    for i in 0..n {
        let len = r.u32le()? as usize;
        let body = r.bytes(len)?;
        let a = get_account(body, v).map_err(|e| DecodeError(format!("account #{i}: {e}")))?;
        if db.accounts.insert(a.name.clone(), a).is_some() {
            return Err(DecodeError(format!("account #{i}: duplicate name")));
        }
    }
    let nf = r.u32le()?;
    for i in 0..nf {
        let len = r.u32le()? as usize;
        let b = r.bytes(len)?;
        let s = String::from_utf8(b.to_vec())
            .map_err(|_| DecodeError(format!("factotum key #{i} is not UTF-8")))?;
        db.factotum.push(Zeroizing::new(s));
    }
    if v >= 2 {
        db.signer = get_signer(&mut r, v)?;
    }
    if v >= 3 && flag(&mut r, "inferno key")? {
        let created = r.u64le()?;
        let sk = String::from_utf8(get_bytes16(&mut r)?)
            .map_err(|_| DecodeError("the Inferno signer key is not text".into()))?;
        db.signer.inferno = Some(InfernoKey {
            created,
            sk: Zeroizing::new(sk),
            alpha: get_bytes16(&mut r)?,
            p: get_bytes16(&mut r)?,
        });
    }
    if r.remaining() != 0 {
        return Err(DecodeError(format!("{} trailing bytes", r.remaining())));
    }
    Ok(db)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Db {
        let mut db = Db::default();
        let mut a = Account::new("glenda", Expiry::Never, 10).unwrap();
        a.secrets = Some(Secrets::from_password(b"password"));
        a.attrs
            .push(("ssh-principals".into(), "glenda,root".into()));
        a.otp = Some(Token {
            kind: Kind::Totp { step: 30 },
            digits: 8,
            hash: Hash::Sha256,
            key: Zeroizing::new(b"12345678901234567890".to_vec()),
            counter: 3,
            last_otp: Some("12345678".into()),
            last_time: Some(99),
        });
        db.accounts.insert(a.name.clone(), a);
        let mut b = Account::new("bob", Expiry::At(1234), 11).unwrap();
        b.status = Status::Disabled;
        b.disabled_note = Some("50 failures".into());
        b.secstore = Some(SecstoreAccount {
            hi: Zeroizing::new(vec![0xAB; 128]),
            max_files: 3,
            max_bytes: 4096,
        });
        db.accounts.insert(b.name.clone(), b);
        db.factotum.push(Zeroizing::new(
            "key proto=pass user=x !password='a b'".into(),
        ));
        if let Some(s) = db
            .accounts
            .get_mut("glenda")
            .and_then(|a| a.secrets.as_mut())
        {
            s.signer = Some(SignerVerifier {
                salt: [3; 16],
                iterations: 1000,
                secret: Zeroizing::new([4; 32]),
            });
        }
        db.signer.next_serial = 7;
        db.signer.krl_version = 2;
        db.signer.cas.push(CaKey {
            seed: Zeroizing::new([5; 32]),
            created: 1,
            retired: Some(2),
            until: 3,
        });
        db.signer.issued.push(Issued {
            serial: 6,
            kind: 1,
            key: vec![1, 2, 3],
            ca: vec![4, 5],
            principals: vec!["glenda".into(), "backup".into()],
            valid_after: 10,
            valid_before: 20,
            by: "admin".into(),
            at: 11,
            revoked: true,
        });
        db.signer.revoked_keys.push(vec![9; 5]);
        db.signer.agent_keys.push(AgentKey {
            seed: Zeroizing::new([8; 32]),
            cert: Some(vec![1, 2, 3]),
            comment: "backup@box".into(),
            confirm: true,
        });
        db.signer.enrol.push(Enrol {
            host: "nas.lan".into(),
            principals: vec!["nas.lan".into(), "nas".into()],
            token: Zeroizing::new([7; 16]),
            expires: 30,
            validity: 40,
        });
        db.signer.inferno = Some(InfernoKey {
            created: 11,
            sk: Zeroizing::new("rsa\nsigner\nAw==\n".into()),
            alpha: vec![2],
            p: vec![0xff; 4],
        });
        db
    }

    /// A version 1 payload (before the signer) still opens: no verifier,
    /// an empty signer record.
    #[test]
    fn version_1_opens() {
        let mut db = Db::default();
        let mut a = Account::new("glenda", Expiry::Never, 10).unwrap();
        a.secrets = Some(Secrets::from_password(b"password"));
        db.accounts.insert(a.name.clone(), a);
        let v2 = encode(&db);
        // v1 layout: the same account body without the verifier flag, and
        // no signer record.
        let mut body = Writer::new();
        put_account(&mut body, db.accounts.get("glenda").unwrap());
        // name(1+6) status(1) expire(1) changed(8) flag(1) des(7) aes(16)
        // secret(2+8) then the verifier flag.
        let at = 7 + 1 + 1 + 8 + 1 + 7 + 16 + 2 + 8;
        assert_eq!(body.buf[at], 0);
        body.buf.remove(at);
        // and without the secstore flag (version 3), the body's last byte
        assert_eq!(body.buf.pop(), Some(0));
        let mut v1 = Writer::new();
        v1.bytes(MAGIC).u8(1).u32le(1);
        v1.u32le(body.buf.len() as u32).bytes(&body.buf);
        v1.u32le(0);
        let got = decode(&v1.buf).unwrap();
        assert_eq!(got, db);
        assert_eq!(got.signer, SignerDb::default());
        assert_ne!(v1.buf, v2.to_vec());
    }

    /// A version 2 payload (before enrolment tokens and the Inferno
    /// signer key) still opens.
    #[test]
    fn version_2_opens() {
        let mut db = sample();
        db.signer.enrol.clear();
        db.signer.inferno = None;
        // (version 2 agent keys have no certificate field, accounts no
        // secstore)
        db.signer.agent_keys.clear();
        for (_, a) in db.accounts.iter_mut() {
            a.secstore = None;
        }
        let mut v2 = encode(&db).to_vec();
        assert_eq!(v2[4], 3);
        v2[4] = 2;
        // the empty token list (u16 0) and no Inferno key (0) at the end
        assert_eq!(v2.split_off(v2.len() - 3), [0, 0, 0]);
        // and the accounts' secstore flags (sample's have none)
        let v2 = drop_secstore_flags(v2);
        assert_eq!(decode(&v2).unwrap(), db);
    }

    /// Version 2 accounts end before the secstore flag: drop each one
    /// (a 0) and fix the account's length.
    fn drop_secstore_flags(v: Vec<u8>) -> Vec<u8> {
        let n = u32::from_le_bytes(v[5..9].try_into().unwrap()) as usize;
        let mut out = v[..9].to_vec();
        let mut at = 9;
        for _ in 0..n {
            let len = u32::from_le_bytes(v[at..at + 4].try_into().unwrap()) as usize;
            let body = &v[at + 4..at + 4 + len];
            assert_eq!(body[len - 1], 0, "an account with secstore in the sample");
            out.extend_from_slice(&((len - 1) as u32).to_le_bytes());
            out.extend_from_slice(&body[..len - 1]);
            at += 4 + len;
        }
        out.extend_from_slice(&v[at..]);
        out
    }

    /// A version 2 payload (before secstore) still opens: no secstore
    /// accounts.
    #[test]
    fn version_2_account_opens() {
        let mut db = Db::default();
        let a = Account::new("glenda", Expiry::Never, 10).unwrap();
        db.accounts.insert(a.name.clone(), a);
        let mut v2 = encode(&db).to_vec();
        v2[4] = 2;
        assert_eq!(v2.split_off(v2.len() - 3), [0, 0, 0]);
        let v2 = drop_secstore_flags(v2);
        assert_eq!(decode(&v2).unwrap(), db);
    }

    #[test]
    fn round_trip() {
        let db = sample();
        let bytes = encode(&db);
        assert_eq!(decode(&bytes).unwrap(), db);
        assert_eq!(decode(&encode(&Db::default())).unwrap(), Db::default());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut more = bytes.to_vec();
        more.push(0);
        assert!(decode(&more).unwrap_err().0.contains("trailing"));
    }

    #[test]
    fn corrupt_bytes_never_panic() {
        let bytes = encode(&sample());
        for i in 0..bytes.len() {
            for x in [0u8, 0xff, 2] {
                let mut b = bytes.to_vec();
                b[i] = x;
                let _ = decode(&b);
            }
        }
    }
}
