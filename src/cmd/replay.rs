//! Loading the AOF through the command table: at startup and for DEBUG LOADAOF / RELOAD.
//!
//! `aof/` reads the files and checks them; here each record is applied by its handler, as
//! a client with no connection whose replies are dropped. Nothing is recorded while
//! loading and nothing expires (the log holds what happened next), so replaying a file
//! rebuilds exactly the dataset that wrote it.

use std::time::Instant;

use log::{debug, info};

use super::{Args, Ctx, NoClients};
use crate::aof::load::Sink;
use crate::aof::manifest::Manifest;
use crate::aof::{Existing, find_existing, log_loaded, replay};
use crate::client::ClientState;
use crate::engine::Engine;
use crate::resp::reply::Reply;

/// Seconds between progress lines while loading.
const PROGRESS_EVERY_SECS: u64 = 3;

/// Applies records to the engine as a fake client (no auth, no reply, no recording).
struct Replay<'a> {
    eng: &'a mut Engine,
    cl: ClientState,
    out: Vec<u8>,
    /// Bytes of earlier files, for progress lines.
    done_bytes: u64,
    total_bytes: u64,
    last_log: Instant,
}

impl Sink for Replay<'_> {
    fn apply(&mut self, args: &Args) -> Result<(), String> {
        if super::lookup(args.get(0)).is_none() {
            return Err(format!("Unknown command '{}'", args.text(0)));
        }
        let found = super::resolve(args).map_err(|e| match e {
            crate::error::CmdError::Arity(name) => {
                format!("Wrong number of arguments for '{name}'")
            }
            _ => format!(
                "Unknown subcommand '{}' of '{}'",
                args.text(1),
                args.text(0)
            ),
        })?;
        self.out.clear();
        let mut ctx = Ctx {
            eng: &mut *self.eng,
            cl: &mut self.cl,
            out: Reply::new(&mut self.out, false),
            clients: &mut NoClients,
        };
        // An error reply (a command Redis logged that fails here) is not fatal, as in Redis.
        let _ = (found.cmd.handler)(&mut ctx, args);
        Ok(())
    }

    fn progress(&mut self, bytes: u64) {
        if self.last_log.elapsed().as_secs() >= PROGRESS_EVERY_SECS {
            self.last_log = Instant::now();
            let done = self.done_bytes + bytes;
            info!(
                "Loading the append only file: {:.1} MB of {:.1} MB ({:.0}%), {} keys so far",
                done as f64 / 1048576.0,
                self.total_bytes as f64 / 1048576.0,
                done as f64 * 100.0 / self.total_bytes.max(1) as f64,
                self.eng.ks.dbs.iter().map(|d| d.len()).sum::<usize>()
            );
        }
    }

    /// An RDB base (Redis 7's `aof-use-rdb-preamble yes`) goes straight into the
    /// keyspace; its expired keys stay, for the log after it to deal with.
    fn load_rdb(&mut self, path: &std::path::Path) -> Result<u64, String> {
        self.eng.load_rdb_file(path, true).map(|s| s.bytes)
    }

    /// Each file begins in database 0, as in Redis.
    fn next_file(&mut self, len: u64) {
        self.done_bytes += len;
        self.cl.db = 0;
    }
}

/// Loads the AOF at startup (when `appendonly yes`) and starts logging. An error is
/// fatal: the message names the file, the offset and the repair.
pub fn load_at_startup(eng: &mut Engine) -> Result<(), String> {
    let dir = eng.config.dir.clone();
    let aof_dir = eng.aof.aof_dir.clone();
    let filename = eng.aof.filename.clone();
    let manifest = match find_existing(&aof_dir, &dir, &filename) {
        Existing::None => {
            // Redis 7's rule: with `appendonly yes` and no AOF yet, a dump.rdb is the
            // data; it becomes the first base.
            let rdb = dir.join(eng.config.dbfilename());
            let had_rdb = rdb.exists();
            if had_rdb {
                eng.set_loading(true);
                let r = eng.load_rdb_file(&rdb, false);
                eng.set_loading(false);
                r?;
            }
            eng.aof.start_fresh().map_err(|e| {
                format!("Can't create the AOF directory {}: {e}", aof_dir.display())
            })?;
            eng.refresh_stream();
            if had_rdb {
                eng.rewrite_now().map_err(|e| {
                    format!("Can't write the first AOF base from {}: {e}", rdb.display())
                })?;
                info!(
                    "Created the AOF directory {} from {}",
                    aof_dir.display(),
                    rdb.display()
                );
            } else {
                info!(
                    "Created the AOF directory {} (empty dataset)",
                    aof_dir.display()
                );
            }
            return Ok(());
        }
        Existing::SingleFile => replay::adopt_single_file(&dir, &aof_dir, &filename)?,
        Existing::Manifest => Manifest::load(&aof_dir, &filename)
            .map_err(|e| format!("Can't read the AOF manifest: {e}"))?
            .ok_or("The AOF manifest disappeared")?,
    };
    load(eng, &manifest)?;
    eng.aof
        .open_after_load(manifest)
        .map_err(|e| format!("Can't open the append only file for writing: {e}"))?;
    eng.refresh_stream();
    Ok(())
}

/// Loads `dbfilename` from `dir` at startup when `appendonly no` (a missing file is an
/// empty dataset). An error is fatal, as in Redis.
pub fn load_rdb_at_startup(eng: &mut Engine) -> Result<(), String> {
    let rdb = eng.config.dir.join(eng.config.dbfilename());
    if !rdb.exists() {
        return Ok(());
    }
    eng.set_loading(true);
    let r = eng.load_rdb_file(&rdb, false);
    eng.set_loading(false);
    r.map(|_| ())
}

/// Empties the dataset and loads it again from the AOF (DEBUG LOADAOF).
pub fn reload(eng: &mut Engine) -> Result<(), String> {
    let manifest = eng.prepare_reload()?;
    load(eng, &manifest)
}

/// Applies every file of `manifest` to the engine.
fn load(eng: &mut Engine, manifest: &Manifest) -> Result<(), String> {
    let aof_dir = eng.aof.aof_dir.clone();
    let total = replay::total_size(&aof_dir, manifest);
    let allow_truncated = eng.config.get("aof-load-truncated") != Some("no");
    let start = Instant::now();
    let dirty = eng.dirty;
    eng.set_loading(true);
    let mut sink = Replay {
        eng: &mut *eng,
        cl: ClientState::new(0, "aof".into(), String::new(), -1, true),
        out: Vec::with_capacity(256),
        done_bytes: 0,
        total_bytes: total,
        last_log: Instant::now(),
    };
    let result = replay::replay_manifest(&aof_dir, manifest, allow_truncated, &mut sink);
    eng.set_loading(false);
    eng.dirty = dirty;
    let commands = result?;
    let keys: usize = eng.ks.dbs.iter().map(|d| d.len()).sum();
    log_loaded(keys, total, start.elapsed().as_secs_f64());
    debug!("AOF replay applied {commands} records");
    Ok(())
}
