//! Reading passphrases for the command line (keyfs, user passwords): the
//! prompt itself is [`crate::sys::tty`]'s (no echo on a terminal, else one
//! line of standard input, for scripts and `ssh router warden unlock <
//! file`).

use super::Fail;
use crate::sys::tty;
use zeroize::Zeroizing;

/// A secret: prompted without echo on a terminal, else the next stdin line.
pub fn secret(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let s = tty::secret(prompt)
        .map_err(|e| Fail::msg(format!("reading the passphrase: {e}")))?
        .ok_or_else(|| Fail::msg("standard input ended before the passphrase"))?;
    if s.is_empty() {
        return Err(Fail::msg("empty input where a secret was expected"));
    }
    Ok(s)
}

/// A new secret: on a terminal asked twice and compared; from stdin once.
pub fn new_secret(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Fail> {
    new_secret_of(prompt, 1)
}

/// The fewest characters of an account password: Inferno's changelogin
/// asks for 8.
pub const MIN_PASSWORD: usize = 8;

/// [`new_secret`] of at least `min` characters (refused before the second
/// entry is asked for).
pub fn new_secret_of(prompt: &str, min: usize) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let a = secret(prompt)?;
    let n = String::from_utf8_lossy(&a).chars().count();
    if n < min {
        return Err(Fail::Usage(format!(
            "too short: at least {min} characters, please"
        )));
    }
    if tty::stdin_is_tty() {
        let b = secret("again: ")?;
        if !crate::auth::ct_eq(&a, &b) {
            return Err(Fail::msg("the two entries differ"));
        }
    }
    Ok(a)
}
