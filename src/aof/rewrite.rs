//! Compaction without fork and without stalls.
//!
//! A rewrite writes a new base file holding the dataset as it was at the moment the
//! rewrite began, from inside the event loop, a slice of about a millisecond per loop
//! iteration, while clients keep being served:
//!
//! 1. Start: the batch is flushed and records switch to a new incr file at once, so every
//!    write from now on lands after the snapshot point, which is this moment. The
//!    manifest naming the new file is persisted on a helper thread; until it is on disk,
//!    replies to writes logged in the new file wait (a crash before then loses only
//!    writes nobody was told succeeded). Each database
//!    marks all its current keys as "pending" (O(1), see `Db::snap_cursor`). Keys are not
//!    reordered for this, so SCAN cursors keep their guarantees during a rewrite.
//! 2. Slices: pending keys are written to `temp-rewriteaof-<seq>.aof` as SET / HSET /
//!    PEXPIREAT records in checksummed batches. A key a command is about to modify is
//!    written first, in its pre-change form (copy-before-write: `Server::rewrite_touch`),
//!    and a pending key that expires is moved aside and written from there. So the base is
//!    an exact snapshot of the start, and base + new incr files = the live dataset.
//! 3. Finish, on a helper thread so the loop never waits for the disk: fsync the temp
//!    file, rename it to `<name>.<seq>.base.aof`, replace the manifest atomically. Then the
//!    loop adopts the new manifest and another thread deletes the old base and incr files
//!    (unlinking a large file takes tens of milliseconds).
//!
//! A crash before the manifest rename leaves the old manifest, which names the old base,
//! the old incr files and the new one: nothing is lost. After it, the new manifest is
//! complete. FLUSHALL, FLUSHDB or SWAPDB during a rewrite break the snapshot: the rewrite
//! is abandoned and started again.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{info, warn};

use super::AofState;
use super::manifest::{self, AofFile, FileKind, Manifest};
use super::record::{HEADER_MAX, annotation, int_arg, push_bulk, push_header, push_record};
use crate::config::FsyncPolicy;
use crate::keyspace::Entry;
use crate::server::Server;
use crate::types::Value;

/// Time the loop gives the rewrite per iteration while clients are active: a request
/// arriving meanwhile waits at most about this long, so it bounds the rewrite's effect on
/// latency (and leaves clients most of the CPU).
const SLICE_BUSY: Duration = Duration::from_micros(100);
/// Slice when the last poll found no client events.
const SLICE_IDLE: Duration = Duration::from_micros(1000);
/// Bytes of the temp base between two background fsyncs, so the final fsync is short and
/// the kernel never holds enough dirty pages to throttle the loop's own AOF writes.
const SYNC_EVERY: u64 = 8 << 20;
/// Keys written between two clock reads.
const KEYS_PER_CLOCK: usize = 32;
/// Fields per HSET record in the base (Redis uses 64 items per command too).
const FIELDS_PER_RECORD: usize = 64;
/// Batch size at which the temp file is written (one write of this size fits a slice).
const WRITE_AT: usize = 128 * 1024;

/// Where a rewrite is.
enum Phase {
    Writing,
    /// Every key is written; waiting for the start's manifest job before finishing.
    Written,
    /// The temp file is being fsynced, renamed and the new manifest persisted on a helper
    /// thread; the manifest is adopted when it is done.
    Syncing(JoinHandle<io::Result<()>>, Manifest),
}

/// A rewrite in progress.
pub struct Rewrite {
    /// Sequence number of the base being written.
    seq: u64,
    tmp: PathBuf,
    file: File,
    /// Records of the current batch after `HEADER_MAX` reserved bytes.
    buf: Vec<u8>,
    /// Database of the temp file's last SELECT.
    selected: i64,
    /// Database being walked.
    db: usize,
    /// Incr files with this seq or higher stay after the rewrite.
    keep_from_seq: u64,
    phase: Phase,
    /// Fsyncs the temp base in the background as it grows.
    syncer: super::fsync::Fsyncer,
    synced_at: u64,
    /// Persisting the manifest that names the incr file opened at the start.
    manifest_job: Option<JoinHandle<io::Result<()>>>,
    pub started: Instant,
    pub keys: u64,
    pub bytes: u64,
}

/// Outcome of the last rewrite, for INFO.
#[derive(Debug, Default)]
pub struct RewriteStats {
    pub count: u64,
    pub last_ok: bool,
    pub last_secs: i64,
    /// Start another rewrite when possible (BGREWRITEAOF during a rewrite, broken snapshot).
    pub scheduled: bool,
}

impl Rewrite {
    fn write_entry(&mut self, db: usize, key: &[u8], e: &Entry, now: i64) {
        if e.exp != 0 && e.exp <= now {
            return; // Already expired: not part of the dataset.
        }
        if let Value::Hash(h) = &e.val
            && h.min_ttl() != 0
            && h.min_ttl() as i64 <= now
            && h.iter_ttl().all(|(_, _, at)| at != 0 && at as i64 <= now)
        {
            return; // Every field expired (not yet reclaimed): the key is gone.
        }
        if self.selected != db as i64 {
            let mut n = [0u8; 20];
            push_record(
                &mut self.buf,
                [&b"SELECT"[..], int_arg(db as i64, &mut n)].into_iter(),
            );
            self.selected = db as i64;
        }
        write_value(&mut self.buf, key, e, now.max(0) as u64);
        self.keys += 1;
    }

    /// Writes the collected batch to the temp file.
    fn write_batch(&mut self) -> io::Result<()> {
        if self.buf.len() == HEADER_MAX {
            return Ok(());
        }
        let mut head = [0u8; HEADER_MAX];
        let n = annotation(&self.buf[HEADER_MAX..], &mut head);
        self.buf[HEADER_MAX - n..HEADER_MAX].copy_from_slice(&head[..n]);
        self.file.write_all(&self.buf[HEADER_MAX - n..])?;
        self.bytes += (self.buf.len() - HEADER_MAX + n) as u64;
        self.buf.truncate(HEADER_MAX);
        if self.bytes - self.synced_at >= SYNC_EVERY && !self.syncer.busy() {
            self.syncer.request(&self.file);
            self.synced_at = self.bytes;
        }
        Ok(())
    }
}

/// Appends the records that recreate `key` with value and expiry `e`. Hash fields whose
/// deadline is at or before `now` (expired, not yet reclaimed) are left out; `now` 0
/// keeps them all. The caller skips a hash with no live field.
pub fn write_value(buf: &mut Vec<u8>, key: &[u8], e: &Entry, now: u64) {
    match &e.val {
        Value::Str(s) => push_record(buf, [&b"SET"[..], key, s.bytes()].into_iter()),
        Value::Hash(h) => {
            let live = |at: u64| at == 0 || now == 0 || at > now;
            let mut left = if h.min_ttl() != 0 && h.min_ttl() <= now {
                h.iter_ttl().filter(|&(_, _, at)| live(at)).count()
            } else {
                h.len()
            };
            let mut it = h.iter_ttl().filter(|&(_, _, at)| live(at));
            while left > 0 {
                let n = left.min(FIELDS_PER_RECORD);
                push_header(buf, 2 + 2 * n);
                push_bulk(buf, b"HSET");
                push_bulk(buf, key);
                for (f, v, _) in it.by_ref().take(n) {
                    push_bulk(buf, f);
                    push_bulk(buf, &v);
                }
                left -= n;
            }
            if h.min_ttl() != 0 {
                write_field_ttls(buf, key, h, now);
            }
        }
    }
    if e.exp != 0 {
        let mut t = [0u8; 20];
        push_record(
            buf,
            [&b"PEXPIREAT"[..], key, int_arg(e.exp, &mut t)].into_iter(),
        );
    }
}

/// Appends `HPEXPIREAT key at FIELDS n f...` records for the fields that have a deadline.
/// They go in reverse storage order: setting a deadline places a field before any other
/// with an equal one, so replaying them backwards rebuilds a compact hash's exact order
/// (Redis's listpackex order, which HGETALL shows). Runs of equal deadlines share a record.
fn write_field_ttls(buf: &mut Vec<u8>, key: &[u8], h: &crate::types::Hash, now: u64) {
    let timed: Vec<(&[u8], u64)> = h
        .iter_ttl()
        .filter(|&(_, _, at)| at != 0 && (now == 0 || at > now))
        .map(|(f, _, at)| (f, at))
        .collect();
    let mut rest = &timed[..];
    while let Some(&(_, at)) = rest.last() {
        let run = rest
            .iter()
            .rev()
            .take(FIELDS_PER_RECORD)
            .take_while(|x| x.1 == at)
            .count();
        let (head, tail) = rest.split_at(rest.len() - run);
        let mut t = [0u8; 20];
        let mut n = [0u8; 20];
        push_header(buf, 5 + run);
        push_bulk(buf, b"HPEXPIREAT");
        push_bulk(buf, key);
        push_bulk(buf, int_arg(at as i64, &mut t));
        push_bulk(buf, b"FIELDS");
        push_bulk(buf, int_arg(run as i64, &mut n));
        for (f, _) in tail.iter().rev() {
            push_bulk(buf, f);
        }
        rest = head;
    }
}

/// Test-only fault injection: `FERROKV_REWRITE_CRASH=<point>` aborts the process at that
/// point of a rewrite, so tests can check that a crash anywhere loses nothing.
fn crash_point(point: &str) {
    if std::env::var("FERROKV_REWRITE_CRASH").is_ok_and(|p| p == point) {
        warn!("FERROKV_REWRITE_CRASH={point}: aborting as asked");
        std::process::abort();
    }
}

impl Server {
    /// Starts a rewrite (BGREWRITEAOF, auto rewrite, CONFIG SET appendonly yes).
    pub fn start_rewrite(&mut self) -> Result<(), String> {
        if self.rewrite.is_some() {
            return Err("Background append only file rewriting already in progress".into());
        }
        if self.aof.write_blocked() {
            return Err(format!(
                "the AOF cannot be written: {}",
                super::strerror_errno(self.aof.write_errno)
            ));
        }
        // Records collected so far belong before the snapshot point, in the old file.
        self.log_expired();
        self.aof.flush_force();
        if !self.aof.idle() {
            return Err(format!(
                "the AOF cannot be written: {}",
                super::strerror_errno(self.aof.write_errno.max(5))
            ));
        }
        let (incr, manifest) = self
            .aof
            .prepare_incr()
            .map_err(|e| format!("Can't create a new AOF incr file: {e}"))?;
        let seq = self.aof.next_seq;
        self.aof.next_seq += 1;
        let keep_from_seq = manifest.incrs.last().map_or(seq, |f| f.seq);
        let tmp = self.aof.aof_dir.join(format!("temp-rewriteaof-{seq}.aof"));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| format!("Can't create {}: {e}", tmp.display()))?;
        // The snapshot point.
        let manifest_job = if self.aof.state == AofState::WaitRewrite {
            // No manifest exists yet: the first one is written when the base is complete.
            self.aof.install_incr(incr, manifest);
            None
        } else {
            let (m, dir, name) = (
                manifest.clone(),
                self.aof.aof_dir.clone(),
                self.aof.filename.clone(),
            );
            if self.aof.policy == FsyncPolicy::Always {
                // A reply promises the write is on disk, and so must be the manifest
                // that makes replay read this file.
                self.aof.install_unnamed_incr(incr, manifest);
            } else {
                // Under everysec/no a crash may lose the last moments anyway; the manifest
                // is on disk a few milliseconds from now.
                self.aof.install_incr(incr, manifest);
            }
            Some(std::thread::spawn(move || m.persist(&dir, &name)))
        };
        for db in &mut self.ks.dbs {
            db.snap_begin();
        }
        let mut buf = Vec::with_capacity(WRITE_AT + 64 * 1024);
        buf.resize(HEADER_MAX, 0);
        self.rewrite = Some(Box::new(Rewrite {
            seq,
            tmp,
            file,
            buf,
            selected: -1,
            db: 0,
            keep_from_seq,
            phase: Phase::Writing,
            syncer: super::fsync::Fsyncer::start(),
            synced_at: 0,
            manifest_job,
            started: Instant::now(),
            keys: 0,
            bytes: 0,
        }));
        self.rewrite_stats.scheduled = false;
        info!(
            "Background append only file rewriting started (no fork: written in slices by the event loop)"
        );
        Ok(())
    }

    /// Collects the start's manifest job if it ended (`wait`: block until it does). On
    /// success the replies held for the new incr file go out; on failure writes are
    /// refused until a retry from the timer succeeds.
    fn reap_manifest_job(&mut self, rw: &mut Rewrite, wait: bool) {
        let Some(h) = rw.manifest_job.take() else {
            return;
        };
        if !wait && !h.is_finished() {
            rw.manifest_job = Some(h);
            return;
        }
        match h.join() {
            Ok(Ok(())) => {
                if self.aof.manifest_persisted() {
                    self.release_held();
                }
            }
            Ok(Err(e)) => self.manifest_failed(&e),
            Err(_) => self.manifest_failed(&io::Error::other("manifest thread panicked")),
        }
    }

    fn manifest_failed(&mut self, e: &io::Error) {
        warn!("Can't write the AOF manifest: {e}; refusing writes and retrying");
        self.aof.write_errno = e.raw_os_error().unwrap_or(5);
        self.manifest_retry = true;
    }

    /// Timer: retries persisting the manifest after a failure.
    pub fn retry_manifest(&mut self) {
        if !self.manifest_retry {
            return;
        }
        match self
            .aof
            .manifest
            .persist(&self.aof.aof_dir, &self.aof.filename)
        {
            Ok(()) => {
                warn!("The AOF manifest was written. The server can write again.");
                self.manifest_retry = false;
                self.aof.write_errno = 0;
                if self.aof.manifest_persisted() {
                    self.release_held();
                }
            }
            Err(e) => self.aof.write_errno = e.raw_os_error().unwrap_or(5),
        }
    }

    /// Copy-before-write: writes `key` of `db` to the base if the rewrite has not yet.
    pub fn rewrite_touch(&mut self, db: usize, key: &[u8]) {
        let Some(rw) = self.rewrite.as_mut() else {
            return;
        };
        let now = self.now_ms;
        if let Some(d) = self.ks.dbs.get_mut(db)
            && let Some((k, e)) = d.snap_take(key)
        {
            rw.write_entry(db, k, e, now);
        }
    }

    /// Does one slice of the rewrite; called once per loop iteration.
    pub fn rewrite_step(&mut self, clients_active: bool) {
        let Some(mut rw) = self.rewrite.take() else {
            return;
        };
        if self.ks.dbs.iter().any(|d| d.snap_broken) {
            info!("The dataset was flushed or swapped during the AOF rewrite: starting it again");
            self.abandon_rewrite(rw, false);
            self.rewrite_stats.scheduled = true;
            return;
        }
        self.reap_manifest_job(&mut rw, false);
        match std::mem::replace(&mut rw.phase, Phase::Writing) {
            Phase::Written if rw.manifest_job.is_some() || self.manifest_retry => {
                rw.phase = Phase::Written;
                self.rewrite = Some(rw);
            }
            Phase::Written => {
                // Every key is in the temp base and the start's manifest is on disk.
                crash_point("before-fsync");
                match self.install_in_background(&rw) {
                    Ok(phase) => {
                        rw.phase = phase;
                        self.rewrite = Some(rw);
                    }
                    Err(e) => {
                        warn!("Can't fsync the rewritten AOF: {e}");
                        self.abandon_rewrite(rw, true);
                    }
                }
            }
            Phase::Syncing(h, m) if !h.is_finished() => {
                rw.phase = Phase::Syncing(h, m);
                self.rewrite = Some(rw);
            }
            Phase::Syncing(h, m) => match h.join() {
                Ok(Ok(())) => self.finish_rewrite(rw, m),
                Ok(Err(e)) => {
                    warn!("Can't install the rewritten AOF: {e}");
                    self.abandon_rewrite(rw, true);
                }
                Err(_) => self.abandon_rewrite(rw, true),
            },
            Phase::Writing => {
                let slice = if clients_active {
                    SLICE_BUSY
                } else {
                    SLICE_IDLE
                };
                let deadline = Instant::now() + slice;
                let done = self.write_slice(&mut rw, deadline);
                let r = if done || rw.buf.len() >= WRITE_AT {
                    rw.write_batch()
                } else {
                    Ok(())
                };
                if let Err(e) = r {
                    warn!("Error writing the rewritten AOF {}: {e}", rw.tmp.display());
                    self.abandon_rewrite(rw, true);
                    return;
                }
                if done {
                    for db in &mut self.ks.dbs {
                        db.snap_end();
                    }
                    // The final manifest must not race the start's: finish on a later step.
                    rw.phase = Phase::Written;
                }
                self.rewrite = Some(rw);
            }
        }
    }

    /// Starts the helper thread that makes the finished base durable and commits it: fsync,
    /// rename into place, atomic manifest swap.
    fn install_in_background(&self, rw: &Rewrite) -> io::Result<Phase> {
        let f = rw.file.try_clone()?;
        let name = manifest::base_name(&self.aof.filename, rw.seq);
        let new = Manifest {
            base: Some(AofFile {
                name: name.clone(),
                seq: rw.seq,
                kind: FileKind::Base,
            }),
            incrs: self
                .aof
                .manifest
                .incrs
                .iter()
                .filter(|f| f.seq >= rw.keep_from_seq)
                .cloned()
                .collect(),
            history: Vec::new(),
        };
        let (tmp, dir, filename, m) = (
            rw.tmp.clone(),
            self.aof.aof_dir.clone(),
            self.aof.filename.clone(),
            new.clone(),
        );
        let h = std::thread::spawn(move || {
            f.sync_all()?;
            crash_point("before-rename");
            std::fs::rename(&tmp, dir.join(&name))?;
            crash_point("before-manifest");
            if let Err(e) = m.persist(&dir, &filename) {
                // Not named by any manifest: remove it rather than leave it for startup.
                let _ = std::fs::remove_file(dir.join(&name));
                return Err(e);
            }
            crash_point("after-manifest");
            Ok(())
        });
        Ok(Phase::Syncing(h, new))
    }

    /// Writes pending keys until the deadline; true when every database is done.
    fn write_slice(&mut self, rw: &mut Rewrite, deadline: Instant) -> bool {
        let now = self.now_ms;
        let mut n = 0;
        for i in 0..self.ks.dbs.len() {
            for (k, e, at) in std::mem::take(&mut self.ks.dbs[i].snap_spill) {
                rw.write_entry(i, &k, &e, at);
            }
        }
        while rw.db < self.ks.dbs.len() {
            let db = rw.db;
            while let Some((k, e)) = self.ks.dbs[db].snap_next() {
                rw.write_entry(db, k, e, now);
                n += 1;
                if n % KEYS_PER_CLOCK == 0
                    && (Instant::now() >= deadline || rw.buf.len() >= WRITE_AT)
                {
                    return false;
                }
            }
            rw.db += 1;
        }
        // Spilled entries of databases already walked.
        self.ks.dbs.iter().all(|d| d.snap_spill.is_empty())
    }

    /// Adopts the manifest the helper thread committed and has the old files deleted.
    fn finish_rewrite(&mut self, rw: Box<Rewrite>, new: Manifest) {
        let old = std::mem::replace(&mut self.aof.manifest, new);
        let doomed: Vec<PathBuf> = old
            .load_order()
            .chain(old.history.iter())
            .filter(|f| !self.aof.manifest.load_order().any(|n| n.name == f.name))
            .map(|f| self.aof.path(&f.name))
            .collect();
        if !doomed.is_empty() {
            // Unlinking a large file takes tens of milliseconds: not in the event loop.
            std::thread::spawn(move || {
                for p in doomed {
                    let _ = std::fs::remove_file(p);
                }
            });
        }
        let mut older = rw.bytes;
        let current = self.aof.manifest.incrs.last().map(|f| f.name.clone());
        for f in &self.aof.manifest.incrs {
            if Some(&f.name) != current.as_ref() {
                older += std::fs::metadata(self.aof.path(&f.name)).map_or(0, |m| m.len());
            }
        }
        self.aof.older_size = older;
        self.aof.base_size = self.aof.current_size();
        if self.aof.state == AofState::WaitRewrite {
            self.aof.state = AofState::On;
        }
        let secs = rw.started.elapsed();
        self.rewrite_stats.count += 1;
        self.rewrite_stats.last_ok = true;
        self.rewrite_stats.last_secs = secs.as_secs() as i64;
        info!(
            "Background AOF rewrite finished successfully: {} keys, {} bytes in {:.3} s",
            rw.keys,
            rw.bytes,
            secs.as_secs_f64()
        );
    }

    /// Drops a rewrite: deletes its temp file and forgets the snapshot.
    #[allow(clippy::boxed_local)] // Callers hold the rewrite boxed; unboxing would copy it.
    pub fn abandon_rewrite(&mut self, rw: Box<Rewrite>, failed: bool) {
        for db in &mut self.ks.dbs {
            db.snap_end();
        }
        let _ = std::fs::remove_file(&rw.tmp);
        if failed {
            self.rewrite_stats.last_ok = false;
            self.rewrite_stats.last_secs = rw.started.elapsed().as_secs() as i64;
            warn!("Background AOF rewrite failed; the current AOF files are kept");
        }
    }

    /// Cancels a running rewrite (CONFIG SET appendonly no, shutdown, DEBUG LOADAOF). A
    /// helper thread that is changing the manifest is waited for, so the manifest in memory
    /// ends up equal to the one on disk.
    pub fn cancel_rewrite(&mut self) {
        let Some(mut rw) = self.rewrite.take() else {
            return;
        };
        self.reap_manifest_job(&mut rw, true);
        match std::mem::replace(&mut rw.phase, Phase::Writing) {
            Phase::Syncing(h, m) => match h.join() {
                Ok(Ok(())) => self.finish_rewrite(rw, m),
                _ => self.abandon_rewrite(rw, true),
            },
            Phase::Writing | Phase::Written => self.abandon_rewrite(rw, false),
        }
    }

    /// Runs a whole rewrite now, blocking the loop (DEBUG RELOAD).
    pub fn rewrite_now(&mut self) -> Result<(), String> {
        if self.rewrite.is_none() {
            self.start_rewrite()?;
        }
        let runs = self.rewrite_stats.count;
        while self.rewrite.is_some() {
            self.rewrite_step(false);
            if matches!(
                self.rewrite.as_ref().map(|r| &r.phase),
                Some(Phase::Syncing(..) | Phase::Written)
            ) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if self.rewrite_stats.count == runs {
            return Err("the AOF rewrite failed".into());
        }
        Ok(())
    }

    /// Empties the dataset and loads it again from the AOF (DEBUG LOADAOF).
    pub fn reload_from_aof(&mut self) -> Result<(), String> {
        self.cancel_rewrite();
        self.log_expired();
        self.aof.flush(Instant::now());
        if !self.aof.idle() {
            return Err("the AOF cannot be written right now".into());
        }
        self.aof.fsync_now();
        for i in 0..self.ks.dbs.len() {
            self.touch_db(i);
            self.ks.dbs[i].clear();
        }
        let m = self.aof.manifest.clone();
        self.replay_manifest(&m)?;
        self.expired_seen = self.ks.stats.expired_total();
        Ok(())
    }

    /// CONFIG SET appendonly yes: log from now on and write a base of the current data.
    pub fn enable_aof(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.aof.aof_dir)
            .map_err(|e| format!("Can't create {}: {e}", self.aof.aof_dir.display()))?;
        // An old manifest only tells which names are taken; its files are replaced.
        if let Ok(Some(m)) = Manifest::load(&self.aof.aof_dir, &self.aof.filename) {
            self.aof.next_seq = self.aof.next_seq.max(m.max_seq() + 1);
            self.aof.manifest = m;
        } else {
            self.aof.manifest = Manifest::default();
        }
        self.aof.begin_wait_rewrite();
        self.ks.set_log_expired(true);
        self.expired_seen = self.ks.stats.expired_total();
        if let Err(e) = self.start_rewrite() {
            self.aof.state = AofState::Off;
            self.ks.set_log_expired(false);
            return Err(e);
        }
        Ok(())
    }

    /// CONFIG SET appendonly no: flush, fsync and stop logging.
    pub fn disable_aof(&mut self) {
        self.cancel_rewrite();
        self.log_expired();
        self.aof.stop();
        self.ks.set_log_expired(false);
        self.release_held();
    }

    /// Starts an automatic rewrite when the AOF has grown enough (cron).
    pub fn maybe_auto_rewrite(&mut self) {
        if self.rewrite.is_some() || !self.aof.logging() {
            return;
        }
        if self.rewrite_stats.scheduled {
            if let Err(e) = self.start_rewrite() {
                warn!("Scheduled AOF rewrite could not start: {e}");
            }
            return;
        }
        let pct = self
            .config
            .get("auto-aof-rewrite-percentage")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let min = self
            .config
            .get("auto-aof-rewrite-min-size")
            .and_then(crate::config::parse_memory)
            .unwrap_or(64 << 20) as u64;
        let cur = self.aof.current_size();
        if pct == 0 || cur < min {
            return;
        }
        let base = self.aof.base_size.max(1);
        let growth = cur * 100 / base;
        if growth >= 100 + pct {
            info!(
                "Starting automatic rewriting of AOF on {}% growth",
                growth - 100
            );
            if let Err(e) = self.start_rewrite() {
                warn!("Automatic AOF rewrite could not start: {e}");
            }
        }
    }
}
