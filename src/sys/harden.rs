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
/// private keys", as OpenSSH's agent says), then mlockall where permitted.
pub fn harden() -> Hardened {
    // SAFETY: prctl with PR_SET_DUMPABLE takes integer arguments only.
    let undumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0;
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `zero` is a valid rlimit that outlives the call.
    let no_core = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0;
    // SAFETY: mlockall takes flags only.
    let mlocked = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0;
    let mlock_err = std::io::Error::last_os_error();
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
    if !h.mlocked {
        log::warn!("mlockall not permitted ({mlock_err}); secrets may be swapped out");
    }
    h
}

/// Is the process currently undumpable?
pub fn is_undumpable() -> bool {
    // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 }
}
