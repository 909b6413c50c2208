//! Naming the calling thread without musl's printf.
//!
//! The daemon names its service threads (`top -H`, `/proc/PID/task/*/comm`
//! show them). std does that from inside each new thread with
//! `pthread_setname_np(pthread_self(), name)`. musl's version formats
//! `/proc/self/task/%d/comm` with snprintf for the case of another thread,
//! and that one call links musl's whole printf (about 12 KB on mips).
//! This definition takes its place in static musl builds: the calling
//! thread is named with prctl(PR_SET_NAME), exactly as musl does it; other
//! threads, which warden never names, are refused with ENOTSUP.

/// POSIX-style: 0 or an errno value. Names longer than 15 bytes are
/// ERANGE, as in musl and glibc. Exported as `pthread_setname_np` in musl
/// builds; tests on other C libraries call it by this name.
///
/// # Safety
/// `name` is null or points to a NUL-terminated string.
#[cfg_attr(
    all(target_env = "musl", not(test)),
    export_name = "pthread_setname_np"
)]
pub unsafe extern "C" fn set_name(
    thread: libc::pthread_t,
    name: *const libc::c_char,
) -> libc::c_int {
    // SAFETY: pthread_self has no preconditions.
    if thread != unsafe { libc::pthread_self() } {
        return libc::ENOTSUP;
    }
    if name.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: `name` is NUL-terminated (the contract); strnlen reads at
    // most 16 bytes of it.
    if unsafe { libc::strnlen(name, 16) } > 15 {
        return libc::ERANGE;
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    if unsafe { libc::prctl(libc::PR_SET_NAME, name as libc::c_ulong, 0, 0, 0) } == 0 {
        0
    } else {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comm() -> String {
        std::fs::read_to_string("/proc/thread-self/comm")
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn name(t: libc::pthread_t, n: &std::ffi::CStr) -> libc::c_int {
        // SAFETY: a CStr is NUL-terminated.
        unsafe { set_name(t, n.as_ptr()) }
    }

    #[test]
    fn names_the_calling_thread_and_refuses_others() {
        std::thread::spawn(|| {
            // SAFETY: pthread_self has no preconditions.
            let me = unsafe { libc::pthread_self() };
            assert_eq!(name(me, c"warden-test"), 0);
            assert_eq!(comm(), "warden-test");
            assert_eq!(name(me, c"sixteen-bytes-xx"), libc::ERANGE);
            assert_eq!(comm(), "warden-test");
            // (pthread_t is a pointer with musl: not Send, so as a number.)
            let other = std::thread::spawn(|| unsafe { libc::pthread_self() } as usize);
            let t = other.join().unwrap() as libc::pthread_t;
            assert_eq!(name(t, c"x"), libc::ENOTSUP);
        })
        .join()
        .unwrap();
    }
}
