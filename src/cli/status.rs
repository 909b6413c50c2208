//! `warden status`: ask the running daemon how the uplink is doing.

use super::{Fail, Globals};
use crate::uplink::ppp::hook::{self, Notice, SOCKET_NAME};
use argh::FromArgs;
use std::path::PathBuf;
use std::time::Duration;

/// show the uplink's state, modem, signal and DNS health (from the daemon)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
pub struct StatusCmd {
    /// one JSON object instead of key: value lines
    #[argh(switch)]
    json: bool,

    /// the daemon's run directory (default: the configuration's run_dir)
    #[argh(option)]
    run_dir: Option<PathBuf>,
}

impl StatusCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        let run_dir = match self.run_dir {
            Some(d) => d,
            None => g.load_config()?.main.run_dir,
        };
        let ask = |sock: &std::path::Path| {
            hook::ask(
                sock,
                &Notice::Status { json: self.json },
                Duration::from_secs(5),
            )
        };
        let sock = run_dir.join(SOCKET_NAME);
        if sock.exists() {
            print!("{}", ask(&sock)?);
            return Ok(());
        }
        // netifd runs one uplink per `proto warden` interface, each in
        // <run_dir>/<interface>/.
        let mut found = Vec::new();
        if let Ok(dir) = std::fs::read_dir(&run_dir) {
            for e in dir.flatten() {
                let s = e.path().join(SOCKET_NAME);
                if s.exists() {
                    found.push((e.file_name().to_string_lossy().into_owned(), s));
                }
            }
        }
        found.sort();
        if found.is_empty() {
            // Let ask() say what is missing.
            print!("{}", ask(&sock)?);
            return Ok(());
        }
        for (iface, s) in found {
            let answer = ask(&s)?;
            if self.json {
                print!("{answer}");
            } else {
                print!("interface: {iface}\n{answer}");
            }
        }
        Ok(())
    }
}
