//! The LuCI packages (openwrt-feed/luci-proto-warden, luci-app-warden):
//! every JavaScript file parses and passes eslint (Debian's) with the LuCI
//! feed's conventions ('use strict'; and 'require ...'; headers, nothing
//! but LuCI's globals and the required classes), every JSON file is valid,
//! every menu entry's view exists and its ACL is defined, every ubus
//! method a file declares is granted by its package's ACL and listed by
//! the rpcd plugin, the interface form edits exactly the options
//! netifd/warden.sh declares, and its checks agree with `warden config
//! check` value for value. tests/rpcd.rs runs the views on the plugin's
//! real replies (tests/luci/harness.js).

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

const PACKAGES: &[&str] = &["luci-app-warden", "luci-proto-warden"];

fn package_files(ext: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for p in PACKAGES {
        files(&root().join("openwrt-feed").join(p), ext, &mut v);
    }
    v.sort();
    v
}

fn node(args: &[&str]) -> std::process::Output {
    need_tool("node", "nodejs");
    Command::new("node")
        .args(args)
        .env("NODE_PATH", "/usr/share/nodejs")
        .output_within(CHILD_DEADLINE)
        .unwrap()
}

/// The classes a file requires, by the names it uses for them.
fn requires(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| l.strip_prefix("'require ")?.strip_suffix("';"))
        .map(|r| match r.split_once(" as ") {
            Some((_, alias)) => alias.to_string(),
            None => r.rsplit('.').next().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn every_js_file_has_the_headers_and_passes_eslint() {
    let js = package_files("js");
    assert_eq!(js.len(), 3, "{js:?}");
    need_tool("eslint", "eslint");
    for f in &js {
        let src = std::fs::read_to_string(f).unwrap();
        let mut lines = src.lines();
        assert_eq!(lines.next(), Some("'use strict';"), "{}", f.display());
        assert!(
            lines.next().is_some_and(|l| l.starts_with("'require ")),
            "{}: 'require ...'; lines follow 'use strict';",
            f.display()
        );
        let globals = requires(&src).join(",");
        let o = Command::new("eslint")
            .args(["-f", "unix", "--no-eslintrc", "--no-ignore", "-c"])
            .arg(root().join("tests/luci/eslintrc.json"))
            .args(["--global", &globals])
            .arg(f)
            .env("NODE_PATH", "/usr/share/nodejs")
            .output_within(CHILD_DEADLINE)
            .unwrap();
        assert!(
            o.status.success(),
            "eslint {}: {}{}",
            f.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // eslint refuses what it should: an undeclared global, no 'use strict'.
    let s = Scratch::new("luci-eslint");
    for (name, bad) in [
        ("global.js", "'use strict';\n'require view';\nfoo = view;\n"),
        ("strict.js", "'require view';\nreturn view;\n"),
    ] {
        let p = s.path(name);
        std::fs::write(&p, bad).unwrap();
        let o = Command::new("eslint")
            .args(["-f", "unix", "--no-eslintrc", "--no-ignore", "-c"])
            .arg(root().join("tests/luci/eslintrc.json"))
            .args(["--global", "view"])
            .arg(name)
            .current_dir(&s.0)
            .env("NODE_PATH", "/usr/share/nodejs")
            .output_within(CHILD_DEADLINE)
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "eslint passed {name}");
    }
}

#[test]
fn json_is_valid_and_menus_point_at_views_and_acls() {
    let mut json = package_files("json");
    files(&root().join("rpcd"), "json", &mut json);
    assert_eq!(json.len(), 4, "{json:?}");
    for f in &json {
        let o = node(&[
            "-e",
            "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))",
            &f.display().to_string(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Each menu entry: its view file, and an ACL of its package.
    let app = root().join("openwrt-feed/luci-app-warden");
    let o = node(&[
        "-e",
        "const m = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));\
         for (const k in m) console.log(m[k].action.path + ' ' + m[k].depends.acl.join(' '));",
        &app.join("root/usr/share/luci/menu.d/luci-app-warden.json")
            .display()
            .to_string(),
    ]);
    let acl = std::fs::read_to_string(app.join("root/usr/share/rpcd/acl.d/luci-app-warden.json"))
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 2, "{out}");
    for l in out.lines() {
        let (view, acls) = l.split_once(' ').unwrap();
        let js = app.join(format!("htdocs/luci-static/resources/view/{view}.js"));
        assert!(js.is_file(), "menu view {view}: {} missing", js.display());
        for a in acls.split(' ') {
            assert!(acl.contains(&format!("\"{a}\": {{")), "ACL {a} not defined");
        }
    }
}

/// (object, method) of every rpc.declare in `js`, from the harness.
fn declared(js: &Path, mode: &str, data: &Path) -> Vec<(String, String)> {
    let o = node(&[
        &root().join("tests/luci/harness.js").display().to_string(),
        mode,
        &js.display().to_string(),
        &data.display().to_string(),
    ]);
    assert!(
        o.status.success(),
        "harness {}: {}",
        js.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let mut v = Vec::new();
    for d in out.split(r#"{"object":""#).skip(1) {
        let (object, rest) = d.split_once('"').unwrap();
        let method = rest
            .strip_prefix(r#","method":""#)
            .and_then(|r| r.split_once('"'))
            .map(|(m, _)| m.to_string())
            .unwrap();
        v.push((object.to_string(), method));
    }
    v
}

/// The ubus methods an ACL file grants ("object": [ "m", ... ] lines).
fn granted(acl: &str) -> BTreeSet<(String, String)> {
    let mut g = BTreeSet::new();
    for l in acl.lines() {
        let l = l.trim();
        let Some((obj, list)) = l.split_once(": [") else {
            continue;
        };
        let obj = obj.trim_matches('"');
        if obj.starts_with('/') {
            continue; // a file path (the file scope)
        }
        for m in list.trim_end_matches([']', ',', ' ']).split(',') {
            g.insert((obj.to_string(), m.trim().trim_matches('"').to_string()));
        }
    }
    g
}

#[test]
fn every_declared_method_is_granted_and_answered() {
    let s = Scratch::new("luci-acl");
    let empty = s.path("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let list = ok(&s.path("none"), &["rpcd", "list"], "");
    for pkg in PACKAGES {
        let dir = root().join("openwrt-feed").join(pkg);
        let acl =
            std::fs::read_to_string(dir.join(format!("root/usr/share/rpcd/acl.d/{pkg}.json")))
                .unwrap();
        let g = granted(&acl);
        let mut js = Vec::new();
        files(&dir.join("htdocs"), "js", &mut js);
        for f in js {
            for (object, method) in declared(&f, "declare", &empty) {
                assert!(
                    g.contains(&(object.clone(), method.clone())),
                    "{}: {object}.{method} is not granted by {pkg}'s ACL",
                    f.display()
                );
                if object == "warden" {
                    assert!(
                        list.contains(&format!("\"{method}\":")),
                        "{object}.{method}: the rpcd plugin does not list it: {list}"
                    );
                }
            }
        }
    }
    // The proto form lists /dev with the file plugin: granted too.
    let acl =
        std::fs::read_to_string(root().join(
            "openwrt-feed/luci-proto-warden/root/usr/share/rpcd/acl.d/luci-proto-warden.json",
        ))
        .unwrap();
    assert!(acl.contains(r#""/dev/": [ "list" ]"#), "{acl}");
}

/// The options netifd/warden.sh declares (proto_config_add_* "name[:type]").
fn handler_options() -> BTreeSet<String> {
    let sh = std::fs::read_to_string(root().join("netifd/warden.sh")).unwrap();
    sh.lines()
        .filter_map(|l| l.trim().strip_prefix("proto_config_add_"))
        .filter_map(|l| l.split_once(" \"").map(|(_, n)| n))
        .map(|n| n.split([':', '"']).next().unwrap().to_string())
        .collect()
}

/// LuCI's interface editor renders these for every protocol itself
/// (modules/luci-mod-network interfaces.js: delegate, with the generic
/// defaultroute, peerdns, dns, metric... that are not the handler's).
const LUCI_RENDERS: &[&str] = &["delegate"];

fn proto_form(tag: &str, values: &str) -> String {
    let s = Scratch::new(tag);
    let data = s.path("values.json");
    std::fs::write(&data, values).unwrap();
    let js = root()
        .join("openwrt-feed/luci-proto-warden/htdocs/luci-static/resources/protocol/warden.js");
    let o = node(&[
        &root().join("tests/luci/harness.js").display().to_string(),
        "proto",
        &js.display().to_string(),
        &data.display().to_string(),
    ]);
    assert!(
        o.status.success(),
        "harness: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_form_edits_every_option_the_handler_declares() {
    let out = proto_form("luci-proto-options", "{}");
    assert!(out.starts_with(r#"{"name":"warden","options":["#), "{out}");
    let list = out
        .split_once(r#""options":["#)
        .and_then(|(_, r)| r.split_once(']'))
        .unwrap()
        .0;
    let mut form: BTreeSet<String> = list
        .split(',')
        .map(|o| o.trim_matches('"').to_string())
        .collect();
    form.extend(LUCI_RENDERS.iter().map(|s| s.to_string()));
    let declared = handler_options();
    assert!(declared.len() >= 36, "{declared:?}");
    let not_edited: Vec<_> = declared.difference(&form).collect();
    let not_declared: Vec<_> = form.difference(&declared).collect();
    assert!(
        not_edited.is_empty() && not_declared.is_empty(),
        "declared by netifd/warden.sh but not in the form: {not_edited:?}; \
         in the form but not declared: {not_declared:?}"
    );
}

#[test]
fn the_form_refuses_what_the_daemon_refuses() {
    let cases: &[(&str, &[&str])] = &[
        (
            "apn",
            &["internet", "web.apn-1_x", ".web", "web.", "a;b", "a b"],
        ),
        ("pincode", &["1234", "12345678", "123", "12a4", "123456789"]),
        (
            "dialnumber",
            &["*99#", "*99***1#", "+49,1p2w", "*99#;x", "abc"],
        ),
        (
            "service",
            &["", "auto", "umts_only", "gprs_only", "evdo", "cdma", "umts"],
        ),
        ("dialect", &["", "auto", "huawei", "generic", "zte"]),
        ("mtu", &["1500", "128", "16384", "64", "70000"]),
        (
            "pppname",
            &["3g-wan", "a.b_c", "a/b", "sixteen-bytes-xx", ".."],
        ),
        ("connect", &["/etc/chatscripts/x", "chat -f x", "rel/x"]),
        ("delay", &["10", "10s", "5m", "600", "601", "1h", "soon"]),
        (
            "probe_name",
            &["openwrt.org", "a_b.example", "bad name", "a..b"],
        ),
        (
            "probe_interval",
            &["60", "60s", "5m", "500ms", "soon", "5x"],
        ),
        ("rescan_interval", &["1s", "3600", "60", "0", "2h", "500ms"]),
        (
            "reset_ladder",
            &[
                "cfun usb_reset",
                "cfun port_power",
                "cfun cfun",
                "reboot",
                "gpio",
            ],
        ),
        ("gpio_power", &["/sys/class/gpio/gpio1/value", "rel/value"]),
        ("sms_spool", &["/tmp/sms", "rel/sms"]),
    ];
    let mut json = String::from("{");
    for (i, (opt, values)) in cases.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        let vs: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        json.push_str(&format!("\"{opt}\":[{}]", vs.join(",")));
    }
    json.push('}');
    let out = proto_form("luci-proto-checks", &json);
    let s = Scratch::new("luci-check");
    let cfg = s.path("warden");
    let mut disagree = Vec::new();
    for (opt, values) in cases {
        for v in *values {
            std::fs::write(
                &cfg,
                format!("config uplink 'uplink'\n\toption {opt} '{v}'\n"),
            )
            .unwrap();
            let o = run_warden(&cfg, &["config", "check"], "");
            let daemon_ok = o.status.success();
            let form_ok = out.contains(&format!("\"{v}\":true"))
                && out
                    .split_once(&format!("\"{opt}\":{{"))
                    .map(|(_, r)| r.split_once('}').unwrap().0)
                    .is_some_and(|verdicts| verdicts.contains(&format!("\"{v}\":true")));
            if daemon_ok != form_ok {
                disagree.push(format!(
                    "{opt} '{v}': warden config check {}, the form {} ({})",
                    if daemon_ok { "accepts" } else { "refuses" },
                    if form_ok { "accepts" } else { "refuses" },
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

/// The msgids of `_('...')` calls in `src` (single-quoted, as the files
/// write them), unescaped.
fn msgids(src: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("_('") {
        let before = rest[..i].chars().last();
        rest = &rest[i + 3..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let mut s = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    if let Some((_, c)) = chars.next() {
                        s.push(c);
                    }
                }
                Some((j, '\'')) => break j,
                Some((_, c)) => s.push(c),
                None => panic!("unterminated _('...')"),
            }
        };
        rest = &rest[end + 1..];
        ids.insert(s);
    }
    ids
}

#[test]
fn translation_templates_hold_every_string() {
    for (pkg, pot) in [
        ("luci-app-warden", "warden.pot"),
        ("luci-proto-warden", "proto-warden.pot"),
    ] {
        let dir = root().join("openwrt-feed").join(pkg);
        let mut js = Vec::new();
        files(&dir.join("htdocs"), "js", &mut js);
        let mut want = BTreeSet::new();
        for f in js {
            want.extend(msgids(&std::fs::read_to_string(f).unwrap()));
        }
        let text = std::fs::read_to_string(dir.join("po/templates").join(pot)).unwrap();
        let have: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("msgid \"")?.strip_suffix('"'))
            .filter(|s| !s.is_empty())
            .map(|s| s.replace("\\\"", "\"").replace("\\\\", "\\"))
            .collect();
        assert!(
            text.starts_with("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\"\n")
        );
        let absent: Vec<_> = want.difference(&have).collect();
        let stale: Vec<_> = have.difference(&want).collect();
        assert!(
            absent.is_empty() && stale.is_empty(),
            "{pkg}/po/templates/{pot}: missing {absent:?}, stale {stale:?}"
        );
        assert!(want.len() > 40, "{pkg}: {}", want.len());
    }
}

#[test]
fn cross_ipk_packs_each_luci_package_as_luci_mk_installs_it() {
    let s = Scratch::new("luci-ipk");
    for (pkg, want) in [
        (
            "luci-app-warden",
            &[
                "./www/luci-static/resources/view/warden/status.js",
                "./www/luci-static/resources/view/warden/services.js",
                "./usr/share/luci/menu.d/luci-app-warden.json",
                "./usr/share/rpcd/acl.d/luci-app-warden.json",
            ][..],
        ),
        (
            "luci-proto-warden",
            &[
                "./www/luci-static/resources/protocol/warden.js",
                "./usr/share/rpcd/acl.d/luci-proto-warden.json",
            ][..],
        ),
    ] {
        let o = Command::new(root().join("cross/ipk"))
            .arg(pkg)
            .arg(s.path("out"))
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output_within(CHILD_DEADLINE)
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ipk = String::from_utf8(o.stdout).unwrap().trim().to_string();
        assert!(ipk.ends_with(&format!("/{pkg}_0.1.0-r1_all.ipk")), "{ipk}");
        let tar = |args: &[&str]| {
            let o = Command::new("tar")
                .args(args)
                .output_within(CHILD_DEADLINE)
                .unwrap();
            assert!(o.status.success(), "tar {args:?}");
            String::from_utf8(o.stdout).unwrap()
        };
        assert_eq!(
            tar(&["-tzf", &ipk]),
            "./debian-binary\n./data.tar.gz\n./control.tar.gz\n"
        );
        let x = s.path(pkg);
        std::fs::create_dir_all(&x).unwrap();
        tar(&["-xzf", &ipk, "-C", &x.display().to_string()]);
        let data = tar(&["-tzvf", &x.join("data.tar.gz").display().to_string()]);
        for f in want {
            let line = data
                .lines()
                .find(|l| l.ends_with(&format!(" {f}")))
                .unwrap_or_else(|| panic!("{pkg}: {f} not packed: {data}"));
            assert!(line.starts_with("-rw-r--r-- 0/0 "), "{line}");
        }
        assert!(
            !data.contains("po/"),
            "translations are packed apart: {data}"
        );
        let ctl = x.join("control.tar.gz").display().to_string();
        let control = tar(&["-xzOf", &ctl, "./control"]);
        for field in [
            format!("Package: {pkg}\n"),
            "Version: 0.1.0-r1\n".into(),
            "Depends: luci-base, warden\n".into(),
            "Section: luci\n".into(),
            "Architecture: all\n".into(),
            "SourceDateEpoch: 1700000000\n".into(),
        ] {
            assert!(control.contains(&field), "{field} not in {control}");
        }
        let postinst = tar(&["-xzOf", &ctl, "./postinst"]);
        assert!(postinst.contains("killall -HUP rpcd"), "{postinst}");
    }
}
