//! Store tests on a real temporary directory, with injected failures.

use super::disk::FaultFs;
use super::store::sibling;
use super::*;
use crate::auth::oath::{self, Hash, Kind, Token};
use std::path::PathBuf;

/// A fresh directory under the target dir (removed at drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("warden-keyfs-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn keys(&self) -> PathBuf {
        self.0.join("keys")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PASS: &[u8] = b"correct horse";
const IT: u32 = 10;

fn names<F: Fs>(s: &Store<F>) -> Vec<String> {
    s.users().map(|a| a.name.clone()).collect()
}

#[test]
fn create_open_and_mutate() {
    let d = TempDir::new("basic");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("glenda", Expiry::Never, 1).unwrap();
    s.set_password("glenda", b"password", 2).unwrap();
    s.add_user("bob", Expiry::At(500), 1).unwrap();
    s.set_attr("bob", "ssh-principals", Some("bob,backup"), 3)
        .unwrap();
    assert!(matches!(
        s.add_user("bob", Expiry::Never, 1),
        Err(KeyfsError::UserExists(_))
    ));
    assert!(matches!(
        s.add_user("a/b", Expiry::Never, 1),
        Err(KeyfsError::BadName(_))
    ));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(d.keys()).unwrap().mode() & 0o777, 0o600);

    let (s2, w) = Store::open(RealFs, &d.keys(), PASS).unwrap();
    assert!(w.is_empty());
    assert_eq!(names(&s2), ["bob", "glenda"]);
    assert_eq!(s2.db(), s.db());
    let sec = s2.secrets("glenda", 10).unwrap();
    assert_eq!(&sec.aes_key[..], &account::passtoaeskey(b"password")[..]);
    assert!(matches!(
        s2.secrets("bob", 10),
        Err(KeyfsError::NoPassword(_))
    ));
    assert!(matches!(s2.usable("bob", 500), Err(KeyfsError::Expired(_))));
    // Nothing secret in Debug.
    let dbg = format!("{:?}", s2.user("glenda").unwrap());
    assert!(!dbg.contains("password\""), "{dbg}");
    assert!(dbg.contains("<set>"));
}

#[test]
fn rename_and_delete_and_status() {
    let d = TempDir::new("rename");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("a", Expiry::Never, 1).unwrap();
    s.add_user("b", Expiry::Never, 1).unwrap();
    assert!(matches!(
        s.rename_user("a", "b", 2),
        Err(KeyfsError::UserExists(_))
    ));
    s.rename_user("a", "c", 2).unwrap();
    s.del_user("b").unwrap();
    assert!(matches!(s.del_user("b"), Err(KeyfsError::NoUser(_))));
    s.set_status("c", Status::Disabled, 3).unwrap();
    assert!(matches!(s.usable("c", 4), Err(KeyfsError::Disabled(_))));
    let (s2, _) = Store::open(RealFs, &d.keys(), PASS).unwrap();
    assert_eq!(names(&s2), ["c"]);
    assert_eq!(s2.user("c").unwrap().status, Status::Disabled);
}

#[test]
fn wrong_passphrase_never_falls_back_and_never_overwrites() {
    let d = TempDir::new("wrongpass");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("a", Expiry::Never, 1).unwrap();
    let before = std::fs::read(d.keys()).unwrap();
    let e = Store::open(RealFs, &d.keys(), b"guess").unwrap_err();
    assert!(matches!(e, KeyfsError::WrongPassphrase(_)), "{e}");
    assert!(e.to_string().contains("wrong passphrase"));
    assert_eq!(std::fs::read(d.keys()).unwrap(), before);
    assert!(matches!(
        Store::create(RealFs, &d.keys(), PASS, IT),
        Err(KeyfsError::Exists(_))
    ));
}

#[test]
fn missing_file_is_reported() {
    let d = TempDir::new("missing");
    let e = Store::open(RealFs, &d.keys(), PASS).unwrap_err();
    assert!(matches!(e, KeyfsError::NoFile(_)), "{e}");
    assert!(e.to_string().contains("warden keyfs init"));
}

#[test]
fn damaged_current_opens_backup_with_warning_and_is_kept_aside() {
    for damage in ["truncate", "flip", "empty", "garbage", "remove"] {
        let d = TempDir::new("damage");
        let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
        s.add_user("old", Expiry::Never, 1).unwrap();
        s.add_user("new", Expiry::Never, 2).unwrap();
        let good = std::fs::read(d.keys()).unwrap();
        let bad: Option<Vec<u8>> = match damage {
            "truncate" => Some(good[..good.len() - 3].to_vec()),
            "flip" => {
                let mut g = good.clone();
                let last = g.len() - 20;
                g[last] ^= 0x40;
                Some(g)
            }
            "empty" => Some(Vec::new()),
            "garbage" => Some(
                b"hello, world, not a key file at all, but long enough to hold a header.".to_vec(),
            ),
            _ => None,
        };
        match &bad {
            Some(b) => std::fs::write(d.keys(), b).unwrap(),
            None => std::fs::remove_file(d.keys()).unwrap(),
        }
        let (mut s2, w) = Store::open(RealFs, &d.keys(), PASS).unwrap();
        assert_eq!(w.len(), 1, "{damage}");
        assert!(w[0].contains("previous generation"), "{damage}: {w:?}");
        // The backup is the generation before the last write.
        assert_eq!(names(&s2), ["old"], "{damage}");
        s2.add_user("again", Expiry::Never, 3).unwrap();
        if let Some(b) = &bad {
            assert_eq!(
                &std::fs::read(sibling(&d.keys(), ".unreadable")).unwrap(),
                b,
                "{damage}"
            );
        }
        let (s3, w) = Store::open(RealFs, &d.keys(), PASS).unwrap();
        assert!(w.is_empty());
        assert_eq!(names(&s3), ["again", "old"]);
        // The good backup was not replaced by the bad file.
        std::fs::remove_file(d.keys()).unwrap();
        let (s4, _) = Store::open(RealFs, &d.keys(), PASS).unwrap();
        assert_eq!(names(&s4), ["old"], "{damage}");
    }
}

#[test]
fn both_unreadable_names_both() {
    let d = TempDir::new("both");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("a", Expiry::Never, 1).unwrap();
    std::fs::write(d.keys(), b"").unwrap();
    std::fs::write(sibling(&d.keys(), ".bak"), b"WKEYFS\r\n").unwrap();
    let e = Store::open(RealFs, &d.keys(), PASS)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("empty") && e.contains("backup") && e.contains("truncated"),
        "{e}"
    );
}

#[test]
fn newer_version_is_not_treated_as_damage() {
    let d = TempDir::new("version");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("a", Expiry::Never, 1).unwrap();
    let mut g = std::fs::read(d.keys()).unwrap();
    g[8] = 9;
    std::fs::write(d.keys(), &g).unwrap();
    let e = Store::open(RealFs, &d.keys(), PASS).unwrap_err();
    assert!(matches!(e, KeyfsError::Version { found: 9, .. }), "{e}");
}

/// Inject ENOSPC / EROFS (with and without a torn write) at every mutating
/// filesystem operation of a write; afterwards the file opens to exactly the
/// old or exactly the new state, and the store in memory still holds the
/// old state when the write reported failure.
#[test]
fn injected_write_errors_leave_old_or_new() {
    for errno in [libc::ENOSPC, libc::EROFS, libc::EIO] {
        for torn in [false, true] {
            let mut at = 0;
            loop {
                let d = TempDir::new("fault");
                let mut fs = FaultFs::new(RealFs, errno);
                fs.torn = torn;
                let mut s = Store::create(fs, &d.keys(), PASS, IT).unwrap();
                s.add_user("old", Expiry::Never, 1).unwrap();
                s.add_user("old2", Expiry::Never, 1).unwrap();
                let old = s.db().clone();
                s.fs().fail_at.set(Some(s.fs().ops.get() + at));
                let r = s.add_user("new", Expiry::Never, 2);
                let injected = s.fs().fail_at.get().is_some_and(|f| f < s.fs().ops.get());
                let (reopened, _) = Store::open(RealFs, &d.keys(), PASS)
                    .unwrap_or_else(|e| panic!("errno {errno} at op {at}: {e}"));
                let got = names(&reopened);
                match &r {
                    Ok(()) => assert_eq!(got, ["new", "old", "old2"], "errno {errno} op {at}"),
                    Err(e) => {
                        assert!(e.to_string().contains("os error"), "{e}");
                        assert_eq!(s.db(), &old, "memory changed after a failed write");
                        assert!(
                            got == ["old", "old2"] || got == ["new", "old", "old2"],
                            "errno {errno} op {at}: {got:?}"
                        );
                    }
                }
                // A later write on the same store works and keeps everything.
                s.fs().fail_at.set(None);
                s.add_user("later", Expiry::Never, 3).unwrap();
                let (again, w) = Store::open(RealFs, &d.keys(), PASS).unwrap();
                assert!(w.is_empty(), "{w:?}");
                assert!(names(&again).contains(&"later".to_string()));
                assert!(names(&again).contains(&"old2".to_string()));
                if !injected {
                    break;
                }
                at += 1;
            }
            assert!(at >= 4, "only {at} operations in a write");
        }
    }
}

#[test]
fn failed_logins_write_nothing_until_disabled() {
    let d = TempDir::new("wear");
    let fs = FaultFs::new(RealFs, 0);
    let mut s = Store::create(fs, &d.keys(), PASS, IT).unwrap();
    s.add_user("eve", Expiry::Never, 1).unwrap();
    s.set_password("eve", b"secret", 1).unwrap();
    let w0 = s.fs().bytes_written.get();
    let mut now = 1000;
    let mut disabled_at = None;
    for i in 1..=60u32 {
        match s.check_password("eve", b"guess", now) {
            Err(KeyfsError::BadSecret(_)) => {}
            Err(KeyfsError::Purgatory { secs, .. }) => {
                now += secs;
                assert!(s.check_password("eve", b"guess", now).is_err());
            }
            Err(KeyfsError::Disabled(_)) => {
                disabled_at.get_or_insert(i);
                break;
            }
            other => panic!("{i}: {other:?}"),
        }
        if s.user("eve").unwrap().status == Status::Ok {
            assert_eq!(s.fs().bytes_written.get(), w0, "a write after failure {i}");
        }
    }
    assert_eq!(s.user("eve").unwrap().status, Status::Disabled);
    assert!(s.fs().bytes_written.get() > w0);
    // More failures reported for a disabled account (a 9P `log` write of
    // `bad`) write nothing either.
    let w1 = s.fs().bytes_written.get();
    for _ in 0..20 {
        assert_eq!(s.bad("eve", now).unwrap(), FailOutcome::Disabled);
    }
    assert_eq!(s.fs().bytes_written.get(), w1);
    let (s2, _) = Store::open(RealFs, &d.keys(), PASS).unwrap();
    assert_eq!(s2.user("eve").unwrap().status, Status::Disabled);
    assert!(s2
        .user("eve")
        .unwrap()
        .disabled_note
        .as_deref()
        .unwrap()
        .contains("50"));
}

#[test]
fn purgatory_blocks_even_the_right_password_and_success_resets() {
    let d = TempDir::new("purg");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("eve", Expiry::Never, 1).unwrap();
    s.set_password("eve", b"secret", 1).unwrap();
    for _ in 0..10 {
        let _ = s.check_password("eve", b"guess", 100);
    }
    assert!(matches!(
        s.check_password("eve", b"secret", 101),
        Err(KeyfsError::Purgatory { .. })
    ));
    assert!(s.secrets("eve", 101).is_err());
    let later = 100 + account::PURGATORY_SECS;
    s.check_password("eve", b"secret", later).unwrap();
    assert_eq!(s.failures("eve"), Failures::default());
}

#[test]
fn otp_verify_persists_replay_state() {
    let d = TempDir::new("otp");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("al", Expiry::Never, 1).unwrap();
    let key = b"12345678901234567890".to_vec();
    s.set_otp(
        "al",
        Some(Token {
            kind: Kind::Hotp,
            digits: 6,
            hash: Hash::Sha1,
            key: zeroize::Zeroizing::new(key),
            counter: 0,
            last_otp: None,
            last_time: None,
        }),
        1,
    )
    .unwrap();
    s.verify_otp("al", "287082", 10, 3).unwrap();
    let (mut s2, _) = Store::open(RealFs, &d.keys(), PASS).unwrap();
    assert!(matches!(
        s2.verify_otp("al", "287082", 11, 3),
        Err(KeyfsError::Otp {
            err: oath::OtpError::Replayed,
            ..
        })
    ));
    assert_eq!(s2.failures("al").consecutive, 1);
    s2.verify_otp("al", "359152", 12, 3).unwrap();
    assert_eq!(s2.failures("al").consecutive, 0);
    assert_eq!(s2.user("al").unwrap().otp.as_ref().unwrap().counter, 2);
}

#[test]
fn factotum_record_round_trips() {
    let d = TempDir::new("fact");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    let keys = vec![
        zeroize::Zeroizing::new("proto=pass dom=x user=glenda !password='a b'".to_string()),
        zeroize::Zeroizing::new("proto=p9sk1 dom=lab user=glenda !password=x".to_string()),
    ];
    s.set_factotum_keys(keys.clone()).unwrap();
    let (s2, _) = Store::open(RealFs, &d.keys(), PASS).unwrap();
    assert_eq!(s2.factotum_keys(), &keys[..]);
    let mut s = s2;
    assert!(s
        .set_factotum_keys(vec![zeroize::Zeroizing::new("a\nb".into())])
        .is_err());
}

#[test]
fn change_passphrase_and_old_backup() {
    let d = TempDir::new("chpass");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("a", Expiry::Never, 1).unwrap();
    s.change_passphrase(b"new pass", IT + 1).unwrap();
    assert!(matches!(
        Store::open(RealFs, &d.keys(), PASS),
        Err(KeyfsError::WrongPassphrase(_))
    ));
    let (s2, _) = Store::open(RealFs, &d.keys(), b"new pass").unwrap();
    assert_eq!(s2.iterations(), IT + 1);
    assert_eq!(names(&s2), ["a"]);
    // The backup is under the new passphrase as well.
    std::fs::write(d.keys(), b"").unwrap();
    let (s3, w) = Store::open(RealFs, &d.keys(), b"new pass").unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(names(&s3), ["a"]);
}

#[test]
fn locked_state_fails_at_once() {
    let d = TempDir::new("locked");
    Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    let mut k = Keyfs::new(
        Settings {
            file: d.keys(),
            mode: Mode::Attended,
            iterations: IT,
        },
        RealFs,
    );
    assert!(k.is_locked());
    let e = k.store().unwrap_err();
    assert_eq!(e.to_string(), "keyfs is locked (run 'warden unlock')");
    assert!(matches!(
        k.unlock(b"nope"),
        Err(KeyfsError::WrongPassphrase(_))
    ));
    assert!(k.is_locked());
    k.unlock(PASS).unwrap();
    k.store().unwrap().add_user("x", Expiry::Never, 1).unwrap();
    k.lock();
    assert!(matches!(k.store(), Err(KeyfsError::Locked)));
}

#[test]
fn unattended_keyfile_mode_checked() {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("keyfile");
    let kf = d.0.join("keys.key");
    std::fs::write(&kf, b"machine secret\n").unwrap();
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o644)).unwrap();
    Store::create(RealFs, &d.keys(), b"machine secret", IT).unwrap();
    let mut k = Keyfs::new(
        Settings {
            file: d.keys(),
            mode: Mode::Unattended {
                keyfile: kf.clone(),
            },
            iterations: IT,
        },
        RealFs,
    );
    let e = k.unlock_unattended().unwrap_err();
    assert!(e.to_string().contains("mode 0644"), "{e}");
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o600)).unwrap();
    k.unlock_unattended().unwrap();
    assert!(!k.is_locked());
}

#[test]
fn names_new_accounts_may_not_have_still_load_with_a_warning() {
    let d = TempDir::new("oldnames");
    let mut s = Store::create(RealFs, &d.keys(), PASS, IT).unwrap();
    s.add_user("glenda", Expiry::Never, 1).unwrap();
    for bad in ["ctl", "glen\u{200b}da"] {
        assert!(matches!(
            s.add_user(bad, Expiry::Never, 1),
            Err(KeyfsError::BadName(_))
        ));
        assert!(matches!(
            s.rename_user("glenda", bad, 1),
            Err(KeyfsError::BadName(_))
        ));
    }
    // a key file written before the rule holds them anyway
    let mut db = s.db().clone();
    for (old, new) in [("glenda", "ctl"), ("glenda", "glen\u{200b}da")] {
        let mut a = db.accounts.get(&old.to_string()).unwrap().clone();
        a.name = new.into();
        db.accounts.insert(new.into(), a);
    }
    let mut s = Store::create(RealFs, &d.0.join("old"), PASS, IT).unwrap();
    s.update(|x| {
        *x = db;
        Ok(())
    })
    .unwrap();
    let (s2, w) = Store::open(RealFs, &d.0.join("old"), PASS).unwrap();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w.iter()
            .any(|w| w.contains("'ctl'") && w.contains("rename it")),
        "{w:?}"
    );
    assert!(w.iter().any(|w| w.contains("\\u{200b}")), "{w:?}");
    assert!(s2.usable("ctl", 2).is_ok());
    // and can be renamed to a good name
    let mut s2 = s2;
    s2.rename_user("ctl", "ken", 3).unwrap();
    assert!(s2.usable("ken", 3).is_ok());
}

#[test]
fn expiry_zero_is_never() {
    assert_eq!(Expiry::parse("0"), Some(Expiry::Never));
    assert_eq!(Expiry::parse(" 0\n"), Some(Expiry::Never));
    assert_eq!(Expiry::parse("5"), Some(Expiry::At(5)));
    assert!(!Expiry::At(0).expired(u64::MAX));
    assert!(Expiry::At(5).expired(5));
}
