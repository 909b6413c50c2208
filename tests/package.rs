//! The OpenWRT package: `cross/ipk` against the format OpenWRT's
//! scripts/ipkg-build writes, the feed Makefile (evaluated with GNU make
//! and the stand-ins in tests/openwrt/topdir) against the same file list,
//! the procd init script and the package scripts run with recorders, and
//! shellcheck on every shell script.
//!
//! The .ipk is built from the host build of warden (`WARDEN_BIN`), so these
//! tests need no cross toolchain. Needs: GNU tar, gzip, GNU make,
//! shellcheck (in .ci/apt-packages).

mod common;
use common::Deadline;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const EPOCH: u64 = 1_700_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn host_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_warden"))
}

/// A fresh directory under cargo's scratch space for integration tests.
fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "package-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Fail clearly when a tool the tests need is missing.
fn need(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{tool} is not installed; the package tests need it (.ci/setup installs it)"
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output_within(common::CHILD_DEADLINE)
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One entry of openwrt-feed/warden/files.list.
#[derive(Debug, Clone)]
struct Entry {
    src: String,
    dest: String,
    mode: u32,
    conffile: bool,
}

fn manifest() -> Vec<Entry> {
    manifest_of("files.list")
}

/// The entries of openwrt-feed/warden/`list` (files.list for warden,
/// files-uplink.list for warden-uplink).
fn manifest_of(list: &str) -> Vec<Entry> {
    let text = fs::read_to_string(root().join("openwrt-feed/warden").join(list)).unwrap();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() == 3 || f.len() == 4, "bad files.list line {l:?}");
            Entry {
                src: f[0].to_string(),
                dest: f[1].to_string(),
                mode: u32::from_str_radix(f[2], 8)
                    .unwrap_or_else(|_| panic!("bad mode in files.list line {l:?}")),
                conffile: f.get(3) == Some(&"conffile"),
            }
        })
        .collect()
}

/// A source tree for packing: openwrt-feed/ and every file files.list
/// names, copied from this tree. Sources this tree does not have yet are
/// written as small placeholder scripts, and named on stderr, so the format
/// checks can run; `missing_source_fails_naming_it` checks that packing
/// this tree itself fails while one is missing.
fn source_tree() -> PathBuf {
    let dir = scratch("src");
    run_ok(
        Command::new("cp")
            .arg("-r")
            .arg(root().join("openwrt-feed"))
            .arg(&dir),
    );
    for e in manifest()
        .into_iter()
        .chain(manifest_of("files-uplink.list"))
    {
        if e.src.starts_with('@') {
            continue;
        }
        let to = dir.join(&e.src);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        let from = root().join(&e.src);
        if from.is_file() {
            fs::copy(&from, &to).unwrap();
        } else {
            eprintln!(
                "note: {} is not in this tree yet; packing a placeholder",
                e.src
            );
            fs::write(&to, "#!/bin/sh\n# placeholder for a file this tree lacks\n").unwrap();
        }
    }
    dir
}

/// Run cross/ipk for `target` with the host binary; returns the .ipk path.
fn build_ipk(target: &str, src: &Path, out: &Path) -> PathBuf {
    build_variant_ipk("full", target, src, out)
}

/// cross/ipk for the feed Makefile's VARIANT `variant` (full: warden,
/// uplink: warden-uplink).
fn build_variant_ipk(variant: &str, target: &str, src: &Path, out: &Path) -> PathBuf {
    need("tar");
    need("gzip");
    let o = run_ok(
        Command::new(root().join("cross/ipk"))
            .arg(target)
            .arg(out)
            .env("WARDEN_VARIANT", variant)
            .env("WARDEN_BIN", host_bin())
            .env("WARDEN_SRCROOT", src)
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string()),
    );
    let path = String::from_utf8(o.stdout).unwrap().trim().to_string();
    PathBuf::from(path)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = common::wait_within(child, common::CHILD_DEADLINE, "child").unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip -dc failed");
    out.stdout
}

/// Checks the gzip header as `gzip -n` writes it: no name, no time stamp.
fn check_gzip_n(data: &[u8], what: &str) {
    assert!(data.len() > 18, "{what}: too short for gzip");
    assert_eq!(&data[..3], &[0x1f, 0x8b, 8], "{what}: not gzip (deflate)");
    assert_eq!(
        data[3] & 0x08,
        0,
        "{what}: gzip header has a file name (not gzip -n)"
    );
    assert_eq!(
        &data[4..8],
        &[0, 0, 0, 0],
        "{what}: gzip header has a time stamp (not gzip -n)"
    );
}

/// One member of a tar archive, from its 512-byte header.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    mode: u32,
    uid: u64,
    gid: u64,
    uname: String,
    gname: String,
    mtime: u64,
    kind: u8,
    magic: Vec<u8>,
    data: Vec<u8>,
}

fn octal(field: &[u8]) -> u64 {
    let s: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return 0;
    }
    u64::from_str_radix(s, 8).unwrap_or_else(|_| panic!("bad octal field {s:?}"))
}

fn cstr(field: &[u8]) -> String {
    String::from_utf8_lossy(&field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())])
        .into_owned()
}

fn untar(tar: &[u8]) -> Vec<Member> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 512 <= tar.len() {
        let h = &tar[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        assert_eq!(octal(&h[148..156]), sum, "tar header checksum at {off}");
        let size = octal(&h[124..136]) as usize;
        let m = Member {
            name: cstr(&h[0..100]),
            mode: octal(&h[100..108]) as u32,
            uid: octal(&h[108..116]),
            gid: octal(&h[116..124]),
            mtime: octal(&h[136..148]),
            kind: h[156],
            magic: h[257..265].to_vec(),
            uname: cstr(&h[265..297]),
            gname: cstr(&h[297..329]),
            data: tar[off + 512..off + 512 + size].to_vec(),
        };
        assert!(
            m.kind != b'L' && m.kind != b'K' && m.kind != b'x',
            "unexpected long-name/pax member in {:?}",
            m.name
        );
        out.push(m);
        off += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// Common checks on every member: GNU format, owner 0:0 numeric, mtime.
fn check_members(members: &[Member], what: &str) {
    for m in members {
        assert_eq!(
            m.magic, b"ustar  \0",
            "{what}: {} is not GNU tar format",
            m.name
        );
        assert_eq!(
            (m.uid, m.gid),
            (0, 0),
            "{what}: {} not owned by 0:0",
            m.name
        );
        assert_eq!(
            (m.uname.as_str(), m.gname.as_str()),
            ("", ""),
            "{what}: {} has owner names (not --numeric-owner)",
            m.name
        );
        assert_eq!(
            m.mtime, EPOCH,
            "{what}: {} mtime is not SOURCE_DATE_EPOCH",
            m.name
        );
    }
}

struct Ipk {
    outer: Vec<Member>,
    control: Vec<Member>,
    data: Vec<Member>,
    data_tar_len: usize,
}

fn read_ipk(path: &Path) -> Ipk {
    let bytes = fs::read(path).unwrap();
    check_gzip_n(&bytes, "the .ipk");
    let outer = untar(&gunzip(&bytes));
    let get = |n: &str| {
        outer
            .iter()
            .find(|m| m.name == n)
            .unwrap_or_else(|| panic!("{n} missing from the .ipk"))
            .data
            .clone()
    };
    let data_gz = get("./data.tar.gz");
    let control_gz = get("./control.tar.gz");
    check_gzip_n(&data_gz, "data.tar.gz");
    check_gzip_n(&control_gz, "control.tar.gz");
    let data_tar = gunzip(&data_gz);
    Ipk {
        control: untar(&gunzip(&control_gz)),
        data: untar(&data_tar),
        data_tar_len: data_tar.len(),
        outer,
    }
}

fn member<'a>(ms: &'a [Member], name: &str) -> &'a Member {
    ms.iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} missing; have {:?}", names(ms)))
}

fn names(ms: &[Member]) -> Vec<&str> {
    ms.iter().map(|m| m.name.as_str()).collect()
}

fn control_fields(text: &str) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with(' ') {
            continue;
        }
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("bad control line {line:?}"));
        f.insert(k.to_string(), v.to_string());
    }
    f
}

fn cargo_version() -> String {
    let toml = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    toml.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_string()
}

#[test]
fn ipk_has_the_ipkg_build_format() {
    let src = source_tree();
    let ipk_path = build_ipk("mips-unknown-linux-musl", &src, &scratch("out"));
    let version = format!("{}-r1", cargo_version());
    assert_eq!(
        ipk_path.file_name().unwrap().to_str().unwrap(),
        format!("warden_{version}_mips_24kc.ipk")
    );
    let ipk = read_ipk(&ipk_path);

    // Outer archive: exactly these three, in ipkg-build's order.
    assert_eq!(
        names(&ipk.outer),
        ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    );
    check_members(&ipk.outer, "outer tar");
    for m in &ipk.outer {
        assert_eq!((m.kind, m.mode), (b'0', 0o644), "outer {}", m.name);
    }
    assert_eq!(member(&ipk.outer, "./debian-binary").data, b"2.0\n");

    // control.tar.gz
    check_members(&ipk.control, "control.tar.gz");
    assert_eq!(
        names(&ipk.control),
        [
            "./",
            "./conffiles",
            "./control",
            "./postinst",
            "./postinst-pkg",
            "./prerm"
        ]
    );
    for (n, mode) in [
        ("./", 0o755),
        ("./conffiles", 0o644),
        ("./control", 0o644),
        ("./postinst", 0o755),
        ("./postinst-pkg", 0o755),
        ("./prerm", 0o755),
    ] {
        assert_eq!(member(&ipk.control, n).mode, mode, "mode of control {n}");
    }
    let conffiles = String::from_utf8(member(&ipk.control, "./conffiles").data.clone()).unwrap();
    assert_eq!(conffiles, "/etc/config/warden\n");

    let control = String::from_utf8(member(&ipk.control, "./control").data.clone()).unwrap();
    let f = control_fields(&control);
    let keys: Vec<&str> = control
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "Package",
            "Version",
            "Depends",
            "Conflicts",
            "Provides",
            "Source",
            "SourceName",
            "License",
            "Section",
            "SourceDateEpoch",
            "Maintainer",
            "Architecture",
            "Installed-Size",
            "Description"
        ],
        "control fields in package-pack.mk's order:\n{control}"
    );
    assert_eq!(f["Package"], "warden");
    assert_eq!(f["Version"], version);
    assert_eq!(
        f["Depends"],
        "kmod-usb-serial-option, kmod-usb-acm, ppp, chat"
    );
    // The full package stands in for warden-uplink and cannot share the
    // router with it (both are /usr/sbin/warden).
    assert_eq!(f["Conflicts"], "warden-uplink");
    assert_eq!(f["Provides"], "warden-uplink");
    assert_eq!(f["Source"], "feeds/warden/warden");
    assert_eq!(f["SourceName"], "warden");
    assert_eq!(f["License"], "MIT");
    assert_eq!(f["Section"], "net");
    assert_eq!(f["SourceDateEpoch"], EPOCH.to_string());
    assert_eq!(f["Architecture"], "mips_24kc");
    // ipkg-build: the size of the uncompressed data tar.
    assert_eq!(f["Installed-Size"], ipk.data_tar_len.to_string());
    assert!(f["Description"].starts_with(" warden keeps a USB 3G modem online"));
    assert!(control.ends_with("configured with UCI.\n"), "{control}");
    assert!(control
        .lines()
        .skip_while(|l| !l.starts_with("Description:"))
        .skip(1)
        .all(|l| l.starts_with(' ')));

    // data.tar.gz: sorted by name, parents first, owners 0:0, modes.
    check_members(&ipk.data, "data.tar.gz");
    let data_names = names(&ipk.data);
    let mut sorted = data_names.clone();
    sorted.sort();
    assert_eq!(data_names, sorted, "data.tar.gz is not sorted by name");
    assert_eq!(data_names[0], "./");
    for m in &ipk.data {
        let parent = Path::new(m.name.trim_end_matches('/')).parent().unwrap();
        if m.name != "./" {
            let p = format!("{}/", parent.display());
            member(&ipk.data, &p);
        }
        if m.kind == b'5' {
            let want = if m.name == "./etc/warden/" {
                0o700
            } else {
                0o755
            };
            assert_eq!(m.mode, want, "directory {} mode {:o}", m.name, m.mode);
        } else {
            assert_eq!(m.kind, b'0', "{} is not a regular file", m.name);
        }
    }
    let mut files: Vec<String> = ipk
        .data
        .iter()
        .filter(|m| m.kind == b'0')
        .map(|m| m.name.clone())
        .collect();
    files.sort();
    let mut want_files = vec!["./lib/upgrade/keep.d/warden".to_string()];
    for e in manifest() {
        let name = format!(".{}", e.dest);
        match e.src.as_str() {
            "@dir" => assert_eq!(member(&ipk.data, &format!("{name}/")).mode, e.mode),
            "@none" => assert!(
                !data_names.contains(&name.as_str()),
                "{name} is not shipped"
            ),
            from => {
                let m = member(&ipk.data, &name);
                assert_eq!(m.mode, e.mode, "mode of {name}");
                let want = if from == "@bin" {
                    fs::read(host_bin()).unwrap()
                } else {
                    fs::read(src.join(from)).unwrap()
                };
                assert!(m.data == want, "content of {name} differs from {from}");
                want_files.push(name);
            }
        }
    }
    want_files.sort();
    assert_eq!(files, want_files);
    for (name, mode) in [
        ("./usr/sbin/warden", 0o755),
        ("./etc/init.d/warden", 0o755),
        ("./etc/config/warden", 0o600),
        ("./lib/netifd/proto/warden.sh", 0o755),
        ("./etc/hotplug.d/usb/20-warden", 0o644),
        ("./etc/hotplug.d/tty/20-warden", 0o644),
        ("./etc/hotplug.d/iface/30-warden", 0o644),
        ("./lib/netifd/warden-ppp-up", 0o755),
        ("./lib/netifd/warden-ppp-down", 0o755),
        ("./etc/warden/", 0o700),
    ] {
        assert_eq!(member(&ipk.data, name).mode, mode, "mode of {name}");
    }
    assert_eq!(
        member(&ipk.data, "./etc/config/warden").data,
        fs::read(root().join("uci/warden")).unwrap()
    );
    assert_eq!(
        String::from_utf8_lossy(&member(&ipk.data, "./lib/upgrade/keep.d/warden").data),
        keep_list().join("\n") + "\n"
    );

    // The size: the .ipk is the compressed data plus a little.
    let ipk_len = fs::metadata(&ipk_path).unwrap().len() as usize;
    let data_gz_len = member(&ipk.outer, "./data.tar.gz").data.len();
    assert!(
        ipk_len.abs_diff(data_gz_len) < data_gz_len / 100 + 4096,
        "ipk {ipk_len} bytes for {data_gz_len} bytes of data.tar.gz"
    );
    eprintln!(
        "ipk {} bytes, Installed-Size {} (host debug binary)",
        ipk_len, ipk.data_tar_len
    );

    // Debian's tar reads all three layers.
    let x = scratch("x");
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&ipk_path)
            .arg("-C")
            .arg(&x),
    );
    let listed = run_ok(Command::new("tar").arg("-tzf").arg(&ipk_path));
    assert_eq!(
        String::from_utf8(listed.stdout).unwrap(),
        "./debian-binary\n./data.tar.gz\n./control.tar.gz\n"
    );
    let d = x.join("data");
    fs::create_dir(&d).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(x.join("data.tar.gz"))
            .arg("-C")
            .arg(&d),
    );
    assert_eq!(
        fs::read(d.join("usr/sbin/warden")).unwrap(),
        fs::read(host_bin()).unwrap()
    );
    let md = fs::metadata(d.join("etc/warden")).unwrap();
    assert!(md.is_dir() && md.permissions().mode() & 0o777 == 0o700);
    assert_eq!(md.mtime() as u64, EPOCH);
    let c = x.join("control");
    fs::create_dir(&c).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(x.join("control.tar.gz"))
            .arg("-C")
            .arg(&c),
    );
    assert_eq!(fs::read_to_string(c.join("control")).unwrap(), control);
}

#[test]
fn ipk_is_reproducible() {
    let src = source_tree();
    let a = build_ipk("mips-unknown-linux-musl", &src, &scratch("a"));
    let b = build_ipk("mips-unknown-linux-musl", &src, &scratch("b"));
    assert!(
        fs::read(&a).unwrap() == fs::read(&b).unwrap(),
        "two builds with one SOURCE_DATE_EPOCH differ"
    );
}

#[test]
fn ipk_architecture_follows_the_target() {
    let src = source_tree();
    for (target, arch) in [
        ("mipsel-unknown-linux-musl", "mipsel_24kc"),
        ("aarch64-unknown-linux-musl", "aarch64_generic"),
    ] {
        let p = build_ipk(target, &src, &scratch("arch"));
        assert!(
            p.to_str().unwrap().ends_with(&format!("_{arch}.ipk")),
            "{}",
            p.display()
        );
        let ipk = read_ipk(&p);
        let control = String::from_utf8(member(&ipk.control, "./control").data.clone()).unwrap();
        assert_eq!(control_fields(&control)["Architecture"], arch);
    }
    let o = run(Command::new(root().join("cross/ipk")).arg("sparc-unknown-linux-gnu"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown target"));
}

#[test]
fn missing_source_fails_naming_it() {
    let src = source_tree();
    fs::remove_file(src.join("uci/warden")).unwrap();
    let out = scratch("missing");
    let o = run(Command::new(root().join("cross/ipk"))
        .arg("mips-unknown-linux-musl")
        .arg(&out)
        .env("WARDEN_BIN", host_bin())
        .env("WARDEN_SRCROOT", &src)
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string()));
    assert!(!o.status.success(), "packing without uci/warden succeeded");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("uci/warden (for /etc/config/warden)"),
        "stderr does not name the missing file: {err}"
    );
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "an .ipk was left behind"
    );
}

/// Evaluate the feed Makefile with GNU make and the stand-ins in
/// tests/openwrt/topdir.
fn feed_make(args: &[&str]) -> Output {
    need("make");
    let topdir = root().join("tests/openwrt/topdir");
    run_ok(
        Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(root().join("openwrt-feed/warden"))
            .arg(format!("TOPDIR={}", topdir.display()))
            .args(args),
    )
}

fn dump(args: &[&str]) -> BTreeMap<String, String> {
    let mut a = vec!["dump"];
    a.extend_from_slice(args);
    String::from_utf8(feed_make(&a).stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn feed_makefile_metadata() {
    let d = dump(&[]);
    assert_eq!(d["NAME"], "warden");
    assert_eq!(d["VERSION"], format!("{}-r1", cargo_version()));
    assert_eq!(d["BUILD_DEPENDS"], "rust/host");
    assert_eq!(d["RUST_PKG_LOCKED"], "1", "cargo must run with --locked");
    assert_eq!(d["SECTION"], "net");
    let deps: Vec<&str> = d["DEPENDS"].split_whitespace().collect();
    assert!(deps[0].starts_with("@(") && deps[0].contains("mips"));
    // Dependencies that hold on every target: no USB host controller
    // (the target's DEVICE_PACKAGES bring it), USB itself required.
    assert_eq!(
        deps[1..],
        [
            "@USB_SUPPORT",
            "+kmod-usb-serial-option",
            "+kmod-usb-acm",
            "+ppp",
            "+chat"
        ]
    );
    for hc in [
        "usb2", "usb-ohci", "usb-uhci", "usb3", "usb-ehci", "usb-dwc2", "usb-dwc3",
    ] {
        assert!(
            !deps.contains(&format!("+kmod-{hc}").as_str()),
            "host controller kmod-{hc} is the target's business: {deps:?}"
        );
    }
    // Variants: warden (full) is built with the feature auth, neither
    // with the host's default features.
    assert_eq!(d["VARIANT"], "full");
    assert_eq!(
        (d["PROVIDES"].as_str(), d["CONFLICTS"].as_str()),
        ("warden-uplink", "warden-uplink")
    );
    assert!(
        d["COMPILE"].contains("--features \"auth\""),
        "{}",
        d["COMPILE"]
    );
    assert!(
        d["COMPILE"].ends_with(" --locked --no-default-features"),
        "{}",
        d["COMPILE"]
    );
    let u = dump(&["PACKAGE=warden-uplink", "BUILD_VARIANT=uplink"]);
    assert_eq!(u["NAME"], "warden-uplink");
    assert_eq!(u["VARIANT"], "uplink");
    assert_eq!(
        (u["PROVIDES"].as_str(), u["CONFLICTS"].as_str()),
        ("", "warden")
    );
    assert!(!u["COMPILE"].contains("--features"), "{}", u["COMPILE"]);
    assert!(
        u["COMPILE"].ends_with(" --locked --no-default-features"),
        "{}",
        u["COMPILE"]
    );
    assert_eq!(
        (u["DEPENDS"].as_str(), u["CONFFILES"].as_str()),
        (d["DEPENDS"].as_str(), d["CONFFILES"].as_str())
    );
    // Default source: the tree around the feed, copied by Build/Prepare.
    assert_eq!(d["SOURCE_PROTO"], "");
    assert_eq!(d["HAS_BUILD_PREPARE"], "1");

    // Conffiles: one a line, as OpenWRT writes them to CONTROL/conffiles.
    let cf = scratch("conffiles").join("conffiles");
    dump(&[&format!("CONFFILES_OUT={}", cf.display())]);
    let want: Vec<String> = manifest()
        .iter()
        .filter(|e| e.conffile)
        .map(|e| match e.src.as_str() {
            "@dir" => format!("{}/", e.dest),
            _ => e.dest.clone(),
        })
        .collect();
    assert_eq!(want, ["/etc/config/warden", "/etc/warden/"]);
    assert_eq!(fs::read_to_string(&cf).unwrap().trim_end(), want.join("\n"));

    let d = dump(&["WARDEN_LINKS_LIBUSB=1"]);
    assert!(
        d["DEPENDS"].ends_with(" +ppp +chat +libusb-1.0"),
        "{}",
        d["DEPENDS"]
    );

    let d = dump(&["WARDEN_GIT_URL=https://git.example/warden.git"]);
    assert_eq!(d["SOURCE_PROTO"], "git");
    assert_eq!(d["SOURCE_URL"], "https://git.example/warden.git");
    assert_eq!(d["HAS_BUILD_PREPARE"], "0");

    let d = dump(&["WARDEN_TARBALL=/srv/src/warden-0.1.0.tar.gz"]);
    assert_eq!(d["SOURCE"], "warden-0.1.0.tar.gz");
    assert_eq!(d["SOURCE_URL"], "file:///srv/src");
}

/// Regular files and directories under `dir`: path -> (mode, content).
fn tree(dir: &Path) -> BTreeMap<String, (u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Option<Vec<u8>>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            let rel = format!("/{}", p.strip_prefix(base).unwrap().display());
            let mode = md.permissions().mode() & 0o7777;
            if md.is_dir() {
                out.insert(format!("{rel}/"), (mode, None));
                walk(base, &p, out);
            } else {
                out.insert(rel, (mode, Some(fs::read(&p).unwrap())));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

#[test]
fn feed_makefile_installs_what_the_ipk_ships() {
    let src = source_tree();
    let ipk = read_ipk(&build_ipk("mips-unknown-linux-musl", &src, &scratch("out")));
    // What the buildroot's `cargo install --root $(PKG_INSTALL_DIR)` leaves.
    let inst = scratch("inst");
    fs::create_dir(inst.join("bin")).unwrap();
    fs::copy(host_bin(), inst.join("bin/warden")).unwrap();
    let dest = scratch("dest");
    feed_make(&[
        "install",
        &format!("PKG_BUILD_DIR={}", src.display()),
        &format!("PKG_INSTALL_DIR={}", inst.display()),
        &format!("DESTDIR={}", dest.display()),
    ]);
    let from_make = tree(&dest);
    // The .ipk also has what package-pack.mk adds after the install step.
    let from_ipk: BTreeMap<String, (u32, Option<Vec<u8>>)> = ipk
        .data
        .iter()
        .filter(|m| m.name != "./" && !m.name.starts_with("./lib/upgrade/"))
        .map(|m| {
            let content = (m.kind == b'0').then(|| m.data.clone());
            (m.name[1..].to_string(), (m.mode, content))
        })
        .collect();
    let a: Vec<(&String, &u32)> = from_make.iter().map(|(k, v)| (k, &v.0)).collect();
    let b: Vec<(&String, &u32)> = from_ipk.iter().map(|(k, v)| (k, &v.0)).collect();
    assert_eq!(a, b, "the Makefile's install and cross/ipk differ");
    assert!(from_make == from_ipk, "file contents differ");
}

/// A recorder standing in for /usr/sbin/warden: records its arguments and
/// exits with $WARDEN_EXIT.
fn recorder(dir: &Path) -> PathBuf {
    let p = dir.join("warden-recorder");
    fs::write(
        &p,
        "#!/bin/sh\nprintf 'warden' >>\"$RECORD\"\nfor a in \"$@\"; do printf ' <%s>' \"$a\" >>\"$RECORD\"; done\necho >>\"$RECORD\"\necho 'uplink: up'\nexit \"${WARDEN_EXIT:-0}\"\n",
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Run the init script through the rc.common stand-in; returns
/// (exit status, stdout, recorded lines).
fn init(action: &str, exit: u8) -> (i32, String, Vec<String>) {
    init_procd(action, exit, "running")
}

/// Like [`init`], with procd's view of the service (`_procd_status`'s
/// answer: running, inactive, ...).
fn init_procd(action: &str, exit: u8, procd: &str) -> (i32, String, Vec<String>) {
    let dir = scratch("init");
    let record = dir.join("record");
    fs::write(&record, "").unwrap();
    // Installed as /etc/init.d/warden: rc.common names the service after it.
    let script = dir.join("etc/init.d/warden");
    fs::create_dir_all(script.parent().unwrap()).unwrap();
    fs::copy(
        root().join("openwrt-feed/warden/files/warden.init"),
        &script,
    )
    .unwrap();
    let o = run(Command::new("sh")
        .arg(root().join("tests/openwrt/rc.common"))
        .arg(&script)
        .arg(action)
        .env("RECORD", &record)
        .env("WARDEN_RECORDER", recorder(&dir))
        .env("WARDEN_EXIT", exit.to_string())
        .env("PROCD_STATUS", procd)
        .env("IPKG_INSTROOT", &dir));
    let lines = fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        o.stderr.is_empty(),
        "init {action}: stderr {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        lines,
    )
}

#[test]
fn init_script_commands() {
    let (code, _, mut start) = init("start", 0);
    assert_eq!(code, 0);
    if let Some(l) = start.get_mut(1) {
        if l.starts_with("procd_open_service <warden> <") && l.ends_with("/etc/init.d/warden>") {
            *l = "procd_open_service <warden> <INITSCRIPT>".to_string();
        }
    }
    assert_eq!(
        start,
        [
            "PROG </usr/sbin/warden>",
            "procd_open_service <warden> <INITSCRIPT>",
            "mkdir <-p> </etc/warden> </var/run/warden>",
            "chmod <0700> </etc/warden> </var/run/warden>",
            "procd_open_instance",
            "procd_set_param <command> </usr/sbin/warden> <daemon>",
            "procd_set_param <respawn> <3600> <5> <5>",
            "procd_set_param <file> </etc/config/warden>",
            "procd_set_param <stderr> <1>",
            "procd_close_instance",
            "procd_add_reload_trigger <warden>",
            "procd_close_service <set>",
        ]
    );

    let (code, _, stop) = init("stop", 0);
    assert_eq!(code, 0);
    assert_eq!(
        stop,
        [
            "PROG </usr/sbin/warden>",
            "procd_lock",
            "procd_kill <warden> <>"
        ]
    );

    let (code, _, reload) = init("reload", 0);
    assert_eq!(code, 0);
    assert_eq!(
        reload,
        [
            "PROG </usr/sbin/warden>",
            "procd_lock",
            "procd_send_signal <warden> <*> <HUP>"
        ]
    );

    // procd's answer first (as rc.common gives it without status_service),
    // then every uplink's; the exit status is procd's.
    let (code, out, status) = init("status", 0);
    assert_eq!((code, out.as_str()), (0, "running\nuplink: up\n"));
    assert_eq!(
        status,
        [
            "PROG </usr/sbin/warden>",
            "_procd_status <warden> <>",
            "warden <status>"
        ]
    );
    // The daemon runs, an uplink is gone (`warden status` exits 3): procd's
    // answer stands.
    let (code, out, _) = init("status", 3);
    assert_eq!((code, out.as_str()), (0, "running\nuplink: up\n"));
    // The daemon is not running (netifd's uplinks still are): inactive, 3,
    // and warden's output all the same.
    let (code, out, status) = init_procd("status", 0, "inactive");
    assert_eq!((code, out.as_str()), (3, "inactive\nuplink: up\n"));
    assert_eq!(status.last().unwrap(), "warden <status>");
    let (code, _, _) = init_procd("status", 1, "not running");
    assert_eq!(code, 5);

    let (code, _, enable) = init("enable", 0);
    assert_eq!(code, 0);
    assert_eq!(enable.len(), 3, "{enable:?}");
    for (line, link) in enable[1..].iter().zip(["S60warden", "K10warden"]) {
        assert!(
            line.starts_with("ln <-sf> <../init.d/warden> <")
                && line.ends_with(&format!("/etc/rc.d/{link}>")),
            "{enable:?}"
        );
    }
}

/// postinst and prerm from the .ipk: OpenWRT's generic scripts, and the
/// package's own postinst-pkg (the Makefile's Package/warden/postinst,
/// which default_postinst runs): rpcd reloads on a running router, to
/// take the plugin and ACL; nothing runs in an offline root.
#[test]
fn package_scripts() {
    need("shellcheck");
    let src = source_tree();
    let ipk = read_ipk(&build_ipk("mips-unknown-linux-musl", &src, &scratch("out")));
    let dir = scratch("scripts");
    for s in ["postinst", "prerm", "postinst-pkg"] {
        let p = dir.join(s);
        fs::write(&p, &member(&ipk.control, &format!("./{s}")).data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        // OpenWRT's text, word for word: unquoted $@ and a sourced path
        // shellcheck cannot follow are how OpenWRT writes them.
        run_ok(
            Command::new("shellcheck")
                .args(["-s", "sh", "-e", "SC1090,SC1091,SC2068,SC2086"])
                .arg(&p),
        );
    }
    let instroot = dir.join("root");
    let record = dir.join("record");
    let go = |script: &str, env: &[(&str, &str)]| -> Vec<String> {
        fs::write(&record, "").unwrap();
        let mut c = Command::new(dir.join(script));
        c.env("IPKG_INSTROOT", &instroot).env("RECORD", &record);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = run_ok(&mut c);
        assert!(
            o.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        fs::read_to_string(&record)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    // An offline root without OpenWRT's base files: nothing to do.
    fs::create_dir_all(instroot.join("lib")).unwrap();
    assert!(go("postinst", &[]).is_empty());
    assert!(go("prerm", &[]).is_empty());
    // With /lib/functions.sh they hand over to default_postinst and
    // default_prerm, which enable/start and stop/disable the init script.
    fs::write(
        instroot.join("lib/functions.sh"),
        "default_postinst() { echo \"default_postinst $*\" >>\"$RECORD\"; }\ndefault_prerm() { echo \"default_prerm $*\" >>\"$RECORD\"; }\n",
    )
    .unwrap();
    let p = dir.join("postinst");
    assert_eq!(
        go("postinst", &[]),
        [format!("default_postinst {}", p.display())]
    );
    assert_eq!(
        go("prerm", &[]),
        [format!("default_prerm {}", dir.join("prerm").display())]
    );
    assert!(go("postinst", &[("IPKG_NO_SCRIPT", "1")]).is_empty());

    // postinst-pkg is the feed Makefile's text, for both variants.
    let pkg = String::from_utf8(member(&ipk.control, "./postinst-pkg").data.clone()).unwrap();
    for args in [
        &[][..],
        &["PACKAGE=warden-uplink", "BUILD_VARIANT=uplink"][..],
    ] {
        let out = dir.join("postinst-made");
        let mut a = vec![format!("POSTINST_OUT={}", out.display())];
        a.extend(args.iter().map(|s| s.to_string()));
        dump(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(fs::read_to_string(&out).unwrap().trim_end(), pkg.trim_end());
    }
    // default_postinst runs it (OpenWRT's: from opkg's info directory, in
    // a subshell); in an offline root it does nothing and succeeds.
    let info = instroot.join("usr/lib/opkg/info");
    fs::create_dir_all(&info).unwrap();
    fs::copy(dir.join("postinst-pkg"), info.join("postinst.postinst-pkg")).unwrap();
    fs::write(
        instroot.join("lib/functions.sh"),
        "default_postinst() { echo \"default_postinst\" >>\"$RECORD\"; \
         p=\"$IPKG_INSTROOT/usr/lib/opkg/info/$(basename \"${1%.*}\").postinst-pkg\"; \
         [ -f \"$p\" ] && ( . \"$p\" ); }\n",
    )
    .unwrap();
    assert_eq!(go("postinst", &[]), ["default_postinst"]);
    // With a recording rpcd bind-mounted over /etc/init.d in a private
    // mount namespace: nothing in an offline root, and on a running
    // router (no IPKG_INSTROOT) /etc/init.d/rpcd reload.
    need("unshare");
    let initd = dir.join("init.d");
    fs::create_dir_all(&initd).unwrap();
    fs::write(
        initd.join("rpcd"),
        "#!/bin/sh\necho \"rpcd $*\" >>\"$RECORD\"\n",
    )
    .unwrap();
    fs::set_permissions(initd.join("rpcd"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(&record, "").unwrap();
    let o = run_ok(
        Command::new("unshare")
            .args([
                "-rm",
                "sh",
                "-c",
                "mount --bind \"$1\" /etc/init.d && IPKG_INSTROOT=\"$3\" sh \"$2\" && \
                 echo offline >>\"$RECORD\" && exec sh \"$2\"",
                "sh",
            ])
            .arg(&initd)
            .arg(dir.join("postinst-pkg"))
            .arg(&instroot)
            .env_remove("IPKG_INSTROOT")
            .env("RECORD", &record),
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        fs::read_to_string(&record).unwrap(),
        "offline\nrpcd reload\n"
    );
}

/// Shell scripts in this tree: *.sh, files with a shell #! line or a
/// `# shellcheck shell=` directive, and everything under hotplug/ and
/// netifd/.
fn shell_scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap_or("");
            let md = fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                if !matches!(name, ".git" | "target" | "node_modules") {
                    walk(&p, out);
                }
                continue;
            }
            if !md.is_file() {
                continue;
            }
            let head: Vec<u8> = fs::read(&p).unwrap().into_iter().take(4096).collect();
            let head = String::from_utf8_lossy(&head);
            let first = head.lines().next().unwrap_or("");
            let rel = p.strip_prefix(root()).unwrap();
            let shebang = first.starts_with("#!")
                && ["/sh", "bash", "ash", "dash", "rc.common"]
                    .iter()
                    .any(|s| first.contains(s));
            if name.ends_with(".sh")
                || shebang
                || head.contains("# shellcheck shell=")
                || rel.starts_with("hotplug")
                || rel.starts_with("netifd")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &mut out);
    out.sort();
    out
}

#[test]
fn shellcheck_every_shell_script() {
    need("shellcheck");
    let scripts = shell_scripts();
    for must in [
        "cross/ipk",
        "openwrt-feed/warden/install-files",
        "openwrt-feed/warden/files/warden.init",
        "tests/openwrt/rc.common",
    ] {
        assert!(
            scripts.contains(&root().join(must)),
            "{must} not found as a shell script"
        );
    }
    let mut failed = Vec::new();
    for s in &scripts {
        let o = run(Command::new("shellcheck")
            .arg("-x")
            .arg(s)
            .current_dir(s.parent().unwrap()));
        if !o.status.success() {
            failed.push(format!(
                "{}:\n{}{}",
                s.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "shellcheck failed:\n{}",
        failed.join("\n")
    );
}

/// install-files refuses a malformed manifest, naming the line.
#[test]
fn install_files_checks_the_manifest() {
    let dir = scratch("manifest");
    let dest = dir.join("dest");
    fs::create_dir(&dest).unwrap();
    fs::write(dir.join("bin"), "x").unwrap();
    for (line, complaint) in [
        (
            "uci/warden etc/config/warden 0600",
            "DEST must be an absolute path",
        ),
        (
            "uci/warden /etc/config/warden 644",
            "MODE must be four octal digits",
        ),
        (
            "uci/warden /etc/config/warden 0600 keep",
            "unknown flag 'keep'",
        ),
        ("uci/warden /etc/config/warden", "expected SOURCE DEST MODE"),
        ("@lib /usr/lib/x 0644", "unknown source '@lib'"),
    ] {
        let list = dir.join("files.list");
        fs::write(&list, format!("# a comment\n{line}\n")).unwrap();
        let o = run(
            Command::new(root().join("openwrt-feed/warden/install-files"))
                .arg(root())
                .arg(dir.join("bin"))
                .arg(&dest)
                .env("FILES_LIST", &list),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{line:?} was accepted");
        assert!(err.contains(complaint), "{line:?}: {err}");
        assert_eq!(
            fs::read_dir(&dest).unwrap().count(),
            0,
            "{line:?} installed something"
        );
    }
}

/// What the package tells sysupgrade to keep besides its changed
/// conffiles: `install-files --keep`, which cross/ipk writes to
/// /lib/upgrade/keep.d/warden (and package-pack.mk, from the Makefile's
/// conffiles, likewise).
fn keep_list() -> Vec<String> {
    let o = run_ok(Command::new(root().join("openwrt-feed/warden/install-files")).arg("--keep"));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Every file warden keeps state in (the key file and its generations,
/// the unattended passphrase file, the rejected-PIN memory, the KRL), for
/// the built-in defaults and for the shipped /etc/config/warden, survives a
/// sysupgrade: sysupgrade's own `find` over the keep list, run in a root
/// holding those files, finds every one.
#[test]
fn sysupgrade_keeps_every_state_file() {
    need("find");
    let keep = keep_list();
    assert!(!keep.is_empty(), "the package keeps nothing");
    let shipped = fs::read_to_string(root().join("uci/warden")).unwrap();
    let (cfg, _) = warden::config::parse(
        Path::new("uci/warden"),
        &shipped,
        &warden::uplink::check::RULES,
    )
    .unwrap();
    let mut state = warden::config::Config::default().state_files();
    state.extend(cfg.state_files());
    state.sort();
    state.dedup();
    for f in &state {
        let s = f.to_str().unwrap();
        assert!(
            keep.iter()
                .any(|k| k == s || (k.ends_with('/') && s.starts_with(k.as_str()))),
            "{s} is state, but /lib/upgrade/keep.d/warden ({keep:?}) does not keep it"
        );
    }
    // sysupgrade's list_static_conffiles, in a scratch root: the keep.d
    // lines (blank and # lines skipped), then find's regular files and
    // symlinks under each.
    let r = scratch("sysupgrade");
    let keepd = r.join("lib/upgrade/keep.d");
    fs::create_dir_all(&keepd).unwrap();
    fs::write(keepd.join("warden"), keep.join("\n") + "\n").unwrap();
    for f in &state {
        let p = r.join(f.strip_prefix("/").unwrap());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "state").unwrap();
    }
    let o = run_ok(
        Command::new("sh")
            .arg("-c")
            .arg(
                "find $(sed -ne '/^[[:space:]]*$/d; /^#/d; s,^,'\"$R\"',; p' \
                 \"$R\"/lib/upgrade/keep.d/* 2>/dev/null) \\( -type f -o -type l \\) 2>/dev/null; true",
            )
            .env("R", &r),
    );
    let found: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(r.to_str().unwrap()).map(String::from))
        .collect();
    for f in &state {
        let s = f.to_str().unwrap();
        assert!(
            found.iter().any(|x| x == s),
            "sysupgrade would lose {s}: it keeps {found:?}"
        );
    }
}

/// Build/Prepare for the default source copies the tree around the feed,
/// without build output or git data, and fails clearly without one.
#[test]
fn feed_makefile_prepares_the_source_tree() {
    let build = scratch("prepare").join("warden-0.1.0");
    feed_make(&["prepare", &format!("PKG_BUILD_DIR={}", build.display())]);
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "openwrt-feed/warden/files.list",
    ] {
        assert_eq!(
            fs::read(build.join(f)).unwrap(),
            fs::read(root().join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(!build.join("target").exists(), "target/ was copied");
    assert!(!build.join(".git").exists(), ".git was copied");

    let empty = scratch("notree");
    let o = run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root().join("openwrt-feed/warden"))
        .arg(format!(
            "TOPDIR={}",
            root().join("tests/openwrt/topdir").display()
        ))
        .arg(format!("WARDEN_TREE={}", empty.display()))
        .arg(format!("PKG_BUILD_DIR={}", empty.join("b").display()))
        .arg("prepare"));
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no warden source tree at"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// warden-uplink, the uplink alone (the feed's VARIANT uplink): cross/ipk
/// packs it as the Makefile describes it (name, Conflicts, description)
/// with files-uplink.list, which is files.list with the uplink's own
/// default configuration, uci/warden-uplink: uci/warden up to its first
/// auth section. The Makefile's install gives the same files.
#[test]
fn uplink_variant_is_its_own_package() {
    let src = source_tree();
    let out = scratch("uplink-out");
    let ipk_path = build_variant_ipk("uplink", "mips-unknown-linux-musl", &src, &out);
    let version = format!("{}-r1", cargo_version());
    assert_eq!(
        ipk_path.file_name().unwrap().to_str().unwrap(),
        format!("warden-uplink_{version}_mips_24kc.ipk")
    );
    let ipk = read_ipk(&ipk_path);
    let control = String::from_utf8(member(&ipk.control, "./control").data.clone()).unwrap();
    let f = control_fields(&control);
    assert_eq!(f["Package"], "warden-uplink");
    assert_eq!(f["Conflicts"], "warden");
    assert!(!f.contains_key("Provides"), "{control}");
    assert_eq!(
        f["Depends"],
        "kmod-usb-serial-option, kmod-usb-acm, ppp, chat"
    );
    assert!(f["Description"].starts_with(" warden-uplink keeps a USB 3G modem online"));
    // The lists differ in the configuration's source alone.
    let full = manifest();
    let up = manifest_of("files-uplink.list");
    assert_eq!(full.len(), up.len());
    let mut differ = Vec::new();
    for (a, b) in full.iter().zip(&up) {
        assert_eq!((&a.dest, a.mode, a.conffile), (&b.dest, b.mode, b.conffile));
        if a.src != b.src {
            differ.push((a.src.as_str(), b.src.as_str()));
        }
    }
    assert_eq!(differ, [("uci/warden", "uci/warden-uplink")]);
    // uci/warden-uplink: its header, then uci/warden to its first auth
    // section; it parses cleanly.
    let text = fs::read_to_string(root().join("uci/warden-uplink")).unwrap();
    let whole = fs::read_to_string(root().join("uci/warden")).unwrap();
    let body = &text[text.find("config warden 'main'").unwrap()..];
    let from = whole.find("config warden 'main'").unwrap();
    let to = whole.find("config factotum").unwrap();
    assert_eq!(body.trim_end(), whole[from..to].trim_end());
    let (cfg, warnings) = warden::config::parse(
        Path::new("uci/warden-uplink"),
        &text,
        &warden::uplink::check::RULES,
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(!text.contains("config factotum") && !text.contains("config keyfs"));
    assert_eq!(cfg.main.run_dir, Path::new("/var/run/warden"));
    assert_eq!(
        member(&ipk.data, "./etc/config/warden").data,
        text.as_bytes()
    );
    // keep.d is named after the package, as package-pack.mk names it.
    assert_eq!(
        String::from_utf8_lossy(&member(&ipk.data, "./lib/upgrade/keep.d/warden-uplink").data),
        keep_list().join("\n") + "\n"
    );
    assert!(ipk
        .data
        .iter()
        .all(|m| m.name != "./lib/upgrade/keep.d/warden"));
    // The feed Makefile's install for the variant gives the same files.
    let inst = scratch("uplink-inst");
    fs::create_dir(inst.join("bin")).unwrap();
    fs::copy(host_bin(), inst.join("bin/warden")).unwrap();
    let dest = scratch("uplink-dest");
    feed_make(&[
        "install",
        "PACKAGE=warden-uplink",
        "BUILD_VARIANT=uplink",
        &format!("PKG_BUILD_DIR={}", src.display()),
        &format!("PKG_INSTALL_DIR={}", inst.display()),
        &format!("DESTDIR={}", dest.display()),
    ]);
    let from_make = tree(&dest);
    let from_ipk: BTreeMap<String, (u32, Option<Vec<u8>>)> = ipk
        .data
        .iter()
        .filter(|m| m.name != "./" && !m.name.starts_with("./lib/upgrade/"))
        .map(|m| {
            let content = (m.kind == b'0').then(|| m.data.clone());
            (m.name[1..].to_string(), (m.mode, content))
        })
        .collect();
    assert!(
        from_make == from_ipk,
        "the Makefile's install and cross/ipk differ"
    );
}
