//! Reading a secret from the terminal without echo.

use std::io::{self, BufRead, Write};
use std::os::fd::AsRawFd;
use zeroize::Zeroizing;

/// Prompt on /dev/tty and read one line with echo off (restored after,
/// also on error). `None` at end of input.
pub fn read_no_echo(prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open for the duration; `old` is a valid out pointer.
    if unsafe { libc::tcgetattr(fd, &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut quiet = old;
    quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
    quiet.c_lflag |= libc::ICANON;
    // SAFETY: as above, with a valid termios.
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = &tty;
    let r = (|| {
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
        let mut line = Zeroizing::new(String::new());
        let n = io::BufReader::new(&tty).read_line(&mut line)?;
        out.write_all(b"\n")?;
        if n == 0 {
            return Ok(None);
        }
        while line.ends_with(['\n', '\r']) {
            line.pop();
        }
        Ok(Some(line))
    })();
    // SAFETY: restores the settings read above on the same fd.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &old) };
    r
}
