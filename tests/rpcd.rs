//! The rpcd plugin (/usr/libexec/rpcd/warden, rpcd/warden) under busybox
//! ash, as rpcd runs it: `list`, and `call METHOD` with JSON on stdin,
//! against the real binary: a daemon on the simulated E367 (uplink) with an
//! attended keyfs. Every reply is checked as JSON (the plugin's own reader
//! and the node in .ci/apt-packages, which LuCI's views are also run in by
//! tests/luci.rs on these same replies). service_set runs uci(1), which is
//! not packaged outside OpenWRT: tests/standin/uci takes its place.
//! luci-app-warden's views then run (tests/luci/harness.js) on the replies
//! gathered, locked and unlocked: every field they read must be in the
//! plugin's real reply (or be one the view treats as optional).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use warden::uplink::usb::json::{parse, Json};

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
    // The replies the views are run on: (method, reply) while locked and
    // while unlocked.
    let mut locked: Vec<(String, String)> = Vec::new();
    let mut unlocked: Vec<(String, String)> = Vec::new();

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
    locked.push(("status".into(), st.clone()));
    unlocked.push(("status".into(), st.clone()));
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
    locked.push(("keyfs".into(), k.clone()));
    let users_locked = call("users", "{}");
    assert_eq!(
        users_locked,
        r#"{"error":"keyfs is locked: unlock it first"}"#
    );
    locked.push(("users".into(), users_locked));
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
    locked.push(("unlock".into(), u.clone()));
    let k = call("keyfs", "");
    assert!(k.contains(r#""state":"unlocked""#), "{k}");
    unlocked.push(("keyfs".into(), k));
    assert!(call("unlock", r#"{"passphrase":"pw"}"#).contains("already unlocked"));

    // Accounts, through the daemon's keyfs.
    assert_eq!(call("users", ""), r#"{"users":[]}"#);
    let added = call("user_add", r#"{"name":"glenda","expire":""}"#);
    assert_eq!(added, r#"{"ok":true,"message":"added glenda"}"#);
    assert!(call("user_add", r#"{"name":"bob","expire":"2100-01-01"}"#).contains(r#""ok":true"#));
    let e = call("user_add", r#"{"name":"glenda"}"#);
    assert!(e.starts_with(r#"{"error":"#) && e.contains("glenda"), "{e}");
    assert!(call("user_add", r#"{"name":"-x"}"#).contains("not a user name"));
    let disabled = call("user_disable", r#"{"name":"bob"}"#);
    assert!(disabled.contains(r#""ok":true"#), "{disabled}");
    let expired = call("user_expire", r#"{"name":"glenda","when":"2099-12-31"}"#);
    assert!(expired.contains(r#""ok":true"#), "{expired}");
    assert!(call("user_expire", r#"{"name":"glenda","when":"soon"}"#).contains(r#""error":"#));
    let users = call("users", "{}");
    assert_eq!(
        users,
        r#"{"users":[{"name":"bob","status":"disabled","expire":"2100-01-01T00:00:00Z","failures":0},{"name":"glenda","status":"ok","expire":"2099-12-31T00:00:00Z","failures":0}]}"#
    );
    unlocked.push(("users".into(), users));
    let enabled = call("user_enable", r#"{"name":"bob"}"#);
    assert!(enabled.contains(r#""ok":true"#), "{enabled}");
    assert!(call("users", "").contains(r#"{"name":"bob","status":"ok","#));
    assert!(call("user_enable", r#"{"name":"nobody"}"#).contains(r#""error":"#));

    // Services: read from the configuration, set through uci.
    let services = call("services", "");
    assert_eq!(
        services,
        r#"{"signer":{"enabled":false,"listen":"0.0.0.0:6673"},"authsrv":{"enabled":false,"listen":"0.0.0.0:567","authdom":""}}"#
    );
    let set = call("service_set", r#"{"service":"signer","enabled":true}"#);
    assert_eq!(
        set,
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
    let lock = call("lock", "");
    assert!(lock.contains("keyfs locked"), "{lock}");
    assert!(call("keyfs", "").contains(r#""state":"locked""#));

    for (m, r) in [
        ("services", &services),
        ("user_add", &added),
        ("user_disable", &disabled),
        ("user_enable", &enabled),
        ("user_expire", &expired),
        ("service_set", &set),
        ("lock", &lock),
        ("unlock", &u),
    ] {
        for v in [&mut locked, &mut unlocked] {
            if !v.iter().any(|(n, _)| n == m) {
                v.push((m.into(), r.clone()));
            }
        }
    }
    views_read_only_what_the_plugin_answers(&sim, &[locked, unlocked]);
}

/// Fields a view may read that a reply need not have: `error` (only on a
/// failure), `message` (only on the admin methods' success), and the
/// uplink's data usage (only with a quota).
fn optional(path: &str) -> bool {
    path.ends_with(".error") || path.ends_with(".message") || path == "status.uplinks[].quota"
}

fn strings(j: Option<&Json>) -> Vec<String> {
    match j {
        Some(Json::Arr(a)) => a
            .iter()
            .filter_map(|v| match v {
                Json::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Run both views of luci-app-warden on each set of replies; every rpc
/// method they declare must have been called in one of the runs.
fn views_read_only_what_the_plugin_answers(sim: &Sim, runs: &[Vec<(String, String)>]) {
    let views =
        root().join("openwrt-feed/luci-app-warden/htdocs/luci-static/resources/view/warden");
    let mut declared = std::collections::BTreeSet::new();
    let mut called = std::collections::BTreeSet::new();
    for (i, replies) in runs.iter().enumerate() {
        let body: Vec<String> = replies
            .iter()
            .map(|(m, r)| format!("\"{m}\":{r}"))
            .collect();
        let data = sim.s.path(&format!("replies-{i}.json"));
        std::fs::write(&data, format!("{{{}}}", body.join(","))).unwrap();
        for view in ["status.js", "services.js"] {
            let o = Command::new("node")
                .arg(root().join("tests/luci/harness.js"))
                .arg("view")
                .arg(views.join(view))
                .arg(&data)
                .output_within(CHILD_DEADLINE)
                .unwrap();
            assert!(
                o.status.success(),
                "{view} on {}: {}",
                data.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            let out = String::from_utf8(o.stdout).unwrap();
            let r = parse(&out).unwrap();
            if let Some(Json::Obj(missing)) = r.get("missing") {
                for (method, paths) in missing {
                    for p in strings(Some(paths)) {
                        assert!(
                            optional(&p),
                            "{view} reads {p}, which the plugin's {method} reply lacks: {}",
                            std::fs::read_to_string(&data).unwrap()
                        );
                    }
                }
            }
            if let Some(Json::Arr(d)) = r.get("declared") {
                for m in d {
                    if let Some(Json::Str(name)) = m.get("method") {
                        declared.insert(name.clone());
                    }
                }
            }
            called.extend(strings(r.get("called")));
            assert_eq!(r.get("password_left_in_field"), Some(&Json::Bool(false)));
            if view == "status.js" {
                assert!(out.contains(r#""polls":[5]"#), "{out}");
                let reads = strings(r.get("reads").and_then(|x| x.get("status")));
                for f in [
                    "modem.signal_dbm",
                    "modem.operator",
                    "modem.mode",
                    "dns[].verdict",
                    "reconnects",
                    "last_reason",
                    "uptime_s",
                ] {
                    assert!(
                        reads.iter().any(|p| p.ends_with(f)),
                        "status.js never reads {f}: {reads:?}"
                    );
                }
            }
        }
    }
    let uncalled: Vec<_> = declared.difference(&called).collect();
    assert!(
        uncalled.is_empty(),
        "declared but never called by the views: {uncalled:?}"
    );
}
