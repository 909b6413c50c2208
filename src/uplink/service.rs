//! The uplink service: the daemon thread that carries out the
//! [`Supervisor`]'s actions and feeds their results back.
//!
//! Everything that touches hardware or the network sits behind
//! [`Plant`] (`uplink/plant.rs`): [`RealPlant`] drives USB, the modem's
//! ttys, pppd and real DNS servers; the simulated world
//! (`uplink::sim::world`) does the same against a simulated E367. The loop
//! waits in poll(2) on the daemon's control pipe, the hook socket (pppd's
//! ip-up/ip-down, hotplug notices) and pppd's exit descriptor, with the
//! supervisor's next deadline as the timeout: a healthy link wakes only for
//! its probes.
//!
//! Each action is a bounded blocking call (a switch waits at most
//! `switch_timeout`, an AT command its own timeout, a DNS check
//! `probe_timeout`), so the loop never hangs. `warden status` is answered
//! by the status socket's own thread (`status_socket.rs`) from the status
//! the loop publishes after every input, so it never waits for a step.

use super::backoff::{Retry, Rng};
use super::plant::{ppp_exit, Plant, PppChild, RealPlant};
use super::ppp::exit::{self, classify};
use super::ppp::hook::{Listener, Notice, SOCKET_NAME};
use super::quota::{self, Meter};
use super::status::{self, Who};
use super::status_socket::{self, Shared, StatusServer};
use super::supervisor::{Action, Input, ModemStatus, Status, Supervisor, Tunables};
use crate::config::{Config, Uplink};
use crate::service::{Ctx, Event, Service};
use crate::sys::localtime::Zone;
use crate::sys::poll;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The supervisor's tunables from the `uplink` section.
pub fn tunables(u: &Uplink) -> Tunables {
    Tunables {
        ladder: super::ladder::Policy::of(u),
        probe_interval: u.probe_interval,
        dns_check: u.dns_check,
        rescan_interval: u.rescan_interval,
        start_delay: u.delay,
        ..Tunables::default()
    }
}

#[cfg(feature = "sim")]
fn sim_plant(cfg: &Config, sock: &Path) -> io::Result<Box<dyn Plant>> {
    Ok(Box::new(super::sim::world::SimWorld::start(cfg, sock)?))
}

#[cfg(not(feature = "sim"))]
fn sim_plant(_: &Config, _: &Path) -> io::Result<Box<dyn Plant>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        super::check::NO_SIMULATOR,
    ))
}

/// The uplink as a daemon service.
pub struct UplinkService {
    pub simulate: bool,
}

impl Service for UplinkService {
    fn name(&self) -> &'static str {
        "uplink"
    }

    fn run(self: Box<Self>, ctx: Ctx) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let cfg = ctx.config.clone();
        let sock = cfg.main.run_dir.join(SOCKET_NAME);
        let listener = Listener::bind(&sock)?;
        let plant: Box<dyn Plant> = if self.simulate {
            log::info!("uplink: running on the simulated E367");
            sim_plant(&cfg, &sock)?
        } else {
            Box::new(RealPlant::new(cfg.clone()))
        };
        let sup = Supervisor::new(
            tunables(&cfg.uplink),
            Retry::new(
                super::backoff::Backoff::of(&cfg.uplink),
                Rng::new(crate::sys::random::seed()),
            ),
        );
        // Status says "starting" until the loop has handled its first
        // input (before it, the supervisor says "stopped", which would read
        // as a permanent failure).
        let shared: Shared = Arc::new(Mutex::new(Status {
            state: "starting",
            ..sup.status().clone()
        }));
        let who = (cfg.uplink.interface.clone(), cfg.main.run_dir.clone());
        let _status = StatusServer::start(
            &cfg.main.run_dir.join(status_socket::SOCKET_NAME),
            who.clone(),
            shared.clone(),
        )?;
        let quota_file =
            plant
                .state_dir()
                .join(format!("{}{}", quota::FILE_PREFIX, cfg.uplink.interface));
        let zone = Zone::system();
        let saved = match std::fs::read_to_string(&quota_file) {
            Ok(text) => match quota::decode(&text) {
                Ok(u) => Some(u),
                Err(e) => {
                    log::warn!(
                        "uplink: {}: {e}; counting this period from 0",
                        quota_file.display()
                    );
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                log::warn!("uplink: {}: {e}", quota_file.display());
                None
            }
        };
        let meter = Meter::new(cfg.uplink.quota, saved, today(&zone));
        let mut lp = Loop {
            sup,
            plant,
            pppd: None,
            inputs: VecDeque::from([Input::Start]),
            shared,
            who,
            authfail: cfg.uplink.authfail,
            meter,
            quota_file,
            zone,
            next_sample: Instant::now(),
            sms_received: 0,
            local6: None,
        };
        lp.run(&ctx, &listener)
    }
}

struct Loop {
    sup: Supervisor,
    plant: Box<dyn Plant>,
    pppd: Option<PppChild>,
    inputs: VecDeque<Input>,
    /// What the status socket answers with.
    shared: Shared,
    /// The interface and run directory the answers name.
    who: (String, PathBuf),
    /// An authentication failure stops the uplink (ppp.sh's `authfail`).
    authfail: bool,
    /// The data quota: its meter, its file, the zone its days are in, the
    /// next reading of the counters.
    meter: Meter,
    quota_file: PathBuf,
    zone: Zone,
    next_sample: Instant,
    /// New SMS noticed since the start.
    sms_received: u32,
    /// The link-local address IPv6CP gave (pppd's ipv6-up).
    local6: Option<std::net::IpAddr>,
}

/// Today's local date.
fn today(zone: &Zone) -> quota::Date {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(i64::MAX as u64) as i64);
    let (y, m, d, ..) = zone.local(t);
    (y, m, d)
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    poll::fd(fd, libc::POLLIN)
}

impl Loop {
    fn run(
        &mut self,
        ctx: &Ctx,
        listener: &Listener,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        loop {
            self.drain();
            if self.sup.status().state == "shutdown" {
                self.quota_sample();
                self.stop_pppd(Duration::from_secs(5));
                self.save_quota(Instant::now(), true);
                return Ok(());
            }
            let now = Instant::now();
            // The counters are read while pppd runs, and while the quota
            // holds the link down (to notice the new period).
            let sampling = self.pppd.is_some() || self.meter.blocked();
            let wake = [self.sup.poll_at(), sampling.then_some(self.next_sample)]
                .into_iter()
                .flatten()
                .min();
            let timeout = wake.map(|t| t.saturating_duration_since(now));
            let mut fds = vec![pollfd(ctx.control.fd()), pollfd(listener.fd())];
            let pppd_fd = self.pppd.as_ref().and_then(|c| c.exit_fd());
            if let Some(fd) = pppd_fd {
                fds.push(pollfd(fd));
            }
            // Without a pidfd, look at pppd once a second.
            let timeout = match (&self.pppd, pppd_fd) {
                (Some(_), None) => {
                    Some(timeout.map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1))))
                }
                _ => timeout,
            };
            poll::poll(&mut fds, timeout.map(|t| t.min(Duration::from_secs(3600))))?;
            if fds[0].revents != 0 {
                for ev in ctx.control.take() {
                    match ev {
                        Event::Stop => self.inputs.push_back(Input::Shutdown),
                        Event::Reload(_) => log::info!(
                            "uplink: configuration reloaded; uplink changes take effect on restart"
                        ),
                    }
                }
            }
            if fds[1].revents != 0 {
                self.notices(listener);
            }
            self.reap();
            if sampling && Instant::now() >= self.next_sample {
                self.quota_sample();
            }
            if self.sup.poll_at().is_some_and(|t| Instant::now() >= t) {
                self.inputs.push_back(Input::Tick);
            }
        }
    }

    /// Feed queued inputs until the supervisor has nothing more to do now.
    fn drain(&mut self) {
        while let Some(i) = self.inputs.pop_front() {
            let actions = self.sup.handle(Instant::now(), i);
            // Published before the actions run: while one blocks, status
            // shows what it is waiting for.
            self.publish();
            for a in actions {
                self.perform(a);
            }
            // A used-up quota whose action is stop holds the link down,
            // whatever else happens (a start, a replug, a reconnect).
            if self.meter.blocked() && !matches!(self.sup.status().state, "over-quota" | "shutdown")
            {
                let why = format!("data quota used up: {}", self.meter.status());
                self.inputs.push_front(Input::QuotaStop(why));
            }
        }
    }

    /// Read the interface's counters into the meter; act on what it says.
    fn quota_sample(&mut self) {
        let now = Instant::now();
        let counters = self.plant.counters();
        for e in self.meter.sample(today(&self.zone), counters) {
            match e {
                quota::Event::NewPeriod(d) => {
                    let why = format!("a new data quota period from {}", quota::date(d));
                    log::info!("uplink: {why}");
                    self.inputs.push_back(Input::QuotaResume(why));
                }
                quota::Event::Warn(w) => log::warn!("uplink: {w} (quota_action warn)"),
                quota::Event::Stop(w) => self.inputs.push_back(Input::QuotaStop(w)),
            }
        }
        self.save_quota(now, false);
        self.next_sample = now + self.meter.policy().sample_interval;
        self.publish();
    }

    /// Write the usage when it changed and the last write is old enough
    /// (`force`: at shutdown).
    fn save_quota(&mut self, now: Instant, force: bool) {
        if !self.meter.save_due(now, force) {
            return;
        }
        let text = quota::encode(&self.meter.usage());
        match super::modem::pin::write_atomic(&self.quota_file, text.as_bytes()) {
            Ok(()) => self.meter.saved(now),
            Err(e) => {
                log::warn!("uplink: {}: {e}", self.quota_file.display());
                self.meter.save_failed(now);
            }
        }
    }

    fn perform(&mut self, a: Action) {
        let input = match a {
            Action::Log { level, msg } => {
                log::log!(level, "uplink: {msg}");
                return;
            }
            Action::Scan => Input::Scanned(self.plant.scan()),
            Action::Switch => Input::Switched(self.plant.switch()),
            Action::DiscoverPorts => {
                let r = self.plant.ports();
                if let Ok(p) = &r {
                    log::info!(
                        "uplink: ports: ppp {} at {}",
                        p.ppp.display(),
                        p.at.display()
                    );
                }
                Input::Ports(r)
            }
            Action::PrepareModem { at } => Input::Prepared(self.plant.prepare(&at)),
            Action::RefreshModem { at } => match self.plant.refresh(&at) {
                Some(m) => {
                    self.sms_received += m.new_sms;
                    Input::Modem(merge_modem(&self.sup.status().modem, m))
                }
                None => return,
            },
            Action::SpawnPppd { ppp } => {
                self.stop_pppd(Duration::ZERO);
                match self.plant.spawn_pppd(&ppp) {
                    Ok(child) => {
                        log::info!(
                            "uplink: pppd started (pid {}) on {}",
                            child.pid(),
                            ppp.display()
                        );
                        self.pppd = Some(child);
                        return;
                    }
                    Err(e) => Input::SpawnFailed(e),
                }
            }
            Action::KillPppd => {
                // The link's last bytes, before its interface goes.
                self.quota_sample();
                if let Some(c) = self.pppd.as_mut() {
                    let _ = c.signal(libc::SIGTERM);
                }
                return;
            }
            Action::CheckDns { servers } => Input::DnsChecked(self.plant.check_dns(&servers)),
            Action::Reset { rung, at } => Input::ResetDone(self.plant.reset(rung, at.as_deref())),
        };
        self.inputs.push_back(input);
    }

    /// The status as the service knows it: the supervisor's, with what
    /// the service itself keeps (the quota, SMS received, the IPv6 link-local
    /// address).
    fn current(&self) -> Status {
        let mut st = self.sup.status().clone();
        st.quota = Some(self.meter.status());
        st.sms_received = self.sms_received;
        st.local6 = self.local6;
        st
    }

    fn publish(&self) {
        let st = self.current();
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if *shared != st {
            *shared = st;
        }
    }

    /// Stop pppd, waiting at most `grace` before SIGKILL.
    fn stop_pppd(&mut self, grace: Duration) {
        if let Some(mut c) = self.pppd.take() {
            match super::ppp::run::stop(&mut *c, grace) {
                Ok(e) => log::info!("uplink: pppd stopped ({e})"),
                Err(e) => log::warn!("uplink: stopping pppd: {e}"),
            }
        }
    }

    fn reap(&mut self) {
        let exited = match self.pppd.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(e))) => Some(e),
            Some(Err(e)) => {
                log::warn!("uplink: waiting for pppd: {e}");
                Some(exit::Exit::Code(1))
            }
            _ => None,
        };
        if let Some(e) = exited {
            self.pppd = None;
            log::info!("uplink: pppd exited: {}", classify(e).1);
            self.inputs
                .push_back(Input::PppExited(ppp_exit(e, self.authfail)));
        }
    }

    fn notices(&mut self, listener: &Listener) {
        loop {
            match listener.recv_from() {
                Ok(None) => return,
                Err(e) => {
                    log::warn!("uplink: hook socket: {e}");
                    return;
                }
                Ok(Some((Err(e), _))) => log::warn!("uplink: {e}"),
                Ok(Some((Ok(n), from))) => match n {
                    Notice::PppUp(l) => self.inputs.push_back(Input::LinkUp {
                        local: l.local,
                        remote: l.remote,
                        dns: l.dns,
                    }),
                    Notice::Ppp6(local) => self.local6 = local,
                    Notice::PppDown(_) => {
                        // The interface is still there during ip-down.
                        self.local6 = None;
                        self.quota_sample();
                        self.inputs.push_back(Input::LinkDown)
                    }
                    Notice::Modem { request } => {
                        let body = match self.sup.status().ports.as_ref() {
                            Some(p) => {
                                let at = p.at.clone();
                                log::info!(
                                    "uplink: {} on {}",
                                    request.split(' ').take(2).collect::<Vec<_>>().join(" "),
                                    at.display()
                                );
                                self.plant.messaging(&at, &request)
                            }
                            None => "error: no modem yet (no AT port found)\n".to_string(),
                        };
                        if let Err(e) = listener.reply(&from, body.as_bytes()) {
                            log::debug!("uplink: modem reply: {e}");
                        }
                    }
                    Notice::Resume { reason } => {
                        log::info!("uplink: resume asked ({reason})");
                        self.meter.resume();
                        self.inputs
                            .push_back(Input::QuotaResume(format!("resumed: {reason}")));
                    }
                    Notice::Reconnect { reason } => self.inputs.push_back(Input::Reconnect(reason)),
                    Notice::Rediscover { reason } => {
                        log::info!("uplink: {reason}");
                        self.inputs.push_back(Input::DeviceAdded)
                    }
                    // An older client's request over the hook socket.
                    Notice::Status { json } => {
                        let who = Who {
                            interface: &self.who.0,
                            run_dir: &self.who.1,
                        };
                        let body = render(&who, &self.current(), json);
                        if let Err(e) = listener.reply(&from, body.as_bytes()) {
                            log::debug!("uplink: status reply: {e}");
                        }
                    }
                },
            }
        }
    }
}

/// Keep the identity learnt at prepare time when a refresh brings only
/// registration, operator and signal.
fn merge_modem(old: &ModemStatus, new: ModemStatus) -> ModemStatus {
    ModemStatus {
        manufacturer: old.manufacturer.clone(),
        model: old.model.clone(),
        imei: old.imei.clone(),
        new_sms: 0,
        ..new
    }
}

fn render(who: &Who<'_>, st: &Status, json: bool) -> String {
    let now = Instant::now();
    if json {
        status::json(who, st, now)
    } else {
        status::text(who, st, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunables_follow_the_uplink_options() {
        let (cfg, w) = crate::config::parse(
            Path::new("/etc/config/warden"),
            "config uplink\n option reset_after 7\n option rescan_interval 15\n option delay 10\n",
            &crate::uplink::check::RULES,
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let t = tunables(&cfg.uplink);
        assert_eq!(t.ladder.first_after, 7);
        assert_eq!(t.start_delay, Duration::from_secs(10));
        assert_eq!(t.rescan_interval, Duration::from_secs(15));
        let t = tunables(&Uplink::default());
        assert_eq!(t.rescan_interval, Duration::from_secs(60));
    }
}
