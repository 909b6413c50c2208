//! The fuzz regression corpus (fuzz/corpus, kept by `cargo fuzz cmin`)
//! replayed as ordinary tests, with the same checks as the fuzz targets
//! in fuzz/fuzz_targets (warden::ninep::fuzzing), so CI runs them without libFuzzer.

use std::path::Path;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    assert!(
        v.len() > 10,
        "{} holds only {} inputs",
        dir.display(),
        v.len()
    );
    v
}

#[test]
fn decode_corpus() {
    for data in corpus("ninep_decode") {
        warden::ninep::fuzzing::decode_check(&data);
    }
}

#[test]
fn server_corpus() {
    for data in corpus("ninep_server") {
        warden::ninep::fuzzing::server_check(&data);
    }
}
