//! Process hardening for a program that holds secrets: no core dumps, not
//! ptrace-attachable by the same uid, memory locked where permitted.

/// What [`harden`] managed to do; failures are reported, not fatal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hardened {
    pub undumpable: bool,
    pub no_core: bool,
    pub mlocked: bool,
}

/// PR_SET_DUMPABLE 0 and RLIMIT_CORE 0 ("memory contains unencrypted
/// private keys", as OpenSSH's agent says), then [`lock_memory`] where
/// permitted.
pub fn harden() -> Hardened {
    // SAFETY: prctl with PR_SET_DUMPABLE takes integer arguments only.
    let undumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0;
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `zero` is a valid rlimit that outlives the call.
    let no_core = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0;
    let locked = lock_memory(|flags| {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(flags) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    });
    let mlocked = locked.is_ok();
    let h = Hardened {
        undumpable,
        no_core,
        mlocked,
    };
    if !h.undumpable {
        log::warn!(
            "could not make the process undumpable: {}",
            std::io::Error::last_os_error()
        );
    }
    if !h.no_core {
        log::warn!("could not disable core dumps");
    }
    match locked {
        Ok(LOCK_EVERYTHING) => {
            log::info!("kernel without MCL_ONFAULT: every mapped page is locked")
        }
        Ok(_) => {}
        Err(e) => log::warn!("mlockall not permitted ({e}); secrets may be swapped out"),
    }
    h
}

/// mlockall's flags before Linux 4.4: every page mapped now or later is
/// made resident and locked, the whole program text included.
const LOCK_EVERYTHING: libc::c_int = libc::MCL_CURRENT | libc::MCL_FUTURE;

/// [`LOCK_EVERYTHING`] with MCL_ONFAULT (Linux 4.4): a page is locked when
/// it is first touched, and never made resident before.
const LOCK_TOUCHED: libc::c_int = LOCK_EVERYTHING | libc::MCL_ONFAULT;

/// Lock the process's memory so that secrets never reach swap, with
/// `mlockall` (the real call, or a stand-in in tests); returns the flags
/// that took.
///
/// The point of locking is only that: a key, a passphrase or a decrypted
/// keyfs must never be written to a swap device (zram or a USB stick on a
/// router), where it would outlive the process. A secret is only ever in
/// a page the process has written, that is touched, so locking the pages
/// as they are touched is enough: MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT
/// marks every mapping, present and future (heap, thread stacks, the
/// allocator's new mappings), as locked, and the kernel locks each page
/// at its first fault, before the write that faulted it completes. What
/// is never touched is never made resident. Without MCL_ONFAULT,
/// mlockall faults in and pins every page of every mapping: each service
/// thread's whole stack, the allocator's whole mappings, all of the
/// program text. On the shipped configuration (factotum and keyfs, x86_64
/// musl, bench/rss, as root) that was 2,180 kB resident and locked
/// (1,272 kB anonymous); with MCL_ONFAULT 1,000 kB (96 kB anonymous). The
/// text stays mostly resident either way (904 kB): the kernel maps the
/// pages around each fault that are already in the page cache
/// (fault-around), and they are locked with the rest.
///
/// Kernels before 4.4 reject MCL_ONFAULT with EINVAL; then every page is
/// locked as before (more memory, the same guarantee). Any other error
/// (EPERM without CAP_IPC_LOCK, ENOMEM over RLIMIT_MEMLOCK) is returned
/// and the process runs unlocked.
pub fn lock_memory(
    mut mlockall: impl FnMut(libc::c_int) -> std::io::Result<()>,
) -> std::io::Result<libc::c_int> {
    match mlockall(LOCK_TOUCHED) {
        Ok(()) => Ok(LOCK_TOUCHED),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            mlockall(LOCK_EVERYTHING).map(|()| LOCK_EVERYTHING)
        }
        Err(e) => Err(e),
    }
}

/// Is the process currently undumpable?
pub fn is_undumpable() -> bool {
    // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    /// The flags each mlockall call was given, and its answers in turn.
    fn run(answers: &[Option<i32>]) -> (std::io::Result<libc::c_int>, Vec<libc::c_int>) {
        let mut calls = Vec::new();
        let mut answers = answers.iter();
        let r = lock_memory(|flags| {
            calls.push(flags);
            match answers.next().expect("an unexpected mlockall call") {
                None => Ok(()),
                Some(errno) => Err(Error::from_raw_os_error(*errno)),
            }
        });
        (r, calls)
    }

    #[test]
    fn locks_pages_as_they_are_touched() {
        let (r, calls) = run(&[None]);
        assert_eq!(
            r.unwrap(),
            libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT
        );
        assert_eq!(calls, [LOCK_TOUCHED]);
    }

    #[test]
    fn a_kernel_without_onfault_locks_everything() {
        let (r, calls) = run(&[Some(libc::EINVAL), None]);
        assert_eq!(r.unwrap(), libc::MCL_CURRENT | libc::MCL_FUTURE);
        assert_eq!(calls, [LOCK_TOUCHED, LOCK_EVERYTHING]);
    }

    #[test]
    fn not_permitted_is_not_retried() {
        let (r, calls) = run(&[Some(libc::EPERM)]);
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EPERM));
        assert_eq!(calls, [LOCK_TOUCHED]);
        let (r, calls) = run(&[Some(libc::EINVAL), Some(libc::ENOMEM)]);
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ENOMEM));
        assert_eq!(calls, [LOCK_TOUCHED, LOCK_EVERYTHING]);
    }
}
