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
    ("netifd/warden-ppp-up", "sh"),
    ("netifd/warden-ppp-down", "sh"),
    ("tests/standin/pppd", "sh"),
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

/// netifd's shell API replaced by recorders; the handler is sourced as
/// netifd sources it (INCLUDE_ONLY) and its three entry points called.
const NETIFD_HARNESS: &str = r#"
INCLUDE_ONLY=1
rec() { echo "$*" >> "$REC"; }
proto_config_add_string() { rec "config string $1"; }
proto_config_add_int() { rec "config int $1"; }
proto_config_add_boolean() { rec "config boolean $1"; }
proto_config_add_array() { rec "config array $1"; }
proto_run_command() { rec "run_command $*"; }
proto_kill_command() { rec "kill_command $*"; }
proto_notify_error() { rec "notify_error $*"; }
proto_block_restart() { rec "block_restart $*"; }
proto_setup_failed() { rec "setup_failed $*"; }
add_protocol() { rec "add_protocol $*"; }
json_get_var() { eval "$1=\${CFG_$2:-}"; }
json_get_vars() { for v in "$@"; do json_get_var "$v" "$v"; done; }
json_get_values() { eval "$1=\${CFG_$2:-}"; }
. "$HANDLER"
proto_warden_init_config
rec "no_device=$no_device available=$available"
proto_warden_setup wan
ERROR=16 proto_warden_teardown wan
ERROR=2 proto_warden_teardown wan
"#;

#[test]
fn netifd_handler_runs_warden_with_the_interface_config() {
    let s = Sandbox::new("netifd");
    let harness = s.script("harness.sh", NETIFD_HARNESS);
    let handler = Path::new(ROOT).join("netifd/warden.sh");
    let run = s.dir.join("run");
    let env = [
        e("HANDLER", &handler.to_string_lossy()),
        e("WARDEN_BIN", "/usr/sbin/warden"),
        e("CFG_device", "/dev/ttyUSB0"),
        e("CFG_control_device", "/dev/ttyUSB2"),
        e("CFG_apn", "web.example"),
        e("CFG_service", "umts_only"),
        e("CFG_dialnumber", "*99#"),
        e("CFG_username", "web"),
        e("CFG_password", "it's a \"secret\""),
        e("CFG_keepalive", "5 10"),
        e("CFG_mtu", "1400"),
        e("CFG_pppd_options", "debug lcp-echo-adaptive"),
        e("CFG_dns_check", "1"),
        e("CFG_probe_name", "probe.test"),
        e("CFG_probe_interval", "30s"),
        e("CFG_fallback_dns", "9.9.9.9 149.112.112.112"),
        e("CFG_backoff", "3s 10m"),
        e("CFG_rescan_interval", "20s"),
        e("CFG_reset_after", "4"),
        e("CFG_reset_ladder", "redial cfun usb_reset gpio"),
        e("CFG_gpio_power", "/sys/class/gpio/tp-link:power:usb/value"),
    ];
    let l = s.run(&harness.to_string_lossy(), &[], &env);
    let conf = run.join("wan/warden.conf");
    let configs: Vec<&str> = l.iter().filter_map(|x| x.strip_prefix("config ")).collect();
    for opt in [
        "string device:device",
        "string control_device",
        "string apn",
        "string service",
        "string pincode",
        "string dialnumber",
        "string username",
        "string password",
        "string keepalive",
        "string pppd_options",
        "int mtu",
        "boolean dns_check",
        "string probe_name",
        "string probe_interval",
        "array fallback_dns",
        "string backoff",
        "string rescan_interval",
        "int reset_after",
        "string reset_ladder",
        "string gpio_power",
    ] {
        assert!(configs.contains(&opt), "{opt} not declared: {configs:?}");
    }
    let rest: Vec<String> = l
        .iter()
        .filter(|x| !x.starts_with("config "))
        .cloned()
        .collect();
    assert_eq!(
        rest,
        [
            "no_device=1 available=1".to_string(),
            format!(
                "run_command wan /usr/sbin/warden -c {} daemon",
                conf.display()
            ),
            "kill_command wan".to_string(),
            "notify_error wan INVALID_OPTIONS".to_string(),
            "block_restart wan".to_string(),
            "kill_command wan".to_string(),
        ]
    );
    // The written configuration is private and means what netifd was given.
    assert_eq!(
        fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&conf).unwrap();
    let (cfg, warnings) = warden::config::parse(&conf, &text).unwrap();
    for w in &warnings {
        // Options of the modem's half of the uplink, read there.
        assert!(
            ["'device'", "'service'"].iter().any(|o| w.msg.contains(o)),
            "unexpected warning: {w}"
        );
    }
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
    assert!(u.keepalive.is_some());
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
            "proto_set_keep 1",
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
    // Outside netifd (no ipparam): warden only.
    let l = s.run("netifd/warden-ppp-up", &args[..5], &env);
    assert_eq!(l.len(), 1);
}
