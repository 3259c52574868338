//! Replays the fuzz corpus (`tests/fuzz/corpus/<target>/`) and the crash inputs that were
//! fixed (`tests/fuzz/crashes/<target>/`) through the fuzz entry points, so every input a
//! fuzzer found interesting, and every bug it found, is checked on each `cargo test`
//! without a fuzzer installed.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("resp", ferrokv::fuzz::resp),
    ("aof", ferrokv::fuzz::aof),
    ("listpack", ferrokv::fuzz::listpack),
    ("glob", ferrokv::fuzz::glob),
    ("list", ferrokv::fuzz::list),
    ("set", ferrokv::fuzz::set),
    ("zset", ferrokv::fuzz::zset),
];

/// Runs every file under `dir/<target>/` through its target; returns how many ran.
fn replay(dir: &Path) -> usize {
    let mut n = 0;
    for (name, run) in TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(name)) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            // Name the input if it panics.
            eprintln!("{name}: {}", f.display());
            run(&bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn corpus_and_fixed_crashes_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let n = replay(&root.join("corpus"));
    assert!(n >= TARGETS.len(), "the corpus is missing ({n} files)");
    replay(&root.join("crashes"));
}
