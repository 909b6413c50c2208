//! The simulated world behind `warden daemon --simulate` and the README's
//! demo: an E367 that starts in storage mode on a simulated USB bus
//! (`uplink::usb::sim`), two simulated ports on pseudo-terminals (PPP and
//! AT, `uplink::sim`), a stand-in pppd, and the mobile network's DNS.
//!
//! The stand-in pppd follows pppd's observable contract: it opens the PPP
//! port, runs the connect chat (`AT+CGDCONT`, `ATD*99***1#`, expects
//! `CONNECT`), reports ip-up with DNS1/DNS2 through the same hook socket
//! the real ip-up script uses, and on SIGTERM reports ip-down and exits 5;
//! a port that hangs up ends it with 16 (modem hangup), a failed chat with
//! 8. Like the networks that show the bug, the first attach hands out the
//! placeholders 10.11.12.13 and 10.11.12.14; later attaches hand out
//! 192.0.2.53, the simulated network's resolver, answered by a small DNS
//! server on loopback (queries to it are routed there). The SIM's PIN is
//! 1234.
//!
//! With `WARDEN_SIM_WEDGE` set in the environment (`cfun`, `usb_reset` or
//! `power`), the modem starts wedged ([`Wedge`]) and recovers on the rungs
//! of the recovery ladder as a real one would: `cfun` is `AT+CFUN=1,1` on
//! the AT port (a hung firmware does not answer it), `usb_reset` restarts
//! a modem hung so, `port_power` and `gpio` cure any wedge.
//!
//! With `WARDEN_SIM_MODEM=generic` the modem is a plain 3GPP one, no
//! Huawei (every `^` command is `ERROR`; `+CPINR`, `+WS46`), and not on
//! USB: its ports are given to the uplink as `device` and
//! `control_device`, which it uses without USB discovery.
//!
//! The network can renegotiate IPCP mid-session, as an operator changing
//! the address or DNS servers does: a file `<run_dir>/sim/renegotiate`
//! makes the running stand-in pppd (it looks every 100 ms) report ip-down
//! and then ip-up with the new values, as pppd does (a line `no-ip-down`:
//! the second ip-up alone). Its lines:
//!
//! ```text
//! local 10.64.1.3
//! dns 198.51.100.7 127.0.0.77:40053
//! ```
//!
//! each `dns` handed out, and where its queries are routed (a loopback
//! resolver standing in for the network's; without one, queries to it
//! get no answer). The file is consumed.
//!
//! While the link is up, a file `<run_dir>/sim/sms` (consumed) brings the
//! modem a new SMS, announced on the AT port with `+CMTI` as `AT+CNMI`
//! asked.
//!
//! While the link is up its interface carries traffic: its byte counters
//! ([`Plant::counters`]) grow by 10,000 bytes down and 1,000 up every
//! 100 ms, from 0 at each ip-up, as a new ppp interface's do.

use crate::config::Config;
use crate::dns::wire::{self, Rcode};
use crate::sys::poll;
use crate::uplink::ladder::Rung;
use crate::uplink::modem::Modem;
use crate::uplink::plant::{self, Plant, PppChild};
use crate::uplink::ppp::exit::Exit as PppExit;
use crate::uplink::ppp::hook::{self, Link, Notice};
use crate::uplink::ppp::run::Child;
use crate::uplink::sim::{Cure, SimConfig, SimModem, Wedge};
use crate::uplink::supervisor::{Device, DnsHealth, Exit, ModemStatus, PlantError, Ports};
use crate::uplink::usb::device::{SystemClock, Usb};
use crate::uplink::usb::sim::{Behavior, SimUsb};
use crate::uplink::usb::Table;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The simulated network's resolver, as the network hands it out.
pub const NETWORK_DNS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53));

/// Everything simulated, owned by the uplink thread.
pub struct SimWorld {
    cfg: Config,
    usb: SimUsb<SystemClock>,
    table: Table,
    // Kept alive: dropping them removes the ports.
    ppp: Arc<SimModem>,
    at: Arc<SimModem>,
    dns: SimDns,
    attaches: Arc<AtomicU32>,
    hook: PathBuf,
    state_dir: PathBuf,
    /// Where queries to the servers a renegotiation handed out go.
    routes: Routes,
    /// The simulated ppp interface's counters (None: no interface).
    iface: Iface,
}

type Iface = Arc<Mutex<Option<(u64, u64)>>>;

/// The traffic of a simulated link per 100 ms: (down, up) bytes.
pub const SIM_TRAFFIC: (u64, u64) = (10_000, 1_000);

type Routes = Arc<Mutex<Vec<(IpAddr, SocketAddr)>>>;

/// What a renegotiation hands out (the `renegotiate` file, parsed).
#[derive(Debug, Default, PartialEq, Eq)]
struct Renegotiation {
    local: Option<IpAddr>,
    dns: Vec<(IpAddr, Option<SocketAddr>)>,
    ip_down: bool,
}

fn parse_renegotiation(text: &str) -> Result<Renegotiation, String> {
    let mut r = Renegotiation {
        ip_down: true,
        ..Renegotiation::default()
    };
    for (n, line) in text.lines().enumerate() {
        let bad = |what: &str| format!("line {}: {what}: '{line}'", n + 1);
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            [] => {}
            ["local", a] => r.local = Some(a.parse().map_err(|_| bad("not an address"))?),
            ["dns", a] => r
                .dns
                .push((a.parse().map_err(|_| bad("not an address"))?, None)),
            ["dns", a, via] => r.dns.push((
                a.parse().map_err(|_| bad("not an address"))?,
                Some(via.parse().map_err(|_| bad("not an address:port"))?),
            )),
            ["no-ip-down"] => r.ip_down = false,
            _ => return Err(bad("expected local ADDR, dns ADDR [VIA], no-ip-down")),
        }
    }
    Ok(r)
}

impl SimWorld {
    /// Start the simulated modem, bus and network. `hook` is the uplink's
    /// hook socket, where the stand-in pppd reports ip-up and ip-down.
    pub fn start(cfg: &Config, hook: &Path) -> io::Result<SimWorld> {
        // The simulated SIM's PIN is 1234 whatever the configuration says,
        // so a wrong pincode meets a SIM that counts it.
        let generic = std::env::var_os("WARDEN_SIM_MODEM").is_some_and(|v| v == "generic");
        let modem = SimConfig {
            apn: cfg.uplink.apn.clone(),
            generic,
            ..SimConfig::default()
        };
        let modem = match generic {
            true => SimConfig {
                manufacturer: "Simulated".into(),
                model: "GSM modem".into(),
                ..modem
            },
            false => modem,
        };
        // Two ports of one modem share one SIM: the AT port simulates it
        // (PIN, attempts, PUK), and the PPP port dials once it is unlocked,
        // which warden's preparation on the AT port does first.
        let ppp = SimModem::spawn(SimConfig {
            pin: None,
            ..modem.clone()
        })?;
        let at = SimModem::spawn(modem)?;
        let usb = SimUsb::new(
            SystemClock::default(),
            Behavior::Switches,
            vec![ppp.path().to_path_buf(), at.path().to_path_buf()],
        )?;
        usb.set_appear_after(Duration::from_millis(1500));
        let state_dir = cfg.main.run_dir.join("sim");
        std::fs::create_dir_all(&state_dir)?;
        if let Some(w) = std::env::var_os("WARDEN_SIM_WEDGE") {
            let wedge = match w.to_str() {
                Some("cfun") => Wedge::Cfun,
                Some("usb_reset") => Wedge::UsbReset,
                Some("power") => Wedge::Power,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "WARDEN_SIM_WEDGE: expected cfun, usb_reset or power, got '{}'",
                            w.to_string_lossy()
                        ),
                    ))
                }
            };
            log::info!(
                "simulated modem: starts wedged (WARDEN_SIM_WEDGE={})",
                w.to_string_lossy()
            );
            ppp.wedge(Some(wedge));
            at.wedge(Some(wedge));
        }
        let mut cfg = cfg.clone();
        if generic {
            cfg.uplink.device = Some(ppp.path().to_path_buf());
            cfg.uplink.control_device = Some(at.path().to_path_buf());
        }
        Ok(SimWorld {
            cfg,
            usb,
            table: Table::builtin(),
            ppp: Arc::new(ppp),
            at: Arc::new(at),
            dns: SimDns::start()?,
            attaches: Arc::new(AtomicU32::new(0)),
            hook: hook.to_path_buf(),
            state_dir,
            routes: Routes::default(),
            iface: Iface::default(),
        })
    }
}

impl Plant for SimWorld {
    fn scan(&mut self) -> Device {
        let dev = self.usb.dev_root().to_path_buf();
        plant::scan_bus(&mut self.usb, &self.table, &dev, &self.cfg.uplink)
    }

    fn switch(&mut self) -> Result<(), PlantError> {
        plant::switch_bus(&mut self.usb, &self.table, self.cfg.uplink.switch_timeout)
    }

    fn ports(&mut self) -> Result<Ports, PlantError> {
        plant::find_ports(self.usb.sysfs_root(), self.usb.dev_root(), &self.cfg.uplink)
    }

    fn prepare(&mut self, at: &Path) -> Result<ModemStatus, Exit> {
        let mut m = Modem::open(at).map_err(|e| Exit::Transient(format!("modem: {e}")))?;
        plant::prepare_modem(
            &mut m,
            &self.cfg.uplink,
            &self.state_dir.join(crate::uplink::modem::pin::STORE_FILE),
        )
    }

    fn refresh(&mut self, at: &Path) -> Option<ModemStatus> {
        let mut m = Modem::open(at).ok()?;
        Some(plant::refresh_modem(&mut m, &self.cfg.uplink))
    }

    /// A real modem's answer to each rung: cfun is AT+CFUN=1,1 on the AT
    /// port (which restarts the whole modem, its PPP port too); a USB reset
    /// or a power cycle restarts it from outside.
    fn reset(&mut self, rung: Rung, at: Option<&Path>) -> Result<(), PlantError> {
        let cure = match rung {
            Rung::Redial => return Ok(()),
            Rung::Cfun => {
                let quick = crate::uplink::modem::Timeouts {
                    quick: Duration::from_secs(2),
                    slow: Duration::from_secs(3),
                    ..crate::uplink::modem::Timeouts::default()
                };
                plant::reset_modem_within(at, quick)?;
                self.ppp.cure(Cure::Cfun);
                return Ok(());
            }
            Rung::UsbReset => Cure::UsbReset,
            Rung::PortPower | Rung::Gpio => Cure::Power,
        };
        log::info!("simulated modem: {rung}: it restarts");
        self.ppp.cure(cure);
        self.at.cure(cure);
        Ok(())
    }

    fn spawn_pppd(&mut self, ppp: &Path) -> Result<PppChild, Exit> {
        let n = self.attaches.fetch_add(1, Ordering::SeqCst);
        let dns = if n == 0 {
            vec![
                IpAddr::V4(Ipv4Addr::new(10, 11, 12, 13)),
                IpAddr::V4(Ipv4Addr::new(10, 11, 12, 14)),
            ]
        } else {
            vec![NETWORK_DNS]
        };
        let job = SimPppdJob {
            tty: ppp.to_path_buf(),
            apn: self.cfg.uplink.apn.clone(),
            dialnumber: self.cfg.uplink.dialnumber.clone(),
            ifname: format!("3g-{}", self.cfg.uplink.interface),
            ipparam: self.cfg.uplink.interface.clone(),
            ipv6: self.cfg.uplink.ipv6 != crate::config::Ipv6::Off,
            dns,
            hook: self.hook.clone(),
            port: self.ppp.clone(),
            renegotiate: self.state_dir.join("renegotiate"),
            at: self.at.clone(),
            sms: self.state_dir.join("sms"),
            routes: self.routes.clone(),
            iface: self.iface.clone(),
        };
        SimPppd::spawn(job)
            .map(|c| Box::new(c) as PppChild)
            .map_err(|e| Exit::Transient(format!("simulated pppd: {e}")))
    }

    fn check_dns(&mut self, servers: &[IpAddr]) -> Vec<DnsHealth> {
        let u = &self.cfg.uplink;
        let resolver = self.dns.addr;
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        plant::check_peer_dns(servers, &u.probe_name, u.probe_timeout, |ip| {
            if ip == NETWORK_DNS {
                return Some(resolver);
            }
            routes.iter().find(|r| r.0 == ip).map(|r| r.1)
        })
    }

    fn counters(&mut self) -> Option<(u64, u64)> {
        *self.iface.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }
}

/// The network's resolver: answers every A query with 192.0.2.1.
struct SimDns {
    addr: SocketAddr,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

/// The name asked for in a DNS query, if it is one.
fn query_name(q: &[u8]) -> Option<String> {
    let mut i = wire::HEADER_LEN;
    let mut labels = Vec::new();
    loop {
        let n = *q.get(i)? as usize;
        i += 1;
        if n == 0 {
            break;
        }
        if n > wire::MAX_LABEL {
            return None;
        }
        labels.push(std::str::from_utf8(q.get(i..i + n)?).ok()?.to_string());
        i += n;
    }
    Some(labels.join("."))
}

impl SimDns {
    fn start() -> io::Result<SimDns> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        let addr = sock.local_addr()?;
        let (r, w) = pipe()?;
        let thread = std::thread::Builder::new()
            .name("sim-dns".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut buf = [0u8; 512];
                loop {
                    let mut fds = [poll_in(sock.as_raw_fd()), poll_in(r.as_raw_fd())];
                    if poll::poll(&mut fds, None).is_err() {
                        continue;
                    }
                    if fds[1].revents != 0 {
                        return;
                    }
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        continue;
                    };
                    let q = &buf[..n];
                    if let (Some(id), Some(name)) = (wire::peek_id(q), query_name(q)) {
                        let reply = wire::build_response(
                            id,
                            &name,
                            Rcode::NoError,
                            &[Ipv4Addr::new(192, 0, 2, 1)],
                        );
                        let _ = sock.send_to(&reply, from);
                    }
                }
            })?;
        Ok(SimDns {
            addr,
            stop: w,
            thread: Some(thread),
        })
    }
}

impl Drop for SimDns {
    fn drop(&mut self) {
        poke(self.stop.as_raw_fd());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn poll_in(fd: RawFd) -> libc::pollfd {
    poll::fd(fd, libc::POLLIN)
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn poke(fd: RawFd) {
    let b = 1u8;
    // SAFETY: writing one byte from a local to our own pipe.
    unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
}

/// What one run of the stand-in pppd does.
struct SimPppdJob {
    tty: PathBuf,
    apn: String,
    dialnumber: String,
    ifname: String,
    ipparam: String,
    /// IPv6CP too (pppd's +ipv6): ipv6-up reports the link-local address.
    ipv6: bool,
    dns: Vec<IpAddr>,
    hook: PathBuf,
    /// The simulated PPP port, hung up (DTR dropped) when pppd ends.
    port: Arc<SimModem>,
    /// The network's renegotiation, when this file appears.
    renegotiate: PathBuf,
    /// The AT port, which receives an SMS when the file `sms` appears.
    at: Arc<SimModem>,
    sms: PathBuf,
    routes: Routes,
    iface: Iface,
}

/// The stand-in pppd: a thread with pppd's exit codes.
pub struct SimPppd {
    id: u32,
    stop: OwnedFd,
    done: OwnedFd,
    exit: Arc<Mutex<Option<PppExit>>>,
    reaped: Option<PppExit>,
    thread: Option<JoinHandle<()>>,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl SimPppd {
    fn spawn(job: SimPppdJob) -> io::Result<SimPppd> {
        let (stop_r, stop_w) = pipe()?;
        let (done_r, done_w) = pipe()?;
        let exit = Arc::new(Mutex::new(None));
        let ex = exit.clone();
        let thread = std::thread::Builder::new()
            .name("sim-pppd".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let code = run_and_hang_up(&job, stop_r.as_raw_fd());
                if let Ok(mut e) = ex.lock() {
                    *e = Some(PppExit::Code(code));
                }
                poke(done_w.as_raw_fd());
            })?;
        Ok(SimPppd {
            id: 100_000 + NEXT_ID.fetch_add(1, Ordering::SeqCst),
            stop: stop_w,
            done: done_r,
            exit,
            reaped: None,
            thread: Some(thread),
        })
    }
}

impl Drop for SimPppd {
    fn drop(&mut self) {
        poke(self.stop.as_raw_fd());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Child for SimPppd {
    fn pid(&self) -> u32 {
        self.id
    }

    fn try_wait(&mut self) -> io::Result<Option<PppExit>> {
        if self.reaped.is_none() {
            self.reaped = *self.exit.lock().unwrap_or_else(|p| p.into_inner());
            if self.reaped.is_some() {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
            }
        }
        Ok(self.reaped)
    }

    fn signal(&mut self, _sig: i32) -> io::Result<()> {
        poke(self.stop.as_raw_fd());
        Ok(())
    }

    fn exit_fd(&self) -> Option<RawFd> {
        Some(self.done.as_raw_fd())
    }
}

/// Wait up to `t` for `fd` to be readable (or hang up); false on timeout.
fn readable(fd: RawFd, stop: RawFd, t: Duration) -> Result<bool, i32> {
    let mut fds = [poll_in(fd), poll_in(stop)];
    let n = poll::poll(&mut fds, Some(t)).unwrap_or(0);
    if fds[1].revents != 0 {
        return Err(5);
    }
    Ok(n > 0)
}

/// Talk one command, wait for `want` (or a failure), like chat(8).
fn chat(tty: &mut std::fs::File, stop: RawFd, send: &str, want: &str) -> Result<(), i32> {
    tty.write_all(format!("{send}\r").as_bytes())
        .map_err(|_| 8)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = String::new();
    let mut buf = [0u8; 256];
    while !got.contains(want) {
        if ["ERROR", "NO CARRIER", "BUSY"]
            .iter()
            .any(|f| got.contains(f))
        {
            return Err(8);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !readable(tty.as_raw_fd(), stop, left)? {
            return Err(8);
        }
        match tty.read(&mut buf) {
            Ok(0) | Err(_) => return Err(16),
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    Ok(())
}

fn run_pppd(job: &SimPppdJob, stop: RawFd) -> i32 {
    let mut tty = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&job.tty)
    {
        Ok(f) => f,
        Err(_) => return 7,
    };
    // Like a fresh open of a tty: nothing left over from the last call
    // (its NO CARRIER) is read as this call's answer.
    // SAFETY: tcflush on a descriptor we own.
    unsafe { libc::tcflush(tty.as_raw_fd(), libc::TCIFLUSH) };
    let connect = chat(&mut tty, stop, "AT", "OK")
        .and_then(|_| {
            chat(
                &mut tty,
                stop,
                &format!("AT+CGDCONT=1,\"IP\",\"{}\"", job.apn),
                "OK",
            )
        })
        .and_then(|_| chat(&mut tty, stop, &format!("ATD{}", job.dialnumber), "CONNECT"));
    if let Err(code) = connect {
        return code;
    }
    let mut link = Link {
        ifname: job.ifname.clone(),
        tty: job.tty.display().to_string(),
        local: Some(IpAddr::V4(Ipv4Addr::new(10, 64, 1, 2))),
        remote: Some(IpAddr::V4(Ipv4Addr::new(10, 64, 64, 64))),
        dns: job.dns.clone(),
        ipparam: job.ipparam.clone(),
    };
    let set_iface = |v: Option<(u64, u64)>| {
        *job.iface.lock().unwrap_or_else(|p| p.into_inner()) = v;
    };
    set_iface(Some((0, 0)));
    if let Err(e) = hook::send(&job.hook, &Notice::PppUp(link.clone())) {
        log::warn!("simulated pppd: ip-up: {e}");
    }
    if job.ipv6 {
        let ll = IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5c3e, 0, 0, 1));
        let _ = hook::send(&job.hook, &Notice::Ppp6(Some(ll)));
    }
    // Up until told to stop or the modem hangs up.
    let code = loop {
        let mut fds = [poll_in(tty.as_raw_fd()), poll_in(stop)];
        if poll::poll(&mut fds, Some(Duration::from_millis(100))).unwrap_or(0) == 0 {
            if let Ok(mut c) = job.iface.lock() {
                if let Some((rx, tx)) = c.as_mut() {
                    *rx += SIM_TRAFFIC.0;
                    *tx += SIM_TRAFFIC.1;
                }
            }
            renegotiate(job, &mut link);
            if std::fs::remove_file(&job.sms).is_ok() {
                job.at.receive_sms();
            }
            continue;
        }
        if fds[1].revents != 0 {
            break 5;
        }
        if fds[0].revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            break 16;
        }
        let mut buf = [0u8; 256];
        if matches!(tty.read(&mut buf), Ok(0) | Err(_)) {
            break 16;
        }
    };
    set_iface(None);
    let _ = hook::send(&job.hook, &Notice::PppDown(link));
    code
}

/// When the network renegotiates (the `renegotiate` file is there):
/// ip-down, then ip-up with what it hands out, as pppd's ipcp_down and
/// ipcp_up run the scripts.
fn renegotiate(job: &SimPppdJob, link: &mut Link) {
    let Ok(text) = std::fs::read_to_string(&job.renegotiate) else {
        return;
    };
    let _ = std::fs::remove_file(&job.renegotiate);
    let r = match parse_renegotiation(&text) {
        Ok(r) => r,
        Err(e) => {
            log::warn!("simulated network: {}: {e}", job.renegotiate.display());
            return;
        }
    };
    log::info!("simulated network: renegotiating IPCP");
    if r.ip_down {
        let _ = hook::send(&job.hook, &Notice::PppDown(link.clone()));
    }
    if let Some(a) = r.local {
        link.local = Some(a);
    }
    if !r.dns.is_empty() {
        link.dns = r.dns.iter().map(|d| d.0).collect();
        if let Ok(mut routes) = job.routes.lock() {
            for (ip, via) in &r.dns {
                routes.retain(|x| x.0 != *ip);
                if let Some(via) = via {
                    routes.push((*ip, *via));
                }
            }
        }
    }
    if let Err(e) = hook::send(&job.hook, &Notice::PppUp(link.clone())) {
        log::warn!("simulated pppd: ip-up: {e}");
    }
}

/// pppd's end as the modem sees it: the port closes and DTR drops, so the
/// modem hangs up and returns to command mode.
fn run_and_hang_up(job: &SimPppdJob, stop: RawFd) -> i32 {
    let code = run_pppd(job, stop);
    job.port.hang_up();
    // pppd has exited only once the modem is back in command mode.
    let deadline = Instant::now() + Duration::from_secs(2);
    while job.port.stats().online && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names() {
        let q = wire::build_query(7, "probe.test").unwrap();
        assert_eq!(query_name(&q).as_deref(), Some("probe.test"));
        assert_eq!(query_name(&q[..14]), None);
        assert_eq!(query_name(&[]), None);
    }

    #[test]
    fn renegotiation_files() {
        let r =
            parse_renegotiation("local 10.64.1.3\ndns 198.51.100.7 127.0.0.77:40053\n").unwrap();
        assert_eq!(r.local, Some("10.64.1.3".parse().unwrap()));
        assert_eq!(
            r.dns,
            [(
                "198.51.100.7".parse().unwrap(),
                Some("127.0.0.77:40053".parse().unwrap())
            )]
        );
        assert!(r.ip_down);
        assert!(!parse_renegotiation("no-ip-down\n").unwrap().ip_down);
        let e = parse_renegotiation("dns 1.2.3\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("1.2.3"), "{e}");
        assert!(parse_renegotiation("frob\n").is_err());
    }

    #[test]
    fn the_network_resolver_answers() {
        let dns = SimDns::start().unwrap();
        let out = plant::check_peer_dns(
            &[NETWORK_DNS],
            "openwrt.org",
            Duration::from_secs(2),
            |ip| (ip == NETWORK_DNS).then_some(dns.addr),
        );
        assert!(out[0].healthy, "{out:?}");
    }
}
