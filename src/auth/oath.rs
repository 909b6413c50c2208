//! OATH one-time passwords: HOTP (RFC 4226), TOTP (RFC 6238), and the
//! users.oath file that pam_oath (liboath's usersfile.c) reads and rewrites.
//!
//! Everything here is pure: keys, counters and the current time come in as
//! arguments. Validation follows oathtool and liboath: HOTP searches forward
//! from the counter only, TOTP looks `window` steps either side of now.
//!
//! users.oath lines: `TYPE USER PASS HEXKEY [COUNTER [LASTOTP [TIMESTAMP]]]`,
//! TYPE one of `HOTP`, `HOTP/E`, `HOTP/T30`, `HOTP/T60` (or `HOTP/T<n>`),
//! optionally followed by `/6`, `/7` or `/8` digits. liboath keeps COUNTER as
//! the counter of the last accepted OTP (the next search starts there, and an
//! OTP equal to LASTOTP is a replay), and TIMESTAMP as local time
//! `%Y-%m-%dT%H:%M:%SL`. We keep the same meaning so a file round-trips.

use crate::auth::ct_eq;
use crate::sys::localtime::Zone;
use hmac::{Hmac, KeyInit, Mac};
use std::fmt;
use zeroize::Zeroizing;

/// The HMAC hash of an OTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hash {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl Hash {
    /// The name oathtool and otpauth URIs use.
    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA1",
            Hash::Sha256 => "SHA256",
            Hash::Sha512 => "SHA512",
        }
    }

    pub fn parse(s: &str) -> Option<Hash> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" => Some(Hash::Sha1),
            "SHA256" => Some(Hash::Sha256),
            "SHA512" => Some(Hash::Sha512),
            _ => None,
        }
    }

    pub fn id(self) -> u8 {
        match self {
            Hash::Sha1 => 1,
            Hash::Sha256 => 2,
            Hash::Sha512 => 3,
        }
    }

    pub fn from_id(id: u8) -> Option<Hash> {
        match id {
            1 => Some(Hash::Sha1),
            2 => Some(Hash::Sha256),
            3 => Some(Hash::Sha512),
            _ => None,
        }
    }
}

fn hmac_digest(hash: Hash, key: &[u8], msg: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail; map
    // the impossible error to an empty digest rather than panic.
    fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    Zeroizing::new(match hash {
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, msg),
        Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, msg),
        Hash::Sha512 => run::<Hmac<sha2::Sha512>>(key, msg),
    })
}

/// Digits an OTP may have (oathtool and pam_oath accept 6, 7, 8).
pub fn valid_digits(d: u8) -> bool {
    (6..=8).contains(&d)
}

/// The HOTP value for `counter` (RFC 4226 section 5.3), `digits` long.
pub fn hotp(key: &[u8], counter: u64, digits: u8, hash: Hash) -> u32 {
    let mac = hmac_digest(hash, key, &counter.to_be_bytes());
    let off = mac.last().map_or(0, |b| usize::from(b & 0x0f));
    let mut word = [0u8; 4];
    if let Some(s) = mac.get(off..off + 4) {
        word.copy_from_slice(s);
    }
    let bin = u32::from_be_bytes(word) & 0x7fff_ffff;
    bin % 10u32.pow(u32::from(digits.min(9)))
}

/// An OTP as text, zero padded to `digits`.
pub fn format_otp(code: u32, digits: u8) -> String {
    format!("{:0width$}", code, width = usize::from(digits))
}

/// The TOTP time step counter at `now` (seconds since the epoch).
pub fn totp_counter(now: u64, t0: u64, step: u64) -> u64 {
    now.saturating_sub(t0) / step.max(1)
}

/// Search HOTP counters `start ..= start + window` for `otp`; the matching
/// counter, if any (oathtool's `-w`, forward only).
pub fn hotp_find(
    key: &[u8],
    start: u64,
    window: u64,
    otp: &str,
    digits: u8,
    hash: Hash,
) -> Option<u64> {
    let mut found = None;
    for c in start..=start.saturating_add(window) {
        let cand = format_otp(hotp(key, c, digits, hash), digits);
        if ct_eq(cand.as_bytes(), otp.as_bytes()) && found.is_none() {
            found = Some(c);
        }
    }
    found
}

/// Search TOTP steps around `now` for `otp`: the matching step counter.
/// Steps are tried in oathtool's order: now, then +-1, +-2, ...
#[allow(clippy::too_many_arguments)]
pub fn totp_find(
    key: &[u8],
    now: u64,
    t0: u64,
    step: u64,
    window: u64,
    otp: &str,
    digits: u8,
    hash: Hash,
) -> Option<u64> {
    let base = totp_counter(now, t0, step);
    let mut found = None;
    for i in 0..=window {
        for c in [base.checked_add(i), base.checked_sub(i)]
            .into_iter()
            .flatten()
        {
            let cand = format_otp(hotp(key, c, digits, hash), digits);
            if ct_eq(cand.as_bytes(), otp.as_bytes()) && found.is_none() {
                found = Some(c);
            }
        }
    }
    found
}

/// Decode hex (upper or lower case, even length).
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    b.chunks(2)
        .map(|p| match p {
            [h, l] => Some(nib(*h)? << 4 | nib(*l)?),
            _ => None,
        })
        .collect()
}

/// RFC 4648 base32 without padding, as otpauth URIs want the secret.
pub fn base32_encode(b: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &x in b {
        acc = (acc << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Percent-encode for an otpauth URI label or parameter.
fn uri_escape(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The kind of OATH token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hotp,
    /// TOTP with this time step in seconds.
    Totp {
        step: u64,
    },
}

/// An enrolled OATH token with its replay state. The key is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub digits: u8,
    pub hash: Hash,
    pub key: Zeroizing<Vec<u8>>,
    /// HOTP: counter of the last accepted OTP, or where the search starts
    /// when none was accepted yet (liboath's meaning). TOTP: unused, 0.
    pub counter: u64,
    /// The last accepted OTP (replay protection).
    pub last_otp: Option<String>,
    /// When the last OTP was accepted (seconds since the epoch).
    pub last_time: Option<u64>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("digits", &self.digits)
            .field("hash", &self.hash)
            .field("key", &"<secret>")
            .field("counter", &self.counter)
            .field("last_otp", &self.last_otp.as_ref().map(|_| "<set>"))
            .field("last_time", &self.last_time)
            .finish()
    }
}

/// Why an OTP was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpError {
    /// Not a code of the right length and digits.
    Malformed,
    /// The code matched no counter or time step in the window.
    NoMatch,
    /// The code was accepted before.
    Replayed,
}

impl fmt::Display for OtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtpError::Malformed => "malformed one-time password",
            OtpError::NoMatch => "wrong one-time password",
            OtpError::Replayed => "one-time password replayed",
        })
    }
}

impl std::error::Error for OtpError {}

impl Token {
    /// Check `otp` at `now` with a search `window` and, on success, record
    /// it (the caller persists the changed token). Same rules as liboath's
    /// usersfile: a code equal to the last one is a replay; a TOTP step not
    /// newer than the last accepted one is a replay.
    pub fn verify(&mut self, otp: &str, now: u64, window: u64) -> Result<(), OtpError> {
        if otp.len() != usize::from(self.digits) || !otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OtpError::Malformed);
        }
        match self.kind {
            Kind::Hotp => {
                let c = hotp_find(&self.key, self.counter, window, otp, self.digits, self.hash)
                    .ok_or(OtpError::NoMatch)?;
                if self
                    .last_otp
                    .as_deref()
                    .is_some_and(|l| ct_eq(l.as_bytes(), otp.as_bytes()))
                {
                    return Err(OtpError::Replayed);
                }
                self.counter = c;
            }
            Kind::Totp { step } => {
                let c = totp_find(&self.key, now, 0, step, window, otp, self.digits, self.hash)
                    .ok_or(OtpError::NoMatch)?;
                if self
                    .last_otp
                    .as_deref()
                    .is_some_and(|l| ct_eq(l.as_bytes(), otp.as_bytes()))
                {
                    return Err(OtpError::Replayed);
                }
                if let Some(t) = self.last_time {
                    if c <= totp_counter(t, 0, step) {
                        return Err(OtpError::Replayed);
                    }
                }
            }
        }
        self.last_otp = Some(otp.to_string());
        self.last_time = Some(now);
        Ok(())
    }

    /// The codes [`Token::verify`] would look at, at `now` with `window`
    /// (HOTP: the counter and `window` ahead; TOTP: `window` steps either
    /// side): for a protocol that proves a code without sending it (the
    /// signer's). The one that fits still goes through `verify`, which
    /// refuses a replay.
    pub fn candidates(&self, now: u64, window: u64) -> Vec<Zeroizing<String>> {
        let counters: Vec<u64> = match self.kind {
            Kind::Hotp => (self.counter..=self.counter.saturating_add(window)).collect(),
            Kind::Totp { step } => {
                let base = totp_counter(now, 0, step);
                (base.saturating_sub(window)..=base.saturating_add(window)).collect()
            }
        };
        counters
            .into_iter()
            .map(|c| {
                Zeroizing::new(format_otp(
                    hotp(&self.key, c, self.digits, self.hash),
                    self.digits,
                ))
            })
            .collect()
    }

    /// An otpauth:// URI for phone authenticator apps (Key Uri Format).
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let (ty, extra) = match self.kind {
            Kind::Hotp => ("hotp", format!("&counter={}", self.counter)),
            Kind::Totp { step } => ("totp", format!("&period={step}")),
        };
        format!(
            "otpauth://{ty}/{}:{}?secret={}&issuer={}&algorithm={}&digits={}{extra}",
            uri_escape(issuer),
            uri_escape(account),
            base32_encode(&self.key),
            uri_escape(issuer),
            self.hash.name(),
            self.digits,
        )
    }
}

/// One line of users.oath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersLine {
    pub user: String,
    /// The PASS column: `-` none, `+` checked elsewhere, else a password.
    pub pass: String,
    pub token: Token,
}

/// A malformed users.oath line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for UsersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "users.oath line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for UsersError {}

/// Longest key liboath accepts in a users file, in bytes.
pub const MAX_KEY: usize = 32;

fn parse_type(t: &str) -> Option<(Kind, u8)> {
    let mut parts = t.split('/');
    if parts.next()? != "HOTP" {
        return None;
    }
    let mut kind = Kind::Hotp;
    let mut digits = 6;
    let mut seen_kind = false;
    for p in parts {
        if !seen_kind && p == "E" {
            seen_kind = true;
        } else if !seen_kind && p.starts_with('T') {
            let step: u64 = p.get(1..)?.parse().ok()?;
            if step == 0 {
                return None;
            }
            kind = Kind::Totp { step };
            seen_kind = true;
        } else if let Ok(d) = p.parse::<u8>() {
            if !valid_digits(d) {
                return None;
            }
            digits = d;
            seen_kind = true;
        } else {
            return None;
        }
    }
    Some((kind, digits))
}

/// The TYPE column for a token.
pub fn type_name(t: &Token) -> String {
    let base = match t.kind {
        Kind::Hotp => "HOTP".to_string(),
        Kind::Totp { step } => format!("HOTP/T{step}"),
    };
    if t.digits == 6 {
        base
    } else {
        format!("{base}/{}", t.digits)
    }
}

/// Parse a whole users.oath file. Blank lines and `#` comments are skipped.
/// The first bad line fails the whole parse, naming the line.
pub fn parse_users(text: &str) -> Result<Vec<UsersLine>, UsersError> {
    let zone = Zone::system();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |m: String| UsersError { line: n, msg: m };
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 4 {
            return Err(err(format!(
                "expected TYPE USER PASS HEXKEY [COUNTER [LASTOTP [TIME]]], got {} field(s)",
                f.len()
            )));
        }
        if f.len() > 7 {
            return Err(err(format!("{} fields, at most 7 expected", f.len())));
        }
        let (kind, digits) = parse_type(f[0]).ok_or_else(|| {
            err(format!(
                "unknown token type '{}' (HOTP, HOTP/E, HOTP/T30, HOTP/T60, optionally /6, /7 or /8)",
                f[0]
            ))
        })?;
        let user = f[1].to_string();
        let key = Zeroizing::new(
            hex_decode(f[3]).ok_or_else(|| err(format!("key of user '{user}' is not hex")))?,
        );
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(err(format!(
                "key of user '{user}' is {} bytes, expected 1 to {MAX_KEY}",
                key.len()
            )));
        }
        let counter = match f.get(4) {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| err(format!("counter '{c}' of user '{user}' is not a number")))?,
        };
        let last_otp = match f.get(5) {
            None => None,
            Some(o) if o.len() == usize::from(digits) && o.bytes().all(|b| b.is_ascii_digit()) => {
                Some(o.to_string())
            }
            Some(o) => {
                return Err(err(format!(
                    "last OTP '{o}' of user '{user}' is not {digits} digits"
                )))
            }
        };
        let last_time = match f.get(6) {
            None => None,
            Some(t) => Some(parse_timestamp(t, &zone).ok_or_else(|| {
                err(format!(
                    "timestamp '{t}' of user '{user}' is not YYYY-MM-DDTHH:MM:SSL"
                ))
            })?),
        };
        out.push(UsersLine {
            user,
            pass: f[2].to_string(),
            token: Token {
                kind,
                digits,
                hash: Hash::Sha1,
                key,
                counter,
                last_otp,
                last_time,
            },
        });
    }
    Ok(out)
}

/// Format one users.oath line (tab separated, as liboath writes), its
/// timestamp in `zone` (the caller looks it up once per file).
pub fn format_users_line(l: &UsersLine, zone: &Zone) -> String {
    let t = &l.token;
    let mut s = format!(
        "{}\t{}\t{}\t{}",
        type_name(t),
        l.user,
        l.pass,
        crate::wire::hex(&t.key)
    );
    if t.last_otp.is_some() || t.counter != 0 {
        s.push_str(&format!("\t{}", t.counter));
    }
    if let Some(o) = &t.last_otp {
        s.push_str(&format!("\t{o}"));
        if let Some(ts) = t.last_time {
            s.push_str(&format!("\t{}", format_timestamp(ts, zone)));
        }
    }
    s
}

/// liboath's timestamp: local time, `%Y-%m-%dT%H:%M:%SL`, in the zone
/// pam_oath on the same host uses ([`Zone::system`]).
pub fn format_timestamp(epoch: u64, zone: &Zone) -> String {
    let t = i64::try_from(epoch).unwrap_or(i64::MAX / 2);
    let (y, mo, d, h, mi, s) = zone.local(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}L")
}

/// Parse liboath's timestamp (local time) to seconds since the epoch.
pub fn parse_timestamp(s: &str, zone: &Zone) -> Option<u64> {
    let s = s.strip_suffix('L')?;
    let (date, time) = s.split_once('T')?;
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let num = |x: Option<&&str>, len: usize| -> Option<i32> {
        let x = x?;
        (x.len() == len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let (y, mo, day) = (num(d.first(), 4)?, num(d.get(1), 2)?, num(d.get(2), 2)?);
    let (h, mi, sec) = (num(t.first(), 2)?, num(t.get(1), 2)?, num(t.get(2), 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let e = zone.instant(y, mo, day, h, mi, sec);
    u64::try_from(e).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, c as u64, 6, Hash::Sha1), *w, "counter {c}");
        }
    }

    #[test]
    fn rfc6238_vectors() {
        let k1 = RFC_KEY;
        let k256 = b"12345678901234567890123456789012";
        let k512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let cases: [(u64, u32, u32, u32); 6] = [
            (59, 94287082, 46119246, 90693936),
            (1111111109, 7081804, 68084774, 25091201),
            (1111111111, 14050471, 67062674, 99943326),
            (1234567890, 89005924, 91819424, 93441116),
            (2000000000, 69279037, 90698825, 38618901),
            (20000000000, 65353130, 77737706, 47863826),
        ];
        for (t, s1, s256, s512) in cases {
            let c = totp_counter(t, 0, 30);
            assert_eq!(hotp(k1, c, 8, Hash::Sha1), s1, "sha1 t={t}");
            assert_eq!(hotp(k256, c, 8, Hash::Sha256), s256, "sha256 t={t}");
            assert_eq!(hotp(k512, c, 8, Hash::Sha512), s512, "sha512 t={t}");
        }
    }

    #[test]
    fn hotp_window_forward_only() {
        assert_eq!(hotp_find(RFC_KEY, 0, 5, "254676", 6, Hash::Sha1), Some(5));
        assert_eq!(hotp_find(RFC_KEY, 0, 4, "254676", 6, Hash::Sha1), None);
        assert_eq!(hotp_find(RFC_KEY, 6, 3, "254676", 6, Hash::Sha1), None);
    }

    #[test]
    fn totp_window_both_ways() {
        let now = 1111111111;
        let c = totp_counter(now, 0, 30);
        let prev = format_otp(hotp(RFC_KEY, c - 1, 6, Hash::Sha1), 6);
        assert_eq!(
            totp_find(RFC_KEY, now, 0, 30, 1, &prev, 6, Hash::Sha1),
            Some(c - 1)
        );
        assert_eq!(
            totp_find(RFC_KEY, now, 0, 30, 0, &prev, 6, Hash::Sha1),
            None
        );
    }

    fn tok(kind: Kind) -> Token {
        Token {
            kind,
            digits: 6,
            hash: Hash::Sha1,
            key: Zeroizing::new(RFC_KEY.to_vec()),
            counter: 0,
            last_otp: None,
            last_time: None,
        }
    }

    #[test]
    fn hotp_replay_like_liboath() {
        let mut t = tok(Kind::Hotp);
        t.verify("755224", 100, 5).unwrap();
        assert_eq!(t.counter, 0);
        assert_eq!(t.verify("755224", 101, 5), Err(OtpError::Replayed));
        t.verify("359152", 102, 5).unwrap();
        assert_eq!(t.counter, 2);
        assert_eq!(t.verify("287082", 103, 5), Err(OtpError::NoMatch));
        assert_eq!(t.verify("12345", 103, 5), Err(OtpError::Malformed));
        assert_eq!(t.verify("12345a", 103, 5), Err(OtpError::Malformed));
    }

    #[test]
    fn totp_replay_same_step_refused() {
        let mut t = tok(Kind::Totp { step: 30 });
        let now = 1_700_000_000;
        let c = totp_counter(now, 0, 30);
        let cur = format_otp(hotp(RFC_KEY, c, 6, Hash::Sha1), 6);
        let prev = format_otp(hotp(RFC_KEY, c - 1, 6, Hash::Sha1), 6);
        t.verify(&cur, now, 1).unwrap();
        assert_eq!(t.verify(&cur, now + 1, 1), Err(OtpError::Replayed));
        assert_eq!(t.verify(&prev, now + 2, 1), Err(OtpError::Replayed));
        let next = format_otp(hotp(RFC_KEY, c + 1, 6, Hash::Sha1), 6);
        t.verify(&next, now + 30, 1).unwrap();
    }

    #[test]
    fn users_file_round_trip_and_types() {
        let text = "# comment\n\nHOTP\talice\t-\t3132\nHOTP/E/8 bob + 00ff 7\nHOTP/T30 carol - abcd 0 123456 2020-01-02T03:04:05L\nHOTP/T60/7 dave pw 01\n";
        let v = parse_users(text).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].token.kind, Kind::Hotp);
        assert_eq!(v[1].token.digits, 8);
        assert_eq!(v[1].token.counter, 7);
        assert_eq!(v[1].pass, "+");
        assert_eq!(v[2].token.kind, Kind::Totp { step: 30 });
        assert_eq!(v[2].token.last_otp.as_deref(), Some("123456"));
        assert_eq!(v[3].token.kind, Kind::Totp { step: 60 });
        assert_eq!(v[3].token.digits, 7);
        let z = Zone::system();
        let again: String = v.iter().map(|l| format_users_line(l, &z) + "\n").collect();
        assert_eq!(parse_users(&again).unwrap(), v);
        assert!(format_users_line(&v[2], &z).ends_with("2020-01-02T03:04:05L"));
    }

    #[test]
    fn users_file_errors_name_the_line() {
        let bad = [
            ("HOTP alice -\n", "got 3 field"),
            ("TOTP alice - 00\n", "unknown token type 'TOTP'"),
            ("HOTP/9 alice - 00\n", "unknown token type"),
            ("HOTP/T0 alice - 00\n", "unknown token type"),
            ("HOTP alice - 0g\n", "not hex"),
            ("HOTP alice - 0\n", "not hex"),
            ("HOTP alice - \u{e9}\u{e9}\n", "not hex"),
            (&format!("HOTP alice - {}\n", "00".repeat(33)), "33 bytes"),
            ("HOTP alice - 00 x\n", "counter 'x'"),
            ("HOTP alice - 00 1 12\n", "last OTP '12'"),
            (
                "HOTP alice - 00 1 123456 yesterday\n",
                "timestamp 'yesterday'",
            ),
            (
                "HOTP alice - 00 1 123456 2020-13-01T00:00:00L\n",
                "timestamp",
            ),
            (
                "HOTP a - 00 1 123456 2020-01-01T00:00:00L extra\n",
                "8 fields",
            ),
        ];
        for (text, want) in bad {
            let full = format!("HOTP ok - 00\n{text}");
            let e = parse_users(&full).unwrap_err();
            assert_eq!(e.line, 2, "{text}");
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn otpauth_uri() {
        let t = tok(Kind::Totp { step: 30 });
        assert_eq!(
            t.uri("warden", "al ice"),
            "otpauth://totp/warden:al%20ice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=warden&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn timestamps_round_trip() {
        let z = Zone::system();
        for e in [0u64, 1_000_000_000, 1_700_000_000] {
            assert_eq!(parse_timestamp(&format_timestamp(e, &z), &z), Some(e));
        }
        assert_eq!(parse_timestamp("2020-01-01T00:00:00", &z), None);
    }
}
