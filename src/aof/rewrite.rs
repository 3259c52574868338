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
//!    writes nobody was told succeeded). The rewrite takes a snapshot of the keyspace
//!    (O(1), see `keyspace/snapshot.rs`), which it owns.
//! 2. Slices: the snapshot's keys are written to `temp-rewriteaof-<seq>.aof` as SET / HSET
//!    / PEXPIREAT records in checksummed batches. A key a command is about to modify is
//!    written first, in its pre-change form (copy-before-write: `copy_before_write`), and
//!    a pending key that expires is set aside and written from there. So the base is an
//!    exact snapshot of the start, and base + new incr files = the live dataset.
//!
//!    A big value (more than `BIG` elements, or a string over `STR_PIECE` bytes) is
//!    written in pieces of `PIECE` elements across as many slices as it takes, so one key
//!    never holds the loop longer than a slice (a 5M-field hash written in one go held it
//!    for 720 ms). The snapshot holds the key meanwhile (`Keyspace::snapshot_hold`): a
//!    command about to change it, or its expiry or removal, hands the rewrite a copy of its
//!    current form, and the pieces still to write come from that copy. A big pending key
//!    taken by copy-before-write is copied too and written in pieces from the copy, where
//!    writing it whole inside the command would stall it for as long.
//! 3. Finish, on a helper thread so the loop never waits for the disk: fsync the temp
//!    file, rename it to `<name>.<seq>.base.aof`, replace the manifest atomically. Then the
//!    loop adopts the new manifest and another thread deletes the old base and incr files
//!    (unlinking a large file takes tens of milliseconds).
//!
//! A crash before the manifest rename leaves the old manifest, which names the old base,
//! the old incr files and the new one: nothing is lost. After it, the new manifest is
//! complete. FLUSHALL, FLUSHDB or SWAPDB during a rewrite break the snapshot: the rewrite
//! is abandoned and started again.
//!
//! The rewrite knows the AOF writer and the keyspace, nothing above them: the engine
//! (`engine/persist.rs`) decides when to start, step and cancel it.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::manifest::{self, AofFile, FileKind, Manifest};
use super::record::{HEADER_MAX, annotation};
use super::{Aof, AofState};
use crate::config::FsyncPolicy;
use crate::keyspace::snapshot::Snapshot;
use crate::keyspace::{Entry, Keyspace};
use crate::num::fmt_i64;
use crate::resp::encode::{push_bulk, push_header, push_record, push_select};
use crate::types::Value;
use crate::types::bytes::Bytes;

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
/// Elements of a big value written per piece: tens of microseconds, so a slice that is
/// writing one checks its deadline often.
const PIECE: usize = 512;
/// A value with more elements than this is written in pieces.
const BIG: usize = 4 * PIECE;
/// Bytes of a big string per record (SET, then APPENDs); a longer string is written in
/// pieces.
const STR_PIECE: usize = 1 << 20;
/// Batch size at which the temp file is written (one write of this size fits a slice).
const WRITE_AT: usize = 128 * 1024;
/// Batch size at which copy-before-write writes the temp file itself: a burst of writes
/// or evictions of pending keys between two slices must not grow the batch without
/// bound (evicting a key would then free nothing: its copy waits in the batch).
const COPY_WRITE_AT: usize = 4 * WRITE_AT;

/// Where a rewrite is.
enum Phase {
    Writing,
    /// Every key is written; waiting for the start's manifest job before finishing.
    Written,
    /// The temp file is being fsynced, renamed and the new manifest persisted on a helper
    /// thread; the manifest is adopted when it is done.
    Syncing(JoinHandle<io::Result<()>>, Manifest),
}

/// How far the writing of one value has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Elements (bytes, for a string) at positions below this one are written.
    Elems(usize),
    /// A hash's field deadlines at positions below this one are still to write (they go
    /// from the last field down, see `write_field_ttls`).
    FieldTtls(usize),
    /// Only the key's own deadline is left.
    Expire,
    Done,
}

/// A big value being written in pieces.
struct Job {
    db: usize,
    key: Bytes,
    /// The rewrite's own copy of the value. None while the live entry is written: the
    /// snapshot holds the key, so any change hands a copy over first and it lands here.
    owned: Option<Entry>,
    /// Fields due by this clock are left out (0: none), as for any other key; the same
    /// clock for every piece, whenever it is written.
    clock: u64,
    stage: Stage,
}

/// A rewrite in progress.
pub struct Rewrite {
    /// The point-in-time view being written.
    snap: Snapshot,
    /// Sequence number of the base being written.
    seq: u64,
    tmp: PathBuf,
    file: File,
    /// Records of the current batch after `HEADER_MAX` reserved bytes.
    buf: Vec<u8>,
    /// Database of the temp file's last SELECT.
    selected: i64,
    /// Incr files with this seq or higher stay after the rewrite.
    keep_from_seq: u64,
    phase: Phase,
    /// Fsyncs the temp base in the background as it grows.
    syncer: super::fsync::Fsyncer,
    synced_at: u64,
    /// Persisting the manifest that names the incr file opened at the start.
    manifest_job: Option<JoinHandle<io::Result<()>>>,
    /// A write of the temp file by copy-before-write failed; the next step abandons.
    write_error: Option<io::Error>,
    /// The big value being written in pieces (first), then copies of big values waiting
    /// for their turn.
    job: Option<Job>,
    queue: VecDeque<Job>,
    pub started: Instant,
    pub keys: u64,
    pub bytes: u64,
}

/// Outcome of the last rewrite, for INFO.
#[derive(Debug)]
pub struct RewriteStats {
    pub count: u64,
    pub last_ok: bool,
    pub last_secs: i64,
    /// Start another rewrite when possible (BGREWRITEAOF during a rewrite, broken snapshot).
    pub scheduled: bool,
}

impl Default for RewriteStats {
    fn default() -> Self {
        RewriteStats {
            count: 0,
            last_ok: true,
            last_secs: 0,
            scheduled: false,
        }
    }
}

/// How a rewrite ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The new base is installed.
    Done,
    /// The rewrite failed and was dropped; the current files are kept.
    Failed,
    /// The snapshot broke (FLUSHALL, FLUSHDB, SWAPDB): dropped, to be started again.
    Restart,
}

impl Rewrite {
    fn write_entry(&mut self, db: usize, key: &[u8], e: &Entry, now: i64) {
        if e.gone(now) {
            return;
        }
        self.select(db);
        write_value(&mut self.buf, key, e, now.max(0) as u64);
        self.keys += 1;
    }

    /// Makes `db` the temp file's current database.
    fn select(&mut self, db: usize) {
        if self.selected != db as i64 {
            push_select(&mut self.buf, db);
            self.selected = db as i64;
        }
    }

    /// Queues a big value (the rewrite's own copy) to be written in pieces.
    fn queue_big(&mut self, db: usize, key: Bytes, e: Entry, now: i64) {
        self.keys += 1;
        self.queue.push_back(Job {
            db,
            key,
            owned: Some(e),
            clock: now.max(0) as u64,
            stage: Stage::Elems(0),
        });
    }

    /// The value being written in pieces from the live entry, if it is `key` of `db`: its
    /// current form, handed over, goes there.
    fn live_job(&mut self, db: usize, key: &[u8]) -> Option<&mut Option<Entry>> {
        self.job
            .as_mut()
            .filter(|j| j.owned.is_none() && j.db == db && *j.key == *key)
            .map(|j| &mut j.owned)
    }

    /// Entries set aside since the last slice: the held key's form continues its job;
    /// big ones are queued, the others written.
    fn drain_spilled(&mut self, ks: &mut Keyspace) {
        for (db, k, e, at) in ks.snapshot_spilled(&self.snap) {
            if let Some(owned) = self.live_job(db, &k) {
                *owned = Some(e);
                debug!("AOF rewrite: the value being written in pieces was set aside");
            } else if is_big(&e.val) && !e.gone(at) {
                self.queue_big(db, k, e, at);
            } else {
                self.write_entry(db, &k, &e, at);
                crate::lazyfree::free_value(e.val, true);
            }
        }
    }

    /// Writes pieces of big values until none is left (true) or the slice is used up.
    fn run_jobs(&mut self, ks: &mut Keyspace, deadline: Instant) -> bool {
        loop {
            let Some(mut job) = self.job.take().or_else(|| self.queue.pop_front()) else {
                return true;
            };
            if job.owned.is_none() && ks.snapshot_held(&self.snap, job.db, &job.key).is_none() {
                // Handed over since the spill was drained: take the copy now.
                self.job = Some(job);
                self.drain_spilled(ks);
                job = self.job.take().expect("job kept");
                if job.owned.is_none() {
                    self.write_error = Some(io::Error::other(
                        "a key being written in pieces changed without a copy",
                    ));
                    return false;
                }
            }
            self.select(job.db);
            let more = {
                let e = match &job.owned {
                    Some(e) => e,
                    None => ks
                        .snapshot_held(&self.snap, job.db, &job.key)
                        .expect("held key"),
                };
                loop {
                    write_piece(&mut self.buf, &job.key, e, job.clock, &mut job.stage, PIECE);
                    if job.stage == Stage::Done {
                        break false;
                    }
                    if self.buf.len() >= WRITE_AT || Instant::now() >= deadline {
                        break true;
                    }
                }
            };
            if more {
                self.job = Some(job);
                return false;
            }
            match job.owned {
                Some(e) => crate::lazyfree::free_value(e.val, true),
                None => ks.snapshot_release(&self.snap, job.db),
            }
        }
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

/// True if `v` is written in pieces.
fn is_big(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.bytes().len() > STR_PIECE,
        Value::Hash(h) => h.len() > BIG,
        Value::List(l) => l.len() > BIG,
        Value::Set(s) => s.len() > BIG,
        Value::ZSet(z) => z.len() > BIG,
    }
}

/// Appends the records that recreate `key` with value and expiry `e`. Hash fields whose
/// deadline is at or before `now` (expired, not yet reclaimed) are left out; `now` 0
/// keeps them all. The caller skips a hash with no live field.
pub fn write_value(buf: &mut Vec<u8>, key: &[u8], e: &Entry, now: u64) {
    let mut stage = Stage::Elems(0);
    while stage != Stage::Done {
        write_piece(buf, key, e, now, &mut stage, usize::MAX);
    }
}

/// Appends the records for the next `budget` elements of `e` from `stage` (hash fields
/// due by `now` left out, see `write_value`) and moves `stage` on. A whole value is a
/// piece with an unlimited budget.
fn write_piece(
    buf: &mut Vec<u8>,
    key: &[u8],
    e: &Entry,
    now: u64,
    stage: &mut Stage,
    budget: usize,
) {
    let live = |at: u64| at == 0 || now == 0 || at > now;
    let pos = match *stage {
        Stage::Elems(pos) => pos,
        Stage::FieldTtls(hi) => {
            if let Value::Hash(h) = &e.val {
                let lo = hi.saturating_sub(budget);
                write_field_ttls(buf, key, h, lo, hi, now);
                *stage = if lo > 0 {
                    Stage::FieldTtls(lo)
                } else {
                    Stage::Expire
                };
            } else {
                *stage = Stage::Expire;
            }
            return;
        }
        Stage::Expire => {
            if e.exp() != 0 {
                let mut t = [0u8; 20];
                push_record(
                    buf,
                    [&b"PEXPIREAT"[..], key, fmt_i64(e.exp(), &mut t)].into_iter(),
                );
            }
            *stage = Stage::Done;
            return;
        }
        Stage::Done => return,
    };
    let len = match &e.val {
        Value::Str(s) => s.bytes().len(),
        Value::Hash(h) => h.len(),
        Value::List(l) => l.len(),
        Value::Set(s) => s.len(),
        Value::ZSet(z) => z.len(),
    };
    let end = if let Value::Str(_) = e.val {
        pos.saturating_add(budget.saturating_mul(STR_PIECE / PIECE))
            .min(len)
    } else {
        pos.saturating_add(budget).min(len)
    };
    let n = end - pos;
    *stage = if end < len {
        Stage::Elems(end)
    } else {
        Stage::Expire
    };
    match &e.val {
        Value::Str(s) => {
            let cmd: &[u8] = if pos == 0 { b"SET" } else { b"APPEND" };
            push_record(buf, [cmd, key, &s.bytes()[pos..end]].into_iter());
        }
        Value::Hash(h) => {
            if h.min_ttl() != 0 && end == len {
                *stage = Stage::FieldTtls(len);
            }
            let it = h.iter_ttl_from(pos).take(n);
            if h.min_ttl() == 0 || now == 0 || h.min_ttl() > now {
                // Nothing to leave out: records of known size, straight from the value.
                let mut it = it;
                let mut left = n;
                while left > 0 {
                    let k = left.min(FIELDS_PER_RECORD);
                    push_header(buf, 2 + 2 * k);
                    push_bulk(buf, b"HSET");
                    push_bulk(buf, key);
                    for (f, v, _) in it.by_ref().take(k) {
                        push_bulk(buf, f);
                        push_bulk(buf, &v);
                    }
                    left -= k;
                }
            } else {
                let mut it = it.filter(|&(_, _, at)| live(at));
                let mut rec = Vec::with_capacity(FIELDS_PER_RECORD);
                loop {
                    rec.clear();
                    rec.extend(it.by_ref().take(FIELDS_PER_RECORD).map(|(f, v, _)| (f, v)));
                    if rec.is_empty() {
                        break;
                    }
                    push_header(buf, 2 + 2 * rec.len());
                    push_bulk(buf, b"HSET");
                    push_bulk(buf, key);
                    for (f, v) in &rec {
                        push_bulk(buf, f);
                        push_bulk(buf, v);
                    }
                }
            }
        }
        Value::List(l) if n > 0 => write_chunked(buf, b"RPUSH", key, n, l.range(pos, end - 1)),
        Value::List(_) => {}
        Value::Set(s) => write_chunked(buf, b"SADD", key, n, s.iter_from(pos).take(n)),
        Value::ZSet(z) => {
            let mut left = n;
            let mut it = z.range(pos, n, false);
            let mut score = Vec::with_capacity(24);
            while left > 0 {
                let k = left.min(FIELDS_PER_RECORD);
                push_header(buf, 2 + 2 * k);
                push_bulk(buf, b"ZADD");
                push_bulk(buf, key);
                for (m, s) in it.by_ref().take(k) {
                    score.clear();
                    crate::num::push_score(&mut score, s);
                    push_bulk(buf, &score);
                    push_bulk(buf, m);
                }
                left -= k;
            }
        }
    }
}

/// Appends `<cmd> key e1 e2 ...` records of at most `FIELDS_PER_RECORD` elements each
/// for the `len` elements of `items` (lists, sets).
fn write_chunked<'a>(
    buf: &mut Vec<u8>,
    cmd: &[u8],
    key: &[u8],
    len: usize,
    mut items: impl Iterator<Item = crate::types::listpack::Val<'a>>,
) {
    let mut left = len;
    while left > 0 {
        let n = left.min(FIELDS_PER_RECORD);
        push_header(buf, 2 + n);
        push_bulk(buf, cmd);
        push_bulk(buf, key);
        for x in items.by_ref().take(n) {
            push_bulk(buf, &x);
        }
        left -= n;
    }
}

/// Appends `HPEXPIREAT key at FIELDS n f...` records for the fields at positions
/// `lo..hi` that have a deadline after `now` (any, if `now` is 0). They go in reverse
/// storage order, and a whole value's windows from the last down: setting a deadline
/// places a field before any other with an equal one, so replaying them backwards
/// rebuilds a compact hash's exact order (Redis's listpackex order, which HGETALL shows).
/// Runs of equal deadlines share a record.
fn write_field_ttls(
    buf: &mut Vec<u8>,
    key: &[u8],
    h: &crate::types::Hash,
    lo: usize,
    hi: usize,
    now: u64,
) {
    let timed: Vec<(&[u8], u64)> = h
        .iter_ttl_from(lo)
        .take(hi - lo)
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
        push_bulk(buf, fmt_i64(at as i64, &mut t));
        push_bulk(buf, b"FIELDS");
        push_bulk(buf, fmt_i64(run as i64, &mut n));
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

impl Rewrite {
    /// Starts a rewrite: switches the AOF to a new incr file (the snapshot point) and
    /// takes the snapshot. The caller has flushed every record collected so far, which
    /// belongs before the snapshot point, in the old file.
    pub fn start(aof: &mut Aof, ks: &mut Keyspace) -> Result<Box<Rewrite>, String> {
        if !aof.idle() {
            return Err(format!(
                "the AOF cannot be written: {}",
                super::strerror_errno(aof.write_errno.max(5))
            ));
        }
        let (incr, manifest) = aof
            .prepare_incr()
            .map_err(|e| format!("Can't create a new AOF incr file: {e}"))?;
        let seq = aof.next_seq;
        aof.next_seq += 1;
        let keep_from_seq = manifest.incrs.last().map_or(seq, |f| f.seq);
        let tmp = aof.aof_dir.join(format!("temp-rewriteaof-{seq}.aof"));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| format!("Can't create {}: {e}", tmp.display()))?;
        // The snapshot point.
        let manifest_job = if aof.state == AofState::WaitRewrite {
            // No manifest exists yet: the first one is written when the base is complete.
            aof.install_incr(incr, manifest);
            None
        } else {
            let (m, dir, name) = (manifest.clone(), aof.aof_dir.clone(), aof.filename.clone());
            if aof.policy == FsyncPolicy::Always {
                // A reply promises the write is on disk, and so must be the manifest
                // that makes replay read this file.
                aof.install_unnamed_incr(incr, manifest);
            } else {
                // Under everysec/no a crash may lose the last moments anyway; the manifest
                // is on disk a few milliseconds from now.
                aof.install_incr(incr, manifest);
            }
            Some(std::thread::spawn(move || m.persist(&dir, &name)))
        };
        let mut buf = Vec::with_capacity(WRITE_AT + 64 * 1024);
        buf.resize(HEADER_MAX, 0);
        aof.rewrites.scheduled = false;
        info!(
            "Background append only file rewriting started (no fork: written in slices by the event loop)"
        );
        Ok(Box::new(Rewrite {
            snap: ks.snapshot_begin(),
            seq,
            tmp,
            file,
            buf,
            selected: -1,
            keep_from_seq,
            phase: Phase::Writing,
            syncer: super::fsync::Fsyncer::start(),
            synced_at: 0,
            manifest_job,
            write_error: None,
            job: None,
            queue: VecDeque::new(),
            started: Instant::now(),
            keys: 0,
            bytes: 0,
        }))
    }

    /// Collects the start's manifest job if it ended (`wait`: block until it does). On
    /// success the replies held for the new incr file may go out; on failure writes are
    /// refused until a retry from the timer succeeds.
    fn reap_manifest_job(&mut self, aof: &mut Aof, wait: bool) {
        let Some(h) = self.manifest_job.take() else {
            return;
        };
        if !wait && !h.is_finished() {
            self.manifest_job = Some(h);
            return;
        }
        match h.join() {
            Ok(Ok(())) => aof.manifest_persisted(),
            Ok(Err(e)) => aof.manifest_failed(&e),
            Err(_) => aof.manifest_failed(&io::Error::other("manifest thread panicked")),
        }
    }

    /// Copy-before-write: writes `key` of `db` to the base if the rewrite has not yet.
    /// A big value is copied instead and written in pieces from the copy; the one being
    /// written in pieces continues from a copy of its current form.
    pub fn copy_before_write(&mut self, ks: &mut Keyspace, db: usize, key: &[u8], now: i64) {
        if let Some((k, e)) = ks.snapshot_take(&self.snap, db, key) {
            if let Some(owned) = self.live_job(db, k) {
                *owned = Some(e.clone());
                debug!("AOF rewrite: copied the value being written in pieces before a change");
                return;
            }
            if is_big(&e.val) && !e.gone(now) {
                let (k, e) = (Bytes::from(k), e.clone());
                self.queue_big(db, k, e, now);
                debug!("AOF rewrite: copied a big pending value before a change");
                return;
            }
            self.write_entry(db, k, e, now);
            if self.buf.len() >= COPY_WRITE_AT
                && self.write_error.is_none()
                && let Err(e) = self.write_batch()
            {
                self.write_error = Some(e);
            }
        }
    }

    /// Bytes held by the batch buffer (left out of `maxmemory` accounting, like the
    /// AOF's own buffer).
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Does one slice of the rewrite; called once per loop iteration. Gives the rewrite
    /// back while it runs; once it has ended, its snapshot is released and its files are
    /// installed or removed.
    pub fn step(
        mut self: Box<Self>,
        aof: &mut Aof,
        ks: &mut Keyspace,
        now: i64,
        busy: bool,
    ) -> Result<Box<Self>, Ended> {
        if ks.snapshot_broken(&self.snap) {
            info!("The dataset was flushed or swapped during the AOF rewrite: starting it again");
            self.abandon(aof, ks, false);
            aof.rewrites.scheduled = true;
            return Err(Ended::Restart);
        }
        self.reap_manifest_job(aof, false);
        match std::mem::replace(&mut self.phase, Phase::Writing) {
            Phase::Written if self.manifest_job.is_some() || aof.manifest_retry => {
                self.phase = Phase::Written;
                Ok(self)
            }
            Phase::Written => {
                // Every key is in the temp base and the start's manifest is on disk.
                crash_point("before-fsync");
                match self.install_in_background(aof) {
                    Ok(phase) => {
                        self.phase = phase;
                        Ok(self)
                    }
                    Err(e) => {
                        warn!("Can't fsync the rewritten AOF: {e}");
                        self.abandon(aof, ks, true);
                        Err(Ended::Failed)
                    }
                }
            }
            Phase::Syncing(h, m) if !h.is_finished() => {
                self.phase = Phase::Syncing(h, m);
                Ok(self)
            }
            Phase::Syncing(h, m) => match h.join() {
                Ok(Ok(())) => {
                    self.finish(aof, ks, m);
                    Err(Ended::Done)
                }
                Ok(Err(e)) => {
                    warn!("Can't install the rewritten AOF: {e}");
                    self.abandon(aof, ks, true);
                    Err(Ended::Failed)
                }
                Err(_) => {
                    self.abandon(aof, ks, true);
                    Err(Ended::Failed)
                }
            },
            Phase::Writing => {
                let slice = if busy { SLICE_BUSY } else { SLICE_IDLE };
                let deadline = Instant::now() + slice;
                let done = self.write_error.is_none() && self.write_slice(ks, now, deadline);
                let r = if let Some(e) = self.write_error.take() {
                    Err(e)
                } else if done || self.buf.len() >= WRITE_AT {
                    self.write_batch()
                } else {
                    Ok(())
                };
                if let Err(e) = r {
                    warn!(
                        "Error writing the rewritten AOF {}: {e}",
                        self.tmp.display()
                    );
                    self.abandon(aof, ks, true);
                    return Err(Ended::Failed);
                }
                if done {
                    // The final manifest must not race the start's: finish on a later step.
                    self.phase = Phase::Written;
                }
                Ok(self)
            }
        }
    }

    /// True while the rewrite waits for a helper thread (no key left to write).
    pub fn waiting(&self) -> bool {
        matches!(self.phase, Phase::Syncing(..) | Phase::Written)
    }

    /// Starts the helper thread that makes the finished base durable and commits it: fsync,
    /// rename into place, atomic manifest swap.
    fn install_in_background(&self, aof: &Aof) -> io::Result<Phase> {
        let f = self.file.try_clone()?;
        let name = manifest::base_name(&aof.filename, self.seq);
        let new = Manifest {
            base: Some(AofFile {
                name: name.clone(),
                seq: self.seq,
                kind: FileKind::Base,
            }),
            incrs: aof
                .manifest
                .incrs
                .iter()
                .filter(|f| f.seq >= self.keep_from_seq)
                .cloned()
                .collect(),
            history: Vec::new(),
        };
        let (tmp, dir, filename, m) = (
            self.tmp.clone(),
            aof.aof_dir.clone(),
            aof.filename.clone(),
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

    /// Writes pending keys until the deadline; true when the snapshot is fully written.
    fn write_slice(&mut self, ks: &mut Keyspace, now: i64, deadline: Instant) -> bool {
        self.drain_spilled(ks);
        if !self.run_jobs(ks, deadline) {
            return false;
        }
        let mut n = 0;
        while let Some((db, k, e)) = ks.snapshot_next(&mut self.snap) {
            if is_big(&e.val) && !e.gone(now) {
                // Written in pieces from the live value, which the snapshot holds.
                let key = Bytes::from(k);
                ks.snapshot_hold(&self.snap, db, &key);
                self.keys += 1;
                self.job = Some(Job {
                    db,
                    key,
                    owned: None,
                    clock: now.max(0) as u64,
                    stage: Stage::Elems(0),
                });
                if !self.run_jobs(ks, deadline) {
                    return false;
                }
                continue;
            }
            self.write_entry(db, k, e, now);
            n += 1;
            if n % KEYS_PER_CLOCK == 0 && (Instant::now() >= deadline || self.buf.len() >= WRITE_AT)
            {
                return false;
            }
        }
        // Entries set aside after their database was walked are written on a later step.
        ks.snapshot_done(&self.snap) && self.job.is_none() && self.queue.is_empty()
    }

    /// Adopts the manifest the helper thread committed and has the old files deleted.
    fn finish(self: Box<Self>, aof: &mut Aof, ks: &mut Keyspace, new: Manifest) {
        ks.snapshot_end(self.snap);
        let old = std::mem::replace(&mut aof.manifest, new);
        let doomed: Vec<PathBuf> = old
            .load_order()
            .chain(old.history.iter())
            .filter(|f| !aof.manifest.load_order().any(|n| n.name == f.name))
            .map(|f| aof.path(&f.name))
            .collect();
        if !doomed.is_empty() {
            // Unlinking a large file takes tens of milliseconds: not in the event loop.
            std::thread::spawn(move || {
                for p in doomed {
                    let _ = std::fs::remove_file(p);
                }
            });
        }
        let mut older = self.bytes;
        let current = aof.manifest.incrs.last().map(|f| f.name.clone());
        for f in &aof.manifest.incrs {
            if Some(&f.name) != current.as_ref() {
                older += std::fs::metadata(aof.path(&f.name)).map_or(0, |m| m.len());
            }
        }
        aof.older_size = older;
        aof.base_size = aof.current_size();
        if aof.state == AofState::WaitRewrite {
            aof.state = AofState::On;
        }
        let secs = self.started.elapsed();
        let st = &mut aof.rewrites;
        st.count += 1;
        st.last_ok = true;
        st.last_secs = secs.as_secs() as i64;
        info!(
            "Background AOF rewrite finished successfully: {} keys, {} bytes in {:.3} s",
            self.keys,
            self.bytes,
            secs.as_secs_f64()
        );
    }

    /// Drops the rewrite's work: deletes its temp file and forgets the snapshot.
    fn abandon(self: Box<Self>, aof: &mut Aof, ks: &mut Keyspace, failed: bool) {
        ks.snapshot_end(self.snap);
        let _ = std::fs::remove_file(&self.tmp);
        if failed {
            aof.rewrites.last_ok = false;
            aof.rewrites.last_secs = self.started.elapsed().as_secs() as i64;
            warn!("Background AOF rewrite failed; the current AOF files are kept");
        }
    }

    /// Cancels the rewrite (CONFIG SET appendonly no, shutdown, DEBUG LOADAOF). A helper
    /// thread that is changing the manifest is waited for, so the manifest in memory ends
    /// up equal to the one on disk.
    pub fn cancel(mut self: Box<Self>, aof: &mut Aof, ks: &mut Keyspace) {
        self.reap_manifest_job(aof, true);
        match std::mem::replace(&mut self.phase, Phase::Writing) {
            Phase::Syncing(h, m) => match h.join() {
                Ok(Ok(())) => self.finish(aof, ks, m),
                _ => self.abandon(aof, ks, true),
            },
            Phase::Writing | Phase::Written => self.abandon(aof, ks, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::KsStats;

    /// Expiring a field of a snapshot hash not yet written spills its pre-change form
    /// with the clock of that moment, and the rewrite filters by that clock: a field
    /// still live then is written even if the rewrite gets to it after its deadline (the
    /// live key may have changed it since, e.g. HPERSIST, logged only in the new file).
    #[test]
    fn field_expiry_spills_with_its_clock() {
        use crate::types::Hash;
        use crate::types::hash::HashLimits;
        let lim = HashLimits {
            max_entries: 128,
            max_value: 64,
        };
        let mut h = Hash::new();
        for f in [b"e", b"f", b"g"] {
            h.insert(f, b"1", lim);
        }
        h.prepare_ttl();
        h.set_ttl(b"e", 60);
        h.set_ttl(b"f", 160);
        let mut ks = Keyspace::new(1);
        ks.dbs[0].set(b"K", Value::Hash(h), 0);
        let mut snap = ks.snapshot_begin();
        let mut st = KsStats::default();
        assert!(ks.dbs[0].get(b"K", 70, &mut st).is_some());
        assert_eq!(st.expired_fields, 1);
        let spilled = ks.snapshot_spilled(&snap);
        assert_eq!(spilled.len(), 1);
        let (db, k, e, at) = &spilled[0];
        assert_eq!((*db, &**k, *at), (0, &b"K"[..], 70));
        let mut buf = Vec::new();
        write_value(&mut buf, k, e, *at as u64);
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.contains("\r\nf\r\n") && text.contains("\r\ng\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\ne\r\n"), "{text}");
        // The live key is no longer pending: the walk does not write it again.
        assert!(ks.snapshot_next(&mut snap).is_none());
        assert!(ks.snapshot_done(&snap));
        ks.snapshot_end(snap);
    }
}
