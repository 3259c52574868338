//! Reading every file of an AOF back, in the manifest's order: missing files, torn tails
//! (cut off when allowed), progress lines. Each record goes to a `Sink`; the one that
//! applies records through the command table is in `cmd/replay.rs`, so persistence does
//! not depend on the commands.

use std::path::Path;

use log::{info, warn};

use super::load::{Sink, load_file};
use super::manifest::{AofFile, FileKind, Manifest};

/// Applies every file of `manifest` (in `aof_dir`) to `sink` in order and cuts a torn
/// tail of the last one if `allow_truncated`. Returns the number of records applied.
pub fn replay_manifest(
    aof_dir: &Path,
    manifest: &Manifest,
    allow_truncated: bool,
    sink: &mut dyn Sink,
) -> Result<u64, String> {
    let files: Vec<AofFile> = manifest.load_order().cloned().collect();
    let mut commands = 0;
    for (i, f) in files.iter().enumerate() {
        let path = aof_dir.join(&f.name);
        let last = i + 1 == files.len();
        if !path.exists() {
            // Redis tolerates a missing (never written) file only for an empty incr.
            if f.kind == FileKind::Incr {
                warn!(
                    "AOF file {} listed in the manifest is missing; treated as empty",
                    path.display()
                );
                continue;
            }
            return Err(format!(
                "The AOF base file {} listed in the manifest is missing",
                path.display()
            ));
        }
        let rep = load_file(&path, last && allow_truncated, sink).map_err(|e| e.to_string())?;
        commands += rep.commands;
        if let Some(why) = &rep.torn {
            warn!(
                "!!! Warning: the append only file {} ends with a torn write ({why}) at offset {} of {} bytes !!!",
                path.display(),
                rep.valid_len,
                rep.file_len
            );
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| {
                    f.set_len(rep.valid_len)?;
                    f.sync_all()
                })
                .map_err(|e| format!("Can't truncate the torn tail of {}: {e}", path.display()))?;
            warn!(
                "AOF {} loaded anyway because aof-load-truncated is enabled: cut {} bytes of the unfinished last write",
                path.display(),
                rep.file_len - rep.valid_len
            );
        }
        sink.next_file(rep.file_len);
    }
    Ok(commands)
}

/// Total bytes of the files `manifest` names, for progress lines.
pub fn total_size(aof_dir: &Path, manifest: &Manifest) -> u64 {
    manifest
        .load_order()
        .map(|f| std::fs::metadata(aof_dir.join(&f.name)).map_or(0, |m| m.len()))
        .sum()
}

/// Moves a pre-7 single-file AOF into a new AOF directory as its base, as Redis 7 does.
pub fn adopt_single_file(dir: &Path, aof_dir: &Path, filename: &str) -> Result<Manifest, String> {
    let fail = |e: std::io::Error| {
        format!(
            "Can't upgrade the single-file AOF {}: {e}",
            dir.join(filename).display()
        )
    };
    std::fs::create_dir_all(aof_dir).map_err(fail)?;
    std::fs::rename(dir.join(filename), aof_dir.join(filename)).map_err(fail)?;
    let m = Manifest {
        base: Some(AofFile {
            name: filename.to_string(),
            seq: 1,
            kind: FileKind::Base,
        }),
        incrs: Vec::new(),
        history: Vec::new(),
    };
    m.persist(aof_dir, filename).map_err(fail)?;
    info!(
        "Moved the single-file AOF {filename} into {} as its base",
        aof_dir.display()
    );
    Ok(m)
}
