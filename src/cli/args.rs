//! The command-line parser: each command is a static table ([`Cmd`]) of
//! its options and positionals, and one walk over argv ([`parse`]) checks
//! the words against the tables of the command path they name. The
//! grammar, as people type it: `-h`, `--help` and `help` ask for help
//! anywhere before `--`, `--opt=value` is `--opt value`, an option may be
//! given after the positionals, everything after `--` is an operand, and a
//! mistake is told in one line with the help of the subcommand it was made
//! in. Help text comes from the same tables. Each command file fills its
//! own structs from the result ([`Level`]) through a few typed getters.

use super::grammar::Dur;
use super::Fail;
use std::path::PathBuf;

/// What an argument takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--json`: present or not (counted: `-v -v`).
    Flag,
    /// `--name VALUE`, at most once.
    Opt,
    /// `--key VALUE`, exactly once.
    Req,
    /// `--principal VALUE`, any number of times.
    Many,
    /// A required positional.
    Pos,
    /// An optional positional.
    PosOpt,
    /// The remaining positionals (options may still follow).
    Rest,
    /// The remaining words, options and `--help` included.
    Greedy,
}

/// One option or positional of a command.
pub struct Arg {
    pub name: &'static str,
    /// The one-letter form (`-c`), or 0.
    pub short: u8,
    pub kind: Kind,
    pub help: &'static str,
}

impl Arg {
    fn is_pos(&self) -> bool {
        matches!(
            self.kind,
            Kind::Pos | Kind::PosOpt | Kind::Rest | Kind::Greedy
        )
    }
}

const fn arg(name: &'static str, kind: Kind, help: &'static str) -> Arg {
    Arg {
        name,
        short: 0,
        kind,
        help,
    }
}
pub const fn flag(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Flag, help)
}
pub const fn opt(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Opt, help)
}
pub const fn req(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Req, help)
}
pub const fn many(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Many, help)
}
pub const fn pos(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Pos, help)
}
pub const fn pos_opt(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::PosOpt, help)
}
pub const fn rest(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Rest, help)
}
pub const fn greedy(name: &'static str, help: &'static str) -> Arg {
    arg(name, Kind::Greedy, help)
}
/// An option this build leaves out: never matched nor listed.
#[cfg_attr(not(feature = "auth"), allow(dead_code))]
pub const OFF: Arg = flag("", "");
/// `a` if `on` (a cargo feature's option: `only(cfg!(feature = "x"), a)`),
/// else [`OFF`].
#[cfg_attr(not(feature = "auth"), allow(dead_code))]
pub const fn only(on: bool, a: Arg) -> Arg {
    if on {
        a
    } else {
        OFF
    }
}
/// `a` with the one-letter form `-c` too.
pub const fn short(c: u8, a: Arg) -> Arg {
    Arg { short: c, ..a }
}

/// A command: its options and positionals, or its subcommands (a
/// command with subcommands takes options only before the subcommand).
pub struct Cmd {
    pub name: &'static str,
    pub about: &'static str,
    pub args: &'static [Arg],
    pub subs: &'static [Cmd],
}

impl Cmd {
    /// A command this build leaves out: never matched nor listed.
    pub const OFF: Cmd = Cmd::leaf("", "", &[]);
    /// `c` if `on` (a cargo feature's command), else [`Cmd::OFF`].
    pub const fn only(on: bool, c: Cmd) -> Cmd {
        if on {
            c
        } else {
            Cmd::OFF
        }
    }
    pub const fn leaf(name: &'static str, about: &'static str, args: &'static [Arg]) -> Cmd {
        Cmd {
            name,
            about,
            args,
            subs: &[],
        }
    }
    pub const fn group(name: &'static str, about: &'static str, subs: &'static [Cmd]) -> Cmd {
        Cmd {
            name,
            about,
            args: &[],
            subs,
        }
    }
}

/// The words given to one command of the path, by argument.
pub struct Level<'a> {
    pub cmd: &'static Cmd,
    vals: Vec<Vec<&'a str>>,
}

/// Why the parse stopped short of a command to run.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Help was asked for: print it, exit 0.
    Help(String),
    /// A usage error: print it with the help command, exit 2.
    Usage(String, String),
}

/// The command path argv named (the root first) and what each took.
pub struct Parsed<'a> {
    levels: Vec<Level<'a>>,
}

impl<'a> Parsed<'a> {
    /// The root's arguments (the global options).
    pub fn root(&self) -> &Level<'a> {
        &self.levels[0]
    }
    /// The command run: the last of the path.
    pub fn leaf(&self) -> &Level<'a> {
        &self.levels[self.levels.len() - 1]
    }
    /// The name of the command `depth` words down (1: `user`, 2: `add`),
    /// or "" past the end of the path.
    pub fn sub(&self, depth: usize) -> &'static str {
        self.levels.get(depth).map_or("", |l| l.cmd.name)
    }
    /// The help command for the path: `warden user add --help`.
    pub fn help_cmd(&self) -> String {
        help_cmd(&self.levels)
    }
    /// A path a command's table names but its code does not know (a
    /// mistake in the tables).
    pub fn unknown(&self) -> Fail {
        Fail::Usage(format!("no such command ({})", self.help_cmd()))
    }
}

fn help_cmd(levels: &[Level]) -> String {
    let mut s = String::new();
    for l in levels {
        s.push_str(l.cmd.name);
        s.push(' ');
    }
    s + "--help"
}

fn usage(levels: &[Level], msg: String) -> Stop {
    Stop::Usage(msg, help_cmd(levels))
}

/// Walk `argv` (without the program name) against `root` and its
/// subcommands.
pub fn parse<'a>(root: &'static Cmd, argv: &[&'a str]) -> Result<Parsed<'a>, Stop> {
    let mut levels = vec![Level::new(root)];
    let mut operands = false;
    let mut greedy = false;
    let mut it = argv.iter().copied();
    while let Some(a) = it.next() {
        let lv = levels.len() - 1;
        let cmd = levels[lv].cmd;
        if greedy || operands || a == "-" || !a.starts_with('-') {
            if !operands && !greedy && a == "help" {
                return Err(Stop::Help(help(&levels)));
            }
            if !cmd.subs.is_empty() && !operands {
                match cmd.subs.iter().find(|s| !s.name.is_empty() && s.name == a) {
                    Some(s) => levels.push(Level::new(s)),
                    None => return Err(usage(&levels, format!("Unrecognized argument: {a}"))),
                }
                continue;
            }
            let l = &mut levels[lv];
            let filled = |i: usize, l: &Level| match l.cmd.args[i].kind {
                Kind::Pos | Kind::PosOpt => !l.vals[i].is_empty(),
                _ => false,
            };
            match (0..cmd.args.len()).find(|&i| cmd.args[i].is_pos() && !filled(i, l)) {
                Some(i) => {
                    greedy |= cmd.args[i].kind == Kind::Greedy;
                    l.vals[i].push(a);
                }
                None => return Err(usage(&levels, format!("Unrecognized argument: {a}"))),
            }
            continue;
        }
        match a {
            "--" => {
                operands = true;
                continue;
            }
            "-h" | "--help" => return Err(Stop::Help(help(&levels))),
            _ => {}
        }
        // `-vv`: a short flag repeated in one word, counted as often
        if let [b'-', c, more @ ..] = a.as_bytes() {
            if !more.is_empty() && more.iter().all(|m| m == c) {
                let flag = |x: &Arg| x.kind == Kind::Flag && x.short == *c;
                if let Some(i) = cmd.args.iter().position(flag) {
                    for _ in 0..=more.len() {
                        levels[lv].vals[i].push("");
                    }
                    continue;
                }
            }
        }
        let (word, inline) = match a.strip_prefix("--").and_then(|r| r.split_once('=')) {
            Some((n, v)) => (&a[..n.len() + 2], Some(v)),
            None => (a, None),
        };
        let found = cmd.args.iter().position(|x| {
            !x.is_pos()
                && !x.name.is_empty()
                && (word.strip_prefix("--") == Some(x.name)
                    || (x.short != 0 && word.as_bytes() == [b'-', x.short]))
        });
        let Some(i) = found else {
            return Err(usage(&levels, format!("Unrecognized argument: {word}")));
        };
        let x = &cmd.args[i];
        let v = if x.kind == Kind::Flag {
            if inline.is_some() {
                return Err(usage(
                    &levels,
                    format!("Unrecognized argument: {a} ('{word}' takes no value)"),
                ));
            }
            ""
        } else {
            match inline.or_else(|| it.next()) {
                Some(v) => v,
                None => {
                    return Err(usage(
                        &levels,
                        format!("No value provided for option '{word}'"),
                    ))
                }
            }
        };
        let l = &mut levels[lv];
        if matches!(x.kind, Kind::Opt | Kind::Req) && !l.vals[i].is_empty() {
            return Err(usage(
                &levels,
                format!(
                    "Error parsing option '{word}' with value '{v}': duplicate values provided"
                ),
            ));
        }
        l.vals[i].push(v);
    }
    let last = &levels[levels.len() - 1];
    if levels.len() > 1 && !last.cmd.subs.is_empty() {
        let mut m = String::from("One of the following subcommands must be present: help");
        for s in last.cmd.subs.iter().filter(|s| !s.name.is_empty()) {
            m.push_str(", ");
            m.push_str(s.name);
        }
        return Err(usage(&levels, m));
    }
    let mut missing = String::new();
    for (what, kinds) in [("positional arguments", Kind::Pos), ("options", Kind::Req)] {
        let mut names = Vec::new();
        for (x, v) in last.cmd.args.iter().zip(&last.vals) {
            if x.kind == kinds && v.is_empty() {
                names.push(if kinds == Kind::Req {
                    format!("--{}", x.name)
                } else {
                    x.name.to_string()
                });
            }
        }
        if !names.is_empty() {
            if !missing.is_empty() {
                missing.push_str("; ");
            }
            missing.push_str(&format!(
                "Required {what} not provided: {}",
                names.join(", ")
            ));
        }
    }
    if !missing.is_empty() {
        return Err(usage(&levels, missing));
    }
    Ok(Parsed { levels })
}

impl<'a> Level<'a> {
    fn new(cmd: &'static Cmd) -> Level<'a> {
        Level {
            cmd,
            vals: vec![Vec::new(); cmd.args.len()],
        }
    }

    /// The words given for argument `name` (none for a name not in the
    /// table).
    pub fn all(&self, name: &str) -> &[&'a str] {
        match self.cmd.args.iter().position(|a| a.name == name) {
            Some(i) => &self.vals[i],
            None => &[],
        }
    }
    pub fn flag(&self, name: &str) -> bool {
        !self.all(name).is_empty()
    }
    /// How many times a flag was given (`-v -v`).
    pub fn count(&self, name: &str) -> u8 {
        self.all(name).len().min(255) as u8
    }
    pub fn opt(&self, name: &str) -> Option<String> {
        self.all(name).first().map(|s| s.to_string())
    }
    /// A required argument (the parse checked it is there), or an
    /// optional one's default.
    pub fn string(&self, name: &str) -> String {
        self.opt(name).unwrap_or_default()
    }
    #[cfg_attr(not(feature = "auth"), allow(dead_code))]
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.opt(name).unwrap_or_else(|| default.to_string())
    }
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.all(name).iter().map(|s| s.to_string()).collect()
    }
    pub fn opt_path(&self, name: &str) -> Option<PathBuf> {
        self.all(name).first().map(PathBuf::from)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.opt_path(name).unwrap_or_default()
    }
    pub fn path_or(&self, name: &str, default: &str) -> PathBuf {
        self.opt_path(name)
            .unwrap_or_else(|| PathBuf::from(default))
    }
    pub fn paths(&self, name: &str) -> Vec<PathBuf> {
        self.all(name).iter().map(PathBuf::from).collect()
    }

    /// A usage error for `value` of argument `name`, as `why`.
    pub fn bad(&self, name: &str, value: &str, why: &str) -> Fail {
        let pos = self.cmd.args.iter().any(|a| a.name == name && a.is_pos());
        Fail::Usage(if pos {
            format!("Error parsing positional argument '{name}' with value '{value}': {why}")
        } else {
            format!("Error parsing option '--{name}' with value '{value}': {why}")
        })
    }
    /// A whole number up to `max`.
    pub fn num(&self, name: &str, max: u64) -> Result<Option<u64>, Fail> {
        let Some(&v) = self.all(name).first() else {
            return Ok(None);
        };
        match v.parse::<u64>() {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => Err(self.bad(name, v, &format!("expected a whole number up to {max}"))),
        }
    }
    pub fn u32(&self, name: &str) -> Result<Option<u32>, Fail> {
        Ok(self.num(name, u32::MAX.into())?.map(|n| n as u32))
    }
    pub fn dur(&self, name: &str) -> Result<Option<Dur>, Fail> {
        match self.all(name).first() {
            Some(&v) => Dur::parse(v).map(Some).map_err(|e| self.bad(name, v, &e)),
            None => Ok(None),
        }
    }
}

/// The help of the command path `levels` names.
fn help(levels: &[Level]) -> String {
    let cmd = levels[levels.len() - 1].cmd;
    let mut out = String::from("Usage:");
    for l in levels {
        out.push(' ');
        out.push_str(l.cmd.name);
    }
    let mut positionals = false;
    for a in cmd.args.iter().filter(|a| !a.name.is_empty()) {
        let w = if a.short != 0 {
            format!("-{}", a.short as char)
        } else {
            format!("--{}", a.name)
        };
        let u = match a.kind {
            Kind::Flag => format!("[{w}]"),
            Kind::Opt => format!("[{w} <{}>]", a.name),
            Kind::Req => format!("{w} <{}>", a.name),
            Kind::Many => format!("[{w} <{}...>]", a.name),
            _ => {
                positionals = true;
                continue;
            }
        };
        out.push(' ');
        out.push_str(&u);
    }
    if positionals {
        out.push_str(" [--]");
    }
    for a in cmd.args {
        let u = match a.kind {
            Kind::Pos => format!("<{}>", a.name),
            Kind::PosOpt => format!("[<{}>]", a.name),
            Kind::Rest | Kind::Greedy => format!("[<{}...>]", a.name),
            _ => continue,
        };
        out.push(' ');
        out.push_str(&u);
    }
    if !cmd.subs.is_empty() {
        out.push_str(if levels.len() == 1 {
            " [<command>] [<args>]"
        } else {
            " <command> [<args>]"
        });
    }
    out.push_str("\n\n");
    out.push_str(cmd.about);
    out.push('\n');
    if positionals {
        out.push_str("\nPositional Arguments:\n");
        for a in cmd.args.iter().filter(|a| a.is_pos()) {
            row(&mut out, a.name, a.help);
        }
    }
    out.push_str("\nOptions:\n");
    for a in cmd
        .args
        .iter()
        .filter(|a| !a.is_pos() && !a.name.is_empty())
    {
        let w = if a.short != 0 {
            format!("-{}, --{}", a.short as char, a.name)
        } else {
            format!("--{}", a.name)
        };
        row(&mut out, &w, a.help);
    }
    row(&mut out, "-h, --help, help", "display usage information");
    if !cmd.subs.is_empty() {
        out.push_str("\nCommands:\n");
        for s in cmd.subs.iter().filter(|s| !s.name.is_empty()) {
            row(&mut out, s.name, s.about);
        }
    }
    out
}

/// One `  name   text` row of a help list, the text wrapped at 80
/// columns from column 20.
fn row(out: &mut String, name: &str, text: &str) {
    out.push_str("  ");
    out.push_str(name);
    let mut col = 2 + name.len();
    if col > 19 {
        out.push('\n');
        col = 0;
    }
    let mut first = true;
    for w in text.split_whitespace() {
        if !first && col + 1 + w.len() > 80 {
            out.push('\n');
            col = 0;
            first = true;
        }
        if first {
            out.push_str(&" ".repeat(20 - col));
            col = 20;
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(w);
        col += w.len();
        first = false;
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: Cmd = Cmd::leaf(
        "add",
        "add an account",
        &[
            pos("name", ""),
            opt("expire", "when it expires"),
            many("principal", "repeat for more"),
            short(b'f', flag("force", "")),
        ],
    );
    const SIGN: Cmd = Cmd::leaf(
        "sign",
        "sign",
        &[req("key", "the key"), rest("files", ""), flag("json", "")],
    );
    const RUN: Cmd = Cmd::leaf("run", "run", &[pos("cmd", ""), greedy("args", "")]);
    const USER: Cmd = Cmd::group("user", "manage accounts", &[ADD, SIGN, RUN]);
    const ROOT: Cmd = Cmd {
        name: "warden",
        about: "the root",
        args: &[
            short(b'c', opt("config", "configuration file")),
            short(b'v', flag("verbose", "more")),
        ],
        subs: &[USER],
    };

    fn ok<'a>(argv: &[&'a str]) -> Parsed<'a> {
        match parse(&ROOT, argv) {
            Ok(p) => p,
            Err(e) => panic!("{argv:?}: {e:?}"),
        }
    }
    fn err(argv: &[&str]) -> (String, String) {
        match parse(&ROOT, argv) {
            Err(Stop::Usage(m, h)) => (m, h),
            Err(Stop::Help(h)) => panic!("{argv:?}: help {h}"),
            Ok(_) => panic!("{argv:?} parsed"),
        }
    }

    #[test]
    fn values_flags_and_the_path() {
        let p = ok(&[
            "-c",
            "f",
            "-v",
            "-v",
            "user",
            "add",
            "--expire=2030",
            "g",
            "-f",
            "--principal",
            "a",
            "--principal=b=c",
        ]);
        assert_eq!(p.root().opt("config").as_deref(), Some("f"));
        assert_eq!(p.root().count("verbose"), 2);
        assert_eq!(ok(&["-vv", "-v"]).root().count("verbose"), 3);
        assert!(err(&["-vx"]).0.contains("Unrecognized argument: -vx"));
        assert_eq!((p.sub(1), p.sub(2), p.sub(3)), ("user", "add", ""));
        let l = p.leaf();
        assert_eq!(l.string("name"), "g");
        assert_eq!(l.opt("expire").as_deref(), Some("2030"));
        assert_eq!(l.strings("principal"), ["a", "b=c"]);
        assert!(l.flag("force"));
        assert!(!l.flag("nonesuch"));
        assert_eq!(p.help_cmd(), "warden user add --help");
        // an empty value; a value that looks like an option
        let p = ok(&["user", "add", "--expire=", "g"]);
        assert_eq!(p.leaf().opt("expire").as_deref(), Some(""));
        let p = ok(&["user", "add", "--expire", "-1", "g"]);
        assert_eq!(p.leaf().opt("expire").as_deref(), Some("-1"));
        // after --, words are operands; rest positionals take options between them
        let p = ok(&["user", "add", "--", "-h"]);
        assert_eq!(p.leaf().string("name"), "-h");
        let p = ok(&["user", "sign", "a", "--key", "k", "b", "--", "--json", "-"]);
        assert_eq!(p.leaf().strings("files"), ["a", "b", "--json", "-"]);
        assert!(!p.leaf().flag("json"));
        // greedy takes everything after it
        let p = ok(&["user", "run", "x", "y", "--help", "-v", "help", "--"]);
        assert_eq!(
            p.leaf().strings("args"),
            ["y", "--help", "-v", "help", "--"]
        );
        // the root alone
        assert_eq!(ok(&["-v"]).sub(1), "");
    }

    #[test]
    fn mistakes_name_the_subcommand() {
        let (m, h) = err(&["user"]);
        assert_eq!(
            m,
            "One of the following subcommands must be present: help, add, sign, run"
        );
        assert_eq!(h, "warden user --help");
        assert_eq!(
            err(&["user", "sign"]).0,
            "Required options not provided: --key"
        );
        assert_eq!(
            err(&["user", "add"]),
            (
                "Required positional arguments not provided: name".into(),
                "warden user add --help".into()
            )
        );
        assert_eq!(
            err(&["user", "add", "g", "--bogus=1"]).0,
            "Unrecognized argument: --bogus"
        );
        assert_eq!(
            err(&["user", "add", "g", "h"]).0,
            "Unrecognized argument: h"
        );
        assert_eq!(
            err(&["frob"]),
            ("Unrecognized argument: frob".into(), "warden --help".into())
        );
        assert_eq!(
            err(&["user", "add", "g", "--expire"]).0,
            "No value provided for option '--expire'"
        );
        assert_eq!(
            err(&["user", "add", "g", "--expire", "1", "--expire=2"]).0,
            "Error parsing option '--expire' with value '2': duplicate values provided"
        );
        assert!(err(&["user", "add", "g", "--force=1"])
            .0
            .contains("takes no value"));
        // options of the root are not the subcommand's
        assert_eq!(
            err(&["user", "add", "g", "-c", "x"]).0,
            "Unrecognized argument: -c"
        );
    }

    #[test]
    fn help_anywhere_before_operands() {
        for argv in [
            &["user", "add", "-h"][..],
            &["user", "add", "g", "--help"],
            &["user", "add", "help"],
            &["user", "add", "--bogus", "help"],
        ] {
            match parse(&ROOT, argv) {
                Err(Stop::Help(h)) if !argv.contains(&"--bogus") => assert!(
                    h.starts_with("Usage: warden user add [--expire <expire>] [--principal <principal...>] [-f] [--] <name>\n\nadd an account\n"),
                    "{h}"
                ),
                Err(Stop::Usage(m, _)) => assert_eq!(m, "Unrecognized argument: --bogus"),
                _ => panic!("{argv:?}"),
            }
        }
        let Err(Stop::Help(h)) = parse(&ROOT, &["help"]) else {
            panic!()
        };
        assert!(h.starts_with("Usage: warden [-c <config>] [-v] [<command>] [<args>]\n"));
        assert!(
            h.contains("\n  -c, --config      configuration file\n"),
            "{h}"
        );
        assert!(
            h.contains("\nCommands:\n  user              manage accounts\n"),
            "{h}"
        );
        let Err(Stop::Help(h)) = parse(&ROOT, &["user", "--help"]) else {
            panic!()
        };
        assert!(
            h.starts_with("Usage: warden user <command> [<args>]\n"),
            "{h}"
        );
    }

    #[test]
    fn typed_values() {
        let p = ok(&["user", "add", "g", "--expire", "10s", "--principal", "7"]);
        let l = p.leaf();
        assert_eq!(
            l.dur("expire").ok().flatten(),
            Some(Dur(std::time::Duration::from_secs(10)))
        );
        assert_eq!(l.num("principal", 10).ok().flatten(), Some(7));
        let Err(Fail::Usage(m)) = l.num("principal", 6) else {
            panic!()
        };
        assert_eq!(
            m,
            "Error parsing option '--principal' with value '7': expected a whole number up to 6"
        );
        let Err(Fail::Usage(m)) = l.num("name", 6) else {
            panic!()
        };
        assert!(m.starts_with("Error parsing positional argument 'name' with value 'g'"));
        assert_eq!(l.u32("force").ok().flatten(), None);
        let p = ok(&["user", "add", "g", "--expire", "10"]);
        let Err(Fail::Usage(m)) = p.leaf().dur("expire") else {
            panic!()
        };
        assert!(m.contains("'10' needs a unit"), "{m}");
    }

    #[test]
    fn help_rows_wrap_at_80_columns() {
        let mut s = String::new();
        row(&mut s, "--a-very-long-option", &"word ".repeat(20));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "  --a-very-long-option");
        assert!(lines[1].starts_with(&format!("{}word", " ".repeat(20))));
        assert!(lines.iter().all(|l| l.len() <= 80), "{s}");
        assert_eq!(lines.len(), 3);
    }
}
