//! The append-only file: what gets logged, when it reaches the disk, and where it lives.
//!
//! Commands that changed data are encoded as records into a batch buffer while the loop
//! runs them. Before the loop writes any reply, it calls [`Aof::flush`]: the whole batch
//! goes to the current incr file in one `write()`, preceded by a `#crc32` annotation (see
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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::config::{Config, FsyncPolicy};
use manifest::{AofFile, FileKind, Manifest};
use record::{HEADER_MAX, annotation, push_bulk, push_header, push_record};

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
    /// Records of the batch being collected, after `HEADER_MAX` reserved bytes where the
    /// annotation is written at flush time, so the batch leaves in one write, uncopied.
    buf: Vec<u8>,
    /// A finished batch not yet safe: bytes from `inflight_start`, `inflight_pos` written.
    inflight: Vec<u8>,
    inflight_start: usize,
    inflight_pos: usize,
    inflight_id: u64,
    /// Size of the incr file before the in-flight batch (where a failed write is cut back to).
    inflight_base: u64,
    /// Records a handler chose to log instead of its own arguments (canonical forms).
    prop: Vec<u8>,
    /// Number of records in `prop` (0: the command's own arguments are logged).
    prop_records: u64,
    /// Records logged so far (a transaction is wrapped in MULTI/EXEC if it logged several).
    pub records: u64,
    /// Database the incr file's last SELECT chose (-1: none yet in this file).
    selected_db: i64,
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
}

impl Aof {
    /// A writer for `config`, not yet open: `open` or `start_fresh` make it log.
    pub fn new(config: &Config) -> Aof {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.resize(HEADER_MAX, 0);
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
            buf,
            inflight: Vec::new(),
            inflight_start: 0,
            inflight_pos: 0,
            inflight_id: 0,
            inflight_base: 0,
            prop: Vec::new(),
            prop_records: 0,
            records: 0,
            selected_db: -1,
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
        }
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
        self.selected_db = -1;
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
        self.selected_db = -1;
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
        self.buf.truncate(HEADER_MAX);
        self.inflight.clear();
        self.write_errno = 0;
    }

    /// The batch being collected holds no records.
    pub fn batch_empty(&self) -> bool {
        self.buf.len() == HEADER_MAX
    }

    /// Nothing is waiting to be written or made durable.
    pub fn idle(&self) -> bool {
        self.batch_empty() && self.inflight.is_empty()
    }

    fn select(&mut self, db: usize) {
        if self.selected_db != db as i64 {
            let mut n = [0u8; 20];
            let s = record::int_arg(db as i64, &mut n);
            push_record(&mut self.buf, [&b"SELECT"[..], s].into_iter());
            self.selected_db = db as i64;
            self.records += 1;
        }
    }

    /// Logs a command as given, in database `db`.
    pub fn log<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.select(db);
        push_record(&mut self.buf, args);
        self.records += 1;
    }

    /// Logs `DEL key` in `db` (an expired key's removal).
    pub fn log_del(&mut self, db: usize, key: &[u8]) {
        self.select(db);
        push_header(&mut self.buf, 2);
        push_bulk(&mut self.buf, b"DEL");
        push_bulk(&mut self.buf, key);
        self.records += 1;
    }

    /// Logs `HDEL key fields...` (hash fields removed by expiry).
    pub fn log_hdel(&mut self, db: usize, key: &[u8], fields: &[crate::types::bytes::Bytes]) {
        self.select(db);
        push_header(&mut self.buf, 2 + fields.len());
        push_bulk(&mut self.buf, b"HDEL");
        push_bulk(&mut self.buf, key);
        for f in fields {
            push_bulk(&mut self.buf, f);
        }
        self.records += 1;
    }

    /// A handler's canonical record, logged instead of its arguments if it changed data.
    pub fn propagate<'a>(&mut self, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.prop_records += 1;
        push_record(&mut self.prop, args);
    }

    /// Logs the command that just ran in `db`: its canonical records if the handler gave
    /// some, else its arguments.
    pub fn log_command<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        if self.prop_records > 0 {
            self.select(db);
            self.buf.extend_from_slice(&self.prop);
            self.records += self.prop_records;
            self.prop.clear();
            self.prop_records = 0;
        } else {
            self.log(db, args);
        }
    }

    /// Forgets canonical records of a command that turned out to change nothing.
    pub fn drop_override(&mut self) {
        if self.prop_records > 0 {
            self.prop.clear();
            self.prop_records = 0;
        }
    }

    /// Current length of the batch (a mark for `wrap_multi`).
    pub fn mark(&self) -> usize {
        self.buf.len()
    }

    /// Wraps the records logged since `mark` (taken when `self.records` was
    /// `records_at_mark`) in MULTI/EXEC if there are several, so replay applies the
    /// transaction whole. Records logged in one iteration share a batch anyway; the
    /// markers make redis-server apply it whole too.
    pub fn wrap_multi(&mut self, mark: usize, records_at_mark: u64) {
        if self.records < records_at_mark + 2 || mark > self.buf.len() {
            return;
        }
        let mut multi = Vec::with_capacity(16);
        push_record(&mut multi, [&b"MULTI"[..]].into_iter());
        self.buf.splice(mark..mark, multi);
        push_record(&mut self.buf, [&b"EXEC"[..]].into_iter());
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
        let mut head = [0u8; HEADER_MAX];
        let n = annotation(&self.buf[HEADER_MAX..], &mut head);
        self.buf[HEADER_MAX - n..HEADER_MAX].copy_from_slice(&head[..n]);
        std::mem::swap(&mut self.buf, &mut self.inflight);
        self.inflight_start = HEADER_MAX - n;
        self.inflight_pos = self.inflight_start;
        self.inflight_id = self.batch_id;
        self.inflight_base = self.incr_size;
        self.batch_id += 1;
        self.buf.clear();
        if self.buf.capacity() > BUF_SHRINK {
            self.buf = Vec::with_capacity(64 * 1024);
        }
        self.buf.resize(HEADER_MAX, 0);
    }

    /// Writes the rest of the in-flight batch and fsyncs it if the policy says so.
    /// Returns true once it is safe; on failure keeps it for a retry.
    fn finish_inflight(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        while self.inflight_pos < self.inflight.len() {
            match file.write(&self.inflight[self.inflight_pos..]) {
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
    /// Returns true if `durable_id` advanced.
    pub fn manifest_persisted(&mut self) -> bool {
        let before = self.durable_id;
        self.unnamed_from = None;
        self.mark_safe(self.safe_id);
        self.durable_id != before
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
        if self.inflight_pos > self.inflight_start
            && let Some(f) = self.file.as_ref()
        {
            match f.set_len(self.inflight_base) {
                Ok(()) => {
                    self.incr_size = self.inflight_base;
                    self.inflight_pos = self.inflight_start;
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
        self.buf.len() - HEADER_MAX + self.inflight.len().saturating_sub(self.inflight_pos)
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
