//! Reading a secret without echo: the one implementation behind every
//! prompt (`warden key add`'s `!password?`, keyfs passphrases, user
//! passwords). On a terminal the prompt goes to /dev/tty and the line is
//! read there with echo off (restored afterwards, also on error); with no
//! terminal on stdin the next line of stdin is taken as it is.

use std::io::{self, BufRead, Write};
use std::os::fd::AsRawFd;
use zeroize::Zeroizing;

/// Is standard input a terminal?
pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 }
}

fn chomp(line: &mut Zeroizing<Vec<u8>>) {
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
}

/// One line of stdin (the shared buffered handle, so successive calls
/// read successive lines), newline dropped; `None` at end of input.
pub fn stdin_line() -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut line = Zeroizing::new(Vec::new());
    if io::stdin().lock().read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    chomp(&mut line);
    Ok(Some(line))
}

/// Prompt on /dev/tty and read one line with echo off (restored after,
/// also on error). `None` at end of input.
pub fn read_no_echo_bytes(prompt: &str) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
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
        let mut line = Zeroizing::new(Vec::new());
        let n = io::BufReader::new(&tty).read_until(b'\n', &mut line)?;
        out.write_all(b"\n")?;
        if n == 0 {
            return Ok(None);
        }
        chomp(&mut line);
        Ok(Some(line))
    })();
    // SAFETY: restores the settings read above on the same fd.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &old) };
    r
}

/// [`read_no_echo_bytes`] for text.
pub fn read_no_echo(prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
    match read_no_echo_bytes(prompt)? {
        None => Ok(None),
        Some(b) => match std::str::from_utf8(&b) {
            Ok(s) => Ok(Some(Zeroizing::new(s.to_string()))),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the line typed is not UTF-8",
            )),
        },
    }
}

/// A secret: typed without echo when stdin is a terminal, else the next
/// line of stdin. `None` at end of input.
pub fn secret(prompt: &str) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    if stdin_is_tty() {
        read_no_echo_bytes(prompt)
    } else {
        stdin_line()
    }
}
