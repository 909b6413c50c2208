//! `warden authsrv status` and `warden authsrv capuse`: ask the running
//! ticket service on its control socket.

use super::{Fail, Globals};
use crate::auth::authsrv::service::{ask, SOCKET_NAME};
use argh::FromArgs;
use std::path::PathBuf;

/// the Plan 9 auth server (ticket service) in the daemon
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "authsrv")]
pub struct AuthsrvCmd {
    #[argh(subcommand)]
    cmd: Sub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Sub {
    Status(StatusCmd),
    Capuse(CapuseCmd),
}

/// counters: connections, tickets, refused, timeouts, errors, failures
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
struct StatusCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    #[argh(option)]
    run_dir: Option<PathBuf>,
    /// print a JSON object of the counters instead
    #[argh(switch)]
    json: bool,
}

/// The ticket service's `name: count` lines as one JSON object.
fn status_json(text: &str) -> crate::json::Value {
    let fields = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v.parse::<i64>().map_or_else(
                |_| crate::json::Value::Str(v.into()),
                crate::json::Value::Int,
            );
            (k.trim().to_string(), v)
        });
    crate::json::Value::Obj(fields.collect())
}

/// trade in a capability (user1@user2@random) once; prints the user it names
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "capuse")]
struct CapuseCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    #[argh(option)]
    run_dir: Option<PathBuf>,
    /// the capability
    #[argh(positional)]
    cap: String,
}

fn socket(g: &Globals, run_dir: Option<PathBuf>) -> Result<PathBuf, Fail> {
    Ok(match run_dir {
        Some(d) => d,
        None => g.load_config()?.main.run_dir,
    }
    .join(SOCKET_NAME))
}

fn query(sock: &std::path::Path, req: &str) -> Result<String, Fail> {
    ask(sock, req).map_err(|e| {
        Fail::msg(format!(
            "{}: {e} (is the daemon running with authsrv enabled?)",
            sock.display()
        ))
    })
}

impl AuthsrvCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        match self.cmd {
            Sub::Status(c) => {
                let a = query(&socket(g, c.run_dir)?, "status")?;
                if a.starts_with("error ") {
                    return Err(Fail::msg(a.trim_end().to_string()));
                }
                if c.json {
                    println!("{}", status_json(&a));
                } else {
                    print!("{a}");
                }
            }
            Sub::Capuse(c) => {
                if c.cap.contains(['\n', '\0']) {
                    return Err(Fail::Usage("a capability is one line".into()));
                }
                let a = query(&socket(g, c.run_dir)?, &format!("capuse {}", c.cap))?;
                match a.strip_prefix("ok ") {
                    Some(u) => print!("{u}"),
                    None => return Err(Fail::msg(a.trim_end().to_string())),
                }
            }
        }
        Ok(())
    }
}
