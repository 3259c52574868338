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

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{info, warn};

use super::dump::{RDB_VERSION_7_0, RDB_VERSION_HFE};
use super::file;
use super::object::{Plan, is_big, write_head, write_items};
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
/// Elements of a big value written per piece: tens of microseconds, so a slice that is
/// writing one checks its deadline often.
const PIECE: usize = 512;

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

/// The RDB being produced and what it needs to know to go on: the database its keys
/// go to, and which databases it announced.
struct Sink {
    w: Writer<Vec<u8>>,
    /// Database the file's keys go to now (-1: none selected yet).
    selected: i64,
    /// Databases already announced with RESIZEDB.
    announced: Vec<bool>,
    /// Key and deadline counts at the start, for RESIZEDB.
    sizes: Vec<(usize, usize)>,
    keys: u64,
}

/// A big value being written in pieces. While it is, the RDB's next bytes must be its
/// own: other keys wait in `Save::queue`.
struct Job {
    db: usize,
    key: Vec<u8>,
    /// The save's own copy. None while the live entry is written: the snapshot holds the
    /// key, so a change or removal hands its current form over first, and it lands here.
    owned: Option<Entry>,
    plan: Plan,
    pos: usize,
    /// The clock fields are judged by, the same for every piece.
    now: u64,
}

/// A save in progress.
pub struct Save {
    snap: Snapshot,
    sink: Sink,
    out: Out,
    phase: Phase,
    job: Option<Job>,
    /// Keys handed over (copy-before-write, removal) while a job runs: written after it.
    queue: VecDeque<(usize, Vec<u8>, Entry, i64)>,
    started: Instant,
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
            sink: Sink {
                w,
                selected: -1,
                announced: vec![false; ks.dbs.len()],
                sizes,
                keys: 0,
            },
            out,
            phase: Phase::Writing,
            job: None,
            queue: VecDeque::new(),
            started: Instant::now(),
            bytes: 0,
            error: None,
        })
    }

    /// Keys written so far.
    pub fn keys(&self) -> u64 {
        self.sink.keys
    }

    /// Seconds since the save began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Copy-before-write: writes `key` of `db` now if the save has not yet.
    pub fn copy_before_write(&mut self, ks: &mut Keyspace, db: usize, key: &[u8], now: i64) {
        if let Some((k, e)) = ks.snapshot_take(&self.snap, db, key) {
            let (k, e) = (k.to_vec(), e.clone());
            self.handed_over(db, k, e, now);
        }
    }

    /// A key's pre-change form, handed over by the snapshot: the copy the running job
    /// continues from, or queued while a job runs, or written now.
    fn handed_over(&mut self, db: usize, k: Vec<u8>, e: Entry, now: i64) {
        if let Some(j) = self.job.as_mut() {
            if j.owned.is_none() && j.db == db && j.key == k {
                j.owned = Some(e);
            } else {
                self.queue.push_back((db, k, e, now));
            }
            return;
        }
        if is_big(&e.val) && !e.gone(now) {
            self.queue.push_back((db, k, e, now));
            return;
        }
        self.write_entry(db, &k, &e, now);
    }

    /// Keys waiting while a job ran, and the values being written in pieces: true when
    /// nothing is left of them (false: the deadline came first).
    fn run_jobs(&mut self, ks: &mut Keyspace, deadline: Instant) -> bool {
        loop {
            if let Some(j) = self.job.as_mut() {
                let live;
                let val = match &j.owned {
                    Some(e) => &e.val,
                    None => match ks.snapshot_held(&self.snap, j.db, &j.key) {
                        Some(e) => {
                            live = e;
                            &live.val
                        }
                        None => {
                            // Neither held nor handed over: cannot happen, but an RDB
                            // cut short must not be written.
                            self.error =
                                Some(io::Error::other("a value written in pieces vanished"));
                            return true;
                        }
                    },
                };
                match write_items(&mut self.sink.w, val, &j.plan, j.pos, PIECE, j.now) {
                    Ok(next) => j.pos = next,
                    Err(e) => {
                        self.error = Some(e);
                        return true;
                    }
                }
                if j.pos >= j.plan.total {
                    if j.owned.is_none() {
                        ks.snapshot_release(&self.snap, j.db);
                    }
                    // The save's own copy of a big value is freed off the loop, as the
                    // AOF rewrite frees its copies.
                    if let Some(job) = self.job.take()
                        && let Some(e) = job.owned
                    {
                        crate::lazyfree::free_value(e.val, true);
                    }
                }
            } else if let Some((db, k, e, now)) = self.queue.pop_front() {
                if is_big(&e.val) && !e.gone(now) {
                    self.start_job(db, k, e, now);
                } else {
                    self.write_entry(db, &k, &e, now);
                }
            } else {
                return true;
            }
            if Instant::now() >= deadline || self.sink.w.inner().len() >= WRITE_AT {
                return self.job.is_none() && self.queue.is_empty();
            }
        }
    }

    /// Writes the head of a big value (the save's own copy) and starts writing it in
    /// pieces.
    fn start_job(&mut self, db: usize, key: Vec<u8>, owned: Entry, now: i64) {
        let clock = now.max(0) as u64;
        match self.sink.key_head(db, &key, &owned, clock) {
            Ok(plan) => {
                self.job = Some(Job {
                    db,
                    key,
                    owned: Some(owned),
                    plan,
                    pos: 0,
                    now: clock,
                })
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Bytes buffered (left out of `maxmemory` accounting, like the AOF's buffer).
    pub fn buffered(&self) -> usize {
        self.sink.w.inner().capacity()
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
                    && (done || self.sink.w.inner().len() >= WRITE_AT)
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
            self.handed_over(db, k.to_vec(), e, if clock == 0 { now } else { clock });
        }
        if !self.run_jobs(ks, deadline) {
            return false;
        }
        let mut n = 0;
        while let Some((db, k, e)) = ks.snapshot_next(&mut self.snap) {
            if is_big(&e.val) && !e.gone(now) {
                // Written in pieces from the live value, which the snapshot holds.
                let key = k.to_vec();
                let clock = now.max(0) as u64;
                match self.sink.key_head(db, &key, e, clock) {
                    Ok(plan) => {
                        self.job = Some(Job {
                            db,
                            key: key.clone(),
                            owned: None,
                            plan,
                            pos: 0,
                            now: clock,
                        })
                    }
                    Err(err) => {
                        self.error = Some(err);
                        return false;
                    }
                }
                ks.snapshot_hold(&self.snap, db, &key);
                if !self.run_jobs(ks, deadline) {
                    return false;
                }
                continue;
            }
            // Borrow the entry while writing: no copy of the value.
            if let Err(err) = self.sink.key(db, k, e, now) {
                self.error = Some(err);
                return false;
            }
            n += 1;
            if n % KEYS_PER_CLOCK == 0
                && (Instant::now() >= deadline || self.sink.w.inner().len() >= WRITE_AT)
            {
                return false;
            }
        }
        // Entries set aside after their database was walked are written on a later step.
        ks.snapshot_done(&self.snap) && self.job.is_none() && self.queue.is_empty()
    }

    fn write_entry(&mut self, db: usize, key: &[u8], e: &Entry, now: i64) {
        if let Err(err) = self.sink.key(db, key, e, now) {
            self.error = Some(err);
        }
    }

    /// Writes the buffer to the temp file (a stream keeps it for `take_output`); `last`:
    /// the footer first.
    fn flush(&mut self, last: bool) -> io::Result<()> {
        if last {
            file::write_footer(&mut self.sink.w)?;
        }
        if let Out::File { file, .. } = &mut self.out {
            let buf = self.sink.w.inner_mut();
            file.write_all(buf)?;
            self.bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    }

    /// The bytes of a stream produced so far (empty for a file).
    pub fn take_output(&mut self) -> Vec<u8> {
        let v = std::mem::take(self.sink.w.inner_mut());
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
            keys: self.sink.keys,
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

impl Sink {
    /// Selects `db` in the file: SELECTDB, and RESIZEDB the first time.
    fn select(&mut self, db: usize) -> io::Result<()> {
        if self.selected != db as i64 {
            if self.announced[db] {
                self.w.u8(file::OP_SELECTDB)?;
                self.w.len(db as u64)?;
            } else {
                let (n, x) = self.sizes[db];
                file::write_select(&mut self.w, db, n, x)?;
                self.announced[db] = true;
            }
            self.selected = db as i64;
        }
        Ok(())
    }

    /// Writes one key whole (if it is still live at `now`).
    fn key(&mut self, db: usize, key: &[u8], e: &Entry, now: i64) -> io::Result<()> {
        if e.gone(now) {
            return Ok(());
        }
        self.select(db)?;
        file::write_key(&mut self.w, key, e, now.max(0) as u64)?;
        self.keys += 1;
        Ok(())
    }

    /// Writes a big key's deadline, type, name and the head of its value; the pieces
    /// follow (`write_items`).
    fn key_head(&mut self, db: usize, key: &[u8], e: &Entry, now: u64) -> io::Result<Plan> {
        self.select(db)?;
        file::write_key_start(&mut self.w, key, e)?;
        self.keys += 1;
        write_head(&mut self.w, &e.val, now)
    }
}
