//! The few filesystem operations the store needs, behind a trait so tests
//! can inject failures (disk full, read-only) and count bytes written.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub trait Fs {
    /// Read a whole file.
    fn read(&self, p: &Path) -> io::Result<Vec<u8>>;
    /// Create or truncate `p` with mode 0600, write `data`, fsync.
    fn write_synced(&self, p: &Path, data: &[u8]) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, p: &Path) -> io::Result<()>;
    /// fsync a directory so renames in it are durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn exists(&self, p: &Path) -> bool;
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(p)
    }

    fn write_synced(&self, p: &Path, data: &[u8]) -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(p)?;
        f.write_all(data)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn remove(&self, p: &Path) -> io::Result<()> {
        std::fs::remove_file(p)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    fn exists(&self, p: &Path) -> bool {
        std::fs::symlink_metadata(p).is_ok()
    }
}

/// A filesystem wrapper that fails chosen operations and counts writes.
/// For tests and bench/.
#[derive(Debug, Default)]
pub struct FaultFs<F: Fs = RealFs> {
    pub inner: F,
    /// Mutating operations done so far (write, rename, link, remove, sync).
    pub ops: std::cell::Cell<u32>,
    /// Fail the mutating operation with this index (0-based).
    pub fail_at: std::cell::Cell<Option<u32>>,
    /// The error to fail with (an errno, e.g. ENOSPC or EROFS).
    pub errno: i32,
    /// When a failing write should first write half of the data (a torn
    /// write, as when the disk fills mid-file).
    pub torn: bool,
    /// Bytes written by write_synced so far.
    pub bytes_written: std::cell::Cell<u64>,
}

impl<F: Fs> FaultFs<F> {
    pub fn new(inner: F, errno: i32) -> Self {
        FaultFs {
            inner,
            ops: Default::default(),
            fail_at: Default::default(),
            errno,
            torn: false,
            bytes_written: Default::default(),
        }
    }

    fn step(&self) -> io::Result<()> {
        let n = self.ops.get();
        self.ops.set(n + 1);
        if self.fail_at.get() == Some(n) {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        Ok(())
    }
}

impl<F: Fs> Fs for FaultFs<F> {
    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(p)
    }

    fn write_synced(&self, p: &Path, data: &[u8]) -> io::Result<()> {
        if let Err(e) = self.step() {
            if self.torn {
                let half = data.get(..data.len() / 2).unwrap_or(&[]);
                self.inner.write_synced(p, half)?;
                self.bytes_written
                    .set(self.bytes_written.get() + half.len() as u64);
            }
            return Err(e);
        }
        self.bytes_written
            .set(self.bytes_written.get() + data.len() as u64);
        self.inner.write_synced(p, data)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.hard_link(from, to)
    }

    fn remove(&self, p: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.remove(p)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.sync_dir(dir)
    }

    fn exists(&self, p: &Path) -> bool {
        self.inner.exists(p)
    }
}
