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
            if line.starts_with("#[cfg(test)]") {
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
