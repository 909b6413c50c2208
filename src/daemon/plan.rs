//! What a reload does, decided without I/O: which services to start, stop,
//! restart or hand the new configuration to, and which changed options
//! cannot take effect until the daemon restarts. `daemon.rs` carries the
//! plan out.
//!
//! Every option of every section is placed here (the structs are
//! destructured without `..`, so a new option does not compile until it
//! is): it is either
//!
//! - a selection (`enabled`, `signer agent`): the service starts or stops;
//! - applied by the running service on [`Event::Reload`](crate::service::Event)
//!   (connection limits, peer lists, policies, socket paths: the factotum,
//!   the keyfs tree and the agent move to a new socket in place, keeping
//!   their connections and state; the ticket service rebinds);
//! - applied by restarting that one service (the signer's `listen`; any
//!   uplink option, which redials the link), with a log line saying so;
//! - fixed until the daemon restarts (`run_dir`, and the keyfs handle's
//!   `file`, `mode`, `keyfile`, `kdf_iterations`): the new value is
//!   logged as taking a restart and the old one stays in force, so the
//!   services and the next reload agree with what is running.

#[cfg(feature = "auth")]
use crate::config::model::{Authsrv, Factotum, Keyfs, KeyfsMode, Secstore, Signer};
use crate::config::model::{Main, Uplink};
use crate::config::Config;

/// A service the daemon can run. The order is the start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Keyfs,
    Authsrv,
    Uplink,
    Signer,
    Agent,
    Factotum,
    Secstore,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Keyfs,
        Kind::Authsrv,
        Kind::Uplink,
        Kind::Signer,
        Kind::Agent,
        Kind::Factotum,
        Kind::Secstore,
    ];

    /// The service's name (its thread's, and in logs).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Keyfs => "keyfs",
            Kind::Authsrv => "authsrv",
            Kind::Uplink => "uplink",
            Kind::Signer => "signer",
            Kind::Agent => "agent",
            Kind::Factotum => "factotum",
            Kind::Secstore => "secstore",
        }
    }

    /// Enabled and built in: a build without the `auth` feature runs the
    /// uplink alone ([`selection_notes`] says what it leaves out).
    fn enabled(self, cfg: &Config, simulate: bool) -> bool {
        self.configured(cfg, simulate) && (cfg!(feature = "auth") || self == Kind::Uplink)
    }

    /// Enabled by the configuration.
    fn configured(self, cfg: &Config, simulate: bool) -> bool {
        match self {
            Kind::Keyfs => cfg.keyfs.enabled,
            Kind::Authsrv => cfg.authsrv.enabled,
            Kind::Uplink => cfg.uplink.enabled || cfg.uplink.simulate || simulate,
            Kind::Signer => cfg.signer.enabled,
            Kind::Agent => cfg.signer.agent,
            Kind::Factotum => cfg.factotum.enabled,
            Kind::Secstore => cfg.secstore.enabled,
        }
    }
}

/// The services `cfg` enables, in start order (`simulate`: the daemon was
/// started with `--simulate`, which runs the uplink whatever the file says).
pub fn wanted(cfg: &Config, simulate: bool) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| k.enabled(cfg, simulate))
        .collect()
}

/// Why a build without the `auth` feature starts no auth service.
pub const NO_AUTH: &str =
    "this warden is built without the auth services (the warden-uplink package; install warden for them)";

/// Warnings about the selection itself.
pub fn selection_notes(cfg: &Config) -> Vec<String> {
    let mut v = Vec::new();
    if !cfg!(feature = "auth") {
        for k in Kind::ALL {
            if k != Kind::Uplink && k.configured(cfg, false) {
                v.push(format!(
                    "{} is enabled in the configuration: not started: {NO_AUTH}",
                    k.name()
                ));
            }
        }
        return v;
    }
    if !cfg.keyfs.enabled
        && (cfg.authsrv.enabled || cfg.signer.enabled || cfg.signer.agent || cfg.secstore.enabled)
    {
        v.push("keyfs is disabled: the auth server and the signer find it locked".into());
    }
    v
}

/// What a reload does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Running services no longer enabled: stop them.
    pub stop: Vec<Kind>,
    /// Running services whose changed options take a restart of the
    /// service: stop them, then start them again.
    pub restart: Vec<Kind>,
    /// Enabled services not running (newly enabled, or ended on an
    /// error): start them.
    pub start: Vec<Kind>,
    /// Running services that stay: hand them the new configuration.
    pub reload: Vec<Kind>,
    /// keyfs was disabled: lock it (the others find it locked, as they
    /// would have at start).
    pub lock_keyfs: bool,
    /// The configuration in force from now on: the new one, with the
    /// options that take a daemon restart kept as they were.
    pub config: Config,
    /// Warnings for the log: options that take a restart, services
    /// restarted and why. They name options, never values.
    pub notes: Vec<String>,
}

/// Decide a reload: `old` is the configuration in force (the previous
/// plan's [`Plan::config`], or the one the daemon started with), `new` the
/// file just read, `running` the services whose threads still run.
pub fn plan(old: &Config, new: &Config, running: &[Kind], simulate: bool) -> Plan {
    let mut notes = Vec::new();
    let config = pin(old, new, &mut notes);
    let want = wanted(&config, simulate);
    let mut p = Plan {
        stop: Vec::new(),
        restart: Vec::new(),
        start: Vec::new(),
        reload: Vec::new(),
        lock_keyfs: old.keyfs.enabled && !config.keyfs.enabled,
        config: Config::default(),
        notes: Vec::new(),
    };
    for k in Kind::ALL {
        let run = running.contains(&k);
        match (run, want.contains(&k)) {
            (true, false) => p.stop.push(k),
            (false, true) => p.start.push(k),
            (true, true) => match restart_reason(k, old, &config, simulate) {
                Some(why) => {
                    notes.push(why);
                    p.restart.push(k);
                }
                None => p.reload.push(k),
            },
            (false, false) => {}
        }
    }
    notes.extend(selection_notes(&config));
    p.config = config;
    p.notes = notes;
    p
}

/// `new` with the options that take a daemon restart set back to `old`'s,
/// each such change noted.
fn pin(old: &Config, new: &Config, notes: &mut Vec<String>) -> Config {
    let mut c = new.clone();
    let main = main_fixed(&old.main, &new.main);
    if !main.is_empty() {
        c.main.run_dir = old.main.run_dir.clone();
        notes.push(takes_restart("main", &main));
    }
    // warden-uplink reads no auth section: they are all their defaults.
    #[cfg(feature = "auth")]
    auth_pin(old, new, &mut c, notes);
    c
}

/// [`pin`] for the auth services' sections.
#[cfg(feature = "auth")]
fn auth_pin(old: &Config, new: &Config, c: &mut Config, notes: &mut Vec<String>) {
    let keyfs = keyfs_fixed(&old.keyfs, &new.keyfs);
    if !keyfs.is_empty() {
        c.keyfs.file = old.keyfs.file.clone();
        c.keyfs.mode = old.keyfs.mode;
        c.keyfs.keyfile = old.keyfs.keyfile.clone();
        c.keyfs.kdf_iterations = old.keyfs.kdf_iterations;
        notes.push(takes_restart("keyfs", &keyfs));
    }
    // The factotum and the ticket service apply every option.
    placed_factotum(&new.factotum);
    placed_authsrv(&new.authsrv);
}

fn takes_restart(section: &str, names: &[&str]) -> String {
    format!(
        "{section}: {} changed: takes a restart; the old value stays in force",
        names.join(", ")
    )
}

/// Why running service `k` must be restarted to apply `new`, if it must.
fn restart_reason(k: Kind, old: &Config, new: &Config, simulate: bool) -> Option<String> {
    let changed = match k {
        Kind::Uplink => {
            let mut v = uplink_changes(&old.uplink, &new.uplink, simulate);
            if old.main.state_dir != new.main.state_dir {
                v.push("state_dir");
            }
            v
        }
        #[cfg(feature = "auth")]
        Kind::Signer => signer_restarts(&old.signer, &new.signer),
        #[cfg(feature = "auth")]
        Kind::Secstore => secstore_restarts(&old.secstore, &new.secstore),
        _ => Vec::new(),
    };
    if changed.is_empty() {
        return None;
    }
    let what = match k {
        Kind::Uplink => "restarting the uplink (the link is redialed)",
        Kind::Secstore => "restarting secstore",
        _ => "restarting the signer",
    };
    Some(format!(
        "{}: {} changed: {what}",
        k.name(),
        changed.join(", ")
    ))
}

/// Push the names of the fields that differ between `$a` and `$b`, in
/// their order: the comparisons into one array, the names pushed by one
/// loop ([`push_differing`]; a push per field was about 2 KB on mips).
macro_rules! differ {
    ($v:ident, $a:expr, $b:expr, $($f:ident),* $(,)?) => {
        push_differing(&mut $v, &[$(stringify!($f)),*], &[$($a.$f == $b.$f),*])
    };
}

/// The `names` whose `same` is false, onto `v`.
fn push_differing(v: &mut Vec<&'static str>, names: &[&'static str], same: &[bool]) {
    for (n, s) in names.iter().zip(same) {
        if !s {
            v.push(n);
        }
    }
}

/// `main`: `log_level` the daemon applies at once; `state_dir` is the
/// uplink's (see [`restart_reason`]); `run_dir` holds every socket and the
/// uplink's hook socket pppd was started with: fixed.
fn main_fixed(a: &Main, b: &Main) -> Vec<&'static str> {
    let Main {
        log_level: _,
        run_dir: _,
        state_dir: _,
    } = a;
    let mut v = Vec::new();
    differ!(v, a, b, run_dir);
    v
}

/// `keyfs`: the daemon's one keyfs handle (shared by every service, so it
/// stays unlocked across reloads) is made at start from `file`, `mode`,
/// `keyfile` and `kdf_iterations`: fixed. `socket` and `conns` the keyfs
/// tree applies, `otp_window` the signer.
#[cfg(feature = "auth")]
fn keyfs_fixed(a: &Keyfs, b: &Keyfs) -> Vec<&'static str> {
    let Keyfs {
        enabled: _,
        file: _,
        mode: _,
        keyfile: _,
        kdf_iterations: _,
        otp_window: _,
        socket: _,
        conns: _,
    } = a;
    let mut v = Vec::new();
    differ!(v, a, b, file, mode, kdf_iterations);
    // The key file only matters unattended.
    let unattended = a.mode == KeyfsMode::Unattended || b.mode == KeyfsMode::Unattended;
    if unattended && a.keyfile != b.keyfile {
        v.push("keyfile");
    }
    v
}

/// `factotum`: the service moves to a new `socket` in place and applies
/// `allow_uid`, `allow_gid`, `conns` and `confirm_wait`.
#[cfg(feature = "auth")]
fn placed_factotum(a: &Factotum) {
    let Factotum {
        enabled: _,
        socket: _,
        allow_uid: _,
        allow_gid: _,
        conns: _,
        confirm_wait: _,
    } = a;
}

/// `authsrv`: the ticket service rebinds with the new options whenever
/// they change (its connections are closed then).
#[cfg(feature = "auth")]
fn placed_authsrv(a: &Authsrv) {
    let Authsrv {
        enabled: _,
        listen: _,
        authdom: _,
        speaksfor: _,
        allow_passwd: _,
        p9sk1: _,
        conns: _,
    } = a;
}

/// `secstore`: a new `listen` restarts it (its open connections are
/// lost); `name` and `conns` it applies.
#[cfg(feature = "auth")]
fn secstore_restarts(a: &Secstore, b: &Secstore) -> Vec<&'static str> {
    let Secstore {
        enabled: _,
        listen: _,
        name: _,
        conns: _,
    } = a;
    let mut v = Vec::new();
    differ!(v, a, b, listen);
    v
}

/// `signer`: a new `listen` restarts the signer (nothing of it but its
/// open connections is lost); `max_validity` and `conns` it applies; `krl`
/// is read by `warden cert krl`, not the daemon. The agent's options the
/// agent applies, moving to a new `agent_socket` in place (keys added
/// with a lifetime live only in its memory, so it is not restarted).
#[cfg(feature = "auth")]
fn signer_restarts(a: &Signer, b: &Signer) -> Vec<&'static str> {
    let Signer {
        enabled: _,
        listen: _,
        max_validity: _,
        krl: _,
        agent: _,
        agent_socket: _,
        agent_uids: _,
        agent_confirm: _,
        conns: _,
        agent_conns: _,
    } = a;
    let mut v = Vec::new();
    differ!(v, a, b, listen);
    v
}

/// `uplink`: the uplink service reads its options when it starts, so any
/// change but `enabled` (the selection) restarts it.
fn uplink_changes(a: &Uplink, b: &Uplink, simulate: bool) -> Vec<&'static str> {
    let Uplink {
        enabled: _,
        simulate: _,
        apn: _,
        dialnumber: _,
        pincode: _,
        service: _,
        dialect: _,
        interface: _,
        pppd: _,
        pppd_options: _,
        username: _,
        password: _,
        keepalive: _,
        keepalive_adaptive: _,
        pppname: _,
        localip: _,
        authfail: _,
        connect: _,
        disconnect: _,
        delay: _,
        ipv6: _,
        reqprefix: _,
        norelease: _,
        sourcefilter: _,
        delegate: _,
        mtu: _,
        defaultroute: _,
        peerdns: _,
        dns_check: _,
        probe_name: _,
        probe_interval: _,
        probe_timeout: _,
        fallback_dns: _,
        backoff_initial: _,
        backoff_max: _,
        backoff_stable: _,
        reset_after: _,
        reset_ladder: _,
        escalate_after: _,
        min_interval: _,
        gpio_power: _,
        power_off_time: _,
        device: _,
        control_device: _,
        switch_timeout: _,
        rescan_interval: _,
        modeswitch_data: _,
        sms_spool: _,
        sms_log_text: _,
        quota: _,
    } = a;
    let mut v = Vec::new();
    // With --simulate the option changes nothing.
    if !simulate {
        differ!(v, a, b, simulate);
    }
    differ!(
        v,
        a,
        b,
        apn,
        dialnumber,
        pincode,
        service,
        dialect,
        interface,
        pppd,
        pppd_options,
        username,
        password,
        keepalive,
        keepalive_adaptive,
        pppname,
        localip,
        authfail,
        connect,
        disconnect,
        delay,
        ipv6,
        reqprefix,
        norelease,
        sourcefilter,
        delegate,
        mtu,
        defaultroute,
        peerdns,
        dns_check,
        probe_name,
        probe_interval,
        probe_timeout,
        fallback_dns,
        backoff_initial,
        backoff_max,
        backoff_stable,
        reset_after,
        reset_ladder,
        escalate_after,
        min_interval,
        gpio_power,
        power_off_time,
        device,
        control_device,
        switch_timeout,
        rescan_interval,
        modeswitch_data,
        sms_spool,
        sms_log_text,
        quota,
    );
    v
}

/// warden-uplink (no `auth` feature): the uplink alone runs, and each
/// auth service the configuration enables is named once in the log.
#[cfg(all(test, not(feature = "auth")))]
mod uplink_only_tests {
    use super::*;

    #[test]
    fn only_the_uplink_runs_and_the_rest_is_named() {
        let mut c = Config::default();
        c.factotum.enabled = true;
        c.keyfs.enabled = true;
        c.signer.agent = true;
        assert_eq!(wanted(&c, false), [Kind::Uplink]);
        assert_eq!(wanted(&c, true), [Kind::Uplink]);
        c.uplink.enabled = false;
        assert!(wanted(&c, false).is_empty());
        let notes = selection_notes(&c);
        assert_eq!(notes.len(), 3, "{notes:?}");
        for (n, k) in notes.iter().zip(["keyfs", "agent", "factotum"]) {
            assert!(n.starts_with(&format!("{k} is enabled")), "{n}");
            assert!(n.ends_with(NO_AUTH), "{n}");
        }
        c.factotum.enabled = false;
        c.keyfs.enabled = false;
        c.signer.agent = false;
        assert!(selection_notes(&c).is_empty());
    }
}

#[cfg(all(test, feature = "auth"))]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    /// The shipped defaults with the uplink off (as on OpenWRT, where
    /// netifd runs it) and keyfs and the factotum on.
    fn base() -> Config {
        let mut c = Config::default();
        c.uplink.enabled = false;
        c
    }

    fn running(c: &Config) -> Vec<Kind> {
        wanted(c, false)
    }

    #[test]
    fn wanted_follows_the_selection_in_start_order() {
        let mut c = base();
        assert_eq!(wanted(&c, false), [Kind::Keyfs, Kind::Factotum]);
        assert_eq!(
            wanted(&c, true),
            [Kind::Keyfs, Kind::Uplink, Kind::Factotum],
            "--simulate runs the uplink"
        );
        c.signer.agent = true;
        c.signer.enabled = true;
        c.authsrv.enabled = true;
        c.uplink.simulate = true;
        c.factotum.enabled = false;
        assert_eq!(
            wanted(&c, false),
            [
                Kind::Keyfs,
                Kind::Authsrv,
                Kind::Uplink,
                Kind::Signer,
                Kind::Agent
            ]
        );
    }

    #[test]
    fn nothing_changed_reloads_everything_running() {
        let c = base();
        let p = plan(&c, &c, &running(&c), false);
        assert_eq!(p.reload, [Kind::Keyfs, Kind::Factotum]);
        assert!(p.start.is_empty() && p.stop.is_empty() && p.restart.is_empty());
        assert!(!p.lock_keyfs);
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(p.config, c);
    }

    #[test]
    fn enabling_starts_and_disabling_stops() {
        let old = base();
        let mut new = old.clone();
        new.signer.agent = true;
        new.signer.enabled = true;
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(p.start, [Kind::Signer, Kind::Agent]);
        assert_eq!(p.reload, [Kind::Keyfs, Kind::Factotum]);
        assert!(p.stop.is_empty() && p.restart.is_empty());
        assert!(p.notes.is_empty(), "{:?}", p.notes);

        let back = plan(&new, &old, &running(&new), false);
        assert_eq!(back.stop, [Kind::Signer, Kind::Agent]);
        assert_eq!(back.reload, [Kind::Keyfs, Kind::Factotum]);
        assert!(back.start.is_empty());
        assert!(!back.lock_keyfs, "keyfs stays as it is");
    }

    #[test]
    fn a_service_that_ended_is_started_again() {
        let mut c = base();
        c.signer.enabled = true;
        let p = plan(&c, &c, &[Kind::Keyfs, Kind::Factotum], false);
        assert_eq!(p.start, [Kind::Signer]);
    }

    #[test]
    fn disabling_keyfs_locks_it_and_says_who_finds_it_locked() {
        let mut old = base();
        old.signer.agent = true;
        let mut new = old.clone();
        new.keyfs.enabled = false;
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(p.stop, [Kind::Keyfs]);
        assert_eq!(p.reload, [Kind::Agent, Kind::Factotum]);
        assert!(p.lock_keyfs);
        assert!(
            p.notes.iter().any(|n| n.contains("find it locked")),
            "{:?}",
            p.notes
        );
        // Enabling it again starts the tree (it unlocks as at start).
        let p = plan(&new, &old, &running(&new), false);
        assert_eq!(p.start, [Kind::Keyfs]);
        assert!(!p.lock_keyfs);
    }

    #[test]
    fn options_services_apply_are_reloads_without_notes() {
        let mut old = base();
        old.signer.enabled = true;
        old.signer.agent = true;
        old.authsrv.enabled = true;
        old.authsrv.authdom = "home".into();
        let mut new = old.clone();
        new.main.log_level = log::LevelFilter::Debug;
        new.factotum.socket = Some(PathBuf::from("/tmp/f"));
        new.factotum.allow_uid = vec![1000];
        new.factotum.conns.max_conns = 7;
        new.keyfs.socket = Some(PathBuf::from("/tmp/k"));
        new.keyfs.otp_window = 3;
        new.keyfs.conns.idle = Duration::from_secs(5);
        new.authsrv.listen = "127.0.0.1:1567".into();
        new.authsrv.speaksfor = vec!["glenda *".into()];
        new.signer.max_validity = Duration::from_secs(60);
        new.signer.krl = PathBuf::from("/tmp/krl");
        new.signer.agent_socket = Some(PathBuf::from("/tmp/agent"));
        new.signer.agent_uids = vec![1000];
        new.signer.agent_confirm = crate::config::model::ConfirmPolicy::Allow;
        new.signer.agent_conns.per_peer = 2;
        new.uplink.apn = "elsewhere".into(); // the uplink is not running
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(
            p.reload,
            [
                Kind::Keyfs,
                Kind::Authsrv,
                Kind::Signer,
                Kind::Agent,
                Kind::Factotum
            ]
        );
        assert!(p.restart.is_empty() && p.start.is_empty() && p.stop.is_empty());
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(p.config, new, "every option in force");
    }

    #[test]
    fn a_new_signer_address_restarts_the_signer() {
        let mut old = base();
        old.signer.enabled = true;
        let mut new = old.clone();
        new.signer.listen = "127.0.0.1:6673".into();
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(p.restart, [Kind::Signer]);
        assert_eq!(p.notes, ["signer: listen changed: restarting the signer"]);
        assert_eq!(p.config.signer.listen, "127.0.0.1:6673");
        // Newly enabled with the new address: just started.
        let p = plan(&base(), &new, &running(&base()), false);
        assert_eq!(p.start, [Kind::Signer]);
        assert!(p.restart.is_empty() && p.notes.is_empty());
    }

    #[test]
    fn uplink_changes_restart_the_uplink_and_are_named_without_values() {
        let mut old = base();
        old.uplink.enabled = true;
        let mut new = old.clone();
        new.uplink.apn = "other.apn".into();
        new.uplink.pincode = crate::config::model::Secret(zeroize::Zeroizing::new("4321".into()));
        new.main.state_dir = PathBuf::from("/overlay/warden");
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(p.restart, [Kind::Uplink]);
        assert_eq!(
            p.notes,
            ["uplink: apn, pincode, state_dir changed: restarting the uplink (the link is redialed)"]
        );
        assert!(!p.notes.concat().contains("4321"), "no secret in the log");
        assert_eq!(p.config, new);
        // With --simulate, the simulate option changes nothing.
        let mut sim = old.clone();
        sim.uplink.simulate = true;
        let p = plan(&old, &sim, &running(&old), true);
        assert_eq!(p.reload, [Kind::Keyfs, Kind::Uplink, Kind::Factotum]);
        let p = plan(&old, &sim, &running(&old), false);
        assert_eq!(p.restart, [Kind::Uplink]);
        // Turning the real uplink off while simulating keeps it running.
        let mut off = sim.clone();
        off.uplink.enabled = false;
        let p = plan(&sim, &off, &running(&sim), false);
        assert!(p.reload.contains(&Kind::Uplink) && p.stop.is_empty());
    }

    #[test]
    fn what_takes_a_daemon_restart_is_named_and_kept() {
        let mut old = base();
        old.signer.agent = true;
        let mut new = old.clone();
        new.main.run_dir = PathBuf::from("/tmp/elsewhere");
        new.keyfs.file = PathBuf::from("/tmp/keys");
        new.keyfs.kdf_iterations = 5000;
        new.keyfs.keyfile = PathBuf::from("/tmp/keys.key"); // attended: unused
        new.signer.agent_uids = vec![1000];
        let p = plan(&old, &new, &running(&old), false);
        assert_eq!(
            p.notes,
            [
                "main: run_dir changed: takes a restart; the old value stays in force",
                "keyfs: file, kdf_iterations changed: takes a restart; the old value stays in force",
            ]
        );
        assert_eq!(p.reload, [Kind::Keyfs, Kind::Agent, Kind::Factotum]);
        assert_eq!(p.config.main.run_dir, old.main.run_dir);
        assert_eq!(p.config.keyfs.file, old.keyfs.file);
        assert_eq!(p.config.keyfs.kdf_iterations, old.keyfs.kdf_iterations);
        assert_eq!(p.config.signer.agent_uids, [1000], "the rest applies");
        // Still different at the next reload: still named.
        let again = plan(&p.config, &new, &p.reload, false);
        assert_eq!(again.notes, p.notes);
        // Unattended, the key file is named too.
        let mut un = old.clone();
        un.keyfs.mode = KeyfsMode::Unattended;
        let mut un2 = un.clone();
        un2.keyfs.keyfile = PathBuf::from("/tmp/other.key");
        let p = plan(&un, &un2, &running(&un), false);
        assert_eq!(
            p.notes,
            ["keyfs: keyfile changed: takes a restart; the old value stays in force"]
        );
        assert_eq!(p.config.keyfs.keyfile, un.keyfs.keyfile);
    }
}
