//! `warden config check|show`: validate the configuration an admin wrote.

use super::args::{flag, Cmd, Parsed};
use super::{Fail, Globals};

/// check or show the configuration
#[derive(Debug)]
pub struct ConfigCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Check(Check),
    Show(Show),
}

/// parse the configuration file and report errors and warnings
#[derive(Debug)]
struct Check {}

/// print the configuration in effect as UCI, defaults filled in (secrets
/// are not shown)
#[derive(Debug)]
struct Show {
    /// print a JSON array of {type, name, options} instead (a list option
    /// is an array of strings)
    json: bool,
}

/// `config show --json`: the UCI text `to_uci` writes, read back by the
/// UCI reader, as JSON (so both say the same).
fn to_json(uci: &str) -> Result<crate::json::Value, Fail> {
    use crate::config::RawValue;
    use crate::json::{Obj, Value};
    let raw = crate::config::uci::parse(uci).map_err(|e| Fail::msg(format!("config show: {e}")))?;
    Ok(Value::Arr(
        raw.sections
            .into_iter()
            .map(|sec| {
                let opts = sec.options.into_iter().map(|(k, v)| {
                    let v = match v.value {
                        RawValue::Str(s) => Value::Str(s),
                        RawValue::List(l) => l.into(),
                    };
                    (k, v)
                });
                Obj::new()
                    .field("type", sec.ty)
                    .field("name", sec.name)
                    .field("options", Value::Obj(opts.collect()))
                    .into()
            })
            .collect(),
    ))
}

impl ConfigCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        let cfg = g.load_config()?;
        match self.what {
            What::Check(_) => {
                // What the daemon would say about the selection (e.g. a
                // warden-uplink build given auth services to run).
                for n in crate::daemon::plan::selection_notes(&cfg) {
                    log::warn!("{n}");
                }
                println!("{}: ok", g.config_path().display())
            }
            What::Show(s) if s.json => {
                println!("{}", to_json(&crate::config::show::to_uci(&cfg))?)
            }
            What::Show(_) => print!("{}", crate::config::show::to_uci(&cfg)),
        }
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group("config", "check or show the configuration", &[CHECK, SHOW]);
const CHECK: Cmd = Cmd::leaf(
    "check",
    "parse the configuration file and report errors and warnings",
    &[],
);
const SHOW: Cmd = Cmd::leaf(
    "show",
    "print the configuration in effect as UCI, defaults filled in (secrets are not shown)",
    &[flag(
        "json",
        "print a JSON array of {type, name, options} instead (a list option is an array of \
         strings)",
    )],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<ConfigCmd, Fail> {
    let a = p.leaf();
    Ok(ConfigCmd {
        what: match p.sub(2) {
            "check" => What::Check(Check {}),
            "show" => What::Show(Show {
                json: a.flag("json"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
