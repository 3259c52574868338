//! The append-only file: when records reach the disk, and where they live.
//!
//! The AOF is the first consumer of the write stream (`stream.rs`): the records of the
//! writes run in one loop iteration are handed to it as one batch ([`Aof::append`]).
//! Before the loop writes any reply, it calls [`Aof::flush`]: the whole batch goes to the
//! current incr file in one `writev()`, preceded by a `#crc32` annotation (see
//! `record.rs`), and under `appendfsync always` one `fdatasync()` follows. A client whose
//! command was logged in a batch gets its replies only once that batch is safe under the
//! policy (group commit), so under `always` nothing is acknowledged before it is on disk.
//!
//! Failures keep the data: a batch that could not be written (ENOSPC, EIO, EFBIG) stays in
//! memory and is retried on every timer tick; a partial write is cut back with `ftruncate`
//! or, failing that, finished later (its annotation makes a half batch unusable to replay
//! anyway). Meanwhile write commands are refused with `-MISCONF` and the replies of the
//! logged-but-unwritten writes are held, so nothing is acknowledged that could be lost.
//!
//! Layout, loading and compaction live in `manifest.rs`, `load.rs` and `rewrite.rs`.

pub mod check;
pub mod fsync;
pub mod load;
pub mod manifest;
pub mod record;
pub mod replay;
pub mod rewrite;

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::config::{Config, FsyncPolicy};
use manifest::{AofFile, FileKind, Manifest};
use record::{HEADER_MAX, annotation};
use rewrite::RewriteStats;

/// Under `everysec`, how long a write may wait for a running background fsync.
const MAX_FSYNC_POSTPONE: Duration = Duration::from_secs(2);
/// Batch buffers above this are given back after a flush.
const BUF_SHRINK: usize = 4 << 20;

/// Whether commands are being logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofState {
    Off,
    On,
    /// Turned on at run time: logging to a new incr file while the first base is being
    /// written; the manifest names them once the base is complete.
    WaitRewrite,
}

/// The text Redis prints for an errno (`strerror`), from an `io::Error`.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// strerror for a raw errno.
pub fn strerror_errno(errno: i32) -> String {
    strerror(&io::Error::from_raw_os_error(errno))
}

/// The AOF writer and its bookkeeping.
pub struct Aof {
    pub state: AofState,
    pub policy: FsyncPolicy,
    /// `<dir>/<appenddirname>`.
    pub aof_dir: PathBuf,
    pub filename: String,
    pub manifest: Manifest,
    /// The incr file being appended to.
    file: Option<File>,
    /// Records of the batch being collected.
    buf: Vec<u8>,
    /// A finished batch not yet safe: its annotation and records, `inflight_pos` bytes of
    /// the two written.
    inflight_head: [u8; HEADER_MAX],
    inflight_head_len: usize,
    inflight: Vec<u8>,
    inflight_pos: usize,
    inflight_id: u64,
    /// Size of the incr file before the in-flight batch (where a failed write is cut back to).
    inflight_base: u64,
    /// A new file was started: the next record must be preceded by a SELECT (each file
    /// replays from database 0). The engine passes this on to the write stream.
    pub file_switched: bool,
    /// Id of the batch being collected; ids of finished batches are smaller.
    pub batch_id: u64,
    /// Every batch with an id up to this one is safe under the fsync policy, and its
    /// replies may go out.
    pub durable_id: u64,
    /// Like `durable_id`, ignoring `unnamed_from`.
    safe_id: u64,
    /// Batches from this id on are in an incr file the manifest on disk does not name yet
    /// (a rewrite just switched files): their replies wait until it does.
    unnamed_from: Option<u64>,
    /// Bytes in the current incr file.
    pub incr_size: u64,
    /// Bytes in the base file and the incr files before the current one.
    pub older_size: u64,
    /// Size of the AOF after the last rewrite or load (auto rewrite grows from here).
    pub base_size: u64,
    /// errno of the failing write or fsync (0: writes are fine).
    pub write_errno: i32,
    pub delayed_fsync: u64,
    postponed_since: Option<Instant>,
    last_fsync: Instant,
    /// Bytes were written since the last fsync started.
    unsynced: bool,
    fsyncer: Option<fsync::Fsyncer>,
    /// Number of the next base or incr file.
    pub next_seq: u64,
    /// Last time a write error was logged (the retry repeats every tick).
    last_error_log: Option<Instant>,
    /// Writing the AOF manifest failed; the timer retries it.
    pub manifest_retry: bool,
    /// Outcome of the last rewrite, for INFO.
    pub rewrites: RewriteStats,
}

impl Aof {
    /// A writer for `config`, not yet open: `open` or `start_fresh` make it log.
    pub fn new(config: &Config) -> Aof {
        Aof {
            state: AofState::Off,
            policy: config.appendfsync,
            aof_dir: config
                .dir
                .join(config.get("appenddirname").unwrap_or("appendonlydir")),
            filename: config
                .get("appendfilename")
                .unwrap_or("appendonly.aof")
                .to_string(),
            manifest: Manifest::default(),
            file: None,
            buf: Vec::with_capacity(64 * 1024),
            inflight_head: [0; HEADER_MAX],
            inflight_head_len: 0,
            inflight: Vec::new(),
            inflight_pos: 0,
            inflight_id: 0,
            inflight_base: 0,
            file_switched: false,
            batch_id: 1,
            durable_id: 0,
            safe_id: 0,
            unnamed_from: None,
            incr_size: 0,
            older_size: 0,
            base_size: 0,
            write_errno: 0,
            delayed_fsync: 0,
            postponed_since: None,
            last_fsync: Instant::now(),
            unsynced: false,
            fsyncer: None,
            next_seq: 1,
            last_error_log: None,
            manifest_retry: false,
            rewrites: RewriteStats::default(),
        }
    }

    /// Bytes held by the write buffer (left out of `maxmemory` accounting).
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Commands are being logged.
    #[inline]
    pub fn logging(&self) -> bool {
        self.state != AofState::Off
    }

    /// Total bytes of the AOF (base and all incr files), INFO's `aof_current_size`.
    pub fn current_size(&self) -> u64 {
        self.older_size + self.incr_size
    }

    /// Path of a file in the AOF directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.aof_dir.join(name)
    }

    /// Opens `name` in the AOF directory for appending, creating it if needed.
    fn open_append(&self, name: &str) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
    }

    /// Starts logging to the last incr file of the loaded manifest (or a new one if the
    /// manifest has none). Called after replay, so a torn tail is already cut.
    pub fn open_after_load(&mut self, manifest: Manifest) -> io::Result<()> {
        self.next_seq = manifest.max_seq() + 1;
        self.manifest = manifest;
        let mut sizes = 0;
        for f in self.manifest.load_order() {
            sizes += std::fs::metadata(self.aof_dir.join(&f.name))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        if self.manifest.incrs.is_empty() {
            self.switch_incr()?;
        } else {
            let name = self
                .manifest
                .incrs
                .last()
                .map(|f| f.name.clone())
                .unwrap_or_default();
            let f = self.open_append(&name)?;
            self.incr_size = f.metadata()?.len();
            self.file = Some(f);
        }
        self.older_size = sizes - self.incr_size.min(sizes);
        self.base_size = self.current_size();
        self.remove_orphans();
        self.start_logging();
        Ok(())
    }

    /// Deletes files a crashed rewrite left behind: ferrokv-named base/incr files the
    /// manifest does not list, and temp files. Only names this writer creates are touched.
    fn remove_orphans(&self) {
        let Ok(entries) = std::fs::read_dir(&self.aof_dir) else {
            return;
        };
        let prefix = format!("{}.", self.filename);
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = name.strip_prefix(&prefix).is_some_and(|rest| {
                let mut parts = rest.splitn(2, '.');
                let seq_ok = parts
                    .next()
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
                seq_ok && matches!(parts.next(), Some("base.aof" | "incr.aof"))
            });
            let temp = name.starts_with("temp-rewriteaof-") && name.ends_with(".aof");
            let listed = self
                .manifest
                .load_order()
                .chain(self.manifest.history.iter())
                .any(|f| f.name == name);
            if (ours || temp) && !listed {
                match std::fs::remove_file(e.path()) {
                    Ok(()) => {
                        info!("Removed {name}, left in the AOF directory by an interrupted rewrite")
                    }
                    Err(err) => warn!("Could not remove leftover AOF file {name}: {err}"),
                }
            }
        }
    }

    /// Creates the AOF directory with a manifest naming one empty incr file.
    pub fn start_fresh(&mut self) -> io::Result<()> {
        std::fs::create_dir_all(&self.aof_dir)?;
        // The new directory's own entry must survive a power loss too.
        if let Some(parent) = self.aof_dir.parent() {
            let _ = manifest::sync_dir(parent);
        }
        self.manifest = Manifest::default();
        self.switch_incr()?;
        self.older_size = 0;
        self.base_size = 0;
        self.start_logging();
        Ok(())
    }

    /// Starts logging before a base exists (CONFIG SET appendonly yes): the manifest is
    /// written when the first rewrite completes.
    pub fn begin_wait_rewrite(&mut self) {
        self.start_logging();
        self.state = AofState::WaitRewrite;
        self.file = None;
        self.incr_size = 0;
        self.older_size = 0;
        self.base_size = 0;
    }

    fn start_logging(&mut self) {
        self.state = AofState::On;
        self.file_switched = true;
        if self.policy == FsyncPolicy::EverySec && self.fsyncer.is_none() {
            self.fsyncer = Some(fsync::Fsyncer::start());
        }
    }

    /// Opens a new incr file, lists it in the manifest and persists the manifest. Pending
    /// records must have been flushed to the old file first.
    pub fn switch_incr(&mut self) -> io::Result<()> {
        let (f, m) = self.prepare_incr()?;
        if self.state != AofState::WaitRewrite {
            m.persist(&self.aof_dir, &self.filename)?;
        }
        self.install_incr(f, m);
        Ok(())
    }

    /// Creates the next incr file (empty) and the manifest that adds it, without
    /// persisting the manifest or switching to the file.
    pub fn prepare_incr(&mut self) -> io::Result<(File, Manifest)> {
        let seq = self.next_seq;
        let name = manifest::incr_name(&self.filename, seq);
        // Append mode: after a failed write is cut back with set_len, the retry must land
        // at the new end, not at the old file position (which would leave a hole).
        let f = self.open_append(&name)?;
        f.set_len(0)?;
        let mut m = self.manifest.clone();
        m.incrs.push(AofFile {
            name,
            seq,
            kind: FileKind::Incr,
        });
        self.next_seq = seq + 1;
        Ok((f, m))
    }

    /// Makes a prepared incr file the one records go to. The manifest `m` must already
    /// be on disk (or not be needed yet, in WaitRewrite), and the batch flushed.
    pub fn install_incr(&mut self, f: File, m: Manifest) {
        debug_assert!(self.idle(), "records would follow a SELECT of the old file");
        if let Some(old) = self.file.take() {
            // The old file's last writes still need their fsync; under everysec the
            // background thread does it, so switching never waits for the disk.
            match (&self.fsyncer, self.policy) {
                (Some(fs), _) => fs.request(&old),
                (None, FsyncPolicy::No) => {}
                (None, _) => {
                    let _ = old.sync_data();
                }
            }
        }
        self.manifest = m;
        self.older_size += self.incr_size;
        self.incr_size = 0;
        self.file = Some(f);
        self.file_switched = true;
    }

    /// Like `install_incr` for a file whose manifest is still being written: replies of
    /// records from now on wait for `manifest_persisted`.
    pub fn install_unnamed_incr(&mut self, f: File, m: Manifest) {
        self.install_incr(f, m);
        self.unnamed_from = Some(self.batch_id);
    }

    /// Stops logging (CONFIG SET appendonly no, shutdown): flushes and fsyncs first.
    pub fn stop(&mut self) {
        self.flush(Instant::now());
        self.fsync_now();
        self.state = AofState::Off;
        self.file = None;
        self.fsyncer = None;
        // Replies held for a batch that can no longer be written go out now: logging
        // is off, so the promise is the one of a server without persistence.
        self.unnamed_from = None;
        self.safe_id = self.batch_id;
        self.durable_id = self.batch_id;
        // Writes logged after logging restarts must wait for their own batch, so it gets
        // an id above the one just declared durable.
        self.batch_id += 1;
        self.buf.clear();
        self.inflight.clear();
        self.write_errno = 0;
    }

    /// The batch being collected holds no records.
    pub fn batch_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Nothing is waiting to be written or made durable.
    pub fn idle(&self) -> bool {
        self.batch_empty() && self.inflight.is_empty()
    }

    /// Adds the write stream's records to the batch being collected, emptying `records`.
    /// Usually the batch is empty and the buffers are swapped, so records are not copied.
    pub fn append(&mut self, records: &mut Vec<u8>) {
        if self.buf.is_empty() {
            std::mem::swap(&mut self.buf, records);
        } else {
            self.buf.extend_from_slice(records);
            records.clear();
        }
    }

    /// Writes the collected batch (group commit) and fsyncs per policy. Returns true if
    /// `durable_id` advanced, so held replies can go out.
    pub fn flush(&mut self, now: Instant) -> bool {
        self.flush_inner(now, false)
    }

    /// Writes the batch even while a background fsync runs (before a rewrite switches
    /// files, as Redis's forced flush does). Returns true if `durable_id` advanced.
    pub fn flush_force(&mut self) -> bool {
        self.flush_inner(Instant::now(), true)
    }

    fn flush_inner(&mut self, now: Instant, force: bool) -> bool {
        if !self.logging() || self.file.is_none() {
            return false;
        }
        let before = self.durable_id;
        if !self.inflight.is_empty() && !self.finish_inflight() {
            return false;
        }
        if !self.batch_empty() {
            if !force
                && self.policy == FsyncPolicy::EverySec
                && self.fsyncer.as_ref().is_some_and(|f| f.busy())
            {
                // Redis's rule: while a background fsync runs, wait up to 2 s before
                // writing (a write may block behind it), then write anyway and count it.
                let since = *self.postponed_since.get_or_insert(now);
                if now.duration_since(since) < MAX_FSYNC_POSTPONE {
                    // Acknowledged per policy: at most ~2 s of writes are at risk.
                    self.mark_safe(self.batch_id);
                    return self.durable_id != before;
                }
                self.delayed_fsync += 1;
                warn!(
                    "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down the server."
                );
            }
            self.postponed_since = None;
            self.seal_batch();
            self.finish_inflight();
        }
        if self.policy == FsyncPolicy::EverySec {
            self.maybe_background_fsync(now);
        }
        self.durable_id != before
    }

    /// Moves the collected records into the in-flight slot with their annotation.
    fn seal_batch(&mut self) {
        self.inflight_head_len = annotation(&self.buf, &mut self.inflight_head);
        std::mem::swap(&mut self.buf, &mut self.inflight);
        self.inflight_pos = 0;
        self.inflight_id = self.batch_id;
        self.inflight_base = self.incr_size;
        self.batch_id += 1;
        self.buf.clear();
        if self.buf.capacity() > BUF_SHRINK {
            self.buf = Vec::with_capacity(64 * 1024);
        }
    }

    /// Bytes of the in-flight batch, annotation included.
    fn inflight_len(&self) -> usize {
        if self.inflight.is_empty() {
            0
        } else {
            self.inflight_head_len + self.inflight.len()
        }
    }

    /// Writes the rest of the in-flight batch and fsyncs it if the policy says so.
    /// Returns true once it is safe; on failure keeps it for a retry.
    fn finish_inflight(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        let head_len = self.inflight_head_len;
        let total = head_len + self.inflight.len();
        while self.inflight_pos < total {
            // The annotation and the records leave in one writev, uncopied.
            let pos = self.inflight_pos;
            let r = if pos < head_len {
                let parts = [
                    IoSlice::new(&self.inflight_head[pos..head_len]),
                    IoSlice::new(&self.inflight),
                ];
                file.write_vectored(&parts)
            } else {
                file.write(&self.inflight[pos - head_len..])
            };
            match r {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "short write");
                    self.write_failed(&e, "write");
                    return false;
                }
                Ok(n) => {
                    self.inflight_pos += n;
                    self.incr_size += n as u64;
                    self.unsynced = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.write_failed(&e, "write");
                    return false;
                }
            }
        }
        if self.policy == FsyncPolicy::Always {
            let r = self.file.as_ref().map(|f| f.sync_data());
            if let Some(Err(e)) = r {
                // After a failed fsync the kernel may have dropped the dirty pages, so the
                // bytes are rewritten from memory rather than trusted.
                self.write_failed(&e, "fsync");
                return false;
            }
            self.unsynced = false;
            self.last_fsync = Instant::now();
        }
        self.mark_safe(self.inflight_id);
        self.inflight.clear();
        if self.inflight.capacity() > BUF_SHRINK {
            self.inflight = Vec::new();
        }
        if self.write_errno != 0 {
            warn!("AOF write error looks solved. The server can write again.");
            self.write_errno = 0;
            self.last_error_log = None;
        }
        true
    }

    /// Batches up to `id` are safe; their replies may go out unless their file is not yet
    /// named by the manifest on disk.
    fn mark_safe(&mut self, id: u64) {
        self.safe_id = self.safe_id.max(id);
        self.durable_id = match self.unnamed_from {
            Some(first) => self.safe_id.min(first - 1),
            None => self.safe_id,
        };
    }

    /// The manifest naming the current incr file is on disk: held replies may go out.
    pub fn manifest_persisted(&mut self) {
        self.unnamed_from = None;
        self.mark_safe(self.safe_id);
    }

    /// Records a failed write or fsync and cuts a partial batch off the file, so the
    /// retry starts from a clean end.
    fn write_failed(&mut self, e: &io::Error, what: &str) {
        let errno = e.raw_os_error().unwrap_or(5);
        let log_now = self.write_errno != errno
            || self
                .last_error_log
                .is_none_or(|t| t.elapsed() > Duration::from_secs(30));
        self.write_errno = errno;
        if log_now {
            self.last_error_log = Some(Instant::now());
            warn!(
                "Error on {what} of the AOF file {}: {}. Refusing writes until it succeeds; retrying.",
                self.incr_path().display(),
                strerror(e)
            );
        }
        if self.inflight_pos > 0
            && let Some(f) = self.file.as_ref()
        {
            match f.set_len(self.inflight_base) {
                Ok(()) => {
                    self.incr_size = self.inflight_base;
                    self.inflight_pos = 0;
                }
                Err(te) => {
                    // The half batch stays and will be completed by the retry; its
                    // checksum keeps replay from applying it before then.
                    warn!(
                        "Could not cut the partial AOF write back: {}",
                        strerror(&te)
                    );
                }
            }
        }
    }

    fn incr_path(&self) -> PathBuf {
        self.manifest
            .incrs
            .last()
            .map_or_else(|| self.aof_dir.clone(), |f| self.path(&f.name))
    }

    /// Starts a background fsync if a second has passed and something was written.
    fn maybe_background_fsync(&mut self, now: Instant) {
        let Some(fs) = self.fsyncer.as_ref() else {
            return;
        };
        let errno = fs.last_errno();
        if errno != 0 && !fs.busy() {
            if self.write_errno == 0 {
                warn!(
                    "Background AOF fsync failed: {}; refusing writes until it succeeds",
                    strerror_errno(errno)
                );
            }
            self.write_errno = errno;
            self.unsynced = true;
        }
        if self.unsynced
            && !fs.busy()
            && now.duration_since(self.last_fsync) >= Duration::from_secs(1)
        {
            if let Some(f) = self.file.as_ref() {
                fs.request(f);
            }
            self.unsynced = false;
            self.last_fsync = now;
        } else if errno == 0 && self.write_errno != 0 && self.inflight.is_empty() && !fs.busy() {
            // The fsync that failed has been retried successfully.
            warn!("AOF fsync error looks solved. The server can write again.");
            self.write_errno = 0;
        }
    }

    /// Synchronous fsync of everything written (shutdown, policy change).
    pub fn fsync_now(&mut self) {
        if let Some(fs) = &self.fsyncer {
            fs.wait();
        }
        if let Some(f) = &self.file {
            match f.sync_data() {
                Ok(()) => self.unsynced = false,
                Err(e) => warn!("Fsync of the AOF failed: {}", strerror(&e)),
            }
        }
    }

    /// Applies a new `appendfsync` value.
    pub fn set_policy(&mut self, policy: FsyncPolicy) {
        if policy == self.policy {
            return;
        }
        self.flush(Instant::now());
        self.fsync_now();
        self.policy = policy;
        if policy == FsyncPolicy::EverySec && self.logging() && self.fsyncer.is_none() {
            self.fsyncer = Some(fsync::Fsyncer::start());
        }
    }

    /// Bytes collected or in flight, not yet written (INFO aof_buffer_length).
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() + self.inflight_len().saturating_sub(self.inflight_pos)
    }

    /// The manifest naming the current incr file could not be written: writes are
    /// refused until `retry_manifest` succeeds.
    pub fn manifest_failed(&mut self, e: &io::Error) {
        warn!("Can't write the AOF manifest: {e}; refusing writes and retrying");
        self.write_errno = e.raw_os_error().unwrap_or(5);
        self.manifest_retry = true;
    }

    /// Timer: retries persisting the manifest after a failure.
    pub fn retry_manifest(&mut self) {
        if !self.manifest_retry {
            return;
        }
        match self.manifest.persist(&self.aof_dir, &self.filename) {
            Ok(()) => {
                warn!("The AOF manifest was written. The server can write again.");
                self.manifest_retry = false;
                self.write_errno = 0;
                self.manifest_persisted();
            }
            Err(e) => self.write_errno = e.raw_os_error().unwrap_or(5),
        }
    }

    /// A background fsync is running (INFO aof_pending_bio_fsync).
    pub fn fsync_pending(&self) -> bool {
        self.fsyncer.as_ref().is_some_and(|f| f.busy())
    }

    /// True while writes must be refused (`-MISCONF`).
    pub fn write_blocked(&self) -> bool {
        self.write_errno != 0
    }
}

/// The AOF directory of `config` exists with a manifest, or an old single-file AOF.
pub fn find_existing(aof_dir: &Path, dir: &Path, filename: &str) -> Existing {
    if Manifest::path(aof_dir, filename).exists() {
        Existing::Manifest
    } else if dir.join(filename).is_file() {
        Existing::SingleFile
    } else {
        Existing::None
    }
}

pub enum Existing {
    Manifest,
    /// A Redis < 7 `appendonly.aof` in `dir`, to be adopted as the base.
    SingleFile,
    None,
}

/// Logs the final replay line.
pub fn log_loaded(keys: usize, bytes: u64, secs: f64) {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    info!(
        "DB loaded from append only file: {secs:.3} seconds, {keys} keys, {mb:.1} MB, {:.1} MB/s",
        if secs > 0.0 { mb / secs } else { 0.0 }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After logging stops (CONFIG SET appendonly no), the next batch has an id above
    /// the durable one: writes logged once it restarts wait for their own batch.
    #[test]
    fn batches_after_a_stop_are_not_durable_yet() {
        let mut a = Aof::new(&Config::default());
        let first = a.batch_id;
        a.stop();
        assert_eq!(a.durable_id, first);
        assert!(a.batch_id > a.durable_id);
    }
}
