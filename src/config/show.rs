//! `warden config show`: the configuration in effect, defaults filled in,
//! written back as UCI (`/etc/config/warden` syntax) that [`super::parse`]
//! reads to the same [`Config`]. Secrets are never written: a set
//! `pincode` or `password` appears as a comment.

use super::model::{Config, Secret};
#[cfg(feature = "auth")]
use super::model::{ConfirmPolicy, KeyfsMode};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration as a UCI file.
pub fn to_uci(c: &Config) -> String {
    let mut w = Uci(String::new());
    w.section("warden", "main");
    w.opt("log_level", &c.main.log_level.as_str().to_ascii_lowercase());
    w.path("run_dir", &c.main.run_dir);
    w.path("state_dir", &c.main.state_dir);

    let u = &c.uplink;
    w.section("uplink", "uplink");
    w.bool("enabled", u.enabled);
    w.bool("simulate", u.simulate);
    w.opt("apn", &u.apn);
    w.opt("dialnumber", &u.dialnumber);
    w.secret("pincode", &u.pincode);
    w.opt("service", &u.service);
    w.opt("dialect", &u.dialect.name());
    w.opt("interface", &u.interface);
    w.path("pppd", &u.pppd);
    w.list("pppd_options", &u.pppd_options);
    w.opt("username", &u.username);
    w.secret("password", &u.password);
    match u.keepalive {
        Some(k) => w.opt(
            "keepalive",
            &format_args!("{} {}", k.0.failures, k.0.interval),
        ),
        None => w.opt("keepalive", &0),
    }
    w.bool("keepalive_adaptive", u.keepalive_adaptive);
    if let Some(m) = u.mtu {
        w.opt("mtu", &m);
    }
    if let Some(n) = &u.pppname {
        w.opt("pppname", n);
    }
    if let Some(a) = u.localip {
        w.opt("localip", &a);
    }
    w.bool("authfail", u.authfail);
    w.opt_path("connect", u.connect.as_ref());
    w.opt_path("disconnect", u.disconnect.as_ref());
    w.duration("delay", u.delay);
    w.opt("ipv6", &u.ipv6.name());
    if let Some(r) = &u.reqprefix {
        w.opt("reqprefix", r);
    }
    w.bool("norelease", u.norelease);
    w.bool("sourcefilter", u.sourcefilter);
    w.bool("delegate", u.delegate);
    w.bool("defaultroute", u.defaultroute);
    w.bool("peerdns", u.peerdns);
    w.bool("dns_check", u.dns_check);
    w.opt("probe_name", &u.probe_name);
    w.duration("probe_interval", u.probe_interval);
    w.duration("probe_timeout", u.probe_timeout);
    w.list("fallback_dns", &u.fallback_dns);
    w.duration("backoff_initial", u.backoff_initial);
    w.duration("backoff_max", u.backoff_max);
    w.duration("backoff_stable", u.backoff_stable);
    w.opt("reset_after", &u.reset_after);
    let ladder: Vec<&str> = std::iter::once("redial")
        .chain(u.reset_ladder.iter().map(|r| r.name()))
        .collect();
    w.list("reset_ladder", &ladder);
    w.opt("escalate_after", &u.escalate_after);
    for (i, name) in super::model::MIN_INTERVAL_OPTIONS
        .iter()
        .enumerate()
        .skip(1)
    {
        w.duration(name, u.min_interval[i]);
    }
    w.opt_path("gpio_power", u.gpio_power.as_ref());
    w.duration("power_off_time", u.power_off_time);
    w.opt_path("device", u.device.as_ref());
    w.opt_path("control_device", u.control_device.as_ref());
    w.duration("switch_timeout", u.switch_timeout);
    w.duration("rescan_interval", u.rescan_interval);
    for p in &u.modeswitch_data {
        w.line("\tlist ", "modeswitch_data", &p.display());
    }
    w.opt_path("sms_spool", u.sms_spool.as_ref());
    w.bool("sms_log_text", u.sms_log_text);
    w.opt("quota_limit", &u.quota.limit);
    w.opt("quota_start_day", &u.quota.start_day);
    w.opt("quota_action", &u.quota.action.name());
    w.duration("quota_save_interval", u.quota.save_interval);
    w.duration("quota_interval", u.quota.sample_interval);

    #[cfg(feature = "auth")]
    auth_sections(&mut w, c);
    w.0
}

/// The auth services' sections (warden-uplink has none).
#[cfg(feature = "auth")]
fn auth_sections(w: &mut Uci, c: &Config) {
    let f = &c.factotum;
    w.section("factotum", "factotum");
    w.bool("enabled", f.enabled);
    w.opt_path("socket", f.socket.as_ref());
    w.list("allow_uid", &f.allow_uid);
    w.list("allow_gid", &f.allow_gid);
    w.conns("", &f.conns);
    w.duration("confirm_wait", f.confirm_wait);

    let k = &c.keyfs;
    w.section("keyfs", "keyfs");
    w.bool("enabled", k.enabled);
    w.path("file", &k.file);
    w.opt(
        "mode",
        match k.mode {
            KeyfsMode::Attended => &"attended",
            KeyfsMode::Unattended => &"unattended",
        },
    );
    w.path("keyfile", &k.keyfile);
    w.opt("kdf_iterations", &k.kdf_iterations);
    w.opt("otp_window", &k.otp_window);
    w.opt_path("socket", k.socket.as_ref());
    w.conns("", &k.conns);

    let a = &c.authsrv;
    w.section("authsrv", "authsrv");
    w.bool("enabled", a.enabled);
    w.opt("listen", &a.listen);
    w.opt("authdom", &a.authdom);
    w.list("speaksfor", &a.speaksfor);
    w.bool("allow_passwd", a.allow_passwd);
    w.bool("p9sk1", a.p9sk1);
    w.conns("", &a.conns);

    let s = &c.signer;
    w.section("signer", "signer");
    w.bool("enabled", s.enabled);
    w.opt("listen", &s.listen);
    w.duration("max_validity", s.max_validity);
    w.path("krl", &s.krl);
    w.bool("agent", s.agent);
    w.opt_path("agent_socket", s.agent_socket.as_ref());
    w.list("agent_uids", &s.agent_uids);
    w.opt(
        "agent_confirm",
        match s.agent_confirm {
            ConfirmPolicy::Deny => &"deny",
            ConfirmPolicy::Allow => &"allow",
        },
    );
    w.conns("", &s.conns);
    w.conns("agent_", &s.agent_conns);

    let s = &c.secstore;
    w.section("secstore", "secstore");
    w.bool("enabled", s.enabled);
    w.opt("listen", &s.listen);
    w.opt("name", &s.name);
    w.conns("", &s.conns);
}

/// The shortest spelling `parse_duration` reads back exactly.
pub fn format_duration(d: Duration) -> String {
    let ms = d
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()));
    for (unit, n) in [
        ("y", 365 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= n && ms % n == 0 {
            return format!("{}{unit}", ms / n);
        }
    }
    if ms == 0 {
        "0s".into()
    } else {
        format!("{ms}ms")
    }
}

struct Uci(String);

impl Uci {
    fn section(&mut self, ty: &str, name: &str) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.line("config ", ty, &name);
    }

    /// `{lead}{name} '{value}'`, the value quoted as UCI writes it.
    fn line(&mut self, lead: &str, name: &str, v: &dyn Display) {
        let v = v.to_string();
        self.0.push_str(lead);
        self.0.push_str(name);
        self.0.push_str(" '");
        self.0.push_str(&v.replace('\'', "'\\''"));
        self.0.push_str("'\n");
    }

    fn opt(&mut self, name: &str, v: &dyn Display) {
        self.line("\toption ", name, v);
    }

    fn bool(&mut self, name: &str, v: bool) {
        self.opt(name, if v { &"1" } else { &"0" });
    }

    fn duration(&mut self, name: &str, d: Duration) {
        self.opt(name, &format_duration(d));
    }

    /// A socket's connection limits, as `conn_limits` reads them.
    #[cfg(feature = "auth")]
    fn conns(&mut self, prefix: &str, l: &crate::config::model::ConnLimits) {
        self.opt(&format!("{prefix}max_conns"), &l.max_conns);
        self.opt(&format!("{prefix}peer_conns"), &l.per_peer);
        self.duration(&format!("{prefix}idle_timeout"), l.idle);
    }

    fn path(&mut self, name: &str, p: &Path) {
        self.opt(name, &p.display());
    }

    fn opt_path(&mut self, name: &str, p: Option<&PathBuf>) {
        if let Some(p) = p {
            self.path(name, p);
        }
    }

    fn secret(&mut self, name: &str, s: &Secret) {
        if s.expose_nonempty().is_some() {
            self.0.push_str("\t# option ");
            self.0.push_str(name);
            self.0.push_str(" is set (not shown)\n");
        }
    }

    fn list<T: Display>(&mut self, name: &str, items: &[T]) {
        for i in items {
            self.line("\tlist ", name, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        file: &Path,
        text: &str,
    ) -> Result<(crate::config::Config, Vec<crate::config::Warning>), crate::config::ConfigError>
    {
        crate::config::parse(file, text, &crate::uplink::check::RULES)
    }

    fn round_trip(c: &Config) -> Config {
        let text = to_uci(c);
        let (back, warnings) =
            parse(Path::new("shown"), &text).unwrap_or_else(|e| panic!("{e}\n--- shown:\n{text}"));
        assert!(warnings.is_empty(), "{warnings:?}\n--- shown:\n{text}");
        back
    }

    #[test]
    fn defaults_read_back_the_same() {
        let d = Config::default();
        let back = round_trip(&d);
        // Config has no PartialEq (it holds secrets): compare what is shown.
        assert_eq!(to_uci(&back), to_uci(&d));
        assert_eq!(back.uplink.probe_interval, d.uplink.probe_interval);
        assert_eq!(back.keyfs.kdf_iterations, d.keyfs.kdf_iterations);
    }

    #[test]
    fn every_kind_of_value_reads_back_and_secrets_stay_out() {
        let text = "config warden 'main'\n\toption log_level 'debug'\n\
            config uplink 'uplink'\n\toption apn 'web.example'\n\
            \toption pincode '1234'\n\toption password 'hunter2'\n\
            \toption keepalive '4,7'\n\toption mtu '1400'\n\
            \toption keepalive_adaptive '0'\n\toption pppname 'wwan0'\n\
            \toption localip '192.0.2.1'\n\toption authfail '1'\n\
            \toption connect '/etc/ppp/dial'\n\toption disconnect '/etc/ppp/hangup'\n\
            \toption delay '10s'\n\
            \toption probe_timeout '1500ms'\n\toption backoff_max '2h'\n\
            \tlist fallback_dns '192.0.2.53'\n\tlist fallback_dns '2001:db8::53'\n\
            \tlist pppd_options 'kdebug 1'\n\toption device '/dev/ttyUSB0'\n\
            \toption reset_ladder 'usb_reset gpio'\n\toption gpio_power '/sys/class/leds/usb/brightness'\n\
            \toption gpio_min_interval '1h'\n\toption power_off_time '500ms'\n\
            \tlist modeswitch_data \"/etc/it's here\"\n";
        // warden-uplink reads no auth section
        #[cfg(feature = "auth")]
        let text = &format!(
            "{text}config factotum\n\tlist allow_uid '0'\n\tlist allow_uid '1000'\n\
            config keyfs\n\toption mode 'unattended'\n\toption socket '/tmp/k'\n\
            config authsrv\n\toption enabled '1'\n\toption authdom 'lan'\n\
            \tlist speaksfor 'cpu glenda'\n\toption idle_timeout '90s'\n\
            config signer\n\toption agent '1'\n\toption agent_confirm 'allow'\n\
            \toption max_validity '7d'\n"
        );
        let (c, w) = parse(Path::new("t"), text).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let shown = to_uci(&c);
        assert!(
            !shown.contains("1234") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains("# option pincode is set (not shown)"),
            "{shown}"
        );
        assert!(shown.contains("\toption keepalive '4 7'\n"), "{shown}");
        assert!(
            shown.contains("\toption probe_timeout '1500ms'\n"),
            "{shown}"
        );
        assert!(shown.contains("\tlist modeswitch_data '/etc/it'\\''s here'\n"));
        assert!(
            shown.contains(
                "\tlist reset_ladder 'redial'\n\tlist reset_ladder 'usb_reset'\n\tlist reset_ladder 'gpio'\n"
            ),
            "{shown}"
        );
        let back = round_trip(&c);
        // Everything but the secrets comes back.
        let without_secrets: String = shown
            .lines()
            .filter(|l| !l.contains("(not shown)"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(to_uci(&back), without_secrets);
        assert_eq!(back.uplink.fallback_dns, c.uplink.fallback_dns);
        assert_eq!(back.uplink.pppd_options, ["kdebug", "1"]);
        assert_eq!(back.uplink.keepalive, c.uplink.keepalive);
        assert_eq!(back.uplink.pppname.as_deref(), Some("wwan0"));
        assert!(back.uplink.authfail && !back.uplink.keepalive_adaptive);
        assert_eq!(back.uplink.delay, Duration::from_secs(10));
        assert_eq!(back.uplink.connect, c.uplink.connect);
        #[cfg(feature = "auth")]
        {
            assert_eq!(back.keyfs.mode, KeyfsMode::Unattended);
            assert_eq!(back.signer.max_validity, Duration::from_secs(7 * 86_400));
            assert_eq!(back.authsrv.speaksfor, ["cpu glenda"]);
        }
    }

    /// warden-uplink names each auth section it skips, once, and shows none.
    #[cfg(not(feature = "auth"))]
    #[test]
    fn the_uplink_build_skips_the_auth_sections() {
        let text = "config uplink 'uplink'\n\toption apn 'a'\n\
            config keyfs\n\toption mode 'bogus'\n\
            config signer\n\toption enabled '1'\n";
        let (c, w) = parse(Path::new("t"), text).unwrap();
        assert_eq!(c.uplink.apn, "a");
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].line, 3);
        assert!(
            w[0].msg.contains("section 'keyfs' ignored") && w[1].msg.contains("'signer'"),
            "{w:?}"
        );
        let shown = to_uci(&c);
        assert!(
            !shown.contains("keyfs") && !shown.contains("signer"),
            "{shown}"
        );
    }

    #[test]
    fn durations_take_their_shortest_exact_spelling() {
        for (ms, s) in [
            (0, "0s"),
            (1500, "1500ms"),
            (2000, "2s"),
            (90_000, "90s"),
            (300_000, "5m"),
            (7_200_000, "2h"),
            (86_400_000, "1d"),
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(format_duration(d), s);
            assert_eq!(crate::config::parse_duration(s), Some(d));
        }
    }
}
