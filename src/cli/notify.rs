//! `warden notify`: tell the running warden's uplink what happened.
//!
//! Used by pppd's ip-up/ip-down scripts (`ppp-up`/`ppp-down`, with pppd's
//! arguments and environment), its ipv6-up/ipv6-down scripts (`ppp6-up`,
//! `ppp6-down`: the link-local address, `LLLOCAL` or the fourth argument)
//! and the hotplug scripts (`rediscover`,
//! `reconnect`). The socket is `$WARDEN_SOCKET` (pppd passes it with `set`),
//! else `--socket`, else `<run_dir>/uplink.sock`. Exits 0 when delivered and
//! 1 when warden is not running, at once in both cases: hooks never hang.

use super::args::{greedy, opt, pos, Cmd, Parsed};
use super::{Fail, Globals};
use crate::uplink::ppp::hook::{self, Notice};
use std::path::PathBuf;

/// tell the running uplink: ppp-up|ppp-down|ppp6-up|ppp6-down [PPPD ARGS], rediscover|reconnect [REASON]
#[derive(Debug)]
pub struct NotifyCmd {
    /// the uplink socket (default $WARDEN_SOCKET, else <run_dir>/uplink.sock)
    socket: Option<PathBuf>,

    /// ppp-up, ppp-down, ppp6-up, ppp6-down, rediscover or reconnect
    kind: String,

    /// pppd's script arguments, or the reason
    args: Vec<String>,
}

impl NotifyCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let env = |k: &str| std::env::var(k).ok();
        let notice = match self.kind.as_str() {
            "ppp-up" => Notice::PppUp(hook::link_from_pppd(&self.args, env)),
            "ppp-down" => Notice::PppDown(hook::link_from_pppd(&self.args, env)),
            "ppp6-up" => Notice::Ppp6(
                env("LLLOCAL")
                    .or_else(|| self.args.get(3).cloned())
                    .and_then(|a| a.parse().ok()),
            ),
            "ppp6-down" => Notice::Ppp6(None),
            "rediscover" => Notice::Rediscover {
                reason: self.args.join(" "),
            },
            "reconnect" => Notice::Reconnect {
                reason: self.args.join(" "),
            },
            other => {
                return Err(Fail::Usage(format!(
                    "notify: unknown kind '{other}' (ppp-up, ppp-down, ppp6-up, ppp6-down, rediscover, reconnect)"
                )))
            }
        };
        let socket = match (env("WARDEN_SOCKET").filter(|s| !s.is_empty()), self.socket) {
            (_, Some(p)) => p,
            (Some(s), None) => PathBuf::from(s),
            (None, None) => g.load_config()?.main.run_dir.join(hook::SOCKET_NAME),
        };
        hook::send(&socket, &notice).map_err(Fail::from)
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::leaf(
    "notify",
    "tell the running uplink: ppp-up|ppp-down|ppp6-up|ppp6-down [PPPD ARGS], rediscover|reconnect \
     [REASON]",
    &[
        opt(
            "socket",
            "the uplink socket (default $WARDEN_SOCKET, else <run_dir>/uplink.sock)",
        ),
        pos(
            "kind",
            "ppp-up, ppp-down, ppp6-up, ppp6-down, rediscover or reconnect",
        ),
        greedy("args", "pppd's script arguments, or the reason"),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<NotifyCmd, Fail> {
    let a = p.leaf();
    Ok(NotifyCmd {
        socket: a.opt_path("socket"),
        kind: a.string("kind"),
        args: a.strings("args"),
    })
}
