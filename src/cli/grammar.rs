//! One command-line grammar on top of argh, as people type it: `-h` is
//! `--help` everywhere, `--opt=value` is `--opt value`, and a mistake is
//! told in full (argh's lists of missing options and subcommands
//! included) with the help of the subcommand it was made in. Pure
//! functions over argv; `cli::run` applies them.

/// A duration on the command line: the configuration's syntax (`500ms`,
/// `2s`, `10m`, `24h`, `7d`, `1y`; [`crate::config::model::parse_duration`])
/// with the unit always written. A bare number is refused rather than
/// read as seconds, as the configuration does: some flags once took
/// milliseconds, and `--timeout 2000` must not quietly become half an
/// hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub std::time::Duration);

impl Dur {
    pub fn parse(s: &str) -> Result<Dur, String> {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{s}' needs a unit: 500ms, 2s, 10m, 24h, 7d or 1y"));
        }
        crate::config::model::parse_duration(s)
            .map(Dur)
            .ok_or_else(|| format!("bad duration '{s}': expected e.g. 500ms, 2s, 10m, 24h, 7d, 1y"))
    }
}

impl argh::FromArgValue for Dur {
    fn from_arg_value(v: &str) -> Result<Self, String> {
        Dur::parse(v)
    }
}

/// `--name=value` split in two, `-h` as `--help`; nothing after `--`
/// changes (there a `-h` or an `=` is an operand).
pub fn normalize(args: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut operands = false;
    for &a in args {
        if operands {
            out.push(a.to_string());
            continue;
        }
        match a {
            "--" => {
                operands = true;
                out.push(a.to_string());
            }
            "-h" => out.push("--help".into()),
            _ => match a.strip_prefix("--").and_then(|r| r.split_once('=')) {
                Some((name, value))
                    if !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
                {
                    out.push(format!("--{name}"));
                    out.push(value.to_string());
                }
                _ => out.push(a.to_string()),
            },
        }
    }
    out
}

/// argh's error text as one line: `Required options not provided:
/// --principal` for its two-line form, the list joined by commas.
pub fn one_line(err: &str) -> String {
    let mut lines = err.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return "bad arguments".into();
    };
    let first = first.trim_end_matches(['.', ':']);
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}: {}", rest.join(", "))
    }
}

/// The command path of a `Usage: warden user add <name> [--expire ...]`
/// line: `user add`.
pub fn usage_path(help: &str) -> Option<String> {
    let line = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))?;
    let words: Vec<&str> = line
        .split_whitespace()
        .skip(1)
        .take_while(|w| !w.starts_with(['<', '[', '-']))
        .collect();
    Some(words.join(" "))
}

/// The words of `args` up to the first option or operand separator: the
/// command path and its positionals (`user add glenda`). The global
/// options before the command (`-c FILE`, `-v`) are passed over.
pub fn leading_words<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = args.iter().copied();
    while let Some(a) = it.next() {
        match a {
            "-c" if out.is_empty() => {
                it.next();
            }
            "-v" if out.is_empty() => {}
            _ if a.starts_with('-') => break,
            _ => out.push(a),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_and_dash_h() {
        assert_eq!(
            normalize(&["user", "add", "--expire=2030-01-01", "x", "-h"]),
            ["user", "add", "--expire", "2030-01-01", "x", "--help"]
        );
        // an empty value, and an `=` inside the value
        assert_eq!(
            normalize(&["--out=", "--a=b=c"]),
            ["--out", "", "--a", "b=c"]
        );
        // after `--`, and attributes that merely hold `=`, stay
        assert_eq!(
            normalize(&["key", "add", "proto=pass", "--", "-h", "--x=y"]),
            ["key", "add", "proto=pass", "--", "-h", "--x=y"]
        );
        assert_eq!(normalize(&["--=x", "--Opt=1"]), ["--=x", "--Opt=1"]);
    }

    #[test]
    fn errors_in_one_line_and_the_command_path() {
        assert_eq!(
            one_line(
                "One of the following subcommands must be present:\n    help\n    add\n    del\n"
            ),
            "One of the following subcommands must be present: help, add, del"
        );
        assert_eq!(
            one_line("Unrecognized argument: --bogus\n"),
            "Unrecognized argument: --bogus"
        );
        assert_eq!(one_line(""), "bad arguments");
        assert_eq!(
            usage_path("Usage: warden user add <name> [--expire <expire>]\n\nadd an account")
                .as_deref(),
            Some("user add")
        );
        assert_eq!(
            usage_path("Usage: warden [-c <config>] <command>").as_deref(),
            Some("")
        );
        assert_eq!(usage_path("no usage here"), None);
        assert_eq!(
            leading_words(&["user", "add", "g", "--x", "y"]),
            ["user", "add", "g"]
        );
        assert_eq!(leading_words(&["-c", "f", "-v", "user", "-v"]), ["user"]);
    }
}
