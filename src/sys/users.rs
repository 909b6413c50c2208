//! User names for uids (the system's passwd database through libc).

/// The login name of `uid` (getpwuid_r), or the number as text when the
/// database has no entry or cannot be read.
pub fn name_of(uid: u32) -> String {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: passwd is plain data; getpwuid_r fills `pw` with pointers
        // into `buf`, which outlives their use below.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the sizes given.
        let r =
            unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut res) };
        if r == libc::ERANGE && buf.len() < 1 << 16 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if r != 0 || res.is_null() || pw.pw_name.is_null() {
            return uid.to_string();
        }
        // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return match name.to_str() {
            Ok(s) if !s.is_empty() => s.to_string(),
            _ => uid.to_string(),
        };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_has_a_name_and_unknown_uids_are_numbers() {
        assert_eq!(super::name_of(0), "root");
        assert_eq!(super::name_of(3_999_999_999), "3999999999");
    }
}
