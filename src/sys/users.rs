//! User names for uids.
//!
//! With musl (the router) the passwd database is the file /etc/passwd
//! (musl's only other source is nscd, which OpenWRT does not run), so warden
//! reads it itself: musl's getpwuid_r and its stdio and nscd code cost
//! about 4 KB on mips. Other C libraries may consult NSS (LDAP, systemd):
//! there warden asks getpwuid_r.

/// The login name of `uid`, or the number as text when the database has no
/// entry or cannot be read.
pub fn name_of(uid: u32) -> String {
    lookup(uid)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(target_env = "musl")]
fn lookup(uid: u32) -> Option<String> {
    let text = std::fs::read("/etc/passwd").ok()?;
    passwd_name(&String::from_utf8_lossy(&text), uid).map(String::from)
}

#[cfg(not(target_env = "musl"))]
fn lookup(uid: u32) -> Option<String> {
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
            return None;
        }
        // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return name.to_str().ok().map(String::from);
    }
}

/// The name of the first `/etc/passwd` line (`name:pw:uid:...`) whose uid
/// is `uid`, as getpwuid does.
pub fn passwd_name(text: &str, uid: u32) -> Option<&str> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let id: u32 = f.next()?.parse().ok()?;
        (id == uid && !name.is_empty() && !name.starts_with(['#', '+', '-'])).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name_and_unknown_uids_are_numbers() {
        assert_eq!(name_of(0), "root");
        assert_eq!(name_of(3_999_999_999), "3999999999");
    }

    #[test]
    fn passwd_lines() {
        let p = "root:x:0:0:root:/root:/bin/ash\n\
                 daemon:*:1:1:daemon:/var:/bin/false\n\
                 broken line\n\
                 bad:x:notanumber:0::/:/bin/false\n\
                 network:x:101:101:network:/var:/bin/false\n\
                 again:x:101:101::/:/bin/false\n";
        assert_eq!(passwd_name(p, 0), Some("root"));
        assert_eq!(passwd_name(p, 101), Some("network"));
        assert_eq!(passwd_name(p, 2), None);
        assert_eq!(passwd_name("", 0), None);
    }

    #[test]
    fn the_file_agrees_with_the_c_library_here() {
        let text = std::fs::read_to_string("/etc/passwd").unwrap();
        for uid in [0, 1, 2, 65534] {
            // SAFETY: getpwuid's result is read before any other call.
            let libc_name = unsafe {
                let p = libc::getpwuid(uid);
                (!p.is_null()).then(|| {
                    std::ffi::CStr::from_ptr((*p).pw_name)
                        .to_string_lossy()
                        .into_owned()
                })
            };
            assert_eq!(
                passwd_name(&text, uid).map(String::from),
                libc_name,
                "uid {uid}"
            );
        }
    }
}
