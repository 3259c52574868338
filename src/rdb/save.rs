//! Writing an RDB file without fork: SAVE, BGSAVE and the `save` points.
//!
//! A save owns a snapshot of the keyspace (see `keyspace/snapshot.rs`), exactly as the AOF
//! rewrite does, and writes it from inside the event loop a slice at a time while clients
//! go on: a key a command is about to change is written first in its pre-change form
//! (`copy_before_write`), a pending key that is removed is set aside and written from
//! there. So the file holds the dataset of the moment the save began, no write waits for
//! it and no memory is doubled (only the keys changed meanwhile are copied, one at a time).
//!
//! The file is `temp-<pid>-<n>.rdb` in `dir` until it is complete; a helper thread then
//! fsyncs it and renames it over `dbfilename`, so a crash at any point leaves the previous
//! file whole. FLUSHALL, FLUSHDB and SWAPDB break the snapshot: the save fails (as a
//! Redis BGSAVE that a FLUSHALL killed does) and the next save point tries again.
//!
//! A save can also produce a stream instead of a file: a replica's full sync takes the
//! bytes as they come (`take_output`) and sends them on its connection, so the dataset
//! never sits whole in memory or on disk.
//!
//! The RDB version is 10 (Redis 7.0, so every Redis 7 loads the file) unless a hash with
//! field deadlines is part of the snapshot, which needs 12 (Redis 7.4 and 8).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{info, warn};

use super::dump::{RDB_VERSION_7_0, RDB_VERSION_HFE};
use super::file;
use super::write::Writer;
use crate::keyspace::snapshot::Snapshot;
use crate::keyspace::{Entry, Keyspace};

/// Time a save gets per loop iteration while clients are active, and when idle (as the
/// AOF rewrite's slices).
const SLICE_BUSY: Duration = Duration::from_micros(100);
const SLICE_IDLE: Duration = Duration::from_micros(1000);
/// Keys written between two clock reads.
const KEYS_PER_CLOCK: usize = 32;
/// Buffered bytes at which the temp file is written.
const WRITE_AT: usize = 128 * 1024;

/// Where a save is.
enum Phase {
    Writing,
    /// The helper thread fsyncs and renames the file.
    Syncing(JoinHandle<io::Result<()>>),
}

/// How a save ended.
#[derive(Debug)]
pub struct Ended {
    pub ok: bool,
    pub keys: u64,
    pub bytes: u64,
    pub secs: f64,
    /// A stream's last bytes, not yet taken (its footer among them).
    pub tail: Vec<u8>,
}

/// What the file should say about the server (aux fields).
pub struct Aux {
    pub redis_ver: &'static str,
    pub aof_base: bool,
    /// Replication ID and offset, written so a restarted replica can resume (later).
    pub repl: Option<(String, i64)>,
}

/// Where the bytes go.
enum Out {
    /// A temp file, renamed over `target` once complete and durable.
    File {
        file: File,
        tmp: PathBuf,
        target: PathBuf,
    },
    /// The caller takes them (`take_output`).
    Stream,
}

/// A save in progress.
pub struct Save {
    snap: Snapshot,
    w: Writer<Vec<u8>>,
    out: Out,
    phase: Phase,
    /// Database the file's keys go to now (-1: none selected yet).
    selected: i64,
    /// Databases already announced with RESIZEDB.
    announced: Vec<bool>,
    /// Key and deadline counts at the start, for RESIZEDB.
    sizes: Vec<(usize, usize)>,
    started: Instant,
    pub keys: u64,
    pub bytes: u64,
    error: Option<io::Error>,
}

impl Save {
    /// Starts a save of the whole keyspace to `target` (the temp file goes beside it).
    pub fn start(ks: &mut Keyspace, target: &Path, aux: &Aux, now: i64) -> io::Result<Save> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = target.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!("temp-{}-{n}.rdb", std::process::id()));
        let file = File::create(&tmp)?;
        let out = Out::File {
            file,
            tmp,
            target: target.to_path_buf(),
        };
        Self::begin(ks, out, aux, now)
    }

    /// Starts a save whose bytes the caller takes as they are produced (`take_output`).
    pub fn start_stream(ks: &mut Keyspace, aux: &Aux, now: i64) -> Save {
        Self::begin(ks, Out::Stream, aux, now).expect("writing to memory")
    }

    fn begin(ks: &mut Keyspace, out: Out, aux: &Aux, now: i64) -> io::Result<Save> {
        let version = if ks.dbs.iter().any(|d| d.hexpires_len() > 0) {
            RDB_VERSION_HFE
        } else {
            RDB_VERSION_7_0
        };
        let mut w = Writer::new(Vec::with_capacity(WRITE_AT * 2));
        let ctime = (now / 1000).to_string();
        let used = crate::alloc::allocated().to_string();
        let mut fields: Vec<(&str, Vec<u8>)> = vec![
            ("redis-ver", aux.redis_ver.as_bytes().to_vec()),
            ("redis-bits", b"64".to_vec()),
            ("ctime", ctime.into_bytes()),
            ("used-mem", used.into_bytes()),
        ];
        if let Some((id, off)) = &aux.repl {
            fields.push(("repl-stream-db", b"0".to_vec()));
            fields.push(("repl-id", id.as_bytes().to_vec()));
            fields.push(("repl-offset", off.to_string().into_bytes()));
        }
        fields.push(("aof-base", if aux.aof_base { b"1" } else { b"0" }.to_vec()));
        let fields: Vec<(&str, &[u8])> = fields.iter().map(|(k, v)| (*k, &v[..])).collect();
        file::write_header(&mut w, version, &fields)?;
        let sizes = ks.dbs.iter().map(|d| (d.len(), d.expires_len())).collect();
        let snap = ks.snapshot_begin();
        Ok(Save {
            snap,
            w,
            out,
            phase: Phase::Writing,
            selected: -1,
            announced: vec![false; ks.dbs.len()],
            sizes,
            started: Instant::now(),
            keys: 0,
            bytes: 0,
            error: None,
        })
    }

    /// Seconds since the save began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Copy-before-write: writes `key` of `db` now if the save has not yet.
    pub fn copy_before_write(&mut self, ks: &mut Keyspace, db: usize, key: &[u8], now: i64) {
        if let Some((k, e)) = ks.snapshot_take(&self.snap, db, key) {
            let (k, e) = (k.to_vec(), e.clone());
            self.write_entry(db, &k, &e, now);
        }
    }

    /// Bytes buffered (left out of `maxmemory` accounting, like the AOF's buffer).
    pub fn buffered(&self) -> usize {
        self.w.inner().capacity()
    }

    /// Does one slice; gives the save back while it runs. `busy`: clients are active.
    pub fn step(mut self, ks: &mut Keyspace, now: i64, busy: bool) -> Result<Save, Ended> {
        if ks.snapshot_broken(&self.snap) {
            warn!("The dataset was flushed or swapped during the RDB save: the save is abandoned");
            return Err(self.abandon(ks));
        }
        match std::mem::replace(&mut self.phase, Phase::Writing) {
            Phase::Syncing(h) if !h.is_finished() => {
                self.phase = Phase::Syncing(h);
                Ok(self)
            }
            Phase::Syncing(h) => match h.join() {
                Ok(Ok(())) => {
                    let ended = self.ended(true);
                    ks.snapshot_end(self.snap);
                    info!(
                        "DB saved on disk: {} keys, {} bytes in {:.3} s",
                        ended.keys, ended.bytes, ended.secs
                    );
                    Err(ended)
                }
                Ok(Err(e)) => {
                    warn!("Can't save the RDB file: {e}");
                    Err(self.abandon(ks))
                }
                Err(_) => Err(self.abandon(ks)),
            },
            Phase::Writing => {
                let deadline = Instant::now() + if busy { SLICE_BUSY } else { SLICE_IDLE };
                let done = self.write_slice(ks, now, deadline);
                if self.error.is_none()
                    && (done || self.w.inner().len() >= WRITE_AT)
                    && let Err(e) = self.flush(done)
                {
                    self.error = Some(e);
                }
                if let Some(e) = self.error.take() {
                    warn!("Error writing the RDB file: {e}");
                    return Err(self.abandon(ks));
                }
                if done {
                    match self.install_in_background() {
                        Some(h) => self.phase = Phase::Syncing(h),
                        None => {
                            // A stream is complete once its last bytes are produced.
                            let tail = self.take_output();
                            let mut ended = self.ended(true);
                            ended.tail = tail;
                            ks.snapshot_end(self.snap);
                            return Err(ended);
                        }
                    }
                }
                Ok(self)
            }
        }
    }

    /// Writes pending keys until the deadline; true when every key is written.
    fn write_slice(&mut self, ks: &mut Keyspace, now: i64, deadline: Instant) -> bool {
        for (db, k, e, clock) in ks.snapshot_spilled(&self.snap) {
            self.write_entry(db, &k, &e, if clock == 0 { now } else { clock });
        }
        let mut n = 0;
        while let Some((db, k, e)) = ks.snapshot_next(&mut self.snap) {
            // Borrow the entry while writing: no copy of the value.
            write_entry_to(
                &mut self.w,
                &mut self.selected,
                &mut self.announced,
                &self.sizes,
                db,
                k,
                e,
                now,
                &mut self.keys,
            )
            .unwrap_or_else(|e| self.error = Some(e));
            n += 1;
            if n % KEYS_PER_CLOCK == 0
                && (Instant::now() >= deadline || self.w.inner().len() >= WRITE_AT)
            {
                return false;
            }
        }
        ks.snapshot_done(&self.snap)
    }

    fn write_entry(&mut self, db: usize, key: &[u8], e: &Entry, now: i64) {
        if let Err(err) = write_entry_to(
            &mut self.w,
            &mut self.selected,
            &mut self.announced,
            &self.sizes,
            db,
            key,
            e,
            now,
            &mut self.keys,
        ) {
            self.error = Some(err);
        }
    }

    /// Writes the buffer to the temp file (a stream keeps it for `take_output`); `last`:
    /// the footer first.
    fn flush(&mut self, last: bool) -> io::Result<()> {
        if last {
            file::write_footer(&mut self.w)?;
        }
        if let Out::File { file, .. } = &mut self.out {
            let buf = self.w.inner_mut();
            file.write_all(buf)?;
            self.bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    }

    /// The bytes of a stream produced so far (empty for a file).
    pub fn take_output(&mut self) -> Vec<u8> {
        let v = std::mem::take(self.w.inner_mut());
        self.bytes += v.len() as u64;
        v
    }

    /// Starts the helper thread that makes the file durable and puts it in place (None
    /// for a stream: nothing to do).
    fn install_in_background(&self) -> Option<JoinHandle<io::Result<()>>> {
        let Out::File { file, tmp, target } = &self.out else {
            return None;
        };
        let f = file.try_clone();
        let (tmp, target) = (tmp.clone(), target.clone());
        Some(std::thread::spawn(move || {
            f?.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            // The rename itself must survive a crash: fsync the directory.
            if let Some(dir) = target.parent() {
                let d = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                File::open(d)?.sync_all()?;
            }
            Ok(())
        }))
    }

    fn ended(&self, ok: bool) -> Ended {
        Ended {
            ok,
            keys: self.keys,
            bytes: self.bytes,
            secs: self.started.elapsed().as_secs_f64(),
            tail: Vec::new(),
        }
    }

    /// Drops the save's work: its temp file and snapshot.
    fn abandon(mut self, ks: &mut Keyspace) -> Ended {
        if let Phase::Syncing(h) = std::mem::replace(&mut self.phase, Phase::Writing) {
            let _ = h.join();
        }
        let ended = self.ended(false);
        ks.snapshot_end(self.snap);
        if let Out::File { tmp, .. } = &self.out {
            let _ = std::fs::remove_file(tmp);
        }
        ended
    }

    /// Cancels the save (shutdown, DEBUG RELOAD...).
    pub fn cancel(self, ks: &mut Keyspace) {
        self.abandon(ks);
    }
}

/// Writes one key (if it is still live at `now`), preceded by the SELECTDB (and, the first
/// time, RESIZEDB) its database needs.
#[allow(clippy::too_many_arguments)]
fn write_entry_to(
    w: &mut Writer<Vec<u8>>,
    selected: &mut i64,
    announced: &mut [bool],
    sizes: &[(usize, usize)],
    db: usize,
    key: &[u8],
    e: &Entry,
    now: i64,
    keys: &mut u64,
) -> io::Result<()> {
    if e.gone(now) {
        return Ok(());
    }
    if *selected != db as i64 {
        if announced[db] {
            w.u8(file::OP_SELECTDB)?;
            w.len(db as u64)?;
        } else {
            let (n, x) = sizes[db];
            file::write_select(w, db, n, x)?;
            announced[db] = true;
        }
        *selected = db as i64;
    }
    file::write_key(w, key, e, now.max(0) as u64)?;
    *keys += 1;
    Ok(())
}
