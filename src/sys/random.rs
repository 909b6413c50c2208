//! Random bytes from the kernel (getrandom(2)); the sans-IO code takes its
//! randomness as input and the edges fill it from here.

use std::io;

/// Fill `buf` with random bytes from the kernel's CSPRNG.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe the writable `rest` slice.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
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
