//! One account: name, status, expiry, password-derived secrets, an OATH
//! token, free-form attributes; and the in-memory failure counter with
//! Plan 9's purgatory and Inferno's 50-strikes rule.
//!
//! Secrets never appear in `Debug` output and are zeroized on drop.

use crate::auth::oath::Token;
use std::fmt;
use zeroize::Zeroizing;

pub use crate::auth::authsrv::des::{passtokey, DESKEYLEN};
/// Plan 9's ANAMELEN, the size of a name field in tickets and ticket
/// requests. Names may fill all 28 bytes, as the rule states; note
/// that Plan 9's C code NUL-terminates these fields, so a peer may see a
/// 28-byte name cut to 27: keep names shorter for Plan 9 interop.
pub use crate::auth::authsrv::wire::ANAMELEN;
/// 9front's AESKEYLEN.
pub const AESKEYLEN: usize = 16;
/// Consecutive failures that send an account to purgatory (Plan 9).
pub const PURGATORY_EVERY: u32 = 10;
/// Base purgatory length; the n-th purgatory lasts n times this.
pub const PURGATORY_SECS: u64 = 5 * 60;
/// Consecutive failures that disable an account for good (Inferno).
pub const DISABLE_AFTER: u32 = 50;

/// Names the keyfs tree's root holds itself: an account so named could
/// never be walked to (the walk finds the control file).
pub const RESERVED: &[&str] = &["ctl"];

/// A character that shows nothing or changes how text around it is shown:
/// Unicode's default-ignorable code points (zero-width space and joiners,
/// bidirectional controls, variation selectors, the BOM, tags, fillers),
/// private-use and unassigned specials. `glenda` and `glen\u{200b}da` must
/// never be two accounts that look alike.
fn invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0x3164 | 0xE000..=0xF8FF | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF | 0xF0000..)
        || (u32::from(c) & 0xFFFE) == 0xFFFE
        || (0xFDD0..=0xFDEF).contains(&u32::from(c))
}

/// Check an account name: 1 to 28 bytes of visible, printable UTF-8
/// without '/' or white space, not "." or "..", and not a name the
/// keyfs tree reserves ([`RESERVED`]: it becomes a directory name in the
/// tree). New and renamed accounts are checked; accounts already in a
/// key file load whatever their name ([`name_warning`]).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty user name".into());
    }
    if name.len() > ANAMELEN {
        return Err(format!(
            "user name '{}' is {} bytes, at most {ANAMELEN} allowed",
            name.escape_default(),
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' is not a user name"));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "'{name}' is not a user name: the keyfs tree's {name} file has it"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || c.is_control() || c.is_whitespace())
    {
        return Err(format!(
            "user name '{}' holds '{}': no '/', spaces or control characters allowed",
            name.escape_default(),
            c.escape_default()
        ));
    }
    if let Some(c) = name.chars().find(|&c| invisible(c)) {
        return Err(format!(
            "user name '{}' holds the invisible character {}: names must be visible text",
            name.escape_default(),
            c.escape_unicode()
        ));
    }
    Ok(())
}

/// The warning for an account a key file holds under a name
/// [`check_name`] now refuses (written by an older version, or by
/// another tool): it still loads and authenticates, and can be renamed.
pub fn name_warning(name: &str) -> Option<String> {
    check_name(name).err().map(|e| {
        format!(
            "account '{}' has a name new accounts may not have ({e}); rename it",
            name.escape_default()
        )
    })
}

/// Account status, as keyfs(4)'s `status` file shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Disabled => "disabled",
        }
    }

    /// keyfs(4)'s `status` file text (`ok` or `disabled`).
    pub fn parse(s: &str) -> Option<Status> {
        match s.trim() {
            "ok" => Some(Status::Ok),
            "disabled" => Some(Status::Disabled),
            _ => None,
        }
    }
}

/// When an account expires, as keyfs(4)'s `expire` file shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// Seconds since the epoch.
    At(u64),
}

impl Expiry {
    /// Seconds since the epoch, where 0 means never, as in Plan 9's and
    /// Inferno's keyfs (a tool written for either writes 0 to clear an
    /// expiry).
    pub fn at(t: u64) -> Expiry {
        if t == 0 {
            Expiry::Never
        } else {
            Expiry::At(t)
        }
    }

    /// `never` or seconds since the epoch, 0 meaning never (keyfs(4)'s
    /// text form).
    pub fn parse(s: &str) -> Option<Expiry> {
        match s.trim() {
            "never" => Some(Expiry::Never),
            t => t.parse().ok().map(Expiry::at),
        }
    }

    pub fn expired(self, now: u64) -> bool {
        matches!(self, Expiry::At(t) if t != 0 && now >= t)
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::Never => f.write_str("never"),
            Expiry::At(t) => write!(f, "{t}"),
        }
    }
}

/// Secrets derived from a password when it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// Plan 9 DES key (passtokey).
    pub des_key: Zeroizing<[u8; DESKEYLEN]>,
    /// 9front AES key (passtoaeskey).
    pub aes_key: Zeroizing<[u8; AESKEYLEN]>,
    /// The shared secret for challenge/response protocols (chap, apop,
    /// cram): the password itself, as Plan 9's keyfs `secret` file holds it.
    pub secret: Zeroizing<Vec<u8>>,
    /// The signer's PAKE verifier (set by `warden user passwd`; key files
    /// written before it existed have none until the next password change).
    pub signer: Option<super::signer::SignerVerifier>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(<secret>)")
    }
}

impl Secrets {
    /// Derive every secret from a password.
    pub fn from_password(pw: &[u8]) -> Secrets {
        Secrets {
            des_key: Zeroizing::new(passtokey(pw)),
            aes_key: Zeroizing::new(passtoaeskey(pw)),
            secret: Zeroizing::new(pw.to_vec()),
            signer: None,
        }
    }
}

/// 9front's passtoaeskey: PBKDF2-HMAC-SHA1, salt "Plan 9 key derivation",
/// 9001 iterations, 16 bytes.
pub fn passtoaeskey(pw: &[u8]) -> [u8; AESKEYLEN] {
    let mut k = [0u8; AESKEYLEN];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pw, b"Plan 9 key derivation", 9001, &mut k);
    k
}

/// One account as stored in the key file.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub status: Status,
    pub expire: Expiry,
    /// Set once a password is; None means no password (no secret).
    pub secrets: Option<Secrets>,
    pub otp: Option<Token>,
    /// Free-form attributes (e.g. `ssh-principals`), in insertion order.
    pub attrs: Vec<(String, String)>,
    /// When the account last changed (seconds since the epoch).
    pub changed: u64,
    /// Why it was disabled, if it was disabled automatically.
    pub disabled_note: Option<String>,
    /// The account's secstore (`warden secstore add`), if it has one.
    pub secstore: Option<SecstoreAccount>,
}

/// Default quotas of a secstore account: files, and bytes over all of
/// them (as stored: each file's 32 bytes of IV and check included).
pub const SECSTORE_FILES: u32 = 16;
pub const SECSTORE_BYTES: u64 = 256 * 1024;

/// A user's secstore: the PAK verifier Hi = H(password)^-1 mod p (a
/// big-endian number; it stands in for the password: kept secret) and
/// the quotas.
#[derive(Clone, PartialEq, Eq)]
pub struct SecstoreAccount {
    pub hi: Zeroizing<Vec<u8>>,
    pub max_files: u32,
    pub max_bytes: u64,
}

impl fmt::Debug for SecstoreAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecstoreAccount(<verifier>, files {}, bytes {})",
            self.max_files, self.max_bytes
        )
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("status", &self.status)
            .field("expire", &self.expire)
            .field("password", &self.secrets.as_ref().map(|_| "<set>"))
            .field("otp", &self.otp)
            .field("attrs", &self.attrs)
            .finish()
    }
}

impl Account {
    pub fn new(name: &str, expire: Expiry, now: u64) -> Result<Account, String> {
        check_name(name)?;
        Ok(Account {
            name: name.to_string(),
            status: Status::Ok,
            expire,
            secrets: None,
            otp: None,
            attrs: Vec::new(),
            changed: now,
            disabled_note: None,
            secstore: None,
        })
    }
}

/// Failure state of one account, kept in memory only (Plan 9's keyfs and
/// Inferno's keep it there too; only "disabled" reaches the file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Consecutive failures since the last success.
    pub consecutive: u32,
    /// In purgatory until this time (seconds since the epoch).
    pub locked_until: Option<u64>,
}

/// What a failure did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Counted, nothing else.
    Counted,
    /// Sent to purgatory until this time.
    Purgatory(u64),
    /// The 50th failure: the account is now disabled (to be persisted).
    Disabled,
}

impl std::fmt::Display for FailOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailOutcome::Counted => f.write_str("counted"),
            FailOutcome::Purgatory(until) => write!(f, "locked until {until}"),
            FailOutcome::Disabled => f.write_str("account disabled"),
        }
    }
}

impl Failures {
    /// Still in purgatory at `now`: the seconds left.
    pub fn locked(&self, now: u64) -> Option<u64> {
        self.locked_until
            .filter(|&t| t > now)
            .map(|t| t.saturating_sub(now))
    }

    /// Count a failure at `now`.
    pub fn bad(&mut self, now: u64) -> FailOutcome {
        self.consecutive = self.consecutive.saturating_add(1);
        if self.consecutive >= DISABLE_AFTER {
            return FailOutcome::Disabled;
        }
        if self.consecutive % PURGATORY_EVERY == 0 {
            let n = u64::from(self.consecutive / PURGATORY_EVERY);
            let until = now.saturating_add(n.saturating_mul(PURGATORY_SECS));
            self.locked_until = Some(until);
            return FailOutcome::Purgatory(until);
        }
        FailOutcome::Counted
    }

    /// A success clears everything.
    pub fn good(&mut self) {
        *self = Failures::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::hex;

    #[test]
    fn names() {
        assert!(check_name("glenda").is_ok());
        assert!(check_name(&"a".repeat(28)).is_ok());
        let e = check_name(&"a".repeat(29)).unwrap_err();
        assert!(e.contains("29 bytes"), "{e}");
        assert!(check_name("a/b").unwrap_err().contains("'/'"));
        assert!(check_name("a b").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name("").is_err());
        assert_eq!(Status::parse("disabled\n"), Some(Status::Disabled));
        assert_eq!(Status::parse("maybe"), None);
        assert!(check_name("..").is_err());
    }

    #[test]
    fn pbkdf2_sha1_rfc6070() {
        for (c, want) in [
            (1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
            (2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
            (4096, "4b007901b765489abead49d926f721d065a429c1"),
        ] {
            let mut out = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(b"password", b"salt", c, &mut out);
            assert_eq!(hex(&out), want, "c={c}");
        }
        let mut out = [0u8; 25];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            &mut out,
        );
        assert_eq!(
            hex(&out),
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"
        );
    }

    #[test]
    fn aes_key_matches_9front() {
        assert_eq!(
            hex(&passtoaeskey(b"password")),
            "15d13256344211e56c52f50c539de223"
        );
    }

    #[test]
    fn purgatory_grows_and_fifty_disables() {
        let mut f = Failures::default();
        let mut now = 1000;
        for i in 1..=9 {
            assert_eq!(f.bad(now), FailOutcome::Counted, "{i}");
        }
        assert_eq!(f.bad(now), FailOutcome::Purgatory(now + PURGATORY_SECS));
        assert_eq!(f.locked(now), Some(PURGATORY_SECS));
        now += PURGATORY_SECS;
        assert_eq!(f.locked(now), None);
        for _ in 11..=19 {
            f.bad(now);
        }
        assert_eq!(f.bad(now), FailOutcome::Purgatory(now + 2 * PURGATORY_SECS));
        for _ in 21..50 {
            f.bad(now);
        }
        assert_eq!(f.consecutive, 49);
        assert_eq!(f.bad(now), FailOutcome::Disabled);
        f.good();
        assert_eq!(f, Failures::default());
    }

    #[test]
    fn expiry() {
        assert_eq!(Expiry::parse("never"), Some(Expiry::Never));
        assert_eq!(Expiry::parse("100"), Some(Expiry::At(100)));
        assert_eq!(Expiry::parse("soon"), None);
        assert!(Expiry::At(100).expired(100));
        assert!(!Expiry::At(100).expired(99));
        assert!(!Expiry::Never.expired(u64::MAX));
    }
}
