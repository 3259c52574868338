//! `ferrokv --check-aof [--fix] PATH`: the operator's tool for a damaged AOF (like
//! redis-check-aof). PATH is an AOF directory, its manifest, or a single file. Each file is
//! read with the same parser replay uses; the report says how many records and batches are
//! good and where damage starts. `--fix` saves `<file>.bak` and truncates the file at the
//! start of the damage: the last good batch is kept, nothing after it.

use std::path::{Path, PathBuf};

use super::load::{AofError, CheckOnly, load_file};
use super::manifest::Manifest;

/// Runs the check; returns the process exit code (0: valid or fixed).
pub fn run(args: &[String]) -> i32 {
    let mut fix = false;
    let mut path = None;
    for a in args {
        match a.as_str() {
            "--fix" => fix = true,
            p if path.is_none() => path = Some(PathBuf::from(p)),
            _ => {
                eprintln!(
                    "Usage: ferrokv --check-aof [--fix] <file.aof|file.manifest|appendonlydir>"
                );
                return 1;
            }
        }
    }
    let Some(path) = path else {
        eprintln!("Usage: ferrokv --check-aof [--fix] <file.aof|file.manifest|appendonlydir>");
        return 1;
    };
    let files = match files_of(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut status = 0;
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        match check_file(f, last, fix) {
            Ok(()) => {}
            Err(()) => {
                status = 1;
                break;
            }
        }
    }
    if status == 0 {
        println!("AOF is valid");
    }
    status
}

/// The files to check, in load order.
fn files_of(path: &Path) -> Result<Vec<PathBuf>, String> {
    let manifest_of_dir = |dir: &Path| -> Result<PathBuf, String> {
        let found = std::fs::read_dir(dir)
            .map_err(|e| format!("Cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "manifest")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("temp-"))
            });
        found.ok_or_else(|| format!("No manifest in {}", dir.display()))
    };
    let manifest_path = if path.is_dir() {
        manifest_of_dir(path)?
    } else if path.extension().is_some_and(|x| x == "manifest") {
        path.to_path_buf()
    } else {
        if !path.exists() {
            return Err(format!(
                "Cannot open {}: No such file or directory",
                path.display()
            ));
        }
        return Ok(vec![path.to_path_buf()]);
    };
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| format!("Cannot read {}: {e}", manifest_path.display()))?;
    let m = Manifest::parse(&text)
        .map_err(|e| format!("Invalid manifest {}: {e}", manifest_path.display()))?;
    println!("Checking the AOF described by {}", manifest_path.display());
    Ok(m.load_order().map(|f| dir.join(&f.name)).collect())
}

/// Checks one file, fixing it if asked and allowed. Prints what it found.
fn check_file(path: &Path, last: bool, fix: bool) -> Result<(), ()> {
    let shown = path.display();
    // Torn tails are reported, not silently accepted, so ask the loader to refuse them.
    match load_file(path, false, &mut CheckOnly) {
        Ok(rep) => {
            println!(
                "{shown}: {} bytes, {} batches, {} records: OK",
                rep.file_len, rep.batches, rep.commands
            );
            Ok(())
        }
        Err(AofError::Truncated { offset, reason, .. }) => {
            println!("{shown}: torn tail at offset {offset} ({reason})");
            cut(path, offset, last, fix)
        }
        Err(AofError::Corrupt { offset, reason, .. }) => {
            println!("{shown}: corrupt at offset {offset} ({reason})");
            cut(path, offset, last, fix)
        }
        Err(e) => {
            println!("{shown}: {e}");
            Err(())
        }
    }
}

/// Truncates `path` at `offset` after saving a backup, if `--fix` was given.
fn cut(path: &Path, offset: u64, last: bool, fix: bool) -> Result<(), ()> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} bytes from offset {offset} to the end ({len}) would be removed",
        len - offset.min(len)
    );
    if !fix {
        println!(
            "AOF {} is not valid. Use the --fix option to try fixing it.",
            path.display()
        );
        return Err(());
    }
    if !last {
        println!(
            "Only the last file of an AOF can be cut: later files build on this one. Restore it from a backup."
        );
        return Err(());
    }
    let mut bak = path.as_os_str().to_owned();
    bak.push(".bak");
    if let Err(e) = std::fs::copy(path, &bak) {
        println!(
            "Could not save a backup to {}: {e}; nothing changed",
            Path::new(&bak).display()
        );
        return Err(());
    }
    let r = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(offset)?;
            f.sync_all()
        });
    match r {
        Ok(()) => {
            println!(
                "Saved a backup to {}; cut {} to {offset} bytes",
                Path::new(&bak).display(),
                path.display()
            );
            println!("Successfully truncated AOF {}", path.display());
            Ok(())
        }
        Err(e) => {
            println!("Failed to truncate {}: {e}", path.display());
            Err(())
        }
    }
}
