//! `warden otp`: generate and validate HOTP/TOTP codes with oathtool's
//! options and defaults:
//!
//! ```text
//! warden otp [--hotp | --totp[=SHA1|SHA256|SHA512]] [-b] [-c COUNTER]
//!            [-s STEP] [-S START] [-N NOW] [-d DIGITS] [-w WINDOW] [-v]
//!            KEY [OTP]
//! ```
//!
//! KEY is hex, `-` (read a line from stdin) or `@FILE`; `-b` takes base32.
//! Without OTP, prints WINDOW+1 codes from the counter (HOTP) or the
//! current step (TOTP). With OTP, validates it (digits default to its
//! length) and prints the distance from the counter or current step; a
//! code not in the window is an error naming the range searched. Exit
//! status as oathtool's: 0, 2 when a code to validate is not found, 1 on
//! any other error (a bad option too); no arguments print the help, as
//! oathtool does. `-V`/`--version` prints the version. oathtool's
//! options take optional values (`--totp[=MODE]`), which the command
//! tables (`args.rs`) do not, so `otp` parses its own arguments: see
//! [`is_otp_command`].

use super::{when, Fail};
use crate::auth::oath::{self, Hash};
use crate::config::model::parse_duration;
use zeroize::Zeroizing;

/// If `args` (without the program name) run `warden [globals] otp ...`,
/// the index of the word `otp`.
pub fn is_otp_command(args: &[&str]) -> Option<usize> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match *a {
            "-c" | "--config" => i += 2,
            a if a.starts_with('-') => i += 1,
            "otp" => return Some(i),
            _ => return None,
        }
    }
    None
}

#[derive(Debug, Default)]
struct Opts {
    totp: Option<Hash>,
    base32: bool,
    counter: u64,
    step: u64,
    start: u64,
    now: Option<u64>,
    digits: Option<u8>,
    window: u64,
    verbose: bool,
    pos: Vec<String>,
}

const HELP: &str = "Usage: warden otp [OPTION]... KEY [OTP]
Generate and validate OATH one-time passwords (oathtool's options).
KEY is hex, '-' to read standard input, or '@FILE'.

  --hotp                     event-based HOTP mode (default)
  --totp[=MODE]              time-based TOTP mode: SHA1 (default), SHA256, SHA512
  -b, --base32               KEY is base32, not hex
  -c, --counter=COUNTER      HOTP counter value (default 0)
  -s, --time-step-size=DUR   TOTP time step (default 30s)
  -S, --start-time=TIME      when TOTP steps start (default 1970-01-01 00:00:00 UTC)
  -N, --now=TIME             use this time as now (@EPOCH or YYYY-MM-DD HH:MM:SS UTC)
  -d, --digits=DIGITS        digits per code: 6, 7 or 8 (default 6, or OTP's length)
  -w, --window=WIDTH         additional codes to generate or validate against
  -v, --verbose              explain what is being done
  -h, --help                 print this help
  -V, --version              print the version

Exit status: 0, 2 when OTP is not found in the window, 1 on other errors.";

fn usage(m: impl Into<String>) -> Fail {
    Fail::Usage(m.into())
}

fn parse_args(args: &[&str]) -> Result<Option<Opts>, Fail> {
    let mut o = Opts {
        step: 30,
        ..Opts::default()
    };
    let mut i = 0;
    let mut only_pos = false;
    while let Some(&a) = args.get(i) {
        i += 1;
        if only_pos || a == "-" || !a.starts_with('-') {
            o.pos.push(a.to_string());
            continue;
        }
        if a == "--" {
            only_pos = true;
            continue;
        }
        // Split `--name=value`, `-xVALUE`.
        let (name, inline): (String, Option<String>) = if let Some(l) = a.strip_prefix("--") {
            match l.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (l.to_string(), None),
            }
        } else {
            let short = a.get(1..2).unwrap_or("");
            let rest = a.get(2..).filter(|r| !r.is_empty()).map(str::to_string);
            let long = match short {
                "b" => "base32",
                "c" => "counter",
                "s" => "time-step-size",
                "S" => "start-time",
                "N" => "now",
                "d" => "digits",
                "w" => "window",
                "v" => "verbose",
                "h" => "help",
                "V" => "version",
                _ => return Err(usage(format!("otp: unknown option '{a}'"))),
            };
            (long.to_string(), rest)
        };
        let takes_value = matches!(
            name.as_str(),
            "counter" | "time-step-size" | "start-time" | "now" | "digits" | "window"
        );
        let value = if takes_value {
            match inline.clone() {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("otp: option '{a}' needs a value")))?;
                    i += 1;
                    v.to_string()
                }
            }
        } else {
            String::new()
        };
        let num = |v: &str| -> Result<u64, Fail> {
            v.parse()
                .map_err(|_| usage(format!("otp: --{name}: '{v}' is not a number")))
        };
        match name.as_str() {
            "help" => {
                println!("{HELP}");
                return Ok(None);
            }
            "version" => {
                println!("warden otp (warden) {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "hotp" => o.totp = None,
            "totp" => {
                o.totp = Some(match inline.as_deref() {
                    None => Hash::Sha1,
                    Some(m) => Hash::parse(m).ok_or_else(|| {
                        usage(format!("otp: --totp={m}: expected SHA1, SHA256 or SHA512"))
                    })?,
                })
            }
            "base32" => o.base32 = true,
            "verbose" => o.verbose = true,
            "counter" => o.counter = num(&value)?,
            "window" => o.window = num(&value)?,
            "digits" => {
                let d = num(&value)?;
                o.digits = Some(
                    u8::try_from(d)
                        .ok()
                        .filter(|d| oath::valid_digits(*d))
                        .ok_or_else(|| Fail::msg("only digits 6, 7 and 8 are supported"))?,
                );
            }
            "time-step-size" => {
                o.step = parse_duration(&value)
                    .map(|d| d.as_secs())
                    .filter(|s| *s > 0)
                    .ok_or_else(|| usage(format!("otp: bad time step '{value}' (e.g. 30s, 1m)")))?
            }
            "start-time" => {
                o.start = when::parse(&value)
                    .ok_or_else(|| usage(format!("otp: bad start time '{value}'")))?
            }
            "now" => {
                o.now = Some(
                    when::parse(&value).ok_or_else(|| usage(format!("otp: bad time '{value}'")))?,
                )
            }
            _ => return Err(usage(format!("otp: unknown option '{a}'"))),
        }
        if !takes_value && inline.is_some() && name != "totp" {
            return Err(usage(format!("otp: option '--{name}' takes no value")));
        }
    }
    Ok(Some(o))
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !matches!(c, b' ' | b'=')) {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn read_key_arg(arg: &str) -> Result<Zeroizing<String>, Fail> {
    if arg == "-" {
        let mut s = Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut s)
            .map_err(|e| Fail::msg(format!("reading the key from stdin: {e}")))?;
        Ok(Zeroizing::new(s.trim().to_string()))
    } else if let Some(f) = arg.strip_prefix('@') {
        let s = Zeroizing::new(
            std::fs::read_to_string(f).map_err(|e| Fail::msg(format!("reading {f}: {e}")))?,
        );
        Ok(Zeroizing::new(s.trim().to_string()))
    } else {
        Ok(Zeroizing::new(arg.to_string()))
    }
}

/// Run `warden otp` with the words after `otp`; failures already
/// reported, with oathtool's exit status ([`Fail::Exit`]).
pub fn run(args: &[&str]) -> Result<(), Fail> {
    if args.is_empty() {
        println!("{HELP}");
        return Ok(());
    }
    match otp(args) {
        Err(Fail::Usage(m)) => {
            eprintln!("warden: {m}; try 'warden otp --help'");
            Err(Fail::Exit(1))
        }
        Err(Fail::Config(e)) => {
            eprintln!("warden: {e}");
            Err(Fail::Exit(1))
        }
        Err(Fail::Runtime(e)) => {
            eprintln!("warden: {e}");
            Err(Fail::Exit(1))
        }
        r => r,
    }
}

/// A code to validate was not in the window: oathtool's message, exit 2.
fn not_found(p: &str, from: u64, to: u64) -> Fail {
    eprintln!("warden: password \"{p}\" not found in range {from} .. {to}");
    Fail::Exit(2)
}

fn otp(args: &[&str]) -> Result<(), Fail> {
    let Some(o) = parse_args(args)? else {
        return Ok(());
    };
    let (key_arg, otp) = match o.pos.as_slice() {
        [k] => (k.as_str(), None),
        [k, p] => (k.as_str(), Some(p.as_str())),
        [] => return Err(usage("otp: missing KEY")),
        _ => return Err(usage("otp: too many arguments (KEY [OTP])")),
    };
    let text = read_key_arg(key_arg)?;
    let key = Zeroizing::new(if o.base32 {
        base32_decode(&text).ok_or_else(|| Fail::msg("base32 decoding of secret key failed"))?
    } else {
        oath::hex_decode(&text).ok_or_else(|| Fail::msg("hex decoding of secret key failed"))?
    });
    let otp = match otp {
        Some(p) => Some(read_key_arg(p)?.to_string()),
        None => None,
    };
    let digits = match (o.digits, &otp) {
        (Some(d), _) => d,
        (None, Some(p)) => u8::try_from(p.len())
            .ok()
            .filter(|d| oath::valid_digits(*d))
            .ok_or_else(|| Fail::msg("only digits 6, 7 and 8 are supported"))?,
        (None, None) => 6,
    };
    let now = o.now.unwrap_or_else(when::now);
    if o.verbose {
        eprintln!("Hex secret: {}", crate::wire::hex(&key));
        eprintln!("Digits: {digits}");
        eprintln!("Window size: {}", o.window);
        match o.totp {
            None => eprintln!("Start counter: {}", o.counter),
            Some(h) => {
                eprintln!("TOTP mode: {}", h.name());
                eprintln!("Step size (seconds): {}", o.step);
                eprintln!("Start time: {}", when::format(o.start));
                eprintln!("Current time: {}", when::format(now));
                eprintln!("Counter: {}", oath::totp_counter(now, o.start, o.step));
            }
        }
    }
    match (o.totp, otp) {
        (None, None) => {
            for c in o.counter..=o.counter.saturating_add(o.window) {
                println!(
                    "{}",
                    oath::format_otp(oath::hotp(&key, c, digits, Hash::Sha1), digits)
                );
            }
        }
        (Some(h), None) => {
            let base = oath::totp_counter(now, o.start, o.step);
            for c in base..=base.saturating_add(o.window) {
                println!(
                    "{}",
                    oath::format_otp(oath::hotp(&key, c, digits, h), digits)
                );
            }
        }
        (None, Some(p)) => {
            match oath::hotp_find(&key, o.counter, o.window, &p, digits, Hash::Sha1) {
                Some(c) => println!("{}", c - o.counter),
                None => return Err(not_found(&p, o.counter, o.counter.saturating_add(o.window))),
            }
        }
        (Some(h), Some(p)) => {
            let base = oath::totp_counter(now, o.start, o.step);
            match oath::totp_find(&key, now, o.start, o.step, o.window, &p, digits, h) {
                Some(c) => println!("{}", c.abs_diff(base)),
                None => {
                    return Err(not_found(
                        &p,
                        base.saturating_sub(o.window),
                        base.saturating_add(o.window),
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_otp_word() {
        assert_eq!(is_otp_command(&["otp", "--totp"]), Some(0));
        assert_eq!(is_otp_command(&["-c", "x.toml", "-v", "otp"]), Some(3));
        assert_eq!(is_otp_command(&["user", "otp"]), None);
        assert_eq!(is_otp_command(&["-c", "otp"]), None);
    }

    #[test]
    fn option_forms() {
        let o = parse_args(&[
            "--totp=sha256",
            "-d8",
            "-w",
            "2",
            "--now=@59",
            "-s",
            "60",
            "K",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.totp, Some(Hash::Sha256));
        assert_eq!(o.digits, Some(8));
        assert_eq!(o.window, 2);
        assert_eq!(o.now, Some(59));
        assert_eq!(o.step, 60);
        assert_eq!(o.pos, ["K"]);
        let o = parse_args(&["--totp", "-", "123456"]).unwrap().unwrap();
        assert_eq!(o.totp, Some(Hash::Sha1));
        assert_eq!(o.pos, ["-", "123456"]);
        assert!(parse_args(&["--totp=MD5", "K"]).is_err());
        assert!(parse_args(&["-x", "K"]).is_err());
        assert!(parse_args(&["-c"]).is_err());
        assert!(parse_args(&["-d", "9", "K"]).is_err());
        assert!(parse_args(&["--base32=1", "K"]).is_err());
    }

    #[test]
    fn base32() {
        assert_eq!(
            base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            b"12345678901234567890"
        );
        assert!(base32_decode("0189").is_none());
    }
}
