//! Commands for the running uplink, over its hook socket (as `warden
//! notify`: `<run_dir>/uplink.sock`, or with `--interface` the netifd
//! interface's, `<run_dir>/<interface>/uplink.sock`):
//!
//! - `warden uplink resume`: dial again although the data quota is used
//!   up (until the next period);
//! - `warden sms list|read N|delete N|send TO TEXT...` and `warden ussd
//!   CODE`: the uplink owns the modem's AT port and carries them out
//!   there (never a second opener of the tty beside it), answering over
//!   the socket.

use super::args::{greedy, opt, pos, Cmd, Parsed};
use super::{Fail, Globals};
use crate::uplink::ppp::hook::{self, Notice};
use std::path::PathBuf;

/// the running uplink: resume (dial although the data quota is used up)
#[derive(Debug)]
pub struct UplinkCmd {
    sub: Sub,
}

#[derive(Debug)]
enum Sub {
    Resume(ResumeCmd),
}

/// dial again although the data quota is used up, until the next period
#[derive(Debug)]
struct ResumeCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,

    /// the netifd interface whose uplink to resume (its directory under
    /// the run directory); default: the daemon's own uplink
    interface: Option<String>,
}

/// The uplink's directory: `--run-dir` (or the configuration's), and
/// the interface's under it.
fn uplink_dir(
    g: &Globals,
    run_dir: Option<PathBuf>,
    interface: Option<&str>,
) -> Result<PathBuf, Fail> {
    let run_dir = match run_dir {
        Some(d) => d,
        None => g.load_config()?.main.run_dir,
    };
    Ok(match interface {
        Some(i) if i.is_empty() || i.contains('/') || i.starts_with('.') => {
            return Err(Fail::Usage(format!("'{i}' is not an interface name")))
        }
        Some(i) => run_dir.join(i),
        None => run_dir,
    })
}

/// How long the uplink may take with a modem request (a USSD answer
/// comes from the network; a long message is several sends).
const MODEM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// Ask the uplink to carry out `request` on its AT port; print the answer.
fn modem_request(dir: &std::path::Path, request: String) -> Result<(), Fail> {
    let n = Notice::Modem { request };
    if n.encode().len() > hook::MAX_NOTICE {
        return Err(Fail::Usage(format!(
            "the request is too long (at most {} bytes encoded)",
            hook::MAX_NOTICE
        )));
    }
    let answer = hook::ask(&dir.join(hook::SOCKET_NAME), &n, MODEM_TIMEOUT)?;
    match answer.strip_prefix("error: ") {
        Some(e) => Err(Fail::msg(e.trim_end().to_string())),
        None => {
            print!("{answer}");
            Ok(())
        }
    }
}

/// read, send and delete SMS through the running uplink's modem
#[derive(Debug)]
pub struct SmsCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,

    /// the netifd interface whose modem to use
    interface: Option<String>,

    /// list, read N, delete N, or send TO TEXT...
    args: Vec<String>,
}

impl SmsCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let usage = || Fail::Usage("sms: list | read N | delete N | send TO TEXT...".into());
        let a: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let request = match a.as_slice() {
            ["list"] => "sms list".to_string(),
            ["read" | "delete", n] if n.parse::<u32>().is_ok() => format!("sms {} {n}", a[0]),
            ["send", to, text @ ..] if !text.is_empty() => {
                format!("sms send {to} {}", text.join(" "))
            }
            _ => return Err(usage()),
        };
        let dir = uplink_dir(g, self.run_dir, self.interface.as_deref())?;
        modem_request(&dir, request)
    }
}

/// send a USSD code (e.g. '*100#' for a prepaid balance) through the running uplink's modem
#[derive(Debug)]
pub struct UssdCmd {
    /// the daemon's run directory (default: the configuration's run_dir)
    run_dir: Option<PathBuf>,

    /// the netifd interface whose modem to use
    interface: Option<String>,

    /// the code, e.g. *100#
    code: String,
}

impl UssdCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        if self.code.is_empty() || self.code.contains(' ') {
            return Err(Fail::Usage(format!(
                "ussd: '{}' is not a USSD code",
                self.code
            )));
        }
        let dir = uplink_dir(g, self.run_dir, self.interface.as_deref())?;
        modem_request(&dir, format!("ussd {}", self.code))
    }
}

impl UplinkCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let Sub::Resume(r) = self.sub;
        let dir = uplink_dir(g, r.run_dir, r.interface.as_deref())?;
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

// The command line (src/cli/args.rs).
pub const UPLINK: Cmd = Cmd::group(
    "uplink",
    "the running uplink: resume (dial although the data quota is used up)",
    &[RESUMECMD],
);
const RESUMECMD: Cmd = Cmd::leaf(
    "resume",
    "dial again although the data quota is used up, until the next period",
    &[
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
        opt(
            "interface",
            "the netifd interface whose uplink to resume (its directory under the run directory); \
             default: the daemon's own uplink",
        ),
    ],
);
pub const SMS: Cmd = Cmd::leaf(
    "sms",
    "read, send and delete SMS through the running uplink's modem",
    &[
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
        opt("interface", "the netifd interface whose modem to use"),
        greedy("args", "list, read N, delete N, or send TO TEXT..."),
    ],
);
pub const USSD: Cmd = Cmd::leaf(
    "ussd",
    "send a USSD code (e.g. '*100#' for a prepaid balance) through the running uplink's modem",
    &[
        opt(
            "run-dir",
            "the daemon's run directory (default: the configuration's run_dir)",
        ),
        opt("interface", "the netifd interface whose modem to use"),
        pos("code", "the code, e.g. *100#"),
    ],
);

/// The command from the words [`UPLINK`] took.
pub fn parse_uplink(p: &Parsed) -> Result<UplinkCmd, Fail> {
    let a = p.leaf();
    Ok(UplinkCmd {
        sub: match p.sub(2) {
            "resume" => Sub::Resume(ResumeCmd {
                run_dir: a.opt_path("run-dir"),
                interface: a.opt("interface"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}

/// The command from the words [`SMS`] took.
pub fn parse_sms(p: &Parsed) -> Result<SmsCmd, Fail> {
    let a = p.leaf();
    Ok(SmsCmd {
        run_dir: a.opt_path("run-dir"),
        interface: a.opt("interface"),
        args: a.strings("args"),
    })
}

/// The command from the words [`USSD`] took.
pub fn parse_ussd(p: &Parsed) -> Result<UssdCmd, Fail> {
    let a = p.leaf();
    Ok(UssdCmd {
        run_dir: a.opt_path("run-dir"),
        interface: a.opt("interface"),
        code: a.string("code"),
    })
}
