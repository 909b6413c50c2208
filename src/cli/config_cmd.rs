//! `warden config check|show`: validate the configuration an admin wrote.

use super::{Fail, Globals};
use argh::FromArgs;

/// check or show the configuration
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "config")]
pub struct ConfigCmd {
    #[argh(subcommand)]
    what: What,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum What {
    Check(Check),
    Show(Show),
}

/// parse the configuration file and report errors and warnings
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "check")]
struct Check {}

/// print the configuration in effect as UCI, defaults filled in (secrets
/// are not shown)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct Show {
    /// print a JSON array of {type, name, options} instead (a list option
    /// is an array of strings)
    #[argh(switch)]
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
