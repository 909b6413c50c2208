//! The rpcd plugin (/usr/libexec/rpcd/warden, rpcd/warden) under busybox
//! ash, as rpcd runs it: `list`, and `call METHOD` with JSON on stdin,
//! against the real binary: a daemon on the simulated E367 (uplink) with an
//! attended keyfs. Every reply is checked as JSON (the plugin's own reader
//! and the node in .ci/apt-packages, which LuCI's views are also run in by
//! tests/luci.rs on these same replies). service_set runs uci(1), which is
//! not packaged outside OpenWRT: tests/standin/uci takes its place.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Sim {
    cfg: PathBuf,
    s: Scratch,
    _daemon: Kill,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run the plugin under busybox ash, as rpcd would, with `stdin`.
fn plugin(sim: &Sim, args: &[&str], stdin: &str) -> String {
    run_plugin(&sim.cfg, &sim.s.path("uci.log"), args, stdin)
}

fn run_plugin(cfg: &Path, uci_log: &Path, args: &[&str], stdin: &str) -> String {
    need_tool("busybox", "busybox");
    use std::io::Write;
    let path = format!(
        "{}:{}",
        root().join("tests/standin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("busybox")
        .arg("ash")
        .arg(root().join("rpcd/warden"))
        .args(args)
        .env("WARDEN_BIN", warden())
        .env("WARDEN_CONFIG", cfg)
        .env("PATH", path)
        .env("STANDIN_LOG", uci_log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = c.stdin.take().unwrap().write_all(stdin.as_bytes());
    let o = wait_within(c, CHILD_DEADLINE, &format!("plugin {args:?}")).unwrap();
    assert!(
        o.status.success(),
        "plugin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.ends_with("}\n") && out.matches('\n').count() == 1,
        "plugin {args:?}: not one JSON object on one line: {out:?}"
    );
    json_check(&out);
    out.trim().to_string()
}

/// A reply is JSON: node's JSON.parse says so.
fn json_check(text: &str) {
    need_tool("node", "nodejs");
    let mut c = Command::new("node")
        .args(["-e", "JSON.parse(require('fs').readFileSync(0, 'utf8'))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = c.stdin.take().unwrap().write_all(text.as_bytes());
    let o = wait_within(c, CHILD_DEADLINE, "node JSON.parse").unwrap();
    assert!(
        o.status.success(),
        "not JSON: {text}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The daemon of `./run demo` (the shipped configuration in a scratch
/// directory, the simulated modem, PIN 1234), with keyfs created
/// (passphrase "pw", few KDF iterations) and locked, once the simulated
/// network's placeholder DNS has been caught and the link is healthy.
fn start_sim(tag: &str) -> Sim {
    let s = Scratch::new(tag);
    let d = s.0.display().to_string();
    let shipped = std::fs::read_to_string(root().join("uci/warden")).unwrap();
    let cfg_text = shipped
        .replace(
            "option run_dir '/var/run/warden'",
            &format!("option run_dir '{d}/run'"),
        )
        .replace(
            "option state_dir '/etc/warden'",
            &format!("option state_dir '{d}/state'"),
        )
        .replace("'/etc/warden/", &format!("'{d}/state/"))
        .replace("option pincode ''", "option pincode '1234'")
        .replace(
            "option kdf_iterations '35000'",
            "option kdf_iterations '1000'",
        );
    let cfg = s.path("warden");
    std::fs::write(&cfg, cfg_text).unwrap();
    std::fs::create_dir_all(s.path("state")).unwrap();
    ok(&cfg, &["keyfs", "init"], "pw\n");
    let daemon = Kill(
        Command::new(warden())
            .arg("-c")
            .arg(&cfg)
            .args(["daemon", "--foreground", "--simulate"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sim = Sim {
        cfg,
        s,
        _daemon: daemon,
    };
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let st = plugin(&sim, &["call", "status"], "{}");
        if st.contains(r#""state":"up""#)
            && st.contains(r#""healthy":true"#)
            && !st.contains(r#""healthy":false"#)
            && !st.contains(r#""reconnects":0"#)
        {
            break;
        }
        assert!(
            Instant::now() < end,
            "the simulated uplink never became healthy: {st}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    sim
}

#[test]
fn list_names_every_method_with_typed_arguments() {
    let s = Scratch::new("rpcd-list");
    let l = run_plugin(&s.path("none"), &s.path("uci.log"), &["list"], "");
    for m in [
        r#""status":{}"#,
        r#""dns":{}"#,
        r#""keyfs":{}"#,
        r#""users":{}"#,
        r#""services":{}"#,
        r#""unlock":{"passphrase":"str"}"#,
        r#""lock":{}"#,
        r#""user_add":{"name":"str","expire":"str"}"#,
        r#""user_disable":{"name":"str"}"#,
        r#""user_enable":{"name":"str"}"#,
        r#""user_expire":{"name":"str","when":"str"}"#,
        r#""service_set":{"service":"str","enabled":true}"#,
    ] {
        assert!(l.contains(m), "{m} not in {l}");
    }
    // The ACL grants exactly these, read ones to both groups.
    let acl = std::fs::read_to_string(root().join("rpcd/acl.d/warden.json")).unwrap();
    let read = r#""warden": [ "status", "dns", "keyfs", "users", "services" ]"#;
    assert_eq!(acl.matches(read).count(), 2, "{acl}");
    assert!(acl.contains(
        r#""warden": [ "unlock", "lock", "user_add", "user_disable", "user_enable", "user_expire", "service_set" ]"#
    ));
}

#[test]
fn every_method_answers_the_simulated_modem_and_keyfs() {
    let sim = start_sim("rpcd-sim");
    let call = |m: &str, args: &str| plugin(&sim, &["call", m], args);

    // status: `warden status --json`, every uplink.
    let st = call("status", r#"{"ubus_rpc_session":"0123"}"#);
    for f in [
        r#"{"uplinks":[{"interface":"wan","#,
        r#""link":"up","uptime_s":"#,
        r#""reconnects":1,"#,
        r#""last_reason":"broken DNS: 10.11.12.13 bogus"#,
        r#""operator":"Sim Telecom","mode":"UMTS","signal_dbm":"#,
        r#""registration":"home""#,
        r#""dns":[{"server":"#,
        r#""verdict":"ok","healthy":true"#,
    ] {
        assert!(st.contains(f), "{f} not in {st}");
    }
    let dns = call("dns", "");
    assert!(
        dns.starts_with(
            r#"{"uplinks":[{"interface":"wan","state":"up","link":"up","dns":[{"server":"#
        ),
        "{dns}"
    );

    // keyfs: locked until unlocked; the user methods say so.
    let k = call("keyfs", "{}");
    assert!(
        k.starts_with(r#"{"enabled":true,"state":"locked","mode":"attended","file":"#),
        "{k}"
    );
    assert_eq!(
        call("users", "{}"),
        r#"{"error":"keyfs is locked: unlock it first"}"#
    );
    assert!(call("user_add", r#"{"name":"glenda"}"#).contains("keyfs is locked"));
    let e = call("unlock", r#"{"passphrase":"not the passphrase"}"#);
    assert!(
        e.contains(r#""error":"#) && e.contains("wrong passphrase"),
        "{e}"
    );
    assert!(
        !e.contains("not the passphrase"),
        "the passphrase echoed: {e}"
    );
    assert!(call("unlock", r#"{"passphrase":""}"#).contains("the passphrase is empty"));
    assert!(call("unlock", "{\"passphrase\":\"a\\nb\"}").contains("line break"));
    assert!(call("unlock", "{}").contains("argument 'passphrase' is missing"));
    let u = call("unlock", r#"{"passphrase":"pw"}"#);
    assert!(
        u.starts_with(r#"{"ok":true,"message":"keyfs unlocked in "#),
        "{u}"
    );
    assert!(!u.contains("pw\""), "{u}");
    assert!(call("keyfs", "").contains(r#""state":"unlocked""#));
    assert!(call("unlock", r#"{"passphrase":"pw"}"#).contains("already unlocked"));

    // Accounts, through the daemon's keyfs.
    assert_eq!(call("users", ""), r#"{"users":[]}"#);
    assert_eq!(
        call("user_add", r#"{"name":"glenda","expire":""}"#),
        r#"{"ok":true,"message":"added glenda"}"#
    );
    assert!(call("user_add", r#"{"name":"bob","expire":"2100-01-01"}"#).contains(r#""ok":true"#));
    let e = call("user_add", r#"{"name":"glenda"}"#);
    assert!(e.starts_with(r#"{"error":"#) && e.contains("glenda"), "{e}");
    assert!(call("user_add", r#"{"name":"-x"}"#).contains("not a user name"));
    assert!(call("user_disable", r#"{"name":"bob"}"#).contains(r#""ok":true"#));
    assert!(
        call("user_expire", r#"{"name":"glenda","when":"2099-12-31"}"#).contains(r#""ok":true"#)
    );
    assert!(call("user_expire", r#"{"name":"glenda","when":"soon"}"#).contains(r#""error":"#));
    assert_eq!(
        call("users", "{}"),
        r#"{"users":[{"name":"bob","status":"disabled","expire":"2100-01-01T00:00:00Z","failures":0},{"name":"glenda","status":"ok","expire":"2099-12-31T00:00:00Z","failures":0}]}"#
    );
    assert!(call("user_enable", r#"{"name":"bob"}"#).contains(r#""ok":true"#));
    assert!(call("users", "").contains(r#"{"name":"bob","status":"ok","#));
    assert!(call("user_enable", r#"{"name":"nobody"}"#).contains(r#""error":"#));

    // Services: read from the configuration, set through uci.
    assert_eq!(
        call("services", ""),
        r#"{"signer":{"enabled":false,"listen":"0.0.0.0:6673"},"authsrv":{"enabled":false,"listen":"0.0.0.0:567","authdom":""}}"#
    );
    assert_eq!(
        call("service_set", r#"{"service":"signer","enabled":true}"#),
        r#"{"ok":true,"service":"signer","enabled":true,"reloaded":false}"#
    );
    assert!(
        call("service_set", r#"{"service":"authsrv","enabled":false}"#).contains(r#""ok":true"#)
    );
    assert!(call("service_set", r#"{"service":"factotum","enabled":true}"#).contains("no service"));
    assert!(
        call("service_set", r#"{"service":"signer","enabled":"yes"}"#).contains("true or false")
    );
    assert_eq!(
        std::fs::read_to_string(sim.s.path("uci.log")).unwrap(),
        "uci set warden.signer.enabled=1\nuci commit warden\n\
         uci set warden.authsrv.enabled=0\nuci commit warden\n"
    );

    // Bad input is an error reply, never a crash.
    assert!(call("status", "[").starts_with(r#"{"error":"the arguments: line 1"#));
    assert!(call("status", "[]").contains("not a JSON object"));

    // Lock again.
    assert!(call("lock", "").contains("keyfs locked"));
    assert!(call("keyfs", "").contains(r#""state":"locked""#));
}
