//! The wire formats of authsrv(6), with named byte ranges. Parsing checks
//! the length first, so no accessor can panic; names are NUL-padded fixed
//! fields and must be UTF-8.
//!
//! ```text
//! Ticketreq (141): type[1] authid[28] authdom[48] chal[8] hostid[28] uid[28]
//! Ticket     (72): num[1] chal[8] cuid[28] suid[28] key[7]     DES-encrypted
//! Authenticator (13): num[1] chal[8] id[4]                      DES-encrypted
//! AuthErr    (65): type[1]=5 msg[64]
//! ```

use super::des::{self, DESKEYLEN};
use hmac::{KeyInit, Mac};
use md5::{Digest, Md5};
use std::fmt;

pub const ANAMELEN: usize = 28;
pub const DOMLEN: usize = 48;
pub const CHALLEN: usize = 8;
pub const ERRMAXLEN: usize = 64;
pub const TICKREQLEN: usize = 1 + ANAMELEN + DOMLEN + CHALLEN + ANAMELEN + ANAMELEN;
pub const TICKETLEN: usize = 1 + CHALLEN + 2 * ANAMELEN + DESKEYLEN;
pub const AUTHENTLEN: usize = 1 + CHALLEN + 4;

/// Message types (authsrv.h).
pub mod types {
    pub const AUTH_TREQ: u8 = 1;
    pub const AUTH_CHAL: u8 = 2;
    pub const AUTH_PASS: u8 = 3;
    pub const AUTH_OK: u8 = 4;
    pub const AUTH_ERR: u8 = 5;
    pub const AUTH_MOD: u8 = 6;
    pub const AUTH_APOP: u8 = 7;
    pub const AUTH_OKVAR: u8 = 9;
    pub const AUTH_CHAP: u8 = 10;
    pub const AUTH_MSCHAP: u8 = 11;
    pub const AUTH_CRAM: u8 = 12;
    pub const AUTH_HTTP: u8 = 13;
    pub const AUTH_VNC: u8 = 14;
    pub const AUTH_PAK: u8 = 19;
    /// Encrypted-block tags.
    pub const AUTH_TS: u8 = 64;
    pub const AUTH_TC: u8 = 65;
    pub const AUTH_AS: u8 = 66;
    pub const AUTH_AC: u8 = 67;
}

mod field {
    use std::ops::Range;
    pub const TYPE: usize = 0;
    pub const AUTHID: Range<usize> = 1..29;
    pub const AUTHDOM: Range<usize> = 29..77;
    pub const CHAL: Range<usize> = 77..85;
    pub const HOSTID: Range<usize> = 85..113;
    pub const UID: Range<usize> = 113..141;

    pub const T_NUM: usize = 0;
    pub const T_CHAL: Range<usize> = 1..9;
    pub const T_CUID: Range<usize> = 9..37;
    pub const T_SUID: Range<usize> = 37..65;
    pub const T_KEY: Range<usize> = 65..72;

    pub const A_NUM: usize = 0;
    pub const A_CHAL: Range<usize> = 1..9;
    pub const A_ID: Range<usize> = 9..13;
}

/// A malformed message; says which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    Length {
        what: &'static str,
        want: usize,
        got: usize,
    },
    Name {
        field: &'static str,
    },
    TooLong {
        field: &'static str,
        max: usize,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Length { what, want, got } => {
                write!(f, "{what}: need {want} bytes, got {got}")
            }
            FormatError::Name { field } => write!(f, "{field}: not a valid name"),
            FormatError::TooLong { field, max } => {
                write!(f, "{field}: longer than {max} bytes")
            }
        }
    }
}

impl std::error::Error for FormatError {}

/// A NUL-terminated name field (p9sk1 and form1 messages both).
pub(super) fn get_name(b: &[u8], field: &'static str) -> Result<String, FormatError> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s = std::str::from_utf8(&b[..end]).map_err(|_| FormatError::Name { field })?;
    if s.chars().any(|c| c.is_control()) {
        return Err(FormatError::Name { field });
    }
    Ok(s.to_string())
}

pub(super) fn put_name(dst: &mut [u8], s: &str, field: &'static str) -> Result<(), FormatError> {
    // Room for the terminating NUL, as Plan 9's strings have.
    if s.len() >= dst.len() {
        return Err(FormatError::TooLong {
            field,
            max: dst.len() - 1,
        });
    }
    dst.fill(0);
    dst[..s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

fn check_len(b: &[u8], what: &'static str, want: usize) -> Result<(), FormatError> {
    if b.len() != want {
        return Err(FormatError::Length {
            what,
            want,
            got: b.len(),
        });
    }
    Ok(())
}

/// A ticket request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticketreq {
    pub ty: u8,
    pub authid: String,
    pub authdom: String,
    pub chal: [u8; CHALLEN],
    pub hostid: String,
    pub uid: String,
}

impl Ticketreq {
    pub fn parse(b: &[u8]) -> Result<Self, FormatError> {
        check_len(b, "ticket request", TICKREQLEN)?;
        let mut chal = [0u8; CHALLEN];
        chal.copy_from_slice(&b[field::CHAL]);
        Ok(Ticketreq {
            ty: b[field::TYPE],
            authid: get_name(&b[field::AUTHID], "authid")?,
            authdom: get_name(&b[field::AUTHDOM], "authdom")?,
            chal,
            hostid: get_name(&b[field::HOSTID], "hostid")?,
            uid: get_name(&b[field::UID], "uid")?,
        })
    }

    pub fn emit(&self) -> Result<[u8; TICKREQLEN], FormatError> {
        let mut b = [0u8; TICKREQLEN];
        b[field::TYPE] = self.ty;
        put_name(&mut b[field::AUTHID], &self.authid, "authid")?;
        put_name(&mut b[field::AUTHDOM], &self.authdom, "authdom")?;
        b[field::CHAL].copy_from_slice(&self.chal);
        put_name(&mut b[field::HOSTID], &self.hostid, "hostid")?;
        put_name(&mut b[field::UID], &self.uid, "uid")?;
        Ok(b)
    }
}

/// A ticket: proof from the auth server that `cuid` may act as `suid`,
/// carrying the session key.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    pub num: u8,
    pub chal: [u8; CHALLEN],
    pub cuid: String,
    pub suid: String,
    pub key: [u8; DESKEYLEN],
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("num", &self.num)
            .field("cuid", &self.cuid)
            .field("suid", &self.suid)
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// Encode and encrypt with `key`.
    pub fn seal(&self, key: &[u8; DESKEYLEN]) -> Result<[u8; TICKETLEN], FormatError> {
        let mut b = [0u8; TICKETLEN];
        b[field::T_NUM] = self.num;
        b[field::T_CHAL].copy_from_slice(&self.chal);
        put_name(&mut b[field::T_CUID], &self.cuid, "cuid")?;
        put_name(&mut b[field::T_SUID], &self.suid, "suid")?;
        b[field::T_KEY].copy_from_slice(&self.key);
        des::encrypt(key, &mut b);
        Ok(b)
    }

    /// Decrypt with `key` and decode. A wrong key gives garbage that the
    /// caller rejects by checking `num` and `chal`.
    pub fn open(b: &[u8], key: &[u8; DESKEYLEN]) -> Result<Ticket, FormatError> {
        check_len(b, "ticket", TICKETLEN)?;
        let mut b: [u8; TICKETLEN] = b.try_into().map_err(|_| FormatError::Length {
            what: "ticket",
            want: TICKETLEN,
            got: 0,
        })?;
        des::decrypt(key, &mut b);
        let mut chal = [0u8; CHALLEN];
        chal.copy_from_slice(&b[field::T_CHAL]);
        let mut k = [0u8; DESKEYLEN];
        k.copy_from_slice(&b[field::T_KEY]);
        let t = Ticket {
            num: b[field::T_NUM],
            chal,
            // Garbage names from a wrong key are not an error here.
            cuid: get_name(&b[field::T_CUID], "cuid").unwrap_or_default(),
            suid: get_name(&b[field::T_SUID], "suid").unwrap_or_default(),
            key: k,
        };
        b.fill(0);
        Ok(t)
    }
}

/// An authenticator: proof of holding the session key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    pub num: u8,
    pub chal: [u8; CHALLEN],
    pub id: u32,
}

impl Authenticator {
    pub fn seal(&self, key: &[u8; DESKEYLEN]) -> [u8; AUTHENTLEN] {
        let mut b = [0u8; AUTHENTLEN];
        b[field::A_NUM] = self.num;
        b[field::A_CHAL].copy_from_slice(&self.chal);
        b[field::A_ID].copy_from_slice(&self.id.to_le_bytes());
        des::encrypt(key, &mut b);
        b
    }

    pub fn open(b: &[u8], key: &[u8; DESKEYLEN]) -> Result<Authenticator, FormatError> {
        check_len(b, "authenticator", AUTHENTLEN)?;
        let mut b = b.to_vec();
        des::decrypt(key, &mut b);
        let mut chal = [0u8; CHALLEN];
        chal.copy_from_slice(&b[field::A_CHAL]);
        let mut id = [0u8; 4];
        id.copy_from_slice(&b[field::A_ID]);
        Ok(Authenticator {
            num: b[field::A_NUM],
            chal,
            id: u32::from_le_bytes(id),
        })
    }
}

/// AuthErr followed by a NUL-padded 64-byte message (truncated to fit).
pub fn auth_err(msg: &str) -> [u8; 1 + ERRMAXLEN] {
    let mut b = [0u8; 1 + ERRMAXLEN];
    b[0] = types::AUTH_ERR;
    let mut n = msg.len().min(ERRMAXLEN - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    b[1..1 + n].copy_from_slice(&msg.as_bytes()[..n]);
    b
}

/// The response to an AuthApop or AuthCram challenge `chal` with
/// `password` (the ticket service checks it; factotum's apop and cram
/// send it).
pub fn apop_response(cram: bool, chal: &[u8], password: &[u8]) -> [u8; 16] {
    if cram {
        hmac_md5(password, chal)
    } else {
        let mut h = Md5::new();
        h.update(chal);
        h.update(password);
        h.finalize().into()
    }
}

/// HMAC-MD5 (RFC 2104).
pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    // any key length is valid for HMAC
    match hmac::Hmac::<Md5>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 16],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn treq() -> Ticketreq {
        Ticketreq {
            ty: types::AUTH_TREQ,
            authid: "bootes".into(),
            authdom: "lan.example".into(),
            chal: *b"abcdefgh",
            hostid: "glenda".into(),
            uid: "glenda".into(),
        }
    }

    #[test]
    fn ticketreq_layout() {
        let b = treq().emit().unwrap();
        assert_eq!(b.len(), 141);
        assert_eq!(b[0], 1);
        assert_eq!(&b[1..7], b"bootes");
        assert_eq!(b[7], 0);
        assert_eq!(&b[29..40], b"lan.example");
        assert_eq!(&b[77..85], b"abcdefgh");
        assert_eq!(&b[85..91], b"glenda");
        assert_eq!(&b[113..119], b"glenda");
        assert_eq!(Ticketreq::parse(&b).unwrap(), treq());
    }

    #[test]
    fn ticketreq_bad_input() {
        assert!(matches!(
            Ticketreq::parse(&[1; 140]),
            Err(FormatError::Length { got: 140, .. })
        ));
        let mut b = treq().emit().unwrap();
        b[1] = 0xff;
        assert_eq!(
            Ticketreq::parse(&b),
            Err(FormatError::Name { field: "authid" })
        );
        let mut t = treq();
        t.uid = "x".repeat(28);
        assert!(matches!(
            t.emit(),
            Err(FormatError::TooLong {
                field: "uid",
                max: 27
            })
        ));
        t.uid = "x".repeat(27);
        assert_eq!(Ticketreq::parse(&t.emit().unwrap()).unwrap().uid.len(), 27);
    }

    #[test]
    fn ticket_seal_open() {
        let key = [1, 2, 3, 4, 5, 6, 7];
        let t = Ticket {
            num: types::AUTH_TS,
            chal: *b"12345678",
            cuid: "glenda".into(),
            suid: "glenda".into(),
            key: [7; 7],
        };
        let sealed = t.seal(&key).unwrap();
        assert_eq!(sealed.len(), 72);
        assert_ne!(&sealed[9..15], b"glenda");
        assert_eq!(Ticket::open(&sealed, &key).unwrap(), t);
        let wrong = Ticket::open(&sealed, &[0; 7]).unwrap();
        assert!(wrong.num != t.num || wrong.chal != t.chal);
        assert!(!format!("{t:?}").contains("key: "));
    }

    #[test]
    fn authenticator_seal_open() {
        let key = [3; 7];
        let a = Authenticator {
            num: types::AUTH_AC,
            chal: *b"hgfedcba",
            id: 0x01020304,
        };
        let b = a.seal(&key);
        assert_eq!(b.len(), 13);
        assert_eq!(Authenticator::open(&b, &key).unwrap(), a);
    }

    #[test]
    fn auth_err_is_65_bytes_and_truncates() {
        let e = auth_err("no such user");
        assert_eq!(e[0], 5);
        assert_eq!(&e[1..13], b"no such user");
        assert_eq!(e[13], 0);
        let long = auth_err(&"é".repeat(40));
        assert_eq!(long.len(), 65);
        assert_eq!(long[64], 0);
        assert!(std::str::from_utf8(long[1..].split(|&c| c == 0).next().unwrap()).is_ok());
    }
}
