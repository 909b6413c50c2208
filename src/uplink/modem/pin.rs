//! PIN safety: warden must never walk a SIM into PUK lock.
//!
//! Three rules, applied by the pure [`decide`] before any PIN leaves warden:
//! 1. **Never spend the last attempt unattended.** A PIN is entered on its
//!    own (daemon, config) only while the SIM reports at least
//!    [`MIN_UNATTENDED_ATTEMPTS`] attempts left. When the count cannot be
//!    read (no `^CPIN`, no `+CPINR`), the worst is assumed and nothing is
//!    entered. Only an admin at the console may spend the last attempt, with
//!    `warden modem pin --force`.
//! 2. **Never retry a rejected PIN.** When the SIM rejects a PIN, a salted
//!    SHA-256 of it (never the PIN) is written to a small [`PinStore`] file,
//!    recorded under the SIM's ICCID and the modem's IMEI (each when it
//!    can be read) and looked up by the ICCID (by the IMEI when the ICCID
//!    cannot be read). That PIN is refused from then on, across restarts,
//!    even with `--force`; the record goes when the SIM accepts a PIN, or
//!    when the admin deletes the file. With a wrong `pincode` in the config, warden
//!    therefore spends one attempt, then stops and says why.
//! 3. **Never touch the PUK.** A SIM that wants its PUK (or any other lock)
//!    is reported, never unlocked.
//!
//! When the outcome of a PIN entry is unknown (the modem vanished or timed
//! out), the state is read again: READY means accepted; an attempt counter
//! that did not drop means not spent; anything else counts as rejected.
//!
//! The hash is not a vault: a 4-digit PIN is found from its hash by trying
//! 10,000 candidates. It keeps the PIN out of plain sight and out of
//! backups; the file is created mode 0600.

use super::at::{ErrorCode, Final};
use super::commands::SimState;
use super::driver::{Modem, ModemError, Port, SimStatus};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Attempts that must remain before warden enters a PIN on its own.
pub const MIN_UNATTENDED_ATTEMPTS: u8 = 2;

/// The store's file name in the state directory (the `state_dir` option,
/// default /etc/warden: on flash, so it survives reboots).
pub const STORE_FILE: &str = crate::config::PIN_STORE_FILE;

/// A SIM PIN: 4 to 8 digits, wiped from memory when dropped, never shown.
pub struct Pin(Zeroizing<String>);

/// A PIN that is not 4 to 8 digits (refused before it reaches the SIM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPin;

impl fmt::Display for BadPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SIM PIN is 4 to 8 digits")
    }
}

impl std::error::Error for BadPin {}

impl Pin {
    pub fn new(text: &str) -> Result<Pin, BadPin> {
        let t = text.trim();
        if (4..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(Zeroizing::new(t.to_string())))
        } else {
            Err(BadPin)
        }
    }

    pub(crate) fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<secret>)")
    }
}

/// Who is asking, which decides how much risk is allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// An admin explicitly allows spending the last attempt (or an attempt
    /// whose count is unknown). Never set by the daemon.
    pub force: bool,
}

/// Why no PIN was entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The SIM wants its PUK; warden never enters one.
    PukLocked {
        puk_attempts: Option<u8>,
    },
    /// A lock other than the SIM PIN (PIN2, PH-SIM, network lock).
    OtherLock(SimState),
    NoSim,
    /// This very PIN was rejected by this SIM before.
    RejectedBefore,
    /// Only one attempt is left.
    LastAttempt,
    /// The modem does not tell how many attempts are left.
    AttemptsUnknown,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::PukLocked { puk_attempts } => {
                f.write_str("the SIM is PUK-locked; unlock it with its PUK in a phone")?;
                if let Some(n) = puk_attempts {
                    write!(f, " ({n} PUK attempts left)")?;
                }
                Ok(())
            }
            Refusal::OtherLock(s) => write!(f, "the SIM is {s}; warden only enters the SIM PIN"),
            Refusal::NoSim => f.write_str("no SIM card in the modem"),
            Refusal::RejectedBefore => f.write_str(
                "this PIN was rejected by this SIM before and is not tried again; fix the PIN",
            ),
            Refusal::LastAttempt => f.write_str(
                "only one PIN attempt is left; enter it yourself with 'warden modem pin --force'",
            ),
            Refusal::AttemptsUnknown => f.write_str(
                "the modem does not tell how many PIN attempts are left; \
                 enter the PIN yourself with 'warden modem pin --force'",
            ),
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The SIM is ready: send nothing.
    NotNeeded,
    Enter,
    Refuse(Refusal),
}

/// The whole safety rule, as a pure function.
pub fn decide(
    state: &SimState,
    pin_attempts: Option<u8>,
    puk_attempts: Option<u8>,
    rejected_before: bool,
    policy: Policy,
) -> Decision {
    match state {
        SimState::Ready => Decision::NotNeeded,
        SimState::Puk => Decision::Refuse(Refusal::PukLocked { puk_attempts }),
        SimState::NotInserted => Decision::Refuse(Refusal::NoSim),
        SimState::Pin2 | SimState::Puk2 | SimState::Other(_) => {
            Decision::Refuse(Refusal::OtherLock(state.clone()))
        }
        SimState::Pin => {
            if rejected_before {
                return Decision::Refuse(Refusal::RejectedBefore);
            }
            match pin_attempts {
                Some(0) => Decision::Refuse(Refusal::PukLocked { puk_attempts }),
                Some(n) if n >= MIN_UNATTENDED_ATTEMPTS => Decision::Enter,
                _ if policy.force => Decision::Enter,
                Some(_) => Decision::Refuse(Refusal::LastAttempt),
                None => Decision::Refuse(Refusal::AttemptsUnknown),
            }
        }
    }
}

/// A problem with the store file.
#[derive(Debug)]
pub enum StoreError {
    Io { path: PathBuf, source: io::Error },
    Corrupt { path: PathBuf, line: usize },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            StoreError::Corrupt { path, line } => write!(
                f,
                "{}:{line}: not a rejected-PIN record (delete the file to start afresh)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {}

const SALT: usize = 16;
const MAX_RECORDS: usize = 32;
const HEADER: &str = "# warden: SIM PINs the SIM rejected, as salted SHA-256 (never the PIN)\n";

#[derive(Clone, PartialEq, Eq)]
struct Record {
    key: String,
    salt: [u8; SALT],
    hash: [u8; 32],
}

/// Rejected PINs, remembered in a small file written atomically.
pub struct PinStore {
    path: PathBuf,
    records: Vec<Record>,
}

fn hash(salt: &[u8; SALT], key: &str, pin: &Pin) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(key.as_bytes());
    h.update([0u8]);
    h.update(pin.digits().as_bytes());
    h.finalize().into()
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn random_salt() -> io::Result<[u8; SALT]> {
    let mut s = [0u8; SALT];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut s)?;
    Ok(s)
}

/// The keys a SIM is remembered by: its ICCID and the modem's IMEI, when
/// known (both, so that a rejection is found again even on a start when
/// one of them cannot be read), else `unknown`.
pub fn sim_keys(status: &SimStatus) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(i) = &status.iccid {
        keys.push(format!("iccid:{i}"));
    }
    if let Some(i) = &status.imei {
        keys.push(format!("imei:{i}"));
    }
    if keys.is_empty() {
        keys.push("unknown".into());
    }
    keys
}

/// The key a rejection is looked up by: the ICCID when it can be read (so
/// a new SIM in the same modem is judged on its own), else the IMEI.
/// Rejections are recorded under every key in [`sim_keys`].
pub fn lookup_key(keys: &[String]) -> &[String] {
    keys.get(..1).unwrap_or(keys)
}

impl PinStore {
    /// Load the store; a missing file is an empty store. A damaged file is
    /// an error (and no PIN is entered), never silently ignored.
    pub fn open(path: &Path) -> Result<PinStore, StoreError> {
        let io_err = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_err(e)),
        };
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            let rec = match f[..] {
                ["rejected", key, salt, hash] => {
                    unhex(salt).zip(unhex(hash)).map(|(salt, hash)| Record {
                        key: key.to_string(),
                        salt,
                        hash,
                    })
                }
                _ => None,
            };
            records.push(rec.ok_or(StoreError::Corrupt {
                path: path.to_path_buf(),
                line: i + 1,
            })?);
        }
        Ok(PinStore {
            path: path.to_path_buf(),
            records,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if this SIM (under any of its keys) rejected this PIN before.
    /// Every record of those keys is compared, in constant time.
    pub fn is_rejected(&self, keys: &[String], pin: &Pin) -> bool {
        self.records
            .iter()
            .filter(|r| keys.contains(&r.key))
            .fold(false, |found, r| {
                found | ct_eq(&hash(&r.salt, &r.key, pin), &r.hash)
            })
    }

    /// How many rejected PINs are remembered under this key.
    pub fn rejected_count(&self, key: &str) -> usize {
        self.records.iter().filter(|r| r.key == key).count()
    }

    /// Remember that this SIM rejected this PIN (under each of its keys).
    pub fn remember(&mut self, keys: &[String], pin: &Pin) -> Result<(), StoreError> {
        let mut changed = false;
        for key in keys {
            if self.is_rejected(std::slice::from_ref(key), pin) {
                continue;
            }
            let salt = random_salt().map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })?;
            if self.records.len() >= MAX_RECORDS {
                self.records.remove(0);
            }
            self.records.push(Record {
                key: key.clone(),
                hash: hash(&salt, key, pin),
                salt,
            });
            changed = true;
        }
        if changed {
            self.save()
        } else {
            Ok(())
        }
    }

    /// Forget this SIM's rejected PINs (it accepted one).
    pub fn forget(&mut self, keys: &[String]) -> Result<(), StoreError> {
        let before = self.records.len();
        self.records.retain(|r| !keys.contains(&r.key));
        if self.records.len() == before {
            return Ok(());
        }
        self.save()
    }

    fn save(&self) -> Result<(), StoreError> {
        let mut text = String::from(HEADER);
        for r in &self.records {
            text.push_str(&format!(
                "rejected {} {} {}\n",
                r.key,
                crate::wire::hex(&r.salt),
                crate::wire::hex(&r.hash)
            ));
        }
        write_atomic(&self.path, text.as_bytes()).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Write a file only its owner reads, making its directory (0700) when
/// missing; atomically ([`crate::sys::file::write_atomic`]).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    crate::sys::file::write_atomic(path, data, 0o600)
}

/// How an unlock ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    /// The SIM needed no PIN.
    AlreadyReady,
    /// The SIM accepted the PIN.
    Accepted,
}

/// Why the SIM is still locked.
#[derive(Debug)]
pub enum PinError {
    /// warden decided not to enter the PIN.
    Refused(Refusal),
    /// The SIM rejected the PIN (it is remembered and not tried again).
    Rejected {
        result: Final,
        attempts_left: Option<u8>,
    },
    /// The modem failed around the PIN entry.
    Modem(ModemError),
    /// The rejected-PIN store could not be read or written.
    Store(StoreError),
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinError::Refused(r) => write!(f, "PIN not entered: {r}"),
            PinError::Rejected {
                result,
                attempts_left,
            } => {
                write!(f, "the SIM rejected the PIN ({result})")?;
                if let Some(n) = attempts_left {
                    write!(f, "; {n} attempt(s) left")?;
                }
                f.write_str("; warden will not try this PIN again")
            }
            PinError::Modem(e) => write!(f, "{e}"),
            PinError::Store(e) => write!(f, "rejected-PIN store: {e}"),
        }
    }
}

impl std::error::Error for PinError {}

impl From<ModemError> for PinError {
    fn from(e: ModemError) -> Self {
        PinError::Modem(e)
    }
}

impl From<StoreError> for PinError {
    fn from(e: StoreError) -> Self {
        PinError::Store(e)
    }
}

/// Unlock the SIM with `pin` if, and only if, [`decide`] says it is safe.
/// The one way a PIN reaches the modem.
pub fn unlock<P: Port>(
    modem: &mut Modem<P>,
    pin: &Pin,
    store: &mut PinStore,
    policy: Policy,
) -> Result<Unlocked, PinError> {
    let status = modem.sim_status()?;
    let key = sim_keys(&status);
    let pin_left = status.counters.map(|c| c.pin);
    let puk_left = status.counters.and_then(|c| c.puk);
    match decide(
        &status.state,
        pin_left,
        puk_left,
        store.is_rejected(lookup_key(&key), pin),
        policy,
    ) {
        Decision::NotNeeded => return Ok(Unlocked::AlreadyReady),
        Decision::Refuse(r) => return Err(PinError::Refused(r)),
        Decision::Enter => {}
    }
    log::info!(
        "entering the SIM PIN ({} attempt(s) left)",
        pin_left.map_or("unknown".to_string(), |n| n.to_string())
    );
    match modem.send_pin(pin) {
        Ok(r) if r.result == Final::Ok => {
            store.forget(&key)?;
            Ok(Unlocked::Accepted)
        }
        Ok(r) => {
            store.remember(&key, pin)?;
            let attempts_left = modem.pin_counters().ok().flatten().map(|c| c.pin);
            // +CME ERROR: 12 (SIM PUK required) can only follow an attempt
            // the SIM counted; say so plainly.
            if r.result == Final::CmeError(ErrorCode::Code(12)) {
                log::error!("the SIM asks for its PUK");
            }
            Err(PinError::Rejected {
                result: r.result,
                attempts_left,
            })
        }
        Err(e) => {
            // Unknown outcome: look again before deciding what it was.
            let after = modem.sim_state().ok();
            let counters = modem.pin_counters().ok().flatten();
            let spent = match (&after, counters, pin_left) {
                (Some(SimState::Ready), _, _) => {
                    store.forget(&key)?;
                    return Ok(Unlocked::Accepted);
                }
                (Some(SimState::Pin), Some(c), Some(before)) => c.pin < before,
                _ => true,
            };
            if spent {
                store.remember(&key, pin)?;
            }
            Err(PinError::Modem(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }

    fn k(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    #[test]
    fn pins_are_digits_and_never_shown() {
        assert!(Pin::new("1234").is_ok());
        assert!(Pin::new(" 12345678\n").is_ok());
        for bad in ["", "123", "123456789", "12a4", "12 34", "\"1\""] {
            assert_eq!(Pin::new(bad).unwrap_err(), BadPin, "{bad}");
        }
        assert_eq!(format!("{:?}", pin("4711")), "Pin(<secret>)");
    }

    #[test]
    fn the_decision_table() {
        use Decision::*;
        let auto = Policy::default();
        let force = Policy { force: true };
        let p = SimState::Pin;
        assert_eq!(
            decide(&SimState::Ready, Some(1), None, true, auto),
            NotNeeded
        );
        assert_eq!(decide(&p, Some(3), None, false, auto), Enter);
        assert_eq!(decide(&p, Some(2), None, false, auto), Enter);
        assert_eq!(
            decide(&p, Some(1), None, false, auto),
            Refuse(Refusal::LastAttempt)
        );
        assert_eq!(decide(&p, Some(1), None, false, force), Enter);
        assert_eq!(
            decide(&p, None, None, false, auto),
            Refuse(Refusal::AttemptsUnknown)
        );
        assert_eq!(decide(&p, None, None, false, force), Enter);
        assert_eq!(
            decide(&p, Some(0), Some(10), false, force),
            Refuse(Refusal::PukLocked {
                puk_attempts: Some(10)
            })
        );
        // A rejected PIN is never retried, whatever the count or the force.
        for n in [None, Some(1), Some(3)] {
            for pol in [auto, force] {
                assert_eq!(
                    decide(&p, n, None, true, pol),
                    Refuse(Refusal::RejectedBefore)
                );
            }
        }
        assert!(matches!(
            decide(&SimState::Puk, Some(0), Some(9), false, force),
            Refuse(Refusal::PukLocked { .. })
        ));
        assert!(matches!(
            decide(&SimState::Pin2, Some(3), None, false, force),
            Refuse(Refusal::OtherLock(_))
        ));
        assert_eq!(
            decide(&SimState::NotInserted, None, None, false, force),
            Refuse(Refusal::NoSim)
        );
    }

    /// Exhaustively: whatever sequence of wrong PINs the daemon is given,
    /// and however often it restarts, the attempt counter never reaches 0.
    #[test]
    fn unattended_entry_never_reaches_puk() {
        for wrong_pins in 1..=5usize {
            let mut left = 3u8;
            let mut rejected: Vec<usize> = Vec::new();
            for round in 0..20 {
                let which = round % wrong_pins;
                let d = decide(
                    &SimState::Pin,
                    Some(left),
                    Some(10),
                    rejected.contains(&which),
                    Policy::default(),
                );
                if d == Decision::Enter {
                    left -= 1;
                    rejected.push(which);
                }
                assert!(left >= 1, "{wrong_pins} wrong PINs reached PUK");
            }
        }
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warden-pin-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn the_store_remembers_across_reopen_and_never_holds_the_pin() {
        let dir = tmpdir("store");
        let path = dir.join("sub/pin-rejected");
        let mut s = PinStore::open(&path).unwrap();
        assert!(!s.is_rejected(&k("iccid:1"), &pin("4711")));
        s.remember(&k("iccid:1"), &pin("4711")).unwrap();
        s.remember(&k("iccid:1"), &pin("4711")).unwrap();
        s.remember(&k("iccid:2"), &pin("0000")).unwrap();
        let s = PinStore::open(&path).unwrap();
        assert!(s.is_rejected(&k("iccid:1"), &pin("4711")));
        assert!(!s.is_rejected(&k("iccid:1"), &pin("4712")));
        assert!(!s.is_rejected(&k("iccid:2"), &pin("4711")));
        assert_eq!(s.rejected_count("iccid:1"), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        // Each record is the key, a salt and a hash: no field is a PIN
        // (salted hex may contain "4711" by chance, so compare fields).
        for line in text.lines().filter(|l| l.starts_with("rejected ")) {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 4, "{line}");
            assert!(f[1].starts_with("iccid:"), "{line}");
            assert!(unhex::<SALT>(f[2]).is_some(), "{line}");
            assert!(unhex::<32>(f[3]).is_some(), "{line}");
        }
        assert!(
            text.split_whitespace().all(|w| w != "4711" && w != "0000"),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut s = s;
        s.forget(&k("iccid:1")).unwrap();
        let s = PinStore::open(&path).unwrap();
        assert!(!s.is_rejected(&k("iccid:1"), &pin("4711")));
        assert!(s.is_rejected(&k("iccid:2"), &pin("0000")));
        // Only the file itself is left: no temporary files.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rejection_is_found_when_only_one_key_can_be_read() {
        let st = |iccid: Option<&str>, imei: Option<&str>| SimStatus {
            state: SimState::Pin,
            counters: None,
            iccid: iccid.map(String::from),
            imei: imei.map(String::from),
        };
        let both = sim_keys(&st(Some("8949"), Some("3531")));
        assert_eq!(both, vec!["iccid:8949", "imei:3531"]);
        assert_eq!(sim_keys(&st(None, None)), vec!["unknown"]);
        let dir = tmpdir("keys");
        let mut s = PinStore::open(&dir.join("p")).unwrap();
        s.remember(&both, &pin("4711")).unwrap();
        let s = PinStore::open(&dir.join("p")).unwrap();
        let found =
            |iccid, imei| s.is_rejected(lookup_key(&sim_keys(&st(iccid, imei))), &pin("4711"));
        assert!(found(None, Some("3531")));
        assert!(found(Some("8949"), None));
        assert!(found(Some("8949"), Some("3531")));
        // Another SIM in the same modem is judged on its own.
        assert!(!found(Some("8950"), Some("3531")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_store_is_an_error_naming_the_line() {
        let dir = tmpdir("damaged");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pin-rejected");
        std::fs::write(&path, "# c\nrejected iccid:1 zz 00\n").unwrap();
        let e = PinStore::open(&path).err().unwrap();
        assert!(
            e.to_string().ends_with(
                "pin-rejected:2: not a rejected-PIN record (delete the file to start afresh)"
            ),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_store_is_bounded() {
        let dir = tmpdir("bounded");
        let path = dir.join("p");
        let mut s = PinStore::open(&path).unwrap();
        for i in 0..(MAX_RECORDS + 10) {
            s.remember(&k(&format!("imei:{i}")), &pin("1111")).unwrap();
        }
        assert_eq!(PinStore::open(&path).unwrap().records.len(), MAX_RECORDS);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
