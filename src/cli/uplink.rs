//! `warden uplink resume`: dial again although the data quota is used up
//! (until the next period). Sent to the running uplink's hook socket, as
//! `warden notify` does: `<run_dir>/uplink.sock`, or with `--interface`
//! the netifd interface's (`<run_dir>/<interface>/uplink.sock`).

use super::{Fail, Globals};
use crate::uplink::ppp::hook::{self, Notice};
use argh::FromArgs;
use std::path::PathBuf;

/// the running uplink: resume (dial although the data quota is used up)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "uplink")]
pub struct UplinkCmd {
    #[argh(subcommand)]
    sub: Sub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Sub {
    Resume(ResumeCmd),
}

/// dial again although the data quota is used up, until the next period
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "resume")]
struct ResumeCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    #[argh(option)]
    run_dir: Option<PathBuf>,

    /// the netifd interface whose uplink to resume (its directory under
    /// the run directory); default: the daemon's own uplink
    #[argh(option)]
    interface: Option<String>,
}

impl UplinkCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let Sub::Resume(r) = self.sub;
        let run_dir = match r.run_dir {
            Some(d) => d,
            None => g.load_config()?.main.run_dir,
        };
        let dir = match &r.interface {
            Some(i) if i.is_empty() || i.contains('/') || i.starts_with('.') => {
                return Err(Fail::Usage(format!(
                    "uplink resume: '{i}' is not an interface name"
                )))
            }
            Some(i) => run_dir.join(i),
            None => run_dir,
        };
        let socket = dir.join(hook::SOCKET_NAME);
        let who = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "root".into());
        hook::send(
            &socket,
            &Notice::Resume {
                reason: format!("warden uplink resume by {who}"),
            },
        )
        .map_err(Fail::from)?;
        println!("asked the uplink at {} to resume", dir.display());
        Ok(())
    }
}
