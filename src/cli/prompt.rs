//! Reading passphrases: from the terminal with echo off, or one line from
//! standard input when it is not a terminal (scripts, `ssh router warden
//! unlock < file`).

use super::Fail;
use std::io::{BufRead, Write};
use zeroize::Zeroizing;

fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(0) == 1 }
}

/// Read one line from stdin (the shared buffered handle, so several calls
/// read successive lines). The newline is dropped.
fn read_line() -> Result<Zeroizing<Vec<u8>>, Fail> {
    let mut buf = Zeroizing::new(Vec::new());
    let n = std::io::stdin()
        .lock()
        .read_until(b'\n', &mut buf)
        .map_err(|e| Fail::msg(format!("reading standard input: {e}")))?;
    if n == 0 {
        return Err(Fail::msg("standard input ended before the passphrase"));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(buf)
}

/// Prompt on the terminal with echo off; restores the terminal even when
/// reading fails.
fn read_no_echo(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Fail> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    // SAFETY: tcgetattr/tcsetattr on stdin with a termios we own.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let have = unsafe { libc::tcgetattr(0, &mut old) } == 0;
    if have {
        let mut t = old;
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
    let r = read_line();
    if have {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &old) };
    }
    r
}

/// A secret: prompted without echo on a terminal, else the next stdin line.
pub fn secret(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let s = if stdin_is_tty() {
        read_no_echo(prompt)?
    } else {
        read_line()?
    };
    if s.is_empty() {
        return Err(Fail::msg("empty input where a secret was expected"));
    }
    Ok(s)
}

/// A new secret: on a terminal asked twice and compared; from stdin once.
pub fn new_secret(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let a = secret(prompt)?;
    if stdin_is_tty() {
        let b = secret("again: ")?;
        if !crate::auth::ct_eq(&a, &b) {
            return Err(Fail::msg("the two entries differ"));
        }
    }
    Ok(a)
}
