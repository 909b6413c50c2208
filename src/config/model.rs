//! The typed configuration model and the checks that build it from [`Raw`].
//!
//! Each section type is a struct with `Default` (the built-in defaults) and a
//! `from_section` that reads its options through [`Options`], which types
//! each value, reports errors with `file:line`, and warns about options it
//! was never asked for. Add an option: a field, its default, one line in
//! `from_section`, and the same option in `uci/warden`.

use super::vocab::{self, Keepalive, Rules, Rung};
use super::{ConfigError, Located, Raw, RawSection, RawValue, Warning};
use std::cell::Cell;
use std::mem::take;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub main: Main,
    pub uplink: Uplink,
    pub factotum: Factotum,
    pub keyfs: Keyfs,
    pub authsrv: Authsrv,
    pub signer: Signer,
    pub secstore: Secstore,
}

impl Config {
    /// Every file in which warden keeps state across restarts, for this
    /// configuration: the key file and its previous generation (and the
    /// unreadable one it keeps after a recovery), the unattended
    /// passphrase file, the rejected-PIN memory, the KRL and secstore's
    /// directory of stored files (beside the key file). A new state
    /// file belongs here: the package's sysupgrade keep list is checked
    /// against it (tests/package.rs).
    pub fn state_files(&self) -> Vec<PathBuf> {
        let keys = &self.keyfs.file;
        // As keyfs names them (keyfs::store::sibling).
        let sibling = |suffix: &str| {
            let mut s = keys.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        vec![
            keys.clone(),
            sibling(".bak"),
            sibling(".unreadable"),
            self.keyfs.keyfile.clone(),
            self.main.pin_store(),
            self.main.state_dir.join(format!(
                "{}{}",
                crate::config::vocab::FILE_PREFIX,
                self.uplink.interface
            )),
            self.signer.krl.clone(),
            crate::config::vocab::secstore_root(keys),
        ]
    }
}

/// Log verbosity, as `log` understands it.
pub type LogLevel = log::LevelFilter;

/// `config warden 'main'`: process-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Main {
    pub log_level: LogLevel,
    /// Directory for sockets and runtime state.
    pub run_dir: PathBuf,
    /// Directory for state kept across restarts and reboots (on flash):
    /// the rejected-PIN memory. An absolute path.
    pub state_dir: PathBuf,
}

impl Default for Main {
    fn default() -> Self {
        Main {
            log_level: LogLevel::Info,
            run_dir: PathBuf::from("/var/run/warden"),
            state_dir: PathBuf::from("/etc/warden"),
        }
    }
}

impl Main {
    /// The file remembering PINs the SIM rejected: `<state_dir>/pin-rejected`.
    pub fn pin_store(&self) -> PathBuf {
        self.state_dir.join(vocab::PIN_STORE_FILE)
    }
}

/// `config uplink`: the 3G link. Options shared with OpenWRT's comgt `3g`
/// protocol keep its names (apn, dialnumber, username, password, keepalive,
/// pppd_options, mtu).
#[derive(Debug, Clone, PartialEq)]
pub struct Uplink {
    pub enabled: bool,
    /// Run on the built-in simulated modem instead of real hardware.
    pub simulate: bool,
    pub apn: String,
    pub dialnumber: String,
    /// The SIM PIN, entered only when warden judges it safe.
    pub pincode: Secret,
    /// Network mode as comgt's `service`: auto, umts_only, gprs_only, ...
    pub service: String,
    /// The modem's AT dialect (`auto`, `huawei`, `generic`).
    pub dialect: crate::config::vocab::Dialect,
    /// The logical interface name (netifd's; pppd's `ipparam`, device
    /// `3g-<interface>`).
    pub interface: String,
    pub pppd: PathBuf,
    /// Extra pppd options, appended last.
    pub pppd_options: Vec<String>,
    pub username: String,
    pub password: Secret,
    /// LCP echo: `FAILURES [INTERVAL]`, as comgt's `keepalive`; unset is
    /// ppp.sh's "5 1" (an echo a second, down after 5 unanswered), `0`
    /// none.
    pub keepalive: Option<KeepaliveOpt>,
    /// ppp.sh's `keepalive_adaptive` (default on): pppd's
    /// `lcp-echo-adaptive`, no echo while traffic arrives.
    pub keepalive_adaptive: bool,
    pub mtu: Option<u32>,
    /// pppd's interface name (ppp.sh's `pppname`); None: `3g-<interface>`,
    /// the name proto 3g gives it.
    pub pppname: Option<String>,
    /// The local address pppd asks for (`<localip>:`): netifd's proto
    /// handler sets it from ppp.sh's `unnumbered` (an address of another
    /// interface, lent to this link).
    pub localip: Option<std::net::Ipv4Addr>,
    /// ppp.sh's `authfail`: an authentication failure stops the uplink
    /// until asked (as netifd blocks the restart); off (the default), it
    /// is redialed with backoff like other failures.
    pub authfail: bool,
    /// ppp.sh's `connect`: a program pppd runs to dial, instead of
    /// warden's own chat (which dials `dialnumber`).
    pub connect: Option<PathBuf>,
    /// ppp.sh's `disconnect`: a program pppd runs after the link ends.
    pub disconnect: Option<PathBuf>,
    /// comgt's `delay`: wait this long after starting before touching the
    /// modem (a modem that needs time after power-up).
    pub delay: Duration,
    /// ppp.sh's `ipv6`: IPv6CP on the link (`+ipv6`, the ipv6-up hook
    /// giving netifd the link-local address), and with `auto` (the
    /// default, as ppp.sh's empty value) the DHCPv6 child interface
    /// `<interface>_6` that brings the LAN its prefix.
    pub ipv6: Ipv6,
    /// ppp.sh's `reqprefix` for the DHCPv6 child (`auto`, `no` or a
    /// prefix length 0 to 64); None: dhcpv6's default.
    pub reqprefix: Option<String>,
    /// ppp.sh's `norelease`: the DHCPv6 child keeps its prefix across a
    /// redial (odhcp6c -k).
    pub norelease: bool,
    /// ppp.sh's `sourcefilter` (default on): off, the DHCPv6 child's
    /// routes are not source-restricted.
    pub sourcefilter: bool,
    /// ppp.sh's `delegate` (default on): off, the DHCPv6 child's prefix is
    /// not delegated to the LAN.
    pub delegate: bool,
    /// Let pppd set the default route (plain hosts; netifd does it on OpenWRT).
    pub defaultroute: bool,
    /// Use the DNS servers the network hands out.
    pub peerdns: bool,
    /// Check the DNS servers on link-up and then every `probe_interval`.
    pub dns_check: bool,
    pub probe_name: String,
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    /// Servers announced after the network's (pppd passes them to the
    /// ip-up script), so names resolve while the network's are broken.
    pub fallback_dns: Vec<IpAddr>,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A link up this long resets the backoff.
    pub backoff_stable: Duration,
    /// Climb the recovery ladder's first rung after this many consecutive
    /// failures (a link that came up and passed its DNS check ends the
    /// row; 0: never, only redial).
    pub reset_after: u32,
    /// The rungs above redial, in climbing order (`reset_ladder`; default
    /// cfun usb_reset port_power, and gpio when `gpio_power` is set).
    pub reset_ladder: Vec<Rung>,
    /// Failures after a rung before the next one.
    pub escalate_after: u32,
    /// The least time between two climbs of each rung ([`Rung::ALL`]
    /// order; the redial entry is unused): `cfun_min_interval`, ...
    pub min_interval: [Duration; 5],
    /// The board's USB power switch for the `gpio` rung: a GPIO's `value`
    /// or an LED's `brightness` file in sysfs.
    pub gpio_power: Option<PathBuf>,
    /// How long port_power and gpio keep the power off.
    pub power_off_time: Duration,
    /// The PPP tty; None: discovered from sysfs by interface class.
    pub device: Option<PathBuf>,
    /// The AT (control, PCUI) tty; None: discovered.
    pub control_device: Option<PathBuf>,
    /// Bound on waiting for a switched stick to come back as a modem.
    pub switch_timeout: Duration,
    /// With no modem found (and no hotplug notice), look again this often
    /// ([`RESCAN_INTERVAL`] bounds it).
    pub rescan_interval: Duration,
    /// usb-modeswitch data to read (directories, files, usb-mode.json,
    /// configPack.tar.gz); empty: the usual places.
    pub modeswitch_data: Vec<PathBuf>,
    /// Where each new SMS is written (one file each); None: nowhere.
    pub sms_spool: Option<PathBuf>,
    /// Log a new SMS's text too, not only its sender and length.
    pub sms_log_text: bool,
    /// The data quota: `quota_limit`, `quota_start_day`, `quota_action`,
    /// `quota_save_interval`, `quota_interval`.
    pub quota: crate::config::vocab::Policy,
}

impl Default for Uplink {
    fn default() -> Self {
        Uplink {
            enabled: true,
            simulate: false,
            apn: String::new(),
            dialnumber: "*99***1#".into(),
            pincode: Secret::default(),
            service: "auto".into(),
            dialect: Default::default(),
            interface: "wan".into(),
            pppd: PathBuf::from("/usr/sbin/pppd"),
            pppd_options: Vec::new(),
            username: String::new(),
            password: Secret::default(),
            keepalive: Some(KeepaliveOpt(Keepalive {
                failures: 5,
                interval: 1,
            })),
            keepalive_adaptive: true,
            mtu: None,
            pppname: None,
            localip: None,
            authfail: false,
            connect: None,
            disconnect: None,
            delay: Duration::ZERO,
            ipv6: Ipv6::Auto,
            reqprefix: None,
            norelease: false,
            sourcefilter: true,
            delegate: true,
            defaultroute: false,
            peerdns: true,
            dns_check: true,
            probe_name: crate::dns::DEFAULT_PROBE_NAME.into(),
            probe_interval: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(2),
            fallback_dns: Vec::new(),
            backoff_initial: vocab::BACKOFF_INITIAL,
            backoff_max: vocab::BACKOFF_MAX,
            backoff_stable: vocab::BACKOFF_STABLE,
            reset_after: vocab::RESET_AFTER,
            reset_ladder: vocab::LADDER.to_vec(),
            escalate_after: vocab::ESCALATE_AFTER,
            min_interval: vocab::MIN_INTERVALS,
            gpio_power: None,
            power_off_time: Duration::from_secs(2),
            device: None,
            control_device: None,
            switch_timeout: Duration::from_secs(20),
            rescan_interval: Duration::from_secs(60),
            modeswitch_data: Vec::new(),
            sms_spool: None,
            sms_log_text: false,
            quota: crate::config::vocab::Policy::default(),
        }
    }
}

/// The values a rung's minimum interval may take: never more often than
/// every 10 s, at least once a week.
pub const MIN_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(10)..=Duration::from_secs(7 * 86_400);

/// The values `power_off_time` may take.
pub const POWER_OFF_TIME: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(60);

/// The option naming each rung's minimum interval ([`Rung::ALL`] order).
pub const MIN_INTERVAL_OPTIONS: [&str; 5] = [
    "",
    "cfun_min_interval",
    "usb_reset_min_interval",
    "port_power_min_interval",
    "gpio_min_interval",
];

/// The values `rescan_interval` may take: a scan reads sysfs, so not more
/// often than once a second; a modem that appears without a hotplug notice
/// is found within the hour.
pub const RESCAN_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);

/// A secret option value: never shown by Debug, wiped when dropped.
#[derive(Clone, Default)]
pub struct Secret(pub zeroize::Zeroizing<String>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value, or None when it is empty (not set).
    pub fn expose_nonempty(&self) -> Option<&str> {
        (!self.0.is_empty()).then_some(self.0.as_str())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<secret>"
        })
    }
}

impl PartialEq for Secret {
    /// Constant time in the contents (the lengths may leak).
    fn eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl FromOption for Secret {
    const EXPECTED: &'static str = "a string";
    fn from_option(s: &str) -> Option<Self> {
        Some(Secret(zeroize::Zeroizing::new(s.to_string())))
    }
}

/// comgt's `keepalive`: `FAILURES [INTERVAL]` (also `FAILURES,INTERVAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveOpt(pub Keepalive);

impl FromOption for Option<KeepaliveOpt> {
    const EXPECTED: &'static str =
        "'FAILURES [INTERVAL]' (LCP echo failures and seconds between echoes)";
    fn from_option(s: &str) -> Option<Self> {
        Keepalive::parse(s).ok().map(|k| k.map(KeepaliveOpt))
    }
}

/// A string option checked by a rule `R` when it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<R> {
    pub value: String,
    rule: std::marker::PhantomData<R>,
}

impl<R> Checked<R> {
    pub fn new(value: String) -> Self {
        Checked {
            value,
            rule: std::marker::PhantomData,
        }
    }
}

/// A rule for [`Checked`].
pub trait Rule {
    const EXPECTED: &'static str;
    fn ok(s: &str) -> bool;
}

/// A DNS name to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsName;

impl Rule for DnsName {
    const EXPECTED: &'static str =
        "a DNS name (dot-separated labels of letters, digits, '-', '_', at most 63 bytes each)";
    fn ok(s: &str) -> bool {
        crate::dns::wire::check_name(s).is_ok()
    }
}

impl<R: Rule> FromOption for Checked<R> {
    const EXPECTED: &'static str = R::EXPECTED;
    fn from_option(s: &str) -> Option<Self> {
        R::ok(s).then(|| Checked::new(s.to_string()))
    }
}

impl FromOption for std::net::Ipv4Addr {
    const EXPECTED: &'static str = "an IPv4 address";
    fn from_option(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl FromOption for IpAddr {
    const EXPECTED: &'static str = "an IP address";
    fn from_option(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// `config factotum`: the key agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Factotum {
    pub enabled: bool,
    /// The 9P socket; empty means `<run_dir>/factotum`.
    pub socket: Option<PathBuf>,
    /// Other uids allowed to connect (checked with SO_PEERCRED; the owner
    /// and root always may). They get the files' "other" permissions.
    pub allow_uid: Vec<u32>,
    /// Primary gids allowed to connect, likewise.
    pub allow_gid: Vec<u32>,
    /// Connections: `max_conns`, `peer_conns`, `idle_timeout`.
    pub conns: ConnLimits,
    /// How long a request for a `confirm` key waits for a confirmer to
    /// open the confirm file (then it fails).
    pub confirm_wait: Duration,
}

impl Default for Factotum {
    fn default() -> Self {
        Factotum {
            enabled: true,
            socket: None,
            allow_uid: Vec::new(),
            allow_gid: Vec::new(),
            conns: ConnLimits {
                max_conns: 1024,
                per_peer: 64,
                idle: Duration::from_secs(3600),
            },
            confirm_wait: Duration::from_secs(30),
        }
    }
}

/// The connection limits of one socket (see [`crate::admit`]): the
/// options `max_conns` (all unprivileged peers together), `peer_conns`
/// (any one uid or address; root and the owner then close their idlest
/// connection instead of being refused) and `idle_timeout` (a silent
/// connection waiting on nothing is closed; 0: never).
pub type ConnLimits = crate::admit::Limits;

/// Read `<prefix>max_conns`, `<prefix>peer_conns` and
/// `<prefix>idle_timeout`; counts must be at least 1.
#[cfg(feature = "auth")]
fn conn_limits(o: &Options<'_>, prefix: &str, d: ConnLimits) -> Result<ConnLimits, ConfigError> {
    let names = [
        format!("{prefix}max_conns"),
        format!("{prefix}peer_conns"),
        format!("{prefix}idle_timeout"),
    ];
    let l = ConnLimits {
        max_conns: o.get(&names[0], d.max_conns)?,
        per_peer: o.get(&names[1], d.per_peer)?,
        idle: o.get(&names[2], d.idle)?,
    };
    for (name, n) in [(&names[0], l.max_conns), (&names[1], l.per_peer)] {
        if n == 0 {
            let line = o.line_of(name);
            return Err(o.error(line, name, "0 would refuse every connection; at least 1"));
        }
    }
    Ok(l)
}

/// `config keyfs`: the encrypted user database.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyfs {
    /// Serve the keyfs tree and unlock the database (off in uplink-only
    /// instances such as the ones netifd starts).
    pub enabled: bool,
    pub file: PathBuf,
    /// Where the master key comes from.
    pub mode: KeyfsMode,
    /// Unattended mode: the file holding the passphrase (mode 0600).
    pub keyfile: PathBuf,
    /// PBKDF2-HMAC-SHA256 iterations for new key files and passphrase
    /// changes (existing files carry their own count in their header).
    pub kdf_iterations: u32,
    /// OATH search window: HOTP counters ahead, TOTP steps either side.
    pub otp_window: u64,
    /// The admin 9P socket of the keyfs tree; empty means
    /// `<run_dir>/keyfs`. Only the daemon's uid and root may connect.
    pub socket: Option<PathBuf>,
    /// Connections to that socket (`max_conns`, `peer_conns`,
    /// `idle_timeout`).
    pub conns: ConnLimits,
}

/// `attended` (unlock by hand after boot) or `unattended` (key file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyfsMode {
    Attended,
    Unattended,
}

impl FromOption for KeyfsMode {
    const EXPECTED: &'static str = "attended or unattended";
    fn from_option(s: &str) -> Option<Self> {
        match s {
            "attended" => Some(KeyfsMode::Attended),
            "unattended" => Some(KeyfsMode::Unattended),
            _ => None,
        }
    }
}

impl Default for Keyfs {
    fn default() -> Self {
        Keyfs {
            enabled: true,
            file: PathBuf::from("/etc/warden/keys"),
            mode: KeyfsMode::Attended,
            keyfile: PathBuf::from("/etc/warden/keys.key"),
            kdf_iterations: 35_000,
            otp_window: 1,
            socket: None,
            conns: ConnLimits {
                max_conns: 64,
                per_peer: 16,
                idle: Duration::from_secs(600),
            },
        }
    }
}

/// `config authsrv`: the Plan 9 ticket service.
#[derive(Debug, Clone, PartialEq)]
pub struct Authsrv {
    pub enabled: bool,
    pub listen: String,
    /// The security domain served (Plan 9's `authdom`); the factotum in
    /// the daemon asks the ticket service in process for this domain.
    pub authdom: String,
    /// `HOSTID USER` pairs: a host owner that may speak for a user (`*`:
    /// any user). Every user speaks for itself.
    pub speaksfor: Vec<String>,
    /// Answer AuthPass (password changes, the old password proven).
    pub allow_passwd: bool,
    /// Give DES (p9sk1) tickets and answer the DES challenge/response
    /// exchanges; off for a dp9ik-only domain, where only AuthPAK and the
    /// form1 AuthTreq after it are served (9front's authsrv -N).
    pub p9sk1: bool,
    /// Connections (`max_conns`, `peer_conns` per address,
    /// `idle_timeout`: a connection silent this long, mid-request or
    /// between requests, is closed).
    pub conns: ConnLimits,
}

impl Default for Authsrv {
    fn default() -> Self {
        Authsrv {
            enabled: false,
            listen: "0.0.0.0:567".into(),
            authdom: String::new(),
            speaksfor: Vec::new(),
            allow_passwd: false,
            p9sk1: true,
            conns: ConnLimits {
                max_conns: 128,
                per_peer: 16,
                idle: Duration::from_secs(10),
            },
        }
    }
}

/// `config secstore`: secstored, the users' file store (Plan 9's
/// secstore, TCP 5356); accounts are keyfs accounts (`warden secstore
/// add`).
#[derive(Debug, Clone, PartialEq)]
pub struct Secstore {
    pub enabled: bool,
    pub listen: String,
    /// The name the server gives itself in the PAK (clients show it).
    pub name: String,
    pub conns: ConnLimits,
}

impl Default for Secstore {
    fn default() -> Self {
        Secstore {
            enabled: false,
            listen: "0.0.0.0:5356".into(),
            name: "warden".into(),
            conns: ConnLimits {
                max_conns: 32,
                per_peer: 8,
                idle: Duration::from_secs(30),
            },
        }
    }
}

#[cfg(feature = "auth")]
impl Secstore {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        // Filled in place (as Uplink's): a refused option drops one struct.
        let mut s = Secstore::default();
        o.set("enabled", &mut s.enabled)?;
        s.listen = listen(o, take(&mut s.listen))?;
        o.set("name", &mut s.name)?;
        s.conns = conn_limits(o, "", s.conns)?;
        if s.name.is_empty() || s.name.contains(['\n', '\0']) {
            return Err(o.error(
                o.line_of("name"),
                "name",
                "a one-line, non-empty server name",
            ));
        }
        Ok(s)
    }
}

/// `config signer`: SSH certificates and the ssh-agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Signer {
    /// Serve certificate requests on `listen`.
    pub enabled: bool,
    /// TCP address of the signer (6673: Inferno's signer port). warden's
    /// certificate request and Inferno's logind (getauthinfo) share it,
    /// told apart by their first byte.
    pub listen: String,
    /// Longest validity of a user certificate issued over the network.
    pub max_validity: Duration,
    /// Where `warden cert krl` writes the revocation list (sshd's
    /// RevokedKeys).
    pub krl: PathBuf,
    /// Serve the ssh-agent protocol on `agent_socket`.
    pub agent: bool,
    /// The agent's socket; empty means `<run_dir>/agent`.
    pub agent_socket: Option<PathBuf>,
    /// Uids besides root and the daemon's own that may use the agent.
    pub agent_uids: Vec<u32>,
    /// Answer for keys added with confirm while no confirmer is attached:
    /// deny (default) or allow.
    pub agent_confirm: ConfirmPolicy,
    /// Connections to the signer (`max_conns`, `peer_conns` per address,
    /// `idle_timeout`).
    pub conns: ConnLimits,
    /// Connections to the agent (`agent_max_conns`, `agent_peer_conns`
    /// per uid, `agent_idle_timeout`).
    pub agent_conns: ConnLimits,
}

/// ppp.sh's `ipv6`: `0` IPv4 only, `1` IPv6CP too, `auto` (and empty,
/// as ppp.sh) IPv6CP and the DHCPv6 child interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6 {
    Off,
    On,
    Auto,
}

impl Ipv6 {
    /// The option's value as `config show` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Ipv6::Off => "0",
            Ipv6::On => "1",
            Ipv6::Auto => "auto",
        }
    }
}

impl FromOption for Ipv6 {
    const EXPECTED: &'static str = "auto, 1 or 0";
    fn from_option(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Ipv6::Auto),
            _ => bool::from_option(s).map(|on| if on { Ipv6::On } else { Ipv6::Off }),
        }
    }
}

/// What the agent answers for a confirm-constrained key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmPolicy {
    Deny,
    Allow,
}

impl FromOption for ConfirmPolicy {
    const EXPECTED: &'static str = "deny or allow";
    fn from_option(s: &str) -> Option<Self> {
        match s {
            "deny" => Some(ConfirmPolicy::Deny),
            "allow" => Some(ConfirmPolicy::Allow),
            _ => None,
        }
    }
}

impl Default for Signer {
    fn default() -> Self {
        Signer {
            enabled: false,
            listen: "0.0.0.0:6673".into(),
            max_validity: Duration::from_secs(24 * 3600),
            krl: PathBuf::from("/etc/warden/revoked.krl"),
            agent: false,
            agent_socket: None,
            agent_uids: Vec::new(),
            agent_confirm: ConfirmPolicy::Deny,
            conns: ConnLimits {
                max_conns: 32,
                per_peer: 8,
                idle: Duration::from_secs(15),
            },
            agent_conns: ConnLimits {
                max_conns: 64,
                per_peer: 16,
                idle: Duration::from_secs(300),
            },
        }
    }
}

impl Main {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        let d = Main::default();
        Ok(Main {
            log_level: o.get("log_level", d.log_level)?,
            run_dir: o.get("run_dir", d.run_dir)?,
            state_dir: o.absolute_path("state_dir", d.state_dir)?,
        })
    }
}

impl Uplink {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        // Filled in place over the defaults, in the order the options are
        // checked: a refused option drops the one `u` (a struct literal
        // would drop the fields built so far at each `?`, a chain of drops
        // per option: about 10 KB on mips).
        let mut u = Uplink::default();
        let absolute = |name: &'static str, what: &str| -> Result<Option<PathBuf>, ConfigError> {
            match o.get_opt::<PathBuf>(name)? {
                Some(p) if !p.is_absolute() => Err(o.error(
                    o.line_of(name),
                    name,
                    format!("expected an absolute path ({what}), got '{}'", p.display()),
                )),
                p => Ok(p),
            }
        };
        let gpio_power = absolute("gpio_power", "a GPIO's value or an LED's brightness file")?;
        u.sms_spool = absolute("sms_spool", "a directory")?;
        u.reset_ladder = Self::ladder(o, gpio_power.is_some())?;
        for (i, name) in MIN_INTERVAL_OPTIONS.iter().enumerate().skip(1) {
            u.min_interval[i] = o.duration_in(name, u.min_interval[i], MIN_INTERVAL)?;
        }
        o.set("escalate_after", &mut u.escalate_after)?;
        u.gpio_power = gpio_power;
        u.power_off_time = o.duration_in("power_off_time", u.power_off_time, POWER_OFF_TIME)?;
        o.set("enabled", &mut u.enabled)?;
        o.set("simulate", &mut u.simulate)?;
        o.set("apn", &mut u.apn)?;
        // Empty is the default number, as in comgt's 3g.
        if let Some(n) = o.get_opt::<String>("dialnumber")?.filter(|n| !n.is_empty()) {
            u.dialnumber = n;
        }
        o.set("pincode", &mut u.pincode)?;
        o.set("service", &mut u.service)?;
        o.set("interface", &mut u.interface)?;
        o.set("pppd", &mut u.pppd)?;
        // Split list items too: `list pppd_options 'kdebug 1'` is two words.
        u.pppd_options = o
            .list::<String>("pppd_options")?
            .iter()
            .flat_map(|s| s.split_whitespace().map(String::from))
            .collect();
        o.set("username", &mut u.username)?;
        o.set("password", &mut u.password)?;
        o.set("keepalive", &mut u.keepalive)?;
        o.set("keepalive_adaptive", &mut u.keepalive_adaptive)?;
        o.set_opt("mtu", &mut u.mtu)?;
        o.set_opt("pppname", &mut u.pppname)?;
        o.set_opt("localip", &mut u.localip)?;
        o.set("authfail", &mut u.authfail)?;
        o.set_opt("connect", &mut u.connect)?;
        o.set_opt("disconnect", &mut u.disconnect)?;
        u.delay = o.duration_in("delay", u.delay, DELAY)?;
        o.set("ipv6", &mut u.ipv6)?;
        u.reqprefix = o.get_opt::<String>("reqprefix")?.filter(|v| !v.is_empty());
        o.set("norelease", &mut u.norelease)?;
        o.set("sourcefilter", &mut u.sourcefilter)?;
        o.set("delegate", &mut u.delegate)?;
        o.set("defaultroute", &mut u.defaultroute)?;
        o.set("peerdns", &mut u.peerdns)?;
        o.set("dns_check", &mut u.dns_check)?;
        u.probe_name = o
            .get(
                "probe_name",
                Checked::<DnsName>::new(take(&mut u.probe_name)),
            )?
            .value;
        o.set("probe_interval", &mut u.probe_interval)?;
        o.set("probe_timeout", &mut u.probe_timeout)?;
        o.set_list("fallback_dns", &mut u.fallback_dns)?;
        o.set("backoff_initial", &mut u.backoff_initial)?;
        o.set("backoff_max", &mut u.backoff_max)?;
        o.set("backoff_stable", &mut u.backoff_stable)?;
        o.set("reset_after", &mut u.reset_after)?;
        o.set_opt("device", &mut u.device)?;
        o.set_opt("control_device", &mut u.control_device)?;
        o.set("switch_timeout", &mut u.switch_timeout)?;
        u.rescan_interval = o.duration_in("rescan_interval", u.rescan_interval, RESCAN_INTERVAL)?;
        o.set_list("modeswitch_data", &mut u.modeswitch_data)?;
        o.set("dialect", &mut u.dialect)?;
        o.set("sms_log_text", &mut u.sms_log_text)?;
        let q = crate::config::vocab::Policy::default();
        u.quota = crate::config::vocab::Policy {
            limit: o.get("quota_limit", Bytes(q.limit))?.0,
            start_day: o.get("quota_start_day", q.start_day)?,
            action: o.get("quota_action", q.action)?,
            save_interval: o.duration_in(
                "quota_save_interval",
                q.save_interval,
                QUOTA_SAVE_INTERVAL,
            )?,
            sample_interval: o.duration_in("quota_interval", q.sample_interval, QUOTA_INTERVAL)?,
        };
        ppp_sh_options(o, &mut u)?;
        // The daemon's own rules: what it would refuse, refused now.
        (o.rules.uplink)(&u).map_err(|r| o.error(o.line_of(r.option), r.option, r.msg))?;
        Ok(u)
    }
}

/// `quota_save_interval`'s range: the usage file is on flash.
pub const QUOTA_SAVE_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(86_400);

/// `quota_interval`'s range (how often the counters are read).
pub const QUOTA_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);

/// A byte count (`quota_limit`): `500M`, `2G` (powers of 1024), `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl FromOption for Bytes {
    const EXPECTED: &'static str =
        "a byte count: a whole number, or one with K, M, G or T (powers of 1024, e.g. 500M, 2G)";
    fn from_option(s: &str) -> Option<Self> {
        crate::config::vocab::parse_bytes(s).map(Bytes)
    }
}

impl FromOption for crate::config::vocab::Dialect {
    const EXPECTED: &'static str = "auto, huawei or generic";
    fn from_option(s: &str) -> Option<Self> {
        use crate::config::vocab::Dialect as D;
        [D::Auto, D::Huawei, D::Generic]
            .into_iter()
            .find(|d| d.name() == s || (s.is_empty() && *d == D::Auto))
    }
}

impl FromOption for crate::config::vocab::OverAction {
    const EXPECTED: &'static str = "warn or stop";
    fn from_option(s: &str) -> Option<Self> {
        crate::config::vocab::OverAction::parse(s)
    }
}

/// `delay`'s range: up to ten minutes (3g.sh sleeps it in netifd's setup).
pub const DELAY: std::ops::RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(600);

/// The options of netifd's ppp.sh (and comgt's 3g.sh) that warden's
/// supervisor answers for itself, since warden, not pppd, redials; and
/// those it does not support, each read and answered with a warning that
/// names it and says why (`warden config check`, and the daemon's log,
/// which is logread under netifd).
fn ppp_sh_options(o: &Options<'_>, u: &mut Uplink) -> Result<(), ConfigError> {
    // holdoff: pppd waits this long before redialing; warden's first
    // redial waits it (at least a second), then the backoff grows.
    if let Some(h) = o.get_opt::<u32>("holdoff")? {
        if o.has("backoff_initial") {
            o.warn(
                "holdoff",
                "ignored, backoff_initial is set and says how long the first redial waits",
            );
        } else {
            u.backoff_initial = Duration::from_secs(u64::from(h.max(1)));
        }
    }
    if o.get_opt::<bool>("persist")? == Some(false) {
        o.warn(
            "persist",
            "'0' changes nothing: warden redials with backoff after every failure, as \
             netifd restarts a pppd that ended; 'ifdown' the interface to stay off",
        );
    }
    if let Some(n) = o.get_opt::<u32>("maxfail")?.filter(|&n| n > 0) {
        o.warn(
            "maxfail",
            format!(
                "{n} is not a limit here: warden sets the modem up again before every \
                 redial and keeps redialing with backoff, as netifd restarts a pppd that \
                 gave up (reset_after resets the modem after that many failures in a row)"
            ),
        );
    }
    let set = |name: &str| -> Result<Option<String>, ConfigError> {
        Ok(o.get_opt::<String>(name)?.filter(|v| !v.is_empty()))
    };
    if let Some(d) = set("demand")?.filter(|d| d != "0") {
        o.warn(
            "demand",
            format!(
                "'{d}' ignored: dial on demand is not supported; warden keeps the link up \
                 and checks it (dns_check), which would dial at once anyway"
            ),
        );
    }
    // As ppp.sh, reqprefix and norelease only shape the DHCPv6 child that
    // ipv6 'auto' adds.
    if u.ipv6 != Ipv6::Auto {
        for name in ["reqprefix", "norelease"] {
            if set(name)?.is_some() {
                o.warn(
                    name,
                    format!(
                        "ignored: it shapes the DHCPv6 child interface, which only ipv6 \
                         'auto' adds (ipv6 is '{}')",
                        u.ipv6.name()
                    ),
                );
            }
        }
    }
    if set("unnumbered")?.is_some() {
        o.warn(
            "unnumbered",
            "ignored here: netifd's proto handler resolves it to the other interface's \
             address; outside netifd give that address as localip",
        );
    }
    Ok(())
}

impl Uplink {
    /// `reset_ladder`: rung names in climbing order (redial, the bottom,
    /// may be named and is always there); absent or empty: the default,
    /// with gpio on top when `gpio_power` is set.
    fn ladder(o: &Options<'_>, gpio: bool) -> Result<Vec<Rung>, ConfigError> {
        let names: Vec<String> = o.list("reset_ladder")?;
        let line = o.line_of("reset_ladder");
        if names.is_empty() {
            let mut v = vocab::LADDER.to_vec();
            if gpio {
                v.push(Rung::Gpio);
            }
            return Ok(v);
        }
        let mut v = Vec::new();
        for n in &names {
            let Some(r) = Rung::parse(n) else {
                return Err(o.error(
                    line,
                    "reset_ladder",
                    format!(
                        "unknown rung '{n}' (expected redial, cfun, usb_reset, port_power, gpio)"
                    ),
                ));
            };
            if r == Rung::Redial {
                continue;
            }
            if v.contains(&r) {
                return Err(o.error(line, "reset_ladder", format!("rung '{n}' named twice")));
            }
            if r == Rung::Gpio && !gpio {
                return Err(o.error(
                    line,
                    "reset_ladder",
                    "rung 'gpio' needs option gpio_power (the board's USB power switch)",
                ));
            }
            v.push(r);
        }
        Ok(v)
    }
}

#[cfg(feature = "auth")]
impl Factotum {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        let mut f = Factotum::default();
        o.set("enabled", &mut f.enabled)?;
        o.set_opt("socket", &mut f.socket)?;
        o.set_list("allow_uid", &mut f.allow_uid)?;
        o.set_list("allow_gid", &mut f.allow_gid)?;
        f.conns = conn_limits(o, "", f.conns)?;
        o.set("confirm_wait", &mut f.confirm_wait)?;
        Ok(f)
    }
}

impl Keyfs {
    /// The keyfs tree's socket: the configured one or `<run_dir>/keyfs`.
    pub fn socket_path(&self, run_dir: &std::path::Path) -> PathBuf {
        self.socket.clone().unwrap_or_else(|| run_dir.join("keyfs"))
    }

    #[cfg(feature = "auth")]
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        let mut k = Keyfs::default();
        o.set("enabled", &mut k.enabled)?;
        o.set("file", &mut k.file)?;
        o.set("mode", &mut k.mode)?;
        o.set("keyfile", &mut k.keyfile)?;
        o.set("kdf_iterations", &mut k.kdf_iterations)?;
        o.set("otp_window", &mut k.otp_window)?;
        o.set_opt("socket", &mut k.socket)?;
        k.conns = conn_limits(o, "", k.conns)?;
        if k.kdf_iterations < 1000 {
            let line = o.line_of("kdf_iterations");
            return Err(o.error(
                line,
                "kdf_iterations",
                format!("{} is too few; at least 1000", k.kdf_iterations),
            ));
        }
        Ok(k)
    }
}

#[cfg(feature = "auth")]
impl Authsrv {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        let mut a = Authsrv::default();
        o.set("enabled", &mut a.enabled)?;
        a.listen = listen(o, take(&mut a.listen))?;
        o.set("authdom", &mut a.authdom)?;
        o.set_list("speaksfor", &mut a.speaksfor)?;
        o.set("allow_passwd", &mut a.allow_passwd)?;
        o.set("p9sk1", &mut a.p9sk1)?;
        a.conns = conn_limits(o, "", a.conns)?;
        if let Err(e) = vocab::SpeaksFor::parse(&a.speaksfor) {
            return Err(o.error(o.sec.line, "speaksfor", e));
        }
        if a.enabled && a.authdom.is_empty() {
            return Err(o.error(o.sec.line, "authdom", "the ticket service needs an authdom"));
        }
        Ok(a)
    }
}

#[cfg(feature = "auth")]
impl Signer {
    fn from_section(o: &Options<'_>) -> Result<Self, ConfigError> {
        let mut s = Signer::default();
        o.set("enabled", &mut s.enabled)?;
        s.listen = listen(o, take(&mut s.listen))?;
        o.set("max_validity", &mut s.max_validity)?;
        o.set("krl", &mut s.krl)?;
        o.set("agent", &mut s.agent)?;
        o.set_opt("agent_socket", &mut s.agent_socket)?;
        o.set_list("agent_uids", &mut s.agent_uids)?;
        o.set("agent_confirm", &mut s.agent_confirm)?;
        s.conns = conn_limits(o, "", s.conns)?;
        s.agent_conns = conn_limits(o, "agent_", s.agent_conns)?;
        Ok(s)
    }
}

/// A `listen` address the service can bind: `HOST:PORT` as the daemon's
/// resolver reads it (the same check).
#[cfg(feature = "auth")]
fn listen(o: &Options<'_>, d: String) -> Result<String, ConfigError> {
    let l: String = o.get("listen", d)?;
    crate::dns::resolve::check_hostport(&l)
        .map_err(|e| o.error(o.line_of("listen"), "listen", e))?;
    Ok(l)
}

/// Build the typed model, refusing what `rules` refuse; unknown sections
/// and options become warnings.
pub fn from_raw(
    file: &Path,
    raw: &Raw,
    rules: &Rules,
) -> Result<(Config, Vec<Warning>), ConfigError> {
    let mut cfg = Config::default();
    let mut warnings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for sec in &raw.sections {
        let o = Options::new(file, sec, rules);
        if seen.contains(&sec.ty.as_str()) {
            warnings.push(Warning {
                file: file.to_path_buf(),
                line: sec.line,
                msg: format!(
                    "a second '{}' section: its options override the first's",
                    sec.ty
                ),
            });
        }
        seen.push(&sec.ty);
        match sec.ty.as_str() {
            "warden" | "main" => cfg.main = Main::from_section(&o)?,
            "uplink" => cfg.uplink = Uplink::from_section(&o)?,
            #[cfg(feature = "auth")]
            "factotum" => cfg.factotum = Factotum::from_section(&o)?,
            #[cfg(feature = "auth")]
            "keyfs" => cfg.keyfs = Keyfs::from_section(&o)?,
            #[cfg(feature = "auth")]
            "authsrv" => cfg.authsrv = Authsrv::from_section(&o)?,
            #[cfg(feature = "auth")]
            "signer" => cfg.signer = Signer::from_section(&o)?,
            #[cfg(feature = "auth")]
            "secstore" => cfg.secstore = Secstore::from_section(&o)?,
            // warden-uplink has none of the auth services: their sections
            // (from the warden package's configuration) are not read.
            #[cfg(not(feature = "auth"))]
            t @ ("factotum" | "keyfs" | "authsrv" | "signer" | "secstore") => {
                warnings.push(Warning {
                    file: file.to_path_buf(),
                    line: sec.line,
                    msg: format!(
                        "section '{t}' ignored: this build (warden-uplink) has no auth services"
                    ),
                });
                continue;
            }
            other => {
                warnings.push(Warning {
                    file: file.to_path_buf(),
                    line: sec.line,
                    msg: format!("unknown section type '{other}', ignored"),
                });
                continue;
            }
        }
        warnings.extend(o.unused());
    }
    Ok((cfg, warnings))
}

/// A value type that can be read from an option's text.
pub trait FromOption: Sized {
    /// What the option must look like, for error messages.
    const EXPECTED: &'static str;
    fn from_option(s: &str) -> Option<Self>;
}

impl FromOption for String {
    const EXPECTED: &'static str = "a string";
    fn from_option(s: &str) -> Option<Self> {
        Some(s.to_string())
    }
}

impl FromOption for PathBuf {
    const EXPECTED: &'static str = "a path";
    fn from_option(s: &str) -> Option<Self> {
        (!s.is_empty()).then(|| PathBuf::from(s))
    }
}

impl FromOption for bool {
    const EXPECTED: &'static str = "a boolean (1/0, yes/no, on/off, true/false, enabled/disabled)";
    fn from_option(s: &str) -> Option<Self> {
        // The spellings OpenWRT's config_get_bool accepts.
        match s {
            "1" | "yes" | "on" | "true" | "enabled" => Some(true),
            "0" | "no" | "off" | "false" | "disabled" => Some(false),
            _ => None,
        }
    }
}

macro_rules! from_option_int {
    ($($t:ty),*) => {$(
        impl FromOption for $t {
            const EXPECTED: &'static str = concat!("a whole number (", stringify!($t), ")");
            fn from_option(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    )*};
}
from_option_int!(u8, u16, u32, u64, usize, i32, i64);

impl FromOption for Duration {
    const EXPECTED: &'static str =
        "a duration: seconds, or a number with ms, s, m, h or d (e.g. 500ms, 30s, 24h)";
    fn from_option(s: &str) -> Option<Self> {
        parse_duration(s)
    }
}

impl FromOption for LogLevel {
    const EXPECTED: &'static str = "a log level (off, error, warn, info, debug, trace)";
    fn from_option(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// `30` (seconds), `500ms`, `30s`, `5m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        "y" => n.checked_mul(365 * 86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// Typed access to one section's options, remembering which were read.
pub struct Options<'a> {
    file: &'a Path,
    sec: &'a RawSection,
    /// The checks of the services above ([`Rules`]).
    rules: &'a Rules,
    used: Vec<Cell<bool>>,
    /// Warnings about options that were read (see [`Options::warn`]).
    notes: std::cell::RefCell<Vec<Warning>>,
}

impl<'a> Options<'a> {
    pub fn new(file: &'a Path, sec: &'a RawSection, rules: &'a Rules) -> Self {
        Options {
            file,
            sec,
            rules,
            used: sec.options.iter().map(|_| Cell::new(false)).collect(),
            notes: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Is option `name` written (even empty)? Does not count as reading it.
    pub fn has(&self, name: &str) -> bool {
        self.sec.options.iter().any(|(n, _)| n == name)
    }

    /// A warning about option `name`, read but not (fully) honoured.
    #[inline(always)]
    pub fn warn(&self, name: &str, msg: impl fmt::Display) {
        self.warn_dyn(name, &msg)
    }

    /// [`Options::warn`]'s one copy, whatever the message's type.
    fn warn_dyn(&self, name: &str, msg: &dyn fmt::Display) {
        self.notes.borrow_mut().push(Warning {
            file: self.file.to_path_buf(),
            line: self.line_of(name),
            msg: format!("section '{}': option '{}': {}", self.sec.ty, name, msg),
        });
    }

    fn find(&self, name: &str) -> Option<&'a Located<RawValue>> {
        let i = self.sec.options.iter().position(|(n, _)| n == name)?;
        self.used[i].set(true);
        Some(&self.sec.options[i].1)
    }

    /// An error about option `name` at `line`.
    /// The line of option `name`, else the section's.
    pub fn line_of(&self, name: &str) -> usize {
        self.sec
            .options
            .iter()
            .find(|(n, _)| n == name)
            .map_or(self.sec.line, |(_, v)| v.line)
    }

    #[inline(always)]
    pub fn error(&self, line: usize, name: &str, msg: impl fmt::Display) -> ConfigError {
        self.error_dyn(line, name, &msg)
    }

    /// [`Options::error`]'s one copy, whatever the message's type.
    fn error_dyn(&self, line: usize, name: &str, msg: &dyn fmt::Display) -> ConfigError {
        ConfigError::new(
            self.file,
            line,
            format!("section '{}', option '{}': {}", self.sec.ty, name, msg),
        )
    }

    /// A single value, or `default` when absent. An empty value counts as
    /// absent, as `config_get` treats it on OpenWRT.
    #[inline(never)]
    pub fn get<T: FromOption>(&self, name: &str, default: T) -> Result<T, ConfigError> {
        Ok(self.get_opt(name)?.unwrap_or(default))
    }

    /// A single value into `slot` when given (else `slot` keeps its
    /// default): as `*slot = get(name, take(slot))?`, the old value dropped
    /// here, not at every caller.
    #[inline(never)]
    pub fn set<T: FromOption>(&self, name: &str, slot: &mut T) -> Result<(), ConfigError> {
        if let Some(v) = self.get_opt(name)? {
            *slot = v;
        }
        Ok(())
    }

    /// `*slot = get_opt(name)?`, the old value dropped here.
    #[inline(never)]
    pub fn set_opt<T: FromOption>(
        &self,
        name: &str,
        slot: &mut Option<T>,
    ) -> Result<(), ConfigError> {
        *slot = self.get_opt(name)?;
        Ok(())
    }

    /// A single value, or None when absent or empty.
    pub fn get_opt<T: FromOption>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        // The generic part is only the conversion: finding the text and
        // the error are shared by every option type (smaller binary).
        let Some((s, line)) = self.single(name, T::EXPECTED)? else {
            return Ok(None);
        };
        match T::from_option(s) {
            Some(v) => Ok(Some(v)),
            None => Err(self.expected(line, name, "", T::EXPECTED, s)),
        }
    }

    /// An absolute path, or `default` when absent.
    pub fn absolute_path(&self, name: &str, default: PathBuf) -> Result<PathBuf, ConfigError> {
        let Some((s, line)) = self.single(name, PathBuf::EXPECTED)? else {
            return Ok(default);
        };
        if s.starts_with('/') {
            Ok(PathBuf::from(s))
        } else {
            Err(self.expected(line, name, "", "an absolute path", s))
        }
    }

    /// A duration within `range`, or `default` when absent.
    pub fn duration_in(
        &self,
        name: &str,
        default: Duration,
        range: std::ops::RangeInclusive<Duration>,
    ) -> Result<Duration, ConfigError> {
        let Some((s, line)) = self.single(name, Duration::EXPECTED)? else {
            return Ok(default);
        };
        match Duration::from_option(s) {
            Some(d) if range.contains(&d) => Ok(d),
            Some(_) => {
                let (lo, hi) = (range.start(), range.end());
                let what = format!(
                    "a duration from {} to {}",
                    super::show::format_duration(*lo),
                    super::show::format_duration(*hi)
                );
                Err(self.expected(line, name, "", &what, s))
            }
            None => Err(self.expected(line, name, "", Duration::EXPECTED, s)),
        }
    }

    /// The text and line of a single-valued option; None when absent, or
    /// empty for any type but a string.
    fn single(
        &self,
        name: &str,
        expected: &'static str,
    ) -> Result<Option<(&'a str, usize)>, ConfigError> {
        let Some(v) = self.find(name) else {
            return Ok(None);
        };
        let RawValue::Str(s) = &v.value else {
            return Err(self.error(v.line, name, "expected a single value, got a list"));
        };
        if s.is_empty() && expected != <String as FromOption>::EXPECTED {
            return Ok(None);
        }
        Ok(Some((s.as_str(), v.line)))
    }

    /// "expected {what}{expected}, got '{got}'" about option `name`.
    fn expected(
        &self,
        line: usize,
        name: &str,
        what: &str,
        expected: &str,
        got: &str,
    ) -> ConfigError {
        self.error(
            line,
            name,
            format!("expected {what}{expected}, got '{got}'"),
        )
    }

    /// A list; a single `option` counts as a list of its space-separated
    /// words, as OpenWRT's shell helpers treat it.
    pub fn list<T: FromOption>(&self, name: &str) -> Result<Vec<T>, ConfigError> {
        let (items, line) = self.items(name);
        let mut out = Vec::with_capacity(items.len());
        for s in items {
            match T::from_option(s) {
                Some(v) => out.push(v),
                None => return Err(self.expected(line, name, "a list of ", T::EXPECTED, s)),
            }
        }
        Ok(out)
    }

    /// `*slot = list(name)?`, the old value dropped here.
    #[inline(never)]
    pub fn set_list<T: FromOption>(
        &self,
        name: &str,
        slot: &mut Vec<T>,
    ) -> Result<(), ConfigError> {
        *slot = self.list(name)?;
        Ok(())
    }

    /// The items of a list option (a single option's words) and its line.
    fn items(&self, name: &str) -> (Vec<&'a str>, usize) {
        let Some(v) = self.find(name) else {
            return (Vec::new(), 0);
        };
        let items = match &v.value {
            RawValue::List(items) => items.iter().map(String::as_str).collect(),
            RawValue::Str(s) => s.split_whitespace().collect(),
        };
        (items, v.line)
    }

    /// Warnings for the options nobody asked for, after those given with
    /// [`Options::warn`].
    pub fn unused(&self) -> Vec<Warning> {
        let mut out = self.notes.take();
        out.extend(self.unread());
        out
    }

    fn unread(&self) -> Vec<Warning> {
        self.sec
            .options
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !u.get())
            .map(|((n, v), _)| Warning {
                file: self.file.to_path_buf(),
                line: v.line,
                msg: format!("section '{}': unknown option '{}', ignored", self.sec.ty, n),
            })
            .collect()
    }
}

use std::fmt;

#[cfg(test)]
mod tests {
    /// The model with the uplink's rules, as every loader reads it.
    fn parse(file: &Path, text: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
        super::super::parse(file, text, &crate::uplink::check::RULES)
    }
    use super::*;

    fn uci(text: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
        parse(Path::new("/etc/config/warden"), text)
    }

    #[test]
    fn defaults_when_empty() {
        let (cfg, w) = uci("").unwrap();
        assert_eq!(cfg, Config::default());
        assert!(w.is_empty());
    }

    #[cfg(feature = "auth")]
    #[test]
    fn typed_values() {
        let (cfg, w) = uci(
            "config warden 'main'\n option log_level debug\n option run_dir /tmp/w\nconfig uplink 'wan'\n option enabled no\n option apn 'web.example'\nconfig signer\n option max_validity 8h\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.main.log_level, LogLevel::Debug);
        assert_eq!(cfg.main.run_dir, PathBuf::from("/tmp/w"));
        assert!(!cfg.uplink.enabled);
        assert_eq!(cfg.uplink.apn, "web.example");
        assert_eq!(cfg.signer.max_validity, Duration::from_secs(8 * 3600));
    }

    #[test]
    fn uplink_ports_and_switch_options() {
        let (cfg, w) = uci(
            "config uplink\n option device /dev/ttyUSB0\n option control_device ''\n option switch_timeout 45\n list modeswitch_data /etc/usb-mode.json\n list modeswitch_data /etc/usb_modeswitch.d\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.uplink.device, Some(PathBuf::from("/dev/ttyUSB0")));
        assert_eq!(cfg.uplink.control_device, None);
        assert_eq!(cfg.uplink.switch_timeout, Duration::from_secs(45));
        assert_eq!(
            cfg.uplink.modeswitch_data,
            [
                PathBuf::from("/etc/usb-mode.json"),
                PathBuf::from("/etc/usb_modeswitch.d")
            ]
        );
        assert_eq!(Uplink::default().switch_timeout, Duration::from_secs(20));
    }

    #[test]
    fn the_recovery_ladder_options() {
        let u = Uplink::default();
        assert_eq!(
            u.reset_ladder,
            [Rung::Cfun, Rung::UsbReset, Rung::PortPower]
        );
        assert_eq!(u.gpio_power, None);
        // gpio_power set: gpio on top of the default ladder.
        let (cfg, w) = uci(
            "config uplink\n option gpio_power '/sys/class/gpio/tp-link:power:usb/value'\n option usb_reset_min_interval 1h\n option escalate_after 2\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let p = crate::uplink::ladder::Policy::of(&cfg.uplink);
        assert_eq!(
            p.rungs,
            [Rung::Cfun, Rung::UsbReset, Rung::PortPower, Rung::Gpio]
        );
        assert_eq!(p.escalate_after, 2);
        assert_eq!(
            p.min_interval[Rung::UsbReset as usize],
            Duration::from_secs(3600)
        );
        assert_eq!(
            p.min_interval[Rung::Cfun as usize],
            Duration::from_secs(120)
        );
        // An explicit ladder, in its order; redial alone: only redials.
        let (cfg, _) =
            uci("config uplink\n option reset_ladder 'redial usb_reset cfun'\n").unwrap();
        assert_eq!(cfg.uplink.reset_ladder, [Rung::UsbReset, Rung::Cfun]);
        let (cfg, _) = uci("config uplink\n list reset_ladder redial\n").unwrap();
        assert!(cfg.uplink.reset_ladder.is_empty());
        // Mistakes name the option and the value.
        for (text, says) in [
            ("option reset_ladder 'cfun reboot'", "unknown rung 'reboot'"),
            ("option reset_ladder 'cfun cfun'", "rung 'cfun' named twice"),
            (
                "option reset_ladder 'cfun gpio'",
                "rung 'gpio' needs option gpio_power",
            ),
            ("option gpio_power 'gpio21/value'", "got 'gpio21/value'"),
            (
                "option cfun_min_interval 1s",
                "a duration from 10s to 7d, got '1s'",
            ),
            ("option power_off_time 2m", "got '2m'"),
            ("option escalate_after many", "got 'many'"),
        ] {
            let e = uci(&format!("config uplink\n {text}\n"))
                .unwrap_err()
                .to_string();
            let name = text.split_whitespace().nth(1).unwrap();
            assert!(e.contains(&format!("option '{name}'")), "{e}");
            assert!(e.contains(says), "{e}");
        }
    }

    #[cfg(feature = "auth")]
    #[test]
    fn connection_limits_per_socket() {
        let (cfg, w) = uci(
            "config factotum\n option peer_conns 8\n option idle_timeout 0\nconfig signer\n option agent_max_conns 5\n option agent_idle_timeout 1m\n option max_conns 3\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.factotum.conns.per_peer, 8);
        assert_eq!(cfg.factotum.conns.idle, Duration::ZERO);
        assert_eq!(cfg.factotum.conns.max_conns, 1024);
        assert_eq!(cfg.signer.agent_conns.max_conns, 5);
        assert_eq!(cfg.signer.agent_conns.idle, Duration::from_secs(60));
        assert_eq!(cfg.signer.conns.max_conns, 3);
        assert_eq!(cfg.keyfs.conns, Keyfs::default().conns);
        let e = uci("config keyfs\n option enabled 1\n option peer_conns 0\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("peer_conns"), "{e}");
        assert!(e.to_string().contains("at least 1"), "{e}");
    }

    #[test]
    fn state_dir_holds_the_pin_memory() {
        let d = Main::default();
        assert_eq!(d.state_dir, PathBuf::from("/etc/warden"));
        assert_eq!(d.pin_store(), PathBuf::from("/etc/warden/pin-rejected"));
        let (cfg, w) = uci("config warden 'main'\n option state_dir /srv/warden\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            cfg.main.pin_store(),
            PathBuf::from("/srv/warden/pin-rejected")
        );
        let e = uci("config warden 'main'\n\n option state_dir 'etc/warden'\n").unwrap_err();
        assert_eq!(e.line, 3);
        let s = e.to_string();
        assert!(s.contains("option 'state_dir'"), "{s}");
        assert!(s.contains("an absolute path, got 'etc/warden'"), "{s}");
    }

    /// Every option of netifd's ppp.sh and comgt's 3g.sh is read: honoured
    /// (warden's own fields, holdoff as the first redial's wait) or
    /// answered with a warning naming it and saying why.
    #[test]
    fn ppp_sh_options_are_honoured_or_answered() {
        let (cfg, w) = uci(
            "config uplink\n option keepalive_adaptive 0\n option pppname wwan0\n\
             option localip 192.0.2.1\n option authfail 1\n option connect /etc/ppp/dial\n\
             option disconnect /etc/ppp/hangup\n option delay 15\n option holdoff 7\n\
             option persist 1\n option maxfail 0\n option demand 0\n option ipv6 0\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let u = &cfg.uplink;
        assert!(!u.keepalive_adaptive && u.authfail);
        assert_eq!(u.pppname.as_deref(), Some("wwan0"));
        assert_eq!(u.localip, Some([192, 0, 2, 1].into()));
        assert_eq!(u.connect, Some(PathBuf::from("/etc/ppp/dial")));
        assert_eq!(u.disconnect, Some(PathBuf::from("/etc/ppp/hangup")));
        assert_eq!(u.delay, Duration::from_secs(15));
        assert_eq!(u.backoff_initial, Duration::from_secs(7));
        // Unset: ppp.sh's defaults.
        let d = Uplink::default();
        let k = d.keepalive.unwrap().0;
        assert_eq!((k.failures, k.interval), (5, 1));
        assert!(d.keepalive_adaptive && !d.authfail);
        // holdoff 0 still waits a second; backoff_initial wins over it.
        let (cfg, _) = uci("config uplink\n option holdoff 0\n").unwrap();
        assert_eq!(cfg.uplink.backoff_initial, Duration::from_secs(1));
        let (cfg, w) =
            uci("config uplink\n option backoff_initial 3s\n option holdoff 9\n").unwrap();
        assert_eq!(cfg.uplink.backoff_initial, Duration::from_secs(3));
        assert!(
            w[0].msg
                .contains("option 'holdoff': ignored, backoff_initial"),
            "{w:?}"
        );
        // The ones that do not apply: one warning each, on its line.
        let (_, w) = uci(
            "config uplink\n option persist 0\n option maxfail 3\n option demand 30\n\
             option unnumbered lan\n",
        )
        .unwrap();
        let names = ["persist", "maxfail", "demand", "unnumbered"];
        assert_eq!(w.len(), names.len(), "{w:?}");
        for (i, (w, name)) in w.iter().zip(names).enumerate() {
            assert_eq!(w.line, i + 2, "{w}");
            assert!(w.msg.contains(&format!("option '{name}': ")), "{w}");
            assert!(!w.msg.contains("unknown option"), "{w}");
        }
        // IPv6, as ppp.sh: honoured; the DHCPv6 child's options are
        // answered when there is no child (ipv6 not auto).
        let (cfg, w) = uci(
            "config uplink\n option ipv6 auto\n option reqprefix 60\n option norelease 1\n\
             option sourcefilter 0\n option delegate 0\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let u = &cfg.uplink;
        assert_eq!(u.ipv6, Ipv6::Auto);
        assert_eq!(u.reqprefix.as_deref(), Some("60"));
        assert!(u.norelease && !u.sourcefilter && !u.delegate);
        let d = Uplink::default();
        assert_eq!(d.ipv6, Ipv6::Auto);
        assert!(!d.norelease && d.sourcefilter && d.delegate && d.reqprefix.is_none());
        let (cfg, w) =
            uci("config uplink\n option ipv6 1\n option reqprefix no\n option norelease 1\n")
                .unwrap();
        assert_eq!(cfg.uplink.ipv6, Ipv6::On);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].msg.contains("option 'reqprefix': ignored"), "{w:?}");
        assert!(w[1].msg.contains("ipv6 is '1'"), "{w:?}");
        assert_eq!(
            uci("config uplink\n option ipv6 ''\n")
                .unwrap()
                .0
                .uplink
                .ipv6,
            Ipv6::Auto
        );
        assert_eq!(
            uci("config uplink\n option ipv6 0\n")
                .unwrap()
                .0
                .uplink
                .ipv6,
            Ipv6::Off
        );
        let e = uci("config uplink\n option ipv6 maybe\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("option 'ipv6'") && e.contains("auto, 1 or 0"),
            "{e}"
        );
        let e = uci("config uplink\n option reqprefix 99\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("option 'reqprefix'") && e.contains("0 to 64"),
            "{e}"
        );
        assert!(uci("config uplink\n option delay 1h\n").is_err());
        assert!(uci("config uplink\n option connect chat\n").is_err());
    }

    #[cfg(feature = "auth")]
    #[test]
    fn state_files_follow_the_configuration() {
        let d = Config::default().state_files();
        for f in [
            "/etc/warden/keys",
            "/etc/warden/keys.bak",
            "/etc/warden/keys.key",
            "/etc/warden/pin-rejected",
            "/etc/warden/quota.wan",
            "/etc/warden/revoked.krl",
        ] {
            assert!(d.contains(&PathBuf::from(f)), "{f} missing from {d:?}");
        }
        let (cfg, _) = uci(
            "config warden 'main'\n option state_dir /srv/w\nconfig keyfs\n option file /srv/k\n",
        )
        .unwrap();
        let s = cfg.state_files();
        assert!(s.contains(&PathBuf::from("/srv/w/pin-rejected")));
        assert!(s.contains(&PathBuf::from("/srv/k.bak")));
    }

    #[test]
    fn quota_options() {
        use crate::config::vocab::OverAction;
        let (cfg, w) = uci(
            "config uplink\n option quota_limit 2G\n option quota_start_day 15\n \
             option quota_action stop\n option quota_save_interval 1h\n option quota_interval 5s\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let q = cfg.uplink.quota;
        assert_eq!(q.limit, 2 << 30);
        assert_eq!(q.start_day, 15);
        assert_eq!(q.action, OverAction::Stop);
        assert_eq!(q.save_interval, Duration::from_secs(3600));
        assert_eq!(q.sample_interval, Duration::from_secs(5));
        for (opt, bad, says) in [
            ("quota_limit", "1.5G", "byte count"),
            ("quota_start_day", "31", "1 to 28"),
            ("quota_action", "hangup", "warn or stop"),
            ("quota_save_interval", "10s", "a duration from"),
            ("quota_interval", "0", "a duration from"),
        ] {
            let e = uci(&format!("config uplink\n option {opt} '{bad}'\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(opt) && e.contains(says), "{opt}: {e}");
        }
    }

    #[test]
    fn rescan_interval_is_bounded() {
        assert_eq!(Uplink::default().rescan_interval, Duration::from_secs(60));
        let (cfg, w) = uci("config uplink\n option rescan_interval 5m\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.uplink.rescan_interval, Duration::from_secs(300));
        let (cfg, _) = uci("config uplink\n option rescan_interval ''\n").unwrap();
        assert_eq!(cfg.uplink.rescan_interval, Duration::from_secs(60));
        for bad in ["0", "500ms", "2h", "soon"] {
            let e = uci(&format!(
                "config uplink\n\n option rescan_interval '{bad}'\n"
            ))
            .unwrap_err();
            assert_eq!(e.line, 3, "{e}");
            let s = e.to_string();
            assert!(s.contains("option 'rescan_interval'"), "{s}");
            assert!(s.contains(&format!("got '{bad}'")), "{s}");
        }
        let e = uci("config uplink\n option rescan_interval 0\n").unwrap_err();
        assert!(e.msg.contains("a duration from 1s to 1h"), "{e}");
    }

    #[test]
    fn bad_value_names_file_line_option_and_expectation() {
        let e = uci("config warden 'main'\n\n option log_level loud\n").unwrap_err();
        assert_eq!(e.line, 3);
        let s = e.to_string();
        assert!(s.starts_with("/etc/config/warden:3: "), "{s}");
        assert!(s.contains("option 'log_level'"), "{s}");
        assert!(s.contains("expected a log level"), "{s}");
        assert!(s.contains("'loud'"), "{s}");
    }

    #[test]
    fn list_where_single_expected() {
        let e = uci("config uplink\n list apn a\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("got a list"));
    }

    #[test]
    fn unknown_options_and_sections_warn() {
        let (_, w) = uci("config uplink\n option colour blue\nconfig gizmo\n").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].line, 2);
        assert!(w[0].msg.contains("unknown option 'colour'"));
        assert!(w[1].msg.contains("unknown section type 'gizmo'"));
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_front_end_gives_same_model() {
        let (a, _) = uci("config uplink\n option apn net\n option enabled 0\n").unwrap();
        let (b, _) = parse(
            Path::new("w.toml"),
            "[uplink]\napn = \"net\"\nenabled = false\n",
        )
        .unwrap();
        assert_eq!(a, b);
        let e = parse(Path::new("w.toml"), "[uplink]\n\nenabled = \"maybe\"\n").unwrap_err();
        assert_eq!(e.to_string().split(": ").next(), Some("w.toml:3"));
    }

    #[test]
    fn uplink_link_options() {
        let (cfg, w) = uci(concat!(
            "config uplink\n option password 'hunter2'\n option keepalive '3,10'\n",
            " option mtu 1400\n list fallback_dns 9.9.9.9\n list fallback_dns 2620:fe::fe\n",
            " list pppd_options 'kdebug 1'\n list pppd_options debug\n option backoff_max 10m\n",
            " option probe_timeout 500ms\n",
        ))
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let u = &cfg.uplink;
        assert_eq!(u.password.expose(), "hunter2");
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert_eq!(
            u.keepalive,
            Some(KeepaliveOpt(Keepalive {
                failures: 3,
                interval: 10
            }))
        );
        assert_eq!(u.mtu, Some(1400));
        assert_eq!(u.fallback_dns.len(), 2);
        assert_eq!(u.pppd_options, ["kdebug", "1", "debug"]);
        assert_eq!(
            crate::uplink::backoff::Backoff::of(u).max,
            Duration::from_secs(600)
        );
        assert_eq!(u.probe_timeout, Duration::from_millis(500));
        let e = uci("config uplink\n option keepalive 'often'\n").unwrap_err();
        assert!(e.msg.contains("FAILURES [INTERVAL]"), "{e}");
        let e = uci("config uplink\n list fallback_dns 'dns.example'\n").unwrap_err();
        assert!(e.msg.contains("IP address"), "{e}");
        let e = uci("config uplink\n option probe_name 'bad name'\n").unwrap_err();
        assert!(e.msg.contains("a DNS name"), "{e}");
        let e = uci("config uplink\n option apn 'x\"; reboot'\n").unwrap_err();
        assert!(e.msg.contains("option 'apn': APN"), "{e}");
        assert!(e.msg.contains("is not valid: 1 to 100 letters"), "{e}");
        let e = uci("config uplink\n option dialnumber '*99#;'\n").unwrap_err();
        assert!(e.msg.contains("dialnumber '*99#;': character ';'"), "{e}");
        // Empty: the default number (comgt's 3g), no APN (the modem's).
        let (cfg, _) = uci("config uplink\n option dialnumber ''\n option apn ''\n").unwrap();
        assert_eq!(cfg.uplink.dialnumber, "*99***1#");
        assert_eq!(cfg.uplink.apn, "");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1y"), Some(Duration::from_secs(365 * 86400)));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[cfg(feature = "auth")]
    #[test]
    fn factotum_allow_lists() {
        let (c, w) = uci("config factotum\n list allow_uid 1000\n list allow_uid '1001'\n option allow_gid '50 51'\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.factotum.allow_uid, [1000, 1001]);
        assert_eq!(c.factotum.allow_gid, [50, 51]);
        let e = uci("config factotum\n list allow_uid nobody\n").unwrap_err();
        assert!(e.msg.contains("allow_uid"), "{e}");
        let (c, _) = uci("config factotum\n option allow_uid ''\n").unwrap();
        assert!(c.factotum.allow_uid.is_empty());
    }

    #[test]
    fn shipped_configs_parse_cleanly() {
        let mut files = vec![("uci/warden-uplink", include_str!("../../uci/warden-uplink"))];
        // the warden package's, with the auth sections only it reads
        if cfg!(feature = "auth") {
            files.push(("uci/warden", include_str!("../../uci/warden")));
        }
        if cfg!(all(feature = "auth", feature = "toml")) {
            files.push(("uci/warden.toml", include_str!("../../uci/warden.toml")));
        }
        for (name, text) in files {
            let (_, w) = parse(Path::new(name), text).unwrap_or_else(|e| panic!("{e}"));
            assert!(w.is_empty(), "{name}: {w:?}");
        }
    }
}
