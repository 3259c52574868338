//! Startup replay: finds the AOF (a Redis 7 directory with a manifest, or an older single
//! file to adopt), applies every record through the command table, cuts a torn tail, and
//! leaves the writer appending to the last incr file.

use std::time::Instant;

use log::{info, warn};

use super::Existing;
use super::load::{Sink, load_file};
use super::manifest::{AofFile, FileKind, Manifest};
use crate::cmd::{self, Args, Ctx};
use crate::conn::ClientState;
use crate::resp::reply::Reply;
use crate::server::Server;

/// Connection slot given to the replay client (never a real slot).
pub const REPLAY_SLOT: usize = usize::MAX - 1;

/// Seconds between progress lines while loading.
const PROGRESS_EVERY_SECS: u64 = 3;

/// Applies records to the server as a fake client (no auth, no reply, no logging).
pub struct Replay<'a> {
    pub srv: &'a mut Server,
    cl: ClientState,
    out: Vec<u8>,
    /// Bytes of earlier files, for progress lines.
    done_bytes: u64,
    total_bytes: u64,
    last_log: Instant,
}

impl<'a> Replay<'a> {
    pub fn new(srv: &'a mut Server, total_bytes: u64) -> Replay<'a> {
        Replay {
            srv,
            cl: ClientState::new(0, "aof".into(), String::new(), -1, true),
            out: Vec::with_capacity(256),
            done_bytes: 0,
            total_bytes,
            last_log: Instant::now(),
        }
    }

    /// Starts a new file: each file begins in database 0, as in Redis.
    pub fn next_file(&mut self, prev_len: u64) {
        self.done_bytes += prev_len;
        self.cl.db = 0;
    }
}

impl Sink for Replay<'_> {
    fn apply(&mut self, args: &Args) -> Result<(), String> {
        let Some(c) = cmd::lookup(args.get(0)) else {
            return Err(format!("Unknown command '{}'", args.text(0)));
        };
        if !cmd::arity_ok(c.arity, args.len()) {
            return Err(format!("Wrong number of arguments for '{}'", c.name));
        }
        self.out.clear();
        let mut ctx = Ctx {
            srv: &mut *self.srv,
            cl: &mut self.cl,
            out: Reply::new(&mut self.out, false),
            slot: REPLAY_SLOT,
        };
        // An error reply (a command Redis logged that fails here) is not fatal, as in Redis.
        let _ = (c.handler)(&mut ctx, args);
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
                self.srv.ks.dbs.iter().map(|d| d.len()).sum::<usize>()
            );
        }
    }
}

impl Server {
    /// Loads the AOF at startup (when `appendonly yes`) and starts logging. An error is
    /// fatal: the message names the file, the offset and the repair.
    pub fn load_aof(&mut self) -> Result<(), String> {
        let dir = self.config.dir.clone();
        let aof_dir = self.aof.aof_dir.clone();
        let filename = self.aof.filename.clone();
        let manifest = match super::find_existing(&aof_dir, &dir, &filename) {
            Existing::None => {
                self.aof.start_fresh().map_err(|e| {
                    format!("Can't create the AOF directory {}: {e}", aof_dir.display())
                })?;
                self.ks.set_log_expired(true);
                info!(
                    "Created the AOF directory {} (empty dataset)",
                    aof_dir.display()
                );
                return Ok(());
            }
            Existing::SingleFile => adopt_single_file(&dir, &aof_dir, &filename)?,
            Existing::Manifest => Manifest::load(&aof_dir, &filename)
                .map_err(|e| format!("Can't read the AOF manifest: {e}"))?
                .ok_or("The AOF manifest disappeared")?,
        };
        self.replay_manifest(&manifest)?;
        self.aof
            .open_after_load(manifest)
            .map_err(|e| format!("Can't open the append only file for writing: {e}"))?;
        self.ks.set_log_expired(true);
        Ok(())
    }

    /// Applies every file of `manifest` in order and cuts a torn tail of the last one.
    pub fn replay_manifest(&mut self, manifest: &Manifest) -> Result<(), String> {
        let aof_dir = self.aof.aof_dir.clone();
        let files: Vec<AofFile> = manifest.load_order().cloned().collect();
        let total: u64 = files
            .iter()
            .map(|f| std::fs::metadata(aof_dir.join(&f.name)).map_or(0, |m| m.len()))
            .sum();
        let allow_truncated = self.config.get("aof-load-truncated") != Some("no");
        let start = Instant::now();
        let dirty = self.dirty;
        self.loading = true;
        let mut replay = Replay::new(self, total);
        let mut result = Ok(());
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
                result = Err(format!(
                    "The AOF base file {} listed in the manifest is missing",
                    path.display()
                ));
                break;
            }
            match load_file(&path, last && allow_truncated, &mut replay) {
                Ok(rep) => {
                    commands += rep.commands;
                    if let Some(why) = &rep.torn {
                        warn!(
                            "!!! Warning: the append only file {} ends with a torn write ({why}) at offset {} of {} bytes !!!",
                            path.display(),
                            rep.valid_len,
                            rep.file_len
                        );
                        if let Err(e) = std::fs::OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .and_then(|f| {
                                f.set_len(rep.valid_len)?;
                                f.sync_all()
                            })
                        {
                            result = Err(format!(
                                "Can't truncate the torn tail of {}: {e}",
                                path.display()
                            ));
                            break;
                        }
                        warn!(
                            "AOF {} loaded anyway because aof-load-truncated is enabled: cut {} bytes of the unfinished last write",
                            path.display(),
                            rep.file_len - rep.valid_len
                        );
                    }
                    replay.next_file(rep.file_len);
                }
                Err(e) => {
                    result = Err(e.to_string());
                    break;
                }
            }
        }
        drop(replay);
        self.loading = false;
        self.dirty = dirty;
        result?;
        let keys: usize = self.ks.dbs.iter().map(|d| d.len()).sum();
        let secs = start.elapsed().as_secs_f64();
        super::log_loaded(keys, total, secs);
        log::debug!("AOF replay applied {commands} records");
        Ok(())
    }
}

/// Moves a pre-7 single-file AOF into a new AOF directory as its base, as Redis 7 does.
fn adopt_single_file(
    dir: &std::path::Path,
    aof_dir: &std::path::Path,
    filename: &str,
) -> Result<Manifest, String> {
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
