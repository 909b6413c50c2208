//! Rules about the source that the compiler does not check.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The format specs in `line` that ask for Debug: `{:?}`, `{x:?}`,
/// `{:#?}`, `{0:02x?}`.
fn debug_specs(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..]; // an escaped brace
            continue;
        }
        let Some(close) = rest.find('}') else { break };
        let spec = &rest[..close];
        if spec.contains(':') && spec.ends_with('?') && !spec.contains(['{', ' ', '"']) {
            found.push(format!("{{{spec}}}"));
        }
        rest = &rest[close + 1..];
    }
    found
}

/// Router builds (cross/build) compile with `-Zfmt-debug=none`, which
/// makes Debug formatting print nothing and drops every Debug impl from
/// the binary. So program code must not format anything with Debug:
/// messages, logs and output use Display. Tests may (they never run with
/// that flag), and so may test-only modules.
#[test]
fn program_code_never_formats_with_debug() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        // Test modules and the fuzz checks (run by tests and fuzz targets).
        if name.ends_with("tests.rs") || name == "fuzzing.rs" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("#[cfg(test)]") || line.starts_with("#[cfg(all(test,") {
                break; // the file's test module: the rest is tests
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for spec in debug_specs(line) {
                bad.push(format!(
                    "{}:{}: {spec}",
                    f.strip_prefix(root).unwrap().display(),
                    n + 1
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "Debug formatting in program code (prints nothing in router builds):\n{}",
        bad.join("\n")
    );
}

#[test]
fn debug_specs_are_recognised() {
    assert_eq!(
        debug_specs(r#"x {a:?} {:#?} {0:02x?} {{not}} {b} {:>4}"#),
        ["{a:?}", "{:#?}", "{0:02x?}"]
    );
    assert!(debug_specs("fn f() { let x: Option<u8> = None; }").is_empty());
}

/// The cores: wire formats, codecs and state machines. They take bytes,
/// time and randomness from their caller and hand back bytes and actions,
/// so they run (and are tested) without devices, sockets or a clock.
const SANS_IO: &[&str] = &[
    "src/wire.rs",
    "src/admit.rs",
    "src/config/uci.rs",
    "src/ninep/fcall.rs",
    "src/ninep/server.rs",
    "src/ninep/files.rs",
    "src/uplink/modem/at/",
    "src/dns/wire.rs",
    "src/uplink/supervisor.rs",
    "src/uplink/ladder.rs",
    "src/uplink/backoff.rs",
    "src/uplink/ppp/exit.rs",
    "src/auth/proto/",
    "src/auth/authsrv/wire.rs",
    "src/auth/authsrv/decide.rs",
    "src/auth/authsrv/exchanges.rs",
    "src/auth/authsrv/des.rs",
    "src/auth/authsrv/caps.rs",
    "src/auth/factotum/rpc.rs",
    "src/auth/factotum/conv.rs",
    "src/auth/factotum/ctl.rs",
    "src/auth/keyfs/codec.rs",
    "src/auth/signer/pake.rs",
    "src/auth/bignum.rs",
    "src/auth/secstore/pak.rs",
    "src/auth/secstore/sconn.rs",
    "src/auth/secstore/session.rs",
    "src/auth/ssh/wire.rs",
    "src/auth/ssh/cert.rs",
    "src/auth/ssh/krl.rs",
];

/// What a core must not name: the operating system, the network, the
/// file system, processes, threads, the clock and the kernel's random
/// numbers (core::net's address types are plain data and allowed).
const IO_NAMES: &[&str] = &[
    "libc::",
    "std::net",
    "std::fs",
    "std::process",
    "std::os::",
    "std::thread",
    "std::env",
    "SystemTime::now",
    "Instant::now",
    "getrandom",
    "TcpStream",
    "UdpSocket",
    "UnixStream",
];

/// `crate::sys` is the I/O kit; a core may use only its pure parts.
fn names_io(line: &str) -> Option<&'static str> {
    if let Some(n) = IO_NAMES.iter().find(|n| line.contains(**n)) {
        return Some(n);
    }
    let mut rest = line;
    while let Some(i) = rest.find("crate::sys::") {
        rest = &rest[i + "crate::sys::".len()..];
        if !rest.starts_with("wipe") {
            return Some("crate::sys");
        }
    }
    None
}

#[test]
fn core_modules_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for core in SANS_IO {
        let p = root.join(core);
        assert!(p.exists(), "{core} is listed as a core but does not exist");
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else {
            files.push(p);
        }
    }
    files.sort();
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("#[cfg(test)]") {
                break; // the file's test module may use the real world
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(what) = names_io(line) {
                let at = f.strip_prefix(root).unwrap().display();
                bad.push(format!("{at}:{}: {what}", n + 1));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "I/O in a sans-IO core (take it from the caller instead):\n{}",
        bad.join("\n")
    );
}

#[test]
fn io_names_are_recognised() {
    assert_eq!(
        names_io("let s = std::net::UdpSocket::bind(a)?;"),
        Some("std::net")
    );
    assert_eq!(names_io("unsafe { libc::poll(p, 1, 0) }"), Some("libc::"));
    assert_eq!(
        names_io("crate::sys::random::fill(&mut b);"),
        Some("crate::sys")
    );
    assert_eq!(names_io("crate::sys::wipe::zero(&mut b);"), None);
    assert_eq!(names_io("use core::net::Ipv4Addr;"), None);
    assert_eq!(names_io("let t = now + Duration::from_secs(1);"), None);
}
