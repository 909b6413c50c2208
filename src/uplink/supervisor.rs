//! The uplink supervisor: a sans-IO state machine that keeps the 3G link up.
//!
//! ```text
//!   Scanning --NeedsSwitch--> Switching --ok--> Discovering --ports--> Preparing
//!      |  \--InModemMode-----------------------/                         |
//!   NoDevice (waits for hotplug)                                  ok     v
//!                                              Up <--ip-up (DNS ok)-- Dialing
//!                                              |  bogus/dead DNS, pppd exit
//!                                              v
//!                           Hangup (kill pppd) --> redial at once or Backoff
//!   Failures climb the recovery ladder (`ladder.rs`): reset_after in a
//!   row -> Reset { cfun }, then usb_reset, port_power, gpio as each rung
//!   fails to help (each no more often than its minimum interval); after a
//!   reset, Backoff for reset_settle, then Scanning again (ports re-found).
//!   A link that came up and passed its DNS check ends the row, however
//!   short it was; only the backoff's delays wait for backoff_stable.
//!   Permanent failures (bad options, auth, PIN/PUK): Stopped until asked.
//! ```
//!
//! Inputs arrive with the time they happened ([`Supervisor::handle`]); the
//! supervisor answers with [`Action`]s for the daemon loop to carry out and
//! says when it next wants to be woken ([`Supervisor::poll_at`]). It never
//! reads a clock, touches a device or spawns a process itself, so every
//! path here is tested on a scripted timeline.

use super::backoff::Retry;
use super::ladder::{self, Ladder, LadderStatus, Rung, Step};
use core::fmt;
use core::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Why a step of the plant (switch, port discovery, reset) failed: the
/// cause is kept, in the status and the log, and its kind decides what
/// the supervisor does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantError {
    pub cause: Cause,
    /// What failed, for people.
    pub what: String,
}

/// The kinds of [`PlantError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The modem or its port went away (unplugged, vanished mid-step).
    Gone,
    /// No answer in time.
    Timeout,
    /// The configuration names something that is not there or not usable
    /// (a configured port missing): resetting the modem cannot help, so
    /// these failures do not count toward `reset_after`.
    Config,
    /// Anything else.
    Other,
}

impl PlantError {
    pub fn new(cause: Cause, what: impl Into<String>) -> PlantError {
        PlantError {
            cause,
            what: what.into(),
        }
    }

    pub fn other(what: impl Into<String>) -> PlantError {
        PlantError::new(Cause::Other, what)
    }
}

impl fmt::Display for PlantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

/// How pppd ended, as the supervisor needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Worth retrying after a delay (modem hangup, LCP echo timeout, ...).
    Transient(String),
    /// Retrying will not help until someone changes something (bad options,
    /// authentication refused, no kernel PPP support).
    Permanent(String),
}

/// Where the modem is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    pub ppp: PathBuf,
    pub at: PathBuf,
}

/// What the supervisor reports about the modem (from the AT port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModemStatus {
    pub manufacturer: String,
    pub model: String,
    pub imei: String,
    pub registration: String,
    pub operator: String,
    /// The access technology the operator is used with (+COPS?'s AcT:
    /// GSM, UMTS, HSPA, LTE...; empty when the modem does not say).
    pub mode: String,
    pub signal_dbm: Option<i32>,
    /// New messages the look that made this noticed (counted by the
    /// service into [`Status::sms_received`]).
    pub new_sms: u32,
}

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// No modem; what was looked for and why it is not there (worded for
    /// a person: logged while the supervisor waits).
    None(String),
    /// A known modem still in its CD-ROM (switch) mode.
    NeedsSwitch,
    /// A modem in modem mode.
    InModemMode,
}

/// The health of one DNS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsHealth {
    pub server: IpAddr,
    /// `ok`, `bogus`, `no-answer`, `refused` or `error ...`.
    pub verdict: String,
    pub healthy: bool,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Begin (daemon start, or an admin asking after a permanent stop).
    Start,
    /// Result of [`Action::Scan`].
    Scanned(Device),
    /// USB hotplug: a device of ours was added or removed.
    DeviceAdded,
    DeviceRemoved,
    /// Result of [`Action::Switch`].
    Switched(Result<(), PlantError>),
    /// Result of [`Action::DiscoverPorts`].
    Ports(Result<Ports, PlantError>),
    /// Result of [`Action::PrepareModem`]: Err(Exit::Permanent) for PIN/PUK
    /// or configuration problems.
    Prepared(Result<ModemStatus, Exit>),
    /// Result of [`Action::RefreshModem`].
    Modem(ModemStatus),
    /// pppd's ip-up hook: the link is up with these addresses and DNS
    /// servers. Another one from the same pppd (after an ip-down, or not)
    /// is the network renegotiating IPCP: an address change.
    LinkUp {
        local: Option<IpAddr>,
        remote: Option<IpAddr>,
        dns: Vec<IpAddr>,
    },
    /// pppd's ip-down hook (its link went down; pppd may renegotiate).
    LinkDown,
    /// pppd has exited (after [`Action::SpawnPppd`]).
    PppExited(Exit),
    /// pppd could not be started at all.
    SpawnFailed(Exit),
    /// Result of [`Action::CheckDns`].
    DnsChecked(Vec<DnsHealth>),
    /// Result of [`Action::Reset`].
    ResetDone(Result<(), PlantError>),
    /// An admin or a hotplug script asks for a fresh connection.
    Reconnect(String),
    /// The data quota is used up and its action is stop: hang up and stay
    /// down (the reason, for people).
    QuotaStop(String),
    /// The quota allows dialing again (a new period, an admin's resume).
    QuotaResume(String),
    /// The daemon is stopping.
    Shutdown,
    /// The time from [`Supervisor::poll_at`] has come.
    Tick,
}

/// Something for the daemon loop to do; each answers with an [`Input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Scan,
    Switch,
    DiscoverPorts,
    PrepareModem {
        at: PathBuf,
    },
    RefreshModem {
        at: PathBuf,
    },
    SpawnPppd {
        ppp: PathBuf,
    },
    /// Stop pppd (SIGTERM, then SIGKILL if it lingers).
    KillPppd,
    CheckDns {
        servers: Vec<IpAddr>,
    },
    /// Climb this rung of the recovery ladder (`at`: the AT port last
    /// used, which also names the modem's USB device).
    Reset {
        rung: Rung,
        at: Option<PathBuf>,
    },
    /// Write this to the log (already worded for a person).
    Log {
        level: log::Level,
        msg: String,
    },
}

/// Tunables, one place; `Default` is what the router runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunables {
    /// The recovery ladder: its rungs, `reset_after` (failures in a row
    /// before the first rung; 0: never), `escalate_after`, the rungs'
    /// minimum intervals. A link that came up healthy ends the row.
    pub ladder: ladder::Policy,
    /// pppd must bring the link up within this time.
    pub dial_timeout: Duration,
    /// How often a healthy link's DNS is probed (0: never).
    pub probe_interval: Duration,
    /// Check DNS on link-up and on probes at all.
    pub dns_check: bool,
    /// pppd has this long to exit after SIGTERM.
    pub hangup_timeout: Duration,
    /// With no device, look again this often (hotplug usually comes first;
    /// the uplink option `rescan_interval`).
    pub rescan_interval: Duration,
    /// After a modem reset, wait this long before looking for it again.
    pub reset_settle: Duration,
    /// Wait this long after the first start before touching the modem
    /// (comgt's `delay`: a modem that needs time after power-up).
    pub start_delay: Duration,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            ladder: ladder::Policy::default(),
            dial_timeout: Duration::from_secs(60),
            probe_interval: Duration::from_secs(60),
            dns_check: true,
            hangup_timeout: Duration::from_secs(10),
            rescan_interval: Duration::from_secs(60),
            reset_settle: Duration::from_secs(10),
            start_delay: Duration::ZERO,
        }
    }
}

/// What to do once pppd is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Dial again at once; not a failure (an admin asked).
    Redial,
    /// Count a failure and back off.
    Backoff,
    /// Count a failure, but redial at once if it is the first in a row
    /// (placeholder DNS does not repeat after a reconnect).
    RetryNowOnce,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// The start's `delay`, before the modem is touched.
    Waiting {
        until: Instant,
    },
    Scanning,
    NoDevice {
        rescan: Instant,
    },
    Switching,
    Discovering,
    Preparing {
        ports: Ports,
    },
    Dialing {
        ports: Ports,
        deadline: Instant,
    },
    Up {
        ports: Ports,
        since: Instant,
        next_probe: Option<Instant>,
        checking: bool,
    },
    Hangup {
        ports: Ports,
        then: After,
        deadline: Instant,
    },
    Backoff {
        until: Instant,
    },
    Resetting {
        rung: Rung,
    },
    /// The data quota is used up: down until `QuotaResume`.
    OverQuota,
    Stopped,
    Shutdown,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Waiting { .. } => "waiting",
            State::Scanning => "scanning",
            State::NoDevice { .. } => "no-device",
            State::Switching => "switching",
            State::Discovering => "discovering",
            State::Preparing { .. } => "preparing",
            State::Dialing { .. } => "dialing",
            State::Up { .. } => "up",
            State::Hangup { .. } => "hangup",
            State::Backoff { .. } => "backoff",
            State::Resetting { .. } => "resetting",
            State::OverQuota => "over-quota",
            State::Stopped => "stopped",
            State::Shutdown => "shutdown",
        }
    }
}

/// What `warden status` shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub state: &'static str,
    pub ports: Option<Ports>,
    /// When the link came up (None while down).
    pub up_since: Option<Instant>,
    /// Times the link was re-established after having been up.
    pub reconnects: u32,
    pub consecutive_failures: u32,
    pub last_reason: Option<String>,
    pub modem: ModemStatus,
    pub dns: Vec<DnsHealth>,
    /// The link's addresses, ours and the peer's, while it is up.
    pub local: Option<IpAddr>,
    pub remote: Option<IpAddr>,
    /// Mid-session changes (IPCP renegotiated by the network, a second
    /// ip-up from the same pppd): of the addresses, of the DNS servers.
    pub address_changes: u32,
    pub dns_changes: u32,
    /// The last such change: when, and what changed (for people).
    pub last_change: Option<(Instant, String)>,
    /// The recovery ladder: how often each rung was used, the last one.
    pub recovery: LadderStatus,
    /// The data quota (filled in by the service, which meters it).
    pub quota: Option<crate::uplink::quota::QuotaStatus>,
    /// New messages noticed since the start (filled in by the service).
    pub sms_received: u32,
    /// The link's IPv6 link-local address, while IPv6CP is up (filled in
    /// by the service from pppd's ipv6-up).
    pub local6: Option<IpAddr>,
}

/// What one ip-up announced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    local: Option<IpAddr>,
    remote: Option<IpAddr>,
    dns: Vec<IpAddr>,
}

/// The state machine. See the module documentation.
pub struct Supervisor {
    state: State,
    tun: Tunables,
    /// The one backoff policy and its count of failures since the last
    /// stable link (what the delays grow with).
    retry: Retry,
    /// Consecutive failures since the link last came up and passed its DNS
    /// check (or since a start). A working reconnect ends the row even if
    /// it did not last `backoff_stable`, so a modem that drops the link
    /// often but always comes back is not reset.
    failures: u32,
    /// Which recovery comes next; it counts the same failures.
    ladder: Ladder,
    /// The link has been up at least once (so a new link-up is a reconnect).
    was_up: bool,
    /// Why no modem was found, as last logged: while waiting, a rescan
    /// that finds nothing for the same reason logs nothing.
    waiting: Option<String>,
    /// The start's delay has been served (it is waited once, at the first
    /// start, as comgt's 3g.sh sleeps it once per setup).
    delayed: bool,
    /// The link the running pppd last announced (None before its first
    /// ip-up): a later ip-up from it is compared with this one.
    session: Option<Link>,
    status: Status,
}

impl Supervisor {
    pub fn new(tun: Tunables, retry: Retry) -> Self {
        Supervisor {
            state: State::Stopped,
            ladder: Ladder::new(tun.ladder.clone()),
            tun,
            retry,
            failures: 0,
            was_up: false,
            waiting: None,
            delayed: false,
            session: None,
            status: Status {
                state: "stopped",
                ..Status::default()
            },
        }
    }

    /// The current status, for `warden status`.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// When to deliver [`Input::Tick`] next, if ever.
    pub fn poll_at(&self) -> Option<Instant> {
        match &self.state {
            State::NoDevice { rescan } => Some(*rescan),
            State::Waiting { until } => Some(*until),
            State::Dialing { deadline, .. } | State::Hangup { deadline, .. } => Some(*deadline),
            State::Backoff { until } => Some(*until),
            State::Up {
                since,
                next_probe,
                checking,
                ..
            } => {
                let stable =
                    (self.retry.failures() > 0).then(|| *since + self.retry.policy().stable);
                let probe = if *checking { None } else { *next_probe };
                [stable, probe].into_iter().flatten().min()
            }
            _ => None,
        }
    }

    fn set(&mut self, s: State) {
        self.state = s;
        self.status.state = self.state.name();
        self.status.ports = match &self.state {
            State::Preparing { ports }
            | State::Dialing { ports, .. }
            | State::Up { ports, .. }
            | State::Hangup { ports, .. } => Some(ports.clone()),
            _ => self.status.ports.clone(),
        };
        if !matches!(self.state, State::Up { .. }) {
            self.status.up_since = None;
            self.status.local = None;
            self.status.remote = None;
        }
    }

    /// Feed one input; returns what to do.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        self.step(now, input, &mut out);
        out
    }

    fn step(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        use Input as I;
        match (self.state.clone(), input) {
            (State::Shutdown, _) => {}
            (State::OverQuota, I::QuotaResume(why)) => {
                self.log(out, log::Level::Info, format!("dialing again: {why}"));
                self.forget_failures();
                self.scan(out)
            }
            (State::OverQuota, I::QuotaStop(_)) => {}
            (State::OverQuota, I::Reconnect(_) | I::Start | I::DeviceAdded | I::DeviceRemoved) => {
                self.log(
                    out,
                    log::Level::Warn,
                    "the data quota is used up: staying down until the next period \
                     or `warden uplink resume`"
                        .into(),
                );
            }
            (s, I::QuotaStop(why)) => {
                if Self::pppd_running(&s) {
                    out.push(Action::KillPppd);
                }
                self.log(
                    out,
                    log::Level::Warn,
                    format!("{why}: hanging up until the next period or `warden uplink resume`"),
                );
                self.status.last_reason = Some(why);
                self.set(State::OverQuota);
            }
            (s, I::Shutdown) => {
                if Self::pppd_running(&s) {
                    out.push(Action::KillPppd);
                }
                self.set(State::Shutdown);
            }
            (State::Stopped, I::Start) if !self.delayed && !self.tun.start_delay.is_zero() => {
                self.delayed = true;
                let why = format!(
                    "waiting {}s before touching the modem (delay)",
                    round_secs(self.tun.start_delay)
                );
                self.log(out, log::Level::Info, why.clone());
                self.status.last_reason = Some(why);
                self.set(State::Waiting {
                    until: now + self.tun.start_delay,
                });
            }
            (State::Waiting { until }, I::Tick) if now >= until => self.scan(out),
            (State::Waiting { .. }, I::Reconnect(_)) => self.scan(out),
            (State::Stopped | State::NoDevice { .. }, I::Start) => {
                self.delayed = true;
                self.forget_failures();
                self.scan(out)
            }
            // A device plugged in starts a fresh backoff, but the ladder
            // keeps its place: a USB reset or a power cycle re-enumerates
            // the modem, and if it is still wedged the next rung must
            // follow, not cfun again.
            (State::Stopped | State::NoDevice { .. }, I::DeviceAdded) => {
                self.delayed = true;
                self.retry.reset();
                self.failures = 0;
                self.status.consecutive_failures = 0;
                self.scan(out)
            }
            (State::Stopped, I::Reconnect(why)) => {
                self.log(out, log::Level::Info, format!("restarting: {why}"));
                self.forget_failures();
                self.scan(out)
            }
            (State::Backoff { .. }, I::DeviceAdded) => self.scan(out),
            (s, I::DeviceRemoved) => {
                self.status.last_reason = Some("modem removed".into());
                self.log(out, log::Level::Warn, "modem removed".into());
                if Self::pppd_running(&s) {
                    out.push(Action::KillPppd);
                }
                self.set(State::NoDevice {
                    rescan: now + self.tun.rescan_interval,
                });
            }
            (State::NoDevice { .. }, I::Tick) => self.scan(out),
            (State::Scanning, I::Scanned(dev)) => match dev {
                Device::None(why) => {
                    if self.waiting.as_ref() != Some(&why) {
                        let every = round_secs(self.tun.rescan_interval);
                        self.log(
                            out,
                            log::Level::Info,
                            format!(
                                "waiting for a modem: {why}; looking again every {every}s, \
                                 or at once on a hotplug notice"
                            ),
                        );
                    }
                    self.status.last_reason = Some(format!("no modem: {why}"));
                    self.waiting = Some(why);
                    self.set(State::NoDevice {
                        rescan: now + self.tun.rescan_interval,
                    })
                }
                Device::NeedsSwitch => {
                    self.waiting = None;
                    self.set(State::Switching);
                    out.push(Action::Switch);
                }
                Device::InModemMode => {
                    self.waiting = None;
                    self.set(State::Discovering);
                    out.push(Action::DiscoverPorts);
                }
            },
            (State::Switching, I::Switched(r)) => match r {
                Ok(()) => {
                    self.set(State::Discovering);
                    out.push(Action::DiscoverPorts);
                }
                Err(e) => self.plant_failed(now, format!("mode switch failed: {e}"), e.cause, out),
            },
            (State::Discovering, I::Ports(r)) => match r {
                Ok(ports) => {
                    out.push(Action::PrepareModem {
                        at: ports.at.clone(),
                    });
                    self.set(State::Preparing { ports });
                }
                Err(e) => self.plant_failed(now, format!("no modem ports: {e}"), e.cause, out),
            },
            (State::Preparing { ports }, I::Prepared(r)) => match r {
                Ok(m) => {
                    self.status.modem = m;
                    self.session = None;
                    out.push(Action::SpawnPppd {
                        ppp: ports.ppp.clone(),
                    });
                    self.set(State::Dialing {
                        ports,
                        deadline: now + self.tun.dial_timeout,
                    });
                }
                Err(Exit::Permanent(e)) => self.stop(format!("modem: {e}"), out),
                Err(Exit::Transient(e)) => self.fail(now, format!("modem: {e}"), out),
            },
            (State::Dialing { .. } | State::Up { .. }, I::SpawnFailed(e))
            | (State::Dialing { .. } | State::Up { .. }, I::PppExited(e)) => match e {
                Exit::Permanent(why) => self.stop(format!("pppd: {why}"), out),
                Exit::Transient(why) => self.fail(now, format!("pppd: {why}"), out),
            },
            (State::Dialing { deadline, ports }, I::Tick) if now >= deadline => {
                let why = format!(
                    "no link within {}s of dialing",
                    self.tun.dial_timeout.as_secs()
                );
                self.hangup(now, ports, why, After::Backoff, out);
            }
            (State::Dialing { ports, .. }, I::LinkUp { local, remote, dns }) => {
                self.link_up(now, ports, None, Link { local, remote, dns }, out)
            }
            (State::Up { ports, since, .. }, I::LinkUp { local, remote, dns }) => {
                self.link_up(now, ports, Some(since), Link { local, remote, dns }, out)
            }
            // A check of servers the link no longer has (they changed
            // while it ran): its verdicts are not the link's.
            (State::Up { checking: true, .. }, I::DnsChecked(results))
                if self.session.as_ref().is_some_and(|l| {
                    !l.dns.iter().copied().eq(results.iter().map(|r| r.server))
                }) => {}
            (
                State::Up {
                    ports,
                    since,
                    checking: true,
                    ..
                },
                I::DnsChecked(results),
            ) => {
                let bad: Vec<String> = results
                    .iter()
                    .filter(|r| !r.healthy)
                    .map(|r| format!("{} {}", r.server, r.verdict))
                    .collect();
                let none_ok = results.iter().all(|r| !r.healthy);
                if results != self.status.dns {
                    let now_dns: Vec<String> = results
                        .iter()
                        .map(|r| format!("{} {}", r.server, r.verdict))
                        .collect();
                    self.log(
                        out,
                        log::Level::Info,
                        format!("DNS: {}", now_dns.join(", ")),
                    );
                }
                self.status.dns = results;
                if none_ok {
                    let why = if bad.is_empty() {
                        "no DNS servers from the network".to_string()
                    } else {
                        format!("broken DNS: {}", bad.join(", "))
                    };
                    self.hangup(now, ports, why, After::RetryNowOnce, out);
                } else {
                    if !bad.is_empty() {
                        self.log(
                            out,
                            log::Level::Warn,
                            format!("some DNS servers are broken: {}", bad.join(", ")),
                        );
                    }
                    // Idempotent: the stable period runs from link-up.
                    self.retry.up(since);
                    self.recovered();
                    let next_probe = self.next_probe(now);
                    self.set(State::Up {
                        ports,
                        since,
                        next_probe,
                        checking: false,
                    });
                    self.status.up_since = Some(since);
                }
            }
            (
                State::Up {
                    ports,
                    since,
                    next_probe,
                    checking,
                },
                I::Tick,
            ) => {
                if self.retry.failures() > 0 && self.retry.is_stable(now) {
                    self.retry.reset();
                }
                if !checking && next_probe.is_some_and(|p| now >= p) {
                    let servers: Vec<IpAddr> = self.status.dns.iter().map(|d| d.server).collect();
                    out.push(Action::CheckDns { servers });
                    out.push(Action::RefreshModem {
                        at: ports.at.clone(),
                    });
                    self.set(State::Up {
                        ports,
                        since,
                        next_probe: None,
                        checking: true,
                    });
                    self.status.up_since = Some(since);
                }
            }
            (State::Up { .. } | State::Dialing { .. }, I::Modem(m))
            | (State::Hangup { .. }, I::Modem(m)) => self.status.modem = m,
            (State::Up { ports, .. }, I::LinkDown) => {
                self.log(
                    out,
                    log::Level::Warn,
                    "link down; waiting for pppd to renegotiate or exit".into(),
                );
                self.set(State::Dialing {
                    ports,
                    deadline: now + self.tun.dial_timeout,
                });
            }
            (State::Up { ports, .. } | State::Dialing { ports, .. }, I::Reconnect(why)) => {
                self.hangup(now, ports, why, After::Redial, out);
            }
            (State::Hangup { then, .. }, I::PppExited(_)) => self.after_hangup(now, then, out),
            (State::Hangup { then, deadline, .. }, I::Tick) if now >= deadline => {
                self.log(
                    out,
                    log::Level::Warn,
                    "pppd did not exit after SIGTERM; killed".into(),
                );
                self.after_hangup(now, then, out);
            }
            (State::Backoff { until }, I::Tick) if now >= until => self.scan(out),
            (State::Backoff { .. } | State::NoDevice { .. }, I::Reconnect(_)) => self.scan(out),
            (State::Resetting { rung }, I::ResetDone(r)) => {
                match r {
                    Err(e) => {
                        self.log(
                            out,
                            log::Level::Warn,
                            format!("recovery {rung} failed: {e}"),
                        );
                        self.status.last_reason = Some(format!("recovery {rung} failed: {e}"));
                    }
                    Ok(()) => self.log(out, log::Level::Info, format!("recovery {rung} done")),
                }
                // A restarted modem is a fresh one: its redials start over
                // from the shortest delay (and a first-attach fault such as
                // placeholder DNS is redialed at once). The rungs' minimum
                // intervals, not the backoff, keep resets apart.
                self.retry.reset();
                // Give the modem time to come back before looking for it.
                self.set(State::Backoff {
                    until: now + self.tun.reset_settle,
                });
            }
            // Everything else is stale (a result for a state we have left)
            // or irrelevant; ignore it.
            _ => {}
        }
    }

    /// An ip-up: the first of this pppd's (a link up), or a later one
    /// (the network renegotiated: compared with the last, counted and
    /// logged when something changed). Either way the DNS check runs on
    /// the servers just announced; `since`: the link was up and stays up.
    fn link_up(
        &mut self,
        now: Instant,
        ports: Ports,
        since: Option<Instant>,
        link: Link,
        out: &mut Vec<Action>,
    ) {
        match self.session.replace(link.clone()) {
            Some(prev) => {
                let addr = prev.local != link.local || prev.remote != link.remote;
                let dns = prev.dns != link.dns;
                if !addr && !dns && since.is_some() {
                    // The same ip-up again: nothing is new.
                    return;
                }
                let mut what = Vec::new();
                if addr {
                    self.status.address_changes = self.status.address_changes.saturating_add(1);
                    what.push(format!(
                        "address {} -> {}",
                        pair(prev.local, prev.remote),
                        pair(link.local, link.remote)
                    ));
                }
                if dns {
                    self.status.dns_changes = self.status.dns_changes.saturating_add(1);
                    what.push(format!("DNS {} -> {}", list(&prev.dns), list(&link.dns)));
                }
                if what.is_empty() {
                    self.log(
                        out,
                        log::Level::Info,
                        format!(
                            "link up again, renegotiated, unchanged: {}",
                            pair(link.local, link.remote)
                        ),
                    );
                } else {
                    let what = what.join("; ");
                    self.log(
                        out,
                        log::Level::Warn,
                        format!("the network changed the link: {what}"),
                    );
                    self.status.last_change = Some((now, what));
                }
            }
            None => {
                if self.was_up {
                    self.status.reconnects += 1;
                }
                self.log(
                    out,
                    log::Level::Info,
                    format!(
                        "link up, address {}, DNS {}",
                        pair(link.local, link.remote),
                        list(&link.dns)
                    ),
                );
            }
        }
        self.was_up = true;
        let since = since.unwrap_or(now);
        self.status.dns = link
            .dns
            .iter()
            .map(|&server| DnsHealth {
                server,
                verdict: "unchecked".into(),
                healthy: false,
            })
            .collect();
        let checking = self.tun.dns_check;
        if checking {
            out.push(Action::CheckDns {
                servers: link.dns.clone(),
            });
        } else {
            self.retry.up(since);
            self.recovered();
        }
        self.set(State::Up {
            ports: ports.clone(),
            since,
            next_probe: (!checking).then(|| self.next_probe(now)).flatten(),
            checking,
        });
        self.status.up_since = Some(since);
        self.status.local = link.local;
        self.status.remote = link.remote;
        out.push(Action::RefreshModem { at: ports.at });
    }

    fn pppd_running(s: &State) -> bool {
        matches!(
            s,
            State::Dialing { .. } | State::Up { .. } | State::Hangup { .. }
        )
    }

    fn next_probe(&self, now: Instant) -> Option<Instant> {
        (self.tun.dns_check && !self.tun.probe_interval.is_zero())
            .then(|| now + self.tun.probe_interval)
    }

    fn log(&mut self, out: &mut Vec<Action>, level: log::Level, msg: String) {
        out.push(Action::Log { level, msg });
    }

    fn scan(&mut self, out: &mut Vec<Action>) {
        self.set(State::Scanning);
        out.push(Action::Scan);
    }

    fn hangup(
        &mut self,
        now: Instant,
        ports: Ports,
        why: String,
        then: After,
        out: &mut Vec<Action>,
    ) {
        self.log(out, log::Level::Warn, format!("reconnecting: {why}"));
        self.status.last_reason = Some(why);
        out.push(Action::KillPppd);
        self.set(State::Hangup {
            ports,
            then,
            deadline: now + self.tun.hangup_timeout,
        });
    }

    fn after_hangup(&mut self, now: Instant, then: After, out: &mut Vec<Action>) {
        match then {
            After::Redial => self.scan(out),
            After::Backoff => self.fail(now, String::new(), out),
            After::RetryNowOnce => {
                let delay = self.retry.failed_retry_now_once(now);
                self.after_failure(now, String::new(), delay, out)
            }
        }
    }

    /// A transient failure: count it, then back off (or reset the modem).
    fn fail(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
        let delay = self.retry.failed(now);
        self.after_failure(now, why, delay, out)
    }

    /// A plant step failed: a configuration problem backs off like any
    /// failure but never leads to a modem reset (it cannot fix it).
    fn plant_failed(&mut self, now: Instant, why: String, cause: Cause, out: &mut Vec<Action>) {
        if cause != Cause::Config {
            return self.fail(now, why, out);
        }
        let delay = self.retry.failed(now);
        self.log(out, log::Level::Warn, why.clone());
        self.status.last_reason = Some(why);
        self.log(
            out,
            log::Level::Info,
            format!(
                "retrying in {}s (a configuration problem: no modem reset)",
                round_secs(delay)
            ),
        );
        self.set(State::Backoff { until: now + delay });
    }

    /// A failure already counted by `retry`, with the delay it gave.
    fn after_failure(&mut self, now: Instant, why: String, delay: Duration, out: &mut Vec<Action>) {
        self.failures = self.failures.saturating_add(1);
        let n = self.failures;
        self.status.consecutive_failures = n;
        if !why.is_empty() {
            self.log(out, log::Level::Warn, why.clone());
            self.status.last_reason = Some(why);
        }
        let last = self.status.last_reason.clone().unwrap_or_default();
        let step = self.ladder.failed(now, &last);
        self.status.recovery = self.ladder.status().clone();
        match step {
            Step::Climb(rung) => return self.reset(rung, out),
            Step::Held { rung, left } => self.log(
                out,
                log::Level::Info,
                format!(
                    "recovery {rung} is due but rests {}s more (its minimum interval); redialing meanwhile",
                    round_secs(left)
                ),
            ),
            Step::Redial => {}
        }
        if delay.is_zero() {
            self.log(out, log::Level::Info, "redialing at once".into());
            self.scan(out);
            return;
        }
        self.log(
            out,
            log::Level::Info,
            format!("retrying in {}s (failure {n} in a row)", round_secs(delay)),
        );
        self.set(State::Backoff { until: now + delay });
    }

    /// The link came up and passed its DNS check: the row of failures
    /// ends (the backoff keeps its count until the link is stable).
    fn recovered(&mut self) {
        self.ladder.recovered();
        self.failures = 0;
        self.status.consecutive_failures = 0;
    }

    /// Start over: no failures, no backoff, the ladder at the bottom (a
    /// start, an admin's restart).
    fn forget_failures(&mut self) {
        self.retry.reset();
        self.ladder.recovered();
        self.failures = 0;
        self.status.consecutive_failures = 0;
    }

    /// Climb `rung`: logged with its reason, counted (already, by the
    /// ladder), carried out by the plant.
    fn reset(&mut self, rung: Rung, out: &mut Vec<Action>) {
        let at = self.status.ports.as_ref().map(|p| p.at.clone());
        let why = self.ladder.last_why().unwrap_or_default().to_string();
        self.log(out, log::Level::Warn, format!("recovery {rung}: {why}"));
        out.push(Action::Reset { rung, at });
        self.set(State::Resetting { rung });
    }

    /// A permanent failure: stop until an admin asks again.
    fn stop(&mut self, why: String, out: &mut Vec<Action>) {
        self.log(
            out,
            log::Level::Error,
            format!(
                "{why}; not retrying until asked (warden notify reconnect, or a config reload)"
            ),
        );
        self.status.last_reason = Some(why);
        self.set(State::Stopped);
    }
}

/// `10.64.1.2 peer 10.64.64.64`; `none` for an unknown one.
fn pair(local: Option<IpAddr>, remote: Option<IpAddr>) -> String {
    let one = |a: Option<IpAddr>| a.map_or("none".to_string(), |a| a.to_string());
    match remote {
        Some(_) => format!("{} peer {}", one(local), one(remote)),
        None => one(local),
    }
}

fn list(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        return "none".into();
    }
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `d` in whole seconds, rounded half up (as `(ms + 500) / 1000`, without
/// a u128 division: the compiler's 128-bit division routine is 2 KB on mips).
fn round_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_millis() >= 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::uplink::backoff::{Backoff, Rng};

    /// Delays of 1, 2, 4, ... seconds, no jitter.
    fn retry() -> Retry {
        Retry::new(
            Backoff {
                initial: Duration::from_secs(1),
                jitter_percent: 0,
                ..Backoff::default()
            },
            Rng::new(1),
        )
    }

    fn ports() -> Ports {
        Ports {
            ppp: "/dev/ttyUSB0".into(),
            at: "/dev/ttyUSB2".into(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ok(s: &str) -> DnsHealth {
        DnsHealth {
            server: ip(s),
            verdict: "ok".into(),
            healthy: true,
        }
    }

    fn bogus(s: &str) -> DnsHealth {
        DnsHealth {
            server: ip(s),
            verdict: "bogus".into(),
            healthy: false,
        }
    }

    /// Drop the log lines, keep what must be done.
    fn acts(v: Vec<Action>) -> Vec<Action> {
        v.into_iter()
            .filter(|a| !matches!(a, Action::Log { .. }))
            .collect()
    }

    /// The default ladder, its first rung after `n` failures in a row.
    fn reset_after(n: u32) -> Tunables {
        Tunables {
            ladder: ladder::Policy {
                first_after: n,
                ..ladder::Policy::default()
            },
            ..Tunables::default()
        }
    }

    struct Run {
        s: Supervisor,
        t0: Instant,
    }

    impl Run {
        fn new(tun: Tunables) -> Run {
            Run {
                s: Supervisor::new(tun, retry()),
                t0: Instant::now(),
            }
        }
        fn at(&mut self, secs: u64, i: Input) -> Vec<Action> {
            acts(self.s.handle(self.t0 + Duration::from_secs(secs), i))
        }
        /// Plug to link-up, returning the actions of link-up.
        fn plug_to_link_up(&mut self, t: u64, dns: &[&str]) -> Vec<Action> {
            assert_eq!(self.at(t, Input::Start), [Action::Scan]);
            assert_eq!(
                self.at(t, Input::Scanned(Device::NeedsSwitch)),
                [Action::Switch]
            );
            assert_eq!(self.at(t, Input::Switched(Ok(()))), [Action::DiscoverPorts]);
            assert_eq!(
                self.at(t, Input::Ports(Ok(ports()))),
                [Action::PrepareModem { at: ports().at }]
            );
            assert_eq!(
                self.at(t, Input::Prepared(Ok(ModemStatus::default()))),
                [Action::SpawnPppd { ppp: ports().ppp }]
            );
            self.at(
                t,
                Input::LinkUp {
                    local: None,
                    remote: None,
                    dns: dns.iter().map(|d| ip(d)).collect(),
                },
            )
        }
    }

    #[test]
    fn plug_to_healthy_link() {
        let mut r = Run::new(Tunables::default());
        let a = r.plug_to_link_up(0, &["192.0.2.53"]);
        assert_eq!(
            a,
            [
                Action::CheckDns {
                    servers: vec![ip("192.0.2.53")]
                },
                Action::RefreshModem { at: ports().at }
            ]
        );
        assert_eq!(r.s.status().state, "up");
        assert!(r
            .at(1, Input::DnsChecked(vec![ok("192.0.2.53")]))
            .is_empty());
        // Next wake-up is the probe, a minute later; the probe checks again.
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(61)));
        assert_eq!(
            r.at(61, Input::Tick),
            [
                Action::CheckDns {
                    servers: vec![ip("192.0.2.53")]
                },
                Action::RefreshModem { at: ports().at }
            ]
        );
        assert_eq!(r.s.status().reconnects, 0);
    }

    /// comgt's `delay`: the first start waits before the modem is
    /// touched; a restart after a stop does not wait again.
    #[test]
    fn the_start_delay_is_waited_once() {
        let mut r = Run::new(Tunables {
            start_delay: Duration::from_secs(10),
            ..Tunables::default()
        });
        assert!(r.at(0, Input::Start).is_empty());
        assert_eq!(r.s.status().state, "waiting");
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(10)));
        assert!(r.at(5, Input::Tick).is_empty());
        assert!(r.at(5, Input::DeviceAdded).is_empty());
        assert_eq!(r.at(10, Input::Tick), [Action::Scan]);
        // A permanent stop, then an admin's restart: no second wait.
        r.at(10, Input::Scanned(Device::InModemMode));
        r.at(10, Input::Ports(Ok(ports())));
        r.at(
            10,
            Input::Prepared(Err(Exit::Permanent("SIM PUK required".into()))),
        );
        assert_eq!(r.s.status().state, "stopped");
        assert_eq!(r.at(20, Input::Reconnect("asked".into())), [Action::Scan]);
        // An admin's reconnect ends the wait too.
        let mut r = Run::new(Tunables {
            start_delay: Duration::from_secs(10),
            ..Tunables::default()
        });
        r.at(0, Input::Start);
        assert_eq!(r.at(1, Input::Reconnect("now".into())), [Action::Scan]);
        // Shutdown while waiting.
        let mut r = Run::new(Tunables {
            start_delay: Duration::from_secs(10),
            ..Tunables::default()
        });
        r.at(0, Input::Start);
        assert!(r.at(1, Input::Shutdown).is_empty());
        assert_eq!(r.s.status().state, "shutdown");
    }

    #[test]
    fn bogus_dns_redials_at_once_then_backs_off() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["10.11.12.13", "10.11.12.14"]);
        let a = r.at(
            1,
            Input::DnsChecked(vec![bogus("10.11.12.13"), bogus("10.11.12.14")]),
        );
        assert_eq!(a, [Action::KillPppd]);
        assert_eq!(r.s.status().state, "hangup");
        assert!(r
            .s
            .status()
            .last_reason
            .as_deref()
            .unwrap()
            .contains("10.11.12.13 bogus"));
        // pppd exits: redial immediately, no backoff.
        assert_eq!(
            r.at(1, Input::PppExited(Exit::Transient("killed".into()))),
            [Action::Scan]
        );
        assert_eq!(
            r.at(1, Input::Scanned(Device::InModemMode)),
            [Action::DiscoverPorts]
        );
        r.at(1, Input::Ports(Ok(ports())));
        r.at(1, Input::Prepared(Ok(ModemStatus::default())));
        r.at(
            2,
            Input::LinkUp {
                local: None,
                remote: None,
                dns: vec![ip("10.11.12.13")],
            },
        );
        assert_eq!(r.s.status().reconnects, 1);
        // The same fault again, second in a row: through the backoff (2 s).
        r.at(3, Input::DnsChecked(vec![bogus("10.11.12.13")]));
        r.at(3, Input::PppExited(Exit::Transient("killed".into())));
        assert_eq!(r.s.status().state, "backoff");
        assert_eq!(r.s.status().consecutive_failures, 2);
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(5)));
        assert!(
            r.at(4, Input::Tick).is_empty(),
            "woken early: nothing to do"
        );
        assert_eq!(r.at(5, Input::Tick), [Action::Scan]);
    }

    #[test]
    fn one_working_server_keeps_the_link() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["10.11.12.13", "192.0.2.53"]);
        assert!(r
            .at(
                1,
                Input::DnsChecked(vec![bogus("10.11.12.13"), ok("192.0.2.53")])
            )
            .is_empty());
        assert_eq!(r.s.status().state, "up");
    }

    #[test]
    fn dns_that_stops_answering_reconnects() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["192.0.2.53"]);
        r.at(1, Input::DnsChecked(vec![ok("192.0.2.53")]));
        r.at(61, Input::Tick);
        let dead = DnsHealth {
            server: ip("192.0.2.53"),
            verdict: "no-answer".into(),
            healthy: false,
        };
        assert_eq!(r.at(63, Input::DnsChecked(vec![dead])), [Action::KillPppd]);
    }

    #[test]
    fn pppd_exit_codes_decide_retry_or_stop() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["192.0.2.53"]);
        r.at(1, Input::DnsChecked(vec![ok("192.0.2.53")]));
        assert!(r
            .at(10, Input::PppExited(Exit::Transient("modem hangup".into())))
            .is_empty());
        assert_eq!(r.s.status().state, "backoff");
        assert_eq!(r.s.status().consecutive_failures, 1);
        r.at(11, Input::Tick);
        r.at(11, Input::Scanned(Device::InModemMode));
        r.at(11, Input::Ports(Ok(ports())));
        r.at(11, Input::Prepared(Ok(ModemStatus::default())));
        assert!(r
            .at(
                12,
                Input::PppExited(Exit::Permanent("authentication failed".into()))
            )
            .is_empty());
        assert_eq!(r.s.status().state, "stopped");
        assert_eq!(r.s.poll_at(), None, "a stopped link never wakes by itself");
        assert_eq!(r.at(500, Input::Tick), []);
        assert_eq!(r.at(500, Input::Reconnect("admin".into())), [Action::Scan]);
    }

    #[test]
    fn pin_problems_stop_without_retrying() {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        r.at(0, Input::Scanned(Device::InModemMode));
        r.at(0, Input::Ports(Ok(ports())));
        assert!(r
            .at(
                0,
                Input::Prepared(Err(Exit::Permanent("SIM PUK required".into())))
            )
            .is_empty());
        assert_eq!(r.s.status().state, "stopped");
        assert!(r.s.status().last_reason.as_deref().unwrap().contains("PUK"));
    }

    #[test]
    fn consecutive_failures_reset_the_modem() {
        let tun = reset_after(3);
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        let mut t = 0;
        for i in 1..=3 {
            r.at(t, Input::Scanned(Device::InModemMode));
            let a = r.at(t, Input::Ports(Err(PlantError::other("no ttyUSB"))));
            if i < 3 {
                assert!(a.is_empty());
                let until = r.s.poll_at().unwrap();
                t = (until - r.t0).as_secs();
                assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
            } else {
                assert_eq!(
                    a,
                    [Action::Reset {
                        rung: Rung::Cfun,
                        at: None
                    }]
                );
            }
        }
        assert_eq!(r.s.status().state, "resetting");
        assert!(r.at(t, Input::ResetDone(Ok(()))).is_empty());
        assert_eq!(r.s.status().state, "backoff");
    }

    /// Fail the ports step (the modem answers nothing) until the
    /// supervisor asks for something other than a rescan; returns it and
    /// the time.
    fn fail_until_reset(r: &mut Run, mut t: u64) -> (Vec<Action>, u64) {
        loop {
            r.at(t, Input::Scanned(Device::InModemMode));
            let a = r.at(t, Input::Ports(Err(PlantError::other("no ttyUSB"))));
            if !a.is_empty() {
                return (a, t);
            }
            t = (r.s.poll_at().unwrap() - r.t0).as_secs();
            assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
        }
    }

    fn reset(rung: Rung) -> Vec<Action> {
        vec![Action::Reset { rung, at: None }]
    }

    /// A modem that never recovers climbs every rung, escalate_after
    /// failures apart, each logged with why and counted in status; after
    /// each, it settles, then scans again.
    #[test]
    fn the_ladder_climbs_rung_by_rung() {
        let mut tun = reset_after(2);
        tun.ladder.escalate_after = 2;
        tun.ladder.rungs = vec![Rung::Cfun, Rung::UsbReset, Rung::PortPower, Rung::Gpio];
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        let mut t = 0;
        for rung in [Rung::Cfun, Rung::UsbReset, Rung::PortPower, Rung::Gpio] {
            let (a, at) = fail_until_reset(&mut r, t);
            assert_eq!(a, reset(rung));
            assert_eq!(r.s.status().state, "resetting");
            let last = r.s.status().recovery.last.clone().unwrap();
            assert_eq!(last.rung, rung);
            assert!(
                last.why.contains("no modem ports: no ttyUSB"),
                "{}",
                last.why
            );
            let logs: Vec<Action> = r.s.handle(
                r.t0 + Duration::from_secs(at),
                Input::ResetDone(Err(PlantError::other("ioctl: EPERM"))),
            );
            assert!(logs.iter().any(|l| matches!(l,
                Action::Log { msg, .. } if msg == &format!("recovery {rung} failed: ioctl: EPERM"))));
            assert_eq!(r.s.status().state, "backoff");
            assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(at + 10)));
            t = at + 10;
            assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
        }
        assert_eq!(r.s.status().recovery.counts[1..], [1, 1, 1, 1]);
        assert_eq!(r.s.status().consecutive_failures, 8);
    }

    /// The first rung's log line names it and why; a healthy link sends
    /// the ladder back to the bottom, so the next wedge starts at cfun.
    #[test]
    fn a_healthy_link_sends_the_ladder_back_to_the_bottom() {
        let mut tun = reset_after(2);
        tun.ladder.escalate_after = 1;
        tun.ladder.min_interval = [Duration::ZERO; 5];
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        r.at(0, Input::Scanned(Device::InModemMode));
        r.at(0, Input::Ports(Err(PlantError::other("no ttyUSB"))));
        r.at(1, Input::Tick);
        r.at(1, Input::Scanned(Device::InModemMode));
        let v = r.s.handle(
            r.t0 + Duration::from_secs(1),
            Input::Ports(Err(PlantError::other("no ttyUSB"))),
        );
        assert!(
            v.iter()
                .any(|a| matches!(a, Action::Log { level: log::Level::Warn, msg }
            if msg == "recovery cfun: 2 failures in a row; last: no modem ports: no ttyUSB")),
            "{v:?}"
        );
        r.at(1, Input::ResetDone(Ok(())));
        let (a, t) = fail_until_reset(&mut r, 11);
        assert_eq!(a, reset(Rung::UsbReset));
        r.at(t, Input::ResetDone(Ok(())));
        // Now it works.
        let t = t + 10;
        r.at(t, Input::Tick);
        r.at(t, Input::Scanned(Device::InModemMode));
        r.at(t, Input::Ports(Ok(ports())));
        r.at(t, Input::Prepared(Ok(ModemStatus::default())));
        r.at(
            t,
            Input::LinkUp {
                local: None,
                remote: None,
                dns: vec![ip("192.0.2.53")],
            },
        );
        r.at(t, Input::DnsChecked(vec![ok("192.0.2.53")]));
        assert_eq!(r.s.status().state, "up");
        // Broken again: the row starts over, and its first rung is cfun,
        // not port_power.
        r.at(
            t + 5,
            Input::PppExited(Exit::Transient("modem hangup".into())),
        );
        let t = (r.s.poll_at().unwrap() - r.t0).as_secs();
        r.at(t, Input::Tick);
        r.at(t, Input::Scanned(Device::InModemMode));
        let a = r.at(t, Input::Ports(Err(PlantError::other("no ttyUSB"))));
        assert_eq!(
            a,
            [Action::Reset {
                rung: Rung::Cfun,
                at: Some(ports().at)
            }]
        );
        assert_eq!(r.s.status().recovery.counts, [2, 2, 1, 0, 0]);
    }

    /// A rung climbed a little while ago rests: failures go on redialing
    /// (a log line says why) until its interval has passed.
    #[test]
    fn a_resting_rung_waits_for_its_interval() {
        let mut tun = reset_after(1);
        tun.ladder.min_interval[Rung::Cfun as usize] = Duration::from_secs(120);
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        let (a, t) = fail_until_reset(&mut r, 0);
        assert_eq!((a, t), (reset(Rung::Cfun), 0));
        r.at(0, Input::ResetDone(Ok(())));
        // Healthy for a moment, then broken again.
        r.at(10, Input::Tick);
        r.at(10, Input::Scanned(Device::InModemMode));
        r.at(10, Input::Ports(Ok(ports())));
        r.at(10, Input::Prepared(Ok(ModemStatus::default())));
        r.at(
            10,
            Input::LinkUp {
                local: None,
                remote: None,
                dns: vec![ip("192.0.2.53")],
            },
        );
        r.at(10, Input::DnsChecked(vec![ok("192.0.2.53")]));
        let v = r.s.handle(
            r.t0 + Duration::from_secs(20),
            Input::PppExited(Exit::Transient("modem hangup".into())),
        );
        assert!(
            v.iter().any(|a| matches!(a, Action::Log { msg, .. }
            if msg.starts_with("recovery cfun is due but rests 100s more"))),
            "{v:?}"
        );
        assert_eq!(r.s.status().state, "backoff");
        let t = (r.s.poll_at().unwrap() - r.t0).as_secs();
        assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
        let (a, t) = fail_until_reset(&mut r, t);
        assert!(t >= 120, "cfun again at {t}s");
        assert_eq!(
            a,
            [Action::Reset {
                rung: Rung::Cfun,
                at: Some(ports().at)
            }]
        );
    }

    /// A USB reset or a power cycle makes the modem vanish and come back
    /// (hotplug remove, add): the ladder keeps its place, so a modem still
    /// wedged gets the next rung, not cfun again.
    #[test]
    fn re_enumeration_after_a_rung_keeps_the_ladders_place() {
        let mut tun = reset_after(1);
        tun.ladder.escalate_after = 1;
        tun.ladder.min_interval = [Duration::ZERO; 5];
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        let (a, t) = fail_until_reset(&mut r, 0);
        assert_eq!(a, reset(Rung::Cfun));
        r.at(t, Input::ResetDone(Ok(())));
        let (a, t) = fail_until_reset(&mut r, t + 10);
        assert_eq!(a, reset(Rung::UsbReset));
        r.at(t, Input::ResetDone(Ok(())));
        r.at(t + 1, Input::DeviceRemoved);
        assert_eq!(r.at(t + 2, Input::DeviceAdded), [Action::Scan]);
        assert_eq!(r.s.status().consecutive_failures, 0);
        let (a, _) = fail_until_reset(&mut r, t + 2);
        assert_eq!(a, reset(Rung::PortPower));
        // An admin's restart after a stop starts the ladder over.
        r.at(t + 3, Input::ResetDone(Ok(())));
        r.at(t + 20, Input::Tick);
        r.at(t + 20, Input::Scanned(Device::InModemMode));
        r.at(t + 20, Input::Ports(Ok(ports())));
        r.at(
            t + 20,
            Input::Prepared(Err(Exit::Permanent("SIM PUK required".into()))),
        );
        assert_eq!(r.s.status().state, "stopped");
        r.at(t + 30, Input::Reconnect("admin".into()));
        let (a, _) = fail_until_reset(&mut r, t + 30);
        assert_eq!(
            a,
            [Action::Reset {
                rung: Rung::Cfun,
                at: Some(ports().at)
            }]
        );
    }

    /// After a rung the backoff starts over: the restarted modem's first
    /// failure waits the shortest delay.
    #[test]
    fn a_rung_starts_the_backoff_over() {
        let mut r = Run::new(reset_after(4));
        r.at(0, Input::Start);
        let (a, t) = fail_until_reset(&mut r, 0);
        assert_eq!(a, reset(Rung::Cfun));
        assert_eq!(t, 1 + 2 + 4, "three backoffs of 1, 2, 4 s before the rung");
        r.at(t, Input::ResetDone(Ok(())));
        r.at(t + 10, Input::Tick);
        r.at(t + 10, Input::Scanned(Device::InModemMode));
        r.at(t + 10, Input::Ports(Err(PlantError::other("no ttyUSB"))));
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(t + 11)));
    }

    /// A configured port that is not there is the configuration's fault:
    /// the cause is kept and no number of such failures resets the modem.
    #[test]
    fn configuration_failures_never_reset_the_modem() {
        let tun = reset_after(2);
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        let mut t = 0;
        for _ in 0..6 {
            r.at(t, Input::Scanned(Device::InModemMode));
            let e = PlantError::new(Cause::Config, "configured device /dev/ttyX: not found");
            assert!(r.at(t, Input::Ports(Err(e))).is_empty());
            assert_eq!(r.s.status().state, "backoff");
            assert!(r
                .s
                .status()
                .last_reason
                .as_deref()
                .is_some_and(|w| w.contains("/dev/ttyX")));
            assert_eq!(r.s.status().consecutive_failures, 0);
            t = (r.s.poll_at().unwrap() - r.t0).as_secs();
            assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
        }
    }

    /// A modem that drops the link every minute, each reconnect healthy:
    /// failures, not recoveries, count toward the reset; the backoff still
    /// grows, since no link lasted backoff_stable.
    #[test]
    fn short_healthy_links_do_not_count_toward_the_reset() {
        let tun = reset_after(3);
        let mut r = Run::new(tun);
        r.plug_to_link_up(0, &["192.0.2.53"]);
        r.at(1, Input::DnsChecked(vec![ok("192.0.2.53")]));
        let mut t = 1;
        let mut delays = Vec::new();
        for _ in 0..6 {
            t += 50;
            let a = r.at(t, Input::PppExited(Exit::Transient("modem hangup".into())));
            assert!(
                !a.iter().any(|a| matches!(a, Action::Reset { .. })),
                "reset after a healthy reconnect: {a:?}"
            );
            assert_eq!(r.s.status().state, "backoff");
            assert_eq!(r.s.status().consecutive_failures, 1);
            let until = (r.s.poll_at().unwrap() - r.t0).as_secs();
            delays.push(until - t);
            t = until;
            assert_eq!(r.at(t, Input::Tick), [Action::Scan]);
            r.at(t, Input::Scanned(Device::InModemMode));
            r.at(t, Input::Ports(Ok(ports())));
            r.at(t, Input::Prepared(Ok(ModemStatus::default())));
            r.at(
                t,
                Input::LinkUp {
                    local: None,
                    remote: None,
                    dns: vec![ip("192.0.2.53")],
                },
            );
            r.at(t, Input::DnsChecked(vec![ok("192.0.2.53")]));
            assert_eq!(r.s.status().consecutive_failures, 0);
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32]);
        // A link up whose DNS is broken is no recovery: those still count.
        t += 50;
        r.at(t, Input::PppExited(Exit::Transient("modem hangup".into())));
        assert_eq!(r.s.status().consecutive_failures, 1);
        t = (r.s.poll_at().unwrap() - r.t0).as_secs();
        for n in 2..=3 {
            r.at(t, Input::Tick);
            r.at(t, Input::Scanned(Device::InModemMode));
            r.at(t, Input::Ports(Ok(ports())));
            r.at(t, Input::Prepared(Ok(ModemStatus::default())));
            r.at(
                t,
                Input::LinkUp {
                    local: None,
                    remote: None,
                    dns: vec![ip("10.11.12.13")],
                },
            );
            r.at(t, Input::DnsChecked(vec![bogus("10.11.12.13")]));
            let a = r.at(t, Input::PppExited(Exit::Transient("killed".into())));
            assert_eq!(r.s.status().consecutive_failures, n);
            if n == 3 {
                assert_eq!(
                    a,
                    [Action::Reset {
                        rung: Rung::Cfun,
                        at: Some(ports().at)
                    }]
                );
            } else {
                assert!(a.is_empty(), "{a:?}");
                t = (r.s.poll_at().unwrap() - r.t0).as_secs();
            }
        }
    }

    #[test]
    fn dial_timeout_hangs_up_and_kill_timeout_moves_on() {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        r.at(0, Input::Scanned(Device::InModemMode));
        r.at(0, Input::Ports(Ok(ports())));
        r.at(0, Input::Prepared(Ok(ModemStatus::default())));
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(60)));
        assert_eq!(r.at(60, Input::Tick), [Action::KillPppd]);
        // pppd ignores SIGTERM: after the hangup timeout we move on anyway.
        assert!(r.at(70, Input::Tick).is_empty());
        assert_eq!(r.s.status().state, "backoff");
    }

    #[test]
    fn stable_link_resets_failures_and_backoff() {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        r.at(0, Input::Scanned(Device::InModemMode));
        r.at(0, Input::Ports(Err(PlantError::other("x"))));
        assert_eq!(r.s.status().consecutive_failures, 1);
        r.at(1, Input::Tick);
        r.at(1, Input::Scanned(Device::InModemMode));
        r.at(1, Input::Ports(Ok(ports())));
        r.at(1, Input::Prepared(Ok(ModemStatus::default())));
        r.at(
            2,
            Input::LinkUp {
                local: None,
                remote: None,
                dns: vec![ip("192.0.2.53")],
            },
        );
        r.at(2, Input::DnsChecked(vec![ok("192.0.2.53")]));
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(62)));
        for t in (62..=302).step_by(60) {
            r.at(t, Input::Tick);
            r.at(t, Input::DnsChecked(vec![ok("192.0.2.53")]));
        }
        assert_eq!(r.s.status().consecutive_failures, 0);
    }

    #[test]
    fn unplug_kills_pppd_and_waits_for_hotplug() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["192.0.2.53"]);
        assert_eq!(r.at(5, Input::DeviceRemoved), [Action::KillPppd]);
        assert_eq!(r.s.status().state, "no-device");
        // A late exit of the killed pppd is ignored.
        assert!(r
            .at(5, Input::PppExited(Exit::Transient("hangup".into())))
            .is_empty());
        assert_eq!(r.at(6, Input::DeviceAdded), [Action::Scan]);
    }

    #[test]
    fn no_device_rescans_at_the_rescan_interval() {
        let tun = Tunables {
            rescan_interval: Duration::from_secs(15),
            ..Tunables::default()
        };
        let mut r = Run::new(tun);
        r.at(0, Input::Start);
        assert!(r
            .at(0, Input::Scanned(Device::None("no USB modem".into())))
            .is_empty());
        assert_eq!(r.s.status().state, "no-device");
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(15)));
        assert_eq!(r.at(15, Input::Tick), [Action::Scan]);
        r.at(15, Input::Scanned(Device::None("no USB modem".into())));
        assert_eq!(r.s.poll_at(), Some(r.t0 + Duration::from_secs(30)));
    }

    /// Waiting for a modem is logged with the reason, once per reason, not
    /// on every rescan.
    #[test]
    fn waiting_for_a_modem_says_why_once() {
        let tun = Tunables {
            rescan_interval: Duration::from_secs(15),
            ..Tunables::default()
        };
        let mut r = Run::new(tun);
        let logs = |v: Vec<Action>| -> Vec<String> {
            v.into_iter()
                .filter_map(|a| match a {
                    Action::Log { msg, .. } => Some(msg),
                    _ => None,
                })
                .collect()
        };
        let at = |r: &mut Run, t: u64, i: Input| r.s.handle(r.t0 + Duration::from_secs(t), i);
        at(&mut r, 0, Input::Start);
        let none = |why: &str| Input::Scanned(Device::None(why.into()));
        let l = logs(at(&mut r, 0, none("configured device /dev/ttyS1: gone")));
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(l[0].contains("waiting for a modem: configured device /dev/ttyS1: gone"));
        assert!(l[0].contains("every 15s"), "{l:?}");
        assert!(r
            .s
            .status()
            .last_reason
            .as_deref()
            .unwrap()
            .contains("/dev/ttyS1"));
        // The same reason at the next rescan: quiet.
        at(&mut r, 15, Input::Tick);
        assert!(logs(at(&mut r, 15, none("configured device /dev/ttyS1: gone"))).is_empty());
        // Another reason: said.
        at(&mut r, 30, Input::Tick);
        assert_eq!(logs(at(&mut r, 30, none("no USB modem"))).len(), 1);
        // Found, then lost again: said again.
        at(&mut r, 45, Input::Tick);
        at(&mut r, 45, Input::Scanned(Device::InModemMode));
        at(
            &mut r,
            45,
            Input::Ports(Err(PlantError::new(Cause::Gone, "gone"))),
        );
        let t = (r.s.poll_at().unwrap() - r.t0).as_secs();
        at(&mut r, t, Input::Tick);
        assert_eq!(logs(at(&mut r, t, none("no USB modem"))).len(), 1);
    }

    fn link(local: &str, dns: &[&str]) -> Input {
        Input::LinkUp {
            local: Some(ip(local)),
            remote: Some(ip("10.64.64.64")),
            dns: dns.iter().map(|d| ip(d)).collect(),
        }
    }

    fn check(dns: &[&str]) -> Action {
        Action::CheckDns {
            servers: dns.iter().map(|d| ip(d)).collect(),
        }
    }

    /// A healthy link on 10.64.1.2 with DNS 192.0.2.53, at t = 0.
    fn healthy() -> Run {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        r.at(0, Input::Scanned(Device::InModemMode));
        r.at(0, Input::Ports(Ok(ports())));
        r.at(0, Input::Prepared(Ok(ModemStatus::default())));
        r.at(0, link("10.64.1.2", &["192.0.2.53"]));
        r.at(0, Input::DnsChecked(vec![ok("192.0.2.53")]));
        assert_eq!(r.s.status().state, "up");
        assert_eq!(r.s.status().local, Some(ip("10.64.1.2")));
        r
    }

    #[test]
    fn a_second_ip_up_with_new_dns_is_checked_at_once_and_counted() {
        let mut r = healthy();
        let before = (r.s.status().address_changes, r.s.status().dns_changes);
        let a = r.at(5, link("10.64.1.2", &["198.51.100.7"]));
        assert_eq!(
            a,
            [
                check(&["198.51.100.7"]),
                Action::RefreshModem { at: ports().at }
            ]
        );
        let st = r.s.status();
        assert_eq!(
            (st.address_changes, st.dns_changes),
            (before.0, before.1 + 1)
        );
        assert_eq!(st.dns[0].verdict, "unchecked");
        assert!(!st.dns[0].healthy);
        let (at, what) = st.last_change.clone().unwrap();
        assert_eq!(at, r.t0 + Duration::from_secs(5));
        assert!(what.contains("DNS 192.0.2.53 -> 198.51.100.7"), "{what}");
        // Still the same session: not a reconnect, uptime from the start.
        assert_eq!(st.reconnects, 0);
        assert_eq!(st.up_since, Some(r.t0));
        assert!(r
            .at(6, Input::DnsChecked(vec![ok("198.51.100.7")]))
            .is_empty());
        assert!(r.s.status().dns[0].healthy);
    }

    #[test]
    fn a_renegotiated_address_after_ip_down_is_a_change_not_a_reconnect() {
        let mut r = healthy();
        assert!(r.at(5, Input::LinkDown).is_empty());
        let st = r.s.status();
        assert_eq!(st.state, "dialing");
        assert_eq!(st.local, None, "no stale address while down");
        assert_eq!(st.up_since, None);
        let a = r.at(6, link("10.64.1.3", &["192.0.2.53"]));
        assert_eq!(
            a,
            [
                check(&["192.0.2.53"]),
                Action::RefreshModem { at: ports().at }
            ]
        );
        let st = r.s.status();
        assert_eq!((st.address_changes, st.dns_changes), (1, 0));
        assert_eq!(st.reconnects, 0);
        assert_eq!(st.local, Some(ip("10.64.1.3")));
        assert!(st
            .last_change
            .as_ref()
            .unwrap()
            .1
            .contains("address 10.64.1.2 peer 10.64.64.64 -> 10.64.1.3 peer 10.64.64.64"));
    }

    #[test]
    fn new_dns_that_does_not_answer_is_redialed() {
        let mut r = healthy();
        r.at(5, link("10.64.1.2", &["198.51.100.7"]));
        let bad = DnsHealth {
            server: ip("198.51.100.7"),
            verdict: "no-answer".into(),
            healthy: false,
        };
        assert_eq!(r.at(6, Input::DnsChecked(vec![bad])), [Action::KillPppd]);
        assert_eq!(r.s.status().state, "hangup");
        assert_eq!(r.s.status().up_since, None);
    }

    #[test]
    fn a_check_of_the_old_servers_does_not_judge_the_new_ones() {
        let mut r = healthy();
        // A probe is under way when the servers change.
        let a = r.at(60, Input::Tick);
        assert_eq!(a[0], check(&["192.0.2.53"]));
        r.at(61, link("10.64.1.2", &["198.51.100.7"]));
        // The old probe's answer: stale, ignored, still checking.
        assert!(r
            .at(62, Input::DnsChecked(vec![ok("192.0.2.53")]))
            .is_empty());
        assert_eq!(r.s.status().dns[0].verdict, "unchecked");
        assert!(r
            .s
            .poll_at()
            .is_none_or(|t| t > r.t0 + Duration::from_secs(62)));
        r.at(63, Input::DnsChecked(vec![ok("198.51.100.7")]));
        assert!(r.s.status().dns[0].healthy);
    }

    #[test]
    fn the_same_ip_up_twice_changes_nothing() {
        let mut r = healthy();
        assert!(r.at(5, link("10.64.1.2", &["192.0.2.53"])).is_empty());
        let st = r.s.status();
        assert_eq!((st.address_changes, st.dns_changes), (0, 0));
        assert!(st.dns[0].healthy);
    }

    #[test]
    fn a_new_pppd_starts_a_new_session() {
        let mut r = healthy();
        assert_eq!(
            r.at(5, Input::Reconnect("admin".into())),
            [Action::KillPppd]
        );
        assert_eq!(
            r.at(5, Input::PppExited(Exit::Transient("killed".into()))),
            [Action::Scan]
        );
        r.at(5, Input::Scanned(Device::InModemMode));
        r.at(5, Input::Ports(Ok(ports())));
        r.at(5, Input::Prepared(Ok(ModemStatus::default())));
        r.at(6, link("10.64.1.9", &["192.0.2.53"]));
        let st = r.s.status();
        assert_eq!((st.address_changes, st.dns_changes), (0, 0));
        assert_eq!(st.reconnects, 1);
    }

    #[test]
    fn the_quota_hangs_up_and_holds_until_resumed() {
        let mut r = healthy();
        assert_eq!(
            r.at(5, Input::QuotaStop("data quota reached".into())),
            [Action::KillPppd]
        );
        assert_eq!(r.s.status().state, "over-quota");
        assert_eq!(r.s.status().up_since, None);
        assert_eq!(
            r.s.status().last_reason.as_deref(),
            Some("data quota reached")
        );
        // pppd's exit, replugs and reconnects do not dial.
        assert!(r
            .at(6, Input::PppExited(Exit::Transient("killed".into())))
            .is_empty());
        assert!(r.at(7, Input::Reconnect("admin".into())).is_empty());
        assert!(r.at(7, Input::DeviceRemoved).is_empty());
        assert!(r.at(7, Input::DeviceAdded).is_empty());
        assert_eq!(r.s.poll_at(), None, "nothing to wake for");
        assert_eq!(r.s.status().state, "over-quota");
        assert_eq!(
            r.at(9, Input::QuotaResume("a new period".into())),
            [Action::Scan]
        );
        // A resume when not over quota changes nothing.
        assert!(r.at(9, Input::QuotaResume("x".into())).is_empty());
        assert_eq!(r.s.status().state, "scanning");
    }

    #[test]
    fn the_quota_stops_a_link_not_yet_up_without_killing_nothing() {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        assert!(r.at(0, Input::QuotaStop("over".into())).is_empty());
        assert_eq!(r.s.status().state, "over-quota");
        // The scan's late answer is stale.
        assert!(r.at(0, Input::Scanned(Device::InModemMode)).is_empty());
    }

    #[test]
    fn stale_results_are_ignored() {
        let mut r = Run::new(Tunables::default());
        r.at(0, Input::Start);
        assert!(r.at(0, Input::Switched(Ok(()))).is_empty());
        assert!(r.at(0, Input::DnsChecked(vec![])).is_empty());
        assert!(r
            .at(
                0,
                Input::LinkUp {
                    local: None,
                    remote: None,
                    dns: vec![]
                }
            )
            .is_empty());
        assert_eq!(r.s.status().state, "scanning");
    }

    #[test]
    fn shutdown_kills_pppd_once() {
        let mut r = Run::new(Tunables::default());
        r.plug_to_link_up(0, &["192.0.2.53"]);
        assert_eq!(r.at(1, Input::Shutdown), [Action::KillPppd]);
        assert!(r.at(1, Input::Shutdown).is_empty());
        assert!(r.at(1, Input::Reconnect("x".into())).is_empty());
    }
}
