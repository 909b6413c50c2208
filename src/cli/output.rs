//! Where a command writes a file it was named (`cert krl --out`, the KRL
//! `cert revoke` rewrites, `cert sign-user/sign-host/request --out`, `user
//! export-oath FILE`): one policy, in [`write_out`], for all of them.
//!
//! - `-` is standard output.
//! - A path that does not exist is created, and an existing regular file
//!   replaced, atomically ([`crate::sys::file::write_atomic`]: a temporary file in the
//!   same directory, fsync, rename, fsync the directory).
//! - A symbolic link is followed only to a regular file, which is replaced
//!   in its own directory; the link itself stays. A dangling link, or one
//!   to anything else, is refused: the rename would put a regular file in
//!   place of the link (`/dev/stdout` becoming a file when run as root).
//! - Anything else that exists (a device, a fifo, a socket, a directory)
//!   is refused: a rename would replace it, and writing into it is not
//!   what a file argument means (`-` is the way to a pipe).
//!
//! The commands print their status lines on standard error, so standard
//! output carries only the data.

use super::Fail;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where [`write_out`] put the data, for the status line.
pub enum Written {
    Stdout,
    File(PathBuf),
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Written::Stdout => f.write_str("standard output"),
            Written::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What kind of file `meta` says, for an error.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a fifo"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The file to replace for `path` (the path itself, or the regular file a
/// symbolic link leads to), or why not.
fn target(path: &Path) -> Result<PathBuf, Fail> {
    let refuse = |why: String| {
        Fail::msg(format!(
            "{}: {why}; give a regular file, or - for standard output",
            path.display()
        ))
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(Fail::msg(format!("{}: {e}", path.display()))),
    };
    if meta.file_type().is_file() {
        return Ok(path.to_path_buf());
    }
    if !meta.file_type().is_symlink() {
        return Err(refuse(format!("{} (not replaced)", kind(&meta))));
    }
    let to = std::fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_else(|_| "?".into());
    let real = std::fs::canonicalize(path).map_err(|e| {
        refuse(format!(
            "a symbolic link to {to}, which does not resolve to a file ({e}; not replaced)"
        ))
    })?;
    let meta =
        std::fs::metadata(&real).map_err(|e| Fail::msg(format!("{}: {e}", real.display())))?;
    if !meta.file_type().is_file() {
        return Err(refuse(format!(
            "a symbolic link to {}, {} (not replaced)",
            real.display(),
            kind(&meta)
        )));
    }
    Ok(real)
}

/// Refuse early a path [`write_out`] would refuse, before doing work
/// that cannot be undone (issuing a certificate spends its serial).
pub fn check(path: &Path) -> Result<(), Fail> {
    if path.as_os_str() != "-" {
        target(path)?;
    }
    Ok(())
}

/// Write `data` to `path` by the policy above; the file written gets
/// `mode` (less the umask).
pub fn write_out(path: &Path, data: &[u8], mode: u32) -> Result<Written, Fail> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(data)
            .and_then(|_| out.flush())
            .map_err(|e| Fail::msg(format!("write standard output: {e}")))?;
        return Ok(Written::Stdout);
    }
    let real = target(path)?;
    crate::sys::file::write_atomic(&real, data, mode)
        .map_err(|e| Fail::msg(format!("write {}: {e}", real.display())))?;
    Ok(Written::File(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warden-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn err(r: Result<Written, Fail>) -> String {
        match r {
            Err(Fail::Runtime(e)) => e.to_string(),
            Err(_) => "other failure".into(),
            Ok(w) => panic!("wrote to {w}"),
        }
    }

    #[test]
    fn regular_files_are_replaced_and_links_to_them_kept() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmp("regular");
        let f = d.join("out");
        assert!(matches!(write_out(&f, b"one", 0o600), Ok(Written::File(_))));
        assert_eq!(std::fs::read(&f).unwrap(), b"one");
        write_out(&f, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        // Through a link: the file it names changes, the link stays.
        let link = d.join("link");
        std::os::unix::fs::symlink("out", &link).unwrap();
        write_out(&link, b"three", 0o600).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&f).unwrap(), b"three");
        // No temporary file left behind.
        let mut names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["link", "out"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn special_files_and_odd_links_are_refused() {
        let d = tmp("special");
        // A device.
        let e = err(write_out(Path::new("/dev/null"), b"x", 0o644));
        assert!(e.contains("/dev/null: a character device"), "{e}");
        // A link to a device (as /dev/stdout is): the link stays a link.
        let link = d.join("stdout");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let e = err(write_out(&link, b"x", 0o644));
        assert!(e.contains("a symbolic link to /dev/null"), "{e}");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A dangling link.
        let dangling = d.join("dangling");
        std::os::unix::fs::symlink("nowhere", &dangling).unwrap();
        let e = err(write_out(&dangling, b"x", 0o644));
        assert!(e.contains("to nowhere, which does not resolve"), "{e}");
        assert!(!d.join("nowhere").exists());
        // A directory.
        let e = err(write_out(&d, b"x", 0o644));
        assert!(e.contains("a directory"), "{e}");
        // A fifo.
        let fifo = d.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = err(write_out(&fifo, b"x", 0o644));
        assert!(e.contains("fifo: a fifo"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
