//! Random bytes from the kernel (getrandom(2)); the sans-IO code takes its
//! randomness as input and the edges fill it from here.

use std::io;

/// Fill `buf` with random bytes from the kernel's CSPRNG (waiting, early
/// at boot, until it is seeded).
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    getrandom(buf, 0)
}

/// Fill `buf` for a secret or a challenge: a generator that fails here
/// would make it predictable, so the process stops rather than hand one
/// out (getrandom(2) fails only on a kernel without it).
pub fn fill_or_abort(buf: &mut [u8]) {
    if let Err(e) = fill(buf) {
        log::error!("getrandom: {e}");
        std::process::abort();
    }
}

/// A seed for a non-cryptographic generator (backoff jitter, DNS query
/// ids): from the kernel without waiting, else the clock and the pid.
pub fn seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom(&mut b, libc::GRND_NONBLOCK).is_ok() {
        return u64::from_ne_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

/// The one getrandom(2) loop: short reads and EINTR go round again.
fn getrandom(buf: &mut [u8], flags: libc::c_uint) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // The system call, not musl's getrandom(): std names that symbol
        // weak, LTO makes every reference weak, and a static link then
        // leaves it 0 unless some other object pulls it in (the getrandom
        // crate did): a call to address 0.
        // SAFETY: the pointer and length describe the writable `rest` slice.
        let n = unsafe { libc::syscall(libc::SYS_getrandom, rest.as_mut_ptr(), rest.len(), flags) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// An array of random bytes.
pub fn array<const N: usize>() -> io::Result<[u8; N]> {
    let mut a = [0u8; N];
    fill(&mut a)?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_and_differs() {
        let a: [u8; 32] = super::array().unwrap();
        let b: [u8; 32] = super::array().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
