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
struct Show {}

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
            What::Show(_) => print!("{}", crate::config::show::to_uci(&cfg)),
        }
        Ok(())
    }
}
