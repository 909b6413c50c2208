//! The OpenWRT shell scripts: shellcheck must pass on every one, and each is
//! run with procd's and netifd's functions and commands replaced by
//! recorders, checking what it asks for on add/remove/ifup events.

mod common;
use common::Deadline;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every shell script the package installs or the tests run, with the
/// dialect shellcheck should assume.
const SCRIPTS: &[(&str, &str)] = &[
    ("hotplug/usb", "sh"),
    ("hotplug/tty", "sh"),
    ("hotplug/iface", "sh"),
    ("netifd/warden.sh", "dash"),
    ("tests/openwrt/netifd-proto.sh", "dash"),
    ("tests/openwrt/network.sh", "dash"),
    ("tests/openwrt/netifd-run", "sh"),
    ("netifd/warden-ppp-up", "sh"),
    ("netifd/warden-ppp-down", "sh"),
    ("netifd/warden-ppp6-up", "sh"),
    ("netifd/warden-ppp6-down", "sh"),
    ("tests/standin/pppd", "sh"),
    ("tests/standin/uci", "sh"),
    ("rpcd/warden", "sh"),
    ("bench/bogus-dns-redial", "bash"),
];

#[test]
fn shellcheck_every_script() {
    let version = Command::new("shellcheck")
        .arg("--version")
        .output_within(common::CHILD_DEADLINE);
    assert!(
        version.map(|o| o.status.success()).unwrap_or(false),
        "shellcheck is not installed (listed in .ci/apt-packages; run .ci/setup)"
    );
    let mut failures = String::new();
    for (path, dialect) in SCRIPTS {
        let full = Path::new(ROOT).join(path);
        assert!(full.is_file(), "{path} is missing");
        let out = Command::new("shellcheck")
            .args(["-s", dialect, "-S", "style"])
            .arg(&full)
            .output_within(common::CHILD_DEADLINE)
            .unwrap();
        if !out.status.success() {
            failures.push_str(&format!(
                "{path}:\n{}\n",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "shellcheck complains:\n{failures}");
}

/// A scratch directory with a `bin/` of recording stand-ins.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("warden-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        let s = Sandbox { dir };
        // Commands the scripts call, each logging its name and arguments.
        for cmd in ["warden", "logger", "ifup"] {
            s.script(
                &format!("bin/{cmd}"),
                &format!(
                    "#!/bin/sh\necho \"{cmd} $*\" >> \"$REC\"\n\
                     case \"$1 $2\" in\n\
                     'dns check') echo \"${{DNS_OUT:-}}\"; exit \"${{DNS_RC:-0}}\" ;;\n\
                     'notify --socket') exit \"${{NOTIFY_RC:-0}}\" ;;\n\
                     esac\nexit 0\n"
                ),
            );
        }
        // uci get network.IFACE.OPTION answers from UCI_<OPTION>.
        s.script(
            "bin/uci",
            "#!/bin/sh\n[ \"$1\" = -q ] && shift\nopt=${2##*.}\neval \"v=\\${UCI_$opt:-}\"\n\
             [ -n \"$v\" ] || exit 1\necho \"$v\"\n",
        );
        s
    }

    fn script(&self, rel: &str, body: &str) -> PathBuf {
        let p = self.dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn rec(&self) -> PathBuf {
        self.dir.join("rec")
    }

    /// Run `script` under sh with `env`; return the recorded lines.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, String)]) -> Vec<String> {
        let _ = fs::remove_file(self.rec());
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new("sh");
        c.arg(Path::new(ROOT).join(script))
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("REC", self.rec())
            .env("WARDEN", self.dir.join("bin/warden"))
            .env("WARDEN_RUN", self.dir.join("run"));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output_within(common::CHILD_DEADLINE).unwrap();
        assert!(
            out.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.lines()
    }

    fn lines(&self) -> Vec<String> {
        fs::read_to_string(self.rec())
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Wait for a background job of the script to record `n` lines.
    fn wait_lines(&self, n: usize) -> Vec<String> {
        for _ in 0..800 {
            let l = self.lines();
            if l.len() >= n {
                return l;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        self.lines()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn e(k: &'static str, v: &str) -> (&'static str, String) {
    (k, v.to_string())
}

#[test]
fn hotplug_usb_switches_mass_storage_devices_only() {
    let s = Sandbox::new("usb");
    let ev = |action: &str, devtype: &str, iface: &str, product: &str, devpath: &str| {
        vec![
            e("ACTION", action),
            e("DEVTYPE", devtype),
            e("INTERFACE", iface),
            e("PRODUCT", product),
            e("DEVPATH", devpath),
        ]
    };
    let if0 = "/devices/platform/ehci/usb1/1-1/1-1:1.0";
    s.run(
        "hotplug/usb",
        &[],
        &ev("add", "usb_interface", "8/6/80", "12d1/1446/0", if0),
    );
    let l = s.wait_lines(2);
    assert_eq!(l[0], "warden modem switch --vid-pid 12d1:1446");
    assert!(l[1].starts_with("logger -t warden usb 12d1:1446"), "{l:?}");
    // Unpadded hex is padded.
    s.run(
        "hotplug/usb",
        &[],
        &ev("add", "usb_interface", "8/6/80", "19d2/2000/100", if0),
    );
    let l = s.wait_lines(2);
    assert_eq!(l[0], "warden modem switch --vid-pid 19d2:2000");
    assert_eq!(l.len(), 2, "{l:?}");
    // Nothing for removals, device events, second interfaces, the switched
    // modem's serial interfaces, or garbage.
    let if1 = "/devices/platform/ehci/usb1/1-1/1-1:1.1";
    for env in [
        ev("remove", "usb_interface", "8/6/80", "12d1/1446/0", if0),
        ev(
            "add",
            "usb_device",
            "",
            "12d1/1446/0",
            "/devices/platform/ehci/usb1/1-1",
        ),
        ev("add", "usb_interface", "8/6/80", "12d1/1446/0", if1),
        ev("add", "usb_interface", "255/1/1", "12d1/1506/0", if0),
        ev("add", "usb_interface", "8/6/80", "12d1;reboot/1446/0", if0),
        ev("add", "usb_interface", "8/6/80", "", if0),
    ] {
        assert_eq!(
            s.run("hotplug/usb", &[], &env),
            Vec::<String>::new(),
            "{env:?}"
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(s.lines(), Vec::<String>::new());
}

/// OpenWRT's usbmode (package usb-modeswitch: /etc/hotplug.d/usb/20-usb_mode
/// runs `usbmode -s` on every USB event) switches what its
/// /etc/usb-mode.json lists: warden's hotplug stands aside for those, with
/// a logread line, and still switches what usbmode does not know or when
/// usbmode is not installed.
#[test]
fn hotplug_usb_stands_aside_for_usbmode() {
    let s = Sandbox::new("usbmode");
    let hotplug = s.script(
        "etc/hotplug.d/usb/20-usb_mode",
        ". /lib/functions/procd.sh\n",
    );
    // usb-mode.json as convert-modeswitch.pl writes it (keys vvvv:pppp).
    let json = s.dir.join("etc/usb-mode.json");
    fs::write(
        &json,
        "{\n\t\"messages\" : [\n\t\t\"55534243123456780000000000000011062000000100000000000000000000\"\n\t],\n\
         \t\"devices\" : {\n\t\t\"12d1:1446\": {\n\t\t\t\"*\": {\n\t\t\t\t\"t_vendor\": 4817,\n\
         \t\t\t\t\"mode\": \"HuaweiNew\",\n\t\t\t\t\"msg\": [ 0 ]\n\t\t\t}\n\t\t}\n\t}\n}\n",
    )
    .unwrap();
    let ev = |product: &str, hotplug: &Path| {
        vec![
            e("ACTION", "add"),
            e("DEVTYPE", "usb_interface"),
            e("INTERFACE", "8/6/80"),
            e("PRODUCT", product),
            e("DEVPATH", "/devices/platform/ehci/usb1/1-1/1-1:1.0"),
            e("WARDEN_USBMODE_HOTPLUG", &hotplug.to_string_lossy()),
            e("WARDEN_USBMODE_JSON", &json.to_string_lossy()),
        ]
    };
    // Listed: usbmode's; one line in logread, no switch.
    assert_eq!(
        s.run("hotplug/usb", &[], &ev("12d1/1446/0", &hotplug)),
        [format!(
            "logger -t warden usb 12d1:1446: left to usbmode ({} switches it: {} lists it)",
            hotplug.display(),
            json.display()
        )]
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(s.lines().len(), 1, "{:?}", s.lines());
    // Not listed: warden's.
    s.run("hotplug/usb", &[], &ev("19d2/2000/0", &hotplug));
    let l = s.wait_lines(2);
    assert_eq!(l[0], "warden modem switch --vid-pid 19d2:2000");
    // usbmode not installed (no hotplug script): warden's, listed or not.
    s.run("hotplug/usb", &[], &ev("12d1/1446/0", &s.dir.join("none")));
    let l = s.wait_lines(2);
    assert_eq!(l[0], "warden modem switch --vid-pid 12d1:1446");
}

#[test]
fn hotplug_tty_asks_running_uplinks_to_rediscover() {
    let s = Sandbox::new("tty");
    let env = |action: &str, dev: &str| vec![e("ACTION", action), e("DEVNAME", dev)];
    // No warden running: nothing is sent.
    assert!(s.run("hotplug/tty", &[], &env("add", "ttyUSB2")).is_empty());
    // One uplink socket per interface.
    fs::create_dir_all(s.dir.join("run/wan")).unwrap();
    let sock = s.dir.join("run/wan/uplink.sock");
    let _l = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    assert_eq!(
        s.run("hotplug/tty", &[], &env("remove", "ttyUSB2")),
        [format!(
            "warden notify --socket {} rediscover tty ttyUSB2 remove",
            sock.display()
        )]
    );
    assert!(s.run("hotplug/tty", &[], &env("add", "ttyS0")).is_empty());
    assert!(s
        .run("hotplug/tty", &[], &env("change", "ttyUSB0"))
        .is_empty());
}

#[test]
fn hotplug_iface_checks_dns_at_once_and_reconnects() {
    let s = Sandbox::new("iface");
    let net = s.script(
        "network.sh",
        "network_get_dnsserver() { eval \"$1=\\\"$TEST_DNS\\\"\"; }\n",
    );
    let env = |action: &str, extra: &[(&'static str, String)]| {
        let mut v = vec![
            e("ACTION", action),
            e("INTERFACE", "wan"),
            e("UCI_proto", "warden"),
            e("NETWORK_SH", &net.to_string_lossy()),
            e("TEST_DNS", "10.11.12.13 10.11.12.14"),
        ];
        v.extend_from_slice(extra);
        v
    };
    // Healthy: one check, nothing else.
    assert_eq!(
        s.run(
            "hotplug/iface",
            &[],
            &env("ifup", &[e("UCI_probe_name", "probe.test")])
        ),
        ["warden dns check --peer --name probe.test 10.11.12.13 10.11.12.14"]
    );
    // Broken: warden is told to reconnect, with the verdicts as the reason.
    let bad = [
        e("DNS_RC", "1"),
        e("DNS_OUT", "10.11.12.13 bogus\n10.11.12.14 bogus"),
    ];
    let l = s.run("hotplug/iface", &[], &env("ifup", &bad));
    let sock = s.dir.join("run/wan/uplink.sock");
    let reason = "DNS check failed on wan: 10.11.12.13 bogus 10.11.12.14 bogus ";
    assert_eq!(
        l,
        [
            "warden dns check --peer 10.11.12.13 10.11.12.14".to_string(),
            format!("logger -t warden -p daemon.warn {reason}"),
            format!(
                "warden notify --socket {} reconnect {reason}",
                sock.display()
            ),
        ]
    );
    // warden not listening: bounce the interface instead.
    let mut gone = bad.to_vec();
    gone.push(e("NOTIFY_RC", "1"));
    let l = s.run("hotplug/iface", &[], &env("ifup", &gone));
    assert_eq!(l.last().unwrap(), "ifup wan");
    // Not our business: other actions, other protocols, dns_check off, no servers.
    assert!(s.run("hotplug/iface", &[], &env("ifdown", &[])).is_empty());
    assert!(s
        .run("hotplug/iface", &[], &env("ifup", &[e("UCI_proto", "3g")]))
        .is_empty());
    assert!(s
        .run(
            "hotplug/iface",
            &[],
            &env("ifup", &[e("UCI_dns_check", "0")])
        )
        .is_empty());
    assert!(s
        .run("hotplug/iface", &[], &env("ifup", &[e("TEST_DNS", "")]))
        .is_empty());
}

/// Quote one word for sh.
fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// The interface's data as tests/openwrt/netifd-proto.sh takes it.
fn netifd_data(cfg: &[(&str, &str)]) -> String {
    cfg.iter()
        .map(|(k, v)| format!("CFG_{k}={}\n", sh_quote(v)))
        .collect()
}

impl Sandbox {
    /// Run netifd/warden.sh as netifd does, on OpenWRT's netifd-proto.sh
    /// and network.sh stand-ins (tests/openwrt/netifd-run): `dump`, or
    /// `setup`/`teardown` of interface `wan` with `cfg` as its data.
    fn netifd(&self, cmd: &str, cfg: &[(&str, &str)], env: &[(&str, String)]) -> Vec<String> {
        let run = Path::new(ROOT).join("tests/openwrt/netifd-run");
        let handler = Path::new(ROOT).join("netifd/warden.sh");
        let mut args = vec![
            handler.to_string_lossy().into_owned(),
            "warden".into(),
            cmd.into(),
        ];
        if cmd != "dump" {
            args.extend(["wan".into(), netifd_data(cfg), String::new()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut env = env.to_vec();
        env.push(e("WARDEN_BIN", "/usr/sbin/warden"));
        self.run(&run.to_string_lossy(), &args, &env)
    }

    /// `dump`'s one line of JSON (printed on stdout, not recorded).
    fn netifd_dump(&self) -> String {
        let out = Command::new(Path::new(ROOT).join("tests/openwrt/netifd-run"))
            .arg(Path::new(ROOT).join("netifd/warden.sh"))
            .args(["warden", "dump"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("REC", self.rec())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Every option of comgt's 3g.sh (proto_3g_init_config: device, apn,
/// service, pincode, dialnumber, and the delay some trees add) and of
/// netifd's ppp.sh (ppp_generic_init_config), with the type netifd's
/// utils.sh numbers it by (string 3, int 5, boolean 7), as those files
/// declare them.
const OPENWRT_3G_OPTIONS: &[(&str, u32)] = &[
    ("device:device", 3),
    ("apn", 3),
    ("service", 3),
    ("pincode", 3),
    ("dialnumber", 3),
    ("delay", 3),
    ("username", 3),
    ("password", 3),
    ("keepalive", 3),
    ("keepalive_adaptive", 7),
    ("demand", 5),
    ("pppd_options", 3),
    ("connect:file", 3),
    ("disconnect:file", 3),
    ("ipv6", 3),
    ("authfail", 7),
    ("mtu", 5),
    ("pppname", 3),
    ("unnumbered", 3),
    ("reqprefix", 3),
    ("persist", 7),
    ("maxfail", 5),
    ("holdoff", 5),
    ("sourcefilter", 7),
    ("delegate", 7),
    ("norelease", 7),
];

/// Options the handler answers with a warning (through warden's config:
/// one logread line each) rather than honouring.
const ANSWERED: &[&str] = &["persist", "maxfail", "demand"];

#[test]
fn netifd_handler_dump_declares_every_3g_and_ppp_option() {
    let s = Sandbox::new("netifd-dump");
    let dump = s.netifd_dump();
    assert!(
        dump.starts_with("{\"name\":\"warden\",\"config\":["),
        "{dump}"
    );
    assert!(
        dump.contains("\"no-device\":true,\"available\":true,\"lasterror\":true"),
        "{dump}"
    );
    for (name, ty) in OPENWRT_3G_OPTIONS {
        assert!(
            dump.contains(&format!("[\"{name}\",{ty}]")),
            "comgt/ppp option {name} (type {ty}) is not declared: {dump}"
        );
    }
    for (name, ty) in [
        ("control_device", 3),
        ("dialect", 3),
        ("sms_spool", 3),
        ("sms_log_text", 7),
        ("dns_check", 7),
        ("probe_name", 3),
        ("probe_interval", 3),
        ("fallback_dns", 1),
        ("backoff", 3),
        ("rescan_interval", 3),
        ("reset_after", 5),
        ("reset_ladder", 3),
        ("gpio_power", 3),
        ("quota_limit", 3),
        ("quota_start_day", 5),
        ("quota_action", 3),
        ("quota_save_interval", 3),
        ("quota_interval", 3),
    ] {
        assert!(
            dump.contains(&format!("[\"{name}\",{ty}]")),
            "{name}: {dump}"
        );
    }
}

/// Every option of 3g.sh and ppp.sh, set on an interface, reaches warden:
/// honoured (in the configuration warden runs with) or answered with one
/// warning naming it; none is dropped without a word.
#[test]
fn netifd_handler_honours_or_answers_every_option() {
    let s = Sandbox::new("netifd-all");
    let value = |name: &str| match name {
        "device" => "/dev/ttyUSB0",
        "apn" => "web.example",
        "service" => "umts_only",
        "pincode" => "1234",
        "dialnumber" => "*99#",
        "delay" => "10",
        "username" => "web",
        "password" => "pw",
        "keepalive" => "4 2",
        "keepalive_adaptive" => "0",
        "demand" => "30",
        "pppd_options" => "debug",
        "connect" => "/etc/ppp/dial",
        "disconnect" => "/etc/ppp/hangup",
        "ipv6" => "auto",
        "authfail" => "1",
        "mtu" => "1400",
        "pppname" => "wwan0",
        "unnumbered" => "lan",
        "reqprefix" => "auto",
        "persist" => "0",
        "maxfail" => "3",
        "holdoff" => "7",
        "sourcefilter" => "0",
        "delegate" => "0",
        "norelease" => "1",
        other => panic!("no test value for {other}"),
    };
    let names: Vec<&str> = OPENWRT_3G_OPTIONS
        .iter()
        .map(|(n, _)| n.split(':').next().unwrap())
        .collect();
    let cfg: Vec<(&str, &str)> = names.iter().map(|&n| (n, value(n))).collect();
    let l = s.netifd(
        "setup",
        &cfg,
        &[e("NET_SUBNETS_lan", "192.168.1.1/24 10.9.9.9/32")],
    );
    let conf = s.dir.join("run/wan/warden.conf");
    assert_eq!(
        l,
        [
            "host_dependency wan  lan".to_string(),
            format!(
                "run_command wan /usr/sbin/warden -c {} daemon",
                conf.display()
            ),
        ]
    );
    let text = fs::read_to_string(&conf).unwrap();
    let (c, warnings) = warden::config::parse(&conf, &text, &warden::uplink::check::RULES).unwrap();
    let u = &c.uplink;
    for w in &warnings {
        assert!(!w.msg.contains("unknown option"), "dropped: {w}");
    }
    let warned = |n: &str| {
        warnings
            .iter()
            .any(|w| w.msg.contains(&format!("option '{n}': ")))
    };
    for n in &names {
        assert_eq!(warned(n), ANSWERED.contains(n), "{n}: {warnings:?}\n{text}");
    }
    // Honoured, with ppp.sh's meaning.
    assert_eq!(u.device.as_deref(), Some(Path::new("/dev/ttyUSB0")));
    assert_eq!(u.apn, "web.example");
    assert_eq!(u.service, "umts_only");
    assert_eq!(u.pincode.expose(), "1234");
    assert_eq!(u.dialnumber, "*99#");
    assert_eq!(u.delay, std::time::Duration::from_secs(10));
    assert_eq!(u.username, "web");
    assert_eq!(u.password.expose(), "pw");
    let k = u.keepalive.unwrap().0;
    assert_eq!((k.failures, k.interval), (4, 2));
    assert!(!u.keepalive_adaptive);
    assert_eq!(u.pppd_options, ["debug"]);
    assert_eq!(u.connect.as_deref(), Some(Path::new("/etc/ppp/dial")));
    assert_eq!(u.disconnect.as_deref(), Some(Path::new("/etc/ppp/hangup")));
    assert!(u.authfail);
    assert_eq!(u.mtu, Some(1400));
    assert_eq!(u.pppname.as_deref(), Some("wwan0"));
    // unnumbered: ppp.sh's pick among lan's addresses.
    assert_eq!(u.localip, Some([192, 168, 1, 1].into()));
    assert_eq!(u.backoff_initial, std::time::Duration::from_secs(7));
    // IPv6 as ppp.sh: the DHCPv6 child's options reach pppd's `set`s.
    assert_eq!(u.ipv6, warden::config::Ipv6::Auto);
    assert_eq!(u.reqprefix.as_deref(), Some("auto"));
    assert!(u.norelease && !u.sourcefilter && !u.delegate);
}

/// ppp.sh's ppp_select_ipaddr: the longest mask below 32, else the first;
/// no address: the setup waits (netifd's restart blocked, the host
/// dependency brings it back), warden is not started.
#[test]
fn netifd_handler_unnumbered_picks_as_ppp_sh() {
    let s = Sandbox::new("netifd-unnumbered");
    let local = |subnets: &str| {
        let l = s.netifd(
            "setup",
            &[("unnumbered", "lan")],
            &[e("NET_SUBNETS_lan", subnets)],
        );
        assert!(l.iter().any(|x| x.starts_with("run_command wan ")), "{l:?}");
        let text = fs::read_to_string(s.dir.join("run/wan/warden.conf")).unwrap();
        text.lines()
            .find_map(|x| x.strip_prefix("\toption localip "))
            .map(|v| v.trim_matches('\'').to_string())
    };
    assert_eq!(local("10.0.0.1/32").as_deref(), Some("10.0.0.1"));
    assert_eq!(
        local("10.0.0.1/32 192.168.1.1/24 172.16.0.1/16").as_deref(),
        Some("192.168.1.1")
    );
    assert_eq!(
        local("172.16.0.1/16 192.168.1.1/24").as_deref(),
        Some("192.168.1.1")
    );
    let l = s.netifd("setup", &[("unnumbered", "lan")], &[]);
    assert_eq!(l[0], "host_dependency wan  lan");
    assert!(
        l[1].starts_with("logger -t warden -p daemon.warn wan: unnumbered 'lan'"),
        "{l:?}"
    );
    assert_eq!(l[2], "block_restart wan");
    assert_eq!(l.len(), 3, "{l:?}");
}

#[test]
fn netifd_handler_runs_warden_with_the_interface_config() {
    let s = Sandbox::new("netifd");
    let run = s.dir.join("run");
    let cfg = [
        ("device", "/dev/ttyUSB0"),
        ("control_device", "/dev/ttyUSB2"),
        ("dialect", "generic"),
        ("apn", "web.example"),
        ("service", "umts_only"),
        ("dialnumber", "*99#"),
        ("username", "web"),
        ("password", "it's a \"secret\""),
        ("keepalive", "5 10"),
        ("mtu", "1400"),
        ("pppd_options", "debug lcp-echo-adaptive"),
        ("dns_check", "1"),
        ("probe_name", "probe.test"),
        ("probe_interval", "30s"),
        ("fallback_dns", "9.9.9.9 149.112.112.112"),
        ("backoff", "3s 10m"),
        ("rescan_interval", "20s"),
        ("reset_after", "4"),
        ("reset_ladder", "redial cfun usb_reset gpio"),
        ("gpio_power", "/sys/class/gpio/tp-link:power:usb/value"),
        ("quota_limit", "5G"),
        ("quota_start_day", "15"),
        ("quota_action", "stop"),
        ("quota_save_interval", "30m"),
        ("quota_interval", "10s"),
    ];
    let l = s.netifd("setup", &cfg, &[]);
    let conf = run.join("wan/warden.conf");
    assert_eq!(
        l,
        [format!(
            "run_command wan /usr/sbin/warden -c {} daemon",
            conf.display()
        )]
    );
    assert_eq!(
        s.netifd("teardown", &[], &[e("ERROR", "16")]),
        ["kill_command wan"]
    );
    // warden exits 2 on a configuration it cannot use: restarting won't help.
    assert_eq!(
        s.netifd("teardown", &[], &[e("ERROR", "2")]),
        [
            "notify_error wan INVALID_OPTIONS",
            "block_restart wan",
            "kill_command wan"
        ]
    );
    // The written configuration is private and means what netifd was given.
    assert_eq!(
        fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&conf).unwrap();
    let (cfg, warnings) =
        warden::config::parse(&conf, &text, &warden::uplink::check::RULES).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let u = &cfg.uplink;
    assert_eq!(cfg.main.run_dir, run.join("wan"));
    assert!(!cfg.factotum.enabled);
    assert!(!cfg.keyfs.enabled);
    // The instance's run directory is closed to others from the start.
    assert_eq!(
        fs::metadata(run.join("wan")).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(u.interface, "wan");
    assert_eq!(u.device.as_deref(), Some(Path::new("/dev/ttyUSB0")));
    assert_eq!(u.control_device.as_deref(), Some(Path::new("/dev/ttyUSB2")));
    assert_eq!(u.dialect, warden::config::Dialect::Generic);
    assert_eq!(u.apn, "web.example");
    assert_eq!(u.dialnumber, "*99#");
    assert_eq!(u.username, "web");
    assert_eq!(u.password.expose(), "it's a \"secret\"");
    assert_eq!(u.mtu, Some(1400));
    assert_eq!(u.pppd_options, ["debug", "lcp-echo-adaptive"]);
    assert_eq!(u.probe_name, "probe.test");
    assert_eq!(u.probe_interval, std::time::Duration::from_secs(30));
    assert_eq!(u.fallback_dns.len(), 2);
    assert_eq!(u.backoff_initial, std::time::Duration::from_secs(3));
    assert_eq!(u.backoff_max, std::time::Duration::from_secs(600));
    assert_eq!(u.rescan_interval, std::time::Duration::from_secs(20));
    assert_eq!(u.reset_after, 4);
    use warden::uplink::ladder::Rung;
    assert_eq!(u.reset_ladder, [Rung::Cfun, Rung::UsbReset, Rung::Gpio]);
    assert_eq!(
        u.gpio_power.as_deref(),
        Some(Path::new("/sys/class/gpio/tp-link:power:usb/value"))
    );
    assert_eq!(u.quota.limit, 5 << 30);
    assert_eq!(u.quota.start_day, 15);
    assert_eq!(u.quota.action, warden::uplink::quota::OverAction::Stop);
    assert_eq!(u.quota.save_interval, std::time::Duration::from_secs(1800));
    assert_eq!(u.quota.sample_interval, std::time::Duration::from_secs(10));
    let k = u.keepalive.unwrap().0;
    assert_eq!((k.failures, k.interval), (5, 10));
    // Unset options keep ppp.sh's defaults: keepalive '5 1', adaptive.
    s.netifd("setup", &[], &[]);
    let text = fs::read_to_string(&conf).unwrap();
    let (cfg, warnings) =
        warden::config::parse(&conf, &text, &warden::uplink::check::RULES).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let k = cfg.uplink.keepalive.unwrap().0;
    assert_eq!((k.failures, k.interval), (5, 1));
    assert!(cfg.uplink.keepalive_adaptive && !cfg.uplink.authfail);
}

/// The ip-up/ip-down wrappers: warden hears first, then netifd gets what
/// /lib/netifd/ppp-up would send, minus the placeholders.
#[test]
fn ppp_hooks_notify_warden_then_netifd() {
    let s = Sandbox::new("hooks");
    let body: String = [
        "proto_init_update",
        "proto_set_keep",
        "proto_add_ipv4_address",
        "proto_add_ipv4_route",
        "proto_add_dns_server",
        "proto_send_update",
    ]
    .iter()
    .map(|f| format!("{f}() {{ echo \"{f} $*\" >> \"$REC\"; }}\n"))
    .collect();
    let proto = s.script("netifd-proto.sh", &body);
    let env = [
        e("NETIFD_PROTO_SH", &proto.to_string_lossy()),
        e("IFNAME", "3g-wan"),
        e("IPLOCAL", "10.64.0.2"),
        e("IPREMOTE", "10.64.64.64"),
        e("DNS1", "10.11.12.13"),
        e("DNS2", "192.0.2.53"),
        e("WARDEN_FALLBACK_DNS", "9.9.9.9 192.0.2.53"),
    ];
    let args = [
        "3g-wan",
        "/dev/ttyUSB0",
        "115200",
        "10.64.0.2",
        "10.64.64.64",
        "wan",
    ];
    assert_eq!(
        s.run("netifd/warden-ppp-up", &args, &env),
        [
            "warden notify ppp-up 3g-wan /dev/ttyUSB0 115200 10.64.0.2 10.64.64.64 wan",
            "proto_init_update 3g-wan 1 1",
            "proto_add_ipv4_address 10.64.0.2 32  10.64.64.64",
            "proto_add_ipv4_route 0.0.0.0 0 10.64.64.64",
            "proto_add_dns_server 192.0.2.53",
            "proto_add_dns_server 9.9.9.9",
            "proto_send_update wan",
        ]
    );
    assert_eq!(
        s.run("netifd/warden-ppp-down", &args, &env),
        [
            "warden notify ppp-down 3g-wan /dev/ttyUSB0 115200 10.64.0.2 10.64.64.64 wan",
            "proto_init_update 3g-wan 0",
            "proto_send_update wan",
        ]
    );
    // The network renegotiates: a second ip-up, new address and DNS, is a
    // whole update of its own (no keep: netifd drops the old ones).
    let env2 = [
        e("NETIFD_PROTO_SH", &proto.to_string_lossy()),
        e("IFNAME", "3g-wan"),
        e("IPLOCAL", "10.64.0.3"),
        e("IPREMOTE", "10.64.64.64"),
        e("DNS1", "198.51.100.7"),
    ];
    let mut args2 = args;
    args2[3] = "10.64.0.3";
    let l = s.run("netifd/warden-ppp-up", &args2, &env2);
    assert_eq!(
        l[1..],
        [
            "proto_init_update 3g-wan 1 1",
            "proto_add_ipv4_address 10.64.0.3 32  10.64.64.64",
            "proto_add_ipv4_route 0.0.0.0 0 10.64.64.64",
            "proto_add_dns_server 198.51.100.7",
            "proto_send_update wan",
        ]
    );
    // Outside netifd (no ipparam): warden only.
    let l = s.run("netifd/warden-ppp-up", &args[..5], &env);
    assert_eq!(l.len(), 1);
}

/// The ipv6-up/-down wrappers do what OpenWRT's ppp6-up (and ppp-down,
/// which ppp.sh runs for IPv6 too) do: the link-local address to netifd,
/// and with AUTOIPV6 the DHCPv6 child interface through `ubus call
/// network add_dynamic`, shaped by what warden passed with pppd's `set`.
/// warden is told the link-local address first (for its status).
#[test]
fn ppp6_hooks_give_netifd_the_link_local_and_the_dhcpv6_child() {
    let s = Sandbox::new("hooks6");
    // netifd-proto.sh's functions and jshn's, recording; json_dump prints
    // what was added, one call per word, so the test sees the object.
    let mut body: String = [
        "proto_init_update",
        "proto_set_keep",
        "proto_add_ipv6_address",
        "proto_send_update",
    ]
    .iter()
    .map(|f| format!("{f}() {{ echo \"{f} $*\" >> \"$REC\"; }}\n"))
    .collect();
    body.push_str(
        "json_init() { J=; }\n\
         json_add_string() { J=\"$J s:$1=$2\"; }\n\
         json_add_boolean() { J=\"$J b:$1=$2\"; }\n\
         json_close_object() { :; }\n\
         json_dump() { echo \"{$J }\"; }\n",
    );
    let proto = s.script("netifd-proto.sh", &body);
    for cmd in ["ubus", "fw3"] {
        s.script(
            &format!("bin/{cmd}"),
            &format!(
                "#!/bin/sh\necho \"{cmd} $*\" >> \"$REC\"\n[ {cmd} = fw3 ] && echo wan\nexit 0\n"
            ),
        );
    }
    let args = [
        "3g-wan",
        "/dev/ttyUSB0",
        "115200",
        "fe80::2",
        "fe80::1",
        "wan",
    ];
    let base = [
        e("NETIFD_PROTO_SH", &proto.to_string_lossy()),
        e("IFNAME", "3g-wan"),
        e("LLLOCAL", "fe80::2"),
        e("LLREMOTE", "fe80::1"),
    ];
    let link = [
        "warden notify ppp6-up 3g-wan /dev/ttyUSB0 115200 fe80::2 fe80::1 wan",
        "proto_init_update 3g-wan 1 1",
        "proto_set_keep 1",
        "proto_add_ipv6_address fe80::2 128",
        "proto_send_update wan",
    ];
    // ipv6 '1': the link-local address only.
    assert_eq!(s.run("netifd/warden-ppp6-up", &args, &base), link);
    // ipv6 'auto' with every child option, as args.rs sets them.
    let mut env = base.to_vec();
    for (k, v) in [
        ("AUTOIPV6", "1"),
        ("EXTENDPREFIX", "1"),
        ("REQPREFIX", "56"),
        ("NORELEASE", "1"),
        ("PEERDNS", "0"),
        ("NOSOURCEFILTER", "1"),
        ("DELEGATE", "0"),
    ] {
        env.push(e(k, v));
    }
    let mut want: Vec<String> = link.iter().map(|l| l.to_string()).collect();
    want.push("fw3 -q network wan".into());
    want.push(
        "ubus call network add_dynamic { s:name=wan_6 s:ifname=@wan s:proto=dhcpv6 s:zone=wan \
         s:extendprefix=1 s:reqprefix=56 b:norelease=1 b:peerdns=0 b:sourcefilter=0 \
         b:delegate=0 }"
            .into(),
    );
    assert_eq!(s.run("netifd/warden-ppp6-up", &args, &env), want);
    // The child's defaults: nothing but what ppp6-up always sends.
    let mut env = base.to_vec();
    env.push(e("AUTOIPV6", "1"));
    let l = s.run("netifd/warden-ppp6-up", &args, &env);
    assert_eq!(
        l.last().unwrap(),
        "ubus call network add_dynamic { s:name=wan_6 s:ifname=@wan s:proto=dhcpv6 s:zone=wan }"
    );
    assert_eq!(
        s.run("netifd/warden-ppp6-down", &args, &base),
        [
            "warden notify ppp6-down 3g-wan /dev/ttyUSB0 115200 fe80::2 fe80::1 wan",
            "proto_init_update 3g-wan 0",
            "proto_send_update wan"
        ]
    );
    // Outside netifd (no ipparam): warden only.
    assert_eq!(s.run("netifd/warden-ppp6-up", &args[..5], &env).len(), 1);
    assert_eq!(s.run("netifd/warden-ppp6-down", &args[..5], &env).len(), 1);
}
