//! pppd's command line, built the way OpenWRT's `ppp` and comgt `3g`
//! protocol handlers build it (ppp.sh `ppp_generic_setup`, 3g.sh): `ipparam`,
//! `ifname` (`pppname`, default `3g-<interface>` as proto 3g names it), the
//! `unnumbered` address as `<localip>:`, LCP echo from `keepalive` (ppp.sh's
//! default "5 1") with `lcp-echo-adaptive` unless `keepalive_adaptive` is
//! off, `connect`/`disconnect` programs, `mtu`/`mru`, then 3g.sh's serial
//! options and `pppd_options` last. Three deliberate differences, each for
//! a reason:
//!
//! - no `persist`, and `maxfail 1`: pppd exits whenever the link ends, so
//!   warden (not pppd) decides when to redial and with what backoff
//!   (ppp.sh's `persist`, `maxfail` and `holdoff` are answered by warden's
//!   supervisor, see `config/model.rs`);
//! - the password goes into a 0600 options file read with `file`, never onto
//!   the command line where every user can read it in /proc;
//! - the dial chat is inline (`AT&F`, `ATE1`, `AT+CGDCONT=1,"IP","<apn>"`,
//!   `ATD<dialnumber>`, expect `CONNECT`) and really dials the configured
//!   number; the stock 3g.chat always dials `*99***1#`. A `connect`
//!   program replaces it, as in ppp.sh.
//!
//! The ip-up/ip-down scripts are warden's wrappers; pppd gives scripts an
//! empty environment, so the hook socket and warden's path travel with
//! pppd's `set NAME=VALUE` option.
//!
//! IPv6 as ppp.sh: `ipv6` 1 or auto gives `+ipv6` and the ipv6-up/-down
//! scripts (warden's `warden-ppp6-up`, which does what ppp6-up does, and
//! `warden-ppp6-down`); auto also sets `AUTOIPV6=1`, 3g.sh's
//! `EXTENDPREFIX=1` (RFC 7278) and `REQPREFIX`/`NORELEASE` for the DHCPv6
//! child interface ppp6-up adds, and either sets `NOSOURCEFILTER=1`,
//! `DELEGATE=0` and `PEERDNS=0` from sourcefilter 0, delegate 0 and
//! peerdns 0.

use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// LCP echo keepalive (the `keepalive` option's value).
pub use crate::config::Keepalive;

/// Everything the command line is built from.
#[derive(Clone)]
pub struct PppdConfig {
    pub pppd: PathBuf,
    pub chat: PathBuf,
    /// The logical interface (netifd's name, e.g. `wan`): pppd's `ipparam`.
    pub interface: String,
    /// The PPP (modem) port.
    pub device: PathBuf,
    pub apn: String,
    pub dialnumber: String,
    pub username: String,
    pub password: Zeroizing<String>,
    pub keepalive: Option<Keepalive>,
    /// `lcp-echo-adaptive` with the keepalive (ppp.sh's default).
    pub keepalive_adaptive: bool,
    pub mtu: Option<u32>,
    /// pppd's interface name; None: `3g-<interface>`.
    pub pppname: Option<String>,
    /// The local address to ask for (`<localip>:`).
    pub localip: Option<std::net::Ipv4Addr>,
    /// pppd's `connect` program instead of warden's chat.
    pub connect: Option<PathBuf>,
    /// pppd's `disconnect` program.
    pub disconnect: Option<PathBuf>,
    /// Let pppd add the default route (a plain host); on OpenWRT netifd adds
    /// it from the ip-up hook, so this is off there.
    pub defaultroute: bool,
    pub peerdns: bool,
    /// ppp.sh's `ipv6` (see the module's header).
    pub ipv6: crate::config::Ipv6,
    /// The DHCPv6 child's `reqprefix` (with ipv6 auto).
    pub reqprefix: Option<String>,
    /// The DHCPv6 child's `norelease` (with ipv6 auto).
    pub norelease: bool,
    /// `sourcefilter` off: `NOSOURCEFILTER=1` for the DHCPv6 child.
    pub sourcefilter: bool,
    /// `delegate` off: `DELEGATE=0` for the DHCPv6 child.
    pub delegate: bool,
    /// Extra options appended last, split on white space as OpenWRT does.
    pub pppd_options: Vec<String>,
    /// Servers the ip-up script announces besides the network's, passed as
    /// `WARDEN_FALLBACK_DNS`.
    pub fallback_dns: Vec<std::net::IpAddr>,
    pub ip_up: PathBuf,
    pub ip_down: PathBuf,
    pub ipv6_up: PathBuf,
    pub ipv6_down: PathBuf,
    /// The hook socket, passed to the scripts as `WARDEN_SOCKET`.
    pub socket: PathBuf,
    /// warden's own path, passed to the scripts as `WARDEN`.
    pub warden: PathBuf,
    /// Where the options file holding the password is written.
    pub secrets_file: PathBuf,
}

impl fmt::Debug for PppdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PppdConfig")
            .field("interface", &self.interface)
            .field("device", &self.device)
            .field("apn", &self.apn)
            .field("dialnumber", &self.dialnumber)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl PppdConfig {
    /// Defaults for interface `iface` on `device`, OpenWRT paths.
    pub fn new(iface: &str, device: impl Into<PathBuf>) -> PppdConfig {
        PppdConfig {
            pppd: "/usr/sbin/pppd".into(),
            chat: "/usr/sbin/chat".into(),
            interface: iface.into(),
            device: device.into(),
            apn: String::new(),
            dialnumber: "*99***1#".into(),
            username: String::new(),
            password: Zeroizing::new(String::new()),
            keepalive: None,
            keepalive_adaptive: true,
            mtu: None,
            pppname: None,
            localip: None,
            connect: None,
            disconnect: None,
            defaultroute: false,
            peerdns: true,
            ipv6: crate::config::Ipv6::Off,
            reqprefix: None,
            norelease: false,
            sourcefilter: true,
            delegate: true,
            pppd_options: Vec::new(),
            fallback_dns: Vec::new(),
            ip_up: "/lib/netifd/warden-ppp-up".into(),
            ip_down: "/lib/netifd/warden-ppp-down".into(),
            ipv6_up: "/lib/netifd/warden-ppp6-up".into(),
            ipv6_down: "/lib/netifd/warden-ppp6-down".into(),
            socket: "/var/run/warden/uplink.sock".into(),
            warden: "/usr/sbin/warden".into(),
            secrets_file: format!("/var/run/warden/pppd-{iface}.options").into(),
        }
    }
}

impl PppdConfig {
    /// From the `uplink` section: the PPP port found by discovery, the
    /// run directory (hook socket `<run_dir>/uplink.sock`, password file)
    /// and warden's own path (for the hook scripts).
    pub fn from_config(
        u: &crate::config::Uplink,
        run_dir: &std::path::Path,
        device: impl Into<PathBuf>,
        warden: impl Into<PathBuf>,
    ) -> PppdConfig {
        let mut c = PppdConfig::new(&u.interface, device);
        c.pppd = u.pppd.clone();
        c.apn = u.apn.clone();
        c.dialnumber = u.dialnumber.clone();
        c.username = u.username.clone();
        c.password = Zeroizing::new(u.password.expose().to_string());
        c.keepalive = u.keepalive.map(|k| k.0);
        c.keepalive_adaptive = u.keepalive_adaptive;
        c.mtu = u.mtu;
        c.pppname = u.pppname.clone();
        c.localip = u.localip;
        c.connect = u.connect.clone();
        c.disconnect = u.disconnect.clone();
        c.defaultroute = u.defaultroute;
        c.peerdns = u.peerdns;
        c.ipv6 = u.ipv6;
        c.reqprefix = u.reqprefix.clone();
        c.norelease = u.norelease;
        c.sourcefilter = u.sourcefilter;
        c.delegate = u.delegate;
        c.pppd_options = u.pppd_options.clone();
        c.fallback_dns = u.fallback_dns.clone();
        c.socket = run_dir.join(super::hook::SOCKET_NAME);
        c.warden = warden.into();
        c.secrets_file = run_dir.join(format!("pppd-{}.options", u.interface));
        c
    }
}

/// The program, its arguments and the options file to write first.
#[derive(Clone)]
pub struct PppdCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `(path, contents)` of the options file named by `file`, when a
    /// password is set. Contents are secret.
    pub secrets: Option<(PathBuf, Zeroizing<String>)>,
}

impl fmt::Debug for PppdCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PppdCommand")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("secrets", &self.secrets.as_ref().map(|(p, _)| p))
            .finish()
    }
}

/// A configuration value pppd must not get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// An APN: empty means "leave the modem's context alone" (as comgt's 3g
/// treats an unset apn); otherwise what the modem is sent
/// (`modem::commands::cgdcont_command`'s rule: 1 to 100 letters, digits,
/// '.', '-' and '_', 3GPP TS 23.003 labels), so the configuration refuses
/// exactly what setting up the modem would.
pub fn check_apn(apn: &str) -> Result<(), ArgError> {
    if apn.is_empty() {
        return Ok(());
    }
    crate::uplink::modem::commands::cgdcont_command(1, apn)
        .map(|_| ())
        .map_err(|e| ArgError(e.to_string()))
}

/// A dial string: digits, `*`, `#`, `+`, `,` and `p`/`w` pauses.
pub fn check_dialnumber(d: &str) -> Result<(), ArgError> {
    if d.is_empty() || d.len() > 40 {
        return Err(ArgError(format!(
            "dialnumber '{d}': expected 1 to 40 characters"
        )));
    }
    match d.chars().find(|c| {
        !(c.is_ascii_digit() || matches!(c, '*' | '#' | '+' | ',' | 'p' | 'P' | 'w' | 'W'))
    }) {
        Some(c) => Err(ArgError(format!(
            "dialnumber '{d}': character '{}' not allowed",
            c.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// pppd's interface name: `pppname`, else `3g-<interface>`.
pub fn ifname(pppname: Option<&str>, interface: &str) -> String {
    pppname.map_or_else(|| format!("3g-{interface}"), str::to_string)
}

/// netifd's logical interface name, as pppd's `ipparam` and in the device
/// name `3g-<interface>` (at most 15 bytes, the kernel's limit).
pub fn check_interface(i: &str) -> Result<(), ArgError> {
    if i.is_empty()
        || i.len() > 12
        || !i
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ArgError(format!(
            "interface '{}': expected 1 to 12 letters, digits, '-' or '_'",
            i.escape_debug()
        )));
    }
    Ok(())
}

/// pppd's interface name (`ifname`, ppp.sh's `pppname`): what the kernel
/// takes as a network device name, at most 15 bytes (IFNAMSIZ - 1), of
/// letters, digits, '-', '_' and '.', and not '.' or '..'.
pub fn check_pppname(n: &str) -> Result<(), ArgError> {
    if n.is_empty()
        || n.len() > 15
        || n == "."
        || n == ".."
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ArgError(format!(
            "pppname '{}': expected 1 to 15 letters, digits, '-', '_' or '.' (a network device name)",
            n.escape_debug()
        )));
    }
    Ok(())
}

/// A program for pppd's `connect` or `disconnect` (ppp.sh's options of
/// those names, `file`s): an absolute path without control characters,
/// run by pppd through sh, quoted.
pub fn check_script(what: &str, p: &std::path::Path) -> Result<(), ArgError> {
    let s = p.to_string_lossy();
    if !s.starts_with('/') || s.chars().any(|c| c.is_control()) {
        return Err(ArgError(format!(
            "{what} '{}': expected an absolute path to a program",
            s.escape_debug()
        )));
    }
    Ok(())
}

/// The local address pppd asks for: a unicast IPv4 address.
pub fn check_localip(a: std::net::Ipv4Addr) -> Result<(), ArgError> {
    if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
        return Err(ArgError(format!(
            "localip {a}: expected a unicast IPv4 address"
        )));
    }
    Ok(())
}

/// The DHCPv6 child's `reqprefix`, as netifd's dhcpv6.sh declares it:
/// `auto`, `no` or a prefix length 0 to 64.
pub fn check_reqprefix(r: &str) -> Result<(), ArgError> {
    if r == "auto" || r == "no" || r.parse::<u8>().is_ok_and(|n| n <= 64) {
        Ok(())
    } else {
        Err(ArgError(format!(
            "reqprefix '{}': expected auto, no or a prefix length 0 to 64",
            r.escape_debug()
        )))
    }
}

/// pppd's `mtu`/`mru` limits (MINMRU and MAXMRU in pppd's lcp.h): pppd
/// exits with "bad options" outside them.
pub const MTU: std::ops::RangeInclusive<u32> = 128..=16384;

pub fn check_mtu(m: u32) -> Result<(), ArgError> {
    if MTU.contains(&m) {
        Ok(())
    } else {
        Err(ArgError(format!(
            "mtu {m}: pppd takes {} to {}",
            MTU.start(),
            MTU.end()
        )))
    }
}

/// No control characters (a newline would end the value in pppd's
/// options file and start another option).
pub fn check_text(what: &str, s: &str) -> Result<(), ArgError> {
    if s.chars().any(|c| c.is_control()) {
        return Err(ArgError(format!("{what} contains a control character")));
    }
    Ok(())
}

/// Quote one word for /bin/sh (pppd runs `connect` with `sh -c`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quote one word for a pppd options file.
fn options_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The chat conversation, as chat(8) arguments.
pub fn chat_script(apn: &str, dialnumber: &str) -> Vec<String> {
    let mut s: Vec<String> = [
        "ABORT",
        "BUSY",
        "ABORT",
        "NO CARRIER",
        "ABORT",
        "ERROR",
        "ABORT",
        "NO DIALTONE",
        "REPORT",
        "CONNECT",
        "TIMEOUT",
        "10",
        "",
        "AT&F",
        "OK",
        "ATE1",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    if !apn.is_empty() {
        s.push("OK".into());
        s.push(format!("AT+CGDCONT=1,\"IP\",\"{apn}\""));
    }
    s.extend(["TIMEOUT".into(), "30".into(), "OK".into()]);
    s.push(format!("ATD{dialnumber}"));
    s.extend(["CONNECT".into(), String::new()]);
    s
}

/// pppd's `connect` option: chat with the script, quoted for sh.
pub fn connect_command(cfg: &PppdConfig) -> String {
    let mut cmd = format!("exec {} -v -t 5", sh_quote(&cfg.chat.to_string_lossy()));
    for w in chat_script(&cfg.apn, &cfg.dialnumber) {
        cmd.push(' ');
        cmd.push_str(&sh_quote(&w));
    }
    cmd
}

/// Build pppd's command line.
pub fn build(cfg: &PppdConfig) -> Result<PppdCommand, ArgError> {
    check_apn(&cfg.apn)?;
    check_dialnumber(&cfg.dialnumber)?;
    check_text("username", &cfg.username)?;
    check_text("password", &cfg.password)?;
    check_interface(&cfg.interface)?;
    if let Some(m) = cfg.mtu {
        check_mtu(m)?;
    }
    let dev = cfg.device.to_string_lossy().into_owned();
    if dev.is_empty() {
        return Err(ArgError("no PPP device".into()));
    }
    let mut a: Vec<String> = Vec::new();
    let mut push = |words: &[&str]| a.extend(words.iter().map(|w| w.to_string()));
    push(&["nodetach", "ipparam", &cfg.interface]);
    let ifname = ifname(cfg.pppname.as_deref(), &cfg.interface);
    check_pppname(&ifname)?;
    push(&["ifname", &ifname]);
    if let Some(ip) = cfg.localip {
        check_localip(ip)?;
        push(&[&format!("{ip}:")]);
    }
    if let Some(k) = cfg.keepalive {
        push(&[
            "lcp-echo-interval",
            &k.interval.to_string(),
            "lcp-echo-failure",
            &k.failures.to_string(),
        ]);
        if cfg.keepalive_adaptive {
            push(&["lcp-echo-adaptive"]);
        }
    }
    if cfg.ipv6 != crate::config::Ipv6::Off {
        push(&["+ipv6"]);
        if cfg.ipv6 == crate::config::Ipv6::Auto {
            push(&["set", "AUTOIPV6=1", "set", "EXTENDPREFIX=1"]);
            if let Some(r) = &cfg.reqprefix {
                check_reqprefix(r)?;
                push(&["set", &format!("REQPREFIX={r}")]);
            }
            if cfg.norelease {
                push(&["set", "NORELEASE=1"]);
            }
        }
        if !cfg.peerdns {
            push(&["set", "PEERDNS=0"]);
        }
        if !cfg.sourcefilter {
            push(&["set", "NOSOURCEFILTER=1"]);
        }
        if !cfg.delegate {
            push(&["set", "DELEGATE=0"]);
        }
    }
    push(&[if cfg.defaultroute {
        "defaultroute"
    } else {
        "nodefaultroute"
    }]);
    if cfg.peerdns {
        push(&["usepeerdns"]);
    }
    push(&["maxfail", "1"]);
    let mut secrets = None;
    if !cfg.username.is_empty() {
        push(&["user", &cfg.username]);
    }
    if !cfg.password.is_empty() {
        let mut body = Zeroizing::new(String::from("password "));
        body.push_str(&options_quote(&cfg.password));
        body.push('\n');
        let p = cfg.secrets_file.to_string_lossy().into_owned();
        push(&["file", &p]);
        secrets = Some((cfg.secrets_file.clone(), body));
    }
    match &cfg.connect {
        Some(p) => {
            check_script("connect", p)?;
            push(&["connect", &sh_quote(&p.to_string_lossy())]);
        }
        None => push(&["connect", &connect_command(cfg)]),
    }
    if let Some(p) = &cfg.disconnect {
        check_script("disconnect", p)?;
        push(&["disconnect", &sh_quote(&p.to_string_lossy())]);
    }
    let up = cfg.ip_up.to_string_lossy().into_owned();
    let down = cfg.ip_down.to_string_lossy().into_owned();
    push(&["ip-up-script", &up, "ip-down-script", &down]);
    if cfg.ipv6 != crate::config::Ipv6::Off {
        let up6 = cfg.ipv6_up.to_string_lossy().into_owned();
        let down6 = cfg.ipv6_down.to_string_lossy().into_owned();
        push(&["ipv6-up-script", &up6, "ipv6-down-script", &down6]);
    }
    let sock = format!("WARDEN_SOCKET={}", cfg.socket.to_string_lossy());
    let me = format!("WARDEN={}", cfg.warden.to_string_lossy());
    push(&["set", &sock, "set", &me]);
    if !cfg.fallback_dns.is_empty() {
        let list: Vec<String> = cfg.fallback_dns.iter().map(|a| a.to_string()).collect();
        let fb = format!("WARDEN_FALLBACK_DNS={}", list.join(" "));
        push(&["set", &fb]);
    }
    if let Some(m) = cfg.mtu {
        let m = m.to_string();
        push(&["mtu", &m, "mru", &m]);
    }
    push(&[
        "noaccomp",
        "nopcomp",
        "novj",
        "nobsdcomp",
        "noauth",
        "lock",
        "crtscts",
        "115200",
        &dev,
    ]);
    a.extend(cfg.pppd_options.iter().cloned());
    Ok(PppdCommand {
        program: cfg.pppd.clone(),
        args: a,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PppdConfig {
        let mut c = PppdConfig::new("wan", "/dev/ttyUSB0");
        c.apn = "internet".into();
        c
    }

    #[test]
    fn openwrt_shaped_command_line() {
        let mut c = cfg();
        c.keepalive = Keepalive::parse("5 10").unwrap();
        c.keepalive_adaptive = false;
        c.mtu = Some(1400);
        c.username = "web".into();
        c.password = Zeroizing::new("s3\"cr\\et".into());
        c.pppd_options = vec!["debug".into(), "lcp-echo-adaptive".into()];
        let cmd = build(&c).unwrap();
        let connect = connect_command(&c);
        let want: Vec<&str> = vec![
            "nodetach",
            "ipparam",
            "wan",
            "ifname",
            "3g-wan",
            "lcp-echo-interval",
            "10",
            "lcp-echo-failure",
            "5",
            "nodefaultroute",
            "usepeerdns",
            "maxfail",
            "1",
            "user",
            "web",
            "file",
            "/var/run/warden/pppd-wan.options",
            "connect",
            &connect,
            "ip-up-script",
            "/lib/netifd/warden-ppp-up",
            "ip-down-script",
            "/lib/netifd/warden-ppp-down",
            "set",
            "WARDEN_SOCKET=/var/run/warden/uplink.sock",
            "set",
            "WARDEN=/usr/sbin/warden",
            "mtu",
            "1400",
            "mru",
            "1400",
            "noaccomp",
            "nopcomp",
            "novj",
            "nobsdcomp",
            "noauth",
            "lock",
            "crtscts",
            "115200",
            "/dev/ttyUSB0",
            "debug",
            "lcp-echo-adaptive",
        ];
        assert_eq!(cmd.args, want);
        assert_eq!(cmd.program, PathBuf::from("/usr/sbin/pppd"));
        // The password is only in the options file, escaped.
        assert!(!cmd.args.iter().any(|a| a.contains("s3")));
        let (path, body) = cmd.secrets.as_ref().unwrap();
        assert_eq!(path, &PathBuf::from("/var/run/warden/pppd-wan.options"));
        assert_eq!(body.as_str(), "password \"s3\\\"cr\\\\et\"\n");
        assert!(!format!("{cmd:?} {c:?}").contains("s3"));
    }

    #[test]
    fn minimal_command_line() {
        let mut c = cfg();
        c.apn.clear();
        c.defaultroute = true;
        c.peerdns = false;
        let cmd = build(&c).unwrap();
        assert!(cmd.secrets.is_none());
        assert!(cmd.args.contains(&"defaultroute".to_string()));
        assert!(!cmd
            .args
            .iter()
            .any(|a| a == "usepeerdns" || a == "user" || a == "mtu"));
        assert!(!connect_command(&c).contains("CGDCONT"));
        assert!(!cmd
            .args
            .iter()
            .any(|a| a.starts_with("WARDEN_FALLBACK_DNS")));
        c.fallback_dns = vec!["9.9.9.9".parse().unwrap(), "2620:fe::fe".parse().unwrap()];
        let cmd = build(&c).unwrap();
        assert!(cmd
            .args
            .windows(2)
            .any(|w| w == ["set", "WARDEN_FALLBACK_DNS=9.9.9.9 2620:fe::fe"]));
    }

    #[test]
    fn chat_conversation() {
        let s = chat_script("web.example", "*99#");
        let pos = |w: &str| s.iter().position(|x| x == w).unwrap();
        assert!(pos("AT&F") < pos("AT+CGDCONT=1,\"IP\",\"web.example\""));
        assert!(pos("AT+CGDCONT=1,\"IP\",\"web.example\"") < pos("ATD*99#"));
        assert_eq!(s.last().unwrap(), "");
        assert_eq!(s[s.len() - 2], "CONNECT");
        assert_eq!(
            connect_command(&cfg()),
            "exec '/usr/sbin/chat' -v -t 5 'ABORT' 'BUSY' 'ABORT' 'NO CARRIER' 'ABORT' 'ERROR' \
             'ABORT' 'NO DIALTONE' 'REPORT' 'CONNECT' 'TIMEOUT' '10' '' 'AT&F' 'OK' 'ATE1' 'OK' \
             'AT+CGDCONT=1,\"IP\",\"internet\"' 'TIMEOUT' '30' 'OK' 'ATD*99***1#' 'CONNECT' ''"
        );
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn bad_values_are_refused_with_reasons() {
        let mut c = cfg();
        c.apn = "x\"; reboot; \"".into();
        assert!(build(&c).unwrap_err().0.contains("APN"));
        let mut c = cfg();
        c.dialnumber = "*99#; reboot".into();
        assert!(build(&c).unwrap_err().0.contains("dialnumber"));
        let mut c = cfg();
        c.password = Zeroizing::new("a\nfile /etc/shadow".into());
        let e = build(&c).unwrap_err().0;
        assert!(e.contains("password") && !e.contains("shadow"), "{e}");
        let mut c = cfg();
        c.interface = "much-too-long-name".into();
        assert!(build(&c).unwrap_err().0.contains("interface"));
        let mut c = cfg();
        c.device = PathBuf::new();
        assert!(build(&c).is_err());
    }

    #[test]
    fn from_the_uplink_section() {
        let (cfg, _) = crate::config::parse(
            std::path::Path::new("w"),
            "config uplink\n option apn web\n option interface lte\n option password pw\n \
             option keepalive '3 7'\n list pppd_options debug\n",
            &crate::uplink::check::RULES,
        )
        .unwrap();
        let c = PppdConfig::from_config(&cfg.uplink, "/run/w".as_ref(), "/dev/ttyUSB1", "/bin/w");
        let cmd = build(&c).unwrap();
        let has = |w: &[&str]| cmd.args.windows(w.len()).any(|x| x == w);
        assert!(has(&["ipparam", "lte", "ifname", "3g-lte"]));
        assert!(has(&["lcp-echo-interval", "7", "lcp-echo-failure", "3"]));
        assert!(has(&["file", "/run/w/pppd-lte.options"]));
        assert!(has(&[
            "set",
            "WARDEN_SOCKET=/run/w/uplink.sock",
            "set",
            "WARDEN=/bin/w"
        ]));
        assert!(has(&["115200", "/dev/ttyUSB1", "debug"]));
    }

    /// The ppp.sh options warden passes on: pppname, unnumbered's local
    /// address, adaptive LCP echo, connect/disconnect programs.
    #[test]
    fn ppp_sh_options() {
        let mut c = cfg();
        c.keepalive = Keepalive::parse("5 1").unwrap();
        c.pppname = Some("wwan0".into());
        c.localip = Some([192, 0, 2, 1].into());
        c.connect = Some("/etc/ppp/my chat".into());
        c.disconnect = Some("/etc/ppp/hangup".into());
        let cmd = build(&c).unwrap();
        let has = |w: &[&str]| cmd.args.windows(w.len()).any(|x| x == w);
        assert!(has(&["ipparam", "wan", "ifname", "wwan0", "192.0.2.1:"]));
        assert!(has(&[
            "lcp-echo-interval",
            "1",
            "lcp-echo-failure",
            "5",
            "lcp-echo-adaptive",
            "nodefaultroute"
        ]));
        assert!(has(&[
            "connect",
            "'/etc/ppp/my chat'",
            "disconnect",
            "'/etc/ppp/hangup'",
            "ip-up-script"
        ]));
        assert!(!cmd.args.iter().any(|a| a.contains("ATD")));
        // No keepalive: no echo, and no adaptive either.
        c.keepalive = None;
        let cmd = build(&c).unwrap();
        assert!(!cmd.args.iter().any(|a| a.starts_with("lcp-echo")));
        // Refused: a device name the kernel would not take, a relative
        // program, a local address pppd cannot ask for.
        for bad in [
            |c: &mut PppdConfig| c.pppname = Some("a b".into()),
            |c: &mut PppdConfig| c.pppname = Some("0123456789abcdef".into()),
            |c: &mut PppdConfig| c.connect = Some("chat -f x".into()),
            |c: &mut PppdConfig| c.disconnect = Some("x\ny".into()),
            |c: &mut PppdConfig| c.localip = Some([255, 255, 255, 255].into()),
        ] {
            let mut c = cfg();
            bad(&mut c);
            assert!(build(&c).is_err(), "{:?}", c.pppname);
        }
    }

    #[test]
    fn the_uplink_defaults_are_ppp_sh_defaults() {
        // keepalive unset: ppp.sh's "5 1", adaptive.
        let (cfg, _) = crate::config::parse(
            std::path::Path::new("w"),
            "config uplink\n",
            &crate::uplink::check::RULES,
        )
        .unwrap();
        let c = PppdConfig::from_config(&cfg.uplink, "/r".as_ref(), "/dev/ttyUSB0", "/w");
        let cmd = build(&c).unwrap();
        assert!(cmd.args.windows(5).any(|w| w
            == [
                "lcp-echo-interval",
                "1",
                "lcp-echo-failure",
                "5",
                "lcp-echo-adaptive"
            ]));
        assert!(cmd.args.windows(2).any(|w| w == ["ifname", "3g-wan"]));
        // keepalive 0: none; keepalive_adaptive 0: plain echo.
        let (cfg, _) = crate::config::parse(
            std::path::Path::new("w"),
            "config uplink\n option keepalive 0\n",
            &crate::uplink::check::RULES,
        )
        .unwrap();
        let c = PppdConfig::from_config(&cfg.uplink, "/r".as_ref(), "/dev/ttyUSB0", "/w");
        assert!(!build(&c)
            .unwrap()
            .args
            .iter()
            .any(|a| a.starts_with("lcp-echo")));
        let (cfg, _) = crate::config::parse(
            std::path::Path::new("w"),
            "config uplink\n option keepalive '3 7'\n option keepalive_adaptive 0\n",
            &crate::uplink::check::RULES,
        )
        .unwrap();
        let c = PppdConfig::from_config(&cfg.uplink, "/r".as_ref(), "/dev/ttyUSB0", "/w");
        let cmd = build(&c).unwrap();
        assert!(cmd
            .args
            .windows(5)
            .any(|w| w == ["lcp-echo-interval", "7", "lcp-echo-failure", "3", "+ipv6"]));
    }

    /// IPv6 as ppp.sh builds it: +ipv6 and the ipv6 scripts with 1 or
    /// auto; auto adds AUTOIPV6 (ppp6-up's DHCPv6 child), 3g.sh's
    /// EXTENDPREFIX and the child's reqprefix/norelease; sourcefilter 0,
    /// delegate 0 and peerdns 0 reach the child either way.
    #[test]
    fn ipv6_as_ppp_sh() {
        use crate::config::Ipv6;
        let line = |text: &str| {
            let (cfg, _) = crate::config::parse(
                std::path::Path::new("w"),
                &format!("config uplink\n{text}"),
                &crate::uplink::check::RULES,
            )
            .unwrap();
            let c = PppdConfig::from_config(&cfg.uplink, "/r".as_ref(), "/dev/ttyUSB0", "/w");
            build(&c).unwrap().args
        };
        let sets = |a: &[String]| -> Vec<String> {
            a.windows(2)
                .filter(|w| w[0] == "set" && !w[1].starts_with("WARDEN"))
                .map(|w| w[1].clone())
                .collect()
        };
        // Unset is auto, as ppp.sh's empty value.
        let a = line("");
        let has = |a: &[String], w: &[&str]| a.windows(w.len()).any(|x| x == w);
        assert!(
            has(&a, &["lcp-echo-adaptive", "+ipv6", "set", "AUTOIPV6=1"]),
            "{a:?}"
        );
        assert_eq!(sets(&a), ["AUTOIPV6=1", "EXTENDPREFIX=1"]);
        assert!(has(
            &a,
            &[
                "ip-down-script",
                "/lib/netifd/warden-ppp-down",
                "ipv6-up-script",
                "/lib/netifd/warden-ppp6-up",
                "ipv6-down-script",
                "/lib/netifd/warden-ppp6-down",
            ]
        ));
        let a = line(
            " option ipv6 auto\n option reqprefix 56\n option norelease 1\n\
             option sourcefilter 0\n option delegate 0\n option peerdns 0\n",
        );
        assert_eq!(
            sets(&a),
            [
                "AUTOIPV6=1",
                "EXTENDPREFIX=1",
                "REQPREFIX=56",
                "NORELEASE=1",
                "PEERDNS=0",
                "NOSOURCEFILTER=1",
                "DELEGATE=0"
            ]
        );
        // 1: IPv6CP and the link-local address, no DHCPv6 child.
        let a = line(" option ipv6 1\n option delegate 0\n");
        assert!(a.iter().any(|w| w == "+ipv6"));
        assert_eq!(sets(&a), ["DELEGATE=0"]);
        assert!(a.iter().any(|w| w == "ipv6-up-script"));
        // 0: IPv4 only, as before.
        let a = line(" option ipv6 0\n");
        assert!(!a.iter().any(|w| w.contains("ipv6")), "{a:?}");
        assert!(sets(&a).is_empty());
        let mut c = cfg();
        c.ipv6 = Ipv6::Auto;
        c.reqprefix = Some("65".into());
        assert!(build(&c).unwrap_err().0.contains("reqprefix"));
        for ok in ["auto", "no", "0", "64"] {
            assert!(check_reqprefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "65", "-1", "/56", "auto;reboot"] {
            assert!(check_reqprefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keepalive_forms() {
        let k = |f, i| {
            Ok(Some(Keepalive {
                failures: f,
                interval: i,
            }))
        };
        assert_eq!(Keepalive::parse("5 10"), k(5, 10));
        assert_eq!(Keepalive::parse("3,1"), k(3, 1));
        assert_eq!(Keepalive::parse("4"), k(4, 5));
        assert_eq!(Keepalive::parse(""), Ok(None));
        assert_eq!(Keepalive::parse("0 5"), Ok(None));
        assert!(Keepalive::parse("x").is_err());
        assert!(Keepalive::parse("1 2 3").is_err());
        assert!(Keepalive::parse("3 0").is_err());
    }
}
