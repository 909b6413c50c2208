//! `warden authsrv status` and `warden authsrv capuse`: ask the running
//! ticket service on its control socket.

use super::args::{flag, opt, pos, Cmd, Parsed};
use super::{Fail, Globals};
use crate::auth::authsrv::service::{ask, SOCKET_NAME};
use std::path::PathBuf;

/// the Plan 9 auth server (ticket service) in the daemon
#[derive(Debug)]
pub struct AuthsrvCmd {
    cmd: Sub,
}

#[derive(Debug)]
enum Sub {
    Status(StatusCmd),
    Capuse(CapuseCmd),
}

/// counters: connections, tickets, refused, timeouts, errors, failures
#[derive(Debug)]
struct StatusCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,
    /// print a JSON object of the counters instead
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
#[derive(Debug)]
struct CapuseCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,
    /// the capability
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

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group(
    "authsrv",
    "the Plan 9 auth server (ticket service) in the daemon",
    &[STATUSCMD, CAPUSECMD],
);
const STATUSCMD: Cmd = Cmd::leaf(
    "status",
    "counters: connections, tickets, refused, timeouts, errors, failures",
    &[
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
        flag("json", "print a JSON object of the counters instead"),
    ],
);
const CAPUSECMD: Cmd = Cmd::leaf(
    "capuse",
    "trade in a capability (user1@user2@random) once; prints the user it names",
    &[
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
        pos("cap", "the capability"),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<AuthsrvCmd, Fail> {
    let a = p.leaf();
    Ok(AuthsrvCmd {
        cmd: match p.sub(2) {
            "status" => Sub::Status(StatusCmd {
                run_dir: a.opt_path("run-dir"),
                json: a.flag("json"),
            }),
            "capuse" => Sub::Capuse(CapuseCmd {
                run_dir: a.opt_path("run-dir"),
                cap: a.string("cap"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
