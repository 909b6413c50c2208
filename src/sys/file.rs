//! The one atomic file write: every file that matters (the CA's files,
//! `--out` paths, the rejected-PIN memory, the data quota, pppd's
//! secrets, secstore's stored files) is replaced through
//! [`write_atomic`], so a crash leaves either the old or the new content.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// Replace `path` with `data` (mode `mode` less the umask): a temporary
/// file beside it, fsync, rename, fsync of the directory. The temporary
/// file (`.warden.<pid>.<n>.tmp`, hidden, named for this process and
/// write, so threads never share one) is created exclusively, never
/// through a link planted there, and removed when a step fails. What is
/// at `path` is replaced, whatever it is: callers decide first (the CLI's
/// `--out` policy is `cli::output`). The directory must exist.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".warden.{}.{n}.tmp", std::process::id()));
    // Left by an earlier process with this pid, which is gone.
    let _ = std::fs::remove_file(&tmp);
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_nothing_behind() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("warden-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("f");
        write_atomic(&f, b"one", 0o600).unwrap();
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        write_atomic(&f, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        // a failed rename (a directory in the way) leaves no temporary file
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub").join("x"), b"").unwrap();
        assert!(write_atomic(&d.join("sub"), b"x", 0o600).is_err());
        let mut names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["f", "sub"]);
        // no directory: an error, nothing made
        assert!(write_atomic(&d.join("none").join("f"), b"x", 0o600).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
