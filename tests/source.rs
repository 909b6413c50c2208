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
    "src/auth/ed25519.rs",
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

/// The layers of the top-level modules, lowest first: a module may import
/// from its own layer's other modules only where no loop forms (checked
/// below), and from any layer under it, never from one above.
const LAYERS: &[&[&str]] = &[
    &["wire", "json", "admit", "when"],
    &["sys"],
    &["dns"],
    &["config"],
    &["service"],
    &["ninep"],
    &["auth", "uplink"],
    &["daemon"],
    &["cli"],
    &["lib", "main"],
];

/// The two big trees are checked one level down (`auth/keyfs`,
/// `uplink/modem`): their parts must not import each other in a loop.
const SPLIT: &[&str] = &["auth", "uplink"];

/// Import loops kept on purpose, as (from, to) edges with the reason in a
/// comment. None today.
const DELIBERATE: &[(&str, &str)] = &[];

/// The graph node of a module path (`["auth", "keyfs", "store"]`).
fn node(path: &[&str]) -> Option<String> {
    let top = *path.first()?;
    match path.get(1) {
        Some(sub) if SPLIT.contains(&top) => Some(format!("{top}/{sub}")),
        _ => Some(top.to_string()),
    }
}

/// Every module a program (non-test) line of a file names, by
/// `crate::` or `super::` paths, as graph nodes.
fn imports(module: &[&str], line: &str, out: &mut std::collections::BTreeSet<String>) {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let words = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|w| w.chars().take_while(|&c| ident(c)).collect::<String>())
            .take_while(|w| !w.is_empty())
            .collect()
    };
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(ident) {
            continue;
        }
        let w = words(rest);
        let p: Vec<&str> = w.iter().map(String::as_str).collect();
        out.extend(node(&p));
    }
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        if rest[..i].chars().last().is_some_and(ident) {
            rest = &rest[i + 1..];
            continue;
        }
        let mut ups = 0;
        rest = &rest[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        let mut p: Vec<String> = module[..module.len().saturating_sub(ups)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        p.extend(words(rest));
        let p: Vec<&str> = p.iter().map(String::as_str).collect();
        out.extend(node(&p));
    }
}

/// The import graph between modules (see [`node`]): program code only
/// (test files and the test modules at a file's end are left out).
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut graph = std::collections::BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        if name.ends_with("tests.rs") {
            continue;
        }
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut module: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        let me = node(&module.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let mut to = std::collections::BTreeSet::new();
        // Inline modules (`mod lan {` ... `}`, as rustfmt indents them)
        // move `super::` one level down while they last.
        let mut inline: Vec<usize> = Vec::new();
        for line in std::fs::read_to_string(f).unwrap().lines() {
            if line.starts_with("#[cfg(test)]") || line.starts_with("#[cfg(all(test,") {
                break;
            }
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if body.starts_with("//") {
                continue;
            }
            let decl = body.strip_prefix("pub ").unwrap_or(body);
            if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(" {")) {
                module.push(name.to_string());
                inline.push(indent);
                continue;
            }
            if body == "}" && inline.last() == Some(&indent) {
                inline.pop();
                module.pop();
                continue;
            }
            let m: Vec<&str> = module.iter().map(String::as_str).collect();
            imports(&m, line, &mut to);
        }
        to.remove(&me);
        graph
            .entry(me)
            .or_insert_with(std::collections::BTreeSet::new)
            .extend(to);
    }
    graph
}

fn layer(node: &str) -> Option<usize> {
    let top = node.split('/').next().unwrap();
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn modules_import_only_from_below() {
    let graph = import_graph();
    let mut bad = Vec::new();
    for (from, tos) in &graph {
        let Some(lf) = layer(from) else {
            bad.push(format!("{from} is in no layer (add it to LAYERS)"));
            continue;
        };
        for to in tos {
            match layer(to) {
                Some(lt) if lt > lf => bad.push(format!("{from} imports {to}, a layer above it")),
                Some(_) => {}
                None => bad.push(format!("{from} imports {to}, which is in no layer")),
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn no_import_loops() {
    let mut graph = import_graph();
    for (a, b) in DELIBERATE {
        if let Some(tos) = graph.get_mut(*a) {
            tos.remove(*b);
        }
    }
    // Depth-first search; a grey node met again closes a loop.
    fn visit<'a>(
        n: &'a str,
        graph: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        state: &mut std::collections::BTreeMap<&'a str, bool>,
        path: &mut Vec<&'a str>,
        loops: &mut Vec<String>,
    ) {
        match state.get(n) {
            Some(true) => return, // done
            Some(false) => {
                let at = path.iter().position(|p| *p == n).unwrap();
                let mut cycle = path[at..].to_vec();
                cycle.push(n);
                loops.push(cycle.join(" -> "));
                return;
            }
            None => {}
        }
        state.insert(n, false);
        path.push(n);
        for to in graph.get(n).into_iter().flatten() {
            visit(to, graph, state, path, loops);
        }
        path.pop();
        state.insert(n, true);
    }
    let mut state = std::collections::BTreeMap::new();
    let mut loops = Vec::new();
    for n in graph.keys() {
        visit(n, &graph, &mut state, &mut Vec::new(), &mut loops);
    }
    assert!(loops.is_empty(), "import loops:\n{}", loops.join("\n"));
}

#[test]
fn imports_are_recognised() {
    let mut got = std::collections::BTreeSet::new();
    let m = ["auth", "keyfs", "tree"];
    imports(&m, "use crate::auth::admin::answer;", &mut got);
    imports(&m, "use super::shared::SharedKeyfs;", &mut got);
    imports(
        &m,
        "let x = super::super::proto::key::Key::new();",
        &mut got,
    );
    imports(&m, "crate::sys::poll::wait(); my_crate::x();", &mut got);
    let want = ["auth/admin", "auth/keyfs", "auth/proto", "sys"];
    assert_eq!(got.into_iter().collect::<Vec<_>>(), want);
}

/// ARCHITECTURE.md is the map: every module of the import graph (and so
/// every part of `auth/` and `uplink/`) is named in it.
#[test]
fn the_architecture_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = import_graph()
        .into_keys()
        .filter(|n| {
            let last = n.rsplit('/').next().unwrap();
            !map.contains(&format!("{last}/"))
                && !map.contains(&format!("{last}.rs"))
                && !map.contains(&format!("`{last}`"))
        })
        .collect();
    assert!(missing.is_empty(), "not in ARCHITECTURE.md: {missing:?}");
}
