//! The 9P2000 wire format (Plan 9 manual, section 5: intro(5), stat(5)):
//! messages as a Rust enum, decoded from and encoded to bytes. Sans-IO:
//! nothing here reads or writes a descriptor.
//!
//! Every message is `size[4] type[1] tag[2] body`, little-endian, where
//! `size` counts the whole message including itself. Strings are `n[2]`
//! followed by `n` bytes of UTF-8. [`decode`] takes exactly one message
//! (as split off by [`frame_len`] or [`Framer`]) and never panics: a bad
//! size, a truncated or over-long body, an unknown type or a string that is
//! not UTF-8 is an [`FcallError`] naming the message type and byte offset.

use crate::wire::{Reader, Short, Writer};
use std::fmt;

/// `size[4] type[1] tag[2]`: the header every message starts with.
pub const HEADER: usize = 7;
/// Room for a Tread/Twrite/Rread header: what msize leaves for data is
/// `msize - IOHDRSZ` (Plan 9's fcall.h).
pub const IOHDRSZ: u32 = 24;
/// lib9p's default msize, also what plan9port's factotum serves with.
pub const DEFAULT_MSIZE: u32 = 8192 + IOHDRSZ;
/// The smallest msize a server accepts: room for a header, a stat and a
/// little data.
pub const MIN_MSIZE: u32 = 256;
/// At most this many names in one Twalk (and qids in one Rwalk).
pub const MAXWELEM: usize = 16;
/// The tag Tversion carries.
pub const NOTAG: u16 = 0xffff;
/// "No fid", e.g. the afid of a Tattach without authentication.
pub const NOFID: u32 = 0xffff_ffff;
/// The only protocol version spoken.
pub const VERSION: &str = "9P2000";

/// Open modes (open(5)).
pub const OREAD: u8 = 0;
pub const OWRITE: u8 = 1;
pub const ORDWR: u8 = 2;
pub const OEXEC: u8 = 3;
pub const OTRUNC: u8 = 0x10;
pub const ORCLOSE: u8 = 0x40;

/// Qid types (the high byte of a Dir's mode).
pub const QTDIR: u8 = 0x80;
pub const QTAPPEND: u8 = 0x40;
pub const QTEXCL: u8 = 0x20;
pub const QTAUTH: u8 = 0x08;
pub const QTFILE: u8 = 0x00;

/// Mode bits in a Dir.
pub const DMDIR: u32 = 0x8000_0000;
pub const DMAPPEND: u32 = 0x4000_0000;
pub const DMEXCL: u32 = 0x2000_0000;
pub const DMAUTH: u32 = 0x0800_0000;

/// Message type numbers (fcall.h).
pub mod ty {
    pub const TVERSION: u8 = 100;
    pub const RVERSION: u8 = 101;
    pub const TAUTH: u8 = 102;
    pub const RAUTH: u8 = 103;
    pub const TATTACH: u8 = 104;
    pub const RATTACH: u8 = 105;
    pub const RERROR: u8 = 107;
    pub const TFLUSH: u8 = 108;
    pub const RFLUSH: u8 = 109;
    pub const TWALK: u8 = 110;
    pub const RWALK: u8 = 111;
    pub const TOPEN: u8 = 112;
    pub const ROPEN: u8 = 113;
    pub const TCREATE: u8 = 114;
    pub const RCREATE: u8 = 115;
    pub const TREAD: u8 = 116;
    pub const RREAD: u8 = 117;
    pub const TWRITE: u8 = 118;
    pub const RWRITE: u8 = 119;
    pub const TCLUNK: u8 = 120;
    pub const RCLUNK: u8 = 121;
    pub const TREMOVE: u8 = 122;
    pub const RREMOVE: u8 = 123;
    pub const TSTAT: u8 = 124;
    pub const RSTAT: u8 = 125;
    pub const TWSTAT: u8 = 126;
    pub const RWSTAT: u8 = 127;
}

/// The name of a message type, for errors and logs.
pub fn type_name(t: u8) -> &'static str {
    const NAMES: [&str; 28] = [
        "Tversion", "Rversion", "Tauth", "Rauth", "Tattach", "Rattach", "Terror", "Rerror",
        "Tflush", "Rflush", "Twalk", "Rwalk", "Topen", "Ropen", "Tcreate", "Rcreate", "Tread",
        "Rread", "Twrite", "Rwrite", "Tclunk", "Rclunk", "Tremove", "Rremove", "Tstat", "Rstat",
        "Twstat", "Rwstat",
    ];
    t.checked_sub(100)
        .and_then(|i| NAMES.get(usize::from(i)))
        .copied()
        .unwrap_or("unknown")
}

/// A file's server-unique identity (intro(5)): `type[1] vers[4] path[8]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Qid {
    pub ty: u8,
    pub vers: u32,
    pub path: u64,
}

impl Qid {
    pub const LEN: usize = 13;

    pub fn is_dir(&self) -> bool {
        self.ty & QTDIR != 0
    }

    fn read(r: &mut Reader<'_>) -> Result<Qid, Short> {
        Ok(Qid {
            ty: r.u8()?,
            vers: r.u32le()?,
            path: r.u64le()?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.ty).u32le(self.vers).u64le(self.path);
    }
}

/// A directory entry (stat(5)). `ty` and `dev` are for kernel use; a file
/// server sends 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stat {
    pub ty: u16,
    pub dev: u32,
    pub qid: Qid,
    pub mode: u32,
    pub atime: u32,
    pub mtime: u32,
    pub length: u64,
    pub name: String,
    pub uid: String,
    pub gid: String,
    pub muid: String,
}

impl Stat {
    /// The fixed part after `size[2]`: type dev qid mode atime mtime length
    /// and the four string lengths.
    const FIXED: usize = 2 + 4 + Qid::LEN + 4 + 4 + 4 + 8 + 4 * 2;

    /// Bytes of the encoded entry, including its leading `size[2]`.
    pub fn encoded_len(&self) -> usize {
        2 + Self::FIXED + self.name.len() + self.uid.len() + self.gid.len() + self.muid.len()
    }

    /// A wstat that changes nothing ("don't touch" in every field): Plan 9
    /// clients send it to mean "flush to disk" (stat(5)).
    pub fn is_null_wstat(&self) -> bool {
        self.ty == u16::MAX
            && self.dev == u32::MAX
            && self.qid.ty == u8::MAX
            && self.qid.vers == u32::MAX
            && self.qid.path == u64::MAX
            && self.mode == u32::MAX
            && self.atime == u32::MAX
            && self.mtime == u32::MAX
            && self.length == u64::MAX
            && self.name.is_empty()
            && self.uid.is_empty()
            && self.gid.is_empty()
            && self.muid.is_empty()
    }

    /// Append the entry (with its `size[2]`) to `w`.
    pub fn write(&self, w: &mut Writer) {
        let size = self.encoded_len() - 2;
        w.u16le(u16::try_from(size).unwrap_or(u16::MAX));
        w.u16le(self.ty).u32le(self.dev);
        self.qid.write(w);
        w.u32le(self.mode)
            .u32le(self.atime)
            .u32le(self.mtime)
            .u64le(self.length);
        for s in [&self.name, &self.uid, &self.gid, &self.muid] {
            put_str(w, s);
        }
    }

    /// Decode one entry (starting at its `size[2]`), as found in a
    /// directory read or inside Rstat/Twstat.
    pub fn read(r: &mut Reader<'_>) -> Result<Stat, StatError> {
        let size = r.u16le().map_err(StatError::Short)?;
        let body = r.bytes(usize::from(size)).map_err(StatError::Short)?;
        let base = r.pos() - body.len();
        let mut b = Reader::new(body);
        let off = |s: Short| Short {
            at: s.at + base,
            need: s.need,
        };
        let mut st = Stat {
            ty: b.u16le().map_err(|e| StatError::Short(off(e)))?,
            dev: b.u32le().map_err(|e| StatError::Short(off(e)))?,
            qid: Qid::read(&mut b).map_err(|e| StatError::Short(off(e)))?,
            mode: b.u32le().map_err(|e| StatError::Short(off(e)))?,
            atime: b.u32le().map_err(|e| StatError::Short(off(e)))?,
            mtime: b.u32le().map_err(|e| StatError::Short(off(e)))?,
            length: b.u64le().map_err(|e| StatError::Short(off(e)))?,
            ..Stat::default()
        };
        for field in [&mut st.name, &mut st.uid, &mut st.gid, &mut st.muid] {
            *field = get_str(&mut b).map_err(|e| match e {
                StrError::Short(s) => StatError::Short(off(s)),
                StrError::Utf8(at) => StatError::Utf8(at + base),
            })?;
        }
        if b.remaining() != 0 {
            return Err(StatError::Trailing(b.remaining()));
        }
        Ok(st)
    }
}

/// Why a stat entry did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatError {
    Short(Short),
    Utf8(usize),
    /// The entry's size[2] covers bytes after its last string.
    Trailing(usize),
}

impl fmt::Display for StatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatError::Short(s) => write!(f, "{s}"),
            StatError::Utf8(at) => write!(f, "string at byte {at} is not UTF-8"),
            StatError::Trailing(n) => write!(f, "{n} bytes after the last string"),
        }
    }
}

enum StrError {
    Short(Short),
    Utf8(usize),
}

fn get_str(r: &mut Reader<'_>) -> Result<String, StrError> {
    let n = r.u16le().map_err(StrError::Short)?;
    let at = r.pos();
    let b = r.bytes(usize::from(n)).map_err(StrError::Short)?;
    String::from_utf8(b.to_vec()).map_err(|_| StrError::Utf8(at))
}

/// Write a 9P string; one longer than 65535 bytes (which no caller here
/// produces) is cut at a character boundary rather than mis-encoded.
fn put_str(w: &mut Writer, s: &str) {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let s = s.get(..end).unwrap_or("");
    w.u16le(u16::try_from(s.len()).unwrap_or(0));
    w.bytes(s.as_bytes());
}

/// One 9P2000 message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fcall {
    Tversion {
        msize: u32,
        version: String,
    },
    Rversion {
        msize: u32,
        version: String,
    },
    Tauth {
        afid: u32,
        uname: String,
        aname: String,
    },
    Rauth {
        aqid: Qid,
    },
    Tattach {
        fid: u32,
        afid: u32,
        uname: String,
        aname: String,
    },
    Rattach {
        qid: Qid,
    },
    Rerror {
        ename: String,
    },
    Tflush {
        oldtag: u16,
    },
    Rflush,
    Twalk {
        fid: u32,
        newfid: u32,
        wnames: Vec<String>,
    },
    Rwalk {
        wqids: Vec<Qid>,
    },
    Topen {
        fid: u32,
        mode: u8,
    },
    Ropen {
        qid: Qid,
        iounit: u32,
    },
    Tcreate {
        fid: u32,
        name: String,
        perm: u32,
        mode: u8,
    },
    Rcreate {
        qid: Qid,
        iounit: u32,
    },
    Tread {
        fid: u32,
        offset: u64,
        count: u32,
    },
    Rread {
        data: Vec<u8>,
    },
    Twrite {
        fid: u32,
        offset: u64,
        data: Vec<u8>,
    },
    Rwrite {
        count: u32,
    },
    Tclunk {
        fid: u32,
    },
    Rclunk,
    Tremove {
        fid: u32,
    },
    Rremove,
    Tstat {
        fid: u32,
    },
    Rstat {
        stat: Stat,
    },
    Twstat {
        fid: u32,
        stat: Stat,
    },
    Rwstat,
}

impl Fcall {
    /// The type byte this body is sent with.
    pub fn ty(&self) -> u8 {
        use ty::*;
        match self {
            Fcall::Tversion { .. } => TVERSION,
            Fcall::Rversion { .. } => RVERSION,
            Fcall::Tauth { .. } => TAUTH,
            Fcall::Rauth { .. } => RAUTH,
            Fcall::Tattach { .. } => TATTACH,
            Fcall::Rattach { .. } => RATTACH,
            Fcall::Rerror { .. } => RERROR,
            Fcall::Tflush { .. } => TFLUSH,
            Fcall::Rflush => RFLUSH,
            Fcall::Twalk { .. } => TWALK,
            Fcall::Rwalk { .. } => RWALK,
            Fcall::Topen { .. } => TOPEN,
            Fcall::Ropen { .. } => ROPEN,
            Fcall::Tcreate { .. } => TCREATE,
            Fcall::Rcreate { .. } => RCREATE,
            Fcall::Tread { .. } => TREAD,
            Fcall::Rread { .. } => RREAD,
            Fcall::Twrite { .. } => TWRITE,
            Fcall::Rwrite { .. } => RWRITE,
            Fcall::Tclunk { .. } => TCLUNK,
            Fcall::Rclunk => RCLUNK,
            Fcall::Tremove { .. } => TREMOVE,
            Fcall::Rremove => RREMOVE,
            Fcall::Tstat { .. } => TSTAT,
            Fcall::Rstat { .. } => RSTAT,
            Fcall::Twstat { .. } => TWSTAT,
            Fcall::Rwstat => RWSTAT,
        }
    }
}

/// A message: tag and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub tag: u16,
    pub body: Fcall,
}

/// Why bytes are not a 9P2000 message. Always the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FcallError {
    /// size[4] is smaller than a header: the stream cannot be framed.
    SizeTooSmall { size: u32 },
    /// size[4] exceeds the negotiated msize: the stream cannot be framed.
    SizeTooBig { size: u32, max: u32 },
    /// size[4] does not match the bytes handed to [`decode`].
    SizeMismatch { declared: u32, actual: usize },
    /// A type byte that is not a 9P2000 message (or is Terror).
    UnknownType { ty: u8 },
    /// A field runs past the end of the message.
    Truncated { ty: u8, short: Short },
    /// Bytes left over after the last field.
    Trailing { ty: u8, extra: usize },
    /// A string (at this byte offset) that is not UTF-8.
    BadString { ty: u8, at: usize },
    /// A Twalk with more than [`MAXWELEM`] names or an Rwalk with more qids.
    TooManyWalkElements { ty: u8, n: u16 },
    /// The stat inside Rstat/Twstat disagrees with its own sizes.
    BadStat { ty: u8, why: String },
}

impl fmt::Display for FcallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FcallError::SizeTooSmall { size } => {
                write!(
                    f,
                    "9P message size {size} is smaller than a header ({HEADER})"
                )
            }
            FcallError::SizeTooBig { size, max } => {
                write!(f, "9P message size {size} exceeds msize {max}")
            }
            FcallError::SizeMismatch { declared, actual } => write!(
                f,
                "9P message declares size {declared} but {actual} bytes were given"
            ),
            FcallError::UnknownType { ty } => write!(f, "unknown 9P message type {ty}"),
            FcallError::Truncated { ty, short } => write!(f, "bad {}: {short}", type_name(*ty)),
            FcallError::Trailing { ty, extra } => {
                write!(
                    f,
                    "bad {}: {extra} bytes after the last field",
                    type_name(*ty)
                )
            }
            FcallError::BadString { ty, at } => {
                write!(
                    f,
                    "bad {}: string at byte {at} is not UTF-8",
                    type_name(*ty)
                )
            }
            FcallError::TooManyWalkElements { ty, n } => write!(
                f,
                "bad {}: {n} path elements (at most {MAXWELEM})",
                type_name(*ty)
            ),
            FcallError::BadStat { ty, why } => write!(f, "bad {}: stat {why}", type_name(*ty)),
        }
    }
}

impl std::error::Error for FcallError {}

/// Given the start of a byte stream, the length of its first message if
/// all of it is there (`Ok(None)`: wait for more bytes). A size below the
/// header or above `max` is an error: the stream can no longer be framed.
pub fn frame_len(buf: &[u8], max: u32) -> Result<Option<usize>, FcallError> {
    let Some(head) = buf.get(..4) else {
        return Ok(None);
    };
    let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if (size as usize) < HEADER {
        return Err(FcallError::SizeTooSmall { size });
    }
    if size > max {
        return Err(FcallError::SizeTooBig { size, max });
    }
    let len = size as usize;
    Ok((buf.len() >= len).then_some(len))
}

/// The type and tag of a message whose body may not decode, so a server
/// can still answer it with Rerror.
pub fn peek_header(msg: &[u8]) -> Option<(u8, u16)> {
    let mut r = Reader::new(msg);
    r.u32le().ok()?;
    Some((r.u8().ok()?, r.u16le().ok()?))
}

/// Decode exactly one message (`msg` holds its size[4] and nothing more).
pub fn decode(msg: &[u8]) -> Result<Msg, FcallError> {
    use ty::*;
    let mut r = Reader::new(msg);
    let short0 = |short| FcallError::Truncated { ty: 0, short };
    let size = r.u32le().map_err(short0)?;
    if (size as usize) < HEADER {
        return Err(FcallError::SizeTooSmall { size });
    }
    if size as usize != msg.len() {
        return Err(FcallError::SizeMismatch {
            declared: size,
            actual: msg.len(),
        });
    }
    let t = r.u8().map_err(short0)?;
    let tag = r
        .u16le()
        .map_err(|short| FcallError::Truncated { ty: t, short })?;
    let tr = |short| FcallError::Truncated { ty: t, short };
    let s = |r: &mut Reader<'_>| {
        get_str(r).map_err(|e| match e {
            StrError::Short(short) => FcallError::Truncated { ty: t, short },
            StrError::Utf8(at) => FcallError::BadString { ty: t, at },
        })
    };
    let stat = |r: &mut Reader<'_>| -> Result<Stat, FcallError> {
        let n = r.u16le().map_err(tr)?;
        let at = r.pos();
        let inner = r.bytes(usize::from(n)).map_err(tr)?;
        let mut ir = Reader::new(inner);
        let st = Stat::read(&mut ir).map_err(|e| match e {
            StatError::Short(sh) => FcallError::Truncated {
                ty: t,
                short: Short {
                    at: sh.at + at,
                    need: sh.need,
                },
            },
            StatError::Utf8(u) => FcallError::BadString { ty: t, at: u + at },
            StatError::Trailing(extra) => FcallError::BadStat {
                ty: t,
                why: format!("has {extra} bytes after its strings"),
            },
        })?;
        if ir.remaining() != 0 {
            return Err(FcallError::BadStat {
                ty: t,
                why: format!("length {n} disagrees with its size field"),
            });
        }
        Ok(st)
    };
    let body = match t {
        TVERSION | RVERSION => {
            let msize = r.u32le().map_err(tr)?;
            let version = s(&mut r)?;
            if t == TVERSION {
                Fcall::Tversion { msize, version }
            } else {
                Fcall::Rversion { msize, version }
            }
        }
        TAUTH => Fcall::Tauth {
            afid: r.u32le().map_err(tr)?,
            uname: s(&mut r)?,
            aname: s(&mut r)?,
        },
        RAUTH => Fcall::Rauth {
            aqid: Qid::read(&mut r).map_err(tr)?,
        },
        TATTACH => Fcall::Tattach {
            fid: r.u32le().map_err(tr)?,
            afid: r.u32le().map_err(tr)?,
            uname: s(&mut r)?,
            aname: s(&mut r)?,
        },
        RATTACH => Fcall::Rattach {
            qid: Qid::read(&mut r).map_err(tr)?,
        },
        RERROR => Fcall::Rerror { ename: s(&mut r)? },
        TFLUSH => Fcall::Tflush {
            oldtag: r.u16le().map_err(tr)?,
        },
        RFLUSH => Fcall::Rflush,
        TWALK => {
            let fid = r.u32le().map_err(tr)?;
            let newfid = r.u32le().map_err(tr)?;
            let n = r.u16le().map_err(tr)?;
            if usize::from(n) > MAXWELEM {
                return Err(FcallError::TooManyWalkElements { ty: t, n });
            }
            let mut wnames = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                wnames.push(s(&mut r)?);
            }
            Fcall::Twalk {
                fid,
                newfid,
                wnames,
            }
        }
        RWALK => {
            let n = r.u16le().map_err(tr)?;
            if usize::from(n) > MAXWELEM {
                return Err(FcallError::TooManyWalkElements { ty: t, n });
            }
            let mut wqids = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                wqids.push(Qid::read(&mut r).map_err(tr)?);
            }
            Fcall::Rwalk { wqids }
        }
        TOPEN => Fcall::Topen {
            fid: r.u32le().map_err(tr)?,
            mode: r.u8().map_err(tr)?,
        },
        ROPEN | RCREATE => {
            let qid = Qid::read(&mut r).map_err(tr)?;
            let iounit = r.u32le().map_err(tr)?;
            if t == ROPEN {
                Fcall::Ropen { qid, iounit }
            } else {
                Fcall::Rcreate { qid, iounit }
            }
        }
        TCREATE => Fcall::Tcreate {
            fid: r.u32le().map_err(tr)?,
            name: s(&mut r)?,
            perm: r.u32le().map_err(tr)?,
            mode: r.u8().map_err(tr)?,
        },
        TREAD => Fcall::Tread {
            fid: r.u32le().map_err(tr)?,
            offset: r.u64le().map_err(tr)?,
            count: r.u32le().map_err(tr)?,
        },
        RREAD => {
            let n = r.u32le().map_err(tr)?;
            Fcall::Rread {
                data: r.bytes(n as usize).map_err(tr)?.to_vec(),
            }
        }
        TWRITE => {
            let fid = r.u32le().map_err(tr)?;
            let offset = r.u64le().map_err(tr)?;
            let n = r.u32le().map_err(tr)?;
            Fcall::Twrite {
                fid,
                offset,
                data: r.bytes(n as usize).map_err(tr)?.to_vec(),
            }
        }
        RWRITE => Fcall::Rwrite {
            count: r.u32le().map_err(tr)?,
        },
        TCLUNK => Fcall::Tclunk {
            fid: r.u32le().map_err(tr)?,
        },
        RCLUNK => Fcall::Rclunk,
        TREMOVE => Fcall::Tremove {
            fid: r.u32le().map_err(tr)?,
        },
        RREMOVE => Fcall::Rremove,
        TSTAT => Fcall::Tstat {
            fid: r.u32le().map_err(tr)?,
        },
        RSTAT => Fcall::Rstat {
            stat: stat(&mut r)?,
        },
        TWSTAT => {
            let fid = r.u32le().map_err(tr)?;
            Fcall::Twstat {
                fid,
                stat: stat(&mut r)?,
            }
        }
        RWSTAT => Fcall::Rwstat,
        _ => return Err(FcallError::UnknownType { ty: t }),
    };
    if r.remaining() != 0 {
        return Err(FcallError::Trailing {
            ty: t,
            extra: r.remaining(),
        });
    }
    Ok(Msg { tag, body })
}

impl Msg {
    pub fn new(tag: u16, body: Fcall) -> Msg {
        Msg { tag, body }
    }

    /// Encode the message, size[4] included.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w);
        w.into_vec()
    }

    /// Append the encoded message to `w`.
    pub fn encode_into(&self, w: &mut Writer) {
        let start = w.buf.len();
        w.u32le(0).u8(self.body.ty()).u16le(self.tag);
        match &self.body {
            Fcall::Tversion { msize, version } | Fcall::Rversion { msize, version } => {
                w.u32le(*msize);
                put_str(w, version);
            }
            Fcall::Tauth { afid, uname, aname } => {
                w.u32le(*afid);
                put_str(w, uname);
                put_str(w, aname);
            }
            Fcall::Rauth { aqid: qid } | Fcall::Rattach { qid } => qid.write(w),
            Fcall::Tattach {
                fid,
                afid,
                uname,
                aname,
            } => {
                w.u32le(*fid).u32le(*afid);
                put_str(w, uname);
                put_str(w, aname);
            }
            Fcall::Rerror { ename } => put_str(w, ename),
            Fcall::Tflush { oldtag } => {
                w.u16le(*oldtag);
            }
            Fcall::Rflush | Fcall::Rclunk | Fcall::Rremove | Fcall::Rwstat => {}
            Fcall::Twalk {
                fid,
                newfid,
                wnames,
            } => {
                let n = wnames.len().min(MAXWELEM);
                w.u32le(*fid).u32le(*newfid).u16le(n as u16);
                for name in wnames.iter().take(n) {
                    put_str(w, name);
                }
            }
            Fcall::Rwalk { wqids } => {
                let n = wqids.len().min(MAXWELEM);
                w.u16le(n as u16);
                for q in wqids.iter().take(n) {
                    q.write(w);
                }
            }
            Fcall::Topen { fid, mode } => {
                w.u32le(*fid).u8(*mode);
            }
            Fcall::Ropen { qid, iounit } | Fcall::Rcreate { qid, iounit } => {
                qid.write(w);
                w.u32le(*iounit);
            }
            Fcall::Tcreate {
                fid,
                name,
                perm,
                mode,
            } => {
                w.u32le(*fid);
                put_str(w, name);
                w.u32le(*perm).u8(*mode);
            }
            Fcall::Tread { fid, offset, count } => {
                w.u32le(*fid).u64le(*offset).u32le(*count);
            }
            Fcall::Rread { data } => {
                w.u32le(data.len() as u32).bytes(data);
            }
            Fcall::Twrite { fid, offset, data } => {
                w.u32le(*fid)
                    .u64le(*offset)
                    .u32le(data.len() as u32)
                    .bytes(data);
            }
            Fcall::Rwrite { count } => {
                w.u32le(*count);
            }
            Fcall::Tclunk { fid } | Fcall::Tremove { fid } | Fcall::Tstat { fid } => {
                w.u32le(*fid);
            }
            Fcall::Rstat { stat } => {
                w.u16le(u16::try_from(stat.encoded_len()).unwrap_or(u16::MAX));
                stat.write(w);
            }
            Fcall::Twstat { fid, stat } => {
                w.u32le(*fid)
                    .u16le(u16::try_from(stat.encoded_len()).unwrap_or(u16::MAX));
                stat.write(w);
            }
        }
        let size = (w.buf.len() - start) as u32;
        if let Some(head) = w.buf.get_mut(start..start + 4) {
            head.copy_from_slice(&size.to_le_bytes());
        }
    }
}

/// Splits a byte stream into messages, holding at most one partial
/// message. Its buffer is released whenever it runs empty, so an idle
/// connection costs no buffer memory.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Append bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes held (partial or unprocessed messages).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Heap bytes held by the buffer.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Is a complete message (or a framing error) waiting?
    pub fn ready(&self, max: u32) -> bool {
        let rest = self.buf.get(self.start..).unwrap_or(&[]);
        !matches!(frame_len(rest, max), Ok(None))
    }

    /// The next complete message, if there is one. After an error the
    /// stream is unusable (the peer's framing is broken).
    pub fn next_frame(&mut self, max: u32) -> Result<Option<Vec<u8>>, FcallError> {
        let rest = self.buf.get(self.start..).unwrap_or(&[]);
        let Some(len) = frame_len(rest, max)? else {
            self.compact();
            return Ok(None);
        };
        let frame = rest.get(..len).unwrap_or(&[]).to_vec();
        self.start += len;
        if self.start == self.buf.len() {
            self.buf = Vec::new();
            self.start = 0;
        }
        Ok(Some(frame))
    }

    fn compact(&mut self) {
        if self.start > 0 {
            crate::sys::wipe::consume_front(&mut self.buf, self.start);
            self.start = 0;
        }
        if self.buf.is_empty() {
            self.buf = Vec::new();
        } else {
            self.buf.shrink_to(self.buf.len().max(64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(bytes: &[u8], msg: Msg) {
        assert_eq!(decode(bytes).as_ref(), Ok(&msg), "decode");
        assert_eq!(msg.encode(), bytes, "encode");
        assert_eq!(frame_len(bytes, DEFAULT_MSIZE), Ok(Some(bytes.len())));
    }

    fn q(ty: u8, path: u64) -> Qid {
        Qid { ty, vers: 0, path }
    }

    // The byte layouts below are written out by hand from intro(5),
    // version(5), attach(5), walk(5), open(5), read(5), clunk(5), stat(5)
    // and flush(5) of the Plan 9 manual.

    #[test]
    fn version_fixed_bytes() {
        // size[4] Tversion tag[2] msize[4] version[s]
        #[rustfmt::skip]
        let b = [19, 0, 0, 0, 100, 0xff, 0xff, 0x00, 0x20, 0, 0,
                 6, 0, b'9', b'P', b'2', b'0', b'0', b'0'];
        rt(
            &b,
            Msg::new(
                NOTAG,
                Fcall::Tversion {
                    msize: 8192,
                    version: "9P2000".into(),
                },
            ),
        );
        #[rustfmt::skip]
        let b = [19, 0, 0, 0, 101, 0xff, 0xff, 0x18, 0x20, 0, 0,
                 6, 0, b'9', b'P', b'2', b'0', b'0', b'0'];
        rt(
            &b,
            Msg::new(
                NOTAG,
                Fcall::Rversion {
                    msize: DEFAULT_MSIZE,
                    version: VERSION.into(),
                },
            ),
        );
    }

    #[test]
    fn auth_attach_error_flush_fixed_bytes() {
        // size[4] Tauth tag[2] afid[4] uname[s] aname[s]
        #[rustfmt::skip]
        let b = [18, 0, 0, 0, 102, 0, 0, 10, 0, 0, 0, 3, 0, b'g', b'l', b'e', 0, 0];
        rt(
            &b,
            Msg::new(
                0,
                Fcall::Tauth {
                    afid: 10,
                    uname: "gle".into(),
                    aname: "".into(),
                },
            ),
        );
        // size[4] Rauth tag[2] aqid[13]
        #[rustfmt::skip]
        let b = [20, 0, 0, 0, 103, 0, 0, QTAUTH, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        rt(
            &b,
            Msg::new(
                0,
                Fcall::Rauth {
                    aqid: Qid {
                        ty: QTAUTH,
                        vers: 1,
                        path: 7,
                    },
                },
            ),
        );
        // size[4] Tattach tag[2] fid[4] afid[4] uname[s] aname[s]
        #[rustfmt::skip]
        let b = [22, 0, 0, 0, 104, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                 3, 0, b'g', b'l', b'e', 0, 0];
        rt(
            &b,
            Msg::new(
                1,
                Fcall::Tattach {
                    fid: 0,
                    afid: NOFID,
                    uname: "gle".into(),
                    aname: "".into(),
                },
            ),
        );
        // size[4] Rattach tag[2] qid[13]
        #[rustfmt::skip]
        let b = [20, 0, 0, 0, 105, 1, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        rt(&b, Msg::new(1, Fcall::Rattach { qid: q(QTDIR, 1) }));
        // size[4] Rerror tag[2] ename[s]
        #[rustfmt::skip]
        let b = [18, 0, 0, 0, 107, 5, 0, 9, 0, b'n', b'o', b't', b' ', b'f', b'o', b'u', b'n', b'd'];
        rt(
            &b,
            Msg::new(
                5,
                Fcall::Rerror {
                    ename: "not found".into(),
                },
            ),
        );
        // size[4] Tflush tag[2] oldtag[2]; size[4] Rflush tag[2]
        rt(
            &[9, 0, 0, 0, 108, 6, 0, 5, 0],
            Msg::new(6, Fcall::Tflush { oldtag: 5 }),
        );
        rt(&[7, 0, 0, 0, 109, 6, 0], Msg::new(6, Fcall::Rflush));
    }

    #[test]
    fn walk_open_create_fixed_bytes() {
        // size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
        #[rustfmt::skip]
        let b = [27, 0, 0, 0, 110, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0,
                 3, 0, b'a', b'b', b'c', 3, 0, b'r', b'p', b'c'];
        rt(
            &b,
            Msg::new(
                2,
                Fcall::Twalk {
                    fid: 0,
                    newfid: 1,
                    wnames: vec!["abc".into(), "rpc".into()],
                },
            ),
        );
        // size[4] Rwalk tag[2] nwqid[2] nwqid*(wqid[13])
        #[rustfmt::skip]
        let b = [35, 0, 0, 0, 111, 2, 0, 2, 0,
                 0x80, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                 0, 3, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0x01];
        rt(
            &b,
            Msg::new(
                2,
                Fcall::Rwalk {
                    wqids: vec![
                        q(QTDIR, 2),
                        Qid {
                            ty: 0,
                            vers: 3,
                            path: 0x0100_0000_0000_0010,
                        },
                    ],
                },
            ),
        );
        // size[4] Topen tag[2] fid[4] mode[1]; size[4] Ropen tag[2] qid[13] iounit[4]
        rt(
            &[12, 0, 0, 0, 112, 3, 0, 1, 0, 0, 0, ORDWR],
            Msg::new(
                3,
                Fcall::Topen {
                    fid: 1,
                    mode: ORDWR,
                },
            ),
        );
        #[rustfmt::skip]
        let b = [24, 0, 0, 0, 113, 3, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0];
        rt(
            &b,
            Msg::new(
                3,
                Fcall::Ropen {
                    qid: q(0, 4),
                    iounit: 8192,
                },
            ),
        );
        // size[4] Tcreate tag[2] fid[4] name[s] perm[4] mode[1]
        #[rustfmt::skip]
        let b = [19, 0, 0, 0, 114, 4, 0, 1, 0, 0, 0, 1, 0, b'x', 0xa4, 1, 0, 0, OWRITE];
        rt(
            &b,
            Msg::new(
                4,
                Fcall::Tcreate {
                    fid: 1,
                    name: "x".into(),
                    perm: 0o644,
                    mode: OWRITE,
                },
            ),
        );
        #[rustfmt::skip]
        let b = [24, 0, 0, 0, 115, 4, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        rt(
            &b,
            Msg::new(
                4,
                Fcall::Rcreate {
                    qid: q(0, 9),
                    iounit: 0,
                },
            ),
        );
    }

    #[test]
    fn read_write_clunk_remove_fixed_bytes() {
        // size[4] Tread tag[2] fid[4] offset[8] count[4]
        #[rustfmt::skip]
        let b = [23, 0, 0, 0, 116, 7, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0];
        rt(
            &b,
            Msg::new(
                7,
                Fcall::Tread {
                    fid: 1,
                    offset: 256,
                    count: 4096,
                },
            ),
        );
        // size[4] Rread tag[2] count[4] data[count]
        rt(
            &[13, 0, 0, 0, 117, 7, 0, 2, 0, 0, 0, b'o', b'k'],
            Msg::new(
                7,
                Fcall::Rread {
                    data: b"ok".to_vec(),
                },
            ),
        );
        // size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]
        #[rustfmt::skip]
        let b = [28, 0, 0, 0, 118, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 5, 0, 0, 0, b's', b't', b'a', b'r', b't'];
        rt(
            &b,
            Msg::new(
                8,
                Fcall::Twrite {
                    fid: 1,
                    offset: 0,
                    data: b"start".to_vec(),
                },
            ),
        );
        rt(
            &[11, 0, 0, 0, 119, 8, 0, 5, 0, 0, 0],
            Msg::new(8, Fcall::Rwrite { count: 5 }),
        );
        rt(
            &[11, 0, 0, 0, 120, 9, 0, 1, 0, 0, 0],
            Msg::new(9, Fcall::Tclunk { fid: 1 }),
        );
        rt(&[7, 0, 0, 0, 121, 9, 0], Msg::new(9, Fcall::Rclunk));
        rt(
            &[11, 0, 0, 0, 122, 9, 0, 2, 0, 0, 0],
            Msg::new(9, Fcall::Tremove { fid: 2 }),
        );
        rt(&[7, 0, 0, 0, 123, 9, 0], Msg::new(9, Fcall::Rremove));
        rt(
            &[11, 0, 0, 0, 124, 9, 0, 2, 0, 0, 0],
            Msg::new(9, Fcall::Tstat { fid: 2 }),
        );
        rt(&[7, 0, 0, 0, 127, 9, 0], Msg::new(9, Fcall::Rwstat));
    }

    /// stat(5): size[2] type[2] dev[4] qid.type[1] qid.vers[4] qid.path[8]
    /// mode[4] atime[4] mtime[4] length[8] name[s] uid[s] gid[s] muid[s];
    /// Rstat carries it as stat[n], i.e. n[2] in front.
    #[rustfmt::skip]
    const RSTAT_RPC: [u8; 71] = [
        71, 0, 0, 0, 125, 10, 0,
        62, 0,                          // n[2]
        60, 0,                          // size[2]
        0, 0, 0, 0, 0, 0,               // type dev
        0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, // qid
        0xb6, 1, 0, 0,                  // mode 0666
        0x40, 0xe2, 0x01, 0,            // atime 123456
        0x40, 0xe2, 0x01, 0,            // mtime
        0, 0, 0, 0, 0, 0, 0, 0,         // length
        3, 0, b'r', b'p', b'c',
        5, 0, b'g', b'l', b'e', b'n', b'd',
        5, 0, b'g', b'l', b'e', b'n', b'd',
        0, 0,
    ];

    fn rpc_stat() -> Stat {
        Stat {
            qid: q(0, 3),
            mode: 0o666,
            atime: 123456,
            mtime: 123456,
            name: "rpc".into(),
            uid: "glend".into(),
            gid: "glend".into(),
            ..Stat::default()
        }
    }

    #[test]
    fn stat_fixed_bytes() {
        rt(&RSTAT_RPC, Msg::new(10, Fcall::Rstat { stat: rpc_stat() }));
        assert_eq!(rpc_stat().encoded_len(), 62);
        let mut b = vec![75, 0, 0, 0, 126, 10, 0, 1, 0, 0, 0];
        b.extend_from_slice(&RSTAT_RPC[7..]);
        rt(
            &b,
            Msg::new(
                10,
                Fcall::Twstat {
                    fid: 1,
                    stat: rpc_stat(),
                },
            ),
        );
    }

    #[test]
    fn null_wstat_is_recognised() {
        let mut st = Stat {
            ty: !0,
            dev: !0,
            qid: Qid {
                ty: !0,
                vers: !0,
                path: !0,
            },
            mode: !0,
            atime: !0,
            mtime: !0,
            length: !0,
            ..Stat::default()
        };
        assert!(st.is_null_wstat());
        st.mode = 0o600;
        assert!(!st.is_null_wstat());
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert_eq!(
            frame_len(&[6, 0, 0, 0, 100, 0, 0], 8216),
            Err(FcallError::SizeTooSmall { size: 6 })
        );
        assert_eq!(
            frame_len(&[0, 0, 1, 0], 8216),
            Err(FcallError::SizeTooBig {
                size: 65536,
                max: 8216
            })
        );
        assert_eq!(frame_len(&[11, 0, 0], 8216), Ok(None));
        assert_eq!(frame_len(&[11, 0, 0, 0, 120], 8216), Ok(None));
        assert_eq!(
            decode(&[12, 0, 0, 0, 120, 9, 0, 1, 0, 0, 0]),
            Err(FcallError::SizeMismatch {
                declared: 12,
                actual: 11
            })
        );
        assert_eq!(
            decode(&[3, 0, 0, 0]),
            Err(FcallError::SizeTooSmall { size: 3 })
        );
        assert!(matches!(decode(&[1, 0]), Err(FcallError::Truncated { .. })));
        assert!(matches!(decode(&[]), Err(FcallError::Truncated { .. })));
    }

    #[test]
    fn truncated_trailing_unknown_are_errors() {
        let e = decode(&[10, 0, 0, 0, 120, 9, 0, 1, 0, 0]).unwrap_err();
        assert_eq!(
            e,
            FcallError::Truncated {
                ty: ty::TCLUNK,
                short: Short { at: 7, need: 4 }
            }
        );
        assert_eq!(
            e.to_string(),
            "bad Tclunk: truncated at byte 7 (field of 4 bytes)"
        );
        let e = decode(&[12, 0, 0, 0, 120, 9, 0, 1, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.to_string(), "bad Tclunk: 1 bytes after the last field");
        let e = decode(&[7, 0, 0, 0, 106, 9, 0]).unwrap_err();
        assert_eq!(e, FcallError::UnknownType { ty: 106 });
        assert_eq!(
            decode(&[7, 0, 0, 0, 0, 9, 0]).unwrap_err(),
            FcallError::UnknownType { ty: 0 }
        );
        assert_eq!(peek_header(&[7, 0, 0, 0, 0, 9, 0]), Some((0, 9)));
        // Rread claiming more data than there is.
        let e = decode(&[13, 0, 0, 0, 117, 7, 0, 200, 0, 0, 0, b'o', b'k']).unwrap_err();
        assert!(matches!(
            e,
            FcallError::Truncated {
                ty: ty::RREAD,
                short: Short { at: 11, need: 200 }
            }
        ));
        // A string running past the end.
        let e = decode(&[13, 0, 0, 0, 107, 7, 0, 9, 0, b'a', b'b', b'c', b'd']).unwrap_err();
        assert!(matches!(e, FcallError::Truncated { ty: ty::RERROR, .. }));
        // Not UTF-8.
        let e = decode(&[11, 0, 0, 0, 107, 7, 0, 2, 0, 0xff, 0xfe]).unwrap_err();
        assert_eq!(e.to_string(), "bad Rerror: string at byte 9 is not UTF-8");
    }

    #[test]
    fn walk_limits() {
        let mut b = vec![0, 0, 0, 0, 110, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 17, 0];
        for _ in 0..17 {
            b.extend_from_slice(&[1, 0, b'a']);
        }
        let n = b.len() as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(
            decode(&b),
            Err(FcallError::TooManyWalkElements {
                ty: ty::TWALK,
                n: 17
            })
        );
        // A walk of 16 names is fine.
        let names: Vec<String> = (0..16).map(|i| format!("n{i}")).collect();
        let m = Msg::new(
            1,
            Fcall::Twalk {
                fid: 1,
                newfid: 2,
                wnames: names,
            },
        );
        assert_eq!(decode(&m.encode()), Ok(m));
    }

    #[test]
    fn bad_stats_are_errors() {
        // n[2] one more than the stat's own size[2] + 2.
        let mut b = RSTAT_RPC.to_vec();
        b.push(0);
        b[0] = 72;
        b[7] = 63;
        let e = decode(&b).unwrap_err();
        assert!(
            matches!(e, FcallError::BadStat { ty: ty::RSTAT, .. }),
            "{e:?}"
        );
        // size[2] claiming a byte past the strings.
        let mut b = RSTAT_RPC.to_vec();
        b.push(0);
        b[0] = 72;
        b[7] = 63;
        b[9] = 61;
        let e = decode(&b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad Rstat: stat has 1 bytes after its strings"
        );
        // Cut in the middle of the strings.
        let mut b = RSTAT_RPC.to_vec();
        b[9] = 50;
        b[7] = 52;
        b.truncate(61);
        b[0] = 61;
        assert!(matches!(
            decode(&b),
            Err(FcallError::Truncated { ty: ty::RSTAT, .. })
        ));
    }

    /// Every prefix and every single-byte corruption of valid messages
    /// decodes to a value or an error, never a panic.
    #[test]
    fn no_panics_on_mangled_input() {
        let msgs = [
            RSTAT_RPC.to_vec(),
            Msg::new(
                1,
                Fcall::Twalk {
                    fid: 1,
                    newfid: 2,
                    wnames: vec!["a".into(), "bc".into()],
                },
            )
            .encode(),
            Msg::new(
                1,
                Fcall::Twrite {
                    fid: 1,
                    offset: 9,
                    data: b"hello".to_vec(),
                },
            )
            .encode(),
            Msg::new(
                1,
                Fcall::Tattach {
                    fid: 0,
                    afid: NOFID,
                    uname: "u".into(),
                    aname: "".into(),
                },
            )
            .encode(),
        ];
        for m in &msgs {
            for cut in 0..m.len() {
                let _ = decode(&m[..cut]);
                let _ = frame_len(&m[..cut], DEFAULT_MSIZE);
            }
            for i in 0..m.len() {
                for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                    let mut c = m.clone();
                    c[i] = v;
                    let _ = decode(&c);
                }
            }
        }
    }

    #[test]
    fn framer_splits_a_stream_and_frees_its_buffer() {
        let a = Msg::new(1, Fcall::Tclunk { fid: 1 }).encode();
        let b = Msg::new(2, Fcall::Tstat { fid: 2 }).encode();
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        let mut f = Framer::new();
        f.push(&stream[..3]);
        assert_eq!(f.next_frame(DEFAULT_MSIZE), Ok(None));
        f.push(&stream[3..15]);
        assert_eq!(f.next_frame(DEFAULT_MSIZE), Ok(Some(a)));
        assert_eq!(f.next_frame(DEFAULT_MSIZE), Ok(None));
        f.push(&stream[15..]);
        assert_eq!(f.next_frame(DEFAULT_MSIZE), Ok(Some(b)));
        assert_eq!(f.next_frame(DEFAULT_MSIZE), Ok(None));
        assert_eq!(f.capacity(), 0);
        f.push(&[0xff, 0xff, 0, 0]);
        assert!(f.next_frame(DEFAULT_MSIZE).is_err());
    }
}
