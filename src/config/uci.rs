//! A reader for OpenWRT's UCI configuration files, sans-IO: text in, sections
//! out. It follows openwrt/uci's `file.c` grammar:
//!
//! - statements `package NAME`, `config TYPE [NAME]`, `option NAME [VALUE]`,
//!   `list NAME VALUE`, also abbreviated `p`, `c`, `o`, `l`; `;` separates
//!   statements on one line;
//! - single quotes are literal; double quotes take backslash escapes; outside
//!   quotes a backslash escapes the next character; a backslash at the end of
//!   a line continues the statement on the next one, and quoted strings may
//!   span lines;
//! - an unquoted `#` starts a comment that runs to the end of the line;
//! - option and section names are `[A-Za-z0-9_]`, section types add `-`.
//!
//! As in libuci, a repeated `option` replaces the earlier value, `list`
//! appends, and a named section that appears twice is merged.

use super::{Located, Raw, RawSection, RawValue};
use std::fmt;

/// A syntax error, with the 1-based line where the statement starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for SyntaxError {}

/// Parse a whole UCI file.
pub fn parse(text: &str) -> Result<Raw, SyntaxError> {
    let mut raw = Raw::default();
    let mut lex = Lexer {
        s: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    // Index into raw.sections of the section that options go to.
    let mut current: Option<usize> = None;
    loop {
        let stmt_line = lex.line;
        let words = lex.statement()?;
        let Some(words) = words else { break };
        if words.is_empty() {
            continue;
        }
        let err = |msg: String| SyntaxError {
            line: stmt_line,
            msg,
        };
        let cmd = words[0].as_str();
        let args = &words[1..];
        match cmd {
            "package" | "p" => {
                let [name] = args else {
                    return Err(err("package takes exactly one name".into()));
                };
                if !valid_name(name, true) {
                    return Err(err(format!("invalid character in package name '{name}'")));
                }
                raw.package = Some(name.clone());
            }
            "config" | "c" => {
                let (ty, name) = match args {
                    [ty] => (ty, None),
                    [ty, name] => (ty, Some(name)),
                    [] => return Err(err("config without a type".into())),
                    _ => return Err(err("too many arguments to config".into())),
                };
                if !valid_type(ty) {
                    return Err(err(format!("invalid character in section type '{ty}'")));
                }
                let name = name.filter(|n| !n.is_empty());
                if let Some(n) = name {
                    if !valid_name(n, false) {
                        return Err(err(format!("invalid character in section name '{n}'")));
                    }
                }
                let existing = name.and_then(|n| {
                    raw.sections
                        .iter()
                        .position(|s| s.name.as_deref() == Some(n.as_str()))
                });
                current = Some(match existing {
                    Some(i) => {
                        raw.sections[i].ty = ty.clone();
                        i
                    }
                    None => {
                        raw.sections.push(RawSection {
                            ty: ty.clone(),
                            name: name.cloned(),
                            line: stmt_line,
                            options: Vec::new(),
                        });
                        raw.sections.len() - 1
                    }
                });
            }
            "option" | "o" | "list" | "l" => {
                let Some(sec) = current else {
                    return Err(err(
                        "option/list command found before the first section".into()
                    ));
                };
                let list = cmd.starts_with('l');
                let (name, value) = match args {
                    [name] => (name, String::new()),
                    [name, value] => (name, value.clone()),
                    [] => return Err(err(format!("{cmd} without a name"))),
                    _ => return Err(err(format!("too many arguments to {cmd}"))),
                };
                if !valid_name(name, false) {
                    return Err(err(format!("invalid character in option name '{name}'")));
                }
                let opts = &mut raw.sections[sec].options;
                let pos = opts.iter().position(|(n, _)| n == name);
                if list {
                    match pos.map(|i| &mut opts[i].1.value) {
                        Some(RawValue::List(items)) => items.push(value),
                        _ => {
                            if let Some(i) = pos {
                                opts.remove(i);
                            }
                            opts.push((
                                name.clone(),
                                Located {
                                    line: stmt_line,
                                    value: RawValue::List(vec![value]),
                                },
                            ));
                        }
                    }
                } else {
                    if let Some(i) = pos {
                        opts.remove(i);
                    }
                    opts.push((
                        name.clone(),
                        Located {
                            line: stmt_line,
                            value: RawValue::Str(value),
                        },
                    ));
                }
            }
            other => return Err(err(format!("invalid command '{other}'"))),
        }
    }
    Ok(raw)
}

fn valid_name(s: &str, package: bool) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || (package && b == b'-'))
}

fn valid_type(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Is the byte at the cursor a backslash-newline continuation?
    fn at_continuation(&self) -> bool {
        matches!(
            &self.s[self.pos..],
            [b'\\', b'\n', ..] | [b'\\', b'\r', b'\n', ..] | [b'\\']
        )
    }

    fn skip_continuation(&mut self) {
        self.bump(); // backslash
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        self.bump(); // newline (or end of input)
    }

    /// Read one statement: the words up to the end of line, `;` or a comment.
    /// Returns None at the end of the input.
    fn statement(&mut self) -> Result<Option<Vec<String>>, SyntaxError> {
        if self.pos >= self.s.len() {
            return Ok(None);
        }
        let mut words = Vec::new();
        loop {
            // Skip blanks (not newlines).
            while let Some(c) = self.peek() {
                if c == b' ' || c == b'\t' || c == b'\r' || c == 0x0b || c == 0x0c {
                    self.bump();
                } else if self.at_continuation() {
                    self.skip_continuation();
                } else {
                    break;
                }
            }
            match self.peek() {
                None => return Ok(Some(words)),
                Some(b'\n') => {
                    self.bump();
                    return Ok(Some(words));
                }
                Some(b';') => {
                    self.bump();
                    return Ok(Some(words));
                }
                Some(b'#') => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                Some(_) => words.push(self.word()?),
            }
        }
    }

    fn word(&mut self) -> Result<String, SyntaxError> {
        let mut out = Vec::new();
        let start_line = self.line;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'#' | 0x0b | 0x0c => break,
                b'\'' => {
                    self.bump();
                    loop {
                        match self.bump() {
                            Some(b'\'') => break,
                            Some(c) => out.push(c),
                            None => {
                                return Err(SyntaxError {
                                    line: start_line,
                                    msg: "unterminated ' quote".into(),
                                })
                            }
                        }
                    }
                }
                b'"' => {
                    self.bump();
                    loop {
                        if self.at_continuation() {
                            self.skip_continuation();
                            continue;
                        }
                        match self.bump() {
                            Some(b'"') => break,
                            Some(b'\\') => match self.bump() {
                                Some(c) => out.push(c),
                                None => break,
                            },
                            Some(c) => out.push(c),
                            None => {
                                return Err(SyntaxError {
                                    line: start_line,
                                    msg: "unterminated \" quote".into(),
                                })
                            }
                        }
                    }
                }
                b'\\' => {
                    if self.at_continuation() {
                        self.skip_continuation();
                    } else {
                        self.bump();
                        if let Some(c) = self.bump() {
                            out.push(c);
                        }
                    }
                }
                _ => {
                    self.bump();
                    out.push(c);
                }
            }
        }
        String::from_utf8(out).map_err(|_| SyntaxError {
            line: start_line,
            msg: "value is not valid UTF-8".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt<'a>(raw: &'a Raw, sec: usize, name: &str) -> &'a RawValue {
        &raw.sections[sec]
            .options
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .value
    }

    #[test]
    fn sections_options_lists() {
        let raw = parse(
            "package warden\n\nconfig uplink 'wan'\n\toption apn internet # comment\n\tlist fallback_dns '9.9.9.9'\n\tlist fallback_dns \"1.1.1.1\"\nconfig factotum\n",
        )
        .unwrap();
        assert_eq!(raw.package.as_deref(), Some("warden"));
        assert_eq!(raw.sections.len(), 2);
        assert_eq!(raw.sections[0].ty, "uplink");
        assert_eq!(raw.sections[0].name.as_deref(), Some("wan"));
        assert_eq!(raw.sections[0].line, 3);
        assert_eq!(opt(&raw, 0, "apn"), &RawValue::Str("internet".into()));
        assert_eq!(
            opt(&raw, 0, "fallback_dns"),
            &RawValue::List(vec!["9.9.9.9".into(), "1.1.1.1".into()])
        );
        assert_eq!(raw.sections[1].name, None);
    }

    #[test]
    fn quoting_rules() {
        let raw = parse(concat!(
            "config a\n",
            "option sq 'a \\n \"b\"'\n",
            "option dq \"x\\\"y\\\\z\"\n",
            "option cat foo'bar baz'\"!\"\n",
            "option hash 'a#b'\n",
            "option esc a\\ b\n",
            "option empty\n",
        ))
        .unwrap();
        assert_eq!(opt(&raw, 0, "sq"), &RawValue::Str("a \\n \"b\"".into()));
        assert_eq!(opt(&raw, 0, "dq"), &RawValue::Str("x\"y\\z".into()));
        assert_eq!(opt(&raw, 0, "cat"), &RawValue::Str("foobar baz!".into()));
        assert_eq!(opt(&raw, 0, "hash"), &RawValue::Str("a#b".into()));
        assert_eq!(opt(&raw, 0, "esc"), &RawValue::Str("a b".into()));
        assert_eq!(opt(&raw, 0, "empty"), &RawValue::Str("".into()));
    }

    #[test]
    fn continuation_and_multiline_quotes() {
        let raw =
            parse("config a\noption x \\\n  value\noption y 'one\ntwo'\noption z 1\n").unwrap();
        assert_eq!(opt(&raw, 0, "x"), &RawValue::Str("value".into()));
        assert_eq!(opt(&raw, 0, "y"), &RawValue::Str("one\ntwo".into()));
        // Line numbers keep counting across continued lines.
        let z = raw.sections[0].options.iter().find(|(n, _)| n == "z");
        assert_eq!(z.unwrap().1.line, 6);
    }

    #[test]
    fn semicolons_and_abbreviations() {
        let raw = parse("c a 'n'; o x 1; l y 2\n").unwrap();
        assert_eq!(raw.sections[0].name.as_deref(), Some("n"));
        assert_eq!(opt(&raw, 0, "x"), &RawValue::Str("1".into()));
        assert_eq!(opt(&raw, 0, "y"), &RawValue::List(vec!["2".into()]));
    }

    #[test]
    fn replace_and_merge() {
        let raw =
            parse("config a 'n'\noption x 1\noption x 2\nconfig b 'n'\noption y 3\n").unwrap();
        assert_eq!(raw.sections.len(), 1);
        assert_eq!(raw.sections[0].ty, "b");
        assert_eq!(opt(&raw, 0, "x"), &RawValue::Str("2".into()));
        assert_eq!(opt(&raw, 0, "y"), &RawValue::Str("3".into()));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("option x 1\n", 1, "before the first section"),
            ("config a\n\nbogus x\n", 3, "invalid command 'bogus'"),
            ("config a\noption 'bad name' 1\n", 2, "invalid character"),
            ("config a\noption x 'open\n", 2, "unterminated"),
            ("config a\noption x 1 2\n", 2, "too many"),
            ("config\n", 1, "without a type"),
            ("config a b c\n", 1, "too many"),
        ];
        for (text, line, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.msg.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix of a tricky input.
        let text = "config a 'x'\n option b \"c\\\n d\" # e\n list f 'g';o h \\";
        for i in 0..=text.len() {
            if text.is_char_boundary(i) {
                let _ = parse(&text[..i]);
            }
        }
    }
}
