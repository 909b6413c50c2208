//! `warden dns check`: is this DNS server usable?
//!
//! Prints one line per server, `SERVER ok|bogus|no-answer|refused|error
//! DETAIL`, and exits 0 only when every server is ok (1 otherwise, 2 on a
//! usage error). Placeholders such as 10.11.12.13 are reported bogus without
//! a packet being sent; see [`crate::dns::check`].

use super::args::{flag, opt, rest, Cmd, Parsed};
use super::{Fail, Globals};
use crate::dns::{self, Server, Source, Timing};
use crate::uplink::backoff::Rng;

/// check DNS servers
#[derive(Debug)]
pub struct DnsCmd {
    what: What,
}

#[derive(Debug)]
enum What {
    Check(Check),
}

/// query each SERVER[:PORT] for an A record; exit 0 only if all answer
#[derive(Debug)]
struct Check {
    /// name to look up (default: the uplink's probe_name)
    name: Option<String>,

    /// how long to wait per server, all tries included: 500ms, 2s
    /// (default: the uplink's probe_timeout)
    timeout: Option<super::grammar::Dur>,

    /// queries sent per server within the timeout (default 2)
    tries: u32,

    /// the servers came from the network: loopback and link-local
    /// addresses count as bogus too
    peer: bool,

    /// print the reason after each verdict, for logs
    why: bool,

    /// print a JSON array of {server, verdict, detail, reason} instead
    json: bool,

    /// servers: 192.0.2.1, 192.0.2.1:5353, 2001:db8::1, [2001:db8::1]:5353
    servers: Vec<String>,
}

impl DnsCmd {
    pub fn run(self, g: &Globals) -> Result<(), Fail> {
        let What::Check(c) = self.what;
        c.run(g)
    }
}

impl Check {
    fn run(self, g: &Globals) -> Result<(), Fail> {
        crate::sys::log::init(crate::sys::log::Sink::Stderr, log::LevelFilter::Warn);
        if self.servers.is_empty() {
            return Err(Fail::Usage("dns check: no server given".into()));
        }
        let source = if self.peer {
            Source::Peer
        } else {
            Source::Configured
        };
        let mut servers = Vec::new();
        for s in &self.servers {
            let addr = dns::parse_server(s).ok_or_else(|| {
                Fail::Usage(format!(
                    "dns check: '{s}' is not an address (ADDRESS or ADDRESS:PORT)"
                ))
            })?;
            servers.push(Server { addr, source });
        }
        // Defaults from the configuration only when they are needed.
        let (name, timeout) = match (self.name, self.timeout) {
            (Some(n), Some(t)) => (n, t.0),
            (n, t) => {
                let cfg = g.load_config()?;
                (
                    n.unwrap_or(cfg.uplink.probe_name),
                    t.map(|t| t.0).unwrap_or(cfg.uplink.probe_timeout),
                )
            }
        };
        if timeout.is_zero() || self.tries == 0 {
            return Err(Fail::Usage(
                "dns check: --timeout and --tries must be at least 1".into(),
            ));
        }
        let mut rng = Rng::new(crate::sys::random::seed());
        let timing = Timing {
            timeout,
            tries: self.tries,
        };
        let verdicts = dns::check_all(&servers, &name, timing, || rng.next_u16())
            .map_err(|e| Fail::Usage(format!("dns check: --name: {e}")))?;
        let mut bad = 0;
        let mut rows = Vec::new();
        for (s, h) in self.servers.iter().zip(&verdicts) {
            if self.json {
                let text = h.to_string();
                let (verdict, detail) = text.split_once(' ').unwrap_or((&text, ""));
                rows.push(crate::json::Value::from(
                    crate::json::Obj::new()
                        .field("server", s.as_str())
                        .field("verdict", verdict)
                        .field("detail", (!detail.is_empty()).then_some(detail))
                        .field("reason", h.reason()),
                ));
            } else if self.why {
                println!("{s} {h} ({})", h.reason());
            } else {
                println!("{s} {h}");
            }
            if !h.is_ok() {
                bad += 1;
            }
        }
        if self.json {
            println!("{}", crate::json::Value::Arr(rows));
        }
        if bad > 0 {
            return Err(Fail::msg(format!(
                "{bad} of {} DNS servers unhealthy",
                verdicts.len()
            )));
        }
        Ok(())
    }
}

// The command line (src/cli/args.rs).
pub const CMD: Cmd = Cmd::group("dns", "check DNS servers", &[CHECK]);
const CHECK: Cmd = Cmd::leaf(
    "check",
    "query each SERVER[:PORT] for an A record; exit 0 only if all answer",
    &[
        opt("name", "name to look up (default: the uplink's probe_name)"),
        opt(
            "timeout",
            "how long to wait per server, all tries included: 500ms, 2s (default: the uplink's \
             probe_timeout)",
        ),
        opt(
            "tries",
            "queries sent per server within the timeout (default 2)",
        ),
        flag(
            "peer",
            "the servers came from the network: loopback and link-local addresses count as bogus \
             too",
        ),
        flag("why", "print the reason after each verdict, for logs"),
        flag(
            "json",
            "print a JSON array of {server, verdict, detail, reason} instead",
        ),
        rest(
            "servers",
            "servers: 192.0.2.1, 192.0.2.1:5353, 2001:db8::1, [2001:db8::1]:5353",
        ),
    ],
);

/// The command from the words [`CMD`] took.
pub fn parse(p: &Parsed) -> Result<DnsCmd, Fail> {
    let a = p.leaf();
    Ok(DnsCmd {
        what: match p.sub(2) {
            "check" => What::Check(Check {
                name: a.opt("name"),
                timeout: a.dur("timeout")?,
                tries: a.u32("tries")?.unwrap_or(2),
                peer: a.flag("peer"),
                why: a.flag("why"),
                json: a.flag("json"),
                servers: a.strings("servers"),
            }),
            _ => return Err(p.unknown()),
        },
    })
}
